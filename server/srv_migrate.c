/* Schema migrations and the resume-token secret.
 * Migration files are DDL scripts run as they are (the one place SQL is not prepared:
 * they come from the release, never from users). MariaDB commits DDL implicitly, so a
 * migration that fails half-way is reported with its file and error and not recorded;
 * migrations are written so that a fixed file can be re-run. */
#include "srv.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    struct stat st;
    if (fstat(fileno(f), &st) || st.st_size > (64 << 20)) { fclose(f); return NULL; }
    char *buf = malloc((size_t)st.st_size + 1);
    if (buf && fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) { free(buf); buf = NULL; }
    fclose(f);
    if (buf) { buf[st.st_size] = 0; *len = (size_t)st.st_size; }
    return buf;
}

static const char *SQL_VERSIONS = "SELECT version FROM schema_version";
static const char *SQL_RECORD =
    "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)";

static int run_script(srv_db *db, const char *path, const char *sql)
{
    if (mysql_query(db->my, sql)) {
        fprintf(stderr, "%s: SQL error %u: %s\n", path, mysql_errno(db->my), mysql_error(db->my));
        return SRV_EDB;
    }
    int st;
    do {
        MYSQL_RES *r = mysql_store_result(db->my);
        if (r) mysql_free_result(r);
        st = mysql_next_result(db->my);
        if (st > 0) {
            fprintf(stderr, "%s: SQL error %u: %s\n", path, mysql_errno(db->my),
                    mysql_error(db->my));
            return SRV_EDB;
        }
    } while (st == 0);
    return 0;
}

int srv_migrate(srv_db *db, const char *dir, int verbose)
{
    if (mysql_query(db->my,
                    "CREATE TABLE IF NOT EXISTS schema_version ("
                    " version INT UNSIGNED NOT NULL PRIMARY KEY,"
                    " name VARCHAR(255) NOT NULL, applied_at DATETIME(3) NOT NULL"
                    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")) {
        fprintf(stderr, "schema_version: %s\n", mysql_error(db->my));
        return SRV_EDB;
    }
    /* Several nodes may start together: one migrates, the others wait. */
    if (mysql_query(db->my, "SELECT GET_LOCK('kaochang.migrate', 60)") == 0) {
        MYSQL_RES *r = mysql_store_result(db->my);
        if (r) mysql_free_result(r);
    }

    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        return SRV_ERR;
    }
    regex_t re;
    regcomp(&re, "^[0-9]{3}_[A-Za-z0-9_]+\\.sql$", REG_EXTENDED | REG_NOSUB);
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (regexec(&re, de->d_name, 0, NULL, 0))
            continue;
        char **nn = realloc(names, (n + 1) * sizeof *names);
        if (!nn) break;
        names = nn;
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    regfree(&re);
    qsort(names, n, sizeof *names, cmpstr);

    int64_t have[1024];
    size_t nhave = 0;
    int64_t v;
    int rc = srv_db_query(db, SQL_VERSIONS, "", "i", &v);
    while (!rc && (rc = srv_db_fetch(db, SQL_VERSIONS)) == 1) {
        rc = 0;
        if (nhave < 1024) have[nhave++] = v;
    }
    srv_db_done(db, SQL_VERSIONS);
    if (rc < 0) {
        fprintf(stderr, "schema_version: %s\n", db->err);
        goto out;
    }
    int applied = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        int64_t ver = atoi(names[i]);
        int done = 0;
        for (size_t k = 0; k < nhave; k++) done |= have[k] == ver;
        if (done) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t len;
        char *sql = slurp(path, &len);
        if (!sql) {
            fprintf(stderr, "%s: cannot read: %s\n", path, strerror(errno));
            rc = SRV_ERR;
            break;
        }
        rc = run_script(db, path, sql);
        free(sql);
        if (rc) break;
        rc = srv_db_exec(db, SQL_RECORD, "ist", ver, names[i], srv_now_ms());
        if (rc) {
            fprintf(stderr, "%s: recording version: %s\n", path, db->err);
            break;
        }
        applied++;
        if (verbose) printf("applied %s\n", names[i]);
    }
    if (!rc && verbose)
        printf(applied ? "schema is up to date (%d migration%s applied)\n"
                       : "schema is up to date (nothing to apply)\n",
               applied, applied == 1 ? "" : "s");
out:
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    if (mysql_query(db->my, "SELECT RELEASE_LOCK('kaochang.migrate')") == 0) {
        MYSQL_RES *r = mysql_store_result(db->my);
        if (r) mysql_free_result(r);
    }
    return rc < 0 ? rc : 0;
}

/* ---- resume tokens ---- */

static const char *SQL_SECRET_ADD = "INSERT IGNORE INTO app_setting (name, value) VALUES ('token_secret', ?)";
static const char *SQL_SECRET_GET = "SELECT value FROM app_setting WHERE name = 'token_secret'";

void srv_hex(const unsigned char *in, size_t n, char *out)
{
    static const char h[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = h[in[i] >> 4];
        out[2 * i + 1] = h[in[i] & 15];
    }
    out[2 * n] = 0;
}

/* One secret in the database, a key of its own per use (staff tokens, media links), so a
 * value made for one use never passes as another. */
void srv_key_derive(const unsigned char root[32], const char *label, unsigned char out[32])
{
    unsigned int len = 0;
    HMAC(EVP_sha256(), root, 32, (const unsigned char *)label, strlen(label), out, &len);
}

int srv_token_secret_load(srv_db *db, unsigned char key[32])
{
    unsigned char fresh[32];
    char fresh_hex[65], got[129] = "";
    if (RAND_bytes(fresh, sizeof fresh) != 1)
        return SRV_ERR;
    srv_hex(fresh, 32, fresh_hex);
    /* Shared through the database so every node behind a balancer accepts the token. */
    int rc = srv_db_exec(db, SQL_SECRET_ADD, "s", fresh_hex);
    if (!rc) rc = srv_db_query(db, SQL_SECRET_GET, "", "s", got, sizeof got);
    if (!rc) rc = srv_db_fetch(db, SQL_SECRET_GET) == 1 ? 0 : SRV_EDB;
    srv_db_done(db, SQL_SECRET_GET);
    if (rc) return rc;
    if (strlen(got) != 64) return SRV_EDB;
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(got + 2 * i, "%2x", &v) != 1) return SRV_EDB;
        key[i] = (unsigned char)v;
    }
    return 0;
}

static void token_mac(const unsigned char key[32], uint64_t attempt, int64_t exp, char out[65])
{
    char msg[64];
    int n = snprintf(msg, sizeof msg, "a%llu.%lld", (unsigned long long)attempt, (long long)exp);
    unsigned char mac[32];
    unsigned int maclen = 0;
    HMAC(EVP_sha256(), key, 32, (const unsigned char *)msg, (size_t)n, mac, &maclen);
    srv_hex(mac, 32, out);
}

void srv_token_make(const unsigned char key[32], uint64_t attempt_id, int64_t expires_ms,
                    char *out, size_t outlen)
{
    char mac[65];
    token_mac(key, attempt_id, expires_ms, mac);
    snprintf(out, outlen, "%llu.%lld.%s", (unsigned long long)attempt_id,
             (long long)expires_ms, mac);
}

int srv_token_check(const unsigned char key[32], const char *tok, int64_t now_ms,
                    uint64_t *attempt_id)
{
    unsigned long long a;
    long long exp;
    int off = 0;
    if (sscanf(tok, "%llu.%lld.%n", &a, &exp, &off) != 2 || !off || strlen(tok + off) != 64)
        return SRV_EINVAL;
    char mac[65];
    token_mac(key, a, exp, mac);
    if (CRYPTO_memcmp(mac, tok + off, 64) || exp < now_ms)
        return SRV_EINVAL;
    *attempt_id = a;
    return 0;
}

/* Schema migrations.
 * Migration files are DDL scripts run as they are (the one place SQL is not prepared:
 * they come from the release, never from users). MariaDB commits DDL implicitly, so a
 * migration that fails half-way is reported with its file and error and not recorded;
 * migrations are written so that a fixed file can be re-run. */
#include "kc.h"

#include <mysql.h>

#include <dirent.h>
#include <errno.h>
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

static int run_script(kc_db *db, const char *path, const char *sql)
{
    if (mysql_query(db->my, sql)) {
        fprintf(stderr, "%s: SQL error %u: %s\n", path, mysql_errno(db->my), mysql_error(db->my));
        return KC_EDB;
    }
    int st;
    do {
        MYSQL_RES *r = mysql_store_result(db->my);
        if (r) mysql_free_result(r);
        st = mysql_next_result(db->my);
        if (st > 0) {
            fprintf(stderr, "%s: SQL error %u: %s\n", path, mysql_errno(db->my),
                    mysql_error(db->my));
            return KC_EDB;
        }
    } while (st == 0);
    return 0;
}

int kc_migrate(kc_db *db, const char *dir, int verbose)
{
    int rc = kc_db_simple(db, "CREATE TABLE IF NOT EXISTS schema_version ("
                              " version INT UNSIGNED NOT NULL PRIMARY KEY,"
                              " name VARCHAR(255) NOT NULL, applied_at DATETIME(3) NOT NULL"
                              ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
    if (rc) {
        fprintf(stderr, "schema_version: %s\n", db->err);
        return rc;
    }
    /* Several nodes may start together: one migrates, the others wait. */
    kc_db_simple(db, "SELECT GET_LOCK('kaochang.migrate', 60)");

    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        return KC_ERR;
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
    rc = kc_db_query(db, SQL_VERSIONS, "", "i", &v);
    while (!rc && (rc = kc_db_fetch(db, SQL_VERSIONS)) == 1) {
        rc = 0;
        if (nhave < 1024) have[nhave++] = v;
    }
    kc_db_done(db, SQL_VERSIONS);
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
            rc = KC_ERR;
            break;
        }
        rc = run_script(db, path, sql);
        free(sql);
        if (rc) break;
        rc = kc_db_exec(db, SQL_RECORD, "ist", ver, names[i], kc_now_ms());
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
    kc_db_simple(db, "SELECT RELEASE_LOCK('kaochang.migrate')");
    return rc < 0 ? rc : 0;
}


/* Staff accounts on the worker side: roles, staff tokens, staff_login and staff_resume.
 * Password hashing (Argon2id) is deliberately slow, so it only ever runs here, on a DB
 * worker, never on the service thread. */
#include "staff.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define STAFF_TOKEN_TTL_MS (12LL * 3600 * 1000)

static const char *const role_names[] = {"admin", "author", "reviewer", "affairs",
                                         "proctor", "examiner", "supervisor", NULL};

int staff_roles_parse(const char *csv, unsigned *out, char *bad, size_t badlen)
{
    *out = 0;
    const char *p = csv;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n && *p == ' ') { p++; n--; }
        while (n && p[n - 1] == ' ') n--;
        int k = 0;
        for (; role_names[k]; k++)
            if (strlen(role_names[k]) == n && !strncmp(role_names[k], p, n)) break;
        if (!role_names[k]) {
            snprintf(bad, badlen, "%.*s", (int)(n > 40 ? 40 : n), p);
            return -1;
        }
        *out |= 1u << k;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

void staff_roles_format(unsigned roles, char *out, size_t outlen)
{
    size_t n = 0;
    out[0] = 0;
    for (int k = 0; role_names[k]; k++)
        if (roles & (1u << k)) {
            int w = snprintf(out + n, outlen - n, "%s%s", n ? "," : "", role_names[k]);
            if (w < 0 || (size_t)w >= outlen - n) return;
            n += (size_t)w;
        }
}

static json_t *roles_json(unsigned roles)
{
    json_t *a = json_array();
    for (int k = 0; role_names[k]; k++)
        if (roles & (1u << k)) json_array_append_new(a, json_string(role_names[k]));
    return a;
}

void staff_key_derive(const unsigned char token_key[32], unsigned char staff_key[32])
{
    kc_key_derive(token_key, "kaochang staff token key v1", staff_key);
}

static void staff_mac(const unsigned char key[32], uint64_t id, unsigned roles, int64_t exp,
                      char out[65])
{
    kc_mac_hex(key, out, "staff.%llu.%u.%lld", (unsigned long long)id, roles, (long long)exp);
}

void staff_token_make(const unsigned char key[32], uint64_t staff_id, unsigned roles,
                          int64_t expires_ms, char *out, size_t outlen)
{
    char mac[65];
    staff_mac(key, staff_id, roles, expires_ms, mac);
    snprintf(out, outlen, "s%llu.%u.%lld.%s", (unsigned long long)staff_id, roles,
             (long long)expires_ms, mac);
}

int staff_token_check(const unsigned char key[32], const char *tok, int64_t now_ms,
                          uint64_t *staff_id, unsigned *roles)
{
    unsigned long long id;
    unsigned r;
    long long exp;
    int off = 0;
    if (sscanf(tok, "s%llu.%u.%lld.%n", &id, &r, &exp, &off) != 3 || !off ||
        strlen(tok + off) != 64)
        return KC_EINVAL;
    char mac[65];
    staff_mac(key, id, r, exp, mac);
    if (!kc_memeq(mac, tok + off, 64) || exp < now_ms) return KC_EINVAL;
    *staff_id = id;
    *roles = r;
    return 0;
}

static char *dump(json_t *o)
{
    if (!o) return NULL;
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static const char SQL_STAFF_BY_LOGIN[] =
    "SELECT id, name, roles, password_hash, disabled FROM staff_user WHERE login = ?";
static const char SQL_STAFF_BY_ID[] =
    "SELECT id, name, roles, login, disabled FROM staff_user WHERE id = ?";
static const char SQL_STAFF_SEEN[] = "UPDATE staff_user SET last_login_at = UTC_TIMESTAMP(3) WHERE id = ?";

/* A hash to verify against when the login does not exist, so both cases take as long. */
static char dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static void dummy_make(void)
{
    if (crypto_pwhash_str(dummy_hash, "not a password", 14, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE))
        dummy_hash[0] = 0;
}

static int staff_auth(kc_db *db, const srv_ctx *x, srv_job *j, int by_password)
{
    uint64_t id = 0;
    int64_t disabled = 0;
    char name[520] = "", roles[200] = "", hash[256] = "", login[65] = "";
    int rc, found;
    if (by_password) {
        rc = kc_db_query(db, SQL_STAFF_BY_LOGIN, "s", "usssi", j->m.login, &id, name, sizeof name,
                          roles, sizeof roles, hash, sizeof hash, &disabled);
        if (rc) goto wipe;
        found = kc_db_fetch(db, SQL_STAFF_BY_LOGIN);
        kc_db_done(db, SQL_STAFF_BY_LOGIN);
        if (found < 0) { rc = found; goto wipe; }
        pthread_once(&dummy_once, dummy_make);
        const char *against = found == 1 ? hash : dummy_hash;
        int good = *against &&
                   crypto_pwhash_str_verify(against, j->m.password, strlen(j->m.password)) == 0 &&
                   found == 1;
        if (found != 1 || !good || disabled) {
            j->denied = 1;
            j->reply = srv_msg_error_json(j->req_id, "bad_credentials", NULL,
                                          "wrong login or password, or the account is disabled");
            rc = 0;
            goto wipe;
        }
        snprintf(login, sizeof login, "%s", j->m.login);
    } else {
        uint64_t sid;
        unsigned troles;
        if (staff_token_check(x->staff_key, j->m.token, kc_now_ms(), &sid, &troles)) {
            j->denied = 1;
            j->reply = srv_msg_error_json(j->req_id, "bad_token", "token",
                                          "the token is invalid or expired; log in again");
            return j->reply ? 0 : KC_ENOMEM;
        }
        rc = kc_db_query(db, SQL_STAFF_BY_ID, "u", "usssi", sid, &id, name, sizeof name,
                          roles, sizeof roles, login, sizeof login, &disabled);
        if (rc) return rc;
        found = kc_db_fetch(db, SQL_STAFF_BY_ID);
        kc_db_done(db, SQL_STAFF_BY_ID);
        if (found < 0) return found;
        if (found != 1 || disabled) {
            j->denied = 1;
            j->reply = srv_msg_error_json(j->req_id, "bad_token", "token",
                                          "the account of this token is gone or disabled; log in again");
            return 0;
        }
    }
    unsigned r = 0;
    char bad[48];
    staff_roles_parse(roles, &r, bad, sizeof bad);
    if ((rc = kc_db_exec(db, SQL_STAFF_SEEN, "u", id))) goto wipe;
    j->ok = 1;
    j->staff_id = id;
    j->roles = r;
    snprintf(j->login, sizeof j->login, "%s", login);
    int64_t now = kc_now_ms();
    staff_token_make(x->staff_key, id, r, now + STAFF_TOKEN_TTL_MS, j->token, sizeof j->token);
    json_t *o = json_pack("{s:s, s:s, s:{s:I, s:s, s:s, s:o}, s:I}", "type", "staff_welcome",
                          "token", j->token, "staff", "id", (json_int_t)id, "login", login,
                          "name", name, "roles", roles_json(r), "server_time", (json_int_t)now);
    if (o && j->req_id >= 0) json_object_set_new(o, "id", json_integer(j->req_id));
    j->reply = dump(o);
    rc = j->reply ? 0 : KC_ENOMEM;
wipe:
    /* A lost connection runs the job again after reconnecting: the password must still be
     * there then (srv_job_free wipes it in any case). */
    if (rc != KC_ELOST && rc != KC_ERETRY) sodium_memzero(j->m.password, sizeof j->m.password);
    return rc;
}

int staff_login(kc_db *db, const srv_ctx *x, srv_job *j) { return staff_auth(db, x, j, 1); }
int staff_resume(kc_db *db, const srv_ctx *x, srv_job *j) { return staff_auth(db, x, j, 0); }

/* The account as it is now, not as it was at login: a disabled account or a role taken
 * away stops working at once, on open connections and for import tokens alike. */
static const char SQL_STAFF_NOW[] = "SELECT roles, disabled, login FROM staff_user WHERE id = ?";

int staff_authorize(kc_db *db, srv_job *j, unsigned need, int *allowed)
{
    char roles[160] = "", bad[64], login[65] = "";
    int64_t disabled = 1;
    unsigned now = 0;
    *allowed = 0;
    int rc = kc_db_query(db, SQL_STAFF_NOW, "u", "sis", j->staff_id, roles, sizeof roles, &disabled,
                         login, sizeof login);
    int found = rc ? rc : kc_db_fetch(db, SQL_STAFF_NOW);
    kc_db_done(db, SQL_STAFF_NOW);
    if (found < 0) return found;
    const char *code = NULL, *why = NULL;
    int status = 0;
    if (found != 1 || disabled || staff_roles_parse(roles, &now, bad, sizeof bad)) {
        code = j->http ? "bad_token" : "unauthenticated";
        why = j->http ? "the account of this token is gone or disabled" : "this account is disabled; sign in again";
        status = 401;
    } else if (!(now & need)) {
        code = "forbidden";
        why = j->http ? "your roles do not allow imports" : "your roles do not allow this";
        status = 403;
    }
    if (code) {
        j->http_status = status;
        j->reply = srv_msg_error_json(j->http ? -1 : j->req_id, code, NULL, why);
        return j->reply ? 0 : KC_ENOMEM;
    }
    j->roles = now;
    snprintf(j->login, sizeof j->login, "%s", login);
    *allowed = 1;
    return 0;
}

/* The token secret (one per installation, in the database, so every node accepts every
 * token) and candidates' resume tokens: "ATTEMPT.EXPIRY.MAC". */
#include "exam.h"

#include <stdlib.h>
#include <string.h>

/* ---- resume tokens ---- */

static const char *SQL_SECRET_ADD = "INSERT IGNORE INTO app_setting (name, value) VALUES ('token_secret', ?)";
static const char *SQL_SECRET_GET = "SELECT value FROM app_setting WHERE name = 'token_secret'";

int exam_token_secret_load(kc_db *db, unsigned char key[32])
{
    unsigned char fresh[32];
    char fresh_hex[65], got[129] = "";
    if (kc_random(fresh, sizeof fresh))
        return KC_ERR;
    kc_hex(fresh, 32, fresh_hex);
    /* Shared through the database so every node behind a balancer accepts the token. */
    int rc = kc_db_exec(db, SQL_SECRET_ADD, "s", fresh_hex);
    if (!rc) rc = kc_db_query(db, SQL_SECRET_GET, "", "s", got, sizeof got);
    if (!rc) rc = kc_db_fetch(db, SQL_SECRET_GET) == 1 ? 0 : KC_EDB;
    kc_db_done(db, SQL_SECRET_GET);
    if (rc) return rc;
    if (strlen(got) != 64) return KC_EDB;
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(got + 2 * i, "%2x", &v) != 1) return KC_EDB;
        key[i] = (unsigned char)v;
    }
    return 0;
}

static void token_mac(const unsigned char key[32], uint64_t attempt, int64_t exp, char out[65])
{
    kc_mac_hex(key, out, "a%llu.%lld", (unsigned long long)attempt, (long long)exp);
}

void exam_token_make(const unsigned char key[32], uint64_t attempt_id, int64_t expires_ms,
                    char *out, size_t outlen)
{
    char mac[65];
    token_mac(key, attempt_id, expires_ms, mac);
    snprintf(out, outlen, "%llu.%lld.%s", (unsigned long long)attempt_id,
             (long long)expires_ms, mac);
}

int exam_token_check(const unsigned char key[32], const char *tok, int64_t now_ms,
                    uint64_t *attempt_id)
{
    unsigned long long a;
    long long exp;
    int off = 0;
    if (sscanf(tok, "%llu.%lld.%n", &a, &exp, &off) != 2 || !off || strlen(tok + off) != 64)
        return KC_EINVAL;
    char mac[65];
    token_mac(key, a, exp, mac);
    if (!kc_memeq(mac, tok + off, 64) || exp < now_ms)
        return KC_EINVAL;
    *attempt_id = a;
    return 0;
}

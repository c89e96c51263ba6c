/* Sealed papers: a candidate's rendered paper sent before the start, encrypted, so that the
 * start of a hall carries keys (a few hundred bytes each) instead of papers (~40 KB each):
 * 15,000 papers are 600 MB, more than one node can push in the second of a synchronized
 * start, and a test centre's candidates log in well before it. The key is derived, never
 * stored, and only `start` gives it out, once the attempt has started. */
#include "exam.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

void exam_seal_key(const unsigned char secret[32], uint64_t attempt_id, const char *hash,
                   unsigned char key[32])
{
    unsigned char k[32];
    char msg[96];
    kc_key_derive(secret, "kaochang paper seal v1", k);
    int n = snprintf(msg, sizeof msg, "%llu.%s", (unsigned long long)attempt_id, hash);
    kc_hmac_sha256(k, msg, (size_t)n, key);
    OPENSSL_cleanse(k, sizeof k);
}

int exam_seal(const unsigned char key[32], const void *plain, size_t n, unsigned char *out)
{
    /* OpenSSL's ChaCha20 IV: the 32-bit block counter (little-endian), then the 96-bit nonce. */
    static const unsigned char iv[16] = {0};
    if (n > INT_MAX) return KC_ERR;          /* a paper is a few hundred KB at most */
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int got = 0, ok = c && EVP_EncryptInit_ex(c, EVP_chacha20(), NULL, key, iv) &&
                      EVP_EncryptUpdate(c, out, &got, plain, (int)n) && (size_t)got == n;
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : KC_ERR;
}

/* The binary reply: magic, hash, ciphertext. */
static int seal_reply(const srv_ctx *x, srv_job *j, const exam_rendered *r)
{
    size_t head = sizeof EXAM_SEAL_MAGIC - 1 + 64, n = r->json_len;
    unsigned char *out = malloc(head + n + 1), key[32];
    if (!out) return KC_ENOMEM;
    memcpy(out, EXAM_SEAL_MAGIC, sizeof EXAM_SEAL_MAGIC - 1);
    memcpy(out + sizeof EXAM_SEAL_MAGIC - 1, r->hash, 64);
    exam_seal_key(x->token_key, r->attempt_id, r->hash, key);
    int rc = exam_seal(key, r->json, n, out + head);
    OPENSSL_cleanse(key, sizeof key);
    if (rc) {
        free(out);
        return rc;
    }
    out[head + n] = 0;
    j->reply = (char *)out;
    j->reply_len = head + n;
    j->reply_binary = 1;
    j->ok = 1;
    return 0;
}

static const char FETCH_HEAD[] =
    "SELECT attempt_id, hash, paper_json, answer_check FROM paper_render WHERE attempt_id IN (";
#define FETCH_ROWS 16                  /* ~40 KB a row */

int exam_paper_fetches(kc_db *db, const srv_ctx *x, srv_job **jobs, int n)
{
    exam_cache *cache = exam_paper_cache();
    kc_arena *A = kc_arena_new(0);
    uint64_t *ids = A ? kc_arena_alloc(A, (size_t)(n ? n : 1) * sizeof *ids) : NULL;
    exam_rendered **got = A ? kc_arena_alloc(A, (size_t)(n ? n : 1) * sizeof *got) : NULL;
    kc_param *p = A ? kc_arena_alloc(A, (size_t)FETCH_ROWS * sizeof *p) : NULL;
    if (!ids || !got || !p) {
        kc_arena_free(A);
        return KC_ENOMEM;
    }
    /* From the cache when it has the JSON (a stale copy costs only the key: start then sends
     * the paper itself); the others read FETCH_ROWS at a time. */
    int m = 0, rc = 0;
    for (int i = 0; i < n; i++) {
        got[i] = NULL;
        if (jobs[i]->reply) continue;
        exam_rendered *r = exam_cache_get(cache, jobs[i]->attempt_id);
        if (r && r->json) got[i] = r;
        else {
            exam_rendered_release(r);
            ids[m++] = jobs[i]->attempt_id;
        }
    }
    int u = exam__sort_unique(ids, m);
    for (int a0 = 0; a0 < u && !rc; a0 += FETCH_ROWS) {
        int cnt = u - a0 < FETCH_ROWS ? u - a0 : FETCH_ROWS, k = exam__rows_size(cnt);
        for (int r = 0; r < cnt; r++) p[r] = EXAM_P_U(ids[a0 + r]);
        exam__pad_rows(p, cnt, k, 1);
        kc_stmt *s = exam__run(db, exam__rows_sql(A, k, FETCH_HEAD, "?", ", ", ")"), p, k, &rc);
        for (int r; s && (r = kc_stmt_next(s)) != 0;) {
            if (r < 0) { rc = r; break; }
            exam_rendered *pr = NULL;
            if ((rc = exam__rendered_row(s, 1, &pr))) break;
            if (!pr) {
                KC_ERROR("exam", "attempt=%llu: its rendered paper is broken", (unsigned long long)kc_stmt_int(s, 0));
                continue;
            }
            /* The client will hold the paper: the cache keeps only what answers are checked
             * against (a few KB, not ~40), for the start. */
            srv_paper *check = exam_paper_copy(pr->check);
            exam_rendered *slim = check ? exam_rendered_new(pr->attempt_id, pr->hash, NULL, 0, check) : NULL;
            if (slim) exam_cache_put(cache, slim);
            exam_rendered_release(slim);
            for (int i = 0; i < n; i++)
                if (!jobs[i]->reply && !got[i] && jobs[i]->attempt_id == pr->attempt_id) {
                    got[i] = exam_rendered_ref(pr);
                }
            exam_rendered_release(pr);
        }
        kc_stmt_done(s);
    }
    for (int i = 0; i < n && !rc; i++) {
        srv_job *j = jobs[i];
        if (j->reply) continue;
        if (got[i]) rc = seal_reply(x, j, got[i]);
        else if (!(j->reply = exam__error_reply(j->req_id, "not_prepared",
                                                "the paper of this attempt is not ready yet; start when the session opens")))
            rc = KC_ENOMEM;
    }
    for (int i = 0; i < n; i++) exam_rendered_release(got[i]);
    kc_arena_free(A);
    return rc;
}

int exam_paper_fetch(kc_db *db, const srv_ctx *x, srv_job *j) { return exam_paper_fetches(db, x, &j, 1); }

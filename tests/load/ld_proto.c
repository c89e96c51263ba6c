/* The pure pieces of kc_load (see ld.h): histograms, the JSON scanner, the messages it
 * reads, the answers it sends and WebSocket frames. No I/O here, so the unit tests can
 * run every line. */
#include "ld.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t ld_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* ---- histograms ---- */

int ld_hist_index(uint64_t us)
{
    if (us < 64) return (int)us;
    int msb = 63 - __builtin_clzll(us);
    int shift = msb - 5;                    /* us >> shift is 32..63 */
    int i = 64 + (shift - 1) * 32 + (int)((us >> shift) - 32);
    return i < LD_H_BUCKETS ? i : LD_H_BUCKETS - 1;
}

uint64_t ld_hist_upper(int i)
{
    if (i < 64) return (uint64_t)i;
    int shift = (i - 64) / 32 + 1;
    uint64_t sub = (uint64_t)((i - 64) % 32) + 32;
    return ((sub + 1) << shift) - 1;
}

void ld_hist_add(ld_hist *h, uint64_t us)
{
    h->b[ld_hist_index(us)]++;
    h->n++;
    h->sum_us += us;
    if (us > h->max_us) h->max_us = us;
}

void ld_hist_merge(ld_hist *into, const ld_hist *from)
{
    for (int i = 0; i < LD_H_BUCKETS; i++) into->b[i] += from->b[i];
    into->n += from->n;
    into->sum_us += from->sum_us;
    if (from->max_us > into->max_us) into->max_us = from->max_us;
}

uint64_t ld_hist_pct(const ld_hist *h, double p)
{
    if (!h->n) return 0;
    uint64_t rank = (uint64_t)(p / 100.0 * (double)h->n);
    if ((double)rank < p / 100.0 * (double)h->n) rank++;      /* ceil */
    if (rank < 1) rank = 1;
    if (rank > h->n) rank = h->n;
    uint64_t seen = 0;
    for (int i = 0; i < LD_H_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            uint64_t v = ld_hist_upper(i);
            return v < h->max_us ? v : h->max_us;
        }
    }
    return h->max_us;
}

/* ---- JSON ---- */

void ldj_init(ldj *j, const char *s, size_t n)
{
    j->p = s;
    j->end = s + n;
    j->err = 0;
}

static int ldj_fail(ldj *j)
{
    j->err = 1;
    return -1;
}

static void ldj_ws(ldj *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t')) j->p++;
}

int ldj_peek(ldj *j)
{
    if (j->err) return 0;
    ldj_ws(j);
    return j->p < j->end ? (unsigned char)*j->p : 0;
}

/* At '"': past the closing quote. */
/* Skips a string: to the next quote not escaped (an odd run of backslashes before it), by
 * memchr rather than byte by byte, since a paper is mostly the text of its items and the
 * generator reads 15,000 of them in the start second on the server's machine. */
static int ldj_skip_str(ldj *j)
{
    const char *p = j->p + 1;
    for (;;) {
        const char *q = memchr(p, '"', (size_t)(j->end - p));
        if (!q) return ldj_fail(j);
        const char *b = q;
        while (b > p && b[-1] == '\\') b--;
        if ((q - b) % 2 == 0) {     /* (what is skipped is not checked for control characters) */
            j->p = q + 1;
            return 0;
        }
        p = q + 1;
    }
}

int ldj_skip(ldj *j)
{
    if (ldj_peek(j) == 0) return ldj_fail(j);
    char c = *j->p;
    if (c == '"') return ldj_skip_str(j);
    if (c == '{' || c == '[') {
        int depth = 0;
        while (j->p < j->end) {
            c = *j->p;
            if (c == '"') {
                if (ldj_skip_str(j)) return -1;
                continue;
            }
            if (c == '{' || c == '[') depth++;
            else if ((c == '}' || c == ']') && --depth == 0) {
                j->p++;
                return 0;
            }
            j->p++;
        }
        return ldj_fail(j);
    }
    if (c == '}' || c == ']' || c == ',' || c == ':') return ldj_fail(j);
    const char *s = j->p;
    while (j->p < j->end && !memchr(",}] \t\r\n", *j->p, 7)) j->p++;
    return j->p > s ? 0 : ldj_fail(j);
}

int ldj_obj(ldj *j)
{
    if (ldj_peek(j) != '{') return ldj_fail(j);
    j->p++;
    return 0;
}

int ldj_arr(ldj *j)
{
    if (ldj_peek(j) != '[') return ldj_fail(j);
    j->p++;
    return 0;
}

int ldj_key(ldj *j, int *k, const char **key, size_t *len)
{
    int c = ldj_peek(j);
    if (!c) return ldj_fail(j);
    if (c == '}') {
        j->p++;
        return 0;
    }
    if (*k) {
        if (c != ',') return ldj_fail(j);
        j->p++;
        c = ldj_peek(j);
    }
    if (c != '"') return ldj_fail(j);
    const char *s = j->p + 1;
    if (ldj_skip_str(j)) return -1;
    *key = s;
    *len = (size_t)(j->p - 1 - s);
    if (ldj_peek(j) != ':') return ldj_fail(j);
    j->p++;
    (*k)++;
    return 1;
}

int ldj_elem(ldj *j, int *k)
{
    int c = ldj_peek(j);
    if (!c) return ldj_fail(j);
    if (c == ']') {
        j->p++;
        return 0;
    }
    if (*k) {
        if (c != ',') return ldj_fail(j);
        j->p++;
    }
    (*k)++;
    return 1;
}

int ldj_int(ldj *j, int64_t *v)
{
    if (!ldj_peek(j)) return ldj_fail(j);
    int neg = *j->p == '-';
    if (neg) j->p++;
    uint64_t x = 0;
    const char *s = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        if (x > (UINT64_C(1) << 62)) return ldj_fail(j);
        x = x * 10 + (uint64_t)(*j->p++ - '0');
    }
    if (j->p == s || (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E'))) return ldj_fail(j);
    *v = neg ? -(int64_t)x : (int64_t)x;
    return 0;
}

int ldj_bool(ldj *j, int *v)
{
    int c = ldj_peek(j);
    if (c == 't' && j->end - j->p >= 4 && !memcmp(j->p, "true", 4)) {
        j->p += 4;
        *v = 1;
        return 0;
    }
    if (c == 'f' && j->end - j->p >= 5 && !memcmp(j->p, "false", 5)) {
        j->p += 5;
        *v = 0;
        return 0;
    }
    return ldj_fail(j);
}

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int ldj_hex4(const char *p, const char *end, unsigned *u)
{
    if (end - p < 4) return -1;
    *u = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0) return -1;
        *u = *u << 4 | (unsigned)h;
    }
    return 0;
}

int ldj_str(ldj *j, char *buf, size_t cap)
{
    if (ldj_peek(j) != '"') return ldj_fail(j);
    const char *p = j->p + 1;
    size_t o = 0;
    char tmp[4];
    for (;;) {
        if (p >= j->end || (unsigned char)*p < 0x20) return ldj_fail(j);
        char c = *p++;
        size_t k = 1;
        if (c == '"') break;
        if (c != '\\') {
            tmp[0] = c;
        } else {
            if (p >= j->end) return ldj_fail(j);
            c = *p++;
            switch (c) {
            case '"': case '\\': case '/': tmp[0] = c; break;
            case 'b': tmp[0] = '\b'; break;
            case 'f': tmp[0] = '\f'; break;
            case 'n': tmp[0] = '\n'; break;
            case 'r': tmp[0] = '\r'; break;
            case 't': tmp[0] = '\t'; break;
            case 'u': {
                unsigned u, lo;
                if (ldj_hex4(p, j->end, &u)) return ldj_fail(j);
                p += 4;
                if (u >= 0xD800 && u < 0xDC00) {
                    if (j->end - p < 6 || p[0] != '\\' || p[1] != 'u' || ldj_hex4(p + 2, j->end, &lo) ||
                        lo < 0xDC00 || lo > 0xDFFF)
                        return ldj_fail(j);
                    p += 6;
                    u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                } else if (u >= 0xDC00 && u < 0xE000) {
                    return ldj_fail(j);
                }
                if (u < 0x80) tmp[0] = (char)u;
                else if (u < 0x800) {
                    tmp[0] = (char)(0xC0 | u >> 6);
                    tmp[1] = (char)(0x80 | (u & 63));
                    k = 2;
                } else if (u < 0x10000) {
                    tmp[0] = (char)(0xE0 | u >> 12);
                    tmp[1] = (char)(0x80 | ((u >> 6) & 63));
                    tmp[2] = (char)(0x80 | (u & 63));
                    k = 3;
                } else {
                    tmp[0] = (char)(0xF0 | u >> 18);
                    tmp[1] = (char)(0x80 | ((u >> 12) & 63));
                    tmp[2] = (char)(0x80 | ((u >> 6) & 63));
                    tmp[3] = (char)(0x80 | (u & 63));
                    k = 4;
                }
                break;
            }
            default:
                return ldj_fail(j);
            }
        }
        if (o + k < cap) {
            memcpy(buf + o, tmp, k);
            o += k;
        }
    }
    if (cap) buf[o] = 0;
    j->p = p;
    return 0;
}

int ldj_is(const char *key, size_t len, const char *lit)
{
    return strlen(lit) == len && !memcmp(key, lit, len);
}

/* ---- the messages ---- */

static int leaves_add(ld_leaves *l, const ld_leaf *x)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 128;
        ld_leaf *v = realloc(l->v, cap * sizeof *v);
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *x;
    return 0;
}

static int type_of(const char *t)
{
    static const char *const names[] = {"", "single", "multi", "tf", "fill", "short", "essay"};
    for (int i = 1; i < 7; i++)
        if (!strcmp(t, names[i])) return i;
    return LD_OTHER;
}

/* One item of paper.items (or of a composite's children): itself when it is answered,
 * else its children. */
static int parse_item(ldj *j, ld_leaves *out, int depth)
{
    if (ldj_peek(j) != '{' || depth > 2) return ldj_skip(j);
    ldj_obj(j);
    ld_leaf x = {0, 0, LD_OTHER, 0};
    int64_t v;
    char type[24] = "";
    const char *key;
    size_t len;
    int k = 0, r;
    while ((r = ldj_key(j, &k, &key, &len)) > 0) {
        if (ldj_is(key, len, "item")) {
            if (ldj_int(j, &x.item)) return -1;
        } else if (ldj_is(key, len, "type")) {
            if (ldj_str(j, type, sizeof type)) return -1;
            x.type = (uint8_t)type_of(type);
        } else if (ldj_is(key, len, "options") && ldj_peek(j) == '[') {
            int e = 0, n = 0;
            ldj_arr(j);
            while ((r = ldj_elem(j, &e)) > 0) {
                if (ldj_skip(j)) return -1;
                n++;
            }
            if (r < 0) return -1;
            x.n = (uint8_t)(n > 26 ? 26 : n);    /* keys A..Z */
        } else if (ldj_is(key, len, "blanks") && ldj_peek(j) != 'n') {
            if (ldj_int(j, &v)) return -1;
            x.n = (uint8_t)(v < 0 ? 0 : v > 32 ? 32 : v);
        } else if (ldj_is(key, len, "children") && ldj_peek(j) == '[') {
            int e = 0;
            ldj_arr(j);
            while ((r = ldj_elem(j, &e)) > 0)
                if (parse_item(j, out, depth + 1)) return -1;
            if (r < 0) return -1;
        } else if (ldj_skip(j)) {
            return -1;
        }
    }
    if (r < 0) return -1;
    int ok = x.item > 0 && ((x.type == LD_SINGLE && x.n >= 1) || (x.type == LD_MULTI && x.n >= 2) ||
                            x.type == LD_TF || (x.type == LD_FILL && x.n >= 1) || x.type == LD_SHORT ||
                            x.type == LD_ESSAY);
    return ok ? leaves_add(out, &x) : 0;
}

static int parse_paper(ldj *j, ld_msg *m, ld_leaves *leaves)
{
    if (ldj_peek(j) != '{') return ldj_skip(j);
    ldj_obj(j);
    const char *key;
    size_t len;
    int k = 0, r;
    while ((r = ldj_key(j, &k, &key, &len)) > 0) {
        if (ldj_is(key, len, "items") && ldj_peek(j) == '[') {
            int e = 0;
            m->items_seen = 1;
            ldj_arr(j);
            while ((r = ldj_elem(j, &e)) > 0)
                if (parse_item(j, leaves, 0)) return -1;
            if (r < 0) return -1;
        } else if (ldj_is(key, len, "hash") && ldj_peek(j) == '"') {
            if (ldj_str(j, m->hash, sizeof m->hash)) return -1;
        } else if (ldj_is(key, len, "unchanged") && ldj_peek(j) != 'n') {
            if (ldj_bool(j, &m->unchanged)) return -1;
        } else if (ldj_is(key, len, "sealed") && ldj_peek(j) != 'n') {
            if (ldj_bool(j, &m->sealed)) return -1;
        } else if (ldj_is(key, len, "key") && ldj_peek(j) == '"') {
            if (ldj_str(j, m->key, sizeof m->key)) return -1;
        } else if (ldj_skip(j)) {
            return -1;
        }
    }
    return r;
}

int ld_parse_paper(const char *s, size_t n, ld_msg *m, ld_leaves *leaves)
{
    ldj j;
    ldj_init(&j, s, n);
    if (ldj_peek(&j) != '{') return -1;
    int r = parse_paper(&j, m, leaves);
    return r < 0 || j.err || ldj_peek(&j) ? -1 : 0;
}

int ld_unseal(const char *key_hex, const unsigned char *in, size_t n, unsigned char *out)
{
    unsigned char key[32], iv[16] = {0};
    if (strlen(key_hex) != 64) return -1;
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(key_hex + 2 * i, "%2x", &v) != 1) return -1;
        key[i] = (unsigned char)v;
    }
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int got = 0, ok = c && n <= 1u << 30 && EVP_DecryptInit_ex(c, EVP_chacha20(), NULL, key, iv) &&
                      EVP_DecryptUpdate(c, out, &got, in, (int)n) && (size_t)got == n;
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : -1;
}

int ld_parse_msg(const char *s, size_t n, ld_msg *m, ld_leaves *leaves)
{
    memset(m, 0, sizeof *m);
    m->applied = 1;          /* a server without "applied" stores every acknowledged answer */
    ldj j;
    ldj_init(&j, s, n);
    if (ldj_obj(&j)) return -1;
    const char *key;
    size_t len;
    int k = 0, r;
    while ((r = ldj_key(&j, &k, &key, &len)) > 0) {
        int c = ldj_peek(&j);
        if (ldj_is(key, len, "type") && c == '"') r = ldj_str(&j, m->type, sizeof m->type);
        else if (ldj_is(key, len, "id") && c != 'n') r = ldj_int(&j, &m->id), m->has_id = !r;
        else if (ldj_is(key, len, "item") && c != 'n') r = ldj_int(&j, &m->item);
        else if (ldj_is(key, len, "seq") && c != 'n') r = ldj_int(&j, &m->seq);
        else if (ldj_is(key, len, "last_seq") && c != 'n') r = ldj_int(&j, &m->last_seq);
        else if (ldj_is(key, len, "applied") && c != 'n') r = ldj_bool(&j, &m->applied);
        else if (ldj_is(key, len, "code") && c == '"') r = ldj_str(&j, m->code, sizeof m->code);
        else if (ldj_is(key, len, "message") && c == '"') r = ldj_str(&j, m->message, sizeof m->message);
        else if (ldj_is(key, len, "token") && c == '"') r = ldj_str(&j, m->token, sizeof m->token);
        else if (ldj_is(key, len, "paper")) r = parse_paper(&j, m, leaves);
        else r = ldj_skip(&j);
        if (r < 0) return -1;
    }
    if (r < 0 || j.err || ldj_peek(&j)) return -1;
    static const struct { const char *t; int k; } kinds[] = {
        {"welcome", LD_M_WELCOME}, {"paper", LD_M_PAPER}, {"ack", LD_M_ACK}, {"time", LD_M_TIME},
        {"error", LD_M_ERROR}, {"submitted", LD_M_SUBMITTED}};
    m->kind = LD_M_OTHER;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp(m->type, kinds[i].t)) m->kind = kinds[i].k;
    return 0;
}

/* ---- answers ---- */

uint64_t ld_mix(uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t z = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull) * 0xC2B2AE3D27D4EB4Full ^
                 (c + 1) * 0x165667B19E3779F9ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The chosen letters, in order: single one of n, multi two or more of n. */
static int letters(const ld_leaf *l, uint64_t h, char *out)
{
    int n = l->n;
    if (l->type == LD_SINGLE) {
        out[0] = (char)('A' + h % (uint64_t)n);
        out[1] = 0;
        return 1;
    }
    uint32_t mask = (uint32_t)(h >> 7) & ((1u << n) - 1);
    if (__builtin_popcount(mask) < 2) {
        int a = (int)(h % (uint64_t)n);
        mask |= 1u << a | 1u << ((a + 1) % n);
    }
    int k = 0;
    for (int i = 0; i < n; i++)
        if (mask & (1u << i)) out[k++] = (char)('A' + i);
    out[k] = 0;
    return k;
}

static int response(const ld_leaf *l, uint64_t cand, int64_t seq, int stored, char *out, size_t cap)
{
    uint64_t h = ld_mix(cand, (uint64_t)l->item, (uint64_t)seq);
    char let[32];
    int n = 0;
    switch (l->type) {
    case LD_SINGLE:
    case LD_MULTI:
        if (l->n < (l->type == LD_SINGLE ? 1 : 2) || l->n > 26) return -1;
        letters(l, h, let);
        n = snprintf(out, cap, stored ? "%s" : "\"%s\"", let);
        break;
    case LD_TF:
        n = snprintf(out, cap, stored ? "%s" : "\"%s\"", h & 1 ? "T" : "F");
        break;
    case LD_FILL: {
        if (l->n < 1) return -1;
        size_t o = 0;
        if (!stored) out[o++] = '[';
        for (int b = 0; b < l->n && o < cap; b++) {
            int w = snprintf(out + o, cap - o, stored ? "%s%s%llu-%d" : "%s\"%s%llu-%d\"",
                             b ? (stored ? "\x1f" : ",") : "", "v", (unsigned long long)(h % 100000), b + 1);
            if (w < 0) return -1;
            o += (size_t)w;
        }
        if (!stored && o < cap) out[o++] = ']';
        if (o >= cap) return -1;
        out[o] = 0;
        n = (int)o;
        break;
    }
    case LD_SHORT:
    case LD_ESSAY:
        n = snprintf(out, cap, stored ? "answer %llu of seq %lld" : "\"answer %llu of seq %lld\"",
                     (unsigned long long)(h % 1000000), (long long)seq);
        break;
    default:
        return -1;
    }
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

int ld_response_json(const ld_leaf *l, uint64_t cand, int64_t seq, char *out, size_t cap)
{
    return response(l, cand, seq, 0, out, cap);
}

int ld_response_stored(const ld_leaf *l, uint64_t cand, int64_t seq, char *out, size_t cap)
{
    return response(l, cand, seq, 1, out, cap);
}

/* ---- WebSocket ---- */

int ld_ws_header(const unsigned char *s, size_t n, int *fin, int *op, size_t *hdr, uint64_t *plen)
{
    if (n < 2) return 1;
    if (s[0] & 0x70 || s[1] & 0x80) return -1;   /* reserved bits; server frames are unmasked */
    *fin = s[0] >> 7;
    *op = s[0] & 15;
    if (!(*op <= 2 || (*op >= 8 && *op <= 10))) return -1;
    uint64_t len = s[1] & 127;
    size_t h = 2;
    if (len == 126) {
        if (n < 4) return 1;
        len = (uint64_t)s[2] << 8 | s[3];
        h = 4;
    } else if (len == 127) {
        if (n < 10) return 1;
        len = 0;
        for (int i = 2; i < 10; i++) len = len << 8 | s[i];
        h = 10;
        if (len >> 62) return -1;
    }
    if (*op >= 8 && (!*fin || len > 125)) return -1;
    *hdr = h;
    *plen = len;
    return 0;
}

size_t ld_ws_frame(unsigned char *out, int op, const void *p, size_t n, uint32_t mask)
{
    size_t h = 2;
    out[0] = (unsigned char)(0x80 | op);
    if (n < 126) {
        out[1] = (unsigned char)(0x80 | n);
    } else if (n < 65536) {
        out[1] = 0x80 | 126;
        out[2] = (unsigned char)(n >> 8);
        out[3] = (unsigned char)n;
        h = 4;
    } else {
        out[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++) out[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
        h = 10;
    }
    unsigned char m[4] = {(unsigned char)(mask >> 24), (unsigned char)(mask >> 16), (unsigned char)(mask >> 8),
                          (unsigned char)mask};
    memcpy(out + h, m, 4);
    h += 4;
    const unsigned char *in = p;
    for (size_t i = 0; i < n; i++) out[h + i] = in[i] ^ m[i & 3];
    return h + n;
}

void ld_base64(const unsigned char *in, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? a[v & 63] : '=';
    }
    out[o] = 0;
}

int ld_ws_accept(const char *key, char out[32])
{
    char buf[128];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdn = 0;
    int n = snprintf(buf, sizeof buf, "%s%s", key, LD_WS_GUID);
    if (n < 0 || (size_t)n >= sizeof buf) return -1;
    if (!EVP_Digest(buf, (size_t)n, md, &mdn, EVP_sha1(), NULL) || mdn != 20) return -1;
    ld_base64(md, 20, out);
    return 0;
}

/* ---- error tallies ---- */

void ld_err_count(ld_errcount *t, const char *code, uint64_t n)
{
    for (int i = 0; i < LD_ERR_CODES - 1; i++) {
        if (!t[i].code[0]) snprintf(t[i].code, sizeof t[i].code, "%s", code);
        if (!strcmp(t[i].code, code)) {
            t[i].n += n;
            return;
        }
    }
    snprintf(t[LD_ERR_CODES - 1].code, sizeof t->code, "other");
    t[LD_ERR_CODES - 1].n += n;
}

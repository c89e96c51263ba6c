/* Items: type names, key normalization, fill keys and rubrics, validation, hashes,
 * duplicates, responses and scoring. */
#include "bank_int.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <math.h>
#include <openssl/evp.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TEXT_MAX_BYTES 65535    /* stem, option, explanation: far above any real item */
#define UID_MAX_CHARS 64        /* item.uid VARCHAR(64) */
#define CODE_MAX_CHARS 64       /* item.point_code VARCHAR(64) */
#define SOURCE_MAX_CHARS 255    /* item.source VARCHAR(255) */
#define POINTS_MAX_CENTI 10000  /* papers are out of 100 */

/* ---- UTF-8 ---- */

int bank_utf8_decode(const unsigned char *s, size_t left, uint32_t *cp)
{
    unsigned c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    int n;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; v = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; v = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; v = c & 0x07; min = 0x10000; }
    else return 0;
    if ((size_t)n > left) return 0;
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return n;
}

int bank_utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* On NUL-terminated text: the NUL ends any sequence. */
static int utf8_next(const unsigned char *s, uint32_t *cp) { return bank_utf8_decode(s, SIZE_MAX, cp); }

/* Number of code points, or -1 when s is not valid UTF-8. */
static long utf8_chars(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    long n = 0;
    while (*p) {
        uint32_t cp;
        int k = utf8_next(p, &cp);
        if (!k) return -1;
        p += k;
        n++;
    }
    return n;
}

static int is_space_cp(uint32_t cp)
{
    return cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == 0xA0 || cp == 0x3000;
}

static int is_blank(const char *s)
{
    if (!s) return 1;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp;
        int k = utf8_next(p, &cp);
        if (!k || !is_space_cp(cp)) return 0;
        p += k;
    }
    return 1;
}

/* The form the content hash is computed over: whitespace runs (incl. U+3000) become one
 * space, full-width ASCII U+FF01..U+FF5E becomes ASCII, ends trimmed. Writes at most
 * strlen(s) bytes plus a NUL; returns the length. Invalid bytes pass through unchanged. */
static size_t norm_text(const char *s, char *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    int pending = 0;
    while (*p) {
        uint32_t cp;
        int k = utf8_next(p, &cp);
        if (!k) { cp = *p; k = 1; }
        if (is_space_cp(cp)) {
            pending = o > 0;
            p += k;
            continue;
        }
        if (pending) { out[o++] = ' '; pending = 0; }
        if (cp >= 0xFF01 && cp <= 0xFF5E) {
            out[o++] = (char)(cp - 0xFEE0);
        } else {
            memcpy(out + o, p, (size_t)k);
            o += (size_t)k;
        }
        p += k;
    }
    out[o] = 0;
    return o;
}

static char *norm_dup(const char *s)
{
    char *o = malloc(strlen(s) + 1);
    if (o) norm_text(s, o);
    return o;
}

const char *bank_text_clip(const char *s, char *buf, size_t size)
{
    size_t n = strlen(s);
    if (n < size) return s;
    size_t k = size - 4;    /* "…" is 3 bytes, then the NUL */
    while (k && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
    memcpy(buf, s, k);
    memcpy(buf + k, "\u2026", 4);
    return buf;
}

/* 150 -> "1.5", 125 -> "1.25", 200 -> "2" */
static const char *fmt_centi(long c, char *buf, size_t len)
{
    long v = c;
    const char *sign = v < 0 ? "-" : "";
    if (v < 0) v = -v;
    if (v % 100 == 0) snprintf(buf, len, "%s%ld", sign, v / 100);
    else if (v % 10 == 0) snprintf(buf, len, "%s%ld.%ld", sign, v / 100, v % 100 / 10);
    else snprintf(buf, len, "%s%ld.%02ld", sign, v / 100, v % 100);
    return buf;
}

/* ---- types, statuses, policies ---- */

static const struct type_info {
    const char *name, *label;
} TYPES[BANK_TYPE_MAX + 1] = {
    [BANK_SINGLE] = {"single", "单选题"},   [BANK_MULTI] = {"multi", "多选题"},
    [BANK_TF] = {"tf", "判断题"},           [BANK_FILL] = {"fill", "填空题"},
    [BANK_SHORT] = {"short", "简答题"},     [BANK_ESSAY] = {"essay", "论述题"},
    [BANK_COMPOSITE] = {"composite", "组合题"}, [BANK_PRACTICAL] = {"practical", "实操题"},
};

/* Labels and type codes of the Chinese templates (domain notes: 10 判断, 20 单选 ...). */
static const struct { const char *label; enum bank_item_type t; } LABELS[] = {
    {"单选题", BANK_SINGLE}, {"单选", BANK_SINGLE}, {"单项选择题", BANK_SINGLE}, {"20", BANK_SINGLE},
    {"多选题", BANK_MULTI}, {"多选", BANK_MULTI}, {"多项选择题", BANK_MULTI}, {"30", BANK_MULTI},
    {"multiple", BANK_MULTI},
    {"判断题", BANK_TF}, {"判断", BANK_TF}, {"10", BANK_TF}, {"judge", BANK_TF},
    {"填空题", BANK_FILL}, {"填空", BANK_FILL}, {"40", BANK_FILL},
    {"简答题", BANK_SHORT}, {"简答", BANK_SHORT}, {"50", BANK_SHORT},
    {"计算题", BANK_SHORT}, {"70", BANK_SHORT},
    {"论述题", BANK_ESSAY}, {"论述", BANK_ESSAY}, {"80", BANK_ESSAY},
    {"组合题", BANK_COMPOSITE}, {"60", BANK_COMPOSITE}, {"案例分析题", BANK_COMPOSITE},
    {"案例分析", BANK_COMPOSITE}, {"90", BANK_COMPOSITE}, {"case", BANK_COMPOSITE},
    {"实操题", BANK_PRACTICAL}, {"操作题", BANK_PRACTICAL}, {"实操", BANK_PRACTICAL},
};

const char *bank_type_name(enum bank_item_type t)
{
    return t >= BANK_SINGLE && t <= BANK_TYPE_MAX ? TYPES[t].name : "unknown";
}

const char *bank_type_label(enum bank_item_type t)
{
    return t >= BANK_SINGLE && t <= BANK_TYPE_MAX ? TYPES[t].label : "未知题型";
}

int bank_type_parse(const char *name, enum bank_item_type *out)
{
    for (int t = BANK_SINGLE; name && t <= BANK_TYPE_MAX; t++)
        if (strcmp(name, TYPES[t].name) == 0) {
            *out = (enum bank_item_type)t;
            return 0;
        }
    return -1;
}

int bank_type_parse_label(const char *label, enum bank_item_type *out)
{
    if (!label) return -1;
    for (size_t i = 0; i < sizeof LABELS / sizeof LABELS[0]; i++)
        if (strcmp(label, LABELS[i].label) == 0) {
            *out = LABELS[i].t;
            return 0;
        }
    for (int t = BANK_SINGLE; t <= BANK_TYPE_MAX; t++)
        if (strcasecmp(label, TYPES[t].name) == 0) {
            *out = (enum bank_item_type)t;
            return 0;
        }
    return -1;
}

int bank_type_is_objective(enum bank_item_type t)
{
    return t == BANK_SINGLE || t == BANK_MULTI || t == BANK_TF || t == BANK_FILL;
}

static const char *const STATUS[][2] = {
    [BANK_DRAFT] = {"draft", "草稿"},
    [BANK_REVIEWED] = {"reviewed", "已审核"},
    [BANK_APPROVED] = {"approved", "已批准"},
    [BANK_RETIRED] = {"retired", "已停用"},
};

const char *bank_status_name(enum bank_status st)
{
    return st >= BANK_DRAFT && st <= BANK_RETIRED ? STATUS[st][0] : "unknown";
}

int bank_status_parse(const char *s, enum bank_status *out)
{
    for (int i = BANK_DRAFT; s && i <= BANK_RETIRED; i++)
        if (strcasecmp(s, STATUS[i][0]) == 0 || strcmp(s, STATUS[i][1]) == 0) {
            *out = (enum bank_status)i;
            return 0;
        }
    return -1;
}

int bank_status_transition_ok(enum bank_status from, enum bank_status to)
{
    if (to == BANK_RETIRED) return from != BANK_RETIRED;
    switch (from) {
    case BANK_DRAFT: return to == BANK_REVIEWED;
    case BANK_REVIEWED: return to == BANK_APPROVED || to == BANK_DRAFT;
    case BANK_APPROVED: return to == BANK_DRAFT;
    case BANK_RETIRED: return to == BANK_DRAFT;
    }
    return 0;
}

static const char *const POLICY[][2] = {
    [BANK_MC_ALL] = {"all", "全对得分"},
    [BANK_MC_HALF] = {"half", "少选得半分"},
    [BANK_MC_RATIO] = {"ratio", "按比例"},
};

const char *bank_mc_policy_name(enum bank_mc_policy p)
{
    return p >= BANK_MC_ALL && p <= BANK_MC_RATIO ? POLICY[p][0] : "all";
}

int bank_mc_policy_parse(const char *s, enum bank_mc_policy *out)
{
    for (int i = BANK_MC_ALL; s && i <= BANK_MC_RATIO; i++)
        if (strcasecmp(s, POLICY[i][0]) == 0 || strcmp(s, POLICY[i][1]) == 0) {
            *out = (enum bank_mc_policy)i;
            return 0;
        }
    return -1;
}

/* ---- item sets ---- */

void bank_itemset_init(bank_itemset *s, kc_arena *a)
{
    memset(s, 0, sizeof *s);
    s->arena = a;
}

bank_item *bank_itemset_push(bank_itemset *s)
{
    if (!s || !s->arena) return NULL;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        bank_item *items = kc_arena_alloc(s->arena, cap * sizeof *items);
        if (!items) return NULL;
        if (s->n) memcpy(items, s->items, s->n * sizeof *items);
        s->items = items;
        s->cap = cap;
    }
    bank_item *it = &s->items[s->n++];
    memset(it, 0, sizeof *it);
    return it;
}

/* ---- small parsers ---- */

int bank_centi_parse(const char *s, const char **end, int *out)
{
    int neg = 0;
    if (*s == '-' || *s == '+') neg = *s++ == '-';
    long whole = 0;
    int digits = 0, frac = 0;
    for (; *s >= '0' && *s <= '9'; s++, digits++)
        if ((whole = whole * 10 + (*s - '0')) > 1000000) return -3;
    if (*s == '.') {
        const char *f = ++s;
        while (*s >= '0' && *s <= '9') s++;
        digits += (int)(s - f);
        size_t n = (size_t)(s - f);
        while (n && f[n - 1] == '0') n--;  /* Excel may write 1.50 */
        if (n > 2) return -2;
        for (size_t i = 0; i < 2; i++) frac = frac * 10 + (i < n ? f[i] - '0' : 0);
    }
    if (!digits || (!end && *s)) return -1;
    if (end) *end = s;
    long v = whole * 100 + frac;
    *out = (int)(neg ? -v : v);
    return 0;
}

/* Copy of s[0..n) without leading and trailing white space (ASCII, U+00A0, U+3000). */
static char *trim_dup(kc_arena *a, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        uint32_t cp;
        int k = utf8_next(p, &cp);
        if (!k || !is_space_cp(cp) || p + k > end) break;
        p += k;
    }
    const unsigned char *last = p;
    for (const unsigned char *q = p; q < end;) {
        uint32_t cp;
        int k = utf8_next(q, &cp);
        if (!k) { q++; last = q; continue; }
        q += k;
        if (!is_space_cp(cp)) last = q;
    }
    if (last > end) last = end;
    return kc_arena_strndup(a, (const char *)p, (size_t)(last - p));
}

/* Full-width ASCII to ASCII and lower case to upper case: the letter of an option, or 0. */
static uint32_t option_letter(uint32_t cp)
{
    if (cp >= 0xFF21 && cp <= 0xFF3A) cp -= 0xFEE0;        /* Ａ..Ｚ */
    else if (cp >= 0xFF41 && cp <= 0xFF5A) cp -= 0xFEE0;   /* ａ..ｚ */
    if (cp >= 'a' && cp <= 'z') cp -= 'a' - 'A';
    return cp >= 'A' && cp <= 'Z' ? cp : 0;
}

/* Separators authors put between the letters of a multiple-choice key. */
static int is_key_sep(uint32_t cp)
{
    return is_space_cp(cp) || cp == ',' || cp == 0xFF0C || cp == 0x3001 || cp == ';' ||
           cp == 0xFF1B || cp == '/' || cp == 0xFF0F;
}

/* The letters of a key or response in ascending order, each once ("ＣＡ" -> "AC"). Returns
 * the number of letters, or -1 when s holds something else. */
static int letters_sorted(const char *s, char out[27])
{
    int seen[26] = {0}, n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp;
        int k = utf8_next(p, &cp);
        if (!k) return -1;
        p += k;
        if (is_key_sep(cp)) continue;
        uint32_t l = option_letter(cp);
        if (!l) return -1;
        seen[l - 'A'] = 1;
    }
    for (int i = 0; i < 26; i++)
        if (seen[i]) out[n++] = (char)('A' + i);
    out[n] = 0;
    return n;
}

static const char *const TF_TRUE[] = {"对", "√", "✓", "✔", "正确", "T", "true", "是", "Y", "yes"};
static const char *const TF_FALSE[] = {"错", "×", "✗", "✘", "✕", "错误", "F", "false", "否", "N", "no", "X",
                                       "不对", "不正确"};

/* 'T', 'F', or 0 when s (already trimmed) is not a true/false word. */
static char tf_value(const char *s)
{
    char buf[16];
    size_t n = strlen(s);
    if (n >= sizeof buf) return 0;
    /* full-width Ｔ/Ｆ/Ｙ/Ｎ and friends */
    char *t = buf;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp;
        int k = utf8_next(p, &cp);
        if (!k) return 0;
        if (cp >= 0xFF01 && cp <= 0xFF5E) *t++ = (char)(cp - 0xFEE0);
        else { memcpy(t, p, (size_t)k); t += k; }
        p += k;
    }
    *t = 0;
    for (size_t i = 0; i < sizeof TF_TRUE / sizeof TF_TRUE[0]; i++)
        if (strcasecmp(buf, TF_TRUE[i]) == 0) return 'T';
    for (size_t i = 0; i < sizeof TF_FALSE / sizeof TF_FALSE[0]; i++)
        if (strcasecmp(buf, TF_FALSE[i]) == 0) return 'F';
    return 0;
}

int bank_key_normalize(enum bank_item_type t, const char *raw, kc_arena *a, const char **out)
{
    *out = NULL;
    if (!raw) return 0;
    char *s = trim_dup(a, raw, strlen(raw));
    if (!s) return -1;
    if (!*s) return 0;
    char letters[27];
    switch (t) {
    case BANK_SINGLE:
        if (letters_sorted(s, letters) == 1 && utf8_chars(s) == 1) {
            if (!(*out = kc_arena_strdup(a, letters))) return -1;
            return 0;
        }
        break;
    case BANK_MULTI:
        if (letters_sorted(s, letters) > 0) {
            if (!(*out = kc_arena_strdup(a, letters))) return -1;
            return 0;
        }
        break;
    case BANK_TF: {
        char v = tf_value(s);
        if (v) {
            *out = v == 'T' ? "T" : "F";
            return 0;
        }
        break;
    }
    case BANK_FILL: case BANK_SHORT: case BANK_ESSAY:
        *out = s;
        return 0;
    default:
        break;
    }
    *out = s;   /* not a key of this type: bank_item_validate says why */
    return 1;
}

/* ---- fill keys ---- */

static int pattern_check(const char *pat, char *why, size_t whylen, int blank)
{
    int err;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &off, NULL);
    if (re) {
        pcre2_code_free(re);
        return 0;
    }
    PCRE2_UCHAR msg[160];
    if (pcre2_get_error_message(err, msg, sizeof msg) < 0) snprintf((char *)msg, sizeof msg, "error %d", err);
    snprintf(why, whylen, "blank %d: the pattern does not compile at offset %zu: %s", blank,
             (size_t)off, (const char *)msg);
    return -1;
}

/* Unescapes s[0..n): "\x" -> x. In a pattern only "\|" loses its backslash: PCRE2 needs the
 * others. */
static char *unescape(kc_arena *a, const char *s, size_t n, int pattern)
{
    char *o = kc_arena_alloc(a, n + 1);
    if (!o) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            if (!pattern || s[i + 1] == '|') {
                o[k++] = s[++i];
                continue;
            }
            o[k++] = s[i++];
        }
        o[k++] = s[i];
    }
    o[k] = 0;
    return o;
}

/* Parses a number as a whole string (ends trimmed); full-width digits are accepted. */
static int parse_double(const char *s, double *out)
{
    char buf[64];
    size_t k = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp;
        int n = utf8_next(p, &cp);
        if (!n) return -1;
        p += n;
        if (is_space_cp(cp)) continue;
        if (cp >= 0xFF01 && cp <= 0xFF5E) cp -= 0xFEE0;
        if (cp >= 0x80 || k + 1 >= sizeof buf) return -1;
        buf[k++] = (char)cp;
    }
    buf[k] = 0;
    if (!k) return -1;
    char *end;
    double v = strtod(buf, &end);
    if (*end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int starts_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

int bank_fill_key_parse(const char *key, kc_arena *a, bank_blank **blanks, int *n,
                        char *why, size_t whylen)
{
    *blanks = NULL;
    *n = 0;
    if (is_blank(key)) {
        snprintf(why, whylen, "is empty");
        return -1;
    }
    /* the blanks: split at '|' that is not escaped */
    const char *seg[BANK_MAX_BLANKS + 1];
    size_t seglen[BANK_MAX_BLANKS + 1];
    int count = 0;
    const char *start = key;
    for (const char *p = key;; p++) {
        if (*p == '\\') {
            if (!p[1]) {
                snprintf(why, whylen, "ends with a lone \\; write \\\\ for a backslash");
                return -1;
            }
            p++;
            continue;
        }
        if (*p == '|' || !*p) {
            if (count == BANK_MAX_BLANKS) {
                snprintf(why, whylen, "has more than %d blanks", BANK_MAX_BLANKS);
                return -1;
            }
            seg[count] = start;
            seglen[count++] = (size_t)(p - start);
            if (!*p) break;
            start = p + 1;
        }
    }
    bank_blank *b = kc_arena_alloc(a, (size_t)count * sizeof *b);
    if (!b) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    for (int i = 0; i < count; i++) {
        char *raw = trim_dup(a, seg[i], seglen[i]);
        if (!raw) { snprintf(why, whylen, "out of memory"); return -1; }
        bank_blank *bl = &b[i];
        const char *body = raw;
        if (*raw == '=') { bl->mode = BANK_BLANK_EXACT; body = raw + 1; }
        else if (starts_ci(raw, "re:")) { bl->mode = BANK_BLANK_REGEX; body = raw + 3; }
        else if (starts_ci(raw, "num:")) { bl->mode = BANK_BLANK_NUMERIC; body = raw + 4; }
        if (!*raw) {
            snprintf(why, whylen, "blank %d is empty", i + 1);
            return -1;
        }
        if (bl->mode == BANK_BLANK_REGEX) {
            char *pat = unescape(a, body, strlen(body), 1);
            if (!pat) { snprintf(why, whylen, "out of memory"); return -1; }
            if (!*pat) {
                snprintf(why, whylen, "blank %d: the pattern after re: is empty", i + 1);
                return -1;
            }
            if (pattern_check(pat, why, whylen, i + 1)) return -1;
            bl->accept = kc_arena_alloc(a, sizeof *bl->accept);
            if (!bl->accept) { snprintf(why, whylen, "out of memory"); return -1; }
            bl->accept[0] = pat;
            bl->n_accept = 1;
            continue;
        }
        if (bl->mode == BANK_BLANK_NUMERIC) {
            char *num = unescape(a, body, strlen(body), 0);
            if (!num) { snprintf(why, whylen, "out of memory"); return -1; }
            char *tol = strstr(num, "±");
            size_t sep = 2;
            if (!tol) { tol = strstr(num, "+-"); sep = 2; }
            if (tol) { *tol = 0; tol += sep; }
            char buf[72];
            if (parse_double(num, &bl->value)) {
                snprintf(why, whylen, "blank %d: %s is not a number", i + 1,
                         *num ? bank_text_clip(num, buf, sizeof buf) : "(nothing after num:)");
                return -1;
            }
            if (tol && (parse_double(tol, &bl->tolerance) || bl->tolerance < 0)) {
                snprintf(why, whylen, "blank %d: the tolerance %s is not a number of at least 0",
                         i + 1, bank_text_clip(tol, buf, sizeof buf));
                return -1;
            }
            continue;
        }
        /* alternatives: split at ';' that is not escaped */
        int na = 1;
        for (const char *p = body; *p; p++) {
            if (*p == '\\' && p[1]) { p++; continue; }
            if (*p == ';') na++;
        }
        bl->accept = kc_arena_alloc(a, (size_t)na * sizeof *bl->accept);
        if (!bl->accept) { snprintf(why, whylen, "out of memory"); return -1; }
        const char *s0 = body;
        for (const char *p = body;; p++) {
            if (*p == '\\' && p[1]) { p++; continue; }
            if (*p != ';' && *p) continue;
            /* trimmed once unescaped: "\ x" is "x", so the key's text form is canonical */
            char *esc = unescape(a, s0, (size_t)(p - s0), 0);
            char *alt = esc ? trim_dup(a, esc, strlen(esc)) : NULL;
            if (!alt) { snprintf(why, whylen, "out of memory"); return -1; }
            if (!*alt) {
                if (na == 1) snprintf(why, whylen, "blank %d is empty", i + 1);
                else snprintf(why, whylen, "blank %d: alternative %d is empty", i + 1, bl->n_accept + 1);
                return -1;
            }
            bl->accept[bl->n_accept++] = alt;
            if (!*p) break;
            s0 = p + 1;
        }
    }
    *blanks = b;
    *n = count;
    return 0;
}

static void sb_escaped(kc_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '|' || *s == ';') kc_buf_add(b, "\\", 1);
        kc_buf_add(b, s, 1);
    }
}

static void sb_double(kc_buf *b, double v)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.15g", v);
    if (strtod(buf, NULL) != v) snprintf(buf, sizeof buf, "%.17g", v);
    kc_buf_str(b, buf);
}

char *bank_fill_key_format(const bank_blank *blanks, int n, kc_arena *a)
{
    kc_buf b = {0};
    kc_buf_add(&b, "", 0);
    for (int i = 0; i < n; i++) {
        const bank_blank *bl = &blanks[i];
        if (i) kc_buf_add(&b, "|", 1);
        switch (bl->mode) {
        case BANK_BLANK_NUMERIC:
            kc_buf_str(&b, "num:");
            sb_double(&b, bl->value);
            if (bl->tolerance > 0) {
                kc_buf_str(&b, "±");
                sb_double(&b, bl->tolerance);
            }
            break;
        case BANK_BLANK_REGEX: {
            kc_buf_str(&b, "re:");
            const char *p = bl->n_accept > 0 ? bl->accept[0] : "";
            for (; *p; p++) {
                if (*p == '\\' && p[1]) {
                    /* a literal bar in the pattern; "\|" would read back as alternation */
                    if (p[1] == '|') kc_buf_str(&b, "\\x7C");
                    else kc_buf_add(&b, p, 2);
                    p++;
                    continue;
                }
                if (*p == '|') kc_buf_add(&b, "\\", 1);
                kc_buf_add(&b, p, 1);
            }
            break;
        }
        case BANK_BLANK_EXACT:
        case BANK_BLANK_TEXT:
            if (bl->mode == BANK_BLANK_EXACT) kc_buf_add(&b, "=", 1);
            for (int k = 0; k < bl->n_accept; k++) {
                const char *s = bl->accept[k];
                if (k) kc_buf_add(&b, ";", 1);
                /* a text that looks like a mode prefix keeps being text */
                if (k == 0 && bl->mode == BANK_BLANK_TEXT &&
                    (*s == '=' || starts_ci(s, "re:") || starts_ci(s, "num:")))
                    kc_buf_add(&b, "\\", 1);
                sb_escaped(&b, s);
            }
            break;
        }
    }
    return kc_buf_to_arena(&b, a);
}

/* ---- rubrics ---- */

int bank_rubric_parse(const char *text, kc_arena *a, bank_criterion **c, int *n, int *bad_line,
                      char *why, size_t whylen)
{
    *c = NULL;
    *n = 0;
    *bad_line = 0;
    if (is_blank(text)) {
        snprintf(why, whylen, "is empty");
        return -1;
    }
    int lines = 1;
    for (const char *p = text; *p; p++) lines += *p == '\n';
    bank_criterion *out = kc_arena_alloc(a, (size_t)lines * sizeof *out);
    if (!out) { snprintf(why, whylen, "out of memory"); return -1; }
    int count = 0, line = 0;
    const char *p = text;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        line++;
        char *l = trim_dup(a, p, len);
        p += len + (eol ? 1 : 0);
        if (!l) { snprintf(why, whylen, "out of memory"); return -1; }
        if (!*l) continue;
        *bad_line = line;
        char *bar = strchr(l, '|');
        size_t barlen = 1;
        char *fw = strstr(l, "｜");
        if (fw && (!bar || fw < bar)) { bar = fw; barlen = strlen("｜"); }
        if (!bar) {
            snprintf(why, whylen, "has no |; write POINTS|TEXT or 否决|TEXT");
            return -1;
        }
        *bar = 0;
        char *head = trim_dup(a, l, strlen(l)), *body = trim_dup(a, bar + barlen, strlen(bar + barlen));
        if (!head || !body) { snprintf(why, whylen, "out of memory"); return -1; }
        if (count == BANK_MAX_CRITERIA) {
            snprintf(why, whylen, "has more than %d criteria", BANK_MAX_CRITERIA);
            return -1;
        }
        bank_criterion *cr = &out[count];
        char buf[72];
        if (strcmp(head, "否决") == 0 || strcasecmp(head, "veto") == 0) {
            cr->veto = 1;
        } else {
            const char *unit;
            int rc = bank_centi_parse(head, &unit, &cr->points_centi);
            if (!rc && *unit && strcmp(unit, "分")) rc = -1;
            if (rc == -2) {
                snprintf(why, whylen, "%s has more than 2 decimal places",
                         bank_text_clip(head, buf, sizeof buf));
                return -1;
            }
            if (rc || cr->points_centi <= 0) {
                snprintf(why, whylen, "%s is not a number of points greater than 0 (or 否决)",
                         *head ? bank_text_clip(head, buf, sizeof buf) : "(nothing before |)");
                return -1;
            }
            if (cr->points_centi > POINTS_MAX_CENTI) {
                snprintf(why, whylen, "%s points is more than a task can carry (100)",
                         bank_text_clip(head, buf, sizeof buf));
                return -1;
            }
        }
        if (!*body) {
            snprintf(why, whylen, "the criterion has no text after |");
            return -1;
        }
        cr->text = body;
        count++;
    }
    *bad_line = 0;
    *c = out;
    *n = count;
    return 0;
}

char *bank_rubric_format(const bank_criterion *c, int n, kc_arena *a)
{
    kc_buf b = {0};
    kc_buf_add(&b, "", 0);
    char buf[32];
    for (int i = 0; i < n; i++) {
        if (i) kc_buf_add(&b, "\n", 1);
        kc_buf_str(&b, c[i].veto ? "否决" : fmt_centi(c[i].points_centi, buf, sizeof buf));
        kc_buf_add(&b, "|", 1);
        /* one criterion per line */
        for (const char *p = c[i].text ? c[i].text : ""; *p; p++)
            kc_buf_add(&b, *p == '\n' || *p == '\r' ? " " : p, 1);
    }
    return kc_buf_to_arena(&b, a);
}

/* ---- validation ---- */

#define TAG_MAX_CHARS 32
#define AUTHOR_MAX_CHARS 128
#define MEDIA_NAME_MAX_CHARS 255
#define TIME_MAX_MINUTES 1440

static const char *type_words(enum bank_item_type t)
{
    switch (t) {
    case BANK_SINGLE: return "single-choice item";
    case BANK_MULTI: return "multiple-choice item";
    case BANK_TF: return "true/false item";
    case BANK_FILL: return "fill-in-blank item";
    case BANK_SHORT: return "short-answer item";
    case BANK_ESSAY: return "essay item";
    case BANK_COMPOSITE: return "composite item";
    case BANK_PRACTICAL: return "practical task";
    }
    return "item";
}

static int check_text(kc_diag *d, const bank_item *it, const char *field, const char *s,
                      long max_chars, long max_bytes)
{
    long chars = utf8_chars(s);
    if (chars < 0) {
        kc_diag_add(d, it->file, it->line, field, "is not valid UTF-8");
        return 1;
    }
    if (max_chars && chars > max_chars) {
        kc_diag_add(d, it->file, it->line, field, "is longer than %ld characters", max_chars);
        return 1;
    }
    if (max_bytes && (long)strlen(s) > max_bytes) {
        kc_diag_add(d, it->file, it->line, field, "is longer than %ld bytes", max_bytes);
        return 1;
    }
    return 0;
}

static int check_options(const bank_item *it, kc_diag *d)
{
    int bad = 0, n = it->n_options;
    char field[32], other[32];
    if (n < 0 || n > BANK_MAX_OPTIONS) {
        kc_diag_add(d, it->file, it->line, "选项", "has %d options; at most %d (A-H) are allowed",
                      n, BANK_MAX_OPTIONS);
        return 1;
    }
    int gap = -1;
    for (int i = 0; i < n && gap < 0; i++)
        if (is_blank(it->options[i])) gap = i;
    if (gap >= 0) {
        snprintf(field, sizeof field, "选项%c", 'A' + gap);
        if (gap < n - 1 && !is_blank(it->options[n - 1])) {
            snprintf(other, sizeof other, "选项%c", 'A' + n - 1);
            kc_diag_add(d, it->file, it->line, field,
                          "is empty but %s is filled; options must be contiguous", other);
        } else {
            kc_diag_add(d, it->file, it->line, field, "is empty");
        }
        return 1;
    }
    if (n < 2) {
        snprintf(field, sizeof field, "选项%c", 'A' + n);
        kc_diag_add(d, it->file, it->line, field, "is empty; a %s needs at least 2 options",
                      type_words(it->type));
        return 1;
    }
    char *norm[BANK_MAX_OPTIONS] = {0};
    for (int i = 0; i < n; i++) {
        snprintf(field, sizeof field, "选项%c", 'A' + i);
        if (check_text(d, it, field, it->options[i], 0, TEXT_MAX_BYTES)) { bad++; continue; }
        norm[i] = norm_dup(it->options[i]);
        for (int j = 0; j < i && norm[i]; j++)
            if (norm[j] && strcmp(norm[i], norm[j]) == 0) {
                snprintf(other, sizeof other, "选项%c", 'A' + j);
                kc_diag_add(d, it->file, it->line, field, "has the same text as %s", other);
                bad++;
                break;
            }
    }
    for (int i = 0; i < n; i++) free(norm[i]);
    return bad;
}

static int check_no_options(const bank_item *it, kc_diag *d)
{
    for (int i = 0; i < it->n_options && i < BANK_MAX_OPTIONS; i++)
        if (!is_blank(it->options[i])) {
            char field[32];
            snprintf(field, sizeof field, "选项%c", 'A' + i);
            kc_diag_add(d, it->file, it->line, field, "a %s has no options", type_words(it->type));
            return 1;
        }
    return 0;
}

/* answer is there and valid UTF-8; else one line. */
static int answer_present(const bank_item *it, kc_diag *d)
{
    if (is_blank(it->answer)) {
        kc_diag_add(d, it->file, it->line, "答案", "is empty");
        return 0;
    }
    if (utf8_chars(it->answer) < 0) {
        kc_diag_add(d, it->file, it->line, "答案", "is not valid UTF-8");
        return 0;
    }
    return 1;
}

static int check_single_key(const bank_item *it, kc_diag *d)
{
    const char *a = it->answer;
    if (!answer_present(it, d)) return 1;
    if (strlen(a) != 1 || a[0] < 'A' || a[0] >= 'A' + BANK_MAX_OPTIONS) {
        char buf[72];
        kc_diag_add(d, it->file, it->line, "答案", "%s is not one option letter A-H",
                      bank_text_clip(a, buf, sizeof buf));
        return 1;
    }
    int idx = a[0] - 'A';
    if (it->n_options >= 0 && idx >= it->n_options) {
        kc_diag_add(d, it->file, it->line, "答案", "%c but the item has only %d option%s", a[0],
                      it->n_options, it->n_options == 1 ? "" : "s");
        return 1;
    }
    return 0;
}

static int check_multi_key(const bank_item *it, kc_diag *d)
{
    const char *a = it->answer;
    char buf[72];
    if (!answer_present(it, d)) return 1;
    int ascending = 1;
    for (const char *p = a; *p; p++)
        if (*p < 'A' || *p >= 'A' + BANK_MAX_OPTIONS || (p > a && *p <= p[-1])) ascending = 0;
    if (!ascending) {
        kc_diag_add(d, it->file, it->line, "答案", "%s is not option letters A-H such as ACD",
                      bank_text_clip(a, buf, sizeof buf));
        return 1;
    }
    if (strlen(a) < 2) {
        kc_diag_add(d, it->file, it->line, "答案",
                      "%s is one letter; a multiple-choice key has at least 2", a);
        return 1;
    }
    char missing[2 * BANK_MAX_OPTIONS + 1] = "";
    size_t m = 0;
    for (const char *p = a; *p; p++)
        if (*p - 'A' >= it->n_options) {
            if (m) missing[m++] = ',';
            missing[m++] = *p;
            missing[m] = 0;
        }
    if (m) {
        kc_diag_add(d, it->file, it->line, "答案", "%s but the item has only %d option%s", missing,
                      it->n_options, it->n_options == 1 ? "" : "s");
        return 1;
    }
    return 0;
}

static int check_tf_key(const bank_item *it, kc_diag *d)
{
    if (!answer_present(it, d)) return 1;
    if (strcmp(it->answer, "T") && strcmp(it->answer, "F")) {
        char buf[72];
        kc_diag_add(d, it->file, it->line, "答案",
                      "%s is not 对 or 错 (also √/×, 正确/错误, T/F, 是/否)",
                      bank_text_clip(it->answer, buf, sizeof buf));
        return 1;
    }
    return 0;
}

/* Blanks the stem marks: （ ）, ( ) with a space inside, runs of _ or ＿, {{N}}. */
static int stem_blanks(const char *s)
{
    int n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp;
        int k = utf8_next(p, &cp);
        if (!k) { p++; continue; }
        if (cp == 0xFF08 || cp == '(') {
            const unsigned char *q = p + k;
            int spaces = 0;
            for (;;) {
                uint32_t c2;
                int k2 = utf8_next(q, &c2);
                if (!k2) break;
                if (is_space_cp(c2) || c2 == '_' || c2 == 0xFF3F) { spaces++; q += k2; continue; }
                if ((c2 == 0xFF09 || c2 == ')') && (spaces || cp == 0xFF08)) {
                    n++;
                    p = q + k2;
                    goto next;
                }
                break;
            }
        } else if (cp == '_' || cp == 0xFF3F) {
            const unsigned char *q = p;
            int run = 0;
            for (;;) {
                uint32_t c2;
                int k2 = utf8_next(q, &c2);
                if (!k2 || (c2 != '_' && c2 != 0xFF3F)) break;
                run++;
                q += k2;
            }
            if (run >= 2) n++;
            p = q;
            continue;
        } else if (cp == '{' && p[1] == '{') {
            const unsigned char *q = p + 2;
            while (*q >= '0' && *q <= '9') q++;
            if (q > p + 2 && q[0] == '}' && q[1] == '}') {
                n++;
                p = q + 2;
                continue;
            }
        }
        p += k;
    next:;
    }
    return n;
}

static int check_fill_key(const bank_item *it, kc_diag *d)
{
    if (!answer_present(it, d)) return 1;
    kc_arena *tmp = kc_arena_new(4096);
    if (!tmp) return 1;
    bank_blank *b;
    int n, bad = 0;
    char why[256];
    if (bank_fill_key_parse(it->answer, tmp, &b, &n, why, sizeof why)) {
        kc_diag_add(d, it->file, it->line, "答案", "%s", why);
        bad = 1;
    } else if (it->stem) {
        int marks = stem_blanks(it->stem);
        if (marks && marks != n) {
            kc_diag_add(d, it->file, it->line, "答案", "has %d blank%s but 题干 marks %d", n,
                          n == 1 ? "" : "s", marks);
            bad = 1;
        } else if (!marks && n > 1) {
            kc_diag_add(d, it->file, it->line, "答案",
                          "has %d blanks but 题干 marks none; mark them with （ ）, ____ or {{1}}", n);
            bad = 1;
        }
    }
    kc_arena_free(tmp);
    return bad;
}

static int check_points(const bank_item *it, kc_diag *d)
{
    char buf[32];
    if (it->points_centi <= 0) {
        kc_diag_add(d, it->file, it->line, "分值", "%s is not greater than 0",
                      fmt_centi(it->points_centi, buf, sizeof buf));
        return 1;
    }
    if (it->points_centi > POINTS_MAX_CENTI) {
        kc_diag_add(d, it->file, it->line, "分值", "%s is more than 100",
                      fmt_centi(it->points_centi, buf, sizeof buf));
        return 1;
    }
    return 0;
}

static int check_uid(const bank_item *it, kc_diag *d)
{
    if (!it->uid) return 0;
    long chars = utf8_chars(it->uid);
    int ws = 0;
    for (const unsigned char *p = (const unsigned char *)it->uid; *p; p++)
        if (*p <= ' ' || *p == 0x7F) ws = 1;
    const char *why = NULL;
    if (!*it->uid) why = "is empty";
    else if (chars < 0) why = "is not valid UTF-8";
    else if (chars > UID_MAX_CHARS) why = "is longer than 64 characters";
    else if (ws) why = "contains spaces or control characters";
    else if (it->type == BANK_COMPOSITE && chars > UID_MAX_CHARS - 3)
        why = "is longer than 61 characters; its sub-items are named <试题编号>-N";
    if (!why) return 0;
    kc_diag_add(d, it->file, it->line, "试题编号", "%s", why);
    return 1;
}

static int check_tags(const bank_item *it, kc_diag *d)
{
    int bad = 0;
    char buf[72];
    if (it->n_tags > BANK_MAX_TAGS) {
        kc_diag_add(d, it->file, it->line, "标签", "has %d tags; at most %d are allowed",
                      it->n_tags, BANK_MAX_TAGS);
        return 1;
    }
    for (int i = 0; i < it->n_tags; i++) {
        const char *t = it->tags ? it->tags[i] : NULL;
        long chars = t ? utf8_chars(t) : 0;
        if (is_blank(t)) {
            kc_diag_add(d, it->file, it->line, "标签", "tag %d is empty", i + 1);
            bad++;
        } else if (chars < 0) {
            kc_diag_add(d, it->file, it->line, "标签", "tag %d is not valid UTF-8", i + 1);
            bad++;
        } else if (chars > TAG_MAX_CHARS) {
            kc_diag_add(d, it->file, it->line, "标签", "%s is longer than %d characters",
                          bank_text_clip(t, buf, sizeof buf), TAG_MAX_CHARS);
            bad++;
        } else {
            for (int j = 0; j < i; j++)
                if (it->tags[j] && strcmp(it->tags[j], t) == 0) {
                    kc_diag_add(d, it->file, it->line, "标签", "%s appears twice",
                                  bank_text_clip(t, buf, sizeof buf));
                    bad++;
                    break;
                }
        }
    }
    return bad;
}

static int check_media(const bank_item *it, kc_diag *d)
{
    int bad = 0;
    char buf[72];
    for (int i = 0; i < it->n_media; i++) {
        const bank_media *m = &it->media[i];
        long chars = m->name ? utf8_chars(m->name) : 0;
        if (is_blank(m->name)) {
            kc_diag_add(d, it->file, it->line, "media", "image or attachment %d has no name", i + 1);
            bad++;
            continue;
        }
        const char *name = bank_text_clip(m->name, buf, sizeof buf);
        if (chars < 0) {
            kc_diag_add(d, it->file, it->line, "media",
                          "the name of image or attachment %d is not valid UTF-8", i + 1);
            bad++;
            continue;
        }
        if (chars > MEDIA_NAME_MAX_CHARS) {
            kc_diag_add(d, it->file, it->line, "media", "%s: the name is longer than %d characters",
                          name, MEDIA_NAME_MAX_CHARS);
            bad++;
            continue;
        }
        int dup = 0;
        for (int j = 0; j < i && !dup; j++)
            if (it->media[j].name && strcmp(it->media[j].name, m->name) == 0) dup = 1;
        if (dup) {
            kc_diag_add(d, it->file, it->line, "media", "%s appears twice", name);
            bad++;
        } else if (!m->data || !m->len) {
            kc_diag_add(d, it->file, it->line, "media", "%s is empty", name);
            bad++;
        } else if (m->len > BANK_MEDIA_MAX_BYTES) {
            kc_diag_add(d, it->file, it->line, "media", "%s is %zu bytes; at most %zu (8 MiB) are allowed",
                          name, m->len, BANK_MEDIA_MAX_BYTES);
            bad++;
        } else if (is_blank(m->mime)) {
            kc_diag_add(d, it->file, it->line, "media", "%s has no type (such as image/png)", name);
            bad++;
        }
    }
    return bad;
}

static int check_practical(const bank_item *it, kc_diag *d)
{
    int bad = 0;
    char b1[32], b2[32];
    if (it->time_minutes <= 0) {
        kc_diag_add(d, it->file, it->line, "考核时间", "is empty; give the time allowed in minutes");
        bad++;
    } else if (it->time_minutes > TIME_MAX_MINUTES) {
        kc_diag_add(d, it->file, it->line, "考核时间", "%d minutes is more than 24 hours",
                      it->time_minutes);
        bad++;
    }
    if (it->equipment) bad += check_text(d, it, "设备要求", it->equipment, 0, TEXT_MAX_BYTES);
    if (it->n_criteria <= 0) {
        kc_diag_add(d, it->file, it->line, "评分标准",
                      "is empty; a practical task needs at least one scoring criterion");
        return bad + 1;
    }
    if (it->n_criteria > BANK_MAX_CRITERIA) {
        kc_diag_add(d, it->file, it->line, "评分标准", "has %d criteria; at most %d are allowed",
                      it->n_criteria, BANK_MAX_CRITERIA);
        return bad + 1;
    }
    long sum = 0;
    int scoring = 0, crit_bad = 0;
    for (int i = 0; i < it->n_criteria; i++) {
        const bank_criterion *c = &it->criteria[i];
        if (is_blank(c->text)) {
            kc_diag_add(d, it->file, it->line, "评分标准", "criterion %d has no text", i + 1);
            crit_bad++;
        } else if (utf8_chars(c->text) < 0) {
            kc_diag_add(d, it->file, it->line, "评分标准", "criterion %d is not valid UTF-8", i + 1);
            crit_bad++;
        }
        if (c->veto) continue;
        if (c->points_centi <= 0) {
            kc_diag_add(d, it->file, it->line, "评分标准", "criterion %d: %s points is not greater than 0",
                          i + 1, fmt_centi(c->points_centi, b1, sizeof b1));
            crit_bad++;
            continue;
        }
        scoring++;
        sum += c->points_centi;
    }
    if (!crit_bad && !scoring) {
        kc_diag_add(d, it->file, it->line, "评分标准",
                      "has only veto criteria; at least one criterion must carry points");
        crit_bad++;
    }
    if (!crit_bad && it->points_centi > 0 && sum != it->points_centi) {
        kc_diag_add(d, it->file, it->line, "分值", "%s but the criteria of 评分标准 add up to %s",
                      fmt_centi(it->points_centi, b1, sizeof b1), fmt_centi(sum, b2, sizeof b2));
        crit_bad++;
    }
    return bad + crit_bad;
}

static int is_child_type(enum bank_item_type t)
{
    return t >= BANK_SINGLE && t <= BANK_ESSAY;
}

static int validate(const bank_item *it, kc_diag *d);

static int check_children(const bank_item *it, kc_diag *d)
{
    char b1[32], b2[32];
    if (it->n_children <= 0) {
        kc_diag_add(d, it->file, it->line, "所属题目",
                      "the composite item has no sub-items (rows whose 所属题目 is its 试题编号)");
        return 1;
    }
    if (it->n_children > BANK_MAX_CHILDREN) {
        kc_diag_add(d, it->file, it->line, "所属题目",
                      "the composite item has %d sub-items; at most %d are allowed",
                      it->n_children, BANK_MAX_CHILDREN);
        return 1;
    }
    int bad = 0, points_ok = 1;
    long sum = 0;
    for (int i = 0; i < it->n_children; i++) {
        const bank_item *c = &it->children[i];
        if (!is_child_type(c->type)) {
            if (c->type >= BANK_SINGLE && c->type <= BANK_TYPE_MAX)
                kc_diag_add(d, c->file, c->line, "题型", "a %s cannot be a sub-item of a composite item",
                              type_words(c->type));
            else
                kc_diag_add(d, c->file, c->line, "题型", "unknown item type %d", (int)c->type);
            bad++;
            points_ok = 0;
            continue;
        }
        bad += validate(c, d);
        if (c->points_centi <= 0 || c->points_centi > POINTS_MAX_CENTI) points_ok = 0;
        sum += c->points_centi;
    }
    if (points_ok && it->points_centi > 0 && sum != it->points_centi) {
        kc_diag_add(d, it->file, it->line, "分值", "%s but the sub-items add up to %s",
                      fmt_centi(it->points_centi, b1, sizeof b1), fmt_centi(sum, b2, sizeof b2));
        bad++;
    }
    return bad;
}

static int validate(const bank_item *it, kc_diag *d)
{
    int bad = check_uid(it, d);
    enum bank_item_type t = it->type;
    if (t < BANK_SINGLE || t > BANK_TYPE_MAX) {
        kc_diag_add(d, it->file, it->line, "题型", "unknown item type %d", (int)t);
        return bad + 1;
    }
    if (is_blank(it->stem)) {
        kc_diag_add(d, it->file, it->line, "题干", "is empty");
        bad++;
    } else {
        bad += check_text(d, it, "题干", it->stem, 0, TEXT_MAX_BYTES);
    }
    if (t == BANK_SINGLE || t == BANK_MULTI) bad += check_options(it, d);
    else bad += check_no_options(it, d);

    char buf[72];
    switch (t) {
    case BANK_SINGLE: bad += check_single_key(it, d); break;
    case BANK_MULTI: bad += check_multi_key(it, d); break;
    case BANK_TF: bad += check_tf_key(it, d); break;
    case BANK_FILL: bad += check_fill_key(it, d); break;
    case BANK_SHORT: case BANK_ESSAY:
        if (it->answer) bad += check_text(d, it, "答案", it->answer, 0, TEXT_MAX_BYTES);
        break;
    case BANK_COMPOSITE: case BANK_PRACTICAL:
        if (!is_blank(it->answer)) {
            kc_diag_add(d, it->file, it->line, "答案", "%s; a %s has no key (%s)",
                          bank_text_clip(it->answer, buf, sizeof buf), type_words(t),
                          t == BANK_COMPOSITE ? "its sub-items carry the keys" : "评分标准 scores it");
            bad++;
        }
        break;
    }
    if (t != BANK_MULTI && it->mc_policy != BANK_MC_ALL) {
        kc_diag_add(d, it->file, it->line, "多选计分",
                      "only a multiple-choice item has a partial-credit policy");
        bad++;
    } else if (it->mc_policy < BANK_MC_ALL || it->mc_policy > BANK_MC_RATIO) {
        kc_diag_add(d, it->file, it->line, "多选计分", "unknown policy %d", (int)it->mc_policy);
        bad++;
    }
    bad += check_points(it, d);
    if (it->difficulty < 0 || it->difficulty > 5) {
        kc_diag_add(d, it->file, it->line, "难度", "%d is not an integer from 1 to 5",
                      it->difficulty);
        bad++;
    }
    if (it->point_code) bad += check_text(d, it, "鉴定点代码", it->point_code, CODE_MAX_CHARS, 0);
    if (it->explanation) bad += check_text(d, it, "解析", it->explanation, 0, TEXT_MAX_BYTES);
    if (it->source) bad += check_text(d, it, "出处", it->source, SOURCE_MAX_CHARS, 0);
    if (it->occupation && !bank_occupation_code_valid(it->occupation)) {
        kc_diag_add(d, it->file, it->line, "职业代码",
                      "%s is not an occupation code N-NN-NN-NN such as 4-04-04-02",
                      bank_text_clip(it->occupation, buf, sizeof buf));
        bad++;
    }
    if (it->level < 0 || it->level > 5) {
        kc_diag_add(d, it->file, it->line, "等级", "%d is not a level from 1 to 5", it->level);
        bad++;
    }
    bad += check_tags(it, d);
    if (it->author) bad += check_text(d, it, "命题人", it->author, AUTHOR_MAX_CHARS, 0);
    bad += check_media(it, d);

    if (t == BANK_COMPOSITE) {
        bad += check_children(it, d);
    } else if (it->n_children) {
        kc_diag_add(d, it->file, it->line, "所属题目", "only a composite item has sub-items");
        bad++;
    }
    if (t == BANK_PRACTICAL) {
        bad += check_practical(it, d);
    } else {
        if (it->n_criteria) {
            kc_diag_add(d, it->file, it->line, "评分标准", "only a practical task has a rubric");
            bad++;
        }
        if (it->time_minutes) {
            kc_diag_add(d, it->file, it->line, "考核时间", "only a practical task has a time allowed");
            bad++;
        }
        if (it->equipment) {
            kc_diag_add(d, it->file, it->line, "设备要求",
                          "only a practical task has equipment requirements");
            bad++;
        }
    }
    return bad;
}

int bank_item_validate(const bank_item *it, kc_diag *d)
{
    return validate(it, d);
}

/* ---- hashes ---- */

static int hash_text(EVP_MD_CTX *ctx, const char *s)
{
    char *n = norm_dup(s ? s : "");
    if (!n) return -1;
    /* the NUL terminator separates the parts, so ("ab","c") and ("a","bc") differ */
    int ok = EVP_DigestUpdate(ctx, n, strlen(n) + 1);
    free(n);
    return ok ? 0 : -1;
}

/* The full hash takes every field exactly as it is: a tag, then a length (so NULL and ""
 * and neighbouring fields stay distinct), then the bytes. */
static int hash_field(EVP_MD_CTX *ctx, char tag, const void *p, size_t n)
{
    uint8_t head[9];
    head[0] = (uint8_t)tag;
    uint64_t len = p ? (uint64_t)n : UINT64_MAX;
    for (int i = 0; i < 8; i++) head[1 + i] = (uint8_t)(len >> (8 * i));
    if (!EVP_DigestUpdate(ctx, head, sizeof head)) return -1;
    return !p || !n || EVP_DigestUpdate(ctx, p, n) ? 0 : -1;
}

static int hash_str(EVP_MD_CTX *ctx, char tag, const char *s)
{
    return hash_field(ctx, tag, s, s ? strlen(s) : 0);
}

static int hash_int(EVP_MD_CTX *ctx, char tag, long v)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%ld", v);
    return hash_field(ctx, tag, buf, (size_t)n);
}

static int sha256(const void *p, size_t n, uint8_t out[32])
{
    unsigned len = 0;
    return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) && len == 32 ? 0 : -1;
}

static int content_hash(bank_item *it)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) return -1;
    int rc = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ? 0 : -1;
    if (!rc) rc = hash_text(ctx, bank_type_name(it->type));
    if (!rc) rc = hash_text(ctx, it->stem);
    for (int i = 0; i < it->n_options && !rc; i++) rc = hash_text(ctx, it->options[i]);
    for (int i = 0; i < it->n_children && !rc; i++)
        rc = EVP_DigestUpdate(ctx, it->children[i].content_hash, 32) ? 0 : -1;
    unsigned int len = 0;
    if (!rc && (!EVP_DigestFinal_ex(ctx, it->content_hash, &len) || len != 32)) rc = -1;
    EVP_MD_CTX_free(ctx);
    return rc;
}

static int full_hash(bank_item *it)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) return -1;
    int rc = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ? 0 : -1;
    if (!rc) rc = hash_str(ctx, 't', bank_type_name(it->type));
    if (!rc) rc = hash_str(ctx, 's', it->stem);
    if (!rc) rc = hash_int(ctx, 'o', it->n_options);
    for (int i = 0; i < it->n_options && !rc; i++) rc = hash_str(ctx, 'O', it->options[i]);
    if (!rc) rc = hash_int(ctx, 'P', it->pin_options);
    if (!rc) rc = hash_str(ctx, 'k', it->answer);
    if (!rc) rc = hash_str(ctx, 'm', it->type == BANK_MULTI ? bank_mc_policy_name(it->mc_policy) : NULL);
    if (!rc) rc = hash_int(ctx, 'p', it->points_centi);
    if (!rc) rc = hash_int(ctx, 'd', it->difficulty);
    if (!rc) rc = hash_str(ctx, 'c', it->point_code);
    if (!rc) rc = hash_str(ctx, 'e', it->explanation);
    if (!rc) rc = hash_str(ctx, 'r', it->source);
    if (!rc) rc = hash_str(ctx, 'j', it->occupation);
    if (!rc) rc = hash_int(ctx, 'l', it->level);
    if (!rc) rc = hash_str(ctx, 'a', it->author);
    if (!rc) rc = hash_int(ctx, 'g', it->n_tags);
    for (int i = 0; i < it->n_tags && !rc; i++) rc = hash_str(ctx, 'G', it->tags[i]);
    if (!rc) rc = hash_int(ctx, 'f', it->n_media);
    for (int i = 0; i < it->n_media && !rc; i++) {
        const bank_media *m = &it->media[i];
        rc = hash_str(ctx, 'F', m->name);
        if (!rc) rc = hash_str(ctx, 'M', m->mime);
        if (!rc) rc = hash_field(ctx, 'H', m->sha256, 32);
    }
    if (!rc) rc = hash_int(ctx, 'u', it->n_children);
    for (int i = 0; i < it->n_children && !rc; i++) {
        rc = hash_str(ctx, 'U', it->children[i].uid);
        if (!rc) rc = hash_field(ctx, 'C', it->children[i].full_hash, 32);
    }
    if (!rc) rc = hash_int(ctx, 'T', it->time_minutes);
    if (!rc) rc = hash_str(ctx, 'q', it->equipment);
    if (!rc) rc = hash_int(ctx, 'n', it->n_criteria);
    for (int i = 0; i < it->n_criteria && !rc; i++) {
        const bank_criterion *c = &it->criteria[i];
        rc = hash_str(ctx, 'x', c->text);
        if (!rc) rc = hash_int(ctx, 'y', c->points_centi);
        if (!rc) rc = hash_int(ctx, 'z', c->veto);
    }
    unsigned int len = 0;
    if (!rc && (!EVP_DigestFinal_ex(ctx, it->full_hash, &len) || len != 32)) rc = -1;
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* Content hashes bottom-up (a composite's covers its children), then uids top-down (a
 * child's is derived from its parent's), then full hashes bottom-up (they cover the uids). */
static int finalize_content(bank_item *it)
{
    if (it->n_options < 0 || it->n_options > BANK_MAX_OPTIONS) return -1;
    if (it->n_children < 0 || (it->n_children && !it->children)) return -1;
    for (int i = 0; i < it->n_children; i++)
        if (finalize_content(&it->children[i])) return -1;
    for (int i = 0; i < it->n_media; i++)
        if (sha256(it->media[i].data ? (const void *)it->media[i].data : "", it->media[i].len,
                   it->media[i].sha256)) return -1;
    return content_hash(it);
}

static int finalize_ids(bank_item *it, kc_arena *a)
{
    if (it->version <= 0) it->version = 1;
    if (!it->uid) {
        char hex[17];
        for (int i = 0; i < 8; i++) snprintf(hex + 2 * i, 3, "%02x", it->content_hash[i]);
        if (!(it->uid = kc_arena_printf(a, "h-%s", hex))) return -1;
    }
    for (int i = 0; i < it->n_children; i++) {
        bank_item *c = &it->children[i];
        if (!c->uid && !(c->uid = kc_arena_printf(a, "%s-%d", it->uid, i + 1))) return -1;
        if (finalize_ids(c, a)) return -1;
    }
    for (int i = 0; i < it->n_children; i++)
        if (full_hash(&it->children[i])) return -1;
    return 0;
}

/* The blanks of fill items (the server needs their number for responses). */
static int parse_blanks(bank_item *it, kc_arena *a)
{
    for (int i = 0; i < it->n_children; i++)
        if (parse_blanks(&it->children[i], a)) return -1;
    if (it->type != BANK_FILL || it->blanks || !it->answer) return 0;
    char why[256];
    if (bank_fill_key_parse(it->answer, a, &it->blanks, &it->n_blanks, why, sizeof why)) {
        it->blanks = NULL;
        it->n_blanks = 0;
    }
    return 0;
}

int bank_item_finalize(bank_item *it, kc_arena *a)
{
    if (finalize_content(it) || finalize_ids(it, a) || parse_blanks(it, a)) return -1;
    return full_hash(it);
}

/* ---- duplicates ---- */

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int hash_is_zero(const uint8_t *h)
{
    for (int i = 0; i < 32; i++)
        if (h[i]) return 0;
    return 1;
}

static void report_dup(kc_diag *d, const bank_item *it, const bank_item *first,
                       const char *field, const char *what)
{
    if (first->file && it->file && strcmp(first->file, it->file))
        kc_diag_add(d, it->file, it->line, field, "%s %s:%d", what, first->file, first->line);
    else
        kc_diag_add(d, it->file, it->line, field, "%s line %d", what, first->line);
}

/* uids are unique over items and sub-items alike (each is a row of its own); open
 * addressing, slots hold the item pointer. */
static int uid_seen(const bank_item **tab, size_t size, const bank_item *it, kc_diag *d)
{
    size_t k = (size_t)str_hash(it->uid) & (size - 1);
    for (; tab[k]; k = (k + 1) & (size - 1))
        if (strcmp(tab[k]->uid, it->uid) == 0) {
            char what[128], buf[72];
            snprintf(what, sizeof what, "%s is also used on", bank_text_clip(it->uid, buf, sizeof buf));
            report_dup(d, it, tab[k], "试题编号", what);
            return 1;
        }
    tab[k] = it;
    return 0;
}

static int find_duplicates(const bank_itemset *s, kc_diag *d, unsigned char *dup_of);

int bank_itemset_check_duplicates(const bank_itemset *s, kc_diag *d)
{
    return find_duplicates(s, d, NULL);
}

int bank_itemset_drop_duplicates(bank_itemset *s, kc_diag *d)
{
    if (!s->n) return 0;
    unsigned char *dup = calloc(s->n, 1);
    if (!dup) return -1;
    int n = find_duplicates(s, d, dup);
    if (n > 0) {
        size_t k = 0;
        for (size_t i = 0; i < s->n; i++)
            if (!dup[i]) s->items[k++] = s->items[i];
        s->n = k;
    }
    free(dup);
    return n;
}

/* dup_of, when not NULL, gets 1 for each item reported. */
static int find_duplicates(const bank_itemset *s, kc_diag *d, unsigned char *dup_of)
{
    if (!s->n) return 0;
    size_t total = s->n;
    for (size_t i = 0; i < s->n; i++)
        if (s->items[i].n_children > 0) total += (size_t)s->items[i].n_children;
    size_t size = 16;
    while (size < total * 2) size *= 2;
    /* open addressing; slots hold index + 1, 0 is empty */
    size_t *by_hash = calloc(size, sizeof *by_hash);
    const bank_item **by_uid = calloc(size, sizeof *by_uid);
    if (!by_hash || !by_uid) {
        free(by_hash);
        free(by_uid);
        return -1;
    }
    int reported = 0;
    for (size_t i = 0; i < s->n; i++) {
        const bank_item *it = &s->items[i];
        int dup = 0;
        if (!hash_is_zero(it->content_hash)) {
            uint64_t h;
            memcpy(&h, it->content_hash, sizeof h);
            size_t k = (size_t)h & (size - 1);
            for (; by_hash[k]; k = (k + 1) & (size - 1)) {
                const bank_item *o = &s->items[by_hash[k] - 1];
                if (memcmp(o->content_hash, it->content_hash, 32) == 0) {
                    report_dup(d, it, o, "题干", "duplicate of the item on");
                    dup = 1;
                    break;
                }
            }
            if (!dup) by_hash[k] = i + 1;
        }
        if (!dup && it->uid) dup = uid_seen(by_uid, size, it, d);
        /* Sub-items repeat only within their composite: the same question under other
         * material is a different item. */
        for (int c = 0; !dup && c < it->n_children; c++) {
            const bank_item *ch = &it->children[c];
            for (int e = 0; e < c && !dup; e++)
                if (!hash_is_zero(ch->content_hash) &&
                    memcmp(it->children[e].content_hash, ch->content_hash, 32) == 0) {
                    report_dup(d, ch, &it->children[e], "题干", "duplicate of the sub-item on");
                    dup = 1;
                }
            if (!dup && ch->uid) dup = uid_seen(by_uid, size, ch, d);
        }
        reported += dup;
        if (dup_of) dup_of[i] = (unsigned char)dup;
    }
    free(by_hash);
    free(by_uid);
    return reported;
}

/* ---- responses ---- */

/* Copies in to out trimmed; newlines and tabs are kept when multiline, other control
 * characters refuse the response. Returns the length or -1. */
static long copy_text(const char *in, size_t inlen, char *out, size_t outlen, int multiline)
{
    const unsigned char *p = (const unsigned char *)in, *end = p + inlen;
    size_t o = 0, keep = 0;
    int started = 0;
    while (p < end) {
        uint32_t cp;
        int k = utf8_next(p, &cp);
        if (!k || p + k > end) return -1;
        if (cp < 0x20 || cp == 0x7F) {
            if (!(cp == '\t' || (multiline && (cp == '\n' || cp == '\r')))) return -1;
        }
        int space = is_space_cp(cp);
        if (!started && space) { p += k; continue; }
        started = 1;
        if (o + (size_t)k >= outlen || o + (size_t)k > BANK_RESPONSE_MAX) return -1;
        memcpy(out + o, p, (size_t)k);
        o += (size_t)k;
        if (!space) keep = o;
        p += k;
    }
    out[keep] = 0;
    return (long)keep;
}

int bank_response_normalize(const bank_rinfo *ri, const char *in, char *out, size_t outlen)
{
    if (!ri || !in || !out || outlen < 2) return -1;
    int n_options = ri->n_options;
    char letters[27];
    switch (ri->type) {
    case BANK_SINGLE:
    case BANK_MULTI: {
        if (n_options < 1 || n_options > BANK_MAX_OPTIONS) return -1;
        if (ri->type == BANK_SINGLE) {
            /* exactly one letter, white space around it allowed */
            const unsigned char *p = (const unsigned char *)in;
            int count = 0;
            while (*p) {
                uint32_t cp;
                int k = utf8_next(p, &cp);
                if (!k) return -1;
                p += k;
                if (is_space_cp(cp)) continue;
                uint32_t l = option_letter(cp);
                if (++count > 1 || !l) return -1;
            }
        }
        int n = letters_sorted(in, letters);
        if (n < 0 || (size_t)n >= outlen) return -1;
        for (int i = 0; i < n; i++)
            if (letters[i] >= 'A' + n_options) return -1;
        memcpy(out, letters, (size_t)n + 1);   /* "" when the response was blank: clears */
        return 0;
    }
    case BANK_TF: {
        char tmp[64];
        long n = copy_text(in, strlen(in), tmp, sizeof tmp, 0);
        if (n < 0) return -1;
        if (!n) { out[0] = 0; return 0; }
        char v = tf_value(tmp);
        if (!v) return -1;
        out[0] = v;
        out[1] = 0;
        return 0;
    }
    case BANK_FILL: {
        if (ri->n_blanks < 1 || ri->n_blanks > BANK_MAX_BLANKS) return -1;
        size_t o = 0, nonempty_end = 0;
        int blank = 0;
        const char *p = in;
        for (;;) {
            const char *sep = strchr(p, BANK_BLANK_SEP);
            size_t len = sep ? (size_t)(sep - p) : strlen(p);
            if (++blank > ri->n_blanks) return -1;
            if (blank > 1) {
                if (o + 1 >= outlen) return -1;
                out[o++] = BANK_BLANK_SEP;
            }
            long n = copy_text(p, len, out + o, outlen - o, 0);
            if (n < 0 || o + (size_t)n > BANK_RESPONSE_MAX) return -1;
            o += (size_t)n;
            if (n) nonempty_end = o;
            if (!sep) break;
            p = sep + 1;
        }
        out[nonempty_end] = 0;      /* trailing empty blanks say nothing; all empty clears */
        return 0;
    }
    case BANK_SHORT:
    case BANK_ESSAY:
        return copy_text(in, strlen(in), out, outlen, 1) < 0 ? -1 : 0;
    default:
        return -1;
    }
}

/* ---- scoring ---- */

/* Text blanks compare case-, width- and space-insensitively. */
static char *fold(const char *s)
{
    char *n = malloc(strlen(s) + 1);
    if (!n) return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    while (*p) {
        uint32_t cp;
        int k = utf8_next(p, &cp);
        if (!k) { n[o++] = (char)*p++; continue; }
        if (is_space_cp(cp)) { p += k; continue; }
        if (cp >= 0xFF01 && cp <= 0xFF5E) cp -= 0xFEE0;
        if (cp < 0x80) {
            n[o++] = (char)(cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp);
        } else {
            memcpy(n + o, p, (size_t)k);
            o += (size_t)k;
        }
        p += k;
    }
    n[o] = 0;
    return n;
}

static int regex_full_match(const char *pattern, const char *s)
{
    int err;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &off, NULL);
    if (!re) return 0;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    int ok = 0;
    if (md && mc) {
        /* an author's pattern must not let one response burn a worker thread */
        pcre2_set_match_limit(mc, 100000);
        pcre2_set_depth_limit(mc, 5000);
        int rc = pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, PCRE2_ANCHORED | PCRE2_ENDANCHORED, md, mc);
        ok = rc >= 0;
    }
    pcre2_match_context_free(mc);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return ok;
}

static int blank_correct(const bank_blank *b, const char *resp)
{
    if (!*resp) return 0;
    switch (b->mode) {
    case BANK_BLANK_TEXT: {
        char *r = fold(resp);
        int ok = 0;
        for (int i = 0; r && i < b->n_accept && !ok; i++) {
            char *k = fold(b->accept[i]);
            ok = k && strcmp(k, r) == 0;
            free(k);
        }
        free(r);
        return ok;
    }
    case BANK_BLANK_EXACT:
        for (int i = 0; i < b->n_accept; i++)
            if (strcmp(b->accept[i], resp) == 0) return 1;
        return 0;
    case BANK_BLANK_NUMERIC: {
        double v;
        if (parse_double(resp, &v)) return 0;
        /* a tolerance of 0.01 accepts 3.15 for 3.14 although 3.15 - 3.14 > 0.01 in binary */
        double slack = 1e-9 * (fabs(b->value) > 1 ? fabs(b->value) : 1);
        return fabs(v - b->value) <= b->tolerance + slack;
    }
    case BANK_BLANK_REGEX:
        return b->n_accept > 0 && regex_full_match(b->accept[0], resp);
    }
    return 0;
}

static int score_fill(const char *key, const char *response, int points_centi)
{
    kc_arena *a = kc_arena_new(4096);
    if (!a) return 0;
    bank_blank *b;
    int n;
    char why[256];
    long got = 0;
    if (bank_fill_key_parse(key, a, &b, &n, why, sizeof why) == 0 && n > 0) {
        const char *p = response;
        int correct = 0;
        for (int i = 0; i < n && p; i++) {
            const char *sep = strchr(p, BANK_BLANK_SEP);
            char *r = kc_arena_strndup(a, p, sep ? (size_t)(sep - p) : strlen(p));
            char *t = r ? trim_dup(a, r, strlen(r)) : NULL;
            if (t && blank_correct(&b[i], t)) correct++;
            p = sep ? sep + 1 : NULL;
        }
        got = (long)points_centi * correct / n;
    }
    kc_arena_free(a);
    return (int)got;
}

static int score_multi(const char *key, enum bank_mc_policy policy, const char *response,
                       int points_centi)
{
    char k[27], r[27];
    int nk = letters_sorted(key, k), nr = letters_sorted(response, r);
    if (nk <= 0 || nr <= 0) return 0;
    if (strcmp(k, r) == 0) return points_centi;
    int right = 0;
    for (int i = 0; i < nr; i++) {
        if (!strchr(k, r[i])) return 0;    /* a wrong choice earns nothing under every policy */
        right++;
    }
    switch (policy) {
    case BANK_MC_HALF: return points_centi / 2;
    case BANK_MC_RATIO: return (int)((long)points_centi * right / nk);
    default: return 0;
    }
}

int bank_score(enum bank_item_type t, const char *answer_key, enum bank_mc_policy policy,
               const char *response, int points_centi)
{
    if (!bank_type_is_objective(t)) return t >= BANK_SINGLE && t <= BANK_TYPE_MAX ? -1 : 0;
    if (!answer_key || !response || points_centi <= 0) return 0;
    char r[8], k[8];
    switch (t) {
    case BANK_SINGLE: {
        bank_rinfo ri = {t, BANK_MAX_OPTIONS, 0};
        if (bank_response_normalize(&ri, response, r, sizeof r) || !r[0]) return 0;
        if (bank_response_normalize(&ri, answer_key, k, sizeof k) || !k[0]) return 0;
        return strcmp(r, k) == 0 ? points_centi : 0;
    }
    case BANK_MULTI:
        return score_multi(answer_key, policy, response, points_centi);
    case BANK_TF: {
        bank_rinfo ri = {t, 0, 0};
        if (bank_response_normalize(&ri, response, r, sizeof r) || !r[0]) return 0;
        if (bank_response_normalize(&ri, answer_key, k, sizeof k) || !k[0]) return 0;
        return strcmp(r, k) == 0 ? points_centi : 0;
    }
    case BANK_FILL:
        return score_fill(answer_key, response, points_centi);
    default:
        return 0;
    }
}

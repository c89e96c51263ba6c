/* Items: type names, validation, the content hash, duplicates, responses and scoring. */
#include "bank.h"

#include <openssl/evp.h>
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

/* Decodes one strict UTF-8 sequence (no overlongs, surrogates or > U+10FFFF).
 * Returns its length, or 0 when s does not start with a valid sequence. */
static int utf8_next(const unsigned char *s, uint32_t *cp)
{
    unsigned c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    if (c >= 0xC2 && c <= 0xDF) {
        if ((s[1] & 0xC0) != 0x80) return 0;
        *cp = ((c & 0x1Fu) << 6) | (s[1] & 0x3Fu);
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
        uint32_t v = ((c & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
        if (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF)) return 0;
        *cp = v;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) return 0;
        uint32_t v = ((c & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) |
                     (s[3] & 0x3Fu);
        if (v < 0x10000 || v > 0x10FFFF) return 0;
        *cp = v;
        return 4;
    }
    return 0;
}

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
static const char *fmt_centi(int c, char *buf, size_t len)
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

void bank_itemset_init(bank_itemset *s, bank_arena *a)
{
    memset(s, 0, sizeof *s);
    s->arena = a;
}

bank_item *bank_itemset_push(bank_itemset *s)
{
    if (!s || !s->arena) return NULL;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        bank_item *items = bank_arena_alloc(s->arena, cap * sizeof *items);
        if (!items) return NULL;
        if (s->n) memcpy(items, s->items, s->n * sizeof *items);
        s->items = items;
        s->cap = cap;
    }
    bank_item *it = &s->items[s->n++];
    memset(it, 0, sizeof *it);
    return it;
}

/* ---- validation ---- */

static int check_text(bank_diag *d, const bank_item *it, const char *field, const char *s,
                      long max_chars, long max_bytes)
{
    long chars = utf8_chars(s);
    if (chars < 0) {
        bank_diag_add(d, it->file, it->line, field, "is not valid UTF-8");
        return 1;
    }
    if (max_chars && chars > max_chars) {
        bank_diag_add(d, it->file, it->line, field, "is longer than %ld characters", max_chars);
        return 1;
    }
    if (max_bytes && (long)strlen(s) > max_bytes) {
        bank_diag_add(d, it->file, it->line, field, "is longer than %ld bytes", max_bytes);
        return 1;
    }
    return 0;
}

static int check_options(const bank_item *it, bank_diag *d)
{
    int bad = 0, n = it->n_options;
    char field[32], other[32];
    if (n < 0 || n > BANK_MAX_OPTIONS) {
        bank_diag_add(d, it->file, it->line, "选项", "has %d options; at most %d (A-H) are allowed",
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
            bank_diag_add(d, it->file, it->line, field,
                          "is empty but %s is filled; options must be contiguous", other);
        } else {
            bank_diag_add(d, it->file, it->line, field, "is empty");
        }
        return 1;
    }
    if (it->type == BANK_SINGLE && n < 2) {
        snprintf(field, sizeof field, "选项%c", 'A' + n);
        bank_diag_add(d, it->file, it->line, field,
                      "is empty; a single-choice item needs at least 2 options");
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
                bank_diag_add(d, it->file, it->line, field, "has the same text as %s", other);
                bad++;
                break;
            }
    }
    for (int i = 0; i < n; i++) free(norm[i]);
    return bad;
}

static int check_answer(const bank_item *it, bank_diag *d)
{
    const char *a = it->answer;
    if (is_blank(a)) {
        bank_diag_add(d, it->file, it->line, "答案", "is empty");
        return 1;
    }
    if (utf8_chars(a) < 0) {
        bank_diag_add(d, it->file, it->line, "答案", "is not valid UTF-8");
        return 1;
    }
    if (strlen(a) != 1 || a[0] < 'A' || a[0] >= 'A' + BANK_MAX_OPTIONS) {
        char buf[72];
        bank_diag_add(d, it->file, it->line, "答案", "%s is not one option letter A-H",
                      bank_text_clip(a, buf, sizeof buf));
        return 1;
    }
    int idx = a[0] - 'A';
    if (it->n_options >= 0 && idx >= it->n_options) {
        bank_diag_add(d, it->file, it->line, "答案", "%c but the item has only %d option%s", a[0],
                      it->n_options, it->n_options == 1 ? "" : "s");
        return 1;
    }
    return 0;
}

int bank_item_validate(const bank_item *it, bank_diag *d)
{
    int bad = 0;
    char buf[32];
    if (it->uid) {
        long chars = utf8_chars(it->uid);
        int ws = 0;
        for (const unsigned char *p = (const unsigned char *)it->uid; *p; p++)
            if (*p <= ' ' || *p == 0x7F) ws = 1;
        if (!*it->uid) {
            bank_diag_add(d, it->file, it->line, "试题编号", "is empty");
            bad++;
        } else if (chars < 0) {
            bank_diag_add(d, it->file, it->line, "试题编号", "is not valid UTF-8");
            bad++;
        } else if (chars > UID_MAX_CHARS) {
            bank_diag_add(d, it->file, it->line, "试题编号", "is longer than %d characters",
                          UID_MAX_CHARS);
            bad++;
        } else if (ws) {
            bank_diag_add(d, it->file, it->line, "试题编号", "contains spaces or control characters");
            bad++;
        }
    }
    if (it->type != BANK_SINGLE) {
        bank_diag_add(d, it->file, it->line, "题型", "unknown item type %d", (int)it->type);
        return bad + 1;
    }
    if (is_blank(it->stem)) {
        bank_diag_add(d, it->file, it->line, "题干", "is empty");
        bad++;
    } else {
        bad += check_text(d, it, "题干", it->stem, 0, TEXT_MAX_BYTES);
    }
    bad += check_options(it, d);
    bad += check_answer(it, d);
    if (it->points_centi <= 0) {
        bank_diag_add(d, it->file, it->line, "分值", "%s is not greater than 0",
                      fmt_centi(it->points_centi, buf, sizeof buf));
        bad++;
    } else if (it->points_centi > POINTS_MAX_CENTI) {
        bank_diag_add(d, it->file, it->line, "分值", "%s is more than 100",
                      fmt_centi(it->points_centi, buf, sizeof buf));
        bad++;
    }
    if (it->difficulty < 0 || it->difficulty > 5) {
        bank_diag_add(d, it->file, it->line, "难度", "%d is not an integer from 1 to 5",
                      it->difficulty);
        bad++;
    }
    if (it->point_code) bad += check_text(d, it, "鉴定点代码", it->point_code, CODE_MAX_CHARS, 0);
    if (it->explanation) bad += check_text(d, it, "解析", it->explanation, 0, TEXT_MAX_BYTES);
    if (it->source) bad += check_text(d, it, "出处", it->source, SOURCE_MAX_CHARS, 0);
    return bad;
}

/* ---- content hash ---- */

static int hash_text(EVP_MD_CTX *ctx, const char *s)
{
    char *n = norm_dup(s ? s : "");
    if (!n) return -1;
    /* the NUL terminator separates the parts, so ("ab","c") and ("a","bc") differ */
    int ok = EVP_DigestUpdate(ctx, n, strlen(n) + 1);
    free(n);
    return ok ? 0 : -1;
}

int bank_item_finalize(bank_item *it, bank_arena *a)
{
    if (it->n_options < 0 || it->n_options > BANK_MAX_OPTIONS) return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) return -1;
    int rc = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ? 0 : -1;
    if (!rc) rc = hash_text(ctx, bank_type_name(it->type));
    if (!rc) rc = hash_text(ctx, it->stem);
    for (int i = 0; i < it->n_options && !rc; i++) rc = hash_text(ctx, it->options[i]);
    unsigned int len = 0;
    if (!rc && (!EVP_DigestFinal_ex(ctx, it->content_hash, &len) || len != 32)) rc = -1;
    EVP_MD_CTX_free(ctx);
    if (rc) return rc;
    if (it->version <= 0) it->version = 1;
    if (!it->uid) {
        char hex[17];
        for (int i = 0; i < 8; i++) snprintf(hex + 2 * i, 3, "%02x", it->content_hash[i]);
        if (!(it->uid = bank_arena_printf(a, "h-%s", hex))) return -1;
    }
    return 0;
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

static void report_dup(bank_diag *d, const bank_item *it, const bank_item *first,
                       const char *field, const char *what)
{
    if (first->file && it->file && strcmp(first->file, it->file))
        bank_diag_add(d, it->file, it->line, field, "%s %s:%d", what, first->file, first->line);
    else
        bank_diag_add(d, it->file, it->line, field, "%s line %d", what, first->line);
}

int bank_itemset_check_duplicates(const bank_itemset *s, bank_diag *d)
{
    if (!s->n) return 0;
    size_t size = 16;
    while (size < s->n * 2) size *= 2;
    /* open addressing; slots hold index + 1, 0 is empty */
    size_t *by_hash = calloc(size, sizeof *by_hash), *by_uid = calloc(size, sizeof *by_uid);
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
        if (!dup && it->uid) {
            size_t k = (size_t)str_hash(it->uid) & (size - 1);
            for (; by_uid[k]; k = (k + 1) & (size - 1)) {
                const bank_item *o = &s->items[by_uid[k] - 1];
                if (strcmp(o->uid, it->uid) == 0) {
                    char what[128], buf[72];
                    snprintf(what, sizeof what, "%s is also used on", bank_text_clip(it->uid, buf, sizeof buf));
                    report_dup(d, it, o, "试题编号", what);
                    dup = 1;
                    break;
                }
            }
            if (!dup) by_uid[k] = i + 1;
        }
        reported += dup;
    }
    free(by_hash);
    free(by_uid);
    return reported;
}

/* ---- responses and scoring ---- */

int bank_response_normalize(const bank_rinfo *ri, const char *in, char *out, size_t outlen)
{
    if (!ri || !in || !out || outlen < 2) return -1;
    int n_options = ri->n_options;
    if (ri->type != BANK_SINGLE || n_options < 1 || n_options > BANK_MAX_OPTIONS) return -1;
    const unsigned char *p = (const unsigned char *)in;
    uint32_t letter = 0;
    int count = 0;
    while (*p) {
        uint32_t cp;
        int k = utf8_next(p, &cp);
        if (!k) return -1;
        p += k;
        if (is_space_cp(cp)) continue;
        if (++count > 1) return -1;
        if (cp >= 0xFF21 && cp <= 0xFF3A) cp -= 0xFEE0;        /* Ａ..Ｚ */
        else if (cp >= 0xFF41 && cp <= 0xFF5A) cp -= 0xFEE0;   /* ａ..ｚ */
        if (cp >= 'a' && cp <= 'z') cp -= 'a' - 'A';
        if (cp < 'A' || cp >= 'A' + (uint32_t)n_options) return -1;
        letter = cp;
    }
    out[0] = (char)letter;  /* 0 when the response was blank: "" clears */
    out[1] = 0;
    return 0;
}

int bank_score(enum bank_item_type t, const char *answer_key, enum bank_mc_policy policy,
               const char *response, int points_centi)
{
    (void)policy;
    if (t != BANK_SINGLE || !answer_key || !response || points_centi <= 0) return 0;
    char r[8], k[8];
    bank_rinfo ri = {t, BANK_MAX_OPTIONS, 0};
    if (bank_response_normalize(&ri, response, r, sizeof r) || !r[0]) return 0;
    if (bank_response_normalize(&ri, answer_key, k, sizeof k) || !k[0]) return 0;
    return strcmp(r, k) == 0 ? points_centi : 0;
}

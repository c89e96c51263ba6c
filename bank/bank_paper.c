/* bank: paper templates (组卷方案) as JSON, random numbers, pools, and the stored form of a
 * paper. Planning and generation are in bank_plan.c. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bank_int.h"

/* ---- random numbers ---- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void bank_rng_seed(bank_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t bank_rng_next(bank_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* Lemire's multiply-and-reject: unbiased without a division in the common case. */
uint32_t bank_rng_below(bank_rng *r, uint32_t n)
{
    if (n <= 1) return 0;
    uint64_t m = (bank_rng_next(r) >> 32) * (uint64_t)n;
    uint32_t lo = (uint32_t)m;
    if (lo < n) {
        uint32_t th = (uint32_t)(-n) % n;
        while (lo < th) {
            m = (bank_rng_next(r) >> 32) * (uint64_t)n;
            lo = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

void bank_rng_shuffle_u32(bank_rng *r, uint32_t *v, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        uint32_t j = bank_rng_below(r, (uint32_t)i), t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

uint64_t bank_seed_derive(uint64_t seed, uint64_t n)
{
    uint64_t x = seed ^ (n * 0xd1b54a32d192ed03ULL);
    splitmix64(&x);
    return splitmix64(&x);
}

/* ---- pools and exposure ---- */

void bank_pool_init(bank_pool *p, kc_arena *a)
{
    memset(p, 0, sizeof *p);
    p->arena = a;
}

bank_pool_item *bank_pool_push(bank_pool *p)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        bank_pool_item *n = kc_arena_alloc(p->arena, cap * sizeof *n);
        if (!n) return NULL;
        if (p->n) memcpy(n, p->items, p->n * sizeof *n);
        p->items = n;
        p->cap = cap;
    }
    p->by_id = NULL;
    bank_pool_item *it = &p->items[p->n++];
    memset(it, 0, sizeof *it);
    return it;
}

uint32_t bank_exposure_limit(int cap_pct, int papers)
{
    if (cap_pct >= 100) return 0;
    if (papers < 0) papers = 0;
    int64_t l = (int64_t)cap_pct * papers / 100;
    return l < 1 ? 1 : (uint32_t)l;
}

const char *bank_tpl_mode_name(enum bank_tpl_mode m)
{
    switch (m) {
    case BANK_TPL_BLUEPRINT: return "blueprint";
    case BANK_TPL_TYPE: return "type";
    case BANK_TPL_FIXED: return "fixed";
    }
    return NULL;
}

static int mode_parse(const char *s, enum bank_tpl_mode *m)
{
    static const struct { const char *name; enum bank_tpl_mode m; } names[] = {
        {"blueprint", BANK_TPL_BLUEPRINT}, {"按鉴定点组卷", BANK_TPL_BLUEPRINT},
        {"type", BANK_TPL_TYPE},           {"按题型组卷", BANK_TPL_TYPE},
        {"fixed", BANK_TPL_FIXED},         {"固定卷", BANK_TPL_FIXED},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(s, names[i].name)) {
            *m = names[i].m;
            return 0;
        }
    return -1;
}

/* ---- template parsing ---- */

/* Where things start in the text, for messages: jansson keeps no positions of values. */
#define TPL_MAX_LINES 1000
#define TPL_MAX_KEYS 32
typedef struct tpl_lines {
    int sections;               /* line of the "sections" key */
    int n_keys;                 /* top-level keys and their lines */
    const char *key[TPL_MAX_KEYS];
    size_t key_len[TPL_MAX_KEYS];
    int key_line[TPL_MAX_KEYS];
    int n;                      /* sections seen */
    int sec[TPL_MAX_LINES];     /* line of each section object */
} tpl_lines;

static void find_lines(const char *s, size_t len, tpl_lines *L)
{
    memset(L, 0, sizeof *L);
    int depth = 0, line = 1, in_sections = 0, sec_depth = 0;
    size_t key_start = 0, key_len = 0;
    int key_line = 0, have_key = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '\n') line++;
        else if (c == '"') {
            size_t b = ++i;
            while (i < len && s[i] != '"') {
                if (s[i] == '\\') i++;
                else if (s[i] == '\n') line++;
                i++;
            }
            key_start = b;
            key_len = i < len ? i - b : 0;
            key_line = line;
            have_key = 1;
            continue;
        } else if (c == ':') {
            if (have_key && depth == 1 && L->n_keys < TPL_MAX_KEYS) {
                L->key[L->n_keys] = s + key_start;
                L->key_len[L->n_keys] = key_len;
                L->key_line[L->n_keys++] = key_line;
            }
            if (have_key && depth == 1 && key_len == 8 && !memcmp(s + key_start, "sections", 8)) {
                L->sections = key_line;
                in_sections = 1;
            }
        } else if (c == '[' || c == '{') {
            if (in_sections == 1 && c == '[' && depth == 1) {
                in_sections = 2;
                sec_depth = depth + 1;
            } else if (in_sections == 2 && c == '{' && depth == sec_depth && L->n < TPL_MAX_LINES)
                L->sec[L->n++] = line;
            depth++;
        } else if (c == ']' || c == '}') {
            depth--;
            if (in_sections == 2 && depth < sec_depth) in_sections = 3;
        }
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') have_key = 0;
    }
}

/* The line of a top-level key (1 when not found). */
static int key_line(const tpl_lines *L, const char *key)
{
    size_t n = strlen(key);
    for (int i = 0; i < L->n_keys; i++)
        if (L->key_len[i] == n && !memcmp(L->key[i], key, n)) return L->key_line[i];
    return 1;
}

typedef struct tpl_ctx {
    const char *file;
    kc_diag *d;
    kc_arena *a;
    int problems, oom;
    const tpl_lines *L;         /* top-level keys name their own line */
} tpl_ctx;

__attribute__((format(printf, 4, 5)))
static void tpl_err(tpl_ctx *c, int line, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (kc_diag_vadd(c->d, c->file, line > 0 ? line : 1, field, fmt, ap)) c->oom = 1;
    va_end(ap);
    c->problems++;
}

/* A JSON number or string as hundredths (up to 2 decimals). 0, or -1 with *why. */
static int json_centi(json_t *v, int *out, const char **why)
{
    if (json_is_string(v)) {
        int rc = bank_centi_parse(json_string_value(v), NULL, out);
        *why = rc == -2 ? "has more than 2 decimal places" : rc == -3 ? "is too large" : "is not a number";
        return rc ? -1 : 0;
    }
    if (!json_is_number(v)) {
        *why = "is not a number";
        return -1;
    }
    /* no libm: the program does not link it */
    double x = json_number_value(v) * 100.0, ax = x < 0 ? -x : x;
    if (ax > 100000000.0) {
        *why = "is too large";
        return -1;
    }
    double r = (double)(x < 0 ? -(long long)(ax + 0.5) : (long long)(ax + 0.5)), dr = x - r;
    if ((dr < 0 ? -dr : dr) > 1e-6 * (ax > 1 ? ax : 1)) {
        *why = "has more than 2 decimal places";
        return -1;
    }
    *out = (int)r;
    return 0;
}

static const char *fmt_centi(char *buf, size_t n, int c)
{
    snprintf(buf, n, "%s%d.%02d", c < 0 ? "-" : "", abs(c) / 100, abs(c) % 100);
    return buf;
}

/* Unknown keys of object o are errors; allowed is NULL-terminated. */
static void check_keys(tpl_ctx *c, json_t *o, const char *const *allowed, int line,
                       const char *prefix, const char *what)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        int ok = 0;
        for (const char *const *p = allowed; *p; p++)
            if (!strcmp(*p, k)) ok = 1;
        if (!ok) {
            char field[128];
            snprintf(field, sizeof field, "%s%s", prefix, k);
            tpl_err(c, *prefix ? line : key_line(c->L, k), field, "is not a field of %s", what);
        }
    }
}

static const char *str_field(tpl_ctx *c, json_t *o, const char *key, int line, const char *field,
                             int required)
{
    json_t *v = json_object_get(o, key);
    if (!v) {
        if (required) tpl_err(c, line, field, "is missing");
        return NULL;
    }
    if (!json_is_string(v) || !*json_string_value(v)) {
        tpl_err(c, line, field, "must be a non-empty string");
        return NULL;
    }
    const char *s = kc_arena_strdup(c->a, json_string_value(v));
    if (!s) c->oom = 1;
    return s;
}

static int bool_field(tpl_ctx *c, json_t *o, const char *key, int line, int dflt)
{
    json_t *v = json_object_get(o, key);
    if (!v) return dflt;
    if (!json_is_boolean(v)) {
        tpl_err(c, line, key, "must be true or false");
        return dflt;
    }
    return json_is_true(v);
}

/* An array of non-empty strings, at most max. */
static int str_array(tpl_ctx *c, json_t *v, int line, const char *field, int max, const char ***out)
{
    if (!json_is_array(v) || !json_array_size(v)) {
        tpl_err(c, line, field, "must be a non-empty list of strings");
        return 0;
    }
    size_t n = json_array_size(v);
    if ((int)n > max) {
        tpl_err(c, line, field, "has %zu entries, at most %d are allowed", n, max);
        return 0;
    }
    const char **s = kc_arena_alloc(c->a, n * sizeof *s);
    if (!s) {
        c->oom = 1;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(v, i);
        if (!json_is_string(e) || !*json_string_value(e)) {
            tpl_err(c, line, field, "entry %zu must be a non-empty string", i + 1);
            return 0;
        }
        if (!(s[i] = kc_arena_strdup(c->a, json_string_value(e)))) c->oom = 1;
    }
    *out = s;
    return (int)n;
}

static void parse_section(tpl_ctx *c, bank_tpl *t, json_t *o, int i, int line, bank_tpl_section *s)
{
    char f[96], pre[48];
    snprintf(pre, sizeof pre, "sections[%d].", i);
    s->line = line;
    if (!json_is_object(o)) {
        snprintf(f, sizeof f, "sections[%d]", i);
        tpl_err(c, line, f, "must be an object");
        return;
    }
    static const char *const keys[] = {"title", "type", "count", "points", "difficulty",
                                       "scope", "tags", "items", NULL};
    check_keys(c, o, keys, line, pre, "a template section");
#define F(name) (snprintf(f, sizeof f, "%s%s", pre, name), f)
    s->title = str_field(c, o, "title", line, F("title"), 1);
    const char *type = str_field(c, o, "type", line, F("type"), 1);
    if (type && bank_type_parse(type, &s->type) && bank_type_parse_label(type, &s->type)) {
        tpl_err(c, line, F("type"), "%s is not an item type", type);
        s->type = 0;
    }
    if (s->type == BANK_PRACTICAL && t->part != BANK_PART_SKILLS)
        tpl_err(c, line, F("type"), "practical tasks belong to the skills part");
    json_t *v = json_object_get(o, "count");
    if (t->mode == BANK_TPL_FIXED) {
        if (v) tpl_err(c, line, F("count"), "a fixed section lists its items instead");
    } else if (!v) {
        tpl_err(c, line, F("count"), "is missing");
    } else if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1000) {
        tpl_err(c, line, F("count"), "must be a whole number from 1 to 1000");
    } else {
        s->count = (int)json_integer_value(v);
    }
    const char *why;
    v = json_object_get(o, "points");
    if (v) {
        if (json_centi(v, &s->points_centi, &why)) tpl_err(c, line, F("points"), "%s", why);
        else if (s->points_centi <= 0) {
            tpl_err(c, line, F("points"), "must be more than 0");
            s->points_centi = 0;
        }
    } else if (t->mode != BANK_TPL_FIXED) {
        tpl_err(c, line, F("points"), "is missing");
    }
    v = json_object_get(o, "difficulty");
    if (v) {
        json_t *lo = json_array_get(v, 0), *hi = json_array_get(v, 1);
        if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_integer(lo) ||
            !json_is_integer(hi) || json_integer_value(lo) < 1 || json_integer_value(hi) > 5 ||
            json_integer_value(lo) > json_integer_value(hi))
            tpl_err(c, line, F("difficulty"), "must be [MIN, MAX] with 1 <= MIN <= MAX <= 5");
        else {
            s->dmin = (int)json_integer_value(lo);
            s->dmax = (int)json_integer_value(hi);
        }
    }
    if ((v = json_object_get(o, "scope"))) s->n_scope = str_array(c, v, line, F("scope"), 1000, &s->scope);
    if ((v = json_object_get(o, "tags")))
        s->n_tags = str_array(c, v, line, F("tags"), BANK_MAX_TAGS, &s->tags);
    v = json_object_get(o, "items");
    if (t->mode != BANK_TPL_FIXED) {
        if (v) tpl_err(c, line, F("items"), "only a fixed paper lists its items");
        return;
    }
    if (!v) {
        tpl_err(c, line, F("items"), "is missing (a fixed section lists its items)");
        return;
    }
    size_t n = json_array_size(v);
    if (!json_is_array(v) || n < 1 || n > 1000) {
        tpl_err(c, line, F("items"), "must be a list of 1 to 1000 item uids");
        return;
    }
    const char **uids = kc_arena_alloc(c->a, n * sizeof *uids);
    int *pts = kc_arena_alloc(c->a, n * sizeof *pts);
    if (!uids || !pts) {
        c->oom = 1;
        return;
    }
    int any_pts = 0, bad = 0;
    for (size_t k = 0; k < n; k++) {
        json_t *e = json_array_get(v, k), *u = e;
        char fk[96];
        snprintf(fk, sizeof fk, "%sitems[%zu]", pre, k);
        if (json_is_object(e)) {
            static const char *const ikeys[] = {"uid", "points", NULL};
            char ipre[112];
            snprintf(ipre, sizeof ipre, "%s.", fk);
            check_keys(c, e, ikeys, line, ipre, "a fixed item");
            u = json_object_get(e, "uid");
            json_t *p = json_object_get(e, "points");
            if (p) {
                if (json_centi(p, &pts[k], &why)) {
                    tpl_err(c, line, fk, "points %s", why);
                    bad = 1;
                } else if (pts[k] <= 0) {
                    tpl_err(c, line, fk, "points must be more than 0");
                    pts[k] = 0;
                    bad = 1;
                } else any_pts = 1;
            }
        }
        if (!json_is_string(u) || !*json_string_value(u)) {
            tpl_err(c, line, fk, "must be an item uid or {\"uid\": UID, \"points\": POINTS}");
            bad = 1;
            continue;
        }
        if (!(uids[k] = kc_arena_strdup(c->a, json_string_value(u)))) c->oom = 1;
    }
    if (bad) return;
    s->n_fixed = s->count = (int)n;
    s->fixed = uids;
    s->fixed_points = any_pts ? pts : NULL;
#undef F
}

int bank_tpl_parse(const char *json, size_t len, const char *file, kc_arena *a, bank_tpl *t,
                   kc_diag *d)
{
    memset(t, 0, sizeof *t);
    t->file = file;
    t->part = BANK_PART_THEORY;
    t->diff_tol_centi = 30;
    t->x_min_pct = 80;
    t->y_max_pct = 15;
    t->z_max_pct = 5;
    t->exposure_cap_pct = 100;
    t->shuffle_items = t->shuffle_options = 1;
    tpl_ctx c = {file, d, a, 0, 0, NULL};
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        tpl_err(&c, je.line, "JSON", "%s", je.text);
        return c.oom ? KC_ENOMEM : c.problems;
    }
    tpl_lines *L = malloc(sizeof *L);
    if (!L) {
        json_decref(root);
        return KC_ENOMEM;
    }
    find_lines(json, len, L);
    c.L = L;
    if (!json_is_object(root)) {
        tpl_err(&c, 1, "JSON", "a template is an object {...}");
        goto out;
    }
    static const char *const keys[] = {"code", "title", "occupation", "level", "part", "mode",
                                       "total", "difficulty", "importance", "exposure_cap",
                                       "shuffle_items", "shuffle_options", "sections", NULL};
    check_keys(&c, root, keys, 1, "", "a template");
    t->code = str_field(&c, root, "code", key_line(L, "code"), "code", 1);
    t->title = str_field(&c, root, "title", key_line(L, "title"), "title", 1);
    t->occupation = str_field(&c, root, "occupation", key_line(L, "occupation"), "occupation", 0);
    if (t->occupation && !bank_occupation_code_valid(t->occupation)) {
        tpl_err(&c, key_line(L, "occupation"), "occupation", "%s is not an occupation code N-NN-NN-NN", t->occupation);
        t->occupation = NULL;
    }
    json_t *v = json_object_get(root, "level");
    if (v) {
        int lv = json_is_integer(v) ? (int)json_integer_value(v)
                 : json_is_string(v) ? bank_level_parse(json_string_value(v)) : -1;
        if (lv < 1 || lv > 5) tpl_err(&c, key_line(L, "level"), "level", "must be a level 1..5 (五级..一级)");
        else t->level = lv;
    }
    const char *part = str_field(&c, root, "part", key_line(L, "part"), "part", 0);
    if (part && bank_part_parse(part, &t->part)) {
        tpl_err(&c, key_line(L, "part"), "part", "%s is neither theory nor skills", part);
        t->part = BANK_PART_THEORY;
    }
    const char *mode = str_field(&c, root, "mode", key_line(L, "mode"), "mode", 1);
    if (mode && mode_parse(mode, &t->mode))
        tpl_err(&c, key_line(L, "mode"), "mode", "%s is none of blueprint, type, fixed", mode);
    if (t->mode == BANK_TPL_FIXED) t->shuffle_items = 0;
    if (t->mode == BANK_TPL_BLUEPRINT && (!t->occupation || !t->level))
        tpl_err(&c, key_line(L, "mode"), "mode", "a blueprint paper needs occupation and level");
    const char *why;
    v = json_object_get(root, "total");
    if (!v) tpl_err(&c, key_line(L, "total"), "total", "is missing");
    else if (json_centi(v, &t->total_centi, &why)) tpl_err(&c, key_line(L, "total"), "total", "%s", why);
    else if (t->total_centi <= 0) tpl_err(&c, key_line(L, "total"), "total", "must be more than 0");
    v = json_object_get(root, "difficulty");
    if (v) {
        static const char *const dkeys[] = {"target", "tolerance", NULL};
        if (!json_is_object(v)) tpl_err(&c, key_line(L, "difficulty"), "difficulty", "must be {\"target\": T, \"tolerance\": D}");
        else {
            check_keys(&c, v, dkeys, key_line(L, "difficulty"), "difficulty.", "difficulty");
            json_t *tg = json_object_get(v, "target"), *tl = json_object_get(v, "tolerance");
            if (!tg) tpl_err(&c, key_line(L, "difficulty"), "difficulty.target", "is missing");
            else if (json_centi(tg, &t->diff_target_centi, &why))
                tpl_err(&c, key_line(L, "difficulty"), "difficulty.target", "%s", why);
            else if (t->diff_target_centi < 100 || t->diff_target_centi > 500) {
                tpl_err(&c, key_line(L, "difficulty"), "difficulty.target", "must be from 1 to 5");
                t->diff_target_centi = 0;
            }
            if (tl) {
                if (json_centi(tl, &t->diff_tol_centi, &why))
                    tpl_err(&c, key_line(L, "difficulty"), "difficulty.tolerance", "%s", why);
                else if (t->diff_tol_centi < 0 || t->diff_tol_centi > 400)
                    tpl_err(&c, key_line(L, "difficulty"), "difficulty.tolerance", "must be from 0 to 4");
            }
        }
    }
    v = json_object_get(root, "importance");
    if (v) {
        static const char *const ikeys[] = {"X", "Y", "Z", NULL};
        if (t->mode != BANK_TPL_BLUEPRINT)
            tpl_err(&c, key_line(L, "importance"), "importance", "only a blueprint paper has an X/Y/Z mix");
        else if (!json_is_object(v))
            tpl_err(&c, key_line(L, "importance"), "importance", "must be {\"X\": MIN %%, \"Y\": MAX %%, \"Z\": MAX %%}");
        else {
            check_keys(&c, v, ikeys, key_line(L, "importance"), "importance.", "importance");
            int *dst[3] = {&t->x_min_pct, &t->y_max_pct, &t->z_max_pct};
            for (int k = 0; k < 3; k++) {
                json_t *e = json_object_get(v, ikeys[k]);
                if (!e) continue;
                char f[32];
                snprintf(f, sizeof f, "importance.%s", ikeys[k]);
                if (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) > 100)
                    tpl_err(&c, key_line(L, "importance"), f, "must be a whole percentage 0..100");
                else *dst[k] = (int)json_integer_value(e);
            }
        }
    }
    v = json_object_get(root, "exposure_cap");
    if (v) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 100)
            tpl_err(&c, key_line(L, "exposure_cap"), "exposure_cap", "must be a whole percentage 1..100");
        else t->exposure_cap_pct = (int)json_integer_value(v);
    }
    t->shuffle_items = bool_field(&c, root, "shuffle_items", key_line(L, "shuffle_items"), t->shuffle_items);
    t->shuffle_options = bool_field(&c, root, "shuffle_options", key_line(L, "shuffle_options"), t->shuffle_options);
    v = json_object_get(root, "sections");
    int sl = L->sections ? L->sections : 1;
    if (!v) tpl_err(&c, 1, "sections", "is missing");
    else if (!json_is_array(v) || !json_array_size(v) || json_array_size(v) > 100)
        tpl_err(&c, sl, "sections", "must be a list of 1 to 100 sections");
    else if (t->mode) {
        t->n_sections = (int)json_array_size(v);
        t->sections = kc_arena_alloc(a, (size_t)t->n_sections * sizeof *t->sections);
        if (!t->sections) {
            c.oom = 1;
            goto out;
        }
        int before = c.problems, all_points = 1;
        int64_t sum = 0;
        for (int i = 0; i < t->n_sections; i++) {
            bank_tpl_section *s = &t->sections[i];
            parse_section(&c, t, json_array_get(v, (size_t)i), i, i < L->n ? L->sec[i] : sl, s);
            for (int k = 0; k < s->count; k++) {
                int p = s->fixed_points && s->fixed_points[k] ? s->fixed_points[k] : s->points_centi;
                if (!p) all_points = 0;
                sum += p;
            }
        }
        /* fixed items that take their own points are added up by bank_plan_make */
        if (c.problems == before && all_points && sum != t->total_centi && t->total_centi > 0) {
            char b1[32], b2[32];
            tpl_err(&c, sl, "sections", "add up to %s points, total is %s",
                    fmt_centi(b1, sizeof b1, (int)(sum > 100000000 ? 100000000 : sum)),
                    fmt_centi(b2, sizeof b2, t->total_centi));
        }
    }
out:
    free(L);
    json_decref(root);
    return c.oom ? KC_ENOMEM : c.problems;
}

/* ---- canonical JSON ---- */

static json_t *centi_json(int c)
{
    return c % 100 == 0 ? json_integer(c / 100) : json_real(c / 100.0);
}

static json_t *str_list(int n, const char **s)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(a, json_string(s[i]));
    return a;
}

char *bank_tpl_format(const bank_tpl *t, kc_arena *a)
{
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "code", json_string(t->code ? t->code : ""));
    json_object_set_new(o, "title", json_string(t->title ? t->title : ""));
    if (t->occupation) json_object_set_new(o, "occupation", json_string(t->occupation));
    if (t->level) json_object_set_new(o, "level", json_integer(t->level));
    json_object_set_new(o, "part", json_string(bank_part_name(t->part) ? bank_part_name(t->part) : "theory"));
    json_object_set_new(o, "mode", json_string(bank_tpl_mode_name(t->mode) ? bank_tpl_mode_name(t->mode) : ""));
    json_object_set_new(o, "total", centi_json(t->total_centi));
    if (t->diff_target_centi) {
        json_t *d = json_object();
        json_object_set_new(d, "target", centi_json(t->diff_target_centi));
        json_object_set_new(d, "tolerance", centi_json(t->diff_tol_centi));
        json_object_set_new(o, "difficulty", d);
    }
    if (t->mode == BANK_TPL_BLUEPRINT) {
        json_t *d = json_object();
        json_object_set_new(d, "X", json_integer(t->x_min_pct));
        json_object_set_new(d, "Y", json_integer(t->y_max_pct));
        json_object_set_new(d, "Z", json_integer(t->z_max_pct));
        json_object_set_new(o, "importance", d);
    }
    json_object_set_new(o, "exposure_cap", json_integer(t->exposure_cap_pct));
    json_object_set_new(o, "shuffle_items", json_boolean(t->shuffle_items));
    json_object_set_new(o, "shuffle_options", json_boolean(t->shuffle_options));
    json_t *secs = json_array();
    for (int i = 0; i < t->n_sections; i++) {
        const bank_tpl_section *s = &t->sections[i];
        json_t *j = json_object();
        json_object_set_new(j, "title", json_string(s->title ? s->title : ""));
        json_object_set_new(j, "type", json_string(bank_type_name(s->type) ? bank_type_name(s->type) : ""));
        if (t->mode != BANK_TPL_FIXED) json_object_set_new(j, "count", json_integer(s->count));
        if (s->points_centi) json_object_set_new(j, "points", centi_json(s->points_centi));
        if (s->dmin) {
            json_t *d = json_array();
            json_array_append_new(d, json_integer(s->dmin));
            json_array_append_new(d, json_integer(s->dmax));
            json_object_set_new(j, "difficulty", d);
        }
        if (s->n_scope) json_object_set_new(j, "scope", str_list(s->n_scope, s->scope));
        if (s->n_tags) json_object_set_new(j, "tags", str_list(s->n_tags, s->tags));
        if (t->mode == BANK_TPL_FIXED) {
            json_t *it = json_array();
            for (int k = 0; k < s->n_fixed; k++) {
                if (s->fixed_points && s->fixed_points[k]) {
                    json_t *e = json_object();
                    json_object_set_new(e, "uid", json_string(s->fixed[k]));
                    json_object_set_new(e, "points", centi_json(s->fixed_points[k]));
                    json_array_append_new(it, e);
                } else {
                    json_array_append_new(it, json_string(s->fixed[k]));
                }
            }
            json_object_set_new(j, "items", it);
        }
        json_array_append_new(secs, j);
    }
    json_object_set_new(o, "sections", secs);
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    json_decref(o);
    if (!s) return NULL;
    char *r = kc_arena_printf(a, "%s\n", s);
    free(s);
    return r;
}

/* ---- stored papers ---- */

static void buf_printf(kc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(kc_buf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) kc_buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

char *bank_paper_to_json(const bank_paper *p, kc_arena *a)
{
    kc_buf b = {0};
    kc_buf_str(&b, "[");
    for (int i = 0; i < p->n; i++) {
        const bank_paper_item *it = &p->items[i];
        buf_printf(&b, "%s{\"i\":%llu,\"p\":%d,\"s\":%d", i ? "," : "",
                   (unsigned long long)it->id, it->points_centi, it->section);
        if (it->perm[0]) buf_printf(&b, ",\"o\":\"%s\"", it->perm);
        if (it->n_children) {
            kc_buf_str(&b, ",\"c\":[");
            for (int k = 0; k < it->n_children; k++)
                buf_printf(&b, "%s[%llu,\"%s\"]", k ? "," : "",
                           (unsigned long long)it->children[k].id, it->children[k].perm);
            kc_buf_str(&b, "]");
        }
        kc_buf_str(&b, "}");
    }
    kc_buf_str(&b, "]");
    return kc_buf_to_arena(&b, a);
}

static int perm_ok(const char *s)
{
    size_t n = strlen(s);
    if (n > BANK_MAX_OPTIONS) return 0;
    unsigned seen = 0;
    for (size_t k = 0; k < n; k++) {
        int x = s[k] - 'A';
        if (x < 0 || x >= (int)n || (seen & (1u << x))) return 0;
        seen |= 1u << x;
    }
    return 1;
}

static int cmp_by_id(const void *x, const void *y, void *pool)
{
    const bank_pool_item *it = ((const bank_pool *)pool)->items;
    uint64_t a = it[*(const uint32_t *)x].id, b = it[*(const uint32_t *)y].id;
    return a < b ? -1 : a > b;
}

/* The pool's indices sorted by item id, built on first use (so not thread-safe then). */
static const uint32_t *pool_by_id(const bank_pool *pool)
{
    if (pool->by_id || !pool->n) return pool->by_id;
    uint32_t *ix = kc_arena_alloc(pool->arena, pool->n * sizeof *ix);
    if (!ix) return NULL;
    for (size_t i = 0; i < pool->n; i++) ix[i] = (uint32_t)i;
    qsort_r(ix, pool->n, sizeof *ix, cmp_by_id, (void *)pool);
    ((bank_pool *)pool)->by_id = ix;
    return ix;
}

static int64_t pool_find_id(const bank_pool *pool, const uint32_t *ix, uint64_t id)
{
    size_t lo = 0, hi = pool->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        uint64_t m = pool->items[ix[mid]].id;
        if (m == id) return ix[mid];
        if (m < id) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

#define WHY(...) (snprintf(why, whylen, __VA_ARGS__), KC_EINVAL)
#define WHY_OOM() (snprintf(why, whylen, "out of memory"), KC_ENOMEM)

int bank_paper_from_json(const char *json, const bank_pool *pool, kc_arena *a,
                         bank_paper *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *root = json_loads(json ? json : "", 0, &je);
    if (!root) return WHY("paper items: line %d: %s", je.line, je.text);
    int rc = 0;
    const uint32_t *ix = NULL;
    if (!json_is_array(root)) {
        rc = WHY("paper items: not a list");
        goto out;
    }
    if (pool && pool->n && !(ix = pool_by_id(pool))) {
        rc = WHY_OOM();
        goto out;
    }
    out->n = (int)json_array_size(root);
    out->items = kc_arena_alloc(a, (size_t)(out->n ? out->n : 1) * sizeof *out->items);
    if (!out->items) {
        rc = WHY_OOM();
        goto out;
    }
    for (int i = 0; i < out->n; i++) {
        json_t *e = json_array_get(root, (size_t)i);
        bank_paper_item *it = &out->items[i];
        json_t *ji = json_object_get(e, "i"), *jp = json_object_get(e, "p"),
               *js = json_object_get(e, "s"), *jo = json_object_get(e, "o"),
               *jc = json_object_get(e, "c");
        if (!json_is_integer(ji) || json_integer_value(ji) <= 0 || !json_is_integer(jp) ||
            json_integer_value(jp) <= 0 || json_integer_value(jp) > 100000000 ||
            !json_is_integer(js) || json_integer_value(js) < 0 ||
            json_integer_value(js) > 1000 || (jo && !json_is_string(jo)) || (jc && !json_is_array(jc))) {
            rc = WHY("paper items: item %d: needs \"i\", \"p\" and \"s\"", i + 1);
            goto out;
        }
        it->id = (uint64_t)json_integer_value(ji);
        it->points_centi = (int)json_integer_value(jp);
        it->section = (int)json_integer_value(js);
        out->total_centi += it->points_centi;
        if (jo) {
            if (!perm_ok(json_string_value(jo))) {
                rc = WHY("paper items: item %d: %s is no option order", i + 1, json_string_value(jo));
                goto out;
            }
            strcpy(it->perm, json_string_value(jo));
        }
        if (ix) {
            int64_t k = pool_find_id(pool, ix, it->id);
            if (k < 0) {
                rc = WHY("paper items: item %d: id %llu is not in the pool", i + 1,
                         (unsigned long long)it->id);
                goto out;
            }
            it->pool = (uint32_t)k;
        }
        if (jc) {
            it->n_children = (int)json_array_size(jc);
            if (it->n_children > BANK_MAX_CHILDREN) {
                rc = WHY("paper items: item %d: too many sub-items", i + 1);
                goto out;
            }
            it->children = kc_arena_alloc(a, (size_t)(it->n_children ? it->n_children : 1) *
                                                    sizeof *it->children);
            if (!it->children) {
                rc = WHY_OOM();
                goto out;
            }
            for (int k = 0; k < it->n_children; k++) {
                json_t *ce = json_array_get(jc, (size_t)k), *cid = json_array_get(ce, 0),
                       *cp = json_array_get(ce, 1);
                if (!json_is_array(ce) || json_array_size(ce) != 2 || !json_is_integer(cid) ||
                    json_integer_value(cid) <= 0 || !json_is_string(cp) || !perm_ok(json_string_value(cp))) {
                    rc = WHY("paper items: item %d: sub-item %d must be [ID, \"ORDER\"]", i + 1, k + 1);
                    goto out;
                }
                it->children[k].id = (uint64_t)json_integer_value(cid);
                strcpy(it->children[k].perm, json_string_value(cp));
            }
        }
    }
out:
    json_decref(root);
    if (rc) memset(out, 0, sizeof *out);
    return rc;
}

int bank_paper_same(const bank_paper *a, const bank_paper *b)
{
    if (a->n != b->n || a->total_centi != b->total_centi) return 0;
    for (int i = 0; i < a->n; i++) {
        const bank_paper_item *x = &a->items[i], *y = &b->items[i];
        if (x->id != y->id || x->section != y->section || x->points_centi != y->points_centi ||
            strcmp(x->perm, y->perm) || x->n_children != y->n_children)
            return 0;
        for (int k = 0; k < x->n_children; k++)
            if (x->children[k].id != y->children[k].id || strcmp(x->children[k].perm, y->children[k].perm))
                return 0;
    }
    return 1;
}

static int cmp_char(const void *x, const void *y) { return *(const char *)x - *(const char *)y; }

int bank_response_unshuffle(enum bank_item_type t, const char *perm, const char *in, char *out,
                            size_t outlen)
{
    if (!outlen) return KC_EINVAL;
    if (!in) in = "";
    size_t n = strlen(in);
    if (t != BANK_SINGLE && t != BANK_MULTI) {
        if (n >= outlen) return KC_EINVAL;
        memcpy(out, in, n + 1);
        return 0;
    }
    size_t np = perm ? strlen(perm) : 0;
    if (n > BANK_MAX_OPTIONS || n >= outlen || (t == BANK_SINGLE && n > 1)) return KC_EINVAL;
    char tmp[BANK_MAX_OPTIONS + 1];
    for (size_t k = 0; k < n; k++) {
        int x = in[k] - 'A';
        if (x < 0 || (size_t)x >= np) return KC_EINVAL;
        tmp[k] = perm[x];
    }
    qsort(tmp, n, 1, cmp_char);
    size_t m = 0;
    for (size_t k = 0; k < n; k++)
        if (!m || tmp[m - 1] != tmp[k]) tmp[m++] = tmp[k];
    memcpy(out, tmp, m);
    out[m] = 0;
    return 0;
}

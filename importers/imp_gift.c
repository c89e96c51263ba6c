/* Moodle GIFT: questions separated by blank lines, "//" comment lines, $CATEGORY, ::title::,
 * [format], an answer block {…} and the escapes \~ \= \# \{ \} \: \\ \n. What maps to what
 * is in docs/BANK.md. Every problem is one line at the line where the question starts. */
#include "imp_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ANSWERS 64      /* more than any real question; options beyond A-H are reported */

typedef struct gift {
    const char *name;
    bank_itemset *set;
    kc_diag *d;
    kc_arena *a;
    const char *category;   /* current $CATEGORY as a tag, or NULL */
    int line;               /* where the current question starts */
    int oom;
} gift;

static void diag(gift *g, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void diag(gift *g, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (kc_diag_vadd(g->d, g->name, g->line, field, fmt, ap)) g->oom = 1;
    va_end(ap);
}

/* The first unescaped c in [s, end), or NULL. */
static const char *find_unesc(const char *s, const char *end, char c)
{
    for (; s < end; s++) {
        if (*s == '\\' && s + 1 < end) { s++; continue; }
        if (*s == c) return s;
    }
    return NULL;
}

/* The first unescaped occurrence of the string pat, or NULL. */
static const char *find_unesc_str(const char *s, const char *end, const char *pat)
{
    size_t n = strlen(pat);
    for (; s + n <= end; s++) {
        if (*s == '\\' && s + 1 < end) { s++; continue; }
        if (memcmp(s, pat, n) == 0) return s;
    }
    return NULL;
}

/* Trimmed and unescaped copy of [s, end) in the arena. */
static char *text(gift *g, const char *s, const char *end)
{
    imp__trim(&s, &end);
    char *out = kc_arena_alloc(g->a, (size_t)(end - s) + 1), *o = out;
    if (!out) { g->oom = 1; return NULL; }
    for (; s < end; s++) {
        if (*s == '\\' && s + 1 < end) {
            char c = s[1];
            if (strchr("~=#{}:\\", c)) { *o++ = c; s++; continue; }
            if (c == 'n') { *o++ = '\n'; s++; continue; }
        }
        *o++ = *s;
    }
    *o = 0;
    return out;
}

/* Like text() but keeps the spaces at the ends (the parts of a missing-word stem). */
static char *text_raw(gift *g, const char *s, const char *end)
{
    char *out = kc_arena_alloc(g->a, (size_t)(end - s) + 1), *o = out;
    if (!out) { g->oom = 1; return NULL; }
    for (; s < end; s++) {
        if (*s == '\\' && s + 1 < end && (strchr("~=#{}:\\", s[1]) || s[1] == 'n')) {
            *o++ = s[1] == 'n' ? '\n' : s[1];
            s++;
            continue;
        }
        *o++ = *s;
    }
    *o = 0;
    return out;
}

/* ---- answers ---- */

typedef struct answer {
    char mark;              /* '=' or '~' */
    int has_weight;
    double weight;          /* % */
    const char *s, *end;    /* answer text (raw) */
    const char *fb, *fb_end;  /* feedback (raw), fb NULL when none */
} answer;

/* Splits the answers of a choice / short-answer block at unescaped '=' and '~'.
 * Returns the count, or -1 (text before the first answer), -2 (a bad %weight%),
 * -3 (too many answers). */
static int split_answers(const char *s, const char *end, answer *ans)
{
    const char *p = s;
    while (p < end && imp__space_len(p, end)) p += imp__space_len(p, end);
    if (p < end && *p != '=' && *p != '~') return -1;
    int n = 0;
    while (p < end) {
        if (n == MAX_ANSWERS) return -3;
        answer *a = &ans[n++];
        memset(a, 0, sizeof *a);
        a->mark = *p++;
        if (p < end && *p == '%') {
            const char *q = memchr(p + 1, '%', (size_t)(end - p - 1));
            if (!q) return -2;
            char num[32];
            size_t k = (size_t)(q - p - 1);
            if (!k || k >= sizeof num) return -2;
            memcpy(num, p + 1, k);
            num[k] = 0;
            char *e;
            a->weight = strtod(num, &e);
            if (*e || !isfinite(a->weight) || a->weight < -100 || a->weight > 100) return -2;
            a->has_weight = 1;
            p = q + 1;
        }
        const char *next = p;
        for (; next < end; next++) {
            if (*next == '\\' && next + 1 < end) { next++; continue; }
            if (*next == '=' || *next == '~') break;
        }
        /* "->" of a matching pair is not the start of another answer */
        a->s = p;
        a->end = next;
        const char *h = find_unesc(p, next, '#');
        if (h) {
            a->end = h;
            a->fb = h + 1;
            a->fb_end = next;
        }
        p = next;
    }
    return n;
}

static double eff_weight(const answer *a)
{
    if (a->has_weight) return a->weight;
    return a->mark == '=' ? 100 : 0;
}

/* Appends "LABEL: feedback" for a non-empty feedback to the explanation lines. */
typedef struct fbs {
    const char *parts[MAX_ANSWERS + 2];
    int n;
} fbs;

static void fb_add(gift *g, fbs *f, const char *label, const char *s, const char *end)
{
    if (!s) return;
    char *t = text(g, s, end);
    if (!t || !*t || f->n >= (int)(sizeof f->parts / sizeof f->parts[0])) return;
    f->parts[f->n] = label ? kc_arena_printf(g->a, "%s: %s", label, t) : t;
    if (!f->parts[f->n]) { g->oom = 1; return; }
    f->n++;
}

/* The explanation: general feedback, then one line per answer feedback. */
static const char *fb_join(gift *g, const fbs *f, enum bank_text_kind kind)
{
    if (!f->n) return NULL;
    int html = kind == BANK_TEXT_HTML;
    if (kind == BANK_TEXT_AUTO)
        for (int i = 0; i < f->n; i++)
            if (strchr(f->parts[i], '<')) html = 1;
    const char *sep = html ? "<br>" : "\n";
    size_t len = 1;
    for (int i = 0; i < f->n; i++) len += strlen(f->parts[i]) + strlen(sep);
    char *out = kc_arena_alloc(g->a, len);
    if (!out) { g->oom = 1; return NULL; }
    for (int i = 0; i < f->n; i++) {
        if (i) strcat(out, sep);
        strcat(out, f->parts[i]);
    }
    return out;
}

static const char *fill_key(gift *g, bank_blank *b)
{
    char *k = bank_fill_key_format(b, 1, g->a);
    if (!k) g->oom = 1;
    return k;
}

static int parse_number(const char *s, const char *end, double *v)
{
    imp__trim(&s, &end);
    char num[64];
    size_t k = (size_t)(end - s);
    if (!k || k >= sizeof num) return -1;
    memcpy(num, s, k);
    num[k] = 0;
    char *e;
    *v = strtod(num, &e);
    return *e || !isfinite(*v) ? -1 : 0;
}

/* One numeric answer "VALUE", "VALUE:TOLERANCE" or "MIN..MAX" into b. */
static int numeric_answer(const char *s, const char *end, bank_blank *b)
{
    b->mode = BANK_BLANK_NUMERIC;
    const char *dots = NULL;
    for (const char *p = s; p + 1 < end; p++)
        if (p[0] == '.' && p[1] == '.') { dots = p; break; }
    if (dots) {
        double lo, hi;
        if (parse_number(s, dots, &lo) || parse_number(dots + 2, end, &hi) || hi < lo) return -1;
        b->value = (lo + hi) / 2;
        b->tolerance = (hi - lo) / 2;
        return 0;
    }
    const char *colon = memchr(s, ':', (size_t)(end - s));
    if (parse_number(s, colon ? colon : end, &b->value)) return -1;
    b->tolerance = 0;
    if (colon && (parse_number(colon + 1, end, &b->tolerance) || b->tolerance < 0)) return -1;
    return 0;
}

static void numeric(gift *g, bank_item *it, const char *s, const char *end, fbs *f)
{
    bank_blank b;
    memset(&b, 0, sizeof b);
    it->type = BANK_FILL;
    if (!find_unesc(s, end, '=')) {
        /* a single answer, optionally with feedback */
        const char *h = find_unesc(s, end, '#');
        if (numeric_answer(s, h ? h : end, &b)) {
            char buf[80], raw[80];
            snprintf(raw, sizeof raw, "%.*s", (int)((h ? h : end) - s), s);
            diag(g, "答案", "%s is not a number, VALUE:TOLERANCE or MIN..MAX",
                 bank_text_clip(raw, buf, sizeof buf));
            return;
        }
        if (h) fb_add(g, f, NULL, h + 1, end);
        it->answer = fill_key(g, &b);
        return;
    }
    answer ans[MAX_ANSWERS];
    int n = split_answers(s, end, ans);
    if (n < 0) {
        diag(g, "答案", n == -2 ? "a %%weight%% is not a number from -100 to 100"
                               : "numeric answers must each start with =");
        return;
    }
    int full = -1;
    for (int i = 0; i < n; i++) {
        if (ans[i].mark != '=') {
            diag(g, "答案", "numeric answers must each start with =");
            return;
        }
        if (eff_weight(&ans[i]) != 100) {
            diag(g, "答案", "partial credit (%%%g%%) for a numeric answer cannot be carried; "
                 "keep one answer that earns full marks", eff_weight(&ans[i]));
            return;
        }
        if (full >= 0) {
            diag(g, "答案", "more than one correct numeric answer cannot be carried; "
                 "a numeric blank has one value and a tolerance");
            return;
        }
        full = i;
    }
    if (numeric_answer(ans[full].s, ans[full].end, &b)) {
        diag(g, "答案", "is not a number, VALUE:TOLERANCE or MIN..MAX");
        return;
    }
    char *label = text(g, ans[full].s, ans[full].end);
    fb_add(g, f, label, ans[full].fb, ans[full].fb_end);
    it->answer = fill_key(g, &b);
}

/* tf: "T", "F", "TRUE", "FALSE", each optionally "#wrong feedback#right feedback". */
static int truefalse(gift *g, bank_item *it, const char *s, const char *end, fbs *f)
{
    const char *h = find_unesc(s, end, '#');
    const char *w = s, *we = h ? h : end;
    imp__trim(&w, &we);
    size_t n = (size_t)(we - w);
    int val = -1;
    if ((n == 1 && (*w == 'T' || *w == 't')) || (n == 4 && strncasecmp(w, "true", 4) == 0)) val = 1;
    if ((n == 1 && (*w == 'F' || *w == 'f')) || (n == 5 && strncasecmp(w, "false", 5) == 0)) val = 0;
    if (val < 0) return 0;
    it->type = BANK_TF;
    it->answer = val ? "T" : "F";
    if (h) {
        const char *h2 = find_unesc(h + 1, end, '#');
        fb_add(g, f, "答错", h + 1, h2 ? h2 : end);
        if (h2) fb_add(g, f, "答对", h2 + 1, end);
    }
    return 1;
}

static void choice(gift *g, bank_item *it, const char *s, const char *end, fbs *f)
{
    answer ans[MAX_ANSWERS];
    int n = split_answers(s, end, ans);
    if (n == -1) {
        diag(g, "答案", "every answer must start with = (correct) or ~ (wrong)");
        return;
    }
    if (n == -2) {
        diag(g, "答案", "a %%weight%% is not a number from -100 to 100");
        return;
    }
    if (n == -3) {
        diag(g, "选项", "has more than %d answers", MAX_ANSWERS);
        return;
    }
    int tilde = 0;
    for (int i = 0; i < n; i++) {
        if (ans[i].mark == '~') tilde = 1;
        if (ans[i].mark == '=' && find_unesc_str(ans[i].s, ans[i].end, "->")) {
            diag(g, "题型", "GIFT matching questions are not supported");
            return;
        }
    }
    if (!tilde) {
        /* short answer: one blank whose alternatives are the answers */
        const char *alts[MAX_ANSWERS];
        for (int i = 0; i < n; i++) {
            if (eff_weight(&ans[i]) != 100) {
                diag(g, "答案", "partial credit (%%%g%%) for a short answer cannot be carried; "
                     "keep only answers that earn full marks", eff_weight(&ans[i]));
                return;
            }
            if (!(alts[i] = text(g, ans[i].s, ans[i].end))) return;
            if (!*alts[i]) {
                diag(g, "答案", "answer %d is empty", i + 1);
                return;
            }
            fb_add(g, f, alts[i], ans[i].fb, ans[i].fb_end);
        }
        bank_blank b;
        memset(&b, 0, sizeof b);
        b.mode = BANK_BLANK_TEXT;
        b.n_accept = n;
        b.accept = kc_arena_alloc(g->a, (size_t)n * sizeof *b.accept);
        if (!b.accept) { g->oom = 1; return; }
        memcpy(b.accept, alts, (size_t)n * sizeof *alts);
        it->type = BANK_FILL;
        it->answer = fill_key(g, &b);
        return;
    }
    if (n > BANK_MAX_OPTIONS) {
        diag(g, "选项", "has %d options; at most %d (A-H) are allowed", n, BANK_MAX_OPTIONS);
        return;
    }
    int pos = 0, eq = 0;
    double first = 0, sum = 0;
    int same = 1;
    for (int i = 0; i < n; i++) {
        double w = eff_weight(&ans[i]);
        if (ans[i].mark == '=' && !ans[i].has_weight) eq++;
        if (w <= 0) continue;
        if (!pos) first = w;
        else if (fabs(w - first) > 0.01) same = 0;
        pos++;
        sum += w;
    }
    char key[BANK_MAX_OPTIONS + 1];
    int k = 0;
    for (int i = 0; i < n; i++)
        if (eff_weight(&ans[i]) > 0) key[k++] = (char)('A' + i);
    key[k] = 0;
    if (!pos) {
        diag(g, "答案", "no correct answer; mark it with = or a positive %%weight%%");
        return;
    }
    if (pos == 1 && fabs(first - 100) <= 0.01) {
        it->type = BANK_SINGLE;
    } else if (pos >= 2 && same && fabs(sum - 100) <= 0.01 * pos) {
        it->type = BANK_MULTI;
        it->mc_policy = BANK_MC_RATIO;
    } else if (eq >= 2) {
        diag(g, "答案", "more than one answer is marked =; for a multiple-answer item give each "
             "correct answer an equal %%weight%% adding up to 100%%, e.g. ~%%50%%");
        return;
    } else {
        diag(g, "答案", "these weights cannot be carried; use one = answer, or equal positive "
             "%%weight%%s adding up to 100%% for a multiple-answer item");
        return;
    }
    for (int i = 0; i < n; i++) {
        if (!(it->options[i] = text(g, ans[i].s, ans[i].end))) return;
        char label[2] = {(char)('A' + i), 0};
        fb_add(g, f, label, ans[i].fb, ans[i].fb_end);
    }
    it->n_options = n;
    it->answer = kc_arena_strdup(g->a, key);
    if (!it->answer) g->oom = 1;
}

/* A title becomes the item's uid when it can be one, else a tag. */
static int uid_like(const char *t)
{
    size_t n = strlen(t);
    if (!n || n > 64) return 0;
    for (const unsigned char *p = (const unsigned char *)t; *p; p++)
        if (*p <= ' ' || *p == 0x7F || *p >= 0x80) return 0;
    return 1;
}

/* "$course$/top/网络安全/防火墙" -> "网络安全/防火墙": Moodle's context prefix and its "top"
 * category say nothing about the item. */
static const char *category_tag(gift *g, const char *s, const char *end)
{
    char *c = text(g, s, end);
    if (!c) return NULL;
    if (c[0] == '$') {
        char *q = strchr(c + 1, '$');
        if (q) c = q + 1;
        while (*c == '/') c++;
    }
    if (strncmp(c, "top", 3) == 0 && (c[3] == '/' || !c[3])) c += 3;
    while (*c == '/') c++;
    size_t n = strlen(c);
    while (n && c[n - 1] == '/') c[--n] = 0;
    return *c ? c : NULL;
}

static int question(gift *g, const char *s, const char *end)
{
    bank_item it;
    memset(&it, 0, sizeof it);
    it.file = g->name;
    it.line = g->line;
    it.version = 1;
    it.points_centi = 100;
    const char *tags[2];
    int n_tags = 0;
    if (g->category) tags[n_tags++] = g->category;

    while (s < end && imp__space_len(s, end)) s += imp__space_len(s, end);
    if (end - s >= 2 && s[0] == ':' && s[1] == ':') {
        const char *t = find_unesc_str(s + 2, end, "::");
        if (!t) {
            diag(g, "试题编号", "the title ::… is not closed with ::");
            return 1;
        }
        char *title = text(g, s + 2, t);
        if (!title) return -1;
        if (*title) {
            if (uid_like(title)) it.uid = title;
            else tags[n_tags++] = title;
        }
        s = t + 2;
        while (s < end && imp__space_len(s, end)) s += imp__space_len(s, end);
    }
    enum bank_text_kind kind = BANK_TEXT_AUTO;
    static const struct { const char *tag; enum bank_text_kind kind; } FMT[] = {
        {"[html]", BANK_TEXT_HTML}, {"[plain]", BANK_TEXT_PLAIN},
        {"[markdown]", BANK_TEXT_PLAIN}, {"[moodle]", BANK_TEXT_AUTO},
    };
    for (size_t i = 0; i < sizeof FMT / sizeof FMT[0]; i++) {
        size_t n = strlen(FMT[i].tag);
        if ((size_t)(end - s) >= n && strncasecmp(s, FMT[i].tag, n) == 0) {
            kind = FMT[i].kind;
            s += n;
            break;
        }
    }
    const char *open = find_unesc(s, end, '{');
    const char *stray = find_unesc(s, open ? open : end, '}');
    if (stray) {
        diag(g, "题干", "} without {; write a literal brace as \\}");
        return 1;
    }
    if (!open) {
        diag(g, "题型", "text without an answer block {…} is a GIFT description, not a question");
        return 1;
    }
    const char *close = find_unesc(open + 1, end, '}');
    const char *inner_open = find_unesc(open + 1, close ? close : end, '{');
    if (inner_open) {
        diag(g, "答案", "{ inside the answer block; write a literal brace as \\{");
        return 1;
    }
    if (!close) {
        diag(g, "答案", "the answer block { is not closed with }");
        return 1;
    }
    const char *after = close + 1;
    if (find_unesc(after, end, '{') || find_unesc(after, end, '}')) {
        diag(g, "答案", "more than one answer block; write literal braces as \\{ \\}");
        return 1;
    }
    /* missing word: text after the block puts the blank inside the stem */
    if (imp__is_blank(after, (size_t)(end - after))) {
        it.stem = text(g, s, open);
    } else {
        const char *b = s, *e = end;
        imp__trim(&b, &e);
        char *pre = text_raw(g, b, open), *post = text_raw(g, after, e);
        if (!pre || !post) return -1;
        it.stem = kc_arena_printf(g->a, "%s____%s", pre, post);
    }
    if (!it.stem) { g->oom = 1; return -1; }

    const char *bs = open + 1, *be = close;
    fbs f;
    f.n = 0;
    const char *general = find_unesc_str(bs, be, "####");
    if (general) {
        fb_add(g, &f, NULL, general + 4, be);
        be = general;
    }
    imp__trim(&bs, &be);
    size_t before = g->d->n;
    if (bs == be) {
        it.type = BANK_ESSAY;
    } else if (*bs == '#') {
        numeric(g, &it, bs + 1, be, &f);
    } else if (!truefalse(g, &it, bs, be, &f)) {
        choice(g, &it, bs, be, &f);
    }
    if (g->oom) return -1;
    if (g->d->n != before) return 1;
    it.explanation = fb_join(g, &f, kind);
    if (n_tags) {
        const char **t = kc_arena_alloc(g->a, (size_t)n_tags * sizeof *t);
        if (!t) return -1;
        memcpy(t, tags, (size_t)n_tags * sizeof *t);
        it.tags = t;
        it.n_tags = n_tags;
    }
    if (g->oom) return -1;
    return imp__item_add(g->set, &it, kind, g->d);
}

/* A block of lines between blank lines, comments removed; returns <0 on OOM. */
static int block(gift *g, const imp_line *l, size_t n)
{
    size_t cap = 1;
    for (size_t i = 0; i < n; i++) cap += l[i].n + 1;
    char *buf = malloc(cap), *o = buf;
    if (!buf) return -1;
    int first = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = l[i].s, *e = s + l[i].n;
        imp__trim(&s, &e);
        if (e - s >= 2 && s[0] == '/' && s[1] == '/') continue;
        if (s == e) continue;
        if (!first) first = l[i].no;
        /* $CATEGORY: applies to the questions that follow; it may share a block with one */
        if (o == buf && (size_t)(e - s) >= 10 && strncmp(s, "$CATEGORY:", 10) == 0) {
            g->line = l[i].no;
            g->category = category_tag(g, s + 10, e);
            first = 0;
            continue;
        }
        memcpy(o, l[i].s, l[i].n);
        o += l[i].n;
        *o++ = '\n';
    }
    int rc = 0;
    if (o != buf && !g->oom) {
        g->line = first;
        rc = question(g, buf, o);
    }
    free(buf);
    return g->oom ? -1 : rc < 0 ? -1 : 0;
}

int imp__gift_parse(const char *name, const char *buf, size_t len, bank_itemset *set,
                    kc_diag *d)
{
    gift g;
    memset(&g, 0, sizeof g);
    g.set = set;
    g.d = d;
    g.a = set->arena;
    if (!(g.name = kc_arena_strdup(set->arena, name ? name : "-"))) return -1;
    imp_line *lines;
    size_t n;
    if (imp__lines_split(buf, len, &lines, &n)) return -1;
    size_t start = 0, items_before = set->n, diags_before = d->n;
    int rc = 0;
    for (size_t i = 0; i <= n && !rc; i++) {
        if (i < n && !imp__is_blank(lines[i].s, lines[i].n)) continue;
        if (i > start) rc = block(&g, lines + start, i - start);
        start = i + 1;
    }
    free(lines);
    if (rc) return -1;
    if (set->n == items_before && d->n == diags_before) {
        g.line = 1;
        diag(&g, "file", "contains no GIFT questions");
    }
    if (bank_itemset_drop_duplicates(set, d) < 0) return -1;
    return g.oom ? -1 : 0;
}

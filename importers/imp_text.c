/* The plain-text style of Word banks: section headings ("一、单项选择题") set the type of the
 * items below them; items are numbered ("1." "1、" "1．" "（1）"); options "A．…" on one line
 * or several; labelled lines 答案/【答案】/正确答案/参考答案, 解析, 难度, 分值, 鉴定点.
 * Plain text. Every problem is one line at the line where the item starts (or the line
 * itself for text outside any item). What maps to what is in docs/BANK.md. */
#include "imp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum field { F_NONE, F_STEM, F_OPTION, F_ANSWER, F_EXPL, F_SINGLE_LINE };

typedef struct txt {
    const char *name;
    bank_itemset *set;
    kc_diag *d;
    kc_arena *a;
    int oom;
    /* the section */
    int sect;                   /* 0 none, 1 a known type, -1 a type this format cannot carry */
    enum bank_item_type type;
    char sect_label[64];
    int sect_points;            /* 每题 N 分, centi, 0 when not given */
    int seen_item;
    /* the item being read */
    int active, line, number, style, bad;
    enum field field;
    kc_buf stem, answer, expl;
    kc_buf opt[BANK_MAX_OPTIONS];
    int n_options;
    int answer_line;
    int points_centi, difficulty;
    char *code;
    int dup_answer;             /* a second 答案 line */
} txt;

static void diag(txt *t, int line, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void diag(txt *t, int line, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (kc_diag_vadd(t->d, t->name, line, field, fmt, ap)) t->oom = 1;
    va_end(ap);
}

/* Lines of one field joined with '\n' (newline) or run on. */
static void sb_add(txt *t, kc_buf *b, const char *s, size_t n, int newline)
{
    if (newline && b->n) kc_buf_add(b, "\n", 1);
    kc_buf_add(b, s, n);
    if (b->oom) t->oom = 1;
}

static const char *sb_dup(txt *t, const kc_buf *b)
{
    if (!b->n) return NULL;
    const char *s = b->p, *e = b->p + b->n;
    imp__trim(&s, &e);
    if (s == e) return NULL;
    char *p = kc_arena_strndup(t->a, s, (size_t)(e - s));
    if (!p) t->oom = 1;
    return p;
}

static int starts(const char *s, const char *e, const char *pfx)
{
    size_t n = strlen(pfx);
    return (size_t)(e - s) >= n && memcmp(s, pfx, n) == 0;
}

static const char *skip_sp(const char *s, const char *e)
{
    size_t k;
    while (s < e && (k = imp__space_len(s, e))) s += k;
    return s;
}

/* ---- recognizers ---- */

/* An option start "A．" "A." "A、" "A)" "A）" "A：" (also full-width Ａ): letter 0..7 and
 * the text after it, or -1. */
static int opt_at(const char *s, const char *e, const char **text)
{
    const unsigned char *u = (const unsigned char *)s;
    int letter;
    size_t k;
    if (s < e && *u >= 'A' && *u <= 'H') { letter = *u - 'A'; k = 1; }
    else if (e - s >= 3 && u[0] == 0xEF && u[1] == 0xBC && u[2] >= 0xA1 && u[2] <= 0xA8) {
        letter = u[2] - 0xA1;
        k = 3;
    } else return -1;
    const char *p = s + k;
    static const char *const SEPS[] = {"．", ".", "、", ")", "）", "：", ":"};
    for (size_t i = 0; i < sizeof SEPS / sizeof SEPS[0]; i++)
        if (starts(p, e, SEPS[i])) {
            p += strlen(SEPS[i]);
            /* "A.B" is not an option; "1.5" handled by numbering */
            if (SEPS[i][0] == '.' && p < e && *p >= 'A' && *p <= 'Z') return -1;
            *text = p;
            return letter;
        }
    return -1;
}

/* The next option start for letter at or after p, preceded by a space (or the closing
 * parenthesis of the stem). Returns its position or NULL. */
static const char *find_opt(const char *p, const char *e, int letter, int after_paren)
{
    for (const char *q = p; q < e; q++) {
        const char *t;
        if (opt_at(q, e, &t) != letter) continue;
        if (q == p) return q;
        const char *b = q - 1;
        /* what precedes: a space (ASCII, U+3000) or ）/) */
        if (*b == ' ' || *b == '\t') return q;
        if (q - p >= 3 && (memcmp(q - 3, "\xE3\x80\x80", 3) == 0 ||
                           (after_paren && memcmp(q - 3, "）", 3) == 0)))
            return q;
        if (after_paren && *b == ')') return q;
    }
    return NULL;
}

/* Item numbering "12." "12．" "12、" (style 1) or "（12）" "(12)" (style 2). */
static int num_at(const char *s, const char *e, int *num, int *style, const char **rest)
{
    const char *p = s;
    int paren = 0;
    if (starts(p, e, "（")) { paren = 1; p += 3; }
    else if (starts(p, e, "(")) { paren = 2; p += 1; }
    const char *d = p;
    int v = 0;
    while (p < e && *p >= '0' && *p <= '9' && p - d < 5) v = v * 10 + (*p++ - '0');
    if (p == d || (p < e && *p >= '0' && *p <= '9')) return 0;
    if (paren) {
        if (paren == 1 && starts(p, e, "）")) p += 3;
        else if (paren == 2 && starts(p, e, ")")) p += 1;
        else return 0;
        *style = 2;
    } else {
        if (starts(p, e, "．") || starts(p, e, "、")) p += 3;
        else if (p < e && *p == '.' && !(p + 1 < e && p[1] >= '0' && p[1] <= '9')) p += 1;
        else return 0;
        *style = 1;
    }
    *num = v;
    *rest = skip_sp(p, e);
    return 1;
}

static const struct { const char *kw; enum bank_item_type type; int ok; } SECTIONS[] = {
    {"单项选择", BANK_SINGLE, 1}, {"单选", BANK_SINGLE, 1},
    {"多项选择", BANK_MULTI, 1},  {"多选", BANK_MULTI, 1},   {"不定项选择", BANK_MULTI, 1},
    {"判断", BANK_TF, 1},         {"填空", BANK_FILL, 1},
    {"简答", BANK_SHORT, 1},      {"问答", BANK_SHORT, 1},   {"计算", BANK_SHORT, 1},
    {"论述", BANK_ESSAY, 1},
    {"组合", BANK_COMPOSITE, 0},  {"案例分析", BANK_COMPOSITE, 0},
    {"实操", BANK_PRACTICAL, 0},  {"操作", BANK_PRACTICAL, 0},
};

/* "一、单项选择题（每题1分，共20分）": the section entry, or -1. *numeral says whether the
 * line starts with a Chinese numeral and 、 (a heading even when no type is named). */
static int heading_at(const char *s, const char *e, int *numeral)
{
    static const char *const NUM[] = {"一", "二", "三", "四", "五", "六", "七", "八", "九", "十"};
    const char *p = s;
    int digits = 0;
    for (;;) {
        int hit = 0;
        for (size_t i = 0; i < 10; i++)
            if (starts(p, e, NUM[i])) { p += 3; hit = 1; digits++; break; }
        if (!hit) break;
    }
    *numeral = 0;
    if (digits && (starts(p, e, "、") || starts(p, e, "．") || (p < e && *p == '.'))) {
        *numeral = 1;
        p += *p == '.' ? 1 : 3;
    } else if (starts(s, e, "第")) {
        p = s;      /* "第一部分 单项选择题" */
    } else {
        p = s;
        /* a bare "单项选择题" line: only when it is short and is the label itself */
        if (e - s > 60) return -1;
    }
    const char *body = skip_sp(p, e);
    for (size_t i = 0; i < sizeof SECTIONS / sizeof SECTIONS[0]; i++) {
        size_t n = strlen(SECTIONS[i].kw);
        for (const char *q = body; q + n <= e; q++)
            if (memcmp(q, SECTIONS[i].kw, n) == 0) {
                if (!*numeral && !starts(s, e, "第") && q != body) break;
                /* a bare label must be followed by 题 (or nothing): "判断题", not "判断下列…" */
                const char *after = q + n;
                if (!*numeral && !starts(s, e, "第")) {
                    if (!starts(after, e, "题")) break;
                    after = skip_sp(after + 3, e);
                    if (after < e && !starts(after, e, "（") && *after != '(') break;
                }
                return (int)i;
            }
    }
    return -1;
}

/* "每题2分" / "每小题1.5分" inside a heading: points in centi, 0 when absent. */
static int per_item_points(const char *s, const char *e)
{
    static const char *const P[] = {"每小题", "每题", "每空"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(P[i]);
        for (const char *q = s; q + n < e; q++) {
            if (memcmp(q, P[i], n) != 0) continue;
            const char *p = skip_sp(q + n, e);
            int whole = 0, frac = 0, digits = 0, fd = 0;
            while (p < e && *p >= '0' && *p <= '9' && digits < 4) whole = whole * 10 + (*p++ - '0'), digits++;
            if (p < e && *p == '.') {
                p++;
                while (p < e && *p >= '0' && *p <= '9' && fd < 2) frac = frac * 10 + (*p++ - '0'), fd++;
                if (fd == 1) frac *= 10;
            }
            p = skip_sp(p, e);
            if (digits && starts(p, e, "分")) return whole * 100 + frac;
        }
    }
    return 0;
}

enum label { L_NONE, L_ANSWER, L_EXPL, L_DIFF, L_POINTS, L_CODE };

/* "答案：B", "【答案】B", "正确答案:B", "参考答案：…", "解析：", "难度：3", "分值：2",
 * "鉴定点：…". Returns the label and the value after it. */
static enum label label_at(const char *s, const char *e, const char **val)
{
    static const struct { const char *name; enum label l; } L[] = {
        {"正确答案", L_ANSWER}, {"参考答案", L_ANSWER}, {"标准答案", L_ANSWER}, {"答案", L_ANSWER},
        {"答案解析", L_EXPL},   {"试题解析", L_EXPL},   {"解析", L_EXPL},
        {"难度", L_DIFF},       {"分值", L_POINTS},     {"分数", L_POINTS},
        {"鉴定点代码", L_CODE}, {"鉴定点", L_CODE},
    };
    int bracket = starts(s, e, "【");
    const char *p = bracket ? s + 3 : s;
    /* longest name first: 答案解析 before 答案 */
    enum label best = L_NONE;
    size_t best_n = 0;
    for (size_t i = 0; i < sizeof L / sizeof L[0]; i++) {
        size_t n = strlen(L[i].name);
        if (n > best_n && starts(p, e, L[i].name)) { best = L[i].l; best_n = n; }
    }
    if (best == L_NONE) return L_NONE;
    p += best_n;
    if (bracket) {
        if (!starts(p, e, "】")) return L_NONE;
        p += 3;
    } else {
        p = skip_sp(p, e);
        if (starts(p, e, "：")) p += 3;
        else if (p < e && *p == ':') p++;
        else return L_NONE;
    }
    *val = skip_sp(p, e);
    return best;
}

/* ---- answers ---- */

static int tf_value(const char *s)
{
    static const char *const T[] = {"对", "√", "✓", "✔", "正确", "T", "t", "true", "TRUE", "True",
                                    "是", "Y", "y"};
    static const char *const F[] = {"错", "×", "✗", "✘", "错误", "F", "f", "false", "FALSE",
                                    "False", "否", "N", "n", "x", "X"};
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++)
        if (strcmp(s, T[i]) == 0) return 1;
    for (size_t i = 0; i < sizeof F / sizeof F[0]; i++)
        if (strcmp(s, F[i]) == 0) return 0;
    return -1;
}

/* Option letters "B", "ACD", "A,C,D", "A、C", "ａｃ" -> sorted unique "ACD"; NULL when the
 * text is anything else. */
static const char *letters(txt *t, const char *s)
{
    int seen[26] = {0}, any = 0;
    const unsigned char *u = (const unsigned char *)s;
    const char *e = s + strlen(s);
    while (*u) {
        size_t k = imp__space_len((const char *)u, e);
        if (k) { u += k; continue; }
        if (*u == ',' || *u == ';') { u++; continue; }
        if (starts((const char *)u, e, "、") || starts((const char *)u, e, "，") ||
            starts((const char *)u, e, "；")) { u += 3; continue; }
        int c = -1;
        if (*u >= 'A' && *u <= 'Z') c = *u - 'A', u++;
        else if (*u >= 'a' && *u <= 'z') c = *u - 'a', u++;
        else if (u[0] == 0xEF && u[1] == 0xBC && u[2] >= 0xA1 && u[2] <= 0xBA) c = u[2] - 0xA1, u += 3;
        else if (u[0] == 0xEF && u[1] == 0xBD && u[2] >= 0x81 && u[2] <= 0x9A) c = u[2] - 0x81, u += 3;
        else return NULL;
        seen[c] = 1;
        any = 1;
    }
    if (!any) return NULL;
    char out[27];
    int n = 0;
    for (int i = 0; i < 26; i++)
        if (seen[i]) out[n++] = (char)('A' + i);
    out[n] = 0;
    char *p = kc_arena_strdup(t->a, out);
    if (!p) t->oom = 1;
    return p;
}

/* The last parenthesis of the stem "（ B ）" / "(B)": its content bounds, or 0. */
static int last_paren(char *stem, char **in, char **in_end)
{
    char *best = NULL, *best_end = NULL;
    for (char *p = stem; *p; p++) {
        char *q = NULL;
        if (starts(p, p + strlen(p), "（")) q = p + 3;
        else if (*p == '(') q = p + 1;
        if (!q) continue;
        char *c1 = strstr(q, "）"), *c2 = strchr(q, ')');
        char *c = c1 && (!c2 || c1 < c2) ? c1 : c2;
        if (!c) continue;
        best = q;
        best_end = c;
    }
    if (!best) return 0;
    *in = best;
    *in_end = best_end;
    return 1;
}

/* Takes an answer written in the stem's parentheses: "（ B ）" for choice items, "（ √ ）"
 * for tf. The parenthesis is left empty "（ ）" so candidates do not see the key. */
static const char *answer_from_stem(txt *t, char *stem, enum bank_item_type type)
{
    char *in, *in_end;
    if (!last_paren(stem, &in, &in_end)) return NULL;
    const char *s = in, *e = in_end;
    imp__trim(&s, &e);
    if (s == e || e - s > 32) return NULL;
    char val[40];
    memcpy(val, s, (size_t)(e - s));
    val[e - s] = 0;
    const char *ans = NULL;
    if (type == BANK_TF) {
        int v = tf_value(val);
        if (v >= 0) ans = v ? "T" : "F";
    } else {
        ans = letters(t, val);
    }
    if (!ans) return NULL;
    /* "（ B ）" -> "（ ）" */
    size_t tail = strlen(in_end);
    in[0] = ' ';
    memmove(in + 1, in_end, tail + 1);
    return ans;
}

/* Blank marks in a fill stem: runs of two or more '_' and empty parentheses. */
static int count_blanks(const char *s)
{
    int n = 0;
    const char *e = s + strlen(s);
    for (const char *p = s; *p;) {
        if (p[0] == '_' && p[1] == '_') {
            n++;
            while (*p == '_') p++;
            continue;
        }
        const char *q = NULL;
        if (starts(p, e, "（")) q = p + 3;
        else if (*p == '(') q = p + 1;
        if (q) {
            q = skip_sp(q, e);
            if (starts(q, e, "）")) { n++; p = q + 3; continue; }
            if (*q == ')') { n++; p = q + 1; continue; }
        }
        p++;
    }
    return n;
}

/* The fill key from the answer line: one blank per part, parts separated by |, ；/; or
 * (with several blanks) spaces. */
static const char *fill_answer(txt *t, const char *stem, const char *ans)
{
    int marks = count_blanks(stem);
    const char *sep = NULL;
    if (strchr(ans, '|')) sep = "|";
    else if (strstr(ans, "；") || strchr(ans, ';')) sep = ";";
    else if (marks > 1) sep = " ";
    bank_blank b[BANK_MAX_BLANKS];
    memset(b, 0, sizeof b);
    int n = 0;
    const char *p = ans, *e = ans + strlen(ans);
    while (p <= e) {
        const char *q = p, *next;
        for (;;) {
            if (q >= e) { next = e + 1; break; }
            if (!sep) { q = e; continue; }
            if (*sep == '|' && *q == '|') { next = q + 1; break; }
            if (*sep == ';' && *q == ';') { next = q + 1; break; }
            if (*sep == ';' && starts(q, e, "；")) { next = q + 3; break; }
            if (*sep == ' ' && imp__space_len(q, e)) { next = q + imp__space_len(q, e); break; }
            q++;
        }
        const char *s = p, *se = q;
        imp__trim(&s, &se);
        p = next;
        if (s == se) {
            if (*sep == ' ') continue;      /* runs of spaces */
            diag(t, t->line, "答案", "blank %d of the answer is empty", n + 1);
            return NULL;
        }
        if (n == BANK_MAX_BLANKS) {
            diag(t, t->line, "答案", "has more than %d blanks", BANK_MAX_BLANKS);
            return NULL;
        }
        const char **acc = kc_arena_alloc(t->a, sizeof *acc);
        char *v = kc_arena_strndup(t->a, s, (size_t)(se - s));
        if (!acc || !v) { t->oom = 1; return NULL; }
        acc[0] = v;
        b[n].mode = BANK_BLANK_TEXT;
        b[n].n_accept = 1;
        b[n].accept = acc;
        n++;
    }
    if (marks && n != marks) {
        diag(t, t->line, "答案", "gives %d blank%s but the stem marks %d (____ or （ ）)", n,
             n == 1 ? "" : "s", marks);
        return NULL;
    }
    char *k = bank_fill_key_format(b, n, t->a);
    if (!k) t->oom = 1;
    return k;
}

/* ---- items ---- */

static void reset(txt *t)
{
    t->active = 0;
    t->bad = 0;
    t->field = F_NONE;
    t->stem.n = t->answer.n = t->expl.n = 0;
    for (int i = 0; i < BANK_MAX_OPTIONS; i++) t->opt[i].n = 0;
    t->n_options = 0;
    t->points_centi = 0;
    t->difficulty = 0;
    t->code = NULL;
    t->dup_answer = 0;
    t->answer_line = 0;
}

static void finish(txt *t)
{
    if (!t->active) return;
    if (t->bad || t->oom) { reset(t); return; }
    if (t->sect < 0) {
        diag(t, t->line, "题型", "%s items cannot be imported from the text format; use the CSV "
             "or XLSX template", t->sect_label);
        reset(t);
        return;
    }
    bank_item it;
    memset(&it, 0, sizeof it);
    it.file = t->name;
    it.line = t->line;
    it.version = 1;
    char *stem = t->stem.n ? kc_arena_strndup(t->a, t->stem.p, t->stem.n) : NULL;
    if (t->stem.n && !stem) { t->oom = 1; return; }
    if (stem) {
        const char *s = stem, *e = stem + strlen(stem);
        imp__trim(&s, &e);
        stem = kc_arena_strndup(t->a, s, (size_t)(e - s));
        if (!stem) { t->oom = 1; return; }
    }
    for (int i = 0; i < t->n_options; i++) it.options[i] = sb_dup(t, &t->opt[i]);
    it.n_options = t->n_options;
    const char *ans = sb_dup(t, &t->answer);
    it.explanation = sb_dup(t, &t->expl);
    it.point_code = t->code;
    it.difficulty = t->difficulty;
    it.points_centi = t->points_centi ? t->points_centi : t->sect_points ? t->sect_points : 100;
    if (t->oom) return;

    enum bank_item_type type = t->type;
    if (!t->sect) {
        /* no heading: the shape of the item says its type */
        const char *l = ans ? letters(t, ans) : NULL;
        if (t->n_options) type = l && strlen(l) > 1 ? BANK_MULTI : BANK_SINGLE;
        else if (ans && tf_value(ans) >= 0) type = BANK_TF;
        else if (stem && count_blanks(stem)) type = BANK_FILL;
        else type = BANK_SHORT;
        if (t->n_options && !ans && stem) {
            /* the key may be in the stem: its letters decide */
            char *copy = kc_arena_strdup(t->a, stem);
            const char *k = copy ? answer_from_stem(t, copy, BANK_MULTI) : NULL;
            if (k && strlen(k) > 1) type = BANK_MULTI;
        }
    }
    it.type = type;
    if (type == BANK_SINGLE || type == BANK_MULTI || type == BANK_TF) {
        const char *in_stem = stem ? answer_from_stem(t, stem, type) : NULL;
        const char *key = NULL;
        if (ans) {
            if (type == BANK_TF) {
                int v = tf_value(ans);
                if (v < 0) {
                    char buf[72];
                    diag(t, t->line, "答案", "%s is not 对/错, √/×, 正确/错误 or T/F",
                         bank_text_clip(ans, buf, sizeof buf));
                    reset(t);
                    return;
                }
                key = v ? "T" : "F";
            } else {
                key = letters(t, ans);
                if (!key) key = ans;    /* bank_item_validate says what is wrong with it */
            }
        }
        if (key && in_stem && strcmp(key, in_stem)) {
            diag(t, t->line, "答案", "the stem's （%s） and the 答案 line (%s) differ", in_stem, key);
            reset(t);
            return;
        }
        it.answer = key ? key : in_stem;
    } else if (type == BANK_FILL) {
        if (ans) {
            size_t before = t->d->n;
            it.answer = fill_answer(t, stem ? stem : "", ans);
            if (t->d->n != before || t->oom) { reset(t); return; }
        }
    } else {
        it.answer = ans;
    }
    if ((type == BANK_TF || type == BANK_FILL || type == BANK_SHORT || type == BANK_ESSAY) &&
        t->n_options) {
        diag(t, t->line, "选项", "a %s has no options; is the section heading right?",
             bank_type_label(type));
        reset(t);
        return;
    }
    it.stem = stem;
    if (t->oom) return;
    if (imp__item_add(t->set, &it, BANK_TEXT_PLAIN, t->d) < 0) t->oom = 1;
    reset(t);
}

static void options_line(txt *t, int line, const char *s, const char *e);

static void start_item(txt *t, int line, int num, int style, const char *s, const char *e)
{
    finish(t);
    reset(t);
    t->active = 1;
    t->seen_item = 1;
    t->line = line;
    t->number = num;
    t->style = style;
    t->field = F_STEM;
    /* options on the stem's line: "题干（ ）A．x B．y" */
    const char *a = find_opt(s, e, 0, 1);
    if (a && a > s && find_opt(a, e, 1, 0)) {
        sb_add(t, &t->stem, s, (size_t)(a - s), 0);
        options_line(t, line, a, e);
    } else {
        sb_add(t, &t->stem, s, (size_t)(e - s), 0);
    }
}

/* One line of options: "A．x　B．y　C．z" or "A．x". */
static void options_line(txt *t, int line, const char *s, const char *e)
{
    const char *text;
    int letter = opt_at(s, e, &text);
    while (letter >= 0) {
        if (letter != t->n_options) {
            if (t->n_options)
                diag(t, line, "选项", "%c follows %c; options go A, B, C … in order", 'A' + letter,
                     'A' + t->n_options - 1);
            else
                diag(t, line, "选项", "%c comes first; options start at A", 'A' + letter);
            t->bad = 1;
            return;
        }
        const char *next = find_opt(text, e, letter + 1, 0);
        const char *te = next ? next : e;
        sb_add(t, &t->opt[letter], text, (size_t)(te - text), 0);
        t->n_options++;
        if (!next) break;
        letter = opt_at(next, e, &text);
    }
    t->field = F_OPTION;
}

static int parse_centi(const char *s, int *out)
{
    int whole = 0, frac = 0, digits = 0, fd = 0;
    while (*s >= '0' && *s <= '9') {
        if (++digits > 4) return -1;
        whole = whole * 10 + (*s++ - '0');
    }
    if (*s == '.') {
        s++;
        while (*s >= '0' && *s <= '9') {
            if (++fd > 2) return -1;
            frac = frac * 10 + (*s++ - '0');
        }
        if (fd == 1) frac *= 10;
    }
    if (starts(s, s + strlen(s), "分")) s += 3;
    if (*s || !digits) return -1;
    *out = whole * 100 + frac;
    return 0;
}

static void label_line(txt *t, int line, enum label l, const char *v, const char *e)
{
    char val[128];
    char buf[72];
    size_t n = (size_t)(e - v);
    snprintf(val, sizeof val, "%.*s", (int)(n < sizeof val ? n : sizeof val - 1), v);
    switch (l) {
    case L_ANSWER:
        if (t->answer_line) {
            diag(t, line, "答案", "a second 答案 line (the first is on line %d)", t->answer_line);
            t->bad = 1;
            return;
        }
        t->answer_line = line;
        sb_add(t, &t->answer, v, n, 0);
        /* only reference answers run over several lines */
        t->field = t->sect > 0 && bank_type_is_objective(t->type) ? F_SINGLE_LINE : F_ANSWER;
        return;
    case L_EXPL:
        sb_add(t, &t->expl, v, n, 1);
        t->field = F_EXPL;
        return;
    case L_DIFF: {
        static const char *const W[] = {"易", "较易", "中等", "较难", "难"};
        t->field = F_SINGLE_LINE;
        if (val[0] >= '1' && val[0] <= '5' && !val[1]) { t->difficulty = val[0] - '0'; return; }
        for (int i = 0; i < 5; i++)
            if (strcmp(val, W[i]) == 0 || (i == 2 && strcmp(val, "中") == 0)) {
                t->difficulty = i + 1;
                return;
            }
        diag(t, line, "难度", "%s is not 1 to 5 or 易/较易/中等/较难/难",
             bank_text_clip(val, buf, sizeof buf));
        t->bad = 1;
        return;
    }
    case L_POINTS:
        t->field = F_SINGLE_LINE;
        if (parse_centi(val, &t->points_centi) || t->points_centi <= 0) {
            diag(t, line, "分值", "%s is not a number of points greater than 0 (up to 2 decimals)",
                 bank_text_clip(val, buf, sizeof buf));
            t->bad = 1;
        }
        return;
    case L_CODE:
        t->field = F_SINGLE_LINE;
        if (!(t->code = kc_arena_strndup(t->a, v, n))) t->oom = 1;
        return;
    case L_NONE:
        return;
    }
}

static void line_in(txt *t, const imp_line *l)
{
    const char *s = l->s, *e = l->s + l->n;
    imp__trim(&s, &e);
    if (s == e) return;
    int num, style, numeral;
    const char *rest, *val, *text;
    int in_text = t->active && (t->field == F_ANSWER || t->field == F_EXPL);

    int h = heading_at(s, e, &numeral);
    if (h >= 0 || (numeral && !in_text)) {
        finish(t);
        t->seen_item = 0;
        t->sect_points = per_item_points(s, e);
        if (h < 0) {
            diag(t, l->no, "题型", "the heading names no item type (单项选择题, 多项选择题, 判断题, "
                 "填空题, 简答题, 论述题, 计算题)");
            t->sect = 0;
            return;
        }
        t->sect = SECTIONS[h].ok ? 1 : -1;
        t->type = SECTIONS[h].type;
        snprintf(t->sect_label, sizeof t->sect_label, "%s题", SECTIONS[h].kw);
        return;
    }
    if (num_at(s, e, &num, &style, &rest)) {
        /* inside a multi-line answer, "1." may number its points: only the next item's
         * number in the item's own style starts a new item */
        if (!in_text || (style == t->style && num == t->number + 1)) {
            start_item(t, l->no, num, style, rest, e);
            return;
        }
    }
    enum label lb = label_at(s, e, &val);
    if (lb != L_NONE) {
        if (!t->active) {
            diag(t, l->no, "题号", "an 答案/解析 line outside any numbered item (\"1. …\")");
            return;
        }
        label_line(t, l->no, lb, val, e);
        return;
    }
    if (t->active && !t->bad && (t->field == F_STEM || t->field == F_OPTION) &&
        opt_at(s, e, &text) >= 0) {
        options_line(t, l->no, s, e);
        return;
    }
    if (!t->active) {
        /* the document's title and a section's instructions come before the first item */
        const char *dg = starts(s, e, "（") ? s + 3 : *s == '(' ? s + 1 : s;
        int digit = dg < e && *dg >= '0' && *dg <= '9';
        if (!t->seen_item && opt_at(s, e, &text) < 0 && !digit) return;
        diag(t, l->no, "题号", "text outside any numbered item (\"1. …\")");
        return;
    }
    switch (t->field) {
    case F_STEM: sb_add(t, &t->stem, s, (size_t)(e - s), 1); break;
    case F_ANSWER: sb_add(t, &t->answer, s, (size_t)(e - s), 1); break;
    case F_EXPL: sb_add(t, &t->expl, s, (size_t)(e - s), 1); break;
    case F_OPTION:
        if (!t->bad)
            diag(t, l->no, "选项", "is neither an option (A．…) nor an 答案/解析 line");
        t->bad = 1;
        break;
    default:
        if (!t->bad)
            diag(t, l->no, "题干", "text after the 答案/难度/分值/鉴定点 lines; is a number (\"1.\") missing?");
        t->bad = 1;
        break;
    }
}

int imp__text_parse(const char *name, const char *buf, size_t len, bank_itemset *set,
                    kc_diag *d)
{
    txt *t = calloc(1, sizeof *t);
    if (!t) return -1;
    t->set = set;
    t->d = d;
    t->a = set->arena;
    int rc = 0;
    imp_line *lines = NULL;
    size_t n = 0;
    if (!(t->name = kc_arena_strdup(set->arena, name ? name : "-")) ||
        imp__lines_split(buf, len, &lines, &n)) {
        rc = -1;
    } else {
        size_t items = set->n, diags = d->n;
        for (size_t i = 0; i < n && !t->oom; i++) line_in(t, &lines[i]);
        finish(t);
        if (!t->oom && set->n == items && d->n == diags)
            diag(t, 1, "file", "contains no numbered items (\"1. 题干\")");
        if (!t->oom && bank_itemset_drop_duplicates(set, d) < 0) t->oom = 1;
        if (t->oom) rc = -1;
    }
    free(lines);
    free(t->stem.p);
    free(t->answer.p);
    free(t->expl.p);
    for (int i = 0; i < BANK_MAX_OPTIONS; i++) free(t->opt[i].p);
    free(t);
    return rc;
}

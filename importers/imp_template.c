/* The Chinese template over a sheet of cells (from CSV or XLSX): items of every type
 * (docs/BANK.md "The CSV / XLSX template") and blueprints (鉴定要素细目表). Every problem is
 * one "WHERE:ROW: field: reason" line, WHERE being sheet->where; the lines come out in row
 * order, and within a row the item's own checks come before the syntax of single cells. */
#include "imp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- diagnostics in row order ---- */

/* The row number of a line "WHERE:ROW: …" or "WHERE!ROW: …" (WHERE ends in '!'). */
static long line_no(const char *s, size_t wlen)
{
    if (strlen(s) < wlen) return 0;
    s += wlen;
    if (*s == ':') s++;
    long n = 0;
    while (*s >= '0' && *s <= '9') n = n * 10 + (*s++ - '0');
    return n;
}

typedef struct keyed {
    long row;
    char *line;
} keyed;

/* Appends the lines of late to d, then sorts d's lines from `from` on by row, stably (a
 * merge sort: a file can have a problem on each of its rows). */
static int merge_in_row_order(kc_diag *d, size_t from, const kc_diag *late, const char *where)
{
    for (size_t i = 0; i < late->n; i++)
        if (kc_diag_append_line(d, late->lines[i])) return -1;
    size_t m = d->n - from;
    if (m < 2) return 0;
    keyed *k = malloc(m * sizeof *k), *tmp = malloc(m * sizeof *tmp);
    if (!k || !tmp) { free(k); free(tmp); return -1; }
    size_t wlen = strlen(where);
    for (size_t i = 0; i < m; i++) {
        k[i].line = d->lines[from + i];
        k[i].row = line_no(k[i].line, wlen);
    }
    for (size_t width = 1; width < m; width *= 2) {
        for (size_t lo = 0; lo < m; lo += 2 * width) {
            size_t mid = lo + width < m ? lo + width : m, hi = lo + 2 * width < m ? lo + 2 * width : m;
            size_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi) tmp[o++] = k[j].row < k[i].row ? k[j++] : k[i++];
            while (i < mid) tmp[o++] = k[i++];
            while (j < hi) tmp[o++] = k[j++];
        }
        keyed *sw = k;
        k = tmp;
        tmp = sw;
    }
    for (size_t i = 0; i < m; i++) d->lines[from + i] = k[i].line;
    free(k);
    free(tmp);
    return 0;
}

/* ---- header ---- */

enum col_kind {
    COL_BLANK,      /* header cell left empty: values there are an error */
    COL_UNKNOWN,    /* reported once at the header */
    COL_SEQ,        /* 题号: a row number in the sheet, not a stable id; ignored */
    COL_UID, COL_TYPE, COL_STEM, COL_OPTION, COL_ANSWER, COL_POINTS, COL_DIFFICULTY,
    COL_CODE, COL_EXPLANATION, COL_SOURCE, COL_OCCUPATION, COL_LEVEL, COL_TAGS, COL_AUTHOR,
    COL_POLICY, COL_PIN, COL_PARENT, COL_TIME, COL_EQUIPMENT, COL_RUBRIC,
    /* blueprint */
    COL_BP_DEPTH, COL_BP_CODE, COL_BP_NAME, COL_BP_WEIGHT, COL_BP_IMPORTANCE,
    COL_KINDS
};

typedef struct known_col {
    const char *name;
    enum col_kind kind;
    int opt;
} known_col;

static const known_col ITEM_COLS[] = {
    {"试题编号", COL_UID, 0},   {"试题GUID", COL_UID, 0},   {"题号", COL_SEQ, 0},
    {"题型", COL_TYPE, 0},      {"题干", COL_STEM, 0},
    {"选项A", COL_OPTION, 0},   {"选项B", COL_OPTION, 1},   {"选项C", COL_OPTION, 2},
    {"选项D", COL_OPTION, 3},   {"选项E", COL_OPTION, 4},   {"选项F", COL_OPTION, 5},
    {"选项G", COL_OPTION, 6},   {"选项H", COL_OPTION, 7},
    {"答案", COL_ANSWER, 0},    {"参考答案", COL_ANSWER, 0},
    {"分值", COL_POINTS, 0},    {"分数", COL_POINTS, 0},
    {"难度", COL_DIFFICULTY, 0}, {"鉴定点代码", COL_CODE, 0}, {"鉴定点", COL_CODE, 0},
    {"解析", COL_EXPLANATION, 0}, {"答案解析", COL_EXPLANATION, 0}, {"出处", COL_SOURCE, 0},
    {"职业代码", COL_OCCUPATION, 0}, {"等级", COL_LEVEL, 0}, {"标签", COL_TAGS, 0},
    {"命题人", COL_AUTHOR, 0},  {"多选计分", COL_POLICY, 0}, {"选项固定", COL_PIN, 0},
    {"所属题目", COL_PARENT, 0}, {"考核时间", COL_TIME, 0},  {"设备要求", COL_EQUIPMENT, 0},
    {"评分标准", COL_RUBRIC, 0},
};
#define ITEM_COL_LIST "试题编号, 题型, 题干, 选项A-选项H, 答案, 分值, 难度, 鉴定点代码, 解析, 出处, " \
    "职业代码, 等级, 标签, 命题人, 多选计分, 选项固定, 所属题目, 考核时间, 设备要求, 评分标准"

static const known_col BP_COLS[] = {
    {"级别", COL_BP_DEPTH, 0},  {"代码", COL_BP_CODE, 0},  {"名称", COL_BP_NAME, 0},
    {"鉴定比重", COL_BP_WEIGHT, 0}, {"鉴定比重(%)", COL_BP_WEIGHT, 0}, {"鉴定比重（%）", COL_BP_WEIGHT, 0},
    {"比重", COL_BP_WEIGHT, 0}, {"重要程度", COL_BP_IMPORTANCE, 0},
};
#define BP_COL_LIST "级别, 代码, 名称, 鉴定比重, 重要程度"

typedef struct col {
    enum col_kind kind;
    const char *name;       /* header text */
} col;

typedef struct tpl {
    const imp_sheet *sh;
    kc_arena *a;
    kc_diag *d;           /* the item's own checks, in call order */
    kc_diag late;         /* cell syntax, merged in row order at the end */
    const imp_row *hdr;
    col *cols;
    int slot[COL_KINDS];    /* column of each kind, -1 when absent */
    int opt_col[BANK_MAX_OPTIONS];
    int oom;
} tpl;

static void late(tpl *t, int line, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void late(tpl *t, int line, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (kc_diag_vadd(&t->late, t->sh->where, line, field, fmt, ap)) t->oom = 1;
    va_end(ap);
}

/* The header name of column i, or "column N" (1-based) for a column without one. */
static const char *col_name(const tpl *t, int i, char *buf, size_t len)
{
    if (i < t->hdr->ncells && *t->hdr->cells[i]) return t->hdr->cells[i];
    snprintf(buf, len, "column %d", i + 1);
    return buf;
}

static const char *cell(const imp_row *r, int i)
{
    return i >= 0 && i < r->ncells ? r->cells[i] : "";
}

static const char *val(const tpl *t, const imp_row *r, enum col_kind k)
{
    return cell(r, t->slot[k]);
}

/* Returns 0 when the required columns are all there. */
static int read_header(tpl *t, const known_col *known, size_t nknown, const char *list,
                       const enum col_kind *req, const char *const *req_names, size_t nreq)
{
    const imp_row *h = t->hdr;
    char nbuf[32];
    if (h->bad_cell >= 0) {
        late(t, h->line, "header", "unexpected text after the closing quote in column %d", h->bad_cell + 1);
        return -1;
    }
    t->cols = kc_arena_alloc(t->a, (size_t)(h->ncells + 1) * sizeof *t->cols);
    if (!t->cols) { t->oom = 1; return -1; }
    for (int k = 0; k < COL_KINDS; k++) t->slot[k] = -1;
    for (int k = 0; k < BANK_MAX_OPTIONS; k++) t->opt_col[k] = -1;
    for (int i = 0; i < h->ncells; i++) {
        col *cl = &t->cols[i];
        const char *name = h->cells[i];
        cl->name = name;
        if (!*name) { cl->kind = COL_BLANK; continue; }
        const known_col *kc = NULL;
        for (size_t j = 0; j < nknown && !kc; j++)
            if (strcmp(name, known[j].name) == 0) kc = &known[j];
        if (!kc) {
            cl->kind = COL_UNKNOWN;
            if (kc_diag_add(t->d, t->sh->where, h->line, name, "unknown column; the columns are %s", list))
                t->oom = 1;
            continue;
        }
        int *slot = kc->kind == COL_OPTION ? &t->opt_col[kc->opt] : &t->slot[kc->kind];
        if (*slot >= 0) {
            cl->kind = COL_UNKNOWN;
            const char *first = col_name(t, *slot, nbuf, sizeof nbuf);
            if (strcmp(first, name) == 0) kc_diag_add(t->d, t->sh->where, h->line, name, "column appears twice");
            else kc_diag_add(t->d, t->sh->where, h->line, name, "same column as %s", first);
            continue;
        }
        *slot = i;
        cl->kind = kc->kind;
    }
    int missing = 0;
    for (size_t k = 0; k < nreq; k++)
        if (t->slot[req[k]] < 0) {
            if (kc_diag_add(t->d, t->sh->where, h->line, req_names[k], "required column is missing"))
                t->oom = 1;
            missing++;
        }
    return missing ? -1 : 0;
}

/* Cells of a row beyond the named columns. Returns the number reported. */
static int check_unnamed(tpl *t, const imp_row *r)
{
    char nbuf[32];
    int bad = 0;
    for (int i = 0; i < r->ncells; i++) {
        if ((i < t->hdr->ncells && t->cols[i].kind != COL_BLANK) || !*r->cells[i]) continue;
        late(t, r->line, col_name(t, i, nbuf, sizeof nbuf), "has a value but no column name");
        bad++;
    }
    return bad;
}

static int stray_quote(tpl *t, const imp_row *r)
{
    char nbuf[32];
    if (r->bad_cell < 0) return 0;
    late(t, r->line, col_name(t, r->bad_cell, nbuf, sizeof nbuf), "unexpected text after the closing quote");
    return 1;
}

static const char *dup_or_null(tpl *t, const char *s)
{
    if (!*s) return NULL;
    char *p = kc_arena_strdup(t->a, s);
    if (!p) t->oom = 1;
    return p;
}

/* bank_centi_parse with a unit allowed after it, spaces between ("2 分", "30%"). */
static int parse_centi(const char *s, const char *unit, int *out)
{
    const char *rest;
    int rc = bank_centi_parse(s, &rest, out);
    if (rc) return rc;
    while (*rest == ' ') rest++;
    return !*rest || strcmp(rest, unit) == 0 ? 0 : -1;
}

/* ---- items ---- */

typedef struct row_item {
    bank_item it;
    const imp_row *row;
    int parsed;             /* the row is an item (type known) */
    int bad;                /* problems found while reading its cells */
    int parent;             /* index of its composite in the rows, or -1 */
    int points_given;
    int *kids;              /* composite: indices of its sub-item rows */
    int n_kids, cap_kids;
    int kids_bad;           /* a sub-item row has problems */
} row_item;

static int add_kid(tpl *t, row_item *p, int idx)
{
    if (p->n_kids == p->cap_kids) {
        int cap = p->cap_kids ? p->cap_kids * 2 : 8;
        int *k = kc_arena_alloc(t->a, (size_t)cap * sizeof *k);
        if (!k) { t->oom = 1; return -1; }
        if (p->n_kids) memcpy(k, p->kids, (size_t)p->n_kids * sizeof *k);
        p->kids = k;
        p->cap_kids = cap;
    }
    p->kids[p->n_kids++] = idx;
    return 0;
}

static int split_tags(tpl *t, const char *s, bank_item *it)
{
    static const char *const SEPS[] = {";", "；", ",", "，", "、"};
    size_t cap = 1;
    for (const char *p = s; *p; p++) cap++;
    const char **tags = kc_arena_alloc(t->a, cap * sizeof *tags);
    if (!tags) { t->oom = 1; return -1; }
    int n = 0;
    const char *start = s, *p = s;
    for (;;) {
        size_t seplen = 0;
        for (size_t i = 0; i < COUNT(SEPS) && !seplen; i++)
            if (strncmp(p, SEPS[i], strlen(SEPS[i])) == 0) seplen = strlen(SEPS[i]);
        if (seplen || !*p) {
            const char *a = start, *b = p;
            while (a < b && (*a == ' ' || *a == '\t')) a++;
            while (b > a && (b[-1] == ' ' || b[-1] == '\t')) b--;
            if (b > a) {
                char *tag = kc_arena_strndup(t->a, a, (size_t)(b - a));
                if (!tag) { t->oom = 1; return -1; }
                int dup = 0;
                for (int i = 0; i < n && !dup; i++) dup = strcmp(tags[i], tag) == 0;
                if (!dup) tags[n++] = tag;
            }
            if (!*p) break;
            p += seplen;
            start = p;
            continue;
        }
        p++;
    }
    it->tags = tags;
    it->n_tags = n;
    return 0;
}

static int yes_no(const char *s)
{
    static const char *const YES[] = {"是", "1", "Y", "yes", "true", "对"};
    static const char *const NO[] = {"否", "0", "N", "no", "false", "错"};
    for (size_t i = 0; i < COUNT(YES); i++)
        if (strcasecmp(s, YES[i]) == 0) return 1;
    for (size_t i = 0; i < COUNT(NO); i++)
        if (strcasecmp(s, NO[i]) == 0) return 0;
    return -1;
}

/* Minutes: "90", "90分钟", "90 min". */
static int parse_minutes(const char *s)
{
    long v = 0;
    int digits = 0;
    for (; *s >= '0' && *s <= '9'; s++, digits++)
        if ((v = v * 10 + (*s - '0')) > 100000) return -1;
    if (*s == '.' && s[1]) for (s++; *s == '0'; s++) {}   /* a number cell: "30.0" */
    while (*s == ' ') s++;
    if (strcmp(s, "分钟") == 0 || strcasecmp(s, "min") == 0 || strcmp(s, "分") == 0) s += strlen(s);
    return digits && !*s ? (int)v : -1;
}

static const char TYPES_HINT[] = "use 单选题, 多选题, 判断题, 填空题, 简答题, 论述题, 组合题 or 实操题";

/* Reads the cells of one row into ri. Problems of single cells go to t->late. */
static void read_item_row(tpl *t, row_item *ri)
{
    const imp_row *r = ri->row;
    int line = r->line;
    char nbuf[104];
    ri->parent = -1;
    if (stray_quote(t, r)) { ri->bad++; return; }
    const char *type = val(t, r, COL_TYPE);
    enum bank_item_type ty;
    if (!*type) {
        late(t, line, "题型", "is empty");
        ri->bad++;
        return;
    }
    if (bank_type_parse_label(type, &ty)) {
        late(t, line, "题型", "%s is not a known item type; %s", bank_text_clip(type, nbuf, sizeof nbuf),
             TYPES_HINT);
        ri->bad++;
        return;
    }
    bank_item *it = &ri->it;
    it->file = t->sh->where;
    it->line = line;
    it->version = 1;
    it->type = ty;
    it->uid = dup_or_null(t, val(t, r, COL_UID));
    it->stem = dup_or_null(t, val(t, r, COL_STEM));
    int last = -1;
    for (int k = 0; k < BANK_MAX_OPTIONS; k++) {
        const char *o = cell(r, t->opt_col[k]);
        if (*o) {
            it->options[k] = dup_or_null(t, o);
            last = k;
        }
    }
    it->n_options = last + 1;
    if (bank_key_normalize(ty, val(t, r, COL_ANSWER), t->a, &it->answer) < 0) { t->oom = 1; return; }

    /* Syntax problems of single cells are reported after the item's own checks (column
     * order); a placeholder keeps bank_item_validate from reporting them a second time. */
    const char *pts = val(t, r, COL_POINTS);
    it->points_centi = 100;
    if (*pts) {
        const char *why = NULL;
        switch (parse_centi(pts, "分", &it->points_centi)) {
        case 0: ri->points_given = 1; break;
        case -2: why = "has more than 2 decimal places"; break;
        case -3: why = "is more than 100"; break;
        default: why = "is not a number"; break;
        }
        if (why) {
            it->points_centi = 100;
            ri->points_given = 1;     /* a sum would hide the mistake */
            late(t, line, "分值", "%s %s", bank_text_clip(pts, nbuf, sizeof nbuf), why);
            ri->bad++;
        }
    }
    const char *dif = val(t, r, COL_DIFFICULTY);
    if (*dif) {
        /* a spreadsheet may hand a number cell over as "3.0" */
        const char *z = dif + 1;
        if (*z == '.' && z[1]) for (z++; *z == '0'; z++) {}
        if (dif[0] >= '1' && dif[0] <= '5' && *z == 0) {
            it->difficulty = dif[0] - '0';
        } else {
            late(t, line, "难度", "%s is not an integer from 1 to 5", bank_text_clip(dif, nbuf, sizeof nbuf));
            ri->bad++;
        }
    }
    it->point_code = dup_or_null(t, val(t, r, COL_CODE));
    it->explanation = dup_or_null(t, val(t, r, COL_EXPLANATION));
    it->source = dup_or_null(t, val(t, r, COL_SOURCE));
    it->occupation = dup_or_null(t, val(t, r, COL_OCCUPATION));
    it->author = dup_or_null(t, val(t, r, COL_AUTHOR));
    const char *lvl = val(t, r, COL_LEVEL);
    if (*lvl) {
        int l = bank_level_parse(lvl);
        if (l < 0) {
            late(t, line, "等级", "%s is not a level such as 四级, 4级, 中级工 or L4",
                 bank_text_clip(lvl, nbuf, sizeof nbuf));
            ri->bad++;
        } else {
            it->level = l;
        }
    }
    const char *tags = val(t, r, COL_TAGS);
    if (*tags && split_tags(t, tags, it)) return;
    const char *pol = val(t, r, COL_POLICY);
    if (*pol && bank_mc_policy_parse(pol, &it->mc_policy)) {
        late(t, line, "多选计分", "%s is not all, half or ratio (全对得分, 少选得半分, 按比例)",
             bank_text_clip(pol, nbuf, sizeof nbuf));
        ri->bad++;
    }
    const char *pin = val(t, r, COL_PIN);
    if (*pin) {
        int v = yes_no(pin);
        if (v < 0) {
            late(t, line, "选项固定", "%s is not 是 or 否", bank_text_clip(pin, nbuf, sizeof nbuf));
            ri->bad++;
        } else {
            it->pin_options = v;
        }
    }
    const char *tm = val(t, r, COL_TIME);
    if (*tm) {
        int m = parse_minutes(tm);
        if (m < 0) {
            late(t, line, "考核时间", "%s is not a number of minutes", bank_text_clip(tm, nbuf, sizeof nbuf));
            ri->bad++;
        } else if (m == 0) {
            late(t, line, "考核时间", "0 minutes; give the time allowed");
            ri->bad++;
        } else {
            it->time_minutes = m;
        }
    }
    it->equipment = dup_or_null(t, val(t, r, COL_EQUIPMENT));
    const char *rub = val(t, r, COL_RUBRIC);
    if (*rub) {
        int bad_line;
        char why[256];
        if (bank_rubric_parse(rub, t->a, &it->criteria, &it->n_criteria, &bad_line, why, sizeof why)) {
            if (bad_line > 0) late(t, line, "评分标准", "line %d: %s", bad_line, why);
            else late(t, line, "评分标准", "%s", why);
            ri->bad++;
            /* one criterion worth the item keeps validation from reporting the rubric again */
            if (!(it->criteria = kc_arena_alloc(t->a, sizeof *it->criteria))) { t->oom = 1; return; }
            it->criteria[0] = (bank_criterion){"-", it->points_centi, 0};
            it->n_criteria = 1;
            ri->points_given = 1;
        }
    }
    ri->bad += check_unnamed(t, r);
    ri->parsed = 1;
}

/* The composite a row with 所属题目 belongs to: an earlier composite row of that 试题编号. */
static void find_parent(tpl *t, row_item *rows, int idx, const int *composites, int n_comp)
{
    row_item *ri = &rows[idx];
    const char *ref = val(t, ri->row, COL_PARENT);
    char nbuf[104];
    if (!*ref) return;
    for (int i = n_comp - 1; i >= 0; i--) {
        row_item *c = &rows[composites[i]];
        if (c->it.uid && strcmp(c->it.uid, ref) == 0) {
            ri->parent = composites[i];
            return;
        }
    }
    for (int i = idx - 1; i >= 0; i--)
        if (rows[i].parsed && rows[i].it.uid && strcmp(rows[i].it.uid, ref) == 0) {
            late(t, ri->row->line, "所属题目", "%s is a %s on line %d, not a composite item (组合题)",
                 bank_text_clip(ref, nbuf, sizeof nbuf), bank_type_label(rows[i].it.type), rows[i].row->line);
            ri->bad++;
            return;
        }
    late(t, ri->row->line, "所属题目", "%s is not the 试题编号 of a composite item (组合题) above this row",
         bank_text_clip(ref, nbuf, sizeof nbuf));
    ri->bad++;
}

int imp__template_items(const imp_sheet *sh, bank_itemset *set, kc_diag *d)
{
    tpl t;
    memset(&t, 0, sizeof t);
    t.sh = sh;
    t.a = set->arena;
    t.d = d;
    kc_diag_init(&t.late, d->arena);
    size_t before = d->n;
    if (!sh->n) {
        return kc_diag_add(d, sh->where, 1, "file", "is empty; expected a header row and items") ? -1 : 1;
    }
    t.hdr = &sh->rows[0];
    static const enum col_kind req[] = {COL_TYPE, COL_STEM};
    static const char *const req_names[] = {"题型", "题干"};
    if (read_header(&t, ITEM_COLS, COUNT(ITEM_COLS), ITEM_COL_LIST, req, req_names, COUNT(req)) || t.oom) {
        if (merge_in_row_order(d, before, &t.late, sh->where) || t.oom) return -1;
        return 1;
    }
    if (sh->n == 1) {
        if (kc_diag_add(d, sh->where, t.hdr->line, "file", "has a header row but no items")) return -1;
        return 1;
    }
    size_t nrows = sh->n - 1;
    row_item *rows = kc_arena_alloc(t.a, nrows * sizeof *rows);
    int *composites = kc_arena_alloc(t.a, nrows * sizeof *composites);
    if (!rows || !composites) return -1;
    int n_comp = 0;
    for (size_t i = 0; i < nrows && !t.oom; i++) {
        row_item *ri = &rows[i];
        ri->row = &sh->rows[i + 1];
        read_item_row(&t, ri);
        find_parent(&t, rows, (int)i, composites, n_comp);
        if (ri->parent >= 0) {
            row_item *p = &rows[ri->parent];
            if (add_kid(&t, p, (int)i)) break;
            if (ri->bad || !ri->parsed) p->kids_bad = 1;
        }
        if (ri->parsed && ri->it.type == BANK_COMPOSITE) composites[n_comp++] = (int)i;
    }
    if (t.oom) return -1;

    /* a composite and its sub-items are one item: checked together, kept or rejected together */
    for (int c = 0; c < n_comp; c++) {
        row_item *p = &rows[composites[c]];
        bank_item *it = &p->it;
        int n = 0;
        it->children = kc_arena_alloc(t.a, (size_t)(p->n_kids ? p->n_kids : 1) * sizeof *it->children);
        if (!it->children) return -1;
        long sum = 0;
        for (int k = 0; k < p->n_kids; k++) {
            row_item *kr = &rows[p->kids[k]];
            if (!kr->parsed) continue;
            bank_item *ch = &it->children[n++];
            *ch = kr->it;
            if (!ch->occupation) ch->occupation = it->occupation;
            if (!ch->level) ch->level = it->level;
            sum += ch->points_centi;
        }
        it->n_children = n;
        if (!p->points_given && n) it->points_centi = sum > 1000000 ? 1000000 : (int)sum;
    }
    for (size_t i = 0; i < nrows; i++) {
        row_item *ri = &rows[i];
        if (ri->parsed && ri->it.type == BANK_PRACTICAL && !ri->points_given && ri->it.n_criteria) {
            long sum = 0;
            for (int k = 0; k < ri->it.n_criteria; k++) sum += ri->it.criteria[k].points_centi;
            ri->it.points_centi = sum > 1000000 ? 1000000 : (int)sum;   /* validation says it is too much */
        }
    }

    for (size_t i = 0; i < nrows; i++) {
        row_item *ri = &rows[i];
        if (!ri->parsed || ri->parent >= 0) continue;
        size_t n0 = d->n;
        int removed = 0;
        if (bank_item_prepare(&ri->it, BANK_TEXT_AUTO, t.a, &removed)) return -1;
        if (bank_item_validate(&ri->it, d) || d->n != n0 || ri->bad || ri->kids_bad) continue;
        if (bank_item_finalize(&ri->it, t.a)) return -1;
        bank_item *slot = bank_itemset_push(set);
        if (!slot) return -1;
        *slot = ri->it;
    }
    if (merge_in_row_order(d, before, &t.late, sh->where)) return -1;
    return d->n > before ? 1 : 0;
}

/* ---- blueprints ---- */

int imp__template_blueprint(const imp_sheet *sh, bank_blueprint *b, kc_diag *d)
{
    tpl t;
    memset(&t, 0, sizeof t);
    t.sh = sh;
    t.a = b->arena;
    t.d = d;
    kc_diag_init(&t.late, d->arena);
    size_t before = d->n;
    char nbuf[104];
    if (!b->file) b->file = sh->where;
    if (!sh->n)
        return kc_diag_add(d, sh->where, 1, "file", "is empty; expected a header row and the blueprint") ? -1 : 1;
    t.hdr = &sh->rows[0];
    static const enum col_kind req[] = {COL_BP_DEPTH, COL_BP_CODE, COL_BP_NAME};
    static const char *const req_names[] = {"级别", "代码", "名称"};
    if (read_header(&t, BP_COLS, COUNT(BP_COLS), BP_COL_LIST, req, req_names, COUNT(req)) || t.oom) {
        if (merge_in_row_order(d, before, &t.late, sh->where) || t.oom) return -1;
        return 1;
    }
    /* the nearest range of each depth above the current row */
    int last_at[16];
    for (int k = 0; k < 16; k++) last_at[k] = -1;
    int last_range = -1;
    for (size_t i = 1; i < sh->n && !t.oom; i++) {
        const imp_row *r = &sh->rows[i];
        if (stray_quote(&t, r)) continue;
        check_unnamed(&t, r);
        const char *lvl = val(&t, r, COL_BP_DEPTH);
        int is_point = strcmp(lvl, "鉴定点") == 0 || strcmp(lvl, "点") == 0 || strcasecmp(lvl, "point") == 0;
        int depth = 0;
        if (!is_point) {
            if (lvl[0] >= '1' && lvl[0] <= '9' && !lvl[1]) {
                depth = lvl[0] - '0';
            } else {
                if (*lvl) late(&t, r->line, "级别", "%s is not a depth 1, 2, 3 … or 鉴定点",
                               bank_text_clip(lvl, nbuf, sizeof nbuf));
                else late(&t, r->line, "级别", "is empty; write 1, 2, 3 … for a 鉴定范围 or 鉴定点");
                continue;
            }
        }
        bank_bp_node *n = bank_blueprint_push(b);
        if (!n) return -1;
        int idx = (int)b->n - 1;
        n->line = r->line;
        n->is_point = is_point;
        n->code = kc_arena_strdup(t.a, val(&t, r, COL_BP_CODE));
        n->name = kc_arena_strdup(t.a, val(&t, r, COL_BP_NAME));
        if (!n->code || !n->name) return -1;
        const char *w = val(&t, r, COL_BP_WEIGHT);
        if (*w) {
            int rc = parse_centi(w, "%", &n->weight_centi);
            if (rc || n->weight_centi < 0) {
                late(&t, r->line, "鉴定比重", "%s is not a percentage with up to 2 decimals",
                     bank_text_clip(w, nbuf, sizeof nbuf));
                n->weight_centi = is_point ? 0 : 1;   /* reported here, not again as "empty" */
            }
        }
        const char *imp = val(&t, r, COL_BP_IMPORTANCE);
        if (*imp) {
            char c = (char)((imp[0] >= 'a' && imp[0] <= 'z') ? imp[0] - 32 : imp[0]);
            if ((c == 'X' || c == 'Y' || c == 'Z') && !imp[1]) {
                n->importance = c;
            } else {
                late(&t, r->line, "重要程度", "%s is not X, Y or Z", bank_text_clip(imp, nbuf, sizeof nbuf));
                if (is_point) n->importance = 'X';    /* reported here already */
            }
        }
        if (is_point) {
            n->parent = last_range;
            n->depth = last_range >= 0 ? b->nodes[last_range].depth + 1 : 1;
        } else {
            n->depth = depth;
            n->parent = depth > 1 ? last_at[depth - 1] : -1;
            last_at[depth] = idx;
            for (int k = depth + 1; k < 16; k++) last_at[k] = -1;
            last_range = idx;
        }
    }
    if (t.oom || merge_in_row_order(d, before, &t.late, sh->where)) return -1;
    return d->n > before ? 1 : 0;
}

/* The CSV question-bank template (RFC 4180): a header row naming the columns, one item per
 * record. Every problem is one "FILE:LINE: field: reason" line, LINE being the physical
 * line where the record starts. */
#include "imp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum col_kind {
    COL_BLANK,      /* header cell left empty: values there are an error */
    COL_UNKNOWN,    /* reported once at the header */
    COL_SEQ,        /* 题号: a row number in the sheet, not a stable id; ignored */
    COL_UID, COL_TYPE, COL_STEM, COL_OPTION, COL_ANSWER, COL_POINTS, COL_DIFFICULTY,
    COL_CODE, COL_EXPLANATION, COL_SOURCE,
    COL_KINDS
};

static const struct known_col {
    const char *name;
    enum col_kind kind;
    int opt;
} KNOWN[] = {
    {"试题编号", COL_UID, 0},   {"试题GUID", COL_UID, 0},   {"题号", COL_SEQ, 0},
    {"题型", COL_TYPE, 0},      {"题干", COL_STEM, 0},
    {"选项A", COL_OPTION, 0},   {"选项B", COL_OPTION, 1},   {"选项C", COL_OPTION, 2},
    {"选项D", COL_OPTION, 3},   {"选项E", COL_OPTION, 4},   {"选项F", COL_OPTION, 5},
    {"选项G", COL_OPTION, 6},   {"选项H", COL_OPTION, 7},
    {"答案", COL_ANSWER, 0},    {"分值", COL_POINTS, 0},    {"分数", COL_POINTS, 0},
    {"难度", COL_DIFFICULTY, 0}, {"鉴定点代码", COL_CODE, 0}, {"鉴定点", COL_CODE, 0},
    {"解析", COL_EXPLANATION, 0}, {"出处", COL_SOURCE, 0},
};
#define KNOWN_LIST "试题编号, 题型, 题干, 选项A-选项H, 答案, 分值, 难度, 鉴定点代码, 解析, 出处"

static const char *const SINGLE_NAMES[] = {"单选题", "单选", "单项选择题", "20", "single"};
/* Types of the template that later versions import. */
static const char *const LATER_NAMES[] = {
    "多选题", "多选", "多项选择题", "30", "multi", "multiple",
    "判断题", "判断", "10", "tf", "judge",
    "填空题", "填空", "40", "fill",
    "简答题", "简答", "50", "short",
    "组合题", "60", "composite",
    "计算题", "70",
    "论述题", "80", "essay",
    "案例分析题", "案例分析", "90", "case",
    "实操题", "practical",
};

/* ---- the record reader ---- */

typedef struct reader {
    const char *p, *end;
    int line;               /* physical line at p */
    char *buf;              /* the current record's fields, each NUL-terminated */
    size_t blen, bcap;
    size_t *off;            /* field start offsets into buf */
    char **fv;              /* trimmed field values, valid until the next record */
    size_t nf, fcap;
    int rec_line;           /* line where the current record starts */
    int stray_field;        /* first field with text after its closing quote, or -1 */
    int open_line, open_field;  /* an unterminated quoted field */
} reader;

static int rd_put(reader *r, char c)
{
    if (r->blen == r->bcap) {
        size_t cap = r->bcap ? r->bcap * 2 : 4096;
        char *b = realloc(r->buf, cap);
        if (!b) return -1;
        r->buf = b;
        r->bcap = cap;
    }
    r->buf[r->blen++] = c;
    return 0;
}

static int rd_field(reader *r)
{
    if (r->nf == r->fcap) {
        size_t cap = r->fcap ? r->fcap * 2 : 32;
        size_t *off = realloc(r->off, cap * sizeof *off);
        if (!off) return -1;
        r->off = off;
        char **fv = realloc(r->fv, cap * sizeof *fv);
        if (!fv) return -1;
        r->fv = fv;
        r->fcap = cap;
    }
    r->off[r->nf++] = r->blen;
    return 0;
}

static int is_eol(char c) { return c == '\n' || c == '\r'; }

/* Consumes one line break (CRLF, LF or a lone CR) at r->p. */
static void rd_eol(reader *r)
{
    if (*r->p == '\r' && r->p + 1 < r->end && r->p[1] == '\n') r->p++;
    r->p++;
    r->line++;
}

/* ASCII whitespace, U+00A0 and U+3000 (the full-width space Chinese text is full of). */
static size_t space_at(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    if (*u == ' ' || (*u >= '\t' && *u <= '\r')) return 1;
    if (u[0] == 0xC2 && u[1] == 0xA0) return 2;
    if (u[0] == 0xE3 && u[1] == 0x80 && u[2] == 0x80) return 3;
    return 0;
}

static char *trim(char *s)
{
    size_t k;
    while ((k = space_at(s))) s += k;
    char *end = s + strlen(s), *last = s;
    for (char *q = s; q < end;) {
        if ((k = space_at(q))) { q += k; continue; }
        q++;
        last = q;
    }
    *last = 0;
    return s;
}

/* Reads one record. Returns 1, 0 at the end of the text, -1 for an unterminated quoted
 * field (open_line, open_field), -2 on OOM. */
static int read_record(reader *r)
{
    if (r->p >= r->end) return 0;
    r->rec_line = r->line;
    r->blen = 0;
    r->nf = 0;
    r->stray_field = -1;
    for (;;) {
        if (rd_field(r)) return -2;
        if (r->p < r->end && *r->p == '"') {
            int qline = r->line;
            r->p++;
            for (;;) {
                if (r->p >= r->end) {
                    r->open_line = qline;
                    r->open_field = (int)r->nf - 1;
                    return -1;
                }
                char c = *r->p;
                if (c == '"') {
                    if (r->p + 1 < r->end && r->p[1] == '"') {
                        if (rd_put(r, '"')) return -2;
                        r->p += 2;
                        continue;
                    }
                    r->p++;
                    break;
                }
                if (is_eol(c)) {
                    rd_eol(r);          /* a line break inside a field is stored as \n */
                    if (rd_put(r, '\n')) return -2;
                    continue;
                }
                if (rd_put(r, c)) return -2;
                r->p++;
            }
            /* RFC 4180 allows nothing between the closing quote and the separator */
            if (r->p < r->end && *r->p != ',' && !is_eol(*r->p) && r->stray_field < 0)
                r->stray_field = (int)r->nf - 1;
        }
        while (r->p < r->end && *r->p != ',' && !is_eol(*r->p))
            if (rd_put(r, *r->p++)) return -2;
        if (rd_put(r, 0)) return -2;
        if (r->p >= r->end) break;
        if (*r->p == ',') {
            r->p++;
            continue;
        }
        rd_eol(r);
        break;
    }
    int blank = 1;
    for (size_t i = 0; i < r->nf; i++) {
        r->fv[i] = trim(r->buf + r->off[i]);
        if (*r->fv[i]) blank = 0;
    }
    return blank ? 2 : 1;
}

/* ---- the template ---- */

typedef struct col {
    enum col_kind kind;
    int opt;
    const char *name;       /* header text, trimmed */
} col;

typedef struct csv {
    const char *name;       /* display name, copied into the set's arena */
    bank_itemset *set;
    bank_diag *d;
    reader r;
    col *cols;
    size_t ncols;
    int slot[COL_KINDS];    /* column of each kind, -1 when absent */
    int opt_col[BANK_MAX_OPTIONS];
    int oom;
} csv;

static void diag(csv *c, int line, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void diag(csv *c, int line, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char reason[1024];
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (bank_diag_add(c->d, c->name, line, field, "%s", reason)) c->oom = 1;
}

/* The header name of column i, or "column N" (1-based) for a column without one. */
static const char *col_name(const csv *c, size_t i, char *buf, size_t len)
{
    if (i < c->ncols && c->cols[i].name && *c->cols[i].name) return c->cols[i].name;
    snprintf(buf, len, "column %zu", i + 1);
    return buf;
}

static const char *val(const csv *c, enum col_kind k)
{
    int i = c->slot[k];
    return i >= 0 && (size_t)i < c->r.nf ? c->r.fv[i] : "";
}

static const char *dup_or_null(csv *c, const char *s)
{
    if (!*s) return NULL;
    char *p = bank_arena_strdup(c->set->arena, s);
    if (!p) c->oom = 1;
    return p;
}

static int name_in(const char *s, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(s, names[i]) == 0) return 1;
    return 0;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Returns 0 when the columns needed to read items are all there. */
static int read_header(csv *c)
{
    reader *r = &c->r;
    int line = r->rec_line;
    c->ncols = r->nf;
    c->cols = bank_arena_alloc(c->set->arena, r->nf * sizeof *c->cols);
    if (!c->cols) { c->oom = 1; return -1; }
    for (int k = 0; k < COL_KINDS; k++) c->slot[k] = -1;
    for (int k = 0; k < BANK_MAX_OPTIONS; k++) c->opt_col[k] = -1;
    for (size_t i = 0; i < r->nf; i++) {
        col *cl = &c->cols[i];
        const char *h = r->fv[i];
        cl->name = bank_arena_strdup(c->set->arena, h);
        if (!cl->name) { c->oom = 1; return -1; }
        if (!*h) { cl->kind = COL_BLANK; continue; }
        const struct known_col *kc = NULL;
        for (size_t j = 0; j < COUNT(KNOWN) && !kc; j++)
            if (strcmp(h, KNOWN[j].name) == 0) kc = &KNOWN[j];
        if (!kc) {
            cl->kind = COL_UNKNOWN;
            diag(c, line, h, "unknown column; the columns are " KNOWN_LIST);
            continue;
        }
        int *slot = kc->kind == COL_OPTION ? &c->opt_col[kc->opt] : &c->slot[kc->kind];
        if (*slot >= 0) {
            cl->kind = COL_UNKNOWN;
            const char *first = c->cols[*slot].name;
            if (strcmp(first, h) == 0) diag(c, line, h, "column appears twice");
            else diag(c, line, h, "same column as %s", first);
            continue;
        }
        *slot = (int)i;
        cl->kind = kc->kind;
        cl->opt = kc->opt;
    }
    static const struct { enum col_kind kind; const char *name; } required[] = {
        {COL_TYPE, "题型"}, {COL_STEM, "题干"}, {COL_ANSWER, "答案"}};
    int missing = 0;
    for (size_t k = 0; k < COUNT(required); k++)
        if (c->slot[required[k].kind] < 0) {
            diag(c, line, required[k].name, "required column is missing");
            missing++;
        }
    return missing ? -1 : 0;
}

/* "1", "1.5", "0.25" -> centi. Returns 0, -1 not a number, -2 more than 2 decimals,
 * -3 absurdly large. */
static int parse_centi(const char *s, int *out)
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
        if (*s) return -1;
        digits += (int)(s - f);
        size_t n = (size_t)(s - f);
        while (n && f[n - 1] == '0') n--;  /* Excel may write 1.50 */
        if (n > 2) return -2;
        for (size_t i = 0; i < 2; i++) frac = frac * 10 + (i < n ? f[i] - '0' : 0);
    }
    if (*s || !digits) return -1;
    long v = whole * 100 + frac;
    *out = (int)(neg ? -v : v);
    return 0;
}

static void read_row(csv *c)
{
    reader *r = &c->r;
    int line = r->rec_line;
    size_t before = c->d->n;
    char nbuf[104];

    if (r->stray_field >= 0) {
        diag(c, line, col_name(c, (size_t)r->stray_field, nbuf, sizeof nbuf),
             "unexpected text after the closing quote");
        return;
    }
    const char *type = val(c, COL_TYPE);
    if (!*type) {
        diag(c, line, "题型", "is empty");
        return;
    }
    if (!name_in(type, SINGLE_NAMES, COUNT(SINGLE_NAMES))) {
        if (name_in(type, LATER_NAMES, COUNT(LATER_NAMES)))
            diag(c, line, "题型",
                 "%s is not supported yet; this version imports single-choice items only", type);
        else
            diag(c, line, "题型", "%s is not a known item type; use 单选题",
                 bank_text_clip(type, nbuf, sizeof nbuf));
        return;
    }

    bank_item it;
    memset(&it, 0, sizeof it);
    it.file = c->name;
    it.line = line;
    it.version = 1;
    it.type = BANK_SINGLE;
    it.uid = dup_or_null(c, val(c, COL_UID));
    it.stem = dup_or_null(c, val(c, COL_STEM));
    int last = -1;
    for (int k = 0; k < BANK_MAX_OPTIONS; k++) {
        int i = c->opt_col[k];
        if (i >= 0 && (size_t)i < r->nf && *r->fv[i]) {
            it.options[k] = dup_or_null(c, r->fv[i]);
            last = k;
        }
    }
    it.n_options = last + 1;
    const char *ans = val(c, COL_ANSWER);
    char key[8];
    bank_rinfo ri = {BANK_SINGLE, BANK_MAX_OPTIONS, 0};
    if (*ans && bank_response_normalize(&ri, ans, key, sizeof key) == 0)
        it.answer = dup_or_null(c, key);
    else
        it.answer = dup_or_null(c, ans);   /* bank_item_validate says what is wrong with it */

    /* Syntax problems of 分值 and 难度 are reported after the item's own checks (column
     * order); a placeholder keeps bank_item_validate from reporting them a second time. */
    const char *pts = val(c, COL_POINTS), *pts_err = NULL;
    it.points_centi = 100;
    if (*pts) {
        switch (parse_centi(pts, &it.points_centi)) {
        case 0: break;
        case -2: pts_err = "has more than 2 decimal places"; break;
        case -3: pts_err = "is more than 100"; break;
        default: pts_err = "is not a number"; break;
        }
        if (pts_err) it.points_centi = 100;
    }
    const char *dif = val(c, COL_DIFFICULTY);
    int dif_bad = 0;
    if (*dif) {
        dif_bad = !(dif[0] >= '1' && dif[0] <= '5' && dif[1] == 0);
        if (!dif_bad) it.difficulty = dif[0] - '0';
    }
    it.point_code = dup_or_null(c, val(c, COL_CODE));
    it.explanation = dup_or_null(c, val(c, COL_EXPLANATION));
    it.source = dup_or_null(c, val(c, COL_SOURCE));
    if (c->oom) return;

    bank_item_validate(&it, c->d);
    if (pts_err) diag(c, line, "分值", "%s %s", bank_text_clip(pts, nbuf, sizeof nbuf), pts_err);
    if (dif_bad) diag(c, line, "难度", "%s is not an integer from 1 to 5", bank_text_clip(dif, nbuf, sizeof nbuf));
    for (size_t i = 0; i < r->nf; i++) {
        if ((i < c->ncols && c->cols[i].kind != COL_BLANK) || !*r->fv[i]) continue;
        diag(c, line, col_name(c, i, nbuf, sizeof nbuf), "has a value but no column name");
    }
    if (c->d->n != before || c->oom) return;

    if (bank_item_finalize(&it, c->set->arena)) { c->oom = 1; return; }
    bank_item *slot = bank_itemset_push(c->set);
    if (!slot) { c->oom = 1; return; }
    *slot = it;
}

int imp__csv_parse(const char *name, const char *buf, size_t len, bank_itemset *set,
                   bank_diag *d)
{
    csv c;
    memset(&c, 0, sizeof c);
    c.set = set;
    c.d = d;
    c.r.p = buf;
    c.r.end = buf + len;
    c.r.line = 1;
    if (!(c.name = bank_arena_strdup(set->arena, name ? name : "-"))) return -1;
    char nbuf[32];
    int rc;
    while ((rc = read_record(&c.r)) == 2) {}
    if (rc == 0) {
        diag(&c, 1, "file", "is empty; expected a header row and items");
    } else if (rc == -1) {
        diag(&c, c.r.open_line, "header", "quoted field is not closed; the file may be truncated");
    } else if (rc == 1 && c.r.stray_field >= 0) {
        diag(&c, c.r.rec_line, "header", "unexpected text after the closing quote in column %d",
             c.r.stray_field + 1);
    } else if (rc == 1 && read_header(&c) == 0) {
        int header_line = c.r.rec_line, rows = 0;
        while (!c.oom && (rc = read_record(&c.r)) > 0) {
            if (rc == 2) continue;
            rows++;
            read_row(&c);
        }
        if (rc == -1)
            diag(&c, c.r.open_line, col_name(&c, (size_t)c.r.open_field, nbuf, sizeof nbuf),
                 "quoted field is not closed; the file may be truncated");
        else if (rc == 0 && !rows)
            diag(&c, header_line, "file", "has a header row but no items");
        if (!c.oom && bank_itemset_check_duplicates(set, d) < 0) c.oom = 1;
    }
    free(c.r.buf);
    free(c.r.off);
    free(c.r.fv);
    if (rc == -2 || c.oom) return -1;
    return 0;
}

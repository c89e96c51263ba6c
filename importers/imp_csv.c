/* CSV (RFC 4180) read into a sheet of cells for the template (imp_template.c). Every
 * problem is one "FILE:LINE: field: reason" line, LINE being the physical line where the
 * record starts. */
#include "imp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* ---- the sheet ---- */

static int push_row(imp_sheet *sh, kc_arena *a, const reader *r)
{
    if (sh->n == sh->cap) {
        size_t cap = sh->cap ? sh->cap * 2 : 256;
        imp_row *rows = kc_arena_alloc(a, cap * sizeof *rows);
        if (!rows) return -1;
        if (sh->n) memcpy(rows, sh->rows, sh->n * sizeof *rows);
        sh->rows = rows;
        sh->cap = cap;
    }
    imp_row *row = &sh->rows[sh->n];
    row->line = r->rec_line;
    row->ncells = (int)r->nf;
    row->bad_cell = r->stray_field;
    row->cells = kc_arena_alloc(a, (r->nf ? r->nf : 1) * sizeof *row->cells);
    if (!row->cells) return -1;
    for (size_t i = 0; i < r->nf; i++)
        if (!(row->cells[i] = kc_arena_strdup(a, r->fv[i]))) return -1;
    sh->n++;
    return 0;
}

int imp__csv_sheet(const char *name, const char *buf, size_t len, kc_arena *a, imp_sheet *sh,
                   kc_diag *d)
{
    memset(sh, 0, sizeof *sh);
    if (!(sh->where = kc_arena_strdup(a, name ? name : "-"))) return -1;
    reader r;
    memset(&r, 0, sizeof r);
    r.p = buf;
    r.end = buf + len;
    r.line = 1;
    int rc;
    while ((rc = read_record(&r)) > 0)
        if (rc == 1 && push_row(sh, a, &r)) { rc = -2; break; }
    if (rc == -1) {
        /* name the column of the open quote by the header, when there is one */
        char nbuf[32];
        const char *field = "header";
        if (sh->n) {
            const imp_row *h = &sh->rows[0];
            int f = r.open_field;
            if (f < h->ncells && *h->cells[f]) field = h->cells[f];
            else { snprintf(nbuf, sizeof nbuf, "column %d", f + 1); field = nbuf; }
        }
        if (kc_diag_add(d, sh->where, r.open_line, field,
                          "quoted field is not closed; the file may be truncated")) rc = -2;
    }
    free(r.buf);
    free(r.off);
    free(r.fv);
    if (rc == -2) return -1;
    return rc == -1 ? 1 : 0;
}

int imp__csv_parse(const char *name, const char *buf, size_t len, bank_itemset *set,
                   kc_diag *d)
{
    imp_sheet sh;
    kc_diag trunc;
    kc_diag_init(&trunc, d->arena);
    /* the truncation is reported after the rows before it */
    int rc = imp__csv_sheet(name, buf, len, set->arena, &sh, &trunc);
    if (rc < 0) return -1;
    if (rc == 0 || sh.n > 1) {
        if (imp__template_items(&sh, set, d) < 0) return -1;
    }
    for (size_t i = 0; i < trunc.n; i++)
        if (kc_diag_append_line(d, trunc.lines[i])) return -1;
    return bank_itemset_drop_duplicates(set, d) < 0 ? -1 : 0;
}

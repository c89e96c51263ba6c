/* The XLSX reader: an Office Open XML workbook (a zip of XML parts) read with libzip and
 * libxml2's streaming reader, turned into imp_sheet rows for the template parsers.
 * Parts are decompressed as they are parsed and never resolve external entities; a
 * workbook with a DTD is refused (OOXML never has one), and 256 MiB of decompressed XML
 * over all parts is the most we read, which stops zip bombs. */
#include "imp_int.h"

#include <libxml/xmlreader.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zip.h>

#define XL_MAX_XML ((size_t)256 << 20)     /* decompressed bytes over all parts */
#define XL_MAX_CELLS ((size_t)8 << 20)     /* cell slots over all sheets (column gaps count) */
#define XL_MAX_COL 16384                   /* XFD, as in Excel */
#define XL_MAX_ROW 1048576

typedef struct xl {
    const char *name;
    kc_arena *a;
    kc_diag *d;
    zip_t *z;
    size_t budget;          /* decompressed bytes still allowed */
    size_t cells_left;
    int damaged;            /* a diag line about the workbook's structure was added */
    int cell_problems;      /* diag lines about single cells (their rows are left out) */
    int oom;
    const char **sst;       /* shared strings, trimmed, in a */
    size_t nsst, sst_cap;
} xl;

typedef struct part {
    xl *x;
    const char *path;
    zip_file_t *f;
    xmlTextReaderPtr r;
    int zip_failed;
    char zip_why[128];
    int over_budget;
    int xml_line;
    char xml_why[160];
    int has_error;
    xmlGenericErrorFunc saved_generic;   /* restored when the part is closed */
    void *saved_generic_ctx;
} part;

static void damaged(xl *x, const char *part_name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One line per structural problem; the first one makes the whole workbook unusable. */
static void damaged(xl *x, const char *part_name, const char *fmt, ...)
{
    if (x->damaged) return;
    x->damaged = 1;
    va_list ap;
    va_start(ap, fmt);
    if (kc_diag_vadd(x->d, x->name, 0, part_name, fmt, ap)) x->oom = 1;
    va_end(ap);
}

/* ---- text ---- */

static void put_utf8(kc_buf *b, unsigned cp)
{
    char u[4];
    kc_buf_add(b, u, (size_t)bank_utf8_encode(cp, u));
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Appends string-cell text, decoding Excel's _xHHHH_ escapes (it writes a carriage return
 * as _x000D_ and a literal "_x" sequence as _x005F_x...). Control characters other than
 * tab and line feed are dropped: they cannot be part of an item. */
static void put_text(kc_buf *b, const char *s)
{
    while (*s) {
        unsigned cp = 0;
        int ok = s[0] == '_' && s[1] == 'x' && s[6] == '_';
        for (int i = 2; ok && i < 6; i++) {
            int h = hexval(s[i]);
            if (h < 0) ok = 0;
            else cp = cp << 4 | (unsigned)h;
        }
        if (ok && (cp >= 0xD800 && cp <= 0xDFFF)) ok = 0;
        if (ok) {
            if (cp >= 0x20 || cp == '\t' || cp == '\n') put_utf8(b, cp);
            s += 7;
            continue;
        }
        if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n') { s++; continue; }
        kc_buf_add(b, s, 1);
        s++;
    }
}

/* The trimmed text of b as an arena string. */
static const char *trimmed(xl *x, const kc_buf *b)
{
    if (!b->n) return "";
    const char *s = b->p, *end = b->p + b->n, *last = s;
    size_t k;
    while ((k = imp__space_len(s, end))) s += k;
    last = s;
    for (const char *q = s; q < end;) {
        if ((k = imp__space_len(q, end))) { q += k; continue; }
        q++;
        last = q;
    }
    if (last == s) return "";
    char *r = kc_arena_strndup(x->a, s, (size_t)(last - s));
    if (!r) x->oom = 1;
    return r ? r : "";
}

/* A number as Excel shows it: at most 15 significant digits (so 0.1+0.2 is 0.3), no
 * exponent for ordinary magnitudes, no trailing zeros, integers without a decimal point. */
static int format_number(const char *s, char *out, size_t outlen)
{
    char *endp;
    double v = strtod(s, &endp);
    while (*endp == ' ') endp++;
    if (endp == s || *endp || !isfinite(v)) return -1;
    if (v == 0) { snprintf(out, outlen, "0"); return 0; }
    char e[40];
    snprintf(e, sizeof e, "%.14e", v);         /* -d.dddddddddddddde+XX */
    const char *p = e;
    int neg = *p == '-';
    if (neg) p++;
    char digits[16];
    int nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.') digits[nd++] = *p;
    int exp10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    if (exp10 < -9 || exp10 > 20) {
        snprintf(out, outlen, "%.15g", v);
        return 0;
    }
    char *o = out, *oend = out + outlen - 1;
#define OUT(c) do { if (o < oend) *o++ = (c); } while (0)
    if (neg) OUT('-');
    if (exp10 < 0) {
        OUT('0');
        OUT('.');
        for (int i = 0; i < -exp10 - 1; i++) OUT('0');
        for (int i = 0; i < nd; i++) OUT(digits[i]);
    } else {
        for (int i = 0; i <= exp10; i++) OUT(i < nd ? digits[i] : '0');
        if (nd > exp10 + 1) {
            OUT('.');
            for (int i = exp10 + 1; i < nd; i++) OUT(digits[i]);
        }
    }
#undef OUT
    *o = 0;
    return 0;
}

/* ---- parts ---- */

static int part_read(void *ctx, char *buf, int len)
{
    part *p = ctx;
    if (len <= 0) return 0;
    zip_int64_t n = zip_fread(p->f, buf, (zip_uint64_t)len);
    if (n < 0) {
        p->zip_failed = 1;
        snprintf(p->zip_why, sizeof p->zip_why, "%s", zip_file_strerror(p->f));
        return -1;
    }
    if ((size_t)n > p->x->budget) {
        p->over_budget = 1;
        return -1;
    }
    p->x->budget -= (size_t)n;
    return (int)n;
}

static int part_close(void *ctx) { (void)ctx; return 0; }

static void part_error(void *ctx, xmlErrorPtr e)
{
    part *p = ctx;
    if (p->has_error || !e) return;
    p->has_error = 1;
    p->xml_line = e->line;
    snprintf(p->xml_why, sizeof p->xml_why, "%s", e->message ? e->message : "parse error");
    size_t n = strlen(p->xml_why);
    while (n && (p->xml_why[n - 1] == '\n' || p->xml_why[n - 1] == ' ')) p->xml_why[--n] = 0;
}

/* libxml2 reports encoding and I/O problems through the generic handler (per thread),
 * which would print them on stderr: they are the part's error instead. */
static void part_generic_error(void *ctx, const char *fmt, ...)
{
    part *p = ctx;
    if (p->has_error) return;
    p->has_error = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->xml_why, sizeof p->xml_why, fmt, ap);
    va_end(ap);
    size_t n = strlen(p->xml_why);
    while (n && (p->xml_why[n - 1] == '\n' || p->xml_why[n - 1] == ' ')) p->xml_why[--n] = 0;
    p->xml_line = 0;
}

/* Opens a part for reading. Returns 0, 1 when it does not exist (a diag line when
 * required), -1 when something failed (diag line added). */
static int part_open(xl *x, const char *path, int required, part *p)
{
    memset(p, 0, sizeof *p);
    p->x = x;
    p->path = path;
    zip_int64_t idx = zip_name_locate(x->z, path, ZIP_FL_NOCASE);
    if (idx < 0) {
        if (required) damaged(x, path, "is missing; this is not an Excel workbook or it is damaged");
        return 1;
    }
    p->f = zip_fopen_index(x->z, (zip_uint64_t)idx, 0);
    if (!p->f) {
        damaged(x, path, "cannot be read: %s", zip_strerror(x->z));
        return -1;
    }
    /* before the reader exists: creating it already reads (and decodes) the first bytes */
    p->saved_generic = xmlGenericError;
    p->saved_generic_ctx = xmlGenericErrorContext;
    xmlSetGenericErrorFunc(p, part_generic_error);
    p->r = xmlReaderForIO(part_read, part_close, p, path, NULL, XML_PARSE_NONET);
    if (!p->r) {
        xmlSetGenericErrorFunc(p->saved_generic_ctx, p->saved_generic);
        zip_fclose(p->f);
        p->f = NULL;
        if (p->has_error || p->zip_failed || p->over_budget) {
            /* the first bytes were already unreadable */
            damaged(x, path, "cannot be parsed as XML (%s)",
                    p->zip_failed ? p->zip_why : p->has_error ? p->xml_why : "too large");
            return -1;
        }
        x->oom = 1;
        return -1;
    }
    xmlTextReaderSetStructuredErrorHandler(p->r, part_error, p);
    return 0;
}

static void part_free(part *p)
{
    if (p->r) {
        xmlFreeTextReader(p->r);
        xmlSetGenericErrorFunc(p->saved_generic_ctx, p->saved_generic);
    }
    if (p->f) zip_fclose(p->f);
    p->r = NULL;
    p->f = NULL;
}

/* The next node: 1, 0 at the end of the part, -1 after a diag line. */
static int part_next(part *p)
{
    int rc = xmlTextReaderRead(p->r);
    if (rc == 1 && xmlTextReaderNodeType(p->r) == XML_READER_TYPE_DOCUMENT_TYPE) {
        damaged(p->x, p->path, "contains a DTD, which workbooks never have; refused");
        return -1;
    }
    if (rc == 1) return 1;
    if (rc == 0 && !p->has_error) return 0;
    if (p->over_budget)
        damaged(p->x, p->path, "expands to more than %zu MiB of XML; refused (a zip bomb?)",
                XL_MAX_XML >> 20);
    else if (p->zip_failed)
        damaged(p->x, p->path, "cannot be decompressed (%s); the file is damaged or truncated",
                p->zip_why);
    else if (p->has_error && p->xml_line > 0)
        damaged(p->x, p->path, "is not well-formed XML (line %d: %s)", p->xml_line, p->xml_why);
    else if (p->has_error)
        damaged(p->x, p->path, "is not well-formed XML (%s)", p->xml_why);
    else
        damaged(p->x, p->path, "cannot be parsed as XML");
    return -1;
}

static int is_elem(part *p, const char *local)
{
    const char *n = (const char *)xmlTextReaderConstLocalName(p->r);
    return n && strcmp(n, local) == 0;
}

static int node_type(part *p) { return xmlTextReaderNodeType(p->r); }

/* An attribute by local name in no namespace, copied into a (NULL when absent). */
static char *attr(part *p, const char *name)
{
    xmlChar *v = xmlTextReaderGetAttribute(p->r, (const xmlChar *)name);
    if (!v) return NULL;
    char *s = kc_arena_strdup(p->x->a, (const char *)v);
    xmlFree(v);
    if (!s) p->x->oom = 1;
    return s;
}

/* The relationship id of a <sheet>: r:id in the transitional or the strict namespace. */
static char *attr_rid(part *p)
{
    static const char *const NS[] = {
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
        "http://purl.oclc.org/ooxml/officeDocument/relationships",
    };
    for (size_t i = 0; i < sizeof NS / sizeof NS[0]; i++) {
        xmlChar *v = xmlTextReaderGetAttributeNs(p->r, (const xmlChar *)"id", (const xmlChar *)NS[i]);
        if (v) {
            char *s = kc_arena_strdup(p->x->a, (const char *)v);
            xmlFree(v);
            if (!s) p->x->oom = 1;
            return s;
        }
    }
    return NULL;
}

/* Text of the current node (text, CDATA or whitespace) appended to b. */
static void put_node_text(part *p, kc_buf *b)
{
    int t = node_type(p);
    if (t != XML_READER_TYPE_TEXT && t != XML_READER_TYPE_CDATA &&
        t != XML_READER_TYPE_WHITESPACE && t != XML_READER_TYPE_SIGNIFICANT_WHITESPACE)
        return;
    const char *v = (const char *)xmlTextReaderConstValue(p->r);
    if (v) put_text(b, v);
}

/* Positioned on a start element: reads up to its end. In rich text (<si>, <is>) the text is
 * that of its <t> elements, plain or in runs (<r><t>), without phonetic runs (<rPh>);
 * for <v> every text node counts. Returns 0 or -1 (diag line added). */
static int read_text_elem(part *p, kc_buf *b, int rich)
{
    if (xmlTextReaderIsEmptyElement(p->r)) return 0;
    int depth = xmlTextReaderDepth(p->r);
    int in_t = 0, in_ph = 0;
    for (;;) {
        int rc = part_next(p);
        if (rc <= 0) {
            if (rc == 0) damaged(p->x, p->path, "ends in the middle of an element; the file is truncated");
            return -1;
        }
        int t = node_type(p), dep = xmlTextReaderDepth(p->r);
        if (t == XML_READER_TYPE_END_ELEMENT && dep == depth) return 0;
        if (!rich) { put_node_text(p, b); continue; }
        if (t == XML_READER_TYPE_ELEMENT) {
            if (is_elem(p, "rPh")) { if (!xmlTextReaderIsEmptyElement(p->r)) in_ph++; }
            else if (is_elem(p, "t") && !in_ph && !xmlTextReaderIsEmptyElement(p->r)) in_t = dep;
        } else if (t == XML_READER_TYPE_END_ELEMENT) {
            if (is_elem(p, "rPh") && in_ph) in_ph--;
            else if (is_elem(p, "t") && dep == in_t) in_t = 0;
        } else if (in_t) {
            put_node_text(p, b);
        }
    }
}

/* ---- relationships and paths ---- */

typedef struct rel {
    const char *id, *target, *type;
} rel;

/* The folder of a part name with its slash ("xl/workbook.xml" -> "xl/"). */
static char *dir_of(kc_arena *a, const char *path)
{
    const char *s = strrchr(path, '/');
    return kc_arena_strndup(a, path, s ? (size_t)(s - path + 1) : 0);
}

/* A relationship target resolved against base (a folder ending in '/'): "/xl/x.xml" is
 * absolute, "../x.xml" climbs; the result has no leading slash. */
static char *resolve(kc_arena *a, const char *base, const char *target)
{
    char *joined = target[0] == '/' ? kc_arena_strdup(a, target + 1)
                                    : kc_arena_printf(a, "%s%s", base, target);
    if (!joined) return NULL;
    char *out = kc_arena_alloc(a, strlen(joined) + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (char *seg = joined; *seg;) {
        char *slash = strchr(seg, '/');
        size_t n = slash ? (size_t)(slash - seg) : strlen(seg);
        if (n == 0 || (n == 1 && seg[0] == '.')) {
            /* skip */
        } else if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            if (o) o--;                               /* drop the slash before the last segment */
            while (o && out[o - 1] != '/') o--;
        } else {
            if (o && out[o - 1] != '/') out[o++] = '/';
            memcpy(out + o, seg, n);
            o += n;
        }
        seg += n;
        if (*seg == '/') seg++;
    }
    out[o] = 0;
    return out;
}

/* Reads a .rels part into *rels (in a). Returns 0, 1 when absent, -1 on failure. */
static int read_rels(xl *x, const char *path, int required, rel **rels, size_t *n)
{
    *rels = NULL;
    *n = 0;
    part p;
    int rc = part_open(x, path, required, &p);
    if (rc) return rc;
    size_t cap = 0;
    while ((rc = part_next(&p)) == 1 && !x->oom) {
        if (node_type(&p) != XML_READER_TYPE_ELEMENT || !is_elem(&p, "Relationship")) continue;
        char *mode = attr(&p, "TargetMode");
        if (mode && strcasecmp(mode, "External") == 0) continue;
        rel r = {attr(&p, "Id"), attr(&p, "Target"), attr(&p, "Type")};
        if (!r.id || !r.target || !r.type) continue;
        if (*n == cap) {
            size_t c2 = cap ? cap * 2 : 16;
            rel *bigger = kc_arena_alloc(x->a, c2 * sizeof *bigger);
            if (!bigger) { x->oom = 1; break; }
            if (*n) memcpy(bigger, *rels, *n * sizeof *bigger);
            *rels = bigger;
            cap = c2;
        }
        (*rels)[(*n)++] = r;
    }
    part_free(&p);
    return rc < 0 || x->oom ? -1 : 0;
}

static int type_is(const char *type, const char *tail)
{
    size_t n = strlen(type), k = strlen(tail);
    return n >= k && strcmp(type + n - k, tail) == 0;
}

/* ---- shared strings ---- */

static int read_shared_strings(xl *x, const char *path)
{
    part p;
    int rc = part_open(x, path, 1, &p);
    if (rc) return -1;
    kc_buf b = {0};
    while ((rc = part_next(&p)) == 1 && !x->oom) {
        if (node_type(&p) != XML_READER_TYPE_ELEMENT || !is_elem(&p, "si")) continue;
        b.n = 0;
        if (b.p) b.p[0] = 0;
        if (read_text_elem(&p, &b, 1)) { rc = -1; break; }
        if (b.oom) { x->oom = 1; break; }
        if (x->nsst == x->sst_cap) {
            size_t cap = x->sst_cap ? x->sst_cap * 2 : 1024;
            const char **bigger = realloc(x->sst, cap * sizeof *bigger);
            if (!bigger) { x->oom = 1; break; }
            x->sst = bigger;
            x->sst_cap = cap;
        }
        x->sst[x->nsst++] = trimmed(x, &b);
    }
    kc_buf_free(&b);
    part_free(&p);
    return rc < 0 || x->oom ? -1 : 0;
}

/* ---- worksheets ---- */

/* "AB12" -> column 28 (1-based) and row 12; row 0 when the reference has no digits.
 * Returns 0 or -1. */
static int parse_ref(const char *s, int *col, int *row)
{
    int c = 0, r = 0;
    const char *p = s;
    for (; (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'); p++) {
        c = c * 26 + ((*p | 0x20) - 'a' + 1);
        if (c > XL_MAX_COL) return -1;
    }
    if (p == s) return -1;
    for (; *p >= '0' && *p <= '9'; p++)
        if ((r = r * 10 + (*p - '0')) > XL_MAX_ROW) return -1;
    if (*p) return -1;
    *col = c;
    *row = r;
    return 0;
}

static int parse_uint(const char *s, int max)
{
    if (!s || !*s) return -1;
    long v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        if ((v = v * 10 + (*s - '0')) > max) return -1;
    }
    return (int)v;
}

typedef struct cellv {
    int col;                /* 0-based */
    const char *v;
} cellv;

typedef struct sheet_rd {
    xl *x;
    part p;
    imp_sheet *sh;
    cellv *cells;
    size_t nc, cc;
    int row;                /* current row number */
    int row_bad;            /* a cell of this row was reported: the row is left out */
    kc_buf b;
} sheet_rd;

static void end_row(sheet_rd *s)
{
    xl *x = s->x;
    int ncells = 0;
    for (size_t i = 0; i < s->nc; i++)
        if (*s->cells[i].v && s->cells[i].col + 1 > ncells) ncells = s->cells[i].col + 1;
    size_t n = s->nc;
    s->nc = 0;
    if (!ncells || s->row_bad) return;          /* blank rows are left out */
    if ((size_t)ncells > x->cells_left) {
        damaged(x, s->p.path, "has more than %zu cells; refused", XL_MAX_CELLS);
        return;
    }
    x->cells_left -= (size_t)ncells;
    imp_sheet *sh = s->sh;
    if (sh->n == sh->cap) {
        size_t cap = sh->cap ? sh->cap * 2 : 64;
        imp_row *bigger = kc_arena_alloc(x->a, cap * sizeof *bigger);
        if (!bigger) { x->oom = 1; return; }
        if (sh->n) memcpy(bigger, sh->rows, sh->n * sizeof *bigger);
        sh->rows = bigger;
        sh->cap = cap;
    }
    const char **cv = kc_arena_alloc(x->a, (size_t)ncells * sizeof *cv);
    if (!cv) { x->oom = 1; return; }
    for (int i = 0; i < ncells; i++) cv[i] = "";
    for (size_t i = 0; i < n; i++)
        if (s->cells[i].col < ncells) cv[s->cells[i].col] = s->cells[i].v;
    imp_row *r = &sh->rows[sh->n++];
    r->line = s->row;
    r->ncells = ncells;
    r->cells = cv;
    r->bad_cell = -1;
}

static void col_name(int col, char *out)     /* 0-based -> "A", "AB" */
{
    char tmp[8];
    int n = 0;
    for (col++; col > 0 && n < 7; col = (col - 1) / 26) tmp[n++] = (char)('A' + (col - 1) % 26);
    for (int i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    out[n] = 0;
}

static void cell_problem(sheet_rd *s, int col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void cell_problem(sheet_rd *s, int col, const char *fmt, ...)
{
    char ref[24];
    col_name(col, ref);
    snprintf(ref + strlen(ref), sizeof ref - strlen(ref), "%d", s->row);
    va_list ap;
    va_start(ap, fmt);
    if (kc_diag_vadd(s->x->d, s->sh->where, s->row, ref, fmt, ap)) s->x->oom = 1;
    va_end(ap);
    s->x->cell_problems++;
    s->row_bad = 1;
}

/* Positioned on <c>: reads the cell. Returns 0 or -1. */
static int read_cell(sheet_rd *s, int *next_col)
{
    xl *x = s->x;
    part *p = &s->p;
    char *ref = attr(p, "r"), *t = attr(p, "t");
    int col = *next_col, row = s->row;
    if (ref && parse_ref(ref, &col, &row)) {
        damaged(x, p->path, "row %d: cell reference %s is not valid", s->row, ref);
        return -1;
    }
    col--;                                   /* 0-based from here */
    if (col < 0 || col >= XL_MAX_COL) {
        damaged(x, p->path, "row %d has more than %d columns", s->row, XL_MAX_COL);
        return -1;
    }
    *next_col = col + 2;
    kc_buf *b = &s->b;
    b->n = 0;
    if (b->p) b->p[0] = 0;
    int inline_str = t && strcmp(t, "inlineStr") == 0;
    if (!xmlTextReaderIsEmptyElement(p->r)) {
        int depth = xmlTextReaderDepth(p->r);
        for (;;) {
            int rc = part_next(p);
            if (rc <= 0) {
                if (rc == 0) damaged(x, p->path, "ends in the middle of row %d; the file is truncated", s->row);
                return -1;
            }
            int nt = node_type(p);
            if (nt == XML_READER_TYPE_END_ELEMENT && xmlTextReaderDepth(p->r) == depth) break;
            if (nt != XML_READER_TYPE_ELEMENT) continue;
            /* anything else (a formula <f>, an extension) has no text we read */
            if (inline_str ? is_elem(p, "is") : is_elem(p, "v"))
                if (read_text_elem(p, b, inline_str)) return -1;
        }
    }
    if (b->oom) { x->oom = 1; return -1; }
    const char *v;
    if (!t || !*t || strcmp(t, "n") == 0) {
        char num[64];
        const char *raw = trimmed(x, b);
        if (*raw && format_number(raw, num, sizeof num) == 0) {
            v = kc_arena_strdup(x->a, num);
            if (!v) { x->oom = 1; return -1; }
        } else {
            v = raw;
        }
    } else if (strcmp(t, "s") == 0) {
        const char *raw = trimmed(x, b);
        int idx = parse_uint(raw, 0x7fffffff);
        if (idx < 0 || (size_t)idx >= x->nsst) {
            cell_problem(s, col, "refers to shared string %s, but the workbook has %zu; the file is damaged",
                         *raw ? raw : "(none)", x->nsst);
            return 0;
        }
        v = x->sst[idx];
    } else if (strcmp(t, "b") == 0) {
        const char *raw = trimmed(x, b);
        v = strcmp(raw, "1") == 0 ? "TRUE" : strcmp(raw, "0") == 0 ? "FALSE" : raw;
    } else if (strcmp(t, "e") == 0) {
        const char *raw = trimmed(x, b);
        char clip[64];
        cell_problem(s, col, "has the error value %s; replace the formula by its value",
                     bank_text_clip(*raw ? raw : "#VALUE!", clip, sizeof clip));
        return 0;
    } else {
        /* str (a formula's text), inlineStr, d (an ISO 8601 date) */
        v = trimmed(x, b);
    }
    if (x->oom) return -1;
    if (s->nc == s->cc) {
        size_t cap = s->cc ? s->cc * 2 : 32;
        cellv *bigger = realloc(s->cells, cap * sizeof *bigger);
        if (!bigger) { x->oom = 1; return -1; }
        s->cells = bigger;
        s->cc = cap;
    }
    s->cells[s->nc++] = (cellv){col, v};
    return 0;
}

static int read_sheet(xl *x, const char *path, imp_sheet *sh)
{
    sheet_rd s;
    memset(&s, 0, sizeof s);
    s.x = x;
    s.sh = sh;
    int rc = part_open(x, path, 1, &s.p);
    if (rc) return -1;
    int in_data = 0, prev_row = 0, in_row = 0, next_col = 1;
    while (!x->oom && !x->damaged && (rc = part_next(&s.p)) == 1) {
        int t = node_type(&s.p);
        if (t == XML_READER_TYPE_ELEMENT) {
            if (is_elem(&s.p, "sheetData")) {
                in_data = !xmlTextReaderIsEmptyElement(s.p.r);
            } else if (in_data && is_elem(&s.p, "row")) {
                char *r = attr(&s.p, "r");
                int n = r ? parse_uint(r, XL_MAX_ROW) : prev_row + 1;
                if (n <= 0) {
                    damaged(x, path, "row number %s is not valid", r);
                    break;
                }
                s.row = prev_row = n;
                s.row_bad = 0;
                s.nc = 0;
                next_col = 1;
                in_row = !xmlTextReaderIsEmptyElement(s.p.r);
            } else if (in_row && is_elem(&s.p, "c")) {
                if (read_cell(&s, &next_col)) break;
            }
        } else if (t == XML_READER_TYPE_END_ELEMENT) {
            if (in_row && is_elem(&s.p, "row")) {
                end_row(&s);
                in_row = 0;
            } else if (is_elem(&s.p, "sheetData")) {
                in_data = 0;
            }
        }
    }
    if (!x->damaged && !x->oom && rc == 0 && (in_row || in_data))
        damaged(x, path, "ends in the middle of the sheet data; the file is truncated");
    free(s.cells);
    kc_buf_free(&s.b);
    part_free(&s.p);
    return x->damaged || x->oom ? -1 : 0;
}

/* ---- the workbook ---- */

typedef struct wsheet {
    const char *name, *rid;
} wsheet;

static int read_workbook(xl *x, imp_sheet **sheets, int *n_sheets)
{
    /* The package relationships name the workbook part; xl/workbook.xml when absent. */
    rel *rels;
    size_t nrels;
    const char *wb_path = "xl/workbook.xml";
    int rc = read_rels(x, "_rels/.rels", 0, &rels, &nrels);
    if (rc < 0) return -1;
    for (size_t i = 0; i < nrels; i++)
        if (type_is(rels[i].type, "/officeDocument")) {
            if (!(wb_path = resolve(x->a, "", rels[i].target))) { x->oom = 1; return -1; }
            break;
        }

    part p;
    if (part_open(x, wb_path, 1, &p)) return -1;
    wsheet *ws = NULL;
    size_t nws = 0, cap = 0;
    while ((rc = part_next(&p)) == 1 && !x->oom) {
        if (node_type(&p) != XML_READER_TYPE_ELEMENT || !is_elem(&p, "sheet")) continue;
        wsheet w = {attr(&p, "name"), attr_rid(&p)};
        if (x->oom) break;
        if (!w.name || !w.rid) {
            damaged(x, wb_path, "a sheet has no %s", w.name ? "r:id" : "name");
            rc = -1;
            break;
        }
        if (nws == cap) {
            size_t c2 = cap ? cap * 2 : 8;
            wsheet *bigger = kc_arena_alloc(x->a, c2 * sizeof *bigger);
            if (!bigger) { x->oom = 1; break; }
            if (nws) memcpy(bigger, ws, nws * sizeof *bigger);
            ws = bigger;
            cap = c2;
        }
        ws[nws++] = w;
    }
    part_free(&p);
    if (rc < 0 || x->oom) return -1;
    if (!nws) {
        damaged(x, wb_path, "lists no sheets");
        return -1;
    }

    const char *base = dir_of(x->a, wb_path);
    const char *slash = strrchr(wb_path, '/');
    char *wb_rels = base ? kc_arena_printf(x->a, "%s_rels/%s.rels", base, slash ? slash + 1 : wb_path)
                         : NULL;
    if (!wb_rels) { x->oom = 1; return -1; }
    if (read_rels(x, wb_rels, 1, &rels, &nrels)) return -1;
    for (size_t i = 0; i < nrels; i++)
        if (type_is(rels[i].type, "/sharedStrings")) {
            const char *sst = resolve(x->a, base, rels[i].target);
            if (!sst) { x->oom = 1; return -1; }
            if (read_shared_strings(x, sst)) return -1;
            break;
        }

    imp_sheet *out = kc_arena_alloc(x->a, nws * sizeof *out);
    if (!out) { x->oom = 1; return -1; }
    int n = 0;
    for (size_t i = 0; i < nws; i++) {
        const rel *r = NULL;
        for (size_t k = 0; k < nrels && !r; k++)
            if (strcmp(rels[k].id, ws[i].rid) == 0) r = &rels[k];
        if (!r) {
            damaged(x, wb_rels, "has no relationship %s for sheet %s", ws[i].rid, ws[i].name);
            return -1;
        }
        if (!type_is(r->type, "/worksheet")) continue;   /* a chart or dialog sheet */
        imp_sheet *sh = &out[n];
        sh->where = kc_arena_printf(x->a, "%s:%s!", x->name, ws[i].name);
        const char *path = resolve(x->a, base, r->target);
        if (!sh->where || !path) { x->oom = 1; return -1; }
        if (read_sheet(x, path, sh)) return -1;
        n++;
    }
    if (!n) {
        damaged(x, wb_path, "has no worksheets (only charts or dialogs)");
        return -1;
    }
    *sheets = out;
    *n_sheets = n;
    return 0;
}

int imp__xlsx_sheets(const char *name, const char *buf, size_t len, kc_arena *a,
                     imp_sheet **sheets, int *n_sheets, kc_diag *d)
{
    *sheets = NULL;
    *n_sheets = 0;
    xl x;
    memset(&x, 0, sizeof x);
    x.name = name ? name : "-";
    x.a = a;
    x.d = d;
    x.budget = XL_MAX_XML;
    x.cells_left = XL_MAX_CELLS;

    if (!len)
        return kc_diag_add(d, x.name, 0, "file", "is empty; expected an XLSX workbook") ? -1 : 1;
    if (len >= 8 && memcmp(buf, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8) == 0)
        return kc_diag_add(d, x.name, 0, "file",
                             "is an old .xls workbook or a password-protected one; save it as .xlsx without a password")
                   ? -1 : 1;
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(buf, len, 0, &ze);
    if (!src) { zip_error_fini(&ze); return -1; }
    x.z = zip_open_from_source(src, ZIP_RDONLY, &ze);
    if (!x.z) {
        int code = zip_error_code_zip(&ze);
        zip_source_free(src);
        int bad = 0;
        if (code == ZIP_ER_MEMORY) bad = -1;
        else if (len >= 4 && memcmp(buf, "PK\3\4", 4) == 0)
            bad = kc_diag_add(d, x.name, 0, "file", "the zip archive is damaged or truncated (%s)",
                                code == ZIP_ER_NOZIP ? "no central directory" : zip_error_strerror(&ze));
        else
            bad = kc_diag_add(d, x.name, 0, "file", "is not an XLSX workbook (not a zip archive)");
        zip_error_fini(&ze);
        return bad ? -1 : 1;
    }
    zip_error_fini(&ze);
    xmlInitParser();

    int rc = read_workbook(&x, sheets, n_sheets);
    zip_discard(x.z);
    free(x.sst);
    if (x.oom) return -1;
    if (rc) {
        *sheets = NULL;
        *n_sheets = 0;
        if (!x.damaged) damaged(&x, "file", "cannot be read");
        return x.oom ? -1 : 1;
    }
    return x.cell_problems ? 1 : 0;
}

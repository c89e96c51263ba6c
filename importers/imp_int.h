/* importers: internal declarations shared by the format parsers. */
#ifndef KAOCHANG_IMP_INT_H
#define KAOCHANG_IMP_INT_H

#include "imp.h"

#define IMP_MAX_BYTES ((size_t)64 << 20)   /* a larger file is refused */

/* Reads a whole file into *buf (malloc'ed; the caller frees). Returns 0; 1 after a diag
 * line when it is larger than IMP_MAX_BYTES; KC_ERR after a diag line naming the file;
 * KC_ENOMEM. */
int imp__read_file(const char *path, char **buf, size_t *len, kc_diag *d);
/* The diag line for a file above IMP_MAX_BYTES; returns 1 (or KC_ENOMEM). */
int imp__too_big(kc_diag *d, const char *name);

/* Turns raw file bytes into UTF-8 text without a BOM and without NUL bytes: UTF-8 as is,
 * otherwise GB18030 (what Excel saves on Chinese Windows). *text points into buf or into
 * a converted copy; the caller frees *to_free (NULL when nothing was allocated).
 * Returns 0, 1 after adding one diag line, or KC_ENOMEM. */
int imp__decode_text(const char *name, const char *buf, size_t len, const char **text,
                     size_t *text_len, char **to_free, kc_diag *d);

/* A sheet of cells as the CSV and XLSX readers hand it to the template parsers, so both
 * formats share one template (items and blueprints) and one set of messages. */
typedef struct imp_row {
    int line;               /* CSV: physical line where the record starts; XLSX: row number */
    int ncells;
    const char **cells;     /* trimmed UTF-8, "" for an empty cell */
    int bad_cell;           /* CSV: index of a cell with text after its closing quote, or -1 */
} imp_row;

typedef struct imp_sheet {
    const char *where;      /* the diag "file": "q.csv", or "book.xlsx:题库!" for a sheet */
    imp_row *rows;          /* blank rows are left out */
    size_t n, cap;
} imp_sheet;

/* The item template over one sheet: the header row names the columns (docs/BANK.md).
 * Same contract as imp_parse_buffer; does not check duplicates (the caller does, once
 * over all sheets). */
int imp__template_items(const imp_sheet *sh, bank_itemset *set, kc_diag *d);
/* The blueprint template over one sheet. */
int imp__template_blueprint(const imp_sheet *sh, bank_blueprint *b, kc_diag *d);

/* XLSX (libzip + libxml2): every worksheet of the workbook, in workbook order, strings in a.
 * Returns 0, 1 after adding diag lines (not a workbook, damaged parts), -1 on OOM. */
int imp__xlsx_sheets(const char *name, const char *buf, size_t len, kc_arena *a,
                     imp_sheet **sheets, int *n_sheets, kc_diag *d);

/* CSV text (UTF-8, from imp__decode_text) as a sheet, strings in a; sh->where is name.
 * Returns 0; 1 when the text ends inside a quoted field (one diag line; the sheet holds the
 * rows before it); -1 on OOM. */
int imp__csv_sheet(const char *name, const char *buf, size_t len, kc_arena *a, imp_sheet *sh,
                   kc_diag *d);

/* The CSV template: buf is UTF-8 text (imp__decode_text). Same contract as imp_parse_buffer. */
int imp__csv_parse(const char *name, const char *buf, size_t len, bank_itemset *set,
                   kc_diag *d);

/* ---- export ----
 * Writers build their text in a kc_buf (lib/). Writes the buffer to path (through a temporary file in the same directory, renamed at
 * the end, so a failed export never leaves half a file). Returns 0, or -1 after one diag
 * line naming the file (also when b->oom). */
int imp__buf_write_file(const kc_buf *b, const char *path, kc_diag *d);

/* One exporter per format, dispatched by imp_export_file; same contract. */
int imp__export_csv(const bank_itemset *set, const char *path, kc_diag *d);
int imp__export_xlsx(const bank_itemset *set, const char *path, kc_diag *d);
int imp__export_gift(const bank_itemset *set, const char *path, kc_diag *d);
int imp__export_moodlexml(const bank_itemset *set, const char *path, kc_diag *d);
int imp__export_qti(const bank_itemset *set, const char *path, kc_diag *d);

/* ---- the line-based formats (GIFT, Aiken, Word-style text) ---- */
typedef struct imp_line {
    const char *s;          /* not NUL-terminated */
    size_t n;
    int no;                 /* 1-based line number */
} imp_line;
/* Splits text at LF, CRLF or a lone CR into *lines (malloc'd; the caller frees). 0 or -1. */
int imp__lines_split(const char *buf, size_t len, imp_line **lines, size_t *n);
/* Bytes of the space at s (ASCII whitespace, U+00A0, U+3000), 0 when none. */
size_t imp__space_len(const char *s, const char *end);
void imp__trim(const char **s, const char **end);
int imp__is_blank(const char *s, size_t n);
/* One parsed item through bank_item_prepare, bank_item_validate and bank_item_finalize into
 * set. Returns 0 when added, 1 when rejected (diag lines added), -1 on OOM. */
int imp__item_add(bank_itemset *set, bank_item *it, enum bank_text_kind kind, kc_diag *d);
/* 1 when the first row of sh has a cell named col1 or col2 (which template a sheet is). */
int imp__sheet_names(const imp_sheet *sh, const char *col1, const char *col2);
/* The blanks of a fill item: its parsed ones, or those of its fill key (answer). 0, or -1
 * when there is no fill key or it cannot be read (why says why; why may be NULL). */
int imp__item_blanks(const bank_item *it, kc_arena *a, const bank_blank **b, int *n, char *why,
                     size_t whylen);
/* names[0..n) joined with ", " into buf (cut to fit): the field of a diag line that names
 * several fields. */
const char *imp__names_join(const char *const *names, int n, char *buf, size_t size);

/* buf is UTF-8 text (imp__decode_text). Same contract as imp_parse_buffer. */
int imp__gift_parse(const char *name, const char *buf, size_t len, bank_itemset *set,
                    kc_diag *d);
int imp__aiken_parse(const char *name, const char *buf, size_t len, bank_itemset *set,
                     kc_diag *d);
int imp__text_parse(const char *name, const char *buf, size_t len, bank_itemset *set,
                    kc_diag *d);

/* ---- XML formats (imp_xml.c): Moodle XML and QTI ---- */
typedef struct _xmlDoc xmlDoc;
typedef struct _xmlNode xmlNode;

void imp__buf_esc(kc_buf *b, const char *s);    /* s with & < > " escaped */

/* Parses XML without DTDs, network or entity expansion; a file declaring entities is refused.
 * Returns 0 (*out to xmlFreeDoc), 1 after one diag line, -1 on OOM. */
int imp__xml_read(const char *name, const char *buf, size_t len, xmlDoc **out, kc_diag *d);
int imp__xml_is(const xmlNode *n, const char *name);          /* element with this local name */
xmlNode *imp__xml_child(const xmlNode *n, const char *name);  /* first such child element */
xmlNode *imp__xml_next(const xmlNode *n, const char *name);   /* next such sibling element */
int imp__xml_line(const xmlNode *n);
char *imp__xml_text(const xmlNode *n, kc_arena *a);         /* its text and CDATA, in a */
char *imp__xml_attr(const xmlNode *n, const char *name, kc_arena *a);   /* NULL if absent */

/* Base64 (whitespace ignored): 0, 1 not base64, -1 OOM. Encoding mallocs. */
int imp__base64_decode(const char *s, kc_arena *a, unsigned char **out, size_t *len);
char *imp__base64_encode(const unsigned char *data, size_t len);
const char *imp__mime_of(const char *name);                 /* by extension */
int imp__id_valid(const char *s);      /* usable as an item uid: 1..64 chars, no spaces */
int imp__points_parse(const char *s, int *centi);   /* 0, -1 not a number, -2 > 2 decimals */
const char *imp__points_fmt(int centi, char *buf, size_t len);    /* 150 -> "1.5" */
/* Adds a media file to the item; 0, 1 when another file of that name differs, -1 OOM. */
int imp__media_add(bank_item *it, kc_arena *a, const char *name, const unsigned char *data,
                   size_t len);
/* Exports: a copy of it (and its sub-items) without the <img src="media:NAME"> it has no
 * file for, each reported "UID: field: image NAME has no file; left out"; *out is it itself
 * when nothing is missing. 0, 1 when a stem or option was only such an image (reported; the
 * item is left out), -1 OOM. */
int imp__item_drop_missing_images(const bank_item *it, kc_arena *a, kc_diag *d,
                                  const bank_item **out);
/* Orders the item's media by where its text first refers to them (stem, options, answer,
 * explanation), as the sanitizer meets data: images: an importer that meets files in another
 * order gives the same full hash. 0 or -1 OOM. */
int imp__media_by_use(bank_item *it, kc_arena *a);
char *imp__replace_all(const char *s, const char *from, const char *to, kc_arena *a);
/* Length of a fill blank mark at s that is not {{N}} (a run of _ or ＿, （ ）, ( )), 0 if none. */
size_t imp__blank_mark_len(const char *s);

/* Moodle XML (imp_moodlexml.c) and QTI 2.1/2.2 (imp_qti.c): same contract as
 * imp_parse_buffer; QTI takes an assessmentItem XML file or a content package (zip). */
int imp__moodlexml_parse(const char *name, const char *buf, size_t len, bank_itemset *set,
                         kc_diag *d);
int imp__qti_parse(const char *name, const char *buf, size_t len, bank_itemset *set,
                   kc_diag *d);

#endif

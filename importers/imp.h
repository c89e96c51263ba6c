/* importers: parse question-bank files into bank items and write them back out, and read
 * blueprint (鉴定要素细目表) files. Never includes server/. */
#ifndef KAOCHANG_IMP_H
#define KAOCHANG_IMP_H

#include "../bank/bank.h"

typedef enum imp_format {
    IMP_CSV = 1,        /* the Chinese template; UTF-8 (BOM or not) or GB18030 */
    IMP_XLSX,           /* the same template in an Excel workbook (every sheet) */
    IMP_GIFT,           /* Moodle GIFT */
    IMP_AIKEN,          /* Aiken (single choice only) */
    IMP_MOODLEXML,      /* Moodle XML */
    IMP_QTI,            /* IMS QTI 2.1/2.2: one assessmentItem XML or a content package (.zip) */
    IMP_TEXT,           /* the plain-text style of Word banks: "1. 题干 A. … 答案：B" */
} imp_format;

int imp_format_parse(const char *name, imp_format *out);   /* "csv" -> IMP_CSV; 0 or KC_EINVAL */
const char *imp_format_name(imp_format f);                 /* IMP_CSV -> "csv" */
int imp_format_exportable(imp_format f);                   /* imp_export_file writes it: 1 */
/* "csv, xlsx, …": the formats this build reads (exportable: those it also writes), into buf;
 * returns buf. */
const char *imp_format_list(int exportable, char *buf, size_t len);

/* Parses a whole file into items (strings in set->arena). Every problem is one line
 * "FILE:LINE: field: reason" (XLSX: "FILE:SHEET!ROW: field: reason") in d. Returns 0 when
 * the whole file is valid, 1 when anything was rejected (the valid items are still in
 * set), or a negative kc error: KC_ERR when the file cannot be read (a diag line names it),
 * KC_EINVAL for a format it does not read (diag line), KC_ENOMEM. */
int imp_parse_file(imp_format f, const char *path, bank_itemset *set, kc_diag *d);
/* Same for a buffer; display_name is used in messages. */
int imp_parse_buffer(imp_format f, const char *display_name, const char *buf, size_t len,
                     bank_itemset *set, kc_diag *d);

/* Writes the set in format f (csv, xlsx, gift, moodlexml, qti) to path. An item or a part
 * of one that the format cannot carry is left out with one diag line "UID: field: reason".
 * QTI writes a content package (zip). Returns 0, 1 when something was left out, or a
 * negative kc error: KC_ERR when the file cannot be written (a diag line names it; the gift,
 * moodlexml and qti writers report running out of memory as KC_ERR too), KC_ENOMEM (csv,
 * xlsx), KC_EINVAL for a format this build does not write (diag line). */
int imp_export_file(imp_format f, const bank_itemset *set, const char *path, kc_diag *d);

/* Reads a blueprint file (CSV or XLSX) into b: columns 级别 (1, 2, 3 … for 鉴定范围, or
 * 鉴定点), 代码, 名称, 鉴定比重 (%, ranges), 重要程度 (X/Y/Z, points), in outline order.
 * Validates it (bank_blueprint_validate). Same return contract as imp_parse_file (KC_EINVAL
 * for a format other than csv and xlsx). */
int imp_blueprint_parse_file(imp_format f, const char *path, bank_blueprint *b, kc_diag *d);
int imp_blueprint_parse_buffer(imp_format f, const char *display_name, const char *buf,
                               size_t len, bank_blueprint *b, kc_diag *d);

/* ---- candidate rosters (考生名单) for `kaochang session add-candidates` ----
 * A CSV file (UTF-8 with or without BOM, or GB18030) or an XLSX workbook (every sheet with
 * the header; chosen by the content, else by a .xlsx name) whose header names 准考证号,
 * 身份证号, 姓名 and optionally 考场, 座位号, in any order; other columns are ignored. */
typedef struct imp_candidate {
    const char *ticket;      /* 准考证号: 1-32 letters, digits or '-' */
    const char *id_number;   /* 身份证号: 18 characters, check digit valid, X upper case */
    const char *name;        /* 姓名: 1-128 bytes, no control characters */
    const char *room;        /* 考场: at most 64 bytes; "" when not given (seat is then 0) */
    int seat;                /* 座位号: 1..65535, or 0 */
    const char *where;       /* the diag "file" of its row: "c.csv" or "c.xlsx:名单!" */
    int line;                /* CSV: the line where its record starts; XLSX: its row */
} imp_candidate;

typedef struct imp_roster {
    imp_candidate *rows;     /* in file order */
    size_t n;
} imp_roster;

/* Reads and checks a whole roster (rows and strings in a): the header, ticket format, ID
 * number check digit, lengths, control characters, a seat given with both 考场 and 座位号,
 * and tickets, ID numbers and seats given twice in the file. Every problem is one line
 * "FILE:LINE: field: reason" (XLSX: "FILE:SHEET!ROW: field: reason") in d; a file without
 * candidates is one too. Returns 0 when the whole file is valid, 1 when anything was
 * reported (out holds the rows without problems; a caller that must not half-import writes
 * none of them), negative on I/O errors (with a diag line naming the file) or OOM. */
int imp_roster_parse_file(const char *path, kc_arena *a, imp_roster *out, kc_diag *d);
/* Same for a buffer; display_name is used in messages and, after the content, tells the
 * format (a name ending in .xlsx is read as a workbook). */
int imp_roster_parse_buffer(const char *display_name, const char *buf, size_t len, kc_arena *a,
                            imp_roster *out, kc_diag *d);

#endif

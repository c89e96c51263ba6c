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

int imp_format_parse(const char *name, imp_format *out);   /* "csv" -> IMP_CSV; 0 or -1 */
const char *imp_format_name(imp_format f);                 /* IMP_CSV -> "csv" */
int imp_format_exportable(imp_format f);                   /* imp_export_file writes it: 1 */
/* "csv, xlsx, …": the formats this build reads (exportable: those it also writes), into buf;
 * returns buf. */
const char *imp_format_list(int exportable, char *buf, size_t len);

/* Parses a whole file into items (strings in set->arena). Every problem is one line
 * "FILE:LINE: field: reason" (XLSX: "FILE:SHEET!ROW: field: reason") in d. Returns 0 when
 * the whole file is valid, 1 when anything was rejected (the valid items are still in
 * set), negative on I/O errors (with a diag line naming the file). */
int imp_parse_file(imp_format f, const char *path, bank_itemset *set, kc_diag *d);
/* Same for a buffer; display_name is used in messages. */
int imp_parse_buffer(imp_format f, const char *display_name, const char *buf, size_t len,
                     bank_itemset *set, kc_diag *d);

/* Writes the set in format f (csv, xlsx, gift, moodlexml, qti) to path. An item or a part
 * of one that the format cannot carry is left out with one diag line "UID: field: reason".
 * QTI writes a content package (zip). Returns 0, 1 when something was left out, negative on
 * I/O errors (diag line naming the file). */
int imp_export_file(imp_format f, const bank_itemset *set, const char *path, kc_diag *d);

/* Reads a blueprint file (CSV or XLSX) into b: columns 级别 (1, 2, 3 … for 鉴定范围, or
 * 鉴定点), 代码, 名称, 鉴定比重 (%, ranges), 重要程度 (X/Y/Z, points), in outline order.
 * Validates it (bank_blueprint_validate). Same return contract as imp_parse_file. */
int imp_blueprint_parse_file(imp_format f, const char *path, bank_blueprint *b, kc_diag *d);
int imp_blueprint_parse_buffer(imp_format f, const char *display_name, const char *buf,
                               size_t len, bank_blueprint *b, kc_diag *d);

#endif

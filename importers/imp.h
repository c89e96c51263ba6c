/* importers: parse question-bank files into bank items. Never includes server/. */
#ifndef KAOCHANG_IMP_H
#define KAOCHANG_IMP_H

#include "../bank/bank.h"

typedef enum imp_format { IMP_CSV = 1 } imp_format;

int imp_format_parse(const char *name, imp_format *out);   /* "csv" -> IMP_CSV; 0 or -1 */

/* Parses a whole file into items (strings in set->arena). Every problem is one line
 * "FILE:LINE: field: reason" in d. Returns 0 when the whole file is valid, 1 when any
 * row was rejected (the valid items are still in set), negative on I/O errors
 * (with a diag line naming the file). */
int imp_parse_file(imp_format f, const char *path, bank_itemset *set, bank_diag *d);
/* Same for a buffer; display_name is used in messages. */
int imp_parse_buffer(imp_format f, const char *display_name, const char *buf, size_t len,
                     bank_itemset *set, bank_diag *d);

#endif

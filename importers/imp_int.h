/* importers: internal declarations shared by the format parsers. */
#ifndef KAOCHANG_IMP_INT_H
#define KAOCHANG_IMP_INT_H

#include "imp.h"

#define IMP_MAX_BYTES ((size_t)64 << 20)   /* a larger file is refused */

/* Turns raw file bytes into UTF-8 text without a BOM and without NUL bytes: UTF-8 as is,
 * otherwise GB18030 (what Excel saves on Chinese Windows). *text points into buf or into
 * a converted copy; the caller frees *to_free (NULL when nothing was allocated).
 * Returns 0, 1 after adding one diag line, or -1 on OOM. */
int imp__decode_text(const char *name, const char *buf, size_t len, const char **text,
                     size_t *text_len, char **to_free, bank_diag *d);

/* The CSV template: buf is UTF-8 text (imp__decode_text). Same contract as imp_parse_buffer. */
int imp__csv_parse(const char *name, const char *buf, size_t len, bank_itemset *set,
                   bank_diag *d);

#endif

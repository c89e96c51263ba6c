/* What the importer fuzz targets share: one import with its return contract, the checks of
 * the line-based formats and the export/re-import round trip of the XML formats. Each target
 * is its own binary, so everything here is static. */
#ifndef KC_FUZZ_COMMON_H
#define KC_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../importers/imp.h"

/* data as a file called name in format fmt; set and d in a. Aborts when a clean result has
 * diag lines. */
static inline int fuzz_import(imp_format fmt, const char *name, const uint8_t *data,
                              size_t size, kc_arena *a, bank_itemset *set, kc_diag *d)
{
    bank_itemset_init(set, a);
    kc_diag_init(d, a);
    int rc = imp_parse_buffer(fmt, name, (const char *)data, size, set, d);
    if (rc == 0 && d->n) abort();
    return rc;
}

/* GIFT, Aiken, text: no crash or leak, every diag line names the file, every item has a uid
 * and a stem. */
static inline int fuzz_line_format(imp_format fmt, const uint8_t *data, size_t size)
{
    kc_arena *a = kc_arena_new(0);
    if (!a) return 0;
    bank_itemset set;
    kc_diag d;
    fuzz_import(fmt, "fuzz.txt", data, size, a, &set, &d);
    for (size_t i = 0; i < d.n; i++)
        if (strncmp(d.lines[i], "fuzz.txt", 8) != 0) abort();
    for (size_t i = 0; i < set.n; i++)
        if (!set.items[i].uid || !set.items[i].stem) abort();
    kc_arena_free(a);
    return 0;
}

/* Moodle XML, QTI: a rejected file says why; accepted items go out in the same format (a
 * file ending in ext) and come back as the same number of items. */
static inline int fuzz_round_trip(imp_format fmt, const char *ext, const uint8_t *data,
                                  size_t size)
{
    kc_arena *a = kc_arena_new(0);
    if (!a) return 0;
    bank_itemset set;
    kc_diag d;
    char name[32];
    snprintf(name, sizeof name, "fuzz.%s", ext);
    int rc = fuzz_import(fmt, name, data, size, a, &set, &d);
    if (rc > 0 && !d.n) abort();
    if (rc == 0 && set.n) {
        char path[64];
        snprintf(path, sizeof path, "/tmp/fuzz-%s-%ld.%s", imp_format_name(fmt), (long)getpid(), ext);
        kc_diag d2;
        kc_diag_init(&d2, a);
        if (imp_export_file(fmt, &set, path, &d2) == 0) {
            bank_itemset back;
            bank_itemset_init(&back, a);
            if (imp_parse_file(fmt, path, &back, &d2) != 0 || back.n != set.n) abort();
        }
        unlink(path);
    }
    kc_arena_free(a);
    return 0;
}

#endif

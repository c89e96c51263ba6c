/* libFuzzer: arbitrary bytes as a QTI item file or content package ("PK…"); accepted items
 * go out as a QTI package and must come back as the same number of items. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../importers/imp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bank_arena *a = bank_arena_new(0);
    if (!a) return 0;
    bank_itemset set;
    bank_diag d;
    bank_itemset_init(&set, a);
    bank_diag_init(&d, a);
    int rc = imp_parse_buffer(IMP_QTI, "fuzz.zip", (const char *)data, size, &set, &d);
    if ((rc == 0 && d.n) || (rc > 0 && !d.n)) abort();
    if (rc == 0 && set.n) {
        char path[64];
        snprintf(path, sizeof path, "/tmp/fuzz-qti-%ld.zip", (long)getpid());
        bank_diag d2;
        bank_diag_init(&d2, a);
        if (imp_export_file(IMP_QTI, &set, path, &d2) == 0) {
            bank_itemset back;
            bank_itemset_init(&back, a);
            if (imp_parse_file(IMP_QTI, path, &back, &d2) != 0 || back.n != set.n) abort();
        }
        unlink(path);
    }
    bank_arena_free(a);
    return 0;
}

/* libFuzzer: arbitrary bytes as a question-bank CSV file. */
#include <stdint.h>
#include <stdlib.h>

#include "../../importers/imp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bank_arena *a = bank_arena_new(0);
    if (!a) return 0;
    bank_itemset set;
    bank_diag d;
    bank_itemset_init(&set, a);
    bank_diag_init(&d, a);
    int rc = imp_parse_buffer(IMP_CSV, "fuzz.csv", (const char *)data, size, &set, &d);
    /* a rejected file says why; an accepted one says nothing */
    if ((rc == 0 && d.n) || (rc != 0 && !d.n)) abort();
    bank_arena_free(a);
    return 0;
}

/* libFuzzer: arbitrary bytes as a question-bank CSV file. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kc_arena *a = kc_arena_new(0);
    if (!a) return 0;
    bank_itemset set;
    kc_diag d;
    /* a rejected file says why; an accepted one says nothing */
    if (fuzz_import(IMP_CSV, "fuzz.csv", data, size, a, &set, &d) != 0 && !d.n) abort();
    kc_arena_free(a);
    return 0;
}

/* libFuzzer target: the text importer on arbitrary bytes must neither crash nor leak, and
 * every diagnostic it produces must name the file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../importers/imp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bank_arena *a = bank_arena_new(0);
    if (!a) return 0;
    bank_itemset set;
    bank_diag d;
    bank_itemset_init(&set, a);
    bank_diag_init(&d, a);
    int rc = imp_parse_buffer(IMP_TEXT, "fuzz.txt", (const char *)data, size, &set, &d);
    if (rc == 0 && d.n) abort();            /* a clean result has no diag lines */
    for (size_t i = 0; i < d.n; i++)
        if (strncmp(d.lines[i], "fuzz.txt", 8) != 0) abort();
    for (size_t i = 0; i < set.n; i++)
        if (!set.items[i].uid || !set.items[i].stem) abort();
    bank_arena_free(a);
    return 0;
}

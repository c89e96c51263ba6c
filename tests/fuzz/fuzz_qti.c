/* libFuzzer: arbitrary bytes as a QTI item file or content package ("PK…"); accepted items
 * go out as a QTI package and must come back as the same number of items. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_round_trip(IMP_QTI, "zip", data, size);
}

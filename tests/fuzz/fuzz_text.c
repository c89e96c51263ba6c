/* libFuzzer target: the text importer on arbitrary bytes must neither crash nor leak, and
 * every diagnostic it produces must name the file. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_line_format(IMP_TEXT, data, size);
}

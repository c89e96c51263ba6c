/* libFuzzer: arbitrary bytes as a Moodle XML file; accepted items go out as Moodle XML and
 * must come back as the same number of items. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_round_trip(IMP_MOODLEXML, "xml", data, size);
}

/* libFuzzer: arbitrary bytes as a blueprint CSV. A blueprint that is accepted is a proper
 * tree whose weights add up. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../importers/imp.h"

static void fail(const char *what, size_t node)
{
    fprintf(stderr, "fuzz_blueprint: node %zu: %s\n", node, what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536) return 0;
    kc_arena *a = kc_arena_new(0);
    if (!a) return 0;
    bank_blueprint b;
    kc_diag d;
    bank_blueprint_init(&b, a);
    kc_diag_init(&d, a);
    int rc = imp_blueprint_parse_buffer(IMP_CSV, "bp.csv", (const char *)data, size, &b, &d);
    if (rc == 0) {
        if (d.n) fail("accepted with diag lines", 0);
        long top = 0;
        for (size_t i = 0; i < b.n; i++) {
            const bank_bp_node *n = &b.nodes[i];
            if (n->parent >= (int)i) fail("parent after the node", i);
            if (n->parent < 0 && !n->is_point) top += n->weight_centi;
            if (n->parent < 0 && n->is_point) fail("a point without a range", i);
            if (n->parent >= 0 && b.nodes[n->parent].is_point) fail("a point has children", i);
            if (bank_blueprint_find(&b, n->code) != (int)i) fail("code not unique", i);
        }
        if (top != 10000) fail("top level does not add up to 100 %", 0);
    } else if (rc > 0 && !d.n) {
        fail("rejected without a diag line", 0);
    }
    for (size_t i = 0; i < d.n; i++)
        if (strncmp(d.lines[i], "bp.csv", 6)) fail("diag line does not name the file", i);
    kc_arena_free(a);
    return 0;
}

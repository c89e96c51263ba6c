/* libFuzzer: arbitrary bytes as a paper template (JSON). A template that is accepted formats
 * to canonical JSON that parses back to the same text; a rejected one says why, naming the
 * file. Accepted templates are planned against a small fixed pool, and every paper a
 * feasible plan draws passes its own check. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../bank/bank.h"

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_template: %s: %s\n", what, detail ? detail : "");
    abort();
}

/* 12 items of every type, uids U1..U96, 鉴定点 A-01-01 .. A-01-04, difficulties 1..5. */
static void small_pool(bank_pool *p, kc_arena *a)
{
    bank_pool_init(p, a);
    for (int i = 0; i < 96; i++) {
        bank_pool_item *it = bank_pool_push(p);
        if (!it) return;
        it->id = (uint64_t)i + 1;
        it->uid = kc_arena_printf(a, "U%d", i + 1);
        it->type = (enum bank_item_type)(1 + i % BANK_TYPE_MAX);
        it->difficulty = i % 6;
        it->point_code = kc_arena_printf(a, "A-01-%02d", 1 + i % 4);
        it->points_centi = 100;
        if (it->type == BANK_SINGLE || it->type == BANK_MULTI) {
            it->n_options = 4;
            it->pin_options = i % 5 == 0;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536) return 0;
    kc_arena *a = kc_arena_new(0);
    if (!a) return 0;
    kc_diag d;
    kc_diag_init(&d, a);
    bank_tpl t;
    int rc = bank_tpl_parse((const char *)data, size, "t.json", a, &t, &d);
    for (size_t i = 0; i < d.n; i++)
        if (strncmp(d.lines[i], "t.json:", 7)) fail("diag line does not name the file", d.lines[i]);
    if (rc > 0 && !d.n) fail("rejected without a diag line", NULL);
    if (rc == 0) {
        if (d.n) fail("accepted with diag lines", d.lines[0]);
        char *f1 = bank_tpl_format(&t, a);
        if (!f1) fail("format failed", NULL);
        bank_tpl back;
        if (bank_tpl_parse(f1, strlen(f1), "t.json", a, &back, &d)) fail("canonical form rejected", f1);
        char *f2 = bank_tpl_format(&back, a);
        if (!f2 || strcmp(f1, f2)) fail("canonical form changes", f1);
        bank_pool pool;
        small_pool(&pool, a);
        bank_plan *pl = NULL;
        int n = bank_plan_make(&t, NULL, &pool, 10, a, &pl, &d);
        if (n == 0) {
            if (!pl) fail("feasible without a plan", NULL);
            for (uint64_t s = 0; s < 3; s++) {
                bank_paper pp;
                char why[256];
                if (bank_plan_generate(pl, s, NULL, a, &pp, why, sizeof why)) continue;
                kc_diag c;
                kc_diag_init(&c, a);
                if (bank_plan_check(pl, &pp, &c)) fail("a generated paper breaks a rule", c.lines[0]);
                if (pp.total_centi != t.total_centi) fail("total", NULL);
            }
        } else if (n > 0 && pl) {
            fail("infeasible with a plan", NULL);
        }
    }
    kc_arena_free(a);
    return 0;
}

/* libFuzzer: arbitrary bytes as a fill key, a rubric, an author's key and a candidate's
 * response. What parses must format to text that parses to the same format again, and
 * scoring must stay within the item's points. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../bank/bank.h"

static void fail(const char *what, const char *in, const char *out)
{
    fprintf(stderr, "fuzz_keys: %s\n  in:  %s\n  out: %s\n", what, in, out ? out : "(null)");
    abort();
}

static void fill_key(const char *in, kc_arena *a)
{
    bank_blank *b;
    int n;
    char why[256];
    if (bank_fill_key_parse(in, a, &b, &n, why, sizeof why)) {
        if (!*why) fail("a refused key without a reason", in, NULL);
        return;
    }
    if (n < 1 || n > BANK_MAX_BLANKS) fail("blank count out of range", in, NULL);
    char *f1 = bank_fill_key_format(b, n, a);
    if (!f1) fail("format failed", in, NULL);
    bank_blank *b2;
    int n2;
    if (bank_fill_key_parse(f1, a, &b2, &n2, why, sizeof why)) fail(why, in, f1);
    if (n2 != n) fail("blank count changed", in, f1);
    char *f2 = bank_fill_key_format(b2, n2, a);
    if (!f2 || strcmp(f1, f2)) fail("format is not stable", f1, f2);
    /* a response of the key's own first alternatives */
    int got = bank_score(BANK_FILL, in, BANK_MC_ALL, in, 300);
    if (got < 0 || got > 300) fail("fill score out of range", in, NULL);
}

static void rubric(const char *in, kc_arena *a)
{
    bank_criterion *c;
    int n, line;
    char why[256];
    if (bank_rubric_parse(in, a, &c, &n, &line, why, sizeof why)) return;
    char *f1 = bank_rubric_format(c, n, a);
    if (!f1) fail("rubric format failed", in, NULL);
    bank_criterion *c2;
    int n2;
    if (bank_rubric_parse(f1, a, &c2, &n2, &line, why, sizeof why)) fail(why, in, f1);
    if (n2 != n) fail("criteria count changed", in, f1);
    char *f2 = bank_rubric_format(c2, n2, a);
    if (!f2 || strcmp(f1, f2)) fail("rubric format is not stable", f1, f2);
}

static void keys_and_responses(const char *in, kc_arena *a)
{
    for (int t = BANK_SINGLE; t <= BANK_TYPE_MAX; t++) {
        const char *out;
        if (bank_key_normalize((enum bank_item_type)t, in, a, &out) < 0) fail("normalize OOM", in, NULL);
        char norm[BANK_RESPONSE_MAX + 1];
        bank_rinfo ri = {(enum bank_item_type)t, 4, 3};
        if (bank_response_normalize(&ri, in, norm, sizeof norm) == 0) {
            char again[BANK_RESPONSE_MAX + 1];
            if (bank_response_normalize(&ri, norm, again, sizeof again) || strcmp(norm, again))
                fail("response normalization is not stable", in, norm);
        }
    }
    for (int p = BANK_MC_ALL; p <= BANK_MC_RATIO; p++) {
        int got = bank_score(BANK_MULTI, "ACD", (enum bank_mc_policy)p, in, 200);
        if (got < 0 || got > 200) fail("multi score out of range", in, NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    char *in = malloc(size + 1);
    if (!in) return 0;
    memcpy(in, data, size);
    in[size] = 0;
    kc_arena *a = kc_arena_new(0);
    if (a) {
        fill_key(in, a);
        rubric(in, a);
        keys_and_responses(in, a);
    }
    kc_arena_free(a);
    free(in);
    return 0;
}

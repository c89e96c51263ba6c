/* What the unit tests share: the per-test arena, item set and diagnostics, the diag-line
 * expectations, files and encodings, and the comparison of items after a round trip.
 * Every test file is its own binary, so everything here is static. */
#ifndef KC_TEST_H
#define KC_TEST_H

#include <criterion/criterion.h>
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../importers/imp.h"

static bank_arena *A;
static bank_itemset S __attribute__((unused));
static bank_diag D;

static inline void kc_setup(void)
{
    A = bank_arena_new(0);
    cr_assert_not_null(A);
    bank_itemset_init(&S, A);
    bank_diag_init(&D, A);
}

static inline void kc_teardown(void)
{
    bank_arena_free(A);
    A = NULL;
}

/* D holds exactly the lines exp[0..n), in order. */
static inline void expect_lines(const char *const *exp, size_t n)
{
    for (size_t i = 0; i < D.n && i < n; i++)
        cr_expect_str_eq(D.lines[i], exp[i], "line %zu: got %s", i, D.lines[i]);
    for (size_t i = n; i < D.n; i++) cr_expect_fail("unexpected diag line: %s", D.lines[i]);
    for (size_t i = D.n; i < n; i++) cr_expect_fail("missing diag line: %s", exp[i]);
}
#define EXPECT(...)                                                                 \
    do {                                                                            \
        const char *const exp_[] = {__VA_ARGS__};                                   \
        expect_lines(exp_, sizeof exp_ / sizeof exp_[0]);                           \
    } while (0)
#define EXPECT_CLEAN() expect_lines(NULL, 0)

/* A path in /tmp no other test (or run) uses; the caller unlinks it. */
static inline char *tmp_path(const char *ext)
{
    static int n;
    char *p = bank_arena_printf(A, "/tmp/kaochang-test-%ld-%d.%s", (long)getpid(), n++, ext);
    cr_assert_not_null(p);
    return p;
}

/* The whole file in A, NUL-terminated; *len (when len is not NULL) its size. */
static inline char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = bank_arena_alloc(A, (size_t)n + 1);
    cr_assert_not_null(b);
    cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = 0;
    fclose(f);
    if (len) *len = (size_t)n;
    return b;
}

/* Converts UTF-8 to another encoding with iconv; the caller frees. */
static inline char *convert(const char *to, const char *utf8, size_t *out_len)
{
    iconv_t cd = iconv_open(to, "UTF-8");
    cr_assert_neq(cd, (iconv_t)-1, "iconv_open %s: %s", to, strerror(errno));
    size_t inleft = strlen(utf8), cap = inleft * 4 + 16, outleft = cap;
    char *out = malloc(cap), *in = (char *)utf8, *op = out;
    cr_assert_neq(iconv(cd, &in, &inleft, &op, &outleft), (size_t)-1);
    iconv_close(cd);
    *out_len = cap - outleft;
    return out;
}

/* The item's blanks, parsed from its fill key. */
static inline const bank_blank *blanks_of(const bank_item *it, int *n)
{
    bank_blank *b = NULL;
    char why[256] = "";
    cr_assert(it->answer, "no fill key");
    cr_assert_eq(bank_fill_key_parse(it->answer, A, &b, n, why, sizeof why), 0, "%s", why);
    return b;
}

static inline int nblanks(const bank_item *it)
{
    int n = 0;
    blanks_of(it, &n);
    return n;
}
#define BL(it) blanks_of((it), &(int){0})

/* What a round trip compares beyond type, stem, options, answer, points, pinning and
 * explanation. */
enum {
    KC_SAME_MC_POLICY = 1,     /* mc_policy of every item */
    KC_SAME_RATIO = 2,         /* only that a ratio-scored multiple choice stays so */
    KC_SAME_DIFFICULTY = 4,
    KC_SAME_TAGS = 8,
    KC_SAME_OCCUPATION = 16,   /* whether there is one, and the level */
    KC_SAME_OCCUPATION_TEXT = 32,
    KC_SAME_MEDIA = 64,        /* media files and the full hash */
};

static inline void kc_same_item(const bank_item *x, const bank_item *y, unsigned what)
{
    cr_expect_eq(x->type, y->type, "%s", x->uid);
    cr_expect_str_eq(x->stem, y->stem, "%s", x->uid);
    cr_expect_eq(x->n_options, y->n_options, "%s", x->uid);
    for (int k = 0; k < x->n_options && k < y->n_options; k++)
        cr_expect_str_eq(x->options[k], y->options[k], "%s option %d", x->uid, k);
    cr_expect_eq(!x->answer, !y->answer, "%s: answer", x->uid);
    if (x->answer && y->answer) cr_expect_str_eq(x->answer, y->answer, "%s", x->uid);
    if (what & KC_SAME_MC_POLICY) cr_expect_eq(x->mc_policy, y->mc_policy, "%s", x->uid);
    if ((what & KC_SAME_RATIO) && x->type == BANK_MULTI && x->mc_policy == BANK_MC_RATIO)
        cr_expect_eq(y->mc_policy, BANK_MC_RATIO, "%s", x->uid);
    cr_expect_eq(x->points_centi, y->points_centi, "%s", x->uid);
    cr_expect_eq(x->pin_options, y->pin_options, "%s", x->uid);
    cr_expect_eq(!x->explanation, !y->explanation, "%s", x->uid);
    if (x->explanation && y->explanation) cr_expect_str_eq(x->explanation, y->explanation, "%s", x->uid);
    if (what & KC_SAME_DIFFICULTY) cr_expect_eq(x->difficulty, y->difficulty, "%s", x->uid);
    if (what & KC_SAME_TAGS) {
        cr_expect_eq(x->n_tags, y->n_tags, "%s", x->uid);
        for (int k = 0; k < x->n_tags && k < y->n_tags; k++) cr_expect_str_eq(x->tags[k], y->tags[k]);
    }
    if (what & KC_SAME_OCCUPATION) {
        cr_expect_eq(!x->occupation, !y->occupation, "%s", x->uid);
        if ((what & KC_SAME_OCCUPATION_TEXT) && x->occupation && y->occupation)
            cr_expect_str_eq(x->occupation, y->occupation, "%s", x->uid);
        cr_expect_eq(x->level, y->level, "%s", x->uid);
    }
    if (what & KC_SAME_MEDIA) {
        cr_expect_eq(x->n_media, y->n_media, "%s", x->uid);
        for (int k = 0; k < x->n_media && k < y->n_media; k++) {
            cr_expect_str_eq(x->media[k].name, y->media[k].name);
            cr_expect_eq(x->media[k].len, y->media[k].len);
            cr_expect_eq(memcmp(x->media[k].data, y->media[k].data, x->media[k].len), 0);
        }
        cr_expect_eq(memcmp(x->full_hash, y->full_hash, 32), 0, "%s: full hash", x->uid);
    }
}

/* a and b hold the same items in the same order. */
static inline void kc_same_items(const bank_itemset *a, const bank_itemset *b, unsigned what)
{
    cr_assert_eq(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        cr_expect_str_eq(a->items[i].uid, b->items[i].uid, "item %zu", i);
        kc_same_item(&a->items[i], &b->items[i], what);
    }
}

/* The demo bank (every type the CSV template has) through format fmt and back: each item
 * either comes back the same or was reported as left out. */
static inline void kc_demo_round_trip(enum imp_format fmt, const char *ext, unsigned what)
{
    int rc = imp_parse_file(IMP_CSV, "bank/demo/netsec-l4-theory.csv", &S, &D);
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_gt(S.n, 100);
    char *path = tmp_path(ext);
    rc = imp_export_file(fmt, &S, path, &D);
    cr_assert_eq(rc, 1, "the demo has items this format cannot carry");
    size_t left_out = 0;
    for (size_t i = 0; i < D.n; i++)
        if (strstr(D.lines[i], ": 题型: ") || strstr(D.lines[i], ": 答案: ")) left_out++;
    bank_itemset back;
    bank_itemset_init(&back, A);
    bank_diag d2;
    bank_diag_init(&d2, A);
    size_t len;
    char *buf = slurp(path, &len);
    unlink(path);
    rc = imp_parse_buffer(fmt, "back", buf, len, &back, &d2);
    for (size_t i = 0; i < d2.n; i++) cr_expect_fail("re-import: %s", d2.lines[i]);
    cr_assert_eq(rc, 0);
    cr_assert_eq(back.n + left_out, S.n, "%zu back, %zu left out, %zu in", back.n, left_out, S.n);
    size_t j = 0;
    for (size_t i = 0; i < back.n; i++) {
        const bank_item *y = &back.items[i];
        while (j < S.n && strcmp(S.items[j].uid, y->uid)) j++;
        cr_assert_lt(j, S.n, "%s is not in the demo bank (or out of order)", y->uid);
        kc_same_item(&S.items[j], y, what);
    }
}

#endif

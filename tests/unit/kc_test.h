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

static kc_arena *A;
static bank_itemset S __attribute__((unused));
static kc_diag D;

static inline void kc_setup(void)
{
    A = kc_arena_new(0);
    cr_assert_not_null(A);
    bank_itemset_init(&S, A);
    kc_diag_init(&D, A);
}

static inline void kc_teardown(void)
{
    kc_arena_free(A);
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
    char *p = kc_arena_printf(A, "/tmp/kaochang-test-%ld-%d.%s", (long)getpid(), n++, ext);
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
    char *b = kc_arena_alloc(A, (size_t)n + 1);
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
    kc_diag d2;
    kc_diag_init(&d2, A);
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

/* A 1x1 PNG: images in the round trips below. */
static const unsigned char kc_png[] = {
    0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 1,
    0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 13, 'I', 'D', 'A', 'T', 0x78,
    0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0, 0x05, 0x00, 0x01, 0xff, 0x56, 0xc9, 0x2f, 0x8c,
    0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};

static inline void kc_media(bank_item *it, int n, const char *const *names)
{
    it->n_media = n;
    it->media = kc_arena_alloc(A, sizeof *it->media * (size_t)n);
    cr_assert_not_null(it->media);
    memset(it->media, 0, sizeof *it->media * (size_t)n);
    for (int i = 0; i < n; i++) {
        /* each image its own bytes, so a mix-up shows */
        unsigned char *b = kc_arena_alloc(A, sizeof kc_png + 1);
        cr_assert_not_null(b);
        memcpy(b, kc_png, sizeof kc_png);
        b[sizeof kc_png] = (unsigned char)('a' + i);
        it->media[i] = (bank_media){.name = names[i], .mime = "image/png", .data = b,
                                    .len = sizeof kc_png + 1};
    }
}

static inline void kc_item_done(bank_item *it)
{
    it->version = 1;
    cr_assert_eq(bank_item_prepare(it, BANK_TEXT_HTML, A, NULL), 0);
    cr_assert_eq(bank_item_validate(it, &D), 0, "%s", D.n ? D.lines[0] : "");
    cr_assert_eq(bank_item_finalize(it, A), 0);
}

/* Into S: a single choice with an image in its stem and an option that is only an image;
 * with composite (when the format has one) a case whose sub-item's stem has an image. */
static inline void kc_image_items(int composite)
{
    bank_item *it = bank_itemset_push(&S);
    it->uid = "IMG-1";
    it->type = BANK_SINGLE;
    it->stem = "<p>看图作答<img src=\"media:stem.png\"></p>";
    it->n_options = 4;
    it->options[0] = "甲";
    it->options[1] = "<img src=\"media:图 B.png\">";
    it->options[2] = "丙";
    it->options[3] = "丁";
    it->answer = "B";
    it->points_centi = 100;
    kc_media(it, 2, (const char *const[]){"stem.png", "图 B.png"});
    kc_item_done(it);
    if (!composite) return;
    it = bank_itemset_push(&S);
    it->uid = "IMG-2";
    it->type = BANK_COMPOSITE;
    it->stem = "<p>案例：某公司网络拓扑<img src=\"media:case.png\"></p>";
    kc_media(it, 1, (const char *const[]){"case.png"});
    it->n_children = 1;
    it->children = kc_arena_alloc(A, sizeof *it->children);
    cr_assert_not_null(it->children);
    memset(it->children, 0, sizeof *it->children);
    bank_item *c = &it->children[0];
    c->uid = "IMG-2-1";
    c->type = BANK_TF;
    c->stem = "<p>图中防火墙在内网一侧<img src=\"media:sub.png\"></p>";
    c->answer = "F";
    c->points_centi = 200;
    kc_media(c, 1, (const char *const[]){"sub.png"});
    kc_item_done(it);
}

/* s with every "media:FROM\"" written "media:TO\"". */
static inline const char *kc_rename(const char *s, const char *from, const char *to)
{
    if (!s) return NULL;
    char *f = kc_arena_printf(A, "media:%s\"", from), *t = kc_arena_printf(A, "media:%s\"", to);
    cr_assert(f && t);
    const char *q = strstr(s, f);
    if (!q) return s;
    char *r = kc_arena_printf(A, "%.*s%s%s", (int)(q - s), s, t, q + strlen(f));
    cr_assert_not_null(r);
    return kc_rename(r, from, to);
}

/* y is x with its images (same bytes, same order) under the names y gives them. */
static inline void kc_same_but_names(const bank_item *x, const bank_item *y)
{
    cr_assert_eq(x->n_media, y->n_media, "%s", x->uid);
    bank_item r = *x;
    for (int k = 0; k < x->n_media; k++) {
        cr_expect_eq(x->media[k].len, y->media[k].len, "%s", x->uid);
        cr_expect_eq(memcmp(x->media[k].data, y->media[k].data, x->media[k].len), 0, "%s", x->uid);
        r.stem = kc_rename(r.stem, x->media[k].name, y->media[k].name);
        for (int i = 0; i < r.n_options; i++)
            r.options[i] = kc_rename(r.options[i], x->media[k].name, y->media[k].name);
        r.explanation = kc_rename(r.explanation, x->media[k].name, y->media[k].name);
    }
    kc_same_item(&r, y, 0);
    cr_assert_eq(x->n_children, y->n_children, "%s", x->uid);
    for (int k = 0; k < x->n_children; k++) kc_same_but_names(&x->children[k], &y->children[k]);
}

/* in through format fmt into *back (clean both ways). */
static inline void kc_through(enum imp_format fmt, const char *ext, const bank_itemset *in,
                              bank_itemset *back)
{
    char *path = tmp_path(ext);
    int rc = imp_export_file(fmt, in, path, &D);
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    size_t len;
    char *buf = slurp(path, &len);
    unlink(path);
    bank_itemset_init(back, A);
    rc = imp_parse_buffer(fmt, "back", buf, len, back, &D);
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
}

static inline void kc_same_deep(const bank_itemset *x, const bank_itemset *y)
{
    kc_same_items(x, y, KC_SAME_MEDIA);
    for (size_t i = 0; i < x->n && i < y->n; i++)
        for (int k = 0; k < x->items[i].n_children && k < y->items[i].n_children; k++)
            kc_same_item(&x->items[i].children[k], &y->items[i].children[k], KC_SAME_MEDIA);
}

/* The image items through format fmt and back: the same items, images and hashes. A format
 * that carries images as data: URIs (CSV, XLSX; names_kept 0) names them image-HASH.EXT: the
 * first trip keeps text and bytes, the second changes nothing (no new version). */
static inline void kc_image_round_trip(enum imp_format fmt, const char *ext, int composite,
                                       int names_kept)
{
    kc_image_items(composite);
    bank_itemset back;
    kc_through(fmt, ext, &S, &back);
    if (names_kept) {
        kc_same_deep(&S, &back);
        return;
    }
    cr_assert_eq(S.n, back.n);
    for (size_t i = 0; i < S.n; i++) kc_same_but_names(&S.items[i], &back.items[i]);
    bank_itemset again;
    kc_through(fmt, ext, &back, &again);
    kc_same_deep(&back, &again);
}

/* Items whose text names images they have no file for (as a hand-edited or damaged bank
 * can hold) through format fmt: each such image is reported and left out, an option that
 * was only such an image leaves its item out, and the file re-imports clean. */
static inline void kc_missing_image_export(enum imp_format fmt, const char *ext, int composite)
{
    bank_item *it = bank_itemset_push(&S);
    it->uid = "M-1";
    it->type = BANK_SINGLE;
    it->stem = "<p>看图<img src=\"media:here.png\"><img src=\"media:gone.png\"></p>";
    it->n_options = 2;
    it->options[0] = "甲";
    it->options[1] = "乙";
    it->answer = "A";
    it->points_centi = 100;
    kc_media(it, 1, (const char *const[]){"here.png"});
    it = bank_itemset_push(&S);
    it->uid = "M-2";
    it->type = BANK_SINGLE;
    it->stem = "选哪个";
    it->n_options = 3;
    it->options[0] = "甲";
    it->options[1] = "<img src=\"media:gone.png\">";
    it->options[2] = "丙";
    it->answer = "A";
    it->points_centi = 100;
    if (composite) {
        it = bank_itemset_push(&S);
        it->uid = "M-3";
        it->type = BANK_COMPOSITE;
        it->stem = "案例";
        it->n_children = 1;
        it->children = kc_arena_alloc(A, sizeof *it->children);
        cr_assert_not_null(it->children);
        memset(it->children, 0, sizeof *it->children);
        bank_item *c = &it->children[0];
        c->uid = "M-3-1";
        c->type = BANK_TF;
        c->stem = "<p>对吗<img src=\"media:lost.png\"></p>";
        c->answer = "T";
        c->points_centi = 100;
    }
    for (size_t i = 0; i < S.n; i++) {
        S.items[i].version = 1;
        cr_assert_eq(bank_item_prepare(&S.items[i], BANK_TEXT_HTML, A, NULL), 0);
        cr_assert_eq(bank_item_finalize(&S.items[i], A), 0);
    }
    char *path = tmp_path(ext);
    int rc = imp_export_file(fmt, &S, path, &D);
    if (composite)
        EXPECT("M-1: 题干: image gone.png has no file; left out",
               "M-2: 选项B: image gone.png has no file; left out",
               "M-2: 选项B: is empty without its image; the item is left out",
               "M-3-1: 题干: image lost.png has no file; left out");
    else
        EXPECT("M-1: 题干: image gone.png has no file; left out",
               "M-2: 选项B: image gone.png has no file; left out",
               "M-2: 选项B: is empty without its image; the item is left out");
    cr_assert_eq(rc, 1);
    size_t len;
    char *buf = slurp(path, &len);
    unlink(path);
    cr_assert_null(strstr(buf, "gone.png"));
    cr_assert_null(strstr(buf, "lost.png"));
    bank_itemset back;
    bank_itemset_init(&back, A);
    D.n = 0;
    rc = imp_parse_buffer(fmt, "back", buf, len, &back, &D);
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(back.n, composite ? 2 : 1);
    const bank_item *y = &back.items[0];
    cr_assert_str_eq(y->uid, "M-1");
    cr_assert_eq(y->n_media, 1);
    cr_assert_eq(memcmp(y->media[0].data, S.items[0].media[0].data, y->media[0].len), 0);
    cr_assert_str_eq(y->stem, kc_arena_printf(A, "<p>看图<img src=\"media:%s\"></p>", y->media[0].name));
    if (composite) {
        cr_assert_str_eq(back.items[1].uid, "M-3");
        cr_assert_eq(back.items[1].n_children, 1);
        cr_assert_str_eq(back.items[1].children[0].stem, "<p>对吗</p>");
    }
}

#endif

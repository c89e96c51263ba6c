/* bank: arenas, diagnostics, validation, the content hash, duplicates, responses, scoring. */
#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>

#include "../../bank/bank.h"

static bank_arena *A;
static bank_diag D;

static void setup(void)
{
    A = bank_arena_new(0);
    cr_assert_not_null(A);
    bank_diag_init(&D, A);
}

static void teardown(void)
{
    bank_arena_free(A);
    A = NULL;
}

static void expect_lines(const char *const *exp, size_t n)
{
    for (size_t i = 0; i < D.n && i < n; i++) cr_expect_str_eq(D.lines[i], exp[i], "line %zu", i);
    for (size_t i = n; i < D.n; i++) cr_expect_fail("unexpected diag line: %s", D.lines[i]);
    for (size_t i = D.n; i < n; i++) cr_expect_fail("missing diag line: %s", exp[i]);
}
#define EXPECT(...)                                                                 \
    do {                                                                            \
        const char *const exp_[] = {__VA_ARGS__};                                   \
        expect_lines(exp_, sizeof exp_ / sizeof exp_[0]);                           \
    } while (0)

/* A valid single-choice item from b.csv, line 7. */
static bank_item good_item(void)
{
    bank_item it;
    memset(&it, 0, sizeof it);
    it.type = BANK_SINGLE;
    it.stem = "TCP 协议工作在哪一层？";
    it.n_options = 4;
    it.options[0] = "物理层";
    it.options[1] = "网络层";
    it.options[2] = "传输层";
    it.options[3] = "应用层";
    it.answer = "C";
    it.points_centi = 100;
    it.difficulty = 2;
    it.file = "b.csv";
    it.line = 7;
    return it;
}

/* ---- arena ---- */

Test(arena, allocations_are_zeroed_aligned_and_counted, .init = setup, .fini = teardown)
{
    cr_assert_eq(bank_arena_used(A), 0);
    for (size_t n = 1; n < 300; n += 7) {
        unsigned char *p = bank_arena_alloc(A, n);
        cr_assert_not_null(p);
        cr_assert_eq((uintptr_t)p % 16, 0, "size %zu is not 16-aligned", n);
        for (size_t i = 0; i < n; i++) cr_assert_eq(p[i], 0);
        memset(p, 0xAB, n);
    }
    size_t used = bank_arena_used(A);
    cr_assert_geq(used, 300 / 7 * 16);
    cr_assert_not_null(bank_arena_alloc(A, 1));
    cr_assert_eq(bank_arena_used(A), used + 16);
}

Test(arena, spans_many_chunks_and_big_blocks, .init = setup, .fini = teardown)
{
    bank_arena *small = bank_arena_new(1024);
    char *first = bank_arena_strdup(small, "first");
    void *ptrs[2000];
    for (int i = 0; i < 2000; i++) {
        ptrs[i] = bank_arena_alloc(small, 40);
        cr_assert_not_null(ptrs[i]);
        memset(ptrs[i], i & 0xFF, 40);
    }
    unsigned char *big = bank_arena_alloc(small, 1 << 20);   /* far above the chunk size */
    cr_assert_not_null(big);
    cr_assert_eq((uintptr_t)big % 16, 0);
    cr_assert_eq(big[0], 0);
    cr_assert_eq(big[(1 << 20) - 1], 0);
    memset(big, 1, 1 << 20);
    for (int i = 0; i < 2000; i++) cr_assert_eq(((unsigned char *)ptrs[i])[39], i & 0xFF);
    cr_assert_str_eq(first, "first");
    cr_assert_geq(bank_arena_used(small), 2000 * 48 + (1 << 20));
    bank_arena_free(small);
    bank_arena_free(NULL);
}

Test(arena, strings, .init = setup, .fini = teardown)
{
    cr_assert_str_eq(bank_arena_strdup(A, "试题"), "试题");
    cr_assert_null(bank_arena_strdup(A, NULL));
    cr_assert_str_eq(bank_arena_strndup(A, "abcdef", 3), "abc");
    cr_assert_str_eq(bank_arena_strndup(A, "ab", 10), "ab");
    cr_assert_str_eq(bank_arena_printf(A, "%s:%d: %s", "f.csv", 12, "题干"), "f.csv:12: 题干");
    char long_text[5000];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = 0;
    char *p = bank_arena_printf(A, "<%s>", long_text);
    cr_assert_eq(strlen(p), sizeof long_text + 1);
    cr_assert_eq(p[0], '<');
    cr_assert_eq(p[sizeof long_text], '>');
}

/* ---- diagnostics ---- */

Test(diag, line_format, .init = setup, .fini = teardown)
{
    for (int i = 0; i < 40; i++)
        cr_assert_eq(bank_diag_add(&D, "f.csv", i + 1, "答案", "problem %d", i), 0);
    cr_assert_eq(bank_diag_add(&D, "f.csv", 0, "file", "cannot open"), 0);
    cr_assert_eq(bank_diag_add(&D, "f.csv", 3, NULL, "no field"), 0);
    cr_assert_eq(D.n, 42);
    cr_assert_str_eq(D.lines[0], "f.csv:1: 答案: problem 0");
    cr_assert_str_eq(D.lines[39], "f.csv:40: 答案: problem 39");
    cr_assert_str_eq(D.lines[40], "f.csv: file: cannot open");
    cr_assert_str_eq(D.lines[41], "f.csv:3: no field");
}

/* ---- types ---- */

Test(types, names_round_trip)
{
    enum bank_item_type t = 0;
    cr_assert_str_eq(bank_type_name(BANK_SINGLE), "single");
    cr_assert_eq(bank_type_parse("single", &t), 0);
    cr_assert_eq(t, BANK_SINGLE);
    for (int k = BANK_SINGLE; k <= BANK_TYPE_MAX; k++) {
        cr_assert_eq(bank_type_parse(bank_type_name((enum bank_item_type)k), &t), 0);
        cr_assert_eq((int)t, k);
        cr_assert_eq(bank_type_parse_label(bank_type_label((enum bank_item_type)k), &t), 0);
        cr_assert_eq((int)t, k);
    }
    cr_assert_eq(bank_type_parse("单选题", &t), -1);   /* labels are for templates */
    cr_assert_eq(bank_type_parse_label("案例分析题", &t), 0);
    cr_assert_eq(t, BANK_COMPOSITE);
    cr_assert_eq(bank_type_parse_label("70", &t), 0);
    cr_assert_eq(t, BANK_SHORT);
    cr_assert_eq(bank_type_parse_label("问答题?", &t), -1);
    cr_assert_eq(bank_type_parse(NULL, &t), -1);
}

/* ---- validation ---- */

Test(validate, good_item_has_no_problems, .init = setup, .fini = teardown)
{
    bank_item it = good_item();
    cr_assert_eq(bank_item_validate(&it, &D), 0);
    cr_assert_eq(D.n, 0);
    it.uid = "NS4-S-0001";
    it.point_code = "B-03-002";
    it.explanation = "TCP 是传输层协议。";
    it.source = "Kaochang 演示题库";
    it.difficulty = 0;   /* not given */
    cr_assert_eq(bank_item_validate(&it, &D), 0);
}

Test(validate, answer_beyond_the_options, .init = setup, .fini = teardown)
{
    bank_item it = good_item();
    it.n_options = 3;
    it.answer = "D";
    cr_assert_eq(bank_item_validate(&it, &D), 1);
    EXPECT("b.csv:7: 答案: D but the item has only 3 options");
}

Test(validate, answer_not_a_letter, .init = setup, .fini = teardown)
{
    bank_item it = good_item();
    it.answer = "AB";
    cr_assert_eq(bank_item_validate(&it, &D), 1);
    it.answer = NULL;
    cr_assert_eq(bank_item_validate(&it, &D), 1);
    it.answer = "b";  /* keys are normalized before validation */
    cr_assert_eq(bank_item_validate(&it, &D), 1);
    EXPECT("b.csv:7: 答案: AB is not one option letter A-H", "b.csv:7: 答案: is empty",
           "b.csv:7: 答案: b is not one option letter A-H");
}

Test(validate, options_contiguous_and_enough, .init = setup, .fini = teardown)
{
    bank_item it = good_item();
    it.options[1] = NULL;
    cr_assert_eq(bank_item_validate(&it, &D), 1);
    it = good_item();
    it.n_options = 1;
    it.answer = "A";
    cr_assert_eq(bank_item_validate(&it, &D), 1);
    it = good_item();
    it.options[3] = "　";   /* only a full-width space */
    cr_assert_eq(bank_item_validate(&it, &D), 1);
    it = good_item();
    it.options[2] = "物理层";
    cr_assert_eq(bank_item_validate(&it, &D), 1);
    EXPECT("b.csv:7: 选项B: is empty but 选项D is filled; options must be contiguous",
           "b.csv:7: 选项B: is empty; a single-choice item needs at least 2 options",
           "b.csv:7: 选项D: is empty",
           "b.csv:7: 选项C: has the same text as 选项A");
}

Test(validate, every_problem_one_line, .init = setup, .fini = teardown)
{
    bank_item it = good_item();
    it.uid = "has space";
    it.stem = "  \n ";
    it.points_centi = 0;
    it.difficulty = 7;
    it.source = "\xff\xfe";
    cr_assert_eq(bank_item_validate(&it, &D), 5);
    EXPECT("b.csv:7: 试题编号: contains spaces or control characters", "b.csv:7: 题干: is empty",
           "b.csv:7: 分值: 0 is not greater than 0", "b.csv:7: 难度: 7 is not an integer from 1 to 5",
           "b.csv:7: 出处: is not valid UTF-8");
}

Test(validate, limits, .init = setup, .fini = teardown)
{
    bank_item it = good_item();
    char uid[80];
    memset(uid, 'X', 65);
    uid[65] = 0;
    it.uid = uid;
    it.points_centi = 10050;
    it.point_code = "B-03-002-B-03-002-B-03-002-B-03-002-B-03-002-B-03-002-B-03-002-B-03-002";
    cr_assert_eq(bank_item_validate(&it, &D), 3);
    it = good_item();
    it.uid = "试题试题试题试题试题试题试题试题试题试题试题试题试题试题试题试题"
             "试题试题试题试题试题试题试题试题试题试题试题试题试题试题试题试题";  /* 64 chars */
    it.points_centi = 10000;
    it.type = 9;
    cr_assert_eq(bank_item_validate(&it, &D), 1);
    EXPECT("b.csv:7: 试题编号: is longer than 64 characters", "b.csv:7: 分值: 100.5 is more than 100",
           "b.csv:7: 鉴定点代码: is longer than 64 characters", "b.csv:7: 题型: unknown item type 9");
}

/* ---- content hash ---- */

Test(finalize, hash_is_sha256_of_the_normalized_form, .init = setup, .fini = teardown)
{
    bank_item it = good_item();
    it.stem = "  TCP\t\t协议\u3000（\u3000）\r\n";
    it.n_options = 2;
    it.options[0] = "ＡＢＣ ａｂｃ";
    it.options[1] = " 乙  丙 ";
    cr_assert_eq(bank_item_finalize(&it, A), 0);
    static const char want_norm[] = "single\0TCP 协议 ( )\0ABC abc\0乙 丙";   /* NUL after each part */
    uint8_t md[32];
    unsigned len = 0;
    cr_assert(EVP_Digest(want_norm, sizeof want_norm, md, &len, EVP_sha256(), NULL));
    cr_assert_eq(memcmp(md, it.content_hash, 32), 0);
    char want[19] = "h-";
    for (int i = 0; i < 8; i++) snprintf(want + 2 + 2 * i, 3, "%02x", md[i]);
    cr_assert_str_eq(it.uid, want);
    cr_assert_eq(it.version, 1);
}

Test(finalize, same_content_same_hash_and_uid_kept, .init = setup, .fini = teardown)
{
    bank_item a = good_item(), b = good_item(), c = good_item();
    b.stem = "TCP  协议工作在哪一层?";   /* ASCII '?' vs full-width '？' */
    b.uid = "NS4-S-0001";
    b.answer = "D";                     /* the key is not part of the content hash */
    c.options[0] = "网络层";
    c.options[1] = "物理层";            /* option order matters: keys are letters */
    cr_assert_eq(bank_item_finalize(&a, A), 0);
    cr_assert_eq(bank_item_finalize(&b, A), 0);
    cr_assert_eq(bank_item_finalize(&c, A), 0);
    cr_assert_eq(memcmp(a.content_hash, b.content_hash, 32), 0);
    cr_assert_neq(memcmp(a.content_hash, c.content_hash, 32), 0);
    cr_assert_str_eq(b.uid, "NS4-S-0001");
    cr_assert_str_neq(a.uid, c.uid);
}

/* ---- duplicates ---- */

Test(duplicates, same_content_or_same_uid, .init = setup, .fini = teardown)
{
    bank_itemset s;
    bank_itemset_init(&s, A);
    const char *stems[] = {"甲题", "乙题", "甲题 ", "丙题", "丁题"};
    const char *uids[] = {"U1", "U2", "U3", "U2", NULL};
    for (int i = 0; i < 5; i++) {
        bank_item *it = bank_itemset_push(&s);
        cr_assert_not_null(it);
        *it = good_item();
        it->stem = stems[i];
        it->uid = uids[i];
        it->line = i + 2;
        cr_assert_eq(bank_item_finalize(it, A), 0);
    }
    bank_item *other = bank_itemset_push(&s);
    *other = good_item();
    other->stem = "乙题";
    other->file = "c.csv";
    other->line = 9;
    cr_assert_eq(bank_item_finalize(other, A), 0);
    cr_assert_eq(bank_itemset_check_duplicates(&s, &D), 3);
    EXPECT("b.csv:4: 题干: duplicate of the item on line 2",
           "b.csv:5: 试题编号: U2 is also used on line 3",
           "c.csv:9: 题干: duplicate of the item on b.csv:3");
}

Test(duplicates, many_items_no_false_positives, .init = setup, .fini = teardown)
{
    bank_itemset s;
    bank_itemset_init(&s, A);
    for (int i = 0; i < 3000; i++) {
        bank_item *it = bank_itemset_push(&s);
        cr_assert_not_null(it);
        *it = good_item();
        it->stem = bank_arena_printf(A, "第 %d 题", i);
        it->line = i + 2;
        cr_assert_eq(bank_item_finalize(it, A), 0);
    }
    cr_assert_eq(s.n, 3000);
    cr_assert_eq(bank_itemset_check_duplicates(&s, &D), 0);
    cr_assert_str_eq(s.items[2999].stem, "第 2999 题");
}

/* ---- responses and scoring ---- */

static const char *norm(int n_options, const char *in)
{
    static char out[16];
    memset(out, '?', sizeof out);
    bank_rinfo ri = {BANK_SINGLE, n_options, 0};
    return bank_response_normalize(&ri, in, out, sizeof out) ? NULL : out;
}

Test(response, normalize_single)
{
    cr_assert_str_eq(norm(4, "b"), "B");
    cr_assert_str_eq(norm(4, "B"), "B");
    cr_assert_str_eq(norm(4, "  d\n"), "D");
    cr_assert_str_eq(norm(4, "Ｃ"), "C");
    cr_assert_str_eq(norm(4, "ａ"), "A");
    cr_assert_str_eq(norm(8, "\u3000Ｈ\u3000"), "H");
    cr_assert_str_eq(norm(4, ""), "");
    cr_assert_str_eq(norm(4, " \t"), "");
    cr_assert_null(norm(4, "E"));
    cr_assert_null(norm(4, "Ｅ"));
    cr_assert_null(norm(8, "I"));
    cr_assert_null(norm(4, "AB"));
    cr_assert_null(norm(4, "A B"));
    cr_assert_null(norm(4, "1"));
    cr_assert_null(norm(4, "对"));
    cr_assert_null(norm(4, "\xC3"));
    cr_assert_null(norm(0, "A"));
    cr_assert_null(norm(9, "A"));
    cr_assert_null(norm(4, NULL));
    char tiny[1];
    bank_rinfo ri4 = {BANK_SINGLE, 4, 0}, ri7 = {(enum bank_item_type)99, 4, 0};
    cr_assert_eq(bank_response_normalize(&ri4, "A", tiny, sizeof tiny), -1);
    char out[4];
    cr_assert_eq(bank_response_normalize(&ri7, "A", out, sizeof out), -1);
}

Test(score, single_choice)
{
    cr_assert_eq(bank_score(BANK_SINGLE, "B", BANK_MC_ALL, "B", 200), 200);
    cr_assert_eq(bank_score(BANK_SINGLE, "B", BANK_MC_ALL, "b", 200), 200);
    cr_assert_eq(bank_score(BANK_SINGLE, "B", BANK_MC_ALL, " Ｂ ", 150), 150);
    cr_assert_eq(bank_score(BANK_SINGLE, "B", BANK_MC_ALL, "C", 200), 0);
    cr_assert_eq(bank_score(BANK_SINGLE, "B", BANK_MC_ALL, "", 200), 0);
    cr_assert_eq(bank_score(BANK_SINGLE, "B", BANK_MC_ALL, "BC", 200), 0);
    cr_assert_eq(bank_score(BANK_SINGLE, "B", BANK_MC_ALL, NULL, 200), 0);
    cr_assert_eq(bank_score(BANK_SINGLE, "", BANK_MC_ALL, "", 200), 0);
    cr_assert_eq(bank_score(BANK_SINGLE, NULL, BANK_MC_ALL, "B", 200), 0);
    cr_assert_eq(bank_score((enum bank_item_type)99, "B", BANK_MC_ALL, "B", 200), 0);
}

/* bank: arenas, diagnostics, validation, the content hash, duplicates, responses, scoring. */
#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>

#include "kc_test.h"


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

Test(arena, allocations_are_zeroed_aligned_and_counted, .init = kc_setup, .fini = kc_teardown)
{
    cr_assert_eq(kc_arena_used(A), 0);
    for (size_t n = 1; n < 300; n += 7) {
        unsigned char *p = kc_arena_alloc(A, n);
        cr_assert_not_null(p);
        cr_assert_eq((uintptr_t)p % 16, 0, "size %zu is not 16-aligned", n);
        for (size_t i = 0; i < n; i++) cr_assert_eq(p[i], 0);
        memset(p, 0xAB, n);
    }
    size_t used = kc_arena_used(A);
    cr_assert_geq(used, 300 / 7 * 16);
    cr_assert_not_null(kc_arena_alloc(A, 1));
    cr_assert_eq(kc_arena_used(A), used + 16);
}

Test(arena, spans_many_chunks_and_big_blocks, .init = kc_setup, .fini = kc_teardown)
{
    kc_arena *small = kc_arena_new(1024);
    char *first = kc_arena_strdup(small, "first");
    void *ptrs[2000];
    for (int i = 0; i < 2000; i++) {
        ptrs[i] = kc_arena_alloc(small, 40);
        cr_assert_not_null(ptrs[i]);
        memset(ptrs[i], i & 0xFF, 40);
    }
    unsigned char *big = kc_arena_alloc(small, 1 << 20);   /* far above the chunk size */
    cr_assert_not_null(big);
    cr_assert_eq((uintptr_t)big % 16, 0);
    cr_assert_eq(big[0], 0);
    cr_assert_eq(big[(1 << 20) - 1], 0);
    memset(big, 1, 1 << 20);
    for (int i = 0; i < 2000; i++) cr_assert_eq(((unsigned char *)ptrs[i])[39], i & 0xFF);
    cr_assert_str_eq(first, "first");
    cr_assert_geq(kc_arena_used(small), 2000 * 48 + (1 << 20));
    kc_arena_free(small);
    kc_arena_free(NULL);
}

Test(arena, strings, .init = kc_setup, .fini = kc_teardown)
{
    cr_assert_str_eq(kc_arena_strdup(A, "试题"), "试题");
    cr_assert_null(kc_arena_strdup(A, NULL));
    cr_assert_str_eq(kc_arena_strndup(A, "abcdef", 3), "abc");
    cr_assert_str_eq(kc_arena_strndup(A, "ab", 10), "ab");
    cr_assert_str_eq(kc_arena_printf(A, "%s:%d: %s", "f.csv", 12, "题干"), "f.csv:12: 题干");
    char long_text[5000];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = 0;
    char *p = kc_arena_printf(A, "<%s>", long_text);
    cr_assert_eq(strlen(p), sizeof long_text + 1);
    cr_assert_eq(p[0], '<');
    cr_assert_eq(p[sizeof long_text], '>');
}

/* ---- diagnostics ---- */

Test(diag, line_format, .init = kc_setup, .fini = kc_teardown)
{
    for (int i = 0; i < 40; i++)
        cr_assert_eq(kc_diag_add(&D, "f.csv", i + 1, "答案", "problem %d", i), 0);
    cr_assert_eq(kc_diag_add(&D, "f.csv", 0, "file", "cannot open"), 0);
    cr_assert_eq(kc_diag_add(&D, "f.csv", 3, NULL, "no field"), 0);
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

Test(validate, good_item_has_no_problems, .init = kc_setup, .fini = kc_teardown)
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

Test(validate, answer_beyond_the_options, .init = kc_setup, .fini = kc_teardown)
{
    bank_item it = good_item();
    it.n_options = 3;
    it.answer = "D";
    cr_assert_eq(bank_item_validate(&it, &D), 1);
    EXPECT("b.csv:7: 答案: D but the item has only 3 options");
}

Test(validate, answer_not_a_letter, .init = kc_setup, .fini = kc_teardown)
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

Test(validate, options_contiguous_and_enough, .init = kc_setup, .fini = kc_teardown)
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

Test(validate, every_problem_one_line, .init = kc_setup, .fini = kc_teardown)
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

Test(validate, limits, .init = kc_setup, .fini = kc_teardown)
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

Test(finalize, hash_is_sha256_of_the_normalized_form, .init = kc_setup, .fini = kc_teardown)
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

Test(finalize, same_content_same_hash_and_uid_kept, .init = kc_setup, .fini = kc_teardown)
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

Test(duplicates, same_content_or_same_uid, .init = kc_setup, .fini = kc_teardown)
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

Test(duplicates, many_items_no_false_positives, .init = kc_setup, .fini = kc_teardown)
{
    bank_itemset s;
    bank_itemset_init(&s, A);
    for (int i = 0; i < 3000; i++) {
        bank_item *it = bank_itemset_push(&s);
        cr_assert_not_null(it);
        *it = good_item();
        it->stem = kc_arena_printf(A, "第 %d 题", i);
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

/* ---- every item type ---- */

static bank_item typed(enum bank_item_type t)
{
    bank_item it;
    memset(&it, 0, sizeof it);
    it.type = t;
    it.points_centi = 100;
    it.file = "b.csv";
    it.line = 3;
    switch (t) {
    case BANK_MULTI:
        it.stem = "下列属于传输层协议的有（ ）。";
        it.n_options = 4;
        it.options[0] = "TCP"; it.options[1] = "IP"; it.options[2] = "UDP"; it.options[3] = "ICMP";
        it.answer = "AC";
        break;
    case BANK_TF:
        it.stem = "防火墙可以防御所有网络攻击。";
        it.answer = "F";
        break;
    case BANK_FILL:
        it.stem = "HTTPS 默认端口是（ ），SSH 默认端口是____。";
        it.answer = "num:443|22";
        break;
    case BANK_SHORT: case BANK_ESSAY:
        it.stem = "简述最小权限原则。";
        it.answer = "只授予完成工作所需的最小权限。";
        break;
    case BANK_PRACTICAL: {
        it.stem = "制作并测试一根 T568B 直通网线。";
        it.time_minutes = 30;
        it.equipment = "压线钳、测线仪";
        static bank_criterion crit[] = {{"线序正确", 6000, 0}, {"测试通过", 4000, 0},
                                        {"违反安全操作规程", 0, 1}};
        it.criteria = crit;
        it.n_criteria = 3;
        break;
    }
    default:
        return good_item();
    }
    return it;
}

Test(validate, every_type_good, .init = kc_setup, .fini = kc_teardown)
{
    enum bank_item_type ts[] = {BANK_SINGLE, BANK_MULTI, BANK_TF, BANK_FILL, BANK_SHORT, BANK_ESSAY,
                                BANK_PRACTICAL};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        bank_item it = typed(ts[i]);
        if (ts[i] == BANK_PRACTICAL) it.points_centi = 10000;
        cr_expect_eq(bank_item_validate(&it, &D), 0, "%s", bank_type_name(ts[i]));
    }
    bank_item kids[2] = {typed(BANK_SINGLE), typed(BANK_TF)};
    kids[0].line = 4;
    kids[1].line = 5;
    bank_item comp = typed(BANK_SINGLE);
    comp.type = BANK_COMPOSITE;
    comp.n_options = 0;
    comp.answer = NULL;
    comp.stem = "阅读以下材料：某公司网络……";
    comp.children = kids;
    comp.n_children = 2;
    comp.points_centi = 200;
    cr_expect_eq(bank_item_validate(&comp, &D), 0);
    cr_assert_eq(D.n, 0, "%s", D.n ? D.lines[0] : "");
}

Test(validate, multi_keys, .init = kc_setup, .fini = kc_teardown)
{
    bank_item it = typed(BANK_MULTI);
    it.answer = "A";
    cr_assert_eq(bank_item_validate(&it, &D), 1);
    it.answer = "ACE";
    cr_assert_eq(bank_item_validate(&it, &D), 1);
    it.answer = "CA";
    cr_assert_eq(bank_item_validate(&it, &D), 1);
    it.answer = NULL;
    cr_assert_eq(bank_item_validate(&it, &D), 1);
    it = typed(BANK_MULTI);
    it.n_options = 1;
    cr_assert_eq(bank_item_validate(&it, &D), 2);
    it = typed(BANK_MULTI);
    it.mc_policy = BANK_MC_RATIO;
    cr_assert_eq(bank_item_validate(&it, &D), 0);
    it = good_item();
    it.mc_policy = BANK_MC_HALF;
    cr_assert_eq(bank_item_validate(&it, &D), 1);
    EXPECT("b.csv:3: 答案: A is one letter; a multiple-choice key has at least 2",
           "b.csv:3: 答案: E but the item has only 4 options",
           "b.csv:3: 答案: CA is not option letters A-H such as ACD",
           "b.csv:3: 答案: is empty",
           "b.csv:3: 选项B: is empty; a multiple-choice item needs at least 2 options",
           "b.csv:3: 答案: C but the item has only 1 option",
           "b.csv:7: 多选计分: only a multiple-choice item has a partial-credit policy");
}

Test(validate, tf_and_fill, .init = kc_setup, .fini = kc_teardown)
{
    bank_item it = typed(BANK_TF);
    it.answer = "对";   /* keys are normalized before validation */
    cr_assert_eq(bank_item_validate(&it, &D), 1);
    it = typed(BANK_TF);
    it.n_options = 2;
    it.options[0] = "对";
    it.options[1] = "错";
    cr_assert_eq(bank_item_validate(&it, &D), 1);
    it = typed(BANK_FILL);
    it.answer = "re:^(abc|$";
    cr_assert_eq(bank_item_validate(&it, &D), 1);
    it = typed(BANK_FILL);
    it.answer = "443";
    cr_assert_eq(bank_item_validate(&it, &D), 1);
    it = typed(BANK_FILL);
    it.stem = "填写端口";
    it.answer = "443|22";
    cr_assert_eq(bank_item_validate(&it, &D), 1);
    it.answer = "443";
    cr_assert_eq(bank_item_validate(&it, &D), 0);
    it.answer = "num:abc";
    cr_assert_eq(bank_item_validate(&it, &D), 1);
    it.answer = "TCP;|x";
    cr_assert_eq(bank_item_validate(&it, &D), 1);
    cr_assert_eq(D.n, 7);
    cr_expect_str_eq(D.lines[0], "b.csv:3: 答案: 对 is not 对 or 错 (also √/×, 正确/错误, T/F, 是/否)");
    cr_expect_str_eq(D.lines[1], "b.csv:3: 选项A: a true/false item has no options");
    cr_expect(strncmp(D.lines[2], "b.csv:3: 答案: blank 1: the pattern does not compile at offset ", 60) == 0,
              "%s", D.lines[2]);
    cr_expect_str_eq(D.lines[3], "b.csv:3: 答案: has 1 blank but 题干 marks 2");
    cr_expect_str_eq(D.lines[4], "b.csv:3: 答案: has 2 blanks but 题干 marks none; mark them with （ ）, ____ or {{1}}");
    cr_expect_str_eq(D.lines[5], "b.csv:3: 答案: blank 1: abc is not a number");
    cr_expect_str_eq(D.lines[6], "b.csv:3: 答案: blank 1: alternative 2 is empty");
}

Test(validate, practical_rubric, .init = kc_setup, .fini = kc_teardown)
{
    bank_item it = typed(BANK_PRACTICAL);
    it.points_centi = 9000;
    cr_assert_eq(bank_item_validate(&it, &D), 1);
    it = typed(BANK_PRACTICAL);
    it.points_centi = 10000;
    it.n_criteria = 0;
    it.time_minutes = 0;
    cr_assert_eq(bank_item_validate(&it, &D), 2);
    static bank_criterion veto_only[] = {{"带电插拔", 0, 1}};
    it = typed(BANK_PRACTICAL);
    it.criteria = veto_only;
    it.n_criteria = 1;
    cr_assert_eq(bank_item_validate(&it, &D), 1);
    it = good_item();
    it.time_minutes = 5;
    it.answer = "A";
    cr_assert_eq(bank_item_validate(&it, &D), 1);
    EXPECT("b.csv:3: 分值: 90 but the criteria of 评分标准 add up to 100",
           "b.csv:3: 考核时间: is empty; give the time allowed in minutes",
           "b.csv:3: 评分标准: is empty; a practical task needs at least one scoring criterion",
           "b.csv:3: 评分标准: has only veto criteria; at least one criterion must carry points",
           "b.csv:7: 考核时间: only a practical task has a time allowed");
}

Test(validate, composite_children, .init = kc_setup, .fini = kc_teardown)
{
    bank_item kids[3] = {typed(BANK_SINGLE), typed(BANK_PRACTICAL), typed(BANK_FILL)};
    kids[0].line = 11;
    kids[1].line = 12;
    kids[2].line = 13;
    kids[2].answer = "re:(";
    bank_item comp;
    memset(&comp, 0, sizeof comp);
    comp.type = BANK_COMPOSITE;
    comp.stem = "案例：……";
    comp.file = "b.csv";
    comp.line = 10;
    comp.children = kids;
    comp.n_children = 3;
    comp.points_centi = 300;
    comp.answer = "A";
    cr_assert_eq(bank_item_validate(&comp, &D), 3);
    cr_assert_eq(D.n, 3);
    cr_expect_str_eq(D.lines[0], "b.csv:10: 答案: A; a composite item has no key (its sub-items carry the keys)");
    cr_expect_str_eq(D.lines[1], "b.csv:12: 题型: a practical task cannot be a sub-item of a composite item");
    cr_expect(strstr(D.lines[2], "b.csv:13: 答案: blank 1: the pattern does not compile") == D.lines[2]);
    D.n = 0;
    kids[1] = typed(BANK_TF);
    kids[2] = typed(BANK_SHORT);
    comp.answer = NULL;
    comp.points_centi = 500;
    cr_assert_eq(bank_item_validate(&comp, &D), 1);
    comp.n_children = 0;
    cr_assert_eq(bank_item_validate(&comp, &D), 1);
    comp.n_children = 21;
    cr_assert_eq(bank_item_validate(&comp, &D), 1);
    EXPECT("b.csv:10: 分值: 5 but the sub-items add up to 3",
           "b.csv:10: 所属题目: the composite item has no sub-items (rows whose 所属题目 is its 试题编号)",
           "b.csv:10: 所属题目: the composite item has 21 sub-items; at most 20 are allowed");
}

Test(validate, catalog_fields_tags_media, .init = kc_setup, .fini = kc_teardown)
{
    bank_item it = good_item();
    it.occupation = "4-04-04-02";
    it.level = 4;
    const char *tags[] = {"网络", "安全"};
    it.tags = tags;
    it.n_tags = 2;
    static const unsigned char png[] = {0x89, 'P', 'N', 'G'};
    bank_media media[2] = {{"fig1.png", "image/png", png, sizeof png, {0}},
                           {"fig2.png", "image/png", png, sizeof png, {0}}};
    it.media = media;
    it.n_media = 2;
    cr_assert_eq(bank_item_validate(&it, &D), 0);
    it.occupation = "4-4-4-2";
    it.level = 6;
    const char *bad_tags[] = {"网络", "", "网络", "network-and-information-security-1"};
    it.tags = bad_tags;
    it.n_tags = 4;
    media[1].name = "fig1.png";
    cr_assert_eq(bank_item_validate(&it, &D), 6);
    it = good_item();
    it.n_tags = 17;
    const char *many[17];
    for (int i = 0; i < 17; i++) many[i] = kc_arena_printf(A, "t%d", i);
    it.tags = many;
    bank_media big = {"big.png", "image/png", png, BANK_MEDIA_MAX_BYTES + 1, {0}};
    it.media = &big;
    it.n_media = 1;
    cr_assert_eq(bank_item_validate(&it, &D), 2);
    EXPECT("b.csv:7: 职业代码: 4-4-4-2 is not an occupation code N-NN-NN-NN such as 4-04-04-02",
           "b.csv:7: 等级: 6 is not a level from 1 to 5",
           "b.csv:7: 标签: tag 2 is empty",
           "b.csv:7: 标签: 网络 appears twice",
           "b.csv:7: 标签: network-and-information-security-1 is longer than 32 characters",
           "b.csv:7: media: fig1.png appears twice",
           "b.csv:7: 标签: has 17 tags; at most 16 are allowed",
           "b.csv:7: media: big.png is 8388609 bytes; at most 8388608 (8 MiB) are allowed");
}

/* ---- keys ---- */

static const char *key(enum bank_item_type t, const char *raw, int want_rc)
{
    const char *out = "unset";
    cr_assert_eq(bank_key_normalize(t, raw, A, &out), want_rc, "%s", raw ? raw : "(null)");
    return out;
}

Test(keys, normalize, .init = kc_setup, .fini = kc_teardown)
{
    cr_assert_str_eq(key(BANK_SINGLE, " ｂ ", 0), "B");
    cr_assert_str_eq(key(BANK_SINGLE, "AB", 1), "AB");
    cr_assert_str_eq(key(BANK_MULTI, "A,C,D", 0), "ACD");
    cr_assert_str_eq(key(BANK_MULTI, "A、C、D", 0), "ACD");
    cr_assert_str_eq(key(BANK_MULTI, "ＣＡ", 0), "AC");
    cr_assert_str_eq(key(BANK_MULTI, "dba", 0), "ABD");
    cr_assert_str_eq(key(BANK_MULTI, "AAC", 0), "AC");
    cr_assert_str_eq(key(BANK_MULTI, "A和C", 1), "A和C");
    const char *t[] = {"对", "√", "正确", "T", "true", "TRUE", "是", "Y", "Ｔ"};
    const char *f[] = {"错", "×", "错误", "F", "false", "否", "N", "n"};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) cr_assert_str_eq(key(BANK_TF, t[i], 0), "T", "%s", t[i]);
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) cr_assert_str_eq(key(BANK_TF, f[i], 0), "F", "%s", f[i]);
    cr_assert_str_eq(key(BANK_TF, "也许", 1), "也许");
    cr_assert_str_eq(key(BANK_FILL, "  TCP;传输控制协议 ", 0), "TCP;传输控制协议");
    cr_assert_null(key(BANK_SHORT, "  ", 0));
    cr_assert_null(key(BANK_SINGLE, NULL, 0));
    cr_assert_str_eq(key(BANK_COMPOSITE, "A", 1), "A");
}

Test(keys, fill_parse_and_format, .init = kc_setup, .fini = kc_teardown)
{
    bank_blank *b;
    int n;
    char why[256];
    cr_assert_eq(bank_fill_key_parse("TCP;传输控制协议|=rm -rf|num:3.14±0.01|num:443|re:^192\\.168\\.\\d{1,3}$"
                                     "|a\\|b\\;c\\\\|num:2+-0.5",
                                     A, &b, &n, why, sizeof why), 0, "%s", why);
    cr_assert_eq(n, 7);
    cr_assert_eq(b[0].mode, BANK_BLANK_TEXT);
    cr_assert_eq(b[0].n_accept, 2);
    cr_assert_str_eq(b[0].accept[1], "传输控制协议");
    cr_assert_eq(b[1].mode, BANK_BLANK_EXACT);
    cr_assert_str_eq(b[1].accept[0], "rm -rf");
    cr_assert_eq(b[2].mode, BANK_BLANK_NUMERIC);
    cr_assert_float_eq(b[2].value, 3.14, 1e-12);
    cr_assert_float_eq(b[2].tolerance, 0.01, 1e-12);
    cr_assert_float_eq(b[3].value, 443, 0);
    cr_assert_eq(b[4].mode, BANK_BLANK_REGEX);
    cr_assert_str_eq(b[4].accept[0], "^192\\.168\\.\\d{1,3}$");
    cr_assert_eq(b[5].n_accept, 1);
    cr_assert_str_eq(b[5].accept[0], "a|b;c\\");
    cr_assert_float_eq(b[6].tolerance, 0.5, 0);
    char *text = bank_fill_key_format(b, n, A);
    cr_assert_str_eq(text, "TCP;传输控制协议|=rm -rf|num:3.14±0.01|num:443|re:^192\\.168\\.\\d{1,3}$"
                           "|a\\|b\\;c\\\\|num:2±0.5");
    bank_blank *b2;
    int n2;
    cr_assert_eq(bank_fill_key_parse(text, A, &b2, &n2, why, sizeof why), 0);
    cr_assert_str_eq(bank_fill_key_format(b2, n2, A), text);
    /* a text that looks like a prefix, and a pattern with an alternation */
    cr_assert_eq(bank_fill_key_parse("\\=x|\\re:y|re:a\\|b", A, &b, &n, why, sizeof why), 0);
    cr_assert_eq(b[0].mode, BANK_BLANK_TEXT);
    cr_assert_str_eq(b[0].accept[0], "=x");
    cr_assert_str_eq(b[1].accept[0], "re:y");
    cr_assert_str_eq(b[2].accept[0], "a|b");
    cr_assert_str_eq(bank_fill_key_format(b, n, A), "\\=x|\\re:y|re:a\\|b");
    cr_assert_eq(bank_fill_key_parse("a;\\ b", A, &b, &n, why, sizeof why), 0);
    cr_assert_str_eq(b[0].accept[1], "b", "alternatives are trimmed once unescaped");

    const char *bad[][2] = {
        {"", "is empty"},
        {"a||b", "blank 2 is empty"},
        {"a\\", "ends with a lone \\; write \\\\ for a backslash"},
        {"num:1±x", "blank 1: the tolerance x is not a number of at least 0"},
        {"num:1±-2", "blank 1: the tolerance -2 is not a number of at least 0"},
        {"re:", "blank 1: the pattern after re: is empty"},
        {"=", "blank 1 is empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(bank_fill_key_parse(bad[i][0], A, &b, &n, why, sizeof why), -1, "%s", bad[i][0]);
        cr_expect_str_eq(why, bad[i][1]);
    }
    cr_assert_eq(bank_fill_key_parse("re:a(b", A, &b, &n, why, sizeof why), -1);
    cr_expect_str_eq(why, "blank 1: the pattern does not compile at offset 3: missing closing parenthesis");
    char many[128] = "x";
    for (int i = 0; i < BANK_MAX_BLANKS; i++) strcat(many, "|x");
    cr_assert_eq(bank_fill_key_parse(many, A, &b, &n, why, sizeof why), -1);
    cr_expect_str_eq(why, "has more than 20 blanks");
}

Test(keys, rubric_parse_and_format, .init = kc_setup, .fini = kc_teardown)
{
    bank_criterion *c;
    int n, line;
    char why[256];
    const char *text = "20|正确制作并测试 T568B 直通网线\r\n\n30.5|按拓扑完成交换机 VLAN 划分\n否决|带电插拔设备\nveto | 违反安全规程\n";
    cr_assert_eq(bank_rubric_parse(text, A, &c, &n, &line, why, sizeof why), 0, "%s", why);
    cr_assert_eq(n, 4);
    cr_assert_eq(c[0].points_centi, 2000);
    cr_assert_str_eq(c[0].text, "正确制作并测试 T568B 直通网线");
    cr_assert_eq(c[1].points_centi, 3050);
    cr_assert(c[2].veto && c[3].veto);
    cr_assert_str_eq(c[3].text, "违反安全规程");
    char *out = bank_rubric_format(c, n, A);
    cr_assert_str_eq(out, "20|正确制作并测试 T568B 直通网线\n30.5|按拓扑完成交换机 VLAN 划分\n否决|带电插拔设备\n否决|违反安全规程");
    const struct { const char *in; int line; const char *why; } bad[] = {
        {"20|好\n没有竖线", 2, "has no |; write POINTS|TEXT or 否决|TEXT"},
        {"abc|文本", 1, "abc is not a number of points greater than 0 (or 否决)"},
        {"0|文本", 1, "0 is not a number of points greater than 0 (or 否决)"},
        {"1.234|文本", 1, "1.234 has more than 2 decimal places"},
        {"10|\n", 1, "the criterion has no text after |"},
        {"5|好\n1000000|文本", 2, "1000000 points is more than a task can carry (100)"},
        {"  \n", 0, "is empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(bank_rubric_parse(bad[i].in, A, &c, &n, &line, why, sizeof why), -1);
        cr_expect_eq(line, bad[i].line, "%s", bad[i].in);
        cr_expect_str_eq(why, bad[i].why);
    }
}

/* ---- hashes ---- */

Test(finalize, full_hash_covers_every_field_content_hash_does_not, .init = kc_setup, .fini = kc_teardown)
{
    bank_item base = typed(BANK_MULTI);
    cr_assert_eq(bank_item_finalize(&base, A), 0);
    const char *tags[] = {"x"};
    for (int f = 0; f < 10; f++) {
        bank_item it = typed(BANK_MULTI);
        switch (f) {
        case 0: it.answer = "ACD"; break;
        case 1: it.mc_policy = BANK_MC_HALF; break;
        case 2: it.points_centi = 200; break;
        case 3: it.difficulty = 3; break;
        case 4: it.point_code = "B-01"; break;
        case 5: it.tags = tags; it.n_tags = 1; break;
        case 6: it.explanation = "解析"; break;
        case 7: it.author = "张三"; break;
        case 8: it.pin_options = 1; break;
        case 9: it.level = 4; break;
        }
        cr_assert_eq(bank_item_finalize(&it, A), 0);
        cr_expect_eq(memcmp(it.content_hash, base.content_hash, 32), 0, "field %d", f);
        cr_expect_neq(memcmp(it.full_hash, base.full_hash, 32), 0, "field %d", f);
        cr_expect_str_eq(it.uid, base.uid);
    }
    bank_item again = typed(BANK_MULTI);
    cr_assert_eq(bank_item_finalize(&again, A), 0);
    cr_assert_eq(memcmp(again.full_hash, base.full_hash, 32), 0);
}

Test(finalize, composite_children_and_media, .init = kc_setup, .fini = kc_teardown)
{
    bank_item kids[2] = {typed(BANK_SINGLE), typed(BANK_TF)};
    kids[1].uid = "own-id";
    bank_item comp;
    memset(&comp, 0, sizeof comp);
    comp.type = BANK_COMPOSITE;
    comp.stem = "案例";
    comp.uid = "C-1";
    comp.children = kids;
    comp.n_children = 2;
    static const unsigned char data[] = "abc";
    bank_media m = {"a.png", "image/png", data, 3, {0}};
    comp.media = &m;
    comp.n_media = 1;
    cr_assert_eq(bank_item_finalize(&comp, A), 0);
    cr_assert_str_eq(kids[0].uid, "C-1-1");
    cr_assert_str_eq(kids[1].uid, "own-id");
    cr_assert_eq(kids[0].version, 1);
    uint8_t want[32];
    unsigned len;
    cr_assert(EVP_Digest(data, 3, want, &len, EVP_sha256(), NULL));
    cr_assert_eq(memcmp(m.sha256, want, 32), 0);
    uint8_t h1[32], f1[32];
    memcpy(h1, comp.content_hash, 32);
    memcpy(f1, comp.full_hash, 32);
    kids[1].stem = "另一道判断题。";
    cr_assert_eq(bank_item_finalize(&comp, A), 0);
    cr_assert_neq(memcmp(h1, comp.content_hash, 32), 0, "a child's text is part of the content");
    kids[1].stem = "防火墙可以防御所有网络攻击。";
    cr_assert_eq(bank_item_finalize(&comp, A), 0);
    cr_assert_eq(memcmp(h1, comp.content_hash, 32), 0);
    kids[1].answer = "T";
    cr_assert_eq(bank_item_finalize(&comp, A), 0);
    cr_assert_eq(memcmp(h1, comp.content_hash, 32), 0);
    cr_assert_neq(memcmp(f1, comp.full_hash, 32), 0, "a child's key is part of the version");
}

Test(duplicates, children_uids_and_siblings, .init = kc_setup, .fini = kc_teardown)
{
    bank_itemset s;
    bank_itemset_init(&s, A);
    bank_item *a = bank_itemset_push(&s);
    *a = good_item();
    a->uid = "C-1-1";
    a->line = 2;
    bank_item *kids = kc_arena_alloc(A, 3 * sizeof *kids);
    kids[0] = typed(BANK_SINGLE);
    kids[0].line = 4;
    kids[1] = typed(BANK_TF);
    kids[1].line = 5;
    kids[2] = typed(BANK_TF);
    kids[2].line = 6;
    kids[2].uid = "Z";
    bank_item *c = bank_itemset_push(&s);
    memset(c, 0, sizeof *c);
    c->type = BANK_COMPOSITE;
    c->stem = "案例";
    c->uid = "C-1";
    c->file = "b.csv";
    c->line = 3;
    c->children = kids;
    c->n_children = 3;
    cr_assert_eq(bank_item_finalize(a, A), 0);
    cr_assert_eq(bank_item_finalize(c, A), 0);
    cr_assert_eq(bank_itemset_check_duplicates(&s, &D), 1);
    EXPECT("b.csv:4: 试题编号: C-1-1 is also used on line 2");
    D.n = 0;
    a->uid = "A-1";
    cr_assert_eq(bank_itemset_check_duplicates(&s, &D), 1);
    EXPECT("b.csv:6: 题干: duplicate of the sub-item on line 5");
}

/* ---- responses and scoring for every type ---- */

static const char *rnorm(enum bank_item_type t, int n_options, int n_blanks, const char *in)
{
    static char out[BANK_RESPONSE_MAX + 1];
    bank_rinfo ri = {t, n_options, n_blanks};
    return bank_response_normalize(&ri, in, out, sizeof out) ? NULL : out;
}

Test(response, normalize_other_types)
{
    cr_assert_str_eq(rnorm(BANK_MULTI, 4, 0, "ca"), "AC");
    cr_assert_str_eq(rnorm(BANK_MULTI, 4, 0, "D, b"), "BD");
    cr_assert_str_eq(rnorm(BANK_MULTI, 4, 0, ""), "");
    cr_assert_null(rnorm(BANK_MULTI, 4, 0, "AE"));
    cr_assert_null(rnorm(BANK_MULTI, 4, 0, "A1"));
    cr_assert_str_eq(rnorm(BANK_TF, 0, 0, "对"), "T");
    cr_assert_str_eq(rnorm(BANK_TF, 0, 0, " × "), "F");
    cr_assert_str_eq(rnorm(BANK_TF, 0, 0, "false"), "F");
    cr_assert_str_eq(rnorm(BANK_TF, 0, 0, ""), "");
    cr_assert_null(rnorm(BANK_TF, 0, 0, "A"));
    cr_assert_str_eq(rnorm(BANK_FILL, 0, 2, " 443 \x1f 22\u3000"), "443\x1f" "22");
    cr_assert_str_eq(rnorm(BANK_FILL, 0, 2, "443\x1f"), "443");
    cr_assert_str_eq(rnorm(BANK_FILL, 0, 2, "\x1f" "22"), "\x1f" "22");
    cr_assert_str_eq(rnorm(BANK_FILL, 0, 2, " \x1f "), "");
    cr_assert_null(rnorm(BANK_FILL, 0, 2, "a\x1f" "b\x1f" "c"));
    cr_assert_null(rnorm(BANK_FILL, 0, 0, "a"));
    cr_assert_null(rnorm(BANK_FILL, 0, 1, "a\nb"));
    cr_assert_str_eq(rnorm(BANK_SHORT, 0, 0, "  第一行\n第二行  "), "第一行\n第二行");
    cr_assert_null(rnorm(BANK_ESSAY, 0, 0, "bad \x01 byte"));
    cr_assert_null(rnorm(BANK_ESSAY, 0, 0, "\xff"));
    char *big = malloc(BANK_RESPONSE_MAX + 2);
    memset(big, 'x', BANK_RESPONSE_MAX + 1);
    big[BANK_RESPONSE_MAX + 1] = 0;
    cr_assert_null(rnorm(BANK_ESSAY, 0, 0, big));
    big[BANK_RESPONSE_MAX] = 0;
    cr_assert_not_null(rnorm(BANK_ESSAY, 0, 0, big));
    free(big);
    cr_assert_null(rnorm(BANK_COMPOSITE, 0, 0, "A"));
    cr_assert_null(rnorm(BANK_PRACTICAL, 0, 0, "A"));
}

Test(score, multiple_choice_policies)
{
    /* key ACD, 3 points */
    const struct { const char *resp; int all, half, ratio; } cases[] = {
        {"ACD", 300, 300, 300}, {"AC", 0, 150, 200}, {"A", 0, 150, 100}, {"ABCD", 0, 0, 0},
        {"AB", 0, 0, 0}, {"", 0, 0, 0}, {"B", 0, 0, 0}, {"DCA", 300, 300, 300},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_expect_eq(bank_score(BANK_MULTI, "ACD", BANK_MC_ALL, cases[i].resp, 300), cases[i].all, "%s", cases[i].resp);
        cr_expect_eq(bank_score(BANK_MULTI, "ACD", BANK_MC_HALF, cases[i].resp, 300), cases[i].half, "%s", cases[i].resp);
        cr_expect_eq(bank_score(BANK_MULTI, "ACD", BANK_MC_RATIO, cases[i].resp, 300), cases[i].ratio, "%s", cases[i].resp);
    }
}

Test(score, tf_fill_and_examiner_types)
{
    cr_assert_eq(bank_score(BANK_TF, "T", BANK_MC_ALL, "T", 100), 100);
    cr_assert_eq(bank_score(BANK_TF, "T", BANK_MC_ALL, "F", 100), 0);
    cr_assert_eq(bank_score(BANK_TF, "F", BANK_MC_ALL, "", 100), 0);
    const char *k = "TCP;传输控制协议|=rm -rf|num:3.14±0.01|re:^192\\.168\\.\\d{1,3}\\.\\d{1,3}$";
    cr_assert_eq(bank_score(BANK_FILL, k, BANK_MC_ALL, "ｔｃｐ\x1frm -rf\x1f" "3.15\x1f" "192.168.1.20", 400), 400);
    cr_assert_eq(bank_score(BANK_FILL, k, BANK_MC_ALL, "传输 控制 协议\x1fRM -RF\x1f" "3.16\x1f" "192.168.1.2x", 400), 100);
    cr_assert_eq(bank_score(BANK_FILL, k, BANK_MC_ALL, "UDP\x1frm  -rf\x1f" "３.１４\x1f" "x192.168.1.2", 400), 100);
    cr_assert_eq(bank_score(BANK_FILL, k, BANK_MC_ALL, "tcp", 400), 100);
    cr_assert_eq(bank_score(BANK_FILL, "a|b|c", BANK_MC_ALL, "a\x1f" "b", 100), 66);
    cr_assert_eq(bank_score(BANK_FILL, "num:443", BANK_MC_ALL, "443.0", 100), 100);
    cr_assert_eq(bank_score(BANK_FILL, "num:443", BANK_MC_ALL, "444", 100), 0);
    cr_assert_eq(bank_score(BANK_FILL, "re:(a+)+$", BANK_MC_ALL, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", 100), 0);
    cr_assert_eq(bank_score(BANK_FILL, "re:(", BANK_MC_ALL, "(", 100), 0);
    cr_assert_eq(bank_score(BANK_SHORT, "参考", BANK_MC_ALL, "参考", 100), -1);
    cr_assert_eq(bank_score(BANK_ESSAY, NULL, BANK_MC_ALL, "x", 100), -1);
    cr_assert_eq(bank_score(BANK_COMPOSITE, NULL, BANK_MC_ALL, "x", 100), -1);
    cr_assert_eq(bank_score(BANK_PRACTICAL, NULL, BANK_MC_ALL, "x", 100), -1);
}

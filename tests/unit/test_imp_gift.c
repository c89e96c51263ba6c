/* importers: Moodle GIFT import, every construct and every diagnostic line; GIFT export and
 * the GIFT -> items -> GIFT -> items round trip. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../importers/imp_int.h"
#include "kc_test.h"

TestSuite(gift, .init = kc_setup, .fini = kc_teardown);

static int parse(const char *text)
{
    return imp_parse_buffer(IMP_GIFT, "q.gift", text, strlen(text), &S, &D);
}

/* The item's blanks, parsed from its fill key. */

/* ---- good input ---- */

static const char GOOD[] =
    "// a comment line\n"
    "$CATEGORY: $course$/top/网络安全/防火墙\n"
    "\n"
    "::NS-G1:: TCP 工作在哪一层？{\n"
    "  ~物理层\n"
    "  ~网络层#不对，IP 在网络层\n"
    "  =传输层#正确\n"
    "  ~应用层\n"
    "  ####TCP 是传输层协议\n"
    "}\n"
    "\n"
    "// several answers with equal weights: a multiple-answer item\n"
    "::NS-G2::下列哪些是对称加密算法？{\n"
    "  ~%50%AES\n"
    "  ~%-100%RSA\n"
    "  ~%50%SM4\n"
    "  ~%-100%ECC\n"
    "}\n"
    "\n"
    "::NS-G3::防火墙可以完全阻止内部攻击。{F}\n"
    "\n"
    "::NS-G4::HTTPS 默认端口是 443。{TRUE#端口号记错了#正确}\n"
    "\n"
    "::NS-G5::传输控制协议的英文缩写是？{=TCP =Transmission Control Protocol}\n"
    "\n"
    "::NS-G6::HTTPS 的默认端口号是多少？{#443}\n"
    "\n"
    "::NS-G7::圆周率约为多少？{#3.14:0.01}\n"
    "\n"
    "::NS-G8::一个 C 类网络最多可用多少个主机地址？{#250..254}\n"
    "\n"
    "::NS-G9::SSH 默认使用 {~21 =22 ~23} 号端口。\n"
    "\n"
    "::NS-G10::论述等级保护 2.0 的主要变化。{####要点：扩展了保护对象}\n"
    "\n"
    "::Port question::[plain]What does \\{ \\} \\~ \\= \\# \\: mean?{=escapes}\n"
    "\n"
    "[html]<p>What is <b>ARP</b>?</p>{=地址解析协议}\n"
    "\n"
    "::NS-G13::[markdown]The *bold* word{~a =b}\n"
    "\n"
    "::NS-G14::numeric with one answer written with =?{#=1822:0}\n";

Test(gift, every_construct)
{
    int rc = parse(GOOD);
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(S.n, 14);

    const bank_item *it = &S.items[0];
    cr_assert_str_eq(it->uid, "NS-G1");
    cr_assert_eq(it->type, BANK_SINGLE);
    cr_assert_eq(it->line, 4, "the line where the question starts");
    cr_assert_str_eq(it->stem, "TCP 工作在哪一层？");
    cr_assert_eq(it->n_options, 4);
    cr_assert_str_eq(it->options[2], "传输层");
    cr_assert_str_eq(it->answer, "C");
    cr_assert_eq(it->points_centi, 100, "GIFT has no points: 1");
    cr_assert_eq(it->n_tags, 1);
    cr_assert_str_eq(it->tags[0], "网络安全/防火墙");
    cr_assert_str_eq(it->explanation, "TCP 是传输层协议<br>B: 不对，IP 在网络层<br>C: 正确",
                     "per-answer feedback goes into the explanation: %s", it->explanation);

    it = &S.items[1];
    cr_assert_eq(it->type, BANK_MULTI);
    cr_assert_str_eq(it->answer, "AC");
    cr_assert_eq(it->mc_policy, BANK_MC_RATIO);
    cr_assert_eq(it->line, 13);

    it = &S.items[2];
    cr_assert_eq(it->type, BANK_TF);
    cr_assert_str_eq(it->answer, "F");
    cr_assert_null(it->explanation);
    it = &S.items[3];
    cr_assert_eq(it->type, BANK_TF);
    cr_assert_str_eq(it->answer, "T");
    cr_assert_str_eq(it->explanation, "答错: 端口号记错了<br>答对: 正确");

    it = &S.items[4];
    cr_assert_eq(it->type, BANK_FILL);
    cr_assert_eq(nblanks(it), 1);
    cr_assert_eq(BL(it)[0].mode, BANK_BLANK_TEXT);
    cr_assert_eq(BL(it)[0].n_accept, 2);
    cr_assert_str_eq(BL(it)[0].accept[0], "TCP");
    cr_assert_str_eq(BL(it)[0].accept[1], "Transmission Control Protocol");

    it = &S.items[5];
    cr_assert_eq(it->type, BANK_FILL);
    cr_assert_eq(nblanks(it), 1);
    cr_assert_eq(BL(it)[0].mode, BANK_BLANK_NUMERIC);
    cr_assert_float_eq(BL(it)[0].value, 443, 1e-9);
    cr_assert_float_eq(BL(it)[0].tolerance, 0, 1e-9);
    it = &S.items[6];
    cr_assert_float_eq(BL(it)[0].value, 3.14, 1e-9);
    cr_assert_float_eq(BL(it)[0].tolerance, 0.01, 1e-9);
    it = &S.items[7];
    cr_assert_float_eq(BL(it)[0].value, 252, 1e-9, "a range is its middle ± half its width");
    cr_assert_float_eq(BL(it)[0].tolerance, 2, 1e-9);

    it = &S.items[8];
    cr_assert_eq(it->type, BANK_SINGLE);
    cr_assert_str_eq(it->stem, "SSH 默认使用 ____ 号端口。", "missing word: %s", it->stem);
    cr_assert_str_eq(it->answer, "B");

    it = &S.items[9];
    cr_assert_eq(it->type, BANK_ESSAY);
    cr_assert_null(it->answer);
    cr_assert_str_eq(it->explanation, "要点：扩展了保护对象");

    it = &S.items[10];
    cr_assert_str_eq(it->stem, "What does { } ~ = # : mean?");
    cr_assert_eq(strncmp(it->uid, "h-", 2), 0, "a title that is not an id: derived uid");
    cr_assert_eq(it->n_tags, 2);
    cr_assert_str_eq(it->tags[1], "Port question", "the title is kept as a tag");

    it = &S.items[11];
    cr_assert_str_eq(it->stem, "<p>What is <b>ARP</b>?</p>");
    it = &S.items[12];
    cr_assert_str_eq(it->stem, "The *bold* word", "markdown is kept as plain text");
    it = &S.items[13];
    cr_assert_eq(BL(it)[0].mode, BANK_BLANK_NUMERIC);
    cr_assert_float_eq(BL(it)[0].value, 1822, 1e-9);
}

Test(gift, crlf_comments_and_category_sharing_a_block)
{
    int rc = parse("\xEF\xBB\xBF// header\r\n$CATEGORY: 默认\r\nQ1{T}\r\n\r\n  // indented comment\r\n"
                   "Q2 {=a}\r\n");
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(S.n, 2);
    cr_assert_eq(S.items[0].line, 3);
    cr_assert_str_eq(S.items[0].tags[0], "默认");
    cr_assert_str_eq(S.items[1].tags[0], "默认", "a category applies until the next one");
    cr_assert_eq(S.items[1].line, 6);
}

/* ---- broken input ---- */

Test(gift, matching_and_unsupported_constructs_are_reported_and_parsing_continues)
{
    int rc = parse("Match.{=Canada -> Ottawa =Italy -> Rome}\n\n"
                   "Just a description\n\n"
                   "Partial{=%50%half =full}\n\n"
                   "Weights{~%30%a ~%70%b ~c}\n\n"
                   "Two right{=a =b ~c}\n\n"
                   "Nobody{~a ~b}\n\n"
                   "Bad weight{~%abc%a =b}\n\n"
                   "NaN{#abc}\n\n"
                   "Two numeric{#=1:0 =2:0}\n\n"
                   "Partial numeric{#=1:0 =%50%2:0}\n\n"
                   "Prefix{junk ~a =b}\n\n"
                   "OK{=fine}\n");
    EXPECT("q.gift:1: 题型: GIFT matching questions are not supported",
           "q.gift:3: 题型: text without an answer block {…} is a GIFT description, not a question",
           "q.gift:5: 答案: partial credit (%50%) for a short answer cannot be carried; keep only answers that earn full marks",
           "q.gift:7: 答案: these weights cannot be carried; use one = answer, or equal positive %weight%s adding up to 100% for a multiple-answer item",
           "q.gift:9: 答案: more than one answer is marked =; for a multiple-answer item give each correct answer an equal %weight% adding up to 100%, e.g. ~%50%",
           "q.gift:11: 答案: no correct answer; mark it with = or a positive %weight%",
           "q.gift:13: 答案: a %weight% is not a number from -100 to 100",
           "q.gift:15: 答案: abc is not a number, VALUE:TOLERANCE or MIN..MAX",
           "q.gift:17: 答案: more than one correct numeric answer cannot be carried; a numeric blank has one value and a tolerance",
           "q.gift:19: 答案: partial credit (%50%) for a numeric answer cannot be carried; keep one answer that earns full marks",
           "q.gift:21: 答案: every answer must start with = (correct) or ~ (wrong)");
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 1);
    cr_assert_eq(S.items[0].line, 23);
}

Test(gift, unbalanced_braces_and_truncation)
{
    int rc = parse("Open{~a =b\n\n"
                   "Stray } here{=x}\n\n"
                   "Nested{=a {b}}\n\n"
                   "Twice{=a} and {=b}\n\n"
                   "::unclosed title{=a}\n\n"
                   "Cut off at the end{=a ~");
    EXPECT("q.gift:1: 答案: the answer block { is not closed with }",
           "q.gift:3: 题干: } without {; write a literal brace as \\}",
           "q.gift:5: 答案: { inside the answer block; write a literal brace as \\{",
           "q.gift:7: 答案: more than one answer block; write literal braces as \\{ \\}",
           "q.gift:9: 试题编号: the title ::… is not closed with ::",
           "q.gift:11: 答案: the answer block { is not closed with }");
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 0);
}

Test(gift, too_many_options_and_empty_file)
{
    int rc = parse("Nine{=a ~b ~c ~d ~e ~f ~g ~h ~i}\n");
    EXPECT("q.gift:1: 选项: has 9 options; at most 8 (A-H) are allowed");
    cr_assert_eq(rc, 1);
    kc_teardown();
    kc_setup();
    rc = parse("// only comments\n\n\n");
    EXPECT("q.gift:1: file: contains no GIFT questions");
    cr_assert_eq(rc, 1);
}

Test(gift, duplicates_are_reported)
{
    int rc = parse("::D-1::Same stem{=a ~b}\n\n::D-2::Same stem{=a ~b}\n\n::D-1::Other{T}\n");
    cr_assert_eq(rc, 1);
    EXPECT("q.gift:3: 题干: duplicate of the item on line 1",
           "q.gift:5: 试题编号: D-1 is also used on line 1");
}

Test(gift, ten_megabyte_file)
{
    size_t cap = 11u << 20, len = 0;
    char *buf = malloc(cap);
    cr_assert_not_null(buf);
    int n = 0;
    while (len < (10u << 20)) {
        len += (size_t)snprintf(buf + len, cap - len,
                                "::BIG-%d::第 %d 题：下列哪一项是正确的？{~错误一 =正确 ~错误二 ~错误三}\n\n",
                                n, n);
        n++;
    }
    int rc = imp_parse_buffer(IMP_GIFT, "big.gift", buf, len, &S, &D);
    free(buf);
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(S.n, (size_t)n);
    cr_assert_str_eq(S.items[n - 1].answer, "B");
}

/* ---- export and the round trip ---- */

static void same_item(const bank_item *a, const bank_item *b)
{
    cr_expect_str_eq(a->uid, b->uid);
    cr_expect_eq(a->type, b->type, "%s", a->uid);
    cr_expect_str_eq(a->stem, b->stem, "%s", a->uid);
    cr_expect_eq(a->n_options, b->n_options, "%s", a->uid);
    for (int i = 0; i < a->n_options && i < b->n_options; i++)
        cr_expect_str_eq(a->options[i], b->options[i], "%s", a->uid);
    if (a->answer || b->answer) {
        cr_expect(a->answer && b->answer, "%s answer", a->uid);
        if (a->answer && b->answer) cr_expect_str_eq(a->answer, b->answer, "%s", a->uid);
    }
    cr_expect_eq(a->mc_policy, b->mc_policy, "%s", a->uid);
    if (a->explanation || b->explanation) {
        cr_expect(a->explanation && b->explanation, "%s explanation", a->uid);
        if (a->explanation && b->explanation)
            cr_expect_str_eq(a->explanation, b->explanation, "%s", a->uid);
    }
    cr_expect_eq(a->n_tags, b->n_tags, "%s tags", a->uid);
    for (int i = 0; i < a->n_tags && i < b->n_tags && i < 1; i++)
        cr_expect_str_eq(a->tags[i], b->tags[i], "%s", a->uid);
    for (int i = 0; a->type == BANK_FILL && i < nblanks(a) && i < nblanks(b); i++) {
        cr_expect_eq(BL(a)[i].mode, BL(b)[i].mode, "%s", a->uid);
        cr_expect_float_eq(BL(a)[i].value, BL(b)[i].value, 1e-12, "%s", a->uid);
        cr_expect_float_eq(BL(a)[i].tolerance, BL(b)[i].tolerance, 1e-12, "%s", a->uid);
    }
    cr_expect_eq(memcmp(a->full_hash, b->full_hash, 32), 0, "%s: full hash", a->uid);
}

Test(gift, round_trip_is_lossless)
{
    cr_assert_eq(parse(GOOD), 0);
    char path[] = "/tmp/kc-gift-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    /* the title that is not an id is a second tag, which GIFT cannot carry with a uid */
    kc_diag d2;
    kc_diag_init(&d2, A);
    int rc = imp_export_file(IMP_GIFT, &S, path, &d2);
    cr_assert_eq(d2.n, 1, "%s", d2.n ? d2.lines[0] : "");
    cr_expect_eq(strstr(d2.lines[0], ": 标签 after the first: GIFT cannot carry this; left out") != NULL, 1,
                 "%s", d2.lines[0]);
    cr_assert_eq(rc, 1);
    char *once = slurp(path, NULL);

    bank_itemset s2;
    bank_itemset_init(&s2, A);
    kc_diag d3;
    kc_diag_init(&d3, A);
    rc = imp_parse_file(IMP_GIFT, path, &s2, &d3);
    for (size_t i = 0; i < d3.n; i++) cr_expect_fail("%s", d3.lines[i]);
    cr_assert_eq(rc, 0);
    cr_assert_eq(s2.n, S.n);
    for (size_t i = 0; i < S.n; i++) {
        const bank_item *b = NULL;
        for (size_t j = 0; j < s2.n; j++)
            if (strcmp(s2.items[j].uid, S.items[i].uid) == 0) b = &s2.items[j];
        cr_assert_not_null(b, "%s is missing after the round trip", S.items[i].uid);
        if (S.items[i].n_tags > 1) continue;    /* reported above */
        same_item(&S.items[i], b);
    }
    /* and exporting again gives the same file */
    kc_diag_init(&d2, A);
    cr_assert_geq(imp_export_file(IMP_GIFT, &s2, path, &d2), 0);
    char *twice = slurp(path, NULL);
    cr_expect_str_eq(once, twice);
    unlink(path);
}

Test(gift, export_reports_what_it_cannot_carry)
{
    bank_item *it = bank_itemset_push(&S);
    it->uid = "C-1";
    it->type = BANK_COMPOSITE;
    it->stem = "案例";
    it = bank_itemset_push(&S);
    it->uid = "F-2";
    it->type = BANK_FILL;
    it->stem = "____ 和 ____";
    it->answer = "a|b";
    it = bank_itemset_push(&S);
    it->uid = "S-3";
    it->type = BANK_SHORT;
    it->stem = "简述";
    it->answer = "要点";
    it->points_centi = 500;
    it->difficulty = 3;
    it->point_code = "B-01";
    it = bank_itemset_push(&S);
    it->uid = "M-4";
    it->type = BANK_MULTI;
    it->stem = "多选";
    it->n_options = 3;
    it->options[0] = "a";
    it->options[1] = "b";
    it->options[2] = "c";
    it->answer = "AB";
    it->points_centi = 100;
    it->mc_policy = BANK_MC_HALF;
    it = bank_itemset_push(&S);
    it->uid = "P-5";
    it->type = BANK_PRACTICAL;
    it->stem = "实操";
    for (size_t i = 0; i < S.n; i++) cr_assert_eq(bank_item_prepare(&S.items[i], BANK_TEXT_PLAIN, A, NULL), 0);
    char path[] = "/tmp/kc-gift-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    int rc = imp_export_file(IMP_GIFT, &S, path, &D);
    EXPECT("C-1: 题型: GIFT cannot carry composite items",
           "F-2: 题型: GIFT cannot carry fill items with more than one blank; item left out",
           "S-3: 分值, 难度, 鉴定点代码: GIFT cannot carry these; left out",
           "S-3: 题型: GIFT has no short-answer (简答) type; written as an essay",
           "S-3: 参考答案: GIFT cannot carry a reference answer; left out",
           "M-4: 多选计分: GIFT weights give ratio credit; half is left out",
           "P-5: 题型: GIFT cannot carry practical items");
    cr_assert_eq(rc, 1);
    char *s = slurp(path, NULL);
    cr_expect(strstr(s, "::S-3::简述{}") != NULL, "%s", s);
    cr_expect(strstr(s, "::M-4::多选{\n\t~%50%a\n\t~%50%b\n\t~%-100%c\n}") != NULL, "%s", s);
    cr_expect(strstr(s, "C-1") == NULL);
    unlink(path);
}

/* Items from another format keep their texts through GIFT: markup characters, line breaks
 * and blank marks. */
Test(gift, text_bank_through_gift)
{
    const char *bank = "一、单项选择题\n"
                       "1. 若 a < b 且 b & c，下列正确的是（ ）\n"
                       "A. a<c  B. {a}  C. ~a=#b  D. \\a:\n"
                       "答案：A\n"
                       "解析：第一行；\n第二行。\n"
                       "二、多项选择题\n"
                       "1. 多选\nA. 甲\nB. 乙\nC. 丙\n答案：AC\n"
                       "三、判断题\n"
                       "1. 判断（ √ ）\n"
                       "四、填空题\n"
                       "1. 端口是____号，协议是 HTTPS。\n答案：443\n"
                       "2. ____和____\n答案：甲|乙\n"
                       "五、简答题\n"
                       "1. 简述。\n参考答案：要点\n";
    cr_assert_eq(imp_parse_buffer(IMP_TEXT, "bank.txt", bank, strlen(bank), &S, &D), 0);
    EXPECT_CLEAN();
    cr_assert_eq(S.n, 6);
    char path[] = "/tmp/kc-gift-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    int rc = imp_export_file(IMP_GIFT, &S, path, &D);
    cr_assert_eq(rc, 1);
    cr_assert_eq(D.n, 4);
    cr_expect(strstr(D.lines[0], ": 多选计分: GIFT weights give ratio credit; all is left out"), "%s", D.lines[0]);
    cr_expect(strstr(D.lines[1], ": 题型: GIFT cannot carry fill items with more than one blank; item left out"), "%s", D.lines[1]);
    cr_expect(strstr(D.lines[2], ": 题型: GIFT has no short-answer (简答) type; written as an essay"), "%s", D.lines[2]);
    cr_expect(strstr(D.lines[3], ": 参考答案: GIFT cannot carry a reference answer; left out"), "%s", D.lines[3]);
    char *gift = slurp(path, NULL);
    cr_expect(strstr(gift, "端口是{=443}号，协议是 HTTPS。") != NULL, "missing word: %s", gift);

    bank_itemset s2;
    bank_itemset_init(&s2, A);
    kc_diag d2;
    kc_diag_init(&d2, A);
    rc = imp_parse_file(IMP_GIFT, path, &s2, &d2);
    for (size_t i = 0; i < d2.n; i++) cr_expect_fail("%s", d2.lines[i]);
    cr_assert_eq(rc, 0);
    cr_assert_eq(s2.n, 5);
    for (size_t j = 0; j < s2.n; j++) {
        const bank_item *b = &s2.items[j], *a = NULL;
        for (size_t i = 0; i < S.n; i++)
            if (strcmp(S.items[i].uid, b->uid) == 0) a = &S.items[i];
        cr_assert_not_null(a, "%s", b->uid);
        cr_expect_str_eq(a->stem, b->stem);
        cr_expect_eq(a->n_options, b->n_options);
        for (int i = 0; i < a->n_options; i++) cr_expect_str_eq(a->options[i], b->options[i]);
        if (a->type == BANK_SHORT) {
            cr_expect_eq(b->type, BANK_ESSAY);
            continue;
        }
        cr_expect_eq(a->type, b->type);
        cr_expect_str_eq(a->answer, b->answer);
        if (a->explanation) cr_expect_str_eq(a->explanation, b->explanation);
    }
    unlink(path);
}

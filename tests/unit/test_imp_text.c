/* importers: the Word-style text format, every construct, GB18030 and every diagnostic line. */
#include <criterion/criterion.h>
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_test.h"

TestSuite(text, .init = kc_setup, .fini = kc_teardown);

static int parse_n(const char *buf, size_t n)
{
    return imp_parse_buffer(IMP_TEXT, "bank.txt", buf, n, &S, &D);
}

static int parse(const char *text) { return parse_n(text, strlen(text)); }

/* The item's blanks, parsed from its fill key. */

static const char GOOD[] =
    "网络与信息安全管理员（四级）理论知识试题\n"                          /* 1 */
    "\n"
    "一、单项选择题（每题1分，共3分）\n"                                  /* 3 */
    "1．TCP 工作在 OSI 模型的哪一层？（　　）\n"                          /* 4 */
    "A．物理层　　B．网络层　　C．传输层　　D．应用层\n"
    "答案：C\n"
    "解析：TCP 是传输层协议。\n"
    "难度：2\n"
    "鉴定点：B-01-001\n"
    "2、HTTPS 默认使用的端口是（ B ）。\n"                                /* 10 */
    "A. 80\n"
    "B. 443\n"
    "C. 8080\n"
    "D. 21\n"
    "3.下列属于对称加密算法的是（　）A、RSA B、AES C、ECC D、DSA\n"       /* 15 */
    "【答案】B\n"
    "【解析】AES 是对称算法，\n"
    "其余是非对称算法。\n"
    "分值：2\n"
    "\n"
    "二、多项选择题（每题2分）\n"                                         /* 21 */
    "1. 下列哪些属于网络层协议？\n"                                       /* 22 */
    "A) IP\n"
    "B) ICMP\n"
    "C) TCP\n"
    "D) ARP\n"
    "正确答案：A、B、D\n"
    "\n"
    "三、判断题\n"                                                        /* 29 */
    "1. 防火墙可以完全阻止内部攻击。（ × ）\n"                            /* 30 */
    "2. 《网络安全法》自 2017 年 6 月 1 日起施行。\n"                      /* 31 */
    "答案：√\n"
    "3. 口令应定期更换。\n"                                               /* 33 */
    "答案：正确\n"
    "\n"
    "四、填空题\n"                                                        /* 36 */
    "1. HTTPS 的默认端口是______。\n"                                     /* 37 */
    "答案：443\n"
    "2. OSI 模型中，TCP 位于______层，IP 位于______层。\n"                /* 39 */
    "答案：传输；网络\n"
    "3. 常见的三种安全属性是 ____、____ 和 ____。\n"                      /* 41 */
    "答案：机密性 完整性　可用性\n"
    "（1）rm 命令删除目录用（　）参数。\n"                                /* 43 */
    "答案：-rf\n"
    "\n"
    "五、简答题\n"                                                        /* 46 */
    "1. 简述防火墙的主要功能。\n"                                         /* 47 */
    "参考答案：\n"
    "（1）访问控制；\n"
    "（2）日志审计；\n"
    "2. 简述最小权限原则。\n"                                             /* 51 */
    "参考答案：只授予完成工作所需的最小权限。\n"
    "难度：较难\n";

Test(text, every_construct)
{
    int rc = parse(GOOD);
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(S.n, 13);

    const bank_item *it = &S.items[0];
    cr_assert_eq(it->type, BANK_SINGLE);
    cr_assert_eq(it->line, 4);
    cr_assert_str_eq(it->stem, "TCP 工作在 OSI 模型的哪一层？（　　）");
    cr_assert_eq(it->n_options, 4);
    cr_assert_str_eq(it->options[0], "物理层");
    cr_assert_str_eq(it->options[3], "应用层");
    cr_assert_str_eq(it->answer, "C");
    cr_assert_str_eq(it->explanation, "TCP 是传输层协议。");
    cr_assert_eq(it->difficulty, 2);
    cr_assert_str_eq(it->point_code, "B-01-001");
    cr_assert_eq(it->points_centi, 100, "每题1分");

    it = &S.items[1];
    cr_assert_eq(it->line, 10);
    cr_assert_str_eq(it->answer, "B", "the answer in the stem's parentheses");
    cr_assert_str_eq(it->stem, "HTTPS 默认使用的端口是（ ）。", "the key is taken out: %s", it->stem);
    cr_assert_eq(it->n_options, 4);

    it = &S.items[2];
    cr_assert_str_eq(it->stem, "下列属于对称加密算法的是（　）");
    cr_assert_eq(it->n_options, 4);
    cr_assert_str_eq(it->options[1], "AES");
    cr_assert_str_eq(it->answer, "B");
    cr_assert_str_eq(it->explanation, "AES 是对称算法，<br>其余是非对称算法。", "%s", it->explanation);
    cr_assert_eq(it->points_centi, 200, "分值 overrides the heading");

    it = &S.items[3];
    cr_assert_eq(it->type, BANK_MULTI);
    cr_assert_str_eq(it->answer, "ABD");
    cr_assert_eq(it->points_centi, 200, "每题2分");
    cr_assert_eq(it->line, 22);

    it = &S.items[4];
    cr_assert_eq(it->type, BANK_TF);
    cr_assert_str_eq(it->answer, "F");
    cr_assert_str_eq(it->stem, "防火墙可以完全阻止内部攻击。（ ）");
    cr_assert_str_eq(S.items[5].answer, "T");
    cr_assert_str_eq(S.items[6].answer, "T");

    it = &S.items[7];
    cr_assert_eq(it->type, BANK_FILL);
    cr_assert_eq(nblanks(it), 1);
    cr_assert_str_eq(BL(it)[0].accept[0], "443");
    it = &S.items[8];
    cr_assert_eq(nblanks(it), 2);
    cr_assert_str_eq(BL(it)[0].accept[0], "传输");
    cr_assert_str_eq(BL(it)[1].accept[0], "网络");
    it = &S.items[9];
    cr_assert_eq(nblanks(it), 3, "blanks separated by spaces");
    cr_assert_str_eq(BL(it)[2].accept[0], "可用性");
    it = &S.items[10];
    cr_assert_eq(it->line, 43, "（1） numbering");
    cr_assert_eq(nblanks(it), 1);
    cr_assert_str_eq(BL(it)[0].accept[0], "-rf");

    it = &S.items[11];
    cr_assert_eq(it->type, BANK_SHORT);
    cr_assert_str_eq(it->answer, "（1）访问控制；<br>（2）日志审计；", "%s", it->answer);
    it = &S.items[12];
    cr_assert_eq(it->line, 51);
    cr_assert_str_eq(it->answer, "只授予完成工作所需的最小权限。");
    cr_assert_eq(it->difficulty, 4);
}

Test(text, without_headings_the_shape_decides)
{
    int rc = parse("1. 单选？\nA. 甲\nB. 乙\n答案：A\n"
                   "2. 多选？（ AB ）\nA. 甲\nB. 乙\nC. 丙\n"
                   "3. 判断。\n答案：错\n"
                   "4. 填____空。\n答案：词\n"
                   "5. 简答。\n答案：要点\n");
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(S.n, 5);
    cr_assert_eq(S.items[0].type, BANK_SINGLE);
    cr_assert_eq(S.items[1].type, BANK_MULTI);
    cr_assert_str_eq(S.items[1].answer, "AB");
    cr_assert_eq(S.items[2].type, BANK_TF);
    cr_assert_eq(S.items[3].type, BANK_FILL);
    cr_assert_eq(S.items[4].type, BANK_SHORT);
}

Test(text, broken_items_are_reported_by_line_and_parsing_continues)
{
    int rc = parse("一、单项选择题\n"
                   "1. 没有答案\nA. 甲\nB. 乙\n"                         /* 2 */
                   "2. 字母没有选项\nA. 甲\nB. 乙\n答案：D\n"            /* 5 */
                   "3. 顺序错\nA. 甲\nC. 丙\n答案：A\n"                  /* 9 */
                   "4. 题干答案不一致（ A ）\nA. 甲\nB. 乙\n答案：B\n"   /* 13 */
                   "5. 两个答案\nA. 甲\nB. 乙\n答案：A\n答案：B\n"       /* 17 */
                   "6. 选项后有杂行\nA. 甲\nB. 乙\n杂行\n答案：A\n"      /* 22 */
                   "7. 好题\nA. 甲\nB. 乙\n答案：A\n难度：9\n"           /* 27 */
                   "答案：A\n"                                           /* 32 */
                   "三、判断题\n"                                         /* 33 */
                   "1. 判断\n答案：也许\n"                               /* 34 */
                   "四、填空题\n"                                         /* 36 */
                   "1. 两个____和____\n答案：一\n"                       /* 37 */
                   "六、其他\n"                                           /* 39 */
                   "1. 好判断？\n答案：对\n分值：abc\n"                  /* 40 */
                   "五、案例分析题\n"                                     /* 43 */
                   "1. 案例\n答案：略\n");                                /* 44 */
    EXPECT("bank.txt:2: 答案: is empty",
           "bank.txt:5: 答案: D but the item has only 2 options",
           "bank.txt:11: 选项: C follows A; options go A, B, C … in order",
           "bank.txt:13: 答案: the stem's （A） and the 答案 line (B) differ",
           "bank.txt:21: 答案: a second 答案 line (the first is on line 20)",
           "bank.txt:25: 选项: is neither an option (A．…) nor an 答案/解析 line",
           "bank.txt:31: 难度: 9 is not 1 to 5 or 易/较易/中等/较难/难",
           "bank.txt:32: 答案: a second 答案 line (the first is on line 30)",
           "bank.txt:34: 答案: 也许 is not 对/错, √/×, 正确/错误 or T/F",
           "bank.txt:37: 答案: gives 1 blank but the stem marks 2 (____ or （ ）)",
           "bank.txt:39: 题型: the heading names no item type (单项选择题, 多项选择题, 判断题, 填空题, 简答题, 论述题, 计算题)",
           "bank.txt:42: 分值: abc is not a number of points greater than 0 (up to 2 decimals)",
           "bank.txt:44: 题型: 案例分析题 items cannot be imported from the text format; use the CSV or XLSX template");
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 0);
}

Test(text, text_outside_items_and_empty_files)
{
    int rc = parse("题库标题\n说明：本题库供练习。\n一、单项选择题\n答案：A\n1 题干没有标点\n");
    EXPECT("bank.txt:4: 题号: an 答案/解析 line outside any numbered item (\"1. …\")",
           "bank.txt:5: 题号: text outside any numbered item (\"1. …\")");
    cr_assert_eq(rc, 1);
    kc_teardown();
    kc_setup();
    rc = parse("");
    EXPECT("bank.txt:1: file: contains no numbered items (\"1. 题干\")");
    cr_assert_eq(rc, 1);
}

Test(text, duplicates)
{
    int rc = parse("一、判断题\n1. 同一题。\n答案：对\n2. 同一题。\n答案：错\n");
    EXPECT("bank.txt:4: 题干: duplicate of the item on line 2");
    cr_assert_eq(rc, 1);
}

/* Converts UTF-8 to another encoding with iconv; the caller frees. */
Test(text, gb18030_as_word_saves_it)
{
    size_t n;
    char *gb = convert("GB18030", GOOD, &n);
    cr_assert_neq(memcmp(gb, GOOD, n < 60 ? n : 60), 0, "the input really is not UTF-8");
    int rc = parse_n(gb, n);
    free(gb);
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(S.n, 13);
    cr_assert_str_eq(S.items[0].options[2], "传输层");
}

Test(text, ten_megabyte_file)
{
    size_t cap = 11u << 20, len = 0;
    char *buf = malloc(cap);
    cr_assert_not_null(buf);
    len += (size_t)snprintf(buf, cap, "一、单项选择题\n");
    int n = 0;
    while (len < (10u << 20)) {
        len += (size_t)snprintf(buf + len, cap - len,
                                "%d．第 %d 题：下列哪一项正确？（　）\nA．错误一　B．正确　C．错误二　D．错误三\n答案：B\n",
                                n + 1, n);
        n++;
    }
    int rc = parse_n(buf, len);
    free(buf);
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(S.n, (size_t)n);
    cr_assert_str_eq(S.items[n - 1].options[3], "错误三");
}

Test(text, bare_and_part_headings)
{
    int rc = parse("单项选择题（每题2分）\n"
                   "1. 第一行\n判断题是常见题型，下列说法正确的是\nA. 甲\nB. 乙\n答案：B\n"
                   "第二部分 判断题\n"
                   "1. 对吗\n答案：对\n");
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(S.n, 2);
    cr_assert_eq(S.items[0].type, BANK_SINGLE);
    cr_assert_eq(S.items[0].points_centi, 200);
    cr_assert_str_eq(S.items[0].stem, "第一行<br>判断题是常见题型，下列说法正确的是");
    cr_assert_eq(S.items[1].type, BANK_TF);
    cr_assert_eq(S.items[1].points_centi, 100);
}

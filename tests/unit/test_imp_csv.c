/* importers: the CSV question-bank template, its encodings and every diagnostic line. */
#include <criterion/criterion.h>
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kc_test.h"

#define H "试题编号,题型,题干,选项A,选项B,选项C,选项D,答案,分值,难度,鉴定点代码,解析,出处\n"
#define KNOWN "试题编号, 题型, 题干, 选项A-选项H, 答案, 分值, 难度, 鉴定点代码, 解析, 出处, " \
    "职业代码, 等级, 标签, 命题人, 多选计分, 选项固定, 所属题目, 考核时间, 设备要求, 评分标准"
#define TYPES_HINT "use 单选题, 多选题, 判断题, 填空题, 简答题, 论述题, 组合题 or 实操题"

TestSuite(csv, .init = kc_setup, .fini = kc_teardown);

static int parse_n(const char *buf, size_t n)
{
    return imp_parse_buffer(IMP_CSV, "q.csv", buf, n, &S, &D);
}

static int parse(const char *text) { return parse_n(text, strlen(text)); }

/* Converts UTF-8 to another encoding with iconv; the caller frees. */
/* ---- good input ---- */

Test(csv, good_file)
{
    int rc = parse(H
                   "NS-1,单选题,TCP 工作在哪一层？,物理层,网络层,传输层,应用层,C,2,2,B-01-001,TCP 是传输层协议。,演示\n"
                   "NS-2,单选,HTTPS 默认端口是（ ）。,80,443,,,b,2.5,,,,\n"
                   ",20,下列属于对称加密算法的是,RSA,AES,ECC,,Ｂ,,5,B-02-001,,\n"
                   "NS-4,single,最小权限原则指什么？,按需授权,全部授权,A,B,ｄ,1.50,1,,,\n");
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(S.n, 4);
    bank_item *it = &S.items[0];
    cr_assert_str_eq(it->uid, "NS-1");
    cr_assert_eq(it->type, BANK_SINGLE);
    cr_assert_eq(it->version, 1);
    cr_assert_str_eq(it->stem, "TCP 工作在哪一层？");
    cr_assert_eq(it->n_options, 4);
    cr_assert_str_eq(it->options[2], "传输层");
    cr_assert_str_eq(it->answer, "C");
    cr_assert_eq(it->points_centi, 200);
    cr_assert_eq(it->difficulty, 2);
    cr_assert_str_eq(it->point_code, "B-01-001");
    cr_assert_str_eq(it->explanation, "TCP 是传输层协议。");
    cr_assert_str_eq(it->source, "演示");
    cr_assert_str_eq(it->file, "q.csv");
    cr_assert_eq(it->line, 2);
    it = &S.items[1];
    cr_assert_eq(it->n_options, 2);
    cr_assert_str_eq(it->answer, "B");
    cr_assert_eq(it->points_centi, 250);
    cr_assert_eq(it->difficulty, 0);
    cr_assert_null(it->point_code);
    cr_assert_null(it->explanation);
    cr_assert_null(it->source);
    cr_assert_null(it->options[2]);
    it = &S.items[2];
    cr_assert_eq(strncmp(it->uid, "h-", 2), 0);
    cr_assert_eq(strlen(it->uid), 18);
    cr_assert_str_eq(it->answer, "B");
    cr_assert_eq(it->points_centi, 100, "分值 defaults to 1");
    cr_assert_eq(it->line, 4);
    it = &S.items[3];
    cr_assert_str_eq(it->answer, "D");
    cr_assert_eq(it->points_centi, 150);
}

Test(csv, columns_in_any_order_with_aliases_and_padding)
{
    int rc = parse(" 答案 ,题干,\u3000题型,选项B,选项A,试题GUID,鉴定点,分数,题号\n"
                   "A,哪个是传输层协议？,单项选择题,UDP,TCP,G-1,B-01-001,3,17\n");
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(S.n, 1);
    cr_assert_str_eq(S.items[0].uid, "G-1");
    cr_assert_str_eq(S.items[0].options[0], "TCP");
    cr_assert_str_eq(S.items[0].options[1], "UDP");
    cr_assert_str_eq(S.items[0].point_code, "B-01-001");
    cr_assert_eq(S.items[0].points_centi, 300);
}

Test(csv, bom_and_crlf)
{
    int rc = parse("\xEF\xBB\xBF" "试题编号,题型,题干,选项A,选项B,答案\r\n"
                   "X-1,单选题,\"跨\r\n行\",甲,乙,A\r\n"
                   "\r\n"
                   "X-2,单选题,题二,甲,乙,C\r\n");
    EXPECT("q.csv:5: 答案: C but the item has only 2 options");
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 1);
    cr_assert_str_eq(S.items[0].uid, "X-1");
    cr_assert_str_eq(S.items[0].stem, "跨<br>行", "plain text is stored as HTML");
}

Test(csv, lone_cr_line_ends)
{
    int rc = parse("题型,题干,选项A,选项B,答案\r单选题,一,甲,乙,A\r单选题,二,甲,乙,\r");
    EXPECT("q.csv:3: 答案: is empty");
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 1);
}

Test(csv, quoted_fields_with_commas_quotes_and_newlines)
{
    int rc = parse(H
                   "Q-1,单选题,\"下列说法，哪个正确\n（多行题干）\n第三行\",\"甲,乙\",\"他说\"\"好\"\"\",丙,丁,A,1,,,,\n"
                   "Q-2,单选题,题二,甲,乙,丙,丁,E,1,,,,\n"
                   "Q-3,单选题,\"\",甲,乙,丙,丁,A,1,,,,\n");
    EXPECT("q.csv:5: 答案: E but the item has only 4 options", "q.csv:6: 题干: is empty");
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 1);
    cr_assert_str_eq(S.items[0].stem, "下列说法，哪个正确<br>（多行题干）<br>第三行");
    cr_assert_str_eq(S.items[0].options[0], "甲,乙");
    cr_assert_str_eq(S.items[0].options[1], "他说&quot;好&quot;");
}

Test(csv, empty_lines_and_empty_rows_are_skipped)
{
    int rc = parse("\n\n" H "\n,,,,,,,,,,,,\n  ,\u3000,\n"
                   "E-1,单选题,题一,甲,乙,,,B,,,,,\n\n"
                   "E-2,单选题,题二,甲,乙,,,Z,,,,,");
    EXPECT("q.csv:9: 答案: Z is not one option letter A-H");
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 1);
    cr_assert_eq(S.items[0].line, 7);
}

/* ---- encodings ---- */

static const char GB_TEXT[] =
    "试题编号,题型,题干,选项A,选项B,选项C,选项D,答案,分值,难度,鉴定点代码,解析,出处\r\n"
    "GB-1,单选题,《中华人民共和国网络安全法》自哪一年起施行？,2015年,2016年,2017年,2018年,C,1,2,"
    "B-01-001,2017年6月1日起施行。,Excel 另存为\r\n"
    "GB-2,单选题,“𠀋”这样的扩展区汉字也能导入吗？,能,不能,,,A,1,1,,,\r\n";

Test(csv, gb18030_from_excel)
{
    size_t n;
    char *gb = convert("GB18030", GB_TEXT, &n);
    cr_assert_neq(memcmp(gb, GB_TEXT, 20), 0, "the test input really is not UTF-8");
    int rc = parse_n(gb, n);
    free(gb);
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(S.n, 2);
    cr_assert_str_eq(S.items[0].stem, "《中华人民共和国网络安全法》自哪一年起施行？");
    cr_assert_str_eq(S.items[0].options[2], "2017年");
    cr_assert_str_eq(S.items[0].source, "Excel 另存为");
    cr_assert_str_eq(S.items[1].stem, "“𠀋”这样的扩展区汉字也能导入吗？");
}

Test(csv, gbk_errors_name_lines_like_utf8)
{
    size_t n;
    char *gb = convert("GBK", "题型,题干,选项A,选项B,答案\n单选题,防火墙,允许,拒绝,C\n", &n);
    int rc = parse_n(gb, n);
    free(gb);
    EXPECT("q.csv:2: 答案: C but the item has only 2 options");
    cr_assert_eq(rc, 1);
}

Test(csv, same_items_from_utf8_and_gb18030_hash_alike)
{
    size_t n;
    char *gb = convert("GB18030", GB_TEXT, &n);
    cr_assert_eq(parse_n(gb, n), 0);
    free(gb);
    kc_arena *a2 = kc_arena_new(0);
    bank_itemset s2;
    kc_diag d2;
    bank_itemset_init(&s2, a2);
    kc_diag_init(&d2, a2);
    cr_assert_eq(imp_parse_buffer(IMP_CSV, "u.csv", GB_TEXT, strlen(GB_TEXT), &s2, &d2), 0);
    cr_assert_eq(memcmp(S.items[0].content_hash, s2.items[0].content_hash, 32), 0);
    kc_arena_free(a2);
}

Test(csv, neither_utf8_nor_gb18030)
{
    size_t n;
    char *u16 = convert("UTF-16", "题型,题干,选项A,选项B,答案\n单选题,一,甲,乙,A\n", &n);
    int rc = parse_n(u16, n);
    free(u16);
    EXPECT("q.csv:1: encoding: not UTF-8 or GB18030");
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 0);
}

Test(csv, nul_bytes_are_not_text)
{
    static const char buf[] = "题型,题干,选项A,选项B,答案\n单选题,一\0二,甲,乙,A\n";
    int rc = parse_n(buf, sizeof buf - 1);
    EXPECT("q.csv:1: encoding: not UTF-8 or GB18030");
    cr_assert_eq(rc, 1);
}

Test(csv, damaged_utf8_names_the_line)
{
    char buf[] = H
        "D-1,单选题,网络安全等级保护制度的基本要求是什么？,甲,乙,丙,丁,A,1,,,,\n"
        "D-2,单选题,数据安全法规定的数据分类分级保护制度,甲,乙,丙,丁,A,1,,,,\n"
        "D-3,单选题,个人信息保护法中敏感个人信息的处理规则,甲,乙,丙,丁,A,1,,,,\n";
    char *p = strstr(buf, "数据安全法");
    p[1] = (char)0xFF;   /* one broken byte on line 3 */
    int rc = parse(buf);
    EXPECT("q.csv:3: encoding: invalid UTF-8 byte sequence (the rest of the file is UTF-8)");
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 0);
}

/* ---- rejected rows ---- */

Test(csv, missing_answer)
{
    int rc = parse(H "M-1,单选题,题一,甲,乙,丙,丁,A,,,,,\n"
                     "M-2,单选题,题二,甲,乙,丙,丁,,,,,,\n"
                     "M-3,单选题,题三,甲,乙,丙,丁,\u3000,,,,,\n");
    EXPECT("q.csv:3: 答案: is empty", "q.csv:4: 答案: is empty");
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 1, "the valid items are still in the set");
    cr_assert_str_eq(S.items[0].uid, "M-1");
}

Test(csv, answer_letter_without_option)
{
    int rc = parse(H "L-1,单选题,题一,甲,乙,丙,,D,,,,,\n"
                     "L-2,单选题,题二,甲,乙,丙,,ｄ,,,,,\n"
                     "L-3,单选题,题三,甲,乙,丙,,AB,,,,,\n"
                     "L-4,单选题,题四,甲,乙,丙,,对,,,,,\n");
    EXPECT("q.csv:2: 答案: D but the item has only 3 options",
           "q.csv:3: 答案: D but the item has only 3 options",
           "q.csv:4: 答案: AB is not one option letter A-H",
           "q.csv:5: 答案: 对 is not one option letter A-H");
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 0);
}

Test(csv, options_must_be_contiguous_and_at_least_two)
{
    int rc = parse(H "O-1,单选题,题一,甲,,丙,,A,,,,,\n"
                     "O-2,单选题,题二,甲,,,,A,,,,,\n"
                     "O-3,单选题,题三,甲,甲,,,A,,,,,\n");
    EXPECT("q.csv:2: 选项B: is empty but 选项C is filled; options must be contiguous",
           "q.csv:3: 选项B: is empty; a single-choice item needs at least 2 options",
           "q.csv:4: 选项B: has the same text as 选项A");
    cr_assert_eq(rc, 1);
}

Test(csv, types_by_label_and_code_and_unknown_types)
{
    int rc = parse(H "T-1,多选题,题一,甲,乙,丙,丁,AB,,,,,\n"
                     "T-2,判断题,题二,,,,,对,,,,,\n"
                     "T-3,30,题三,甲,乙,丙,丁,AB,,,,,\n"
                     "T-4,选择,题四,甲,乙,丙,丁,A,,,,,\n"
                     "T-5,,题五,甲,乙,丙,丁,A,,,,,\n"
                     "T-6,SINGLE,题六,甲,乙,丙,丁,A,,,,,\n");
    EXPECT("q.csv:5: 题型: 选择 is not a known item type; " TYPES_HINT,
           "q.csv:6: 题型: is empty");
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 4);
    cr_assert_eq(S.items[0].type, BANK_MULTI);
    cr_assert_eq(S.items[1].type, BANK_TF);
    cr_assert_str_eq(S.items[1].answer, "T");
    cr_assert_eq(S.items[2].type, BANK_MULTI);
    cr_assert_str_eq(S.items[3].uid, "T-6");
}

Test(csv, long_values_are_cut_at_a_character_boundary)
{
    char row[2048] = H "C-1,";
    for (int i = 0; i < 200; i++) strcat(row, "选");
    strcat(row, ",题一,甲,乙,,,A,,,,,\n");
    int rc = parse(row);
    char want[256] = "q.csv:2: 题型: ";
    for (int i = 0; i < 33; i++) strcat(want, "选");   /* 99 of the 100 bytes that fit */
    strcat(want, "… is not a known item type; " TYPES_HINT);
    EXPECT(want);
    cr_assert_eq(rc, 1);
}

Test(csv, bad_points_and_difficulty)
{
    int rc = parse(H "P-1,单选题,题一,甲,乙,,,A,abc,,,,\n"
                     "P-2,单选题,题二,甲,乙,,,A,1.234,,,,\n"
                     "P-3,单选题,题三,甲,乙,,,A,0,,,,\n"
                     "P-4,单选题,题四,甲,乙,,,A,150,,,,\n"
                     "P-5,单选题,题五,甲,乙,,,A,-1,,,,\n"
                     "P-6,单选题,题六,甲,乙,,,A,99999999,,,,\n"
                     "P-7,单选题,题七,甲,乙,,,A,0.5,6,,,\n"
                     "P-8,单选题,题八,甲,乙,,,A,1.,0,,,\n"
                     "P-9,单选题,题九,甲,乙,,,A,.25,2.5,,,\n"
                     "P-10,单选题,题十,甲,乙,,,E,1e2,难,,,\n");
    EXPECT("q.csv:2: 分值: abc is not a number",
           "q.csv:3: 分值: 1.234 has more than 2 decimal places",
           "q.csv:4: 分值: 0 is not greater than 0",
           "q.csv:5: 分值: 150 is more than 100",
           "q.csv:6: 分值: -1 is not greater than 0",
           "q.csv:7: 分值: 99999999 is more than 100",
           "q.csv:8: 难度: 6 is not an integer from 1 to 5",
           "q.csv:9: 难度: 0 is not an integer from 1 to 5",
           "q.csv:10: 难度: 2.5 is not an integer from 1 to 5",
           "q.csv:11: 答案: E but the item has only 2 options",
           "q.csv:11: 分值: 1e2 is not a number",
           "q.csv:11: 难度: 难 is not an integer from 1 to 5");
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 0);
}

Test(csv, points_forms)
{
    int rc = parse(H "F-1,单选题,题一,甲,乙,,,A,1.,,,,\n"
                     "F-2,单选题,题二,甲,乙,,,A,.25,,,,\n"
                     "F-3,单选题,题三,甲,乙,,,A,100,,,,\n"
                     "F-4,单选题,题四,甲,乙,,,A,0.01,,,,\n"
                     "F-5,单选题,题五,甲,乙,,,A,2.500,3.0,,,\n");
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    int want[] = {100, 25, 10000, 1, 250};
    for (int i = 0; i < 5; i++) cr_assert_eq(S.items[i].points_centi, want[i], "row %d", i);
    cr_assert_eq(S.items[4].difficulty, 3);
}

Test(csv, several_problems_in_one_row)
{
    int rc = parse(H "含 空格,单选题,,甲,,丙,,H,x,9,,,\n");
    EXPECT("q.csv:2: 试题编号: contains spaces or control characters",
           "q.csv:2: 题干: is empty",
           "q.csv:2: 选项B: is empty but 选项C is filled; options must be contiguous",
           "q.csv:2: 答案: H but the item has only 3 options",
           "q.csv:2: 分值: x is not a number",
           "q.csv:2: 难度: 9 is not an integer from 1 to 5");
    cr_assert_eq(rc, 1);
}

Test(csv, duplicate_items)
{
    int rc = parse(H "U-1,单选题,TCP 属于哪一层？,物理层,传输层,,,B,,,,,\n"
                     "U-2,单选题,ARP 属于哪一层？,数据链路层,网络层,,,A,,,,,\n"
                     "U-3,单选题,TCP  属于哪一层?,物理层,传输层,,,A,,,,,\n"
                     "U-2,单选题,UDP 属于哪一层？,物理层,传输层,,,B,,,,,\n"
                     ",单选题,ARP 属于哪一层？,数据链路层,网络层,,,A,,,,,\n");
    EXPECT("q.csv:4: 题干: duplicate of the item on line 2",
           "q.csv:5: 试题编号: U-2 is also used on line 3",
           "q.csv:6: 题干: duplicate of the item on line 3");
    cr_assert_eq(rc, 1);
}

/* ---- header ---- */

Test(csv, unknown_columns)
{
    int rc = parse("题型,题干,知识点一级,选项A,选项B,答案,备注\n"
                   "单选题,题一,网络,甲,乙,A,x\n"
                   "单选题,题二,网络,甲,乙,C,x\n");
    EXPECT("q.csv:1: 知识点一级: unknown column; the columns are " KNOWN,
           "q.csv:1: 备注: unknown column; the columns are " KNOWN,
           "q.csv:3: 答案: C but the item has only 2 options");
    cr_assert_eq(rc, 1);
}

Test(csv, missing_required_columns)
{
    int rc = parse("试题编号,题干,选项A,选项B\nX,题一,甲,乙\n");
    EXPECT("q.csv:1: 题型: required column is missing");   /* 答案: only objective types need it */
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 0);
}

Test(csv, duplicate_columns)
{
    int rc = parse("试题编号,题型,题干,选项A,选项B,答案,试题GUID,题干\n"
                   "X,单选题,题一,甲,乙,A,Y,题一\n");
    EXPECT("q.csv:1: 试题GUID: same column as 试题编号", "q.csv:1: 题干: column appears twice");
    cr_assert_eq(rc, 1);
    cr_assert_str_eq(S.items[0].uid, "X");
}

Test(csv, values_without_a_column_name)
{
    int rc = parse("题型,题干,选项A,选项B,答案,\n"
                   "单选题,题一,甲,乙,A,\n"
                   "单选题,题二,甲,乙,A,,\n"
                   "单选题,题三,甲,乙,A,多余\n"
                   "单选题,题四,甲,乙,A,,多余\n");
    EXPECT("q.csv:4: column 6: has a value but no column name",
           "q.csv:5: column 7: has a value but no column name");
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 2);
}

Test(csv, empty_and_header_only)
{
    cr_assert_eq(parse(""), 1);
    cr_assert_eq(parse("\xEF\xBB\xBF\n\n"), 1);
    cr_assert_eq(parse("题型,题干,选项A,选项B,答案\n\n"), 1);
    EXPECT("q.csv:1: file: is empty; expected a header row and items",
           "q.csv:1: file: is empty; expected a header row and items",
           "q.csv:1: file: has a header row but no items");
}

/* ---- broken CSV ---- */

Test(csv, truncated_file_names_the_line_of_the_open_quote)
{
    int rc = parse(H "R-1,单选题,题一,甲,乙,,,A,,,,,\n"
                     "R-2,单选题,\"题二被截断\n的题干,甲,乙");
    EXPECT("q.csv:3: 题干: quoted field is not closed; the file may be truncated");
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 1);
}

Test(csv, truncated_quote_opened_after_a_multiline_field)
{
    int rc = parse(H "\"R-1\n\",单选题,\"题一\n");
    EXPECT("q.csv:3: 题干: quoted field is not closed; the file may be truncated");
    cr_assert_eq(rc, 1);
}

Test(csv, truncated_header)
{
    int rc = parse("题型,\"题干\n");
    EXPECT("q.csv:1: header: quoted field is not closed; the file may be truncated");
    cr_assert_eq(rc, 1);
}

Test(csv, text_after_a_closing_quote)
{
    int rc = parse(H "S-1,单选题,\"题一\"补充,甲,乙,,,A,,,,,\nS-2,单选题,题二 \"引号\" 在中间,甲,乙,,,A,,,,,\n");
    EXPECT("q.csv:2: 题干: unexpected text after the closing quote");
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 1);
    cr_assert_str_eq(S.items[0].stem, "题二 &quot;引号&quot; 在中间");
}

/* ---- files ---- */

Test(csv, too_large_is_refused)
{
    size_t n = ((size_t)64 << 20) + 1;
    char *big = calloc(1, n);
    cr_assert_not_null(big);
    int rc = parse_n(big, n);
    free(big);
    EXPECT("q.csv:1: file: is larger than 64 MiB; split the bank into several files");
    cr_assert_eq(rc, 1);
}

Test(csv, too_large_file_is_refused_before_reading)
{
    char path[] = "/tmp/kc-imp-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, ((off_t)64 << 20) + 1), 0);   /* sparse */
    close(fd);
    int rc = imp_parse_file(IMP_CSV, path, &S, &D);
    unlink(path);
    cr_assert_eq(rc, 1);
    cr_assert_eq(D.n, 1);
    cr_assert_str_eq(D.lines[0],
                     kc_arena_printf(A, "%s:1: file: is larger than 64 MiB; split the bank into several files", path));
}

Test(csv, parse_file_reads_gb18030)
{
    char path[] = "/tmp/kc-imp-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    size_t n;
    char *gb = convert("GB18030", GB_TEXT, &n);
    cr_assert_eq(write(fd, gb, n), (ssize_t)n);
    close(fd);
    free(gb);
    int rc = imp_parse_file(IMP_CSV, path, &S, &D);
    unlink(path);
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(S.n, 2);
    cr_assert_str_eq(S.items[1].file, path);
}

Test(csv, missing_file)
{
    int rc = imp_parse_file(IMP_CSV, "/nonexistent/bank.csv", &S, &D);
    cr_assert_lt(rc, 0);
    EXPECT("/nonexistent/bank.csv: file: cannot open: No such file or directory");
}

Test(csv, format_names)
{
    imp_format f = 0;
    cr_assert_eq(imp_format_parse("csv", &f), 0);
    cr_assert_eq(f, IMP_CSV);
    cr_assert_eq(imp_format_parse("CSV", &f), 0);
    cr_assert_eq(imp_format_parse("docx", &f), KC_EINVAL);
    cr_assert_eq(imp_format_parse(NULL, &f), KC_EINVAL);
}

Test(csv, format_lists)
{
    char buf[256];
    cr_assert_str_eq(imp_format_list(0, buf, sizeof buf), "csv, xlsx, gift, aiken, text, moodlexml, qti");
    cr_assert_str_eq(imp_format_list(1, buf, sizeof buf), "csv, xlsx, gift, moodlexml, qti");
    cr_assert_eq(imp_format_exportable(IMP_QTI), 1);
    cr_assert_eq(imp_format_exportable(IMP_AIKEN), 0);
    cr_assert_eq(imp_format_exportable(IMP_TEXT), 0);
    /* every listed name parses back */
    imp_format_list(0, buf, sizeof buf);
    for (char *t = strtok(buf, ", "); t; t = strtok(NULL, ", ")) {
        imp_format f;
        cr_assert_eq(imp_format_parse(t, &f), 0, "%s", t);
    }
    char small[8];
    cr_assert_str_eq(imp_format_list(0, small, sizeof small), "csv");
}

/* ---- the demo bank ---- */

static const char *demo_path(void)
{
    static char buf[4096];
    const char *rel = "bank/demo/netsec-l4-single.csv";
    if (access(rel, R_OK) == 0) return rel;
    /* run from elsewhere: find it relative to this source file */
    snprintf(buf, sizeof buf, "%s", __FILE__);
    char *slash = strstr(buf, "tests/unit/");
    if (slash) {
        snprintf(slash, sizeof buf - (size_t)(slash - buf), "%s", rel);
        if (access(buf, R_OK) == 0) return buf;
    }
    return rel;
}

Test(csv, demo_bank_is_clean_and_balanced)
{
    int rc = imp_parse_file(IMP_CSV, demo_path(), &S, &D);
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_geq(S.n, 60);
    int keys[4] = {0};
    for (size_t i = 0; i < S.n; i++) {
        const bank_item *it = &S.items[i];
        char want[32];
        snprintf(want, sizeof want, "NS4-S-%04zu", i + 1);
        cr_assert_str_eq(it->uid, want);
        cr_assert_eq(it->n_options, 4, "%s", it->uid);
        cr_assert_eq(it->points_centi, 100);
        cr_assert(it->difficulty >= 1 && it->difficulty <= 5);
        cr_assert_not_null(it->point_code);
        cr_assert_not_null(it->explanation);
        cr_assert_str_eq(it->source, "Kaochang 演示题库");
        keys[it->answer[0] - 'A']++;
        int same_code = 0;
        for (size_t j = 0; j < S.n; j++) same_code += strcmp(S.items[j].point_code, it->point_code) == 0;
        cr_assert_geq(same_code, 3, "鉴定点 %s has only %d items", it->point_code, same_code);
    }
    for (int k = 0; k < 4; k++)
        cr_assert_geq(keys[k], (int)S.n / 6, "answer %c is the key of only %d items", 'A' + k, keys[k]);
}

/* ---- every item type ---- */

#define HA "试题编号,题型,题干,选项A,选项B,选项C,选项D,答案,分值,难度,鉴定点代码,解析,出处,职业代码,等级," \
           "标签,命题人,多选计分,选项固定,所属题目,考核时间,设备要求,评分标准\n"

Test(csv, every_type)
{
    int rc = parse(HA
        "M-1,多选题,下列属于传输层协议的有（ ）。,TCP,IP,UDP,ICMP,\"A、C\",2,3,B-01-002,,,4-04-04-02,四级,网络;协议，传输层,张三,half,是,,,,\n"
        "J-1,判断题,防火墙可以防御所有攻击。,,,,,×,1,,,,,,L4,,,,,,,,\n"
        "F-1,填空题,HTTPS 默认端口是（ ），SSH 默认端口是____。,,,,,num:443|22;ssh 端口 22,2,,,,,,,,,,,,,,\n"
        "S-1,简答题,简述最小权限原则。,,,,,只授予完成工作所需的最小权限。,5,,,,,,,,,,,,,,\n"
        "E-1,论述题,论述等级保护制度。,,,,,,10,,,,,,,,,,,,,,\n"
        "C-1,案例分析题,阅读材料：某公司……,,,,,,,,,,,4-04-04-02,4,,,,,,,,\n"
        ",单选题,该公司应首先采取的措施是,断网,报警,备份,,A,2,,,,,,,,,,,C-1,,,\n"
        "C-1-x,判断题,该公司做法正确。,,,,,错,1,,,,,,,,,,,C-1,,,\n"
        "P-1,实操题,制作并测试一根 T568B 直通网线。,,,,,,,,,,,,,,,,,,30.0 分钟,压线钳、测线仪,"
        "\"20|正确制作并测试 T568B 直通网线\n30|按拓扑完成 VLAN 划分\n否决|带电插拔设备\"\n");
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(S.n, 7);
    bank_item *m = &S.items[0];
    cr_assert_eq(m->type, BANK_MULTI);
    cr_assert_str_eq(m->answer, "AC");
    cr_assert_eq(m->mc_policy, BANK_MC_HALF);
    cr_assert_eq(m->pin_options, 1);
    cr_assert_str_eq(m->occupation, "4-04-04-02");
    cr_assert_eq(m->level, 4);
    cr_assert_eq(m->n_tags, 3);
    cr_assert_str_eq(m->tags[1], "协议");
    cr_assert_str_eq(m->tags[2], "传输层");
    cr_assert_str_eq(m->author, "张三");
    cr_assert_str_eq(S.items[1].answer, "F");
    cr_assert_eq(S.items[1].level, 4);
    cr_assert_str_eq(S.items[2].answer, "num:443|22;ssh 端口 22");
    cr_assert_eq(S.items[2].n_blanks, 2);
    cr_assert_eq(S.items[2].blanks[1].n_accept, 2);
    cr_assert_eq(S.items[3].type, BANK_SHORT);
    cr_assert_null(S.items[4].answer);
    bank_item *c = &S.items[5];
    cr_assert_eq(c->type, BANK_COMPOSITE);
    cr_assert_eq(c->n_children, 2);
    cr_assert_eq(c->points_centi, 300, "a composite's points are its sub-items' sum");
    cr_assert_str_eq(c->children[0].uid, "C-1-1");
    cr_assert_str_eq(c->children[1].uid, "C-1-x");
    cr_assert_eq(c->children[0].line, 8);
    cr_assert_str_eq(c->children[0].occupation, "4-04-04-02");
    cr_assert_eq(c->children[1].level, 4);
    bank_item *p = &S.items[6];
    cr_assert_eq(p->type, BANK_PRACTICAL);
    cr_assert_eq(p->time_minutes, 30);
    cr_assert_str_eq(p->equipment, "压线钳、测线仪");
    cr_assert_eq(p->n_criteria, 3);
    cr_assert(p->criteria[2].veto);
    cr_assert_eq(p->points_centi, 5000, "a practical task's points are its criteria's sum");
    cr_assert_eq(p->line, 10);
}

Test(csv, broken_items_of_every_type)
{
    int rc = parse(HA
        "B-1,多选题,题一,甲,乙,丙,,,,,,,,,,,,,,,,,\n"
        "B-2,多选题,题二,甲,乙,丙,,ABD,,,,,,,,,,,,,,,\n"
        "B-3,多选题,题三,甲,乙,丙,,B,,,,,,,,,,,maybe,,,,,\n"
        "B-4,判断题,题四,对,错,,,对,,,,,,,,,,,,,,,\n"
        "B-5,判断题,题五,,,,,也许,,,,,,,,,,,,,,,\n"
        "B-6,填空题,IP 地址是（ ）。,,,,,re:^192\\.168\\.(,,,,,,,,,,,,,,,\n"
        "B-7,填空题,端口是（ ）和（ ）。,,,,,443,,,,,,,,,,,,,,,\n"
        "B-8,实操题,任务,,,,,,60,,,,,,,,,,,,45,,\"20|甲\n30|乙\"\n"
        "B-9,实操题,任务,,,,,,,,,,,,,,,,,,,,\"20|甲\n三十|乙\"\n"
        "B-10,单选题,题十,甲,乙,,,A,,,,,,4-4-4,十级,,,,,,,,\n");
    EXPECT("q.csv:2: 答案: is empty",
           "q.csv:3: 答案: D but the item has only 3 options",
           "q.csv:4: 答案: B is one letter; a multiple-choice key has at least 2",
           "q.csv:4: 选项固定: maybe is not 是 or 否",
           "q.csv:5: 选项A: a true/false item has no options",
           "q.csv:6: 答案: 也许 is not 对 or 错 (also √/×, 正确/错误, T/F, 是/否)",
           "q.csv:7: 答案: blank 1: the pattern does not compile at offset 12: missing closing parenthesis",
           "q.csv:8: 答案: has 1 blank but 题干 marks 2",
           "q.csv:9: 分值: 60 but the criteria of 评分标准 add up to 50",
           "q.csv:11: 考核时间: is empty; give the time allowed in minutes",
           "q.csv:11: 评分标准: line 2: 三十 is not a number of points greater than 0 (or 否决)",
           "q.csv:13: 职业代码: 4-4-4 is not an occupation code N-NN-NN-NN such as 4-04-04-02",
           "q.csv:13: 等级: 十级 is not a level such as 四级, 4级, 中级工 or L4");
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 0);
}

Test(csv, composite_rows)
{
    int rc = parse(HA
        "C-1,组合题,材料一,,,,,,5,,,,,,,,,,,,,,\n"
        ",单选题,问一,甲,乙,,,A,2,,,,,,,,,,,C-1,,,\n"
        ",实操题,问二,,,,,,,,,,,,,,,,,C-1,10,,10|做\n"
        ",单选题,问三,甲,乙,,,A,2,,,,,,,,,,,C-9,,,\n"
        "S-1,单选题,问四,甲,乙,,,A,2,,,,,,,,,,,,,,\n"
        ",单选题,问五,甲,乙,,,A,2,,,,,,,,,,,S-1,,,\n"
        "C-2,组合题,材料二,,,,,,,,,,,,,,,,,,,,\n"
        "C-3,组合题,材料三,,,,,,5,,,,,,,,,,,,,,\n"
        ",单选题,问六,甲,乙,,,C,1,,,,,,,,,,,C-3,,,\n"
        ",判断题,问七,,,,,对,1,,,,,,,,,,,C-3,,,\n"
        "C-4,组合题,材料四,,,,,,,,,,,,,,,,,,,,\n"
        ",判断题,问八,,,,,对,1,,,,,,,,,,,C-4,,,\n"
        ",判断题,问八,,,,,错,1,,,,,,,,,,,C-4,,,\n");
    EXPECT("q.csv:4: 题型: a practical task cannot be a sub-item of a composite item",
           "q.csv:5: 所属题目: C-9 is not the 试题编号 of a composite item (组合题) above this row",
           "q.csv:7: 所属题目: S-1 is a 单选题 on line 6, not a composite item (组合题)",
           "q.csv:8: 所属题目: the composite item has no sub-items (rows whose 所属题目 is its 试题编号)",
           "q.csv:9: 分值: 5 but the sub-items add up to 2",
           "q.csv:10: 答案: C but the item has only 2 options",
           "q.csv:14: 题干: duplicate of the sub-item on line 13");
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 1, "S-1 only: a composite with a broken sub-item is rejected whole");
    cr_assert_str_eq(S.items[0].uid, "S-1");
}

Test(csv, answer_column_is_needed_by_objective_types_only)
{
    int rc = parse("题型,题干,分值\n简答题,简述防火墙的作用。,5\n单选题,题一,1\n");
    EXPECT("q.csv:3: 选项A: is empty; a single-choice item needs at least 2 options", "q.csv:3: 答案: is empty");
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 1);
}

/* ---- size ---- */

Test(csv, ten_megabyte_file)
{
    size_t cap = (size_t)11 << 20, n = 0;
    char *buf = malloc(cap);
    cr_assert_not_null(buf);
    n += (size_t)snprintf(buf, cap, "%s", H);
    int rows = 0;
    while (n < ((size_t)10 << 20)) {
        n += (size_t)snprintf(buf + n, cap - n,
                              "BIG-%d,单选题,第 %d 题：在网络与信息安全管理工作中，下列哪一项做法最符合要求？"
                              "请结合等级保护和数据安全的相关规定作答。,甲方案,乙方案,丙方案,丁方案,%c,1,%d,B-%02d,"
                              "解析文字解析文字解析文字,演示\n",
                              rows + 1, rows + 1, 'A' + rows % 4, rows % 5 + 1, rows % 40);
        rows++;
    }
    int rc = parse_n(buf, n);
    free(buf);
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq((int)S.n, rows);
    cr_assert_gt(rows, 30000);
    cr_assert_str_eq(S.items[rows - 1].uid, kc_arena_printf(A, "BIG-%d", rows));
}

/* ---- blueprints ---- */

static bank_blueprint BP;

static int bp_parse(const char *text)
{
    bank_blueprint_init(&BP, A);
    return imp_blueprint_parse_buffer(IMP_CSV, "bp.csv", text, strlen(text), &BP, &D);
}

Test(csv, blueprint_good)
{
    int rc = bp_parse("级别,代码,名称,鉴定比重,重要程度\n"
                      "1,A,基础知识,40%,\n"
                      "2,A-01,职业道德,10,\n"
                      "鉴定点,A-01-001,职业道德基本知识,,X\n"
                      "2,A-02,计算机基础,30,\n"
                      "点,A-02-001,计算机组成,,y\n"
                      "1,B,相关知识,60,\n"
                      "鉴定点,B-001,网络安全法,,Z\n");
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(BP.n, 7);
    cr_assert_str_eq(BP.file, "bp.csv");
    cr_assert_eq(BP.nodes[0].weight_centi, 4000);
    cr_assert_eq(BP.nodes[2].parent, 1);
    cr_assert_eq(BP.nodes[2].depth, 3);
    cr_assert(BP.nodes[2].is_point);
    cr_assert_eq(BP.nodes[4].importance, 'Y');
    cr_assert_eq(BP.nodes[3].parent, 0);
    cr_assert_eq(BP.nodes[6].parent, 5);
    cr_assert_eq(BP.nodes[6].line, 8);
}

Test(csv, blueprint_weights_and_rows)
{
    int rc = bp_parse("级别,代码,名称,鉴定比重,重要程度\n"
                      "1,A,基础知识,40,\n"
                      "2,A-01,职业道德,15,\n"
                      "鉴定点,A-01-001,职业道德基本知识,,X\n"
                      "2,A-02,计算机基础,30,\n"
                      "鉴定点,A-02-001,计算机组成,,X\n"
                      "1,B,相关知识,50,\n"
                      "鉴定点,B-001,网络安全法,,X\n");
    EXPECT("bp.csv:2: 鉴定比重: the ranges under A add up to 45 %, expected 40 %",
           "bp.csv:2: 鉴定比重: the top-level ranges add up to 90 %, expected 100 %");
    cr_assert_eq(rc, 1);
    D.n = 0;
    rc = bp_parse("级别,代码,名称,鉴定比重,重要程度,备注\n"
                  "一,A,基础知识,40,,\n"
                  "1,B,相关知识,abc,,\n"
                  "鉴定点,B-001,网络安全法,,Q,\n");
    EXPECT("bp.csv:1: 备注: unknown column; the columns are 级别, 代码, 名称, 鉴定比重, 重要程度",
           "bp.csv:2: 级别: 一 is not a depth 1, 2, 3 … or 鉴定点",
           "bp.csv:3: 鉴定比重: abc is not a percentage with up to 2 decimals",
           "bp.csv:4: 重要程度: Q is not X, Y or Z");
    cr_assert_eq(rc, 1);
    D.n = 0;
    cr_assert_eq(bp_parse("代码,名称\nA,甲\n"), 1);
    EXPECT("bp.csv:1: 级别: required column is missing");
    D.n = 0;
    bank_blueprint_init(&BP, A);
    cr_assert_lt(imp_blueprint_parse_buffer(IMP_GIFT, "bp.gift", "x", 1, &BP, &D), 0);
    EXPECT("bp.gift: format: blueprints are read from csv or xlsx files, not gift");
}

Test(csv, blueprint_gb18030_file)
{
    char path[] = "/tmp/kc-bp-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    size_t n;
    char *gb = convert("GB18030", "级别,代码,名称,鉴定比重,重要程度\r\n1,A,基础知识,100,\r\n鉴定点,A-1,职业道德,,X\r\n", &n);
    cr_assert_eq(write(fd, gb, n), (ssize_t)n);
    close(fd);
    free(gb);
    bank_blueprint_init(&BP, A);
    int rc = imp_blueprint_parse_file(IMP_CSV, path, &BP, &D);
    unlink(path);
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_str_eq(BP.nodes[1].name, "职业道德");
    D.n = 0;
    bank_blueprint_init(&BP, A);
    cr_assert_lt(imp_blueprint_parse_file(IMP_CSV, "/nonexistent/bp.csv", &BP, &D), 0);
    EXPECT("/nonexistent/bp.csv: file: cannot open: No such file or directory");
}

Test(csv, rich_text_is_sanitized)
{
    int rc = parse(H "R-1,单选题,\"<p onclick=\"\"steal()\"\">看图<img src=\"\"data:image/png;base64,iVBORw0KGgo=\"\"></p>"
                     "<script>alert(1)</script>\",<b>甲</b>,<a href=\"\"javascript:x()\"\">乙</a>,,,A,,,,,\n");
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    const bank_item *it = &S.items[0];
    cr_assert_null(strstr(it->stem, "script"), "%s", it->stem);
    cr_assert_null(strstr(it->stem, "onclick"), "%s", it->stem);
    cr_assert_null(strstr(it->options[1], "javascript"), "%s", it->options[1]);
    cr_assert_str_eq(it->options[0], "<b>甲</b>");
    cr_assert_eq(it->n_media, 1);
    cr_assert_not_null(strstr(it->stem, "media:"), "%s", it->stem);
    static const uint8_t zero[32];
    cr_assert_neq(memcmp(it->media[0].sha256, zero, 32), 0);
}

Test(csv, a_problem_on_every_row_stays_in_row_order)
{
    size_t cap = (size_t)4 << 20, n = 0;
    char *buf = malloc(cap);
    cr_assert_not_null(buf);
    n += (size_t)snprintf(buf, cap, "%s", H);
    int rows = 20000;
    for (int i = 0; i < rows; i++)
        n += (size_t)snprintf(buf + n, cap - n, "E-%d,单选题,第 %d 题,甲,乙,,,Z,x,,,,\n", i, i);
    int rc = parse_n(buf, n);
    free(buf);
    cr_assert_eq(rc, 1);
    cr_assert_eq(D.n, (size_t)rows * 2);
    cr_assert_str_eq(D.lines[0], "q.csv:2: 答案: Z is not one option letter A-H");
    cr_assert_str_eq(D.lines[1], "q.csv:2: 分值: x is not a number");
    cr_assert_str_eq(D.lines[2 * rows - 1], kc_arena_printf(A, "q.csv:%d: 分值: x is not a number", rows + 1));
    cr_assert_eq(S.n, 0);
}

static const char *demo_file(const char *rel)
{
    static char buf[4096];
    if (access(rel, R_OK) == 0) return rel;
    snprintf(buf, sizeof buf, "%s", __FILE__);
    char *slash = strstr(buf, "tests/unit/");
    if (slash) snprintf(slash, sizeof buf - (size_t)(slash - buf), "%s", rel);
    return buf;
}

Test(csv, demo_blueprints_are_clean)
{
    const char *files[] = {"bank/demo/netsec-l4-theory-blueprint.csv", "bank/demo/netsec-l4-skills-blueprint.csv"};
    for (int i = 0; i < 2; i++) {
        bank_blueprint_init(&BP, A);
        int rc = imp_blueprint_parse_file(IMP_CSV, demo_file(files[i]), &BP, &D);
        EXPECT_CLEAN();
        cr_assert_eq(rc, 0, "%s", files[i]);
        int points = 0;
        for (size_t k = 0; k < BP.n; k++) points += BP.nodes[k].is_point;
        cr_assert_geq(points, 10, "%s", files[i]);
    }
}

/* Images travel as data: URIs in stems, options and sub-items. */
Test(csv, images_round_trip) { kc_image_round_trip(IMP_CSV, "csv", 1, 0); }
Test(csv, missing_image_is_reported_and_left_out) { kc_missing_image_export(IMP_CSV, "csv", 1); }

/* importers: Aiken import, good files and every diagnostic line. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_test.h"

TestSuite(aiken, .init = kc_setup, .fini = kc_teardown);

static int parse(const char *text)
{
    return imp_parse_buffer(IMP_AIKEN, "q.txt", text, strlen(text), &S, &D);
}

Test(aiken, good_file)
{
    int rc = parse("TCP 工作在哪一层？\n"
                   "A. 物理层\n"
                   "B. 网络层\n"
                   "C. 传输层\n"
                   "D. 应用层\n"
                   "ANSWER: C\n"
                   "\n\n"
                   "Which port does HTTPS use by default?\r\n"
                   "A) 80\r\n"
                   "B) 443\r\n"
                   "answer：b\r\n"
                   "\r\n"
                   "A stem on\n"
                   "two lines\n"
                   "A. one\n"
                   "B. two\n"
                   "C. three\n"
                   "ANSWER: Ｃ\n");
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(S.n, 3);
    const bank_item *it = &S.items[0];
    cr_assert_eq(it->type, BANK_SINGLE);
    cr_assert_str_eq(it->stem, "TCP 工作在哪一层？");
    cr_assert_eq(it->n_options, 4);
    cr_assert_str_eq(it->options[3], "应用层");
    cr_assert_str_eq(it->answer, "C");
    cr_assert_eq(it->points_centi, 100);
    cr_assert_eq(it->line, 1);
    cr_assert_eq(strncmp(it->uid, "h-", 2), 0);
    it = &S.items[1];
    cr_assert_eq(it->line, 9);
    cr_assert_str_eq(it->answer, "B");
    cr_assert_str_eq(it->options[1], "443");
    it = &S.items[2];
    cr_assert_str_eq(it->stem, "A stem on<br>two lines", "%s", it->stem);
    cr_assert_str_eq(it->answer, "C");
}

Test(aiken, broken_questions_are_reported_and_parsing_continues)
{
    int rc = parse("No answer line\nA. a\nB. b\n\n"
                   "Letter without option\nA. a\nB. b\nANSWER: D\n\n"
                   "Out of order\nA. a\nC. c\nANSWER: A\n\n"
                   "Junk line\nA. a\nsomething else\nANSWER: A\n\n"
                   "Two answers\nA. a\nB. b\nANSWER: A\nANSWER: B\n\n"
                   "A. options but no stem\nB. b\nANSWER: A\n\n"
                   "Several letters\nA. a\nB. b\nANSWER: AB\n\n"
                   "Good one\nA. a\nB. b\nANSWER: A\n\n"
                   "Nine\nA. 1\nB. 2\nC. 3\nD. 4\nE. 5\nF. 6\nG. 7\nH. 8\nI. 9\nANSWER: A\n\n"
                   "Truncated at the end\nA. a\nB. b\nANS");
    EXPECT("q.txt:1: 答案: the question has no \"ANSWER: B\" line; the file may be truncated",
           "q.txt:5: 答案: D but the item has only 2 options",
           "q.txt:12: 选项: C follows A; options go A, B, C … in order",
           "q.txt:17: 选项: is not an option \"A. text\" or \"A) text\" nor \"ANSWER: B\"",
           "q.txt:24: 答案: a second ANSWER: line",
           "q.txt:26: 题干: the question has no stem before its options",
           "q.txt:30: 答案: AB is not one option letter A-H",
           "q.txt:49: 选项: I: at most 8 options (A-H) are allowed",
           "q.txt:55: 选项: is not an option \"A. text\" or \"A) text\" nor \"ANSWER: B\"");
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 1);
    cr_assert_str_eq(S.items[0].stem, "Good one");
}

Test(aiken, duplicates_and_empty_files)
{
    int rc = parse("Same\nA. x\nB. y\nANSWER: A\n\nSame\nA. x\nB. y\nANSWER: B\n");
    EXPECT("q.txt:6: 题干: duplicate of the item on line 1");
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 1, "the duplicate is reported and left out, so --skip-invalid cannot import it");
    kc_teardown();
    kc_setup();
    rc = parse("\n\n   \n");
    EXPECT("q.txt:1: file: contains no Aiken questions");
    cr_assert_eq(rc, 1);
}

Test(aiken, ten_megabyte_file)
{
    size_t cap = 11u << 20, len = 0;
    char *buf = malloc(cap);
    cr_assert_not_null(buf);
    int n = 0;
    while (len < (10u << 20)) {
        len += (size_t)snprintf(buf + len, cap - len,
                                "第 %d 题：下列哪一项正确？\nA. 错误一\nB. 正确\nC. 错误二\nD. 错误三\nANSWER: B\n\n", n);
        n++;
    }
    int rc = imp_parse_buffer(IMP_AIKEN, "big.txt", buf, len, &S, &D);
    free(buf);
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(S.n, (size_t)n);
}

/* importers: candidate rosters (考生名单) for `session add-candidates`: CSV in UTF-8 (with or
 * without BOM) and GB18030, XLSX workbooks, and every diagnostic line of a bad file. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "kc_test.h"

#define H "准考证号,身份证号,姓名\n"
#define HS "准考证号,身份证号,姓名,考场,座位号\n"
/* valid 身份证号 (check digits computed) */
#define ID1 "110101199001011237"
#define ID2 "11010119900202235X"
#define ID3 "110101199003031231"
#define NEEDS "(the header needs 准考证号,身份证号,姓名 and may have 考场,座位号; found "

TestSuite(roster, .init = kc_setup, .fini = kc_teardown, .timeout = 60);

static imp_roster R;

static int parse_as(const char *name, const char *buf, size_t len)
{
    return imp_roster_parse_buffer(name, buf, len, A, &R, &D);
}

static int parse(const char *text) { return parse_as("c.csv", text, strlen(text)); }

static void expect_row(size_t i, const char *ticket, const char *id, const char *name,
                       const char *room, int seat, int line)
{
    cr_assert_lt(i, R.n, "row %zu of %zu", i, R.n);
    const imp_candidate *c = &R.rows[i];
    cr_expect_str_eq(c->ticket, ticket);
    cr_expect_str_eq(c->id_number, id);
    cr_expect_str_eq(c->name, name);
    cr_expect_str_eq(c->room, room);
    cr_expect_eq(c->seat, seat, "row %zu: seat %d", i, c->seat);
    cr_expect_eq(c->line, line, "row %zu: line %d", i, c->line);
}

/* 17 digits with their check digit (GB 11643), into the arena. */
static const char *with_check(const char *first17)
{
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;
    for (int i = 0; i < 17; i++) sum += (first17[i] - '0') * w[i];
    return kc_arena_printf(A, "%s%c", first17, "10X98765432"[sum % 11]);
}

/* ---- good files ---- */

Test(roster, utf8)
{
    int rc = parse(H "2026110001," ID1 ",王小明\n"
                     "2026110002,11010119900202235x,李华\n");
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(R.n, 2);
    expect_row(0, "2026110001", ID1, "王小明", "", 0, 2);
    expect_row(1, "2026110002", ID2, "李华", "", 0, 3);     /* x is stored as X */
    cr_expect_str_eq(R.rows[0].where, "c.csv");
}

Test(roster, utf8_bom_crlf_columns_in_any_order_and_others_ignored)
{
    int rc = parse("\xEF\xBB\xBF" "序号,姓名,考场, 准考证号 ,座位号,身份证号,备注\r\n"
                   "1,王小明,第一考场,2026110001,1," ID1 ",\r\n"
                   "2,李华,第一考场,A-2,2," ID2 ",迟到\r\n"
                   "3,,,,,,\r\n");                            /* 序号 numbered ahead */
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(R.n, 2);
    expect_row(0, "2026110001", ID1, "王小明", "第一考场", 1, 2);
    expect_row(1, "A-2", ID2, "李华", "第一考场", 2, 3);
}

Test(roster, gb18030)
{
    size_t n;
    char *gb = convert("GB18030", HS "2026110001," ID1 ",王小明,第一考场,1\n"
                                     "2026110002," ID2 ",欧阳娜娜,第一考场,2\n", &n);
    cr_assert_null(memmem(gb, n, "王", strlen("王")), "the bytes are not UTF-8");
    int rc = parse_as("c.csv", gb, n);
    free(gb);
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(R.n, 2);
    expect_row(0, "2026110001", ID1, "王小明", "第一考场", 1, 2);
    expect_row(1, "2026110002", ID2, "欧阳娜娜", "第一考场", 2, 3);
}

Test(roster, gb18030_problems_name_the_line)
{
    size_t n;
    char *gb = convert("GB18030", H "2026110001," ID1 ",王小明\n"
                                    "2026110002,110101199001011230,李华\n", &n);
    int rc = parse_as("c.csv", gb, n);
    free(gb);
    EXPECT("c.csv:3: 身份证号: the check digit does not match");
    cr_assert_eq(rc, 1);
}

Test(roster, quoted_fields_with_commas_quotes_and_line_breaks)
{
    int rc = parse(HS "2026110001," ID1 ",\"王小明\",\"第一考场,东楼\",1\n"
                      "\"2026110002\",\"" ID2 "\",\"李\"\"华\"\"\",\"第一考场,东楼\",\"2\"\n"
                      "2026110003," ID3 ",张伟,,\n");
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(R.n, 3);
    expect_row(0, "2026110001", ID1, "王小明", "第一考场,东楼", 1, 2);
    expect_row(1, "2026110002", ID2, "李\"华\"", "第一考场,东楼", 2, 3);
    expect_row(2, "2026110003", ID3, "张伟", "", 0, 4);
}

Test(roster, line_break_inside_an_ignored_column_keeps_line_numbers)
{
    int rc = parse("准考证号,身份证号,姓名,备注\n"
                   "2026110001," ID1 ",王小明,\"第一行\n第二行\"\n"
                   "2026110002," ID2 ",李华,\n");
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(R.n, 2);
    expect_row(1, "2026110002", ID2, "李华", "", 0, 4);
}

/* The old reader cut lines at 4,096 bytes. */
Test(roster, line_longer_than_4096_bytes)
{
    size_t big = 10000;
    char *note = kc_arena_alloc(A, big + 1);
    cr_assert_not_null(note);
    memset(note, 'x', big);
    char *text = kc_arena_printf(A, "准考证号,身份证号,姓名,备注\n2026110001," ID1 ",王小明,%s\n"
                                    "2026110002," ID2 ",李华,\"%s,%s\"\n", note, note, note);
    int rc = parse(text);
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(R.n, 2);
    expect_row(1, "2026110002", ID2, "李华", "", 0, 3);
}

Test(roster, many_candidates)
{
    enum { N = 20000 };
    kc_buf b = {0};
    kc_buf_str(&b, HS);
    char id17[32];
    for (int i = 0; i < N; i++) {
        snprintf(id17, sizeof id17, "4401061995%07d", i);
        kc_buf_printf(&b, "T%06d,%s,考生%d,第%d考场,%d\n", i, with_check(id17), i, i / 30 + 1, i % 30 + 1);
    }
    cr_assert(!b.oom);
    int rc = parse_as("c.csv", b.p, b.n);
    kc_buf_free(&b);
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(R.n, N);
    expect_row(N - 1, "T019999", with_check("44010619950019999"), "考生19999", "第667考场", 20, N + 1);
}

/* ---- XLSX ---- */

static char *xlsx_path(void) { return tmp_path("xlsx"); }

static void write_roster_sheet(lxw_worksheet *ws, int first, int n, const char *room)
{
    const char *h[] = {"准考证号", "身份证号", "姓名", "考场", "座位号"};
    for (int c = 0; c < 5; c++) worksheet_write_string(ws, 0, (lxw_col_t)c, h[c], NULL);
    char t[32], id17[32], name[32];
    for (int i = 0; i < n; i++) {
        lxw_row_t r = (lxw_row_t)(i + 1);
        snprintf(t, sizeof t, "2026XL%04d", first + i);
        snprintf(id17, sizeof id17, "4401061995%07d", first + i);
        snprintf(name, sizeof name, "考生%d", first + i);
        worksheet_write_string(ws, r, 0, t, NULL);
        worksheet_write_string(ws, r, 1, with_check(id17), NULL);
        worksheet_write_string(ws, r, 2, name, NULL);
        worksheet_write_string(ws, r, 3, room, NULL);
        worksheet_write_number(ws, r, 4, i + 1, NULL);         /* seats as numbers */
    }
}

Test(roster, xlsx_every_roster_sheet)
{
    char *p = xlsx_path();
    lxw_workbook *wb = workbook_new(p);
    lxw_worksheet *info = workbook_add_worksheet(wb, "说明");
    worksheet_write_string(info, 0, 0, "每个考场一张表", NULL);
    write_roster_sheet(workbook_add_worksheet(wb, "第一考场"), 1, 3, "第一考场");
    write_roster_sheet(workbook_add_worksheet(wb, "第二考场"), 4, 2, "第二考场");
    cr_assert_eq(workbook_close(wb), LXW_NO_ERROR);

    int rc = imp_roster_parse_file(p, A, &R, &D);
    unlink(p);
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(R.n, 5);
    expect_row(0, "2026XL0001", with_check("44010619950000001"), "考生1", "第一考场", 1, 2);
    expect_row(4, "2026XL0005", with_check("44010619950000005"), "考生5", "第二考场", 2, 3);
    cr_expect_str_eq(R.rows[4].where, kc_arena_printf(A, "%s:第二考场!", p));
}

Test(roster, xlsx_problems_name_sheet_and_row)
{
    char *p = xlsx_path();
    lxw_workbook *wb = workbook_new(p);
    lxw_worksheet *s1 = workbook_add_worksheet(wb, "甲");
    lxw_worksheet *s2 = workbook_add_worksheet(wb, "乙");
    write_roster_sheet(s1, 1, 2, "一");
    write_roster_sheet(s2, 2, 1, "一");          /* ticket and ID of 甲!3 again, seat 1 of 甲!2 */
    worksheet_write_number(s2, 2, 0, 7, NULL);
    worksheet_write_number(s2, 2, 1, 110101199001011237.0, NULL);  /* an ID typed as a number */
    worksheet_write_string(s2, 2, 2, "王\n小明", NULL);
    cr_assert_eq(workbook_close(wb), LXW_NO_ERROR);

    int rc = imp_roster_parse_file(p, A, &R, &D);
    unlink(p);
    const char *l1 = kc_arena_printf(A, "%s:乙!2: 座位号: seat 1 of room 一 is also given on row 2 of sheet 甲", p);
    const char *l2 = kc_arena_printf(A, "%s:乙!2: 准考证号: 2026XL0002 is also on row 3 of sheet 甲", p);
    const char *l3 = kc_arena_printf(A, "%s:乙!2: 身份证号: the same ID number is also on row 3 of sheet 甲", p);
    const char *l4 = kc_arena_printf(A, "%s:乙!3: 身份证号: the check digit does not match (typed into "
                                        "a number cell? Excel keeps only 15 digits; format the column "
                                        "as text and type the ID numbers again)", p);
    const char *l5 = kc_arena_printf(A, "%s:乙!3: 姓名: contains a control character (U+000A)", p);
    EXPECT(l1, l2, l3, l4, l5);
    cr_assert_eq(rc, 1);
    cr_expect_eq(R.n, 2, "the rows without problems");
}

Test(roster, xlsx_without_roster_header_names_what_it_found)
{
    char *p = xlsx_path();
    lxw_workbook *wb = workbook_new(p);
    workbook_add_worksheet(wb, "空");
    lxw_worksheet *ws = workbook_add_worksheet(wb, "名单");
    worksheet_write_string(ws, 0, 0, "考号", NULL);
    worksheet_write_string(ws, 0, 1, "姓名", NULL);
    cr_assert_eq(workbook_close(wb), LXW_NO_ERROR);
    int rc = imp_roster_parse_file(p, A, &R, &D);
    unlink(p);
    EXPECT(kc_arena_printf(A, "%s:名单!1: header: missing columns 准考证号, 身份证号 " NEEDS "考号,姓名)", p));
    cr_assert_eq(rc, 1);
}

Test(roster, xlsx_by_name_when_not_a_workbook)
{
    int rc = parse_as("c.xlsx", H, strlen(H));
    EXPECT("c.xlsx: file: is not an XLSX workbook (not a zip archive)");
    cr_assert_eq(rc, 1);
}

/* ---- problems ---- */

Test(roster, bad_id_check_digit_and_other_id_problems)
{
    int rc = parse(H "T1,110101199001011230,甲\n"
                     "T2,11010119900101123,乙\n"
                     "T3,1101011990010112A7,丙\n"
                     "T4,,丁\n");
    EXPECT("c.csv:2: 身份证号: the check digit does not match",
           "c.csv:3: 身份证号: expected 18 characters",
           "c.csv:4: 身份证号: expected digits in the first 17 places",
           "c.csv:5: 身份证号: missing");
    cr_assert_eq(rc, 1);
    cr_expect_eq(R.n, 0);
}

Test(roster, duplicate_ticket)
{
    int rc = parse(H "2026110001," ID1 ",王小明\n"
                     "2026110002," ID2 ",李华\n"
                     "2026110001," ID3 ",张伟\n"
                     "x-1,110101199004041239,刘芳\n"
                     "X-1,110101199103031239,周明\n");      /* the database ignores case */
    EXPECT("c.csv:4: 准考证号: 2026110001 is also on line 2",
           "c.csv:6: 准考证号: X-1 is also on line 5");
    cr_assert_eq(rc, 1);
    cr_expect_eq(R.n, 3);
}

Test(roster, duplicate_id_number_and_seat)
{
    int rc = parse(HS "T1," ID1 ",王小明,第一考场,1\n"
                      "T2,110101199001011237,王小明,第一考场,2\n"
                      "T3," ID2 ",李华,第一考场,1\n"
                      "T4," ID3 ",张伟,第二考场,1\n");
    EXPECT("c.csv:3: 身份证号: the same ID number is also on line 2",
           "c.csv:4: 座位号: seat 1 of room 第一考场 is also given on line 2");
    cr_assert_eq(rc, 1);
}

Test(roster, missing_column_is_one_line)
{
    int rc = parse("准考证号,姓名,备注\nT1,王小明,\n");
    EXPECT("c.csv:1: header: missing column 身份证号 " NEEDS "准考证号,姓名,备注)");
    cr_assert_eq(rc, 1);
    cr_expect_eq(R.n, 0);
}

Test(roster, no_header_at_all)
{
    int rc = parse("2026110001," ID1 ",王小明\n");
    EXPECT("c.csv:1: header: missing columns 准考证号, 身份证号, 姓名 " NEEDS "2026110001," ID1 ",王小明)");
    cr_assert_eq(rc, 1);
}

Test(roster, long_hostile_header_is_cut)
{
    char *text = kc_arena_printf(A, "%0500d\x01,姓名\n", 7);
    int rc = parse(text);
    cr_assert_eq(rc, 1);
    cr_assert_eq(D.n, 1);
    cr_expect_lt(strlen(D.lines[0]), 400, "%s", D.lines[0]);
    cr_expect_neq(strstr(D.lines[0], "…)"), NULL, "%s", D.lines[0]);
}

Test(roster, column_twice)
{
    int rc = parse("准考证号,身份证号,姓名,姓名\nT1," ID1 ",甲,乙\n");
    EXPECT("c.csv:1: 姓名: column appears twice (columns 3 and 4)");
    cr_assert_eq(rc, 1);
}

Test(roster, tickets_names_rooms_and_seats)
{
    char *long_name = kc_arena_alloc(A, 130);
    memset(long_name, 'n', 129);
    char *text = kc_arena_printf(A, HS
        "2026 0001," ID1 ",甲,,\n"
        "%s," ID2 ",乙,,\n"
        "T3," ID3 ",%s,,\n"
        "T4,110101199004041239,,,\n"
        "T5,110101199103031239,丁,第一考场,\n"
        "T6,110101199204042340,戊,,3\n"
        "T7,110101199009091235,己,一,0\n"
        "T8,110101199010101234,庚,一,65536\n"
        "T9,440106199501011004,辛,一,2a\n",
        "0123456789012345678901234567890123456789XYZ", long_name);
    int rc = parse(text);
    EXPECT("c.csv:2: 准考证号: expected 1-32 letters, digits or '-', got \"2026 0001\"",
           "c.csv:3: 准考证号: expected 1-32 letters, digits or '-', got \"0123456789012345678901234567890123456789…\"",
           "c.csv:4: 姓名: longer than 128 bytes",
           "c.csv:5: 姓名: missing",
           "c.csv:6: 座位号: a seat needs both 考场 and 座位号",
           "c.csv:7: 考场: a seat needs both 考场 and 座位号",
           "c.csv:8: 座位号: expected a seat number 1..65535, got \"0\"",
           "c.csv:9: 座位号: expected a seat number 1..65535, got \"65536\"",
           "c.csv:10: 座位号: expected a seat number 1..65535, got \"2a\"");
    cr_assert_eq(rc, 1);
    cr_expect_eq(R.n, 0);
}

Test(roster, control_characters_and_long_rooms)
{
    char room[70];
    memset(room, 'r', 65);
    room[65] = 0;
    char *text = kc_arena_printf(A, HS
        "T1," ID1 ",王\x07小明,,\n"
        "T2," ID2 ",\"李\r\n华\",,\n"
        "T3," ID3 ",张\xE2\x80\xAE伟,,\n"        /* U+202E RIGHT-TO-LEFT OVERRIDE */
        "T4,110101199004041239,刘芳,%s,1\n"
        "T\x1b[1m,110101199103031239,周明,,\n", room);
    int rc = parse(text);
    EXPECT("c.csv:2: 姓名: contains a control character (U+0007)",
           "c.csv:3: 姓名: contains a control character (U+000A)",
           "c.csv:5: 姓名: contains a control character (U+202E)",
           "c.csv:6: 考场: longer than 64 bytes",
           "c.csv:7: 准考证号: expected 1-32 letters, digits or '-', got \"T\xEF\xBF\xBD[1m\"");
    cr_assert_eq(rc, 1);
    cr_expect_eq(R.n, 0);
}

Test(roster, every_problem_of_a_row)
{
    int rc = parse(HS "x y,123,,第一考场,0\n");
    EXPECT("c.csv:2: 准考证号: expected 1-32 letters, digits or '-', got \"x y\"",
           "c.csv:2: 身份证号: expected 18 characters",
           "c.csv:2: 姓名: missing",
           "c.csv:2: 座位号: expected a seat number 1..65535, got \"0\"");
    cr_assert_eq(rc, 1);
}

Test(roster, quotes_gone_wrong)
{
    int rc = parse(H "\"T1\"x," ID1 ",王小明\n"
                     "T2," ID2 ",\"李华\n");
    EXPECT("c.csv:2: 准考证号: unexpected text after the closing quote",
           "c.csv:3: 姓名: quoted field is not closed; the file may be truncated");
    cr_assert_eq(rc, 1);
    cr_expect_eq(R.n, 0);
}

Test(roster, empty_rows_are_skipped)
{
    int rc = parse("\n\n" H "\n,,\n \t, \xE3\x80\x80 ,\n2026110001," ID1 ",王小明\n\n");
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(R.n, 1);
    expect_row(0, "2026110001", ID1, "王小明", "", 0, 7);
}

Test(roster, no_candidates)
{
    cr_assert_eq(parse(""), 1);
    EXPECT("c.csv: no candidates in the file");
    kc_diag_init(&D, A);
    cr_assert_eq(parse(H "\n,,\n"), 1);
    EXPECT("c.csv: no candidates in the file");
}

Test(roster, neither_utf8_nor_gb18030)
{
    const char bin[] = "准考证号\x00\xff\xfe\x80";
    int rc = parse_as("c.csv", bin, sizeof bin - 1);
    EXPECT("c.csv:1: encoding: not UTF-8 or GB18030");
    cr_assert_eq(rc, 1);
}

Test(roster, missing_file)
{
    int rc = imp_roster_parse_file("/nonexistent/c.csv", A, &R, &D);
    EXPECT("/nonexistent/c.csv: file: cannot open: No such file or directory");
    cr_assert_lt(rc, 0);
}

/* A diag line is one plain line, whatever a header cell quoted in it holds. */
Test(roster, diag_lines_carry_no_control_characters)
{
    int rc = parse("准考证号,身份证号,姓名,\x1b[2J\n2026110001," ID1 ",王小明,\"x\n");
    EXPECT("c.csv:2: \xEF\xBF\xBD[2J: quoted field is not closed; the file may be truncated");
    cr_assert_eq(rc, 1);
    cr_expect_eq(R.n, 0);
}

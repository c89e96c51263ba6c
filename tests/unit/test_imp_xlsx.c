/* importers: the XLSX reader (cells, types, sheets, damaged workbooks). Workbooks are made
 * here with libxlsxwriter, broken ones by hand with libzip. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xlsxwriter.h>
#include <zip.h>

#include "../../importers/imp_int.h"
#include "kc_test.h"

static char DIR_[64];
static imp_sheet *SH;
static int NSH;

static void setup(void)
{
    kc_setup();
    snprintf(DIR_, sizeof DIR_, "/tmp/kc-xlsx-XXXXXX");
    cr_assert_not_null(mkdtemp(DIR_));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", DIR_);
    if (system(cmd)) {}
    kc_teardown();
}

TestSuite(xlsx, .init = setup, .fini = teardown, .timeout = 120);

static char *path_in_dir(const char *name)
{
    return kc_arena_printf(A, "%s/%s", DIR_, name);
}

static int read_buf(const char *buf, size_t len)
{
    return imp__xlsx_sheets("book.xlsx", buf, len, A, &SH, &NSH, &D);
}

static int read_path(const char *path)
{
    size_t len;
    char *buf = slurp(path, &len);
    return read_buf(buf, len);
}

#define STARTS(s, prefix) (strncmp((s), (prefix), strlen(prefix)) == 0)

/* Checks one row: its line and its cells (NULL ends the list). */
static void expect_row(const imp_sheet *sh, size_t i, int line, ...)
{
    cr_assert_lt(i, sh->n, "%s: row %zu missing (n=%zu)", sh->where, i, sh->n);
    const imp_row *r = &sh->rows[i];
    cr_expect_eq(r->line, line, "%s row %zu: line %d, expected %d", sh->where, i, r->line, line);
    va_list ap;
    va_start(ap, line);
    int k = 0;
    for (const char *c; (c = va_arg(ap, const char *)); k++) {
        if (k >= r->ncells) { cr_expect_fail("%s!%d: cell %d missing (expected %s)", sh->where, line, k, c); continue; }
        cr_expect_str_eq(r->cells[k], c, "%s%d cell %d", sh->where, line, k);
    }
    va_end(ap);
    cr_expect_eq(r->ncells, k, "%s%d: %d cells, expected %d", sh->where, line, r->ncells, k);
}

/* ---- workbooks from libxlsxwriter ---- */

Test(xlsx, cells_types_and_blank_rows)
{
    char *p = path_in_dir("a.xlsx");
    lxw_workbook *wb = workbook_new(p);
    lxw_worksheet *ws = workbook_add_worksheet(wb, "题库");
    worksheet_write_string(ws, 0, 0, "题型", NULL);
    worksheet_write_string(ws, 0, 1, "题干", NULL);
    worksheet_write_string(ws, 0, 3, "分值", NULL);        /* C1 left empty */
    /* row 2 is missing, row 3 has only blanks: both left out */
    worksheet_write_string(ws, 2, 0, "  \xE3\x80\x80 ", NULL);
    worksheet_write_blank(ws, 2, 1, NULL);
    worksheet_write_string(ws, 3, 0, "\xE3\x80\x80单选题\xC2\xA0", NULL);
    worksheet_write_number(ws, 3, 1, 1.5, NULL);
    worksheet_write_number(ws, 3, 2, 2, NULL);
    worksheet_write_number(ws, 3, 3, 0.1 + 0.2, NULL);
    worksheet_write_number(ws, 3, 4, -0.000125, NULL);
    worksheet_write_number(ws, 3, 5, 1e20, NULL);
    worksheet_write_number(ws, 3, 6, 12345678.9, NULL);
    worksheet_write_boolean(ws, 4, 0, 1, NULL);
    worksheet_write_boolean(ws, 4, 1, 0, NULL);
    worksheet_write_formula_str(ws, 4, 2, "=\"ab\"&\"c\"", NULL, "abc");
    worksheet_write_formula_num(ws, 4, 3, "=1/4", NULL, 0.25);
    worksheet_write_string(ws, 4, 27, "AB", NULL);          /* column AB */
    worksheet_write_string(ws, 6, 0, "第一行\n第二行", NULL);
    worksheet_write_string(ws, 6, 1, "题型", NULL);          /* the same shared string again */
    cr_assert_eq(workbook_close(wb), LXW_NO_ERROR);

    cr_assert_eq(read_path(p), 0);
    EXPECT_CLEAN();
    cr_assert_eq(NSH, 1);
    cr_expect_str_eq(SH[0].where, "book.xlsx:题库!");
    cr_assert_eq(SH[0].n, 4);
    expect_row(&SH[0], 0, 1, "题型", "题干", "", "分值", NULL);
    expect_row(&SH[0], 1, 4, "单选题", "1.5", "2", "0.3", "-0.000125", "100000000000000000000",
               "12345678.9", NULL);
    const imp_row *r = &SH[0].rows[2];
    cr_expect_eq(r->line, 5);
    cr_assert_eq(r->ncells, 28);
    cr_expect_str_eq(r->cells[0], "TRUE");
    cr_expect_str_eq(r->cells[1], "FALSE");
    cr_expect_str_eq(r->cells[2], "abc");
    cr_expect_str_eq(r->cells[3], "0.25");
    for (int i = 4; i < 27; i++) cr_expect_str_eq(r->cells[i], "");
    cr_expect_str_eq(r->cells[27], "AB");
    expect_row(&SH[0], 3, 7, "第一行\n第二行", "题型", NULL);
}

Test(xlsx, several_sheets_in_workbook_order)
{
    char *p = path_in_dir("b.xlsx");
    lxw_workbook *wb = workbook_new(p);
    const char *names[] = {"单选题", "Sheet2", "判断 题", "空表"};
    for (int i = 0; i < 4; i++) {
        lxw_worksheet *ws = workbook_add_worksheet(wb, names[i]);
        if (i == 3) continue;                                  /* an empty sheet */
        worksheet_write_string(ws, 0, 0, names[i], NULL);
        worksheet_write_number(ws, (lxw_row_t)(10 + i), 1, i + 1, NULL);
    }
    cr_assert_eq(workbook_close(wb), LXW_NO_ERROR);

    cr_assert_eq(read_path(p), 0);
    EXPECT_CLEAN();
    cr_assert_eq(NSH, 4);
    cr_expect_str_eq(SH[0].where, "book.xlsx:单选题!");
    cr_expect_str_eq(SH[1].where, "book.xlsx:Sheet2!");
    cr_expect_str_eq(SH[2].where, "book.xlsx:判断 题!");
    cr_expect_str_eq(SH[3].where, "book.xlsx:空表!");
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(SH[i].n, 2);
        expect_row(&SH[i], 0, 1, names[i], NULL);
        char num[16];
        snprintf(num, sizeof num, "%d", i + 1);
        expect_row(&SH[i], 1, 11 + i, "", num, NULL);
    }
    cr_expect_eq(SH[3].n, 0);
    /* the where prefix gives the spreadsheet form of a diag line */
    kc_diag_add(&D, SH[2].where, 12, "答案", "is empty");
    EXPECT("book.xlsx:判断 题!12: 答案: is empty");
}

Test(xlsx, rich_strings)
{
    char *p = path_in_dir("c.xlsx");
    lxw_workbook *wb = workbook_new(p);
    lxw_worksheet *ws = workbook_add_worksheet(wb, "S");
    lxw_format *bold = workbook_add_format(wb);
    format_set_bold(bold);
    lxw_rich_string_tuple a = {.format = NULL, .string = "TCP 是"};
    lxw_rich_string_tuple b = {.format = bold, .string = " 传输层 "};
    lxw_rich_string_tuple c = {.format = NULL, .string = "协议"};
    lxw_rich_string_tuple *runs[] = {&a, &b, &c, NULL};
    worksheet_write_rich_string(ws, 0, 0, runs, NULL);
    cr_assert_eq(workbook_close(wb), LXW_NO_ERROR);

    cr_assert_eq(read_path(p), 0);
    EXPECT_CLEAN();
    cr_assert_eq(NSH, 1);
    expect_row(&SH[0], 0, 1, "TCP 是 传输层 协议", NULL);
}

/* A workbook of about 10 MB: every row is read, quickly and within the limits. */
Test(xlsx, ten_megabytes)
{
    char *p = path_in_dir("big.xlsx");
    lxw_workbook *wb = workbook_new(p);
    lxw_worksheet *ws = workbook_add_worksheet(wb, "题库");
    worksheet_write_string(ws, 0, 0, "题干", NULL);
    unsigned long long x = 88172645463325252ull;
    enum { ROWS = 60000, COLS = 10 };
    char s[64];
    for (int r = 1; r <= ROWS; r++)
        for (int c = 0; c < COLS; c++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            snprintf(s, sizeof s, "%d-%d-%016llx%08llx", r, c, x, x >> 20);
            worksheet_write_string(ws, (lxw_row_t)r, (lxw_col_t)c, s, NULL);
        }
    cr_assert_eq(workbook_close(wb), LXW_NO_ERROR);
    struct stat st;
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_geq(st.st_size, 10 << 20, "workbook is %lld bytes", (long long)st.st_size);

    cr_assert_eq(read_path(p), 0);
    EXPECT_CLEAN();
    cr_assert_eq(NSH, 1);
    cr_assert_eq(SH[0].n, ROWS + 1);
    const imp_row *last = &SH[0].rows[ROWS];
    cr_expect_eq(last->line, ROWS + 1);
    cr_assert_eq(last->ncells, COLS);
    cr_expect_eq(strncmp(last->cells[9], "60000-9-", 8), 0, "%s", last->cells[9]);
}

/* ---- hand-made workbooks ---- */

typedef struct zpart {
    const char *name, *text;
} zpart;

static const char CT[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>"
    "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>";
static const char RELS[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/>"
    "</Relationships>";
static const char WB[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    "<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
    "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
    "<sheets><sheet name=\"题库\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";
static const char WB_RELS[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
    "<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings\" Target=\"/xl/sharedStrings.xml\"/>"
    "</Relationships>";
#define SHEET(rows)                                                                        \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"                                           \
    "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"      \
    "<sheetData>" rows "</sheetData></worksheet>"
#define SST(items)                                                                         \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"                                           \
    "<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">" items "</sst>"

/* Writes a zip of the parts (NULL-terminated) and returns its path. */
static char *make_zip(const char *file, const zpart *parts)
{
    char *p = path_in_dir(file);
    int err;
    zip_t *z = zip_open(p, ZIP_CREATE | ZIP_TRUNCATE, &err);
    cr_assert_not_null(z);
    for (const zpart *q = parts; q->name; q++) {
        zip_source_t *s = zip_source_buffer(z, q->text, strlen(q->text), 0);
        cr_assert_not_null(s);
        cr_assert_geq(zip_file_add(z, q->name, s, ZIP_FL_ENC_UTF_8), 0);
    }
    cr_assert_eq(zip_close(z), 0);
    return p;
}

static char *make_book(const char *file, const char *sheet, const char *sst)
{
    zpart parts[] = {{"[Content_Types].xml", CT}, {"_rels/.rels", RELS},
                     {"xl/workbook.xml", WB}, {"xl/_rels/workbook.xml.rels", WB_RELS},
                     {"xl/worksheets/sheet1.xml", sheet},
                     {sst ? "xl/sharedStrings.xml" : NULL, sst}, {NULL, NULL}};
    return make_zip(file, parts);
}

Test(xlsx, hand_made_cells)
{
    char *p = make_book("h.xlsx",
        SHEET("<row r=\"2\"><c r=\"A2\" t=\"s\"><v>0</v></c><c r=\"C2\" t=\"inlineStr\"><is><t>内联</t></is></c></row>"
              "<row><c t=\"s\"><v>1</v></c><c t=\"s\"><v>2</v></c><c t=\"n\"><v>3.0</v></c>"
              "<c t=\"str\"><f>A1</f><v>公式</v></c><c t=\"d\"><v>2024-05-01</v></c></row>"
              "<row r=\"9\" spans=\"1:2\"/>"
              "<row r=\"10\"><c r=\"B10\"><f>1+1</f><v>2</v></c></row>"),
        SST("<si><t xml:space=\"preserve\">  前后有空格  </t></si>"
            "<si><r><rPr><b/></rPr><t>富</t></r><r><t xml:space=\"preserve\"> 文本</t></r>"
            "<rPh sb=\"0\" eb=\"1\"><t>fu</t></rPh></si>"
            "<si><t>行一_x000D_\n行二 _x005F_x0041_</t></si>"));
    cr_assert_eq(read_path(p), 0);
    EXPECT_CLEAN();
    cr_assert_eq(NSH, 1);
    cr_assert_eq(SH[0].n, 3);
    expect_row(&SH[0], 0, 2, "前后有空格", "", "内联", NULL);
    expect_row(&SH[0], 1, 3, "富 文本", "行一\n行二 _x0041_", "3", "公式", "2024-05-01", NULL);
    expect_row(&SH[0], 2, 10, "", "2", NULL);
}

Test(xlsx, error_cell_reports_and_leaves_row_out)
{
    char *p = make_book("e.xlsx",
        SHEET("<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>题干</t></is></c></row>"
              "<row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t>x</t></is></c><c r=\"D2\" t=\"e\"><f>1/0</f><v>#DIV/0!</v></c></row>"
              "<row r=\"3\"><c r=\"B3\" t=\"s\"><v>7</v></c></row>"
              "<row r=\"4\"><c r=\"A4\" t=\"inlineStr\"><is><t>y</t></is></c></row>"),
        SST("<si><t>only</t></si>"));
    cr_assert_eq(read_path(p), 1);
    EXPECT("book.xlsx:题库!2: D2: has the error value #DIV/0!; replace the formula by its value",
           "book.xlsx:题库!3: B3: refers to shared string 7, but the workbook has 1; the file is damaged");
    cr_assert_eq(NSH, 1);
    cr_assert_eq(SH[0].n, 2);
    expect_row(&SH[0], 0, 1, "题干", NULL);
    expect_row(&SH[0], 1, 4, "y", NULL);
}

Test(xlsx, not_a_zip)
{
    cr_assert_eq(read_buf("题型,题干\n单选题,x\n", 25), 1);
    EXPECT("book.xlsx: file: is not an XLSX workbook (not a zip archive)");
    cr_expect_eq(NSH, 0);
    kc_diag_init(&D, A);
    cr_assert_eq(read_buf("", 0), 1);
    EXPECT("book.xlsx: file: is empty; expected an XLSX workbook");
    kc_diag_init(&D, A);
    cr_assert_eq(read_buf("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 rest", 13), 1);
    EXPECT("book.xlsx: file: is an old .xls workbook or a password-protected one; save it as .xlsx without a password");
}

Test(xlsx, zip_without_workbook)
{
    zpart parts[] = {{"hello.txt", "hi"}, {NULL, NULL}};
    cr_assert_eq(read_path(make_zip("z.xlsx", parts)), 1);
    EXPECT("book.xlsx: xl/workbook.xml: is missing; this is not an Excel workbook or it is damaged");
    cr_expect_eq(NSH, 0);
}

Test(xlsx, missing_sheet_part)
{
    zpart parts[] = {{"[Content_Types].xml", CT}, {"_rels/.rels", RELS},
                     {"xl/workbook.xml", WB}, {"xl/_rels/workbook.xml.rels", WB_RELS},
                     {NULL, NULL}};
    cr_assert_eq(read_path(make_zip("m.xlsx", parts)), 1);
    EXPECT("book.xlsx: xl/sharedStrings.xml: is missing; this is not an Excel workbook or it is damaged");
}

Test(xlsx, truncated)
{
    char *p = path_in_dir("t.xlsx");
    lxw_workbook *wb = workbook_new(p);
    lxw_worksheet *ws = workbook_add_worksheet(wb, "题库");
    for (int r = 0; r < 200; r++) worksheet_write_string(ws, (lxw_row_t)r, 0, "某道题的题干文字", NULL);
    cr_assert_eq(workbook_close(wb), LXW_NO_ERROR);
    size_t len;
    char *buf = slurp(p, &len);
    for (size_t cut = 4; cut < len; cut += len / 7) {
        kc_diag_init(&D, A);
        cr_expect_eq(read_buf(buf, cut), 1, "cut at %zu", cut);
        cr_expect_eq(D.n, 1, "cut at %zu: %zu lines", cut, D.n);
        cr_expect_eq(NSH, 0);
        if (D.n)
            cr_expect(strstr(D.lines[0], "damaged or truncated") != NULL, "cut at %zu: %s", cut, D.lines[0]);
    }
}

Test(xlsx, broken_shared_strings_xml)
{
    char *p = make_book("s.xlsx", SHEET("<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c></row>"),
                        SST("<si><t>a</t></si>\n<si><t>b</si>"));
    cr_assert_eq(read_path(p), 1);
    cr_assert_eq(D.n, 1);
    cr_expect(STARTS(D.lines[0], "book.xlsx: xl/sharedStrings.xml: is not well-formed XML (line 2: "),
              "%s", D.lines[0]);
    cr_expect_eq(NSH, 0);
}

Test(xlsx, truncated_sheet_xml)
{
    char *p = make_book("u.xlsx", "<?xml version=\"1.0\"?><worksheet><sheetData><row r=\"1\"><c r=\"A1\">",
                        NULL);
    /* the workbook rels name a sharedStrings part that this zip lacks: shared strings come first */
    cr_assert_eq(read_path(p), 1);
    cr_assert_eq(D.n, 1);
    zpart parts[] = {{"_rels/.rels", RELS}, {"xl/workbook.xml", WB},
                     {"xl/_rels/workbook.xml.rels",
                      "<Relationships><Relationship Id=\"rId1\" Type=\"x/worksheet\" Target=\"worksheets/sheet1.xml\"/></Relationships>"},
                     {"xl/worksheets/sheet1.xml",
                      "<?xml version=\"1.0\"?><worksheet><sheetData><row r=\"1\"><c r=\"A1\"><v>1"},
                     {NULL, NULL}};
    kc_diag_init(&D, A);
    cr_assert_eq(read_path(make_zip("u2.xlsx", parts)), 1);
    cr_assert_eq(D.n, 1);
    cr_expect(STARTS(D.lines[0], "book.xlsx: xl/worksheets/sheet1.xml: is not well-formed XML"),
              "%s", D.lines[0]);
}

Test(xlsx, dtd_and_entities_refused)
{
    char *p = make_book("x.xlsx",
        "<?xml version=\"1.0\"?><!DOCTYPE worksheet [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;\">"
        "<!ENTITY ext SYSTEM \"file:///etc/passwd\">]>"
        "<worksheet><sheetData><row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>&b;&ext;</t></is></c></row></sheetData></worksheet>",
        SST(""));
    cr_assert_eq(read_path(p), 1);
    EXPECT("book.xlsx: xl/worksheets/sheet1.xml: contains a DTD, which workbooks never have; refused");
    cr_expect_eq(NSH, 0);
}

Test(xlsx, bad_references)
{
    char *p = make_book("r.xlsx", SHEET("<row r=\"1\"><c r=\"1A\"><v>1</v></c></row>"), SST(""));
    cr_assert_eq(read_path(p), 1);
    EXPECT("book.xlsx: xl/worksheets/sheet1.xml: row 1: cell reference 1A is not valid");
    kc_diag_init(&D, A);
    p = make_book("r2.xlsx", SHEET("<row r=\"1\"><c r=\"XFE1\"><v>1</v></c></row>"), SST(""));
    cr_assert_eq(read_path(p), 1);
    EXPECT("book.xlsx: xl/worksheets/sheet1.xml: row 1: cell reference XFE1 is not valid");
    kc_diag_init(&D, A);
    p = make_book("r3.xlsx", SHEET("<row r=\"0\"/>"), SST(""));
    cr_assert_eq(read_path(p), 1);
    EXPECT("book.xlsx: xl/worksheets/sheet1.xml: row number 0 is not valid");
}

/* A zip source that produces a sharedStrings part of n bytes without holding it. */
typedef struct bomb {
    zip_uint64_t n, off;
} bomb;

static zip_int64_t bomb_cb(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
    bomb *b = ud;
    static const char head[] = "<sst>";
    switch (cmd) {
    case ZIP_SOURCE_OPEN: b->off = 0; return 0;
    case ZIP_SOURCE_READ: {
        /* "<sst>" then comments of 64 KiB: few nodes, so the test measures the limit */
        zip_uint64_t k = b->n - b->off < len ? b->n - b->off : len;
        char *o = data;
        for (zip_uint64_t i = 0; i < k;) {
            zip_uint64_t at = b->off + i;
            if (at < sizeof head - 1) { o[i++] = head[at]; continue; }
            zip_uint64_t in = (at - (sizeof head - 1)) % 65536, run;
            if (in < 4) { o[i++] = "<!--"[in]; continue; }
            if (in >= 65533) { o[i++] = "-->"[in - 65533]; continue; }
            run = 65533 - in < k - i ? 65533 - in : k - i;
            memset(o + i, 'a', run);
            i += run;
        }
        b->off += k;
        return (zip_int64_t)k;
    }
    case ZIP_SOURCE_CLOSE: return 0;
    case ZIP_SOURCE_STAT: {
        zip_stat_t *st = data;
        zip_stat_init(st);
        st->size = b->n;
        st->valid |= ZIP_STAT_SIZE;
        return sizeof *st;
    }
    case ZIP_SOURCE_ERROR: return 0;
    case ZIP_SOURCE_FREE: return 0;
    case ZIP_SOURCE_SUPPORTS:
        return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE,
                                              ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, -1);
    default: return -1;
    }
}

Test(xlsx, zip_bomb_refused)
{
    char *p = path_in_dir("bomb.xlsx");
    int err;
    zip_t *z = zip_open(p, ZIP_CREATE | ZIP_TRUNCATE, &err);
    cr_assert_not_null(z);
    zpart parts[] = {{"_rels/.rels", RELS}, {"xl/workbook.xml", WB},
                     {"xl/_rels/workbook.xml.rels", WB_RELS},
                     {"xl/worksheets/sheet1.xml", SHEET("")}, {NULL, NULL}};
    for (const zpart *q = parts; q->name; q++)
        cr_assert_geq(zip_file_add(z, q->name, zip_source_buffer(z, q->text, strlen(q->text), 0), 0), 0);
    bomb b = {(zip_uint64_t)300 << 20, 0};
    zip_source_t *s = zip_source_function(z, bomb_cb, &b);
    cr_assert_not_null(s);
    zip_int64_t idx = zip_file_add(z, "xl/sharedStrings.xml", s, 0);
    cr_assert_geq(idx, 0);
    zip_set_file_compression(z, (zip_uint64_t)idx, ZIP_CM_DEFLATE, 1);   /* fast: the test is about reading */
    cr_assert_eq(zip_close(z), 0);
    struct stat st;
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_lt(st.st_size, 2 << 20);

    cr_assert_eq(read_path(p), 1);
    EXPECT("book.xlsx: xl/sharedStrings.xml: expands to more than 256 MiB of XML; refused (a zip bomb?)");
}

Test(xlsx, invalid_utf8_in_part)
{
    char *p = make_book("i.xlsx", SHEET("<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>ok \xFF\xFE</t></is></c></row>"),
                        SST(""));
    cr_assert_eq(read_path(p), 1);
    cr_assert_eq(D.n, 1);
    cr_expect(STARTS(D.lines[0], "book.xlsx: xl/worksheets/sheet1.xml: is not well-formed XML ("), "%s",
              D.lines[0]);
    cr_expect(strstr(D.lines[0], "UTF-8") != NULL, "%s", D.lines[0]);
    cr_expect_eq(NSH, 0);
}

/* ---- export and round trips ---- */

/* Every type and every column of the template (docs/BANK.md), with text that needs quoting
 * in CSV: commas, quotes, line breaks, HTML, fill-key escapes. */
static const char ALL_TYPES[] =
    "试题编号,题型,题干,选项A,选项B,选项C,选项D,选项E,答案,分值,难度,鉴定点代码,解析,出处,"
    "职业代码,等级,标签,命题人,多选计分,选项固定,所属题目,考核时间,设备要求,评分标准\n"
    "S-1,单选题,TCP 工作在哪一层？,应用层,传输层,网络层,链路层,,B,1.5,2,A-01-001,"
    "\"见 RFC 793, 第 1 节\",教材第 3 章,4-04-04-02,四级,网络;协议,张三,,是,,,,\n"
    "M-1,多选题,\"下列哪些是\"\"加密\"\"协议？\",SSH,Telnet,TLS,FTP,IPsec,ACE,2,3,A-01-002,,,"
    "4-04-04-02,四级,,李四,按比例,,,,,\n"
    "T-1,判断题,防火墙能防御所有攻击。,,,,,,错,1,1,A-02-001,\"第一行\n第二行\",,,,,,,,,,,\n"
    "F-1,填空题,HTTPS 默认端口是（ ），分隔符是（ ），版本是（ ）。,,,,,,"
    "\"num:443|=a\\|b;a\\;b|re:^TLS ?1\\.[23]$\",3,4,A-02-002,,,,,端口,,,,,,,\n"
    "Q-1,简答题,简述 ARP 欺骗的原理。,,,,,,\"攻击者伪造 ARP 应答，\n把网关 IP 映射到自己的 MAC。\",5,,,,,,,,,,,,,,\n"
    "E-1,论述题,<p>论述<b>网络安全等级保护</b>的基本要求。</p>,,,,,,,10,5,,,,,,,,,,,,,\n"
    "C-1,组合题,阅读材料：某公司内网出现大量 ARP 报文……,,,,,,,,,B-01-001,,,4-04-04-02,三级,案例,,,,,,,\n"
    "C-1-1,单选题,最可能的原因是？,ARP 欺骗,DNS 劫持,,,,A,2,,B-01-001,,,,,,,,,C-1,,,\n"
    "C-1-2,填空题,应使用命令（ ）查看 ARP 缓存。,,,,,,arp -a;arp,3,,,,,,,,,,,C-1,,,\n"
    "P-1,实操题,按要求制作一根 T568B 直通网线并测试。,,,,,,,50,3,C-01-001,,,4-04-04-02,四级,,,,,,30,"
    "\"工位：1 号台，压线钳、测线仪\",\"20|正确制作 T568B 直通网线\n30|测试连通并记录\n否决|带电插拔设备\"\n"
    "I-1,单选题,\"<p>下图是哪种接口？</p><img src=\"\"data:image/png;base64,iVBORw0KGgpJSERSZmFrZQ==\"\" "
    "alt=\"\"接口\"\">\",RJ45,\"<img src=\"\"data:image/png;base64,iVBORw0KGgpJSERSZmFrZQ==\"\">\",,,,A,1\n";

/* Exporters get items as the bank stores them: rich text sanitized by bank_item_prepare.
 * When the template does not run it yet, the test does, as the store's caller would. */
static int template_prepares(void)
{
    bank_itemset s;
    bank_itemset_init(&s, A);
    const char t[] = "题型,题干,选项A,选项B,答案\n单选题,x & y,a,b,A\n";
    cr_assert_eq(imp_parse_buffer(IMP_CSV, "probe.csv", t, strlen(t), &s, &D), 0);
    cr_assert_eq(s.n, 1);
    return strcmp(s.items[0].stem, "x & y") != 0;
}

static void parsed(bank_itemset *set, int rc)
{
    for (size_t i = 0; i < D.n; i++) cr_log_error("%s", D.lines[i]);
    cr_assert_eq(rc, 0);
    cr_assert_eq(D.n, 0);
    if (template_prepares()) return;
    for (size_t i = 0; i < set->n; i++) {
        cr_assert_eq(bank_item_prepare(&set->items[i], BANK_TEXT_AUTO, A, NULL), 0);
        cr_assert_eq(bank_item_finalize(&set->items[i], A), 0);
    }
}

static void import_csv_text(bank_itemset *set, const char *text)
{
    parsed(set, imp_parse_buffer(IMP_CSV, "all.csv", text, strlen(text), set, &D));
}

static void str_same(const char *a, const char *b, const char *uid, const char *field)
{
    if (!a || !b) cr_expect(a == b, "%s %s: %s vs %s", uid, field, a ? a : "NULL", b ? b : "NULL");
    else cr_expect_str_eq(a, b, "%s %s", uid, field);
}

static void item_same(const bank_item *a, const bank_item *b)
{
    const char *u = a->uid ? a->uid : "?";
    str_same(a->uid, b->uid, u, "uid");
    cr_expect_eq(a->type, b->type, "%s type", u);
    str_same(a->stem, b->stem, u, "stem");
    cr_expect_eq(a->n_options, b->n_options, "%s n_options", u);
    for (int k = 0; k < a->n_options && k < b->n_options; k++) str_same(a->options[k], b->options[k], u, "option");
    cr_expect_eq(a->pin_options, b->pin_options, "%s pin", u);
    str_same(a->answer, b->answer, u, "answer");
    cr_expect_eq(a->mc_policy, b->mc_policy, "%s policy", u);
    cr_expect_eq(a->n_blanks, b->n_blanks, "%s n_blanks", u);
    cr_expect_eq(a->points_centi, b->points_centi, "%s points", u);
    cr_expect_eq(a->difficulty, b->difficulty, "%s difficulty", u);
    str_same(a->point_code, b->point_code, u, "point_code");
    str_same(a->explanation, b->explanation, u, "explanation");
    str_same(a->source, b->source, u, "source");
    str_same(a->occupation, b->occupation, u, "occupation");
    cr_expect_eq(a->level, b->level, "%s level", u);
    str_same(a->author, b->author, u, "author");
    cr_expect_eq(a->n_tags, b->n_tags, "%s n_tags", u);
    for (int k = 0; k < a->n_tags && k < b->n_tags; k++) str_same(a->tags[k], b->tags[k], u, "tag");
    cr_expect_eq(a->time_minutes, b->time_minutes, "%s time", u);
    str_same(a->equipment, b->equipment, u, "equipment");
    cr_expect_eq(a->n_criteria, b->n_criteria, "%s n_criteria", u);
    for (int k = 0; k < a->n_criteria && k < b->n_criteria; k++) {
        str_same(a->criteria[k].text, b->criteria[k].text, u, "criterion");
        cr_expect_eq(a->criteria[k].points_centi, b->criteria[k].points_centi, "%s criterion points", u);
        cr_expect_eq(a->criteria[k].veto, b->criteria[k].veto, "%s veto", u);
    }
    cr_expect_eq(a->n_media, b->n_media, "%s n_media", u);
    for (int k = 0; k < a->n_media && k < b->n_media; k++) {
        str_same(a->media[k].name, b->media[k].name, u, "media name");
        str_same(a->media[k].mime, b->media[k].mime, u, "media mime");
        cr_expect(a->media[k].len == b->media[k].len && memcmp(a->media[k].data, b->media[k].data, a->media[k].len) == 0,
                  "%s media data", u);
    }
    cr_expect_eq(a->n_children, b->n_children, "%s n_children", u);
    for (int k = 0; k < a->n_children && k < b->n_children; k++) item_same(&a->children[k], &b->children[k]);
    cr_expect_eq(memcmp(a->content_hash, b->content_hash, 32), 0, "%s content_hash", u);
    cr_expect_eq(memcmp(a->full_hash, b->full_hash, 32), 0, "%s full_hash", u);
}

static void round_trip(imp_format f, const char *file)
{
    bank_itemset first, again;
    bank_itemset_init(&first, A);
    bank_itemset_init(&again, A);
    import_csv_text(&first, ALL_TYPES);
    cr_assert_eq(first.n, 9);
    cr_assert_eq(first.items[8].n_media, 1, "the data: image became media");
    char *p = path_in_dir(file);
    cr_assert_eq(imp_export_file(f, &first, p, &D), 0);
    EXPECT_CLEAN();
    parsed(&again, imp_parse_file(f, p, &again, &D));
    cr_assert_eq(again.n, first.n);
    for (size_t i = 0; i < first.n; i++) item_same(&first.items[i], &again.items[i]);
    /* and once more: the export of the re-import is the same file */
    char *p2 = path_in_dir(f == IMP_CSV ? "again.csv" : "again.xlsx");
    cr_assert_eq(imp_export_file(f, &again, p2, &D), 0);
    if (f == IMP_CSV) {
        size_t l1, l2;
        char *b1 = slurp(p, &l1), *b2 = slurp(p2, &l2);
        cr_expect(l1 == l2 && memcmp(b1, b2, l1) == 0, "the second export differs");
    }
}

Test(xlsx, round_trip_csv) { round_trip(IMP_CSV, "out.csv"); }
Test(xlsx, round_trip_xlsx) { round_trip(IMP_XLSX, "out.xlsx"); }

/* The bytes of one part of a zip file. */
static char *zip_part(const char *path, const char *name)
{
    int err;
    zip_t *z = zip_open(path, ZIP_RDONLY, &err);
    cr_assert_not_null(z);
    zip_stat_t st;
    cr_assert_eq(zip_stat(z, name, 0, &st), 0, "%s has no %s", path, name);
    zip_file_t *f = zip_fopen(z, name, 0);
    cr_assert_not_null(f);
    char *buf = kc_arena_alloc(A, st.size + 1);
    cr_assert_eq(zip_fread(f, buf, st.size), (zip_int64_t)st.size);
    zip_fclose(f);
    zip_close(z);
    return buf;
}

Test(xlsx, export_csv_form)
{
    bank_itemset set;
    bank_itemset_init(&set, A);
    import_csv_text(&set, ALL_TYPES);
    char *p = path_in_dir("form.csv");
    cr_assert_eq(imp_export_file(IMP_CSV, &set, p, &D), 0);
    size_t len;
    char *b = slurp(p, &len);
    cr_assert_geq(len, 3);
    const char hdr[] = "\xEF\xBB\xBF试题编号,题型,题干,选项A,选项B,选项C,选项D,选项E,答案,分值,难度,"
                       "鉴定点代码,解析,出处,职业代码,等级,标签,命题人,多选计分,选项固定,所属题目,"
                       "考核时间,设备要求,评分标准\r\n";
    cr_expect_eq(memcmp(b, hdr, strlen(hdr)), 0, "header: %.200s", b);
    cr_expect(strstr(b, "\r\nS-1,单选题,TCP 工作在哪一层？,应用层,传输层,网络层,链路层,,B,1.5,2,A-01-001,"
                        "\"见 RFC 793, 第 1 节\",教材第 3 章,4-04-04-02,四级/中级工,网络;协议,张三,,是,,,,\r\n"),
              "%s", b);
    cr_expect(strstr(b, "\"下列哪些是\"\"加密\"\"协议？\"") != NULL);
    cr_expect(strstr(b, ",对,") == NULL && strstr(b, ",错,1,1,") != NULL);
    /* the composite has no 分值 of its own; its rows follow it */
    cr_expect(strstr(b, "\r\nC-1,组合题,阅读材料：某公司内网出现大量 ARP 报文……,,,,,,,,,B-01-001,") != NULL, "%s", b);
    cr_expect(strstr(b, "\r\nC-1-1,单选题,") != NULL && strstr(b, "C-1-1") < strstr(b, "C-1-2"));
    cr_expect(strstr(b, ",C-1,,,\r\n") != NULL);

    /* only the columns used */
    bank_itemset one;
    bank_itemset_init(&one, A);
    import_csv_text(&one, "题型,题干,选项A,选项B,答案\n单选题,问题,甲,乙,A\n");
    cr_assert_eq(imp_export_file(IMP_CSV, &one, p, &D), 0);
    b = slurp(p, &len);
    char *second = strstr(b, "\r\n");
    cr_assert_not_null(second);
    *second = 0;
    cr_expect_str_eq(b, "\xEF\xBB\xBF试题编号,题型,题干,选项A,选项B,答案,分值");
}

Test(xlsx, export_xlsx_form)
{
    bank_itemset set;
    bank_itemset_init(&set, A);
    import_csv_text(&set, ALL_TYPES);
    char *p = path_in_dir("form.xlsx");
    cr_assert_eq(imp_export_file(IMP_XLSX, &set, p, &D), 0);
    const char *wb = zip_part(p, "xl/workbook.xml");
    cr_expect(strstr(wb, "name=\"题库\"") != NULL, "%s", wb);
    const char *sheet = zip_part(p, "xl/worksheets/sheet1.xml");
    /* 分值 1.5 and 难度 2 of S-1 (row 2, columns J and K) are numbers */
    cr_expect(strstr(sheet, "<c r=\"J2\" s=\"0\"><v>1.5</v></c>") != NULL ||
              strstr(sheet, "<c r=\"J2\"><v>1.5</v></c>") != NULL, "%s", sheet);
    cr_expect(strstr(sheet, "<c r=\"K2\"><v>2</v></c>") != NULL, "%s", sheet);
    /* the header row has a bold format */
    cr_expect(strstr(sheet, "<c r=\"A1\" s=\"1\" t=\"s\">") != NULL, "%s", sheet);
    const char *styles = zip_part(p, "xl/styles.xml");
    cr_expect(strstr(styles, "<b/>") != NULL);
    cr_expect_eq(read_path(p), 0);
    cr_assert_eq(NSH, 1);
    cr_expect_str_eq(SH[0].where, "book.xlsx:题库!");
    cr_expect_eq(SH[0].n, 12);
}

Test(xlsx, export_leaves_out_what_it_cannot_carry)
{
    bank_itemset set;
    bank_itemset_init(&set, A);
    import_csv_text(&set, "试题编号,题型,题干,选项A,选项B,答案\nK-1,单选题,问题一,甲,乙,A\nK-2,单选题,问题二,甲,乙,B\n"
                          "K-3,单选题,问题三,甲,乙,B\n");
    cr_assert_eq(set.n, 3);
    static const unsigned char png[] = {0x89, 'P', 'N', 'G'};
    bank_media *m = kc_arena_alloc(A, sizeof *m);
    m->name = "fig1.png";
    m->mime = "image/png";
    m->data = png;
    m->len = sizeof png;
    set.items[1].media = m;
    set.items[1].n_media = 1;
    const char *tags[] = {"a;b"};
    set.items[2].tags = tags;
    set.items[2].n_tags = 1;
    char *p = path_in_dir("part.csv");
    cr_assert_eq(imp_export_file(IMP_CSV, &set, p, &D), 1);
    EXPECT("K-2: media: fig1.png is not an image in the text, which CSV and XLSX cannot carry; export it as moodlexml or qti",
           "K-3: 标签: tag \"a;b\" contains a separator (; , 、), which the template splits at");
    bank_itemset back;
    bank_itemset_init(&back, A);
    kc_diag_init(&D, A);
    cr_assert_eq(imp_parse_file(IMP_CSV, p, &back, &D), 0);
    cr_assert_eq(back.n, 1);
    cr_expect_str_eq(back.items[0].uid, "K-1");

    /* a link to a file cannot be embedded like an image */
    set.items[1].stem = "<p>见<a href=\"media:fig1.png\">附图</a></p>";
    set.items[2].n_tags = 0;
    kc_diag_init(&D, A);
    cr_assert_eq(imp_export_file(IMP_CSV, &set, p, &D), 1);
    EXPECT("K-2: media: refers to an attachment (a link to a file), which CSV and XLSX cannot carry; "
           "export it as moodlexml or qti");
    /* an image is embedded */
    set.items[1].stem = "<p>见<img src=\"media:fig1.png\" alt=\"图\"></p>";
    kc_diag_init(&D, A);
    cr_assert_eq(imp_export_file(IMP_CSV, &set, p, &D), 0);
    size_t len;
    char *b = slurp(p, &len);
    cr_expect(strstr(b, "<p>见<img src=\"\"data:image/png;base64,iVBORw==\"\" alt=\"\"图\"\"></p>") != NULL, "%s", b);

    /* an Excel cell holds 32767 characters */
    size_t n = 40000;
    char *longs = kc_arena_alloc(A, n + 1);
    memset(longs, 'x', n);
    set.items[1].n_media = 0;
    set.items[2].n_tags = 0;
    set.items[0].stem = longs;
    kc_diag_init(&D, A);
    p = path_in_dir("part.xlsx");
    cr_assert_eq(imp_export_file(IMP_XLSX, &set, p, &D), 1);
    /* K-2 still names fig1.png, which it no longer has: the image is left out, not a
     * dangling media: reference */
    EXPECT("K-1: 题干: is longer than the 32767 characters a cell holds; export as csv",
           "K-2: 题干: image fig1.png has no file; left out");
    cr_expect_eq(read_path(p), 0);
    cr_expect_eq(SH[0].n, 3);
}

Test(xlsx, export_errors)
{
    bank_itemset set;
    bank_itemset_init(&set, A);
    import_csv_text(&set, "题型,题干,选项A,选项B,答案\n单选题,问题,甲,乙,A\n");
    char *p = path_in_dir("no/such/dir/x.csv");
    cr_expect_eq(imp_export_file(IMP_CSV, &set, p, &D), KC_ERR);
    cr_assert_eq(D.n, 1);
    cr_expect(strstr(D.lines[0], "/no/such/dir/x.csv: file: cannot create: No such file or directory") != NULL,
              "%s", D.lines[0]);
    kc_diag_init(&D, A);
    p = path_in_dir("no/such/dir/x.xlsx");
    cr_expect_eq(imp_export_file(IMP_XLSX, &set, p, &D), KC_ERR);
    cr_assert_eq(D.n, 1);
    cr_expect(strstr(D.lines[0], "/no/such/dir/x.xlsx: file: cannot create: No such file or directory") != NULL,
              "%s", D.lines[0]);
    kc_diag_init(&D, A);
    cr_expect_eq(imp_export_file(IMP_AIKEN, &set, "x.txt", &D), KC_EINVAL);
    EXPECT("x.txt: format: aiken cannot be exported by this build");
}

/* imp_parse_buffer(IMP_XLSX): every item sheet, instructions skipped, duplicates over all sheets. */
Test(xlsx, import_workbook_sheets)
{
    char *p = path_in_dir("wb.xlsx");
    lxw_workbook *wb = workbook_new(p);
    lxw_worksheet *info = workbook_add_worksheet(wb, "说明");
    worksheet_write_string(info, 0, 0, "填写说明：每行一道题", NULL);
    lxw_worksheet *s1 = workbook_add_worksheet(wb, "单选");
    lxw_worksheet *s2 = workbook_add_worksheet(wb, "判断");
    const char *h[] = {"题型", "题干", "选项A", "选项B", "答案", "分值"};
    for (int c = 0; c < 6; c++) {
        worksheet_write_string(s1, 0, (lxw_col_t)c, h[c], NULL);
        if (c != 2 && c != 3) worksheet_write_string(s2, 0, (lxw_col_t)(c < 2 ? c : c - 2), h[c], NULL);
    }
    worksheet_write_string(s1, 2, 0, "单选题", NULL);
    worksheet_write_string(s1, 2, 1, "问题一", NULL);
    worksheet_write_string(s1, 2, 2, "甲", NULL);
    worksheet_write_string(s1, 2, 3, "乙", NULL);
    worksheet_write_string(s1, 2, 4, "B", NULL);
    worksheet_write_number(s1, 2, 5, 2.5, NULL);
    worksheet_write_string(s2, 1, 0, "判断题", NULL);
    worksheet_write_string(s2, 1, 1, "对错题", NULL);
    worksheet_write_boolean(s2, 1, 2, 1, NULL);
    worksheet_write_number(s2, 1, 3, 1, NULL);
    worksheet_write_string(s2, 2, 0, "判断题", NULL);
    worksheet_write_string(s2, 2, 1, "对错题", NULL);
    worksheet_write_string(s2, 2, 2, "对", NULL);
    worksheet_write_string(s2, 3, 0, "判断题", NULL);
    worksheet_write_string(s2, 3, 1, "无答案", NULL);
    cr_assert_eq(workbook_close(wb), LXW_NO_ERROR);

    bank_itemset set;
    bank_itemset_init(&set, A);
    cr_assert_eq(imp_parse_file(IMP_XLSX, p, &set, &D), 1);
    cr_assert_geq(D.n, 2);
    for (size_t i = 0; i < D.n; i++) {
        cr_expect(strstr(D.lines[i], ":说明!") == NULL, "%s", D.lines[i]);
        cr_expect(STARTS(D.lines[i], p), "%s", D.lines[i]);
    }
    char want[512];
    snprintf(want, sizeof want, "%s:判断!4: ", p);
    int found = 0;
    for (size_t i = 0; i < D.n; i++) found |= STARTS(D.lines[i], want);
    cr_expect(found, "no line for 判断!4 (%s)", D.lines[0]);
    snprintf(want, sizeof want, "%s:判断!3: ", p);
    found = 0;
    for (size_t i = 0; i < D.n; i++) found |= STARTS(D.lines[i], want) && strstr(D.lines[i], "uplicate");
    cr_expect(found, "no duplicate line for 判断!3");
    cr_assert_geq(set.n, 2);
    cr_expect_eq(set.items[0].points_centi, 250);
    cr_expect_str_eq(set.items[0].file, kc_arena_printf(A, "%s:单选!", p));
    cr_expect_eq(set.items[0].line, 3);
    cr_expect_str_eq(set.items[1].answer, "T");

    /* a workbook without any item sheet reads every non-empty sheet */
    p = path_in_dir("none.xlsx");
    wb = workbook_new(p);
    info = workbook_add_worksheet(wb, "说明");
    worksheet_write_string(info, 0, 0, "填写说明", NULL);
    workbook_add_worksheet(wb, "空");
    cr_assert_eq(workbook_close(wb), LXW_NO_ERROR);
    kc_diag_init(&D, A);
    cr_assert_eq(imp_parse_file(IMP_XLSX, p, &set, &D), 1);
    cr_assert_geq(D.n, 1);
    snprintf(want, sizeof want, "%s:说明!1: ", p);
    cr_expect(STARTS(D.lines[0], want), "%s", D.lines[0]);
}

/* Blueprints from a workbook: the blueprint sheet, numbers as Excel stores them. */
Test(xlsx, blueprint_workbook)
{
    char *p = path_in_dir("bp.xlsx");
    lxw_workbook *wb = workbook_new(p);
    lxw_worksheet *info = workbook_add_worksheet(wb, "说明");
    worksheet_write_string(info, 0, 0, "鉴定要素细目表说明", NULL);
    lxw_worksheet *ws = workbook_add_worksheet(wb, "理论知识");
    const char *rows[][5] = {
        {"级别", "代码", "名称", "鉴定比重", "重要程度"},
        {"1", "A", "基础知识", NULL, NULL},
        {"鉴定点", "A-001", "职业道德", NULL, "X"},
        {"1", "B", "相关知识", NULL, NULL},
        {"鉴定点", "B-001", "网络安全法", NULL, "y"},
    };
    const double weights[] = {0, 37.5, 0, 62.5, 0};
    for (int r = 0; r < 5; r++)
        for (int c = 0; c < 5; c++) {
            if (r > 0 && c == 0 && strcmp(rows[r][0], "1") == 0) worksheet_write_number(ws, (lxw_row_t)r, 0, 1, NULL);
            else if (r > 0 && c == 3 && weights[r] > 0) worksheet_write_number(ws, (lxw_row_t)r, 3, weights[r], NULL);
            else if (rows[r][c]) worksheet_write_string(ws, (lxw_row_t)r, (lxw_col_t)c, rows[r][c], NULL);
        }
    cr_assert_eq(workbook_close(wb), LXW_NO_ERROR);

    bank_blueprint bp;
    bank_blueprint_init(&bp, A);
    int rc = imp_blueprint_parse_file(IMP_XLSX, p, &bp, &D);
    for (size_t i = 0; i < D.n; i++) cr_log_error("%s", D.lines[i]);
    cr_assert_eq(rc, 0);
    cr_assert_eq(bp.n, 4);
    cr_expect_eq(bp.nodes[0].weight_centi, 3750);
    cr_expect_eq(bp.nodes[2].weight_centi, 6250);
    cr_expect_eq(bp.nodes[3].importance, 'Y');
    cr_expect_eq(bp.nodes[3].line, 5);
    cr_expect_str_eq(bp.file, kc_arena_printf(A, "%s:理论知识!", p));

    /* a second blueprint sheet is reported; a damaged workbook is one line */
    p = path_in_dir("bp2.xlsx");
    wb = workbook_new(p);
    for (int k = 0; k < 2; k++) {
        ws = workbook_add_worksheet(wb, k ? "技能" : "理论");
        worksheet_write_string(ws, 0, 0, "级别", NULL);
        worksheet_write_string(ws, 0, 1, "代码", NULL);
        worksheet_write_string(ws, 0, 2, "名称", NULL);
    }
    cr_assert_eq(workbook_close(wb), LXW_NO_ERROR);
    bank_blueprint_init(&bp, A);
    cr_assert_eq(imp_blueprint_parse_file(IMP_XLSX, p, &bp, &D), 1);
    char want[512];
    snprintf(want, sizeof want,
             "%s:技能!1: sheet: is a second blueprint in this workbook (the first is on sheet 理论); "
             "import one blueprint per file", p);
    cr_assert_geq(D.n, 1);
    int found = 0;
    for (size_t i = 0; i < D.n; i++) found |= strcmp(D.lines[i], want) == 0;
    cr_expect(found, "%s", D.lines[0]);
    kc_diag_init(&D, A);
    bank_blueprint_init(&bp, A);
    cr_assert_eq(imp_blueprint_parse_buffer(IMP_XLSX, "bp.xlsx", "not a zip", 9, &bp, &D), 1);
    EXPECT("bp.xlsx: file: is not an XLSX workbook (not a zip archive)");
}

/* Images travel as data: URIs in stems, options and sub-items. */
Test(xlsx, images_round_trip) { kc_image_round_trip(IMP_XLSX, "xlsx", 1, 0); }
Test(xlsx, missing_image_is_reported_and_left_out) { kc_missing_image_export(IMP_XLSX, "xlsx", 1); }

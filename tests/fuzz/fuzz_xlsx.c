/* libFuzzer target for the XLSX reader. The first byte chooses what the rest is:
 *   even: a whole workbook file (zip structure, damaged archives);
 *   odd:  the XML of a worksheet and of the shared strings, split at the first NUL byte,
 *         packed here into an otherwise valid workbook (the XML handling).
 * Checks what the template parsers rely on: rows in the arena, every cell a string, row
 * numbers positive, a "FILE:SHEET!" prefix, and diag lines on every failure; then runs the
 * whole import (the template over the sheets) and checks its return contract. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "../../importers/imp_int.h"

static const char RELS[] =
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/>"
    "</Relationships>";
static const char WB[] =
    "<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
    "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
    "<sheets><sheet name=\"题库\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";
static const char WB_RELS[] =
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
    "<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings\" Target=\"sharedStrings.xml\"/>"
    "</Relationships>";

static int add(zip_t *z, const char *name, const void *data, size_t len)
{
    zip_source_t *s = zip_source_buffer(z, data, len, 0);
    if (!s) return -1;
    zip_int64_t i = zip_file_add(z, name, s, 0);
    if (i < 0) { zip_source_free(s); return -1; }
    zip_set_file_compression(z, (zip_uint64_t)i, ZIP_CM_STORE, 0);
    return 0;
}

/* A workbook around the given sheet and shared-strings XML; malloc'd, NULL on failure. */
static char *pack(const uint8_t *sheet, size_t sheet_len, const uint8_t *sst, size_t sst_len,
                  size_t *out_len)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &ze);
    zip_error_fini(&ze);
    if (!src) return NULL;
    zip_t *z = zip_open_from_source(src, ZIP_TRUNCATE, NULL);
    if (!z) { zip_source_free(src); return NULL; }
    zip_source_keep(src);
    int bad = add(z, "_rels/.rels", RELS, sizeof RELS - 1) ||
              add(z, "xl/workbook.xml", WB, sizeof WB - 1) ||
              add(z, "xl/_rels/workbook.xml.rels", WB_RELS, sizeof WB_RELS - 1) ||
              add(z, "xl/worksheets/sheet1.xml", sheet, sheet_len) ||
              add(z, "xl/sharedStrings.xml", sst, sst_len);
    if (bad || zip_close(z)) {
        if (bad) zip_discard(z);
        zip_source_free(src);
        return NULL;
    }
    char *out = NULL;
    zip_stat_t st;
    if (zip_source_stat(src, &st) == 0 && zip_source_open(src) == 0) {
        out = malloc(st.size ? st.size : 1);
        if (out && zip_source_read(src, out, st.size) != (zip_int64_t)st.size) {
            free(out);
            out = NULL;
        }
        zip_source_close(src);
        *out_len = st.size;
    }
    zip_source_free(src);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    char *packed = NULL;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    if (data[0] & 1) {
        const uint8_t *nul = memchr(data + 1, 0, size - 1);
        size_t sheet_len = nul ? (size_t)(nul - (data + 1)) : size - 1;
        const uint8_t *sst = nul ? nul + 1 : data + size;
        packed = pack(data + 1, sheet_len, sst, (size_t)(data + size - sst), &len);
        if (!packed) return 0;
        buf = packed;
    }
    kc_arena *a = kc_arena_new(0);
    if (!a) abort();
    kc_diag d;
    kc_diag_init(&d, a);
    imp_sheet *sheets;
    int n;
    int rc = imp__xlsx_sheets("f.xlsx", buf, len, a, &sheets, &n, &d);
    if (rc == 0 && d.n) abort();                /* a problem was noted but not reported */
    if (rc == 1 && !d.n) abort();
    if (rc == 0 && n < 1) abort();
    for (int i = 0; i < n; i++) {
        size_t wl = strlen(sheets[i].where);
        if (!wl || sheets[i].where[wl - 1] != '!') abort();
        for (size_t r = 0; r < sheets[i].n; r++) {
            const imp_row *row = &sheets[i].rows[r];
            int blank = 1;
            if (row->line < 1 || row->ncells < 1) abort();
            for (int c = 0; c < row->ncells; c++) {
                if (!row->cells[c]) abort();
                if (*row->cells[c]) blank = 0;
            }
            if (blank) abort();                 /* blank rows are left out */
        }
    }
    bank_itemset set;
    bank_itemset_init(&set, a);
    kc_diag_init(&d, a);
    rc = imp_parse_buffer(IMP_XLSX, "f.xlsx", buf, len, &set, &d);
    if (rc < 0 || (rc == 0) != (d.n == 0)) abort();
    for (size_t i = 0; i < d.n; i++)
        if (strncmp(d.lines[i], "f.xlsx", 6) != 0) abort();
    for (size_t i = 0; i < set.n; i++)
        if (!set.items[i].uid || !set.items[i].type) abort();
    kc_arena_free(a);
    free(packed);
    return 0;
}

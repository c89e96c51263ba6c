/* Blueprint (鉴定要素细目表) files: CSV or XLSX through the blueprint template, then validated. */
#include "imp_int.h"

#include <stdlib.h>
#include <string.h>

/* A workbook holds one blueprint: the sheet with a blueprint header (other sheets, such as
 * instructions, are skipped), or the first non-empty sheet when none has one. */
static int xlsx_sheet(const char *name, const char *buf, size_t len, bank_blueprint *b,
                      imp_sheet *out, kc_diag *d)
{
    imp_sheet *sheets;
    int n, rc = imp__xlsx_sheets(name, buf, len, b->arena, &sheets, &n, d);
    if (rc < 0) return -1;
    if (!n) return 1;
    int pick = -1;
    for (int i = 0; i < n; i++) {
        if (!imp__sheet_names(&sheets[i], "级别", "代码")) continue;
        if (pick < 0) { pick = i; continue; }
        if (kc_diag_add(d, sheets[i].where, 1, "sheet",
                          "is a second blueprint in this workbook (the first is on sheet %.*s); "
                          "import one blueprint per file",
                          (int)(strlen(sheets[pick].where) - strlen(name) - 2),
                          sheets[pick].where + strlen(name) + 1))
            return -1;
        rc = 1;
    }
    for (int i = 0; i < n && pick < 0; i++)
        if (sheets[i].n) pick = i;
    *out = sheets[pick < 0 ? 0 : pick];
    return rc;
}

int imp_blueprint_parse_buffer(imp_format f, const char *display_name, const char *buf,
                               size_t len, bank_blueprint *b, kc_diag *d)
{
    size_t before = d->n;
    if (f != IMP_CSV && f != IMP_XLSX) {
        kc_diag_add(d, display_name, 0, "format", "blueprints are read from csv or xlsx files, not %s",
                      imp_format_name(f));
        return KC_EINVAL;
    }
    if (len > IMP_MAX_BYTES) return imp__too_big(d, display_name);
    imp_sheet sh = {0};
    int rc;
    if (f == IMP_XLSX) {
        rc = xlsx_sheet(display_name, buf, len, b, &sh, d);
        if (rc < 0) return KC_ENOMEM;
        if (d->n > before && !sh.n) return 1;   /* the workbook itself could not be read */
    } else {
        const char *text;
        size_t text_len;
        char *to_free;
        rc = imp__decode_text(display_name, buf, len, &text, &text_len, &to_free, d);
        if (rc) return rc;
        rc = imp__csv_sheet(display_name, text, text_len, b->arena, &sh, d);
        free(to_free);
        if (rc < 0) return KC_ENOMEM;
    }
    if (!b->file) b->file = sh.where;
    if ((rc == 0 || sh.n > 1) && imp__template_blueprint(&sh, b, d) < 0) return KC_ENOMEM;
    /* weights and structure only mean something once every row could be read */
    if (d->n == before && bank_blueprint_validate(b, d) < 0) return KC_ENOMEM;
    return d->n > before ? 1 : 0;
}

int imp_blueprint_parse_file(imp_format f, const char *path, bank_blueprint *b, kc_diag *d)
{
    char *buf;
    size_t len;
    int rc = imp__read_file(path, &buf, &len, d);
    if (rc) return rc;
    rc = imp_blueprint_parse_buffer(f, path, buf, len, b, d);
    free(buf);
    return rc;
}

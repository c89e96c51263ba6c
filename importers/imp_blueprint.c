/* Blueprint (鉴定要素细目表) files: CSV through the blueprint template, then validated. */
#include "imp_int.h"

#include <stdlib.h>
#include <string.h>

int imp_blueprint_parse_buffer(imp_format f, const char *display_name, const char *buf,
                               size_t len, bank_blueprint *b, bank_diag *d)
{
    size_t before = d->n;
    if (f != IMP_CSV) {
        /* XLSX blueprints come with the XLSX reader (imp__xlsx_sheets) */
        bank_diag_add(d, display_name, 0, "format", "blueprints are read from csv files, not %s",
                      imp_format_name(f));
        return -1;
    }
    if (len > IMP_MAX_BYTES) return imp__too_big(d, display_name);
    const char *text;
    size_t text_len;
    char *to_free;
    int rc = imp__decode_text(display_name, buf, len, &text, &text_len, &to_free, d);
    if (rc) return rc;
    imp_sheet sh;
    rc = imp__csv_sheet(display_name, text, text_len, b->arena, &sh, d);
    free(to_free);
    if (rc < 0) return -1;
    if (!b->file) b->file = sh.where;
    if ((rc == 0 || sh.n > 1) && imp__template_blueprint(&sh, b, d) < 0) return -1;
    /* weights and structure only mean something once every row could be read */
    if (d->n == before && bank_blueprint_validate(b, d) < 0) return -1;
    return d->n > before ? 1 : 0;
}

int imp_blueprint_parse_file(imp_format f, const char *path, bank_blueprint *b, bank_diag *d)
{
    char *buf;
    size_t len;
    int rc = imp__read_file(path, &buf, &len, d);
    if (rc) return rc;
    rc = imp_blueprint_parse_buffer(f, path, buf, len, b, d);
    free(buf);
    return rc;
}

/* Importer entry points: format names, reading files, text encodings, dispatch. */
#include "imp_int.h"

#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The formats this build reads; each importer adds its line (exportable: imp_export_file
 * writes it too). */
static const struct {
    const char *name;
    imp_format f;
    int exportable;
} FORMATS[] = {
    {"csv", IMP_CSV, 1},
    {"xlsx", IMP_XLSX, 1},
    {"gift", IMP_GIFT, 1},
    {"aiken", IMP_AIKEN, 0},
    {"text", IMP_TEXT, 0},
    {"moodlexml", IMP_MOODLEXML, 1},
    {"qti", IMP_QTI, 1},
};

int imp_format_exportable(imp_format f)
{
    for (size_t i = 0; i < sizeof FORMATS / sizeof FORMATS[0]; i++)
        if (FORMATS[i].f == f) return FORMATS[i].exportable;
    return 0;
}

const char *imp_format_list(int exportable, char *buf, size_t len)
{
    size_t at = 0;
    if (!buf || !len) return "";
    *buf = 0;
    for (size_t i = 0; i < sizeof FORMATS / sizeof FORMATS[0]; i++) {
        if (exportable && !FORMATS[i].exportable) continue;
        int n = snprintf(buf + at, len - at, "%s%s", at ? ", " : "", FORMATS[i].name);
        if (n < 0 || (size_t)n >= len - at) {
            buf[at] = 0;    /* whole names only */
            break;
        }
        at += (size_t)n;
    }
    return buf;
}

int imp_format_parse(const char *name, imp_format *out)
{
    for (size_t i = 0; name && i < sizeof FORMATS / sizeof FORMATS[0]; i++)
        if (strcasecmp(name, FORMATS[i].name) == 0) {
            *out = FORMATS[i].f;
            return 0;
        }
    return KC_EINVAL;
}

const char *imp_format_name(imp_format f)
{
    switch (f) {
    case IMP_CSV: return "csv";
    case IMP_XLSX: return "xlsx";
    case IMP_GIFT: return "gift";
    case IMP_AIKEN: return "aiken";
    case IMP_MOODLEXML: return "moodlexml";
    case IMP_QTI: return "qti";
    case IMP_TEXT: return "text";
    }
    return "unknown";
}

/* ---- encodings ---- */

static int gb18030_to_utf8(const char *buf, size_t len, char **out, size_t *out_len)
{
    iconv_t cd = iconv_open("UTF-8", "GB18030");
    if (cd == (iconv_t)-1) return -1;
    /* GB18030 needs at most 1.5 UTF-8 bytes per input byte (2 -> 3; 4 -> 4). */
    size_t cap = len + len / 2 + 16;
    char *o = malloc(cap);
    int rc = o ? 0 : -2;
    char *in = (char *)buf, *op = o;
    size_t inleft = len, outleft = cap - 1;
    while (!rc && inleft) {
        if (iconv(cd, &in, &inleft, &op, &outleft) != (size_t)-1) break;
        if (errno != E2BIG) { rc = -1; break; }
        size_t used = (size_t)(op - o);
        char *bigger = realloc(o, cap * 2);
        if (!bigger) { rc = -2; break; }
        o = bigger;
        op = o + used;
        outleft += cap;
        cap *= 2;
    }
    if (!rc) {
        /* flush: a GB18030 sequence cut at the end is an error, not silently dropped */
        if (inleft || iconv(cd, NULL, NULL, &op, &outleft) == (size_t)-1) rc = -1;
    }
    iconv_close(cd);
    if (rc) { free(o); return rc; }
    *op = 0;
    *out = o;
    *out_len = (size_t)(op - o);
    return 0;
}

int imp__decode_text(const char *name, const char *buf, size_t len, const char **text,
                     size_t *text_len, char **to_free, kc_diag *d)
{
    *to_free = NULL;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) { buf += 3; len -= 3; }
    const unsigned char *p = (const unsigned char *)buf, *end = p + len;
    size_t multibyte = 0, invalid = 0;
    int line = 1, first_bad_line = 0;
    while (p < end) {
        uint32_t cp;
        size_t k = *p ? (size_t)bank_utf8_decode(p, (size_t)(end - p), &cp) : 0;   /* NUL: invalid */
        if (!k) {
            if (!invalid++) first_bad_line = line;
            p++;
            continue;
        }
        if (k > 1) multibyte++;
        else if (*p == '\n' || (*p == '\r' && (p + 1 == end || p[1] != '\n'))) line++;
        p += k;
    }
    if (!invalid) {
        *text = buf;
        *text_len = len;
        return 0;
    }
    /* Text that is UTF-8 nearly everywhere is a damaged UTF-8 file: decoding it as GB18030
     * would "succeed" and import garbage, so name the line instead. */
    if (multibyte >= 20 * invalid)
        return kc_diag_add(d, name, first_bad_line, "encoding",
                             "invalid UTF-8 byte sequence (the rest of the file is UTF-8)") ? KC_ENOMEM : 1;
    char *conv;
    size_t conv_len;
    int rc = gb18030_to_utf8(buf, len, &conv, &conv_len);
    if (rc == -2) return KC_ENOMEM;
    if (rc == 0 && memchr(conv, 0, conv_len)) {
        free(conv);
        rc = -1;
    }
    if (rc)
        return kc_diag_add(d, name, 1, "encoding", "not UTF-8 or GB18030") ? KC_ENOMEM : 1;
    *to_free = conv;
    *text = conv;
    *text_len = conv_len;
    /* GB18030 has its own BOM (84 31 95 33), which decodes to U+FEFF */
    if (conv_len >= 3 && memcmp(conv, "\xEF\xBB\xBF", 3) == 0) {
        *text += 3;
        *text_len -= 3;
    }
    return 0;
}

/* ---- entry points ---- */

int imp__too_big(kc_diag *d, const char *name)
{
    return kc_diag_add(d, name, 1, "file", "is larger than 64 MiB; split the bank into several files")
               ? KC_ENOMEM : 1;
}

/* Every item sheet of the workbook. Sheets without an item header (instructions, lookup
 * tables) are skipped when another sheet has one; when none has, each non-empty sheet is
 * read so that the template says what is missing. */
static int parse_xlsx(const char *name, const char *buf, size_t len, bank_itemset *set,
                      kc_diag *d)
{
    imp_sheet *sheets;
    int n, rc = imp__xlsx_sheets(name, buf, len, set->arena, &sheets, &n, d);
    if (rc < 0) return rc;
    if (!n) return rc;
    int any_items = 0, any_rows = 0;
    for (int i = 0; i < n; i++) {
        any_items |= imp__sheet_names(&sheets[i], "题型", "题干");
        any_rows |= sheets[i].n > 0;
    }
    for (int i = 0; i < n; i++) {
        const imp_sheet *sh = &sheets[i];
        if (any_items ? !imp__sheet_names(sh, "题型", "题干") : any_rows ? !sh->n : i > 0) continue;
        if (imp__template_items(sh, set, d) < 0) return KC_ENOMEM;
    }
    if (bank_itemset_drop_duplicates(set, d) < 0) return KC_ENOMEM;
    return 0;
}

int imp_parse_buffer(imp_format f, const char *display_name, const char *buf, size_t len,
                     bank_itemset *set, kc_diag *d)
{
    size_t before = d->n;
    int (*parse)(const char *, const char *, size_t, bank_itemset *, kc_diag *) = NULL;
    int raw = 0;    /* XML and zip formats: libxml2 reads the encoding declaration itself */
    switch (f) {
    case IMP_CSV: parse = imp__csv_parse; break;
    case IMP_XLSX: parse = parse_xlsx; raw = 1; break;
    case IMP_GIFT: parse = imp__gift_parse; break;
    case IMP_AIKEN: parse = imp__aiken_parse; break;
    case IMP_TEXT: parse = imp__text_parse; break;
    case IMP_MOODLEXML: parse = imp__moodlexml_parse; raw = 1; break;
    case IMP_QTI: parse = imp__qti_parse; raw = 1; break;
    default: break;
    }
    if (!parse) {
        kc_diag_add(d, display_name, 0, "format", "unknown import format %d", (int)f);
        return KC_EINVAL;
    }
    if (len > IMP_MAX_BYTES)
        return imp__too_big(d, display_name);
    const char *text = buf;
    size_t text_len = len;
    char *to_free = NULL;
    int rc = raw ? 0 : imp__decode_text(display_name, buf, len, &text, &text_len, &to_free, d);
    if (rc) return rc;
    rc = parse(display_name, text, text_len, set, d);
    free(to_free);
    if (rc < 0) return KC_ENOMEM;   /* the parsers fail only for want of memory */
    return d->n > before ? 1 : 0;
}

int imp__read_file(const char *path, char **out, size_t *out_len, kc_diag *d)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        kc_diag_add(d, path, 0, "file", "cannot open: %s", strerror(errno));
        return KC_ERR;
    }
    struct stat st;
    if (fstat(fd, &st)) {
        int e = errno;
        close(fd);
        kc_diag_add(d, path, 0, "file", "cannot read: %s", strerror(e));
        return KC_ERR;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        kc_diag_add(d, path, 0, "file", "is a directory");
        return KC_ERR;
    }
    if (S_ISREG(st.st_mode) && (size_t)st.st_size > IMP_MAX_BYTES) {
        close(fd);
        return imp__too_big(d, path);
    }
    size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 65536, len = 0;
    char *buf = malloc(cap);
    if (!buf) { close(fd); return KC_ENOMEM; }
    for (;;) {
        if (len == cap) {
            if (cap > IMP_MAX_BYTES) break;    /* a pipe or a growing file: refused by the caller */
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) { free(buf); close(fd); return KC_ENOMEM; }
            buf = bigger;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            close(fd);
            kc_diag_add(d, path, 0, "file", "cannot read: %s", strerror(e));
            return KC_ERR;
        }
        if (n == 0) break;
        len += (size_t)n;
    }
    close(fd);
    *out = buf;
    *out_len = len;
    return 0;
}

int imp_parse_file(imp_format f, const char *path, bank_itemset *set, kc_diag *d)
{
    char *buf;
    size_t len;
    int rc = imp__read_file(path, &buf, &len, d);
    if (rc) return rc;
    rc = imp_parse_buffer(f, path, buf, len, set, d);
    free(buf);
    return rc;
}

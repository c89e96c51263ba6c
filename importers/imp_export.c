/* Export: imp_export_file dispatches by format; the output buffer the text exporters share;
 * the CSV and XLSX exporters, which write the template of docs/BANK.md so that the
 * importers read it back unchanged. */
#include "imp_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <unistd.h>
#include <xlsxwriter.h>

/* Creates an empty temporary file beside path (open(O_EXCL) rather than mkstemp, so that it
 * gets the usual umask-based mode). Returns its descriptor and *tmp (malloc'd), or -1 after
 * a diag line. */
static int tmp_create(const char *path, char **tmp, kc_diag *d)
{
    static unsigned counter;
    size_t plen = strlen(path);
    char *t = malloc(plen + 48);
    if (!t) return -1;
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 100; tries++) {
        snprintf(t, plen + 48, "%s.tmp%ld.%u", path, (long)getpid(),
                 __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
        fd = open(t, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        kc_diag_add(d, path, 0, "file", "cannot create: %s", strerror(errno));
        free(t);
        return -1;
    }
    *tmp = t;
    return fd;
}

int imp__buf_write_file(const kc_buf *b, const char *path, kc_diag *d)
{
    if (b->oom) {
        kc_diag_add(d, path, 0, "file", "out of memory while writing the export");
        return -1;
    }
    char *tmp;
    int fd = tmp_create(path, &tmp, d);
    if (fd < 0) return -1;
    size_t off = 0;
    int e = 0;
    while (off < b->n) {
        ssize_t n = write(fd, b->p + off, b->n - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { e = errno; break; }
        off += (size_t)n;
    }
    if (close(fd) && !e) e = errno;
    if (!e && rename(tmp, path)) e = errno;
    if (e) {
        unlink(tmp);
        kc_diag_add(d, path, 0, "file", "cannot write: %s", strerror(e));
    }
    free(tmp);
    return e ? -1 : 0;
}

/* ---- the template as a table (CSV and XLSX) ---- */

enum ecol {
    E_UID, E_TYPE, E_STEM, E_OPT, E_ANSWER = E_OPT + BANK_MAX_OPTIONS, E_POINTS, E_DIFFICULTY,
    E_CODE, E_EXPLANATION, E_SOURCE, E_OCCUPATION, E_LEVEL, E_TAGS, E_AUTHOR, E_POLICY, E_PIN,
    E_PARENT, E_TIME, E_EQUIPMENT, E_RUBRIC, E_NCOLS
};

/* docs/BANK.md order */
static const char *const ECOL_NAME[E_NCOLS] = {
    "试题编号", "题型", "题干", "选项A", "选项B", "选项C", "选项D", "选项E", "选项F", "选项G",
    "选项H", "答案", "分值", "难度", "鉴定点代码", "解析", "出处", "职业代码", "等级", "标签",
    "命题人", "多选计分", "选项固定", "所属题目", "考核时间", "设备要求", "评分标准",
};

typedef struct ecell {
    const char *s;          /* NULL: empty */
    int is_num;             /* XLSX writes num as a number; s holds its CSV text */
    double num;
} ecell;

typedef struct etable {
    kc_arena *a;
    kc_diag *d;
    ecell (*rows)[E_NCOLS];
    size_t n, cap;
    int used[E_NCOLS];
    size_t max_chars;       /* the longest cell the format holds (characters); 0: no limit */
    int left_out;           /* items left out in whole */
    int partial;            /* items exported without some of their images */
    int oom;
} etable;

/* The characters that separate tags in the template. */
static const char *const TAG_SEPS[] = {";", "\xEF\xBC\x9B", ",", "\xEF\xBC\x8C", "\xE3\x80\x81"};

/* Rich text as the template writes it: plain text when the fragment is just text and line
 * breaks, else the HTML. Text that would read back as markup stays HTML. */
static const char *rich_cell(etable *t, const char *html)
{
    if (!html || !*html) return NULL;
    if (!bank_html_is_plain(html)) return html;
    char *txt = bank_html_to_text(html, t->a);
    if (!txt) { t->oom = 1; return NULL; }
    for (const char *q = txt; (q = strchr(q, '<')); q++) {
        char c = q[1];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '/' || c == '!' || c == '?')
            return html;
    }
    return txt;
}

/* 1 when the escaped text at s (an attribute value up to '"') is the media name. */
static int escaped_is(const char *s, const char *name, size_t *len)
{
    const char *p = s;
    for (; *name; name++) {
        if (*name == '&') {
            if (strncmp(p, "&amp;", 5)) return 0;
            p += 5;
        } else if (*p++ != *name) {
            return 0;
        }
    }
    if (*p != '"') return 0;
    *len = (size_t)(p - s);
    return 1;
}

/* CSV and XLSX have no place for files: an image goes into the HTML as a data: URI, which
 * the importer turns back into media (named image-HASH.EXT, as it names every data: image).
 * used[i] is set for each media embedded. Returns the HTML, or NULL with *bad naming a
 * reference that cannot be embedded (an attachment, or a name not in the item's media). */
static const char *embed_images(etable *t, const bank_item *it, const char *html, char *used,
                                const char **bad)
{
    static const char IMG[] = "<img src=\"media:";
    if (!html || !strstr(html, "media:")) return html;
    if (strstr(html, "href=\"media:")) { *bad = "an attachment (a link to a file)"; return NULL; }
    kc_buf b = {0};
    const char *p = html, *q;
    while ((q = strstr(p, IMG))) {
        kc_buf_add(&b, p, (size_t)(q - p));
        const char *name = q + sizeof IMG - 1;
        int found = -1;
        size_t nlen = 0;
        for (int i = 0; i < it->n_media && found < 0; i++)
            if (it->media[i].name && escaped_is(name, it->media[i].name, &nlen)) found = i;
        const bank_media *m = found >= 0 ? &it->media[found] : NULL;
        if (!m || !m->mime || strncmp(m->mime, "image/", 6) || !m->len) {
            kc_buf_free(&b);
            *bad = m ? "a file that is not an image" : "an image that the item does not hold";
            return NULL;
        }
        size_t b64len = sodium_base64_encoded_len(m->len, sodium_base64_VARIANT_ORIGINAL);
        char *b64 = malloc(b64len);
        if (!b64) { kc_buf_free(&b); t->oom = 1; return NULL; }
        sodium_bin2base64(b64, b64len, m->data, m->len, sodium_base64_VARIANT_ORIGINAL);
        kc_buf_printf(&b, "<img src=\"data:%s;base64,%s", m->mime, b64);
        free(b64);
        used[found] = 1;
        p = name + nlen;
    }
    kc_buf_str(&b, p);
    char *out = b.oom ? NULL : kc_arena_strdup(t->a, b.p);
    kc_buf_free(&b);
    if (!out) t->oom = 1;
    return out;
}

static char *centi_text(kc_arena *a, int v)
{
    int neg = v < 0;
    unsigned u = neg ? (unsigned)-v : (unsigned)v;
    if (u % 100 == 0) return kc_arena_printf(a, "%s%u", neg ? "-" : "", u / 100);
    if (u % 10 == 0) return kc_arena_printf(a, "%s%u.%u", neg ? "-" : "", u / 100, u % 100 / 10);
    return kc_arena_printf(a, "%s%u.%02u", neg ? "-" : "", u / 100, u % 100);
}

static void set_text(etable *t, ecell *row, int col, const char *s)
{
    if (!s || !*s) return;
    row[col].s = s;
    t->used[col] = 1;
}

static void set_num(etable *t, ecell *row, int col, double v, char *text)
{
    if (!text) { t->oom = 1; return; }
    row[col].s = text;
    row[col].is_num = 1;
    row[col].num = v;
    t->used[col] = 1;
}

static const char *item_name(const bank_item *it)
{
    return it->uid && *it->uid ? it->uid : "(item without id)";
}

/* Fills one row for it (parent_uid for a sub-item). Returns 0, 1 when the item cannot be
 * carried (one diag line), -1 on OOM. */
static int item_row(etable *t, const bank_item *it, const char *parent_uid, ecell *row)
{
    kc_arena *a = t->a;
    const char *who = item_name(it);
    /* the rich text with its images embedded */
    const char *stem = it->stem, *expl = it->explanation, *ref = it->answer;
    const char *opts[BANK_MAX_OPTIONS] = {0};
    for (int k = 0; k < it->n_options && k < BANK_MAX_OPTIONS; k++) opts[k] = it->options[k];
    if (it->n_media > 0) {
        char *used = kc_arena_alloc(a, (size_t)it->n_media);
        const char *bad = NULL;
        if (!used) { t->oom = 1; return -1; }
        stem = embed_images(t, it, stem, used, &bad);
        if (!bad) expl = embed_images(t, it, expl, used, &bad);
        if (!bad && (it->type == BANK_SHORT || it->type == BANK_ESSAY))
            ref = embed_images(t, it, ref, used, &bad);
        for (int k = 0; !bad && k < it->n_options && k < BANK_MAX_OPTIONS; k++)
            opts[k] = embed_images(t, it, opts[k], used, &bad);
        if (t->oom) return -1;
        int unused = -1;
        for (int i = 0; !bad && i < it->n_media && unused < 0; i++)
            if (!used[i]) unused = i;
        if (bad || unused >= 0) {
            char clip[80];
            if (kc_diag_add(t->d, who, 0, "media",
                              bad ? "refers to %s, which CSV and XLSX cannot carry; export it as moodlexml or qti"
                                  : "%s is not an image in the text, which CSV and XLSX cannot carry; "
                                    "export it as moodlexml or qti",
                              bad ? bad : bank_text_clip(it->media[unused].name ? it->media[unused].name : "?",
                                                         clip, sizeof clip)))
                return -1;
            return 1;
        }
    }
    if (it->n_children > 0 && !(it->uid && *it->uid)) {
        if (kc_diag_add(t->d, who, 0, "试题编号",
                          "a composite item needs an id for its sub-items to name in 所属题目"))
            return -1;
        return 1;
    }
    set_text(t, row, E_UID, it->uid);
    set_text(t, row, E_TYPE, bank_type_label(it->type));
    set_text(t, row, E_STEM, rich_cell(t, stem));
    for (int k = 0; k < it->n_options && k < BANK_MAX_OPTIONS; k++)
        set_text(t, row, E_OPT + k, rich_cell(t, opts[k]));
    switch (it->type) {
    case BANK_SINGLE:
    case BANK_MULTI:
        set_text(t, row, E_ANSWER, it->answer);
        break;
    case BANK_TF:
        if (it->answer) set_text(t, row, E_ANSWER, strcmp(it->answer, "T") == 0 ? "对" : "错");
        break;
    case BANK_FILL:
        if (it->n_blanks > 0) {
            char *key = bank_fill_key_format(it->blanks, it->n_blanks, a);
            if (!key) { t->oom = 1; return -1; }
            set_text(t, row, E_ANSWER, key);
        } else {
            set_text(t, row, E_ANSWER, it->answer);
        }
        break;
    case BANK_SHORT:
    case BANK_ESSAY:
        set_text(t, row, E_ANSWER, rich_cell(t, ref));
        break;
    case BANK_COMPOSITE:
    case BANK_PRACTICAL:
        break;
    }
    /* a composite's points are the sum of its sub-items': the importer adds them up */
    if (it->type != BANK_COMPOSITE)
        set_num(t, row, E_POINTS, it->points_centi / 100.0, centi_text(a, it->points_centi));
    if (it->difficulty > 0)
        set_num(t, row, E_DIFFICULTY, it->difficulty, kc_arena_printf(a, "%d", it->difficulty));
    set_text(t, row, E_CODE, it->point_code);
    set_text(t, row, E_EXPLANATION, rich_cell(t, expl));
    set_text(t, row, E_SOURCE, it->source);
    set_text(t, row, E_OCCUPATION, it->occupation);
    if (it->level > 0) set_text(t, row, E_LEVEL, bank_level_name(it->level));
    if (it->n_tags > 0) {
        kc_buf b = {0};
        for (int i = 0; i < it->n_tags; i++) {
            const char *tag = it->tags[i];
            int bad = 0;
            for (size_t k = 0; k < sizeof TAG_SEPS / sizeof TAG_SEPS[0]; k++)
                if (strstr(tag, TAG_SEPS[k])) bad = 1;
            if (bad) {
                kc_buf_free(&b);
                if (kc_diag_add(t->d, who, 0, "标签",
                                  "tag \"%s\" contains a separator (; , 、), which the template splits at",
                                  tag))
                    return -1;
                return 1;
            }
            if (b.n) kc_buf_add(&b, ";", 1);
            kc_buf_str(&b, tag);
        }
        char *tags = b.oom ? NULL : kc_arena_strdup(a, b.p ? b.p : "");
        kc_buf_free(&b);
        if (!tags) { t->oom = 1; return -1; }
        set_text(t, row, E_TAGS, tags);
    }
    set_text(t, row, E_AUTHOR, it->author);
    if (it->type == BANK_MULTI && it->mc_policy != BANK_MC_ALL)
        set_text(t, row, E_POLICY, bank_mc_policy_name(it->mc_policy));
    if (it->pin_options) set_text(t, row, E_PIN, "是");
    set_text(t, row, E_PARENT, parent_uid);
    if (it->type == BANK_PRACTICAL) {
        if (it->time_minutes > 0)
            set_num(t, row, E_TIME, it->time_minutes, kc_arena_printf(a, "%d", it->time_minutes));
        set_text(t, row, E_EQUIPMENT, it->equipment);
        if (it->n_criteria > 0) {
            char *rub = bank_rubric_format(it->criteria, it->n_criteria, a);
            if (!rub) { t->oom = 1; return -1; }
            set_text(t, row, E_RUBRIC, rub);
        }
    }
    return t->oom ? -1 : 0;
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* 1 (after a diag line) when a cell is longer than the format holds, -1 on OOM. */
static int check_lengths(etable *t, const bank_item *it, const ecell *row)
{
    if (!t->max_chars) return 0;
    for (int c = 0; c < E_NCOLS; c++)
        if (row[c].s && utf8_chars(row[c].s) > t->max_chars)
            return kc_diag_add(t->d, item_name(it), 0, ECOL_NAME[c],
                                 "is longer than the %zu characters a cell holds; export as csv",
                                 t->max_chars) ? -1 : 1;
    return 0;
}

static ecell *table_push(etable *t)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        ecell (*rows)[E_NCOLS] = realloc(t->rows, cap * sizeof *rows);
        if (!rows) { t->oom = 1; return NULL; }
        t->rows = rows;
        t->cap = cap;
    }
    ecell *r = t->rows[t->n++];
    memset(r, 0, sizeof(ecell) * E_NCOLS);
    return r;
}

/* Rows for the whole set: a composite, then its sub-items. Returns 0 or -1 (OOM). */
static int build_table(etable *t, const bank_itemset *set)
{
    for (int k = 0; k < E_NCOLS; k++) t->used[k] = 0;
    /* the columns the importer requires, and the id that keeps versions together */
    t->used[E_UID] = t->used[E_TYPE] = t->used[E_STEM] = t->used[E_ANSWER] = 1;
    for (size_t i = 0; i < set->n; i++) {
        const bank_item *it;
        size_t mark = t->n;
        /* a data: URI carries an image; a media: reference without its file would dangle */
        int rc = imp__item_drop_missing_images(&set->items[i], t->a, t->d, &it);
        if (rc < 0) return -1;
        if (rc > 0) { t->left_out++; continue; }
        if (it != &set->items[i]) t->partial = 1;
        ecell *row = table_push(t);
        if (!row) return -1;
        rc = item_row(t, it, NULL, row);
        if (!rc) rc = check_lengths(t, it, row);
        for (int c = 0; rc == 0 && c < it->n_children; c++) {
            const bank_item *ch = &it->children[c];
            if (!(row = table_push(t))) return -1;
            rc = item_row(t, ch, it->uid, row);
            if (!rc) rc = check_lengths(t, ch, row);
        }
        if (rc < 0) return -1;
        if (rc > 0) {
            t->n = mark;                /* the whole item (with its sub-items) is left out */
            t->left_out++;
        }
    }
    return 0;
}

/* ---- CSV ---- */

static void csv_field(kc_buf *b, const char *s)
{
    if (!s) return;
    if (!strpbrk(s, ",\"\r\n")) { kc_buf_str(b, s); return; }
    kc_buf_add(b, "\"", 1);
    for (const char *q = s; *q; q++) {
        if (*q == '"') kc_buf_add(b, "\"", 1);
        kc_buf_add(b, q, 1);
    }
    kc_buf_add(b, "\"", 1);
}

int imp__export_csv(const bank_itemset *set, const char *path, kc_diag *d)
{
    etable t = {.a = set->arena, .d = d};
    int rc = build_table(&t, set);
    kc_buf b = {0};
    if (!rc) {
        kc_buf_str(&b, "\xEF\xBB\xBF");          /* so that Excel reads it as UTF-8 */
        int first = 1;
        for (int c = 0; c < E_NCOLS; c++) {
            if (!t.used[c]) continue;
            if (!first) kc_buf_add(&b, ",", 1);
            csv_field(&b, ECOL_NAME[c]);
            first = 0;
        }
        kc_buf_add(&b, "\r\n", 2);
        for (size_t r = 0; r < t.n; r++) {
            first = 1;
            for (int c = 0; c < E_NCOLS; c++) {
                if (!t.used[c]) continue;
                if (!first) kc_buf_add(&b, ",", 1);
                csv_field(&b, t.rows[r][c].s);
                first = 0;
            }
            kc_buf_add(&b, "\r\n", 2);
        }
        rc = imp__buf_write_file(&b, path, d);
        if (rc && !b.oom) rc = KC_ERR;          /* the file could not be written */
        else if (rc) rc = KC_ENOMEM;
    } else {
        rc = KC_ENOMEM;                         /* build_table fails only for want of memory */
    }
    kc_buf_free(&b);
    free(t.rows);
    if (rc) return rc;
    return t.left_out || t.partial ? 1 : 0;
}

/* ---- XLSX ---- */

int imp__export_xlsx(const bank_itemset *set, const char *path, kc_diag *d)
{
    etable t = {.a = set->arena, .d = d, .max_chars = 32767};
    int rc = build_table(&t, set);
    if (rc) { free(t.rows); return KC_ENOMEM; }
    /* written beside the target and renamed, so a failed export leaves no half file; the
     * file is created here first so that a bad path is reported like the other formats */
    char *tmp;
    int fd = tmp_create(path, &tmp, d);
    if (fd < 0) { free(t.rows); return KC_ERR; }
    close(fd);
    lxw_workbook *wb = workbook_new(tmp);
    lxw_worksheet *ws = wb ? workbook_add_worksheet(wb, "题库") : NULL;
    lxw_format *bold = wb ? workbook_add_format(wb) : NULL;
    if (!ws || !bold) {
        if (wb) workbook_close(wb);
        unlink(tmp);
        free(tmp);
        free(t.rows);
        return KC_ENOMEM;
    }
    format_set_bold(bold);
    lxw_col_t col = 0;
    for (int c = 0; c < E_NCOLS; c++)
        if (t.used[c]) worksheet_write_string(ws, 0, col++, ECOL_NAME[c], bold);
    lxw_error err = LXW_NO_ERROR;
    for (size_t r = 0; r < t.n && err == LXW_NO_ERROR; r++) {
        col = 0;
        for (int c = 0; c < E_NCOLS && err == LXW_NO_ERROR; c++) {
            if (!t.used[c]) continue;
            const ecell *e = &t.rows[r][c];
            if (e->is_num) err = worksheet_write_number(ws, (lxw_row_t)(r + 1), col, e->num, NULL);
            else if (e->s) err = worksheet_write_string(ws, (lxw_row_t)(r + 1), col, e->s, NULL);
            if (err != LXW_NO_ERROR)
                kc_diag_add(d, path, 0, "file", "cannot write: %s", lxw_strerror(err));
            col++;
        }
    }
    lxw_error cerr = workbook_close(wb);
    free(t.rows);
    if (err == LXW_NO_ERROR && cerr != LXW_NO_ERROR)
        kc_diag_add(d, path, 0, "file", "cannot write: %s", lxw_strerror(cerr));
    int rc2 = 0;
    if (err != LXW_NO_ERROR || cerr != LXW_NO_ERROR) {
        rc2 = -1;
    } else if (rename(tmp, path)) {
        kc_diag_add(d, path, 0, "file", "cannot write: %s", strerror(errno));
        rc2 = -1;
    }
    if (rc2) unlink(tmp);
    free(tmp);
    if (rc2) return KC_ERR;
    return t.left_out || t.partial ? 1 : 0;
}

/* ---- dispatch ---- */

int imp_export_file(imp_format f, const bank_itemset *set, const char *path, kc_diag *d)
{
    switch (f) {
    case IMP_CSV: return imp__export_csv(set, path, d);
    case IMP_XLSX: return imp__export_xlsx(set, path, d);
    case IMP_GIFT: return imp__export_gift(set, path, d);
    case IMP_MOODLEXML: return imp__export_moodlexml(set, path, d);
    case IMP_QTI: return imp__export_qti(set, path, d);
    default:
        kc_diag_add(d, path, 0, "format", "%s cannot be exported by this build",
                      imp_format_name(f));
        return KC_EINVAL;
    }
}

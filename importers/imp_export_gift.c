/* GIFT export: every item GIFT can carry, written so that importing the file gives the same
 * items back (uid as the ::title::, the first tag as $CATEGORY, the explanation as the
 * general feedback ####). What it cannot carry is one "UID: field: reason" line. */
#include "imp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct out {
    kc_buf *f;
    kc_arena *a;
    kc_diag *d;
    int left_out;
    int oom;
} out;

static void note(out *o, const bank_item *it, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void note(out *o, const bank_item *it, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (kc_diag_vadd(o->d, it->uid ? it->uid : "-", 0, field, fmt, ap)) o->oom = 1;
    va_end(ap);
    o->left_out = 1;
}

/* Text with GIFT's special characters escaped and line breaks as \n. */
static void put_esc(out *o, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '~': case '=': case '#': case '{': case '}': case ':': case '\\': {
            char esc[2] = {'\\', *s};
            kc_buf_add(o->f, esc, 2);
            break;
        }
        case '\n': kc_buf_str(o->f, "\\n"); break;
        case '\r': break;
        default: kc_buf_add(o->f, s, 1);
        }
    }
}

/* The text of a field as the item's GIFT format writes it. */
static const char *as_written(out *o, const char *html, int plain)
{
    if (!html || !plain) return html;
    char *t = bank_html_to_text(html, o->a);
    if (!t) o->oom = 1;
    return t;
}

static const char *fmt_num(char *buf, size_t len, double v)
{
    snprintf(buf, len, "%.15g", v);
    if (strtod(buf, NULL) != v) snprintf(buf, len, "%.17g", v);
    return buf;
}

/* Where the answer block goes in the stem: at its only "____" blank (missing word) when
 * text follows it, else at the end. Returns the offset of the blank or -1. */
static long blank_at(const char *stem)
{
    const char *p = strstr(stem, "____");
    if (!p || (p > stem && p[-1] == '_') || p[4] == '_' || strstr(p + 4, "____")) return -1;
    const char *rest = p + 4;
    if (imp__is_blank(rest, strlen(rest))) return -1;
    return (long)(p - stem);
}

/* The fields this format drops, as one line per item. */
static void note_metadata(out *o, const bank_item *it)
{
    char fields[256] = "";
#define ADD(cond, name) \
    if (cond) { if (*fields) strcat(fields, ", "); strcat(fields, name); }
    ADD(it->points_centi != 100, "分值");
    ADD(it->difficulty, "难度");
    ADD(it->point_code, "鉴定点代码");
    ADD(it->source, "出处");
    ADD(it->author, "命题人");
    ADD(it->occupation, "职业代码");
    ADD(it->level, "等级");
    ADD(it->pin_options, "选项固定");
    ADD(it->n_tags > 1, "标签 after the first");
    ADD(it->n_media, "图片");
#undef ADD
    if (*fields) note(o, it, fields, "GIFT cannot carry %s; left out",
                      strchr(fields, ',') ? "these" : "this");
}

static int get_blanks(out *o, const bank_item *it, const bank_blank **b, int *n)
{
    char why[128];
    if (!imp__item_blanks(it, o->a, b, n, why, sizeof why)) return 0;
    note(o, it, "答案", "the fill key cannot be read (%s); item left out", it->answer ? why : "empty");
    return -1;
}

static void item(out *o, const bank_item *it)
{
    const bank_blank *blanks = NULL;
    int n_blanks = 0;
    switch (it->type) {
    case BANK_SINGLE: case BANK_MULTI: case BANK_TF: case BANK_SHORT: case BANK_ESSAY: break;
    case BANK_FILL:
        if (get_blanks(o, it, &blanks, &n_blanks)) return;
        if (n_blanks != 1) {
            note(o, it, "题型", "GIFT cannot carry fill items with more than one blank; item left out");
            return;
        }
        if (blanks[0].mode == BANK_BLANK_REGEX) {
            note(o, it, "答案", "GIFT cannot carry a regular-expression blank; item left out");
            return;
        }
        if (blanks[0].mode == BANK_BLANK_EXACT) {
            note(o, it, "答案", "GIFT short answers ignore case; an exact-match blank cannot be "
                 "carried; item left out");
            return;
        }
        break;
    default:
        note(o, it, "题型", "GIFT cannot carry %s items", bank_type_name(it->type));
        return;
    }
    note_metadata(o, it);
    if (it->type == BANK_SHORT)
        note(o, it, "题型", "GIFT has no short-answer (简答) type; written as an essay");
    if ((it->type == BANK_SHORT || it->type == BANK_ESSAY) && it->answer && *it->answer)
        note(o, it, "参考答案", "GIFT cannot carry a reference answer; left out");
    if (it->type == BANK_MULTI && it->mc_policy != BANK_MC_RATIO)
        note(o, it, "多选计分", "GIFT weights give ratio credit; %s is left out",
             bank_mc_policy_name(it->mc_policy));

    int plain = bank_html_is_plain(it->stem ? it->stem : "") &&
                (!it->explanation || bank_html_is_plain(it->explanation));
    for (int i = 0; i < it->n_options; i++)
        if (!bank_html_is_plain(it->options[i])) plain = 0;
    const char *stem = as_written(o, it->stem ? it->stem : "", plain);
    const char *expl = as_written(o, it->explanation, plain);
    const char *opts[BANK_MAX_OPTIONS];
    int lt = stem && strchr(stem, '<');
    for (int i = 0; i < it->n_options; i++) {
        opts[i] = as_written(o, it->options[i], plain);
        if (opts[i] && strchr(opts[i], '<')) lt = 1;
    }
    if (expl && strchr(expl, '<')) lt = 1;
    if (o->oom || !stem) return;

    kc_buf_str(o->f, "::");
    put_esc(o, it->uid);
    kc_buf_str(o->f, "::");
    if (!plain) kc_buf_str(o->f, "[html]");
    else if (lt) kc_buf_str(o->f, "[plain]");
    else if (stem[0] == '[') kc_buf_str(o->f, "[moodle]");
    long at = blank_at(stem);
    char *pre = kc_arena_strndup(o->a, stem, at >= 0 ? (size_t)at : strlen(stem));
    if (!pre) { o->oom = 1; return; }
    put_esc(o, pre);
    kc_buf_str(o->f, "{");
    char num[64], tol[64];
    switch (it->type) {
    case BANK_SINGLE:
    case BANK_MULTI: {
        int keys = it->answer ? (int)strlen(it->answer) : 0;
        char w[32];
        snprintf(w, sizeof w, "%.5f", keys ? 100.0 / keys : 100.0);
        for (char *e = w + strlen(w) - 1; *e == '0'; e--) *e = 0;
        if (w[strlen(w) - 1] == '.') w[strlen(w) - 1] = 0;
        for (int i = 0; i < it->n_options; i++) {
            int right = it->answer && strchr(it->answer, 'A' + i);
            kc_buf_str(o->f, "\n\t");
            if (it->type == BANK_SINGLE) kc_buf_str(o->f, right ? "=" : "~");
            else kc_buf_printf(o->f, "~%%%s%%", right ? w : "-100");
            put_esc(o, opts[i]);
        }
        break;
    }
    case BANK_TF:
        kc_buf_str(o->f, it->answer && it->answer[0] == 'T' ? "TRUE" : "FALSE");
        break;
    case BANK_FILL:
        if (blanks[0].mode == BANK_BLANK_NUMERIC) {
            kc_buf_printf(o->f, "#%s", fmt_num(num, sizeof num, blanks[0].value));
            if (blanks[0].tolerance > 0)
                kc_buf_printf(o->f, ":%s", fmt_num(tol, sizeof tol, blanks[0].tolerance));
        } else {
            for (int i = 0; i < blanks[0].n_accept; i++) {
                kc_buf_str(o->f, i ? " =" : "=");
                put_esc(o, blanks[0].accept[i]);
            }
        }
        break;
    default:
        break;      /* essay: an empty block */
    }
    if (expl && *expl) {
        kc_buf_str(o->f, it->type == BANK_SINGLE || it->type == BANK_MULTI ? "\n\t####" : "####");
        put_esc(o, expl);
    }
    if (it->type == BANK_SINGLE || it->type == BANK_MULTI) kc_buf_str(o->f, "\n");
    kc_buf_str(o->f, "}");
    if (at >= 0) put_esc(o, stem + at + 4);
    kc_buf_str(o->f, "\n\n");
}

static int write_all(const bank_itemset *set, kc_buf *f, kc_diag *d)
{
    out o = {f, kc_arena_new(0), d, 0, 0};
    if (!o.a) return -1;
    kc_buf_str(f, "// Exported by Kaochang (GIFT). Questions are separated by blank lines.\n\n");
    /* items without a tag first: a $CATEGORY applies to everything after it */
    for (size_t i = 0; i < set->n && !o.oom; i++)
        if (!set->items[i].n_tags) item(&o, &set->items[i]);
    const char *cat = NULL;
    for (size_t i = 0; i < set->n && !o.oom; i++) {
        const bank_item *it = &set->items[i];
        if (!it->n_tags) continue;
        if (!cat || strcmp(cat, it->tags[0])) {
            cat = it->tags[0];
            kc_buf_str(f, "$CATEGORY: $course$/top/");
            put_esc(&o, cat);
            kc_buf_str(f, "\n\n");
        }
        item(&o, it);
    }
    kc_arena_free(o.a);
    if (o.oom || f->oom) return -1;
    return o.left_out;
}

int imp__export_gift(const bank_itemset *set, const char *path, kc_diag *d)
{
    kc_buf b;
    memset(&b, 0, sizeof b);
    int rc = write_all(set, &b, d);
    if (rc >= 0 && imp__buf_write_file(&b, path, d)) rc = -1;
    kc_buf_free(&b);
    return rc;
}

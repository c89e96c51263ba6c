/* Shared by the importers and exporters: lines, spaces and the path of one parsed item into
 * the set (the line-based formats), which template a sheet holds, the blanks of a fill item
 * and lists of field names for diag lines. */
#include "imp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int imp__lines_split(const char *buf, size_t len, imp_line **lines, size_t *n)
{
    size_t cap = 1024, k = 0;
    imp_line *v = malloc(cap * sizeof *v);
    if (!v) return -1;
    const char *p = buf, *end = buf + len;
    int no = 1;
    while (p < end) {
        const char *s = p;
        while (p < end && *p != '\n' && *p != '\r') p++;
        if (k == cap) {
            imp_line *bigger = realloc(v, cap * 2 * sizeof *v);
            if (!bigger) { free(v); return -1; }
            v = bigger;
            cap *= 2;
        }
        v[k].s = s;
        v[k].n = (size_t)(p - s);
        v[k].no = no++;
        k++;
        if (p < end && *p == '\r' && p + 1 < end && p[1] == '\n') p++;
        if (p < end) p++;
    }
    *lines = v;
    *n = k;
    return 0;
}

size_t imp__space_len(const char *s, const char *end)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = (size_t)(end - s);
    if (!n) return 0;
    if (*u == ' ' || (*u >= '\t' && *u <= '\r')) return 1;
    if (n >= 2 && u[0] == 0xC2 && u[1] == 0xA0) return 2;
    if (n >= 3 && u[0] == 0xE3 && u[1] == 0x80 && u[2] == 0x80) return 3;
    return 0;
}

void imp__trim(const char **s, const char **end)
{
    size_t k;
    while (*s < *end && (k = imp__space_len(*s, *end))) *s += k;
    const char *last = *s;
    for (const char *q = *s; q < *end;) {
        if ((k = imp__space_len(q, *end))) { q += k; continue; }
        q++;
        last = q;
    }
    *end = last;
}

int imp__is_blank(const char *s, size_t n)
{
    const char *e = s + n;
    imp__trim(&s, &e);
    return s == e;
}

int imp__item_add(bank_itemset *set, bank_item *it, enum bank_text_kind kind, kc_diag *d)
{
    size_t before = d->n;
    if (!it->version) it->version = 1;
    if (bank_item_prepare(it, kind, set->arena, NULL)) return -1;
    if (bank_item_validate(it, d) < 0) return -1;
    if (d->n != before) return 1;
    if (bank_item_finalize(it, set->arena)) return -1;
    bank_item *slot = bank_itemset_push(set);
    if (!slot) return -1;
    *slot = *it;
    return 0;
}

int imp__sheet_names(const imp_sheet *sh, const char *col1, const char *col2)
{
    if (!sh->n) return 0;
    const imp_row *r = &sh->rows[0];
    for (int i = 0; i < r->ncells; i++)
        if (strcmp(r->cells[i], col1) == 0 || strcmp(r->cells[i], col2) == 0) return 1;
    return 0;
}

int imp__item_blanks(const bank_item *it, kc_arena *a, const bank_blank **b, int *n, char *why,
                     size_t whylen)
{
    if (it->n_blanks > 0 && it->blanks) {
        *b = it->blanks;
        *n = it->n_blanks;
        return 0;
    }
    char own[160];
    if (!why) { why = own; whylen = sizeof own; }
    bank_blank *p;
    if (!it->answer || bank_fill_key_parse(it->answer, a, &p, n, why, whylen)) return -1;
    *b = p;
    return 0;
}

const char *imp__names_join(const char *const *names, int n, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < n && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? ", " : "", names[i]);
    return buf;
}

/* The media name of a src attribute value (escaped, up to '"'), unescaped into a. */
static char *src_name(const char *s, const char **end, kc_arena *a)
{
    const char *e = strchr(s, '"');
    if (!e) return NULL;
    char *n = kc_arena_strndup(a, s, (size_t)(e - s));
    if (!n) return NULL;
    char *w = n;
    for (const char *p = n; *p;) {
        if (!strncmp(p, "&amp;", 5)) { *w++ = '&'; p += 5; }
        else *w++ = *p++;
    }
    *w = 0;
    *end = e;
    return n;
}

static int has_media(const bank_item *it, const char *name)
{
    for (int i = 0; i < it->n_media; i++)
        if (it->media[i].name && !strcmp(it->media[i].name, name)) return 1;
    return 0;
}

/* html without the <img> tags whose media: file the item lacks, each reported. *out is html
 * itself when nothing is missing. 0, or -1 on OOM. */
static int drop_in_text(const bank_item *it, const char *field, const char *html, kc_arena *a,
                        kc_diag *d, const char **out)
{
    *out = html;
    if (!html || !strstr(html, "media:")) return 0;
    kc_buf b = {0};
    int dropped = 0;
    const char *p = html, *q;
    while ((q = strstr(p, "<img"))) {
        const char *gt = strchr(q, '>');
        if (!gt) break;
        const char *src = strstr(q, " src=\"media:"), *e = NULL;
        char *name = NULL;
        if (src && src < gt) {
            name = src_name(src + 12, &e, a);
            if (!name) { kc_buf_free(&b); return -1; }
        }
        kc_buf_add(&b, p, (size_t)(q - p));
        if (name && !has_media(it, name)) {
            char clip[80];
            if (kc_diag_add(d, it->uid && *it->uid ? it->uid : "(item without id)", 0, field,
                              "image %s has no file; left out", bank_text_clip(name, clip, sizeof clip))) {
                kc_buf_free(&b);
                return -1;
            }
            dropped = 1;
        } else {
            kc_buf_add(&b, q, (size_t)(gt + 1 - q));
        }
        p = gt + 1;
    }
    if (!dropped) { kc_buf_free(&b); return 0; }
    kc_buf_str(&b, p);
    char *r = b.oom ? NULL : kc_arena_strndup(a, b.p ? b.p : "", b.n);
    kc_buf_free(&b);
    if (!r) return -1;
    *out = r;
    return 0;
}

/* Nothing left to show: no text and no image. */
static int empty_html(const char *html, kc_arena *a)
{
    if (!html) return 1;
    if (strstr(html, "<img")) return 0;
    const char *t = bank_html_to_text(html, a);
    return t && imp__is_blank(t, strlen(t));
}

int imp__item_drop_missing_images(const bank_item *it, kc_arena *a, kc_diag *d,
                                  const bank_item **out)
{
    *out = it;
    bank_item *c = kc_arena_alloc(a, sizeof *c);
    if (!c) return -1;
    *c = *it;
    size_t before = d->n;
    int rc;
    char field[32];
    const char *gone = NULL;    /* a stem or option that was only the image */
    rc = drop_in_text(it, "题干", it->stem, a, d, &c->stem);
    if (!rc && c->stem != it->stem && empty_html(c->stem, a)) gone = "题干";
    for (int k = 0; !rc && k < it->n_options && k < BANK_MAX_OPTIONS; k++) {
        char f[32];
        snprintf(f, sizeof f, "选项%c", 'A' + k);
        rc = drop_in_text(it, f, it->options[k], a, d, &c->options[k]);
        if (!rc && !gone && c->options[k] != it->options[k] && empty_html(c->options[k], a)) {
            memcpy(field, f, sizeof field);
            gone = field;
        }
    }
    if (!rc && (it->type == BANK_SHORT || it->type == BANK_ESSAY))
        rc = drop_in_text(it, "答案", it->answer, a, d, &c->answer);
    if (!rc) rc = drop_in_text(it, "解析", it->explanation, a, d, &c->explanation);
    if (rc) return -1;
    if (gone) {
        if (kc_diag_add(d, it->uid && *it->uid ? it->uid : "(item without id)", 0, gone,
                          "is empty without its image; the item is left out"))
            return -1;
        return 1;
    }
    if (it->n_children > 0) {
        bank_item *ch = kc_arena_alloc(a, sizeof *ch * (size_t)it->n_children);
        if (!ch) return -1;
        int changed = 0;
        for (int i = 0; i < it->n_children; i++) {
            const bank_item *x;
            rc = imp__item_drop_missing_images(&it->children[i], a, d, &x);
            if (rc) return rc;
            ch[i] = *x;
            changed |= x != &it->children[i];
        }
        if (changed) c->children = ch;
    }
    if (d->n != before) *out = c;
    return 0;
}

/* Where the item's text first refers to NAME: fields in order, then the offset. */
static size_t first_use(const bank_item *it, const char *name, kc_arena *a)
{
    const char *f[BANK_MAX_OPTIONS + 3];
    int n = 0;
    f[n++] = it->stem;
    for (int k = 0; k < it->n_options && k < BANK_MAX_OPTIONS; k++) f[n++] = it->options[k];
    f[n++] = it->type == BANK_SHORT || it->type == BANK_ESSAY ? it->answer : NULL;
    f[n++] = it->explanation;
    char *ref = kc_arena_printf(a, "media:%s\"", name);
    for (int i = 0; ref && i < n; i++) {
        const char *q = f[i] ? strstr(f[i], ref) : NULL;
        if (q) return (size_t)i << 32 | (size_t)(q - f[i]);
    }
    return (size_t)-1;
}

int imp__media_by_use(bank_item *it, kc_arena *a)
{
    if (it->n_media < 2) return 0;
    size_t *key = kc_arena_alloc(a, sizeof *key * (size_t)it->n_media);
    if (!key) return -1;
    for (int i = 0; i < it->n_media; i++) key[i] = first_use(it, it->media[i].name, a);
    /* insertion sort: few files, and files used nowhere keep their order */
    for (int i = 1; i < it->n_media; i++) {
        bank_media m = it->media[i];
        size_t k = key[i];
        int j = i;
        for (; j > 0 && key[j - 1] > k; j--) {
            it->media[j] = it->media[j - 1];
            key[j] = key[j - 1];
        }
        it->media[j] = m;
        key[j] = k;
    }
    return 0;
}

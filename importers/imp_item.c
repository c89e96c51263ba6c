/* Shared by the line-based importers (GIFT, Aiken, Word-style text): lines, spaces and the
 * path of one parsed item into the set. */
#include "imp_int.h"

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

int imp__item_add(bank_itemset *set, bank_item *it, enum bank_text_kind kind, bank_diag *d)
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

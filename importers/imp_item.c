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

int imp__sheet_names(const imp_sheet *sh, const char *col1, const char *col2)
{
    if (!sh->n) return 0;
    const imp_row *r = &sh->rows[0];
    for (int i = 0; i < r->ncells; i++)
        if (strcmp(r->cells[i], col1) == 0 || strcmp(r->cells[i], col2) == 0) return 1;
    return 0;
}

int imp__item_blanks(const bank_item *it, bank_arena *a, const bank_blank **b, int *n, char *why,
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

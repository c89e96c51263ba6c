/* uint64 -> uint64 hash map: open addressing, linear probing, backward-shift deletion. */
#include "kc.h"

#include <stdlib.h>
#include <string.h>

static size_t slot_of(const kc_map *m, uint64_t k)
{
    /* Fibonacci hashing: ids are sequential, the multiply spreads them over the table. */
    return (size_t)((k * 0x9E3779B97F4A7C15ull) >> 17) & (m->cap - 1);
}

int kc_map_init(kc_map *m, size_t expected)
{
    memset(m, 0, sizeof *m);
    size_t cap = 16;
    while (cap < expected * 2) cap *= 2;
    m->keys = calloc(cap, sizeof *m->keys);
    m->vals = calloc(cap, sizeof *m->vals);
    if (!m->keys || !m->vals) { kc_map_free(m); return KC_ENOMEM; }
    m->cap = cap;
    return 0;
}

void kc_map_free(kc_map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static void place(kc_map *m, uint64_t k, uint64_t v)
{
    size_t i = slot_of(m, k);
    while (m->keys[i] && m->keys[i] != k) i = (i + 1) & (m->cap - 1);
    if (!m->keys[i]) m->n++;
    m->keys[i] = k;
    m->vals[i] = v;
}

static int grow(kc_map *m)
{
    kc_map bigger = {0};
    bigger.cap = m->cap ? m->cap * 2 : 16;
    bigger.keys = calloc(bigger.cap, sizeof *bigger.keys);
    bigger.vals = calloc(bigger.cap, sizeof *bigger.vals);
    if (!bigger.keys || !bigger.vals) { free(bigger.keys); free(bigger.vals); return KC_ENOMEM; }
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i]) place(&bigger, m->keys[i], m->vals[i]);
    free(m->keys);
    free(m->vals);
    *m = bigger;
    return 0;
}

int kc_map_put(kc_map *m, uint64_t k, uint64_t v)
{
    if (!k) return KC_EINVAL;
    if ((m->n + 1) * 2 > m->cap && grow(m)) return KC_ENOMEM;
    place(m, k, v);
    return 0;
}

int kc_map_get(const kc_map *m, uint64_t k, uint64_t *v)
{
    if (!k || !m->cap) return 0;
    for (size_t i = slot_of(m, k); m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (m->keys[i] == k) { if (v) *v = m->vals[i]; return 1; }
    return 0;
}

int kc_map_del(kc_map *m, uint64_t k)
{
    if (!k || !m->cap) return 0;
    size_t mask = m->cap - 1, i = slot_of(m, k);
    while (m->keys[i] && m->keys[i] != k) i = (i + 1) & mask;
    if (!m->keys[i]) return 0;
    m->keys[i] = 0;
    m->n--;
    /* Move later entries of the run back into the hole when their home slot is not in
     * (hole, j]: lookups then never need tombstones. */
    for (size_t j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
        size_t h = slot_of(m, m->keys[j]);
        int between = i <= j ? (h > i && h <= j) : (h > i || h <= j);
        if (!between) {
            m->keys[i] = m->keys[j];
            m->vals[i] = m->vals[j];
            m->keys[j] = 0;
            i = j;
        }
    }
    return 1;
}

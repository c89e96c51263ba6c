/* Timer wheel: per-second buckets holding doubly linked lists of entry numbers. */
#include "kc.h"

#include <stdlib.h>
#include <string.h>

/* prev of a bucket's first entry: the bucket's number with the top bit set, so removal
 * knows which head to update without a search. */
#define HEAD_BIT 0x80000000u

int kc_wheel_init(kc_wheel *w, uint32_t n, uint32_t span, int64_t now_s)
{
    memset(w, 0, sizeof *w);
    if (!span) span = 1;
    if (n >= HEAD_BIT) return KC_EINVAL;
    w->next = malloc((size_t)n * sizeof *w->next + 1);
    w->fnext = malloc((size_t)n * sizeof *w->fnext + 1);
    w->prev = malloc((size_t)n * sizeof *w->prev + 1);
    w->due = calloc((size_t)n + 1, sizeof *w->due);
    w->heads = malloc((size_t)span * sizeof *w->heads);
    if (!w->next || !w->prev || !w->fnext || !w->due || !w->heads) {
        kc_wheel_free(w);
        return KC_ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) w->next[i] = w->prev[i] = KC_WHEEL_NONE;
    for (uint32_t i = 0; i < span; i++) w->heads[i] = KC_WHEEL_NONE;
    w->n = n;
    w->span = span;
    w->at = now_s;
    return 0;
}

void kc_wheel_free(kc_wheel *w)
{
    free(w->next);
    free(w->prev);
    free(w->fnext);
    free(w->due);
    free(w->heads);
    memset(w, 0, sizeof *w);
}

static uint32_t bucket_of(const kc_wheel *w, int64_t s)
{
    int64_t b = s % (int64_t)w->span;
    return (uint32_t)(b < 0 ? b + w->span : b);
}


int kc_wheel_has(const kc_wheel *w, uint32_t e) { return e < w->n && w->prev[e] != KC_WHEEL_NONE; }

void kc_wheel_del(kc_wheel *w, uint32_t e)
{
    if (!kc_wheel_has(w, e)) return;
    uint32_t p = w->prev[e], nx = w->next[e];
    if (p & HEAD_BIT)
        w->heads[p & ~HEAD_BIT] = nx;
    else
        w->next[p] = nx;
    if (nx != KC_WHEEL_NONE) w->prev[nx] = p;
    w->next[e] = w->prev[e] = KC_WHEEL_NONE;
}

void kc_wheel_set(kc_wheel *w, uint32_t e, int64_t due_s)
{
    if (e >= w->n) return;
    kc_wheel_del(w, e);
    if (due_s < w->at) due_s = w->at;
    uint32_t b = bucket_of(w, due_s);
    w->due[e] = due_s;
    w->next[e] = w->heads[b];
    w->prev[e] = b | HEAD_BIT;
    if (w->heads[b] != KC_WHEEL_NONE) w->prev[w->heads[b]] = e;
    w->heads[b] = e;
}

size_t kc_wheel_advance(kc_wheel *w, int64_t now_s, void (*fn)(void *arg, uint32_t e), void *arg)
{
    if (now_s < w->at) return 0;
    /* A gap longer than a lap visits every bucket once. */
    int64_t from = w->at, to = now_s;
    if (to - from >= (int64_t)w->span) from = to - w->span + 1;
    uint32_t fire = KC_WHEEL_NONE, last = KC_WHEEL_NONE;
    for (int64_t s = from; s <= to; s++) {
        uint32_t b = bucket_of(w, s);
        for (uint32_t e = w->heads[b], nx; e != KC_WHEEL_NONE; e = nx) {
            nx = w->next[e];
            if (w->due[e] > now_s) continue;     /* a later lap */
            kc_wheel_del(w, e);
            /* Collected apart first: fn may put entries back into this very bucket. */
            w->fnext[e] = KC_WHEEL_NONE;
            if (last == KC_WHEEL_NONE) fire = e; else w->fnext[last] = e;
            last = e;
        }
    }
    w->at = now_s + 1;
    size_t count = 0;
    for (uint32_t e = fire, nx; e != KC_WHEEL_NONE; e = nx) {
        nx = w->fnext[e];
        if (kc_wheel_has(w, e)) continue;       /* an earlier fn set it again: not due now */
        count++;
        fn(arg, e);
    }
    return count;
}

/* Growable text buffers: one implementation for every writer (HTML, CSV, reports). */
#include "kc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kc_buf_reserve(kc_buf *b, size_t n)
{
    if (b->oom || b->n + n + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) { b->oom = 1; return; }
    if (!b->p) p[0] = 0;
    b->p = p;
    b->cap = cap;
}

void kc_buf_add(kc_buf *b, const char *s, size_t n)
{
    if (b->oom || (!n && b->p)) return;
    kc_buf_reserve(b, n);
    if (b->oom) return;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

void kc_buf_str(kc_buf *b, const char *s) { kc_buf_add(b, s, strlen(s)); }

void kc_buf_printf(kc_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) { b->oom = 1; return; }
    if ((size_t)n < sizeof small) { kc_buf_add(b, small, (size_t)n); return; }
    char *big = malloc((size_t)n + 1);
    if (!big) { b->oom = 1; return; }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    kc_buf_add(b, big, (size_t)n);
    free(big);
}

char *kc_buf_take(kc_buf *b)
{
    char *r = b->oom ? NULL : b->p;
    if (b->oom) free(b->p);
    memset(b, 0, sizeof *b);
    return r;
}

char *kc_buf_to_arena(kc_buf *b, kc_arena *a)
{
    char *r = b->oom ? NULL : kc_arena_strndup(a, b->p ? b->p : "", b->n);
    kc_buf_free(b);
    return r;
}

void kc_buf_free(kc_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

int kc_grow(void **v, size_t *cap, size_t need, size_t each)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need) {
        if (c > SIZE_MAX / 2 / each) return KC_ENOMEM;
        c *= 2;
    }
    void *n = realloc(*v, c * each);
    if (!n) return KC_ENOMEM;
    *v = n;
    *cap = c;
    return 0;
}

void kc_display_name(const char *given, const char *dflt, char *out, size_t cap)
{
    const char *b = strrchr(given, '/');
    b = b ? b + 1 : given;
    const char *bs = strrchr(b, '\\');
    b = bs ? bs + 1 : b;
    size_t n = 0;
    for (; *b && n + 1 < cap; b++)
        if ((unsigned char)*b >= 0x20 && *b != ':' && *b != 0x7f) out[n++] = *b;
    out[n] = 0;
    if (!n) snprintf(out, cap, "%s", dflt);
}

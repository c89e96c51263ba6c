/* Arenas (one free for a whole request or import) and diagnostic lines. */
#include "kc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 16
#define ARENA_DEFAULT (64 * 1024)

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t size, used;
    /* data follows the header, which malloc aligns to 16 on the platforms we build for;
     * allocations align their own offsets anyway. */
    unsigned char *data;
} arena_chunk;

struct kc_arena {
    arena_chunk *head;
    size_t chunk_size;
    size_t used;
};

static arena_chunk *chunk_new(size_t size)
{
    /* calloc: memory is never reused inside an arena, so zeroed once means zeroed forever. */
    arena_chunk *c = calloc(1, sizeof *c + size + ARENA_ALIGN);
    if (!c) return NULL;
    c->size = size;
    uintptr_t p = (uintptr_t)(c + 1);
    c->data = (unsigned char *)((p + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1));
    return c;
}

kc_arena *kc_arena_new(size_t chunk_size)
{
    kc_arena *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->chunk_size = chunk_size ? chunk_size : ARENA_DEFAULT;
    if (a->chunk_size < 256) a->chunk_size = 256;
    return a;
}

void *kc_arena_alloc(kc_arena *a, size_t n)
{
    if (!a) return NULL;
    if (n == 0) n = 1;
    if (n > SIZE_MAX / 2) return NULL;
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    arena_chunk *c = a->head;
    if (c && c->size - c->used >= need) {
        void *p = c->data + c->used;
        c->used += need;
        a->used += need;
        return p;
    }
    if (need > a->chunk_size / 4) {
        /* A big block gets its own chunk behind the current one, so the free space left
         * in the current chunk is not abandoned. */
        arena_chunk *big = chunk_new(need);
        if (!big) return NULL;
        big->used = need;
        if (c) {
            big->next = c->next;
            c->next = big;
        } else {
            a->head = big;
        }
        a->used += need;
        return big->data;
    }
    arena_chunk *fresh = chunk_new(a->chunk_size);
    if (!fresh) return NULL;
    fresh->next = c;
    a->head = fresh;
    fresh->used = need;
    a->used += need;
    return fresh->data;
}

char *kc_arena_strndup(kc_arena *a, const char *s, size_t n)
{
    if (!s) return NULL;
    size_t len = strnlen(s, n);
    char *d = kc_arena_alloc(a, len + 1);
    if (!d) return NULL;
    memcpy(d, s, len);
    return d;
}

char *kc_arena_strdup(kc_arena *a, const char *s)
{
    return s ? kc_arena_strndup(a, s, strlen(s)) : NULL;
}

char *kc_arena_vprintf(kc_arena *a, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) return NULL;
    char *s = kc_arena_alloc(a, (size_t)n + 1);
    if (!s) return NULL;
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

char *kc_arena_printf(kc_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = kc_arena_vprintf(a, fmt, ap);
    va_end(ap);
    return s;
}

size_t kc_arena_used(const kc_arena *a)
{
    return a ? a->used : 0;
}

void kc_arena_free(kc_arena *a)
{
    if (!a) return;
    arena_chunk *c = a->head;
    while (c) {
        arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    free(a);
}

/* ---- diagnostics ---- */

void kc_diag_init(kc_diag *d, kc_arena *a)
{
    memset(d, 0, sizeof *d);
    d->arena = a;
}

/* "FILE:LINE: field: reason"; a file-level problem with no line (line <= 0) drops ":LINE",
 * and no field drops "field: ". */
/* Room for one more line: 0 or KC_ENOMEM. */
static int diag_room(kc_diag *d)
{
    if (!d || !d->arena) return KC_ENOMEM;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        char **lines = kc_arena_alloc(d->arena, cap * sizeof *lines);
        if (!lines) return KC_ENOMEM;
        if (d->n) memcpy(lines, d->lines, d->n * sizeof *lines);
        d->lines = lines;
        d->cap = cap;
    }
    return 0;
}

int kc_diag_append_line(kc_diag *d, char *line)
{
    if (!line || diag_room(d)) return KC_ENOMEM;
    d->lines[d->n++] = line;
    return 0;
}

int kc_diag_vadd(kc_diag *d, const char *file, int line, const char *field,
                   const char *fmt, va_list ap)
{
    if (diag_room(d)) return KC_ENOMEM;
    char *reason = kc_arena_vprintf(d->arena, fmt, ap);
    if (!reason) return KC_ENOMEM;
    char where[32] = "";
    /* a spreadsheet prefix "book.xlsx:题库!" takes the row without a colon */
    size_t flen = file ? strlen(file) : 0;
    if (line > 0)
        snprintf(where, sizeof where, flen && file[flen - 1] == '!' ? "%d" : ":%d", line);
    int has_field = field && *field;
    char *s = kc_arena_printf(d->arena, "%s%s: %s%s%s", file ? file : "-", where,
                                has_field ? field : "", has_field ? ": " : "", reason);
    if (!s) return KC_ENOMEM;
    d->lines[d->n++] = s;
    return 0;
}

int kc_diag_add(kc_diag *d, const char *file, int line, const char *field,
                  const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = kc_diag_vadd(d, file, line, field, fmt, ap);
    va_end(ap);
    return rc;
}

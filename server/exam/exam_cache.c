/* Rendered papers as the exam workers share them: a bounded LRU cache by attempt, so a
 * second start (a reload, a reconnect) of the same attempt reads nothing of the paper from
 * the database. Entries are immutable and reference-counted: the cache may drop one while a
 * worker still splices its JSON into a reply. */
#include "exam.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct exam_cache {
    pthread_mutex_t mu;
    kc_map by_attempt;              /* attempt id -> (uintptr_t) exam_rendered * */
    exam_rendered *head, *tail;     /* most recently used first */
    size_t bytes, cap, entries;
    uint64_t hits, misses, evictions, too_big;
};

/* What an entry costs: its texts, the check arrays and the bookkeeping. */
static size_t entry_bytes(const exam_rendered *r)
{
    size_t n = sizeof *r + 64 + r->json_len;
    if (r->check) n += sizeof *r->check + (size_t)r->check->n * (sizeof(uint64_t) + 3);
    return n;
}

exam_rendered *exam_rendered_new(uint64_t attempt_id, const char *hash, char *json,
                                 size_t json_len, srv_paper *check)
{
    exam_rendered *r = calloc(1, sizeof *r);
    if (!r) {
        free(json);
        srv_paper_free(check);
        return NULL;
    }
    r->attempt_id = attempt_id;
    snprintf(r->hash, sizeof r->hash, "%s", hash);
    r->json = json;
    r->json_len = json ? json_len : 0;
    r->check = check;
    r->bytes = entry_bytes(r);
    atomic_init(&r->refs, 1);
    return r;
}

exam_rendered *exam_rendered_ref(exam_rendered *r)
{
    atomic_fetch_add(&r->refs, 1);
    return r;
}

void exam_rendered_release(exam_rendered *r)
{
    if (!r || atomic_fetch_sub(&r->refs, 1) != 1) return;
    free(r->json);
    srv_paper_free(r->check);
    free(r);
}

exam_cache *exam_cache_new(size_t cap_bytes)
{
    exam_cache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    if (kc_map_init(&c->by_attempt, 1024)) { free(c); return NULL; }
    pthread_mutex_init(&c->mu, NULL);
    c->cap = cap_bytes;
    return c;
}

/* Under the mutex. */
static void unlink_entry(exam_cache *c, exam_rendered *r)
{
    if (r->prev) r->prev->next = r->next; else c->head = r->next;
    if (r->next) r->next->prev = r->prev; else c->tail = r->prev;
    r->prev = r->next = NULL;
}

static void push_front(exam_cache *c, exam_rendered *r)
{
    r->prev = NULL;
    r->next = c->head;
    if (c->head) c->head->prev = r;
    c->head = r;
    if (!c->tail) c->tail = r;
}

/* Takes r out of the cache; the cache's reference goes to the caller. */
static exam_rendered *remove_entry(exam_cache *c, exam_rendered *r)
{
    unlink_entry(c, r);
    kc_map_del(&c->by_attempt, r->attempt_id);
    c->bytes -= r->bytes;
    c->entries--;
    return r;
}

static exam_rendered *lookup(exam_cache *c, uint64_t attempt_id)
{
    uint64_t v;
    return attempt_id && kc_map_get(&c->by_attempt, attempt_id, &v) ? (exam_rendered *)(uintptr_t)v : NULL;
}

void exam_cache_free(exam_cache *c)
{
    if (!c) return;
    for (exam_rendered *r = c->head, *n; r; r = n) {
        n = r->next;
        exam_rendered_release(r);
    }
    kc_map_free(&c->by_attempt);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

exam_rendered *exam_cache_get(exam_cache *c, uint64_t attempt_id)
{
    if (!c) return NULL;
    pthread_mutex_lock(&c->mu);
    exam_rendered *r = lookup(c, attempt_id);
    if (r) {
        unlink_entry(c, r);
        push_front(c, r);
        exam_rendered_ref(r);
        c->hits++;
    } else {
        c->misses++;
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}

int exam_cache_put(exam_cache *c, exam_rendered *r)
{
    if (!c || !r || !r->attempt_id) return 0;
    exam_rendered *gone = NULL;      /* taken out: chained by next, released after the lock */
    int cached = 0;
    pthread_mutex_lock(&c->mu);
    exam_rendered *old = lookup(c, r->attempt_id);
    if (r->bytes > c->cap) {
        c->too_big++;
    } else if (old == r) {                    /* already there: only its use is new */
        unlink_entry(c, r);
        push_front(c, r);
        cached = 1;
    } else if (kc_map_put(&c->by_attempt, r->attempt_id, (uint64_t)(uintptr_t)r) == 0) {
        if (old) {                            /* the map entry is r's now */
            unlink_entry(c, old);
            c->bytes -= old->bytes;
            c->entries--;
            old->next = gone;
            gone = old;
        }
        exam_rendered_ref(r);
        push_front(c, r);
        c->bytes += r->bytes;
        c->entries++;
        cached = 1;
        /* The least recently used make room; r itself fits, so it stays. */
        while (c->bytes > c->cap && c->tail && c->tail != r) {
            exam_rendered *victim = remove_entry(c, c->tail);
            c->evictions++;
            victim->next = gone;
            gone = victim;
        }
    }
    pthread_mutex_unlock(&c->mu);
    /* Freed outside the lock: the last reference may be a large text. */
    for (exam_rendered *n; gone; gone = n) {
        n = gone->next;
        exam_rendered_release(gone);
    }
    return cached;
}

void exam_cache_drop(exam_cache *c, uint64_t attempt_id)
{
    if (!c) return;
    pthread_mutex_lock(&c->mu);
    exam_rendered *r = lookup(c, attempt_id);
    if (r) remove_entry(c, r);
    pthread_mutex_unlock(&c->mu);
    exam_rendered_release(r);
}

void exam_cache_stats_get(exam_cache *c, exam_cache_stats *s)
{
    memset(s, 0, sizeof *s);
    if (!c) return;
    pthread_mutex_lock(&c->mu);
    *s = (exam_cache_stats){c->entries, c->bytes, c->cap, c->hits, c->misses, c->evictions, c->too_big};
    pthread_mutex_unlock(&c->mu);
}

/* ---- the process's cache ---- */

static exam_cache *paper_cache;

int exam_paper_cache_set(size_t cap_bytes)
{
    exam_cache_free(paper_cache);
    paper_cache = NULL;
    if (!cap_bytes) return 0;
    paper_cache = exam_cache_new(cap_bytes);
    return paper_cache ? 0 : KC_ENOMEM;
}

exam_cache *exam_paper_cache(void) { return paper_cache; }

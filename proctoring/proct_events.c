/* The in-memory event buffer and its batched write. */
#include "proct.h"

#include <stdlib.h>
#include <string.h>
#include <stdio.h>

static proct_batch *batch_new(size_t cap)
{
    proct_batch *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->ev = calloc(cap, sizeof *b->ev);
    if (!b->ev) { free(b); return NULL; }
    b->cap = cap;
    return b;
}

void proct_batch_free(proct_batch *b)
{
    if (!b) return;
    free(b->ev);
    free(b);
}

int proct_buffer_init(proct_buffer *b, size_t limit)
{
    memset(b, 0, sizeof *b);
    b->limit = limit ? limit : 100000;
    return 0;
}

void proct_buffer_free(proct_buffer *b)
{
    proct_batch_free(b->cur);
    b->cur = NULL;
}

int proct_buffer_add(proct_buffer *b, uint64_t attempt_id, int64_t at_ms, const char *kind,
                     const char *detail)
{
    if (!b->cur && !(b->cur = batch_new(256)))
        return KC_ENOMEM;
    proct_batch *c = b->cur;
    if (c->n == b->limit) {       /* O(1): this runs on the service thread */
        b->dropped++;
        return 0;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap * 2 > b->limit ? b->limit : c->cap * 2;
        proct_event *ev = realloc(c->ev, cap * sizeof *ev);
        if (!ev) return KC_ENOMEM;
        c->ev = ev;
        c->cap = cap;
    }
    proct_event *e = &c->ev[c->n++];
    memset(e, 0, sizeof *e);
    e->attempt_id = attempt_id;
    e->at_ms = at_ms;
    snprintf(e->kind, sizeof e->kind, "%s", kind);
    snprintf(e->detail, sizeof e->detail, "%s", detail ? detail : "");
    return 0;
}

proct_batch *proct_buffer_take(proct_buffer *b)
{
    proct_batch *c = b->cur;
    if (!c || !c->n) return NULL;
    b->cur = NULL;
    return c;
}

/* Rows per INSERT: a batch of 2 s of a full hall is a few statements. */
#define ROWS_PER_STMT 200

int proct_store_batch(kc_db *db, const proct_batch *batch)
{
    if (!batch->n) return 0;
    kc_param *p = calloc(batch->n * 4, sizeof *p);
    if (!p) {
        snprintf(db->err, sizeof db->err, "attempt_event: out of memory");
        return KC_ENOMEM;
    }
    for (size_t i = 0; i < batch->n; i++) {
        const proct_event *e = &batch->ev[i];
        p[4 * i] = (kc_param){'u', (int64_t)e->attempt_id, NULL, 0};
        p[4 * i + 1] = (kc_param){'s', 0, e->kind, 0};
        p[4 * i + 2] = (kc_param){'s', 0, e->detail, 0};
        p[4 * i + 3] = (kc_param){'t', e->at_ms, NULL, 0};
    }
    int rc = kc_db_begin(db);
    if (!rc) rc = kc_db_rows(db, "INSERT INTO attempt_event (attempt_id, kind, detail, at) VALUES",
                             "(?, ?, ?, ?)", "", p, batch->n, ROWS_PER_STMT);
    if (!rc) rc = kc_db_commit(db);
    if (rc) kc_db_rollback(db);
    free(p);
    return rc;
}

/* The in-memory event buffer and its batched write. */
#include "proct.h"

#include <errmsg.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>

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
        return -1;
    proct_batch *c = b->cur;
    if (c->n == b->limit) {       /* O(1): this runs on the service thread */
        b->dropped++;
        return 0;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap * 2 > b->limit ? b->limit : c->cap * 2;
        proct_event *ev = realloc(c->ev, cap * sizeof *ev);
        if (!ev) return -1;
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

static void to_time(int64_t ms, MYSQL_TIME *t)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    memset(t, 0, sizeof *t);
    t->year = (unsigned)tm.tm_year + 1900;
    t->month = (unsigned)tm.tm_mon + 1;
    t->day = (unsigned)tm.tm_mday;
    t->hour = (unsigned)tm.tm_hour;
    t->minute = (unsigned)tm.tm_min;
    t->second = (unsigned)tm.tm_sec;
    t->second_part = (unsigned long)(ms % 1000) * 1000;
    t->time_type = MYSQL_TIMESTAMP_DATETIME;
}

static int is_lost(unsigned e)
{
    return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST || e == CR_CONNECTION_ERROR;
}

int proct_store_batch(MYSQL *db, const proct_batch *batch, int *lost, char *err, size_t errlen)
{
    static const char sql[] =
        "INSERT INTO attempt_event (attempt_id, kind, detail, at) VALUES (?, ?, ?, ?)";
    *lost = 0;
    if (mysql_query(db, "START TRANSACTION")) {
        *lost = is_lost(mysql_errno(db));
        snprintf(err, errlen, "attempt_event: %s", mysql_error(db));
        return -1;
    }
    /* Prepared per batch: batches come every few seconds, so caching buys nothing. */
    MYSQL_STMT *st = mysql_stmt_init(db);
    int rc = 0;
    if (!st || mysql_stmt_prepare(st, sql, sizeof sql - 1)) {
        rc = -1;
        goto out;
    }
    for (size_t i = 0; i < batch->n && !rc; i++) {
        const proct_event *e = &batch->ev[i];
        MYSQL_BIND b[4];
        MYSQL_TIME t;
        unsigned long kl = strlen(e->kind), dl = strlen(e->detail);
        uint64_t aid = e->attempt_id;
        memset(b, 0, sizeof b);
        b[0].buffer_type = MYSQL_TYPE_LONGLONG; b[0].buffer = &aid; b[0].is_unsigned = 1;
        b[1].buffer_type = MYSQL_TYPE_STRING; b[1].buffer = (void *)e->kind; b[1].length = &kl;
        b[2].buffer_type = MYSQL_TYPE_STRING; b[2].buffer = (void *)e->detail; b[2].length = &dl;
        to_time(e->at_ms, &t);
        b[3].buffer_type = MYSQL_TYPE_DATETIME; b[3].buffer = &t;
        if (mysql_stmt_bind_param(st, b) || mysql_stmt_execute(st))
            rc = -1;
    }
out:
    if (rc) {
        unsigned e = st ? mysql_stmt_errno(st) : mysql_errno(db);
        *lost = is_lost(e);
        snprintf(err, errlen, "attempt_event: %s", st ? mysql_stmt_error(st) : mysql_error(db));
        mysql_rollback(db);
    } else if (mysql_query(db, "COMMIT")) {
        *lost = is_lost(mysql_errno(db));
        snprintf(err, errlen, "attempt_event commit: %s", mysql_error(db));
        rc = -1;
    }
    if (st) mysql_stmt_close(st);
    return rc;
}

/* The candidate's attempt as the connection holds it, on the service thread: no database,
 * no blocking. What a finished job changes in it, time and heartbeats answered from it, and
 * the checks an answer passes before it costs a worker anything. */
#include "exam.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* ---- on the service thread: the connection's attempt, no database ---- */

#define EVENTS_PER_MINUTE 120      /* client events accepted per connection */

void exam_live_clear(srv_live *l)
{
    srv_paper_free(l->paper);
    memset(l, 0, sizeof *l);
}

static int count_answered(const srv_paper *p)
{
    int n = 0;
    for (int i = 0; p && i < p->n; i++) n += p->seq[i] > 0;
    return n;
}

void exam_live_apply(srv_live *l, srv_job *j)
{
    if (j->kind != SRV_JOB_MSG || j->attempt_id != l->attempt_id) return;
    if (j->cmd->flags & SRV_CMD_LOGIN) {
        if (!j->ok) return;
        l->status = j->status;
        l->deadline_ms = j->deadline_ms;
        return;
    }
    if (j->cmd->pool == SRV_POOL_ANSWERS) {
        /* Committed (applied or superseded): what the database holds for the item. */
        int idx = j->held_seq > 0 && l->paper ? srv_paper_find(l->paper, (uint64_t)j->m.item) : -1;
        if (idx >= 0 && j->held_seq > l->paper->seq[idx]) {
            l->answered += l->paper->seq[idx] == 0;
            l->paper->seq[idx] = j->held_seq;
        }
        return;
    }
    if (j->status) l->status = j->status;         /* as the worker found it in the database */
    if (!j->ok) return;
    if (j->deadline_ms) l->deadline_ms = j->deadline_ms;   /* start */
    if (j->paper) {
        srv_paper_free(l->paper);
        l->paper = j->paper;
        j->paper = NULL;
        l->answered = count_answered(l->paper);
    }
}

/* ---- the live table ---- */

int exam_lives_init(exam_lives *t, uint32_t cap, int64_t keep_ms, int64_t now_ms)
{
    memset(t, 0, sizeof *t);
    t->v = calloc(cap ? cap : 1, sizeof *t->v);
    t->free_list = malloc((size_t)(cap ? cap : 1) * sizeof *t->free_list);
    if (!t->v || !t->free_list || kc_map_init(&t->by_attempt, cap) ||
        kc_wheel_init(&t->deadlines, cap, 256, now_ms / 1000)) {
        exam_lives_free(t);
        return KC_ENOMEM;
    }
    t->cap = cap;
    t->keep_ms = keep_ms;
    return 0;
}

void exam_lives_free(exam_lives *t)
{
    for (uint32_t i = 0; t->v && i < t->used; i++) exam_live_clear(&t->v[i]);
    free(t->v);
    free(t->free_list);
    kc_map_free(&t->by_attempt);
    kc_wheel_free(&t->deadlines);
    memset(t, 0, sizeof *t);
}

srv_live *exam_lives_find(exam_lives *t, uint64_t attempt_id, uint32_t *idx)
{
    uint64_t v;
    if (!attempt_id || !kc_map_get(&t->by_attempt, attempt_id, &v)) return NULL;
    if (idx) *idx = (uint32_t)(v - 1);
    return &t->v[v - 1];
}

static void drop_entry(exam_lives *t, uint32_t idx)
{
    srv_live *l = &t->v[idx];
    kc_map_del(&t->by_attempt, l->attempt_id);
    kc_wheel_del(&t->deadlines, idx);
    exam_live_clear(l);
    t->free_list[t->nfree++] = idx;
    t->count--;
}

int exam_lives_get(exam_lives *t, uint64_t attempt_id, int64_t now_ms, uint32_t *idx)
{
    if (exam_lives_find(t, attempt_id, idx)) return 0;
    if (!t->nfree && t->used == t->cap) {
        /* Full: the entry nobody has held for longest makes room. */
        uint32_t oldest = UINT32_MAX;
        for (uint32_t i = 0; i < t->used; i++) {
            const srv_live *l = &t->v[i];
            if (l->attempt_id && !l->conn && (oldest == UINT32_MAX || l->released_ms < t->v[oldest].released_ms))
                oldest = i;
        }
        if (oldest == UINT32_MAX) return KC_EBUSY;
        drop_entry(t, oldest);
    }
    uint32_t i = t->nfree ? t->free_list[--t->nfree] : t->used++;
    if (kc_map_put(&t->by_attempt, attempt_id, (uint64_t)i + 1)) {
        t->free_list[t->nfree++] = i;
        return KC_ENOMEM;
    }
    memset(&t->v[i], 0, sizeof t->v[i]);
    t->v[i].attempt_id = attempt_id;
    t->v[i].released_ms = now_ms;
    t->count++;
    *idx = i;
    return 0;
}

void exam_lives_touch(exam_lives *t, uint32_t idx)
{
    const srv_live *l = &t->v[idx];
    if (l->status == SRV_ST_IN_PROGRESS && l->deadline_ms > 0 && !l->expiring)
        kc_wheel_set(&t->deadlines, idx, l->deadline_ms / 1000 + 1);
    else
        kc_wheel_del(&t->deadlines, idx);
}

void exam_lives_release(exam_lives *t, uint32_t idx, int64_t now_ms)
{
    t->v[idx].conn = 0;
    t->v[idx].released_ms = now_ms;
}

struct tick_arg { exam_lives *t; int64_t now; void (*due)(void *, uint32_t); void *arg; };

static void on_deadline(void *arg, uint32_t idx)
{
    struct tick_arg *a = arg;
    srv_live *l = &a->t->v[idx];
    if (l->status != SRV_ST_IN_PROGRESS || l->expiring) return;
    if (a->now < l->deadline_ms) {           /* moved later meanwhile */
        exam_lives_touch(a->t, idx);
        return;
    }
    a->due(a->arg, idx);
}

void exam_lives_tick(exam_lives *t, int64_t now_ms, void (*due)(void *arg, uint32_t idx), void *arg)
{
    struct tick_arg a = {t, now_ms, due, arg};
    kc_wheel_advance(&t->deadlines, now_ms / 1000, on_deadline, &a);
    /* A tenth of the table per call: entries nobody held for keep_ms go. */
    uint32_t step = t->used / 10 + 1;
    for (uint32_t k = 0; k < step && t->used; k++) {
        uint32_t i = t->cursor++ % t->used;
        const srv_live *l = &t->v[i];
        if (l->attempt_id && !l->conn && now_ms - l->released_ms > t->keep_ms) drop_entry(t, i);
    }
}

static char *time_reply(const srv_live *l, int64_t id, int64_t now)
{
    json_t *o = json_pack("{s:s, s:I, s:o}", "type", "time", "server_time", (json_int_t)now,
                          "deadline", l->deadline_ms ? json_integer(l->deadline_ms) : json_null());
    if (o && id >= 0) json_object_set_new(o, "id", json_integer(id));
    if (!o) return NULL;
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

char *exam_time(srv_live *l, const srv_msg *m, int64_t now, struct proct_buffer *ev)
{
    (void)ev;
    return time_reply(l, m->id, now);
}

/* Client events go to the proctoring buffer (written in batches), at most
 * EVENTS_PER_MINUTE per connection so a client cannot flood the record. */
char *exam_heartbeat(srv_live *l, const srv_msg *m, int64_t now, struct proct_buffer *ev)
{
    l->heartbeat_ms = now;
    if (m->client_time > 0) l->clock_offset_ms = now - m->client_time;
    if (now / 60000 != l->events_window) {
        l->events_window = now / 60000;
        l->events_in_window = 0;
    }
    for (int i = 0; i < m->n_events && l->events_in_window++ < EVENTS_PER_MINUTE; i++) {
        char detail[64];
        snprintf(detail, sizeof detail, "client_at=%lld", (long long)m->events[i].at_ms);
        proct_buffer_add(ev, l->attempt_id, now, m->events[i].kind, detail);
    }
    return time_reply(l, m->id, now);
}

int exam_admit_fetch(const srv_live *l, srv_msg *m, int64_t now, srv_msg_error *e)
{
    if (l->status != SRV_ST_NOT_STARTED)
        return srv_msg_fail(e, "started", NULL, "the attempt has started; its paper comes with start");
    return 0;
}

int exam_admit_answer(const srv_live *l, srv_msg *m, int64_t now, srv_msg_error *e)
{
    if (l->status == SRV_ST_SUBMITTED)
        return srv_msg_fail(e, "submitted", NULL, "the attempt is submitted; the answer was not saved");
    if (l->status != SRV_ST_IN_PROGRESS || !l->paper)
        return srv_msg_fail(e, "not_started", NULL, "start the attempt first");
    if (now >= l->deadline_ms)
        return srv_msg_fail(e, "time_over", NULL, "the deadline has passed; the answer was not saved");
    int idx = srv_paper_find(l->paper, (uint64_t)m->item);
    if (idx < 0) return srv_msg_fail(e, "bad_field", "item", "item: not an item of this paper");
    char norm[BANK_RESPONSE_MAX + 1];
    bank_rinfo ri = {(enum bank_item_type)l->paper->types[idx], l->paper->n_options[idx],
                     l->paper->n_blanks[idx]};
    if (bank_response_normalize(&ri, m->response, norm, sizeof norm))
        return srv_msg_fail(e, "bad_field", "response", "response: not a valid answer for this item");
    size_t n = strlen(norm);
    if (n > strlen(m->response)) {
        char *p = realloc(m->response, n + 1);
        if (!p) return srv_msg_fail(e, "internal", NULL, "out of memory");
        m->response = p;
    }
    memcpy(m->response, norm, n + 1);
    return 0;
}


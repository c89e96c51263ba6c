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

void exam_live_apply(srv_live *l, srv_job *j)
{
    if (j->kind != SRV_JOB_MSG) return;
    if ((j->cmd->flags & SRV_CMD_LOGIN) && j->ok) {
        if (l->attempt_id != j->attempt_id) {
            srv_paper_free(l->paper);
            l->paper = NULL;
        }
        l->attempt_id = j->attempt_id;
        l->status = j->status;
        l->deadline_ms = j->deadline_ms;
        return;
    }
    /* A job queued before the connection logged in as someone else changes nothing. */
    if (j->attempt_id != l->attempt_id) return;
    if (j->status) l->status = j->status;         /* as the worker found it in the database */
    if (!j->ok) return;
    if (j->deadline_ms) l->deadline_ms = j->deadline_ms;   /* start */
    if (j->paper) {
        srv_paper_free(l->paper);
        l->paper = j->paper;
        j->paper = NULL;
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
    memcpy(m->response, norm, strlen(norm) + 1);
    return 0;
}


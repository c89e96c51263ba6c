/* `kaochang serve`: one libwebsockets context on a libev loop (the service thread) and the
 * worker pools by class (net_pool.c); HTTP requests are in net_http.c.
 *
 * The service thread never blocks: it parses and checks messages against the command table
 * (net_cmd.c), answers what it can from memory (time, heartbeats) and queues everything
 * that needs the database on the pool the message's row names. Workers
 * hand finished jobs back through a result queue and lws_cancel_service(); the service
 * thread drains it in LWS_CALLBACK_EVENT_WAIT_CANCELLED. Jobs name their connection by
 * (slot, generation), never by struct lws *, so a result for a connection that closed in
 * the meantime is recognised and dropped. */
#include "net_int.h"
#include "../exam/exam.h"
#include "../staff/staff.h"
#include "../media/media.h"

#include <errno.h>
#include <ev.h>
#include <jansson.h>
#include <malloc.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <sodium.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct net_server net__S;

/* ---- sending ---- */

static uint64_t handle_of(uint32_t slot) { return ((uint64_t)slot << 32) | net__S.conns[slot].gen; }

static struct conn *conn_of(uint64_t h)
{
    uint32_t slot = (uint32_t)(h >> 32);
    if (slot >= (uint32_t)net__S.cfg->max_connections) return NULL;
    struct conn *c = &net__S.conns[slot];
    return c->wsi && c->gen == (uint32_t)h ? c : NULL;
}

/* The entry of a candidate's connection, or NULL. */
static srv_live *conn_live(const struct conn *c)
{
    return c->authed && c->live ? exam_lives_at(&net__S.lives, c->live - 1) : NULL;
}

static uint64_t conn_attempt(const struct conn *c)
{
    const srv_live *l = conn_live(c);
    return l ? l->attempt_id : 0;
}

static void paced_done(void);

/* A small reply to a connection with nothing waiting goes out at once: asking lws for a
 * writable callback costs two epoll_ctl and a loop pass per message, a large part of the
 * service thread when a hall starts (15,000 replies in a second). lws keeps whatever the
 * socket does not take and sends it before anything written later. */
#define DIRECT_MAX 8192

static int write_now(struct conn *c, const void *s, size_t n, int binary)
{
    static unsigned char buf[LWS_PRE + DIRECT_MAX];
    uint32_t slot = (uint32_t)(c - net__S.conns);
    if (n > DIRECT_MAX || c->oh || c->closing || c->ping_due || c->paced_held ||
        lws_partial_buffered(c->wsi) || net_fanout_pending(net__S.fanout, slot))
        return -1;
    memcpy(buf + LWS_PRE, s, n);
    if (lws_write(c->wsi, buf + LWS_PRE, n, binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) < 0) {
        c->closing = 1;                  /* the writable callback closes it */
        lws_callback_on_writable(c->wsi);
    }
    return 0;
}

/* Sends a message now or queues it for the connection; 0, or -1 when it was neither (paced:
 * the caller gives its slot back). */
static int send_bytes(struct conn *c, const void *s, size_t n, int binary, int paced)
{
    if (!s || !c->wsi) return -1;
    if (!paced && !write_now(c, s, n, binary)) return 0;
    if (c->on >= OUT_QUEUE_MAX || c->out_bytes + n > OUT_BYTES_MAX) {
        /* A client that does not read its replies cannot be helped by queueing more. */
        KC_WARN("ws", "outbound queue full, closing attempt=%llu peer=%s", (unsigned long long)conn_attempt(c), c->peer);
        c->closing = 1;
        lws_callback_on_writable(c->wsi);
        return -1;
    }
    struct out *o = malloc(sizeof *o + LWS_PRE + n);
    if (!o) return -1;
    o->next = NULL;
    o->len = n;
    o->binary = (unsigned char)(binary != 0);
    o->paced = (unsigned char)(paced != 0);
    memcpy(o->data + LWS_PRE, s, n);
    if (c->ot) c->ot->next = o; else c->oh = o;
    c->ot = o;
    c->on++;
    c->out_bytes += n;
    lws_callback_on_writable(c->wsi);
    return 0;
}

static void send_text(struct conn *c, const char *s)
{
    if (s) send_bytes(c, s, strlen(s), 0, 0);
}

static void send_error(struct conn *c, int64_t id, const char *code, const char *field,
                       const char *message)
{
    char *s = srv_msg_error_json(id, code, field, message);
    send_text(c, s);
    free(s);
}

static void send_throttled(struct conn *c, int64_t id, const char *reason, int64_t retry_ms, const char *message)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I}", "type", "error", "code", "throttled",
                          "reason", reason, "message", message, "retry_after_ms", (json_int_t)retry_ms);
    if (o && id >= 0) json_object_set_new(o, "id", json_integer(id));
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (s) send_text(c, s);
    free(s);
}

/* ---- jobs to the pools ---- */

srv_job *net__job_new(enum srv_job_kind kind, uint64_t conn, int64_t req_id)
{
    srv_job *j = calloc(1, sizeof *j);
    if (j) {
        j->kind = kind;
        j->conn = conn;
        j->req_id = req_id;
        j->m.id = req_id;
    }
    return j;
}

/* The pool a job runs on: a message's row says; the server's own jobs have theirs. */
static int pool_of(const srv_job *j)
{
    switch (j->kind) {
    case SRV_JOB_MSG: return j->cmd->pool;
    case SRV_JOB_IMPORT: return SRV_POOL_STAFF;
    case SRV_JOB_MEDIA: return SRV_POOL_MEDIA;
    default: return SRV_POOL_SWEEP;
    }
}

int net__enqueue(srv_job *j) { return net_pools_push(net__S.pools, pool_of(j), j); }

/* ---- the workers' side (srv_pool.c runs these on each pool's threads) ---- */

static void fail_jobs(srv_job **jobs, int n, const char *why)
{
    for (int i = 0; i < n; i++) {
        if (jobs[i]->ok && jobs[i]->reply) continue;    /* done before the batch failed */
        free(jobs[i]->reply);
        jobs[i]->reply = srv_msg_error_json(jobs[i]->req_id, "internal", NULL, why);
        jobs[i]->ok = 0;
    }
}

static int stopping_now(void) { return __atomic_load_n(&net__S.stopping, __ATOMIC_ACQUIRE) != 0; }

static int connect_until(kc_db *db, int first)
{
    for (int tries = 0;; tries++) {
        int rc = first && tries == 0 ? kc_db_open(db, &net__S.cfg->db) : kc_db_reconnect(db);
        if (!rc) return 0;
        if (tries % 20 == 0) KC_ERROR("db", "%s", db->err);
        if (stopping_now() && tries >= 10) return rc;
        usleep(250000);
    }
}

struct wstate { kc_db db; int connected, gave_up, pool; };

static void *w_begin(void *arg, int pool, int worker)
{
    struct wstate *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->pool = pool;
    w->connected = connect_until(&w->db, 1) == 0;
    if (w->connected) atomic_fetch_add(&net__S.workers_connected, 1);
    return w;
}

static void w_end(void *arg, void *state)
{
    struct wstate *w = state;
    if (!w) return;
    if (w->connected) atomic_fetch_sub(&net__S.workers_connected, 1);
    kc_db_close(&w->db);
    kc_db_thread_end();
    free(w);
}

static int run_one(kc_db *db, srv_job *j)
{
    switch (j->kind) {
    case SRV_JOB_MSG: return net_cmd_run(db, &net__S.x, j);
    case SRV_JOB_SWEEP: return exam_sweep(db, &net__S.x, j);
    case SRV_JOB_EVENTS: return exam_events(db, &net__S.x, j);
    case SRV_JOB_PREPARE: return exam_prepare_due(db, &net__S.x, j);
    case SRV_JOB_EXPIRE: return exam_expire(db, &net__S.x, j);
    case SRV_JOB_CHANGES: return exam_changes(db, &net__S.x, j);
    case SRV_JOB_HOLDERS: return exam_holders(db, &net__S.x, j);
    case SRV_JOB_IMPORT: return staff_bank_import(db, &net__S.x, j);
    case SRV_JOB_MEDIA: return media_run(db, &net__S.x, j);
    }
    return KC_EINVAL;
}

static void w_run(void *arg, int pool, void *state, srv_job **jobs, int n)
{
    struct wstate *w = state;
    int rc = KC_ELOST;
    for (int round = 0; w && round < 2 && rc == KC_ELOST; round++) {
        /* Stopping with the database gone: fail the rest at once instead of retrying each
         * queued job for seconds. */
        if (!w->connected && w->gave_up) break;
        if (!w->connected || round) {
            if (w->connected) atomic_fetch_sub(&net__S.workers_connected, 1);
            w->connected = connect_until(&w->db, 0) == 0;
            if (!w->connected) {
                w->gave_up = stopping_now();
                break;
            }
            atomic_fetch_add(&net__S.workers_connected, 1);
            KC_INFO("db", "pool=%s reconnected", net_pool_names[pool]);
        }
        const srv_cmd *c = jobs[0]->kind == SRV_JOB_MSG ? jobs[0]->cmd : NULL;
        rc = c && c->batch ? c->batch(&w->db, &net__S.x, jobs, n) : run_one(&w->db, jobs[0]);
    }
    if (rc) {
        KC_ERROR("db", "pool=%s job failed rc=%d: %s", net_pool_names[pool], rc, w ? w->db.err : "no memory");
        fail_jobs(jobs, n, "the server could not reach the database; please retry");
    } else if (pool == SRV_POOL_ANSWERS) {
        unsigned long long stored = 0;
        for (int i = 0; i < n; i++) stored += jobs[i]->ok != 0;   /* refused ones are not */
        atomic_fetch_add(&net__S.answers_committed, stored);
    }
}

/* Messages whose command row runs many at once share a batch with their own kind only. */
static int w_group(void *arg, const srv_job *j)
{
    if (j->kind != SRV_JOB_MSG || !j->cmd || !j->cmd->batch) return 0;
    return (int)(j->cmd - net_cmds) + 1;
}

static void w_done(void *arg, srv_job **jobs, int n)
{
    pthread_mutex_lock(&net__S.rlock);
    for (int i = 0; i < n; i++) {
        if (net__S.rt) net__S.rt->next = jobs[i]; else net__S.rh = jobs[i];
        net__S.rt = jobs[i];
    }
    atomic_store_explicit(&net__S.results_ready, 1, memory_order_relaxed);
    pthread_mutex_unlock(&net__S.rlock);
    lws_cancel_service(net__S.ctx);
}

/* Wake the loop: once no worker is left the context may be destroyed. */
static void w_exited(void *arg) { lws_cancel_service(net__S.ctx); }

/* ---- results, on the service thread ---- */


/* A connection lets go of its attempt's entry (closing, or logging in as another). */
static void holder_gone(uint64_t attempt_id, int64_t at_ms);
static void fail_share(enum net_throttle_kind kind, const char *who, const char *address, int ok);
static void fail_keep(const srv_fail *f);

static void unbind_attempt(struct conn *c, uint32_t slot, const char *why)
{
    srv_live *l = conn_live(c);
    if (l) net_fanout_unsubscribe(net__S.fanout, net_fanout_topic(NET_TOPIC_ATTEMPT, l->attempt_id), slot);
    if (l && l->conn == handle_of(slot)) {
        exam_lives_release(&net__S.lives, c->live - 1, kc_now_ms());
        holder_gone(l->attempt_id, kc_now_ms());
        proct_buffer_add(&net__S.events, l->attempt_id, kc_now_ms(), "disconnect", why);
    }
    c->authed = 0;
    c->live = 0;
}

/* ---- holders: one live connection per attempt across nodes (attempt.holder_node) ---- */

#define HOLD_GRACE_MS 10000     /* a connection gone this long: the node lets go in the DB */
#define FAILS_SEEN 8192         /* ids of other nodes' failed logins remembered, not to count twice */

/* The attempt's last connection here went at at_ms (or its login's claim found none). */
static void holder_gone(uint64_t attempt_id, int64_t at_ms)
{
    if (net__S.gone_head && net__S.gone_head == net__S.gone_n) net__S.gone_head = net__S.gone_n = 0;
    if (net__S.gone_head > 4096 && net__S.gone_head * 2 > net__S.gone_n) {   /* compact */
        memmove(net__S.gone, net__S.gone + net__S.gone_head, (net__S.gone_n - net__S.gone_head) * sizeof *net__S.gone);
        net__S.gone_n -= net__S.gone_head;
        net__S.gone_head = 0;
    }
    if (kc_grow((void **)&net__S.gone, &net__S.gone_cap, net__S.gone_n + 1, sizeof *net__S.gone)) {
        KC_WARN("exam", "attempt=%llu: no memory to note its release; its holder stays until this node stops",
                (unsigned long long)attempt_id);
        return;
    }
    net__S.gone[net__S.gone_n++] = (struct gone){attempt_id, at_ms};
}

static void holder_again(uint64_t attempt_id)
{
    if (kc_grow((void **)&net__S.reclaim, &net__S.reclaim_cap, net__S.reclaim_n + 1, sizeof *net__S.reclaim)) return;
    net__S.reclaim[net__S.reclaim_n++] = attempt_id;
}

/* Every 2 s: the lease, the attempts gone past the grace with no connection back, and the
 * ones to hold again; one such job at a time, so a hold-again runs after the let-go it
 * answers. */
static void holders_job(int64_t now)
{
    if (net__S.holders_inflight) return;
    size_t nrel = 0, from = net__S.gone_head;
    while (from + nrel < net__S.gone_n && net__S.gone[from + nrel].at_ms + HOLD_GRACE_MS <= now) nrel++;
    srv_job *j = net__job_new(SRV_JOB_HOLDERS, 0, -1);
    if (!j) return;
    size_t total = nrel + net__S.reclaim_n;
    j->ids = total ? malloc(total * sizeof *j->ids) : NULL;
    if (total && !j->ids) {
        srv_job_free(j);
        return;
    }
    for (size_t k = 0; k < nrel; k++) {
        uint64_t id = net__S.gone[from + k].attempt_id;
        uint32_t idx;
        srv_live *l = exam_lives_find(&net__S.lives, id, &idx);
        if (l && l->conn) continue;                  /* a connection came back: still held */
        j->ids[j->n_release++] = id;
    }
    for (size_t k = 0; k < net__S.reclaim_n; k++) {
        /* Only what a connection here still holds: one that went meanwhile has its let-go
         * queued, and holding it again after that would keep it here for good. */
        uint32_t idx;
        srv_live *l = exam_lives_find(&net__S.lives, net__S.reclaim[k], &idx);
        if (l && l->conn) j->ids[j->n_release + j->n_reclaim++] = net__S.reclaim[k];
    }
    if (net__S.fails_n) {                       /* this node's failed logins, to share */
        j->fails = net__S.fails;
        j->n_fails = (int)net__S.fails_n;
    }
    if (net__enqueue(j)) {
        j->fails = NULL;
        srv_job_free(j);
        return;
    }
    if (net__S.fails_n) {
        net__S.fails = NULL;
        net__S.fails_n = net__S.fails_cap = 0;
    }
    net__S.gone_head += nrel;
    net__S.reclaim_n = 0;
    net__S.holders_inflight = 1;
}

/* A login or resume wrote this node as the holder but no connection here took the attempt
 * (it closed meanwhile, the job failed, the table was full): let go of it after the grace. */
static void claim_unused(const srv_job *j)
{
    if (!j->claimed) return;
    uint32_t idx;
    srv_live *l = exam_lives_find(&net__S.lives, j->attempt_id, &idx);
    if (!(l && l->conn)) holder_gone(j->attempt_id, kc_now_ms());
}

static void handle_holders(srv_job *j)
{
    if (j->m.level == 1) return;        /* the lease's end, when stopping */
    net__S.holders_inflight = 0;
    if (!j->ok || j->fails_unsent)              /* not written: the next job, same seqs */
        for (int k = 0; k < j->n_fails; k++) fail_keep(&j->fails[k]);
    if (!j->ok) {
        /* The database was out: the same work goes into the next job. */
        for (int k = 0; k < j->n_release; k++) holder_gone(j->ids[k], 0);
        for (int k = 0; k < j->n_reclaim; k++) holder_again(j->ids[j->n_release + k]);
        return;
    }
    for (int k = 0; k < j->n_release; k++) {
        uint32_t idx;
        srv_live *l = exam_lives_find(&net__S.lives, j->ids[k], &idx);
        if (!l) continue;
        if (l->conn) holder_again(l->attempt_id);    /* a connection came back meanwhile */
        else l->db_released = 1;                     /* the next one here holds it again */
    }
}

/* A login or resume succeeded: the connection takes the attempt's entry. A second login
 * while another live connection holds it is refused (the first keeps it; the proctor sees
 * an event); a resume — the token proves it is the same browser, reconnecting — takes it
 * over and the old connection is closed. 0 bound, -1 refused (the reply is sent). */
static int bind_attempt(struct conn *c, uint32_t slot, srv_job *j)
{
    int64_t now = kc_now_ms();
    uint64_t me = handle_of(slot);
    int resume = !(j->cmd->flags & SRV_CMD_GUESSABLE);    /* proven by its token: the same browser */
    uint32_t idx;
    srv_live *l = exam_lives_find(&net__S.lives, j->attempt_id, &idx);
    int fresh = !l;                      /* no entry here: any earlier one's let-go may have landed */
    struct conn *other = l && l->conn != me ? conn_of(l->conn) : NULL;
    if (other && !resume) {
        char detail[128];
        snprintf(detail, sizeof detail, "peer=%s holder=%s", c->peer, other->peer);
        proct_buffer_add(&net__S.events, j->attempt_id, now, "second_login", detail);
        KC_WARN("exam", "second login refused attempt=%llu peer=%s (held by peer=%s)",
                (unsigned long long)j->attempt_id, c->peer, other->peer);
        send_error(c, j->req_id, "already_connected", NULL,
                   "this candidate is signed in on another computer; ask the proctor");
        return -1;
    }
    if (other) {
        uint32_t oslot = (uint32_t)(l->conn >> 32);
        send_error(other, -1, "taken_over", NULL, "this exam was opened again in another window or after a reconnect");
        other->closing = 1;
        lws_callback_on_writable(other->wsi);
        unbind_attempt(other, oslot, "taken over");
        proct_buffer_add(&net__S.events, j->attempt_id, now, "takeover", c->peer);
    }
    if (c->authed && conn_attempt(c) != j->attempt_id) unbind_attempt(c, slot, "another login");
    if (exam_lives_get(&net__S.lives, j->attempt_id, now, &idx)) {
        KC_WARN("ws", "live attempt table full (%u entries held); login of attempt=%llu refused",
                net__S.lives.count, (unsigned long long)j->attempt_id);
        send_error(c, j->req_id, "busy", NULL, "the server is full; retry in a moment");
        return -1;
    }
    l = exam_lives_at(&net__S.lives, idx);
    l->conn = me;
    /* This node let go in the database, perhaps after the worker read or wrote it as held
     * here: hold it again (a no-op where it is held here, and never over another node). */
    if (l->db_released || (fresh && j->held_mine)) holder_again(j->attempt_id);
    l->db_released = 0;
    if (j->took_over) {
        char detail[96];
        snprintf(detail, sizeof detail, "node=%s", j->held_by);
        proct_buffer_add(&net__S.events, j->attempt_id, now, "takeover", detail);
        KC_INFO("exam", "attempt=%llu taken over from node=%s peer=%s", (unsigned long long)j->attempt_id,
                j->held_by, c->peer);
    }
    c->authed = 1;
    c->live = idx + 1;
    /* Pushes for this attempt (a changed deadline) reach this connection. */
    if (net_fanout_subscribe(net__S.fanout, net_fanout_topic(NET_TOPIC_ATTEMPT, j->attempt_id), slot))
        KC_WARN("ws", "attempt=%llu: no subscription for its pushes", (unsigned long long)j->attempt_id);
    c->login_fails = 0;
    proct_buffer_add(&net__S.events, j->attempt_id, now, "connect", resume ? "resume" : "login");
    return 0;
}

/* A job's outcome goes into its attempt's entry, whether or not the connection that asked
 * is still there: the entry holds what the database holds. */
static void apply_to_entry(srv_job *j)
{
    uint32_t idx;
    srv_live *l = exam_lives_find(&net__S.lives, j->attempt_id, &idx);
    if (!l) return;
    exam_live_apply(l, j);
    exam_lives_touch(&net__S.lives, idx);
}

static void handle_expire(srv_job *j)
{
    uint32_t idx;
    srv_live *l = exam_lives_find(&net__S.lives, j->attempt_id, &idx);
    if (!l) return;
    l->expiring = 0;
    if (j->ok) l->status = j->status;
    exam_lives_touch(&net__S.lives, idx);   /* not submitted (the database was out): again */
    struct conn *c = j->ok && l->conn ? conn_of(l->conn) : NULL;
    if (c) send_text(c, j->reply);
}

/* ---- login throttling (net_throttle.c) ---- */


/* A row for the next holders job (again, with its seq, when a job could not write it). */
static void fail_keep(const srv_fail *f)
{
    if (net__S.fails_n >= 65536) return;              /* the database is out for long: drop */
    if (kc_grow((void **)&net__S.fails, &net__S.fails_cap, net__S.fails_n + 1, sizeof *net__S.fails)) return;
    net__S.fails[net__S.fails_n++] = *f;
}

/* This node's failed login, or a success that forgave failures, for the other nodes. */
static void fail_share(enum net_throttle_kind kind, const char *who, const char *address, int ok)
{
    if (kind != NET_THROTTLE_LOGIN && kind != NET_THROTTLE_STAFF) return;
    srv_fail f;
    memset(&f, 0, sizeof f);
    f.seq = ++net__S.fails_seq;
    f.kind = kind == NET_THROTTLE_STAFF;
    f.ok = ok != 0;
    snprintf(f.who, sizeof f.who, "%s", who ? who : "");
    snprintf(f.address, sizeof f.address, "%s", address);
    fail_keep(&f);
}

/* Logins the other nodes shared: counted here too, each once, at the time they happened. */
static void fails_apply(const srv_job *j)
{
    int64_t now = kc_now_ms();
    for (int i = 0; i < j->n_fails; i++) {
        const srv_fail *f = &j->fails[i];
        if (j->ok && f->id > net__S.fails_max_id) net__S.fails_max_id = f->id;
        uint64_t seen;
        if (kc_map_get(&net__S.fails_seen, f->id, &seen)) continue;
        if (net__S.fails_ring) {
            uint64_t *slot = &net__S.fails_ring[net__S.fails_ring_at++ % FAILS_SEEN];
            if (*slot) kc_map_del(&net__S.fails_seen, *slot);
            *slot = f->id;
            if (kc_map_put(&net__S.fails_seen, f->id, 1)) *slot = 0;
        }
        net_throttle_addr a;
        net_throttle_addr_parse(f->address, &a);
        enum net_throttle_kind kind = f->kind ? NET_THROTTLE_STAFF : NET_THROTTLE_LOGIN;
        /* its own time: a backoff it set off ends when it would have (the age is MariaDB's) */
        int64_t at = now - (f->age_ms > 0 ? f->age_ms : 0);
        if (f->ok) net_throttle_success_elsewhere(net__S.throttle, kind, &a, f->who, at);
        else net_throttle_failure_elsewhere(net__S.throttle, kind, &a, f->who, at, NULL);
    }
}

static int throttle_kind(const srv_cmd *cmd, const srv_msg *m, const char **who)
{
    *who = NULL;
    if (!(cmd->flags & (SRV_CMD_LOGIN | SRV_CMD_STAFF_LOGIN))) return -1;
    if (!(cmd->flags & SRV_CMD_GUESSABLE)) return NET_THROTTLE_RESUME;
    int staff = cmd->flags & SRV_CMD_STAFF_LOGIN;
    *who = staff ? m->login : m->ticket;
    return staff ? NET_THROTTLE_STAFF : NET_THROTTLE_LOGIN;
}

/* The outcome of a login the throttle let through, also when its connection has gone. */
static void throttle_result(srv_job *j)
{
    if (!j->throttled) return;
    enum net_throttle_kind kind = (enum net_throttle_kind)(j->throttled - 1);
    const char *who = kind == NET_THROTTLE_LOGIN ? j->m.ticket : kind == NET_THROTTLE_STAFF ? j->m.login : NULL;
    net_throttle_addr a;
    net_throttle_addr_parse(j->peer, &a);
    enum net_throttle_outcome out = j->ok ? NET_THROTTLE_OK : j->denied ? NET_THROTTLE_FAIL : NET_THROTTLE_VOID;
    net_throttle_note note;
    int64_t now = kc_now_ms();
    net_throttle_result(net__S.throttle, kind, &a, who, out, now, &note);
    j->throttled = 0;
    if (out == NET_THROTTLE_OK && note.forgave) fail_share(kind, who, j->peer, 1);
    if (out != NET_THROTTLE_FAIL) return;
    fail_share(kind, who, j->peer, 0);
    /* Every failure is logged with address and ticket (or login), and a candidate's goes to
     * the proctor's record of that ticket's attempt. */
    KC_WARN("auth", "%s failed peer=%s %s=%s failures_here=%d addresses=%d address_failures=%d address_tickets=%d%s%s%s%s",
            j->cmd->name, j->peer, kind == NET_THROTTLE_STAFF ? "login" : "ticket", who ? who : "-",
            note.pair_failures, note.who_addresses, note.address_failures, note.address_tickets,
            note.events & NET_THROTTLE_EV_PAIR ? " backoff=ticket_at_address" : "",
            note.events & NET_THROTTLE_EV_WHO ? " backoff=ticket_everywhere" : "",
            note.events & NET_THROTTLE_EV_ADDRESS ? " backoff=address" : "",
            note.events & NET_THROTTLE_EV_SPRAY ? " spray=1" : "");
    if (j->denied_attempt) {
        char detail[64];
        snprintf(detail, sizeof detail, "peer=%s n=%d%s", j->peer, note.pair_failures,
                 note.events & (NET_THROTTLE_EV_PAIR | NET_THROTTLE_EV_WHO) ? " locked" : "");
        proct_buffer_add(&net__S.events, j->denied_attempt, now, "login_failed", detail);
    }
}

/* Deadlines changed by anyone (extra time): the entries this node holds follow, and the
 * candidate's connection gets the new deadline through its attempt's topic (coalesced:
 * only the newest deadline waits in a slow connection's queue). */
static void handle_changes(srv_job *j)
{
    net__S.changes_inflight = 0;
    if (j->ok && j->db_now > net__S.taken_since) net__S.taken_since = j->db_now;
    if (j->ok && j->fails_window_s > 0 && j->fails_after > net__S.fails_max_id) net__S.fails_max_id = j->fails_after;
    fails_apply(j);
    for (int i = 0; i < j->n_changes; i++) {
        const srv_change *ch = &j->changes[i];
        uint32_t idx;
        srv_live *l = exam_lives_find(&net__S.lives, ch->attempt_id, &idx);
        if (ch->taken) {
            /* A resume on another node took it: this node's connection goes, as on one node. */
            struct conn *other = l && l->conn ? conn_of(l->conn) : NULL;
            if (!other) continue;
            uint32_t oslot = (uint32_t)(l->conn >> 32);
            send_error(other, -1, "taken_over", NULL, "this exam was opened again in another window or after a reconnect");
            other->closing = 1;
            lws_callback_on_writable(other->wsi);
            KC_INFO("exam", "attempt=%llu taken over by another node; closing peer=%s",
                    (unsigned long long)ch->attempt_id, other->peer);
            unbind_attempt(other, oslot, "taken over on another node");
            continue;
        }
        if (!l || l->status != SRV_ST_IN_PROGRESS || ch->status != SRV_ST_IN_PROGRESS ||
            l->deadline_ms == ch->deadline_ms)
            continue;
        l->deadline_ms = ch->deadline_ms;
        l->expiring = 0;
        exam_lives_touch(&net__S.lives, idx);
        int64_t now = kc_now_ms();
        char msg[128];
        int n = snprintf(msg, sizeof msg, "{\"type\":\"time\",\"server_time\":%lld,\"deadline\":%lld}",
                         (long long)now, (long long)ch->deadline_ms);
        net_fanout_publish(net__S.fanout, net_fanout_topic(NET_TOPIC_ATTEMPT, ch->attempt_id), 1, msg, (size_t)n);
        KC_INFO("exam", "deadline changed attempt=%llu deadline=%lld pushed", (unsigned long long)ch->attempt_id,
                (long long)ch->deadline_ms);
    }
}

/* A paced reply was written (or dropped): the next waiting one goes to its pool. */
static void paced_done(void)
{
    net__S.paced_inflight--;
    while (net__S.paced_head && (net__S.paced_inflight < net__S.cfg->paced_inflight || stopping_now())) {
        srv_job *j = net__S.paced_head;
        net__S.paced_head = j->next;
        if (!net__S.paced_head) net__S.paced_tail = NULL;
        net__S.paced_waiting--;
        j->next = NULL;
        struct conn *c = conn_of(j->conn);
        if (!c || stopping_now()) {        /* gone while it waited, or nothing runs it any more */
            srv_job_free(j);
            continue;
        }
        const srv_live *l = conn_live(c);
        if (!l || l->status != SRV_ST_NOT_STARTED) {
            /* started meanwhile (a hall's start came while fetches waited): start has sent
             * the paper itself, and the bytes are better spent elsewhere */
            c->inflight--;
            send_error(c, j->req_id, "started", NULL, "the attempt has started; its paper came with start");
            srv_job_free(j);
            continue;
        }
        net__S.paced_inflight++;
        if (net__enqueue(j)) {
            net__S.paced_inflight--;
            c->inflight--;
            send_error(c, j->req_id, "busy", NULL, "the server is busy; retry in a moment");
            srv_job_free(j);
        }
    }
}

static void handle_result(srv_job *j)
{
    switch (j->kind) {
    case SRV_JOB_SWEEP:
        net__S.sweep_inflight--;
        return;
    case SRV_JOB_EXPIRE: handle_expire(j); return;
    case SRV_JOB_CHANGES: handle_changes(j); return;
    case SRV_JOB_HOLDERS: handle_holders(j); return;
    case SRV_JOB_EVENTS: return;
    case SRV_JOB_PREPARE: net__S.prepare_inflight = 0; return;
    case SRV_JOB_IMPORT:
    case SRV_JOB_MEDIA: net__http_done(j); return;
    case SRV_JOB_MSG: break;
    }
    const srv_cmd *cmd = j->cmd;
    if (cmd->flags & SRV_CMD_HEAVY) net__S.heavy_running--;   /* also for a closed connection */
    throttle_result(j);
    if (j->attempt_id && !(cmd->flags & SRV_CMD_LOGIN)) apply_to_entry(j);
    struct conn *c = conn_of(j->conn);
    if (!c) claim_unused(j);
    if (j->held_elsewhere) {
        char detail[160];
        snprintf(detail, sizeof detail, "peer=%s node=%s", j->peer, j->held_by);
        proct_buffer_add(&net__S.events, j->attempt_id, kc_now_ms(), "second_login", detail);
        KC_WARN("exam", "second login refused attempt=%llu peer=%s (held on node=%s)",
                (unsigned long long)j->attempt_id, j->peer, j->held_by);
    }
    if (cmd->flags & SRV_CMD_PACED) {
        /* Its slot is held until the reply is written, so replies wait in the pools' queues
         * (small jobs), not as megabytes in the connections' outbound queues. */
        if (c) c->inflight--;
        if (!c || send_bytes(c, j->reply, j->reply_binary ? j->reply_len : (j->reply ? strlen(j->reply) : 0),
                             j->reply_binary, 1))
            paced_done();
        return;
    }
    if (!c) return;                                 /* the connection is gone: drop */
    uint32_t slot = (uint32_t)(j->conn >> 32);
    if (cmd->pool == SRV_POOL_ANSWERS) c->answers_inflight--;
    else c->inflight--;
    if (cmd->flags & (SRV_CMD_LOGIN | SRV_CMD_STAFF_LOGIN)) {
        int staff = cmd->flags & SRV_CMD_STAFF_LOGIN;
        /* The connection may have become the other kind while the job ran. */
        if (j->ok && (staff ? c->authed : c->staff)) {
            claim_unused(j);
            send_error(c, j->req_id, "forbidden", NULL, staff ? "this connection belongs to a candidate"
                                                              : "this connection belongs to a staff member");
            return;
        }
        if (!j->ok) {
            claim_unused(j);                    /* claimed, then the job failed */
            if (j->denied && ++c->login_fails >= LOGIN_FAILS_MAX) c->closing = 1;   /* slow down guessing */
        } else if (staff) {
            c->staff = 1;
            c->staff_id = j->staff_id;
            c->roles = j->roles;
            snprintf(c->staff_login, sizeof c->staff_login, "%s", j->login);
            c->login_fails = 0;
            KC_INFO("staff", "login=%s %s", j->login, cmd->name);
        } else {
            if (bind_attempt(c, slot, j)) {
                claim_unused(j);
                return;
            }
            apply_to_entry(j);
        }
    }
    send_text(c, j->reply);
}

/* The deadline of a running attempt passed (exam_lives_tick): answers are refused from
 * now on, and the node that holds the candidate submits and pushes `submitted`. */
static void on_deadline(void *arg, uint32_t idx)
{
    (void)arg;
    srv_live *l = exam_lives_at(&net__S.lives, idx);
    if (!l->conn || !conn_of(l->conn)) return;   /* nobody here to tell: the sweep submits it */
    srv_job *j = net__job_new(SRV_JOB_EXPIRE, l->conn, -1);
    if (!j) return;
    j->attempt_id = l->attempt_id;
    if (net__enqueue(j)) {                       /* full: next second */
        srv_job_free(j);
        exam_lives_touch(&net__S.lives, idx);
        return;
    }
    l->expiring = 1;
}

static void drain_results(void)
{
    pthread_mutex_lock(&net__S.rlock);
    srv_job *j = net__S.rh;
    net__S.rh = net__S.rt = NULL;
    atomic_store_explicit(&net__S.results_ready, 0, memory_order_relaxed);
    pthread_mutex_unlock(&net__S.rlock);
    while (j) {
        srv_job *next = j->next;
        handle_result(j);
        srv_job_free(j);
        j = next;
    }
}

/* ---- messages: everything is driven by the message's row in the command table ---- */

static void on_message(uint32_t slot, struct conn *c, const char *buf, size_t len)
{
    srv_msg m;
    srv_msg_error e;
    if (net_msg_parse(buf, len, &m, &e)) {
        sodium_memzero(m.password, sizeof m.password);   /* parsed before a later field failed */
        send_error(c, e.id, e.code, e.field, e.message);
        return;
    }
    const srv_cmd *cmd = m.cmd;
    int64_t now = kc_now_ms();
    srv_job *j = NULL;
    const char *busy = NULL;
    if (net__S.stopping) {
        busy = "the server is restarting; retry in a moment";
        goto refuse_busy;
    }
    if (net_cmd_allowed(cmd, c->authed, c->staff, c->roles, &e)) {
        send_error(c, m.id, e.code, NULL, e.message);
        goto out;
    }
    srv_live none = {0}, *live = conn_live(c);
    if (!live) live = &none;
    if (cmd->pool == SRV_LOCAL) {
        char *reply = cmd->local(live, &m, now, &net__S.events);
        if (reply) send_text(c, reply);
        else send_error(c, m.id, "internal", NULL, "out of memory");
        free(reply);
        goto out;
    }
    if (net_pools_full(net__S.pools, cmd->pool)) {
        busy = "the server is busy; retry in a moment";
        goto refuse_busy;
    }
    if (cmd->pool == SRV_POOL_ANSWERS ? c->answers_inflight >= ANSWERS_INFLIGHT_MAX
                                      : c->inflight >= INFLIGHT_MAX) {
        busy = "too many requests waiting on this connection; wait for the replies";
        goto refuse_busy;
    }
    /* Checking, importing, preparing and verifying load a whole pool and can hold a worker
     * for seconds: a few at a time, so other staff work keeps a worker. */
    if ((cmd->flags & SRV_CMD_HEAVY) && net__S.heavy_running >= net__S.cfg->staff_heavy) {
        busy = "another paper job is running; retry in a moment";
        goto refuse_busy;
    }
    if (cmd->admit && cmd->admit(live, &m, now, &e)) {
        send_error(c, m.id, e.code, e.field, e.message);
        goto out;
    }
    const char *who;
    int tk = throttle_kind(cmd, &m, &who);
    if (tk >= 0) {
        int64_t retry = 0;
        const char *reason = "";
        if (net_throttle_check(net__S.throttle, (enum net_throttle_kind)tk, &c->addr, who, now, &retry, &reason)) {
            char msg[160];
            snprintf(msg, sizeof msg, "too many attempts (%s); try again in %lld s", reason,
                     (long long)(retry + 999) / 1000);
            send_throttled(c, m.id, reason, retry, msg);
            if (++c->login_fails >= LOGIN_FAILS_MAX) c->closing = 1;
            goto out;
        }
    }
    if (!(j = net__job_new(SRV_JOB_MSG, handle_of(slot), m.id))) {
        if (tk >= 0) net_throttle_result(net__S.throttle, (enum net_throttle_kind)tk, &c->addr, who,
                                         NET_THROTTLE_VOID, now, NULL);
        send_error(c, m.id, "internal", NULL, "out of memory");
        goto out;
    }
    j->cmd = cmd;
    srv_msg_move(&j->m, &m);           /* the job owns what parse allocated now */
    j->text = j->m.obj;
    j->text_len = j->m.obj ? strlen(j->m.obj) : 0;
    j->m.obj = NULL;
    j->attempt_id = live->attempt_id;
    j->staff_id = c->staff_id;
    j->roles = c->roles;
    snprintf(j->login, sizeof j->login, "%s", c->staff_login);
    snprintf(j->peer, sizeof j->peer, "%s", c->peer);
    if (tk >= 0) j->throttled = (unsigned char)(tk + 1);
    if ((cmd->flags & SRV_CMD_PACED) && (net__S.paced_inflight >= net__S.cfg->paced_inflight || net__S.paced_head)) {
        if (net__S.paced_waiting >= net__S.cfg->pools[cmd->pool].queue) {
            srv_job_free(j);
            busy = "the server is busy; retry in a moment";
            goto refuse_busy;
        }
        j->next = NULL;                   /* waits its turn (paced_done) */
        if (net__S.paced_tail) net__S.paced_tail->next = j; else net__S.paced_head = j;
        net__S.paced_tail = j;
        net__S.paced_waiting++;
        c->inflight++;
        goto out;
    }
    if (cmd->flags & SRV_CMD_PACED) net__S.paced_inflight++;
    if (net__enqueue(j)) {
        if (cmd->flags & SRV_CMD_PACED) net__S.paced_inflight--;
        j->ok = j->denied = 0;            /* not judged */
        throttle_result(j);
        srv_job_free(j);
        busy = "the server is busy; retry in a moment";
        goto refuse_busy;
    }
    if (cmd->pool == SRV_POOL_ANSWERS) c->answers_inflight++;
    else c->inflight++;
    if (cmd->flags & SRV_CMD_HEAVY) net__S.heavy_running++;
    goto out;
refuse_busy:
    send_error(c, m.id, "busy", NULL, busy);
out:
    srv_msg_free(&m);
    if (cmd->flags & SRV_CMD_SECRET) sodium_memzero(&m, sizeof m);
}

/* ---- libwebsockets callbacks ---- */

static void conn_release(uint32_t slot)
{
    struct conn *c = &net__S.conns[slot];
    unbind_attempt(c, slot, "");
    if (c->addr_counted) net_throttle_conn_close(net__S.throttle, &c->addr, kc_now_ms());
    net_fanout_drop(net__S.fanout, slot);
    free(c->rx);
    kc_wheel_del(&net__S.alive, slot);
    /* Its unsent replies go, and with them their paced slots: only once the slot is free,
     * so the waiting fetches they let through are never this connection's own. */
    struct out *q = c->oh;
    int held = c->paced_held;
    uint32_t gen = c->gen + 1 ? c->gen + 1 : 1;   /* never 0: a handle of 0 means "none" */
    memset(c, 0, sizeof *c);
    c->gen = gen;
    net__S.free_slots[net__S.nfree++] = slot;
    net__S.nconns--;
    for (struct out *o = q, *n; o; o = n) {
        n = o->next;
        if (o->paced) paced_done();
        free(o);
    }
    while (held-- > 0) paced_done();
}

/* ---- liveness: our own, not lws's ----
 * lws 4.1's validity timers keep every connection in one sorted list and re-insert on
 * every PONG (a walk past all the others). Instead each connection sits in a per-second
 * wheel at the second its silence should next be looked at; a frame from the peer only
 * notes the second (no wheel operation). When its second comes: still fresh -> back into
 * the wheel at seen + idle_ping; silent for idle_ping -> one PING; silent for idle_close
 * -> closed as dead. Clients send heartbeats far more often, so PINGs are rare. */

static void seen(struct conn *c)
{
    c->seen_s = kc_now_ms() / 1000;
    c->ping_sent = 0;
}

static void on_idle(void *arg, uint32_t slot)
{
    (void)arg;
    struct conn *c = &net__S.conns[slot];
    if (!c->wsi) return;
    int64_t now = net__S.alive.at - 1;          /* the second being advanced to */
    const srv_config *cfg = net__S.cfg;
    if (now < c->seen_s + cfg->idle_ping_s) {
        kc_wheel_set(&net__S.alive, slot, c->seen_s + cfg->idle_ping_s);
    } else if (!c->ping_sent) {
        c->ping_sent = 1;
        c->ping_due = 1;
        lws_callback_on_writable(c->wsi);
        kc_wheel_set(&net__S.alive, slot, c->seen_s + cfg->idle_close_s);
    } else if (now >= c->seen_s + cfg->idle_close_s) {
        KC_INFO("ws", "closing a silent connection attempt=%llu staff=%s silent_s=%lld",
                (unsigned long long)conn_attempt(c), c->staff ? c->staff_login : "",
                (long long)(now - c->seen_s));
        /* A dead peer may never become writable: lws closes it on its next service pass. */
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    } else {
        kc_wheel_set(&net__S.alive, slot, c->seen_s + cfg->idle_close_s);
    }
}

/* A header's value, "" when absent or longer than cap. */
static void header(struct lws *wsi, enum lws_token_indexes h, char *out, int cap)
{
    out[0] = 0;
    int n = lws_hdr_total_length(wsi, h);
    if (n <= 0 || n >= cap || lws_hdr_copy(wsi, out, cap, h) < 0) out[0] = 0;
}

void net__client(struct lws *wsi, net_throttle_addr *addr, char *text, size_t cap)
{
    char peer[64] = "";
    net_throttle_addr p;
    lws_get_peer_simple(wsi, peer, sizeof peer);
    if (net_throttle_addr_parse(peer, &p)) {
        *addr = p;                  /* the shared unknown address */
        snprintf(text, cap, "%s", peer[0] ? peer : "unknown");
        return;
    }
    if (net_throttle_is_proxy(net__S.throttle, &p)) {
        char xff[8192], real[64];   /* more than lws keeps of all headers: never cut */
        header(wsi, WSI_TOKEN_X_FORWARDED_FOR, xff, sizeof xff);
        real[0] = 0;
#if defined(LWS_WITH_HTTP_UNCOMMON_HEADERS) || defined(LWS_HTTP_HEADERS_ALL)
        header(wsi, WSI_TOKEN_HTTP_X_REAL_IP, real, sizeof real);
#endif
        net_throttle_client(net__S.throttle, &p, xff, real, addr);
    } else {
        *addr = p;
    }
    net_throttle_addr_text(addr, text, cap);
}

static int cb_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
    struct pss *p = user;
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        drain_results();
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        /* A page of another site must not drive a candidate's or staff member's session
         * from their browser (cross-site WebSocket hijacking). */
        char origin[256] = "", host[256] = "";
        lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN);
        lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST);
        if (net_origin_allowed(origin, host, net__S.cfg->origins)) return 0;
        char peer[48] = "";
        net_throttle_addr addr;
        net__client(wsi, &addr, peer, sizeof peer);
        KC_WARN("ws", "refused origin=\"%.100s\" host=\"%.100s\" peer=%s (server.origins)", origin, host, peer);
        return 1;
    }
    case LWS_CALLBACK_ESTABLISHED: {
        if (!net__S.nfree || net__S.stopping) return -1;
        char peer[48] = "";
        net_throttle_addr addr;
        net__client(wsi, &addr, peer, sizeof peer);
        if (net_throttle_conn_open(net__S.throttle, &addr, kc_now_ms())) {
            KC_WARN("ws", "refused a connection from peer=%s: limits.connections_per_address=%d reached",
                    peer, net__S.cfg->limits.connections_per_address);
            return -1;
        }
        uint32_t slot = net__S.free_slots[--net__S.nfree];
        struct conn *c = &net__S.conns[slot];
        c->wsi = wsi;
        p->slot = slot;
        net__S.nconns++;
        memcpy(c->peer, peer, sizeof peer);
        c->addr = addr;
        c->addr_counted = 1;
        seen(c);
        kc_wheel_set(&net__S.alive, slot, c->seen_s + net__S.cfg->idle_ping_s);
        return 0;
    }
    case LWS_CALLBACK_CLOSED:
        if (net__S.conns[p->slot].wsi == wsi) conn_release(p->slot);
        return 0;
    case LWS_CALLBACK_RECEIVE_PONG: {
        struct conn *c = &net__S.conns[p->slot];
        if (c->wsi == wsi) seen(c);
        return 0;
    }
    case LWS_CALLBACK_RECEIVE: {
        struct conn *c = &net__S.conns[p->slot];
        if (c->wsi != wsi) return -1;
        seen(c);
        if (lws_is_first_fragment(wsi)) {
            c->rx_len = 0;
            c->rx_over = 0;
        }
        if (!c->rx_over) {
            if (c->rx_len + len > (size_t)net__S.cfg->max_message) {
                c->rx_over = 1;
            } else {
                if (c->rx_len + len + 1 > c->rx_cap) {
                    size_t cap = c->rx_cap ? c->rx_cap : 1024;
                    while (cap < c->rx_len + len + 1) cap *= 2;
                    char *rx = realloc(c->rx, cap);
                    if (!rx) return -1;
                    c->rx = rx;
                    c->rx_cap = cap;
                }
                memcpy(c->rx + c->rx_len, in, len);
                c->rx_len += len;
            }
        }
        if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
            return 0;
        if (c->rx_over) {
            char msg[96];
            snprintf(msg, sizeof msg, "message larger than %d bytes", net__S.cfg->max_message);
            send_error(c, -1, "too_large", NULL, msg);
            c->closing = 1;
            return 0;
        }
        on_message(p->slot, c, c->rx, c->rx_len);
        if (c->rx_cap > 16384) {           /* do not keep a big buffer for an idle socket */
            free(c->rx);
            c->rx = NULL;
            c->rx_cap = 0;
        }
        c->rx_len = 0;
        /* A whole hall's starts arrive at once and one pass of the loop reads them all
         * (15,000 messages, a few hundred ms); the wake-up for finished jobs waits for the
         * next pass. So finished jobs are also looked at every RESULTS_EVERY messages: an
         * answer committed in 15 ms is not acknowledged 300 ms later. */
        if (++net__S.msgs_since_look >= RESULTS_EVERY) {
            net__S.msgs_since_look = 0;
            if (atomic_load_explicit(&net__S.results_ready, memory_order_relaxed)) drain_results();
        }
        return 0;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        struct conn *c = &net__S.conns[p->slot];
        if (c->wsi != wsi) return -1;
        /* lws calls this only once what it kept of earlier writes has gone out */
        if (c->paced_held && !lws_partial_buffered(wsi))
            for (; c->paced_held; c->paced_held--) paced_done();
        if (c->ping_due) {                 /* one write per callback: the PING goes alone */
            c->ping_due = 0;
            /* Not empty: lws passes an empty PONG to no callback, and we need to see it.
             * Text, since lws checks a PONG's payload as UTF-8 (VALIDATE_UTF8). */
            unsigned char ping[LWS_PRE + 24];
            int n = snprintf((char *)ping + LWS_PRE, 24, "kc%lld", (long long)kc_now_ms());
            if (lws_write(wsi, ping + LWS_PRE, (size_t)n, LWS_WRITE_PING) < 0) return -1;
            if (c->oh || c->closing) lws_callback_on_writable(wsi);
            return 0;
        }
        struct out *o = c->oh;
        if (o) {
            c->oh = o->next;
            if (!c->oh) c->ot = NULL;
            c->on--;
            c->out_bytes -= o->len;
            int n = lws_write(wsi, o->data + LWS_PRE, o->len, o->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
            /* A paced reply keeps its slot until lws has sent all of it (what the socket did
             * not take waits in lws's buffer): the bound is on bytes in memory. */
            if (o->paced && n >= 0 && lws_partial_buffered(wsi)) {
                c->paced_held++;
                lws_callback_on_writable(wsi);
            } else if (o->paced) {
                paced_done();
            }
            free(o);
            if (n < 0) return -1;
        } else if (!c->closing) {
            /* Pushes of its topics: the shared buffer is written as it is (LWS_PRE of
             * headroom before it is ours); a queue that overflowed owes a resync. */
            unsigned char *data;
            size_t dlen;
            int what = net_fanout_peek(net__S.fanout, p->slot, &data, &dlen);
            if (what == NET_FANOUT_RESYNC) {
                static const char resync[] = "{\"type\":\"resync\"}";
                unsigned char buf[LWS_PRE + sizeof resync];
                memcpy(buf + LWS_PRE, resync, sizeof resync - 1);
                net_fanout_pop(net__S.fanout, p->slot);
                if (lws_write(wsi, buf + LWS_PRE, sizeof resync - 1, LWS_WRITE_TEXT) < 0) return -1;
            } else if (what == NET_FANOUT_MESSAGE) {
                int n = lws_write(wsi, data, dlen, LWS_WRITE_TEXT);
                net_fanout_pop(net__S.fanout, p->slot);
                if (n < 0) return -1;
            }
        }
        if (c->oh || (!c->closing && net_fanout_pending(net__S.fanout, p->slot))) lws_callback_on_writable(wsi);
        else if (c->closing) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, NULL, 0);
            return -1;
        }
        return 0;
    }
    default:
        return 0;
    }
}

/* tx_packet_size: lws sends at most this much of a write per send() (by default the rx
 * buffer size, 1 KB here), keeping the rest in a buffer for later writable callbacks: a
 * 40 KB sealed paper took some 40 callbacks, each a send and two epoll_ctl. */
#define WS_TX_PACKET (256u << 10)
static const struct lws_protocols protocols[] = {
    {"http", net__cb_http, sizeof(struct http_pss), 0, 0, NULL, WS_TX_PACKET},
    {"kaochang.v1", cb_ws, sizeof(struct pss), 1024, 0, NULL, WS_TX_PACKET},
    {NULL, NULL, 0, 0, 0, NULL, 0}};

/* ---- timers and shutdown, on the service thread ---- */

static void flush_events(void)
{
    proct_batch *b = proct_buffer_take(&net__S.events);
    if (!b) return;
    srv_job *j = net__job_new(SRV_JOB_EVENTS, 0, -1);
    if (!j) { proct_batch_free(b); return; }
    j->events = b;
    if (net__enqueue(j)) srv_job_free(j);      /* only when stopping: nothing runs it any more */
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w; (void)revents;
    net__S.ticks++;
    if (net__S.stopping) {
        if (net__S.stopping == 1) {
            flush_events();                  /* the last batch goes with the workers */
            /* The lease ends now: other nodes take this one's candidates at once. */
            srv_job *j = net__job_new(SRV_JOB_HOLDERS, 0, -1);
            if (j) {
                j->m.level = 1;
                if (net__enqueue(j)) srv_job_free(j);
            }
            net_pools_stop(net__S.pools);
            net__S.stopping = 2;
        }
        if (net_pools_alive(net__S.pools) == 0) {
            drain_results();
            ev_timer_stop(loop, &net__S.tick);
            ev_signal_stop(loop, &net__S.sig_int);
            ev_signal_stop(loop, &net__S.sig_term);
            lws_context_destroy(net__S.ctx);
            net__S.ctx = NULL;
            ev_break(loop, EVBREAK_ALL);
        }
        return;
    }
    kc_wheel_advance(&net__S.alive, kc_now_ms() / 1000, on_idle, NULL);
    if (net__S.ticks % 4 == 0) {                           /* every second */
        exam_lives_tick(&net__S.lives, kc_now_ms(), on_deadline, NULL);
        /* The sweep in parts, one per sweep worker, when the last round is done. */
        int parts = net__S.cfg->pools[SRV_POOL_SWEEP].workers;
        int queued = 0;
        for (int k = 0; !net__S.sweep_inflight && k < parts; k++) {
            srv_job *j = net__job_new(SRV_JOB_SWEEP, 0, -1);
            if (!j) break;
            j->m.offset = k;
            j->m.limit = parts;
            if (net__enqueue(j)) { srv_job_free(j); break; }
            queued++;
        }
        if (queued) net__S.sweep_inflight = queued;          /* counted down by the results */
        /* Deadlines others changed, with an overlap (a change stamped before may commit after). */
        if (!net__S.changes_inflight) {
            srv_job *j = net__job_new(SRV_JOB_CHANGES, 0, -1);
            int64_t now = kc_now_ms();
            if (j) {
                j->m.offset = net__S.changes_since ? net__S.changes_since - 10000 : now - 10000;
                /* Takeovers: from where the last look that went through began (its time in
                 * MariaDB's clock, which stamps them). */
                j->taken_since = net__S.taken_since;
                /* Shared logins: the first look after the start reaches back a whole window
                 * (a restart does not forget them), then on by id, overlapping the last
                 * thousand (ids commit out of order; the seen ones are skipped). */
                j->fails_window_s = net__S.taken_since ? 0 : net__S.cfg->limits.fail_window_s;
                j->fails_after = net__S.fails_max_id > 1000 ? net__S.fails_max_id - 1000 : 0;
                if (net__enqueue(j)) srv_job_free(j);
                else { net__S.changes_inflight = 1; net__S.changes_since = now; }
            }
        }
    }
    if (net__S.ticks % 8 == 0) flush_events();           /* every two seconds */
    if (net__S.ticks % 8 == 1) holders_job(kc_now_ms());  /* ... and the lease, at once after start */
    /* Papers of sessions that open soon: at start, then every 30 s. */
    if ((net__S.ticks == 2 || net__S.ticks % 120 == 0) && !net__S.prepare_inflight) {
        srv_job *j = net__job_new(SRV_JOB_PREPARE, 0, -1);
        if (j && net__enqueue(j)) srv_job_free(j);
        else if (j) net__S.prepare_inflight = 1;
    }
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop; (void)revents;
    if (net__S.stopping) return;
    KC_INFO("server", "signal=%d stopping: no new work, finishing pending DB work", w->signum);
    net__S.stopping = 1;
}

static void lws_log_emit(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
    kc_log(level == LLL_ERR ? KC_LOG_ERROR : KC_LOG_WARN, "lws", "%.*s", (int)n, line);
}

/* Raises the soft limit of open files to the hard one and returns it, or 0 after logging
 * why max_connections cannot fit. lws's fd table is then sized to that limit: below it,
 * lws 4.1 finds a socket's connection by scanning the whole table on every event. */
static unsigned fd_limit(const srv_config *cfg)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl)) {
        KC_ERROR("server", "getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
        return 0;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t want = rl.rlim_max;
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl))
            KC_WARN("server", "cannot raise the open-file limit to %llu: %s",
                    (unsigned long long)want, strerror(errno));
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    rlim_t have = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1u << 22) ? (1u << 22) : rl.rlim_cur;
    /* Besides clients: listening sockets, one DB connection per worker, the event loop,
     * the log, files being served, and a margin. */
    unsigned workers = 0;
    for (int i = 0; i < SRV_POOLS; i++) workers += (unsigned)cfg->pools[i].workers;
    unsigned long long need = (unsigned long long)cfg->max_connections + workers + 64;
    if (need > have) {
        KC_ERROR("server", "server.max_connections=%d needs %llu open files, but this process may "
                 "open %llu (ulimit -n; hard limit %llu): lower server.max_connections or raise "
                 "the limit (LimitNOFILE= in a systemd unit)", cfg->max_connections, need,
                 (unsigned long long)have, (unsigned long long)rl.rlim_max);
        return 0;
    }
    return (unsigned)have;
}

/* A subscriber got something to send: its connection asks to be writable. */
static void fanout_wake(void *arg, uint32_t sub)
{
    (void)arg;
    if (sub < (uint32_t)net__S.cfg->max_connections && net__S.conns[sub].wsi)
        lws_callback_on_writable(net__S.conns[sub].wsi);
}

static void mount(struct lws_http_mount *m, const char *point, const char *origin, int proto,
                  const struct lws_http_mount *next)
{
    memset(m, 0, sizeof *m);
    m->mountpoint = point;
    m->mountpoint_len = (unsigned char)strlen(point);
    m->origin = origin;
    m->origin_protocol = (unsigned char)proto;
    m->mount_next = next;
}

int net_serve(const srv_config *cfg)
{
    memset(&net__S, 0, sizeof net__S);
    net__S.cfg = cfg;
    unsigned fds = fd_limit(cfg);      /* before anything is opened or allocated */
    if (!fds) return 1;
    signal(SIGPIPE, SIG_IGN);
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
    /* A hall's start allocates and frees tens of MB of jobs and replies within a second;
     * glibc would give the heap's top back after each wave and fault it in again (page
     * clearing was a quarter of the service thread's time in the burst). Keep it. */
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_TOP_PAD, 16 << 20);

    /* The token secret comes from the database; check it is reachable before listening. */
    kc_db db;
    if (kc_db_open(&db, &cfg->db)) {
        KC_ERROR("db", "%s", db.err);
        kc_db_close(&db);
        return 1;
    }
    if (exam_token_secret_load(&db, net__S.token_key)) {
        KC_ERROR("db", "loading the token secret: %s (did you run `kaochang db migrate`?)", db.err);
        kc_db_close(&db);
        return 1;
    }
    /* This run of the node, in attempt.holder_boot: what an earlier run held is nobody's.
     * Its lease goes in before the first login can claim anything. */
    while (!net__S.x.node_boot) {
        if (kc_random(&net__S.x.node_boot, sizeof net__S.x.node_boot)) {
            KC_ERROR("server", "no randomness for the node's boot id");
            kc_db_close(&db);
            return 1;
        }
        net__S.x.node_boot &= 0x7fffffffffffffffull;   /* fits a signed BIGINT too */
    }
    net__S.x.node_id = cfg->node_id;
    if (exam_lease(&db, &net__S.x)) {
        KC_ERROR("db", "writing this node's lease: %s (did you run `kaochang db migrate`?)", db.err);
        kc_db_close(&db);
        return 1;
    }
    kc_db_close(&db);
    staff_key_derive(net__S.token_key, net__S.staff_key);
    media_key_derive(net__S.token_key, net__S.media_key);
    net__S.x.token_key = net__S.token_key;
    net__S.x.staff_key = net__S.staff_key;
    net__S.x.media_key = net__S.media_key;
    net__S.x.answer_batch = cfg->answer_batch;
    net__S.x.prepare_before_min = cfg->prepare_before_min;
    net__S.x.max_message = cfg->max_message;

    char terr[200] = "";
    if (!(net__S.throttle = net_throttle_new(&cfg->limits, terr, sizeof terr))) {
        KC_ERROR("server", "%s", terr[0] ? terr : "out of memory for the login throttle");
        return 1;
    }
    if (kc_map_init(&net__S.fails_seen, FAILS_SEEN * 2) || !(net__S.fails_ring = calloc(FAILS_SEEN, sizeof *net__S.fails_ring))) {
        KC_ERROR("server", "out of memory for the shared failed logins");
        return 1;
    }
    net_fanout_conf fc = {.max_subs = (uint32_t)cfg->max_connections, .headroom = LWS_PRE,
                          .wake = fanout_wake};
    if (net_fanout_new(&fc, &net__S.fanout)) {
        KC_ERROR("server", "out of memory for the fan-out of %d connections", cfg->max_connections);
        return 1;
    }
    net__S.conns = calloc((size_t)cfg->max_connections, sizeof *net__S.conns);
    net__S.free_slots = calloc((size_t)cfg->max_connections, sizeof *net__S.free_slots);
    if (cfg->idle_close_s <= cfg->idle_ping_s) {
        KC_ERROR("server", "server.idle_close (%d s) must be longer than server.idle_ping (%d s)",
                 cfg->idle_close_s, cfg->idle_ping_s);
        return 1;
    }
    /* Attempts outlive their connection for 15 minutes (a reconnect finds them); room for
     * as many again as there are connections. */
    if (!net__S.conns || !net__S.free_slots ||
        exam_lives_init(&net__S.lives, (uint32_t)cfg->max_connections * 2, 15 * 60000, kc_now_ms()) ||
        kc_wheel_init(&net__S.alive, (uint32_t)cfg->max_connections, 128, kc_now_ms() / 1000)) {
        KC_ERROR("server", "out of memory for %d connection slots", cfg->max_connections);
        return 1;
    }
    /* Generations start at 1, so no connection's handle is 0 ("no connection" in a live
     * entry), not even slot 0's first. */
    for (int i = cfg->max_connections - 1; i >= 0; i--) {
        net__S.conns[i].gen = 1;
        net__S.free_slots[net__S.nfree++] = (uint32_t)i;
    }
    proct_buffer_init(&net__S.events, 200000);
    if (net__http_start(cfg)) return 1;
    pthread_mutex_init(&net__S.rlock, NULL);

    net__S.loop = ev_default_loop(0);
    void *foreign[1] = {net__S.loop};

    static char static_dir[600];
    snprintf(static_dir, sizeof static_dir, "%s/static", cfg->web_root);
    static const struct lws_protocol_vhost_options mime_css = {NULL, NULL, ".css", "text/css; charset=utf-8"};
    static const struct lws_protocol_vhost_options mime_js = {&mime_css, NULL, ".js", "text/javascript; charset=utf-8"};
    static const struct lws_protocol_vhost_options mimes = {&mime_js, NULL, ".html", "text/html; charset=utf-8"};
    /* HTML is never cached (it names the asset versions); assets are versioned by a
     * content hash in their URL, so they may be cached for a year. */
    struct lws_http_mount m_root, m_static, m_health, m_metrics, m_api, m_media;
    mount(&m_root, "/", cfg->web_root, LWSMPRO_FILE, NULL);
    m_root.def = "index.html";
    m_root.extra_mimetypes = &mimes;
    mount(&m_static, "/static", static_dir, LWSMPRO_FILE, &m_root);
    m_static.extra_mimetypes = &mimes;
    m_static.cache_max_age = 31536000;
    m_static.cache_reusable = 1;
    m_static.cache_intermediaries = 1;
    /* /healthz, /metrics, /api and /media are answered by the "http" protocol's callback. */
    mount(&m_health, "/healthz", "http", LWSMPRO_CALLBACK, &m_static);
    mount(&m_metrics, "/metrics", "http", LWSMPRO_CALLBACK, &m_health);
    mount(&m_api, "/api", "http", LWSMPRO_CALLBACK, &m_metrics);
    mount(&m_media, "/media", "http", LWSMPRO_CALLBACK, &m_api);

    /* Zero turns lws's validity timers off (see "liveness" above: ours replace them). */
    static const lws_retry_bo_t retry = {
        .secs_since_valid_ping = 0,
        .secs_since_valid_hangup = 0,
    };
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = cfg->port;
    info.iface = cfg->listen[0] ? cfg->listen : NULL;
    info.protocols = protocols;
    info.mounts = &m_media;
    info.foreign_loops = foreign;
    info.retry_and_idle_policy = &retry;
    info.vhost_name = "kaochang";
    info.options = LWS_SERVER_OPTION_LIBEV | LWS_SERVER_OPTION_VALIDATE_UTF8 |
                   LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE;
    info.fd_limit_per_thread = fds;

    net__S.ctx = lws_create_context(&info);
    if (!net__S.ctx) {
        KC_ERROR("server", "could not listen on %s:%d (is the port in use, or libwebsockets-evlib-ev missing?)",
                  cfg->listen[0] ? cfg->listen : "*", cfg->port);
        return 1;
    }

    static const net_pool_ops ops = {NULL, w_begin, w_end, w_group, w_run, w_done, w_exited};
    char err[160];
    net__S.pools = net_pools_start(cfg->pools, cfg->answer_batch, &ops, err, sizeof err);
    if (!net__S.pools || err[0]) {
        KC_ERROR("server", "%s", net__S.pools ? err : "out of memory for the worker pools");
        return 1;     /* returning from main ends the workers already started */
    }

    ev_timer_init(&net__S.tick, on_tick, 0.25, 0.25);
    ev_timer_start(net__S.loop, &net__S.tick);
    ev_signal_init(&net__S.sig_int, on_signal, SIGINT);
    ev_signal_start(net__S.loop, &net__S.sig_int);
    ev_signal_init(&net__S.sig_term, on_signal, SIGTERM);
    ev_signal_start(net__S.loop, &net__S.sig_term);

    KC_INFO("server", "listening url=http://%s:%d/ web_root=%s open_files=%u pools=answers:%d,exam:%d,sweep:%d,staff:%d,media:%d",
             cfg->listen[0] ? cfg->listen : "0.0.0.0", cfg->port, cfg->web_root, fds,
             cfg->pools[SRV_POOL_ANSWERS].workers, cfg->pools[SRV_POOL_EXAM].workers,
             cfg->pools[SRV_POOL_SWEEP].workers, cfg->pools[SRV_POOL_STAFF].workers,
             cfg->pools[SRV_POOL_MEDIA].workers);
    ev_run(net__S.loop, 0);

    /* Paced messages still waiting will not run (and nothing may queue them now). */
    for (srv_job *j = net__S.paced_head, *n; j; j = n) { n = j->next; srv_job_free(j); }
    net__S.paced_head = net__S.paced_tail = NULL;
    net__S.paced_waiting = 0;
    /* Jobs still queued can only be events of connections closed during shutdown. */
    net_pools_free(net__S.pools);
    if (net__S.ctx) lws_context_destroy(net__S.ctx);
    for (srv_job *j = net__S.rh, *n; j; j = n) { n = j->next; srv_job_free(j); }
    if (net__S.events.dropped)
        KC_WARN("proct", "events dropped=%llu (buffer full)", (unsigned long long)net__S.events.dropped);
    proct_buffer_free(&net__S.events);
    for (int i = 0; i < cfg->max_connections; i++) {
        free(net__S.conns[i].rx);
        for (struct out *o = net__S.conns[i].oh, *n; o; o = n) { n = o->next; free(o); }
    }
    free(net__S.conns);
    free(net__S.free_slots);
    exam_lives_free(&net__S.lives);
    free(net__S.gone);
    free(net__S.reclaim);
    free(net__S.fails);
    free(net__S.fails_ring);
    kc_map_free(&net__S.fails_seen);
    net_throttle_free(net__S.throttle);
    net_fanout_free(net__S.fanout);
    net__http_end();
    kc_wheel_free(&net__S.alive);
    KC_INFO("server", "stopped");
    return 0;
}

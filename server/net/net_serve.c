/* `kaochang serve`: one libwebsockets context on a libev loop (the service thread) and a
 * fixed pool of DB worker threads.
 *
 * The service thread never blocks: it parses and validates messages, answers what it can
 * from memory (time, heartbeats) and queues everything that needs the database. Workers
 * hand finished jobs back through a result queue and lws_cancel_service(); the service
 * thread drains it in LWS_CALLBACK_EVENT_WAIT_CANCELLED. Jobs name their connection by
 * (slot, generation), never by struct lws *, so a result for a connection that closed in
 * the meantime is recognised and dropped. */
#include "net.h"
#include "../exam/exam.h"
#include "../staff/staff.h"
#include "../media/media.h"

#include <ev.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <sodium.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OUT_QUEUE_MAX 256          /* messages waiting for a slow client before we drop it */
#define LOGIN_FAILS_MAX 10
#define OUT_BYTES_MAX (8u << 20)   /* bytes waiting for one client */
#define INFLIGHT_MAX 4             /* login/resume/start/submit jobs per connection */
#define ANSWERS_INFLIGHT_MAX 256   /* answers per connection waiting for their commit */

struct out {
    struct out *next;
    size_t len;
    unsigned char data[];          /* LWS_PRE bytes of headroom, then the message */
};

struct conn {
    uint32_t gen;
    struct lws *wsi;               /* NULL when the slot is free */
    char *rx;
    size_t rx_len, rx_cap;
    int rx_over;                   /* dropping the rest of an oversized message */
    struct out *oh, *ot;
    int on;
    size_t out_bytes;
    int inflight, answers_inflight;
    int closing;
    int login_fails;
    int authed;                    /* a candidate's connection: live holds the attempt */
    int staff;                     /* a staff member's connection (never both) */
    uint64_t staff_id;
    unsigned roles;
    char staff_login[65];
    srv_live live;
};

struct pss { uint32_t slot; };

struct http_pss {
    int status;
    size_t len;
    char body[1280];
    /* POST /api/bank/import: the body is collected here, parsed and stored on a worker,
     * and the reply sent when the job comes back. */
    int import;                    /* 1 collecting, 2 queued, 3 replying */
    uint32_t slot;                 /* in S.https, while import */
    int over, refused;
    int uploading;                 /* counted in S.uploading while its body arrives */
    char *in;
    size_t in_len, in_cap;
    char format[16], name[128];
    int dry_run;
    uint64_t staff_id;
    unsigned roles;
    char *out;
    size_t out_len, out_off;
    int headers_sent;
    /* GET /media/<sha256>: checked here, read on a worker, sent like an import's reply */
    int media;
    char mime[101];                /* of a 200 media reply; other replies are JSON */
};

#define HTTP_IMPORTS_MAX 64        /* imports and media requests waiting on a worker */
#define UPLOADS_MAX 8              /* import bodies arriving at once (a slow client holds one) */
#define IMPORT_BYTES_MAX ((size_t)64 << 20)

struct hconn { uint32_t gen; struct lws *wsi; struct http_pss *p; };

static struct server {
    const srv_config *cfg;
    struct lws_context *ctx;
    struct ev_loop *loop;
    ev_timer tick;
    ev_signal sig_int, sig_term;
    int ticks;

    struct conn *conns;
    uint32_t *free_slots;
    int nfree, nconns;
    kc_map attempts;               /* attempt id -> slot of its latest connection */

    net_pools *pools;
    pthread_mutex_t rlock;         /* finished jobs, handed back by the workers */
    srv_job *rh, *rt;
    atomic_int workers_connected;
    atomic_ullong answers_committed;

    struct hconn https[HTTP_IMPORTS_MAX];
    unsigned char token_key[32];
    unsigned char staff_key[32];
    unsigned char media_key[32];
    srv_ctx x;
    proct_buffer events;
    int sweep_inflight, prepare_inflight;
    int uploading, imports_running;
    int heavy_running;             /* SRV_CMD_HEAVY jobs queued or running */
    int stopping;
} S;

/* ---- sending ---- */

static uint64_t handle_of(uint32_t slot) { return ((uint64_t)slot << 32) | S.conns[slot].gen; }

static struct conn *conn_of(uint64_t h)
{
    uint32_t slot = (uint32_t)(h >> 32);
    if (slot >= (uint32_t)S.cfg->max_connections) return NULL;
    struct conn *c = &S.conns[slot];
    return c->wsi && c->gen == (uint32_t)h ? c : NULL;
}

static void send_text(struct conn *c, const char *s)
{
    if (!s || !c->wsi) return;
    size_t n = strlen(s);
    if (c->on >= OUT_QUEUE_MAX || c->out_bytes + n > OUT_BYTES_MAX) {
        /* A client that does not read its replies cannot be helped by queueing more. */
        KC_WARN("ws", "outbound queue full, closing attempt=%llu", (unsigned long long)c->live.attempt_id);
        c->closing = 1;
        lws_callback_on_writable(c->wsi);
        return;
    }
    struct out *o = malloc(sizeof *o + LWS_PRE + n);
    if (!o) return;
    o->next = NULL;
    o->len = n;
    memcpy(o->data + LWS_PRE, s, n);
    if (c->ot) c->ot->next = o; else c->oh = o;
    c->ot = o;
    c->on++;
    c->out_bytes += n;
    lws_callback_on_writable(c->wsi);
}

static void send_error(struct conn *c, int64_t id, const char *code, const char *field,
                       const char *message)
{
    char *s = srv_msg_error_json(id, code, field, message);
    send_text(c, s);
    free(s);
}

/* ---- jobs to the pools ---- */

static srv_job *job_new(enum srv_job_kind kind, uint64_t conn, int64_t req_id)
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

static int enqueue(srv_job *j) { return net_pools_push(S.pools, pool_of(j), j); }

/* ---- the workers' side (srv_pool.c runs these on each pool's threads) ---- */

static void fail_jobs(srv_job **jobs, int n, const char *why)
{
    for (int i = 0; i < n; i++) {
        free(jobs[i]->reply);
        jobs[i]->reply = srv_msg_error_json(jobs[i]->req_id, "internal", NULL, why);
        jobs[i]->ok = 0;
    }
}

static int stopping_now(void) { return __atomic_load_n(&S.stopping, __ATOMIC_ACQUIRE) != 0; }

static int connect_until(kc_db *db, int first)
{
    for (int tries = 0;; tries++) {
        int rc = first && tries == 0 ? kc_db_open(db, &S.cfg->db) : kc_db_reconnect(db);
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
    if (w->connected) atomic_fetch_add(&S.workers_connected, 1);
    return w;
}

static void w_end(void *arg, void *state)
{
    struct wstate *w = state;
    if (!w) return;
    if (w->connected) atomic_fetch_sub(&S.workers_connected, 1);
    kc_db_close(&w->db);
    kc_db_thread_end();
    free(w);
}

static int run_one(kc_db *db, srv_job *j)
{
    switch (j->kind) {
    case SRV_JOB_MSG: return net_cmd_run(db, &S.x, j);
    case SRV_JOB_SWEEP: return exam_sweep(db, &S.x, j);
    case SRV_JOB_EVENTS: return exam_events(db, &S.x, j);
    case SRV_JOB_PREPARE: return exam_prepare_due(db, &S.x, j);
    case SRV_JOB_IMPORT: return staff_bank_import(db, &S.x, j);
    case SRV_JOB_MEDIA: return media_run(db, &S.x, j);
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
            if (w->connected) atomic_fetch_sub(&S.workers_connected, 1);
            w->connected = connect_until(&w->db, 0) == 0;
            if (!w->connected) {
                w->gave_up = stopping_now();
                break;
            }
            atomic_fetch_add(&S.workers_connected, 1);
            KC_INFO("db", "pool=%s reconnected", net_pool_names[pool]);
        }
        rc = pool == SRV_POOL_ANSWERS ? exam_answers(&w->db, &S.x, jobs, n) : run_one(&w->db, jobs[0]);
    }
    if (rc) {
        KC_ERROR("db", "pool=%s job failed rc=%d: %s", net_pool_names[pool], rc, w ? w->db.err : "no memory");
        fail_jobs(jobs, n, "the server could not reach the database; please retry");
    } else if (pool == SRV_POOL_ANSWERS) {
        unsigned long long stored = 0;
        for (int i = 0; i < n; i++) stored += jobs[i]->ok != 0;   /* refused ones are not */
        atomic_fetch_add(&S.answers_committed, stored);
    }
}

static void w_done(void *arg, srv_job **jobs, int n)
{
    pthread_mutex_lock(&S.rlock);
    for (int i = 0; i < n; i++) {
        if (S.rt) S.rt->next = jobs[i]; else S.rh = jobs[i];
        S.rt = jobs[i];
    }
    pthread_mutex_unlock(&S.rlock);
    lws_cancel_service(S.ctx);
}

/* Wake the loop: once no worker is left the context may be destroyed. */
static void w_exited(void *arg) { lws_cancel_service(S.ctx); }

/* ---- results, on the service thread ---- */

static void http_import_done(srv_job *j);

static void bind_attempt(struct conn *c, uint32_t slot, srv_job *j)
{
    if (c->authed && c->live.attempt_id != j->attempt_id) {
        uint64_t v;
        if (kc_map_get(&S.attempts, c->live.attempt_id, &v) && v == slot)
            kc_map_del(&S.attempts, c->live.attempt_id);
    }
    c->authed = 1;
    c->login_fails = 0;
    if (kc_map_put(&S.attempts, j->attempt_id, slot))
        KC_WARN("ws", "out of memory for the attempt map; pushes to attempt=%llu may miss",
                (unsigned long long)j->attempt_id);
    proct_buffer_add(&S.events, j->attempt_id, kc_now_ms(), "connect",
                     !strcmp(j->cmd->name, "login") ? "login" : "resume");
}

static void handle_result(srv_job *j)
{
    switch (j->kind) {
    case SRV_JOB_SWEEP:
        S.sweep_inflight = 0;
        for (int i = 0; i < j->n_swept; i++) {
            uint64_t slot;
            if (!kc_map_get(&S.attempts, j->swept[i], &slot)) continue;
            struct conn *c = &S.conns[slot];
            if (!c->wsi || c->live.attempt_id != j->swept[i]) continue;
            c->live.status = SRV_ST_SUBMITTED;
            send_text(c, j->swept_replies[i]);
        }
        return;
    case SRV_JOB_EVENTS: return;
    case SRV_JOB_PREPARE: S.prepare_inflight = 0; return;
    case SRV_JOB_IMPORT:
    case SRV_JOB_MEDIA: http_import_done(j); return;
    case SRV_JOB_MSG: break;
    }
    const srv_cmd *cmd = j->cmd;
    if (cmd->flags & SRV_CMD_HEAVY) S.heavy_running--;   /* also for a closed connection */
    struct conn *c = conn_of(j->conn);
    if (!c) return;                                 /* the connection is gone: drop */
    uint32_t slot = (uint32_t)(j->conn >> 32);
    if (cmd->pool == SRV_POOL_ANSWERS) c->answers_inflight--;
    else c->inflight--;
    if (cmd->flags & (SRV_CMD_LOGIN | SRV_CMD_STAFF_LOGIN)) {
        int staff = cmd->flags & SRV_CMD_STAFF_LOGIN;
        /* The connection may have become the other kind while the job ran. */
        if (j->ok && (staff ? c->authed : c->staff)) {
            send_error(c, j->req_id, "forbidden", NULL, staff ? "this connection belongs to a candidate"
                                                              : "this connection belongs to a staff member");
            return;
        }
        if (!j->ok) {
            if (++c->login_fails >= LOGIN_FAILS_MAX) c->closing = 1;   /* slow down guessing */
        } else if (staff) {
            c->staff = 1;
            c->staff_id = j->staff_id;
            c->roles = j->roles;
            snprintf(c->staff_login, sizeof c->staff_login, "%s", j->login);
            c->login_fails = 0;
            KC_INFO("staff", "login=%s %s", j->login, cmd->name);
        } else {
            bind_attempt(c, slot, j);
        }
    }
    /* Start and submit move the attempt's state; a job queued before the connection
     * logged in as someone else changes nothing (exam_live_apply checks the attempt). */
    if (c->authed) exam_live_apply(&c->live, j);
    send_text(c, j->reply);
}

static void drain_results(void)
{
    pthread_mutex_lock(&S.rlock);
    srv_job *j = S.rh;
    S.rh = S.rt = NULL;
    pthread_mutex_unlock(&S.rlock);
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
        send_error(c, e.id, e.code, e.field, e.message);
        return;
    }
    const srv_cmd *cmd = m.cmd;
    int64_t now = kc_now_ms();
    srv_job *j = NULL;
    const char *busy = NULL;
    if (S.stopping) {
        busy = "the server is restarting; retry in a moment";
        goto refuse_busy;
    }
    if (net_cmd_allowed(cmd, c->authed, c->staff, c->roles, &e)) {
        send_error(c, m.id, e.code, NULL, e.message);
        goto out;
    }
    if (cmd->pool == SRV_LOCAL) {
        char *reply = cmd->local(&c->live, &m, now, &S.events);
        if (reply) send_text(c, reply);
        else send_error(c, m.id, "internal", NULL, "out of memory");
        free(reply);
        goto out;
    }
    if (net_pools_full(S.pools, cmd->pool)) {
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
    if ((cmd->flags & SRV_CMD_HEAVY) && S.heavy_running >= S.cfg->staff_heavy) {
        busy = "another paper job is running; retry in a moment";
        goto refuse_busy;
    }
    if (cmd->admit && cmd->admit(&c->live, &m, now, &e)) {
        send_error(c, m.id, e.code, e.field, e.message);
        goto out;
    }
    if (!(j = job_new(SRV_JOB_MSG, handle_of(slot), m.id))) {
        send_error(c, m.id, "internal", NULL, "out of memory");
        goto out;
    }
    j->cmd = cmd;
    j->m = m;                          /* the job owns m.obj now */
    j->text = m.obj;
    j->text_len = m.obj ? strlen(m.obj) : 0;
    j->m.obj = m.obj = NULL;
    j->attempt_id = c->live.attempt_id;
    j->staff_id = c->staff_id;
    j->roles = c->roles;
    snprintf(j->login, sizeof j->login, "%s", c->staff_login);
    if (enqueue(j)) {
        srv_job_free(j);
        busy = "the server is busy; retry in a moment";
        goto refuse_busy;
    }
    if (cmd->pool == SRV_POOL_ANSWERS) c->answers_inflight++;
    else c->inflight++;
    if (cmd->flags & SRV_CMD_HEAVY) S.heavy_running++;
    goto out;
refuse_busy:
    send_error(c, m.id, "busy", NULL, busy);
out:
    if (cmd->flags & SRV_CMD_SECRET) sodium_memzero(&m, sizeof m);
    srv_msg_free(&m);
}

/* ---- libwebsockets callbacks ---- */

static void conn_release(uint32_t slot)
{
    struct conn *c = &S.conns[slot];
    if (c->authed) {
        uint64_t v;
        if (kc_map_get(&S.attempts, c->live.attempt_id, &v) && v == slot)
            kc_map_del(&S.attempts, c->live.attempt_id);
        proct_buffer_add(&S.events, c->live.attempt_id, kc_now_ms(), "disconnect", "");
    }
    free(c->rx);
    exam_live_clear(&c->live);
    for (struct out *o = c->oh, *n; o; o = n) { n = o->next; free(o); }
    uint32_t gen = c->gen + 1;
    memset(c, 0, sizeof *c);
    c->gen = gen;
    S.free_slots[S.nfree++] = slot;
    S.nconns--;
}

static int cb_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
    struct pss *p = user;
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        drain_results();
        return 0;
    case LWS_CALLBACK_ESTABLISHED: {
        if (!S.nfree || S.stopping) return -1;
        uint32_t slot = S.free_slots[--S.nfree];
        struct conn *c = &S.conns[slot];
        c->wsi = wsi;
        p->slot = slot;
        S.nconns++;
        return 0;
    }
    case LWS_CALLBACK_CLOSED:
        if (S.conns[p->slot].wsi == wsi) conn_release(p->slot);
        return 0;
    case LWS_CALLBACK_RECEIVE: {
        struct conn *c = &S.conns[p->slot];
        if (c->wsi != wsi) return -1;
        if (lws_is_first_fragment(wsi)) {
            c->rx_len = 0;
            c->rx_over = 0;
        }
        if (!c->rx_over) {
            if (c->rx_len + len > (size_t)S.cfg->max_message) {
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
            snprintf(msg, sizeof msg, "message larger than %d bytes", S.cfg->max_message);
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
        return 0;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        struct conn *c = &S.conns[p->slot];
        if (c->wsi != wsi) return -1;
        struct out *o = c->oh;
        if (o) {
            c->oh = o->next;
            if (!c->oh) c->ot = NULL;
            c->on--;
            c->out_bytes -= o->len;
            int n = lws_write(wsi, o->data + LWS_PRE, o->len, LWS_WRITE_TEXT);
            free(o);
            if (n < 0) return -1;
        }
        if (c->oh) lws_callback_on_writable(wsi);
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

/* ---- POST /api/bank/import ---- */

static void http_release(struct http_pss *p)
{
    if (p->import && S.https[p->slot].p == p) {
        S.https[p->slot].wsi = NULL;
        S.https[p->slot].p = NULL;
        S.https[p->slot].gen++;
    }
    if (p->uploading) {
        p->uploading = 0;
        S.uploading--;
    }
    free(p->in);
    free(p->out);
    p->in = p->out = NULL;
    p->import = 0;
}

/* Answers at once (an error found before the body is read) or when the job is done. */
static void http_reply_n(struct lws *wsi, struct http_pss *p, int status, char *body, size_t len)
{
    free(p->out);
    p->status = status;
    p->out = body;
    p->out_len = len;
    p->out_off = 0;
    p->headers_sent = 0;
    p->import = 3;
    lws_callback_on_writable(wsi);
}

static void http_reply(struct lws *wsi, struct http_pss *p, int status, char *json)
{
    http_reply_n(wsi, p, status, json, json ? strlen(json) : 0);
}

static void http_refuse(struct lws *wsi, struct http_pss *p, int status, const char *code,
                        const char *msg)
{
    p->refused = 1;
    http_reply(wsi, p, status, srv_msg_error_json(-1, code, NULL, msg));
}

static int http_slot(void)
{
    for (int i = 0; i < HTTP_IMPORTS_MAX; i++)
        if (!S.https[i].wsi) return i;
    return -1;
}

/* The slot (and its handle) is taken only when the body is complete and the job queued,
 * so uploads still arriving never hold up media requests. */
static int import_begin(struct lws *wsi, struct http_pss *p, const char *uri)
{
    p->import = 1;
    if (strcmp(uri, "/api/bank/import")) {
        http_refuse(wsi, p, 404, "not_found", "no such endpoint; POST /api/bank/import");
        return 0;
    }
    if (S.stopping) {
        http_refuse(wsi, p, 503, "busy", "the server is restarting; retry in a moment");
        return 0;
    }
    char auth[300] = "", arg[160];
    uint64_t sid;
    unsigned roles;
    if (lws_hdr_copy(wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION) <= 7 ||
        strncmp(auth, "Bearer ", 7) ||
        staff_token_check(S.staff_key, auth + 7, kc_now_ms(), &sid, &roles)) {
        http_refuse(wsi, p, 401, "bad_token", "send a valid staff token: Authorization: Bearer TOKEN");
        return 0;
    }
    if (!(roles & (SRV_ROLE_AUTHOR | SRV_ROLE_ADMIN))) {
        http_refuse(wsi, p, 403, "forbidden", "your roles do not allow imports");
        return 0;
    }
    const char *v = lws_get_urlarg_by_name(wsi, "format=", arg, sizeof arg);
    snprintf(p->format, sizeof p->format, "%s", v ? v : "");
    v = lws_get_urlarg_by_name(wsi, "dry_run=", arg, sizeof arg);
    p->dry_run = v && strcmp(v, "0") && strcmp(v, "false");
    v = lws_get_urlarg_by_name(wsi, "name=", arg, sizeof arg);
    snprintf(p->name, sizeof p->name, "%s", v && *v ? v : "upload");
    char cl[32] = "";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0 ||
        lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0) {
        http_refuse(wsi, p, 411, "length_required", "send the file as the body with a Content-Length");
        return 0;
    }
    if (strtoull(cl, NULL, 10) > IMPORT_BYTES_MAX) {
        http_refuse(wsi, p, 413, "too_large", "the file is larger than 64 MiB");
        return 0;
    }
    if (S.uploading >= UPLOADS_MAX) {
        http_refuse(wsi, p, 503, "busy", "too many uploads at once; retry in a moment");
        return 0;
    }
    p->uploading = 1;
    S.uploading++;
    p->staff_id = sid;
    p->roles = roles;
    return 0;
}

static int import_body(struct http_pss *p, const void *in, size_t len)
{
    if (p->refused || p->over || !len) return 0;   /* an empty body arrives as (NULL, 0) */
    if (p->in_len + len > IMPORT_BYTES_MAX) {
        p->over = 1;
        return 0;
    }
    if (p->in_len + len + 1 > p->in_cap) {
        size_t cap = p->in_cap ? p->in_cap : 65536;
        while (cap < p->in_len + len + 1) cap *= 2;
        char *b = realloc(p->in, cap);
        if (!b) { p->over = 1; return 0; }
        p->in = b;
        p->in_cap = cap;
    }
    memcpy(p->in + p->in_len, in, len);
    p->in_len += len;
    p->in[p->in_len] = 0;
    return 0;
}

static void import_queue(struct lws *wsi, struct http_pss *p)
{
    if (p->refused) return;
    if (p->uploading) {
        p->uploading = 0;
        S.uploading--;
    }
    if (p->over) {
        http_refuse(wsi, p, 413, "too_large", "the file is larger than 64 MiB");
        return;
    }
    int slot = http_slot();
    /* An import holds a staff worker for seconds: it counts as a heavy job. */
    if (net_pools_full(S.pools, SRV_POOL_STAFF) || slot < 0 || S.heavy_running >= S.cfg->staff_heavy) {
        http_refuse(wsi, p, 503, "busy", S.heavy_running >= S.cfg->staff_heavy
                    ? "another import is being processed; retry in a moment"
                    : "the server is busy; retry in a moment");
        return;
    }
    srv_job *j = job_new(SRV_JOB_IMPORT, ((uint64_t)slot << 32) | S.https[slot].gen, -1);
    if (!j) {
        http_refuse(wsi, p, 500, "internal", "out of memory");
        return;
    }
    p->slot = (uint32_t)slot;
    S.https[slot].wsi = wsi;
    S.https[slot].p = p;
    j->http = 1;
    j->staff_id = p->staff_id;
    j->roles = p->roles;
    snprintf(j->format, sizeof j->format, "%s", p->format);
    snprintf(j->m.uid, sizeof j->m.uid, "%.64s", p->name);
    j->m.dry_run = p->dry_run;
    j->text = p->in ? p->in : calloc(1, 1);
    j->text_len = p->in_len;
    p->in = NULL;
    p->in_len = p->in_cap = 0;
    if (enqueue(j)) {
        srv_job_free(j);
        S.https[slot].wsi = NULL;
        S.https[slot].p = NULL;
        http_refuse(wsi, p, 503, "busy", "the server is busy; retry in a moment");
        return;
    }
    S.heavy_running++;
    p->import = 2;
}

/* ---- GET /media/<sha256>?e=EXPIRY&s=SIGNATURE ---- */

/* The signature is checked here (an HMAC: cheap); only a signed request costs a worker. */
static int media_begin(struct lws *wsi, struct http_pss *p, const char *uri)
{
    char e[32], sig[80];
    const char *ev = lws_get_urlarg_by_name(wsi, "e=", e, sizeof e);
    const char *sv = lws_get_urlarg_by_name(wsi, "s=", sig, sizeof sig);
    p->media = 1;
    p->import = 3;                       /* a reply of its own, until queued */
    if (media_check(S.media_key, uri + 7, ev, sv, kc_now_ms())) {
        http_refuse(wsi, p, 403, "forbidden", "the media link is invalid or expired; reload the page");
        return 0;
    }
    if (S.stopping || net_pools_full(S.pools, SRV_POOL_MEDIA)) {
        http_refuse(wsi, p, 503, "busy", "the server is busy; retry in a moment");
        return 0;
    }
    int slot = http_slot();
    if (slot < 0) {
        http_refuse(wsi, p, 503, "busy", "too many downloads at once; retry in a moment");
        return 0;
    }
    srv_job *j = job_new(SRV_JOB_MEDIA, ((uint64_t)slot << 32) | S.https[slot].gen, -1);
    if (!j) {
        http_refuse(wsi, p, 500, "internal", "out of memory");
        return 0;
    }
    p->slot = (uint32_t)slot;
    S.https[slot].wsi = wsi;
    S.https[slot].p = p;
    j->http = 1;
    snprintf(j->m.uid, sizeof j->m.uid, "%.64s", uri + 7);
    if (enqueue(j)) {
        srv_job_free(j);
        S.https[slot].wsi = NULL;
        S.https[slot].p = NULL;
        http_refuse(wsi, p, 503, "busy", "the server is busy; retry in a moment");
        return 0;
    }
    p->import = 2;
    return 0;
}

static void http_import_done(srv_job *j)
{
    if (j->kind == SRV_JOB_IMPORT) S.heavy_running--;   /* also when the client left */
    uint32_t slot = (uint32_t)(j->conn >> 32);
    if (slot >= HTTP_IMPORTS_MAX) return;
    struct hconn *h = &S.https[slot];
    if (!h->wsi || h->gen != (uint32_t)j->conn) return;   /* the client went away */
    if (j->kind == SRV_JOB_MEDIA && j->http_status == 200) {
        snprintf(h->p->mime, sizeof h->p->mime, "%s", j->mime);
        http_reply_n(h->wsi, h->p, 200, j->text, j->text_len);
        j->text = NULL;
        return;
    }
    if (j->kind == SRV_JOB_MEDIA && j->http_status == 404) {
        http_refuse(h->wsi, h->p, 404, "not_found", "no such media");
        return;
    }
    http_reply(h->wsi, h->p, j->http_status ? j->http_status : 500, j->reply);
    j->reply = NULL;
}

/* Images show inline; anything else (and SVG, which may carry script) only downloads. */
static int media_inline(const char *mime)
{
    return !strncmp(mime, "image/", 6) && strncmp(mime, "image/svg", 9);
}

static int import_write(struct lws *wsi, struct http_pss *p)
{
    if (p->import != 3) return 0;
    if (!p->headers_sent) {
        unsigned char buf[LWS_PRE + 1024], *start = &buf[LWS_PRE], *pos = start, *end = &buf[sizeof buf - 1];
        int bytes = p->media && p->status == 200;
        const char *cache = bytes ? "private, max-age=86400" : "no-store";
        if (lws_add_http_common_headers(wsi, (unsigned)p->status, bytes ? p->mime : "application/json",
                                        (lws_filepos_t)p->out_len, &pos, end) ||
            lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                         (const unsigned char *)cache, (int)strlen(cache), &pos, end))
            return 1;
        if (bytes && !media_inline(p->mime) &&
            lws_add_http_header_by_name(wsi, (const unsigned char *)"content-disposition:",
                                        (const unsigned char *)"attachment", 10, &pos, end))
            return 1;
        if (lws_finalize_write_http_header(wsi, start, &pos, end))
            return 1;
        p->headers_sent = 1;
        lws_callback_on_writable(wsi);
        return 0;
    }
    enum { CHUNK = 16384 };
    unsigned char buf[LWS_PRE + CHUNK];
    size_t n = p->out_len - p->out_off < CHUNK ? p->out_len - p->out_off : CHUNK;
    int final = p->out_off + n == p->out_len;
    if (n) memcpy(buf + LWS_PRE, p->out + p->out_off, n);
    if (lws_write(wsi, buf + LWS_PRE, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
        return 1;
    p->out_off += n;
    if (!final) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    http_release(p);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int cb_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
    struct http_pss *p = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP_BODY:
        return p && p->import ? import_body(p, in, len) : 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (p && p->import == 1) import_queue(wsi, p);
        return 0;
    case LWS_CALLBACK_CLOSED_HTTP:
        if (p) http_release(p);   /* a connection closed before its request has no pss */
        break;
    case LWS_CALLBACK_HTTP: {
        char uri[1024];
        int post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
        int got = lws_hdr_copy(wsi, uri, sizeof uri, post ? WSI_TOKEN_POST_URI : WSI_TOKEN_GET_URI);
        if (got <= 0) {                    /* longer than any URI of ours */
            if (lws_return_http_status(wsi, HTTP_STATUS_REQ_URI_TOO_LONG, NULL)) return -1;
            return lws_http_transaction_completed(wsi) ? -1 : 0;
        }
        if (post) {
            http_release(p);
            memset(p, 0, sizeof *p);
            return import_begin(wsi, p, uri);
        }
        if (!strncmp(uri, "/media/", 7)) {
            http_release(p);
            memset(p, 0, sizeof *p);
            return media_begin(wsi, p, uri);
        }
        if (strcmp(uri, "/healthz")) {
            if (lws_return_http_status(wsi, 404, NULL)) return -1;
            return lws_http_transaction_completed(wsi) ? -1 : 0;
        }
        /* Each pool's depth, so a class that falls behind shows which one it is. */
        int up = atomic_load(&S.workers_connected), workers = 0, queued = 0;
        char pools[900];
        size_t pn = 0;
        for (int i = 0; i < SRV_POOLS; i++) {
            net_pool_stats st;
            net_pools_stats(S.pools, i, &st);
            workers += st.workers;
            queued += st.queued;
            pn += (size_t)snprintf(pools + pn, sizeof pools - pn,
                                   "%s\"%s\":{\"workers\":%d,\"queued\":%d,\"running\":%d,\"bound\":%d,\"done\":%llu}",
                                   i ? "," : "", net_pool_names[i], st.workers, st.queued, st.running,
                                   st.bound, st.done);
            if (pn >= sizeof pools) pn = sizeof pools - 1;
        }
        p->status = up > 0 && !S.stopping ? 200 : 503;
        int n = snprintf(p->body, sizeof p->body,
                         "{\"ok\":%s,\"db_workers\":%d,\"db_connected\":%d,\"connections\":%d,"
                         "\"queued\":%d,\"answers_committed\":%llu,\"pools\":{%s},\"server_time\":%lld}\n",
                         p->status == 200 ? "true" : "false", workers, up, S.nconns, queued,
                         (unsigned long long)atomic_load(&S.answers_committed), pools,
                         (long long)kc_now_ms());
        p->len = (size_t)n < sizeof p->body ? (size_t)n : sizeof p->body - 1;
        unsigned char buf[LWS_PRE + 1024], *start = &buf[LWS_PRE], *pos = start,
                                            *end = &buf[sizeof buf - 1];
        if (lws_add_http_common_headers(wsi, (unsigned)p->status, "application/json",
                                        (lws_filepos_t)p->len, &pos, end) ||
            lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                         (const unsigned char *)"no-store", 8, &pos, end) ||
            lws_finalize_write_http_header(wsi, start, &pos, end))
            return 1;
        lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (p->import) return import_write(wsi, p);
        unsigned char buf[LWS_PRE + sizeof p->body];
        memcpy(buf + LWS_PRE, p->body, p->len);
        if (lws_write(wsi, buf + LWS_PRE, p->len, LWS_WRITE_HTTP_FINAL) != (int)p->len)
            return 1;
        if (lws_http_transaction_completed(wsi)) return -1;
        return 0;
    }
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    {"http", cb_http, sizeof(struct http_pss), 0, 0, NULL, 0},
    {"kaochang.v1", cb_ws, sizeof(struct pss), 1024, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0}};

/* ---- timers and shutdown, on the service thread ---- */

static void flush_events(void)
{
    proct_batch *b = proct_buffer_take(&S.events);
    if (!b) return;
    srv_job *j = job_new(SRV_JOB_EVENTS, 0, -1);
    if (!j) { proct_batch_free(b); return; }
    j->events = b;
    if (enqueue(j)) srv_job_free(j);      /* only when stopping: nothing runs it any more */
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w; (void)revents;
    S.ticks++;
    if (S.stopping) {
        if (S.stopping == 1) {
            flush_events();                  /* the last batch goes with the workers */
            net_pools_stop(S.pools);
            S.stopping = 2;
        }
        if (net_pools_alive(S.pools) == 0) {
            drain_results();
            ev_timer_stop(loop, &S.tick);
            ev_signal_stop(loop, &S.sig_int);
            ev_signal_stop(loop, &S.sig_term);
            lws_context_destroy(S.ctx);
            S.ctx = NULL;
            ev_break(loop, EVBREAK_ALL);
        }
        return;
    }
    if (S.ticks % 4 == 0 && !S.sweep_inflight) {   /* every second */
        srv_job *j = job_new(SRV_JOB_SWEEP, 0, -1);
        if (j && enqueue(j)) srv_job_free(j);
        else if (j) S.sweep_inflight = 1;
    }
    if (S.ticks % 8 == 0) flush_events();           /* every two seconds */
    /* Papers of sessions that open soon: at start, then every 30 s. */
    if ((S.ticks == 2 || S.ticks % 120 == 0) && !S.prepare_inflight) {
        srv_job *j = job_new(SRV_JOB_PREPARE, 0, -1);
        if (j && enqueue(j)) srv_job_free(j);
        else if (j) S.prepare_inflight = 1;
    }
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop; (void)revents;
    if (S.stopping) return;
    KC_INFO("server", "signal=%d stopping: no new work, finishing pending DB work", w->signum);
    S.stopping = 1;
}

static void lws_log_emit(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
    kc_log(level == LLL_ERR ? KC_LOG_ERROR : KC_LOG_WARN, "lws", "%.*s", (int)n, line);
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
    memset(&S, 0, sizeof S);
    S.cfg = cfg;
    signal(SIGPIPE, SIG_IGN);
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);

    /* The token secret comes from the database; check it is reachable before listening. */
    kc_db db;
    if (kc_db_open(&db, &cfg->db)) {
        KC_ERROR("db", "%s", db.err);
        kc_db_close(&db);
        return 1;
    }
    if (exam_token_secret_load(&db, S.token_key)) {
        KC_ERROR("db", "loading the token secret: %s (did you run `kaochang db migrate`?)", db.err);
        kc_db_close(&db);
        return 1;
    }
    kc_db_close(&db);
    staff_key_derive(S.token_key, S.staff_key);
    media_key_derive(S.token_key, S.media_key);
    S.x.token_key = S.token_key;
    S.x.staff_key = S.staff_key;
    S.x.media_key = S.media_key;
    S.x.answer_batch = cfg->answer_batch;
    S.x.prepare_before_min = cfg->prepare_before_min;
    S.x.max_message = cfg->max_message;

    S.conns = calloc((size_t)cfg->max_connections, sizeof *S.conns);
    S.free_slots = calloc((size_t)cfg->max_connections, sizeof *S.free_slots);
    if (!S.conns || !S.free_slots || kc_map_init(&S.attempts, (size_t)cfg->max_connections)) {
        KC_ERROR("server", "out of memory for %d connection slots", cfg->max_connections);
        return 1;
    }
    for (int i = cfg->max_connections - 1; i >= 0; i--) S.free_slots[S.nfree++] = (uint32_t)i;
    proct_buffer_init(&S.events, 200000);
    pthread_mutex_init(&S.rlock, NULL);

    S.loop = ev_default_loop(0);
    void *foreign[1] = {S.loop};

    static char static_dir[600];
    snprintf(static_dir, sizeof static_dir, "%s/static", cfg->web_root);
    static const struct lws_protocol_vhost_options mime_css = {NULL, NULL, ".css", "text/css; charset=utf-8"};
    static const struct lws_protocol_vhost_options mime_js = {&mime_css, NULL, ".js", "text/javascript; charset=utf-8"};
    static const struct lws_protocol_vhost_options mimes = {&mime_js, NULL, ".html", "text/html; charset=utf-8"};
    /* HTML is never cached (it names the asset versions); assets are versioned by a
     * content hash in their URL, so they may be cached for a year. */
    struct lws_http_mount m_root, m_static, m_health, m_api, m_media;
    mount(&m_root, "/", cfg->web_root, LWSMPRO_FILE, NULL);
    m_root.def = "index.html";
    m_root.extra_mimetypes = &mimes;
    mount(&m_static, "/static", static_dir, LWSMPRO_FILE, &m_root);
    m_static.extra_mimetypes = &mimes;
    m_static.cache_max_age = 31536000;
    m_static.cache_reusable = 1;
    m_static.cache_intermediaries = 1;
    /* /healthz, /api and /media are answered by the "http" protocol's callback. */
    mount(&m_health, "/healthz", "http", LWSMPRO_CALLBACK, &m_static);
    mount(&m_api, "/api", "http", LWSMPRO_CALLBACK, &m_health);
    mount(&m_media, "/media", "http", LWSMPRO_CALLBACK, &m_api);

    static const lws_retry_bo_t retry = {
        .secs_since_valid_ping = 30,
        .secs_since_valid_hangup = 75,
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
    info.fd_limit_per_thread = (unsigned)cfg->max_connections + 64;

    S.ctx = lws_create_context(&info);
    if (!S.ctx) {
        KC_ERROR("server", "could not listen on %s:%d (is the port in use, or libwebsockets-evlib-ev missing?)",
                  cfg->listen[0] ? cfg->listen : "*", cfg->port);
        return 1;
    }

    static const net_pool_ops ops = {NULL, w_begin, w_end, w_run, w_done, w_exited};
    char err[160];
    S.pools = net_pools_start(cfg->pools, cfg->answer_batch, &ops, err, sizeof err);
    if (!S.pools || err[0]) {
        KC_ERROR("server", "%s", S.pools ? err : "out of memory for the worker pools");
        return 1;     /* returning from main ends the workers already started */
    }

    ev_timer_init(&S.tick, on_tick, 0.25, 0.25);
    ev_timer_start(S.loop, &S.tick);
    ev_signal_init(&S.sig_int, on_signal, SIGINT);
    ev_signal_start(S.loop, &S.sig_int);
    ev_signal_init(&S.sig_term, on_signal, SIGTERM);
    ev_signal_start(S.loop, &S.sig_term);

    KC_INFO("server", "listening url=http://%s:%d/ web_root=%s pools=answers:%d,exam:%d,sweep:%d,staff:%d,media:%d",
             cfg->listen[0] ? cfg->listen : "0.0.0.0", cfg->port, cfg->web_root,
             cfg->pools[SRV_POOL_ANSWERS].workers, cfg->pools[SRV_POOL_EXAM].workers,
             cfg->pools[SRV_POOL_SWEEP].workers, cfg->pools[SRV_POOL_STAFF].workers,
             cfg->pools[SRV_POOL_MEDIA].workers);
    ev_run(S.loop, 0);

    /* Jobs still queued can only be events of connections closed during shutdown. */
    net_pools_free(S.pools);
    if (S.ctx) lws_context_destroy(S.ctx);
    for (srv_job *j = S.rh, *n; j; j = n) { n = j->next; srv_job_free(j); }
    if (S.events.dropped)
        KC_WARN("proct", "events dropped=%llu (buffer full)", (unsigned long long)S.events.dropped);
    proct_buffer_free(&S.events);
    for (int i = 0; i < cfg->max_connections; i++) {
        free(S.conns[i].rx);
        exam_live_clear(&S.conns[i].live);
        for (struct out *o = S.conns[i].oh, *n; o; o = n) { n = o->next; free(o); }
    }
    free(S.conns);
    free(S.free_slots);
    kc_map_free(&S.attempts);
    KC_INFO("server", "stopped");
    return 0;
}

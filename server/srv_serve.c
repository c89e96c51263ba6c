/* `kaochang serve`: one libwebsockets context on a libev loop (the service thread) and a
 * fixed pool of DB worker threads.
 *
 * The service thread never blocks: it parses and validates messages, answers what it can
 * from memory (time, heartbeats) and queues everything that needs the database. Workers
 * hand finished jobs back through a result queue and lws_cancel_service(); the service
 * thread drains it in LWS_CALLBACK_EVENT_WAIT_CANCELLED. Jobs name their connection by
 * (slot, generation), never by struct lws *, so a result for a connection that closed in
 * the meantime is recognised and dropped. */
#include "srv_int.h"

#include <ev.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OUT_QUEUE_MAX 256          /* messages waiting for a slow client before we drop it */
#define JOB_QUEUE_MAX 200000       /* beyond this the server answers "busy" */
#define LOGIN_FAILS_MAX 10
#define OUT_BYTES_MAX (8u << 20)   /* bytes waiting for one client */
#define INFLIGHT_MAX 4             /* login/resume/start/submit jobs per connection */
#define ANSWERS_INFLIGHT_MAX 256   /* answers per connection waiting for their commit */
#define EVENTS_PER_MINUTE 120      /* client events accepted per connection */

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
    int64_t events_window;         /* minute (server clock) the event count is for */
    int events_in_window;
    int closing;
    int login_fails;
    int authed;                    /* a candidate's connection */
    int staff;                     /* a staff member's connection (never both) */
    uint64_t staff_id;
    unsigned roles;
    char staff_login[65];
    uint64_t attempt_id;
    enum srv_attempt_status status;
    int64_t deadline_ms;
    srv_paper *paper;          /* this attempt's paper (each candidate's may differ) */
};

struct pss { uint32_t slot; };

struct http_pss {
    int status;
    size_t len;
    char body[512];
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
#define IMPORTS_AT_ONCE 1          /* import jobs on the workers: an import is a long job */
#define PASSWORD_CHECKS_MAX 2      /* staff logins being verified (Argon2id) at once */
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

    uint64_t *map_keys;            /* attempt id -> slot of its latest connection */
    uint32_t *map_vals;
    size_t map_cap;

    pthread_mutex_t qlock;
    pthread_cond_t qcond;
    srv_job *jh, *jt, *ah, *at;    /* general jobs; answers (taken in batches) */
    int njobs, nanswers;
    int stop_workers;
    int take_general;              /* alternate queues so neither starves the other */

    pthread_mutex_t rlock;
    srv_job *rh, *rt;

    pthread_t *workers;
    int nworkers;
    atomic_int workers_connected;
    atomic_int workers_running;
    atomic_ullong answers_committed;

    struct hconn https[HTTP_IMPORTS_MAX];
    unsigned char token_key[32];
    unsigned char staff_key[32];
    unsigned char media_key[32];
    srv_exam_ctx exam;
    proct_buffer events;
    int sweep_inflight, prepare_inflight;
    int uploading, imports_running, password_checks;
    int affairs_running;           /* paper check/import/prepare/verify/report jobs queued */
    int stopping;
} S;

/* ---- attempt -> slot map (open addressing, linear probing, backward-shift delete) ---- */

static size_t map_hash(uint64_t k) { return (size_t)((k * 0x9E3779B97F4A7C15ull) >> 17); }

static void map_put(uint64_t k, uint32_t v)
{
    size_t m = S.map_cap - 1, i = map_hash(k) & m;
    while (S.map_keys[i] && S.map_keys[i] != k) i = (i + 1) & m;
    S.map_keys[i] = k;
    S.map_vals[i] = v;
}

static int map_get(uint64_t k, uint32_t *v)
{
    size_t m = S.map_cap - 1, i = map_hash(k) & m;
    while (S.map_keys[i]) {
        if (S.map_keys[i] == k) { *v = S.map_vals[i]; return 1; }
        i = (i + 1) & m;
    }
    return 0;
}

static void map_del(uint64_t k, uint32_t only_if)
{
    size_t m = S.map_cap - 1, i = map_hash(k) & m;
    while (S.map_keys[i] && S.map_keys[i] != k) i = (i + 1) & m;
    if (!S.map_keys[i] || S.map_vals[i] != only_if) return;
    S.map_keys[i] = 0;
    for (size_t j = (i + 1) & m; S.map_keys[j]; j = (j + 1) & m) {
        size_t h = map_hash(S.map_keys[j]) & m;
        /* move j back into the hole if its home is not within (i, j] */
        if ((j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j))) {
            S.map_keys[i] = S.map_keys[j];
            S.map_vals[i] = S.map_vals[j];
            S.map_keys[j] = 0;
            i = j;
        }
    }
}

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
        KC_WARN("ws", "outbound queue full, closing attempt=%llu", (unsigned long long)c->attempt_id);
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

static void send_time(struct conn *c, int64_t id)
{
    json_t *o = json_pack("{s:s, s:I, s:o}", "type", "time", "server_time",
                          (json_int_t)kc_now_ms(), "deadline",
                          c->deadline_ms ? json_integer(c->deadline_ms) : json_null());
    if (id >= 0) json_object_set_new(o, "id", json_integer(id));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    send_text(c, s);
    free(s);
}

/* ---- the job queue ---- */

static void enqueue(srv_job *j)
{
    pthread_mutex_lock(&S.qlock);
    if (j->kind == SRV_JOB_ANSWER) {
        if (S.at) S.at->next = j; else S.ah = j;
        S.at = j;
        S.nanswers++;
    } else {
        if (S.jt) S.jt->next = j; else S.jh = j;
        S.jt = j;
        S.njobs++;
    }
    pthread_cond_signal(&S.qcond);
    pthread_mutex_unlock(&S.qlock);
}

static int queue_full(void)
{
    pthread_mutex_lock(&S.qlock);
    int full = S.njobs + S.nanswers >= JOB_QUEUE_MAX;
    pthread_mutex_unlock(&S.qlock);
    return full;
}

static srv_job *job_new(enum srv_job_kind kind, uint64_t conn, int64_t req_id)
{
    srv_job *j = calloc(1, sizeof *j);
    if (j) {
        j->kind = kind;
        j->conn = conn;
        j->req_id = req_id;
    }
    return j;
}

static void deliver(srv_job *j)
{
    pthread_mutex_lock(&S.rlock);
    if (S.rt) S.rt->next = j; else S.rh = j;
    S.rt = j;
    pthread_mutex_unlock(&S.rlock);
}

/* ---- DB workers ---- */

static void fail_jobs(srv_job **jobs, int n, const char *why)
{
    for (int i = 0; i < n; i++) {
        free(jobs[i]->reply);
        jobs[i]->reply = srv_msg_error_json(jobs[i]->req_id, "internal", NULL, why);
        jobs[i]->ok = 0;
    }
}

static int connect_until(kc_db *db, int first)
{
    for (int tries = 0;; tries++) {
        int rc = first && tries == 0 ? kc_db_open(db, &S.cfg->db) : kc_db_reconnect(db);
        if (!rc) return 0;
        if (tries % 20 == 0) KC_ERROR("db", "%s", db->err);
        if (__atomic_load_n(&S.stop_workers, __ATOMIC_ACQUIRE) && tries >= 10) return rc;
        usleep(250000);
    }
}

static void *worker_main(void *arg)
{
    int id = (int)(intptr_t)arg;
    kc_db db;
    memset(&db, 0, sizeof db);
    int connected = connect_until(&db, 1) == 0;
    if (connected) atomic_fetch_add(&S.workers_connected, 1);
    int batch_max = S.cfg->answer_batch, gave_up = 0;
    srv_job **batch = calloc((size_t)batch_max, sizeof *batch);
    for (;;) {
        int n = 0;
        pthread_mutex_lock(&S.qlock);
        while (!S.jh && !S.ah && !S.stop_workers)
            pthread_cond_wait(&S.qcond, &S.qlock);
        int general = S.jh && (!S.ah || S.take_general);
        S.take_general = !S.take_general;
        if (!general && S.ah) {
            while (S.ah && n < batch_max) {
                batch[n++] = S.ah;
                S.ah = S.ah->next;
                S.nanswers--;
            }
            if (!S.ah) S.at = NULL;
        } else if (S.jh) {
            batch[n++] = S.jh;
            S.jh = S.jh->next;
            if (!S.jh) S.jt = NULL;
            S.njobs--;
        }
        pthread_mutex_unlock(&S.qlock);
        if (!n) break;                            /* stopping and nothing left to do */
        for (int i = 0; i < n; i++) batch[i]->next = NULL;

        int answers = batch[0]->kind == SRV_JOB_ANSWER, rc = KC_ELOST;
        for (int round = 0; round < 2 && rc == KC_ELOST; round++) {
            /* Stopping with the database gone: fail the rest at once instead of
             * retrying each queued job for seconds. */
            if (!connected && gave_up) break;
            if (!connected || round) {
                if (connected) atomic_fetch_sub(&S.workers_connected, 1);
                connected = connect_until(&db, 0) == 0;
                if (!connected) {
                    gave_up = __atomic_load_n(&S.stop_workers, __ATOMIC_ACQUIRE);
                    break;
                }
                atomic_fetch_add(&S.workers_connected, 1);
                KC_INFO("db", "worker=%d reconnected", id);
            }
            rc = answers ? srv_exam_answers(&db, &S.exam, batch, n) : srv_exam_run(&db, &S.exam, batch[0]);
        }
        if (rc) {
            KC_ERROR("db", "worker=%d job=%d failed rc=%d: %s", id, batch[0]->kind, rc, db.err);
            fail_jobs(batch, n, "the server could not reach the database; please retry");
        } else if (answers) {
            atomic_fetch_add(&S.answers_committed, (unsigned long long)n);
        }
        for (int i = 0; i < n; i++) deliver(batch[i]);
        lws_cancel_service(S.ctx);
    }
    free(batch);
    if (connected) atomic_fetch_sub(&S.workers_connected, 1);
    kc_db_close(&db);
    kc_db_thread_end();
    /* Wake the loop first: once workers_running reaches 0 the context may be destroyed. */
    lws_cancel_service(S.ctx);
    atomic_fetch_sub(&S.workers_running, 1);
    return NULL;
}

/* ---- results, on the service thread ---- */

static void http_import_done(srv_job *j);

/* Paper jobs that load a whole pool or every paper of a session. */
static int heavy_job(enum srv_job_kind k)
{
    return k == SRV_JOB_PAPER_TEMPLATE_CHECK || k == SRV_JOB_PAPER_TEMPLATE_IMPORT ||
           k == SRV_JOB_SESSION_PREPARE || k == SRV_JOB_SESSION_VERIFY || k == SRV_JOB_SESSION_REPORT;
}

static void handle_result(srv_job *j)
{
    if (j->kind == SRV_JOB_SWEEP) {
        S.sweep_inflight = 0;
        for (int i = 0; i < j->n_swept; i++) {
            uint32_t slot;
            if (!map_get(j->swept[i], &slot)) continue;
            struct conn *c = &S.conns[slot];
            if (!c->wsi || c->attempt_id != j->swept[i]) continue;
            c->status = SRV_ST_SUBMITTED;
            send_text(c, j->swept_replies[i]);
        }
        return;
    }
    if (j->kind == SRV_JOB_EVENTS) return;
    if (j->kind == SRV_JOB_PREPARE) { S.prepare_inflight = 0; return; }
    if (j->kind == SRV_JOB_STAFF_LOGIN) S.password_checks--;   /* also for a closed connection */
    if (heavy_job(j->kind)) S.affairs_running--;
    if (j->http) {
        http_import_done(j);
        return;
    }
    struct conn *c = conn_of(j->conn);
    if (!c) return;                                 /* the connection is gone: drop */
    uint32_t slot = (uint32_t)(j->conn >> 32);
    if (j->kind == SRV_JOB_ANSWER) c->answers_inflight--;
    else c->inflight--;
    /* A start/submit queued before the connection logged in as someone else must not
     * change the new attempt's state. */
    int same = c->attempt_id == j->attempt_id;
    switch (j->kind) {
    case SRV_JOB_STAFF_LOGIN:
    case SRV_JOB_STAFF_RESUME:
        if (j->ok && !c->authed) {
            c->staff = 1;
            c->staff_id = j->staff_id;
            c->roles = j->roles;
            snprintf(c->staff_login, sizeof c->staff_login, "%s", j->login);
            c->login_fails = 0;
            KC_INFO("staff", "login=%s %s", j->login, j->kind == SRV_JOB_STAFF_LOGIN ? "login" : "resume");
        } else if (j->ok) {
            send_error(c, j->req_id, "forbidden", NULL, "this connection belongs to a candidate");
            return;
        } else if (++c->login_fails >= LOGIN_FAILS_MAX) {
            c->closing = 1;
        }
        break;
    case SRV_JOB_LOGIN:
    case SRV_JOB_RESUME:
        if (j->ok && c->staff) {
            send_error(c, j->req_id, "forbidden", NULL, "this connection belongs to a staff member");
            return;
        }
        if (j->ok) {
            if (c->authed && c->attempt_id != j->attempt_id) map_del(c->attempt_id, slot);
            c->authed = 1;
            c->attempt_id = j->attempt_id;
            c->status = j->status;
            c->deadline_ms = j->deadline_ms;
            c->login_fails = 0;
            map_put(j->attempt_id, slot);
            proct_buffer_add(&S.events, j->attempt_id, kc_now_ms(), "connect",
                             j->kind == SRV_JOB_LOGIN ? "login" : "resume");
        } else if (++c->login_fails >= LOGIN_FAILS_MAX) {
            c->closing = 1;                          /* slow down guessing */
        }
        break;
    case SRV_JOB_START:
        if (j->ok && same) {
            c->status = j->status;
            c->deadline_ms = j->deadline_ms;
            if (j->paper) {
                srv_paper_free(c->paper);
                c->paper = j->paper;
                j->paper = NULL;
            }
        }
        break;
    case SRV_JOB_SUBMIT:
        if (j->status && same) c->status = j->status;
        break;
    default:
        break;
    }
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

/* ---- messages from staff ---- */

/* Who may send what: reading is for every bank role, editing for authors, the lifecycle
 * for reviewers; admin may do everything. */
static unsigned roles_for(enum srv_msg_type t)
{
    switch (t) {
    case SRV_MSG_BANK_SAVE: return SRV_ROLE_AUTHOR | SRV_ROLE_ADMIN;
    case SRV_MSG_BANK_REVIEW: return SRV_ROLE_REVIEWER | SRV_ROLE_ADMIN;
    default:
        if (t >= SRV_MSG_PAPER_TEMPLATES) return srv_affairs_roles(t);
        return SRV_ROLE_AUTHOR | SRV_ROLE_REVIEWER | SRV_ROLE_ADMIN;
    }
}

static void on_staff_message(uint32_t slot, struct conn *c, srv_msg *m)
{
    if (c->authed) {
        send_error(c, m->id, "forbidden", NULL, "staff messages are not accepted on a candidate connection");
        return;
    }
    int auth = m->type == SRV_MSG_STAFF_LOGIN || m->type == SRV_MSG_STAFF_RESUME;
    if (!auth && !c->staff) {
        send_error(c, m->id, "unauthenticated", NULL, "log in as staff first");
        return;
    }
    if (!auth && !(c->roles & roles_for(m->type))) {
        send_error(c, m->id, "forbidden", NULL, "your roles do not allow this");
        return;
    }
    if (queue_full()) {
        send_error(c, m->id, "busy", NULL, "the server is busy; retry in a moment");
        return;
    }
    if (c->inflight >= INFLIGHT_MAX) {
        send_error(c, m->id, "busy", NULL, "too many requests waiting on this connection; wait for the replies");
        return;
    }
    /* A password check costs a worker ~0.1 s; a flood of them must not delay candidates. */
    if (m->type == SRV_MSG_STAFF_LOGIN && S.password_checks >= PASSWORD_CHECKS_MAX) {
        send_error(c, m->id, "busy", NULL, "too many sign-ins at once; retry in a moment");
        return;
    }
    static const enum srv_job_kind kinds[] = {
        [SRV_MSG_STAFF_LOGIN] = SRV_JOB_STAFF_LOGIN, [SRV_MSG_STAFF_RESUME] = SRV_JOB_STAFF_RESUME,
        [SRV_MSG_BANK_CATALOG] = SRV_JOB_BANK_CATALOG, [SRV_MSG_BANK_LIST] = SRV_JOB_BANK_LIST,
        [SRV_MSG_BANK_ITEM] = SRV_JOB_BANK_ITEM, [SRV_MSG_BANK_REVIEW] = SRV_JOB_BANK_REVIEW,
        [SRV_MSG_BANK_SAVE] = SRV_JOB_BANK_SAVE, [SRV_MSG_BANK_HEALTH] = SRV_JOB_BANK_HEALTH,
        [SRV_MSG_PAPER_TEMPLATES] = SRV_JOB_PAPER_TEMPLATES, [SRV_MSG_PAPER_TEMPLATE] = SRV_JOB_PAPER_TEMPLATE,
        [SRV_MSG_PAPER_TEMPLATE_CHECK] = SRV_JOB_PAPER_TEMPLATE_CHECK,
        [SRV_MSG_PAPER_TEMPLATE_IMPORT] = SRV_JOB_PAPER_TEMPLATE_IMPORT,
        [SRV_MSG_EXAM_SESSIONS] = SRV_JOB_EXAM_SESSIONS, [SRV_MSG_SESSION_PREPARE] = SRV_JOB_SESSION_PREPARE,
        [SRV_MSG_SESSION_VERIFY] = SRV_JOB_SESSION_VERIFY, [SRV_MSG_SESSION_REPORT] = SRV_JOB_SESSION_REPORT};
    /* Checking, importing, preparing and verifying load a whole pool and can hold a worker
     * for seconds: one at a time, so the other workers stay free for candidates. */
    int heavy = heavy_job(kinds[m->type]);
    if (heavy && S.affairs_running >= 1) {
        send_error(c, m->id, "busy", NULL, "another paper job is running; retry in a moment");
        return;
    }
    uint64_t sid = 0;
    unsigned roles = 0;
    if (m->type == SRV_MSG_STAFF_RESUME &&
        srv_staff_token_check(S.staff_key, m->token, kc_now_ms(), &sid, &roles)) {
        send_error(c, m->id, "bad_token", "token", "the token is invalid or expired; log in again");
        return;
    }
    srv_job *j = job_new(kinds[m->type], handle_of(slot), m->id);
    if (!j) {
        send_error(c, m->id, "internal", NULL, "out of memory");
        return;
    }
    if (m->type == SRV_MSG_STAFF_LOGIN) {
        snprintf(j->login, sizeof j->login, "%s", m->login);
        memcpy(j->password, m->password, sizeof j->password);
        memset(m->password, 0, sizeof m->password);
    } else if (m->type == SRV_MSG_STAFF_RESUME) {
        j->staff_id = sid;
    } else {
        j->staff_id = c->staff_id;
        j->roles = c->roles;
        snprintf(j->login, sizeof j->login, "%s", c->staff_login);
    }
    snprintf(j->uid, sizeof j->uid, "%s", m->uid);
    snprintf(j->action, sizeof j->action, "%s", m->action);
    snprintf(j->occupation, sizeof j->occupation, "%s", m->occupation);
    snprintf(j->part, sizeof j->part, "%s", m->part);
    j->level = m->level;
    j->offset = m->offset;
    j->limit = m->limit;
    snprintf(j->file, sizeof j->file, "%s", m->file);
    j->dry_run = (int)m->dry_run;
    if (m->type == SRV_MSG_BANK_REVIEW) {
        j->text = strdup(m->comment);
    } else {
        j->text = m->obj;               /* the job owns it now */
        m->obj = NULL;
    }
    j->text_len = j->text ? strlen(j->text) : 0;
    c->inflight++;
    if (j->kind == SRV_JOB_STAFF_LOGIN) S.password_checks++;
    if (heavy) S.affairs_running++;
    enqueue(j);
}

/* ---- messages from a candidate ---- */

static void on_message(uint32_t slot, struct conn *c, const char *buf, size_t len)
{
    srv_msg m;
    srv_msg_error e;
    if (srv_msg_parse(buf, len, &m, &e)) {
        send_error(c, e.id, e.code, e.field, e.message);
        return;
    }
    if (S.stopping) {
        send_error(c, m.id, "busy", NULL, "the server is restarting; retry in a moment");
        srv_msg_free(&m);
        return;
    }
    if (m.type >= SRV_MSG_STAFF_LOGIN) {
        on_staff_message(slot, c, &m);
        srv_msg_free(&m);
        return;
    }
    if (c->staff && m.type != SRV_MSG_TIME) {
        send_error(c, m.id, "forbidden", NULL, "candidate messages are not accepted on a staff connection");
        return;
    }
    int needs_login = m.type != SRV_MSG_LOGIN && m.type != SRV_MSG_RESUME && m.type != SRV_MSG_TIME;
    if (needs_login && !c->authed) {
        send_error(c, m.id, "unauthenticated", NULL, "log in first");
        return;
    }
    if (m.type != SRV_MSG_TIME && m.type != SRV_MSG_HEARTBEAT && queue_full()) {
        send_error(c, m.id, "busy", NULL, "the server is busy; retry in a moment");
        return;
    }
    if (m.type == SRV_MSG_ANSWER ? c->answers_inflight >= ANSWERS_INFLIGHT_MAX
                                 : (m.type != SRV_MSG_TIME && m.type != SRV_MSG_HEARTBEAT &&
                                    c->inflight >= INFLIGHT_MAX)) {
        send_error(c, m.id, "busy", NULL, "too many requests waiting on this connection; wait for the replies");
        return;
    }
    uint64_t h = handle_of(slot);
    srv_job *j = NULL;
    switch (m.type) {
    case SRV_MSG_LOGIN:
        if (!(j = job_new(SRV_JOB_LOGIN, h, m.id))) break;
        memcpy(j->ticket, m.ticket, sizeof j->ticket);
        memcpy(j->id_number, m.id_number, sizeof j->id_number);
        break;
    case SRV_MSG_RESUME: {
        uint64_t aid;
        if (srv_token_check(S.token_key, m.token, kc_now_ms(), &aid)) {
            send_error(c, m.id, "bad_token", "token", "the token is invalid or expired; log in again");
            return;
        }
        if ((j = job_new(SRV_JOB_RESUME, h, m.id))) j->attempt_id = aid;
        break;
    }
    case SRV_MSG_START:
        if ((j = job_new(SRV_JOB_START, h, m.id))) j->attempt_id = c->attempt_id;
        break;
    case SRV_MSG_ANSWER: {
        if (c->status == SRV_ST_SUBMITTED) {
            send_error(c, m.id, "submitted", NULL, "the attempt is submitted; the answer was not saved");
            return;
        }
        if (c->status != SRV_ST_IN_PROGRESS || !c->paper) {
            send_error(c, m.id, "not_started", NULL, "start the attempt first");
            return;
        }
        if (kc_now_ms() >= c->deadline_ms) {
            send_error(c, m.id, "time_over", NULL, "the deadline has passed; the answer was not saved");
            return;
        }
        int idx = srv_paper_find(c->paper, (uint64_t)m.item);
        if (idx < 0) {
            send_error(c, m.id, "bad_field", "item", "item: not an item of this paper");
            return;
        }
        char norm[BANK_RESPONSE_MAX + 1];
        bank_rinfo ri = {(enum bank_item_type)c->paper->types[idx], c->paper->n_options[idx],
                         c->paper->n_blanks[idx]};
        if (bank_response_normalize(&ri, m.response, norm, sizeof norm)) {
            send_error(c, m.id, "bad_field", "response", "response: not a valid answer for this item");
            return;
        }
        if (!(j = job_new(SRV_JOB_ANSWER, h, m.id))) break;
        j->attempt_id = c->attempt_id;
        j->item = m.item;
        j->seq = m.seq;
        snprintf(j->response, sizeof j->response, "%s", norm);
        break;
    }
    case SRV_MSG_SUBMIT:
        if ((j = job_new(SRV_JOB_SUBMIT, h, m.id))) j->attempt_id = c->attempt_id;
        break;
    case SRV_MSG_HEARTBEAT: {
        int64_t now = kc_now_ms();
        if (now / 60000 != c->events_window) {
            c->events_window = now / 60000;
            c->events_in_window = 0;
        }
        for (int i = 0; i < m.n_events && c->events_in_window++ < EVENTS_PER_MINUTE; i++) {
            char detail[64];
            snprintf(detail, sizeof detail, "client_at=%lld", (long long)m.events[i].at_ms);
            proct_buffer_add(&S.events, c->attempt_id, now, m.events[i].kind, detail);
        }
        send_time(c, m.id);
        return;
    }
    case SRV_MSG_TIME:
        send_time(c, m.id);
        return;
    default:                    /* staff messages went to on_staff_message */
        return;
    }
    if (!j) {
        send_error(c, m.id, "internal", NULL, "out of memory");
        return;
    }
    if (j->kind == SRV_JOB_ANSWER) c->answers_inflight++;
    else c->inflight++;
    enqueue(j);
}

/* ---- libwebsockets callbacks ---- */

static void conn_release(uint32_t slot)
{
    struct conn *c = &S.conns[slot];
    if (c->authed) {
        map_del(c->attempt_id, slot);
        proct_buffer_add(&S.events, c->attempt_id, kc_now_ms(), "disconnect", "");
    }
    free(c->rx);
    srv_paper_free(c->paper);
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
        srv_staff_token_check(S.staff_key, auth + 7, kc_now_ms(), &sid, &roles)) {
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
    if (queue_full() || slot < 0 || S.imports_running >= IMPORTS_AT_ONCE) {
        http_refuse(wsi, p, 503, "busy", S.imports_running >= IMPORTS_AT_ONCE
                    ? "another import is being processed; retry in a moment"
                    : "the server is busy; retry in a moment");
        return;
    }
    srv_job *j = job_new(SRV_JOB_BANK_IMPORT, ((uint64_t)slot << 32) | S.https[slot].gen, -1);
    if (!j) {
        http_refuse(wsi, p, 500, "internal", "out of memory");
        return;
    }
    p->slot = (uint32_t)slot;
    S.https[slot].wsi = wsi;
    S.https[slot].p = p;
    S.imports_running++;
    j->http = 1;
    j->staff_id = p->staff_id;
    j->roles = p->roles;
    snprintf(j->format, sizeof j->format, "%s", p->format);
    snprintf(j->uid, sizeof j->uid, "%.64s", p->name);
    j->dry_run = p->dry_run;
    j->text = p->in ? p->in : calloc(1, 1);
    j->text_len = p->in_len;
    p->in = NULL;
    p->in_len = p->in_cap = 0;
    p->import = 2;
    enqueue(j);
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
    if (srv_media_check(S.media_key, uri + 7, ev, sv, kc_now_ms())) {
        http_refuse(wsi, p, 403, "forbidden", "the media link is invalid or expired; reload the page");
        return 0;
    }
    if (S.stopping || queue_full()) {
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
    snprintf(j->uid, sizeof j->uid, "%.64s", uri + 7);
    p->import = 2;
    enqueue(j);
    return 0;
}

static void http_import_done(srv_job *j)
{
    if (j->kind == SRV_JOB_BANK_IMPORT) S.imports_running--;   /* also when the client left */
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
        int up = atomic_load(&S.workers_connected);
        pthread_mutex_lock(&S.qlock);
        int queued = S.njobs + S.nanswers;
        pthread_mutex_unlock(&S.qlock);
        p->status = up > 0 && !S.stopping ? 200 : 503;
        int n = snprintf(p->body, sizeof p->body,
                         "{\"ok\":%s,\"db_workers\":%d,\"db_connected\":%d,\"connections\":%d,"
                         "\"queued\":%d,\"answers_committed\":%llu,\"server_time\":%lld}\n",
                         p->status == 200 ? "true" : "false", S.nworkers, up, S.nconns, queued,
                         (unsigned long long)atomic_load(&S.answers_committed),
                         (long long)kc_now_ms());
        p->len = (size_t)n;
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
    enqueue(j);
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w; (void)revents;
    S.ticks++;
    if (S.stopping) {
        if (S.stopping == 1) {
            flush_events();                  /* the last batch goes with the workers */
            pthread_mutex_lock(&S.qlock);
            S.stop_workers = 1;
            pthread_cond_broadcast(&S.qcond);
            pthread_mutex_unlock(&S.qlock);
            S.stopping = 2;
        }
        if (atomic_load(&S.workers_running) == 0) {
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
        if (j) {
            S.sweep_inflight = 1;
            enqueue(j);
        }
    }
    if (S.ticks % 8 == 0) flush_events();           /* every two seconds */
    /* Papers of sessions that open soon: at start, then every 30 s. */
    if ((S.ticks == 2 || S.ticks % 120 == 0) && !S.prepare_inflight) {
        srv_job *j = job_new(SRV_JOB_PREPARE, 0, -1);
        if (j) {
            S.prepare_inflight = 1;
            enqueue(j);
        }
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

int srv_serve(const srv_config *cfg)
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
    if (srv_token_secret_load(&db, S.token_key)) {
        KC_ERROR("db", "loading the token secret: %s (did you run `kaochang db migrate`?)", db.err);
        kc_db_close(&db);
        return 1;
    }
    kc_db_close(&db);
    srv_staff_key_derive(S.token_key, S.staff_key);
    srv_media_key_derive(S.token_key, S.media_key);
    S.exam.token_key = S.token_key;
    S.exam.staff_key = S.staff_key;
    S.exam.media_key = S.media_key;
    S.exam.answer_batch = cfg->answer_batch;
    S.exam.prepare_before_min = cfg->prepare_before_min;
    S.exam.max_message = cfg->max_message;

    S.conns = calloc((size_t)cfg->max_connections, sizeof *S.conns);
    S.free_slots = calloc((size_t)cfg->max_connections, sizeof *S.free_slots);
    for (S.map_cap = 64; S.map_cap < (size_t)cfg->max_connections * 2;) S.map_cap *= 2;
    S.map_keys = calloc(S.map_cap, sizeof *S.map_keys);
    S.map_vals = calloc(S.map_cap, sizeof *S.map_vals);
    if (!S.conns || !S.free_slots || !S.map_keys || !S.map_vals) {
        KC_ERROR("server", "out of memory for %d connection slots", cfg->max_connections);
        return 1;
    }
    for (int i = cfg->max_connections - 1; i >= 0; i--) S.free_slots[S.nfree++] = (uint32_t)i;
    proct_buffer_init(&S.events, 200000);
    pthread_mutex_init(&S.qlock, NULL);
    pthread_cond_init(&S.qcond, NULL);
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
    struct lws_http_mount m_root = {0}, m_static = {0}, m_health = {0}, m_api = {0}, m_media = {0};
    m_root.mountpoint = "/";
    m_root.mountpoint_len = 1;
    m_root.origin = cfg->web_root;
    m_root.def = "index.html";
    m_root.origin_protocol = LWSMPRO_FILE;
    m_root.extra_mimetypes = &mimes;
    m_static = m_root;
    m_static.mountpoint = "/static";
    m_static.mountpoint_len = 7;
    m_static.origin = static_dir;
    m_static.cache_max_age = 31536000;
    m_static.cache_reusable = 1;
    m_static.cache_intermediaries = 1;
    m_static.mount_next = &m_root;
    m_health.mountpoint = "/healthz";
    m_health.mountpoint_len = 8;
    m_health.origin = "http";
    m_health.origin_protocol = LWSMPRO_CALLBACK;
    m_health.mount_next = &m_static;
    m_api = m_health;
    m_api.mountpoint = "/api";
    m_api.mountpoint_len = 4;
    m_api.mount_next = &m_health;
    m_media = m_health;
    m_media.mountpoint = "/media";
    m_media.mountpoint_len = 6;
    m_media.mount_next = &m_api;

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

    S.nworkers = cfg->db_workers;
    S.workers = calloc((size_t)S.nworkers, sizeof *S.workers);
    atomic_store(&S.workers_running, S.nworkers);
    for (int i = 0; i < S.nworkers; i++)
        if (pthread_create(&S.workers[i], NULL, worker_main, (void *)(intptr_t)i)) {
            KC_ERROR("server", "cannot start DB worker %d", i);
            return 1;     /* returning from main ends the workers already started */
        }

    ev_timer_init(&S.tick, on_tick, 0.25, 0.25);
    ev_timer_start(S.loop, &S.tick);
    ev_signal_init(&S.sig_int, on_signal, SIGINT);
    ev_signal_start(S.loop, &S.sig_int);
    ev_signal_init(&S.sig_term, on_signal, SIGTERM);
    ev_signal_start(S.loop, &S.sig_term);

    KC_INFO("server", "listening url=http://%s:%d/ web_root=%s db_workers=%d",
             cfg->listen[0] ? cfg->listen : "0.0.0.0", cfg->port, cfg->web_root, S.nworkers);
    ev_run(S.loop, 0);

    for (int i = 0; i < S.nworkers; i++) pthread_join(S.workers[i], NULL);
    if (S.ctx) lws_context_destroy(S.ctx);
    /* Jobs still queued can only be events of connections closed during shutdown. */
    for (srv_job *j = S.jh, *n; j; j = n) { n = j->next; srv_job_free(j); }
    for (srv_job *j = S.rh, *n; j; j = n) { n = j->next; srv_job_free(j); }
    if (S.events.dropped)
        KC_WARN("proct", "events dropped=%llu (buffer full)", (unsigned long long)S.events.dropped);
    proct_buffer_free(&S.events);
    for (int i = 0; i < cfg->max_connections; i++) {
        free(S.conns[i].rx);
        for (struct out *o = S.conns[i].oh, *n; o; o = n) { n = o->next; free(o); }
    }
    free(S.conns);
    free(S.free_slots);
    free(S.map_keys);
    free(S.map_vals);
    free(S.workers);
    KC_INFO("server", "stopped");
    return 0;
}

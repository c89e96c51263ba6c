/* The exam, as the DB workers run it: login, start, answers (group-committed), submit and
 * the deadline sweep. Everything here runs on a worker thread with its own connection;
 * nothing here touches libwebsockets. Replies are built here as JSON text and handed back
 * to the service thread, which only sends them. */
#include "exam.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_TTL_MS (24LL * 3600 * 1000)


char *exam__dump(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

char *exam__error_reply(int64_t id, const char *code, const char *message)
{
    return srv_msg_error_json(id, code, NULL, message);
}

json_t *exam__time_or_null(int64_t ms) { return ms ? json_integer(ms) : json_null(); }

enum srv_attempt_status exam__status_parse(const char *s)
{
    if (!strcmp(s, "not_started")) return SRV_ST_NOT_STARTED;
    if (!strcmp(s, "in_progress")) return SRV_ST_IN_PROGRESS;
    if (!strcmp(s, "submitted")) return SRV_ST_SUBMITTED;
    return SRV_ST_NONE;
}

/* ---- login / resume ---- */

/* With the attempt: which node holds its live connection (009), and whether that node's
 * lease is still running (MariaDB's clock, as the lease was written with it). */
#define ATTEMPT_SELECT                                                                     \
    "SELECT a.id, a.status, a.deadline_at, a.submitted_at, c.name, c.id_number, a.ticket_no," \
    " s.id, s.code, s.title, s.opens_at, s.closes_at, s.duration_s,"                      \
    " COALESCE(a.holder_node, ''), COALESCE(a.holder_boot, 0), n.node_id IS NOT NULL"     \
    " FROM attempt a JOIN candidate c ON c.id = a.candidate_id"                            \
    " JOIN exam_session s ON s.id = a.session_id"                                          \
    " LEFT JOIN node_alive n ON n.node_id = a.holder_node AND n.boot = a.holder_boot"      \
    " AND n.alive_until > NOW(3) "
static const char SQL_BY_TICKET[] = ATTEMPT_SELECT "WHERE a.ticket_no = ?";
static const char SQL_BY_ID[] = ATTEMPT_SELECT "WHERE a.id = ?";
/* A login claims the attempt only if nobody took it since it was read (compare and set);
 * a resume takes it whoever holds it. Either stamps whom it was taken from when another
 * node's name was there (a node whose lease lapsed may still have the connection: it
 * closes it when it sees the stamp). */
/* (MariaDB assigns left to right with the new values: the old holder is read first.) */
static const char SQL_CLAIM[] =
    "UPDATE attempt SET holder_taken_from = IF(? = 1, holder_node, holder_taken_from),"
    " holder_taken_at = IF(? = 1, NOW(3), holder_taken_at), holder_node = ?, holder_boot = ?"
    " WHERE id = ? AND COALESCE(holder_node, '') = ? AND COALESCE(holder_boot, 0) = ?";
static const char SQL_TAKE[] =
    "UPDATE attempt SET holder_taken_from = IF(? = 1, holder_node, holder_taken_from),"
    " holder_taken_at = IF(? = 1, NOW(3), holder_taken_at), holder_node = ?, holder_boot = ?"
    " WHERE id = ?";

struct attempt_row {
    uint64_t id, session_id;
    char status[16], name[520], id_number[33], ticket[33], code[260], title[1024];
    int64_t deadline, submitted, opens, closes, duration_s;
    char holder[65];
    uint64_t holder_boot;
    int64_t holder_alive;
};

static int fetch_attempt(kc_db *db, const char *sql, int by_id, uint64_t id, const char *ticket,
                         struct attempt_row *r, int *found)
{
    memset(r, 0, sizeof *r);
    int rc = by_id
        ? kc_db_query(db, sql, "u", "usttsssussttisui", id, &r->id, r->status, sizeof r->status,
                       &r->deadline, &r->submitted, r->name, sizeof r->name, r->id_number,
                       sizeof r->id_number, r->ticket, sizeof r->ticket, &r->session_id, r->code,
                       sizeof r->code, r->title, sizeof r->title, &r->opens, &r->closes,
                       &r->duration_s, r->holder, sizeof r->holder, &r->holder_boot, &r->holder_alive)
        : kc_db_query(db, sql, "s", "usttsssussttisui", ticket, &r->id, r->status,
                       sizeof r->status, &r->deadline, &r->submitted, r->name, sizeof r->name,
                       r->id_number, sizeof r->id_number, r->ticket, sizeof r->ticket,
                       &r->session_id, r->code, sizeof r->code, r->title, sizeof r->title,
                       &r->opens, &r->closes, &r->duration_s, r->holder, sizeof r->holder,
                       &r->holder_boot, &r->holder_alive);
    if (rc) return rc;
    rc = kc_db_fetch(db, sql);
    kc_db_done(db, sql);
    if (rc < 0) return rc;
    *found = rc == 1;
    return 0;
}

static void normalize_id(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; *in && n + 1 < cap; in++)
        if (!isspace((unsigned char)*in))
            out[n++] = (char)toupper((unsigned char)*in);
    out[n] = 0;
}

static char *welcome(const srv_ctx *x, const struct attempt_row *r, int64_t req_id,
                     char *token, size_t toklen)
{
    int64_t now = kc_now_ms();
    exam_token_make(x->token_key, r->id, now + TOKEN_TTL_MS, token, toklen);
    json_t *o = json_pack(
        "{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:I, s:I, s:I}, s:{s:s, s:o, s:o}, s:I}",
        "type", "welcome", "token", token,
        "candidate", "name", r->name, "ticket", r->ticket,
        "session", "code", r->code, "title", r->title, "opens_at", (json_int_t)r->opens,
        "closes_at", (json_int_t)r->closes, "duration_s", (json_int_t)r->duration_s,
        "attempt", "status", r->status, "deadline", exam__time_or_null(r->deadline),
        "submitted_at", exam__time_or_null(r->submitted),
        "server_time", (json_int_t)now);
    if (!o) return NULL;
    if (req_id >= 0) json_object_set_new(o, "id", json_integer(req_id));
    return exam__dump(o);
}

static int do_login(kc_db *db, const srv_ctx *x, srv_job *j, int login)
{
    struct attempt_row r;
    int found = 0, rc;
    if (login) {
        rc = fetch_attempt(db, SQL_BY_TICKET, 0, 0, j->m.ticket, &r, &found);
    } else {
        uint64_t aid;
        if (exam_token_check(x->token_key, j->m.token, kc_now_ms(), &aid)) {
            j->denied = 1;
            j->reply = srv_msg_error_json(j->req_id, "bad_token", "token",
                                          "the token is invalid or expired; log in again");
            return j->reply ? 0 : KC_ENOMEM;
        }
        rc = fetch_attempt(db, SQL_BY_ID, 1, aid, NULL, &r, &found);
    }
    if (rc) return rc;
    if (login) {
        char given[33];
        normalize_id(j->m.id_number, given, sizeof given);
        /* Constant-time compare of equal-length strings; different lengths fail anyway. */
        if (found && (strlen(given) != strlen(r.id_number) ||
                      CRYPTO_memcmp(given, r.id_number, strlen(given)))) {
            found = 0;
            j->denied_attempt = r.id;     /* the proctor of this ticket sees the failure */
        }
        if (!found) {
            j->denied = 1;
            j->reply = exam__error_reply(j->req_id, "bad_credentials",
                                   "no candidate with this admission ticket and ID number");
            return 0;
        }
    } else if (!found) {
        j->denied = 1;
        j->reply = exam__error_reply(j->req_id, "bad_token", "the attempt of this token no longer exists");
        return 0;
    }
    /* One live connection across nodes: who holds the attempt in the database. */
    const char *me = x->node_id ? x->node_id : "";
    for (int tries = 0;; tries++) {
        int mine = r.holder[0] && !strcmp(r.holder, me) && r.holder_boot == x->node_boot;
        /* A holder of my name but another boot is an earlier run of this node: nobody. */
        int elsewhere = r.holder[0] && !mine && strcmp(r.holder, me) && r.holder_alive;
        if (mine) j->claimed = j->held_mine = 1;   /* held here: let go if no connection takes it */
        if (mine || !me[0]) break;
        int other = r.holder[0] && strcmp(r.holder, me);     /* another node's name */
        if (login && elsewhere) {
            j->held_elsewhere = 1;
            j->attempt_id = r.id;
            snprintf(j->held_by, sizeof j->held_by, "%s", r.holder);
            j->reply = exam__error_reply(j->req_id, "already_connected",
                                         "this candidate is signed in on another computer; ask the proctor");
            return j->reply ? 0 : KC_ENOMEM;
        }
        /* Marked first: a write whose acknowledgement is lost still counts (claim_unused). */
        j->claimed = 1;
        if (!login) {
            rc = kc_db_exec(db, SQL_TAKE, "iisuu", (int64_t)other, (int64_t)other, me, x->node_boot, r.id);
            if (rc) return rc;
            j->took_over = elsewhere;
            if (elsewhere) snprintf(j->held_by, sizeof j->held_by, "%s", r.holder);
            break;
        }
        rc = kc_db_exec(db, SQL_CLAIM, "iisuusu", (int64_t)other, (int64_t)other, me, x->node_boot, r.id,
                        r.holder, r.holder_boot);
        if (rc) return rc;
        if (kc_db_affected(db, SQL_CLAIM) == 1) break;
        /* Taken meanwhile (another node's login at the same moment): read again. */
        if (tries == 2) {
            j->reply = exam__error_reply(j->req_id, "busy", "the server is busy; retry in a moment");
            return j->reply ? 0 : KC_ENOMEM;
        }
        rc = fetch_attempt(db, SQL_BY_TICKET, 0, 0, j->m.ticket, &r, &found);
        if (rc) return rc;
        if (!found) {
            j->denied = 1;
            j->reply = exam__error_reply(j->req_id, "bad_credentials",
                                         "no candidate with this admission ticket and ID number");
            return j->reply ? 0 : KC_ENOMEM;
        }
    }
    j->ok = 1;
    j->attempt_id = r.id;
    j->session_id = r.session_id;
    j->status = exam__status_parse(r.status);
    j->deadline_ms = r.deadline;
    j->reply = welcome(x, &r, j->req_id, j->token, sizeof j->token);
    return j->reply ? 0 : KC_ENOMEM;
}

int exam_login(kc_db *db, const srv_ctx *x, srv_job *j) { return do_login(db, x, j, 1); }
int exam_resume(kc_db *db, const srv_ctx *x, srv_job *j) { return do_login(db, x, j, 0); }

#define BIG 262144

/* ---- submit ---- */

#define SUBMIT_LOCK                                                                        \
    "SELECT status, deadline_at, submitted_at, COALESCE(submit_reason, ''), score_centi,"  \
    " session_id FROM attempt WHERE id = ? FOR UPDATE"
static const char SQL_SUBMIT_LOCK[] = SUBMIT_LOCK;
/* The sweep passes over an attempt another worker or node is submitting right now. */
static const char SQL_SUBMIT_LOCK_SKIP[] = SUBMIT_LOCK " SKIP LOCKED";
static const char SQL_SESSION_PAPER[] =
    "SELECT s.show_score, COALESCE(p.items, '') FROM exam_session s"
    " LEFT JOIN paper_instance p ON p.attempt_id = ? WHERE s.id = ?";
/* Every answerable item of the attempt's paper: an item on the paper itself (group 0,
 * scored at the paper's points), or a composite's sub-item (group = the composite, scored
 * at its own points; the composite's sum is scaled once to the paper's points, so full
 * marks stay reachable whatever the ratio). Responses are as the candidate saw the
 * options; the paper's option orders map them back to the keys. */
#define SCORE_ITEMS \
    " FROM paper_instance p JOIN JSON_TABLE(p.items, '$[*]' COLUMNS (item_id BIGINT UNSIGNED" \
    " PATH '$.i', pts INT PATH '$.p')) AS jt"
static const char SQL_SCORE_ROWS[] =
    "SELECT 0, i.id, jt.pts, jt.pts, jt.pts, i.type, i.answer_key,"
    " COALESCE(i.mc_policy, 'all'), COALESCE(ans.response, '')" SCORE_ITEMS
    " JOIN item i ON i.id = jt.item_id"
    " LEFT JOIN answer ans ON ans.attempt_id = p.attempt_id AND ans.item_id = i.id"
    " WHERE p.attempt_id = ? AND i.type <> 'composite'"
    " UNION ALL"
    " SELECT pa.id, c.id, jt.pts, c.points_centi, pa.points_centi, c.type, c.answer_key,"
    " COALESCE(c.mc_policy, 'all'), COALESCE(ans.response, '')" SCORE_ITEMS
    " JOIN item pa ON pa.id = jt.item_id JOIN item c ON c.parent_id = pa.id"
    " LEFT JOIN answer ans ON ans.attempt_id = p.attempt_id AND ans.item_id = c.id"
    " WHERE p.attempt_id = ? ORDER BY 1";
static const char SQL_SUBMIT_SET[] =
    "UPDATE attempt SET status = 'submitted', submitted_at = ?, submit_reason = ?,"
    " score_centi = ? WHERE id = ?";

static char *submitted_reply(int64_t req_id, const char *reason, int64_t at, int show,
                             int64_t score)
{
    json_t *o = json_pack("{s:s, s:s, s:I}", "type", "submitted", "reason", reason,
                          "submitted_at", (json_int_t)at);
    if (!o) return NULL;
    if (req_id >= 0) json_object_set_new(o, "id", json_integer(req_id));
    if (show) json_object_set_new(o, "score", json_real((double)score / 100.0));
    return exam__dump(o);
}

/* skip: the sweep's lock, which passes over a row locked elsewhere (*already 3, no reply). */
static int submit(kc_db *db, uint64_t attempt_id, const char *reason, int64_t now, int64_t req_id,
                  char **reply, int *already, int skip)
{
    char status[16], old_reason[16];
    int64_t deadline, submitted, score, show;
    uint64_t session_id;
    const char *lock = skip ? SQL_SUBMIT_LOCK_SKIP : SQL_SUBMIT_LOCK;
    *already = 0;
    int rc = kc_db_begin(db);
    if (rc) return rc;
    rc = kc_db_query(db, lock, "u", "sttsiu", attempt_id, status, sizeof status,
                      &deadline, &submitted, old_reason, sizeof old_reason, &score, &session_id);
    if (!rc) {
        rc = kc_db_fetch(db, lock);
        kc_db_done(db, lock);
        if (rc == 0 && skip) {
            kc_db_rollback(db);
            *already = 3;
            return 0;
        }
        if (rc == 0) rc = KC_ENOTFOUND;
        if (rc == 1) rc = 0;
    }
    exam_layout lay = {0};
    char *inst = malloc(BIG * 4);
    if (!inst) rc = rc ? rc : KC_ENOMEM;
    if (!rc) rc = kc_db_query(db, SQL_SESSION_PAPER, "uu", "is", attempt_id, session_id, &show,
                               inst, (size_t)BIG * 4);
    if (!rc) {
        rc = kc_db_fetch(db, SQL_SESSION_PAPER);
        kc_db_done(db, SQL_SESSION_PAPER);
        rc = rc == 1 ? 0 : rc == 0 ? KC_ENOTFOUND : rc;
    }
    /* A started attempt always has its paper; one without is not scored as zero. */
    if (!rc && (!*inst || exam_layout_parse(inst, NULL, &lay))) {
        KC_ERROR("exam", "attempt=%llu: no stored paper to score", (unsigned long long)attempt_id);
        rc = KC_EDB;
    }
    free(inst);
    if (rc) { kc_db_rollback(db); exam_layout_free(&lay); return rc; }
    now = now > kc_now_ms() ? now : kc_now_ms();   /* a lock wait only makes it later */
    enum srv_attempt_status st = exam__status_parse(status);
    if (st != SRV_ST_IN_PROGRESS) {
        kc_db_rollback(db);
        exam_layout_free(&lay);
        *already = st == SRV_ST_NOT_STARTED ? 2 : 1;
        if (st == SRV_ST_NOT_STARTED)
            *reply = exam__error_reply(req_id, "not_started", "the attempt has not been started");
        else
            *reply = submitted_reply(req_id, old_reason, submitted, (int)show, score);
        return *reply ? 0 : KC_ENOMEM;
    }
    /* Past the deadline the attempt ended at the deadline, whoever asks. */
    int late;
    now = exam_submit_at(now, deadline, &late);
    if (late) reason = "deadline";
    /* Only objective items are scored here; examiners score the rest (score_centi is the
     * objective part until then). */
    uint64_t group, item_id;
    int64_t points, own, whole, total = 0;
    exam_tally tally = {0};
    char type[17], policy[9], response[BANK_RESPONSE_MAX + 1];
    char *key = malloc(BIG);
    if (!key) { kc_db_rollback(db); exam_layout_free(&lay); return KC_ENOMEM; }
    rc = kc_db_query(db, SQL_SCORE_ROWS, "uu", "uuiiissss", attempt_id, attempt_id, &group,
                      &item_id, &points, &own, &whole, type, sizeof type, key, (size_t)BIG,
                      policy, sizeof policy, response, sizeof response);
    for (;;) {
        int f = rc ? rc : kc_db_fetch(db, SQL_SCORE_ROWS);
        if (f < 0) { rc = f; break; }
        rc = 0;
        if (f == 0) { total = exam_tally_total(&tally); break; }
        /* The response as the candidate saw the options, mapped back to the keys. */
        int got;
        exam_score_response(type, policy, key, exam_layout_perm(&lay, item_id), response,
                            (int)own, &got);
        exam_tally_add(&tally, group, points, whole, got);
    }
    free(key);
    exam_layout_free(&lay);
    kc_db_done(db, SQL_SCORE_ROWS);
    if (rc < 0) { kc_db_rollback(db); return rc; }
    rc = kc_db_exec(db, SQL_SUBMIT_SET, "tsiu", now, reason, total, attempt_id);
    if (!rc) rc = kc_db_commit(db);
    if (rc) { kc_db_rollback(db); return rc; }
    *reply = submitted_reply(req_id, reason, now, (int)show, total);
    return *reply ? 0 : KC_ENOMEM;
}

int exam_submit(kc_db *db, uint64_t attempt_id, const char *reason, int64_t now, int64_t req_id,
                char **reply, int *already)
{
    return submit(db, attempt_id, reason, now, req_id, reply, already, 0);
}

/* ---- the deadline sweep ---- */

/* Every node runs it, several workers at once: each takes the attempts past their deadline
 * with id % parts = part, and locks each with SKIP LOCKED, so workers and nodes never wait
 * for one another and each attempt is submitted once (its status is checked under the
 * lock). An attempt that fails is logged and set aside for a minute; the rest go on. */
#define SWEEP_BATCH 200
static const char SQL_DUE[] =
    "SELECT id FROM attempt WHERE status = 'in_progress' AND deadline_at <= ? AND id % ? = ?"
    " ORDER BY deadline_at LIMIT 200";

#define SWEEP_ASIDE 64
static pthread_mutex_t aside_lock = PTHREAD_MUTEX_INITIALIZER;
static struct { uint64_t id; int64_t until; } aside[SWEEP_ASIDE];

static int set_aside(uint64_t id, int64_t now, int add)
{
    int found = 0;
    pthread_mutex_lock(&aside_lock);
    for (int i = 0; i < SWEEP_ASIDE && !found; i++)
        if (aside[i].id == id && aside[i].until > now) found = 1;
    if (add && !found) {
        int k = 0;
        for (int i = 1; i < SWEEP_ASIDE; i++)
            if (aside[i].until < aside[k].until) k = i;
        aside[k].id = id;
        aside[k].until = now + 60000;
    }
    pthread_mutex_unlock(&aside_lock);
    return found;
}

int exam_sweep(kc_db *db, const srv_ctx *x, srv_job *j)
{
    uint64_t ids[SWEEP_BATCH], id;
    int n = 0;
    int64_t now = kc_now_ms();
    int64_t parts = j->m.limit > 0 ? j->m.limit : 1, part = j->m.offset;
    int rc = kc_db_query(db, SQL_DUE, "tii", "u", now, parts, part, &id);
    while (!rc && (rc = kc_db_fetch(db, SQL_DUE)) == 1) {
        rc = 0;
        if (n < SWEEP_BATCH && !set_aside(id, now, 0)) ids[n++] = id;
    }
    kc_db_done(db, SQL_DUE);
    if (rc < 0) return rc;
    for (int i = 0; i < n; i++) {
        char *reply = NULL;
        int already;
        rc = submit(db, ids[i], "deadline", kc_now_ms(), -1, &reply, &already, 1);
        free(reply);
        /* The pool reconnects and runs the sweep again: what committed stays submitted. */
        if (rc == KC_ELOST) return rc;
        if (rc) {
            KC_ERROR("exam", "attempt=%llu could not be submitted at its deadline (set aside for a minute): %s",
                     (unsigned long long)ids[i], db->err[0] ? db->err : kc_strerror(rc));
            set_aside(ids[i], kc_now_ms(), 1);
            continue;
        }
        if (!already) {
            j->n_done++;
            KC_INFO("exam", "auto-submitted at deadline attempt=%llu", (unsigned long long)ids[i]);
        }
    }
    return 0;
}

/* The node that holds the candidate's connection saw the deadline pass in memory: the
 * attempt is submitted now (unless a sweep, here or on another node, did it already), and
 * the reply — this submission or the earlier one — is pushed to the candidate. */
int exam_expire(kc_db *db, const srv_ctx *x, srv_job *j)
{
    int already;
    int rc = exam_submit(db, j->attempt_id, "deadline", kc_now_ms(), -1, &j->reply, &already);
    if (rc == KC_ENOTFOUND) return 0;
    if (rc) return rc;
    j->ok = already != 2;
    j->status = already == 2 ? SRV_ST_NOT_STARTED : SRV_ST_SUBMITTED;
    return 0;
}

int exam_submit_msg(kc_db *db, const srv_ctx *x, srv_job *j)
{
    int already;
    int rc = exam_submit(db, j->attempt_id, "candidate", kc_now_ms(), j->req_id, &j->reply,
                             &already);
    if (rc == KC_ENOTFOUND) {
        j->reply = exam__error_reply(j->req_id, "bad_token", "attempt not found");
        return 0;
    }
    if (!rc) {
        j->ok = already != 2;
        j->status = already == 2 ? SRV_ST_NOT_STARTED : SRV_ST_SUBMITTED;
    }
    return rc;
}

/* ---- deadlines changed after the start ---- */

/* Every node asks every second what changed since its last look (less an overlap: a change
 * stamped just before may commit just after); the service thread ignores what it knows. */
static const char SQL_CHANGES[] =
    "SELECT id, deadline_at, status FROM attempt WHERE deadline_changed_at >= ?"
    " ORDER BY deadline_changed_at LIMIT 2000";

/* Attempts another node took from this one since the last look began, less 10 s (a stamp
 * may commit after a later look), all in MariaDB's clock: this node closes its connection,
 * if it has one. A look that waited long in the queue still starts where the last began. */
static const char SQL_DB_NOW[] = "SELECT NOW(3)";
static const char SQL_TAKEN[] =
    "SELECT id FROM attempt WHERE holder_taken_from = ? AND holder_taken_at >= ?"
    " AND NOT (holder_node <=> ? AND holder_boot <=> ?)";

/* The other runs' shared logins: on a node's first look the newest of a whole window, then
 * by id from where it got to (the caller overlaps a little: ids commit out of order). */
#define FAIL_COLS "SELECT id, kind, ok, who, address, TIMESTAMPDIFF(MICROSECOND, at, NOW(3)) DIV 1000 FROM login_failure"
static const char SQL_FAILS_FIRST[] =
    FAIL_COLS " WHERE at >= NOW(3) - INTERVAL ? SECOND AND boot <> ? ORDER BY id DESC LIMIT 5000";
static const char SQL_FAILS_NEXT[] = FAIL_COLS " WHERE id > ? AND boot <> ? ORDER BY id LIMIT 5000";
static const char SQL_FAILS_MAX[] = "SELECT COALESCE(MAX(id), 0) FROM login_failure";

static int add_change(srv_job *j, size_t *cap, srv_change c)
{
    if (kc_grow((void **)&j->changes, cap, (size_t)j->n_changes + 1, sizeof c)) return KC_ENOMEM;
    j->changes[j->n_changes++] = c;
    return 0;
}

int exam_changes(kc_db *db, const srv_ctx *x, srv_job *j)
{
    uint64_t id;
    int64_t deadline;
    char status[16];
    free(j->changes);          /* a retried job starts afresh */
    j->changes = NULL;
    j->n_changes = 0;
    size_t cap = 0;
    int rc = kc_db_query(db, SQL_CHANGES, "t", "uts", j->m.offset, &id, &deadline, status, sizeof status);
    while (!rc && (rc = kc_db_fetch(db, SQL_CHANGES)) == 1)
        rc = add_change(j, &cap, (srv_change){id, deadline, exam__status_parse(status), 0});
    kc_db_done(db, SQL_CHANGES);
    if (rc < 0) return rc;
    const char *me = x->node_id ? x->node_id : "";
    rc = kc_db_query(db, SQL_DB_NOW, "", "t", &j->db_now);
    int got = rc ? rc : kc_db_fetch(db, SQL_DB_NOW);
    kc_db_done(db, SQL_DB_NOW);
    if (got != 1) return got < 0 ? got : KC_EINVAL;
    int64_t from = (j->taken_since > 0 ? j->taken_since : j->db_now) - 10000;
    rc = kc_db_query(db, SQL_TAKEN, "stsu", "u", me, from, me, x->node_boot, &id);
    while (!rc && (rc = kc_db_fetch(db, SQL_TAKEN)) == 1)
        rc = add_change(j, &cap, (srv_change){id, 0, SRV_ST_NONE, 1});
    kc_db_done(db, SQL_TAKEN);
    if (rc < 0) return rc;
    /* Logins other nodes (or this node's earlier runs) shared. */
    free(j->fails);
    j->fails = NULL;
    j->n_fails = 0;
    size_t fcap = 0;
    srv_fail f;
    memset(&f, 0, sizeof f);
    int64_t kind, ok;
    const char *sql = j->fails_window_s > 0 ? SQL_FAILS_FIRST : SQL_FAILS_NEXT;
    rc = j->fails_window_s > 0
        ? kc_db_query(db, sql, "iu", "uiissi", (int64_t)j->fails_window_s, x->node_boot, &f.id, &kind, &ok,
                      f.who, sizeof f.who, f.address, sizeof f.address, &f.age_ms)
        : kc_db_query(db, sql, "uu", "uiissi", j->fails_after, x->node_boot, &f.id, &kind, &ok, f.who,
                      sizeof f.who, f.address, sizeof f.address, &f.age_ms);
    while (!rc && (rc = kc_db_fetch(db, sql)) == 1) {
        rc = 0;
        if (kc_grow((void **)&j->fails, &fcap, (size_t)j->n_fails + 1, sizeof f)) { rc = KC_ENOMEM; break; }
        f.kind = (unsigned char)kind;
        f.ok = (unsigned char)ok;
        j->fails[j->n_fails++] = f;
    }
    kc_db_done(db, sql);
    if (rc >= 0 && j->fails_window_s > 0) {
        /* where the next looks go on from, whatever this one found */
        rc = kc_db_query(db, SQL_FAILS_MAX, "", "u", &j->fails_after);
        int maxed = rc ? rc : kc_db_fetch(db, SQL_FAILS_MAX);
        kc_db_done(db, SQL_FAILS_MAX);
        rc = maxed < 0 ? maxed : 0;
    }
    if (rc < 0) return rc;
    j->ok = 1;
    return 0;
}

/* ---- holders: this node's lease and the attempts it lets go of (SRV_JOB_HOLDERS) ---- */

#define HOLD_CHUNK 200

static const char SQL_FAIL_HEAD[] = "INSERT IGNORE INTO login_failure (node, boot, seq, kind, ok, who, address, at) VALUES";
static const char SQL_FAIL_PRUNE[] = "DELETE FROM login_failure WHERE at < NOW(3) - INTERVAL 1 HOUR LIMIT 1000";

static const char SQL_LEASE[] =
    "INSERT INTO node_alive (node_id, boot, alive_until) VALUES (?, ?, NOW(3) + INTERVAL 20 SECOND)"
    " ON DUPLICATE KEY UPDATE boot = VALUES(boot), alive_until = VALUES(alive_until)";
static const char SQL_LEASE_BOOT[] = "SELECT boot FROM node_alive WHERE node_id = ?";
static const char SQL_LEASE_RENEW[] =
    "UPDATE node_alive SET alive_until = NOW(3) + INTERVAL 20 SECOND WHERE node_id = ? AND boot = ?";
/* boot 0: ended, so a renewal still queued behind it cannot bring it back. */
static const char SQL_LEASE_END[] =
    "UPDATE node_alive SET alive_until = NOW(3), boot = 0 WHERE node_id = ? AND boot = ?";
static const char SQL_LET_GO[] =
    "UPDATE attempt SET holder_node = NULL, holder_boot = NULL"
    " WHERE id = ? AND holder_node = ? AND holder_boot = ?";
static const char SQL_HOLD_AGAIN[] =
    "UPDATE attempt SET holder_node = ?, holder_boot = ?"
    " WHERE id = ? AND (holder_node IS NULL OR holder_node = ?)";

int exam_lease(kc_db *db, const srv_ctx *x)
{
    return kc_db_exec(db, SQL_LEASE, "su", x->node_id ? x->node_id : "", x->node_boot);
}

int exam_holders(kc_db *db, const srv_ctx *x, srv_job *j)
{
    const char *me = x->node_id ? x->node_id : "";
    if (j->m.level == 1) {      /* a clean stop: nothing is held here any more, at once */
        int rc = kc_db_exec(db, SQL_LEASE_END, "su", me, x->node_boot);
        if (!rc) j->ok = 1;
        return rc;
    }
    /* Another run of this name renewed since: two running nodes share a node_id, and the
     * one-connection rule cannot tell them apart (each takes the other's for gone). */
    uint64_t boot = 0;
    int rc = kc_db_query(db, SQL_LEASE_BOOT, "s", "u", me, &boot);
    int found = rc ? rc : kc_db_fetch(db, SQL_LEASE_BOOT);
    kc_db_done(db, SQL_LEASE_BOOT);
    if (found < 0) return found;
    if (found == 1 && boot == x->node_boot) {
        rc = kc_db_exec(db, SQL_LEASE_RENEW, "su", me, x->node_boot);
    } else if (found == 1 && boot == 0) {
        rc = 0;                 /* ended: this node is stopping */
    } else {
        if (found == 1)
            KC_WARN("exam", "server.node_id=%s is also used by another running node: give each node its own", me);
        rc = exam_lease(db, x);
    }
    if (rc) return rc;
    j->ok = 1;                  /* handle_holders: done (a failed job comes back with ok 0) */
    /* In transactions of HOLD_CHUNK rows: a hall's let-go at once would hold thousands of
     * attempt rows that the answers of those coming back have to update. Each statement is
     * idempotent, so a chunk retried after a lost connection does no harm. */
    int n = j->n_release + j->n_reclaim;
    for (int from = 0; from < n; from += HOLD_CHUNK) {
        if ((rc = kc_db_begin(db))) return rc;
        for (int i = from; !rc && i < n && i < from + HOLD_CHUNK; i++)
            rc = i < j->n_release ? kc_db_exec(db, SQL_LET_GO, "usu", j->ids[i], me, x->node_boot)
                                  : kc_db_exec(db, SQL_HOLD_AGAIN, "suus", me, x->node_boot, j->ids[i], me);
        if (rc) {
            kc_db_rollback(db);
            return rc;
        }
        if ((rc = kc_db_commit(db))) return rc;
    }
    /* The logins to share, last: a failure here (but a lost connection, which runs the
     * whole job again) keeps them for the next job and fails nothing else. (boot, seq)
     * makes a row written twice count once. */
    if (j->n_fails) {
        kc_param *p = calloc((size_t)j->n_fails * 7, sizeof *p);
        if (!p) return KC_ENOMEM;
        for (int i = 0; i < j->n_fails; i++) {
            kc_param *r = p + i * 7;
            r[0] = (kc_param){'s', 0, me, 0};
            r[1] = (kc_param){'u', (int64_t)x->node_boot, NULL, 0};
            r[2] = (kc_param){'u', (int64_t)j->fails[i].seq, NULL, 0};
            r[3] = (kc_param){'i', j->fails[i].kind, NULL, 0};
            r[4] = (kc_param){'i', j->fails[i].ok, NULL, 0};
            r[5] = (kc_param){'s', 0, j->fails[i].who, 0};
            r[6] = (kc_param){'s', 0, j->fails[i].address, 0};
        }
        rc = kc_db_rows(db, SQL_FAIL_HEAD, "(?, ?, ?, ?, ?, ?, ?, NOW(3))", "", p, (size_t)j->n_fails, 200);
        free(p);
        if (rc == KC_ELOST) return rc;
        if (rc) {
            KC_WARN("auth", "sharing %d login outcome(s) with the other nodes failed (%s); kept for the next try",
                    j->n_fails, db->err);
            j->fails_unsent = 1;
        }
    }
    rc = kc_db_exec(db, SQL_FAIL_PRUNE, "");
    return rc == KC_ELOST ? rc : 0;
}

static const char SQL_EXTRA_LOCK[] =
    "SELECT id, status, deadline_at FROM attempt WHERE ticket_no = ? FOR UPDATE";
static const char SQL_EXTRA_RUNNING[] =
    "UPDATE attempt SET deadline_at = ?, deadline_changed_at = ? WHERE id = ?";
static const char SQL_EXTRA_LATER[] =
    "UPDATE attempt SET extra_time_s = extra_time_s + ? WHERE id = ?";
static const char SQL_EXTRA_EVENT[] =
    "INSERT INTO attempt_event (attempt_id, kind, detail, at) VALUES (?, 'extra_time', ?, ?)";

int exam_extra_time(kc_db *db, const char *ticket, int minutes, const char *actor, const char *reason,
                    int64_t *deadline_ms, char *err, size_t errlen)
{
    uint64_t id;
    char status[16];
    int64_t deadline;
    *deadline_ms = 0;
    if (minutes < 1 || minutes > 600) {
        snprintf(err, errlen, "minutes: %d is not in 1..600", minutes);
        return KC_EINVAL;
    }
    int rc = kc_db_begin(db);
    if (rc) return rc;
    rc = kc_db_query(db, SQL_EXTRA_LOCK, "s", "ust", ticket, &id, status, sizeof status, &deadline);
    int found = rc ? rc : kc_db_fetch(db, SQL_EXTRA_LOCK);
    kc_db_done(db, SQL_EXTRA_LOCK);
    if (found != 1) {
        kc_db_rollback(db);
        if (found < 0) return found;
        snprintf(err, errlen, "%s: no such admission ticket", ticket);
        return KC_ENOTFOUND;
    }
    enum srv_attempt_status st = exam__status_parse(status);
    int64_t now = kc_now_ms();
    if (st == SRV_ST_SUBMITTED || (st == SRV_ST_IN_PROGRESS && deadline <= now)) {
        kc_db_rollback(db);
        snprintf(err, errlen, "%s: the attempt has ended; extra time can no longer be given", ticket);
        return KC_EINVAL;
    }
    /* Running: the deadline moves now (and every node learns it); not started: the start
     * adds it (exam_start_deadline). */
    if (st == SRV_ST_IN_PROGRESS) {
        deadline += (int64_t)minutes * 60000;
        rc = kc_db_exec(db, SQL_EXTRA_RUNNING, "ttu", deadline, now, id);
        *deadline_ms = deadline;
    } else {
        rc = kc_db_exec(db, SQL_EXTRA_LATER, "iu", (int64_t)minutes * 60, id);
    }
    char detail[256];
    snprintf(detail, sizeof detail, "+%d min by %.60s%s%.150s", minutes, actor, reason && *reason ? ": " : "",
             reason ? reason : "");
    if (!rc) rc = kc_db_exec(db, SQL_EXTRA_EVENT, "ust", id, detail, now);
    if (!rc) rc = kc_db_commit(db);
    if (rc) kc_db_rollback(db);
    return rc;
}

int exam_events(kc_db *db, const srv_ctx *x, srv_job *j) { return proct_store_batch(db, j->events); }

/* The automatic prepare, then the rendering of what it made (and of papers whose links no
 * longer fit their session's close). */
int exam_prepare_due(kc_db *db, const srv_ctx *x, srv_job *j)
{
    int rc = bank_prepare_due(db, x->prepare_before_min);
    return rc ? rc : exam_render_due(db, x->media_key, x->prepare_before_min);
}

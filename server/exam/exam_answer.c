/* Answers, many candidates' per transaction (group commit), run by the answers pool. An
 * answer is acknowledged only after its COMMIT, saying whether it is now what the server
 * holds for its item; a batch that meets a refused change is split so that only that change
 * fails.
 *
 * Round trips: a transaction of up to EXAM_ROWS_MAX attempts and answers sends 7 requests
 * whatever its size: BEGIN, the attempts locked (one SELECT … FOR UPDATE), the seqs held for
 * its items read (one SELECT), the answers upserted, their history inserted (one multi-row
 * INSERT each), last_seq raised (one UPDATE), COMMIT; fewer when there is nothing to write,
 * and each statement once more per EXAM_ROWS_MAX rows beyond. A statement's first use on a
 * connection adds its prepare. */
#include "exam.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_ullong round_trips;

uint64_t exam_answers_round_trips(void) { return atomic_load(&round_trips); }

/* ---- what each answer comes to (no database) ---- */

typedef struct pick {          /* an answer that may change its item */
    uint64_t attempt;
    int64_t item, seq;
    int job, att;
} pick;

static int cmp_pick(const void *a, const void *b)
{
    const pick *x = a, *y = b;
    if (x->attempt != y->attempt) return x->attempt < y->attempt ? -1 : 1;
    if (x->item != y->item) return x->item < y->item ? -1 : 1;
    if (x->seq != y->seq) return x->seq > y->seq ? -1 : 1;     /* the newest first */
    return (x->job > y->job) - (x->job < y->job);
}

static int cmp_held(const void *a, const void *b)
{
    const exam_answer_held *x = a, *y = b;
    if (x->attempt_id != y->attempt_id) return x->attempt_id < y->attempt_id ? -1 : 1;
    return (x->item > y->item) - (x->item < y->item);
}

int exam__answers_decide(srv_job *const *jobs, int n, exam_answer_attempt *att, int na,
                         exam_answer_held *held, int nh, int64_t now_ms, exam_answer_out *out)
{
    pick *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    if (!p) return KC_ENOMEM;
    for (int a = 0; a < na; a++) att[a].new_last_seq = att[a].last_seq;
    int np = 0;
    for (int k = 0, a = 0; k < n; k++) {
        const srv_job *j = jobs[k];
        while (a < na && att[a].id < j->attempt_id) a++;
        const exam_answer_attempt *t = a < na && att[a].id == j->attempt_id ? &att[a] : NULL;
        exam_answer_out *o = &out[k];
        *o = (exam_answer_out){0};
        if (t && t->status == SRV_ST_SUBMITTED)
            o->fate = EXAM_ANSWER_SUBMITTED;
        else if (!t || t->status != SRV_ST_IN_PROGRESS)
            o->fate = EXAM_ANSWER_NOT_STARTED;
        else if (now_ms >= t->deadline_ms)
            o->fate = EXAM_ANSWER_TIME_OVER;
        else if (j->m.seq > t->last_seq + EXAM_SEQ_AHEAD) {
            o->fate = EXAM_ANSWER_BAD_SEQ;
            o->held_seq = t->last_seq;
        } else
            p[np++] = (pick){j->attempt_id, j->m.item, j->m.seq, k, a};
    }
    qsort(p, (size_t)np, sizeof *p, cmp_pick);
    if (nh > 0) qsort(held, (size_t)nh, sizeof *held, cmp_held);
    int writes = 0;
    for (int g = 0, e; g < np; g = e) {
        for (e = g; e < np && p[e].attempt == p[g].attempt && p[e].item == p[g].item; e++) {}
        exam_answer_held key = {p[g].attempt, p[g].item, 0, NULL};
        const exam_answer_held *h = nh > 0 ? bsearch(&key, held, (size_t)nh, sizeof *held, cmp_held) : NULL;
        const srv_job *w = jobs[p[g].job];           /* the item's newest change */
        int64_t seq;
        const char *resp;
        if (!h || w->m.seq > h->seq) {
            out[p[g].job].write = 1;
            writes++;
            seq = w->m.seq;
            resp = w->m.response;
            if (seq > att[p[g].att].new_last_seq) att[p[g].att].new_last_seq = seq;
        } else {
            seq = h->seq;
            resp = h->response ? h->response : "";
        }
        /* Applied: exactly what the item holds now (a replay of it too); else superseded. */
        for (int k = g; k < e; k++) {
            const srv_job *j = jobs[p[k].job];
            exam_answer_out *o = &out[p[k].job];
            o->fate = j->m.seq == seq && !strcmp(j->m.response, resp) ? EXAM_ANSWER_APPLIED
                                                                       : EXAM_ANSWER_SUPERSEDED;
            o->held_seq = seq;
        }
    }
    free(p);
    return writes;
}

char *exam__answer_reply(const srv_job *j, const exam_answer_out *o)
{
    char msg[160];
    switch (o->fate) {
    case EXAM_ANSWER_APPLIED:
    case EXAM_ANSWER_SUPERSEDED: {
        json_t *r = json_pack("{s:s, s:I, s:I, s:b, s:I}", "type", "ack", "item", (json_int_t)j->m.item,
                              "seq", (json_int_t)j->m.seq, "applied", o->fate == EXAM_ANSWER_APPLIED,
                              "held_seq", (json_int_t)o->held_seq);
        if (r && j->req_id >= 0) json_object_set_new(r, "id", json_integer(j->req_id));
        return r ? exam__dump(r) : NULL;
    }
    case EXAM_ANSWER_SUBMITTED:
        return exam__error_reply(j->req_id, "submitted", "the attempt is submitted; the answer was not saved");
    case EXAM_ANSWER_TIME_OVER:
        return exam__error_reply(j->req_id, "time_over", "the deadline has passed; the answer was not saved");
    case EXAM_ANSWER_BAD_SEQ:
        snprintf(msg, sizeof msg, "seq: %lld is more than %lld beyond the attempt's last seq %lld; "
                 "the answer was not saved", (long long)j->m.seq, (long long)EXAM_SEQ_AHEAD,
                 (long long)o->held_seq);
        return srv_msg_error_json(j->req_id, "bad_seq", "seq", msg);
    case EXAM_ANSWER_NOT_STARTED:
    default:
        return exam__error_reply(j->req_id, "not_started", "the attempt has not been started");
    }
}

/* ---- multi-row statements (shared inside exam/: answers, starts) ---- */

static const int ROW_SIZES[] = {1, 4, 16, 64, EXAM_ROWS_MAX};

int exam__rows_size(int n)
{
    for (size_t i = 0; i < sizeof ROW_SIZES / sizeof ROW_SIZES[0]; i++)
        if (n <= ROW_SIZES[i]) return ROW_SIZES[i];
    return EXAM_ROWS_MAX;
}

char *exam__rows_sql(kc_arena *A, int k, const char *head, const char *row, const char *sep,
                     const char *tail)
{
    size_t hl = strlen(head), rl = strlen(row), sl = strlen(sep), tl = strlen(tail);
    char *s = kc_arena_alloc(A, hl + (size_t)k * (rl + sl) + tl + 1), *w = s;
    if (!s) return NULL;
    memcpy(w, head, hl);
    w += hl;
    for (int r = 0; r < k; r++) {
        if (r) { memcpy(w, sep, sl); w += sl; }
        memcpy(w, row, rl);
        w += rl;
    }
    memcpy(w, tail, tl + 1);
    return s;
}

void exam__pad_rows(kc_param *p, int cnt, int k, int per)
{
    for (int r = cnt; r < k; r++) memcpy(p + (size_t)r * per, p + (size_t)(cnt - 1) * per, (size_t)per * sizeof *p);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int exam__sort_unique(uint64_t *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_u64);
    int u = 0;
    for (int i = 0; i < n; i++)
        if (!u || v[u - 1] != v[i]) v[u++] = v[i];
    return u;
}

kc_stmt *exam__run(kc_db *db, const char *sql, const kc_param *p, int n, int *rc)
{
    kc_stmt *s = sql ? kc_db_stmt(db, sql) : NULL;
    if (!sql) *rc = KC_ENOMEM;
    else if (!s) *rc = kc_db_fail_code(db);
    else *rc = kc_stmt_execv(s, p, n);
    return *rc ? NULL : s;
}

/* ---- one transaction ---- */

typedef struct answers_env {
    kc_db *db;
    const char *node;
} answers_env;

typedef struct pair {          /* an (attempt, item) whose held seq is read */
    uint64_t attempt;
    int64_t item;
    int att;
} pair;

static int cmp_pair(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    if (x->attempt != y->attempt) return x->attempt < y->attempt ? -1 : 1;
    return (x->item > y->item) - (x->item < y->item);
}

/* One transaction over jobs[0..n), sorted by attempt: see exam_answers_ops.tx. */
static int answers_once(void *arg, srv_job **jobs, int n, int *bad_lo, int *bad_hi)
{
    answers_env *env = arg;
    kc_db *db = env->db;
    *bad_lo = 0;
    *bad_hi = n;
    kc_arena *A = kc_arena_new(0);
    if (!A) return KC_ENOMEM;
    int rc = 0, na = 0, np = 0, nh = 0, nw = 0, nl = 0;
    exam_answer_attempt *att = kc_arena_alloc(A, (size_t)n * sizeof *att);
    int *alo = kc_arena_alloc(A, (size_t)n * sizeof *alo), *ahi = kc_arena_alloc(A, (size_t)n * sizeof *ahi);
    pair *pairs = kc_arena_alloc(A, (size_t)n * sizeof *pairs);
    exam_answer_held *held = kc_arena_alloc(A, (size_t)n * sizeof *held);
    exam_answer_out *out = kc_arena_alloc(A, (size_t)n * sizeof *out);
    int *w = kc_arena_alloc(A, (size_t)n * sizeof *w), *lift = kc_arena_alloc(A, (size_t)n * sizeof *lift);
    kc_param *p = kc_arena_alloc(A, (size_t)EXAM_ROWS_MAX * 7 * sizeof *p);
    if (!att || !alo || !ahi || !pairs || !held || !out || !w || !lift || !p) {
        kc_arena_free(A);
        return KC_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        if (!na || att[na - 1].id != jobs[i]->attempt_id) {
            att[na] = (exam_answer_attempt){.id = jobs[i]->attempt_id};   /* SRV_ST_NONE until read */
            alo[na++] = i;
        }
        ahi[na - 1] = i + 1;
    }
    /* Suspects when a statement over rows of attempts [a0, a1] fails: their answers. */
#define FAIL_ATTEMPTS(a0, a1) (*bad_lo = alo[a0], *bad_hi = ahi[a1])

    if ((rc = kc_db_begin(db))) goto fail;

    /* 1. Lock the attempts in id order, so concurrent batches cannot deadlock and a submit
     * (which locks the attempt too) sees either none or all of a transaction's answers. */
    for (int a0 = 0; a0 < na; a0 += EXAM_ROWS_MAX) {
        int cnt = na - a0 < EXAM_ROWS_MAX ? na - a0 : EXAM_ROWS_MAX, k = exam__rows_size(cnt);
        for (int r = 0; r < cnt; r++) p[r] = EXAM_P_U(att[a0 + r].id);
        exam__pad_rows(p, cnt, k, 1);
        kc_stmt *s = exam__run(db, exam__rows_sql(A, k, "SELECT id, status, deadline_at, last_seq FROM attempt WHERE id IN (",
                                      "?", ", ", ") ORDER BY id FOR UPDATE"), p, k, &rc);
        for (int r, a = a0; s && (r = kc_stmt_next(s)) != 0;) {
            if (r < 0) { rc = r; break; }
            uint64_t id = (uint64_t)kc_stmt_int(s, 0);
            while (a < a0 + cnt && att[a].id < id) a++;
            if (a == a0 + cnt || att[a].id != id) continue;
            const char *st = kc_stmt_str(s, 1);
            att[a].status = exam__status_parse(st ? st : "");
            att[a].deadline_ms = kc_stmt_time(s, 2);
            att[a].last_seq = kc_stmt_int(s, 3);
        }
        kc_stmt_done(s);
        if (rc) { FAIL_ATTEMPTS(a0, a0 + cnt - 1); goto fail; }
    }
    int64_t now = kc_now_ms();    /* after the lock: waiting for it must not let a late answer in */

    /* 2. The seqs the database holds for the items answered (attempts that take answers). */
    for (int a = 0; a < na; a++) {
        if (att[a].status != SRV_ST_IN_PROGRESS || now >= att[a].deadline_ms) continue;
        for (int i = alo[a]; i < ahi[a]; i++) pairs[np++] = (pair){att[a].id, jobs[i]->m.item, a};
    }
    qsort(pairs, (size_t)np, sizeof *pairs, cmp_pair);
    int u = 0;
    for (int i = 0; i < np; i++)
        if (!u || cmp_pair(&pairs[u - 1], &pairs[i])) pairs[u++] = pairs[i];
    np = u;
    for (int r0 = 0; r0 < np; r0 += EXAM_ROWS_MAX) {
        int cnt = np - r0 < EXAM_ROWS_MAX ? np - r0 : EXAM_ROWS_MAX, k = exam__rows_size(cnt);
        for (int r = 0; r < cnt; r++) {
            p[2 * r] = EXAM_P_U(pairs[r0 + r].attempt);
            p[2 * r + 1] = EXAM_P_I(pairs[r0 + r].item);
        }
        exam__pad_rows(p, cnt, k, 2);
        kc_stmt *s = exam__run(db, exam__rows_sql(A, k, "SELECT attempt_id, item_id, seq, response FROM answer"
                                            " WHERE (attempt_id, item_id) IN (", "(?, ?)", ", ", ")"),
                         p, 2 * k, &rc);
        for (int r; s && (r = kc_stmt_next(s)) != 0;) {
            if (r < 0) { rc = r; break; }
            if (nh == n) continue;       /* a pair is read once: never more rows than pairs */
            const char *resp = kc_stmt_str(s, 3);
            held[nh] = (exam_answer_held){(uint64_t)kc_stmt_int(s, 0), kc_stmt_int(s, 1), kc_stmt_int(s, 2),
                                          kc_arena_strdup(A, resp ? resp : "")};
            if (!held[nh].response) { rc = KC_ENOMEM; break; }
            nh++;
        }
        kc_stmt_done(s);
        if (rc) { FAIL_ATTEMPTS(pairs[r0].att, pairs[r0 + cnt - 1].att); goto fail; }
    }

    /* 3. What each answer comes to. */
    int writes = exam__answers_decide(jobs, n, att, na, held, nh, now, out);
    if (writes < 0) { rc = writes; goto fail; }
    for (int i = 0; i < n; i++)
        if (out[i].write) w[nw++] = i;
    for (int a = 0; a < na; a++)
        if (att[a].new_last_seq > att[a].last_seq) lift[nl++] = a;

    /* 4. The answers: each is newer than what its row holds (read above under the lock);
     * the seq test stays in the statement all the same, and makes a padding copy a no-op. */
    for (int r0 = 0; r0 < nw; r0 += EXAM_ROWS_MAX) {
        int cnt = nw - r0 < EXAM_ROWS_MAX ? nw - r0 : EXAM_ROWS_MAX, k = exam__rows_size(cnt);
        for (int r = 0; r < cnt; r++) {
            const srv_job *j = jobs[w[r0 + r]];
            kc_param *q = p + 5 * r;
            q[0] = EXAM_P_U(j->attempt_id);
            q[1] = EXAM_P_U(j->m.item);
            q[2] = EXAM_P_S(j->m.response);
            q[3] = EXAM_P_I(j->m.seq);
            q[4] = EXAM_P_T(now);
        }
        exam__pad_rows(p, cnt, k, 5);
        exam__run(db, exam__rows_sql(A, k, "INSERT INTO answer (attempt_id, item_id, response, seq, saved_at) VALUES ",
                         "(?, ?, ?, ?, ?)", ", ",
                         " ON DUPLICATE KEY UPDATE"
                         " response = IF(VALUES(seq) > seq, VALUES(response), response),"
                         " saved_at = IF(VALUES(seq) > seq, VALUES(saved_at), saved_at),"
                         " seq = GREATEST(seq, VALUES(seq))"),   /* last: the IFs must see the old seq */
            p, 5 * k, &rc);
        if (rc) { *bad_lo = w[r0]; *bad_hi = w[r0 + cnt - 1] + 1; goto fail; }
    }

    /* 5. Their history. A change written here is newer than anything its item held, so it
     * never meets an existing key; a padding copy does, and changes nothing (affected 0):
     * any other count means a row of the history was already there, and the batch fails. */
    for (int r0 = 0; r0 < nw; r0 += EXAM_ROWS_MAX) {
        int cnt = nw - r0 < EXAM_ROWS_MAX ? nw - r0 : EXAM_ROWS_MAX, k = exam__rows_size(cnt);
        for (int r = 0; r < cnt; r++) {
            const srv_job *j = jobs[w[r0 + r]];
            kc_param *q = p + 7 * r;
            q[0] = EXAM_P_U(j->attempt_id);
            q[1] = EXAM_P_U(j->m.item);
            q[2] = EXAM_P_I(j->m.seq);
            q[3] = EXAM_P_S(j->m.response);
            q[4] = EXAM_P_T(now);
            q[5] = EXAM_P_S(env->node);
            q[6] = EXAM_P_U(j->conn);
        }
        exam__pad_rows(p, cnt, k, 7);
        kc_stmt *s = exam__run(db, exam__rows_sql(A, k, "INSERT INTO answer_history (attempt_id, item_id, seq, response,"
                                            " saved_at, node, conn_id) VALUES ",
                                      "(?, ?, ?, ?, ?, ?, ?)", ", ", " ON DUPLICATE KEY UPDATE seq = seq"),
                         p, 7 * k, &rc);
        if (!rc && kc_stmt_affected(s) != (uint64_t)cnt) {
            snprintf(db->err, sizeof db->err, "answer_history: %llu of %d changes inserted, the others "
                     "were there already", (unsigned long long)kc_stmt_affected(s), cnt);
            db->err_no = 0;
            rc = KC_EDB;
        }
        if (rc) { *bad_lo = w[r0]; *bad_hi = w[r0 + cnt - 1] + 1; goto fail; }
    }

    /* 6. last_seq, for the attempts whose newest seq the batch raised. */
    for (int r0 = 0; r0 < nl; r0 += EXAM_ROWS_MAX) {
        int cnt = nl - r0 < EXAM_ROWS_MAX ? nl - r0 : EXAM_ROWS_MAX, k = exam__rows_size(cnt);
        for (int r = 0; r < k; r++) {
            const exam_answer_attempt *t = &att[lift[r0 + (r < cnt ? r : cnt - 1)]];
            p[2 * r] = EXAM_P_U(t->id);
            p[2 * r + 1] = EXAM_P_I(t->new_last_seq);
            p[2 * k + r] = EXAM_P_U(t->id);
        }
        const char *when = exam__rows_sql(A, k, "UPDATE attempt SET last_seq = GREATEST(last_seq, CASE id",
                                    " WHEN ? THEN ?", "", " ELSE last_seq END) WHERE id IN (");
        const char *ids = exam__rows_sql(A, k, "", "?", ", ", ")");
        exam__run(db, when && ids ? kc_arena_printf(A, "%s%s", when, ids) : NULL, p, 3 * k, &rc);
        if (rc) { FAIL_ATTEMPTS(lift[r0], lift[r0 + cnt - 1]); goto fail; }
    }

    if ((rc = kc_db_commit(db))) {
        *bad_lo = 0;
        *bad_hi = n;
        goto fail;
    }
    /* Committed: now, and only now, the replies. */
    for (int i = 0; i < n; i++) {
        srv_job *j = jobs[i];
        free(j->reply);
        j->reply = exam__answer_reply(j, &out[i]);
        j->ok = out[i].fate == EXAM_ANSWER_APPLIED;
        if (out[i].fate == EXAM_ANSWER_APPLIED || out[i].fate == EXAM_ANSWER_SUPERSEDED)
            j->held_seq = out[i].held_seq;
    }
    kc_arena_free(A);
    return 0;
fail:
    kc_db_rollback(db);
    kc_arena_free(A);
    return rc;
#undef FAIL_ATTEMPTS
}

static const char *answers_why(void *arg) { return ((answers_env *)arg)->db->err; }

#define ANSWER_TRIES 3             /* transactions per set of answers on deadlocks, lock waits */

/* Nothing of a transaction that did not commit may reach a client. */
static void answers_forget(srv_job **jobs, int n)
{
    for (int i = 0; i < n; i++) {
        free(jobs[i]->reply);
        jobs[i]->reply = NULL;
        jobs[i]->ok = 0;
    }
}

static void answers_reverse(srv_job **jobs, int lo, int hi)
{
    for (hi--; lo < hi; lo++, hi--) {
        srv_job *t = jobs[lo];
        jobs[lo] = jobs[hi];
        jobs[hi] = t;
    }
}

/* jobs[lo..hi) moves to the end of jobs[0..n): both parts keep their order (so their sort). */
static void answers_to_end(srv_job **jobs, int lo, int hi, int n)
{
    answers_reverse(jobs, lo, hi);
    answers_reverse(jobs, hi, n);
    answers_reverse(jobs, lo, n);
}

static int cmp_job_attempt(const void *a, const void *b)
{
    const srv_job *x = *(srv_job *const *)a, *y = *(srv_job *const *)b;
    if (x->attempt_id != y->attempt_id) return x->attempt_id < y->attempt_id ? -1 : 1;
    return x->m.seq < y->m.seq ? -1 : x->m.seq > y->m.seq;
}

int exam__answers_run(const exam_answers_ops *ops, srv_job **jobs, int n)
{
    if (n <= 0) return 0;
    qsort(jobs, (size_t)n, sizeof *jobs, cmp_job_attempt);
    /* Sets of answers still to commit, each a run of jobs sorted by attempt. Every set taken
     * off leaves at most two disjoint ones: never more than n at once. */
    struct range { int lo, hi; } *todo = malloc((size_t)n * sizeof *todo);
    if (!todo) return KC_ENOMEM;
    int top = 0;
    todo[top++] = (struct range){0, n};
    answers_forget(jobs, n);
    while (top) {
        struct range r = todo[--top];
        srv_job **js = jobs + r.lo;
        int m = r.hi - r.lo, bad_lo = 0, bad_hi = m, rc = 0;
        for (int t = 0; t < ANSWER_TRIES; t++) {
            bad_lo = 0;
            bad_hi = m;
            rc = ops->tx(ops->arg, js, m, &bad_lo, &bad_hi);
            if (rc) answers_forget(js, m);
            /* Deadlocks and lock timeouts (by error number) are transient: run them again. */
            if (rc != KC_ERETRY) break;
        }
        if (!rc) continue;
        if (rc == KC_ELOST) {
            /* The pool reconnects and runs the whole batch again: what was committed is
             * acknowledged again then (the same seq and response is applied already). */
            free(todo);
            return rc;
        }
        if (rc == KC_ERETRY) {
            KC_WARN("exam", "answers=%d: deadlocks or lock waits after %d tries: %s", m, ANSWER_TRIES,
                    ops->why(ops->arg));
            for (int i = 0; i < m; i++)
                js[i]->reply = exam__error_reply(js[i]->req_id, "internal",
                                           "the database was busy; the answer was not saved, please send it again");
            continue;
        }
        if (m == 1) {
            /* Failed alone: this answer is what the database refuses. */
            srv_job *j = js[0];
            KC_ERROR("exam", "attempt=%llu item=%lld seq=%lld: the answer could not be stored: %s",
                     (unsigned long long)j->attempt_id, (long long)j->m.item, (long long)j->m.seq,
                     ops->why(ops->arg));
            j->reply = exam__error_reply(j->req_id, "not_saved",
                                   "the answer could not be stored (the database refused it; logged); it was not saved");
            continue;
        }
        if (bad_lo < 0) bad_lo = 0;
        if (bad_hi > m) bad_hi = m;
        KC_WARN("exam", "answers=%d not committed, committing them apart (%d suspect): %s", m,
                bad_hi > bad_lo ? bad_hi - bad_lo : m, ops->why(ops->arg));
        if (bad_lo >= bad_hi || (bad_lo == 0 && bad_hi == m)) {
            /* Nothing narrower to suspect: halves, the first one first. */
            todo[top++] = (struct range){r.lo + m / 2, r.hi};
            todo[top++] = (struct range){r.lo, r.lo + m / 2};
        } else {
            /* The rest first (it usually commits), then the suspects on their own. */
            int k = bad_hi - bad_lo;
            answers_to_end(js, bad_lo, bad_hi, m);
            todo[top++] = (struct range){r.hi - k, r.hi};
            todo[top++] = (struct range){r.lo, r.hi - k};
        }
    }
    free(todo);
    return 0;
}

int exam_answers(kc_db *db, const srv_ctx *x, srv_job **jobs, int n)
{
    answers_env env = {db, x && x->node_id ? x->node_id : ""};
    exam_answers_ops ops = {&env, answers_once, answers_why};
    uint64_t before = db->round_trips;
    int rc = exam__answers_run(&ops, jobs, n);
    atomic_fetch_add(&round_trips, db->round_trips - before);
    return rc;
}

int exam_answer(kc_db *db, const srv_ctx *x, srv_job *j) { return exam_answers(db, x, &j, 1); }

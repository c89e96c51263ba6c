/* Answers, many candidates' per transaction (group commit), run by the answers pool. An
 * answer is acknowledged only after its COMMIT; a batch that meets a refused change is
 * split so that only that change fails. */
#include "exam.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* ---- answers, many candidates per transaction ---- */

static const char SQL_ANSWER_LOCK[] =
    "SELECT status, deadline_at FROM attempt WHERE id = ? FOR UPDATE";
static const char SQL_ANSWER_PUT[] =
    "INSERT INTO answer (attempt_id, item_id, response, seq, saved_at) VALUES (?, ?, ?, ?, ?)"
    " ON DUPLICATE KEY UPDATE"
    " response = IF(VALUES(seq) > seq, VALUES(response), response),"
    " saved_at = IF(VALUES(seq) > seq, VALUES(saved_at), saved_at),"
    " seq = GREATEST(seq, VALUES(seq))";   /* last: the IFs above must see the old seq */
static const char SQL_LAST_SEQ[] =
    "UPDATE attempt SET last_seq = GREATEST(last_seq, ?) WHERE id = ?";

static int cmp_job_attempt(const void *a, const void *b)
{
    const srv_job *x = *(srv_job *const *)a, *y = *(srv_job *const *)b;
    if (x->attempt_id != y->attempt_id) return x->attempt_id < y->attempt_id ? -1 : 1;
    return x->m.seq < y->m.seq ? -1 : x->m.seq > y->m.seq;
}

/* One transaction over jobs[0..n), sorted by attempt: see exam_answers_ops.tx. */
static int answers_once(void *arg, srv_job **jobs, int n, int *bad_lo, int *bad_hi)
{
    kc_db *db = arg;
    /* Lock attempts in id order so concurrent batches cannot deadlock, and so a submit
     * (which locks the attempt too) sees either none or all of a transaction's answers. */
    *bad_lo = 0;
    *bad_hi = n;
    int rc = kc_db_begin(db);
    if (rc) return rc;
    for (int i = 0; i < n && !rc;) {
        uint64_t aid = jobs[i]->attempt_id;
        int end = i;
        while (end < n && jobs[end]->attempt_id == aid) end++;
        char status[16];
        int64_t deadline;
        rc = kc_db_query(db, SQL_ANSWER_LOCK, "u", "st", aid, status, sizeof status, &deadline);
        if (!rc) {
            rc = kc_db_fetch(db, SQL_ANSWER_LOCK);
            kc_db_done(db, SQL_ANSWER_LOCK);
            if (rc == 0) strcpy(status, "gone");
            if (rc >= 0) rc = 0;
        }
        if (rc) {
            *bad_lo = i;             /* this attempt's answers */
            *bad_hi = end;
            break;
        }
        int64_t now = kc_now_ms();  /* after the lock: waiting for it must not let a late answer in */
        enum srv_attempt_status st = exam__status_parse(status);
        int64_t max_seq = 0;
        for (int k = i; k < end; k++) {
            srv_job *j = jobs[k];
            free(j->reply);
            j->reply = NULL;
            j->ok = 0;
            if (st == SRV_ST_SUBMITTED)
                j->reply = exam__error_reply(j->req_id, "submitted", "the attempt is submitted; the answer was not saved");
            else if (st != SRV_ST_IN_PROGRESS)
                j->reply = exam__error_reply(j->req_id, "not_started", "the attempt has not been started");
            else if (now >= deadline)
                j->reply = exam__error_reply(j->req_id, "time_over", "the deadline has passed; the answer was not saved");
            else {
                rc = kc_db_exec(db, SQL_ANSWER_PUT, "uusit", aid, (uint64_t)j->m.item, j->m.response,
                                 j->m.seq, now);
                if (rc) {
                    *bad_lo = k;     /* this answer */
                    *bad_hi = k + 1;
                    break;
                }
                j->ok = 1;
                if (j->m.seq > max_seq) max_seq = j->m.seq;
            }
        }
        if (!rc && max_seq && (rc = kc_db_exec(db, SQL_LAST_SEQ, "iu", max_seq, aid))) {
            *bad_lo = i;
            *bad_hi = end;
        }
        i = end;
    }
    if (!rc && (rc = kc_db_commit(db))) {
        *bad_lo = 0;
        *bad_hi = n;
    }
    if (rc) {
        kc_db_rollback(db);
        return rc;
    }
    for (int i = 0; i < n; i++) {
        srv_job *j = jobs[i];
        if (!j->ok) continue;
        json_t *o = json_pack("{s:s, s:I, s:I}", "type", "ack", "item", (json_int_t)j->m.item,
                              "seq", (json_int_t)j->m.seq);
        if (o && j->req_id >= 0) json_object_set_new(o, "id", json_integer(j->req_id));
        j->reply = o ? exam__dump(o) : NULL;
    }
    return 0;
}

static const char *answers_why(void *arg) { return ((kc_db *)arg)->err; }

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
             * acknowledged again then (a seq that is not newer changes nothing). */
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
    (void)x;
    exam_answers_ops ops = {db, answers_once, answers_why};
    return exam__answers_run(&ops, jobs, n);
}

int exam_answer(kc_db *db, const srv_ctx *x, srv_job *j) { return exam_answers(db, x, &j, 1); }


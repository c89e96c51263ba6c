/* How a batch of answers is committed (exam__answers_run), without a database: the test's
 * transaction commits, deadlocks, loses the connection or refuses an answer the way MariaDB
 * would, and the tests check that one bad answer costs only its own reply, that nothing is
 * acked that did not commit, and that every transaction sees its answers in lock order. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/exam/exam.h"

/* The refusals are logged on stderr: not in the test's output. */
static void quiet(void) { cr_redirect_stderr(); }
TestSuite(answers, .init = quiet);

#define MAXJ 64

/* The fake database: what it refuses and what it committed. */
static struct fake {
    int calls;                 /* transactions run */
    int retry_first;           /* the first N transactions deadlock */
    int lost_at;               /* this transaction (1-based) loses the connection; 0 never */
    int64_t poison[4];         /* items whose INSERT is refused (a trigger, data too long) */
    int npoison;
    uint64_t seq_attempt;      /* this attempt's last_seq update is refused ... */
    int64_t seq_bad;           /* ... when the highest seq it would store is this one */
    int64_t pair[2];           /* items refused at COMMIT when both are in one transaction */
    int committed[MAXJ];       /* by job (its req_id): transactions it committed in */
    int unsorted;              /* a transaction saw its answers out of lock order */
    int max_n;
} F;

static int poisoned(const srv_job *j)
{
    for (int i = 0; i < F.npoison; i++)
        if (F.poison[i] == j->m.item) return 1;
    return 0;
}

static int tx(void *arg, srv_job **jobs, int n, int *bad_lo, int *bad_hi)
{
    F.calls++;
    if (n > F.max_n) F.max_n = n;
    for (int i = 1; i < n; i++)
        if (jobs[i - 1]->attempt_id > jobs[i]->attempt_id ||
            (jobs[i - 1]->attempt_id == jobs[i]->attempt_id && jobs[i - 1]->m.seq > jobs[i]->m.seq))
            F.unsorted++;
    if (F.lost_at && F.calls == F.lost_at) return KC_ELOST;
    if (F.calls <= F.retry_first) return KC_ERETRY;
    int has_a = 0, has_b = 0;
    for (int i = 0; i < n;) {
        int end = i;
        int64_t max_seq = 0;
        while (end < n && jobs[end]->attempt_id == jobs[i]->attempt_id) end++;
        for (int k = i; k < end; k++) {
            /* A real transaction builds nothing before COMMIT; a careless one might: the
             * driver must throw it away. */
            free(jobs[k]->reply);
            jobs[k]->reply = strdup("{\"type\":\"ack\",\"uncommitted\":true}");
            jobs[k]->ok = 1;
            if (poisoned(jobs[k])) {
                *bad_lo = k;
                *bad_hi = k + 1;
                return KC_EDB;
            }
            if (jobs[k]->m.seq > max_seq) max_seq = jobs[k]->m.seq;
            has_a |= jobs[k]->m.item == F.pair[0];
            has_b |= jobs[k]->m.item == F.pair[1];
        }
        if (jobs[i]->attempt_id == F.seq_attempt && max_seq == F.seq_bad) {
            *bad_lo = i;
            *bad_hi = end;
            return KC_EDB;
        }
        i = end;
    }
    if (F.pair[0] && has_a && has_b) return KC_EDB;    /* COMMIT: cannot tell which */
    for (int i = 0; i < n; i++) {
        F.committed[jobs[i]->req_id]++;
        free(jobs[i]->reply);
        jobs[i]->reply = strdup("{\"type\":\"ack\"}");
        jobs[i]->ok = 1;
    }
    return 0;
}

static const char *why(void *arg) { return "test: refused (1644)"; }
static const exam_answers_ops OPS = {NULL, tx, why};

static srv_job *J[MAXJ];
static int NJ;

/* Answers of `attempts` candidates, `per` each (items 100 * attempt + k, seq k), in the
 * order a queue might hold them (newest candidate first); req_id is the job's number. */
static void batch(int attempts, int per)
{
    memset(&F, 0, sizeof F);
    NJ = 0;
    for (int a = attempts; a >= 1; a--)
        for (int k = 1; k <= per; k++) {
            srv_job *j = calloc(1, sizeof *j);
            cr_assert_not_null(j);
            j->attempt_id = (uint64_t)a;
            j->m.item = 100 * a + k;
            j->m.seq = k;
            j->req_id = NJ;
            J[NJ++] = j;
        }
}

static void done(void)
{
    for (int i = 0; i < NJ; i++) srv_job_free(J[i]);
    NJ = 0;
}

static srv_job *by_item(int64_t item)
{
    for (int i = 0; i < NJ; i++)
        if (J[i]->m.item == item) return J[i];
    cr_assert_fail("no job for item %lld", (long long)item);
    return NULL;
}

static int is(const srv_job *j, const char *what)
{
    return j->reply && strstr(j->reply, what) != NULL;
}

/* Every job has a reply; an ack only if it committed, exactly once, and never one built
 * before a COMMIT that failed; no transaction saw its answers out of order. */
static void check_invariants(void)
{
    cr_assert_eq(F.unsorted, 0, "every transaction locks its attempts in id order");
    for (int i = 0; i < NJ; i++) {
        srv_job *j = J[i];
        cr_assert_not_null(j->reply, "job %lld has a reply", (long long)j->req_id);
        cr_assert_not(is(j, "uncommitted"), "job %lld: no ack from a transaction that failed",
                      (long long)j->req_id);
        if (is(j, "\"ack\"")) {
            cr_assert_eq(F.committed[j->req_id], 1, "job %lld is acked and committed once", (long long)j->req_id);
            cr_assert_eq(j->ok, 1);
        } else {
            cr_assert_eq(F.committed[j->req_id], 0, "job %lld was not committed", (long long)j->req_id);
            cr_assert_eq(j->ok, 0);
        }
    }
}

static int count(const char *what)
{
    int n = 0;
    for (int i = 0; i < NJ; i++) n += is(J[i], what);
    return n;
}

Test(answers, a_good_batch_is_one_transaction)
{
    batch(5, 4);
    cr_assert_eq(exam__answers_run(&OPS, J, NJ), 0);
    cr_assert_eq(F.calls, 1);
    cr_assert_eq(count("\"ack\""), 20);
    check_invariants();
    done();
}

Test(answers, one_bad_answer_fails_alone_and_the_rest_commits)
{
    batch(5, 4);
    F.poison[F.npoison++] = 302;      /* the third candidate's second answer */
    cr_assert_eq(exam__answers_run(&OPS, J, NJ), 0);
    check_invariants();
    cr_assert_eq(count("\"ack\""), 19);
    srv_job *bad = by_item(302);
    cr_assert(is(bad, "\"code\":\"not_saved\""), "%s", bad->reply);
    cr_assert(is(bad, "could not be stored"), "%s", bad->reply);
    /* The batch, the 19 others together, then the bad one on its own. */
    cr_assert_eq(F.calls, 3, "transactions: %d", F.calls);
    done();
}

Test(answers, several_bad_answers_each_fail_alone)
{
    batch(6, 5);
    F.poison[F.npoison++] = 101;
    F.poison[F.npoison++] = 305;
    F.poison[F.npoison++] = 603;
    cr_assert_eq(exam__answers_run(&OPS, J, NJ), 0);
    check_invariants();
    cr_assert_eq(count("\"ack\""), 27);
    cr_assert_eq(count("not_saved"), 3);
    for (int k = 0; k < 3; k++) cr_assert(is(by_item(F.poison[k]), "not_saved"));
    cr_assert_leq(F.calls, 3 * 3 + 1, "transactions: %d", F.calls);
    done();
}

Test(answers, every_answer_of_one_candidate_bad)
{
    batch(3, 3);
    for (int k = 1; k <= 3; k++) F.poison[F.npoison++] = 100 + k;   /* all of attempt 1 */
    cr_assert_eq(exam__answers_run(&OPS, J, NJ), 0);
    check_invariants();
    cr_assert_eq(count("not_saved"), 3);
    cr_assert_eq(count("\"ack\""), 6);
    done();
}

Test(answers, an_attempt_level_failure_narrows_down_to_the_answer)
{
    /* attempt 2's last_seq update is refused when it would store seq 4: only the answer
     * with seq 4 fails, its other answers commit (in transactions without it). */
    batch(4, 4);
    F.seq_attempt = 2;
    F.seq_bad = 4;
    cr_assert_eq(exam__answers_run(&OPS, J, NJ), 0);
    check_invariants();
    cr_assert(is(by_item(204), "not_saved"), "%s", by_item(204)->reply);
    cr_assert_eq(count("not_saved"), 1);
    cr_assert_eq(count("\"ack\""), 15);
    done();
}

Test(answers, a_failure_that_names_no_answer_is_halved)
{
    /* refused at COMMIT only when both are in one transaction: each commits alone */
    batch(4, 4);
    F.pair[0] = 102;
    F.pair[1] = 403;
    cr_assert_eq(exam__answers_run(&OPS, J, NJ), 0);
    check_invariants();
    cr_assert_eq(count("\"ack\""), 16);
    cr_assert_eq(F.calls, 3, "the batch, then each half: %d", F.calls);
    done();
}

Test(answers, deadlocks_retry_the_same_batch)
{
    batch(3, 2);
    F.retry_first = 2;
    cr_assert_eq(exam__answers_run(&OPS, J, NJ), 0);
    check_invariants();
    cr_assert_eq(F.calls, 3);
    cr_assert_eq(F.max_n, 6, "the whole batch each time");
    cr_assert_eq(count("\"ack\""), 6);
    done();
}

Test(answers, deadlocks_that_do_not_end_give_internal_not_a_split)
{
    batch(3, 2);
    F.retry_first = 1000;
    cr_assert_eq(exam__answers_run(&OPS, J, NJ), 0);
    check_invariants();
    cr_assert_eq(F.calls, 3, "bounded: %d", F.calls);
    cr_assert_eq(count("\"code\":\"internal\""), 6);
    done();
}

Test(answers, a_lost_connection_goes_back_to_the_pool)
{
    batch(3, 2);
    F.lost_at = 1;
    cr_assert_eq(exam__answers_run(&OPS, J, NJ), KC_ELOST);
    for (int i = 0; i < NJ; i++) cr_assert_null(J[i]->reply, "nothing to send before the batch is run again");
    /* the pool reconnects and runs it again */
    F.lost_at = 0;
    cr_assert_eq(exam__answers_run(&OPS, J, NJ), 0);
    check_invariants();
    cr_assert_eq(count("\"ack\""), 6);
    done();
}

Test(answers, a_lost_connection_while_splitting_goes_back_to_the_pool_too)
{
    batch(3, 3);
    F.poison[F.npoison++] = 202;
    F.lost_at = 2;                    /* the rest's transaction: its outcome is unknown */
    cr_assert_eq(exam__answers_run(&OPS, J, NJ), KC_ELOST);
    for (int i = 0; i < NJ; i++) cr_assert_not(is(J[i], "\"ack\""), "no ack for what did not commit");
    F.lost_at = 0;
    cr_assert_eq(exam__answers_run(&OPS, J, NJ), 0);
    cr_assert_eq(count("\"ack\""), 8);
    cr_assert(is(by_item(202), "not_saved"));
    check_invariants();
    done();
}

Test(answers, the_largest_batch_splits_without_deep_recursion)
{
    /* 10,000 answers (server.answer_batch at most), every tenth refused */
    enum { N = 10000 };
    srv_job **js = calloc(N, sizeof *js);
    cr_assert_not_null(js);
    for (int i = 0; i < N; i++) {
        js[i] = calloc(1, sizeof *js[i]);
        cr_assert_not_null(js[i]);
        js[i]->attempt_id = (uint64_t)(i / 4 + 1);
        js[i]->m.item = i % 10 == 7 ? 7 : 1000 + i;   /* 7: poisoned */
        js[i]->m.seq = i % 4 + 1;
        js[i]->req_id = 0;
    }
    memset(&F, 0, sizeof F);
    F.poison[F.npoison++] = 7;
    cr_assert_eq(exam__answers_run(&OPS, js, N), 0);
    int acks = 0, bad = 0;
    for (int i = 0; i < N; i++) {
        acks += is(js[i], "\"ack\"");
        if (is(js[i], "not_saved")) {
            bad++;
            cr_assert_eq(js[i]->m.item, 7);
        }
        srv_job_free(js[i]);
    }
    free(js);
    cr_assert_eq(bad, N / 10);
    cr_assert_eq(acks, N - N / 10);
    cr_assert_eq(F.unsorted, 0);
}

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

/* ---- what each answer comes to (exam__answers_decide), from the rows a transaction read ---- */

#define NOW 1000000
static exam_answer_attempt ATT[8];
static int NA;
static exam_answer_held HELD[16];
static int NH;
static exam_answer_out OUT[MAXJ];

static void attempt_row(uint64_t id, enum srv_attempt_status st, int64_t deadline, int64_t last_seq)
{
    ATT[NA++] = (exam_answer_attempt){.id = id, .status = st, .deadline_ms = deadline, .last_seq = last_seq};
}

static void held_row(uint64_t attempt, int64_t item, int64_t seq, const char *response)
{
    HELD[NH++] = (exam_answer_held){attempt, item, seq, response};
}

/* An answer in the order exam__answers_run gives them to a transaction (by attempt, seq). */
static srv_job *answer(uint64_t attempt, int64_t item, int64_t seq, const char *response)
{
    srv_job *j = calloc(1, sizeof *j);
    cr_assert_not_null(j);
    j->attempt_id = attempt;
    j->m.item = item;
    j->m.seq = seq;
    cr_assert_not_null(j->m.response = strdup(response));
    j->req_id = NJ;
    J[NJ++] = j;
    return j;
}

static int decide(void)
{
    return exam__answers_decide(J, NJ, ATT, NA, HELD, NH, NOW, OUT);
}

static void start_decide(void)
{
    memset(&F, 0, sizeof F);
    NJ = NA = NH = 0;
    memset(OUT, 0, sizeof OUT);
}

#define FATE(k, f, held, w)                                                                        \
    do {                                                                                           \
        cr_assert_eq(OUT[k].fate, f, "answer %d: fate %d, wanted %d", k, OUT[k].fate, f);          \
        cr_assert_eq(OUT[k].held_seq, held, "answer %d: held_seq %lld, wanted %lld", k,            \
                     (long long)OUT[k].held_seq, (long long)(held));                               \
        cr_assert_eq(OUT[k].write, w, "answer %d: write %d", k, OUT[k].write);                     \
    } while (0)

Test(decide, a_new_seq_is_applied_and_written)
{
    start_decide();
    attempt_row(7, SRV_ST_IN_PROGRESS, NOW + 1, 3);
    held_row(7, 100, 3, "A");
    answer(7, 100, 4, "B");      /* newer than the held 3 */
    answer(7, 101, 5, "C");      /* an item with no answer yet */
    cr_assert_eq(decide(), 2);
    FATE(0, EXAM_ANSWER_APPLIED, 4, 1);
    FATE(1, EXAM_ANSWER_APPLIED, 5, 1);
    cr_assert_eq(ATT[0].new_last_seq, 5);
    done();
}

Test(decide, an_old_seq_is_not_applied_and_says_what_is_held)
{
    start_decide();
    attempt_row(7, SRV_ST_IN_PROGRESS, NOW + 1, 9);
    held_row(7, 100, 9, "B");
    answer(7, 100, 4, "A");      /* sent after seq 9 was committed */
    cr_assert_eq(decide(), 0);
    FATE(0, EXAM_ANSWER_SUPERSEDED, 9, 0);
    cr_assert_eq(ATT[0].new_last_seq, 9, "last_seq unchanged");
    done();
}

Test(decide, two_changes_of_one_item_in_a_batch_only_the_newer_is_applied)
{
    start_decide();
    attempt_row(7, SRV_ST_IN_PROGRESS, NOW + 1, 2);
    held_row(7, 100, 2, "A");
    answer(7, 100, 3, "B");
    answer(7, 101, 4, "D");
    answer(7, 100, 5, "C");
    cr_assert_eq(decide(), 2, "one write for item 100, one for 101");
    FATE(0, EXAM_ANSWER_SUPERSEDED, 5, 0);
    FATE(1, EXAM_ANSWER_APPLIED, 4, 1);
    FATE(2, EXAM_ANSWER_APPLIED, 5, 1);
    cr_assert_eq(ATT[0].new_last_seq, 5);
    done();
}

Test(decide, a_replay_of_what_is_held_is_applied_without_a_write)
{
    /* The batch committed, the connection was lost before the acks: run again, the same
     * seq and response are what the item holds. */
    start_decide();
    attempt_row(7, SRV_ST_IN_PROGRESS, NOW + 1, 6);
    held_row(7, 100, 6, "AC");
    answer(7, 100, 6, "AC");
    answer(7, 100, 6, "AC");     /* sent twice (a resend after a reconnect) */
    cr_assert_eq(decide(), 0);
    FATE(0, EXAM_ANSWER_APPLIED, 6, 0);
    FATE(1, EXAM_ANSWER_APPLIED, 6, 0);
    cr_assert_eq(ATT[0].new_last_seq, 6);
    done();
}

Test(decide, the_same_seq_with_another_response_is_not_applied)
{
    /* Two tabs that continued from the same last_seq. */
    start_decide();
    attempt_row(7, SRV_ST_IN_PROGRESS, NOW + 1, 6);
    held_row(7, 100, 6, "A");
    answer(7, 100, 6, "B");
    cr_assert_eq(decide(), 0);
    FATE(0, EXAM_ANSWER_SUPERSEDED, 6, 0);
    done();
}

Test(decide, the_same_seq_twice_in_a_batch_one_response_wins)
{
    start_decide();
    attempt_row(7, SRV_ST_IN_PROGRESS, NOW + 1, 0);
    answer(7, 100, 1, "A");
    answer(7, 100, 1, "B");
    answer(7, 100, 1, "A");
    cr_assert_eq(decide(), 1);
    FATE(0, EXAM_ANSWER_APPLIED, 1, 1);
    FATE(1, EXAM_ANSWER_SUPERSEDED, 1, 0);
    FATE(2, EXAM_ANSWER_APPLIED, 1, 0);
    done();
}

Test(decide, a_seq_far_beyond_last_seq_is_refused_and_nothing_is_written)
{
    start_decide();
    attempt_row(7, SRV_ST_IN_PROGRESS, NOW + 1, 40);
    answer(7, 100, 41, "A");
    answer(7, 101, 40 + EXAM_SEQ_AHEAD, "B");        /* the last seq still taken */
    answer(7, 102, 41 + EXAM_SEQ_AHEAD, "C");        /* one beyond */
    answer(7, 103, (INT64_C(1) << 53) - 1, "D");     /* the largest the parser lets in */
    cr_assert_eq(decide(), 2);
    FATE(0, EXAM_ANSWER_APPLIED, 41, 1);
    FATE(1, EXAM_ANSWER_APPLIED, 40 + EXAM_SEQ_AHEAD, 1);
    FATE(2, EXAM_ANSWER_BAD_SEQ, 40, 0);
    FATE(3, EXAM_ANSWER_BAD_SEQ, 40, 0);
    cr_assert_eq(ATT[0].new_last_seq, 40 + EXAM_SEQ_AHEAD);
    done();
}

Test(decide, the_limit_is_the_last_seq_before_the_batch)
{
    /* An answer within the limit cannot carry a later one of the same batch past it. */
    start_decide();
    attempt_row(7, SRV_ST_IN_PROGRESS, NOW + 1, 0);
    answer(7, 100, EXAM_SEQ_AHEAD, "A");
    answer(7, 101, EXAM_SEQ_AHEAD + 5, "B");
    cr_assert_eq(decide(), 1);
    FATE(0, EXAM_ANSWER_APPLIED, EXAM_SEQ_AHEAD, 1);
    FATE(1, EXAM_ANSWER_BAD_SEQ, 0, 0);
    done();
}

Test(decide, attempts_that_take_no_answers)
{
    start_decide();
    attempt_row(2, SRV_ST_SUBMITTED, NOW + 100, 1);
    attempt_row(3, SRV_ST_NOT_STARTED, 0, 0);
    attempt_row(4, SRV_ST_IN_PROGRESS, NOW, 0);          /* the deadline is now: over */
    attempt_row(5, SRV_ST_NONE, 0, 0);                   /* no row: no such attempt */
    attempt_row(6, SRV_ST_IN_PROGRESS, NOW + 1, 0);
    answer(1, 10, 1, "A");       /* not among the attempts read at all */
    answer(2, 20, 2, "A");
    answer(3, 30, 1, "A");
    answer(4, 40, 1, "A");
    answer(5, 50, 1, "A");
    answer(6, 60, 1, "A");
    cr_assert_eq(decide(), 1);
    FATE(0, EXAM_ANSWER_NOT_STARTED, 0, 0);
    FATE(1, EXAM_ANSWER_SUBMITTED, 0, 0);
    FATE(2, EXAM_ANSWER_NOT_STARTED, 0, 0);
    FATE(3, EXAM_ANSWER_TIME_OVER, 0, 0);
    FATE(4, EXAM_ANSWER_NOT_STARTED, 0, 0);
    FATE(5, EXAM_ANSWER_APPLIED, 1, 1);
    for (int a = 0; a < 4; a++) cr_assert_eq(ATT[a].new_last_seq, ATT[a].last_seq);
    done();
}

Test(decide, many_attempts_each_with_its_own_held_rows)
{
    /* Held rows come in any order; the same item id on two papers is two answers. */
    start_decide();
    attempt_row(3, SRV_ST_IN_PROGRESS, NOW + 1, 8);
    attempt_row(9, SRV_ST_IN_PROGRESS, NOW + 1, 2);
    held_row(9, 100, 2, "X");
    held_row(3, 100, 8, "Y");
    answer(3, 100, 5, "A");      /* older than attempt 3's held 8 */
    answer(9, 100, 5, "A");      /* newer than attempt 9's held 2 */
    cr_assert_eq(decide(), 1);
    FATE(0, EXAM_ANSWER_SUPERSEDED, 8, 0);
    FATE(1, EXAM_ANSWER_APPLIED, 5, 1);
    cr_assert_eq(ATT[0].new_last_seq, 8);
    cr_assert_eq(ATT[1].new_last_seq, 5);
    done();
}

/* ---- the replies ---- */

static json_t *reply_of(int k)
{
    char *s = exam__answer_reply(J[k], &OUT[k]);
    cr_assert_not_null(s);
    json_error_t e;
    json_t *o = json_loads(s, 0, &e);
    cr_assert_not_null(o, "%s: %s", s, e.text);
    free(s);
    return o;
}

Test(decide, acks_say_applied_and_the_seq_held)
{
    start_decide();
    attempt_row(7, SRV_ST_IN_PROGRESS, NOW + 1, 0);
    answer(7, 100, 3, "B");
    answer(7, 100, 4, "C");
    J[1]->req_id = -1;           /* no id: none in the reply */
    decide();
    json_t *a = reply_of(0), *b = reply_of(1);
    cr_assert_str_eq(json_string_value(json_object_get(a, "type")), "ack");
    cr_assert_eq(json_integer_value(json_object_get(a, "id")), 0);
    cr_assert_eq(json_integer_value(json_object_get(a, "item")), 100);
    cr_assert_eq(json_integer_value(json_object_get(a, "seq")), 3);
    cr_assert(json_is_false(json_object_get(a, "applied")));
    cr_assert_eq(json_integer_value(json_object_get(a, "held_seq")), 4);
    cr_assert_null(json_object_get(b, "id"));
    cr_assert_eq(json_integer_value(json_object_get(b, "seq")), 4);
    cr_assert(json_is_true(json_object_get(b, "applied")));
    cr_assert_eq(json_integer_value(json_object_get(b, "held_seq")), 4);
    json_decref(a);
    json_decref(b);
    done();
}

Test(decide, refusals_name_their_code_and_bad_seq_its_field)
{
    start_decide();
    attempt_row(2, SRV_ST_SUBMITTED, NOW + 1, 0);
    attempt_row(7, SRV_ST_IN_PROGRESS, NOW + 1, 12);
    answer(2, 100, 1, "A");
    answer(7, 100, 9007199254740991, "A");
    decide();
    json_t *s = reply_of(0), *b = reply_of(1);
    cr_assert_str_eq(json_string_value(json_object_get(s, "type")), "error");
    cr_assert_str_eq(json_string_value(json_object_get(s, "code")), "submitted");
    cr_assert_str_eq(json_string_value(json_object_get(b, "code")), "bad_seq");
    cr_assert_str_eq(json_string_value(json_object_get(b, "field")), "seq");
    cr_assert_eq(json_integer_value(json_object_get(b, "id")), 1);
    const char *msg = json_string_value(json_object_get(b, "message"));
    cr_assert(strstr(msg, "9007199254740991") && strstr(msg, "1000000") && strstr(msg, "last seq 12"), "%s", msg);
    json_decref(s);
    json_decref(b);
    done();
}

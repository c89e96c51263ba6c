/* Worker pools by class: a class whose workers are all held and whose queue is full
 * does not delay another class; bounds refuse messages, never the server's own jobs;
 * stopping runs what was queued. No database: the jobs are run by the test's ops. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../server/net/net.h"

static pthread_mutex_t lk = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int release_staff;              /* staff jobs block until the test lets them go */
static int done_by_pool[SRV_POOLS];
static int batches, biggest_batch;

static void run(void *arg, int pool, void *state, srv_job **jobs, int n)
{
    pthread_mutex_lock(&lk);
    if (pool == SRV_POOL_STAFF)
        while (!release_staff) pthread_cond_wait(&cv, &lk);
    if (pool == SRV_POOL_ANSWERS) {
        batches++;
        if (n > biggest_batch) biggest_batch = n;
    }
    pthread_mutex_unlock(&lk);
    for (int i = 0; i < n; i++) jobs[i]->ok = 1;
}

static void done(void *arg, srv_job **jobs, int n)
{
    pthread_mutex_lock(&lk);
    for (int i = 0; i < n; i++) {
        done_by_pool[jobs[i]->status]++;       /* the test keeps the pool in status */
        srv_job_free(jobs[i]);
    }
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&lk);
}

static srv_job *job(int pool, enum srv_job_kind kind)
{
    srv_job *j = calloc(1, sizeof *j);
    j->kind = kind;
    j->status = (enum srv_attempt_status)pool;
    return j;
}

/* Waits (up to 10 s, so a broken pool fails instead of hanging) for n jobs of pool. */
static int wait_done(int pool, int n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&lk);
    int rc = 0;
    while (done_by_pool[pool] < n && rc == 0) rc = pthread_cond_timedwait(&cv, &lk, &until);
    int got = done_by_pool[pool];
    pthread_mutex_unlock(&lk);
    return got >= n;
}

static void reset(void)
{
    release_staff = 0;
    memset(done_by_pool, 0, sizeof done_by_pool);
    batches = biggest_batch = 0;
}

Test(pool, a_flooded_class_does_not_delay_another)
{
    reset();
    srv_pool_conf conf[SRV_POOLS];
    for (int i = 0; i < SRV_POOLS; i++) conf[i] = (srv_pool_conf){2, 1000, 1};
    conf[SRV_POOL_STAFF] = (srv_pool_conf){2, 50, 1};
    net_pool_ops ops = {.run = run, .done = done};
    char err[128];
    net_pools *ps = net_pools_start(conf, 64, &ops, err, sizeof err);
    cr_assert(ps && !err[0], "%s", err);

    /* Both staff workers held, and their queue filled to its bound. */
    net_pool_stats st;
    for (int i = 0; i < 2; i++)
        cr_assert_eq(net_pools_push(ps, SRV_POOL_STAFF, job(SRV_POOL_STAFF, SRV_JOB_MSG)), 0);
    for (int tries = 0; tries < 5000; tries++) {
        net_pools_stats(ps, SRV_POOL_STAFF, &st);
        if (st.running == 2) break;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    cr_assert_eq(st.running, 2, "both staff workers took a job");
    int queued = 2;
    for (;;) {
        srv_job *j = job(SRV_POOL_STAFF, SRV_JOB_MSG);
        if (net_pools_push(ps, SRV_POOL_STAFF, j)) {
            srv_job_free(j);
            break;
        }
        queued++;
    }
    cr_assert_eq(queued, 2 + 50, "two running, fifty waiting, then busy (got %d)", queued);
    cr_assert(net_pools_full(ps, SRV_POOL_STAFF));

    /* Candidates' work still runs at once. */
    for (int i = 0; i < 500; i++)
        cr_assert_eq(net_pools_push(ps, SRV_POOL_ANSWERS, job(SRV_POOL_ANSWERS, SRV_JOB_MSG)), 0);
    cr_assert_eq(net_pools_push(ps, SRV_POOL_EXAM, job(SRV_POOL_EXAM, SRV_JOB_MSG)), 0);
    cr_assert_eq(net_pools_push(ps, SRV_POOL_MEDIA, job(SRV_POOL_MEDIA, SRV_JOB_MEDIA)), 0);
    cr_assert(wait_done(SRV_POOL_ANSWERS, 500), "answers ran while staff was stuck");
    cr_assert(wait_done(SRV_POOL_EXAM, 1), "a start ran while staff was stuck");
    cr_assert(wait_done(SRV_POOL_MEDIA, 1));
    pthread_mutex_lock(&lk);
    cr_assert_eq(done_by_pool[SRV_POOL_STAFF], 0, "staff is still held");
    cr_assert(biggest_batch <= 64, "a batch never passes answer_batch");
    pthread_mutex_unlock(&lk);
    net_pools_stats(ps, SRV_POOL_STAFF, &st);
    cr_assert_eq(st.workers, 2);
    cr_assert_eq(st.running, 2);
    cr_assert_eq(st.queued, 50);

    /* The server's own jobs are not refused by the bound (the sweep must always run). */
    cr_assert_eq(net_pools_push(ps, SRV_POOL_STAFF, job(SRV_POOL_STAFF, SRV_JOB_SWEEP)), 0);

    pthread_mutex_lock(&lk);
    release_staff = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&lk);
    cr_assert(wait_done(SRV_POOL_STAFF, queued + 1), "staff drains once released");
    net_pools_stats(ps, SRV_POOL_STAFF, &st);
    cr_assert_eq(st.queued, 0);
    net_pools_free(ps);
}

Test(pool, stopping_runs_what_was_queued_and_refuses_more)
{
    reset();
    srv_pool_conf conf[SRV_POOLS];
    for (int i = 0; i < SRV_POOLS; i++) conf[i] = (srv_pool_conf){1, 100, 1};
    net_pool_ops ops = {.run = run, .done = done};
    char err[128];
    net_pools *ps = net_pools_start(conf, 8, &ops, err, sizeof err);
    cr_assert(ps && !err[0]);
    for (int i = 0; i < 40; i++)
        cr_assert_eq(net_pools_push(ps, SRV_POOL_ANSWERS, job(SRV_POOL_ANSWERS, SRV_JOB_MSG)), 0);
    net_pools_stop(ps);
    srv_job *late = job(SRV_POOL_EXAM, SRV_JOB_MSG);
    cr_assert_eq(net_pools_push(ps, SRV_POOL_EXAM, late), KC_EBUSY);
    srv_job_free(late);
    cr_assert(wait_done(SRV_POOL_ANSWERS, 40), "every queued answer ran");
    for (int tries = 0; net_pools_alive(ps) && tries < 1000; tries++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    cr_assert_eq(net_pools_alive(ps), 0);
    net_pools_free(ps);
}

/* ---- batches of one kind (the command table's batch column) ---- */

static int gate_open;                  /* the first batch waits here until the queue is full */
static int seen_batches, seen_jobs;
static int64_t order[64];              /* jobs in the order they ran (their numbers) */
static int batch_ok = 1;
static char why[160];

static int group_of_job(void *arg, const srv_job *j) { return (int)j->held_seq; }

static void run_grouped(void *arg, int pool, void *state, srv_job **jobs, int n)
{
    pthread_mutex_lock(&lk);
    while (!gate_open) pthread_cond_wait(&cv, &lk);
    seen_batches++;
    int g = (int)jobs[0]->held_seq;
    if (n > 4 || (g == 0 && n != 1)) {
        batch_ok = 0;
        snprintf(why, sizeof why, "batch of %d jobs of group %d", n, g);
    }
    for (int i = 0; i < n; i++) {
        if (jobs[i]->held_seq != g) {
            batch_ok = 0;
            snprintf(why, sizeof why, "group %lld in a batch of group %d", (long long)jobs[i]->held_seq, g);
        }
        if (seen_jobs < 64) order[seen_jobs] = jobs[i]->n_done;
        seen_jobs++;
    }
    pthread_mutex_unlock(&lk);
}

Test(pool, a_batch_takes_only_the_heads_kind_and_the_rest_keep_their_order)
{
    reset();
    gate_open = seen_batches = seen_jobs = 0;
    batch_ok = 1;
    srv_pool_conf conf[SRV_POOLS];
    for (int i = 0; i < SRV_POOLS; i++) conf[i] = (srv_pool_conf){1, 100, 1};
    conf[SRV_POOL_EXAM].batch = 4;
    net_pool_ops ops = {.group = group_of_job, .run = run_grouped, .done = done};
    char err[128];
    net_pools *ps = net_pools_start(conf, 1, &ops, err, sizeof err);
    cr_assert(ps && !err[0], "%s", err);
    /* 20 jobs: groups 1 1 0 2 1 0 2 1 1 1 2 0 1 1 2 2 0 1 2 1 (0 runs alone) */
    static const int g[20] = {1, 1, 0, 2, 1, 0, 2, 1, 1, 1, 2, 0, 1, 1, 2, 2, 0, 1, 2, 1};
    for (int i = 0; i < 20; i++) {
        srv_job *j = job(SRV_POOL_EXAM, SRV_JOB_MSG);
        j->held_seq = g[i];
        j->n_done = i;
        cr_assert_eq(net_pools_push(ps, SRV_POOL_EXAM, j), 0);
    }
    pthread_mutex_lock(&lk);
    gate_open = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&lk);
    cr_assert(wait_done(SRV_POOL_EXAM, 20), "every job ran");
    pthread_mutex_lock(&lk);
    cr_assert(batch_ok, "%s", why);
    cr_assert_eq(seen_jobs, 20, "each job once");
    /* Within each group the jobs ran in the order they came. */
    for (int grp = 0; grp < 3; grp++) {
        int64_t last = -1;
        for (int k = 0; k < 20; k++) {
            if (g[order[k]] != grp) continue;
            cr_assert_gt(order[k], last, "group %d: job %lld ran after job %lld", grp, (long long)order[k], (long long)last);
            last = order[k];
        }
    }
    /* 1s: 10 jobs in batches of up to 4 (at least 3); 2s: 6 (at least 2); 0s: 4 alone. */
    cr_assert_leq(seen_batches, 20 - 3, "batches formed (%d for 20 jobs)", seen_batches);
    pthread_mutex_unlock(&lk);
    net_pools_free(ps);
}

/* The node's lease (SRV_JOB_HOLDERS) jumps the queue and is taken past the bound: behind a
 * deadline's thousands of submits it would lapse. */
Test(pool, the_lease_goes_first_and_is_never_refused)
{
    reset();
    gate_open = seen_batches = seen_jobs = 0;
    batch_ok = 1;
    srv_pool_conf conf[SRV_POOLS];
    for (int i = 0; i < SRV_POOLS; i++) conf[i] = (srv_pool_conf){1, 2, 1};
    net_pool_ops ops = {.group = group_of_job, .run = run_grouped, .done = done};
    char err[128];
    net_pools *ps = net_pools_start(conf, 1, &ops, err, sizeof err);
    cr_assert(ps && !err[0], "%s", err);
    srv_job *first = job(SRV_POOL_SWEEP, SRV_JOB_EXPIRE);
    cr_assert_eq(net_pools_push(ps, SRV_POOL_SWEEP, first), 0);
    for (int tries = 0;; tries++) {              /* the worker holds it (at the gate) */
        net_pool_stats st;
        net_pools_stats(ps, SRV_POOL_SWEEP, &st);
        if (st.running == 1) break;
        cr_assert_lt(tries, 10000, "the worker never took the first job");
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    for (int i = 1; i < 3; i++) {                /* two queue, up to the bound */
        srv_job *j = job(SRV_POOL_SWEEP, SRV_JOB_EXPIRE);
        j->n_done = i;
        cr_assert_eq(net_pools_push(ps, SRV_POOL_SWEEP, j), 0, "job %d", i);
    }
    srv_job *refused = job(SRV_POOL_SWEEP, SRV_JOB_EXPIRE);
    if (net_pools_push(ps, SRV_POOL_SWEEP, refused) == 0) cr_assert_fail("a queue past its bound refuses");
    srv_job_free(refused);
    srv_job *lease = job(SRV_POOL_SWEEP, SRV_JOB_HOLDERS);
    lease->n_done = 99;
    cr_assert_eq(net_pools_push(ps, SRV_POOL_SWEEP, lease), 0, "the lease is taken past the bound");
    pthread_mutex_lock(&lk);
    gate_open = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&lk);
    cr_assert(wait_done(SRV_POOL_SWEEP, 4), "every job ran");
    pthread_mutex_lock(&lk);
    int at = -1;
    for (int k = 0; k < seen_jobs; k++) if (order[k] == 99) at = k;
    pthread_mutex_unlock(&lk);
    cr_assert_eq(at, 1, "the lease ran at %d: right after the job running, before the queued ones", at);
    net_pools_free(ps);
}

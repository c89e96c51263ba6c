/* Worker pools by class. Each class (answers, exam control, sweep, staff, media) has its
 * own queue, its own threads and its own bound, so a flood of one kind of work (a busy
 * staff hour, a slow import) never takes the workers another kind needs. Nothing here
 * knows libwebsockets or SQL: the caller's ops open connections and run jobs. */
#include "net.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

const char *const net_pool_names[SRV_POOLS] = {"answers", "exam", "sweep", "staff", "media"};

struct pool {
    int id;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    srv_job *head, *tail;
    int queued, bound, batch;
    int stop;
    int nthreads;
    pthread_t *threads;
    atomic_int running;        /* jobs being run now */
    atomic_ullong done;        /* jobs finished */
};

struct net_pools {
    struct pool p[SRV_POOLS];
    net_pool_ops ops;
    atomic_int threads_alive;
};

struct worker_arg { net_pools *ps; struct pool *pool; int worker; };

/* A look past this many queued jobs of other kinds for more of the head's kind is enough:
 * a burst of one kind (a synchronized start) fills batches, and taking stays cheap. */
#define LOOK_AHEAD 1024

static int group_of(net_pools *ps, const srv_job *j)
{
    return ps->ops.group ? ps->ops.group(ps->ops.arg, j) : 1;
}

/* Under p->lock, with a job queued: the head, then (when its kind runs in batches) up to
 * batch - 1 more of its group from the queue, the others staying in their order. */
static int take(net_pools *ps, struct pool *p, srv_job **batch)
{
    srv_job *h = p->head;
    int n = 0;
    batch[n++] = h;
    p->head = h->next;
    p->queued--;
    int g = p->batch > 1 ? group_of(ps, h) : 0;
    srv_job *prev = NULL, *cur = p->head;
    for (int seen = 0; g && cur && n < p->batch && seen < LOOK_AHEAD; seen++) {
        srv_job *next = cur->next;
        if (group_of(ps, cur) == g) {
            batch[n++] = cur;
            if (prev) prev->next = next; else p->head = next;
            if (p->tail == cur) p->tail = prev;
            p->queued--;
        } else {
            prev = cur;
        }
        cur = next;
    }
    if (!p->head) p->tail = NULL;
    return n;
}

static void *worker_main(void *arg)
{
    struct worker_arg wa = *(struct worker_arg *)arg;
    free(arg);
    net_pools *ps = wa.ps;
    struct pool *p = wa.pool;
    char name[16];        /* seen in top -H, perf and /proc: which pool is busy */
    snprintf(name, sizeof name, "kc-%s/%d", net_pool_names[p->id], wa.worker);
    pthread_setname_np(pthread_self(), name);
    void *state = ps->ops.thread_begin ? ps->ops.thread_begin(ps->ops.arg, p->id, wa.worker) : NULL;
    srv_job **batch = calloc((size_t)p->batch, sizeof *batch);
    for (;;) {
        int n = 0;
        pthread_mutex_lock(&p->lock);
        while (!p->head && !p->stop) pthread_cond_wait(&p->cond, &p->lock);
        if (batch && p->head) n = take(ps, p, batch);
        pthread_mutex_unlock(&p->lock);
        if (!n) break;                  /* stopping and the queue is empty */
        for (int i = 0; i < n; i++) batch[i]->next = NULL;
        atomic_fetch_add(&p->running, n);
        ps->ops.run(ps->ops.arg, p->id, state, batch, n);
        atomic_fetch_sub(&p->running, n);
        atomic_fetch_add(&p->done, (unsigned long long)n);
        ps->ops.done(ps->ops.arg, batch, n);
    }
    free(batch);
    if (ps->ops.thread_end) ps->ops.thread_end(ps->ops.arg, state);
    /* Wake the owner first: once no thread is alive it may free what exited() uses. */
    if (ps->ops.exited) ps->ops.exited(ps->ops.arg);
    atomic_fetch_sub(&ps->threads_alive, 1);
    return NULL;
}

net_pools *net_pools_start(const srv_pool_conf conf[SRV_POOLS], int answer_batch,
                           const net_pool_ops *ops, char *err, size_t errlen)
{
    net_pools *ps = calloc(1, sizeof *ps);
    if (!ps) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ps->ops = *ops;
    for (int i = 0; i < SRV_POOLS; i++) {
        struct pool *p = &ps->p[i];
        p->id = i;
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->cond, NULL);
        p->bound = conf[i].queue;
        p->batch = i == SRV_POOL_ANSWERS && answer_batch > 1 ? answer_batch : conf[i].batch > 1 ? conf[i].batch : 1;
        p->threads = calloc((size_t)conf[i].workers, sizeof *p->threads);
        if (!p->threads) {
            snprintf(err, errlen, "out of memory");
            net_pools_stop(ps);
            return ps;
        }
    }
    for (int i = 0; i < SRV_POOLS; i++) {
        struct pool *p = &ps->p[i];
        for (int w = 0; w < conf[i].workers; w++) {
            struct worker_arg *wa = malloc(sizeof *wa);
            if (wa) *wa = (struct worker_arg){ps, p, w};
            atomic_fetch_add(&ps->threads_alive, 1);
            if (!wa || pthread_create(&p->threads[w], NULL, worker_main, wa)) {
                atomic_fetch_sub(&ps->threads_alive, 1);
                free(wa);
                snprintf(err, errlen, "cannot start worker %d of pool %s", w, net_pool_names[i]);
                net_pools_stop(ps);
                return ps;
            }
            p->nthreads++;
        }
    }
    err[0] = 0;
    return ps;
}

int net_pools_push(net_pools *ps, int pool, srv_job *j)
{
    struct pool *p = &ps->p[pool];
    pthread_mutex_lock(&p->lock);
    /* The server's own jobs (sweep, events) come in on a timer and are never refused. */
    int own = j->kind == SRV_JOB_SWEEP || j->kind == SRV_JOB_EVENTS || j->kind == SRV_JOB_PREPARE ||
              j->kind == SRV_JOB_HOLDERS;
    if ((p->queued >= p->bound && !own) || p->stop) {
        pthread_mutex_unlock(&p->lock);
        return KC_EBUSY;
    }
    if (j->kind == SRV_JOB_HOLDERS) {
        /* The node's lease goes first: behind a deadline's thousands of submits it would
         * lapse, and other nodes would take this node's candidates for gone. */
        j->next = p->head;
        p->head = j;
        if (!p->tail) p->tail = j;
    } else {
        j->next = NULL;
        if (p->tail) p->tail->next = j; else p->head = j;
        p->tail = j;
    }
    p->queued++;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

int net_pools_full(net_pools *ps, int pool)
{
    struct pool *p = &ps->p[pool];
    pthread_mutex_lock(&p->lock);
    int full = p->queued >= p->bound;
    pthread_mutex_unlock(&p->lock);
    return full;
}

void net_pools_stats(net_pools *ps, int pool, net_pool_stats *st)
{
    struct pool *p = &ps->p[pool];
    pthread_mutex_lock(&p->lock);
    st->queued = p->queued;
    pthread_mutex_unlock(&p->lock);
    st->workers = p->nthreads;
    st->bound = p->bound;
    st->running = atomic_load(&p->running);
    st->done = atomic_load(&p->done);
}

void net_pools_stop(net_pools *ps)
{
    for (int i = 0; i < SRV_POOLS; i++) {
        struct pool *p = &ps->p[i];
        pthread_mutex_lock(&p->lock);
        p->stop = 1;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
    }
}

int net_pools_alive(net_pools *ps) { return atomic_load(&ps->threads_alive); }

void net_pools_free(net_pools *ps)
{
    if (!ps) return;
    net_pools_stop(ps);
    for (int i = 0; i < SRV_POOLS; i++) {
        struct pool *p = &ps->p[i];
        for (int w = 0; w < p->nthreads; w++) pthread_join(p->threads[w], NULL);
        free(p->threads);
        /* What is still queued after the workers ended was never run. */
        for (srv_job *j = p->head, *n; j; j = n) { n = j->next; srv_job_free(j); }
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->cond);
    }
    free(ps);
}

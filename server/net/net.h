/* server/net: the transport (prefix net_). The libwebsockets context on the service
 * thread (net_serve.c: WebSocket and HTTP, connection slots, results), the command table
 * (net_cmd.c: parsing, checking and routing every message), and the worker pools by class
 * (net_pool.c). Only this folder includes libwebsockets; it never builds SQL. */
#ifndef KAOCHANG_NET_H
#define KAOCHANG_NET_H

#include "../srv.h"

/* ---- the command table (net_cmd.c) ---- */
extern const srv_cmd net_cmds[];        /* ends with a row whose name is NULL */
const srv_cmd *net_cmd_find(const char *name);
/* May a connection that is a candidate's (candidate), a staff member's with roles (staff),
 * or neither send c? 0, or KC_EINVAL with the refusal in e (code, message). */
int net_cmd_allowed(const srv_cmd *c, int candidate, int staff, unsigned roles, srv_msg_error *e);
/* A worker runs a message's job: staff roles against the database, then the handler. */
int net_cmd_run(kc_db *db, const srv_ctx *x, srv_job *j);
int net_msg_parse(const char *buf, size_t len, srv_msg *m, srv_msg_error *e);



/* May a browser page from origin (the Origin header, e.g. "https://exam.example.cn:8443")
 * open a WebSocket to host (the Host header)? Yes when origin is the server's own (its
 * host[:port] equals host, case-insensitively) or is listed in allowed (comma-separated
 * origins, exact but for case). A request without an Origin header comes from no browser
 * page and is not subject to it. 1 allowed, 0 refused. (net_http.c) */
int net_origin_allowed(const char *origin, const char *host, const char *allowed);

/* ---- the server (net_serve.c) ---- */
int net_serve(const srv_config *cfg);

/* ---- worker pools by class (net_pool.c): threads, a queue and a bound per class ---- */
typedef struct net_pools net_pools;
typedef struct net_pool_ops {
    void *arg;
    /* Per worker thread: e.g. its database connection. */
    void *(*thread_begin)(void *arg, int pool, int worker);
    void (*thread_end)(void *arg, void *state);
    /* Runs jobs[0..n) (n > 1 only for the answers pool, up to its batch). */
    void (*run)(void *arg, int pool, void *state, srv_job **jobs, int n);
    /* Hands finished jobs back (e.g. to the service thread's result queue). */
    void (*done)(void *arg, srv_job **jobs, int n);
    void (*exited)(void *arg);        /* a worker thread ended (optional) */
} net_pool_ops;
typedef struct net_pool_stats { int workers, bound, queued, running; unsigned long long done; } net_pool_stats;
/* Starts every pool's workers. err is empty on success; otherwise the pools that started
 * are stopping (net_pools_free them). */
net_pools *net_pools_start(const srv_pool_conf conf[SRV_POOLS], int answer_batch,
                           const net_pool_ops *ops, char *err, size_t errlen);
/* Queues j on pool; KC_EBUSY when a message would pass the pool's bound, or stopping. */
int net_pools_push(net_pools *ps, int pool, srv_job *j);
int net_pools_full(net_pools *ps, int pool);
void net_pools_stats(net_pools *ps, int pool, net_pool_stats *st);
/* Workers finish what is queued, then end; net_pools_alive counts those still running. */
void net_pools_stop(net_pools *ps);
int net_pools_alive(net_pools *ps);
void net_pools_free(net_pools *ps);      /* stops, joins, frees what was never run */

extern const char *const net_pool_names[SRV_POOLS];

#endif

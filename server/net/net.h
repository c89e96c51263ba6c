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

/* ---- fan-out (net_fanout.c): topics, subscribers and their outbound queues ----
 * One message published to a topic is one allocation (a reference count, headroom, the
 * data) shared by the queue of every subscriber of that topic. Subscribers are numbered
 * 0..max_subs-1 (the connection slots). Each subscriber's queue is bounded in messages and
 * bytes: past a bound it is emptied and the subscriber owes a resync notice (the
 * conf's text, sent before anything queued after it), so a slow reader never makes memory
 * grow. Queued messages with the same topic and a non-zero coalesce key replace each other
 * in place (a newer deadline, a newer console tile).
 * Single-threaded by design: one thread (the service thread) owns a net_fanout and makes
 * every call; nothing here locks. No libwebsockets here: the transport writes what
 * net_fanout_peek gives it. */

/* A topic is (kind << 56) | id: kinds never collide, and 0 is no topic. Room for 255
 * kinds; add new ones (the proctor console, staff broadcasts) at the end. */
enum net_topic_kind {
    NET_TOPIC_SESSION = 1,         /* id: exam_session.id */
    NET_TOPIC_ROOM = 2,            /* id: a number the caller gives each room, server-wide unique */
    NET_TOPIC_ATTEMPT = 3,         /* id: attempt.id */
};
#define NET_TOPIC_ID_MAX ((UINT64_C(1) << 56) - 1)
/* The topic of (kind, id); 0 when kind is 0 or above 255 or id is above NET_TOPIC_ID_MAX. */
uint64_t net_fanout_topic(unsigned kind, uint64_t id);
unsigned net_fanout_topic_kind(uint64_t topic);
uint64_t net_fanout_topic_id(uint64_t topic);

#define NET_FANOUT_QUEUE_MAX 64            /* default messages queued per subscriber */
#define NET_FANOUT_QUEUE_BYTES (64u << 10) /* default bytes queued per subscriber */
#define NET_FANOUT_TOPICS_MAX 64           /* default topics one subscriber may hold */

typedef struct net_fanout net_fanout;
typedef struct net_fanout_conf {
    uint32_t max_subs;             /* subscribers are 0..max_subs-1 (at most INT_MAX) */
    size_t headroom;               /* bytes before each message's data the writer may use (LWS_PRE) */
    uint32_t queue_max;            /* messages queued per subscriber; 0 = NET_FANOUT_QUEUE_MAX */
    size_t queue_bytes;            /* their bytes; 0 = NET_FANOUT_QUEUE_BYTES */
    uint32_t topics_max;           /* subscriptions per subscriber; 0 = NET_FANOUT_TOPICS_MAX */
    const char *resync;            /* sent in place of what a full queue dropped (copied);
                                      NULL = {"type":"resync"} */
    /* Called when a subscriber goes from nothing to send to something (a message or the
     * resync notice), e.g. to ask for a writable callback. It must not call back into the
     * net_fanout (it runs inside publish). Optional. */
    void (*wake)(void *arg, uint32_t sub);
    void *arg;
} net_fanout_conf;

/* 0, KC_EINVAL (max_subs is 0 or above INT_MAX) or KC_ENOMEM. */
int net_fanout_new(const net_fanout_conf *conf, net_fanout **out);
void net_fanout_free(net_fanout *f);

/* Adds sub to topic (again is a no-op). 0, KC_EINVAL (no such sub, topic 0), KC_EBUSY (sub
 * holds topics_max topics) or KC_ENOMEM. O(1) amortised plus a scan of sub's own topics. */
int net_fanout_subscribe(net_fanout *f, uint64_t topic, uint32_t sub);
/* Removes sub from topic; harmless when it was not subscribed. Messages of topic already
 * queued for sub stay queued (they were published while it was subscribed). 0 or
 * KC_EINVAL. */
int net_fanout_unsubscribe(net_fanout *f, uint64_t topic, uint32_t sub);
/* The connection closed: every subscription, queued message and the resync notice of sub
 * go; the slot starts clean when it is reused. */
void net_fanout_drop(net_fanout *f, uint32_t sub);
/* 1 when sub is subscribed to topic, else 0. */
int net_fanout_subscribed(const net_fanout *f, uint64_t topic, uint32_t sub);
/* How many subscribers topic has. */
uint32_t net_fanout_subscribers(const net_fanout *f, uint64_t topic);

/* Queues a copy of data[0..len) (one buffer, shared) for every subscriber of topic. With
 * coalesce_key not 0, a message of the same topic and key still queued for a subscriber is
 * replaced by this one in its place. Returns how many subscribers it was queued for (a
 * subscriber whose queue overflowed gets the resync notice instead), or KC_EINVAL (topic
 * 0, no data, len above queue_bytes) or KC_ENOMEM. O(subscribers of topic); a subscriber's
 * queue is searched for the key only while it holds messages with a key. */
int net_fanout_publish(net_fanout *f, uint64_t topic, uint64_t coalesce_key,
                       const void *data, size_t len);

enum { NET_FANOUT_MESSAGE = 1, NET_FANOUT_RESYNC = 2 };
/* What sub is to be sent next: 0 nothing, NET_FANOUT_RESYNC (the resync notice) or
 * NET_FANOUT_MESSAGE, with *data and *len. headroom bytes before *data are the writer's to
 * overwrite (lws puts the frame header there); the len bytes at *data are shared and must
 * not be changed. Valid until the next call that changes sub's queue (pop, publish, drop). */
int net_fanout_peek(net_fanout *f, uint32_t sub, unsigned char **data, size_t *len);
/* Removes what net_fanout_peek gave (releasing the message's reference). */
void net_fanout_pop(net_fanout *f, uint32_t sub);
/* How many things sub has to be sent (the resync notice counts as one). */
uint32_t net_fanout_pending(const net_fanout *f, uint32_t sub);

typedef struct net_fanout_stats {
    uint64_t published;            /* successful net_fanout_publish calls */
    uint64_t queued;               /* references queued (one per subscriber per message) */
    uint64_t delivered;            /* references popped (handed to the writer) */
    uint64_t coalesced;            /* references replaced by a newer message of their key */
    uint64_t dropped;              /* references released unsent (overflow, drop) */
    uint64_t resyncs;              /* resync notices owed (a queue overflowed without one) */
    uint64_t bytes_queued;         /* now: queued lengths summed over subscribers */
    uint64_t buffers, buffer_bytes;/* now: message buffers alive and their allocated size */
    uint64_t topics, subscriptions;/* now */
    uint64_t ring_slots;           /* now: queue slots allocated, over all subscribers */
} net_fanout_stats;
void net_fanout_stats_get(const net_fanout *f, net_fanout_stats *st);

/* ---- throttle (net_throttle.c): login throttling and connections per address ----
 * Pure: no libwebsockets, no SQL, no threads, no allocation after net_throttle_new. The
 * service thread owns it and is the only caller (nothing here locks); every call takes the
 * time explicitly (now_ms, the same clock throughout). The rules are in net_throttle.c's
 * header comment and docs/ARCHITECTURE.md ("Login throttling").
 *
 * Wiring: parse the peer's address once per connection (net_throttle_addr_parse); call
 * net_throttle_conn_open when it connects (KC_EBUSY: close it) and net_throttle_conn_close
 * when it closes (only if open returned 0); call net_throttle_check right before queueing a
 * login, staff_login, resume or staff_resume job (KC_EBUSY: reply without queueing) and
 * net_throttle_result exactly once for every check that returned 0, when its job comes
 * back, also for a connection that closed meanwhile, or with NET_THROTTLE_VOID when the job
 * could not be queued or failed for the server's own reasons. An allowed check counts as a
 * failure until its result says otherwise, so guesses sent at once cannot outrun the
 * limits. Behind a reverse proxy the peer is the proxy: pass the client's address as the
 * proxy reports it (net_throttle_client, for a peer in limits.proxies), never the proxy's
 * own, or every client shares one address. */
typedef struct net_throttle net_throttle;

/* A peer address: IPv4 is kept as IPv4-mapped IPv6 (::ffff:a.b.c.d), so "1.2.3.4" and
 * "::ffff:1.2.3.4" are the same address. */
typedef struct net_throttle_addr {
    unsigned char ip[16];
    unsigned char family;     /* 4, 6, or 0: unparseable (all such peers share one key) */
} net_throttle_addr;
/* "a.b.c.d", an IPv6 address (optionally in [] or with a %zone), "::ffff:a.b.c.d". 0, or
 * KC_EINVAL with *a the shared unknown address. */
int net_throttle_addr_parse(const char *s, net_throttle_addr *a);

enum net_throttle_kind {
    NET_THROTTLE_LOGIN,       /* a candidate's login: who is the ticket */
    NET_THROTTLE_STAFF,       /* staff_login: who is the login */
    NET_THROTTLE_RESUME,      /* resume, staff_resume: who is NULL (a token cannot be guessed) */
};
enum net_throttle_outcome {
    NET_THROTTLE_OK,          /* the credentials were right */
    NET_THROTTLE_FAIL,        /* bad_credentials / bad_token */
    NET_THROTTLE_VOID,        /* not judged: not queued, internal error, server stopping */
};
/* What a failure started or prolonged, for its log line and proctor events. */
enum {
    NET_THROTTLE_EV_PAIR = 1,     /* this ticket/login backs off at this address */
    NET_THROTTLE_EV_WHO = 2,      /* this ticket/login backs off everywhere (a distributed guess) */
    NET_THROTTLE_EV_ADDRESS = 4,  /* this address is slowed down */
    NET_THROTTLE_EV_SPRAY = 8,    /* this address reached limits.spray_tickets distinct
                                     tickets/logins failed (once per window) */
};
typedef struct net_throttle_note {
    unsigned events;              /* NET_THROTTLE_EV_* */
    int pair_failures;            /* failures of this ticket/login from this address */
    int who_addresses;            /* distinct addresses that failed on it in the window */
    int address_failures;         /* this address's failures (leaking away over the window) */
    int address_tickets;          /* distinct tickets/logins this address failed on */
    int64_t pair_until_ms, who_until_ms, address_until_ms;   /* 0: not backing off */
    int forgave;                  /* a success that forgave earlier failures (worth sharing) */
} net_throttle_note;

typedef struct net_throttle_stats {
    unsigned long long checks, allowed;
    unsigned long long refused_address, refused_ticket, refused_login;   /* by reason */
    unsigned long long successes, failures, voids;
    unsigned long long pair_lockouts;     /* a ticket/login began backing off at an address */
    unsigned long long who_lockouts;      /* ... everywhere */
    unsigned long long address_slowdowns; /* an address began being slowed */
    unsigned long long sprays;
    unsigned long long evictions;         /* live entries pushed out of a full table */
    unsigned long long evictions_locked;  /* ... of them backing off (only when nothing else could go) */
    unsigned long long conn_refused;      /* connections past limits.connections_per_address */
    unsigned long long conn_untracked;    /* connections let in uncounted (table full of open ones) */
    unsigned long long failures_elsewhere; /* failures other nodes (or this node's earlier run) saw */
    size_t capacity;                      /* entries per table */
    size_t addresses, pairs, whos;        /* live entries per table */
} net_throttle_stats;

/* A throttle for limits l (srv_config's [limits]); NULL with err filled (naming the key). */
net_throttle *net_throttle_new(const srv_limits *l, char *err, size_t errlen);
void net_throttle_free(net_throttle *t);
/* Checks limits.trusted: comma-separated addresses or CIDRs ("127.0.0.1/32, ::1"). 0, or
 * KC_EINVAL with err naming the entry. */
int net_throttle_trusted_check(const char *list, char *err, size_t errlen);
/* The same for any [limits] list of CIDRs; key names it in err ("limits.proxies"). */
int net_throttle_cidrs_check(const char *key, const char *list, char *err, size_t errlen);
int net_throttle_is_trusted(const net_throttle *t, const net_throttle_addr *a);   /* 1 or 0 */
int net_throttle_is_proxy(const net_throttle *t, const net_throttle_addr *a);     /* limits.proxies: 1 or 0 */
/* The client behind peer. A peer in limits.proxies is a reverse proxy: the client is the
 * right-most X-Forwarded-For entry that is not itself a proxy (entries left of it were
 * written by the client and prove nothing; junk stops the walk at the last good hop), else
 * X-Real-IP; without either, the proxy itself. Any other peer is the client whatever its
 * headers say. Headers may be NULL. 1 when *client came from a header, else 0. */
int net_throttle_client(const net_throttle *t, const net_throttle_addr *peer, const char *forwarded_for,
                        const char *real_ip, net_throttle_addr *client);
/* An address as people write it ("10.1.2.3", "2001:db8::1"), "unknown" when unparsed. */
void net_throttle_addr_text(const net_throttle_addr *a, char *out, size_t cap);
/* May this attempt go to a worker? 0, or KC_EBUSY with *retry_after_ms (> 0) and *reason:
 * "address" (the address's rate or slowdown), "ticket" or "login" (that ticket or login
 * backs off, at this address or everywhere). A refusal is not a failure. */
int net_throttle_check(net_throttle *t, enum net_throttle_kind kind, const net_throttle_addr *a,
                       const char *who, int64_t now_ms, int64_t *retry_after_ms,
                       const char **reason);
/* A failed login another node saw (or this node before a restart), shared through the
 * database: counted as if it had been checked and failed here, for every rule, so a
 * guesser gains nothing by spreading over the nodes behind a load balancer. No rate token
 * is taken (that was the other node's). note as for net_throttle_result. */
void net_throttle_failure_elsewhere(net_throttle *t, enum net_throttle_kind kind, const net_throttle_addr *a,
                                    const char *who, int64_t now, net_throttle_note *note);
/* ... and a success there that forgave failures: forgiven here too, as a success here would. */
void net_throttle_success_elsewhere(net_throttle *t, enum net_throttle_kind kind, const net_throttle_addr *a,
                                    const char *who, int64_t now);
/* The outcome of an allowed attempt, with the same kind, address and who. note (may be
 * NULL) says what a failure set off. */
void net_throttle_result(net_throttle *t, enum net_throttle_kind kind, const net_throttle_addr *a,
                         const char *who, enum net_throttle_outcome outcome, int64_t now_ms,
                         net_throttle_note *note);
/* A connection from a: 0, or KC_EBUSY past limits.connections_per_address. */
int net_throttle_conn_open(net_throttle *t, const net_throttle_addr *a, int64_t now_ms);
void net_throttle_conn_close(net_throttle *t, const net_throttle_addr *a, int64_t now_ms);
/* Counters for /metrics; the table fill is counted at now_ms. */
void net_throttle_stats_get(const net_throttle *t, int64_t now_ms, net_throttle_stats *st);

/* ---- media cache (net_mcache.c): stored media by SHA-256, bounded, LRU ----
 * Media is content-addressed, so an entry never goes stale. A blob (bytes and MIME type) is
 * reference-counted: the cache holds one reference per entry and each response being
 * written one of its own, so evicting an entry never pulls bytes from under a response.
 * The bound counts what the cache holds (each entry's bytes plus net_mcache_cost's fixed
 * overhead); an object costing more than an eighth of it is not cached. Single-threaded by
 * design: one thread (the service thread) owns the cache and its blobs and makes every
 * call; nothing locks. No libwebsockets here. */
typedef struct net_mblob {
    unsigned refs;
    size_t len;
    char *data;                    /* malloc'd; freed with the last reference */
    char mime[101];
} net_mblob;
/* A blob of data[0..len) (taken over; on NULL, out of memory, it stays the caller's) with
 * one reference, the caller's. */
net_mblob *net_mblob_new(char *data, size_t len, const char *mime);
void net_mblob_ref(net_mblob *b);
void net_mblob_unref(net_mblob *b);        /* NULL is fine */

typedef struct net_mcache net_mcache;
typedef struct net_mcache_stats {
    unsigned long long hits, misses;   /* net_mcache_get calls that found / did not find */
    unsigned long long inserts, evictions;
    unsigned long long too_large;      /* net_mcache_put refused: more than max_bytes / 8 */
    unsigned long long entries, bytes; /* now: entries and their cost */
    unsigned long long max_bytes;
} net_mcache_stats;
/* What an object of len bytes costs against the bound. */
size_t net_mcache_cost(size_t len);
/* A cache of at most max_bytes; 0 is a cache that is off (every get misses, nothing is
 * kept). 0, KC_ENOMEM or KC_ERR (libsodium would not start). */
int net_mcache_new(size_t max_bytes, net_mcache **out);
void net_mcache_free(net_mcache *c);       /* drops the cache's references; NULL is fine */
/* sha: 64 lower-case hex digits. A hit returns the blob with a reference for the caller
 * (net_mblob_unref it) and makes it the most recently used; a miss returns NULL. */
net_mblob *net_mcache_get(net_mcache *c, const char *sha);
/* Keeps b under sha (the cache takes a reference of its own), evicting the least recently
 * used entries until it fits: 1 cached (or already there: the first copy stays), 0 not
 * cached (too large, or the cache is off), KC_EINVAL (sha not 64 lower-case hex digits,
 * b NULL) or KC_ENOMEM. */
int net_mcache_put(net_mcache *c, const char *sha, net_mblob *b);
void net_mcache_stats_get(const net_mcache *c, net_mcache_stats *st);

/* ---- the server (net_serve.c) ---- */
int net_serve(const srv_config *cfg);

/* ---- worker pools by class (net_pool.c): threads, a queue and a bound per class ---- */
typedef struct net_pools net_pools;
typedef struct net_pool_ops {
    void *arg;
    /* Per worker thread: e.g. its database connection. */
    void *(*thread_begin)(void *arg, int pool, int worker);
    void (*thread_end)(void *arg, void *state);
    /* A job's batch group: a worker takes the queue's head and, up to the pool's batch, more
     * of the head's group (0: the head runs alone). NULL: every job of a batching pool is
     * group 1. Called under the pool's lock: it must be quick and must not block. */
    int (*group)(void *arg, const srv_job *j);
    /* Runs jobs[0..n) (n > 1 only in a batching pool: one group, up to its batch). */
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

/* Internal to server/net: the service thread's state, shared by the WebSocket side
 * (net_serve.c) and the HTTP side (net_http.c). Only the service thread touches it, except
 * where a field says otherwise. */
#ifndef KAOCHANG_NET_INT_H
#define KAOCHANG_NET_INT_H

#include "net.h"
#include "../exam/exam.h"
#include "../../proctoring/proct.h"

#include <ev.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>

#define OUT_QUEUE_MAX 256          /* messages waiting for a slow client before we drop it */
#define LOGIN_FAILS_MAX 10
#define OUT_BYTES_MAX (8u << 20)   /* bytes waiting for one client */
#define INFLIGHT_MAX 4             /* login/resume/start/submit jobs per connection */
#define ANSWERS_INFLIGHT_MAX 256   /* answers per connection waiting for their commit */
#define RESULTS_EVERY 32           /* messages read between looks at finished jobs (net_serve.c) */

struct out {
    struct out *next;
    size_t len;
    unsigned char binary;          /* a binary message (a sealed paper), else text */
    unsigned char paced;           /* holds one of server.paced_inflight until written */
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
    int paced_held;                /* paced slots of replies lws is still sending */
    int closing;
    int64_t seen_s;                /* second of the last frame from the peer (message or PONG) */
    unsigned char ping_sent;       /* a PING is out since seen_s */
    unsigned char ping_due;        /* send a PING at the next WRITEABLE */
    int login_fails;
    int authed;                    /* a candidate's connection: live names its attempt's entry */
    uint32_t live;                 /* entry number + 1 in net__S.lives; 0 none */
    char peer[48];                 /* the peer's address, for the log and proctors' events */
    net_throttle_addr addr;        /* ... parsed, for the throttle */
    unsigned char addr_counted;    /* counted in the throttle's connections per address */
    int staff;                     /* a staff member's connection (never both) */
    uint64_t staff_id;
    unsigned roles;
    char staff_login[65];
};

struct pss { uint32_t slot; };

struct http_pss {
    /* Every reply is written in LWS_CALLBACK_HTTP_WRITEABLE from out: the headers, then
     * 16 KiB pieces. */
    int status;
    int import;                    /* 1 collecting, 2 waiting on a worker, 3 replying */
    /* POST /api/bank/import: the body is collected here, parsed and stored on a worker,
     * and the reply sent when the job comes back. */
    uint32_t slot;                 /* in S.https, while import */
    int over, refused;
    int uploading;                 /* counted in S.uploading while its body arrives */
    char *in;
    size_t in_len, in_cap;
    char format[16], name[128];
    int dry_run;
    uint64_t staff_id;
    unsigned roles;
    char *out;                     /* malloc'd, or blob's bytes */
    size_t out_len, out_off;
    int headers_sent;
    int retry_after;               /* seconds, sent with a 503 */
    const char *ctype;             /* of a reply that is not JSON (and not media) */
    /* GET /media/<sha256>: checked here, answered from the cache, or read on a media worker
     * (one read per sha however many ask) and sent like an import's reply */
    int media;
    struct lws *wsi;               /* while it waits */
    char sha[65];
    int64_t expires_ms;            /* the link's expiry: no cache may keep the reply longer */
    int mwait;                     /* MEDIA_WAITING, MEDIA_READING or 0 */
    int mread;                     /* MEDIA_READING: its read in S.mreads */
    struct http_pss *mprev, *mnext;   /* in S.mwait or in its read's waiters */
    net_mblob *blob;               /* a 200 media reply: shared bytes and type */
};

#define HTTP_IMPORTS_MAX 64        /* imports waiting on a worker */
#define UPLOADS_MAX 8              /* import bodies arriving at once (a slow client holds one) */
#define IMPORT_BYTES_MAX ((size_t)64 << 20)
#define MEDIA_READS_MAX 4096       /* media reads at once, whatever pools.media_queue says */
#define MEDIA_WAIT_S 60            /* a media request waiting longer for its bytes is closed */
#define HTTP_WRITE_IDLE_S 30       /* a reply whose client reads nothing for this long is closed */
enum { MEDIA_WAITING = 1, MEDIA_READING = 2 };

struct hconn { uint32_t gen; struct lws *wsi; struct http_pss *p; };

/* A media read on its way through the media pool and the requests waiting for it. */
struct mread {
    uint32_t gen;
    int busy;
    char sha[65];
    struct http_pss *head, *tail;
};

/* GET /media/ counters for /metrics. */
struct mstats {
    unsigned long long requests;   /* signed links that checked out */
    unsigned long long hits;       /* ... answered from the cache */
    unsigned long long reads;      /* reads started on the media pool */
    unsigned long long coalesced;  /* requests that joined a read already under way */
    unsigned long long waited;     /* requests that waited in S.mwait */
    unsigned long long busy;       /* answered 503 */
    unsigned long long not_found, failed;
};

struct net_server {
    const srv_config *cfg;
    struct lws_context *ctx;
    struct ev_loop *loop;
    ev_timer tick;
    ev_signal sig_int, sig_term;
    int ticks;

    struct conn *conns;
    uint32_t *free_slots;
    int nfree, nconns;
    exam_lives lives;              /* this node's live attempts (server/exam) */
    net_throttle *throttle;        /* logins and connections per address */
    net_fanout *fanout;            /* topics: an attempt's pushes go to whichever slot holds it */
    int changes_inflight;
    int64_t changes_since;         /* deadlines changed since this (server clock, ms) */
    kc_wheel alive;                /* per slot: when to look at its silence next (PING, close) */

    net_pools *pools;
    pthread_mutex_t rlock;         /* finished jobs, handed back by the workers */
    srv_job *rh, *rt;
    atomic_int results_ready;      /* rh is not empty (a hint, read without rlock) */
    unsigned msgs_since_look;      /* messages read since the loop last looked at results_ready */
    atomic_int workers_connected;
    atomic_ullong answers_committed;

    struct hconn https[HTTP_IMPORTS_MAX];
    unsigned char token_key[32];
    unsigned char staff_key[32];
    unsigned char media_key[32];
    srv_ctx x;
    proct_buffer events;
    int sweep_inflight, prepare_inflight;
    /* attempt.holder_node (one live connection across nodes): attempts whose connection here
     * went, let go of in the database HOLD_GRACE_MS later unless one came back (a reconnect
     * to this node costs no write), and attempts to hold again (a let-go crossed a login) */
    struct gone { uint64_t attempt_id; int64_t at_ms; } *gone;
    size_t gone_head, gone_n, gone_cap;
    uint64_t *reclaim;
    size_t reclaim_n, reclaim_cap;
    int holders_inflight;
    /* Failed logins shared between nodes (login_failure): this node's, waiting for the next
     * holders job; the other nodes' already applied (ids, last FAILS_SEEN of them) */
    srv_fail *fails;
    size_t fails_n, fails_cap;
    kc_map fails_seen;
    uint64_t *fails_ring;
    size_t fails_ring_at;
    uint64_t fails_seq;            /* this run's shared rows, numbered */
    uint64_t fails_max_id;         /* the highest of the others' ids seen */
    int64_t taken_since;           /* MariaDB's time when the last good look began (0: none yet,
                                      and the first look reaches back a whole fail window) */
    int uploading, imports_running;
    int heavy_running;             /* SRV_CMD_HEAVY jobs queued or running */
    /* SRV_CMD_PACED jobs: queued, running or their reply not yet written; beyond
     * server.paced_inflight they wait here in order (n_waiting of them). */
    int paced_inflight, paced_waiting;
    srv_job *paced_head, *paced_tail;
    /* GET /media/ (net_http.c): the cache, the reads under way, the requests waiting in
     * arrival order for a read to start */
    net_mcache *mcache;
    struct mread *mreads;
    int nmreads, mreads_busy;
    uint32_t *mreads_free;
    int nmreads_free;
    kc_map mreads_by_sha;          /* the sha's first 8 bytes -> read index */
    struct http_pss *mwait_head, *mwait_tail;
    int mwait_n;
    struct mstats mstats;
    int stopping;
};
extern struct net_server net__S;


/* A job for a connection or HTTP request handle; queued on the pool its kind or row names
 * (KC_EBUSY past the pool's bound). */
srv_job *net__job_new(enum srv_job_kind kind, uint64_t conn, int64_t req_id);
int net__enqueue(srv_job *j);
/* The "http" protocol: /healthz, /metrics, POST /api/bank/import, GET /media/
 * (net_http.c), and a finished import or media job back to its request. */
int net__cb_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);
/* The client of a connection or request whose headers lws still holds: the peer, or behind a
 * proxy of limits.proxies the address it forwarded (net_throttle_client). text as people
 * write it (IPv4 without ::ffff:). */
void net__client(struct lws *wsi, net_throttle_addr *addr, char *text, size_t cap);
void net__http_done(srv_job *j);
/* The media cache and the reads table, sized from the config (before serving), and their
 * end (after the context is destroyed). 0, or -1 after logging why. */
int net__http_start(const srv_config *cfg);
void net__http_end(void);

#endif

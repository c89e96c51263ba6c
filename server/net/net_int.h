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

struct out {
    struct out *next;
    size_t len;
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
    int status;
    size_t len;
    char body[1280];
    /* POST /api/bank/import: the body is collected here, parsed and stored on a worker,
     * and the reply sent when the job comes back. */
    int import;                    /* 1 collecting, 2 queued, 3 replying */
    uint32_t slot;                 /* in S.https, while import */
    int over, refused;
    int uploading;                 /* counted in S.uploading while its body arrives */
    char *in;
    size_t in_len, in_cap;
    char format[16], name[128];
    int dry_run;
    uint64_t staff_id;
    unsigned roles;
    char *out;
    size_t out_len, out_off;
    int headers_sent;
    /* GET /media/<sha256>: checked here, read on a worker, sent like an import's reply */
    int media;
    char mime[101];                /* of a 200 media reply; other replies are JSON */
};

#define HTTP_IMPORTS_MAX 64        /* imports and media requests waiting on a worker */
#define UPLOADS_MAX 8              /* import bodies arriving at once (a slow client holds one) */
#define IMPORT_BYTES_MAX ((size_t)64 << 20)

struct hconn { uint32_t gen; struct lws *wsi; struct http_pss *p; };

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
    atomic_int workers_connected;
    atomic_ullong answers_committed;

    struct hconn https[HTTP_IMPORTS_MAX];
    unsigned char token_key[32];
    unsigned char staff_key[32];
    unsigned char media_key[32];
    srv_ctx x;
    proct_buffer events;
    int sweep_inflight, prepare_inflight;
    int uploading, imports_running;
    int heavy_running;             /* SRV_CMD_HEAVY jobs queued or running */
    int stopping;
};
extern struct net_server net__S;


/* A job for a connection or HTTP request handle; queued on the pool its kind or row names
 * (KC_EBUSY past the pool's bound). */
srv_job *net__job_new(enum srv_job_kind kind, uint64_t conn, int64_t req_id);
int net__enqueue(srv_job *j);
/* The "http" protocol: /healthz, POST /api/bank/import, GET /media/ (net_http.c), and a
 * finished import or media job back to its request. */
int net__cb_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);
void net__http_done(srv_job *j);

#endif

/* server: the kaochang binary — configuration, the libwebsockets front end, exam logic and
 * the command line. Public header of server/. */
#ifndef KAOCHANG_SRV_H
#define KAOCHANG_SRV_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdarg.h>
#include "../lib/kc.h"

/* ---- who may send a message: staff role bits, and two that are not roles ---- */
enum {
    SRV_ROLE_ADMIN = 1, SRV_ROLE_AUTHOR = 2, SRV_ROLE_REVIEWER = 4, SRV_ROLE_AFFAIRS = 8,
    SRV_ROLE_PROCTOR = 16, SRV_ROLE_EXAMINER = 32, SRV_ROLE_SUPERVISOR = 64,
    SRV_STAFF_ANY = 127,
    SRV_WHO_CANDIDATE = 1 << 8,   /* a connection logged in as a candidate */
    SRV_WHO_ANYONE = 1 << 9,      /* any connection, before or after login */
};

/* ---- worker pools: each class of work has its own threads, queue and bound ---- */
enum srv_pool_id {
    SRV_POOL_ANSWERS,             /* answers, group-committed in batches */
    SRV_POOL_EXAM,                /* a candidate's login, resume, start, submit */
    SRV_POOL_SWEEP,               /* the deadline sweep, session prepare, event batches */
    SRV_POOL_STAFF,               /* staff work: password checks, bank, imports, reports */
    SRV_POOL_MEDIA,               /* GET /media/… */
    SRV_POOLS,
    SRV_LOCAL = -1,               /* answered on the service thread from memory */
};
typedef struct srv_pool_conf { int workers, queue, batch; } srv_pool_conf;   /* batch: most jobs a worker takes at once */

/* ---- [limits]: login throttling and connections per address (server/net/net_throttle.c,
 * whose header comment has the rules) ---- */
typedef struct srv_limits {
    int login_burst;              /* login attempts an address may make at once (0 = no bucket) */
    int login_per_second;         /* ... and refills per second */
    int staff_burst;              /* staff_login attempts (Argon2id) an address may make at once */
    int staff_per_minute;         /* ... and refills per minute */
    int fail_threshold;           /* failures of one ticket/login from one address before backoff (0 = off) */
    int fail_window_s;            /* quiet time that forgets failures */
    int backoff_start_s;          /* the first backoff; doubles per further failure */
    int lockout_s;                /* the longest backoff of a ticket or login */
    int distinct_addresses;       /* networks failing on one ticket/login that lock it for all (2-8) */
    int address_fail_threshold;   /* failures per window an address may have before it is slowed (0 = off) */
    int address_backoff_max_s;    /* the longest an address is slowed */
    int spray_tickets;            /* distinct tickets/logins failed from one address: a proctor event */
    int connections_per_address;  /* 0 = unlimited */
    int table_size;               /* entries of each table (addresses, pairs, tickets) */
    char trusted[512];            /* CIDRs exempt from the connection limit and the address limits */
    char proxies[512];            /* CIDRs of reverse proxies whose X-Forwarded-For names the client */
} srv_limits;

/* ---- configuration (kaochang.conf, INI; see docs and kaochang.conf.example) ---- */
typedef struct srv_config {
    /* [server] */
    char listen[64];          /* interface address, "" = all */
    int port;
    char web_root[512];
    int max_message;          /* bytes */
    int max_connections;
    int answer_batch;         /* max answers per transaction */
    int prepare_before_min;   /* serve makes a session's papers this long before it opens */
    char log_level[16];
    char origins[1024];       /* WebSocket origins allowed besides the server's own; "" = own only */
    int idle_ping_s;          /* a connection silent this long gets a PING */
    int idle_close_s;         /* ... and is closed when still silent this long */
    char node_id[65];         /* this node in the answer history; "" = hostname:port (srv_config_node_id) */
    int paper_cache_mb;       /* rendered papers the exam workers keep in memory; 0 = none */
    int media_cache_mb;       /* media kept in memory by sha256 (LRU); 0 = off */
    int paced_inflight;       /* large replies (sealed papers) being made or sent at once */
    /* [pools] */
    srv_pool_conf pools[SRV_POOLS];
    int staff_heavy;          /* staff jobs that load a whole pool or session, at once */
    int media_wait;           /* GET /media/ requests waiting for a read to start, beyond: busy */
    /* [limits] */
    srv_limits limits;
    /* [db] */
    kc_db_conf db;
    char schema_dir[512];
} srv_config;

void srv_config_defaults(srv_config *c);
/* Loads FILE over the current values. err names FILE:LINE on failure. */
int srv_config_load(srv_config *c, const char *path, char *err, size_t errlen);
/* Sets "section.key" = value (used by the file and by --set / flags). */
int srv_config_set(srv_config *c, const char *key, const char *value, char *err, size_t errlen);
void srv_config_print(const srv_config *c, FILE *out);
/* Fills an empty server.node_id with the default, the hostname, ':' and the port (the
 * hostname shortened so that it fits 64 bytes). serve and config call it once the file,
 * --set and the flags are applied. */
void srv_config_node_id(srv_config *c);

/* ---- messages: what a client sends, parsed and checked against the command table ---- */
struct srv_cmd;
#define SRV_MAX_EVENTS 32
#define SRV_COMMENT_CAP 2048
typedef struct srv_event { char kind[24]; int64_t at_ms; } srv_event;
/* Every field any message may carry; a message's row in the command table says which it
 * takes, their types and limits. */
typedef struct srv_msg {
    const struct srv_cmd *cmd;   /* its row in the command table */
    int64_t id;               /* -1 when absent */
    char ticket[33];
    char id_number[33];
    char token[160];
    int64_t item;
    /* The large fields are heap strings of their own size (NULL when absent; srv_msg_free):
     * a job carries its message, and thousands of jobs are queued at once in a synchronized
     * start, so the message is kept small. */
    char *response;           /* <= BANK_RESPONSE_MAX bytes; fill blanks joined by 0x1F */
    int64_t seq;
    int64_t client_time;      /* heartbeat: the client's clock, 0 when absent */
    char paper_hash[65];      /* start: the hash of the paper the client holds */
    char sealed_hash[65];     /* start: the hash of the sealed paper it holds (paper_fetch) */
    int n_events;
    srv_event *events;        /* n_events of them, at most SRV_MAX_EVENTS */
    /* staff messages */
    char login[65];
    char password[257];
    char uid[65];             /* an item's uid, or the code of a template or session */
    char action[16];
    char *comment;            /* < SRV_COMMENT_CAP bytes */
    char occupation[17];
    char part[16];
    int64_t level, offset, limit;
    char file[129];           /* paper_template_import: the file's name */
    int64_t dry_run;          /* a boolean field */
    char *obj;                /* malloc'd compact JSON of "filters" / "item", or the "text" of an
                                 import; srv_msg_free */
} srv_msg;
typedef struct srv_msg_error {
    const char *code;         /* protocol error code */
    char field[32];
    char message[200];
    int64_t id;
} srv_msg_error;
/* Fills e (code, field, message; cut UTF-8 removed) and returns KC_EINVAL. */
int srv_msg_fail(srv_msg_error *e, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void srv_msg_free(srv_msg *m);    /* what parse allocated (obj, the heap strings); m may be parsed again */
/* *to = *from, and from no longer owns what it allocated (to does). */
void srv_msg_move(srv_msg *to, srv_msg *from);
/* Builds {"type":"error",...}; returns a malloc'd string. */
char *srv_msg_error_json(int64_t id, const char *code, const char *field, const char *message);

/* ---- a candidate's attempt as its connection holds it ---- */
enum srv_attempt_status { SRV_ST_NONE = 0, SRV_ST_NOT_STARTED, SRV_ST_IN_PROGRESS, SRV_ST_SUBMITTED };
/* The answerable items of a paper (a composite's sub-items, not the composite itself), as
 * the service thread needs them to check answers: built by the start job. */
typedef struct srv_paper {
    uint64_t attempt_id;
    int n;
    uint64_t *item_ids;        /* sorted */
    unsigned char *n_options;  /* parallel to item_ids */
    unsigned char *types;      /* enum bank_item_type, parallel */
    unsigned char *n_blanks;   /* fill items: number of blanks, parallel */
    int64_t *seq;              /* parallel: the seq the database holds for the item, 0 none */
} srv_paper;
void srv_paper_free(srv_paper *p);
int srv_paper_find(const srv_paper *p, uint64_t item_id);    /* index or -1 */
/* A candidate's attempt as this node knows it: one entry per attempt in the node's live
 * table (exam_lives), owned by the service thread and updated from worker results. A
 * connection points at its attempt's entry; the entry outlives a disconnect for a while so
 * a reconnect finds it (paper and seqs included). */
typedef struct srv_live {
    uint64_t attempt_id;       /* 0: a free entry (or no candidate logged in) */
    enum srv_attempt_status status;
    int64_t deadline_ms;
    srv_paper *paper;          /* this attempt's paper (each candidate's may differ) */
    int64_t events_window;     /* minute (server clock) the event count is for */
    int events_in_window;
    uint64_t conn;             /* (slot << 32) | generation of the connection holding it; 0 none */
    int64_t released_ms;       /* when the last connection let go of it */
    int64_t heartbeat_ms;      /* the last heartbeat */
    int64_t clock_offset_ms;   /* server clock - client clock, from heartbeats with client_time */
    int answered;              /* items the database holds an answer for */
    int expiring;              /* the deadline passed here: the submit job is queued */
    int db_released;           /* this node let go of it in the database (attempt.holder_node) */
} srv_live;

/* ---- jobs: a request on its way to a worker and its reply on the way back ---- */
enum srv_job_kind {
    SRV_JOB_MSG = 1,           /* a client's message: m and cmd say what */
    SRV_JOB_SWEEP, SRV_JOB_EVENTS, SRV_JOB_PREPARE,   /* the server's own */
    SRV_JOB_EXPIRE,            /* an attempt whose deadline passed on this node: submit it */
    SRV_JOB_CHANGES,           /* deadlines changed since m.offset (ms), by any node */
    SRV_JOB_IMPORT,            /* POST /api/bank/import */
    SRV_JOB_MEDIA,             /* GET /media/<sha256> */
    SRV_JOB_HOLDERS,           /* this node's lease; attempts it no longer holds, or holds again */
};
struct proct_batch;
struct proct_buffer;
/* An attempt whose deadline another node (or the CLI) changed, as SRV_JOB_CHANGES finds it. */
/* taken: instead, a resume on another node took the attempt over (holder_taken_at). */
typedef struct srv_change { uint64_t attempt_id; int64_t deadline_ms; enum srv_attempt_status status; int taken; } srv_change;
/* A login outcome shared between nodes (login_failure, 010): kind 0 a ticket, 1 a staff
 * login; ok 1 a success that forgave failures. (boot, seq) names this node's rows; id and
 * age_ms are what a reading node learns of another's. */
typedef struct srv_fail {
    uint64_t id, seq;
    int64_t age_ms;
    unsigned char kind, ok;
    char who[65];
    char address[48];
} srv_fail;
typedef struct srv_job {
    struct srv_job *next;
    enum srv_job_kind kind;
    const struct srv_cmd *cmd; /* SRV_JOB_MSG: m.cmd */
    uint64_t conn;             /* (slot << 32) | generation of the requesting connection */
    int64_t req_id;            /* the client's "id", -1 when absent */
    srv_msg m;                 /* the request (staff_login's password is wiped when done) */
    /* who asks, set by the service thread from the connection */
    uint64_t attempt_id;       /* a candidate's (login/resume: set by the worker) */
    uint64_t staff_id;         /* a staff member's (staff login/resume: set by the worker) */
    unsigned roles;
    char login[65];
    /* the server's own jobs and HTTP requests */
    struct proct_batch *events;   /* SRV_JOB_EVENTS */
    char *text;                /* malloc'd: an import's body / media bytes; m.obj moved here */
    size_t text_len;
    char format[16];
    int http;                  /* the reply goes to an HTTP request (import, media) */
    int http_status;           /* its status code, set by the worker */
    char mime[101];            /* media: the stored type; m.uid holds the sha256 in hex */
    /* outputs, filled by the worker */
    char *reply;               /* JSON text to send back, malloc'd, or NULL */
    size_t reply_len;          /* reply_binary: its bytes */
    int reply_binary;          /* reply is a binary message of reply_len bytes (a sealed paper) */
    int ok;                    /* login/resume/start/answer succeeded */
    enum srv_attempt_status status;
    int64_t deadline_ms;
    uint64_t session_id;
    char token[160];           /* login: resume token, made by the worker */
    srv_paper *paper;          /* start: handed to the attempt's live entry */
    int n_done;                /* sweep: attempts it submitted */
    int64_t held_seq;          /* answer: the seq the database holds for the item after it */
    int n_changes;             /* changes: what was found */
    srv_change *changes;
    int denied;                /* login/resume: the credentials or token were wrong (not a
                                  server failure): the throttle counts it */
    uint64_t denied_attempt;   /* login: the attempt of a ticket whose ID number was wrong */
    /* login/resume: the attempt's holder in the database (one live connection across nodes) */
    int held_elsewhere;        /* login refused: a live node holds it (held_by names it) */
    int claimed;               /* the worker wrote this node as the holder, or found it there */
    int held_mine;             /* ... found it there (no write) */
    int took_over;             /* resume: ... taking it from a live node (held_by) */
    char held_by[65];
    /* SRV_JOB_HOLDERS: this node's lease, and holdings to let go of and to take again */
    uint64_t *ids;             /* n_release ids, then n_reclaim ids (malloc'd) */
    int n_release, n_reclaim;
    /* HOLDERS: this node's failed logins to share; CHANGES: the other nodes' (malloc'd) */
    srv_fail *fails;
    int n_fails;
    int fails_unsent;          /* HOLDERS: the share could not be written (kept for the next) */
    int64_t taken_since;       /* CHANGES: takeovers stamped since (MariaDB's clock, ms; 0 first) */
    int64_t db_now;            /* ... and MariaDB's time when this look began (the next one's since) */
    uint64_t fails_after;      /* CHANGES: the other nodes' rows after this id ... */
    int fails_window_s;        /* ... or, when > 0 (the first look), of the last this many s */
    char peer[48];             /* login/resume: the peer's address, for the throttle and the log */
    unsigned char throttled;   /* 1 + enum net_throttle_kind: the throttle let it through */
} srv_job;
void srv_job_free(srv_job *j);

/* What every worker job may need: keys and settings, read-only once serving. */
typedef struct srv_ctx {
    const unsigned char *token_key;
    const unsigned char *staff_key;   /* staff tokens: a key of their own */
    const unsigned char *media_key;   /* signed media URLs: another one */
    int answer_batch;
    int prepare_before_min;           /* the automatic session prepare */
    int max_message;                  /* server.max_message: the largest import a page may send */
    const char *node_id;              /* server.node_id: which node applied an answer (history) */
    uint64_t node_boot;               /* this run of the node (random, not 0): attempt.holder_boot */
} srv_ctx;

/* ---- the command table: one row per message type ----
 * A row says everything the transport needs: the fields and their limits, who may send
 * it, which pool runs it and the handler. Adding a message is a row and a handler. */
typedef int (*srv_run_fn)(kc_db *db, const srv_ctx *x, srv_job *j);
typedef struct srv_field {
    const char *name;
    char kind;          /* 's' string, 'S' string on the heap (the member is a char *, cap
                           as for 's'), 'i' integer, 'e' events array, 'r' response,
                           'o' object (kept as JSON), 'b' boolean, 'T' long text (into obj,
                           at most max bytes) */
    int required;
    size_t off, cap;    /* destination in srv_msg; cap: string size */
    int64_t min, max;   /* integer range / string length range */
} srv_field;
enum {
    SRV_CMD_LOGIN = 1,        /* ok makes the connection a candidate's */
    SRV_CMD_STAFF_LOGIN = 2,  /* ok makes the connection a staff member's */
    SRV_CMD_HEAVY = 4,        /* loads a whole pool or session: server.staff_heavy at once */
    SRV_CMD_SECRET = 8,       /* carries a password: wiped from memory once used */
    SRV_CMD_PACED = 16,       /* large replies: at most server.paced_inflight of these run or
                                 wait to be sent at once, the rest wait in order (memory stays
                                 bounded while thousands ask in the same seconds) */
    SRV_CMD_GUESSABLE = 32,   /* credentials one could guess (ticket + ID number, a password),
                                 throttled per ticket or login; a login without it proves
                                 itself with a token, which only the rate limit applies to */
};
typedef struct srv_cmd {
    const char *name;
    const srv_field *fields;
    unsigned who;             /* SRV_WHO_* and staff role bits */
    int pool;                 /* enum srv_pool_id, or SRV_LOCAL */
    unsigned flags;           /* SRV_CMD_* */
    srv_run_fn run;           /* on a worker of pool (staff roles checked against the DB first) */
    /* SRV_LOCAL: the reply, built on the service thread from the connection's attempt */
    char *(*local)(srv_live *live, const srv_msg *m, int64_t now_ms, struct proct_buffer *events);
    /* optional, on the service thread before queueing: 0, or KC_EINVAL with e filled */
    int (*admit)(const srv_live *live, srv_msg *m, int64_t now_ms, srv_msg_error *e);
    /* optional: runs many of these messages (up to the pool's batch, every one of this row)
     * in one go, e.g. one transaction; every job gets its reply. Without it, run, one by one. */
    int (*batch)(kc_db *db, const srv_ctx *x, srv_job **jobs, int n);
} srv_cmd;

#endif

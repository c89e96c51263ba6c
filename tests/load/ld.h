/* kc_load, the delivery benchmark's load generator (tests/load): what its parts share.
 *
 * ld_proto.c: the pure pieces (latency histograms, a JSON scanner that allocates nothing,
 * WebSocket frames, the handshake key, the answers it sends); unit-tested in
 * tests/unit/test_load.c. ld_worker.c: one process's candidates over epoll. kc_load.c: the
 * command line, the worker processes, the server's /proc figures and the summary.
 *
 * Standalone on purpose (no project headers): it measures the server from outside, over
 * the real protocol (docs/PROTOCOL.md), as a browser would. */
#ifndef LD_H
#define LD_H

#include <stddef.h>
#include <stdint.h>

/* ---- latency histograms (log-linear, microseconds) ----
 * Exact below 64 us, then 32 buckets per power of two: a percentile is off by at most
 * 1/32 (about 3 %), and a histogram is a fixed 9.6 KB whatever the number of samples. */
#define LD_H_BUCKETS 1200

typedef struct {
    uint64_t n, max_us, sum_us;
    uint64_t b[LD_H_BUCKETS];
} ld_hist;

void ld_hist_add(ld_hist *h, uint64_t us);
void ld_hist_merge(ld_hist *into, const ld_hist *from);
/* The p-th percentile (0 < p <= 100) in microseconds: the upper edge of its bucket, never
 * above the largest sample; 0 when empty. */
uint64_t ld_hist_pct(const ld_hist *h, double p);
int ld_hist_index(uint64_t us);
uint64_t ld_hist_upper(int index);

/* ---- a JSON scanner over one message, allocating nothing ----
 * Objects: `int k = 0; while (ldj_key(j, &k, &key, &len) > 0) { ...read or ldj_skip... }`;
 * arrays likewise with ldj_elem. Any malformed input sets j->err (and every call after it
 * returns an error). */
typedef struct {
    const char *p, *end;
    int err;
} ldj;

void ldj_init(ldj *j, const char *s, size_t n);
int ldj_peek(ldj *j);                        /* the next non-space byte, 0 at the end */
int ldj_skip(ldj *j);                        /* any value */
int ldj_obj(ldj *j);                         /* consumes '{' */
int ldj_key(ldj *j, int *k, const char **key, size_t *len);   /* 1 member, 0 '}', -1 */
int ldj_arr(ldj *j);                         /* consumes '[' */
int ldj_elem(ldj *j, int *k);                /* 1 element follows, 0 ']', -1 */
int ldj_int(ldj *j, int64_t *v);
int ldj_bool(ldj *j, int *v);
/* A string, unescaped (\uXXXX as UTF-8) into buf (NUL-terminated); longer ones are cut at
 * cap - 1 bytes. */
int ldj_str(ldj *j, char *buf, size_t cap);
int ldj_is(const char *key, size_t len, const char *lit);

/* ---- the paper: what is answered, and the messages the generator reads ---- */
enum ld_type { LD_SINGLE = 1, LD_MULTI, LD_TF, LD_FILL, LD_SHORT, LD_ESSAY, LD_OTHER };

/* One answerable item of a candidate's paper (a composite's children, never the
 * composite); acked is the highest seq acknowledged as applied for it. */
typedef struct {
    int64_t item, acked;
    uint8_t type, n;     /* n: options (single, multi) or blanks (fill) */
} ld_leaf;

typedef struct {
    ld_leaf *v;
    size_t n, cap;
} ld_leaves;

enum ld_kind { LD_M_OTHER, LD_M_WELCOME, LD_M_PAPER, LD_M_ACK, LD_M_TIME, LD_M_ERROR, LD_M_SUBMITTED };

/* A server message as far as the generator needs it. For a paper, the answerable items
 * are appended to *leaves (when the paper has items) and items_seen says whether it had
 * them (a paper sent with "unchanged": true has none). */
typedef struct {
    int kind;
    int64_t id, item, seq, last_seq;
    int has_id, applied, unchanged, items_seen, sealed;
    char type[24], code[32], message[96], token[256], hash[72], key[72];
} ld_msg;

int ld_parse_msg(const char *s, size_t n, ld_msg *m, ld_leaves *leaves);
/* A paper object alone (a sealed paper once opened): its answerable items into *leaves and
 * m->items_seen; 0, or -1 when it is not a JSON object. */
int ld_parse_paper(const char *s, size_t n, ld_msg *m, ld_leaves *leaves);
/* The plain text of a sealed paper: ChaCha20 (block counter 0, nonce 0) under the 32-byte
 * key given in hex by `start`; 0, or -1 (a bad key). out has n bytes. */
int ld_unseal(const char *key_hex, const unsigned char *in, size_t n, unsigned char *out);
#define LD_SEAL_MAGIC "KCP1"      /* a sealed paper: magic, 64 hex digits of its hash, ciphertext */

/* ---- answers ----
 * The response is a function of (candidate, item, seq), so nothing has to be kept to write
 * the acknowledged ones at the end. ld_response_json: the value as sent (a JSON string or
 * array); ld_response_stored: as the server stores it (multi sorted, tf T/F, fill blanks
 * joined by U+001F). Both return the length, or -1 when the item cannot be answered. */
uint64_t ld_mix(uint64_t a, uint64_t b, uint64_t c);
int ld_response_json(const ld_leaf *l, uint64_t cand, int64_t seq, char *out, size_t cap);
int ld_response_stored(const ld_leaf *l, uint64_t cand, int64_t seq, char *out, size_t cap);

/* ---- WebSocket (RFC 6455), client side ---- */
#define LD_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* The header of the frame at s[0..n): 0 and *hdr, *plen when complete enough to know
 * them, 1 when more bytes are needed, -1 when malformed for a server frame (masked, a
 * reserved bit, a control frame that is fragmented or longer than 125 bytes). */
int ld_ws_header(const unsigned char *s, size_t n, int *fin, int *op, size_t *hdr, uint64_t *plen);
/* A masked client frame of opcode op and payload p into out (cap >= n + 14); its length. */
size_t ld_ws_frame(unsigned char *out, int op, const void *p, size_t n, uint32_t mask);
/* base64(SHA-1(key + GUID)), the Sec-WebSocket-Accept for key; 0 or -1. */
int ld_ws_accept(const char *key, char out[32]);
void ld_base64(const unsigned char *in, size_t n, char *out);

/* ---- between the processes ---- */
#define LD_ERR_CODES 24

typedef struct {
    char code[40];
    uint64_t n;
} ld_errcount;

/* The monotonic instants (ns) of a run, chosen by the parent once every worker has its
 * candidates logged in. */
typedef struct {
    uint64_t start;              /* every candidate sends `start` */
    uint64_t reconnect;          /* the steady phase ends and the mass reconnect begins */
    uint64_t close_spread;       /* every connection is closed within this */
    uint64_t reopen_spread;      /* ... and opened again within this after that */
    uint64_t end;                /* no new messages; then the acks are awaited */
    uint64_t drain;              /* at most this long; papers still awaited are errors then */
} ld_sched;

enum { LD_P_READY = 1, LD_P_REPORT = 2 };

typedef struct {
    uint32_t kind, logged_in, failed, sealed;
} ld_ready;

/* Requests sent per second from the start instant on: the parent picks the steady window
 * afterwards, once it knows when the start burst ended. */
#define LD_TIMELINE 3700

/* ack: every acknowledged answer of the run; ack_steady: those sent in this process's
 * steady window (from the later of a quarter of the steady phase and two seconds after its
 * candidates' last first paper, to the reconnect); ack_early and ack_late: those sent before
 * it (the start burst) and from the reconnect on; start: to the paper, or to the key of
 * the sealed paper; open: opening a sealed paper with its key (decrypt and read), the
 * page's own work. */
typedef struct {
    ld_hist ack, ack_steady, start, resume, open;
    ld_hist ack_early, ack_late;    /* answers sent before the steady window; from the reconnect on */
    uint64_t candidates, logged_in, connections;   /* connections: open when the steady phase ends */
    uint64_t sealed, sealed_bytes;                 /* sealed papers fetched after login, and their bytes */
    uint64_t started, papers, papers_early;        /* first starts sent; first papers, those before the reconnect */
    uint64_t last_paper_ns;                        /* the last early first paper, after the start */
    uint64_t longest_pass_ns;                      /* the longest pass over events or timers, start to reconnect */
    uint64_t unfinished;                           /* starts and resumes without a paper at the end */
    uint64_t sent, recv, answers, acks, acks_applied, acks_superseded, heartbeats,
        times, pings, backlog_skips, resent, errors, bytes_in, bytes_out;
    uint64_t cpu_us;             /* the worker's own CPU time */
    ld_errcount err[LD_ERR_CODES];
    uint32_t sent_at[LD_TIMELINE];
} ld_report;

/* Counts one error under its code (the first LD_ERR_CODES codes, the rest as "other"). */
void ld_err_count(ld_errcount *t, const char *code, uint64_t n);

typedef struct {
    const char *host;
    int port;
    uint32_t src_first;          /* the first source address (host order) */
    int per_addr;                /* connections per source address */
    double ramp;                 /* new connections per second, this worker's share */
    const char *acked_path;      /* this worker's file of acknowledged answers */
    int verbose_errors;          /* how many errors to print in full */
    uint64_t answer_every, heartbeat_every;   /* ns */
    uint64_t hard_deadline;      /* monotonic ns: give up whatever happens */
    int seal;                    /* fetch each paper sealed after login (paper_fetch), start with its hash */
} ld_conf;

typedef struct {
    char ticket[33], id_number[33];
} ld_cand_id;

/* Runs candidates ids[0..n) (their global numbers first .. first + n - 1) in this process:
 * connects and logs them in (and fetches their sealed papers), writes LD_P_READY to report_fd, reads an ld_sched from
 * cmd_fd, runs it, writes the acknowledged answers to conf->acked_path and LD_P_REPORT
 * plus an ld_report to report_fd. Returns the process's exit status. */
int ld_worker_run(const ld_conf *conf, const ld_cand_id *ids, size_t n, uint64_t first, int cmd_fd,
                  int report_fd);

uint64_t ld_now_ns(void);

#endif

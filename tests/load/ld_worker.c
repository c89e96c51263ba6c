/* One kc_load process's candidates: non-blocking sockets on one epoll, a minimal WebSocket
 * client (RFC 6455: upgrade, masked text frames, fragments, PING/PONG, CLOSE) and each
 * candidate's part of the protocol (login, start, answers, heartbeats, the mass reconnect
 * with resume). Every candidate has its timers (connect, start, close, heartbeat, answer);
 * a binary heap orders candidates by their earliest one. */
#include "ld.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define SEC 1000000000ull
#define NEVER UINT64_MAX
#define PEND_MAX 16             /* answers awaiting their ack per candidate */
#define CONNECT_TRIES 3         /* before the first login, then the candidate is given up */
#define CMD_TAG UINT64_MAX      /* epoll tag of the parent's pipe */

enum { S_IDLE, S_CONNECTING, S_UPGRADING, S_LOGIN, S_WELCOMED, S_STARTING, S_ACTIVE, S_DEAD };
enum { OP_NONE, OP_START, OP_RESUME };                  /* what t_op measures */
enum { K_LOGIN = 1, K_RESUME, K_START, K_ANSWER, K_HEARTBEAT, K_FETCH };   /* low bits of request ids */
enum { F_NONE, F_ASKED, F_HAVE, F_WITHOUT };            /* the sealed paper */
enum { P_LOGIN, P_WAIT, P_RUN, P_DRAIN };

typedef struct {
    int64_t item, seq;
    uint64_t sent;
    int when;                   /* W_*: when it was sent */
} pend;

enum { W_EARLY, W_STEADY, W_LATE };   /* before the steady window; in it; from the reconnect on */

typedef struct {
    int fd;
    uint32_t gen, hpos;         /* hpos: heap position + 1, 0 when not in the heap */
    uint8_t state, tries, logged, had_paper, want_start, op, want_out, npend, dead_counted, in_started;
    uint8_t fetch, ready;       /* fetch: F_*; ready: counted in W.resolved */
    uint64_t gidx;              /* the candidate's number over all processes */
    uint32_t src;
    const ld_cand_id *id;
    char token[256], hash[72], accept[32], sealed_hash[72];
    char key[65];               /* the start's key while the sealed paper is not open yet */
    unsigned char *sealed;      /* the sealed paper's ciphertext until it is opened */
    size_t sealed_len;
    int64_t seq;
    uint64_t t_op, t_conn, t_login, t_start, t_close, t_hb, t_ans, t_fetch, due;
    ld_leaf *leaves;
    uint32_t nleaves;
    pend pend[PEND_MAX];
    unsigned char *rx, *fm, *tx;
    size_t rxn, rxcap, fmn, fmcap, txn, txoff, txcap;
    int fop;
    uint32_t req;
} cand;

static struct {
    const ld_conf *conf;
    cand *c;
    size_t n;
    uint32_t *heap;
    size_t hn;
    int ep, cmd_fd, rep_fd, phase, have_sched, counted_steady;
    ld_sched s;
    size_t resolved, pending, waiting;      /* waiting: starts and resumes awaiting their paper */
    uint64_t steady_from;                   /* NEVER until every started candidate has a paper */
    ld_report r;
    ld_leaves scratch;
    uint64_t rng, now;
    int printed;
    struct sockaddr_in dst;
} W;

static unsigned char fbuf[1 << 16];     /* one outgoing frame; our messages are small */

static uint64_t rnd(void)
{
    W.rng ^= W.rng << 13;
    W.rng ^= W.rng >> 7;
    W.rng ^= W.rng << 17;
    return W.rng;
}

/* ---- the timer heap ---- */

static uint64_t earliest(const cand *c)
{
    uint64_t t = c->t_conn;
    if (c->t_login < t) t = c->t_login;
    if (c->t_start < t) t = c->t_start;
    if (c->t_close < t) t = c->t_close;
    if (c->t_hb < t) t = c->t_hb;
    if (c->t_ans < t) t = c->t_ans;
    if (c->t_fetch < t) t = c->t_fetch;
    return t;
}

static void heap_set(size_t pos, uint32_t ci)
{
    W.heap[pos] = ci;
    W.c[ci].hpos = (uint32_t)pos + 1;
}

static void heap_up(size_t pos)
{
    uint32_t ci = W.heap[pos];
    while (pos > 0) {
        size_t up = (pos - 1) / 2;
        if (W.c[W.heap[up]].due <= W.c[ci].due) break;
        heap_set(pos, W.heap[up]);
        pos = up;
    }
    heap_set(pos, ci);
}

static void heap_down(size_t pos)
{
    uint32_t ci = W.heap[pos];
    for (;;) {
        size_t l = 2 * pos + 1, m = pos;
        uint64_t best = W.c[ci].due;
        if (l < W.hn && W.c[W.heap[l]].due < best) m = l, best = W.c[W.heap[l]].due;
        if (l + 1 < W.hn && W.c[W.heap[l + 1]].due < best) m = l + 1;
        if (m == pos) break;
        heap_set(pos, W.heap[m]);
        pos = m;
    }
    heap_set(pos, ci);
}

/* After a candidate's timers changed: its place in the heap. */
static void resched(cand *c)
{
    uint32_t ci = (uint32_t)(c - W.c);
    c->due = earliest(c);
    if (!c->hpos) {
        if (c->due == NEVER) return;
        heap_set(W.hn++, ci);
        heap_up(W.hn - 1);
        return;
    }
    size_t pos = c->hpos - 1;
    if (c->due == NEVER) {
        c->hpos = 0;
        if (pos != --W.hn) {
            uint32_t moved = W.heap[W.hn];
            heap_set(pos, moved);
            heap_up(pos);
            heap_down(W.c[moved].hpos - 1);
        }
        return;
    }
    heap_up(pos);
    heap_down(c->hpos - 1);
}

/* ---- errors ---- */

static void error_at(cand *c, const char *code, const char *detail)
{
    W.r.errors++;
    ld_err_count(W.r.err, code, 1);
    if (W.printed++ < W.conf->verbose_errors)
        fprintf(stderr, "kc_load: error: ticket %s: %s%s%s\n", c->id->ticket, code, detail && *detail ? ": " : "",
                detail ? detail : "");
}

/* ---- sending ---- */

static void want_out(cand *c, int on)
{
    if (c->want_out == on || c->fd < 0) return;
    struct epoll_event ev = {EPOLLIN | (on ? EPOLLOUT : 0), {.u64 = (uint64_t)c->gen << 32 | (uint32_t)(c - W.c)}};
    epoll_ctl(W.ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = (uint8_t)on;
}

static int tx_keep(cand *c, const unsigned char *p, size_t n)
{
    if (c->txn + n > c->txcap) {
        size_t cap = c->txcap ? c->txcap : 4096;
        while (cap < c->txn + n) cap *= 2;
        unsigned char *t = realloc(c->tx, cap);
        if (!t) return -1;
        c->tx = t;
        c->txcap = cap;
    }
    memcpy(c->tx + c->txn, p, n);
    c->txn += n;
    want_out(c, 1);
    return 0;
}

/* Writes what the socket takes now and keeps the rest for EPOLLOUT. A failed socket is
 * noticed by its EPOLLHUP / EPOLLERR. */
static void out_raw(cand *c, const unsigned char *p, size_t n)
{
    if (c->fd < 0) return;
    W.r.bytes_out += n;
    if (c->txn > c->txoff) {
        tx_keep(c, p, n);
        return;
    }
    ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) tx_keep(c, p, n);
        return;
    }
    if ((size_t)w < n) tx_keep(c, p + w, n - (size_t)w);
}

static void flush_tx(cand *c)
{
    while (c->txoff < c->txn) {
        ssize_t w = send(c->fd, c->tx + c->txoff, c->txn - c->txoff, MSG_NOSIGNAL);
        if (w <= 0) return;
        c->txoff += (size_t)w;
    }
    c->txn = c->txoff = 0;
    if (c->txcap > 16384) {
        free(c->tx);
        c->tx = NULL;
        c->txcap = 0;
    }
    want_out(c, 0);
}

static void out_frame(cand *c, int op, const void *p, size_t n)
{
    if (n + 14 > sizeof fbuf) return;
    out_raw(c, fbuf, ld_ws_frame(fbuf, op, p, n, (uint32_t)rnd()));
}

/* One request, counted in the second after the start it was sent in. */
static void request(cand *c, const char *json, int len)
{
    if (len <= 0 || (size_t)len >= 4096) {
        error_at(c, "generator", "request too long");
        return;
    }
    out_frame(c, 1, json, (size_t)len);
    W.r.sent++;
    if (W.have_sched && W.now >= W.s.start) {
        uint64_t sec = (W.now - W.s.start) / SEC;
        if (sec < LD_TIMELINE) W.r.sent_at[sec]++;
    }
}

static int64_t req_id(cand *c, int kind, int64_t n) { return (n << 3) | kind; }

static void send_login(cand *c)
{
    char m[256];
    int n = snprintf(m, sizeof m, "{\"type\":\"login\",\"id\":%lld,\"ticket\":\"%s\",\"id_number\":\"%s\"}",
                     (long long)req_id(c, K_LOGIN, ++c->req), c->id->ticket, c->id->id_number);
    request(c, m, n);
}

static void send_resume(cand *c)
{
    char m[400];
    int n = snprintf(m, sizeof m, "{\"type\":\"resume\",\"id\":%lld,\"token\":\"%s\"}",
                     (long long)req_id(c, K_RESUME, ++c->req), c->token);
    request(c, m, n);
}

static void send_fetch(cand *c)
{
    char m[80];
    int n = snprintf(m, sizeof m, "{\"type\":\"paper_fetch\",\"id\":%lld}", (long long)req_id(c, K_FETCH, ++c->req));
    c->fetch = F_ASKED;
    request(c, m, n);
}

/* Logged in, and the sealed paper is here (or will not come): ready for the start. */
static void mark_ready(cand *c)
{
    if (c->ready) return;
    c->ready = 1;
    W.resolved++;
}

static void send_start(cand *c)
{
    char m[200];
    /* The plain paper's hash once it has one (a resume), else the sealed paper's. */
    int n = c->hash[0] ? snprintf(m, sizeof m, "{\"type\":\"start\",\"id\":%lld,\"paper_hash\":\"%s\"}",
                                  (long long)req_id(c, K_START, ++c->req), c->hash)
          : c->fetch == F_HAVE ? snprintf(m, sizeof m, "{\"type\":\"start\",\"id\":%lld,\"sealed_hash\":\"%s\"}",
                                          (long long)req_id(c, K_START, ++c->req), c->sealed_hash)
                       : snprintf(m, sizeof m, "{\"type\":\"start\",\"id\":%lld}",
                                  (long long)req_id(c, K_START, ++c->req));
    if (c->op == OP_NONE && !c->had_paper) {    /* only the first start is measured */
        c->op = OP_START;
        /* The clock now, not the loop's: the whole hall's starts go out in one pass, which
         * takes a while, and each is measured from when it left. */
        c->t_op = ld_now_ns();
        W.waiting++;
    }
    if (!c->had_paper && !c->in_started) {
        c->in_started = 1;
        W.r.started++;
    }
    c->state = S_STARTING;
    c->want_start = 1;
    request(c, m, n);
}

static int send_answer(cand *c, const ld_leaf *l, int64_t seq)
{
    char resp[1024], m[1400];
    if (ld_response_json(l, c->gidx, seq, resp, sizeof resp) < 0) return -1;
    int n = snprintf(m, sizeof m, "{\"type\":\"answer\",\"id\":%lld,\"item\":%lld,\"response\":%s,\"seq\":%lld}",
                     (long long)req_id(c, K_ANSWER, seq), (long long)l->item, resp, (long long)seq);
    request(c, m, n);
    return 0;
}

static ld_leaf *leaf_of(cand *c, int64_t item)
{
    for (uint32_t i = 0; i < c->nleaves; i++)
        if (c->leaves[i].item == item) return &c->leaves[i];
    return NULL;
}

/* ---- connections ---- */

static void release(cand *c)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    free(c->rx);
    free(c->fm);
    free(c->tx);
    c->rx = c->fm = c->tx = NULL;
    c->rxn = c->rxcap = c->fmn = c->fmcap = c->txn = c->txoff = c->txcap = 0;
    c->fop = 0;
    c->want_out = 0;
}

static void op_done(cand *c);

static void give_up(cand *c)
{
    op_done(c);
    c->state = S_DEAD;
    c->t_conn = c->t_login = c->t_start = c->t_close = c->t_hb = c->t_ans = c->t_fetch = NEVER;
    if (!c->logged && !c->dead_counted) {
        c->dead_counted = 1;
        W.resolved++;
    }
    if (c->logged) mark_ready(c);
    free(c->sealed);
    c->sealed = NULL;
    W.pending -= c->npend;
    c->npend = 0;
}

/* The connection failed or the server closed it: an error, then a new try (before the
 * first login at most CONNECT_TRIES) or, once logged in, a reconnect with resume. */
static void drop(cand *c, const char *why, const char *detail)
{
    release(c);
    c->state = S_IDLE;
    c->t_hb = c->t_ans = c->t_start = c->t_login = c->t_fetch = NEVER;
    if (c->op == OP_START) op_done(c);           /* that start is not measured any more */
    error_at(c, why, detail);
    if (!c->logged) {
        if (++c->tries < CONNECT_TRIES) c->t_conn = W.now + SEC;
        else give_up(c);
    } else if (W.phase < P_DRAIN) {
        c->t_conn = W.now + SEC;          /* as a browser would: reconnect and resume */
    } else {
        give_up(c);
    }
    resched(c);
}

static void do_connect(cand *c)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        drop(c, "socket", strerror(errno));
        return;
    }
    int one = 1;
    /* The port is chosen at connect() for the whole 4-tuple, not at bind() per address. */
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(c->src)};
    c->fd = fd;
    c->gen++;
    if (c->op == OP_RESUME && !c->t_op) c->t_op = W.now;
    if (bind(fd, (struct sockaddr *)&src, sizeof src)) {
        drop(c, "bind", strerror(errno));
        return;
    }
    if (connect(fd, (struct sockaddr *)&W.dst, sizeof W.dst) && errno != EINPROGRESS) {
        drop(c, errno == ECONNREFUSED ? "connect_refused" : "connect_error", strerror(errno));
        return;
    }
    struct epoll_event ev = {EPOLLIN | EPOLLOUT, {.u64 = (uint64_t)c->gen << 32 | (uint32_t)(c - W.c)}};
    if (epoll_ctl(W.ep, EPOLL_CTL_ADD, fd, &ev)) {
        drop(c, "epoll", strerror(errno));
        return;
    }
    c->want_out = 1;
    c->state = S_CONNECTING;
}

static void send_upgrade(cand *c)
{
    unsigned char raw[16];
    char key[32], req[512];
    for (int i = 0; i < 16; i += 8) {
        uint64_t r = rnd();
        memcpy(raw + i, &r, 8);
    }
    ld_base64(raw, 16, key);
    if (ld_ws_accept(key, c->accept)) {
        drop(c, "handshake", "SHA-1 failed");
        return;
    }
    int n = snprintf(req, sizeof req,
                     "GET /ws HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: kaochang.v1\r\n\r\n",
                     W.conf->host, W.conf->port, key);
    c->state = S_UPGRADING;
    out_raw(c, (unsigned char *)req, (size_t)n);
    if (c->txn <= c->txoff) want_out(c, 0);
}

/* The value of header name in the response head (NUL-terminated), or NULL. */
static const char *header(char *head, const char *name, char *val, size_t cap)
{
    size_t nl = strlen(name);
    for (char *line = strstr(head, "\r\n"); line; line = strstr(line, "\r\n")) {
        line += 2;
        if (!strncasecmp(line, name, nl) && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ' || *v == '\t') v++;
            size_t k = strcspn(v, "\r\n");
            while (k && (v[k - 1] == ' ' || v[k - 1] == '\t')) k--;
            if (k >= cap) k = cap - 1;
            memcpy(val, v, k);
            val[k] = 0;
            return val;
        }
    }
    return NULL;
}

static void frames(cand *c);

static void on_upgrade(cand *c)
{
    unsigned char *e = memmem(c->rx, c->rxn, "\r\n\r\n", 4);
    if (!e) {
        if (c->rxn > 16384) drop(c, "handshake", "response head too long");
        return;
    }
    size_t hl = (size_t)(e - c->rx) + 4;
    char head[16385], v[128];
    if (hl - 2 >= sizeof head) {
        drop(c, "handshake", "response head too long");
        return;
    }
    memcpy(head, c->rx, hl - 2);
    head[hl - 2] = 0;
    if (strncmp(head, "HTTP/1.1 101", 12)) {
        head[strcspn(head, "\r\n")] = 0;
        drop(c, "handshake", head);
        return;
    }
    if (!header(head, "Sec-WebSocket-Accept", v, sizeof v) || strcmp(v, c->accept)) {
        drop(c, "handshake", "wrong Sec-WebSocket-Accept");
        return;
    }
    if (!header(head, "Sec-WebSocket-Protocol", v, sizeof v) || strcmp(v, "kaochang.v1")) {
        drop(c, "handshake", "no kaochang.v1 subprotocol");
        return;
    }
    memmove(c->rx, c->rx + hl, c->rxn - hl);
    c->rxn -= hl;
    c->state = S_LOGIN;
    if (c->token[0]) send_resume(c);
    else send_login(c);
    if (c->rxn) frames(c);
}

/* ---- what the server says ---- */

static void arm_heartbeat(cand *c)
{
    uint64_t every = W.conf->heartbeat_every;
    c->t_hb = W.now + ld_mix(c->gidx, 3, W.now) % every;
}

static void on_welcome(cand *c, const ld_msg *m)
{
    if (c->state != S_LOGIN) {
        error_at(c, "unexpected", "welcome");
        return;
    }
    if (!m->token[0]) {
        error_at(c, "protocol", "welcome without token");
        return;
    }
    snprintf(c->token, sizeof c->token, "%s", m->token);
    c->state = S_WELCOMED;
    c->tries = 0;
    if (!c->logged) {
        c->logged = 1;
        W.r.logged_in++;
    }
    arm_heartbeat(c);
    /* As the browser does: the paper, sealed, while waiting for the start (again after a
     * reconnect that cut the fetch short). */
    if (W.conf->seal && !c->had_paper && (c->fetch == F_NONE || c->fetch == F_ASKED)) send_fetch(c);
    else mark_ready(c);
    if (c->want_start || (W.have_sched && W.now >= W.s.start)) send_start(c);
    else if (W.have_sched) c->t_start = W.s.start;
    resched(c);
}

/* Once every candidate that started has its first paper, the start burst is over for this
 * process: its steady window opens two seconds later (at a quarter of the steady phase at
 * the earliest). */
static void burst_over(void)
{
    if (W.steady_from != NEVER || !W.r.started || W.r.papers_early < W.r.started) return;
    uint64_t from = W.now + 2 * SEC, q = W.s.start + ((W.s.reconnect - W.s.start) / 4 + SEC - 1) / SEC * SEC;
    W.steady_from = from > q ? from : q;
}

/* The measured start or resume is over (its paper came, or it cannot come any more). */
static void op_done(cand *c)
{
    if (c->op != OP_NONE) W.waiting--;
    c->op = OP_NONE;
    c->t_op = 0;
}

/* The items just read into W.scratch become the candidate's (acked seqs carry over: the
 * items are the same ones after a reload). 0, or -1 out of memory. */
static int take_leaves(cand *c)
{
    ld_leaf *v = malloc((W.scratch.n ? W.scratch.n : 1) * sizeof *v);
    if (!v) {
        error_at(c, "memory", "paper");
        return -1;
    }
    for (size_t i = 0; i < W.scratch.n; i++) {
        v[i] = W.scratch.v[i];
        ld_leaf *old = leaf_of(c, v[i].item);
        v[i].acked = old ? old->acked : 0;
    }
    free(c->leaves);
    c->leaves = v;
    c->nleaves = (uint32_t)W.scratch.n;
    return 0;
}

/* The sealed paper could not be used: counted, and the paper asked for without the seal
 * (the attempt has started or is starting: the reply carries the whole paper). */
static void without_seal(cand *c)
{
    error_at(c, "sealed", "the key did not open the sealed paper; starting without it");
    c->fetch = F_WITHOUT;
    free(c->sealed);
    c->sealed = NULL;
    c->key[0] = 0;
    c->hash[0] = 0;
    c->state = S_WELCOMED;
    send_start(c);
}

/* Opens the sealed paper with the key the start gave: decrypted, read, its items taken. The
 * start is measured to the key's arrival, which is the server's part; opening is the page's
 * own work, done by each browser on its own machine. Done here for 15,000 at one instant it
 * would be one core's work for a second on the machine the server shares, so each candidate
 * opens its paper when it first needs the items (its first answer, which is spread over the
 * answer interval, or the reconnect), and the time it took is reported on its own. 0, or -1
 * (counted; the paper is asked for again without the seal). */
static int open_sealed(cand *c)
{
    if (!c->key[0]) return 0;
    uint64_t t0 = ld_now_ns();
    unsigned char *plain = malloc(c->sealed_len + 1);
    ld_msg pm;
    memset(&pm, 0, sizeof pm);
    W.scratch.n = 0;
    if (!plain || ld_unseal(c->key, c->sealed, c->sealed_len, plain) ||
        ld_parse_paper((const char *)plain, c->sealed_len, &pm, &W.scratch) || !pm.items_seen) {
        free(plain);
        without_seal(c);
        return -1;
    }
    free(plain);
    free(c->sealed);
    c->sealed = NULL;
    c->key[0] = 0;
    if (take_leaves(c)) return -1;
    ld_hist_add(&W.r.open, (ld_now_ns() - t0) / 1000);
    return 0;
}

static void on_paper(cand *c, const ld_msg *m)
{
    if (c->state != S_STARTING) {
        error_at(c, "unexpected", "paper");
        return;
    }
    int items_seen = m->items_seen;
    if (m->sealed) {
        /* The key of the sealed paper fetched before: kept until the paper is opened. */
        if (!c->sealed || strcmp(m->hash, c->sealed_hash) || strlen(m->key) != 64) {
            without_seal(c);
            return;
        }
        memcpy(c->key, m->key, 65);
        items_seen = 0;
    }
    uint64_t us = (W.now - c->t_op) / 1000;
    if (!c->had_paper) {
        W.r.papers++;
        if (W.now < W.s.reconnect) {
            W.r.papers_early++;
            if (W.now - W.s.start > W.r.last_paper_ns) W.r.last_paper_ns = W.now - W.s.start;
            burst_over();
        }
    }
    if (c->op == OP_START) ld_hist_add(&W.r.start, us);
    else if (c->op == OP_RESUME && c->t_op) ld_hist_add(&W.r.resume, us);
    op_done(c);
    if (items_seen) {
        if (take_leaves(c)) return;
    } else if (!c->key[0] && (!m->unchanged || !c->leaves)) {
        error_at(c, "protocol", "paper without items");
    }
    if (m->hash[0]) snprintf(c->hash, sizeof c->hash, "%s", m->hash);
    if (m->last_seq > c->seq) c->seq = m->last_seq;
    c->state = S_ACTIVE;
    uint64_t every = W.conf->answer_every;
    if (!c->had_paper) {
        c->t_ans = W.s.start + ld_mix(c->gidx, 1, 2) % every;    /* its own phase */
        if (c->t_ans < W.now) c->t_ans = W.now;
    } else {
        c->t_ans = W.now + ld_mix(c->gidx, 2, W.now) % every;
    }
    c->had_paper = 1;
    /* What was sent and not acknowledged before the connection went: sent again, as the
     * browser does (the same seq is replay-safe). */
    for (int i = 0; i < c->npend; i++) {
        ld_leaf *l = leaf_of(c, c->pend[i].item);
        if (!l) continue;
        c->pend[i].sent = W.now;
        c->pend[i].when = W_LATE;
        send_answer(c, l, c->pend[i].seq);
        W.r.resent++;
    }
    resched(c);
}

static void pend_remove(cand *c, int i)
{
    c->pend[i] = c->pend[--c->npend];
    W.pending--;
}

static void on_ack(cand *c, const ld_msg *m)
{
    for (int i = 0; i < c->npend; i++) {
        if (c->pend[i].item != m->item || c->pend[i].seq != m->seq) continue;
        ld_hist_add(&W.r.ack, (W.now - c->pend[i].sent) / 1000);
        uint64_t us = (W.now - c->pend[i].sent) / 1000;
        ld_hist_add(c->pend[i].when == W_STEADY ? &W.r.ack_steady : c->pend[i].when == W_EARLY ? &W.r.ack_early
                                                                                              : &W.r.ack_late, us);
        pend_remove(c, i);
        W.r.acks++;
        if (!m->applied) {
            W.r.acks_superseded++;
            return;
        }
        W.r.acks_applied++;
        ld_leaf *l = leaf_of(c, m->item);
        if (l && m->seq > l->acked) l->acked = m->seq;
        return;
    }
    char d[64];
    snprintf(d, sizeof d, "item %lld seq %lld", (long long)m->item, (long long)m->seq);
    error_at(c, "stray_ack", d);
}

static void on_error(cand *c, const ld_msg *m)
{
    char code[48], d[160];
    snprintf(code, sizeof code, "%s", m->code[0] ? m->code : "error");
    int kind = m->has_id ? (int)(m->id & 7) : 0;
    int64_t n = m->has_id ? m->id >> 3 : 0;
    static const char *const what[] = {"", "login", "resume", "start", "answer", "heartbeat", "paper_fetch"};
    snprintf(d, sizeof d, "%s%s%s", kind >= 1 && kind <= 6 ? what[kind] : "", kind ? ": " : "", m->message);
    error_at(c, code, d);
    /* busy and internal say "retry": a login, resume or start is sent again a second later,
     * as the browser does (its time keeps counting); an answer is not (the error counts). */
    int retry = !strcmp(code, "busy") || !strcmp(code, "internal");
    switch (kind) {
    case K_ANSWER:
        for (int i = 0; i < c->npend; i++)
            if (c->pend[i].seq == n) {
                pend_remove(c, i);
                break;
            }
        break;
    case K_LOGIN:
        if (c->state == S_LOGIN && retry) {
            c->t_login = W.now + SEC;
            resched(c);
        } else if (c->state == S_LOGIN) {
            release(c);
            give_up(c);
            resched(c);
        }
        break;
    case K_RESUME:
        if (c->state == S_LOGIN && retry) {
            c->t_login = W.now + SEC;
            resched(c);
        } else if (c->state == S_LOGIN) {      /* an expired token: log in again */
            c->token[0] = 0;
            send_login(c);
        }
        break;
    case K_FETCH:
        if (c->fetch != F_ASKED) break;
        if (retry) {
            c->t_fetch = W.now + SEC;
            resched(c);
        } else {                                 /* e.g. a server without paper_fetch */
            c->fetch = F_WITHOUT;
            mark_ready(c);
        }
        break;
    case K_START:
        if (c->state == S_STARTING && retry) {
            c->state = S_WELCOMED;
            c->t_start = W.now + SEC;
            resched(c);
        } else if (c->state == S_STARTING) {
            c->state = c->had_paper ? S_ACTIVE : S_WELCOMED;
            if (!c->had_paper && c->in_started) {    /* no paper to wait for: the burst ends without it */
                c->in_started = 0;
                W.r.started--;
                burst_over();
            }
            op_done(c);
        }
        break;
    default:
        break;
    }
}

static void on_message(cand *c, const unsigned char *p, size_t n)
{
    ld_msg m;
    W.r.recv++;
    W.scratch.n = 0;
    if (ld_parse_msg((const char *)p, n, &m, &W.scratch)) {
        char d[80];
        snprintf(d, sizeof d, "%.*s", (int)(n < 60 ? n : 60), (const char *)p);
        error_at(c, "bad_json", d);
        return;
    }
    switch (m.kind) {
    case LD_M_WELCOME: on_welcome(c, &m); break;
    case LD_M_PAPER: on_paper(c, &m); break;
    case LD_M_ACK: on_ack(c, &m); break;
    case LD_M_TIME: W.r.times++; break;
    case LD_M_ERROR: on_error(c, &m); break;
    default: error_at(c, "unexpected", m.type[0] ? m.type : "(no type)"); break;
    }
}

/* A binary message: the sealed paper asked for after login. */
static void on_binary(cand *c, const unsigned char *p, size_t n)
{
    W.r.recv++;
    size_t head = sizeof LD_SEAL_MAGIC - 1 + 64;
    if (c->fetch != F_ASKED || n <= head || memcmp(p, LD_SEAL_MAGIC, sizeof LD_SEAL_MAGIC - 1)) {
        error_at(c, "protocol", "unexpected binary message");
        return;
    }
    free(c->sealed);
    if (!(c->sealed = malloc(n - head))) {
        error_at(c, "memory", "sealed paper");
        return;
    }
    memcpy(c->sealed, p + head, n - head);
    c->sealed_len = n - head;
    memcpy(c->sealed_hash, p + sizeof LD_SEAL_MAGIC - 1, 64);
    c->sealed_hash[64] = 0;
    if (c->fetch != F_HAVE && !c->ready) {      /* once per candidate, even when fetched again */
        W.r.sealed++;
        W.r.sealed_bytes += n;
    }
    c->fetch = F_HAVE;
    mark_ready(c);
}

static int fm_add(cand *c, const unsigned char *p, size_t n)
{
    if (c->fmn + n > c->fmcap) {
        size_t cap = c->fmcap ? c->fmcap : 8192;
        while (cap < c->fmn + n) cap *= 2;
        unsigned char *t = realloc(c->fm, cap);
        if (!t) return -1;
        c->fm = t;
        c->fmcap = cap;
    }
    memcpy(c->fm + c->fmn, p, n);
    c->fmn += n;
    return 0;
}

/* Every complete frame in rx. A handler may drop the connection (c->fd < 0): then rx is
 * gone and nothing more is read. */
static void frames(cand *c)
{
    size_t off = 0;
    while (c->fd >= 0) {
        int fin, op;
        size_t h;
        uint64_t plen;
        int r = ld_ws_header(c->rx + off, c->rxn - off, &fin, &op, &h, &plen);
        if (r == 1 || (r == 0 && c->rxn - off < h + plen)) break;
        if (r < 0) {
            drop(c, "protocol", "malformed frame");
            return;
        }
        unsigned char *p = c->rx + off + h;
        off += h + (size_t)plen;
        if (op == 9) {
            W.r.pings++;
            out_frame(c, 10, p, (size_t)plen);      /* PONG with the PING's payload */
        } else if (op == 10) {
            /* an unsolicited PONG needs nothing */
        } else if (op == 8) {
            char d[160];
            int code = plen >= 2 ? p[0] << 8 | p[1] : 0;
            snprintf(d, sizeof d, "close %d %.*s", code, (int)(plen > 2 ? (plen - 2 < 100 ? plen - 2 : 100) : 0),
                     (const char *)p + 2);
            out_frame(c, 8, p, plen >= 2 ? 2 : 0);     /* the CLOSE answered with its status */
            char why[40];
            snprintf(why, sizeof why, "closed_by_server_%d", code);
            drop(c, why, d);
            return;
        } else if (op == 0) {
            if (!c->fop) {
                drop(c, "protocol", "continuation without a message");
                return;
            }
            if (fm_add(c, p, (size_t)plen)) {
                drop(c, "memory", "fragments");
                return;
            }
            if (fin) {
                int text = c->fop == 1;
                c->fop = 0;
                if (!text) on_binary(c, c->fm, c->fmn);
                else on_message(c, c->fm, c->fmn);
                if (c->fd < 0) return;
                c->fmn = 0;
                if (c->fmcap > 16384) {
                    free(c->fm);
                    c->fm = NULL;
                    c->fmcap = 0;
                }
            }
        } else {
            if (c->fop) {
                drop(c, "protocol", "new message inside a fragmented one");
                return;
            }
            if (fin && op == 2) {
                on_binary(c, p, (size_t)plen);
                if (c->fd < 0) return;
            } else if (fin) {
                on_message(c, p, (size_t)plen);
                if (c->fd < 0) return;
            } else {
                c->fop = op;
                c->fmn = 0;
                if (fm_add(c, p, (size_t)plen)) {
                    drop(c, "memory", "fragments");
                    return;
                }
            }
        }
    }
    if (c->fd < 0) return;
    if (off) memmove(c->rx, c->rx + off, c->rxn - off);
    c->rxn -= off;
    if (!c->rxn && c->rxcap > 16384) {      /* a paper's buffer is not kept for acks */
        free(c->rx);
        c->rx = NULL;
        c->rxcap = 0;
    }
}

static void on_readable(cand *c)
{
    for (int rounds = 0; rounds < 64 && c->fd >= 0; rounds++) {
        if (c->rxcap - c->rxn < 4096) {
            size_t cap = c->rxcap ? c->rxcap * 2 : 8192;
            unsigned char *t = realloc(c->rx, cap);
            if (!t) {
                drop(c, "memory", "receive buffer");
                return;
            }
            c->rx = t;
            c->rxcap = cap;
        }
        ssize_t r = recv(c->fd, c->rx + c->rxn, c->rxcap - c->rxn, 0);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (r <= 0) {
            drop(c, r == 0 ? "closed_eof" : errno == ECONNRESET ? "closed_reset" : "closed_error",
                 r < 0 ? strerror(errno) : "the connection ended without a CLOSE frame");
            return;
        }
        c->rxn += (size_t)r;
        W.r.bytes_in += (uint64_t)r;
        if (c->state == S_UPGRADING) on_upgrade(c);
        else frames(c);
    }
}

static void on_event(uint64_t tag, uint32_t ev)
{
    uint32_t ci = (uint32_t)tag;
    if (ci >= W.n) return;
    cand *c = &W.c[ci];
    if (c->fd < 0 || c->gen != (uint32_t)(tag >> 32)) return;    /* an older socket's event */
    if (c->state == S_CONNECTING) {
        int err = 0;
        socklen_t l = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) || err) {
            int e = err ? err : errno;
            drop(c, e == ECONNREFUSED ? "connect_refused" : e == ETIMEDOUT ? "connect_timeout"
                    : e == ECONNRESET ? "connect_reset" : "connect_error", strerror(e));
            return;
        }
        if (!(ev & EPOLLOUT)) return;
        send_upgrade(c);
        return;
    }
    if (ev & EPOLLOUT) flush_tx(c);
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c);
}

/* ---- timers ---- */

static void do_close_for_reconnect(cand *c)
{
    if (c->fd < 0 || c->state < S_LOGIN) return;
    if (c->state == S_ACTIVE) open_sealed(c);      /* every key is tried before the reload */
    unsigned char st[2] = {1001 >> 8, 1001 & 255};      /* going away, as a reload */
    out_frame(c, 8, st, 2);
    release(c);
    c->state = S_IDLE;
    c->t_hb = c->t_ans = c->t_start = c->t_login = c->t_fetch = NEVER;
    if (c->op == OP_START) {
        /* no paper during the whole steady phase: an error, and a lower bound in the histogram */
        ld_hist_add(&W.r.start, (W.now - c->t_op) / 1000);
        W.r.unfinished++;
        error_at(c, "no_paper", "start, before the reconnect");
    }
    op_done(c);
    c->op = OP_RESUME;
    c->t_op = 0;
    W.waiting++;
    c->t_conn = W.s.reconnect + W.s.close_spread + ld_mix(c->gidx, 5, 0) % (W.s.reopen_spread ? W.s.reopen_spread : 1);
    if (c->t_conn < W.now) c->t_conn = W.now;
}

static void on_answer_timer(cand *c)
{
    uint64_t every = W.conf->answer_every;
    if (c->state == S_ACTIVE && open_sealed(c)) return;
    if (c->state != S_ACTIVE || !c->nleaves || (W.have_sched && W.now >= W.s.end)) {
        c->t_ans = NEVER;
        return;
    }
    c->t_ans += every;
    if (c->t_ans <= W.now) c->t_ans = W.now + every;
    if (c->npend >= PEND_MAX) {
        W.r.backlog_skips++;
        return;
    }
    int64_t seq = c->seq + 1;
    ld_leaf *l = &c->leaves[ld_mix(c->gidx, (uint64_t)seq, 7) % c->nleaves];
    if (send_answer(c, l, seq)) return;
    c->seq = seq;
    c->pend[c->npend++] = (pend){l->item, seq, W.now,
                                 W.now >= W.s.reconnect ? W_LATE : W.now >= W.steady_from ? W_STEADY : W_EARLY};
    W.pending++;
    W.r.answers++;
}

static void on_heartbeat_timer(cand *c)
{
    uint64_t every = W.conf->heartbeat_every;
    if (c->state < S_WELCOMED || c->state == S_DEAD || (W.have_sched && W.now >= W.s.end)) {
        c->t_hb = NEVER;
        return;
    }
    char m[96];
    int n = snprintf(m, sizeof m, "{\"type\":\"heartbeat\",\"id\":%lld,\"events\":[]}",
                     (long long)req_id(c, K_HEARTBEAT, ++c->req));
    request(c, m, n);
    W.r.heartbeats++;
    c->t_hb += every;
    if (c->t_hb <= W.now) c->t_hb = W.now + every;
}

static void fire(cand *c)
{
    uint64_t now = W.now;
    if (c->t_close <= now) {
        c->t_close = NEVER;
        do_close_for_reconnect(c);
    }
    if (c->t_conn <= now) {
        c->t_conn = NEVER;
        do_connect(c);
    }
    if (c->t_login <= now) {
        c->t_login = NEVER;
        if (c->state == S_LOGIN) {
            if (c->token[0]) send_resume(c);
            else send_login(c);
        }
    }
    if (c->t_start <= now) {
        c->t_start = NEVER;
        if (c->state == S_WELCOMED) send_start(c);
    }
    if (c->t_fetch <= now) {
        c->t_fetch = NEVER;
        if (c->fetch == F_ASKED && c->state == S_WELCOMED) send_fetch(c);
    }
    if (c->t_hb <= now) on_heartbeat_timer(c);
    if (c->t_ans <= now) on_answer_timer(c);
    resched(c);
}

/* A pass of the loop since W.now, over due timers or ready events: how long this process
 * kept replies waiting in its sockets. A long pass delays the next read, and that delay is
 * in every latency measured after it; the longest between the start and the reconnect is
 * reported. */
static void note_pass(void)
{
    uint64_t pass = ld_now_ns() - W.now;
    if (W.have_sched && W.now >= W.s.start && W.now < W.s.reconnect && pass > W.r.longest_pass_ns)
        W.r.longest_pass_ns = pass;
}

/* ---- the parent's pipes ---- */

static int write_all(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_sched(void)
{
    size_t got = 0;
    char *p = (char *)&W.s;
    while (got < sizeof W.s) {
        ssize_t r = read(W.cmd_fd, p + got, sizeof W.s - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    W.have_sched = 1;
    W.phase = P_RUN;
    for (size_t i = 0; i < W.n; i++) {
        cand *c = &W.c[i];
        if (c->state == S_DEAD) continue;
        if (c->state == S_WELCOMED) c->t_start = W.s.start;
        c->t_close = W.s.reconnect + ld_mix(c->gidx, 4, 0) % (W.s.close_spread ? W.s.close_spread : 1);
        resched(c);
    }
    return 0;
}

static int write_acked(void)
{
    FILE *f = fopen(W.conf->acked_path, "w");
    if (!f) {
        fprintf(stderr, "kc_load: %s: %s\n", W.conf->acked_path, strerror(errno));
        return -1;
    }
    char resp[1024];
    for (size_t i = 0; i < W.n; i++) {
        cand *c = &W.c[i];
        for (uint32_t k = 0; k < c->nleaves; k++) {
            ld_leaf *l = &c->leaves[k];
            if (l->acked <= 0 || ld_response_stored(l, c->gidx, l->acked, resp, sizeof resp) < 0) continue;
            fprintf(f, "%s\t%lld\t%lld\t%s\n", c->id->ticket, (long long)l->item, (long long)l->acked, resp);
        }
    }
    if (fclose(f)) {
        fprintf(stderr, "kc_load: %s: %s\n", W.conf->acked_path, strerror(errno));
        return -1;
    }
    return 0;
}

int ld_worker_run(const ld_conf *conf, const ld_cand_id *ids, size_t n, uint64_t first, int cmd_fd, int report_fd)
{
    memset(&W, 0, sizeof W);
    W.conf = conf;
    W.n = n;
    W.cmd_fd = cmd_fd;
    W.rep_fd = report_fd;
    W.rng = ld_mix(first, n, (uint64_t)getpid()) | 1;
    W.steady_from = NEVER;
    W.c = calloc(n ? n : 1, sizeof *W.c);
    W.heap = calloc(n ? n : 1, sizeof *W.heap);
    W.ep = epoll_create1(EPOLL_CLOEXEC);
    if (!W.c || !W.heap || W.ep < 0) {
        fprintf(stderr, "kc_load: worker: out of memory or no epoll\n");
        return 1;
    }
    W.dst.sin_family = AF_INET;
    W.dst.sin_port = htons((uint16_t)conf->port);
    if (inet_pton(AF_INET, conf->host, &W.dst.sin_addr) != 1) {
        fprintf(stderr, "kc_load: %s: not an IPv4 address\n", conf->host);
        return 1;
    }
    struct epoll_event cev = {EPOLLIN, {.u64 = CMD_TAG}};
    epoll_ctl(W.ep, EPOLL_CTL_ADD, cmd_fd, &cev);
    W.r.candidates = n;

    /* The ramp: this process's share of the connection rate. */
    W.now = ld_now_ns();
    uint64_t step = (uint64_t)(1e9 / (conf->ramp > 1 ? conf->ramp : 1));
    for (size_t i = 0; i < n; i++) {
        cand *c = &W.c[i];
        c->fd = -1;
        c->id = &ids[i];
        c->gidx = first + i;
        /* at most per_addr connections per source address: 127.0.0.2, .3, ... */
        uint32_t a = conf->src_first + (uint32_t)((first + i) / (uint64_t)conf->per_addr);
        c->src = a;
        c->t_conn = W.now + i * step;
        c->t_login = c->t_start = c->t_close = c->t_hb = c->t_ans = c->t_fetch = NEVER;
        resched(c);
    }

    struct epoll_event evs[512];
    int rc = 0;
    uint64_t drain_until = 0;
    for (;;) {
        W.now = ld_now_ns();
        if (W.now >= conf->hard_deadline) {
            fprintf(stderr, "kc_load: worker: the hard time limit passed; stopping\n");
            rc = 1;
            break;
        }
        if (W.have_sched && !W.counted_steady && W.now >= W.s.reconnect) {
            W.counted_steady = 1;
            for (size_t i = 0; i < n; i++) W.r.connections += W.c[i].fd >= 0 && W.c[i].state >= S_WELCOMED;
        }
        while (W.hn && W.c[W.heap[0]].due <= W.now) fire(&W.c[W.heap[0]]);
        note_pass();                              /* timers: a pass too (the hall's starts) */
        if (W.phase == P_LOGIN && W.resolved >= n) {
            ld_ready rd = {LD_P_READY, (uint32_t)W.r.logged_in, (uint32_t)(n - W.r.logged_in), (uint32_t)W.r.sealed};
            if (write_all(report_fd, &rd, sizeof rd)) return 1;
            W.phase = P_WAIT;
        }
        if (W.phase == P_RUN && W.now >= W.s.end) {
            W.phase = P_DRAIN;
            drain_until = W.s.end + W.s.drain;
        }
        if (W.phase == P_DRAIN && ((W.pending == 0 && W.waiting == 0) || W.now >= drain_until)) break;
        uint64_t wait_ns = 100000000;       /* phases are checked at least every 100 ms */
        if (W.hn) {
            uint64_t d = W.c[W.heap[0]].due;
            wait_ns = d <= W.now ? 0 : d - W.now < wait_ns ? d - W.now : wait_ns;
        }
        int k = epoll_wait(W.ep, evs, 512, (int)((wait_ns + 999999) / 1000000));
        if (k < 0 && errno != EINTR) {
            perror("kc_load: epoll_wait");
            rc = 1;
            break;
        }
        W.now = ld_now_ns();
        for (int i = 0; i < k; i++) {
            if (evs[i].data.u64 == CMD_TAG) {
                if (W.have_sched || read_sched()) {
                    fprintf(stderr, "kc_load: worker: the parent is gone\n");
                    return 1;
                }
                continue;
            }
            on_event(evs[i].data.u64, evs[i].events);
        }
        note_pass();
    }

    /* Answers never acknowledged and papers never received are errors (the time waited
     * so far goes into the histogram: its percentiles are then lower bounds); then every
     * connection is closed cleanly. */
    for (size_t i = 0; i < n; i++) {
        cand *c = &W.c[i];
        if (c->op != OP_NONE) {
            if (c->op == OP_START) ld_hist_add(&W.r.start, (W.now - c->t_op) / 1000);
            else if (c->t_op) ld_hist_add(&W.r.resume, (W.now - c->t_op) / 1000);
            W.r.unfinished++;
            error_at(c, "no_paper", c->op == OP_START ? "start" : "resume");
            op_done(c);
        }
        if (c->npend) {
            char d[64];
            snprintf(d, sizeof d, "%d answer(s), first seq %lld", c->npend, (long long)c->pend[0].seq);
            W.r.errors += c->npend - 1u;
            ld_err_count(W.r.err, "no_ack", c->npend - 1u);
            error_at(c, "no_ack", d);
        }
        if (c->fd >= 0) {
            unsigned char st[2] = {1000 >> 8, 1000 & 255};
            out_frame(c, 8, st, 2);
            release(c);
        }
    }
    if (write_acked()) rc = 1;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    W.r.cpu_us = (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
                 (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
    uint32_t kind = LD_P_REPORT;
    if (write_all(report_fd, &kind, sizeof kind) || write_all(report_fd, &W.r, sizeof W.r)) return 1;
    for (size_t i = 0; i < n; i++) free(W.c[i].leaves);
    free(W.c);
    free(W.heap);
    free(W.scratch.v);
    close(W.ep);
    return rc;
}

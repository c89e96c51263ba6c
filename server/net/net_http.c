/* HTTP on the service thread: /healthz (minimal, for load balancers), /metrics (the
 * counters, for trusted addresses), POST /api/bank/import (the body collected here, parsed
 * and stored on a staff worker) and GET /media/<sha256> (the signed link checked here, the
 * bytes from the media cache or read on a media worker). Imports are named by (slot,
 * generation) handles like WebSocket connections, media reads by theirs. */
#include "net_int.h"
#include "../staff/staff.h"
#include "../media/media.h"
#include "../exam/exam.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void media_unwait(struct http_pss *p);

static void http_release(struct http_pss *p)
{
    if (p->import && net__S.https[p->slot].p == p) {
        net__S.https[p->slot].wsi = NULL;
        net__S.https[p->slot].p = NULL;
        net__S.https[p->slot].gen++;
    }
    if (p->uploading) {
        p->uploading = 0;
        net__S.uploading--;
    }
    media_unwait(p);
    if (p->blob) {                 /* out points into the blob's bytes */
        net_mblob_unref(p->blob);
        p->blob = NULL;
        p->out = NULL;
    }
    free(p->in);
    free(p->out);
    p->in = p->out = NULL;
    p->import = 0;
}

static void reply_reset(struct http_pss *p)
{
    if (p->blob) {
        net_mblob_unref(p->blob);
        p->blob = NULL;
        p->out = NULL;
    }
    free(p->out);
    p->out = NULL;
    p->out_len = p->out_off = 0;
    p->headers_sent = 0;
    p->import = 3;
}

/* Answers at once (an error found before the body is read) or when the job is done. */
static void http_reply_n(struct lws *wsi, struct http_pss *p, int status, char *body, size_t len)
{
    reply_reset(p);
    p->status = status;
    p->out = body;
    p->out_len = len;
    lws_callback_on_writable(wsi);
}

static void http_reply(struct lws *wsi, struct http_pss *p, int status, char *json)
{
    http_reply_n(wsi, p, status, json, json ? strlen(json) : 0);
}

static void http_refuse(struct lws *wsi, struct http_pss *p, int status, const char *code,
                        const char *msg)
{
    p->refused = 1;
    p->retry_after = status == 503 ? 1 : 0;    /* busy for a moment, not for good */
    http_reply(wsi, p, status, srv_msg_error_json(-1, code, NULL, msg));
}

static int http_slot(void)
{
    for (int i = 0; i < HTTP_IMPORTS_MAX; i++)
        if (!net__S.https[i].wsi) return i;
    return -1;
}

/* ---- POST /api/bank/import ---- */

/* The slot (and its handle) is taken only when the body is complete and the job queued,
 * so uploads still arriving hold nothing. */
static int import_begin(struct lws *wsi, struct http_pss *p, const char *uri)
{
    p->import = 1;
    if (strcmp(uri, "/api/bank/import")) {
        http_refuse(wsi, p, 404, "not_found", "no such endpoint; POST /api/bank/import");
        return 0;
    }
    if (net__S.stopping) {
        http_refuse(wsi, p, 503, "busy", "the server is restarting; retry in a moment");
        return 0;
    }
    char auth[300] = "", arg[160];
    uint64_t sid;
    unsigned roles;
    if (lws_hdr_copy(wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION) <= 7 ||
        strncmp(auth, "Bearer ", 7) ||
        staff_token_check(net__S.staff_key, auth + 7, kc_now_ms(), &sid, &roles)) {
        http_refuse(wsi, p, 401, "bad_token", "send a valid staff token: Authorization: Bearer TOKEN");
        return 0;
    }
    if (!(roles & (SRV_ROLE_AUTHOR | SRV_ROLE_ADMIN))) {
        http_refuse(wsi, p, 403, "forbidden", "your roles do not allow imports");
        return 0;
    }
    const char *v = lws_get_urlarg_by_name(wsi, "format=", arg, sizeof arg);
    snprintf(p->format, sizeof p->format, "%s", v ? v : "");
    v = lws_get_urlarg_by_name(wsi, "dry_run=", arg, sizeof arg);
    p->dry_run = v && strcmp(v, "0") && strcmp(v, "false");
    v = lws_get_urlarg_by_name(wsi, "name=", arg, sizeof arg);
    snprintf(p->name, sizeof p->name, "%s", v && *v ? v : "upload");
    char cl[32] = "";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0 ||
        lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0) {
        http_refuse(wsi, p, 411, "length_required", "send the file as the body with a Content-Length");
        return 0;
    }
    if (strtoull(cl, NULL, 10) > IMPORT_BYTES_MAX) {
        http_refuse(wsi, p, 413, "too_large", "the file is larger than 64 MiB");
        return 0;
    }
    if (net__S.uploading >= UPLOADS_MAX) {
        http_refuse(wsi, p, 503, "busy", "too many uploads at once; retry in a moment");
        return 0;
    }
    p->uploading = 1;
    net__S.uploading++;
    p->staff_id = sid;
    p->roles = roles;
    return 0;
}

static int import_body(struct http_pss *p, const void *in, size_t len)
{
    if (p->refused || p->over || !len) return 0;   /* an empty body arrives as (NULL, 0) */
    if (p->in_len + len > IMPORT_BYTES_MAX) {
        p->over = 1;
        return 0;
    }
    if (p->in_len + len + 1 > p->in_cap) {
        size_t cap = p->in_cap ? p->in_cap : 65536;
        while (cap < p->in_len + len + 1) cap *= 2;
        char *b = realloc(p->in, cap);
        if (!b) { p->over = 1; return 0; }
        p->in = b;
        p->in_cap = cap;
    }
    memcpy(p->in + p->in_len, in, len);
    p->in_len += len;
    p->in[p->in_len] = 0;
    return 0;
}

static void import_queue(struct lws *wsi, struct http_pss *p)
{
    if (p->refused) return;
    if (p->uploading) {
        p->uploading = 0;
        net__S.uploading--;
    }
    if (p->over) {
        http_refuse(wsi, p, 413, "too_large", "the file is larger than 64 MiB");
        return;
    }
    int slot = http_slot();
    /* An import holds a staff worker for seconds: it counts as a heavy job. */
    if (net_pools_full(net__S.pools, SRV_POOL_STAFF) || slot < 0 || net__S.heavy_running >= net__S.cfg->staff_heavy) {
        http_refuse(wsi, p, 503, "busy", net__S.heavy_running >= net__S.cfg->staff_heavy
                    ? "another import is being processed; retry in a moment"
                    : "the server is busy; retry in a moment");
        return;
    }
    srv_job *j = net__job_new(SRV_JOB_IMPORT, ((uint64_t)slot << 32) | net__S.https[slot].gen, -1);
    if (!j) {
        http_refuse(wsi, p, 500, "internal", "out of memory");
        return;
    }
    p->slot = (uint32_t)slot;
    net__S.https[slot].wsi = wsi;
    net__S.https[slot].p = p;
    j->http = 1;
    j->staff_id = p->staff_id;
    j->roles = p->roles;
    snprintf(j->format, sizeof j->format, "%s", p->format);
    snprintf(j->m.uid, sizeof j->m.uid, "%.64s", p->name);
    j->m.dry_run = p->dry_run;
    j->text = p->in ? p->in : calloc(1, 1);
    j->text_len = p->in_len;
    p->in = NULL;
    p->in_len = p->in_cap = 0;
    if (net__enqueue(j)) {
        srv_job_free(j);
        net__S.https[slot].wsi = NULL;
        net__S.https[slot].p = NULL;
        http_refuse(wsi, p, 503, "busy", "the server is busy; retry in a moment");
        return;
    }
    net__S.heavy_running++;
    p->import = 2;
}

/* ---- GET /media/<sha256>?e=EXPIRY&s=SIGNATURE ----
 * The signature is checked here (an HMAC: cheap). A cached object is answered at once.
 * Otherwise the request joins the read of its sha if one is under way, or starts one on the
 * media pool; when the pool (or the reads table) is full it waits in S.mwait, in arrival
 * order, and reads start from there as reads finish. Only past pools.media_wait waiting
 * requests is the answer 503: an <img> does not retry. Invariant: a request waits in
 * S.mwait only while some read is under way, whose end starts the next. */

int net__http_start(const srv_config *cfg)
{
    if (net_mcache_new((size_t)cfg->media_cache_mb << 20, &net__S.mcache)) {
        KC_ERROR("server", "out of memory for the media cache");
        return -1;
    }
    /* A read is queued or running on the media pool: never more than both together. */
    long n = (long)cfg->pools[SRV_POOL_MEDIA].queue + cfg->pools[SRV_POOL_MEDIA].workers;
    net__S.nmreads = n > MEDIA_READS_MAX ? MEDIA_READS_MAX : (int)n;
    net__S.mreads = calloc((size_t)net__S.nmreads, sizeof *net__S.mreads);
    net__S.mreads_free = calloc((size_t)net__S.nmreads, sizeof *net__S.mreads_free);
    if (!net__S.mreads || !net__S.mreads_free || kc_map_init(&net__S.mreads_by_sha, (size_t)net__S.nmreads)) {
        KC_ERROR("server", "out of memory for %d media reads", net__S.nmreads);
        return -1;
    }
    for (int i = net__S.nmreads - 1; i >= 0; i--) net__S.mreads_free[net__S.nmreads_free++] = (uint32_t)i;
    return 0;
}

void net__http_end(void)
{
    net_mcache_free(net__S.mcache);
    net__S.mcache = NULL;
    free(net__S.mreads);
    free(net__S.mreads_free);
    net__S.mreads = NULL;
    net__S.mreads_free = NULL;
    kc_map_free(&net__S.mreads_by_sha);
}

/* The key of a sha in mreads_by_sha: its first 16 hex digits, never 0. Two shas with the
 * same key do not share a read (the second is not in the map), they only both get one. */
static uint64_t sha_key(const char *sha)
{
    uint64_t k = 0;
    for (int i = 0; i < 16; i++) k = k << 4 | (uint64_t)(sha[i] <= '9' ? sha[i] - '0' : sha[i] - 'a' + 10);
    return k ? k : 1;
}

static struct mread *read_find(const char *sha)
{
    uint64_t idx;
    if (!kc_map_get(&net__S.mreads_by_sha, sha_key(sha), &idx)) return NULL;
    struct mread *r = &net__S.mreads[idx];
    return r->busy && !strcmp(r->sha, sha) ? r : NULL;
}

static void list_push(struct http_pss **head, struct http_pss **tail, struct http_pss *p)
{
    p->mnext = NULL;
    p->mprev = *tail;
    if (*tail) (*tail)->mnext = p; else *head = p;
    *tail = p;
}

static void list_unlink(struct http_pss **head, struct http_pss **tail, struct http_pss *p)
{
    if (p->mprev) p->mprev->mnext = p->mnext; else *head = p->mnext;
    if (p->mnext) p->mnext->mprev = p->mprev; else *tail = p->mprev;
    p->mprev = p->mnext = NULL;
}

/* The request goes away (its client left, or it is answered): out of the list it is in. */
static void media_unwait(struct http_pss *p)
{
    if (p->mwait == MEDIA_WAITING) {
        list_unlink(&net__S.mwait_head, &net__S.mwait_tail, p);
        net__S.mwait_n--;
    } else if (p->mwait == MEDIA_READING) {
        struct mread *r = &net__S.mreads[p->mread];
        list_unlink(&r->head, &r->tail, p);     /* the read goes on: the cache still wants it */
    }
    p->mwait = 0;
}

static void join_read(struct http_pss *p, struct mread *r)
{
    p->mwait = MEDIA_READING;
    p->mread = (int)(r - net__S.mreads);
    list_push(&r->head, &r->tail, p);
    p->import = 2;
}

/* A read of p's sha on the media pool, with p its first waiter. 0, or KC_EBUSY (no free
 * read, the pool's queue is full or stopping) / KC_ENOMEM, p untouched. */
static int read_start(struct http_pss *p)
{
    if (!net__S.nmreads_free) return KC_EBUSY;
    uint32_t idx = net__S.mreads_free[net__S.nmreads_free - 1];
    struct mread *r = &net__S.mreads[idx];
    srv_job *j = net__job_new(SRV_JOB_MEDIA, ((uint64_t)idx << 32) | r->gen, -1);
    if (!j) return KC_ENOMEM;
    j->http = 1;
    snprintf(j->m.uid, sizeof j->m.uid, "%s", p->sha);
    if (net__enqueue(j)) {
        srv_job_free(j);
        return KC_EBUSY;
    }
    net__S.nmreads_free--;
    r->busy = 1;
    r->head = r->tail = NULL;
    memcpy(r->sha, p->sha, sizeof r->sha);
    uint64_t have;
    if (!kc_map_get(&net__S.mreads_by_sha, sha_key(p->sha), &have))
        kc_map_put(&net__S.mreads_by_sha, sha_key(p->sha), idx);   /* else: a read of its own, unshared */
    net__S.mreads_busy++;
    net__S.mstats.reads++;
    join_read(p, r);
    return 0;
}

/* 200 with the blob's bytes, cached by the browser until the link expires. */
static void media_send(struct http_pss *p, net_mblob *b)
{
    reply_reset(p);
    net_mblob_ref(b);
    p->blob = b;
    p->status = 200;
    p->out = b->data;
    p->out_len = b->len;
    lws_callback_on_writable(p->wsi);
}

static void media_busy(struct http_pss *p)
{
    net__S.mstats.busy++;
    http_refuse(p->wsi, p, 503, "busy", net__S.stopping ? "the server is restarting; retry in a moment"
                                                         : "too many downloads at once; retry in a moment");
}

/* From the cache, or by joining the read of its sha under way, or (may_start) by starting
 * one: 0, answered or waiting on a read; KC_EBUSY, p untouched, when none of these. */
static int media_try(struct http_pss *p, int may_start)
{
    net_mblob *b = net_mcache_get(net__S.mcache, p->sha);
    if (b) {
        net__S.mstats.hits++;
        media_send(p, b);
        net_mblob_unref(b);
        return 0;
    }
    struct mread *r = read_find(p->sha);
    if (r) {
        net__S.mstats.coalesced++;
        join_read(p, r);
        return 0;
    }
    if (!may_start) return KC_EBUSY;
    int rc = read_start(p);
    if (rc == KC_ENOMEM) {
        http_refuse(p->wsi, p, 500, "internal", "out of memory");
        return 0;
    }
    return rc;
}

static void wait_push(struct http_pss *p, int front)
{
    if (front && net__S.mwait_head) {
        p->mprev = NULL;
        p->mnext = net__S.mwait_head;
        net__S.mwait_head->mprev = p;
        net__S.mwait_head = p;
    } else {
        list_push(&net__S.mwait_head, &net__S.mwait_tail, p);
    }
    p->mwait = MEDIA_WAITING;
    p->import = 2;
    net__S.mwait_n++;
}

/* A read ended: the waiting requests, oldest first, as far as reads can start. */
static void media_pump(void)
{
    struct http_pss *p;
    while ((p = net__S.mwait_head)) {
        media_unwait(p);
        if (net__S.stopping) {
            media_busy(p);
        } else if (media_try(p, 1)) {
            if (net__S.mreads_busy) {        /* the next read to end tries again */
                wait_push(p, 1);
                return;
            }
            media_busy(p);                   /* nothing under way would start it */
        }
    }
}

static int media_begin(struct lws *wsi, struct http_pss *p, const char *uri)
{
    char e[32], sig[80];
    const char *ev = lws_get_urlarg_by_name(wsi, "e=", e, sizeof e);
    const char *sv = lws_get_urlarg_by_name(wsi, "s=", sig, sizeof sig);
    p->media = 1;
    p->import = 3;                       /* a reply of its own, until it waits */
    p->wsi = wsi;
    if (media_check(net__S.media_key, uri + 7, ev, sv, kc_now_ms())) {
        http_refuse(wsi, p, 403, "forbidden", "the media link is invalid or expired; reload the page");
        return 0;
    }
    net__S.mstats.requests++;
    memcpy(p->sha, uri + 7, 65);         /* media_check: exactly 64 hex digits */
    p->expires_ms = strtoll(ev, NULL, 10);
    if (net__S.stopping) {
        media_busy(p);
        return 0;
    }
    /* Nobody overtakes a waiting request, but the cache and a read under way cost nothing. */
    if (media_try(p, !net__S.mwait_head)) {
        if (net__S.mwait_n >= net__S.cfg->media_wait || !net__S.mreads_busy) {
            media_busy(p);
            return 0;
        }
        wait_push(p, 0);
        net__S.mstats.waited++;
    }
    /* lws gives a request 5 s (timeout_secs) from its headers to its reply: a wait in line
     * or on a read may be longer. */
    if (p->import == 2) lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, MEDIA_WAIT_S);
    return 0;
}

static void media_done(srv_job *j)
{
    uint32_t idx = (uint32_t)(j->conn >> 32);
    if (idx >= (uint32_t)net__S.nmreads) return;
    struct mread *r = &net__S.mreads[idx];
    if (!r->busy || r->gen != (uint32_t)j->conn) return;
    struct http_pss *w = r->head;
    r->head = r->tail = NULL;
    r->busy = 0;
    r->gen++;
    uint64_t have;
    if (kc_map_get(&net__S.mreads_by_sha, sha_key(r->sha), &have) && have == idx)
        kc_map_del(&net__S.mreads_by_sha, sha_key(r->sha));
    net__S.mreads_free[net__S.nmreads_free++] = idx;
    net__S.mreads_busy--;

    net_mblob *b = NULL;
    if (j->http_status == 200 && (b = net_mblob_new(j->text, j->text_len, j->mime))) {
        j->text = NULL;
        net_mcache_put(net__S.mcache, r->sha, b);    /* not cached (too large, off): sent all the same */
    }
    for (struct http_pss *p = w, *next; p; p = next) {
        next = p->mnext;
        p->mprev = p->mnext = NULL;
        p->mwait = 0;
        if (b) {
            media_send(p, b);
        } else if (j->http_status == 404) {
            net__S.mstats.not_found++;
            http_refuse(p->wsi, p, 404, "not_found", "no such media");
        } else if (j->http_status == 200) {             /* no memory for the blob */
            net__S.mstats.failed++;
            http_refuse(p->wsi, p, 500, "internal", "out of memory");
        } else {                                        /* the database: for a moment, we hope */
            net__S.mstats.failed++;
            http_refuse(p->wsi, p, 503, "busy", "the server could not reach the database; retry in a moment");
        }
    }
    net_mblob_unref(b);
    media_pump();
}

void net__http_done(srv_job *j)
{
    if (j->kind == SRV_JOB_MEDIA) {
        media_done(j);
        return;
    }
    if (j->kind == SRV_JOB_IMPORT) net__S.heavy_running--;   /* also when the client left */
    uint32_t slot = (uint32_t)(j->conn >> 32);
    if (slot >= HTTP_IMPORTS_MAX) return;
    struct hconn *h = &net__S.https[slot];
    if (!h->wsi || h->gen != (uint32_t)j->conn) return;   /* the client went away */
    http_reply(h->wsi, h->p, j->http_status ? j->http_status : 500, j->reply);
    j->reply = NULL;
}

/* Images show inline; anything else (and SVG, which may carry script) only downloads. */
static int media_inline(const char *mime)
{
    return !strncmp(mime, "image/", 6) && strncmp(mime, "image/svg", 9);
}

static int http_write(struct lws *wsi, struct http_pss *p)
{
    if (p->import != 3) return 0;
    if (!p->headers_sent) {
        unsigned char buf[LWS_PRE + 1024], *start = &buf[LWS_PRE], *pos = start, *end = &buf[sizeof buf - 1];
        const net_mblob *b = p->media && p->status == 200 ? p->blob : NULL;
        char cache[64] = "no-store";
        if (b) {
            /* The bytes of a sha never change, but the link is a permission that ends at
             * its expiry: no cache may keep the response past it. */
            long long left = (p->expires_ms - kc_now_ms()) / 1000;
            snprintf(cache, sizeof cache, "private, max-age=%lld, immutable", left > 0 ? left : 0);
        }
        if (lws_add_http_common_headers(wsi, (unsigned)p->status,
                                        b ? b->mime : p->ctype ? p->ctype : "application/json",
                                        (lws_filepos_t)p->out_len, &pos, end) ||
            lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                         (const unsigned char *)cache, (int)strlen(cache), &pos, end))
            return 1;
        if (b && !media_inline(b->mime) &&
            lws_add_http_header_by_name(wsi, (const unsigned char *)"content-disposition:",
                                        (const unsigned char *)"attachment", 10, &pos, end))
            return 1;
        if (p->retry_after > 0) {
            char ra[16];
            int n = snprintf(ra, sizeof ra, "%d", p->retry_after);
            if (lws_add_http_header_by_name(wsi, (const unsigned char *)"retry-after:",
                                            (const unsigned char *)ra, n, &pos, end))
                return 1;
        }
        if (lws_finalize_write_http_header(wsi, start, &pos, end))
            return 1;
        p->headers_sent = 1;
        lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, HTTP_WRITE_IDLE_S);
        lws_callback_on_writable(wsi);
        return 0;
    }
    enum { CHUNK = 16384 };
    unsigned char buf[LWS_PRE + CHUNK];
    size_t n = p->out_len - p->out_off < CHUNK ? p->out_len - p->out_off : CHUNK;
    int final = p->out_off + n == p->out_len;
    if (n) memcpy(buf + LWS_PRE, p->out + p->out_off, n);
    if (lws_write(wsi, buf + LWS_PRE, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
        return 1;
    p->out_off += n;
    if (!final) {
        lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, HTTP_WRITE_IDLE_S);   /* it reads: more time */
        lws_callback_on_writable(wsi);
        return 0;
    }
    http_release(p);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* ---- GET /healthz and GET /metrics ---- */

/* For a load balancer: may this node take work? Nothing internal. */
static void healthz(struct lws *wsi, struct http_pss *p)
{
    const char *why = net__S.stopping ? "stopping"
                    : atomic_load(&net__S.workers_connected) <= 0 ? "no_database" : NULL;
    char body[96];
    if (why) snprintf(body, sizeof body, "{\"ok\":false,\"reason\":\"%s\"}\n", why);
    else snprintf(body, sizeof body, "{\"ok\":true}\n");
    char *s = strdup(body);
    if (!s) {
        http_refuse(wsi, p, 500, "internal", "out of memory");
        return;
    }
    http_reply(wsi, p, why ? 503 : 200, s);
}

/* The client is in limits.trusted (its IPv4-mapped form is the same address). Behind a
 * proxy that is the address the proxy forwarded, never the proxy itself. */
static int peer_trusted(struct lws *wsi)
{
    char text[48];
    net_throttle_addr a;
    net__client(wsi, &a, text, sizeof text);
    return a.family && net_throttle_is_trusted(net__S.throttle, &a);
}

#define U(v) json_integer((json_int_t)(v))

static json_t *metrics_json(void)
{
    int64_t now = kc_now_ms();
    json_t *pools = json_object();
    int workers = 0, queued = 0;
    for (int i = 0; i < SRV_POOLS; i++) {
        net_pool_stats st;
        net_pools_stats(net__S.pools, i, &st);
        workers += st.workers;
        queued += st.queued;
        json_object_set_new(pools, net_pool_names[i],
                            json_pack("{s:o, s:o, s:o, s:o, s:o}", "workers", U(st.workers), "queued", U(st.queued),
                                      "running", U(st.running), "bound", U(st.bound), "done", U(st.done)));
    }
    net_throttle_stats t;
    net_throttle_stats_get(net__S.throttle, now, &t);
    json_t *throttle = json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
        "checks", U(t.checks), "allowed", U(t.allowed), "refused_address", U(t.refused_address),
        "refused_ticket", U(t.refused_ticket), "refused_login", U(t.refused_login),
        "successes", U(t.successes), "failures", U(t.failures), "failures_elsewhere", U(t.failures_elsewhere),
        "voids", U(t.voids),
        "pair_lockouts", U(t.pair_lockouts), "who_lockouts", U(t.who_lockouts),
        "address_slowdowns", U(t.address_slowdowns), "sprays", U(t.sprays),
        "evictions", U(t.evictions), "evictions_locked", U(t.evictions_locked),
        "conn_refused", U(t.conn_refused), "conn_untracked", U(t.conn_untracked),
        "capacity", U(t.capacity), "addresses", U(t.addresses), "pairs", U(t.pairs), "whos", U(t.whos));
    net_mcache_stats c;
    net_mcache_stats_get(net__S.mcache, &c);
    const struct mstats *m = &net__S.mstats;
    json_t *media = json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o,"
        " s:{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}}",
        "requests", U(m->requests), "hits", U(m->hits), "reads", U(m->reads),
        "coalesced", U(m->coalesced), "waited", U(m->waited), "busy", U(m->busy),
        "not_found", U(m->not_found), "failed", U(m->failed),
        "reading", U(net__S.mreads_busy), "reads_max", U(net__S.nmreads), "waiting", U(net__S.mwait_n),
        "cache", "max_bytes", U(c.max_bytes), "bytes", U(c.bytes), "entries", U(c.entries),
        "hits", U(c.hits), "misses", U(c.misses), "inserts", U(c.inserts),
        "evictions", U(c.evictions), "too_large", U(c.too_large));
    return json_pack("{s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                     "ok", atomic_load(&net__S.workers_connected) > 0 && !net__S.stopping,
                     "server_time", U(now), "db_workers", U(workers),
                     "db_connected", U(atomic_load(&net__S.workers_connected)),
                     "connections", U(net__S.nconns), "lives", U(net__S.lives.count),
                     "queued", U(queued),
                     "answers_committed", U(atomic_load(&net__S.answers_committed)),
                     "answers_round_trips", U(exam_answers_round_trips()),
                     "uploading", U(net__S.uploading), "heavy_running", U(net__S.heavy_running),
                     "pools", pools, "throttle", throttle, "media", media,
                     "events_dropped", U(net__S.events.dropped));
}

#undef U

/* The Prometheus text format of the same numbers: kaochang_<path> (a boolean as 0 or 1),
 * a pool's as kaochang_pool_<counter>{pool="<name>"}. */
static void prom_add(kc_buf *b, const char *prefix, json_t *v, const char *label)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) {
            if (!label && !strcmp(prefix, "kaochang") && !strcmp(k, "pools")) {
                const char *pk;
                json_t *pv;
                json_object_foreach(x, pk, pv) {
                    char lab[64];
                    snprintf(lab, sizeof lab, "pool=\"%s\"", pk);
                    prom_add(b, "kaochang_pool", pv, lab);
                }
                continue;
            }
            char name[128];
            snprintf(name, sizeof name, "%s_%s", prefix, k);
            prom_add(b, name, x, label);
        }
    } else if (json_is_integer(v) || json_is_boolean(v)) {
        long long n = json_is_integer(v) ? (long long)json_integer_value(v) : json_is_true(v);
        if (label) kc_buf_printf(b, "%s{%s} %lld\n", prefix, label, n);
        else kc_buf_printf(b, "%s %lld\n", prefix, n);
    }
}

/* Pool depths, queues, counters: for operators and monitoring on limits.trusted only.
 * JSON, or ?format=prometheus. */
static void metrics(struct lws *wsi, struct http_pss *p)
{
    if (!peer_trusted(wsi)) {
        http_refuse(wsi, p, 403, "forbidden", "/metrics is answered only for limits.trusted addresses");
        return;
    }
    char arg[32];
    const char *fmt = lws_get_urlarg_by_name(wsi, "format=", arg, sizeof arg);
    if (fmt && strcmp(fmt, "json") && strcmp(fmt, "prometheus")) {
        http_refuse(wsi, p, 400, "invalid", "format: json (the default) or prometheus");
        return;
    }
    json_t *o = metrics_json();
    char *s = NULL;
    if (o && fmt && !strcmp(fmt, "prometheus")) {
        kc_buf b = {0};
        prom_add(&b, "kaochang", o, NULL);
        s = kc_buf_take(&b);
        p->ctype = "text/plain; version=0.0.4; charset=utf-8";
    } else if (o) {
        s = json_dumps(o, JSON_COMPACT);
    }
    json_decref(o);
    if (!s) {
        http_refuse(wsi, p, 500, "internal", "out of memory");
        return;
    }
    http_reply(wsi, p, 200, s);
}

int net__cb_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
    struct http_pss *p = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP_BODY:
        return p && p->import ? import_body(p, in, len) : 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (p && p->import == 1) import_queue(wsi, p);
        return 0;
    case LWS_CALLBACK_CLOSED_HTTP:
        if (p) http_release(p);   /* a connection closed before its request has no pss */
        break;
    case LWS_CALLBACK_HTTP: {
        char uri[1024];
        int post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
        int got = lws_hdr_copy(wsi, uri, sizeof uri, post ? WSI_TOKEN_POST_URI : WSI_TOKEN_GET_URI);
        if (got <= 0) {                    /* longer than any URI of ours */
            if (lws_return_http_status(wsi, HTTP_STATUS_REQ_URI_TOO_LONG, NULL)) return -1;
            return lws_http_transaction_completed(wsi) ? -1 : 0;
        }
        http_release(p);
        memset(p, 0, sizeof *p);
        if (post) return import_begin(wsi, p, uri);
        if (!strncmp(uri, "/media/", 7)) return media_begin(wsi, p, uri);
        if (!strcmp(uri, "/healthz")) healthz(wsi, p);
        else if (!strcmp(uri, "/metrics")) metrics(wsi, p);
        else http_refuse(wsi, p, 404, "not_found", "no such endpoint");
        return 0;
    }
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return p && p->import ? http_write(wsi, p) : 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}


/* ---- the Origin of a WebSocket upgrade ---- */

int net_origin_allowed(const char *origin, const char *host, const char *allowed)
{
    if (!origin || !*origin) return 1;
    size_t on = strlen(origin);
    for (const char *p = allowed; p && *p;) {
        while (*p == ' ' || *p == ',') p++;
        size_t n = strcspn(p, ",");
        while (n && p[n - 1] == ' ') n--;
        if (n && n == on && !strncasecmp(p, origin, n)) return 1;
        p += strcspn(p, ",");
    }
    const char *rest = !strncasecmp(origin, "http://", 7) ? origin + 7
                     : !strncasecmp(origin, "https://", 8) ? origin + 8 : NULL;
    return rest && host && *host && !strcasecmp(rest, host);
}

/* HTTP on the service thread: /healthz (each pool's depth), POST /api/bank/import (the body
 * collected here, parsed and stored on a staff worker) and GET /media/<sha256> (the signed
 * link checked here, the bytes read on a media worker). Requests are named by (slot,
 * generation) handles like WebSocket connections. */
#include "net_int.h"
#include "../staff/staff.h"
#include "../media/media.h"
#include "../exam/exam.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- POST /api/bank/import ---- */

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
    free(p->in);
    free(p->out);
    p->in = p->out = NULL;
    p->import = 0;
}

/* Answers at once (an error found before the body is read) or when the job is done. */
static void http_reply_n(struct lws *wsi, struct http_pss *p, int status, char *body, size_t len)
{
    free(p->out);
    p->status = status;
    p->out = body;
    p->out_len = len;
    p->out_off = 0;
    p->headers_sent = 0;
    p->import = 3;
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
    http_reply(wsi, p, status, srv_msg_error_json(-1, code, NULL, msg));
}

static int http_slot(void)
{
    for (int i = 0; i < HTTP_IMPORTS_MAX; i++)
        if (!net__S.https[i].wsi) return i;
    return -1;
}

/* The slot (and its handle) is taken only when the body is complete and the job queued,
 * so uploads still arriving never hold up media requests. */
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

/* ---- GET /media/<sha256>?e=EXPIRY&s=SIGNATURE ---- */

/* The signature is checked here (an HMAC: cheap); only a signed request costs a worker. */
static int media_begin(struct lws *wsi, struct http_pss *p, const char *uri)
{
    char e[32], sig[80];
    const char *ev = lws_get_urlarg_by_name(wsi, "e=", e, sizeof e);
    const char *sv = lws_get_urlarg_by_name(wsi, "s=", sig, sizeof sig);
    p->media = 1;
    p->import = 3;                       /* a reply of its own, until queued */
    if (media_check(net__S.media_key, uri + 7, ev, sv, kc_now_ms())) {
        http_refuse(wsi, p, 403, "forbidden", "the media link is invalid or expired; reload the page");
        return 0;
    }
    if (net__S.stopping || net_pools_full(net__S.pools, SRV_POOL_MEDIA)) {
        http_refuse(wsi, p, 503, "busy", "the server is busy; retry in a moment");
        return 0;
    }
    int slot = http_slot();
    if (slot < 0) {
        http_refuse(wsi, p, 503, "busy", "too many downloads at once; retry in a moment");
        return 0;
    }
    srv_job *j = net__job_new(SRV_JOB_MEDIA, ((uint64_t)slot << 32) | net__S.https[slot].gen, -1);
    if (!j) {
        http_refuse(wsi, p, 500, "internal", "out of memory");
        return 0;
    }
    p->slot = (uint32_t)slot;
    net__S.https[slot].wsi = wsi;
    net__S.https[slot].p = p;
    j->http = 1;
    snprintf(j->m.uid, sizeof j->m.uid, "%.64s", uri + 7);
    if (net__enqueue(j)) {
        srv_job_free(j);
        net__S.https[slot].wsi = NULL;
        net__S.https[slot].p = NULL;
        http_refuse(wsi, p, 503, "busy", "the server is busy; retry in a moment");
        return 0;
    }
    p->import = 2;
    return 0;
}

void net__http_done(srv_job *j)
{
    if (j->kind == SRV_JOB_IMPORT) net__S.heavy_running--;   /* also when the client left */
    uint32_t slot = (uint32_t)(j->conn >> 32);
    if (slot >= HTTP_IMPORTS_MAX) return;
    struct hconn *h = &net__S.https[slot];
    if (!h->wsi || h->gen != (uint32_t)j->conn) return;   /* the client went away */
    if (j->kind == SRV_JOB_MEDIA && j->http_status == 200) {
        snprintf(h->p->mime, sizeof h->p->mime, "%s", j->mime);
        http_reply_n(h->wsi, h->p, 200, j->text, j->text_len);
        j->text = NULL;
        return;
    }
    if (j->kind == SRV_JOB_MEDIA && j->http_status == 404) {
        http_refuse(h->wsi, h->p, 404, "not_found", "no such media");
        return;
    }
    http_reply(h->wsi, h->p, j->http_status ? j->http_status : 500, j->reply);
    j->reply = NULL;
}

/* Images show inline; anything else (and SVG, which may carry script) only downloads. */
static int media_inline(const char *mime)
{
    return !strncmp(mime, "image/", 6) && strncmp(mime, "image/svg", 9);
}

static int import_write(struct lws *wsi, struct http_pss *p)
{
    if (p->import != 3) return 0;
    if (!p->headers_sent) {
        unsigned char buf[LWS_PRE + 1024], *start = &buf[LWS_PRE], *pos = start, *end = &buf[sizeof buf - 1];
        int bytes = p->media && p->status == 200;
        const char *cache = bytes ? "private, max-age=86400" : "no-store";
        if (lws_add_http_common_headers(wsi, (unsigned)p->status, bytes ? p->mime : "application/json",
                                        (lws_filepos_t)p->out_len, &pos, end) ||
            lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                         (const unsigned char *)cache, (int)strlen(cache), &pos, end))
            return 1;
        if (bytes && !media_inline(p->mime) &&
            lws_add_http_header_by_name(wsi, (const unsigned char *)"content-disposition:",
                                        (const unsigned char *)"attachment", 10, &pos, end))
            return 1;
        if (lws_finalize_write_http_header(wsi, start, &pos, end))
            return 1;
        p->headers_sent = 1;
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
        lws_callback_on_writable(wsi);
        return 0;
    }
    http_release(p);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
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
        if (post) {
            http_release(p);
            memset(p, 0, sizeof *p);
            return import_begin(wsi, p, uri);
        }
        if (!strncmp(uri, "/media/", 7)) {
            http_release(p);
            memset(p, 0, sizeof *p);
            return media_begin(wsi, p, uri);
        }
        if (strcmp(uri, "/healthz")) {
            if (lws_return_http_status(wsi, 404, NULL)) return -1;
            return lws_http_transaction_completed(wsi) ? -1 : 0;
        }
        /* Each pool's depth, so a class that falls behind shows which one it is. */
        int up = atomic_load(&net__S.workers_connected), workers = 0, queued = 0;
        char pools[900];
        size_t pn = 0;
        for (int i = 0; i < SRV_POOLS; i++) {
            net_pool_stats st;
            net_pools_stats(net__S.pools, i, &st);
            workers += st.workers;
            queued += st.queued;
            pn += (size_t)snprintf(pools + pn, sizeof pools - pn,
                                   "%s\"%s\":{\"workers\":%d,\"queued\":%d,\"running\":%d,\"bound\":%d,\"done\":%llu}",
                                   i ? "," : "", net_pool_names[i], st.workers, st.queued, st.running,
                                   st.bound, st.done);
            if (pn >= sizeof pools) pn = sizeof pools - 1;
        }
        p->status = up > 0 && !net__S.stopping ? 200 : 503;
        int n = snprintf(p->body, sizeof p->body,
                         "{\"ok\":%s,\"db_workers\":%d,\"db_connected\":%d,\"connections\":%d,"
                         "\"queued\":%d,\"answers_committed\":%llu,\"answers_round_trips\":%llu,"
                         "\"pools\":{%s},\"server_time\":%lld}\n",
                         p->status == 200 ? "true" : "false", workers, up, net__S.nconns, queued,
                         (unsigned long long)atomic_load(&net__S.answers_committed),
                         (unsigned long long)exam_answers_round_trips(), pools,
                         (long long)kc_now_ms());
        p->len = (size_t)n < sizeof p->body ? (size_t)n : sizeof p->body - 1;
        unsigned char buf[LWS_PRE + 1024], *start = &buf[LWS_PRE], *pos = start,
                                            *end = &buf[sizeof buf - 1];
        if (lws_add_http_common_headers(wsi, (unsigned)p->status, "application/json",
                                        (lws_filepos_t)p->len, &pos, end) ||
            lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                         (const unsigned char *)"no-store", 8, &pos, end) ||
            lws_finalize_write_http_header(wsi, start, &pos, end))
            return 1;
        lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (p->import) return import_write(wsi, p);
        unsigned char buf[LWS_PRE + sizeof p->body];
        memcpy(buf + LWS_PRE, p->body, p->len);
        if (lws_write(wsi, buf + LWS_PRE, p->len, LWS_WRITE_HTTP_FINAL) != (int)p->len)
            return 1;
        if (lws_http_transaction_completed(wsi)) return -1;
        return 0;
    }
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

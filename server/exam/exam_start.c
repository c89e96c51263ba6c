/* Starting an attempt, and entering it again after a reconnect: many candidates' starts in
 * one transaction. A synchronized start means thousands of `start`s in the same second, so
 * each batch is a handful of multi-row statements and one commit, and the paper goes out as
 * it was rendered when the session was prepared (from the cache, or read in multi-row
 * statements), never built on the click. Runs on an exam worker; nothing here touches
 * libwebsockets. */
#include "exam.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

/* Only the attempt rows are locked (in id order, as the answer batches lock them): a join
 * with FOR UPDATE would lock the session and paper rows too and serialise every start of a
 * session. The hash of the attempt's rendered view comes with the row (the render keeps it
 * there), so a batch is one statement lighter. */
static const char LOCK_HEAD[] =
    "SELECT id, status, extra_time_s, deadline_at, submitted_at, COALESCE(submit_reason, ''),"
    " score_centi, last_seq, session_id, COALESCE(paper_hash, '') FROM attempt WHERE id IN (";
static const char LOCK_TAIL[] = ") ORDER BY id FOR UPDATE";
/* For a row without that hash (rendered by an older node): the view's own; for one without a
 * rendered view (a paper made by an older version: it is rendered at start), whether it has
 * a paper at all. */
static const char PAPER_HEAD[] = "SELECT attempt_id, hash FROM paper_render WHERE attempt_id IN (";
static const char INSTANCE_HEAD[] = "SELECT attempt_id, '' FROM paper_instance WHERE attempt_id IN (";
static const char SESSION_HEAD[] =
    "SELECT id, opens_at, closes_at, duration_s, show_score FROM exam_session WHERE id IN (";
static const char SET_HEAD[] =
    "UPDATE attempt SET status = 'in_progress', started_at = ?, deadline_at = ?"
    " WHERE status = 'not_started' AND id IN (";
/* The views rendered when the session was prepared (exam_render.c): with the JSON when a
 * client lacks it, else only what answers are checked against. */
static const char RENDERED_HEAD[] =
    "SELECT attempt_id, hash, paper_json, answer_check FROM paper_render WHERE attempt_id IN (";
static const char CHECK_HEAD[] =
    "SELECT attempt_id, hash, '', answer_check FROM paper_render WHERE attempt_id IN (";
static const char ANSWERS_HEAD[] =
    "SELECT attempt_id, item_id, response, seq FROM answer WHERE attempt_id IN (";
static const char BY_ATTEMPT[] = ") ORDER BY 1, 2";
static const char CLOSE[] = ")";

/* Rows of a rendered paper read at once: ~40 KB each, so a batch holds a few MB. */
#define PAPER_ROWS 16
#define START_TRIES 3              /* transactions per batch on deadlocks and lock waits */

typedef struct held_answer {
    int64_t item, seq;
    const char *response;      /* in the batch's arena */
} held_answer;

typedef struct start_row {    /* one attempt of the batch (several jobs may share it) */
    uint64_t id, session_id;
    int found, have;           /* the attempt exists; it has its paper */
    int not_open;              /* not started and its session is not open now */
    enum srv_attempt_status was, status;
    char reason[16], hash[65];
    int64_t extra, deadline, submitted, score, last_seq;
    int64_t opens, closes, duration, show;
    int need_json;             /* a job lacks the paper (holds no hash, or another one) */
    exam_rendered *pr;
    held_answer *answers;
    int n_answers;
} start_row;

typedef struct batch {
    kc_db *db;
    const srv_ctx *x;
    kc_arena *A;
    start_row *rows;
    int nr;
    kc_param *p;               /* EXAM_ROWS_MAX + 2 parameters */
} batch;

static start_row *row_of(batch *b, uint64_t id)
{
    int lo = 0, hi = b->nr;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (b->rows[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < b->nr && b->rows[lo].id == id ? &b->rows[lo] : NULL;
}

/* head + ids (k at most EXAM_ROWS_MAX, padded with the last) + tail, executed; params before
 * the ids in b->p[0..pre). */
static kc_stmt *by_ids(batch *b, const char *head, const char *tail, int pre, const uint64_t *ids,
                       int cnt, int *rc)
{
    int k = exam__rows_size(cnt);
    for (int r = 0; r < cnt; r++) b->p[pre + r] = EXAM_P_U(ids[r]);
    for (int r = cnt; r < k; r++) b->p[pre + r] = b->p[pre + cnt - 1];
    return exam__run(b->db, exam__rows_sql(b->A, k, head, "?", ", ", tail), b->p, pre + k, rc);
}

/* The ids of the rows for which want(row) holds, into ids; their count. */
static int pick(batch *b, int (*want)(const start_row *), uint64_t *ids)
{
    int n = 0;
    for (int i = 0; i < b->nr; i++)
        if (want(&b->rows[i])) ids[n++] = b->rows[i].id;
    return n;
}

/* ---- in the transaction ---- */

static int lock_rows(batch *b, uint64_t *ids)
{
    int rc = 0;
    for (int i = 0; i < b->nr; i++) ids[i] = b->rows[i].id;
    for (int a0 = 0; a0 < b->nr && !rc; a0 += EXAM_ROWS_MAX) {
        int cnt = b->nr - a0 < EXAM_ROWS_MAX ? b->nr - a0 : EXAM_ROWS_MAX;
        kc_stmt *s = by_ids(b, LOCK_HEAD, LOCK_TAIL, 0, ids + a0, cnt, &rc);
        for (int r; s && (r = kc_stmt_next(s)) != 0;) {
            if (r < 0) { rc = r; break; }
            start_row *w = row_of(b, (uint64_t)kc_stmt_int(s, 0));
            if (!w) continue;
            const char *st = kc_stmt_str(s, 1), *why = kc_stmt_str(s, 5);
            w->found = 1;
            w->was = w->status = exam__status_parse(st ? st : "");
            w->extra = kc_stmt_int(s, 2);
            w->deadline = kc_stmt_time(s, 3);
            w->submitted = kc_stmt_time(s, 4);
            snprintf(w->reason, sizeof w->reason, "%s", why ? why : "");
            w->score = kc_stmt_int(s, 6);
            w->last_seq = kc_stmt_int(s, 7);
            w->session_id = (uint64_t)kc_stmt_int(s, 8);
            const char *h = kc_stmt_str(s, 9);
            if (h && strlen(h) == 64) {
                w->have = 1;
                memcpy(w->hash, h, 65);
            }
        }
        kc_stmt_done(s);
    }
    return rc;
}

static int read_paper_rows(batch *b, const char *head, const uint64_t *ids, int cnt)
{
    int rc = 0;
    kc_stmt *s = by_ids(b, head, CLOSE, 0, ids, cnt, &rc);
    for (int r; s && (r = kc_stmt_next(s)) != 0;) {
        if (r < 0) { rc = r; break; }
        start_row *w = row_of(b, (uint64_t)kc_stmt_int(s, 0));
        const char *h = kc_stmt_str(s, 1);
        if (!w) continue;
        w->have = 1;
        snprintf(w->hash, sizeof w->hash, "%s", h ? h : "");
    }
    kc_stmt_done(s);
    return rc;
}

static int found_unrendered(const start_row *r) { return r->found && !r->have; }

static int read_papers(batch *b, uint64_t *ids)
{
    int rc = 0;
    for (int pass = 0; pass < 2 && !rc; pass++) {
        int n = pick(b, found_unrendered, ids);
        for (int a0 = 0; a0 < n && !rc; a0 += EXAM_ROWS_MAX)
            rc = read_paper_rows(b, pass ? INSTANCE_HEAD : PAPER_HEAD, ids + a0,
                                 n - a0 < EXAM_ROWS_MAX ? n - a0 : EXAM_ROWS_MAX);
    }
    return rc;
}

/* The sessions' times (a batch usually has one session). */
static int read_sessions(batch *b, uint64_t *ids)
{
    int n = 0, rc = 0;
    for (int i = 0; i < b->nr; i++)
        if (b->rows[i].found) ids[n++] = b->rows[i].session_id;
    int u = exam__sort_unique(ids, n);
    for (int a0 = 0; a0 < u && !rc; a0 += EXAM_ROWS_MAX) {
        int cnt = u - a0 < EXAM_ROWS_MAX ? u - a0 : EXAM_ROWS_MAX;
        kc_stmt *s = by_ids(b, SESSION_HEAD, CLOSE, 0, ids + a0, cnt, &rc);
        for (int r; s && (r = kc_stmt_next(s)) != 0;) {
            if (r < 0) { rc = r; break; }
            uint64_t sid = (uint64_t)kc_stmt_int(s, 0);
            for (int i = 0; i < b->nr; i++) {
                start_row *w = &b->rows[i];
                if (!w->found || w->session_id != sid) continue;
                w->opens = kc_stmt_time(s, 1);
                w->closes = kc_stmt_time(s, 2);
                w->duration = kc_stmt_int(s, 3);
                w->show = kc_stmt_int(s, 4);
            }
        }
        kc_stmt_done(s);
    }
    return rc;
}

static int cmp_deadline(const void *a, const void *b)
{
    const start_row *x = *(start_row *const *)a, *y = *(start_row *const *)b;
    if (x->deadline != y->deadline) return x->deadline < y->deadline ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Every attempt that has not started and may start now starts: one UPDATE per deadline
 * (the candidates of a session starting together share one, unless extra time differs). */
static int start_rows(batch *b, int64_t now, uint64_t *ids)
{
    start_row **go = kc_arena_alloc(b->A, (size_t)b->nr * sizeof *go);
    if (!go) return KC_ENOMEM;
    int n = 0, rc = 0;
    for (int i = 0; i < b->nr; i++) {
        start_row *w = &b->rows[i];
        if (!w->found || !w->have || w->was != SRV_ST_NOT_STARTED) continue;
        /* deadline = min(now + duration + extra time, the session's close) */
        if (exam_start_deadline(now, w->opens, w->closes, w->duration, w->extra, &w->deadline)) {
            w->not_open = 1;
            continue;
        }
        go[n++] = w;
    }
    qsort(go, (size_t)n, sizeof *go, cmp_deadline);
    for (int i = 0; i < n && !rc;) {
        int cnt = 0;
        int64_t d = go[i]->deadline;
        while (i + cnt < n && cnt < EXAM_ROWS_MAX && go[i + cnt]->deadline == d) {
            ids[cnt] = go[i + cnt]->id;
            cnt++;
        }
        b->p[0] = EXAM_P_T(now);
        b->p[1] = EXAM_P_T(d);
        kc_stmt *s = by_ids(b, SET_HEAD, CLOSE, 2, ids, cnt, &rc);
        kc_stmt_done(s);
        for (int k = 0; k < cnt && !rc; k++) go[i + k]->status = SRV_ST_IN_PROGRESS;
        i += cnt;
    }
    return rc;
}

/* ---- after the commit ---- */

static const char SQL_RENDERED[] =
    "SELECT hash, paper_json, answer_check FROM paper_render WHERE attempt_id = ?";
static const char SQL_RENDERED_CHECK[] =
    "SELECT hash, '', answer_check FROM paper_render WHERE attempt_id = ?";

/* The attempt's rendered paper whose hash is want (the database's): from the cache when it
 * holds it (with its JSON when need_json), else read (the JSON only when needed) and cached.
 * A paper without its row (prepared by an older version) is rendered and stored now. *out
 * carries a reference; its hash may be newer than want when the session was rendered again
 * meanwhile. */
static int rendered_one(kc_db *db, const srv_ctx *x, uint64_t attempt_id, const char *want,
                          int need_json, exam_rendered **out)
{
    exam_cache *cache = exam_paper_cache();
    exam_rendered *r = exam_cache_get(cache, attempt_id);
    *out = NULL;
    if (r && *want && !strcmp(r->hash, want) && (r->json || !need_json)) {
        *out = r;
        return 0;
    }
    exam_rendered_release(r);
    r = NULL;
    int rc = 0;
    if (*want) {
        const char *sql = need_json ? SQL_RENDERED : SQL_RENDERED_CHECK;
        kc_stmt *st = kc_db_stmt(db, sql);
        rc = st ? kc_stmt_exec(st, "u", attempt_id) : kc_db_fail_code(db);
        int found = rc ? rc : kc_stmt_next(st);
        if (found < 0) rc = found;
        if (found == 1) {
            const char *hash = kc_stmt_str(st, 0), *json = kc_stmt_str(st, 1);
            size_t len = json ? kc_stmt_len(st, 1) : 0;
            srv_paper *check = NULL;
            char *copy = need_json ? strndup(json ? json : "", len) : NULL;
            rc = exam_check_decode(kc_stmt_str(st, 2), attempt_id, &check);
            if (rc == KC_EINVAL || (!rc && need_json && (len < 2 || copy[0] != '{' || copy[len - 1] != '}'))) {
                KC_ERROR("exam", "attempt=%llu: its rendered paper is broken", (unsigned long long)attempt_id);
                rc = KC_EDB;
            }
            if (!rc && need_json && !copy) rc = KC_ENOMEM;
            if (!rc) {
                r = exam_rendered_new(attempt_id, hash ? hash : "", copy, len, check);
                copy = NULL;
                check = NULL;
                if (!r) rc = KC_ENOMEM;
            }
            free(copy);
            srv_paper_free(check);
        }
        if (st) kc_stmt_done(st);
        if (rc) return rc;
    }
    if (!r) {
        /* Prepared before papers were rendered, or its row went missing: render it now
         * rather than fail the candidate. */
        KC_WARN("exam", "attempt=%llu: no rendered paper stored; rendering it now", (unsigned long long)attempt_id);
        rc = exam_render_attempt(db, x->media_key, attempt_id, &r);
        if (rc == KC_EINVAL || rc == KC_ENOTFOUND) {
            KC_ERROR("exam", "attempt=%llu: its paper cannot be rendered", (unsigned long long)attempt_id);
            rc = KC_EDB;     /* the candidate gets internal, as for any broken paper */
        }
        if (rc) return rc;
    }
    exam_cache_put(cache, r);
    *out = r;
    return 0;
}


int exam__rendered_row(kc_stmt *s, int with_json, exam_rendered **out)
{
    uint64_t id = (uint64_t)kc_stmt_int(s, 0);
    const char *hash = kc_stmt_str(s, 1), *json = kc_stmt_str(s, 2);
    size_t len = json ? kc_stmt_len(s, 2) : 0;
    srv_paper *check = NULL;
    *out = NULL;
    int bad = exam_check_decode(kc_stmt_str(s, 3), id, &check);
    if (bad == KC_ENOMEM) return bad;
    if (bad || !hash || (with_json && (len < 2 || json[0] != '{' || json[len - 1] != '}'))) {
        srv_paper_free(check);
        return 0;
    }
    char *copy = with_json ? strndup(json, len) : NULL;
    if (with_json && !copy) {
        srv_paper_free(check);
        return KC_ENOMEM;
    }
    *out = exam_rendered_new(id, hash, copy, len, check);
    return *out ? 0 : KC_ENOMEM;
}

/* The rendered papers: from the cache when it has the hash the transaction read (with the
 * JSON when a job needs it), else in multi-row reads; a row that is missing or was rendered
 * again meanwhile goes the slow way (rendered_one). */
static int load_papers(batch *b, uint64_t *ids)
{
    exam_cache *cache = exam_paper_cache();
    int rc = 0;
    for (int pass = 0; pass < 2 && !rc; pass++) {         /* 0: with the JSON; 1: the check only */
        int n = 0;
        for (int i = 0; i < b->nr; i++) {
            start_row *w = &b->rows[i];
            if (!w->found || !w->have || w->not_open || w->pr || w->need_json != !pass) continue;
            exam_rendered *r = exam_cache_get(cache, w->id);
            if (r && w->hash[0] && !strcmp(r->hash, w->hash) && (r->json || !w->need_json)) w->pr = r;
            else {
                exam_rendered_release(r);
                if (w->hash[0]) ids[n++] = w->id;
            }
        }
        int per = pass ? EXAM_ROWS_MAX : PAPER_ROWS;      /* the check alone is small */
        for (int a0 = 0; a0 < n && !rc; a0 += per) {
            int cnt = n - a0 < per ? n - a0 : per;
            kc_stmt *s = by_ids(b, pass ? CHECK_HEAD : RENDERED_HEAD, CLOSE, 0, ids + a0, cnt, &rc);
            for (int r; s && (r = kc_stmt_next(s)) != 0;) {
                if (r < 0) { rc = r; break; }
                start_row *w = row_of(b, (uint64_t)kc_stmt_int(s, 0));
                const char *hash = kc_stmt_str(s, 1);
                if (!w || w->pr || !hash || strcmp(hash, w->hash)) continue;   /* the slow way */
                /* a broken row goes the slow way, which logs it */
                if ((rc = exam__rendered_row(s, !pass, &w->pr))) break;
                if (w->pr) exam_cache_put(cache, w->pr);
            }
            kc_stmt_done(s);
        }
    }
    for (int i = 0; i < b->nr && !rc; i++) {
        start_row *w = &b->rows[i];
        if (!w->found || !w->have || w->not_open || w->pr) continue;
        rc = rendered_one(b->db, b->x, w->id, w->hash, w->need_json, &w->pr);
        /* rendered again since the transaction read its hash: the client needs the new one */
        if (!rc && !w->pr->json && w->need_json == 0 && strcmp(w->hash, w->pr->hash)) {
            char now_hash[65];
            memcpy(now_hash, w->pr->hash, sizeof now_hash);
            exam_rendered_release(w->pr);
            w->pr = NULL;
            rc = rendered_one(b->db, b->x, w->id, now_hash, 1, &w->pr);
        }
    }
    return rc;
}

static int was_running(const start_row *r)
{
    return r->found && r->have && r->was != SRV_ST_NOT_STARTED;
}

/* What an attempt that had begun holds: its answers go back with the paper (the client takes
 * the server's values and seqs). */
static int load_answers(batch *b, uint64_t *ids)
{
    int rc = 0, n = pick(b, was_running, ids);
    for (int a0 = 0; a0 < n && !rc; a0 += EXAM_ROWS_MAX) {
        int cnt = n - a0 < EXAM_ROWS_MAX ? n - a0 : EXAM_ROWS_MAX;
        kc_stmt *s = by_ids(b, ANSWERS_HEAD, BY_ATTEMPT, 0, ids + a0, cnt, &rc);
        uint64_t rows = s ? kc_stmt_num_rows(s) : 0;
        held_answer *v = s ? kc_arena_alloc(b->A, (size_t)(rows ? rows : 1) * sizeof *v) : NULL;
        if (s && !v) rc = KC_ENOMEM;
        for (int r; s && v && (r = kc_stmt_next(s)) != 0;) {
            if (r < 0) { rc = r; break; }
            start_row *w = row_of(b, (uint64_t)kc_stmt_int(s, 0));
            const char *resp = kc_stmt_str(s, 2);
            if (!w) continue;
            if (!w->answers) w->answers = v;          /* ordered by attempt: a run of v */
            held_answer *h = &w->answers[w->n_answers++];
            v++;
            h->item = kc_stmt_int(s, 1);
            h->seq = kc_stmt_int(s, 3);
            h->response = kc_arena_strdup(b->A, resp ? resp : "");
            if (!h->response) { rc = KC_ENOMEM; break; }
        }
        kc_stmt_done(s);
    }
    return rc;
}

/* reply (a JSON object) with "paper":{"hash":…,…} spliced in before its closing brace: the
 * stored JSON as it is (never parsed again), {"unchanged":true} for a client that holds it,
 * or the key of the sealed copy it holds. malloc'd; NULL on OOM. */
static char *splice_paper(const char *reply, const exam_rendered *r, int unchanged, const char *key)
{
    kc_buf b = {0};
    size_t n = strlen(reply);
    kc_buf_reserve(&b, n + 192 + (unchanged || key ? 0 : r->json_len));
    kc_buf_add(&b, reply, n - 1);
    kc_buf_printf(&b, "%s\"paper\":{\"hash\":\"%s\"", n > 2 ? "," : "", r->hash);
    if (unchanged) kc_buf_str(&b, ",\"unchanged\":true}");
    else if (key) kc_buf_printf(&b, ",\"sealed\":true,\"key\":\"%s\"}", key);
    else if (r->json_len > 2) { kc_buf_str(&b, ","); kc_buf_add(&b, r->json + 1, r->json_len - 1); }
    else kc_buf_str(&b, "}");
    kc_buf_str(&b, "}");
    return kc_buf_take(&b);
}

/* The client holds this paper, plain or sealed: the JSON need not go out. */
static int holds(const srv_job *j, const char *hash)
{
    return *hash && (!strcmp(j->m.paper_hash, hash) || !strcmp(j->m.sealed_hash, hash));
}

/* One job's reply from its attempt's row. 0, or KC_ENOMEM. */
static int reply_for(const srv_ctx *x, srv_job *j, const start_row *w)
{
    if (!w->found) {
        j->reply = exam__error_reply(j->req_id, "bad_token", "attempt not found");
        return j->reply ? 0 : KC_ENOMEM;
    }
    /* Starting is a read of the paper made before the session opened: without one the
     * attempt does not start (and its clock does not run). */
    if (!w->have) {
        j->reply = exam__error_reply(j->req_id, "not_prepared",
                                     "the papers of this session are not ready yet; ask the proctor");
        return j->reply ? 0 : KC_ENOMEM;
    }
    if (w->not_open) {
        char a[32], c[32], msg[160];
        kc_format_iso(w->opens, a, sizeof a);
        kc_format_iso(w->closes, c, sizeof c);
        snprintf(msg, sizeof msg, "the session is open from %s to %s (UTC)", a, c);
        j->reply = exam__error_reply(j->req_id, "not_open", msg);
        return j->reply ? 0 : KC_ENOMEM;
    }
    const exam_rendered *pr = w->pr;
    const char *held = j->m.paper_hash;
    int unchanged = *held && !strcmp(held, pr->hash);
    /* Started (this or an earlier transaction committed it): the sealed copy's key. */
    char key_hex[65], *key = NULL;
    if (!unchanged && *j->m.sealed_hash && !strcmp(j->m.sealed_hash, pr->hash)) {
        unsigned char k[32];
        exam_seal_key(x->token_key, w->id, pr->hash, k);
        kc_hex(k, 32, key_hex);
        OPENSSL_cleanse(k, sizeof k);
        key = key_hex;
    }
    j->status = w->status;
    j->deadline_ms = w->deadline;
    srv_paper_free(j->paper);        /* a retried job starts afresh */
    if (!(j->paper = exam_paper_copy(pr->check))) return KC_ENOMEM;
    j->paper->attempt_id = w->id;

    if (!w->n_answers && w->status == SRV_ST_IN_PROGRESS) {
        /* A fresh start (the whole hall at once): nothing but numbers to write, no tree to
         * build and dump. The same members as below. */
        char head[256];
        int hn = snprintf(head, sizeof head,
                          "{\"type\":\"paper\",\"attempt\":{\"status\":\"in_progress\",\"deadline\":%lld,"
                          "\"submitted_at\":null},\"server_time\":%lld,\"answers\":[],\"last_seq\":%lld",
                          (long long)w->deadline, (long long)kc_now_ms(), (long long)w->last_seq);
        if (j->req_id >= 0) hn += snprintf(head + hn, sizeof head - (size_t)hn, ",\"id\":%lld", (long long)j->req_id);
        snprintf(head + hn, sizeof head - (size_t)hn, "}");
        j->reply = splice_paper(head, pr, unchanged, key);
        j->ok = j->reply != NULL;
        return j->reply ? 0 : KC_ENOMEM;
    }
    json_t *answers = json_array();
    for (int k = 0; answers && k < w->n_answers; k++) {
        const held_answer *h = &w->answers[k];
        int idx = srv_paper_find(j->paper, (uint64_t)h->item);
        if (idx < 0) continue;                       /* no longer on the paper */
        j->paper->seq[idx] = h->seq;                 /* what the live entry knows is held */
        json_t *r;     /* a fill item's blanks go back as they came: an array */
        exam_response_view((enum bank_item_type)j->paper->types[idx], h->response, &r);
        json_array_append_new(answers, json_pack("{s:I, s:o, s:I}", "item", (json_int_t)h->item,
                                                 "response", r, "seq", (json_int_t)h->seq));
    }
    int done = w->status == SRV_ST_SUBMITTED;
    json_t *att = json_pack("{s:s, s:o, s:o}", "status", done ? "submitted" : "in_progress",
                            "deadline", exam__time_or_null(w->deadline), "submitted_at",
                            exam__time_or_null(w->submitted));
    if (att && done) {
        json_object_set_new(att, "submit_reason", json_string(w->reason));
        if (w->show) json_object_set_new(att, "score", json_real((double)w->score / 100.0));
    }
    json_t *o = answers && att
        ? json_pack("{s:s, s:o, s:I, s:o, s:I}", "type", "paper", "attempt", att, "server_time",
                    (json_int_t)kc_now_ms(), "answers", answers, "last_seq", (json_int_t)w->last_seq)
        : (json_decref(answers), json_decref(att), NULL);
    if (o && j->req_id >= 0) json_object_set_new(o, "id", json_integer(j->req_id));
    char *head = o ? exam__dump(o) : NULL;
    /* The stored paper goes into the reply as it is: no parse, no render. */
    j->reply = head ? splice_paper(head, pr, unchanged, key) : NULL;
    free(head);
    j->ok = j->reply != NULL;
    return j->reply ? 0 : KC_ENOMEM;
}

static void batch_end(batch *b)
{
    for (int i = 0; i < b->nr; i++) exam_rendered_release(b->rows[i].pr);
    kc_arena_free(b->A);
}

/* One transaction over the jobs still without a reply. */
static int starts_once(kc_db *db, const srv_ctx *x, srv_job **jobs, int n)
{
    batch b = {.db = db, .x = x, .A = kc_arena_new(0)};
    if (!b.A) return KC_ENOMEM;
    uint64_t *ids = kc_arena_alloc(b.A, (size_t)(n ? n : 1) * sizeof *ids);
    b.rows = kc_arena_alloc(b.A, (size_t)(n ? n : 1) * sizeof *b.rows);
    b.p = kc_arena_alloc(b.A, (size_t)(EXAM_ROWS_MAX + 2) * sizeof *b.p);
    if (!ids || !b.rows || !b.p) { batch_end(&b); return KC_ENOMEM; }
    int m = 0;
    for (int i = 0; i < n; i++) {
        srv_job *j = jobs[i];
        if (j->reply) continue;
        /* The hash of the paper the client holds, if any: checked before it costs anything. */
        const char *bad = *j->m.paper_hash && !exam_paper_hash_ok(j->m.paper_hash) ? "paper_hash"
                        : *j->m.sealed_hash && !exam_paper_hash_ok(j->m.sealed_hash) ? "sealed_hash" : NULL;
        if (bad) {
            char msg[96];
            snprintf(msg, sizeof msg, "%s: expected the 64 lower-case hex digits of a paper's hash", bad);
            j->reply = srv_msg_error_json(j->req_id, "bad_field", bad, msg);
            if (!j->reply) { batch_end(&b); return KC_ENOMEM; }
            continue;
        }
        ids[m++] = j->attempt_id;
    }
    if (!m) { batch_end(&b); return 0; }
    b.nr = exam__sort_unique(ids, m);
    for (int i = 0; i < b.nr; i++) b.rows[i] = (start_row){.id = ids[i]};

    int rc = kc_db_begin(db);
    if (!rc) rc = lock_rows(&b, ids);
    if (!rc) rc = read_papers(&b, ids);
    if (!rc) rc = read_sessions(&b, ids);
    int64_t now = kc_now_ms();      /* after the locks: a wait must not make a start early */
    if (!rc) rc = start_rows(&b, now, ids);
    if (rc) kc_db_rollback(db);
    else rc = kc_db_commit(db);
    if (rc) { batch_end(&b); return rc; }

    /* Committed. The paper: only its hash for a job whose client holds it, else the JSON. */
    for (int i = 0; i < n; i++) {
        srv_job *j = jobs[i];
        start_row *w = j->reply ? NULL : row_of(&b, j->attempt_id);
        if (w && !holds(j, w->hash)) w->need_json = 1;
    }
    if (!rc) rc = load_papers(&b, ids);
    if (!rc) rc = load_answers(&b, ids);
    for (int i = 0; i < n && !rc; i++) {
        srv_job *j = jobs[i];
        start_row *w = j->reply ? NULL : row_of(&b, j->attempt_id);
        if (w) rc = reply_for(x, j, w);
    }
    batch_end(&b);
    return rc;
}

/* Nothing of a batch that failed reaches a client: its replies are made again. */
static void forget(srv_job **jobs, int n, char *const *had)
{
    for (int i = 0; i < n; i++)
        if (!had[i]) {
            free(jobs[i]->reply);
            jobs[i]->reply = NULL;
            jobs[i]->ok = 0;
        }
}

static int starts_tries(kc_db *db, const srv_ctx *x, srv_job **jobs, int n, char **had)
{
    int rc = KC_ERETRY;
    for (int t = 0; t < START_TRIES && rc == KC_ERETRY; t++) {
        for (int i = 0; i < n; i++) had[i] = jobs[i]->reply;
        rc = starts_once(db, x, jobs, n);
        if (rc) forget(jobs, n, had);
    }
    return rc;
}

int exam_starts(kc_db *db, const srv_ctx *x, srv_job **jobs, int n)
{
    char *had1[1], **had = n > 1 ? calloc((size_t)n, sizeof *had) : had1;
    if (!had) return KC_ENOMEM;
    int rc = starts_tries(db, x, jobs, n, had);
    if (rc && rc != KC_ELOST && n > 1) {
        /* One broken attempt must not fail the rest: each alone, and only it fails. */
        KC_WARN("exam", "a batch of %d starts failed (%s); starting them one by one", n, db->err);
        rc = 0;
        for (int i = 0; i < n && rc != KC_ELOST; i++) {
            if (jobs[i]->reply) continue;
            int r = starts_tries(db, x, &jobs[i], 1, had);
            if (r == KC_ELOST) rc = r;
            else if (r) {
                KC_ERROR("exam", "attempt=%llu: start failed rc=%d: %s",
                         (unsigned long long)jobs[i]->attempt_id, r, db->err);
                jobs[i]->reply = srv_msg_error_json(jobs[i]->req_id, "internal", NULL,
                                                    "the server could not start the attempt; please retry");
                if (!jobs[i]->reply) rc = KC_ENOMEM;
            }
        }
    }
    if (had != had1) free(had);
    return rc;
}

int exam_start(kc_db *db, const srv_ctx *x, srv_job *j) { return exam_starts(db, x, &j, 1); }

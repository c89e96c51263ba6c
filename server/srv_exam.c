/* The exam, as the DB workers run it: login, start, answers (group-committed), submit and
 * the deadline sweep. Everything here runs on a worker thread with its own connection;
 * nothing here touches libwebsockets. Replies are built here as JSON text and handed back
 * to the service thread, which only sends them. */
#include "srv_int.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_TTL_MS (24LL * 3600 * 1000)

void srv_paper_free(srv_paper *p)
{
    if (!p) return;
    free(p->item_ids);
    free(p->n_options);
    free(p->types);
    free(p->n_blanks);
    free(p);
}

int srv_paper_find(const srv_paper *p, uint64_t item_id)
{
    int lo = 0, hi = p->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (p->item_ids[mid] == item_id) return mid;
        if (p->item_ids[mid] < item_id) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
}

void srv_job_free(srv_job *j)
{
    if (!j) return;
    free(j->reply);
    srv_paper_free(j->paper);
    proct_batch_free(j->events);
    for (int i = 0; i < j->n_swept; i++) free(j->swept_replies[i]);
    free(j->swept_replies);
    free(j->swept);
    free(j->text);
    srv_msg_free(&j->m);
    OPENSSL_cleanse(j->m.password, sizeof j->m.password);
    free(j);
}

/* ---- on the service thread: the connection's attempt, no database ---- */

#define EVENTS_PER_MINUTE 120      /* client events accepted per connection */

void srv_live_clear(srv_live *l)
{
    srv_paper_free(l->paper);
    memset(l, 0, sizeof *l);
}

void srv_live_apply(srv_live *l, srv_job *j)
{
    if (j->kind != SRV_JOB_MSG || !j->ok) {
        /* A submit of an attempt never started says so: keep the status it reports. */
        if (j->kind == SRV_JOB_MSG && j->status && j->attempt_id == l->attempt_id &&
            j->cmd->run == srv_exam_submit_msg)
            l->status = j->status;
        return;
    }
    if (j->cmd->flags & SRV_CMD_LOGIN) {
        if (l->attempt_id != j->attempt_id) {
            srv_paper_free(l->paper);
            l->paper = NULL;
        }
        l->attempt_id = j->attempt_id;
        l->status = j->status;
        l->deadline_ms = j->deadline_ms;
        return;
    }
    /* A start/submit queued before the connection logged in as someone else must not
     * change the new attempt's state. */
    if (j->attempt_id != l->attempt_id) return;
    if (j->status) l->status = j->status;
    if (j->cmd->run == srv_exam_start) {
        l->deadline_ms = j->deadline_ms;
        if (j->paper) {
            srv_paper_free(l->paper);
            l->paper = j->paper;
            j->paper = NULL;
        }
    }
}

static char *time_reply(const srv_live *l, int64_t id, int64_t now)
{
    json_t *o = json_pack("{s:s, s:I, s:o}", "type", "time", "server_time", (json_int_t)now,
                          "deadline", l->deadline_ms ? json_integer(l->deadline_ms) : json_null());
    if (o && id >= 0) json_object_set_new(o, "id", json_integer(id));
    if (!o) return NULL;
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

char *srv_exam_time(srv_live *l, const srv_msg *m, int64_t now, struct proct_buffer *ev)
{
    (void)ev;
    return time_reply(l, m->id, now);
}

/* Client events go to the proctoring buffer (written in batches), at most
 * EVENTS_PER_MINUTE per connection so a client cannot flood the record. */
char *srv_exam_heartbeat(srv_live *l, const srv_msg *m, int64_t now, struct proct_buffer *ev)
{
    if (now / 60000 != l->events_window) {
        l->events_window = now / 60000;
        l->events_in_window = 0;
    }
    for (int i = 0; i < m->n_events && l->events_in_window++ < EVENTS_PER_MINUTE; i++) {
        char detail[64];
        snprintf(detail, sizeof detail, "client_at=%lld", (long long)m->events[i].at_ms);
        proct_buffer_add(ev, l->attempt_id, now, m->events[i].kind, detail);
    }
    return time_reply(l, m->id, now);
}

static int refuse_msg(srv_msg_error *e, const char *code, const char *field, const char *msg)
{
    e->code = code;
    snprintf(e->field, sizeof e->field, "%s", field ? field : "");
    snprintf(e->message, sizeof e->message, "%s", msg);
    return KC_EINVAL;
}

int srv_exam_admit_answer(const srv_live *l, srv_msg *m, int64_t now, srv_msg_error *e)
{
    if (l->status == SRV_ST_SUBMITTED)
        return refuse_msg(e, "submitted", NULL, "the attempt is submitted; the answer was not saved");
    if (l->status != SRV_ST_IN_PROGRESS || !l->paper)
        return refuse_msg(e, "not_started", NULL, "start the attempt first");
    if (now >= l->deadline_ms)
        return refuse_msg(e, "time_over", NULL, "the deadline has passed; the answer was not saved");
    int idx = srv_paper_find(l->paper, (uint64_t)m->item);
    if (idx < 0) return refuse_msg(e, "bad_field", "item", "item: not an item of this paper");
    char norm[BANK_RESPONSE_MAX + 1];
    bank_rinfo ri = {(enum bank_item_type)l->paper->types[idx], l->paper->n_options[idx],
                     l->paper->n_blanks[idx]};
    if (bank_response_normalize(&ri, m->response, norm, sizeof norm))
        return refuse_msg(e, "bad_field", "response", "response: not a valid answer for this item");
    memcpy(m->response, norm, strlen(norm) + 1);
    return 0;
}

static char *dump(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static char *error_reply(int64_t id, const char *code, const char *message)
{
    return srv_msg_error_json(id, code, NULL, message);
}

static json_t *time_or_null(int64_t ms) { return ms ? json_integer(ms) : json_null(); }

static enum srv_attempt_status status_parse(const char *s)
{
    if (!strcmp(s, "not_started")) return SRV_ST_NOT_STARTED;
    if (!strcmp(s, "in_progress")) return SRV_ST_IN_PROGRESS;
    if (!strcmp(s, "submitted")) return SRV_ST_SUBMITTED;
    return SRV_ST_NONE;
}

/* ---- login / resume ---- */

#define ATTEMPT_SELECT                                                                     \
    "SELECT a.id, a.status, a.deadline_at, a.submitted_at, c.name, c.id_number, a.ticket_no," \
    " s.id, s.code, s.title, s.opens_at, s.closes_at, s.duration_s"                       \
    " FROM attempt a JOIN candidate c ON c.id = a.candidate_id"                            \
    " JOIN exam_session s ON s.id = a.session_id "
static const char SQL_BY_TICKET[] = ATTEMPT_SELECT "WHERE a.ticket_no = ?";
static const char SQL_BY_ID[] = ATTEMPT_SELECT "WHERE a.id = ?";

struct attempt_row {
    uint64_t id, session_id;
    char status[16], name[520], id_number[33], ticket[33], code[260], title[1024];
    int64_t deadline, submitted, opens, closes, duration_s;
};

static int fetch_attempt(kc_db *db, const char *sql, int by_id, uint64_t id, const char *ticket,
                         struct attempt_row *r, int *found)
{
    memset(r, 0, sizeof *r);
    int rc = by_id
        ? kc_db_query(db, sql, "u", "usttsssusstti", id, &r->id, r->status, sizeof r->status,
                       &r->deadline, &r->submitted, r->name, sizeof r->name, r->id_number,
                       sizeof r->id_number, r->ticket, sizeof r->ticket, &r->session_id, r->code,
                       sizeof r->code, r->title, sizeof r->title, &r->opens, &r->closes,
                       &r->duration_s)
        : kc_db_query(db, sql, "s", "usttsssusstti", ticket, &r->id, r->status,
                       sizeof r->status, &r->deadline, &r->submitted, r->name, sizeof r->name,
                       r->id_number, sizeof r->id_number, r->ticket, sizeof r->ticket,
                       &r->session_id, r->code, sizeof r->code, r->title, sizeof r->title,
                       &r->opens, &r->closes, &r->duration_s);
    if (rc) return rc;
    rc = kc_db_fetch(db, sql);
    kc_db_done(db, sql);
    if (rc < 0) return rc;
    *found = rc == 1;
    return 0;
}

static void normalize_id(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; *in && n + 1 < cap; in++)
        if (!isspace((unsigned char)*in))
            out[n++] = (char)toupper((unsigned char)*in);
    out[n] = 0;
}

static char *welcome(const srv_ctx *x, const struct attempt_row *r, int64_t req_id,
                     char *token, size_t toklen)
{
    int64_t now = kc_now_ms();
    srv_token_make(x->token_key, r->id, now + TOKEN_TTL_MS, token, toklen);
    json_t *o = json_pack(
        "{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:I, s:I, s:I}, s:{s:s, s:o, s:o}, s:I}",
        "type", "welcome", "token", token,
        "candidate", "name", r->name, "ticket", r->ticket,
        "session", "code", r->code, "title", r->title, "opens_at", (json_int_t)r->opens,
        "closes_at", (json_int_t)r->closes, "duration_s", (json_int_t)r->duration_s,
        "attempt", "status", r->status, "deadline", time_or_null(r->deadline),
        "submitted_at", time_or_null(r->submitted),
        "server_time", (json_int_t)now);
    if (!o) return NULL;
    if (req_id >= 0) json_object_set_new(o, "id", json_integer(req_id));
    return dump(o);
}

static int do_login(kc_db *db, const srv_ctx *x, srv_job *j, int login)
{
    struct attempt_row r;
    int found = 0, rc;
    if (login) {
        rc = fetch_attempt(db, SQL_BY_TICKET, 0, 0, j->m.ticket, &r, &found);
    } else {
        uint64_t aid;
        if (srv_token_check(x->token_key, j->m.token, kc_now_ms(), &aid)) {
            j->reply = srv_msg_error_json(j->req_id, "bad_token", "token",
                                          "the token is invalid or expired; log in again");
            return j->reply ? 0 : KC_ENOMEM;
        }
        rc = fetch_attempt(db, SQL_BY_ID, 1, aid, NULL, &r, &found);
    }
    if (rc) return rc;
    if (login) {
        char given[33];
        normalize_id(j->m.id_number, given, sizeof given);
        /* Constant-time compare of equal-length strings; different lengths fail anyway. */
        if (found && (strlen(given) != strlen(r.id_number) ||
                      CRYPTO_memcmp(given, r.id_number, strlen(given))))
            found = 0;
        if (!found) {
            j->reply = error_reply(j->req_id, "bad_credentials",
                                   "no candidate with this admission ticket and ID number");
            return 0;
        }
    } else if (!found) {
        j->reply = error_reply(j->req_id, "bad_token", "the attempt of this token no longer exists");
        return 0;
    }
    j->ok = 1;
    j->attempt_id = r.id;
    j->session_id = r.session_id;
    j->status = status_parse(r.status);
    j->deadline_ms = r.deadline;
    j->reply = welcome(x, &r, j->req_id, j->token, sizeof j->token);
    return j->reply ? 0 : KC_ENOMEM;
}

int srv_exam_login(kc_db *db, const srv_ctx *x, srv_job *j) { return do_login(db, x, j, 1); }
int srv_exam_resume(kc_db *db, const srv_ctx *x, srv_job *j) { return do_login(db, x, j, 0); }

/* ---- start ---- */

/* Only the attempt row is locked: a join with FOR UPDATE would lock the session and
 * paper rows too and serialise every start of the session. */
static const char SQL_START_LOCK[] =
    "SELECT status, extra_time_s, deadline_at, submitted_at, COALESCE(submit_reason, ''),"
    " score_centi, last_seq, session_id FROM attempt WHERE id = ? FOR UPDATE";
static const char SQL_SESSION_OF[] =
    "SELECT s.opens_at, s.closes_at, s.duration_s, s.show_score, COALESCE(t.title, p.title, s.title)"
    " FROM exam_session s LEFT JOIN paper_template t ON t.id = s.template_id"
    " LEFT JOIN paper p ON p.id = s.paper_id WHERE s.id = ?";
static const char SQL_START_SET[] =
    "UPDATE attempt SET status = 'in_progress', started_at = ?, deadline_at = ? WHERE id = ?";
/* The attempt's paper, made before the session opened (session prepare): its items in the
 * order shown with their option orders, and the section titles of the template it was
 * made from. */
static const char SQL_INSTANCE[] =
    "SELECT p.items, b.spec FROM paper_instance p JOIN paper_build b ON b.id = p.build_id"
    " WHERE p.attempt_id = ?";
#define INSTANCE_ITEMS \
    " FROM paper_instance p JOIN JSON_TABLE(p.items, '$[*]' COLUMNS (pos FOR ORDINALITY," \
    " item_id BIGINT UNSIGNED PATH '$.i', pts INT PATH '$.p', sec INT PATH '$.s')) AS jt"
static const char SQL_PAPER_ITEMS[] =
    "SELECT jt.item_id, jt.pos, jt.sec, jt.pts, i.type, i.stem, i.options, i.answer_key"
    INSTANCE_ITEMS " JOIN item i ON i.id = jt.item_id WHERE p.attempt_id = ? ORDER BY jt.pos";
/* Sub-items of the paper's composite items; their points are scaled to what the paper
 * gives the composite. */
static const char SQL_PAPER_CHILDREN[] =
    "SELECT c.parent_id, c.id, c.type, c.stem, c.options, c.answer_key, c.points_centi,"
    " pa.points_centi, jt.pts" INSTANCE_ITEMS
    " JOIN item pa ON pa.id = jt.item_id JOIN item c ON c.parent_id = pa.id"
    " WHERE p.attempt_id = ? ORDER BY jt.pos, c.sub_no";
static const char SQL_ANSWERS[] =
    "SELECT item_id, response, seq FROM answer WHERE attempt_id = ? ORDER BY item_id";

#define BIG 262144

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* What the stored paper says beyond its item rows: the option order shown for each item and
 * sub-item (by id), and the section titles. */
struct layout {
    int n, n_titles;
    struct { uint64_t id; char perm[BANK_MAX_OPTIONS + 1]; } *v;
    char **titles;
};

static void layout_free(struct layout *l)
{
    free(l->v);
    for (int i = 0; i < l->n_titles; i++) free(l->titles[i]);
    free(l->titles);
    memset(l, 0, sizeof *l);
}

static int layout_add(struct layout *l, int *cap, json_int_t id, json_t *perm)
{
    if (l->n == *cap) {
        *cap = *cap ? *cap * 2 : 128;
        void *v = realloc(l->v, (size_t)*cap * sizeof *l->v);
        if (!v) return KC_ENOMEM;
        l->v = v;
    }
    l->v[l->n].id = (uint64_t)id;
    snprintf(l->v[l->n].perm, sizeof l->v[l->n].perm, "%s", json_is_string(perm) ? json_string_value(perm) : "");
    l->n++;
    return 0;
}

/* items: paper_instance.items; spec: the template the build used (NULL: no titles). */
static int layout_parse(const char *items, const char *spec, struct layout *l)
{
    int cap = 0, rc = 0;
    json_t *a = json_loads(items, 0, NULL), *e, *c;
    size_t k, m;
    if (!json_is_array(a)) { json_decref(a); return KC_EDB; }
    json_array_foreach(a, k, e) {
        if ((rc = layout_add(l, &cap, json_integer_value(json_object_get(e, "i")), json_object_get(e, "o")))) break;
        json_array_foreach(json_object_get(e, "c"), m, c)
            if ((rc = layout_add(l, &cap, json_integer_value(json_array_get(c, 0)), json_array_get(c, 1)))) break;
        if (rc) break;
    }
    json_decref(a);
    json_t *sp = spec && !rc ? json_loads(spec, 0, NULL) : NULL, *secs = json_object_get(sp, "sections");
    if (json_is_array(secs) && json_array_size(secs)) {
        l->titles = calloc(json_array_size(secs), sizeof *l->titles);
        if (!l->titles) rc = KC_ENOMEM;
        json_array_foreach(secs, k, e) {
            if (rc) break;
            const char *t = json_string_value(json_object_get(e, "title"));
            if (!(l->titles[l->n_titles++] = strdup(t ? t : ""))) rc = KC_ENOMEM;
        }
    }
    json_decref(sp);
    return rc;
}

static const char *layout_perm(const struct layout *l, uint64_t id)
{
    for (int i = 0; i < l->n; i++)
        if (l->v[i].id == id) return l->v[i].perm;
    return "";
}

struct paper_build {
    srv_paper *p;
    int cap;
};

static int paper_add(struct paper_build *pb, uint64_t id, enum bank_item_type t, int n_options,
                     int n_blanks)
{
    srv_paper *p = pb->p;
    if (p->n == pb->cap) {
        int cap = pb->cap ? pb->cap * 2 : 64;
        uint64_t *ids = realloc(p->item_ids, (size_t)cap * sizeof *ids);
        if (ids) p->item_ids = ids;
        unsigned char *no = realloc(p->n_options, (size_t)cap);
        if (no) p->n_options = no;
        unsigned char *ty = realloc(p->types, (size_t)cap);
        if (ty) p->types = ty;
        unsigned char *nb = realloc(p->n_blanks, (size_t)cap);
        if (nb) p->n_blanks = nb;
        if (!ids || !no || !ty || !nb) return KC_ENOMEM;
        pb->cap = cap;
    }
    p->item_ids[p->n] = id;
    p->n_options[p->n] = (unsigned char)n_options;
    p->types[p->n] = (unsigned char)t;
    p->n_blanks[p->n] = (unsigned char)n_blanks;
    p->n++;
    return 0;
}

/* The candidate's view of one item: never its key, explanation or scoring rule. For a
 * fill-in item the key is read only to count its blanks. Returns NULL for an item that
 * cannot be delivered (logged). */
/* Media references become signed URLs (srv_media.c) in the stem and the options. */
struct media_sign {
    const srv_media_map *map;
    const unsigned char *key;
    int64_t expires_ms;
};

static json_t *signed_text(const struct media_sign *ms, uint64_t id, const char *html)
{
    if (!ms->map->n || !strstr(html, "\"media:")) return json_string(html);
    char *s = srv_media_rewrite(html, id, ms->map, ms->key, ms->expires_ms);
    json_t *v = s ? json_string(s) : NULL;
    free(s);
    return v;
}

/* perm: the option order shown ("CADB": the candidate's A is the item's C); "" keeps the
 * item's own order. */
static json_t *item_view(uint64_t paper_id, uint64_t id, const char *type, const char *stem,
                         const char *options, const char *perm, const char *key, int64_t points,
                         const struct media_sign *ms, enum bank_item_type *t, int *n_options,
                         int *n_blanks)
{
    *n_options = *n_blanks = 0;
    const char *why = NULL;
    json_t *o = NULL, *opts = NULL;
    if (bank_type_parse(type, t)) why = "unknown item type";
    else if (*t == BANK_PRACTICAL) why = "a practical task cannot be delivered in a computer exam";
    if (!why) o = json_pack("{s:I, s:s, s:o, s:f}", "item", (json_int_t)id, "type", type, "stem",
                            signed_text(ms, id, stem), "points", (double)points / 100.0);
    if (!why && !o) why = "stem is not valid UTF-8";
    if (!why && (*t == BANK_SINGLE || *t == BANK_MULTI)) {
        opts = json_loads(options, 0, NULL);
        json_t *view = json_array(), *v;
        size_t n = json_is_array(opts) ? json_array_size(opts) : 0;
        if (*perm && strlen(perm) != n) why = "its stored option order does not fit its options";
        for (size_t k = 0; !why && n <= BANK_MAX_OPTIONS && k < n; k++) {
            size_t from = *perm ? (size_t)(perm[k] - 'A') : k;
            v = from < n ? json_array_get(opts, from) : NULL;
            char letter[2] = {(char)('A' + k), 0};
            json_t *ov = json_is_string(v) ? json_pack("{s:s, s:o}", "key", letter, "text",
                                                       signed_text(ms, id, json_string_value(v)))
                                           : NULL;
            if (ov) json_array_append_new(view, ov);
        }
        if (!why && (!n || json_array_size(view) != n || n < 2)) why = "options cannot be rendered";
        *n_options = (int)json_array_size(view);
        json_object_set_new(o, "options", view);
    }
    if (!why && *t == BANK_FILL) {
        kc_arena *a = kc_arena_new(0);
        bank_blank *blanks;
        char reason[128];
        if (!a || bank_fill_key_parse(key, a, &blanks, n_blanks, reason, sizeof reason))
            why = "its fill key does not parse";
        else
            json_object_set_new(o, "blanks", json_integer(*n_blanks));
        kc_arena_free(a);
    }
    json_decref(opts);
    if (why) {
        /* Never hand out a paper with an item missing: fail the start instead. */
        KC_ERROR("exam", "paper=%llu item=%llu cannot be delivered: %s",
                  (unsigned long long)paper_id, (unsigned long long)id, why);
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Loads the candidate's view of the paper into items, and the answerable items (with what
 * the service thread needs to check a response) into *out. */
static int load_paper(kc_db *db, const srv_ctx *x, uint64_t attempt_id,
                      const struct layout *lay, int64_t expires_ms, json_t *items,
                      srv_paper **out, int64_t *total_centi)
{
    const uint64_t paper_id = attempt_id;     /* for messages */
    srv_media_map map = {0};
    const struct media_sign ms = {&map, x->media_key, expires_ms};
    uint64_t item_id, parent_id, cum_parent = 0;
    int64_t pos, points, own_points, parent_points, cum = 0;
    int64_t sec;
    char type[17];
    char *stem = malloc(BIG), *options = malloc(BIG), *key = malloc(BIG);
    struct paper_build pb = {calloc(1, sizeof(srv_paper)), 0};
    json_t *by_id = json_object();    /* composite id -> its view, to attach the children */
    int rc = KC_ENOMEM;
    if (!stem || !options || !key || !pb.p || !by_id) goto out;
    if ((rc = srv_media_load_attempt(db, attempt_id, &map))) goto out;
    rc = KC_ENOMEM;
    pb.p->attempt_id = attempt_id;
    *total_centi = 0;
    rc = kc_db_query(db, SQL_PAPER_ITEMS, "u", "uiiissss", attempt_id, &item_id, &pos, &sec,
                      &points, type, sizeof type, stem, (size_t)BIG, options, (size_t)BIG, key,
                      (size_t)BIG);
    while (!rc && (rc = kc_db_fetch(db, SQL_PAPER_ITEMS)) == 1) {
        rc = 0;
        enum bank_item_type t;
        int n_opt, n_blk;
        json_t *iv;
        if (!strcmp(type, "composite")) {
            iv = json_pack("{s:I, s:s, s:o, s:f, s:[]}", "item", (json_int_t)item_id, "type", type,
                           "stem", signed_text(&ms, item_id, stem), "points", (double)points / 100.0,
                           "children");
            if (!iv) KC_ERROR("exam", "paper=%llu item=%llu: stem is not valid UTF-8",
                               (unsigned long long)paper_id, (unsigned long long)item_id);
        } else {
            iv = item_view(paper_id, item_id, type, stem, options, layout_perm(lay, item_id), key,
                           points, &ms, &t, &n_opt, &n_blk);
            if (iv && (rc = paper_add(&pb, item_id, t, n_opt, n_blk))) { json_decref(iv); break; }
        }
        if (!iv) { rc = KC_EDB; break; }
        json_object_set_new(iv, "no", json_integer(pos));
        json_object_set_new(iv, "section",
                            json_string(sec >= 0 && sec < lay->n_titles ? lay->titles[sec] : ""));
        if (!strcmp(type, "composite")) {
            char k[24];
            snprintf(k, sizeof k, "%llu", (unsigned long long)item_id);
            json_object_set(by_id, k, iv);
        }
        json_array_append_new(items, iv);
        *total_centi += points;
    }
    kc_db_done(db, SQL_PAPER_ITEMS);
    if (rc < 0) goto out;
    rc = kc_db_query(db, SQL_PAPER_CHILDREN, "u", "uussssiii", attempt_id, &parent_id, &item_id,
                      type, sizeof type, stem, (size_t)BIG, options, (size_t)BIG, key,
                      (size_t)BIG, &own_points, &parent_points, &points);
    while (!rc && (rc = kc_db_fetch(db, SQL_PAPER_CHILDREN)) == 1) {
        rc = 0;
        char k[24];
        snprintf(k, sizeof k, "%llu", (unsigned long long)parent_id);
        json_t *parent = json_object_get(by_id, k);
        if (!parent) continue;
        enum bank_item_type t;
        int n_opt, n_blk;
        /* Rounded by the running sum, so the shown points add up to the composite's. */
        if (parent_id != cum_parent) { cum_parent = parent_id; cum = 0; }
        int64_t shown = own_points;
        if (parent_points > 0) {
            shown = (cum + own_points) * points / parent_points - cum * points / parent_points;
            cum += own_points;
        }
        json_t *cv = item_view(paper_id, item_id, type, stem, options, layout_perm(lay, item_id),
                               key, shown, &ms, &t, &n_opt, &n_blk);
        if (!cv || t == BANK_COMPOSITE) { json_decref(cv); rc = KC_EDB; break; }
        if ((rc = paper_add(&pb, item_id, t, n_opt, n_blk))) { json_decref(cv); break; }
        json_array_append_new(json_object_get(parent, "children"), cv);
    }
    kc_db_done(db, SQL_PAPER_CHILDREN);
    if (rc < 0) goto out;
    rc = 0;
    /* Sort ids with their attributes for binary search on the service thread. */
    {
        srv_paper *p = pb.p;
        struct ent { uint64_t id; unsigned char no, ty, nb; } *e = malloc((size_t)p->n * sizeof *e + 1);
        if (!e) { rc = KC_ENOMEM; goto out; }
        for (int i = 0; i < p->n; i++)
            e[i] = (struct ent){p->item_ids[i], p->n_options[i], p->types[i], p->n_blanks[i]};
        qsort(e, (size_t)p->n, sizeof *e, cmp_u64);   /* id is the first member */
        for (int i = 0; i < p->n; i++) {
            p->item_ids[i] = e[i].id;
            p->n_options[i] = e[i].no;
            p->types[i] = e[i].ty;
            p->n_blanks[i] = e[i].nb;
        }
        free(e);
    }
    *out = pb.p;
    pb.p = NULL;
out:
    free(stem);
    free(options);
    free(key);
    json_decref(by_id);
    srv_paper_free(pb.p);
    srv_media_map_free(&map);
    return rc;
}

int srv_exam_start(kc_db *db, const srv_ctx *x, srv_job *j)
{
    char status[16], reason[16], title[1024];
    int64_t extra, deadline, submitted, score, last_seq, opens, closes, duration, show;
    uint64_t session_id;
    int rc = kc_db_begin(db);
    if (rc) return rc;
    rc = kc_db_query(db, SQL_START_LOCK, "u", "sittsiiu", j->attempt_id, status, sizeof status,
                      &extra, &deadline, &submitted, reason, sizeof reason, &score, &last_seq,
                      &session_id);
    if (!rc) {
        rc = kc_db_fetch(db, SQL_START_LOCK);
        kc_db_done(db, SQL_START_LOCK);
        if (rc == 0) {
            kc_db_rollback(db);
            j->reply = error_reply(j->req_id, "bad_token", "attempt not found");
            return 0;
        }
        if (rc == 1) rc = 0;
    }
    if (!rc) rc = kc_db_query(db, SQL_SESSION_OF, "u", "ttiis", session_id, &opens, &closes,
                               &duration, &show, title, sizeof title);
    if (!rc) {
        rc = kc_db_fetch(db, SQL_SESSION_OF);
        kc_db_done(db, SQL_SESSION_OF);
        rc = rc == 1 ? 0 : rc == 0 ? KC_ENOTFOUND : rc;
    }
    /* Starting is a read of the paper made before the session opened: without one the
     * attempt does not start (and its clock does not run). */
    char *inst = malloc(BIG * 4), *spec = malloc(BIG);
    int have = 0;
    if (!inst || !spec) rc = rc ? rc : KC_ENOMEM;
    if (!rc) rc = kc_db_query(db, SQL_INSTANCE, "u", "ss", j->attempt_id, inst, (size_t)BIG * 4,
                               spec, (size_t)BIG);
    if (!rc) {
        rc = kc_db_fetch(db, SQL_INSTANCE);
        kc_db_done(db, SQL_INSTANCE);
        if (rc >= 0) { have = rc; rc = 0; }
    }
    if (rc) { kc_db_rollback(db); free(inst); free(spec); return rc; }
    if (!have) {
        kc_db_rollback(db);
        free(inst);
        free(spec);
        j->reply = error_reply(j->req_id, "not_prepared",
                               "the papers of this session are not ready yet; ask the proctor");
        return 0;
    }
    struct layout lay = {0};
    rc = layout_parse(inst, spec, &lay);
    free(inst);
    free(spec);
    if (rc) {
        KC_ERROR("exam", "attempt=%llu: its stored paper does not parse", (unsigned long long)j->attempt_id);
        kc_db_rollback(db);
        layout_free(&lay);
        return rc;
    }
    int64_t now = kc_now_ms();      /* after the lock: a wait must not make it early */
    j->status = status_parse(status);
    if (j->status == SRV_ST_NOT_STARTED) {
        if (now < opens || now >= closes) {
            kc_db_rollback(db);
            char a[32], b[32], msg[160];
            kc_format_iso(opens, a, sizeof a);
            kc_format_iso(closes, b, sizeof b);
            snprintf(msg, sizeof msg, "the session is open from %s to %s (UTC)", a, b);
            j->reply = error_reply(j->req_id, "not_open", msg);
            layout_free(&lay);
            return 0;
        }
        deadline = now + (duration + extra) * 1000;
        if (deadline > closes) deadline = closes;
        rc = kc_db_exec(db, SQL_START_SET, "ttu", now, deadline, j->attempt_id);
        if (rc) { kc_db_rollback(db); layout_free(&lay); return rc; }
        j->status = SRV_ST_IN_PROGRESS;
    }
    if ((rc = kc_db_commit(db))) { layout_free(&lay); return rc; }
    j->deadline_ms = deadline;

    json_t *items = json_array(), *answers = json_array();
    int64_t total = 0;
    srv_paper_free(j->paper);        /* a retried job starts afresh */
    j->paper = NULL;
    /* Media URLs outlive the deadline by an hour, so a late reload still shows images. */
    int64_t media_exp = (deadline > now ? deadline : now) + SRV_MEDIA_AFTER_DEADLINE_MS;
    rc = load_paper(db, x, j->attempt_id, &lay, media_exp, items, &j->paper, &total);
    layout_free(&lay);
    uint64_t item;
    char response[BANK_RESPONSE_MAX + 1];
    int64_t seq;
    if (!rc) rc = kc_db_query(db, SQL_ANSWERS, "u", "usi", j->attempt_id, &item, response,
                               sizeof response, &seq);
    while (!rc && (rc = kc_db_fetch(db, SQL_ANSWERS)) == 1) {
        rc = 0;
        int idx = srv_paper_find(j->paper, item);
        if (idx < 0) continue;                       /* no longer on the paper */
        json_t *r;
        if (j->paper->types[idx] == BANK_FILL) {     /* blanks go back as they came: an array */
            r = json_array();
            for (char *p = response, *sep;; p = sep + 1) {
                sep = strchr(p, BANK_BLANK_SEP);
                json_array_append_new(r, json_stringn(p, sep ? (size_t)(sep - p) : strlen(p)));
                if (!sep) break;
            }
        } else {
            r = json_string(response);
        }
        json_array_append_new(answers, json_pack("{s:I, s:o, s:I}", "item", (json_int_t)item,
                                                 "response", r, "seq", (json_int_t)seq));
    }
    kc_db_done(db, SQL_ANSWERS);
    if (rc < 0) { json_decref(items); json_decref(answers); return rc; }
    json_t *att = json_pack("{s:s, s:o, s:o}", "status", j->status == SRV_ST_SUBMITTED ? "submitted" : "in_progress",
                            "deadline", time_or_null(deadline), "submitted_at", time_or_null(submitted));
    if (j->status == SRV_ST_SUBMITTED) {
        json_object_set_new(att, "submit_reason", json_string(reason));
        if (show) json_object_set_new(att, "score", json_real((double)score / 100.0));
    }
    json_t *o = json_pack("{s:s, s:o, s:I, s:{s:s, s:f, s:o}, s:o, s:I}", "type", "paper",
                          "attempt", att, "server_time", (json_int_t)kc_now_ms(), "paper",
                          "title", title, "total_points", (double)total / 100.0, "items", items,
                          "answers", answers, "last_seq", (json_int_t)last_seq);
    if (!o) return KC_ENOMEM;
    if (j->req_id >= 0) json_object_set_new(o, "id", json_integer(j->req_id));
    j->reply = dump(o);
    j->ok = 1;
    return j->reply ? 0 : KC_ENOMEM;
}

/* ---- submit ---- */

static const char SQL_SUBMIT_LOCK[] =
    "SELECT status, deadline_at, submitted_at, COALESCE(submit_reason, ''), score_centi,"
    " session_id FROM attempt WHERE id = ? FOR UPDATE";
static const char SQL_SESSION_PAPER[] =
    "SELECT s.show_score, COALESCE(p.items, '') FROM exam_session s"
    " LEFT JOIN paper_instance p ON p.attempt_id = ? WHERE s.id = ?";
/* Every answerable item of the attempt's paper: an item on the paper itself (group 0,
 * scored at the paper's points), or a composite's sub-item (group = the composite, scored
 * at its own points; the composite's sum is scaled once to the paper's points, so full
 * marks stay reachable whatever the ratio). Responses are as the candidate saw the
 * options; the paper's option orders map them back to the keys. */
#define SCORE_ITEMS \
    " FROM paper_instance p JOIN JSON_TABLE(p.items, '$[*]' COLUMNS (item_id BIGINT UNSIGNED" \
    " PATH '$.i', pts INT PATH '$.p')) AS jt"
static const char SQL_SCORE_ROWS[] =
    "SELECT 0, i.id, jt.pts, jt.pts, jt.pts, i.type, i.answer_key,"
    " COALESCE(i.mc_policy, 'all'), COALESCE(ans.response, '')" SCORE_ITEMS
    " JOIN item i ON i.id = jt.item_id"
    " LEFT JOIN answer ans ON ans.attempt_id = p.attempt_id AND ans.item_id = i.id"
    " WHERE p.attempt_id = ? AND i.type <> 'composite'"
    " UNION ALL"
    " SELECT pa.id, c.id, jt.pts, c.points_centi, pa.points_centi, c.type, c.answer_key,"
    " COALESCE(c.mc_policy, 'all'), COALESCE(ans.response, '')" SCORE_ITEMS
    " JOIN item pa ON pa.id = jt.item_id JOIN item c ON c.parent_id = pa.id"
    " LEFT JOIN answer ans ON ans.attempt_id = p.attempt_id AND ans.item_id = c.id"
    " WHERE p.attempt_id = ? ORDER BY 1";
static const char SQL_SUBMIT_SET[] =
    "UPDATE attempt SET status = 'submitted', submitted_at = ?, submit_reason = ?,"
    " score_centi = ? WHERE id = ?";

static char *submitted_reply(int64_t req_id, const char *reason, int64_t at, int show,
                             int64_t score)
{
    json_t *o = json_pack("{s:s, s:s, s:I}", "type", "submitted", "reason", reason,
                          "submitted_at", (json_int_t)at);
    if (!o) return NULL;
    if (req_id >= 0) json_object_set_new(o, "id", json_integer(req_id));
    if (show) json_object_set_new(o, "score", json_real((double)score / 100.0));
    return dump(o);
}

int srv_exam_submit(kc_db *db, uint64_t attempt_id, const char *reason, int64_t now,
                    int64_t req_id, char **reply, int *already)
{
    char status[16], old_reason[16];
    int64_t deadline, submitted, score, show;
    uint64_t session_id;
    *already = 0;
    int rc = kc_db_begin(db);
    if (rc) return rc;
    rc = kc_db_query(db, SQL_SUBMIT_LOCK, "u", "sttsiu", attempt_id, status, sizeof status,
                      &deadline, &submitted, old_reason, sizeof old_reason, &score, &session_id);
    if (!rc) {
        rc = kc_db_fetch(db, SQL_SUBMIT_LOCK);
        kc_db_done(db, SQL_SUBMIT_LOCK);
        if (rc == 0) rc = KC_ENOTFOUND;
        if (rc == 1) rc = 0;
    }
    struct layout lay = {0};
    char *inst = malloc(BIG * 4);
    if (!inst) rc = rc ? rc : KC_ENOMEM;
    if (!rc) rc = kc_db_query(db, SQL_SESSION_PAPER, "uu", "is", attempt_id, session_id, &show,
                               inst, (size_t)BIG * 4);
    if (!rc) {
        rc = kc_db_fetch(db, SQL_SESSION_PAPER);
        kc_db_done(db, SQL_SESSION_PAPER);
        rc = rc == 1 ? 0 : rc == 0 ? KC_ENOTFOUND : rc;
    }
    /* A started attempt always has its paper; one without is not scored as zero. */
    if (!rc && (!*inst || layout_parse(inst, NULL, &lay))) {
        KC_ERROR("exam", "attempt=%llu: no stored paper to score", (unsigned long long)attempt_id);
        rc = KC_EDB;
    }
    free(inst);
    if (rc) { kc_db_rollback(db); layout_free(&lay); return rc; }
    now = now > kc_now_ms() ? now : kc_now_ms();   /* a lock wait only makes it later */
    enum srv_attempt_status st = status_parse(status);
    if (st != SRV_ST_IN_PROGRESS) {
        kc_db_rollback(db);
        layout_free(&lay);
        *already = st == SRV_ST_NOT_STARTED ? 2 : 1;
        if (st == SRV_ST_NOT_STARTED)
            *reply = error_reply(req_id, "not_started", "the attempt has not been started");
        else
            *reply = submitted_reply(req_id, old_reason, submitted, (int)show, score);
        return *reply ? 0 : KC_ENOMEM;
    }
    /* Past the deadline the attempt ended at the deadline, whoever asks. */
    if (now >= deadline) {
        reason = "deadline";
        now = deadline;
    }
    /* Only objective items are scored here; examiners score the rest (score_centi is the
     * objective part until then). */
    uint64_t group, cur = 0, item_id;
    int64_t points, own, whole, total = 0, raw = 0, cur_points = 0, cur_whole = 0;
    char type[17], policy[9], response[BANK_RESPONSE_MAX + 1], keyed[BANK_RESPONSE_MAX + 1];
    char *key = malloc(BIG);
    if (!key) { kc_db_rollback(db); layout_free(&lay); return KC_ENOMEM; }
    rc = kc_db_query(db, SQL_SCORE_ROWS, "uu", "uuiiissss", attempt_id, attempt_id, &group,
                      &item_id, &points, &own, &whole, type, sizeof type, key, (size_t)BIG,
                      policy, sizeof policy, response, sizeof response);
    for (;;) {
        int f = rc ? rc : kc_db_fetch(db, SQL_SCORE_ROWS);
        if (f < 0) { rc = f; break; }
        rc = 0;
        if (f == 0 || group != cur) {       /* a composite ends: scale its sum once */
            if (cur && cur_whole > 0) total += raw * cur_points / cur_whole;
            if (f == 0) break;
            cur = group;
            raw = 0;
            cur_points = points;
            cur_whole = whole;
        }
        enum bank_item_type t;
        enum bank_mc_policy mp = BANK_MC_ALL;
        bank_mc_policy_parse(policy, &mp);
        int got = 0;
        if (bank_type_parse(type, &t) == 0 &&
            bank_response_unshuffle(t, layout_perm(&lay, item_id), response, keyed, sizeof keyed) == 0)
            got = bank_score(t, key, mp, keyed, (int)own);
        if (got > 0) {
            if (group) raw += got;
            else total += got;
        }
    }
    free(key);
    layout_free(&lay);
    kc_db_done(db, SQL_SCORE_ROWS);
    if (rc < 0) { kc_db_rollback(db); return rc; }
    rc = kc_db_exec(db, SQL_SUBMIT_SET, "tsiu", now, reason, total, attempt_id);
    if (!rc) rc = kc_db_commit(db);
    if (rc) { kc_db_rollback(db); return rc; }
    *reply = submitted_reply(req_id, reason, now, (int)show, total);
    return *reply ? 0 : KC_ENOMEM;
}

/* ---- the deadline sweep ---- */

static const char SQL_DUE[] =
    "SELECT id FROM attempt WHERE status = 'in_progress' AND deadline_at <= ?"
    " ORDER BY deadline_at LIMIT 500";

int srv_exam_sweep(kc_db *db, const srv_ctx *x, srv_job *j)
{
    uint64_t ids[500], id;
    int n = 0;
    int64_t now = kc_now_ms();
    int rc = kc_db_query(db, SQL_DUE, "t", "u", now, &id);
    while (!rc && (rc = kc_db_fetch(db, SQL_DUE)) == 1) {
        rc = 0;
        if (n < 500) ids[n++] = id;
    }
    kc_db_done(db, SQL_DUE);
    if (rc < 0) return rc;
    if (!n) return 0;
    /* A retried sweep keeps what the first round already submitted (and must push). */
    uint64_t *sw = realloc(j->swept, (size_t)(j->n_swept + n) * sizeof *sw);
    if (!sw) return KC_ENOMEM;
    j->swept = sw;
    char **sr = realloc(j->swept_replies, (size_t)(j->n_swept + n) * sizeof *sr);
    if (!sr) return KC_ENOMEM;
    j->swept_replies = sr;
    for (int i = 0; i < n; i++) {
        char *reply = NULL;
        int already;
        /* Another node may have submitted it meanwhile: then there is nothing to push. */
        rc = srv_exam_submit(db, ids[i], "deadline", kc_now_ms(), -1, &reply, &already);
        if (rc) { free(reply); return rc; }
        if (already) { free(reply); continue; }
        j->swept[j->n_swept] = ids[i];
        j->swept_replies[j->n_swept++] = reply;
        KC_INFO("exam", "auto-submitted at deadline attempt=%llu", (unsigned long long)ids[i]);
    }
    return 0;
}

/* ---- answers, many candidates per transaction ---- */

static const char SQL_ANSWER_LOCK[] =
    "SELECT status, deadline_at FROM attempt WHERE id = ? FOR UPDATE";
static const char SQL_ANSWER_PUT[] =
    "INSERT INTO answer (attempt_id, item_id, response, seq, saved_at) VALUES (?, ?, ?, ?, ?)"
    " ON DUPLICATE KEY UPDATE"
    " response = IF(VALUES(seq) > seq, VALUES(response), response),"
    " saved_at = IF(VALUES(seq) > seq, VALUES(saved_at), saved_at),"
    " seq = GREATEST(seq, VALUES(seq))";   /* last: the IFs above must see the old seq */
static const char SQL_LAST_SEQ[] =
    "UPDATE attempt SET last_seq = GREATEST(last_seq, ?) WHERE id = ?";

static int cmp_job_attempt(const void *a, const void *b)
{
    const srv_job *x = *(srv_job *const *)a, *y = *(srv_job *const *)b;
    if (x->attempt_id != y->attempt_id) return x->attempt_id < y->attempt_id ? -1 : 1;
    return x->m.seq < y->m.seq ? -1 : x->m.seq > y->m.seq;
}

/* One transaction over jobs[0..n), sorted by attempt: see srv_answers_ops.tx. */
static int answers_once(void *arg, srv_job **jobs, int n, int *bad_lo, int *bad_hi)
{
    kc_db *db = arg;
    /* Lock attempts in id order so concurrent batches cannot deadlock, and so a submit
     * (which locks the attempt too) sees either none or all of a transaction's answers. */
    *bad_lo = 0;
    *bad_hi = n;
    int rc = kc_db_begin(db);
    if (rc) return rc;
    for (int i = 0; i < n && !rc;) {
        uint64_t aid = jobs[i]->attempt_id;
        int end = i;
        while (end < n && jobs[end]->attempt_id == aid) end++;
        char status[16];
        int64_t deadline;
        rc = kc_db_query(db, SQL_ANSWER_LOCK, "u", "st", aid, status, sizeof status, &deadline);
        if (!rc) {
            rc = kc_db_fetch(db, SQL_ANSWER_LOCK);
            kc_db_done(db, SQL_ANSWER_LOCK);
            if (rc == 0) strcpy(status, "gone");
            if (rc >= 0) rc = 0;
        }
        if (rc) {
            *bad_lo = i;             /* this attempt's answers */
            *bad_hi = end;
            break;
        }
        int64_t now = kc_now_ms();  /* after the lock: waiting for it must not let a late answer in */
        enum srv_attempt_status st = status_parse(status);
        int64_t max_seq = 0;
        for (int k = i; k < end; k++) {
            srv_job *j = jobs[k];
            free(j->reply);
            j->reply = NULL;
            j->ok = 0;
            if (st == SRV_ST_SUBMITTED)
                j->reply = error_reply(j->req_id, "submitted", "the attempt is submitted; the answer was not saved");
            else if (st != SRV_ST_IN_PROGRESS)
                j->reply = error_reply(j->req_id, "not_started", "the attempt has not been started");
            else if (now >= deadline)
                j->reply = error_reply(j->req_id, "time_over", "the deadline has passed; the answer was not saved");
            else {
                rc = kc_db_exec(db, SQL_ANSWER_PUT, "uusit", aid, (uint64_t)j->m.item, j->m.response,
                                 j->m.seq, now);
                if (rc) {
                    *bad_lo = k;     /* this answer */
                    *bad_hi = k + 1;
                    break;
                }
                j->ok = 1;
                if (j->m.seq > max_seq) max_seq = j->m.seq;
            }
        }
        if (!rc && max_seq && (rc = kc_db_exec(db, SQL_LAST_SEQ, "iu", max_seq, aid))) {
            *bad_lo = i;
            *bad_hi = end;
        }
        i = end;
    }
    if (!rc && (rc = kc_db_commit(db))) {
        *bad_lo = 0;
        *bad_hi = n;
    }
    if (rc) {
        kc_db_rollback(db);
        return rc;
    }
    for (int i = 0; i < n; i++) {
        srv_job *j = jobs[i];
        if (!j->ok) continue;
        json_t *o = json_pack("{s:s, s:I, s:I}", "type", "ack", "item", (json_int_t)j->m.item,
                              "seq", (json_int_t)j->m.seq);
        if (o && j->req_id >= 0) json_object_set_new(o, "id", json_integer(j->req_id));
        j->reply = o ? dump(o) : NULL;
    }
    return 0;
}

static const char *answers_why(void *arg) { return ((kc_db *)arg)->err; }

#define ANSWER_TRIES 3             /* transactions per set of answers on deadlocks, lock waits */

/* Nothing of a transaction that did not commit may reach a client. */
static void answers_forget(srv_job **jobs, int n)
{
    for (int i = 0; i < n; i++) {
        free(jobs[i]->reply);
        jobs[i]->reply = NULL;
        jobs[i]->ok = 0;
    }
}

static void answers_reverse(srv_job **jobs, int lo, int hi)
{
    for (hi--; lo < hi; lo++, hi--) {
        srv_job *t = jobs[lo];
        jobs[lo] = jobs[hi];
        jobs[hi] = t;
    }
}

/* jobs[lo..hi) moves to the end of jobs[0..n): both parts keep their order (so their sort). */
static void answers_to_end(srv_job **jobs, int lo, int hi, int n)
{
    answers_reverse(jobs, lo, hi);
    answers_reverse(jobs, hi, n);
    answers_reverse(jobs, lo, n);
}

int srv__answers_run(const srv_answers_ops *ops, srv_job **jobs, int n)
{
    if (n <= 0) return 0;
    qsort(jobs, (size_t)n, sizeof *jobs, cmp_job_attempt);
    /* Sets of answers still to commit, each a run of jobs sorted by attempt. Every set taken
     * off leaves at most two disjoint ones: never more than n at once. */
    struct range { int lo, hi; } *todo = malloc((size_t)n * sizeof *todo);
    if (!todo) return KC_ENOMEM;
    int top = 0;
    todo[top++] = (struct range){0, n};
    answers_forget(jobs, n);
    while (top) {
        struct range r = todo[--top];
        srv_job **js = jobs + r.lo;
        int m = r.hi - r.lo, bad_lo = 0, bad_hi = m, rc = 0;
        for (int t = 0; t < ANSWER_TRIES; t++) {
            bad_lo = 0;
            bad_hi = m;
            rc = ops->tx(ops->arg, js, m, &bad_lo, &bad_hi);
            if (rc) answers_forget(js, m);
            /* Deadlocks and lock timeouts (by error number) are transient: run them again. */
            if (rc != KC_ERETRY) break;
        }
        if (!rc) continue;
        if (rc == KC_ELOST) {
            /* The pool reconnects and runs the whole batch again: what was committed is
             * acknowledged again then (a seq that is not newer changes nothing). */
            free(todo);
            return rc;
        }
        if (rc == KC_ERETRY) {
            KC_WARN("exam", "answers=%d: deadlocks or lock waits after %d tries: %s", m, ANSWER_TRIES,
                    ops->why(ops->arg));
            for (int i = 0; i < m; i++)
                js[i]->reply = error_reply(js[i]->req_id, "internal",
                                           "the database was busy; the answer was not saved, please send it again");
            continue;
        }
        if (m == 1) {
            /* Failed alone: this answer is what the database refuses. */
            srv_job *j = js[0];
            KC_ERROR("exam", "attempt=%llu item=%lld seq=%lld: the answer could not be stored: %s",
                     (unsigned long long)j->attempt_id, (long long)j->m.item, (long long)j->m.seq,
                     ops->why(ops->arg));
            j->reply = error_reply(j->req_id, "not_saved",
                                   "the answer could not be stored (the database refused it; logged); it was not saved");
            continue;
        }
        if (bad_lo < 0) bad_lo = 0;
        if (bad_hi > m) bad_hi = m;
        KC_WARN("exam", "answers=%d not committed, committing them apart (%d suspect): %s", m,
                bad_hi > bad_lo ? bad_hi - bad_lo : m, ops->why(ops->arg));
        if (bad_lo >= bad_hi || (bad_lo == 0 && bad_hi == m)) {
            /* Nothing narrower to suspect: halves, the first one first. */
            todo[top++] = (struct range){r.lo + m / 2, r.hi};
            todo[top++] = (struct range){r.lo, r.lo + m / 2};
        } else {
            /* The rest first (it usually commits), then the suspects on their own. */
            int k = bad_hi - bad_lo;
            answers_to_end(js, bad_lo, bad_hi, m);
            todo[top++] = (struct range){r.hi - k, r.hi};
            todo[top++] = (struct range){r.lo, r.hi - k};
        }
    }
    free(todo);
    return 0;
}

int srv_exam_answers(kc_db *db, const srv_ctx *x, srv_job **jobs, int n)
{
    (void)x;
    srv_answers_ops ops = {db, answers_once, answers_why};
    return srv__answers_run(&ops, jobs, n);
}

int srv_exam_answer(kc_db *db, const srv_ctx *x, srv_job *j) { return srv_exam_answers(db, x, &j, 1); }

int srv_exam_submit_msg(kc_db *db, const srv_ctx *x, srv_job *j)
{
    int already;
    int rc = srv_exam_submit(db, j->attempt_id, "candidate", kc_now_ms(), j->req_id, &j->reply,
                             &already);
    if (rc == KC_ENOTFOUND) {
        j->reply = error_reply(j->req_id, "bad_token", "attempt not found");
        return 0;
    }
    if (!rc) {
        j->ok = already != 2;
        j->status = already == 2 ? SRV_ST_NOT_STARTED : SRV_ST_SUBMITTED;
    }
    return rc;
}

int srv_exam_events(kc_db *db, const srv_ctx *x, srv_job *j) { return proct_store_batch(db, j->events); }

int srv_exam_prepare_due(kc_db *db, const srv_ctx *x, srv_job *j) { return srv_prepare_due(db, x); }

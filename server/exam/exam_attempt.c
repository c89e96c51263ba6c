/* The exam, as the DB workers run it: login, start, answers (group-committed), submit and
 * the deadline sweep. Everything here runs on a worker thread with its own connection;
 * nothing here touches libwebsockets. Replies are built here as JSON text and handed back
 * to the service thread, which only sends them. */
#include "exam.h"
#include "../media/media.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_TTL_MS (24LL * 3600 * 1000)


char *exam__dump(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

char *exam__error_reply(int64_t id, const char *code, const char *message)
{
    return srv_msg_error_json(id, code, NULL, message);
}

static json_t *time_or_null(int64_t ms) { return ms ? json_integer(ms) : json_null(); }

enum srv_attempt_status exam__status_parse(const char *s)
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
    exam_token_make(x->token_key, r->id, now + TOKEN_TTL_MS, token, toklen);
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
    return exam__dump(o);
}

static int do_login(kc_db *db, const srv_ctx *x, srv_job *j, int login)
{
    struct attempt_row r;
    int found = 0, rc;
    if (login) {
        rc = fetch_attempt(db, SQL_BY_TICKET, 0, 0, j->m.ticket, &r, &found);
    } else {
        uint64_t aid;
        if (exam_token_check(x->token_key, j->m.token, kc_now_ms(), &aid)) {
            j->denied = 1;
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
                      CRYPTO_memcmp(given, r.id_number, strlen(given)))) {
            found = 0;
            j->denied_attempt = r.id;     /* the proctor of this ticket sees the failure */
        }
        if (!found) {
            j->denied = 1;
            j->reply = exam__error_reply(j->req_id, "bad_credentials",
                                   "no candidate with this admission ticket and ID number");
            return 0;
        }
    } else if (!found) {
        j->denied = 1;
        j->reply = exam__error_reply(j->req_id, "bad_token", "the attempt of this token no longer exists");
        return 0;
    }
    j->ok = 1;
    j->attempt_id = r.id;
    j->session_id = r.session_id;
    j->status = exam__status_parse(r.status);
    j->deadline_ms = r.deadline;
    j->reply = welcome(x, &r, j->req_id, j->token, sizeof j->token);
    return j->reply ? 0 : KC_ENOMEM;
}

int exam_login(kc_db *db, const srv_ctx *x, srv_job *j) { return do_login(db, x, j, 1); }
int exam_resume(kc_db *db, const srv_ctx *x, srv_job *j) { return do_login(db, x, j, 0); }

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

/* Media references become signed URLs (srv_media.c) in the stem and the options. */
struct media_sign {
    const media_map *map;
    const unsigned char *key;
    int64_t expires_ms;
};

static json_t *signed_text(const void *arg, uint64_t id, const char *html)
{
    const struct media_sign *ms = arg;
    if (!ms->map->n || !strstr(html, "\"media:")) return json_string(html);
    char *s = media_rewrite(html, id, ms->map, ms->key, ms->expires_ms);
    json_t *v = s ? json_string(s) : NULL;
    free(s);
    return v;
}

/* The candidate's view of one item (exam_item_view): never its key, explanation or scoring
 * rule. NULL for an item that cannot be delivered (logged). */
static json_t *item_view(uint64_t paper_id, const exam_item_row *r, const struct media_sign *ms,
                         exam_item_info *info)
{
    json_t *o;
    const char *why;
    if (exam_item_view(r, signed_text, ms, &o, info, &why)) {
        /* Never hand out a paper with an item missing: fail the start instead. */
        KC_ERROR("exam", "paper=%llu item=%llu cannot be delivered: %s",
                  (unsigned long long)paper_id, (unsigned long long)r->id, why);
        return NULL;
    }
    return o;
}

/* Loads the candidate's view of the paper into items, and the answerable items (with what
 * the service thread needs to check a response) into *out. */
static int load_paper(kc_db *db, const srv_ctx *x, uint64_t attempt_id,
                      const exam_layout *lay, int64_t expires_ms, json_t *items,
                      srv_paper **out, int64_t *total_centi)
{
    const uint64_t paper_id = attempt_id;     /* for messages */
    media_map map = {0};
    const struct media_sign ms = {&map, x->media_key, expires_ms};
    uint64_t item_id, parent_id;
    int64_t pos, points, own_points, parent_points;
    int64_t sec;
    char type[17];
    char *stem = malloc(BIG), *options = malloc(BIG), *key = malloc(BIG);
    exam_paper_build pb = {0};
    exam_scale scale = {0};
    json_t *by_id = json_object();    /* composite id -> its view, to attach the children */
    int rc = KC_ENOMEM;
    if (!stem || !options || !key || exam_paper_begin(&pb, attempt_id) || !by_id) goto out;
    if ((rc = media_load_attempt(db, attempt_id, &map))) goto out;
    rc = KC_ENOMEM;
    *total_centi = 0;
    rc = kc_db_query(db, SQL_PAPER_ITEMS, "u", "uiiissss", attempt_id, &item_id, &pos, &sec,
                      &points, type, sizeof type, stem, (size_t)BIG, options, (size_t)BIG, key,
                      (size_t)BIG);
    while (!rc && (rc = kc_db_fetch(db, SQL_PAPER_ITEMS)) == 1) {
        rc = 0;
        exam_item_info info;
        json_t *iv;
        const exam_item_row row = {item_id, type, stem, options, key,
                                   exam_layout_perm(lay, item_id), points};
        if (!strcmp(type, "composite")) {
            if (exam_composite_view(&row, signed_text, &ms, &iv))
                KC_ERROR("exam", "paper=%llu item=%llu: stem is not valid UTF-8",
                          (unsigned long long)paper_id, (unsigned long long)item_id);
        } else {
            iv = item_view(paper_id, &row, &ms, &info);
            if (iv && (rc = exam_paper_add(&pb, item_id, &info))) { json_decref(iv); break; }
        }
        if (!iv) { rc = KC_EDB; break; }
        json_object_set_new(iv, "no", json_integer(pos));
        json_object_set_new(iv, "section", json_string(exam_layout_title(lay, sec)));
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
        exam_item_info info;
        /* Scaled to what the paper gives the composite; the shown points add up to it. */
        int64_t shown = exam_scale_child(&scale, parent_id, own_points, parent_points, points);
        const exam_item_row row = {item_id, type, stem, options, key,
                                   exam_layout_perm(lay, item_id), shown};
        json_t *cv = item_view(paper_id, &row, &ms, &info);
        if (!cv || info.type == BANK_COMPOSITE) { json_decref(cv); rc = KC_EDB; break; }
        if ((rc = exam_paper_add(&pb, item_id, &info))) { json_decref(cv); break; }
        json_array_append_new(json_object_get(parent, "children"), cv);
    }
    kc_db_done(db, SQL_PAPER_CHILDREN);
    if (rc < 0) goto out;
    /* Sorted by id for binary search on the service thread. */
    rc = exam_paper_finish(&pb, out);
out:
    free(stem);
    free(options);
    free(key);
    json_decref(by_id);
    exam_paper_abort(&pb);
    media_map_free(&map);
    return rc;
}

int exam_start(kc_db *db, const srv_ctx *x, srv_job *j)
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
            j->reply = exam__error_reply(j->req_id, "bad_token", "attempt not found");
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
        j->reply = exam__error_reply(j->req_id, "not_prepared",
                               "the papers of this session are not ready yet; ask the proctor");
        return 0;
    }
    exam_layout lay = {0};
    rc = exam_layout_parse(inst, spec, &lay);
    free(inst);
    free(spec);
    if (rc) {
        KC_ERROR("exam", "attempt=%llu: its stored paper does not parse", (unsigned long long)j->attempt_id);
        kc_db_rollback(db);
        exam_layout_free(&lay);
        return rc == KC_EINVAL ? KC_EDB : rc;     /* the database holds a broken paper */
    }
    int64_t now = kc_now_ms();      /* after the lock: a wait must not make it early */
    j->status = exam__status_parse(status);
    if (j->status == SRV_ST_NOT_STARTED) {
        /* deadline = min(now + duration + extra time, the session's close) */
        if (exam_start_deadline(now, opens, closes, duration, extra, &deadline)) {
            kc_db_rollback(db);
            char a[32], b[32], msg[160];
            kc_format_iso(opens, a, sizeof a);
            kc_format_iso(closes, b, sizeof b);
            snprintf(msg, sizeof msg, "the session is open from %s to %s (UTC)", a, b);
            j->reply = exam__error_reply(j->req_id, "not_open", msg);
            exam_layout_free(&lay);
            return 0;
        }
        rc = kc_db_exec(db, SQL_START_SET, "ttu", now, deadline, j->attempt_id);
        if (rc) { kc_db_rollback(db); exam_layout_free(&lay); return rc; }
        j->status = SRV_ST_IN_PROGRESS;
    }
    if ((rc = kc_db_commit(db))) { exam_layout_free(&lay); return rc; }
    j->deadline_ms = deadline;

    json_t *items = json_array(), *answers = json_array();
    int64_t total = 0;
    srv_paper_free(j->paper);        /* a retried job starts afresh */
    j->paper = NULL;
    /* Media URLs outlive the deadline by an hour, so a late reload still shows images. */
    int64_t media_exp = (deadline > now ? deadline : now) + MEDIA_AFTER_DEADLINE_MS;
    rc = load_paper(db, x, j->attempt_id, &lay, media_exp, items, &j->paper, &total);
    exam_layout_free(&lay);
    uint64_t item;
    char response[BANK_RESPONSE_MAX + 1];
    int64_t seq;
    if (!rc) rc = kc_db_query(db, SQL_ANSWERS, "u", "usi", j->attempt_id, &item, response,
                               sizeof response, &seq);
    while (!rc && (rc = kc_db_fetch(db, SQL_ANSWERS)) == 1) {
        rc = 0;
        int idx = srv_paper_find(j->paper, item);
        if (idx < 0) continue;                       /* no longer on the paper */
        j->paper->seq[idx] = seq;                    /* what the live entry knows is held */
        json_t *r;     /* a fill item's blanks go back as they came: an array */
        exam_response_view((enum bank_item_type)j->paper->types[idx], response, &r);
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
    j->reply = exam__dump(o);
    j->ok = 1;
    return j->reply ? 0 : KC_ENOMEM;
}

/* ---- submit ---- */

#define SUBMIT_LOCK                                                                        \
    "SELECT status, deadline_at, submitted_at, COALESCE(submit_reason, ''), score_centi,"  \
    " session_id FROM attempt WHERE id = ? FOR UPDATE"
static const char SQL_SUBMIT_LOCK[] = SUBMIT_LOCK;
/* The sweep passes over an attempt another worker or node is submitting right now. */
static const char SQL_SUBMIT_LOCK_SKIP[] = SUBMIT_LOCK " SKIP LOCKED";
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
    return exam__dump(o);
}

/* skip: the sweep's lock, which passes over a row locked elsewhere (*already 3, no reply). */
static int submit(kc_db *db, uint64_t attempt_id, const char *reason, int64_t now, int64_t req_id,
                  char **reply, int *already, int skip)
{
    char status[16], old_reason[16];
    int64_t deadline, submitted, score, show;
    uint64_t session_id;
    const char *lock = skip ? SQL_SUBMIT_LOCK_SKIP : SQL_SUBMIT_LOCK;
    *already = 0;
    int rc = kc_db_begin(db);
    if (rc) return rc;
    rc = kc_db_query(db, lock, "u", "sttsiu", attempt_id, status, sizeof status,
                      &deadline, &submitted, old_reason, sizeof old_reason, &score, &session_id);
    if (!rc) {
        rc = kc_db_fetch(db, lock);
        kc_db_done(db, lock);
        if (rc == 0 && skip) {
            kc_db_rollback(db);
            *already = 3;
            return 0;
        }
        if (rc == 0) rc = KC_ENOTFOUND;
        if (rc == 1) rc = 0;
    }
    exam_layout lay = {0};
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
    if (!rc && (!*inst || exam_layout_parse(inst, NULL, &lay))) {
        KC_ERROR("exam", "attempt=%llu: no stored paper to score", (unsigned long long)attempt_id);
        rc = KC_EDB;
    }
    free(inst);
    if (rc) { kc_db_rollback(db); exam_layout_free(&lay); return rc; }
    now = now > kc_now_ms() ? now : kc_now_ms();   /* a lock wait only makes it later */
    enum srv_attempt_status st = exam__status_parse(status);
    if (st != SRV_ST_IN_PROGRESS) {
        kc_db_rollback(db);
        exam_layout_free(&lay);
        *already = st == SRV_ST_NOT_STARTED ? 2 : 1;
        if (st == SRV_ST_NOT_STARTED)
            *reply = exam__error_reply(req_id, "not_started", "the attempt has not been started");
        else
            *reply = submitted_reply(req_id, old_reason, submitted, (int)show, score);
        return *reply ? 0 : KC_ENOMEM;
    }
    /* Past the deadline the attempt ended at the deadline, whoever asks. */
    int late;
    now = exam_submit_at(now, deadline, &late);
    if (late) reason = "deadline";
    /* Only objective items are scored here; examiners score the rest (score_centi is the
     * objective part until then). */
    uint64_t group, item_id;
    int64_t points, own, whole, total = 0;
    exam_tally tally = {0};
    char type[17], policy[9], response[BANK_RESPONSE_MAX + 1];
    char *key = malloc(BIG);
    if (!key) { kc_db_rollback(db); exam_layout_free(&lay); return KC_ENOMEM; }
    rc = kc_db_query(db, SQL_SCORE_ROWS, "uu", "uuiiissss", attempt_id, attempt_id, &group,
                      &item_id, &points, &own, &whole, type, sizeof type, key, (size_t)BIG,
                      policy, sizeof policy, response, sizeof response);
    for (;;) {
        int f = rc ? rc : kc_db_fetch(db, SQL_SCORE_ROWS);
        if (f < 0) { rc = f; break; }
        rc = 0;
        if (f == 0) { total = exam_tally_total(&tally); break; }
        /* The response as the candidate saw the options, mapped back to the keys. */
        int got;
        exam_score_response(type, policy, key, exam_layout_perm(&lay, item_id), response,
                            (int)own, &got);
        exam_tally_add(&tally, group, points, whole, got);
    }
    free(key);
    exam_layout_free(&lay);
    kc_db_done(db, SQL_SCORE_ROWS);
    if (rc < 0) { kc_db_rollback(db); return rc; }
    rc = kc_db_exec(db, SQL_SUBMIT_SET, "tsiu", now, reason, total, attempt_id);
    if (!rc) rc = kc_db_commit(db);
    if (rc) { kc_db_rollback(db); return rc; }
    *reply = submitted_reply(req_id, reason, now, (int)show, total);
    return *reply ? 0 : KC_ENOMEM;
}

int exam_submit(kc_db *db, uint64_t attempt_id, const char *reason, int64_t now, int64_t req_id,
                char **reply, int *already)
{
    return submit(db, attempt_id, reason, now, req_id, reply, already, 0);
}

/* ---- the deadline sweep ---- */

/* Every node runs it, several workers at once: each takes the attempts past their deadline
 * with id % parts = part, and locks each with SKIP LOCKED, so workers and nodes never wait
 * for one another and each attempt is submitted once (its status is checked under the
 * lock). An attempt that fails is logged and set aside for a minute; the rest go on. */
#define SWEEP_BATCH 200
static const char SQL_DUE[] =
    "SELECT id FROM attempt WHERE status = 'in_progress' AND deadline_at <= ? AND id % ? = ?"
    " ORDER BY deadline_at LIMIT 200";

#define SWEEP_ASIDE 64
static pthread_mutex_t aside_lock = PTHREAD_MUTEX_INITIALIZER;
static struct { uint64_t id; int64_t until; } aside[SWEEP_ASIDE];

static int set_aside(uint64_t id, int64_t now, int add)
{
    int found = 0;
    pthread_mutex_lock(&aside_lock);
    for (int i = 0; i < SWEEP_ASIDE && !found; i++)
        if (aside[i].id == id && aside[i].until > now) found = 1;
    if (add && !found) {
        int k = 0;
        for (int i = 1; i < SWEEP_ASIDE; i++)
            if (aside[i].until < aside[k].until) k = i;
        aside[k].id = id;
        aside[k].until = now + 60000;
    }
    pthread_mutex_unlock(&aside_lock);
    return found;
}

int exam_sweep(kc_db *db, const srv_ctx *x, srv_job *j)
{
    uint64_t ids[SWEEP_BATCH], id;
    int n = 0;
    int64_t now = kc_now_ms();
    int64_t parts = j->m.limit > 0 ? j->m.limit : 1, part = j->m.offset;
    int rc = kc_db_query(db, SQL_DUE, "tii", "u", now, parts, part, &id);
    while (!rc && (rc = kc_db_fetch(db, SQL_DUE)) == 1) {
        rc = 0;
        if (n < SWEEP_BATCH && !set_aside(id, now, 0)) ids[n++] = id;
    }
    kc_db_done(db, SQL_DUE);
    if (rc < 0) return rc;
    for (int i = 0; i < n; i++) {
        char *reply = NULL;
        int already;
        rc = submit(db, ids[i], "deadline", kc_now_ms(), -1, &reply, &already, 1);
        free(reply);
        /* The pool reconnects and runs the sweep again: what committed stays submitted. */
        if (rc == KC_ELOST) return rc;
        if (rc) {
            KC_ERROR("exam", "attempt=%llu could not be submitted at its deadline (set aside for a minute): %s",
                     (unsigned long long)ids[i], db->err[0] ? db->err : kc_strerror(rc));
            set_aside(ids[i], kc_now_ms(), 1);
            continue;
        }
        if (!already) {
            j->n_done++;
            KC_INFO("exam", "auto-submitted at deadline attempt=%llu", (unsigned long long)ids[i]);
        }
    }
    return 0;
}

/* The node that holds the candidate's connection saw the deadline pass in memory: the
 * attempt is submitted now (unless a sweep, here or on another node, did it already), and
 * the reply — this submission or the earlier one — is pushed to the candidate. */
int exam_expire(kc_db *db, const srv_ctx *x, srv_job *j)
{
    int already;
    int rc = exam_submit(db, j->attempt_id, "deadline", kc_now_ms(), -1, &j->reply, &already);
    if (rc == KC_ENOTFOUND) return 0;
    if (rc) return rc;
    j->ok = already != 2;
    j->status = already == 2 ? SRV_ST_NOT_STARTED : SRV_ST_SUBMITTED;
    return 0;
}

int exam_submit_msg(kc_db *db, const srv_ctx *x, srv_job *j)
{
    int already;
    int rc = exam_submit(db, j->attempt_id, "candidate", kc_now_ms(), j->req_id, &j->reply,
                             &already);
    if (rc == KC_ENOTFOUND) {
        j->reply = exam__error_reply(j->req_id, "bad_token", "attempt not found");
        return 0;
    }
    if (!rc) {
        j->ok = already != 2;
        j->status = already == 2 ? SRV_ST_NOT_STARTED : SRV_ST_SUBMITTED;
    }
    return rc;
}

/* ---- deadlines changed after the start ---- */

/* Every node asks every second what changed since its last look (less an overlap: a change
 * stamped just before may commit just after); the service thread ignores what it knows. */
static const char SQL_CHANGES[] =
    "SELECT id, deadline_at, status FROM attempt WHERE deadline_changed_at >= ?"
    " ORDER BY deadline_changed_at LIMIT 2000";

int exam_changes(kc_db *db, const srv_ctx *x, srv_job *j)
{
    uint64_t id;
    int64_t deadline;
    char status[16];
    free(j->changes);          /* a retried job starts afresh */
    j->changes = NULL;
    j->n_changes = 0;
    int cap = 0;
    int rc = kc_db_query(db, SQL_CHANGES, "t", "uts", j->m.offset, &id, &deadline, status, sizeof status);
    while (!rc && (rc = kc_db_fetch(db, SQL_CHANGES)) == 1) {
        rc = 0;
        if (j->n_changes == cap) {
            cap = cap ? cap * 2 : 16;
            srv_change *c = realloc(j->changes, (size_t)cap * sizeof *c);
            if (!c) { rc = KC_ENOMEM; break; }
            j->changes = c;
        }
        j->changes[j->n_changes++] = (srv_change){id, deadline, exam__status_parse(status)};
    }
    kc_db_done(db, SQL_CHANGES);
    return rc < 0 ? rc : 0;
}

static const char SQL_EXTRA_LOCK[] =
    "SELECT id, status, deadline_at FROM attempt WHERE ticket_no = ? FOR UPDATE";
static const char SQL_EXTRA_RUNNING[] =
    "UPDATE attempt SET deadline_at = ?, deadline_changed_at = ? WHERE id = ?";
static const char SQL_EXTRA_LATER[] =
    "UPDATE attempt SET extra_time_s = extra_time_s + ? WHERE id = ?";
static const char SQL_EXTRA_EVENT[] =
    "INSERT INTO attempt_event (attempt_id, kind, detail, at) VALUES (?, 'extra_time', ?, ?)";

int exam_extra_time(kc_db *db, const char *ticket, int minutes, const char *actor, const char *reason,
                    int64_t *deadline_ms, char *err, size_t errlen)
{
    uint64_t id;
    char status[16];
    int64_t deadline;
    *deadline_ms = 0;
    if (minutes < 1 || minutes > 600) {
        snprintf(err, errlen, "minutes: %d is not in 1..600", minutes);
        return KC_EINVAL;
    }
    int rc = kc_db_begin(db);
    if (rc) return rc;
    rc = kc_db_query(db, SQL_EXTRA_LOCK, "s", "ust", ticket, &id, status, sizeof status, &deadline);
    int found = rc ? rc : kc_db_fetch(db, SQL_EXTRA_LOCK);
    kc_db_done(db, SQL_EXTRA_LOCK);
    if (found != 1) {
        kc_db_rollback(db);
        if (found < 0) return found;
        snprintf(err, errlen, "%s: no such admission ticket", ticket);
        return KC_ENOTFOUND;
    }
    enum srv_attempt_status st = exam__status_parse(status);
    int64_t now = kc_now_ms();
    if (st == SRV_ST_SUBMITTED || (st == SRV_ST_IN_PROGRESS && deadline <= now)) {
        kc_db_rollback(db);
        snprintf(err, errlen, "%s: the attempt has ended; extra time can no longer be given", ticket);
        return KC_EINVAL;
    }
    /* Running: the deadline moves now (and every node learns it); not started: the start
     * adds it (exam_start_deadline). */
    if (st == SRV_ST_IN_PROGRESS) {
        deadline += (int64_t)minutes * 60000;
        rc = kc_db_exec(db, SQL_EXTRA_RUNNING, "ttu", deadline, now, id);
        *deadline_ms = deadline;
    } else {
        rc = kc_db_exec(db, SQL_EXTRA_LATER, "iu", (int64_t)minutes * 60, id);
    }
    char detail[256];
    snprintf(detail, sizeof detail, "+%d min by %.60s%s%.150s", minutes, actor, reason && *reason ? ": " : "",
             reason ? reason : "");
    if (!rc) rc = kc_db_exec(db, SQL_EXTRA_EVENT, "ust", id, detail, now);
    if (!rc) rc = kc_db_commit(db);
    if (rc) kc_db_rollback(db);
    return rc;
}

int exam_events(kc_db *db, const srv_ctx *x, srv_job *j) { return proct_store_batch(db, j->events); }

int exam_prepare_due(kc_db *db, const srv_ctx *x, srv_job *j) { return bank_prepare_due(db, x->prepare_before_min); }

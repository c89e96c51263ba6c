/* Exam affairs (考务) for staff, as the DB workers run it: paper templates (list, one, check
 * against the bank now, import) and the papers of sessions (list, prepare, verify, report).
 * The work itself is bank/'s (bank_tpl_*, bank_session_*), the same the CLI runs; this file
 * turns it into replies.
 * Everyone may be refused here: the account is re-read for every job. */
#include "staff.h"
#include "../exam/exam.h"
#include "../../bank/bank.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define SPEC_MAX ((size_t)1 << 22)
#define DIAG_LINES_MAX 200            /* a reply lists at most this many problem lines */

/* The staff jobs' reply helpers (srv_bank.c). */
#define reply staff_job_reply

/* The reply, then the request's arena (which the reply's strings no longer need). */
static int reply_free(srv_job *j, json_t *o, kc_arena *a)
{
    int rc = reply(j, o);
    kc_arena_free(a);
    return rc;
}
#define refuse staff_job_refuse

static json_t *str_or_null(const char *s) { return s && *s ? json_string(s) : json_null(); }
static json_t *time_or_null(int64_t ms) { return ms ? json_integer(ms) : json_null(); }

static json_t *diag_json(const kc_diag *d, size_t from)
{
    json_t *a = json_array();
    for (size_t i = from; i < d->n && a; i++) {
        if (i - from == DIAG_LINES_MAX) {
            json_array_append_new(a, json_sprintf("… and %zu more", d->n - i));
            break;
        }
        json_t *s = json_string(d->lines[i]);
        json_array_append_new(a, s ? s : json_string("(a line that is not valid UTF-8)"));
    }
    return a;
}

/* A stored report: one problem per line. */
static json_t *lines_json(const char *text)
{
    json_t *a = json_array();
    for (const char *p = text; p && *p && a;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n) json_array_append_new(a, json_stringn(p, n));
        p = e ? e + 1 : p + n;
    }
    return a;
}

static const char *mode_label(enum bank_tpl_mode m)
{
    return m == BANK_TPL_BLUEPRINT ? "按鉴定点组卷" : m == BANK_TPL_TYPE ? "按题型组卷" : "固定卷";
}

/* ---- templates ---- */

static const char SQL_TPL_LIST[] =
    "SELECT code, title, mode, total_centi, COALESCE(occupation_code, ''), COALESCE(level, 0), part,"
    " feasible, checked_at, LENGTH(report) - LENGTH(REPLACE(report, '\\n', '')), updated_at"
    " FROM paper_template ORDER BY code";

static json_t *tpl_row(const char *code, const char *title, const char *mode, int64_t total,
                       const char *occ, int64_t level, const char *part, int64_t feasible,
                       int64_t checked)
{
    enum bank_tpl_mode m = !strcmp(mode, "blueprint") ? BANK_TPL_BLUEPRINT
                         : !strcmp(mode, "fixed") ? BANK_TPL_FIXED : BANK_TPL_TYPE;
    return json_pack("{s:s, s:s, s:s, s:s, s:f, s:o, s:o, s:s, s:b, s:o}", "code", code, "title", title,
                     "mode", mode, "mode_label", mode_label(m), "total", (double)total / 100.0,
                     "occupation", str_or_null(occ), "level", level ? json_integer(level) : json_null(),
                     "part", part, "feasible", (int)feasible, "checked_at", time_or_null(checked));
}

int staff_affairs_templates(kc_db *db, const srv_ctx *x, srv_job *j)
{
    char code[65], title[256], mode[16], occ[17], part[8];
    int64_t total, level, feasible, checked, problems, updated;
    json_t *rows = json_array();
    int rc = kc_db_query(db, SQL_TPL_LIST, "", "sssisisitit", code, sizeof code, title, sizeof title,
                          mode, sizeof mode, &total, occ, sizeof occ, &level, part, sizeof part,
                          &feasible, &checked, &problems, &updated);
    while (!rc && (rc = kc_db_fetch(db, SQL_TPL_LIST)) == 1) {
        rc = 0;
        json_t *r = tpl_row(code, title, mode, total, occ, level, part, feasible, checked);
        if (r) {
            json_object_set_new(r, "problems", json_integer(problems));
            json_object_set_new(r, "updated_at", time_or_null(updated));
        }
        json_array_append_new(rows, r);
    }
    kc_db_done(db, SQL_TPL_LIST);
    if (rc < 0) { json_decref(rows); return rc; }
    return reply(j, json_pack("{s:s, s:o, s:i}", "type", "paper_templates", "templates", rows,
                              "max_message", x->max_message));
}

static const char SQL_TPL_ONE[] =
    "SELECT code, title, mode, total_centi, COALESCE(occupation_code, ''), COALESCE(level, 0), part,"
    " feasible, checked_at, spec, report, COALESCE(source_file, ''), COALESCE(created_by, ''),"
    " created_at, updated_at FROM paper_template WHERE code = ?";

int staff_affairs_template(kc_db *db, const srv_ctx *x, srv_job *j)
{
    char code[65], title[256], mode[16], occ[17], part[8], file[256], by[129];
    int64_t total, level, feasible, checked, created, updated;
    char *spec = malloc(SPEC_MAX), *report = malloc(SPEC_MAX);
    int rc = spec && report
        ? kc_db_query(db, SQL_TPL_ONE, "s", "sssisisitsssstt", j->m.uid, code, sizeof code, title,
                       sizeof title, mode, sizeof mode, &total, occ, sizeof occ, &level, part, sizeof part,
                       &feasible, &checked, spec, SPEC_MAX, report, SPEC_MAX, file, sizeof file, by,
                       sizeof by, &created, &updated)
        : KC_ENOMEM;
    int found = rc ? rc : kc_db_fetch(db, SQL_TPL_ONE);
    kc_db_done(db, SQL_TPL_ONE);
    if (found < 0 || found == 0) {
        free(spec);
        free(report);
        return found < 0 ? found : refuse(j, "not_found", "code", "no template with this code");
    }
    json_t *t = tpl_row(code, title, mode, total, occ, level, part, feasible, checked);
    json_t *sp = json_loads(spec, 0, NULL);
    if (t) {
        json_object_set_new(t, "spec", sp ? sp : json_null());
        json_object_set_new(t, "report", lines_json(report));
        json_object_set_new(t, "source_file", str_or_null(file));
        json_object_set_new(t, "created_by", str_or_null(by));
        json_object_set_new(t, "created_at", time_or_null(created));
        json_object_set_new(t, "updated_at", time_or_null(updated));
    } else {
        json_decref(sp);
    }
    free(spec);
    free(report);
    return reply(j, json_pack("{s:s, s:o}", "type", "paper_template", "template", t));
}

int staff_affairs_check(kc_db *db, const srv_ctx *x, srv_job *j)
{
    kc_arena *a = kc_arena_new(0);
    if (!a) return KC_ENOMEM;
    kc_diag d;
    kc_diag_init(&d, a);
    bank_tpl_result res;
    int rc = bank_tpl_check(db, j->m.uid, a, &d, &res);
    if (rc == KC_ENOTFOUND) {
        kc_arena_free(a);
        return refuse(j, "not_found", "code", "no template with this code");
    }
    if (rc && rc != KC_EINVAL) { kc_arena_free(a); return rc; }
    /* KC_EINVAL: the stored file no longer parses (it was changed in the database). */
    KC_INFO("papers", "template check code=%s by=%s feasible=%d problems=%zu", j->m.uid, j->login,
             rc ? 0 : res.feasible, d.n);
    return reply_free(j, json_pack("{s:s, s:s, s:b, s:i, s:i, s:I, s:o}", "type", "paper_template_check",
                            "code", j->m.uid, "feasible", rc ? 0 : res.feasible, "pool", res.pool,
                            "problems", (int)d.n, "checked_at", (json_int_t)kc_now_ms(),
                            "report", diag_json(&d, 0)), a);
}

int staff_affairs_import(kc_db *db, const srv_ctx *x, srv_job *j)
{
    char name[129];
    kc_display_name(j->m.file, "upload.json", name, sizeof name);
    kc_arena *a = kc_arena_new(0);
    if (!a) return KC_ENOMEM;
    kc_diag d;
    kc_diag_init(&d, a);
    bank_tpl_result res;
    int rc = bank_tpl_import(db, j->text ? j->text : "", j->text_len, name, j->login, (int)j->m.dry_run, a, &d, &res);
    if (rc && rc != KC_EINVAL) { kc_arena_free(a); return rc; }
    int valid = rc == 0;
    KC_INFO("papers", "template import file=%s code=%s by=%s valid=%d feasible=%d problems=%zu dry_run=%d",
             name, valid && res.code ? res.code : "-", j->login, valid, valid && res.feasible, d.n, (int)j->m.dry_run);
    json_t *o = json_pack("{s:s, s:s, s:b, s:b, s:b, s:b, s:i, s:o}", "type", "paper_template_import",
                          "file", name, "dry_run", (int)j->m.dry_run, "valid", valid, "stored", valid && !(int)j->m.dry_run,
                          "feasible", valid && res.feasible, "problems", (int)d.n, "diag", diag_json(&d, 0));
    if (o && valid) {
        json_object_set_new(o, "code", str_or_null(res.code));
        json_object_set_new(o, "mode", json_string(bank_tpl_mode_name(res.mode)));
        json_object_set_new(o, "mode_label", json_string(mode_label(res.mode)));
        json_object_set_new(o, "total", json_real(res.total_centi / 100.0));
        json_object_set_new(o, "sections", json_integer(res.sections));
        json_object_set_new(o, "pool", json_integer(res.pool));
    }
    return reply_free(j, o, a);
}

/* ---- sessions ---- */

static const char SQL_SESSIONS[] =
    "SELECT s.code, s.title, COALESCE(t.code, ''), COALESCE(p.code, ''), s.forms, s.opens_at,"
    " s.closes_at, s.duration_s, (SELECT COUNT(*) FROM attempt a WHERE a.session_id = s.id),"
    " (SELECT COUNT(*) FROM paper_instance i WHERE i.session_id = s.id), s.prepared_at,"
    " COALESCE(t.feasible, 1)"
    " FROM exam_session s LEFT JOIN paper_template t ON t.id = s.template_id"
    " LEFT JOIN paper p ON p.id = s.paper_id ORDER BY s.opens_at DESC, s.code LIMIT 500";

int staff_affairs_sessions(kc_db *db, const srv_ctx *x, srv_job *j)
{
    char code[65], title[256], tpl[65], paper[65];
    int64_t forms, opens, closes, dur, cands, papers, prepared, feasible;
    json_t *rows = json_array();
    int rc = kc_db_query(db, SQL_SESSIONS, "", "ssssittiiiti", code, sizeof code, title, sizeof title,
                          tpl, sizeof tpl, paper, sizeof paper, &forms, &opens, &closes, &dur, &cands,
                          &papers, &prepared, &feasible);
    while (!rc && (rc = kc_db_fetch(db, SQL_SESSIONS)) == 1) {
        rc = 0;
        json_array_append_new(rows, json_pack(
            "{s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:b}", "code", code, "title", title,
            "template", str_or_null(tpl), "paper", str_or_null(paper), "forms", (json_int_t)forms,
            "opens_at", (json_int_t)opens, "closes_at", (json_int_t)closes, "duration_s", (json_int_t)dur,
            "candidates", (json_int_t)cands, "papers", (json_int_t)papers, "prepared_at",
            time_or_null(prepared), "template_feasible", (int)feasible));
    }
    kc_db_done(db, SQL_SESSIONS);
    if (rc < 0) { json_decref(rows); return rc; }
    return reply(j, json_pack("{s:s, s:o, s:I}", "type", "exam_sessions", "sessions", rows,
                              "server_time", (json_int_t)kc_now_ms()));
}

static const char SQL_SESSION_ID[] = "SELECT id FROM exam_session WHERE code = ?";

/* 1 found, 0 refused (reply set), < 0 error. */
static int session_of(kc_db *db, srv_job *j, uint64_t *id)
{
    int rc = kc_db_query(db, SQL_SESSION_ID, "s", "u", j->m.uid, id);
    int found = rc ? rc : kc_db_fetch(db, SQL_SESSION_ID);
    kc_db_done(db, SQL_SESSION_ID);
    if (found < 0) return found;
    if (found == 0) {
        rc = refuse(j, "not_found", "code", "no session with this code");
        return rc ? rc : 0;
    }
    return 1;
}

/* The session named by the message and an arena for the reply: 1, or 0 with the refusal
 * in j, or an error. */
static int session_and_arena(kc_db *db, srv_job *j, uint64_t *id, kc_arena **a)
{
    int rc = session_of(db, j, id);
    if (rc <= 0) return rc;
    return (*a = kc_arena_new(0)) ? 1 : KC_ENOMEM;
}

int staff_affairs_prepare(kc_db *db, const srv_ctx *x, srv_job *j)
{
    uint64_t id;
    int rc = session_of(db, j, &id);
    if (rc <= 0) return rc;
    kc_arena *a = kc_arena_new(0);
    if (!a) return KC_ENOMEM;
    kc_diag d;
    kc_diag_init(&d, a);
    bank_prep r;
    exam_render_report rr = {0};
    rc = bank_session_prepare(db, id, j->login, &d, &r);
    /* Every paper as the candidate will see it, rendered now (not on the start click). */
    if (!rc) rc = exam_render_session(db, x->media_key, id, 0, &d, &rr);
    if (rc && rc != KC_EINVAL) { kc_arena_free(a); return rc; }
    json_t *o;
    if (rc) {
        KC_WARN("papers", "session=%s cannot be prepared (by=%s): %s", j->m.uid, j->login,
                 d.n ? d.lines[0] : "no reason given");
        o = json_pack("{s:s, s:s, s:b, s:o}", "type", "session_prepare", "code", j->m.uid, "ok", 0,
                      "diag", diag_json(&d, 0));
    } else {
        KC_INFO("papers", "session=%s prepared by=%s made=%d existing=%d forms=%d ms=%lld rendered=%d"
                 " stored=%d render_failed=%d render_ms=%lld", j->m.uid, j->login, r.made, r.existing,
                 r.forms, (long long)r.ms, rr.papers, rr.stored, rr.failed, (long long)rr.ms);
        o = json_pack("{s:s, s:s, s:b, s:i, s:i, s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:{s:i, s:i, s:i, s:I},"
                      " s:o}", "type",
                      "session_prepare", "code", j->m.uid, "ok", 1, "attempts", r.attempts, "made", r.made,
                      "existing", r.existing, "forms", r.forms, "neighbours_same", r.neighbours_same,
                      "exposure_limit", (json_int_t)r.exposure_limit, "max_on", (json_int_t)r.max_on,
                      "build_id", (json_int_t)r.build_id, "ms", (json_int_t)r.ms, "rendered",
                      "papers", rr.papers, "stored", rr.stored, "failed", rr.failed, "ms",
                      (json_int_t)rr.ms, "diag", diag_json(&d, 0));
    }
    return reply_free(j, o, a);
}

int staff_affairs_verify(kc_db *db, const srv_ctx *x, srv_job *j)
{
    uint64_t id;
    kc_arena *a;
    int rc = session_and_arena(db, j, &id, &a);
    if (rc <= 0) return rc;
    kc_diag d;
    kc_diag_init(&d, a);
    int checked = 0;
    rc = bank_session_verify(db, id, &d, &checked);
    if (rc && rc != KC_EINVAL) { kc_arena_free(a); return rc; }
    int ok = !rc && !d.n;
    KC_INFO("papers", "session=%s verify by=%s checked=%d problems=%zu", j->m.uid, j->login, checked, d.n);
    return reply_free(j, json_pack("{s:s, s:s, s:b, s:i, s:i, s:o}", "type", "session_verify", "code", j->m.uid,
                            "ok", ok, "checked", checked, "problems", (int)d.n, "diag", diag_json(&d, 0)), a);
}

int staff_affairs_report(kc_db *db, const srv_ctx *x, srv_job *j)
{
    uint64_t id;
    kc_arena *a;
    int rc = session_and_arena(db, j, &id, &a);
    if (rc <= 0) return rc;
    char *text = NULL;
    rc = bank_session_report(db, id, a, &text);
    if (!rc) {
        json_t *t = json_string(text);
        rc = reply(j, json_pack("{s:s, s:s, s:o}", "type", "session_report", "code", j->m.uid, "text",
                                t ? t : json_string("(the report is not valid UTF-8)")));
    }
    kc_arena_free(a);
    return rc;
}

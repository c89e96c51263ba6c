/* Parsing and validating client messages. Kept apart from libwebsockets so it can be
 * unit-tested; every rejection names the field that caused it. */
#include "net.h"
#include "../exam/exam.h"
#include "../staff/staff.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define STR(n, f, req, lo) {n, 's', req, offsetof(srv_msg, f), sizeof(((srv_msg *)0)->f), lo, 0}
/* a string kept on the heap (srv_msg_free), of at most cap - 1 bytes */
#define STRP(n, f, req, lo, cap) {n, 'S', req, offsetof(srv_msg, f), cap, lo, 0}
#define INT(n, f, req, lo, hi) {n, 'i', req, offsetof(srv_msg, f), 0, lo, hi}

static const srv_field f_login[] = {
    STR("ticket", ticket, 1, 1), STR("id_number", id_number, 1, 1), {0}};
static const srv_field f_resume[] = {STR("token", token, 1, 1), {0}};
/* The hash of the paper the client holds (its 64 hex digits are checked by exam_start). */
static const srv_field f_start[] = {STR("paper_hash", paper_hash, 0, 1), STR("sealed_hash", sealed_hash, 0, 1), {0}};
static const srv_field f_answer[] = {
    INT("item", item, 1, 1, INT64_MAX), {"response", 'r', 1, 0, 0, 0, 0},
    /* A browser's numbers are exact only up to 2^53 - 1: a larger seq would be stored as
     * another number than the client holds. */
    INT("seq", seq, 1, 1, (INT64_C(1) << 53) - 1), {0}};
/* client_time: the browser's clock (Date.now()), so proctors can see a skewed one. */
static const srv_field f_heartbeat[] = {
    {"events", 'e', 0, 0, 0, 0, 0}, INT("client_time", client_time, 0, 1, (INT64_C(1) << 53) - 1), {0}};
static const srv_field f_none[] = {{0}};
static const srv_field f_staff_login[] = {
    STR("login", login, 1, 1), STR("password", password, 1, 1), {0}};
static const srv_field f_bank_list[] = {
    {"filters", 'o', 0, 0, 0, 0, 0}, INT("offset", offset, 0, 0, 1000000),
    INT("limit", limit, 0, 1, 500), {0}};
static const srv_field f_bank_item[] = {STR("uid", uid, 1, 1), {0}};
static const srv_field f_bank_review[] = {
    STR("uid", uid, 1, 1), STR("action", action, 1, 1), STRP("comment", comment, 0, 0, SRV_COMMENT_CAP), {0}};
static const srv_field f_bank_save[] = {{"item", 'o', 1, 0, 0, 0, 0}, {0}};
static const srv_field f_bank_health[] = {
    STR("occupation", occupation, 1, 1), INT("level", level, 1, 1, 5), STR("part", part, 0, 1),
    {0}};
static const srv_field f_code[] = {STR("code", uid, 1, 1), {0}};
/* The import's text: server.max_message caps the whole message before this does. */
static const srv_field f_tpl_import[] = {
    STR("file", file, 1, 1), {"text", 'T', 1, 0, 0, 1, 1 << 20},
    {"dry_run", 'b', 0, offsetof(srv_msg, dry_run), 0, 0, 0}, {0}};

/* Reading the bank is for every bank role, editing for authors, the lifecycle for
 * reviewers; 考务 runs papers and sessions, 督导员 reads and audits; admin does all. */
#define CAND SRV_WHO_CANDIDATE
#define ANY SRV_WHO_ANYONE
#define BANK_READ (SRV_ROLE_AUTHOR | SRV_ROLE_REVIEWER | SRV_ROLE_ADMIN)
#define AFFAIRS (SRV_ROLE_AFFAIRS | SRV_ROLE_ADMIN)
#define AUDIT (AFFAIRS | SRV_ROLE_SUPERVISOR)

const srv_cmd net_cmds[] = {
    /* name                  fields         who       pool              flags  run  local  admit  batch */
    {"login",               f_login,       ANY,      SRV_POOL_EXAM,    SRV_CMD_LOGIN | SRV_CMD_GUESSABLE, exam_login, NULL, NULL, NULL},
    {"resume",              f_resume,      ANY,      SRV_POOL_EXAM,    SRV_CMD_LOGIN, exam_resume, NULL, NULL, NULL},
    {"start",               f_start,       CAND,     SRV_POOL_EXAM,    0, exam_start, NULL, NULL, exam_starts},
    {"paper_fetch",         f_none,        CAND,     SRV_POOL_EXAM,    SRV_CMD_PACED, exam_paper_fetch, NULL, exam_admit_fetch, exam_paper_fetches},
    {"answer",              f_answer,      CAND,     SRV_POOL_ANSWERS, 0, exam_answer, NULL, exam_admit_answer, exam_answers},
    {"submit",              f_none,        CAND,     SRV_POOL_EXAM,    0, exam_submit_msg, NULL, NULL, NULL},
    {"heartbeat",           f_heartbeat,   CAND,     SRV_LOCAL,        0, NULL, exam_heartbeat, NULL, NULL},
    {"time",                f_none,        ANY,      SRV_LOCAL,        0, NULL, exam_time, NULL, NULL},
    {"staff_login",         f_staff_login, ANY,      SRV_POOL_STAFF,   SRV_CMD_STAFF_LOGIN | SRV_CMD_SECRET | SRV_CMD_GUESSABLE, staff_login, NULL, NULL, NULL},
    {"staff_resume",        f_resume,      ANY,      SRV_POOL_STAFF,   SRV_CMD_STAFF_LOGIN, staff_resume, NULL, NULL, NULL},
    {"bank_catalog",        f_none,        BANK_READ, SRV_POOL_STAFF,  0, staff_bank_catalog, NULL, NULL, NULL},
    {"bank_list",           f_bank_list,   BANK_READ, SRV_POOL_STAFF,  0, staff_bank_list, NULL, NULL, NULL},
    {"bank_item",           f_bank_item,   BANK_READ, SRV_POOL_STAFF,  0, staff_bank_item, NULL, NULL, NULL},
    {"bank_review",         f_bank_review, SRV_ROLE_REVIEWER | SRV_ROLE_ADMIN, SRV_POOL_STAFF, 0, staff_bank_review, NULL, NULL, NULL},
    {"bank_save",           f_bank_save,   SRV_ROLE_AUTHOR | SRV_ROLE_ADMIN, SRV_POOL_STAFF, 0, staff_bank_save, NULL, NULL, NULL},
    {"bank_health",         f_bank_health, BANK_READ, SRV_POOL_STAFF,  0, staff_bank_health, NULL, NULL, NULL},
    {"paper_templates",     f_none,        AUDIT,    SRV_POOL_STAFF,   0, staff_affairs_templates, NULL, NULL, NULL},
    {"paper_template",      f_code,        AUDIT,    SRV_POOL_STAFF,   0, staff_affairs_template, NULL, NULL, NULL},
    {"paper_template_check", f_code,       AFFAIRS,  SRV_POOL_STAFF,   SRV_CMD_HEAVY, staff_affairs_check, NULL, NULL, NULL},
    {"paper_template_import", f_tpl_import, AFFAIRS, SRV_POOL_STAFF,   SRV_CMD_HEAVY, staff_affairs_import, NULL, NULL, NULL},
    {"exam_sessions",       f_none,        AUDIT,    SRV_POOL_STAFF,   0, staff_affairs_sessions, NULL, NULL, NULL},
    {"session_prepare",     f_code,        AFFAIRS,  SRV_POOL_STAFF,   SRV_CMD_HEAVY, staff_affairs_prepare, NULL, NULL, NULL},
    {"session_verify",      f_code,        AUDIT,    SRV_POOL_STAFF,   SRV_CMD_HEAVY, staff_affairs_verify, NULL, NULL, NULL},
    {"session_report",      f_code,        AUDIT,    SRV_POOL_STAFF,   SRV_CMD_HEAVY, staff_affairs_report, NULL, NULL, NULL},
    {NULL, NULL, 0, 0, 0, NULL, NULL, NULL, NULL},
};

const srv_cmd *net_cmd_find(const char *name)
{
    for (const srv_cmd *c = net_cmds; c->name; c++)
        if (!strcmp(c->name, name)) return c;
    return NULL;
}

static int for_staff(const srv_cmd *c) { return (c->who & SRV_STAFF_ANY) || (c->flags & SRV_CMD_STAFF_LOGIN); }
static int for_candidates(const srv_cmd *c) { return (c->who & SRV_WHO_CANDIDATE) || (c->flags & SRV_CMD_LOGIN); }

int net_cmd_allowed(const srv_cmd *c, int candidate, int staff, unsigned roles, srv_msg_error *e)
{
    const char *code = NULL, *why = NULL;
    /* A connection is a candidate's or a staff member's, never both. */
    if (candidate && for_staff(c))
        code = "forbidden", why = "staff messages are not accepted on a candidate connection";
    else if (staff && for_candidates(c))
        code = "forbidden", why = "candidate messages are not accepted on a staff connection";
    else if (c->who & SRV_WHO_ANYONE)
        return 0;
    else if ((c->who & SRV_WHO_CANDIDATE) && !candidate)
        code = "unauthenticated", why = "log in first";
    else if ((c->who & SRV_STAFF_ANY) && !staff)
        code = "unauthenticated", why = "log in as staff first";
    else if ((c->who & SRV_STAFF_ANY) && !(roles & c->who))
        code = "forbidden", why = "your roles do not allow this";
    return code ? srv_msg_fail(e, code, NULL, "%s", why) : 0;
}

int net_cmd_run(kc_db *db, const srv_ctx *x, srv_job *j)
{
    const srv_cmd *c = j->cmd;
    /* Roles are checked again against the account as it is now, not as it was at login. */
    if ((c->who & SRV_STAFF_ANY) && !(c->who & SRV_WHO_ANYONE)) {
        int allowed, rc = staff_authorize(db, j, c->who & SRV_STAFF_ANY, &allowed);
        if (rc || !allowed) return rc;
    }
    return c->run(db, x, j);
}

static const char *event_kinds[] = {"blur", "focus", "visibility_hidden", "visibility_visible",
                                    "fullscreen_exit", "copy", "paste", NULL};

#define BLANKS_MAX 20                 /* BANK_MAX_BLANKS */
#define RESPONSE_MAX ((size_t)BANK_RESPONSE_MAX)   /* what answer.response stores */

#define fail srv_msg_fail

/* A response is a string (choice keys, true/false, short answers) or, for a fill-in item,
 * an array of one string per blank, stored joined by 0x1F (which no text may contain). */
static int parse_response(json_t *v, srv_msg *m, srv_msg_error *e)
{
    size_t n = 0;
    if (json_is_string(v)) {
        size_t len = json_string_length(v);
        const char *s = json_string_value(v);
        if (len > RESPONSE_MAX)
            return fail(e, "bad_field", "response", "response: at most %zu bytes", RESPONSE_MAX);
        if (strlen(s) != len || memchr(s, 0x1f, len))
            return fail(e, "bad_field", "response", "response: contains a control character");
        if (!(m->response = strdup(s))) return fail(e, "internal", NULL, "out of memory");
        return 0;
    }
    if (!json_is_array(v))
        return fail(e, "bad_field", "response", "response: expected a string or an array of strings");
    if (json_array_size(v) < 1 || json_array_size(v) > BLANKS_MAX)
        return fail(e, "bad_field", "response", "response: expected 1 to %d blanks", BLANKS_MAX);
    char joined[RESPONSE_MAX + 1];
    size_t i;
    json_t *b;
    json_array_foreach(v, i, b) {
        if (!json_is_string(b))
            return fail(e, "bad_field", "response", "response[%zu]: expected a string", i);
        size_t len = json_string_length(b);
        const char *s = json_string_value(b);
        if (strlen(s) != len || memchr(s, 0x1f, len))
            return fail(e, "bad_field", "response", "response[%zu]: contains a control character", i);
        if (n + len + (i > 0) > RESPONSE_MAX)
            return fail(e, "bad_field", "response", "response: at most %zu bytes in all", RESPONSE_MAX);
        if (i) joined[n++] = 0x1f;
        memcpy(joined + n, s, len);
        n += len;
    }
    joined[n] = 0;
    if (!(m->response = strdup(joined))) return fail(e, "internal", NULL, "out of memory");
    return 0;
}

static int parse_events(json_t *arr, srv_msg *m, srv_msg_error *e)
{
    if (!json_is_array(arr))
        return fail(e, "bad_field", "events", "events: expected an array");
    if (json_array_size(arr) > SRV_MAX_EVENTS)
        return fail(e, "bad_field", "events", "events: at most %d per heartbeat", SRV_MAX_EVENTS);
    size_t i;
    json_t *ev;
    if (json_array_size(arr) && !(m->events = calloc(json_array_size(arr), sizeof *m->events)))
        return fail(e, "internal", NULL, "out of memory");
    json_array_foreach(arr, i, ev) {
        const char *kind = NULL;
        json_int_t at = 0;
        json_error_t je;
        if (json_unpack_ex(ev, &je, JSON_STRICT, "{s:s, s:I}", "kind", &kind, "at", &at))
            return fail(e, "bad_field", "events", "events[%zu]: expected {\"kind\": string, \"at\": integer}", i);
        int ok = 0;
        for (int k = 0; event_kinds[k]; k++) ok |= !strcmp(kind, event_kinds[k]);
        if (!ok)
            return fail(e, "bad_field", "events", "events[%zu].kind: unknown kind \"%.40s\"", i, kind);
        snprintf(m->events[i].kind, sizeof m->events[i].kind, "%s", kind);
        m->events[i].at_ms = at;
    }
    m->n_events = (int)json_array_size(arr);
    return 0;
}

int net_msg_parse(const char *buf, size_t len, srv_msg *m, srv_msg_error *e)
{
    memset(m, 0, sizeof *m);
    memset(e, 0, sizeof *e);
    m->id = e->id = -1;
    json_error_t je;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return fail(e, "bad_json", NULL, "invalid JSON at byte %d: %s", je.position, je.text);
    int rc = 0;
    if (!json_is_object(root)) {
        rc = fail(e, "bad_json", NULL, "expected a JSON object");
        goto out;
    }
    json_t *id = json_object_get(root, "id");
    if (id) {
        if (!json_is_integer(id) || json_integer_value(id) < 0) {
            rc = fail(e, "bad_field", "id", "id: expected an integer >= 0");
            goto out;
        }
        m->id = e->id = json_integer_value(id);
    }
    json_t *type = json_object_get(root, "type");
    if (!json_is_string(type)) {
        rc = fail(e, "unknown_type", "type", "type: expected a string naming the message");
        goto out;
    }
    const srv_cmd *cmd = net_cmd_find(json_string_value(type));
    const srv_field *fields = cmd ? cmd->fields : NULL;
    m->cmd = cmd;
    if (!fields) {
        rc = fail(e, "unknown_type", "type", "type: unknown message type \"%.40s\"",
                  json_string_value(type));
        goto out;
    }
    /* Unknown fields are errors: a misspelt field must not be silently ignored. */
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (!strcmp(key, "type") || !strcmp(key, "id"))
            continue;
        int known = 0;
        for (const srv_field *f = fields; f->name; f++) known |= !strcmp(f->name, key);
        if (!known) {
            rc = fail(e, "bad_field", key, "%.30s: unknown field for \"%s\"", key,
                      json_string_value(type));
            goto out;
        }
    }
    for (const srv_field *f = fields; f->name; f++) {
        json_t *v = json_object_get(root, f->name);
        if (!v) {
            if (f->required) {
                rc = fail(e, "bad_field", f->name, "%s: missing", f->name);
                goto out;
            }
            continue;
        }
        if (f->kind == 's') {
            if (!json_is_string(v)) {
                rc = fail(e, "bad_field", f->name, "%s: expected a string", f->name);
                goto out;
            }
            size_t n = json_string_length(v);
            const char *s = json_string_value(v);
            if (n >= f->cap || (int64_t)n < f->min || strlen(s) != n) {
                rc = fail(e, "bad_field", f->name, "%s: expected %lld to %zu characters",
                          f->name, (long long)f->min, f->cap - 1);
                goto out;
            }
            memcpy((char *)m + f->off, s, n + 1);
        } else if (f->kind == 'S') {
            size_t n = json_is_string(v) ? json_string_length(v) : 0;
            const char *s = json_is_string(v) ? json_string_value(v) : NULL;
            if (!s || n >= f->cap || (int64_t)n < f->min || strlen(s) != n) {
                rc = fail(e, "bad_field", f->name, "%s: expected a string of %lld to %zu characters",
                          f->name, (long long)f->min, f->cap - 1);
                goto out;
            }
            char **dst = (char **)((char *)m + f->off);
            if (!(*dst = strdup(s))) {
                rc = fail(e, "internal", NULL, "out of memory");
                goto out;
            }
        } else if (f->kind == 'i') {
            if (!json_is_integer(v) || json_integer_value(v) < f->min ||
                json_integer_value(v) > f->max) {
                rc = fail(e, "bad_field", f->name, "%s: expected an integer from %lld to %lld",
                          f->name, (long long)f->min, (long long)f->max);
                goto out;
            }
            *(int64_t *)((char *)m + f->off) = json_integer_value(v);
        } else if (f->kind == 'b') {
            if (!json_is_boolean(v)) {
                rc = fail(e, "bad_field", f->name, "%s: expected true or false", f->name);
                goto out;
            }
            *(int64_t *)((char *)m + f->off) = json_is_true(v);
        } else if (f->kind == 'T') {
            size_t n = json_is_string(v) ? json_string_length(v) : 0;
            if (!json_is_string(v) || (int64_t)n < f->min || (int64_t)n > f->max ||
                strlen(json_string_value(v)) != n) {
                rc = fail(e, "bad_field", f->name, "%s: expected a text of %lld to %lld bytes",
                          f->name, (long long)f->min, (long long)f->max);
                goto out;
            }
            if (!(m->obj = strdup(json_string_value(v)))) {
                rc = fail(e, "internal", NULL, "out of memory");
                goto out;
            }
        } else if (f->kind == 'r') {
            if ((rc = parse_response(v, m, e))) goto out;
        } else if (f->kind == 'o') {
            if (!json_is_object(v)) {
                rc = fail(e, "bad_field", f->name, "%s: expected an object", f->name);
                goto out;
            }
            if (!(m->obj = json_dumps(v, JSON_COMPACT))) {
                rc = fail(e, "internal", NULL, "out of memory");
                goto out;
            }
        } else if ((rc = parse_events(v, m, e))) {
            goto out;
        }
    }
out:
    json_decref(root);
    if (rc) srv_msg_free(m);
    return rc;
}



/* Parsing and validating client messages. Kept apart from libwebsockets so it can be
 * unit-tested; every rejection names the field that caused it. */
#include "srv.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct field {
    const char *name;
    char kind;          /* 's' string, 'i' integer, 'e' events array, 'r' response,
                           'o' object (kept as JSON), 'b' boolean, 'T' long text (into obj,
                           at most max bytes) */
    int required;
    size_t off, cap;    /* string destination in srv_msg */
    int64_t min, max;   /* integer range / string length range */
};

#define STR(n, f, req, lo) {n, 's', req, offsetof(srv_msg, f), sizeof(((srv_msg *)0)->f), lo, 0}
#define INT(n, f, req, lo, hi) {n, 'i', req, offsetof(srv_msg, f), 0, lo, hi}

static const struct field f_login[] = {
    STR("ticket", ticket, 1, 1), STR("id_number", id_number, 1, 1), {0}};
static const struct field f_resume[] = {STR("token", token, 1, 1), {0}};
static const struct field f_answer[] = {
    INT("item", item, 1, 1, INT64_MAX), {"response", 'r', 1, 0, 0, 0, 0},
    INT("seq", seq, 1, 1, INT64_MAX / 2), {0}};
static const struct field f_heartbeat[] = {{"events", 'e', 0, 0, 0, 0, 0}, {0}};
static const struct field f_none[] = {{0}};
static const struct field f_staff_login[] = {
    STR("login", login, 1, 1), STR("password", password, 1, 1), {0}};
static const struct field f_bank_list[] = {
    {"filters", 'o', 0, 0, 0, 0, 0}, INT("offset", offset, 0, 0, 1000000),
    INT("limit", limit, 0, 1, 500), {0}};
static const struct field f_bank_item[] = {STR("uid", uid, 1, 1), {0}};
static const struct field f_bank_review[] = {
    STR("uid", uid, 1, 1), STR("action", action, 1, 1), STR("comment", comment, 0, 0), {0}};
static const struct field f_bank_save[] = {{"item", 'o', 1, 0, 0, 0, 0}, {0}};
static const struct field f_bank_health[] = {
    STR("occupation", occupation, 1, 1), INT("level", level, 1, 1, 5), STR("part", part, 0, 1),
    {0}};
static const struct field f_code[] = {STR("code", uid, 1, 1), {0}};
/* The import's text: server.max_message caps the whole message before this does. */
static const struct field f_tpl_import[] = {
    STR("file", file, 1, 1), {"text", 'T', 1, 0, 0, 1, 1 << 20},
    {"dry_run", 'b', 0, offsetof(srv_msg, dry_run), 0, 0, 0}, {0}};

static const struct {
    const char *name;
    enum srv_msg_type type;
    const struct field *fields;
} types[] = {
    {"login", SRV_MSG_LOGIN, f_login},
    {"resume", SRV_MSG_RESUME, f_resume},
    {"start", SRV_MSG_START, f_none},
    {"answer", SRV_MSG_ANSWER, f_answer},
    {"submit", SRV_MSG_SUBMIT, f_none},
    {"heartbeat", SRV_MSG_HEARTBEAT, f_heartbeat},
    {"time", SRV_MSG_TIME, f_none},
    {"staff_login", SRV_MSG_STAFF_LOGIN, f_staff_login},
    {"staff_resume", SRV_MSG_STAFF_RESUME, f_resume},
    {"bank_catalog", SRV_MSG_BANK_CATALOG, f_none},
    {"bank_list", SRV_MSG_BANK_LIST, f_bank_list},
    {"bank_item", SRV_MSG_BANK_ITEM, f_bank_item},
    {"bank_review", SRV_MSG_BANK_REVIEW, f_bank_review},
    {"bank_save", SRV_MSG_BANK_SAVE, f_bank_save},
    {"bank_health", SRV_MSG_BANK_HEALTH, f_bank_health},
    {"paper_templates", SRV_MSG_PAPER_TEMPLATES, f_none},
    {"paper_template", SRV_MSG_PAPER_TEMPLATE, f_code},
    {"paper_template_check", SRV_MSG_PAPER_TEMPLATE_CHECK, f_code},
    {"paper_template_import", SRV_MSG_PAPER_TEMPLATE_IMPORT, f_tpl_import},
    {"exam_sessions", SRV_MSG_EXAM_SESSIONS, f_none},
    {"session_prepare", SRV_MSG_SESSION_PREPARE, f_code},
    {"session_verify", SRV_MSG_SESSION_VERIFY, f_code},
    {"session_report", SRV_MSG_SESSION_REPORT, f_code},
};

static const char *event_kinds[] = {"blur", "focus", "visibility_hidden", "visibility_visible",
                                    "fullscreen_exit", "copy", "paste", NULL};

#define BLANKS_MAX 20                 /* BANK_MAX_BLANKS */
#define RESPONSE_MAX (sizeof(((srv_msg *)0)->response) - 1)

static int fail(srv_msg_error *e, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

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
        memcpy(m->response, s, len + 1);
        return 0;
    }
    if (!json_is_array(v))
        return fail(e, "bad_field", "response", "response: expected a string or an array of strings");
    if (json_array_size(v) < 1 || json_array_size(v) > BLANKS_MAX)
        return fail(e, "bad_field", "response", "response: expected 1 to %d blanks", BLANKS_MAX);
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
        if (i) m->response[n++] = 0x1f;
        memcpy(m->response + n, s, len);
        n += len;
    }
    m->response[n] = 0;
    return 0;
}

/* Truncation (%.40s, fixed buffers) may cut a UTF-8 sequence anywhere in a message;
 * JSON needs whole ones, so cut sequences are removed. */
static void utf8_clean(char *s)
{
    char *w = s;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t len = *p < 0x80 ? 1 : *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : *p >= 0xC0 ? 2 : 0;
        size_t k = 1;
        while (len && k < len && (p[k] & 0xC0) == 0x80) k++;
        if (!len || k < len) {            /* stray or cut sequence: drop what is there */
            p += len ? k : 1;
            continue;
        }
        memmove(w, p, len);
        w += len;
        p += len;
    }
    *w = 0;
}

static int fail(srv_msg_error *e, const char *code, const char *field, const char *fmt, ...)
{
    e->code = code;
    snprintf(e->field, sizeof e->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    utf8_clean(e->field);
    utf8_clean(e->message);
    return KC_EINVAL;
}

static int parse_events(json_t *arr, srv_msg *m, srv_msg_error *e)
{
    if (!json_is_array(arr))
        return fail(e, "bad_field", "events", "events: expected an array");
    if (json_array_size(arr) > SRV_MAX_EVENTS)
        return fail(e, "bad_field", "events", "events: at most %d per heartbeat", SRV_MAX_EVENTS);
    size_t i;
    json_t *ev;
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

int srv_msg_parse(const char *buf, size_t len, srv_msg *m, srv_msg_error *e)
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
    const struct field *fields = NULL;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(types[i].name, json_string_value(type))) {
            m->type = types[i].type;
            fields = types[i].fields;
        }
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
        for (const struct field *f = fields; f->name; f++) known |= !strcmp(f->name, key);
        if (!known) {
            rc = fail(e, "bad_field", key, "%.30s: unknown field for \"%s\"", key,
                      json_string_value(type));
            goto out;
        }
    }
    for (const struct field *f = fields; f->name; f++) {
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
        } else if (f->kind == 'i') {
            if (!json_is_integer(v) || json_integer_value(v) < f->min ||
                json_integer_value(v) > f->max) {
                rc = fail(e, "bad_field", f->name, "%s: expected an integer >= %lld", f->name,
                          (long long)f->min);
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

void srv_msg_free(srv_msg *m)
{
    free(m->obj);
    m->obj = NULL;
}

char *srv_msg_error_json(int64_t id, const char *code, const char *field, const char *message)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "type", "error", "code", code, "message",
                          message ? message : code);
    if (!o) /* a message that is not valid UTF-8 must not cost the client its reply */
        o = json_pack("{s:s, s:s, s:s}", "type", "error", "code", code, "message", code);
    if (!o) return NULL;
    if (id >= 0) json_object_set_new(o, "id", json_integer(id));
    if (field && *field) {
        json_t *f = json_string(field);
        if (f) json_object_set_new(o, "field", f);
    }
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* What the transport and every domain folder share about a message and its job: freeing
 * them and the error reply. */
#include "srv.h"
#include "../proctoring/proct.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void srv_msg_free(srv_msg *m)
{
    free(m->obj);
    free(m->response);
    free(m->comment);
    free(m->events);
    m->obj = m->response = m->comment = NULL;
    m->events = NULL;
    m->n_events = 0;
}

void srv_msg_move(srv_msg *to, srv_msg *from)
{
    *to = *from;
    from->obj = from->response = from->comment = NULL;
    from->events = NULL;
    from->n_events = 0;
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

void srv_job_free(srv_job *j)
{
    if (!j) return;
    free(j->reply);
    srv_paper_free(j->paper);
    proct_batch_free(j->events);
    free(j->changes);
    free(j->ids);
    free(j->fails);
    free(j->text);
    srv_msg_free(&j->m);
    OPENSSL_cleanse(j->m.password, sizeof j->m.password);
    free(j);
}

/* The paper a connection checks answers against (made by the exam's start). */
void srv_paper_free(srv_paper *p)
{
    if (!p) return;
    free(p->item_ids);
    free(p->n_options);
    free(p->types);
    free(p->n_blanks);
    free(p->seq);
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

int srv_msg_fail(srv_msg_error *e, const char *code, const char *field, const char *fmt, ...)
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


/* The command table: every row is well formed, every row's fields are checked as its
 * schema says (missing, ill-typed, unknown), and who may send what. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/net/net.h"

static int parse(const char *s, srv_msg *m, srv_msg_error *e) { return net_msg_parse(s, strlen(s), m, e); }

Test(cmd, rows_are_well_formed)
{
    int n = 0;
    for (const srv_cmd *c = net_cmds; c->name; c++, n++) {
        cr_assert(net_cmd_find(c->name) == c, "%s: names are unique", c->name);
        cr_assert(c->who, "%s: says who may send it", c->name);
        cr_assert(c->fields, "%s: has a field list", c->name);
        if (c->pool == SRV_LOCAL) {
            cr_assert(c->local && !c->run, "%s: a local row answers on the service thread only", c->name);
        } else {
            cr_assert(c->pool >= 0 && c->pool < SRV_POOLS, "%s: a pool", c->name);
            cr_assert(c->run && !c->local, "%s: a worker handler", c->name);
        }
        /* Staff work never lands on a candidate's pool and the other way round. */
        if (c->who & SRV_STAFF_ANY || c->flags & SRV_CMD_STAFF_LOGIN)
            cr_assert_eq(c->pool, SRV_POOL_STAFF, "%s", c->name);
        if (c->who & SRV_WHO_CANDIDATE && c->pool != SRV_LOCAL)
            cr_assert(c->pool == SRV_POOL_ANSWERS || c->pool == SRV_POOL_EXAM, "%s", c->name);
        if (c->flags & SRV_CMD_HEAVY) cr_assert_eq(c->pool, SRV_POOL_STAFF, "%s", c->name);
        /* A batch runs without net_cmd_run's check of staff roles against the database:
         * only candidates' messages (their attempt is the connection's) may run in batches. */
        if (c->batch)
            cr_assert(c->who == SRV_WHO_CANDIDATE && c->pool != SRV_LOCAL && c->pool != SRV_POOL_STAFF,
                      "%s: a batch row is a candidate's worker message", c->name);
        for (const srv_field *f = c->fields; f->name; f++) {
            cr_assert(strchr("sSierobT", f->kind), "%s.%s: a known kind", c->name, f->name);
            if (f->kind == 's') {
                cr_assert(f->cap > 1 && f->off + f->cap <= sizeof(srv_msg), "%s.%s", c->name, f->name);
                cr_assert(f->min >= 0 && (size_t)f->min < f->cap, "%s.%s", c->name, f->name);
            }
            if (f->kind == 'S') {           /* a heap string: the member is its pointer */
                cr_assert(f->cap > 1 && f->off + sizeof(char *) <= sizeof(srv_msg), "%s.%s", c->name, f->name);
                cr_assert(f->min >= 0 && (size_t)f->min < f->cap, "%s.%s", c->name, f->name);
            }
            if (f->kind == 'i' || f->kind == 'b')
                cr_assert(f->off + sizeof(int64_t) <= sizeof(srv_msg), "%s.%s", c->name, f->name);
            if (f->kind == 'i') cr_assert(f->min <= f->max, "%s.%s", c->name, f->name);
        }
    }
    cr_assert_geq(n, 23);
    cr_assert_null(net_cmd_find("no_such_message"));
}

/* A value of the wrong JSON type for each kind of field. */
static const char *wrong_value(char kind)
{
    switch (kind) {
    case 's': case 'S': case 'T': return "12";
    case 'i': return "\"12\"";
    case 'b': return "1";
    case 'o': return "[]";
    case 'e': return "{}";
    default: return "{}";          /* 'r': neither a string nor an array */
    }
}

/* A value each field accepts, to build a message that is valid but for one field. */
static const char *good_value(const srv_field *f)
{
    switch (f->kind) {
    case 's': case 'S': return "\"X1\"";
    case 'T': return "\"text\"";
    case 'i': return f->min > 1 ? "5" : "1";
    case 'b': return "true";
    case 'o': return "{}";
    case 'e': return "[]";
    default: return "\"A\"";
    }
}

static void build(char *buf, size_t cap, const srv_cmd *c, const srv_field *skip,
                  const srv_field *wrong, const char *extra)
{
    size_t n = (size_t)snprintf(buf, cap, "{\"type\":\"%s\",\"id\":9", c->name);
    for (const srv_field *f = c->fields; f->name; f++) {
        if (f == skip) continue;
        n += (size_t)snprintf(buf + n, cap - n, ",\"%s\":%s", f->name,
                              f == wrong ? wrong_value(f->kind) : good_value(f));
    }
    if (extra) n += (size_t)snprintf(buf + n, cap - n, ",%s", extra);
    snprintf(buf + n, cap - n, "}");
}

Test(cmd, every_row_checks_its_schema)
{
    char buf[2048];
    srv_msg m;
    srv_msg_error e;
    for (const srv_cmd *c = net_cmds; c->name; c++) {
        build(buf, sizeof buf, c, NULL, NULL, NULL);
        cr_assert_eq(parse(buf, &m, &e), 0, "%s: %s -> %s", c->name, buf, e.message);
        cr_assert(m.cmd == c);
        cr_assert_eq(m.id, 9);
        srv_msg_free(&m);

        build(buf, sizeof buf, c, NULL, NULL, "\"bogus\":1");
        cr_assert_neq(parse(buf, &m, &e), 0, "%s: unknown field", c->name);
        cr_assert_str_eq(e.code, "bad_field");
        cr_assert_str_eq(e.field, "bogus");
        cr_assert_eq(e.id, 9, "the error keeps the request id");

        for (const srv_field *f = c->fields; f->name; f++) {
            build(buf, sizeof buf, c, NULL, f, NULL);
            cr_assert_neq(parse(buf, &m, &e), 0, "%s.%s: ill-typed accepted: %s", c->name, f->name, buf);
            cr_assert_str_eq(e.code, "bad_field", "%s.%s", c->name, f->name);
            cr_assert_str_eq(e.field, f->name, "%s.%s", c->name, f->name);
            build(buf, sizeof buf, c, f, NULL, NULL);
            int rc = parse(buf, &m, &e);
            if (f->required) {
                cr_assert_neq(rc, 0, "%s.%s: missing accepted", c->name, f->name);
                cr_assert_str_eq(e.field, f->name);
                cr_assert(strstr(e.message, "missing"));
            } else {
                cr_assert_eq(rc, 0, "%s.%s is optional: %s", c->name, f->name, e.message);
                srv_msg_free(&m);
            }
        }
    }
}

Test(cmd, integer_and_string_limits_come_from_the_row)
{
    srv_msg m;
    srv_msg_error e;
    cr_assert_neq(parse("{\"type\":\"bank_health\",\"occupation\":\"4-04-04-02\",\"level\":6}", &m, &e), 0);
    cr_assert_str_eq(e.field, "level");
    cr_assert_eq(parse("{\"type\":\"bank_health\",\"occupation\":\"4-04-04-02\",\"level\":5}", &m, &e), 0);
    /* seq: 1 .. 2^53 - 1, what a browser holds exactly */
    cr_assert_eq(parse("{\"type\":\"answer\",\"item\":1,\"response\":\"A\",\"seq\":9007199254740991}", &m, &e), 0);
    cr_assert_eq(m.seq, 9007199254740991LL);
    srv_msg_free(&m);
    cr_assert_neq(parse("{\"type\":\"answer\",\"item\":1,\"response\":\"A\",\"seq\":9007199254740992}", &m, &e), 0);
    cr_assert_str_eq(e.field, "seq");
    cr_assert(strstr(e.message, "9007199254740991"), "%s", e.message);
    cr_assert_neq(parse("{\"type\":\"answer\",\"item\":1,\"response\":\"A\",\"seq\":9007199254740993}", &m, &e), 0);
    cr_assert_neq(parse("{\"type\":\"bank_list\",\"limit\":501}", &m, &e), 0);
    cr_assert_str_eq(e.field, "limit");
    char big[200];
    snprintf(big, sizeof big, "{\"type\":\"bank_item\",\"uid\":\"%070d\"}", 1);
    cr_assert_neq(parse(big, &m, &e), 0);
    cr_assert_str_eq(e.field, "uid");
}

/* Who may send what: nobody yet, a candidate, or staff with given roles. */
Test(cmd, who_may_send_what)
{
    srv_msg_error e;
    const srv_cmd *login = net_cmd_find("login"), *answer = net_cmd_find("answer"),
                  *time = net_cmd_find("time"), *save = net_cmd_find("bank_save"),
                  *review = net_cmd_find("bank_review"), *prep = net_cmd_find("session_prepare"),
                  *verify = net_cmd_find("session_verify"), *slogin = net_cmd_find("staff_login"),
                  *hb = net_cmd_find("heartbeat");
    /* before any login */
    cr_assert_eq(net_cmd_allowed(login, 0, 0, 0, &e), 0);
    cr_assert_eq(net_cmd_allowed(slogin, 0, 0, 0, &e), 0);
    cr_assert_eq(net_cmd_allowed(time, 0, 0, 0, &e), 0);
    cr_assert_neq(net_cmd_allowed(answer, 0, 0, 0, &e), 0);
    cr_assert_str_eq(e.code, "unauthenticated");
    cr_assert_neq(net_cmd_allowed(save, 0, 0, 0, &e), 0);
    cr_assert_str_eq(e.code, "unauthenticated");
    /* a candidate */
    cr_assert_eq(net_cmd_allowed(answer, 1, 0, 0, &e), 0);
    cr_assert_eq(net_cmd_allowed(hb, 1, 0, 0, &e), 0);
    cr_assert_eq(net_cmd_allowed(login, 1, 0, 0, &e), 0, "a candidate may log in again");
    cr_assert_neq(net_cmd_allowed(slogin, 1, 0, 0, &e), 0);
    cr_assert_str_eq(e.code, "forbidden");
    cr_assert_neq(net_cmd_allowed(save, 1, 0, 0, &e), 0);
    cr_assert_str_eq(e.code, "forbidden");
    /* staff */
    cr_assert_neq(net_cmd_allowed(answer, 0, 1, SRV_STAFF_ANY, &e), 0);
    cr_assert_str_eq(e.code, "forbidden");
    cr_assert_neq(net_cmd_allowed(login, 0, 1, SRV_ROLE_ADMIN, &e), 0);
    cr_assert_str_eq(e.code, "forbidden");
    cr_assert_eq(net_cmd_allowed(time, 0, 1, SRV_ROLE_AUTHOR, &e), 0);
    cr_assert_eq(net_cmd_allowed(save, 0, 1, SRV_ROLE_AUTHOR, &e), 0);
    cr_assert_neq(net_cmd_allowed(save, 0, 1, SRV_ROLE_REVIEWER, &e), 0);
    cr_assert_str_eq(e.code, "forbidden");
    cr_assert_eq(net_cmd_allowed(review, 0, 1, SRV_ROLE_REVIEWER, &e), 0);
    cr_assert_neq(net_cmd_allowed(review, 0, 1, SRV_ROLE_AUTHOR, &e), 0);
    cr_assert_eq(net_cmd_allowed(prep, 0, 1, SRV_ROLE_AFFAIRS, &e), 0);
    cr_assert_neq(net_cmd_allowed(prep, 0, 1, SRV_ROLE_SUPERVISOR, &e), 0, "督导员 changes nothing");
    cr_assert_eq(net_cmd_allowed(verify, 0, 1, SRV_ROLE_SUPERVISOR, &e), 0, "督导员 audits");
    /* admin may send every staff message; no role a proctor has opens the bank */
    for (const srv_cmd *c = net_cmds; c->name; c++) {
        if (!(c->who & SRV_STAFF_ANY)) continue;
        cr_assert_eq(net_cmd_allowed(c, 0, 1, SRV_ROLE_ADMIN, &e), 0, "admin: %s", c->name);
        if (!strncmp(c->name, "bank_", 5))
            cr_assert_neq(net_cmd_allowed(c, 0, 1, SRV_ROLE_PROCTOR, &e), 0, "proctor: %s", c->name);
    }
}

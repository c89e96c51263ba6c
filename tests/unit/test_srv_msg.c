/* Client message validation: every rejection names its field and code. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/net/net.h"

static int parse(const char *s, srv_msg *m, srv_msg_error *e)
{
    return net_msg_parse(s, strlen(s), m, e);
}

Test(msg, login_ok)
{
    srv_msg m;
    srv_msg_error e;
    cr_assert_eq(parse("{\"type\":\"login\",\"id\":7,\"ticket\":\"2026110001\",\"id_number\":\"x\"}", &m, &e), 0);
    cr_assert_str_eq(m.cmd->name, "login");
    cr_assert_eq(m.id, 7);
    cr_assert_str_eq(m.ticket, "2026110001");
}

Test(msg, answer_ok)
{
    srv_msg m;
    srv_msg_error e;
    cr_assert_eq(parse("{\"type\":\"answer\",\"item\":17,\"response\":\"B\",\"seq\":5}", &m, &e), 0);
    cr_assert_str_eq(m.cmd->name, "answer");
    cr_assert_eq(m.item, 17);
    cr_assert_eq(m.seq, 5);
    cr_assert_str_eq(m.response, "B");
    cr_assert_eq(m.id, -1);
    srv_msg_free(&m);
    cr_assert_null(m.response);
}

Test(msg, bad_json)
{
    srv_msg m;
    srv_msg_error e;
    cr_assert_neq(parse("{\"type\":", &m, &e), 0);
    cr_assert_str_eq(e.code, "bad_json");
    cr_assert_neq(parse("[1,2]", &m, &e), 0);
    cr_assert_str_eq(e.code, "bad_json");
}

Test(msg, unknown_type)
{
    srv_msg m;
    srv_msg_error e;
    cr_assert_neq(parse("{\"type\":\"hack\",\"id\":3}", &m, &e), 0);
    cr_assert_str_eq(e.code, "unknown_type");
    cr_assert_str_eq(e.field, "type");
    cr_assert_eq(e.id, 3);
    cr_assert_neq(parse("{\"id\":3}", &m, &e), 0);
    cr_assert_str_eq(e.code, "unknown_type");
}

Test(msg, ill_typed_and_unknown_fields)
{
    srv_msg m;
    srv_msg_error e;
    cr_assert_neq(parse("{\"type\":\"answer\",\"item\":17,\"response\":\"B\",\"seq\":\"5\"}", &m, &e), 0);
    cr_assert_str_eq(e.code, "bad_field");
    cr_assert_str_eq(e.field, "seq");
    cr_assert_neq(parse("{\"type\":\"answer\",\"item\":17,\"response\":\"B\",\"seq\":0}", &m, &e), 0);
    cr_assert_str_eq(e.field, "seq");
    cr_assert_neq(parse("{\"type\":\"answer\",\"item\":17,\"seq\":1}", &m, &e), 0);
    cr_assert_str_eq(e.field, "response");
    cr_assert(strstr(e.message, "missing"));
    cr_assert_neq(parse("{\"type\":\"start\",\"itme\":1}", &m, &e), 0);
    cr_assert_str_eq(e.field, "itme");
    cr_assert_neq(parse("{\"type\":\"time\",\"id\":-1}", &m, &e), 0);
    cr_assert_str_eq(e.field, "id");
}

Test(msg, string_limits)
{
    srv_msg m;
    srv_msg_error e;
    char buf[256];
    snprintf(buf, sizeof buf, "{\"type\":\"login\",\"ticket\":\"%040d\",\"id_number\":\"1\"}", 1);
    cr_assert_neq(parse(buf, &m, &e), 0);
    cr_assert_str_eq(e.field, "ticket");
    cr_assert_neq(parse("{\"type\":\"login\",\"ticket\":\"\",\"id_number\":\"1\"}", &m, &e), 0);
    cr_assert_str_eq(e.field, "ticket");
    /* an embedded NUL must not sneak past as a shorter string: the parser refuses it */
    cr_assert_neq(parse("{\"type\":\"login\",\"ticket\":\"a\\u0000b\",\"id_number\":\"1\"}", &m, &e), 0);
    cr_assert_str_eq(e.code, "bad_json");
}

Test(msg, heartbeat_events)
{
    srv_msg m;
    srv_msg_error e;
    cr_assert_eq(parse("{\"type\":\"heartbeat\",\"events\":[{\"kind\":\"blur\",\"at\":1},{\"kind\":\"focus\",\"at\":2}]}", &m, &e), 0);
    cr_assert_eq(m.n_events, 2);
    cr_assert_str_eq(m.events[1].kind, "focus");
    srv_msg_free(&m);
    cr_assert_neq(parse("{\"type\":\"heartbeat\",\"events\":[{\"kind\":\"teleport\",\"at\":1}]}", &m, &e), 0);
    cr_assert_str_eq(e.field, "events");
    cr_assert_neq(parse("{\"type\":\"heartbeat\",\"events\":{}}", &m, &e), 0);
    cr_assert_str_eq(e.field, "events");
}

Test(msg, duplicate_keys_rejected)
{
    srv_msg m;
    srv_msg_error e;
    cr_assert_neq(parse("{\"type\":\"time\",\"type\":\"login\"}", &m, &e), 0);
    cr_assert_str_eq(e.code, "bad_json");
}

Test(msg, error_json)
{
    char *s = srv_msg_error_json(4, "bad_field", "seq", "seq: expected an integer");
    cr_assert_str_eq(s, "{\"type\":\"error\",\"code\":\"bad_field\",\"message\":\"seq: expected an integer\",\"id\":4,\"field\":\"seq\"}");
    free(s);
    s = srv_msg_error_json(-1, "internal", NULL, NULL);
    cr_assert(strstr(s, "\"code\":\"internal\""));
    cr_assert_null(strstr(s, "\"id\""));
    free(s);
}

Test(msg, truncated_utf8_stays_valid)
{
    srv_msg m;
    srv_msg_error e;
    /* a 40-byte cut of a type made of 3-byte characters falls inside one */
    cr_assert_neq(parse("{\"type\":\"考考考考考考考考考考考考考考考考考考考考\"}", &m, &e), 0);
    char *s = srv_msg_error_json(e.id, e.code, e.field, e.message);
    cr_assert_not_null(s);
    cr_assert(strstr(s, "unknown_type"));
    cr_assert(strstr(s, "考考"));
    free(s);
}

Test(msg, fill_response_is_an_array_joined_by_unit_separators)
{
    srv_msg m;
    srv_msg_error e;
    cr_assert_eq(parse("{\"type\":\"answer\",\"item\":3,\"response\":[\"TCP\",\"\",\"443\"],\"seq\":1}", &m, &e), 0);
    cr_assert_str_eq(m.response, "TCP\x1f\x1f" "443");
    srv_msg_free(&m);
    cr_assert_neq(parse("{\"type\":\"answer\",\"item\":3,\"response\":[],\"seq\":1}", &m, &e), 0);
    cr_assert_str_eq(e.field, "response");
    cr_assert_neq(parse("{\"type\":\"answer\",\"item\":3,\"response\":[\"a\",1],\"seq\":1}", &m, &e), 0);
    cr_assert_str_eq(e.message, "response[1]: expected a string");
    cr_assert_neq(parse("{\"type\":\"answer\",\"item\":3,\"response\":\"a\\u001fb\",\"seq\":1}", &m, &e), 0);
    cr_assert_str_eq(e.message, "response: contains a control character");
    cr_assert_neq(parse("{\"type\":\"answer\",\"item\":3,\"response\":{\"a\":1},\"seq\":1}", &m, &e), 0);
    cr_assert_str_eq(e.message, "response: expected a string or an array of strings");
}

Test(msg, long_text_responses_fit_up_to_4000_bytes)
{
    srv_msg m;
    srv_msg_error e;
    size_t n = 4000;
    char *buf = malloc(n + 100);
    int k = sprintf(buf, "{\"type\":\"answer\",\"item\":3,\"seq\":1,\"response\":\"");
    memset(buf + k, 'x', n);
    strcpy(buf + k + n, "\"}");
    cr_assert_eq(parse(buf, &m, &e), 0);
    cr_assert_eq(strlen(m.response), n);
    srv_msg_free(&m);
    memset(buf + k, 'x', n + 1);
    strcpy(buf + k + n + 1, "\"}");
    cr_assert_neq(parse(buf, &m, &e), 0);
    cr_assert_str_eq(e.message, "response: at most 4000 bytes");
    free(buf);
}

/* A job carries its message: a synchronized start queues thousands of them at once, so the
 * large fields live on the heap and the message stays small. */
Test(msg, stays_small_and_moves_its_heap_fields)
{
    cr_assert_lt(sizeof(srv_msg), 2048);
    srv_msg m, to;
    srv_msg_error e;
    cr_assert_eq(parse("{\"type\":\"answer\",\"item\":3,\"response\":\"AB\",\"seq\":1}", &m, &e), 0);
    srv_msg_move(&to, &m);
    cr_assert_null(m.response);
    cr_assert_str_eq(to.response, "AB");
    srv_msg_free(&m);                 /* nothing of to's */
    srv_msg_free(&to);
}

/* Staff roles, staff tokens and the staff messages' parsing. */
#include <criterion/criterion.h>
#include <string.h>

#include "../../server/net/net.h"
#include "../../server/staff/staff.h"
#include "../../server/exam/exam.h"

Test(staff, roles_parse_and_format)
{
    unsigned r;
    char bad[48], out[200];
    cr_assert_eq(staff_roles_parse("author, reviewer", &r, bad, sizeof bad), 0);
    cr_assert_eq(r, SRV_ROLE_AUTHOR | SRV_ROLE_REVIEWER);
    staff_roles_format(r, out, sizeof out);
    cr_assert_str_eq(out, "author,reviewer");
    cr_assert_eq(staff_roles_parse("admin,boss", &r, bad, sizeof bad), -1);
    cr_assert_str_eq(bad, "boss");
}

Test(staff, token_roundtrip_and_tamper)
{
    unsigned char key[32], skey[32], other[32];
    memset(key, 7, sizeof key);
    staff_key_derive(key, skey);
    cr_assert_neq(memcmp(key, skey, 32), 0, "the staff key differs from the candidate key");
    char tok[160];
    staff_token_make(skey, 42, SRV_ROLE_REVIEWER, 5000, tok, sizeof tok);
    uint64_t id = 0;
    unsigned roles = 0;
    cr_assert_eq(staff_token_check(skey, tok, 4000, &id, &roles), 0);
    cr_assert_eq(id, 42);
    cr_assert_eq(roles, SRV_ROLE_REVIEWER);
    cr_assert_neq(staff_token_check(skey, tok, 6000, &id, &roles), 0, "expired");
    memset(other, 8, sizeof other);
    cr_assert_neq(staff_token_check(other, tok, 4000, &id, &roles), 0, "another key");
    /* more roles in the token than were signed */
    char forged[160];
    snprintf(forged, sizeof forged, "s42.%u%s", SRV_ROLE_ADMIN | SRV_ROLE_REVIEWER, strchr(tok, '.') + 2);
    cr_assert_neq(staff_token_check(skey, forged, 4000, &id, &roles), 0, "forged roles");
    /* a candidate token is not a staff token */
    char ctok[160];
    exam_token_make(key, 42, 5000, ctok, sizeof ctok);
    cr_assert_neq(staff_token_check(skey, ctok, 4000, &id, &roles), 0);
    cr_assert_neq(exam_token_check(key, tok, 4000, &id), 0);
}

Test(staff, messages_parse)
{
    srv_msg m;
    srv_msg_error e;
    const char *login = "{\"type\":\"staff_login\",\"id\":1,\"login\":\"rev\",\"password\":\"p w\"}";
    cr_assert_eq(net_msg_parse(login, strlen(login), &m, &e), 0);
    cr_assert_str_eq(m.cmd->name, "staff_login");
    cr_assert_str_eq(m.login, "rev");
    cr_assert_str_eq(m.password, "p w");
    const char *list = "{\"type\":\"bank_list\",\"filters\":{\"point\":\"A-01\",\"level\":4},\"limit\":20}";
    cr_assert_eq(net_msg_parse(list, strlen(list), &m, &e), 0);
    cr_assert_str_eq(m.cmd->name, "bank_list");
    cr_assert_str_eq(m.obj, "{\"point\":\"A-01\",\"level\":4}");
    cr_assert_eq(m.limit, 20);
    srv_msg_free(&m);
    cr_assert_null(m.obj);
    const char *bad = "{\"type\":\"bank_list\",\"filters\":[1]}";
    cr_assert_neq(net_msg_parse(bad, strlen(bad), &m, &e), 0);
    cr_assert_str_eq(e.field, "filters");
    const char *big = "{\"type\":\"bank_list\",\"limit\":501}";
    cr_assert_neq(net_msg_parse(big, strlen(big), &m, &e), 0);
    cr_assert_str_eq(e.field, "limit");
    const char *save = "{\"type\":\"bank_save\"}";
    cr_assert_neq(net_msg_parse(save, strlen(save), &m, &e), 0);
    cr_assert_str_eq(e.field, "item");
    const char *rev = "{\"type\":\"bank_review\",\"uid\":\"T-1\",\"action\":\"return\",\"comment\":\"改\"}";
    cr_assert_eq(net_msg_parse(rev, strlen(rev), &m, &e), 0);
    cr_assert_str_eq(m.comment, "改");
    srv_msg_free(&m);
    const char *health = "{\"type\":\"bank_health\",\"occupation\":\"4-04-04-02\",\"level\":6}";
    cr_assert_neq(net_msg_parse(health, strlen(health), &m, &e), 0);
    cr_assert_str_eq(e.field, "level");
}

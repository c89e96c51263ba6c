/* Exam-affairs messages (srv_msg.c) and who may send them (srv_affairs.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "../../server/net/net.h"

static int parse(const char *s, srv_msg *m, srv_msg_error *e) { return net_msg_parse(s, strlen(s), m, e); }

Test(affairs, messages_parse)
{
    srv_msg m;
    srv_msg_error e;
    cr_assert_eq(parse("{\"type\":\"paper_template\",\"id\":3,\"code\":\"ASM-BP\"}", &m, &e), 0);
    cr_assert_str_eq(m.cmd->name, "paper_template");
    cr_assert_str_eq(m.uid, "ASM-BP");
    cr_assert_eq(parse("{\"type\":\"paper_template_import\",\"file\":\"a.json\",\"text\":\"{}\\n\",\"dry_run\":true}", &m, &e), 0);
    cr_assert_str_eq(m.cmd->name, "paper_template_import");
    cr_assert_str_eq(m.file, "a.json");
    cr_assert_str_eq(m.obj, "{}\n");
    cr_assert_eq(m.dry_run, 1);
    srv_msg_free(&m);
    cr_assert_eq(parse("{\"type\":\"paper_template_import\",\"file\":\"a.json\",\"text\":\"x\"}", &m, &e), 0);
    cr_assert_eq(m.dry_run, 0);
    srv_msg_free(&m);
    cr_assert_neq(parse("{\"type\":\"paper_template_import\",\"file\":\"a.json\",\"text\":\"x\",\"dry_run\":1}", &m, &e), 0);
    cr_assert_str_eq(e.field, "dry_run");
    cr_assert_neq(parse("{\"type\":\"paper_template_import\",\"file\":\"a.json\",\"text\":\"\"}", &m, &e), 0);
    cr_assert_str_eq(e.field, "text");
    cr_assert_neq(parse("{\"type\":\"paper_template_import\",\"text\":\"x\"}", &m, &e), 0);
    cr_assert_str_eq(e.field, "file");
    cr_assert_neq(parse("{\"type\":\"session_prepare\",\"code\":\"\"}", &m, &e), 0);
    cr_assert_str_eq(e.field, "code");
    cr_assert_neq(parse("{\"type\":\"session_report\",\"code\":\"ASM\",\"forms\":2}", &m, &e), 0);
    cr_assert_str_eq(e.field, "forms");
    cr_assert_eq(parse("{\"type\":\"exam_sessions\"}", &m, &e), 0);
    cr_assert_str_eq(m.cmd->name, "exam_sessions");
}

Test(affairs, roles)
{
    unsigned aff = SRV_ROLE_AFFAIRS | SRV_ROLE_ADMIN;
    cr_assert_eq(net_cmd_find("session_prepare")->who, aff);
    cr_assert_eq(net_cmd_find("paper_template_import")->who, aff);
    cr_assert_eq(net_cmd_find("paper_template_check")->who, aff);
    cr_assert_eq(net_cmd_find("session_verify")->who, aff | SRV_ROLE_SUPERVISOR);
    cr_assert_eq(net_cmd_find("paper_templates")->who, aff | SRV_ROLE_SUPERVISOR);
    cr_assert_eq(net_cmd_find("session_report")->who & SRV_ROLE_AUTHOR, 0u);
}

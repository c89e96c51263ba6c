/* Configuration, time parsing and resume tokens. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../server/srv.h"
#include "../../server/exam/exam.h"

Test(config, defaults_and_set)
{
    srv_config c;
    char err[256];
    srv_config_defaults(&c);
    cr_assert_eq(c.port, 8080);
    cr_assert_eq(srv_config_set(&c, "server.port", "9000", err, sizeof err), 0);
    cr_assert_eq(c.port, 9000);
    cr_assert_neq(srv_config_set(&c, "server.port", "70000", err, sizeof err), 0);
    cr_assert(strstr(err, "server.port"));
    cr_assert_neq(srv_config_set(&c, "server.nope", "1", err, sizeof err), 0);
    cr_assert(strstr(err, "unknown setting"));
}

Test(config, media_cache_and_waiting_line)
{
    srv_config c;
    char err[256];
    srv_config_defaults(&c);
    cr_assert_eq(c.media_cache_mb, 64);
    cr_assert_eq(c.media_wait, 4096);
    cr_assert_eq(srv_config_set(&c, "server.media_cache_mb", "0", err, sizeof err), 0, "0 turns the cache off");
    cr_assert_eq(c.media_cache_mb, 0);
    cr_assert_eq(srv_config_set(&c, "pools.media_wait", "0", err, sizeof err), 0, "0: busy at once, as before");
    cr_assert_eq(c.media_wait, 0);
    cr_assert_neq(srv_config_set(&c, "server.media_cache_mb", "-1", err, sizeof err), 0);
    cr_assert(strstr(err, "server.media_cache_mb: expected an integer from 0 to 65536"), "%s", err);
    cr_assert_neq(srv_config_set(&c, "pools.media_wait", "10000001", err, sizeof err), 0);
    cr_assert(strstr(err, "pools.media_wait"), "%s", err);
}

Test(config, node_id_is_checked_and_defaults_to_host_and_port)
{
    srv_config c;
    char err[256];
    srv_config_defaults(&c);
    cr_assert_str_eq(c.node_id, "", "empty until serve or config resolve it");
    cr_assert_eq(srv_config_set(&c, "server.port", "9000", err, sizeof err), 0);
    srv_config_node_id(&c);
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    const char *colon = strrchr(c.node_id, ':');
    cr_assert_not_null(colon, "%s", c.node_id);
    cr_assert_str_eq(colon, ":9000");
    if (host[0] && strlen(host) <= 58) cr_assert_eq(strncmp(c.node_id, host, strlen(host)), 0, "%s", c.node_id);
    cr_assert_leq(strlen(c.node_id), 64);
    /* A node id given is kept as it is. */
    cr_assert_eq(srv_config_set(&c, "server.node_id", "exam-node-2", err, sizeof err), 0);
    srv_config_node_id(&c);
    cr_assert_str_eq(c.node_id, "exam-node-2");
    char max[65];
    memset(max, 'n', 64);
    max[64] = 0;
    cr_assert_eq(srv_config_set(&c, "server.node_id", max, err, sizeof err), 0, "%s", err);
    /* Too long, spaces, control characters, non-ASCII: refused, naming the setting. */
    char longer[66];
    memset(longer, 'n', 65);
    longer[65] = 0;
    const char *bad[] = {longer, "node 2", "node\t2", "考场一", "node\x7f"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        cr_assert_neq(srv_config_set(&c, "server.node_id", bad[i], err, sizeof err), 0, "%s accepted", bad[i]);
        cr_assert(strstr(err, "server.node_id"), "%s", err);
    }
    cr_assert_str_eq(c.node_id, max, "a refused value changes nothing");
}

Test(config, file_errors_name_line)
{
    char path[] = "/tmp/kc-conf-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "# comment\n[db]\nsocket = /tmp/x.sock\n\n[server]\nport = abc\n");
    fclose(f);
    srv_config c;
    char err[256];
    srv_config_defaults(&c);
    cr_assert_neq(srv_config_load(&c, path, err, sizeof err), 0);
    cr_assert(strstr(err, ":6: server.port"), "got %s", err);
    cr_assert_str_eq(c.db.socket, "/tmp/x.sock");
    remove(path);
}

Test(time, durations)
{
    int64_t s;
    cr_assert_eq(kc_parse_duration("90m", &s), 0);
    cr_assert_eq(s, 5400);
    cr_assert_eq(kc_parse_duration("1h30m", &s), 0);
    cr_assert_eq(s, 5400);
    cr_assert_eq(kc_parse_duration("30d", &s), 0);
    cr_assert_eq(s, 30 * 86400);
    cr_assert_eq(kc_parse_duration("45s", &s), 0);
    cr_assert_eq(s, 45);
    cr_assert_eq(kc_parse_duration("5400", &s), 0);
    cr_assert_eq(s, 5400);
    cr_assert_neq(kc_parse_duration("", &s), 0);
    cr_assert_neq(kc_parse_duration("10x", &s), 0);
    cr_assert_neq(kc_parse_duration("-5m", &s), 0);
}

Test(time, points_in_time)
{
    int64_t t;
    cr_assert_eq(kc_parse_time("2026-11-24T10:00Z", 0, &t), 0);
    cr_assert_eq(t, 1795514400000LL);
    cr_assert_eq(kc_parse_time("2026-11-24 10:00:30", 0, &t), 0);
    cr_assert_eq(t, 1795514430000LL);
    cr_assert_eq(kc_parse_time("+1h", 1000, &t), 0);
    cr_assert_eq(t, 3601000);
    cr_assert_eq(kc_parse_time("now", 42, &t), 0);
    cr_assert_eq(t, 42);
    cr_assert_neq(kc_parse_time("2026-13-01T00:00Z", 0, &t), 0);
    cr_assert_neq(kc_parse_time("tomorrow", 0, &t), 0);
    char buf[32];
    kc_format_iso(1795514430123LL, buf, sizeof buf);
    cr_assert_str_eq(buf, "2026-11-24T10:00:30.123Z");
}

Test(token, roundtrip_and_tamper)
{
    unsigned char key[32];
    memset(key, 7, sizeof key);
    char tok[160];
    exam_token_make(key, 42, 5000, tok, sizeof tok);
    uint64_t a = 0;
    cr_assert_eq(exam_token_check(key, tok, 4000, &a), 0);
    cr_assert_eq(a, 42);
    cr_assert_neq(exam_token_check(key, tok, 6000, &a), 0, "expired");
    tok[0] = '4';
    tok[1] = '3';
    cr_assert_neq(exam_token_check(key, tok, 4000, &a), 0, "other attempt");
    key[0] ^= 1;
    exam_token_make(key, 42, 5000, tok, sizeof tok);
    key[0] ^= 1;
    cr_assert_neq(exam_token_check(key, tok, 4000, &a), 0, "other key");
    cr_assert_neq(exam_token_check(key, "garbage", 0, &a), 0);
}

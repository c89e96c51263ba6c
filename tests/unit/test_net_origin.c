/* The Origin check of a WebSocket upgrade (cross-site WebSocket hijacking). */
#include <criterion/criterion.h>

#include "../../server/net/net.h"

Test(origin, own_origin_only_by_default)
{
    cr_assert(net_origin_allowed("http://127.0.0.1:8080", "127.0.0.1:8080", ""));
    cr_assert(net_origin_allowed("https://Exam.Example.cn", "exam.example.cn", ""), "case-insensitive");
    cr_assert_not(net_origin_allowed("http://evil.example", "127.0.0.1:8080", ""));
    cr_assert_not(net_origin_allowed("http://127.0.0.1:9090", "127.0.0.1:8080", ""), "another port is another origin");
    cr_assert_not(net_origin_allowed("http://127.0.0.1:8080.evil.example", "127.0.0.1:8080", ""));
    cr_assert_not(net_origin_allowed("null", "127.0.0.1:8080", ""), "a sandboxed page or a file");
    cr_assert_not(net_origin_allowed("ftp://127.0.0.1:8080", "127.0.0.1:8080", ""));
    cr_assert_not(net_origin_allowed("http://127.0.0.1:8080", "", ""), "no Host: nothing to be the same as");
}

Test(origin, no_origin_is_no_browser_page)
{
    cr_assert(net_origin_allowed("", "127.0.0.1:8080", ""));
    cr_assert(net_origin_allowed(NULL, "127.0.0.1:8080", ""));
}

Test(origin, listed_origins)
{
    const char *list = "https://exam.example.cn, http://10.0.0.5:8080 ,https://b.example";
    cr_assert(net_origin_allowed("https://exam.example.cn", "kaochang-node-2:8080", list));
    cr_assert(net_origin_allowed("http://10.0.0.5:8080", "kaochang-node-2:8080", list));
    cr_assert(net_origin_allowed("HTTPS://B.EXAMPLE", "x", list));
    cr_assert_not(net_origin_allowed("https://exam.example.cn.evil", "x", list));
    cr_assert_not(net_origin_allowed("https://exam.example", "x", list), "a prefix is not a match");
    cr_assert_not(net_origin_allowed("http://10.0.0.5", "x", list));
}

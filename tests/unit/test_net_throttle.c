/* Login throttling and connections per address (server/net/net_throttle.c), on an explicit
 * clock: the rate bucket, pair backoff, distributed guesses, address slowdowns, address
 * keys, connection limits, trusted CIDRs, bounded tables and the [limits] settings. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../../server/net/net.h"

#define T0 1700000000000LL     /* a realistic "now", ms */

static srv_limits L;           /* the defaults, changed by a test before mk() */
static net_throttle *T;

static void defaults(void)
{
    srv_config c;
    srv_config_defaults(&c);
    L = c.limits;
    T = NULL;
}

static void done(void) { net_throttle_free(T); }

TestSuite(throttle, .init = defaults, .fini = done);

static void mk(void)
{
    char err[256] = "";
    T = net_throttle_new(&L, err, sizeof err);
    cr_assert_not_null(T, "%s", err);
}

static net_throttle_addr ad(const char *s)
{
    net_throttle_addr a;
    cr_assert_eq(net_throttle_addr_parse(s, &a), 0, "%s", s);
    return a;
}

static int check(enum net_throttle_kind k, const char *addr, const char *who, int64_t now,
                 int64_t *retry, const char **why)
{
    net_throttle_addr a = ad(addr);
    int64_t r = -1;
    const char *w = "unset";
    int rc = net_throttle_check(T, k, &a, who, now, &r, &w);
    if (rc) {
        cr_assert_eq(rc, KC_EBUSY);
        cr_assert_gt(r, 0, "a refusal says when to retry");
        cr_assert_not_null(w);
    } else {
        cr_assert_eq(r, 0);
        cr_assert_null(w);
    }
    if (retry) *retry = r;
    if (why) *why = w;
    return rc;
}

/* An attempt that must be allowed, with its outcome; what the result noted. */
static net_throttle_note attempt(enum net_throttle_kind k, const char *addr, const char *who,
                                 int64_t now, enum net_throttle_outcome o)
{
    int64_t r;
    const char *w;
    int rc = check(k, addr, who, now, &r, &w);
    cr_assert_eq(rc, 0, "%s %s refused at +%lld ms: %s, retry in %lld ms", addr, who ? who : "-",
                 (long long)(now - T0), w, (long long)r);
    net_throttle_addr a = ad(addr);
    net_throttle_note n;
    net_throttle_result(T, k, &a, who, o, now, &n);
    return n;
}

/* A guesser that waits exactly as long as it is told to: fails once on who, now moves on
 * past every refusal. The longest wait it was given. */
static int64_t fail_patiently(enum net_throttle_kind k, const char *addr, const char *who,
                              int64_t *now, net_throttle_note *note)
{
    int64_t r, longest = 0;
    const char *w;
    while (check(k, addr, who, *now, &r, &w)) {
        if (r > longest) longest = r;
        *now += r;
    }
    net_throttle_addr a = ad(addr);
    net_throttle_note n;
    net_throttle_result(T, k, &a, who, NET_THROTTLE_FAIL, *now, &n);
    if (note) *note = n;
    return longest;
}

Test(throttle, bucket_refuses_past_burst_and_refills)
{
    L.login_burst = 5;
    L.login_per_second = 2;
    mk();
    int64_t now = T0, r;
    const char *w;
    for (int i = 0; i < 5; i++) cr_assert_eq(check(NET_THROTTLE_RESUME, "10.1.1.1", NULL, now, NULL, NULL), 0);
    cr_assert_eq(check(NET_THROTTLE_RESUME, "10.1.1.1", NULL, now, &r, &w), KC_EBUSY);
    cr_assert_str_eq(w, "address");
    cr_assert_eq(r, 500, "one token back every 500 ms, got %lld", (long long)r);
    cr_assert_eq(check(NET_THROTTLE_RESUME, "10.1.1.2", NULL, now, NULL, NULL), 0, "another address has its own bucket");
    cr_assert_eq(check(NET_THROTTLE_RESUME, "10.1.1.1", NULL, now + 499, NULL, NULL), KC_EBUSY);
    cr_assert_eq(check(NET_THROTTLE_RESUME, "10.1.1.1", NULL, now + 500, NULL, NULL), 0);
    cr_assert_eq(check(NET_THROTTLE_RESUME, "10.1.1.1", NULL, now + 500, NULL, NULL), KC_EBUSY);
    /* after long enough the whole burst is back, and no more */
    now += 60000;
    for (int i = 0; i < 5; i++) cr_assert_eq(check(NET_THROTTLE_RESUME, "10.1.1.1", NULL, now, NULL, NULL), 0);
    cr_assert_eq(check(NET_THROTTLE_RESUME, "10.1.1.1", NULL, now, NULL, NULL), KC_EBUSY);
    /* a check that was not judged gives its token back */
    net_throttle_addr a = ad("10.1.1.1");
    net_throttle_result(T, NET_THROTTLE_RESUME, &a, NULL, NET_THROTTLE_VOID, now, NULL);
    cr_assert_eq(check(NET_THROTTLE_RESUME, "10.1.1.1", NULL, now, NULL, NULL), 0);
    net_throttle_stats st;
    net_throttle_stats_get(T, now, &st);
    cr_assert_eq(st.refused_address, 4);
    cr_assert_eq(st.checks, 17);
    cr_assert_eq(st.allowed, 13);
    cr_assert_eq(st.voids, 1);
}

Test(throttle, a_hall_behind_one_nat_address_logs_in_with_the_defaults)
{
    mk();
    /* 300 candidates in 60 s, a few typing their ID number wrong once or twice */
    int64_t now = T0;
    for (int i = 0; i < 300; i++) {
        char ticket[32];
        snprintf(ticket, sizeof ticket, "2026A%04d", i);
        now = T0 + i * 200;
        if (i % 15 == 0) attempt(NET_THROTTLE_LOGIN, "203.0.113.7", ticket, now, NET_THROTTLE_FAIL);
        if (i % 45 == 0) attempt(NET_THROTTLE_LOGIN, "203.0.113.7", ticket, now, NET_THROTTLE_FAIL);
        attempt(NET_THROTTLE_LOGIN, "203.0.113.7", ticket, now, NET_THROTTLE_OK);
    }
    /* and then everyone reconnects at once */
    for (int i = 0; i < 300; i++) attempt(NET_THROTTLE_RESUME, "203.0.113.7", NULL, now + 60000, NET_THROTTLE_OK);
    net_throttle_stats st;
    net_throttle_stats_get(T, now, &st);
    cr_assert_eq(st.refused_address + st.refused_ticket + st.refused_login, 0);
    cr_assert_eq(st.failures, 27);
}

Test(throttle, five_failures_back_off_doubling_to_the_lockout_and_success_resets)
{
    mk();
    int64_t now = T0, r;
    const char *w;
    for (int i = 0; i < 4; i++) {
        net_throttle_note n = attempt(NET_THROTTLE_LOGIN, "198.51.100.4", "2026DEMO0001", now, NET_THROTTLE_FAIL);
        cr_assert_eq(n.events & NET_THROTTLE_EV_PAIR, 0);
        cr_assert_eq(n.pair_failures, i + 1);
    }
    net_throttle_note n = attempt(NET_THROTTLE_LOGIN, "198.51.100.4", "2026DEMO0001", now, NET_THROTTLE_FAIL);
    cr_assert(n.events & NET_THROTTLE_EV_PAIR);
    cr_assert_eq(n.pair_until_ms, now + 30000);
    const int64_t expect[] = {30000, 60000, 120000, 240000, 480000, 900000, 900000, 900000};
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        cr_assert_eq(check(NET_THROTTLE_LOGIN, "198.51.100.4", "2026DEMO0001", now, &r, &w), KC_EBUSY);
        cr_assert_str_eq(w, "ticket");
        cr_assert_eq(r, expect[i], "backoff %zu: %lld", i, (long long)r);
        cr_assert_eq(check(NET_THROTTLE_LOGIN, "198.51.100.4", "2026DEMO0001", now + r - 1, NULL, NULL), KC_EBUSY);
        now += r;
        attempt(NET_THROTTLE_LOGIN, "198.51.100.4", "2026DEMO0001", now, NET_THROTTLE_FAIL);
    }
    /* the real candidate gets in once the backoff is over: everything is forgiven */
    cr_assert_eq(check(NET_THROTTLE_LOGIN, "198.51.100.4", "2026DEMO0001", now, &r, NULL), KC_EBUSY);
    now += r;
    attempt(NET_THROTTLE_LOGIN, "198.51.100.4", "2026DEMO0001", now, NET_THROTTLE_OK);
    n = attempt(NET_THROTTLE_LOGIN, "198.51.100.4", "2026DEMO0001", now, NET_THROTTLE_FAIL);
    cr_assert_eq(n.pair_failures, 1);
    cr_assert_eq(check(NET_THROTTLE_LOGIN, "198.51.100.4", "2026DEMO0001", now, NULL, NULL), 0);
    net_throttle_stats st;
    net_throttle_stats_get(T, now, &st);
    cr_assert_eq(st.pair_lockouts, 1);
    cr_assert_eq(st.who_lockouts, 0, "one address never locks a ticket for everyone");
}

Test(throttle, failures_are_forgotten_after_a_quiet_window)
{
    mk();
    int64_t now = T0;
    for (int i = 0; i < 4; i++) attempt(NET_THROTTLE_LOGIN, "198.51.100.4", "T1", now + i * 1000, NET_THROTTLE_FAIL);
    /* the window counts from the last failure: 14 minutes later they still count */
    now += 3000 + 14 * 60000;
    net_throttle_note n = attempt(NET_THROTTLE_LOGIN, "198.51.100.4", "T1", now, NET_THROTTLE_FAIL);
    cr_assert_eq(n.pair_failures, 5);
    cr_assert(n.events & NET_THROTTLE_EV_PAIR);
    /* once the backoff is over and 15 quiet minutes passed, they are gone */
    now += 30000 + 900000;
    n = attempt(NET_THROTTLE_LOGIN, "198.51.100.4", "T1", now, NET_THROTTLE_FAIL);
    cr_assert_eq(n.pair_failures, 1);
}

Test(throttle, guesses_sent_at_once_get_no_further_than_the_threshold)
{
    mk();
    net_throttle_addr a = ad("192.0.2.9");
    int allowed = 0;
    for (int i = 0; i < 100; i++) {
        int64_t r;
        const char *w;
        if (!net_throttle_check(T, NET_THROTTLE_LOGIN, &a, "2026DEMO0002", T0, &r, &w)) allowed++;
        else cr_assert_str_eq(w, "ticket");
    }
    cr_assert_eq(allowed, 5, "the in-flight attempts count as failures: %d allowed", allowed);
    /* one was not judged (the queue was full): it does not count */
    net_throttle_result(T, NET_THROTTLE_LOGIN, &a, "2026DEMO0002", NET_THROTTLE_VOID, T0, NULL);
    for (int i = 0; i < 4; i++)
        net_throttle_result(T, NET_THROTTLE_LOGIN, &a, "2026DEMO0002", NET_THROTTLE_FAIL, T0, NULL);
    net_throttle_note n;
    cr_assert_eq(net_throttle_check(T, NET_THROTTLE_LOGIN, &a, "2026DEMO0002", T0, &(int64_t){0}, &(const char *){0}), 0);
    net_throttle_result(T, NET_THROTTLE_LOGIN, &a, "2026DEMO0002", NET_THROTTLE_FAIL, T0, &n);
    cr_assert_eq(n.pair_failures, 5);
    cr_assert(n.events & NET_THROTTLE_EV_PAIR);
}

Test(throttle, a_guesser_on_40_tickets_does_not_stop_candidates_elsewhere)
{
    mk();
    int64_t now = T0, longest = 0;
    int slowed = 0;
    char ticket[32];
    for (int t = 0; t < 40; t++) {
        snprintf(ticket, sizeof ticket, "2026DEMO%04d", t + 1);
        for (int k = 0; k < 5; k++) {
            net_throttle_note n;
            int64_t w = fail_patiently(NET_THROTTLE_LOGIN, "198.51.100.66", ticket, &now, &n);
            if (w > longest) longest = w;
            if (n.events & NET_THROTTLE_EV_ADDRESS) slowed++;
            cr_assert_eq(n.events & NET_THROTTLE_EV_WHO, 0);
            /* each ticket backs off at the guesser's address from its fifth failure */
            cr_assert_eq(!!(n.events & NET_THROTTLE_EV_PAIR), k == 4);
            if (k == 4) cr_assert_eq(n.pair_until_ms, now + 30000);
        }
    }
    cr_assert_gt(slowed, 0, "200 failures slow the address down");
    cr_assert_leq(longest, 60000, "only its address slowdown held the guesser: %lld", (long long)longest);
    /* no ticket is held back anywhere else: the candidates log in from their own desks */
    for (int t = 0; t < 40; t++) {
        char addr[32];
        snprintf(ticket, sizeof ticket, "2026DEMO%04d", t + 1);
        snprintf(addr, sizeof addr, "10.20.0.%d", t + 1);
        attempt(NET_THROTTLE_LOGIN, addr, ticket, now, NET_THROTTLE_OK);
    }
    net_throttle_stats st;
    net_throttle_stats_get(T, now, &st);
    cr_assert_eq(st.who_lockouts, 0);
    cr_assert_eq(st.pair_lockouts, 40);
}

Test(throttle, a_spray_over_sequential_tickets_is_reported_once_per_window)
{
    mk();
    int64_t now = T0;
    int at = 0;
    for (int t = 0; t < 28; t++) {
        char ticket[32];
        snprintf(ticket, sizeof ticket, "2026DEMO%04d", t + 1);
        /* twice on some: distinct tickets count, not failures */
        net_throttle_note n = attempt(NET_THROTTLE_LOGIN, "198.51.100.67", ticket, now, NET_THROTTLE_FAIL);
        if (t % 3 == 0) n = attempt(NET_THROTTLE_LOGIN, "198.51.100.67", ticket, now, NET_THROTTLE_FAIL);
        cr_assert_eq(n.address_tickets, t + 1);
        if (n.events & NET_THROTTLE_EV_SPRAY) {
            cr_assert_eq(at, 0, "reported twice");
            at = t + 1;
        }
        now += 20000;
    }
    cr_assert_eq(at, 20);
    /* the count starts again a window after its first failure */
    net_throttle_note n = attempt(NET_THROTTLE_LOGIN, "198.51.100.67", "2026DEMO9999", T0 + 900000, NET_THROTTLE_FAIL);
    cr_assert_eq(n.address_tickets, 1);
    net_throttle_stats st;
    net_throttle_stats_get(T, now, &st);
    cr_assert_eq(st.sprays, 1);
}

Test(throttle, failures_from_three_addresses_lock_the_ticket_everywhere)
{
    mk();
    int64_t now = T0, r;
    const char *w;
    net_throttle_note n = attempt(NET_THROTTLE_LOGIN, "192.0.2.1", "2026DEMO0007", now, NET_THROTTLE_FAIL);
    cr_assert_eq(n.who_addresses, 1);
    n = attempt(NET_THROTTLE_LOGIN, "192.0.2.2", "2026DEMO0007", now, NET_THROTTLE_FAIL);
    cr_assert_eq(n.who_addresses, 2);
    cr_assert_eq(n.events & NET_THROTTLE_EV_WHO, 0);
    cr_assert_eq(check(NET_THROTTLE_LOGIN, "192.0.2.99", "2026DEMO0007", now, NULL, NULL), 0, "two are not enough");
    net_throttle_addr x = ad("192.0.2.99");
    net_throttle_result(T, NET_THROTTLE_LOGIN, &x, "2026DEMO0007", NET_THROTTLE_VOID, now, NULL);
    n = attempt(NET_THROTTLE_LOGIN, "192.0.2.3", "2026DEMO0007", now, NET_THROTTLE_FAIL);
    cr_assert_eq(n.who_addresses, 3);
    cr_assert(n.events & NET_THROTTLE_EV_WHO);
    cr_assert_eq(n.who_until_ms, now + 30000);
    /* now nobody gets to try it, not even from a fresh address */
    cr_assert_eq(check(NET_THROTTLE_LOGIN, "192.0.2.200", "2026DEMO0007", now + 1000, &r, &w), KC_EBUSY);
    cr_assert_str_eq(w, "ticket");
    cr_assert_eq(r, 29000);
    cr_assert_eq(check(NET_THROTTLE_LOGIN, "192.0.2.200", "2026DEMO0008", now, NULL, NULL), 0, "other tickets are not");
    /* every further failure doubles it, up to the lockout */
    int64_t expect[] = {60000, 120000, 240000, 480000, 900000, 900000};
    now += 30000;
    for (size_t i = 0; i < 6; i++) {
        char addr[32];
        snprintf(addr, sizeof addr, "192.0.2.%zu", 10 + i);
        n = attempt(NET_THROTTLE_LOGIN, addr, "2026DEMO0007", now, NET_THROTTLE_FAIL);
        cr_assert_eq(n.who_until_ms - now, expect[i], "%zu: %lld", i, (long long)(n.who_until_ms - now));
        now = n.who_until_ms;
    }
    net_throttle_stats st;
    net_throttle_stats_get(T, now, &st);
    cr_assert_eq(st.who_lockouts, 1);
    cr_assert_eq(st.refused_ticket, 1);
}

Test(throttle, one_network_cannot_lock_a_ticket_for_everyone)
{
    mk();
    /* one IPv6 site (a /48) with many /64s, and one IPv4 address, each count once */
    const char *v6[] = {"2001:db8:7:1::1", "2001:db8:7:2::1", "2001:db8:7:3::1", "2001:db8:7:ffff::5"};
    int64_t now = T0;
    for (int i = 0; i < 4; i++) {
        net_throttle_note n = attempt(NET_THROTTLE_LOGIN, v6[i], "2026DEMO0009", now, NET_THROTTLE_FAIL);
        cr_assert_eq(n.who_addresses, 1);
        cr_assert_eq(n.pair_failures, 1, "each /64 is its own address for the pair");
    }
    for (int i = 0; i < 4; i++) attempt(NET_THROTTLE_LOGIN, "192.0.2.50", "2026DEMO0009", now, NET_THROTTLE_FAIL);
    cr_assert_eq(check(NET_THROTTLE_LOGIN, "192.0.2.51", "2026DEMO0009", now, NULL, NULL), 0);
}

Test(throttle, a_success_takes_its_address_out_of_the_count)
{
    mk();
    attempt(NET_THROTTLE_LOGIN, "192.0.2.1", "2026DEMO0011", T0, NET_THROTTLE_FAIL);   /* the candidate's typo */
    attempt(NET_THROTTLE_LOGIN, "192.0.2.2", "2026DEMO0011", T0, NET_THROTTLE_FAIL);
    attempt(NET_THROTTLE_LOGIN, "192.0.2.1", "2026DEMO0011", T0, NET_THROTTLE_OK);
    net_throttle_note n = attempt(NET_THROTTLE_LOGIN, "192.0.2.3", "2026DEMO0011", T0, NET_THROTTLE_FAIL);
    cr_assert_eq(n.who_addresses, 2);
    cr_assert_eq(n.events & NET_THROTTLE_EV_WHO, 0);
    /* and networks older than the window do not count */
    n = attempt(NET_THROTTLE_LOGIN, "192.0.2.4", "2026DEMO0011", T0 + 900001, NET_THROTTLE_FAIL);
    cr_assert_eq(n.who_addresses, 1);
}

Test(throttle, address_slowdown_stays_short)
{
    mk();
    int64_t now = T0, longest = 0;
    char ticket[32];
    int first = 0;
    /* a spray: one failure on each of 500 tickets, as fast as it is let */
    for (int t = 0; t < 500; t++) {
        snprintf(ticket, sizeof ticket, "S%05d", t);
        net_throttle_note n;
        int64_t w = fail_patiently(NET_THROTTLE_LOGIN, "198.51.100.77", ticket, &now, &n);
        if (w > longest) longest = w;
        cr_assert_eq(n.events & NET_THROTTLE_EV_PAIR, 0);
        if ((n.events & NET_THROTTLE_EV_ADDRESS) && !first) {
            first = t + 1;
            cr_assert_eq(n.address_until_ms - now, 1000, "it starts at a second");
        }
        if (n.events & NET_THROTTLE_EV_ADDRESS) cr_assert_leq(n.address_until_ms - now, 60000);
    }
    cr_assert_eq(first, 31, "slowed after more than 30 failures, from %d", first);
    cr_assert_leq(longest, 60000);
    /* the guesser keeps to about 30 failures per 15 minutes */
    cr_assert_geq(now - T0, 440 * 30000LL, "500 failures in %lld s", (long long)(now - T0) / 1000);
    int64_t r;
    const char *w;
    cr_assert_eq(check(NET_THROTTLE_LOGIN, "198.51.100.77", "fresh", now, &r, &w), KC_EBUSY);
    cr_assert_str_eq(w, "address");
    cr_assert_leq(r, 60000);
    /* a reconnecting candidate behind the same address is never held back by it */
    cr_assert_eq(check(NET_THROTTLE_RESUME, "198.51.100.77", NULL, now, NULL, NULL), 0);
    /* nor other addresses */
    cr_assert_eq(check(NET_THROTTLE_LOGIN, "198.51.100.78", "fresh", now, NULL, NULL), 0);
    /* the failures leak away: after a quiet window the address is free */
    cr_assert_eq(check(NET_THROTTLE_LOGIN, "198.51.100.77", "fresh", now + 900000, NULL, NULL), 0);
    net_throttle_stats st;
    net_throttle_stats_get(T, now, &st);
    cr_assert_eq(st.address_slowdowns, 1);
    cr_assert_eq(st.pair_lockouts, 0);
}

Test(throttle, address_slowdown_doubles_to_its_cap)
{
    L.address_fail_threshold = 5;       /* one failure leaks away every 3 minutes */
    mk();
    int64_t now = T0, longest = 0;
    int64_t steps[12];
    int n = 0;
    for (int t = 0; t < 40; t++) {
        char ticket[32];
        snprintf(ticket, sizeof ticket, "S%05d", t);
        net_throttle_note note;
        int64_t w = fail_patiently(NET_THROTTLE_LOGIN, "198.51.100.77", ticket, &now, &note);
        if (w > longest) longest = w;
        if ((note.events & NET_THROTTLE_EV_ADDRESS) && n < 12) steps[n++] = note.address_until_ms - now;
    }
    const int64_t expect[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
    for (int i = 0; i < 8; i++) cr_assert_eq(steps[i], expect[i], "step %d: %lld", i, (long long)steps[i]);
    cr_assert_eq(longest, 60000);
}

Test(throttle, successes_do_not_slow_an_address)
{
    mk();
    /* 25 failures and 1000 logins later the address is not slowed */
    int64_t now = T0;
    for (int i = 0; i < 25; i++) {
        char t[32];
        snprintf(t, sizeof t, "F%d", i);
        attempt(NET_THROTTLE_LOGIN, "203.0.113.9", t, now, NET_THROTTLE_FAIL);
    }
    for (int i = 0; i < 1000; i++) {
        char t[32];
        snprintf(t, sizeof t, "OK%d", i);
        attempt(NET_THROTTLE_LOGIN, "203.0.113.9", t, now + 100000 + i * 100, NET_THROTTLE_OK);
    }
}

Test(throttle, ipv4_mapped_is_ipv4_and_ipv6_groups_by_64)
{
    net_throttle_addr a, b;
    cr_assert_eq(net_throttle_addr_parse("1.2.3.4", &a), 0);
    cr_assert_eq(net_throttle_addr_parse("::ffff:1.2.3.4", &b), 0);
    cr_assert_eq(memcmp(&a, &b, sizeof a), 0);
    cr_assert_eq(a.family, 4);
    cr_assert_eq(net_throttle_addr_parse("::FFFF:0102:0304", &b), 0);
    cr_assert_eq(memcmp(&a, &b, sizeof a), 0);
    cr_assert_eq(net_throttle_addr_parse("[2001:db8::1]", &b), 0);
    cr_assert_eq(b.family, 6);
    cr_assert_eq(net_throttle_addr_parse("fe80::1%eth0", &b), 0);
    cr_assert_eq(b.family, 6);
    const char *bad[] = {"", "1.2.3", "1.2.3.256", "example.org", "[::1", "::1]", "1.2.3.4%eth0",
                         "unix:/tmp/s", "2001:db8::1/64", NULL};
    for (int i = 0; bad[i]; i++) {
        cr_assert_eq(net_throttle_addr_parse(bad[i], &b), KC_EINVAL, "%s", bad[i]);
        cr_assert_eq(b.family, 0);
    }
    cr_assert_eq(net_throttle_addr_parse(NULL, &b), KC_EINVAL);

    mk();
    /* failures from the mapped form hold back the plain form */
    for (int i = 0; i < 5; i++) attempt(NET_THROTTLE_LOGIN, "::ffff:1.2.3.4", "T1", T0, NET_THROTTLE_FAIL);
    cr_assert_eq(check(NET_THROTTLE_LOGIN, "1.2.3.4", "T1", T0, NULL, NULL), KC_EBUSY);
    /* a /64 is one address, the next /64 another */
    for (int i = 0; i < 5; i++) attempt(NET_THROTTLE_LOGIN, "2001:db8:1:2::1", "T2", T0, NET_THROTTLE_FAIL);
    cr_assert_eq(check(NET_THROTTLE_LOGIN, "2001:db8:1:2:ffff:ffff:ffff:fffe", "T2", T0, NULL, NULL), KC_EBUSY);
    cr_assert_eq(check(NET_THROTTLE_LOGIN, "2001:db8:1:3::1", "T2", T0, NULL, NULL), 0);
    /* every unparseable peer shares one key */
    net_throttle_addr u1, u2;
    net_throttle_addr_parse("garbage", &u1);
    net_throttle_addr_parse("other garbage", &u2);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(net_throttle_check(T, NET_THROTTLE_LOGIN, &u1, "T3", T0, &(int64_t){0}, &(const char *){0}), 0);
        net_throttle_result(T, NET_THROTTLE_LOGIN, &u1, "T3", NET_THROTTLE_FAIL, T0, NULL);
    }
    cr_assert_eq(net_throttle_check(T, NET_THROTTLE_LOGIN, &u2, "T3", T0, &(int64_t){0}, &(const char *){0}), KC_EBUSY);
}

Test(throttle, connection_limit_and_trusted_cidrs)
{
    L.connections_per_address = 3;
    snprintf(L.trusted, sizeof L.trusted, "127.0.0.1/32, ::1 ,10.0.0.0/8,2001:db8:ff::/48");
    mk();
    net_throttle_addr a = ad("192.0.2.5"), b = ad("192.0.2.6");
    for (int i = 0; i < 3; i++) cr_assert_eq(net_throttle_conn_open(T, &a, T0), 0);
    cr_assert_eq(net_throttle_conn_open(T, &a, T0), KC_EBUSY);
    cr_assert_eq(net_throttle_conn_open(T, &b, T0), 0, "per address");
    net_throttle_conn_close(T, &a, T0);
    cr_assert_eq(net_throttle_conn_open(T, &a, T0 + 1), 0);
    cr_assert_eq(net_throttle_conn_open(T, &a, T0 + 1), KC_EBUSY);
    /* open connections keep their count however long they stay */
    cr_assert_eq(net_throttle_conn_open(T, &a, T0 + 86400000LL), KC_EBUSY);
    for (int i = 0; i < 3; i++) net_throttle_conn_close(T, &a, T0);
    net_throttle_conn_close(T, &a, T0);      /* one close too many changes nothing */
    for (int i = 0; i < 3; i++) cr_assert_eq(net_throttle_conn_open(T, &a, T0), 0);
    cr_assert_eq(net_throttle_conn_open(T, &a, T0), KC_EBUSY);

    const char *trusted[] = {"127.0.0.1", "::ffff:127.0.0.1", "::1", "10.255.1.1", "2001:db8:ff:1::7", NULL};
    const char *not[] = {"127.0.0.2", "11.0.0.1", "::2", "2001:db8:fe::1", "9.255.255.255", NULL};
    for (int i = 0; trusted[i]; i++) {
        net_throttle_addr t = ad(trusted[i]);
        cr_assert(net_throttle_is_trusted(T, &t), "%s", trusted[i]);
        for (int k = 0; k < 10; k++) cr_assert_eq(net_throttle_conn_open(T, &t, T0), 0, "%s", trusted[i]);
    }
    for (int i = 0; not[i]; i++) {
        net_throttle_addr t = ad(not[i]);
        cr_assert_not(net_throttle_is_trusted(T, &t), "%s", not[i]);
        for (int k = 0; k < 3; k++) cr_assert_eq(net_throttle_conn_open(T, &t, T0), 0, "%s", not[i]);
        cr_assert_eq(net_throttle_conn_open(T, &t, T0), KC_EBUSY, "%s", not[i]);
    }
    net_throttle_addr u;
    net_throttle_addr_parse("nonsense", &u);
    cr_assert_not(net_throttle_is_trusted(T, &u));
    net_throttle_stats st;
    net_throttle_stats_get(T, T0, &st);
    cr_assert_eq(st.conn_refused, 9);
    cr_assert_eq(st.addresses, 7, "a, b and five untrusted ones with open connections");
}

Test(throttle, trusted_addresses_skip_the_address_limits_but_not_the_ticket_ones)
{
    L.login_burst = 3;
    mk();
    for (int i = 0; i < 1000; i++) attempt(NET_THROTTLE_RESUME, "127.0.0.1", NULL, T0, NET_THROTTLE_OK);
    for (int i = 0; i < 100; i++) {
        char t[32];
        snprintf(t, sizeof t, "X%d", i);
        attempt(NET_THROTTLE_LOGIN, "::1", t, T0, NET_THROTTLE_FAIL);
    }
    /* the load generator's addresses are limited like clients */
    for (int i = 0; i < 3; i++) attempt(NET_THROTTLE_RESUME, "127.0.0.2", NULL, T0, NET_THROTTLE_OK);
    cr_assert_eq(check(NET_THROTTLE_RESUME, "127.0.0.2", NULL, T0, NULL, NULL), KC_EBUSY);
    for (int i = 0; i < 5; i++) attempt(NET_THROTTLE_LOGIN, "127.0.0.1", "T9", T0 + 10000, NET_THROTTLE_FAIL);
    const char *w;
    cr_assert_eq(check(NET_THROTTLE_LOGIN, "127.0.0.1", "T9", T0 + 10000, NULL, &w), KC_EBUSY);
    cr_assert_str_eq(w, "ticket");
}

Test(throttle, trusted_list_errors_name_the_entry)
{
    char err[256];
    cr_assert_eq(net_throttle_trusted_check("", err, sizeof err), 0);
    cr_assert_eq(net_throttle_trusted_check(" 127.0.0.1/32 , ::1, 10.0.0.0/8,fd00::/8 ", err, sizeof err), 0);
    struct { const char *in, *msg; } bad[] = {
        {"10.0.0.0/33", "limits.trusted: \"10.0.0.0/33\": the prefix length must be 0 to 32"},
        {"::1/129", "limits.trusted: \"::1/129\": the prefix length must be 0 to 128"},
        {"127.0.0.1, localhost", "limits.trusted: \"localhost\" is not an IPv4 or IPv6 address or CIDR"},
        {"10.0.0.0 /8", "limits.trusted: \"/8\" is not an IPv4 or IPv6 address or CIDR"},
        {"0.0.0.0/0,::/0,1234567890123456789012345678901234567890123456789012345678901234567890",
         "limits.trusted: \"1234567890123456789012345678901234567890…\" is not an IPv4 or IPv6 address or CIDR"},
        {"10.0.0.0/", "limits.trusted: \"10.0.0.0/\": the prefix length must be 0 to 32"},
        {"10.0.0.0/8x", "limits.trusted: \"10.0.0.0/8x\": the prefix length must be 0 to 32"},
        {"fe80::1%eth0", "limits.trusted: \"fe80::1%eth0\" is not an IPv4 or IPv6 address or CIDR"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(net_throttle_trusted_check(bad[i].in, err, sizeof err), KC_EINVAL, "%s", bad[i].in);
        cr_assert_str_eq(err, bad[i].msg);
    }
    char many[1024] = "";
    for (int i = 0; i < 33; i++) snprintf(many + strlen(many), sizeof many - strlen(many), "10.0.0.%d,", i);
    cr_assert_eq(net_throttle_trusted_check(many, err, sizeof err), KC_EINVAL);
    cr_assert_str_eq(err, "limits.trusted: more than 32 entries");
}

Test(throttle, staff_logins_are_limited_alike_and_apart_from_candidates)
{
    mk();
    int64_t now = T0, r;
    const char *w;
    for (int i = 0; i < 5; i++) attempt(NET_THROTTLE_STAFF, "192.0.2.30", "reviewer1", now, NET_THROTTLE_FAIL);
    cr_assert_eq(check(NET_THROTTLE_STAFF, "192.0.2.30", "reviewer1", now, &r, &w), KC_EBUSY);
    cr_assert_str_eq(w, "login");
    cr_assert_eq(r, 30000);
    /* the database compares logins without case or trailing spaces, and so does the throttle */
    cr_assert_eq(check(NET_THROTTLE_STAFF, "192.0.2.30", "Reviewer1  ", now, NULL, NULL), KC_EBUSY);
    /* a ticket spelled like the login is another thing */
    cr_assert_eq(check(NET_THROTTLE_LOGIN, "192.0.2.30", "reviewer1", now, NULL, NULL), 0);
    cr_assert_eq(check(NET_THROTTLE_STAFF, "192.0.2.30", "author1", now, NULL, NULL), 0);
    /* three addresses lock a login everywhere */
    attempt(NET_THROTTLE_STAFF, "192.0.2.31", "admin", now, NET_THROTTLE_FAIL);
    attempt(NET_THROTTLE_STAFF, "192.0.2.32", "admin", now, NET_THROTTLE_FAIL);
    net_throttle_note n = attempt(NET_THROTTLE_STAFF, "192.0.2.33", "admin", now, NET_THROTTLE_FAIL);
    cr_assert(n.events & NET_THROTTLE_EV_WHO);
    cr_assert_eq(check(NET_THROTTLE_STAFF, "192.0.2.34", "admin", now, NULL, &w), KC_EBUSY);
    cr_assert_str_eq(w, "login");
    cr_assert_eq(check(NET_THROTTLE_LOGIN, "192.0.2.34", "admin", now, NULL, NULL), 0);
    net_throttle_stats st;
    net_throttle_stats_get(T, now, &st);
    cr_assert_eq(st.refused_login, 3);
    cr_assert_eq(st.refused_ticket, 0);
}

Test(throttle, a_staff_login_flood_from_one_address_leaves_the_staff_pool_alone)
{
    mk();
    int64_t now = T0, r;
    const char *w;
    /* 20 at once (an office logging in), then one a second */
    for (int i = 0; i < 20; i++) {
        char login[32];
        snprintf(login, sizeof login, "staff%d", i);
        attempt(NET_THROTTLE_STAFF, "192.0.2.40", login, now, NET_THROTTLE_OK);
    }
    cr_assert_eq(check(NET_THROTTLE_STAFF, "192.0.2.40", "staff99", now, &r, &w), KC_EBUSY);
    cr_assert_str_eq(w, "address");
    cr_assert_eq(r, 1000);
    /* candidates at that address and staff elsewhere are not held back */
    cr_assert_eq(check(NET_THROTTLE_LOGIN, "192.0.2.40", "2026DEMO0001", now, NULL, NULL), 0);
    cr_assert_eq(check(NET_THROTTLE_STAFF, "192.0.2.41", "staff99", now, NULL, NULL), 0);
    cr_assert_eq(check(NET_THROTTLE_STAFF, "192.0.2.40", "staff99", now + 1000, NULL, NULL), 0);
}

Test(throttle, tables_stay_bounded_and_a_lockout_survives_a_spray)
{
    L.table_size = 1024;
    L.login_burst = 0;                  /* the spray comes from everywhere, fast */
    L.address_fail_threshold = 0;
    mk();
    int64_t now = T0;
    for (int i = 0; i < 5; i++) attempt(NET_THROTTLE_LOGIN, "192.0.2.70", "2026DEMO0042", now, NET_THROTTLE_FAIL);
    cr_assert_eq(check(NET_THROTTLE_LOGIN, "192.0.2.70", "2026DEMO0042", now, NULL, NULL), KC_EBUSY);
    /* 30,000 random tickets from 30,000 addresses, one failure each */
    for (int i = 0; i < 30000; i++) {
        char addr[32], ticket[16];
        snprintf(addr, sizeof addr, "100.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        snprintf(ticket, sizeof ticket, "R%08d", i * 7919);
        attempt(NET_THROTTLE_LOGIN, addr, ticket, now + i / 100, NET_THROTTLE_FAIL);
    }
    now += 1000;
    int64_t r;
    const char *w;
    cr_assert_eq(check(NET_THROTTLE_LOGIN, "192.0.2.70", "2026DEMO0042", now, &r, &w), KC_EBUSY,
                 "the lockout was pushed out by the spray");
    cr_assert_str_eq(w, "ticket");
    net_throttle_stats st;
    net_throttle_stats_get(T, now, &st);
    cr_assert_eq(st.capacity, 1024);
    cr_assert_leq(st.pairs, 1024);
    cr_assert_leq(st.whos, 1024);
    cr_assert_geq(st.pairs, 1000, "a full table stays full: %zu", st.pairs);
    cr_assert_gt(st.evictions, 50000, "%llu", st.evictions);
    cr_assert_eq(st.evictions_locked, 0);
    /* once it all expired, new entries take expired ways: no eviction */
    now += 2 * 900000;
    net_throttle_stats_get(T, now, &st);
    cr_assert_eq(st.pairs + st.whos + st.addresses, 0);
    unsigned long long before = st.evictions;
    for (int i = 0; i < 200; i++) {     /* ~3 per set of 16: none is full */
        char ticket[32];
        snprintf(ticket, sizeof ticket, "N%d", i);
        attempt(NET_THROTTLE_LOGIN, "192.0.2.71", ticket, now, NET_THROTTLE_FAIL);
    }
    net_throttle_stats_get(T, now, &st);
    cr_assert_eq(st.evictions, before);
    cr_assert_eq(st.pairs, 200);
}

Test(throttle, when_only_lockouts_are_left_the_one_ending_soonest_goes)
{
    L.table_size = 1024;
    L.login_burst = 0;
    L.address_fail_threshold = 0;
    mk();
    /* 3,000 locked pairs in 1,024 ways: the oldest lockouts (ending soonest) are pushed out */
    int64_t now = T0;
    for (int i = 0; i < 3000; i++) {
        char addr[32], ticket[16];
        snprintf(addr, sizeof addr, "100.64.%d.%d", i >> 8, i & 255);
        snprintf(ticket, sizeof ticket, "L%d", i);
        for (int k = 0; k < 5; k++) attempt(NET_THROTTLE_LOGIN, addr, ticket, now + i * 10, NET_THROTTLE_FAIL);
    }
    net_throttle_stats st;
    net_throttle_stats_get(T, now + 30000, &st);
    cr_assert_gt(st.evictions_locked, 1000);
    cr_assert_leq(st.pairs, 1024);
    /* the newest ones are all still there */
    int held = 0;
    for (int i = 2900; i < 3000; i++) {
        char addr[32], ticket[16];
        snprintf(addr, sizeof addr, "100.64.%d.%d", i >> 8, i & 255);
        snprintf(ticket, sizeof ticket, "L%d", i);
        held += check(NET_THROTTLE_LOGIN, addr, ticket, now + 30000, NULL, NULL) == KC_EBUSY;
    }
    cr_assert_eq(held, 100);
}

Test(throttle, resume_failures_only_count)
{
    mk();
    for (int i = 0; i < 200; i++) attempt(NET_THROTTLE_RESUME, "192.0.2.80", NULL, T0 + i * 100, NET_THROTTLE_FAIL);
    cr_assert_eq(check(NET_THROTTLE_LOGIN, "192.0.2.80", "T1", T0 + 20000, NULL, NULL), 0);
    net_throttle_stats st;
    net_throttle_stats_get(T, T0 + 20000, &st);
    cr_assert_eq(st.failures, 200);
    cr_assert_eq(st.address_slowdowns + st.pair_lockouts + st.who_lockouts, 0);
}

Test(throttle, bad_limits_name_the_key)
{
    char err[256];
    L.table_size = 10;
    cr_assert_null(net_throttle_new(&L, err, sizeof err));
    cr_assert_str_eq(err, "limits.table_size: expected an integer from 1024 to 16777216, got 10");
    L.table_size = 65536;
    L.distinct_addresses = 1;
    cr_assert_null(net_throttle_new(&L, err, sizeof err));
    cr_assert(strstr(err, "limits.distinct_addresses"), "%s", err);
    L.distinct_addresses = 3;
    strcpy(L.trusted, "127.0.0.1/40");
    cr_assert_null(net_throttle_new(&L, err, sizeof err));
    cr_assert(strstr(err, "limits.trusted: \"127.0.0.1/40\""), "%s", err);
}

Test(throttle, limits_in_the_configuration)
{
    srv_config c;
    char err[256];
    srv_config_defaults(&c);
    cr_assert_eq(c.limits.login_burst, 300);
    cr_assert_str_eq(c.limits.trusted, "127.0.0.1/32, ::1");
    cr_assert_eq(srv_config_set(&c, "limits.fail_threshold", "8", err, sizeof err), 0);
    cr_assert_eq(c.limits.fail_threshold, 8);
    cr_assert_eq(srv_config_set(&c, "limits.trusted", "10.0.0.0/8, fd00::/8", err, sizeof err), 0);
    cr_assert_str_eq(c.limits.trusted, "10.0.0.0/8, fd00::/8");
    cr_assert_neq(srv_config_set(&c, "limits.trusted", "10.0.0.0/33", err, sizeof err), 0);
    cr_assert_str_eq(err, "limits.trusted: \"10.0.0.0/33\": the prefix length must be 0 to 32");
    cr_assert_str_eq(c.limits.trusted, "10.0.0.0/8, fd00::/8", "a refused value changes nothing");
    cr_assert_neq(srv_config_set(&c, "limits.distinct_addresses", "1", err, sizeof err), 0);
    cr_assert_str_eq(err, "limits.distinct_addresses: expected an integer from 2 to 8, got \"1\"");
    cr_assert_neq(srv_config_set(&c, "limits.table_size", "100", err, sizeof err), 0);
    cr_assert(strstr(err, "limits.table_size"));
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    srv_config_print(&c, f);
    fclose(f);
    cr_assert(strstr(text, "\n[limits]\n"), "%s", text);
    cr_assert(strstr(text, "\nfail_threshold = 8\n"));
    cr_assert(strstr(text, "\ntrusted = 10.0.0.0/8, fd00::/8\n"));
    cr_assert(strstr(text, "\nconnections_per_address = 1000\n"));
    free(text);
    /* the defaults build a throttle */
    srv_config_defaults(&c);
    T = net_throttle_new(&c.limits, err, sizeof err);
    cr_assert_not_null(T, "%s", err);
}

Test(throttle, cidr_edges)
{
    snprintf(L.trusted, sizeof L.trusted, "192.168.4.0/22, 0.0.0.0/32, fd00::/7");
    mk();
    const char *in[] = {"192.168.4.0", "192.168.7.255", "::ffff:192.168.5.1", "0.0.0.0", "fc00::1", "fdff:ffff::1", NULL};
    const char *out[] = {"192.168.3.255", "192.168.8.0", "0.0.0.1", "fe00::1", "::", "::ffff:0.0.0.1", NULL};
    for (int i = 0; in[i]; i++) {
        net_throttle_addr a = ad(in[i]);
        cr_assert(net_throttle_is_trusted(T, &a), "%s", in[i]);
    }
    for (int i = 0; out[i]; i++) {
        net_throttle_addr a = ad(out[i]);
        cr_assert_not(net_throttle_is_trusted(T, &a), "%s", out[i]);
    }
    net_throttle_free(T);
    /* /0 of one family is all of that family and none of the other */
    snprintf(L.trusted, sizeof L.trusted, "0.0.0.0/0");
    mk();
    net_throttle_addr v4 = ad("203.0.113.1"), v6 = ad("2001:db8::1");
    cr_assert(net_throttle_is_trusted(T, &v4));
    cr_assert_not(net_throttle_is_trusted(T, &v6));
}

/* The client behind limits.proxies: X-Forwarded-For right to left past our own proxies,
 * X-Real-IP without it, the peer itself when it is not a proxy or nothing usable is there. */
static const char *client_of(const char *peer, const char *xff, const char *real, int *from_header)
{
    static char text[64];
    net_throttle_addr p = ad(peer), c;
    *from_header = net_throttle_client(T, &p, xff, real, &c);
    net_throttle_addr_text(&c, text, sizeof text);
    return text;
}

Test(throttle, client_behind_proxies)
{
    snprintf(L.proxies, sizeof L.proxies, "10.0.0.5, 10.0.1.0/24, fd00::/8");
    mk();
    struct { const char *peer, *xff, *real, *client; int hdr; } cases[] = {
        {"10.0.0.5", "203.0.113.7", NULL, "203.0.113.7", 1},
        {"::ffff:10.0.0.5", "203.0.113.7", NULL, "203.0.113.7", 1},              /* the peer as lws gives it */
        {"10.0.0.5", "1.1.1.1, 203.0.113.7", NULL, "203.0.113.7", 1},            /* left of the client: the client's own claim */
        {"10.0.0.5", "1.1.1.1,203.0.113.7, 10.0.1.9", NULL, "203.0.113.7", 1},   /* past a second proxy of ours */
        {"10.0.0.5", "10.0.1.8, 10.0.1.9", NULL, "10.0.1.8", 1},                 /* only proxies: the first hop */
        {"10.0.0.5", " 203.0.113.7:5123 ", NULL, "203.0.113.7", 1},             /* a port added by the proxy */
        {"10.0.0.5", "[2001:db8::7]:443", NULL, "2001:db8::7", 1},
        {"10.0.0.5", "2001:db8::7", NULL, "2001:db8::7", 1},
        {"10.0.0.5", "junk, 203.0.113.7", NULL, "203.0.113.7", 1},
        {"10.0.0.5", "203.0.113.7, junk", NULL, "10.0.0.5", 0},                  /* the proxy wrote junk: itself */
        {"10.0.0.5", "1.1.1.1, junk, 10.0.1.9", NULL, "10.0.1.9", 1},            /* stops at the last good hop */
        {"10.0.0.5", "", "198.51.100.2", "198.51.100.2", 1},                     /* X-Real-IP without X-Forwarded-For */
        {"10.0.0.5", "203.0.113.7", "198.51.100.2", "203.0.113.7", 1},           /* X-Forwarded-For first */
        {"10.0.0.5", NULL, NULL, "10.0.0.5", 0},                                 /* no header: the proxy */
        {"10.0.0.5", ",", "nonsense", "10.0.0.5", 0},
        {"fd00::1", "203.0.113.7", NULL, "203.0.113.7", 1},
        {"10.0.0.6", "203.0.113.7", "198.51.100.2", "10.0.0.6", 0},              /* not a proxy: headers are ignored */
        {"203.0.113.9", "127.0.0.1", NULL, "203.0.113.9", 0},                    /* a forged header from a client */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int hdr = -1;
        const char *got = client_of(cases[i].peer, cases[i].xff, cases[i].real, &hdr);
        cr_assert_str_eq(got, cases[i].client, "case %zu: peer %s xff \"%s\"", i, cases[i].peer,
                         cases[i].xff ? cases[i].xff : "(none)");
        cr_assert_eq(hdr, cases[i].hdr, "case %zu", i);
    }
    /* With no proxies configured nobody is one. */
    net_throttle_free(T);
    L.proxies[0] = 0;
    mk();
    int hdr;
    cr_assert_str_eq(client_of("127.0.0.1", "203.0.113.7", "198.51.100.2", &hdr), "127.0.0.1");
    cr_assert_eq(hdr, 0);
}

Test(throttle, proxies_list_errors_name_the_key)
{
    char err[256];
    cr_assert_eq(net_throttle_cidrs_check("limits.proxies", "10.0.0.0/8, ::1", err, sizeof err), 0);
    cr_assert_eq(net_throttle_cidrs_check("limits.proxies", "nginx", err, sizeof err), KC_EINVAL);
    cr_assert_str_eq(err, "limits.proxies: \"nginx\" is not an IPv4 or IPv6 address or CIDR");
    snprintf(L.proxies, sizeof L.proxies, "10.0.0.0/40");
    T = net_throttle_new(&L, err, sizeof err);
    cr_assert_null(T);
    cr_assert_str_eq(err, "limits.proxies: \"10.0.0.0/40\": the prefix length must be 0 to 32");
}

/* Failures another node saw count here as if they had been checked and failed here:
 * per ticket + address, per ticket everywhere, and for the address; apart in the stats. */
Test(throttle, failures_elsewhere_count_here)
{
    mk();
    int64_t now = T0, r;
    const char *w;
    net_throttle_addr a = ad("203.0.113.10");
    /* 3 here, 2 elsewhere from the same address: the 5th makes the pair back off. */
    for (int i = 0; i < 3; i++) attempt(NET_THROTTLE_LOGIN, "203.0.113.10", "T1", now, NET_THROTTLE_FAIL);
    net_throttle_note n;
    net_throttle_failure_elsewhere(T, NET_THROTTLE_LOGIN, &a, "T1", now, &n);
    cr_assert_eq(n.pair_failures, 4);
    cr_assert_not(n.events & NET_THROTTLE_EV_PAIR);
    net_throttle_failure_elsewhere(T, NET_THROTTLE_LOGIN, &a, "T1", now, &n);
    cr_assert_eq(n.pair_failures, 5);
    cr_assert(n.events & NET_THROTTLE_EV_PAIR, "backs off at this address");
    cr_assert_eq(check(NET_THROTTLE_LOGIN, "203.0.113.10", "T1", now + 1, &r, &w), KC_EBUSY);
    cr_assert_str_eq(w, "ticket");
    cr_assert_eq(check(NET_THROTTLE_LOGIN, "198.51.100.7", "T1", now + 1, &r, &w), 0, "another address is not held back");
    net_throttle_addr b = ad("198.51.100.7");
    net_throttle_result(T, NET_THROTTLE_LOGIN, &b, "T1", NET_THROTTLE_VOID, now + 1, NULL);
    /* Three networks failing on one ticket, each on another node: it backs off everywhere. */
    const char *nets[] = {"192.0.2.1", "192.0.2.2", "192.0.2.3"};
    for (int i = 0; i < 3; i++) {
        net_throttle_addr x = ad(nets[i]);
        net_throttle_failure_elsewhere(T, NET_THROTTLE_LOGIN, &x, "T2", now, &n);
    }
    cr_assert(n.events & NET_THROTTLE_EV_WHO, "the third network makes it back off everywhere");
    cr_assert_eq(check(NET_THROTTLE_LOGIN, "100.64.0.9", "T2", now + 1, &r, &w), KC_EBUSY);
    /* Resumes are not guessed: nothing to count. */
    net_throttle_failure_elsewhere(T, NET_THROTTLE_RESUME, &a, NULL, now, &n);
    net_throttle_stats st;
    net_throttle_stats_get(T, now, &st);
    cr_assert_eq(st.failures_elsewhere, 5);
    cr_assert_eq(st.failures, 3, "this node's own failures apart");
}

/* A success that forgave failures says so (worth sharing); one with nothing to forgive does
 * not; a success elsewhere forgives here what a success here would. */
Test(throttle, successes_forgive_here_and_elsewhere)
{
    mk();
    int64_t now = T0;
    net_throttle_note n = attempt(NET_THROTTLE_LOGIN, "203.0.113.20", "T3", now, NET_THROTTLE_OK);
    cr_assert_not(n.forgave, "nothing to forgive");
    for (int i = 0; i < 2; i++) attempt(NET_THROTTLE_LOGIN, "203.0.113.20", "T3", now, NET_THROTTLE_FAIL);
    n = attempt(NET_THROTTLE_LOGIN, "203.0.113.20", "T3", now, NET_THROTTLE_OK);
    cr_assert(n.forgave, "two typos forgiven");
    /* 4 failures elsewhere, then the success there: one more failure here is the first again. */
    net_throttle_addr a = ad("203.0.113.21");
    for (int i = 0; i < 4; i++) net_throttle_failure_elsewhere(T, NET_THROTTLE_LOGIN, &a, "T4", now, NULL);
    net_throttle_success_elsewhere(T, NET_THROTTLE_LOGIN, &a, "T4", now);
    n = attempt(NET_THROTTLE_LOGIN, "203.0.113.21", "T4", now, NET_THROTTLE_FAIL);
    cr_assert_eq(n.pair_failures, 1);
    cr_assert_not(n.events & NET_THROTTLE_EV_PAIR);
    net_throttle_stats st;
    net_throttle_stats_get(T, now, &st);
    cr_assert_eq(st.successes, 2, "the success elsewhere is not one of this node's");
}

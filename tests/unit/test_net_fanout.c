/* Fan-out (server/net/net_fanout.c): topics, shared buffers, coalescing, bounded queues. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../../server/net/net.h"

#define HEAD 16                    /* like LWS_PRE */

static int wakes[32];
static unsigned long wakes_total;
static void on_wake(void *arg, uint32_t sub)
{
    cr_assert_eq(arg, (void *)wakes);
    if (sub < 32) wakes[sub]++;
    wakes_total++;
}

static net_fanout *make(uint32_t subs, uint32_t qmax, size_t qbytes)
{
    memset(wakes, 0, sizeof wakes);
    wakes_total = 0;
    net_fanout_conf c = {.max_subs = subs, .headroom = HEAD, .queue_max = qmax,
                         .queue_bytes = qbytes, .wake = on_wake, .arg = wakes};
    net_fanout *f = NULL;
    cr_assert_eq(net_fanout_new(&c, &f), 0);
    cr_assert_not_null(f);
    return f;
}

static net_fanout_stats stats(net_fanout *f)
{
    net_fanout_stats st;
    net_fanout_stats_get(f, &st);
    return st;
}

static int publish(net_fanout *f, uint64_t topic, uint64_t key, const char *s)
{
    return net_fanout_publish(f, topic, key, s, strlen(s));
}

/* sub's next message is exactly s (a message, not the resync notice); pops it. */
static void expect_next(net_fanout *f, uint32_t sub, const char *s)
{
    unsigned char *d = NULL;
    size_t n = 0;
    cr_assert_eq(net_fanout_peek(f, sub, &d, &n), NET_FANOUT_MESSAGE, "sub %u: expected %s", sub, s);
    cr_assert_eq(n, strlen(s), "sub %u: %.*s for %s", sub, (int)n, (const char *)d, s);
    cr_assert_eq(memcmp(d, s, n), 0, "sub %u: %.*s for %s", sub, (int)n, (const char *)d, s);
    net_fanout_pop(f, sub);
}

static void expect_empty(net_fanout *f, uint32_t sub)
{
    unsigned char *d = NULL;
    size_t n = 0;
    cr_assert_eq(net_fanout_peek(f, sub, &d, &n), 0, "sub %u still has %.*s", sub, (int)n,
                 d ? (const char *)d : "");
    cr_assert_eq(net_fanout_pending(f, sub), 0);
}

/* Every reference ever queued was popped, replaced, dropped or is still queued. */
static void expect_balanced(net_fanout *f, uint32_t subs)
{
    net_fanout_stats st = stats(f);
    uint64_t now = 0;
    for (uint32_t i = 0; i < subs; i++) now += net_fanout_pending(f, i);
    uint64_t resyncs_owed = 0;
    for (uint32_t i = 0; i < subs; i++) {
        unsigned char *d;
        size_t n;
        if (net_fanout_peek(f, i, &d, &n) == NET_FANOUT_RESYNC) resyncs_owed++;
    }
    cr_assert_eq(st.queued, st.delivered + st.coalesced + st.dropped + now - resyncs_owed,
                 "queued %llu delivered %llu coalesced %llu dropped %llu now %llu",
                 (unsigned long long)st.queued, (unsigned long long)st.delivered,
                 (unsigned long long)st.coalesced, (unsigned long long)st.dropped,
                 (unsigned long long)(now - resyncs_owed));
}

Test(fanout, topics_of_kinds_never_collide)
{
    uint64_t s = net_fanout_topic(NET_TOPIC_SESSION, 7), r = net_fanout_topic(NET_TOPIC_ROOM, 7),
             a = net_fanout_topic(NET_TOPIC_ATTEMPT, 7);
    cr_assert(s && r && a);
    cr_assert(s != r && r != a && s != a);
    cr_assert_eq(net_fanout_topic_kind(a), NET_TOPIC_ATTEMPT);
    cr_assert_eq(net_fanout_topic_id(a), 7);
    uint64_t big = net_fanout_topic(NET_TOPIC_SESSION, NET_TOPIC_ID_MAX);
    cr_assert_eq(net_fanout_topic_kind(big), NET_TOPIC_SESSION);
    cr_assert_eq(net_fanout_topic_id(big), NET_TOPIC_ID_MAX);
    cr_assert_neq(big, net_fanout_topic(NET_TOPIC_ROOM, NET_TOPIC_ID_MAX));
    cr_assert_eq(net_fanout_topic(NET_TOPIC_SESSION, NET_TOPIC_ID_MAX + 1), 0, "the id would spill into the kind");
    cr_assert_eq(net_fanout_topic(0, 7), 0);
    cr_assert_eq(net_fanout_topic(256, 7), 0);
    cr_assert_neq(net_fanout_topic(255, 0), 0, "id 0 of a kind is still a topic");
}

Test(fanout, bad_arguments)
{
    net_fanout *f = (net_fanout *)1;
    cr_assert_eq(net_fanout_new(&(net_fanout_conf){.max_subs = 0}, &f), KC_EINVAL);
    cr_assert_null(f);
    f = make(4, 0, 0);
    uint64_t t = net_fanout_topic(NET_TOPIC_SESSION, 1);
    cr_assert_eq(net_fanout_subscribe(f, t, 4), KC_EINVAL, "sub past max_subs");
    cr_assert_eq(net_fanout_subscribe(f, 0, 1), KC_EINVAL, "topic 0");
    cr_assert_eq(net_fanout_unsubscribe(f, t, 99), KC_EINVAL);
    cr_assert_eq(net_fanout_publish(f, 0, 0, "x", 1), KC_EINVAL);
    cr_assert_eq(net_fanout_publish(f, t, 0, NULL, 3), KC_EINVAL);
    cr_assert_eq(net_fanout_publish(f, t, 0, "x", NET_FANOUT_QUEUE_BYTES + 1), KC_EINVAL,
                 "a message no queue could hold");
    unsigned char *d;
    size_t n;
    cr_assert_eq(net_fanout_peek(f, 4, &d, &n), 0);
    net_fanout_pop(f, 4);
    net_fanout_drop(f, 4);
    cr_assert_eq(net_fanout_pending(f, 4), 0);
    cr_assert_eq(stats(f).published, 0);
    net_fanout_free(f);
    net_fanout_free(NULL);
}

Test(fanout, publish_peek_pop_in_order)
{
    net_fanout *f = make(4, 8, 0);
    uint64_t t = net_fanout_topic(NET_TOPIC_SESSION, 1), u = net_fanout_topic(NET_TOPIC_ATTEMPT, 1);
    cr_assert_eq(net_fanout_subscribe(f, t, 0), 0);
    cr_assert_eq(net_fanout_subscribe(f, t, 2), 0);
    cr_assert_eq(net_fanout_subscribe(f, t, 2), 0, "again is a no-op");
    cr_assert_eq(net_fanout_subscribe(f, u, 2), 0);
    cr_assert_eq(net_fanout_subscribers(f, t), 2);
    cr_assert(net_fanout_subscribed(f, t, 2));
    cr_assert_not(net_fanout_subscribed(f, t, 1));
    cr_assert_eq(publish(f, t, 0, "one"), 2);
    cr_assert_eq(publish(f, u, 0, "two"), 1);
    cr_assert_eq(publish(f, t, 0, "three"), 2);
    cr_assert_eq(publish(f, net_fanout_topic(NET_TOPIC_ROOM, 1), 0, "nobody"), 0);
    cr_assert_eq(net_fanout_pending(f, 0), 2);
    cr_assert_eq(net_fanout_pending(f, 2), 3);
    expect_empty(f, 1);
    expect_empty(f, 3);
    expect_next(f, 0, "one");
    expect_next(f, 0, "three");
    expect_empty(f, 0);
    expect_next(f, 2, "one");
    expect_next(f, 2, "two");
    /* the ring wraps and then grows while wrapped */
    char s[16];
    for (int i = 0; i < 6; i++) {
        snprintf(s, sizeof s, "m%d", i);
        cr_assert_eq(publish(f, u, 0, s), 1);
    }
    cr_assert_eq(stats(f).ring_slots, 4 + 8, "sub 0's ring of 4 and sub 2's grown to 8");
    expect_next(f, 2, "three");
    for (int i = 0; i < 6; i++) {
        snprintf(s, sizeof s, "m%d", i);
        expect_next(f, 2, s);
    }
    expect_empty(f, 2);
    cr_assert_eq(stats(f).ring_slots, 4, "sub 2's burst is over: its ring went");
    /* the head wraps without growing: 3 in, 2 out, 3 in (a ring of 4), all out */
    const char *w[] = {"w0", "w1", "w2", "w3", "w4", "w5"};
    for (int i = 0; i < 3; i++) cr_assert_eq(publish(f, u, 0, w[i]), 1);
    expect_next(f, 2, "w0");
    expect_next(f, 2, "w1");
    for (int i = 3; i < 6; i++) cr_assert_eq(publish(f, u, 0, w[i]), 1);
    for (int i = 2; i < 6; i++) expect_next(f, 2, w[i]);
    expect_empty(f, 2);
    net_fanout_stats st = stats(f);
    cr_assert_eq(st.published, 16);
    cr_assert_eq(st.delivered, 17);
    cr_assert_eq(st.bytes_queued, 0);
    cr_assert_eq(st.buffers, 0);
    cr_assert_eq(st.topics, 2);
    cr_assert_eq(st.subscriptions, 3);
    expect_balanced(f, 4);
    net_fanout_free(f);
}

Test(fanout, headroom_is_the_writers)
{
    net_fanout *f = make(2, 0, 0);
    uint64_t t = net_fanout_topic(NET_TOPIC_SESSION, 3);
    net_fanout_subscribe(f, t, 0);
    net_fanout_subscribe(f, t, 1);
    cr_assert_eq(publish(f, t, 0, "{\"type\":\"deadline\"}"), 2);
    unsigned char *d;
    size_t n;
    cr_assert_eq(net_fanout_peek(f, 0, &d, &n), NET_FANOUT_MESSAGE);
    memset(d - HEAD, 0xAA, HEAD);         /* as lws writes its frame header (ASan: in bounds) */
    net_fanout_pop(f, 0);
    cr_assert_eq(net_fanout_peek(f, 1, &d, &n), NET_FANOUT_MESSAGE);
    memset(d - HEAD, 0x55, HEAD);
    cr_assert_eq(n, strlen("{\"type\":\"deadline\"}"));
    cr_assert_eq(memcmp(d, "{\"type\":\"deadline\"}", n), 0, "the data is untouched");
    net_fanout_pop(f, 1);
    net_fanout_free(f);
}

Test(fanout, one_buffer_freed_by_the_last_reference)
{
    net_fanout *f = make(3, 0, 0);
    uint64_t t = net_fanout_topic(NET_TOPIC_SESSION, 1);
    for (uint32_t i = 0; i < 3; i++) cr_assert_eq(net_fanout_subscribe(f, t, i), 0);
    cr_assert_eq(publish(f, t, 0, "hello"), 3);
    net_fanout_stats st = stats(f);
    cr_assert_eq(st.buffers, 1, "one allocation for three subscribers");
    cr_assert_geq(st.buffer_bytes, 5 + HEAD);
    cr_assert_lt(st.buffer_bytes, 2 * 5 + HEAD + 64, "one copy of the data, not three");
    cr_assert_eq(st.bytes_queued, 15);
    unsigned char *d0, *d1, *d2;
    size_t n;
    net_fanout_peek(f, 0, &d0, &n);
    net_fanout_peek(f, 1, &d1, &n);
    net_fanout_peek(f, 2, &d2, &n);
    cr_assert(d0 == d1 && d1 == d2, "the same bytes for everyone");
    net_fanout_pop(f, 0);
    cr_assert_eq(stats(f).buffers, 1);
    net_fanout_drop(f, 1);
    cr_assert_eq(stats(f).buffers, 1, "still queued for sub 2");
    cr_assert_eq(stats(f).bytes_queued, 5);
    net_fanout_peek(f, 2, &d2, &n);
    cr_assert_eq(memcmp(d2, "hello", 5), 0);
    net_fanout_pop(f, 2);
    st = stats(f);
    cr_assert_eq(st.buffers, 0, "the last reference freed it");
    cr_assert_eq(st.buffer_bytes, 0);
    cr_assert_eq(st.delivered, 2);
    cr_assert_eq(st.dropped, 1);
    /* nobody subscribed: nothing is allocated */
    cr_assert_eq(publish(f, net_fanout_topic(NET_TOPIC_ROOM, 1), 0, "void"), 0);
    cr_assert_eq(stats(f).buffers, 0);
    expect_balanced(f, 3);
    net_fanout_free(f);
}

Test(fanout, coalescing_replaces_in_place)
{
    net_fanout *f = make(2, 0, 0);
    uint64_t t = net_fanout_topic(NET_TOPIC_ATTEMPT, 9), u = net_fanout_topic(NET_TOPIC_SESSION, 9);
    net_fanout_subscribe(f, t, 0);
    net_fanout_subscribe(f, u, 0);
    cr_assert_eq(publish(f, t, 1, "deadline 1"), 1);
    cr_assert_eq(publish(f, t, 0, "plain"), 1);
    cr_assert_eq(publish(f, t, 2, "tile 1"), 1);
    cr_assert_eq(publish(f, u, 1, "session key 1"), 1, "the same key on another topic is another message");
    cr_assert_eq(publish(f, t, 0, "plain"), 1, "key 0 never coalesces");
    cr_assert_eq(publish(f, t, 1, "deadline 2"), 1);
    cr_assert_eq(publish(f, t, 1, "deadline 3"), 1);
    cr_assert_eq(publish(f, t, 2, "tile 2"), 1);
    net_fanout_stats st = stats(f);
    cr_assert_eq(st.coalesced, 3);
    cr_assert_eq(st.buffers, 5, "replaced messages were freed");
    cr_assert_eq(st.bytes_queued, strlen("deadline 3plaintile 2session key 1plain"));
    cr_assert_eq(wakes[0], 1);
    expect_next(f, 0, "deadline 3");
    expect_next(f, 0, "plain");
    expect_next(f, 0, "tile 2");
    expect_next(f, 0, "session key 1");
    expect_next(f, 0, "plain");
    expect_empty(f, 0);
    /* once sent, a key starts again at the end of the queue */
    cr_assert_eq(publish(f, t, 0, "a"), 1);
    cr_assert_eq(publish(f, t, 1, "deadline 4"), 1);
    expect_next(f, 0, "a");
    expect_next(f, 0, "deadline 4");
    expect_balanced(f, 2);
    net_fanout_free(f);
}

Test(fanout, coalescing_per_subscriber_of_a_shared_message)
{
    net_fanout *f = make(2, 0, 0);
    uint64_t t = net_fanout_topic(NET_TOPIC_SESSION, 2);
    net_fanout_subscribe(f, t, 0);
    net_fanout_subscribe(f, t, 1);
    cr_assert_eq(publish(f, t, 5, "v1"), 2);
    expect_next(f, 0, "v1");                 /* sub 0 already has it; sub 1 not yet */
    cr_assert_eq(publish(f, t, 5, "v2"), 2);
    cr_assert_eq(stats(f).buffers, 1, "v1 went with sub 1's replacement");
    cr_assert_eq(stats(f).coalesced, 1);
    expect_next(f, 0, "v2");
    expect_next(f, 1, "v2");
    expect_empty(f, 1);
    cr_assert_eq(stats(f).buffers, 0);
    net_fanout_free(f);
}

Test(fanout, message_bound_empties_and_asks_for_resync)
{
    net_fanout *f = make(2, 4, 0);
    uint64_t t = net_fanout_topic(NET_TOPIC_SESSION, 1);
    net_fanout_subscribe(f, t, 0);
    net_fanout_subscribe(f, t, 1);
    char s[16];
    for (int i = 0; i < 4; i++) {
        snprintf(s, sizeof s, "m%d", i);
        cr_assert_eq(publish(f, t, 0, s), 2);
        expect_next(f, 1, s);                /* sub 1 keeps up */
    }
    cr_assert_eq(net_fanout_pending(f, 0), 4);
    cr_assert_eq(publish(f, t, 0, "m4"), 1, "sub 0 overflowed");
    expect_next(f, 1, "m4");
    net_fanout_stats st = stats(f);
    cr_assert_eq(st.resyncs, 1);
    cr_assert_eq(st.dropped, 4);
    cr_assert_eq(st.buffers, 0, "m0-m3 went with sub 0's queue, m4 was never queued for it");
    cr_assert_eq(net_fanout_pending(f, 0), 1, "the resync notice");
    for (int i = 5; i < 9; i++) {
        snprintf(s, sizeof s, "m%d", i);
        cr_assert_eq(publish(f, t, 0, s), 2);
        expect_next(f, 1, s);
    }
    cr_assert_eq(publish(f, t, 0, "m9"), 1, "overflowed again");
    expect_next(f, 1, "m9");
    cr_assert_eq(stats(f).resyncs, 1, "one notice owed, however often it overflows");
    cr_assert_eq(wakes[0], 1, "sub 0 always had something pending");
    cr_assert_eq(publish(f, t, 0, "m10"), 2);
    expect_next(f, 1, "m10");
    unsigned char *d;
    size_t n;
    cr_assert_eq(net_fanout_peek(f, 0, &d, &n), NET_FANOUT_RESYNC);
    cr_assert_eq(n, strlen("{\"type\":\"resync\"}"));
    cr_assert_eq(memcmp(d, "{\"type\":\"resync\"}", n), 0);
    memset(d - HEAD, 0, HEAD);
    net_fanout_pop(f, 0);
    expect_next(f, 0, "m10");                /* what came after the overflow follows */
    expect_empty(f, 0);
    cr_assert_eq(publish(f, t, 0, "m11"), 2);
    cr_assert_eq(wakes[0], 2, "empty again, so woken again");
    expect_next(f, 0, "m11");
    expect_next(f, 1, "m11");
    expect_empty(f, 1);
    cr_assert_eq(wakes[1], 12, "sub 1 was emptied after every message");
    cr_assert_eq(stats(f).buffers, 0);
    expect_balanced(f, 2);
    net_fanout_free(f);
}

Test(fanout, byte_bound_and_a_custom_notice)
{
    net_fanout_conf c = {.max_subs = 1, .headroom = HEAD, .queue_max = 100, .queue_bytes = 100,
                         .resync = "{\"type\":\"resync\",\"why\":\"slow\"}"};
    net_fanout *f;
    cr_assert_eq(net_fanout_new(&c, &f), 0);
    uint64_t t = net_fanout_topic(NET_TOPIC_ROOM, 4);
    net_fanout_subscribe(f, t, 0);
    char big[41];
    memset(big, 'x', 40);
    big[40] = 0;
    cr_assert_eq(publish(f, t, 0, big), 1);
    cr_assert_eq(publish(f, t, 7, big), 1);
    cr_assert_eq(stats(f).bytes_queued, 80);
    cr_assert_eq(net_fanout_publish(f, t, 0, big, 21), 0, "101 bytes would pass the bound");
    cr_assert_eq(stats(f).bytes_queued, 0);
    cr_assert_eq(stats(f).buffers, 0);
    cr_assert_eq(net_fanout_publish(f, t, 0, big, 20), 1);
    cr_assert_eq(net_fanout_publish(f, t, 3, big, 40), 1);
    cr_assert_eq(net_fanout_publish(f, t, 3, big, 30), 1, "a shorter replacement");
    cr_assert_eq(stats(f).bytes_queued, 50);
    char huge[101];
    memset(huge, 'y', sizeof huge);
    cr_assert_eq(net_fanout_publish(f, t, 3, huge, 90), 0, "a replacement that does not fit overflows too");
    cr_assert_eq(stats(f).bytes_queued, 0);
    cr_assert_eq(stats(f).coalesced, 1);
    cr_assert_eq(stats(f).buffers, 0);
    cr_assert_eq(net_fanout_publish(f, t, 0, huge, 101), KC_EINVAL);
    cr_assert_eq(net_fanout_publish(f, t, 3, huge, 100), 1);
    cr_assert_eq(net_fanout_publish(f, t, 3, huge, 60), 1, "a replacement when only it is queued");
    unsigned char *d;
    size_t n;
    cr_assert_eq(net_fanout_peek(f, 0, &d, &n), NET_FANOUT_RESYNC);
    cr_assert_eq(n, strlen(c.resync));
    cr_assert_eq(memcmp(d, c.resync, n), 0);
    net_fanout_pop(f, 0);
    cr_assert_eq(net_fanout_peek(f, 0, &d, &n), NET_FANOUT_MESSAGE);
    cr_assert_eq(n, 60);
    net_fanout_pop(f, 0);
    expect_empty(f, 0);
    expect_balanced(f, 1);
    net_fanout_free(f);
}

Test(fanout, a_reader_that_never_reads_holds_bounded_memory)
{
    net_fanout *f = make(3, 16, 4096);
    uint64_t t = net_fanout_topic(NET_TOPIC_SESSION, 1), a = net_fanout_topic(NET_TOPIC_ATTEMPT, 1);
    net_fanout_subscribe(f, t, 0);
    net_fanout_subscribe(f, a, 0);
    net_fanout_subscribe(f, t, 1);
    char s[200];
    uint64_t most = 0;
    for (int i = 0; i < 10000; i++) {
        int len = snprintf(s, sizeof s, "%0*d", 20 + i % 150, i);
        cr_assert_geq(net_fanout_publish(f, i % 3 ? t : a, 0, s, (size_t)len), 0);
        if (i % 3) expect_next(f, 1, s);     /* sub 1 keeps up with the session */
        net_fanout_stats st = stats(f);
        cr_assert_leq(st.bytes_queued, 4096);
        cr_assert_leq(net_fanout_pending(f, 0), 17);
        if (st.buffers > most) most = st.buffers;
    }
    cr_assert_leq(most, 16, "never more than sub 0's full queue");
    cr_assert_eq(stats(f).resyncs, 1, "never read: the notice is owed once");
    cr_assert_leq(stats(f).ring_slots, 16 + 4, "sub 0 full, sub 1 small");
    net_fanout_drop(f, 0);
    cr_assert_eq(stats(f).buffers, 0);
    cr_assert_leq(stats(f).ring_slots, 4);
    expect_balanced(f, 3);
    net_fanout_free(f);
}

Test(fanout, drop_releases_everything_and_the_slot_starts_clean)
{
    net_fanout *f = make(3, 2, 0);
    uint64_t t = net_fanout_topic(NET_TOPIC_SESSION, 1), r = net_fanout_topic(NET_TOPIC_ROOM, 1),
             a = net_fanout_topic(NET_TOPIC_ATTEMPT, 1);
    net_fanout_subscribe(f, t, 1);
    net_fanout_subscribe(f, r, 1);
    net_fanout_subscribe(f, a, 1);
    net_fanout_subscribe(f, t, 2);
    for (int i = 0; i < 3; i++) cr_assert_geq(publish(f, a, 0, "a"), 0);   /* overflows */
    cr_assert_eq(publish(f, r, 1, "r"), 1);
    cr_assert_eq(net_fanout_pending(f, 1), 2, "the notice and r");
    net_fanout_drop(f, 1);
    expect_empty(f, 1);
    cr_assert_not(net_fanout_subscribed(f, t, 1));
    cr_assert_eq(net_fanout_subscribers(f, t), 1);
    net_fanout_stats st = stats(f);
    cr_assert_eq(st.topics, 1, "room and attempt had no one else");
    cr_assert_eq(st.subscriptions, 1);
    cr_assert_eq(st.buffers, 0);
    cr_assert_eq(st.bytes_queued, 0);
    /* the slot is reused by another connection */
    int w = wakes[1];
    cr_assert_eq(publish(f, a, 0, "for the old one"), 0);
    cr_assert_eq(net_fanout_subscribe(f, net_fanout_topic(NET_TOPIC_ATTEMPT, 2), 1), 0);
    cr_assert_eq(publish(f, t, 0, "session"), 1, "only sub 2");
    cr_assert_eq(publish(f, net_fanout_topic(NET_TOPIC_ATTEMPT, 2), 1, "mine"), 1);
    cr_assert_eq(wakes[1], w + 1);
    expect_next(f, 1, "mine");
    expect_empty(f, 1);
    expect_next(f, 2, "session");
    net_fanout_drop(f, 1);
    net_fanout_drop(f, 1);                 /* twice is harmless */
    expect_balanced(f, 3);
    net_fanout_free(f);
}

Test(fanout, unsubscribe)
{
    net_fanout *f = make(3, 0, 0);
    uint64_t t = net_fanout_topic(NET_TOPIC_SESSION, 1), u = net_fanout_topic(NET_TOPIC_SESSION, 2);
    cr_assert_eq(net_fanout_unsubscribe(f, t, 0), 0, "never subscribed, no topic at all");
    net_fanout_subscribe(f, t, 0);
    net_fanout_subscribe(f, t, 1);
    cr_assert_eq(net_fanout_unsubscribe(f, u, 0), 0, "never subscribed to that topic");
    cr_assert_eq(net_fanout_unsubscribe(f, t, 2), 0, "the topic exists, sub 2 is not in it");
    net_fanout_stats st = stats(f);
    cr_assert_eq(st.topics, 1);
    cr_assert_eq(st.subscriptions, 2);
    cr_assert_eq(publish(f, t, 0, "both"), 2);
    cr_assert_eq(net_fanout_unsubscribe(f, t, 0), 0);
    cr_assert_eq(net_fanout_unsubscribe(f, t, 0), 0, "twice");
    cr_assert_eq(publish(f, t, 0, "only 1"), 1);
    expect_next(f, 0, "both");              /* queued while it was subscribed */
    expect_empty(f, 0);
    expect_next(f, 1, "both");
    expect_next(f, 1, "only 1");
    cr_assert_eq(net_fanout_unsubscribe(f, t, 1), 0);
    cr_assert_eq(stats(f).topics, 0, "an empty topic goes");
    cr_assert_eq(publish(f, t, 0, "nobody"), 0);
    net_fanout_free(f);
}

Test(fanout, topics_per_subscriber_are_bounded)
{
    net_fanout_conf c = {.max_subs = 2, .topics_max = 3};
    net_fanout *f;
    cr_assert_eq(net_fanout_new(&c, &f), 0);
    for (uint64_t i = 1; i <= 3; i++) cr_assert_eq(net_fanout_subscribe(f, net_fanout_topic(NET_TOPIC_ROOM, i), 0), 0);
    cr_assert_eq(net_fanout_subscribe(f, net_fanout_topic(NET_TOPIC_ROOM, 4), 0), KC_EBUSY);
    cr_assert_eq(net_fanout_subscribe(f, net_fanout_topic(NET_TOPIC_ROOM, 2), 0), 0, "one it has");
    cr_assert_eq(stats(f).topics, 3, "the refused one made no topic");
    cr_assert_eq(net_fanout_subscribe(f, net_fanout_topic(NET_TOPIC_ROOM, 4), 1), 0, "another sub may");
    net_fanout_unsubscribe(f, net_fanout_topic(NET_TOPIC_ROOM, 1), 0);
    cr_assert_eq(net_fanout_subscribe(f, net_fanout_topic(NET_TOPIC_ROOM, 4), 0), 0);
    cr_assert_eq(net_fanout_subscribers(f, net_fanout_topic(NET_TOPIC_ROOM, 4)), 2);
    net_fanout_free(f);
}

Test(fanout, wake_once_per_empty_to_non_empty)
{
    net_fanout *f = make(2, 0, 0);
    uint64_t t = net_fanout_topic(NET_TOPIC_SESSION, 1);
    net_fanout_subscribe(f, t, 0);
    net_fanout_subscribe(f, t, 1);
    for (int i = 0; i < 5; i++) publish(f, t, 0, "x");
    cr_assert_eq(wakes[0], 1);
    cr_assert_eq(wakes[1], 1);
    for (int i = 0; i < 4; i++) expect_next(f, 0, "x");
    publish(f, t, 0, "y");                  /* sub 0 still had one */
    cr_assert_eq(wakes[0], 1);
    expect_next(f, 0, "x");
    expect_next(f, 0, "y");
    publish(f, t, 3, "z");
    cr_assert_eq(wakes[0], 2);
    cr_assert_eq(wakes[1], 1);
    publish(f, t, 3, "z2");                 /* coalesced: no wake */
    cr_assert_eq(wakes[0], 2);
    cr_assert_eq(wakes_total, 3);
    net_fanout_free(f);
}

/* Random subscribes, unsubscribes and drops over many topics, checked against a plain
 * matrix: the swap-removes keep every index right. */
Test(fanout, swap_removes_match_a_model)
{
    enum { SUBS = 40, TOPICS = 12 };
    net_fanout_conf c = {.max_subs = SUBS, .queue_max = 1000, .queue_bytes = 1 << 20};
    net_fanout *f;
    cr_assert_eq(net_fanout_new(&c, &f), 0);
    static unsigned char in[SUBS][TOPICS];
    memset(in, 0, sizeof in);
    uint64_t x = 88172645463325252ull;       /* xorshift64: the same run every time */
    for (int step = 0; step < 20000; step++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint32_t s = (uint32_t)(x % SUBS);
        unsigned k = (unsigned)((x >> 16) % TOPICS), op = (unsigned)((x >> 32) % 10);
        uint64_t t = net_fanout_topic(1 + k % 3, k);
        if (op < 5) {
            cr_assert_eq(net_fanout_subscribe(f, t, s), 0);
            in[s][k] = 1;
        } else if (op < 9) {
            cr_assert_eq(net_fanout_unsubscribe(f, t, s), 0);
            in[s][k] = 0;
        } else {
            net_fanout_drop(f, s);
            memset(in[s], 0, TOPICS);
        }
        if (step % 1000) continue;
        for (unsigned j = 0; j < TOPICS; j++) {
            uint32_t want = 0;
            for (uint32_t i = 0; i < SUBS; i++) want += in[i][j];
            uint64_t tj = net_fanout_topic(1 + j % 3, j);
            cr_assert_eq(net_fanout_subscribers(f, tj), want, "step %d topic %u", step, j);
            char m[16];
            snprintf(m, sizeof m, "%u", j);
            cr_assert_eq(publish(f, tj, 0, m), (int)want);
        }
        for (uint32_t i = 0; i < SUBS; i++) {
            for (unsigned j = 0; j < TOPICS; j++) {
                cr_assert_eq(net_fanout_subscribed(f, net_fanout_topic(1 + j % 3, j), i), in[i][j]);
                if (!in[i][j]) continue;
                char m[16];
                snprintf(m, sizeof m, "%u", j);
                expect_next(f, i, m);
            }
            expect_empty(f, i);
        }
    }
    uint64_t subs = 0, topics = 0;
    for (unsigned j = 0; j < TOPICS; j++) {
        uint32_t n = 0;
        for (uint32_t i = 0; i < SUBS; i++) n += in[i][j];
        subs += n;
        topics += n > 0;
    }
    cr_assert_eq(stats(f).subscriptions, subs);
    cr_assert_eq(stats(f).topics, topics);
    for (uint32_t i = 0; i < SUBS; i++) net_fanout_drop(f, i);
    cr_assert_eq(stats(f).topics, 0);
    cr_assert_eq(stats(f).subscriptions, 0);
    net_fanout_free(f);
}

Test(fanout, twenty_thousand_on_one_topic)
{
    enum { N = 20000 };
    net_fanout *f = make(N, 0, 0);
    uint64_t t = net_fanout_topic(NET_TOPIC_SESSION, 42);
    for (uint32_t i = 0; i < N; i++) {
        cr_assert_eq(net_fanout_subscribe(f, t, i), 0);
        cr_assert_eq(net_fanout_subscribe(f, net_fanout_topic(NET_TOPIC_ATTEMPT, i), i), 0);
    }
    cr_assert_eq(net_fanout_subscribers(f, t), N);
    const char *msg = "{\"type\":\"deadline\",\"deadline\":1764005401234}";
    cr_assert_eq(publish(f, t, 1, msg), N);
    cr_assert_eq(publish(f, t, 1, msg), N, "coalesced for everyone");
    cr_assert_eq(wakes_total, N);
    net_fanout_stats st = stats(f);
    cr_assert_eq(st.buffers, 1);
    cr_assert_eq(st.coalesced, N);
    cr_assert_eq(st.bytes_queued, (uint64_t)N * strlen(msg));
    unsigned char *first = NULL;
    for (uint32_t i = 0; i < N; i++) {
        unsigned char *d;
        size_t n;
        cr_assert_eq(net_fanout_peek(f, i, &d, &n), NET_FANOUT_MESSAGE);
        if (!first) first = d;
        cr_assert_eq(d, first);
        net_fanout_pop(f, i);
        if (i == N - 2) cr_assert_eq(stats(f).buffers, 1);
    }
    st = stats(f);
    cr_assert_eq(st.buffers, 0);
    cr_assert_eq(st.delivered, N);
    cr_assert_eq(st.topics, N + 1);
    cr_assert_eq(st.ring_slots, (uint64_t)N * 4, "a small ring each is kept");
    /* half of them leave (every other one: the swap-removes move the rest around) */
    for (uint32_t i = 0; i < N; i += 2) net_fanout_drop(f, i);
    cr_assert_eq(net_fanout_subscribers(f, t), N / 2);
    cr_assert_eq(publish(f, t, 0, "again"), N / 2);
    for (uint32_t i = 0; i < N; i++) {
        if (i % 2) expect_next(f, i, "again");
        expect_empty(f, i);
    }
    expect_balanced(f, N);
    for (uint32_t i = 1; i < N; i += 2) net_fanout_drop(f, i);
    st = stats(f);
    cr_assert_eq(st.ring_slots, 0);
    cr_assert_eq(st.topics, 0);
    cr_assert_eq(st.subscriptions, 0);
    net_fanout_free(f);
}

/* The media cache (server/net/net_mcache.c): hits and misses, the byte bound, LRU order,
 * objects too large to cache, blobs outliving their entry, a cache that is off, and a
 * random run against a model. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/net/net.h"

/* The sha of object n: 64 hex digits, distinct per n. */
static const char *sha_of(unsigned n, char out[65])
{
    snprintf(out, 65, "%08x%056x", n * 2654435761u, n);
    return out;
}

/* A blob of len bytes, every byte (n + i) & 0xff, so its content says which object it is. */
static net_mblob *blob(unsigned n, size_t len)
{
    char *d = malloc(len ? len : 1);
    cr_assert_not_null(d);
    for (size_t i = 0; i < len; i++) d[i] = (char)((n + i) & 0xff);
    net_mblob *b = net_mblob_new(d, len, "image/png");
    cr_assert_not_null(b);
    return b;
}

static void check_blob(const net_mblob *b, unsigned n, size_t len)
{
    cr_assert_eq(b->len, len, "object %u: %zu bytes, wanted %zu", n, b->len, len);
    for (size_t i = 0; i < len; i++)
        cr_assert_eq((unsigned char)b->data[i], (unsigned char)((n + i) & 0xff), "object %u byte %zu", n, i);
    cr_assert_str_eq(b->mime, "image/png");
}

/* Puts object n (len bytes) and drops the caller's reference: the cache's is the only one. */
static int put(net_mcache *c, unsigned n, size_t len)
{
    char s[65];
    net_mblob *b = blob(n, len);
    int rc = net_mcache_put(c, sha_of(n, s), b);
    net_mblob_unref(b);
    return rc;
}

/* 1 when object n is cached (a hit), checking its bytes; 0 on a miss. */
static int has(net_mcache *c, unsigned n, size_t len)
{
    char s[65];
    net_mblob *b = net_mcache_get(c, sha_of(n, s));
    if (!b) return 0;
    check_blob(b, n, len);
    net_mblob_unref(b);
    return 1;
}

static net_mcache_stats stats(net_mcache *c)
{
    net_mcache_stats st;
    net_mcache_stats_get(c, &st);
    return st;
}

static net_mcache *make(size_t max)
{
    net_mcache *c = NULL;
    cr_assert_eq(net_mcache_new(max, &c), 0);
    cr_assert_not_null(c);
    return c;
}

Test(net_mcache, miss_then_hit_counts_both)
{
    net_mcache *c = make(1 << 20);
    cr_assert_eq(has(c, 1, 100), 0, "an empty cache misses");
    cr_assert_eq(put(c, 1, 100), 1);
    cr_assert_eq(has(c, 1, 100), 1, "the second request is a hit");
    cr_assert_eq(has(c, 1, 100), 1);
    cr_assert_eq(has(c, 2, 100), 0, "another sha misses");
    net_mcache_stats st = stats(c);
    cr_assert_eq(st.hits, 2);
    cr_assert_eq(st.misses, 2);
    cr_assert_eq(st.inserts, 1);
    cr_assert_eq(st.entries, 1);
    cr_assert_eq(st.bytes, net_mcache_cost(100));
    cr_assert_eq(st.max_bytes, 1 << 20);
    net_mcache_free(c);
}

Test(net_mcache, the_bound_holds_and_the_least_recently_used_go_first)
{
    /* Room for exactly 16 objects of 1000 bytes. */
    size_t max = 16 * net_mcache_cost(1000);
    net_mcache *c = make(max);
    for (unsigned n = 0; n < 16; n++) cr_assert_eq(put(c, n, 1000), 1);
    cr_assert_eq(stats(c).entries, 16);
    cr_assert_eq(stats(c).bytes, max);
    cr_assert_eq(stats(c).evictions, 0);
    /* Use 0 and 1 again: now 2 is the least recently used, then 3. */
    cr_assert(has(c, 0, 1000));
    cr_assert(has(c, 1, 1000));
    cr_assert_eq(put(c, 16, 1000), 1);
    cr_assert_eq(stats(c).evictions, 1);
    cr_assert_eq(has(c, 2, 1000), 0, "the least recently used went");
    cr_assert(has(c, 0, 1000), "a recently used one stayed");
    cr_assert(has(c, 16, 1000));
    /* A bigger object (between one and two of the others) pushes out the two oldest, 3 and 4. */
    size_t big = 1500 + net_mcache_cost(0);
    cr_assert_gt(net_mcache_cost(big), net_mcache_cost(1000));
    cr_assert_leq(net_mcache_cost(big), max / 8);
    cr_assert_eq(put(c, 17, big), 1);
    cr_assert_eq(stats(c).evictions, 3);
    cr_assert_eq(has(c, 3, 1000), 0, "object 3 evicted");
    cr_assert_eq(has(c, 4, 1000), 0, "object 4 evicted");
    for (unsigned n = 5; n <= 16; n++) cr_assert(has(c, n, 1000), "object %u kept", n);
    cr_assert(has(c, 0, 1000), "object 0 kept");
    cr_assert(has(c, 1, 1000), "object 1 kept");
    cr_assert(has(c, 17, big));
    cr_assert_leq(stats(c).bytes, max);
    cr_assert_eq(stats(c).entries, 15);
    net_mcache_free(c);
}

Test(net_mcache, an_object_above_an_eighth_is_not_cached)
{
    size_t max = 8 * net_mcache_cost(4096);
    net_mcache *c = make(max);
    cr_assert_eq(put(c, 1, 4096), 1, "exactly an eighth fits");
    cr_assert_eq(put(c, 2, 4097), 0, "one byte more does not");
    cr_assert_eq(has(c, 2, 4097), 0);
    cr_assert(has(c, 1, 4096), "and it pushed nothing out");
    net_mcache_stats st = stats(c);
    cr_assert_eq(st.too_large, 1);
    cr_assert_eq(st.entries, 1);
    cr_assert_eq(st.evictions, 0);
    net_mcache_free(c);
}

Test(net_mcache, a_blob_outlives_its_evicted_entry)
{
    size_t max = 8 * net_mcache_cost(1000);
    net_mcache *c = make(max);
    char s[65];
    cr_assert_eq(put(c, 1, 1000), 1);
    net_mblob *held = net_mcache_get(c, sha_of(1, s));   /* a response being written */
    cr_assert_not_null(held);
    for (unsigned n = 2; n < 20; n++) cr_assert_eq(put(c, n, 1000), 1);
    cr_assert_eq(has(c, 1, 1000), 0, "evicted");
    check_blob(held, 1, 1000);                          /* ASan: still allocated */
    cr_assert_eq(held->refs, 1, "only the response holds it now");
    net_mblob_unref(held);
    net_mcache_free(c);
}

Test(net_mcache, the_same_sha_twice_keeps_the_first_copy)
{
    net_mcache *c = make(1 << 20);
    char s[65];
    cr_assert_eq(put(c, 1, 10), 1);
    net_mblob *other = blob(99, 10);
    cr_assert_eq(net_mcache_put(c, sha_of(1, s), other), 1);
    cr_assert_eq(other->refs, 1, "the cache did not take the second copy");
    net_mblob_unref(other);
    cr_assert(has(c, 1, 10));
    cr_assert_eq(stats(c).entries, 1);
    cr_assert_eq(stats(c).inserts, 1);
    net_mcache_free(c);
}

Test(net_mcache, a_cache_that_is_off_keeps_nothing)
{
    net_mcache *c = make(0);
    cr_assert_eq(put(c, 1, 10), 0);
    cr_assert_eq(has(c, 1, 10), 0);
    net_mcache_stats st = stats(c);
    cr_assert_eq(st.misses, 1);
    cr_assert_eq(st.entries, 0);
    cr_assert_eq(st.too_large, 0, "off is not too large");
    net_mcache_free(c);
}

Test(net_mcache, a_malformed_sha_is_refused)
{
    net_mcache *c = make(1 << 20);
    net_mblob *b = blob(1, 10);
    char s[65];
    sha_of(1, s);
    s[3] = 'A';
    cr_assert_eq(net_mcache_put(c, s, b), KC_EINVAL, "upper case");
    cr_assert_eq(net_mcache_put(c, "abc", b), KC_EINVAL, "too short");
    char longer[70];
    snprintf(longer, sizeof longer, "%s00", sha_of(1, s));
    cr_assert_eq(net_mcache_put(c, longer, b), KC_EINVAL, "too long");
    cr_assert_eq(net_mcache_put(c, sha_of(1, s), NULL), KC_EINVAL, "no blob");
    cr_assert_null(net_mcache_get(c, "zz"));
    cr_assert_eq(b->refs, 1);
    net_mblob_unref(b);
    cr_assert_eq(stats(c).entries, 0);
    net_mcache_free(c);
}

Test(net_mcache, a_freed_cache_leaves_held_blobs_alive)
{
    net_mcache *c = make(1 << 20);
    char s[65];
    cr_assert_eq(put(c, 7, 300), 1);
    net_mblob *held = net_mcache_get(c, sha_of(7, s));
    net_mcache_free(c);
    check_blob(held, 7, 300);
    net_mblob_unref(held);
}

Test(net_mcache, many_entries_are_all_found)
{
    net_mcache *c = make(64u << 20);
    for (unsigned n = 0; n < 20000; n++) cr_assert_eq(put(c, n, 16), 1);
    for (unsigned n = 0; n < 20000; n++) cr_assert(has(c, n, 16), "object %u", n);
    cr_assert_eq(stats(c).entries, 20000);
    cr_assert_eq(stats(c).hits, 20000);
    net_mcache_free(c);
}

/* A random mix of gets and puts of varied sizes against a model: an array in order of use
 * (most recent first) and the same eviction rule. */
Test(net_mcache, random_run_against_a_model)
{
    enum { OBJECTS = 200, STEPS = 50000 };
    size_t max = 40 * net_mcache_cost(500);
    net_mcache *c = make(max);
    unsigned order[OBJECTS];
    int in[OBJECTS] = {0};
    size_t len[OBJECTS];
    int n = 0;
    size_t bytes = 0;
    unsigned long long hits = 0, misses = 0, evictions = 0;
    srand(12345);
    for (unsigned k = 0; k < OBJECTS; k++) len[k] = (size_t)(k * 37 % 1400);   /* some too large */
    for (int step = 0; step < STEPS; step++) {
        unsigned k = (unsigned)(rand() % OBJECTS);
        int pos = -1;
        for (int i = 0; i < n; i++)
            if (order[i] == k) pos = i;
        if (rand() % 2) {
            int got = has(c, k, len[k]);
            cr_assert_eq(got, in[k], "step %d: object %u cached=%d, model says %d", step, k, got, in[k]);
            if (got) {
                hits++;
                memmove(order + 1, order, (size_t)pos * sizeof *order);
                order[0] = k;
            } else {
                misses++;
            }
        } else {
            int rc = put(c, k, len[k]);
            size_t cost = net_mcache_cost(len[k]);
            int fits = cost <= max / 8;
            cr_assert_eq(rc, fits, "step %d: put of %zu bytes", step, len[k]);
            if (!fits) continue;
            if (pos >= 0) {
                memmove(order + 1, order, (size_t)pos * sizeof *order);
                order[0] = k;
                continue;
            }
            while (n && bytes + cost > max) {
                unsigned old = order[--n];
                in[old] = 0;
                bytes -= net_mcache_cost(len[old]);
                evictions++;
            }
            memmove(order + 1, order, (size_t)n * sizeof *order);
            order[0] = k;
            n++;
            in[k] = 1;
            bytes += cost;
        }
        net_mcache_stats st = stats(c);
        cr_assert_eq(st.bytes, bytes, "step %d", step);
        cr_assert_eq(st.entries, (unsigned long long)n, "step %d", step);
        cr_assert_leq(st.bytes, max);
    }
    net_mcache_stats st = stats(c);
    cr_assert_eq(st.hits, hits);
    cr_assert_eq(st.misses, misses);
    cr_assert_eq(st.evictions, evictions);
    cr_assert_gt(evictions, 1000, "the run did evict");
    cr_assert_gt(hits, 1000, "and hit");
    net_mcache_free(c);
}

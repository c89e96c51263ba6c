/* The media cache: bytes and MIME type of stored media by SHA-256, bounded in bytes, least
 * recently used out first.
 *
 * Media is content-addressed (the key is the hash of the bytes), so an entry never goes
 * stale and nothing is ever invalidated: the only way out is eviction. Entries are
 * reference-counted blobs: a response being written holds its own reference, so an entry
 * evicted meanwhile stays alive until that response is sent, and the cache's bound counts
 * only what the cache itself holds. A chained hash table (keyed SipHash of the sha, so
 * crafted hashes cannot pile into one bucket) finds an entry; a doubly linked list keeps
 * the order of use. One thread owns a net_mcache (the service thread); nothing locks. No
 * libwebsockets here. */
#include "net.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct mentry {
    unsigned char sha[32];
    net_mblob *blob;
    size_t cost;
    struct mentry *hnext;            /* next in its bucket */
    struct mentry *prev, *next;      /* the order of use: head most recent */
};

struct net_mcache {
    size_t max_bytes;
    struct mentry **buckets;
    size_t nbuckets;                 /* a power of two, or 0 when the cache is off */
    struct mentry *head, *tail;
    unsigned char hkey[crypto_shorthash_KEYBYTES];
    net_mcache_stats st;
};

/* ---- blobs ---- */

net_mblob *net_mblob_new(char *data, size_t len, const char *mime)
{
    net_mblob *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->refs = 1;
    b->data = data;
    b->len = len;
    snprintf(b->mime, sizeof b->mime, "%s", mime ? mime : "");
    return b;
}

void net_mblob_ref(net_mblob *b)
{
    if (b) b->refs++;
}

void net_mblob_unref(net_mblob *b)
{
    if (!b || --b->refs) return;
    free(b->data);
    free(b);
}

/* ---- the cache ---- */

size_t net_mcache_cost(size_t len) { return len + sizeof(struct mentry) + sizeof(net_mblob); }

int net_mcache_new(size_t max_bytes, net_mcache **out)
{
    *out = NULL;
    if (sodium_init() < 0) return KC_ERR;
    net_mcache *c = calloc(1, sizeof *c);
    if (!c) return KC_ENOMEM;
    c->max_bytes = max_bytes;
    c->st.max_bytes = max_bytes;
    if (max_bytes) {
        c->nbuckets = 64;
        if (!(c->buckets = calloc(c->nbuckets, sizeof *c->buckets))) {
            free(c);
            return KC_ENOMEM;
        }
    }
    randombytes_buf(c->hkey, sizeof c->hkey);
    *out = c;
    return 0;
}

void net_mcache_free(net_mcache *c)
{
    if (!c) return;
    for (struct mentry *e = c->head, *n; e; e = n) {
        n = e->next;
        net_mblob_unref(e->blob);
        free(e);
    }
    free(c->buckets);
    free(c);
}

static int unhex(const char *s, unsigned char out[32])
{
    for (int i = 0; i < 64; i++) {
        char ch = s[i];
        int v = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        if (v < 0) return -1;
        if (i & 1) out[i / 2] = (unsigned char)(out[i / 2] << 4 | v);
        else out[i / 2] = (unsigned char)v;
    }
    return s[64] ? -1 : 0;
}

static size_t bucket_of(const net_mcache *c, const unsigned char sha[32])
{
    unsigned char h[crypto_shorthash_BYTES];
    crypto_shorthash(h, sha, 32, c->hkey);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return (size_t)(v & (c->nbuckets - 1));
}

static struct mentry *find(const net_mcache *c, const unsigned char sha[32])
{
    for (struct mentry *e = c->buckets[bucket_of(c, sha)]; e; e = e->hnext)
        if (!memcmp(e->sha, sha, 32)) return e;
    return NULL;
}

static void lru_unlink(net_mcache *c, struct mentry *e)
{
    if (e->prev) e->prev->next = e->next; else c->head = e->next;
    if (e->next) e->next->prev = e->prev; else c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_front(net_mcache *c, struct mentry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head) c->head->prev = e; else c->tail = e;
    c->head = e;
}

static void evict(net_mcache *c, struct mentry *e)
{
    struct mentry **pp = &c->buckets[bucket_of(c, e->sha)];
    while (*pp != e) pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(c, e);
    c->st.bytes -= e->cost;
    c->st.entries--;
    c->st.evictions++;
    net_mblob_unref(e->blob);
    free(e);
}

/* Twice the buckets once there are more entries than buckets; a failed allocation only
 * leaves the chains longer. */
static void grow(net_mcache *c)
{
    size_t nb = c->nbuckets * 2;
    struct mentry **b = calloc(nb, sizeof *b);
    if (!b) return;
    struct mentry **old = c->buckets;
    size_t on = c->nbuckets;
    c->buckets = b;
    c->nbuckets = nb;
    for (size_t i = 0; i < on; i++)
        for (struct mentry *e = old[i], *n; e; e = n) {
            n = e->hnext;
            size_t k = bucket_of(c, e->sha);
            e->hnext = b[k];
            b[k] = e;
        }
    free(old);
}

net_mblob *net_mcache_get(net_mcache *c, const char *sha)
{
    unsigned char key[32];
    struct mentry *e = c->nbuckets && !unhex(sha, key) ? find(c, key) : NULL;
    if (!e) {
        c->st.misses++;
        return NULL;
    }
    c->st.hits++;
    lru_unlink(c, e);
    lru_front(c, e);
    net_mblob_ref(e->blob);
    return e->blob;
}

int net_mcache_put(net_mcache *c, const char *sha, net_mblob *b)
{
    unsigned char key[32];
    if (unhex(sha, key) || !b) return KC_EINVAL;
    size_t cost = net_mcache_cost(b->len);
    /* One big object must not push out many small ones: at most an eighth of the cache. */
    if (!c->nbuckets || cost > c->max_bytes / 8) {
        c->st.too_large += c->nbuckets != 0;
        return 0;
    }
    struct mentry *e = find(c, key);
    if (e) {                         /* the same bytes, read twice: keep the first */
        lru_unlink(c, e);
        lru_front(c, e);
        return 1;
    }
    if (!(e = calloc(1, sizeof *e))) return KC_ENOMEM;
    while (c->tail && c->st.bytes + cost > c->max_bytes) evict(c, c->tail);
    memcpy(e->sha, key, 32);
    e->blob = b;
    e->cost = cost;
    net_mblob_ref(b);
    size_t k = bucket_of(c, key);
    e->hnext = c->buckets[k];
    c->buckets[k] = e;
    lru_front(c, e);
    c->st.bytes += cost;
    c->st.entries++;
    c->st.inserts++;
    if (c->st.entries > c->nbuckets) grow(c);
    return 1;
}

void net_mcache_stats_get(const net_mcache *c, net_mcache_stats *st) { *st = c->st; }

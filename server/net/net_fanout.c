/* Fan-out: topics, their subscribers, and one bounded outbound queue per subscriber.
 *
 * A topic holds its members in a dense array; each member remembers where its subscriber
 * keeps the subscription, and each subscription where its member is, so both removals are
 * a swap with the last entry (O(1)). A published message is one allocation whose
 * reference count is the number of queues holding it. A subscriber costs a small fixed
 * struct until it subscribes (its topic list) or is sent something (its ring). Only the
 * owning thread calls in; nothing locks. No libwebsockets here. */
#include "net.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define RING_KEEP 4        /* a ring this small stays allocated when it empties */

struct fmsg {
    uint64_t topic, key;
    size_t len;
    uint32_t refs;
    unsigned char buf[];   /* headroom, then len bytes */
};

struct fmember { uint32_t sub, k; };        /* k: index in the subscriber's tv */

struct ftopic {
    uint64_t key;
    struct fmember *m;
    uint32_t n, cap;
};

struct fsubn { struct ftopic *t; uint32_t pos; };   /* pos: index in t->m */

struct fsub {
    struct fsubn *tv;      /* its subscriptions */
    struct fmsg **q;       /* its queue: a ring, NULL until something is queued */
    size_t qbytes;
    uint32_t tn, tcap;
    uint32_t qh, qn, qcap;
    uint32_t nkeyed;       /* queued messages with a coalesce key */
    uint8_t resync;        /* the resync notice is owed */
};

struct net_fanout {
    uint32_t max_subs, queue_max, topics_max;
    size_t headroom, queue_bytes;
    void (*wake)(void *arg, uint32_t sub);
    void *arg;
    struct fsub *subs;
    kc_map topics;         /* topic -> struct ftopic * */
    struct fmsg *resync;   /* the notice's text, with headroom like a message */
    net_fanout_stats st;
};

uint64_t net_fanout_topic(unsigned kind, uint64_t id)
{
    if (!kind || kind > 255 || id > NET_TOPIC_ID_MAX) return 0;
    return (uint64_t)kind << 56 | id;
}

unsigned net_fanout_topic_kind(uint64_t topic) { return (unsigned)(topic >> 56); }
uint64_t net_fanout_topic_id(uint64_t topic) { return topic & NET_TOPIC_ID_MAX; }

/* ---- messages ---- */

static struct fmsg *msg_new(net_fanout *f, uint64_t topic, uint64_t key, const void *data,
                            size_t len)
{
    struct fmsg *m = malloc(sizeof *m + f->headroom + len);
    if (!m) return NULL;
    m->topic = topic;
    m->key = key;
    m->len = len;
    m->refs = 1;
    if (len) memcpy(m->buf + f->headroom, data, len);
    f->st.buffers++;
    f->st.buffer_bytes += sizeof *m + f->headroom + len;
    return m;
}

static void msg_unref(net_fanout *f, struct fmsg *m)
{
    if (--m->refs) return;
    f->st.buffers--;
    f->st.buffer_bytes -= sizeof *m + f->headroom + m->len;
    free(m);
}

/* ---- queues ---- */

static struct fsub *sub_of(const net_fanout *f, uint32_t sub)
{
    return f && sub < f->max_subs ? &f->subs[sub] : NULL;
}

static uint32_t ring_at(const struct fsub *s, uint32_t i)
{
    uint32_t j = s->qh + i;
    return j >= s->qcap ? j - s->qcap : j;
}

static void queue_clear(net_fanout *f, struct fsub *s)
{
    for (uint32_t i = 0; i < s->qn; i++) msg_unref(f, s->q[ring_at(s, i)]);
    f->st.dropped += s->qn;
    f->st.bytes_queued -= s->qbytes;
    f->st.ring_slots -= s->qcap;
    free(s->q);
    s->q = NULL;
    s->qh = s->qn = s->qcap = s->nkeyed = 0;
    s->qbytes = 0;
}

/* The queue cannot take more: what it holds goes, and the subscriber is told to reload
 * instead (once, however often this happens before the notice is sent). */
static void overflow(net_fanout *f, struct fsub *s)
{
    queue_clear(f, s);
    if (!s->resync) f->st.resyncs++;
    s->resync = 1;
}

static int ring_grow(net_fanout *f, struct fsub *s)
{
    uint32_t cap = s->qcap ? s->qcap * 2 : RING_KEEP;
    if (cap > f->queue_max || cap < s->qcap) cap = f->queue_max;
    struct fmsg **q = malloc(sizeof *q * cap);
    if (!q) return KC_ENOMEM;
    for (uint32_t i = 0; i < s->qn; i++) q[i] = s->q[ring_at(s, i)];
    free(s->q);
    s->q = q;
    s->qh = 0;
    f->st.ring_slots += cap - s->qcap;
    s->qcap = cap;
    return 0;
}

static uint32_t pending(const struct fsub *s) { return s->qn + s->resync; }

/* Puts m in sub's queue: 1 queued (or replaced a message of its key), 0 not (overflow). */
static int enqueue(net_fanout *f, uint32_t sub, struct fmsg *m)
{
    struct fsub *s = &f->subs[sub];
    int was = pending(s) > 0, queued = 0;
    if (m->key && s->nkeyed) {
        for (uint32_t i = s->qn; i-- > 0;) {
            uint32_t at = ring_at(s, i);
            struct fmsg *o = s->q[at];
            if (o->key != m->key || o->topic != m->topic) continue;
            if (s->qbytes - o->len + m->len > f->queue_bytes) {
                overflow(f, s);
                goto out;
            }
            s->qbytes = s->qbytes - o->len + m->len;
            f->st.bytes_queued = f->st.bytes_queued - o->len + m->len;
            s->q[at] = m;
            m->refs++;
            msg_unref(f, o);
            f->st.coalesced++;
            f->st.queued++;
            return 1;           /* the queue was not empty: no wake */
        }
    }
    if (s->qn >= f->queue_max || s->qbytes + m->len > f->queue_bytes) {
        overflow(f, s);
        goto out;
    }
    if (s->qn == s->qcap && ring_grow(f, s)) {
        overflow(f, s);         /* no memory for this reader: it reloads like a slow one */
        goto out;
    }
    s->q[ring_at(s, s->qn)] = m;
    s->qn++;
    m->refs++;
    s->qbytes += m->len;
    if (m->key) s->nkeyed++;
    f->st.queued++;
    f->st.bytes_queued += m->len;
    queued = 1;
out:
    if (!was && pending(s) && f->wake) f->wake(f->arg, sub);
    return queued;
}

/* ---- topics ---- */

static struct ftopic *topic_find(const net_fanout *f, uint64_t topic)
{
    uint64_t v;
    return kc_map_get(&f->topics, topic, &v) ? (struct ftopic *)(uintptr_t)v : NULL;
}

static void topic_free(net_fanout *f, struct ftopic *t)
{
    kc_map_del(&f->topics, t->key);
    f->st.topics--;
    free(t->m);
    free(t);
}

/* Removes sub's subscription k: both swap-removes, then gives back memory an emptied or
 * mostly empty array no longer needs. */
static void remove_at(net_fanout *f, uint32_t sub, uint32_t k)
{
    struct fsub *s = &f->subs[sub];
    struct ftopic *t = s->tv[k].t;
    uint32_t pos = s->tv[k].pos;
    if (pos != t->n - 1) {
        struct fmember last = t->m[t->n - 1];
        t->m[pos] = last;
        f->subs[last.sub].tv[last.k].pos = pos;
    }
    t->n--;
    if (k != s->tn - 1) {
        struct fsubn last = s->tv[s->tn - 1];
        s->tv[k] = last;
        last.t->m[last.pos].k = k;
    }
    s->tn--;
    f->st.subscriptions--;
    if (!t->n) {
        topic_free(f, t);
    } else if (t->cap > 8 && t->n <= t->cap / 4) {
        struct fmember *m = realloc(t->m, sizeof *m * (t->cap / 2));
        if (m) { t->m = m; t->cap /= 2; }   /* a failed shrink keeps the bigger array */
    }
    if (!s->tn) {
        free(s->tv);
        s->tv = NULL;
        s->tcap = 0;
    }
}

static int find_sub(const struct fsub *s, uint64_t topic)
{
    for (uint32_t k = 0; k < s->tn; k++)
        if (s->tv[k].t->key == topic) return (int)k;
    return -1;
}

/* ---- the API ---- */

int net_fanout_new(const net_fanout_conf *c, net_fanout **out)
{
    *out = NULL;
    if (!c->max_subs || c->max_subs > INT_MAX) return KC_EINVAL;
    net_fanout *f = calloc(1, sizeof *f);
    if (!f) return KC_ENOMEM;
    f->max_subs = c->max_subs;
    f->headroom = c->headroom;
    f->queue_max = c->queue_max ? c->queue_max : NET_FANOUT_QUEUE_MAX;
    f->queue_bytes = c->queue_bytes ? c->queue_bytes : NET_FANOUT_QUEUE_BYTES;
    f->topics_max = c->topics_max ? c->topics_max : NET_FANOUT_TOPICS_MAX;
    f->wake = c->wake;
    f->arg = c->arg;
    const char *r = c->resync ? c->resync : "{\"type\":\"resync\"}";
    size_t rn = strlen(r);
    f->subs = calloc(f->max_subs, sizeof *f->subs);
    /* the notice is not a published message: kept out of the buffer counts */
    f->resync = calloc(1, sizeof *f->resync + f->headroom + rn);
    if (!f->subs || !f->resync || kc_map_init(&f->topics, 16)) {
        net_fanout_free(f);
        return KC_ENOMEM;
    }
    f->resync->len = rn;
    memcpy(f->resync->buf + f->headroom, r, rn);
    *out = f;
    return 0;
}

void net_fanout_free(net_fanout *f)
{
    if (!f) return;
    if (f->subs)
        for (uint32_t i = 0; i < f->max_subs; i++) net_fanout_drop(f, i);
    free(f->resync);
    kc_map_free(&f->topics);
    free(f->subs);
    free(f);
}

int net_fanout_subscribe(net_fanout *f, uint64_t topic, uint32_t sub)
{
    struct fsub *s = sub_of(f, sub);
    if (!s || !topic) return KC_EINVAL;
    if (find_sub(s, topic) >= 0) return 0;
    if (s->tn >= f->topics_max) return KC_EBUSY;
    if (s->tn == s->tcap) {
        uint32_t cap = s->tcap ? s->tcap * 2 : 2;
        if (cap > f->topics_max) cap = f->topics_max;
        struct fsubn *tv = realloc(s->tv, sizeof *tv * cap);
        if (!tv) return KC_ENOMEM;
        s->tv = tv;
        s->tcap = cap;
    }
    struct ftopic *t = topic_find(f, topic);
    if (!t) {
        if (!(t = calloc(1, sizeof *t))) return KC_ENOMEM;
        t->key = topic;
        if (kc_map_put(&f->topics, topic, (uint64_t)(uintptr_t)t)) { free(t); return KC_ENOMEM; }
        f->st.topics++;
    }
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 4;
        struct fmember *m = realloc(t->m, sizeof *m * cap);
        if (!m) {
            if (!t->n) topic_free(f, t);
            return KC_ENOMEM;
        }
        t->m = m;
        t->cap = cap;
    }
    t->m[t->n] = (struct fmember){sub, s->tn};
    s->tv[s->tn] = (struct fsubn){t, t->n};
    t->n++;
    s->tn++;
    f->st.subscriptions++;
    return 0;
}

int net_fanout_unsubscribe(net_fanout *f, uint64_t topic, uint32_t sub)
{
    struct fsub *s = sub_of(f, sub);
    if (!s || !topic) return KC_EINVAL;
    int k = find_sub(s, topic);
    if (k >= 0) remove_at(f, sub, (uint32_t)k);
    return 0;
}

void net_fanout_drop(net_fanout *f, uint32_t sub)
{
    struct fsub *s = sub_of(f, sub);
    if (!s) return;
    while (s->tn) remove_at(f, sub, s->tn - 1);
    queue_clear(f, s);
    s->resync = 0;
}

int net_fanout_subscribed(const net_fanout *f, uint64_t topic, uint32_t sub)
{
    const struct fsub *s = sub_of(f, sub);
    return s && topic && find_sub(s, topic) >= 0;
}

uint32_t net_fanout_subscribers(const net_fanout *f, uint64_t topic)
{
    const struct ftopic *t = f && topic ? topic_find(f, topic) : NULL;
    return t ? t->n : 0;
}

int net_fanout_publish(net_fanout *f, uint64_t topic, uint64_t coalesce_key,
                       const void *data, size_t len)
{
    if (!f || !topic || (!data && len) || len > f->queue_bytes) return KC_EINVAL;
    struct ftopic *t = topic_find(f, topic);
    struct fmsg *m = NULL;
    if (t && !(m = msg_new(f, topic, coalesce_key, data, len))) return KC_ENOMEM;
    f->st.published++;
    if (!m) return 0;
    /* m holds the publisher's reference until every queue has taken its own; enqueue and
     * wake never change t (wake must not call back in). */
    int n = 0;
    for (uint32_t i = 0; i < t->n; i++) n += enqueue(f, t->m[i].sub, m);
    msg_unref(f, m);
    return n;
}

int net_fanout_peek(net_fanout *f, uint32_t sub, unsigned char **data, size_t *len)
{
    struct fsub *s = sub_of(f, sub);
    const struct fmsg *m;
    int what;
    if (!s) return 0;
    if (s->resync) m = f->resync, what = NET_FANOUT_RESYNC;
    else if (s->qn) m = s->q[s->qh], what = NET_FANOUT_MESSAGE;
    else return 0;
    *data = (unsigned char *)m->buf + f->headroom;
    *len = m->len;
    return what;
}

void net_fanout_pop(net_fanout *f, uint32_t sub)
{
    struct fsub *s = sub_of(f, sub);
    if (!s) return;
    if (s->resync) {
        s->resync = 0;
        return;
    }
    if (!s->qn) return;
    struct fmsg *m = s->q[s->qh];
    s->qh = ring_at(s, 1);
    s->qn--;
    s->qbytes -= m->len;
    if (m->key) s->nkeyed--;
    f->st.bytes_queued -= m->len;
    f->st.delivered++;
    msg_unref(f, m);
    if (!s->qn) {
        s->qh = 0;
        if (s->qcap > RING_KEEP) {   /* a burst is over: give its ring back */
            f->st.ring_slots -= s->qcap;
            free(s->q);
            s->q = NULL;
            s->qcap = 0;
        }
    }
}

uint32_t net_fanout_pending(const net_fanout *f, uint32_t sub)
{
    const struct fsub *s = sub_of(f, sub);
    return s ? pending(s) : 0;
}

void net_fanout_stats_get(const net_fanout *f, net_fanout_stats *st)
{
    *st = f->st;
}

/* Login throttling and connections per address ([limits] of kaochang.conf). Pure: no
 * libwebsockets, no SQL, no threads; the service thread owns it and passes the time.
 *
 * The rules (docs/ARCHITECTURE.md, "Login throttling", says the same for operators):
 *
 * Addresses. IPv4 and IPv4-mapped IPv6 are one address; IPv6 counts by its /64 (one host
 * gets a whole /64); an unparseable peer shares one "unknown" key. Addresses inside
 * limits.trusted (default 127.0.0.1/32 and ::1: the host itself, monitoring) are
 * exempt from the connection limit and every per-address limit below, but not from the
 * per-ticket/login ones. 127.0.0.2 and up are not trusted: the load generator spreads over
 * them and must be limited like real clients.
 *
 * 1. Rate per address (all kinds): a token bucket of limits.login_burst attempts refilled
 *    at limits.login_per_second. It only limits floods (a hall of 300 behind one NAT
 *    address logging in within a minute passes at the defaults). staff_login also takes
 *    from a second, smaller bucket (limits.staff_burst, limits.staff_per_minute): each
 *    attempt costs an Argon2id hash, and the staff pool must stay free for other staff.
 * 2. Per (ticket, address) and per (login, address): after limits.fail_threshold (F)
 *    failures the pair backs off: backoff_start_s, doubling per further failure, at most
 *    lockout_s. The failures are forgotten after fail_window_s without a failure once the
 *    backoff is over, and at once by a success. Only this address is held back, so one
 *    address can only lock itself out of a ticket, never the candidate at another address.
 * 3. Per ticket / per login everywhere: once limits.distinct_addresses (D) different
 *    networks failed on it within the window, that failure and every further one (from
 *    anywhere, until the ticket has been quiet for a window) make the ticket back off for
 *    everyone, the same doubling, at most lockout_s: a guess spread over many addresses. A network here is an IPv4 address or an IPv6 /48 (what one site or one
 *    customer gets), so one attacker with one address, or with a whole IPv6 prefix of
 *    their own, counts once and cannot set this off alone. A success from a network takes
 *    it out of the count (those failures were the candidate's own typos).
 * 4. Per address across tickets: failures leak away at limits.address_fail_threshold (G)
 *    per window; above G the address's further login and staff_login attempts are delayed
 *    1 s, doubling per further failure, at most address_backoff_max_s. It starts small and
 *    stays short because everyone behind a NAT address shares it: a room is slowed, never
 *    locked out, by one person guessing. Resumes are never delayed by it (a token cannot
 *    be guessed, and reconnecting candidates must get back in). The distinct tickets and
 *    logins an address failed on are counted per window; at limits.spray_tickets the
 *    result says so once (NET_THROTTLE_EV_SPRAY: a spray over sequential tickets).
 * 5. Resume and staff_resume take only the rate bucket: their failures count in the stats.
 *
 * An attempt counts as a failure from its check (pair and address) until its result comes
 * back OK or VOID: a hundred guesses sent at once over many connections, before the first
 * fails, get no further than F per pair and G per address. A refused check is not counted
 * as a failure of the credentials.
 *
 * Tickets and logins are compared without ASCII case and without trailing spaces, as the
 * database's collation does. Other variants the collation equates (accents, full-width
 * forms) are distinct keys here: the parser should refuse a ticket outside [0-9A-Za-z-];
 * rules 1 and 4 count every failure whatever its spelling.
 *
 * Memory. Three fixed tables (addresses, pairs, tickets/logins), limits.table_size entries
 * each, allocated once. An entry's place is a keyed SipHash of its key (the key is random
 * per process, so an attacker cannot aim at a place), in a set of 16 ways. A new entry
 * takes, in this order: an empty or expired way; the live way that is not backing off and
 * expires soonest; the way whose backoff ends soonest. A way with open connections is
 * never taken. So a spray of random tickets (entries that are not backing off) pushes out
 * only other such entries and never a lockout; pushing out a lockout needs the other 15
 * ways of its set to be backing off too, which costs F failures per entry, paced by rules
 * 1 and 4, and cannot be aimed. If all 16 ways hold open connections, a new connection is let
 * in uncounted (conn_untracked), rather than turning real clients away. */
#include "net.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define WAYS 16
#define TRUSTED_MAX 32
#define WHO_NETS 8            /* networks remembered per ticket: distinct_addresses <= 8 */
#define WHO_KEY_MAX 200       /* bytes of a ticket or login that count */

/* Every entry starts with this; the tables differ in what follows. */
struct hdr {
    uint64_t id;              /* keyed hash of the key; 0: an empty way */
    int64_t expires;          /* ms: from then on the entry holds nothing worth keeping */
    int64_t until;            /* ms: backing off until then (such entries are evicted last) */
    int32_t pinned;           /* open connections: never evicted */
    int32_t flags;
};

enum { F_SLOWED = 1, F_SPRAYED = 2, F_COUNTED = 4, F_LOCKED = 8 };

struct addr_e {
    struct hdr h;             /* flags: F_SLOWED, F_SPRAYED */
    int64_t login_tat, staff_tat, fail_tat;   /* us: when each bucket would be full / empty */
    int64_t tickets_since;    /* ms: start of the window tickets counts over */
    int32_t tickets;          /* distinct tickets/logins failed since then */
    int32_t pad;
};

struct pair_e {
    struct hdr h;             /* flags: F_COUNTED (in its address's tickets), F_LOCKED */
    int64_t last;             /* ms: the last failure */
    int32_t failures;         /* counted from the check, forgiven by OK and VOID */
    int32_t pad;
};

struct who_e {
    struct hdr h;
    int64_t last;
    int32_t failures;         /* since distinct_addresses networks failed */
    int32_t pad;
    struct { uint64_t net; int64_t at; } nets[WHO_NETS];   /* net 0: empty */
};

struct table {
    unsigned char *mem;
    size_t stride, nbuckets;
};

struct cidr { unsigned char ip[16]; int bits; };

struct net_throttle {
    srv_limits l;
    int64_t login_int_us, staff_int_us, fail_int_us;   /* one token / one failure */
    int64_t window_ms;
    unsigned char key[crypto_shorthash_KEYBYTES];
    struct table addrs, pairs, whos;
    struct cidr trusted[TRUSTED_MAX], proxies[TRUSTED_MAX];
    int ntrusted, nproxies;
    net_throttle_stats st;
};

/* ---- addresses ---- */

static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int net_throttle_addr_parse(const char *s, net_throttle_addr *a)
{
    memset(a, 0, sizeof *a);
    if (!s) return KC_EINVAL;
    char buf[64];
    size_t n = strlen(s);
    if (n >= sizeof buf) return KC_EINVAL;
    memcpy(buf, s, n + 1);
    char *p = buf;
    if (*p == '[') {                       /* [v6] */
        char *e = strchr(p, ']');
        if (!e || e[1]) return KC_EINVAL;
        *e = 0;
        p++;
    }
    char *zone = strchr(p, '%');           /* fe80::1%eth0: the zone is not part of it */
    if (zone) *zone = 0;
    struct in_addr v4;
    if (!zone && inet_pton(AF_INET, p, &v4) == 1) {
        memcpy(a->ip, v4_mapped, 12);
        memcpy(a->ip + 12, &v4, 4);
        a->family = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, p, a->ip) == 1) {
        a->family = memcmp(a->ip, v4_mapped, 12) ? 6 : 4;
        return 0;
    }
    memset(a, 0, sizeof *a);
    return KC_EINVAL;
}

/* The bytes that name an address's group: IPv4 whole, IPv6 its /64. */
static size_t addr_group(const net_throttle_addr *a, unsigned char out[9])
{
    out[0] = a->family;
    if (a->family == 4) { memcpy(out + 1, a->ip + 12, 4); return 5; }
    if (a->family == 6) { memcpy(out + 1, a->ip, 8); return 9; }
    return 1;
}

/* The network rule 3 counts: IPv4 whole, IPv6 its /48; never 0. */
static uint64_t addr_net(const net_throttle_addr *a)
{
    uint64_t v = (uint64_t)(a->family ? a->family : 0xff) << 56;
    if (a->family == 4)
        v |= (uint64_t)a->ip[12] << 24 | (uint64_t)a->ip[13] << 16 | (uint64_t)a->ip[14] << 8 | a->ip[15];
    else if (a->family == 6)
        for (int i = 0; i < 6; i++) v |= (uint64_t)a->ip[i] << (8 * (5 - i));
    return v;
}

static int cidr_parse(const char *key, const char *s, size_t n, struct cidr *c, char *err, size_t errlen)
{
    char buf[64];
    if (n >= sizeof buf) {
        snprintf(err, errlen, "%s: \"%.40s…\" is not an IPv4 or IPv6 address or CIDR", key, s);
        return KC_EINVAL;
    }
    memcpy(buf, s, n);
    buf[n] = 0;
    char *slash = strchr(buf, '/');
    if (slash) *slash = 0;
    net_throttle_addr a;
    if (net_throttle_addr_parse(buf, &a) || strchr(buf, '%')) {
        snprintf(err, errlen, "%s: \"%.*s\" is not an IPv4 or IPv6 address or CIDR", key, (int)n, s);
        return KC_EINVAL;
    }
    /* an IPv4 CIDR counts its bits in the mapped address's last 32 */
    int v4 = a.family == 4 && !strchr(buf, ':'), max = v4 ? 32 : 128, bits = max;
    if (slash) {
        char *end;
        long b = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || b < 0 || b > max) {
            snprintf(err, errlen, "%s: \"%s/%s\": the prefix length must be 0 to %d", key,
                     buf, slash + 1, max);
            return KC_EINVAL;
        }
        bits = (int)b;
    }
    memcpy(c->ip, a.ip, 16);
    c->bits = v4 ? bits + 96 : bits;
    return 0;
}

/* Parses list into out[0..*n); out may be NULL (checking only). */
static int cidrs_parse(const char *key, const char *list, struct cidr *out, int *n, char *err, size_t errlen)
{
    int k = 0;
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t') p++;
        if (!*p) break;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ' && *e != '\t') e++;
        struct cidr c;
        if (cidr_parse(key, p, (size_t)(e - p), &c, err, errlen)) return KC_EINVAL;
        if (k == TRUSTED_MAX) {
            snprintf(err, errlen, "%s: more than %d entries", key, TRUSTED_MAX);
            return KC_EINVAL;
        }
        if (out) out[k] = c;
        k++;
        p = e;
    }
    if (n) *n = k;
    return 0;
}

int net_throttle_cidrs_check(const char *key, const char *list, char *err, size_t errlen)
{
    return cidrs_parse(key, list, NULL, NULL, err, errlen);
}

int net_throttle_trusted_check(const char *list, char *err, size_t errlen)
{
    return net_throttle_cidrs_check("limits.trusted", list, err, errlen);
}

static int cidr_match(const struct cidr *c, const unsigned char ip[16])
{
    int full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->ip, ip, (size_t)full)) return 0;
    if (!rest) return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (c->ip[full] & mask) == (ip[full] & mask);
}

static int in_cidrs(const struct cidr *c, int n, const net_throttle_addr *a)
{
    if (!a->family) return 0;
    for (int i = 0; i < n; i++)
        if (cidr_match(&c[i], a->ip)) return 1;
    return 0;
}

int net_throttle_is_trusted(const net_throttle *t, const net_throttle_addr *a)
{
    return in_cidrs(t->trusted, t->ntrusted, a);
}

int net_throttle_is_proxy(const net_throttle *t, const net_throttle_addr *a)
{
    return in_cidrs(t->proxies, t->nproxies, a);
}

/* One X-Forwarded-For entry: an address, optionally [v6]:port or v4:port (some proxies
 * add the port). 0, or KC_EINVAL. */
static int forwarded_entry(const char *p, size_t n, net_throttle_addr *a)
{
    char buf[64];
    while (n && (*p == ' ' || *p == '\t')) p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
    if (!n || n >= sizeof buf) return KC_EINVAL;
    memcpy(buf, p, n);
    buf[n] = 0;
    char *colon = strchr(buf, ':');
    if (buf[0] == '[') {                               /* [v6]:port */
        char *e = strchr(buf, ']');
        if (e && e[1] == ':') e[1] = 0;
    } else if (colon && !strchr(colon + 1, ':')) {     /* v4:port (v6 has two colons or more) */
        *colon = 0;
    }
    return net_throttle_addr_parse(buf, a);
}

int net_throttle_client(const net_throttle *t, const net_throttle_addr *peer, const char *forwarded_for,
                        const char *real_ip, net_throttle_addr *client)
{
    *client = *peer;
    if (!net_throttle_is_proxy(t, peer)) return 0;
    int from_header = 0;
    if (forwarded_for && *forwarded_for) {
        /* Right to left: each proxy appends the address it was reached from, so the entries
         * after the last untrusted one were written by our proxies; that one is the client.
         * What is left of it came from the client and proves nothing. */
        const char *end = forwarded_for + strlen(forwarded_for);
        while (end > forwarded_for) {
            const char *start = end;
            while (start > forwarded_for && start[-1] != ',') start--;
            net_throttle_addr a;
            if (forwarded_entry(start, (size_t)(end - start), &a)) break;   /* junk: the last good hop */
            *client = a;
            from_header = 1;
            if (!net_throttle_is_proxy(t, &a)) break;
            end = start > forwarded_for ? start - 1 : start;
        }
        return from_header;
    }
    net_throttle_addr a;
    if (real_ip && *real_ip && !forwarded_entry(real_ip, strlen(real_ip), &a)) {
        *client = a;
        return 1;
    }
    return 0;
}

void net_throttle_addr_text(const net_throttle_addr *a, char *out, size_t cap)
{
    if (a->family == 4) inet_ntop(AF_INET, a->ip + 12, out, (socklen_t)cap);
    else if (a->family == 6) inet_ntop(AF_INET6, a->ip, out, (socklen_t)cap);
    else snprintf(out, cap, "unknown");
}

/* ---- the tables ---- */

static uint64_t key_hash(const net_throttle *t, char table, enum net_throttle_kind kind,
                         const net_throttle_addr *a, const char *who)
{
    unsigned char buf[2 + 9 + WHO_KEY_MAX];
    size_t n = 0;
    buf[n++] = (unsigned char)table;
    buf[n++] = (unsigned char)kind;
    if (a) n += addr_group(a, buf + n);
    if (who) {
        /* as the database compares: ASCII case and trailing spaces do not count */
        size_t len = strlen(who);
        while (len && who[len - 1] == ' ') len--;
        if (len > WHO_KEY_MAX) len = WHO_KEY_MAX;
        for (size_t i = 0; i < len; i++) {
            unsigned char ch = (unsigned char)who[i];
            buf[n++] = ch >= 'A' && ch <= 'Z' ? (unsigned char)(ch + 32) : ch;
        }
    }
    unsigned char out[crypto_shorthash_BYTES];
    crypto_shorthash(out, buf, n, t->key);
    uint64_t id;
    memcpy(&id, out, sizeof id);
    return id ? id : 1;
}

static struct hdr *way(const struct table *tb, size_t i) { return (struct hdr *)(tb->mem + i * tb->stride); }

static int table_init(struct table *tb, size_t stride, int size)
{
    tb->stride = stride;
    tb->nbuckets = ((size_t)size + WAYS - 1) / WAYS;
    tb->mem = calloc(tb->nbuckets * WAYS, stride);
    return tb->mem ? 0 : KC_ENOMEM;
}

static int live(const struct hdr *h, int64_t now) { return h->id && (h->expires > now || h->pinned > 0); }

/* The entry of id; with create, a new one (zeroed) when there is none, evicting as the
 * header comment says. NULL when absent (or no way could be taken). An expired entry is
 * returned zeroed (its connections kept). */
static struct hdr *get(net_throttle *t, struct table *tb, uint64_t id, int64_t now, int create)
{
    size_t base = (size_t)(id % tb->nbuckets) * WAYS;
    struct hdr *victim = NULL;
    int vrank = 3;
    for (size_t w = 0; w < WAYS; w++) {
        struct hdr *h = way(tb, base + w);
        if (h->id == id) {
            if (h->expires <= now) {
                int32_t pinned = h->pinned;
                memset(h, 0, tb->stride);
                h->id = id;
                h->pinned = pinned;
            }
            return h;
        }
        int rank;
        int64_t when;
        if (!live(h, now)) rank = 0, when = 0;
        else if (h->pinned) continue;
        else if (h->until <= now) rank = 1, when = h->expires;
        else rank = 2, when = h->until;
        if (rank < vrank || (rank == vrank && when < (rank == 1 ? victim->expires : victim->until))) {
            victim = h;
            vrank = rank;
        }
    }
    if (!create || !victim) return NULL;
    if (vrank >= 1) t->st.evictions++;
    if (vrank == 2) t->st.evictions_locked++;
    memset(victim, 0, tb->stride);
    victim->id = id;
    return victim;
}

static void drop(struct table *tb, struct hdr *h) { memset(h, 0, tb->stride); }

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* start << k, at most cap (all ms). */
static int64_t doubling(int64_t start, int k, int64_t cap)
{
    if (k < 0) k = 0;
    if (k >= 62 || start > cap >> k) return cap;
    return start << k;
}

/* A bucket of burst tokens, one back every interval (us), as the time it will be full
 * (tat; GCRA). How long until one token is there (us, 0: now). */
static int64_t bucket_wait(int64_t tat, int64_t now_us, int64_t interval, int burst)
{
    int64_t tol = interval * (burst - 1);
    int64_t wait = max64(tat, now_us) - now_us - tol;
    return wait > 0 ? wait : 0;
}

static void bucket_take(int64_t *tat, int64_t now_us, int64_t interval, int burst)
{
    /* a clock stepped back must not leave a debt longer than the bucket holds */
    int64_t t = max64(*tat, now_us);
    if (t > now_us + interval * burst) t = now_us + interval * burst;
    *tat = t + interval;
}

static void bucket_give(int64_t *tat, int64_t interval) { *tat -= interval; }

/* An address's failures not yet leaked away (rounded up). */
static int addr_failures(const net_throttle *t, const struct addr_e *e, int64_t now_us)
{
    if (!t->l.address_fail_threshold || e->fail_tat <= now_us) return 0;
    return (int)((e->fail_tat - now_us + t->fail_int_us - 1) / t->fail_int_us);
}

static void addr_expiry(const net_throttle *t, struct addr_e *e)
{
    int64_t x = max64(max64(e->login_tat, e->staff_tat), e->fail_tat) / 1000 + 1;
    x = max64(x, e->h.until);
    if (e->tickets) x = max64(x, e->tickets_since + t->window_ms);
    e->h.expires = x;
}

static void pair_expiry(const net_throttle *t, struct pair_e *e)
{
    e->h.expires = max64(e->last, e->h.until) + t->window_ms;
}

static void who_expiry(const net_throttle *t, struct who_e *e)
{
    int64_t x = max64(e->last, e->h.until);
    for (int i = 0; i < WHO_NETS; i++)
        if (e->nets[i].net) x = max64(x, e->nets[i].at);
    e->h.expires = x + t->window_ms;
}

/* One more failure of a pair (counted from the check) and its backoff. */
static void pair_charge(const net_throttle *t, struct pair_e *e, int64_t now)
{
    e->failures++;
    e->last = now;
    int f = t->l.fail_threshold;
    if (f && e->failures >= f)
        e->h.until = max64(e->h.until, now + doubling(t->l.backoff_start_s * 1000LL, e->failures - f,
                                                      t->l.lockout_s * 1000LL));
    pair_expiry(t, e);
}

static void addr_slow(const net_throttle *t, struct addr_e *e, int64_t now)
{
    int n = addr_failures(t, e, now * 1000), g = t->l.address_fail_threshold;
    if (!g || n <= g) {
        e->h.until = 0;
        e->h.flags &= ~F_SLOWED;
    } else {
        e->h.until = max64(e->h.until, now + doubling(1000, n - g - 1, t->l.address_backoff_max_s * 1000LL));
    }
}

static int who_nets(const net_throttle *t, struct who_e *e, int64_t now)
{
    int n = 0;
    for (int i = 0; i < WHO_NETS; i++) {
        if (e->nets[i].net && e->nets[i].at + t->window_ms <= now) e->nets[i].net = 0;
        if (e->nets[i].net) n++;
    }
    return n;
}

/* ---- the API ---- */

net_throttle *net_throttle_new(const srv_limits *l, char *err, size_t errlen)
{
    static const struct { const char *name; size_t off; int min, max; } r[] = {
#define R(f, lo, hi) {"limits." #f, offsetof(srv_limits, f), lo, hi}
        R(login_burst, 0, 1000000), R(login_per_second, 1, 1000000), R(staff_burst, 0, 100000),
        R(staff_per_minute, 1, 1000000), R(fail_threshold, 0, 1000), R(fail_window_s, 1, 86400),
        R(backoff_start_s, 1, 86400), R(lockout_s, 1, 604800), R(distinct_addresses, 2, WHO_NETS),
        R(address_fail_threshold, 0, 1000000), R(address_backoff_max_s, 1, 3600),
        R(spray_tickets, 1, 1000000), R(connections_per_address, 0, 1000000),
        R(table_size, 1024, 1 << 24),
#undef R
    };
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
        int v = *(const int *)((const char *)l + r[i].off);
        if (v < r[i].min || v > r[i].max) {
            snprintf(err, errlen, "%s: expected an integer from %d to %d, got %d", r[i].name,
                     r[i].min, r[i].max, v);
            return NULL;
        }
    }
    net_throttle *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->l = *l;
    if (cidrs_parse("limits.trusted", l->trusted, t->trusted, &t->ntrusted, err, errlen) ||
        cidrs_parse("limits.proxies", l->proxies, t->proxies, &t->nproxies, err, errlen)) {
        free(t);
        return NULL;
    }
    t->login_int_us = 1000000LL / l->login_per_second;
    t->staff_int_us = 60000000LL / l->staff_per_minute;
    t->window_ms = l->fail_window_s * 1000LL;
    if (!t->login_int_us) t->login_int_us = 1;
    t->fail_int_us = l->address_fail_threshold ? t->window_ms * 1000 / l->address_fail_threshold : 1;
    if (!t->fail_int_us) t->fail_int_us = 1;
    if (kc_random(t->key, sizeof t->key) ||
        table_init(&t->addrs, sizeof(struct addr_e), l->table_size) ||
        table_init(&t->pairs, sizeof(struct pair_e), l->table_size) ||
        table_init(&t->whos, sizeof(struct who_e), l->table_size)) {
        snprintf(err, errlen, "limits.table_size: no memory or randomness for %d entries", l->table_size);
        net_throttle_free(t);
        return NULL;
    }
    t->st.capacity = t->addrs.nbuckets * WAYS;
    return t;
}

void net_throttle_free(net_throttle *t)
{
    if (!t) return;
    free(t->addrs.mem);
    free(t->pairs.mem);
    free(t->whos.mem);
    sodium_memzero(t->key, sizeof t->key);
    free(t);
}

static int guessable(enum net_throttle_kind kind) { return kind == NET_THROTTLE_LOGIN || kind == NET_THROTTLE_STAFF; }

int net_throttle_check(net_throttle *t, enum net_throttle_kind kind, const net_throttle_addr *a,
                       const char *who, int64_t now, int64_t *retry_after_ms, const char **reason)
{
    const srv_limits *l = &t->l;
    int64_t now_us = now * 1000, wait_addr = 0, wait_who = 0;
    int trusted = net_throttle_is_trusted(t, a), guess = guessable(kind);
    if (!who) who = "";
    t->st.checks++;
    uint64_t aid = trusted ? 0 : key_hash(t, 'A', 0, a, NULL);
    struct addr_e *ae = trusted ? NULL : (struct addr_e *)get(t, &t->addrs, aid, now, 0);
    if (ae) {
        if (guess && ae->h.until > now)
            wait_addr = ae->h.until - now;
        if (l->login_burst)
            wait_addr = max64(wait_addr, (bucket_wait(ae->login_tat, now_us, t->login_int_us, l->login_burst) + 999) / 1000);
        if (kind == NET_THROTTLE_STAFF && l->staff_burst)
            wait_addr = max64(wait_addr, (bucket_wait(ae->staff_tat, now_us, t->staff_int_us, l->staff_burst) + 999) / 1000);
        /* never longer than the longest rule, whatever the clock did */
        int64_t cap = max64(l->address_backoff_max_s * 1000LL,
                            max64((int64_t)l->login_burst * t->login_int_us, (int64_t)l->staff_burst * t->staff_int_us) / 1000 + 1);
        if (wait_addr > cap) wait_addr = cap;
    }
    uint64_t pid = 0, wid = 0;
    if (guess) {
        pid = key_hash(t, 'P', kind, a, who);
        wid = key_hash(t, 'W', kind, NULL, who);
        struct hdr *pe = get(t, &t->pairs, pid, now, 0), *we = get(t, &t->whos, wid, now, 0);
        if (pe && pe->until > now) wait_who = pe->until - now;
        if (we && we->until > now) wait_who = max64(wait_who, we->until - now);
        if (wait_who > l->lockout_s * 1000LL) wait_who = l->lockout_s * 1000LL;
    }
    if (wait_addr || wait_who) {
        int by_who = wait_who >= wait_addr;
        *retry_after_ms = by_who ? wait_who : wait_addr;
        *reason = !by_who ? "address" : kind == NET_THROTTLE_STAFF ? "login" : "ticket";
        if (!by_who) t->st.refused_address++;
        else if (kind == NET_THROTTLE_STAFF) t->st.refused_login++;
        else t->st.refused_ticket++;
        return KC_EBUSY;
    }
    t->st.allowed++;
    *retry_after_ms = 0;
    *reason = NULL;
    /* The address's failures are charged when a failure comes back, not here: a hall
     * behind one address logging in at once has hundreds in flight, all good. Parallel
     * guesses from one address are bounded by the rate bucket, one ticket's by its pair. */
    int need_addr = l->login_burst || (kind == NET_THROTTLE_STAFF && l->staff_burst);
    if (!trusted && need_addr && (ae || (ae = (struct addr_e *)get(t, &t->addrs, aid, now, 1)))) {
        if (l->login_burst) bucket_take(&ae->login_tat, now_us, t->login_int_us, l->login_burst);
        if (kind == NET_THROTTLE_STAFF && l->staff_burst)
            bucket_take(&ae->staff_tat, now_us, t->staff_int_us, l->staff_burst);
        addr_expiry(t, ae);
    }
    if (guess) {
        struct pair_e *pe = (struct pair_e *)get(t, &t->pairs, pid, now, 1);
        if (pe) pair_charge(t, pe, now);
    }
    return 0;
}

void net_throttle_failure_elsewhere(net_throttle *t, enum net_throttle_kind kind, const net_throttle_addr *a,
                                    const char *who, int64_t now, net_throttle_note *note)
{
    if (!guessable(kind)) return;
    if (!who) who = "";
    /* What net_throttle_check charges for an allowed guess, then its failure. */
    struct pair_e *pe = (struct pair_e *)get(t, &t->pairs, key_hash(t, 'P', kind, a, who), now, 1);
    if (pe) pair_charge(t, pe, now);
    net_throttle_result(t, kind, a, who, NET_THROTTLE_FAIL, now, note);
    t->st.failures--;                 /* counted apart */
    t->st.failures_elsewhere++;
}

void net_throttle_success_elsewhere(net_throttle *t, enum net_throttle_kind kind, const net_throttle_addr *a,
                                    const char *who, int64_t now)
{
    if (!guessable(kind)) return;
    net_throttle_result(t, kind, a, who, NET_THROTTLE_OK, now, NULL);
    t->st.successes--;                /* not one of this node's */
}

/* An OK or VOID attempt is no failure: what its check charged goes back. */
static void addr_refund(net_throttle *t, enum net_throttle_kind kind, const net_throttle_addr *a,
                        int64_t now, int tokens)
{
    if (net_throttle_is_trusted(t, a)) return;
    struct addr_e *ae = (struct addr_e *)get(t, &t->addrs, key_hash(t, 'A', 0, a, NULL), now, 0);
    if (!ae) return;
    if (tokens && t->l.login_burst) bucket_give(&ae->login_tat, t->login_int_us);
    if (tokens && kind == NET_THROTTLE_STAFF && t->l.staff_burst) bucket_give(&ae->staff_tat, t->staff_int_us);
    addr_expiry(t, ae);
}

void net_throttle_result(net_throttle *t, enum net_throttle_kind kind, const net_throttle_addr *a,
                         const char *who, enum net_throttle_outcome outcome, int64_t now,
                         net_throttle_note *note)
{
    net_throttle_note dummy;
    if (!note) note = &dummy;
    memset(note, 0, sizeof *note);
    if (!who) who = "";
    int guess = guessable(kind);
    const srv_limits *l = &t->l;
    if (outcome == NET_THROTTLE_OK) t->st.successes++;
    else if (outcome == NET_THROTTLE_VOID) t->st.voids++;
    else t->st.failures++;
    if (outcome != NET_THROTTLE_FAIL) {
        addr_refund(t, kind, a, now, outcome == NET_THROTTLE_VOID);
        if (!guess) return;
        struct hdr *ph = get(t, &t->pairs, key_hash(t, 'P', kind, a, who), now, 0);
        if (outcome == NET_THROTTLE_OK) {
            /* the credentials were right: this address's failures on them are forgiven (its
             * check charged one: more were earlier failures) */
            if (ph) {
                if (((struct pair_e *)ph)->failures > 1) note->forgave = 1;
                drop(&t->pairs, ph);
            }
            struct who_e *we = (struct who_e *)get(t, &t->whos, key_hash(t, 'W', kind, NULL, who), now, 0);
            if (we) {
                uint64_t net = addr_net(a);
                for (int i = 0; i < WHO_NETS; i++)
                    if (we->nets[i].net == net) {
                        we->nets[i].net = 0;
                        note->forgave = 1;
                    }
                who_expiry(t, we);
            }
        } else if (ph) {
            struct pair_e *pe = (struct pair_e *)ph;
            if (--pe->failures <= 0) drop(&t->pairs, ph);
            else if (!l->fail_threshold || pe->failures < l->fail_threshold) {
                pe->h.until = 0;
                pe->h.flags &= ~F_LOCKED;
                pair_expiry(t, pe);
            }
        }
        return;
    }
    if (!guess) return;
    /* a failure: the check counted it for the pair already; the address's count is charged
     * here; then what it sets off */
    int trusted = net_throttle_is_trusted(t, a);
    struct addr_e *ae = trusted ? NULL : (struct addr_e *)get(t, &t->addrs, key_hash(t, 'A', 0, a, NULL), now, 1);
    if (ae && l->address_fail_threshold) {
        bucket_take(&ae->fail_tat, now * 1000, t->fail_int_us, l->address_fail_threshold * 4 + 4);
        addr_slow(t, ae, now);
    }
    struct pair_e *pe = (struct pair_e *)get(t, &t->pairs, key_hash(t, 'P', kind, a, who), now, 0);
    if (!pe && (pe = (struct pair_e *)get(t, &t->pairs, key_hash(t, 'P', kind, a, who), now, 1)))
        pair_charge(t, pe, now);      /* reset by a success (or pushed out) meanwhile */
    if (pe) {
        note->pair_failures = pe->failures;
        if (pe->h.until > now) {
            note->events |= NET_THROTTLE_EV_PAIR;
            note->pair_until_ms = pe->h.until;
            if (!(pe->h.flags & F_LOCKED)) {
                pe->h.flags |= F_LOCKED;
                t->st.pair_lockouts++;
            }
        }
    }
    if (ae) {
        if (ae->tickets && ae->tickets_since + t->window_ms <= now) {
            ae->tickets = 0;
            ae->h.flags &= ~F_SPRAYED;
        }
        if (pe && !(pe->h.flags & F_COUNTED)) {
            pe->h.flags |= F_COUNTED;
            if (!ae->tickets++) ae->tickets_since = now;
        }
        if (ae->tickets >= l->spray_tickets && !(ae->h.flags & F_SPRAYED)) {
            ae->h.flags |= F_SPRAYED;
            note->events |= NET_THROTTLE_EV_SPRAY;
            t->st.sprays++;
        }
        note->address_tickets = ae->tickets;
        note->address_failures = addr_failures(t, ae, now * 1000);
        if (ae->h.until > now) {
            note->events |= NET_THROTTLE_EV_ADDRESS;
            note->address_until_ms = ae->h.until;
            if (!(ae->h.flags & F_SLOWED)) {
                ae->h.flags |= F_SLOWED;
                t->st.address_slowdowns++;
            }
        }
        addr_expiry(t, ae);
    }
    struct who_e *we = (struct who_e *)get(t, &t->whos, key_hash(t, 'W', kind, NULL, who), now, 1);
    if (!we) return;
    uint64_t net = addr_net(a);
    int slot = -1, oldest = 0;
    for (int i = 0; i < WHO_NETS; i++) {
        if (we->nets[i].net == net) { slot = i; break; }
        if (!we->nets[i].net) { if (slot < 0) slot = i; }
        else if (we->nets[i].at < we->nets[oldest].at || !we->nets[oldest].net) oldest = i;
    }
    if (slot < 0) slot = oldest;
    we->nets[slot].net = net;
    we->nets[slot].at = now;
    we->last = now;
    int n = who_nets(t, we, now);
    note->who_addresses = n;
    /* once set off, every failure prolongs it until the ticket has been quiet a window */
    if (n >= l->distinct_addresses || we->failures) {
        if (!we->failures++) t->st.who_lockouts++;
        we->h.until = max64(we->h.until, now + doubling(l->backoff_start_s * 1000LL, we->failures - 1,
                                                        l->lockout_s * 1000LL));
    }
    if (we->h.until > now) {
        note->events |= NET_THROTTLE_EV_WHO;
        note->who_until_ms = we->h.until;
    }
    who_expiry(t, we);
}

int net_throttle_conn_open(net_throttle *t, const net_throttle_addr *a, int64_t now)
{
    if (!t->l.connections_per_address || net_throttle_is_trusted(t, a)) return 0;
    struct hdr *h = get(t, &t->addrs, key_hash(t, 'A', 0, a, NULL), now, 1);
    if (!h) {
        t->st.conn_untracked++;
        return 0;
    }
    if (h->pinned >= t->l.connections_per_address) {
        t->st.conn_refused++;
        return KC_EBUSY;
    }
    h->pinned++;
    return 0;
}

void net_throttle_conn_close(net_throttle *t, const net_throttle_addr *a, int64_t now)
{
    if (!t->l.connections_per_address || net_throttle_is_trusted(t, a)) return;
    struct hdr *h = get(t, &t->addrs, key_hash(t, 'A', 0, a, NULL), now, 0);
    if (h && h->pinned > 0) h->pinned--;
}

static size_t count_live(const struct table *tb, int64_t now)
{
    size_t n = 0;
    for (size_t i = 0; i < tb->nbuckets * WAYS; i++) n += (size_t)live(way(tb, i), now);
    return n;
}

void net_throttle_stats_get(const net_throttle *t, int64_t now, net_throttle_stats *st)
{
    *st = t->st;
    st->addresses = count_live(&t->addrs, now);
    st->pairs = count_live(&t->pairs, now);
    st->whos = count_live(&t->whos, now);
}

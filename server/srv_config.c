/* kaochang.conf: INI sections [server], [pools], [limits] and [db]; every key can be
 * overridden on the command line with --set section.key=value. */
#include "srv.h"
#include "net/net.h"      /* limits.trusted is checked by the throttle's own parser */

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum kind { K_STR, K_INT, K_CIDRS };
struct key {
    const char *name;
    enum kind kind;
    size_t off, size;
    long min, max;
    const char *doc;
};

#define S(n, f, d) {n, K_STR, offsetof(srv_config, f), sizeof(((srv_config *)0)->f), 0, 0, d}
#define I(n, f, lo, hi, d) {n, K_INT, offsetof(srv_config, f), 0, lo, hi, d}
#define L(n, f, lo, hi, d) I("limits." n, limits.f, lo, hi, d)
static const struct key keys[] = {
    S("server.listen", listen, "interface address to listen on (empty = all)"),
    I("server.port", port, 1, 65535, "HTTP and WebSocket port"),
    S("server.web_root", web_root, "directory of the built browser client"),
    I("server.db_workers", pools[SRV_POOL_ANSWERS].workers, 1, 64, "answer writers (the same as pools.answers_workers)"),
    I("server.max_message", max_message, 1024, 16 << 20, "largest WebSocket message, bytes"),
    I("server.max_connections", max_connections, 16, 1000000, "connection slots"),
    I("server.answer_batch", answer_batch, 1, 10000, "most answers committed in one transaction"),
    I("server.prepare_before", prepare_before_min, 0, 10080, "minutes before a session opens that serve makes its papers"),
    S("server.log_level", log_level, "debug, info, warn or error"),
    S("server.node_id", node_id, "this node's name in the answer history, up to 64 printable ASCII characters without spaces; empty = the hostname, ':' and the port"),
    I("server.paper_cache_mb", paper_cache_mb, 0, 1048576, "MiB of rendered papers kept in memory for start and resume (least recently used dropped first; 0 = read every start's paper from the database)"),
    S("server.origins", origins, "browser origins allowed to open the WebSocket besides the server's own, comma-separated (e.g. https://exam.example.cn); empty = its own only"),
    I("server.idle_ping", idle_ping_s, 1, 3600, "seconds a connection may stay silent before the server PINGs it"),
    I("server.idle_close", idle_close_s, 2, 7200, "seconds of silence (no message, no PONG) after which a connection is closed as dead"),
    I("server.paced_inflight", paced_inflight, 1, 100000, "sealed papers (paper_fetch) being read, sealed or sent at once; the others wait in order, so memory stays bounded when a hall logs in"),
    I("server.media_cache_mb", media_cache_mb, 0, 65536, "MiB of item images and attachments kept in memory, least recently used out first (one object at most an eighth of it); 0 = off"),
    /* Each class of work has its own threads (each with a DB connection) and queue bound. */
    I("pools.answers_workers", pools[SRV_POOL_ANSWERS].workers, 1, 64, "threads committing answers in batches"),
    I("pools.answers_queue", pools[SRV_POOL_ANSWERS].queue, 1, 10000000, "answers waiting before the server answers busy"),
    I("pools.exam_workers", pools[SRV_POOL_EXAM].workers, 1, 64, "threads for candidates' login, resume, start and submit"),
    I("pools.exam_queue", pools[SRV_POOL_EXAM].queue, 1, 10000000, "candidate requests waiting before busy"),
    I("pools.exam_batch", pools[SRV_POOL_EXAM].batch, 1, 1000, "most starts one exam worker runs in one transaction (a synchronized start comes in thousands)"),
    I("pools.sweep_workers", pools[SRV_POOL_SWEEP].workers, 1, 16, "threads for the deadline sweep, session prepare and event batches"),
    I("pools.sweep_queue", pools[SRV_POOL_SWEEP].queue, 1, 1000000, "server jobs waiting"),
    I("pools.staff_workers", pools[SRV_POOL_STAFF].workers, 1, 64, "threads for staff work: password checks, bank, imports, reports"),
    I("pools.staff_queue", pools[SRV_POOL_STAFF].queue, 1, 1000000, "staff requests waiting before busy"),
    I("pools.staff_heavy", staff_heavy, 1, 64, "staff jobs that load a whole pool or session (check, import, prepare, verify, report) at once"),
    I("pools.media_workers", pools[SRV_POOL_MEDIA].workers, 1, 64, "threads reading media files from the database"),
    I("pools.media_queue", pools[SRV_POOL_MEDIA].queue, 1, 1000000, "media reads queued for the media workers (one per image, however many ask for it)"),
    I("pools.media_wait", media_wait, 0, 1000000, "image requests waiting in memory while the media queue is full, in order, before the server answers busy (503)"),
    /* Login throttling and connections per address (server/net/net_throttle.c). */
    L("login_burst", login_burst, 0, 1000000, "login, staff_login and resume attempts one address may make at once; 0 = no limit"),
    L("login_per_second", login_per_second, 1, 1000000, "attempts an address gets back per second (with a burst of 300 a hall of 300 behind one NAT address logs in at once)"),
    L("staff_burst", staff_burst, 0, 100000, "staff_login attempts (each an Argon2id hash) one address may make at once; 0 = no limit"),
    L("staff_per_minute", staff_per_minute, 1, 1000000, "staff_login attempts an address gets back per minute"),
    L("fail_threshold", fail_threshold, 0, 1000, "failed logins of one ticket or staff login from one address before it backs off there; 0 = off"),
    L("fail_window_s", fail_window_s, 1, 86400, "seconds without a failure after which failures are forgotten"),
    L("backoff_start_s", backoff_start_s, 1, 86400, "the first backoff, seconds; it doubles with every further failure"),
    L("lockout_s", lockout_s, 1, 604800, "the longest backoff of a ticket or staff login, seconds"),
    L("distinct_addresses", distinct_addresses, 2, 8, "networks (an IPv4 address, an IPv6 /48) failing on one ticket or login that make it back off everywhere"),
    L("address_fail_threshold", address_fail_threshold, 0, 1000000, "failed logins per fail_window_s one address may have before its attempts are delayed; 0 = off"),
    L("address_backoff_max_s", address_backoff_max_s, 1, 3600, "the longest such delay, seconds (everyone behind a NAT address shares it)"),
    L("spray_tickets", spray_tickets, 1, 1000000, "distinct tickets or logins failed from one address in fail_window_s that raise a proctor event"),
    L("connections_per_address", connections_per_address, 0, 1000000, "open connections one address may have; 0 = no limit"),
    L("table_size", table_size, 1024, 1 << 24, "entries of each throttle table (addresses, ticket+address, tickets); fixed memory"),
    {"limits.trusted", K_CIDRS, offsetof(srv_config, limits.trusted), sizeof(((srv_config *)0)->limits.trusted), 0, 0,
     "addresses and CIDRs exempt from connection and per-address limits and allowed to read /metrics, comma-separated (the host itself, monitoring)"},
    {"limits.proxies", K_CIDRS, offsetof(srv_config, limits.proxies), sizeof(((srv_config *)0)->limits.proxies), 0, 0,
     "reverse proxies in front of this node (nginx, HAProxy), comma-separated addresses or CIDRs: a connection from one counts as the client its X-Forwarded-For (else X-Real-IP) names; empty = none"},
    S("db.host", db.host, "MariaDB host (ignored when db.socket is set)"),
    I("db.port", db.port, 1, 65535, "MariaDB TCP port"),
    S("db.socket", db.socket, "MariaDB unix socket path"),
    S("db.user", db.user, "MariaDB user"),
    S("db.password", db.password, "MariaDB password"),
    S("db.database", db.database, "database name"),
    I("db.timeout", db.timeout_s, 1, 3600, "connect/read/write timeout, seconds"),
    S("db.schema_dir", schema_dir, "directory of NNN_name.sql migrations"),
};
#undef S
#undef I
#undef L

/* Data files (www/, schema/) live in share/kaochang beside the binary in the build tree
 * (build/kaochang, build/share/kaochang) and in PREFIX/share/kaochang when installed
 * (PREFIX/bin/kaochang), so both work without configuration. */
static void data_dir(char *out, size_t len)
{
    char exe[512];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    snprintf(out, len, "/usr/local/share/kaochang");
    if (n <= 0) return;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return;
    *slash = 0;
    static const char *const rel[] = {"/share/kaochang", "/../share/kaochang"};
    for (int i = 0; i < 2; i++) {
        char try[600], real[PATH_MAX];
        struct stat st;
        snprintf(try, sizeof try, "%.500s%s", exe, rel[i]);
        if (stat(try, &st) || !S_ISDIR(st.st_mode) || !realpath(try, real) || strlen(real) >= len)
            continue;
        memcpy(out, real, strlen(real) + 1);
        return;
    }
}

void srv_config_defaults(srv_config *c)
{
    char share[512];
    data_dir(share, sizeof share);
    memset(c, 0, sizeof *c);
    strcpy(c->listen, "127.0.0.1");
    c->port = 8080;
    snprintf(c->web_root, sizeof c->web_root, "%.490s/www", share);
    /* For 2 cores: answers and candidates' control never wait behind staff or media. */
    c->pools[SRV_POOL_ANSWERS] = (srv_pool_conf){2, 200000, 1};
    c->pools[SRV_POOL_EXAM] = (srv_pool_conf){2, 20000, 512};
    c->pools[SRV_POOL_SWEEP] = (srv_pool_conf){2, 64, 1};
    c->pools[SRV_POOL_STAFF] = (srv_pool_conf){2, 64, 1};
    c->pools[SRV_POOL_MEDIA] = (srv_pool_conf){1, 256, 1};
    c->staff_heavy = 1;
    c->media_wait = 4096;
    c->idle_ping_s = 30;
    c->idle_close_s = 75;
    c->max_message = 65536;
    c->media_cache_mb = 64;
    c->paced_inflight = 256;
    c->max_connections = 19000;
    c->answer_batch = 256;
    c->prepare_before_min = 30;
    c->paper_cache_mb = 256;
    strcpy(c->log_level, "info");
    /* A hall of 300 behind one NAT address logs in within a minute; a guesser does not. */
    c->limits = (srv_limits){
        .login_burst = 300, .login_per_second = 10, .staff_burst = 20, .staff_per_minute = 60,
        .fail_threshold = 5, .fail_window_s = 900, .backoff_start_s = 30, .lockout_s = 900,
        .distinct_addresses = 3, .address_fail_threshold = 30, .address_backoff_max_s = 60,
        .spray_tickets = 20, .connections_per_address = 1000, .table_size = 65536,
    };
    /* not 127.0.0.0/8: the load generator spreads over 127.0.0.2... and is limited like clients */
    strcpy(c->limits.trusted, "127.0.0.1/32, ::1");
    strcpy(c->db.host, "127.0.0.1");
    c->db.port = 3306;
    strcpy(c->db.user, "kaochang");
    strcpy(c->db.database, "kaochang");
    c->db.timeout_s = 10;
    snprintf(c->schema_dir, sizeof c->schema_dir, "%.490s/schema", share);
}

/* The node id is stored with every answer change and shown to examiners: plain ASCII, no
 * spaces or control characters, so it reads the same in every log and report. */
static int node_id_bad(const char *v, char *err, size_t errlen)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p <= ' ' || *p >= 0x7f) {
            snprintf(err, errlen, "server.node_id: only printable ASCII characters without spaces, "
                     "got byte 0x%02x at position %d", *p, (int)(p - (const unsigned char *)v) + 1);
            return 1;
        }
    return 0;
}

void srv_config_node_id(srv_config *c)
{
    if (c->node_id[0]) return;
    char host[256] = "";
    if (gethostname(host, sizeof host - 1)) host[0] = 0;
    host[sizeof host - 1] = 0;
    char port[16];
    int pl = snprintf(port, sizeof port, ":%d", c->port);
    /* Keep only what node_id_bad accepts; a hostname that leaves nothing is "localhost". */
    size_t room = sizeof c->node_id - 1 - (size_t)pl, n = 0;
    for (const unsigned char *p = (const unsigned char *)host; *p && n < room; p++)
        if (*p > ' ' && *p < 0x7f) c->node_id[n++] = (char)*p;
    if (!n) n = (size_t)snprintf(c->node_id, sizeof c->node_id, "localhost");
    memcpy(c->node_id + n, port, (size_t)pl + 1);
}

int srv_config_set(srv_config *c, const char *name, const char *value, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const struct key *k = &keys[i];
        if (strcmp(k->name, name))
            continue;
        if (k->kind == K_STR || k->kind == K_CIDRS) {
            if (strlen(value) >= k->size) {
                snprintf(err, errlen, "%s: value longer than %zu bytes", name, k->size - 1);
                return KC_EINVAL;
            }
            if (k->off == offsetof(srv_config, node_id) && node_id_bad(value, err, errlen)) return KC_EINVAL;
            if (k->kind == K_CIDRS && net_throttle_cidrs_check(k->name, value, err, errlen)) return KC_EINVAL;
            memcpy((char *)c + k->off, value, strlen(value) + 1);
        } else {
            char *end;
            errno = 0;
            long v = strtol(value, &end, 10);
            if (errno || end == value || *end || v < k->min || v > k->max) {
                snprintf(err, errlen, "%s: expected an integer from %ld to %ld, got \"%s\"",
                         name, k->min, k->max, value);
                return KC_EINVAL;
            }
            *(int *)((char *)c + k->off) = (int)v;
        }
        return 0;
    }
    snprintf(err, errlen, "%s: unknown setting", name);
    return KC_EINVAL;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
    return s;
}

int srv_config_load(srv_config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return KC_ERR;
    }
    char line[1024], section[64] = "", full[160], e2[256];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (!end || end[1]) {
                snprintf(err, errlen, "%s:%d: section: expected [name]", path, lineno);
                rc = KC_EINVAL;
                break;
            }
            *end = 0;
            snprintf(section, sizeof section, "%s", trim(s + 1));
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected key = value", path, lineno);
            rc = KC_EINVAL;
            break;
        }
        *eq = 0;
        snprintf(full, sizeof full, "%s.%s", section, trim(s));
        if (srv_config_set(c, full, trim(eq + 1), e2, sizeof e2)) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, e2);
            rc = KC_EINVAL;
            break;
        }
    }
    fclose(f);
    return rc;
}

void srv_config_print(const srv_config *c, FILE *out)
{
    const char *sec = "";
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const struct key *k = &keys[i];
        if (!strcmp(k->name, "server.db_workers")) continue;   /* an alias, printed under [pools] */
        const char *dot = strchr(k->name, '.');
        if (strncmp(sec, k->name, (size_t)(dot - k->name)) || sec[dot - k->name]) {
            static char buf[32];
            snprintf(buf, sizeof buf, "%.*s", (int)(dot - k->name), k->name);
            sec = buf;
            fprintf(out, "%s[%s]\n", i ? "\n" : "", sec);
        }
        fprintf(out, "# %s\n", k->doc);
        if (k->kind == K_STR || k->kind == K_CIDRS)
            fprintf(out, "%s = %s\n", dot + 1,
                    !strcmp(k->name, "db.password") && *(const char *)((const char *)c + k->off)
                        ? "********" : (const char *)c + k->off);
        else
            fprintf(out, "%s = %d\n", dot + 1, *(const int *)((const char *)c + k->off));
    }
}

/* kc_load: the delivery benchmark's load generator (docs/BENCHMARKS.md, bench=delivery).
 *
 *   kc_load --port PORT --candidates FILE [--count N] [--duration S] [--server-pid PID]
 *           [--acked PREFIX] [options]
 *
 * N candidates of FILE (准考证号,身份证号,... as for `session add-candidates`) log in over
 * the real protocol, all send `start` at one instant, then answer every 10 s and heartbeat
 * every 5 s (each with its own phase) for S seconds; then every connection is closed within
 * a second and opened again (resume, start) within the next few seconds; a short steady
 * phase follows, then the acks still due are awaited. Connections come from 127.0.0.2,
 * 127.0.0.3, ... (at most --per-addr each); above --per-process candidates the work is
 * split over several processes, which report to this one over pipes.
 *
 * With --server-pid it reads the server's CPU time (the whole process, and the service
 * thread: the main thread, /proc/PID/task/PID/stat) over the steady window and its VmRSS
 * before any connection and at the end of the steady phase. Each process writes the
 * highest applied-acknowledged seq per (ticket, item) with its response to PREFIX.K.tsv
 * for the database check of tests/load/run-delivery.sh.
 *
 * The last line of output is "delivery: key=value ..." (run-delivery.sh adds missing=). */
#include "ld.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define SEC 1000000000ull
#define MAX_PROCS 16

static const char USAGE[] =
    "usage: kc_load --port PORT --candidates FILE [--count N] [--duration S] [--server-pid PID]\n"
    "               [--acked PREFIX] [--host 127.0.0.1] [--src 127.0.0.2] [--per-addr 200]\n"
    "               [--per-process 8000] [--ramp 2000] [--answer-every 10] [--heartbeat-every 5]\n"
    "               [--tail 15] [--drain 30] [--errors 5] [--no-seal]\n";

static int num(const char *flag, const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double x = v ? strtod(v, &end) : 0;
    if (!v || errno || *end || x < lo || x > hi) {
        fprintf(stderr, "kc_load: %s: expected a number from %g to %g\n", flag, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

/* 准考证号 and 身份证号 of the first n rows; both must be plain [0-9A-Za-z] (they are put
 * into JSON and the TSV as they are). */
static ld_cand_id *read_candidates(const char *path, size_t want, size_t *got)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "kc_load: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    ld_cand_id *ids = calloc(want, sizeof *ids);
    char line[1024];
    size_t n = 0;
    int lineno = 0;
    while (ids && n < want && fgets(line, sizeof line, f)) {
        if (++lineno == 1) continue;                     /* the header */
        char *t = line, *comma = strchr(t, ','), *id = comma ? comma + 1 : NULL;
        size_t tl = comma ? (size_t)(comma - t) : 0, il = id ? strcspn(id, ",\r\n") : 0;
        int ok = tl > 0 && tl < sizeof ids->ticket && il > 0 && il < sizeof ids->id_number;
        for (size_t i = 0; ok && i < tl; i++) ok = isalnum((unsigned char)t[i]) != 0;
        for (size_t i = 0; ok && i < il; i++) ok = isalnum((unsigned char)id[i]) != 0;
        if (!ok) {
            fprintf(stderr, "kc_load: %s:%d: expected 准考证号,身份证号,... of letters and digits\n", path, lineno);
            free(ids);
            fclose(f);
            return NULL;
        }
        memcpy(ids[n].ticket, t, tl);
        memcpy(ids[n].id_number, id, il);
        n++;
    }
    fclose(f);
    if (!ids) fprintf(stderr, "kc_load: out of memory\n");
    *got = n;
    return ids;
}

/* ---- the server's /proc ---- */

/* utime + stime in clock ticks of /proc/PID/stat or /proc/PID/task/TID/stat. */
static int proc_ticks(const char *path, uint64_t *ticks)
{
    char buf[1024];
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    /* after "pid (comm)": state is field 3, utime 14, stime 15 */
    unsigned long long ut = 0, st = 0;
    int field = 2;
    for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " ")) {
        field++;
        if (field == 14) ut = strtoull(tok, NULL, 10);
        if (field == 15) {
            st = strtoull(tok, NULL, 10);
            break;
        }
    }
    if (field != 15) return -1;
    *ticks = ut + st;
    return 0;
}

static long proc_rss_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

/* proc: the whole server's CPU in clock ticks; svc: its service thread's (the main
 * thread) in ns, from schedstat (clock ticks of 10 ms are too coarse for a thread that
 * runs a few ms a second), else from its stat. */
typedef struct {
    uint64_t at, proc, svc;
    long rss;
} sample;

static int thread_ns(int pid, uint64_t *ns)
{
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task/%d/schedstat", pid, pid);
    FILE *f = fopen(path, "r");
    unsigned long long v;
    int ok = f && fscanf(f, "%llu", &v) == 1;
    if (f) fclose(f);
    if (ok) {
        *ns = v;
        return 0;
    }
    uint64_t ticks;
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, pid);
    if (proc_ticks(path, &ticks)) return -1;
    *ns = (uint64_t)((double)ticks * 1e9 / (double)sysconf(_SC_CLK_TCK));
    return 0;
}

static int take(int pid, sample *s)
{
    char p1[64];
    snprintf(p1, sizeof p1, "/proc/%d/stat", pid);
    s->at = ld_now_ns();
    s->rss = proc_rss_kb(pid);
    return proc_ticks(p1, &s->proc) || thread_ns(pid, &s->svc) || s->rss < 0 ? -1 : 0;
}

/* ---- the worker processes ---- */

typedef struct {
    pid_t pid;
    int cmd, rep, ready, reported;
    ld_ready rd;
    ld_report r;
} proc;

static proc P[MAX_PROCS];
static int NP;

static int read_full(int fd, void *p, size_t n)
{
    char *s = p;
    while (n) {
        ssize_t r = read(fd, s, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        s += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Reads what the workers say until every one has said `kind` or deadline (monotonic ns)
 * passes; a worker that ends without saying it is a failure. Returns 0 when all did. */
static int wait_for(uint32_t kind, uint64_t deadline)
{
    for (;;) {
        int left = 0;
        struct pollfd pf[MAX_PROCS];
        for (int i = 0; i < NP; i++) {
            int done = kind == LD_P_READY ? P[i].ready : P[i].reported;
            pf[i].fd = done || P[i].rep < 0 ? -1 : P[i].rep;
            pf[i].events = POLLIN;
            left += pf[i].fd >= 0;
        }
        if (!left) {
            for (int i = 0; i < NP; i++)
                if (!(kind == LD_P_READY ? P[i].ready : P[i].reported)) return -1;
            return 0;
        }
        uint64_t now = ld_now_ns();
        if (now >= deadline) return -1;
        uint64_t ms = (deadline - now) / 1000000 + 1;
        int k = poll(pf, (nfds_t)NP, (int)(ms > 1000 ? 1000 : ms));
        if (k < 0 && errno != EINTR) return -1;
        for (int i = 0; i < NP && k > 0; i++) {
            if (!pf[i].revents) continue;
            uint32_t got;
            if (read_full(P[i].rep, &got, sizeof got)) {
                fprintf(stderr, "kc_load: worker %d (pid %d) ended without reporting\n", i, (int)P[i].pid);
                close(P[i].rep);
                P[i].rep = -1;
                continue;
            }
            if (got == LD_P_READY) {
                P[i].rd.kind = got;
                if (read_full(P[i].rep, &P[i].rd.logged_in, sizeof P[i].rd - sizeof got)) P[i].rep = -1;
                else P[i].ready = 1;
            } else if (got == LD_P_REPORT) {
                if (read_full(P[i].rep, &P[i].r, sizeof P[i].r)) P[i].rep = -1;
                else P[i].reported = 1;
            } else {
                fprintf(stderr, "kc_load: worker %d sent %u\n", i, got);
                P[i].rep = -1;
            }
        }
    }
}

static void kill_workers(void)
{
    for (int i = 0; i < NP; i++)
        if (P[i].pid > 0) kill(P[i].pid, SIGKILL);
}

/* Sleeps until t (monotonic ns), noticing a worker that ends early. */
static int sleep_until(uint64_t t)
{
    for (;;) {
        uint64_t now = ld_now_ns();
        if (now >= t) return 0;
        struct pollfd pf[MAX_PROCS];
        for (int i = 0; i < NP; i++) {
            pf[i].fd = P[i].rep;
            pf[i].events = POLLIN;
        }
        uint64_t ms = (t - now) / 1000000 + 1;
        int k = poll(pf, (nfds_t)NP, (int)(ms > 1000 ? 1000 : ms));
        if (k > 0) {
            for (int i = 0; i < NP; i++)
                if (pf[i].revents) {
                    fprintf(stderr, "kc_load: worker %d (pid %d) stopped before the end\n", i, (int)P[i].pid);
                    return -1;
                }
        }
    }
}

static double ms(uint64_t us) { return (double)us / 1000.0; }

int main(int argc, char **argv)
{
    const char *candfile = NULL, *acked = "kc_load-acked", *host = "127.0.0.1", *src = "127.0.0.2";
    double port = 0, count = 0, duration = 120, spid = 0, per_addr = 200, per_proc = 8000, ramp = 2000,
           ans_every = 10, hb_every = 5, tail = 15, drain = 30, verbose = 5;
    int seal = 1;        /* each candidate fetches its sealed paper after login, as the page does */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(a, "--candidates")) candfile = v;
        else if (!strcmp(a, "--acked")) acked = v;
        else if (!strcmp(a, "--host")) host = v;
        else if (!strcmp(a, "--src")) src = v;
        else if (!strcmp(a, "--port")) bad = num(a, v, 1, 65535, &port);
        else if (!strcmp(a, "--count")) bad = num(a, v, 1, 200000, &count);
        else if (!strcmp(a, "--duration")) bad = num(a, v, 10, LD_TIMELINE - 100, &duration);
        else if (!strcmp(a, "--server-pid")) bad = num(a, v, 1, 1e9, &spid);
        else if (!strcmp(a, "--per-addr")) bad = num(a, v, 1, 60000, &per_addr);
        else if (!strcmp(a, "--per-process")) bad = num(a, v, 1, 19000, &per_proc);
        else if (!strcmp(a, "--ramp")) bad = num(a, v, 1, 100000, &ramp);
        else if (!strcmp(a, "--answer-every")) bad = num(a, v, 0.1, 3600, &ans_every);
        else if (!strcmp(a, "--heartbeat-every")) bad = num(a, v, 0.1, 3600, &hb_every);
        else if (!strcmp(a, "--tail")) bad = num(a, v, 0, 3600, &tail);
        else if (!strcmp(a, "--drain")) bad = num(a, v, 1, 3600, &drain);
        else if (!strcmp(a, "--errors")) bad = num(a, v, 0, 1e6, &verbose);
        else if (!strcmp(a, "--no-seal")) { seal = 0; continue; }
        else {
            fputs(USAGE, stderr);
            return 2;
        }
        if (bad || !v) {
            if (!v) fprintf(stderr, "kc_load: %s needs a value\n", a);
            return 2;
        }
        i++;
    }
    struct in_addr sa;
    if (duration != (int)duration) {
        fprintf(stderr, "kc_load: --duration: whole seconds\n");
        return 2;
    }
    if (!candfile || !port || inet_pton(AF_INET, src, &sa) != 1) {
        fputs(USAGE, stderr);
        return 2;
    }
    size_t want = count ? (size_t)count : 200000, n = 0;
    ld_cand_id *ids = read_candidates(candfile, want, &n);
    if (!ids) return 1;
    if (!n || (count && n < want)) {
        fprintf(stderr, "kc_load: %s has %zu candidates, %zu wanted\n", candfile, n, want);
        return 1;
    }

    /* Every socket is a file: up to the hard limit, which this process cannot raise. */
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    int np = (int)((n + (size_t)per_proc - 1) / (size_t)per_proc);
    size_t per = (n + (size_t)np - 1) / (size_t)np;
    if (np > MAX_PROCS || per + 64 > rl.rlim_cur) {
        fprintf(stderr, "kc_load: %zu candidates need %d processes of %zu sockets (open-file limit %llu, at most %d processes): raise --per-process or lower --count\n",
                n, np, per, (unsigned long long)rl.rlim_cur, MAX_PROCS);
        return 1;
    }
    uint32_t src0 = ntohl(sa.s_addr);
    uint32_t naddr = (uint32_t)((n + (size_t)per_addr - 1) / (size_t)per_addr);
    if ((src0 >> 24) != 127 || ((src0 + naddr - 1) >> 24) != 127) {
        fprintf(stderr, "kc_load: --src %s: the %u source addresses must stay in 127.0.0.0/8\n", src, naddr);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    int pid = (int)spid, dur = (int)duration;
    double tck = (double)sysconf(_SC_CLK_TCK);
    /* The server before any connection: its RSS, and what its service thread costs idle
     * (timers, lws's periodic checks) over two seconds. */
    sample before = {0}, idle = {0};
    if (pid && (take(pid, &before) || (usleep(2000000), take(pid, &idle)))) {
        fprintf(stderr, "kc_load: --server-pid %d: cannot read /proc/%d\n", pid, pid);
        return 1;
    }
    double svc_idle_ms_s = pid ? (double)(idle.svc - before.svc) / 1e6 / ((double)(idle.at - before.at) / 1e9) : 0;

    char a0[INET_ADDRSTRLEN], a1[INET_ADDRSTRLEN];
    struct in_addr last = {htonl(src0 + naddr - 1)};
    inet_ntop(AF_INET, &sa, a0, sizeof a0);
    inet_ntop(AF_INET, &last, a1, sizeof a1);
    printf("kc_load: %zu candidates in %d process%s, source addresses %s .. %s (%g each at most), %g connections/s\n",
           n, np, np == 1 ? "" : "es", a0, a1, per_addr, ramp);
    fflush(stdout);

    /* Everything ends by itself: a worker gives up at hard_deadline, the parent shortly after. */
    double reopen_s = (double)n / ramp;
    if (reopen_s < 1) reopen_s = 1;
    if (reopen_s > 8) reopen_s = 8;
    double login_budget = (double)n / ramp + 120;
    uint64_t t0 = ld_now_ns();
    uint64_t hard = t0 + (uint64_t)((login_budget + 2 + dur + 1 + reopen_s + tail + drain + 60) * 1e9);

    ld_conf conf = {host, (int)port, src0, (int)per_addr, ramp / np, NULL, (int)verbose,
                    (uint64_t)(ans_every * 1e9), (uint64_t)(hb_every * 1e9), hard, seal};
    for (int i = 0; i < np; i++) {
        int cmd[2], rep[2];
        if (pipe(cmd) || pipe(rep)) {
            perror("kc_load: pipe");
            kill_workers();
            return 1;
        }
        size_t lo = (size_t)i * per, hi = lo + per < n ? lo + per : n;
        char path[4096];
        snprintf(path, sizeof path, "%s.%d.tsv", acked, i);
        fflush(NULL);
        pid_t c = fork();
        if (c < 0) {
            perror("kc_load: fork");
            kill_workers();
            return 1;
        }
        if (c == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);        /* never outlive the parent */
            close(cmd[1]);
            close(rep[0]);
            for (int k = 0; k < i; k++) {
                close(P[k].cmd);
                close(P[k].rep);
            }
            conf.acked_path = path;
            _exit(ld_worker_run(&conf, ids + lo, hi - lo, lo, cmd[0], rep[1]));
        }
        close(cmd[0]);
        close(rep[1]);
        memset(&P[i], 0, sizeof P[i]);
        P[i].pid = c;
        P[i].cmd = cmd[1];
        P[i].rep = rep[0];
        NP++;
    }

    if (wait_for(LD_P_READY, t0 + (uint64_t)(login_budget * 1e9))) {
        fprintf(stderr, "kc_load: not every process had its candidates logged in after %.0f s\n", login_budget);
        kill_workers();
        return 1;
    }
    uint64_t logged = 0, sealed = 0;
    for (int i = 0; i < NP; i++) logged += P[i].rd.logged_in, sealed += P[i].rd.sealed;
    uint64_t tr = ld_now_ns();
    printf("kc_load: %llu of %zu candidates logged in%s", (unsigned long long)logged, n, seal ? ", " : "");
    if (seal) printf("%llu with their sealed paper,", (unsigned long long)sealed);
    printf(" after %.1f s\n", (double)(tr - t0) / 1e9);
    if (!logged) {
        fprintf(stderr, "kc_load: no candidate could log in; stopping\n");
        kill_workers();
        return 1;
    }

    ld_sched s;
    s.start = tr + 2 * SEC;
    s.reconnect = s.start + (uint64_t)dur * SEC;
    s.close_spread = SEC;
    s.reopen_spread = (uint64_t)(reopen_s * 1e9);
    s.end = s.reconnect + s.close_spread + s.reopen_spread + (uint64_t)(tail * 1e9);
    s.drain = (uint64_t)(drain * 1e9);
    printf("kc_load: start in 2 s; steady phase %d s; then every connection closed within 1 s and opened "
           "again within %.1f s; the end %.1f s after the start\n", dur, reopen_s, (double)(s.end - s.start) / 1e9);
    fflush(stdout);
    for (int i = 0; i < NP; i++)
        if (write(P[i].cmd, &s, sizeof s) != (ssize_t)sizeof s) {
            perror("kc_load: schedule");
            kill_workers();
            return 1;
        }

    /* The server once a second from the start to the end of the steady phase (the last
     * sample just before the connections are closed). */
    sample *tl = calloc((size_t)dur + 1, sizeof *tl);
    long rss_peak = 0;
    int failed = !tl;
    for (int k = 0; k <= dur && !failed && pid; k++) {
        uint64_t at = k < dur ? s.start + (uint64_t)k * SEC : s.reconnect - SEC / 20;
        if (sleep_until(at)) failed = 1;
        else if (take(pid, &tl[k])) {
            fprintf(stderr, "kc_load: the server (pid %d) is gone\n", pid);
            failed = 1;
        } else if (tl[k].rss > rss_peak) {
            rss_peak = tl[k].rss;
        }
    }
    if (failed || wait_for(LD_P_REPORT, s.end + s.drain + 60 * SEC)) {
        fprintf(stderr, "kc_load: not every process reported\n");
        kill_workers();
        return 1;
    }
    int bad_exit = 0;
    for (int i = 0; i < NP; i++) {
        int st;
        waitpid(P[i].pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st)) bad_exit = 1;
    }

    ld_report t;
    memset(&t, 0, sizeof t);
    for (int i = 0; i < NP; i++) {
        ld_report *r = &P[i].r;
        ld_hist_merge(&t.ack, &r->ack);
        ld_hist_merge(&t.ack_steady, &r->ack_steady);
        ld_hist_merge(&t.start, &r->start);
        ld_hist_merge(&t.resume, &r->resume);
        ld_hist_merge(&t.open, &r->open);
        ld_hist_merge(&t.ack_early, &r->ack_early);
        ld_hist_merge(&t.ack_late, &r->ack_late);
        /* the counters, candidates .. cpu_us, are consecutive uint64_t */
        uint64_t *a = &t.candidates, *b = &r->candidates;
        for (size_t k = 0; k < (offsetof(ld_report, err) - offsetof(ld_report, candidates)) / sizeof(uint64_t); k++)
            a[k] += b[k];
        for (int k = 0; k < LD_ERR_CODES; k++)
            if (r->err[k].n) ld_err_count(t.err, r->err[k].code, r->err[k].n);
        for (int k = 0; k < LD_TIMELINE; k++) t.sent_at[k] += r->sent_at[k];
    }
    t.last_paper_ns = t.longest_pass_ns = 0;        /* maxima, not the sums above */
    for (int i = 0; i < NP; i++) {
        if (P[i].r.last_paper_ns > t.last_paper_ns) t.last_paper_ns = P[i].r.last_paper_ns;
        if (P[i].r.longest_pass_ns > t.longest_pass_ns) t.longest_pass_ns = P[i].r.longest_pass_ns;
    }

    /* The steady window: from a quarter of the steady phase, or two seconds after the last
     * first paper arrived if that is later (the start burst is not steady), to its end; at
     * least its last quarter, which is also the window when the burst never ended. */
    int burst_done = t.papers_early >= t.started;
    int burst = (int)((t.last_paper_ns + SEC - 1) / SEC);
    int k0 = (dur + 3) / 4;
    if (!burst_done) k0 = dur - dur / 4;
    else if (burst + 2 > k0) k0 = burst + 2;
    if (k0 > dur - dur / 4) k0 = dur - dur / 4;
    uint64_t msgs = 0;
    for (int k = k0; k < dur; k++) msgs += t.sent_at[k];
    double win_s = dur - k0;
    double cpu_pct = 0, svc_ms = 0, rss_per = 0, burst_cpu = 0;
    if (pid) {
        sample *w0 = &tl[k0], *w1 = &tl[dur];
        double wall = (double)(w1->at - w0->at) / 1e9;
        cpu_pct = wall > 0 ? (double)(w1->proc - w0->proc) / tck / wall * 100 : 0;
        svc_ms = msgs ? (double)(w1->svc - w0->svc) / 1e6 / ((double)msgs / 1000) : 0;
        rss_per = (double)(w1->rss - before.rss) / (double)n;
        int kb = burst_done && burst < dur ? (burst > 0 ? burst : 1) : dur;
        burst_cpu = (double)(tl[kb].proc - tl[0].proc) / tck / ((double)(tl[kb].at - tl[0].at) / 1e9) * 100;
    }
    double run_s = (double)(ld_now_ns() - t0) / 1e9;

    printf("kc_load: requests %llu (answers %llu, heartbeats %llu, answers sent again after the reconnect %llu), "
           "server messages %llu; acks %llu (applied %llu, superseded %llu); pings answered %llu; "
           "answers skipped because 16 were awaiting their ack %llu\n",
           (unsigned long long)t.sent, (unsigned long long)t.answers, (unsigned long long)t.heartbeats,
           (unsigned long long)t.resent, (unsigned long long)t.recv, (unsigned long long)t.acks,
           (unsigned long long)t.acks_applied, (unsigned long long)t.acks_superseded,
           (unsigned long long)t.pings, (unsigned long long)t.backlog_skips);
    if (burst_done)
        printf("kc_load: start burst: %llu first papers, the last %.1f s after the start, server CPU %.0f %% meanwhile; "
               "steady window %d .. %d s (%llu requests)\n",
               (unsigned long long)t.papers_early, (double)t.last_paper_ns / 1e9, burst_cpu, k0, dur,
               (unsigned long long)msgs);
    else
        printf("kc_load: start burst: only %llu of %llu first papers came before the reconnect (server CPU %.0f %% "
               "meanwhile): no steady state; the window is the last quarter, %d .. %d s (%llu requests)\n",
               (unsigned long long)t.papers_early, (unsigned long long)t.started, burst_cpu, k0, dur,
               (unsigned long long)msgs);
    printf("kc_load: latency ms: ack n=%llu mean %.1f; ack in the steady window n=%llu p50 %.1f p95 %.1f "
           "p99 %.1f max %.1f; start n=%llu p50 %.1f p95 %.1f max %.1f; resume n=%llu p50 %.1f p95 %.1f max %.1f\n",
           (unsigned long long)t.ack.n, t.ack.n ? ms(t.ack.sum_us / t.ack.n) : 0, (unsigned long long)t.ack_steady.n,
           ms(ld_hist_pct(&t.ack_steady, 50)), ms(ld_hist_pct(&t.ack_steady, 95)),
           ms(ld_hist_pct(&t.ack_steady, 99)), ms(t.ack_steady.max_us), (unsigned long long)t.start.n,
           ms(ld_hist_pct(&t.start, 50)), ms(ld_hist_pct(&t.start, 95)), ms(t.start.max_us),
           (unsigned long long)t.resume.n, ms(ld_hist_pct(&t.resume, 50)), ms(ld_hist_pct(&t.resume, 95)),
           ms(t.resume.max_us));
    printf("kc_load: ack ms by when the answer was sent: before the steady window (the start burst) n=%llu "
           "p50 %.1f p99 %.1f max %.1f; in it n=%llu p99 %.1f; from the reconnect on n=%llu p50 %.1f p99 %.1f max %.1f\n",
           (unsigned long long)t.ack_early.n, ms(ld_hist_pct(&t.ack_early, 50)), ms(ld_hist_pct(&t.ack_early, 99)),
           ms(t.ack_early.max_us), (unsigned long long)t.ack_steady.n, ms(ld_hist_pct(&t.ack_steady, 99)),
           (unsigned long long)t.ack_late.n, ms(ld_hist_pct(&t.ack_late, 50)), ms(ld_hist_pct(&t.ack_late, 99)),
           ms(t.ack_late.max_us));
    printf("kc_load: the generator's longest pass over ready events or due timers (it reads nothing meanwhile), from the start "
           "to the reconnect: %.1f ms\n", (double)t.longest_pass_ns / 1e6);
    if (t.open.n)
        printf("kc_load: sealed papers opened with the start's key (decrypt and read, the page's own work, "
               "done when the candidate first needs its items): n=%llu p50 %.2f p99 %.2f max %.2f ms\n",
               (unsigned long long)t.open.n, ms(ld_hist_pct(&t.open, 50)), ms(ld_hist_pct(&t.open, 99)),
               ms(t.open.max_us));
    printf("kc_load: server RSS kB: before %ld, end of steady phase %ld, peak %ld; service thread idle %.2f ms/s; "
           "generator CPU %.1f s (%.0f %% of one core over %.0f s); traffic in %.1f MB, out %.1f MB\n",
           before.rss, pid ? tl[dur].rss : 0, rss_peak, svc_idle_ms_s, (double)t.cpu_us / 1e6,
           (double)t.cpu_us / 1e4 / run_s, run_s, (double)t.bytes_in / 1e6, (double)t.bytes_out / 1e6);
    if (t.errors) {
        printf("kc_load: errors by code:");
        for (int k = 0; k < LD_ERR_CODES; k++)
            if (t.err[k].n) printf(" %s=%llu", t.err[k].code, (unsigned long long)t.err[k].n);
        printf("\n");
    }
    if (t.unfinished)
        printf("kc_load: %llu starts or resumes had no paper when the steady phase or the run ended (errors "
               "no_paper; their time so far is in the histograms, so those percentiles are lower bounds)\n",
               (unsigned long long)t.unfinished);
    if (t.papers < logged)
        printf("kc_load: %llu of %llu logged-in candidates never got a paper\n",
               (unsigned long long)(logged - t.papers), (unsigned long long)logged);
    /* ack_*: every answer of the run, the start burst and the mass reconnect included;
     * ack_steady_p99_ms: those of the steady window */
    printf("delivery: candidates=%zu connections=%llu msgs_per_s=%.0f ack_p50_ms=%.1f ack_p95_ms=%.1f "
           "ack_p99_ms=%.1f ack_max_ms=%.1f ack_steady_p99_ms=%.1f start_p50_ms=%.1f start_p99_ms=%.1f "
           "resume_p99_ms=%.1f errors=%llu server_cpu_pct=%.0f svc_cpu_ms_per_1k_msgs=%.1f rss_per_candidate_kb=%.1f\n",
           n, (unsigned long long)t.connections, win_s > 0 ? (double)msgs / win_s : 0,
           ms(ld_hist_pct(&t.ack, 50)), ms(ld_hist_pct(&t.ack, 95)), ms(ld_hist_pct(&t.ack, 99)),
           ms(t.ack.max_us), ms(ld_hist_pct(&t.ack_steady, 99)), ms(ld_hist_pct(&t.start, 50)), ms(ld_hist_pct(&t.start, 99)),
           ms(ld_hist_pct(&t.resume, 99)), (unsigned long long)t.errors, cpu_pct, svc_ms, rss_per);
    free(tl);
    free(ids);
    return bad_exit;
}

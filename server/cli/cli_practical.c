/* `kaochang session practical|schedule`: the practical part (技能考核) of a session — which
 * task each candidate performs at which station (工位) in which time slot — and the
 * printable schedules for examiners and candidates. The arguments and what is printed are
 * here; the plan (bank_practical_assign), its storage (bank_practical_store) and the
 * schedules (bank_practical_schedule) are bank/'s. */
#include "cli.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

const char cli_practical_help[] =
    "Usage: kaochang session practical SESSION (--tasks UID,UID,... | --occupation CODE [--level L])\n"
    "                               --stations N|CODE,CODE,... [--tasks-per-candidate K]\n"
    "                               [--start WHEN] [--slot D] [--changeover D] [--seed N]\n"
    "       kaochang session schedule SESSION --for examiners|candidates\n"
    "                               [--format text|csv|html] [--out FILE] [--utc-offset H]\n\n"
    "practical assigns every candidate of the session (by 准考证号) K different practical\n"
    "tasks (实操题), a station (工位) and a time slot per task (docs/PRACTICAL.md). With fewer\n"
    "stations than candidates the candidates go in waves: ceil(candidates / stations) slots\n"
    "per task; candidate i is at station i mod S in every round. Neighbouring stations get\n"
    "different tasks and every task is used about equally often, drawn from the seed.\n"
    "  --tasks UIDS      the task pool: approved practical items by 试题编号\n"
    "  --occupation CODE every approved practical item of the occupation (and --level)\n"
    "  --stations N      N stations named 工位01, 工位02, ...; or a list of station codes,\n"
    "                    in the order they stand (neighbours are next to each other)\n"
    "  --tasks-per-candidate K   default 1\n"
    "  --start WHEN      slot 1 starts: 2026-12-05T01:00Z (UTC), +2h, now (default: the\n"
    "                    session's opening time)\n"
    "  --slot D          slot length, e.g. 2h or 120m (default: the longest task + changeover)\n"
    "  --changeover D    time between a task's end and the next slot (default 10m)\n"
    "  --seed N          default: the stored seed, else a random one (printed)\n"
    "  Running it again replaces the whole assignment in one transaction (there is no\n"
    "  'started' state for the practical part yet). Options left out keep the values of the\n"
    "  last run (the task pool as the same item versions), so a re-run with the same\n"
    "  settings gives the same plan, and a re-run after add-candidates places everyone anew.\n"
    "schedule prints the plan: --for examiners lists per station each slot with time,\n"
    "  准考证号, name and task; --for candidates lists per candidate station, time, task and\n"
    "  equipment. html is a printable A4 page (a page per station for examiners). Times are\n"
    "  UTC unless --utc-offset (e.g. 8 for Beijing time) is given.\n";

/* ---- options ---- */

struct popt { const char *name; const char **value; };

static int parse(const char *cmd, struct popt *o, int argc, char **argv, const char **session)
{
    *session = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2)) {
            if (*session) {
                fprintf(stderr, "kaochang session %s: unexpected argument \"%s\" (see --help)\n", cmd, a);
                return 2;
            }
            *session = a;
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t n = eq ? (size_t)(eq - a) : strlen(a);
        struct popt *p = o;
        while (p->name && (strlen(p->name) != n || strncmp(p->name, a, n))) p++;
        if (!p->name) {
            fprintf(stderr, "kaochang session %s: unknown option %.*s (see --help)\n", cmd, (int)n, a);
            return 2;
        }
        if (eq) *p->value = eq + 1;
        else if (i + 1 < argc) *p->value = argv[++i];
        else {
            fprintf(stderr, "kaochang session %s: %s needs a value\n", cmd, p->name);
            return 2;
        }
    }
    if (!*session) {
        fprintf(stderr, "kaochang session %s: expected the session code (see --help)\n", cmd);
        return 2;
    }
    return 0;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* A duration in whole minutes ("2h", "90m", "1h30m"). */
static int parse_minutes(const char *s, int *out)
{
    int64_t sec;
    if (kc_parse_duration(s, &sec) || sec < 0 || sec % 60 || sec > 24 * 3600) return -1;
    *out = (int)(sec / 60);
    return 0;
}

/* ---- the session ---- */

static int load_session(kc_db *db, const char *cmd, const char *code, bank_practical_session *s)
{
    int rc = bank_practical_session_load(db, code, s);
    if (!rc) return 0;
    fprintf(stderr, "kaochang session %s: %s: %s\n", cmd, code,
            rc == KC_ENOTFOUND ? "no such session" : db->err);
    return 1;
}

/* Station codes: a number N gives 工位01..工位N; else a comma-separated list. */
static int stations_from_arg(kc_arena *a, const char *arg, char ***codes, size_t *n)
{
    long count;
    *n = 0;
    if (!parse_int(arg, 1, 999, &count)) {
        *codes = kc_arena_alloc(a, (size_t)count * sizeof **codes);
        if (!*codes) return -1;
        for (long i = 0; i < count; i++)
            (*codes)[i] = kc_arena_printf(a, count > 99 ? "工位%03ld" : "工位%02ld", i + 1);
        *n = (size_t)count;
        return 0;
    }
    size_t cap = 1;
    for (const char *p = arg; *p; p++) cap += *p == ',';
    *codes = kc_arena_alloc(a, cap * sizeof **codes);
    char *list = kc_arena_strdup(a, arg), *save = NULL;
    if (!*codes || !list) return -1;
    for (char *c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
        while (*c == ' ') c++;
        char *e = c + strlen(c);
        while (e > c && e[-1] == ' ') *--e = 0;
        if (!*c || strlen(c) > 32) {
            fprintf(stderr, "kaochang session practical: --stations: a station code has 1 to 32 bytes, got \"%s\"\n", c);
            return 1;
        }
        for (size_t i = 0; i < *n; i++)
            if (!strcmp((*codes)[i], c)) {
                fprintf(stderr, "kaochang session practical: --stations: %s is listed twice\n", c);
                return 1;
            }
        (*codes)[(*n)++] = c;
    }
    if (!*n) {
        fprintf(stderr, "kaochang session practical: --stations: expected a number or station codes\n");
        return 1;
    }
    return 0;
}

/* The --tasks list: UIDs separated by commas (spaces before each ignored), in a. */
static int split_uids(kc_arena *a, const char *arg, const char ***uids, size_t *n)
{
    size_t cap = 1;
    for (const char *p = arg; *p; p++) cap += *p == ',';
    char *list = kc_arena_strdup(a, arg), *save = NULL;
    *uids = kc_arena_alloc(a, cap * sizeof **uids);
    *n = 0;
    if (!list || !*uids) return -1;
    for (char *u = strtok_r(list, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
        while (*u == ' ') u++;
        (*uids)[(*n)++] = u;
    }
    return 0;
}

static int practical(srv_config *cfg, int argc, char **argv)
{
    const char *code, *tasks = NULL, *occ = NULL, *level_s = NULL, *stations_s = NULL,
               *k_s = NULL, *start_s = NULL, *slot_s = NULL, *change_s = NULL, *seed_s = NULL;
    struct popt o[] = {{"--tasks", &tasks}, {"--occupation", &occ}, {"--level", &level_s},
                       {"--stations", &stations_s}, {"--tasks-per-candidate", &k_s},
                       {"--start", &start_s}, {"--slot", &slot_s}, {"--changeover", &change_s},
                       {"--seed", &seed_s}, {NULL, NULL}};
    int rc = parse("practical", o, argc, argv, &code);
    if (rc) return rc;
    long level = 0, k = 0;
    int slot = -1, change = -1;
    int64_t start = 0;
    uint64_t seed = 0;
    if (tasks && occ) {
        fprintf(stderr, "kaochang session practical: give --tasks or --occupation, not both\n");
        return 2;
    }
    if (level_s && (!occ || (level = bank_level_parse(level_s)) < 1)) {
        fprintf(stderr, "kaochang session practical: --level: %s\n",
                !occ ? "goes with --occupation" : "expected 1..5 (or 四级, 中级工, ...)");
        return 2;
    }
    if (occ && !bank_occupation_code_valid(occ)) {
        fprintf(stderr, "kaochang session practical: --occupation: expected a code like 4-04-04-02, got \"%s\"\n", occ);
        return 2;
    }
    if (k_s && parse_int(k_s, 1, 20, &k)) {
        fprintf(stderr, "kaochang session practical: --tasks-per-candidate: expected 1..20, got \"%s\"\n", k_s);
        return 2;
    }
    if (slot_s && (parse_minutes(slot_s, &slot) || slot < 1)) {
        fprintf(stderr, "kaochang session practical: --slot: expected whole minutes, e.g. 2h or 120m, got \"%s\"\n", slot_s);
        return 2;
    }
    if (change_s && parse_minutes(change_s, &change)) {
        fprintf(stderr, "kaochang session practical: --changeover: expected whole minutes, e.g. 10m or 0m, got \"%s\"\n", change_s);
        return 2;
    }
    if (start_s && kc_parse_time(start_s, kc_now_ms(), &start)) {
        fprintf(stderr, "kaochang session practical: --start: expected now, +DURATION or YYYY-MM-DDTHH:MM[:SS]Z, got \"%s\"\n", start_s);
        return 2;
    }
    if (seed_s) {
        char *end;
        errno = 0;
        seed = strtoull(seed_s, &end, 10);
        if (errno || end == seed_s || *end || *seed_s == '-') {
            fprintf(stderr, "kaochang session practical: --seed: expected a number, got \"%s\"\n", seed_s);
            return 2;
        }
    }

    kc_db db;
    if (cli_db_open(&db, cfg)) return 1;
    kc_arena *a = kc_arena_new(0);
    bank_practical_session s;
    rc = !a ? -1 : load_session(&db, "practical", code, &s);
    if (rc) goto out;

    /* stations */
    char **codes = NULL;
    size_t n_st = 0;
    if (stations_s) {
        rc = stations_from_arg(a, stations_s, &codes, &n_st);
        if (rc) goto out;
    } else {
        if ((rc = bank_practical_stations_load(&db, s.id, a, &codes, &n_st))) goto dberr;
        if (!n_st) {
            fprintf(stderr, "kaochang session practical: needs --stations (nothing stored yet)\n");
            rc = 1;
            goto out;
        }
    }

    /* the pool: --tasks, --occupation (+ --level) or the stored one */
    bank_practical_task *pool = NULL;
    size_t n_tasks = 0, n_uids = 0;
    const char **uids = NULL;
    char why[512];
    if (tasks && split_uids(a, tasks, &uids, &n_uids)) { rc = -1; goto dberr; }
    rc = bank_practical_pool_load(&db, s.id, uids, n_uids, occ, (int)level, a, &pool, &n_tasks,
                                  why, sizeof why);
    if (rc == KC_EINVAL) {
        fprintf(stderr, "kaochang session practical: --tasks: %s\n", why);
        rc = 1;
        goto out;
    }
    if (rc) goto dberr;
    if (!tasks && !n_tasks) {
        if (occ)
            fprintf(stderr, "kaochang session practical: --occupation: no approved practical tasks of %s%s\n",
                    occ, level ? " at that level" : "");
        else
            fprintf(stderr, "kaochang session practical: needs --tasks or --occupation (nothing stored yet)\n");
        rc = 1;
        goto out;
    }

    /* candidates, by ticket */
    bank_practical_candidate *cand = NULL;
    size_t n_cand = 0;
    if ((rc = bank_practical_candidates_load(&db, s.id, a, &cand, &n_cand))) goto dberr;
    if (!n_cand) {
        fprintf(stderr, "kaochang session practical: %s has no candidates (session add-candidates first)\n", code);
        rc = 1;
        goto out;
    }

    bank_practical_opts po = {
        .tasks_per_candidate = (int)(k ? k : s.tasks_each ? s.tasks_each : 1),
        .n_stations = (int)n_st,
        .start_ms = start_s ? start : s.start_ms ? s.start_ms : s.opens_ms,
        .slot_minutes = slot >= 0 ? slot : (int)s.slot_min,
        .changeover_minutes = change >= 0 ? change : s.has_change ? (int)s.change_min : 10,
        .seed = seed_s ? seed : s.seed,
    };
    if (!seed_s && !s.has_seed) {
        randombytes_buf(&po.seed, sizeof po.seed);
        po.seed &= 0x7FFFFFFFFFFFFFFFULL;   /* also fits tools that read it as signed */
    }
    bank_practical_plan plan;
    rc = bank_practical_assign(cand, n_cand, pool, n_tasks, &po, a, &plan, why, sizeof why);
    if (rc == KC_ENOMEM) {
        fprintf(stderr, "kaochang session practical: out of memory\n");
        rc = 1;
        goto out;
    }
    if (rc) {
        fprintf(stderr, "kaochang session practical: %s: %s; nothing was changed\n", code, why);
        rc = 1;
        goto out;
    }
    kc_diag d;
    kc_diag_init(&d, a);
    if (bank_practical_check(n_cand, pool, n_tasks, &po, &plan, &d)) {
        for (size_t i = 0; i < d.n; i++) fprintf(stderr, "kaochang session practical: internal: %s\n", d.lines[i]);
        rc = 1;
        goto out;
    }

    if ((rc = bank_practical_store(&db, s.id, codes, n_st, cand, pool, n_tasks, &po, &plan)))
        goto dberr;
    char t0[32], t1[32];
    kc_format_iso(po.start_ms, t0, sizeof t0);
    kc_format_iso(po.start_ms + (int64_t)plan.n_slots * plan.slot_minutes * 60000, t1, sizeof t1);
    printf("session %s practical part: %zu candidate%s, %d task%s each from %zu, %zu station%s,"
           " %d slot%s of %d min, %s .. %s, seed %llu\n",
           code, n_cand, n_cand == 1 ? "" : "s", plan.k, plan.k == 1 ? "" : "s", n_tasks, n_st,
           n_st == 1 ? "" : "s", plan.n_slots, plan.n_slots == 1 ? "" : "s", plan.slot_minutes, t0,
           t1, (unsigned long long)po.seed);
    rc = 0;
    goto out;
dberr:
    fprintf(stderr, "kaochang session practical: %s\n", db.err);
    rc = 1;
out:
    kc_arena_free(a);
    kc_db_close(&db);
    return rc ? 1 : 0;
}

/* ---- schedules ---- */

static int schedule(srv_config *cfg, int argc, char **argv)
{
    const char *code, *who = NULL, *format = "text", *out = NULL, *offset_s = NULL;
    struct popt o[] = {{"--for", &who}, {"--format", &format}, {"--out", &out},
                       {"--utc-offset", &offset_s}, {NULL, NULL}};
    int rc = parse("schedule", o, argc, argv, &code);
    if (rc) return rc;
    if (!who || (strcmp(who, "examiners") && strcmp(who, "candidates"))) {
        fprintf(stderr, "kaochang session schedule: --for must be examiners or candidates\n");
        return 2;
    }
    enum bank_schedule_format fmt;
    if (bank_schedule_format_parse(format, &fmt)) {
        fprintf(stderr, "kaochang session schedule: --format must be one of: text, csv, html\n");
        return 2;
    }
    int offset_min = 0;
    if (offset_s) {
        /* hours, optionally with minutes: 8, +8, -3:30, 5:45 */
        int sign = *offset_s == '-' ? -1 : 1;
        const char *p = offset_s + (*offset_s == '-' || *offset_s == '+');
        long h, m = 0;
        char hh[8] = "";
        const char *colon = strchr(p, ':');
        size_t hl = colon ? (size_t)(colon - p) : strlen(p);
        if (hl) snprintf(hh, sizeof hh, "%.*s", (int)(hl < 7 ? hl : 7), p);
        if (!hl || hl > 2 || parse_int(hh, 0, 14, &h) ||
            (colon && (strlen(colon + 1) != 2 || parse_int(colon + 1, 0, 59, &m)))) {
            fprintf(stderr, "kaochang session schedule: --utc-offset: expected hours like 8 or -3:30, got \"%s\"\n", offset_s);
            return 2;
        }
        offset_min = sign * (int)(h * 60 + m);
    }
    int examiners = !strcmp(who, "examiners");

    kc_db db;
    if (cli_db_open(&db, cfg)) return 1;
    kc_arena *a = kc_arena_new(0);
    bank_practical_session s;
    kc_buf text = {0};
    FILE *f = NULL;
    rc = !a ? -1 : load_session(&db, "schedule", code, &s);
    if (rc) goto done;
    bank_practical_entry *rows;
    size_t n;
    rc = bank_practical_entries_load(&db, s.id, examiners, a, &rows, &n);
    if (rc < 0) {
        fprintf(stderr, "kaochang session schedule: %s\n", db.err);
        rc = 1;
        goto done;
    }
    if (!n) {
        fprintf(stderr, "kaochang session schedule: %s has no practical assignment (run session practical first)\n", code);
        rc = 1;
        goto done;
    }
    if (bank_practical_schedule(&text, code, s.title, rows, n, examiners, fmt, offset_min)) {
        fprintf(stderr, "kaochang session schedule: out of memory\n");
        rc = 1;
        goto done;
    }
    f = out ? fopen(out, "w") : stdout;
    if (!f) {
        fprintf(stderr, "kaochang session schedule: %s: %s\n", out, strerror(errno));
        rc = 1;
        goto done;
    }
    size_t put = fwrite(text.p, 1, text.n, f);
    if (out) {
        if (fclose(f) || put != text.n) {
            fprintf(stderr, "kaochang session schedule: %s: %s\n", out, strerror(errno));
            rc = 1;
            goto done;
        }
        printf("%s: schedule for %s of session %s, %zu entr%s\n", out, who, code, n, n == 1 ? "y" : "ies");
        rc = 0;
    } else {
        rc = fflush(stdout) || put != text.n ? 1 : 0;
    }
done:
    kc_buf_free(&text);
    kc_arena_free(a);
    kc_db_close(&db);
    return rc ? 1 : 0;
}

int cli_practical(srv_config *cfg, int argc, char **argv)
{
    if (argc >= 1 && !strcmp(argv[0], "practical")) return practical(cfg, argc, argv);
    return schedule(cfg, argc, argv);
}

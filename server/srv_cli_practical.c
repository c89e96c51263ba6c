/* `kaochang session practical|schedule`: the practical part (技能考核) of a session — which
 * task each candidate performs at which station (工位) in which time slot
 * (bank_practical_assign), stored in practical_* (004_practical.sql), and the printable
 * schedules for examiners and candidates (text, CSV, or a self-contained HTML page). */
#include "srv_int.h"

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char srv__cli_practical_help[] =
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

/* ---- the session and what is stored ---- */

static const char SQL_SESSION[] =
    "SELECT id, title, opens_at, practical_seed IS NOT NULL, COALESCE(practical_seed, 0),"
    " practical_starts_at, COALESCE(practical_tasks_each, 0), COALESCE(practical_slot_min, 0),"
    " practical_change_min IS NOT NULL, COALESCE(practical_change_min, 0)"
    " FROM exam_session WHERE code = ?";
static const char SQL_STATIONS[] =
    "SELECT code, name FROM practical_station WHERE session_id = ? ORDER BY position";
static const char SQL_CANDIDATES[] =
    "SELECT a.id, a.ticket_no, c.name FROM attempt a JOIN candidate c ON c.id = a.candidate_id"
    " WHERE a.session_id = ? ORDER BY a.ticket_no";
/* Tasks as the plan needs them; spec is {"time_minutes","equipment","criteria"} (002). */
#define TASK_COLS                                                                            \
    "i.id, i.uid, i.type, i.status, LEFT(i.stem, 4000),"                                     \
    " COALESCE(CAST(JSON_VALUE(i.spec, '$.time_minutes') AS INTEGER), 0),"                    \
    " COALESCE(JSON_VALUE(i.spec, '$.equipment'), '')"
static const char SQL_TASK_BY_UID[] =
    "SELECT " TASK_COLS " FROM item i WHERE i.uid = ? AND i.parent_id IS NULL"
    " ORDER BY i.version DESC LIMIT 1";
static const char SQL_TASKS_OF[] =
    "SELECT " TASK_COLS " FROM item i WHERE i.type = 'practical' AND i.status = 'approved'"
    " AND i.parent_id IS NULL AND i.occupation_code = ? AND (? = 0 OR i.level = ?)"
    " AND NOT EXISTS (SELECT 1 FROM item j WHERE j.uid = i.uid AND j.parent_id IS NULL"
    " AND j.version > i.version) ORDER BY i.uid";
static const char SQL_TASKS_STORED[] =
    "SELECT " TASK_COLS " FROM practical_task p JOIN item i ON i.id = p.item_id"
    " WHERE p.session_id = ? ORDER BY p.position";

static const char SQL_DEL_ASSIGN[] = "DELETE FROM practical_assignment WHERE session_id = ?";
static const char SQL_DEL_TASKS[] = "DELETE FROM practical_task WHERE session_id = ?";
static const char SQL_DEL_STATIONS[] = "DELETE FROM practical_station WHERE session_id = ?";
static const char SQL_ADD_STATION[] =
    "INSERT INTO practical_station (session_id, code, name, position) VALUES (?, ?, ?, ?)";
static const char SQL_ADD_TASK[] =
    "INSERT INTO practical_task (session_id, position, item_id) VALUES (?, ?, ?)";
static const char SQL_ADD_ASSIGN[] =
    "INSERT INTO practical_assignment (session_id, attempt_id, task_no, item_id, station_code,"
    " slot_no, starts_at, ends_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_SAVE_SETTINGS[] =
    "UPDATE exam_session SET practical_seed = ?, practical_starts_at = ?,"
    " practical_tasks_each = ?, practical_slot_min = ?, practical_change_min = ?,"
    " practical_assigned_at = ? WHERE id = ?";

struct session {
    uint64_t id;
    char title[256];
    int64_t opens_ms, start_ms;
    int64_t has_seed, has_change;
    uint64_t seed;
    int64_t k, slot_min, change_min;
};

static int load_session(kc_db *db, const char *cmd, const char *code, struct session *s)
{
    memset(s, 0, sizeof *s);
    int rc = kc_db_query(db, SQL_SESSION, "s", "ustiutiiii", code, &s->id, s->title,
                          sizeof s->title, &s->opens_ms, &s->has_seed, &s->seed, &s->start_ms,
                          &s->k, &s->slot_min, &s->has_change, &s->change_min);
    int found = rc ? rc : kc_db_fetch(db, SQL_SESSION);
    kc_db_done(db, SQL_SESSION);
    if (found == 1) return 0;
    fprintf(stderr, "kaochang session %s: %s: %s\n", cmd, code, found < 0 ? db->err : "no such session");
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

struct task_row {
    uint64_t id;
    char uid[65], type[17], status[17], stem[4001], equipment[1024];
    int64_t minutes;
};

/* The plain-text excerpt of a stem, for schedules. */
static const char *excerpt(kc_arena *a, const char *html, size_t bytes)
{
    char *text = bank_html_to_text(html, a);
    if (!text) return "";
    for (char *p = text; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
    char *buf = kc_arena_alloc(a, bytes);
    if (!buf) return text;
    const char *c = bank_text_clip(text, buf, bytes);
    return c == text ? text : kc_arena_strdup(a, c);
}

static int task_push(kc_arena *a, bank_practical_task **t, size_t *n, size_t *cap,
                     const struct task_row *r)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        bank_practical_task *g = kc_arena_alloc(a, c * sizeof *g);
        if (!g) return -1;
        if (*n) memcpy(g, *t, *n * sizeof *g);
        *t = g;
        *cap = c;
    }
    bank_practical_task *x = &(*t)[(*n)++];
    x->item_id = r->id;
    x->uid = kc_arena_strdup(a, r->uid);
    x->title = excerpt(a, r->stem, 64);
    x->equipment = r->equipment[0] ? kc_arena_strdup(a, r->equipment) : NULL;
    x->time_minutes = r->minutes > 0 && r->minutes < 100000 ? (int)r->minutes : 0;
    return x->uid ? 0 : -1;
}

#define TASK_OUT(r) &(r).id, (r).uid, sizeof (r).uid, (r).type, sizeof (r).type, (r).status, \
                    sizeof (r).status, (r).stem, sizeof (r).stem, &(r).minutes, (r).equipment, \
                    sizeof (r).equipment

/* The pool: --tasks, --occupation (+ --level) or the stored one. 0, 1 refused (printed), -1 DB/OOM. */
static int load_pool(kc_db *db, kc_arena *a, uint64_t sid, const char *uids, const char *occ,
                     long level, bank_practical_task **t, size_t *n)
{
    size_t cap = 0;
    *n = 0;
    struct task_row r;
    int rc = 0;
    if (uids) {
        char *list = kc_arena_strdup(a, uids), *save = NULL;
        if (!list) return -1;
        for (char *u = strtok_r(list, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
            while (*u == ' ') u++;
            memset(&r, 0, sizeof r);
            rc = kc_db_query(db, SQL_TASK_BY_UID, "s", "ussssis", u, TASK_OUT(r));
            int found = rc ? rc : kc_db_fetch(db, SQL_TASK_BY_UID);
            kc_db_done(db, SQL_TASK_BY_UID);
            if (found < 0) return -1;
            const char *why = !found ? "is not in the bank"
                            : strcmp(r.type, "practical") ? "is not a practical task (实操题)"
                            : strcmp(r.status, "approved") ? "is not approved" : NULL;
            if (why) {
                fprintf(stderr, "kaochang session practical: --tasks: %s %s\n", u, why);
                return 1;
            }
            for (size_t i = 0; i < *n; i++)
                if (!strcmp((*t)[i].uid, r.uid)) {
                    fprintf(stderr, "kaochang session practical: --tasks: %s is listed twice\n", u);
                    return 1;
                }
            if (task_push(a, t, n, &cap, &r)) return -1;
        }
        return 0;
    }
    const char *sql = occ ? SQL_TASKS_OF : SQL_TASKS_STORED;
    memset(&r, 0, sizeof r);
    rc = occ ? kc_db_query(db, sql, "sii", "ussssis", occ, (int64_t)level, (int64_t)level, TASK_OUT(r))
             : kc_db_query(db, sql, "u", "ussssis", sid, TASK_OUT(r));
    while (!rc && (rc = kc_db_fetch(db, sql)) == 1) {
        rc = task_push(a, t, n, &cap, &r) ? KC_EDB : 0;
        memset(&r, 0, sizeof r);
    }
    kc_db_done(db, sql);
    if (rc < 0) return -1;
    if (!*n) {
        if (occ)
            fprintf(stderr, "kaochang session practical: --occupation: no approved practical tasks of %s%s\n",
                    occ, level ? " at that level" : "");
        else
            fprintf(stderr, "kaochang session practical: needs --tasks or --occupation (nothing stored yet)\n");
        return 1;
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
    if (srv__cli_db_open(&db, cfg)) return 1;
    kc_arena *a = kc_arena_new(0);
    struct session s;
    rc = !a ? -1 : load_session(&db, "practical", code, &s);
    if (rc) goto out;

    /* stations */
    char **codes = NULL;
    size_t n_st = 0;
    if (stations_s) {
        rc = stations_from_arg(a, stations_s, &codes, &n_st);
        if (rc) goto out;
    } else {
        char c[33], nm[129];
        size_t cap = 0;
        rc = kc_db_query(&db, SQL_STATIONS, "u", "ss", s.id, c, sizeof c, nm, sizeof nm);
        while (!rc && (rc = kc_db_fetch(&db, SQL_STATIONS)) == 1) {
            rc = 0;
            if (n_st == cap) {
                cap = cap ? cap * 2 : 16;
                char **g = kc_arena_alloc(a, cap * sizeof *g);
                if (!g) { rc = -1; break; }
                if (n_st) memcpy(g, codes, n_st * sizeof *g);
                codes = g;
            }
            codes[n_st++] = kc_arena_strdup(a, c);
        }
        kc_db_done(&db, SQL_STATIONS);
        if (rc < 0) goto dberr;
        rc = 0;
        if (!n_st) {
            fprintf(stderr, "kaochang session practical: needs --stations (nothing stored yet)\n");
            rc = 1;
            goto out;
        }
    }

    /* the pool */
    bank_practical_task *pool = NULL;
    size_t n_tasks = 0;
    rc = load_pool(&db, a, s.id, tasks, occ, level, &pool, &n_tasks);
    if (rc < 0) goto dberr;
    if (rc) goto out;

    /* candidates, by ticket */
    bank_practical_candidate *cand = NULL;
    size_t n_cand = 0, ccap = 0;
    {
        uint64_t aid;
        char ticket[33], name[129];
        rc = kc_db_query(&db, SQL_CANDIDATES, "u", "uss", s.id, &aid, ticket, sizeof ticket, name,
                          sizeof name);
        while (!rc && (rc = kc_db_fetch(&db, SQL_CANDIDATES)) == 1) {
            rc = 0;
            if (n_cand == ccap) {
                ccap = ccap ? ccap * 2 : 64;
                bank_practical_candidate *g = kc_arena_alloc(a, ccap * sizeof *g);
                if (!g) { rc = -1; break; }
                if (n_cand) memcpy(g, cand, n_cand * sizeof *g);
                cand = g;
            }
            cand[n_cand].attempt_id = aid;
            cand[n_cand].ticket = kc_arena_strdup(a, ticket);
            cand[n_cand++].name = kc_arena_strdup(a, name);
        }
        kc_db_done(&db, SQL_CANDIDATES);
        if (rc < 0) goto dberr;
        rc = 0;
    }
    if (!n_cand) {
        fprintf(stderr, "kaochang session practical: %s has no candidates (session add-candidates first)\n", code);
        rc = 1;
        goto out;
    }

    bank_practical_opts po = {
        .tasks_per_candidate = (int)(k ? k : s.k ? s.k : 1),
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
    char why[512];
    rc = bank_practical_assign(cand, n_cand, pool, n_tasks, &po, a, &plan, why, sizeof why);
    if (rc == -1) {
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

    if ((rc = kc_db_begin(&db))) goto dberr;
    rc = kc_db_exec(&db, SQL_DEL_ASSIGN, "u", s.id);
    if (!rc) rc = kc_db_exec(&db, SQL_DEL_TASKS, "u", s.id);
    if (!rc) rc = kc_db_exec(&db, SQL_DEL_STATIONS, "u", s.id);
    for (size_t i = 0; i < n_st && !rc; i++)
        rc = kc_db_exec(&db, SQL_ADD_STATION, "ussi", s.id, codes[i], codes[i], (int64_t)(i + 1));
    for (size_t i = 0; i < n_tasks && !rc; i++)
        rc = kc_db_exec(&db, SQL_ADD_TASK, "uiu", s.id, (int64_t)(i + 1), pool[i].item_id);
    for (size_t i = 0; i < plan.n && !rc; i++) {
        const bank_practical_slot *e = &plan.a[i];
        rc = kc_db_exec(&db, SQL_ADD_ASSIGN, "uuiusitt", s.id, cand[e->candidate].attempt_id,
                         (int64_t)e->task_no, pool[e->task].item_id, codes[e->station],
                         (int64_t)e->slot_no, e->starts_at_ms, e->ends_at_ms);
    }
    if (!rc)
        rc = kc_db_exec(&db, SQL_SAVE_SETTINGS, "utiiitu", po.seed, po.start_ms,
                         (int64_t)po.tasks_per_candidate, (int64_t)(slot >= 0 ? slot : s.slot_min),
                         (int64_t)po.changeover_minutes, kc_now_ms(), s.id);
    if (!rc) rc = kc_db_commit(&db);
    if (rc) {
        kc_db_rollback(&db);
        goto dberr;
    }
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

#define SQL_PLAN                                                                             \
    "SELECT p.station_code, st.position, p.slot_no, p.task_no, p.starts_at, p.ends_at,"       \
    " a.ticket_no, c.name, i.uid, LEFT(i.stem, 4000),"                                        \
    " COALESCE(JSON_VALUE(i.spec, '$.equipment'), '')"                                        \
    " FROM practical_assignment p JOIN practical_station st"                                  \
    "   ON st.session_id = p.session_id AND st.code = p.station_code"                         \
    " JOIN attempt a ON a.id = p.attempt_id JOIN candidate c ON c.id = a.candidate_id"        \
    " JOIN item i ON i.id = p.item_id WHERE p.session_id = ?"
static const char SQL_PLAN_BY_STATION[] = SQL_PLAN " ORDER BY st.position, p.slot_no";
static const char SQL_PLAN_BY_CANDIDATE[] = SQL_PLAN " ORDER BY a.ticket_no, p.task_no";

struct row {
    const char *station, *ticket, *name, *uid, *title, *equipment;
    int64_t position, slot, task_no, starts, ends;
};

/* Display columns of UTF-8 text: East Asian wide characters take two. */
static int width(const char *s)
{
    int w = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp;
        int n = bank_utf8_decode(p, SIZE_MAX, &cp);
        if (n < 1) { n = 1; cp = '?'; }
        p += n;
        w += (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
             (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
             (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
             (cp >= 0xFFE0 && cp <= 0xFFE6) ? 2 : 1;
    }
    return w;
}

static void pad(FILE *f, const char *s, int cols)
{
    fputs(s, f);
    for (int w = width(s); w < cols; w++) fputc(' ', f);
    fputs("  ", f);
}

static void clock_of(int64_t ms, int offset_min, char *buf, size_t len, int with_date)
{
    time_t t = (time_t)(ms / 1000) + (time_t)offset_min * 60;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, with_date ? "%Y-%m-%d %H:%M" : "%H:%M", &tm);
}

/* "2026-12-05 09:00–10:30" (the end's date is shown when it differs) */
static void span(const struct row *r, int offset_min, char *buf, size_t len)
{
    char a[20], b[20], da[16], db_[16];
    clock_of(r->starts, offset_min, a, sizeof a, 1);
    clock_of(r->ends, offset_min, b, sizeof b, 1);
    memcpy(da, a, 10); da[10] = 0;
    memcpy(db_, b, 10); db_[10] = 0;
    snprintf(buf, len, "%s–%s", a, strcmp(da, db_) ? b : b + 11);
}

static void csv(FILE *f, const char *s, int last)
{
    if (strpbrk(s, ",\"\n\r")) {
        fputc('"', f);
        for (; *s; s++) { if (*s == '"') fputc('"', f); fputc(*s, f); }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputs(last ? "\r\n" : ",", f);
}

static void html(FILE *f, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
}

static const char HTML_STYLE[] =
    "<style>\n"
    "@page { size: A4; margin: 15mm; }\n"
    "body { font-family: 'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', sans-serif;"
    " font-size: 11pt; color: #000; margin: 0; }\n"
    "h1 { font-size: 16pt; margin: 0 0 2mm; }\n"
    "h2 { font-size: 13pt; margin: 0 0 3mm; font-weight: normal; }\n"
    ".meta { margin: 0 0 4mm; }\n"
    "table { border-collapse: collapse; width: 100%; }\n"
    "th, td { border: 1px solid #000; padding: 1.5mm 2mm; text-align: left; vertical-align: top; }\n"
    "th { background: #eee; white-space: nowrap; }\n"
    "td.blank { min-width: 18mm; }\n"
    "td.nw { white-space: nowrap; }\n"
    "th small { font-weight: normal; }\n"
    "section { break-after: page; page-break-after: always; }\n"
    "section:last-child { break-after: auto; page-break-after: auto; }\n"
    "tr { break-inside: avoid; page-break-inside: avoid; }\n"
    ".sign { margin-top: 8mm; }\n"
    "@media screen { body { max-width: 200mm; margin: 10mm auto; } section { border-bottom: 1px dashed #999; padding-bottom: 8mm; margin-bottom: 8mm; } }\n"
    "</style>\n";

static void th(FILE *f, const char *zh, const char *en)
{
    fputs("<th>", f);
    html(f, zh);
    fputs("<br><small>", f);
    html(f, en);
    fputs("</small></th>", f);
}

static void td(FILE *f, const char *s)
{
    fputs("<td>", f);
    html(f, s);
    fputs("</td>", f);
}

/* A short cell that must not wrap (ticket, name, station, slot). */
static void tdn(FILE *f, const char *s)
{
    fputs("<td class=\"nw\">", f);
    html(f, s);
    fputs("</td>", f);
}

static void write_schedule(FILE *f, const char *code, const struct session *s, const struct row *r,
                           size_t n, int examiners, const char *format, int offset_min)
{
    char tz[16];
    if (!offset_min) snprintf(tz, sizeof tz, "UTC");
    else if (offset_min % 60) snprintf(tz, sizeof tz, "UTC%+d:%02d", offset_min / 60, abs(offset_min % 60));
    else snprintf(tz, sizeof tz, "UTC%+d", offset_min / 60);
    char when[64], a[32], b[32], slot[16], no[16];
    const char *head = examiners ? "实操考核工位安排表 Practical schedule for examiners"
                                 : "实操考核考生安排表 Practical schedule for candidates";
    if (!strcmp(format, "csv")) {
        if (examiners) {
            static const char *h[] = {"工位", "时段", "开始", "结束", "准考证号", "姓名", "试题编号", "试题"};
            for (int i = 0; i < 8; i++) csv(f, h[i], i == 7);
        } else {
            static const char *h[] = {"准考证号", "姓名", "序号", "工位", "时段", "开始", "结束", "试题编号", "试题", "设备要求"};
            for (int i = 0; i < 10; i++) csv(f, h[i], i == 9);
        }
        for (size_t i = 0; i < n; i++) {
            kc_format_iso(r[i].starts, a, sizeof a);
            kc_format_iso(r[i].ends, b, sizeof b);
            snprintf(slot, sizeof slot, "%lld", (long long)r[i].slot);
            snprintf(no, sizeof no, "%lld", (long long)r[i].task_no);
            if (examiners) {
                const char *v[] = {r[i].station, slot, a, b, r[i].ticket, r[i].name, r[i].uid, r[i].title};
                for (int k = 0; k < 8; k++) csv(f, v[k], k == 7);
            } else {
                const char *v[] = {r[i].ticket, r[i].name, no, r[i].station, slot, a, b, r[i].uid,
                                   r[i].title, r[i].equipment};
                for (int k = 0; k < 10; k++) csv(f, v[k], k == 9);
            }
        }
        return;
    }
    if (!strcmp(format, "text")) {
        fprintf(f, "%s\n场次 Session: %s %s\n时间 Times: %s\n", head, code, s->title, tz);
        for (size_t i = 0; i < n; i++) {
            int first = !i || strcmp(examiners ? r[i].station : r[i].ticket,
                                     examiners ? r[i - 1].station : r[i - 1].ticket);
            span(&r[i], offset_min, when, sizeof when);
            snprintf(slot, sizeof slot, "%lld", (long long)r[i].slot);
            if (examiners) {
                if (first) {
                    fprintf(f, "\n%s\n", r[i].station);
                    pad(f, "时段", 6); pad(f, "时间 Time", 24); pad(f, "准考证号", 12);
                    pad(f, "姓名 Name", 12); fputs("试题 Task\n", f);
                }
                pad(f, slot, 6); pad(f, when, 24); pad(f, r[i].ticket, 12); pad(f, r[i].name, 12);
                fprintf(f, "%s %s\n", r[i].uid, r[i].title);
            } else {
                if (first) fprintf(f, "\n%s %s\n", r[i].ticket, r[i].name);
                fprintf(f, "  %lld. %s  时段 %s  %s  %s %s\n", (long long)r[i].task_no, r[i].station,
                        slot, when, r[i].uid, r[i].title);
                if (r[i].equipment[0]) fprintf(f, "     设备要求 Equipment: %s\n", r[i].equipment);
            }
        }
        return;
    }
    /* html: one page per station (examiners) or one table of everyone (candidates) */
    fputs("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n<title>", f);
    html(f, head);
    fputs(" — ", f);
    html(f, code);
    fputs("</title>\n", f);
    fputs(HTML_STYLE, f);
    fputs("</head>\n<body>\n", f);
    for (size_t i = 0; i < n; i++) {
        int first = !i || (examiners && strcmp(r[i].station, r[i - 1].station));
        span(&r[i], offset_min, when, sizeof when);
        snprintf(slot, sizeof slot, "%lld", (long long)r[i].slot);
        if (first) {
            if (i) fputs("</tbody></table>\n<p class=\"sign\">考评员签字 Examiner: ____________</p>\n</section>\n", f);
            fputs("<section>\n<h1>", f);
            html(f, head);
            fputs("</h1>\n<h2>", f);
            if (examiners) { html(f, r[i].station); fputs(" · ", f); }
            html(f, code);
            fputs(" ", f);
            html(f, s->title);
            fputs("</h2>\n<p class=\"meta\">时间 Times: ", f);
            html(f, tz);
            fputs("</p>\n<table>\n<thead><tr>", f);
            if (examiners) {
                th(f, "时段", "Slot"); th(f, "时间", "Time"); th(f, "准考证号", "Ticket");
                th(f, "姓名", "Name"); th(f, "试题", "Task"); th(f, "签到", "Present");
                th(f, "得分", "Score");
            } else {
                th(f, "准考证号", "Ticket"); th(f, "姓名", "Name"); th(f, "序号", "No.");
                th(f, "工位", "Station"); th(f, "时段", "Slot"); th(f, "时间", "Time");
                th(f, "试题", "Task"); th(f, "设备要求", "Equipment");
            }
            fputs("</tr></thead>\n<tbody>\n", f);
        }
        char task[1200];
        snprintf(task, sizeof task, "%s %s", r[i].uid, r[i].title);
        fputs("<tr>", f);
        if (examiners) {
            tdn(f, slot); td(f, when); tdn(f, r[i].ticket); tdn(f, r[i].name); td(f, task);
            fputs("<td class=\"blank\"></td><td class=\"blank\"></td>", f);
        } else {
            snprintf(no, sizeof no, "%lld", (long long)r[i].task_no);
            tdn(f, r[i].ticket); tdn(f, r[i].name); tdn(f, no); tdn(f, r[i].station); tdn(f, slot);
            td(f, when); td(f, task); td(f, r[i].equipment);
        }
        fputs("</tr>\n", f);
    }
    if (n) fputs("</tbody></table>\n", f);
    if (n && examiners) fputs("<p class=\"sign\">考评员签字 Examiner: ____________</p>\n", f);
    if (n) fputs("</section>\n", f);
    fputs("</body>\n</html>\n", f);
}

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
    if (strcmp(format, "text") && strcmp(format, "csv") && strcmp(format, "html")) {
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
    if (srv__cli_db_open(&db, cfg)) return 1;
    kc_arena *a = kc_arena_new(0);
    struct session s;
    FILE *f = NULL;
    rc = !a ? -1 : load_session(&db, "schedule", code, &s);
    if (rc) goto done;
    const char *fixed = examiners ? SQL_PLAN_BY_STATION : SQL_PLAN_BY_CANDIDATE;
    struct row *rows = NULL;
    size_t n = 0, cap = 0;
    char st[33], ticket[33], name[129], uid[65], stem[4001], equip[1024];
    struct row r;
    memset(&r, 0, sizeof r);
    rc = kc_db_query(&db, fixed, "u", "sii" "itt" "sssss", s.id, st, sizeof st, &r.position,
                      &r.slot, &r.task_no, &r.starts, &r.ends, ticket, sizeof ticket, name,
                      sizeof name, uid, sizeof uid, stem, sizeof stem, equip, sizeof equip);
    while (!rc && (rc = kc_db_fetch(&db, fixed)) == 1) {
        rc = 0;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            struct row *g = kc_arena_alloc(a, cap * sizeof *g);
            if (!g) { rc = -1; break; }
            if (n) memcpy(g, rows, n * sizeof *g);
            rows = g;
        }
        r.station = kc_arena_strdup(a, st);
        r.ticket = kc_arena_strdup(a, ticket);
        r.name = kc_arena_strdup(a, name);
        r.uid = kc_arena_strdup(a, uid);
        r.title = excerpt(a, stem, examiners ? 64 : 96);
        r.equipment = kc_arena_strdup(a, equip);
        if (!r.station || !r.ticket || !r.name || !r.uid || !r.equipment) { rc = -1; break; }
        rows[n++] = r;
    }
    kc_db_done(&db, fixed);
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
    f = out ? fopen(out, "w") : stdout;
    if (!f) {
        fprintf(stderr, "kaochang session schedule: %s: %s\n", out, strerror(errno));
        rc = 1;
        goto done;
    }
    write_schedule(f, code, &s, rows, n, examiners, format, offset_min);
    if (out) {
        if (fclose(f)) {
            fprintf(stderr, "kaochang session schedule: %s: %s\n", out, strerror(errno));
            rc = 1;
            goto done;
        }
        printf("%s: schedule for %s of session %s, %zu entr%s\n", out, who, code, n, n == 1 ? "y" : "ies");
        rc = 0;
    } else {
        rc = fflush(stdout) ? 1 : 0;
    }
done:
    kc_arena_free(a);
    kc_db_close(&db);
    return rc ? 1 : 0;
}

int srv__cli_practical(srv_config *cfg, int argc, char **argv)
{
    if (argc >= 1 && !strcmp(argv[0], "practical")) return practical(cfg, argc, argv);
    return schedule(cfg, argc, argv);
}

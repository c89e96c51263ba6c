/* `kaochang paper create`, `session create|add-candidates` and `results`. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- paper create ---- */

static const char SQL_PAPER_EXISTS[] = "SELECT id FROM paper WHERE code = ?";
/* Practical tasks are assessed on site (技能考核), never in a computer exam. --all keeps the
 * types together, in the order papers list their sections. */
static const char SQL_ITEMS_ALL[] =
    "SELECT i.id, i.points_centi, i.type FROM item i WHERE i.status = 'approved'"
    " AND i.type <> 'practical'"
    " AND i.parent_id IS NULL AND NOT EXISTS (SELECT 1 FROM item j WHERE j.uid = i.uid"
    " AND j.parent_id IS NULL AND j.version > i.version)"
    " ORDER BY FIELD(i.type, 'single', 'multi', 'tf', 'fill', 'short', 'essay', 'composite'), i.id";
static const char SQL_ITEM_BY_UID[] =
    "SELECT id, points_centi, status, type"
    " FROM item WHERE uid = ? AND parent_id IS NULL ORDER BY version DESC LIMIT 1";

/* The default section of an item type: "二、多项选择题" when it is the second type met. */
static const char *section_name(const char *type, const char **seen, int *nseen, char *buf,
                                size_t len)
{
    static const char *const numerals[] = {"一", "二", "三", "四", "五", "六", "七", "八"};
    static const struct { const char *type, *name; } names[] = {
        {"single", "单项选择题"}, {"multi", "多项选择题"}, {"tf", "判断题"}, {"fill", "填空题"},
        {"short", "简答题"}, {"essay", "论述题"}, {"composite", "案例分析题"}};
    int k = 0;
    while (k < *nseen && strcmp(seen[k], type)) k++;
    if (k == *nseen && *nseen < 8) seen[(*nseen)++] = type;
    const char *name = type;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(names[i].type, type)) name = names[i].name;
    snprintf(buf, len, "%s、%s", numerals[k < 8 ? k : 7], name);
    return buf;
}
static const char SQL_PAPER_ADD[] = "INSERT INTO paper (code, title, total_centi) VALUES (?, ?, ?)";
static const char SQL_PAPER_ITEM_ADD[] =
    "INSERT INTO paper_item (paper_id, position, item_id, section, points_centi) VALUES (?, ?, ?, ?, ?)";

static int parse_points(const char *s, int64_t *centi)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v <= 0 || v > 1000) return -1;
    *centi = (int64_t)(v * 100 + 0.5);
    return 0;
}

static int paper_grow(uint64_t **ids, int64_t **pts, char (**types)[17], size_t n, size_t *cap)
{
    if (n < *cap) return 0;
    size_t c = *cap ? *cap * 2 : 64;
    uint64_t *i = realloc(*ids, c * sizeof *i);
    if (i) *ids = i;
    int64_t *p = realloc(*pts, c * sizeof *p);
    if (p) *pts = p;
    char (*t)[17] = realloc(*types, c * sizeof *t);
    if (t) *types = t;
    if (!i || !p || !t) return -1;
    *cap = c;
    return 0;
}

int cli__paper(srv_config *cfg, int argc, char **argv)
{
    if (argc > 0 && !strcmp(argv[0], "template")) return cli_template(cfg, argc - 1, argv + 1);
    const char *code = NULL, *title = NULL, *section = NULL, *points = NULL, *items = NULL;
    int all = 0;
    struct cli_opt opts[] = {{"--code", 1, &code, NULL}, {"--title", 1, &title, NULL},
                         {"--section", 1, &section, NULL}, {"--points", 1, &points, NULL},
                         {"--items", 1, &items, NULL}, {"--all", 0, NULL, &all},
                         {NULL, 0, NULL, NULL}};
    char *pos[1];
    int npos, rc = cli_parse_opts("paper", opts, argc, argv, pos, 1, &npos);
    if (rc) return rc;
    if (npos != 1 || strcmp(pos[0], "create")) {
        fprintf(stderr, "kaochang paper: expected \"create\" or \"template\" (see kaochang paper --help)\n");
        return 2;
    }
    if (!code || !title || (!all == !items)) {
        fprintf(stderr, "kaochang paper create: needs --code, --title and one of --all or --items\n");
        return 2;
    }
    int64_t each = 0;
    if (points && parse_points(points, &each)) {
        fprintf(stderr, "kaochang paper create: --points: expected a number > 0, got \"%s\"\n", points);
        return 2;
    }
    kc_db db;
    if (cli_db_open(&db, cfg)) return 1;
    uint64_t *ids = NULL;
    int64_t *pts = NULL;
    char (*types)[17] = NULL;
    size_t n = 0, cap = 0;
    uint64_t id;
    int64_t p;
    char type[17];
    rc = 0;
    if (!kc_db_query(&db, SQL_PAPER_EXISTS, "s", "u", code, &id) &&
        kc_db_fetch(&db, SQL_PAPER_EXISTS) == 1) {
        fprintf(stderr, "kaochang paper create: a paper with code %s already exists\n", code);
        rc = 1;
    }
    kc_db_done(&db, SQL_PAPER_EXISTS);
    if (rc) goto out;
    if (all) {
        rc = kc_db_query(&db, SQL_ITEMS_ALL, "", "uis", &id, &p, type, sizeof type);
        while (!rc && (rc = kc_db_fetch(&db, SQL_ITEMS_ALL)) == 1) {
            rc = 0;
            if (paper_grow(&ids, &pts, &types, n, &cap)) goto oom;
            ids[n] = id;
            memcpy(types[n], type, sizeof type);
            pts[n++] = p;
        }
        kc_db_done(&db, SQL_ITEMS_ALL);
        if (rc < 0) goto dberr;
        rc = 0;
    } else {
        char *list = strdup(items), *save = NULL;
        for (char *uid = strtok_r(list, ",", &save); uid; uid = strtok_r(NULL, ",", &save)) {
            char status[17];
            rc = kc_db_query(&db, SQL_ITEM_BY_UID, "s", "uiss", uid, &id, &p, status,
                              sizeof status, type, sizeof type);
            int found = rc ? 0 : kc_db_fetch(&db, SQL_ITEM_BY_UID);
            kc_db_done(&db, SQL_ITEM_BY_UID);
            if (rc || found < 0) { free(list); goto dberr; }
            if (!found || strcmp(status, "approved") || !strcmp(type, "practical")) {
                fprintf(stderr, "kaochang paper create: --items: %s is %s\n", uid,
                        !found ? "not in the bank"
                        : strcmp(status, "approved") ? "not approved"
                        : "a practical task, assessed on site, not in a computer exam");
                free(list);
                rc = 1;
                goto out;
            }
            if (paper_grow(&ids, &pts, &types, n, &cap)) { free(list); goto oom; }
            ids[n] = id;
            memcpy(types[n], type, sizeof type);
            pts[n++] = p;
        }
        free(list);
    }
    if (!n) {
        fprintf(stderr, "kaochang paper create: no approved items to put on the paper; import a bank first\n");
        rc = 1;
        goto out;
    }
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) total += each ? each : pts[i];
    if ((rc = kc_db_begin(&db)) || (rc = kc_db_exec(&db, SQL_PAPER_ADD, "ssi", code, title, total)))
        goto dberr;
    uint64_t paper_id = kc_db_insert_id(&db, SQL_PAPER_ADD);
    const char *seen[8];
    int nseen = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        char sec[64];
        rc = kc_db_exec(&db, SQL_PAPER_ITEM_ADD, "uiusi", paper_id, (int64_t)(i + 1), ids[i],
                         section ? section : section_name(types[i], seen, &nseen, sec, sizeof sec),
                         each ? each : pts[i]);
    }
    if (rc || (rc = kc_db_commit(&db))) { kc_db_rollback(&db); goto dberr; }
    printf("paper %s: %zu items, %.2f points\n", code, n, (double)total / 100);
    goto out;
oom:
    fprintf(stderr, "kaochang paper create: out of memory\n");
    rc = 1;
    goto out;
dberr:
    fprintf(stderr, "kaochang paper create: %s\n", db.err);
    rc = 1;
out:
    free(ids);
    free(pts);
    free(types);
    kc_db_close(&db);
    return rc ? 1 : 0;
}

/* ---- session create / add-candidates ---- */

static const char SQL_SESSION_ADD[] =
    "INSERT INTO exam_session (code, title, paper_id, template_id, opens_at, closes_at, duration_s,"
    " show_score, forms, seed, exposure_cap_pct, shuffle, seat_columns)"
    " VALUES (?, ?, NULLIF(?, 0), NULLIF(?, 0), ?, ?, ?, ?, ?, ?, NULLIF(?, 0), NULLIF(?, -1), ?)";
static const char SQL_TEMPLATE_EXISTS[] = "SELECT id, feasible FROM paper_template WHERE code = ?";
static const char SQL_SESSION_BY_CODE[] = "SELECT id FROM exam_session WHERE code = ?";
static const char SQL_CAND_UPSERT[] =
    "INSERT INTO candidate (id_number, name) VALUES (?, ?)"
    " ON DUPLICATE KEY UPDATE name = VALUES(name), id = LAST_INSERT_ID(id)";
static const char SQL_TICKET_OWNER[] =
    "SELECT a.session_id, c.id_number FROM attempt a JOIN candidate c ON c.id = a.candidate_id"
    " WHERE a.ticket_no = ?";
static const char SQL_ATTEMPT_OF[] =
    "SELECT ticket_no FROM attempt WHERE session_id = ? AND candidate_id = ?";
static const char SQL_ATTEMPT_ADD[] =
    "INSERT INTO attempt (session_id, candidate_id, ticket_no, room, seat) VALUES (?, ?, ?, ?, NULLIF(?, 0))";
static const char SQL_SEAT_TAKEN[] =
    "SELECT ticket_no FROM attempt WHERE session_id = ? AND room = ? AND seat = ? AND candidate_id <> ?";
static const char SQL_ATTEMPT_SEAT[] =
    "UPDATE attempt SET room = ?, seat = ? WHERE session_id = ? AND candidate_id = ?";

/* "FILE:LINE: " of a roster row as the importer's own lines have it (XLSX: "FILE:SHEET!ROW: "). */
static void roster_place(const imp_candidate *c)
{
    size_t n = strlen(c->where);
    fprintf(stderr, "%s%s%d: ", c->where, n && c->where[n - 1] == '!' ? "" : ":", c->line);
}

int cli__session(srv_config *cfg, int argc, char **argv)
{
    static const char *const papers_cmds[] = {"prepare", "verify", "report", "paper", NULL};
    for (int k = 0; argc > 0 && papers_cmds[k]; k++)
        if (!strcmp(argv[0], papers_cmds[k])) return cli_prepare(cfg, argv[0], argc - 1, argv + 1);
    if (argc >= 1 && (!strcmp(argv[0], "practical") || !strcmp(argv[0], "schedule")))
        return cli_practical(cfg, argc, argv);
    const char *code = NULL, *title = NULL, *paper = NULL, *duration = NULL, *opens = "now",
               *closes = NULL, *session = NULL, *tpl = NULL, *forms_s = NULL, *seed_s = NULL,
               *cap_s = NULL, *shuffle_s = NULL, *cols_s = NULL;
    int show = 0;
    struct cli_opt opts[] = {{"--code", 1, &code, NULL}, {"--title", 1, &title, NULL},
                         {"--paper", 1, &paper, NULL}, {"--duration", 1, &duration, NULL},
                         {"--opens", 1, &opens, NULL}, {"--closes", 1, &closes, NULL},
                         {"--show-score", 0, NULL, &show}, {"--session", 1, &session, NULL},
                         {"--template", 1, &tpl, NULL}, {"--forms", 1, &forms_s, NULL},
                         {"--seed", 1, &seed_s, NULL}, {"--exposure-cap", 1, &cap_s, NULL},
                         {"--shuffle", 1, &shuffle_s, NULL}, {"--seat-columns", 1, &cols_s, NULL},
                         {NULL, 0, NULL, NULL}};
    char *pos[2];
    int npos, rc = cli_parse_opts("session", opts, argc, argv, pos, 2, &npos);
    if (rc) return rc;
    int create = npos == 1 && !strcmp(pos[0], "create");
    int add = npos == 2 && !strcmp(pos[0], "add-candidates");
    if (!create && !add) {
        fprintf(stderr, "kaochang session: expected \"create\" or \"add-candidates FILE\" (see --help)\n");
        return 2;
    }
    kc_db db;
    if (create) {
        int64_t dur, t_open, t_close, now = kc_now_ms();
        if (!code || !title || !paper == !tpl || !duration) {
            fprintf(stderr, "kaochang session create: needs --code, --title, --duration and one of --template or --paper\n");
            return 2;
        }
        long forms = 0, cap = 0, cols = 0, shuffle = -1;
        unsigned long long seed = 0;
        char *end;
        if (forms_s && (!tpl || (forms = strtol(forms_s, &end, 10)) < 1 || forms > 26 || *end)) {
            fprintf(stderr, "kaochang session create: --forms: expected 1..26 parallel forms of a --template, got \"%s\"\n", forms_s);
            return 2;
        }
        if (cap_s && ((cap = strtol(cap_s, &end, 10)) < 1 || cap > 100 || (*end && strcmp(end, "%")))) {
            fprintf(stderr, "kaochang session create: --exposure-cap: expected a percentage 1..100, got \"%s\"\n", cap_s);
            return 2;
        }
        if (cols_s && ((cols = strtol(cols_s, &end, 10)) < 0 || cols > 1000 || *end)) {
            fprintf(stderr, "kaochang session create: --seat-columns: expected 0..1000 seats per row, got \"%s\"\n", cols_s);
            return 2;
        }
        if (seed_s && (!*seed_s || (seed = strtoull(seed_s, &end, 10), *end) || *seed_s == '-')) {
            fprintf(stderr, "kaochang session create: --seed: expected a non-negative integer, got \"%s\"\n", seed_s);
            return 2;
        }
        if (!seed_s && RAND_bytes((unsigned char *)&seed, sizeof seed) != 1) {
            fprintf(stderr, "kaochang session create: no random seed (OpenSSL RAND_bytes failed)\n");
            return 1;
        }
        seed &= 0x7fffffffffffffffULL;    /* shown and typed back as a plain integer */
        if (shuffle_s) {
            shuffle = !strcmp(shuffle_s, "none") ? 0 : !strcmp(shuffle_s, "items") ? 1
                    : !strcmp(shuffle_s, "options") ? 2
                    : !strcmp(shuffle_s, "items,options") || !strcmp(shuffle_s, "options,items") || !strcmp(shuffle_s, "all") ? 3 : -2;
            if (shuffle == -2) {
                fprintf(stderr, "kaochang session create: --shuffle: expected items,options, items, options or none, got \"%s\"\n", shuffle_s);
                return 2;
            }
        }
        if (kc_parse_duration(duration, &dur) || dur < 1) {
            fprintf(stderr, "kaochang session create: --duration: expected e.g. 90m, 1h30m or 45s, got \"%s\"\n", duration);
            return 2;
        }
        if (kc_parse_time(opens, now, &t_open)) {
            fprintf(stderr, "kaochang session create: --opens: expected now, +DURATION or YYYY-MM-DDTHH:MM[:SS]Z, got \"%s\"\n", opens);
            return 2;
        }
        t_close = t_open + dur * 1000 + 3600 * 1000;
        if (closes && kc_parse_time(closes, t_open, &t_close)) {
            fprintf(stderr, "kaochang session create: --closes: expected +DURATION (after --opens) or YYYY-MM-DDTHH:MM[:SS]Z, got \"%s\"\n", closes);
            return 2;
        }
        if (t_close < t_open + dur * 1000) {
            fprintf(stderr, "kaochang session create: --closes must leave the whole --duration after --opens\n");
            return 2;
        }
        if (cli_db_open(&db, cfg)) return 1;
        uint64_t pid = 0, tid = 0;
        int64_t feasible = 1;
        const char *what = paper ? SQL_PAPER_EXISTS : SQL_TEMPLATE_EXISTS;
        rc = paper ? kc_db_query(&db, what, "s", "u", paper, &pid)
                   : kc_db_query(&db, what, "s", "ui", tpl, &tid, &feasible);
        int found = rc ? rc : kc_db_fetch(&db, what);
        kc_db_done(&db, what);
        if (found != 1) {
            fprintf(stderr, "kaochang session create: %s: %s\n", paper ? "--paper" : "--template",
                    found < 0 ? db.err : paper ? "no such paper" : "no such template (kaochang paper template list)");
            kc_db_close(&db);
            return 1;
        }
        if (!feasible) {
            fprintf(stderr, "kaochang session create: --template: %s cannot be met by the approved bank"
                    " (kaochang paper template show %s); a session cannot use it\n", tpl, tpl);
            kc_db_close(&db);
            return 1;
        }
        rc = kc_db_exec(&db, SQL_SESSION_ADD, "ssuuttiiiuiii", code, title, pid, tid, t_open, t_close,
                         dur, (int64_t)show, (int64_t)forms, (uint64_t)seed, (int64_t)cap,
                         (int64_t)shuffle, (int64_t)cols);
        if (rc) fprintf(stderr, "kaochang session create: %s\n",
                        strstr(db.err, "Duplicate") ? "a session with this code already exists" : db.err);
        else {
            char a[32], b[32];
            kc_format_iso(t_open, a, sizeof a);
            kc_format_iso(t_close, b, sizeof b);
            printf("session %s: %s %s, %lld s per candidate, open %s .. %s\n", code,
                   paper ? "paper" : "template", paper ? paper : tpl, (long long)dur, a, b);
            if (tpl)
                printf("  %s, seed %llu; run `kaochang session prepare %s` after adding candidates"
                       " (serve does it %d minutes before it opens)\n",
                       forms ? "parallel forms" : "a paper per candidate", seed, code, cfg->prepare_before_min);
        }
        kc_db_close(&db);
        return rc ? 1 : 0;
    }

    /* add-candidates: the importer checks the whole file, then it is written in one
     * transaction; any problem in either writes nothing. */
    const char *file = pos[1];
    if (!session) {
        fprintf(stderr, "kaochang session add-candidates: needs --session CODE\n");
        return 2;
    }
    kc_arena *a = kc_arena_new(0);
    if (!a) {
        fprintf(stderr, "kaochang session add-candidates: out of memory\n");
        return 1;
    }
    imp_roster roster;
    kc_diag d;
    kc_diag_init(&d, a);
    rc = imp_roster_parse_file(file, a, &roster, &d);
    for (size_t i = 0; i < d.n; i++) fprintf(stderr, "%s\n", d.lines[i]);
    if (rc) {
        if (rc == 1) fprintf(stderr, "%s: nothing was added\n", file);
        else if (!d.n) fprintf(stderr, "kaochang session add-candidates: %s\n", kc_strerror(rc));
        kc_arena_free(a);
        return 1;
    }
    if (cli_db_open(&db, cfg)) { kc_arena_free(a); return 1; }
    uint64_t sid = 0;
    rc = kc_db_query(&db, SQL_SESSION_BY_CODE, "s", "u", session, &sid);
    int found = rc ? rc : kc_db_fetch(&db, SQL_SESSION_BY_CODE);
    kc_db_done(&db, SQL_SESSION_BY_CODE);
    if (found != 1) {
        fprintf(stderr, "kaochang session add-candidates: --session: %s\n", found < 0 ? db.err : "no such session");
        kc_db_close(&db);
        kc_arena_free(a);
        return 1;
    }
    rc = kc_db_begin(&db);
    for (size_t i = 0; i < roster.n && !rc; i++) {
        const imp_candidate *c = &roster.rows[i];
        uint64_t owner_session = 0;
        char owner_id[33] = "";
        rc = kc_db_query(&db, SQL_TICKET_OWNER, "s", "us", c->ticket, &owner_session, owner_id, sizeof owner_id);
        int taken = rc ? 0 : kc_db_fetch(&db, SQL_TICKET_OWNER);
        kc_db_done(&db, SQL_TICKET_OWNER);
        /* a failed fetch must not end in the COMMIT below */
        if (rc || (rc = taken < 0 ? taken : 0)) break;
        if (taken && (owner_session != sid || strcmp(owner_id, c->id_number))) {
            roster_place(c);
            fprintf(stderr, "准考证号: %s is already given to another candidate or session\n", c->ticket);
            rc = KC_EINVAL;
            break;
        }
        rc = kc_db_exec(&db, SQL_CAND_UPSERT, "ss", c->id_number, c->name);
        if (rc) break;
        uint64_t cid = kc_db_insert_id(&db, SQL_CAND_UPSERT);
        char had[33] = "";
        rc = kc_db_query(&db, SQL_ATTEMPT_OF, "uu", "s", sid, cid, had, sizeof had);
        int seated = rc ? 0 : kc_db_fetch(&db, SQL_ATTEMPT_OF);
        kc_db_done(&db, SQL_ATTEMPT_OF);
        if (rc || (rc = seated < 0 ? seated : 0)) break;
        if (seated && strcmp(had, c->ticket)) {
            /* Re-registering is fine; silently keeping an old ticket is not. */
            roster_place(c);
            fprintf(stderr, "准考证号: this candidate already has ticket %s in this session\n", had);
            rc = KC_EINVAL;
            break;
        }
        if (c->seat) {
            char other[33] = "";
            rc = kc_db_query(&db, SQL_SEAT_TAKEN, "usiu", "s", sid, c->room, (int64_t)c->seat,
                              cid, other, sizeof other);
            int taken_seat = rc ? 0 : kc_db_fetch(&db, SQL_SEAT_TAKEN);
            kc_db_done(&db, SQL_SEAT_TAKEN);
            if (rc || (rc = taken_seat < 0 ? taken_seat : 0)) break;
            if (taken_seat) {
                roster_place(c);
                fprintf(stderr, "座位号: seat %d of room %s is taken by ticket %s\n", c->seat, c->room, other);
                rc = KC_EINVAL;
                break;
            }
        }
        if (!seated)
            rc = kc_db_exec(&db, SQL_ATTEMPT_ADD, "uussi", sid, cid, c->ticket,
                             c->seat ? c->room : NULL, (int64_t)c->seat);
        else if (c->seat)
            rc = kc_db_exec(&db, SQL_ATTEMPT_SEAT, "siuu", c->room, (int64_t)c->seat, sid, cid);
    }
    if (!rc) rc = kc_db_commit(&db);
    if (rc) {
        kc_db_rollback(&db);
        if (rc != KC_EINVAL) fprintf(stderr, "kaochang session add-candidates: %s\n", db.err);
        fprintf(stderr, "%s: nothing was added\n", file);
    } else {
        printf("session %s: %zu candidate%s registered\n", session, roster.n, roster.n == 1 ? "" : "s");
    }
    kc_db_close(&db);
    kc_arena_free(a);
    return rc ? 1 : 0;
}

/* ---- results ---- */

static const char SQL_RESULTS[] =
    "SELECT a.ticket_no, c.name, a.status, a.score_centi IS NOT NULL, a.score_centi,"
    " a.submitted_at, COALESCE(a.submit_reason, '')"
    " FROM attempt a JOIN candidate c ON c.id = a.candidate_id"
    " JOIN exam_session s ON s.id = a.session_id WHERE s.code = ? ORDER BY a.ticket_no";

int cli__results(srv_config *cfg, int argc, char **argv)
{
    const char *format = "table";
    struct cli_opt opts[] = {{"--format", 1, &format, NULL}, {NULL, 0, NULL, NULL}};
    char *pos[1];
    int npos, rc = cli_parse_opts("results", opts, argc, argv, pos, 1, &npos);
    if (rc) return rc;
    if (npos != 1) {
        fprintf(stderr, "kaochang results: expected the session code (see --help)\n");
        return 2;
    }
    if (strcmp(format, "table") && strcmp(format, "csv") && strcmp(format, "json")) {
        fprintf(stderr, "kaochang results: --format must be table, csv or json\n");
        return 2;
    }
    kc_db db;
    if (cli_db_open(&db, cfg)) return 1;
    uint64_t sid;
    rc = kc_db_query(&db, SQL_SESSION_BY_CODE, "s", "u", pos[0], &sid);
    int found = rc ? rc : kc_db_fetch(&db, SQL_SESSION_BY_CODE);
    kc_db_done(&db, SQL_SESSION_BY_CODE);
    if (found != 1) {
        fprintf(stderr, "kaochang results: %s: %s\n", pos[0], found < 0 ? db.err : "no such session");
        kc_db_close(&db);
        return 1;
    }
    char ticket[33], name[129], status[16], reason[16];
    int64_t has_score, score, at;
    rc = kc_db_query(&db, SQL_RESULTS, "s", "sssiits", pos[0], ticket, sizeof ticket, name,
                      sizeof name, status, sizeof status, &has_score, &score, &at, reason,
                      sizeof reason);
    json_t *arr = json_array();
    if (!strcmp(format, "csv")) printf("ticket,name,status,score,submitted_at,reason\n");
    if (!strcmp(format, "table"))
        printf("准考证号     姓名         状态         成绩  交卷时间 (UTC)           方式\n");
    int count = 0;
    while (!rc && (rc = kc_db_fetch(&db, SQL_RESULTS)) == 1) {
        rc = 0;
        count++;
        char sc[16] = "", ts[32] = "";
        if (has_score) snprintf(sc, sizeof sc, "%.2f", (double)score / 100);
        if (at) kc_format_iso(at, ts, sizeof ts);
        if (!strcmp(format, "csv")) {
            cli_csv_field(ticket); putchar(',');
            cli_csv_field(name);
            printf(",%s,%s,%s,%s\n", status, sc, ts, reason);
        } else if (!strcmp(format, "json")) {
            json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "ticket", ticket, "name", name,
                                  "status", status, "score",
                                  has_score ? json_real((double)score / 100) : json_null(),
                                  "submitted_at", at ? json_string(ts) : json_null(), "reason",
                                  *reason ? json_string(reason) : json_null());
            json_array_append_new(arr, o);
        } else {
            printf("%-12s %s%*s %-12s %5s  %-24s %s\n", ticket, name, 12 - cli_width(name), "", status,
                   *sc ? sc : "-", *ts ? ts : "-", *reason ? reason : "-");
        }
    }
    kc_db_done(&db, SQL_RESULTS);
    if (rc < 0) fprintf(stderr, "kaochang results: %s\n", db.err);
    else if (!strcmp(format, "json")) {
        char *s = json_dumps(arr, JSON_INDENT(2));
        puts(s);
        free(s);
    } else if (!strcmp(format, "table"))
        printf("(%d candidate%s)\n", count, count == 1 ? "" : "s");
    json_decref(arr);
    kc_db_close(&db);
    return rc < 0 ? 1 : 0;
}


int cli__attempt(srv_config *cfg, int argc, char **argv)
{
    const char *reason = NULL;
    struct cli_opt opts[] = {{"--reason", 1, &reason, NULL}, {NULL, 0, NULL, NULL}};
    char *pos[3];
    int npos, rc = cli_parse_opts("attempt", opts, argc, argv, pos, 3, &npos);
    if (rc) return rc;
    if (npos != 3 || strcmp(pos[0], "extra-time")) {
        fprintf(stderr, "kaochang attempt: expected extra-time TICKET MINUTES (see --help)\n");
        return 2;
    }
    char *end;
    long minutes = strtol(pos[2], &end, 10);
    if (*end || end == pos[2]) {
        fprintf(stderr, "kaochang attempt extra-time: MINUTES must be a whole number, got \"%s\"\n", pos[2]);
        return 2;
    }
    kc_db db;
    if (cli_db_open(&db, cfg)) return 1;
    char err[200] = "";
    int64_t deadline;
    rc = exam_extra_time(&db, pos[1], (int)(minutes > 100000 ? 100000 : minutes < -1 ? -1 : minutes),
                         "cli", reason, &deadline, err, sizeof err);
    if (rc) {
        fprintf(stderr, "kaochang attempt extra-time: %s\n", err[0] ? err : db.err);
        kc_db_close(&db);
        return 1;
    }
    char at[32];
    if (deadline) {
        kc_format_iso(deadline, at, sizeof at);
        printf("%s: +%ld min, deadline now %s (UTC)\n", pos[1], minutes, at);
    } else {
        printf("%s: +%ld min, added when the attempt starts\n", pos[1], minutes);
    }
    kc_db_close(&db);
    return 0;
}

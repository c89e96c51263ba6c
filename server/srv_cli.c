/* The kaochang command line: one binary, subcommands. Global options (config and
 * database) may appear anywhere; each subcommand documents its own flags in --help. */
#include "srv_int.h"

#include <openssl/rand.h>
#include "../importers/imp.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char GLOBAL_HELP[] =
    "Global options (anywhere on the line):\n"
    "  --config FILE        configuration file (default: $KAOCHANG_CONFIG, else ./kaochang.conf if present)\n"
    "  --set SECTION.KEY=V  override one setting, e.g. --set pools.staff_workers=4\n"
    "  --db-host HOST       MariaDB host            (db.host)\n"
    "  --db-port PORT       MariaDB port            (db.port)\n"
    "  --db-socket PATH     MariaDB unix socket     (db.socket)\n"
    "  --db-user USER       MariaDB user            (db.user)\n"
    "  --db-password PW     MariaDB password        (db.password)\n"
    "  --db-name NAME       database name           (db.database)\n"
    "  -h, --help           help for kaochang or for a command\n";

static const char MAIN_HELP[] =
    "kaochang — proctored online exams\n\n"
    "Usage: kaochang [global options] COMMAND [options]\n\n"
    "Commands:\n"
    "  serve                       run the HTTP/WebSocket server\n"
    "  db migrate                  create or upgrade the database schema\n"
    "  bank import|export|edit     import items from a question-bank file, write the bank out,\n"
    "                              or save edits of items\n"
    "  bank occupation|blueprint   the catalog: occupations, 鉴定要素细目表 (blueprints)\n"
    "  bank review|approve|return|retire|restore   the review lifecycle of items\n"
    "  bank list|health            browse the bank; bank health per occupation + level\n"
    "  paper create                make a fixed paper from bank items\n"
    "  session create              plan an exam session for a paper\n"
    "  session add-candidates      register candidates (admission tickets) for a session\n"
    "  session practical|schedule  the practical part: task, station (工位) and time slot per\n"
    "                              candidate; printable schedules\n"
    "  results SESSION             print the results of a session\n"
    "  config                      print the effective configuration\n\n";

struct cmd {
    const char *name;
    int (*run)(srv_config *cfg, int argc, char **argv);
    const char *help;
    const char *more;       /* help of subcommands kept with their code, or NULL */
};

/* ---- small helpers ---- */

int cli_db_open(kc_db *db, const srv_config *cfg)
{
    if (kc_db_open(db, &cfg->db)) {
        fprintf(stderr, "kaochang: %s\n", db->err);
        kc_db_close(db);
        return 1;
    }
    return 0;
}

/* Options of a subcommand: "--name value" or "--name=value"; flags take no value. */
struct opt {
    const char *name;
    int takes_value;
    const char **value;
    int *flag;
};

static int parse_opts(const char *cmd, struct opt *opts, int argc, char **argv, char **pos,
                      int maxpos, int *npos)
{
    *npos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) || !a[2]) {
            if (*npos == maxpos) {
                fprintf(stderr, "kaochang %s: unexpected argument \"%s\" (see --help)\n", cmd, a);
                return 2;
            }
            pos[(*npos)++] = argv[i];
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t n = eq ? (size_t)(eq - a) : strlen(a);
        struct opt *o = opts;
        for (; o->name; o++)
            if (strlen(o->name) == n && !strncmp(o->name, a, n)) break;
        if (!o->name) {
            fprintf(stderr, "kaochang %s: unknown option %.*s (see --help)\n", cmd, (int)n, a);
            return 2;
        }
        if (o->takes_value) {
            if (eq) *o->value = eq + 1;
            else if (i + 1 < argc) *o->value = argv[++i];
            else {
                fprintf(stderr, "kaochang %s: %s needs a value\n", cmd, o->name);
                return 2;
            }
        } else {
            if (eq) {
                fprintf(stderr, "kaochang %s: %s takes no value\n", cmd, o->name);
                return 2;
            }
            *o->flag = 1;
        }
    }
    return 0;
}

/* ---- serve ---- */

static int cmd_serve(srv_config *cfg, int argc, char **argv)
{
    const char *port = NULL, *listen = NULL, *root = NULL, *workers = NULL;
    struct opt opts[] = {{"--port", 1, &port, NULL}, {"--listen", 1, &listen, NULL},
                         {"--web-root", 1, &root, NULL}, {"--db-workers", 1, &workers, NULL},
                         {NULL, 0, NULL, NULL}};
    char *pos[1];
    int npos, rc = parse_opts("serve", opts, argc, argv, pos, 0, &npos);
    if (rc) return rc;
    char err[256];
    if ((port && srv_config_set(cfg, "server.port", port, err, sizeof err)) ||
        (listen && srv_config_set(cfg, "server.listen", listen, err, sizeof err)) ||
        (root && srv_config_set(cfg, "server.web_root", root, err, sizeof err)) ||
        (workers && srv_config_set(cfg, "server.db_workers", workers, err, sizeof err))) {
        fprintf(stderr, "kaochang serve: %s\n", err);
        return 2;
    }
    enum kc_log_level lvl;
    if (!kc_log_level_parse(cfg->log_level, &lvl)) kc_log_set_level(lvl);
    return net_serve(cfg);
}

/* ---- db migrate ---- */

static int cmd_db(srv_config *cfg, int argc, char **argv)
{
    const char *dir = NULL;
    struct opt opts[] = {{"--schema-dir", 1, &dir, NULL}, {NULL, 0, NULL, NULL}};
    char *pos[1];
    int npos, rc = parse_opts("db", opts, argc, argv, pos, 1, &npos);
    if (rc) return rc;
    if (npos != 1 || strcmp(pos[0], "migrate")) {
        fprintf(stderr, "kaochang db: expected \"migrate\" (see kaochang db --help)\n");
        return 2;
    }
    /* Migrations are DDL scripts: the one connection that takes several statements at once. */
    srv_config mig = *cfg;
    mig.db.multi_statements = 1;
    kc_db db;
    if (cli_db_open(&db, &mig)) return 1;
    rc = kc_migrate(&db, dir ? dir : cfg->schema_dir, 1);
    kc_db_close(&db);
    return rc ? 1 : 0;
}

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

static int cmd_paper(srv_config *cfg, int argc, char **argv)
{
    if (argc > 0 && !strcmp(argv[0], "template")) return cli_template(cfg, argc - 1, argv + 1);
    const char *code = NULL, *title = NULL, *section = NULL, *points = NULL, *items = NULL;
    int all = 0;
    struct opt opts[] = {{"--code", 1, &code, NULL}, {"--title", 1, &title, NULL},
                         {"--section", 1, &section, NULL}, {"--points", 1, &points, NULL},
                         {"--items", 1, &items, NULL}, {"--all", 0, NULL, &all},
                         {NULL, 0, NULL, NULL}};
    char *pos[1];
    int npos, rc = parse_opts("paper", opts, argc, argv, pos, 1, &npos);
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

static int cmd_session(srv_config *cfg, int argc, char **argv)
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
    struct opt opts[] = {{"--code", 1, &code, NULL}, {"--title", 1, &title, NULL},
                         {"--paper", 1, &paper, NULL}, {"--duration", 1, &duration, NULL},
                         {"--opens", 1, &opens, NULL}, {"--closes", 1, &closes, NULL},
                         {"--show-score", 0, NULL, &show}, {"--session", 1, &session, NULL},
                         {"--template", 1, &tpl, NULL}, {"--forms", 1, &forms_s, NULL},
                         {"--seed", 1, &seed_s, NULL}, {"--exposure-cap", 1, &cap_s, NULL},
                         {"--shuffle", 1, &shuffle_s, NULL}, {"--seat-columns", 1, &cols_s, NULL},
                         {NULL, 0, NULL, NULL}};
    char *pos[2];
    int npos, rc = parse_opts("session", opts, argc, argv, pos, 2, &npos);
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

static void csv_field(const char *s)
{
    if (!strpbrk(s, ",\"\n")) { fputs(s, stdout); return; }
    putchar('"');
    for (; *s; s++) { if (*s == '"') putchar('"'); putchar(*s); }
    putchar('"');
}

/* Display width for aligning tables: CJK characters take two columns. */
static int width(const char *s)
{
    int w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80) w += *p >= 0xE0 ? 2 : 1;
    return w;
}

static int cmd_results(srv_config *cfg, int argc, char **argv)
{
    const char *format = "table";
    struct opt opts[] = {{"--format", 1, &format, NULL}, {NULL, 0, NULL, NULL}};
    char *pos[1];
    int npos, rc = parse_opts("results", opts, argc, argv, pos, 1, &npos);
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
            csv_field(ticket); putchar(',');
            csv_field(name);
            printf(",%s,%s,%s,%s\n", status, sc, ts, reason);
        } else if (!strcmp(format, "json")) {
            json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "ticket", ticket, "name", name,
                                  "status", status, "score",
                                  has_score ? json_real((double)score / 100) : json_null(),
                                  "submitted_at", at ? json_string(ts) : json_null(), "reason",
                                  *reason ? json_string(reason) : json_null());
            json_array_append_new(arr, o);
        } else {
            printf("%-12s %s%*s %-12s %5s  %-24s %s\n", ticket, name, 12 - width(name), "", status,
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

/* ---- bank: import, export, catalog, blueprints, lifecycle, list, health ---- */

/* Who the change is recorded for: --by, else the login name. */
static const char *actor_or_default(const char *by)
{
    if (by && *by) return by;
    const char *u = getenv("USER");
    return u && *u ? u : "cli";
}

/* Common item filters of list and export. 0 on success, 2 after a message. */
static int parse_filter(const char *cmd, const char *occ, const char *level, const char *status,
                        const char *type, const char *point, bank_filter *f)
{
    memset(f, 0, sizeof *f);
    if (occ && !bank_occupation_code_valid(occ)) {
        fprintf(stderr, "kaochang %s: --occupation: expected a code like 4-04-04-02, got \"%s\"\n", cmd, occ);
        return 2;
    }
    f->occupation = occ;
    if (level && (f->level = bank_level_parse(level)) < 0) {
        fprintf(stderr, "kaochang %s: --level: expected 五级 … 一级 (or 5 … 1, L4, 中级工), got \"%s\"\n", cmd, level);
        return 2;
    }
    if (status && bank_status_parse(status, &f->status)) {
        fprintf(stderr, "kaochang %s: --status must be draft, reviewed, approved or retired\n", cmd);
        return 2;
    }
    if (type && bank_type_parse(type, &f->type) && bank_type_parse_label(type, &f->type)) {
        fprintf(stderr, "kaochang %s: --type: unknown item type \"%s\"\n", cmd, type);
        return 2;
    }
    f->point_code = point;
    return 0;
}

/* The rejected items of an import: distinct "FILE:LINE" locations among the diag lines
 * from index `from` on. */
static int count_locations(const kc_diag *d, size_t from)
{
    int n = 0;
    for (size_t i = from; i < d->n; i++) {
        const char *e = strstr(d->lines[i], ": ");
        size_t len = e ? (size_t)(e - d->lines[i]) : strlen(d->lines[i]);
        int seen = 0;
        for (size_t k = from; k < i && !seen; k++)
            seen = !strncmp(d->lines[k], d->lines[i], len) && !strncmp(d->lines[k] + len, ": ", 2);
        n += !seen;
    }
    return n;
}

/* 1 when a diag line from index `from` on is about the item (or one of its sub-items). */
static int item_has_diag(const bank_item *it, const kc_diag *d, size_t from)
{
    char where[600];
    snprintf(where, sizeof where, "%s%s%d: ", it->file ? it->file : "",
             it->file && it->file[0] && it->file[strlen(it->file) - 1] == '!' ? "" : ":", it->line);
    for (size_t i = from; i < d->n; i++)
        if (!strncmp(d->lines[i], where, strlen(where))) return 1;
    for (int c = 0; c < it->n_children; c++)
        if (item_has_diag(&it->children[c], d, from)) return 1;
    return 0;
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Items by type and by 鉴定点, the same for --dry-run and a real import. */
static void import_summary(FILE *out, const bank_itemset *set)
{
    int by_type[BANK_TYPE_MAX + 1] = {0};
    json_t *by_point = json_object();
    for (size_t i = 0; i < set->n; i++) {
        const bank_item *it = &set->items[i];
        if (it->type >= BANK_SINGLE && it->type <= BANK_TYPE_MAX) by_type[it->type]++;
        const char *pc = it->point_code ? it->point_code : "(none)";
        json_t *v = json_object_get(by_point, pc);
        json_object_set_new(by_point, pc, json_integer(v ? json_integer_value(v) + 1 : 1));
    }
    fprintf(out, "  by type:");
    for (int t = BANK_SINGLE; t <= BANK_TYPE_MAX; t++)
        if (by_type[t]) fprintf(out, " %s=%d", bank_type_name((enum bank_item_type)t), by_type[t]);
    fprintf(out, "\n  by 鉴定点:");
    size_t n = json_object_size(by_point), k = 0;
    const char **keys = calloc(n + 1, sizeof *keys), *key;
    json_t *v;
    json_object_foreach(by_point, key, v) if (keys) keys[k++] = key;
    if (keys) qsort(keys, k, sizeof *keys, cmp_str);
    for (size_t i = 0; i < k; i++)
        fprintf(out, " %s=%lld", keys[i], (long long)json_integer_value(json_object_get(by_point, keys[i])));
    fprintf(out, "\n");
    free(keys);
    json_decref(by_point);
}

static const char SQL_IMPORT_LOG[] =
    "INSERT INTO bank_import (file, format, actor, items_new, versions_new, unchanged, rejected,"
    " report) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";

static int cli_bank_import(srv_config *cfg, int argc, char **argv)
{
    const char *format = NULL, *occ = NULL, *level = NULL, *status = NULL, *by = NULL;
    int dry = 0, skip = 0;
    struct opt opts[] = {{"--format", 1, &format, NULL}, {"--dry-run", 0, NULL, &dry},
                         {"--skip-invalid", 0, NULL, &skip}, {"--occupation", 1, &occ, NULL},
                         {"--level", 1, &level, NULL}, {"--status", 1, &status, NULL},
                         {"--by", 1, &by, NULL}, {NULL, 0, NULL, NULL}};
    char *pos[1];
    int npos, rc = parse_opts("bank import", opts, argc, argv, pos, 1, &npos);
    if (rc) return rc;
    if (npos != 1) {
        fprintf(stderr, "kaochang bank import: expected one FILE (see kaochang bank --help)\n");
        return 2;
    }
    imp_format f;
    if (!format || imp_format_parse(format, &f)) {
        char fmts[256];
        fprintf(stderr, "kaochang bank import: --format must be one of: %s\n",
                imp_format_list(0, fmts, sizeof fmts));
        return 2;
    }
    bank_filter fl;
    if ((rc = parse_filter("bank import", occ, level, status, NULL, NULL, &fl))) return rc;
    if (fl.status == BANK_RETIRED) {
        fprintf(stderr, "kaochang bank import: --status must be draft, reviewed or approved\n");
        return 2;
    }
    const char *file = pos[0], *actor = actor_or_default(by);
    kc_arena *a = kc_arena_new(0);
    bank_itemset set, keep;
    kc_diag d;
    bank_itemset_init(&set, a);
    kc_diag_init(&d, a);
    rc = imp_parse_file(f, file, &set, &d);
    if (rc < 0) {
        for (size_t i = 0; i < d.n; i++) fprintf(stderr, "%s\n", d.lines[i]);
        fprintf(stderr, "%s: nothing was imported\n", file);
        kc_arena_free(a);
        return 1;
    }
    int rejected = count_locations(&d, 0);
    bank_store_report rep = {0, 0, 0};
    int exit_rc = rejected ? 1 : 0, wrote = 0;
    if (!dry) {
        kc_db db;
        if (cli_db_open(&db, cfg)) {
            for (size_t i = 0; i < d.n; i++) fprintf(stderr, "%s\n", d.lines[i]);
            fprintf(stderr, "%s: nothing was imported\n", file);
            kc_arena_free(a);
            return 1;
        }
        char err[512] = "";
        bank_store_opts so = {.import_file = file, .actor = actor, .status = fl.status,
                              .occupation = occ, .level = fl.level};
        size_t before = d.n;
        /* a rejected file without --skip-invalid is only recorded, with its report */
        rc = (rejected && !skip) || !set.n ? KC_EINVAL
             : bank_store_items(&db, &set, &so, &rep, &d, err, sizeof err);
        if (rc == KC_EINVAL && d.n > before) {
            /* leave out the items the 鉴定点 check refused; with --skip-invalid store the rest */
            bank_itemset_init(&keep, a);
            for (size_t i = 0; i < set.n; i++) {
                if (item_has_diag(&set.items[i], &d, before)) continue;
                bank_item *it = bank_itemset_push(&keep);
                if (it) *it = set.items[i];
            }
            rejected += count_locations(&d, before);
            set = keep;
            size_t again = d.n;
            if (skip) rc = set.n ? bank_store_items(&db, &set, &so, &rep, &d, err, sizeof err) : 0;
            if (skip && rc == KC_EINVAL) rejected += count_locations(&d, again);
        }
        exit_rc = rejected || rc ? 1 : 0;
        wrote = !rc;
        /* the report the author read, kept with the import */
        size_t cap = 256;
        for (size_t i = 0; i < d.n; i++) cap += strlen(d.lines[i]) + 1;
        char *report = malloc(cap), *w = report;
        if (report) {
            *w = 0;
            for (size_t i = 0; i < d.n; i++) w += sprintf(w, "%s\n", d.lines[i]);
            if (rc == -1) snprintf(w, cap - (size_t)(w - report), "%s\n", err);
            else sprintf(w, "imported: %d new, %d new versions, %d unchanged; rejected: %d\n",
                         rc ? 0 : rep.inserted, rc ? 0 : rep.versions, rc ? 0 : rep.unchanged, rejected);
            /* bank_import.file is VARCHAR(255): the file name matters more than the folders */
            const char *shown = file;
            while (strlen(shown) > 255) {
                shown++;
                while (((unsigned char)*shown & 0xC0) == 0x80) shown++;
            }
            if (kc_db_exec(&db, SQL_IMPORT_LOG, "sssiiiis", shown, imp_format_name(f), actor,
                            (int64_t)(rc ? 0 : rep.inserted), (int64_t)(rc ? 0 : rep.versions),
                            (int64_t)(rc ? 0 : rep.unchanged), (int64_t)rejected, report))
                fprintf(stderr, "kaochang bank import: recording the import: %s\n", db.err);
            free(report);
        }
        kc_db_close(&db);
        if (rc == -1) fprintf(stderr, "%s: %s\n", file, err);
    }
    for (size_t i = 0; i < d.n; i++) fprintf(stderr, "%s\n", d.lines[i]);
    /* a terminal shows the problems before the summary that counts them */
    fflush(stderr);
    printf("%s: %zu item%s valid%s\n", file, set.n, set.n == 1 ? "" : "s",
           dry ? " (dry run: nothing written)" : "");
    import_summary(stdout, &set);
    printf("  rejected: %d\n", rejected);
    if (wrote)
        printf("  imported: %d new, %d new versions, %d unchanged\n", rep.inserted, rep.versions,
               rep.unchanged);
    fflush(stdout);
    if (!wrote && !dry)
        fprintf(stderr, "%s: nothing was imported%s\n", file,
                rejected && !skip ? " (--skip-invalid imports the valid items)" : "");
    kc_arena_free(a);
    return exit_rc;
}

/* -o FILE among the positional arguments (parse_opts leaves single-dash words there). */
static const char *output_arg(char **pos, int npos, const char *output)
{
    for (int i = 0; i + 1 < npos; i++)
        if (!strcmp(pos[i], "-o")) return pos[i + 1];
    return output;
}

/* The items of s that the exporter's diag lines ("UID: field: reason", a sub-item's under
 * its own uid) name: those not exported as they are. */
static size_t items_noted(const bank_itemset *s, const kc_diag *d)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++) {
        const bank_item *it = &s->items[i];
        int hit = 0;
        for (int c = -1; !hit && c < it->n_children; c++) {
            const char *uid = c < 0 ? it->uid : it->children[c].uid;
            size_t ul = uid ? strlen(uid) : 0;
            for (size_t k = 0; ul && !hit && k < d->n; k++)
                hit = !strncmp(d->lines[k], uid, ul) && !strncmp(d->lines[k] + ul, ": ", 2);
        }
        n += hit;
    }
    return n;
}

static int cli_bank_export(srv_config *cfg, int argc, char **argv)
{
    const char *format = NULL, *occ = NULL, *level = NULL, *status = NULL, *type = NULL,
               *point = NULL, *output = NULL;
    struct opt opts[] = {{"--format", 1, &format, NULL}, {"--occupation", 1, &occ, NULL},
                         {"--level", 1, &level, NULL}, {"--status", 1, &status, NULL},
                         {"--type", 1, &type, NULL}, {"--point", 1, &point, NULL},
                         {"--output", 1, &output, NULL}, {NULL, 0, NULL, NULL}};
    char *pos[2];
    int npos, rc = parse_opts("bank export", opts, argc, argv, pos, 2, &npos);
    if (rc) return rc;
    output = output_arg(pos, npos, output);
    if (!output || (npos && npos != 2)) {
        fprintf(stderr, "kaochang bank export: expected -o FILE (see kaochang bank --help)\n");
        return 2;
    }
    imp_format f;
    if (!format || imp_format_parse(format, &f) || !imp_format_exportable(f)) {
        char fmts[256];
        fprintf(stderr, "kaochang bank export: --format must be one of: %s\n",
                imp_format_list(1, fmts, sizeof fmts));
        return 2;
    }
    bank_filter fl;
    if ((rc = parse_filter("bank export", occ, level, status, type, point, &fl))) return rc;
    kc_db db;
    if (cli_db_open(&db, cfg)) return 1;
    kc_arena *a = kc_arena_new(0);
    bank_itemset set;
    kc_diag d;
    bank_itemset_init(&set, a);
    kc_diag_init(&d, a);
    char err[512];
    rc = bank_load_items(&db, &fl, &set, err, sizeof err);
    kc_db_close(&db);
    if (rc) {
        fprintf(stderr, "kaochang bank export: %s\n", err);
        kc_arena_free(a);
        return 1;
    }
    rc = imp_export_file(f, &set, output, &d);
    for (size_t i = 0; i < d.n; i++) fprintf(stderr, "%s\n", d.lines[i]);
    if (rc == 0)
        printf("%s: %zu item%s exported as %s\n", output, set.n, set.n == 1 ? "" : "s",
               imp_format_name(f));
    else if (rc > 0) {
        size_t noted = items_noted(&set, &d);
        printf("%s: %zu of %zu item%s exported as %s in full, %zu left out in whole or in part"
               " (see above)\n", output, set.n - noted, set.n, set.n == 1 ? "" : "s",
               imp_format_name(f), noted);
    }
    kc_arena_free(a);
    return rc ? 1 : 0;
}

/* Splits a list on ',', '，' or '、' into at most max parts, in place. */
static int split_list(char *s, char **parts, int max)
{
    int n = 0;
    char *p = s;
    while (*p && n < max) {
        char *e = p;
        size_t sep = 0;
        while (*e) {
            if (*e == ',') { sep = 1; break; }
            if (!strncmp(e, "，", 3) || !strncmp(e, "、", 3)) { sep = 3; break; }
            e++;
        }
        char *next = sep ? e + sep : e;
        *e = 0;
        while (*p == ' ') p++;
        if (*p) parts[n++] = p;
        p = next;
    }
    return n;
}

static int cli_bank_occupation(srv_config *cfg, int argc, char **argv)
{
    const char *code = NULL, *name = NULL, *edition = NULL, *levels = NULL, *wts = NULL;
    struct opt opts[] = {{"--code", 1, &code, NULL}, {"--name", 1, &name, NULL},
                         {"--edition", 1, &edition, NULL}, {"--levels", 1, &levels, NULL},
                         {"--work-types", 1, &wts, NULL}, {NULL, 0, NULL, NULL}};
    char *pos[1];
    int npos, rc = parse_opts("bank occupation", opts, argc, argv, pos, 1, &npos);
    if (rc) return rc;
    int add = npos == 1 && !strcmp(pos[0], "add"), list = npos == 1 && !strcmp(pos[0], "list");
    if (!add && !list) {
        fprintf(stderr, "kaochang bank occupation: expected \"add\" or \"list\" (see kaochang bank --help)\n");
        return 2;
    }
    bank_occupation o = {0};
    char lv[64] = "", wt[2048] = "";
    char *parts[64];
    const char *wlist[64];
    if (add) {
        if (!code || !name) {
            fprintf(stderr, "kaochang bank occupation add: needs --code and --name\n");
            return 2;
        }
        if (!bank_occupation_code_valid(code)) {
            fprintf(stderr, "kaochang bank occupation add: --code: expected a national code N-NN-NN-NN such as 4-04-04-02, got \"%s\"\n", code);
            return 2;
        }
        o.code = code;
        o.name = name;
        o.edition = edition;
        if (levels) {
            snprintf(lv, sizeof lv, "%s", levels);
            int n = split_list(lv, parts, 5);
            for (int i = 0; i < n; i++) {
                int l = bank_level_parse(parts[i]);
                if (l < 0) {
                    fprintf(stderr, "kaochang bank occupation add: --levels: \"%s\" is not a level\n", parts[i]);
                    return 2;
                }
                o.levels[o.n_levels++] = l;
            }
        }
        if (wts) {
            snprintf(wt, sizeof wt, "%s", wts);
            o.n_work_types = split_list(wt, parts, 64);
            for (int i = 0; i < o.n_work_types; i++) wlist[i] = parts[i];
            o.work_types = wlist;
        }
    }
    kc_db db;
    if (cli_db_open(&db, cfg)) return 1;
    char err[512];
    if (add) {
        rc = bank_occupation_upsert(&db, &o, err, sizeof err);
        if (rc) fprintf(stderr, "kaochang bank occupation add: %s\n", err);
        else printf("occupation %s %s saved\n", code, name);
        kc_db_close(&db);
        return rc ? 1 : 0;
    }
    kc_arena *a = kc_arena_new(0);
    bank_occupation *v;
    size_t n;
    rc = bank_occupation_list(&db, a, &v, &n, err, sizeof err);
    kc_db_close(&db);
    if (rc) fprintf(stderr, "kaochang bank occupation list: %s\n", err);
    for (size_t i = 0; !rc && i < n; i++) {
        printf("%-10s  %s%*s  %-10s  levels:", v[i].code, v[i].name, 24 - width(v[i].name), "",
               v[i].edition ? v[i].edition : "-");
        for (int k = 0; k < v[i].n_levels; k++) printf(" %s", bank_level_name(v[i].levels[k]));
        if (v[i].n_work_types) printf("  工种:");
        for (int k = 0; k < v[i].n_work_types; k++) printf("%s%s", k ? "、" : " ", v[i].work_types[k]);
        printf("\n");
    }
    if (!rc) printf("(%zu occupation%s)\n", n, n == 1 ? "" : "s");
    kc_arena_free(a);
    return rc ? 1 : 0;
}

/* --occupation, --level and --part of the blueprint and health commands. */
static int bp_target(const char *cmd, const char *occ, const char *level, const char *part,
                     int *lv, enum bank_part *p)
{
    if (!occ || !level) {
        fprintf(stderr, "kaochang %s: needs --occupation and --level\n", cmd);
        return 2;
    }
    if (!bank_occupation_code_valid(occ)) {
        fprintf(stderr, "kaochang %s: --occupation: expected a code like 4-04-04-02, got \"%s\"\n", cmd, occ);
        return 2;
    }
    if ((*lv = bank_level_parse(level)) < 0) {
        fprintf(stderr, "kaochang %s: --level: \"%s\" is not a level (五级 … 一级, 5 … 1, L4, 中级工)\n", cmd, level);
        return 2;
    }
    *p = BANK_PART_THEORY;
    if (part && bank_part_parse(part, p)) {
        fprintf(stderr, "kaochang %s: --part must be theory or skills\n", cmd);
        return 2;
    }
    return 0;
}

static int cli_bank_blueprint(srv_config *cfg, int argc, char **argv)
{
    const char *occ = NULL, *level = NULL, *part = NULL, *format = NULL;
    struct opt opts[] = {{"--occupation", 1, &occ, NULL}, {"--level", 1, &level, NULL},
                         {"--part", 1, &part, NULL}, {"--format", 1, &format, NULL},
                         {NULL, 0, NULL, NULL}};
    char *pos[2];
    int npos, rc = parse_opts("bank blueprint", opts, argc, argv, pos, 2, &npos);
    if (rc) return rc;
    int imp = npos == 2 && !strcmp(pos[0], "import"), show = npos == 1 && !strcmp(pos[0], "show");
    if (!imp && !show) {
        fprintf(stderr, "kaochang bank blueprint: expected \"import FILE\" or \"show\" (see kaochang bank --help)\n");
        return 2;
    }
    int lv;
    enum bank_part p;
    if ((rc = bp_target("bank blueprint", occ, level, part, &lv, &p))) return rc;
    if (imp && !part) {
        fprintf(stderr, "kaochang bank blueprint import: needs --part theory or skills\n");
        return 2;
    }
    imp_format f = IMP_CSV;
    if (imp) {
        const char *file = pos[1], *dot = strrchr(file, '.');
        if (format ? imp_format_parse(format, &f) || (f != IMP_CSV && f != IMP_XLSX) : 0) {
            fprintf(stderr, "kaochang bank blueprint import: --format must be csv or xlsx\n");
            return 2;
        }
        if (!format && dot && !strcasecmp(dot, ".xlsx")) f = IMP_XLSX;
    }
    kc_arena *a = kc_arena_new(0);
    bank_blueprint b;
    kc_diag d;
    bank_blueprint_init(&b, a);
    kc_diag_init(&d, a);
    b.occupation = occ;
    b.level = lv;
    b.part = p;
    if (imp) {
        rc = imp_blueprint_parse_file(f, pos[1], &b, &d);
        for (size_t i = 0; i < d.n; i++) fprintf(stderr, "%s\n", d.lines[i]);
        if (rc || !b.n) {
            if (!rc) fprintf(stderr, "%s: no nodes in the file\n", pos[1]);
            fprintf(stderr, "%s: nothing was imported\n", pos[1]);
            kc_arena_free(a);
            return 1;
        }
        b.occupation = occ;
        b.level = lv;
        b.part = p;
    }
    kc_db db;
    if (cli_db_open(&db, cfg)) { kc_arena_free(a); return 1; }
    char err[512];
    rc = imp ? bank_blueprint_store(&db, &b, pos[1], err, sizeof err)
             : bank_blueprint_load(&db, occ, lv, p, &b, err, sizeof err);
    kc_db_close(&db);
    if (rc) {
        fprintf(stderr, "kaochang bank blueprint: %s\n", err);
        kc_arena_free(a);
        return 1;
    }
    int ranges = 0, points = 0;
    for (size_t i = 0; i < b.n; i++) b.nodes[i].is_point ? points++ : ranges++;
    if (imp) {
        printf("blueprint %s %s (%s): %d 鉴定范围, %d 鉴定点 saved\n", occ, bank_level_name(lv),
               bank_part_name(p), ranges, points);
    } else {
        printf("blueprint %s %s (%s): %d 鉴定范围, %d 鉴定点\n", occ, bank_level_name(lv),
               bank_part_name(p), ranges, points);
        for (size_t i = 0; i < b.n; i++) {
            const bank_bp_node *n = &b.nodes[i];
            int indent = 2 * (n->depth - 1);
            printf("%*s%-*s %s", indent, "", 14 - indent > 1 ? 14 - indent : 1, n->code, n->name);
            int pad = 36 - width(n->name);
            if (n->is_point) printf("%*s%c\n", pad > 1 ? pad : 1, "", n->importance ? n->importance : '-');
            else printf("%*s%d.%02d%%\n", pad > 1 ? pad : 1, "", n->weight_centi / 100, n->weight_centi % 100);
        }
    }
    kc_arena_free(a);
    return 0;
}

static int cli_bank_lifecycle(srv_config *cfg, const char *verb, int argc, char **argv)
{
    const char *by = NULL, *comment = NULL;
    struct opt opts[] = {{"--by", 1, &by, NULL}, {"--comment", 1, &comment, NULL},
                         {NULL, 0, NULL, NULL}};
    char **pos = calloc((size_t)argc + 1, sizeof *pos);
    char cmd[40];
    snprintf(cmd, sizeof cmd, "bank %s", verb);
    int npos, rc = pos ? parse_opts(cmd, opts, argc, argv, pos, argc, &npos) : 1;
    if (rc) { free(pos); return rc; }
    enum bank_status to = !strcmp(verb, "review") ? BANK_REVIEWED
                        : !strcmp(verb, "approve") ? BANK_APPROVED
                        : !strcmp(verb, "retire") ? BANK_RETIRED : BANK_DRAFT;
    if (!npos || !by || !*by) {
        fprintf(stderr, "kaochang %s: expected UID... and --by NAME (see kaochang bank --help)\n", cmd);
        free(pos);
        return 2;
    }
    if (!strcmp(verb, "return") && (!comment || !*comment)) {
        fprintf(stderr, "kaochang %s: sending items back to draft needs --comment (why)\n", cmd);
        free(pos);
        return 2;
    }
    kc_db db;
    if (cli_db_open(&db, cfg)) { free(pos); return 1; }
    int failed = 0;
    for (int i = 0; i < npos; i++) {
        char err[512];
        if (bank_item_set_status(&db, pos[i], 0, to, by, comment, err, sizeof err)) {
            fprintf(stderr, "kaochang %s: %s\n", cmd, err);
            failed++;
        } else {
            printf("%s: %s (by %s)\n", pos[i], bank_status_name(to), by);
        }
    }
    kc_db_close(&db);
    free(pos);
    return failed ? 1 : 0;
}

/* Stem text for a one-line listing: tags dropped, whitespace runs as one space, clipped. */
static void listing_text(const char *html, char *out, size_t size)
{
    char tmp[512];
    size_t n = 0;
    int in_tag = 0, space = 0;
    const char *p = html ? html : "";
    for (; *p && n + 2 < sizeof tmp; p++) {
        if (*p == '<') { in_tag = 1; continue; }
        if (in_tag) { if (*p == '>') { in_tag = 0; space = 1; } continue; }
        if (isspace((unsigned char)*p)) { space = 1; continue; }
        if (space && n) tmp[n++] = ' ';
        space = 0;
        tmp[n++] = *p;
    }
    /* cut at a character boundary when the buffer filled up */
    if (*p) {
        while (n && ((unsigned char)tmp[n - 1] & 0xC0) == 0x80) n--;
        if (n && (unsigned char)tmp[n - 1] >= 0xC0) n--;
    }
    tmp[n] = 0;
    const char *c = bank_text_clip(tmp, out, size);
    if (c != out) snprintf(out, size, "%s", c);
}

static int cli_bank_list(srv_config *cfg, int argc, char **argv)
{
    const char *occ = NULL, *level = NULL, *status = NULL, *type = NULL, *point = NULL,
               *format = "table";
    struct opt opts[] = {{"--occupation", 1, &occ, NULL}, {"--level", 1, &level, NULL},
                         {"--status", 1, &status, NULL}, {"--type", 1, &type, NULL},
                         {"--point", 1, &point, NULL}, {"--format", 1, &format, NULL},
                         {NULL, 0, NULL, NULL}};
    char *pos[1];
    int npos, rc = parse_opts("bank list", opts, argc, argv, pos, 0, &npos);
    if (rc) return rc;
    if (strcmp(format, "table") && strcmp(format, "csv") && strcmp(format, "json")) {
        fprintf(stderr, "kaochang bank list: --format must be table, csv or json\n");
        return 2;
    }
    bank_filter fl;
    if ((rc = parse_filter("bank list", occ, level, status, type, point, &fl))) return rc;
    kc_db db;
    if (cli_db_open(&db, cfg)) return 1;
    kc_arena *a = kc_arena_new(0);
    bank_itemset set;
    bank_itemset_init(&set, a);
    char err[512];
    rc = bank_load_items(&db, &fl, &set, err, sizeof err);
    kc_db_close(&db);
    if (rc) {
        fprintf(stderr, "kaochang bank list: %s\n", err);
        kc_arena_free(a);
        return 1;
    }
    json_t *arr = json_array();
    if (!strcmp(format, "csv"))
        printf("uid,version,type,status,points,difficulty,point_code,occupation,level,status_by,stem\n");
    if (!strcmp(format, "table"))
        printf("试题编号       版本  题型      状态      分值   难度  鉴定点        题干\n");
    for (size_t i = 0; i < set.n; i++) {
        const bank_item *it = &set.items[i];
        char stem[160], pts[16];
        listing_text(it->stem, stem, !strcmp(format, "table") ? 64 : sizeof stem);
        snprintf(pts, sizeof pts, "%.2f", (double)it->points_centi / 100);
        if (!strcmp(format, "csv")) {
            csv_field(it->uid);
            printf(",%d,%s,%s,%s,%d,", it->version, bank_type_name(it->type),
                   bank_status_name(it->status), pts, it->difficulty);
            csv_field(it->point_code ? it->point_code : "");
            printf(",%s,%d,", it->occupation ? it->occupation : "", it->level);
            csv_field(it->status_by ? it->status_by : "");
            putchar(',');
            csv_field(stem);
            putchar('\n');
        } else if (!strcmp(format, "json")) {
            json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:f, s:i, s:s?, s:s?, s:i, s:s?, s:s?, s:b, s:s}",
                                  "uid", it->uid, "version", it->version, "type",
                                  bank_type_name(it->type), "status", bank_status_name(it->status),
                                  "points", (double)it->points_centi / 100, "difficulty",
                                  it->difficulty, "point_code", it->point_code, "occupation",
                                  it->occupation, "level", it->level, "created_by", it->created_by,
                                  "status_by", it->status_by, "delivered", it->delivered, "stem", stem);
            if (o) json_array_append_new(arr, o);
        } else {
            printf("%-14s %4d  %-9s %-9s %5s  %4d  %-12s  %s\n", it->uid, it->version,
                   bank_type_name(it->type), bank_status_name(it->status), pts, it->difficulty,
                   it->point_code ? it->point_code : "-", stem);
        }
    }
    if (!strcmp(format, "json")) {
        char *s = json_dumps(arr, JSON_INDENT(2));
        if (s) puts(s);
        free(s);
    } else if (!strcmp(format, "table")) {
        printf("(%zu item%s)\n", set.n, set.n == 1 ? "" : "s");
    }
    json_decref(arr);
    kc_arena_free(a);
    return 0;
}

static int cli_bank_health_cmd(srv_config *cfg, int argc, char **argv)
{
    const char *occ = NULL, *level = NULL, *part = NULL;
    struct opt opts[] = {{"--occupation", 1, &occ, NULL}, {"--level", 1, &level, NULL},
                         {"--part", 1, &part, NULL}, {NULL, 0, NULL, NULL}};
    char *pos[1];
    int npos, rc = parse_opts("bank health", opts, argc, argv, pos, 0, &npos);
    if (rc) return rc;
    int lv;
    enum bank_part p;
    if ((rc = bp_target("bank health", occ, level, part, &lv, &p))) return rc;
    kc_db db;
    if (cli_db_open(&db, cfg)) return 1;
    kc_arena *a = kc_arena_new(0);
    bank_health h;
    char err[512];
    rc = bank_health_compute(&db, occ, lv, p, a, &h, err, sizeof err);
    kc_db_close(&db);
    if (rc) {
        fprintf(stderr, "kaochang bank health: %s\n", err);
        kc_arena_free(a);
        return 1;
    }
    printf("bank health %s %s (%s): %d items (newest versions, not retired)\n", occ,
           bank_level_name(lv), bank_part_name(p), h.items);
    printf("鉴定点          重要程度  items  approved\n");
    for (size_t i = 0; i < h.n_points; i++) {
        const bank_health_point *pt = &h.points[i];
        printf("%-16s %c %13d %9d%s\n", pt->code, pt->importance ? pt->importance : '-', pt->items,
               pt->approved, pt->items < BANK_HEALTH_MIN_ITEMS ? "  (fewer than 4)" : "");
    }
    printf("鉴定点 with fewer than %d items: %d of %zu\n", BANK_HEALTH_MIN_ITEMS, h.points_short,
           h.n_points);
    printf("鉴定范围 (鉴定点 vs. 2 x 鉴定比重):\n");
    for (size_t i = 0; i < h.n_ranges; i++) {
        const bank_health_range *r = &h.ranges[i];
        printf("  %*s%-12s %d.%02d%%  %d 鉴定点, needs %d%s\n", 2 * (r->depth - 1), "", r->code,
               r->weight_centi / 100, r->weight_centi % 100, r->points, r->points_needed,
               r->points < r->points_needed ? "  (short)" : "");
    }
    printf("鉴定范围 short of 鉴定点: %d of %zu\n", h.ranges_short, h.n_ranges);
    printf("X/Y/Z mix of items: X=%d Y=%d Z=%d, without a 鉴定点 of the blueprint: %d\n",
           h.items_by_importance[0], h.items_by_importance[1], h.items_by_importance[2],
           h.items_without_point);
    printf("added or revised in %d: %d of %d (%.0f%%)\n", h.year, h.items_this_year, h.items,
           h.items ? 100.0 * h.items_this_year / h.items : 0.0);
    kc_arena_free(a);
    return 0;
}

/* Edits from a file: each item (named by its 试题编号) is saved as bank_store_edit does. */
static int cli_bank_edit(srv_config *cfg, int argc, char **argv)
{
    const char *format = NULL, *occ = NULL, *level = NULL, *by = NULL, *comment = NULL;
    struct opt opts[] = {{"--format", 1, &format, NULL}, {"--occupation", 1, &occ, NULL},
                         {"--level", 1, &level, NULL}, {"--by", 1, &by, NULL},
                         {"--comment", 1, &comment, NULL}, {NULL, 0, NULL, NULL}};
    char *pos[1];
    int npos, rc = parse_opts("bank edit", opts, argc, argv, pos, 1, &npos);
    if (rc) return rc;
    imp_format f;
    if (npos != 1 || !by || !*by || !format) {
        fprintf(stderr, "kaochang bank edit: expected --format F --by NAME FILE (see kaochang bank --help)\n");
        return 2;
    }
    if (imp_format_parse(format, &f)) {
        char fmts[256];
        fprintf(stderr, "kaochang bank edit: --format must be one of: %s\n",
                imp_format_list(0, fmts, sizeof fmts));
        return 2;
    }
    bank_filter fl;
    if ((rc = parse_filter("bank edit", occ, level, NULL, NULL, NULL, &fl))) return rc;
    kc_arena *a = kc_arena_new(0);
    bank_itemset set;
    kc_diag d;
    bank_itemset_init(&set, a);
    kc_diag_init(&d, a);
    rc = imp_parse_file(f, pos[0], &set, &d);
    if (rc) {
        for (size_t i = 0; i < d.n; i++) fprintf(stderr, "%s\n", d.lines[i]);
        fprintf(stderr, "%s: nothing was saved\n", pos[0]);
        kc_arena_free(a);
        return 1;
    }
    kc_db db;
    if (cli_db_open(&db, cfg)) { kc_arena_free(a); return 1; }
    int failed = 0;
    for (size_t i = 0; i < set.n; i++) {
        bank_item *it = &set.items[i];
        char err[512] = "";
        int changed = 0;
        for (int k = -1; k < it->n_children; k++) {
            bank_item *x = k < 0 ? it : &it->children[k];
            if (!x->occupation && occ) { x->occupation = occ; changed = 1; }
            if (x->level <= 0 && fl.level > 0) { x->level = fl.level; changed = 1; }
        }
        if (changed) {
            /* the defaults are part of the edited version and of its hash */
            if (bank_item_finalize(it, a)) {
                fprintf(stderr, "kaochang bank edit: out of memory\n");
                failed++;
                break;
            }
        }
        enum bank_edit_result res;
        int ver;
        size_t before = d.n;
        rc = bank_store_edit(&db, it, by, comment, &res, &ver, &d, err, sizeof err);
        for (size_t k = before; k < d.n; k++) fprintf(stderr, "%s\n", d.lines[k]);
        if (rc) {
            if (*err) fprintf(stderr, "kaochang bank edit: %s\n", err);
            failed++;
            continue;
        }
        printf("%s: %s (version %d)\n", it->uid,
               res == BANK_EDIT_UNCHANGED ? "unchanged"
               : res == BANK_EDIT_IN_PLACE ? "draft updated in place" : "new draft version", ver);
    }
    kc_db_close(&db);
    kc_arena_free(a);
    return failed ? 1 : 0;
}

static int cmd_bank(srv_config *cfg, int argc, char **argv)
{
    const char *sub = argc ? argv[0] : "";
    if (!strcmp(sub, "import")) return cli_bank_import(cfg, argc - 1, argv + 1);
    if (!strcmp(sub, "export")) return cli_bank_export(cfg, argc - 1, argv + 1);
    if (!strcmp(sub, "occupation")) return cli_bank_occupation(cfg, argc - 1, argv + 1);
    if (!strcmp(sub, "blueprint")) return cli_bank_blueprint(cfg, argc - 1, argv + 1);
    if (!strcmp(sub, "list")) return cli_bank_list(cfg, argc - 1, argv + 1);
    if (!strcmp(sub, "edit")) return cli_bank_edit(cfg, argc - 1, argv + 1);
    if (!strcmp(sub, "health")) return cli_bank_health_cmd(cfg, argc - 1, argv + 1);
    static const char *const verbs[] = {"review", "approve", "return", "retire", "restore"};
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (!strcmp(sub, verbs[i])) return cli_bank_lifecycle(cfg, verbs[i], argc - 1, argv + 1);
    fprintf(stderr, "kaochang bank: expected import, export, edit, occupation, blueprint, review, approve,"
                    " return, retire, restore, list or health (see kaochang bank --help)\n");
    return 2;
}

static int cmd_config(srv_config *cfg, int argc, char **argv)
{
    (void)argv;
    if (argc) {
        fprintf(stderr, "kaochang config: takes no arguments\n");
        return 2;
    }
    srv_config_print(cfg, stdout);
    return 0;
}

static const struct cmd cmds[] = {
    {"serve", cmd_serve,
     "Usage: kaochang serve [--port N] [--listen ADDR] [--web-root DIR] [--db-workers N]\n\n"
     "Runs the HTTP and WebSocket server until SIGINT/SIGTERM; then it stops taking work,\n"
     "finishes pending database work and exits 0.\n"
     "  --port N          listen port (server.port, default 8080)\n"
     "  --listen ADDR     interface address (server.listen, default 127.0.0.1; \"\" = all)\n"
     "  --web-root DIR    built browser client (server.web_root)\n"
     "  --db-workers N    threads committing answers (pools.answers_workers, default 2)\n", NULL},
    {"db", cmd_db,
     "Usage: kaochang db migrate [--schema-dir DIR]\n\n"
     "Applies the migrations NNN_name.sql of DIR (db.schema_dir) not yet applied, in order,\n"
     "and records them in schema_version. A second run does nothing. A failing migration\n"
     "stops with its file name and the SQL error.\n", NULL},
    {"bank", cmd_bank,
     "Usage: kaochang bank import --format F [--dry-run] [--skip-invalid] [--occupation CODE]\n"
     "                            [--level L] [--status draft|reviewed|approved] [--by NAME] FILE\n"
     "       kaochang bank export --format F [filters] -o FILE\n"
     "       kaochang bank edit --format F --by NAME [--comment TEXT] [--occupation CODE]\n"
     "                          [--level L] FILE\n"
     "       kaochang bank occupation add --code CODE --name NAME [--edition E] [--levels 4,3]\n"
     "                                    [--work-types A,B]\n"
     "       kaochang bank occupation list\n"
     "       kaochang bank blueprint import --occupation CODE --level L --part theory|skills\n"
     "                                      [--format csv|xlsx] FILE\n"
     "       kaochang bank blueprint show --occupation CODE --level L [--part theory|skills]\n"
     "       kaochang bank review|approve|retire|restore UID... --by NAME [--comment TEXT]\n"
     "       kaochang bank return UID... --by NAME --comment TEXT\n"
     "       kaochang bank list [filters] [--format table|csv|json]\n"
     "       kaochang bank health --occupation CODE --level L [--part theory|skills]\n\n"
     "import reads a question-bank file. The whole file is validated first; every problem is\n"
     "printed as FILE:LINE: field: reason (XLSX: FILE:SHEET!ROW:). Without --skip-invalid\n"
     "nothing is written when anything is rejected; with it the valid items are imported and\n"
     "the rest reported. The exit status is 1 when anything was rejected. The summary (items\n"
     "by type and by 鉴定点, rejected, and for a real import: new items, new versions,\n"
     "unchanged) is the same for --dry-run, which needs no database. A new 试题编号 makes\n"
     "version 1; an item whose content changed makes a new version (the old one is kept);\n"
     "an unchanged one is skipped. When the occupation + level has a blueprint, every\n"
     "鉴定点代码 must be one of its 鉴定点 (theory; practical items: skills). An item with\n"
     "the same normalized type, stem and options as an earlier one of the file, or as the\n"
     "newest, not retired version of another 试题编号 in the bank, is rejected as a duplicate\n"
     "(--dry-run checks the file only). Each import is recorded with its report.\n"
     "  --format F        the file's format (docs/BANK.md; a wrong one lists those known)\n"
     "  --dry-run         validate and summarise only\n"
     "  --skip-invalid    import the valid items, report the others\n"
     "  --occupation CODE occupation of items that name none (职业代码, e.g. 4-04-04-02)\n"
     "  --level L         level of items that name none (四级, 4, L4, 中级工 ...)\n"
     "  --status S        status of the new versions (default draft)\n"
     "  --by NAME         who imports (default $USER, else \"cli\")\n"
     "export writes the newest version of every matching item (--format F: a format this\n"
     "build also writes); what a format cannot carry is left out with a message and exit\n"
     "status 1, and the summary counts the items exported in full and those left out in\n"
     "whole or in part.\n"
     "  -o FILE           the output file (also --output FILE)\n"
     "edit saves the items of FILE as edits of the items with the same 试题编号: a draft that\n"
     "  no paper holds is updated in place; otherwise a new draft version is added (a version\n"
     "  a paper holds never changes). Each item is saved on its own. An image or attachment\n"
     "  the text refers to as media:NAME that FILE does not carry is kept from the stored\n"
     "  version (a name it does not have either is refused).\n"
     "filters (export, list): --occupation CODE, --level L, --status S, --type T\n"
     "  (single multi tf fill short essay composite practical, or 单选题 ...), --point CODE\n"
     "occupation add adds or updates an occupation of the national catalog; --levels and\n"
     "  --work-types (工种) are lists separated by , or 、\n"
     "blueprint import replaces the 鉴定要素细目表 of the occupation + level + part with the\n"
     "  file's (columns 级别, 代码, 名称, 鉴定比重, 重要程度; docs/BANK.md); show prints it\n"
     "  with weights and X/Y/Z.\n"
     "review (draft -> reviewed), approve (reviewed -> approved), return (reviewed or\n"
     "  approved -> draft, with --comment), retire (-> retired), restore (retired -> draft)\n"
     "  change the newest version of each item and record who, when and the comment.\n"
     "  Only approved items go into papers.\n"
     "health prints per 鉴定点 the items (at least 4 are asked for), the 鉴定点 of each\n"
     "  鉴定范围 against twice its 鉴定比重, the X/Y/Z mix of the items and the share of\n"
     "  items added or revised this calendar year.\n", NULL},
    {"paper", cmd_paper,
     "Usage: kaochang paper create --code CODE --title TITLE (--all | --items ID,ID,...)\n"
     "                             [--section NAME] [--points P]\n\n"
     "Makes a fixed paper (固定卷) from approved items, in the given order.\n"
     "  --code CODE       unique paper code\n"
     "  --title TITLE     paper title\n"
     "  --all             every approved item (newest versions) except practical tasks,\n"
     "                    grouped by type, in import order\n"
     "  --items IDS       comma-separated item ids (试题编号); practical tasks are refused\n"
     "  --section NAME    one section heading for all items (default: one per type,\n"
     "                    numbered as met: 一、单项选择题, 二、多项选择题, 三、判断题 ...)\n"
     "  --points P        points per item (default: each item's 分值)\n",
     cli_template_help},
    {"session", cmd_session,
     "Usage: kaochang session create --code CODE --title TITLE --duration D\n"
     "                               (--template TEMPLATE [--forms N] | --paper PAPER)\n"
     "                               [--opens WHEN] [--closes WHEN] [--show-score]\n"
     "                               [--seed N] [--exposure-cap P] [--shuffle WHAT]\n"
     "                               [--seat-columns N]\n"
     "       kaochang session add-candidates --session CODE FILE\n\n"
     "create plans an exam session (场次):\n"
     "  --template T      papers from a feasible template: one per candidate (千人千卷),\n"
     "                    or with --forms N, N parallel forms (A/B/C卷) handed out\n"
     "  --paper PAPER     everyone gets this fixed paper (kaochang paper create)\n"
     "  --seed N          the session's seed (default: random); every paper's seed derives from it\n"
     "  --exposure-cap P  at most P % of the papers hold any one item (default: the template's)\n"
     "  --shuffle WHAT    items,options | items | options | none (default: the template's;\n"
     "                    with --paper: none)\n"
     "  --seat-columns N  seats per row, so seats one row apart count as neighbours too\n"
     "  --duration D      time per candidate: 90m, 1h30m, 45s (units d, h, m, s)\n"
     "  --opens WHEN      first moment to start: now (default), +2h, or 2026-12-01T01:00Z (UTC)\n"
     "  --closes WHEN     no attempt runs past this: +DURATION after --opens or a UTC time\n"
     "                    (default: --opens + duration + 1h)\n"
     "  --show-score      show candidates their score when they submit\n"
     "add-candidates registers candidates from a CSV file (UTF-8, with or without BOM, or\n"
     "GB18030) or an XLSX workbook (every sheet with the header) with the header\n"
     "准考证号,身份证号,姓名 and optionally 考场,座位号 (room, seat number), in any order;\n"
     "other columns are ignored. The whole file is checked first (ticket format, ID number\n"
     "check digit, lengths, control characters, tickets, ID numbers and seats given twice);\n"
     "problems are printed as FILE:LINE: field: reason (FILE:SHEET!ROW: for a workbook) and\n"
     "nothing is written.\n",
     cli_prepare_help},
    {"results", cmd_results,
     "Usage: kaochang results SESSION [--format table|csv|json]\n\n"
     "Prints every candidate of the session with status, score (computed on the server),\n"
     "submission time (UTC) and how it was submitted (candidate or deadline).\n", NULL},
    {"user", cli_user, cli_user_help, NULL},
    {"media", cli_media, cli_media_help, NULL},
    {"config", cmd_config,
     "Usage: kaochang config\n\nPrints the effective configuration, in kaochang.conf syntax.\n", NULL},
};

int cli_main(int argc, char **argv)
{
    srv_config cfg;
    srv_config_defaults(&cfg);
    char err[512];
    const char *conf = getenv("KAOCHANG_CONFIG");
    int help = 0;
    /* Pull out global options first, so they work before or after the command. */
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int nrest = 0;
    struct { const char *flag, *key; } db_flags[] = {
        {"--db-host", "db.host"}, {"--db-port", "db.port"}, {"--db-socket", "db.socket"},
        {"--db-user", "db.user"}, {"--db-password", "db.password"}, {"--db-name", "db.database"}};
    const char *sets[64][2];
    int nsets = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { help = 1; continue; }
        if (!strcmp(a, "--config") && i + 1 < argc) { conf = argv[++i]; continue; }
        if (!strncmp(a, "--config=", 9)) { conf = a + 9; continue; }
        if (!strcmp(a, "--set") && i + 1 < argc) {
            const char *kv = argv[++i], *eq = strchr(kv, '=');
            if (!eq || nsets == 64) {
                fprintf(stderr, "kaochang: --set expects SECTION.KEY=VALUE, got \"%s\"\n", kv);
                free(rest);
                return 2;
            }
            static char keys[64][64];
            snprintf(keys[nsets], sizeof keys[nsets], "%.*s", (int)(eq - kv), kv);
            sets[nsets][0] = keys[nsets];
            sets[nsets++][1] = eq + 1;
            continue;
        }
        int used = 0;
        for (size_t k = 0; k < sizeof db_flags / sizeof db_flags[0]; k++)
            if (!strcmp(a, db_flags[k].flag) && i + 1 < argc && nsets < 64) {
                sets[nsets][0] = db_flags[k].key;
                sets[nsets++][1] = argv[++i];
                used = 1;
            }
        if (!used) rest[nrest++] = argv[i];
    }
    if (!conf && access("kaochang.conf", R_OK) == 0) conf = "kaochang.conf";
    if (conf && srv_config_load(&cfg, conf, err, sizeof err)) {
        fprintf(stderr, "kaochang: %s\n", err);
        free(rest);
        return 2;
    }
    for (int i = 0; i < nsets; i++)
        if (srv_config_set(&cfg, sets[i][0], sets[i][1], err, sizeof err)) {
            fprintf(stderr, "kaochang: %s\n", err);
            free(rest);
            return 2;
        }
    int rc = 2;
    if (!nrest) {
        fputs(MAIN_HELP, help ? stdout : stderr);
        fputs(GLOBAL_HELP, help ? stdout : stderr);
        free(rest);
        return help ? 0 : 2;
    }
    const struct cmd *c = NULL;
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(cmds[i].name, rest[0])) c = &cmds[i];
    if (!c) {
        fprintf(stderr, "kaochang: unknown command \"%s\" (see kaochang --help)\n", rest[0]);
    } else if (help) {
        fputs(c->help, stdout);
        fputs("\n", stdout);
        if (c->more) { fputs(c->more, stdout); fputs("\n", stdout); }
        if (c->run == cmd_session) { fputs(cli_practical_help, stdout); fputs("\n", stdout); }
        fputs(GLOBAL_HELP, stdout);
        rc = 0;
    } else {
        rc = c->run(&cfg, nrest - 1, rest + 1);
    }
    free(rest);
    return rc;
}

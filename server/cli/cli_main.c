/* The kaochang command line: one binary, subcommands. Global options (config and
 * database) may appear anywhere; each subcommand documents its own flags in --help. */
#include "cli.h"

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

int cli_parse_opts(const char *cmd, struct cli_opt *opts, int argc, char **argv, char **pos,
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
        struct cli_opt *o = opts;
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

void cli_csv_field(const char *s)
{
    if (!strpbrk(s, ",\"\n")) { fputs(s, stdout); return; }
    putchar('"');
    for (; *s; s++) { if (*s == '"') putchar('"'); putchar(*s); }
    putchar('"');
}

/* Display width for aligning tables: CJK characters take two columns. */
int cli_width(const char *s)
{
    int w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80) w += *p >= 0xE0 ? 2 : 1;
    return w;
}

/* ---- serve ---- */

static int cmd_serve(srv_config *cfg, int argc, char **argv)
{
    const char *port = NULL, *listen = NULL, *root = NULL, *workers = NULL;
    struct cli_opt opts[] = {{"--port", 1, &port, NULL}, {"--listen", 1, &listen, NULL},
                         {"--web-root", 1, &root, NULL}, {"--db-workers", 1, &workers, NULL},
                         {NULL, 0, NULL, NULL}};
    char *pos[1];
    int npos, rc = cli_parse_opts("serve", opts, argc, argv, pos, 0, &npos);
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
    srv_config_node_id(cfg);    /* after --port: the default names it */
    /* The exam workers' cache of rendered papers, made before they start. */
    if (exam_paper_cache_set((size_t)cfg->paper_cache_mb << 20)) {
        fprintf(stderr, "kaochang serve: out of memory for the paper cache\n");
        return 1;
    }
    rc = net_serve(cfg);
    exam_cache_stats cs;
    exam_cache_stats_get(exam_paper_cache(), &cs);
    if (cs.hits + cs.misses)
        KC_INFO("exam", "paper cache: hits=%llu misses=%llu evictions=%llu too_big=%llu entries=%zu mb=%zu",
                 (unsigned long long)cs.hits, (unsigned long long)cs.misses,
                 (unsigned long long)cs.evictions, (unsigned long long)cs.too_big, cs.entries,
                 cs.bytes >> 20);
    exam_paper_cache_set(0);
    return rc;
}

/* ---- db migrate ---- */

static int cmd_db(srv_config *cfg, int argc, char **argv)
{
    const char *dir = NULL;
    struct cli_opt opts[] = {{"--schema-dir", 1, &dir, NULL}, {NULL, 0, NULL, NULL}};
    char *pos[1];
    int npos, rc = cli_parse_opts("db", opts, argc, argv, pos, 1, &npos);
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

static int cmd_config(srv_config *cfg, int argc, char **argv)
{
    (void)argv;
    if (argc) {
        fprintf(stderr, "kaochang config: takes no arguments\n");
        return 2;
    }
    srv_config_node_id(cfg);    /* the effective one: what serve would use */
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
    {"bank", cli__bank,
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
    {"paper", cli__paper,
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
    {"session", cli__session,
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
    {"results", cli__results,
     "Usage: kaochang results SESSION [--format table|csv|json]\n\n"
     "Prints every candidate of the session with status, score (computed on the server),\n"
     "submission time (UTC) and how it was submitted (candidate or deadline).\n", NULL},
    {"attempt", cli__attempt,
     "Usage: kaochang attempt extra-time TICKET MINUTES [--reason TEXT]\n\n"
     "Gives the candidate of TICKET extra time (1-600 minutes): a running attempt's deadline\n"
     "moves at once, and the node serving the candidate pushes the new deadline to the page\n"
     "within seconds; an attempt not yet started gets it when it starts. Recorded as an\n"
     "extra_time event (with --reason). An attempt that has ended cannot get any.\n", NULL},
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
        if (c->run == cli__session) { fputs(cli_practical_help, stdout); fputs("\n", stdout); }
        fputs(GLOBAL_HELP, stdout);
        rc = 0;
    } else {
        rc = c->run(&cfg, nrest - 1, rest + 1);
    }
    free(rest);
    return rc;
}

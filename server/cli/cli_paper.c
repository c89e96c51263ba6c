/* `kaochang paper template …` and `kaochang session prepare|verify|report|paper`: the
 * CLI side of paper assembly (the work is bank_tpl_* and bank_session_*, bank/). */
#include "cli.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

const char cli_template_help[] =
    "Usage: kaochang paper template import FILE.json [--dry-run] [--by NAME]\n"
    "       kaochang paper template check CODE\n"
    "       kaochang paper template list\n"
    "       kaochang paper template show CODE\n\n"
    "template import reads a paper template (组卷方案, docs/PAPERS.md): sections with type,\n"
    "count and points, the mode (blueprint 按鉴定点组卷, type 按题型组卷, fixed 固定卷), a\n"
    "difficulty target, the X/Y/Z mix and an exposure cap. It checks the template against\n"
    "the approved bank and stores it with the result: every rule that cannot be met is one\n"
    "line naming the rule and the shortfall, and an infeasible template cannot be used for\n"
    "a session. Exit status 1 when the file is invalid or the template is infeasible.\n"
    "  --dry-run         check only, store nothing (without a database: the file only)\n"
    "template check runs the check again against the bank as it is now.\n";

const char cli_prepare_help[] =
    "Usage: kaochang session prepare SESSION\n"
    "       kaochang session verify SESSION\n"
    "       kaochang session report SESSION\n"
    "       kaochang session paper SESSION TICKET\n\n"
    "prepare makes the paper of every candidate of the session that has none yet, in one\n"
    "transaction, and stores it: a paper per candidate from its own seed (千人千卷), or one of\n"
    "the session's parallel forms in its own order; neighbouring seats get different\n"
    "papers. Running it again makes only what is missing. Then every paper of the session\n"
    "is rendered as the candidate will see it (options in their order, images signed until\n"
    "an hour after the session closes) and stored, so starting sends it as it is; papers\n"
    "that did not change are not written again. `serve` does both by itself\n"
    "server.prepare_before minutes before a session opens (and renders again when the\n"
    "session's close moved); a candidate without a paper cannot start.\n"
    "verify regenerates every stored paper from its seed and checks it against every rule\n"
    "of the template (exit status 1 on any difference).\n"
    "report prints the forms' equivalence report (points and difficulty per 鉴定范围 and\n"
    "per type, item overlap) or, for papers per candidate, the exposure figures.\n"
    "paper prints one candidate's paper: order, section, item, points and option order.\n";

static void print_diag(const kc_diag *d, FILE *f)
{
    for (size_t i = 0; i < d->n; i++) fprintf(f, "%s\n", d->lines[i]);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            if (cap >= (16u << 20)) { free(buf); buf = NULL; errno = EFBIG; break; }
            char *x = realloc(buf, cap * 2 + 1);
            if (!x) { free(buf); buf = NULL; break; }
            buf = x;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) { buf[n] = 0; *len = n; }
    return buf;
}

static const char *mode_label(enum bank_tpl_mode m)
{
    return m == BANK_TPL_BLUEPRINT ? "按鉴定点组卷" : m == BANK_TPL_TYPE ? "按题型组卷" : "固定卷";
}

static int tpl_import(srv_config *cfg, int argc, char **argv)
{
    const char *file = NULL, *by = NULL;
    int dry = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--dry-run")) dry = 1;
        else if (!strcmp(argv[i], "--by") && i + 1 < argc) by = argv[++i];
        else if (argv[i][0] != '-' && !file) file = argv[i];
        else {
            fprintf(stderr, "kaochang paper template import: unexpected argument \"%s\" (see --help)\n", argv[i]);
            return 2;
        }
    }
    if (!file) {
        fprintf(stderr, "kaochang paper template import: expected the template file (see --help)\n");
        return 2;
    }
    size_t len;
    char *text = slurp(file, &len);
    if (!text) {
        fprintf(stderr, "%s: %s\n", file, strerror(errno));
        return 1;
    }
    const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    kc_arena *a = kc_arena_new(0);
    kc_diag d;
    kc_diag_init(&d, a);
    kc_db db;
    /* A dry run needs a database only to check against the bank; without one it checks
     * the file. */
    int have_db = !dry || kc_db_open(&db, &cfg->db) == 0;
    if (dry && !have_db) kc_db_close(&db);
    if (!dry && cli_db_open(&db, cfg)) { free(text); kc_arena_free(a); return 1; }
    bank_tpl_result res;
    char actor[160];
    snprintf(actor, sizeof actor, "%s", by ? by : getenv("USER") ? getenv("USER") : "cli");
    int rc = bank_tpl_import(have_db ? &db : NULL, text, len, base, actor, dry, a, &d, &res);
    free(text);
    print_diag(&d, stderr);
    int status = 0;
    if (rc == KC_EINVAL) {
        fprintf(stderr, "%s: the template was not %s\n", file, dry ? "accepted" : "stored");
        status = 1;
    } else if (rc) {
        fprintf(stderr, "kaochang paper template import: %s\n", db.err);
        status = 1;
    } else {
        printf("template %s: %s, %d section%s, %.2f points", res.code, mode_label(res.mode),
               res.sections, res.sections == 1 ? "" : "s", res.total_centi / 100.0);
        if (have_db)
            printf("; %s against %d approved items%s\n", res.feasible ? "feasible" : "NOT feasible",
                   res.pool, dry ? " (dry run: nothing stored)" : "");
        else
            printf("; the file is valid (dry run without a database: not checked against the bank)\n");
        if (have_db && !res.feasible) {
            fprintf(stderr, "%s: %d rule%s cannot be met; a session cannot use this template\n", file,
                    res.problems, res.problems == 1 ? "" : "s");
            status = 1;
        }
    }
    if (have_db) kc_db_close(&db);
    kc_arena_free(a);
    return status;
}

static int tpl_check(srv_config *cfg, const char *code)
{
    kc_db db;
    if (cli_db_open(&db, cfg)) return 1;
    kc_arena *a = kc_arena_new(0);
    kc_diag d;
    kc_diag_init(&d, a);
    bank_tpl_result res;
    int rc = bank_tpl_check(&db, code, a, &d, &res), status = 0;
    print_diag(&d, stderr);
    if (rc == KC_ENOTFOUND) { fprintf(stderr, "kaochang paper template check: %s: no such template\n", code); status = 1; }
    else if (rc && rc != KC_EINVAL) { fprintf(stderr, "kaochang paper template check: %s\n", db.err); status = 1; }
    else {
        printf("template %s: %s against %d approved items\n", code, res.feasible ? "feasible" : "NOT feasible", res.pool);
        status = res.feasible ? 0 : 1;
    }
    kc_db_close(&db);
    kc_arena_free(a);
    return status;
}

static const char SQL_TPL_LIST[] =
    "SELECT code, title, mode, total_centi, COALESCE(occupation_code, ''), COALESCE(level, 0),"
    " part, feasible, checked_at FROM paper_template ORDER BY code";
static const char SQL_TPL_SHOW[] =
    "SELECT spec, feasible, report, checked_at, COALESCE(source_file, ''), COALESCE(created_by, '')"
    " FROM paper_template WHERE code = ?";

static int tpl_list(srv_config *cfg)
{
    kc_db db;
    if (cli_db_open(&db, cfg)) return 1;
    char code[65], title[256], mode[16], occ[17], part[8], when[32];
    int64_t total, level, feasible, checked;
    int rc = kc_db_query(&db, SQL_TPL_LIST, "", "sssisisit", code, sizeof code, title, sizeof title,
                          mode, sizeof mode, &total, occ, sizeof occ, &level, part, sizeof part,
                          &feasible, &checked);
    int n = 0;
    while (!rc && (rc = kc_db_fetch(&db, SQL_TPL_LIST)) == 1) {
        rc = 0;
        kc_format_iso(checked, when, sizeof when);
        printf("%-20s %-9s %7.2f  %-10s %-12s %-6s %-12s checked %s  %s\n", code, mode, total / 100.0,
               occ, level ? bank_level_name((int)level) : "", part, feasible ? "feasible" : "INFEASIBLE",
               when, title);
        n++;
    }
    kc_db_done(&db, SQL_TPL_LIST);
    if (rc < 0) fprintf(stderr, "kaochang paper template list: %s\n", db.err);
    else if (!n) printf("no templates (kaochang paper template import FILE.json)\n");
    kc_db_close(&db);
    return rc < 0;
}

static int tpl_show(srv_config *cfg, const char *code)
{
    kc_db db;
    if (cli_db_open(&db, cfg)) return 1;
    size_t big = (size_t)1 << 22;
    char *spec = malloc(big), *report = malloc(big), file[256], by[129], when[32];
    int64_t feasible, checked;
    int rc = spec && report ? kc_db_query(&db, SQL_TPL_SHOW, "s", "sistss", code, spec, big, &feasible,
                                           report, big, &checked, file, sizeof file, by, sizeof by)
                            : KC_ENOMEM;
    int found = rc ? rc : kc_db_fetch(&db, SQL_TPL_SHOW);
    kc_db_done(&db, SQL_TPL_SHOW);
    int status = 0;
    if (found != 1) {
        fprintf(stderr, "kaochang paper template show: %s\n", found < 0 ? db.err : "no such template");
        status = 1;
    } else {
        json_t *j = json_loads(spec, 0, NULL);
        char *pretty = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        json_decref(j);
        kc_format_iso(checked, when, sizeof when);
        printf("%s\n", pretty ? pretty : spec);
        printf("# from %s by %s; checked %s: %s\n", *file ? file : "-", *by ? by : "-", when,
               feasible ? "feasible" : "NOT feasible");
        if (*report) printf("%s", report);
        free(pretty);
    }
    free(spec);
    free(report);
    kc_db_close(&db);
    return status;
}

int cli_template(srv_config *cfg, int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : "";
    if (!strcmp(sub, "import")) return tpl_import(cfg, argc - 1, argv + 1);
    if (!strcmp(sub, "list") && argc == 1) return tpl_list(cfg);
    if ((!strcmp(sub, "check") || !strcmp(sub, "show")) && argc == 2)
        return !strcmp(sub, "check") ? tpl_check(cfg, argv[1]) : tpl_show(cfg, argv[1]);
    fprintf(stderr, "kaochang paper template: expected import FILE, check CODE, list or show CODE (see --help)\n");
    return 2;
}

/* ---- session prepare | verify | report | paper ---- */

static const char SQL_SESSION_ID[] = "SELECT id FROM exam_session WHERE code = ?";

static int session_id(kc_db *db, const char *code, const char *cmd, uint64_t *id)
{
    int rc = kc_db_query(db, SQL_SESSION_ID, "s", "u", code, id);
    int found = rc ? rc : kc_db_fetch(db, SQL_SESSION_ID);
    kc_db_done(db, SQL_SESSION_ID);
    if (found == 1) return 0;
    fprintf(stderr, "kaochang session %s: %s: %s\n", cmd, code, found < 0 ? db->err : "no such session");
    return 1;
}

static const char SQL_ONE_PAPER[] =
    "SELECT p.items, b.spec, p.seed, COALESCE(p.form_no, 0), a.id FROM attempt a"
    " JOIN exam_session s ON s.id = a.session_id"
    " LEFT JOIN paper_instance p ON p.attempt_id = a.id LEFT JOIN paper_build b ON b.id = p.build_id"
    " WHERE s.code = ? AND a.ticket_no = ?";
static const char SQL_ITEM_BRIEF[] = "SELECT uid, version, type FROM item WHERE id = ?";

static int print_paper(kc_db *db, const char *session, const char *ticket)
{
    size_t big = (size_t)1 << 22;
    char *items = malloc(big), *spec = malloc(big);
    uint64_t seed, aid;
    int64_t form;
    int rc = items && spec ? kc_db_query(db, SQL_ONE_PAPER, "ss", "ssuiu", session, ticket, items, big,
                                          spec, big, &seed, &form, &aid)
                           : KC_ENOMEM;
    int found = rc ? rc : kc_db_fetch(db, SQL_ONE_PAPER);
    kc_db_done(db, SQL_ONE_PAPER);
    int status = 0;
    if (found != 1) {
        fprintf(stderr, "kaochang session paper: %s\n", found < 0 ? db->err : "no such ticket in this session");
        status = 1;
    } else if (!*items) {
        fprintf(stderr, "kaochang session paper: %s has no paper yet (kaochang session prepare %s)\n", ticket, session);
        status = 1;
    } else {
        json_t *it = json_loads(items, 0, NULL), *sp = json_loads(spec, 0, NULL), *e;
        json_t *secs = json_object_get(sp, "sections");
        size_t k;
        printf("paper of %s (attempt %llu): seed %llu", ticket, (unsigned long long)aid, (unsigned long long)seed);
        if (form) printf(", form %c", (int)('A' + form - 1));
        printf("\n");
        json_int_t last = -1;
        json_array_foreach(it, k, e) {
            json_int_t sec = json_integer_value(json_object_get(e, "s"));
            if (sec != last) {
                const char *t = json_string_value(json_object_get(json_array_get(secs, (size_t)sec), "title"));
                printf("%s\n", t && *t ? t : "(section)");
                last = sec;
            }
            uint64_t id = (uint64_t)json_integer_value(json_object_get(e, "i"));
            char uid[65] = "?", type[17] = "?";
            int64_t ver = 0;
            if (!kc_db_query(db, SQL_ITEM_BRIEF, "u", "sis", id, uid, sizeof uid, &ver, type, sizeof type) &&
                kc_db_fetch(db, SQL_ITEM_BRIEF) != 1)
                snprintf(uid, sizeof uid, "?");
            kc_db_done(db, SQL_ITEM_BRIEF);
            const char *perm = json_string_value(json_object_get(e, "o"));
            printf("%4zu. %-24s v%-3lld %-10s %6.2f", k + 1, uid, (long long)ver, type,
                   json_integer_value(json_object_get(e, "p")) / 100.0);
            if (perm && *perm) printf("  options shown as A..: %s", perm);
            printf("\n");
        }
        json_decref(it);
        json_decref(sp);
    }
    free(items);
    free(spec);
    return status;
}

/* After a prepare: every paper of the session rendered as the candidate will see it (again,
 * when it was prepared before: what changed is stored, the rest stays). */
static int render_papers(kc_db *db, uint64_t session_id, const char *code)
{
    unsigned char key[32], mkey[32];
    if (exam_token_secret_load(db, key)) {
        fprintf(stderr, "kaochang session prepare: the token secret: %s\n", db->err);
        return 1;
    }
    media_key_derive(key, mkey);
    kc_arena *a = kc_arena_new(0);
    if (!a) return 1;
    kc_diag d;
    kc_diag_init(&d, a);
    exam_render_report rr;
    int rc = exam_render_session(db, mkey, session_id, 0, &d, &rr), status = 0;
    print_diag(&d, stderr);
    if (rc) {
        fprintf(stderr, "kaochang session prepare: rendering the papers: %s\n", db->err);
        status = 1;
    } else {
        printf("  rendered %d paper%s for the candidates (%d stored, %d unchanged", rr.papers,
               rr.papers == 1 ? "" : "s", rr.stored, rr.papers - rr.stored - rr.failed);
        if (rr.papers - rr.failed > 0)
            printf(", %lld KB each on average", (long long)(rr.bytes / (rr.papers - rr.failed) + 512) / 1024);
        printf(") in %.2f s\n", rr.ms / 1000.0);
        if (rr.failed) {
            fprintf(stderr, "session %s: %d paper%s cannot be rendered: those candidates cannot start\n",
                    code, rr.failed, rr.failed == 1 ? "" : "s");
            status = 1;
        }
    }
    kc_arena_free(a);
    return status;
}

int cli_prepare(srv_config *cfg, const char *sub, int argc, char **argv)
{
    if (argc != (strcmp(sub, "paper") ? 1 : 2) || argv[0][0] == '-') {
        fprintf(stderr, "kaochang session %s: expected %s (see kaochang session --help)\n", sub,
                strcmp(sub, "paper") ? "the session code" : "the session code and a ticket number");
        return 2;
    }
    kc_db db;
    if (cli_db_open(&db, cfg)) return 1;
    uint64_t id;
    int status = 0;
    if (!strcmp(sub, "paper")) {
        status = print_paper(&db, argv[0], argv[1]);
        kc_db_close(&db);
        return status;
    }
    if (session_id(&db, argv[0], sub, &id)) { kc_db_close(&db); return 1; }
    kc_arena *a = kc_arena_new(0);
    kc_diag d;
    kc_diag_init(&d, a);
    if (!strcmp(sub, "prepare")) {
        bank_prep r;
        char actor[160];
        snprintf(actor, sizeof actor, "%s", getenv("USER") ? getenv("USER") : "cli");
        int rc = bank_session_prepare(&db, id, actor, &d, &r);
        print_diag(&d, stderr);
        if (rc == KC_EINVAL) {
            fprintf(stderr, "session %s: no paper was made\n", argv[0]);
            status = 1;
        } else if (rc) {
            fprintf(stderr, "kaochang session prepare: %s\n", db.err);
            status = 1;
        } else {
            printf("session %s: %d candidates, %d papers made, %d already made", argv[0], r.attempts,
                   r.made, r.existing);
            if (r.forms) printf(", %d parallel forms", r.forms);
            printf("; in %.2f s\n", r.ms / 1000.0);
            if (r.made)
                printf("  the most-used item is on %u of %d papers%s\n", r.max_on, r.attempts,
                       r.exposure_limit ? "" : " (no exposure cap)");
            if (r.neighbours_same)
                printf("  %d candidates have a neighbour with the same paper: the bank allows no other\n",
                       r.neighbours_same);
            status = render_papers(&db, id, argv[0]);
        }
    } else if (!strcmp(sub, "verify")) {
        int checked;
        int rc = bank_session_verify(&db, id, &d, &checked);
        print_diag(&d, stderr);
        if (rc && rc != KC_EINVAL) fprintf(stderr, "kaochang session verify: %s\n", db.err);
        if (rc || d.n) {
            fprintf(stderr, "session %s: %zu problem%s in %d papers\n", argv[0], d.n, d.n == 1 ? "" : "s", checked);
            status = 1;
        } else {
            printf("session %s: %d papers regenerated from their seeds: all identical, every rule met\n",
                   argv[0], checked);
        }
    } else if (!strcmp(sub, "report")) {
        char *text;
        int rc = bank_session_report(&db, id, a, &text);
        if (rc) { fprintf(stderr, "kaochang session report: %s\n", db.err); status = 1; }
        else printf("%s", text);
    }
    kc_arena_free(a);
    kc_db_close(&db);
    return status;
}

/* `kaochang bank …`: import, export, occupations, blueprints, the lifecycle, listing,
 * health and edits, over bank/ and importers/. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

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
    struct cli_opt opts[] = {{"--format", 1, &format, NULL}, {"--dry-run", 0, NULL, &dry},
                         {"--skip-invalid", 0, NULL, &skip}, {"--occupation", 1, &occ, NULL},
                         {"--level", 1, &level, NULL}, {"--status", 1, &status, NULL},
                         {"--by", 1, &by, NULL}, {NULL, 0, NULL, NULL}};
    char *pos[1];
    int npos, rc = cli_parse_opts("bank import", opts, argc, argv, pos, 1, &npos);
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
    struct cli_opt opts[] = {{"--format", 1, &format, NULL}, {"--occupation", 1, &occ, NULL},
                         {"--level", 1, &level, NULL}, {"--status", 1, &status, NULL},
                         {"--type", 1, &type, NULL}, {"--point", 1, &point, NULL},
                         {"--output", 1, &output, NULL}, {NULL, 0, NULL, NULL}};
    char *pos[2];
    int npos, rc = cli_parse_opts("bank export", opts, argc, argv, pos, 2, &npos);
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
    struct cli_opt opts[] = {{"--code", 1, &code, NULL}, {"--name", 1, &name, NULL},
                         {"--edition", 1, &edition, NULL}, {"--levels", 1, &levels, NULL},
                         {"--work-types", 1, &wts, NULL}, {NULL, 0, NULL, NULL}};
    char *pos[1];
    int npos, rc = cli_parse_opts("bank occupation", opts, argc, argv, pos, 1, &npos);
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
        printf("%-10s  %s%*s  %-10s  levels:", v[i].code, v[i].name, 24 - cli_width(v[i].name), "",
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
    struct cli_opt opts[] = {{"--occupation", 1, &occ, NULL}, {"--level", 1, &level, NULL},
                         {"--part", 1, &part, NULL}, {"--format", 1, &format, NULL},
                         {NULL, 0, NULL, NULL}};
    char *pos[2];
    int npos, rc = cli_parse_opts("bank blueprint", opts, argc, argv, pos, 2, &npos);
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
            int pad = 36 - cli_width(n->name);
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
    struct cli_opt opts[] = {{"--by", 1, &by, NULL}, {"--comment", 1, &comment, NULL},
                         {NULL, 0, NULL, NULL}};
    char **pos = calloc((size_t)argc + 1, sizeof *pos);
    char cmd[40];
    snprintf(cmd, sizeof cmd, "bank %s", verb);
    int npos, rc = pos ? cli_parse_opts(cmd, opts, argc, argv, pos, argc, &npos) : 1;
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
    struct cli_opt opts[] = {{"--occupation", 1, &occ, NULL}, {"--level", 1, &level, NULL},
                         {"--status", 1, &status, NULL}, {"--type", 1, &type, NULL},
                         {"--point", 1, &point, NULL}, {"--format", 1, &format, NULL},
                         {NULL, 0, NULL, NULL}};
    char *pos[1];
    int npos, rc = cli_parse_opts("bank list", opts, argc, argv, pos, 0, &npos);
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
            cli_csv_field(it->uid);
            printf(",%d,%s,%s,%s,%d,", it->version, bank_type_name(it->type),
                   bank_status_name(it->status), pts, it->difficulty);
            cli_csv_field(it->point_code ? it->point_code : "");
            printf(",%s,%d,", it->occupation ? it->occupation : "", it->level);
            cli_csv_field(it->status_by ? it->status_by : "");
            putchar(',');
            cli_csv_field(stem);
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
    struct cli_opt opts[] = {{"--occupation", 1, &occ, NULL}, {"--level", 1, &level, NULL},
                         {"--part", 1, &part, NULL}, {NULL, 0, NULL, NULL}};
    char *pos[1];
    int npos, rc = cli_parse_opts("bank health", opts, argc, argv, pos, 0, &npos);
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
    struct cli_opt opts[] = {{"--format", 1, &format, NULL}, {"--occupation", 1, &occ, NULL},
                         {"--level", 1, &level, NULL}, {"--by", 1, &by, NULL},
                         {"--comment", 1, &comment, NULL}, {NULL, 0, NULL, NULL}};
    char *pos[1];
    int npos, rc = cli_parse_opts("bank edit", opts, argc, argv, pos, 1, &npos);
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

int cli__bank(srv_config *cfg, int argc, char **argv)
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


/* Paper templates and `session prepare`: every attempt's paper is generated and stored
 * before the session opens, so that starting an exam is a read (docs/PAPERS.md). Runs on
 * the CLI's connection or on a worker (the automatic prepare of `serve`); nothing here
 * touches libwebsockets. */
#include "srv_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- blueprint snapshots: the blueprint as a build used it ---- */

static char *bp_to_json(const bank_blueprint *b)
{
    json_t *nodes = json_array();
    for (size_t i = 0; i < b->n; i++) {
        const bank_bp_node *n = &b->nodes[i];
        char imp[2] = {n->importance, 0};
        json_array_append_new(nodes, json_pack("[s,s,i,b,i,s,i]", n->code, n->name, n->depth,
                                               n->is_point, n->weight_centi, imp, n->parent));
    }
    json_t *o = json_pack("{s:s, s:i, s:s, s:o}", "occupation", b->occupation, "level", b->level,
                          "part", bank_part_name(b->part), "nodes", nodes);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

static int bp_from_json(const char *text, bank_blueprint *b)
{
    json_t *o = json_loads(text, 0, NULL), *nodes = json_object_get(o, "nodes"), *v;
    size_t i;
    int rc = json_is_array(nodes) ? 0 : -1;
    if (!rc) {
        b->occupation = kc_arena_strdup(b->arena, json_string_value(json_object_get(o, "occupation")) ?: "");
        b->level = (int)json_integer_value(json_object_get(o, "level"));
        if (bank_part_parse(json_string_value(json_object_get(o, "part")) ?: "", &b->part)) rc = -1;
    }
    json_array_foreach(nodes, i, v) {
        if (rc) break;
        bank_bp_node *n = bank_blueprint_push(b);
        const char *code, *name, *imp;
        int depth, point, weight, parent;
        if (!n || json_unpack(v, "[s,s,i,b,i,s,i]", &code, &name, &depth, &point, &weight, &imp, &parent)) {
            rc = -1;
            break;
        }
        n->code = kc_arena_strdup(b->arena, code);
        n->name = kc_arena_strdup(b->arena, name);
        n->depth = depth;
        n->is_point = point;
        n->weight_centi = weight;
        n->importance = imp[0];
        n->parent = parent;
    }
    json_decref(o);
    return rc;
}

/* ---- templates ---- */

static const char SQL_TPL_UPSERT[] =
    "INSERT INTO paper_template (code, title, occupation_code, level, part, mode, total_centi,"
    " spec, feasible, report, checked_at, source_file, created_by)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE title = VALUES(title),"
    " occupation_code = VALUES(occupation_code), level = VALUES(level), part = VALUES(part),"
    " mode = VALUES(mode), total_centi = VALUES(total_centi), spec = VALUES(spec),"
    " feasible = VALUES(feasible), report = VALUES(report), checked_at = VALUES(checked_at),"
    " source_file = VALUES(source_file), updated_at = UTC_TIMESTAMP(3)";
static const char SQL_TPL_SPEC[] =
    "SELECT id, spec FROM paper_template WHERE code = ?";
static const char SQL_TPL_SET_CHECK[] =
    "UPDATE paper_template SET feasible = ?, report = ?, checked_at = ? WHERE id = ?";

/* Loads what a template is checked against: the approved pool of its occupation + level,
 * and for 按鉴定点组卷 (or a scope) its blueprint. */
static int tpl_inputs(kc_db *db, const bank_tpl *t, kc_arena *a, kc_diag *d,
                      bank_blueprint **bp, bank_pool *pool)
{
    char err[512];
    *bp = NULL;
    int need_bp = t->mode == BANK_TPL_BLUEPRINT;
    for (int i = 0; i < t->n_sections; i++)
        if (t->sections[i].n_scope) need_bp = 1;
    if (need_bp && t->occupation && t->level) {
        bank_blueprint *b = kc_arena_alloc(a, sizeof *b);
        if (!b) return KC_ENOMEM;
        bank_blueprint_init(b, a);
        int rc = bank_blueprint_load(db, t->occupation, t->level, t->part, b, err, sizeof err);
        if (rc == KC_ENOTFOUND) {
            if (t->mode == BANK_TPL_BLUEPRINT) {
                kc_diag_add(d, t->file, 1, "occupation", "%s %s has no %s blueprint (鉴定要素细目表); import it first",
                              t->occupation, bank_level_name(t->level) ?: "?", bank_part_name(t->part));
                return KC_EINVAL;
            }
        } else if (rc) {
            snprintf(db->err, sizeof db->err, "%s", err);
            return KC_EDB;
        } else {
            *bp = b;
        }
    }
    if (bank_pool_load(db, t->occupation, t->level, NULL, 0, pool, err, sizeof err)) {
        snprintf(db->err, sizeof db->err, "%s", err);
        return KC_EDB;
    }
    return 0;
}

static char *diag_text(const kc_diag *d, size_t from)
{
    size_t n = 1;
    for (size_t i = from; i < d->n; i++) n += strlen(d->lines[i]) + 1;
    char *s = malloc(n), *w = s;
    if (!s) return NULL;
    *w = 0;
    for (size_t i = from; i < d->n; i++) w += sprintf(w, "%s\n", d->lines[i]);
    return s;
}

int srv_tpl_import(kc_db *db, const char *text, size_t len, const char *file, const char *actor,
                   int dry_run, kc_arena *a, kc_diag *d, srv_tpl_result *res)
{
    memset(res, 0, sizeof *res);
    bank_tpl t;
    int n = bank_tpl_parse(text, len, file, a, &t, d);
    if (n < 0) return KC_ENOMEM;
    if (n > 0) { res->problems = n; return KC_EINVAL; }
    res->code = t.code;
    res->mode = t.mode;
    res->total_centi = t.total_centi;
    res->sections = t.n_sections;
    if (!db) return 0;                        /* --dry-run without a database: the shape only */
    bank_blueprint *bp;
    bank_pool pool;
    bank_pool_init(&pool, a);
    int rc = tpl_inputs(db, &t, a, d, &bp, &pool);
    if (rc) { if (rc == KC_EINVAL) res->problems = 1; return rc; }
    res->pool = (int)pool.n;
    size_t from = d->n;
    bank_plan *plan = NULL;
    n = bank_plan_make(&t, bp, &pool, 0, a, &plan, d);
    if (n < 0) return KC_ENOMEM;
    res->problems = n;
    res->feasible = n == 0;
    if (dry_run) return 0;
    char *report = diag_text(d, from);
    const char *spec = bank_tpl_format(&t, a);
    if (!report || !spec) { free(report); return KC_ENOMEM; }
    rc = kc_db_exec(db, SQL_TPL_UPSERT, "sssissisistss", t.code, t.title, t.occupation,
                     (int64_t)t.level, bank_part_name(t.part), bank_tpl_mode_name(t.mode),
                     (int64_t)t.total_centi, spec, (int64_t)res->feasible, report, kc_now_ms(),
                     file, actor);
    free(report);
    return rc;
}

int srv_tpl_check(kc_db *db, const char *code, kc_arena *a, kc_diag *d, srv_tpl_result *res)
{
    memset(res, 0, sizeof *res);
    uint64_t id = 0;
    char *spec = malloc(1 << 22);
    if (!spec) return KC_ENOMEM;
    int rc = kc_db_query(db, SQL_TPL_SPEC, "s", "us", code, &id, spec, (size_t)1 << 22);
    int found = rc ? rc : kc_db_fetch(db, SQL_TPL_SPEC);
    kc_db_done(db, SQL_TPL_SPEC);
    if (found <= 0) { free(spec); return found < 0 ? found : KC_ENOTFOUND; }
    bank_tpl t;
    int n = bank_tpl_parse(spec, strlen(spec), code, a, &t, d);
    free(spec);
    if (n) { res->problems = n > 0 ? n : 0; return n > 0 ? KC_EINVAL : KC_ENOMEM; }
    res->code = t.code;
    res->mode = t.mode;
    res->total_centi = t.total_centi;
    res->sections = t.n_sections;
    bank_blueprint *bp;
    bank_pool pool;
    bank_pool_init(&pool, a);
    size_t from = d->n;
    rc = tpl_inputs(db, &t, a, d, &bp, &pool);
    if (rc && rc != KC_EINVAL) return rc;
    if (!rc) {
        res->pool = (int)pool.n;
        bank_plan *plan;
        n = bank_plan_make(&t, bp, &pool, 0, a, &plan, d);
        if (n < 0) return KC_ENOMEM;
    } else {
        n = 1;
    }
    res->problems = n;
    res->feasible = n == 0;
    char *report = diag_text(d, from);
    if (!report) return KC_ENOMEM;
    rc = kc_db_exec(db, SQL_TPL_SET_CHECK, "istu", (int64_t)res->feasible, report, kc_now_ms(), id);
    free(report);
    return rc;
}

/* ---- session prepare ---- */

static const char SQL_PREP_SESSION[] =
    "SELECT s.template_id, COALESCE(s.paper_id, 0), s.forms, s.seed, COALESCE(s.exposure_cap_pct, 0),"
    " COALESCE(s.shuffle, 255), s.seat_columns, COALESCE(t.spec, ''), COALESCE(t.feasible, 0),"
    " COALESCE(t.code, '')"
    " FROM exam_session s LEFT JOIN paper_template t ON t.id = s.template_id WHERE s.id = ? FOR UPDATE";
static const char SQL_PREP_COUNT[] =
    "SELECT COUNT(*), COUNT(p.attempt_id), COALESCE(MAX(p.gen_no), 0) FROM attempt a"
    " LEFT JOIN paper_instance p ON p.attempt_id = a.id WHERE a.session_id = ?";
static const char SQL_PREP_ATTEMPTS[] =
    "SELECT a.id, COALESCE(a.room, ''), COALESCE(a.seat, 0), p.attempt_id IS NOT NULL,"
    " COALESCE(p.form_no, 0), COALESCE(p.items, '') FROM attempt a"
    " LEFT JOIN paper_instance p ON p.attempt_id = a.id WHERE a.session_id = ? ORDER BY a.id";
static const char SQL_FIRST_BUILD[] =
    "SELECT id, spec, COALESCE(blueprint, '') FROM paper_build WHERE session_id = ? ORDER BY id LIMIT 1";
static const char SQL_BUILD_ITEMS[] =
    "SELECT item_id FROM paper_build_item WHERE build_id = ? ORDER BY item_id";
static const char SQL_BUILD_ADD[] =
    "INSERT INTO paper_build (session_id, spec, blueprint, papers, exposure_limit, created_by, engine)"
    " VALUES (?, ?, ?, 0, ?, ?, ?)";
static const char SQL_BUILD_DONE[] = "UPDATE paper_build SET papers = ? WHERE id = ?";
static const char SQL_FORMS[] =
    "SELECT form_no, seed, items FROM paper_form WHERE session_id = ? ORDER BY form_no";
static const char SQL_FORM_ADD[] =
    "INSERT INTO paper_form (session_id, form_no, build_id, seed, items, total_centi)"
    " VALUES (?, ?, ?, ?, ?, ?)";
static const char SQL_PREPARED[] =
    "UPDATE exam_session SET prepared_at = ? WHERE id = ?";
static const char SQL_FIXED_PAPER[] =
    "SELECT p.code, p.title, pi.item_id, i.uid, i.type, pi.section, pi.points_centi"
    " FROM paper p JOIN paper_item pi ON pi.paper_id = p.id JOIN item i ON i.id = pi.item_id"
    " WHERE p.id = ? ORDER BY pi.position";

/* A session made with --paper hands out that fixed paper: the same as a fixed template
 * whose sections are the paper's (split where the type changes). */
static int tpl_from_paper(kc_db *db, uint64_t paper_id, kc_arena *a, bank_tpl *t,
                          uint64_t **ids, size_t *n_ids)
{
    char code[65], title[256], uid[65], type[17], section[129], last[129] = "";
    uint64_t item_id;
    int64_t points;
    size_t cap = 0, ns = 0, nsec_cap = 0;
    enum bank_item_type last_type = 0;
    memset(t, 0, sizeof *t);
    *ids = NULL;
    *n_ids = 0;
    struct { int from, n; } *secs = NULL;
    const char **uids = NULL;
    int *pts = NULL;
    int rc = kc_db_query(db, SQL_FIXED_PAPER, "u", "ssusssi", paper_id, code, sizeof code, title,
                          sizeof title, &item_id, uid, sizeof uid, type, sizeof type, section,
                          sizeof section, &points);
    while (!rc && (rc = kc_db_fetch(db, SQL_FIXED_PAPER)) == 1) {
        rc = 0;
        enum bank_item_type ty;
        if (bank_type_parse(type, &ty)) { rc = KC_EDB; snprintf(db->err, sizeof db->err, "item %s: unknown type", uid); break; }
        if (*n_ids == cap) {
            cap = cap ? cap * 2 : 64;
            void *x = realloc(*ids, cap * sizeof **ids), *y = realloc(uids, cap * sizeof *uids),
                 *z = realloc(pts, cap * sizeof *pts);
            if (x) *ids = x;
            if (y) uids = y;
            if (z) pts = z;
            if (!x || !y || !z) { rc = KC_ENOMEM; break; }
        }
        if (!ns || strcmp(section, last) || ty != last_type) {
            if (ns == nsec_cap) {
                nsec_cap = nsec_cap ? nsec_cap * 2 : 8;
                void *x = realloc(secs, nsec_cap * sizeof *secs);
                if (!x) { rc = KC_ENOMEM; break; }
                secs = x;
            }
            secs[ns].from = (int)*n_ids;
            secs[ns].n = 0;
            ns++;
            if (!t->n_sections) { t->code = kc_arena_strdup(a, code); t->title = kc_arena_strdup(a, title); }
            t->n_sections++;
            snprintf(last, sizeof last, "%s", section);
            last_type = ty;
            /* the section's title and type, kept in the section arrays below */
            bank_tpl_section *sv = kc_arena_alloc(a, ns * sizeof *sv);
            if (!sv) { rc = KC_ENOMEM; break; }
            if (t->sections) memcpy(sv, t->sections, (ns - 1) * sizeof *sv);
            t->sections = sv;
            sv[ns - 1].title = kc_arena_strdup(a, section);
            sv[ns - 1].type = ty;
        }
        (*ids)[*n_ids] = item_id;
        uids[*n_ids] = kc_arena_strdup(a, uid);
        pts[*n_ids] = (int)points;
        (*n_ids)++;
        secs[ns - 1].n++;
        t->total_centi += (int)points;
    }
    kc_db_done(db, SQL_FIXED_PAPER);
    if (rc >= 0 && !*n_ids) { rc = KC_EINVAL; snprintf(db->err, sizeof db->err, "the session's paper has no items"); }
    if (rc >= 0) {
        rc = 0;
        t->mode = BANK_TPL_FIXED;
        t->part = BANK_PART_THEORY;
        t->exposure_cap_pct = 100;
        t->file = t->code;
        for (size_t s = 0; s < ns && !rc; s++) {
            bank_tpl_section *sec = &t->sections[s];
            sec->n_fixed = sec->count = secs[s].n;
            const char **fu = kc_arena_alloc(a, (size_t)secs[s].n * sizeof *fu);
            int *fp = kc_arena_alloc(a, (size_t)secs[s].n * sizeof *fp);
            if (!fu || !fp) { rc = KC_ENOMEM; break; }
            for (int k = 0; k < secs[s].n; k++) {
                fu[k] = uids[secs[s].from + k];
                fp[k] = pts[secs[s].from + k];
            }
            sec->fixed = fu;
            sec->fixed_points = fp;
        }
    }
    free(secs);
    free(uids);
    free(pts);
    return rc;
}

/* Bulk inserts: many rows per statement (kc_db_rows), a handful of cached statements. */
#define INS_ROWS 50
#define INS_COLS 9
struct ins_row { uint64_t v[INS_COLS]; const char *items; int null_form; };

static int ins_flush(kc_db *db, struct ins_row *rows, int n)
{
    kc_param p[INS_ROWS * INS_COLS];
    for (int r = 0; r < n; r++)
        for (int c = 0; c < INS_COLS; c++) {
            kc_param *x = &p[r * INS_COLS + c];
            if (c == 6) *x = (kc_param){'s', 0, rows[r].items, 0};
            else if (c == 4 && rows[r].null_form) *x = (kc_param){'n', 0, NULL, 0};
            else *x = (kc_param){'u', (int64_t)rows[r].v[c], NULL, 0};
        }
    return kc_db_rows(db, "INSERT INTO paper_instance (attempt_id, session_id, build_id, gen_no,"
                      " form_no, seed, items, n_items, total_centi) VALUES",
                      "(?,?,?,?,?,?,?,?,?)", "", p, (size_t)n, INS_ROWS);
}

/* The pool rows of a build: its versions stay immutable (an edit makes a new version). */
static int pool_store(kc_db *db, uint64_t build_id, const bank_pool *pool)
{
    if (!pool->n) return 0;
    kc_param *p = calloc(pool->n * 2, sizeof *p);
    if (!p) return KC_ENOMEM;
    for (size_t i = 0; i < pool->n; i++) {
        p[2 * i] = (kc_param){'u', (int64_t)build_id, NULL, 0};
        p[2 * i + 1] = (kc_param){'u', (int64_t)pool->items[i].id, NULL, 0};
    }
    int rc = kc_db_rows(db, "INSERT INTO paper_build_item (build_id, item_id) VALUES", "(?,?)", "",
                        p, pool->n, 200);
    free(p);
    return rc;
}

static void exposure_add(bank_exposure *e, const bank_paper *p, int sign)
{
    if (!e->count) return;
    for (int k = 0; k < p->n; k++) {
        if (sign > 0) e->count[p->items[k].pool]++;
        else if (e->count[p->items[k].pool]) e->count[p->items[k].pool]--;
    }
}

struct cand {
    uint64_t attempt_id;
    char room[65];
    int seat;
    int form;               /* 1.. in forms mode */
    int have;               /* has a stored paper */
    bank_paper paper;
    int nb[4], n_nb;        /* neighbours (indices) */
};

static int by_seat(const void *x, const void *y, void *ctx)
{
    const struct cand *cs = ctx, *a = &cs[*(const int *)x], *b = &cs[*(const int *)y];
    int c = strcmp(a->room, b->room);
    return c ? c : (a->seat > b->seat) - (a->seat < b->seat);
}

static int find_seat(const struct cand *cs, const int *order, size_t n, const char *room, int seat)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const struct cand *m = &cs[order[mid]];
        int c = strcmp(m->room, room);
        if (!c) c = (m->seat > seat) - (m->seat < seat);
        if (!c) return order[mid];
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    return -1;
}

/* Fills each seated candidate's neighbours: the same room and row one seat apart, or one
 * row apart (rows of `cols` seats; cols 0: one long row). */
static int neighbours_index(struct cand *cs, size_t n, int cols)
{
    int *order = malloc((n + 1) * sizeof *order);
    if (!order) return KC_ENOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (cs[i].seat) order[m++] = (int)i;
    qsort_r(order, m, sizeof *order, by_seat, cs);
    for (size_t i = 0; i < n; i++) {
        struct cand *c = &cs[i];
        if (!c->seat) continue;
        int s = c->seat, cand[4] = {s - 1, s + 1, cols > 0 ? s - cols : 0, cols > 0 ? s + cols : 0};
        for (int k = 0; k < 4; k++) {
            int t = cand[k];
            if (t <= 0) continue;
            if (k < 2 && cols > 0 && (t - 1) / cols != (s - 1) / cols) continue;   /* row ends */
            int j = find_seat(cs, order, m, c->room, t);
            if (j >= 0 && (size_t)j != i) c->nb[c->n_nb++] = j;
        }
    }
    free(order);
    return 0;
}

/* Picks the form for cs[me]: none a neighbour already has when possible, then the least
 * used so far (lowest number on a tie). */
static int pick_form(const struct cand *cs, size_t me, int forms, const int *used)
{
    int best = 0;
    for (int pass = 0; pass < 2 && !best; pass++)
        for (int f = 1; f <= forms; f++) {
            int clash = 0;
            for (int k = 0; pass == 0 && k < cs[me].n_nb; k++)
                if (cs[cs[me].nb[k]].form == f) clash = 1;
            if (!clash && (!best || used[f] < used[best])) best = f;
        }
    return best;
}

static int same_as_neighbour(const struct cand *cs, size_t me, const bank_paper *p)
{
    for (int k = 0; k < cs[me].n_nb; k++) {
        const struct cand *o = &cs[cs[me].nb[k]];
        if (o->paper.n && bank_paper_same(&o->paper, p)) return 1;
    }
    return 0;
}

/* What a session's papers are made from: the first build's template, blueprint and pool
 * when the session was prepared before (so papers added later follow the same rules and
 * exposure is counted over the same pool), else the session's template now. */
struct source {
    bank_tpl tpl;
    bank_blueprint *bp;
    bank_pool pool;
    uint64_t first_build;
    int forms, cols;
    uint64_t seed;
    const char *tpl_code;
};

static const char SQL_SESSION_BASICS[] =
    "SELECT s.template_id, COALESCE(s.paper_id, 0), s.forms, s.seed, COALESCE(s.exposure_cap_pct, 0),"
    " COALESCE(s.shuffle, 255), s.seat_columns, COALESCE(t.spec, ''), COALESCE(t.feasible, 0),"
    " COALESCE(t.code, '')"
    " FROM exam_session s LEFT JOIN paper_template t ON t.id = s.template_id WHERE s.id = ?";

static int source_load(kc_db *db, uint64_t session_id, int lock, kc_arena *a, kc_diag *d,
                       struct source *src)
{
    const size_t BIGSPEC = (size_t)1 << 22;
    char *spec = malloc(BIGSPEC), *bpj = malloc(BIGSPEC), code[65];
    uint64_t tpl_id, paper_id, seed, build_id = 0;
    int64_t forms, cap, shuffle, cols, feasible;
    int rc = spec && bpj ? 0 : KC_ENOMEM;
    const char *sql = lock ? SQL_PREP_SESSION : SQL_SESSION_BASICS;
    memset(src, 0, sizeof *src);
    bank_pool_init(&src->pool, a);
    if (!rc) rc = kc_db_query(db, sql, "u", "uuiuiiisis", session_id, &tpl_id, &paper_id, &forms,
                               &seed, &cap, &shuffle, &cols, spec, BIGSPEC, &feasible, code, sizeof code);
    if (!rc) {
        rc = kc_db_fetch(db, sql);
        kc_db_done(db, sql);
        rc = rc == 1 ? 0 : rc == 0 ? KC_ENOTFOUND : rc;
    }
    if (rc) goto out;
    src->forms = (int)forms;
    src->cols = (int)cols;
    src->seed = seed;
    src->tpl_code = kc_arena_strdup(a, code);
    rc = kc_db_query(db, SQL_FIRST_BUILD, "u", "uss", session_id, &build_id, spec, BIGSPEC, bpj, BIGSPEC);
    int found = rc ? rc : kc_db_fetch(db, SQL_FIRST_BUILD);
    kc_db_done(db, SQL_FIRST_BUILD);
    if (found < 0) { rc = found; goto out; }
    char err[512];
    if (found == 1) {
        src->first_build = build_id;
        if (bank_tpl_parse(spec, strlen(spec), "paper_build.spec", a, &src->tpl, d)) {
            rc = KC_EDB;
            snprintf(db->err, sizeof db->err, "build %llu: its stored template does not parse", (unsigned long long)build_id);
            goto out;
        }
        if (*bpj) {
            src->bp = kc_arena_alloc(a, sizeof *src->bp);
            if (!src->bp) { rc = KC_ENOMEM; goto out; }
            bank_blueprint_init(src->bp, a);
            if (bp_from_json(bpj, src->bp)) {
                rc = KC_EDB;
                snprintf(db->err, sizeof db->err, "build %llu: its stored blueprint does not parse", (unsigned long long)build_id);
                goto out;
            }
        }
        uint64_t id, *ids = NULL;
        size_t n = 0, icap = 0;
        rc = kc_db_query(db, SQL_BUILD_ITEMS, "u", "u", build_id, &id);
        while (!rc && (rc = kc_db_fetch(db, SQL_BUILD_ITEMS)) == 1) {
            rc = 0;
            if (n == icap) {
                icap = icap ? icap * 2 : 1024;
                uint64_t *x = realloc(ids, icap * sizeof *x);
                if (!x) { rc = KC_ENOMEM; break; }
                ids = x;
            }
            ids[n++] = id;
        }
        kc_db_done(db, SQL_BUILD_ITEMS);
        if (rc >= 0) rc = n ? bank_pool_load(db, NULL, 0, ids, n, &src->pool, err, sizeof err) : 0;
        if (rc && rc != KC_ELOST && rc != KC_ERETRY) { snprintf(db->err, sizeof db->err, "%s", err); rc = KC_EDB; }
        free(ids);
        goto out;
    }
    if (tpl_id) {
        if (!feasible) {
            kc_diag_add(d, code, 1, "template", "the template was not feasible when last checked;"
                          " fix it or the bank and run `kaochang paper template check %s`", code);
            rc = KC_EINVAL;
            goto out;
        }
        if (bank_tpl_parse(spec, strlen(spec), src->tpl_code, a, &src->tpl, d)) { rc = KC_EINVAL; goto out; }
        rc = tpl_inputs(db, &src->tpl, a, d, &src->bp, &src->pool);
        if (rc) goto out;
    } else if (paper_id) {
        uint64_t *ids;
        size_t n;
        rc = tpl_from_paper(db, paper_id, a, &src->tpl, &ids, &n);
        if (!rc && bank_pool_load(db, NULL, 0, ids, n, &src->pool, err, sizeof err)) {
            snprintf(db->err, sizeof db->err, "%s", err);
            rc = KC_EDB;
        }
        free(ids);
        if (rc) goto out;
        shuffle = shuffle == 255 ? 0 : shuffle;    /* a fixed paper keeps its order unless asked */
    } else {
        rc = KC_EINVAL;
        kc_diag_add(d, "session", 0, "template", "the session has neither a template nor a paper");
        goto out;
    }
    /* The session's own settings win over the template's. */
    if (cap) src->tpl.exposure_cap_pct = (int)cap;
    if (shuffle != 255) {
        src->tpl.shuffle_items = (shuffle & 1) != 0;
        src->tpl.shuffle_options = (shuffle & 2) != 0;
    }
out:
    free(spec);
    free(bpj);
    return rc;
}

int srv_session_prepare(kc_db *db, uint64_t session_id, const char *actor, kc_diag *d,
                        srv_prep *r)
{
    int64_t t0 = mono_ms();
    memset(r, 0, sizeof *r);
    int64_t total, have, max_gen;
    int rc = kc_db_begin(db);
    if (rc) return rc;
    kc_arena *a = kc_arena_new(1 << 20);
    struct cand *cs = NULL;
    char *items = malloc((size_t)1 << 22);
    struct ins_row *rows = calloc(INS_ROWS, sizeof *rows);
    if (!a || !items || !rows) { rc = KC_ENOMEM; goto fail; }
    /* Locks the session row: one prepare at a time per session (CLI or serve). */
    struct source src;
    rc = source_load(db, session_id, 1, a, d, &src);
    if (rc) goto fail;
    rc = kc_db_query(db, SQL_PREP_COUNT, "u", "iii", session_id, &total, &have, &max_gen);
    if (!rc) {
        rc = kc_db_fetch(db, SQL_PREP_COUNT);
        kc_db_done(db, SQL_PREP_COUNT);
        rc = rc == 1 ? 0 : rc < 0 ? rc : KC_EDB;
    }
    if (rc) goto fail;
    r->attempts = (int)total;
    r->existing = (int)have;
    r->forms = src.forms;
    if (total == have) {           /* nothing to make: idempotent */
        if (total && (rc = kc_db_exec(db, SQL_PREPARED, "tu", kc_now_ms(), session_id))) goto fail;
        rc = kc_db_commit(db);
        r->ms = mono_ms() - t0;
        goto out;
    }
    bank_plan *plan = NULL;
    int problems = bank_plan_make(&src.tpl, src.bp, &src.pool, src.forms ? src.forms : (int)total,
                                  a, &plan, d);
    if (problems < 0) { rc = KC_ENOMEM; goto fail; }
    if (problems) { rc = KC_EINVAL; goto fail; }
    /* The attempts, with the papers they have. */
    cs = calloc((size_t)total + 1, sizeof *cs);
    if (!cs) { rc = KC_ENOMEM; goto fail; }
    size_t n = 0;
    uint64_t aid;
    int64_t seat, has, form;
    char room[65];
    rc = kc_db_query(db, SQL_PREP_ATTEMPTS, "u", "usiiis", session_id, &aid, room, sizeof room,
                      &seat, &has, &form, items, (size_t)1 << 22);
    char why[256];
    while (!rc && (rc = kc_db_fetch(db, SQL_PREP_ATTEMPTS)) == 1) {
        rc = 0;
        if (n == (size_t)total) continue;      /* added meanwhile: the next run takes it */
        struct cand *c = &cs[n++];
        c->attempt_id = aid;
        snprintf(c->room, sizeof c->room, "%s", room);
        c->seat = (int)seat;
        c->have = (int)has;
        c->form = (int)form;
        if (has && bank_paper_from_json(items, &src.pool, a, &c->paper, why, sizeof why)) {
            snprintf(db->err, sizeof db->err, "attempt %llu: its stored paper does not fit the session's pool: %s",
                     (unsigned long long)aid, why);
            rc = KC_EDB;
        }
    }
    kc_db_done(db, SQL_PREP_ATTEMPTS);
    if (rc < 0) goto fail;
    rc = neighbours_index(cs, n, src.cols);
    if (rc) goto fail;
    /* Exposure over every paper of the session, the stored ones included. */
    bank_exposure e = {calloc(src.pool.n + 1, sizeof(uint32_t)), 0, 0};
    if (!e.count) { rc = KC_ENOMEM; goto fail; }
    int cap = src.tpl.exposure_cap_pct;
    e.limit = src.forms ? bank_exposure_limit(cap, src.forms) : bank_exposure_limit(cap, (int)total);
    r->exposure_limit = e.limit;
    /* The build: template and blueprint as used; the first one also stores the pool. */
    const char *spec = bank_tpl_format(&src.tpl, a);
    char *bpj = src.bp ? bp_to_json(src.bp) : NULL;
    if (!spec || (src.bp && !bpj)) { free(bpj); free(e.count); rc = KC_ENOMEM; goto fail; }
    rc = kc_db_exec(db, SQL_BUILD_ADD, "ussuss", session_id, spec, bpj, (uint64_t)e.limit, actor,
                     BANK_PAPER_ENGINE);
    free(bpj);
    uint64_t build_id = rc ? 0 : kc_db_insert_id(db, SQL_BUILD_ADD);
    r->build_id = build_id;
    if (!rc && !src.first_build) rc = pool_store(db, build_id, &src.pool);
    /* Parallel forms: made once, on the first build, then handed out. */
    bank_paper *forms = NULL;
    int *used = NULL;
    if (!rc && src.forms) {
        forms = kc_arena_alloc(a, (size_t)src.forms * sizeof *forms);
        used = calloc((size_t)src.forms + 1, sizeof *used);
        if (!forms || !used) rc = KC_ENOMEM;
        int nf = 0;
        int64_t fno, fseed;
        if (!rc) rc = kc_db_query(db, SQL_FORMS, "u", "iis", session_id, &fno, &fseed, items, (size_t)1 << 22);
        while (!rc && (rc = kc_db_fetch(db, SQL_FORMS)) == 1) {
            rc = 0;
            if (fno < 1 || fno > src.forms) continue;
            if (bank_paper_from_json(items, &src.pool, a, &forms[fno - 1], why, sizeof why)) {
                snprintf(db->err, sizeof db->err, "form %lld does not fit the pool: %s", (long long)fno, why);
                rc = KC_EDB;
            }
            forms[fno - 1].seed = (uint64_t)fseed;
            nf++;
        }
        kc_db_done(db, SQL_FORMS);
        if (rc >= 0) rc = 0;
        if (!rc && nf == 0) {
            bank_exposure fe = {e.count, e.limit, 0};
            for (int f = 0; f < src.forms && !rc; f++) {
                fe.left = (uint32_t)(src.forms - f);
                uint64_t fs = bank_seed_derive(src.seed, 0xF0000000u + (uint64_t)f + 1);
                int g = bank_plan_generate(plan, fs, &fe, a, &forms[f], why, sizeof why);
                if (g == -2) {
                    kc_diag_add(d, src.tpl.file ? src.tpl.file : "template", 0, "forms",
                                  "form %c cannot be made: %s", 'A' + f, why);
                    rc = KC_EINVAL;
                } else if (g) {
                    rc = KC_ENOMEM;
                } else {
                    const char *fj = bank_paper_to_json(&forms[f], a);
                    rc = fj ? kc_db_exec(db, SQL_FORM_ADD, "uiuusi", session_id, (int64_t)f + 1, build_id,
                                          fs, fj, (int64_t)forms[f].total_centi)
                            : KC_ENOMEM;
                }
            }
            memset(e.count, 0, (src.pool.n + 1) * sizeof *e.count);
        } else if (!rc && nf != src.forms) {
            rc = KC_EDB;
            snprintf(db->err, sizeof db->err, "the session has %d of its %d forms stored", nf, src.forms);
        }
        for (size_t k = 0; k < n; k++)
            if (cs[k].have && cs[k].form >= 1 && cs[k].form <= src.forms) used[cs[k].form]++;
    }
    for (size_t k = 0; !src.forms && k < n; k++)
        if (cs[k].have) exposure_add(&e, &cs[k].paper, 1);
    /* Every attempt without a paper, in attempt order (the order a replay follows). */
    int nrows = 0;
    int64_t gen = max_gen;
    uint32_t todo = (uint32_t)(total - have);     /* papers this run makes */
    for (size_t k = 0; !rc && k < n; k++) {
        struct cand *c = &cs[k];
        if (c->have) continue;
        if (src.forms) {
            c->form = pick_form(cs, k, src.forms, used);
            used[c->form]++;
        }
        uint64_t seed = bank_seed_derive(src.seed, c->attempt_id);
        e.left = todo - (uint32_t)r->made;
        for (int tries = 0;; tries++) {
            int g = src.forms ? bank_paper_reorder(plan, &forms[c->form - 1], seed, a, &c->paper)
                              : bank_plan_generate(plan, seed, &e, a, &c->paper, why, sizeof why);
            if (g == -2) {
                kc_diag_add(d, src.tpl.file ? src.tpl.file : "template", 0, "paper",
                              "no paper for attempt %llu: %s", (unsigned long long)c->attempt_id, why);
                rc = KC_EINVAL;
                break;
            }
            if (g) { rc = KC_ENOMEM; break; }
            if (!same_as_neighbour(cs, k, &c->paper)) break;
            if (tries == 7) { r->neighbours_same++; break; }    /* the bank allows no other */
            if (!src.forms) exposure_add(&e, &c->paper, -1);
            seed = bank_seed_derive(seed, (uint64_t)tries + 1);
        }
        if (rc) break;
        c->paper.seed = seed;
        struct ins_row *w = &rows[nrows++];
        const char *js = bank_paper_to_json(&c->paper, a);
        if (!js) { rc = KC_ENOMEM; break; }
        *w = (struct ins_row){{c->attempt_id, session_id, build_id, (uint64_t)++gen,
                               (uint64_t)c->form, seed, 0, (uint64_t)c->paper.n,
                               (uint64_t)c->paper.total_centi},
                              js, !src.forms};
        r->made++;
        if (nrows == INS_ROWS) {
            rc = ins_flush(db, rows, nrows);
            nrows = 0;
        }
    }
    if (!rc && nrows) rc = ins_flush(db, rows, nrows);
    /* The most papers any one item is on, over the whole session. */
    memset(e.count, 0, (src.pool.n + 1) * sizeof *e.count);
    for (size_t k = 0; k < n; k++) exposure_add(&e, &cs[k].paper, 1);
    for (size_t k = 0; k < src.pool.n; k++)
        if (e.count[k] > r->max_on) r->max_on = e.count[k];
    free(e.count);
    free(used);
    if (!rc) rc = kc_db_exec(db, SQL_BUILD_DONE, "iu", (int64_t)r->made, build_id);
    if (!rc) rc = kc_db_exec(db, SQL_PREPARED, "tu", kc_now_ms(), session_id);
    if (rc) goto fail;
    rc = kc_db_commit(db);
    r->ms = mono_ms() - t0;
    goto out;
fail:
    kc_db_rollback(db);
out:
    free(cs);
    free(items);
    free(rows);
    kc_arena_free(a);
    return rc;
}

/* ---- verify and report ---- */

static const char SQL_BUILDS[] =
    "SELECT id, exposure_limit, papers, engine FROM paper_build WHERE session_id = ? ORDER BY id";
static const char SQL_INSTANCES[] =
    "SELECT p.attempt_id, a.ticket_no, p.build_id, COALESCE(p.form_no, 0), p.seed, p.items"
    " FROM paper_instance p JOIN attempt a ON a.id = p.attempt_id WHERE p.session_id = ?"
    " ORDER BY p.gen_no";

struct stored {
    char ticket[33];
    uint64_t build;
    int form;
    uint64_t seed;
    bank_paper paper;
};

/* The session's source, plan, forms and stored papers in generation order. */
struct session_papers {
    struct source src;
    bank_plan *plan;
    struct stored *v;
    size_t n;
    bank_paper *forms;
    uint64_t *form_seed;
    int n_forms;
    uint64_t *build_ids;
    uint32_t *build_limit, *build_papers;
    int n_builds;
    const char *foreign_engine;     /* a build drawn by another generator version */
};

static int papers_load(kc_db *db, uint64_t session_id, kc_arena *a, kc_diag *d,
                       struct session_papers *sp)
{
    memset(sp, 0, sizeof *sp);
    int rc = source_load(db, session_id, 0, a, d, &sp->src);
    if (rc) return rc;
    if (!sp->src.first_build) {
        kc_diag_add(d, "session", 0, "papers", "the session has not been prepared (kaochang session prepare)");
        return KC_EINVAL;
    }
    char *items = malloc((size_t)1 << 22), why[256];
    if (!items) return KC_ENOMEM;
    uint64_t id, aid, build, seed;
    int64_t lim, form, made;
    char ticket[33];
    size_t cap = 0;
    char engine[33];
    rc = kc_db_query(db, SQL_BUILDS, "u", "uiis", session_id, &id, &lim, &made, engine, sizeof engine);
    while (!rc && (rc = kc_db_fetch(db, SQL_BUILDS)) == 1) {
        rc = 0;
        if (strcmp(engine, BANK_PAPER_ENGINE) && !sp->foreign_engine)
            sp->foreign_engine = kc_arena_strdup(a, engine);
        uint64_t *x = kc_arena_alloc(a, (size_t)(sp->n_builds + 1) * sizeof *x);
        uint32_t *y = kc_arena_alloc(a, (size_t)(sp->n_builds + 1) * sizeof *y);
        uint32_t *z = kc_arena_alloc(a, (size_t)(sp->n_builds + 1) * sizeof *z);
        if (!x || !y || !z) { rc = KC_ENOMEM; break; }
        if (sp->n_builds) {
            memcpy(x, sp->build_ids, (size_t)sp->n_builds * sizeof *x);
            memcpy(y, sp->build_limit, (size_t)sp->n_builds * sizeof *y);
            memcpy(z, sp->build_papers, (size_t)sp->n_builds * sizeof *z);
        }
        x[sp->n_builds] = id;
        y[sp->n_builds] = (uint32_t)lim;
        z[sp->n_builds] = (uint32_t)made;
        sp->build_ids = x;
        sp->build_limit = y;
        sp->build_papers = z;
        sp->n_builds++;
    }
    kc_db_done(db, SQL_BUILDS);
    if (rc < 0) goto out;
    rc = kc_db_query(db, SQL_INSTANCES, "u", "usuiu" "s", session_id, &aid, ticket, sizeof ticket,
                      &build, &form, &seed, items, (size_t)1 << 22);
    while (!rc && (rc = kc_db_fetch(db, SQL_INSTANCES)) == 1) {
        rc = 0;
        if (sp->n == cap) {
            cap = cap ? cap * 2 : 256;
            struct stored *x = realloc(sp->v, cap * sizeof *x);
            if (!x) { rc = KC_ENOMEM; break; }
            sp->v = x;
        }
        struct stored *s = &sp->v[sp->n++];
        memset(s, 0, sizeof *s);
        snprintf(s->ticket, sizeof s->ticket, "%s", ticket);
        s->build = build;
        s->form = (int)form;
        s->seed = seed;
        if (bank_paper_from_json(items, &sp->src.pool, a, &s->paper, why, sizeof why))
            kc_diag_add(d, s->ticket, 0, "paper", "the stored paper does not read back: %s", why);
        s->paper.seed = seed;
    }
    kc_db_done(db, SQL_INSTANCES);
    if (rc < 0) goto out;
    rc = 0;
    if (sp->src.forms) {
        sp->forms = kc_arena_alloc(a, (size_t)sp->src.forms * sizeof *sp->forms);
        sp->form_seed = kc_arena_alloc(a, (size_t)sp->src.forms * sizeof *sp->form_seed);
        if (!sp->forms || !sp->form_seed) { rc = KC_ENOMEM; goto out; }
        int64_t fno, fseed;
        rc = kc_db_query(db, SQL_FORMS, "u", "iis", session_id, &fno, &fseed, items, (size_t)1 << 22);
        while (!rc && (rc = kc_db_fetch(db, SQL_FORMS)) == 1) {
            rc = 0;
            if (fno < 1 || fno > sp->src.forms) continue;
            if (bank_paper_from_json(items, &sp->src.pool, a, &sp->forms[fno - 1], why, sizeof why))
                kc_diag_add(d, "session", 0, "forms", "form %c does not read back: %s", (int)('A' + fno - 1), why);
            sp->form_seed[fno - 1] = (uint64_t)fseed;
            sp->n_forms++;
        }
        kc_db_done(db, SQL_FORMS);
        if (rc < 0) goto out;
        rc = 0;
    }
    int problems = bank_plan_make(&sp->src.tpl, sp->src.bp, &sp->src.pool,
                                  sp->src.forms ? sp->src.forms : (int)sp->n, a, &sp->plan, d);
    if (problems) rc = problems < 0 ? KC_ENOMEM : KC_EINVAL;
out:
    free(items);
    if (rc) { free(sp->v); sp->v = NULL; }
    return rc;
}

static int build_index(const struct session_papers *sp, uint64_t build)
{
    for (int i = 0; i < sp->n_builds; i++)
        if (sp->build_ids[i] == build) return i;
    return -1;
}

static uint32_t build_limit(const struct session_papers *sp, uint64_t build)
{
    int i = build_index(sp, build);
    return i < 0 ? 0 : sp->build_limit[i];
}

int srv_session_verify(kc_db *db, uint64_t session_id, kc_diag *d, int *checked)
{
    *checked = 0;
    kc_arena *a = kc_arena_new(1 << 20);
    if (!a) return KC_ENOMEM;
    struct session_papers sp;
    int rc = papers_load(db, session_id, a, d, &sp);
    if (rc) { kc_arena_free(a); return rc; }
    char why[256];
    if (sp.foreign_engine) {
        /* Its seeds draw other papers with this generator: check the rules only. */
        kc_diag_add(d, "session", 0, "papers", "drawn by generator %s; this kaochang has %s, so the papers"
                      " cannot be regenerated here (every rule is still checked)", sp.foreign_engine, BANK_PAPER_ENGINE);
        for (int f = 0; f < sp.n_forms; f++) bank_plan_check(sp.plan, &sp.forms[f], d);
        for (size_t k = 0; k < sp.n; k++, (*checked)++) bank_plan_check(sp.plan, &sp.v[k].paper, d);
        free(sp.v);
        kc_arena_free(a);
        return 0;
    }
    bank_exposure e = {calloc(sp.src.pool.n + 1, sizeof(uint32_t)), 0, 0};
    /* papers of each build replayed so far: generation saw how many were left */
    int *done = calloc((size_t)sp.n_builds + 1, sizeof *done);
    if (!e.count || !done) rc = KC_ENOMEM;
    for (int f = 0; !rc && f < sp.src.forms; f++) {
        bank_paper again;
        e.limit = build_limit(&sp, sp.src.first_build);
        e.left = (uint32_t)(sp.src.forms - f);
        int g = bank_plan_generate(sp.plan, sp.form_seed[f], &e, a, &again, why, sizeof why);
        if (g == -1) rc = KC_ENOMEM;
        else if (g) kc_diag_add(d, "session", 0, "forms", "form %c: its seed gives no paper: %s", 'A' + f, why);
        else if (!bank_paper_same(&again, &sp.forms[f]))
            kc_diag_add(d, "session", 0, "forms", "form %c differs from the one its seed gives", 'A' + f);
        if (!rc) bank_plan_check(sp.plan, &sp.forms[f], d);
    }
    if (e.count) memset(e.count, 0, (sp.src.pool.n + 1) * sizeof *e.count);
    for (size_t k = 0; !rc && k < sp.n; k++) {
        struct stored *s = &sp.v[k];
        bank_paper again;
        int g;
        if (sp.src.forms) {
            if (s->form < 1 || s->form > sp.src.forms) {
                kc_diag_add(d, s->ticket, 0, "form", "form %d is not one of the session's %d", s->form, sp.src.forms);
                continue;
            }
            g = bank_paper_reorder(sp.plan, &sp.forms[s->form - 1], s->seed, a, &again);
        } else {
            int b = build_index(&sp, s->build);
            e.limit = build_limit(&sp, s->build);
            e.left = b < 0 ? 0 : sp.build_papers[b] - (uint32_t)done[b]++;
            g = bank_plan_generate(sp.plan, s->seed, &e, a, &again, why, sizeof why);
        }
        if (g == -1) { rc = KC_ENOMEM; break; }
        /* Counted as stored, so a difference does not shift every later paper. */
        if (!sp.src.forms && g == 0) exposure_add(&e, &again, -1);
        if (!sp.src.forms) exposure_add(&e, &s->paper, 1);
        if (g) kc_diag_add(d, s->ticket, 0, "paper", "its seed gives no paper: %s", why);
        else if (!bank_paper_same(&again, &s->paper))
            kc_diag_add(d, s->ticket, 0, "paper", "the stored paper differs from the one seed %llu gives",
                          (unsigned long long)s->seed);
        bank_plan_check(sp.plan, &s->paper, d);
        (*checked)++;
    }
    free(e.count);
    free(done);
    free(sp.v);
    kc_arena_free(a);
    return rc;
}

int srv_session_report(kc_db *db, uint64_t session_id, kc_arena *a, char **text)
{
    *text = NULL;
    kc_diag d;
    kc_diag_init(&d, a);
    struct session_papers sp;
    int rc = papers_load(db, session_id, a, &d, &sp);
    if (rc == KC_EINVAL && d.n) {
        *text = kc_arena_printf(a, "%s\n", d.lines[0]);
        return *text ? 0 : KC_ENOMEM;
    }
    if (rc) return rc;
    const bank_tpl *t = &sp.src.tpl;
    char *head = kc_arena_printf(a, "template %s (%s, %s): %d sections, %.2f points; pool %zu items;"
                                   " exposure cap %d%%\n", t->code ? t->code : "?", t->title ? t->title : "",
                                   bank_tpl_mode_name(t->mode), t->n_sections, t->total_centi / 100.0,
                                   sp.src.pool.n, t->exposure_cap_pct);
    char *body = NULL;
    if (sp.src.forms) {
        int *per = calloc((size_t)sp.src.forms + 1, sizeof *per);
        if (!per) { free(sp.v); return KC_ENOMEM; }
        for (size_t k = 0; k < sp.n; k++)
            if (sp.v[k].form >= 1 && sp.v[k].form <= sp.src.forms) per[sp.v[k].form]++;
        char *who = kc_arena_printf(a, "papers: %zu, forms handed out:", sp.n);
        for (int f = 1; f <= sp.src.forms && who; f++)
            who = kc_arena_printf(a, "%s %c卷 %d", who, 'A' + f - 1, per[f]);
        free(per);
        char *rep = bank_forms_report(sp.plan, sp.src.bp, sp.forms, sp.src.forms, a);
        body = who && rep ? kc_arena_printf(a, "%s\n%s", who, rep) : NULL;
    } else {
        uint32_t *cnt = calloc(sp.src.pool.n + 1, sizeof *cnt), max = 0;
        if (!cnt) { free(sp.v); return KC_ENOMEM; }
        size_t used = 0, slots = 0;
        for (size_t k = 0; k < sp.n; k++)
            for (int i = 0; i < sp.v[k].paper.n; i++) {
                uint32_t *c = &cnt[sp.v[k].paper.items[i].pool];
                if (!*c) used++;
                if (++*c > max) max = *c;
                slots++;
            }
        free(cnt);
        body = kc_arena_printf(a, "papers: %zu (a paper per candidate), %zu item places; %zu distinct"
                                 " items used of %zu; the most-used item is on %u papers (%.1f%%)\n",
                                 sp.n, slots, used, sp.src.pool.n, max,
                                 sp.n ? 100.0 * max / (double)sp.n : 0.0);
    }
    free(sp.v);
    *text = head && body ? kc_arena_printf(a, "%s%s", head, body) : NULL;
    return *text ? 0 : KC_ENOMEM;
}

/* ---- the automatic prepare of `serve` ---- */

static const char SQL_DUE_SESSIONS[] =
    "SELECT s.id, s.code, s.opens_at FROM exam_session s WHERE s.opens_at <= ? AND s.closes_at > ?"
    " AND EXISTS (SELECT 1 FROM attempt a LEFT JOIN paper_instance p ON p.attempt_id = a.id"
    " WHERE a.session_id = s.id AND p.attempt_id IS NULL) ORDER BY s.opens_at LIMIT 20";

int srv_prepare_due(kc_db *db, const srv_ctx *x)
{
    int64_t now = kc_now_ms(), opens;
    uint64_t ids[20], id;
    char codes[20][65], code[65];
    int n = 0;
    int rc = kc_db_query(db, SQL_DUE_SESSIONS, "tt", "ust", now + (int64_t)x->prepare_before_min * 60000,
                          now, &id, code, sizeof code, &opens);
    while (!rc && (rc = kc_db_fetch(db, SQL_DUE_SESSIONS)) == 1) {
        rc = 0;
        if (n < 20) {
            ids[n] = id;
            snprintf(codes[n], sizeof codes[n], "%s", code);
            n++;
        }
    }
    kc_db_done(db, SQL_DUE_SESSIONS);
    if (rc < 0) return rc;
    for (int i = 0; i < n; i++) {
        kc_arena *a = kc_arena_new(0);
        if (!a) return KC_ENOMEM;
        kc_diag d;
        kc_diag_init(&d, a);
        srv_prep r;
        rc = srv_session_prepare(db, ids[i], "serve", &d, &r);
        if (rc == KC_ELOST) { kc_arena_free(a); return rc; }
        if (rc == 0)
            KC_INFO("papers", "session=%s prepared made=%d existing=%d forms=%d ms=%lld", codes[i],
                     r.made, r.existing, r.forms, (long long)r.ms);
        else {
            /* Loud and repeated: candidates without a paper cannot start. */
            KC_ERROR("papers", "session=%s cannot be prepared: %s", codes[i],
                      rc == KC_EINVAL && d.n ? d.lines[0] : db->err);
            for (size_t k = 1; k < d.n && k < 10; k++) KC_ERROR("papers", "session=%s %s", codes[i], d.lines[k]);
        }
        kc_arena_free(a);
    }
    return 0;
}

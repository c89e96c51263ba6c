/* Session prepare: every attempt's paper is generated and stored before the session opens,
 * so that starting an exam is a read (docs/PAPERS.md). Runs on the CLI's connection or on a
 * server worker (the automatic prepare of `serve`, bank_prepare_due). */
#include "bank_int.h"

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
const char bank__sql_forms[] =
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

void bank__exposure_add(bank_exposure *e, const bank_paper *p, int sign)
{
    if (!e->count) return;
    for (int k = 0; k < p->n; k++) {
        if (sign > 0) e->count[p->items[k].pool]++;
        else if (e->count[p->items[k].pool]) e->count[p->items[k].pool]--;
    }
}

/* ---- what a session's papers are made from (bank__source) ---- */

static const char SQL_SESSION_BASICS[] =
    "SELECT s.template_id, COALESCE(s.paper_id, 0), s.forms, s.seed, COALESCE(s.exposure_cap_pct, 0),"
    " COALESCE(s.shuffle, 255), s.seat_columns, COALESCE(t.spec, ''), COALESCE(t.feasible, 0),"
    " COALESCE(t.code, '')"
    " FROM exam_session s LEFT JOIN paper_template t ON t.id = s.template_id WHERE s.id = ?";

int bank__source_load(kc_db *db, uint64_t session_id, int lock, kc_arena *a, kc_diag *d,
                      bank__source *src)
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
        rc = bank__tpl_inputs(db, &src->tpl, a, d, &src->bp, &src->pool);
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

int bank_session_prepare(kc_db *db, uint64_t session_id, const char *actor, kc_diag *d,
                         bank_prep *r)
{
    int64_t t0 = mono_ms();
    memset(r, 0, sizeof *r);
    int64_t total, have, max_gen;
    int rc = kc_db_begin(db);
    if (rc) return rc;
    kc_arena *a = kc_arena_new(1 << 20);
    bank__cand *cs = NULL;
    char *items = malloc((size_t)1 << 22);
    struct ins_row *rows = calloc(INS_ROWS, sizeof *rows);
    if (!a || !items || !rows) { rc = KC_ENOMEM; goto fail; }
    /* Locks the session row: one prepare at a time per session (CLI or serve). */
    bank__source src;
    rc = bank__source_load(db, session_id, 1, a, d, &src);
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
        bank__cand *c = &cs[n++];
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
    rc = bank__seat_neighbours(cs, n, src.cols);
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
        if (!rc) rc = kc_db_query(db, bank__sql_forms, "u", "iis", session_id, &fno, &fseed, items, (size_t)1 << 22);
        while (!rc && (rc = kc_db_fetch(db, bank__sql_forms)) == 1) {
            rc = 0;
            if (fno < 1 || fno > src.forms) continue;
            if (bank_paper_from_json(items, &src.pool, a, &forms[fno - 1], why, sizeof why)) {
                snprintf(db->err, sizeof db->err, "form %lld does not fit the pool: %s", (long long)fno, why);
                rc = KC_EDB;
            }
            forms[fno - 1].seed = (uint64_t)fseed;
            nf++;
        }
        kc_db_done(db, bank__sql_forms);
        if (rc >= 0) rc = 0;
        if (!rc && nf == 0) {
            bank_exposure fe = {e.count, e.limit, 0};
            for (int f = 0; f < src.forms && !rc; f++) {
                fe.left = (uint32_t)(src.forms - f);
                uint64_t fs = bank_seed_derive(src.seed, 0xF0000000u + (uint64_t)f + 1);
                int g = bank_plan_generate(plan, fs, &fe, a, &forms[f], why, sizeof why);
                if (g == KC_EINVAL) {
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
        if (cs[k].have) bank__exposure_add(&e, &cs[k].paper, 1);
    /* Every attempt without a paper, in attempt order (the order a replay follows). */
    int nrows = 0;
    int64_t gen = max_gen;
    uint32_t todo = (uint32_t)(total - have);     /* papers this run makes */
    for (size_t k = 0; !rc && k < n; k++) {
        bank__cand *c = &cs[k];
        if (c->have) continue;
        if (src.forms) {
            c->form = bank__seat_pick_form(cs, k, src.forms, used);
            used[c->form]++;
        }
        uint64_t seed = bank_seed_derive(src.seed, c->attempt_id);
        e.left = todo - (uint32_t)r->made;
        for (int tries = 0;; tries++) {
            if (src.forms) snprintf(why, sizeof why, "form %c does not fit the session's pool", 'A' + c->form - 1);
            int g = src.forms ? bank_paper_reorder(plan, &forms[c->form - 1], seed, a, &c->paper)
                              : bank_plan_generate(plan, seed, &e, a, &c->paper, why, sizeof why);
            if (g == KC_EINVAL) {
                kc_diag_add(d, src.tpl.file ? src.tpl.file : "template", 0, "paper",
                              "no paper for attempt %llu: %s", (unsigned long long)c->attempt_id, why);
                rc = KC_EINVAL;
                break;
            }
            if (g) { rc = g; break; }
            if (!bank__seat_same_as_neighbour(cs, k, &c->paper)) break;
            if (tries == 7) { r->neighbours_same++; break; }    /* the bank allows no other */
            if (!src.forms) bank__exposure_add(&e, &c->paper, -1);
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
    for (size_t k = 0; k < n; k++) bank__exposure_add(&e, &cs[k].paper, 1);
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

/* ---- the automatic prepare of `serve` ---- */

static const char SQL_DUE_SESSIONS[] =
    "SELECT s.id, s.code, s.opens_at FROM exam_session s WHERE s.opens_at <= ? AND s.closes_at > ?"
    " AND EXISTS (SELECT 1 FROM attempt a LEFT JOIN paper_instance p ON p.attempt_id = a.id"
    " WHERE a.session_id = s.id AND p.attempt_id IS NULL) ORDER BY s.opens_at LIMIT 20";

int bank_prepare_due(kc_db *db, int prepare_before_min)
{
    int64_t now = kc_now_ms(), opens;
    uint64_t ids[20], id;
    char codes[20][65], code[65];
    int n = 0;
    int rc = kc_db_query(db, SQL_DUE_SESSIONS, "tt", "ust", now + (int64_t)prepare_before_min * 60000,
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
        bank_prep r;
        rc = bank_session_prepare(db, ids[i], "serve", &d, &r);
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

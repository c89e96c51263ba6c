/* Paper templates (组卷方案) stored: a template file is parsed, checked against the approved
 * bank (and blueprint) and stored by code with the result of the check, so a session can
 * refuse an infeasible one (docs/PAPERS.md). */
#include "bank_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int bank__tpl_inputs(kc_db *db, const bank_tpl *t, kc_arena *a, kc_diag *d,
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

int bank_tpl_import(kc_db *db, const char *text, size_t len, const char *file, const char *actor,
                   int dry_run, kc_arena *a, kc_diag *d, bank_tpl_result *res)
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
    int rc = bank__tpl_inputs(db, &t, a, d, &bp, &pool);
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

int bank_tpl_check(kc_db *db, const char *code, kc_arena *a, kc_diag *d, bank_tpl_result *res)
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
    rc = bank__tpl_inputs(db, &t, a, d, &bp, &pool);
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

/* Storing the catalog: occupations with their work types, and blueprints
 * (鉴定要素细目表) per occupation + level + part. */
#include "bank_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_OCC_UPSERT[] =
    "INSERT INTO occupation (code, name, standard_edition, levels) VALUES (?, ?, ?, ?)"
    " ON DUPLICATE KEY UPDATE name = VALUES(name),"
    " standard_edition = COALESCE(VALUES(standard_edition), standard_edition),"
    " levels = IF(VALUES(levels) = '', levels, VALUES(levels))";
static const char SQL_WT_DROP[] = "DELETE FROM work_type WHERE occupation_code = ?";
static const char SQL_WT_ADD[] = "INSERT INTO work_type (occupation_code, name) VALUES (?, ?)";
static const char SQL_OCC_LIST[] =
    "SELECT code, name, standard_edition, levels FROM occupation ORDER BY code";
static const char SQL_WT_LIST[] =
    "SELECT occupation_code, name FROM work_type ORDER BY occupation_code, name";
static const char SQL_OCC_EXISTS[] = "SELECT 1 FROM occupation WHERE code = ?";
static const char SQL_BP_UPSERT[] =
    "INSERT INTO blueprint (occupation_code, level, part, source_file) VALUES (?, ?, ?, ?)"
    " ON DUPLICATE KEY UPDATE source_file = VALUES(source_file), updated_at = UTC_TIMESTAMP(3),"
    " id = LAST_INSERT_ID(id)";
/* deepest first, so no node outlives the parent its foreign key names */
static const char SQL_BP_CLEAR[] = "DELETE FROM blueprint_node WHERE blueprint_id = ? ORDER BY depth DESC";
static const char SQL_BP_NODE[] =
    "INSERT INTO blueprint_node (blueprint_id, parent_id, position, depth, kind, code, name,"
    " weight_centi, importance) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_BP_FIND[] =
    "SELECT id FROM blueprint WHERE occupation_code = ? AND level = ? AND part = ?";
static const char SQL_BP_NODES[] =
    "SELECT id, parent_id, depth, kind, code, name, weight_centi, importance"
    " FROM blueprint_node WHERE blueprint_id = ? ORDER BY position";

int bank_occupation_upsert(kc_db *db, const bank_occupation *o, char *err, size_t errlen)
{
    if (err && errlen) *err = 0;
    if (!o || !o->code || !bank_occupation_code_valid(o->code))
        return bank__err(err, errlen, "occupation code",
                         "expected a national code N-NN-NN-NN such as 4-04-04-02"), KC_EINVAL;
    if (!o->name || !*o->name || strlen(o->name) > 128)
        return bank__err(err, errlen, "occupation name", o->name && *o->name ? "longer than 128 bytes" : "missing"),
               KC_EINVAL;
    if (o->edition && strlen(o->edition) > 64)
        return bank__err(err, errlen, "edition", "longer than 64 bytes"), KC_EINVAL;
    char levels[16] = "";
    size_t ln = 0;
    for (int i = 0; i < o->n_levels && i < 5; i++) {
        if (o->levels[i] < 1 || o->levels[i] > 5)
            return bank__err(err, errlen, "levels", "a level is 1 (一级) to 5 (五级)"), KC_EINVAL;
        ln += (size_t)snprintf(levels + ln, sizeof levels - ln, "%s%d", i ? "," : "", o->levels[i]);
    }
    for (int i = 0; i < o->n_work_types; i++)
        if (!o->work_types[i] || !*o->work_types[i] || strlen(o->work_types[i]) > 128)
            return bank__err(err, errlen, "work types", "a work type is 1 to 128 bytes"), KC_EINVAL;
    if (kc_db_begin(db)) return bank__db_err(db, err, errlen, "occupation");
    kc_stmt *up = NULL, *drop = NULL, *add = NULL;
    int failed = 0;
    if (!(up = kc_db_stmt(db, SQL_OCC_UPSERT)) ||
        kc_stmt_exec(up, "ssss", o->code, o->name, o->edition, levels))
        failed = 1;
    if (!failed && o->n_work_types > 0) {
        if (!(drop = kc_db_stmt(db, SQL_WT_DROP)) || kc_stmt_exec(drop, "s", o->code))
            failed = 1;
        else if (!(add = kc_db_stmt(db, SQL_WT_ADD)))
            failed = 1;
        for (int i = 0; !failed && i < o->n_work_types; i++)
            if (kc_stmt_exec(add, "ss", o->code, o->work_types[i])) failed = 1;
    }
    int rc = failed ? bank__db_err(db, err, errlen, "occupation") : 0;
    kc_stmt_done(up);
    kc_stmt_done(drop);
    kc_stmt_done(add);
    return bank__tx_end(db, rc, err, errlen);
}

int bank_occupation_list(kc_db *db, kc_arena *a, bank_occupation **out, size_t *n,
                         char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    kc_stmt *s = NULL, *w = NULL;
    int failed = 0;
    size_t cap = 0;
    bank_occupation *v = NULL;
    if (!(s = kc_db_stmt(db, SQL_OCC_LIST)) || kc_stmt_exec(s, "")) failed = 1;
    int f;
    while (!failed && (f = kc_stmt_next(s)) == 1) {
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            bank_occupation *nv = kc_arena_alloc(a, nc * sizeof *nv);
            if (!nv) { kc_stmt_done(s); return bank__oom(err, errlen, "occupation"); }
            if (*n) memcpy(nv, v, *n * sizeof *nv);
            v = nv;
            cap = nc;
        }
        bank_occupation *o = &v[(*n)++];
        memset(o, 0, sizeof *o);
        o->code = kc_arena_strdup(a, kc_stmt_str(s, 0));
        o->name = kc_arena_strdup(a, kc_stmt_str(s, 1));
        o->edition = kc_stmt_null(s, 2) ? NULL : kc_arena_strdup(a, kc_stmt_str(s, 2));
        for (const char *p = kc_stmt_str(s, 3); p && *p && o->n_levels < 5; p++)
            if (*p >= '1' && *p <= '5') o->levels[o->n_levels++] = *p - '0';
    }
    if (!failed && f < 0) failed = 1;
    if (!failed && (!(w = kc_db_stmt(db, SQL_WT_LIST)) || kc_stmt_exec(w, ""))) failed = 1;
    while (!failed && (f = kc_stmt_next(w)) == 1) {
        const char *code = kc_stmt_str(w, 0);
        for (size_t i = 0; i < *n; i++) {
            if (strcmp(v[i].code, code)) continue;
            const char **wt = kc_arena_alloc(a, (size_t)(v[i].n_work_types + 1) * sizeof *wt);
            if (!wt) break;
            if (v[i].n_work_types) memcpy(wt, v[i].work_types, (size_t)v[i].n_work_types * sizeof *wt);
            wt[v[i].n_work_types++] = kc_arena_strdup(a, kc_stmt_str(w, 1));
            v[i].work_types = wt;
        }
    }
    if (!failed && f < 0) failed = 1;
    int rc = failed ? bank__db_err(db, err, errlen, "occupation") : 0;
    kc_stmt_done(s);
    kc_stmt_done(w);
    if (!rc) *out = v;
    else *n = 0;
    return rc;
}

int bank_blueprint_store(kc_db *db, const bank_blueprint *b, const char *source_file,
                         char *err, size_t errlen)
{
    if (err && errlen) *err = 0;
    if (!b || !b->occupation || b->level < 1 || b->level > 5 || !b->n)
        return bank__err(err, errlen, "blueprint", "needs an occupation, a level and nodes"), KC_EINVAL;
    if (kc_db_begin(db)) return bank__db_err(db, err, errlen, "blueprint");
    kc_stmt *ex = NULL, *up = NULL, *clr = NULL, *node = NULL;
    int failed = 0;
    int rc = 0;
    uint64_t *ids = calloc(b->n, sizeof *ids);
    if (!ids) { kc_db_rollback(db); return bank__oom(err, errlen, "blueprint"); }
    if (!(ex = kc_db_stmt(db, SQL_OCC_EXISTS)) || kc_stmt_exec(ex, "s", b->occupation)) {
        failed = 1;
        goto out;
    }
    int f = kc_stmt_next(ex);
    if (f < 0) { failed = 1; goto out; }
    if (!f) {
        char why[160];
        snprintf(why, sizeof why, "occupation %s is not in the catalog (kaochang bank occupation add)",
                 b->occupation);
        rc = bank__err(err, errlen, "blueprint", why);
        rc = KC_ENOTFOUND;
        goto out;
    }
    if (!(up = kc_db_stmt(db, SQL_BP_UPSERT)) ||
        kc_stmt_exec(up, "siss", b->occupation, (int64_t)b->level, bank_part_name(b->part),
                      source_file)) {
        failed = 1;
        goto out;
    }
    uint64_t bp = kc_stmt_insert_id(up);
    if (!(clr = kc_db_stmt(db, SQL_BP_CLEAR)) || kc_stmt_exec(clr, "u", bp)) { failed = 1; goto out; }
    if (!(node = kc_db_stmt(db, SQL_BP_NODE))) { failed = 1; goto out; }
    for (size_t i = 0; i < b->n; i++) {
        const bank_bp_node *nd = &b->nodes[i];
        char imp[2] = {nd->importance, 0};
        kc_param p[9] = {
            {'u', (int64_t)bp, NULL, 0},
            nd->parent >= 0 && (size_t)nd->parent < i ? (kc_param){'u', (int64_t)ids[nd->parent], NULL, 0}
                                                      : (kc_param){'s', 0, NULL, 0},
            {'i', (int64_t)i + 1, NULL, 0},
            {'i', nd->depth, NULL, 0},
            {'s', 0, nd->is_point ? "point" : "range", 0},
            {'s', 0, nd->code, 0},
            {'s', 0, nd->name ? nd->name : "", 0},
            nd->is_point ? (kc_param){'s', 0, NULL, 0} : (kc_param){'i', nd->weight_centi, NULL, 0},
            {'s', 0, nd->is_point && nd->importance ? imp : NULL, 0},
        };
        if (kc_stmt_execv(node, p, 9)) { failed = 1; goto out; }
        ids[i] = kc_stmt_insert_id(node);
    }
out:
    if (failed) rc = bank__db_err(db, err, errlen, "blueprint");
    free(ids);
    kc_stmt_done(ex);
    kc_stmt_done(up);
    kc_stmt_done(clr);
    kc_stmt_done(node);
    return bank__tx_end(db, rc, err, errlen);
}

int bank_blueprint_load(kc_db *db, const char *occupation, int level, enum bank_part part,
                        bank_blueprint *b, char *err, size_t errlen)
{
    if (err && errlen) *err = 0;
    kc_stmt *s = NULL, *nodes = NULL;
    int failed = 0;
    int rc = 0;
    uint64_t *ids = NULL;
    size_t idcap = 0;
    if (!(s = kc_db_stmt(db, SQL_BP_FIND)) ||
        kc_stmt_exec(s, "sis", occupation, (int64_t)level, bank_part_name(part))) {
        failed = 1;
        goto out;
    }
    int f = kc_stmt_next(s);
    if (f < 0) { failed = 1; goto out; }
    if (!f) {
        rc = KC_ENOTFOUND;
        char why[160];
        const char *ln = bank_level_name(level);
        snprintf(why, sizeof why, "no %s blueprint for %s %s", bank_part_name(part), occupation,
                 ln ? ln : "?");
        bank__err(err, errlen, "blueprint", why);
        goto out;
    }
    uint64_t bp = (uint64_t)kc_stmt_int(s, 0);
    b->occupation = kc_arena_strdup(b->arena, occupation);
    b->level = level;
    b->part = part;
    if (!(nodes = kc_db_stmt(db, SQL_BP_NODES)) || kc_stmt_exec(nodes, "u", bp)) {
        failed = 1;
        goto out;
    }
    while ((f = kc_stmt_next(nodes)) == 1) {
        bank_bp_node *nd = bank_blueprint_push(b);
        if (b->n > idcap) {
            size_t nc = idcap ? idcap * 2 : 64;
            uint64_t *ni = realloc(ids, nc * sizeof *ni);
            if (!ni) nd = NULL;
            else { ids = ni; idcap = nc; }
        }
        if (!nd) { rc = bank__oom(err, errlen, "blueprint"); goto out; }
        ids[b->n - 1] = (uint64_t)kc_stmt_int(nodes, 0);
        uint64_t parent = (uint64_t)kc_stmt_int(nodes, 1);
        nd->parent = -1;
        for (size_t k = 0; parent && k + 1 < b->n; k++)
            if (ids[k] == parent) nd->parent = (int)k;
        nd->depth = (int)kc_stmt_int(nodes, 2);
        nd->is_point = !strcmp(kc_stmt_str(nodes, 3), "point");
        nd->code = kc_arena_strdup(b->arena, kc_stmt_str(nodes, 4));
        nd->name = kc_arena_strdup(b->arena, kc_stmt_str(nodes, 5));
        nd->weight_centi = (int)kc_stmt_int(nodes, 6);
        const char *imp = kc_stmt_str(nodes, 7);
        nd->importance = imp ? imp[0] : 0;
        if (!nd->code || !nd->name) { rc = bank__oom(err, errlen, "blueprint"); goto out; }
    }
    if (f < 0) failed = 1;
out:
    if (failed) rc = bank__db_err(db, err, errlen, "blueprint");
    free(ids);
    kc_stmt_done(s);
    kc_stmt_done(nodes);
    return rc;
}

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

int bank_occupation_upsert(MYSQL *db, const bank_occupation *o, char *err, size_t errlen)
{
    if (err && errlen) *err = 0;
    if (!o || !o->code || !bank_occupation_code_valid(o->code))
        return bank__err(err, errlen, "occupation code",
                         "expected a national code N-NN-NN-NN such as 4-04-04-02"), BANK_EREFUSED;
    if (!o->name || !*o->name || strlen(o->name) > 128)
        return bank__err(err, errlen, "occupation name", o->name && *o->name ? "longer than 128 bytes" : "missing"),
               BANK_EREFUSED;
    if (o->edition && strlen(o->edition) > 64)
        return bank__err(err, errlen, "edition", "longer than 64 bytes"), BANK_EREFUSED;
    char levels[16] = "";
    size_t ln = 0;
    for (int i = 0; i < o->n_levels && i < 5; i++) {
        if (o->levels[i] < 1 || o->levels[i] > 5)
            return bank__err(err, errlen, "levels", "a level is 1 (一级) to 5 (五级)"), BANK_EREFUSED;
        ln += (size_t)snprintf(levels + ln, sizeof levels - ln, "%s%d", i ? "," : "", o->levels[i]);
    }
    for (int i = 0; i < o->n_work_types; i++)
        if (!o->work_types[i] || !*o->work_types[i] || strlen(o->work_types[i]) > 128)
            return bank__err(err, errlen, "work types", "a work type is 1 to 128 bytes"), BANK_EREFUSED;
    if (mysql_query(db, "START TRANSACTION")) return bank__err(err, errlen, "occupation", mysql_error(db));
    bank__st up, drop, add;
    memset(&drop, 0, sizeof drop);
    memset(&add, 0, sizeof add);
    const bank__st *failed = NULL;
    if (bank__st_prepare(&up, db, SQL_OCC_UPSERT) ||
        bank__st_exec(&up, "ssss", o->code, o->name, o->edition, levels))
        failed = &up;
    if (!failed && o->n_work_types > 0) {
        if (bank__st_prepare(&drop, db, SQL_WT_DROP) || bank__st_exec(&drop, "s", o->code))
            failed = &drop;
        else if (bank__st_prepare(&add, db, SQL_WT_ADD))
            failed = &add;
        for (int i = 0; !failed && i < o->n_work_types; i++)
            if (bank__st_exec(&add, "ss", o->code, o->work_types[i])) failed = &add;
    }
    int rc = failed ? bank__err(err, errlen, "occupation", bank__st_error(failed)) : 0;
    bank__st_close(&up);
    bank__st_close(&drop);
    bank__st_close(&add);
    return bank__tx_end(db, rc, err, errlen);
}

int bank_occupation_list(MYSQL *db, bank_arena *a, bank_occupation **out, size_t *n,
                         char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    bank__st s, w;
    memset(&w, 0, sizeof w);
    const bank__st *failed = NULL;
    size_t cap = 0;
    bank_occupation *v = NULL;
    if (bank__st_prepare(&s, db, SQL_OCC_LIST) || bank__st_exec(&s, "")) failed = &s;
    int f;
    while (!failed && (f = bank__st_fetch(&s)) == 1) {
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            bank_occupation *nv = bank_arena_alloc(a, nc * sizeof *nv);
            if (!nv) { bank__st_close(&s); return bank__err(err, errlen, "occupation", "out of memory"); }
            if (*n) memcpy(nv, v, *n * sizeof *nv);
            v = nv;
            cap = nc;
        }
        bank_occupation *o = &v[(*n)++];
        memset(o, 0, sizeof *o);
        o->code = bank_arena_strdup(a, bank__st_str(&s, 0));
        o->name = bank_arena_strdup(a, bank__st_str(&s, 1));
        o->edition = bank__st_null(&s, 2) ? NULL : bank_arena_strdup(a, bank__st_str(&s, 2));
        for (const char *p = bank__st_str(&s, 3); p && *p && o->n_levels < 5; p++)
            if (*p >= '1' && *p <= '5') o->levels[o->n_levels++] = *p - '0';
    }
    if (!failed && f < 0) failed = &s;
    if (!failed && (bank__st_prepare(&w, db, SQL_WT_LIST) || bank__st_exec(&w, ""))) failed = &w;
    while (!failed && (f = bank__st_fetch(&w)) == 1) {
        const char *code = bank__st_str(&w, 0);
        for (size_t i = 0; i < *n; i++) {
            if (strcmp(v[i].code, code)) continue;
            const char **wt = bank_arena_alloc(a, (size_t)(v[i].n_work_types + 1) * sizeof *wt);
            if (!wt) break;
            if (v[i].n_work_types) memcpy(wt, v[i].work_types, (size_t)v[i].n_work_types * sizeof *wt);
            wt[v[i].n_work_types++] = bank_arena_strdup(a, bank__st_str(&w, 1));
            v[i].work_types = wt;
        }
    }
    if (!failed && f < 0) failed = &w;
    int rc = failed ? bank__err(err, errlen, "occupation", bank__st_error(failed)) : 0;
    bank__st_close(&s);
    bank__st_close(&w);
    if (!rc) *out = v;
    else *n = 0;
    return rc;
}

int bank_blueprint_store(MYSQL *db, const bank_blueprint *b, const char *source_file,
                         char *err, size_t errlen)
{
    if (err && errlen) *err = 0;
    if (!b || !b->occupation || b->level < 1 || b->level > 5 || !b->n)
        return bank__err(err, errlen, "blueprint", "needs an occupation, a level and nodes"), BANK_EREFUSED;
    if (mysql_query(db, "START TRANSACTION")) return bank__err(err, errlen, "blueprint", mysql_error(db));
    bank__st ex, up, clr, node;
    memset(&up, 0, sizeof up);
    memset(&clr, 0, sizeof clr);
    memset(&node, 0, sizeof node);
    const bank__st *failed = NULL;
    int rc = 0;
    uint64_t *ids = calloc(b->n, sizeof *ids);
    if (!ids) { mysql_rollback(db); return bank__err(err, errlen, "blueprint", "out of memory"); }
    if (bank__st_prepare(&ex, db, SQL_OCC_EXISTS) || bank__st_exec(&ex, "s", b->occupation)) {
        failed = &ex;
        goto out;
    }
    int f = bank__st_fetch(&ex);
    if (f < 0) { failed = &ex; goto out; }
    if (!f) {
        char why[160];
        snprintf(why, sizeof why, "occupation %s is not in the catalog (kaochang bank occupation add)",
                 b->occupation);
        rc = bank__err(err, errlen, "blueprint", why);
        rc = BANK_ENOTFOUND;
        goto out;
    }
    if (bank__st_prepare(&up, db, SQL_BP_UPSERT) ||
        bank__st_exec(&up, "siss", b->occupation, (int64_t)b->level, bank_part_name(b->part),
                      source_file)) {
        failed = &up;
        goto out;
    }
    uint64_t bp = bank__st_insert_id(&up);
    if (bank__st_prepare(&clr, db, SQL_BP_CLEAR) || bank__st_exec(&clr, "u", bp)) { failed = &clr; goto out; }
    if (bank__st_prepare(&node, db, SQL_BP_NODE)) { failed = &node; goto out; }
    for (size_t i = 0; i < b->n; i++) {
        const bank_bp_node *nd = &b->nodes[i];
        char imp[2] = {nd->importance, 0};
        bank__param p[9] = {
            {'u', (int64_t)bp, NULL, 0},
            nd->parent >= 0 && (size_t)nd->parent < i ? (bank__param){'u', (int64_t)ids[nd->parent], NULL, 0}
                                                      : (bank__param){'s', 0, NULL, 0},
            {'i', (int64_t)i + 1, NULL, 0},
            {'i', nd->depth, NULL, 0},
            {'s', 0, nd->is_point ? "point" : "range", 0},
            {'s', 0, nd->code, 0},
            {'s', 0, nd->name ? nd->name : "", 0},
            nd->is_point ? (bank__param){'s', 0, NULL, 0} : (bank__param){'i', nd->weight_centi, NULL, 0},
            {'s', 0, nd->is_point && nd->importance ? imp : NULL, 0},
        };
        if (bank__st_execv(&node, p, 9)) { failed = &node; goto out; }
        ids[i] = bank__st_insert_id(&node);
    }
out:
    if (failed) rc = bank__err(err, errlen, "blueprint", bank__st_error(failed));
    free(ids);
    bank__st_close(&ex);
    bank__st_close(&up);
    bank__st_close(&clr);
    bank__st_close(&node);
    return bank__tx_end(db, rc, err, errlen);
}

int bank_blueprint_load(MYSQL *db, const char *occupation, int level, enum bank_part part,
                        bank_blueprint *b, char *err, size_t errlen)
{
    if (err && errlen) *err = 0;
    bank__st s, nodes;
    memset(&nodes, 0, sizeof nodes);
    const bank__st *failed = NULL;
    int rc = 0;
    uint64_t *ids = NULL;
    size_t idcap = 0;
    if (bank__st_prepare(&s, db, SQL_BP_FIND) ||
        bank__st_exec(&s, "sis", occupation, (int64_t)level, bank_part_name(part))) {
        failed = &s;
        goto out;
    }
    int f = bank__st_fetch(&s);
    if (f < 0) { failed = &s; goto out; }
    if (!f) {
        rc = BANK_ENOTFOUND;
        char why[160];
        const char *ln = bank_level_name(level);
        snprintf(why, sizeof why, "no %s blueprint for %s %s", bank_part_name(part), occupation,
                 ln ? ln : "?");
        bank__err(err, errlen, "blueprint", why);
        goto out;
    }
    uint64_t bp = (uint64_t)bank__st_int(&s, 0);
    b->occupation = bank_arena_strdup(b->arena, occupation);
    b->level = level;
    b->part = part;
    if (bank__st_prepare(&nodes, db, SQL_BP_NODES) || bank__st_exec(&nodes, "u", bp)) {
        failed = &nodes;
        goto out;
    }
    while ((f = bank__st_fetch(&nodes)) == 1) {
        bank_bp_node *nd = bank_blueprint_push(b);
        if (b->n > idcap) {
            size_t nc = idcap ? idcap * 2 : 64;
            uint64_t *ni = realloc(ids, nc * sizeof *ni);
            if (!ni) nd = NULL;
            else { ids = ni; idcap = nc; }
        }
        if (!nd) { rc = bank__err(err, errlen, "blueprint", "out of memory"); goto out; }
        ids[b->n - 1] = (uint64_t)bank__st_int(&nodes, 0);
        uint64_t parent = (uint64_t)bank__st_int(&nodes, 1);
        nd->parent = -1;
        for (size_t k = 0; parent && k + 1 < b->n; k++)
            if (ids[k] == parent) nd->parent = (int)k;
        nd->depth = (int)bank__st_int(&nodes, 2);
        nd->is_point = !strcmp(bank__st_str(&nodes, 3), "point");
        nd->code = bank_arena_strdup(b->arena, bank__st_str(&nodes, 4));
        nd->name = bank_arena_strdup(b->arena, bank__st_str(&nodes, 5));
        nd->weight_centi = (int)bank__st_int(&nodes, 6);
        const char *imp = bank__st_str(&nodes, 7);
        nd->importance = imp ? imp[0] : 0;
        if (!nd->code || !nd->name) { rc = bank__err(err, errlen, "blueprint", "out of memory"); goto out; }
    }
    if (f < 0) failed = &nodes;
out:
    if (failed) rc = bank__err(err, errlen, "blueprint", bank__st_error(failed));
    free(ids);
    bank__st_close(&s);
    bank__st_close(&nodes);
    return rc;
}

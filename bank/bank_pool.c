/* The pool a paper is drawn from: what assembly needs to know of each approved item version
 * (type, difficulty, 鉴定点, options, tags, sub-items), loaded in one pass. */
#include "bank_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_COLS \
    "i.id, i.uid, i.type, COALESCE(i.difficulty, 0), i.point_code, i.points_centi," \
    " COALESCE(JSON_LENGTH(i.options), 0), i.pin_options, i.tags," \
    " COALESCE(JSON_VALUE(i.spec, '$.time_minutes'), 0)"
enum { P_ID, P_UID, P_TYPE, P_DIFF, P_POINT, P_POINTS, P_NOPT, P_PIN, P_TAGS, P_TIME };

/* The newest approved version of each top-level item: a newer draft of an approved item
 * does not hide the approved one. */
static const char SQL_POOL[] =
    "SELECT " POOL_COLS " FROM item i JOIN (SELECT uid, MAX(version) AS v FROM item"
    " WHERE parent_id IS NULL AND status = 'approved' AND (? IS NULL OR occupation_code = ?)"
    " AND (? = 0 OR level = ?) GROUP BY uid) n ON n.uid = i.uid AND n.v = i.version"
    " WHERE i.parent_id IS NULL";
/* (A join with the newest versions, not a correlated NOT EXISTS: right after a bulk import
 * InnoDB's statistics may still call the table tiny, and the optimizer then ran that
 * subquery through the wrong index in quadratic time.) */
#define BY_IDS 64     /* ids per statement: one cached statement for any number */
static const char SQL_SUBS[] =
    "SELECT c.id, COALESCE(JSON_LENGTH(c.options), 0), c.pin_options, c.type FROM item c"
    " WHERE c.parent_id = ? ORDER BY c.sub_no";

static int has_options(enum bank_item_type t) { return t == BANK_SINGLE || t == BANK_MULTI; }

static int add_row(bank_pool *p, kc_stmt *s)
{
    bank_pool_item *it = bank_pool_push(p);
    if (!it) return -1;
    it->id = (uint64_t)kc_stmt_int(s, P_ID);
    it->uid = kc_arena_strndup(p->arena, kc_stmt_str(s, P_UID), kc_stmt_len(s, P_UID));
    if (!it->uid) return -1;
    if (bank_type_parse(kc_stmt_str(s, P_TYPE), &it->type)) { p->n--; return 0; }
    it->difficulty = (int)kc_stmt_int(s, P_DIFF);
    if (!kc_stmt_null(s, P_POINT)) {
        it->point_code = kc_arena_strndup(p->arena, kc_stmt_str(s, P_POINT), kc_stmt_len(s, P_POINT));
        if (!it->point_code) return -1;
    }
    it->points_centi = (int)kc_stmt_int(s, P_POINTS);
    it->n_options = has_options(it->type) ? (int)kc_stmt_int(s, P_NOPT) : 0;
    if (it->n_options > BANK_MAX_OPTIONS) it->n_options = BANK_MAX_OPTIONS;
    it->pin_options = (int)kc_stmt_int(s, P_PIN);
    it->time_minutes = (int)kc_stmt_int(s, P_TIME);
    const char *tags = kc_stmt_str(s, P_TAGS);
    if (tags && strcmp(tags, "[]")) {
        json_t *t = json_loads(tags, 0, NULL);
        size_t n = json_is_array(t) ? json_array_size(t) : 0;
        if (n) {
            it->tags = kc_arena_alloc(p->arena, n * sizeof *it->tags);
            if (!it->tags) { json_decref(t); return -1; }
            for (size_t k = 0; k < n; k++)
                if (json_is_string(json_array_get(t, k)))
                    it->tags[it->n_tags++] = kc_arena_strdup(p->arena, json_string_value(json_array_get(t, k)));
        }
        json_decref(t);
    }
    return 0;
}

static int by_uid(const void *a, const void *b)
{
    const bank_pool_item *x = a, *y = b;
    int c = strcmp(x->uid, y->uid);
    return c ? c : (x->id > y->id) - (x->id < y->id);
}

static int load_children(kc_db *db, kc_stmt *st, bank_pool *p, size_t from, char *err, size_t errlen)
{
    for (size_t i = from; i < p->n; i++) {
        bank_pool_item *it = &p->items[i];
        if (it->type != BANK_COMPOSITE) continue;
        if (kc_stmt_exec(st, "u", it->id)) return bank__db_err(db, err, errlen, "pool");
        int n = 0, r;
        bank_pool_child tmp[BANK_MAX_CHILDREN];
        while ((r = kc_stmt_next(st)) == 1) {
            if (n == BANK_MAX_CHILDREN) continue;
            enum bank_item_type t = 0;
            bank_type_parse(kc_stmt_str(st, 3), &t);
            tmp[n].id = (uint64_t)kc_stmt_int(st, 0);
            tmp[n].n_options = has_options(t) ? (int)kc_stmt_int(st, 1) : 0;
            if (tmp[n].n_options > BANK_MAX_OPTIONS) tmp[n].n_options = BANK_MAX_OPTIONS;
            tmp[n].pin_options = (int)kc_stmt_int(st, 2);
            n++;
        }
        kc_stmt_done(st);
        if (r < 0) return bank__db_err(db, err, errlen, "pool");
        it->children = kc_arena_alloc(p->arena, (size_t)(n ? n : 1) * sizeof *it->children);
        if (!it->children) return bank__oom(err, errlen, "pool");
        memcpy(it->children, tmp, (size_t)n * sizeof *tmp);
        it->n_children = n;
    }
    return 0;
}

int bank_pool_load(kc_db *db, const char *occupation, int level, const uint64_t *ids,
                   size_t n_ids, bank_pool *p, char *err, size_t errlen)
{
    kc_stmt *st = NULL, *sub = NULL;
    size_t from = p->n;
    int rc = 0, r;
    if (n_ids) {
        char sql_ids[sizeof "SELECT " POOL_COLS " FROM item i WHERE i.id IN () ORDER BY i.uid" + 2 * BY_IDS];
        char *w = sql_ids;
        w += sprintf(w, "SELECT " POOL_COLS " FROM item i WHERE i.id IN (");
        for (int k = 0; k < BY_IDS; k++) w += sprintf(w, k ? ",?" : "?");
        sprintf(w, ") ORDER BY i.uid");
        if (!(st = kc_db_stmt(db, sql_ids))) { rc = bank__db_err(db, err, errlen, "pool"); goto out; }
        kc_param prm[BY_IDS];
        for (size_t at = 0; at < n_ids && !rc; at += BY_IDS) {
            for (int k = 0; k < BY_IDS; k++)   /* id 0 never exists: pads the last batch */
                prm[k] = (kc_param){'u', (int64_t)(at + (size_t)k < n_ids ? ids[at + (size_t)k] : 0), NULL, 0};
            if (kc_stmt_execv(st, prm, BY_IDS)) { rc = bank__db_err(db, err, errlen, "pool"); break; }
            while ((r = kc_stmt_next(st)) == 1)
                if (add_row(p, st)) { rc = bank__oom(err, errlen, "pool"); break; }
            kc_stmt_done(st);
            if (r < 0 && !rc) rc = bank__db_err(db, err, errlen, "pool");
        }
    } else {
        if (!(st = kc_db_stmt(db, SQL_POOL))) { rc = bank__db_err(db, err, errlen, "pool"); goto out; }
        if (kc_stmt_exec(st, "ssii", occupation, occupation, (int64_t)level, (int64_t)level)) {
            rc = bank__db_err(db, err, errlen, "pool");
            goto out;
        }
        while ((r = kc_stmt_next(st)) == 1)
            if (add_row(p, st)) { rc = bank__oom(err, errlen, "pool"); break; }
        kc_stmt_done(st);
        if (r < 0 && !rc) rc = bank__db_err(db, err, errlen, "pool");
    }
    /* Byte order of uids, not the collation's: a stored pool must come back in the same
     * order, or the same seed would draw different items. */
    if (!rc && p->n > from) qsort(p->items + from, p->n - from, sizeof *p->items, by_uid);
    p->by_id = NULL;
    if (!rc) {
        if (!(sub = kc_db_stmt(db, SQL_SUBS))) rc = bank__db_err(db, err, errlen, "pool");
        else rc = load_children(db, sub, p, from, err, errlen);
    }
out:
    kc_stmt_done(st);
    kc_stmt_done(sub);
    return rc;
}

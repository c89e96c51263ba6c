/* Loading stored items (the newest version of each, with sub-items, media, spec and
 * tags) for export and the browser pages, and the bank-health figures. */
#include "bank_int.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COLS \
    "i.id, i.uid, i.version, i.type, i.stem, i.options, i.pin_options, i.answer_key," \
    " i.mc_policy, i.points_centi, i.difficulty, i.point_code, i.explanation, i.source," \
    " i.content_hash, i.full_hash, i.status, i.spec, i.occupation_code, i.level, i.tags," \
    " i.author, i.created_by, CAST(UNIX_TIMESTAMP(i.created_at) * 1000 AS SIGNED)," \
    " i.status_by, CAST(UNIX_TIMESTAMP(i.status_at) * 1000 AS SIGNED)," \
    " EXISTS (SELECT 1 FROM paper_item p WHERE p.item_id = i.id)" \
    " OR EXISTS (SELECT 1 FROM paper_build_item b WHERE b.item_id = i.id), i.import_file, i.import_line"
enum {
    C_ID, C_UID, C_VERSION, C_TYPE, C_STEM, C_OPTIONS, C_PIN, C_ANSWER, C_POLICY, C_POINTS,
    C_DIFF, C_POINT, C_EXPL, C_SOURCE, C_CHASH, C_FHASH, C_STATUS, C_SPEC, C_OCC, C_LEVEL,
    C_TAGS, C_AUTHOR, C_CBY, C_CAT, C_SBY, C_SAT, C_DELIVERED, C_FILE, C_LINE,
};
#define NEWEST \
    " i.parent_id IS NULL AND NOT EXISTS (SELECT 1 FROM item j WHERE j.uid = i.uid" \
    " AND j.parent_id IS NULL AND j.version > i.version)"
static const char SQL_CHILDREN[] = "SELECT " COLS " FROM item i WHERE i.parent_id = ? ORDER BY i.sub_no";
static const char SQL_MEDIA[] =
    "SELECT im.name, m.mime, m.bytes FROM item_media im JOIN media m ON m.sha256 = im.sha256"
    " WHERE im.item_id = ? ORDER BY im.name";

static char *adup(kc_arena *a, kc_stmt *s, int col)
{
    const char *v = kc_stmt_str(s, col);
    return v ? kc_arena_strndup(a, v, kc_stmt_len(s, col)) : NULL;
}

static const char *jdup(kc_arena *a, json_t *v)
{
    return json_is_string(v) ? kc_arena_strdup(a, json_string_value(v)) : NULL;
}

/* One row into it (strings in a). -1 on OOM or a row that is not an item any more. */
static int fill(bank_item *it, kc_stmt *s, kc_arena *a)
{
    it->db_id = (uint64_t)kc_stmt_int(s, C_ID);
    it->uid = adup(a, s, C_UID);
    it->version = (int)kc_stmt_int(s, C_VERSION);
    if (bank_type_parse(kc_stmt_str(s, C_TYPE), &it->type)) return -1;
    it->stem = adup(a, s, C_STEM);
    json_t *o = json_loads(kc_stmt_str(s, C_OPTIONS) ? kc_stmt_str(s, C_OPTIONS) : "[]", 0, NULL);
    for (size_t k = 0; json_is_array(o) && k < json_array_size(o) && k < BANK_MAX_OPTIONS; k++)
        it->options[it->n_options++] = jdup(a, json_array_get(o, k));
    json_decref(o);
    it->pin_options = (int)kc_stmt_int(s, C_PIN);
    const char *ans = kc_stmt_str(s, C_ANSWER);
    it->answer = ans && *ans ? adup(a, s, C_ANSWER) : NULL;
    if (!kc_stmt_null(s, C_POLICY)) bank_mc_policy_parse(kc_stmt_str(s, C_POLICY), &it->mc_policy);
    it->points_centi = (int)kc_stmt_int(s, C_POINTS);
    it->difficulty = (int)kc_stmt_int(s, C_DIFF);
    it->point_code = adup(a, s, C_POINT);
    it->explanation = adup(a, s, C_EXPL);
    it->source = adup(a, s, C_SOURCE);
    if (kc_stmt_len(s, C_CHASH) == 32) memcpy(it->content_hash, kc_stmt_str(s, C_CHASH), 32);
    if (kc_stmt_len(s, C_FHASH) == 32) memcpy(it->full_hash, kc_stmt_str(s, C_FHASH), 32);
    if (bank_status_parse(kc_stmt_str(s, C_STATUS), &it->status)) it->status = BANK_DRAFT;
    if (!kc_stmt_null(s, C_SPEC)) {
        json_t *sp = json_loads(kc_stmt_str(s, C_SPEC), 0, NULL);
        it->time_minutes = (int)json_integer_value(json_object_get(sp, "time_minutes"));
        it->equipment = jdup(a, json_object_get(sp, "equipment"));
        json_t *cr = json_object_get(sp, "criteria");
        size_t n = json_is_array(cr) ? json_array_size(cr) : 0;
        if (n) {
            it->criteria = kc_arena_alloc(a, n * sizeof *it->criteria);
            if (!it->criteria) { json_decref(sp); return -1; }
            for (size_t k = 0; k < n; k++) {
                json_t *c = json_array_get(cr, k);
                it->criteria[k].text = jdup(a, json_object_get(c, "text"));
                it->criteria[k].points_centi = (int)json_integer_value(json_object_get(c, "points"));
                it->criteria[k].veto = json_is_true(json_object_get(c, "veto"));
            }
            it->n_criteria = (int)n;
        }
        json_decref(sp);
    }
    it->occupation = adup(a, s, C_OCC);
    it->level = (int)kc_stmt_int(s, C_LEVEL);
    if (!kc_stmt_null(s, C_TAGS)) {
        json_t *t = json_loads(kc_stmt_str(s, C_TAGS), 0, NULL);
        size_t n = json_is_array(t) ? json_array_size(t) : 0;
        if (n) {
            it->tags = kc_arena_alloc(a, n * sizeof *it->tags);
            if (!it->tags) { json_decref(t); return -1; }
            for (size_t k = 0; k < n; k++) it->tags[it->n_tags++] = jdup(a, json_array_get(t, k));
        }
        json_decref(t);
    }
    it->author = adup(a, s, C_AUTHOR);
    it->created_by = adup(a, s, C_CBY);
    it->created_at_ms = kc_stmt_int(s, C_CAT);
    it->status_by = adup(a, s, C_SBY);
    it->status_at_ms = kc_stmt_int(s, C_SAT);
    it->delivered = kc_stmt_int(s, C_DELIVERED) != 0;
    it->file = adup(a, s, C_FILE);
    it->line = (int)kc_stmt_int(s, C_LINE);
    if (it->type == BANK_FILL && it->answer) {
        char why[200];
        if (bank_fill_key_parse(it->answer, a, &it->blanks, &it->n_blanks, why, sizeof why))
            it->n_blanks = 0;
    }
    return it->uid && it->stem ? 0 : -1;
}

static int load_media(kc_stmt *m, bank_item *it, kc_arena *a)
{
    if (kc_stmt_exec(m, "u", it->db_id)) return -1;
    size_t n = (size_t)kc_stmt_num_rows(m);
    if (!n) { kc_stmt_done(m); return 0; }
    it->media = kc_arena_alloc(a, n * sizeof *it->media);
    int f = it->media ? 1 : -1;
    while (f == 1 && (size_t)it->n_media < n && (f = kc_stmt_next(m)) == 1) {
        bank_media *md = &it->media[it->n_media++];
        md->name = adup(a, m, 0);
        md->mime = adup(a, m, 1);
        md->len = kc_stmt_len(m, 2);
        unsigned char *data = kc_arena_alloc(a, md->len + 1);
        if (!data || !md->name || !md->mime) { f = -1; break; }
        memcpy(data, kc_stmt_str(m, 2), md->len);
        md->data = data;
        unsigned k = 0;
        EVP_Digest(data, md->len, md->sha256, &k, EVP_sha256(), NULL);
    }
    kc_stmt_done(m);
    return f < 0 ? -1 : 0;
}

/* Loads the rows of a top-level query into s, then their children and media. */
static int load_rows(kc_db *db, kc_stmt *q, kc_stmt *ch, kc_stmt *md, bank_itemset *s,
                     const char **what)
{
    size_t first = s->n;
    int f;
    while ((f = kc_stmt_next(q)) == 1) {
        bank_item *it = bank_itemset_push(s);
        if (!it || fill(it, q, s->arena)) { *what = "out of memory"; return -1; }
    }
    kc_stmt_done(q);
    if (f < 0) return -1;
    (void)db;
    for (size_t i = first; i < s->n; i++) {
        bank_item *it = &s->items[i];
        if (load_media(md, it, s->arena)) return -1;
        if (it->type != BANK_COMPOSITE) continue;
        if (kc_stmt_exec(ch, "u", it->db_id)) return -1;
        size_t n = (size_t)kc_stmt_num_rows(ch);
        it->children = n ? kc_arena_alloc(s->arena, n * sizeof *it->children) : NULL;
        if (n && !it->children) { *what = "out of memory"; kc_stmt_done(ch); return -1; }
        while ((size_t)it->n_children < n && (f = kc_stmt_next(ch)) == 1) {
            bank_item *c = &it->children[it->n_children];
            memset(c, 0, sizeof *c);
            if (fill(c, ch, s->arena)) { *what = "out of memory"; kc_stmt_done(ch); return -1; }
            it->n_children++;
        }
        kc_stmt_done(ch);
        if (f < 0) return -1;
        for (int k = 0; k < it->n_children; k++)
            if (load_media(md, &it->children[k], s->arena)) return -1;
    }
    return 0;
}

int bank_load_items(kc_db *db, const bank_filter *f, bank_itemset *s, char *err, size_t errlen)
{
    if (err && errlen) *err = 0;
    bank_filter none = {0};
    if (!f) f = &none;
    char sql[2048];
    size_t n = (size_t)snprintf(sql, sizeof sql, "SELECT " COLS " FROM item i WHERE" NEWEST);
    kc_param p[8];
    int np = 0;
#define ADD(cond, param) do { n += (size_t)snprintf(sql + n, sizeof sql - n, "%s", cond); p[np++] = param; } while (0)
    if (f->occupation) ADD(" AND i.occupation_code = ?", ((kc_param){'s', 0, f->occupation, 0}));
    if (f->level > 0) ADD(" AND i.level = ?", ((kc_param){'i', f->level, NULL, 0}));
    if (f->status) ADD(" AND i.status = ?", ((kc_param){'s', 0, bank_status_name(f->status), 0}));
    if (f->type) ADD(" AND i.type = ?", ((kc_param){'s', 0, bank_type_name(f->type), 0}));
    if (f->point_code) ADD(" AND i.point_code = ?", ((kc_param){'s', 0, f->point_code, 0}));
    /* with a uid list: one uid per execution, so the items come in the caller's order */
    int by_uid = f->n_uids > 0;
    if (by_uid) ADD(" AND i.uid = ?", ((kc_param){'s', 0, NULL, 0}));
#undef ADD
    snprintf(sql + n, sizeof sql - n, " ORDER BY i.uid");
    kc_stmt *q = NULL, *ch = NULL, *md = NULL;
    const char *what = NULL;
    int failed = 0;
    if (!(q = kc_db_stmt(db, sql))) failed = 1;
    else if (!(ch = kc_db_stmt(db, SQL_CHILDREN))) failed = 1;
    else if (!(md = kc_db_stmt(db, SQL_MEDIA))) failed = 1;
    for (size_t u = 0; !failed && u < (by_uid ? f->n_uids : 1); u++) {
        if (by_uid) p[np - 1].s = f->uids[u];
        if (kc_stmt_execv(q, p, np) || load_rows(db, q, ch, md, s, &what)) failed = 1;
    }
    int rc = 0;
    if (failed) rc = what ? bank__oom(err, errlen, "load items") : bank__db_err(db, err, errlen, "load items");
    kc_stmt_done(q);
    kc_stmt_done(ch);
    kc_stmt_done(md);
    return rc;
}

/* ---- bank health ---- */

/* The counted items, each followed by the 鉴定点 of its sub-items (composites): rows of
 * (item id, 0 for the item / 1 for a sub-item, point_code, status, year). */
#define HEALTH_OF_I \
    " AND i.occupation_code = ? AND i.level = ? AND i.status <> 'retired'" \
    " AND (i.type = 'practical') = ?"
static const char SQL_HEALTH_ITEMS[] =
    "SELECT i.id, 0, i.point_code, i.status, YEAR(i.created_at) FROM item i WHERE" NEWEST
    HEALTH_OF_I
    " UNION ALL SELECT i.id, 1, c.point_code, i.status, NULL FROM item c"
    " JOIN item i ON i.id = c.parent_id WHERE c.point_code IS NOT NULL AND c.point_code <> ''"
    " AND" NEWEST HEALTH_OF_I " ORDER BY 1, 2";

int bank_health_compute(kc_db *db, const char *occupation, int level, enum bank_part part,
                        kc_arena *a, bank_health *h, char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    bank_blueprint b;
    bank_blueprint_init(&b, a);
    int rc = bank_blueprint_load(db, occupation, level, part, &b, err, errlen);
    if (rc) return rc;
    h->points = kc_arena_alloc(a, (b.n + 1) * sizeof *h->points);
    h->ranges = kc_arena_alloc(a, (b.n + 1) * sizeof *h->ranges);
    int *slot = kc_arena_alloc(a, (b.n + 1) * sizeof *slot);   /* node -> range or point index */
    if (!h->points || !h->ranges || !slot) return bank__oom(err, errlen, "health");
    for (size_t i = 0; i < b.n; i++) {
        const bank_bp_node *nd = &b.nodes[i];
        if (nd->is_point) {
            bank_health_point *pt = &h->points[h->n_points];
            pt->code = nd->code;
            pt->name = nd->name;
            pt->importance = nd->importance;
            pt->range = nd->parent >= 0 ? slot[nd->parent] : -1;
            slot[i] = (int)h->n_points++;
            for (int up = nd->parent; up >= 0; up = b.nodes[up].parent) h->ranges[slot[up]].points++;
        } else {
            bank_health_range *r = &h->ranges[h->n_ranges];
            r->code = nd->code;
            r->name = nd->name;
            r->depth = nd->depth;
            r->weight_centi = nd->weight_centi;
            /* 2 x weight in %: weight_centi / 50, rounded up */
            r->points_needed = (nd->weight_centi + 49) / 50;
            slot[i] = (int)h->n_ranges++;
        }
    }
    for (size_t i = 0; i < h->n_ranges; i++)
        if (h->ranges[i].points < h->ranges[i].points_needed) h->ranges_short++;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    h->year = tm.tm_year + 1900;
    kc_stmt *q = NULL;
    if (!(q = kc_db_stmt(db, SQL_HEALTH_ITEMS)) ||
        kc_stmt_exec(q, "siisii", occupation, (int64_t)level, (int64_t)(part == BANK_PART_SKILLS),
                      occupation, (int64_t)level, (int64_t)(part == BANK_PART_SKILLS))) {
        rc = bank__db_err(db, err, errlen, "health");
        kc_stmt_done(q);
        return rc;
    }
    /* An item counts once on each distinct 鉴定点 it or its sub-items carry; it is "without
     * a 鉴定点" only when none of them names one of the blueprint. */
    int f, cur = -1, on_point = 0;
    int *seen = kc_arena_alloc(a, (b.n + 1) * sizeof *seen);   /* point slot -> last item */
    if (!seen) {
        kc_stmt_done(q);
        return bank__oom(err, errlen, "health");
    }
    for (size_t i = 0; i < h->n_points; i++) seen[i] = -1;
    while ((f = kc_stmt_next(q)) == 1) {
        if (kc_stmt_int(q, 1) == 0) {
            if (cur >= 0 && !on_point) h->items_without_point++;
            cur = h->items++;
            on_point = 0;
            if (kc_stmt_int(q, 4) == h->year) h->items_this_year++;
        }
        if (cur < 0) continue;
        const char *pc = kc_stmt_str(q, 2);
        int k = pc ? bank_blueprint_find(&b, pc) : -1;
        if (k < 0 || !b.nodes[k].is_point) continue;
        on_point = 1;
        if (seen[slot[k]] == cur) continue;
        seen[slot[k]] = cur;
        bank_health_point *pt = &h->points[slot[k]];
        pt->items++;
        if (!strcmp(kc_stmt_str(q, 3), "approved")) pt->approved++;
        const char *xyz = "XYZ", *at = pt->importance ? strchr(xyz, pt->importance) : NULL;
        if (at) h->items_by_importance[at - xyz]++;
    }
    if (cur >= 0 && !on_point) h->items_without_point++;
    if (f < 0) rc = bank__db_err(db, err, errlen, "health");
    kc_stmt_done(q);
    for (size_t i = 0; i < h->n_points; i++)
        if (h->points[i].items < BANK_HEALTH_MIN_ITEMS) h->points_short++;
    return rc;
}

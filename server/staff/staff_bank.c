/* The question bank for staff, as the DB workers run it: catalog, browsing, one item with
 * its versions and review log, the review lifecycle, saving an edited item and the health
 * figures of a bank. Replies are JSON text built here; keys and explanations go only to
 * staff connections (the service thread checked the roles before queueing the job). */
#include "staff.h"
#include "../media/media.h"
#include "../../importers/imp.h"
#include "../../bank/bank.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BIG 262144

static char *dump(json_t *o)
{
    if (!o) return NULL;
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

int staff_job_reply(srv_job *j, struct json_t *o)
{
    if (!o) return KC_ENOMEM;
    if (j->req_id >= 0) json_object_set_new(o, "id", json_integer(j->req_id));
    j->reply = dump(o);
    return j->reply ? 0 : KC_ENOMEM;
}

int staff_job_refuse(srv_job *j, const char *code, const char *field, const char *msg)
{
    j->reply = srv_msg_error_json(j->req_id, code, field, msg);
    return j->reply ? 0 : KC_ENOMEM;
}
#define reply staff_job_reply
#define refuse staff_job_refuse

static json_t *str_or_null(const char *s) { return s && *s ? json_string(s) : json_null(); }
static json_t *time_or_null(int64_t ms) { return ms ? json_integer(ms) : json_null(); }
static json_t *json_or_null(const char *s)
{
    json_t *v = s && *s ? json_loads(s, 0, NULL) : NULL;
    return v ? v : json_null();
}

/* A one-line excerpt of rich text for tables: tags dropped, a few entities decoded. */
static void excerpt(const char *html, char *out, size_t cap)
{
    static const struct { const char *ent, *ch; } ents[] = {
        {"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}, {"&quot;", "\""}, {"&#39;", "'"},
        {"&nbsp;", " "}};
    char *tmp = malloc(strlen(html) + 1);
    if (!tmp) { out[0] = 0; return; }
    size_t n = 0;
    for (const char *p = html; *p;) {
        if (*p == '<') {
            const char *e = strchr(p, '>');
            if (!e) break;
            if (n && tmp[n - 1] != ' ') tmp[n++] = ' ';
            p = e + 1;
            continue;
        }
        if (*p == '&') {
            size_t k = 0;
            for (; k < sizeof ents / sizeof ents[0]; k++)
                if (!strncmp(p, ents[k].ent, strlen(ents[k].ent))) break;
            if (k < sizeof ents / sizeof ents[0]) {
                tmp[n++] = ents[k].ch[0];
                p += strlen(ents[k].ent);
                continue;
            }
        }
        tmp[n++] = *p == '\n' || *p == '\r' || *p == '\t' ? ' ' : *p;
        p++;
    }
    tmp[n] = 0;
    while (n && tmp[n - 1] == ' ') tmp[--n] = 0;
    const char *start = tmp;
    while (*start == ' ') start++;
    const char *c = bank_text_clip(start, out, cap);
    if (c != out) snprintf(out, cap, "%s", c);
    free(tmp);
}

/* ---- bank_catalog ---- */

static const char SQL_OCCUPATIONS[] = "SELECT code, name, levels FROM occupation ORDER BY code";
static const char SQL_BLUEPRINTS[] =
    "SELECT id, occupation_code, level, part FROM blueprint ORDER BY occupation_code, level DESC, part";
static const char SQL_BP_NODES[] =
    "SELECT n.blueprint_id, n.code, n.name, n.kind, n.depth, n.weight_centi, n.importance,"
    " p.code FROM blueprint_node n LEFT JOIN blueprint_node p ON p.id = n.parent_id"
    " ORDER BY n.blueprint_id, n.position";
static const char SQL_IN_BANK[] =
    "SELECT occupation_code, level, COUNT(*) FROM item i WHERE i.parent_id IS NULL"
    " AND NOT EXISTS (SELECT 1 FROM item j WHERE j.uid = i.uid AND j.version > i.version)"
    " GROUP BY occupation_code, level ORDER BY occupation_code, level DESC";

int staff_bank_catalog(kc_db *db, const srv_ctx *x, srv_job *j)
{
    json_t *occ = json_array(), *bps = json_array(), *inb = json_array();
    char code[17], name[520], levels[17], part[16], kind[8], imp[2], pcode[65];
    uint64_t id;
    int64_t level, depth, weight, n;
    int rc = kc_db_query(db, SQL_OCCUPATIONS, "", "sss", code, sizeof code, name, sizeof name,
                          levels, sizeof levels);
    while (!rc && (rc = kc_db_fetch(db, SQL_OCCUPATIONS)) == 1) {
        rc = 0;
        json_array_append_new(occ, json_pack("{s:s, s:s, s:s}", "code", code, "name", name,
                                             "levels", levels));
    }
    kc_db_done(db, SQL_OCCUPATIONS);
    if (!rc) rc = kc_db_query(db, SQL_BLUEPRINTS, "", "usis", &id, code, sizeof code, &level,
                               part, sizeof part);
    while (!rc && (rc = kc_db_fetch(db, SQL_BLUEPRINTS)) == 1) {
        rc = 0;
        json_array_append_new(bps, json_pack("{s:I, s:s, s:I, s:s, s:[]}", "id", (json_int_t)id,
                                             "occupation", code, "level", (json_int_t)level,
                                             "part", part, "nodes"));
    }
    kc_db_done(db, SQL_BLUEPRINTS);
    char ncode[65];
    if (!rc) rc = kc_db_query(db, SQL_BP_NODES, "", "usssiiss", &id, ncode, sizeof ncode, name,
                               sizeof name, kind, sizeof kind, &depth, &weight, imp, sizeof imp,
                               pcode, sizeof pcode);
    while (!rc && (rc = kc_db_fetch(db, SQL_BP_NODES)) == 1) {
        rc = 0;
        size_t k;
        json_t *b;
        json_array_foreach(bps, k, b) {
            if ((uint64_t)json_integer_value(json_object_get(b, "id")) != id) continue;
            json_t *node = json_pack("{s:s, s:s, s:s, s:I, s:o, s:o, s:o}", "code", ncode,
                                     "name", name, "kind", kind, "depth", (json_int_t)depth,
                                     "weight", *kind == 'r' ? json_real((double)weight / 100.0) : json_null(),
                                     "importance", str_or_null(imp), "parent", str_or_null(pcode));
            json_array_append_new(json_object_get(b, "nodes"), node);
            break;
        }
    }
    kc_db_done(db, SQL_BP_NODES);
    if (!rc) rc = kc_db_query(db, SQL_IN_BANK, "", "sii", code, sizeof code, &level, &n);
    while (!rc && (rc = kc_db_fetch(db, SQL_IN_BANK)) == 1) {
        rc = 0;
        json_array_append_new(inb, json_pack("{s:o, s:o, s:I}", "occupation", str_or_null(code),
                                             "level", level ? json_integer(level) : json_null(),
                                             "items", (json_int_t)n));
    }
    kc_db_done(db, SQL_IN_BANK);
    if (rc < 0) {
        json_decref(occ); json_decref(bps); json_decref(inb);
        return rc;
    }
    json_t *types = json_array(), *statuses = json_array();
    for (int t = 1; t <= BANK_TYPE_MAX; t++)
        json_array_append_new(types, json_pack("{s:s, s:s}", "name", bank_type_name((enum bank_item_type)t),
                                               "label", bank_type_label((enum bank_item_type)t)));
    for (int s = BANK_DRAFT; s <= BANK_RETIRED; s++)
        json_array_append_new(statuses, json_string(bank_status_name((enum bank_status)s)));
    return reply(j, json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "type", "bank_catalog",
                              "occupations", occ, "blueprints", bps, "in_bank", inb, "types", types,
                              "statuses", statuses));
}

/* ---- bank_list ---- */

#define LIST_WHERE                                                                          \
    " FROM item i WHERE i.parent_id IS NULL"                                                \
    " AND NOT EXISTS (SELECT 1 FROM item j WHERE j.uid = i.uid AND j.version > i.version)"  \
    " AND (? = '' OR i.occupation_code = ?) AND (? = '' OR i.level = ?)"                    \
    " AND (? = '' OR i.point_code = ?) AND (? = '' OR i.type = ?)"                          \
    " AND (? = '' OR i.difficulty = ?) AND (? = '' OR i.status = ?)"                        \
    " AND (? = '' OR i.stem LIKE ? ESCAPE '!' OR i.uid = ?)"
static const char SQL_LIST_COUNT[] = "SELECT COUNT(*)" LIST_WHERE;
static const char SQL_LIST[] =
    "SELECT i.uid, i.version, i.type, LEFT(i.stem, 2000), i.occupation_code, i.level,"
    " i.point_code, i.difficulty, i.status, i.points_centi, i.created_at, i.status_at"
    LIST_WHERE " ORDER BY i.occupation_code, i.level DESC, i.point_code, i.uid LIMIT ? OFFSET ?";

enum { F_OCC, F_LEVEL, F_POINT, F_TYPE, F_DIFF, F_STATUS, F_Q, F_N };
static const char *const filter_names[F_N] = {"occupation", "level", "point", "type",
                                              "difficulty", "status", "q"};

int staff_bank_list(kc_db *db, const srv_ctx *x, srv_job *j)
{
    char f[F_N][130];
    memset(f, 0, sizeof f);
    json_t *filters = j->text ? json_loads(j->text, 0, NULL) : NULL;
    const char *key;
    json_t *v;
    char msg[160];
    json_object_foreach(filters, key, v) {
        int k = 0;
        while (k < F_N && strcmp(filter_names[k], key)) k++;
        if (k == F_N) {
            snprintf(msg, sizeof msg, "filters.%.30s: unknown filter", key);
            json_decref(filters);
            return refuse(j, "bad_field", "filters", msg);
        }
        if (json_is_integer(v)) snprintf(f[k], sizeof f[k], "%lld", (long long)json_integer_value(v));
        else if (json_is_string(v) && json_string_length(v) < 64) snprintf(f[k], sizeof f[k], "%s", json_string_value(v));
        else if (!json_is_null(v)) {
            snprintf(msg, sizeof msg, "filters.%s: expected a short string or an integer", key);
            json_decref(filters);
            return refuse(j, "bad_field", "filters", msg);
        }
    }
    json_decref(filters);
    enum bank_item_type t;
    enum bank_status st;
    if (*f[F_TYPE] && bank_type_parse(f[F_TYPE], &t))
        return refuse(j, "bad_field", "filters", "filters.type: not an item type");
    if (*f[F_STATUS] && bank_status_parse(f[F_STATUS], &st))
        return refuse(j, "bad_field", "filters", "filters.status: not a status");
    if (*f[F_STATUS]) snprintf(f[F_STATUS], sizeof f[F_STATUS], "%s", bank_status_name(st));
    if (*f[F_LEVEL] && (f[F_LEVEL][0] < '1' || f[F_LEVEL][0] > '5' || f[F_LEVEL][1]))
        return refuse(j, "bad_field", "filters", "filters.level: not a level 1..5");
    if (*f[F_DIFF] && (f[F_DIFF][0] < '1' || f[F_DIFF][0] > '5' || f[F_DIFF][1]))
        return refuse(j, "bad_field", "filters", "filters.difficulty: not a difficulty 1..5");
    /* The text search is a LIKE pattern: its own % and _ are literal. */
    char like[300] = "";
    if (*f[F_Q]) {
        size_t n = 0;
        like[n++] = '%';
        for (const char *p = f[F_Q]; *p && n + 4 < sizeof like; p++) {
            if (*p == '%' || *p == '_' || *p == '!') like[n++] = '!';
            like[n++] = *p;
        }
        like[n++] = '%';
        like[n] = 0;
    }
    int64_t limit = j->m.limit ? j->m.limit : 50, offset = j->m.offset, total = 0;
#define LIST_ARGS f[F_OCC], f[F_OCC], f[F_LEVEL], f[F_LEVEL], f[F_POINT], f[F_POINT], f[F_TYPE], \
                  f[F_TYPE], f[F_DIFF], f[F_DIFF], f[F_STATUS], f[F_STATUS], f[F_Q], like, f[F_Q]
    int rc = kc_db_query(db, SQL_LIST_COUNT, "sssssssssssssss", "i", LIST_ARGS, &total);
    if (!rc) rc = kc_db_fetch(db, SQL_LIST_COUNT) == 1 ? 0 : KC_EDB;
    kc_db_done(db, SQL_LIST_COUNT);
    if (rc) return rc;
    char uid[65], type[17], occ[17], pc[65], status[17], ex[240];
    char *stem = malloc(8192);
    if (!stem) return KC_ENOMEM;
    int64_t version, level, diff, points, created, status_at;
    json_t *rows = json_array();
    rc = kc_db_query(db, SQL_LIST, "sssssssssssssssii", "sisssisisitt", LIST_ARGS, limit, offset,
                      uid, sizeof uid, &version, type, sizeof type, stem, (size_t)8192, occ,
                      sizeof occ, &level, pc, sizeof pc, &diff, status, sizeof status, &points,
                      &created, &status_at);
#undef LIST_ARGS
    while (!rc && (rc = kc_db_fetch(db, SQL_LIST)) == 1) {
        rc = 0;
        excerpt(stem, ex, sizeof ex);
        json_array_append_new(rows, json_pack(
            "{s:s, s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:f, s:I, s:o}", "uid", uid,
            "version", (json_int_t)version, "type", type, "stem", ex, "occupation", str_or_null(occ),
            "level", level ? json_integer(level) : json_null(), "point", str_or_null(pc),
            "difficulty", diff ? json_integer(diff) : json_null(), "status", status,
            "points", (double)points / 100.0, "created_at", (json_int_t)created,
            "status_at", time_or_null(status_at)));
    }
    kc_db_done(db, SQL_LIST);
    free(stem);
    if (rc < 0) { json_decref(rows); return rc; }
    return reply(j, json_pack("{s:s, s:I, s:I, s:I, s:o}", "type", "bank_list", "total",
                              (json_int_t)total, "offset", (json_int_t)offset, "limit",
                              (json_int_t)limit, "rows", rows));
}

/* ---- bank_item ---- */

#define ITEM_COLS                                                                         \
    "SELECT id, uid, version, type, stem, options, answer_key, mc_policy, pin_options, spec," \
    " points_centi, difficulty, point_code, explanation, source, occupation_code, level,"     \
    " tags, author, status, created_at, created_by, status_by, status_at FROM item "
static const char SQL_ITEM_LATEST[] =
    ITEM_COLS "WHERE uid = ? AND parent_id IS NULL ORDER BY version DESC LIMIT 1";
static const char SQL_ITEM_CHILDREN[] =
    ITEM_COLS "WHERE parent_id = CAST(? AS UNSIGNED) ORDER BY sub_no, id";
static const char SQL_VERSIONS[] =
    "SELECT i.id, i.version, i.status, i.created_at, i.created_by, i.import_file,"
    " EXISTS (SELECT 1 FROM paper_item p WHERE p.item_id = i.id)"
    " OR EXISTS (SELECT 1 FROM paper_build_item b WHERE b.item_id = i.id)"
    " FROM item i WHERE i.uid = ? AND i.parent_id IS NULL ORDER BY i.version DESC";
static const char SQL_REVIEWS[] =
    "SELECT i.version, r.action, r.from_status, r.to_status, r.actor, r.comment, r.at"
    " FROM item_review r JOIN item i ON i.id = r.item_id"
    " WHERE i.uid = ? AND i.parent_id IS NULL ORDER BY r.at, r.id";

struct item_row {
    uint64_t id;
    int64_t version, pin, points, difficulty, level, created, status_at;
    char uid[65], type[17], mc[9], pc[65], source[256], occ[17], tags[2100], author[130],
        status[17], created_by[130], status_by[130];
    char stem[BIG], options[BIG], answer[BIG], spec[BIG], explanation[BIG];
};

/* By uid, or by parent id given as its decimal digits: one binding for both. */
static int item_query(kc_db *db, const char *sql, const char *key, struct item_row *r)
{
    return kc_db_query(db, sql, "s", "usisssssisiissssissstsst", key, &r->id,
                       r->uid, sizeof r->uid, &r->version, r->type, sizeof r->type, r->stem,
                       sizeof r->stem, r->options, sizeof r->options, r->answer, sizeof r->answer,
                       r->mc, sizeof r->mc, &r->pin, r->spec, sizeof r->spec, &r->points,
                       &r->difficulty, r->pc, sizeof r->pc, r->explanation, sizeof r->explanation,
                       r->source, sizeof r->source, r->occ, sizeof r->occ, &r->level, r->tags,
                       sizeof r->tags, r->author, sizeof r->author, r->status, sizeof r->status,
                       &r->created, r->created_by, sizeof r->created_by, r->status_by,
                       sizeof r->status_by, &r->status_at);
}

/* The stored spec counts rubric points x 100 (like points_centi); staff see points. */
static json_t *spec_json(const char *text)
{
    json_t *spec = json_or_null(text), *crit = json_object_get(spec, "criteria"), *c;
    size_t i;
    json_array_foreach(crit, i, c) {
        json_t *p = json_object_get(c, "points");
        if (json_is_integer(p)) json_object_set_new(c, "points", json_real((double)json_integer_value(p) / 100.0));
    }
    return spec;
}

static json_t *item_json(const struct item_row *r)
{
    json_t *opts = json_loads(r->options, 0, NULL);
    if (!json_is_array(opts)) { json_decref(opts); opts = json_array(); }
    json_t *tags = json_or_null(r->tags);
    return json_pack(
        "{s:I, s:s, s:I, s:s, s:s, s:o, s:s, s:o, s:b, s:o, s:f, s:o, s:o, s:o, s:o, s:o, s:o,"
        " s:o, s:o, s:s, s:I, s:o, s:o, s:o}",
        "id", (json_int_t)r->id, "uid", r->uid, "version", (json_int_t)r->version, "type", r->type,
        "stem", r->stem, "options", opts, "answer", r->answer, "mc_policy", str_or_null(r->mc),
        "pin_options", (int)r->pin, "spec", spec_json(r->spec), "points",
        (double)r->points / 100.0, "difficulty", r->difficulty ? json_integer(r->difficulty) : json_null(),
        "point", str_or_null(r->pc), "explanation", str_or_null(r->explanation), "source",
        str_or_null(r->source), "occupation", str_or_null(r->occ), "level",
        r->level ? json_integer(r->level) : json_null(), "tags", json_is_array(tags) ? tags : json_array(),
        "author", str_or_null(r->author), "status", r->status, "created_at", (json_int_t)r->created,
        "created_by", str_or_null(r->created_by), "status_by", str_or_null(r->status_by),
        "status_at", time_or_null(r->status_at));
}

/* Staff see the item's media as signed URLs in its rich text, and listed under "media"
 * (name -> url), so an editor can turn a URL back into media:NAME before saving. */
static void sign_text(json_t *o, const char *field, uint64_t id, const media_map *m,
                      const unsigned char *key, int64_t exp)
{
    json_t *v = json_object_get(o, field);
    if (!json_is_string(v) || !strstr(json_string_value(v), "\"media:")) return;
    char *s = media_rewrite(json_string_value(v), id, m, key, exp);
    json_t *nv = s ? json_string(s) : NULL;
    free(s);
    if (nv) json_object_set_new(o, field, nv);
}

static void sign_item(json_t *item, const media_map *m, const unsigned char *key, int64_t exp)
{
    uint64_t id = (uint64_t)json_integer_value(json_object_get(item, "id"));
    json_object_set_new(item, "media", media_list(m, id, key, exp));
    if (!m->n) return;
    sign_text(item, "stem", id, m, key, exp);
    sign_text(item, "answer", id, m, key, exp);
    sign_text(item, "explanation", id, m, key, exp);
    json_t *opts = json_object_get(item, "options"), *v;
    size_t i;
    json_array_foreach(opts, i, v) {
        if (!json_is_string(v) || !strstr(json_string_value(v), "\"media:")) continue;
        char *s = media_rewrite(json_string_value(v), id, m, key, exp);
        if (s) json_array_set_new(opts, i, json_string(s));
        free(s);
    }
}

int staff_bank_item(kc_db *db, const srv_ctx *x, srv_job *j)
{
    struct item_row *r = malloc(sizeof *r);
    if (!r) return KC_ENOMEM;
    json_t *item = NULL, *children = json_array(), *versions = json_array(), *reviews = json_array();
    int rc = item_query(db, SQL_ITEM_LATEST, j->m.uid, r);
    if (!rc) {
        rc = kc_db_fetch(db, SQL_ITEM_LATEST);
        if (rc == 1) { item = item_json(r); rc = 0; }
        else if (rc == 0) rc = KC_ENOTFOUND;
    }
    kc_db_done(db, SQL_ITEM_LATEST);
    uint64_t id = r->id;
    char parent[24];
    snprintf(parent, sizeof parent, "%llu", (unsigned long long)id);
    if (!rc) rc = item_query(db, SQL_ITEM_CHILDREN, parent, r);
    while (!rc && (rc = kc_db_fetch(db, SQL_ITEM_CHILDREN)) == 1) {
        rc = 0;
        json_array_append_new(children, item_json(r));
    }
    kc_db_done(db, SQL_ITEM_CHILDREN);
    uint64_t vid;
    int64_t ver, at, delivered;
    char status[17], by[130], file[256], action[17], from[17], comment[4096];
    if (!rc) rc = kc_db_query(db, SQL_VERSIONS, "s", "uistssi", j->m.uid, &vid, &ver, status,
                               sizeof status, &at, by, sizeof by, file, sizeof file, &delivered);
    while (!rc && (rc = kc_db_fetch(db, SQL_VERSIONS)) == 1) {
        rc = 0;
        json_array_append_new(versions, json_pack("{s:I, s:I, s:s, s:I, s:o, s:o, s:b}", "id",
                                                  (json_int_t)vid, "version", (json_int_t)ver,
                                                  "status", status, "created_at", (json_int_t)at,
                                                  "created_by", str_or_null(by), "import_file",
                                                  str_or_null(file), "delivered", (int)delivered));
    }
    kc_db_done(db, SQL_VERSIONS);
    if (!rc) rc = kc_db_query(db, SQL_REVIEWS, "s", "issssst", j->m.uid, &ver, action, sizeof action,
                               from, sizeof from, status, sizeof status, by, sizeof by, comment,
                               sizeof comment, &at);
    while (!rc && (rc = kc_db_fetch(db, SQL_REVIEWS)) == 1) {
        rc = 0;
        json_array_append_new(reviews, json_pack("{s:I, s:s, s:o, s:s, s:s, s:o, s:I}", "version",
                                                 (json_int_t)ver, "action", action, "from",
                                                 str_or_null(from), "to", status, "actor", by,
                                                 "comment", str_or_null(comment), "at", (json_int_t)at));
    }
    kc_db_done(db, SQL_REVIEWS);
    free(r);
    if (rc == KC_ENOTFOUND) {
        json_decref(children); json_decref(versions); json_decref(reviews);
        return refuse(j, "not_found", "uid", "uid: no item with this id");
    }
    if (rc < 0 || !item) {
        json_decref(item); json_decref(children); json_decref(versions); json_decref(reviews);
        return rc ? rc : KC_ENOMEM;
    }
    media_map media = {0};
    rc = media_load_item(db, id, &media);
    if (rc < 0) {
        json_decref(item); json_decref(children); json_decref(versions); json_decref(reviews);
        return rc;
    }
    int64_t exp = kc_now_ms() + MEDIA_STAFF_TTL_MS;
    sign_item(item, &media, x->media_key, exp);
    size_t k;
    json_t *child;
    json_array_foreach(children, k, child) sign_item(child, &media, x->media_key, exp);
    media_map_free(&media);
    json_object_set_new(item, "children", children);
    return reply(j, json_pack("{s:s, s:o, s:o, s:o}", "type", "bank_item", "item", item,
                              "versions", versions, "reviews", reviews));
}

/* ---- bank_review ---- */

static const char SQL_REVIEW_NOW[] =
    "SELECT version, status FROM item WHERE uid = ? AND parent_id IS NULL ORDER BY version DESC LIMIT 1";

/* A lost connection or a deadlock is run again by the worker; anything else is logged and
 * answered as an internal error. */
static int store_failed(kc_db *db, srv_job *j, const char *what, int rc, const char *err)
{
    if (rc == KC_ELOST || rc == KC_ERETRY) return rc;
    KC_ERROR("bank", "%s uid=%s by=%s: %s", what, j->m.uid, j->login, err);
    snprintf(db->err, sizeof db->err, "%s", err);
    return KC_EDB;
}

int staff_bank_review(kc_db *db, const srv_ctx *x, srv_job *j)
{
    static const struct { const char *action; enum bank_status to; } acts[] = {
        {"review", BANK_REVIEWED}, {"approve", BANK_APPROVED}, {"return", BANK_DRAFT},
        {"retire", BANK_RETIRED}, {"restore", BANK_DRAFT}};
    size_t k = 0;
    while (k < sizeof acts / sizeof acts[0] && strcmp(acts[k].action, j->m.action)) k++;
    if (k == sizeof acts / sizeof acts[0])
        return refuse(j, "bad_field", "action", "action: one of review, approve, return, retire, restore");
    const char *comment = j->m.comment && *j->m.comment ? j->m.comment : NULL;
    if (!strcmp(j->m.action, "return") && !comment)
        return refuse(j, "bad_field", "comment", "comment: say why the item is sent back");
    int64_t version = 0;
    char status[17] = "";
    int rc = kc_db_query(db, SQL_REVIEW_NOW, "s", "is", j->m.uid, &version, status, sizeof status);
    int found = rc ? rc : kc_db_fetch(db, SQL_REVIEW_NOW);
    kc_db_done(db, SQL_REVIEW_NOW);
    if (found < 0) return found;
    if (!found) return refuse(j, "not_found", "uid", "uid: no item with this id");
    enum bank_status from;
    if (bank_status_parse(status, &from)) from = BANK_DRAFT;
    /* The two ways back to draft are told apart by where they start. */
    int ok = (strcmp(j->m.action, "restore") || from == BANK_RETIRED) &&
             (strcmp(j->m.action, "return") || from == BANK_REVIEWED || from == BANK_APPROVED);
    char err[512] = "", msg[600];
    rc = ok ? bank_item_set_status(db, j->m.uid, 0, acts[k].to, j->login, comment, err, sizeof err)
            : KC_EINVAL;
    if (rc == KC_EINVAL || rc == KC_ENOTFOUND) {
        if (*err) snprintf(msg, sizeof msg, "action: %s", err);
        else snprintf(msg, sizeof msg, "action: an item that is %s cannot be given \"%s\"", status, j->m.action);
        return refuse(j, rc == KC_ENOTFOUND ? "not_found" : "bad_transition",
                      rc == KC_ENOTFOUND ? "uid" : "action", msg);
    }
    if (rc) return store_failed(db, j, "review", rc, err);
    const char *to = bank_status_name(acts[k].to);
    KC_INFO("bank", "review uid=%s version=%lld %s -> %s by=%s", j->m.uid, (long long)version, status, to, j->login);
    return reply(j, json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "type", "bank_reviewed", "uid",
                              j->m.uid, "version", (json_int_t)version, "action", j->m.action,
                              "from", status, "status", to));
}

/* ---- bank_health ---- */

int staff_bank_health(kc_db *db, const srv_ctx *x, srv_job *j)
{
    enum bank_part part = BANK_PART_THEORY;
    if (*j->m.part && bank_part_parse(j->m.part, &part))
        return refuse(j, "bad_field", "part", "part: theory or skills");
    kc_arena *a = kc_arena_new(0);
    if (!a) return KC_ENOMEM;
    bank_health h;
    memset(&h, 0, sizeof h);
    char err[512] = "";
    int rc = bank_health_compute(db, j->m.occupation, (int)j->m.level, part, a, &h, err, sizeof err);
    if (rc && rc != KC_ENOTFOUND) {
        kc_arena_free(a);
        return store_failed(db, j, "health", rc, err);
    }
    json_t *points = json_array(), *ranges = json_array();
    int by_imp[3] = {0, 0, 0};
    for (size_t i = 0; !rc && i < h.n_points; i++) {
        const bank_health_point *p = &h.points[i];
        char imp[2] = {p->importance, 0};
        int m = p->importance == 'X' ? 0 : p->importance == 'Y' ? 1 : p->importance == 'Z' ? 2 : -1;
        if (m >= 0) by_imp[m]++;
        const char *range = p->range >= 0 && (size_t)p->range < h.n_ranges ? h.ranges[p->range].code : NULL;
        json_array_append_new(points, json_pack("{s:s, s:s, s:o, s:o, s:i, s:i, s:b}", "code", p->code,
                                                "name", p->name, "importance", str_or_null(imp),
                                                "range", str_or_null(range), "items", p->items,
                                                "approved", p->approved,
                                                "low", p->items < BANK_HEALTH_MIN_ITEMS));
    }
    for (size_t i = 0; !rc && i < h.n_ranges; i++) {
        const bank_health_range *r = &h.ranges[i];
        json_array_append_new(ranges, json_pack("{s:s, s:s, s:i, s:f, s:i, s:i, s:b}", "code", r->code,
                                                "name", r->name, "depth", r->depth, "weight",
                                                r->weight_centi / 100.0, "points", r->points,
                                                "points_needed", r->points_needed,
                                                "low", r->points < r->points_needed));
    }
    rc = reply(j, json_pack(
        "{s:s, s:s, s:I, s:s, s:b, s:i, s:o, s:o, s:i, s:i, s:i,"
        " s:{s:{s:i, s:i, s:i}, s:{s:i, s:i, s:i}}, s:{s:i, s:i, s:i, s:i}}",
        "type", "bank_health", "occupation", j->m.occupation, "level", (json_int_t)j->m.level,
        "part", bank_part_name(part), "blueprint", rc == 0, "min_items", BANK_HEALTH_MIN_ITEMS,
        "points", points, "ranges", ranges, "n_points", (int)h.n_points, "points_low", h.points_short,
        "ranges_low", h.ranges_short,
        "mix", "points", "X", by_imp[0], "Y", by_imp[1], "Z", by_imp[2],
        "items", "X", h.items_by_importance[0], "Y", h.items_by_importance[1], "Z", h.items_by_importance[2],
        "year", "year", h.year, "items", h.items, "this_year", h.items_this_year,
        "without_point", h.items_without_point));
    kc_arena_free(a);
    return rc;
}

/* ---- bank_save ---- */

/* The editor's JSON into a bank item (strings in a). Shape problems are diag lines
 * "item: field: reason", like an import's. */
static const char *jstr(json_t *o, const char *k, kc_arena *a)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) && json_string_length(v) ? kc_arena_strdup(a, json_string_value(v)) : NULL;
}

static int item_from_json(json_t *o, bank_item *it, kc_arena *a, kc_diag *d, int depth,
                          const char *where)
{
    static const char *const known[] = {
        "uid", "type", "stem", "options", "answer", "mc_policy", "pin_options", "points",
        "difficulty", "point", "explanation", "source", "occupation", "level", "author", "tags",
        "time_minutes", "equipment", "criteria", "children", NULL};
    int bad = 0;
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        int k = 0;
        while (known[k] && strcmp(known[k], key)) k++;
        if (!known[k]) { kc_diag_add(d, where, 0, key, "unknown field"); bad++; }
    }
    it->file = where;
    it->uid = jstr(o, "uid", a);            /* sub-items keep theirs; finalize names new ones */
    const char *type = jstr(o, "type", a);
    if (!type || bank_type_parse(type, &it->type)) {
        kc_diag_add(d, where, 0, "type", "expected one of single, multi, tf, fill, short, essay, composite, practical");
        return bad + 1;
    }
    it->stem = jstr(o, "stem", a);
    json_t *opts = json_object_get(o, "options");
    if (opts && !json_is_array(opts)) { kc_diag_add(d, where, 0, "options", "expected an array of texts"); bad++; }
    size_t i;
    json_array_foreach(opts, i, v) {
        if (i >= BANK_MAX_OPTIONS) { kc_diag_add(d, where, 0, "options", "at most %d options", BANK_MAX_OPTIONS); bad++; break; }
        if (!json_is_string(v)) { kc_diag_add(d, where, 0, "options", "option %c is not a text", (char)('A' + i)); bad++; continue; }
        it->options[it->n_options++] = kc_arena_strdup(a, json_string_value(v));
    }
    it->answer = jstr(o, "answer", a);
    const char *mc = jstr(o, "mc_policy", a);
    if (mc && bank_mc_policy_parse(mc, &it->mc_policy)) { kc_diag_add(d, where, 0, "mc_policy", "expected all, half or ratio"); bad++; }
    it->pin_options = json_is_true(json_object_get(o, "pin_options"));
    json_t *pts = json_object_get(o, "points");
    if (pts && !json_is_number(pts)) { kc_diag_add(d, where, 0, "points", "expected a number"); bad++; }
    it->points_centi = (int)(json_number_value(pts) * 100 + 0.5);
    it->difficulty = (int)json_integer_value(json_object_get(o, "difficulty"));
    it->point_code = jstr(o, "point", a);
    it->explanation = jstr(o, "explanation", a);
    it->source = jstr(o, "source", a);
    it->occupation = jstr(o, "occupation", a);
    it->level = (int)json_integer_value(json_object_get(o, "level"));
    it->author = jstr(o, "author", a);
    json_t *tags = json_object_get(o, "tags");
    if (json_is_array(tags) && json_array_size(tags)) {
        it->tags = kc_arena_alloc(a, (json_array_size(tags) + 1) * sizeof *it->tags);
        json_array_foreach(tags, i, v)
            if (json_is_string(v) && it->tags && it->n_tags < BANK_MAX_TAGS)
                it->tags[it->n_tags++] = kc_arena_strdup(a, json_string_value(v));
    }
    it->time_minutes = (int)json_integer_value(json_object_get(o, "time_minutes"));
    it->equipment = jstr(o, "equipment", a);
    json_t *crit = json_object_get(o, "criteria");
    if (json_is_array(crit) && json_array_size(crit)) {
        it->criteria = kc_arena_alloc(a, json_array_size(crit) * sizeof *it->criteria);
        json_array_foreach(crit, i, v) {
            if (!it->criteria) break;
            bank_criterion *c = &it->criteria[it->n_criteria++];
            c->text = jstr(v, "text", a);
            c->veto = json_is_true(json_object_get(v, "veto"));
            c->points_centi = (int)(json_number_value(json_object_get(v, "points")) * 100 + 0.5);
        }
    }
    json_t *kids = json_object_get(o, "children");
    if (json_is_array(kids) && json_array_size(kids)) {
        if (depth) { kc_diag_add(d, where, 0, "children", "a sub-item has no sub-items"); return bad + 1; }
        size_t nk = json_array_size(kids);
        it->children = kc_arena_alloc(a, nk * sizeof *it->children);
        if (!it->children) return bad + 1;
        json_array_foreach(kids, i, v) {
            char *w = kc_arena_printf(a, "%s.children[%zu]", where, i);
            bad += json_is_object(v) ? item_from_json(v, &it->children[i], a, d, 1, w) : 1;
            it->n_children++;
        }
    }
    return bad;
}

int staff_bank_save(kc_db *db, const srv_ctx *x, srv_job *j)
{
    kc_arena *a = kc_arena_new(0);
    if (!a) return KC_ENOMEM;
    kc_diag d;
    kc_diag_init(&d, a);
    json_t *o = j->text ? json_loads(j->text, 0, NULL) : NULL;
    bank_itemset set;
    bank_itemset_init(&set, a);
    bank_item *it = bank_itemset_push(&set);
    int rc = 0, removed = 0;
    int bad = !o || !it ? 1 : item_from_json(o, it, a, &d, 0, "item");
    json_decref(o);
    /* Rich text may be HTML or plain text, sanitized exactly like an import's. */
    if (!bad && bank_item_prepare(it, BANK_TEXT_AUTO, a, &removed)) rc = KC_ENOMEM;
    if (!rc && !bad) bad = bank_item_validate(it, &d);
    if (!rc && !bad && bank_item_finalize(it, a)) rc = KC_ENOMEM;
    if (rc) { kc_arena_free(a); return rc; }
    if (bad) {
        json_t *lines = json_array();
        for (size_t i = 0; i < d.n; i++) json_array_append_new(lines, json_string(d.lines[i]));
        if (!d.n) json_array_append_new(lines, json_string("item: expected a JSON object"));
        kc_arena_free(a);
        return reply(j, json_pack("{s:s, s:s, s:s, s:o}", "type", "error", "code", "invalid",
                                  "message", "the item has problems; nothing was saved", "diag", lines));
    }
    /* An existing uid is an edit (in place for an undelivered draft, else a new version);
     * an unknown one a new item, stored like an import of one. */
    const char *outcome = NULL;
    int version = 1;
    char err[512] = "";
    enum bank_edit_result er = 0;
    int src = it->uid ? bank_store_edit(db, it, j->login, NULL, &er, &version, &d, err, sizeof err)
                      : KC_ENOTFOUND;
    if (src == KC_ENOTFOUND) {
        bank_store_opts so = {.actor = j->login, .status = BANK_DRAFT};
        bank_store_report rep = {0, 0, 0};
        *err = 0;
        src = bank_store_items(db, &set, &so, &rep, &d, err, sizeof err);
        outcome = rep.inserted ? "new_item" : rep.versions ? "new_version" : "unchanged";
    } else if (!src) {
        outcome = er == BANK_EDIT_UNCHANGED ? "unchanged" : er == BANK_EDIT_IN_PLACE ? "updated" : "new_version";
    }
    if (src == KC_EINVAL) {
        json_t *lines = json_array();
        for (size_t i = 0; i < d.n; i++) json_array_append_new(lines, json_string(d.lines[i]));
        if (!d.n) json_array_append_new(lines, json_string(err));
        kc_arena_free(a);
        return reply(j, json_pack("{s:s, s:s, s:s, s:o}", "type", "error", "code", "invalid",
                                  "message", "the item has problems; nothing was saved", "diag", lines));
    }
    if (src) {
        rc = store_failed(db, j, "save", src, err);
        kc_arena_free(a);
        return rc;
    }
    KC_INFO("bank", "save uid=%s version=%d %s by=%s", it->uid, version, outcome, j->login);
    rc = reply(j, json_pack("{s:s, s:s, s:i, s:s, s:i}", "type", "bank_saved", "uid", it->uid,
                            "version", version, "outcome", outcome, "removed", removed));
    kc_arena_free(a);
    return rc;
}

/* ---- POST /api/bank/import ---- */

static const char SQL_IMPORT_LOG[] =
    "INSERT INTO bank_import (file, format, actor, items_new, versions_new, unchanged, rejected, report)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)";

static int http_refuse(srv_job *j, int status, const char *code, const char *msg)
{
    j->http_status = status;
    return refuse(j, code, NULL, msg);
}

int staff_bank_import(kc_db *db, const srv_ctx *x, srv_job *j)
{
    /* Not a message: the roles of its token are checked here, as net_cmd_run does. */
    int allowed, rc = staff_authorize(db, j, STAFF_BANK_IMPORT_ROLES, &allowed);
    if (rc || !allowed) return rc;
    const char *login = j->login;
    imp_format f;
    if (imp_format_parse(j->format, &f))
        return http_refuse(j, 400, "bad_field", "format: not a known import format");
    char name[128];
    kc_display_name(j->m.uid, "upload", name, sizeof name);
    kc_arena *a = kc_arena_new(0);
    if (!a) return KC_ENOMEM;
    bank_itemset set;
    kc_diag d;
    bank_itemset_init(&set, a);
    kc_diag_init(&d, a);
    int prc = imp_parse_buffer(f, name, j->text, j->text_len, &set, &d);
    bank_store_report rep = {0, 0, 0};
    int stored = 0;
    char err[512] = "";
    if (prc == 0 && !(int)j->m.dry_run) {
        bank_store_opts so = {.import_file = name, .actor = login};
        int src = bank_store_items(db, &set, &so, &rep, &d, err, sizeof err);
        if (src == KC_ELOST || src == KC_ERETRY) {
            kc_arena_free(a);
            return src;
        }
        int db_failed = src && src != KC_EINVAL;    /* refused items come with diag lines */
        if (db_failed) KC_ERROR("bank", "import file=%s by=%s: %s", name, login, err);
        stored = src == 0;
        if (db_failed) kc_diag_add(&d, name, 0, "database", "%s", err);
    }
    int ok = prc == 0 && ((int)j->m.dry_run || stored);
    json_t *by_type = json_object(), *by_point = json_object(), *lines = json_array();
    for (size_t i = 0; i < set.n; i++) {
        const char *t = bank_type_name(set.items[i].type);
        const char *pc = set.items[i].point_code ? set.items[i].point_code : "";
        json_t *v = json_object_get(by_type, t);
        json_object_set_new(by_type, t, json_integer(v ? json_integer_value(v) + 1 : 1));
        v = json_object_get(by_point, pc);
        json_object_set_new(by_point, pc, json_integer(v ? json_integer_value(v) + 1 : 1));
    }
    size_t report_len = 1;
    for (size_t i = 0; i < d.n; i++) {
        json_array_append_new(lines, json_string(d.lines[i]));
        report_len += strlen(d.lines[i]) + 1;
    }
    if (!(int)j->m.dry_run) {
        char *report = malloc(report_len), *w = report;
        if (report) {
            for (size_t i = 0; i < d.n; i++) w += sprintf(w, "%s\n", d.lines[i]);
            *w = 0;
            rc = kc_db_exec(db, SQL_IMPORT_LOG, "sssiiiis", name, imp_format_name(f), login,
                             (int64_t)rep.inserted, (int64_t)rep.versions, (int64_t)rep.unchanged,
                             (int64_t)d.n, report);
            free(report);
            if (rc) KC_WARN("bank", "import log not written: %s", db->err);
        }
    }
    KC_INFO("bank", "import file=%s format=%s by=%s items=%zu problems=%zu dry_run=%d ok=%d", name,
             imp_format_name(f), login, set.n, d.n, (int)j->m.dry_run, ok);
    j->http_status = 200;
    j->ok = ok;
    rc = reply(j, json_pack("{s:s, s:b, s:b, s:s, s:s, s:I, s:o, s:o, s:{s:i, s:i, s:i}, s:I, s:o}",
                            "type", "bank_import", "ok", ok, "dry_run", (int)j->m.dry_run, "file", name,
                            "format", imp_format_name(f), "items", (json_int_t)set.n, "by_type",
                            by_type, "by_point", by_point, "stored", "new", rep.inserted,
                            "versions", rep.versions, "unchanged", rep.unchanged, "problems",
                            (json_int_t)d.n, "diag", lines));
    kc_arena_free(a);
    return rc;
}

/* Storing items: versions (an import or an edit never changes a version a paper holds),
 * sub-items, media, the review log and the 鉴定点 check. One transaction per call,
 * prepared statements only. Texts are bound as UTF-8: the connection must use utf8mb4. */
#include "bank_int.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT_FILE_MAX_CHARS 255   /* item.import_file VARCHAR(255) */

#define NEWEST_SELECT \
    "SELECT id, version, full_hash, status, occupation_code, level FROM item" \
    " WHERE uid = ? AND parent_id IS NULL ORDER BY version DESC LIMIT 1"
static const char SQL_NEWEST[] = NEWEST_SELECT;
/* An edit holds the row until it commits: a delivery (paper_item references it) waits. */
static const char SQL_NEWEST_LOCK[] = NEWEST_SELECT " FOR UPDATE";
/* Same normalized content under another id whose newest version is still in use. */
static const char SQL_DUPLICATE[] =
    "SELECT i.uid FROM item i WHERE i.content_hash = ? AND i.parent_id IS NULL AND i.uid <> ?"
    " AND i.status <> 'retired' AND i.version = (SELECT MAX(n.version) FROM item n"
    " WHERE n.uid = i.uid AND n.parent_id IS NULL) ORDER BY i.uid LIMIT 1";
#define ITEM_COLS \
    "type, stem, options, pin_options, answer_key, mc_policy, points_centi, difficulty," \
    " point_code, explanation, source, content_hash, full_hash, spec, occupation_code, level," \
    " tags, author"
static const char SQL_INSERT[] =
    "INSERT INTO item (" ITEM_COLS ", uid, version, status, parent_id, sub_no, created_by,"
    " status_by, status_at, import_file, import_line)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
    " ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3), ?, ?)";
static const char SQL_UPDATE[] =
    "UPDATE item SET type = ?, stem = ?, options = ?, pin_options = ?, answer_key = ?,"
    " mc_policy = ?, points_centi = ?, difficulty = ?, point_code = ?, explanation = ?,"
    " source = ?, content_hash = ?, full_hash = ?, spec = ?, occupation_code = ?, level = ?,"
    " tags = ?, author = ?, created_by = ?, created_at = UTC_TIMESTAMP(3) WHERE id = ?"
    /* re-checked under the row lock: 0 rows means it was delivered or moved on */
    " AND status = 'draft' AND NOT EXISTS (SELECT 1 FROM paper_item WHERE item_id = ?)"
    " AND NOT EXISTS (SELECT 1 FROM paper_build_item WHERE paper_build_item.item_id = item.id)";
static const char SQL_MEDIA[] =
    "INSERT IGNORE INTO media (sha256, mime, size, bytes) VALUES (?, ?, ?, ?)";
static const char SQL_ITEM_MEDIA[] = "INSERT INTO item_media (item_id, name, sha256) VALUES (?, ?, ?)";
static const char SQL_REVIEW[] =
    "INSERT INTO item_review (item_id, action, from_status, to_status, actor, comment)"
    " VALUES (?, ?, ?, ?, ?, ?)";
static const char SQL_POINT[] =
    "SELECT b.id, (SELECT COUNT(*) FROM blueprint_node n WHERE n.blueprint_id = b.id"
    " AND n.kind = 'point' AND n.code = ?) FROM blueprint b"
    " WHERE b.occupation_code = ? AND b.level = ? AND b.part = ?";
/* (uid, version) is unique over top-level items and sub-items alike: an id must not move
 * between the two. */
static const char SQL_UID_AS_SUB[] =
    "SELECT p.uid FROM item c JOIN item p ON p.id = c.parent_id WHERE c.uid = ? LIMIT 1";
static const char SQL_UID_AS_TOP[] = "SELECT 1 FROM item WHERE uid = ? AND parent_id IS NULL LIMIT 1";
/* Held by a fixed paper, or in the pool of a prepared session (its papers are regenerated
 * from that pool). */
static const char SQL_DELIVERED[] =
    "SELECT (SELECT COUNT(*) FROM paper_item WHERE item_id = ?) +"
    " (SELECT COUNT(*) FROM paper_build_item WHERE item_id = ?)";
static const char SQL_DROP_CHILD_MEDIA[] =
    "DELETE im FROM item_media im JOIN item c ON c.id = im.item_id WHERE c.parent_id = ?";
static const char SQL_DROP_CHILDREN[] = "DELETE FROM item WHERE parent_id = ?";
static const char SQL_DROP_MEDIA[] = "DELETE FROM item_media WHERE item_id = ?";
/* What an edit borrows from the stored version: a sub-item (same uid, else same place) and
 * one of its media by name. */
static const char SQL_STORED_CHILD[] =
    "SELECT id FROM item WHERE parent_id = ? AND (uid = ? OR sub_no = ?) ORDER BY uid = ? DESC LIMIT 1";
static const char SQL_STORED_MEDIA[] =
    "SELECT m.mime, m.bytes FROM item_media im JOIN media m ON m.sha256 = im.sha256"
    " WHERE im.item_id = ? AND im.name = ?";

/* ---- serializing an item into its columns ---- */

typedef struct row {
    char *options, *tags, *spec;    /* JSON, malloc'd (tags/spec NULL when absent) */
    const char *answer;
} row;

static void row_free(row *r)
{
    free(r->options);
    free(r->tags);
    free(r->spec);
    memset(r, 0, sizeof *r);
}

static char *dump(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    return s;
}

/* json_string refuses invalid UTF-8: validation has run, so NULL here means OOM. */
static json_t *jstr(const char *s)
{
    return json_string(s ? s : "");
}

static int hash_zero(const uint8_t *h)
{
    for (int i = 0; i < 32; i++)
        if (h[i]) return 0;
    return 1;
}

static int sha256(const void *data, size_t len, uint8_t out[32])
{
    unsigned n = 0;
    return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) && n == 32 ? 0 : -1;
}

static int row_make(const bank_item *it, row *r)
{
    memset(r, 0, sizeof *r);
    json_t *o = json_array();
    for (int i = 0; o && i < it->n_options; i++)
        if (json_array_append_new(o, jstr(it->options[i]))) { json_decref(o); o = NULL; }
    if (!(r->options = dump(o))) return -1;
    if (it->n_tags > 0) {
        json_t *t = json_array();
        for (int i = 0; t && i < it->n_tags; i++)
            if (json_array_append_new(t, jstr(it->tags[i]))) { json_decref(t); t = NULL; }
        if (!(r->tags = dump(t))) return -1;
    }
    if (it->type == BANK_PRACTICAL) {
        json_t *cr = json_array();
        for (int i = 0; cr && i < it->n_criteria; i++) {
            const bank_criterion *c = &it->criteria[i];
            json_t *e = json_pack("{s:o, s:I, s:b}", "text", jstr(c->text), "points",
                                  (json_int_t)c->points_centi, "veto", c->veto);
            if (!e || json_array_append_new(cr, e)) { json_decref(cr); cr = NULL; }
        }
        json_t *sp = cr ? json_pack("{s:i, s:o, s:o}", "time_minutes", it->time_minutes,
                                    "equipment", it->equipment ? jstr(it->equipment) : json_null(),
                                    "criteria", cr)
                        : NULL;
        if (!(r->spec = dump(sp))) return -1;
    }
    r->answer = it->answer ? it->answer : "";
    return 0;
}

/* The last IMPORT_FILE_MAX_CHARS characters: the file name matters more than the folders. */
static const char *path_tail(const char *p)
{
    size_t chars = 0;
    for (const char *q = p; *q; q++)
        if (((unsigned char)*q & 0xC0) != 0x80) chars++;
    while (chars > IMPORT_FILE_MAX_CHARS) {
        p++;
        while (((unsigned char)*p & 0xC0) == 0x80) p++;
        chars--;
    }
    return p;
}

/* The 18 item columns of ITEM_COLS, in order, into p; returns the count. occupation and
 * level are the resolved ones (the item's own, else the defaults). */
static int item_params(kc_param *p, const bank_item *it, const row *r, const char *occupation,
                       int level)
{
    int n = 0;
#define S(v) p[n++] = (kc_param){'s', 0, (v), 0}
#define I(v) p[n++] = (kc_param){'i', (v), NULL, 0}
#define B(v) p[n++] = (kc_param){'b', 0, (const char *)(v), 32}
#define N(v) p[n++] = (kc_param){'s', 0, NULL, 0}
    S(bank_type_name(it->type));
    S(it->stem ? it->stem : "");
    S(r->options);
    I(it->pin_options ? 1 : 0);
    S(r->answer);
    if (it->type == BANK_MULTI) S(bank_mc_policy_name(it->mc_policy)); else N(0);
    I(it->points_centi);
    if (it->difficulty > 0) I(it->difficulty); else N(0);
    S(it->point_code);
    S(it->explanation);
    S(it->source);
    B(it->content_hash);
    B(it->full_hash);
    S(r->spec);
    S(occupation);
    if (level > 0) I(level); else N(0);
    S(r->tags);
    S(it->author);
#undef S
#undef I
#undef B
#undef N
    return n;
}

/* ---- the statements of one call ---- */

typedef struct stmts {
    kc_db *db;
    kc_stmt *newest, *newest_lock, *duplicate, *insert, *update, *media, *item_media, *review;
    kc_stmt *point, *delivered, *as_sub, *as_top;
    kc_stmt *drop_child_media, *drop_children, *drop_media, *stored_child, *stored_media;
    int failed;
    const char *what;
} stmts;

static const struct { size_t off; const char *sql; } STMTS[] = {
    {offsetof(stmts, newest), SQL_NEWEST},
    {offsetof(stmts, newest_lock), SQL_NEWEST_LOCK},
    {offsetof(stmts, duplicate), SQL_DUPLICATE},
    {offsetof(stmts, insert), SQL_INSERT},
    {offsetof(stmts, update), SQL_UPDATE},
    {offsetof(stmts, media), SQL_MEDIA},
    {offsetof(stmts, item_media), SQL_ITEM_MEDIA},
    {offsetof(stmts, review), SQL_REVIEW},
    {offsetof(stmts, point), SQL_POINT},
    {offsetof(stmts, delivered), SQL_DELIVERED},
    {offsetof(stmts, as_sub), SQL_UID_AS_SUB},
    {offsetof(stmts, as_top), SQL_UID_AS_TOP},
    {offsetof(stmts, drop_child_media), SQL_DROP_CHILD_MEDIA},
    {offsetof(stmts, drop_children), SQL_DROP_CHILDREN},
    {offsetof(stmts, drop_media), SQL_DROP_MEDIA},
    {offsetof(stmts, stored_child), SQL_STORED_CHILD},
    {offsetof(stmts, stored_media), SQL_STORED_MEDIA},
};

static void stmts_close(stmts *x)
{
    for (size_t i = 0; i < sizeof STMTS / sizeof STMTS[0]; i++)
        kc_stmt_done(*(kc_stmt **)((char *)x + STMTS[i].off));
}

static int stmts_open(stmts *x, kc_db *db)
{
    memset(x, 0, sizeof *x);
    x->db = db;
    for (size_t i = 0; i < sizeof STMTS / sizeof STMTS[0]; i++) {
        kc_stmt **s = (kc_stmt **)((char *)x + STMTS[i].off);
        if (!(*s = kc_db_stmt(db, STMTS[i].sql))) {
            x->failed = 1;
            x->what = "prepare";
            return -1;
        }
    }
    return 0;
}

static int fail(stmts *x, kc_stmt *s, const char *what)
{
    (void)s;
    x->failed = 1;
    x->what = what;
    return -1;
}

/* The newest top-level version of a uid. */
typedef struct newest_row {
    uint64_t id;
    int version, level;
    uint8_t hash[32];
    enum bank_status status;
    char occupation[64];    /* occupation.code VARCHAR(32); "" for NULL */
} newest_row;

/* Newest top-level version of uid into *n (lock: FOR UPDATE): 1 found, 0 none, -1 error. */
static int newest(stmts *x, const char *uid, int lock, newest_row *n)
{
    kc_stmt *s = lock ? x->newest_lock : x->newest;
    memset(n, 0, sizeof *n);
    if (kc_stmt_exec(s, "s", uid)) return fail(x, s, "item lookup");
    int f = kc_stmt_next(s);
    if (f == 1) {
        n->id = (uint64_t)kc_stmt_int(s, 0);
        n->version = (int)kc_stmt_int(s, 1);
        size_t hl = kc_stmt_len(s, 2);
        if (hl) memcpy(n->hash, kc_stmt_str(s, 2), hl < 32 ? hl : 32);
        if (bank_status_parse(kc_stmt_str(s, 3), &n->status)) n->status = BANK_DRAFT;
        const char *occ = kc_stmt_str(s, 4);
        if (occ) snprintf(n->occupation, sizeof n->occupation, "%s", occ);
        n->level = (int)kc_stmt_int(s, 5);
    }
    kc_stmt_done(s);
    if (f < 0) return fail(x, s, "item lookup");
    return f;
}

/* An item whose normalized content another item of the bank already has. Returns the
 * number of problems (0 or 1), -1 on a DB error. */
static int check_duplicate(stmts *x, const bank_item *it, kc_diag *d)
{
    if (kc_stmt_exec(x->duplicate, "bs", (const char *)it->content_hash, (size_t)32, it->uid))
        return fail(x, x->duplicate, "duplicate lookup");
    int f = kc_stmt_next(x->duplicate);
    if (f == 1)
        kc_diag_add(d, it->file, it->line, "题干", "duplicate of item %s already in the bank",
                      kc_stmt_str(x->duplicate, 0));
    kc_stmt_done(x->duplicate);
    if (f < 0) return fail(x, x->duplicate, "duplicate lookup");
    return f == 1;
}

/* The 鉴定点 check of one item (and its sub-items). Returns the number of problems, -1 on
 * a DB error. */
static int check_point(stmts *x, const bank_item *it, const char *occupation, int level,
                       enum bank_part part, kc_diag *d)
{
    int bad = 0;
    if (it->point_code && *it->point_code && occupation && level > 0) {
        if (kc_stmt_exec(x->point, "ssis", it->point_code, occupation, (int64_t)level,
                          bank_part_name(part)))
            return fail(x, x->point, "blueprint lookup");
        int f = kc_stmt_next(x->point);
        int64_t hits = f == 1 ? kc_stmt_int(x->point, 1) : 1;
        kc_stmt_done(x->point);
        if (f < 0) return fail(x, x->point, "blueprint lookup");
        if (!hits) {
            const char *ln = bank_level_name(level);
            kc_diag_add(d, it->file, it->line, "鉴定点代码", "%s is not a 鉴定点 of %s %s (%s)",
                          it->point_code, occupation, ln ? ln : "?", bank_part_name(part));
            bad++;
        }
    }
    for (int i = 0; i < it->n_children; i++) {
        int r = check_point(x, &it->children[i], occupation, level, part, d);
        if (r < 0) return r;
        bad += r;
    }
    return bad;
}

/* The ids of an item and its sub-items against the other kind in the bank. Returns the
 * number of problems, -1 on a DB error. */
static int check_ids(stmts *x, const bank_item *it, kc_diag *d)
{
    int bad = 0;
    if (kc_stmt_exec(x->as_sub, "s", it->uid)) return fail(x, x->as_sub, "item lookup");
    int f = kc_stmt_next(x->as_sub);
    if (f == 1) {
        kc_diag_add(d, it->file, it->line, "试题编号",
                      "%s is a sub-item of composite %s in the bank; give this item another id",
                      it->uid, kc_stmt_str(x->as_sub, 0));
        bad++;
    }
    kc_stmt_done(x->as_sub);
    if (f < 0) return fail(x, x->as_sub, "item lookup");
    for (int i = 0; i < it->n_children; i++) {
        const bank_item *c = &it->children[i];
        if (!c->uid) continue;
        if (kc_stmt_exec(x->as_top, "s", c->uid)) return fail(x, x->as_top, "item lookup");
        f = kc_stmt_next(x->as_top);
        kc_stmt_done(x->as_top);
        if (f < 0) return fail(x, x->as_top, "item lookup");
        if (f == 1) {
            kc_diag_add(d, c->file, c->line, "试题编号",
                          "%s is an item of its own in the bank; a sub-item needs another id", c->uid);
            bad++;
        }
    }
    return bad;
}

static int add_media(stmts *x, uint64_t item_id, const bank_item *it)
{
    for (int i = 0; i < it->n_media; i++) {
        const bank_media *m = &it->media[i];
        uint8_t h[32];
        if (sha256(m->data, m->len, h)) return fail(x, x->media, "media hash");
        if (kc_stmt_exec(x->media, "bsub", (const char *)h, (size_t)32,
                          m->mime ? m->mime : "application/octet-stream", (uint64_t)m->len,
                          (const char *)m->data, m->len))
            return fail(x, x->media, "media insert");
        if (kc_stmt_exec(x->item_media, "usb", item_id, m->name, (const char *)h, (size_t)32))
            return fail(x, x->item_media, "item media insert");
    }
    return 0;
}

typedef struct version_ctx {
    const char *occupation;
    int level;
    enum bank_status status;
    const char *actor;
    const char *file;
} version_ctx;

/* Inserts one item row (a version, or a sub-item of parent_id) with its media, then its
 * sub-items. *id_out: the new row's id. */
static int insert_row(stmts *x, const bank_item *it, const char *uid, int version,
                      uint64_t parent_id, int sub_no, const version_ctx *v, uint64_t *id_out)
{
    row r;
    if (row_make(it, &r)) {
        row_free(&r);
        return fail(x, x->insert, "out of memory");
    }
    kc_param p[32];
    int n = item_params(p, it, &r, v->occupation, v->level);
    const char *file = v->file ? path_tail(v->file) : NULL;
    p[n++] = (kc_param){'s', 0, uid, 0};
    p[n++] = (kc_param){'i', version, NULL, 0};
    p[n++] = (kc_param){'s', 0, bank_status_name(v->status), 0};
    p[n++] = parent_id ? (kc_param){'u', (int64_t)parent_id, NULL, 0} : (kc_param){'s', 0, NULL, 0};
    p[n++] = sub_no ? (kc_param){'i', sub_no, NULL, 0} : (kc_param){'s', 0, NULL, 0};
    p[n++] = (kc_param){'s', 0, v->actor, 0};
    p[n++] = (kc_param){'s', 0, v->actor, 0};
    p[n++] = (kc_param){'s', 0, file, 0};
    p[n++] = it->line > 0 ? (kc_param){'i', it->line, NULL, 0} : (kc_param){'s', 0, NULL, 0};
    int rc = kc_stmt_execv(x->insert, p, n);
    row_free(&r);
    if (rc) return fail(x, x->insert, "item insert");
    uint64_t id = kc_stmt_insert_id(x->insert);
    if (add_media(x, id, it)) return -1;
    for (int i = 0; i < it->n_children; i++) {
        const bank_item *ch = &it->children[i];
        char cuid[80];
        if (!ch->uid) snprintf(cuid, sizeof cuid, "%s-%d", uid, i + 1);
        uint64_t cid;
        if (insert_row(x, ch, ch->uid ? ch->uid : cuid, version, id, i + 1, v, &cid)) return -1;
    }
    *id_out = id;
    return 0;
}

static int review(stmts *x, uint64_t id, const char *action, const char *from, const char *to,
                  const char *actor, const char *comment)
{
    if (kc_stmt_exec(x->review, "ussss" "s", id, action, from, to, actor ? actor : "", comment))
        return fail(x, x->review, "review log");
    return 0;
}

static enum bank_part part_of(const bank_item *it)
{
    return it->type == BANK_PRACTICAL ? BANK_PART_SKILLS : BANK_PART_THEORY;
}

static int finish(kc_db *db, stmts *x, int rc, char *err, size_t errlen)
{
    if (x->failed) {
        rc = bank__db_err(db, err, errlen, x->what ? x->what : "item");
    }
    stmts_close(x);
    return bank__tx_end(db, rc, err, errlen);
}

static int begin(kc_db *db, stmts *x, char *err, size_t errlen)
{
    if (err && errlen) *err = 0;
    if (!db) return bank__err(err, errlen, "item", "no database connection");
    if (kc_db_begin(db)) return bank__db_err(db, err, errlen, "item");
    if (stmts_open(x, db)) {
        int rc = bank__db_err(db, err, errlen, "prepare");
        stmts_close(x);
        kc_db_rollback(db);
        return rc;
    }
    return 0;
}

/* Fills an item's missing occupation and level; 1 when it changed anything. */
static int apply_defaults(bank_item *it, const char *occupation, int level)
{
    int changed = 0;
    if (!it->occupation && occupation) { it->occupation = occupation; changed = 1; }
    if (it->level <= 0 && level > 0) { it->level = level; changed = 1; }
    return changed;
}

static int borrow_all(stmts *x, bank_item *it, uint64_t stored_id, kc_arena *a, kc_diag *d,
                      int *added);

int bank_store_items(kc_db *db, const bank_itemset *s, const bank_store_opts *o,
                     bank_store_report *rep, kc_diag *d, char *err, size_t errlen)
{
    bank_store_report r = {0, 0, 0};
    bank_store_opts none = {0};
    if (!o) o = &none;
    if (rep) *rep = r;
    if (!s) return bank__err(err, errlen, "item", "no items");
    stmts x;
    int brc = begin(db, &x, err, errlen);
    if (brc) return brc;
    int rc = 0, refused = 0;
    /* Check every item first: a refusal writes nothing, and reports every bad item. */
    for (size_t i = 0; i < s->n && !rc; i++) {
        const bank_item *it = &s->items[i];
        if (!it->uid || hash_zero(it->full_hash)) {
            rc = bank__err(err, errlen, "item", "an item was not finalized (bank_item_finalize)");
            break;
        }
        int lvl = it->level > 0 ? it->level : o->level;
        const char *occ = it->occupation ? it->occupation : o->occupation;
        int b = check_point(&x, it, occ, lvl, part_of(it), d);
        int c = b < 0 ? 0 : check_ids(&x, it, d);
        int u = b < 0 || c < 0 ? 0 : check_duplicate(&x, it, d);
        if (b < 0 || c < 0 || u < 0) rc = -1;
        else refused += b + c + u;
    }
    /* the media check below needs each item's stored version: it runs on, writing nothing */
    kc_arena *tmp = kc_arena_new(0);
    if (!tmp && !rc) rc = bank__oom(err, errlen, "item");
    for (size_t i = 0; i < s->n && !rc; i++) {
        /* The defaults are part of the version as stored: hash it with them, so that an
         * export of it (which names occupation and level) re-imports as unchanged. */
        bank_item cp = s->items[i];
        const bank_item *it = &cp;
        int changed = apply_defaults(&cp, o->occupation, o->level);
        if (cp.n_children > 0) {
            bank_item *kids = kc_arena_alloc(tmp, (size_t)cp.n_children * sizeof *kids);
            if (!kids) {
                rc = bank__oom(err, errlen, "item");
                break;
            }
            memcpy(kids, cp.children, (size_t)cp.n_children * sizeof *kids);
            for (int k = 0; k < cp.n_children; k++)
                changed |= apply_defaults(&kids[k], cp.occupation, cp.level);
            cp.children = kids;
        }
        uint64_t id;
        newest_row old;
        int f = newest(&x, it->uid, 0, &old);
        if (f < 0) { rc = -1; break; }
        /* A file that names media:NAME without its bytes (an edited export) keeps the
         * stored version's file of that name, as an edit does; other names are refused. */
        int added = 0, b = borrow_all(&x, &cp, f ? old.id : 0, tmp, d, &added);
        if (b < 0) { rc = -1; break; }
        if (b || refused) { refused += b; continue; }   /* report every item; write none */
        if ((changed || added) && bank_item_finalize(&cp, tmp)) {
            rc = bank__oom(err, errlen, "item");
            break;
        }
        version_ctx v = {
            .occupation = cp.occupation,
            .level = cp.level,
            .status = o->status ? o->status : it->status ? it->status : BANK_DRAFT,
            .actor = o->actor,
            .file = o->import_file ? o->import_file : it->file,
        };
        if (f) {
            if (memcmp(it->full_hash, old.hash, 32) == 0) { r.unchanged++; continue; }
        }
        if (insert_row(&x, it, it->uid, f ? old.version + 1 : 1, 0, 0, &v, &id) ||
            review(&x, id, "import", NULL, bank_status_name(v.status), o->actor, NULL)) {
            rc = -1;
            break;
        }
        if (f) r.versions++;
        else r.inserted++;
    }
    if (!rc && refused) rc = KC_EINVAL;
    kc_arena_free(tmp);
    rc = finish(db, &x, rc, err, errlen);
    if (!rc && rep) *rep = r;
    return rc;
}

static int delivered(stmts *x, uint64_t id)
{
    if (kc_stmt_exec(x->delivered, "uu", id, id)) return fail(x, x->delivered, "paper lookup");
    int f = kc_stmt_next(x->delivered);
    int64_t n = f == 1 ? kc_stmt_int(x->delivered, 0) : 0;
    kc_stmt_done(x->delivered);
    if (f < 0) return fail(x, x->delivered, "paper lookup");
    return n > 0;
}

int bank_item_delivered(kc_db *db, uint64_t item_id, char *err, size_t errlen)
{
    kc_stmt *s = NULL;
    int rc = -1;
    if ((s = kc_db_stmt(db, SQL_DELIVERED)) && !kc_stmt_exec(s, "uu", item_id, item_id)) {
        int f = kc_stmt_next(s);
        if (f >= 0) rc = f == 1 && kc_stmt_int(s, 0) > 0;
    }
    if (rc < 0) rc = bank__db_err(db, err, errlen, "paper lookup");
    kc_stmt_done(s);
    return rc;
}

/* Rewrites an undelivered draft: its columns, its media and its sub-items. Returns 1 (and
 * writes nothing) when the row is no longer an undelivered draft. */
static int update_in_place(stmts *x, uint64_t id, int version, const bank_item *it,
                           const version_ctx *v)
{
    row r;
    if (row_make(it, &r)) {
        row_free(&r);
        return fail(x, x->update, "out of memory");
    }
    kc_param p[32];
    int n = item_params(p, it, &r, v->occupation, v->level);
    p[n++] = (kc_param){'s', 0, v->actor, 0};
    p[n++] = (kc_param){'u', (int64_t)id, NULL, 0};
    p[n++] = (kc_param){'u', (int64_t)id, NULL, 0};
    int rc = kc_stmt_execv(x->update, p, n);
    row_free(&r);
    if (rc) return fail(x, x->update, "item update");
    /* full_hash and created_at differ, so a matched row is always a changed row */
    if (kc_stmt_affected(x->update) == 0) return 1;
    if (kc_stmt_exec(x->drop_child_media, "u", id)) return fail(x, x->drop_child_media, "item update");
    if (kc_stmt_exec(x->drop_children, "u", id)) return fail(x, x->drop_children, "item update");
    if (kc_stmt_exec(x->drop_media, "u", id)) return fail(x, x->drop_media, "item update");
    if (add_media(x, id, it)) return -1;
    for (int i = 0; i < it->n_children; i++) {
        const bank_item *ch = &it->children[i];
        char cuid[80];
        if (!ch->uid) snprintf(cuid, sizeof cuid, "%s-%d", it->uid, i + 1);
        uint64_t cid;
        if (insert_row(x, ch, ch->uid ? ch->uid : cuid, version, id, i + 1, v, &cid)) return -1;
    }
    return 0;
}

/* ---- an edit keeps the media its text refers to ----
 * Neither the editor nor an edit file carries image bytes: a media:NAME the edited item
 * does not bring itself comes from the stored newest version. */

/* The next media:NAME reference at or after p, as the sanitizer writes it: src="media:NAME"
 * or href="media:NAME" inside a tag, NAME escaped. The unescaped NAME goes into name (""
 * when it does not fit); returns the position after it, or NULL when there is none. */
static const char *next_ref(const char *html, const char *p, char *name, size_t cap, int *link)
{
    for (;;) {
        const char *src = strstr(p, "src=\"media:"), *href = strstr(p, "href=\"media:");
        const char *at = !src ? href : !href ? src : src < href ? src : href;
        if (!at) return NULL;
        const char *v = strchr(at, '"') + 7, *end = strchr(v, '"');
        if (!end) return NULL;
        if (at == html || at[-1] != ' ') {          /* data-src="media:…" is not a reference */
            p = v;
            continue;
        }
        static const struct { const char *ent; char c; } ents[] = {
            {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}};
        size_t o = 0;
        for (const char *q = v; q < end;) {
            char c = *q;
            size_t k = 1;
            for (size_t e = 0; c == '&' && e < sizeof ents / sizeof *ents; e++) {
                size_t el = strlen(ents[e].ent);
                if ((size_t)(end - q) >= el && !memcmp(q, ents[e].ent, el)) { c = ents[e].c; k = el; break; }
            }
            if (o + 1 >= cap) { o = 0; break; }
            name[o++] = c;
            q += k;
        }
        name[o] = 0;
        *link = at == href;
        return end;
    }
}

static int media_index(const bank_media *m, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (m[i].name && !strcmp(m[i].name, name)) return i;
    return -1;
}

/* The stored sub-item the edited sub-item no (1-based) stands for: 1 found, 0 none, -1
 * error. */
static int stored_child(stmts *x, uint64_t parent, const bank_item *ch, int no, uint64_t *id)
{
    const char *uid = ch->uid ? ch->uid : "";
    *id = 0;
    if (kc_stmt_exec(x->stored_child, "usis", parent, uid, (int64_t)no, uid))
        return fail(x, x->stored_child, "item lookup");
    int f = kc_stmt_next(x->stored_child);
    if (f == 1) *id = (uint64_t)kc_stmt_int(x->stored_child, 0);
    kc_stmt_done(x->stored_child);
    if (f < 0) return fail(x, x->stored_child, "item lookup");
    return f;
}

/* Gives it (not its sub-items) every medium its rich text refers to: its own, else the one
 * of that name of stored item stored_id (0: none). The media then follow the order of
 * their first reference, as an import of the same text gives them, so an unchanged item
 * hashes as before. Returns the number of references nothing provides (each one diag line),
 * -1 on an error; *added counts the media borrowed. */
static int borrow_media(stmts *x, bank_item *it, uint64_t stored_id, kc_arena *a,
                        kc_diag *d, int *added)
{
    const char *fields[BANK_MAX_OPTIONS + 3];
    char names[BANK_MAX_OPTIONS + 3][24];
    int nf = 0;
    fields[nf] = it->stem;
    snprintf(names[nf++], sizeof names[0], "题干");
    for (int i = 0; i < it->n_options && i < BANK_MAX_OPTIONS; i++) {
        fields[nf] = it->options[i];
        snprintf(names[nf++], sizeof names[0], "选项%c", 'A' + i);
    }
    fields[nf] = it->explanation;
    snprintf(names[nf++], sizeof names[0], "解析");
    if (it->type == BANK_SHORT || it->type == BANK_ESSAY) {
        fields[nf] = it->answer;
        snprintf(names[nf++], sizeof names[0], "参考答案");
    }
    size_t refs = 0;
    for (int f = 0; f < nf; f++)
        for (const char *p = fields[f]; p && (p = strstr(p, "media:")); p += 6) refs++;
    if (!refs) return 0;
    bank_media *out = kc_arena_alloc(a, (refs + (size_t)it->n_media) * sizeof *out);
    if (!out) return fail(x, x->stored_media, "out of memory");
    int n = 0, bad = 0, borrowed = 0;
    char name[512];
    for (int f = 0; f < nf; f++) {
        int link = 0;
        for (const char *p = fields[f]; p && (p = next_ref(fields[f], p, name, sizeof name, &link));) {
            if (media_index(out, n, name) >= 0) continue;
            int own = *name ? media_index(it->media, it->n_media, name) : -1;
            if (own >= 0) {
                out[n++] = it->media[own];
                continue;
            }
            int found = 0;
            if (*name && stored_id) {
                if (kc_stmt_exec(x->stored_media, "us", stored_id, name))
                    return fail(x, x->stored_media, "media lookup");
                int r = kc_stmt_next(x->stored_media);
                if (r == 1) {
                    const char *mime = kc_stmt_str(x->stored_media, 0);
                    size_t len = kc_stmt_len(x->stored_media, 1);
                    bank_media *m = &out[n];
                    memset(m, 0, sizeof *m);
                    m->name = kc_arena_strdup(a, name);
                    m->mime = mime ? kc_arena_strdup(a, mime) : NULL;
                    unsigned char *data = kc_arena_alloc(a, len ? len : 1);
                    if (data && len) memcpy(data, kc_stmt_str(x->stored_media, 1), len);
                    m->data = data;
                    m->len = len;
                    if (!m->name || (mime && !m->mime) || !data) r = -2;
                    else { n++; borrowed++; found = 1; }
                }
                kc_stmt_done(x->stored_media);
                if (r == -2) return fail(x, x->stored_media, "out of memory");
                if (r < 0) return fail(x, x->stored_media, "media lookup");
            }
            if (!found) {
                char clip[72];
                kc_diag_add(d, it->file, it->line, names[f], "%s media:%s is not part of this item",
                              link ? "attachment" : "image",
                              *name ? bank_text_clip(name, clip, sizeof clip) : "(a name too long)");
                bad++;
            }
        }
    }
    if (bad || !borrowed) return bad;
    for (int i = 0; i < it->n_media; i++)    /* media of its own that the text does not show */
        if (it->media[i].name && media_index(out, n, it->media[i].name) < 0) out[n++] = it->media[i];
    it->media = out;
    it->n_media = n;
    *added += borrowed;
    return 0;
}

/* borrow_media for an edited item and each of its sub-items (whose media[] and children
 * are the caller's copies, writable). */
static int borrow_all(stmts *x, bank_item *it, uint64_t stored_id, kc_arena *a, kc_diag *d,
                      int *added)
{
    int bad = borrow_media(x, it, stored_id, a, d, added);
    if (bad < 0) return -1;
    for (int i = 0; i < it->n_children; i++) {
        uint64_t cid = 0;
        if (stored_child(x, stored_id, &it->children[i], i + 1, &cid) < 0) return -1;
        int b = borrow_media(x, &it->children[i], cid, a, d, added);
        if (b < 0) return -1;
        bad += b;
    }
    return bad;
}

int bank_store_edit(kc_db *db, const bank_item *edited, const char *actor, const char *comment,
                    enum bank_edit_result *result, int *version, kc_diag *d, char *err,
                    size_t errlen)
{
    if (!edited || !edited->uid || hash_zero(edited->full_hash))
        return bank__err(err, errlen, "item", "the edited item was not finalized (bank_item_finalize)");
    stmts x;
    int brc = begin(db, &x, err, errlen);
    if (brc) return brc;
    uint64_t nid;
    int ver = 0, rc = 0;
    newest_row old;
    int f = newest(&x, edited->uid, 1, &old);
    enum bank_edit_result res = BANK_EDIT_UNCHANGED;
    kc_arena *tmp = NULL;
    bank_item cp = *edited;
    if (f < 0) rc = -1;
    else if (!f) {
        bank__err(err, errlen, edited->uid, "no such item in the bank");
        rc = KC_ENOTFOUND;
    } else {
        ver = old.version;
        /* An edit that names no occupation or level keeps the stored ones (and hashes with
         * them, as an import does). */
        int changed = apply_defaults(&cp, old.occupation[0] ? old.occupation : NULL, old.level);
        tmp = kc_arena_new(0);
        bank_item *kids = tmp && cp.n_children > 0
                              ? kc_arena_alloc(tmp, (size_t)cp.n_children * sizeof *kids)
                              : NULL;
        if (!tmp || (cp.n_children > 0 && !kids)) {
            rc = bank__oom(err, errlen, "item");
        } else if (kids) {
            memcpy(kids, cp.children, (size_t)cp.n_children * sizeof *kids);
            for (int k = 0; k < cp.n_children; k++)
                changed |= apply_defaults(&kids[k], cp.occupation, cp.level);
            cp.children = kids;
        }
        /* before hashing: the media belong to the version (and to full_hash) */
        int added = 0;
        int b = rc ? 0 : borrow_all(&x, &cp, old.id, tmp, d, &added);
        if (b < 0) rc = -1;
        else if (b) rc = KC_EINVAL;
        if (!rc && (changed || added) && bank_item_finalize(&cp, tmp))
            rc = bank__oom(err, errlen, "item");
    }
    version_ctx v = {.occupation = cp.occupation, .level = cp.level,
                     .status = BANK_DRAFT, .actor = actor, .file = NULL};
    if (!rc) {
        int b = check_point(&x, &cp, cp.occupation, cp.level, part_of(&cp), d);
        if (b < 0) rc = -1;
        else if (b) rc = KC_EINVAL;
    }
    if (!rc && memcmp(cp.full_hash, old.hash, 32)) {
        int del = old.status == BANK_DRAFT ? delivered(&x, old.id) : 1;
        int u = del ? 1 : update_in_place(&x, old.id, ver, &cp, &v);
        if (del < 0 || u < 0) rc = -1;
        else if (!u) {
            res = BANK_EDIT_IN_PLACE;
            if (review(&x, old.id, "edit", "draft", "draft", actor, comment)) rc = -1;
        } else {
            res = BANK_EDIT_NEW_VERSION;
            ver++;
            if (insert_row(&x, &cp, cp.uid, ver, 0, 0, &v, &nid) ||
                review(&x, nid, "edit", bank_status_name(old.status), "draft", actor, comment))
                rc = -1;
        }
    }
    rc = finish(db, &x, rc, err, errlen);
    kc_arena_free(tmp);
    if (!rc) {
        if (result) *result = res;
        if (version) *version = ver;
    }
    return rc;
}

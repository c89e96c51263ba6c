/* Every candidate's paper rendered once, when its session is prepared (architecture rule 5:
 * nothing is assembled or rendered on the start click), and stored in paper_render: the
 * JSON of the `paper` object `start` splices into its reply, its hash, and the answer-check
 * data the service thread needs. The items a page of papers names are read once, 64 ids per
 * statement, with their sub-items and media; their links are signed once per item; then
 * each paper is only put together (exam_paper_render). Rows go in multi-row statements, a
 * transaction per page of papers. Runs on the CLI's connection or on a worker. */
#include "exam.h"
#include "../media/media.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RENDER_PAGE 256               /* papers read, rendered and stored per transaction */
#define STORE_ROWS 32                 /* rows per INSERT at most ... */
#define STORE_BYTES ((size_t)4 << 20) /* ... and about this much text (max_allowed_packet: 16 MiB) */
#define ITEM_IDS 64                   /* ids per item statement (unused places hold 0) */
#define MISSING 1                     /* idx value of an id the item table does not have */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the items papers are made of, read as the papers name them ---- */

struct src {
    kc_db *db;
    const unsigned char *key;
    int64_t expires;                  /* every link signed until then */
    kc_arena *a;
    kc_map idx;                       /* item id -> (uintptr_t) exam_src_item *, or MISSING */
    kc_map specs;                     /* build id -> (uintptr_t) its spec (section titles), in a */
    kc_buf text;                      /* the JSON of a page of papers, each ended by a NUL */
};

static const exam_src_item *src_find(const void *arg, uint64_t id)
{
    const struct src *s = arg;
    uint64_t v;
    return kc_map_get(&s->idx, id, &v) && v != MISSING ? (const exam_src_item *)(uintptr_t)v : NULL;
}

#define Q8 "?,?,?,?,?,?,?,?"
#define Q64 Q8 "," Q8 "," Q8 "," Q8 "," Q8 "," Q8 "," Q8 "," Q8
static const char SQL_ITEMS[] =
    "SELECT 0, id, type, stem, COALESCE(options, ''), COALESCE(answer_key, ''), points_centi"
    " FROM item WHERE id IN (" Q64 ")";
static const char SQL_CHILDREN[] =
    "SELECT parent_id, id, type, stem, COALESCE(options, ''), COALESCE(answer_key, ''), points_centi"
    " FROM item WHERE parent_id IN (" Q64 ") ORDER BY parent_id, sub_no";

static const char *adup(kc_arena *a, kc_stmt *st, int col)
{
    const char *v = kc_stmt_str(st, col);
    return kc_arena_strndup(a, v ? v : "", v ? kc_stmt_len(st, col) : 0);
}

/* A rich text with its media links signed, in the arena (the text itself when it names no
 * media); NULL on OOM. */
static const char *signed_html(struct src *s, const media_map *m, uint64_t id, const char *html)
{
    if (!m->n || !strstr(html, "\"media:")) return html;
    char *x = media_rewrite(html, id, m, s->key, s->expires);
    const char *r = x ? kc_arena_strdup(s->a, x) : NULL;
    free(x);
    return r;
}

/* The stored options (a JSON array of texts) with each text signed; as they are when none
 * names media or they do not parse (exam_view_write says so then). NULL on OOM. */
static const char *signed_options(struct src *s, const media_map *m, uint64_t id, const char *opts)
{
    if (!m->n || !strstr(opts, "media:")) return opts;
    json_t *a = json_loads(opts, 0, NULL), *v;
    size_t k;
    if (!json_is_array(a)) { json_decref(a); return opts; }
    int oom = 0;
    json_array_foreach(a, k, v) {
        if (!json_is_string(v)) continue;
        const char *t = signed_html(s, m, id, json_string_value(v));
        json_t *nv = t ? json_string(t) : NULL;
        if (!nv) { oom = 1; break; }
        json_array_set_new(a, k, nv);
    }
    char *out = oom ? NULL : json_dumps(a, JSON_COMPACT);
    json_decref(a);
    const char *r = out ? kc_arena_strdup(s->a, out) : NULL;
    free(out);
    return r;
}

/* An item row as read, until its links are signed and its view prepared. */
struct row {
    exam_src_item *it;
    exam_item_row r;
};

/* Reads ids[0..n) (at most ITEM_IDS, none known yet), their sub-items and media; signs the
 * links and prepares every view once. */
static int load_batch(struct src *s, const uint64_t *ids, size_t n)
{
    kc_param p[ITEM_IDS];
    for (size_t k = 0; k < ITEM_IDS; k++) p[k] = (kc_param){'u', k < n ? (int64_t)ids[k] : 0, NULL, 0};
    const size_t cap = ITEM_IDS * (BANK_MAX_CHILDREN + 1);
    struct row *rows = calloc(cap, sizeof *rows);
    uint64_t *rids = calloc(cap, sizeof *rids);
    size_t nrows = 0;
    media_map m = {0};
    int rc = rows && rids ? 0 : KC_ENOMEM;
    for (int pass = 0; pass < 2 && !rc; pass++) {
        const char *sql = pass ? SQL_CHILDREN : SQL_ITEMS;
        kc_stmt *st = kc_db_stmt(s->db, sql);
        rc = st ? kc_stmt_execv(st, p, ITEM_IDS) : kc_db_fail_code(s->db);
        uint64_t parent = 0;
        const exam_src_item **kids = NULL;
        int nkids = 0;
        while (!rc && (rc = kc_stmt_next(st)) == 1) {
            rc = 0;
            if (nrows == cap) {
                rc = KC_EDB;
                snprintf(s->db->err, sizeof s->db->err, "items: more rows than a batch can have");
                break;
            }
            exam_src_item *it = kc_arena_alloc(s->a, sizeof *it);
            if (!it) { rc = KC_ENOMEM; break; }
            struct row *w = &rows[nrows];
            it->id = (uint64_t)kc_stmt_int(st, 1);
            it->points_centi = kc_stmt_int(st, 6);
            w->it = it;
            w->r = (exam_item_row){it->id, adup(s->a, st, 2), adup(s->a, st, 3), adup(s->a, st, 4),
                                   adup(s->a, st, 5), "", 0};
            if (!w->r.type || !w->r.stem || !w->r.options || !w->r.key) { rc = KC_ENOMEM; break; }
            rids[nrows++] = it->id;
            if (!pass) {
                rc = kc_map_put(&s->idx, it->id, (uint64_t)(uintptr_t)it);
                continue;
            }
            /* Sub-items come by parent, in order: each parent gets its run. */
            uint64_t pid = (uint64_t)kc_stmt_int(st, 0);
            if (pid != parent) { parent = pid; kids = NULL; nkids = 0; }
            exam_src_item *par = (exam_src_item *)src_find(s, pid);
            if (!par || nkids == BANK_MAX_CHILDREN) continue;
            if (!kids && !(kids = kc_arena_alloc(s->a, BANK_MAX_CHILDREN * sizeof *kids))) { rc = KC_ENOMEM; break; }
            kids[nkids++] = it;
            par->children = kids;
            par->n_children = nkids;
        }
        if (st) kc_stmt_done(st);
    }
    /* Ids the item table does not have are not asked for again. */
    for (size_t k = 0; k < n && !rc; k++)
        if (!src_find(s, ids[k])) rc = kc_map_put(&s->idx, ids[k], MISSING);
    if (!rc) rc = media_load_items(s->db, rids, nrows, &m);
    for (size_t k = 0; k < nrows && !rc; k++) {
        struct row *w = &rows[k];
        w->r.stem = signed_html(s, &m, w->r.id, w->r.stem);
        w->r.options = signed_options(s, &m, w->r.id, w->r.options);
        rc = w->r.stem && w->r.options ? exam_view_prepare(&w->r, NULL, NULL, s->a, &w->it->view) : KC_ENOMEM;
    }
    media_map_free(&m);
    free(rows);
    free(rids);
    return rc < 0 ? rc : 0;
}

/* Makes sure every item of ids[0..n) was read (or is known to be missing). */
static int src_need(struct src *s, const uint64_t *ids, size_t n)
{
    uint64_t batch[ITEM_IDS], v;
    size_t nb = 0;
    for (size_t k = 0; k <= n; k++) {
        if (k < n && ids[k] && !kc_map_get(&s->idx, ids[k], &v)) {
            int dup = 0;
            for (size_t i = 0; i < nb; i++) dup |= batch[i] == ids[k];
            if (!dup) batch[nb++] = ids[k];
        }
        if (nb == ITEM_IDS || (k == n && nb)) {
            int rc = load_batch(s, batch, nb);
            if (rc) return rc;
            nb = 0;
        }
    }
    return 0;
}

/* ---- papers ---- */

struct paper {
    uint64_t attempt_id, gen_no, build_id;
    char ticket[33];
    char *items;                      /* paper_instance.items */
    char old_hash[65];
    char attempt_hash[65];            /* attempt.paper_hash: what starts read with the lock */
    int64_t old_expires;
    exam_layout lay;
    /* rendered: its JSON is text.p + off (once the page is rendered) */
    size_t off, len;
    const char *json;
    srv_paper *check;
    char hash[65];
};

static void paper_clear(struct paper *p)
{
    free(p->items);
    exam_layout_free(&p->lay);
    srv_paper_free(p->check);
    memset(p, 0, sizeof *p);
}

/* A session's papers in generation order, a page at a time along the (session_id, gen_no)
 * key: no sort, however many papers (the build's spec is read once per build, apart). */
#define PAPER_ROWS                                                                                 \
    "SELECT p.attempt_id, p.gen_no, p.build_id, a.ticket_no, p.items, COALESCE(r.hash, ''),"        \
    " r.media_expires, COALESCE(a.paper_hash, '') FROM paper_instance p"                           \
    " JOIN attempt a ON a.id = p.attempt_id"                                                      \
    " LEFT JOIN paper_render r ON r.attempt_id = p.attempt_id "
static const char SQL_PAGE[] =
    PAPER_ROWS "WHERE p.session_id = ? AND p.gen_no > ? ORDER BY p.gen_no LIMIT 256";
/* Only papers without a row or whose links do not end when this render's would. */
static const char SQL_PAGE_STALE[] =
    PAPER_ROWS "WHERE p.session_id = ? AND p.gen_no > ?"
    " AND (r.attempt_id IS NULL OR r.media_expires <> ?) ORDER BY p.gen_no LIMIT 256";
static const char SQL_ONE[] = PAPER_ROWS "WHERE p.attempt_id = ?";
static const char SQL_SPEC[] = "SELECT spec FROM paper_build WHERE id = ?";

/* The spec of a build (its section titles), read once per render; "" when there is none. */
static int spec_of(struct src *s, uint64_t build_id, const char **spec)
{
    uint64_t v;
    if (kc_map_get(&s->specs, build_id, &v)) { *spec = (const char *)(uintptr_t)v; return 0; }
    kc_stmt *st = kc_db_stmt(s->db, SQL_SPEC);
    int rc = st ? kc_stmt_exec(st, "u", build_id) : kc_db_fail_code(s->db);
    int found = rc ? rc : kc_stmt_next(st);
    const char *text = found == 1 && kc_stmt_str(st, 0) ? kc_stmt_str(st, 0) : "";
    char *copy = found >= 0 ? kc_arena_strdup(s->a, text) : NULL;
    if (st) kc_stmt_done(st);
    if (found < 0) return found;
    if (!copy || kc_map_put(&s->specs, build_id, (uint64_t)(uintptr_t)copy)) return KC_ENOMEM;
    *spec = copy;
    return 0;
}
_Static_assert(RENDER_PAGE == 256, "the LIMIT of SQL_PAGE");

/* Reads up to max papers into ps; *n how many. */
static int read_papers(kc_db *db, const char *sql, const kc_param *prm, int nprm, struct paper *ps,
                       int max, int *n)
{
    *n = 0;
    kc_stmt *st = kc_db_stmt(db, sql);
    int rc = st ? kc_stmt_execv(st, prm, nprm) : kc_db_fail_code(db);
    while (!rc && *n < max && (rc = kc_stmt_next(st)) == 1) {
        rc = 0;
        struct paper *p = &ps[(*n)++];
        memset(p, 0, sizeof *p);
        p->attempt_id = (uint64_t)kc_stmt_int(st, 0);
        p->gen_no = (uint64_t)kc_stmt_int(st, 1);
        p->build_id = (uint64_t)kc_stmt_int(st, 2);
        snprintf(p->ticket, sizeof p->ticket, "%s", kc_stmt_str(st, 3) ? kc_stmt_str(st, 3) : "");
        p->items = strndup(kc_stmt_str(st, 4) ? kc_stmt_str(st, 4) : "", kc_stmt_len(st, 4));
        snprintf(p->old_hash, sizeof p->old_hash, "%s", kc_stmt_str(st, 5) ? kc_stmt_str(st, 5) : "");
        p->old_expires = kc_stmt_time(st, 6);
        snprintf(p->attempt_hash, sizeof p->attempt_hash, "%s", kc_stmt_str(st, 7) ? kc_stmt_str(st, 7) : "");
        if (!p->items) rc = KC_ENOMEM;
    }
    if (st) kc_stmt_done(st);
    return rc < 0 ? rc : 0;
}

/* Renders one paper read by read_papers; KC_EINVAL with *why (logged by the caller). */
static int render_one(struct src *s, const char *title, struct paper *p, const char **why,
                      uint64_t *bad)
{
    *bad = 0;
    p->off = s->text.n;
    int rc = exam_paper_render(&p->lay, title, src_find, s, &s->text, &p->len, &p->check, why, bad);
    if (rc) return rc;
    p->check->attempt_id = p->attempt_id;
    exam_paper_hash(s->text.p + p->off, p->len, p->hash);
    kc_buf_add(&s->text, "", 1);      /* the NUL that ends it for the statement */
    return s->text.oom ? KC_ENOMEM : 0;
}

static const char SQL_STORE_HEAD[] =
    "INSERT INTO paper_render (attempt_id, session_id, hash, paper_json, answer_check,"
    " media_expires, rendered_at) VALUES";
static const char SQL_STORE_TAIL[] =
    " ON DUPLICATE KEY UPDATE session_id = VALUES(session_id), hash = VALUES(hash),"
    " paper_json = VALUES(paper_json), answer_check = VALUES(answer_check),"
    " media_expires = VALUES(media_expires), rendered_at = VALUES(rendered_at)";
#define STORE_COLS 7
/* The attempts' copy of the hash, in the same transaction (008_attempt_paper_hash). */
static const char SQL_HASH_HEAD[] =
    "UPDATE attempt a JOIN paper_render r ON r.attempt_id = a.id SET a.paper_hash = r.hash"
    " WHERE a.id IN (";

/* Writes the rendered papers ps[i] for i in which[0..n), a few rows per statement. */
static int store(kc_db *db, uint64_t session_id, int64_t expires, struct paper *ps,
                 const int *which, int n)
{
    kc_param *prm = calloc((size_t)STORE_ROWS * STORE_COLS, sizeof *prm);
    kc_param *ids = calloc(STORE_ROWS, sizeof *ids);
    char **checks = calloc(STORE_ROWS, sizeof *checks);
    int rc = prm && ids && checks ? 0 : KC_ENOMEM;
    int64_t now = kc_now_ms();
    for (int i = 0; i < n && !rc;) {
        int rows = 0, moved = 0;
        size_t bytes = 0;
        while (i < n && rows < STORE_ROWS && (!rows || bytes + ps[which[i]].len <= STORE_BYTES)) {
            struct paper *p = &ps[which[i++]];
            if (strcmp(p->hash, p->attempt_hash)) ids[moved++] = (kc_param){'u', (int64_t)p->attempt_id, NULL, 0};
            if (!(checks[rows] = exam_check_encode(p->check))) { rc = KC_ENOMEM; break; }
            kc_param *r = &prm[rows * STORE_COLS];
            r[0] = (kc_param){'u', (int64_t)p->attempt_id, NULL, 0};
            r[1] = (kc_param){'u', (int64_t)session_id, NULL, 0};
            r[2] = (kc_param){'s', 0, p->hash, 0};
            r[3] = (kc_param){'s', 0, p->json, 0};
            r[4] = (kc_param){'s', 0, checks[rows], 0};
            r[5] = (kc_param){'t', expires, NULL, 0};
            r[6] = (kc_param){'t', now, NULL, 0};
            bytes += p->len + strlen(checks[rows]);
            rows++;
        }
        if (!rc) rc = kc_db_rows(db, SQL_STORE_HEAD, "(?,?,?,?,?,?,?)", SQL_STORE_TAIL, prm,
                                 (size_t)rows, STORE_ROWS);
        if (!rc && moved) rc = kc_db_rows(db, SQL_HASH_HEAD, "?", ")", ids, (size_t)moved, STORE_ROWS);
        for (int k = 0; k < rows; k++) { free(checks[k]); checks[k] = NULL; }
    }
    free(prm);
    free(ids);
    free(checks);
    return rc;
}

static const char SQL_SESSION_VIEW[] =
    "SELECT COALESCE(t.title, pp.title, s.title), s.closes_at FROM exam_session s"
    " LEFT JOIN paper_template t ON t.id = s.template_id LEFT JOIN paper pp ON pp.id = s.paper_id"
    " WHERE s.id = ?";

/* What every paper of the session shares: the title and the links' expiry. */
static int session_view(kc_db *db, uint64_t session_id, char *title, size_t cap, int64_t *expires)
{
    int64_t closes = 0;
    int rc = kc_db_query(db, SQL_SESSION_VIEW, "u", "st", session_id, title, cap, &closes);
    if (!rc) {
        rc = kc_db_fetch(db, SQL_SESSION_VIEW);
        kc_db_done(db, SQL_SESSION_VIEW);
        rc = rc == 1 ? 0 : rc == 0 ? KC_ENOTFOUND : rc;
    }
    /* No deadline passes closes_at: the links outlive every one by the usual margin. */
    *expires = closes + MEDIA_AFTER_DEADLINE_MS;
    return rc;
}

/* Renders and stores one page of papers (a transaction); counts into r, problems into d
 * (or the log when d is NULL). */
static int render_page(struct src *s, uint64_t session_id, const char *title, struct paper *ps,
                       int n, kc_diag *d, exam_render_report *r)
{
    uint64_t *ids = NULL;
    size_t nids = 0, cap = 0;
    s->text.n = 0;                    /* the page before's memory, used again */
    int *which = calloc((size_t)n + 1, sizeof *which), nw = 0, rc = which ? 0 : KC_ENOMEM;
    char *bad_paper = calloc((size_t)n + 1, 1);
    if (!bad_paper) rc = KC_ENOMEM;
    /* The layouts, and the items they name (read once for the page). */
    for (int i = 0; i < n && !rc; i++) {
        const char *spec;
        if ((rc = spec_of(s, ps[i].build_id, &spec))) break;
        if (exam_layout_parse(ps[i].items, spec, &ps[i].lay)) { bad_paper[i] = 1; continue; }
        if (nids + (size_t)ps[i].lay.n > cap) {
            cap = (nids + (size_t)ps[i].lay.n) * 2 + 64;
            uint64_t *x = realloc(ids, cap * sizeof *x);
            if (!x) { rc = KC_ENOMEM; break; }
            ids = x;
        }
        /* sub-items come with their composite */
        for (int k = 0; k < ps[i].lay.n; k++)
            if (!ps[i].lay.v[k].sub) ids[nids++] = ps[i].lay.v[k].id;
    }
    if (!rc) rc = src_need(s, ids, nids);
    free(ids);
    for (int i = 0; i < n && !rc; i++) {
        const char *why = "the stored paper does not parse";
        uint64_t bad = 0;
        int e = bad_paper[i] ? KC_EINVAL : render_one(s, title, &ps[i], &why, &bad);
        if (e == KC_ENOMEM) { rc = e; break; }
        r->papers++;
        if (e) {
            r->failed++;
            char item[48] = "";
            if (bad) snprintf(item, sizeof item, "item %llu: ", (unsigned long long)bad);
            if (d)
                kc_diag_add(d, ps[i].ticket, 0, "paper", "cannot be rendered: %s%s", item, why);
            else
                KC_ERROR("papers", "attempt=%llu ticket=%s paper cannot be rendered: %s%s",
                          (unsigned long long)ps[i].attempt_id, ps[i].ticket, item, why);
            continue;
        }
        r->bytes += (int64_t)ps[i].len;
        /* Rendering is deterministic: an unchanged paper is not written again. */
        if (strcmp(ps[i].hash, ps[i].old_hash) || ps[i].old_expires != s->expires ||
            strcmp(ps[i].hash, ps[i].attempt_hash))
            which[nw++] = i;
    }
    free(bad_paper);
    for (int k = 0; k < nw; k++) ps[which[k]].json = s->text.p + ps[which[k]].off;
    if (!rc && nw) {
        rc = kc_db_begin(s->db);
        if (!rc) rc = store(s->db, session_id, s->expires, ps, which, nw);
        if (!rc) rc = kc_db_commit(s->db);
        if (rc) kc_db_rollback(s->db);
        else r->stored += nw;
    }
    free(which);
    return rc;
}

static int src_init(struct src *s, kc_db *db, const unsigned char *key)
{
    memset(s, 0, sizeof *s);
    s->db = db;
    s->key = key;
    s->a = kc_arena_new(1 << 20);
    if (!s->a || kc_map_init(&s->idx, 1024) || kc_map_init(&s->specs, 8)) {
        kc_map_free(&s->idx);
        kc_arena_free(s->a);
        return KC_ENOMEM;
    }
    return 0;
}

static void src_free(struct src *s)
{
    kc_buf_free(&s->text);
    kc_map_free(&s->idx);
    kc_map_free(&s->specs);
    kc_arena_free(s->a);
}

int exam_render_session(kc_db *db, const unsigned char media_key[32], uint64_t session_id,
                        int stale_only, kc_diag *d, exam_render_report *r)
{
    int64_t t0 = mono_ms();
    memset(r, 0, sizeof *r);
    struct src s;
    char title[1024];
    struct paper *ps = calloc(RENDER_PAGE, sizeof *ps);
    int rc = ps ? src_init(&s, db, media_key) : KC_ENOMEM;
    if (rc) { free(ps); return rc; }
    rc = session_view(db, session_id, title, sizeof title, &s.expires);
    uint64_t after = 0;
    while (!rc) {
        int n;
        const kc_param prm[3] = {{'u', (int64_t)session_id, NULL, 0}, {'u', (int64_t)after, NULL, 0},
                                 {'t', s.expires, NULL, 0}};
        rc = read_papers(db, stale_only ? SQL_PAGE_STALE : SQL_PAGE, prm, stale_only ? 3 : 2, ps, RENDER_PAGE, &n);
        if (rc || !n) break;
        after = ps[n - 1].gen_no;
        rc = render_page(&s, session_id, title, ps, n, d, r);
        for (int i = 0; i < n; i++) paper_clear(&ps[i]);
    }
    for (int i = 0; i < RENDER_PAGE; i++) paper_clear(&ps[i]);
    free(ps);
    src_free(&s);
    r->ms = mono_ms() - t0;
    return rc;
}

static const char SQL_SESSION_OF_PAPER[] = "SELECT session_id FROM paper_instance WHERE attempt_id = ?";

int exam_render_attempt(kc_db *db, const unsigned char media_key[32], uint64_t attempt_id,
                        exam_rendered **out)
{
    *out = NULL;
    uint64_t session_id = 0;
    int rc = kc_db_query(db, SQL_SESSION_OF_PAPER, "u", "u", attempt_id, &session_id);
    if (!rc) {
        rc = kc_db_fetch(db, SQL_SESSION_OF_PAPER);
        kc_db_done(db, SQL_SESSION_OF_PAPER);
        rc = rc == 1 ? 0 : rc == 0 ? KC_ENOTFOUND : rc;
    }
    if (rc) return rc;
    struct src s;
    struct paper p = {0};
    char title[1024];
    if ((rc = src_init(&s, db, media_key))) return rc;
    rc = session_view(db, session_id, title, sizeof title, &s.expires);
    int n = 0;
    const kc_param prm[1] = {{'u', (int64_t)attempt_id, NULL, 0}};
    if (!rc) rc = read_papers(db, SQL_ONE, prm, 1, &p, 1, &n);
    if (!rc && !n) rc = KC_ENOTFOUND;
    exam_render_report r = {0};
    if (!rc) rc = render_page(&s, session_id, title, &p, 1, NULL, &r);
    if (!rc && r.failed) rc = KC_EINVAL;
    char *json = NULL;
    if (!rc && !(json = strndup(s.text.p + p.off, p.len))) rc = KC_ENOMEM;
    if (!rc) {
        *out = exam_rendered_new(attempt_id, p.hash, json, p.len, p.check);
        p.check = NULL;
        if (!*out) rc = KC_ENOMEM;
    }
    paper_clear(&p);
    src_free(&s);
    return rc;
}

/* Sessions opening soon (or open) with a paper that has no row, or whose links no longer end
 * an hour after the session's close (closes_at changed since). */
static const char SQL_RENDER_DUE[] =
    "SELECT s.id, s.code FROM exam_session s WHERE s.opens_at <= ? AND s.closes_at > ?"
    " AND EXISTS (SELECT 1 FROM paper_instance p LEFT JOIN paper_render r ON r.attempt_id = p.attempt_id"
    " WHERE p.session_id = s.id AND (r.attempt_id IS NULL"
    " OR r.media_expires <> s.closes_at + INTERVAL ? SECOND)) ORDER BY s.opens_at LIMIT 20";

int exam_render_due(kc_db *db, const unsigned char media_key[32], int prepare_before_min)
{
    int64_t now = kc_now_ms();
    uint64_t ids[20], id;
    char codes[20][65], code[65];
    int n = 0;
    _Static_assert(MEDIA_AFTER_DEADLINE_MS % 1000 == 0, "whole seconds in SQL_RENDER_DUE");
    int rc = kc_db_query(db, SQL_RENDER_DUE, "tti", "us", now + (int64_t)prepare_before_min * 60000,
                          now, (int64_t)(MEDIA_AFTER_DEADLINE_MS / 1000), &id, code, sizeof code);
    while (!rc && (rc = kc_db_fetch(db, SQL_RENDER_DUE)) == 1) {
        rc = 0;
        if (n < 20) {
            ids[n] = id;
            snprintf(codes[n], sizeof codes[n], "%s", code);
            n++;
        }
    }
    kc_db_done(db, SQL_RENDER_DUE);
    if (rc < 0) return rc;
    for (int i = 0; i < n; i++) {
        exam_render_report r;
        rc = exam_render_session(db, media_key, ids[i], 1, NULL, &r);
        if (rc == KC_ELOST) return rc;
        if (rc)
            KC_ERROR("papers", "session=%s papers cannot be rendered: %s", codes[i], db->err);
        else
            KC_INFO("papers", "session=%s rendered=%d stored=%d failed=%d kb=%lld ms=%lld", codes[i],
                     r.papers, r.stored, r.failed, (long long)(r.bytes >> 10), (long long)r.ms);
    }
    return 0;
}

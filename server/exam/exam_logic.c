/* The exam's rules without the database or the transport (exam_logic.h): srv_exam.c reads
 * the rows and calls these. No SQL, no libwebsockets. */
#include "exam.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

/* ---- the paper the service thread checks answers against ---- */


int exam_paper_begin(exam_paper_build *b, uint64_t attempt_id)
{
    b->cap = 0;
    b->p = calloc(1, sizeof *b->p);
    if (!b->p) return KC_ENOMEM;
    b->p->attempt_id = attempt_id;
    return 0;
}

int exam_paper_add(exam_paper_build *b, uint64_t item_id, const exam_item_info *info)
{
    srv_paper *p = b->p;
    if (!p) return KC_EINVAL;
    if (p->n == b->cap) {
        int cap = b->cap ? b->cap * 2 : 64;
        uint64_t *ids = realloc(p->item_ids, (size_t)cap * sizeof *ids);
        if (ids) p->item_ids = ids;
        unsigned char *no = realloc(p->n_options, (size_t)cap);
        if (no) p->n_options = no;
        unsigned char *ty = realloc(p->types, (size_t)cap);
        if (ty) p->types = ty;
        unsigned char *nb = realloc(p->n_blanks, (size_t)cap);
        if (nb) p->n_blanks = nb;
        if (!ids || !no || !ty || !nb) return KC_ENOMEM;
        b->cap = cap;
    }
    p->item_ids[p->n] = item_id;
    p->n_options[p->n] = (unsigned char)info->n_options;
    p->types[p->n] = (unsigned char)info->type;
    p->n_blanks[p->n] = (unsigned char)info->n_blanks;
    p->n++;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int exam_paper_finish(exam_paper_build *b, srv_paper **out)
{
    srv_paper *p = b->p;
    if (!p) return KC_EINVAL;
    /* Sort ids with their attributes for binary search on the service thread. */
    struct ent { uint64_t id; unsigned char no, ty, nb; } *e = malloc((size_t)p->n * sizeof *e + 1);
    if (!e) return KC_ENOMEM;
    for (int i = 0; i < p->n; i++)
        e[i] = (struct ent){p->item_ids[i], p->n_options[i], p->types[i], p->n_blanks[i]};
    qsort(e, (size_t)p->n, sizeof *e, cmp_u64);   /* id is the first member */
    for (int i = 0; i < p->n; i++) {
        p->item_ids[i] = e[i].id;
        p->n_options[i] = e[i].no;
        p->types[i] = e[i].ty;
        p->n_blanks[i] = e[i].nb;
    }
    free(e);
    if (!(p->seq = calloc((size_t)p->n + 1, sizeof *p->seq))) return KC_ENOMEM;
    *out = p;
    b->p = NULL;
    b->cap = 0;
    return 0;
}

void exam_paper_abort(exam_paper_build *b)
{
    srv_paper_free(b->p);
    b->p = NULL;
    b->cap = 0;
}

/* ---- the stored layout ---- */

void exam_layout_free(exam_layout *l)
{
    free(l->v);
    for (int i = 0; i < l->n_titles; i++) free(l->titles[i]);
    free(l->titles);
    memset(l, 0, sizeof *l);
}

static int layout_add(exam_layout *l, int *cap, json_int_t id, json_t *perm, int sub,
                      json_int_t points, json_int_t section)
{
    if (l->n == *cap) {
        *cap = *cap ? *cap * 2 : 128;
        void *v = realloc(l->v, (size_t)*cap * sizeof *l->v);
        if (!v) return KC_ENOMEM;
        l->v = v;
    }
    l->v[l->n].id = (uint64_t)id;
    snprintf(l->v[l->n].perm, sizeof l->v[l->n].perm, "%s", json_is_string(perm) ? json_string_value(perm) : "");
    l->v[l->n].sub = sub;
    l->v[l->n].points_centi = points;
    l->v[l->n].section = section;
    l->n++;
    return 0;
}

int exam_layout_parse(const char *items, const char *spec, exam_layout *l)
{
    int cap = 0, rc = 0;
    json_t *a = items ? json_loads(items, 0, NULL) : NULL, *e, *c;
    size_t k, m;
    if (!json_is_array(a)) { json_decref(a); return KC_EINVAL; }
    json_array_foreach(a, k, e) {
        if ((rc = layout_add(l, &cap, json_integer_value(json_object_get(e, "i")), json_object_get(e, "o"), 0,
                             json_integer_value(json_object_get(e, "p")),
                             json_integer_value(json_object_get(e, "s")))))
            break;
        json_array_foreach(json_object_get(e, "c"), m, c)
            if ((rc = layout_add(l, &cap, json_integer_value(json_array_get(c, 0)), json_array_get(c, 1), 1, 0, -1))) break;
        if (rc) break;
    }
    json_decref(a);
    json_t *sp = spec && !rc ? json_loads(spec, 0, NULL) : NULL, *secs = json_object_get(sp, "sections");
    if (json_is_array(secs) && json_array_size(secs)) {
        l->titles = calloc(json_array_size(secs), sizeof *l->titles);
        if (!l->titles) rc = KC_ENOMEM;
        json_array_foreach(secs, k, e) {
            if (rc) break;
            const char *t = json_string_value(json_object_get(e, "title"));
            if (!(l->titles[l->n_titles++] = strdup(t ? t : ""))) rc = KC_ENOMEM;
        }
    }
    json_decref(sp);
    return rc;
}

const char *exam_layout_perm(const exam_layout *l, uint64_t id)
{
    for (int i = 0; i < l->n; i++)
        if (l->v[i].id == id) return l->v[i].perm;
    return "";
}

const char *exam_layout_title(const exam_layout *l, int64_t sec)
{
    return sec >= 0 && sec < l->n_titles ? l->titles[sec] : "";
}

/* ---- the candidate's view ---- */

static json_t *text_of(exam_text_fn text, const void *arg, uint64_t id, const char *html)
{
    return text ? text(arg, id, html) : json_string(html);
}

/* A text as a JSON string literal in a, escaped as the JSON writer does (so a written view
 * reads back as exam_item_view's); NULL when s is NULL (not valid UTF-8), *oom on OOM. */
static const char *literal(json_t *s, kc_arena *a, int *oom)
{
    if (!s) return NULL;
    char *d = json_dumps(s, JSON_ENCODE_ANY | JSON_COMPACT);
    json_decref(s);
    const char *r = d ? kc_arena_strdup(a, d) : NULL;
    free(d);
    if (!r) *oom = 1;
    return r;
}

int exam_view_prepare(const exam_item_row *r, exam_text_fn text, const void *arg, kc_arena *a,
                      exam_view_parts *v)
{
    memset(v, 0, sizeof *v);
    enum bank_item_type *t = &v->info.type;
    int oom = 0;
    if (bank_type_parse(r->type ? r->type : "", t)) { v->why = "unknown item type"; return 0; }
    if (*t == BANK_PRACTICAL) { v->why = "a practical task cannot be delivered in a computer exam"; return 0; }
    const char *stem = r->stem ? literal(text_of(text, arg, r->id, r->stem), a, &oom) : NULL;
    if (oom) return KC_ENOMEM;
    if (!stem) { v->why = "stem is not valid UTF-8"; return 0; }
    v->head = kc_arena_printf(a, "{\"item\":%lld,\"type\":\"%s\",\"stem\":%s", (long long)r->id,
                              bank_type_name(*t), stem);
    if (!v->head) return KC_ENOMEM;
    v->head_len = strlen(v->head);
    if (*t == BANK_SINGLE || *t == BANK_MULTI) {
        json_t *opts = json_loads(r->options ? r->options : "", 0, NULL), *o;
        size_t n = json_is_array(opts) ? json_array_size(opts) : 0, k;
        v->n_opts = (int)n;
        v->opts = n ? kc_arena_alloc(a, n * sizeof *v->opts) : NULL;
        v->opt_len = n ? kc_arena_alloc(a, n * sizeof *v->opt_len) : NULL;
        if (n && (!v->opts || !v->opt_len)) oom = 1;
        /* A text that is not valid UTF-8 (or not a text) stays NULL: such an option cannot
         * be shown, which exam_view_write says once it is asked for. */
        json_array_foreach(opts, k, o)
            if (!oom && json_is_string(o) && n <= BANK_MAX_OPTIONS &&
                (v->opts[k] = literal(text_of(text, arg, r->id, json_string_value(o)), a, &oom)))
                v->opt_len[k] = strlen(v->opts[k]);
        json_decref(opts);
        if (oom) return KC_ENOMEM;
    }
    if (*t == BANK_FILL) {
        kc_arena *fa = kc_arena_new(0);
        bank_blank *blanks;
        char reason[128];
        if (!fa) return KC_ENOMEM;
        if (bank_fill_key_parse(r->key ? r->key : "", fa, &blanks, &v->info.n_blanks, reason, sizeof reason))
            v->why = "its fill key does not parse";
        kc_arena_free(fa);
    }
    return 0;
}

void exam_points_text(int64_t centi, char out[32])
{
    /* Items of a section mostly have the same points: the last one is kept (per thread). */
    static _Thread_local int64_t last = -1;
    static _Thread_local char text[32];
    if (centi != last) {
        /* As jansson writes a real: 17 significant digits, and ".0" when that looks whole. */
        int n = snprintf(text, sizeof text, "%.17g", (double)centi / 100.0);
        if (n > 0 && n < 29 && !strchr(text, '.') && !strchr(text, 'e')) memcpy(text + n, ".0", 3);
        last = centi;
    }
    memcpy(out, text, 32);
}

int exam_view_write(const exam_view_parts *v, const char *perm, int64_t points, kc_buf *b,
                    exam_item_info *info, const char **why)
{
    *info = v->info;
    *why = v->why;
    if (*why) return KC_EINVAL;
    perm = perm ? perm : "";
    enum bank_item_type t = v->info.type;
    size_t n = (size_t)v->n_opts, shown = 0;
    if ((t == BANK_SINGLE || t == BANK_MULTI) && *perm && strlen(perm) != n) {
        *why = "its stored option order does not fit its options";
        return KC_EINVAL;
    }
    size_t mark = b->n;
    char pts[32];
    exam_points_text(points, pts);
    kc_buf_add(b, v->head, v->head_len);
    kc_buf_str(b, ",\"points\":");
    kc_buf_str(b, pts);
    if (t == BANK_SINGLE || t == BANK_MULTI) {
        kc_buf_str(b, ",\"options\":[");
        for (size_t k = 0; n <= BANK_MAX_OPTIONS && k < n; k++) {
            size_t from = *perm ? (size_t)(unsigned char)(perm[k] - 'A') : k;
            const char *text = from < n ? v->opts[from] : NULL;
            if (!text) continue;
            char key[] = ",{\"key\":\"A\",\"text\":";
            key[9] = (char)('A' + k);
            kc_buf_add(b, key + !shown, sizeof key - 1 - !shown);
            kc_buf_add(b, text, v->opt_len[from]);
            kc_buf_add(b, "}", 1);
            shown++;
        }
        kc_buf_str(b, "]");
        info->n_options = (int)shown;
        if (!n || shown != n || n < 2) {
            *why = "options cannot be rendered";
            if (b->p) { b->n = mark; b->p[mark] = 0; }
            return KC_EINVAL;
        }
    }
    if (t == BANK_FILL) kc_buf_printf(b, ",\"blanks\":%d", v->info.n_blanks);
    return 0;
}

int exam_item_view(const exam_item_row *r, exam_text_fn text, const void *arg, json_t **out,
                   exam_item_info *info, const char **why)
{
    *out = NULL;
    *why = NULL;
    memset(info, 0, sizeof *info);
    kc_arena *a = kc_arena_new(0);
    exam_view_parts v;
    kc_buf b = {0};
    int rc = a ? exam_view_prepare(r, text, arg, a, &v) : KC_ENOMEM;
    if (!rc) rc = exam_view_write(&v, r->perm, r->points_centi, &b, info, why);
    if (!rc) {
        kc_buf_str(&b, "}");
        char *s = kc_buf_take(&b);
        if (!(*out = s ? json_loads(s, 0, NULL) : NULL)) rc = KC_ENOMEM;
        free(s);
    }
    if (rc == KC_ENOMEM) *why = "out of memory";
    kc_buf_free(&b);
    kc_arena_free(a);
    return rc;
}

int exam_composite_view(const exam_item_row *r, exam_text_fn text, const void *arg, json_t **out)
{
    *out = json_pack("{s:I, s:s, s:o, s:f, s:[]}", "item", (json_int_t)r->id, "type", r->type,
                     "stem", text_of(text, arg, r->id, r->stem),
                     "points", (double)r->points_centi / 100.0, "children");
    return *out ? 0 : KC_EINVAL;
}

int exam_response_view(enum bank_item_type t, const char *response, json_t **out)
{
    json_t *r;
    if (t == BANK_FILL) {     /* blanks go back as they came: an array */
        r = json_array();
        for (const char *p = response, *sep; r; p = sep + 1) {
            sep = strchr(p, BANK_BLANK_SEP);
            json_array_append_new(r, json_stringn(p, sep ? (size_t)(sep - p) : strlen(p)));
            if (!sep) break;
        }
    } else {
        r = json_string(response);
    }
    *out = r;
    return r ? 0 : KC_ENOMEM;
}

/* ---- points and scoring ---- */

int64_t exam_scale_child(exam_scale *s, uint64_t parent, int64_t own, int64_t whole, int64_t paper)
{
    /* Rounded by the running sum, so the shown points add up to the composite's. */
    if (parent != s->parent) { s->parent = parent; s->cum = 0; }
    int64_t shown = own;
    if (whole > 0) {
        shown = (s->cum + own) * paper / whole - s->cum * paper / whole;
        s->cum += own;
    }
    return shown;
}

int exam_score_response(const char *type, const char *policy, const char *key, const char *perm,
                        const char *response, int own_centi, int *got)
{
    char keyed[BANK_RESPONSE_MAX + 1];
    enum bank_item_type t;
    enum bank_mc_policy mp = BANK_MC_ALL;
    *got = 0;
    bank_mc_policy_parse(policy ? policy : "", &mp);
    if (!type || bank_type_parse(type, &t) ||
        bank_response_unshuffle(t, perm, response, keyed, sizeof keyed))
        return KC_EINVAL;
    int s = bank_score(t, key, mp, keyed, own_centi);
    *got = s > 0 ? s : 0;
    return 0;
}

static void tally_close(exam_tally *t)
{
    if (t->group && t->whole > 0) t->total += t->raw * t->paper / t->whole;
    t->group = 0;
    t->raw = 0;
}

void exam_tally_add(exam_tally *t, uint64_t group, int64_t paper, int64_t whole, int got)
{
    if (group != t->group) {       /* a composite ends: scale its sum once */
        tally_close(t);
        t->group = group;
        t->paper = paper;
        t->whole = whole;
    }
    if (got > 0) {
        if (group) t->raw += got;
        else t->total += got;
    }
}

int64_t exam_tally_total(exam_tally *t)
{
    tally_close(t);
    return t->total;
}

/* ---- time ---- */

int exam_start_deadline(int64_t now, int64_t opens, int64_t closes, int64_t duration_s,
                        int64_t extra_s, int64_t *deadline)
{
    if (now < opens || now >= closes) return KC_EINVAL;
    int64_t d = now + (duration_s + extra_s) * 1000;
    *deadline = d > closes ? closes : d;
    return 0;
}

int64_t exam_submit_at(int64_t now, int64_t deadline, int *late)
{
    *late = now >= deadline;
    return *late ? deadline : now;
}

/* ---- a whole paper, rendered once ---- */

/* An item of the paper as the candidate sees it, appended to b without its closing brace;
 * KC_EINVAL with *why and *bad. */
static int render_item(const exam_src_item *src, const exam_layout *lay, const char *perm,
                       int64_t points, kc_buf *b, exam_paper_build *pb, const char **why,
                       uint64_t *bad)
{
    exam_item_info info;
    *bad = src->id;
    if (src->view.why || src->view.info.type != BANK_COMPOSITE) {
        int rc = exam_view_write(&src->view, perm, points, b, &info, why);
        if (!rc && exam_paper_add(pb, src->id, &info)) { *why = "out of memory"; rc = KC_ENOMEM; }
        return rc;
    }
    char pts[32];
    exam_points_text(points, pts);
    kc_buf_add(b, src->view.head, src->view.head_len);
    kc_buf_printf(b, ",\"points\":%s,\"children\":[", pts);
    exam_scale scale = {0};
    for (int k = 0; k < src->n_children; k++) {
        const exam_src_item *c = src->children[k];
        /* Scaled to what the paper gives the composite; the shown points add up to it. */
        int64_t shown = exam_scale_child(&scale, src->id, c->points_centi, src->points_centi, points);
        *bad = c->id;
        if (k) kc_buf_str(b, ",");
        int rc = exam_view_write(&c->view, exam_layout_perm(lay, c->id), shown, b, &info, why);
        if (!rc && info.type == BANK_COMPOSITE) { rc = KC_EINVAL; *why = "a sub-item cannot be a composite"; }
        if (!rc && exam_paper_add(pb, c->id, &info)) { rc = KC_ENOMEM; *why = "out of memory"; }
        if (rc) return rc;
        kc_buf_str(b, "}");
    }
    kc_buf_str(b, "]");
    return 0;
}

int exam_paper_render(const exam_layout *lay, const char *title, exam_src_find find,
                      const void *arg, kc_buf *out, size_t *len, srv_paper **check,
                      const char **why, uint64_t *bad_item)
{
    *len = 0;
    *check = NULL;
    *why = NULL;
    *bad_item = 0;
    kc_arena *a = kc_arena_new(2048);      /* the title and the section titles as JSON */
    exam_paper_build pb = {0};
    kc_buf *b = out;
    size_t start = out->n;
    int oom = 0, rc = 0;
    const char *t = a ? literal(json_string(title ? title : ""), a, &oom) : NULL;
    if (!a || oom || exam_paper_begin(&pb, 0)) rc = KC_ENOMEM;
    else if (!t) { rc = KC_EINVAL; *why = "the title is not valid UTF-8"; }
    /* Section titles as JSON text, each escaped once for the paper. */
    const char **secs = !rc && lay->n_titles ? kc_arena_alloc(a, (size_t)lay->n_titles * sizeof *secs) : NULL;
    if (!rc && lay->n_titles && !secs) rc = KC_ENOMEM;
    /* The points, and about how long the paper's text is (one buffer, no copies growing). */
    int64_t total = 0;
    size_t guess = 256;
    for (int k = 0; k < lay->n; k++) {
        const exam_layout_entry *e = &lay->v[k];
        const exam_src_item *src = e->sub || !e->id ? NULL : find(arg, e->id);
        total += e->sub ? 0 : e->points_centi;
        for (int c = -1; src && c < src->n_children; c++) {
            const exam_view_parts *v = c < 0 ? &src->view : &src->children[c]->view;
            guess += v->head_len + 96;
            for (int o = 0; o < v->n_opts; o++) guess += v->opt_len && v->opts[o] ? v->opt_len[o] + 24 : 0;
        }
    }
    kc_buf_reserve(b, guess);
    char pts[32];
    exam_points_text(total, pts);
    if (!rc) {
        kc_buf_str(b, "{\"title\":");
        kc_buf_str(b, t);
        kc_buf_printf(b, ",\"total_points\":%s,\"items\":[", pts);
    }
    int64_t no = 0;
    for (int k = 0; k < lay->n && !rc; k++) {
        const exam_layout_entry *e = &lay->v[k];
        if (e->sub) continue;
        const exam_src_item *src = e->id ? find(arg, e->id) : NULL;
        if (!src) {
            *bad_item = e->id;
            *why = "the item is not in the bank";
            rc = KC_EINVAL;
            break;
        }
        if (no++) kc_buf_str(b, ",");
        if ((rc = render_item(src, lay, e->perm, e->points_centi, b, &pb, why, bad_item))) break;
        const char *sec = "\"\"";
        if (e->section >= 0 && e->section < lay->n_titles) {
            if (!secs[e->section]) secs[e->section] = literal(json_string(lay->titles[e->section]), a, &oom);
            sec = secs[e->section] ? secs[e->section] : "\"\"";
        }
        char num[48] = ",\"no\":", *d = num + 6, digits[24];
        int nd = 0;
        for (int64_t x = no; x; x /= 10) digits[nd++] = (char)('0' + x % 10);
        while (nd) *d++ = digits[--nd];
        memcpy(d, ",\"section\":", 12);
        kc_buf_str(b, num);
        kc_buf_str(b, sec);
        kc_buf_str(b, "}");
        if (oom) rc = KC_ENOMEM;
    }
    kc_buf_str(b, "]}");
    if (!rc && b->oom) rc = KC_ENOMEM;
    if (!rc) rc = exam_paper_finish(&pb, check);
    if (!rc) *len = b->n - start;
    else if (b->p && !b->oom) { b->n = start; b->p[start] = 0; }
    if (rc == KC_ENOMEM) *why = "out of memory";
    if (!rc) *bad_item = 0;
    exam_paper_abort(&pb);
    kc_arena_free(a);
    return rc;
}

void exam_paper_hash(const char *text, size_t len, char out[65])
{
    unsigned char h[32];
    unsigned int n = 32;
    EVP_Digest(text, len, h, &n, EVP_sha256(), NULL);
    kc_hex(h, 32, out);
}

int exam_paper_hash_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f'))) return 0;
    return n == 64;
}

char *exam_check_encode(const srv_paper *p)
{
    kc_buf b = {0};
    kc_buf_add(&b, "", 0);
    for (int i = 0; i < p->n; i++)
        kc_buf_printf(&b, "%llu,%u,%u,%u;", (unsigned long long)p->item_ids[i], p->types[i],
                      p->n_options[i], p->n_blanks[i]);
    return kc_buf_take(&b);
}

/* One unsigned decimal number up to max, then the separator sep; NULL when it is not. */
static const char *check_number(const char *s, uint64_t max, char sep, uint64_t *v)
{
    uint64_t x = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (d > max || x > (max - d) / 10) return NULL;
        x = x * 10 + (uint64_t)(*p - '0');
    }
    if (p == s || *p != sep || (*s == '0' && p - s > 1)) return NULL;
    *v = x;
    return p + 1;
}

int exam_check_decode(const char *s, uint64_t attempt_id, srv_paper **out)
{
    *out = NULL;
    exam_paper_build pb = {0};
    if (exam_paper_begin(&pb, attempt_id)) return KC_ENOMEM;
    uint64_t last = 0;
    while (s && *s) {
        uint64_t id, type, nopt, nblank;
        /* Only types a candidate answers: never a composite or a practical task. */
        if (!(s = check_number(s, UINT64_MAX, ',', &id)) || !(s = check_number(s, BANK_TYPE_MAX, ',', &type)) ||
            !(s = check_number(s, BANK_MAX_OPTIONS, ',', &nopt)) ||
            !(s = check_number(s, BANK_MAX_BLANKS, ';', &nblank)) || id <= last ||
            type < BANK_SINGLE || type == BANK_COMPOSITE || type == BANK_PRACTICAL) {
            exam_paper_abort(&pb);
            return KC_EINVAL;
        }
        last = id;
        const exam_item_info info = {(enum bank_item_type)type, (int)nopt, (int)nblank};
        if (exam_paper_add(&pb, id, &info)) { exam_paper_abort(&pb); return KC_ENOMEM; }
    }
    if (!s) { exam_paper_abort(&pb); return KC_EINVAL; }
    return exam_paper_finish(&pb, out);
}

srv_paper *exam_paper_copy(const srv_paper *p)
{
    /* Through the builder, so the copy has everything a built paper has (sorted already). */
    exam_paper_build b = {0};
    srv_paper *c = NULL;
    int rc = exam_paper_begin(&b, p->attempt_id);
    for (int i = 0; i < p->n && !rc; i++) {
        const exam_item_info info = {(enum bank_item_type)p->types[i], p->n_options[i], p->n_blanks[i]};
        rc = exam_paper_add(&b, p->item_ids[i], &info);
    }
    if (!rc) rc = exam_paper_finish(&b, &c);
    exam_paper_abort(&b);
    return rc ? NULL : c;
}

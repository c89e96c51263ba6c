/* The exam's rules without the database or the transport (exam_logic.h): srv_exam.c reads
 * the rows and calls these. No SQL, no libwebsockets. */
#include "exam.h"

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

static int layout_add(exam_layout *l, int *cap, json_int_t id, json_t *perm)
{
    if (l->n == *cap) {
        *cap = *cap ? *cap * 2 : 128;
        void *v = realloc(l->v, (size_t)*cap * sizeof *l->v);
        if (!v) return KC_ENOMEM;
        l->v = v;
    }
    l->v[l->n].id = (uint64_t)id;
    snprintf(l->v[l->n].perm, sizeof l->v[l->n].perm, "%s", json_is_string(perm) ? json_string_value(perm) : "");
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
        if ((rc = layout_add(l, &cap, json_integer_value(json_object_get(e, "i")), json_object_get(e, "o")))) break;
        json_array_foreach(json_object_get(e, "c"), m, c)
            if ((rc = layout_add(l, &cap, json_integer_value(json_array_get(c, 0)), json_array_get(c, 1)))) break;
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

int exam_item_view(const exam_item_row *r, exam_text_fn text, const void *arg, json_t **out,
                   exam_item_info *info, const char **why)
{
    *out = NULL;
    *why = NULL;
    memset(info, 0, sizeof *info);
    const char *perm = r->perm ? r->perm : "";
    enum bank_item_type *t = &info->type;
    int rc = KC_EINVAL;
    json_t *o = NULL, *opts = NULL;
    if (bank_type_parse(r->type, t)) *why = "unknown item type";
    else if (*t == BANK_PRACTICAL) *why = "a practical task cannot be delivered in a computer exam";
    if (!*why) o = json_pack("{s:I, s:s, s:o, s:f}", "item", (json_int_t)r->id, "type", r->type,
                             "stem", text_of(text, arg, r->id, r->stem),
                             "points", (double)r->points_centi / 100.0);
    if (!*why && !o) *why = "stem is not valid UTF-8";
    if (!*why && (*t == BANK_SINGLE || *t == BANK_MULTI)) {
        opts = json_loads(r->options ? r->options : "", 0, NULL);
        json_t *view = json_array(), *v;
        size_t n = json_is_array(opts) ? json_array_size(opts) : 0;
        if (!view) { *why = "out of memory"; rc = KC_ENOMEM; }
        else if (*perm && strlen(perm) != n) *why = "its stored option order does not fit its options";
        for (size_t k = 0; !*why && n <= BANK_MAX_OPTIONS && k < n; k++) {
            size_t from = *perm ? (size_t)(perm[k] - 'A') : k;
            v = from < n ? json_array_get(opts, from) : NULL;
            char letter[2] = {(char)('A' + k), 0};
            json_t *ov = json_is_string(v) ? json_pack("{s:s, s:o}", "key", letter, "text",
                                                       text_of(text, arg, r->id, json_string_value(v)))
                                           : NULL;
            if (ov) json_array_append_new(view, ov);
        }
        if (!*why && (!n || json_array_size(view) != n || n < 2)) *why = "options cannot be rendered";
        info->n_options = (int)json_array_size(view);
        json_object_set_new(o, "options", view);
    }
    if (!*why && *t == BANK_FILL) {
        kc_arena *a = kc_arena_new(0);
        bank_blank *blanks;
        char reason[128];
        if (!a) { *why = "out of memory"; rc = KC_ENOMEM; }
        else if (bank_fill_key_parse(r->key ? r->key : "", a, &blanks, &info->n_blanks, reason,
                                     sizeof reason))
            *why = "its fill key does not parse";
        else
            json_object_set_new(o, "blanks", json_integer(info->n_blanks));
        kc_arena_free(a);
    }
    json_decref(opts);
    if (*why) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return 0;
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

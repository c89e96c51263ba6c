/* A paper rendered once, when its session is prepared (server/exam: exam_paper_render, the
 * answer-check text, the hash) and the bounded cache the exam workers serve it from
 * (exam_cache.c): no database. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/exam/exam.h"

/* ---- a small bank ---- */

/* The rows as stored (with the composite's sub-items), prepared once as the renderer's
 * loader does. */
static const exam_item_row ROWS[] = {
    {11, "single", "<p>HTTPS 默认端口？</p>", "[\"22\",\"443\",\"80\",\"8080\"]", "B", "", 100},
    {12, "fill", "____ 与 ____", "", "TCP|num:443", "", 400},
    {13, "tf", "对还是错", "", "T", "", 100},
    {30, "composite", "阅读材料", "", "", "", 300},
    {40, "practical", "上机操作", "", "", "", 1000},
    {41, "single", "坏选项", "[\"x\",\"y\",\"z\"]", "A", "", 100},
    {31, "single", "子题一", "[\"甲\",\"乙\"]", "A", "", 100},
    {32, "tf", "子题二", "", "T", "", 200},
};
#define NROWS (sizeof ROWS / sizeof *ROWS)
static exam_src_item BANK[NROWS];
static const exam_src_item *KIDS[2];
static kc_arena *BA;

static void bank_setup(void)
{
    BA = kc_arena_new(0);
    cr_assert_not_null(BA);
    for (size_t i = 0; i < NROWS; i++) {
        BANK[i] = (exam_src_item){ROWS[i].id, ROWS[i].points_centi, {0}, 0, NULL};
        cr_assert_eq(exam_view_prepare(&ROWS[i], NULL, NULL, BA, &BANK[i].view), 0);
    }
    KIDS[0] = &BANK[6];
    KIDS[1] = &BANK[7];
    BANK[3].n_children = 2;
    BANK[3].children = KIDS;
}

static void bank_teardown(void) { kc_arena_free(BA); }

/* Items, not sub-items, are found by id. */
static const exam_src_item *find(const void *arg, uint64_t id)
{
    (void)arg;
    for (size_t i = 0; i < 6; i++)
        if (BANK[i].id == id) return &BANK[i];
    return NULL;
}

/* Sections: 0 single, 1 fill and tf, 2 the case; the composite is worth 10 points here, so
 * its sub-items (1 + 2 of their own) are shown at 3.33 and 6.67. */
static const char ITEMS[] =
    "[{\"i\":11,\"p\":200,\"s\":0,\"o\":\"CADB\"},"
    "{\"i\":12,\"p\":400,\"s\":1},"
    "{\"i\":13,\"p\":100,\"s\":1},"
    "{\"i\":30,\"p\":1000,\"s\":2,\"c\":[[31,\"BA\"],[32,\"\"]]}]";
static const char SPEC[] =
    "{\"sections\":[{\"title\":\"一、单项选择题\"},{\"title\":\"二、其他\"},{\"title\":\"三、案例\"}]}";

struct rendered {
    char *json;
    size_t len;
    srv_paper *check;
};

static int render(const char *items, const char *title, struct rendered *r, const char **why,
                  uint64_t *bad)
{
    exam_layout l = {0};
    cr_assert_eq(exam_layout_parse(items, SPEC, &l), 0);
    kc_buf b = {0};
    int rc = exam_paper_render(&l, title, find, NULL, &b, &r->len, &r->check, why, bad);
    r->json = rc ? NULL : kc_buf_take(&b);
    kc_buf_free(&b);
    exam_layout_free(&l);
    return rc;
}

static void rendered_free(struct rendered *r)
{
    free(r->json);
    srv_paper_free(r->check);
}

/* ---- rendering ---- */

Test(render, the_paper_object_in_the_order_shown_without_keys, .init = bank_setup, .fini = bank_teardown)
{
    struct rendered r;
    const char *why = "?";
    uint64_t bad = 9;
    cr_assert_eq(render(ITEMS, "理论知识试卷", &r, &why, &bad), 0, "%s", why);
    cr_assert_null(why);
    cr_assert_eq(bad, 0);
    cr_assert_eq(r.len, strlen(r.json));
    json_error_t je;
    json_t *o = json_loads(r.json, 0, &je);
    cr_assert_not_null(o, "%s", je.text);
    /* exactly the three members of the `paper` object, in order */
    static const char head[] = "{\"title\":\"理论知识试卷\",\"total_points\":17.0,\"items\":[";
    cr_assert_eq(strncmp(r.json, head, strlen(head)), 0, "%s", r.json);
    json_t *items = json_object_get(o, "items");
    cr_assert_eq(json_array_size(items), 4);
    static const char *const titles[] = {"一、单项选择题", "二、其他", "二、其他", "三、案例"};
    static const json_int_t ids[] = {11, 12, 13, 30};
    for (size_t k = 0; k < 4; k++) {
        json_t *it = json_array_get(items, k);
        cr_expect_eq(json_integer_value(json_object_get(it, "item")), ids[k]);
        cr_expect_eq(json_integer_value(json_object_get(it, "no")), (json_int_t)k + 1);
        cr_expect_str_eq(json_string_value(json_object_get(it, "section")), titles[k]);
    }
    /* options in the stored order CADB, keyed as shown: 443 (the key) is D */
    json_t *opts = json_object_get(json_array_get(items, 0), "options");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(opts, 3), "text")), "443");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(opts, 3), "key")), "D");
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(items, 1), "blanks")), 2);
    /* the case's sub-items at the paper's 10 points, in order, options as stored (BA) */
    json_t *kids = json_object_get(json_array_get(items, 3), "children");
    cr_assert_eq(json_array_size(kids), 2);
    cr_assert_float_eq(json_real_value(json_object_get(json_array_get(kids, 0), "points")), 3.33, 1e-9);
    cr_assert_float_eq(json_real_value(json_object_get(json_array_get(kids, 1), "points")), 6.67, 1e-9);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(
                         json_object_get(json_array_get(kids, 0), "options"), 0), "text")), "乙");
    /* never a key or a scoring rule */
    for (const char *f = "answer\0key_\0explanation\0mc_policy\0num:443\0TCP|\0"; *f; f += strlen(f) + 1)
        cr_expect_null(strstr(r.json, f), "%s in %s", f, r.json);
    /* what the service thread checks: the answerable items by id, never the composite */
    cr_assert_eq(r.check->n, 5);
    static const uint64_t check_ids[] = {11, 12, 13, 31, 32};
    static const unsigned char types[] = {BANK_SINGLE, BANK_FILL, BANK_TF, BANK_SINGLE, BANK_TF};
    for (int k = 0; k < 5; k++) {
        cr_expect_eq(r.check->item_ids[k], check_ids[k]);
        cr_expect_eq(r.check->types[k], types[k]);
    }
    cr_assert_eq(r.check->n_options[0], 4);
    cr_assert_eq(r.check->n_blanks[1], 2);
    cr_assert_eq(r.check->n_options[3], 2);
    json_decref(o);
    rendered_free(&r);
}

Test(render, the_same_paper_renders_to_the_same_bytes_and_hash, .init = bank_setup, .fini = bank_teardown)
{
    struct rendered a, b;
    const char *why;
    uint64_t bad;
    cr_assert_eq(render(ITEMS, "卷", &a, &why, &bad), 0);
    cr_assert_eq(render(ITEMS, "卷", &b, &why, &bad), 0);
    cr_assert_eq(a.len, b.len);
    cr_assert_eq(memcmp(a.json, b.json, a.len), 0);
    char ha[65], hb[65], hc[65];
    exam_paper_hash(a.json, a.len, ha);
    exam_paper_hash(b.json, b.len, hb);
    cr_assert_str_eq(ha, hb);
    cr_assert(exam_paper_hash_ok(ha));
    rendered_free(&b);
    /* another title is another paper */
    cr_assert_eq(render(ITEMS, "另一卷", &b, &why, &bad), 0);
    exam_paper_hash(b.json, b.len, hc);
    cr_assert_str_neq(ha, hc);
    rendered_free(&a);
    rendered_free(&b);
}

Test(render, a_missing_or_undeliverable_item_fails_the_paper_naming_it, .init = bank_setup, .fini = bank_teardown)
{
    struct rendered r = {(char *)1, 1, (srv_paper *)1};
    const char *why = NULL;
    uint64_t bad = 0;
    cr_assert_eq(render("[{\"i\":11,\"p\":100,\"s\":0},{\"i\":99,\"p\":100,\"s\":0}]", "t", &r, &why, &bad), KC_EINVAL);
    cr_assert_str_eq(why, "the item is not in the bank");
    cr_assert_eq(bad, 99);
    cr_assert_null(r.json);
    cr_assert_null(r.check);
    cr_assert_eq(render("[{\"i\":40,\"p\":100,\"s\":0}]", "t", &r, &why, &bad), KC_EINVAL);
    cr_assert_str_eq(why, "a practical task cannot be delivered in a computer exam");
    cr_assert_eq(bad, 40);
    /* a stored order of 4 letters for an item of 3 options */
    cr_assert_eq(render("[{\"i\":41,\"p\":100,\"s\":0,\"o\":\"BADC\"}]", "t", &r, &why, &bad), KC_EINVAL);
    cr_assert_str_eq(why, "its stored option order does not fit its options");
    cr_assert_eq(bad, 41);
    /* a sub-item's stored order that does not fit names the sub-item */
    cr_assert_eq(render("[{\"i\":30,\"p\":300,\"s\":0,\"c\":[[31,\"CBA\"]]}]", "t", &r, &why, &bad), KC_EINVAL);
    cr_assert_eq(bad, 31);
    cr_assert_null(r.json);
}

Test(render, an_empty_paper_is_a_paper, .init = bank_setup, .fini = bank_teardown)
{
    exam_layout l = {0};
    kc_buf b = {0};
    size_t len = 1;
    srv_paper *check = (srv_paper *)1;
    const char *why = NULL;
    uint64_t bad = 5;
    cr_assert_eq(exam_layout_parse("[]", SPEC, &l), 0);
    cr_assert_eq(exam_paper_render(&l, "空", find, NULL, &b, &len, &check, &why, &bad), 0);
    cr_assert_str_eq(b.p, "{\"title\":\"空\",\"total_points\":0.0,\"items\":[]}");
    cr_assert_eq(len, strlen(b.p));
    cr_assert_eq(check->n, 0);
    cr_assert_eq(bad, 0);
    srv_paper_free(check);
    /* a title that is not UTF-8 cannot go into a paper, and leaves the buffer as it was */
    size_t before = b.n;
    cr_assert_eq(exam_paper_render(&l, "\xff", find, NULL, &b, &len, &check, &why, &bad), KC_EINVAL);
    cr_assert_str_eq(why, "the title is not valid UTF-8");
    cr_assert_eq(b.n, before);
    cr_assert_null(check);
    exam_layout_free(&l);
    kc_buf_free(&b);
}

/* Papers of a page share one buffer: each is appended, a failed one leaves nothing. */
Test(render, papers_append_to_one_buffer, .init = bank_setup, .fini = bank_teardown)
{
    exam_layout l1 = {0}, l2 = {0};
    cr_assert_eq(exam_layout_parse(ITEMS, SPEC, &l1), 0);
    cr_assert_eq(exam_layout_parse("[{\"i\":40,\"p\":100,\"s\":0}]", SPEC, &l2), 0);
    kc_buf b = {0};
    size_t len1, len2;
    srv_paper *c1, *c2;
    const char *why;
    uint64_t bad;
    cr_assert_eq(exam_paper_render(&l1, "卷", find, NULL, &b, &len1, &c1, &why, &bad), 0);
    kc_buf_add(&b, "", 1);
    size_t mark = b.n;
    cr_assert_eq(exam_paper_render(&l2, "卷", find, NULL, &b, &len2, &c2, &why, &bad), KC_EINVAL);
    cr_assert_eq(b.n, mark);
    cr_assert_eq(exam_paper_render(&l1, "卷", find, NULL, &b, &len2, &c2, &why, &bad), 0);
    cr_assert_eq(len1, len2);
    cr_assert_eq(memcmp(b.p, b.p + mark, len1), 0);
    cr_assert_eq(strlen(b.p), len1);
    srv_paper_free(c1);
    srv_paper_free(c2);
    kc_buf_free(&b);
    exam_layout_free(&l1);
    exam_layout_free(&l2);
}

/* What the renderer writes for an item is what exam_item_view gives, for every row and
 * option order: the same JSON, byte for byte. */
Test(render, written_views_are_exam_item_view_byte_for_byte, .init = bank_setup, .fini = bank_teardown)
{
    static const char *const perms[] = {"", "CADB", "BA", "DCBA", "CAB", "ABCD"};
    for (size_t i = 0; i < NROWS; i++) {
        for (size_t k = 0; k < sizeof perms / sizeof *perms; k++) {
            exam_item_row r = ROWS[i];
            r.perm = perms[k];
            r.points_centi = 333;
            json_t *o = NULL;
            exam_item_info vi, wi;
            const char *vwhy = NULL, *wwhy = NULL;
            int vrc = exam_item_view(&r, NULL, NULL, &o, &vi, &vwhy);
            kc_buf b = {0};
            kc_buf_add(&b, "", 0);
            int wrc = exam_view_write(&BANK[i].view, perms[k], 333, &b, &wi, &wwhy);
            cr_assert_eq(vrc, wrc, "item %zu perm %s", i, perms[k]);
            if (vrc) {
                cr_assert_str_eq(vwhy, wwhy);
                cr_assert_str_eq(b.p, "", "a refused item leaves nothing behind");
            } else {
                kc_buf_str(&b, "}");
                char *d = json_dumps(o, JSON_COMPACT);
                cr_assert_str_eq(b.p, d, "item %zu perm %s", i, perms[k]);
                cr_assert_eq(vi.type, wi.type);
                cr_assert_eq(vi.n_options, wi.n_options);
                cr_assert_eq(vi.n_blanks, wi.n_blanks);
                free(d);
            }
            json_decref(o);
            kc_buf_free(&b);
        }
    }
}

Test(render, points_are_spelled_as_the_json_writer_spells_reals)
{
    for (int64_t c = 0; c <= 200000; c += c < 1000 ? 1 : 7) {
        char mine[32];
        exam_points_text(c, mine);
        json_t *v = json_real((double)c / 100.0);
        char *ref = json_dumps(v, JSON_ENCODE_ANY);
        cr_assert_str_eq(mine, ref, "%lld", (long long)c);
        free(ref);
        json_decref(v);
    }
}

/* ---- the hash ---- */

Test(render, the_hash_is_sha256_in_lower_case_hex, .init = bank_setup, .fini = bank_teardown)
{
    char h[65];
    exam_paper_hash("abc", 3, h);
    cr_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    cr_assert(exam_paper_hash_ok(h));
    cr_assert_not(exam_paper_hash_ok(""));
    cr_assert_not(exam_paper_hash_ok("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
    cr_assert_not(exam_paper_hash_ok("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a"));
    cr_assert_not(exam_paper_hash_ok("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015add"));
    cr_assert_not(exam_paper_hash_ok("ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
}

/* ---- the answer-check text ---- */

Test(render, answer_check_text_round_trips, .init = bank_setup, .fini = bank_teardown)
{
    struct rendered r;
    const char *why;
    uint64_t bad;
    cr_assert_eq(render(ITEMS, "卷", &r, &why, &bad), 0);
    char *text = exam_check_encode(r.check);
    cr_assert_not_null(text);
    cr_assert_str_eq(text, "11,1,4,0;12,4,0,2;13,3,0,0;31,1,2,0;32,3,0,0;");
    srv_paper *p = NULL;
    cr_assert_eq(exam_check_decode(text, 77, &p), 0);
    cr_assert_eq(p->attempt_id, 77);
    cr_assert_eq(p->n, r.check->n);
    cr_assert_eq(memcmp(p->item_ids, r.check->item_ids, (size_t)p->n * sizeof *p->item_ids), 0);
    cr_assert_eq(memcmp(p->types, r.check->types, (size_t)p->n), 0);
    cr_assert_eq(memcmp(p->n_options, r.check->n_options, (size_t)p->n), 0);
    cr_assert_eq(memcmp(p->n_blanks, r.check->n_blanks, (size_t)p->n), 0);
    cr_assert_eq(srv_paper_find(p, 31), 3);
    srv_paper *c = exam_paper_copy(p);
    cr_assert_not_null(c);
    cr_assert_eq(c->n, 5);
    cr_assert_eq(c->item_ids[4], 32);
    cr_assert_eq(c->attempt_id, 77);
    srv_paper_free(c);
    srv_paper_free(p);
    free(text);
    rendered_free(&r);
    /* an empty paper */
    cr_assert_eq(exam_check_decode("", 1, &p), 0);
    cr_assert_eq(p->n, 0);
    srv_paper_free(p);
}

Test(render, answer_check_text_that_was_not_written_by_encode_is_refused, .init = bank_setup, .fini = bank_teardown)
{
    const char *bad[] = {
        "11,1,4,0",                     /* no ';' */
        "11,1,4;",                      /* a field missing */
        "12,1,4,0;11,1,4,0;",           /* not ascending */
        "11,1,4,0;11,1,4,0;",           /* twice */
        "0,1,4,0;",                     /* no item 0 */
        "11,7,0,0;",                    /* a composite is never answered */
        "11,8,0,0;",                    /* nor a practical task */
        "11,9,0,0;", "11,0,0,0;",       /* no such type */
        "11,1,9,0;",                    /* more than 8 options */
        "11,4,0,21;",                   /* more than 20 blanks */
        "011,1,4,0;",                   /* one spelling per number */
        "18446744073709551616,1,4,0;",  /* beyond 64 bits */
        "11,1,4,0;x", " 11,1,4,0;", "11,1,-4,0;", "11,1,4,0;;",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        srv_paper *p = (srv_paper *)1;
        cr_expect_eq(exam_check_decode(bad[i], 1, &p), KC_EINVAL, "accepted: %s", bad[i]);
        cr_expect_null(p, "%s", bad[i]);
    }
    srv_paper *p = (srv_paper *)1;
    cr_assert_eq(exam_check_decode(NULL, 1, &p), KC_EINVAL);
    cr_assert_eq(exam_check_decode("18446744073709551615,6,0,0;", 1, &p), 0);   /* the largest id */
    cr_assert_eq(p->item_ids[0], UINT64_MAX);
    srv_paper_free(p);
}

/* ---- the cache ---- */

/* A rendered paper of about size bytes of JSON. */
static exam_rendered *paper_of(uint64_t attempt, size_t size, char tag)
{
    char *json = malloc(size + 1);
    cr_assert_not_null(json);
    memset(json, tag, size);
    json[size] = 0;
    srv_paper *check = NULL;
    cr_assert_eq(exam_check_decode("5,1,4,0;", attempt, &check), 0);
    char hash[65];
    exam_paper_hash(json, size, hash);
    exam_rendered *r = exam_rendered_new(attempt, hash, json, size, check);
    cr_assert_not_null(r);
    return r;
}

static int cached(exam_cache *c, uint64_t attempt)
{
    exam_rendered *r = exam_cache_get(c, attempt);
    exam_rendered_release(r);
    return r != NULL;
}

Test(cache, a_cached_paper_comes_back_with_its_hash_json_and_check)
{
    exam_cache *c = exam_cache_new(1 << 20);
    exam_rendered *r = paper_of(7, 1000, 'a');
    cr_assert_eq(exam_cache_put(c, r), 1);
    exam_rendered *g = exam_cache_get(c, 7);
    cr_assert_eq(g, r);
    cr_assert_str_eq(g->hash, r->hash);
    cr_assert_eq(g->json_len, 1000);
    cr_assert_eq(g->check->item_ids[0], 5);
    cr_assert_null(exam_cache_get(c, 8));
    exam_rendered_release(g);
    exam_rendered_release(r);
    exam_cache_stats s;
    exam_cache_stats_get(c, &s);
    cr_assert_eq(s.entries, 1);
    cr_assert_eq(s.hits, 1);
    cr_assert_eq(s.misses, 1);
    cr_assert_geq(s.bytes, 1000);
    cr_assert_leq(s.bytes, s.cap);
    exam_cache_free(c);
}

Test(cache, it_never_holds_more_than_its_bound_and_drops_the_least_recently_used)
{
    /* room for three papers of 10 kB, not four */
    exam_cache *c = exam_cache_new(3 * 10000 + 3 * 1024);
    for (uint64_t a = 1; a <= 3; a++) {
        exam_rendered *r = paper_of(a, 10000, 'x');
        cr_assert_eq(exam_cache_put(c, r), 1);
        exam_rendered_release(r);
    }
    cr_assert(cached(c, 1));             /* 1 is now the most recently used: 2 goes first */
    exam_rendered *r4 = paper_of(4, 10000, 'y');
    cr_assert_eq(exam_cache_put(c, r4), 1);
    exam_rendered_release(r4);
    cr_assert_not(cached(c, 2));
    cr_assert(cached(c, 1));
    cr_assert(cached(c, 3));
    cr_assert(cached(c, 4));
    exam_cache_stats s;
    exam_cache_stats_get(c, &s);
    cr_assert_eq(s.entries, 3);
    cr_assert_eq(s.evictions, 1);
    cr_assert_leq(s.bytes, s.cap);
    /* a larger paper pushes out as many as it needs, oldest first: 1 and 3 (4 was used last) */
    cr_assert(cached(c, 4));
    exam_rendered *big = paper_of(5, 20000, 'z');
    cr_assert_eq(exam_cache_put(c, big), 1);
    exam_rendered_release(big);
    cr_assert_not(cached(c, 1));
    cr_assert_not(cached(c, 3));
    cr_assert(cached(c, 4));
    cr_assert(cached(c, 5));
    exam_cache_stats_get(c, &s);
    cr_assert_leq(s.bytes, s.cap);
    cr_assert_eq(s.evictions, 3);
    exam_cache_free(c);
}

Test(cache, a_paper_larger_than_the_cache_is_not_cached_and_changes_nothing)
{
    exam_cache *c = exam_cache_new(50000);
    exam_rendered *small = paper_of(1, 1000, 's'), *huge = paper_of(2, 60000, 'h');
    cr_assert_eq(exam_cache_put(c, small), 1);
    cr_assert_eq(exam_cache_put(c, huge), 0);
    cr_assert(cached(c, 1));
    cr_assert_not(cached(c, 2));
    exam_cache_stats s;
    exam_cache_stats_get(c, &s);
    cr_assert_eq(s.too_big, 1);
    cr_assert_eq(s.entries, 1);
    /* still the caller's to use and release */
    cr_assert_eq(huge->json_len, 60000);
    exam_rendered_release(huge);
    exam_rendered_release(small);
    /* a cache of 0 bytes holds nothing */
    exam_cache *none = exam_cache_new(0);
    exam_rendered *r = paper_of(3, 10, 'n');
    cr_assert_eq(exam_cache_put(none, r), 0);
    cr_assert_not(cached(none, 3));
    exam_rendered_release(r);
    exam_cache_free(none);
    exam_cache_free(c);
}

Test(cache, a_new_rendering_replaces_the_old_while_the_old_stays_readable)
{
    exam_cache *c = exam_cache_new(1 << 20);
    exam_rendered *old = paper_of(9, 500, 'o');
    cr_assert_eq(exam_cache_put(c, old), 1);
    exam_rendered *held = exam_cache_get(c, 9);      /* a worker splicing it into a reply */
    exam_rendered *fresh = paper_of(9, 700, 'f');
    cr_assert_str_neq(old->hash, fresh->hash);
    cr_assert_eq(exam_cache_put(c, fresh), 1);
    exam_rendered *now = exam_cache_get(c, 9);
    cr_assert_eq(now, fresh);
    exam_cache_stats s;
    exam_cache_stats_get(c, &s);
    cr_assert_eq(s.entries, 1);
    cr_assert_lt(s.bytes, 700 + 1024);
    /* the old one is gone from the cache, not from its holder (ASan checks the reads) */
    cr_assert_eq(held->json[499], 'o');
    cr_assert_eq(held->json_len, 500);
    exam_rendered_release(held);
    exam_rendered_release(old);
    /* putting the cached paper again only marks it used */
    cr_assert_eq(exam_cache_put(c, fresh), 1);
    exam_cache_stats_get(c, &s);
    cr_assert_eq(s.entries, 1);
    exam_rendered_release(now);
    exam_rendered_release(fresh);
    /* a paper read without its JSON (only the hash and the check) is cached too */
    exam_rendered *lean = exam_rendered_new(10, "ab", NULL, 123, NULL);
    cr_assert_not_null(lean);
    cr_assert_eq(lean->json_len, 0);
    cr_assert_eq(exam_cache_put(c, lean), 1);
    exam_rendered_release(lean);
    exam_cache_drop(c, 10);
    cr_assert_not(cached(c, 10));
    exam_cache_free(c);
}

Test(cache, references_outlive_the_cache)
{
    exam_cache *c = exam_cache_new(1 << 20);
    exam_rendered *r = paper_of(1, 100, 'r');
    cr_assert_eq(exam_cache_put(c, r), 1);
    exam_rendered_release(r);
    exam_rendered *g = exam_cache_get(c, 1);
    exam_cache_free(c);
    cr_assert_eq(g->json[0], 'r');
    exam_rendered_release(g);
    /* NULL caches and papers are harmless */
    cr_assert_null(exam_cache_get(NULL, 1));
    cr_assert_eq(exam_cache_put(NULL, NULL), 0);
    exam_rendered_release(NULL);
}

Test(cache, the_process_cache_is_set_and_freed)
{
    cr_assert_null(exam_paper_cache());
    cr_assert_eq(exam_paper_cache_set(1 << 20), 0);
    cr_assert_not_null(exam_paper_cache());
    exam_cache_stats s;
    exam_cache_stats_get(exam_paper_cache(), &s);
    cr_assert_eq(s.cap, 1 << 20);
    cr_assert_eq(exam_paper_cache_set(0), 0);
    cr_assert_null(exam_paper_cache());
}

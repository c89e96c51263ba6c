/* bank: paper assembly. Property tests over many seeds on synthetic blueprints and pools:
 * every paper meets every rule of its template (checked here independently of
 * bank_plan_check), the same seed gives the same paper, permutations map back to the keys,
 * exposure stays under its cap, infeasible templates are rejected with the right message. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "kc_test.h"

/* ---- synthetic blueprint: three levels of 鉴定范围, five 鉴定点 (X X X Y Z) per leaf ---- */

static const struct { const char *code; int weight; } leaf_ranges[] = {
    {"A-01-01", 2000}, {"A-01-02", 1500}, {"A-02-01", 1500}, {"A-02-02", 1000},
    {"B-01-01", 1800}, {"B-01-02", 1200}, {"B-02-01", 600},  {"B-02-02", 400},
};
#define N_LEAF 8
#define PTS_PER_LEAF 5
static const char imp_of[PTS_PER_LEAF] = {'X', 'X', 'X', 'Y', 'Z'};

static int push_node(bank_blueprint *b, const char *code, int depth, int is_point, int w,
                     char imp, int parent)
{
    bank_bp_node *n = bank_blueprint_push(b);
    cr_assert_not_null(n);
    n->code = kc_arena_strdup(A, code);
    n->name = kc_arena_printf(A, "名称%s", code);
    n->depth = depth;
    n->is_point = is_point;
    n->weight_centi = w;
    n->importance = imp;
    n->parent = parent;
    n->line = (int)b->n;
    return (int)b->n - 1;
}

static void make_bp(bank_blueprint *b)
{
    bank_blueprint_init(b, A);
    b->occupation = "4-04-04-02";
    b->level = 4;
    b->part = BANK_PART_THEORY;
    b->file = "bp.csv";
    int top = -1, mid = -1;
    for (int l = 0; l < N_LEAF; l++) {
        const char *c = leaf_ranges[l].code;
        if (l % 4 == 0) top = push_node(b, kc_arena_strndup(A, c, 1), 1, 0, l ? 4000 : 6000, 0, -1);
        if (l % 2 == 0)
            mid = push_node(b, kc_arena_strndup(A, c, 4), 2, 0,
                            leaf_ranges[l].weight + leaf_ranges[l + 1].weight, 0, top);
        int leaf = push_node(b, c, 3, 0, leaf_ranges[l].weight, 0, mid);
        for (int p = 0; p < PTS_PER_LEAF; p++)
            push_node(b, kc_arena_printf(A, "%s-%03d", c, p + 1), 4, 1, 0, imp_of[p], leaf);
    }
    kc_diag d;
    kc_diag_init(&d, A);
    cr_assert_eq(bank_blueprint_validate(b, &d), 0, "%s", d.n ? d.lines[0] : "");
}

/* ---- synthetic pool, with each item's key (for scoring through permutations) ---- */

static const char **keys;       /* per pool item: its key, NULL for no options */

typedef struct pool_spec {
    int per_point;              /* items of each of single, multi, tf per 鉴定点 */
    int dmax;                   /* difficulties 1..dmax */
    int only_yz_leaf;           /* this leaf range (1-based) has no X items */
} pool_spec;

static void make_pool(bank_pool *p, uint64_t seed, const bank_blueprint *bp, pool_spec sp)
{
    bank_pool_init(p, A);
    bank_rng r;
    bank_rng_seed(&r, seed);
    size_t cap = 0;
    for (size_t j = 0; j < bp->n; j++) cap += bp->nodes[j].is_point ? 3 * (size_t)sp.per_point : 0;
    cap += 40;
    keys = kc_arena_alloc(A, cap * sizeof *keys);
    cr_assert_not_null(keys);
    static const enum bank_item_type types[] = {BANK_SINGLE, BANK_MULTI, BANK_TF};
    int leaf_no = 0;
    for (size_t j = 0; j < bp->n; j++) {
        const bank_bp_node *n = &bp->nodes[j];
        if (!n->is_point) {
            if (n->depth == 3) leaf_no++;
            continue;
        }
        if (sp.only_yz_leaf == leaf_no && n->importance == 'X') continue;
        for (int t = 0; t < 3; t++)
            for (int k = 0; k < sp.per_point; k++) {
                bank_pool_item *it = bank_pool_push(p);
                cr_assert_not_null(it);
                size_t i = p->n - 1;
                it->id = 1000 + i;
                it->uid = kc_arena_printf(A, "U%05zu", i);
                it->type = types[t];
                it->difficulty = 1 + (int)bank_rng_below(&r, (uint32_t)sp.dmax);
                it->point_code = n->code;
                it->points_centi = 100;
                if (it->type != BANK_TF) {
                    it->n_options = 4 + (int)bank_rng_below(&r, 3);
                    it->pin_options = bank_rng_below(&r, 8) == 0;
                    char *key = kc_arena_alloc(A, 9);
                    if (it->type == BANK_SINGLE) {
                        key[0] = (char)('A' + bank_rng_below(&r, (uint32_t)it->n_options));
                    } else {
                        int m = 0;
                        for (int o = 0; o < it->n_options; o++)
                            if (bank_rng_below(&r, 2) || (o == it->n_options - 1 && m < 2))
                                key[m++] = (char)('A' + o);
                    }
                    keys[i] = key;
                } else {
                    keys[i] = bank_rng_below(&r, 2) ? "T" : "F";
                }
                if (bank_rng_below(&r, 3) == 0) {
                    it->n_tags = 1;
                    it->tags = kc_arena_alloc(A, sizeof *it->tags);
                    it->tags[0] = "网络";
                }
            }
    }
    /* items without a 鉴定点: never on a blueprint paper */
    for (int k = 0; k < 20; k++) {
        bank_pool_item *it = bank_pool_push(p);
        size_t i = p->n - 1;
        it->id = 1000 + i;
        it->uid = kc_arena_printf(A, "N%05zu", i);
        it->type = BANK_SINGLE;
        it->difficulty = 3;
        it->n_options = 4;
        it->points_centi = 100;
        keys[i] = "A";
    }
}

static void add_composites(bank_pool *p, int n)
{
    for (int k = 0; k < n; k++) {
        bank_pool_item *it = bank_pool_push(p);
        it->id = 900000 + (uint64_t)k;
        it->uid = kc_arena_printf(A, "C%03d", k);
        it->type = BANK_COMPOSITE;
        it->difficulty = 3;
        it->point_code = "A-01-01-001";
        it->points_centi = 500;
        it->n_children = 2;
        it->children = kc_arena_alloc(A, 2 * sizeof *it->children);
        it->children[0] = (bank_pool_child){.id = 910000 + (uint64_t)k * 2, .n_options = 4};
        it->children[1] = (bank_pool_child){.id = 910001 + (uint64_t)k * 2, .n_options = 0};
    }
}

static bank_tpl parse_ok(const char *json)
{
    bank_tpl t;
    int rc = bank_tpl_parse(json, strlen(json), "t.json", A, &t, &D);
    cr_assert_eq(rc, 0, "%s", D.n ? D.lines[0] : "");
    return t;
}

static bank_plan *plan_ok(const bank_tpl *t, const bank_blueprint *bp, const bank_pool *p, int papers)
{
    bank_plan *pl = NULL;
    int rc = bank_plan_make(t, bp, p, papers, A, &pl, &D);
    cr_assert_eq(rc, 0, "%d problems: %s", rc, D.n ? D.lines[0] : "");
    cr_assert_not_null(pl);
    return pl;
}

/* The diag lines hold one containing every one of the strings. */
static void expect_line_with(const char *a, const char *b, const char *c)
{
    for (size_t i = 0; i < D.n; i++)
        if (strstr(D.lines[i], a) && (!b || strstr(D.lines[i], b)) && (!c || strstr(D.lines[i], c)))
            return;
    for (size_t i = 0; i < D.n; i++) cr_log_error("diag: %s", D.lines[i]);
    cr_assert_fail("no diag line with \"%s\" \"%s\" \"%s\"", a, b ? b : "", c ? c : "");
}

static const char *BP_TPL =
    "{\"code\":\"NETSEC-L4-T\",\"title\":\"网络与信息安全管理员（四级）理论知识\",\n"
    " \"occupation\":\"4-04-04-02\",\"level\":\"四级\",\"part\":\"theory\",\"mode\":\"按鉴定点组卷\",\n"
    " \"total\":100,\n"
    " \"sections\":[\n"
    "  {\"title\":\"一、单项选择题\",\"type\":\"单项选择题\",\"count\":60,\"points\":0.5},\n"
    "  {\"title\":\"二、多项选择题\",\"type\":\"multi\",\"count\":20,\"points\":2},\n"
    "  {\"title\":\"三、判断题\",\"type\":\"tf\",\"count\":30,\"points\":\"1\"}\n"
    " ]}\n";

/* The (section, leaf range) counts of a paper, independently of the plan. */
static void paper_counts(const bank_paper *pp, const bank_pool *p, const bank_blueprint *bp,
                         int counts[][N_LEAF], int *nxyz)
{
    memset(nxyz, 0, 3 * sizeof *nxyz);
    for (int k = 0; k < pp->n; k++) {
        const bank_pool_item *it = &p->items[pp->items[k].pool];
        int j = bank_blueprint_find(bp, it->point_code);
        cr_assert_geq(j, 0, "%s has no 鉴定点 of the blueprint", it->uid);
        int leaf = bp->nodes[j].parent;
        int l = 0;
        while (l < N_LEAF && strcmp(leaf_ranges[l].code, bp->nodes[leaf].code)) l++;
        cr_assert_lt(l, N_LEAF);
        counts[pp->items[k].section][l]++;
        char imp = bp->nodes[j].importance;
        nxyz[imp == 'X' ? 0 : imp == 'Y' ? 1 : 2]++;
    }
}

static void check_perms(const bank_paper *pp, const bank_pool *p, const bank_tpl *t)
{
    for (int k = 0; k < pp->n; k++) {
        const bank_paper_item *it = &pp->items[k];
        const bank_pool_item *pi = &p->items[it->pool];
        cr_assert_eq(it->id, pi->id);
        if (pi->type == BANK_TF) {
            cr_assert_str_eq(it->perm, "");
            continue;
        }
        if (pi->type == BANK_COMPOSITE) continue;
        cr_assert_eq((int)strlen(it->perm), pi->n_options, "%s: %s", pi->uid, it->perm);
        unsigned seen = 0;
        for (int o = 0; o < pi->n_options; o++) {
            int x = it->perm[o] - 'A';
            cr_assert(x >= 0 && x < pi->n_options && !(seen & (1u << x)));
            seen |= 1u << x;
            if (pi->pin_options || !t->shuffle_options) cr_assert_eq(x, o, "%s is pinned", pi->uid);
        }
        /* the candidate marks the display letters of the key: back to the key, full points */
        const char *key = keys[it->pool];
        char shown[9] = "", back[16];
        int m = 0;
        for (int o = 0; o < pi->n_options; o++)
            if (strchr(key, it->perm[o])) shown[m++] = (char)('A' + o);
        shown[m] = 0;
        cr_assert_eq(bank_response_unshuffle(pi->type, it->perm, shown, back, sizeof back), 0);
        cr_assert_str_eq(back, key, "%s: shown %s perm %s", pi->uid, shown, it->perm);
        cr_assert_eq(bank_score(pi->type, key, BANK_MC_ALL, back, it->points_centi), it->points_centi);
    }
}

/* ---- random numbers ---- */

Test(rng, same_seed_same_sequence_and_ranges)
{
    bank_rng a, b;
    bank_rng_seed(&a, 42);
    bank_rng_seed(&b, 42);
    for (int i = 0; i < 1000; i++) cr_assert_eq(bank_rng_next(&a), bank_rng_next(&b));
    bank_rng_seed(&b, 43);
    cr_assert_neq(bank_rng_next(&a), bank_rng_next(&b));
    int hits[7] = {0};
    for (int i = 0; i < 7000; i++) {
        uint32_t x = bank_rng_below(&a, 7);
        cr_assert_lt(x, 7);
        hits[x]++;
    }
    for (int k = 0; k < 7; k++) cr_assert(hits[k] > 800 && hits[k] < 1200, "%d: %d", k, hits[k]);
    uint32_t v[50];
    for (uint32_t i = 0; i < 50; i++) v[i] = i;
    bank_rng_shuffle_u32(&a, v, 50);
    uint64_t seen = 0;
    int moved = 0;
    for (uint32_t i = 0; i < 50; i++) {
        seen |= 1ULL << v[i];
        moved += v[i] != i;
    }
    cr_assert_eq(seen, (1ULL << 50) - 1);
    cr_assert_gt(moved, 10);
    cr_assert_eq(bank_seed_derive(7, 1), bank_seed_derive(7, 1));
    cr_assert_neq(bank_seed_derive(7, 1), bank_seed_derive(7, 2));
    cr_assert_neq(bank_seed_derive(7, 1), bank_seed_derive(8, 1));
}

Test(exposure, limit)
{
    cr_assert_eq(bank_exposure_limit(100, 500), 0);
    cr_assert_eq(bank_exposure_limit(30, 200), 60);
    cr_assert_eq(bank_exposure_limit(30, 3), 1);
    cr_assert_eq(bank_exposure_limit(40, 0), 1);
}

/* ---- templates ---- */

static void same_tpl(const bank_tpl *x, const bank_tpl *y)
{
    cr_assert_str_eq(x->code, y->code);
    cr_assert_str_eq(x->title, y->title);
    cr_assert_eq(!x->occupation, !y->occupation);
    if (x->occupation) cr_assert_str_eq(x->occupation, y->occupation);
    cr_assert_eq(x->level, y->level);
    cr_assert_eq(x->part, y->part);
    cr_assert_eq(x->mode, y->mode);
    cr_assert_eq(x->total_centi, y->total_centi);
    cr_assert_eq(x->diff_target_centi, y->diff_target_centi);
    cr_assert_eq(x->diff_tol_centi, y->diff_tol_centi);
    cr_assert_eq(x->x_min_pct, y->x_min_pct);
    cr_assert_eq(x->y_max_pct, y->y_max_pct);
    cr_assert_eq(x->z_max_pct, y->z_max_pct);
    cr_assert_eq(x->exposure_cap_pct, y->exposure_cap_pct);
    cr_assert_eq(x->shuffle_items, y->shuffle_items);
    cr_assert_eq(x->shuffle_options, y->shuffle_options);
    cr_assert_eq(x->n_sections, y->n_sections);
    for (int s = 0; s < x->n_sections; s++) {
        const bank_tpl_section *a = &x->sections[s], *b = &y->sections[s];
        cr_assert_str_eq(a->title, b->title);
        cr_assert_eq(a->type, b->type);
        cr_assert_eq(a->count, b->count);
        cr_assert_eq(a->points_centi, b->points_centi);
        cr_assert_eq(a->dmin, b->dmin);
        cr_assert_eq(a->dmax, b->dmax);
        cr_assert_eq(a->n_scope, b->n_scope);
        for (int k = 0; k < a->n_scope; k++) cr_assert_str_eq(a->scope[k], b->scope[k]);
        cr_assert_eq(a->n_tags, b->n_tags);
        for (int k = 0; k < a->n_tags; k++) cr_assert_str_eq(a->tags[k], b->tags[k]);
        cr_assert_eq(a->n_fixed, b->n_fixed);
        for (int k = 0; k < a->n_fixed; k++) {
            cr_assert_str_eq(a->fixed[k], b->fixed[k]);
            cr_assert_eq(a->fixed_points ? a->fixed_points[k] : 0, b->fixed_points ? b->fixed_points[k] : 0);
        }
    }
}

static void round_trip(const char *json)
{
    bank_tpl t = parse_ok(json);
    char *out = bank_tpl_format(&t, A);
    cr_assert_not_null(out);
    bank_tpl back = parse_ok(out);
    same_tpl(&t, &back);
    char *again = bank_tpl_format(&back, A);
    cr_assert_str_eq(out, again);
}

Test(template, parses_and_formats_back, .init = kc_setup, .fini = kc_teardown)
{
    bank_tpl t = parse_ok(BP_TPL);
    cr_assert_eq(t.mode, BANK_TPL_BLUEPRINT);
    cr_assert_eq(t.level, 4);
    cr_assert_eq(t.total_centi, 10000);
    cr_assert_eq(t.n_sections, 3);
    cr_assert_eq(t.sections[0].type, BANK_SINGLE);
    cr_assert_eq(t.sections[0].points_centi, 50);
    cr_assert_eq(t.sections[2].points_centi, 100);
    cr_assert_eq(t.sections[1].line, 6);
    cr_assert_eq(t.x_min_pct, 80);
    cr_assert_eq(t.y_max_pct, 15);
    cr_assert_eq(t.z_max_pct, 5);
    cr_assert_eq(t.exposure_cap_pct, 100);
    cr_assert(t.shuffle_items && t.shuffle_options);
    round_trip(BP_TPL);
    round_trip("{\"code\":\"T\",\"title\":\"按题型\",\"mode\":\"type\",\"total\":10.1,"
               "\"difficulty\":{\"target\":3.25,\"tolerance\":0.1},\"exposure_cap\":35,"
               "\"shuffle_options\":false,\"sections\":[{\"title\":\"一\",\"type\":\"single\","
               "\"count\":3,\"points\":3.1,\"difficulty\":[2,4],\"tags\":[\"网络\"],"
               "\"scope\":[\"A-01\"]},{\"title\":\"二\",\"type\":\"composite\",\"count\":1,"
               "\"points\":0.8}]}");
    round_trip("{\"code\":\"F\",\"title\":\"固定卷\",\"mode\":\"固定卷\",\"total\":7,\"part\":\"技能\","
               "\"sections\":[{\"title\":\"实操\",\"type\":\"实操题\",\"points\":2,"
               "\"items\":[\"U1\",{\"uid\":\"U2\",\"points\":3},\"U3\"]}]}");
    bank_tpl f = parse_ok("{\"code\":\"F\",\"title\":\"x\",\"mode\":\"fixed\",\"total\":7,"
                          "\"sections\":[{\"title\":\"a\",\"type\":\"single\",\"points\":2,"
                          "\"items\":[\"U1\",{\"uid\":\"U2\",\"points\":3},\"U3\"]}]}");
    cr_assert_eq(f.shuffle_items, 0);
    cr_assert_eq(f.sections[0].count, 3);
    cr_assert_eq(f.sections[0].fixed_points[1], 300);
    EXPECT_CLEAN();
}

Test(template, errors_name_file_line_and_field, .init = kc_setup, .fini = kc_teardown)
{
    bank_tpl t;
    const char *syntax = "{\"code\":\"T\",\n\"title\":\"x\",\n\"mode\" \"type\"}";
    cr_assert_eq(bank_tpl_parse(syntax, strlen(syntax), "t.json", A, &t, &D), 1);
    cr_assert(!strncmp(D.lines[0], "t.json:3: JSON: ", 16), "%s", D.lines[0]);
    D.n = 0;
    const char *sum =
        "{\"code\":\"T\",\"title\":\"x\",\"mode\":\"type\",\"total\":100,\n"
        "\"sections\":[\n"
        "{\"title\":\"一\",\"type\":\"single\",\"count\":79,\"points\":0.5},\n"
        "{\"title\":\"二\",\"type\":\"tf\",\"count\":40,\"points\":1.5}]}";
    cr_assert_eq(bank_tpl_parse(sum, strlen(sum), "t.json", A, &t, &D), 1);
    EXPECT("t.json:2: sections: add up to 99.50 points, total is 100.00");
    D.n = 0;
    const char *bad =
        "{\"code\":\"T\",\"title\":\"x\",\"mode\":\"type\",\"total\":100,\"colour\":1,\n"
        "\"sections\":[\n"
        "{\"title\":\"一\",\"type\":\"single\",\"count\":0,\"points\":0.5},\n"
        "\n"
        "  {\"title\":\"二\",\"type\":\"practical\",\"count\":4,\"points\":0.125,\"extra\":2},\n"
        "{\"title\":\"三\",\"type\":\"hexagon\",\"points\":1,\"items\":[\"U1\"]}]}";
    cr_assert_eq(bank_tpl_parse(bad, strlen(bad), "t.json", A, &t, &D), 8);
    EXPECT("t.json:1: colour: is not a field of a template",
           "t.json:3: sections[0].count: must be a whole number from 1 to 1000",
           "t.json:5: sections[1].extra: is not a field of a template section",
           "t.json:5: sections[1].type: practical tasks belong to the skills part",
           "t.json:5: sections[1].points: has more than 2 decimal places",
           "t.json:6: sections[2].type: hexagon is not an item type",
           "t.json:6: sections[2].count: is missing",
           "t.json:6: sections[2].items: only a fixed paper lists its items");
    D.n = 0;
    const char *bpm = "{\"code\":\"T\",\"title\":\"x\",\"mode\":\"blueprint\",\"total\":1,"
                      "\"sections\":[{\"title\":\"a\",\"type\":\"single\",\"count\":1,\"points\":1}]}";
    cr_assert_eq(bank_tpl_parse(bpm, strlen(bpm), "t.json", A, &t, &D), 1);
    EXPECT("t.json:1: mode: a blueprint paper needs occupation and level");
    D.n = 0;
    const char *fx = "{\"code\":\"T\",\"title\":\"x\",\"mode\":\"fixed\",\"total\":1,\"importance\":{\"X\":90},"
                     "\"sections\":[{\"title\":\"a\",\"type\":\"single\",\"count\":1,\"points\":1}]}";
    cr_assert_eq(bank_tpl_parse(fx, strlen(fx), "t.json", A, &t, &D), 3);
    EXPECT("t.json:1: importance: only a blueprint paper has an X/Y/Z mix",
           "t.json:1: sections[0].count: a fixed section lists its items instead",
           "t.json:1: sections[0].items: is missing (a fixed section lists its items)");
    D.n = 0;
    const char *lines = "{\"code\":\"T\",\"title\":\"x\",\n\"mode\":\"type\",\n\"total\":-1,\n"
                        "\"difficulty\":{\"target\":6,\"spread\":1},\n\"level\":9,\n"
                        "\"sections\":[{\"title\":\"a\",\"type\":\"single\",\"count\":1,\"points\":1}]}";
    cr_assert_eq(bank_tpl_parse(lines, strlen(lines), "t.json", A, &t, &D), 4);
    EXPECT("t.json:5: level: must be a level 1..5 (五级..一级)",
           "t.json:3: total: must be more than 0",
           "t.json:4: difficulty.spread: is not a field of difficulty",
           "t.json:4: difficulty.target: must be from 1 to 5");
    D.n = 0;
    const char *dup = "{\"code\":\"T\",\"code\":\"U\"}";
    cr_assert_eq(bank_tpl_parse(dup, strlen(dup), "t.json", A, &t, &D), 1);
    cr_assert(strstr(D.lines[0], "t.json:1: JSON: ") && strstr(D.lines[0], "duplicate"), "%s", D.lines[0]);
}

/* ---- blueprint papers ---- */

Test(blueprint, every_paper_meets_every_rule, .init = kc_setup, .fini = kc_teardown)
{
    bank_blueprint bp;
    make_bp(&bp);
    bank_pool pool;
    make_pool(&pool, 11, &bp, (pool_spec){.per_point = 6, .dmax = 5});
    bank_tpl t = parse_ok(BP_TPL);
    bank_plan *pl = plan_ok(&t, &bp, &pool, 0);
    int first[3][N_LEAF];
    for (uint64_t seed = 1; seed <= 300; seed++) {
        bank_paper pp;
        char why[256];
        cr_assert_eq(bank_plan_generate(pl, seed, NULL, A, &pp, why, sizeof why), 0, "%s", why);
        cr_assert_eq(bank_plan_check(pl, &pp, &D), 0, "seed %llu: %s", (unsigned long long)seed,
                     D.n ? D.lines[0] : "");
        cr_assert_eq(pp.n, 110);
        cr_assert_eq(pp.total_centi, 10000);
        int total = 0, nsec[3] = {0}, prev = 0;
        for (int k = 0; k < pp.n; k++) {
            total += pp.items[k].points_centi;
            cr_assert_geq(pp.items[k].section, prev, "sections in template order");
            prev = pp.items[k].section;
            nsec[pp.items[k].section]++;
            cr_assert_eq(pool.items[pp.items[k].pool].type, t.sections[prev].type);
            cr_assert_eq(pp.items[k].points_centi, t.sections[prev].points_centi);
            for (int q = 0; q < k; q++) cr_assert_neq(pp.items[q].id, pp.items[k].id, "twice");
        }
        cr_assert_eq(total, 10000);
        cr_assert_eq(nsec[0], 60);
        cr_assert_eq(nsec[1], 20);
        cr_assert_eq(nsec[2], 30);
        int counts[3][N_LEAF] = {{0}}, xyz[3];
        paper_counts(&pp, &pool, &bp, counts, xyz);
        /* each range draws its share of every section: floor or ceiling of count x weight */
        for (int s = 0; s < 3; s++)
            for (int l = 0; l < N_LEAF; l++) {
                double exact = t.sections[s].count * leaf_ranges[l].weight / 10000.0;
                cr_assert(counts[s][l] >= (int)exact && counts[s][l] <= (int)exact + 1,
                          "section %d range %s: %d for %.2f", s, leaf_ranges[l].code, counts[s][l], exact);
                if (seed == 1) first[s][l] = counts[s][l];
                else cr_assert_eq(counts[s][l], first[s][l], "quotas do not depend on the seed");
            }
        cr_assert_leq(xyz[1], 110 * 15 / 100);
        cr_assert_leq(xyz[2], 110 * 5 / 100);
        cr_assert_geq(xyz[0], (110 * 80 + 99) / 100);
        check_perms(&pp, &pool, &t);
    }
    /* the points of each range across sections stay near its weight */
    for (int l = 0; l < N_LEAF; l++) {
        int pts = 0;
        for (int s = 0; s < 3; s++) pts += first[s][l] * t.sections[s].points_centi;
        double want = leaf_ranges[l].weight;   /* of 10000 points x 100 */
        cr_assert(pts > want - 300 && pts < want + 300, "%s: %d for %.0f", leaf_ranges[l].code, pts, want);
    }
}

Test(blueprint, prefers_distinct_points, .init = kc_setup, .fini = kc_teardown)
{
    bank_blueprint bp;
    make_bp(&bp);
    bank_pool pool;
    make_pool(&pool, 5, &bp, (pool_spec){.per_point = 8, .dmax = 5});
    /* 40 single choice over 40 鉴定点: (nearly) every point once */
    const char *tj = "{\"code\":\"D\",\"title\":\"d\",\"occupation\":\"4-04-04-02\",\"level\":4,"
                     "\"mode\":\"blueprint\",\"total\":40,\"importance\":{\"X\":60,\"Y\":20,\"Z\":20},"
                     "\"sections\":[{\"title\":\"一\",\"type\":\"single\",\"count\":40,\"points\":1}]}";
    bank_tpl t = parse_ok(tj);
    bank_plan *pl = plan_ok(&t, &bp, &pool, 0);
    int worst = 40;
    for (uint64_t seed = 1; seed <= 50; seed++) {
        bank_paper pp;
        char why[256];
        cr_assert_eq(bank_plan_generate(pl, seed, NULL, A, &pp, why, sizeof why), 0, "%s", why);
        cr_assert_eq(bank_plan_check(pl, &pp, &D), 0, "%s", D.n ? D.lines[0] : "");
        int distinct = 0;
        for (int k = 0; k < pp.n; k++) {
            int dup = 0;
            for (int q = 0; q < k; q++)
                if (!strcmp(pool.items[pp.items[q].pool].point_code, pool.items[pp.items[k].pool].point_code))
                    dup = 1;
            distinct += !dup;
        }
        if (distinct < worst) worst = distinct;
    }
    cr_assert_geq(worst, 30, "distinct 鉴定点 on the worst paper: %d of 40", worst);
}

Test(blueprint, same_seed_same_paper_and_json_round_trip, .init = kc_setup, .fini = kc_teardown)
{
    bank_blueprint bp;
    make_bp(&bp);
    bank_pool pool;
    make_pool(&pool, 3, &bp, (pool_spec){.per_point = 4, .dmax = 5});
    bank_tpl t = parse_ok(BP_TPL);
    bank_plan *pl = plan_ok(&t, &bp, &pool, 0);
    char why[256];
    for (uint64_t seed = 100; seed < 140; seed++) {
        bank_paper a, b, c;
        cr_assert_eq(bank_plan_generate(pl, seed, NULL, A, &a, why, sizeof why), 0);
        cr_assert_eq(bank_plan_generate(pl, seed, NULL, A, &b, why, sizeof why), 0);
        cr_assert_eq(bank_plan_generate(pl, seed + 1000, NULL, A, &c, why, sizeof why), 0);
        cr_assert(bank_paper_same(&a, &b));
        cr_assert_not(bank_paper_same(&a, &c));
        char *ja = bank_paper_to_json(&a, A), *jb = bank_paper_to_json(&b, A);
        cr_assert_str_eq(ja, jb);
        cr_assert_str_neq(ja, bank_paper_to_json(&c, A));
        bank_paper back;
        cr_assert_eq(bank_paper_from_json(ja, &pool, A, &back, why, sizeof why), 0, "%s", why);
        cr_assert(bank_paper_same(&a, &back));
        for (int k = 0; k < a.n; k++) cr_assert_eq(back.items[k].pool, a.items[k].pool);
        cr_assert_eq(bank_plan_check(pl, &back, &D), 0);
        cr_assert_str_eq(bank_paper_to_json(&back, A), ja);
    }
    cr_assert_neq(bank_paper_from_json("[{\"i\":5,\"p\":100,\"s\":0}]", &pool, A, &(bank_paper){0}, why,
                                       sizeof why), 0);
    cr_assert(strstr(why, "id 5 is not in the pool"), "%s", why);
    cr_assert_neq(bank_paper_from_json("[{\"i\":1000,\"p\":100,\"s\":0,\"o\":\"AAB\"}]", NULL, A,
                                       &(bank_paper){0}, why, sizeof why), 0);
    cr_assert_neq(bank_paper_from_json("{", NULL, A, &(bank_paper){0}, why, sizeof why), 0);
}

Test(blueprint, broken_papers_are_caught, .init = kc_setup, .fini = kc_teardown)
{
    bank_blueprint bp;
    make_bp(&bp);
    bank_pool pool;
    make_pool(&pool, 3, &bp, (pool_spec){.per_point = 4, .dmax = 5});
    bank_tpl t = parse_ok(BP_TPL);
    bank_plan *pl = plan_ok(&t, &bp, &pool, 0);
    bank_paper pp;
    char why[256];
    cr_assert_eq(bank_plan_generate(pl, 9, NULL, A, &pp, why, sizeof why), 0);
    /* an item twice */
    bank_paper_item keep = pp.items[1];
    pp.items[1] = pp.items[0];
    cr_assert_gt(bank_plan_check(pl, &pp, &D), 0);
    expect_line_with("twice", NULL, NULL);
    pp.items[1] = keep;
    D.n = 0;
    /* a broken option order, and points */
    int k = 0;
    while (!pp.items[k].perm[0]) k++;
    char saved[9];
    strcpy(saved, pp.items[k].perm);
    pp.items[k].perm[0] = pp.items[k].perm[1];
    pp.items[k].points_centi += 50;
    cr_assert_gt(bank_plan_check(pl, &pp, &D), 0);
    expect_line_with("is not an order of", NULL, NULL);
    expect_line_with("points x 100", NULL, NULL);
    expect_line_with("total", NULL, NULL);
}

Test(blueprint, reorder_keeps_items_and_rules, .init = kc_setup, .fini = kc_teardown)
{
    bank_blueprint bp;
    make_bp(&bp);
    bank_pool pool;
    make_pool(&pool, 3, &bp, (pool_spec){.per_point = 4, .dmax = 5});
    bank_tpl t = parse_ok(BP_TPL);
    bank_plan *pl = plan_ok(&t, &bp, &pool, 0);
    bank_paper forms[3];
    char why[256];
    for (int f = 0; f < 3; f++)
        cr_assert_eq(bank_plan_generate(pl, 77 + (uint64_t)f, NULL, A, &forms[f], why, sizeof why), 0);
    for (uint64_t s = 1; s < 30; s++) {
        bank_paper r;
        cr_assert_eq(bank_paper_reorder(pl, &forms[0], s, A, &r), 0);
        cr_assert_eq(bank_plan_check(pl, &r, &D), 0, "%s", D.n ? D.lines[0] : "");
        cr_assert_not(bank_paper_same(&r, &forms[0]));
        cr_assert_eq(r.n, forms[0].n);
        for (int k = 0; k < r.n; k++) {
            int found = 0;
            for (int q = 0; q < r.n; q++) found |= forms[0].items[q].id == r.items[k].id;
            cr_assert(found);
        }
        bank_paper r2;
        cr_assert_eq(bank_paper_reorder(pl, &forms[0], s, A, &r2), 0);
        cr_assert(bank_paper_same(&r, &r2));
        check_perms(&r, &pool, &t);
    }
    char *rep = bank_forms_report(pl, &bp, forms, 3, A);
    cr_assert_not_null(rep);
    cr_assert(strstr(rep, "A-01-01 名称A-01-01"), "%s", rep);
    cr_assert(strstr(rep, "单选题 (single)"), "%s", rep);
    cr_assert(strstr(rep, "total 总分"), "%s", rep);
    cr_assert(strstr(rep, "100.00"), "%s", rep);
    bank_paper same2[2] = {forms[0], forms[0]};
    bank_paper_reorder(pl, &forms[0], 5, A, &same2[1]);
    rep = bank_forms_report(pl, &bp, same2, 2, A);
    cr_assert(strstr(rep, "110 (100%)"), "%s", rep);
}

Test(blueprint, infeasible_templates_name_the_rule, .init = kc_setup, .fini = kc_teardown)
{
    bank_blueprint bp;
    make_bp(&bp);
    bank_pool pool;
    make_pool(&pool, 3, &bp, (pool_spec){.per_point = 1, .dmax = 3});
    bank_plan *pl;
    /* short cells: a leaf range has 5 single choice items */
    const char *big = "{\"code\":\"B\",\"title\":\"b\",\"occupation\":\"4-04-04-02\",\"level\":4,"
                      "\"mode\":\"blueprint\",\"total\":200,\"sections\":[{\"title\":\"一、单项选择题\","
                      "\"type\":\"single\",\"count\":200,\"points\":1}]}";
    bank_tpl t = parse_ok(big);
    cr_assert_gt(bank_plan_make(&t, &bp, &pool, 0, A, &pl, &D), 0);
    cr_assert_null(pl);
    expect_line_with("t.json:1: 一、单项选择题: 鉴定范围 A-01-01 (名称A-01-01) needs 40 items, "
                     "the approved bank has 5 (short by 35)", NULL, NULL);
    D.n = 0;
    /* difficulty out of reach */
    const char *hard = "{\"code\":\"H\",\"title\":\"h\",\"occupation\":\"4-04-04-02\",\"level\":4,"
                       "\"mode\":\"blueprint\",\"total\":20,\"difficulty\":{\"target\":4.5,\"tolerance\":0.1},"
                       "\"sections\":[{\"title\":\"一\",\"type\":\"single\",\"count\":20,\"points\":1}]}";
    t = parse_ok(hard);
    cr_assert_eq(bank_plan_make(&t, &bp, &pool, 0, A, &pl, &D), 1);
    expect_line_with("difficulty: target 4.50 ± 0.10 cannot be reached: the hardest paper the bank "
                     "allows has mean", NULL, NULL);
    D.n = 0;
    /* exposure: 20 items of 40 over 100 papers at 20 % needs 100 */
    const char *exp = "{\"code\":\"E\",\"title\":\"e\",\"occupation\":\"4-04-04-02\",\"level\":4,"
                      "\"mode\":\"blueprint\",\"total\":20,\"exposure_cap\":20,"
                      "\"sections\":[{\"title\":\"一\",\"type\":\"single\",\"count\":20,\"points\":1}]}";
    t = parse_ok(exp);
    cr_assert_gt(bank_plan_make(&t, &bp, &pool, 100, A, &pl, &D), 0);
    expect_line_with("一: 鉴定范围 A-01-01", "for an exposure cap of 20% over 100 papers (each item on at most 20)",
                     "short by");
    D.n = 0;
    /* X/Y/Z: one leaf range has only Y and Z items */
    bank_pool yz;
    make_pool(&yz, 4, &bp, (pool_spec){.per_point = 5, .dmax = 5, .only_yz_leaf = 1});
    const char *imp = "{\"code\":\"I\",\"title\":\"i\",\"occupation\":\"4-04-04-02\",\"level\":4,"
                      "\"mode\":\"blueprint\",\"total\":40,\"importance\":{\"X\":90,\"Y\":5,\"Z\":5},"
                      "\"sections\":[{\"title\":\"一\",\"type\":\"single\",\"count\":40,\"points\":1}]}";
    t = parse_ok(imp);
    cr_assert_eq(bank_plan_make(&t, &bp, &yz, 0, A, &pl, &D), 1);
    expect_line_with("importance: at most 5% Y (2 of 40) and 5% Z (2): ranges A-01-01 have too few X "
                     "items, so 8 Y/Z items would be needed (short by 4 X items)", NULL, NULL);
    D.n = 0;
    /* unknown 鉴定范围 in a scope, and no blueprint at all */
    const char *sc = "{\"code\":\"S\",\"title\":\"s\",\"occupation\":\"4-04-04-02\",\"level\":4,"
                     "\"mode\":\"blueprint\",\"total\":2,\"sections\":[{\"title\":\"一\",\"type\":\"single\","
                     "\"count\":2,\"points\":1,\"scope\":[\"Q-9\"]}]}";
    t = parse_ok(sc);
    cr_assert_gt(bank_plan_make(&t, &bp, &pool, 0, A, &pl, &D), 0);
    expect_line_with("sections[0].scope: Q-9 is not a node of the blueprint", NULL, NULL);
    D.n = 0;
    cr_assert_eq(bank_plan_make(&t, NULL, &pool, 0, A, &pl, &D), 1);
    expect_line_with("mode: a blueprint paper needs the blueprint", NULL, NULL);
}

Test(blueprint, scope_renormalises_weights, .init = kc_setup, .fini = kc_teardown)
{
    bank_blueprint bp;
    make_bp(&bp);
    bank_pool pool;
    make_pool(&pool, 8, &bp, (pool_spec){.per_point = 4, .dmax = 5});
    /* B-02 holds B-02-01 (6 %) and B-02-02 (4 %): 10 items go 6 and 4 */
    const char *sc = "{\"code\":\"S\",\"title\":\"s\",\"occupation\":\"4-04-04-02\",\"level\":4,"
                     "\"mode\":\"blueprint\",\"total\":10,\"importance\":{\"X\":60,\"Y\":20,\"Z\":20},"
                     "\"sections\":[{\"title\":\"一\",\"type\":\"single\",\"count\":10,\"points\":1,"
                     "\"scope\":[\"B-02\"]}]}";
    bank_tpl t = parse_ok(sc);
    bank_plan *pl = plan_ok(&t, &bp, &pool, 0);
    for (uint64_t seed = 1; seed < 40; seed++) {
        bank_paper pp;
        char why[256];
        cr_assert_eq(bank_plan_generate(pl, seed, NULL, A, &pp, why, sizeof why), 0, "%s", why);
        cr_assert_eq(bank_plan_check(pl, &pp, &D), 0, "%s", D.n ? D.lines[0] : "");
        int counts[3][N_LEAF] = {{0}}, xyz[3];
        paper_counts(&pp, &pool, &bp, counts, xyz);
        cr_assert_eq(counts[0][6], 6);
        cr_assert_eq(counts[0][7], 4);
    }
}

Test(blueprint, ranges_without_x_items_take_y_and_z_within_the_caps, .init = kc_setup,
     .fini = kc_teardown)
{
    bank_blueprint bp;
    make_bp(&bp);
    bank_pool pool;
    /* B-02-02 (4 %) has only Y and Z items: 2 of 50 must be Y/Z there */
    make_pool(&pool, 17, &bp, (pool_spec){.per_point = 3, .dmax = 5, .only_yz_leaf = 8});
    const char *tj = "{\"code\":\"Y\",\"title\":\"y\",\"occupation\":\"4-04-04-02\",\"level\":4,"
                     "\"mode\":\"blueprint\",\"total\":100,\"importance\":{\"X\":90,\"Y\":4,\"Z\":6},"
                     "\"sections\":[{\"title\":\"一\",\"type\":\"single\",\"count\":50,\"points\":2}]}";
    bank_tpl t = parse_ok(tj);
    bank_plan *pl = plan_ok(&t, &bp, &pool, 0);
    int yz_seen = 0;
    for (uint64_t seed = 1; seed <= 200; seed++) {
        bank_paper pp;
        char why[256];
        cr_assert_eq(bank_plan_generate(pl, seed, NULL, A, &pp, why, sizeof why), 0, "%s", why);
        cr_assert_eq(bank_plan_check(pl, &pp, &D), 0, "%s", D.n ? D.lines[0] : "");
        int counts[3][N_LEAF] = {{0}}, xyz[3];
        paper_counts(&pp, &pool, &bp, counts, xyz);
        cr_assert_eq(counts[0][7], 2);
        cr_assert_leq(xyz[1], 2);
        cr_assert_leq(xyz[2], 3);
        cr_assert_geq(xyz[0], 45);
        yz_seen += xyz[1] + xyz[2] > 2;
    }
    cr_assert_gt(yz_seen, 0, "other ranges never drew a Y or Z item");
}

/* ---- type papers ---- */

Test(type_mode, difficulty_target_tags_and_filters, .init = kc_setup, .fini = kc_teardown)
{
    bank_blueprint bp;
    make_bp(&bp);
    bank_pool pool;
    make_pool(&pool, 21, &bp, (pool_spec){.per_point = 5, .dmax = 5});
    add_composites(&pool, 6);
    const char *tj = "{\"code\":\"T\",\"title\":\"t\",\"mode\":\"按题型组卷\",\"total\":80,"
                     "\"difficulty\":{\"target\":3.6,\"tolerance\":0.1},"
                     "\"sections\":[{\"title\":\"一\",\"type\":\"single\",\"count\":40,\"points\":1},"
                     "{\"title\":\"二\",\"type\":\"multi\",\"count\":10,\"points\":2,\"difficulty\":[3,5],"
                     "\"tags\":[\"网络\"]},"
                     "{\"title\":\"三\",\"type\":\"single\",\"count\":10,\"points\":1,\"scope\":[\"B-01\"]},"
                     "{\"title\":\"四\",\"type\":\"composite\",\"count\":2,\"points\":5}]}";
    bank_tpl t = parse_ok(tj);
    bank_plan *pl = plan_ok(&t, NULL, &pool, 0);
    for (uint64_t seed = 1; seed <= 200; seed++) {
        bank_paper pp;
        char why[256];
        cr_assert_eq(bank_plan_generate(pl, seed, NULL, A, &pp, why, sizeof why), 0, "%s", why);
        cr_assert_eq(bank_plan_check(pl, &pp, &D), 0, "%s", D.n ? D.lines[0] : "");
        long long dsum = 0, pts = 0;
        for (int k = 0; k < pp.n; k++) {
            const bank_paper_item *it = &pp.items[k];
            const bank_pool_item *pi = &pool.items[it->pool];
            dsum += (long long)it->points_centi * pi->difficulty;
            pts += it->points_centi;
            if (it->section == 1) {
                cr_assert(pi->difficulty >= 3 && pi->n_tags == 1);
            }
            if (it->section == 2) cr_assert(!strncmp(pi->point_code, "B-01-", 5), "%s", pi->point_code);
            if (it->section == 3) {
                cr_assert_eq(it->n_children, 2);
                cr_assert_eq((int)strlen(it->children[0].perm), 4);
                cr_assert_str_eq(it->children[1].perm, "");
                cr_assert_eq(it->children[0].id, pi->children[0].id);
            }
        }
        cr_assert_eq(pts, 8000);
        double mean = (double)dsum / (double)pts;
        cr_assert(mean >= 3.5 - 1e-9 && mean <= 3.7 + 1e-9, "seed %llu: mean %.3f",
                  (unsigned long long)seed, mean);
        check_perms(&pp, &pool, &t);
    }
}

Test(type_mode, exposure_stays_under_the_cap, .init = kc_setup, .fini = kc_teardown)
{
    bank_blueprint bp;
    make_bp(&bp);
    bank_pool pool;
    make_pool(&pool, 2, &bp, (pool_spec){.per_point = 1, .dmax = 5});
    /* 40 single choice items; 10 per paper at 30 % over 200 papers: each on at most 60 */
    const char *tj = "{\"code\":\"X\",\"title\":\"x\",\"mode\":\"type\",\"total\":10,\"exposure_cap\":30,"
                     "\"sections\":[{\"title\":\"一\",\"type\":\"single\",\"count\":10,\"points\":1}]}";
    bank_tpl t = parse_ok(tj);
    bank_plan *pl = plan_ok(&t, NULL, &pool, 200);
    uint32_t *count = kc_arena_alloc(A, pool.n * sizeof *count);
    bank_exposure e = {count, bank_exposure_limit(30, 200), 0};
    cr_assert_eq(e.limit, 60);
    for (uint64_t s = 0; s < 200; s++) {
        bank_paper pp;
        char why[256];
        cr_assert_eq(bank_plan_generate(pl, bank_seed_derive(99, s), &e, A, &pp, why, sizeof why), 0,
                     "paper %llu: %s", (unsigned long long)s, why);
        cr_assert_eq(bank_plan_check(pl, &pp, &D), 0);
    }
    uint32_t sum = 0;
    for (size_t i = 0; i < pool.n; i++) {
        cr_assert_leq(count[i], 60, "%s on %u papers", pool.items[i].uid, count[i]);
        sum += count[i];
    }
    cr_assert_eq(sum, 2000);
    /* the bank allows no more: the next paper is refused */
    for (size_t i = 0; i < pool.n; i++)
        if (pool.items[i].type == BANK_SINGLE) count[i] = 60;
    bank_paper pp;
    char why[256];
    cr_assert_eq(bank_plan_generate(pl, 1, &e, A, &pp, why, sizeof why), KC_EINVAL);
    cr_assert(strstr(why, "ran out of items"), "%s", why);
    D.n = 0;
    /* at 10 % over 400 papers each item may be on 40: 10 per paper need 100 items */
    t.exposure_cap_pct = 10;
    cr_assert_eq(bank_plan_make(&t, NULL, &pool, 400, A, &pl, &D), 1);
    EXPECT("t.json:1: 一: needs 100 items for an exposure cap of 10% over 400 papers (each item on "
           "at most 40), the approved bank has 60 (short by 40)");
    D.n = 0;
    cr_assert_eq(bank_plan_make(&t, NULL, &pool, 0, A, &pl, &D), 1);
    EXPECT("t.json:1: 一: needs 100 items for an exposure cap of 10%, the approved bank has 60 "
           "(short by 40)");
}

Test(type_mode, overlapping_sections_and_short_supply, .init = kc_setup, .fini = kc_teardown)
{
    bank_blueprint bp;
    make_bp(&bp);
    bank_pool pool;
    make_pool(&pool, 2, &bp, (pool_spec){.per_point = 1, .dmax = 5});
    /* 40 single choice (+20 without a point): 30 + 25 from the same 60 */
    const char *tj = "{\"code\":\"O\",\"title\":\"o\",\"mode\":\"type\",\"total\":55,"
                     "\"sections\":[{\"title\":\"一\",\"type\":\"single\",\"count\":30,\"points\":1},"
                     "{\"title\":\"二\",\"type\":\"single\",\"count\":25,\"points\":1}]}";
    bank_tpl t = parse_ok(tj);
    bank_plan *pl = plan_ok(&t, NULL, &pool, 0);
    for (uint64_t s = 1; s < 50; s++) {
        bank_paper pp;
        char why[256];
        cr_assert_eq(bank_plan_generate(pl, s, NULL, A, &pp, why, sizeof why), 0, "%s", why);
        cr_assert_eq(bank_plan_check(pl, &pp, &D), 0, "%s", D.n ? D.lines[0] : "");
    }
    const char *tj2 = "{\"code\":\"O\",\"title\":\"o\",\"mode\":\"type\",\"total\":65,"
                      "\"sections\":[{\"title\":\"一\",\"type\":\"single\",\"count\":30,\"points\":1},"
                      "{\"title\":\"二\",\"type\":\"single\",\"count\":35,\"points\":1}]}";
    t = parse_ok(tj2);
    cr_assert_eq(bank_plan_make(&t, NULL, &pool, 0, A, &pl, &D), 1);
    expect_line_with("needs 35 items that no other section takes, the approved bank has 30 (short by 5)",
                     NULL, NULL);
}

/* ---- fixed papers ---- */

Test(fixed_mode, listed_order_points_and_unknown_items, .init = kc_setup, .fini = kc_teardown)
{
    bank_blueprint bp;
    make_bp(&bp);
    bank_pool pool;
    make_pool(&pool, 2, &bp, (pool_spec){.per_point = 1, .dmax = 5});
    /* U00000 single, U00001 multi, U00002 tf (point A-01-01-001) */
    const char *tj = "{\"code\":\"F\",\"title\":\"f\",\"mode\":\"fixed\",\"total\":6,"
                     "\"sections\":[{\"title\":\"一\",\"type\":\"single\",\"items\":[\"U00003\",\"U00000\"]},"
                     "{\"title\":\"二\",\"type\":\"multi\",\"points\":1.5,\"items\":[\"U00004\",{\"uid\":\"U00001\",\"points\":2.5}]}]}";
    bank_tpl t = parse_ok(tj);
    bank_plan *pl = plan_ok(&t, NULL, &pool, 0);
    for (uint64_t s = 1; s < 20; s++) {
        bank_paper pp;
        char why[256];
        cr_assert_eq(bank_plan_generate(pl, s, NULL, A, &pp, why, sizeof why), 0, "%s", why);
        cr_assert_eq(bank_plan_check(pl, &pp, &D), 0, "%s", D.n ? D.lines[0] : "");
        cr_assert_eq(pp.n, 4);
        cr_assert_str_eq(pool.items[pp.items[0].pool].uid, "U00003");
        cr_assert_str_eq(pool.items[pp.items[1].pool].uid, "U00000");
        cr_assert_str_eq(pool.items[pp.items[2].pool].uid, "U00004");
        cr_assert_str_eq(pool.items[pp.items[3].pool].uid, "U00001");
        cr_assert_eq(pp.items[0].points_centi, 100);
        cr_assert_eq(pp.items[2].points_centi, 150);
        cr_assert_eq(pp.items[3].points_centi, 250);
        cr_assert_eq(pp.total_centi, 600);
        check_perms(&pp, &pool, &t);
    }
    /* shuffled on request: the same items, points still per item */
    t.shuffle_items = 1;
    int moved = 0;
    for (uint64_t s = 1; s < 20; s++) {
        bank_paper pp;
        char why[256];
        cr_assert_eq(bank_plan_generate(pl, s, NULL, A, &pp, why, sizeof why), 0, "%s", why);
        cr_assert_eq(bank_plan_check(pl, &pp, &D), 0, "%s", D.n ? D.lines[0] : "");
        moved += strcmp(pool.items[pp.items[0].pool].uid, "U00003") != 0;
        for (int k = 0; k < pp.n; k++)
            if (!strcmp(pool.items[pp.items[k].pool].uid, "U00001")) cr_assert_eq(pp.items[k].points_centi, 250);
    }
    cr_assert_gt(moved, 0);
    const char *bad = "{\"code\":\"F\",\"title\":\"f\",\"mode\":\"fixed\",\"total\":4,"
                      "\"sections\":[{\"title\":\"一\",\"type\":\"single\",\"points\":1,"
                      "\"items\":[\"U00000\",\"X-01\",\"U00001\",\"U00000\"]}]}";
    t = parse_ok(bad);
    cr_assert_eq(bank_plan_make(&t, NULL, &pool, 0, A, &pl, &D), 3);
    EXPECT("t.json:1: sections[0].items[1]: X-01 is not an approved item",
           "t.json:1: sections[0].items[2]: U00001 is a 多选题, the section takes 单选题",
           "t.json:1: sections[0].items[3]: U00000 is on the paper twice (also item 1)");
}

/* ---- responses ---- */

Test(unshuffle, letters_map_through_the_permutation)
{
    char out[16];
    cr_assert_eq(bank_response_unshuffle(BANK_SINGLE, "CADB", "A", out, sizeof out), 0);
    cr_assert_str_eq(out, "C");
    cr_assert_eq(bank_response_unshuffle(BANK_MULTI, "CADB", "ABD", out, sizeof out), 0);
    cr_assert_str_eq(out, "ABC");
    cr_assert_eq(bank_response_unshuffle(BANK_MULTI, "CADB", "AAB", out, sizeof out), 0);
    cr_assert_str_eq(out, "AC");
    cr_assert_eq(bank_response_unshuffle(BANK_SINGLE, "CADB", "", out, sizeof out), 0);
    cr_assert_str_eq(out, "");
    cr_assert_eq(bank_response_unshuffle(BANK_SINGLE, "CADB", "E", out, sizeof out), KC_EINVAL);
    cr_assert_eq(bank_response_unshuffle(BANK_MULTI, "BA", "AC", out, sizeof out), KC_EINVAL);
    cr_assert_eq(bank_response_unshuffle(BANK_TF, "", "T", out, sizeof out), 0);
    cr_assert_str_eq(out, "T");
    cr_assert_eq(bank_response_unshuffle(BANK_FILL, "", "a\x1f" "b", out, sizeof out), 0);
    cr_assert_str_eq(out, "a\x1f" "b");
    cr_assert_eq(bank_response_unshuffle(BANK_ESSAY, NULL, "a long essay", out, 4), KC_EINVAL);
}

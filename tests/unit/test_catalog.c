/* bank catalog: occupation codes, levels, parts, blueprint validation. */
#include <criterion/criterion.h>
#include <string.h>

#include "kc_test.h"

static bank_blueprint B;

static void setup(void)
{
    kc_setup();
    bank_blueprint_init(&B, A);
    B.file = "bp.csv";
}

TestSuite(catalog, .init = setup, .fini = kc_teardown);


Test(catalog, occupation_codes)
{
    cr_assert(bank_occupation_code_valid("4-04-04-02"));
    cr_assert(bank_occupation_code_valid("4-10-04-02"));
    cr_assert_not(bank_occupation_code_valid("4-4-04-02"));
    cr_assert_not(bank_occupation_code_valid("4-04-04-022"));
    cr_assert_not(bank_occupation_code_valid("4-04-04-0a"));
    cr_assert_not(bank_occupation_code_valid("4_04_04_02"));
    cr_assert_not(bank_occupation_code_valid(""));
    cr_assert_not(bank_occupation_code_valid(NULL));
}

Test(catalog, levels)
{
    const struct { const char *s; int level; } ok[] = {
        {"四级", 4}, {"4级", 4}, {"4", 4}, {"中级工", 4}, {"L4", 4}, {"l4", 4}, {"四级/中级工", 4},
        {"Level 4", 4}, {" 四级 ", 4}, {"４级", 4}, {"五级", 5}, {"初级工", 5}, {"三级/高级工", 3},
        {"技师", 2}, {"二级", 2}, {"高级技师", 1}, {"一级/高级技师", 1}, {"L1", 1}, {"5", 5},
        {"中级", 4}, {"高级", 3},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        cr_expect_eq(bank_level_parse(ok[i].s), ok[i].level, "%s", ok[i].s);
    const char *bad[] = {"", "六级", "0", "6", "L6", "四级/高级工", "level", "4级工", "专家", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(bank_level_parse(bad[i]), -1, "%s", bad[i] ? bad[i] : "(null)");
    cr_assert_str_eq(bank_level_name(4), "四级/中级工");
    cr_assert_str_eq(bank_level_name(1), "一级/高级技师");
    cr_assert_str_eq(bank_level_name(5), "五级/初级工");
    cr_assert_null(bank_level_name(0));
    cr_assert_null(bank_level_name(6));
    for (int l = 1; l <= 5; l++) cr_assert_eq(bank_level_parse(bank_level_name(l)), l);
}

Test(catalog, parts)
{
    enum bank_part p = 0;
    const char *theory[] = {"theory", "THEORY", "理论", "理论知识"}, *skills[] = {"skills", "技能", "操作技能", "技能操作"};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(bank_part_parse(theory[i], &p), 0);
        cr_assert_eq(p, BANK_PART_THEORY);
        cr_assert_eq(bank_part_parse(skills[i], &p), 0);
        cr_assert_eq(p, BANK_PART_SKILLS);
    }
    cr_assert_eq(bank_part_parse("实操", &p), -1);
    cr_assert_eq(bank_part_parse(NULL, &p), -1);
    cr_assert_str_eq(bank_part_name(BANK_PART_THEORY), "theory");
    cr_assert_str_eq(bank_part_name(BANK_PART_SKILLS), "skills");
}

static int node(int line, int depth, int is_point, const char *code, const char *name, int w, char imp,
                int parent)
{
    bank_bp_node *n = bank_blueprint_push(&B);
    cr_assert_not_null(n);
    cr_assert_eq(n->parent, -1);
    n->line = line;
    n->depth = depth;
    n->is_point = is_point;
    n->code = code;
    n->name = name;
    n->weight_centi = w;
    n->importance = imp;
    n->parent = parent;
    return (int)B.n - 1;
}

/* A small theory blueprint: two top ranges, 40 % + 60 %. */
static void good_blueprint(void)
{
    int a = node(2, 1, 0, "A", "基础知识", 4000, 0, -1);
    int a1 = node(3, 2, 0, "A-01", "职业道德", 1000, 0, a);
    node(4, 3, 1, "A-01-001", "职业道德基本知识", 0, 'X', a1);
    int a2 = node(5, 2, 0, "A-02", "计算机基础", 3000, 0, a);
    node(6, 3, 1, "A-02-001", "计算机组成", 0, 'Y', a2);
    node(7, 3, 1, "A-02-002", "操作系统", 0, 'Z', a2);
    int b = node(8, 1, 0, "B", "相关知识", 6000, 0, -1);
    node(9, 2, 1, "B-001", "网络安全法", 0, 'X', b);
}

Test(catalog, good_blueprint_validates_and_finds)
{
    good_blueprint();
    cr_assert_eq(bank_blueprint_validate(&B, &D), 0);
    cr_assert_eq(D.n, 0, "%s", D.n ? D.lines[0] : "");
    cr_assert_eq(bank_blueprint_find(&B, "A-02-002"), 5);
    cr_assert_eq(bank_blueprint_find(&B, "nope"), -1);
    cr_assert_eq(bank_blueprint_find(&B, NULL), -1);
    for (int i = 0; i < 200; i++) cr_assert_not_null(bank_blueprint_push(&B));
    cr_assert_str_eq(B.nodes[5].code, "A-02-002");
}

Test(catalog, weights_that_do_not_add_up)
{
    good_blueprint();
    B.nodes[3].weight_centi = 2500;     /* 10 + 25 != 40 */
    B.nodes[6].weight_centi = 5550;     /* B: 40 + 55.5 != 100 */
    cr_assert_eq(bank_blueprint_validate(&B, &D), 2);
    EXPECT("bp.csv:2: 鉴定比重: the ranges under A add up to 35 %, expected 40 %",
           "bp.csv:2: 鉴定比重: the top-level ranges add up to 95.5 %, expected 100 %");
}

Test(catalog, structure_problems)
{
    good_blueprint();
    B.nodes[1].code = "A-02";           /* duplicate code */
    B.nodes[2].importance = 'Q';
    B.nodes[4].name = "";
    B.nodes[7].weight_centi = 500;      /* a point with a weight */
    node(10, 1, 0, "C", "空范围", 0, 0, -1);
    node(11, 1, 1, "P", "孤立的点", 0, 'X', -1);
    node(12, 3, 0, "D", "跳级", 100, 0, 6);
    B.occupation = "4-04-4-02";
    cr_assert_eq(bank_blueprint_validate(&B, &D), 10);
    EXPECT("bp.csv: 职业代码: 4-04-4-02 is not an occupation code N-NN-NN-NN such as 4-04-04-02",
           "bp.csv:4: 重要程度: is not X, Y or Z; every 鉴定点 needs one",
           "bp.csv:5: 代码: A-02 is also used on line 3",
           "bp.csv:6: 名称: is empty",
           "bp.csv:9: 鉴定比重: a 鉴定点 has no weight; weights belong to the 鉴定范围 above it",
           "bp.csv:10: 鉴定比重: is empty or 0; a 鉴定范围 needs its weight in %",
           "bp.csv:11: 级别: a 鉴定点 must come after the 鉴定范围 it belongs to",
           "bp.csv:12: 级别: a 鉴定范围 of depth 3 needs one of depth 2 above it",
           "bp.csv:10: 代码: the 鉴定范围 C has no 鉴定点 or sub-ranges under it",
           "bp.csv:12: 代码: the 鉴定范围 D has no 鉴定点 or sub-ranges under it");
}

Test(catalog, empty_blueprint)
{
    cr_assert_eq(bank_blueprint_validate(&B, &D), 1);
    EXPECT("bp.csv:1: file: has no 鉴定范围 or 鉴定点 rows");
}

/* The catalog: occupation codes, levels, parts, and blueprints (鉴定要素细目表). */
#include "bank.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BP_CODE_MAX 64      /* blueprint_node.code VARCHAR(64) */
#define BP_NAME_MAX 255     /* blueprint_node.name VARCHAR(255) */

int bank_occupation_code_valid(const char *s)
{
    /* N-NN-NN-NN */
    static const char shape[] = "9-99-99-99";
    if (!s || strlen(s) != sizeof shape - 1) return 0;
    for (size_t i = 0; shape[i]; i++) {
        if (shape[i] == '-' ? s[i] != '-' : (s[i] < '0' || s[i] > '9')) return 0;
    }
    return 1;
}

/* ---- levels ---- */

static const char *const LEVEL_NAME[6] = {
    NULL, "一级/高级技师", "二级/技师", "三级/高级工", "四级/中级工", "五级/初级工",
};
static const char *const LEVEL_CN[6] = {NULL, "一级", "二级", "三级", "四级", "五级"};
static const char *const LEVEL_GRADE[6] = {NULL, "高级技师", "技师", "高级工", "中级工", "初级工"};

const char *bank_level_name(int level)
{
    return level >= 1 && level <= 5 ? LEVEL_NAME[level] : NULL;
}

/* Copies s without white space (ASCII, U+3000), full-width ASCII folded; 0 or -1. */
static int squeeze(const char *s, char *out, size_t outlen)
{
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p == ' ' || (*p >= '\t' && *p <= '\r')) { p++; continue; }
        if (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) { p += 3; continue; }
        /* U+FF01..U+FF5E: EF BC 81..EF BD 9E */
        if (p[0] == 0xEF && (p[1] == 0xBC || p[1] == 0xBD) && p[2] >= 0x80 && p[2] <= 0xBF) {
            unsigned cp = ((p[1] & 0x3Fu) << 6 | (p[2] & 0x3Fu)) + 0xF000u;
            if (cp >= 0xFF01 && cp <= 0xFF5E) {
                if (o + 1 >= outlen) return -1;
                out[o++] = (char)(cp - 0xFEE0);
                p += 3;
                continue;
            }
        }
        if (o + 1 >= outlen) return -1;
        out[o++] = (char)*p++;
    }
    out[o] = 0;
    return 0;
}

/* One spelling of one level: 四级, 4级, 4, L4, Level 4, 中级工 (and 中级). */
static int level_one(const char *s)
{
    if (s[0] >= '1' && s[0] <= '5') {
        if (!s[1] || strcmp(s + 1, "级") == 0) return s[0] - '0';
        return -1;
    }
    if ((s[0] == 'L' || s[0] == 'l') && s[1] >= '1' && s[1] <= '5' && !s[2]) return s[1] - '0';
    if (strncasecmp(s, "level", 5) == 0 && s[5] >= '1' && s[5] <= '5' && !s[6]) return s[5] - '0';
    for (int i = 1; i <= 5; i++) {
        if (strcmp(s, LEVEL_CN[i]) == 0 || strcmp(s, LEVEL_GRADE[i]) == 0) return i;
        /* 初级, 中级, 高级: the grade without 工 */
        size_t n = strlen(LEVEL_GRADE[i]);
        if (i >= 3 && strncmp(s, LEVEL_GRADE[i], n - 3) == 0 && !s[n - 3]) return i;
    }
    return -1;
}

int bank_level_parse(const char *s)
{
    char buf[64];
    if (!s || squeeze(s, buf, sizeof buf) || !*buf) return -1;
    char *slash = strchr(buf, '/');
    if (!slash) slash = strstr(buf, "／");
    if (!slash) return level_one(buf);
    /* "四级/中级工": both halves must name the same level */
    size_t seplen = *slash == '/' ? 1 : strlen("／");
    *slash = 0;
    int a = level_one(buf), b = level_one(slash + seplen);
    return a > 0 && a == b ? a : -1;
}

/* ---- parts ---- */

const char *bank_part_name(enum bank_part p)
{
    return p == BANK_PART_THEORY ? "theory" : p == BANK_PART_SKILLS ? "skills" : "unknown";
}

int bank_part_parse(const char *s, enum bank_part *out)
{
    static const struct { const char *name; enum bank_part p; } NAMES[] = {
        {"theory", BANK_PART_THEORY}, {"理论", BANK_PART_THEORY}, {"理论知识", BANK_PART_THEORY},
        {"skills", BANK_PART_SKILLS}, {"技能", BANK_PART_SKILLS}, {"操作技能", BANK_PART_SKILLS},
        {"技能操作", BANK_PART_SKILLS},
    };
    for (size_t i = 0; s && i < sizeof NAMES / sizeof NAMES[0]; i++)
        if (strcasecmp(s, NAMES[i].name) == 0) {
            *out = NAMES[i].p;
            return 0;
        }
    return -1;
}

/* ---- blueprints ---- */

void bank_blueprint_init(bank_blueprint *b, kc_arena *a)
{
    memset(b, 0, sizeof *b);
    b->arena = a;
}

bank_bp_node *bank_blueprint_push(bank_blueprint *b)
{
    if (!b || !b->arena) return NULL;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        bank_bp_node *nodes = kc_arena_alloc(b->arena, cap * sizeof *nodes);
        if (!nodes) return NULL;
        if (b->n) memcpy(nodes, b->nodes, b->n * sizeof *nodes);
        b->nodes = nodes;
        b->cap = cap;
    }
    bank_bp_node *n = &b->nodes[b->n++];
    memset(n, 0, sizeof *n);
    n->parent = -1;
    return n;
}

int bank_blueprint_find(const bank_blueprint *b, const char *code)
{
    for (size_t i = 0; code && i < b->n; i++)
        if (b->nodes[i].code && strcmp(b->nodes[i].code, code) == 0) return (int)i;
    return -1;
}

/* 2500 -> "25", 1250 -> "12.5", 1234 -> "12.34" */
static const char *pct(long c, char *buf, size_t len)
{
    if (c % 100 == 0) snprintf(buf, len, "%ld", c / 100);
    else if (c % 10 == 0) snprintf(buf, len, "%ld.%ld", c / 100, c % 100 / 10);
    else snprintf(buf, len, "%ld.%02ld", c / 100, c % 100);
    return buf;
}

static long chars_of(const char *s)
{
    long n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) n += (*p & 0xC0) != 0x80;
    return n;
}

int bank_blueprint_validate(const bank_blueprint *b, kc_diag *d)
{
    const char *f = b->file ? b->file : "-";
    int bad = 0;
    char b1[32], b2[32], cb[72];
    if (b->occupation && !bank_occupation_code_valid(b->occupation)) {
        kc_diag_add(d, f, 0, "职业代码", "%s is not an occupation code N-NN-NN-NN such as 4-04-04-02",
                      bank_text_clip(b->occupation, cb, sizeof cb));
        bad++;
    }
    if (b->level && (b->level < 1 || b->level > 5)) {
        kc_diag_add(d, f, 0, "等级", "%d is not a level from 1 to 5", b->level);
        bad++;
    }
    if (!b->n) {
        kc_diag_add(d, f, 1, "file", "has no 鉴定范围 or 鉴定点 rows");
        return bad + 1;
    }
    int *kids = calloc(b->n, sizeof *kids), *range_kids = calloc(b->n, sizeof *range_kids);
    long *sum = calloc(b->n, sizeof *sum);
    if (!kids || !range_kids || !sum) {
        free(kids); free(range_kids); free(sum);
        return bad + 1;
    }
    long top_sum = 0;
    int top_ranges = 0, first_top_line = 0, structure_ok = 1;
    for (size_t i = 0; i < b->n; i++) {
        const bank_bp_node *n = &b->nodes[i];
        if (!n->code || !*n->code) {
            kc_diag_add(d, f, n->line, "代码", "is empty");
            bad++;
        } else if (chars_of(n->code) > BP_CODE_MAX) {
            kc_diag_add(d, f, n->line, "代码", "is longer than %d characters", BP_CODE_MAX);
            bad++;
        } else {
            int first = bank_blueprint_find(b, n->code);
            if (first >= 0 && (size_t)first < i) {
                kc_diag_add(d, f, n->line, "代码", "%s is also used on line %d",
                              bank_text_clip(n->code, cb, sizeof cb), b->nodes[first].line);
                bad++;
            }
        }
        if (!n->name || !*n->name) {
            kc_diag_add(d, f, n->line, "名称", "is empty");
            bad++;
        } else if (chars_of(n->name) > BP_NAME_MAX) {
            kc_diag_add(d, f, n->line, "名称", "is longer than %d characters", BP_NAME_MAX);
            bad++;
        }
        const bank_bp_node *p = n->parent >= 0 && (size_t)n->parent < i ? &b->nodes[n->parent] : NULL;
        if (n->parent >= 0 && !p) {
            kc_diag_add(d, f, n->line, "级别", "refers to a node that does not come before it");
            bad++;
            structure_ok = 0;
            continue;
        }
        if (n->is_point) {
            if (n->importance != 'X' && n->importance != 'Y' && n->importance != 'Z') {
                kc_diag_add(d, f, n->line, "重要程度", "is not X, Y or Z; every 鉴定点 needs one");
                bad++;
            }
            if (n->weight_centi) {
                kc_diag_add(d, f, n->line, "鉴定比重",
                              "a 鉴定点 has no weight; weights belong to the 鉴定范围 above it");
                bad++;
            }
            if (!p || p->is_point) {
                kc_diag_add(d, f, n->line, "级别", "a 鉴定点 must come after the 鉴定范围 it belongs to");
                bad++;
                structure_ok = 0;
            } else {
                kids[n->parent]++;
            }
            continue;
        }
        if (n->importance) {
            kc_diag_add(d, f, n->line, "重要程度", "only a 鉴定点 has X, Y or Z");
            bad++;
        }
        if (n->weight_centi <= 0 || n->weight_centi > 10000) {
            if (n->weight_centi <= 0)
                kc_diag_add(d, f, n->line, "鉴定比重", "is empty or 0; a 鉴定范围 needs its weight in %%");
            else
                kc_diag_add(d, f, n->line, "鉴定比重", "%s %% is more than 100 %%",
                              pct(n->weight_centi, b1, sizeof b1));
            bad++;
            structure_ok = 0;
        }
        if (n->depth < 1 || (p && (p->is_point || p->depth != n->depth - 1)) || (!p && n->depth != 1)) {
            if (n->depth <= 1)
                kc_diag_add(d, f, n->line, "级别", "%d is not a depth of 1 or more", n->depth);
            else
                kc_diag_add(d, f, n->line, "级别", "a 鉴定范围 of depth %d needs one of depth %d above it",
                              n->depth, n->depth - 1);
            bad++;
            structure_ok = 0;
            continue;
        }
        if (p) {
            kids[n->parent]++;
            range_kids[n->parent]++;
            sum[n->parent] += n->weight_centi;
        } else {
            if (!top_ranges++) first_top_line = n->line;
            top_sum += n->weight_centi;
        }
    }
    for (size_t i = 0; i < b->n; i++) {
        const bank_bp_node *n = &b->nodes[i];
        if (n->is_point) continue;
        if (!kids[i]) {
            kc_diag_add(d, f, n->line, "代码", "the 鉴定范围 %s has no 鉴定点 or sub-ranges under it",
                          bank_text_clip(n->code ? n->code : "", cb, sizeof cb));
            bad++;
        } else if (structure_ok && range_kids[i] && sum[i] != n->weight_centi) {
            kc_diag_add(d, f, n->line, "鉴定比重", "the ranges under %s add up to %s %%, expected %s %%",
                          bank_text_clip(n->code ? n->code : "", cb, sizeof cb), pct(sum[i], b1, sizeof b1),
                          pct(n->weight_centi, b2, sizeof b2));
            bad++;
        }
    }
    if (structure_ok && top_ranges && top_sum != 10000) {
        kc_diag_add(d, f, first_top_line, "鉴定比重", "the top-level ranges add up to %s %%, expected 100 %%",
                      pct(top_sum, b1, sizeof b1));
        bad++;
    }
    free(kids);
    free(range_kids);
    free(sum);
    return bad;
}

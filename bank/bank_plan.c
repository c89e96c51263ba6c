/* bank: plans (a template checked against a pool, with quotas per 鉴定范围) and the papers
 * drawn from them: generation, reordering for parallel forms, checking, and the
 * equivalence report of forms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bank_int.h"

/* One (section, 鉴定范围) of a plan: draw quota items from elig. elig holds the X items
 * first, then Y, then Z (type and fixed mode: all count as X). */
typedef struct plan_cell {
    int section;
    int range;                  /* blueprint node of the 鉴定范围, -1 outside blueprint mode */
    int quota;
    uint32_t n, nx, ny;
    uint32_t *elig;             /* pool indices; fixed mode: the listed items in order */
} plan_cell;

struct bank_plan {
    const bank_tpl *t;
    const bank_blueprint *bp;
    const bank_pool *pool;
    int n_papers;
    int n_cells;
    plan_cell *cells;           /* section order, then outline order */
    int n_items;                /* items per paper */
    int *sec_cell;              /* first cell of each section; [n_sections] = n_cells */
    int *fixed_pts;             /* fixed mode: points per listed item, cell after cell */
    int ymax, zmax, nonx_max;   /* importance caps per paper (blueprint mode) */
    unsigned char *cls;         /* per pool item: 0 X, 1 Y, 2 Z */
    int32_t *pt;                /* per pool item: its 鉴定点 node, -1 */
    unsigned char **mark;       /* per section with a scope and a blueprint: nodes in scope */
    /* scratch of generation (so a plan serves one thread) */
    uint32_t *stamp, *pt_stamp, cur;
    uint32_t *picked, *cand, *tmp;
    int *pcell, *forced, *soft;     /* soft: Y/Z shares under an exposure limit */
    size_t cand_cap;
};

const bank_tpl *bank_plan_tpl(const bank_plan *p) { return p->t; }
const bank_pool *bank_plan_pool(const bank_plan *p) { return p->pool; }

static const char *centi(char *buf, size_t n, long long c)
{
    snprintf(buf, n, "%s%lld.%02lld", c < 0 ? "-" : "", llabs(c) / 100, llabs(c) % 100);
    return buf;
}

static const char *sec_name(const bank_tpl *t, int s, char *buf, size_t n)
{
    if (t->sections[s].title) return t->sections[s].title;
    snprintf(buf, n, "sections[%d]", s);
    return buf;
}

static int has_tag(const bank_pool_item *it, const char *tag)
{
    for (int k = 0; k < it->n_tags; k++)
        if (!strcmp(it->tags[k], tag)) return 1;
    return 0;
}

/* Without a blueprint a scope code takes the 鉴定点 itself and the codes under it
 * ("A-01" takes "A-01-02" and "A-01.3"). */
static int code_under(const char *code, const char *scope)
{
    size_t n = strlen(scope);
    return !strncmp(code, scope, n) && (code[n] == 0 || code[n] == '-' || code[n] == '.');
}

/* Whether pool item i may stand in section s (type, difficulty, tags, scope). */
static int eligible(const bank_plan *P, int s, uint32_t i)
{
    const bank_tpl_section *sec = &P->t->sections[s];
    const bank_pool_item *it = &P->pool->items[i];
    if (it->type != sec->type) return 0;
    if ((sec->dmin || P->t->diff_target_centi) && !it->difficulty) return 0;
    if (sec->dmin && (it->difficulty < sec->dmin || it->difficulty > sec->dmax)) return 0;
    for (int k = 0; k < sec->n_tags; k++)
        if (!has_tag(it, sec->tags[k])) return 0;
    if (P->t->mode == BANK_TPL_BLUEPRINT && P->pt[i] < 0) return 0;
    if (sec->n_scope) {
        if (P->mark && P->mark[s]) return P->pt[i] >= 0 && P->mark[s][P->pt[i]];
        if (!it->point_code) return 0;
        int ok = 0;
        for (int k = 0; k < sec->n_scope && !ok; k++) ok = code_under(it->point_code, sec->scope[k]);
        return ok;
    }
    return 1;
}

static int item_points(const bank_plan *P, int cell, int k, uint32_t i)
{
    const bank_tpl_section *sec = &P->t->sections[P->cells[cell].section];
    if (P->t->mode == BANK_TPL_FIXED) return P->fixed_pts[P->cells[cell].elig - P->cells[0].elig + k];
    (void)i;
    return sec->points_centi;
}

/* ---- plan ---- */

typedef struct plan_ctx {
    bank_plan *P;
    kc_diag *d;
    int problems, oom;
} plan_ctx;

__attribute__((format(printf, 4, 5)))
static void problem(plan_ctx *c, int line, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (kc_diag_vadd(c->d, c->P->t->file, line > 0 ? line : 1, field, fmt, ap)) c->oom = 1;
    va_end(ap);
    c->problems++;
}

static const char *cell_label(const bank_plan *P, const plan_cell *c, char *buf, size_t n)
{
    if (c->range < 0) {
        buf[0] = 0;
        return buf;
    }
    const bank_bp_node *r = &P->bp->nodes[c->range];
    snprintf(buf, n, "鉴定范围 %s (%s) ", r->code, r->name ? r->name : "");
    return buf;
}

typedef struct rank {
    int range;
    long long rem;
    double deficit;
} rank;

static int cmp_rank(const void *x, const void *y)
{
    const rank *a = x, *b = y;
    if (a->rem != b->rem) return a->rem > b->rem ? -1 : 1;
    if (a->deficit != b->deficit) return a->deficit > b->deficit ? -1 : 1;
    return a->range - b->range;
}

/* Blueprint mode: the cells of every section, with the quotas of each 鉴定范围. */
static int blueprint_cells(plan_ctx *c, kc_arena *a, int *nc, plan_cell *cells)
{
    bank_plan *P = c->P;
    const bank_blueprint *bp = P->bp;
    const bank_tpl *t = P->t;
    size_t nb = bp->n;
    unsigned char *leaf = kc_arena_alloc(a, nb + 1), *inscope = kc_arena_alloc(a, nb + 1);
    double *target = kc_arena_alloc(a, (nb + 1) * sizeof *target);
    double *alloc = kc_arena_alloc(a, (nb + 1) * sizeof *alloc);
    rank *rk = kc_arena_alloc(a, (nb + 1) * sizeof *rk);
    if (!leaf || !inscope || !target || !alloc || !rk) return KC_ENOMEM;
    for (size_t j = 0; j < nb; j++)
        if (bp->nodes[j].is_point && bp->nodes[j].parent >= 0) leaf[bp->nodes[j].parent] = 1;
    for (int s = 0; s < t->n_sections; s++) {
        const bank_tpl_section *sec = &t->sections[s];
        char nb_[32];
        P->sec_cell[s] = *nc;
        /* a range is in scope when one of its 鉴定点 is */
        int n = 0;
        long long W = 0;
        memset(inscope, 0, nb + 1);
        for (size_t q = 0; q < nb; q++)
            if (bp->nodes[q].is_point && bp->nodes[q].parent >= 0 &&
                (!sec->n_scope || P->mark[s][q]))
                inscope[bp->nodes[q].parent] = 1;
        for (size_t j = 0; j < nb; j++) {
            if (!leaf[j] || bp->nodes[j].weight_centi <= 0 || !inscope[j]) continue;
            rk[n++] = (rank){(int)j, 0, 0};
            W += bp->nodes[j].weight_centi;
        }
        if (!W) {
            problem(c, sec->line, sec_name(t, s, nb_, sizeof nb_),
                    "its scope holds no 鉴定范围 with a weight (鉴定比重)");
            continue;
        }
        long long left = sec->count;
        int *quota = (int *)kc_arena_alloc(a, (size_t)n * sizeof *quota);
        if (!quota) return KC_ENOMEM;
        for (int k = 0; k < n; k++) {
            long long w = bp->nodes[rk[k].range].weight_centi;
            quota[k] = (int)(sec->count * w / W);
            rk[k].rem = sec->count * w % W;
            rk[k].deficit = target[rk[k].range] - alloc[rk[k].range];
            left -= quota[k];
        }
        /* keep the ranges' original positions to find their quotas after sorting */
        int *pos = (int *)kc_arena_alloc(a, (nb + 1) * sizeof *pos);
        if (!pos) return KC_ENOMEM;
        for (int k = 0; k < n; k++) pos[rk[k].range] = k;
        qsort(rk, (size_t)n, sizeof *rk, cmp_rank);
        for (int k = 0; k < n && left > 0; k++, left--) quota[pos[rk[k].range]]++;
        for (int k = 0; k < n; k++) {
            int r = rk[k].range;
            long long w = bp->nodes[r].weight_centi;
            target[r] += (double)sec->count * sec->points_centi * (double)w / (double)W;
            alloc[r] += (double)quota[pos[r]] * sec->points_centi;
        }
        for (size_t j = 0; j < nb; j++) {
            if (!leaf[j] || !W) continue;
            int k = -1;
            for (int q = 0; q < n; q++)
                if (rk[q].range == (int)j) k = q;
            if (k < 0 || !quota[pos[j]]) continue;
            cells[*nc] = (plan_cell){.section = s, .range = (int)j, .quota = quota[pos[j]]};
            (*nc)++;
        }
    }
    P->sec_cell[t->n_sections] = *nc;
    return 0;
}

/* The eligible items of every cell, X before Y before Z. */
static int fill_cells(bank_plan *P, kc_arena *a)
{
    const bank_tpl *t = P->t;
    size_t np = P->pool->n;
    uint32_t *tmp = kc_arena_alloc(a, (np + 1) * sizeof *tmp);
    if (!tmp) return KC_ENOMEM;
    for (int s = 0; s < t->n_sections; s++) {
        int c0 = P->sec_cell[s], c1 = P->sec_cell[s + 1];
        if (c0 == c1) continue;
        size_t m = 0;
        for (size_t i = 0; i < np; i++)
            if (eligible(P, s, (uint32_t)i)) tmp[m++] = (uint32_t)i;
        for (int ci = c0; ci < c1; ci++) {
            plan_cell *c = &P->cells[ci];
            uint32_t n = 0;
            for (size_t k = 0; k < m; k++)
                if (c->range < 0 || P->bp->nodes[P->pt[tmp[k]]].parent == c->range) n++;
            c->elig = kc_arena_alloc(a, (n + 1) * sizeof *c->elig);
            if (!c->elig) return KC_ENOMEM;
            for (int cl = 0; cl < 3; cl++) {
                for (size_t k = 0; k < m; k++) {
                    uint32_t i = tmp[k];
                    if (P->cls[i] != cl) continue;
                    if (c->range >= 0 && P->bp->nodes[P->pt[i]].parent != c->range) continue;
                    c->elig[c->n++] = i;
                }
                if (cl == 0) c->nx = c->n;
                if (cl == 1) c->ny = c->n - c->nx;
            }
        }
    }
    return 0;
}

static int cmp_uid(const void *x, const void *y, void *pool)
{
    const bank_pool_item *it = ((const bank_pool *)pool)->items;
    return strcmp(it[*(const uint32_t *)x].uid, it[*(const uint32_t *)y].uid);
}

/* Fixed mode: one cell per section holding its listed items. */
static int fixed_cells(plan_ctx *c, kc_arena *a)
{
    bank_plan *P = c->P;
    const bank_tpl *t = P->t;
    const bank_pool *pool = P->pool;
    uint32_t *by_uid = kc_arena_alloc(a, (pool->n + 1) * sizeof *by_uid);
    int total = 0;
    for (int s = 0; s < t->n_sections; s++) total += t->sections[s].n_fixed;
    uint32_t *all = kc_arena_alloc(a, ((size_t)total + 1) * sizeof *all);
    P->fixed_pts = kc_arena_alloc(a, ((size_t)total + 1) * sizeof *P->fixed_pts);
    int *where = kc_arena_alloc(a, (pool->n + 1) * sizeof *where);
    if (!by_uid || !all || !P->fixed_pts || !where) return KC_ENOMEM;
    for (size_t i = 0; i < pool->n; i++) by_uid[i] = (uint32_t)i;
    qsort_r(by_uid, pool->n, sizeof *by_uid, cmp_uid, (void *)pool);
    int k = 0, sum_own = 0;
    long long sum = 0;
    for (int s = 0; s < t->n_sections; s++) {
        const bank_tpl_section *sec = &t->sections[s];
        plan_cell *cell = &P->cells[s];
        *cell = (plan_cell){.section = s, .range = -1, .elig = all + k};
        P->sec_cell[s] = s;
        for (int q = 0; q < sec->n_fixed; q++) {
            char f[64];
            snprintf(f, sizeof f, "sections[%d].items[%d]", s, q);
            size_t lo = 0, hi = pool->n;
            int64_t found = -1;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                int r = strcmp(pool->items[by_uid[mid]].uid, sec->fixed[q]);
                if (!r) {
                    found = by_uid[mid];
                    break;
                }
                if (r < 0) lo = mid + 1;
                else hi = mid;
            }
            if (found < 0) {
                problem(c, sec->line, f, "%s is not an approved item", sec->fixed[q]);
                continue;
            }
            const bank_pool_item *it = &pool->items[found];
            if (it->type != sec->type) {
                problem(c, sec->line, f, "%s is a %s, the section takes %s", it->uid,
                        bank_type_label(it->type), bank_type_label(sec->type));
                continue;
            }
            if (where[found]) {
                int w = where[found] - 1;
                problem(c, sec->line, f, "%s is on the paper twice (also item %d)", it->uid, w + 1);
                continue;
            }
            if (P->t->diff_target_centi && !it->difficulty) {
                problem(c, sec->line, f, "%s has no difficulty, and the template sets a target",
                        it->uid);
                continue;
            }
            where[found] = k + 1;
            int p = sec->fixed_points && sec->fixed_points[q] ? sec->fixed_points[q]
                    : sec->points_centi ? sec->points_centi : it->points_centi;
            if (!(sec->fixed_points && sec->fixed_points[q]) && !sec->points_centi) sum_own = 1;
            P->fixed_pts[k] = p;
            sum += p;
            all[k++] = (uint32_t)found;
            cell->n++;
        }
        cell->nx = cell->n;
        cell->quota = (int)cell->n;
    }
    P->sec_cell[t->n_sections] = t->n_sections;
    P->n_cells = t->n_sections;
    if (sum_own && !c->problems && sum != t->total_centi) {
        char b1[32], b2[32];
        problem(c, 1, "sections", "add up to %s points (with the items' own points), total is %s",
                centi(b1, sizeof b1, sum), centi(b2, sizeof b2, t->total_centi));
    }
    return 0;
}

/* Sections of one type may take the same items: each cell must still find its quota among
 * items no other cell takes (greedy, the most constrained cell first). */
static int overlap_check(plan_ctx *c, kc_arena *a)
{
    bank_plan *P = c->P;
    int nc = P->n_cells;
    int *order = kc_arena_alloc(a, ((size_t)nc + 1) * sizeof *order);
    uint32_t *taken = kc_arena_alloc(a, (P->pool->n + 1) * sizeof *taken);
    if (!order || !taken) return KC_ENOMEM;
    for (int i = 0; i < nc; i++) order[i] = i;
    for (int i = 1; i < nc; i++)
        for (int j = i; j > 0 && P->cells[order[j]].n < P->cells[order[j - 1]].n; j--) {
            int x = order[j];
            order[j] = order[j - 1];
            order[j - 1] = x;
        }
    for (int q = 0; q < nc; q++) {
        plan_cell *cell = &P->cells[order[q]];
        if ((int)cell->n < cell->quota) continue;   /* reported already */
        int got = 0;
        for (uint32_t k = 0; k < cell->n && got < cell->quota; k++)
            if (!taken[cell->elig[k]]) {
                taken[cell->elig[k]] = 1;
                got++;
            }
        if (got < cell->quota) {
            char nb[32], lb[256];
            const bank_tpl_section *sec = &P->t->sections[cell->section];
            problem(c, sec->line, sec_name(P->t, cell->section, nb, sizeof nb),
                    "%sneeds %d items that no other section takes, the approved bank has %d "
                    "(short by %d)", cell_label(P, cell, lb, sizeof lb), cell->quota, got,
                    cell->quota - got);
        }
    }
    return 0;
}

static void xyz_check(plan_ctx *c)
{
    bank_plan *P = c->P;
    int F = 0, minY = 0, minZ = 0;
    char ranges[512] = "";
    size_t rl = 0;
    for (int i = 0; i < P->n_cells; i++) {
        plan_cell *cell = &P->cells[i];
        int forced = cell->quota - (int)cell->nx, nz = (int)(cell->n - cell->nx - cell->ny);
        if (forced <= 0 || forced > (int)(cell->n - cell->nx)) continue;
        F += forced;
        if (forced > (int)cell->ny) minZ += forced - (int)cell->ny;
        if (forced > nz) minY += forced - nz;
        const char *code = P->bp->nodes[cell->range].code;
        if (!strstr(ranges, code) && rl + strlen(code) + 8 < sizeof ranges)
            rl += (size_t)snprintf(ranges + rl, sizeof ranges - rl, "%s%s", rl ? ", " : "", code);
    }
    if (!F) return;
    int allowed = P->ymax + P->zmax < P->nonx_max ? P->ymax + P->zmax : P->nonx_max;
    /* Y can be anywhere in [max(minY, F - zmax), min(ymax, F - minZ)] */
    int lo = minY > F - P->zmax ? minY : F - P->zmax, hi = P->ymax < F - minZ ? P->ymax : F - minZ;
    if (F <= allowed && lo <= hi) return;
    const bank_tpl *t = P->t;
    if (F > allowed)
        problem(c, 1, "importance",
                "at most %d%% Y (%d of %d) and %d%% Z (%d): ranges %s have too few X items, so "
                "%d Y/Z items would be needed (short by %d X items)", t->y_max_pct, P->ymax,
                P->n_items, t->z_max_pct, P->zmax, ranges, F, F - allowed);
    else
        problem(c, 1, "importance",
                "at most %d%% Y (%d of %d) and %d%% Z (%d): ranges %s have too few X items, and "
                "the Y/Z items they have would need %d Y and %d Z", t->y_max_pct, P->ymax,
                P->n_items, t->z_max_pct, P->zmax, ranges, minY, minZ);
}

static void difficulty_check(plan_ctx *c)
{
    bank_plan *P = c->P;
    const bank_tpl *t = P->t;
    if (!t->diff_target_centi) return;
    long long lo = 0, hi = 0, pts = 0;
    for (int i = 0; i < P->n_cells; i++) {
        plan_cell *cell = &P->cells[i];
        /* a short cell (reported already) counts with what it has */
        int quota = (int)cell->n < cell->quota ? (int)cell->n : cell->quota;
        if (t->mode == BANK_TPL_FIXED) {
            for (uint32_t k = 0; k < cell->n; k++) {
                int p = item_points(P, i, (int)k, cell->elig[k]);
                lo += (long long)p * P->pool->items[cell->elig[k]].difficulty;
                pts += p;
            }
            continue;
        }
        int by[6] = {0};
        for (uint32_t k = 0; k < cell->n; k++) by[P->pool->items[cell->elig[k]].difficulty]++;
        int p = t->sections[cell->section].points_centi, need = quota;
        for (int d = 1; d <= 5 && need; d++) {
            int take = by[d] < need ? by[d] : need;
            lo += (long long)p * d * take;
            need -= take;
        }
        need = quota;
        for (int d = 5; d >= 1 && need; d--) {
            int take = by[d] < need ? by[d] : need;
            hi += (long long)p * d * take;
            need -= take;
        }
        pts += (long long)p * quota;
    }
    if (!pts) return;
    if (t->mode == BANK_TPL_FIXED) hi = lo;
    long long tg = t->diff_target_centi, tol = t->diff_tol_centi;
    char b1[32], b2[32], b3[32];
    /* in hundredths: mean = 100 * sum / pts */
    if (hi * 100 < (tg - tol) * pts || lo * 100 > (tg + tol) * pts) {
        int easy = lo * 100 > (tg + tol) * pts;
        long long m = ((easy ? lo : hi) * 100 + pts / 2) / pts;
        problem(c, 1, "difficulty", "target %s ± %s cannot be reached: %s has mean %s",
                centi(b1, sizeof b1, tg), centi(b2, sizeof b2, tol),
                t->mode == BANK_TPL_FIXED ? "the fixed paper"
                : easy ? "the easiest paper the bank allows" : "the hardest paper the bank allows",
                centi(b3, sizeof b3, m));
    }
}

static long long ceil_div(long long a, long long b) { return (a + b - 1) / b; }

static void exposure_check(plan_ctx *c)
{
    bank_plan *P = c->P;
    const bank_tpl *t = P->t;
    if (t->exposure_cap_pct >= 100) return;
    uint32_t limit = bank_exposure_limit(t->exposure_cap_pct, P->n_papers);
    if (t->mode == BANK_TPL_FIXED) {
        if (P->n_papers != 1 && (!P->n_papers || (int)limit < P->n_papers))
            problem(c, 1, "exposure_cap", "a fixed paper puts every item on every paper: a cap of "
                    "%d%% cannot be kept", t->exposure_cap_pct);
        return;
    }
    for (int i = 0; i < P->n_cells; i++) {
        plan_cell *cell = &P->cells[i];
        if ((int)cell->n < cell->quota) continue;
        long long need = P->n_papers ? ceil_div((long long)cell->quota * P->n_papers, limit)
                                     : ceil_div((long long)cell->quota * 100, t->exposure_cap_pct);
        if (need <= (long long)cell->n) continue;
        char nb[32], lb[256], over[96] = "";
        if (P->n_papers)
            snprintf(over, sizeof over, " over %d papers (each item on at most %u)", P->n_papers, limit);
        const bank_tpl_section *sec = &t->sections[cell->section];
        problem(c, sec->line, sec_name(t, cell->section, nb, sizeof nb),
                "%sneeds %lld items for an exposure cap of %d%%%s, the approved bank has %u "
                "(short by %lld)", cell_label(P, cell, lb, sizeof lb), need, t->exposure_cap_pct,
                over, cell->n, need - (long long)cell->n);
    }
}


static int cmp_code(const void *x, const void *y, void *bp)
{
    const bank_bp_node *n = ((const bank_blueprint *)bp)->nodes;
    return strcmp(n[*(const uint32_t *)x].code, n[*(const uint32_t *)y].code);
}

static int gen_try(const bank_plan *P, bank_rng *r, const bank_exposure *e, char *why,
                   size_t whylen);

int bank_plan_make(const bank_tpl *t, const bank_blueprint *bp, const bank_pool *pool,
                   int n_papers, kc_arena *a, bank_plan **out, kc_diag *d)
{
    *out = NULL;
    bank_plan *P = kc_arena_alloc(a, sizeof *P);
    if (!P) return KC_ENOMEM;
    P->t = t;
    P->bp = bp;
    P->pool = pool;
    P->n_papers = n_papers < 0 ? 0 : n_papers;
    plan_ctx c = {P, d, 0, 0};
    if (t->n_sections <= 0 || !t->mode) {
        problem(&c, 1, "sections", "the template has no sections");
        return c.oom ? -1 : c.problems;
    }
    if (t->mode == BANK_TPL_BLUEPRINT && (!bp || !bp->n)) {
        problem(&c, 1, "mode", "a blueprint paper needs the blueprint (鉴定要素细目表) of %s %s",
                t->occupation ? t->occupation : "?",
                bank_level_name(t->level) ? bank_level_name(t->level) : "");
        return c.oom ? -1 : c.problems;
    }
    if (t->mode == BANK_TPL_BLUEPRINT && bp->occupation && t->occupation &&
        (strcmp(bp->occupation, t->occupation) || bp->level != t->level)) {
        problem(&c, 1, "mode", "the blueprint is of %s level %d, the template is for %s level %d",
                bp->occupation, bp->level, t->occupation, t->level);
        return c.oom ? -1 : c.problems;
    }
    if (t->mode != BANK_TPL_BLUEPRINT) bp = P->bp = (bp && bp->n ? bp : NULL);
    size_t np = pool->n, nb = bp ? bp->n : 0;
    P->cls = kc_arena_alloc(a, np + 1);
    P->pt = kc_arena_alloc(a, (np + 1) * sizeof *P->pt);
    P->stamp = kc_arena_alloc(a, (np + 1) * sizeof *P->stamp);
    P->pt_stamp = kc_arena_alloc(a, (nb + 1) * sizeof *P->pt_stamp);
    P->sec_cell = kc_arena_alloc(a, ((size_t)t->n_sections + 1) * sizeof *P->sec_cell);
    if (!P->cls || !P->pt || !P->stamp || !P->pt_stamp || !P->sec_cell) return KC_ENOMEM;
    for (size_t i = 0; i < np; i++) P->pt[i] = -1;
    /* each item's 鉴定点 and importance, through an index of the point codes */
    if (bp) {
        uint32_t *codes = kc_arena_alloc(a, (nb + 1) * sizeof *codes);
        if (!codes) return KC_ENOMEM;
        size_t m = 0;
        for (size_t j = 0; j < nb; j++)
            if (bp->nodes[j].is_point && bp->nodes[j].code && bp->nodes[j].parent >= 0)
                codes[m++] = (uint32_t)j;
        qsort_r(codes, m, sizeof *codes, cmp_code, (void *)bp);
        for (size_t i = 0; i < np; i++) {
            const char *pc = pool->items[i].point_code;
            size_t lo = 0, hi = m;
            while (pc && lo < hi) {
                size_t mid = (lo + hi) / 2;
                int cmp = strcmp(bp->nodes[codes[mid]].code, pc);
                if (!cmp) {
                    P->pt[i] = (int32_t)codes[mid];
                    break;
                }
                if (cmp < 0) lo = mid + 1;
                else hi = mid;
            }
            if (P->pt[i] >= 0 && t->mode == BANK_TPL_BLUEPRINT) {
                char imp = bp->nodes[P->pt[i]].importance;
                P->cls[i] = imp == 'Y' ? 1 : imp == 'Z' ? 2 : 0;
            }
        }
        /* scopes: a node is in scope when it or one of its ancestors is named */
        P->mark = kc_arena_alloc(a, (size_t)t->n_sections * sizeof *P->mark);
        if (!P->mark) return KC_ENOMEM;
        for (int s = 0; s < t->n_sections; s++) {
            const bank_tpl_section *sec = &t->sections[s];
            if (!sec->n_scope) continue;
            unsigned char *mk = P->mark[s] = kc_arena_alloc(a, nb + 1);
            if (!mk) return KC_ENOMEM;
            for (int k = 0; k < sec->n_scope; k++) {
                int j = bank_blueprint_find(bp, sec->scope[k]);
                char f[64];
                snprintf(f, sizeof f, "sections[%d].scope", s);
                if (j < 0) problem(&c, sec->line, f, "%s is not a node of the blueprint", sec->scope[k]);
                else mk[j] = 1;
            }
            for (size_t j = 0; j < nb; j++)
                if (bp->nodes[j].parent >= 0 && bp->nodes[j].parent < (int)j && mk[bp->nodes[j].parent])
                    mk[j] = 1;
        }
    }
    int n_items = 0;
    for (int s = 0; s < t->n_sections; s++) n_items += t->sections[s].count;
    P->n_items = n_items;
    if (t->mode == BANK_TPL_FIXED) {
        P->cells = kc_arena_alloc(a, (size_t)t->n_sections * sizeof *P->cells);
        if (!P->cells || fixed_cells(&c, a)) return KC_ENOMEM;
    } else {
        size_t maxc = (size_t)t->n_sections * (t->mode == BANK_TPL_BLUEPRINT ? nb + 1 : 1);
        P->cells = kc_arena_alloc(a, maxc * sizeof *P->cells);
        if (!P->cells) return KC_ENOMEM;
        if (t->mode == BANK_TPL_BLUEPRINT) {
            if (blueprint_cells(&c, a, &P->n_cells, P->cells)) return KC_ENOMEM;
        } else {
            for (int s = 0; s < t->n_sections; s++) {
                P->sec_cell[s] = s;
                P->cells[s] = (plan_cell){.section = s, .range = -1, .quota = t->sections[s].count};
            }
            P->sec_cell[t->n_sections] = P->n_cells = t->n_sections;
        }
        if (fill_cells(P, a)) return KC_ENOMEM;
        for (int i = 0; i < P->n_cells; i++) {
            plan_cell *cell = &P->cells[i];
            if ((int)cell->n >= cell->quota) continue;
            char nb_[32], lb[256];
            const bank_tpl_section *sec = &t->sections[cell->section];
            problem(&c, sec->line, sec_name(t, cell->section, nb_, sizeof nb_),
                    "%sneeds %d items, the approved bank has %u (short by %d)",
                    cell_label(P, cell, lb, sizeof lb), cell->quota, cell->n, cell->quota - (int)cell->n);
        }
        if (overlap_check(&c, a)) return KC_ENOMEM;
    }
    if (t->mode == BANK_TPL_BLUEPRINT) {
        P->ymax = t->y_max_pct * n_items / 100;
        P->zmax = t->z_max_pct * n_items / 100;
        P->nonx_max = n_items - (t->x_min_pct * n_items + 99) / 100;
        xyz_check(&c);
    } else {
        P->ymax = P->zmax = P->nonx_max = n_items;
    }
    difficulty_check(&c);
    exposure_check(&c);
    uint32_t maxn = 1;
    for (int i = 0; i < P->n_cells; i++)
        if (P->cells[i].n > maxn) maxn = P->cells[i].n;
    P->cand = kc_arena_alloc(a, maxn * sizeof *P->cand);
    P->cand_cap = maxn;
    P->picked = kc_arena_alloc(a, ((size_t)n_items + 1) * sizeof *P->picked);
    P->pcell = kc_arena_alloc(a, ((size_t)n_items + 1) * sizeof *P->pcell);
    P->tmp = kc_arena_alloc(a, ((size_t)n_items + 1) * sizeof *P->tmp);
    P->forced = kc_arena_alloc(a, ((size_t)P->n_cells + 1) * sizeof *P->forced);
    P->soft = kc_arena_alloc(a, ((size_t)P->n_cells + 1) * sizeof *P->soft);
    if (!P->cand || !P->picked || !P->pcell || !P->forced || !P->soft || !P->tmp) return KC_ENOMEM;
    if (c.oom) return KC_ENOMEM;
    if (c.problems) return c.problems;
    /* the rules may hold one by one and still not together: draw a few papers */
    for (int k = 0; k < 8; k++) {
        bank_rng r;
        char why[512] = "";
        bank_rng_seed(&r, bank_seed_derive(0x5eedULL, (uint64_t)k));
        int rc = KC_EINVAL;
        for (int attempt = 0; attempt < 6 && rc == KC_EINVAL; attempt++) rc = gen_try(P, &r, NULL, why, sizeof why);
        if (rc) {
            problem(&c, 1, "sections", "a trial paper could not be drawn: %s", why);
            break;
        }
    }
    if (c.oom) return KC_ENOMEM;
    if (!c.problems) *out = P;
    return c.problems;
}

/* ---- generation ---- */

static inline int usable(const bank_plan *P, const bank_exposure *e, uint32_t i)
{
    return P->stamp[i] != P->cur && (!e || !e->limit || e->count[i] < e->limit);
}

typedef struct gen_state {
    int yrem, zrem, nrem;       /* Y, Z and non-X still allowed */
    int n;                      /* items picked */
} gen_state;

static inline int class_ok(const gen_state *g, int cl)
{
    return cl == 0 || (g->nrem > 0 && (cl == 1 ? g->yrem : g->zrem) > 0);
}

static void take(bank_plan *P, gen_state *g, int cell, uint32_t i)
{
    P->stamp[i] = P->cur;
    if (P->pt[i] >= 0) P->pt_stamp[P->pt[i]] = P->cur;
    int cl = P->cls[i];
    if (cl) {
        g->nrem--;
        if (cl == 1) g->yrem--;
        else g->zrem--;
    }
    P->picked[g->n] = i;
    P->pcell[g->n++] = cell;
}

/* One item of elig[from, to) that is usable and of an allowed class, preferring a 鉴定点 not
 * on the paper yet: a few random tries first, then a scan. 0 or -1 when there is none. */
static int pick(bank_plan *P, gen_state *g, const bank_exposure *e, bank_rng *r,
                const plan_cell *c, uint32_t from, uint32_t to, uint32_t *out)
{
    uint32_t n = to - from;
    if (!n) return -1;
    /* Of two usable items drawn at random, the one on fewer papers so far: under an
     * exposure cap this spreads use evenly, so no cell runs out of X items early and is
     * forced into more Y/Z than a paper may hold. */
    uint32_t best = 0;
    int found = 0;
    for (int tries = 0; tries < 10 && found < 2; tries++) {
        uint32_t i = c->elig[from + bank_rng_below(r, n)];
        if (!usable(P, e, i) || !class_ok(g, P->cls[i])) continue;
        if (tries < 6 && P->pt[i] >= 0 && P->pt_stamp[P->pt[i]] == P->cur) continue;
        if (found && i == best) continue;
        if (!found || (e && e->limit && e->count[i] < e->count[best])) best = i;
        found++;
        if (!e || !e->limit) break;
    }
    if (found) {
        *out = best;
        return 0;
    }
    uint32_t m = 0, fresh = 0;
    for (uint32_t k = from; k < to; k++) {
        uint32_t i = c->elig[k];
        if (!usable(P, e, i) || !class_ok(g, P->cls[i])) continue;
        /* fresh points to the front */
        if (P->pt[i] < 0 || P->pt_stamp[P->pt[i]] != P->cur) {
            P->cand[m++] = P->cand[fresh];
            P->cand[fresh++] = i;
        } else {
            P->cand[m++] = i;
        }
    }
    if (!m) return -1;
    *out = P->cand[bank_rng_below(r, fresh ? fresh : m)];
    return 0;
}

static long long paper_dev(const bank_plan *P, int n, long long *pts)
{
    long long s = 0, p = 0;
    for (int k = 0; k < n; k++) {
        int cell = P->pcell[k];
        long long q = P->t->sections[P->cells[cell].section].points_centi;
        s += q * P->pool->items[P->picked[k]].difficulty;
        p += q;
    }
    *pts = p;
    return s * 100 - (long long)P->t->diff_target_centi * p;
}

/* Swaps items for others of the same cell and importance until the mean difficulty is
 * within the tolerance. 0 or -1. */
static int repair_difficulty(bank_plan *P, gen_state *g, const bank_exposure *e, bank_rng *r)
{
    long long pts, dev = paper_dev(P, g->n, &pts), tol = (long long)P->t->diff_tol_centi * pts;
    for (int tries = 0; tries < 60 * g->n + 200 && (dev > tol || dev < -tol); tries++) {
        int k = (int)bank_rng_below(r, (uint32_t)g->n);
        const plan_cell *c = &P->cells[P->pcell[k]];
        uint32_t i = P->picked[k];
        int cl = P->cls[i];
        uint32_t from = cl == 0 ? 0 : cl == 1 ? c->nx : c->nx + c->ny;
        uint32_t to = cl == 0 ? c->nx : cl == 1 ? c->nx + c->ny : c->n;
        if (to - from < 2) continue;
        uint32_t j = c->elig[from + bank_rng_below(r, to - from)];
        if (!usable(P, e, j)) continue;
        long long q = P->t->sections[c->section].points_centi;
        long long nd = dev + q * 100 * (P->pool->items[j].difficulty - P->pool->items[i].difficulty);
        if ((nd < 0 ? -nd : nd) >= (dev < 0 ? -dev : dev)) continue;
        P->stamp[i] = P->cur - 1;
        P->stamp[j] = P->cur;
        if (P->pt[j] >= 0) P->pt_stamp[P->pt[j]] = P->cur;
        P->picked[k] = j;
        dev = nd;
    }
    return dev > tol || dev < -tol ? -1 : 0;
}

static void next_stamp(bank_plan *P)
{
    if (++P->cur == 0 || P->cur == 1) {
        /* wrapped (or first use): old stamps could look current */
        memset(P->stamp, 0, P->pool->n * sizeof *P->stamp);
        memset(P->pt_stamp, 0, (P->bp ? P->bp->n : 0) * sizeof *P->pt_stamp);
        P->cur = 2;
    }
}

/* One try at drawing the items of a paper into P->picked (cell order). 0, or KC_EINVAL with
 * why. */
static int gen_try(const bank_plan *cp, bank_rng *r, const bank_exposure *e, char *why,
                   size_t whylen)
{
    bank_plan *P = (bank_plan *)cp;    /* the scratch space of the plan */
    const bank_tpl *t = P->t;
    next_stamp(P);
    gen_state g = {P->ymax, P->zmax, P->nonx_max, 0};
    char nb[32], lb[256];
    if (t->mode == BANK_TPL_FIXED) {
        for (int ci = 0; ci < P->n_cells; ci++)
            for (uint32_t k = 0; k < P->cells[ci].n; k++) {
                uint32_t i = P->cells[ci].elig[k];
                if (!usable(P, e, i)) {
                    snprintf(why, whylen, "%s is on %u papers already, the exposure limit",
                             P->pool->items[i].uid, e->count[i]);
                    return KC_EINVAL;
                }
                take(P, &g, ci, i);
            }
        return 0;
    }
    /* cells with too few X items left take Y/Z first, so the caps go to them */
    for (int ci = 0; ci < P->n_cells; ci++) {
        const plan_cell *c = &P->cells[ci];
        int ax = 0;
        uint64_t xcap = 0;
        for (uint32_t k = 0; k < c->nx; k++) {
            uint32_t i = c->elig[k];
            if (!usable(P, e, i)) continue;
            if (ax < c->quota) ax++;
            if (e && e->limit) xcap += e->limit - e->count[i];
        }
        P->forced[ci] = c->quota - ax;
        /* Under an exposure limit, the X places this cell still needs over the papers
         * left beyond what its X items can hold go to Y/Z now, a share per paper. */
        P->soft[ci] = 0;
        if (e && e->limit && e->left > 1) {
            int64_t over = (int64_t)c->quota * e->left - (int64_t)xcap;
            int share = over > 0 ? (int)((over + e->left - 1) / e->left) : 0;
            if (share > c->quota) share = c->quota;
            if (share > P->forced[ci]) P->soft[ci] = share - P->forced[ci];
        }
    }
    /* what must be Y (too few Z) or Z (too few Y) goes first, then what may be either */
    for (int pass = 0; pass < 2; pass++)
        for (int ci = 0; ci < P->n_cells; ci++) {
            const plan_cell *c = &P->cells[ci];
            int f = P->forced[ci], nz = (int)(c->n - c->nx - c->ny);
            if (f <= 0) continue;
            int must_z = f > (int)c->ny ? f - (int)c->ny : 0, must_y = f > nz ? f - nz : 0;
            int from[3] = {(int)c->nx + (int)c->ny, (int)c->nx, (int)c->nx};
            int to[3] = {(int)c->n, (int)(c->nx + c->ny), (int)c->n};
            int cnt[3] = {must_z, must_y, f - must_z - must_y};
            for (int seg = pass ? 2 : 0; seg < (pass ? 3 : 2); seg++)
                for (int k = 0; k < cnt[seg]; k++) {
                    uint32_t i;
                    if (pick(P, &g, e, r, c, (uint32_t)from[seg], (uint32_t)to[seg], &i)) {
                        if (c->n == c->nx)
                            snprintf(why, whylen, "%s: %sran out of items (exposure limit or items "
                                     "another section took)", sec_name(t, c->section, nb, sizeof nb),
                                     cell_label(P, c, lb, sizeof lb));
                        else
                            snprintf(why, whylen, "%s: %sneeds %d Y/Z items, the importance caps or "
                                     "the bank allow fewer", sec_name(t, c->section, nb, sizeof nb),
                                     cell_label(P, c, lb, sizeof lb), f);
                        return KC_EINVAL;
                    }
                    take(P, &g, ci, i);
                }
        }
    /* then the shares, as far as the caps allow (a cell without one takes X items) */
    for (int ci = 0; ci < P->n_cells; ci++) {
        const plan_cell *c = &P->cells[ci];
        for (int f = 0; f < P->soft[ci]; f++) {
            uint32_t i;
            if (pick(P, &g, e, r, c, c->nx, c->n, &i)) break;
            take(P, &g, ci, i);
            P->forced[ci]++;
        }
    }
    /* the forced items sit before the others of their cell: put each cell together */
    int nforced = g.n;
    for (int ci = 0; ci < P->n_cells; ci++) {
        const plan_cell *c = &P->cells[ci];
        for (int q = P->forced[ci]; q < c->quota; q++) {
            uint32_t i;
            if (pick(P, &g, e, r, c, 0, c->n, &i)) {
                snprintf(why, whylen, "%s: %sran out of items (exposure limit, importance caps "
                         "or items another section took)", sec_name(t, c->section, nb, sizeof nb),
                         cell_label(P, c, lb, sizeof lb));
                return KC_EINVAL;
            }
            take(P, &g, ci, i);
        }
    }
    /* the forced items went first: put each cell's items together again (stable) */
    if (nforced) {
        int n = g.n, *at = P->forced;   /* the forced counts are not needed any more */
        for (int ci = 0, sum = 0; ci < P->n_cells; ci++) {
            at[ci] = sum;
            sum += P->cells[ci].quota;
        }
        for (int k = 0; k < n; k++) P->tmp[at[P->pcell[k]]++] = P->picked[k];
        memcpy(P->picked, P->tmp, (size_t)n * sizeof *P->tmp);
        for (int ci = 0, k = 0; ci < P->n_cells; ci++)
            for (int q = 0; q < P->cells[ci].quota; q++) P->pcell[k++] = ci;
    }
    if (t->diff_target_centi && repair_difficulty(P, &g, e, r)) {
        char b1[32], b2[32];
        snprintf(why, whylen, "difficulty: no draw came within %s ± %s",
                 centi(b1, sizeof b1, t->diff_target_centi), centi(b2, sizeof b2, t->diff_tol_centi));
        return KC_EINVAL;
    }
    return 0;
}

static void identity(char *perm, int n)
{
    for (int k = 0; k < n; k++) perm[k] = (char)('A' + k);
    perm[n] = 0;
}

static void make_perm(const bank_tpl *t, int n, int pinned, bank_rng *r, char *perm)
{
    identity(perm, n);
    if (!t->shuffle_options || pinned || n < 2) return;
    for (int k = n; k > 1; k--) {
        int j = (int)bank_rng_below(r, (uint32_t)k);
        char x = perm[k - 1];
        perm[k - 1] = perm[j];
        perm[j] = x;
    }
}

static int has_options(enum bank_item_type ty, int n) { return (ty == BANK_SINGLE || ty == BANK_MULTI) && n > 0; }

/* Shuffles within sections (as the template says) and sets every option order. */
static int order_paper(const bank_plan *P, bank_rng *r, kc_arena *a, bank_paper *out)
{
    const bank_tpl *t = P->t;
    if (t->shuffle_items) {
        int k = 0;
        while (k < out->n) {
            int e = k;
            while (e < out->n && out->items[e].section == out->items[k].section) e++;
            for (int i = e - k; i > 1; i--) {
                int j = k + (int)bank_rng_below(r, (uint32_t)i);
                bank_paper_item x = out->items[k + i - 1];
                out->items[k + i - 1] = out->items[j];
                out->items[j] = x;
            }
            k = e;
        }
    }
    for (int k = 0; k < out->n; k++) {
        bank_paper_item *it = &out->items[k];
        const bank_pool_item *pi = &P->pool->items[it->pool];
        if (has_options(pi->type, pi->n_options)) make_perm(t, pi->n_options, pi->pin_options, r, it->perm);
        else it->perm[0] = 0;
        it->n_children = pi->n_children;
        it->children = NULL;
        if (!pi->n_children) continue;
        it->children = kc_arena_alloc(a, (size_t)pi->n_children * sizeof *it->children);
        if (!it->children) return KC_ENOMEM;
        for (int q = 0; q < pi->n_children; q++) {
            const bank_pool_child *ch = &pi->children[q];
            it->children[q].id = ch->id;
            if (ch->n_options > 0) make_perm(t, ch->n_options, ch->pin_options, r, it->children[q].perm);
            else it->children[q].perm[0] = 0;
        }
    }
    return 0;
}

int bank_plan_generate(const bank_plan *p, uint64_t seed, bank_exposure *e, kc_arena *a,
                       bank_paper *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    bank_plan *P = (bank_plan *)p;
    bank_rng r;
    int rc = KC_EINVAL;
    char w[512] = "";
    for (int attempt = 0; attempt < 6 && rc == KC_EINVAL; attempt++) {
        bank_rng_seed(&r, attempt ? bank_seed_derive(seed, (uint64_t)attempt) : seed);
        rc = gen_try(P, &r, e, w, sizeof w);
    }
    if (rc) {
        snprintf(why, whylen, "%s", w);
        return rc;
    }
    int n = P->n_items;
    if (P->t->mode == BANK_TPL_FIXED) {
        n = 0;
        for (int ci = 0; ci < P->n_cells; ci++) n += (int)P->cells[ci].n;
    }
    out->seed = seed;
    out->n = n;
    out->items = kc_arena_alloc(a, ((size_t)n + 1) * sizeof *out->items);
    if (!out->items) return KC_ENOMEM;
    int fk = 0, prev = -1;
    for (int k = 0; k < n; k++) {
        int ci = P->pcell[k];
        uint32_t i = P->picked[k];
        if (ci != prev) fk = 0;
        prev = ci;
        bank_paper_item *it = &out->items[k];
        it->pool = i;
        it->id = P->pool->items[i].id;
        it->section = P->cells[ci].section;
        it->points_centi = item_points(P, ci, fk++, i);
        out->total_centi += it->points_centi;
    }
    if (order_paper(P, &r, a, out)) return KC_ENOMEM;
    if (e && e->count)
        for (int k = 0; k < n; k++) e->count[out->items[k].pool]++;
    return 0;
}

int bank_paper_reorder(const bank_plan *p, const bank_paper *form, uint64_t seed, kc_arena *a,
                       bank_paper *out)
{
    *out = *form;
    out->seed = seed;
    out->items = kc_arena_alloc(a, ((size_t)form->n + 1) * sizeof *out->items);
    if (!out->items) return KC_ENOMEM;
    memcpy(out->items, form->items, (size_t)form->n * sizeof *out->items);
    for (int k = 0; k < form->n; k++)
        if (form->items[k].pool >= p->pool->n) return KC_EINVAL;
    bank_rng r;
    bank_rng_seed(&r, seed);
    return order_paper(p, &r, a, out);
}

/* ---- checking ---- */

__attribute__((format(printf, 3, 4)))
static void bad(plan_ctx *c, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (kc_diag_vadd(c->d, "paper", 0, field, fmt, ap)) c->oom = 1;
    va_end(ap);
    c->problems++;
}

static int perm_valid(const char *perm, int n)
{
    if ((int)strlen(perm) != n) return 0;
    unsigned seen = 0;
    for (int k = 0; k < n; k++) {
        int x = perm[k] - 'A';
        if (x < 0 || x >= n || (seen & (1u << x))) return 0;
        seen |= 1u << x;
    }
    return 1;
}

static int is_identity(const char *perm)
{
    for (int k = 0; perm[k]; k++)
        if (perm[k] != 'A' + k) return 0;
    return 1;
}

int bank_plan_check(const bank_plan *cp, const bank_paper *paper, kc_diag *d)
{
    bank_plan *P = (bank_plan *)cp;
    const bank_tpl *t = P->t;
    const bank_pool *pool = P->pool;
    plan_ctx c = {P, d, 0, 0};
    next_stamp(P);
    int ns = t->n_sections;
    int *per_sec = calloc((size_t)ns + 1, sizeof *per_sec);
    int *per_cell = calloc((size_t)P->n_cells + 1, sizeof *per_cell);
    if (!per_sec || !per_cell) {
        free(per_sec);
        free(per_cell);
        return KC_ENOMEM;
    }
    int nY = 0, nZ = 0, prev_sec = 0, fixed_at = 0;
    long long total = 0, dsum = 0, dpts = 0;
    for (int k = 0; k < paper->n; k++) {
        const bank_paper_item *it = &paper->items[k];
        char f[48];
        snprintf(f, sizeof f, "item %d", k + 1);
        if (it->pool >= pool->n || pool->items[it->pool].id != it->id) {
            bad(&c, f, "id %llu is not pool item %u", (unsigned long long)it->id, it->pool);
            continue;
        }
        const bank_pool_item *pi = &pool->items[it->pool];
        if (it->section < 0 || it->section >= ns) {
            bad(&c, f, "%s: section %d is not in the template", pi->uid, it->section);
            continue;
        }
        if (it->section < prev_sec) bad(&c, f, "%s: sections out of template order", pi->uid);
        if (it->section != prev_sec) fixed_at = 0;
        prev_sec = it->section;
        const bank_tpl_section *sec = &t->sections[it->section];
        per_sec[it->section]++;
        total += it->points_centi;
        if (P->stamp[it->pool] == P->cur) bad(&c, f, "%s is on the paper twice", pi->uid);
        P->stamp[it->pool] = P->cur;
        if (t->mode == BANK_TPL_FIXED) {
            const plan_cell *cell = &P->cells[it->section];
            int q = -1;
            if (!t->shuffle_items) {
                if (fixed_at < (int)cell->n && cell->elig[fixed_at] == it->pool) q = fixed_at;
            } else {
                for (uint32_t x = 0; x < cell->n && q < 0; x++)
                    if (cell->elig[x] == it->pool) q = (int)x;
            }
            fixed_at++;
            if (q < 0) bad(&c, f, "%s is not item %d of %s", pi->uid, fixed_at, sec->title);
            else if (it->points_centi != item_points(P, it->section, q, it->pool))
                bad(&c, f, "%s has %d points x 100, the template gives %d", pi->uid,
                    it->points_centi, item_points(P, it->section, q, it->pool));
        } else {
            if (it->points_centi != sec->points_centi)
                bad(&c, f, "%s has %d points x 100, the section gives %d", pi->uid, it->points_centi,
                    sec->points_centi);
            if (!eligible(P, it->section, it->pool)) {
                bad(&c, f, "%s does not meet the rules of %s (type, difficulty, tags or scope)",
                    pi->uid, sec->title);
            } else {
                int found = -1;
                for (int ci = P->sec_cell[it->section]; ci < P->sec_cell[it->section + 1]; ci++)
                    if (P->cells[ci].range < 0 || P->cells[ci].range == P->bp->nodes[P->pt[it->pool]].parent)
                        found = ci;
                if (found < 0) bad(&c, f, "%s: its 鉴定范围 has no quota in %s", pi->uid, sec->title);
                else per_cell[found]++;
            }
        }
        if (P->cls[it->pool] == 1) nY++;
        if (P->cls[it->pool] == 2) nZ++;
        dsum += (long long)it->points_centi * pi->difficulty;
        dpts += it->points_centi;
        int want = has_options(pi->type, pi->n_options) ? pi->n_options : 0;
        if (!perm_valid(it->perm, want))
            bad(&c, f, "%s: option order \"%s\" is not an order of %d options", pi->uid, it->perm, want);
        else if ((pi->pin_options || !t->shuffle_options) && !is_identity(it->perm))
            bad(&c, f, "%s: options are pinned, the order is \"%s\"", pi->uid, it->perm);
        if (it->n_children != pi->n_children) {
            bad(&c, f, "%s has %d sub-items, the paper %d", pi->uid, pi->n_children, it->n_children);
            continue;
        }
        for (int q = 0; q < it->n_children; q++) {
            const bank_pool_child *ch = &pi->children[q];
            const bank_paper_child *pc = &it->children[q];
            if (pc->id != ch->id) bad(&c, f, "%s: sub-item %d is not %llu", pi->uid, q + 1,
                                      (unsigned long long)ch->id);
            if (!perm_valid(pc->perm, ch->n_options))
                bad(&c, f, "%s: sub-item %d: option order \"%s\" is not an order of %d options",
                    pi->uid, q + 1, pc->perm, ch->n_options);
            else if ((ch->pin_options || !t->shuffle_options) && !is_identity(pc->perm))
                bad(&c, f, "%s: sub-item %d: options are pinned, the order is \"%s\"", pi->uid,
                    q + 1, pc->perm);
        }
    }
    char b1[32], b2[32];
    for (int s = 0; s < ns; s++) {
        int want = t->mode == BANK_TPL_FIXED ? (int)P->cells[s].n : t->sections[s].count;
        if (per_sec[s] != want)
            bad(&c, t->sections[s].title, "has %d items, the template %d", per_sec[s], want);
    }
    if (t->mode != BANK_TPL_FIXED)
        for (int ci = 0; ci < P->n_cells; ci++) {
            const plan_cell *cell = &P->cells[ci];
            char lb[256];
            if (per_cell[ci] != cell->quota)
                bad(&c, t->sections[cell->section].title, "%shas %d items, the quota is %d",
                    cell_label(P, cell, lb, sizeof lb), per_cell[ci], cell->quota);
        }
    if (total != paper->total_centi || total != t->total_centi)
        bad(&c, "total", "items add up to %s, the paper says %s, the template %s",
            centi(b1, sizeof b1, total), centi(b2, sizeof b2, paper->total_centi),
            centi((char[32]){0}, 32, t->total_centi));
    if (t->mode == BANK_TPL_BLUEPRINT) {
        int N = paper->n, xmin = (t->x_min_pct * N + 99) / 100;
        if (nY > t->y_max_pct * N / 100 || nZ > t->z_max_pct * N / 100 || N - nY - nZ < xmin)
            bad(&c, "importance", "%d X, %d Y, %d Z items: the template allows at least %d%% X, "
                "at most %d%% Y and %d%% Z", N - nY - nZ, nY, nZ, t->x_min_pct, t->y_max_pct,
                t->z_max_pct);
    }
    if (t->diff_target_centi && dpts) {
        long long dev = dsum * 100 - (long long)t->diff_target_centi * dpts;
        if (dev > (long long)t->diff_tol_centi * dpts || dev < -(long long)t->diff_tol_centi * dpts)
            bad(&c, "difficulty", "mean %s, the target is %s ± %s",
                centi(b1, sizeof b1, (dsum * 100 + dpts / 2) / dpts),
                centi(b2, sizeof b2, t->diff_target_centi),
                centi((char[32]){0}, 32, t->diff_tol_centi));
    }
    free(per_sec);
    free(per_cell);
    return c.oom ? KC_ENOMEM : c.problems;
}

/* ---- the equivalence report of parallel forms ---- */

/* Pads s to width terminal columns (CJK characters take two). */
static void buf_pad(kc_buf *b, const char *s, int width)
{
    int w = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp;
        int n = bank_utf8_decode(p, SIZE_MAX, &cp);
        if (n <= 0) n = 1, cp = '?';
        w += cp >= 0x1100 ? 2 : 1;
        p += n;
    }
    kc_buf_str(b, s);
    for (; w < width; w++) kc_buf_add(b, " ", 1);
}

static void form_name(char *buf, size_t n, int k)
{
    if (k < 26) snprintf(buf, n, "%c", 'A' + k);
    else snprintf(buf, n, "%d", k + 1);
}

static void cell_pd(kc_buf *b, long long pts, long long dsum, long long dpts)
{
    char tmp[64], p1[32], p2[32];
    if (dpts) centi(p2, sizeof p2, (dsum * 100 + dpts / 2) / dpts);
    else snprintf(p2, sizeof p2, "-");
    snprintf(tmp, sizeof tmp, "%9s %5s", centi(p1, sizeof p1, pts), p2);
    kc_buf_add(b, "  ", 2);
    kc_buf_str(b, tmp);
}

char *bank_forms_report(const bank_plan *p, const bank_blueprint *bp, const bank_paper *forms,
                        int n, kc_arena *a)
{
    const bank_pool *pool = p->pool;
    const bank_tpl *t = p->t;
    if (!bp) bp = p->bp;
    size_t nb = bp ? bp->n : 0;
    /* per form: [0] total, [1..8] types, [9..] blueprint nodes; each pts, dsum, dpts */
    size_t rows = 1 + BANK_TYPE_MAX + nb;
    long long *acc = calloc((size_t)(n > 0 ? n : 1) * rows * 3, sizeof *acc);
    if (!acc) return NULL;
    for (int f = 0; f < n; f++)
        for (int k = 0; k < forms[f].n; k++) {
            const bank_paper_item *it = &forms[f].items[k];
            if (it->pool >= pool->n) continue;
            const bank_pool_item *pi = &pool->items[it->pool];
            long long pts = it->points_centi, d = pi->difficulty;
            size_t r[64];
            int nr = 0;
            r[nr++] = 0;
            if (pi->type >= 1 && pi->type <= BANK_TYPE_MAX) r[nr++] = (size_t)pi->type;
            int node = bp ? (p->bp == bp ? p->pt[it->pool] : -1) : -1;
            if (bp && p->bp != bp && pi->point_code) node = bank_blueprint_find(bp, pi->point_code);
            for (int depth = 0; node >= 0 && depth < 50; depth++) {
                r[nr++] = 1 + BANK_TYPE_MAX + (size_t)node;
                node = bp->nodes[node].parent;
            }
            for (int q = 0; q < nr; q++) {
                long long *x = &acc[((size_t)f * rows + r[q]) * 3];
                x[0] += pts;
                if (d) {
                    x[1] += pts * d;
                    x[2] += pts;
                }
            }
        }
    kc_buf b = {0};
    char nm[16], line[256];
    snprintf(line, sizeof line, "%s: %d forms, %s\n", t->code ? t->code : "template", n,
             t->title ? t->title : "");
    kc_buf_str(&b, line);
    kc_buf_str(&b, "points and mean difficulty (分值 / 平均难度) per form\n");
    buf_pad(&b, "", 40);
    for (int f = 0; f < n; f++) {
        form_name(nm, sizeof nm, f);
        snprintf(line, sizeof line, "  %9s %5s", nm, "");
        kc_buf_str(&b, line);
    }
    kc_buf_str(&b, "\n");
    for (size_t r = 0; r < rows; r++) {
        int any = 0;
        for (int f = 0; f < n; f++) any |= acc[((size_t)f * rows + r) * 3] != 0;
        if (!any && r) continue;
        if (r == 0) snprintf(line, sizeof line, "total 总分");
        else if (r <= BANK_TYPE_MAX)
            snprintf(line, sizeof line, "%s (%s)", bank_type_label((enum bank_item_type)r),
                     bank_type_name((enum bank_item_type)r));
        else {
            const bank_bp_node *nd = &bp->nodes[r - 1 - BANK_TYPE_MAX];
            if (nd->is_point) continue;     /* ranges only: a point is one or two items */
            int ind = nd->depth > 0 && nd->depth < 8 ? nd->depth - 1 : 0;
            char clip[96];
            snprintf(line, sizeof line, "%*s%s %s", ind * 2, "", nd->code,
                     bank_text_clip(nd->name ? nd->name : "", clip, 40));
        }
        buf_pad(&b, line, 40);
        for (int f = 0; f < n; f++) {
            long long *x = &acc[((size_t)f * rows + r) * 3];
            cell_pd(&b, x[0], x[1], x[2]);
        }
        kc_buf_str(&b, "\n");
    }
    kc_buf_str(&b, "\nitem overlap (shared items, % of the first form's items)\n");
    buf_pad(&b, "", 6);
    for (int f = 0; f < n; f++) {
        form_name(nm, sizeof nm, f);
        snprintf(line, sizeof line, "%14s", nm);
        kc_buf_str(&b, line);
    }
    kc_buf_str(&b, "\n");
    for (int f = 0; f < n; f++) {
        form_name(nm, sizeof nm, f);
        buf_pad(&b, nm, 6);
        for (int g = 0; g < n; g++) {
            if (f == g) {
                snprintf(line, sizeof line, "%14s", "-");
                kc_buf_str(&b, line);
                continue;
            }
            int shared = 0;
            for (int x = 0; x < forms[f].n; x++)
                for (int y = 0; y < forms[g].n; y++)
                    if (forms[f].items[x].id == forms[g].items[y].id) {
                        shared++;
                        break;
                    }
            int pct = forms[f].n ? (shared * 100 + forms[f].n / 2) / forms[f].n : 0;
            snprintf(line, sizeof line, "%8d (%3d%%)", shared, pct);
            kc_buf_str(&b, line);
        }
        kc_buf_str(&b, "\n");
    }
    free(acc);
    return kc_buf_to_arena(&b, a);
}

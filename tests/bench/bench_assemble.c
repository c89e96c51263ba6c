/* `make bench`, part one: paper assembly alone, without the database. Reads the files of
 * bench_gen (blueprint.csv, bank.csv, template.json) with the real importers and template
 * parser, makes the plan for a session of N papers and generates every paper as `session
 * prepare` does (a derived seed per paper, one exposure counter, the stored JSON form), so
 * the time left for the DB writes of the end-to-end figure is known. Every paper is then
 * checked against every rule of its template (not timed); any broken rule fails the run.
 *
 *   bench_assemble DATADIR [--papers N] [--seed N]
 *
 * Ends with one line: bench=assemble papers=N items=… bank=… seconds=… */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../bank/bank.h"
#include "../../importers/imp.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void print_diag(const kc_diag *d, size_t max)
{
    for (size_t i = 0; i < d->n && i < max; i++) fprintf(stderr, "%s\n", d->lines[i]);
    if (d->n > max) fprintf(stderr, "… and %zu more\n", d->n - max);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n + 4096 > cap) {
            char *nb = realloc(buf, cap = cap ? cap * 2 : 65536);
            if (!nb) { free(buf); fclose(f); return NULL; }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
    } while (got);
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    long papers = 10000;
    unsigned long long session_seed = 1;
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (!strcmp(argv[i], "--papers") && i + 1 < argc) {
            papers = strtol(argv[++i], &end, 10);
            if (*end || papers < 1 || papers > 1000000) { fprintf(stderr, "bench_assemble: --papers: expected 1 to 1000000\n"); return 2; }
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            session_seed = strtoull(argv[++i], &end, 10);
            if (*end) { fprintf(stderr, "bench_assemble: --seed: expected a number\n"); return 2; }
        } else if (argv[i][0] != '-' && !dir) {
            dir = argv[i];
        } else {
            fprintf(stderr, "usage: bench_assemble DATADIR [--papers N] [--seed N]\n");
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "usage: bench_assemble DATADIR [--papers N] [--seed N]\n");
        return 2;
    }
    char path[4096];
    kc_arena *a = kc_arena_new(1 << 20);
    if (!a) return 1;
    kc_diag d;
    kc_diag_init(&d, a);

    double t_load = now();
    bank_blueprint bp;
    bank_blueprint_init(&bp, a);
    snprintf(path, sizeof path, "%s/blueprint.csv", dir);
    if (imp_blueprint_parse_file(IMP_CSV, path, &bp, &d)) { print_diag(&d, 20); return 1; }
    bank_itemset set;
    bank_itemset_init(&set, a);
    snprintf(path, sizeof path, "%s/bank.csv", dir);
    if (imp_parse_file(IMP_CSV, path, &set, &d)) { print_diag(&d, 20); return 1; }

    /* The pool as bank_pool_load would give it: approved top-level items ordered by uid,
     * with ids standing in for item.id. */
    bank_pool pool;
    bank_pool_init(&pool, a);
    for (size_t i = 0; i < set.n; i++) {
        const bank_item *it = &set.items[i];
        bank_pool_item *p = bank_pool_push(&pool);
        if (!p) return 1;
        p->id = i + 1;
        p->uid = it->uid;
        p->type = it->type;
        p->difficulty = it->difficulty;
        p->point_code = it->point_code;
        p->points_centi = it->points_centi;
        p->n_options = it->n_options;
        p->pin_options = it->pin_options;
        p->n_tags = it->n_tags;
        p->tags = it->tags;
    }
    for (size_t i = 1; i < pool.n; i++)
        if (strcmp(pool.items[i - 1].uid, pool.items[i].uid) >= 0) {
            fprintf(stderr, "bench_assemble: %s: items are not in 试题编号 order (%s before %s)\n", path,
                    pool.items[i - 1].uid, pool.items[i].uid);
            return 1;
        }

    size_t len;
    snprintf(path, sizeof path, "%s/template.json", dir);
    char *json = slurp(path, &len);
    if (!json) { fprintf(stderr, "%s: %s\n", path, strerror(errno)); return 1; }
    bank_tpl tpl;
    if (bank_tpl_parse(json, len, path, a, &tpl, &d)) { print_diag(&d, 20); return 1; }
    free(json);
    t_load = now() - t_load;

    double t_plan = now();
    bank_plan *plan;
    if (bank_plan_make(&tpl, &bp, &pool, (int)papers, a, &plan, &d)) { print_diag(&d, 20); return 1; }
    t_plan = now() - t_plan;

    bank_exposure ex = {calloc(pool.n, sizeof *ex.count), bank_exposure_limit(tpl.exposure_cap_pct, (int)papers), 0};
    char **stored = calloc((size_t)papers, sizeof *stored);
    if (!ex.count || !stored) return 1;
    size_t bytes = 0;
    int items_min = 1 << 30, items_max = 0;
    char why[256];
    double t_gen = now();
    for (long k = 0; k < papers; k++) {
        kc_arena *pa = kc_arena_new(0);
        bank_paper paper;
        if (!pa) return 1;
        ex.left = (uint32_t)(papers - k);   /* as prepare does: this paper and those after it */
        int rc = bank_plan_generate(plan, bank_seed_derive(session_seed, (uint64_t)k + 1), &ex, pa, &paper, why, sizeof why);
        if (rc) {
            fprintf(stderr, "bench_assemble: paper %ld: %s\n", k + 1, rc == KC_ENOMEM ? "out of memory" : why);
            return 1;
        }
        char *js = bank_paper_to_json(&paper, pa);
        if (!js) return 1;
        bytes += strlen(js);
        stored[k] = strdup(js);
        if (!stored[k]) return 1;
        if (paper.n < items_min) items_min = paper.n;
        if (paper.n > items_max) items_max = paper.n;
        kc_arena_free(pa);
    }
    t_gen = now() - t_gen;

    /* Not timed: every stored paper read back against the pool and checked. */
    long broken = 0;
    for (long k = 0; k < papers; k++) {
        kc_arena *pa = kc_arena_new(0);
        kc_diag pd;
        bank_paper paper;
        if (!pa) return 1;
        kc_diag_init(&pd, pa);
        if (bank_paper_from_json(stored[k], &pool, pa, &paper, why, sizeof why)) {
            fprintf(stderr, "bench_assemble: paper %ld does not read back: %s\n", k + 1, why);
            broken++;
        } else if (bank_plan_check(plan, &paper, &pd)) {
            if (broken < 5) { fprintf(stderr, "bench_assemble: paper %ld:\n", k + 1); print_diag(&pd, 5); }
            broken++;
        }
        free(stored[k]);
        kc_arena_free(pa);
    }
    free(stored);
    uint32_t most = 0;
    for (size_t i = 0; i < pool.n; i++)
        if (ex.count[i] > most) most = ex.count[i];
    free(ex.count);
    kc_arena_free(a);
    if (broken) {
        fprintf(stderr, "bench_assemble: %ld of %ld papers break a rule of the template\n", broken, papers);
        return 1;
    }
    printf("assemble: load %.2f s (%zu items, %zu blueprint nodes), plan %.3f s, generate %.2f s, "
           "%.1f MB of paper JSON, most-used item on %u papers\n",
           t_load, pool.n, bp.n, t_plan, t_gen, bytes / 1e6, most);
    printf("bench=assemble papers=%ld items=%d bank=%zu seconds=%.2f papers_per_s=%.0f items_min=%d\n", papers,
           items_max, pool.n, t_gen, t_gen > 0 ? papers / t_gen : 0.0, items_min);
    return 0;
}

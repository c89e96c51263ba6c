/* Seats of a session being prepared: who sits next to whom, which parallel form a candidate
 * gets, and whether a paper equals a neighbour's. Pure computation, no DB (the prepare of
 * bank_session.c uses it; tests/unit/test_session.c tests it). */
#include "bank_int.h"

#include <stdlib.h>
#include <string.h>

static int by_seat(const void *x, const void *y, void *ctx)
{
    const bank__cand *cs = ctx, *a = &cs[*(const int *)x], *b = &cs[*(const int *)y];
    int c = strcmp(a->room, b->room);
    return c ? c : (a->seat > b->seat) - (a->seat < b->seat);
}

static int find_seat(const bank__cand *cs, const int *order, size_t n, const char *room, int seat)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const bank__cand *m = &cs[order[mid]];
        int c = strcmp(m->room, room);
        if (!c) c = (m->seat > seat) - (m->seat < seat);
        if (!c) return order[mid];
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    return -1;
}

int bank__seat_neighbours(bank__cand *cs, size_t n, int cols)
{
    int *order = malloc((n + 1) * sizeof *order);
    if (!order) return KC_ENOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (cs[i].seat) order[m++] = (int)i;
    qsort_r(order, m, sizeof *order, by_seat, cs);
    for (size_t i = 0; i < n; i++) {
        bank__cand *c = &cs[i];
        c->n_nb = 0;
        if (!c->seat) continue;
        int s = c->seat, cand[4] = {s - 1, s + 1, cols > 0 ? s - cols : 0, cols > 0 ? s + cols : 0};
        for (int k = 0; k < 4; k++) {
            int t = cand[k];
            if (t <= 0) continue;
            if (k < 2 && cols > 0 && (t - 1) / cols != (s - 1) / cols) continue;   /* row ends */
            int j = find_seat(cs, order, m, c->room, t);
            if (j >= 0 && (size_t)j != i) c->nb[c->n_nb++] = j;
        }
    }
    free(order);
    return 0;
}

int bank__seat_pick_form(const bank__cand *cs, size_t me, int forms, const int *used)
{
    int best = 0;
    for (int pass = 0; pass < 2 && !best; pass++)
        for (int f = 1; f <= forms; f++) {
            int clash = 0;
            for (int k = 0; pass == 0 && k < cs[me].n_nb; k++)
                if (cs[cs[me].nb[k]].form == f) clash = 1;
            if (!clash && (!best || used[f] < used[best])) best = f;
        }
    return best;
}

int bank__seat_same_as_neighbour(const bank__cand *cs, size_t me, const bank_paper *p)
{
    for (int k = 0; k < cs[me].n_nb; k++) {
        const bank__cand *o = &cs[cs[me].nb[k]];
        if (o->paper.n && bank_paper_same(&o->paper, p)) return 1;
    }
    return 0;
}

/* The practical part (技能考核): which task each candidate performs, at which station (工位)
 * and in which time slot. Pure computation; bank_practical_store.c stores the plan and
 * bank_practical_schedule.c prints it. */
#include "bank.h"

#include <stdio.h>
#include <string.h>

static int refuse(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (why && whylen) vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return KC_EINVAL;
}

/* The slot length the options ask for, or -1 when a task cannot fit it. */
static int slot_length(const bank_practical_task *t, size_t n_tasks, const bank_practical_opts *o,
                       size_t *longest)
{
    *longest = 0;
    for (size_t i = 1; i < n_tasks; i++)
        if (t[i].time_minutes > t[*longest].time_minutes) *longest = i;
    int need = t[*longest].time_minutes + o->changeover_minutes;
    if (!o->slot_minutes) return need;
    return o->slot_minutes >= need ? o->slot_minutes : -1;
}

int bank_practical_assign(const bank_practical_candidate *c, size_t n_cand,
                          const bank_practical_task *t, size_t n_tasks,
                          const bank_practical_opts *o, kc_arena *a,
                          bank_practical_plan *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    int k = o->tasks_per_candidate;
    if (!n_cand || !c) return refuse(why, whylen, "no candidates to assign");
    if (o->n_stations < 1) return refuse(why, whylen, "no stations");
    if (!n_tasks) return refuse(why, whylen, "no practical tasks in the pool");
    if (k < 1) return refuse(why, whylen, "tasks per candidate must be at least 1, got %d", k);
    if ((size_t)k > n_tasks)
        return refuse(why, whylen, "each candidate is to perform %d different tasks, the pool has %zu",
                      k, n_tasks);
    if (n_cand > UINT32_MAX / (size_t)k || n_tasks > UINT32_MAX)
        return refuse(why, whylen, "too many candidates or tasks");
    if (o->changeover_minutes < 0 || o->slot_minutes < 0)
        return refuse(why, whylen, "slot length and changeover must not be negative");
    for (size_t i = 0; i < n_tasks; i++)
        if (t[i].time_minutes < 1)
            return refuse(why, whylen, "task %s has no 考核时间 (time allowed)",
                          t[i].uid ? t[i].uid : "?");
    size_t longest;
    int len = slot_length(t, n_tasks, o, &longest);
    if (len < 0)
        return refuse(why, whylen,
                      "a slot of %d minutes is too short for task %s: it takes %d minutes and "
                      "the changeover %d",
                      o->slot_minutes, t[longest].uid ? t[longest].uid : "?",
                      t[longest].time_minutes, o->changeover_minutes);

    uint32_t T = (uint32_t)n_tasks, S = (uint32_t)o->n_stations;
    size_t waves = (n_cand + S - 1) / S;
    if (waves * (size_t)k > (size_t)INT32_MAX) return refuse(why, whylen, "too many slots");
    uint32_t *deal = kc_arena_alloc(a, n_cand * sizeof *deal);
    uint32_t *deck = kc_arena_alloc(a, T * sizeof *deck);
    uint32_t *cycle = kc_arena_alloc(a, T * sizeof *cycle);
    uint32_t *pos = kc_arena_alloc(a, T * sizeof *pos);
    bank_practical_slot *s = kc_arena_alloc(a, n_cand * (size_t)k * sizeof *s);
    if (!deal || !deck || !cycle || !pos || !s) return KC_ENOMEM;

    /* Round 1: decks dealt one after the other; a new deck never starts with the card just
     * dealt, so consecutive candidates (neighbours within a wave) differ. */
    bank_rng r;
    bank_rng_seed(&r, bank_seed_derive(o->seed, 1));
    for (size_t i = 0; i < n_cand; i += T) {
        for (uint32_t j = 0; j < T; j++) deck[j] = j;
        bank_rng_shuffle_u32(&r, deck, T);
        if (i && T > 1 && deck[0] == deal[i - 1]) {
            uint32_t j = 1 + bank_rng_below(&r, T - 1), x = deck[0];
            deck[0] = deck[j];
            deck[j] = x;
        }
        for (size_t j = 0; j < T && i + j < n_cand; j++) deal[i + j] = deck[j];
    }
    /* Later rounds move every candidate the same number of places along one cyclic order:
     * a bijection of the pool, so counts stay even and neighbours stay different. */
    bank_rng_seed(&r, bank_seed_derive(o->seed, 2));
    for (uint32_t j = 0; j < T; j++) cycle[j] = j;
    bank_rng_shuffle_u32(&r, cycle, T);
    for (uint32_t j = 0; j < T; j++) pos[cycle[j]] = j;

    int64_t len_ms = (int64_t)len * 60000;
    for (size_t i = 0; i < n_cand; i++)
        for (int q = 0; q < k; q++) {
            bank_practical_slot *e = &s[i * (size_t)k + (size_t)q];
            e->candidate = (uint32_t)i;
            e->task_no = q + 1;
            e->task = cycle[(pos[deal[i]] + (uint32_t)q) % T];
            e->station = (uint32_t)(i % S);
            e->slot_no = (int)((size_t)q * waves + i / S + 1);
            e->starts_at_ms = o->start_ms + (int64_t)(e->slot_no - 1) * len_ms;
            e->ends_at_ms = e->starts_at_ms + (int64_t)t[e->task].time_minutes * 60000;
        }
    out->k = k;
    out->waves = (int)waves;
    out->n_slots = (int)waves * k;
    out->slot_minutes = len;
    out->n = n_cand * (size_t)k;
    out->a = s;
    return 0;
}

int bank_practical_check(size_t n_cand, const bank_practical_task *t, size_t n_tasks,
                         const bank_practical_opts *o, const bank_practical_plan *p,
                         kc_diag *d)
{
    int bad = 0, k = p->k;
    size_t S = o->n_stations > 0 ? (size_t)o->n_stations : 0;
#define BROKEN(...) (bad++, kc_diag_add(d, "plan", 0, NULL, __VA_ARGS__))
    if (k != o->tasks_per_candidate || p->n != n_cand * (size_t)(k > 0 ? k : 0)) {
        BROKEN("expected %zu entries (%d per candidate), the plan has %zu (k=%d)",
               n_cand * (size_t)(o->tasks_per_candidate > 0 ? o->tasks_per_candidate : 0),
               o->tasks_per_candidate, p->n, k);
        return bad;
    }
    size_t waves = S ? (n_cand + S - 1) / S : 0;
    if (!S || (size_t)p->waves != waves || p->n_slots != p->waves * k) {
        BROKEN("expected %zu waves and %zu slots, the plan has %d and %d", waves,
               waves * (size_t)k, p->waves, p->n_slots);
        return bad;
    }
    size_t longest;
    int len = n_tasks ? slot_length(t, n_tasks, o, &longest) : -1;
    if (len < 0 || p->slot_minutes != len)
        BROKEN("slot length %d minutes, expected %d", p->slot_minutes, len);

    /* Who is where in each slot: a grid of slots x stations, and per slot a count of each
     * candidate's entries (a slot of one wave can only hold that wave's candidates). */
    size_t cells = (size_t)p->n_slots * S;
    kc_arena *g = kc_arena_new(0);
    int32_t *grid = g ? kc_arena_alloc(g, cells * sizeof *grid) : NULL;
    uint32_t *uses = g ? kc_arena_alloc(g, (n_tasks ? n_tasks : 1) * sizeof *uses) : NULL;
    int *slot_used = g ? kc_arena_alloc(g, ((size_t)p->n_slots + 1) * sizeof *slot_used) : NULL;
    if (!grid || !uses || !slot_used) {
        kc_arena_free(g);
        BROKEN("out of memory while checking");
        return bad;
    }
    for (size_t i = 0; i < cells; i++) grid[i] = -1;
    int64_t len_ms = (int64_t)p->slot_minutes * 60000;
    for (size_t ci = 0; ci < n_cand; ci++) {
        const bank_practical_slot *e = &p->a[ci * (size_t)k];
        for (int q = 0; q < k; q++) {
            const bank_practical_slot *x = &e[q];
            if (x->candidate != ci || x->task_no != q + 1) {
                BROKEN("entry %d of candidate %zu is candidate %u task %d", q + 1, ci,
                       x->candidate, x->task_no);
                continue;
            }
            if (x->task >= n_tasks || x->station >= S || x->slot_no < 1 || x->slot_no > p->n_slots) {
                BROKEN("candidate %zu task %d: task %u, station %u or slot %d out of range", ci,
                       q + 1, x->task, x->station, x->slot_no);
                continue;
            }
            for (int r = 0; r < q; r++)
                if (e[r].task == x->task)
                    BROKEN("candidate %zu has task %u twice (task %d and %d)", ci, x->task, r + 1,
                           q + 1);
            for (int r = 0; r < q; r++)
                if (e[r].slot_no == x->slot_no)
                    BROKEN("candidate %zu is in slot %d twice", ci, x->slot_no);
            if ((x->slot_no - 1) / p->waves != q)
                BROKEN("candidate %zu task %d is in slot %d, outside round %d", ci, q + 1,
                       x->slot_no, q + 1);
            int32_t *cell = &grid[(size_t)(x->slot_no - 1) * S + x->station];
            if (*cell >= 0)
                BROKEN("station %u hosts candidates %d and %zu in slot %d", x->station, *cell, ci,
                       x->slot_no);
            else
                *cell = (int32_t)ci;
            slot_used[x->slot_no] = 1;
            int64_t st = o->start_ms + (int64_t)(x->slot_no - 1) * len_ms;
            if (x->starts_at_ms != st ||
                x->ends_at_ms != st + (int64_t)t[x->task].time_minutes * 60000 ||
                x->ends_at_ms > st + len_ms)
                BROKEN("candidate %zu task %d: times %lld..%lld do not fit slot %d", ci, q + 1,
                       (long long)x->starts_at_ms, (long long)x->ends_at_ms, x->slot_no);
        }
    }
    for (int q = 1; q <= p->n_slots; q++)
        if (!slot_used[q]) BROKEN("slot %d is empty", q);
    if (bad) {
        kc_arena_free(g);
        return bad;
    }
    /* Neighbours: stations j and j + 1 in one slot. */
    if (n_tasks >= 2)
        for (int q = 0; q < p->n_slots; q++)
            for (size_t j = 0; j + 1 < S; j++) {
                int32_t l = grid[(size_t)q * S + j], rr = grid[(size_t)q * S + j + 1];
                if (l < 0 || rr < 0) continue;
                uint32_t tl = p->a[(size_t)l * (size_t)k + (size_t)(q / p->waves)].task;
                uint32_t tr = p->a[(size_t)rr * (size_t)k + (size_t)(q / p->waves)].task;
                if (tl == tr)
                    BROKEN("slot %d: neighbouring stations %zu and %zu both have task %u", q + 1, j,
                           j + 1, tl);
            }
    for (int q = 0; q < k; q++) {
        memset(uses, 0, n_tasks * sizeof *uses);
        for (size_t ci = 0; ci < n_cand; ci++) uses[p->a[ci * (size_t)k + (size_t)q].task]++;
        uint32_t lo = UINT32_MAX, hi = 0;
        for (size_t j = 0; j < n_tasks; j++) {
            if (uses[j] < lo) lo = uses[j];
            if (uses[j] > hi) hi = uses[j];
        }
        if (hi - lo > 1)
            BROKEN("round %d: tasks are used between %u and %u times (at most one apart)", q + 1,
                   lo, hi);
    }
#undef BROKEN
    kc_arena_free(g);
    return bad;
}

/* Session prepare without a database: who is whose neighbour on the seat plan
 * (bank__seat_neighbours, with and without --seat-columns), which parallel form a candidate
 * gets (bank__seat_pick_form) and whether a paper equals a neighbour's
 * (bank__seat_same_as_neighbour). */
#include "kc_test.h"

#include "../../bank/bank_int.h"

static void setup(void)
{
    kc_setup();
}
TestSuite(session, .init = setup, .fini = kc_teardown);

static bank__cand *cands(size_t n)
{
    bank__cand *c = kc_arena_alloc(A, (n ? n : 1) * sizeof *c);
    cr_assert_not_null(c);
    for (size_t i = 0; i < n; i++) c[i].attempt_id = 100 + i;
    return c;
}

static void seat(bank__cand *c, const char *room, int s)
{
    snprintf(c->room, sizeof c->room, "%s", room);
    c->seat = s;
}

/* The seats of c's neighbours, sorted, as "2,4,6" ("" for none). */
static const char *nb_seats(const bank__cand *cs, size_t me)
{
    int v[4], n = cs[me].n_nb;
    for (int k = 0; k < n; k++) v[k] = cs[cs[me].nb[k]].seat;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) { int t = v[j]; v[j] = v[j - 1]; v[j - 1] = t; }
    char *s = kc_arena_strdup(A, "");
    for (int k = 0; k < n; k++) s = kc_arena_printf(A, "%s%s%d", s, k ? "," : "", v[k]);
    return s;
}

/* The index of the candidate in room at seat s. */
static size_t at(const bank__cand *cs, size_t n, const char *room, int s)
{
    for (size_t i = 0; i < n; i++)
        if (cs[i].seat == s && !strcmp(cs[i].room, room)) return i;
    cr_assert_fail("no one at %s %d", room, s);
    return 0;
}

/* Without --seat-columns a room is one long row: the seats either side. */
Test(session, neighbours_in_one_long_row)
{
    static const int order[] = {3, 5, 1, 4, 2};     /* attempt order is not seat order */
    bank__cand *cs = cands(5);
    for (int i = 0; i < 5; i++) seat(&cs[i], "101", order[i]);
    cr_assert_eq(bank__seat_neighbours(cs, 5, 0), 0);
    cr_expect_str_eq(nb_seats(cs, at(cs, 5, "101", 1)), "2");
    cr_expect_str_eq(nb_seats(cs, at(cs, 5, "101", 3)), "2,4");
    cr_expect_str_eq(nb_seats(cs, at(cs, 5, "101", 5)), "4");
}

/* --seat-columns 3: seats 1-3 are the first row, 4-6 the second, 7-9 the third; the
 * neighbours are left and right in the row and the seats in front and behind, never the
 * next number across a row's end. */
Test(session, neighbours_on_a_grid_with_seat_columns)
{
    bank__cand *cs = cands(9);
    for (int i = 0; i < 9; i++) seat(&cs[i], "A", 9 - i);
    cr_assert_eq(bank__seat_neighbours(cs, 9, 3), 0);
    static const char *const want[10] = {NULL, "2,4", "1,3,5", "2,6", "1,5,7", "2,4,6,8",
                                         "3,5,9", "4,8", "5,7,9", "6,8"};
    for (int s = 1; s <= 9; s++)
        cr_expect_str_eq(nb_seats(cs, at(cs, 9, "A", s)), want[s], "seat %d", s);
}

/* A grid of 4 columns, a seat left empty: no one sits next to an empty seat. */
Test(session, an_empty_seat_is_no_neighbour)
{
    bank__cand *cs = cands(7);
    static const int seats[] = {1, 2, 3, 4, 5, 7, 8};   /* 6 is empty */
    for (int i = 0; i < 7; i++) seat(&cs[i], "B", seats[i]);
    cr_assert_eq(bank__seat_neighbours(cs, 7, 4), 0);
    cr_expect_str_eq(nb_seats(cs, at(cs, 7, "B", 2)), "1,3");
    cr_expect_str_eq(nb_seats(cs, at(cs, 7, "B", 5)), "1");
    cr_expect_str_eq(nb_seats(cs, at(cs, 7, "B", 7)), "3,8");
    cr_expect_str_eq(nb_seats(cs, at(cs, 7, "B", 4)), "3,8");
}

/* The same seat number in another room, and candidates without a seat, are nobody's
 * neighbours. */
Test(session, rooms_and_unseated_candidates)
{
    bank__cand *cs = cands(6);
    seat(&cs[0], "101", 1);
    seat(&cs[1], "102", 2);
    seat(&cs[2], "101", 2);
    seat(&cs[3], "", 0);
    seat(&cs[4], "102", 3);
    seat(&cs[5], "", 0);
    cr_assert_eq(bank__seat_neighbours(cs, 6, 0), 0);
    cr_expect_str_eq(nb_seats(cs, 0), "2");
    cr_expect_eq(cs[0].n_nb, 1);
    cr_expect_eq(cs[0].nb[0], 2, "101/1 sits next to 101/2, not 102/2");
    cr_expect_eq(cs[1].n_nb, 1);
    cr_expect_eq(cs[1].nb[0], 4);
    cr_expect_eq(cs[3].n_nb, 0);
    cr_expect_eq(cs[5].n_nb, 0);
    for (int i = 0; i < 6; i++)
        for (int k = 0; k < cs[i].n_nb; k++)
            cr_expect(cs[i].nb[k] != 3 && cs[i].nb[k] != 5, "an unseated candidate is a neighbour of %d", i);
}

/* Running it again gives the same neighbours, not twice as many. */
Test(session, neighbours_twice)
{
    bank__cand *cs = cands(4);
    for (int i = 0; i < 4; i++) seat(&cs[i], "C", i + 1);
    cr_assert_eq(bank__seat_neighbours(cs, 4, 2), 0);
    cr_assert_eq(bank__seat_neighbours(cs, 4, 2), 0);
    cr_expect_str_eq(nb_seats(cs, 0), "2,3");
    cr_expect_str_eq(nb_seats(cs, 3), "2,3");
}

/* A candidate never gets a form a neighbour has while another form is free, even when
 * that one has been handed out more often. */
Test(session, pick_form_avoids_the_neighbours_forms)
{
    bank__cand *cs = cands(5);
    for (int i = 0; i < 5; i++) seat(&cs[i], "D", i + 1);
    cr_assert_eq(bank__seat_neighbours(cs, 5, 0), 0);
    cs[1].form = 1;     /* seat 2 */
    cs[3].form = 2;     /* seat 4 */
    int used[4] = {0, 1, 1, 7};
    cr_expect_eq(bank__seat_pick_form(cs, 2, 3, used), 3);
    /* no neighbour has a form yet: the least used, lowest number on a tie */
    int used2[4] = {0, 2, 1, 1};
    cr_expect_eq(bank__seat_pick_form(cs, 0, 3, used2), 2, "seat 1's neighbour has form 1");
    cs[1].form = 0;
    cr_expect_eq(bank__seat_pick_form(cs, 0, 3, used2), 2);
    int used3[4] = {0, 1, 1, 1};
    cr_expect_eq(bank__seat_pick_form(cs, 0, 3, used3), 1);
}

/* With every form taken by a neighbour the least used one is handed out all the same. */
Test(session, pick_form_when_every_form_is_a_neighbours)
{
    bank__cand *cs = cands(3);
    for (int i = 0; i < 3; i++) seat(&cs[i], "E", i + 1);
    cr_assert_eq(bank__seat_neighbours(cs, 3, 0), 0);
    cs[0].form = 1;
    cs[2].form = 2;
    int used[3] = {0, 4, 3};
    cr_expect_eq(bank__seat_pick_form(cs, 1, 2, used), 2);
    int used2[3] = {0, 3, 3};
    cr_expect_eq(bank__seat_pick_form(cs, 1, 2, used2), 1);
}

/* Hands out forms the way prepare does: in attempt order, each to cs[order[k]]. */
static void hand_out(bank__cand *cs, const size_t *order, size_t n, int forms, int *used)
{
    memset(used, 0, (size_t)(forms + 1) * sizeof *used);
    for (size_t i = 0; i < n; i++) cs[i].form = 0;
    for (size_t k = 0; k < n; k++) {
        size_t me = order[k];
        int taken[8] = {0};
        for (int j = 0; j < cs[me].n_nb; j++) taken[cs[cs[me].nb[j]].form] = 1;
        int f = bank__seat_pick_form(cs, me, forms, used), free_one = 0;
        for (int g = 1; g <= forms; g++) free_one |= !taken[g];
        cr_assert(f >= 1 && f <= forms);
        if (free_one)
            cr_assert(!taken[f], "seat %d got form %d of a neighbour while another was free", cs[me].seat, f);
        cs[me].form = f;
        used[f]++;
    }
}

static int clashes(const bank__cand *cs, size_t n)
{
    int c = 0;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < cs[i].n_nb; k++) c += cs[cs[i].nb[k]].form == cs[i].form;
    return c;
}

/* Whole rooms, seated in every order: never a neighbour's form while another is free; in
 * seat order two forms make a checkerboard and three leave no neighbours alike; five (more
 * than a seat's four neighbours) leave none alike in any order. Forms stay balanced. */
Test(session, forms_over_whole_rooms)
{
    enum { N = 60 };
    bank__cand *cs = cands(N);
    size_t order[N];
    int used[8];
    bank_rng r;
    bank_rng_seed(&r, 20261205);
    for (int cols = 0; cols <= 9; cols++) {
        for (size_t i = 0; i < N; i++) {
            seat(&cs[i], i < 35 ? "201" : "202", (int)(i < 35 ? i + 1 : i - 34));
            order[i] = i;
        }
        cr_assert_eq(bank__seat_neighbours(cs, N, cols), 0);
        for (int forms = 2; forms <= 5; forms++) {
            hand_out(cs, order, N, forms, used);
            if (forms <= 3) cr_expect_eq(clashes(cs, N), 0, "seat order, %d forms, %d columns", forms, cols);
            for (int f = 1; f <= forms; f++)
                cr_expect_leq(used[f], N / forms + 4, "form %d of %d used %d times", f, forms, used[f]);
        }
        for (int round = 0; round < 20; round++) {
            for (size_t i = N - 1; i > 0; i--) {
                size_t j = bank_rng_below(&r, (uint32_t)i + 1), t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            for (int forms = 2; forms <= 6; forms++) {
                hand_out(cs, order, N, forms, used);
                if (forms >= 5) cr_expect_eq(clashes(cs, N), 0, "%d forms, %d columns", forms, cols);
            }
        }
    }
}

/* Two one-item papers: the item and its option order. */
static bank_paper paper(uint64_t id, const char *perm)
{
    bank_paper p = {.n = 1, .total_centi = 100};
    p.items = kc_arena_alloc(A, sizeof *p.items);
    cr_assert_not_null(p.items);
    p.items[0].id = id;
    p.items[0].points_centi = 100;
    snprintf(p.items[0].perm, sizeof p.items[0].perm, "%s", perm);
    return p;
}

Test(session, same_paper_as_a_neighbour)
{
    bank__cand *cs = cands(4);
    for (int i = 0; i < 4; i++) seat(&cs[i], "F", i + 1);
    cr_assert_eq(bank__seat_neighbours(cs, 4, 0), 0);
    cs[0].paper = paper(7, "BADC");       /* seat 1, next to seat 2 */
    cs[3].paper = paper(8, "ABCD");       /* seat 4, not next to seat 2 */
    bank_paper same = paper(7, "BADC"), reordered = paper(7, "ABCD"), other = paper(8, "ABCD");
    cr_expect_eq(bank__seat_same_as_neighbour(cs, 1, &same), 1);
    cr_expect_eq(bank__seat_same_as_neighbour(cs, 1, &reordered), 0, "other option order: another paper");
    cr_expect_eq(bank__seat_same_as_neighbour(cs, 1, &other), 0, "seat 4 is no neighbour of seat 2");
    cr_expect_eq(bank__seat_same_as_neighbour(cs, 2, &other), 1, "seat 3 sits next to seat 4");
    /* a neighbour without a paper yet holds nothing to be equal to */
    bank_paper empty = {0};
    cr_expect_eq(bank__seat_same_as_neighbour(cs, 2, &empty), 0);
}

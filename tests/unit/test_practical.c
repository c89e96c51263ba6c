/* The practical part: tasks, stations and slots (bank_practical_assign / _check), the
 * deterministic random numbers they draw from, and the printable schedules
 * (bank_practical_schedule). */
#include "kc_test.h"

static void setup(void)
{
    kc_setup();
}
TestSuite(practical, .init = setup, .fini = kc_teardown);

static bank_practical_candidate *cands(size_t n)
{
    bank_practical_candidate *c = kc_arena_alloc(A, (n ? n : 1) * sizeof *c);
    for (size_t i = 0; i < n; i++) {
        c[i].attempt_id = 1000 + i;
        c[i].ticket = kc_arena_printf(A, "2026%06zu", i + 1);
        c[i].name = kc_arena_printf(A, "考生%zu", i + 1);
    }
    return c;
}

static bank_practical_task *tasks(size_t n, const int *minutes)
{
    bank_practical_task *t = kc_arena_alloc(A, (n ? n : 1) * sizeof *t);
    for (size_t i = 0; i < n; i++) {
        t[i].item_id = 50 + i;
        t[i].uid = kc_arena_printf(A, "P-%02zu", i + 1);
        t[i].title = kc_arena_printf(A, "任务 %zu", i + 1);
        t[i].time_minutes = minutes ? minutes[i] : (int)(30 + 15 * (i % 5));
    }
    return t;
}

static void print_diag(void)
{
    for (size_t i = 0; i < D.n; i++) cr_log_error("%s", D.lines[i]);
}

/* The worked example of docs/PRACTICAL.md: 25 candidates, 10 stations, 3 tasks. */
Test(practical, waves_stations_and_times)
{
    static const int mins[3] = {60, 90, 45};
    bank_practical_task *t = tasks(3, mins);
    bank_practical_opts o = {.tasks_per_candidate = 1, .n_stations = 10,
                             .start_ms = 1796432400000LL, .changeover_minutes = 10, .seed = 7};
    bank_practical_plan p;
    char why[256] = "";
    cr_assert_eq(bank_practical_assign(cands(25), 25, t, 3, &o, A, &p, why, sizeof why), 0, "%s", why);
    cr_expect_eq(p.waves, 3);
    cr_expect_eq(p.n_slots, 3);
    cr_expect_eq(p.slot_minutes, 100, "longest task 90 + changeover 10");
    cr_expect_eq(p.n, 25);
    cr_expect_eq(p.a[0].station, 0);
    cr_expect_eq(p.a[0].slot_no, 1);
    cr_expect_eq(p.a[9].station, 9);
    cr_expect_eq(p.a[10].station, 0);
    cr_expect_eq(p.a[10].slot_no, 2);
    cr_expect_eq(p.a[24].station, 4);
    cr_expect_eq(p.a[24].slot_no, 3);
    cr_expect_eq(p.a[24].starts_at_ms, o.start_ms + 2 * 100 * 60000LL);
    cr_expect_eq(p.a[24].ends_at_ms, p.a[24].starts_at_ms + mins[p.a[24].task] * 60000LL);
    cr_expect_eq(bank_practical_check(25, t, 3, &o, &p, &D), 0);
    print_diag();
}

Test(practical, two_tasks_each_in_two_rounds)
{
    bank_practical_task *t = tasks(4, NULL);
    bank_practical_opts o = {.tasks_per_candidate = 2, .n_stations = 3, .start_ms = 0,
                             .slot_minutes = 120, .changeover_minutes = 10, .seed = 99};
    bank_practical_plan p;
    char why[256] = "";
    cr_assert_eq(bank_practical_assign(cands(7), 7, t, 4, &o, A, &p, why, sizeof why), 0, "%s", why);
    cr_expect_eq(p.waves, 3);
    cr_expect_eq(p.n_slots, 6);
    cr_expect_eq(p.slot_minutes, 120);
    /* candidate 4: station 1, wave 2; its second task is in the same wave of round 2 */
    cr_expect_eq(p.a[8].station, 1);
    cr_expect_eq(p.a[8].slot_no, 2);
    cr_expect_eq(p.a[9].station, 1);
    cr_expect_eq(p.a[9].slot_no, 5);
    cr_expect_eq(p.a[9].starts_at_ms, 4 * 120 * 60000LL);
    cr_expect_neq(p.a[8].task, p.a[9].task);
    cr_expect_eq(bank_practical_check(7, t, 4, &o, &p, &D), 0);
    print_diag();
}

Test(practical, refusals_say_why)
{
    static const int mins[3] = {60, 120, 0};
    bank_practical_task *t = tasks(3, mins);
    bank_practical_candidate *c = cands(5);
    bank_practical_plan p;
    char why[256];
    bank_practical_opts o = {.tasks_per_candidate = 4, .n_stations = 2, .changeover_minutes = 10};
    cr_expect_eq(bank_practical_assign(c, 5, t, 2, &o, A, &p, why, sizeof why), KC_EINVAL);
    cr_expect_str_eq(why, "each candidate is to perform 4 different tasks, the pool has 2");
    o.tasks_per_candidate = 1;
    o.slot_minutes = 125;
    cr_expect_eq(bank_practical_assign(c, 5, t, 2, &o, A, &p, why, sizeof why), KC_EINVAL);
    cr_expect_str_eq(why, "a slot of 125 minutes is too short for task P-02: it takes 120 minutes "
                          "and the changeover 10");
    o.slot_minutes = 130;
    cr_expect_eq(bank_practical_assign(c, 5, t, 2, &o, A, &p, why, sizeof why), 0);
    cr_expect_eq(bank_practical_assign(c, 5, t, 3, &o, A, &p, why, sizeof why), KC_EINVAL);
    cr_expect_str_eq(why, "task P-03 has no 考核时间 (time allowed)");
    cr_expect_eq(bank_practical_assign(c, 0, t, 2, &o, A, &p, why, sizeof why), KC_EINVAL);
    cr_expect_str_eq(why, "no candidates to assign");
    o.n_stations = 0;
    cr_expect_eq(bank_practical_assign(c, 5, t, 2, &o, A, &p, why, sizeof why), KC_EINVAL);
    cr_expect_str_eq(why, "no stations");
}

/* A small generator of sizes for the property test, separate from the code under test. */
static uint32_t lcg(uint64_t *x, uint32_t n)
{
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)((*x >> 33) % n);
}

Test(practical, every_rule_holds_over_many_sizes_and_seeds)
{
    uint64_t g = 12345;
    int runs = 0, refused = 0, differed = 0, compared = 0;
    for (int it = 0; it < 1500; it++) {
        size_t n = 1 + lcg(&g, 200), T = 1 + lcg(&g, 12);
        int ns = 1 + (int)lcg(&g, 30), k = 1 + (int)lcg(&g, 3);
        if (it < 30) { n = 1 + (size_t)it; ns = 1 + it % 4; T = 2 + (size_t)(it % 3); }  /* small cases */
        kc_arena *loc = kc_arena_new(0);
        kc_arena *keep = A;
        A = loc;
        bank_practical_candidate *c = cands(n);
        bank_practical_task *t = tasks(T, NULL);
        A = keep;
        bank_practical_opts o = {.tasks_per_candidate = k, .n_stations = ns,
                                 .start_ms = 1796432400000LL + it * 60000LL,
                                 .changeover_minutes = (int)lcg(&g, 20),
                                 .slot_minutes = lcg(&g, 2) ? 0 : 120,
                                 .seed = ((uint64_t)lcg(&g, 1u << 31) << 32) | lcg(&g, 1u << 31)};
        bank_practical_plan p, q, other;
        char why[256] = "";
        int rc = bank_practical_assign(c, n, t, T, &o, loc, &p, why, sizeof why);
        if ((size_t)k > T) {
            cr_expect_eq(rc, KC_EINVAL, "n=%zu T=%zu k=%d", n, T, k);
            refused++;
            kc_arena_free(loc);
            continue;
        }
        cr_assert_eq(rc, 0, "n=%zu ns=%d T=%zu k=%d: %s", n, ns, T, k, why);
        runs++;
        kc_diag dd;
        kc_diag_init(&dd, loc);
        int bad = bank_practical_check(n, t, T, &o, &p, &dd);
        for (size_t i = 0; i < dd.n && i < 5; i++) cr_log_error("%s", dd.lines[i]);
        cr_assert_eq(bad, 0, "n=%zu ns=%d T=%zu k=%d seed=%llu", n, ns, T, k,
                     (unsigned long long)o.seed);
        /* the sizes follow from n, ns and k alone */
        size_t waves = (n + (size_t)ns - 1) / (size_t)ns;
        cr_assert_eq((size_t)p.waves, waves);
        cr_assert_eq(p.n_slots, (int)waves * k);
        cr_assert_eq(bank_practical_assign(c, n, t, T, &o, loc, &q, why, sizeof why), 0);
        cr_assert_eq(p.n, q.n);
        cr_assert(!memcmp(p.a, q.a, p.n * sizeof *p.a), "the same seed gives the same plan");
        if (n >= 6 && T >= 3) {
            o.seed ^= 0x5DEECE66DULL;
            cr_assert_eq(bank_practical_assign(c, n, t, T, &o, loc, &other, why, sizeof why), 0);
            compared++;
            for (size_t i = 0; i < p.n; i++)
                if (p.a[i].task != other.a[i].task) { differed++; break; }
        }
        kc_arena_free(loc);
    }
    cr_expect_gt(runs, 1000);
    cr_expect_gt(refused, 20);
    cr_expect_gt(differed, compared * 9 / 10, "another seed deals other tasks (%d of %d)",
                 differed, compared);
}

/* Each rule of the check catches its breach. */
Test(practical, the_check_finds_each_broken_rule)
{
    static const int same[3] = {60, 60, 60};    /* a changed task keeps its times */
    bank_practical_task *t = tasks(3, same);
    bank_practical_opts o = {.tasks_per_candidate = 2, .n_stations = 4, .start_ms = 0,
                             .changeover_minutes = 10, .seed = 3};
    bank_practical_plan p;
    char why[256] = "";
    cr_assert_eq(bank_practical_assign(cands(10), 10, t, 3, &o, A, &p, why, sizeof why), 0);
    cr_assert_eq(bank_practical_check(10, t, 3, &o, &p, &D), 0);
    bank_practical_slot *save = kc_arena_alloc(A, p.n * sizeof *save);
    memcpy(save, p.a, p.n * sizeof *save);
    struct { const char *what, *expect; } cases[] = {
        {"same task twice", "plan: candidate 0 has task"},
        {"two at one station", "plan: station 1 hosts candidates 0 and 1 in slot 1"},
        {"bad time", "plan: candidate 3 task 1: times"},
        {"neighbours", "plan: slot 1: neighbouring stations 0 and 1 both have task"},
        {"wrong round", "plan: candidate 2 task 2 is in slot 3, outside round 2"},
        {"uneven", "plan: round 1: tasks are used between"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        memcpy(p.a, save, p.n * sizeof *save);
        switch (c) {
        case 0: p.a[1].task = p.a[0].task; break;
        case 1: p.a[0].station = 1; break;
        case 2: p.a[6].ends_at_ms += 60000; break;
        case 3: p.a[2].task = p.a[0].task; p.a[3].task = p.a[0].task == 0 ? 1 : 0;
                if (p.a[3].task == p.a[2].task) p.a[3].task = 2;
                /* keep candidate 1's two tasks distinct so only the neighbour rule breaks */
                if (p.a[3].task == p.a[2].task) p.a[3].task = (p.a[2].task + 1) % 3;
                break;
        case 4: p.a[5].slot_no = 3; p.a[5].starts_at_ms = p.a[4].starts_at_ms;
                p.a[5].ends_at_ms = p.a[4].starts_at_ms + t[p.a[5].task].time_minutes * 60000LL;
                break;
        case 5: for (size_t i = 0; i < 10; i++) p.a[i * 2].task = 0;
                for (size_t i = 0; i < 10; i++) p.a[i * 2 + 1].task = 1;
                break;
        }
        kc_diag_init(&D, A);
        int bad = bank_practical_check(10, t, 3, &o, &p, &D);
        cr_expect_gt(bad, 0, "%s is not found", cases[c].what);
        int seen = 0;
        for (size_t i = 0; i < D.n; i++)
            if (!strncmp(D.lines[i], cases[c].expect, strlen(cases[c].expect))) seen = 1;
        cr_expect(seen, "%s: no line starting \"%s\"", cases[c].what, cases[c].expect);
        if (!seen) print_diag();
    }
}

/* What the plan relies on of bank_rng (bank_paper.c): the same seed, the same sequence;
 * draws in range and even; shuffles are permutations; derived seeds differ. */
Test(practical, rng_as_the_plan_uses_it)
{
    bank_rng r1, r2;
    bank_rng_seed(&r1, 42);
    bank_rng_seed(&r2, 42);
    for (int i = 0; i < 100; i++) cr_assert_eq(bank_rng_next(&r1), bank_rng_next(&r2));
    unsigned hits[7] = {0};
    for (int i = 0; i < 70000; i++) {
        uint32_t v = bank_rng_below(&r1, 7);
        cr_assert_lt(v, 7);
        hits[v]++;
    }
    for (int i = 0; i < 7; i++) cr_expect(hits[i] > 9000 && hits[i] < 11000, "%u", hits[i]);
    uint32_t v[50], seen[50] = {0};
    for (uint32_t i = 0; i < 50; i++) v[i] = i;
    bank_rng_shuffle_u32(&r1, v, 50);
    for (int i = 0; i < 50; i++) seen[v[i]]++;
    for (int i = 0; i < 50; i++) cr_expect_eq(seen[i], 1);
    cr_expect_neq(bank_seed_derive(7, 1), bank_seed_derive(7, 2));
}

/* ---- schedules (bank_practical_schedule): no database, entries as the loader gives them ---- */

static const bank_practical_entry sched[] = {
    {"工位01", "2026110001", "王小明", "PR-01", "配置防火墙, 仅开放 \"SSH\"", "", 1, 1, 1,
     1796432400000LL /* 2026-12-05T01:00Z */, 1796435100000LL},
    {"工位01", "2026110003", "Li", "PR-02", "<原因> & 处理", "交换机 2 台", 1, 2, 1,
     1796439600000LL /* 03:00Z */, 1796488200000LL /* 16:30Z: 00:30 the next day at UTC+8 */},
    {"工位02", "2026110002", "张伟", "PR-03", "划分 VLAN", "", 2, 1, 1,
     1796432400000LL, 1796436000000LL},
};

static const char *schedule_of(int examiners, enum bank_schedule_format f, int offset_min)
{
    kc_buf b = {0};
    cr_assert_eq(bank_practical_schedule(&b, "S1", "实操场次", sched, 3, examiners, f, offset_min), 0);
    return kc_buf_to_arena(&b, A);
}

Test(practical, schedule_csv_quotes_and_ends_lines_with_crlf)
{
    const char *s = schedule_of(0, BANK_SCHEDULE_CSV, 480);
    cr_assert_not_null(s);
    const char *want =
        "准考证号,姓名,序号,工位,时段,开始,结束,试题编号,试题,设备要求\r\n"
        "2026110001,王小明,1,工位01,1,2026-12-05T01:00:00.000Z,2026-12-05T01:45:00.000Z,PR-01,"
        "\"配置防火墙, 仅开放 \"\"SSH\"\"\",\r\n";
    cr_expect_eq(strncmp(s, want, strlen(want)), 0, "got:\n%s", s);
    cr_expect_not_null(strstr(s, "PR-02,<原因> & 处理,交换机 2 台\r\n"), "CSV times stay UTC: %s", s);
}

Test(practical, schedule_text_pads_wide_characters_and_shows_the_offset)
{
    const char *s = schedule_of(1, BANK_SCHEDULE_TEXT, 480);
    cr_assert_not_null(s);
    cr_expect_not_null(strstr(s, "场次 Session: S1 实操场次\n时间 Times: UTC+8\n"), "%s", s);
    /* 王小明 is six columns wide: padded to 12 like the ASCII name "Li" */
    cr_expect_not_null(strstr(s, "1       2026-12-05 09:00–09:45    2026110001    王小明        PR-01 "), "%s", s);
    cr_expect_not_null(strstr(s, "2026110003    Li            PR-02"), "%s", s);
    cr_expect_not_null(strstr(s, "2026-12-05 11:00–2026-12-06 00:30"), "an end on another day shows its date: %s", s);
    cr_expect_not_null(strstr(s, "\n工位02\n"), "a heading per station: %s", s);
    const char *c = schedule_of(0, BANK_SCHEDULE_TEXT, -210);
    cr_expect_not_null(strstr(c, "时间 Times: UTC-3:30\n"), "%s", c);
    cr_expect_not_null(strstr(c, "     设备要求 Equipment: 交换机 2 台\n"), "%s", c);
}

Test(practical, schedule_html_escapes_and_breaks_pages_per_station)
{
    const char *s = schedule_of(1, BANK_SCHEDULE_HTML, 0);
    cr_assert_not_null(s);
    cr_expect_not_null(strstr(s, "&lt;原因&gt; &amp; 处理"), "%s", s);
    cr_expect_not_null(strstr(s, "&quot;SSH&quot;"));
    cr_expect_null(strstr(s, "<原因>"));
    int sections = 0;
    for (const char *p = s; (p = strstr(p, "<section>")); p++) sections++;
    cr_expect_eq(sections, 2, "a page per station");
    cr_expect_null(strstr(s, "<script"));
    const char *c = schedule_of(0, BANK_SCHEDULE_HTML, 0);
    sections = 0;
    for (const char *p = c; (p = strstr(p, "<section>")); p++) sections++;
    cr_expect_eq(sections, 1, "candidates: one table of everyone");
    cr_expect_eq(strcmp(c + strlen(c) - strlen("</body>\n</html>\n"), "</body>\n</html>\n"), 0);
    enum bank_schedule_format f;
    cr_expect_eq(bank_schedule_format_parse("html", &f), 0);
    cr_expect_eq(f, BANK_SCHEDULE_HTML);
    cr_expect_eq(bank_schedule_format_parse("pdf", &f), KC_EINVAL);
}

/* lib/: the map, buffers, arenas and diagnostics, errors and the DB layer's classification
 * of MariaDB errors (no database needed). */
#include <criterion/criterion.h>
#include <errmsg.h>
#include <mysqld_error.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/kc.h"

Test(map, put_get_del_and_grow)
{
    kc_map m;
    cr_assert_eq(kc_map_init(&m, 4), 0);
    for (uint64_t k = 1; k <= 10000; k++) cr_assert_eq(kc_map_put(&m, k, k * 7), 0);
    cr_assert_eq(m.n, 10000);
    cr_assert_geq(m.cap, 20000, "the table keeps at most half full");
    uint64_t v = 0;
    for (uint64_t k = 1; k <= 10000; k++) {
        cr_assert_eq(kc_map_get(&m, k, &v), 1, "key %llu", (unsigned long long)k);
        cr_assert_eq(v, k * 7);
    }
    cr_assert_eq(kc_map_get(&m, 10001, &v), 0);
    cr_assert_eq(kc_map_put(&m, 5, 55), 0, "a second put replaces");
    cr_assert_eq(m.n, 10000);
    cr_assert(kc_map_get(&m, 5, &v) && v == 55);
    cr_assert_eq(kc_map_put(&m, 0, 1), KC_EINVAL, "0 is not a key");
    kc_map_free(&m);
}

/* Deleting from the middle of probe runs must leave every other key reachable: the
 * backward shift is what replaces tombstones. */
Test(map, delete_keeps_runs_reachable)
{
    kc_map m;
    cr_assert_eq(kc_map_init(&m, 64), 0);
    uint64_t keys[3000];
    for (int i = 0; i < 3000; i++) {
        keys[i] = (uint64_t)i * 1048576u + 1;    /* many share a home slot */
        cr_assert_eq(kc_map_put(&m, keys[i], (uint64_t)i), 0);
    }
    for (int i = 0; i < 3000; i += 3) cr_assert_eq(kc_map_del(&m, keys[i]), 1);
    cr_assert_eq(kc_map_del(&m, keys[0]), 0, "already gone");
    for (int i = 0; i < 3000; i++) {
        uint64_t v;
        int found = kc_map_get(&m, keys[i], &v);
        if (i % 3 == 0) cr_assert_eq(found, 0, "key %d was deleted", i);
        else cr_assert(found && v == (uint64_t)i, "key %d is still there", i);
    }
    cr_assert_eq(m.n, 2000);
    /* a long put/delete churn keeps the table small: no tombstones pile up */
    size_t cap = m.cap;
    for (uint64_t k = 1; k < 200000; k++) {
        cr_assert_eq(kc_map_put(&m, 1u << 30 | k, k), 0);
        cr_assert_eq(kc_map_del(&m, 1u << 30 | k), 1);
    }
    cr_assert_eq(m.cap, cap);
    kc_map_free(&m);
}

Test(buf, grows_and_hands_over)
{
    kc_buf b = {0};
    kc_buf_add(&b, "", 0);
    cr_assert_str_eq(b.p, "", "an empty start is a string");
    for (int i = 0; i < 1000; i++) kc_buf_printf(&b, "%d,", i);
    cr_assert_eq(b.oom, 0);
    cr_assert(!strncmp(b.p, "0,1,2,", 6));
    cr_assert_eq(strlen(b.p), b.n);
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    kc_buf_printf(&b, "[%s]", big);       /* longer than the formatting buffer */
    cr_assert_eq(b.p[b.n - 1], ']');
    kc_arena *a = kc_arena_new(0);
    size_t n = b.n;
    char *copy = kc_buf_to_arena(&b, a);
    cr_assert_eq(strlen(copy), n);
    cr_assert_null(b.p, "the buffer is emptied");
    kc_buf_str(&b, "abc");
    char *own = kc_buf_take(&b);
    cr_assert_str_eq(own, "abc");
    free(own);
    kc_arena_free(a);
}

Test(arena, diag_lines)
{
    kc_arena *a = kc_arena_new(256);
    kc_diag d;
    kc_diag_init(&d, a);
    cr_assert_eq(kc_diag_add(&d, "bank.csv", 12, "答案", "expected %s", "A-D"), 0);
    cr_assert_eq(kc_diag_add(&d, "book.xlsx:题库!", 7, "题型", "unknown"), 0);
    cr_assert_eq(kc_diag_add(&d, "t.json", 0, NULL, "file-level"), 0);
    cr_assert_str_eq(d.lines[0], "bank.csv:12: 答案: expected A-D");
    cr_assert_str_eq(d.lines[1], "book.xlsx:题库!7: 题型: unknown");
    cr_assert_str_eq(d.lines[2], "t.json: file-level");
    for (int i = 0; i < 100; i++) kc_diag_add(&d, "f", i + 1, "x", "line %d", i);
    cr_assert_eq(d.n, 103);
    char *big = kc_arena_alloc(a, 100000);       /* bigger than a chunk: a chunk of its own */
    cr_assert_not_null(big);
    cr_assert_eq(big[99999], 0, "arena memory is zeroed");
    kc_arena_free(a);
}

Test(errors, lost_and_transient_by_number)
{
    cr_assert(kc_db_is_lost(CR_SERVER_GONE_ERROR));
    cr_assert(kc_db_is_lost(CR_SERVER_LOST));
    cr_assert(kc_db_is_lost(CR_SERVER_LOST_EXTENDED));
    cr_assert(kc_db_is_lost(ER_CONNECTION_KILLED));
    cr_assert(kc_db_is_lost(ER_SERVER_SHUTDOWN));
    cr_assert_not(kc_db_is_lost(ER_DUP_ENTRY));
    cr_assert(kc_db_is_transient(ER_LOCK_DEADLOCK));
    cr_assert(kc_db_is_transient(ER_LOCK_WAIT_TIMEOUT));
    cr_assert_not(kc_db_is_transient(ER_DUP_ENTRY));
    cr_assert_not(kc_db_is_transient(CR_SERVER_LOST));
    kc_db db;
    memset(&db, 0, sizeof db);
    cr_assert_eq(kc_db_classify(&db, CR_SERVER_LOST), KC_ELOST);
    cr_assert_eq(db.err_no, CR_SERVER_LOST);
    cr_assert_eq(kc_db_classify(&db, ER_LOCK_DEADLOCK), KC_ERETRY);
    cr_assert_eq(kc_db_classify(&db, ER_NO_REFERENCED_ROW_2), KC_EDB);
    cr_assert_str_eq(kc_strerror(KC_ERETRY), "transient database error (deadlock or lock wait timeout)");
}

Test(errors, a_closed_connection_is_lost_not_a_crash)
{
    kc_db db;
    memset(&db, 0, sizeof db);      /* never connected */
    cr_assert_null(kc_db_stmt(&db, "SELECT 1"));
    cr_assert_eq(kc_db_fail_code(&db), KC_ELOST);
    cr_assert_eq(kc_db_exec(&db, "SELECT 1", ""), KC_ELOST);
    cr_assert_eq(kc_db_begin(&db), KC_ELOST);
    cr_assert(strstr(db.err, "not connected"));
}

Test(time, iso_round_trip)
{
    char s[32];
    int64_t ms = 1764550800123;       /* 2025-12-01T01:00:00.123Z */
    cr_assert_eq(kc_format_iso(ms, s, sizeof s), 0);
    cr_assert_str_eq(s, "2025-12-01T01:00:00.123Z");
    int64_t back;
    cr_assert_eq(kc_parse_time("2025-12-01T01:00:00Z", 0, &back), 0);
    cr_assert_eq(back, ms - 123);
    cr_assert_eq(kc_parse_time("+90m", 1000, &back), 0);
    cr_assert_eq(back, 1000 + 90 * 60 * 1000);
    cr_assert_eq(kc_parse_time("2025-13-01T00:00Z", 0, &back), KC_EINVAL);
}

Test(crypto, hmac_and_hex)
{
    unsigned char key[32] = {0}, mac[32];
    char hex[65];
    kc_hmac_sha256(key, "abc", 3, mac);
    kc_hex(mac, 32, hex);
    cr_assert_eq(strlen(hex), 64);
    unsigned char again[32];
    kc_hmac_sha256(key, "abc", 3, again);
    cr_assert(kc_memeq(mac, again, 32));
    key[0] = 1;
    kc_hmac_sha256(key, "abc", 3, again);
    cr_assert_not(kc_memeq(mac, again, 32));
}

/* ---- timer wheel ---- */

struct fired { uint32_t e[64]; int n; kc_wheel *w; int64_t reset_to; };
static void on_fire(void *arg, uint32_t e)
{
    struct fired *f = arg;
    if (f->n < 64) f->e[f->n++] = e;
    if (f->reset_to) kc_wheel_set(f->w, e, f->reset_to);   /* e.g. the next PING */
}

Test(wheel, fires_due_entries_once_in_their_second)
{
    kc_wheel w;
    cr_assert_eq(kc_wheel_init(&w, 10, 8, 100), 0);
    kc_wheel_set(&w, 1, 103);
    kc_wheel_set(&w, 2, 105);
    kc_wheel_set(&w, 3, 103);
    struct fired f = {.w = &w};
    cr_assert_eq(kc_wheel_advance(&w, 102, on_fire, &f), 0);
    cr_assert_eq(kc_wheel_advance(&w, 103, on_fire, &f), 2);
    cr_assert(f.n == 2 && ((f.e[0] == 1 && f.e[1] == 3) || (f.e[0] == 3 && f.e[1] == 1)));
    cr_assert(!kc_wheel_has(&w, 1) && !kc_wheel_has(&w, 3) && kc_wheel_has(&w, 2));
    cr_assert_eq(kc_wheel_advance(&w, 103, on_fire, &f), 0, "a second is passed once");
    cr_assert_eq(kc_wheel_advance(&w, 110, on_fire, &f), 1);
    cr_assert_eq(f.e[2], 2);
    kc_wheel_free(&w);
}

Test(wheel, later_laps_wait_and_moves_and_deletes_hold)
{
    kc_wheel w;
    cr_assert_eq(kc_wheel_init(&w, 4, 8, 0), 0);
    kc_wheel_set(&w, 0, 3);
    kc_wheel_set(&w, 1, 11);      /* the same bucket as 3, one lap later */
    struct fired f = {.w = &w};
    cr_assert_eq(kc_wheel_advance(&w, 5, on_fire, &f), 1);
    cr_assert_eq(f.e[0], 0);
    kc_wheel_set(&w, 1, 20);      /* moved: nothing at 11 */
    cr_assert_eq(kc_wheel_advance(&w, 12, on_fire, &f), 0);
    kc_wheel_set(&w, 2, 14);
    kc_wheel_del(&w, 2);
    kc_wheel_del(&w, 2);          /* twice is harmless */
    cr_assert_eq(kc_wheel_advance(&w, 19, on_fire, &f), 0);
    /* A long gap (past a whole lap) still finds everything due. */
    kc_wheel_set(&w, 3, 22);
    cr_assert_eq(kc_wheel_advance(&w, 1000, on_fire, &f), 2);
    /* A second already passed is due at the next advance. */
    kc_wheel_set(&w, 0, 10);
    cr_assert_eq(kc_wheel_advance(&w, 1001, on_fire, &f), 1);
    kc_wheel_free(&w);
}

Test(wheel, callbacks_may_set_again)
{
    kc_wheel w;
    cr_assert_eq(kc_wheel_init(&w, 3, 16, 0), 0);
    for (uint32_t e = 0; e < 3; e++) kc_wheel_set(&w, e, 5);
    struct fired f = {.w = &w, .reset_to = 5 + 30};   /* beyond one lap of 16 */
    cr_assert_eq(kc_wheel_advance(&w, 5, on_fire, &f), 3);
    for (uint32_t e = 0; e < 3; e++) cr_assert(kc_wheel_has(&w, e));
    f.reset_to = 0;
    cr_assert_eq(kc_wheel_advance(&w, 34, on_fire, &f), 0, "not before their lap");
    cr_assert_eq(kc_wheel_advance(&w, 35, on_fire, &f), 3);
    kc_wheel_free(&w);
}

Test(wheel, many_entries)
{
    enum { N = 20000 };
    kc_wheel w;
    cr_assert_eq(kc_wheel_init(&w, N, 128, 0), 0);
    for (uint32_t e = 0; e < N; e++) kc_wheel_set(&w, e, 1 + e % 300);
    for (uint32_t e = 0; e < N; e += 2) kc_wheel_del(&w, e);
    struct fired f = {.w = &w};
    size_t total = 0;
    for (int64_t s = 1; s <= 300; s++) {
        f.n = 0;
        total += kc_wheel_advance(&w, s, on_fire, &f);
    }
    cr_assert_eq(total, N / 2);
    kc_wheel_free(&w);
}

Test(kc, grow_doubles_until_it_fits_and_keeps_the_contents)
{
    int *v = NULL;
    size_t cap = 0;
    cr_assert_eq(kc_grow((void **)&v, &cap, 1, sizeof *v), 0);
    cr_assert_eq(cap, 16);
    for (int i = 0; i < 16; i++) v[i] = i;
    cr_assert_eq(kc_grow((void **)&v, &cap, 16, sizeof *v), 0, "room enough: nothing to do");
    cr_assert_eq(cap, 16);
    cr_assert_eq(kc_grow((void **)&v, &cap, 100, sizeof *v), 0);
    cr_assert_eq(cap, 128);
    for (int i = 0; i < 16; i++) cr_assert_eq(v[i], i);
    int *before = v;
    cr_assert_eq(kc_grow((void **)&v, &cap, SIZE_MAX / 2, sizeof *v), KC_ENOMEM, "too big: refused");
    cr_assert_eq(v, before);
    cr_assert_eq(cap, 128, "unchanged on failure");
    free(v);
}

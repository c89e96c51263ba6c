/* The proctoring event buffer: bounded, batches handed over whole. */
#include <criterion/criterion.h>
#include <string.h>

#include "../../proctoring/proct.h"

Test(proct, take_gives_everything_once)
{
    proct_buffer b;
    proct_buffer_init(&b, 1000);
    cr_assert_null(proct_buffer_take(&b));
    for (int i = 0; i < 600; i++)
        cr_assert_eq(proct_buffer_add(&b, (uint64_t)i, i, "blur", "x"), 0);
    proct_batch *batch = proct_buffer_take(&b);
    cr_assert_not_null(batch);
    cr_assert_eq(batch->n, 600);
    cr_assert_eq(batch->ev[599].attempt_id, 599);
    cr_assert_str_eq(batch->ev[0].kind, "blur");
    cr_assert_null(proct_buffer_take(&b));
    proct_batch_free(batch);
    proct_buffer_free(&b);
}

Test(proct, full_buffer_drops_newest)
{
    proct_buffer b;
    proct_buffer_init(&b, 10);
    for (int i = 0; i < 15; i++) proct_buffer_add(&b, (uint64_t)i, i, "focus", NULL);
    cr_assert_eq(b.dropped, 5);
    proct_batch *batch = proct_buffer_take(&b);
    cr_assert_eq(batch->n, 10);
    cr_assert_eq(batch->ev[0].attempt_id, 0);
    cr_assert_eq(batch->ev[9].attempt_id, 9);
    cr_assert_str_eq(batch->ev[0].detail, "");
    proct_batch_free(batch);
    proct_buffer_free(&b);
}

Test(proct, long_strings_truncated_safely)
{
    proct_buffer b;
    proct_buffer_init(&b, 10);
    char big[200];
    memset(big, 'k', sizeof big - 1);
    big[199] = 0;
    proct_buffer_add(&b, 1, 1, big, big);
    proct_batch *batch = proct_buffer_take(&b);
    cr_assert_eq(strlen(batch->ev[0].kind), sizeof batch->ev[0].kind - 1);
    cr_assert_eq(strlen(batch->ev[0].detail), sizeof batch->ev[0].detail - 1);
    proct_batch_free(batch);
    proct_buffer_free(&b);
}

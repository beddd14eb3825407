/* Unit tests for ol_backoff: the delays of a retry loop. */
#include <criterion/criterion.h>

#include "ol_backoff.h"

Test(backoff, doubles_up_to_the_limit) {
    ol_backoff b;
    ol_backoff_init(&b, 200, 6400);
    const int64_t want[] = {200, 400, 800, 1600, 3200, 6400, 6400, 6400};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) cr_assert_eq(ol_backoff_next(&b), want[i], "step %zu", i);
}

Test(backoff, a_limit_between_doublings_is_reached_not_passed) {
    ol_backoff b;
    ol_backoff_init(&b, 200, 5000);
    const int64_t want[] = {200, 400, 800, 1600, 3200, 5000, 5000};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) cr_assert_eq(ol_backoff_next(&b), want[i], "step %zu", i);
}

Test(backoff, first_above_the_limit_is_the_limit) {
    ol_backoff b;
    ol_backoff_init(&b, 9000, 5000);
    cr_assert_eq(ol_backoff_next(&b), 5000);
    cr_assert_eq(ol_backoff_next(&b), 5000);
}

Test(backoff, reset_starts_again) {
    ol_backoff b;
    ol_backoff_init(&b, 100, 1000);
    ol_backoff_next(&b);
    ol_backoff_next(&b);
    cr_assert_eq(ol_backoff_next(&b), 400);
    ol_backoff_reset(&b);
    cr_assert_eq(ol_backoff_next(&b), 100);
    cr_assert_eq(ol_backoff_next(&b), 200);
}

Test(backoff, huge_limits_do_not_overflow) {
    ol_backoff b;
    ol_backoff_init(&b, INT64_MAX / 2 + 1, INT64_MAX);
    cr_assert_eq(ol_backoff_next(&b), INT64_MAX / 2 + 1);
    cr_assert_eq(ol_backoff_next(&b), INT64_MAX);
    cr_assert_eq(ol_backoff_next(&b), INT64_MAX);
}

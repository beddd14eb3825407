/* Unit tests for gw_inlog: the orders answered 202 that a repeat must not
 * produce again, bounded in entries and in time. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "inlog.h"

Test(gateway_inlog, remembers_where_until_it_expires) {
    gw_inlog *t = gw_inlog_new(4, 1000);
    cr_assert_not_null(t);
    gw_in_log w = {-1, -1};
    cr_assert_not(gw_inlog_get(t, "k-1", 0, &w));
    cr_assert(gw_inlog_put(t, "k-1", (gw_in_log){2, 17}, 100));
    cr_assert(gw_inlog_get(t, "k-1", 1099, &w));
    cr_assert_eq(w.partition, 2);
    cr_assert_eq(w.offset, 17);
    cr_assert_not(gw_inlog_get(t, "k-1", 1100, &w)); /* ttl after the put */
    cr_assert_eq(gw_inlog_size(t), 0);
    gw_inlog_destroy(t);
}

Test(gateway_inlog, the_oldest_goes_first_when_full) {
    gw_inlog *t = gw_inlog_new(3, 60000);
    gw_in_log w;
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "k-%d", i);
        cr_assert(gw_inlog_put(t, id, (gw_in_log){0, i}, i));
    }
    cr_assert_eq(gw_inlog_size(t), 3);
    cr_assert_not(gw_inlog_get(t, "k-0", 10, &w));
    cr_assert_not(gw_inlog_get(t, "k-1", 10, &w));
    for (int i = 2; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "k-%d", i);
        cr_assert(gw_inlog_get(t, id, 10, &w), "%s", id);
        cr_assert_eq(w.offset, i);
    }
    gw_inlog_destroy(t);
}

Test(gateway_inlog, put_again_moves_it_to_the_new_place_and_time) {
    gw_inlog *t = gw_inlog_new(2, 1000);
    gw_in_log w;
    cr_assert(gw_inlog_put(t, "a", (gw_in_log){0, 1}, 0));
    cr_assert(gw_inlog_put(t, "a", (gw_in_log){1, 5}, 500));
    cr_assert(gw_inlog_get(t, "a", 1200, &w)); /* the first put's slot aged out, not the second's */
    cr_assert_eq(w.partition, 1);
    cr_assert_eq(w.offset, 5);
    cr_assert(gw_inlog_put(t, "b", (gw_in_log){0, 2}, 1300));
    cr_assert(gw_inlog_get(t, "a", 1300, &w)); /* evicting the stale slot of "a" left "a" */
    cr_assert(gw_inlog_put(t, "c", (gw_in_log){0, 3}, 1400));
    cr_assert_not(gw_inlog_get(t, "a", 1400, &w)); /* now full: "a" is the oldest */
    cr_assert(gw_inlog_get(t, "b", 1400, &w));
    cr_assert(gw_inlog_get(t, "c", 1400, &w));
    gw_inlog_destroy(t);
}

Test(gateway_inlog, refuses_empty_and_too_long_keys) {
    gw_inlog *t = gw_inlog_new(2, 1000);
    char id[200];
    memset(id, 'x', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    cr_assert_not(gw_inlog_put(t, "", (gw_in_log){0, 0}, 0));
    cr_assert_not(gw_inlog_put(t, id, (gw_in_log){0, 0}, 0));
    cr_assert_eq(gw_inlog_size(t), 0);
    cr_assert_null(gw_inlog_new(0, 1000));
    gw_inlog_destroy(t);
    gw_inlog_destroy(NULL);
}

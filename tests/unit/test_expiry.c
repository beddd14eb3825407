/* Unit tests for hold_expiry: when an open hold's expire is (re)sent. */
#include <criterion/criterion.h>

#include "expiry.h"

static bool due(hold_expiry *x, const char *id, int64_t now) {
    bool d;
    cr_assert(hold_expiry_due(x, id, now, &d));
    return d;
}

Test(expiry, once_then_every_resend_interval) {
    hold_expiry *x = hold_expiry_new(30000);
    cr_assert_not_null(x);
    cr_assert(hold_expiry_begin_scan(x));
    cr_assert(due(x, "h1", 1000), "a new hold past its deadline: at once");
    hold_expiry_end_scan(x);
    cr_assert(hold_expiry_begin_scan(x));
    cr_assert_not(due(x, "h1", 2000), "sent a second ago");
    cr_assert(due(x, "h2", 2000));
    hold_expiry_end_scan(x);
    cr_assert(hold_expiry_begin_scan(x));
    cr_assert_not(due(x, "h1", 30999));
    hold_expiry_end_scan(x);
    cr_assert(hold_expiry_begin_scan(x));
    cr_assert(due(x, "h1", 31000), "still open after the interval: again");
    hold_expiry_end_scan(x);
    cr_assert_eq(hold_expiry_tracked(x), 1, "h2 left the scan and is forgotten");
    cr_assert(hold_expiry_begin_scan(x));
    cr_assert(due(x, "h2", 31001), "forgotten, so new if it shows up again");
    hold_expiry_end_scan(x);
    hold_expiry_destroy(x);
}

Test(expiry, outside_a_scan_nothing_is_due) {
    hold_expiry *x = hold_expiry_new(1000);
    bool d = true;
    cr_assert_not(hold_expiry_due(x, "h1", 5, &d));
    cr_assert_not(d);
    hold_expiry_end_scan(x);
    cr_assert(hold_expiry_begin_scan(x));
    cr_assert(hold_expiry_begin_scan(x), "a scan begun twice starts over");
    hold_expiry_destroy(x);
    hold_expiry_destroy(NULL);
}

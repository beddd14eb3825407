/* Unit tests for ol_lifecycle: holds, confirmations, cancellations and
 * expiries, as decided in partition order. */
#include <criterion/criterion.h>
#include <string.h>

#include "ol_lifecycle.h"

#define T0 1700000000000LL /* a hold's message timestamp, ms */

static ol_life held(int32_t quantity, int32_t hold_s) {
    return ol_life_after_decision(true, OL_TYPE_ORDER, quantity, hold_s, T0);
}

static ol_life_verdict apply(ol_life *l, ol_life_event ev, int64_t ts, int32_t expect_back) {
    int32_t back = -1;
    ol_life_verdict v = ol_life_apply(l, ev, ts, &back);
    cr_assert_eq(back, expect_back, "%s gave back %d units, expected %d", ol_life_event_name(ev), back, expect_back);
    return v;
}

Test(lifecycle, decision_leaves_state) {
    ol_life l = held(3, 60);
    cr_assert_eq(l.state, OL_LIFE_HELD);
    cr_assert_eq(l.quantity, 3);
    cr_assert_eq(l.expires_at_ms, T0 + 60000);
    l = ol_life_after_decision(true, OL_TYPE_ORDER, 3, 0, T0);
    cr_assert_eq(l.state, OL_LIFE_ACCEPTED);
    cr_assert_eq(l.expires_at_ms, 0);
    l = ol_life_after_decision(false, OL_TYPE_ORDER, 3, 60, T0);
    cr_assert_eq(l.state, OL_LIFE_REJECTED);
    cr_assert_eq(l.quantity, 0, "a rejected order took nothing");
    l = ol_life_after_decision(true, OL_TYPE_RESTOCK, 3, 0, T0);
    cr_assert_eq(l.state, OL_LIFE_REJECTED, "a restock is nothing to cancel");
}

Test(lifecycle, confirm_then_others_lose) {
    ol_life l = held(3, 60);
    cr_assert_eq(apply(&l, OL_LIFE_CONFIRM, T0 + 1000, 0), OL_LIFE_OK);
    cr_assert_eq(l.state, OL_LIFE_CONFIRMED);
    cr_assert_eq(apply(&l, OL_LIFE_EXPIRE, T0 + 61000, 0), OL_LIFE_ALREADY_CONFIRMED);
    cr_assert_eq(apply(&l, OL_LIFE_CONFIRM, T0 + 2000, 0), OL_LIFE_ALREADY_CONFIRMED);
    cr_assert_eq(l.state, OL_LIFE_CONFIRMED);
}

Test(lifecycle, confirm_after_wall_deadline_but_logged_first_wins) {
    /* The confirm's timestamp is past the deadline, but no expire stands
     * before it in the partition: the log's order decides. */
    ol_life l = held(2, 10);
    cr_assert_eq(apply(&l, OL_LIFE_CONFIRM, T0 + 15000, 0), OL_LIFE_OK);
    cr_assert_eq(apply(&l, OL_LIFE_EXPIRE, T0 + 15001, 0), OL_LIFE_ALREADY_CONFIRMED);
}

Test(lifecycle, expire_then_confirm_loses) {
    ol_life l = held(2, 10);
    cr_assert_eq(apply(&l, OL_LIFE_EXPIRE, T0 + 10000, 2), OL_LIFE_OK, "at the deadline exactly it expires");
    cr_assert_eq(l.state, OL_LIFE_EXPIRED);
    cr_assert_eq(apply(&l, OL_LIFE_CONFIRM, T0 + 10001, 0), OL_LIFE_EXPIRED_BEFORE);
    cr_assert_eq(apply(&l, OL_LIFE_CANCEL, T0 + 10002, 0), OL_LIFE_EXPIRED_BEFORE);
    cr_assert_eq(apply(&l, OL_LIFE_EXPIRE, T0 + 10003, 0), OL_LIFE_EXPIRED_BEFORE, "units come back once");
    cr_assert_str_eq(ol_life_verdict_reason(OL_LIFE_EXPIRED_BEFORE), "expired");
}

Test(lifecycle, early_expire_changes_nothing) {
    ol_life l = held(2, 10);
    cr_assert_eq(apply(&l, OL_LIFE_EXPIRE, T0 + 9999, 0), OL_LIFE_NOT_EXPIRED);
    cr_assert_eq(l.state, OL_LIFE_HELD);
    cr_assert_eq(l.expires_at_ms, T0 + 10000);
    cr_assert_eq(apply(&l, OL_LIFE_CONFIRM, T0 + 9999, 0), OL_LIFE_OK, "the hold still stands");
}

Test(lifecycle, cancel_gives_back_once) {
    ol_life l = held(4, 60);
    cr_assert_eq(apply(&l, OL_LIFE_CANCEL, T0 + 1, 4), OL_LIFE_OK);
    cr_assert_eq(l.state, OL_LIFE_CANCELLED);
    cr_assert_eq(apply(&l, OL_LIFE_CANCEL, T0 + 2, 0), OL_LIFE_ALREADY_CANCELLED);
    cr_assert_eq(apply(&l, OL_LIFE_CONFIRM, T0 + 3, 0), OL_LIFE_ALREADY_CANCELLED);
    cr_assert_eq(apply(&l, OL_LIFE_EXPIRE, T0 + 70000, 0), OL_LIFE_ALREADY_CANCELLED);
}

Test(lifecycle, cancel_of_accepted_and_confirmed_are_returns) {
    ol_life l = ol_life_after_decision(true, OL_TYPE_ORDER, 5, 0, T0);
    cr_assert_eq(apply(&l, OL_LIFE_CANCEL, T0 + 1, 5), OL_LIFE_OK);
    l = held(3, 60);
    cr_assert_eq(apply(&l, OL_LIFE_CONFIRM, T0 + 1, 0), OL_LIFE_OK);
    cr_assert_eq(apply(&l, OL_LIFE_CANCEL, T0 + 2, 3), OL_LIFE_OK);
    cr_assert_eq(l.state, OL_LIFE_CANCELLED);
}

Test(lifecycle, nothing_to_undo) {
    ol_life none = {OL_LIFE_UNKNOWN, 0, 0};
    ol_life rejected = ol_life_after_decision(false, OL_TYPE_ORDER, 3, 0, T0);
    ol_life sold = ol_life_after_decision(true, OL_TYPE_ORDER, 3, 0, T0);
    cr_assert_eq(apply(&none, OL_LIFE_CANCEL, T0, 0), OL_LIFE_NOT_CANCELLABLE, "a cancel before its order");
    cr_assert_eq(apply(&rejected, OL_LIFE_CANCEL, T0, 0), OL_LIFE_NOT_CANCELLABLE);
    cr_assert_eq(apply(&none, OL_LIFE_CONFIRM, T0, 0), OL_LIFE_NOT_HELD);
    cr_assert_eq(apply(&rejected, OL_LIFE_CONFIRM, T0, 0), OL_LIFE_NOT_HELD);
    cr_assert_eq(apply(&sold, OL_LIFE_CONFIRM, T0, 0), OL_LIFE_NOT_HELD);
    cr_assert_eq(apply(&sold, OL_LIFE_EXPIRE, T0 + 1000000, 0), OL_LIFE_NOT_HELD);
    cr_assert_eq(none.state, OL_LIFE_UNKNOWN, "a refused follow-up leaves the state");
    cr_assert_eq(sold.state, OL_LIFE_ACCEPTED);
}

/* Every (state, event) pair: units come back at most once over any
 * sequence, and stock is conserved: taken - given back = what is still
 * held or sold. */
Test(lifecycle, conservation_over_all_sequences) {
    const ol_life_event evs[] = {OL_LIFE_CONFIRM, OL_LIFE_CANCEL, OL_LIFE_EXPIRE};
    for (int seq = 0; seq < 27 * 3; seq++) {
        ol_life l = held(7, 10);
        int32_t back_total = 0;
        for (int k = 0, s = seq; k < 4; k++, s /= 3) {
            int32_t back;
            ol_life_apply(&l, evs[s % 3], T0 + 10000 + k, &back);
            back_total += back;
        }
        int32_t still = (l.state == OL_LIFE_HELD || l.state == OL_LIFE_CONFIRMED) ? 7 : 0;
        cr_assert_eq(back_total + still, 7, "sequence %d: %d back, %d still taken, state %s", seq, back_total, still,
                     ol_life_state_name(l.state));
    }
}

Test(lifecycle, overdue) {
    ol_life l = held(1, 10);
    cr_assert_not(ol_life_overdue(&l, T0 + 15000, 5000));
    cr_assert(ol_life_overdue(&l, T0 + 15001, 5000));
    int32_t back;
    ol_life_apply(&l, OL_LIFE_EXPIRE, T0 + 15001, &back);
    cr_assert_not(ol_life_overdue(&l, T0 + 99999, 5000), "an expired hold is not overdue");
}

Test(lifecycle, expire_id) {
    char out[OL_ORDER_ID_MAX + 1];
    cr_assert(ol_life_expire_id("o-1", out, sizeof out));
    cr_assert_str_eq(out, "o-1#expire");
    char longest[OL_HOLD_ID_MAX + 2];
    memset(longest, 'a', sizeof longest);
    longest[OL_HOLD_ID_MAX] = '\0';
    cr_assert(ol_life_expire_id(longest, out, sizeof out));
    cr_assert_eq(strlen(out), OL_ORDER_ID_MAX);
    longest[OL_HOLD_ID_MAX] = 'a';
    longest[OL_HOLD_ID_MAX + 1] = '\0';
    cr_assert_not(ol_life_expire_id(longest, out, sizeof out), "one byte too long");
    cr_assert_not(ol_life_expire_id("", out, sizeof out));
    cr_assert_not(ol_life_expire_id("o-1", out, 5), "out too small");
}

Test(lifecycle, names) {
    cr_assert_null(ol_life_verdict_reason(OL_LIFE_OK));
    cr_assert_str_eq(ol_life_verdict_reason(OL_LIFE_NOT_HELD), "not_held");
    cr_assert_str_eq(ol_life_verdict_reason(OL_LIFE_NOT_CANCELLABLE), "not_cancellable");
    cr_assert_str_eq(ol_life_verdict_reason(OL_LIFE_ALREADY_CONFIRMED), "already_confirmed");
    cr_assert_str_eq(ol_life_verdict_reason(OL_LIFE_ALREADY_CANCELLED), "already_cancelled");
    cr_assert_str_eq(ol_life_state_name(OL_LIFE_HELD), "held");
}

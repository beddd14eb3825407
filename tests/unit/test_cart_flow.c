/* Unit tests for ol_cart_flow: a cart's state machine, all or nothing, and
 * against the items' own lifecycles (ol_lifecycle) under random orders of
 * events. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "ol_cart_flow.h"

#define TS 1800000000000LL

static ol_cart_actions acts;
static bool stale;

static ol_life_verdict answer(ol_cart_flow *f, size_t line, ol_step step, bool held) {
    ol_cart_event ev = {.kind = OL_CART_EV_ANSWER, .ts_ms = TS, .line = line, .step = step, .held = held};
    return ol_cart_flow_apply(f, &ev, &acts, &stale);
}

static ol_life_verdict follow(ol_cart_flow *f, ol_cart_event_kind kind, int64_t ts) {
    ol_cart_event ev = {.kind = kind, .ts_ms = ts};
    return ol_cart_flow_apply(f, &ev, &acts, &stale);
}

static void expect_steps(ol_step step, size_t n) {
    cr_assert_eq(acts.n_steps, n, "%zu steps, want %zu", acts.n_steps, n);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(acts.steps[i].step, step, "step %zu is %s", i, ol_step_name(acts.steps[i].step));
}

Test(cart_flow, all_held_sold_at_once) {
    ol_cart_flow f;
    cr_assert(ol_cart_flow_start(&f, 3, 0, TS, &acts));
    expect_steps(OL_STEP_HOLD, 3);
    answer(&f, 2, OL_STEP_HOLD, true);
    answer(&f, 0, OL_STEP_HOLD, true);
    cr_assert_eq(f.status, OL_CART_HOLDING);
    cr_assert_not(acts.answer);
    answer(&f, 1, OL_STEP_HOLD, true);
    cr_assert_eq(f.status, OL_CART_ACCEPTED);
    cr_assert(acts.answer);
    expect_steps(OL_STEP_COMMIT, 3);
    cr_assert_not(ol_cart_flow_settled(&f), "commits outstanding");
    for (size_t i = 0; i < 3; i++) answer(&f, i, OL_STEP_COMMIT, true);
    cr_assert(ol_cart_flow_settled(&f));
    cr_assert(ol_cart_flow_all_or_nothing(&f));
}

Test(cart_flow, one_refused_line_releases_the_others) {
    ol_cart_flow f;
    cr_assert(ol_cart_flow_start(&f, 3, 600, TS, &acts));
    answer(&f, 0, OL_STEP_HOLD, true);
    answer(&f, 1, OL_STEP_HOLD, false);
    answer(&f, 2, OL_STEP_HOLD, true);
    cr_assert_eq(f.status, OL_CART_REJECTED);
    cr_assert(acts.answer);
    expect_steps(OL_STEP_RELEASE, 2);
    cr_assert_eq(acts.steps[0].line, 0);
    cr_assert_eq(acts.steps[1].line, 2);
    cr_assert_eq(follow(&f, OL_CART_EV_CANCEL, TS), OL_LIFE_NOT_CANCELLABLE);
    cr_assert_eq(follow(&f, OL_CART_EV_CONFIRM, TS), OL_LIFE_NOT_HELD);
    cr_assert(ol_cart_flow_all_or_nothing(&f));
}

Test(cart_flow, held_then_confirm_against_expire) {
    ol_cart_flow f;
    cr_assert(ol_cart_flow_start(&f, 2, 10, TS, &acts));
    answer(&f, 0, OL_STEP_HOLD, true);
    answer(&f, 1, OL_STEP_HOLD, true);
    cr_assert_eq(f.status, OL_CART_HELD);
    cr_assert_eq(f.expires_at_ms, TS + 10000);
    cr_assert_eq(acts.n_steps, 0);
    cr_assert_eq(follow(&f, OL_CART_EV_EXPIRE, TS + 9999), OL_LIFE_NOT_EXPIRED);
    cr_assert_eq(f.status, OL_CART_HELD);
    cr_assert_eq(follow(&f, OL_CART_EV_CONFIRM, TS + 20000), OL_LIFE_OK, "logged before any expire: it wins");
    expect_steps(OL_STEP_COMMIT, 2);
    cr_assert_eq(follow(&f, OL_CART_EV_EXPIRE, TS + 20001), OL_LIFE_ALREADY_CONFIRMED);
    cr_assert_eq(follow(&f, OL_CART_EV_CONFIRM, TS + 20002), OL_LIFE_ALREADY_CONFIRMED);
    cr_assert_eq(follow(&f, OL_CART_EV_CANCEL, TS + 20003), OL_LIFE_OK, "a return of the whole cart");
    expect_steps(OL_STEP_RESTORE, 2);
    cr_assert_eq(follow(&f, OL_CART_EV_CANCEL, TS + 20004), OL_LIFE_ALREADY_CANCELLED);

    cr_assert(ol_cart_flow_start(&f, 2, 10, TS, &acts));
    answer(&f, 0, OL_STEP_HOLD, true);
    answer(&f, 1, OL_STEP_HOLD, true);
    cr_assert_eq(follow(&f, OL_CART_EV_EXPIRE, TS + 10000), OL_LIFE_OK);
    expect_steps(OL_STEP_RELEASE, 2);
    cr_assert_eq(follow(&f, OL_CART_EV_CONFIRM, TS + 10001), OL_LIFE_EXPIRED_BEFORE);
    cr_assert_eq(follow(&f, OL_CART_EV_CANCEL, TS + 10002), OL_LIFE_EXPIRED_BEFORE);
}

Test(cart_flow, cancel_while_holding) {
    ol_cart_flow f;
    cr_assert(ol_cart_flow_start(&f, 2, 0, TS, &acts));
    answer(&f, 0, OL_STEP_HOLD, true);
    cr_assert_eq(follow(&f, OL_CART_EV_CANCEL, TS), OL_LIFE_OK);
    cr_assert_eq(follow(&f, OL_CART_EV_CANCEL, TS), OL_LIFE_ALREADY_CANCELLED);
    cr_assert_eq(follow(&f, OL_CART_EV_CONFIRM, TS), OL_LIFE_NOT_HELD);
    answer(&f, 1, OL_STEP_HOLD, true);
    cr_assert_eq(f.status, OL_CART_CANCELLED, "never sold, though every hold was granted");
    expect_steps(OL_STEP_RELEASE, 2);
    cr_assert(acts.answer);
}

Test(cart_flow, stale_answers_change_nothing) {
    ol_cart_flow f;
    cr_assert(ol_cart_flow_start(&f, 2, 0, TS, &acts));
    answer(&f, 0, OL_STEP_HOLD, true);
    ol_cart_flow before = f;
    answer(&f, 0, OL_STEP_HOLD, false);
    cr_assert(stale, "a repeated answer");
    answer(&f, 1, OL_STEP_RELEASE, true);
    cr_assert(stale, "an answer to a step never decided");
    answer(&f, 7, OL_STEP_HOLD, true);
    cr_assert(stale, "no such line");
    cr_assert(memcmp(&before, &f, sizeof f) == 0);
    cr_assert_not(ol_cart_flow_start(&f, 0, 0, TS, &acts));
    cr_assert_not(ol_cart_flow_start(&f, OL_CART_LINES_MAX + 1, 0, TS, &acts));
}

/* ---- against the items: every line's steps applied to its own lifecycle,
 * as its partition would, with answers and follow-ups arriving in random
 * order. Once settled, a line is sold exactly when the cart is, held
 * exactly when the cart is held, and otherwise has given everything back. */

typedef struct item_side {
    ol_life life; /* the line's hold on its item's partition */
    bool decided; /* the hold reached it */
    int32_t stock;
} item_side;

static void deliver(const ol_cart_flow *f, size_t line, ol_step step, item_side *it, bool *granted) {
    (void)f;
    int32_t back = 0;
    *granted = true;
    if (step == OL_STEP_HOLD) {
        *granted = it->stock >= 1;
        if (*granted) it->stock -= 1;
        it->life = ol_life_after_decision(*granted, OL_TYPE_ORDER, 1, 86400, TS);
        it->decided = true;
        return;
    }
    ol_life_event ev = step == OL_STEP_COMMIT ? OL_LIFE_CONFIRM : OL_LIFE_CANCEL;
    ol_life_verdict v = ol_life_apply(&it->life, ev, TS, &back);
    cr_assert_eq(v, OL_LIFE_OK, "line %zu: %s refused (%s) in state %s", line, ol_step_name(step),
                 ol_life_verdict_reason(v), ol_life_state_name(it->life.state));
    it->stock += back;
}

Test(cart_flow, random_orders_against_the_items) {
    srand(7);
    for (int round = 0; round < 3000; round++) {
        size_t n = 1 + (size_t)(rand() % 4);
        ol_cart_flow f;
        item_side items[4];
        memset(items, 0, sizeof items);
        for (size_t i = 0; i < n; i++) items[i].stock = rand() % 3 == 0 ? 0 : 1;
        cr_assert(ol_cart_flow_start(&f, n, rand() % 2 ? 5 : 0, TS, &acts));
        /* Outstanding steps, sent in decision order per line (a partition
         * keeps their order) but answered in any order across lines. */
        struct {
            size_t line;
            ol_step step;
        } queue[64];
        size_t q = 0;
        for (size_t i = 0; i < acts.n_steps; i++)
            queue[q].line = acts.steps[i].line, queue[q++].step = acts.steps[i].step;
        for (int guard = 0; q > 0 || guard < 3; guard++) {
            cr_assert_lt(guard, 200, "round %d does not settle", round);
            int pick = rand() % 5;
            ol_cart_actions a;
            if (pick < 3 && q > 0) {
                size_t k = (size_t)rand() % q; /* the first outstanding step of some line */
                for (size_t j = 0; j < k; j++)
                    if (queue[j].line == queue[k].line) {
                        k = j;
                        break;
                    }
                bool granted;
                deliver(&f, queue[k].line, queue[k].step, &items[queue[k].line], &granted);
                ol_cart_event ev = {OL_CART_EV_ANSWER, TS, queue[k].line, queue[k].step, granted};
                memmove(&queue[k], &queue[k + 1], (q - k - 1) * sizeof queue[0]);
                q--;
                ol_cart_flow_apply(&f, &ev, &a, &stale);
            } else {
                ol_cart_event ev = {(ol_cart_event_kind)(1 + rand() % 3), TS + rand() % 10000, 0, 0, false};
                ol_cart_flow_apply(&f, &ev, &a, &stale);
            }
            for (size_t i = 0; i < a.n_steps; i++) queue[q].line = a.steps[i].line, queue[q++].step = a.steps[i].step;
            cr_assert(ol_cart_flow_all_or_nothing(&f) || !ol_cart_flow_settled(&f), "round %d: half-sold, %s", round,
                      ol_cart_status_name(f.status));
        }
        cr_assert(ol_cart_flow_settled(&f));
        bool sold = f.status == OL_CART_ACCEPTED || f.status == OL_CART_CONFIRMED;
        for (size_t i = 0; i < n; i++) {
            ol_life_state s = items[i].life.state;
            if (sold)
                cr_assert_eq(s, OL_LIFE_CONFIRMED, "round %d line %zu: %s in a sold cart", round, i,
                             ol_life_state_name(s));
            else if (f.status == OL_CART_HELD) cr_assert_eq(s, OL_LIFE_HELD, "round %d line %zu", round, i);
            else
                cr_assert(s != OL_LIFE_CONFIRMED && s != OL_LIFE_HELD, "round %d line %zu: %s in a %s cart", round, i,
                          ol_life_state_name(s), ol_cart_status_name(f.status));
        }
    }
}

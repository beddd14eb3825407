/* Unit tests for ol_decider: batch decisions with duplicate handling. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "ol_decider.h"

static ol_order make_order(const char *order_id, const char *item, ol_order_type type, int32_t quantity) {
    ol_order o;
    memset(&o, 0, sizeof o);
    strcpy(o.order_id, order_id);
    strcpy(o.item, item);
    o.type = type;
    o.quantity = quantity;
    return o;
}

static ol_decider *decider_with(const char *item, bool exists, int64_t count) {
    ol_decider *d = ol_decider_new();
    cr_assert_not_null(d);
    if (item) cr_assert(ol_decider_set_stock(d, item, (ol_stock){exists, count}));
    return d;
}

static ol_result decide(ol_decider *d, const ol_order *o, int32_t partition, int64_t offset, int64_t now,
                        ol_decided_kind *kind) {
    ol_result r;
    cr_assert(ol_decider_decide(d, o, partition, offset, now, &r, kind));
    return r;
}

/* The decision content: what must be equal between an original and any
 * re-answer of it. */
static void assert_same_decision(const ol_result *a, const ol_result *b) {
    cr_assert_str_eq(a->order_id, b->order_id);
    cr_assert_eq(a->has_order, b->has_order);
    cr_assert_str_eq(a->item, b->item);
    cr_assert_eq(a->type, b->type);
    cr_assert_eq(a->quantity, b->quantity);
    cr_assert_eq(a->status, b->status);
    cr_assert_eq(a->reason, b->reason);
    cr_assert_eq(a->has_remaining, b->has_remaining);
    if (a->has_remaining) cr_assert_eq(a->remaining, b->remaining);
    cr_assert_str_eq(a->error, b->error);
    cr_assert_str_eq(a->target, b->target);
    cr_assert_eq(a->hold_expires_at_us, b->hold_expires_at_us);
}

static bool stock_of(const ol_decider *d, const char *item, ol_stock *initial, ol_stock *current) {
    size_t pos = 0;
    const char *name;
    ol_stock i, c;
    while (ol_decider_next_stock(d, &pos, &name, &i, &c)) {
        if (strcmp(name, item) == 0) {
            *initial = i;
            *current = c;
            return true;
        }
    }
    return false;
}

Test(decider, new_decision_fills_the_answer) {
    ol_decider *d = decider_with("apple", true, 10);
    ol_order o = make_order("o1", "apple", OL_TYPE_ORDER, 3);
    ol_decided_kind kind = OL_DECIDED_REPLAY;
    ol_result r = decide(d, &o, 2, 40, 1000, &kind);
    cr_assert_eq(kind, OL_DECIDED_NEW);
    cr_assert_str_eq(r.order_id, "o1");
    cr_assert(r.has_order);
    cr_assert_str_eq(r.item, "apple");
    cr_assert_eq(r.type, OL_TYPE_ORDER);
    cr_assert_eq(r.quantity, 3);
    cr_assert_eq(r.status, OL_STATUS_ACCEPTED);
    cr_assert_eq(r.reason, OL_REASON_NONE);
    cr_assert(r.has_remaining);
    cr_assert_eq(r.remaining, 7);
    cr_assert_not(r.duplicate);
    cr_assert_eq(r.partition, 2);
    cr_assert_eq(r.offset, 40);
    cr_assert_eq(r.processed_at_us, 1000);
    cr_assert_str_eq(r.error, "");

    const ol_result *found = ol_decider_find(d, "o1");
    cr_assert_not_null(found);
    assert_same_decision(found, &r);
    cr_assert_eq(found->partition, 2);
    cr_assert_eq(found->offset, 40);
    cr_assert_null(ol_decider_find(d, "o2"));
    ol_decider_destroy(d);
}

Test(decider, undeclared_item_is_unknown) {
    ol_decider *d = decider_with(NULL, false, 0);
    ol_order o = make_order("o1", "ghost", OL_TYPE_ORDER, 1);
    ol_decided_kind kind;
    ol_result r = decide(d, &o, 0, 0, 1, &kind);
    cr_assert_eq(kind, OL_DECIDED_NEW);
    cr_assert_eq(r.status, OL_STATUS_REJECTED);
    cr_assert_eq(r.reason, OL_REASON_UNKNOWN_ITEM);
    cr_assert_not(r.has_remaining);
    ol_decider_destroy(d);
}

Test(decider, declared_missing_item_is_unknown) {
    ol_decider *d = decider_with("gone", false, 0);
    ol_order o = make_order("o1", "gone", OL_TYPE_ORDER, 1);
    ol_decided_kind kind;
    ol_result r = decide(d, &o, 0, 0, 1, &kind);
    cr_assert_eq(r.reason, OL_REASON_UNKNOWN_ITEM);
    ol_decider_destroy(d);
}

Test(decider, seed_race_within_a_batch) {
    ol_decider *d = decider_with("widget", true, 5);
    ol_order a = make_order("a", "widget", OL_TYPE_ORDER, 3);
    ol_order b = make_order("b", "widget", OL_TYPE_ORDER, 3);
    ol_decided_kind ka, kb;
    ol_result ra = decide(d, &a, 0, 1, 1, &ka);
    ol_result rb = decide(d, &b, 0, 2, 2, &kb);
    cr_assert_eq(ka, OL_DECIDED_NEW);
    cr_assert_eq(kb, OL_DECIDED_NEW);
    int accepted = (ra.status == OL_STATUS_ACCEPTED) + (rb.status == OL_STATUS_ACCEPTED);
    cr_assert_eq(accepted, 1, "exactly one of two orders of 3 against 5 must win");
    cr_assert_eq(ra.status, OL_STATUS_ACCEPTED);
    cr_assert_eq(rb.reason, OL_REASON_INSUFFICIENT_STOCK);
    cr_assert_eq(rb.remaining, 2);
    ol_stock initial, current;
    cr_assert(stock_of(d, "widget", &initial, &current));
    cr_assert_eq(initial.count, 5);
    cr_assert_eq(current.count, 2);
    ol_decider_destroy(d);
}

Test(decider, in_batch_duplicate_is_answered_not_applied) {
    ol_decider *d = decider_with("apple", true, 10);
    ol_order o = make_order("dup", "apple", OL_TYPE_ORDER, 4);
    ol_decided_kind k1, k2;
    ol_result first = decide(d, &o, 1, 100, 5000, &k1);
    ol_result again = decide(d, &o, 3, 7, 6000, &k2);
    cr_assert_eq(k1, OL_DECIDED_NEW);
    cr_assert_eq(k2, OL_DECIDED_DUPLICATE);
    assert_same_decision(&first, &again);
    cr_assert_eq(again.remaining, 6, "a duplicate answers the original remaining");
    cr_assert(again.duplicate);
    cr_assert_eq(again.partition, 3, "a duplicate answers where it was read");
    cr_assert_eq(again.offset, 7);
    cr_assert_eq(again.processed_at_us, 6000);

    ol_stock initial, current;
    cr_assert(stock_of(d, "apple", &initial, &current));
    cr_assert_eq(current.count, 6, "a duplicate must not take stock again");

    /* The remembered decision is still the original one. */
    const ol_result *found = ol_decider_find(d, "dup");
    cr_assert_not(found->duplicate);
    cr_assert_eq(found->partition, 1);
    cr_assert_eq(found->offset, 100);
    ol_decider_destroy(d);
}

Test(decider, duplicate_with_different_content_gets_original_decision) {
    ol_decider *d = decider_with("apple", true, 10);
    ol_order o = make_order("same-id", "apple", OL_TYPE_ORDER, 2);
    ol_order other = make_order("same-id", "pear", OL_TYPE_RESTOCK, 50);
    ol_decided_kind k;
    ol_result first = decide(d, &o, 0, 1, 1, &k);
    ol_result r = decide(d, &other, 0, 2, 2, &k);
    cr_assert_eq(k, OL_DECIDED_DUPLICATE);
    assert_same_decision(&first, &r);
    cr_assert_str_eq(r.item, "apple");
    cr_assert_eq(r.quantity, 2);
    ol_stock initial, current;
    cr_assert_not(stock_of(d, "pear", &initial, &current), "a duplicate must not touch its item");
    ol_decider_destroy(d);
}

Test(decider, rereading_the_same_message_is_a_replay) {
    ol_decider *d = decider_with("apple", true, 10);
    ol_order o = make_order("o1", "apple", OL_TYPE_ORDER, 4);
    ol_decided_kind k1, k2;
    ol_result first = decide(d, &o, 2, 9, 100, &k1);
    ol_result replay = decide(d, &o, 2, 9, 999, &k2);
    cr_assert_eq(k2, OL_DECIDED_REPLAY);
    assert_same_decision(&first, &replay);
    cr_assert_not(replay.duplicate);
    cr_assert_eq(replay.partition, 2);
    cr_assert_eq(replay.offset, 9);
    cr_assert_eq(replay.processed_at_us, 100, "a replay is the identical answer, time included");
    ol_decider_destroy(d);
}

static ol_result prior_decision(void) {
    ol_result p;
    memset(&p, 0, sizeof p);
    strcpy(p.order_id, "old");
    p.has_order = true;
    strcpy(p.item, "apple");
    p.type = OL_TYPE_ORDER;
    p.quantity = 3;
    p.status = OL_STATUS_ACCEPTED;
    p.reason = OL_REASON_NONE;
    p.has_remaining = true;
    p.remaining = 17;
    p.partition = 4;
    p.offset = 70;
    p.processed_at_us = 123456;
    return p;
}

Test(decider, prior_decision_same_place_is_replay) {
    ol_decider *d = decider_with("apple", true, 10);
    ol_result p = prior_decision();
    cr_assert(ol_decider_add_decision(d, &p));
    ol_order o = make_order("old", "apple", OL_TYPE_ORDER, 3);
    ol_decided_kind k;
    ol_result r = decide(d, &o, 4, 70, 999999, &k);
    cr_assert_eq(k, OL_DECIDED_REPLAY);
    assert_same_decision(&p, &r);
    cr_assert_eq(r.remaining, 17, "the ledger's remaining, not today's stock");
    cr_assert_not(r.duplicate);
    cr_assert_eq(r.partition, 4);
    cr_assert_eq(r.offset, 70);
    cr_assert_eq(r.processed_at_us, 123456);
    ol_stock initial, current;
    cr_assert(stock_of(d, "apple", &initial, &current));
    cr_assert_eq(current.count, 10, "a replay must not take stock");
    ol_decider_destroy(d);
}

Test(decider, prior_decision_elsewhere_is_duplicate) {
    ol_decider *d = decider_with("apple", true, 10);
    ol_result p = prior_decision();
    cr_assert(ol_decider_add_decision(d, &p));
    ol_order o = make_order("old", "apple", OL_TYPE_ORDER, 3);
    ol_decided_kind k;

    /* Same partition, other offset. */
    ol_result r = decide(d, &o, 4, 71, 5, &k);
    cr_assert_eq(k, OL_DECIDED_DUPLICATE);
    assert_same_decision(&p, &r);
    cr_assert(r.duplicate);
    cr_assert_eq(r.partition, 4);
    cr_assert_eq(r.offset, 71);
    cr_assert_eq(r.processed_at_us, 5);

    /* Same offset, other partition. */
    r = decide(d, &o, 0, 70, 6, &k);
    cr_assert_eq(k, OL_DECIDED_DUPLICATE);
    cr_assert(r.duplicate);
    cr_assert_eq(r.partition, 0);
    cr_assert_eq(r.offset, 70);

    /* And the original place is still a replay afterwards. */
    r = decide(d, &o, 4, 70, 7, &k);
    cr_assert_eq(k, OL_DECIDED_REPLAY);
    cr_assert_not(r.duplicate);

    ol_stock initial, current;
    cr_assert(stock_of(d, "apple", &initial, &current));
    cr_assert_eq(current.count, 10);
    ol_decider_destroy(d);
}

Test(decider, prior_rejection_stays_rejected) {
    /* Stock arrived since, but a duplicate of a rejected order is still
     * the original rejection. */
    ol_decider *d = decider_with("apple", true, 100);
    ol_result p = prior_decision();
    p.status = OL_STATUS_REJECTED;
    p.reason = OL_REASON_INSUFFICIENT_STOCK;
    p.remaining = 1;
    cr_assert(ol_decider_add_decision(d, &p));
    ol_order o = make_order("old", "apple", OL_TYPE_ORDER, 3);
    ol_decided_kind k;
    ol_result r = decide(d, &o, 9, 9, 9, &k);
    cr_assert_eq(k, OL_DECIDED_DUPLICATE);
    cr_assert_eq(r.status, OL_STATUS_REJECTED);
    cr_assert_eq(r.reason, OL_REASON_INSUFFICIENT_STOCK);
    cr_assert_eq(r.remaining, 1);
    ol_decider_destroy(d);
}

Test(decider, stock_iteration_reports_initial_and_current) {
    ol_decider *d = ol_decider_new();
    cr_assert(ol_decider_set_stock(d, "a", (ol_stock){true, 10}));
    cr_assert(ol_decider_set_stock(d, "untouched", (ol_stock){true, 3}));
    ol_order o1 = make_order("1", "a", OL_TYPE_ORDER, 4);
    ol_order o2 = make_order("2", "b", OL_TYPE_ORDER, 1);    /* unknown */
    ol_order o3 = make_order("3", "c", OL_TYPE_RESTOCK, 25); /* new item */
    ol_order o4 = make_order("4", "c", OL_TYPE_ORDER, 5);
    ol_decided_kind k;
    decide(d, &o1, 0, 1, 1, &k);
    decide(d, &o2, 0, 2, 1, &k);
    decide(d, &o3, 0, 3, 1, &k);
    ol_result r4 = decide(d, &o4, 0, 4, 1, &k);
    cr_assert_eq(r4.status, OL_STATUS_ACCEPTED);
    cr_assert_eq(r4.remaining, 20);

    size_t pos = 0, n = 0;
    const char *item;
    ol_stock initial, current;
    bool seen_a = false, seen_b = false, seen_c = false, seen_u = false;
    while (ol_decider_next_stock(d, &pos, &item, &initial, &current)) {
        n++;
        if (strcmp(item, "a") == 0) {
            seen_a = true;
            cr_assert(initial.exists && initial.count == 10);
            cr_assert(current.exists && current.count == 6);
        } else if (strcmp(item, "b") == 0) {
            seen_b = true;
            cr_assert_not(initial.exists);
            cr_assert_not(current.exists, "an order must not create an unknown item");
        } else if (strcmp(item, "c") == 0) {
            seen_c = true;
            cr_assert_not(initial.exists);
            cr_assert(current.exists);
            cr_assert_eq(current.count, 20);
        } else if (strcmp(item, "untouched") == 0) {
            seen_u = true;
            cr_assert(initial.exists && initial.count == 3);
            cr_assert(current.exists && current.count == 3);
        } else {
            cr_assert_fail("unexpected item '%s'", item);
        }
    }
    cr_assert_eq(n, 4);
    cr_assert(seen_a && seen_b && seen_c && seen_u);
    ol_decider_destroy(d);
}

Test(decider, set_stock_again_resets_both_views) {
    ol_decider *d = decider_with("a", true, 10);
    ol_order o = make_order("1", "a", OL_TYPE_ORDER, 4);
    ol_decided_kind k;
    decide(d, &o, 0, 1, 1, &k);
    cr_assert(ol_decider_set_stock(d, "a", (ol_stock){true, 50}));
    ol_stock initial, current;
    cr_assert(stock_of(d, "a", &initial, &current));
    cr_assert_eq(initial.count, 50);
    cr_assert_eq(current.count, 50);
    ol_decider_destroy(d);
}

Test(decider, clear_forgets_stock_and_decisions) {
    ol_decider *d = decider_with("a", true, 10);
    ol_order o = make_order("1", "a", OL_TYPE_ORDER, 4);
    ol_decided_kind k;
    decide(d, &o, 0, 1, 1, &k);
    ol_decider_clear(d);
    cr_assert_null(ol_decider_find(d, "1"));
    size_t pos = 0;
    const char *item;
    ol_stock initial, current;
    cr_assert_not(ol_decider_next_stock(d, &pos, &item, &initial, &current));
    /* Same order again after clear: a fresh decision, and the item is
     * no longer known. */
    ol_result r = decide(d, &o, 0, 1, 1, &k);
    cr_assert_eq(k, OL_DECIDED_NEW);
    cr_assert_eq(r.reason, OL_REASON_UNKNOWN_ITEM);
    ol_decider_clear(NULL);
    ol_decider_destroy(d);
    ol_decider_destroy(NULL);
}

Test(decider, many_orders_keep_every_decision) {
    ol_decider *d = decider_with("bulk", true, 1000);
    char id[32];
    ol_decided_kind k;
    for (int i = 0; i < 3000; i++) {
        snprintf(id, sizeof id, "o-%d", i);
        ol_order o = make_order(id, "bulk", OL_TYPE_ORDER, 1);
        ol_result r = decide(d, &o, 0, i, i, &k);
        cr_assert_eq(k, OL_DECIDED_NEW);
        cr_assert_eq(r.status, i < 1000 ? OL_STATUS_ACCEPTED : OL_STATUS_REJECTED, "order %d", i);
    }
    for (int i = 0; i < 3000; i++) {
        snprintf(id, sizeof id, "o-%d", i);
        const ol_result *r = ol_decider_find(d, id);
        cr_assert_not_null(r, "decision %s lost", id);
        cr_assert_eq(r->offset, i);
    }
    ol_decider_destroy(d);
}

Test(decider, decisions_after_a_clear_reuse_nothing_stale) {
    ol_decider *d = decider_with("bulk", true, 100000);
    char id[32];
    ol_decided_kind k;
    for (int round = 0; round < 3; round++) {
        if (round > 0) cr_assert(ol_decider_set_stock(d, "bulk", (ol_stock){true, 100000}));
        for (int i = 0; i < 2500; i++) {
            snprintf(id, sizeof id, "r%d-%d", round, i);
            ol_order o = make_order(id, "bulk", OL_TYPE_ORDER, 1);
            decide(d, &o, round, i, i, &k);
            cr_assert_eq(k, OL_DECIDED_NEW, "%s", id);
        }
        cr_assert_eq(ol_decider_decision_count(d), 2500);
        for (int i = 0; i < 2500; i++) {
            snprintf(id, sizeof id, "r%d-%d", round, i);
            const ol_result *r = ol_decider_find(d, id);
            cr_assert_not_null(r, "decision %s lost", id);
            cr_assert_str_eq(r->order_id, id);
            cr_assert_eq(r->partition, round);
            cr_assert_eq(r->offset, i);
        }
        if (round > 0) {
            snprintf(id, sizeof id, "r%d-7", round - 1);
            cr_assert_null(ol_decider_find(d, id), "a decision from before the clear survived");
        }
        ol_decider_clear(d);
    }
    ol_decider_destroy(d);
}

/* ---- holds and follow-ups ---------------------------------------------- */

#define TS 1800000000000LL /* a log timestamp, ms */

typedef struct step {
    const char *order_id;
    ol_order_type type;
    int32_t quantity; /* orders */
    int32_t hold_s;   /* orders */
    const char *target;
    int64_t ts_ms; /* the message's log timestamp */
    ol_status want_status;
    ol_reason want_reason;
    int64_t want_remaining;
} step;

static ol_result decide_step(ol_decider *d, const step *s, int64_t offset) {
    ol_order o = make_order(s->order_id, "apple", s->type, s->quantity);
    o.hold_s = s->hold_s;
    if (s->target) strcpy(o.target, s->target);
    ol_result r;
    ol_decided_kind kind;
    cr_assert(ol_decider_decide_at(d, &o, 0, offset, s->ts_ms, s->ts_ms * 1000, &r, &kind));
    return r;
}

static void run_steps(ol_decider *d, const step *steps, size_t n) {
    for (size_t i = 0; i < n; i++) {
        ol_result r = decide_step(d, &steps[i], (int64_t)i);
        cr_expect_eq(r.status, steps[i].want_status, "step %zu (%s): status %s", i, steps[i].order_id,
                     ol_status_name(r.status));
        cr_expect_eq(r.reason, steps[i].want_reason, "step %zu (%s): reason %s", i, steps[i].order_id,
                     ol_reason_name(r.reason) ? ol_reason_name(r.reason) : "null");
        cr_expect_eq(r.remaining, steps[i].want_remaining, "step %zu (%s): remaining %lld", i, steps[i].order_id,
                     (long long)r.remaining);
    }
}

#define ACC OL_STATUS_ACCEPTED
#define REJ OL_STATUS_REJECTED
#define HELD OL_STATUS_HELD

Test(decider_life, hold_confirm_and_the_losers) {
    ol_decider *d = decider_with("apple", true, 5);
    ol_result held = decide_step(d, &(step){"h1", OL_TYPE_ORDER, 4, 60, NULL, TS, HELD, 0, 1}, 0);
    cr_assert_eq(held.status, OL_STATUS_HELD);
    cr_assert_eq(held.hold_expires_at_us, (TS + 60000) * 1000);
    const step steps[] = {
        {"o2", OL_TYPE_ORDER, 3, 0, NULL, TS + 1, REJ, OL_REASON_INSUFFICIENT_STOCK, 1}, /* the hold stands */
        {"c1", OL_TYPE_CONFIRM, 0, 0, "h1", TS + 70000, ACC, 0, 1}, /* after the wall deadline, logged first */
        {"h1#expire", OL_TYPE_EXPIRE, 0, 0, "h1", TS + 70001, REJ, OL_REASON_ALREADY_CONFIRMED, 1},
        {"c2", OL_TYPE_CONFIRM, 0, 0, "h1", TS + 70002, REJ, OL_REASON_ALREADY_CONFIRMED, 1},
        {"x1", OL_TYPE_CANCEL, 0, 0, "h1", TS + 70003, ACC, 0, 5}, /* a return: the units come back */
        {"x2", OL_TYPE_CANCEL, 0, 0, "h1", TS + 70004, REJ, OL_REASON_ALREADY_CANCELLED, 5},
    };
    run_steps(d, steps, sizeof steps / sizeof steps[0]);
    ol_decider_destroy(d);
}

Test(decider_life, expire_and_early_expire) {
    ol_decider *d = decider_with("apple", true, 5);
    const step steps[] = {
        {"h1", OL_TYPE_ORDER, 2, 10, NULL, TS, HELD, 0, 3},
        {"h1#expire", OL_TYPE_EXPIRE, 0, 0, "h1", TS + 9999, REJ, OL_REASON_NOT_EXPIRED, 3},
        {"c1", OL_TYPE_CONFIRM, 0, 0, "h1", TS + 9999, ACC, 0, 3},
        {"h2", OL_TYPE_ORDER, 3, 10, NULL, TS + 1, HELD, 0, 0},
        {"h2#expire", OL_TYPE_EXPIRE, 0, 0, "h2", TS + 10001, ACC, 0, 3},
        {"c2", OL_TYPE_CONFIRM, 0, 0, "h2", TS + 10002, REJ, OL_REASON_EXPIRED, 3},
        {"x2", OL_TYPE_CANCEL, 0, 0, "h2", TS + 10003, REJ, OL_REASON_EXPIRED, 3},
    };
    run_steps(d, steps, sizeof steps / sizeof steps[0]);
    ol_decider_destroy(d);
}

Test(decider_life, cancels_that_find_nothing) {
    ol_decider *d = decider_with("apple", true, 1);
    cr_assert(ol_decider_set_stock(d, "pear", (ol_stock){true, 9}));
    ol_order pear = make_order("p1", "pear", OL_TYPE_ORDER, 2);
    ol_result r;
    ol_decided_kind kind;
    cr_assert(ol_decider_decide_at(d, &pear, 0, 0, TS, TS * 1000, &r, &kind));
    const step steps[] = {
        {"x0", OL_TYPE_CANCEL, 0, 0, "o1", TS, REJ, OL_REASON_NOT_CANCELLABLE, 1}, /* before its order */
        {"o1", OL_TYPE_ORDER, 5, 0, NULL, TS, REJ, OL_REASON_INSUFFICIENT_STOCK, 1},
        {"x1", OL_TYPE_CANCEL, 0, 0, "o1", TS, REJ, OL_REASON_NOT_CANCELLABLE, 1}, /* rejected */
        {"x2", OL_TYPE_CANCEL, 0, 0, "p1", TS, REJ, OL_REASON_NOT_CANCELLABLE, 1}, /* another item's order */
        {"c1", OL_TYPE_CONFIRM, 0, 0, "p1", TS, REJ, OL_REASON_NOT_HELD, 1},
        {"o3", OL_TYPE_ORDER, 1, 0, NULL, TS, ACC, 0, 0},
        {"c3", OL_TYPE_CONFIRM, 0, 0, "o3", TS, REJ, OL_REASON_NOT_HELD, 0},       /* sold, not held */
        {"x4", OL_TYPE_CANCEL, 0, 0, "x1", TS, REJ, OL_REASON_NOT_CANCELLABLE, 0}, /* a cancel of a cancel */
    };
    run_steps(d, steps, sizeof steps / sizeof steps[0]);
    ol_decider_destroy(d);
}

Test(decider_life, a_repeated_follow_up_answers_as_first) {
    ol_decider *d = decider_with("apple", true, 5);
    ol_result first = decide_step(d, &(step){"h1", OL_TYPE_ORDER, 2, 30, NULL, TS, HELD, 0, 3}, 0);
    ol_result c = decide_step(d, &(step){"c1", OL_TYPE_CONFIRM, 0, 0, "h1", TS + 1, ACC, 0, 3}, 1);
    ol_result again;
    cr_assert(ol_decider_lookup(d, "h1", &again));
    assert_same_decision(&first, &again);
    cr_assert(ol_decider_lookup(d, "c1", &again));
    assert_same_decision(&c, &again);
    ol_decider_destroy(d);
}

Test(decider_life, a_repeated_cancel_is_a_duplicate) {
    ol_decider *d = decider_with("apple", true, 5);
    run_steps(
        d,
        (step[]){{"o1", OL_TYPE_ORDER, 2, 0, NULL, TS, ACC, 0, 3}, {"x1", OL_TYPE_CANCEL, 0, 0, "o1", TS, ACC, 0, 5}},
        2);
    ol_order again = make_order("x1", "apple", OL_TYPE_CANCEL, 0);
    strcpy(again.target, "o1");
    ol_result r;
    ol_decided_kind kind;
    cr_assert(ol_decider_decide_at(d, &again, 0, 7, TS, TS * 1000, &r, &kind));
    cr_assert_eq(kind, OL_DECIDED_DUPLICATE);
    cr_assert(r.duplicate);
    cr_assert_eq(r.remaining, 5, "the original answer, and the units came back once");
    ol_stock initial, current;
    cr_assert(stock_of(d, "apple", &initial, &current));
    cr_assert_eq(current.count, 5);
    ol_decider_destroy(d);
}

Test(decider_life, targets_from_the_ledger) {
    /* A later batch: the hold was decided before (declared), and another
     * order's life was changed since (declared with set_life). */
    ol_decider *d = decider_with("apple", true, 1);
    ol_result h;
    memset(&h, 0, sizeof h);
    strcpy(h.order_id, "h1");
    strcpy(h.item, "apple");
    h.has_order = true;
    h.type = OL_TYPE_ORDER;
    h.quantity = 4;
    h.status = OL_STATUS_HELD;
    h.hold_expires_at_us = (TS + 5000) * 1000;
    cr_assert(ol_decider_add_decision(d, &h));
    cr_assert(ol_decider_set_life(d, "o9", "apple", (ol_life){OL_LIFE_CONFIRMED, 2, 0}));
    const step steps[] = {
        {"h1#expire", OL_TYPE_EXPIRE, 0, 0, "h1", TS + 5000, ACC, 0, 5},
        {"x9", OL_TYPE_CANCEL, 0, 0, "o9", TS + 5001, ACC, 0, 7},
    };
    run_steps(d, steps, 2);
    size_t pos = 0, n = 0;
    const char *id;
    ol_life life;
    while (ol_decider_next_life(d, &pos, &id, &life)) {
        n++;
        if (strcmp(id, "h1") == 0) cr_assert_eq(life.state, OL_LIFE_EXPIRED);
        else if (strcmp(id, "o9") == 0) cr_assert_eq(life.state, OL_LIFE_CANCELLED);
        else cr_assert_fail("unexpected changed life %s", id);
    }
    cr_assert_eq(n, 2, "both changed lives are to be written back");
    ol_decider_clear(d);
    pos = 0;
    cr_assert_not(ol_decider_next_life(d, &pos, &id, &life), "clear forgets lives");
    ol_decider_destroy(d);
}

Test(decider_life, give_back_never_overflows_stock) {
    ol_decider *d = decider_with("apple", true, 10);
    run_steps(d,
              (step[]){{"o1", OL_TYPE_ORDER, 10, 0, NULL, TS, ACC, 0, 0},
                       {"r1", OL_TYPE_RESTOCK, 2147483647 - 5, 0, NULL, TS, ACC, 0, 2147483647 - 5},
                       {"x1", OL_TYPE_CANCEL, 0, 0, "o1", TS, REJ, OL_REASON_INVALID, 2147483647 - 5}},
              3);
    ol_life life = ol_decider_life(d, "o1", "apple");
    cr_assert_eq(life.state, OL_LIFE_ACCEPTED, "the order keeps its state");
    ol_decider_destroy(d);
}

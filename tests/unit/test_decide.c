/* Unit tests for ol_decide: the one decision rule. */
#include <criterion/criterion.h>
#include <string.h>

#include "ol_decide.h"

/* A result whose fields ol_decide must overwrite (status, reason,
 * remaining, error) hold junk, and whose other fields hold markers it must
 * leave alone. */
static ol_result junk_result(void) {
    ol_result r;
    memset(&r, 0, sizeof r);
    strcpy(r.order_id, "o-marker");
    strcpy(r.item, "item-marker");
    r.has_order = true;
    r.quantity = 77;
    r.partition = 5;
    r.offset = 123;
    r.processed_at_us = 456;
    r.status = OL_STATUS_REJECTED;
    r.reason = OL_REASON_INVALID;
    r.has_remaining = false;
    r.remaining = -99;
    strcpy(r.error, "stale error");
    return r;
}

static void assert_untouched(const ol_result *r) {
    cr_assert_str_eq(r->order_id, "o-marker");
    cr_assert_str_eq(r->item, "item-marker");
    cr_assert(r->has_order);
    cr_assert_eq(r->quantity, 77);
    cr_assert_eq(r->partition, 5);
    cr_assert_eq(r->offset, 123);
    cr_assert_eq(r->processed_at_us, 456);
}

Test(decide, order_accepted_takes_stock) {
    ol_stock stock = {true, 10};
    ol_result r = junk_result();
    ol_decide(OL_TYPE_ORDER, 3, &stock, &r);
    cr_assert_eq(r.status, OL_STATUS_ACCEPTED);
    cr_assert_eq(r.reason, OL_REASON_NONE);
    cr_assert(r.has_remaining);
    cr_assert_eq(r.remaining, 7);
    cr_assert_str_eq(r.error, "");
    cr_assert(stock.exists);
    cr_assert_eq(stock.count, 7);
    assert_untouched(&r);
}

Test(decide, order_may_empty_the_shelf) {
    ol_stock stock = {true, 5};
    ol_result r = junk_result();
    ol_decide(OL_TYPE_ORDER, 5, &stock, &r);
    cr_assert_eq(r.status, OL_STATUS_ACCEPTED, "count 5, order 5 must be accepted");
    cr_assert_eq(r.reason, OL_REASON_NONE);
    cr_assert(r.has_remaining);
    cr_assert_eq(r.remaining, 0);
    cr_assert(stock.exists, "an empty shelf still exists");
    cr_assert_eq(stock.count, 0);
}

Test(decide, insufficient_stock_leaves_stock) {
    ol_stock stock = {true, 2};
    ol_result r = junk_result();
    ol_decide(OL_TYPE_ORDER, 3, &stock, &r);
    cr_assert_eq(r.status, OL_STATUS_REJECTED);
    cr_assert_eq(r.reason, OL_REASON_INSUFFICIENT_STOCK);
    cr_assert(r.has_remaining, "remaining is known for insufficient_stock");
    cr_assert_eq(r.remaining, 2);
    cr_assert_str_eq(r.error, "");
    cr_assert_eq(stock.count, 2);
    cr_assert(stock.exists);
    assert_untouched(&r);
}

Test(decide, order_on_empty_shelf_is_insufficient_not_unknown) {
    ol_stock stock = {true, 0};
    ol_result r = junk_result();
    ol_decide(OL_TYPE_ORDER, 1, &stock, &r);
    cr_assert_eq(r.status, OL_STATUS_REJECTED);
    cr_assert_eq(r.reason, OL_REASON_INSUFFICIENT_STOCK);
    cr_assert(r.has_remaining);
    cr_assert_eq(r.remaining, 0);
}

Test(decide, unknown_item_rejected_with_remaining_null) {
    ol_stock stock = {false, 0};
    ol_result r = junk_result();
    ol_decide(OL_TYPE_ORDER, 1, &stock, &r);
    cr_assert_eq(r.status, OL_STATUS_REJECTED);
    cr_assert_eq(r.reason, OL_REASON_UNKNOWN_ITEM);
    cr_assert_not(r.has_remaining, "remaining must be null for an unknown item");
    cr_assert_str_eq(r.error, "");
    cr_assert_not(stock.exists, "an order must not create the item");
    cr_assert_eq(stock.count, 0);
    assert_untouched(&r);
}

Test(decide, seed_race_exactly_one_of_two_wins) {
    /* 5 in stock, two orders of 3: whichever comes first wins, the other
     * is rejected; never both, never neither. */
    ol_stock stock = {true, 5};
    ol_result first = junk_result(), second = junk_result();
    ol_decide(OL_TYPE_ORDER, 3, &stock, &first);
    ol_decide(OL_TYPE_ORDER, 3, &stock, &second);
    cr_assert_eq(first.status, OL_STATUS_ACCEPTED);
    cr_assert_eq(first.remaining, 2);
    cr_assert_eq(second.status, OL_STATUS_REJECTED);
    cr_assert_eq(second.reason, OL_REASON_INSUFFICIENT_STOCK);
    cr_assert_eq(second.remaining, 2);
    cr_assert_eq(stock.count, 2);
}

Test(decide, restock_creates_new_item) {
    ol_stock stock = {false, 77}; /* count of a missing item means nothing */
    ol_result r = junk_result();
    ol_decide(OL_TYPE_RESTOCK, 20, &stock, &r);
    cr_assert_eq(r.status, OL_STATUS_ACCEPTED);
    cr_assert_eq(r.reason, OL_REASON_NONE);
    cr_assert(r.has_remaining);
    cr_assert_eq(r.remaining, 20);
    cr_assert_str_eq(r.error, "");
    cr_assert(stock.exists);
    cr_assert_eq(stock.count, 20);
    assert_untouched(&r);

    /* The new item can now be ordered from. */
    ol_result o = junk_result();
    ol_decide(OL_TYPE_ORDER, 20, &stock, &o);
    cr_assert_eq(o.status, OL_STATUS_ACCEPTED);
    cr_assert_eq(o.remaining, 0);
}

Test(decide, restock_adds_to_existing) {
    ol_stock stock = {true, 4};
    ol_result r = junk_result();
    ol_decide(OL_TYPE_RESTOCK, 6, &stock, &r);
    cr_assert_eq(r.status, OL_STATUS_ACCEPTED);
    cr_assert_eq(r.remaining, 10);
    cr_assert_eq(stock.count, 10);
}

Test(decide, restock_up_to_the_limit_is_accepted) {
    ol_stock stock = {true, (int64_t)OL_STOCK_MAX - 1000000};
    ol_result r = junk_result();
    ol_decide(OL_TYPE_RESTOCK, 1000000, &stock, &r);
    cr_assert_eq(r.status, OL_STATUS_ACCEPTED);
    cr_assert_eq(r.remaining, OL_STOCK_MAX);
    cr_assert_eq(stock.count, OL_STOCK_MAX);
}

Test(decide, restock_overflow_rejected_invalid) {
    ol_stock stock = {true, (int64_t)OL_STOCK_MAX - 5};
    ol_result r = junk_result();
    ol_decide(OL_TYPE_RESTOCK, 6, &stock, &r);
    cr_assert_eq(r.status, OL_STATUS_REJECTED);
    cr_assert_eq(r.reason, OL_REASON_INVALID);
    cr_assert_not(r.has_remaining, "remaining must be null for an invalid restock");
    cr_assert_neq(r.error[0], '\0', "an invalid decision must say why");
    cr_assert_eq(stock.count, (int64_t)OL_STOCK_MAX - 5, "stock changed by a rejected restock");
    cr_assert(stock.exists);
    assert_untouched(&r);

    /* At the limit, even the smallest restock overflows. */
    ol_stock full = {true, OL_STOCK_MAX};
    ol_decide(OL_TYPE_RESTOCK, 1, &full, &r);
    cr_assert_eq(r.reason, OL_REASON_INVALID);
    cr_assert_eq(full.count, OL_STOCK_MAX);
}

Test(decide, success_clears_a_previous_error) {
    ol_stock stock = {true, (int64_t)OL_STOCK_MAX};
    ol_result r = junk_result();
    ol_decide(OL_TYPE_RESTOCK, 1, &stock, &r);
    cr_assert_neq(r.error[0], '\0');
    ol_decide(OL_TYPE_ORDER, 1, &stock, &r);
    cr_assert_eq(r.status, OL_STATUS_ACCEPTED);
    cr_assert_eq(r.reason, OL_REASON_NONE);
    cr_assert_str_eq(r.error, "");
    cr_assert(r.has_remaining);
    cr_assert_eq(r.remaining, (int64_t)OL_STOCK_MAX - 1);
}

Test(decide_invalid, answers_with_the_validation_error_and_nothing_else) {
    ol_result r;
    memset(&r, 0x5a, sizeof r); /* every field must be overwritten */
    ol_decide_invalid("o-7", 3, 42, 1700000000000000LL, "field 'quantity' must be an integer, got 2.5", &r);
    cr_assert_str_eq(r.order_id, "o-7");
    cr_assert_eq(r.status, OL_STATUS_REJECTED);
    cr_assert_eq(r.reason, OL_REASON_INVALID);
    cr_assert_eq(r.partition, 3);
    cr_assert_eq(r.offset, 42);
    cr_assert_eq(r.processed_at_us, 1700000000000000LL);
    cr_assert_str_eq(r.error, "field 'quantity' must be an integer, got 2.5");
    cr_assert(!r.has_order, "an invalid message has no order fields to echo");
    cr_assert(!r.has_remaining);
    cr_assert(!r.duplicate);
    cr_assert_str_eq(r.item, "");
}

Test(decide_invalid, a_null_error_is_empty) {
    ol_result r;
    ol_decide_invalid("x", 0, 0, 0, NULL, &r);
    cr_assert_str_eq(r.error, "");
}

/* The consumer parses a message's error straight into its result's. */
Test(decide_invalid, the_error_may_be_the_results_own) {
    ol_result r;
    memset(&r, 0x5a, sizeof r);
    strcpy(r.error, "field 'item' is missing");
    ol_decide_invalid("o-8", 1, 7, 0, r.error, &r);
    cr_assert_str_eq(r.error, "field 'item' is missing");
    cr_assert_str_eq(r.order_id, "o-8");
}

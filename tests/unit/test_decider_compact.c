/* Unit tests for ol_decider's compact mode (ol_decider_new_compact), which
 * order-audit uses to replay a whole log. Compact mode must decide exactly
 * like the default mode, so the whole default-mode suite runs again here
 * against it (the macro swaps the constructor), followed by tests of what
 * only compact mode has to get right. */
#define ol_decider_new ol_decider_new_compact
#include "test_decider.c"
#undef ol_decider_new
/* The header was read under the macro; the default constructor again. */
ol_decider *ol_decider_new(void);

static void assert_equal_results(const ol_result *a, const ol_result *b) {
    assert_same_decision(a, b);
    cr_assert_eq(a->duplicate, b->duplicate);
    cr_assert_eq(a->partition, b->partition);
    cr_assert_eq(a->offset, b->offset);
    cr_assert_eq(a->processed_at_us, b->processed_at_us);
}

Test(decider_compact, same_answers_as_default_mode) {
    ol_decider *full = ol_decider_new();
    ol_decider *compact = ol_decider_new_compact();
    cr_assert(full && compact);
    char id[32], item[16];
    for (int i = 0; i < 2000; i++) {
        /* Restocks, orders, unknown items and repeated order_ids mixed. */
        snprintf(id, sizeof id, "o-%d", i % 7 == 3 ? i - 3 : i);
        snprintf(item, sizeof item, "item-%d", i % 13);
        ol_order o = make_order(id, item, i % 5 == 0 ? OL_TYPE_RESTOCK : OL_TYPE_ORDER, 1 + i % 9);
        ol_result a, b;
        ol_decided_kind ka, kb;
        cr_assert(ol_decider_decide(full, &o, i % 3, i, i, &a, &ka));
        cr_assert(ol_decider_decide(compact, &o, i % 3, i, i, &b, &kb));
        cr_assert_eq(ka, kb, "kind differs at %d", i);
        assert_equal_results(&a, &b);
    }
    cr_assert_eq(ol_decider_decision_count(full), ol_decider_decision_count(compact));
    ol_decider_destroy(full);
    ol_decider_destroy(compact);
}

Test(decider_compact, declared_decision_keeps_every_field) {
    ol_decider *d = ol_decider_new_compact();
    ol_result p = prior_decision();
    strcpy(p.error, "restock of 5 would take stock past 2147483647");
    p.status = OL_STATUS_REJECTED;
    p.reason = OL_REASON_INVALID;
    p.has_remaining = false;
    p.duplicate = true;
    cr_assert(ol_decider_add_decision(d, &p));
    ol_result got;
    cr_assert(ol_decider_lookup(d, "old", &got));
    assert_equal_results(&p, &got);
    cr_assert(got.duplicate);
    cr_assert_str_eq(got.error, p.error);

    /* Declaring again replaces, error included. */
    p.error[0] = '\0';
    p.status = OL_STATUS_ACCEPTED;
    p.reason = OL_REASON_NONE;
    cr_assert(ol_decider_add_decision(d, &p));
    cr_assert(ol_decider_lookup(d, "old", &got));
    cr_assert_str_eq(got.error, "");
    cr_assert_eq(got.status, OL_STATUS_ACCEPTED);
    cr_assert_eq(ol_decider_decision_count(d), 1);
    cr_assert_not(ol_decider_lookup(d, "absent", &got));
    ol_decider_destroy(d);
}

Test(decider_compact, decision_without_order_round_trips) {
    ol_decider *d = ol_decider_new_compact();
    ol_result p;
    memset(&p, 0, sizeof p);
    strcpy(p.order_id, "no-order");
    p.status = OL_STATUS_REJECTED;
    p.reason = OL_REASON_INVALID;
    cr_assert(ol_decider_add_decision(d, &p));
    const ol_result *found = ol_decider_find(d, "no-order");
    cr_assert_not_null(found);
    cr_assert_not(found->has_order);
    cr_assert_str_eq(found->item, "");
    ol_decider_destroy(d);
}

Test(decider_compact, long_ids_and_items_are_kept_whole) {
    ol_decider *d = ol_decider_new_compact();
    char id[OL_ORDER_ID_MAX + 1], item[OL_ITEM_MAX + 1];
    memset(id, 'i', OL_ORDER_ID_MAX);
    id[OL_ORDER_ID_MAX] = '\0';
    memset(item, 'x', OL_ITEM_MAX);
    item[OL_ITEM_MAX] = '\0';
    cr_assert(ol_decider_set_stock(d, item, (ol_stock){true, 4}));
    ol_order o = make_order(id, item, OL_TYPE_ORDER, 4);
    ol_decided_kind k;
    decide(d, &o, 0, 0, 0, &k);
    ol_result got;
    cr_assert(ol_decider_lookup(d, id, &got));
    cr_assert_str_eq(got.order_id, id);
    cr_assert_str_eq(got.item, item);
    cr_assert_eq(got.remaining, 0);
    ol_decider_destroy(d);
}

Test(decider_compact, clear_then_reuse) {
    ol_decider *d = ol_decider_new_compact();
    cr_assert(ol_decider_set_stock(d, "a", (ol_stock){true, 3}));
    ol_order o = make_order("1", "a", OL_TYPE_ORDER, 1);
    ol_decided_kind k;
    decide(d, &o, 0, 1, 1, &k);
    ol_decider_clear(d);
    cr_assert_eq(ol_decider_decision_count(d), 0);
    cr_assert(ol_decider_set_stock(d, "a", (ol_stock){true, 3}));
    ol_result r = decide(d, &o, 0, 1, 1, &k);
    cr_assert_eq(k, OL_DECIDED_NEW);
    cr_assert_str_eq(r.item, "a");
    cr_assert_eq(r.remaining, 2);
    ol_decider_destroy(d);
}

Test(decider_compact, forgetting_decisions_keeps_the_stock) {
    ol_decider *d = ol_decider_new_compact();
    cr_assert(ol_decider_set_stock(d, "a", (ol_stock){true, 3}));
    ol_order o = make_order("1", "a", OL_TYPE_ORDER, 1);
    ol_decided_kind k;
    decide(d, &o, 0, 1, 1, &k);
    ol_decider_forget_decisions(d);
    cr_assert_eq(ol_decider_decision_count(d), 0);
    cr_assert_null(ol_decider_find(d, "1"));
    ol_result r = decide(d, &o, 0, 2, 1, &k);
    cr_assert_eq(k, OL_DECIDED_NEW, "the decision is forgotten");
    cr_assert_eq(r.remaining, 1, "the stock is not");
    ol_decider_destroy(d);
}

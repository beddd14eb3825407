/* Unit tests for ol_waiters: the registry of orders awaited, the delivery
 * rule ("delivered" means an offset was named) and answer matching. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ol_result.h"
#include "ol_waiters.h"

static char *answer_json(const char *order_id, ol_status status, ol_reason reason, int64_t remaining, bool duplicate,
                         int32_t partition, int64_t offset) {
    ol_result r;
    memset(&r, 0, sizeof r);
    snprintf(r.order_id, sizeof r.order_id, "%s", order_id);
    r.has_order = true;
    strcpy(r.item, "widget");
    r.type = OL_TYPE_ORDER;
    r.quantity = 3;
    r.status = status;
    r.reason = reason;
    r.has_remaining = true;
    r.remaining = remaining;
    r.duplicate = duplicate;
    r.partition = partition;
    r.offset = offset;
    r.processed_at_us = 1795626000LL * 1000000;
    char *json = ol_result_to_json(&r);
    cr_assert_not_null(json);
    return json;
}

static ol_waiters *registry(void) {
    ol_waiters *w = ol_waiters_new(3);
    cr_assert_not_null(w);
    return w;
}

/* Pops every queued completion, asserting there are exactly n. */
static void pop_n(ol_waiters *w, ol_completion *out, size_t n) {
    for (size_t i = 0; i < n; i++) cr_assert(ol_waiters_next_completion(w, &out[i]), "completion %zu missing", i);
    ol_completion extra;
    cr_assert_not(ol_waiters_next_completion(w, &extra), "more completions than %zu", n);
}

Test(waiters, transition_table) {
    cr_assert_eq(ol_pending_next(OL_PENDING_PRODUCING, OL_PENDING_EV_DELIVERED), OL_PENDING_IN_LOG);
    cr_assert_eq(ol_pending_next(OL_PENDING_PRODUCING, OL_PENDING_EV_UNCONFIRMED), OL_PENDING_PRODUCING);
    cr_assert_eq(ol_pending_next(OL_PENDING_PRODUCING, OL_PENDING_EV_FAILED), OL_PENDING_FAILED);
    cr_assert_eq(ol_pending_next(OL_PENDING_PRODUCING, OL_PENDING_EV_ANSWERED), OL_PENDING_ANSWERED);
    cr_assert_eq(ol_pending_next(OL_PENDING_IN_LOG, OL_PENDING_EV_FAILED), OL_PENDING_IN_LOG);
    cr_assert_eq(ol_pending_next(OL_PENDING_IN_LOG, OL_PENDING_EV_UNCONFIRMED), OL_PENDING_IN_LOG);
    cr_assert_eq(ol_pending_next(OL_PENDING_IN_LOG, OL_PENDING_EV_ANSWERED), OL_PENDING_ANSWERED);
    cr_assert_eq(ol_pending_next(OL_PENDING_ANSWERED, OL_PENDING_EV_FAILED), OL_PENDING_ANSWERED);
    cr_assert_eq(ol_pending_next(OL_PENDING_FAILED, OL_PENDING_EV_ANSWERED), OL_PENDING_FAILED);
    cr_assert_str_eq(ol_pending_state_name(OL_PENDING_IN_LOG), "in_log");
}

Test(waiters, delivery_rule) {
    int unconfirmed = 0;
    cr_assert_eq(ol_delivery_judge(false, 0, &unconfirmed, 2), OL_DELIVERY_ACKED, "offset 0 is an offset");
    cr_assert_eq(ol_delivery_judge(true, 17, &unconfirmed, 2), OL_DELIVERY_FAILED, "an error is never a delivery");
    cr_assert_eq(ol_delivery_judge(false, -1, &unconfirmed, 2), OL_DELIVERY_RESEND);
    cr_assert_eq(ol_delivery_judge(false, -1001, &unconfirmed, 2), OL_DELIVERY_RESEND, "RD_KAFKA_OFFSET_INVALID");
    cr_assert_eq(ol_delivery_judge(false, -1, &unconfirmed, 2), OL_DELIVERY_FAILED, "the third time: failed");
    cr_assert_eq(unconfirmed, 3);
}

Test(waiters, answer_completes_every_wait_on_its_order) {
    ol_waiters *w = registry();
    ol_pending *p = ol_waiters_add(w, "o-1");
    cr_assert_not_null(p);
    cr_assert_null(ol_waiters_add(w, "o-1"), "an order_id is added once");
    cr_assert_eq(ol_waiters_find(w, "o-1"), p);
    int a, b;
    cr_assert(ol_waiters_wait(w, p, &a, 5000));
    cr_assert(ol_waiters_wait(w, p, &b, 9000));
    cr_assert_eq(ol_waiters_waits(w), 2);
    cr_assert_eq(ol_waiters_next_deadline(w), 5000);
    cr_assert_eq(ol_waiters_delivery(w, "o-1", NULL, 2, 17, 100), OL_DELIVERY_ACKED);
    cr_assert_eq(ol_pending_state_of(p), OL_PENDING_IN_LOG);

    char *other = answer_json("o-2", OL_STATUS_ACCEPTED, OL_REASON_NONE, 9, false, 2, 16);
    char err[256];
    cr_assert_eq(ol_waiters_answer(w, other, strlen(other), err, sizeof err), OL_ANSWER_IGNORED);
    char *mine = answer_json("o-1", OL_STATUS_ACCEPTED, OL_REASON_NONE, 2, false, 2, 17);
    cr_assert_eq(ol_waiters_answer(w, mine, strlen(mine), err, sizeof err), OL_ANSWER_MATCHED);
    ol_completion c[2];
    pop_n(w, c, 2);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(c[i].outcome, OL_WAIT_DECIDED);
        cr_assert_str_eq(c[i].answer, mine, "the body is the answer exactly as read");
        cr_assert_eq(c[i].answer_len, strlen(mine));
        cr_assert_eq(c[i].result.remaining, 2);
        cr_assert_eq(c[i].partition, 2);
        cr_assert_eq(c[i].offset, 17);
        free(c[i].answer);
    }
    cr_assert(c[0].token == &a || c[0].token == &b);
    cr_assert_neq(c[0].token, c[1].token);
    cr_assert_eq(ol_waiters_pendings(w), 0, "an answered order leaves the registry");
    cr_assert_eq(ol_waiters_waits(w), 0);
    cr_assert_eq(ol_waiters_next_deadline(w), INT64_MAX);
    /* The same answer again (several gateways, a re-published answer). */
    cr_assert_eq(ol_waiters_answer(w, mine, strlen(mine), err, sizeof err), OL_ANSWER_IGNORED);
    free(other);
    free(mine);
    ol_waiters_destroy(w);
}

Test(waiters, answer_decoded_by_the_caller_matches_by_order_id) {
    ol_waiters *w = registry();
    ol_pending *p = ol_waiters_add(w, "o-1");
    int a;
    cr_assert(ol_waiters_wait(w, p, &a, 5000));
    cr_assert_eq(ol_waiters_delivery(w, "o-1", NULL, 1, 4, 100), OL_DELIVERY_ACKED);
    char err[256];
    char *other = answer_json("o-2", OL_STATUS_ACCEPTED, OL_REASON_NONE, 9, false, 1, 3);
    ol_result r;
    cr_assert(ol_result_from_json(other, strlen(other), &r, err, sizeof err));
    cr_assert_eq(ol_waiters_answer_parsed(w, &r, other, strlen(other)), OL_ANSWER_IGNORED);
    char *mine = answer_json("o-1", OL_STATUS_REJECTED, OL_REASON_INSUFFICIENT_STOCK, 0, false, 1, 4);
    cr_assert(ol_result_from_json(mine, strlen(mine), &r, err, sizeof err));
    cr_assert_eq(ol_waiters_answer_parsed(w, &r, mine, strlen(mine)), OL_ANSWER_MATCHED);
    ol_completion c;
    cr_assert(ol_waiters_next_completion(w, &c));
    cr_assert_eq(c.outcome, OL_WAIT_DECIDED);
    cr_assert_eq(c.token, &a);
    cr_assert_str_eq(c.answer, mine);
    cr_assert_eq(c.result.reason, OL_REASON_INSUFFICIENT_STOCK);
    cr_assert_eq(ol_waiters_pendings(w), 0);
    free(c.answer);
    free(other);
    free(mine);
    ol_waiters_destroy(w);
}

Test(waiters, answer_before_the_delivery_report) {
    ol_waiters *w = registry();
    ol_pending *p = ol_waiters_add(w, "o-1");
    int a;
    cr_assert(ol_waiters_wait(w, p, &a, 5000));
    char *rejected = answer_json("o-1", OL_STATUS_REJECTED, OL_REASON_INSUFFICIENT_STOCK, 2, false, 0, 3);
    char err[256];
    cr_assert_eq(ol_waiters_answer(w, rejected, strlen(rejected), err, sizeof err), OL_ANSWER_MATCHED);
    ol_completion c;
    pop_n(w, &c, 1);
    cr_assert_eq(c.outcome, OL_WAIT_DECIDED);
    cr_assert_eq(c.result.reason, OL_REASON_INSUFFICIENT_STOCK);
    cr_assert_eq(c.partition, 0, "where it was read, from the answer");
    cr_assert_eq(c.offset, 3);
    free(c.answer);
    /* Its late report finds nobody and changes nothing. */
    cr_assert_eq(ol_waiters_delivery(w, "o-1", NULL, 0, 3, 10), OL_DELIVERY_IGNORED);
    cr_assert_not(ol_waiters_next_completion(w, &c));
    free(rejected);
    ol_waiters_destroy(w);
}

Test(waiters, deadline_never_ends_a_wait_before_the_log_has_the_order) {
    ol_waiters *w = registry();
    ol_pending *p = ol_waiters_add(w, "o-1");
    int a;
    cr_assert(ol_waiters_wait(w, p, &a, 1000));
    ol_waiters_expire(w, 5000);
    ol_completion c;
    cr_assert_not(ol_waiters_next_completion(w, &c), "still producing: no 202 yet");
    cr_assert_eq(ol_waiters_waits(w), 1);
    cr_assert_eq(ol_waiters_delivery(w, "o-1", NULL, 1, 8, 5001), OL_DELIVERY_ACKED);
    pop_n(w, &c, 1);
    cr_assert_eq(c.outcome, OL_WAIT_TIMED_OUT);
    cr_assert_eq(c.token, &a);
    cr_assert_eq(c.partition, 1);
    cr_assert_eq(c.offset, 8);
    cr_assert_null(c.answer);
    cr_assert_eq(ol_waiters_pendings(w), 0, "in the log with no waits: nothing to keep");
    ol_waiters_destroy(w);
}

Test(waiters, deadline_in_the_log_times_out_and_a_later_wait_on_another_order_holds) {
    ol_waiters *w = registry();
    ol_pending *p = ol_waiters_add(w, "o-1");
    ol_pending *q = ol_waiters_add(w, "o-2");
    int a, b, c2;
    cr_assert(ol_waiters_wait(w, p, &a, 3000));
    cr_assert(ol_waiters_wait(w, p, &b, 1000));
    cr_assert(ol_waiters_wait(w, q, &c2, 2000));
    cr_assert_eq(ol_waiters_delivery(w, "o-1", NULL, 0, 1, 10), OL_DELIVERY_ACKED);
    cr_assert_eq(ol_waiters_delivery(w, "o-2", NULL, 0, 2, 10), OL_DELIVERY_ACKED);
    ol_waiters_expire(w, 1500);
    ol_completion c;
    pop_n(w, &c, 1);
    cr_assert_eq(c.token, &b);
    cr_assert_eq(c.outcome, OL_WAIT_TIMED_OUT);
    cr_assert_eq(ol_waiters_next_deadline(w), 2000);
    ol_waiters_expire(w, 2500);
    pop_n(w, &c, 1);
    cr_assert_eq(c.token, &c2);
    cr_assert_null(ol_waiters_find(w, "o-2"));
    cr_assert_not_null(ol_waiters_find(w, "o-1"), "a wait remains on o-1");
    ol_waiters_expire(w, 3000);
    pop_n(w, &c, 1);
    cr_assert_eq(c.token, &a);
    cr_assert_eq(ol_waiters_pendings(w), 0);
    ol_waiters_destroy(w);
}

Test(waiters, report_without_offset_is_not_a_delivery) {
    ol_waiters *w = registry(); /* 3 unconfirmed reports allowed */
    ol_pending *p = ol_waiters_add(w, "o-1");
    int a;
    cr_assert(ol_waiters_wait(w, p, &a, 0));
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(ol_waiters_delivery(w, "o-1", NULL, 4, -1, 10), OL_DELIVERY_RESEND, "report %d", i);
        cr_assert_eq(ol_pending_state_of(p), OL_PENDING_PRODUCING);
        ol_waiters_expire(w, 100);
        ol_completion c;
        cr_assert_not(ol_waiters_next_completion(w, &c), "no 202 for an order not shown to be in the log");
    }
    cr_assert_eq(ol_waiters_delivery(w, "o-1", NULL, 4, -1, 10), OL_DELIVERY_FAILED);
    ol_completion c;
    pop_n(w, &c, 1);
    cr_assert_eq(c.outcome, OL_WAIT_FAILED);
    cr_assert(strstr(c.reason, "offset") != NULL, "reason: %s", c.reason);
    cr_assert_null(ol_waiters_find(w, "o-1"), "failed: a retry starts afresh");
    ol_waiters_destroy(w);
}

Test(waiters, resent_order_confirmed_on_a_later_report) {
    ol_waiters *w = registry();
    ol_pending *p = ol_waiters_add(w, "o-1");
    int a;
    cr_assert(ol_waiters_wait(w, p, &a, 100));
    cr_assert_eq(ol_waiters_delivery(w, "o-1", NULL, 4, -1, 10), OL_DELIVERY_RESEND);
    cr_assert_eq(ol_waiters_delivery(w, "o-1", NULL, 4, 99, 20), OL_DELIVERY_ACKED);
    ol_waiters_expire(w, 200);
    ol_completion c;
    pop_n(w, &c, 1);
    cr_assert_eq(c.outcome, OL_WAIT_TIMED_OUT);
    cr_assert_eq(c.offset, 99);
    ol_waiters_destroy(w);
}

Test(waiters, failed_delivery_fails_every_wait_with_the_reason) {
    ol_waiters *w = registry();
    ol_pending *p = ol_waiters_add(w, "o-1");
    int a, b;
    cr_assert(ol_waiters_wait(w, p, &a, 100));
    cr_assert(ol_waiters_wait(w, p, &b, 100));
    cr_assert_eq(ol_waiters_delivery(w, "o-1", "Local: Message timed out", -1, -1, 10), OL_DELIVERY_FAILED);
    ol_completion c[2];
    pop_n(w, c, 2);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(c[i].outcome, OL_WAIT_FAILED);
        cr_assert_str_eq(c[i].reason, "Local: Message timed out");
    }
    cr_assert_eq(ol_waiters_pendings(w), 0);
    cr_assert_not_null(ol_waiters_add(w, "o-1"), "the same key can be tried again");
    ol_waiters_destroy(w);
}

Test(waiters, a_failed_resend_after_the_log_has_it_changes_nothing) {
    ol_waiters *w = registry();
    ol_pending *p = ol_waiters_add(w, "o-1");
    int a;
    cr_assert(ol_waiters_wait(w, p, &a, 1000));
    cr_assert_eq(ol_waiters_delivery(w, "o-1", NULL, 0, 5, 10), OL_DELIVERY_ACKED);
    cr_assert_eq(ol_waiters_delivery(w, "o-1", "Broker: Not enough in-sync replicas", 0, -1, 10), OL_DELIVERY_ACKED);
    ol_completion c;
    cr_assert_not(ol_waiters_next_completion(w, &c));
    cr_assert_eq(ol_pending_state_of(p), OL_PENDING_IN_LOG);
    ol_waiters_destroy(w);
}

Test(waiters, unreadable_answers_are_reported_not_matched) {
    ol_waiters *w = registry();
    ol_pending *p = ol_waiters_add(w, "o-1");
    int a;
    cr_assert(ol_waiters_wait(w, p, &a, 1000));
    char err[256] = "";
    const char *junk = "{\"order_id\": \"o-1\"";
    cr_assert_eq(ol_waiters_answer(w, junk, strlen(junk), err, sizeof err), OL_ANSWER_UNREADABLE);
    cr_assert_neq(err[0], '\0');
    cr_assert_eq(ol_waiters_waits(w), 1, "the wait goes on");
    ol_waiters_destroy(w);
}

Test(waiters, duplicate_answer_keeps_where_the_order_was_first_read) {
    ol_waiters *w = registry();
    ol_pending *p = ol_waiters_add(w, "o-1");
    int a;
    cr_assert(ol_waiters_wait(w, p, &a, 1000));
    char *dup = answer_json("o-1", OL_STATUS_ACCEPTED, OL_REASON_NONE, 2, true, 3, 50);
    char err[256];
    cr_assert_eq(ol_waiters_answer(w, dup, strlen(dup), err, sizeof err), OL_ANSWER_MATCHED);
    ol_completion c;
    pop_n(w, &c, 1);
    cr_assert(c.result.duplicate);
    cr_assert_eq(c.partition, -1, "a duplicate's position is not the original's");
    free(c.answer);
    free(dup);
    ol_waiters_destroy(w);
}

Test(waiters, finish_all_fails_the_producing_and_times_out_the_rest) {
    ol_waiters *w = registry();
    ol_pending *p = ol_waiters_add(w, "o-1");
    ol_pending *q = ol_waiters_add(w, "o-2");
    ol_pending *r = ol_waiters_add(w, "o-3"); /* nobody waits: kept for its report */
    cr_assert_not_null(r);
    int a, b;
    cr_assert(ol_waiters_wait(w, p, &a, 100000));
    cr_assert(ol_waiters_wait(w, q, &b, 100000));
    cr_assert_eq(ol_waiters_delivery(w, "o-2", NULL, 0, 1, 10), OL_DELIVERY_ACKED);
    ol_waiters_finish_all(w, "stopping");
    ol_completion c[2];
    pop_n(w, c, 2);
    for (int i = 0; i < 2; i++) {
        if (c[i].token == &a) {
            cr_assert_eq(c[i].outcome, OL_WAIT_FAILED);
            cr_assert_str_eq(c[i].reason, "stopping");
        } else {
            cr_assert_eq(c[i].token, &b);
            cr_assert_eq(c[i].outcome, OL_WAIT_TIMED_OUT);
        }
    }
    cr_assert_eq(ol_waiters_waits(w), 0);
    cr_assert_not_null(ol_waiters_find(w, "o-3"));
    ol_waiters_destroy(w);
}

Test(waiters, thousands_of_waits_complete_in_deadline_order) {
    ol_waiters *w = registry();
    enum { N = 5000 };
    static int tokens[N];
    char id[32];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "o-%d", i);
        ol_pending *p = ol_waiters_add(w, id);
        cr_assert_not_null(p);
        tokens[i] = i;
        /* Deadlines in a scrambled order. */
        cr_assert(ol_waiters_wait(w, p, &tokens[i], (int64_t)((i * 7919) % N) + 1));
        cr_assert_eq(ol_waiters_delivery(w, id, NULL, 0, i, 0), OL_DELIVERY_ACKED);
    }
    /* Half are answered first. */
    for (int i = 0; i < N; i += 2) {
        snprintf(id, sizeof id, "o-%d", i);
        char *ans = answer_json(id, OL_STATUS_ACCEPTED, OL_REASON_NONE, 1, false, 0, i);
        char err[256];
        cr_assert_eq(ol_waiters_answer(w, ans, strlen(ans), err, sizeof err), OL_ANSWER_MATCHED);
        free(ans);
    }
    ol_completion c;
    size_t decided = 0;
    while (ol_waiters_next_completion(w, &c)) {
        cr_assert_eq(c.outcome, OL_WAIT_DECIDED);
        free(c.answer);
        decided++;
    }
    cr_assert_eq(decided, N / 2);
    ol_waiters_expire(w, N + 1);
    int64_t last = -1;
    size_t timed_out = 0;
    while (ol_waiters_next_completion(w, &c)) {
        int i = *(int *)c.token;
        int64_t deadline = (int64_t)((i * 7919) % N) + 1;
        cr_assert_eq(c.outcome, OL_WAIT_TIMED_OUT);
        cr_assert(i % 2 == 1);
        cr_assert_geq(deadline, last, "completed out of deadline order");
        last = deadline;
        timed_out++;
    }
    cr_assert_eq(timed_out, N / 2);
    cr_assert_eq(ol_waiters_pendings(w), 0);
    ol_waiters_destroy(w);
}

Test(waiters, rejects_bad_order_ids) {
    ol_waiters *w = registry();
    cr_assert_null(ol_waiters_add(w, ""));
    char long_id[OL_ORDER_ID_MAX + 2];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    cr_assert_null(ol_waiters_add(w, long_id));
    ol_waiters_destroy(NULL);
    ol_waiters_destroy(w);
}

/* Unit tests for consumer/acks: the acknowledged prefix of each partition,
 * on which "every order gets an answer" after a crash rests. */
#include <criterion/criterion.h>

#include "ol_acks.h"

#define MAX 3 /* re-sends per attached message */

static ol_ack_tracker *t;

static void setup(void) { t = ol_ack_tracker_new(); }
static void teardown(void) { ol_ack_tracker_destroy(t); }

TestSuite(acks, .init = setup, .fini = teardown);

/* Opens a span of n messages ending at end, attached and closed. */
static ol_ack_span *span_of(int32_t p, int64_t end, int n) {
    ol_ack_span *s = ol_ack_tracker_open(t, p, end);
    cr_assert_not_null(s);
    for (int i = 0; i < n; i++) ol_ack_span_attach(s);
    ol_ack_span_close(s);
    return s;
}

Test(acks, nothing_acknowledged_before_a_span_completes) {
    cr_assert_eq(ol_ack_tracker_acked(t, 0), -1);
    ol_ack_span *a = span_of(0, 10, 2);
    cr_assert_eq(ol_ack_span_report(a, false, 100, MAX), OL_DELIVERY_ACKED);
    cr_assert_eq(ol_ack_tracker_acked(t, 0), -1, "one of two answers is not in the log yet");
    cr_assert_not(ol_ack_tracker_idle(t));
    cr_assert_eq(ol_ack_span_report(a, false, 101, MAX), OL_DELIVERY_ACKED);
    cr_assert_eq(ol_ack_tracker_acked(t, 0), 10);
    cr_assert(ol_ack_tracker_idle(t));
}

Test(acks, an_open_span_is_not_complete_even_when_delivered) {
    ol_ack_span *a = ol_ack_tracker_open(t, 0, 5);
    ol_ack_span_attach(a);
    cr_assert_eq(ol_ack_span_report(a, false, 7, MAX), OL_DELIVERY_ACKED);
    cr_assert_eq(ol_ack_tracker_acked(t, 0), -1, "more answers may still be attached");
    ol_ack_span_close(a);
    cr_assert_eq(ol_ack_tracker_acked(t, 0), 5);
}

Test(acks, out_of_order_reports_move_the_prefix_only_over_consecutive_spans) {
    ol_ack_span *a = span_of(3, 10, 1), *b = span_of(3, 20, 1), *c = span_of(3, 30, 1);
    cr_assert_eq(ol_ack_span_report(c, false, 3, MAX), OL_DELIVERY_ACKED);
    cr_assert_eq(ol_ack_span_report(b, false, 2, MAX), OL_DELIVERY_ACKED);
    cr_assert_eq(ol_ack_tracker_acked(t, 3), -1, "the first span is still waiting");
    cr_assert_eq(ol_ack_span_report(a, false, 1, MAX), OL_DELIVERY_ACKED);
    cr_assert_eq(ol_ack_tracker_acked(t, 3), 30);
}

Test(acks, a_gap_holds_back_later_spans) {
    ol_ack_span *a = span_of(0, 10, 1);
    ol_ack_span *b = span_of(0, 20, 1); /* its answer never reported */
    ol_ack_span *c = span_of(0, 30, 1);
    ol_ack_span_report(a, false, 1, MAX);
    ol_ack_span_report(c, false, 3, MAX);
    cr_assert_eq(ol_ack_tracker_acked(t, 0), 10);
    cr_assert_not(ol_ack_tracker_idle(t));
    ol_ack_span_report(b, false, 2, MAX);
    cr_assert_eq(ol_ack_tracker_acked(t, 0), 30);
}

Test(acks, a_failed_delivery_in_the_middle_of_a_span_stops_the_prefix_for_good) {
    ol_ack_span *a = span_of(0, 10, 1);
    ol_ack_span *b = span_of(0, 20, 3);
    ol_ack_span *c = span_of(0, 30, 1);
    ol_ack_span_report(a, false, 1, MAX);
    ol_ack_span_report(b, false, 2, MAX);
    cr_assert_eq(ol_ack_span_report(b, true, -1, MAX), OL_DELIVERY_FAILED);
    ol_ack_span_report(b, false, 4, MAX);
    ol_ack_span_report(c, false, 5, MAX);
    cr_assert_eq(ol_ack_tracker_acked(t, 0), 10, "answers after the failure must be republished after a restart");
}

Test(acks, a_report_without_an_offset_is_resent_not_counted) {
    ol_ack_span *a = span_of(0, 10, 1);
    for (int i = 0; i < MAX; i++) cr_assert_eq(ol_ack_span_report(a, false, -1, MAX), OL_DELIVERY_RESEND);
    cr_assert_eq(ol_ack_tracker_acked(t, 0), -1, "delivered means in the log: no offset, no acknowledgement");
    cr_assert_eq(ol_ack_span_report(a, false, 42, MAX), OL_DELIVERY_ACKED);
    cr_assert_eq(ol_ack_tracker_acked(t, 0), 10);
}

Test(acks, too_many_reports_without_an_offset_fail_the_span) {
    ol_ack_span *a = span_of(0, 10, 1);
    for (int i = 0; i < MAX; i++) ol_ack_span_report(a, false, -1, MAX);
    cr_assert_eq(ol_ack_span_report(a, false, -1, MAX), OL_DELIVERY_FAILED);
    ol_ack_span_report(a, false, 42, MAX);
    cr_assert_eq(ol_ack_tracker_acked(t, 0), -1);
}

Test(acks, partitions_are_independent) {
    ol_ack_span *a = span_of(0, 10, 1), *b = span_of(5, 7, 1);
    ol_ack_span_report(b, false, 1, MAX);
    cr_assert_eq(ol_ack_tracker_acked(t, 5), 7);
    cr_assert_eq(ol_ack_tracker_acked(t, 0), -1);
    cr_assert_eq(ol_ack_tracker_acked(t, 2), -1, "a partition never seen");
    ol_ack_span_report(a, false, 2, MAX);
    cr_assert_eq(ol_ack_tracker_acked(t, 0), 10);
}

Test(acks, an_empty_closed_span_completes_at_once) {
    span_of(1, 4, 0);
    cr_assert_eq(ol_ack_tracker_acked(t, 1), 4);
}

Test(acks, a_partition_read_again_reports_the_lower_end) {
    ol_ack_span *a = span_of(0, 50, 1);
    ol_ack_span_report(a, false, 1, MAX);
    cr_assert_eq(ol_ack_tracker_acked(t, 0), 50);
    ol_ack_span *again = span_of(0, 30, 1); /* read again from a stored position after a fence */
    ol_ack_span_report(again, false, 2, MAX);
    cr_assert_eq(ol_ack_tracker_acked(t, 0), 30);
}

Test(acks, a_negative_partition_has_no_span) {
    cr_assert_null(ol_ack_tracker_open(t, -1, 5));
    cr_assert_eq(ol_ack_tracker_acked(t, -1), -1);
}

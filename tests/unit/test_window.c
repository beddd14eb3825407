/* Unit tests for ol_window: which partitions of a bounded read reached the
 * high-water marks seen at its start. */
#include <criterion/criterion.h>

#include "ol_window.h"

/* A window over n partitions with the given watermarks and starts. */
static void setup(ol_window *w, int32_t n, const int64_t *low, const int64_t *high, const int64_t *start) {
    char err[128] = "";
    cr_assert(ol_window_init(w, n, err, sizeof err), "init: %s", err);
    for (int32_t p = 0; p < n; p++) {
        w->low[p] = low[p];
        w->high[p] = high[p];
        w->start[p] = start[p];
    }
    ol_window_begin(w);
}

Test(window, init_is_empty_and_zeroed) {
    ol_window w;
    char err[128] = "";
    cr_assert(ol_window_init(&w, 3, err, sizeof err));
    cr_assert_eq(w.n, 3);
    for (int32_t p = 0; p < 3; p++) {
        cr_assert_eq(w.low[p], 0);
        cr_assert_eq(w.high[p], 0);
        cr_assert_eq(w.start[p], 0);
        cr_assert_not(w.done[p]);
    }
    ol_window_free(&w);
    cr_assert_null(w.low);
    cr_assert_eq(w.n, 0);
    ol_window_free(&w); /* freeing twice (an emptied window) is harmless */
}

Test(window, no_partitions_is_complete) {
    ol_window w;
    char err[128] = "";
    cr_assert(ol_window_init(&w, 0, err, sizeof err));
    ol_window_begin(&w);
    cr_assert_eq(w.pending, 0);
    cr_assert_not(ol_window_contains(&w, 0, 0));
    cr_assert_not(ol_window_note(&w, 0, 0, false));
    ol_window_free(&w);
}

Test(window, begin_raises_starts_and_marks_empty_partitions) {
    ol_window w;
    /* p0: from the beginning; p1: a start below the low mark (retention);
     * p2: empty; p3: starting at the end; p4: a start past the end. */
    const int64_t low[] = {0, 10, 5, 0, 0}, high[] = {4, 20, 5, 7, 7}, start[] = {0, 3, 5, 7, 9};
    setup(&w, 5, low, high, start);
    cr_assert_eq(w.start[0], 0);
    cr_assert_eq(w.start[1], 10);
    cr_assert_eq(w.start[4], 9);
    cr_assert_not(w.done[0]);
    cr_assert_not(w.done[1]);
    cr_assert(w.done[2]);
    cr_assert(w.done[3]);
    cr_assert(w.done[4]);
    cr_assert_eq(w.pending, 2);
    ol_window_free(&w);
}

Test(window, last_message_completes_a_partition) {
    ol_window w;
    const int64_t low[] = {0, 0}, high[] = {3, 2}, start[] = {0, 0};
    setup(&w, 2, low, high, start);
    cr_assert_not(ol_window_note(&w, 0, 0, false));
    cr_assert_not(ol_window_note(&w, 0, 1, false));
    cr_assert_eq(w.pending, 2);
    cr_assert(ol_window_note(&w, 0, 2, false), "offset end - 1 is the last of the window");
    cr_assert(w.done[0]);
    cr_assert_eq(w.pending, 1);
    cr_assert_not(ol_window_note(&w, 0, 3, false), "a partition completes once");
    cr_assert_eq(w.pending, 1);
    cr_assert(ol_window_note(&w, 1, 1, false));
    cr_assert_eq(w.pending, 0);
    ol_window_free(&w);
}

Test(window, end_event_completes_at_or_past_the_end) {
    ol_window w;
    const int64_t low[] = {0, 0, 0}, high[] = {5, 5, 5}, start[] = {0, 0, 0};
    setup(&w, 3, low, high, start);
    cr_assert_not(ol_window_note(&w, 0, 4, true), "the log ends before the window's end: keep reading");
    cr_assert(ol_window_note(&w, 1, 5, true));
    cr_assert(ol_window_note(&w, 2, 9, true), "more was written since the start");
    cr_assert_eq(w.pending, 1);
    ol_window_free(&w);
}

Test(window, a_message_past_the_end_completes_too) {
    ol_window w;
    const int64_t low[] = {0}, high[] = {5}, start[] = {0};
    setup(&w, 1, low, high, start);
    cr_assert(ol_window_note(&w, 0, 8, false));
    cr_assert_eq(w.pending, 0);
    ol_window_free(&w);
}

Test(window, contains_is_below_the_end_of_known_partitions) {
    ol_window w;
    const int64_t low[] = {0, 0}, high[] = {3, 0}, start[] = {0, 0};
    setup(&w, 2, low, high, start);
    cr_assert(ol_window_contains(&w, 0, 0));
    cr_assert(ol_window_contains(&w, 0, 2));
    cr_assert_not(ol_window_contains(&w, 0, 3));
    cr_assert_not(ol_window_contains(&w, 1, 0));
    cr_assert_not(ol_window_contains(&w, 2, 0));
    cr_assert_not(ol_window_contains(&w, -1, 0));
    ol_window_free(&w);
}

Test(window, unknown_partitions_are_ignored) {
    ol_window w;
    const int64_t low[] = {0}, high[] = {1}, start[] = {0};
    setup(&w, 1, low, high, start);
    cr_assert_not(ol_window_note(&w, 1, 0, false));
    cr_assert_not(ol_window_note(&w, -1, 0, true));
    cr_assert_eq(w.pending, 1);
    ol_window_free(&w);
}

/* Unit tests for audit/answers: the answer store holds the answers of the
 * partition being replayed in a bounded window, the rest apart. */
#include <criterion/criterion.h>
#include <string.h>

#include "answers.h"

static ol_result ans(const char *id, int32_t p, int64_t o, int64_t remaining) {
    ol_result r = {
        .status = OL_STATUS_ACCEPTED, .has_remaining = true, .remaining = remaining, .partition = p, .offset = o};
    strcpy(r.order_id, id);
    return r;
}

typedef struct seen {
    int n;
    int32_t partition[8];
    int64_t offset[8];
    char order_id[8][16];
} seen;

static void collect(void *ctx, int32_t partition, int64_t offset, const stored_answer *a) {
    seen *s = ctx;
    cr_assert_lt(s->n, 8);
    s->partition[s->n] = partition;
    s->offset[s->n] = offset;
    strcpy(s->order_id[s->n], a->order_id);
    s->n++;
}

static answer_store *store_with_ranges(void) {
    answer_store *s = answers_new(16);
    cr_assert_not_null(s);
    cr_assert(answers_set_range(s, 0, 10, 20));
    cr_assert(answers_set_range(s, 1, 0, 5));
    cr_assert_not(answers_set_range(s, 1, 0, 5), "a range given twice");
    cr_assert_not(answers_begin(s, 2), "no range");
    cr_assert(answers_begin(s, 0));
    return s;
}

Test(answers, taken_once_and_copies_compared) {
    answer_store *s = store_with_ranges();
    stored_answer first, got;
    ol_result a = ans("o-1", 0, 12, 3);
    cr_assert_eq(answers_add(s, &a, &first), ANSWERS_ADDED);
    cr_assert_eq(answers_add(s, &a, &first), ANSWERS_SAME_AGAIN);
    ol_result b = ans("o-1", 0, 12, 4);
    cr_assert_eq(answers_add(s, &b, &first), ANSWERS_CONFLICT);
    cr_assert_eq(first.remaining, 3, "the first copy is what the conflict names");
    cr_assert_eq(answers_add(s, &b, &first), ANSWERS_SAME_AGAIN, "a conflict is reported once");
    ol_result outside = ans("o-9", 0, 20, 0);
    cr_assert_eq(answers_add(s, &outside, &first), ANSWERS_OUTSIDE);
    outside.partition = 2;
    cr_assert_eq(answers_add(s, &outside, &first), ANSWERS_OUTSIDE, "a partition without a range");
    cr_assert(answers_take(s, 0, 12, &got));
    cr_assert_str_eq(got.order_id, "o-1");
    cr_assert(got.has_remaining && got.remaining == 3 && got.status == OL_STATUS_ACCEPTED && !got.duplicate);
    cr_assert_not(answers_take(s, 0, 12, &got), "taken once");
    cr_assert_not(answers_take(s, 0, 13, &got));
    answers_destroy(s);
    answers_destroy(NULL);
}

Test(answers, settling_frees_the_partition_and_reports_what_was_never_taken) {
    answer_store *s = store_with_ranges();
    stored_answer first, got;
    for (int64_t o = 10; o < 20; o++) {
        ol_result a = ans("o", 0, o, o);
        cr_assert_eq(answers_add(s, &a, &first), ANSWERS_ADDED);
    }
    ol_result other = ans("p1", 1, 0, 0);
    cr_assert_eq(answers_add(s, &other, &first), ANSWERS_ADDED);
    cr_assert_eq(answers_held(s), 11);
    for (int64_t o = 10; o < 18; o++) cr_assert(answers_take(s, 0, o, &got));
    cr_assert(answers_keep(s, 0, 18), "kept for the end");
    seen never = {0};
    answers_settle(s, 0, collect, &never);
    cr_assert_eq(never.n, 1);
    cr_assert_eq(never.offset[0], 19);
    cr_assert(answers_settled(s, 0) && !answers_settled(s, 1));
    cr_assert_eq(answers_held(s), 2, "partition 1's answer and the kept one");
    answers_settle(s, 0, collect, &never);
    cr_assert_eq(never.n, 1, "settling twice does nothing");
    cr_assert(answers_take(s, 0, 18, &got), "the kept answer outlives settling");
    cr_assert_eq(got.remaining, 18);
    answers_destroy(s);
}

Test(answers, late_answers_wait_for_the_end) {
    answer_store *s = store_with_ranges();
    stored_answer first, got;
    ol_result a = ans("o-1", 0, 11, 1);
    cr_assert_eq(answers_add(s, &a, &first), ANSWERS_ADDED);
    cr_assert(answers_take(s, 0, 11, &got));
    seen never = {0};
    answers_settle(s, 0, collect, &never);
    cr_assert_eq(never.n, 0);
    /* Read later, from another results partition. */
    cr_assert_eq(answers_add(s, &a, &first), ANSWERS_UNVERIFIED, "a copy of an answer compared and freed");
    ol_result late = ans("o-2", 0, 15, 2), late2 = ans("o-3", 0, 13, 2);
    cr_assert_eq(answers_add(s, &late, &first), ANSWERS_ADDED);
    cr_assert_eq(answers_add(s, &late2, &first), ANSWERS_ADDED);
    late.remaining = 7;
    cr_assert_eq(answers_add(s, &late, &first), ANSWERS_CONFLICT, "late copies are compared too");
    cr_assert(answers_take(s, 0, 15, &got));
    cr_assert_str_eq(got.order_id, "o-2");
    cr_assert(answers_begin(s, 1));
    ol_result unsettled = ans("q", 1, 4, 0);
    cr_assert_eq(answers_add(s, &unsettled, &first), ANSWERS_ADDED);
    cr_assert(answers_drain(s, collect, &never));
    cr_assert_eq(never.n, 1, "only the late answer never taken");
    cr_assert_eq(never.partition[0], 0);
    cr_assert_eq(never.offset[0], 13);
    cr_assert_eq(answers_held(s), 1, "partition 1 is not settled: its window stays");
    answers_destroy(s);
}

/* A store whose window of 4 follows partition 0, replayed over [0, 100). */
static answer_store *small_window(void) {
    answer_store *s = answers_new(4);
    cr_assert_not_null(s);
    cr_assert(answers_set_range(s, 0, 0, 100));
    cr_assert(answers_set_range(s, 1, 0, 100));
    cr_assert(answers_begin(s, 0));
    return s;
}

Test(answers, reading_waits_for_the_replay) {
    answer_store *s = small_window();
    stored_answer first, got;
    cr_assert_not(answers_past(s, 0, 0), "nothing read yet");
    cr_assert(answers_past(s, 1, 50), "partition 1 is not followed: nothing to wait for");
    for (int64_t o = 0; o < 4; o++) {
        ol_result a = ans("w", 0, o, o);
        cr_assert_eq(answers_add(s, &a, &first), ANSWERS_ADDED);
    }
    ol_result ahead = ans("w4", 0, 4, 4);
    cr_assert_eq(answers_add(s, &ahead, &first), ANSWERS_LATER, "4 answers ahead of the replay at most");
    cr_assert(answers_past(s, 0, 3), "the batch up to 3 may be decided");
    cr_assert_eq(answers_held(s), 4);
    for (int64_t o = 0; o < 4; o++) cr_assert(answers_take(s, 0, o, &got));
    answers_advance(s, 0, 4);
    cr_assert_eq(answers_add(s, &ahead, &first), ANSWERS_ADDED, "offered again once the replay moved on");
    cr_assert_eq(answers_held(s), 4, "offset 0 left the window: taken, only its bit remains");
    ol_result copy = ans("w", 0, 0, 0);
    cr_assert_eq(answers_add(s, &copy, &first), ANSWERS_UNVERIFIED, "a copy of a taken answer gone from the window");
    answers_advance(s, 1, 90);
    ol_result other = ans("x", 1, 90, 0);
    cr_assert_eq(answers_add(s, &other, &first), ANSWERS_ADDED, "another partition's answer waits apart");
    answers_destroy(s);
}

Test(answers, a_copy_republished_soon_after_meets_the_first_even_once_taken) {
    answer_store *s = small_window();
    stored_answer first, got;
    ol_result a = ans("o-1", 0, 1, 5);
    cr_assert_eq(answers_add(s, &a, &first), ANSWERS_ADDED);
    cr_assert(answers_take(s, 0, 1, &got));
    answers_advance(s, 0, 2);
    cr_assert_eq(answers_add(s, &a, &first), ANSWERS_SAME_AGAIN);
    ol_result b = ans("o-1", 0, 1, 6);
    cr_assert_eq(answers_add(s, &b, &first), ANSWERS_CONFLICT, "still in the window behind the replay");
    cr_assert_eq(first.remaining, 5);
    answers_destroy(s);
}

Test(answers, answers_leaving_the_window_untaken_are_kept_for_the_end) {
    answer_store *s = small_window();
    stored_answer first, got;
    seen never = {0};
    ol_result junk = ans("j", 0, 0, 0), late = ans("l", 0, 1, 0);
    cr_assert_eq(answers_add(s, &junk, &first), ANSWERS_ADDED);
    answers_advance(s, 0, 10); /* the replay passed 0 and 1 without their answers */
    ol_result far = ans("f", 0, 9, 0);
    cr_assert_eq(answers_add(s, &far, &first), ANSWERS_ADDED, "the window slides: offset 0 goes apart");
    cr_assert_eq(answers_add(s, &late, &first), ANSWERS_ADDED, "below the window: apart");
    cr_assert_eq(answers_held(s), 3);
    cr_assert(answers_take(s, 0, 1, &got), "a late answer is still found");
    cr_assert_str_eq(got.order_id, "l");
    cr_assert(answers_keep(s, 0, 9));
    answers_settle(s, 0, collect, &never);
    cr_assert_eq(never.n, 0, "what left the window is reported at the end");
    cr_assert(answers_drain(s, collect, &never));
    cr_assert_eq(never.n, 2);
    cr_assert_eq(never.offset[0], 0);
    cr_assert_str_eq(never.order_id[0], "j");
    cr_assert_eq(never.offset[1], 9, "kept");
    answers_destroy(s);
}

Test(answers, beginning_the_next_partition_keeps_what_was_never_taken) {
    answer_store *s = small_window();
    stored_answer first, got;
    ol_result a = ans("a", 0, 2, 0);
    cr_assert_eq(answers_add(s, &a, &first), ANSWERS_ADDED);
    cr_assert(answers_begin(s, 1));
    cr_assert(answers_take(s, 0, 2, &got), "moved apart, not lost");
    ol_result b = ans("b", 1, 0, 0);
    cr_assert_eq(answers_add(s, &b, &first), ANSWERS_ADDED);
    cr_assert_eq(answers_held(s), 2);
    answers_destroy(s);
}

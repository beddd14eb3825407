/* Unit tests for audit/answers: the answer store holds a partition's
 * answers until the replay settles it, then only what comes late. */
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
    answer_store *s = answers_new();
    cr_assert_not_null(s);
    cr_assert(answers_set_range(s, 0, 10, 20));
    cr_assert(answers_set_range(s, 1, 0, 5));
    cr_assert_not(answers_set_range(s, 1, 0, 5), "a range given twice");
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
    ol_result unsettled = ans("q", 1, 4, 0);
    cr_assert_eq(answers_add(s, &unsettled, &first), ANSWERS_ADDED);
    cr_assert(answers_drain(s, collect, &never));
    cr_assert_eq(never.n, 1, "only the late answer never taken");
    cr_assert_eq(never.partition[0], 0);
    cr_assert_eq(never.offset[0], 13);
    cr_assert_eq(answers_held(s), 1, "partition 1 is not settled: its slots stay");
    answers_destroy(s);
}

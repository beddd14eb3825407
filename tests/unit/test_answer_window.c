/* Unit tests for audit/answer_window: the ring of answers read ahead of
 * the replay, bounded by its capacity. */
#include <criterion/criterion.h>
#include <string.h>

#include "answer_window.h"

typedef struct left {
    int n;
    int64_t offset[16];
    char id[16][80];
    bool fail; /* the callback fails (OOM) */
} left;

static bool on_leave(void *ctx, int64_t offset, const window_slot *s) {
    left *l = ctx;
    if (l->fail) return false;
    cr_assert_lt(l->n, 16);
    l->offset[l->n] = offset;
    strcpy(l->id[l->n], window_slot_id(s));
    l->n++;
    return true;
}

/* Places and stores an answer at offset; the outcome of placing it. */
static window_place put(answer_window *w, int64_t offset, const char *id, left *l) {
    window_slot *s = NULL;
    window_place r = answer_window_place(w, offset, on_leave, l, &s);
    if (r != WINDOW_PLACED) return r;
    cr_assert_not(s->flags & WSLOT_PRESENT, "offset %lld is new", (long long)offset);
    cr_assert(answer_window_store(w, s, id, 1, 0, true, offset * 10, false));
    return r;
}

Test(answer_window, reads_no_further_than_its_capacity_ahead_of_the_replay) {
    answer_window *w = answer_window_new(4);
    cr_assert_not_null(w);
    left l = {0};
    answer_window_reset(w, 100);
    cr_assert_not(answer_window_past(w, 99), "nothing offered yet");
    for (int64_t o = 100; o < 104; o++) cr_assert_eq(put(w, o, "a", &l), WINDOW_PLACED);
    cr_assert_eq(put(w, 104, "b", &l), WINDOW_FULL, "the replay is still at 100");
    cr_assert(answer_window_past(w, 103), "an answer beyond 103 was offered, even though it did not fit");
    cr_assert_not(answer_window_past(w, 104));
    cr_assert_eq(answer_window_held(w), 4);
    answer_window_advance(w, 102);
    cr_assert_eq(put(w, 104, "b", &l), WINDOW_PLACED, "room made below the replay's position");
    cr_assert_eq(l.n, 1);
    cr_assert_eq(l.offset[0], 100, "the lowest slot left the window");
    cr_assert_eq(put(w, 105, "c", &l), WINDOW_PLACED);
    cr_assert_eq(put(w, 106, "d", &l), WINDOW_FULL, "the window never passes the replay's position");
    cr_assert_eq(l.n, 2);
    cr_assert_eq(answer_window_held(w), 4);
    cr_assert_null(answer_window_at(w, 101), "left");
    window_slot *s = answer_window_at(w, 104);
    cr_assert_not_null(s);
    cr_assert_str_eq(window_slot_id(s), "b");
    cr_assert_eq(s->remaining, 1040);
    cr_assert_eq(put(w, 101, "late", &l), WINDOW_BEHIND, "below the window: the caller keeps it apart");
    answer_window_destroy(w);
    answer_window_destroy(NULL);
}

Test(answer_window, slots_behind_the_replay_stay_until_room_is_needed) {
    answer_window *w = answer_window_new(8);
    left l = {0};
    answer_window_reset(w, 0);
    cr_assert_eq(put(w, 0, "x", &l), WINDOW_PLACED);
    cr_assert_eq(put(w, 1, "y", &l), WINDOW_PLACED);
    answer_window_advance(w, 5);
    window_slot *s = NULL;
    cr_assert_eq(answer_window_place(w, 1, on_leave, &l, &s), WINDOW_PLACED, "a copy still meets its first");
    cr_assert(s->flags & WSLOT_PRESENT);
    cr_assert_str_eq(window_slot_id(s), "y");
    cr_assert_eq(put(w, 8, "z", &l), WINDOW_PLACED, "room for 8: offset 0 leaves");
    cr_assert_eq(l.n, 1);
    cr_assert_eq(l.offset[0], 0);
    cr_assert_not_null(answer_window_at(w, 1));
    answer_window_destroy(w);
}

Test(answer_window, a_jump_beyond_the_capacity_empties_every_slot_once) {
    answer_window *w = answer_window_new(4);
    left l = {0};
    answer_window_reset(w, 0);
    for (int64_t o = 0; o < 4; o++) cr_assert_eq(put(w, o, "a", &l), WINDOW_PLACED);
    answer_window_advance(w, 1000);
    cr_assert_eq(put(w, 500, "far", &l), WINDOW_PLACED);
    cr_assert_eq(l.n, 4);
    for (int i = 0; i < 4; i++) cr_assert_eq(l.offset[i], i, "in offset order");
    cr_assert_eq(answer_window_held(w), 1);
    cr_assert_eq(put(w, 496, "before", &l), WINDOW_BEHIND);
    cr_assert_eq(put(w, 497, "in", &l), WINDOW_PLACED);
    answer_window_destroy(w);
}

Test(answer_window, long_order_ids_and_emptying) {
    answer_window *w = answer_window_new(16);
    left l = {0};
    answer_window_reset(w, 10);
    char long_id[80];
    memset(long_id, 'q', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    cr_assert_eq(put(w, 12, long_id, &l), WINDOW_PLACED);
    cr_assert_eq(put(w, 11, "short", &l), WINDOW_PLACED);
    cr_assert_str_eq(window_slot_id(answer_window_at(w, 12)), long_id);
    answer_window_remove(w, answer_window_at(w, 11));
    cr_assert_eq(answer_window_held(w), 1);
    cr_assert_eq(put(w, 13, "last", &l), WINDOW_PLACED);
    cr_assert(answer_window_empty(w, on_leave, &l));
    cr_assert_eq(l.n, 2);
    cr_assert_eq(l.offset[0], 12);
    cr_assert_str_eq(l.id[0], long_id);
    cr_assert_eq(l.offset[1], 13);
    cr_assert_eq(answer_window_held(w), 0);
    answer_window_reset(w, 0);
    cr_assert_not(answer_window_past(w, -1), "a reset forgets what was offered");
    answer_window_destroy(w);
}

Test(answer_window, a_failing_leave_keeps_the_slot) {
    answer_window *w = answer_window_new(2);
    left l = {.fail = true};
    answer_window_reset(w, 0);
    cr_assert_eq(put(w, 0, "a", &l), WINDOW_PLACED);
    answer_window_advance(w, 5);
    cr_assert_eq(put(w, 2, "b", &l), WINDOW_NO_MEMORY);
    cr_assert_not_null(answer_window_at(w, 0), "still there");
    cr_assert_eq(answer_window_held(w), 1);
    l.fail = false;
    cr_assert_eq(put(w, 2, "b", &l), WINDOW_PLACED);
    cr_assert_eq(l.n, 1);
    cr_assert_null(answer_window_new(0));
    answer_window_destroy(w);
}

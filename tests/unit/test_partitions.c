/* Unit tests for consumer/partitions: positions, commits and the collection
 * of acknowledgements to record. */
#include <criterion/criterion.h>
#include <string.h>

#include "partitions.h"

static partition_table t;
static int64_t sink_acked[16];

static void setup(void) {
    memset(&t, 0, sizeof t);
    for (size_t i = 0; i < 16; i++) sink_acked[i] = -1;
}
static void teardown(void) { partition_table_free(&t); }
TestSuite(partitions, .init = setup, .fini = teardown);

static int64_t acked(void *ctx, int32_t p) { return ((int64_t *)ctx)[p]; }

static void own(int32_t p, int64_t decided, int64_t acked_saved) {
    store_position pos = {p, true, decided, acked_saved};
    cr_assert(partition_table_apply(&t, &pos));
    partition_table_get(&t, p)->assigned = true;
}

Test(partitions, a_stored_position_sets_decided_acked_and_the_stale_filter) {
    store_position pos = {3, true, 50, 40};
    cr_assert(partition_table_apply(&t, &pos));
    partition_state *ps = partition_table_get(&t, 3);
    cr_assert_eq(ps->decided, 50);
    cr_assert_eq(ps->acked_saved, 40);
    cr_assert_eq(ps->next_expected, 40, "answers from 40 on are published again");
    cr_assert_eq(t.n, 4);
    cr_assert_eq(partition_start_offset(&pos, 7), 40);
    store_position fresh = {1, false, 0, 0};
    cr_assert_eq(partition_start_offset(&fresh, 7), 7, "a new partition starts at its oldest message");
    cr_assert_null(partition_table_get(&t, -1));
}

Test(partitions, acks_are_capped_at_decided_and_only_move_forward) {
    own(0, 100, 10);
    own(1, 100, 60);
    own(2, 100, 0);
    sink_acked[0] = 150; /* beyond decided: never recorded past it */
    sink_acked[1] = 50;  /* behind what is saved (a partition read again) */
    sink_acked[2] = -1;  /* nothing acknowledged */
    store_ack out[8];
    ack_filter all = {0};
    size_t n = partition_table_collect_acks(&t, &all, acked, sink_acked, out, 8);
    cr_assert_eq(n, 1);
    cr_assert_eq(out[0].partition, 0);
    cr_assert_eq(out[0].results_offset, 100);
    partition_table_saved(&t, out, n);
    cr_assert_eq(partition_table_get(&t, 0)->acked_saved, 100);
    cr_assert_eq(partition_table_collect_acks(&t, &all, acked, sink_acked, out, 8), 0, "saved already");
}

Test(partitions, a_lane_collects_only_its_own_partitions) {
    for (int32_t p = 0; p < 6; p++) {
        own(p, 10, 0);
        sink_acked[p] = 5;
    }
    store_ack out[8];
    ack_filter lane1 = {.lane = 1, .n_lanes = 3};
    size_t n = partition_table_collect_acks(&t, &lane1, acked, sink_acked, out, 8);
    cr_assert_eq(n, 2);
    cr_assert_eq(out[0].partition, 1);
    cr_assert_eq(out[1].partition, 4);
}

Test(partitions, revoked_only_the_listed_ones_and_never_unassigned_or_unstored) {
    own(0, 10, 0);
    own(1, 10, 0);
    own(2, 10, 0);
    partition_table_get(&t, 2)->assigned = false;
    store_position fresh = {3, false, 0, 0};
    partition_table_apply(&t, &fresh);
    partition_table_get(&t, 3)->assigned = true;
    for (int p = 0; p < 4; p++) sink_acked[p] = 8;
    int32_t only[] = {1, 2, 3};
    ack_filter revoked = {.only = only, .n_only = 3};
    store_ack out[8];
    size_t n = partition_table_collect_acks(&t, &revoked, acked, sink_acked, out, 8);
    cr_assert_eq(n, 1);
    cr_assert_eq(out[0].partition, 1);
}

Test(partitions, collection_stops_at_capacity) {
    for (int32_t p = 0; p < 5; p++) {
        own(p, 10, 0);
        sink_acked[p] = 3;
    }
    store_ack out[2];
    ack_filter all = {0};
    cr_assert_eq(partition_table_collect_acks(&t, &all, acked, sink_acked, out, 2), 2);
}

Test(partitions, a_commit_advances_positions_and_saves_its_acks) {
    own(0, 0, 0);
    store_position fresh = {1, false, 0, 0};
    partition_table_apply(&t, &fresh);
    store_advance adv[] = {{0, true, 0, 0, 40}, {1, false, 0, 0, 7}};
    store_ack acks[] = {{0, 12}};
    partition_table_commit(&t, adv, 2, acks, 1);
    cr_assert_eq(partition_table_get(&t, 0)->decided, 40);
    cr_assert_eq(partition_table_get(&t, 0)->acked_saved, 12);
    cr_assert(partition_table_get(&t, 1)->stored, "its row exists once committed");
    cr_assert_eq(partition_table_get(&t, 1)->decided, 7);
}

Test(partitions, accept_says_where_the_fetch_stood_and_drops_stale_offsets) {
    store_position pos = {.partition = 1, .stored = true, .next_offset = 40, .results_offset = 38};
    cr_assert(partition_table_apply(&t, &pos));
    int64_t prev;
    cr_assert_not(partition_table_accept(&t, 1, 38, &prev), "not assigned yet");
    t.parts[1].assigned = true;
    cr_assert_not(partition_table_accept(&t, 0, 0, &prev), "partition 0 is not assigned");
    cr_assert_not(partition_table_accept(&t, 7, 0, &prev), "partition 7 is unknown");
    cr_assert(partition_table_accept(&t, 1, 38, &prev));
    cr_assert_eq(prev, 38);
    cr_assert(partition_table_accept(&t, 1, 41, &prev), "a gap in one fetch is the log's own");
    cr_assert_eq(prev, 39);
    cr_assert_not(partition_table_accept(&t, 1, 41, &prev), "stale: already fetched");
    cr_assert_not(partition_table_accept(&t, 1, 40, &prev), "stale: below where the fetch stands");
    cr_assert(partition_table_apply(&t, &pos)); /* a seek back */
    cr_assert(partition_table_accept(&t, 1, 38, &prev));
    cr_assert_eq(prev, 38);
}

/* Unit tests for consumer/batch: the batch lifecycle (one state, one
 * transition function), parsing, planning, the decision step and the
 * classification of answers for the metrics. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"

static int released;
static void release(rd_kafka_message_t *m) {
    released++;
    free(m->payload);
    free(m->key);
    free(m);
}

static rd_kafka_message_t *msg(int32_t p, int64_t off, const char *key, const char *json) {
    rd_kafka_message_t *m = calloc(1, sizeof *m);
    cr_assert_not_null(m);
    m->partition = p;
    m->offset = off;
    m->payload = strdup(json);
    m->len = strlen(json);
    if (key) {
        m->key = strdup(key);
        m->key_len = strlen(key);
    }
    return m;
}

static rd_kafka_message_t *order(int32_t p, int64_t off, const char *id, const char *item, int qty) {
    char json[256];
    snprintf(json, sizeof json, "{\"order_id\":\"%s\",\"item\":\"%s\",\"quantity\":%d}", id, item, qty);
    return msg(p, off, item, json);
}

static batch b;
static partition_table parts;
static ol_map *dedup;

static void setup(void) {
    released = 0;
    cr_assert(batch_init(&b, 8, 4, release));
    memset(&parts, 0, sizeof parts);
    dedup = ol_map_new();
}

static void teardown(void) {
    batch_free(&b);
    partition_table_free(&parts);
    ol_map_destroy(dedup);
}

TestSuite(batch, .init = setup, .fini = teardown);

/* As if fetched from offset 0 on: the fetch vouches for every gap. */
static void add(rd_kafka_message_t *m) { cr_assert(batch_add(&b, m, 0)); }

/* ---- the lifecycle ---------------------------------------------------- */

Test(batch, the_happy_path_visits_every_state_once) {
    add(order(0, 0, "o1", "a", 1));
    cr_assert_eq(b.state, BATCH_COLLECTING);
    cr_assert(batch_parse(&b));
    cr_assert_eq(b.state, BATCH_PARSED);
    cr_assert_eq(batch_plan(&b, &parts, dedup, 0, NULL), BATCH_PLAN_OK);
    cr_assert_eq(b.state, BATCH_PLANNED);
    const batch_event evs[] = {BATCH_EV_SEND_BEGIN, BATCH_EV_READ_BEGIN, BATCH_EV_SEND_COMMIT, BATCH_EV_READ_COMMIT};
    const batch_state want[] = {BATCH_BEGUN, BATCH_LOCKED, BATCH_COMMITTING, BATCH_COMMITTED};
    for (size_t i = 0; i < 4; i++) {
        cr_assert(batch_transition(&b, evs[i]));
        cr_assert_eq(b.state, want[i], "after event %zu: %s", i, batch_state_name(b.state));
    }
    cr_assert_not(batch_transition(&b, BATCH_EV_PUBLISHED), "published while it still holds messages");
    cr_assert_not(batch_abandon(&b), "a committed batch's answers are due");
    cr_assert_eq(released, 0);
}

Test(batch, a_begun_batch_cannot_be_dropped_or_take_messages) {
    add(order(0, 0, "o1", "a", 1));
    batch_parse(&b);
    batch_plan(&b, &parts, dedup, 0, NULL);
    cr_assert(batch_transition(&b, BATCH_EV_SEND_BEGIN));
    int32_t p0 = 0;
    cr_assert_not(batch_drop(&b, &p0, 1), "a rebalance must not drop a begun batch");
    cr_assert_not(batch_drop(&b, NULL, 0));
    rd_kafka_message_t *late = order(0, 1, "o2", "a", 1);
    cr_assert_not(batch_add(&b, late, 0));
    release(late);
    cr_assert_eq(b.len, 1);
    cr_assert_eq(b.state, BATCH_BEGUN);
}

Test(batch, retry_goes_back_to_planned_from_every_store_state) {
    const batch_state from[] = {BATCH_BEGUN, BATCH_LOCKED, BATCH_COMMITTING};
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(batch_next_state(from[i], BATCH_EV_RETRY, 1), BATCH_PLANNED, "%s", batch_state_name(from[i]));
    cr_assert_eq(batch_next_state(BATCH_COMMITTED, BATCH_EV_RETRY, 1), BATCH_STATE_COUNT);
    cr_assert_eq(batch_next_state(BATCH_PARSED, BATCH_EV_RETRY, 1), BATCH_STATE_COUNT);
}

Test(batch, only_the_listed_transitions_are_allowed) {
    /* Every (state, event) pair: count the allowed ones against the diagram
     * in batch.h, so an added or lost edge shows up here. */
    int allowed = 0;
    for (int s = 0; s < BATCH_STATE_COUNT; s++)
        for (int e = 0; e < BATCH_EVENT_COUNT; e++)
            if (batch_next_state((batch_state)s, (batch_event)e, 1) != BATCH_STATE_COUNT) allowed++;
    /* EMPTY: add drop; COLLECTING: add parse drop; PARSED: add plan drop;
     * PLANNED: add plan send_begin drop; BEGUN: read_begin retry; LOCKED:
     * send_commit retry; COMMITTING: read_commit retry; COMMITTED: none with
     * messages left. Plus abandon from the 7 states before COMMITTED and
     * fail from all 9. */
    cr_assert_eq(allowed, 2 + 3 + 3 + 4 + 2 + 2 + 2 + 0 + 7 + 9);
    cr_assert_eq(batch_next_state(BATCH_COMMITTED, BATCH_EV_PUBLISHED, 0), BATCH_EMPTY);
    cr_assert_eq(batch_next_state(BATCH_EMPTY, BATCH_EV_SEND_BEGIN, 0), BATCH_STATE_COUNT);
    cr_assert_eq(batch_next_state(BATCH_PARSED, BATCH_EV_SEND_BEGIN, 1), BATCH_STATE_COUNT, "not planned");
    cr_assert_eq(batch_next_state(BATCH_FAILED, BATCH_EV_ABANDON, 0), BATCH_STATE_COUNT);
}

Test(batch, revocation_mid_batch_drops_only_the_revoked_partitions) {
    add(order(0, 0, "o1", "a", 1));
    add(order(1, 0, "o2", "b", 1));
    add(order(0, 1, "o3", "a", 1));
    batch_parse(&b);
    batch_plan(&b, &parts, dedup, 0, NULL);
    add(order(1, 1, "o4", "b", 1)); /* arrives after planning */
    cr_assert_eq(b.state, BATCH_COLLECTING, "a plan covers only the messages it was made for");
    int32_t revoked = 0;
    cr_assert(batch_drop(&b, &revoked, 1));
    cr_assert_eq(released, 2);
    cr_assert_eq(b.len, 2);
    cr_assert_eq(b.n_parsed, 1, "the kept parsed message stays parsed");
    cr_assert_str_eq(b.entries[0].order.order_id, "o2");
    cr_assert_eq(b.state, BATCH_COLLECTING);
    cr_assert(batch_parse(&b));
    cr_assert_str_eq(b.entries[1].order.order_id, "o4");
    int32_t other = 1;
    cr_assert(batch_drop(&b, &other, 1));
    cr_assert_eq(b.state, BATCH_EMPTY);
}

Test(batch, abandon_releases_everything) {
    add(order(0, 0, "o1", "a", 1));
    add(order(0, 1, "o2", "a", 1));
    batch_parse(&b);
    batch_plan(&b, &parts, dedup, 0, NULL);
    batch_transition(&b, BATCH_EV_SEND_BEGIN);
    cr_assert(batch_abandon(&b));
    cr_assert_eq(released, 2);
    cr_assert_eq(b.len, 0);
    cr_assert_eq(b.state, BATCH_EMPTY);
}

Test(batch, a_full_batch_takes_no_more) {
    for (int i = 0; i < 8; i++) add(order(0, i, "o", "a", 1));
    rd_kafka_message_t *extra = order(0, 8, "o", "a", 1);
    cr_assert_not(batch_add(&b, extra, 0));
    release(extra);
    cr_assert(batch_full(&b));
}

/* ---- planning --------------------------------------------------------- */

Test(batch, plan_separates_replays_and_advances_each_partition) {
    store_position pos = {0, true, 5, 3}; /* decided below 5 */
    cr_assert(partition_table_apply(&parts, &pos));
    add(order(0, 3, "old-1", "a", 1));
    add(order(0, 4, "old-2", "b", 1));
    add(order(0, 5, "new-1", "a", 1));
    add(order(0, 6, "new-2", "c", 1));
    add(order(2, 0, "new-3", "a", 1));
    add(msg(0, 7, "a", "not json"));
    batch_parse(&b);
    cr_assert_eq(batch_plan(&b, &parts, dedup, 0, NULL), BATCH_PLAN_OK);
    cr_assert(b.entries[0].replay && b.entries[1].replay);
    cr_assert(!b.entries[2].replay && !b.entries[3].replay && !b.entries[4].replay);
    cr_assert_eq(b.n_items, 2, "items of new decisions only, each once: a, c");
    cr_assert_eq(b.n_ids, 5, "every readable order_id is looked up, replays too");
    cr_assert_eq(b.n_adv, 2);
    cr_assert_eq(b.advances[0].partition, 0);
    cr_assert(b.advances[0].stored);
    cr_assert_eq(b.advances[0].expected, 5);
    cr_assert_eq(b.advances[0].first_offset, 5);
    cr_assert_eq(b.advances[0].new_next, 8, "the invalid message at 7 is decided too");
    cr_assert_eq(b.advances[1].partition, 2);
    cr_assert_not(b.advances[1].stored);
    cr_assert_eq(b.advances[1].new_next, 1);
}

/* Item names and order_ids share the plan's dedup map; an order_id that is
 * also an item's name must still be looked up, or its earlier decision is
 * missed and the order decided twice. */
Test(batch, an_order_id_named_like_an_item_is_still_looked_up) {
    add(order(0, 0, "apple", "apple", 1));
    add(order(0, 1, "pear", "apple", 1));
    add(order(0, 2, "o-3", "pear", 1));
    batch_parse(&b);
    cr_assert_eq(batch_plan(&b, &parts, dedup, 0, NULL), BATCH_PLAN_OK);
    cr_assert_eq(b.n_items, 2, "apple and pear, once each");
    cr_assert_eq(b.n_ids, 3, "apple, pear and o-3 are looked up: %zu were", b.n_ids);
    bool has_apple = false, has_pear = false;
    for (size_t i = 0; i < b.n_ids; i++) {
        has_apple = has_apple || strcmp(b.order_ids[i], "apple") == 0;
        has_pear = has_pear || strcmp(b.order_ids[i], "pear") == 0;
    }
    cr_assert(has_apple && has_pear);
}

Test(batch, plan_of_replays_only_advances_nothing) {
    store_position pos = {0, true, 10, 0};
    partition_table_apply(&parts, &pos);
    add(order(0, 8, "o8", "a", 1));
    add(order(0, 9, "o9", "a", 1));
    batch_parse(&b);
    cr_assert_eq(batch_plan(&b, &parts, dedup, 0, NULL), BATCH_PLAN_OK);
    cr_assert_eq(b.n_adv, 0);
    cr_assert_eq(b.n_items, 0);
}

Test(batch, plan_marks_misrouted_keys) {
    /* With 8 partitions murmur2 puts "item-00000" in one partition only:
     * the same order read from all 8 is misrouted in 7 of them. */
    for (int32_t p = 0; p < 8; p++) add(order(p, 0, "o", "item-00000", 1));
    batch_parse(&b);
    cr_assert_eq(batch_plan(&b, &parts, dedup, 8, NULL), BATCH_PLAN_OK);
    int n = 0;
    for (size_t i = 0; i < b.len; i++) n += b.entries[i].misrouted;
    cr_assert_eq(n, 7);
}

/* ---- deciding ---------------------------------------------------------- */

static void lock(void) {
    batch_parse(&b);
    cr_assert_eq(batch_plan(&b, &parts, dedup, 0, NULL), BATCH_PLAN_OK);
    cr_assert(batch_transition(&b, BATCH_EV_SEND_BEGIN));
    cr_assert(batch_transition(&b, BATCH_EV_READ_BEGIN));
}

Test(batch, decide_in_log_order_and_collect_new_decisions) {
    ol_decider *d = ol_decider_new();
    ol_decider_set_stock(d, "a", (ol_stock){true, 5});
    add(order(0, 0, "o1", "a", 3));
    add(order(0, 1, "o2", "a", 3)); /* the second of two racing customers */
    add(order(0, 2, "o1", "a", 3)); /* a client retry */
    add(msg(0, 3, "a", "{\"order_id\":\"bad\",\"item\":\"a\",\"quantity\":0}"));
    add(msg(0, 4, NULL, "junk"));
    lock();
    cr_assert(batch_decide(&b, d, 1000));
    cr_assert_eq(b.entries[0].result.status, OL_STATUS_ACCEPTED);
    cr_assert_eq(b.entries[1].result.status, OL_STATUS_REJECTED);
    cr_assert_eq(b.entries[1].result.reason, OL_REASON_INSUFFICIENT_STOCK);
    cr_assert(b.entries[2].result.duplicate);
    cr_assert(b.entries[3].answered, "an invalid order with a readable order_id gets an answer");
    cr_assert_eq(b.entries[3].result.reason, OL_REASON_INVALID);
    cr_assert_not(b.entries[4].answered, "nothing to answer to: DLQ only");
    cr_assert_eq(b.n_new, 2, "o1 and o2; the duplicate is not a new decision");
    ol_decider_destroy(d);
}

Test(batch, a_replay_without_a_ledger_row_is_never_decided_again) {
    store_position pos = {0, true, 1, 0};
    partition_table_apply(&parts, &pos);
    ol_decider *d = ol_decider_new();
    add(order(0, 0, "edited-away", "a", 1));
    lock();
    cr_assert(batch_decide(&b, d, 1000));
    cr_assert(b.entries[0].unrecorded);
    cr_assert_not(b.entries[0].answered);
    cr_assert_eq(b.n_new, 0);
    ol_decider_destroy(d);
}

Test(batch, decide_needs_the_locks) {
    ol_decider *d = ol_decider_new();
    add(order(0, 0, "o1", "a", 1));
    batch_parse(&b);
    cr_assert_not(batch_decide(&b, d, 1000), "deciding before round trip 1 was read");
    ol_decider_destroy(d);
}

/* ---- metrics classification ------------------------------------------- */

Test(batch, every_answer_is_counted_once_in_its_class) {
    ol_metrics m;
    ol_metrics_init(&m);
    batch_entry e = {.valid = true, .answered = true};
    e.result.status = OL_STATUS_ACCEPTED;
    batch_count_answer(&e, &m);
    e.result.status = OL_STATUS_REJECTED;
    e.result.reason = OL_REASON_INSUFFICIENT_STOCK;
    batch_count_answer(&e, &m);
    e.result.reason = OL_REASON_UNKNOWN_ITEM;
    batch_count_answer(&e, &m);
    e.result.reason = OL_REASON_INVALID; /* an overflowing restock */
    batch_count_answer(&e, &m);
    e.result.duplicate = true;
    batch_count_answer(&e, &m);
    e.replay = true;
    batch_count_answer(&e, &m);
    batch_entry invalid = {.valid = false, .answered = true};
    batch_count_answer(&invalid, &m);
    batch_entry unreadable = {.valid = false, .answered = false};
    batch_count_answer(&unreadable, &m);
    cr_assert_eq(m.accepted, 1);
    cr_assert_eq(m.rejected_insufficient_stock, 1);
    cr_assert_eq(m.rejected_unknown_item, 1);
    cr_assert_eq(m.rejected_invalid, 2);
    cr_assert_eq(m.duplicates, 1);
    cr_assert_eq(m.replayed, 1);
    cr_assert_eq(m.dlq, 2);
}

Test(batch, span_ends_per_partition) {
    add(order(0, 4, "a", "a", 1));
    add(order(2, 9, "b", "b", 1));
    add(order(0, 5, "c", "a", 1));
    int64_t ends[4];
    batch_span_ends(&b, ends, 4);
    cr_assert_eq(ends[0], 6);
    cr_assert_eq(ends[1], -1);
    cr_assert_eq(ends[2], 10);
    cr_assert_eq(ends[3], -1);
}

/* ---- a held-back message across a resync ------------------------------ */

/* The pipeline's accept step: the fetch's own account of each message. */
static bool fetched(rd_kafka_message_t *m, int64_t *stream_prev) {
    if (partition_table_accept(&parts, m->partition, m->offset, stream_prev)) return true;
    release(m);
    return false;
}

static void fetch_into_batch(int32_t p, int64_t from, int64_t to) {
    for (int64_t o = from; o <= to; o++) {
        char id[32];
        snprintf(id, sizeof id, "o%lld", (long long)o);
        rd_kafka_message_t *m = order(p, o, id, "a", 1);
        int64_t prev;
        if (fetched(m, &prev)) cr_assert(batch_add(&b, m, prev));
    }
}

/* Issue 21 item 1, the sequence as the pipeline ran it: a message held back
 * (its lane full) is taken after a resync lowered the fetch position, and
 * the re-read offsets below it are dropped as stale. On the code before the
 * fix this plan advanced partition 0 from 10 with first offset 13. The
 * pipeline now drops the held-back message with the batches; the plan
 * refuses what would still skip offsets. */
Test(batch, a_stray_from_before_a_resync_never_advances_past_unread_offsets) {
    store_position pos = {.partition = 0, .stored = true, .next_offset = 10, .results_offset = 10};
    cr_assert(partition_table_apply(&parts, &pos));
    parts.parts[0].assigned = true;
    int64_t stray_prev, prev;
    for (int64_t o = 10; o <= 12; o++) cr_assert(partition_table_accept(&parts, 0, o, &prev));
    rd_kafka_message_t *stray = order(0, 13, "o13", "a", 1);
    cr_assert(fetched(stray, &stray_prev));         /* its lane was full: held back */
    cr_assert(partition_table_apply(&parts, &pos)); /* a resync: fetching again from 10 */
    cr_assert(batch_add(&b, stray, stray_prev));
    fetch_into_batch(0, 10, 13);
    cr_assert_eq(b.len, 5, "the stray, then 10..13 fetched again");
    cr_assert(batch_parse(&b));
    batch_gap gap;
    cr_assert_eq(batch_plan(&b, &parts, dedup, 0, &gap), BATCH_PLAN_GAP);
    cr_assert_eq(b.n_adv, 0, "nothing advances");
    cr_assert_eq(b.state, BATCH_PARSED);
    cr_assert_eq(gap.partition, 0);
    cr_assert_eq(gap.decided, 10);
    cr_assert_eq(gap.first_new, 13);
    cr_assert_eq(gap.stream_prev, 13, "the fetch before the resync vouched from 13 only");
}

Test(batch, a_gap_the_fetch_shows_empty_is_planned) {
    /* Offsets 10 and 11 are control records of a transaction: the first
     * message fetched from 10 is 12. */
    store_position pos = {.partition = 0, .stored = true, .next_offset = 10, .results_offset = 10};
    cr_assert(partition_table_apply(&parts, &pos));
    parts.parts[0].assigned = true;
    fetch_into_batch(0, 12, 13);
    cr_assert(batch_parse(&b));
    cr_assert_eq(batch_plan(&b, &parts, dedup, 0, NULL), BATCH_PLAN_OK);
    cr_assert_eq(b.n_adv, 1);
    cr_assert_eq(b.advances[0].expected, 10);
    cr_assert_eq(b.advances[0].first_offset, 12);
    cr_assert_eq(b.advances[0].new_next, 14);
}

Test(batch, a_new_partition_starts_wherever_its_log_begins) {
    /* No stored row: fetched from the log's start, wherever retention left it. */
    store_position pos = {.partition = 0, .stored = false};
    cr_assert(partition_table_apply(&parts, &pos));
    parts.parts[0].assigned = true;
    fetch_into_batch(0, 500, 501);
    cr_assert(batch_parse(&b));
    cr_assert_eq(batch_plan(&b, &parts, dedup, 0, NULL), BATCH_PLAN_OK);
    cr_assert_eq(b.advances[0].first_offset, 500);
}

Test(batch, re_reads_then_new_messages_follow_the_position) {
    /* Answers acknowledged up to 8, decided up to 10: 8 and 9 are re-read. */
    store_position pos = {.partition = 0, .stored = true, .next_offset = 10, .results_offset = 8};
    cr_assert(partition_table_apply(&parts, &pos));
    parts.parts[0].assigned = true;
    fetch_into_batch(0, 8, 11);
    cr_assert(batch_parse(&b));
    cr_assert_eq(batch_plan(&b, &parts, dedup, 0, NULL), BATCH_PLAN_OK);
    cr_assert_eq(b.advances[0].first_offset, 10);
}

#include "batch.h"

#include <stdlib.h>
#include <string.h>

#include "murmur2.h"
#include "ol_decide.h"

static const char *const state_names[BATCH_STATE_COUNT] = {"empty",  "collecting", "parsed",    "planned", "begun",
                                                           "locked", "committing", "committed", "failed"};

const char *batch_state_name(batch_state s) { return s < BATCH_STATE_COUNT ? state_names[s] : "?"; }

static batch_state after_drop(batch_state kept, size_t after_len) { return after_len ? kept : BATCH_EMPTY; }

batch_state batch_next_state(batch_state s, batch_event ev, size_t after_len) {
    const batch_state no = BATCH_STATE_COUNT;
    if (ev == BATCH_EV_FAIL) return BATCH_FAILED;
    if (ev == BATCH_EV_ABANDON) return s == BATCH_COMMITTED || s == BATCH_FAILED ? no : BATCH_EMPTY;
    switch (s) {
    case BATCH_EMPTY:
        return ev == BATCH_EV_ADD ? BATCH_COLLECTING : ev == BATCH_EV_DROP ? BATCH_EMPTY : no;
    case BATCH_COLLECTING:
        if (ev == BATCH_EV_ADD) return BATCH_COLLECTING;
        if (ev == BATCH_EV_PARSE) return BATCH_PARSED;
        return ev == BATCH_EV_DROP ? after_drop(BATCH_COLLECTING, after_len) : no;
    case BATCH_PARSED:
    case BATCH_PLANNED: /* a plan is only good for the messages it was made for */
        if (ev == BATCH_EV_ADD) return BATCH_COLLECTING;
        if (ev == BATCH_EV_PLAN) return BATCH_PLANNED;
        if (ev == BATCH_EV_SEND_BEGIN && s == BATCH_PLANNED) return BATCH_BEGUN;
        return ev == BATCH_EV_DROP ? after_drop(BATCH_PARSED, after_len) : no;
    case BATCH_BEGUN:
        return ev == BATCH_EV_READ_BEGIN ? BATCH_LOCKED : ev == BATCH_EV_RETRY ? BATCH_PLANNED : no;
    case BATCH_LOCKED:
        return ev == BATCH_EV_SEND_COMMIT ? BATCH_COMMITTING : ev == BATCH_EV_RETRY ? BATCH_PLANNED : no;
    case BATCH_COMMITTING:
        return ev == BATCH_EV_READ_COMMIT ? BATCH_COMMITTED : ev == BATCH_EV_RETRY ? BATCH_PLANNED : no;
    case BATCH_COMMITTED:
        return ev == BATCH_EV_PUBLISHED && after_len == 0 ? BATCH_EMPTY : no;
    default:
        return no;
    }
}

bool batch_transition(batch *b, batch_event ev) {
    batch_state next = batch_next_state(b->state, ev, b->len);
    if (next == BATCH_STATE_COUNT) return false;
    b->state = next;
    if (next == BATCH_EMPTY) b->attempts = 0; /* a batch's retries count until its messages go */
    return true;
}

bool batch_init(batch *b, size_t cap, size_t acks_cap, batch_release_fn release) {
    memset(b, 0, sizeof *b);
    b->cap = cap;
    b->acks_cap = acks_cap;
    b->release = release;
    b->entries = calloc(cap, sizeof *b->entries);
    b->items = calloc(cap, sizeof *b->items);
    b->order_ids = calloc(2 * cap, sizeof *b->order_ids); /* each entry's id, and a follow-up's target */
    b->advances = calloc(cap, sizeof *b->advances);
    b->acks = calloc(acks_cap, sizeof *b->acks);
    b->decisions = calloc(cap, sizeof *b->decisions);
    return b->entries && b->items && b->order_ids && b->advances && b->acks && b->decisions;
}

static void release_all(batch *b) {
    for (size_t i = 0; i < b->len; i++) b->release(b->entries[i].msg);
    b->len = b->n_parsed = 0;
}

void batch_free(batch *b) {
    if (b->entries) release_all(b);
    free(b->entries);
    free(b->items);
    free(b->order_ids);
    free(b->advances);
    free(b->acks);
    free(b->decisions);
    memset(b, 0, sizeof *b);
}

bool batch_full(const batch *b) { return b->len >= b->cap; }

bool batch_add(batch *b, rd_kafka_message_t *msg, int64_t stream_prev) {
    if (batch_full(b) || batch_next_state(b->state, BATCH_EV_ADD, b->len + 1) == BATCH_STATE_COUNT) return false;
    memset(&b->entries[b->len], 0, sizeof b->entries[0]);
    b->entries[b->len].stream_prev = stream_prev;
    b->entries[b->len++].msg = msg;
    return batch_transition(b, BATCH_EV_ADD);
}

static bool listed(const int32_t *only, size_t n_only, int32_t partition) {
    for (size_t j = 0; j < n_only; j++)
        if (only[j] == partition) return true;
    return false;
}

bool batch_drop(batch *b, const int32_t *only, size_t n_only) {
    if (batch_next_state(b->state, BATCH_EV_DROP, 0) == BATCH_STATE_COUNT) return false;
    size_t kept = 0, kept_parsed = 0;
    for (size_t i = 0; i < b->len; i++) {
        if (!only || listed(only, n_only, b->entries[i].msg->partition)) {
            b->release(b->entries[i].msg);
            continue;
        }
        if (i < b->n_parsed) kept_parsed++;
        b->entries[kept++] = b->entries[i];
    }
    b->len = kept;
    b->n_parsed = kept_parsed;
    return batch_transition(b, BATCH_EV_DROP);
}

void batch_set_timestamps(batch *b, batch_timestamp_fn timestamp) { b->timestamp = timestamp; }

bool batch_abandon(batch *b) {
    if (batch_next_state(b->state, BATCH_EV_ABANDON, 0) == BATCH_STATE_COUNT) return false;
    release_all(b);
    return batch_transition(b, BATCH_EV_ABANDON);
}

bool batch_published(batch *b) {
    if (b->state != BATCH_COMMITTED) return false;
    release_all(b);
    return batch_transition(b, BATCH_EV_PUBLISHED);
}

bool batch_parse(batch *b) {
    if (b->state != BATCH_COLLECTING) return true; /* nothing new */
    for (size_t i = b->n_parsed; i < b->len; i++) {
        batch_entry *e = &b->entries[i];
        e->answered = false;
        e->valid = ol_order_parse(e->msg->payload, e->msg->len, e->msg->key, e->msg->key_len, &e->order,
                                  e->result.error, sizeof e->result.error);
    }
    b->n_parsed = b->len;
    return batch_transition(b, BATCH_EV_PARSE);
}

/* Adds s to arr unless the batch already has it there. Items and
 * order_ids share the dedup map, so its value says which list holds the
 * string: an order_id spelled like an item is still looked up, and the
 * other way round. */
enum { DEDUP_ITEM = 1, DEDUP_ORDER_ID = 2 };
static bool add_distinct(ol_map *dedup, uintptr_t list, const char **arr, size_t *n, const char *s) {
    uintptr_t in = (uintptr_t)ol_map_get(dedup, s);
    if (in & list) return true;
    if (!ol_map_put(dedup, s, (void *)(in | list))) return false;
    arr[(*n)++] = s;
    return true;
}

static bool misrouted(const batch_entry *e, int32_t topic_partitions) {
    if (topic_partitions <= 0 || !e->msg->key || e->msg->key_len == 0) return false;
    return ol_murmur2_partition(e->msg->key, e->msg->key_len, topic_partitions) != e->msg->partition;
}

/* The first new message of each partition must follow its stored
 * position: at it, or past offsets the fetch showed to be empty. */
static bool find_gap(const batch *b, const partition_table *t, batch_gap *gap) {
    for (size_t i = 0; i < b->len; i++) {
        const batch_entry *e = &b->entries[i];
        const partition_state *ps = &t->parts[e->msg->partition];
        if (e->msg->offset != ps->first_new || e->stream_prev <= ps->decided) continue;
        if (gap) *gap = (batch_gap){e->msg->partition, ps->decided, ps->first_new, e->stream_prev};
        return true;
    }
    return false;
}

/* Marks re-reads, finds each partition's first new and last offsets, and
 * lists the items and order_ids round trip 1 needs. */
static bool plan_entries(batch *b, partition_table *t, ol_map *dedup, int32_t topic_partitions) {
    for (size_t p = 0; p < t->n; p++) t->parts[p].first_new = -1;
    for (size_t i = 0; i < b->len; i++) {
        batch_entry *e = &b->entries[i];
        partition_state *ps = &t->parts[e->msg->partition];
        e->replay = e->msg->offset < ps->decided;
        ps->last = e->msg->offset;
        if (!e->replay && ps->first_new < 0) ps->first_new = e->msg->offset;
        e->misrouted = e->valid && !e->replay && misrouted(e, topic_partitions);
        if (!e->valid) continue;
        if (!e->replay && !add_distinct(dedup, DEDUP_ITEM, b->items, &b->n_items, e->order.item)) return false;
        if (!add_distinct(dedup, DEDUP_ORDER_ID, b->order_ids, &b->n_ids, e->order.order_id)) return false;
        /* A follow-up needs its target's decision and life, from the ledger
         * when an earlier batch decided it. */
        if (e->order.target[0] && !add_distinct(dedup, DEDUP_ORDER_ID, b->order_ids, &b->n_ids, e->order.target))
            return false;
    }
    return true;
}

batch_plan_result batch_plan(batch *b, partition_table *t, ol_map *dedup, int32_t topic_partitions, batch_gap *gap) {
    if (b->state != BATCH_PARSED && b->state != BATCH_PLANNED) return BATCH_PLAN_OOM;
    ol_map_clear(dedup);
    b->n_items = b->n_ids = b->n_adv = 0;
    for (size_t i = 0; i < b->len; i++) /* grow first: the reset below must cover every partition */
        if (!partition_table_get(t, b->entries[i].msg->partition)) return BATCH_PLAN_OOM;
    if (!plan_entries(b, t, dedup, topic_partitions)) return BATCH_PLAN_OOM;
    if (find_gap(b, t, gap)) return BATCH_PLAN_GAP;
    for (size_t p = 0; p < t->n; p++) {
        partition_state *ps = &t->parts[p];
        if (ps->first_new < 0) continue;
        b->advances[b->n_adv++] = (store_advance){(int32_t)p, ps->stored, ps->decided, ps->first_new, ps->last + 1};
    }
    return batch_transition(b, BATCH_EV_PLAN) ? BATCH_PLAN_OK : BATCH_PLAN_OOM;
}

bool batch_decide(batch *b, ol_decider *decider, int64_t now_us) {
    if (b->state != BATCH_LOCKED) return false;
    b->n_new = 0;
    for (size_t i = 0; i < b->len; i++) {
        batch_entry *e = &b->entries[i];
        e->answered = e->unrecorded = false;
        if (!e->valid) {
            if (!e->order.order_id[0]) continue; /* nothing to answer to: DLQ only */
            ol_decide_invalid(e->order.order_id, e->msg->partition, e->msg->offset, now_us, e->result.error,
                              &e->result);
            e->answered = true;
            continue;
        }
        if (e->replay && !ol_decider_find(decider, e->order.order_id)) {
            /* Below the stored position yet absent from the ledger: only a
             * hand edit can do this. Never decide twice. */
            e->unrecorded = true;
            continue;
        }
        ol_decided_kind kind;
        /* Deadlines count from the log's own timestamp, so a replay (the
         * audit's) decides holds and expires as this did. */
        int64_t log_ts_ms = b->timestamp ? b->timestamp(e->msg) : -1;
        if (log_ts_ms < 0) log_ts_ms = now_us / 1000;
        if (!ol_decider_decide_at(decider, &e->order, e->msg->partition, e->msg->offset, log_ts_ms, now_us, &e->result,
                                  &kind))
            return false;
        e->answered = true;
        if (kind == OL_DECIDED_NEW) b->decisions[b->n_new++] = &e->result;
    }
    return true;
}

void batch_count_answer(const batch_entry *e, ol_metrics *m) {
    if (!e->valid) m->dlq++;
    if (!e->answered) return;
    if (e->replay) m->replayed++;
    else if (!e->valid) m->rejected_invalid++;
    else if (e->result.duplicate) m->duplicates++;
    else if (e->result.status == OL_STATUS_ACCEPTED) m->accepted++;
    else if (e->result.status == OL_STATUS_HELD) m->held++;
    else if (e->result.reason >= OL_REASON_NOT_HELD && e->result.reason <= OL_REASON_ALREADY_CANCELLED)
        m->rejected_followup[e->result.reason - OL_REASON_NOT_HELD]++;
    else if (e->result.reason == OL_REASON_INSUFFICIENT_STOCK) m->rejected_insufficient_stock++;
    else if (e->result.reason == OL_REASON_UNKNOWN_ITEM) m->rejected_unknown_item++;
    else m->rejected_invalid++;
}

void batch_span_ends(const batch *b, int64_t *ends, size_t n) {
    for (size_t p = 0; p < n; p++) ends[p] = -1;
    for (size_t i = 0; i < b->len; i++) {
        const rd_kafka_message_t *m = b->entries[i].msg;
        if (m->partition >= 0 && (size_t)m->partition < n) ends[m->partition] = m->offset + 1;
    }
}

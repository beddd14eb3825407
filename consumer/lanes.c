#include "lanes.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ol_log.h"
#include "ol_str.h"

#define MAX_ATTEMPTS 20  /* per batch, for transient conflicts */
#define RETRY_STEP_MS 50 /* a rolled-back batch waits this times its attempts */

static void release_message(rd_kafka_message_t *msg) { rd_kafka_message_destroy(msg); }
static int64_t message_timestamp(const rd_kafka_message_t *msg) { return rd_kafka_message_timestamp(msg, NULL); }

bool lane_init(lane *ln, size_t index, const char *db, const char *topic, size_t batch_cap, size_t acks_cap,
               const lane_env *env, char *err, size_t errlen) {
    memset(ln, 0, sizeof *ln);
    ln->index = index;
    ln->env = env;
    ln->collecting = &ln->slots[0];
    ln->flight = &ln->slots[1];
    if (!batch_init(&ln->slots[0], batch_cap, acks_cap, release_message) ||
        !batch_init(&ln->slots[1], batch_cap, acks_cap, release_message)) {
        ol_seterr(err, errlen, "out of memory");
        return false;
    }
    batch_set_timestamps(&ln->slots[0], message_timestamp);
    batch_set_timestamps(&ln->slots[1], message_timestamp);
    ln->store = order_store_new(db, topic, err, errlen);
    return ln->store != NULL;
}

void lane_free(lane *ln) {
    batch_free(&ln->slots[0]);
    batch_free(&ln->slots[1]);
    order_store_destroy(ln->store);
    ln->store = NULL;
}

bool lane_in_flight(const lane *ln) { return ln->flight && ln->flight->state == BATCH_COMMITTING; }

bool lanes_any_in_flight(const lane *lanes, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (lane_in_flight(&lanes[i])) return true;
    return false;
}

/* A rolled-back batch still in the flight slot (its commit failed). */
static bool redo_in_flight_slot(const lane *ln) {
    return ln->flight->state == BATCH_PLANNED || ln->flight->state == BATCH_PARSED;
}

int64_t lane_retry_at(const lane *ln) {
    if (redo_in_flight_slot(ln)) return ln->flight->retry_at_ms;
    const batch *c = ln->collecting;
    return c->attempts > 0 && c->len > 0 ? c->retry_at_ms : -1;
}

batch *lane_next(lane *ln, int64_t now_ms) {
    int64_t at = lane_retry_at(ln);
    if (at >= 0 && now_ms < at) return NULL;
    if (redo_in_flight_slot(ln)) return ln->flight; /* goes before anything collected after it */
    return ln->collecting->len > 0 ? ln->collecting : NULL;
}

void lane_drop(lane *ln, const int32_t *only, size_t n_only) {
    batch_drop(ln->collecting, only, n_only); /* refused once begun */
    if (redo_in_flight_slot(ln)) batch_drop(ln->flight, only, n_only);
}

store_status lane_send_begin(lane *ln, batch *b, char *why, size_t whylen) {
    if (!batch_transition(b, BATCH_EV_SEND_BEGIN)) return STORE_OK; /* lane_start reports the bug */
    const lane_env *env = ln->env;
    b->t_start = ol_now_us();
    ack_filter mine = {.lane = ln->index, .n_lanes = env->n_lanes};
    b->n_acks = partition_table_collect_acks(env->parts, &mine, result_sink_acked_cb, env->sink, b->acks, b->acks_cap);
    return order_store_send_begin(ln->store, b->advances, b->n_adv, b->acks, b->n_acks, b->items, b->n_items,
                                  b->order_ids, b->n_ids, why, whylen);
}

/* A failed round trip: FENCED and BROKEN drop the batch and go up; a
 * conflict rolls it back to PLANNED with a retry time (LANE_OK) until
 * MAX_ATTEMPTS; out of memory fails at once. */
static lane_result fail_round_trip(lane *ln, batch *b, store_status st, const char *why, char *err, size_t errlen) {
    if (st == STORE_FATAL) {
        batch_transition(b, BATCH_EV_FAIL);
        ol_seterr(err, errlen, "%s", why);
        return LANE_FAILED;
    }
    ln->env->metrics->postgres_errors++;
    if (st != STORE_RETRY) {
        batch_abandon(b);
        return st == STORE_FENCED ? LANE_FENCED : LANE_BROKEN;
    }
    ln->env->metrics->retries++;
    b->attempts++;
    ol_warn("batch rolled back (attempt %d of %d): %s", b->attempts, MAX_ATTEMPTS, why);
    if (b->attempts >= MAX_ATTEMPTS) {
        batch_transition(b, BATCH_EV_FAIL);
        ol_seterr(err, errlen, "batch failed %d times, last: %s", b->attempts, why);
        return LANE_FAILED;
    }
    b->retry_at_ms = ol_monotonic_ms() + RETRY_STEP_MS * b->attempts;
    batch_transition(b, BATCH_EV_RETRY);
    return LANE_OK;
}

/* Logs re-reads below the stored position that have no decision in the
 * ledger: only a hand edit can do this. Never decided twice; said loudly. */
static void report_decided(lane *ln, const batch *b) {
    for (size_t i = 0; i < b->len; i++) {
        const batch_entry *e = &b->entries[i];
        if (e->unrecorded)
            ol_log_kv(OL_LOG_ERROR,
                      OL_LOG_FIELDS(OL_LOG_INT("partition", e->msg->partition), OL_LOG_INT("offset", e->msg->offset),
                                    OL_LOG_STR("order_id", e->order.order_id)),
                      "partition %d offset %" PRId64 ": order '%s' is below the stored position but has no row in"
                      " orders; not deciding it again",
                      e->msg->partition, e->msg->offset, e->order.order_id);
    }
}

/* Round trip 1's answer, the decisions and round trip 2's send. */
static store_status lock_and_decide(lane *ln, batch *b, store_status st, char *why, size_t whylen, bool *oom) {
    const lane_env *env = ln->env;
    int64_t t0 = ol_now_us();
    int32_t fenced = -1;
    if (st == STORE_OK) {
        ol_decider_clear(env->decider);
        st = order_store_finish_begin(ln->store, env->decider, &fenced, why, whylen);
    }
    b->t_locked = ol_now_us();
    probes_add(env->probes, PROBE_WAIT1, b->t_locked - t0);
    if (st != STORE_OK) return st;
    batch_transition(b, BATCH_EV_READ_BEGIN);
    probes_pass(env->probes, FAILPOINT_STOP_IN_TRANSACTION);
    if (!batch_decide(b, env->decider, ol_now_us())) {
        *oom = true;
        return STORE_OK;
    }
    report_decided(ln, b);
    b->t_decided = ol_now_us();
    st = order_store_send_commit(ln->store, b->decisions, b->n_new, env->decider, why, whylen);
    b->t_sent = ol_now_us();
    probes_add(env->probes, PROBE_DECIDE, b->t_decided - b->t_locked);
    probes_add(env->probes, PROBE_SEND2, b->t_sent - b->t_decided);
    if (st == STORE_OK) batch_transition(b, BATCH_EV_SEND_COMMIT);
    return st;
}

/* The batch in flight becomes b: the lane's collecting slot swaps. */
static bool take_flight(lane *ln, batch *b) {
    if (b == ln->flight) return true;
    if (ln->flight->state != BATCH_EMPTY) return false;
    ln->flight = b;
    ln->collecting = b == &ln->slots[0] ? &ln->slots[1] : &ln->slots[0];
    return true;
}

lane_result lane_start(lane *ln, batch *b, store_status sent, char *why, size_t whylen, char *err, size_t errlen) {
    if (b->state != BATCH_BEGUN) {
        batch_transition(b, BATCH_EV_FAIL);
        ol_seterr(err, errlen, "lane %zu: a batch in state %s cannot start", ln->index, batch_state_name(b->state));
        return LANE_FAILED;
    }
    bool oom = false;
    store_status st = lock_and_decide(ln, b, sent, why, whylen, &oom);
    if (oom) {
        batch_transition(b, BATCH_EV_FAIL);
        ol_seterr(err, errlen, "out of memory deciding a batch");
        return LANE_FAILED;
    }
    if (st != STORE_OK) return fail_round_trip(ln, b, st, why, err, errlen);
    if (take_flight(ln, b)) return LANE_OK;
    batch_transition(b, BATCH_EV_FAIL);
    ol_seterr(err, errlen, "lane %zu: a batch started while another was in flight", ln->index);
    return LANE_FAILED;
}

/* The debug line of a committed batch: where its time went, and the oldest
 * message's age from its broker timestamp (how much of an order's latency
 * is spent before this batch's commit returned). */
static void report_commit(const batch *b) {
    if (!ol_log_enabled(OL_LOG_DEBUG)) return;
    int64_t oldest = INT64_MAX, now = ol_now_us();
    for (size_t i = 0; i < b->len; i++) {
        int64_t ts = rd_kafka_message_timestamp(b->entries[i].msg, NULL);
        if (ts >= 0 && ts < oldest) oldest = ts;
    }
    ol_debug("batch of %zu messages: %zu new decisions, %zu items; us: lock+load %" PRId64 ", decide %" PRId64
             ", send %" PRId64 ", commit wait %" PRId64 "; oldest message %" PRId64 " ms old",
             b->len, b->n_new, b->n_items, b->t_locked - b->t_start, b->t_decided - b->t_locked,
             b->t_sent - b->t_decided, now - b->t_sent, oldest == INT64_MAX ? -1 : now / 1000 - oldest);
}

lane_result lane_settle(lane *ln, bool *committed, char *why, size_t whylen, char *err, size_t errlen) {
    const lane_env *env = ln->env;
    batch *b = ln->flight;
    *committed = false;
    if (b->state != BATCH_COMMITTING) return LANE_OK; /* nothing in flight */
    int64_t t0 = ol_now_us();
    store_status st = order_store_finish_commit(ln->store, why, whylen);
    probes_add(env->probes, PROBE_SETTLE, ol_now_us() - t0);
    if (st != STORE_OK) return fail_round_trip(ln, b, st, why, err, errlen);
    batch_transition(b, BATCH_EV_READ_COMMIT);
    probes_pass(env->probes, FAILPOINT_CRASH_AFTER_COMMIT);
    partition_table_commit(env->parts, b->advances, b->n_adv, b->acks, b->n_acks);
    ol_histogram_observe(&env->metrics->batch_size, (double)b->len);
    ol_histogram_observe(&env->metrics->batch_seconds, (double)(ol_now_us() - b->t_start) / 1e6);
    report_commit(b);
    *committed = true;
    return LANE_OK;
}

bool lane_publish(lane *ln, char *err, size_t errlen) {
    return publisher_publish(ln->env->pub, ln->flight, ln->env->parts->n, err, errlen);
}

lane_result lane_finish(lane *ln, bool *committed, char *why, size_t whylen, char *err, size_t errlen) {
    lane_result r = lane_settle(ln, committed, why, whylen, err, errlen);
    if (r == LANE_OK && *committed && !lane_publish(ln, err, errlen)) return LANE_FAILED;
    return r;
}

#include "rebalance.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ol_backoff.h"
#include "ol_log.h"
#include "ol_str.h"

/* After a fence, how long a partition stays given up before we look again.
 * A zombie learns within this time that its assignment is lost; a rightful
 * owner fenced by a zombie's late commit takes the partition back. */
#define FENCE_BACKOFF_MS 3000
/* PostgreSQL outages: retried soon at first, then every 6.4 s. */
#define BACKOFF_FIRST_MS 200
#define BACKOFF_LIMIT_MS 6400
/* A new partition's oldest offset, asked of the broker for all at once. */
#define OLDEST_TIMEOUT_MS 5000

/* What a callback found and the loop must act on once it has returned. */
typedef enum { PENDING_NONE, PENDING_FENCE, PENDING_BROKEN } pending_kind;

struct rebalancer {
    rebalance_env env;
    order_source *source;
    partition_table parts;
    uint64_t generation;
    bool resync_needed; /* positions in doubt */
    int64_t resync_at;  /* not before then (monotonic ms) */
    ol_backoff resync_backoff;
    pending_kind pending;
    lane *pending_lane;
    char pending_why[512];
    bool failed; /* a callback met an error the process cannot go on with */
    char error[1024];
    bool ever_assigned, ever_owned;
    int64_t assigned_ms;
    store_ack *acks; /* scratch for save_acks */
    size_t acks_cap;
};

static void on_assign(void *ctx, rd_kafka_topic_partition_list_t *list);
static void on_revoke(void *ctx, const rd_kafka_topic_partition_list_t *list, bool lost);

rebalancer *rebalancer_new(const rebalance_env *env) {
    rebalancer *rb = calloc(1, sizeof *rb);
    if (!rb) return NULL;
    rb->env = *env;
    ol_backoff_init(&rb->resync_backoff, BACKOFF_FIRST_MS, BACKOFF_LIMIT_MS);
    return rb;
}

void rebalancer_destroy(rebalancer *rb) {
    if (!rb) return;
    partition_table_free(&rb->parts);
    free(rb->acks);
    free(rb);
}

void rebalancer_set_source(rebalancer *rb, order_source *source) { rb->source = source; }
order_source_listener rebalancer_listener(rebalancer *rb) { return (order_source_listener){rb, on_assign, on_revoke}; }
partition_table *rebalancer_table(rebalancer *rb) { return &rb->parts; }
uint64_t rebalancer_generation(const rebalancer *rb) { return rb->generation; }
bool rebalancer_resync_pending(const rebalancer *rb) { return rb->resync_needed; }
bool rebalancer_ever_assigned(const rebalancer *rb) { return rb->ever_assigned; }
bool rebalancer_ever_owned(const rebalancer *rb) { return rb->ever_owned; }
int64_t rebalancer_assigned_ms(const rebalancer *rb) { return rb->assigned_ms; }

bool rebalancer_accept(rebalancer *rb, int32_t partition, int64_t offset, int64_t *stream_prev) {
    return partition_table_accept(&rb->parts, partition, offset, stream_prev);
}

size_t rebalancer_owned(const rebalancer *rb, int32_t *out, size_t cap) {
    size_t n = 0;
    for (size_t p = 0; p < rb->parts.n && n < cap; p++)
        if (rb->parts.parts[p].assigned) out[n++] = (int32_t)p;
    return n;
}

static bool any_in_flight(const rebalancer *rb) { return lanes_any_in_flight(rb->env.lanes, rb->env.n_lanes); }

/* Records a callback's fatal error; the first one is kept. */
static void fail(rebalancer *rb, const char *why) {
    if (rb->failed) return;
    rb->failed = true;
    ol_seterr(rb->error, sizeof rb->error, "%s", why);
}

bool rebalancer_reconnect(rebalancer *rb, order_store *store) {
    ol_backoff backoff;
    ol_backoff_init(&backoff, BACKOFF_FIRST_MS, BACKOFF_LIMIT_MS);
    char err[1024];
    while (!*rb->env.stop) {
        if (order_store_reconnect(store, err, sizeof err)) {
            rb->env.metrics->postgres_reconnects++;
            ol_info("reconnected to PostgreSQL");
            return true;
        }
        int64_t wait = ol_backoff_next(&backoff);
        ol_warn("PostgreSQL unavailable, retrying in %" PRId64 " ms: %s", wait, err);
        ol_sleep_ms(wait);
    }
    return false;
}

/* The partitions of a list, malloc'd; NULL when out of memory. */
static int32_t *partition_ids(const rd_kafka_topic_partition_list_t *list) {
    int32_t *ids = calloc((size_t)list->cnt + 1, sizeof *ids);
    for (int i = 0; ids && i < list->cnt; i++) ids[i] = list->elems[i].partition;
    return ids;
}

/* Loads stored positions once: a failure leaves it to a resync. */
static store_status load_positions(rebalancer *rb, const int32_t *ids, size_t n, store_position *out) {
    char err[1024];
    store_status st = order_store_load_positions(rb->env.admin, ids, n, out, err, sizeof err);
    if (st == STORE_OK) return st;
    if (st == STORE_FATAL) {
        fail(rb, err);
        return st;
    }
    rb->env.metrics->postgres_errors++;
    ol_warn("%s; re-reading positions from the loop", err);
    return st;
}

/* Settles the commits in flight and publishes their answers; in a callback
 * a fence or a lost connection is recorded for the loop. A commit must not
 * move a position read after this. */
static void settle_in_flight(rebalancer *rb) {
    for (size_t i = 0; i < rb->env.n_lanes; i++) {
        lane *ln = &rb->env.lanes[i];
        if (!lane_in_flight(ln)) continue;
        char why[512], err[1024];
        bool committed;
        lane_result r = lane_finish(ln, &committed, why, sizeof why, err, sizeof err);
        if (r == LANE_FAILED) fail(rb, err);
        else if (r != LANE_OK && rb->pending != PENDING_FENCE) {
            rb->pending = r == LANE_FENCED ? PENDING_FENCE : PENDING_BROKEN;
            rb->pending_lane = ln;
            ol_seterr(rb->pending_why, sizeof rb->pending_why, "%s", why);
        }
    }
}

/* Drops collected messages of the given partitions (all when only is
 * NULL) that no round trip has started on; a begun batch is left to its own
 * fence. A message held outside the batches goes with the generation. */
static void drop_collected(rebalancer *rb, const int32_t *only, size_t n_only) {
    for (size_t i = 0; i < rb->env.n_lanes; i++) lane_drop(&rb->env.lanes[i], only, n_only);
    rb->generation++;
}

static void drop_listed(rebalancer *rb, const rd_kafka_topic_partition_list_t *list) {
    int32_t *ids = partition_ids(list);
    if (!ids) {
        /* Cannot tell which: drop everything and re-read every position. */
        ol_error("out of memory dropping revoked partitions' messages: re-reading all positions");
        rb->resync_needed = true;
        drop_collected(rb, NULL, 0);
        return;
    }
    drop_collected(rb, ids, (size_t)list->cnt);
    free(ids);
}

/* Where each partition starts: stored ones at their oldest unacknowledged
 * answer; new ones at their oldest message. In a callback (in_callback)
 * that is RD_KAFKA_OFFSET_BEGINNING, which the source resolves after it,
 * all at once; in the loop, for a seek, it is asked of the broker here, in
 * one request for all of them. */
static void set_start_offsets(rebalancer *rb, const store_position *pos, size_t n, int64_t *from, bool in_callback) {
    if (in_callback) {
        for (size_t i = 0; i < n; i++) from[i] = partition_start_offset(&pos[i], RD_KAFKA_OFFSET_BEGINNING);
        return;
    }
    int32_t *fresh = calloc(n + 1, sizeof *fresh);
    int64_t *oldest = calloc(n + 1, sizeof *oldest);
    size_t k = 0;
    for (size_t i = 0; fresh && oldest && i < n; i++)
        if (!pos[i].stored) fresh[k++] = pos[i].partition;
    if (k > 0 && fresh && oldest) order_source_oldest_offsets(rb->source, fresh, k, oldest, OLDEST_TIMEOUT_MS);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t low = RD_KAFKA_OFFSET_BEGINNING;
        if (!pos[i].stored && fresh && oldest) low = oldest[j++];
        from[i] = partition_start_offset(&pos[i], low);
    }
    free(fresh);
    free(oldest);
}

/* Takes newly assigned partitions from their stored positions; where those
 * cannot be read now, takes them accepting nothing until a resync. */
static void take_partitions(rebalancer *rb, rd_kafka_topic_partition_list_t *list, const store_position *pos,
                            bool loaded) {
    int64_t *from = loaded ? calloc((size_t)list->cnt + 1, sizeof *from) : NULL;
    if (from) set_start_offsets(rb, pos, (size_t)list->cnt, from, true);
    for (int i = 0; i < list->cnt; i++) {
        rd_kafka_topic_partition_t *elem = &list->elems[i];
        partition_state *ps = partition_table_get(&rb->parts, elem->partition);
        if (!ps || (from && !partition_table_apply(&rb->parts, &pos[i]))) {
            ol_log_kv(OL_LOG_ERROR, OL_LOG_FIELDS(OL_LOG_INT("partition", elem->partition)),
                      "out of memory on assignment of partition %d: not taking it", elem->partition);
            elem->offset = RD_KAFKA_OFFSET_END;
            continue;
        }
        ps->assigned = true;
        ps->fenced_until = 0;
        rb->env.metrics->partitions_assigned++;
        if (!from) {
            /* Fetch from the end and accept nothing: the resync seeks it. */
            ps->next_expected = INT64_MAX;
            elem->offset = RD_KAFKA_OFFSET_END;
            continue;
        }
        elem->offset = from[i];
        ol_log_kv(OL_LOG_INFO,
                  OL_LOG_FIELDS(OL_LOG_STR("topic", elem->topic), OL_LOG_INT("partition", elem->partition),
                                OL_LOG_INT("offset", ps->decided)),
                  "assigned %s [%d]: decided up to %" PRId64 ", answers acknowledged up to %" PRId64 "%s", elem->topic,
                  elem->partition, ps->decided, ps->acked_saved, pos[i].stored ? "" : " (new: from the beginning)");
    }
    if (!from) {
        rb->resync_needed = true;
        rb->resync_at = 0;
    }
    free(from);
}

static void on_assign(void *ctx, rd_kafka_topic_partition_list_t *list) {
    rebalancer *rb = ctx;
    int64_t t0 = ol_monotonic_ms();
    settle_in_flight(rb);
    int32_t *ids = partition_ids(list);
    store_position *pos = calloc((size_t)list->cnt + 1, sizeof *pos);
    bool loaded = ids && pos && load_positions(rb, ids, (size_t)list->cnt, pos) == STORE_OK;
    if (!ids || !pos) ol_error("out of memory on assignment: positions are re-read by a resync");
    take_partitions(rb, list, pos, loaded);
    rb->generation++;
    rb->ever_assigned = true;
    if (list->cnt > 0) {
        /* An empty assignment (the first step of a cooperative rebalance)
         * does not count: the partitions are still to come. */
        rb->ever_owned = true;
        rb->assigned_ms = ol_monotonic_ms();
        ol_info("assignment of %d partitions took %" PRId64 " ms", list->cnt, rb->assigned_ms - t0);
    }
    free(ids);
    free(pos);
}

static void on_revoke(void *ctx, const rd_kafka_topic_partition_list_t *list, bool lost) {
    rebalancer *rb = ctx;
    /* The batch in flight is committed or not; settle it before letting go
     * (if ownership was lost, its fence decides). Messages collected but not
     * decided are dropped: the next owner reads them from the stored
     * positions. */
    settle_in_flight(rb);
    drop_listed(rb, list);
    if (!lost) {
        /* Hand over cleanly: let answers land so the next owner need not
         * publish them again. */
        result_sink_flush(rb->env.sink, 5000);
        rebalancer_save_acks(rb, list);
    }
    for (int i = 0; i < list->cnt; i++) {
        partition_state *ps = partition_table_get(&rb->parts, list->elems[i].partition);
        if (ps) {
            ps->assigned = false;
            ps->fenced_until = 0;
        }
        if (lost) rb->env.metrics->partitions_lost++;
        else rb->env.metrics->partitions_revoked++;
        ol_log_kv(
            OL_LOG_INFO,
            OL_LOG_FIELDS(OL_LOG_STR("topic", list->elems[i].topic), OL_LOG_INT("partition", list->elems[i].partition)),
            "%s %s [%d]", lost ? "lost" : "revoked", list->elems[i].topic, list->elems[i].partition);
    }
}

void rebalancer_save_acks(rebalancer *rb, const rd_kafka_topic_partition_list_t *only) {
    if (any_in_flight(rb)) return; /* the next batches carry them */
    size_t cap = rb->parts.n + 1;
    if (rb->acks_cap < cap) {
        store_ack *grown = realloc(rb->acks, cap * sizeof *grown);
        if (!grown) return; /* out of memory: they are saved later */
        rb->acks = grown;
        rb->acks_cap = cap;
    }
    int32_t *ids = only ? partition_ids(only) : NULL;
    if (only && !ids) return;
    ack_filter filter = {.only = ids, .n_only = only ? (size_t)only->cnt : 0};
    size_t n =
        partition_table_collect_acks(&rb->parts, &filter, result_sink_acked_cb, rb->env.sink, rb->acks, rb->acks_cap);
    free(ids);
    if (n == 0) return;
    char err[1024];
    if (order_store_save_acks(rb->env.admin, rb->acks, n, err, sizeof err) != STORE_OK) {
        rb->env.metrics->postgres_errors++;
        ol_warn("%s (answers will be republished after a restart)", err);
        return;
    }
    partition_table_saved(&rb->parts, rb->acks, n);
}

void rebalancer_save_final_acks(rebalancer *rb) {
    for (size_t p = 0; p < rb->parts.n; p++) rb->parts.parts[p].assigned = rb->parts.parts[p].stored;
    rebalancer_save_acks(rb, NULL);
}

/* Another process has moved a stored position: we are probably a zombie
 * that missed a rebalance (paused past the session timeout), so every
 * partition we think we own is suspect. Give them all up until the backoff
 * ends; rebalancer_reclaim_fenced then takes back those the group still
 * says are ours, from freshly read positions. */
static void fence_all(rebalancer *rb, const char *why) {
    rb->env.metrics->fenced++;
    ol_warn("batch abandoned, nothing applied: %s; pausing all partitions for %d ms", why, FENCE_BACKOFF_MS);
    drop_collected(rb, NULL, 0);
    for (size_t p = 0; p < rb->parts.n; p++) {
        partition_state *ps = &rb->parts.parts[p];
        if (!ps->assigned) continue;
        ps->assigned = false;
        ps->fenced_until = ol_monotonic_ms() + FENCE_BACKOFF_MS;
        order_source_pause(rb->source, (int32_t)p);
    }
}

void rebalancer_react(rebalancer *rb, lane *ln, lane_result r, const char *why) {
    if (r == LANE_FENCED) {
        fence_all(rb, why);
    } else if (r == LANE_BROKEN) {
        ol_warn("PostgreSQL connection lost (%s); the batch will be redone or found committed", why);
        drop_collected(rb, NULL, 0);
        rebalancer_reconnect(rb, ln->store);
        rebalancer_request_resync(rb);
        rebalancer_resync(rb);
    }
}

bool rebalancer_after_poll(rebalancer *rb, char *err, size_t errlen) {
    if (rb->pending != PENDING_NONE) {
        pending_kind kind = rb->pending;
        rb->pending = PENDING_NONE;
        rebalancer_react(rb, rb->pending_lane, kind == PENDING_FENCE ? LANE_FENCED : LANE_BROKEN, rb->pending_why);
    }
    return !rebalancer_failed(rb, err, errlen);
}

bool rebalancer_failed(rebalancer *rb, char *err, size_t errlen) {
    if (!rb->failed) return false;
    ol_seterr(err, errlen, "%s", rb->error);
    rb->failed = false; /* returned: it is not reported twice */
    return true;
}

void rebalancer_request_resync(rebalancer *rb) {
    rb->resync_needed = true;
    rb->resync_at = 0;
    drop_collected(rb, NULL, 0);
}

/* Seeks every listed partition to where its position says, in one call. */
static bool seek_all(rebalancer *rb, const int32_t *ids, const store_position *pos, size_t n) {
    int64_t *from = calloc(n + 1, sizeof *from);
    if (!from) return false;
    set_start_offsets(rb, pos, n, from, false);
    char err[512];
    bool ok = order_source_seek(rb->source, ids, from, n, err, sizeof err);
    if (!ok) ol_warn("%s", err);
    free(from);
    return ok;
}

void rebalancer_resync(rebalancer *rb) {
    if (!rb->resync_needed || any_in_flight(rb) || ol_monotonic_ms() < rb->resync_at) return;
    drop_collected(rb, NULL, 0);
    size_t n = 0;
    int32_t *ids = calloc(rb->parts.n + 1, sizeof *ids);
    store_position *pos = calloc(rb->parts.n + 1, sizeof *pos);
    bool ok = ids && pos;
    if (ok) n = rebalancer_owned(rb, ids, rb->parts.n);
    store_status st = ok ? load_positions(rb, ids, n, pos) : STORE_FATAL;
    ok = ok && st == STORE_OK;
    for (size_t i = 0; ok && i < n; i++) ok = partition_table_apply(&rb->parts, &pos[i]);
    ok = ok && seek_all(rb, ids, pos, n);
    free(ids);
    free(pos);
    if (ok) {
        ol_info("re-read positions of %zu partitions from PostgreSQL", n);
        rb->resync_needed = false;
        ol_backoff_init(&rb->resync_backoff, BACKOFF_FIRST_MS, BACKOFF_LIMIT_MS);
        return;
    }
    char err[1024];
    if (st == STORE_BROKEN && !order_store_reconnect(rb->env.admin, err, sizeof err)) ol_warn("%s", err);
    rb->resync_at = ol_monotonic_ms() + ol_backoff_next(&rb->resync_backoff);
}

void rebalancer_reclaim_fenced(rebalancer *rb) {
    int64_t now = ol_monotonic_ms();
    for (size_t p = 0; p < rb->parts.n; p++) {
        partition_state *ps = &rb->parts.parts[p];
        if (!ps->fenced_until || now < ps->fenced_until) continue;
        ps->fenced_until = 0;
        if (!order_source_owns(rb->source, (int32_t)p)) continue; /* a revoke is on its way */
        int32_t id = (int32_t)p;
        store_position pos;
        if (load_positions(rb, &id, 1, &pos) != STORE_OK || !partition_table_apply(&rb->parts, &pos) ||
            !seek_all(rb, &id, &pos, 1)) {
            ps->fenced_until = now + FENCE_BACKOFF_MS;
            continue;
        }
        ps->assigned = true;
        rb->generation++;
        order_source_resume(rb->source, id);
        ol_log_kv(OL_LOG_INFO, OL_LOG_FIELDS(OL_LOG_INT("partition", id), OL_LOG_INT("offset", pos.results_offset)),
                  "partition %d is still ours after a fence: resuming from %" PRId64, id, pos.results_offset);
    }
}

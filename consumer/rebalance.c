/* What assignment changes, fences and lost connections do to the
 * partitions: positions are read from PostgreSQL (never from Kafka's
 * committed offsets), batches in flight are settled before a partition is
 * let go, and collected messages of partitions no longer ours are dropped. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ol_backoff.h"
#include "ol_log.h"
#include "ol_str.h"
#include "pipeline_state.h"

/* After a fence, how long a partition stays given up before we look again.
 * A zombie learns within this time that its assignment is lost; a rightful
 * owner fenced by a zombie's late commit takes the partition back. */
#define FENCE_BACKOFF_MS 3000
/* PostgreSQL outages: retried soon at first, then every 6.4 s. */
#define BACKOFF_FIRST_MS 200
#define BACKOFF_LIMIT_MS 6400

bool pipeline_reconnect(order_pipeline *pl, order_store *store) {
    ol_backoff backoff;
    ol_backoff_init(&backoff, BACKOFF_FIRST_MS, BACKOFF_LIMIT_MS);
    char err[1024];
    while (!*pl->stop) {
        if (order_store_reconnect(store, err, sizeof err)) {
            pl->metrics->postgres_reconnects++;
            ol_info("reconnected to PostgreSQL");
            return true;
        }
        int64_t wait = ol_backoff_next(&backoff);
        ol_warn("PostgreSQL unavailable, retrying in %" PRId64 " ms: %s", wait, err);
        ol_sleep_ms(wait);
    }
    return false;
}

/* Loads stored positions for partitions, retrying through outages. */
static bool load_positions(order_pipeline *pl, const int32_t *ids, size_t n, store_position *out) {
    char err[1024];
    ol_backoff backoff;
    ol_backoff_init(&backoff, BACKOFF_FIRST_MS, BACKOFF_LIMIT_MS);
    while (!*pl->stop) {
        store_status st = order_store_load_positions(pl->admin, ids, n, out, err, sizeof err);
        if (st == STORE_OK) return true;
        if (st == STORE_FATAL) {
            /* Ends the loop at its next collect, which returns this. */
            if (!pl->callback_error[0]) ol_seterr(pl->callback_error, sizeof pl->callback_error, "%s", err);
            return false;
        }
        pl->metrics->postgres_errors++;
        int64_t wait = ol_backoff_next(&backoff);
        ol_warn("%s; retrying in %" PRId64 " ms", err, wait);
        if (st == STORE_BROKEN && !pipeline_reconnect(pl, pl->admin)) return false;
        ol_sleep_ms(wait);
    }
    return false;
}

static int64_t start_offset(order_pipeline *pl, const store_position *pos) {
    return partition_start_offset(pos, order_source_low_watermark(pl->source, pos->partition));
}

/* The partitions of a list, malloc'd; NULL when out of memory. */
static int32_t *partition_ids(const rd_kafka_topic_partition_list_t *list) {
    int32_t *ids = calloc((size_t)list->cnt + 1, sizeof *ids);
    for (int i = 0; ids && i < list->cnt; i++) ids[i] = list->elems[i].partition;
    return ids;
}

void pipeline_save_acks(order_pipeline *pl, const rd_kafka_topic_partition_list_t *only) {
    if (pipeline_any_in_flight(pl)) return; /* the next batches carry them */
    int32_t *ids = only ? partition_ids(only) : NULL;
    if (only && !ids) return; /* out of memory: they are saved later */
    ack_filter filter = {.only = ids, .n_only = only ? (size_t)only->cnt : 0};
    size_t n =
        partition_table_collect_acks(&pl->parts, &filter, result_sink_acked_cb, pl->sink, pl->acks, pl->acks_cap);
    free(ids);
    if (n == 0) return;
    char err[1024];
    if (order_store_save_acks(pl->admin, pl->acks, n, err, sizeof err) != STORE_OK) {
        pl->metrics->postgres_errors++;
        ol_warn("%s (answers will be republished after a restart)", err);
        return;
    }
    partition_table_saved(&pl->parts, pl->acks, n);
}

void pipeline_drop_collected(order_pipeline *pl, const rd_kafka_topic_partition_list_t *only) {
    int32_t *ids = only ? partition_ids(only) : NULL;
    if (only && !ids) {
        /* Cannot tell which: drop everything and re-read every position. */
        ol_error("out of memory dropping revoked partitions' messages: re-reading all positions");
        pl->resync_needed = true;
        only = NULL;
    }
    for (size_t i = 0; i < pl->n_lanes; i++)
        batch_drop(pl->lanes[i].collecting, ids, only ? (size_t)only->cnt : 0); /* refused once begun */
    free(ids);
}

/* Settles the batches in flight from inside a rebalance callback, where
 * errors cannot be returned: a failed batch stays FAILED in its lane, and
 * callback_error says why until the loop returns it. */
static void settle_in_flight(order_pipeline *pl) {
    for (size_t i = 0; i < pl->n_lanes; i++) {
        lane *ln = &pl->lanes[i];
        if (!lane_in_flight(ln)) continue;
        char err[1024];
        if (pipeline_finish_lane(pl, ln, err, sizeof err) == LANE_FAILED && !pl->callback_error[0])
            ol_seterr(pl->callback_error, sizeof pl->callback_error, "%s", err);
    }
}

/* Takes one newly assigned partition from its stored position. */
static void take_partition(order_pipeline *pl, rd_kafka_topic_partition_t *elem, const store_position *pos) {
    partition_state *ps = partition_table_get(&pl->parts, elem->partition);
    if (!ps || !partition_table_apply(&pl->parts, pos)) {
        ol_log_kv(OL_LOG_ERROR, OL_LOG_FIELDS(OL_LOG_INT("partition", elem->partition)),
                  "out of memory on assignment of partition %d: not taking it", elem->partition);
        elem->offset = RD_KAFKA_OFFSET_END;
        return;
    }
    ps->assigned = true;
    ps->fenced_until = 0;
    pl->metrics->partitions_assigned++;
    elem->offset = start_offset(pl, pos);
    ol_log_kv(OL_LOG_INFO,
              OL_LOG_FIELDS(OL_LOG_STR("topic", elem->topic), OL_LOG_INT("partition", elem->partition),
                            OL_LOG_INT("offset", ps->decided)),
              "assigned %s [%d]: decided up to %" PRId64 ", answers acknowledged up to %" PRId64 "%s", elem->topic,
              elem->partition, ps->decided, ps->acked_saved, pos->stored ? "" : " (new: from the beginning)");
}

void pipeline_on_assign(void *ctx, rd_kafka_topic_partition_list_t *list) {
    order_pipeline *pl = ctx;
    settle_in_flight(pl); /* a position read now must not be moved by a commit still in flight */
    int32_t *ids = partition_ids(list);
    store_position *pos = calloc((size_t)list->cnt + 1, sizeof *pos);
    bool loaded = ids && pos && load_positions(pl, ids, (size_t)list->cnt, pos);
    if (!ids || !pos) ol_error("out of memory on assignment");
    for (int i = 0; i < list->cnt; i++) {
        /* Not loaded (stopping, or out of memory): assign somewhere
         * harmless; nothing will be decided. */
        if (!loaded) list->elems[i].offset = RD_KAFKA_OFFSET_END;
        else take_partition(pl, &list->elems[i], &pos[i]);
    }
    pl->ever_assigned = true;
    if (list->cnt > 0) {
        /* --idle-exit counts from here too: a join can take longer than the
         * idle time (Kafka delays a new group's first rebalance by 3 s by
         * default), and these partitions' messages have not arrived yet. An
         * empty assignment (the first step of a cooperative rebalance) does
         * not start the clock: the partitions are still to come. */
        pl->ever_owned = true;
        pl->last_message_ms = ol_monotonic_ms();
    }
    free(ids);
    free(pos);
}

void pipeline_on_revoke(void *ctx, const rd_kafka_topic_partition_list_t *list, bool lost) {
    order_pipeline *pl = ctx;
    /* The batch in flight is committed or not; settle it before letting go
     * (if ownership was lost, its fence decides). Messages collected but not
     * decided are dropped: the next owner reads them from the stored
     * positions. */
    settle_in_flight(pl);
    pipeline_drop_collected(pl, list);
    if (!lost) {
        /* Hand over cleanly: let answers land so the next owner need not
         * publish them again. */
        result_sink_flush(pl->sink, 5000);
        pipeline_save_acks(pl, list);
    }
    for (int i = 0; i < list->cnt; i++) {
        partition_state *ps = partition_table_get(&pl->parts, list->elems[i].partition);
        if (ps) {
            ps->assigned = false;
            ps->fenced_until = 0;
        }
        if (lost) pl->metrics->partitions_lost++;
        else pl->metrics->partitions_revoked++;
        ol_log_kv(
            OL_LOG_INFO,
            OL_LOG_FIELDS(OL_LOG_STR("topic", list->elems[i].topic), OL_LOG_INT("partition", list->elems[i].partition)),
            "%s %s [%d]", lost ? "lost" : "revoked", list->elems[i].topic, list->elems[i].partition);
    }
}

bool pipeline_resync(order_pipeline *pl) {
    pipeline_drop_collected(pl, NULL);
    size_t n = 0;
    int32_t *ids = calloc(pl->parts.n + 1, sizeof *ids);
    store_position *pos = calloc(pl->parts.n + 1, sizeof *pos);
    bool ok = ids && pos;
    for (size_t p = 0; ok && p < pl->parts.n; p++)
        if (pl->parts.parts[p].assigned) ids[n++] = (int32_t)p;
    ok = ok && load_positions(pl, ids, n, pos);
    for (size_t i = 0; ok && i < n; i++) {
        char err[512];
        partition_table_apply(&pl->parts, &pos[i]);
        if (!order_source_seek(pl->source, ids[i], start_offset(pl, &pos[i]), err, sizeof err)) {
            ol_warn("%s", err);
            ok = false;
        }
    }
    if (ok) ol_info("re-read positions of %zu partitions from PostgreSQL", n);
    free(ids);
    free(pos);
    pl->resync_needed = !ok;
    return ok;
}

void pipeline_react(order_pipeline *pl, lane *ln, lane_result r, const char *why) {
    if (r == LANE_FENCED) {
        /* Another process has moved a stored position: we are probably a
         * zombie that missed a rebalance (paused past the session timeout),
         * so every partition we think we own is suspect. Give them all up
         * until the backoff ends; pipeline_reclaim_fenced then takes back
         * those the group still says are ours, from freshly read positions. */
        pl->metrics->fenced++;
        ol_warn("batch abandoned, nothing applied: %s; pausing all partitions for %d ms", why, FENCE_BACKOFF_MS);
        pipeline_drop_collected(pl, NULL);
        for (size_t p = 0; p < pl->parts.n; p++) {
            partition_state *ps = &pl->parts.parts[p];
            if (!ps->assigned) continue;
            ps->assigned = false;
            ps->fenced_until = ol_monotonic_ms() + FENCE_BACKOFF_MS;
            order_source_pause(pl->source, (int32_t)p);
        }
    } else if (r == LANE_BROKEN) {
        ol_warn("PostgreSQL connection lost (%s); the batch will be redone or found committed", why);
        pipeline_drop_collected(pl, NULL);
        if (pipeline_reconnect(pl, ln->store)) pipeline_resync(pl);
        else pl->resync_needed = true;
    }
}

void pipeline_reclaim_fenced(order_pipeline *pl) {
    int64_t now = ol_monotonic_ms();
    for (size_t p = 0; p < pl->parts.n; p++) {
        partition_state *ps = &pl->parts.parts[p];
        if (!ps->fenced_until || now < ps->fenced_until) continue;
        ps->fenced_until = 0;
        if (!order_source_owns(pl->source, (int32_t)p)) continue; /* a revoke is on its way */
        int32_t id = (int32_t)p;
        store_position pos;
        char err[512];
        if (!load_positions(pl, &id, 1, &pos)) return;
        partition_table_apply(&pl->parts, &pos);
        int64_t from = start_offset(pl, &pos);
        if (!order_source_seek(pl->source, id, from, err, sizeof err)) {
            ol_warn("%s", err);
            ps->fenced_until = now + FENCE_BACKOFF_MS;
            continue;
        }
        ps->assigned = true;
        order_source_resume(pl->source, id);
        ol_log_kv(OL_LOG_INFO, OL_LOG_FIELDS(OL_LOG_INT("partition", id), OL_LOG_INT("offset", from)),
                  "partition %d is still ours after a fence: resuming from %" PRId64, id, from);
    }
}

#include "pipeline.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ol_decider.h"
#include "ol_kafka.h"
#include "ol_log.h"
#include "ol_map.h"
#include "ol_murmur2.h"
#include "ol_str.h"
#include "sink.h"
#include "source.h"
#include "store.h"

#define MAX_ATTEMPTS 20 /* per batch, for transient conflicts */
/* After a fence, how long a partition stays given up before we look again.
 * A zombie learns within this time that its assignment is lost; a rightful
 * owner fenced by a zombie's late commit takes the partition back. */
#define FENCE_BACKOFF_MS 3000

typedef struct partition_state {
    bool assigned;
    bool stored;           /* consumer_positions has a row */
    int64_t decided;       /* its next_offset: orders below are decided */
    int64_t acked_saved;   /* its results_offset as last written or read */
    int64_t next_expected; /* lowest offset accepted from Kafka (stale filter) */
    int64_t fenced_until;  /* given up after a fence until then (monotonic ms); 0: not */
    /* Per batch. */
    size_t in_batch;
    int64_t first_new; /* first offset >= decided in the batch, -1 none */
    int64_t last;      /* last offset in the batch */
    sink_span *span;
} partition_state;

typedef struct batch_entry {
    rd_kafka_message_t *msg;
    bool valid;
    bool replay; /* below the stored position: already decided */
    ol_order order;
    char error[OL_ERROR_MAX];
    bool answered; /* result holds the answer to publish */
    ol_result result;
} batch_entry;

typedef struct pipeline_stats {
    uint64_t batches, messages, accepted, rejected, duplicates, replayed, invalid, misrouted, fenced, retries;
} pipeline_stats;

struct order_pipeline {
    const ol_settings *settings;
    volatile sig_atomic_t *stop;
    order_store *store;
    result_sink *sink;
    order_source *source;
    ol_decider *decider;
    ol_map *dedup; /* scratch: distinct items / order_ids of a batch */

    partition_state *parts;
    size_t n_parts;
    int32_t topic_partitions; /* for misrouting checks; 0 unknown */

    batch_entry *batch;
    size_t batch_len;
    size_t batch_cap;
    const char **items;
    const char **order_ids;
    const ol_result **decisions;
    store_advance *advances;
    store_ack *acks;
    size_t acks_cap;

    /* Test hook (ORDERLINE_FAILPOINT=crash-after-commit:N): die like kill -9
     * right after the Nth batch commits, before its answers are published,
     * to prove they are published after restart. 0: off. */
    uint64_t crash_after_commit;

    bool ever_assigned;
    bool resync_needed;
    int64_t started_ms;
    int64_t last_message_ms;
    int64_t last_report_ms;
    pipeline_stats stats;
};

static partition_state *part(order_pipeline *pl, int32_t p) {
    if (p < 0) return NULL;
    if ((size_t)p >= pl->n_parts) {
        size_t n = (size_t)p + 1;
        partition_state *grown = realloc(pl->parts, n * sizeof *grown);
        if (!grown) return NULL;
        memset(grown + pl->n_parts, 0, (n - pl->n_parts) * sizeof *grown);
        pl->parts = grown;
        pl->n_parts = n;
    }
    return &pl->parts[p];
}

static void sleep_ms(int64_t ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Reconnects to PostgreSQL with backoff until it works or stop is set. */
static bool reconnect_store(order_pipeline *pl) {
    int64_t backoff = 200;
    char err[1024];
    while (!*pl->stop) {
        if (order_store_reconnect(pl->store, err, sizeof err)) {
            ol_info("reconnected to PostgreSQL");
            return true;
        }
        ol_warn("PostgreSQL unavailable, retrying in %" PRId64 " ms: %s", backoff, err);
        sleep_ms(backoff);
        if (backoff < 5000) backoff *= 2;
    }
    return false;
}

/* Loads stored positions for partitions, retrying through outages. */
static bool load_positions(order_pipeline *pl, const int32_t *ids, size_t n, store_position *out) {
    char err[1024];
    int64_t backoff = 200;
    while (!*pl->stop) {
        store_status st = order_store_load_positions(pl->store, ids, n, out, err, sizeof err);
        if (st == STORE_OK) return true;
        ol_warn("%s; retrying in %" PRId64 " ms", err, backoff);
        if (st == STORE_BROKEN && !reconnect_store(pl)) return false;
        sleep_ms(backoff);
        if (backoff < 5000) backoff *= 2;
    }
    return false;
}

/* Where a partition starts: the oldest answer not acknowledged, so that
 * answers lost in a crash are published again before new decisions. */
static int64_t start_offset(const store_position *pos) {
    return pos->stored ? pos->results_offset : RD_KAFKA_OFFSET_BEGINNING;
}

static void apply_position(order_pipeline *pl, const store_position *pos) {
    partition_state *ps = part(pl, pos->partition);
    if (!ps) return;
    ps->stored = pos->stored;
    ps->decided = pos->stored ? pos->next_offset : 0;
    ps->acked_saved = pos->stored ? pos->results_offset : 0;
    ps->next_expected = pos->stored ? pos->results_offset : 0;
}

static void on_assign(void *ctx, rd_kafka_topic_partition_list_t *list) {
    order_pipeline *pl = ctx;
    int32_t *ids = calloc((size_t)list->cnt + 1, sizeof *ids);
    store_position *pos = calloc((size_t)list->cnt + 1, sizeof *pos);
    if (!ids || !pos) {
        ol_error("out of memory on assignment");
        free(ids);
        free(pos);
        return;
    }
    for (int i = 0; i < list->cnt; i++) ids[i] = list->elems[i].partition;
    bool loaded = load_positions(pl, ids, (size_t)list->cnt, pos);
    for (int i = 0; i < list->cnt; i++) {
        partition_state *ps = part(pl, ids[i]);
        if (!ps) continue;
        if (!loaded) {
            /* Stopping: assign somewhere harmless; nothing will be decided. */
            list->elems[i].offset = RD_KAFKA_OFFSET_END;
            continue;
        }
        apply_position(pl, &pos[i]);
        ps->assigned = true;
        ps->fenced_until = 0;
        list->elems[i].offset = start_offset(&pos[i]);
        ol_info("assigned %s [%d]: decided up to %" PRId64 ", answers acknowledged up to %" PRId64 "%s",
                list->elems[i].topic, ids[i], ps->decided, ps->acked_saved,
                pos[i].stored ? "" : " (new: from the beginning)");
    }
    pl->ever_assigned = true;
    free(ids);
    free(pos);
}

/* Records acknowledged answers for the given partitions (all when NULL). */
static size_t collect_acks(order_pipeline *pl, const rd_kafka_topic_partition_list_t *only) {
    size_t n = 0;
    for (size_t p = 0; p < pl->n_parts; p++) {
        partition_state *ps = &pl->parts[p];
        if (!ps->assigned || !ps->stored) continue;
        if (only) {
            bool wanted = false;
            for (int i = 0; i < only->cnt; i++) wanted |= only->elems[i].partition == (int32_t)p;
            if (!wanted) continue;
        }
        int64_t acked = result_sink_acked(pl->sink, (int32_t)p);
        if (acked > ps->decided) acked = ps->decided;
        if (acked > ps->acked_saved && n < pl->acks_cap) pl->acks[n++] = (store_ack){(int32_t)p, acked};
    }
    return n;
}

static void save_acks(order_pipeline *pl, const rd_kafka_topic_partition_list_t *only) {
    size_t n = collect_acks(pl, only);
    if (n == 0) return;
    char err[1024];
    if (order_store_save_acks(pl->store, pl->acks, n, err, sizeof err) != STORE_OK) {
        ol_warn("%s (answers will be republished after a restart)", err);
        return;
    }
    for (size_t i = 0; i < n; i++) pl->parts[pl->acks[i].partition].acked_saved = pl->acks[i].results_offset;
}

/* Drops collected messages of partitions no longer ours (or all). */
static void drop_batch(order_pipeline *pl, const rd_kafka_topic_partition_list_t *only) {
    size_t kept = 0;
    for (size_t i = 0; i < pl->batch_len; i++) {
        bool drop = !only;
        for (int j = 0; only && j < only->cnt; j++) drop |= only->elems[j].partition == pl->batch[i].msg->partition;
        if (drop) rd_kafka_message_destroy(pl->batch[i].msg);
        else pl->batch[kept++] = pl->batch[i];
    }
    pl->batch_len = kept;
}

static void on_revoke(void *ctx, const rd_kafka_topic_partition_list_t *list, bool lost) {
    order_pipeline *pl = ctx;
    drop_batch(pl, list); /* undecided: the next owner reads them from the stored positions */
    if (!lost) {
        /* Hand over cleanly: let answers land so the next owner need not
         * publish them again. */
        result_sink_flush(pl->sink, 5000);
        save_acks(pl, list);
    }
    for (int i = 0; i < list->cnt; i++) {
        partition_state *ps = part(pl, list->elems[i].partition);
        if (ps) {
            ps->assigned = false;
            ps->fenced_until = 0;
        }
        ol_info("%s %s [%d]", lost ? "lost" : "revoked", list->elems[i].topic, list->elems[i].partition);
    }
}

/* Re-reads every assigned partition's position and seeks to it, after a
 * fence or a lost connection left our view of PostgreSQL in doubt. */
static bool resync(order_pipeline *pl) {
    drop_batch(pl, NULL);
    size_t n = 0;
    int32_t *ids = calloc(pl->n_parts + 1, sizeof *ids);
    store_position *pos = calloc(pl->n_parts + 1, sizeof *pos);
    bool ok = ids && pos;
    for (size_t p = 0; ok && p < pl->n_parts; p++)
        if (pl->parts[p].assigned) ids[n++] = (int32_t)p;
    ok = ok && load_positions(pl, ids, n, pos);
    for (size_t i = 0; ok && i < n; i++) {
        char err[512];
        apply_position(pl, &pos[i]);
        if (!order_source_seek(pl->source, ids[i], start_offset(&pos[i]), err, sizeof err)) {
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

/* Takes back partitions given up after a fence once the backoff has passed,
 * if the group still says they are ours: positions are re-read first. */
static void reclaim_fenced(order_pipeline *pl) {
    int64_t now = ol_monotonic_ms();
    for (size_t p = 0; p < pl->n_parts; p++) {
        partition_state *ps = &pl->parts[p];
        if (!ps->fenced_until || now < ps->fenced_until) continue;
        ps->fenced_until = 0;
        if (!order_source_owns(pl->source, (int32_t)p)) continue; /* a revoke is on its way */
        int32_t id = (int32_t)p;
        store_position pos;
        char err[512];
        if (!load_positions(pl, &id, 1, &pos)) return;
        apply_position(pl, &pos);
        if (!order_source_seek(pl->source, id, start_offset(&pos), err, sizeof err)) {
            ol_warn("%s", err);
            ps->fenced_until = now + FENCE_BACKOFF_MS;
            continue;
        }
        ps->assigned = true;
        order_source_resume(pl->source, id);
        ol_info("partition %d is still ours after a fence: resuming from %" PRId64, id, start_offset(&pos));
    }
}

order_pipeline *order_pipeline_new(const ol_settings *settings, volatile sig_atomic_t *stop, char *err,
                                   size_t errlen) {
    order_pipeline *pl = calloc(1, sizeof *pl);
    if (!pl) {
        ol_seterr(err, errlen, "out of memory");
        return NULL;
    }
    pl->settings = settings;
    pl->stop = stop;
    pl->batch_cap = (size_t)settings->batch_max;
    pl->batch = calloc(pl->batch_cap, sizeof *pl->batch);
    pl->items = calloc(pl->batch_cap, sizeof *pl->items);
    pl->order_ids = calloc(pl->batch_cap, sizeof *pl->order_ids);
    pl->decisions = calloc(pl->batch_cap, sizeof *pl->decisions);
    pl->advances = calloc(pl->batch_cap, sizeof *pl->advances);
    pl->decider = ol_decider_new();
    pl->dedup = ol_map_new();
    if (!pl->batch || !pl->items || !pl->order_ids || !pl->decisions || !pl->advances || !pl->decider ||
        !pl->dedup) {
        ol_seterr(err, errlen, "out of memory");
        goto fail;
    }
    pl->store = order_store_new(settings->db, settings->orders_topic, err, errlen);
    if (!pl->store) goto fail;
    pl->sink = result_sink_new(settings, err, errlen);
    if (!pl->sink) goto fail;
    const char *topics[] = {settings->orders_topic, settings->results_topic, settings->dlq_topic};
    if (!ol_kafka_ensure_topics(result_sink_handle(pl->sink), topics, 3, (int)settings->partitions, 15000, err,
                                errlen))
        goto fail;
    if (!result_sink_warm_up(pl->sink, 10000, err, errlen)) goto fail;
    char why[512];
    int count = ol_kafka_partition_count(result_sink_handle(pl->sink), settings->orders_topic, 10000, why, sizeof why);
    if (count > 0) pl->topic_partitions = count;
    else ol_warn("cannot check message routing: %s", why);
    /* acks: one per partition at most; size for the topic, grow on demand. */
    pl->acks_cap = (size_t)(count > 0 ? count : 1) + 1024;
    pl->acks = calloc(pl->acks_cap, sizeof *pl->acks);
    if (!pl->acks) {
        ol_seterr(err, errlen, "out of memory");
        goto fail;
    }
    order_source_listener listener = {pl, on_assign, on_revoke};
    pl->source = order_source_new(settings, &listener, err, errlen);
    if (!pl->source) goto fail;
    const char *failpoint = getenv("ORDERLINE_FAILPOINT");
    if (failpoint && sscanf(failpoint, "crash-after-commit:%" SCNu64, &pl->crash_after_commit) == 1)
        ol_warn("failpoint armed: crash after batch %" PRIu64 " commits", pl->crash_after_commit);
    pl->started_ms = pl->last_message_ms = pl->last_report_ms = ol_monotonic_ms();
    return pl;
fail:
    order_pipeline_destroy(pl);
    return NULL;
}

static void report_stats(order_pipeline *pl, const char *when) {
    const pipeline_stats *s = &pl->stats;
    ol_info("%s: %" PRIu64 " messages in %" PRIu64 " batches: %" PRIu64 " accepted, %" PRIu64 " rejected, %" PRIu64
            " duplicates, %" PRIu64 " invalid, %" PRIu64 " re-answered after restart, %" PRIu64 " misrouted, %" PRIu64
            " fenced, %" PRIu64 " retries",
            when, s->messages, s->batches, s->accepted, s->rejected, s->duplicates, s->invalid, s->replayed,
            s->misrouted, s->fenced, s->retries);
}

void order_pipeline_destroy(order_pipeline *pl) {
    if (!pl) return;
    /* Leave the group first: the final revoke still needs sink and store. */
    order_source_destroy(pl->source);
    pl->source = NULL;
    if (pl->sink && pl->store) {
        result_sink_flush(pl->sink, 10000);
        for (size_t p = 0; p < pl->n_parts; p++) pl->parts[p].assigned = pl->parts[p].stored;
        save_acks(pl, NULL);
    }
    drop_batch(pl, NULL);
    result_sink_destroy(pl->sink);
    order_store_destroy(pl->store);
    ol_decider_destroy(pl->decider);
    ol_map_destroy(pl->dedup);
    free(pl->batch);
    free(pl->items);
    free(pl->order_ids);
    free(pl->decisions);
    free(pl->advances);
    free(pl->acks);
    free(pl->parts);
    free(pl);
}

/* Fills the batch until it holds batch_max messages or batch_linger_ms has
 * passed since its first message. */
static bool collect(order_pipeline *pl, char *err, size_t errlen) {
    int64_t deadline = -1;
    while (!*pl->stop && pl->batch_len < pl->batch_cap) {
        int64_t now = ol_monotonic_ms();
        int timeout = deadline < 0 ? 100 : (int)(deadline - now);
        if (deadline >= 0 && timeout <= 0) break;
        bool fatal = false;
        rd_kafka_message_t *msg = order_source_poll(pl->source, timeout, &fatal, err, errlen);
        if (fatal) return false;
        if (!msg) {
            if (deadline < 0) break; /* nothing arrived: let the loop do idle work */
            continue;
        }
        partition_state *ps = part(pl, msg->partition);
        if (!ps || !ps->assigned || msg->offset < ps->next_expected) {
            rd_kafka_message_destroy(msg); /* stale: from before a seek or a revoke */
            continue;
        }
        ps->next_expected = msg->offset + 1;
        memset(&pl->batch[pl->batch_len], 0, sizeof pl->batch[0]);
        pl->batch[pl->batch_len++].msg = msg;
        pl->last_message_ms = ol_monotonic_ms();
        if (deadline < 0) deadline = pl->last_message_ms + pl->settings->batch_linger_ms;
    }
    return true;
}

/* Adds s to arr unless the batch already has it. */
static bool add_distinct(order_pipeline *pl, const char **arr, size_t *n, const char *s) {
    if (ol_map_get(pl->dedup, s)) return true;
    if (!ol_map_put(pl->dedup, s, (void *)s)) return false;
    arr[(*n)++] = s;
    return true;
}

static void check_routing(order_pipeline *pl, const batch_entry *e) {
    if (pl->topic_partitions <= 0 || !e->msg->key || e->msg->key_len == 0) return;
    int32_t want = ol_murmur2_partition(e->msg->key, e->msg->key_len, pl->topic_partitions);
    if (want == e->msg->partition) return;
    pl->stats.misrouted++;
    /* Decisions stay correct (row locks and the CHECK hold); log sparingly. */
    if (pl->stats.misrouted <= 10 || pl->stats.misrouted % 1000 == 0)
        ol_warn("misrouted order '%s' for item '%s' at partition %d offset %" PRId64
                " (murmur2 puts it in partition %d; %" PRIu64 " so far)",
                e->order.order_id, e->order.item, e->msg->partition, e->msg->offset, want, pl->stats.misrouted);
}

/* Parses every message and prepares the batch's parameters. */
static bool prepare(order_pipeline *pl, size_t *n_items, size_t *n_ids, size_t *n_adv) {
    ol_map_clear(pl->dedup);
    *n_items = *n_ids = *n_adv = 0;
    for (size_t p = 0; p < pl->n_parts; p++) {
        pl->parts[p].in_batch = 0;
        pl->parts[p].first_new = -1;
        pl->parts[p].span = NULL;
    }
    for (size_t i = 0; i < pl->batch_len; i++) {
        batch_entry *e = &pl->batch[i];
        partition_state *ps = &pl->parts[e->msg->partition];
        e->replay = e->msg->offset < ps->decided;
        e->answered = false;
        e->valid = ol_order_parse(e->msg->payload, e->msg->len, e->msg->key, e->msg->key_len, &e->order, e->error,
                                  sizeof e->error);
        ps->in_batch++;
        ps->last = e->msg->offset;
        if (!e->replay && ps->first_new < 0) ps->first_new = e->msg->offset;
        if (!e->valid) continue;
        if (!e->replay) {
            check_routing(pl, e);
            if (!add_distinct(pl, pl->items, n_items, e->order.item)) return false;
        }
        if (!add_distinct(pl, pl->order_ids, n_ids, e->order.order_id)) return false;
    }
    for (size_t p = 0; p < pl->n_parts; p++) {
        partition_state *ps = &pl->parts[p];
        if (ps->first_new < 0) continue;
        pl->advances[(*n_adv)++] =
            (store_advance){(int32_t)p, ps->stored, ps->decided, ps->first_new, ps->last + 1};
    }
    return true;
}

/* Decides every message of the batch in order; collects new decisions. */
static bool decide(order_pipeline *pl, size_t *n_new) {
    int64_t now = ol_now_us();
    *n_new = 0;
    for (size_t i = 0; i < pl->batch_len; i++) {
        batch_entry *e = &pl->batch[i];
        e->answered = false;
        if (!e->valid) {
            if (!e->order.order_id[0]) continue; /* nothing to answer to: DLQ only */
            memset(&e->result, 0, sizeof e->result);
            memcpy(e->result.order_id, e->order.order_id, sizeof e->result.order_id);
            e->result.status = OL_STATUS_REJECTED;
            e->result.reason = OL_REASON_INVALID;
            e->result.partition = e->msg->partition;
            e->result.offset = e->msg->offset;
            e->result.processed_at_us = now;
            ol_strlcpy(e->result.error, e->error, sizeof e->result.error);
            e->answered = true;
            continue;
        }
        if (e->replay && !ol_decider_find(pl->decider, e->order.order_id)) {
            /* Below the stored position yet absent from the ledger: only a
             * hand edit can do this. Never decide twice; say so loudly. */
            ol_error("partition %d offset %" PRId64 ": order '%s' is below the stored position but has no row in"
                     " orders; not deciding it again",
                     e->msg->partition, e->msg->offset, e->order.order_id);
            continue;
        }
        ol_decided_kind kind;
        if (!ol_decider_decide(pl->decider, &e->order, e->msg->partition, e->msg->offset, now, &e->result, &kind))
            return false;
        e->answered = true;
        if (kind == OL_DECIDED_NEW) pl->decisions[(*n_new)++] = &e->result;
    }
    return true;
}

/* Publishes every answer of a committed batch, in log order. */
static bool publish(order_pipeline *pl, char *err, size_t errlen) {
    for (size_t p = 0; p < pl->n_parts; p++) {
        partition_state *ps = &pl->parts[p];
        if (!ps->in_batch) continue;
        ps->span = result_sink_open_span(pl->sink, (int32_t)p, ps->last + 1);
        if (!ps->span) {
            ol_seterr(err, errlen, "out of memory");
            return false;
        }
    }
    for (size_t i = 0; i < pl->batch_len; i++) {
        batch_entry *e = &pl->batch[i];
        partition_state *ps = &pl->parts[e->msg->partition];
        if (!e->valid && !result_sink_publish_dlq(pl->sink, ps->span, e->msg, e->error, err, errlen)) return false;
        if (!e->answered) continue;
        const void *key = e->result.has_order ? e->result.item : e->msg->key;
        size_t key_len = e->result.has_order ? strlen(e->result.item) : e->msg->key_len;
        if (!result_sink_publish_result(pl->sink, ps->span, &e->result, key, key_len, err, errlen)) return false;
        if (e->replay) pl->stats.replayed++;
        if (!e->valid) pl->stats.invalid++;
        else if (e->result.duplicate) pl->stats.duplicates++;
        else if (e->result.status == OL_STATUS_ACCEPTED) pl->stats.accepted++;
        else pl->stats.rejected++;
    }
    for (size_t i = 0; i < pl->batch_len; i++)
        if (!pl->batch[i].valid && !pl->batch[i].order.order_id[0]) pl->stats.invalid++;
    for (size_t p = 0; p < pl->n_parts; p++)
        if (pl->parts[p].span) result_sink_close_span(pl->sink, pl->parts[p].span);
    return true;
}

typedef enum { BATCH_DONE, BATCH_DROPPED, BATCH_FAILED } batch_outcome;

/* Reacts to a failed store call; returns whether to try the batch again. */
static bool recover(order_pipeline *pl, store_status st, const char *err, int *attempt) {
    switch (st) {
    case STORE_OK: return true;
    case STORE_FENCED:
        /* Another process has moved a stored position: we are probably a
         * zombie that missed a rebalance (paused past the session timeout),
         * so every partition we think we own is suspect. Give them all up
         * until the backoff ends; reclaim_fenced() then takes back those the
         * group still says are ours, from freshly read positions. */
        pl->stats.fenced++;
        ol_warn("batch abandoned, nothing applied: %s; pausing all partitions for %d ms", err, FENCE_BACKOFF_MS);
        drop_batch(pl, NULL);
        for (size_t p = 0; p < pl->n_parts; p++) {
            partition_state *ps = &pl->parts[p];
            if (!ps->assigned) continue;
            ps->assigned = false;
            ps->fenced_until = ol_monotonic_ms() + FENCE_BACKOFF_MS;
            order_source_pause(pl->source, (int32_t)p);
        }
        return false;
    case STORE_BROKEN:
        ol_warn("PostgreSQL connection lost (%s); the batch will be redone or found committed", err);
        if (reconnect_store(pl)) resync(pl);
        else pl->resync_needed = true;
        return false;
    case STORE_RETRY:
        pl->stats.retries++;
        (*attempt)++;
        ol_warn("batch rolled back (attempt %d of %d): %s", *attempt, MAX_ATTEMPTS, err);
        if (*attempt < MAX_ATTEMPTS) sleep_ms(50L * *attempt);
        return *attempt < MAX_ATTEMPTS;
    }
    return false;
}

static batch_outcome process_batch(order_pipeline *pl, char *err, size_t errlen) {
    size_t n_items, n_ids, n_adv, n_new = 0;
    if (!prepare(pl, &n_items, &n_ids, &n_adv)) {
        ol_seterr(err, errlen, "out of memory preparing a batch");
        return BATCH_FAILED;
    }
    int attempt = 0;
    char why[1024];
    for (;;) {
        if (*pl->stop && attempt > 0) return BATCH_DROPPED;
        ol_decider_clear(pl->decider);
        size_t n_acks = collect_acks(pl, NULL);
        int32_t fenced = -1;
        store_status st =
            order_store_begin_batch(pl->store, pl->advances, n_adv, pl->acks, n_acks, pl->items, n_items,
                                    pl->order_ids, n_ids, pl->decider, &fenced, why, sizeof why);
        if (st == STORE_OK) {
            if (!decide(pl, &n_new)) {
                ol_seterr(err, errlen, "out of memory deciding a batch");
                return BATCH_FAILED;
            }
            st = order_store_commit_batch(pl->store, pl->decisions, n_new, pl->decider, why, sizeof why);
            if (st == STORE_OK) {
                for (size_t i = 0; i < n_acks; i++)
                    pl->parts[pl->acks[i].partition].acked_saved = pl->acks[i].results_offset;
                break;
            }
        }
        if (!recover(pl, st, why, &attempt)) {
            if (st == STORE_RETRY) {
                ol_seterr(err, errlen, "batch failed %d times, last: %s", attempt, why);
                return BATCH_FAILED;
            }
            return BATCH_DROPPED;
        }
    }
    if (pl->crash_after_commit && pl->stats.batches + 1 == pl->crash_after_commit) {
        ol_error("failpoint: crashing after commit of batch %" PRIu64 ", before publishing", pl->crash_after_commit);
        raise(SIGKILL);
    }
    for (size_t i = 0; i < n_adv; i++) {
        partition_state *ps = &pl->parts[pl->advances[i].partition];
        ps->stored = true;
        ps->decided = pl->advances[i].new_next;
    }
    if (!publish(pl, err, errlen)) return BATCH_FAILED;
    pl->stats.batches++;
    pl->stats.messages += pl->batch_len;
    ol_debug("batch of %zu messages: %zu new decisions, %zu items", pl->batch_len, n_new, n_items);
    return BATCH_DONE;
}

bool order_pipeline_run(order_pipeline *pl, char *err, size_t errlen) {
    const ol_settings *s = pl->settings;
    bool ok = true;
    while (!*pl->stop) {
        if (!collect(pl, err, errlen)) {
            ok = false;
            break;
        }
        result_sink_poll(pl->sink, 0);
        if (result_sink_failed(pl->sink, err, errlen)) {
            ok = false;
            break;
        }
        if (pl->resync_needed && !resync(pl)) continue;
        reclaim_fenced(pl);
        if (pl->batch_len > 0) {
            batch_outcome outcome = process_batch(pl, err, errlen);
            drop_batch(pl, NULL); /* messages are done with, either way */
            if (outcome == BATCH_FAILED) {
                ok = false;
                break;
            }
        }
        int64_t now = ol_monotonic_ms();
        if (now - pl->last_report_ms >= 10000) {
            report_stats(pl, "progress");
            pl->last_report_ms = now;
        }
        if (pl->batch_len == 0 && now - pl->last_message_ms >= 250) save_acks(pl, NULL);
        if (s->idle_exit_s > 0 && now - pl->last_message_ms >= s->idle_exit_s * 1000 &&
            (pl->ever_assigned || now - pl->started_ms >= 60000)) {
            result_sink_flush(pl->sink, 10000);
            if (result_sink_idle(pl->sink)) {
                save_acks(pl, NULL);
                ol_info("nothing new for %ld s: exiting (--idle-exit)", s->idle_exit_s);
                break;
            }
        }
    }
    report_stats(pl, "final");
    return ok;
}

#include "pipeline.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ol_decide.h"
#include "ol_decider.h"
#include "ol_kafka.h"
#include "ol_log.h"
#include "ol_map.h"
#include "murmur2.h"
#include "ol_str.h"
#include "metrics.h"
#include "ol_metrics.h"
#include "sink.h"
#include "source.h"
#include "store.h"

#define MAX_ATTEMPTS 20 /* per batch, for transient conflicts */
/* After a fence, how long a partition stays given up before we look again.
 * A zombie learns within this time that its assignment is lost; a rightful
 * owner fenced by a zombie's late commit takes the partition back. */
#define FENCE_BACKOFF_MS 3000
#define METRICS_EVERY_MS 250
/* When idle, how often to check the PostgreSQL connection is still there. */
#define DB_PING_EVERY_MS 5000

typedef struct partition_state {
    bool assigned;
    bool stored;           /* consumer_positions has a row */
    int64_t decided;       /* its next_offset: orders below are decided */
    int64_t acked_saved;   /* its results_offset as last written or read */
    int64_t next_expected; /* lowest offset accepted from Kafka (stale filter) */
    int64_t fenced_until;  /* given up after a fence until then (monotonic ms); 0: not */
    /* Scratch of plan(), for the batch being planned. */
    int64_t first_new; /* first offset >= decided in the batch, -1 none */
    int64_t last;      /* last offset in the batch */
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

/* One batch's messages and the parameters of its transaction. Two exist:
 * one being collected while the other's commit is in flight. */
typedef struct batch {
    batch_entry *entries;
    size_t len;
    bool parsed;
    bool begun; /* round trip 1 sent and not yet read: must not be dropped */
    const char **items;
    size_t n_items;
    const char **order_ids;
    size_t n_ids;
    store_advance *advances;
    size_t n_adv;
    store_ack *acks;
    size_t n_acks;
    const ol_result **decisions;
    size_t n_new;
    int attempts;
    int64_t t_start, t_locked, t_decided, t_sent; /* us, for the debug timing line */
} batch;

typedef enum { BATCH_DONE, BATCH_STARTED, BATCH_DROPPED, BATCH_FAILED } batch_outcome;

/* Where the loop's time goes (us), for the final line with ORDERLINE_DEBUG:
 * the loop is one thread, so these say what bounds throughput. */
enum { T_COLLECT, T_PARSE, T_SETTLE, T_PLAN, T_SEND1, T_PUBLISH, T_WAIT1, T_DECIDE, T_SEND2, T_COUNT };
static const char *const loop_phase_names[T_COUNT] = {"collect", "parse",   "settle (commit wait)",
                                                      "plan",    "send 1",  "publish",
                                                      "wait 1",  "decide",  "send 2"};

#define MAX_LANES ORDER_SOURCE_MAX_LANES

/* A lane owns one PostgreSQL connection and the partitions p with
 * p % n_lanes == its index, so lanes never touch each other's position rows
 * and their transactions run on separate backends in parallel. Each lane
 * keeps one batch collecting and one whose commit is in flight. */
typedef struct lane {
    size_t index;
    order_store *store;
    batch batches[2];
    batch *collecting;
    batch *flight;
    bool in_flight;
} lane;

struct order_pipeline {
    const ol_settings *settings;
    volatile sig_atomic_t *stop;
    order_store *admin; /* positions, idle acknowledgements, health pings: never in flight */
    lane lanes[MAX_LANES];
    size_t n_lanes;
    result_sink *sink;
    order_source *source;
    ol_decider *decider;
    ol_map *dedup;   /* scratch: distinct items / order_ids of a batch */
    ol_map *overlap; /* scratch: items of the lanes' batches in one round */

    partition_state *parts;
    size_t n_parts;
    int32_t topic_partitions; /* for misrouting checks; 0 unknown */

    size_t batch_cap;            /* messages per batch, per lane (--batch-max) */
    rd_kafka_message_t **fetched; /* scratch for collect, batch_cap long */
    rd_kafka_message_t *stray;    /* from the consumer queue, its lane was full */
    store_ack *acks; /* scratch for save_acks */
    size_t acks_cap;
    ack_span **spans; /* scratch for publish(), per partition */
    int64_t *span_ends;
    size_t spans_cap;

    /* Test hooks, armed by ORDERLINE_FAILPOINT; 0: off.
     * crash-after-commit:N: die like kill -9 right after the Nth batch
     * commits, before its answers are published, to prove they are published
     * after restart.
     * stop-in-transaction:N: freeze (SIGSTOP) right after round trip 1 of the
     * Nth batch start is answered, so that the transaction is open and holds
     * its row locks, as a zombie frozen at the worst moment would. */
    uint64_t crash_after_commit;
    uint64_t stop_in_transaction;
    uint64_t transactions_opened;

    ol_metrics *metrics;        /* working copy, published every METRICS_EVERY_MS */
    consumer_metrics *http;     /* NULL without --metrics-addr */
    int64_t metrics_published_ms;
    int64_t db_checked_ms;      /* last time PostgreSQL was used or pinged */

    bool ever_assigned; /* joined the group (for /healthz), perhaps with no partition */
    bool ever_owned;    /* has had a partition: --idle-exit may apply */
    bool resync_needed;
    bool failed; /* a fatal error happened inside a callback; see error */
    char error[1024];
    int64_t started_ms;
    int64_t last_message_ms;
    int64_t last_report_ms;
    int64_t loop_us[T_COUNT];
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

static void batch_drop(batch *b, const rd_kafka_topic_partition_list_t *only);

static lane *lane_of(order_pipeline *pl, int32_t partition) { return &pl->lanes[(size_t)partition % pl->n_lanes]; }

static bool any_in_flight(const order_pipeline *pl) {
    for (size_t i = 0; i < pl->n_lanes; i++)
        if (pl->lanes[i].in_flight) return true;
    return false;
}

static size_t collected(const order_pipeline *pl) {
    size_t n = 0;
    for (size_t i = 0; i < pl->n_lanes; i++) n += pl->lanes[i].collecting->len;
    return n;
}

/* Drops collected messages (of the given partitions, or all) that no
 * transaction has started on. A begun batch is left to finish: its own
 * fence decides whether it may commit. */
static void drop_collected(order_pipeline *pl, const rd_kafka_topic_partition_list_t *only) {
    for (size_t i = 0; i < pl->n_lanes; i++)
        if (!pl->lanes[i].collecting->begun) batch_drop(pl->lanes[i].collecting, only);
}

static void sleep_ms(int64_t ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static bool batch_init(batch *b, size_t cap, size_t acks_cap) {
    memset(b, 0, sizeof *b);
    b->entries = calloc(cap, sizeof *b->entries);
    b->items = calloc(cap, sizeof *b->items);
    b->order_ids = calloc(cap, sizeof *b->order_ids);
    b->advances = calloc(cap, sizeof *b->advances);
    b->acks = calloc(acks_cap, sizeof *b->acks);
    b->decisions = calloc(cap, sizeof *b->decisions);
    return b->entries && b->items && b->order_ids && b->advances && b->acks && b->decisions;
}

static void batch_free(batch *b) {
    for (size_t i = 0; i < b->len; i++) rd_kafka_message_destroy(b->entries[i].msg);
    free(b->entries);
    free(b->items);
    free(b->order_ids);
    free(b->advances);
    free(b->acks);
    free(b->decisions);
    memset(b, 0, sizeof *b);
}

/* Drops a batch's messages of the given partitions (all when NULL). */
static void batch_drop(batch *b, const rd_kafka_topic_partition_list_t *only) {
    size_t kept = 0;
    for (size_t i = 0; i < b->len; i++) {
        bool drop = !only;
        for (int j = 0; only && j < only->cnt; j++) drop |= only->elems[j].partition == b->entries[i].msg->partition;
        if (drop) rd_kafka_message_destroy(b->entries[i].msg);
        else b->entries[kept++] = b->entries[i];
    }
    b->len = kept;
    if (!only) b->parsed = false;
}

/* Reconnects one connection with backoff until it works or stop is set. */
static bool reconnect_store(order_pipeline *pl, order_store *store) {
    int64_t backoff = 200;
    char err[1024];
    while (!*pl->stop) {
        if (order_store_reconnect(store, err, sizeof err)) {
            pl->metrics->postgres_reconnects++;
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
        store_status st = order_store_load_positions(pl->admin, ids, n, out, err, sizeof err);
        if (st == STORE_OK) return true;
        pl->metrics->postgres_errors++;
        ol_warn("%s; retrying in %" PRId64 " ms", err, backoff);
        if (st == STORE_BROKEN && !reconnect_store(pl, pl->admin)) return false;
        sleep_ms(backoff);
        if (backoff < 5000) backoff *= 2;
    }
    return false;
}

/* Where a partition starts: the oldest answer not acknowledged, so that
 * answers lost in a crash are published again before new decisions; a
 * partition never seen starts at its oldest message. */
static int64_t start_offset(order_pipeline *pl, const store_position *pos) {
    return pos->stored ? pos->results_offset : order_source_low_watermark(pl->source, pos->partition);
}

static void apply_position(order_pipeline *pl, const store_position *pos) {
    partition_state *ps = part(pl, pos->partition);
    if (!ps) return;
    ps->stored = pos->stored;
    ps->decided = pos->stored ? pos->next_offset : 0;
    ps->acked_saved = pos->stored ? pos->results_offset : 0;
    ps->next_expected = pos->stored ? pos->results_offset : 0;
}

/* Records acknowledged answers for the given partitions (all when NULL),
 * of one lane (all when NULL), into out (capacity pl->acks_cap); returns
 * how many. A lane records only its own partitions: two lanes updating each
 * other's position rows could deadlock. */
static size_t collect_acks(order_pipeline *pl, const rd_kafka_topic_partition_list_t *only, const lane *ln,
                           store_ack *out) {
    size_t n = 0;
    for (size_t p = 0; p < pl->n_parts; p++) {
        partition_state *ps = &pl->parts[p];
        if (!ps->assigned || !ps->stored) continue;
        if (ln && p % pl->n_lanes != ln->index) continue;
        if (only) {
            bool wanted = false;
            for (int i = 0; i < only->cnt; i++) wanted |= only->elems[i].partition == (int32_t)p;
            if (!wanted) continue;
        }
        int64_t acked = result_sink_acked(pl->sink, (int32_t)p);
        if (acked > ps->decided) acked = ps->decided;
        if (acked > ps->acked_saved && n < pl->acks_cap) out[n++] = (store_ack){(int32_t)p, acked};
    }
    return n;
}

static batch_outcome finish_in_flight(order_pipeline *pl, lane *ln, char *err, size_t errlen);

static void save_acks(order_pipeline *pl, const rd_kafka_topic_partition_list_t *only) {
    if (any_in_flight(pl)) return; /* the next batches carry them */
    size_t n = collect_acks(pl, only, NULL, pl->acks);
    if (n == 0) return;
    char err[1024];
    if (order_store_save_acks(pl->admin, pl->acks, n, err, sizeof err) != STORE_OK) {
        pl->metrics->postgres_errors++;
        ol_warn("%s (answers will be republished after a restart)", err);
        return;
    }
    for (size_t i = 0; i < n; i++) pl->parts[pl->acks[i].partition].acked_saved = pl->acks[i].results_offset;
}

/* Finishes the batch in flight from inside a rebalance callback, where
 * errors cannot be returned: a failure is parked in pl->failed. */
static void settle_in_flight(order_pipeline *pl) {
    for (size_t i = 0; i < pl->n_lanes; i++)
        if (pl->lanes[i].in_flight && finish_in_flight(pl, &pl->lanes[i], pl->error, sizeof pl->error) == BATCH_FAILED)
            pl->failed = true;
}

static void on_assign(void *ctx, rd_kafka_topic_partition_list_t *list) {
    order_pipeline *pl = ctx;
    settle_in_flight(pl); /* the store must be free to read positions */
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
        pl->metrics->partitions_assigned++;
        list->elems[i].offset = start_offset(pl, &pos[i]);
        ol_info("assigned %s [%d]: decided up to %" PRId64 ", answers acknowledged up to %" PRId64 "%s",
                list->elems[i].topic, ids[i], ps->decided, ps->acked_saved,
                pos[i].stored ? "" : " (new: from the beginning)");
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

static void on_revoke(void *ctx, const rd_kafka_topic_partition_list_t *list, bool lost) {
    order_pipeline *pl = ctx;
    /* The batch in flight is committed or not; settle it before letting go
     * (if ownership was lost, its fence decides). Messages collected but not
     * decided are dropped: the next owner reads them from the stored
     * positions. */
    settle_in_flight(pl);
    drop_collected(pl, list);
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
        if (lost) pl->metrics->partitions_lost++;
        else pl->metrics->partitions_revoked++;
        ol_info("%s %s [%d]", lost ? "lost" : "revoked", list->elems[i].topic, list->elems[i].partition);
    }
}

/* Re-reads every assigned partition's position and seeks to it, after a
 * lost connection left our view of PostgreSQL in doubt. */
static bool resync(order_pipeline *pl) {
    drop_collected(pl, NULL);
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
        int64_t from = start_offset(pl, &pos);
        if (!order_source_seek(pl->source, id, from, err, sizeof err)) {
            ol_warn("%s", err);
            ps->fenced_until = now + FENCE_BACKOFF_MS;
            continue;
        }
        ps->assigned = true;
        order_source_resume(pl->source, id);
        ol_info("partition %d is still ours after a fence: resuming from %" PRId64, id, from);
    }
}

/* The progress/final line, from the same counters as /metrics. rejected
 * counts every rejected answer, invalid ones included; invalid counts the
 * messages copied to the DLQ. */
static void report_stats(order_pipeline *pl, const char *when) {
    const ol_metrics *m = pl->metrics;
    ol_info("%s: %" PRIu64 " messages in %" PRIu64 " batches: %" PRIu64 " accepted, %" PRIu64 " rejected, %" PRIu64
            " duplicates, %" PRIu64 " invalid, %" PRIu64 " re-answered after restart, %" PRIu64 " misrouted, %" PRIu64
            " fenced, %" PRIu64 " retries",
            when, (uint64_t)m->batch_size.sum, m->batch_size.count, m->accepted,
            m->rejected_insufficient_stock + m->rejected_unknown_item + m->rejected_invalid, m->duplicates, m->dlq,
            m->replayed, m->misrouted, m->fenced, m->retries);
    char line[512];
    size_t used = 0;
    for (int i = 0; i < T_COUNT && used < sizeof line; i++)
        used += (size_t)snprintf(line + used, sizeof line - used, "%s%s %.2f s", i ? ", " : "", loop_phase_names[i],
                                 (double)pl->loop_us[i] / 1e6);
    ol_debug("%s: loop time: %s", when, line);
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
    pl->decider = ol_decider_new();
    pl->dedup = ol_map_new();
    pl->overlap = ol_map_new();
    pl->metrics = malloc(sizeof *pl->metrics);
    if (!pl->decider || !pl->dedup || !pl->overlap || !pl->metrics) {
        ol_seterr(err, errlen, "out of memory");
        goto fail;
    }
    ol_metrics_init(pl->metrics);
    if (settings->metrics_addr) {
        pl->http = consumer_metrics_new(settings->metrics_addr, settings->orders_topic, err, errlen);
        if (!pl->http) goto fail;
    }
    pl->admin = order_store_new(settings->db, settings->orders_topic, err, errlen);
    if (!pl->admin) goto fail;
    pl->n_lanes = (size_t)settings->db_connections;
    if (pl->n_lanes < 1) pl->n_lanes = 1;
    if (pl->n_lanes > MAX_LANES) pl->n_lanes = MAX_LANES;
    for (size_t i = 0; i < pl->n_lanes; i++) {
        pl->lanes[i].index = i;
        pl->lanes[i].store = order_store_new(settings->db, settings->orders_topic, err, errlen);
        if (!pl->lanes[i].store) goto fail;
    }
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
    /* acks: one per partition at most; sized for the topic with room to grow. */
    pl->acks_cap = (size_t)(count > 0 ? count : 1) + 1024;
    pl->acks = calloc(pl->acks_cap, sizeof *pl->acks);
    pl->fetched = calloc(pl->batch_cap, sizeof *pl->fetched);
    bool ok = pl->acks && pl->fetched;
    for (size_t i = 0; ok && i < pl->n_lanes; i++) {
        lane *ln = &pl->lanes[i];
        ok = batch_init(&ln->batches[0], pl->batch_cap, pl->acks_cap) &&
             batch_init(&ln->batches[1], pl->batch_cap, pl->acks_cap);
        ln->collecting = &ln->batches[0];
        ln->flight = &ln->batches[1];
    }
    if (!ok) {
        ol_seterr(err, errlen, "out of memory");
        goto fail;
    }
    const char *failpoint = getenv("ORDERLINE_FAILPOINT");
    if (failpoint && sscanf(failpoint, "crash-after-commit:%" SCNu64, &pl->crash_after_commit) == 1)
        ol_warn("failpoint armed: crash after batch %" PRIu64 " commits", pl->crash_after_commit);
    if (failpoint && sscanf(failpoint, "stop-in-transaction:%" SCNu64, &pl->stop_in_transaction) == 1)
        ol_warn("failpoint armed: freeze inside the transaction of batch start %" PRIu64, pl->stop_in_transaction);
    order_source_listener listener = {pl, on_assign, on_revoke};
    pl->source = order_source_new(settings, pl->n_lanes, &listener, err, errlen);
    if (!pl->source) goto fail;
    pl->started_ms = pl->last_message_ms = pl->last_report_ms = ol_monotonic_ms();
    return pl;
fail:
    order_pipeline_destroy(pl);
    return NULL;
}

void order_pipeline_destroy(order_pipeline *pl) {
    if (!pl) return;
    char err[1024];
    for (size_t i = 0; i < pl->n_lanes; i++)
        if (pl->lanes[i].in_flight && finish_in_flight(pl, &pl->lanes[i], err, sizeof err) == BATCH_FAILED)
            ol_error("%s", err);
    if (pl->stray) rd_kafka_message_destroy(pl->stray);
    /* Leave the group first: the final revoke still needs sink and stores. */
    order_source_destroy(pl->source);
    pl->source = NULL;
    if (pl->sink && pl->admin && !any_in_flight(pl)) {
        result_sink_flush(pl->sink, 10000);
        for (size_t p = 0; p < pl->n_parts; p++) pl->parts[p].assigned = pl->parts[p].stored;
        save_acks(pl, NULL);
    }
    consumer_metrics_destroy(pl->http);
    free(pl->metrics);
    for (size_t i = 0; i < pl->n_lanes; i++) {
        batch_free(&pl->lanes[i].batches[0]);
        batch_free(&pl->lanes[i].batches[1]);
    }
    result_sink_destroy(pl->sink);
    for (size_t i = 0; i < pl->n_lanes; i++) order_store_destroy(pl->lanes[i].store);
    order_store_destroy(pl->admin);
    ol_decider_destroy(pl->decider);
    ol_map_destroy(pl->dedup);
    ol_map_destroy(pl->overlap);
    free(pl->acks);
    free(pl->fetched);
    free(pl->spans);
    free(pl->span_ends);
    free(pl->parts);
    free(pl);
}

/* Puts a fetched message into its lane's collecting batch, which must have
 * room, unless it is stale (from before a seek or a revoke). */
static bool accept_message(order_pipeline *pl, rd_kafka_message_t *msg) {
    partition_state *ps = part(pl, msg->partition);
    if (!ps || !ps->assigned || msg->offset < ps->next_expected) {
        rd_kafka_message_destroy(msg);
        return false;
    }
    ps->next_expected = msg->offset + 1;
    batch *b = lane_of(pl, msg->partition)->collecting;
    memset(&b->entries[b->len], 0, sizeof b->entries[0]);
    b->entries[b->len++].msg = msg;
    b->parsed = false;
    return true;
}

/* True when every lane that holds a partition has a full batch. */
static bool lanes_full(order_pipeline *pl) {
    bool any = false;
    for (size_t p = 0; p < pl->n_parts; p++) {
        if (!pl->parts[p].assigned) continue;
        any = true;
        if (lane_of(pl, (int32_t)p)->collecting->len < pl->batch_cap) return false;
    }
    return any;
}

/* Takes what is already fetched into the lanes' collecting batches; returns
 * how many messages were accepted. */
static size_t take_fetched(order_pipeline *pl, bool *fatal, char *err, size_t errlen) {
    size_t got = 0;
    /* The consumer queue: rebalances run here; a message shows up only for
     * a partition that could not be routed to its lane. */
    if (pl->stray && lane_of(pl, pl->stray->partition)->collecting->len < pl->batch_cap) {
        got += accept_message(pl, pl->stray);
        pl->stray = NULL;
    }
    while (!pl->stray) {
        rd_kafka_message_t *msg = order_source_poll(pl->source, fatal, err, errlen);
        if (*fatal || !msg) break;
        if (lane_of(pl, msg->partition)->collecting->len < pl->batch_cap) got += accept_message(pl, msg);
        else pl->stray = msg; /* its lane is full: first in next time */
    }
    for (size_t i = 0; i < pl->n_lanes && !*fatal; i++) {
        batch *b = pl->lanes[i].collecting;
        size_t n = order_source_take(pl->source, i, pl->fetched, pl->batch_cap - b->len, fatal, err, errlen);
        for (size_t k = 0; k < n; k++) got += accept_message(pl, pl->fetched[k]);
    }
    return got;
}

/* Fills the lanes' collecting batches until every lane holding partitions
 * has batch_max messages, or batch_linger_ms has passed since the first
 * message of this call. With a commit in flight, takes only what is
 * already fetched: that commit's answers must not wait for a linger.
 * Rebalance callbacks run in here. */
static bool collect(order_pipeline *pl, char *err, size_t errlen) {
    int64_t deadline = -1;
    bool flying = any_in_flight(pl), waited = false;
    while (!*pl->stop && !pl->failed) {
        bool fatal = false;
        size_t got = take_fetched(pl, &fatal, err, errlen);
        if (fatal) return false;
        int64_t now = ol_monotonic_ms();
        if (got > 0) {
            pl->last_message_ms = now;
            if (deadline < 0) deadline = now + pl->settings->batch_linger_ms;
        }
        if (flying || lanes_full(pl) || (deadline >= 0 && now >= deadline)) break;
        if (got > 0) continue; /* more may be fetched already */
        if (deadline < 0 && waited) break; /* idle: let the loop do its chores */
        order_source_wait(pl->source, deadline < 0 ? 100 : (int)(deadline - now));
        waited = true;
    }
    return !pl->failed || (ol_seterr(err, errlen, "%s", pl->error), false);
}

/* Parses and validates every message. Independent of PostgreSQL, so it
 * runs while the previous batch commits. */
static void parse(batch *b) {
    if (b->parsed) return;
    for (size_t i = 0; i < b->len; i++) {
        batch_entry *e = &b->entries[i];
        e->answered = false;
        e->valid = ol_order_parse(e->msg->payload, e->msg->len, e->msg->key, e->msg->key_len, &e->order, e->error,
                                  sizeof e->error);
    }
    b->parsed = true;
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
    uint64_t misrouted = ++pl->metrics->misrouted;
    /* Decisions stay correct (row locks and the CHECK hold); log sparingly. */
    if (misrouted <= 10 || misrouted % 1000 == 0)
        ol_warn("misrouted order '%s' for item '%s' at partition %d offset %" PRId64
                " (murmur2 puts it in partition %d; %" PRIu64 " so far)",
                e->order.order_id, e->order.item, e->msg->partition, e->msg->offset, want, misrouted);
}

/* Plans the batch's transaction from the partitions' current positions:
 * which messages are re-reads of decided ones, what to lock, look up and
 * advance. Must run after the previous batch has been settled. */
static bool plan(order_pipeline *pl, batch *b) {
    ol_map_clear(pl->dedup);
    b->n_items = b->n_ids = b->n_adv = 0;
    b->attempts = 0;
    for (size_t p = 0; p < pl->n_parts; p++) pl->parts[p].first_new = -1;
    for (size_t i = 0; i < b->len; i++) {
        batch_entry *e = &b->entries[i];
        partition_state *ps = &pl->parts[e->msg->partition];
        e->replay = e->msg->offset < ps->decided;
        ps->last = e->msg->offset;
        if (!e->replay && ps->first_new < 0) ps->first_new = e->msg->offset;
        if (!e->valid) continue;
        if (!e->replay) {
            check_routing(pl, e);
            if (!add_distinct(pl, b->items, &b->n_items, e->order.item)) return false;
        }
        if (!add_distinct(pl, b->order_ids, &b->n_ids, e->order.order_id)) return false;
    }
    for (size_t p = 0; p < pl->n_parts; p++) {
        partition_state *ps = &pl->parts[p];
        if (ps->first_new < 0) continue;
        b->advances[b->n_adv++] = (store_advance){(int32_t)p, ps->stored, ps->decided, ps->first_new, ps->last + 1};
    }
    return true;
}

/* Decides every message of the batch in order; collects new decisions. */
static bool decide(order_pipeline *pl, batch *b) {
    int64_t now = ol_now_us();
    b->n_new = 0;
    for (size_t i = 0; i < b->len; i++) {
        batch_entry *e = &b->entries[i];
        e->answered = false;
        if (!e->valid) {
            if (!e->order.order_id[0]) continue; /* nothing to answer to: DLQ only */
            ol_decide_invalid(e->order.order_id, e->msg->partition, e->msg->offset, now, e->error, &e->result);
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
        if (kind == OL_DECIDED_NEW) b->decisions[b->n_new++] = &e->result;
    }
    return true;
}

/* Publishes every answer of a committed batch, in log order. Works from
 * the batch alone: the partitions' per-batch fields may already describe
 * the next batch. */
static bool publish(order_pipeline *pl, batch *b, char *err, size_t errlen) {
    if (b->len == 0) return true;
    if (pl->spans_cap < pl->n_parts) {
        ack_span **grown = realloc(pl->spans, pl->n_parts * sizeof *grown);
        int64_t *ends = realloc(pl->span_ends, pl->n_parts * sizeof *ends);
        if (grown) pl->spans = grown;
        if (ends) pl->span_ends = ends;
        if (!grown || !ends) {
            ol_seterr(err, errlen, "out of memory");
            return false;
        }
        pl->spans_cap = pl->n_parts;
    }
    for (size_t p = 0; p < pl->n_parts; p++) {
        pl->spans[p] = NULL;
        pl->span_ends[p] = -1;
    }
    for (size_t i = 0; i < b->len; i++) pl->span_ends[b->entries[i].msg->partition] = b->entries[i].msg->offset + 1;
    for (size_t p = 0; p < pl->n_parts; p++) {
        if (pl->span_ends[p] < 0) continue;
        pl->spans[p] = result_sink_open_span(pl->sink, (int32_t)p, pl->span_ends[p]);
        if (!pl->spans[p]) {
            ol_seterr(err, errlen, "out of memory");
            return false;
        }
    }
    bool ok = true;
    for (size_t i = 0; ok && i < b->len; i++) {
        batch_entry *e = &b->entries[i];
        ack_span *span = pl->spans[e->msg->partition];
        if (!e->valid && !result_sink_publish_dlq(pl->sink, span, e->msg, e->error, err, errlen)) ok = false;
        if (!ok) break;
        if (!e->valid) pl->metrics->dlq++;
        if (!e->answered) continue;
        const void *key = e->result.has_order ? e->result.item : e->msg->key;
        size_t key_len = e->result.has_order ? strlen(e->result.item) : e->msg->key_len;
        if (!result_sink_publish_result(pl->sink, span, &e->result, key, key_len, err, errlen)) ok = false;
        if (!ok) break;
        ol_metrics *m = pl->metrics;
        if (e->replay) {
            m->replayed++;
            continue;
        }
        if (!e->valid) {
            m->rejected_invalid++;
            continue;
        }
        if (e->result.duplicate) {
            m->duplicates++;
        } else if (e->result.status == OL_STATUS_ACCEPTED) {
            m->accepted++;
        } else {
            if (e->result.reason == OL_REASON_INSUFFICIENT_STOCK) m->rejected_insufficient_stock++;
            else if (e->result.reason == OL_REASON_UNKNOWN_ITEM) m->rejected_unknown_item++;
            else m->rejected_invalid++;
        }
    }
    for (size_t p = 0; p < pl->n_parts; p++)
        if (pl->spans[p]) result_sink_close_span(pl->sink, pl->spans[p]);
    return ok;
}

/* Reacts to a failed store call; returns whether to try the batch again. */
static bool recover(order_pipeline *pl, lane *ln, batch *b, store_status st, const char *err) {
    if (st != STORE_OK) pl->metrics->postgres_errors++;
    switch (st) {
    case STORE_OK: return true;
    case STORE_FENCED:
        /* Another process has moved a stored position: we are probably a
         * zombie that missed a rebalance (paused past the session timeout),
         * so every partition we think we own is suspect. Give them all up
         * until the backoff ends; reclaim_fenced() then takes back those the
         * group still says are ours, from freshly read positions. */
        pl->metrics->fenced++;
        ol_warn("batch abandoned, nothing applied: %s; pausing all partitions for %d ms", err, FENCE_BACKOFF_MS);
        drop_collected(pl, NULL);
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
        drop_collected(pl, NULL);
        if (reconnect_store(pl, ln->store)) resync(pl);
        else pl->resync_needed = true;
        return false;
    case STORE_RETRY:
        pl->metrics->retries++;
        b->attempts++;
        ol_warn("batch rolled back (attempt %d of %d): %s", b->attempts, MAX_ATTEMPTS, err);
        if (b->attempts < MAX_ATTEMPTS) sleep_ms(50L * b->attempts);
        return b->attempts < MAX_ATTEMPTS;
    }
    return false;
}

/* Sends round trip 1 of a planned batch. From here until run_start reads
 * the answer, the batch is "begun" and nothing may drop it. */
static store_status send_start(order_pipeline *pl, lane *ln, batch *b, char *why, size_t whylen) {
    b->begun = true;
    b->t_start = ol_now_us();
    b->n_acks = collect_acks(pl, NULL, ln, b->acks);
    return order_store_send_begin(ln->store, b->advances, b->n_adv, b->acks, b->n_acks, b->items, b->n_items,
                                  b->order_ids, b->n_ids, why, whylen);
}

/* Reads round trip 1 (sent with outcome st), decides, and sends round trip
 * 2 without waiting. Conflicts are retried from round trip 1. Returns
 * STARTED (commit in flight), DROPPED (abandoned cleanly) or FAILED. */
static batch_outcome run_start(order_pipeline *pl, lane *ln, batch *b, store_status st, char *why, size_t whylen,
                               char *err, size_t errlen) {
    for (;;) {
        int64_t t0 = ol_now_us();
        b->begun = false;
        int32_t fenced = -1;
        if (st == STORE_OK) {
            ol_decider_clear(pl->decider);
            st = order_store_finish_begin(ln->store, pl->decider, &fenced, why, whylen);
        }
        b->t_locked = ol_now_us();
        pl->loop_us[T_WAIT1] += b->t_locked - t0;
        if (st == STORE_OK && pl->stop_in_transaction && ++pl->transactions_opened == pl->stop_in_transaction) {
            ol_error("failpoint: freezing inside the transaction of batch start %" PRIu64, pl->stop_in_transaction);
            raise(SIGSTOP);
        }
        if (st == STORE_OK) {
            if (!decide(pl, b)) {
                ol_seterr(err, errlen, "out of memory deciding a batch");
                return BATCH_FAILED;
            }
            b->t_decided = ol_now_us();
            st = order_store_send_commit(ln->store, b->decisions, b->n_new, pl->decider, why, whylen);
            b->t_sent = ol_now_us();
            pl->loop_us[T_DECIDE] += b->t_decided - b->t_locked;
            pl->loop_us[T_SEND2] += b->t_sent - b->t_decided;
            if (st == STORE_OK) return BATCH_STARTED;
        }
        if (!recover(pl, ln, b, st, why)) {
            if (st == STORE_RETRY) {
                ol_seterr(err, errlen, "batch failed %d times, last: %s", b->attempts, why);
                return BATCH_FAILED;
            }
            return BATCH_DROPPED;
        }
        if (*pl->stop) return BATCH_DROPPED;
        st = send_start(pl, ln, b, why, whylen);
    }
}

/* Starts a batch and waits for round trip 1 (used for retries). */
static batch_outcome start_batch(order_pipeline *pl, lane *ln, batch *b, char *err, size_t errlen) {
    char why[1024];
    store_status st = send_start(pl, ln, b, why, sizeof why);
    return run_start(pl, ln, b, st, why, sizeof why, err, errlen);
}

/* Reads the outcome of the batch in flight. On success its partitions
 * advance and it is left for publishing (*committed set). A conflict is
 * retried from round trip 1; a lost connection or fence drops it. */
static batch_outcome settle(order_pipeline *pl, lane *ln, batch *b, bool *committed, char *err, size_t errlen) {
    char why[1024];
    *committed = false;
    for (;;) {
        int64_t t0 = ol_now_us();
        store_status st = order_store_finish_commit(ln->store, why, sizeof why);
        pl->loop_us[T_SETTLE] += ol_now_us() - t0;
        if (st == STORE_OK) break;
        if (!recover(pl, ln, b, st, why)) {
            if (st == STORE_RETRY) {
                ol_seterr(err, errlen, "batch failed %d times, last: %s", b->attempts, why);
                return BATCH_FAILED;
            }
            batch_drop(b, NULL);
            return BATCH_DROPPED;
        }
        batch_outcome again = start_batch(pl, ln, b, err, errlen);
        if (again != BATCH_STARTED) {
            batch_drop(b, NULL);
            return again;
        }
    }
    if (pl->crash_after_commit && pl->metrics->batch_size.count + 1 == pl->crash_after_commit) {
        ol_error("failpoint: crashing after commit of batch %" PRIu64 ", before publishing", pl->crash_after_commit);
        raise(SIGKILL);
    }
    for (size_t i = 0; i < b->n_adv; i++) {
        partition_state *ps = &pl->parts[b->advances[i].partition];
        ps->stored = true;
        ps->decided = b->advances[i].new_next;
    }
    for (size_t i = 0; i < b->n_acks; i++) pl->parts[b->acks[i].partition].acked_saved = b->acks[i].results_offset;
    ol_histogram_observe(&pl->metrics->batch_size, (double)b->len);
    ol_histogram_observe(&pl->metrics->batch_seconds, (double)(ol_now_us() - b->t_start) / 1e6);
    pl->db_checked_ms = ol_monotonic_ms();
    if (ol_log_enabled(OL_LOG_DEBUG)) {
        /* The oldest message's age from its broker timestamp: how much of an
         * order's latency is spent before this batch's commit returned. */
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
    *committed = true;
    return BATCH_DONE;
}

/* Settles a lane's batch in flight and publishes its answers. */
static batch_outcome finish_in_flight(order_pipeline *pl, lane *ln, char *err, size_t errlen) {
    if (!ln->in_flight) return BATCH_DONE;
    ln->in_flight = false;
    bool committed;
    batch_outcome outcome = settle(pl, ln, ln->flight, &committed, err, errlen);
    if (committed) {
        bool ok = publish(pl, ln->flight, err, errlen);
        batch_drop(ln->flight, NULL);
        if (!ok) return BATCH_FAILED;
    }
    return outcome;
}

/* True when two of the planned batches share an item (only with misrouted
 * producers): their lanes would lock the same rows, and waiting for one
 * lane's round trip 1 while the other holds those locks would deadlock the
 * loop itself. Such rounds run lane after lane. */
static bool items_overlap(order_pipeline *pl, batch *const *planned) {
    ol_map_clear(pl->overlap);
    for (size_t i = 0; i < pl->n_lanes; i++) {
        if (!planned[i]) continue;
        for (size_t k = 0; k < planned[i]->n_items; k++) {
            void *owner = ol_map_get(pl->overlap, planned[i]->items[k]);
            if (owner && owner != (void *)planned[i]) return true;
            if (!ol_map_put(pl->overlap, planned[i]->items[k], planned[i])) return true; /* OOM: be safe */
        }
    }
    return false;
}

/* One step of the steady state, over all lanes at once so that their
 * round trips overlap on the server: settle every commit in flight; send
 * round trip 1 of every collected batch; publish the settled batches'
 * answers while PostgreSQL locks and looks up; then decide each batch and
 * send its commit, which runs while the loop collects the next round. */
static batch_outcome advance(order_pipeline *pl, char *err, size_t errlen) {
    batch *prior[MAX_LANES] = {NULL};
    batch *started[MAX_LANES] = {NULL};
    store_status sent[MAX_LANES];
    char why[MAX_LANES][512];
    int64_t t0 = ol_now_us(), t1;
    /* Parsing needs no database: it overlaps the commits in flight. */
    for (size_t i = 0; i < pl->n_lanes; i++) parse(pl->lanes[i].collecting);
    pl->loop_us[T_PARSE] += (t1 = ol_now_us()) - t0;
    for (size_t i = 0; i < pl->n_lanes; i++) {
        lane *ln = &pl->lanes[i];
        if (!ln->in_flight) continue;
        ln->in_flight = false;
        bool committed;
        if (settle(pl, ln, ln->flight, &committed, err, errlen) == BATCH_FAILED) return BATCH_FAILED;
        if (committed) prior[i] = ln->flight;
    }
    t1 = ol_now_us(); /* settling is timed inside settle() */
    batch_outcome outcome = BATCH_DONE;
    batch *planned[MAX_LANES] = {NULL};
    for (size_t i = 0; i < pl->n_lanes && !pl->resync_needed; i++) {
        batch *next = pl->lanes[i].collecting;
        if (next->len == 0) continue; /* nothing new, or dropped by a fence or resync */
        if (!plan(pl, next)) {
            ol_seterr(err, errlen, "out of memory planning a batch");
            return BATCH_FAILED;
        }
        planned[i] = next;
    }
    pl->loop_us[T_PLAN] += (t0 = ol_now_us()) - t1;
    /* Normally every lane's round trip 1 is sent before any is read; lanes
     * sharing items go one after the other instead. */
    bool parallel = !items_overlap(pl, planned);
    for (size_t i = 0; parallel && i < pl->n_lanes; i++) {
        if (!planned[i]) continue;
        sent[i] = send_start(pl, &pl->lanes[i], planned[i], why[i], sizeof why[i]);
        started[i] = planned[i];
    }
    pl->loop_us[T_SEND1] += (t1 = ol_now_us()) - t0;
    for (size_t i = 0; i < pl->n_lanes; i++) {
        if (!prior[i]) continue;
        if (outcome != BATCH_FAILED && !publish(pl, prior[i], err, errlen)) outcome = BATCH_FAILED;
        batch_drop(prior[i], NULL);
    }
    pl->loop_us[T_PUBLISH] += ol_now_us() - t1;
    for (size_t i = 0; i < pl->n_lanes; i++) {
        lane *ln = &pl->lanes[i];
        batch *next = planned[i];
        if (!next) continue;
        batch_outcome o = BATCH_FAILED;
        if (outcome != BATCH_FAILED && started[i])
            o = run_start(pl, ln, next, sent[i], why[i], sizeof why[i], err, errlen);
        else if (outcome != BATCH_FAILED && next->len > 0)
            o = start_batch(pl, ln, next, err, errlen);
        else if (outcome != BATCH_FAILED)
            o = BATCH_DROPPED; /* dropped by a fence or resync in an earlier lane */
        next->begun = false;
        if (o == BATCH_STARTED) {
            ln->collecting = ln->flight;
            ln->flight = next;
            ln->in_flight = true;
        } else {
            batch_drop(next, NULL);
            if (o == BATCH_FAILED) outcome = BATCH_FAILED;
        }
    }
    return outcome;
}

/* Brings the metrics snapshot up to date: counters plus per-partition gauges. */
static void refresh_metrics(order_pipeline *pl) {
    ol_metrics *m = pl->metrics;
    m->kafka_errors = order_source_error_count(pl->source) + result_sink_error_count(pl->sink);
    m->kafka_unconfirmed = result_sink_unconfirmed_count(pl->sink);
    m->n_partitions = 0;
    for (size_t p = 0; p < pl->n_parts && m->n_partitions < OL_METRICS_MAX_PARTITIONS; p++) {
        const partition_state *ps = &pl->parts[p];
        if (!ps->assigned) continue;
        m->partitions[m->n_partitions++] = (ol_metrics_partition){
            (int32_t)p, ps->decided, ps->acked_saved, order_source_high_watermark(pl->source, (int32_t)p)};
    }
    m->db_connected = order_store_connected(pl->admin);
    for (size_t i = 0; i < pl->n_lanes; i++) m->db_connected = m->db_connected && order_store_connected(pl->lanes[i].store);
    m->consuming = pl->ever_assigned;
}

static void publish_metrics(order_pipeline *pl) {
    refresh_metrics(pl);
    consumer_metrics_publish(pl->http, pl->metrics);
}

bool order_pipeline_write_stats(order_pipeline *pl, const char *path, char *err, size_t errlen) {
    refresh_metrics(pl);
    ol_buf text;
    ol_buf_init(&text);
    char tmp[4096];
    bool ok = false;
    FILE *f = NULL;
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        ol_seterr(err, errlen, "--stats-file %s: path too long", path);
        goto done;
    }
    if (!ol_metrics_render(pl->metrics, pl->settings->orders_topic, &text)) {
        ol_seterr(err, errlen, "--stats-file: out of memory");
        goto done;
    }
    if (!(f = fopen(tmp, "w")) || fwrite(text.data, 1, text.len, f) != text.len) {
        ol_seterr(err, errlen, "--stats-file %s: %s", tmp, strerror(errno));
        goto done;
    }
    int closed = fclose(f);
    f = NULL;
    if (closed != 0 || rename(tmp, path) != 0) {
        ol_seterr(err, errlen, "--stats-file %s: %s", path, strerror(errno));
        goto done;
    }
    ok = true;
done:
    if (f) fclose(f);
    ol_buf_free(&text);
    return ok;
}

/* When idle for a while, makes sure PostgreSQL is still there, so health
 * reflects it and the next batch does not discover the loss. */
static void check_db(order_pipeline *pl, int64_t now) {
    if (now - pl->db_checked_ms < DB_PING_EVERY_MS) return;
    pl->db_checked_ms = now;
    char err[512];
    store_status st = order_store_ping(pl->admin, err, sizeof err);
    if (st == STORE_OK) return;
    pl->metrics->postgres_errors++;
    ol_warn("%s", err);
    if (st == STORE_BROKEN) {
        if (pl->http) publish_metrics(pl); /* show the outage while reconnecting */
        if (reconnect_store(pl, pl->admin)) resync(pl);
        else pl->resync_needed = true;
    }
}

bool order_pipeline_run(order_pipeline *pl, char *err, size_t errlen) {
    const ol_settings *s = pl->settings;
    bool ok = true;
    while (!*pl->stop) {
        int64_t t0 = ol_now_us();
        bool collected_ok = collect(pl, err, errlen);
        pl->loop_us[T_COLLECT] += ol_now_us() - t0;
        if (!collected_ok) {
            ok = false;
            break;
        }
        result_sink_poll(pl->sink, 0);
        if (result_sink_failed(pl->sink, err, errlen)) {
            ok = false;
            break;
        }
        if (pl->resync_needed && !any_in_flight(pl) && !resync(pl)) continue;
        if (collected(pl) > 0 || any_in_flight(pl)) {
            if (advance(pl, err, errlen) == BATCH_FAILED) {
                ok = false;
                break;
            }
        }
        int64_t now = ol_monotonic_ms();
        if (now - pl->last_report_ms >= 10000) {
            report_stats(pl, "progress");
            pl->last_report_ms = now;
        }
        if (pl->http && now - pl->metrics_published_ms >= METRICS_EVERY_MS) {
            publish_metrics(pl);
            pl->metrics_published_ms = now;
        }
        if (any_in_flight(pl)) continue; /* keep the pipeline full while there is work */
        reclaim_fenced(pl);
        check_db(pl, now);
        if (now - pl->last_message_ms >= 250) save_acks(pl, NULL);
        if (s->idle_exit_s > 0 && now - pl->last_message_ms >= s->idle_exit_s * 1000 &&
            (pl->ever_owned || now - pl->started_ms >= 60000)) {
            result_sink_flush(pl->sink, 10000);
            if (result_sink_idle(pl->sink)) {
                save_acks(pl, NULL);
                ol_info("nothing new for %ld s: exiting (--idle-exit)", s->idle_exit_s);
                break;
            }
        }
    }
    for (size_t i = 0; ok && i < pl->n_lanes; i++)
        if (finish_in_flight(pl, &pl->lanes[i], err, errlen) == BATCH_FAILED) ok = false;
    report_stats(pl, "final");
    return ok;
}

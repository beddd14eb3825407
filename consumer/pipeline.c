/* The consumer's loop: collect into the lanes' batches, advance every lane
 * one step, publish the answers of committed batches, and do the chores
 * (metrics, health pings, acknowledgements, --idle-exit). What rebalances,
 * fences and lost connections do is rebalance.c's; a lane's round trips are
 * lanes.c's; a batch's states and logic are batch.c's. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "expiry.h"
#include "lanes.h"
#include "metrics.h"
#include "murmur2.h"
#include "ol_decider.h"
#include "ol_kafka.h"
#include "ol_log.h"
#include "ol_map.h"
#include "ol_metrics.h"
#include "ol_str.h"
#include "partitions.h"
#include "pipeline.h"
#include "probes.h"
#include "publish.h"
#include "rebalance.h"
#include "sink.h"
#include "source.h"
#include "store.h"

#define MAX_LANES ORDER_SOURCE_MAX_LANES

struct order_pipeline {
    const consumer_settings *settings;
    volatile sig_atomic_t *stop;
    order_store *admin; /* positions, idle acknowledgements, health pings, holds: never in flight */
    lane lanes[MAX_LANES];
    size_t n_lanes;
    lane_env env; /* what the lanes share */
    result_sink *sink;
    publisher *pub;
    order_source *source;
    rebalancer *rb;
    partition_table *parts; /* the rebalancer's */
    ol_decider *decider;
    hold_expiry *expiry;      /* which open holds past their deadline get an expire */
    int64_t holds_scanned_ms; /* the last scan of the open holds */
    ol_map *dedup;            /* scratch: distinct items / order_ids of a batch */
    ol_map *overlap;          /* scratch: items of the lanes' batches in one round */
    int32_t topic_partitions; /* for misrouting checks; 0 unknown */
    size_t acks_cap;          /* acknowledgements per batch: one per partition at most */

    size_t batch_cap;             /* messages per batch, per lane (--batch-max) */
    rd_kafka_message_t **fetched; /* scratch for collect, batch_cap long */
    rd_kafka_message_t *stray;    /* from the consumer queue, its lane was full */
    int64_t stray_prev;           /* what the rebalancer's accept said of it */
    uint64_t stray_generation;    /* the rebalancer's generation when it was accepted */

    probes probes;
    ol_metrics *metrics;    /* working copy, published every METRICS_EVERY_MS */
    consumer_metrics *http; /* NULL without --metrics-addr */
    int64_t metrics_published_ms;
    int64_t db_checked_ms; /* last time PostgreSQL was used or pinged */
    bool stopped;          /* order_pipeline_stop has run */
    int64_t started_ms;
    int64_t last_message_ms;
    int64_t last_report_ms;
};

#define METRICS_EVERY_MS 250
/* When idle, how often to check the PostgreSQL connection is still there. */
#define DB_PING_EVERY_MS 5000
#define HOLDS_SCAN_EVERY_MS 1000
#define HOLDS_RESEND_MS 30000
#define HOLDS_OVERDUE_SLACK_US 5000000 /* the bound on a hold outliving its deadline */
#define HOLDS_PER_SCAN 256

static lane *lane_of(order_pipeline *pl, int32_t partition) { return &pl->lanes[(size_t)partition % pl->n_lanes]; }

static bool any_in_flight(const order_pipeline *pl) { return lanes_any_in_flight(pl->lanes, pl->n_lanes); }

static size_t collected(const order_pipeline *pl) {
    size_t n = 0;
    for (size_t i = 0; i < pl->n_lanes; i++) n += pl->lanes[i].collecting->len;
    return n;
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
    probes_format(&pl->probes, line, sizeof line);
    ol_debug("%s: loop time: %s", when, line);
}

/* The results producer, the topics and the routing check's partition count. */
static bool connect_sink(order_pipeline *pl, char *err, size_t errlen) {
    const ol_settings *s = &pl->settings->common;
    pl->sink = result_sink_new(pl->settings, err, errlen);
    if (!pl->sink) return false;
    const char *topics[] = {s->orders_topic, s->results_topic, pl->settings->dlq_topic};
    if (!ol_kafka_ensure_topics(result_sink_handle(pl->sink), topics, 3, (int)s->partitions, 15000, err, errlen))
        return false;
    result_sink_warm_up(pl->sink, 10000);
    char why[512];
    int count = ol_kafka_partition_count(result_sink_handle(pl->sink), s->orders_topic, 10000, why, sizeof why);
    if (count > 0) pl->topic_partitions = count;
    else ol_warn("cannot check message routing: %s", why);
    /* acks: one per partition at most; sized for the topic with room to grow. */
    pl->acks_cap = (size_t)(count > 0 ? count : 1) + 1024;
    return true;
}

static bool open_lanes(order_pipeline *pl, char *err, size_t errlen) {
    const ol_settings *s = &pl->settings->common;
    rebalance_env renv = {pl->stop, pl->lanes, pl->n_lanes, pl->admin, pl->sink, pl->metrics};
    if (!(pl->pub = publisher_new(pl->sink, pl->metrics)) || !(pl->rb = rebalancer_new(&renv))) {
        ol_seterr(err, errlen, "out of memory");
        return false;
    }
    pl->parts = rebalancer_table(pl->rb);
    pl->env = (lane_env){pl->decider, pl->parts, pl->sink, pl->pub, pl->metrics, &pl->probes, pl->n_lanes};
    for (size_t i = 0; i < pl->n_lanes; i++)
        if (!lane_init(&pl->lanes[i], i, s->db, s->orders_topic, pl->batch_cap, pl->acks_cap, &pl->env, err, errlen))
            return false;
    return true;
}

order_pipeline *order_pipeline_new(const consumer_settings *settings, volatile sig_atomic_t *stop, char *err,
                                   size_t errlen) {
    order_pipeline *pl = calloc(1, sizeof *pl);
    if (!pl) {
        ol_seterr(err, errlen, "out of memory");
        return NULL;
    }
    pl->settings = settings;
    pl->stop = stop;
    pl->batch_cap = (size_t)settings->batch_max;
    pl->n_lanes = settings->db_connections < 1 ? 1 : (size_t)settings->db_connections;
    if (pl->n_lanes > MAX_LANES) pl->n_lanes = MAX_LANES;
    probes_init(&pl->probes, getenv("ORDERLINE_FAILPOINT"));
    pl->decider = ol_decider_new();
    pl->expiry = hold_expiry_new(HOLDS_RESEND_MS);
    pl->dedup = ol_map_new();
    pl->overlap = ol_map_new();
    pl->metrics = malloc(sizeof *pl->metrics);
    pl->fetched = calloc(pl->batch_cap, sizeof *pl->fetched);
    if (!pl->decider || !pl->expiry || !pl->dedup || !pl->overlap || !pl->metrics || !pl->fetched) {
        ol_seterr(err, errlen, "out of memory");
        goto fail;
    }
    ol_metrics_init(pl->metrics);
    if (settings->metrics_addr &&
        !(pl->http = consumer_metrics_new(settings->metrics_addr, settings->common.orders_topic, err, errlen)))
        goto fail;
    if (!(pl->admin = order_store_new(settings->common.db, settings->common.orders_topic, err, errlen))) goto fail;
    if (!ol_kafka_check_access(&settings->common, "order-consumer", OL_KAFKA_ACCESS_TIMEOUT_MS, err, errlen) ||
        !connect_sink(pl, err, errlen))
        goto fail;
    if (!open_lanes(pl, err, errlen)) goto fail;
    order_source_listener listener = rebalancer_listener(pl->rb);
    if (!(pl->source = order_source_new(settings, pl->n_lanes, &listener, err, errlen))) goto fail;
    rebalancer_set_source(pl->rb, pl->source);
    pl->started_ms = pl->last_message_ms = pl->last_report_ms = ol_monotonic_ms();
    return pl;
fail:
    order_pipeline_destroy(pl);
    return NULL;
}

bool order_pipeline_stop(order_pipeline *pl, char *err, size_t errlen) {
    if (pl->stopped) return true;
    pl->stopped = true;
    bool ok = true;
    for (size_t i = 0; i < pl->n_lanes; i++) {
        char why[512];
        bool committed;
        if (lane_finish(&pl->lanes[i], &committed, why, sizeof why, err, errlen) == LANE_FAILED) ok = false;
    }
    /* Leave the group first: the final revoke still needs sink and stores. */
    char why[512];
    if (!order_source_close(pl->source, why, sizeof why)) ol_warn("%s", why);
    if (pl->stray) rd_kafka_message_destroy(pl->stray);
    pl->stray = NULL;
    char failure[1024];
    if (rebalancer_failed(pl->rb, failure, sizeof failure)) { /* what the final revoke met */
        if (ok) ol_seterr(err, errlen, "%s", failure);
        ok = false;
    }
    /* Whatever was published goes out now, in flight or not: destroy does
     * not wait. What is left is published again on restart (results_offset). */
    int left = result_sink_flush(pl->sink, 10000);
    if (left > 0) ol_warn("%d results undelivered at shutdown; they will be republished on restart", left);
    if (!any_in_flight(pl)) rebalancer_save_final_acks(pl->rb);
    report_stats(pl, "final");
    return ok;
}

void order_pipeline_destroy(order_pipeline *pl) {
    if (!pl) return;
    if (pl->stray) rd_kafka_message_destroy(pl->stray);
    order_source_destroy(pl->source);
    consumer_metrics_destroy(pl->http);
    free(pl->metrics);
    for (size_t i = 0; i < pl->n_lanes; i++) lane_free(&pl->lanes[i]);
    result_sink_destroy(pl->sink);
    order_store_destroy(pl->admin);
    ol_decider_destroy(pl->decider);
    hold_expiry_destroy(pl->expiry);
    ol_map_destroy(pl->dedup);
    ol_map_destroy(pl->overlap);
    free(pl->fetched);
    rebalancer_destroy(pl->rb);
    publisher_destroy(pl->pub);
    free(pl);
}

/* ---- collecting --------------------------------------------------------- */

/* Puts a fetched message into its lane's collecting batch, which must have
 * room, unless it is stale (from before a seek or a revoke). */
static bool accept_message(order_pipeline *pl, rd_kafka_message_t *msg) {
    int64_t stream_prev;
    if (!rebalancer_accept(pl->rb, msg->partition, msg->offset, &stream_prev) ||
        !batch_add(lane_of(pl, msg->partition)->collecting, msg, stream_prev)) {
        rd_kafka_message_destroy(msg);
        return false;
    }
    return true;
}

static bool has_room(order_pipeline *pl, int32_t partition) { return !batch_full(lane_of(pl, partition)->collecting); }

/* True when every lane that holds a partition has a full batch. */
static bool lanes_full(order_pipeline *pl) {
    bool any = false;
    for (size_t p = 0; p < pl->parts->n; p++) {
        if (!pl->parts->parts[p].assigned) continue;
        any = true;
        if (has_room(pl, (int32_t)p)) return false;
    }
    return any;
}

/* Takes what is already fetched into the lanes' collecting batches; returns
 * how many messages were accepted. */
static size_t take_fetched(order_pipeline *pl, bool *fatal, char *err, size_t errlen) {
    size_t got = 0;
    /* The consumer queue: rebalances run here; a message shows up only for
     * a partition that could not be routed to its lane. */
    if (pl->stray && pl->stray_generation != rebalancer_generation(pl->rb)) {
        /* Fetch positions may have moved since it was accepted: taken first
         * now, it would make the re-read offsets below it look stale. */
        rd_kafka_message_destroy(pl->stray);
        pl->stray = NULL;
    }
    if (pl->stray && has_room(pl, pl->stray->partition)) {
        if (batch_add(lane_of(pl, pl->stray->partition)->collecting, pl->stray, pl->stray_prev)) got++;
        else rd_kafka_message_destroy(pl->stray);
        pl->stray = NULL;
    }
    while (!pl->stray) {
        rd_kafka_message_t *msg = order_source_poll(pl->source, fatal, err, errlen);
        if (*fatal || !msg) break;
        if (has_room(pl, msg->partition)) {
            got += accept_message(pl, msg);
        } else if (rebalancer_accept(pl->rb, msg->partition, msg->offset, &pl->stray_prev)) {
            pl->stray = msg; /* its lane is full: first in next time */
            pl->stray_generation = rebalancer_generation(pl->rb);
        } else {
            rd_kafka_message_destroy(msg);
        }
    }
    for (size_t i = 0; i < pl->n_lanes && !*fatal; i++) {
        batch *b = pl->lanes[i].collecting;
        size_t n = order_source_take(pl->source, i, pl->fetched, b->cap - b->len, fatal, err, errlen);
        for (size_t k = 0; k < n; k++) got += accept_message(pl, pl->fetched[k]);
    }
    return got;
}

/* The earliest retry time of a rolled-back batch; -1 when none waits. */
static int64_t next_retry(const order_pipeline *pl) {
    int64_t at = -1;
    for (size_t i = 0; i < pl->n_lanes; i++) {
        int64_t t = lane_retry_at(&pl->lanes[i]);
        if (t >= 0 && (at < 0 || t < at)) at = t;
    }
    return at;
}

/* Fills the lanes' collecting batches until every lane holding partitions
 * has batch_max messages, or batch_linger_ms has passed since the first
 * message of this call. With a commit in flight, takes only what is
 * already fetched: that commit's answers must not wait for a linger.
 * Rebalance callbacks run in here; what they met is acted on after each
 * poll, and an error they could not go on with ends it. */
static bool collect(order_pipeline *pl, char *err, size_t errlen) {
    int64_t deadline = -1;
    bool flying = any_in_flight(pl), waited = false;
    while (!*pl->stop) {
        bool fatal = false;
        size_t got = take_fetched(pl, &fatal, err, errlen);
        if (fatal || !rebalancer_after_poll(pl->rb, err, errlen)) return false;
        int64_t now = ol_monotonic_ms(), retry = next_retry(pl);
        if (got > 0) {
            pl->last_message_ms = now;
            if (deadline < 0) deadline = now + pl->settings->batch_linger_ms;
        }
        if (flying || lanes_full(pl) || (deadline >= 0 && now >= deadline)) break;
        if (retry >= 0 && now >= retry) break; /* a rolled-back batch is due */
        if (got > 0) continue;                 /* more may be fetched already */
        if (deadline < 0 && waited) break;     /* idle: let the loop do its chores */
        int64_t until = deadline < 0 ? now + 100 : deadline;
        if (retry >= 0 && retry < until) until = retry;
        order_source_wait(pl->source, (int)(until - now));
        waited = true;
    }
    return true;
}

/* Decisions stay correct with misrouted producers (row locks and the CHECK
 * hold); the routing is only reported, sparingly. */
static void report_misrouted(order_pipeline *pl, const batch *b) {
    for (size_t i = 0; pl->topic_partitions > 0 && i < b->len; i++) {
        const batch_entry *e = &b->entries[i];
        if (!e->misrouted) continue;
        uint64_t misrouted = ++pl->metrics->misrouted;
        if (misrouted <= 10 || misrouted % 1000 == 0)
            ol_log_kv(OL_LOG_WARN,
                      OL_LOG_FIELDS(OL_LOG_STR("order_id", e->order.order_id), OL_LOG_STR("item", e->order.item),
                                    OL_LOG_INT("partition", e->msg->partition), OL_LOG_INT("offset", e->msg->offset)),
                      "misrouted order '%s' for item '%s' at partition %d offset %" PRId64
                      " (murmur2 puts it in partition %d; %" PRIu64 " so far)",
                      e->order.order_id, e->order.item, e->msg->partition, e->msg->offset,
                      ol_murmur2_partition(e->msg->key, e->msg->key_len, pl->topic_partitions), misrouted);
    }
}

/* ---- one step of all lanes ------------------------------------------------ */

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

/* Settles every commit in flight; committed[i] is set for lanes whose batch
 * awaits publishing. */
static bool settle_all(order_pipeline *pl, bool *committed, char *err, size_t errlen) {
    for (size_t i = 0; i < pl->n_lanes; i++) {
        lane *ln = &pl->lanes[i];
        char why[1024];
        committed[i] = false;
        if (!lane_in_flight(ln)) continue;
        lane_result r = lane_settle(ln, &committed[i], why, sizeof why, err, errlen);
        if (r == LANE_FAILED) return false;
        if (committed[i]) pl->db_checked_ms = ol_monotonic_ms();
        rebalancer_react(pl->rb, ln, r, why);
    }
    return true;
}

/* A batch that would skip offsets is never planned: positions are re-read
 * and fetched again from there. */
static void refuse_gap(order_pipeline *pl, const batch_gap *gap) {
    pl->metrics->plan_gaps++;
    ol_log_kv(OL_LOG_ERROR,
              OL_LOG_FIELDS(OL_LOG_INT("partition", gap->partition), OL_LOG_INT("offset", gap->first_new)),
              "partition %d: the batch's first new offset %" PRId64 " does not follow the stored position %" PRId64
              " (the fetch shows no gap before %" PRId64 "); re-reading positions",
              gap->partition, gap->first_new, gap->decided, gap->stream_prev);
    rebalancer_request_resync(pl->rb);
}

/* Plans every lane's next batch: a rolled-back one when due, else the
 * collected one (none while positions are in doubt). */
static bool plan_all(order_pipeline *pl, batch **planned, char *err, size_t errlen) {
    int64_t now = ol_monotonic_ms();
    for (size_t i = 0; i < pl->n_lanes; i++) planned[i] = NULL;
    for (size_t i = 0; i < pl->n_lanes; i++) {
        batch *next = rebalancer_resync_pending(pl->rb) ? NULL : lane_next(&pl->lanes[i], now);
        if (!next) continue;
        batch_gap gap;
        batch_plan_result r = batch_plan(next, pl->parts, pl->dedup, pl->topic_partitions, &gap);
        if (r == BATCH_PLAN_OOM) {
            ol_seterr(err, errlen, "out of memory planning a batch");
            return false;
        }
        if (r == BATCH_PLAN_GAP) {
            refuse_gap(pl, &gap); /* drops every lane's collected messages */
            for (size_t k = 0; k < pl->n_lanes; k++) planned[k] = NULL;
            return true;
        }
        report_misrouted(pl, next);
        planned[i] = next;
    }
    return true;
}

/* Reads each started lane's round trip 1, decides and sends its commit;
 * lanes not started yet (their items overlap) go one after the other. */
static bool start_all(order_pipeline *pl, batch **planned, const store_status *sent, char (*why)[512], char *err,
                      size_t errlen) {
    for (size_t i = 0; i < pl->n_lanes; i++) {
        lane *ln = &pl->lanes[i];
        batch *b = planned[i];
        if (!b) continue;
        store_status st = sent[i];
        if (b->state != BATCH_BEGUN) {
            if (b->state != BATCH_PLANNED) continue; /* dropped by a fence or resync in an earlier lane */
            st = lane_send_begin(ln, b, why[i], sizeof why[i]);
        }
        lane_result r = lane_start(ln, b, st, why[i], sizeof why[i], err, errlen);
        if (r == LANE_FAILED) return false;
        rebalancer_react(pl->rb, ln, r, why[i]);
    }
    return true;
}

/* One step of the steady state, over all lanes at once so that their
 * round trips overlap on the server: settle every commit in flight; send
 * round trip 1 of every collected batch; publish the settled batches'
 * answers while PostgreSQL locks and looks up; then decide each batch and
 * send its commit, which runs while the loop collects the next round. */
static bool advance(order_pipeline *pl, char *err, size_t errlen) {
    bool committed[MAX_LANES];
    batch *planned[MAX_LANES];
    store_status sent[MAX_LANES] = {STORE_OK};
    char why[MAX_LANES][512];
    int64_t t0 = ol_now_us(), t1;
    /* Parsing needs no database: it overlaps the commits in flight. */
    for (size_t i = 0; i < pl->n_lanes; i++) batch_parse(pl->lanes[i].collecting);
    probes_add(&pl->probes, PROBE_PARSE, ol_now_us() - t0);
    if (!settle_all(pl, committed, err, errlen)) return false; /* timed inside lane_settle */
    t1 = ol_now_us();
    if (!plan_all(pl, planned, err, errlen)) return false;
    probes_add(&pl->probes, PROBE_PLAN, (t0 = ol_now_us()) - t1);
    /* Normally every lane's round trip 1 is sent before any is read; lanes
     * sharing items go one after the other instead. */
    bool parallel = !items_overlap(pl, planned);
    for (size_t i = 0; parallel && i < pl->n_lanes; i++)
        if (planned[i]) sent[i] = lane_send_begin(&pl->lanes[i], planned[i], why[i], sizeof why[i]);
    probes_add(&pl->probes, PROBE_SEND1, (t1 = ol_now_us()) - t0);
    bool ok = true;
    for (size_t i = 0; i < pl->n_lanes; i++)
        if (committed[i] && ok) ok = lane_publish(&pl->lanes[i], err, errlen);
    probes_add(&pl->probes, PROBE_PUBLISH, ol_now_us() - t1);
    return ok && start_all(pl, planned, sent, why, err, errlen);
}

/* ---- chores --------------------------------------------------------------- */

/* Brings the metrics snapshot up to date: counters plus per-partition gauges. */
static void refresh_metrics(order_pipeline *pl) {
    ol_metrics *m = pl->metrics;
    m->kafka_errors = order_source_error_count(pl->source) + result_sink_error_count(pl->sink);
    m->kafka_unconfirmed = result_sink_unconfirmed_count(pl->sink);
    m->n_partitions = 0;
    for (size_t p = 0; p < pl->parts->n && m->n_partitions < OL_METRICS_MAX_PARTITIONS; p++) {
        const partition_state *ps = &pl->parts->parts[p];
        if (!ps->assigned) continue;
        m->partitions[m->n_partitions++] = (ol_metrics_partition){(int32_t)p, ps->decided, ps->acked_saved,
                                                                  order_source_high_watermark(pl->source, (int32_t)p)};
    }
    m->db_connected = order_store_connected(pl->admin);
    for (size_t i = 0; i < pl->n_lanes; i++)
        m->db_connected = m->db_connected && order_store_connected(pl->lanes[i].store);
    m->consuming = rebalancer_ever_assigned(pl->rb);
    m->group_member = order_source_in_group(pl->source);
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
    if (!ol_metrics_render(pl->metrics, pl->settings->common.orders_topic, &text)) {
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
        rebalancer_reconnect(pl->rb, pl->admin);
        rebalancer_request_resync(pl->rb);
    }
}

/* Appends an expire for every open hold of this consumer's partitions past
 * its deadline (again every HOLDS_RESEND_MS while it stays open), and
 * counts the overdue ones. The expire is decided in the partition like any
 * message, so replay recomputes it, and a confirm logged first still wins. */
static void expire_holds(order_pipeline *pl, int64_t now) {
    if (now - pl->holds_scanned_ms < HOLDS_SCAN_EVERY_MS) return;
    pl->holds_scanned_ms = now;
    int32_t owned[OL_METRICS_MAX_PARTITIONS];
    size_t n_owned = 0;
    n_owned = rebalancer_owned(pl->rb, owned, OL_METRICS_MAX_PARTITIONS);
    if (n_owned == 0) {
        pl->metrics->holds_overdue = 0;
        return;
    }
    store_hold holds[HOLDS_PER_SCAN];
    size_t n = 0;
    char err[512];
    store_status st = order_store_open_holds(pl->admin, owned, n_owned, ol_now_us(), HOLDS_OVERDUE_SLACK_US, holds,
                                             HOLDS_PER_SCAN, &n, err, sizeof err);
    if (st != STORE_OK) {
        pl->metrics->postgres_errors++;
        ol_warn("%s", err);
        return;
    }
    int64_t overdue = 0;
    if (!hold_expiry_begin_scan(pl->expiry)) return;
    for (size_t i = 0; i < n; i++) {
        bool due;
        overdue += holds[i].overdue;
        if (!hold_expiry_due(pl->expiry, holds[i].order_id, now, &due) || !due) continue;
        if (result_sink_publish_expire(pl->sink, holds[i].order_id, holds[i].item, err, sizeof err))
            pl->metrics->expires_sent++;
        else ol_warn("%s", err);
    }
    hold_expiry_end_scan(pl->expiry);
    pl->metrics->holds_overdue = overdue;
}

/* True when --idle-exit says to stop now: nothing new for that long and
 * every answer acknowledged. */
static bool idle_exit_due(order_pipeline *pl, int64_t now) {
    const consumer_settings *s = pl->settings;
    /* Counted from the last assignment too: a join can take longer than the
     * idle time, and those partitions' messages have not arrived yet. */
    int64_t last =
        pl->last_message_ms > rebalancer_assigned_ms(pl->rb) ? pl->last_message_ms : rebalancer_assigned_ms(pl->rb);
    if (s->idle_exit_s <= 0 || now - last < s->idle_exit_s * 1000) return false;
    if (!rebalancer_ever_owned(pl->rb) && now - pl->started_ms < 60000) return false;
    result_sink_flush(pl->sink, 10000);
    if (!result_sink_idle(pl->sink)) return false;
    rebalancer_save_acks(pl->rb, NULL);
    ol_info("nothing new for %ld s: exiting (--idle-exit)", s->idle_exit_s);
    return true;
}

/* Progress line, /metrics, and while nothing is in flight: fenced
 * partitions, the health ping, acknowledgements. True: --idle-exit. */
static bool do_chores(order_pipeline *pl) {
    int64_t now = ol_monotonic_ms();
    if (now - pl->last_report_ms >= 10000) {
        report_stats(pl, "progress");
        pl->last_report_ms = now;
    }
    if (pl->http && now - pl->metrics_published_ms >= METRICS_EVERY_MS) {
        publish_metrics(pl);
        pl->metrics_published_ms = now;
    }
    expire_holds(pl, now);               /* on its own connection: under load too, or holds would wait for a lull */
    if (any_in_flight(pl)) return false; /* keep the pipeline full while there is work */
    rebalancer_reclaim_fenced(pl->rb);
    check_db(pl, now);
    if (now - pl->last_message_ms >= 250) rebalancer_save_acks(pl->rb, NULL);
    return idle_exit_due(pl, now);
}

bool order_pipeline_run(order_pipeline *pl, char *err, size_t errlen) {
    while (!*pl->stop) {
        int64_t t0 = ol_now_us();
        bool collected_ok = collect(pl, err, errlen);
        probes_add(&pl->probes, PROBE_COLLECT, ol_now_us() - t0);
        if (!collected_ok) return false;
        result_sink_poll(pl->sink, 0);
        if (result_sink_failed(pl->sink, err, errlen)) return false;
        rebalancer_resync(pl->rb); /* when due and nothing is in flight */
        if (rebalancer_resync_pending(pl->rb) && !any_in_flight(pl)) {
            if (do_chores(pl)) break;
            continue;
        }
        bool work = collected(pl) > 0 || any_in_flight(pl) || next_retry(pl) >= 0;
        if (work && !advance(pl, err, errlen)) return false;
        if (do_chores(pl)) break;
    }
    return true;
}

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

#include "murmur2.h"
#include "ol_kafka.h"
#include "ol_log.h"
#include "ol_str.h"
#include "pipeline_state.h"

#define METRICS_EVERY_MS 250
/* When idle, how often to check the PostgreSQL connection is still there. */
#define DB_PING_EVERY_MS 5000

static lane *lane_of(order_pipeline *pl, int32_t partition) { return &pl->lanes[(size_t)partition % pl->n_lanes]; }

bool pipeline_any_in_flight(const order_pipeline *pl) {
    for (size_t i = 0; i < pl->n_lanes; i++)
        if (lane_in_flight(&pl->lanes[i])) return true;
    return false;
}

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
    pl->env = (lane_env){pl->decider, &pl->parts, pl->sink, pl->metrics, &pl->probes, pl->n_lanes};
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
    pl->dedup = ol_map_new();
    pl->overlap = ol_map_new();
    pl->metrics = malloc(sizeof *pl->metrics);
    pl->fetched = calloc(pl->batch_cap, sizeof *pl->fetched);
    if (!pl->decider || !pl->dedup || !pl->overlap || !pl->metrics || !pl->fetched) {
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
    if (!(pl->acks = calloc(pl->acks_cap, sizeof *pl->acks))) {
        ol_seterr(err, errlen, "out of memory");
        goto fail;
    }
    if (!open_lanes(pl, err, errlen)) goto fail;
    order_source_listener listener = {pl, pipeline_on_assign, pipeline_on_revoke};
    if (!(pl->source = order_source_new(settings, pl->n_lanes, &listener, err, errlen))) goto fail;
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
    for (size_t i = 0; i < pl->n_lanes; i++)
        if (pipeline_finish_lane(pl, &pl->lanes[i], err, errlen) == LANE_FAILED) ok = false;
    /* Leave the group first: the final revoke still needs sink and stores. */
    char why[512];
    if (!order_source_close(pl->source, why, sizeof why)) ol_warn("%s", why);
    if (pl->stray) rd_kafka_message_destroy(pl->stray);
    pl->stray = NULL;
    if (ok && pl->callback_error[0]) {
        ol_seterr(err, errlen, "%s", pl->callback_error);
        ok = false;
    }
    /* Whatever was published goes out now, in flight or not: destroy does
     * not wait. What is left is published again on restart (results_offset). */
    int left = result_sink_flush(pl->sink, 10000);
    if (left > 0) ol_warn("%d results undelivered at shutdown; they will be republished on restart", left);
    if (!pipeline_any_in_flight(pl)) {
        for (size_t p = 0; p < pl->parts.n; p++) pl->parts.parts[p].assigned = pl->parts.parts[p].stored;
        pipeline_save_acks(pl, NULL);
    }
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
    ol_map_destroy(pl->dedup);
    ol_map_destroy(pl->overlap);
    free(pl->acks);
    free(pl->fetched);
    free(pl->spans);
    free(pl->span_ends);
    partition_table_free(&pl->parts);
    free(pl);
}

/* ---- collecting --------------------------------------------------------- */

/* Puts a fetched message into its lane's collecting batch, which must have
 * room, unless it is stale (from before a seek or a revoke). */
static bool accept_message(order_pipeline *pl, rd_kafka_message_t *msg) {
    partition_state *ps = partition_table_get(&pl->parts, msg->partition);
    if (!ps || !ps->assigned || msg->offset < ps->next_expected ||
        !batch_add(lane_of(pl, msg->partition)->collecting, msg)) {
        rd_kafka_message_destroy(msg);
        return false;
    }
    ps->next_expected = msg->offset + 1;
    return true;
}

static bool has_room(order_pipeline *pl, int32_t partition) { return !batch_full(lane_of(pl, partition)->collecting); }

/* True when every lane that holds a partition has a full batch. */
static bool lanes_full(order_pipeline *pl) {
    bool any = false;
    for (size_t p = 0; p < pl->parts.n; p++) {
        if (!pl->parts.parts[p].assigned) continue;
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
    if (pl->stray && has_room(pl, pl->stray->partition)) {
        got += accept_message(pl, pl->stray);
        pl->stray = NULL;
    }
    while (!pl->stray) {
        rd_kafka_message_t *msg = order_source_poll(pl->source, fatal, err, errlen);
        if (*fatal || !msg) break;
        if (has_room(pl, msg->partition)) got += accept_message(pl, msg);
        else pl->stray = msg; /* its lane is full: first in next time */
    }
    for (size_t i = 0; i < pl->n_lanes && !*fatal; i++) {
        batch *b = pl->lanes[i].collecting;
        size_t n = order_source_take(pl->source, i, pl->fetched, b->cap - b->len, fatal, err, errlen);
        for (size_t k = 0; k < n; k++) got += accept_message(pl, pl->fetched[k]);
    }
    return got;
}

/* Fills the lanes' collecting batches until every lane holding partitions
 * has batch_max messages, or batch_linger_ms has passed since the first
 * message of this call. With a commit in flight, takes only what is
 * already fetched: that commit's answers must not wait for a linger.
 * Rebalance callbacks run in here; a batch that failed in one ends it. */
static bool collect(order_pipeline *pl, char *err, size_t errlen) {
    int64_t deadline = -1;
    bool flying = pipeline_any_in_flight(pl), waited = false;
    while (!*pl->stop && !pl->callback_error[0]) {
        bool fatal = false;
        size_t got = take_fetched(pl, &fatal, err, errlen);
        if (fatal) return false;
        int64_t now = ol_monotonic_ms();
        if (got > 0) {
            pl->last_message_ms = now;
            if (deadline < 0) deadline = now + pl->settings->batch_linger_ms;
        }
        if (flying || lanes_full(pl) || (deadline >= 0 && now >= deadline)) break;
        if (got > 0) continue;             /* more may be fetched already */
        if (deadline < 0 && waited) break; /* idle: let the loop do its chores */
        order_source_wait(pl->source, deadline < 0 ? 100 : (int)(deadline - now));
        waited = true;
    }
    if (!pl->callback_error[0]) return true;
    ol_seterr(err, errlen, "%s", pl->callback_error);
    pl->callback_error[0] = '\0'; /* returned: order_pipeline_stop must not report it again */
    return false;
}

/* ---- publishing ---------------------------------------------------------- */

/* Opens one acknowledgement span per partition of the batch. */
static bool open_spans(order_pipeline *pl, const batch *b) {
    if (pl->spans_cap < pl->parts.n) {
        ack_span **grown = realloc(pl->spans, pl->parts.n * sizeof *grown);
        if (grown) pl->spans = grown;
        int64_t *ends = realloc(pl->span_ends, pl->parts.n * sizeof *ends);
        if (ends) pl->span_ends = ends;
        if (!grown || !ends) return false;
        pl->spans_cap = pl->parts.n;
    }
    batch_span_ends(b, pl->span_ends, pl->parts.n);
    bool ok = true;
    for (size_t p = 0; p < pl->parts.n; p++) {
        pl->spans[p] = NULL;
        if (ok && pl->span_ends[p] >= 0)
            ok = (pl->spans[p] = result_sink_open_span(pl->sink, (int32_t)p, pl->span_ends[p])) != NULL;
    }
    return ok;
}

static bool publish_entry(order_pipeline *pl, const batch_entry *e, char *err, size_t errlen) {
    ack_span *span = pl->spans[e->msg->partition];
    if (!e->valid && !result_sink_publish_dlq(pl->sink, span, e->msg, e->error, err, errlen)) return false;
    if (e->answered) {
        const void *key = e->result.has_order ? e->result.item : e->msg->key;
        size_t key_len = e->result.has_order ? strlen(e->result.item) : e->msg->key_len;
        if (!result_sink_publish_result(pl->sink, span, &e->result, key, key_len, err, errlen)) return false;
    }
    batch_count_answer(e, pl->metrics);
    return true;
}

/* Publishes every answer of a committed batch, in log order, then releases
 * it. Works from the batch alone: the partitions' scratch fields may
 * already describe the next batch. */
static bool publish(order_pipeline *pl, batch *b, char *err, size_t errlen) {
    bool ok = open_spans(pl, b);
    if (!ok) ol_seterr(err, errlen, "out of memory");
    for (size_t i = 0; ok && i < b->len; i++) ok = publish_entry(pl, &b->entries[i], err, errlen);
    for (size_t p = 0; p < pl->parts.n && pl->spans; p++)
        if (pl->spans[p]) result_sink_close_span(pl->sink, pl->spans[p]);
    if (ok) return batch_published(b);
    batch_transition(b, BATCH_EV_FAIL); /* its answers are republished after the restart */
    return false;
}

lane_result pipeline_finish_lane(order_pipeline *pl, lane *ln, char *err, size_t errlen) {
    char why[1024];
    bool committed = false;
    lane_result r = lane_settle(ln, &committed, why, sizeof why, pl->stop, err, errlen);
    if (committed) {
        pl->db_checked_ms = ol_monotonic_ms();
        if (!publish(pl, ln->flight, err, errlen)) return LANE_FAILED;
    }
    pipeline_react(pl, ln, r, why);
    return r;
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
        lane_result r = lane_settle(ln, &committed[i], why, sizeof why, pl->stop, err, errlen);
        if (r == LANE_FAILED) return false;
        if (committed[i]) pl->db_checked_ms = ol_monotonic_ms();
        pipeline_react(pl, ln, r, why);
    }
    return true;
}

/* Plans every lane's collected batch (none after a fence or lost
 * connection dropped them, or while positions are in doubt). */
static bool plan_all(order_pipeline *pl, batch **planned, char *err, size_t errlen) {
    for (size_t i = 0; i < pl->n_lanes; i++) {
        batch *next = pl->lanes[i].collecting;
        planned[i] = NULL;
        if (pl->resync_needed || next->len == 0) continue;
        if (!batch_plan(next, &pl->parts, pl->dedup, pl->topic_partitions)) {
            ol_seterr(err, errlen, "out of memory planning a batch");
            return false;
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
        lane_result r = lane_start(ln, b, st, why[i], sizeof why[i], pl->stop, err, errlen);
        if (r == LANE_FAILED) return false;
        pipeline_react(pl, ln, r, why[i]);
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
        if (committed[i] && ok) ok = publish(pl, pl->lanes[i].flight, err, errlen);
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
    for (size_t p = 0; p < pl->parts.n && m->n_partitions < OL_METRICS_MAX_PARTITIONS; p++) {
        const partition_state *ps = &pl->parts.parts[p];
        if (!ps->assigned) continue;
        m->partitions[m->n_partitions++] = (ol_metrics_partition){(int32_t)p, ps->decided, ps->acked_saved,
                                                                  order_source_high_watermark(pl->source, (int32_t)p)};
    }
    m->db_connected = order_store_connected(pl->admin);
    for (size_t i = 0; i < pl->n_lanes; i++)
        m->db_connected = m->db_connected && order_store_connected(pl->lanes[i].store);
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
        if (pipeline_reconnect(pl, pl->admin)) pipeline_resync(pl);
        else pl->resync_needed = true;
    }
}

/* True when --idle-exit says to stop now: nothing new for that long and
 * every answer acknowledged. */
static bool idle_exit_due(order_pipeline *pl, int64_t now) {
    const consumer_settings *s = pl->settings;
    if (s->idle_exit_s <= 0 || now - pl->last_message_ms < s->idle_exit_s * 1000) return false;
    if (!pl->ever_owned && now - pl->started_ms < 60000) return false;
    result_sink_flush(pl->sink, 10000);
    if (!result_sink_idle(pl->sink)) return false;
    pipeline_save_acks(pl, NULL);
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
    if (pipeline_any_in_flight(pl)) return false; /* keep the pipeline full while there is work */
    pipeline_reclaim_fenced(pl);
    check_db(pl, now);
    if (now - pl->last_message_ms >= 250) pipeline_save_acks(pl, NULL);
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
        if (pl->resync_needed && !pipeline_any_in_flight(pl) && !pipeline_resync(pl)) continue;
        if ((collected(pl) > 0 || pipeline_any_in_flight(pl)) && !advance(pl, err, errlen)) return false;
        if (do_chores(pl)) break;
    }
    return true;
}

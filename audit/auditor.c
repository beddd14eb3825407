#include "auditor.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger.h"
#include "ol_kafka.h"
#include "ol_log.h"
#include "ol_progress.h"
#include "ol_reader.h"
#include "ol_str.h"

#define POLL_BATCH 10000
#define POLL_TIMEOUT_MS 500
/* A partition that yields nothing for this long while messages are still
 * expected is an error (broker gone), not a reason to wait forever. */
#define STALL_MS 30000
/* With --since, answers are read from this long before the window: an
 * answer is published after its order, but the clocks of the producing
 * hosts may disagree a little. Extra answers are harmless (ignored). */
#define RESULTS_MARGIN_US (15LL * 60 * 1000000)
/* Undecodable messages on the results topic are shown up to this many. */
#define UNDECODABLE_SHOWN 5
/* Results messages polled at a time, read as far as the replay needs. */
#define RESULTS_BATCH 1000
_Static_assert(POLL_BATCH <= AUDIT_REPLAY_WINDOW, "an orders batch must fit in the answers window");

struct order_auditor {
    const ol_settings *settings;
    int64_t since_us;
    volatile sig_atomic_t *stop;
    audit_replay *audit;
    audit_ledger *ledger;
    ol_reader *reader;
    rd_kafka_message_t **msgs;
    audit_msg *batch;
    audit_partition *parts;
    size_t n_parts;
    ol_window results; /* the results topic's window, planned after the snapshot */
    int32_t topic_partitions;
    /* The results partition read beside the orders partition, by a reader
     * of its own (its queue is polled at the replay's pace, the orders'
     * as before). What was polled but not given to the engine yet (the
     * answers window was full): from held_next on. */
    ol_reader *results_reader;
    bool results_open;
    int32_t results_partition;
    rd_kafka_message_t **held;
    size_t held_next, held_n;
    int64_t results_progress_ms;
    /* The ledger cursor's next row, read ahead for the merge. */
    ol_result pending;
    bool has_pending, rows_done;
    uint64_t undecodable;
    /* The carts topic, when order-carts decided on it (cart_positions). */
    cart_audit *carts;
    audit_position *cart_pos;
    size_t n_cart_pos;
    bool carts_outbox_empty;
    ol_window carts_window;
    uint64_t cart_answers;
    /* The progress line (on a terminal, or --progress). */
    ol_progress progress;
    uint64_t total, replayed;
    int64_t started_ms, replay_started_ms, replay_ended_ms, ended_ms;
};

order_auditor *order_auditor_new(const ol_settings *settings, int64_t since_us, volatile sig_atomic_t *stop,
                                 audit_report_fn report, void *ctx, char *err, size_t errlen) {
    order_auditor *a = calloc(1, sizeof *a);
    if (!a) {
        ol_seterr(err, errlen, "out of memory");
        return NULL;
    }
    a->settings = settings;
    a->since_us = since_us;
    a->stop = stop;
    a->msgs = calloc(POLL_BATCH, sizeof *a->msgs);
    a->batch = calloc(POLL_BATCH, sizeof *a->batch);
    a->held = calloc(RESULTS_BATCH, sizeof *a->held);
    a->audit = audit_replay_new(report, ctx);
    if (!a->msgs || !a->batch || !a->held || !a->audit) {
        ol_seterr(err, errlen, "out of memory");
        goto fail;
    }
    a->ledger = audit_ledger_new(settings->db, settings->orders_topic, err, errlen);
    if (!a->ledger) goto fail;
    /* Partitions are read one after another: a fetch the broker holds open
     * for the previous partition (fetch.wait.max.ms, 500 ms by default)
     * would delay the next one's first messages by as much. Bigger fetches
     * mean fewer round trips for a single partition; a smaller prefetch
     * queue than librdkafka's 64 MB keeps memory for the decisions. */
    static const char *const defaults[] = {"fetch.wait.max.ms",
                                           "10",
                                           "max.partition.fetch.bytes",
                                           "4194304",
                                           "fetch.max.bytes",
                                           "16777216",
                                           "queued.max.messages.kbytes",
                                           "16384",
                                           NULL};
    if (!ol_kafka_check_access(settings, "order-audit", OL_KAFKA_ACCESS_TIMEOUT_MS, err, errlen)) goto fail;
    a->reader = ol_reader_new(settings, "order-audit", defaults, err, errlen);
    if (!a->reader) goto fail;
    a->results_reader = ol_reader_new(settings, "order-audit", defaults, err, errlen);
    if (!a->results_reader) goto fail;
    return a;
fail:
    order_auditor_destroy(a);
    return NULL;
}

/* Stops reading the results partition (unassigned: nothing more fetched). */
static void close_results(order_auditor *a) {
    for (size_t i = a->held_next; i < a->held_n; i++) rd_kafka_message_destroy(a->held[i]);
    a->held_next = a->held_n = 0;
    char ignored[64];
    if (a->results_open)
        ol_reader_assign(a->results_reader, a->settings->results_topic, NULL, NULL, 0, ignored, sizeof ignored);
    a->results_open = false;
}

void order_auditor_destroy(order_auditor *a) {
    if (!a) return;
    close_results(a);
    ol_reader_destroy(a->results_reader);
    ol_reader_destroy(a->reader);
    audit_ledger_destroy(a->ledger);
    audit_replay_destroy(a->audit);
    cart_audit_destroy(a->carts);
    free(a->cart_pos);
    ol_window_free(&a->carts_window);
    free(a->msgs);
    free(a->held);
    free(a->batch);
    free(a->parts);
    ol_window_free(&a->results);
    free(a);
}

void order_auditor_outcome(const order_auditor *a, audit_outcome *out) {
    memset(out, 0, sizeof *out);
    out->stats = a->replay_started_ms ? audit_replay_stats(a->audit) : NULL;
    out->parts = a->parts;
    out->n_parts = a->n_parts;
    out->undecodable_results = a->undecodable;
    out->cart_answers = a->cart_answers;
    out->carts = a->carts ? cart_audit_stats_get(a->carts) : NULL;
    int64_t replay_end = a->replay_ended_ms ? a->replay_ended_ms : ol_monotonic_ms();
    int64_t end = a->ended_ms ? a->ended_ms : ol_monotonic_ms();
    out->replay_seconds = a->replay_started_ms ? (double)(replay_end - a->replay_started_ms) / 1000.0 : 0;
    out->total_seconds = a->started_ms ? (double)(end - a->started_ms) / 1000.0 : 0;
}

static bool stopped(const order_auditor *a, char *err, size_t errlen) {
    if (!*a->stop) return false;
    ol_seterr(err, errlen, "interrupted");
    return true;
}

/* ---- setup: snapshot, ranges, stock ---------------------------------- */

static bool add_inventory(void *ctx, const char *item, int64_t count, char *err, size_t errlen) {
    return audit_replay_add_inventory(ctx, item, count, err, errlen);
}

static bool add_stock(void *ctx, const char *item, int64_t count, char *err, size_t errlen) {
    /* An item with an accepted row existed; the sum is its stock. */
    return audit_replay_set_stock(ctx, item, (ol_stock){true, count}, err, errlen);
}

static void cart_report(void *ctx, const divergence *d) { audit_replay_report(ctx, d); }

/* The cart coordinator's positions in the snapshot and, when it decided
 * anything, the carts topic's window: the carts are audited too. */
static bool plan_carts(order_auditor *a, char *err, size_t errlen) {
    const char *topic = a->settings->carts_topic;
    if (!topic || !audit_ledger_cart_positions(a->ledger, topic, &a->cart_pos, &a->n_cart_pos, &a->carts_outbox_empty,
                                               err, errlen))
        return topic == NULL;
    if (a->n_cart_pos == 0) return true;
    int n = ol_reader_partition_count(a->reader, topic, err, errlen);
    if (n < 0) return false;
    a->carts = cart_audit_new(cart_report, a->audit);
    if (!a->carts) {
        ol_seterr(err, errlen, "out of memory");
        return false;
    }
    return ol_reader_plan_window(a->reader, topic, n, OL_READER_FROM_BEGINNING, 0, &a->carts_window, err, errlen);
}

/* Snapshot, watermarks and start offsets; sets the engine's ranges. */
static bool plan(order_auditor *a, char *err, size_t errlen) {
    const char *topic = a->settings->orders_topic;
    int n = ol_reader_partition_count(a->reader, topic, err, errlen);
    if (n < 0) return false;
    a->topic_partitions = n;
    audit_position *pos = NULL;
    size_t n_pos = 0;
    int64_t *starts = NULL;
    ol_window w = {0};
    bool ok = false;
    if (!audit_ledger_snapshot(a->ledger, &pos, &n_pos, err, errlen)) goto done;
    /* Stored partitions beyond the topic's count would be a shrunk topic:
     * keep them, so that what the consumer decided there is reported. */
    a->n_parts = (size_t)n;
    for (size_t i = 0; i < n_pos; i++)
        if ((size_t)pos[i].partition + 1 > a->n_parts) a->n_parts = (size_t)pos[i].partition + 1;
    a->parts = calloc(a->n_parts + 1, sizeof *a->parts);
    starts = calloc(a->n_parts + 1, sizeof *starts);
    if (!a->parts || !starts) {
        ol_seterr(err, errlen, "out of memory");
        goto done;
    }
    /* Watermarks after the snapshot: the log holds everything decided. */
    if (!ol_reader_plan_window(a->reader, topic, n, a->since_us >= 0 ? OL_READER_FROM_TIME : OL_READER_FROM_BEGINNING,
                               a->since_us / 1000, &w, err, errlen))
        goto done;
    for (size_t p = 0; p < a->n_parts; p++) {
        audit_partition *ap = &a->parts[p];
        bool in_topic = p < (size_t)w.n; /* else a stored partition of a shrunk topic */
        ap->partition = (int32_t)p;
        ap->low = in_topic ? w.low[p] : 0;
        ap->high = in_topic ? w.high[p] : 0;
        for (size_t i = 0; i < n_pos; i++) {
            if (pos[i].partition != (int32_t)p) continue;
            ap->stored = true;
            ap->decided_end = pos[i].next_offset;
            ap->results_end = pos[i].results_offset;
        }
        int64_t start = in_topic ? w.start[p] : 0; /* at least the low mark */
        ap->start = start < ap->decided_end ? start : ap->decided_end;
        starts[p] = ap->start;
        if (!audit_replay_set_range(a->audit, ap->partition, ap->start, ap->decided_end, ap->results_end, err, errlen))
            goto done;
        a->total += (uint64_t)(ap->decided_end - ap->start);
    }
    bool any_before = false;
    for (size_t p = 0; p < a->n_parts; p++) any_before |= a->parts[p].start > 0;
    if (any_before &&
        !audit_ledger_stock_before(a->ledger, starts, (int32_t)a->n_parts, add_stock, a->audit, err, errlen))
        goto done;
    if (!audit_ledger_inventories(a->ledger, add_inventory, a->audit, err, errlen)) goto done;
    if (!audit_ledger_open_rows(a->ledger, starts, (int32_t)a->n_parts, err, errlen)) goto done;
    ok = plan_carts(a, err, errlen);
done:
    free(pos);
    free(starts);
    ol_window_free(&w);
    return ok;
}

/* ---- the results topic ------------------------------------------------ */

/* A message of the results window: an answer for the engine, or counted
 * and shown as undecodable. False (err set) when the engine fails. */
static bool add_result(order_auditor *a, const rd_kafka_message_t *m, bool *later, char *err, size_t errlen) {
    *later = false;
    if (m->payload && cart_audit_is_answer(m->payload, m->len)) {
        a->cart_answers++; /* a cart's, not an item's: checked against the carts' replay */
        return !a->carts || cart_audit_add_answer(a->carts, m->payload, m->len, err, errlen);
    }
    ol_result r;
    char why[256] = "empty message";
    if (m->payload && ol_result_from_json(m->payload, m->len, &r, why, sizeof why))
        return audit_replay_add_result(a->audit, &r, later, err, errlen);
    if (++a->undecodable <= UNDECODABLE_SHOWN)
        ol_log_kv(OL_LOG_WARN, OL_LOG_FIELDS(OL_LOG_INT("partition", m->partition), OL_LOG_INT("offset", m->offset)),
                  "results topic [%" PRId32 "] offset %" PRId64 ": not a result, ignored: %s", m->partition, m->offset,
                  why);
    return true;
}

/* The results topic's window, from the beginning (or with --since from
 * RESULTS_MARGIN before) up to its high-water marks, seen after the
 * snapshot: every answer acknowledged in the snapshot is in it. */
static bool plan_results(order_auditor *a, char *err, size_t errlen) {
    const char *topic = a->settings->results_topic;
    int n = ol_reader_partition_count(a->reader, topic, err, errlen);
    if (n < 0) return false;
    int64_t from_ms = (a->since_us - RESULTS_MARGIN_US) / 1000;
    return ol_reader_plan_window(a->reader, topic, n, a->since_us >= 0 ? OL_READER_FROM_TIME : OL_READER_FROM_BEGINNING,
                                 from_ms > 0 ? from_ms : 0, &a->results, err, errlen);
}

static bool results_done(const order_auditor *a) { return !a->results_open || a->results.done[a->results_partition]; }

/* Gives the engine the results messages polled and not given yet; stops at
 * an answer the answers window cannot hold until the replay moves on. */
static bool give_held(order_auditor *a, bool *blocked, char *err, size_t errlen) {
    const char *topic = a->settings->results_topic;
    ol_window *w = &a->results;
    *blocked = false;
    for (; a->held_next < a->held_n; a->held_next++) {
        rd_kafka_message_t *m = a->held[a->held_next];
        bool mine = m->partition == a->results_partition && strcmp(rd_kafka_topic_name(m->rkt), topic) == 0;
        if (mine && !m->err && ol_window_contains(w, m->partition, m->offset)) {
            if (!add_result(a, m, blocked, err, errlen)) return false;
            if (*blocked) return true;
        }
        if (mine) ol_window_note(w, m->partition, m->offset, m->err != 0);
        rd_kafka_message_destroy(m);
    }
    a->held_next = a->held_n = 0;
    return true;
}

/* Reads on in the results partition: what is held, else one poll.
 * *blocked: the engine takes no more before the replay's next batch. */
static bool read_results_step(order_auditor *a, bool *blocked, char *err, size_t errlen) {
    if (a->held_next < a->held_n) return give_held(a, blocked, err, errlen);
    *blocked = false;
    if (stopped(a, err, errlen)) return false;
    ssize_t got = ol_reader_poll(a->results_reader, a->held, RESULTS_BATCH, POLL_TIMEOUT_MS, err, errlen);
    if (got < 0) return false;
    int64_t now = ol_monotonic_ms();
    if (got > 0) a->results_progress_ms = now;
    else if (now - a->results_progress_ms > STALL_MS) {
        ol_seterr(err, errlen, "results topic '%s' [%" PRId32 "]: nothing read for %d s before its end",
                  a->settings->results_topic, a->results_partition, STALL_MS / 1000);
        return false;
    }
    a->held_next = 0;
    a->held_n = (size_t)got;
    return give_held(a, blocked, err, errlen);
}

/* Reads the results partition until the answers of the batch ending at
 * last are in, or the partition ends. */
static bool await_answers(order_auditor *a, int32_t partition, int64_t last, char *err, size_t errlen) {
    bool blocked = false;
    while (!results_done(a) && !audit_replay_answers_past(a->audit, partition, last)) {
        /* A full window holds an answer beyond any batch: cannot happen. */
        if (blocked) {
            ol_seterr(err, errlen, "results topic [%" PRId32 "]: the answers window is full before offset %" PRId64,
                      partition, last);
            return false;
        }
        if (!read_results_step(a, &blocked, err, errlen)) return false;
    }
    return true;
}

/* The rest of the results partition, once the replay is done with its
 * orders partition. */
static bool read_results_rest(order_auditor *a, char *err, size_t errlen) {
    int64_t began = ol_monotonic_ms();
    bool blocked = false;
    while (!results_done(a)) {
        if (blocked) {
            ol_seterr(err, errlen, "results topic [%" PRId32 "]: an answer does not fit after the replay",
                      a->results_partition);
            return false;
        }
        if (!read_results_step(a, &blocked, err, errlen)) return false;
    }
    if (a->results_open)
        ol_debug("results topic [%" PRId32 "]: the rest read in %" PRId64 " ms", a->results_partition,
                 ol_monotonic_ms() - began);
    return true;
}

/* Assigns orders partition p from ap's start (when replayed), and results
 * partition p to the results reader. */
static bool open_partition(order_auditor *a, int32_t p, const audit_partition *ap, char *err, size_t errlen) {
    if (ap && !ol_reader_assign(a->reader, a->settings->orders_topic, &p, &ap->start, 1, err, errlen)) return false;
    if (p >= a->results.n || a->results.done[p]) return true;
    if (!ol_reader_assign(a->results_reader, a->settings->results_topic, &p, &a->results.start[p], 1, err, errlen))
        return false;
    a->results_open = true;
    a->results_partition = p;
    a->results_progress_ms = ol_monotonic_ms();
    return true;
}

/* ---- the replay ------------------------------------------------------- */

/* Gives the engine every ledger row up to (partition, last). */
static bool feed_rows(order_auditor *a, int32_t partition, int64_t last, char *err, size_t errlen) {
    for (;;) {
        if (!a->has_pending) {
            if (a->rows_done) return true;
            if (!audit_ledger_next_row(a->ledger, &a->pending, &a->has_pending, err, errlen)) return false;
            if (!a->has_pending) {
                a->rows_done = true;
                return true;
            }
        }
        if (a->pending.partition > partition || (a->pending.partition == partition && a->pending.offset > last))
            return true;
        if (!audit_replay_add_ledger_row(a->audit, &a->pending, err, errlen)) return false;
        a->has_pending = false;
    }
}

/* The consumer's bound on a hold outliving its deadline (issue 22). */
#define HOLD_SLACK_S 5

static bool add_open_hold(void *ctx, const ol_result *row, int64_t overdue_s, char *err, size_t errlen) {
    (void)err;
    (void)errlen;
    audit_replay_add_open_hold(ctx, row, overdue_s);
    return true;
}

static bool add_prior(void *ctx, const ol_result *row, char *err, size_t errlen) {
    return audit_replay_add_prior(ctx, row, err, errlen);
}

/* Partitions and offsets replayed of the snapshot's, the rate and the time
 * left; final: the last line, kept. */
static void show_progress(order_auditor *a, int32_t partition, bool final) {
    if (!a->settings->progress) return;
    int64_t now = ol_monotonic_ms();
    if (!ol_progress_due(&a->progress, now) && !final) return;
    char head[64], line[256];
    snprintf(head, sizeof head, "order-audit: partition %" PRId32 " of %zu", partition + 1, a->n_parts);
    ol_progress_format(line, sizeof line, head, a->replayed, a->total, "offsets replayed",
                       now - a->progress.started_ms);
    ol_log_progress(line, final);
}

/* One batch of partition p: the engine decides what it holds in range. */
static bool replay_batch(order_auditor *a, size_t n, char *err, size_t errlen) {
    if (n == 0) return true;
    const audit_msg *last = &a->batch[n - 1];
    if (!feed_rows(a, last->partition, last->offset, err, errlen)) return false;
    const char *const *ids;
    size_t n_ids;
    if (!audit_replay_prepare(a->audit, a->batch, n, &ids, &n_ids, err, errlen)) return false;
    if (n_ids > 0 && !audit_ledger_lookup(a->ledger, ids, n_ids, add_prior, a->audit, err, errlen)) return false;
    if (!audit_replay_decide(a->audit, err, errlen)) return false;
    a->replayed += n;
    return true;
}

static bool replay_partition(order_auditor *a, const audit_partition *ap, char *err, size_t errlen) {
    const char *topic = a->settings->orders_topic;
    int64_t next = ap->start, began = ol_monotonic_ms(), last_progress = began, first_ms = -1;
    while (next < ap->decided_end) {
        if (stopped(a, err, errlen)) return false;
        ssize_t got = ol_reader_poll(a->reader, a->msgs, POLL_BATCH, POLL_TIMEOUT_MS, err, errlen);
        if (got < 0) return false;
        if (got > 0) {
            last_progress = ol_monotonic_ms();
            if (first_ms < 0) first_ms = last_progress - began;
        } else if (ol_monotonic_ms() - last_progress > STALL_MS) {
            ol_seterr(err, errlen, "orders topic '%s' [%" PRId32 "]: nothing read for %d s at offset %" PRId64, topic,
                      ap->partition, STALL_MS / 1000, next);
            return false;
        }
        size_t n = 0;
        bool at_end = false;
        for (ssize_t i = 0; i < got; i++) {
            const rd_kafka_message_t *m = a->msgs[i];
            /* Left over from an earlier assignment (another partition, or the results topic). */
            if (m->partition != ap->partition || strcmp(rd_kafka_topic_name(m->rkt), topic) != 0) continue;
            if (m->err) {
                /* The end of the log before the stored position: the engine
                 * reports the partition as short. */
                at_end |= m->offset <= next || m->offset < ap->decided_end;
                continue;
            }
            if (m->offset < next || m->offset >= ap->decided_end) continue;
            a->batch[n++] = (audit_msg){
                m->partition, m->offset, m->key, m->key_len, m->payload, m->len, rd_kafka_message_timestamp(m, NULL)};
            next = m->offset + 1;
        }
        bool ok = (n == 0 || await_answers(a, ap->partition, a->batch[n - 1].offset, err, errlen)) &&
                  replay_batch(a, n, err, errlen);
        for (ssize_t i = 0; i < got; i++) rd_kafka_message_destroy(a->msgs[i]);
        if (!ok) return false;
        show_progress(a, ap->partition, false);
        if (at_end && next < ap->decided_end) {
            ol_log_kv(OL_LOG_WARN,
                      OL_LOG_FIELDS(OL_LOG_STR("topic", topic), OL_LOG_INT("partition", ap->partition),
                                    OL_LOG_INT("offset", next)),
                      "orders topic '%s' [%" PRId32 "] ends at offset %" PRId64 ", before the stored position %" PRId64,
                      topic, ap->partition, next, ap->decided_end);
            break;
        }
    }
    ol_debug("partition %" PRId32 ": offsets %" PRId64 "..%" PRId64 " in %" PRId64 " ms (first message after %" PRId64
             " ms)",
             ap->partition, ap->start, next, ol_monotonic_ms() - began, first_ms);
    return true;
}

/* Orders partition p replayed beside results partition p (ap NULL: a
 * results partition beyond the orders topic's, read whole). */
static bool audit_one_partition(order_auditor *a, int32_t p, const audit_partition *ap, char *err, size_t errlen) {
    bool orders = ap && ap->start < ap->decided_end && ap->partition < a->topic_partitions;
    bool ok = audit_replay_begin_partition(a->audit, p, err, errlen) &&
              open_partition(a, p, orders ? ap : NULL, err, errlen) &&
              (!orders || replay_partition(a, ap, err, errlen));
    if (ok) {
        audit_replay_end_partition(a->audit, p);
        ok = read_results_rest(a, err, errlen);
    }
    close_results(a);
    return ok;
}

/* Partition p of the carts topic, [start, end), into the carts' replay. */
static bool read_carts(order_auditor *a, int32_t p, int64_t start, int64_t end, char *err, size_t errlen) {
    const char *topic = a->settings->carts_topic;
    if (!ol_reader_assign(a->reader, topic, &p, &start, 1, err, errlen)) return false;
    int64_t next = start, last_progress = ol_monotonic_ms();
    bool at_end = false;
    while (next < end && !at_end) {
        if (stopped(a, err, errlen)) return false;
        ssize_t got = ol_reader_poll(a->reader, a->msgs, POLL_BATCH, POLL_TIMEOUT_MS, err, errlen);
        if (got < 0) return false;
        if (got > 0) last_progress = ol_monotonic_ms();
        else if (ol_monotonic_ms() - last_progress > STALL_MS) {
            ol_seterr(err, errlen, "carts topic '%s' [%" PRId32 "]: nothing read for %d s at offset %" PRId64, topic, p,
                      STALL_MS / 1000, next);
            return false;
        }
        bool ok = true;
        for (ssize_t i = 0; i < got; i++) {
            const rd_kafka_message_t *m = a->msgs[i];
            bool mine = m->partition == p && strcmp(rd_kafka_topic_name(m->rkt), topic) == 0;
            if (mine && m->err) at_end |= m->offset <= next;
            if (ok && mine && !m->err && m->offset >= next && m->offset < end) {
                audit_msg am = {m->partition,
                                m->offset,
                                m->key,
                                m->key_len,
                                m->payload,
                                m->len,
                                rd_kafka_message_timestamp(m, NULL)};
                ok = cart_audit_add_msg(a->carts, &am, err, errlen);
                next = m->offset + 1;
            }
        }
        for (ssize_t i = 0; i < got; i++) rd_kafka_message_destroy(a->msgs[i]);
        if (!ok) return false;
    }
    if (next < end)
        ol_warn("carts topic '%s' [%" PRId32 "] ends at offset %" PRId64 ", before the stored position %" PRId64, topic,
                p, next, end);
    return true;
}

static bool add_hold_state(void *ctx, const char *order_id, cart_hold_state state, char *err, size_t errlen) {
    return cart_audit_add_hold(ctx, order_id, state, err, errlen);
}

/* Holds looked up per query, at most. */
#define HOLD_BATCH 1000

/* Partition p of the carts topic: replayed up to order-carts' stored
 * position, its answers compared, its lines' holds checked. */
static bool audit_carts(order_auditor *a, int32_t p, char *err, size_t errlen) {
    if (!a->carts || p >= a->carts_window.n) return true;
    int64_t end = 0, start = a->carts_window.start[p];
    for (size_t i = 0; i < a->n_cart_pos; i++)
        if (a->cart_pos[i].partition == p) end = a->cart_pos[i].next_offset;
    if (start > 0)
        ol_warn("carts topic '%s' [%" PRId32 "] begins at offset %" PRId64 ": carts from before are not audited",
                a->settings->carts_topic, p, start);
    if (!cart_audit_begin_partition(a->carts, p, err, errlen)) return false;
    if (end > start && !read_carts(a, p, start, end, err, errlen)) return false;
    const char *const *ids;
    size_t n;
    if (!cart_audit_hold_ids(a->carts, &ids, &n, err, errlen)) return false;
    for (size_t i = 0; i < n; i += HOLD_BATCH)
        if (!audit_ledger_hold_states(a->ledger, ids + i, n - i < HOLD_BATCH ? n - i : HOLD_BATCH, add_hold_state,
                                      a->carts, err, errlen))
            return false;
    return cart_audit_finish_partition(a->carts, a->carts_outbox_empty, err, errlen);
}

bool order_auditor_run(order_auditor *a, char *err, size_t errlen) {
    a->started_ms = ol_monotonic_ms();
    bool ok = plan(a, err, errlen) && plan_results(a, err, errlen);
    if (ok) {
        a->replay_started_ms = ol_monotonic_ms();
        ol_progress_init(&a->progress, a->replay_started_ms, OL_PROGRESS_INTERVAL_MS);
        for (size_t p = 0; ok && p < a->n_parts; p++)
            ok = audit_one_partition(a, (int32_t)p, &a->parts[p], err, errlen) &&
                 audit_carts(a, (int32_t)p, err, errlen);
        /* Results partitions beyond the orders topic's: their answers come late. */
        for (int32_t q = (int32_t)a->n_parts; ok && q < a->results.n; q++)
            ok = audit_one_partition(a, q, NULL, err, errlen);
        for (int32_t q = (int32_t)a->n_parts; ok && q < a->carts_window.n; q++) ok = audit_carts(a, q, err, errlen);
        a->replay_ended_ms = ol_monotonic_ms();
        show_progress(a, (int32_t)a->n_parts - 1, true); /* also on failure: the error starts a line */
    }
    ok = ok && feed_rows(a, INT32_MAX, INT64_MAX, err, errlen) &&
         audit_ledger_overdue_holds(a->ledger, HOLD_SLACK_S, add_open_hold, a->audit, err, errlen) &&
         audit_replay_finish(a->audit, err, errlen) && audit_ledger_close(a->ledger, err, errlen);
    a->ended_ms = ol_monotonic_ms();
    if (ok) {
        const audit_stats *s = audit_replay_stats(a->audit);
        double secs = (double)(a->replay_ended_ms - a->replay_started_ms) / 1000.0;
        ol_info("replayed %" PRIu64 " messages in %.2f s (%.0f/s); whole audit %.2f s", s->messages, secs,
                secs > 0 ? (double)s->messages / secs : 0.0, (double)(a->ended_ms - a->started_ms) / 1000.0);
        if (s->shared_items)
            ol_warn("%" PRIu64 " items appear in more than one partition (misrouted messages): their decisions"
                    " depend on an interleaving the log does not record, so differences there may be spurious",
                    s->shared_items);
    }
    if (a->undecodable > UNDECODABLE_SHOWN)
        ol_warn("%" PRIu64 " messages on the results topic were not results", a->undecodable);
    return ok;
}

#include "producer.h"

#include <errno.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "input.h"
#include "ol_cart_result.h"
#include "ol_kafka.h"
#include "ol_log.h"
#include "ol_order.h"
#include "ol_progress.h"
#include "ol_reader.h"
#include "ol_str.h"
#include "ol_waiters.h"

/* Delivery reports without an offset one order may get, each answered by
 * sending it again (safe: orders deduplicate by order_id), before it counts
 * as failed. */
#define MAX_UNCONFIRMED 3
#define ANSWERS_BATCH 512

struct order_producer {
    rd_kafka_t *rk;
    rd_kafka_topic_t *topic;
    rd_kafka_topic_t *carts; /* carts and their follow-ups, keyed by cart_id */
    order_producer_stats stats;
    long rate;             /* orders/s, 0: unpaced */
    int64_t pace_start_us; /* when the first paced order was sent */
    /* --wait: answers read from the results topic, matched by order_id. */
    ol_waiters *waiters; /* NULL without --wait */
    ol_reader *reader;
    char *results_topic;
    ol_cart_result *cart_answer; /* a cart's answer being read */
    int64_t wait_ms;
    /* --acks-log: every delivery report as it came, for the fault checker. */
    FILE *acks_log; /* NULL: off */
    bool acks_log_failed;
    /* The progress line: on a terminal, or --progress. */
    bool show_progress;
    ol_progress progress;
};

/* The token of a wait: which input line the order came from. */
typedef struct line_ref {
    const char *source;
    size_t line;
} line_ref;

/* Where a message came from, carried as its opaque to the delivery report;
 * it keeps the value so that an unconfirmed delivery can be sent again. */
typedef struct line_origin {
    const char *source; /* borrowed: argv or a literal */
    size_t line;
    char order_id[OL_ORDER_ID_MAX + 1];
    char key[OL_CART_ID_MAX + 1]; /* the item, or a cart's cart_id */
    bool cart;                    /* to the carts topic */
    int unconfirmed;
    size_t len;
    char value[]; /* the line as read */
} line_origin;

static bool report_completions(order_producer *p);
static bool read_answers(order_producer *p, int timeout_ms, char *err, size_t errlen);

/* Hands o to librdkafka (o, and the value in it, pass to it until the
 * delivery report returns them), waiting full_poll_ms at a time while its
 * queue is full; 0 inside a delivery report, which must not poll. */
static rd_kafka_resp_err_t send_line(order_producer *p, line_origin *o, int full_poll_ms) {
    ol_kafka_msg m = {.rkt = o->cart ? p->carts : p->topic,
                      .key = o->key,
                      .key_len = strlen(o->key),
                      .value = o->value,
                      .len = o->len,
                      .opaque = o};
    return ol_kafka_produce(p->rk, &m, full_poll_ms);
}

/* One line per report, as librdkafka gave it: the checker applies the
 * delivery rule itself (error null and an offset >= 0 is a delivery). */
static void log_ack(order_producer *p, const line_origin *origin, const rd_kafka_message_t *msg) {
    if (!p->acks_log || p->acks_log_failed) return;
    json_t *line =
        json_pack("{s:s, s:i, s:I, s:o}", "order_id", origin->order_id, "partition", (int)msg->partition, "offset",
                  (json_int_t)msg->offset, "error", msg->err ? json_string(rd_kafka_err2name(msg->err)) : json_null());
    if (!line || json_dumpf(line, p->acks_log, JSON_COMPACT) != 0 || fputc('\n', p->acks_log) == EOF)
        p->acks_log_failed = true;
    json_decref(line);
}

/* "Delivered" means in the log: a report counts only when it names an
 * offset. One without is sent again, then counted as failed. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
    order_producer *p = opaque;
    line_origin *origin = msg->_private; /* ownership comes back to us here */
    const char *why = msg->err ? rd_kafka_err2str(msg->err) : NULL;
    log_ack(p, origin, msg);
    if (!msg->err && msg->offset < 0) p->stats.unconfirmed++;
    switch (ol_delivery_judge(msg->err != 0, msg->offset, &origin->unconfirmed, MAX_UNCONFIRMED)) {
    case OL_DELIVERY_RESEND:
        if (send_line(p, origin, 0) == RD_KAFKA_RESP_ERR_NO_ERROR) return;
        why = "acknowledged without an offset, and it could not be sent again";
        break;
    case OL_DELIVERY_FAILED:
        if (!why) why = OL_DELIVERY_UNCONFIRMED_REASON;
        break;
    default:
        break;
    }
    if (why) {
        p->stats.failed++;
        ol_log_kv(OL_LOG_ERROR,
                  OL_LOG_FIELDS(OL_LOG_STR("source", origin->source), OL_LOG_INT("line", origin->line),
                                OL_LOG_STR("order_id", origin->order_id), OL_LOG_STR("error", why)),
                  "%s:%zu: delivery of order '%s' failed: %s", origin->source, origin->line, origin->order_id, why);
    } else {
        p->stats.delivered++;
    }
    if (p->waiters)
        ol_waiters_delivery(p->waiters, origin->order_id, why, msg->partition, why ? -1 : msg->offset,
                            ol_monotonic_ms());
    free(origin);
}

/* From the results topic's end as of now, before anything is sent: every
 * answer to what follows is read. */
static bool open_answers(order_producer *p, const producer_settings *settings, char *err, size_t errlen) {
    p->wait_ms = (settings->wait_s < 0 ? 30 : settings->wait_s) * 1000L;
    p->waiters = ol_waiters_new(MAX_UNCONFIRMED);
    p->results_topic = strdup(settings->common.results_topic);
    p->cart_answer = malloc(sizeof *p->cart_answer);
    if (!p->waiters || !p->results_topic || !p->cart_answer) {
        ol_seterr(err, errlen, "out of memory");
        return false;
    }
    p->reader = ol_reader_new(&settings->common, "order-producer-wait", NULL, err, errlen);
    return p->reader && ol_reader_assign_from_end(p->reader, p->results_topic, err, errlen) >= 0;
}

order_producer *order_producer_new(const producer_settings *settings, char *err, size_t errlen) {
    static const char *const defaults[] = {
        OL_KAFKA_PRODUCER_DEFAULTS, "linger.ms", "5", "compression.type", "lz4", "client.id", "order-producer", NULL};
    order_producer *p = calloc(1, sizeof *p);
    if (!p) {
        ol_seterr(err, errlen, "out of memory");
        return NULL;
    }
    p->rate = settings->rate;
    p->show_progress = settings->common.progress;
    ol_progress_init(&p->progress, ol_monotonic_ms(), OL_PROGRESS_INTERVAL_MS);
    if (settings->acks_log && !(p->acks_log = fopen(settings->acks_log, "w"))) {
        ol_seterr(err, errlen, "--acks-log %s: %s", settings->acks_log, strerror(errno));
        goto fail;
    }
    if (!ol_kafka_check_access(&settings->common, "order-producer", OL_KAFKA_ACCESS_TIMEOUT_MS, err, errlen)) goto fail;
    p->rk = ol_kafka_producer_new(&settings->common, defaults, "producer", p, on_delivery, NULL, err, errlen);
    if (!p->rk) goto fail;
    /* The carts topic is order-carts' to create: a producer may hold no
     * right to create topics (the secure stack's does not). */
    const char *topics[] = {settings->common.orders_topic, settings->common.results_topic};
    bool waiting = settings->wait_s != 0;
    if (!ol_kafka_ensure_topics(p->rk, topics, waiting ? 2 : 1, (int)settings->common.partitions, 10000, err, errlen))
        goto fail;
    if (waiting && !open_answers(p, settings, err, errlen)) goto fail;
    if (!(p->topic = ol_kafka_topic_new(p->rk, settings->common.orders_topic, err, errlen))) goto fail;
    if (!(p->carts = ol_kafka_topic_new(p->rk, settings->common.carts_topic, err, errlen))) goto fail;
    return p;
fail:
    order_producer_destroy(p);
    return NULL;
}

void order_producer_destroy(order_producer *p) {
    if (!p) return;
    ol_reader_destroy(p->reader);
    if (p->topic) rd_kafka_topic_destroy(p->topic);
    if (p->carts) rd_kafka_topic_destroy(p->carts);
    if (p->rk) rd_kafka_destroy(p->rk);
    ol_waiters_destroy(p->waiters);
    free(p->results_topic);
    free(p->cart_answer);
    if (p->acks_log) fclose(p->acks_log); /* close_acks_log reports errors; this only frees */
    free(p);
}

/* Orders due within this long are sent at once: the rate holds at 1 ms
 * granularity. Sleeping for every order costs the producer a large share of
 * a core in context switches, taken from the system it is measuring
 * (bench/notes.md). */
#define PACE_GRANULARITY_US 1000

/* With --rate, waits until the next order is due (serving delivery reports
 * meanwhile), so a load test offers a steady rate instead of bursts. */
static void pace(order_producer *p) {
    if (p->rate <= 0) return;
    int64_t now = ol_now_us();
    if (p->pace_start_us == 0) p->pace_start_us = now;
    int64_t due = p->pace_start_us + (int64_t)((double)p->stats.sent * 1e6 / (double)p->rate);
    if (due - now < PACE_GRANULARITY_US) return;
    while (now < due) {
        int wait_ms = (int)((due - now) / 1000);
        if (wait_ms > 0) rd_kafka_poll(p->rk, wait_ms);
        else {
            struct timespec ts = {0, (long)(due - now) * 1000L};
            nanosleep(&ts, NULL);
        }
        now = ol_now_us();
    }
}

/* With --wait: the order's wait is registered before it is sent. */
static bool expect_answer(order_producer *p, const char *order_id, void *token) {
    ol_pending *pending = ol_waiters_find(p->waiters, order_id);
    if (!pending) pending = ol_waiters_add(p->waiters, order_id);
    return pending && ol_waiters_wait(p->waiters, pending, token, ol_monotonic_ms() + p->wait_ms);
}

/* Hands one valid line to librdkafka, waiting while its queue is full. */
static bool send_order(order_producer *p, const producer_line *order, const char *value, size_t len, const char *source,
                       size_t lineno, char *err, size_t errlen) {
    line_origin *origin = malloc(sizeof *origin + len);
    if (!origin) {
        ol_seterr(err, errlen, "out of memory");
        return false;
    }
    origin->source = source;
    origin->line = lineno;
    origin->unconfirmed = 0;
    memcpy(origin->order_id, order->order_id, sizeof origin->order_id);
    memcpy(origin->key, order->key, sizeof origin->key);
    origin->cart = order->kind != PRODUCER_LINE_ORDER;
    memcpy(origin->value, value, len);
    origin->len = len;
    /* The wait's token is the line (source, number), copied: origin itself
     * is freed at its delivery report. */
    line_ref *ref = NULL;
    if (p->waiters) {
        ref = malloc(sizeof *ref);
        if (!ref || !(*ref = (line_ref){source, lineno}, expect_answer(p, order->order_id, ref))) {
            free(ref);
            free(origin);
            ol_seterr(err, errlen, "out of memory");
            return false;
        }
    }
    rd_kafka_resp_err_t e = send_line(p, origin, 100);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        free(origin);
        ol_seterr(err, errlen, "%s:%zu: cannot produce: %s", source, lineno, rd_kafka_err2str(e));
        return false;
    }
    p->stats.sent++;
    return true;
}

/* Lines read and sent, and of them confirmed (a delivery report with an
 * offset); final: the last line, kept. */
static void show_progress(order_producer *p, bool final) {
    if (!p->show_progress || (!ol_progress_due(&p->progress, ol_monotonic_ms()) && !final)) return;
    char head[96], line[256];
    snprintf(head, sizeof head, "order-producer: %zu lines read, %zu sent", p->stats.lines, p->stats.sent);
    ol_progress_format(line, sizeof line, head, p->stats.delivered, 0, "confirmed",
                       ol_monotonic_ms() - p->progress.started_ms);
    ol_log_progress(line, final);
}

void order_producer_progress_end(order_producer *p) { show_progress(p, true); }

bool order_producer_publish_file(order_producer *p, const char *path, volatile const sig_atomic_t *stop, char *err,
                                 size_t errlen) {
    bool is_stdin = strcmp(path, "-") == 0;
    const char *source = is_stdin ? "<stdin>" : path;
    FILE *in = is_stdin ? stdin : fopen(path, "r");
    if (!in) {
        ol_seterr(err, errlen, "%s: %s", path, strerror(errno));
        return false;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    size_t lineno = 0;
    bool ok = true;
    while (!*stop && (got = getline(&line, &cap, in)) >= 0) {
        lineno++;
        size_t len = (size_t)got;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
        size_t blank = strspn(line, " \t");
        if (blank >= len) continue; /* blank lines separate nothing and mean nothing */
        p->stats.lines++;
        producer_line order;
        char why[OL_ERROR_MAX];
        if (!producer_line_read(line, len, &order, why, sizeof why)) {
            p->stats.invalid++;
            const char *id = order.order_id[0] ? order.order_id : NULL;
            const char *field = order.field[0] ? order.field : NULL;
            ol_log_plain(OL_LOG_ERROR,
                         OL_LOG_FIELDS(OL_LOG_STR("source", source), OL_LOG_INT("line", lineno),
                                       OL_LOG_STR("order_id", id), OL_LOG_STR("field", field)),
                         "%s:%zu: invalid %s%s%s%s: %s", source, lineno,
                         order.kind == PRODUCER_LINE_ORDER ? "order" : "cart message", id ? " '" : "", id ? id : "",
                         id ? "'" : "", why);
            continue;
        }
        pace(p);
        if (!send_order(p, &order, line, len, source, lineno, err, errlen)) {
            ok = false;
            break;
        }
        rd_kafka_poll(p->rk, 0); /* serve delivery reports as we go */
        show_progress(p, false);
        if (p->waiters && p->stats.sent % 1000 == 0 && !(read_answers(p, 0, err, errlen) && report_completions(p))) {
            ok = false;
            break;
        }
    }
    if (ok && ferror(in)) {
        ol_seterr(err, errlen, "%s: read error after line %zu", source, lineno);
        ok = false;
    }
    free(line);
    if (!is_stdin) fclose(in);
    return ok;
}

int order_producer_drain(order_producer *p, int timeout_ms) {
    int64_t deadline = ol_monotonic_ms() + timeout_ms;
    /* In steps, so that the progress line follows the confirmations. */
    while (rd_kafka_outq_len(p->rk) > 0 && ol_monotonic_ms() < deadline) {
        int64_t left = deadline - ol_monotonic_ms();
        rd_kafka_flush(p->rk, left < 100 ? (int)left : 100);
        show_progress(p, false);
    }
    rd_kafka_poll(p->rk, 0);
    return rd_kafka_outq_len(p->rk);
}

order_producer_stats order_producer_get_stats(const order_producer *p) { return p->stats; }

bool order_producer_close_acks_log(order_producer *p, const char *path, char *err, size_t errlen) {
    if (!p->acks_log) return true;
    bool ok = !p->acks_log_failed && !ferror(p->acks_log);
    if (fclose(p->acks_log) != 0) ok = false;
    p->acks_log = NULL;
    if (!ok) ol_seterr(err, errlen, "--acks-log %s: write failed", path);
    return ok;
}

/* Prints or reports each completed wait; its token (a line_ref) is freed. */
static bool report_completions(order_producer *p) {
    ol_completion c;
    bool ok = true;
    while (ol_waiters_next_completion(p->waiters, &c)) {
        line_ref *ref = c.token;
        if (c.outcome == OL_WAIT_DECIDED) {
            p->stats.decided++;
            if (c.result.status == OL_STATUS_REJECTED) p->stats.rejected++;
            if (fwrite(c.answer, 1, c.answer_len, stdout) != c.answer_len || putchar('\n') == EOF) ok = false;
        } else if (c.outcome == OL_WAIT_TIMED_OUT) {
            p->stats.unanswered++;
            ol_log_plain(OL_LOG_WARN,
                         OL_LOG_FIELDS(OL_LOG_STR("source", ref->source), OL_LOG_INT("line", ref->line),
                                       OL_LOG_INT("partition", c.partition), OL_LOG_INT("offset", c.offset)),
                         "%s:%zu: order in the log (partition %d, offset %lld) but no answer within %lld s",
                         ref->source, ref->line, (int)c.partition, (long long)c.offset, (long long)(p->wait_ms / 1000));
        } /* OL_WAIT_FAILED: its delivery failure was reported already */
        free(c.answer);
        free(ref);
    }
    return ok;
}

/* An item's answer, or a cart's (told apart by its topic member). */
static ol_answer_match answer(order_producer *p, const rd_kafka_message_t *m, char *why, size_t whylen) {
    if (!ol_cart_result_maybe(m->payload, m->len))
        return ol_waiters_answer(p->waiters, m->payload, m->len, why, whylen);
    if (!ol_cart_result_from_json(m->payload, m->len, p->cart_answer, why, whylen)) return OL_ANSWER_UNREADABLE;
    ol_result r;
    ol_cart_result_as_result(p->cart_answer, &r);
    return ol_waiters_answer_parsed(p->waiters, &r, m->payload, m->len);
}

/* Reads what answers are there (waiting up to timeout_ms for one). */
static bool read_answers(order_producer *p, int timeout_ms, char *err, size_t errlen) {
    rd_kafka_message_t *msgs[ANSWERS_BATCH];
    ssize_t n = ol_reader_poll(p->reader, msgs, ANSWERS_BATCH, timeout_ms, err, errlen);
    if (n < 0) return false;
    for (ssize_t i = 0; i < n; i++) {
        char why[256];
        if (!msgs[i]->err && answer(p, msgs[i], why, sizeof why) == OL_ANSWER_UNREADABLE)
            ol_log_kv(OL_LOG_WARN,
                      OL_LOG_FIELDS(OL_LOG_STR("topic", p->results_topic), OL_LOG_INT("partition", msgs[i]->partition),
                                    OL_LOG_INT("offset", msgs[i]->offset)),
                      "'%s' [%d] at offset %lld: not an answer: %s", p->results_topic, (int)msgs[i]->partition,
                      (long long)msgs[i]->offset, why);
        rd_kafka_message_destroy(msgs[i]);
    }
    return true;
}

bool order_producer_await_answers(order_producer *p, volatile const sig_atomic_t *stop, char *err, size_t errlen) {
    if (!p->waiters) return true;
    bool ok = true;
    while (ok && !*stop && ol_waiters_waits(p->waiters) > 0) {
        rd_kafka_poll(p->rk, 0);
        ok = read_answers(p, 50, err, errlen);
        ol_waiters_expire(p->waiters, ol_monotonic_ms());
        if (!report_completions(p)) {
            ol_seterr(err, errlen, "writing to stdout failed");
            ok = false;
        }
    }
    ol_waiters_finish_all(p->waiters, "interrupted");
    if (!report_completions(p) && ok) {
        ol_seterr(err, errlen, "writing to stdout failed");
        ok = false;
    }
    if (fflush(stdout) != 0 && ok) {
        ol_seterr(err, errlen, "writing to stdout failed");
        ok = false;
    }
    return ok;
}

#include "sink.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ol_acks.h"
#include "ol_kafka.h"
#include "ol_lifecycle.h"
#include "ol_log.h"
#include "ol_str.h"
#include "ol_waiters.h"

/* Reports without an offset a span may get per attached message, each
 * answered by sending that message again (safe: answers deduplicate by
 * (partition, offset)), before the sink fails and the span is republished
 * after the restart. */
#define MAX_UNCONFIRMED_PER_MESSAGE 3

typedef struct deferred deferred;

struct result_sink {
    rd_kafka_t *rk;
    char *results_topic;
    char *dlq_topic;
    char *orders_topic;
    ol_ack_tracker *acks;
    bool failed;
    char error[512];
    uint64_t errors;
    uint64_t unconfirmed; /* reports with no error and no offset (not counted as delivered) */
    deferred *deferred;   /* re-sends waiting for room in the queue */
    size_t n_deferred;
};

/* Remembers the first unrecoverable error: prefix and detail joined. */
static void sink_fail(result_sink *sink, const char *prefix, const char *detail) {
    if (!sink->failed) {
        sink->failed = true;
        ol_seterr(sink->error, sizeof sink->error, "%s: %.400s", prefix, detail);
    }
}

/* A re-send, copied out of its delivery report. It goes out at once if
 * the queue has room; otherwise (the reported message still counts against
 * the queue until its report returns) from result_sink_poll / _flush. */
struct deferred {
    char *topic;
    void *key;
    size_t key_len;
    void *value;
    size_t len;
    rd_kafka_headers_t *headers;
    ol_ack_span *span;
    deferred *next;
};

static void deferred_free(deferred *d) {
    if (!d) return;
    free(d->topic);
    free(d->key);
    free(d->value);
    if (d->headers) rd_kafka_headers_destroy(d->headers);
    free(d);
}

/* Takes headers (freed on failure). */
static rd_kafka_resp_err_t defer(result_sink *sink, const rd_kafka_message_t *msg, rd_kafka_headers_t *headers) {
    deferred *d = calloc(1, sizeof *d);
    if (d) {
        d->topic = strdup(rd_kafka_topic_name(msg->rkt));
        d->key = msg->key_len ? malloc(msg->key_len) : NULL;
        d->value = msg->len ? malloc(msg->len) : NULL;
        d->headers = headers;
        d->span = msg->_private;
    }
    if (!d || !d->topic || (msg->key_len && !d->key) || (msg->len && !d->value)) {
        if (d) deferred_free(d);
        else if (headers) rd_kafka_headers_destroy(headers);
        return RD_KAFKA_RESP_ERR__NOENT; /* out of memory */
    }
    if (msg->key_len) memcpy(d->key, msg->key, msg->key_len);
    if (msg->len) memcpy(d->value, msg->payload, msg->len);
    d->key_len = msg->key_len;
    d->len = msg->len;
    d->next = sink->deferred;
    sink->deferred = d;
    sink->n_deferred++;
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* Sends what waits; stops at the first full queue. */
static void send_deferred(result_sink *sink) {
    while (sink->deferred) {
        deferred *d = sink->deferred;
        ol_kafka_msg m = {.topic = d->topic,
                          .key = d->key,
                          .key_len = d->key_len,
                          .value = d->value,
                          .len = d->len,
                          .flags = RD_KAFKA_MSG_F_COPY,
                          .headers = d->headers,
                          .opaque = d->span};
        rd_kafka_resp_err_t e = ol_kafka_produce(sink->rk, &m, 0); /* may run inside a delivery report */
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) return;
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) d->headers = NULL; /* librdkafka's now */
        else {
            sink->errors++;
            ol_error("re-sending an answer to %s failed: %s", d->topic, rd_kafka_err2str(e));
            sink_fail(sink, "an answer acknowledged without an offset could not be sent again", rd_kafka_err2str(e));
        }
        sink->deferred = d->next;
        sink->n_deferred--;
        deferred_free(d);
    }
}

/* Sends a message again from its delivery report, keeping its span. False
 * only when out of memory; a produce error fails the sink in send_deferred. */
static bool resend(result_sink *sink, const rd_kafka_message_t *msg) {
    rd_kafka_headers_t *h = NULL, *copy = NULL;
    if (rd_kafka_message_headers(msg, &h) == RD_KAFKA_RESP_ERR_NO_ERROR && h && !(copy = rd_kafka_headers_copy(h)))
        return false;
    if (defer(sink, msg, copy) != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
    send_deferred(sink);
    return true;
}

/* "Delivered" means in the log: a report counts only when it names an
 * offset. One without (librdkafka's implicit ack after an earlier request
 * failed) is sent again; the span stays open meanwhile. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
    result_sink *sink = opaque;
    ol_ack_span *span = msg->_private; /* NULL only for an expire: no answer waits on it */
    if (!msg->err && msg->offset < 0) sink->unconfirmed++;
    if (!span) {
        /* Not acknowledged, or lost: the hold is still open, and the next
         * scan of the open holds sends its expire again. */
        if (msg->err || msg->offset < 0) sink->errors++;
        return;
    }
    switch (ol_ack_span_report(span, msg->err != 0, msg->offset, MAX_UNCONFIRMED_PER_MESSAGE)) {
    case OL_DELIVERY_ACKED:
        return;
    case OL_DELIVERY_RESEND:
        if (resend(sink, msg)) return;
        sink->errors++;
        ol_error("re-sending an answer to %s failed: out of memory", rd_kafka_topic_name(msg->rkt));
        sink_fail(sink, "an answer acknowledged without an offset could not be sent again", "out of memory");
        return;
    default:
        break;
    }
    const char *why = msg->err ? rd_kafka_err2str(msg->err) : OL_DELIVERY_UNCONFIRMED_REASON;
    sink->errors++;
    ol_error("publishing to %s failed: %s", rd_kafka_topic_name(msg->rkt), why);
    sink_fail(sink, "a result could not be delivered", why);
    /* The span never completes: its answers are republished after restart. */
}

static void on_error(rd_kafka_t *rk, int code, const char *reason, void *opaque) {
    result_sink *sink = opaque;
    sink->errors++;
    if (code == RD_KAFKA_RESP_ERR__FATAL) {
        char detail[512];
        rd_kafka_fatal_error(rk, detail, sizeof detail);
        sink_fail(sink, "results producer hit a fatal error", detail);
        return;
    }
    /* Everything else is retried by librdkafka (broker down, timeouts). */
    ol_warn("results producer: %s: %s", rd_kafka_err2name(code), reason);
}

result_sink *result_sink_new(const consumer_settings *settings, char *err, size_t errlen) {
    static const char *const defaults[] = {OL_KAFKA_PRODUCER_DEFAULTS,
                                           /* Answers leave in bursts of a whole batch, so a
                                            * longer linger buys no bigger requests, only
                                            * latency (bench/notes.md). */
                                           "linger.ms", "1", "compression.type", "lz4", "client.id",
                                           "order-consumer-results", NULL};
    result_sink *sink = calloc(1, sizeof *sink);
    if (!sink) {
        ol_seterr(err, errlen, "out of memory");
        return NULL;
    }
    sink->results_topic = strdup(settings->common.results_topic);
    sink->dlq_topic = strdup(settings->dlq_topic);
    sink->orders_topic = strdup(settings->common.orders_topic);
    sink->acks = ol_ack_tracker_new();
    if (!sink->results_topic || !sink->dlq_topic || !sink->orders_topic || !sink->acks) {
        ol_seterr(err, errlen, "out of memory");
        goto fail;
    }
    sink->rk = ol_kafka_producer_new(&settings->common, defaults, "results producer", sink, on_delivery, on_error, err,
                                     errlen);
    if (!sink->rk) goto fail;
    return sink;
fail:
    result_sink_destroy(sink);
    return NULL;
}

void result_sink_destroy(result_sink *sink) {
    if (!sink) return;
    /* No flush here: the pipeline's stop flushes and reports what is left. */
    if (sink->rk) rd_kafka_destroy(sink->rk);
    ol_ack_tracker_destroy(sink->acks);
    while (sink->deferred) {
        deferred *d = sink->deferred;
        sink->deferred = d->next;
        deferred_free(d);
    }
    free(sink->results_topic);
    free(sink->dlq_topic);
    free(sink->orders_topic);
    free(sink);
}

rd_kafka_t *result_sink_handle(result_sink *sink) { return sink->rk; }

void result_sink_warm_up(result_sink *sink, int timeout_ms) {
    const char *topics[] = {sink->results_topic, sink->dlq_topic};
    int64_t deadline = ol_monotonic_ms() + timeout_ms;
    for (size_t i = 0; i < 2; i++) {
        char why[512];
        /* A topic another consumer has just created may not be in the
         * metadata yet: retry briefly. Only an optimisation, so a topic that
         * stays unknown is a warning, not an error. */
        while (ol_kafka_partition_count(sink->rk, topics[i], 2000, why, sizeof why) < 0) {
            if (ol_monotonic_ms() >= deadline) {
                ol_warn("no metadata for %s yet (%s); the first answers may be slower", topics[i], why);
                break;
            }
            ol_sleep_ms(200);
        }
    }
}

ol_ack_span *result_sink_open_span(result_sink *sink, int32_t partition, int64_t end_offset) {
    return ol_ack_tracker_open(sink->acks, partition, end_offset);
}

void result_sink_close_span(result_sink *sink, ol_ack_span *span) { ol_ack_span_close(span); }

/* Hands one message to librdkafka, serving reports while its queue is full.
 * value is malloc'd and passes to librdkafka (RD_KAFKA_MSG_F_FREE) on
 * success; on failure it is freed here. headers likewise. */
static bool produce(result_sink *sink, ol_ack_span *span, const char *topic, const void *key, size_t key_len,
                    char *value, size_t value_len, rd_kafka_headers_t *headers, char *err, size_t errlen) {
    ol_kafka_msg m = {.topic = topic,
                      .key = key,
                      .key_len = key_len,
                      .value = value,
                      .len = value_len,
                      .flags = RD_KAFKA_MSG_F_FREE,
                      .headers = headers,
                      .opaque = span};
    rd_kafka_resp_err_t e = ol_kafka_produce(sink->rk, &m, 50);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        ol_ack_span_attach(span);
        return true;
    }
    free(value);
    if (headers) rd_kafka_headers_destroy(headers);
    ol_seterr(err, errlen, "producing to %s: %s", topic, rd_kafka_err2str(e));
    return false;
}

bool result_sink_publish_expire(result_sink *sink, const char *held_id, const char *item, char *err, size_t errlen) {
    char expire_id[OL_ORDER_ID_MAX + 1];
    if (!ol_life_expire_id(held_id, expire_id, sizeof expire_id)) {
        ol_seterr(err, errlen, "hold '%s' has no room for its expire's order_id", held_id);
        return false;
    }
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s}", "order_id", expire_id, "item", item, "type", "expire", "target", held_id);
    char *value = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!value) {
        ol_seterr(err, errlen, "out of memory encoding an expire");
        return false;
    }
    ol_kafka_msg m = {.topic = sink->orders_topic,
                      .key = item,
                      .key_len = strlen(item),
                      .value = value,
                      .len = strlen(value),
                      .flags = RD_KAFKA_MSG_F_FREE,
                      .opaque = NULL};
    rd_kafka_resp_err_t e = ol_kafka_produce(sink->rk, &m, 0);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) return true;
    free(value);
    ol_seterr(err, errlen, "producing an expire to %s: %s", sink->orders_topic, rd_kafka_err2str(e));
    return false;
}

bool result_sink_publish_result(result_sink *sink, ol_ack_span *span, const ol_result *result, const void *key,
                                size_t key_len, char *err, size_t errlen) {
    char *json = ol_result_to_json(result);
    if (!json) {
        ol_seterr(err, errlen, "out of memory encoding a result");
        return false;
    }
    return produce(sink, span, sink->results_topic, key, key_len, json, strlen(json), NULL, err, errlen);
}

bool result_sink_publish_dlq(result_sink *sink, ol_ack_span *span, const rd_kafka_message_t *original,
                             const char *error, char *err, size_t errlen) {
    rd_kafka_headers_t *orig_headers = NULL;
    rd_kafka_headers_t *headers = NULL;
    /* Keep the producer's own headers, then add ours. */
    if (rd_kafka_message_headers(original, &orig_headers) == RD_KAFKA_RESP_ERR_NO_ERROR && orig_headers)
        headers = rd_kafka_headers_copy(orig_headers);
    else headers = rd_kafka_headers_new(4);
    char partition[16], offset[32];
    snprintf(partition, sizeof partition, "%" PRId32, original->partition);
    snprintf(offset, sizeof offset, "%" PRId64, original->offset);
    char *value = NULL;
    if (original->len > 0) {
        value = malloc(original->len);
        if (value) memcpy(value, original->payload, original->len);
    }
    if (!headers || (original->len > 0 && !value) || rd_kafka_header_add(headers, "orderline.error", -1, error, -1) ||
        rd_kafka_header_add(headers, "orderline.source.topic", -1, sink->orders_topic, -1) ||
        rd_kafka_header_add(headers, "orderline.source.partition", -1, partition, -1) ||
        rd_kafka_header_add(headers, "orderline.source.offset", -1, offset, -1)) {
        free(value);
        if (headers) rd_kafka_headers_destroy(headers);
        ol_seterr(err, errlen, "out of memory building a DLQ copy");
        return false;
    }
    return produce(sink, span, sink->dlq_topic, original->key, original->key_len, value, original->len, headers, err,
                   errlen);
}

uint64_t result_sink_error_count(const result_sink *sink) { return sink->errors; }

uint64_t result_sink_unconfirmed_count(const result_sink *sink) { return sink->unconfirmed; }

void result_sink_poll(result_sink *sink, int timeout_ms) {
    rd_kafka_poll(sink->rk, timeout_ms);
    send_deferred(sink);
}

int result_sink_flush(result_sink *sink, int timeout_ms) {
    int64_t deadline = ol_monotonic_ms() + timeout_ms;
    do {
        int64_t left = deadline - ol_monotonic_ms();
        rd_kafka_flush(sink->rk, left > 0 ? (int)left : 0);
        rd_kafka_poll(sink->rk, 0);
        send_deferred(sink); /* re-sends met while flushing go out, then flush again */
    } while (sink->n_deferred > 0 && ol_monotonic_ms() < deadline);
    return rd_kafka_outq_len(sink->rk) + (int)sink->n_deferred;
}

int64_t result_sink_acked(result_sink *sink, int32_t partition) { return ol_ack_tracker_acked(sink->acks, partition); }

int64_t result_sink_acked_cb(void *sink, int32_t partition) { return result_sink_acked(sink, partition); }

bool result_sink_idle(const result_sink *sink) { return ol_ack_tracker_idle(sink->acks); }

bool result_sink_failed(const result_sink *sink, char *err, size_t errlen) {
    if (sink->failed) ol_seterr(err, errlen, "%s", sink->error);
    return sink->failed;
}

/* result_sink: publishes results and dead-letter copies, and feeds their
 * delivery reports to an ol_ack_tracker (acks.h), which says which prefix of
 * each orders partition has every one of its answers in the log. The
 * pipeline stores that prefix in PostgreSQL (results_offset) so that after
 * a crash only unacknowledged answers are published again. */
#ifndef RESULT_SINK_H
#define RESULT_SINK_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ol_acks.h"
#include "settings.h"
#include "ol_result.h"

typedef struct result_sink result_sink;

/* Creates the producer (idempotent, acks=all, murmur2_random). */
result_sink *result_sink_new(const consumer_settings *settings, char *err, size_t errlen);
/* Frees everything; answers not yet delivered are dropped, so flush first
 * (order_pipeline_stop does). */
void result_sink_destroy(result_sink *sink);

rd_kafka_t *result_sink_handle(result_sink *sink);

/* Fetches the output topics' metadata now, so the first answers do not wait
 * for leader discovery (otherwise the first batch's answers are late). Only
 * an optimisation: a topic still unknown is a warning. */
void result_sink_warm_up(result_sink *sink, int timeout_ms);

ol_ack_span *result_sink_open_span(result_sink *sink, int32_t partition, int64_t end_offset);
void result_sink_close_span(result_sink *sink, ol_ack_span *span);

/* Publishes a result keyed by key (the item; for unreadable messages the
 * original key, possibly NULL). */
bool result_sink_publish_result(result_sink *sink, ol_ack_span *span, const ol_result *result, const void *key,
                                size_t key_len, char *err, size_t errlen);
/* Appends to the orders topic (key: item, so the hold's own partition) the
 * expire of the hold held_id, with its deterministic order_id: a repeat is
 * a duplicate. Its delivery is not tracked: an expire that is lost leaves
 * the hold open, and the next scan sends it again. */
bool result_sink_publish_expire(result_sink *sink, const char *held_id, const char *item, char *err, size_t errlen);
/* Copies an order message unchanged to the DLQ, with headers naming the
 * error and the source topic, partition and offset. */
bool result_sink_publish_dlq(result_sink *sink, ol_ack_span *span, const rd_kafka_message_t *original,
                             const char *error, char *err, size_t errlen);

/* Producer errors so far, retried or not (for metrics). */
uint64_t result_sink_error_count(const result_sink *sink);
/* Delivery reports with no error that named no offset (each re-sent, never
 * counted as delivered), for orderline_kafka_unconfirmed_deliveries_total. */
uint64_t result_sink_unconfirmed_count(const result_sink *sink);

/* Serves delivery reports. */
void result_sink_poll(result_sink *sink, int timeout_ms);
/* Waits for outstanding deliveries; returns how many are left. */
int result_sink_flush(result_sink *sink, int timeout_ms);

/* Offset below which every answer of partition is acknowledged; -1 when no
 * span of that partition has completed yet. */
int64_t result_sink_acked(result_sink *sink, int32_t partition);
/* result_sink_acked with the sink as void *: the callback
 * partition_table_collect_acks takes. */
int64_t result_sink_acked_cb(void *sink, int32_t partition);
/* True when no span is pending. */
bool result_sink_idle(const result_sink *sink);
/* True (with the first error) when a delivery failed for good: the process
 * must stop, and on restart republish from the stored results_offset. */
bool result_sink_failed(const result_sink *sink, char *err, size_t errlen);

#endif

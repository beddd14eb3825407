/* ol_reader: reads topics from chosen offsets with a plain assign(): no
 * consumer group membership, no rebalances, nothing committed. Shared by
 * order-results and order-audit, which both read a fixed window of a topic
 * (start offsets to the high-water marks seen at start) or follow it.
 *
 * librdkafka 2.0 refuses assign() without a group.id, so the reader sets
 * one (its client id); the group is never joined and no offset is ever
 * committed to it (enable.auto.commit=false, offsets always explicit). */
#ifndef OL_READER_H
#define OL_READER_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ol_options.h"
#include "ol_window.h"

typedef struct ol_reader ol_reader;

/* Creates the consumer from the settings (brokers, config file, -X) with
 * client_id as client.id and group.id, and the tool's own librdkafka
 * defaults (NULL-terminated key, value pairs, or NULL); the user's
 * properties win over both. End-of-partition events are on
 * (enable.partition.eof) so callers can tell when they reached the end. */
ol_reader *ol_reader_new(const ol_settings *settings, const char *client_id, const char *const *defaults, char *err,
                         size_t errlen);
/* Closes the consumer (nothing to commit). NULL is accepted. */
void ol_reader_destroy(ol_reader *reader);

/* Number of partitions of topic; -1 on error (an unknown topic included). */
int ol_reader_partition_count(ol_reader *reader, const char *topic, char *err, size_t errlen);

/* Low and high watermarks of partitions 0..n-1, asked of the brokers. */
bool ol_reader_watermarks(ol_reader *reader, const char *topic, int32_t n, int64_t *low, int64_t *high, char *err,
                          size_t errlen);

/* For partitions 0..n-1, the first offset whose message timestamp is at or
 * after ts_ms, or high[p] when no message is that recent. */
bool ol_reader_offsets_for_time(ol_reader *reader, const char *topic, int32_t n, int64_t ts_ms, const int64_t *high,
                                int64_t *out, char *err, size_t errlen);

/* Replaces the assignment: partitions[i] of topic from offsets[i]. n == 0
 * clears it. */
bool ol_reader_assign(ol_reader *reader, const char *topic, const int32_t *partitions, const int64_t *offsets, size_t n,
                      char *err, size_t errlen);

/* Where each partition of a window starts. */
typedef enum { OL_READER_FROM_BEGINNING, OL_READER_FROM_END, OL_READER_FROM_TIME } ol_reader_from;

/* Plans a window over partitions 0..n-1 of topic (n: its partition count,
 * asked by the caller so that it may come before other work): sizes w,
 * reads the watermarks (high: the window's end, as of now) and starts
 * each partition at its low mark, at its end, or (OL_READER_FROM_TIME) at
 * the first offset at or after at_ms, never below its low mark
 * (ol_window_begin). w is the caller's to free, also on false. */
bool ol_reader_plan_window(ol_reader *reader, const char *topic, int32_t n, ol_reader_from from, int64_t at_ms,
                           ol_window *w, char *err, size_t errlen);

/* Assigns every partition of w's topic from its start. */
bool ol_reader_assign_window(ol_reader *reader, const char *topic, const ol_window *w, char *err, size_t errlen);

/* Assigns every partition of topic from its high-water mark as of now: a
 * reader of what is written from here on (the answers to orders about to
 * be sent). Returns the number of partitions, or -1 with err set. */
int ol_reader_assign_from_end(ol_reader *reader, const char *topic, char *err, size_t errlen);

/* Reads up to max messages: what is queued, else waits up to timeout_ms
 * for a first message and returns it with whatever came along. End of
 * partition events come as messages with err ==
 * RD_KAFKA_RESP_ERR__PARTITION_EOF (offset: the partition's end). The
 * caller destroys every message. Transient errors are logged and skipped;
 * errors that make reading pointless (unknown topic or partition, offset
 * out of range, authorisation, fatal) return -1 with err filled. */
ssize_t ol_reader_poll(ol_reader *reader, rd_kafka_message_t **msgs, size_t max, int timeout_ms, char *err,
                       size_t errlen);

#endif

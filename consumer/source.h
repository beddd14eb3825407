/* order_source: the consumer's Kafka side for reading orders. It joins the
 * group and hands every assignment change to a listener, which decides where
 * each new partition starts (positions come from PostgreSQL, never from
 * Kafka's committed offsets). Handles both the eager and the cooperative
 * rebalance protocols. */
#ifndef ORDER_SOURCE_H
#define ORDER_SOURCE_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settings.h"

typedef struct order_source_listener {
    void *ctx;
    /* Newly assigned partitions: set each element's offset (an offset or
     * RD_KAFKA_OFFSET_BEGINNING) before the source assigns them. The source
     * turns RD_KAFKA_OFFSET_BEGINNING into each partition's oldest offset,
     * all in one request; the listener must not call back into it. */
    void (*on_assign)(void *ctx, rd_kafka_topic_partition_list_t *partitions);
    /* Partitions taken away. lost: the group already gave them to someone
     * else, so nothing may be committed for them. */
    void (*on_revoke)(void *ctx, const rd_kafka_topic_partition_list_t *partitions, bool lost);
} order_source_listener;

typedef struct order_source order_source;

#define ORDER_SOURCE_MAX_LANES 8

/* Creates the consumer and subscribes to the orders topic. Messages of
 * partition p are delivered on lane p % n_lanes (order_source_take). */
order_source *order_source_new(const consumer_settings *settings, size_t n_lanes, const order_source_listener *listener,
                               char *err, size_t errlen);
/* Leaves the group: the listener sees the final revoke, from in here. */
bool order_source_close(order_source *source, char *err, size_t errlen);
/* Frees, without leaving the group if not closed (the group then notices
 * when the session times out). NULL is accepted. */
void order_source_destroy(order_source *source);

/* Serves the consumer queue without waiting: rebalance callbacks run in
 * here. Returns a message only for a partition that could not be routed to
 * its lane (normally NULL). The caller destroys it. Errors that librdkafka
 * retries by itself are logged and skipped; *fatal is set when the consumer
 * can no longer work. */
rd_kafka_message_t *order_source_poll(order_source *source, bool *fatal, char *err, size_t errlen);

/* Moves up to max messages already fetched for the lane's partitions into
 * msgs, in offset order per partition, without waiting. The caller owns
 * (destroys) them. Errors as for order_source_poll. */
size_t order_source_take(order_source *source, size_t lane, rd_kafka_message_t **msgs, size_t max, bool *fatal,
                         char *err, size_t errlen);

/* Waits up to timeout_ms until a lane or the consumer queue may have
 * something new (it may return early, and spuriously). */
void order_source_wait(order_source *source, int timeout_ms);

/* Stops fetching a partition until it is assigned again: what a process
 * does when PostgreSQL says another owner has moved its position. */
void order_source_pause(order_source *source, int32_t partition);
void order_source_resume(order_source *source, int32_t partition);

/* True when the group still has the partition assigned to this process and
 * the assignment is not known to be lost. */
bool order_source_owns(order_source *source, int32_t partition);

/* The oldest offset of each of n partitions into out, in one request per
 * leader (offsets for timestamp 0): a concrete offset spares librdkafka a
 * logical-offset lookup of its own per partition. Where the broker cannot
 * say, or the partition is empty, RD_KAFKA_OFFSET_BEGINNING. */
void order_source_oldest_offsets(order_source *source, const int32_t *partitions, size_t n, int64_t *out,
                                 int timeout_ms);

/* Latest known end of a partition (from fetch responses, no request); -1
 * when not known yet. */
int64_t order_source_high_watermark(order_source *source, int32_t partition);

/* True while the group coordinator knows this process as a member (it has
 * a member id); false before the first join and after the group dropped it. */
bool order_source_in_group(order_source *source);

/* Errors reported by the consumer so far (for metrics). */
uint64_t order_source_error_count(const order_source *source);

/* Moves the fetch positions of n assigned partitions, in one call. */
bool order_source_seek(order_source *source, const int32_t *partitions, const int64_t *offsets, size_t n, char *err,
                       size_t errlen);

#endif

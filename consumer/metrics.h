/* consumer_metrics: the consumer's /metrics and /healthz (ol_metrics_server,
 * shared with order-carts), from a snapshot the pipeline publishes: its
 * counters rendered by ol_metrics, healthy with PostgreSQL and partitions. */
#ifndef CONSUMER_METRICS_H
#define CONSUMER_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "ol_metrics.h"

typedef struct consumer_metrics consumer_metrics;

/* Starts serving on addr ("HOST:PORT", "[::1]:PORT"). topic labels the
 * per-partition series. */
consumer_metrics *consumer_metrics_new(const char *addr, const char *topic, char *err, size_t errlen);
/* Stops the server and frees. */
void consumer_metrics_destroy(consumer_metrics *metrics);

/* Replaces the published snapshot (copied). */
void consumer_metrics_publish(consumer_metrics *metrics, const ol_metrics *snapshot);

#endif

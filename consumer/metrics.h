/* consumer_metrics: serves /metrics (Prometheus text) and /healthz over HTTP
 * with libmicrohttpd, from a snapshot the pipeline publishes. The server runs
 * on libmicrohttpd's own thread; the snapshot is guarded by a mutex. */
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

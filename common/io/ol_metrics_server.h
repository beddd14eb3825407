/* ol_metrics_server: /metrics (Prometheus text) and /healthz over HTTP
 * (libmicrohttpd), for the tools that decide in a loop: order-consumer and
 * order-carts. The loop publishes a snapshot of its counters (copied); the
 * server renders it on libmicrohttpd's own thread with the tool's render
 * and health functions. A snapshot not refreshed for 30 s means the loop is
 * stuck: /healthz says so. */
#ifndef OL_METRICS_SERVER_H
#define OL_METRICS_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "ol_str.h"

/* Appends the Prometheus text of snapshot to out; false on OOM. */
typedef bool (*ol_metrics_render_fn)(const void *snapshot, const void *ctx, ol_buf *out);
/* NULL when healthy, else why not (a static string, one line). */
typedef const char *(*ol_metrics_health_fn)(const void *snapshot);

typedef struct ol_metrics_server_def {
    size_t snapshot_size;
    ol_metrics_render_fn render;
    ol_metrics_health_fn health;
    const void *ctx; /* for render; outlives the server */
} ol_metrics_server_def;

typedef struct ol_metrics_server ol_metrics_server;

/* Starts serving on addr ("HOST:PORT", "[::1]:PORT"); NULL with err set
 * when it cannot listen. Until the first publish, /healthz is 503. */
ol_metrics_server *ol_metrics_server_new(const char *addr, const ol_metrics_server_def *def, char *err, size_t errlen);
/* Stops the server and frees; accepts NULL. */
void ol_metrics_server_destroy(ol_metrics_server *s);
/* Replaces the snapshot (def->snapshot_size bytes, copied). */
void ol_metrics_server_publish(ol_metrics_server *s, const void *snapshot);

#endif

#include "metrics.h"

#include <stdlib.h>
#include <string.h>

#include "ol_metrics_server.h"

struct consumer_metrics {
    ol_metrics_server *server;
    char *topic;
};

static bool render(const void *snapshot, const void *ctx, ol_buf *out) { return ol_metrics_render(snapshot, ctx, out); }

static const char *health(const void *snapshot) {
    const ol_metrics *m = snapshot;
    if (!m->db_connected) return "no PostgreSQL connection";
    if (!m->consuming) return "not consuming (no partitions assigned yet)";
    return NULL;
}

consumer_metrics *consumer_metrics_new(const char *addr, const char *topic, char *err, size_t errlen) {
    consumer_metrics *m = calloc(1, sizeof *m);
    if (!m || !(m->topic = strdup(topic))) {
        ol_seterr(err, errlen, "out of memory");
        free(m);
        return NULL;
    }
    ol_metrics_server_def def = {sizeof(ol_metrics), render, health, m->topic};
    if (!(m->server = ol_metrics_server_new(addr, &def, err, errlen))) {
        consumer_metrics_destroy(m);
        return NULL;
    }
    return m;
}

void consumer_metrics_destroy(consumer_metrics *m) {
    if (!m) return;
    ol_metrics_server_destroy(m->server);
    free(m->topic);
    free(m);
}

void consumer_metrics_publish(consumer_metrics *m, const ol_metrics *snapshot) {
    ol_metrics_server_publish(m->server, snapshot);
}

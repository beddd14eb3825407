#include "metrics.h"

#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ol_log.h"
#include "ol_net.h"
#include "ol_str.h"

/* A snapshot older than this means the main loop is stuck: not healthy. */
#define STALE_AFTER_MS 30000

struct consumer_metrics {
    struct MHD_Daemon *daemon;
    pthread_mutex_t lock;
    ol_metrics snapshot;  /* guarded by lock */
    int64_t published_ms; /* guarded by lock; 0: never */
    char *topic;
};

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type, char *body, size_t len) {
    /* MHD_RESPMEM_MUST_FREE: the response takes the malloc'd body. */
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", type);
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size, void **state) {
    consumer_metrics *m = cls;
    if (strcmp(method, "GET") != 0) return respond(conn, 405, "text/plain", strdup("GET only\n"), 9);
    ol_metrics *copy = malloc(sizeof *copy);
    if (!copy) return MHD_NO;
    pthread_mutex_lock(&m->lock);
    *copy = m->snapshot;
    int64_t published = m->published_ms;
    pthread_mutex_unlock(&m->lock);
    ol_buf body;
    ol_buf_init(&body);
    unsigned status = 200;
    const char *type = "text/plain; charset=utf-8";
    bool ok;
    if (strcmp(url, "/metrics") == 0) {
        type = "text/plain; version=0.0.4; charset=utf-8";
        ok = ol_metrics_render(copy, m->topic, &body);
    } else if (strcmp(url, "/healthz") == 0) {
        bool fresh = published > 0 && ol_monotonic_ms() - published < STALE_AFTER_MS;
        if (!copy->db_connected) {
            status = 503;
            ok = ol_buf_appends(&body, "unhealthy: no PostgreSQL connection\n");
        } else if (!copy->consuming || !fresh) {
            status = 503;
            ok = ol_buf_appends(&body, fresh ? "unhealthy: not consuming (no partitions assigned yet)\n"
                                             : "unhealthy: main loop stalled\n");
        } else {
            ok = ol_buf_appends(&body, "ok\n");
        }
    } else {
        status = 404;
        ok = ol_buf_appends(&body, "not found: try /metrics or /healthz\n");
    }
    free(copy);
    if (!ok) {
        ol_buf_free(&body);
        return MHD_NO;
    }
    return respond(conn, status, type, body.data, body.len);
}

consumer_metrics *consumer_metrics_new(const char *addr, const char *topic, char *err, size_t errlen) {
    struct addrinfo *ai = ol_net_resolve_listen("--metrics-addr", addr, err, errlen);
    if (!ai) return NULL;
    consumer_metrics *m = calloc(1, sizeof *m);
    if (!m || !(m->topic = strdup(topic))) {
        ol_seterr(err, errlen, "out of memory");
        free(m);
        freeaddrinfo(ai);
        return NULL;
    }
    pthread_mutex_init(&m->lock, NULL);
    ol_metrics_init(&m->snapshot);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    /* The logger first: libmicrohttpd uses its own for what it says about earlier options. */
    m->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, m, MHD_OPTION_EXTERNAL_LOGGER, ol_log_library, NULL,
                                 MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!m->daemon) {
        ol_seterr(err, errlen, "--metrics-addr %s: cannot listen (address in use or not local?)", addr);
        consumer_metrics_destroy(m);
        return NULL;
    }
    ol_info("serving /metrics and /healthz on %s", addr);
    return m;
}

void consumer_metrics_destroy(consumer_metrics *m) {
    if (!m) return;
    if (m->daemon) MHD_stop_daemon(m->daemon);
    pthread_mutex_destroy(&m->lock);
    free(m->topic);
    free(m);
}

void consumer_metrics_publish(consumer_metrics *m, const ol_metrics *snapshot) {
    pthread_mutex_lock(&m->lock);
    m->snapshot = *snapshot;
    m->published_ms = ol_monotonic_ms();
    pthread_mutex_unlock(&m->lock);
}

#include "ol_metrics_server.h"

#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ol_log.h"
#include "ol_net.h"

/* A snapshot older than this means the main loop is stuck: not healthy. */
#define STALE_AFTER_MS 30000

struct ol_metrics_server {
    struct MHD_Daemon *daemon;
    ol_metrics_server_def def;
    pthread_mutex_t lock;
    void *snapshot;       /* guarded by lock */
    int64_t published_ms; /* guarded by lock; 0: never */
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

static bool health(const ol_metrics_server *s, const void *copy, int64_t published, ol_buf *body, unsigned *status) {
    const char *why = published == 0 ? "starting" : s->def.health(copy);
    if (!why && ol_monotonic_ms() - published >= STALE_AFTER_MS) why = "main loop stalled";
    if (!why) return ol_buf_appends(body, "ok\n");
    *status = 503;
    return ol_buf_appendf(body, "unhealthy: %s\n", why);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size, void **state) {
    ol_metrics_server *s = cls;
    if (strcmp(method, "GET") != 0) return respond(conn, 405, "text/plain", strdup("GET only\n"), 9);
    /* A copy, so that rendering does not hold up the loop's publish. */
    void *copy = malloc(s->def.snapshot_size);
    if (!copy) return MHD_NO;
    pthread_mutex_lock(&s->lock);
    memcpy(copy, s->snapshot, s->def.snapshot_size);
    int64_t published = s->published_ms;
    pthread_mutex_unlock(&s->lock);
    ol_buf body;
    ol_buf_init(&body);
    unsigned status = 200;
    const char *type = "text/plain; charset=utf-8";
    bool ok;
    if (strcmp(url, "/metrics") == 0) {
        type = "text/plain; version=0.0.4; charset=utf-8";
        ok = s->def.render(copy, s->def.ctx, &body);
    } else if (strcmp(url, "/healthz") == 0) {
        ok = health(s, copy, published, &body, &status);
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

ol_metrics_server *ol_metrics_server_new(const char *addr, const ol_metrics_server_def *def, char *err, size_t errlen) {
    struct addrinfo *ai = ol_net_resolve_listen("--metrics-addr", addr, err, errlen);
    if (!ai) return NULL;
    ol_metrics_server *s = calloc(1, sizeof *s);
    if (!s || !(s->snapshot = calloc(1, def->snapshot_size))) {
        ol_seterr(err, errlen, "out of memory");
        free(s);
        freeaddrinfo(ai);
        return NULL;
    }
    s->def = *def;
    pthread_mutex_init(&s->lock, NULL);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    /* The logger first: libmicrohttpd uses its own for what it says about earlier options. */
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, ol_log_library, NULL,
                                 MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->daemon) {
        ol_seterr(err, errlen, "--metrics-addr %s: cannot listen (address in use or not local?)", addr);
        ol_metrics_server_destroy(s);
        return NULL;
    }
    ol_info("serving /metrics and /healthz on %s", addr);
    return s;
}

void ol_metrics_server_destroy(ol_metrics_server *s) {
    if (!s) return;
    if (s->daemon) MHD_stop_daemon(s->daemon);
    pthread_mutex_destroy(&s->lock);
    free(s->snapshot);
    free(s);
}

void ol_metrics_server_publish(ol_metrics_server *s, const void *snapshot) {
    pthread_mutex_lock(&s->lock);
    memcpy(s->snapshot, snapshot, s->def.snapshot_size);
    s->published_ms = ol_monotonic_ms();
    pthread_mutex_unlock(&s->lock);
}

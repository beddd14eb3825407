#include "counters.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const unsigned gw_codes[GW_CODES] = {200, 201, 202, 400, 401, 403, 404, 405, 409, 413, 415, 422, 500, 503, 204, 304};

bool gw_counters_init(gw_counters *c, const char *const *client_names, size_t n_clients) {
    static const double seconds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
    memset(c, 0, sizeof *c);
    ol_histogram_init(&c->wait_seconds, seconds, sizeof seconds / sizeof seconds[0]);
    if (n_clients == 0) return true;
    c->client_requests = calloc(n_clients * (GW_CODES + 1), sizeof *c->client_requests);
    if (!c->client_requests) return false;
    c->n_clients = n_clients;
    c->client_names = client_names;
    return true;
}

void gw_counters_free(gw_counters *c) {
    free(c->client_requests);
    c->client_requests = NULL;
    c->n_clients = 0;
}

void gw_counters_request(gw_counters *c, gw_route route, unsigned status, size_t client) {
    size_t i = 0;
    while (i < GW_CODES && gw_codes[i] != status) i++;
    c->requests[route][i]++;
    if (client < c->n_clients) c->client_requests[client * (GW_CODES + 1) + i]++;
}

static void code_label(size_t i, char *code, size_t size) {
    if (i < GW_CODES) snprintf(code, size, "%u", gw_codes[i]);
    else snprintf(code, size, "other");
}

static bool render_clients(const gw_counters *c, ol_buf *out) {
    bool ok = ol_buf_appends(out, "# HELP orderline_gateway_client_requests_total HTTP requests answered, by caller "
                                  "and status code.\n# TYPE orderline_gateway_client_requests_total counter\n");
    for (size_t k = 0; ok && k < c->n_clients; k++)
        for (size_t i = 0; ok && i <= GW_CODES; i++) {
            uint64_t n = c->client_requests[k * (GW_CODES + 1) + i];
            if (!n) continue;
            char code[8];
            code_label(i, code, sizeof code);
            ok = ol_buf_appendf(out, "orderline_gateway_client_requests_total{client=\"%s\",code=\"%s\"} %" PRIu64 "\n",
                                c->client_names[k], code, n);
        }
    return ok;
}

static bool counter(ol_buf *out, const char *name, const char *help, uint64_t value) {
    return ol_buf_appendf(out, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n", name, help, name, name, value);
}

bool gw_counters_render(const gw_counters *c, ol_buf *out) {
    bool ok = ol_buf_appends(out, "# HELP orderline_gateway_requests_total HTTP requests answered, by route and status "
                                  "code.\n# TYPE orderline_gateway_requests_total counter\n");
    for (int r = 0; ok && r < GW_ROUTE_COUNT; r++)
        for (int i = 0; ok && i <= GW_CODES; i++) {
            if (!c->requests[r][i]) continue;
            char code[8];
            code_label((size_t)i, code, sizeof code);
            ok = ol_buf_appendf(out, "orderline_gateway_requests_total{route=\"%s\",code=\"%s\"} %" PRIu64 "\n",
                                gw_route_label((gw_route)r), code, c->requests[r][i]);
        }
    return ok && render_clients(c, out) &&
           ol_histogram_render(out, "orderline_gateway_wait_seconds",
                               "POST /orders: seconds from the request to its answer.", &c->wait_seconds) &&
           ol_buf_appendf(out,
                          "# HELP orderline_gateway_waiters Requests waiting for a decision now.\n"
                          "# TYPE orderline_gateway_waiters gauge\norderline_gateway_waiters %" PRIu64 "\n",
                          c->waiters) &&
           counter(out, "orderline_gateway_results_read_total", "Answers read from the results topic.",
                   c->results_read) &&
           counter(out, "orderline_gateway_results_matched_total", "Answers someone here was waiting for.",
                   c->results_matched) &&
           counter(out, "orderline_gateway_results_unreadable_total",
                   "Messages on the results topic that are not answers.", c->results_unreadable) &&
           counter(out, "orderline_gateway_produced_total", "Orders handed to the producer (re-sends included).",
                   c->produced) &&
           counter(out, "orderline_kafka_unconfirmed_deliveries_total",
                   "Delivery reports without error that named no offset: re-sent, never counted as delivered.",
                   c->unconfirmed) &&
           counter(out, "orderline_gateway_delivery_failures_total", "Delivery reports with an error.",
                   c->delivery_failures) &&
           counter(out, "orderline_gateway_ledger_errors_total", "PostgreSQL queries that failed.", c->ledger_errors) &&
           counter(out, "orderline_gateway_waiters_refused_total",
                   "Requests answered 503 because --max-waiters requests were waiting already.", c->waiters_refused);
}

/* Raises *slot to offset + 1 unless it is there already. */
static void raise_to(_Atomic int64_t *slot, int64_t offset) {
    int64_t next = offset + 1, seen = atomic_load(slot);
    while (seen < next && !atomic_compare_exchange_weak(slot, &seen, next)) {
    }
}

void gw_counters_in_log(gw_counters *c, int32_t partition, int64_t offset) {
    if (partition >= 0 && partition < GW_MAX_PARTITIONS && offset >= 0) raise_to(&c->orders_next[partition], offset);
}

void gw_counters_answered(gw_counters *c, int32_t partition, int64_t offset) {
    if (partition >= 0 && partition < GW_MAX_PARTITIONS && offset >= 0) raise_to(&c->answered_next[partition], offset);
}

static bool render_offsets(ol_buf *out, const char *name, const char *help, const char *topic,
                           const _Atomic int64_t *next) {
    bool ok = ol_buf_appendf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    for (int p = 0; ok && p < GW_MAX_PARTITIONS; p++) {
        int64_t v = atomic_load(&next[p]);
        if (v > 0) ok = ol_buf_appendf(out, "%s{topic=\"%s\",partition=\"%d\"} %" PRId64 "\n", name, topic, p, v);
    }
    return ok;
}

/* Topic names are [a-zA-Z0-9._-] in Kafka: safe inside a label value. */
bool gw_counters_render_partitions(const gw_counters *c, const char *topic, ol_buf *out) {
    return render_offsets(out, "orderline_gateway_orders_offset",
                          "One past the highest offset of this gateway's orders in the log, per partition.", topic,
                          c->orders_next) &&
           render_offsets(out, "orderline_gateway_answered_offset",
                          "One past the highest order offset answered on the results topic, per partition.", topic,
                          c->answered_next);
}

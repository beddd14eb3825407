/* gw_counters: the gateway's counters and their Prometheus rendering.
 * Pure. The counts are atomic (C11), so any thread counts without a lock;
 * the histogram is not: its caller serialises observe and render. */
#ifndef GW_COUNTERS_H
#define GW_COUNTERS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ol_metrics.h"
#include "ol_str.h"
#include "request.h"

/* The status codes the gateway answers with; others land in "other". */
#define GW_CODES 16
/* Partitions beyond this are not tracked per partition. */
#define GW_MAX_PARTITIONS 1024
extern const unsigned gw_codes[GW_CODES];

typedef struct gw_counters {
    _Atomic uint64_t requests[GW_ROUTE_COUNT][GW_CODES + 1]; /* [route][code index, GW_CODES: other] */
    ol_histogram wait_seconds;                               /* POST /orders: from request to response */
    _Atomic uint64_t waiters;                                /* gauge: waits in flight */
    _Atomic uint64_t results_read;                           /* answers read from the results topic */
    _Atomic uint64_t results_matched;                        /* ... that someone here waited for */
    _Atomic uint64_t results_unreadable;
    _Atomic uint64_t produced;          /* orders handed to the producer, re-sends included */
    _Atomic uint64_t unconfirmed;       /* delivery reports without error that named no offset */
    _Atomic uint64_t delivery_failures; /* delivery reports with an error */
    _Atomic uint64_t ledger_errors;     /* PostgreSQL queries that failed */
    _Atomic uint64_t waiters_refused;   /* requests answered 503 at --max-waiters */
    /* Requests by caller: client_requests[i * (GW_CODES + 1) + code index]
     * for client_names[i] (borrowed). */
    size_t n_clients;
    const char *const *client_names;
    _Atomic uint64_t *client_requests;
    /* Per orders partition, one past the highest offset seen: of this
     * gateway's orders in delivery reports, and of the orders answered on
     * the results topic (any producer's). 0: none seen. Together they show
     * from outside the consumer whether a partition's orders get decided. */
    _Atomic int64_t orders_next[GW_MAX_PARTITIONS];
    _Atomic int64_t answered_next[GW_MAX_PARTITIONS];
} gw_counters;

/* No request has a known caller (a 401, or on the metrics listener). */
#define GW_NO_CLIENT ((size_t)-1)

/* False when memory ran out. */
bool gw_counters_init(gw_counters *c, const char *const *client_names, size_t n_clients);
/* Frees what init allocated (not c). */
void gw_counters_free(gw_counters *c);
/* Counts a request answered with status, and for client unless GW_NO_CLIENT. */
void gw_counters_request(gw_counters *c, gw_route route, unsigned status, size_t client);
bool gw_counters_render(const gw_counters *c, ol_buf *out);
/* An order of this gateway's is in the log at (partition, offset). */
void gw_counters_in_log(gw_counters *c, int32_t partition, int64_t offset);
/* An answer names the order at (partition, offset). */
void gw_counters_answered(gw_counters *c, int32_t partition, int64_t offset);
/* Appends orderline_gateway_orders_offset and _answered_offset, labelled
 * with the orders topic, for the partitions seen. */
bool gw_counters_render_partitions(const gw_counters *c, const char *topic, ol_buf *out);

#endif

/* gw_counters: the gateway's counters and their Prometheus rendering.
 * Pure; the caller serialises access (the gateway holds a mutex). */
#ifndef GW_COUNTERS_H
#define GW_COUNTERS_H

#include <stdbool.h>
#include <stdint.h>

#include "ol_metrics.h"
#include "ol_str.h"
#include "request.h"

/* The status codes the gateway answers with; others land in "other". */
#define GW_CODES 14
extern const unsigned gw_codes[GW_CODES];

typedef struct gw_counters {
    uint64_t requests[GW_ROUTE_COUNT][GW_CODES + 1]; /* [route][code index, GW_CODES: other] */
    ol_histogram wait_seconds;                       /* POST /orders: from request to response */
    uint64_t waiters;                                /* gauge: waits in flight */
    uint64_t results_read;                           /* answers read from the results topic */
    uint64_t results_matched;                        /* ... that someone here waited for */
    uint64_t results_unreadable;
    uint64_t produced;          /* orders handed to the producer, re-sends included */
    uint64_t unconfirmed;       /* delivery reports without error that named no offset */
    uint64_t delivery_failures; /* delivery reports with an error */
    uint64_t ledger_errors;     /* PostgreSQL queries that failed */
} gw_counters;

void gw_counters_init(gw_counters *c);
void gw_counters_request(gw_counters *c, gw_route route, unsigned status);
bool gw_counters_render(const gw_counters *c, ol_buf *out);

#endif

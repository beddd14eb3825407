/* gw_http: the gateway's HTTP side (libmicrohttpd, epoll, a small thread
 * pool). A POST /orders that must wait is suspended, holding no thread,
 * and resumed when the relay completes its wait. */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "ledger.h"
#include "settings.h"
#include "ol_waiters.h"
#include "relay.h"

typedef struct gw_http gw_http;

/* Creates the server object; nothing listens until gw_http_start. */
gw_http *gw_http_new(const gateway_settings *s, gw_ledger *ledger, char *err, size_t errlen);
/* Listens on --listen (and --metrics-addr, when given). */
bool gw_http_start(gw_http *h, gw_relay *relay, char *err, size_t errlen);
/* The relay's completion callback (opaque: the gw_http). */
void gw_http_on_complete(void *token, ol_completion *c, void *opaque);
/* Stops accepting connections; requests in flight go on. */
void gw_http_quiesce(gw_http *h);
/* Waits up to timeout_ms for every request begun to be answered; returns
 * how many were not. */
unsigned gw_http_drain(gw_http *h, int timeout_ms);
/* Closes the listeners and frees. NULL is accepted. */
void gw_http_destroy(gw_http *h);

#endif

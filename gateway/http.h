/* gw_http: the gateway's HTTP side (libmicrohttpd, epoll, a small thread
 * pool). A request that asks the ledger or must wait for its decision is
 * suspended, holding no thread, and resumed when a lookup worker has the
 * ledger's answer or the relay completes its wait. */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "access.h"
#include "ledger.h"
#include "settings.h"
#include "ol_waiters.h"
#include "relay.h"

typedef struct gw_http gw_http;

/* What gw_http borrows, all of it kept alive until gw_http_destroy. */
typedef struct gw_http_config {
    const gateway_settings *settings;
    const gw_tokens *tokens;       /* --auth-tokens; NULL: the public listener asks for none */
    const gw_tokens *admin_tokens; /* --admin-token-file (with --admin-listen) */
    const char *tls_cert;          /* PEM text of --tls-cert; NULL: plain HTTP */
    const char *tls_key;           /* ... of --tls-key, with tls_cert */
    const char *tls_trust;         /* ... of --tls-client-ca: client certificates required; NULL: none asked */
    int lookup_threads;            /* ledger lookup workers: as many as the ledger has connections */
} gw_http_config;

/* Creates the server object; nothing listens until gw_http_start. */
gw_http *gw_http_new(const gw_http_config *cfg, gw_ledger *ledger, char *err, size_t errlen);
/* The callers requests are counted under (for the relay's counters): the
 * tokens' clients, then "admin", then "anonymous". Valid until destroy. */
const char *const *gw_http_client_names(const gw_http *h, size_t *n);
/* Listens on --listen (and --admin-listen and --metrics-addr, when given). */
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

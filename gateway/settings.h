/* gateway_settings: order-gateway's flags, after the ones every tool
 * shares. The option table that fills them is in main.c. */
#ifndef GATEWAY_SETTINGS_H
#define GATEWAY_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "ol_options.h"

typedef struct gateway_settings {
    ol_settings common; /* first: the option table's offsets count from here */
    char *listen;       /* ADDR:PORT of the HTTP API */
    long max_wait_s;    /* cap on Prefer: wait=N */
    char *metrics_addr; /* /metrics and /healthz there (only there); NULL: off */
    char *auth_tokens;  /* FILE of NAME TOKEN lines; NULL: no token asked for */
    bool no_auth;       /* unauthenticated on purpose, on a non-loopback --listen */
    char *admin_listen; /* ADDR:PORT of the admin listener (restocks); NULL: none */
    char *admin_token_file;
    char *tls_cert, *tls_key, *tls_client_ca;
    long max_connections_per_ip; /* 0: no limit */
    long max_waiters;
    long idle_timeout_s;
} gateway_settings;
_Static_assert(offsetof(gateway_settings, common) == 0, "the shared settings come first");

#endif

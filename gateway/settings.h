/* gateway_settings: order-gateway's flags, after the ones every tool
 * shares. The option table that fills them is in main.c. */
#ifndef GATEWAY_SETTINGS_H
#define GATEWAY_SETTINGS_H

#include <stddef.h>

#include "ol_options.h"

typedef struct gateway_settings {
    ol_settings common; /* first: the option table's offsets count from here */
    char *listen;       /* ADDR:PORT of the HTTP API */
    long max_wait_s;    /* cap on Prefer: wait=N */
    char *metrics_addr; /* also /metrics and /healthz there; NULL: off */
} gateway_settings;
_Static_assert(offsetof(gateway_settings, common) == 0, "the shared settings come first");

#endif

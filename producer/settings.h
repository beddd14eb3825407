/* producer_settings: order-producer's flags, after the ones every tool
 * shares. The option table that fills them is in main.c. */
#ifndef PRODUCER_SETTINGS_H
#define PRODUCER_SETTINGS_H

#include <stddef.h>

#include "ol_options.h"

typedef struct producer_settings {
    ol_settings common; /* first: the option table's offsets count from here */
    long rate;          /* orders per second to publish at, 0: as fast as possible */
    long wait_s;        /* --wait[=SECONDS]: wait for every answer this long; 0: do not wait, -1: the default */
    char *acks_log;     /* one JSON line per delivery report; NULL: off */
    long generate;      /* number of synthetic orders to write, 0: off */
    long items;
    long seed;
    long restock_pct;
    long duplicate_pct;
} producer_settings;
_Static_assert(offsetof(producer_settings, common) == 0, "the shared settings come first");

#endif

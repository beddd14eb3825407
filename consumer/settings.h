/* consumer_settings: order-consumer's flags, after the ones every tool
 * shares. The option table that fills them is in main.c. */
#ifndef CONSUMER_SETTINGS_H
#define CONSUMER_SETTINGS_H

#include <stddef.h>

#include "ol_options.h"

typedef struct consumer_settings {
    ol_settings common; /* first: the option table's offsets count from here */
    char *dlq_topic;
    char *group;
    long batch_max;
    long batch_linger_ms;
    long idle_exit_s;    /* 0: run until signalled */
    char *metrics_addr;  /* HOST:PORT for /metrics and /healthz; NULL: off */
    long db_connections; /* parallel batch transactions (lanes of partitions) */
    char *stats_file;    /* the /metrics text written at exit; NULL: off */
} consumer_settings;
_Static_assert(offsetof(consumer_settings, common) == 0, "the shared settings come first");

#endif

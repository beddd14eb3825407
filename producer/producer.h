/* order_producer: publishes validated order lines to the orders topic with
 * the idempotent producer (acks=all) and the Java-compatible murmur2_random
 * partitioner, keyed by item, and accounts for every delivery report. */
#ifndef ORDER_PRODUCER_H
#define ORDER_PRODUCER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "settings.h"

typedef struct order_producer order_producer;

typedef struct order_producer_stats {
    size_t lines;       /* non-blank lines read */
    size_t invalid;     /* rejected by validation, not sent */
    size_t sent;        /* handed to librdkafka */
    size_t delivered;   /* acknowledged by the brokers with an offset */
    size_t failed;      /* delivery failed (or never confirmed with an offset) */
    size_t unconfirmed; /* delivery reports without error that named no offset (each re-sent) */
    size_t decided;     /* --wait: answers read */
    size_t rejected;    /* --wait: ... of them rejected */
    size_t unanswered;  /* --wait: in the log, but no answer in time */
} order_producer_stats;

/* Connects and makes sure the orders topic exists. */
order_producer *order_producer_new(const producer_settings *settings, char *err, size_t errlen);
void order_producer_destroy(order_producer *p);

/* Validates and publishes every line of one input (path "-" is stdin).
 * Invalid lines are reported on stderr as SOURCE:LINE: reason. Stops early
 * when *stop becomes non-zero. False on I/O errors (err says which). */
bool order_producer_publish_file(order_producer *p, const char *path, volatile const sig_atomic_t *stop, char *err,
                                 size_t errlen);

/* Waits until every message is delivered or failed (or timeout_ms passes);
 * returns the number still undelivered. */
int order_producer_drain(order_producer *p, int timeout_ms);

/* With --wait: reads the answers to every order sent until each has one or
 * its time ran out (or *stop), printing each answer as a JSON line on
 * stdout. False on a read or write error (err says which). */
bool order_producer_await_answers(order_producer *p, volatile const sig_atomic_t *stop, char *err, size_t errlen);

order_producer_stats order_producer_get_stats(const order_producer *p);

/* Ends the progress line (when shown) with the final counts. */
void order_producer_progress_end(order_producer *p);

/* --acks-log: closes the file after the drain (no report comes later);
 * false if any line could not be written. */
bool order_producer_close_acks_log(order_producer *p, const char *path, char *err, size_t errlen);

#endif

/* cart_coordinator: order-carts' one loop (carts/protocol.md).
 *
 *   carts topic ──(group G)──► decide (cart_engine, one PostgreSQL
 *        ▲                     transaction per batch, fenced positions)
 *        │                         │ outbox rows
 *        │                         ▼
 *        │ line answers       send: steps → orders topic (key = item),
 *        │                          answers → results topic (key = cart_id)
 *        │                         │ delivery report names an offset
 *        │                         ▼
 *   forwarder ◄──(group G-lines)── results topic: the items' answers
 *   (forwarder.c)
 *
 * Everything a cart decides goes through the outbox: a row is deleted only
 * once its delivery report names an offset, and whatever is left is sent
 * again after a restart or a reassignment (repeats are duplicates by
 * order_id). The forwarder commits its results-topic offsets only after
 * every line answer it forwarded below them is in the carts topic.
 *
 * The loop sleeps on one pipe that every queue it serves writes to (the
 * carts consumer's, the delivery reports', the forwarder's two), until one
 * has something or a chore (expiry scan, outbox deletes, a commit) is due. */
#ifndef CART_COORDINATOR_H
#define CART_COORDINATOR_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "ol_options.h"

typedef struct carts_settings {
    ol_settings common; /* first: the option table's offsets count from here */
    char *group;
    long batch_max;
    long batch_linger_ms; /* longest wait for more after a batch's first message */
    long expire_interval_ms;
    long idle_exit_s;   /* 0: run until signalled */
    char *stats_file;   /* counters at exit (Prometheus text, as /metrics); NULL: off */
    char *metrics_addr; /* /metrics and /healthz (HOST:PORT); NULL: off */
} carts_settings;
_Static_assert(offsetof(carts_settings, common) == 0, "the shared settings come first");

typedef struct cart_coordinator cart_coordinator;

/* Connects to PostgreSQL (applying migrations) and Kafka, creates missing
 * topics and joins both groups. stop is the run flag. NULL on error. */
cart_coordinator *cart_coordinator_new(const carts_settings *settings, volatile sig_atomic_t *stop, char *err,
                                       size_t errlen);
/* Runs until *stop, --idle-exit, or an error that no retry mends (false). */
bool cart_coordinator_run(cart_coordinator *c, char *err, size_t errlen);
/* Sends what the outbox still holds (bounded wait), then leaves both
 * groups. False when something stayed unsent: it is sent on the next start. */
bool cart_coordinator_stop(cart_coordinator *c, char *err, size_t errlen);
bool cart_coordinator_write_stats(cart_coordinator *c, const char *path, char *err, size_t errlen);
/* Frees; accepts NULL. Stop first. */
void cart_coordinator_destroy(cart_coordinator *c);

#endif

/* cart_forwarder: the items' answers to cart line steps, turned into
 * line_result messages on the cart's partition of the carts topic, so that
 * a cart's whole story is in one partition's order.
 *
 *   results topic ──(group G-lines)──► forwarder ──► carts topic (key = cart_id)
 *
 * It reads ahead of its deliveries (up to a bound) and commits its
 * results-topic offsets only over the prefix whose forwards are all shown
 * to be in the log (ol_ack_tracker): after a crash it forwards again from
 * there, and a repeated line answer changes nothing.
 *
 * It runs on a thread of its own (cart_forwarder_start), so that a line
 * answer does not wait behind the coordinator's batch linger and
 * transaction. While the thread runs, other threads may call only
 * cart_forwarder_failed, cart_forwarder_idle and cart_forwarder_counts_get;
 * cart_forwarder_stop ends the thread first.
 *
 * Ownership: the forwarder owns its consumer, its producer, its wake-up
 * pipe and its thread; settings are borrowed and must outlive it. Stopping
 * (cart_forwarder_stop) is separate from destroying. */
#ifndef CARTS_FORWARDER_H
#define CARTS_FORWARDER_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

#include "ol_options.h"

typedef struct cart_forwarder cart_forwarder;

typedef struct cart_forwarder_counts {
    uint64_t forwarded;         /* line answers handed to the producer (sent again ones not counted) */
    uint64_t delivery_failures; /* reports that did not show a forward in the log (each sent again) */
} cart_forwarder_counts;

/* Subscribes group on settings->results_topic and opens a producer for
 * settings->carts_topic. NULL with err filled on failure. */
cart_forwarder *cart_forwarder_new(const ol_settings *settings, const char *group, char *err, size_t errlen);
/* Frees everything; purges what the producer still holds. A thread still
 * running (no cart_forwarder_stop, as on an error path) is ended first,
 * since it uses what is freed. NULL accepted. */
void cart_forwarder_destroy(cart_forwarder *f);

/* Starts the thread (once; again does nothing). It serves delivery
 * reports, sends again what failed, commits what is acknowledged (at most
 * every so often) and forwards what the results topic has, sleeping on the
 * forwarder's queues when there is nothing. False, with err, when the
 * thread could not be made. */
bool cart_forwarder_start(cart_forwarder *f, char *err, size_t errlen);
/* True (not a status: a question), with err, when the thread has ended on
 * a failure (out of memory); nothing more is forwarded then, and
 * cart_forwarder_stop commits nothing. */
bool cart_forwarder_failed(cart_forwarder *f, char *err, size_t errlen);
/* True when, at the thread's last step, nothing was unsent, unreported or
 * uncommitted. */
bool cart_forwarder_idle(cart_forwarder *f);
cart_forwarder_counts cart_forwarder_counts_get(const cart_forwarder *f);

/* Ends the thread, forwards what its queue holds now (one more step),
 * waits up to timeout_ms for the forwards out, commits the acknowledged
 * prefix synchronously and leaves the group. False, with err, when some
 * forwards were not shown in the log, or the thread had failed (then
 * nothing is committed); they are forwarded again on the next start. */
bool cart_forwarder_stop(cart_forwarder *f, int timeout_ms, char *err, size_t errlen);

#endif

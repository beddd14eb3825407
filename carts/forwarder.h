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
 * Ownership: the forwarder owns its consumer and its producer; settings
 * are borrowed and must outlive it. Stopping (cart_forwarder_stop) is
 * separate from destroying. */
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
 * settings->carts_topic. wake: a non-blocking pipe's write end that both
 * write a byte to when they have something for cart_forwarder_step. NULL
 * with err filled on failure. */
cart_forwarder *cart_forwarder_new(const ol_settings *settings, const char *group, int wake, char *err, size_t errlen);
/* Frees everything; purges what the producer still holds. NULL accepted. */
void cart_forwarder_destroy(cart_forwarder *f);

/* Serves delivery reports, sends again what failed, commits what is
 * acknowledged (at most every so often), and forwards what the results
 * topic has now, without waiting. *worked is set when anything was read
 * or reported. False, with err, only when out of memory. */
bool cart_forwarder_step(cart_forwarder *f, bool *worked, char *err, size_t errlen);
/* Monotonic ms by which the forwarder wants a step even with nothing
 * new: a commit or a re-send due; INT64_MAX when none. */
int64_t cart_forwarder_due_ms(cart_forwarder *f);
/* True when nothing is unsent, unreported or uncommitted. */
bool cart_forwarder_idle(cart_forwarder *f);
cart_forwarder_counts cart_forwarder_counts_get(const cart_forwarder *f);

/* Waits up to timeout_ms for the forwards out, commits the acknowledged
 * prefix synchronously and leaves the group. False, with err, when some
 * forwards were not shown in the log (they are forwarded again on the
 * next start). */
bool cart_forwarder_stop(cart_forwarder *f, int timeout_ms, char *err, size_t errlen);

#endif

/* gw_relay: the gateway's Kafka side. It publishes orders and carts (idempotent
 * producer, acks=all), reads every partition of the results topic from its
 * end as of the start (a plain assignment, no group), and joins the two
 * through the waiter registry (ol_waiters). HTTP threads call attach and
 * submit; one thread (main) calls run_once, which delivers completions.
 * The relay owns the gateway's counters too (atomic; the wait histogram
 * under a lock of its own). */
#ifndef GW_RELAY_H
#define GW_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access.h"
#include "counters.h"
#include "inlog.h"
#include "ol_options.h"
#include "ol_waiters.h"
#include "request.h"

/* The orders answered 202 remembered, so a repeat is not produced again. */
#define GW_IN_LOG_MAX 100000
#define GW_IN_LOG_TTL_MS (3600 * 1000)

typedef struct gw_relay gw_relay;

/* Called with the relay's lock held, when a wait for token is registered:
 * the HTTP side suspends the request there, so that its completion (which
 * needs the lock) can only come after. */
typedef void (*gw_on_wait)(void *token);
/* Called without the lock for every completed wait; takes ownership of
 * c->answer. */
typedef void (*gw_on_complete)(void *token, ol_completion *c, void *opaque);

typedef struct gw_relay_config {
    const ol_settings *settings;
    const char *const *client_names; /* counted by caller (borrowed, outlive the relay) */
    size_t n_clients;
    size_t max_waiters; /* requests waiting at once; past it attach and submit answer BUSY */
} gw_relay_config;

gw_relay *gw_relay_new(const gw_relay_config *cfg, gw_on_complete on_complete, void *opaque, char *err, size_t errlen);
/* Frees; call gw_relay_stop first. NULL is accepted. */
void gw_relay_destroy(gw_relay *r);

typedef enum {
    GW_ATTACH_NONE,    /* no such order in flight here */
    GW_ATTACH_WAITING, /* joined it */
    GW_ATTACH_BUSY,    /* in flight, but max_waiters wait already */
    GW_ATTACH_STOPPING /* the relay is stopping: nobody may wait any more */
} gw_attach_status;
/* Waits on an order already in flight here. */
gw_attach_status gw_relay_attach(gw_relay *r, const char *order_id, void *token, int64_t deadline_ms,
                                 gw_on_wait on_wait);

typedef enum {
    GW_SUBMIT_WAITING,
    GW_SUBMIT_IN_LOG, /* put in the log from here before and answered 202: *where says where */
    GW_SUBMIT_FAILED,
    GW_SUBMIT_BUSY,
    GW_SUBMIT_STOPPING
} gw_submit_status;
/* Registers a wait for the order and produces it, with client (NULL:
 * none) in its header orderline.client (or joins the order if it got in
 * flight meanwhile). IN_LOG: this gateway put it in the log within
 * GW_IN_LOG_TTL_MS and it is not decided here yet; nothing is produced.
 * FAILED, BUSY (max_waiters wait already) and STOPPING (gw_relay_stop has
 * begun): nothing was produced; reason says why. */
gw_submit_status gw_relay_submit(gw_relay *r, const gw_order_input *in, const char *client, void *token,
                                 int64_t deadline_ms, gw_on_wait on_wait, gw_in_log *where, char *reason,
                                 size_t reasonlen);

/* A message to produce and wait for: an order (key = item) or a carts
 * message (key = cart_id, to the carts topic). Borrowed by submit. */
typedef struct gw_outgoing {
    const char *order_id; /* what its answer names */
    const char *key;
    const char *value;
    size_t len;
    bool cart; /* to --carts-topic; else --orders-topic */
} gw_outgoing;
/* gw_relay_submit for any message. */
gw_submit_status gw_relay_submit_to(gw_relay *r, const gw_outgoing *out, const char *client, void *token,
                                    int64_t deadline_ms, gw_on_wait on_wait, gw_in_log *where, char *reason,
                                    size_t reasonlen);
/* Whether order_id is in flight here or was put in the log from here
 * (within GW_IN_LOG_TTL_MS) undecided. */
bool gw_relay_knows(gw_relay *r, const char *order_id);

/* Serves delivery reports, reads answers (waiting up to timeout_ms for
 * one), ends waits past their deadline and delivers the completions. False
 * on a fatal error (err says which): the results cannot be read. */
bool gw_relay_run_once(gw_relay *r, int timeout_ms, char *err, size_t errlen);

/* For a stop: from here on attach and submit answer STOPPING; waits up
 * to timeout_ms for the orders in flight to be
 * confirmed, then completes every wait (503 for the unconfirmed, 202 for
 * the rest). Returns the number of orders still unconfirmed. */
int gw_relay_stop(gw_relay *r, int timeout_ms);

/* Remembers that order_id is in the log at where, undecided: called as
 * its wait ends 202, before the answer, so a repeat finds it (submit). */
void gw_relay_remember_in_log(gw_relay *r, const char *order_id, gw_in_log where);

/* Counters: no relay lock taken. */
/* client: an index into the config's client_names, or GW_NO_CLIENT. */
void gw_relay_count_request(gw_relay *r, gw_route route, unsigned status, size_t client, double wait_s);
void gw_relay_count_ledger_error(gw_relay *r);
bool gw_relay_render_metrics(gw_relay *r, ol_buf *out);
/* Milliseconds since run_once last ran (for /healthz). */
int64_t gw_relay_idle_ms(gw_relay *r);

#endif

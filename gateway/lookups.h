/* gw_lookups: the ledger's questions asked off the HTTP threads. A small
 * pool of worker threads, one ledger connection each, takes lookups from a
 * queue; the HTTP side suspends the request meanwhile (as for a Kafka
 * wait) and each lookup's done callback resumes it. A lookup ends by its
 * deadline whatever PostgreSQL does: one still queued at its deadline is
 * answered as an error without a query. */
#ifndef GW_LOOKUPS_H
#define GW_LOOKUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger.h"
#include "ol_order.h"
#include "ol_result.h"

typedef enum {
    GW_LOOKUP_DECISION,
    GW_LOOKUP_ITEM,
    GW_LOOKUP_PING,
    GW_LOOKUP_CART,       /* table carts, by cart_id */
    GW_LOOKUP_CART_ANSWER /* table cart_messages, by order_id */
} gw_lookup_kind;

/* One question, owned by the caller (it lives in the request) until done
 * is called, on a worker thread, with the answer filled in. */
typedef struct gw_lookup {
    gw_lookup_kind kind;
    char key[OL_ORDER_ID_MAX + 1]; /* the order_id or item */
    int64_t deadline_ms;           /* ol_monotonic_ms */
    void (*done)(struct gw_lookup *lookup);
    gw_ledger_status status; /* PING: FOUND when PostgreSQL answered */
    ol_result result;        /* DECISION, FOUND */
    int64_t count;           /* ITEM, FOUND */
    gw_cart_row cart;        /* CART, FOUND: cart.lines is malloc'd (gw_lookup_clear frees it) */
    char *answer;            /* CART_ANSWER, FOUND: malloc'd (gw_lookup_clear frees it) */
    char err[512];           /* ERROR: why */
    struct gw_lookup *next;  /* the queue's */
} gw_lookup;

typedef struct gw_lookups gw_lookups;

/* Frees what a cart lookup left (before the lookup is asked again, and at
 * the end of the request). */
void gw_lookup_clear(gw_lookup *lookup);

/* Starts threads workers on ledger (which must have that many connections). */
gw_lookups *gw_lookups_new(gw_ledger *ledger, int threads, char *err, size_t errlen);
/* Queues lookup; false once stopping began (then done is not called). */
bool gw_lookups_submit(gw_lookups *p, gw_lookup *lookup);
/* Refuses new lookups, lets the queued and running ones end (by their
 * deadlines) and joins the workers. */
void gw_lookups_stop(gw_lookups *p);
/* Frees; call gw_lookups_stop first. NULL is accepted. */
void gw_lookups_destroy(gw_lookups *p);

#endif

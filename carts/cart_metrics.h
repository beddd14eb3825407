/* cart_metrics: order-carts' counters, histograms and gauges, and their
 * Prometheus text (/metrics, and the --stats-file at exit). Pure: the
 * coordinator counts a batch's decisions apart and adds them only once the
 * batch's transaction commits, so a fenced or retried batch counts once.
 * Every name starts with orderline_carts_. */
#ifndef CART_METRICS_H
#define CART_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "ol_cart_flow.h"
#include "ol_metrics.h"
#include "ol_result.h"
#include "ol_str.h"

#define CART_METRICS_TYPES 4    /* cart, cart_confirm, cart_cancel, cart_expire */
#define CART_METRICS_STATUSES 3 /* accepted, rejected, held (ol_status) */
#define CART_METRICS_STATES 8   /* "new" (no row yet), then ol_cart_status + 1 */
#define CART_METRICS_STATE_NEW (-1)

/* What one batch decides; added to the totals at its commit. */
typedef struct cart_batch_counts {
    uint64_t messages;   /* carts-topic messages read for a decision */
    uint64_t unreadable; /* of which no answer was possible */
    uint64_t carts;      /* new carts started */
    uint64_t duplicates; /* repeated order_ids, answered again */
    uint64_t stale;      /* line answers that changed nothing */
    uint64_t answers[CART_METRICS_TYPES][CART_METRICS_STATUSES];
    uint64_t transitions[CART_METRICS_STATES][CART_METRICS_STATES]; /* [from + 1][to + 1] */
} cart_batch_counts;

typedef struct cart_metrics {
    cart_batch_counts decided;
    uint64_t steps_sent, answers_sent; /* outbox rows handed to the producer */
    uint64_t forwarded;                /* line answers forwarded to the carts topic */
    uint64_t expires_sent;
    uint64_t fenced;  /* batches refused by the fence */
    uint64_t retries; /* batches lost to a PostgreSQL failure, retried */
    uint64_t delivery_failures;
    ol_histogram batch_size;    /* messages per committed batch */
    ol_histogram batch_seconds; /* from BEGIN to COMMIT of a committed batch */
    /* Gauges, from the last scan of the partitions owned. */
    int64_t outbox_pending; /* cart_outbox rows not yet shown in the log */
    int64_t carts_held;     /* held carts (waiting for confirm, cancel or expiry) */
    int64_t holds_overdue;  /* held carts more than 5 s past their deadline */
    uint32_t partitions_owned;
    bool db_connected;
    bool assigned;     /* the group has given this process its share (maybe none) */
    bool group_member; /* the group's coordinator knows this process now */
} cart_metrics;

void cart_metrics_init(cart_metrics *m);
/* An answer decided (not a repeat). type is the answer's type name. */
void cart_counts_answer(cart_batch_counts *b, const char *type, ol_status status);
/* A cart moved from one state to another; CART_METRICS_STATE_NEW for none. */
void cart_counts_transition(cart_batch_counts *b, int from, int to);
/* Adds a committed batch's counts. */
void cart_metrics_add(cart_metrics *m, const cart_batch_counts *b);
/* Appends the Prometheus text of m; false on OOM. */
bool cart_metrics_render(const cart_metrics *m, ol_buf *out);
/* NULL when healthy, else why not. */
const char *cart_metrics_health(const cart_metrics *m);

#endif

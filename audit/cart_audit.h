/* audit/cart_audit: recomputes the carts topic with the coordinator's own
 * pure code (cart_msg_parse, cart_engine_apply, hence ol_cart_flow) and
 * compares it with what was recorded: the cart answers on the results
 * topic, and the items' ledger state of every line's hold. Pure: the
 * auditor reads Kafka and PostgreSQL and feeds it.
 *
 * Per partition p of the carts topic, in this order:
 *  1. cart_audit_add_answer for the cart answers read so far (any time
 *     before p is finished: an answer names the carts partition it answers);
 *  2. cart_audit_begin_partition(p), then cart_audit_add_msg for every
 *     decided message of p in offset order;
 *  3. cart_audit_hold_ids lists the holds of p's carts that have an
 *     outcome; the caller looks them up and passes each with
 *     cart_audit_add_hold;
 *  4. cart_audit_finish_partition checks and frees p's state.
 * Found:
 *  - cart_answer_mismatch: a published answer (repeats and duplicates
 *    included, less processed_at and duplicate) that differs from the
 *    replay's, one the replay does not give, or (answers_complete) one the
 *    replay gives that is not published;
 *  - cart_half_sold: a cart whose every step has been answered, with some
 *    lines sold (their hold confirmed) and some not;
 *  - hold_not_released (answers_complete): a line's hold still standing in
 *    the items' ledger after its cart was rejected, cancelled or expired.
 * Memory follows one partition's carts (each packed to its own lines)
 * plus the answers not yet checked. */
#ifndef AUDIT_CART_AUDIT_H
#define AUDIT_CART_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "replay.h"

/* A line's hold as the items' ledger has it. */
typedef enum {
    CART_HOLD_GONE,     /* refused, given back, or not decided */
    CART_HOLD_STANDING, /* held, no follow-up yet */
    CART_HOLD_SOLD      /* held, then confirmed (committed) */
} cart_hold_state;

typedef struct cart_audit_stats {
    uint64_t messages;   /* carts-topic messages replayed */
    uint64_t unreadable; /* of which nothing could answer (as order-carts: skipped) */
    uint64_t carts;      /* carts started */
    uint64_t settled;    /* of which every step answered */
    uint64_t answers;    /* cart answers read from the results topic */
    uint64_t answers_checked;
    uint64_t answers_unverified; /* for a partition already finished (results partitioned otherwise) */
    uint64_t divergences;
} cart_audit_stats;

typedef struct cart_audit cart_audit;

/* report gets each divergence with ctx. NULL on OOM. */
cart_audit *cart_audit_new(audit_report_fn report, void *ctx);
/* NULL is accepted. */
void cart_audit_destroy(cart_audit *audit);

/* Cheap test: could this results-topic value be a cart answer? */
bool cart_audit_is_answer(const char *value, size_t len);
/* A cart answer from the results topic. False only on OOM; an unreadable
 * one is reported. */
bool cart_audit_add_answer(cart_audit *audit, const char *value, size_t len, char *err, size_t errlen);

bool cart_audit_begin_partition(cart_audit *audit, int32_t partition, char *err, size_t errlen);
/* One decided message of the partition, in offset order (m->ts_ms: its log time). */
bool cart_audit_add_msg(cart_audit *audit, const audit_msg *m, char *err, size_t errlen);
/* The holds to look up (*ids valid until finish). */
bool cart_audit_hold_ids(cart_audit *audit, const char *const **ids, size_t *n, char *err, size_t errlen);
bool cart_audit_add_hold(cart_audit *audit, const char *order_id, cart_hold_state state, char *err, size_t errlen);
/* answers_complete: every decided answer and step is in the log (nothing
 * waits in the coordinator's outbox), so a missing answer, or a hold its
 * cart gave back still standing, is a divergence. */
bool cart_audit_finish_partition(cart_audit *audit, bool answers_complete, char *err, size_t errlen);

const cart_audit_stats *cart_audit_stats_get(const cart_audit *audit);

#endif

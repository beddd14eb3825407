/* ol_lifecycle: what can happen to an order after its decision. A hold is
 * confirmed, cancelled or expired; an accepted order may be cancelled. Pure,
 * and the only place that decides these: the consumer applies the follow-ups
 * in the order they stand in the item's partition, and the auditor replays
 * the same transitions from the log, so every one can be recomputed.
 *
 * Time comes from the log, never from a clock at decision time: a hold's
 * deadline is its message's timestamp plus hold_s, and an expire counts only
 * if its own message's timestamp is past that deadline. Between a confirm
 * and an expire, whichever stands first in the partition wins, whatever the
 * wall clock said when each was written. */
#ifndef OL_LIFECYCLE_H
#define OL_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ol_order.h"

typedef enum {
    OL_LIFE_UNKNOWN,   /* no order of that id decided in this partition */
    OL_LIFE_REJECTED,  /* decided and rejected: nothing to undo */
    OL_LIFE_ACCEPTED,  /* sold at once (no hold) */
    OL_LIFE_HELD,      /* units taken until a confirm, a cancel or the expire */
    OL_LIFE_CONFIRMED, /* a hold turned into a sale */
    OL_LIFE_CANCELLED, /* units given back by a cancel */
    OL_LIFE_EXPIRED    /* units given back at the deadline */
} ol_life_state;

typedef enum { OL_LIFE_CONFIRM, OL_LIFE_CANCEL, OL_LIFE_EXPIRE } ol_life_event;

typedef enum {
    OL_LIFE_OK,
    OL_LIFE_NOT_HELD,          /* a confirm or expire of an order that holds nothing */
    OL_LIFE_NOT_CANCELLABLE,   /* a cancel of a rejected or unknown order */
    OL_LIFE_NOT_EXPIRED,       /* an expire logged before the hold's deadline */
    OL_LIFE_EXPIRED_BEFORE,    /* the hold expired first */
    OL_LIFE_ALREADY_CONFIRMED, /* the hold was confirmed first */
    OL_LIFE_ALREADY_CANCELLED  /* a cancel came first */
} ol_life_verdict;

typedef struct ol_life {
    ol_life_state state;
    int32_t quantity;      /* units the order took (held or sold); 0 when it took none */
    int64_t expires_at_ms; /* HELD, EXPIRED: the deadline; else 0 */
} ol_life;

/* The state an order's decision leaves: accepted with hold_s > 0 is HELD
 * until order_ts_ms + hold_s seconds; accepted without is ACCEPTED; anything
 * else REJECTED. A restock leaves nothing to cancel: REJECTED too. */
ol_life ol_life_after_decision(bool accepted, ol_order_type type, int32_t quantity, int32_t hold_s,
                               int64_t order_ts_ms);

/* The one transition function. Applies event, logged at event_ts_ms, to
 * *target. On OL_LIFE_OK *target moves on and *units_back says how many
 * units go back to the item's stock (0 for a confirm). Any other verdict
 * leaves *target as it was and *units_back 0. */
ol_life_verdict ol_life_apply(ol_life *target, ol_life_event event, int64_t event_ts_ms, int32_t *units_back);

/* True for a hold past its deadline by more than slack_ms at now_ms: its
 * expire is overdue (orderline_holds_overdue; the audit names them). */
bool ol_life_overdue(const ol_life *life, int64_t now_ms, int64_t slack_ms);

/* The expire message's order_id for the hold held_id into out. False when
 * held_id is longer than OL_HOLD_ID_MAX or out is too small. */
bool ol_life_expire_id(const char *held_id, char *out, size_t outlen);

const char *ol_life_state_name(ol_life_state state);
/* The answer's reason: NULL for OL_LIFE_OK; "not_held", "not_cancellable",
 * "not_expired", "expired", "already_confirmed", "already_cancelled". */
const char *ol_life_verdict_reason(ol_life_verdict verdict);
const char *ol_life_event_name(ol_life_event event);

#endif

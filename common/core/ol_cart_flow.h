/* ol_cart_flow: the state machine of one cart, all or nothing. Pure: the
 * cart coordinator runs it over the cart's partition of the carts topic
 * (the cart, its lines' answers, confirm, cancel, expire, in log order),
 * and the auditor replays the same partition through it, so every cart's
 * outcome can be recomputed.
 *
 * Each line moves through steps on its item's partition of the orders
 * topic: hold, then commit (the sale), release (a hold given back) or
 * restore (a sale given back). Only a hold can be refused; commit, release
 * and restore of a hold or sale that stands cannot, so the cart's answer
 * is published as soon as they are decided, and the steps are re-sent
 * until answered (the coordinator's outbox). */
#ifndef OL_CART_FLOW_H
#define OL_CART_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ol_cart.h"
#include "ol_lifecycle.h"

typedef enum { OL_STEP_HOLD, OL_STEP_COMMIT, OL_STEP_RELEASE, OL_STEP_RESTORE } ol_step;

typedef enum {
    OL_CART_HOLDING,   /* holds sent; not every line has answered */
    OL_CART_HELD,      /* every line held, until confirm, cancel or expiry */
    OL_CART_ACCEPTED,  /* sold at once (no hold_s) */
    OL_CART_CONFIRMED, /* a held cart sold */
    OL_CART_REJECTED,  /* some line could not be held: none keeps any */
    OL_CART_CANCELLED, /* given back by a cancel */
    OL_CART_EXPIRED    /* given back at the deadline */
} ol_cart_status;

typedef struct ol_cart_line_state {
    ol_step step;  /* the last step decided for the line */
    bool answered; /* its item's partition answered that step */
    bool held;     /* the hold was granted (known once the hold is answered) */
} ol_cart_line_state;

typedef struct ol_cart_flow {
    ol_cart_status status;
    bool cancel_pending; /* a cancel came while holding: give back once answered */
    int32_t hold_s;
    int64_t expires_at_ms; /* HELD, EXPIRED: the deadline (the cart's log timestamp + hold_s) */
    size_t n_lines;
    ol_cart_line_state lines[OL_CART_LINES_MAX];
} ol_cart_flow;

typedef enum { OL_CART_EV_ANSWER, OL_CART_EV_CONFIRM, OL_CART_EV_CANCEL, OL_CART_EV_EXPIRE } ol_cart_event_kind;

typedef struct ol_cart_event {
    ol_cart_event_kind kind;
    int64_t ts_ms; /* the event's log timestamp */
    size_t line;   /* ANSWER: which line, to which step, and for a hold */
    ol_step step;
    bool held; /* whether it was granted */
} ol_cart_event;

/* What the coordinator must do after a transition: decide these steps
 * (send them to the items' partitions, in this order), and publish the
 * cart's answer when answer is set. */
typedef struct ol_cart_actions {
    size_t n_steps;
    struct {
        size_t line;
        ol_step step;
    } steps[OL_CART_LINES_MAX];
    bool answer;
} ol_cart_actions;

/* A new cart of n_lines (1..OL_CART_LINES_MAX), logged at ts_ms: HOLDING,
 * with a hold for every line in *actions. False for a bad n_lines. */
bool ol_cart_flow_start(ol_cart_flow *flow, size_t n_lines, int32_t hold_s, int64_t ts_ms, ol_cart_actions *actions);

/* The one transition function. Returns OL_LIFE_OK when the event moved
 * the cart, or the verdict that refuses it (as for single holds: not_held,
 * not_cancellable, not_expired, expired, already_confirmed,
 * already_cancelled); *stale is set, with OL_LIFE_OK, for an answer to a
 * step that is not outstanding (a repeat), which changes nothing. */
ol_life_verdict ol_cart_flow_apply(ol_cart_flow *flow, const ol_cart_event *event, ol_cart_actions *actions,
                                   bool *stale);

/* Every step decided has been answered: nothing left to re-send. */
bool ol_cart_flow_settled(const ol_cart_flow *flow);
/* True when no line ends up sold while another does not: the invariant
 * the audit checks once a cart is settled. */
bool ol_cart_flow_all_or_nothing(const ol_cart_flow *flow);

const char *ol_cart_status_name(ol_cart_status status);
const char *ol_step_name(ol_step step);

#endif

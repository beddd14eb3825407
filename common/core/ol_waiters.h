/* ol_waiters: who is waiting for which order's decision. Pure: no I/O, no
 * locks, no clock (callers pass the time). Shared by order-gateway and
 * order-producer --wait.
 *
 * An order awaited is a "pending" entry, keyed by order_id. It is added
 * before the order is produced, so its answer cannot be read before anyone
 * waits for it. Each pending has one state, changed only by
 * ol_pending_next():
 *
 *   PRODUCING --delivered (offset named)--> IN_LOG --answer--> ANSWERED
 *       |  \--unconfirmed (no offset): re-sent, stays PRODUCING
 *       \--failed (or unconfirmed too often)--> FAILED
 *   PRODUCING --answer--> ANSWERED (the answer shows it was in the log)
 *
 * Any number of waits (an HTTP request, a line of input) hang on a pending,
 * each with its own deadline. A wait ends in one completion: DECIDED (the
 * answer), TIMED_OUT (its deadline passed while the order was in the log
 * but undecided) or FAILED (the order could not be put in the log). A
 * deadline never ends a wait while the order is still PRODUCING: nobody is
 * told "accepted for processing" before the log has it. ANSWERED and FAILED
 * pendings leave the registry at once, and so does an IN_LOG pending with no
 * waits left; later answers for them are ignored. */
#ifndef OL_WAITERS_H
#define OL_WAITERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ol_result.h"

typedef enum {
    OL_PENDING_PRODUCING, /* handed to the producer, not yet shown to be in the log */
    OL_PENDING_IN_LOG,    /* a delivery report named its offset */
    OL_PENDING_ANSWERED,  /* its answer was read */
    OL_PENDING_FAILED     /* it could not be put in the log */
} ol_pending_state;

typedef enum {
    OL_PENDING_EV_DELIVERED,   /* delivery report without error, naming an offset */
    OL_PENDING_EV_UNCONFIRMED, /* delivery report without error and without offset */
    OL_PENDING_EV_FAILED,      /* delivery report with an error */
    OL_PENDING_EV_ANSWERED     /* its answer was read from the results topic */
} ol_pending_event;

/* The one transition function. Returns the state after ev in state from;
 * events that do not apply (a late delivery report after the answer, say)
 * leave the state as it is. */
ol_pending_state ol_pending_next(ol_pending_state from, ol_pending_event ev);
const char *ol_pending_state_name(ol_pending_state state);

typedef enum {
    OL_WAIT_DECIDED,   /* answer is the result JSON as read */
    OL_WAIT_TIMED_OUT, /* in the log, not decided before the deadline */
    OL_WAIT_FAILED     /* not in the log; reason says why */
} ol_wait_outcome;

typedef struct ol_completion {
    void *token; /* the caller's, as given to ol_waiters_wait */
    ol_wait_outcome outcome;
    char *answer; /* DECIDED: malloc'd copy of the result JSON; the caller frees it */
    size_t answer_len;
    ol_result result;  /* DECIDED: the answer decoded */
    int32_t partition; /* where the order is in the log; -1 when not known */
    int64_t offset;
    char reason[256]; /* FAILED: why */
} ol_completion;

/* What to do after a delivery report. */
typedef enum {
    OL_DELIVERY_ACKED,  /* in the log at the offset given */
    OL_DELIVERY_RESEND, /* no error but no offset: not shown to be in the log; produce it again */
    OL_DELIVERY_FAILED, /* its waits have failed */
    OL_DELIVERY_IGNORED /* nobody here waits for it any more (answered already) */
} ol_delivery_action;

/* The delivery rule, for every producer of orders: a report counts as
 * delivered only when it names an offset. One without error and without an
 * offset is answered by sending the message again, up to max_unconfirmed
 * times (*unconfirmed counts them for that message); after that, and for
 * any report with an error, it failed. */
ol_delivery_action ol_delivery_judge(bool error, int64_t offset, int *unconfirmed, int max_unconfirmed);
/* Why a message failed by that rule when its report had no error. */
#define OL_DELIVERY_UNCONFIRMED_REASON                                                                                 \
    "the brokers acknowledged it without naming an offset too often; not shown to be in the log"

typedef struct ol_waiters ol_waiters;
typedef struct ol_pending ol_pending;

/* max_unconfirmed: how many delivery reports without an offset one order
 * may get (each answered by a re-send) before it counts as failed. */
ol_waiters *ol_waiters_new(int max_unconfirmed);
/* Frees every pending and wait; tokens are the caller's. NULL is accepted. */
void ol_waiters_destroy(ol_waiters *w);

/* The pending for order_id, or NULL. */
ol_pending *ol_waiters_find(ol_waiters *w, const char *order_id);
/* Adds a PRODUCING pending for order_id, which must not be there yet.
 * NULL when memory ran out or order_id is empty or too long. */
ol_pending *ol_waiters_add(ol_waiters *w, const char *order_id);
ol_pending_state ol_pending_state_of(const ol_pending *p);

/* Hangs a wait with token on p, ending at deadline_ms at the latest once p
 * is in the log. False when memory ran out. */
bool ol_waiters_wait(ol_waiters *w, ol_pending *p, void *token, int64_t deadline_ms);

/* A delivery report for the order order_id: err_reason NULL for success,
 * else its error text; offset < 0 when the report named none. Applies the
 * event to its pending and queues the completions it causes. The pending is
 * looked up by order_id because it may have been answered (and released)
 * before its report came: then OL_DELIVERY_IGNORED. */
ol_delivery_action ol_waiters_delivery(ol_waiters *w, const char *order_id, const char *err_reason, int32_t partition,
                                       int64_t offset, int64_t now_ms);

typedef enum {
    OL_ANSWER_MATCHED,   /* some order here was waiting for it */
    OL_ANSWER_IGNORED,   /* nobody here waits for that order_id */
    OL_ANSWER_UNREADABLE /* not a result message; err says why */
} ol_answer_match;

/* An answer read from the results topic: matched to its pending by
 * order_id, whose waits complete DECIDED. */
ol_answer_match ol_waiters_answer(ol_waiters *w, const char *value, size_t len, char *err, size_t errlen);
/* The same for an answer already decoded (r, from value): callers that
 * hold a lock around the registry decode outside it. MATCHED or IGNORED. */
ol_answer_match ol_waiters_answer_parsed(ol_waiters *w, const ol_result *r, const char *value, size_t len);

/* Ends the waits whose deadline is at or before now_ms (see above). */
void ol_waiters_expire(ol_waiters *w, int64_t now_ms);
/* For a stop: fails every wait still PRODUCING with reason, then times out
 * the rest. */
void ol_waiters_finish_all(ol_waiters *w, const char *reason);

/* Pops the oldest completion into *out; false when none is queued. */
bool ol_waiters_next_completion(ol_waiters *w, ol_completion *out);

/* False once memory ran out queuing a completion (its wait was lost):
 * callers treat it as fatal. */
bool ol_waiters_healthy(const ol_waiters *w);
size_t ol_waiters_waits(const ol_waiters *w);    /* waits not yet completed */
size_t ol_waiters_pendings(const ol_waiters *w); /* orders in the registry */
/* The earliest deadline of a wait, or INT64_MAX when none. */
int64_t ol_waiters_next_deadline(const ol_waiters *w);

#endif

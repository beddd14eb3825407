/* ol_decider: decides a sequence of orders in memory, with duplicate
 * handling, from a known starting state. Pure: the consumer loads the state
 * of one batch from PostgreSQL into it and writes back what it decided; an
 * auditor can replay the whole log through the same code.
 *
 * Duplicate rule: an order_id already decided is never applied again. If the
 * earlier decision was made for this very message (same partition and
 * offset) the message is being re-read after a crash and the decision is
 * answered again as it was (REPLAY); otherwise the message is a duplicate and
 * the original decision is answered with duplicate=true (DUPLICATE). */
#ifndef OL_DECIDER_H
#define OL_DECIDER_H

#include <stdbool.h>
#include <stddef.h>

#include "ol_decide.h"
#include "ol_lifecycle.h"
#include "ol_order.h"
#include "ol_result.h"

typedef enum {
    OL_DECIDED_NEW,       /* a fresh decision: it must be recorded */
    OL_DECIDED_DUPLICATE, /* the order_id was decided before, elsewhere */
    OL_DECIDED_REPLAY     /* this message was decided before */
} ol_decided_kind;

typedef struct ol_decider ol_decider;

ol_decider *ol_decider_new(void);
/* A decider that stores each decision compactly (about 60 bytes plus the
 * order_id, instead of a whole ol_result of about 600), for replaying a
 * whole log (order-audit). It decides exactly as ol_decider_new's does; the
 * one difference is that the pointer ol_decider_find returns stays valid
 * only until the next call on this decider (copy it, or use
 * ol_decider_lookup). */
ol_decider *ol_decider_new_compact(void);
void ol_decider_destroy(ol_decider *decider);
/* Forgets all stock and decisions (for the next batch). */
void ol_decider_clear(ol_decider *decider);
/* Forgets the decisions and keeps the stock: a replay that looks earlier
 * decisions up elsewhere (order-audit, in the ledger) holds one batch's. */
void ol_decider_forget_decisions(ol_decider *decider);

/* Declares an item's stock before deciding. Items never declared are taken
 * as unknown (not existing). False only when memory ran out. */
bool ol_decider_set_stock(ol_decider *decider, const char *item, ol_stock stock);
/* Declares a decision made earlier (from the ledger). */
bool ol_decider_add_decision(ol_decider *decider, const ol_result *decided);

/* Decides one valid order read at partition/offset at time now_us. Fills
 * *out (the answer to publish) and *kind. False only when memory ran out.
 * The message's log timestamp is taken to be now_us (see the next). */
bool ol_decider_decide(ol_decider *decider, const ol_order *order, int32_t partition, int64_t offset, int64_t now_us,
                       ol_result *out, ol_decided_kind *kind);
/* The same with the message's own timestamp, log_ts_ms, which a hold's
 * deadline and an expire's validity are counted from, so a replay decides
 * them as the consumer did. Holds are answered held with hold_expires_at;
 * confirm, cancel and expire follow ol_lifecycle against their target,
 * which must be an order of the same item known to this decider (decided
 * here, declared with ol_decider_add_decision, or its later state declared
 * with ol_decider_set_life); anything else is an unknown target. */
bool ol_decider_decide_at(ol_decider *decider, const ol_order *order, int32_t partition, int64_t offset,
                          int64_t log_ts_ms, int64_t now_us, ol_result *out, ol_decided_kind *kind);

/* Declares an order's life as it stands now (from the ledger), when a
 * follow-up since its decision changed it. False only when memory ran out. */
bool ol_decider_set_life(ol_decider *decider, const char *order_id, const char *item, ol_life life);
/* The life of order_id for a follow-up of item, as this decider sees it:
 * declared, or changed by a follow-up here, or from its decision. */
ol_life ol_decider_life(const ol_decider *decider, const char *order_id, const char *item);
/* Iterates over the orders whose life a follow-up here changed (to write
 * back): its order_id and its life now. *pos starts at 0. */
bool ol_decider_next_life(const ol_decider *decider, size_t *pos, const char **order_id, ol_life *life);

/* Looks up a decision by order_id (declared or made), or NULL. In compact
 * mode the result is valid until the next call on the decider. */
const ol_result *ol_decider_find(const ol_decider *decider, const char *order_id);
/* Copies the decision for order_id into *out; false when there is none.
 * Works the same in both modes. */
bool ol_decider_lookup(const ol_decider *decider, const char *order_id, ol_result *out);
/* Number of decisions remembered (declared or made). */
size_t ol_decider_decision_count(const ol_decider *decider);

/* Iterates over every item touched: its declared stock and its stock now.
 * *pos starts at 0. */
bool ol_decider_next_stock(const ol_decider *decider, size_t *pos, const char **item, ol_stock *initial,
                           ol_stock *current);

#endif

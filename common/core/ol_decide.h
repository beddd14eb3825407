/* ol_decide: the decision rule for one order against one item's stock.
 * Pure. The whole product rests on this function being the only place that
 * decides; the consumer and the auditor both call it. */
#ifndef OL_DECIDE_H
#define OL_DECIDE_H

#include <stdbool.h>
#include <stdint.h>

#include "ol_result.h"

/* Stock is bounded by PostgreSQL's integer column. */
#define OL_STOCK_MAX INT32_MAX

typedef struct ol_stock {
    bool exists;
    int64_t count;
} ol_stock;

/* Decides one order and applies it to *stock:
 *  - order:   unknown item -> rejected unknown_item (remaining unknown);
 *             count >= quantity -> accepted, count -= quantity;
 *             otherwise rejected insufficient_stock.
 *  - restock: creates the item when new, count += quantity; a restock that
 *             would overflow the counter is rejected as invalid.
 * Fills status, reason, remaining and error of *out; leaves other fields. */
void ol_decide(ol_order_type type, int32_t quantity, ol_stock *stock, ol_result *out);

/* The answer to a message that is not a valid order but whose order_id
 * could be read (order_id non-empty): rejected, reason invalid, error as
 * the validation said (error may be out->error itself). Overwrites all of
 * *out. The consumer publishes it;
 * the auditor expects it at that position. */
void ol_decide_invalid(const char *order_id, int32_t partition, int64_t offset, int64_t processed_at_us,
                       const char *error, ol_result *out);

#endif

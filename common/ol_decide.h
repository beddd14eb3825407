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

#endif

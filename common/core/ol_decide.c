#include "ol_decide.h"

#include <string.h>

#include "ol_str.h"

void ol_decide_invalid(const char *order_id, int32_t partition, int64_t offset, int64_t processed_at_us,
                       const char *error, ol_result *out) {
    char kept[sizeof out->error]; /* error may be out->error itself */
    ol_strlcpy(kept, error ? error : "", sizeof kept);
    error = kept;
    memset(out, 0, sizeof *out);
    ol_strlcpy(out->order_id, order_id, sizeof out->order_id);
    out->status = OL_STATUS_REJECTED;
    out->reason = OL_REASON_INVALID;
    out->partition = partition;
    out->offset = offset;
    out->processed_at_us = processed_at_us;
    ol_strlcpy(out->error, error, sizeof out->error);
}

void ol_decide(ol_order_type type, int32_t quantity, ol_stock *stock, ol_result *out) {
    out->error[0] = '\0';
    if (type == OL_TYPE_RESTOCK) {
        int64_t base = stock->exists ? stock->count : 0;
        if (base + quantity > OL_STOCK_MAX) {
            out->status = OL_STATUS_REJECTED;
            out->reason = OL_REASON_INVALID;
            out->has_remaining = false; /* invalid: remaining is null */
            out->remaining = 0;
            ol_seterr(out->error, sizeof out->error, "restock of %d would take stock past %d", quantity, OL_STOCK_MAX);
            return;
        }
        stock->exists = true;
        stock->count = base + quantity;
        out->status = OL_STATUS_ACCEPTED;
        out->reason = OL_REASON_NONE;
        out->has_remaining = true;
        out->remaining = stock->count;
        return;
    }
    if (!stock->exists) {
        out->status = OL_STATUS_REJECTED;
        out->reason = OL_REASON_UNKNOWN_ITEM;
        out->has_remaining = false;
        out->remaining = 0;
        return;
    }
    if (stock->count >= quantity) { /* >=: an order may empty the shelf */
        stock->count -= quantity;
        out->status = OL_STATUS_ACCEPTED;
        out->reason = OL_REASON_NONE;
    } else {
        out->status = OL_STATUS_REJECTED;
        out->reason = OL_REASON_INSUFFICIENT_STOCK;
    }
    out->has_remaining = true;
    out->remaining = stock->count;
}

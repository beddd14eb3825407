/* ol_result: the decision for one order message, as published on the
 * results topic and stored in the orders ledger. Pure: no I/O. Agrees with
 * schemas/result.schema.json. */
#ifndef OL_RESULT_H
#define OL_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ol_order.h"

/* held: the units are taken until a confirm, a cancel or the expire. */
typedef enum { OL_STATUS_ACCEPTED, OL_STATUS_REJECTED, OL_STATUS_HELD } ol_status;
/* The last six answer follow-ups (ol_lifecycle's verdicts). */
typedef enum {
    OL_REASON_NONE,
    OL_REASON_INSUFFICIENT_STOCK,
    OL_REASON_UNKNOWN_ITEM,
    OL_REASON_INVALID,
    OL_REASON_NOT_HELD,
    OL_REASON_NOT_CANCELLABLE,
    OL_REASON_NOT_EXPIRED,
    OL_REASON_EXPIRED,
    OL_REASON_ALREADY_CONFIRMED,
    OL_REASON_ALREADY_CANCELLED
} ol_reason;

typedef struct ol_result {
    char order_id[OL_ORDER_ID_MAX + 1]; /* "" when unreadable (invalid message) */
    bool has_order;                     /* item, type and quantity are known */
    char item[OL_ITEM_MAX + 1];
    ol_order_type type;
    int32_t quantity;                 /* a follow-up: its target's units (0 when it has none) */
    char target[OL_ORDER_ID_MAX + 1]; /* a follow-up's target; else "" */
    ol_status status;
    ol_reason reason;
    bool has_remaining;
    int64_t remaining;
    bool duplicate;
    int32_t partition; /* where the answered message was read */
    int64_t offset;
    int64_t processed_at_us;
    int64_t hold_expires_at_us; /* status held: the deadline; else 0 */
    char error[OL_ERROR_MAX];   /* "" when none */
} ol_result;

const char *ol_status_name(ol_status status);
/* NULL for OL_REASON_NONE. */
const char *ol_reason_name(ol_reason reason);
bool ol_status_parse(const char *text, ol_status *out);
/* Accepts NULL (no reason). */
bool ol_reason_parse(const char *text, ol_reason *out);

/* Encodes the result message value. Returns a malloc'd NUL-terminated
 * string the caller frees, or NULL when memory ran out. */
char *ol_result_to_json(const ol_result *result);

/* Decodes a result message value (for readers and tests): the fast path,
 * else the general one. */
bool ol_result_from_json(const char *value, size_t len, ol_result *out, char *err, size_t errlen);

/* The two paths, exposed for the tests and the fuzzer's check that they
 * agree. The fast path (ol_flat.h) reads the flat shape order-consumer
 * writes and succeeds only where the general path (jansson) succeeds, with
 * the same result; otherwise it declines, and the general path decides and
 * owns the error message. */
bool ol_result_parse_flat(const char *value, size_t len, ol_result *out);
bool ol_result_parse_general(const char *value, size_t len, ol_result *out, char *err, size_t errlen);

#endif

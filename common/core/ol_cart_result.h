/* ol_cart_result: a cart's answer as read from the results topic (key =
 * cart_id), for the tools that wait for or show carts: order-gateway,
 * order-producer --wait, order-results. Pure: no I/O. Agrees with
 * schemas/cart-result.schema.json; order-carts writes it (carts/).
 *
 * An item's answer (ol_result) has no "topic" field; a cart's always has
 * "topic":"carts", and no item. */
#ifndef OL_CART_RESULT_H
#define OL_CART_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ol_cart.h"
#include "ol_cart_flow.h"
#include "ol_result.h"

typedef enum {
    OL_CART_ANSWER_CART,
    OL_CART_ANSWER_CONFIRM,
    OL_CART_ANSWER_CANCEL,
    OL_CART_ANSWER_EXPIRE
} ol_cart_answer_type;

/* A line as the answer shows it. status: holding, held, accepted,
 * rejected, released or restored. */
typedef struct ol_cart_result_line {
    char item[OL_ITEM_MAX + 1];
    int32_t quantity;
    char status[16];
    ol_reason reason;
} ol_cart_result_line;

typedef struct ol_cart_result {
    char order_id[OL_ORDER_ID_MAX + 1]; /* the cart's own: its cart_id; a confirm's: its key */
    char cart_id[OL_ORDER_ID_MAX + 1];  /* an unknown cart's follow-up names its own order_id here */
    ol_cart_answer_type type;
    ol_status status;
    ol_reason reason;
    bool has_state; /* false: no such cart (state null) */
    ol_cart_status state;
    int64_t hold_expires_at_us; /* 0: none */
    size_t n_lines;
    ol_cart_result_line lines[OL_CART_LINES_MAX];
    bool duplicate;
    int32_t partition; /* where the answered message was read, on the carts topic */
    int64_t offset;
    int64_t processed_at_us;
    char error[OL_ERROR_MAX]; /* reason invalid: what was wrong; else "" */
} ol_cart_result;

/* Cheap test before parsing: could this results-topic value be a cart's
 * answer (it has a "topic" member; an item's answer has none)? */
bool ol_cart_result_maybe(const char *value, size_t len);

/* Decodes a cart answer. False (err says why) for anything else, an
 * item's answer included. */
bool ol_cart_result_from_json(const char *value, size_t len, ol_cart_result *out, char *err, size_t errlen);

/* "cart", "cart_confirm", "cart_cancel", "cart_expire". */
const char *ol_cart_answer_type_name(ol_cart_answer_type type);

/* The fields a waiter for an order_id needs (ol_waiters matches answers
 * by order_id), as an ol_result without an order: order_id, status,
 * reason, duplicate, partition, offset, processed_at, hold_expires_at. */
void ol_cart_result_as_result(const ol_cart_result *c, ol_result *out);

#endif

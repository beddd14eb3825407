/* producer/input: what one JSON line of order-producer's input is, and
 * the topic and key it goes to. A line with a top-level "lines" member is
 * a cart (carts topic, key = cart_id), one whose "type" is "cart_confirm"
 * or "cart_cancel" a cart's follow-up (carts topic, key = cart_id); any
 * other line is an order (orders topic, key = item). Pure. */
#ifndef PRODUCER_INPUT_H
#define PRODUCER_INPUT_H

#include <stdbool.h>
#include <stddef.h>

#include "ol_cart.h"
#include "ol_order.h"

typedef enum { PRODUCER_LINE_ORDER, PRODUCER_LINE_CART, PRODUCER_LINE_CART_FOLLOW_UP } producer_line_kind;

typedef struct producer_line {
    producer_line_kind kind;
    char order_id[OL_ORDER_ID_MAX + 1]; /* what its answer names: a cart's is its cart_id */
    char key[OL_CART_ID_MAX + 1];       /* the item, or the cart_id */
    char field[32];                     /* invalid: the field that was wrong ("" when none) */
} producer_line;

/* Reads and validates one line (ol_order_parse for orders, ol_cart_parse
 * for carts). False with why (and out->field, and out->order_id when it
 * could be read) when it is not valid. */
bool producer_line_read(const char *line, size_t len, producer_line *out, char *why, size_t whylen);

#endif

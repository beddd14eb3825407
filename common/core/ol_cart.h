/* ol_cart: the cart message on the carts topic (key = cart_id), its limits
 * and its validation. Pure: no I/O. Agrees with schemas/cart.schema.json.
 *
 * A cart asks for several items at once, all or nothing:
 *   {"cart_id": C, "lines": [{"item": I, "quantity": Q}, ...], "hold_s": N?}
 * Lines that name the same item are merged (their quantities added), so a
 * cart holds each item once, in the order the items first appear. */
#ifndef OL_CART_H
#define OL_CART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ol_order.h"

#define OL_CART_LINES_MAX 100
/* A line's id on the orders topic is the cart's plus "#<line>#<phase>";
 * the cart_id leaves room for the longest of them. */
#define OL_CART_ID_MAX 96

typedef struct ol_cart_line {
    char item[OL_ITEM_MAX + 1];
    int32_t quantity; /* merged: at most OL_QUANTITY_MAX */
} ol_cart_line;

typedef struct ol_cart {
    char cart_id[OL_CART_ID_MAX + 1];
    int32_t hold_s; /* 0: accepted at once when every line is held */
    size_t n_lines; /* 1..OL_CART_LINES_MAX, after merging */
    ol_cart_line lines[OL_CART_LINES_MAX];
} ol_cart;

/* Parses and validates one message value. key may be NULL; when present
 * it must equal cart_id. On false err names what was wrong and where
 * ("lines[3].quantity: ..."), *field the top-level field ("cart_id",
 * "lines", "hold_s", "key"; NULL for the document), and out->cart_id holds
 * the cart_id when it could be read, so the rejection can be answered. */
bool ol_cart_parse(const char *value, size_t value_len, const char *key, size_t key_len, ol_cart *out, char *err,
                   size_t errlen, const char **field);

/* The order_id of one line's step on the orders topic, "<cart_id>#<line>#<phase>"
 * (phase: hold, commit, release, restore): deterministic, so a step sent
 * twice is a duplicate by order_id. False when out is too small. */
bool ol_cart_line_order_id(const char *cart_id, size_t line, const char *phase, char *out, size_t outlen);

#endif

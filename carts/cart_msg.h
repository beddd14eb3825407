/* cart_msg: the messages order-carts reads (carts/protocol.md). Pure.
 *
 * On the carts topic: a cart, a confirm, a cancel, an expire, or a line's
 * answer forwarded from the results topic. On the results topic: an item's
 * answer to one of a line's steps, recognised by its order_id
 * "<cart_id>#<line>#<phase>". */
#ifndef CART_MSG_H
#define CART_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ol_cart.h"
#include "ol_cart_flow.h"
#include "ol_result.h"

typedef enum {
    CART_MSG_CART,
    CART_MSG_CONFIRM,
    CART_MSG_CANCEL,
    CART_MSG_EXPIRE,
    CART_MSG_LINE_RESULT,
    CART_MSG_INVALID /* order_id set when one could be read: answered rejected, invalid */
} cart_msg_kind;

/* A line's answer: which step of which line, and what its item decided. */
typedef struct cart_line_answer {
    char cart_id[OL_CART_ID_MAX + 1];
    size_t line;
    ol_step step;
    char item[OL_ITEM_MAX + 1];
    ol_status status;
    ol_reason reason;
    int32_t partition; /* where the step was read on the orders topic */
    int64_t offset;
} cart_line_answer;

typedef struct cart_msg {
    cart_msg_kind kind;
    char order_id[OL_ORDER_ID_MAX + 1]; /* CART: the cart_id; LINE_RESULT: "" */
    char cart_id[OL_CART_ID_MAX + 1];
    ol_cart cart;            /* CART */
    cart_line_answer answer; /* LINE_RESULT */
    char error[OL_ERROR_MAX];
} cart_msg;

/* Reads one carts-topic message. Returns false only when nothing could be
 * read that an answer could name (no order_id, no cart_id): err says why
 * and where. An invalid message whose order_id (or cart_id, for a cart)
 * could be read is CART_MSG_INVALID with error set. */
bool cart_msg_parse(const char *value, size_t len, const char *key, size_t key_len, cart_msg *out, char *err,
                    size_t errlen);

/* cart_msg_parse's two paths, exposed for the tests' check that they
 * agree. The fast path (ol_flat.h) reads only a flat line_result, as the
 * forwarder writes it, and succeeds only where the general path (jansson)
 * succeeds, with the same message; otherwise it declines. */
bool cart_msg_parse_flat(const char *value, size_t len, cart_msg *out);
bool cart_msg_parse_general(const char *value, size_t len, const char *key, size_t key_len, cart_msg *out, char *err,
                            size_t errlen);

/* Splits a step's order_id "<cart_id>#<line>#<phase>". False for any other
 * shape (an ordinary order). */
bool cart_step_id_parse(const char *order_id, char *cart_id, size_t cart_id_len, size_t *line, ol_step *step);

/* Reads an item's answer from the results topic as a line's answer. False
 * (and nothing else to do) for anything that is not an item's answer to a
 * cart step, duplicates included: a repeated answer says nothing new. */
bool cart_line_answer_from_result(const char *value, size_t len, cart_line_answer *out);

/* Cheap test before parsing: could this results-topic value answer a step? */
bool cart_line_answer_maybe(const char *value, size_t len);

#endif

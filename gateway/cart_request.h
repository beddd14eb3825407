/* gw_cart_request: the carts side of the HTTP API, without socket, broker
 * or database: a POST /carts body into the cart message to publish (or
 * the error to answer), the confirm and cancel routes' messages, a cart
 * answer's status code, and the GET /carts/{id} body from table carts.
 * Pure: unit-tested in tests/unit/test_gateway_cart_request.c. */
#ifndef GW_CART_REQUEST_H
#define GW_CART_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ol_cart.h"
#include "ol_result.h"
#include "ol_str.h"

/* The outcome of reading a POST /carts body. */
typedef struct gw_cart_input {
    unsigned status; /* 0: valid; else the HTTP status to answer (400) */
    ol_cart cart;    /* when valid */
    char *message;   /* when valid: the value to publish, cart_id included (malloc'd) */
    size_t message_len;
    char error[OL_ERROR_MAX + 64];
    char field[48];   /* what was wrong: "cart_id", "lines", "lines[2].quantity", "hold_s"; "" */
    int line, column; /* not valid JSON: where it broke */
} gw_cart_input;

/* Reads body with the key from Idempotency-Key (NULL when absent): the
 * cart_id is the body's or the header's (one is required; both must
 * agree), and the cart is validated by ol_cart_parse, whose words name the
 * line. False only when memory ran out. */
bool gw_cart_input_read(const char *body, size_t len, const char *header_key, gw_cart_input *in);
void gw_cart_input_free(gw_cart_input *in);

/* A /carts/{cart_id}/confirm|cancel route's arg: the cart_id (capacity
 * OL_CART_ID_MAX + 1) and whether it is a cancel. False with err when the
 * cart_id cannot be one. */
bool gw_cart_follow_up_parse(const char *arg, char *cart_id, bool *cancel, char *err, size_t errlen);
/* Its order_id, the same for every repeat: "<cart_id>#confirm" or
 * "<cart_id>#cancel" (out: OL_ORDER_ID_MAX + 1; a cart_id always fits). */
void gw_cart_follow_up_id(const char *cart_id, bool cancel, char *out);
/* {"type":"cart_confirm"|"cart_cancel","order_id":...,"cart_id":...} */
bool gw_cart_follow_up_message(ol_buf *out, bool cancel, const char *order_id, const char *cart_id);

/* A cart answer's code: POST /carts 201 accepted or held, 409 rejected;
 * a confirm or cancel 200 accepted, 409 rejected; 422 invalid for both. */
unsigned gw_cart_status_of(const ol_result *answer, bool follow_up);

/* A row of table carts, as the ledger reads it. */
typedef struct gw_cart_row {
    char state[16];
    int32_t hold_s;
    int64_t hold_expires_at_us; /* 0: none */
    char *lines;                /* the lines column's JSON text (malloc'd; the reader frees it) */
    int32_t partition;          /* where the cart is on the carts topic */
    int64_t offset;
    int64_t updated_at_us;
} gw_cart_row;

/* The GET /carts/{id} body: cart_id, state, hold_s, hold_expires_at,
 * lines (item, quantity, status, reason, as in the cart's answers),
 * partition, offset, updated_at. False when memory ran out or the lines
 * are not JSON. */
bool gw_cart_json(ol_buf *out, const char *cart_id, const gw_cart_row *row);

/* A stored answer (jsonb text) as compact JSON, as it was published.
 * malloc'd; NULL when it is not JSON or memory ran out. */
char *gw_json_compact(const char *text);

#endif

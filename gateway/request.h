/* gw_request: the HTTP API's decisions that need no socket, broker or
 * database: routing, the Idempotency-Key and Prefer headers, turning a
 * POST body into the order message to publish (or the error to answer),
 * the status code of a decision, and the JSON bodies. Pure: unit-tested in
 * tests/unit/test_gateway_request.c. */
#ifndef GW_REQUEST_H
#define GW_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ol_order.h"
#include "ol_result.h"
#include "ol_str.h"

#define GW_BODY_MAX 16384 /* bytes of a POST body */

typedef enum {
    GW_ROUTE_FORM,           /* / */
    GW_ROUTE_ORDERS,         /* /orders */
    GW_ROUTE_ORDER,          /* /orders/{order_id} */
    GW_ROUTE_FOLLOW_UP,      /* /orders/{order_id}/confirm, /orders/{order_id}/cancel */
    GW_ROUTE_ITEM,           /* /items/{name} */
    GW_ROUTE_CARTS,          /* /carts */
    GW_ROUTE_CART,           /* /carts/{cart_id} */
    GW_ROUTE_CART_FOLLOW_UP, /* /carts/{cart_id}/confirm, /carts/{cart_id}/cancel */
    GW_ROUTE_METRICS,        /* /metrics */
    GW_ROUTE_HEALTHZ,        /* /healthz */
    GW_ROUTE_NOT_FOUND,
    GW_ROUTE_COUNT
} gw_route;

/* Matches a path (already percent-decoded). *arg points into path at the
 * {order_id} or {name} segment (for a follow-up, "{order_id}/confirm" or
 * "{order_id}/cancel": see gw_follow_up_parse), else is NULL. An order_id
 * that itself ends in "/confirm" or "/cancel" cannot be read by path. */
gw_route gw_route_match(const char *path, const char **arg);
/* The {order_id} or {name} segment arg of route, checked before any
 * query or log line: UTF-8, and no longer than an order_id or item may
 * be. False when not: *field names the segment ("order_id", "item") and
 * err the problem. */
bool gw_segment_check(gw_route route, const char *arg, const char **field, char *err, size_t errlen);
/* The methods a route allows, as an Allow header value. */
const char *gw_route_allow(gw_route route);
bool gw_route_allows(gw_route route, const char *method);
/* A short stable label for metrics: "post_orders", "get_order", ... */
const char *gw_route_label(gw_route route);

/* Idempotency-Key: an RFC 8941 sf-string ("...") or a plain token (letters,
 * digits and !#$%&'*+-.^_`|~:/). Fills key (capacity OL_ORDER_ID_MAX + 1).
 * A key holding '#' is refused (gw_id_reserved): it names an order or a
 * cart. */
bool gw_idempotency_key_parse(const char *header, char *key, char *err, size_t errlen);

/* True when id holds '#': orderline derives its own ids with it (a
 * follow-up's "<target>#cancel", a cart's lines "<cart>#<n>#hold", an
 * expire), so an id from a caller may not, or it could take one of those
 * ids first or name a cart's line as its own order. */
bool gw_id_reserved(const char *id);
/* What a caller is told when its id holds '#'. */
#define GW_ID_RESERVED_MSG                                                                                             \
    "'#' is reserved for the ids orderline derives (follow-ups, cart lines, expiries): choose an id without it"

/* Prefer (RFC 7240): respond-async and wait=N; anything else is ignored,
 * as the RFC asks. wait_s is -1 when not given. */
typedef struct gw_prefer {
    bool respond_async;
    long wait_s;
} gw_prefer;
gw_prefer gw_prefer_parse(const char *header);
/* Milliseconds to wait: wait=N capped by max_s, default_s when absent, 0
 * for respond-async. */
int64_t gw_prefer_wait_ms(gw_prefer prefer, long default_s, long max_s);

/* A follow-up route's arg: the target's order_id into target (capacity
 * OL_ORDER_ID_MAX + 1; checked as gw_segment_check does) and the type
 * (OL_TYPE_CONFIRM or OL_TYPE_CANCEL). False with err when the order_id is
 * not one. */
bool gw_follow_up_parse(const char *arg, char *target, ol_order_type *type, char *err, size_t errlen);
/* The follow-up's own order_id, the same for every repeat of one request
 * (so a repeat is a duplicate, answered as the first): "<target>#confirm"
 * or "<target>#cancel", or where that would be too long, "#confirm:" or
 * "#cancel:" and the target's SHA-256 in hex. out: OL_ORDER_ID_MAX + 1. */
bool gw_follow_up_id(const char *target, ol_order_type type, char *out);
/* The follow-up message to publish: {"type","order_id","item","target"}. */
bool gw_follow_up_message(ol_buf *out, ol_order_type type, const char *order_id, const char *item, const char *target);
/* A follow-up's answer: 200 accepted, 409 refused (with its reason), 422
 * invalid. */
unsigned gw_follow_up_status_of(const ol_result *result);

/* Content-Type application/json, with or without parameters. */
bool gw_content_type_is_json(const char *header);

/* The outcome of reading a POST /orders body. */
typedef struct gw_order_input {
    unsigned status; /* 0: valid; else the HTTP status to answer (400 or 422) */
    ol_order order;  /* when valid */
    char *message;   /* when valid: the message value to publish (malloc'd; caller frees) */
    size_t message_len;
    char error[OL_ERROR_MAX + 64];
    const char *field; /* the field that was wrong, or NULL */
    int line, column;  /* 400: where the JSON broke */
} gw_order_input;

/* Reads body with the key from the header (NULL when absent). The message
 * is the body as sent when it already carries order_id, else the body with
 * order_id added from the header. Validation is ol_order_parse's, so the
 * words are those the DLQ would carry. False only when memory ran out. */
bool gw_order_input_read(const char *body, size_t len, const char *header_key, gw_order_input *in);
void gw_order_input_free(gw_order_input *in);

/* 201 accepted, 409 rejected for stock or item, 422 invalid. */
unsigned gw_status_of(const ol_result *result);

/* Location of an order: /orders/ and its order_id percent-encoded. */
bool gw_location(ol_buf *out, const char *order_id);
/* The same under another prefix ("/carts/"). */
bool gw_location_under(ol_buf *out, const char *prefix, const char *id);

/* {"error": msg} with optional "field" (NULL: left out) and extra numeric
 * members line/column when line > 0. */
bool gw_error_json(ol_buf *out, const char *msg, const char *field, int line, int column);
/* The 202 body: the order is in the log at partition/offset, undecided. */
bool gw_pending_json(ol_buf *out, const char *order_id, int32_t partition, int64_t offset);
/* {"item": name, "count": n} */
bool gw_item_json(ol_buf *out, const char *name, int64_t count);

#endif

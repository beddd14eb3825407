/* The gateway's request handling, the pure part (gateway/request.c), fed
 * as order-gateway feeds it. The input is lines:
 *   METHOD \n URL \n IDEMPOTENCY-KEY \n PREFER \n CONTENT-TYPE \n BODY...
 * (an empty header line: the header is absent; the body is the rest, any
 * bytes). The URL is percent-decoded by libmicrohttpd's own function, as the
 * server does before routing. Asserted:
 *   - every error the server would answer has a JSON body (gw_error_json
 *     succeeds and jansson reads it back), as the README promises;
 *   - /orders/{id}: Location for that id decodes and routes back to it;
 *   - a parsed Idempotency-Key is 1..128 printable bytes; Prefer's wait is
 *     within its caps;
 *   - a valid POST body's message parses to the same order, and carries the
 *     header's key when one was given. */
#include "fuzz.h"

#include <jansson.h>
#include <microhttpd.h>
#include <string.h>

#include "request.h"

#define FIELDS 5

static void check_error_body(const char *msg, const char *field, int line, int column) {
    ol_buf body;
    ol_buf_init(&body);
    FUZZ_CHECK(gw_error_json(&body, msg, field, line, column), "no JSON body for the error '%s'", msg);
    json_error_t jerr;
    json_t *root = json_loads(body.data, 0, &jerr);
    FUZZ_CHECK(root && json_is_string(json_object_get(root, "error")), "error body unreadable: %s", body.data);
    json_decref(root);
    ol_buf_free(&body);
}

static void check_location(const char *arg) {
    ol_buf loc;
    ol_buf_init(&loc);
    FUZZ_CHECK(gw_location(&loc, arg), "gw_location failed");
    for (size_t i = 0; i < loc.len; i++)
        FUZZ_CHECK(loc.data[i] > 0x20 && loc.data[i] < 0x7f, "Location byte 0x%02x", (unsigned char)loc.data[i]);
    MHD_http_unescape(loc.data);
    const char *back;
    FUZZ_CHECK(gw_route_match(loc.data, &back) == GW_ROUTE_ORDER && strcmp(back, arg) == 0,
               "Location %s does not lead back to '%s'", loc.data, arg);
    ol_buf_free(&loc);
}

/* Routing, and the 404/405/GET error messages http.c builds. */
static void check_route(const char *method, char *url) {
    char msg[700];
    MHD_http_unescape(url);
    const char *arg;
    gw_route route = gw_route_match(url, &arg);
    FUZZ_CHECK((unsigned)route < GW_ROUTE_COUNT && gw_route_label(route) && gw_route_allow(route), "route");
    if (route == GW_ROUTE_NOT_FOUND) {
        snprintf(msg, sizeof msg, "no such resource: %.100s", url);
        check_error_body(msg, NULL, 0, 0);
        return;
    }
    if (!gw_route_allows(route, method)) {
        snprintf(msg, sizeof msg, "method %.16s is not allowed here; use %s", method, gw_route_allow(route));
        check_error_body(msg, NULL, 0, 0);
    }
    if (route == GW_ROUTE_ORDER || route == GW_ROUTE_ITEM) FUZZ_CHECK(arg && *arg, "empty segment routed");
    if (route == GW_ROUTE_ORDER) {
        check_location(arg);
        snprintf(msg, sizeof msg, "no decision for order '%.128s' (yet)", arg);
        check_error_body(msg, NULL, 0, 0);
    }
    if (route == GW_ROUTE_ITEM) {
        snprintf(msg, sizeof msg, "unknown item '%.64s'", arg);
        check_error_body(msg, NULL, 0, 0);
        /* A 200 only for an item the ledger holds, so UTF-8 (the database's). */
        ol_buf body;
        ol_buf_init(&body);
        FUZZ_CHECK(!ol_utf8_valid(arg, strlen(arg)) || gw_item_json(&body, arg, 2), "no body for item '%s'", arg);
        ol_buf_free(&body);
    }
}

static void check_headers(const char *prefer, const char *content_type) {
    gw_prefer p = gw_prefer_parse(prefer);
    FUZZ_CHECK(p.wait_s >= -1 && p.wait_s <= 86400L * 365, "wait %ld", p.wait_s);
    int64_t ms = gw_prefer_wait_ms(p, 5, 30);
    FUZZ_CHECK(ms >= 0 && ms <= 30000, "wait %lld ms", (long long)ms);
    (void)gw_content_type_is_json(content_type);
}

/* POST /orders: the key header, then the body. */
static void check_post(const char *key_header, const char *body, size_t len) {
    char key[OL_ORDER_ID_MAX + 1], err[256];
    if (key_header && !gw_idempotency_key_parse(key_header, key, err, sizeof err)) {
        check_error_body(err, "Idempotency-Key", 0, 0);
        return;
    }
    if (key_header) {
        size_t n = strlen(key);
        FUZZ_CHECK(n >= 1 && n <= OL_ORDER_ID_MAX, "key of %zu bytes", n);
        for (size_t i = 0; i < n; i++) FUZZ_CHECK(key[i] >= 0x20 && key[i] < 0x7f, "key byte 0x%02x", key[i]);
    }
    gw_order_input in;
    FUZZ_CHECK(gw_order_input_read(body, len, key_header ? key : NULL, &in), "gw_order_input_read failed");
    if (in.status) {
        FUZZ_CHECK(in.status == 400 || in.status == 422, "status %u", in.status);
        FUZZ_CHECK(!in.message, "a message for a rejected body");
        check_error_body(in.error, in.field, in.line, in.column);
        return;
    }
    ol_order again;
    FUZZ_CHECK(in.message && ol_order_parse(in.message, in.message_len, NULL, 0, &again, err, sizeof err),
               "the message to publish is not a valid order: %s", err);
    FUZZ_CHECK(strcmp(again.order_id, in.order.order_id) == 0 && strcmp(again.item, in.order.item) == 0 &&
                   again.quantity == in.order.quantity && again.type == in.order.type,
               "the message reads as another order");
    FUZZ_CHECK(!key_header || strcmp(in.order.order_id, key) == 0, "order_id '%s', key '%s'", in.order.order_id, key);
    ol_buf out;
    ol_buf_init(&out);
    FUZZ_CHECK(gw_pending_json(&out, in.order.order_id, 0, 0) && gw_location(&out, in.order.order_id), "202 body");
    ol_buf_free(&out);
    gw_order_input_free(&in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* Header lines are C strings, as libmicrohttpd hands them over. */
    char *copy = malloc(size + 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    char *field[FIELDS] = {NULL};
    char *p = copy;
    size_t i = 0;
    for (; i < FIELDS; i++) {
        char *nl = memchr(p, '\n', (size_t)(copy + size - p));
        if (!nl) break;
        *nl = '\0';
        field[i] = p;
        p = nl + 1;
    }
    if (i == FIELDS) {
        const char *body = p;
        size_t body_len = (size_t)(copy + size - p);
        for (size_t k = 2; k < FIELDS; k++)
            if (!*field[k]) field[k] = NULL;
        check_route(field[0], field[1]);
        check_headers(field[3], field[4]);
        check_post(field[2], body, body_len);
    }
    free(copy);
    return 0;
}

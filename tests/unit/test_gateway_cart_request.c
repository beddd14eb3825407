/* Unit tests for gw_cart_request: POST /carts bodies, the confirm and
 * cancel routes, answer codes and the GET /carts/{id} body. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cart_request.h"
#include "request.h"

static gw_cart_input read_body(const char *body, const char *key) {
    gw_cart_input in;
    cr_assert(gw_cart_input_read(body, strlen(body), key, &in));
    return in;
}

Test(gateway_cart_request, cart_id_from_the_header_or_the_body) {
    gw_cart_input in = read_body("{\"lines\":[{\"item\":\"a\",\"quantity\":2},{\"item\":\"b\",\"quantity\":1}]}", "k1");
    cr_assert_eq(in.status, 0, "%s", in.error);
    cr_assert_str_eq(in.cart.cart_id, "k1");
    cr_assert_eq(in.cart.n_lines, 2);
    cr_assert_str_eq(
        in.message, "{\"lines\":[{\"item\":\"a\",\"quantity\":2},{\"item\":\"b\",\"quantity\":1}],\"cart_id\":\"k1\"}");
    gw_cart_input_free(&in);
    in = read_body("{\"cart_id\":\"k2\",\"lines\":[{\"item\":\"a\",\"quantity\":1}],\"hold_s\":60}", NULL);
    cr_assert_eq(in.status, 0, "%s", in.error);
    cr_assert_eq(in.cart.hold_s, 60);
    gw_cart_input_free(&in);
    in = read_body("{\"cart_id\":\"k2\",\"lines\":[{\"item\":\"a\",\"quantity\":1}]}", "k2");
    cr_assert_eq(in.status, 0, "%s", in.error);
    gw_cart_input_free(&in);
}

Test(gateway_cart_request, errors_name_the_field_or_line) {
    gw_cart_input in = read_body("{\"lines\":[{\"item\":\"a\",\"quantity\":1}]}", NULL);
    cr_assert_eq(in.status, 400);
    cr_assert_str_eq(in.field, "cart_id");
    cr_assert_null(in.message);
    in = read_body("{\"cart_id\":\"x\",\"lines\":[{\"item\":\"a\",\"quantity\":1}]}", "y");
    cr_assert_eq(in.status, 400);
    cr_assert_str_eq(in.field, "cart_id");
    cr_assert(strstr(in.error, "differ"), "%s", in.error);
    in = read_body("{\"lines\":[{\"item\":\"a\",\"quantity\":1},{\"item\":\"b\",\"quantity\":0}]}", "k");
    cr_assert_eq(in.status, 400);
    cr_assert_str_eq(in.field, "lines[1].quantity", "%s", in.error);
    cr_assert_null(in.message);
    in = read_body("{\"lines\":[]}", "k");
    cr_assert_eq(in.status, 400);
    cr_assert_str_eq(in.field, "lines", "%s", in.error);
    in = read_body("{\"lines\":[{\"item\":\"a\",\"quantity\":1}],\"hold_s\":0}", "k");
    cr_assert_str_eq(in.field, "hold_s", "%s", in.error);
    in = read_body("{\"lines\":", "k");
    cr_assert_eq(in.status, 400);
    cr_assert_eq(in.line, 1);
    cr_assert_str_eq(in.field, "");
    in = read_body("[1]", "k");
    cr_assert_eq(in.status, 400);
}

Test(gateway_cart_request, routes) {
    const char *arg;
    cr_assert_eq(gw_route_match("/carts", &arg), GW_ROUTE_CARTS);
    cr_assert_eq(gw_route_match("/carts/c1", &arg), GW_ROUTE_CART);
    cr_assert_str_eq(arg, "c1");
    cr_assert_eq(gw_route_match("/carts/c1/confirm", &arg), GW_ROUTE_CART_FOLLOW_UP);
    cr_assert_eq(gw_route_match("/carts/", &arg), GW_ROUTE_NOT_FOUND);
    cr_assert(gw_route_allows(GW_ROUTE_CARTS, "POST"));
    cr_assert_not(gw_route_allows(GW_ROUTE_CARTS, "GET"));
    cr_assert(gw_route_allows(GW_ROUTE_CART, "GET"));
    cr_assert_str_eq(gw_route_label(GW_ROUTE_CART_FOLLOW_UP), "post_cart_follow_up");
    const char *field;
    char err[200], long_id[120];
    memset(long_id, 'x', 97);
    long_id[97] = '\0';
    cr_assert_not(gw_segment_check(GW_ROUTE_CART, long_id, &field, err, sizeof err));
    cr_assert_str_eq(field, "cart_id");
    ol_buf loc;
    ol_buf_init(&loc);
    cr_assert(gw_location_under(&loc, "/carts/", "a b"));
    cr_assert_str_eq(loc.data, "/carts/a%20b");
    ol_buf_free(&loc);
}

Test(gateway_cart_request, follow_ups) {
    char id[OL_CART_ID_MAX + 1], order_id[OL_ORDER_ID_MAX + 1], err[200];
    bool cancel;
    cr_assert(gw_cart_follow_up_parse("c1/cancel", id, &cancel, err, sizeof err));
    cr_assert_str_eq(id, "c1");
    cr_assert(cancel);
    cr_assert(gw_cart_follow_up_parse("c/1/confirm", id, &cancel, err, sizeof err));
    cr_assert_str_eq(id, "c/1");
    cr_assert_not(cancel);
    cr_assert_not(gw_cart_follow_up_parse("/confirm", id, &cancel, err, sizeof err));
    gw_cart_follow_up_id("c1", true, order_id);
    cr_assert_str_eq(order_id, "c1#cancel");
    ol_buf m;
    ol_buf_init(&m);
    cr_assert(gw_cart_follow_up_message(&m, false, "c1#confirm", "c1"));
    cr_assert_str_eq(m.data, "{\"type\":\"cart_confirm\",\"order_id\":\"c1#confirm\",\"cart_id\":\"c1\"}");
    ol_buf_free(&m);
}

Test(gateway_cart_request, answer_codes) {
    ol_result r = {.status = OL_STATUS_HELD};
    cr_assert_eq(gw_cart_status_of(&r, false), 201);
    r.status = OL_STATUS_ACCEPTED;
    cr_assert_eq(gw_cart_status_of(&r, false), 201);
    cr_assert_eq(gw_cart_status_of(&r, true), 200);
    r.status = OL_STATUS_REJECTED;
    r.reason = OL_REASON_INSUFFICIENT_STOCK;
    cr_assert_eq(gw_cart_status_of(&r, false), 409);
    r.reason = OL_REASON_EXPIRED;
    cr_assert_eq(gw_cart_status_of(&r, true), 409);
    r.reason = OL_REASON_INVALID;
    cr_assert_eq(gw_cart_status_of(&r, false), 422);
}

Test(gateway_cart_request, get_body_from_the_row) {
    char lines[] = "[{\"item\": \"a\", \"quantity\": 2, \"step\": \"hold\", \"answered\": true, \"held\": true, "
                   "\"reason\": null}, {\"item\": \"b\", \"quantity\": 1, \"step\": \"release\", \"answered\": true, "
                   "\"held\": true, \"reason\": null}, {\"item\": \"c\", \"quantity\": 1, \"step\": \"hold\", "
                   "\"answered\": true, \"held\": false, \"reason\": \"insufficient_stock\"}, {\"item\": \"d\", "
                   "\"quantity\": 1, \"step\": \"hold\", \"answered\": false, \"held\": false, \"reason\": null}, "
                   "{\"item\": \"e\", \"quantity\": 1, \"step\": \"commit\", \"answered\": true, \"held\": true, "
                   "\"reason\": null}]";
    gw_cart_row row = {"held", 60, 1796338800000000LL, lines, 2, 9, 1796338700000000LL};
    ol_buf out;
    ol_buf_init(&out);
    cr_assert(gw_cart_json(&out, "c1", &row));
    cr_assert(strstr(out.data, "\"cart_id\":\"c1\",\"state\":\"held\",\"hold_s\":60,\"hold_expires_at\":"
                               "\"2026-12-03T23:00:00.000000Z\""),
              "%s", out.data);
    cr_assert(strstr(out.data, "{\"item\":\"a\",\"quantity\":2,\"status\":\"held\",\"reason\":null}"), "%s", out.data);
    cr_assert(strstr(out.data, "\"status\":\"released\""), "%s", out.data);
    cr_assert(strstr(out.data, "{\"item\":\"c\",\"quantity\":1,\"status\":\"rejected\",\"reason\":"
                               "\"insufficient_stock\"}"),
              "%s", out.data);
    cr_assert(strstr(out.data, "{\"item\":\"d\",\"quantity\":1,\"status\":\"holding\""), "%s", out.data);
    cr_assert(strstr(out.data, "{\"item\":\"e\",\"quantity\":1,\"status\":\"accepted\""), "%s", out.data);
    cr_assert(strstr(out.data, "\"partition\":2,\"offset\":9"), "%s", out.data);
    ol_buf_free(&out);
    row.lines = "not json";
    ol_buf_init(&out);
    cr_assert_not(gw_cart_json(&out, "c1", &row));
    ol_buf_free(&out);
    char *c = gw_json_compact("{\"a\": 1,  \"b\": [true]}");
    cr_assert_str_eq(c, "{\"a\":1,\"b\":[true]}");
    free(c);
}

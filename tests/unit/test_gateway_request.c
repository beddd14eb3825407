/* Unit tests for the gateway's pure part: routes, Idempotency-Key and
 * Prefer, reading a POST body into the message to publish, status codes,
 * the JSON bodies and the counters' rendering. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "counters.h"
#include "request.h"

Test(gateway_route, matches_every_route) {
    const char *arg;
    cr_assert_eq(gw_route_match("/", &arg), GW_ROUTE_FORM);
    cr_assert_eq(gw_route_match("/orders", &arg), GW_ROUTE_ORDERS);
    cr_assert_null(arg);
    cr_assert_eq(gw_route_match("/orders/o-1", &arg), GW_ROUTE_ORDER);
    cr_assert_str_eq(arg, "o-1");
    cr_assert_eq(gw_route_match("/orders/a/b", &arg), GW_ROUTE_ORDER, "a decoded id may hold '/'");
    cr_assert_str_eq(arg, "a/b");
    cr_assert_eq(gw_route_match("/items/widget", &arg), GW_ROUTE_ITEM);
    cr_assert_str_eq(arg, "widget");
    cr_assert_eq(gw_route_match("/metrics", &arg), GW_ROUTE_METRICS);
    cr_assert_eq(gw_route_match("/healthz", &arg), GW_ROUTE_HEALTHZ);
    cr_assert_eq(gw_route_match("/orders/", &arg), GW_ROUTE_NOT_FOUND);
    cr_assert_eq(gw_route_match("/items/", &arg), GW_ROUTE_NOT_FOUND);
    cr_assert_eq(gw_route_match("/order", &arg), GW_ROUTE_NOT_FOUND);
    cr_assert_eq(gw_route_match("/ordersx", &arg), GW_ROUTE_NOT_FOUND);
}

Test(gateway_route, methods) {
    cr_assert(gw_route_allows(GW_ROUTE_ORDERS, "POST"));
    cr_assert_not(gw_route_allows(GW_ROUTE_ORDERS, "GET"));
    cr_assert_str_eq(gw_route_allow(GW_ROUTE_ORDERS), "POST");
    cr_assert(gw_route_allows(GW_ROUTE_ORDER, "GET"));
    cr_assert(gw_route_allows(GW_ROUTE_ORDER, "HEAD"));
    cr_assert_not(gw_route_allows(GW_ROUTE_ORDER, "DELETE"));
    cr_assert_not(gw_route_allows(GW_ROUTE_FORM, "POST"));
    cr_assert(gw_route_allows(GW_ROUTE_NOT_FOUND, "DELETE"), "unknown paths are 404, not 405");
}

Test(gateway_key, tokens_and_strings) {
    char key[OL_ORDER_ID_MAX + 1], err[256];
    cr_assert(gw_idempotency_key_parse("abc-123", key, err, sizeof err));
    cr_assert_str_eq(key, "abc-123");
    cr_assert(gw_idempotency_key_parse("8e03978e-40d5-43e8-bc93-6894a57f9324", key, err, sizeof err),
              "a UUID is a plain token here though RFC 8941 tokens start with a letter");
    cr_assert(gw_idempotency_key_parse("  \"quoted key\"  ", key, err, sizeof err));
    cr_assert_str_eq(key, "quoted key");
    cr_assert(gw_idempotency_key_parse("\"a\\\"b\\\\c\"", key, err, sizeof err));
    cr_assert_str_eq(key, "a\"b\\c");
    cr_assert(gw_idempotency_key_parse("urn:x/y", key, err, sizeof err));
    cr_assert_str_eq(key, "urn:x/y");
}

/* Every id orderline derives holds '#'; a caller's id may not. */
Test(gateway_key, derived_ids_are_reserved) {
    char id[OL_ORDER_ID_MAX + 1];
    cr_assert(gw_follow_up_id("o-1", OL_TYPE_CANCEL, id));
    cr_assert(gw_id_reserved(id), "%s", id);
    cr_assert(gw_follow_up_id("o-1", OL_TYPE_CONFIRM, id));
    cr_assert(gw_id_reserved(id), "%s", id);
    cr_assert(gw_id_reserved("c1#0#hold"));
    cr_assert(gw_id_reserved("#"));
    cr_assert_not(gw_id_reserved("8e03978e-40d5-43e8-bc93-6894a57f9324"));
    cr_assert_not(gw_id_reserved("urn:x/y"));
    cr_assert_not(gw_id_reserved(""));
    char key[OL_ORDER_ID_MAX + 1], err[256];
    cr_assert_not(gw_idempotency_key_parse("c1#0#hold", key, err, sizeof err), "a reserved key is refused");
    cr_assert(strstr(err, "Idempotency-Key: '#' is reserved") == err, "%s", err);
    cr_assert_not(gw_idempotency_key_parse("\"o#cancel\"", key, err, sizeof err), "quoted too");
}

Test(gateway_key, rejects_with_a_reason) {
    char key[OL_ORDER_ID_MAX + 1], err[256];
    const char *bad[] = {"", "\"\"", "\"open", "a b", "a,b", "\"a\\nb\"", "\"x\" y", "caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        cr_assert_not(gw_idempotency_key_parse(bad[i], key, err, sizeof err), "accepted '%s'", bad[i]);
        cr_assert(strncmp(err, "Idempotency-Key:", 16) == 0, "error names the header: %s", err);
    }
    char longkey[OL_ORDER_ID_MAX + 2];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    cr_assert_not(gw_idempotency_key_parse(longkey, key, err, sizeof err));
    longkey[OL_ORDER_ID_MAX] = '\0';
    cr_assert(gw_idempotency_key_parse(longkey, key, err, sizeof err), "exactly 128 bytes is fine");
}

Test(gateway_prefer, wait_and_async) {
    gw_prefer p = gw_prefer_parse(NULL);
    cr_assert_not(p.respond_async);
    cr_assert_eq(p.wait_s, -1);
    cr_assert_eq(gw_prefer_wait_ms(p, 5, 30), 5000, "default 5 s");
    p = gw_prefer_parse("wait=10");
    cr_assert_eq(gw_prefer_wait_ms(p, 5, 30), 10000);
    p = gw_prefer_parse("wait=100");
    cr_assert_eq(gw_prefer_wait_ms(p, 5, 30), 30000, "capped by --max-wait");
    p = gw_prefer_parse("handling=lenient, respond-async; foo=bar, wait=3");
    cr_assert(p.respond_async);
    cr_assert_eq(p.wait_s, 3);
    cr_assert_eq(gw_prefer_wait_ms(p, 5, 30), 0, "respond-async wins");
    p = gw_prefer_parse("wait=abc");
    cr_assert_eq(p.wait_s, -1, "invalid preferences are ignored (RFC 7240)");
    p = gw_prefer_parse("WAIT=0");
    cr_assert_eq(gw_prefer_wait_ms(p, 5, 30), 0);
}

Test(gateway_content_type, json_only) {
    cr_assert(gw_content_type_is_json("application/json"));
    cr_assert(gw_content_type_is_json("application/json; charset=utf-8"));
    cr_assert(gw_content_type_is_json("Application/JSON"));
    cr_assert_not(gw_content_type_is_json(NULL));
    cr_assert_not(gw_content_type_is_json("application/x-www-form-urlencoded"));
    cr_assert_not(gw_content_type_is_json("application/jsonx"));
    cr_assert_not(gw_content_type_is_json("text/plain"));
}

static gw_order_input read_body(const char *body, const char *key) {
    gw_order_input in;
    cr_assert(gw_order_input_read(body, strlen(body), key, &in));
    return in;
}

Test(gateway_body, order_id_in_the_body_is_published_as_sent) {
    const char *body = "{\"order_id\": \"o-1\", \"item\": \"widget\", \"quantity\": 3, \"note\": \"gift\"}";
    gw_order_input in = read_body(body, NULL);
    cr_assert_eq(in.status, 0, "%s", in.error);
    cr_assert_str_eq(in.message, body);
    cr_assert_str_eq(in.order.order_id, "o-1");
    cr_assert_str_eq(in.order.item, "widget");
    cr_assert_eq(in.order.quantity, 3);
    gw_order_input_free(&in);
    in = read_body(body, "o-1");
    cr_assert_eq(in.status, 0, "the same key in both places is fine");
    gw_order_input_free(&in);
}

Test(gateway_body, key_from_the_header_is_added) {
    gw_order_input in = read_body("{\"item\": \"widget\", \"quantity\": 3}", "k-9");
    cr_assert_eq(in.status, 0, "%s", in.error);
    cr_assert_str_eq(in.order.order_id, "k-9");
    json_t *msg = json_loads(in.message, 0, NULL);
    cr_assert_not_null(msg);
    cr_assert_str_eq(json_string_value(json_object_get(msg, "order_id")), "k-9");
    cr_assert_str_eq(json_string_value(json_object_get(msg, "item")), "widget");
    json_decref(msg);
    gw_order_input_free(&in);
}

Test(gateway_body, errors_and_their_codes) {
    gw_order_input in = read_body("{\"item\": \"widget\",\n  \"quantity\": }", "k");
    cr_assert_eq(in.status, 400);
    cr_assert_eq(in.line, 2);
    cr_assert_gt(in.column, 0);
    cr_assert(strstr(in.error, "line 2") != NULL, "%s", in.error);
    cr_assert_null(in.message, "nothing to publish");

    in = read_body("{\"item\": \"widget\", \"quantity\": 3}", NULL);
    cr_assert_eq(in.status, 400, "no key anywhere");
    cr_assert_str_eq(in.field, "order_id");

    in = read_body("{\"order_id\": \"a\", \"item\": \"widget\", \"quantity\": 3}", "b");
    cr_assert_eq(in.status, 422, "header and body differ");
    cr_assert_str_eq(in.field, "order_id");

    in = read_body("{\"order_id\": \"a\", \"item\": \"widget\", \"quantity\": 0}", NULL);
    cr_assert_eq(in.status, 422);
    cr_assert_str_eq(in.field, "quantity");
    cr_assert_str_eq(in.error, "field 'quantity' must be an integer from 1 to 1000000, got 0",
                     "the words ol_order_parse (and so the DLQ) uses");
    cr_assert_null(in.message);

    in = read_body("{\"order_id\": \"a\", \"quantity\": 2}", NULL);
    cr_assert_eq(in.status, 422);
    cr_assert_str_eq(in.field, "item");
    cr_assert_str_eq(in.error, "missing required field 'item'");

    in = read_body("{\"order_id\": \"a\", \"item\": \"w\", \"quantity\": 2, \"type\": \"refund\"}", NULL);
    cr_assert_eq(in.status, 422);
    cr_assert_str_eq(in.field, "type");

    in = read_body("[1, 2]", "k");
    cr_assert_eq(in.status, 422, "JSON, but not an order");
    cr_assert_null(in.field);
}

Test(gateway_status, of_a_decision) {
    ol_result r;
    memset(&r, 0, sizeof r);
    r.status = OL_STATUS_ACCEPTED;
    cr_assert_eq(gw_status_of(&r), 201);
    r.status = OL_STATUS_REJECTED;
    r.reason = OL_REASON_INSUFFICIENT_STOCK;
    cr_assert_eq(gw_status_of(&r), 409);
    r.reason = OL_REASON_UNKNOWN_ITEM;
    cr_assert_eq(gw_status_of(&r), 409);
    r.reason = OL_REASON_INVALID;
    cr_assert_eq(gw_status_of(&r), 422);
}

Test(gateway_json, bodies) {
    ol_buf b;
    ol_buf_init(&b);
    cr_assert(gw_location(&b, "o 1/é"));
    cr_assert_str_eq(b.data, "/orders/o%201%2F%C3%A9");
    ol_buf_clear(&b);
    cr_assert(gw_error_json(&b, "bad \"thing\"", "item", 0, 0));
    cr_assert_str_eq(b.data, "{\"error\":\"bad \\\"thing\\\"\",\"field\":\"item\"}");
    ol_buf_clear(&b);
    cr_assert(gw_error_json(&b, "not valid JSON", NULL, 2, 7));
    cr_assert_str_eq(b.data, "{\"error\":\"not valid JSON\",\"line\":2,\"column\":7}");
    ol_buf_clear(&b);
    cr_assert(gw_pending_json(&b, "o-1", 3, 42));
    cr_assert_str_eq(b.data, "{\"order_id\":\"o-1\",\"status\":\"pending\",\"partition\":3,\"offset\":42}");
    ol_buf_clear(&b);
    cr_assert(gw_item_json(&b, "widget", 2));
    cr_assert_str_eq(b.data, "{\"item\":\"widget\",\"count\":2}");
    ol_buf_free(&b);
}

/* Found by tests/fuzz/fuzz_gateway.c: GET /nope%FF made the 404 message
 * "no such resource: /nope\xff", jansson refused it, and the gateway closed
 * the connection without an answer. The same for a message cut inside a
 * character (%.100s of a path). Every error has its JSON body. */
Test(gateway_json, error_bodies_for_text_that_is_not_utf8) {
    ol_buf b;
    ol_buf_init(&b);
    cr_assert(gw_error_json(&b, "no such resource: /nope\xff", NULL, 0, 0));
    cr_assert_str_eq(b.data, "{\"error\":\"no such resource: /nope\\\\xff\"}");
    ol_buf_clear(&b);
    cr_assert(gw_error_json(&b, "unknown item 'caf\xc3'", "item", 0, 0), "a character cut in two");
    cr_assert_str_eq(b.data, "{\"error\":\"unknown item 'caf\\\\xc3'\",\"field\":\"item\"}");
    ol_buf_clear(&b);
    cr_assert(gw_error_json(&b, "unknown item 'caf\xc3\xa9'", NULL, 0, 0), "valid UTF-8 is kept as it is");
    cr_assert_str_eq(b.data, "{\"error\":\"unknown item 'caf\xc3\xa9'\"}");
    ol_buf_free(&b);
}

Test(gateway_counters, render_by_route_and_code) {
    gw_counters c;
    cr_assert(gw_counters_init(&c, NULL, 0));
    gw_counters_request(&c, GW_ROUTE_ORDERS, 201, GW_NO_CLIENT);
    gw_counters_request(&c, GW_ROUTE_ORDERS, 201, GW_NO_CLIENT);
    gw_counters_request(&c, GW_ROUTE_ORDERS, 409, GW_NO_CLIENT);
    gw_counters_request(&c, GW_ROUTE_ITEM, 418, GW_NO_CLIENT);
    ol_histogram_observe(&c.wait_seconds, 0.02);
    c.waiters = 7;
    c.unconfirmed = 1;
    ol_buf b;
    ol_buf_init(&b);
    cr_assert(gw_counters_render(&c, &b));
    cr_assert(strstr(b.data, "orderline_gateway_requests_total{route=\"post_orders\",code=\"201\"} 2\n"));
    cr_assert(strstr(b.data, "orderline_gateway_requests_total{route=\"post_orders\",code=\"409\"} 1\n"));
    cr_assert(strstr(b.data, "orderline_gateway_requests_total{route=\"get_item\",code=\"other\"} 1\n"));
    cr_assert(strstr(b.data, "orderline_gateway_wait_seconds_bucket{le=\"0.025\"} 1\n"));
    cr_assert(strstr(b.data, "orderline_gateway_waiters 7\n"));
    cr_assert(strstr(b.data, "orderline_kafka_unconfirmed_deliveries_total 1\n"));
    cr_assert_null(strstr(b.data, "code=\"202\""), "zero series are left out");
    cr_assert_null(strstr(b.data, "orderline_gateway_client_requests_total{"));
    ol_buf_free(&b);
    gw_counters_free(&c);
}

Test(gateway_counters, render_by_client) {
    static const char *const names[] = {"shop", "admin", "anonymous"};
    gw_counters c;
    cr_assert(gw_counters_init(&c, names, 3));
    gw_counters_request(&c, GW_ROUTE_ORDERS, 201, 0);
    gw_counters_request(&c, GW_ROUTE_ORDERS, 403, 0);
    gw_counters_request(&c, GW_ROUTE_ORDERS, 201, 1);
    gw_counters_request(&c, GW_ROUTE_ORDERS, 201, 1);
    gw_counters_request(&c, GW_ROUTE_ORDERS, 401, GW_NO_CLIENT);
    c.waiters_refused = 4;
    ol_buf b;
    ol_buf_init(&b);
    cr_assert(gw_counters_render(&c, &b));
    cr_assert(strstr(b.data, "orderline_gateway_client_requests_total{client=\"shop\",code=\"201\"} 1\n"));
    cr_assert(strstr(b.data, "orderline_gateway_client_requests_total{client=\"shop\",code=\"403\"} 1\n"));
    cr_assert(strstr(b.data, "orderline_gateway_client_requests_total{client=\"admin\",code=\"201\"} 2\n"));
    cr_assert(strstr(b.data, "orderline_gateway_requests_total{route=\"post_orders\",code=\"401\"} 1\n"));
    cr_assert(strstr(b.data, "orderline_gateway_requests_total{route=\"post_orders\",code=\"201\"} 3\n"));
    cr_assert(strstr(b.data, "orderline_gateway_waiters_refused_total 4\n"));
    cr_assert_null(strstr(b.data, "client=\"anonymous\""), "zero series are left out");
    ol_buf_free(&b);
    gw_counters_free(&c);
}

Test(segment, utf8_and_length_checked_before_any_query) {
    char err[256], id[OL_ORDER_ID_MAX + 2], item[OL_ITEM_MAX + 2];
    const char *field = NULL;
    cr_assert(gw_segment_check(GW_ROUTE_ORDER, "k-1", &field, err, sizeof err));
    cr_assert(gw_segment_check(GW_ROUTE_ITEM, "caf\xc3\xa9", &field, err, sizeof err));
    cr_assert_not(gw_segment_check(GW_ROUTE_ITEM, "\xff\nforged", &field, err, sizeof err));
    cr_assert_str_eq(field, "item");
    cr_assert(strstr(err, "UTF-8"), "%s", err);
    cr_assert_not(gw_segment_check(GW_ROUTE_ORDER, "\xc3", &field, err, sizeof err));
    cr_assert_str_eq(field, "order_id");
    memset(id, 'a', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    cr_assert_not(gw_segment_check(GW_ROUTE_ORDER, id, &field, err, sizeof err));
    cr_assert(strstr(err, "129 bytes"), "%s", err);
    id[OL_ORDER_ID_MAX] = '\0';
    cr_assert(gw_segment_check(GW_ROUTE_ORDER, id, &field, err, sizeof err));
    memset(item, 'b', sizeof item - 1);
    item[sizeof item - 1] = '\0';
    cr_assert_not(gw_segment_check(GW_ROUTE_ITEM, item, &field, err, sizeof err));
    item[OL_ITEM_MAX] = '\0';
    cr_assert(gw_segment_check(GW_ROUTE_ITEM, item, &field, err, sizeof err));
}

Test(follow_up, routes_and_targets) {
    const char *arg;
    cr_assert_eq(gw_route_match("/orders/o-1/confirm", &arg), GW_ROUTE_FOLLOW_UP);
    cr_assert_str_eq(arg, "o-1/confirm");
    cr_assert_eq(gw_route_match("/orders/a/b/cancel", &arg), GW_ROUTE_FOLLOW_UP);
    cr_assert_eq(gw_route_match("/orders//cancel", &arg), GW_ROUTE_ORDER, "no target: the order named /cancel");
    cr_assert_eq(gw_route_match("/orders/confirm", &arg), GW_ROUTE_ORDER, "an order named confirm");
    cr_assert_eq(gw_route_match("/orders/x/confirmed", &arg), GW_ROUTE_ORDER);
    cr_assert(gw_route_allows(GW_ROUTE_FOLLOW_UP, "POST"));
    cr_assert_not(gw_route_allows(GW_ROUTE_FOLLOW_UP, "GET"));
    char target[OL_ORDER_ID_MAX + 1], err[256];
    ol_order_type type;
    cr_assert(gw_follow_up_parse("a/b/cancel", target, &type, err, sizeof err));
    cr_assert_str_eq(target, "a/b");
    cr_assert_eq(type, OL_TYPE_CANCEL);
    cr_assert(gw_follow_up_parse("h-1/confirm", target, &type, err, sizeof err));
    cr_assert_eq(type, OL_TYPE_CONFIRM);
    cr_assert_not(gw_follow_up_parse("\xff/confirm", target, &type, err, sizeof err));
    cr_assert(strstr(err, "UTF-8"), "%s", err);
    char long_id[200];
    memset(long_id, 'x', 129);
    strcpy(long_id + 129, "/cancel");
    cr_assert_not(gw_follow_up_parse(long_id, target, &type, err, sizeof err));
    cr_assert(strstr(err, "129 bytes"), "%s", err);
}

Test(follow_up, ids_repeat_and_fit) {
    char a[OL_ORDER_ID_MAX + 1], b[OL_ORDER_ID_MAX + 1];
    cr_assert(gw_follow_up_id("h-1", OL_TYPE_CONFIRM, a));
    cr_assert_str_eq(a, "h-1#confirm");
    cr_assert(gw_follow_up_id("h-1", OL_TYPE_CANCEL, b));
    cr_assert_str_eq(b, "h-1#cancel");
    char target[OL_ORDER_ID_MAX + 1];
    memset(target, 'y', OL_ORDER_ID_MAX);
    target[OL_ORDER_ID_MAX] = '\0';
    cr_assert(gw_follow_up_id(target, OL_TYPE_CONFIRM, a));
    cr_assert(strncmp(a, "#confirm:", 9) == 0, "%s", a);
    cr_assert_eq(strlen(a), 9 + 64);
    cr_assert(gw_follow_up_id(target, OL_TYPE_CONFIRM, b));
    cr_assert_str_eq(a, b, "the same request, the same id");
    target[0] = 'z';
    cr_assert(gw_follow_up_id(target, OL_TYPE_CONFIRM, b));
    cr_assert_str_neq(a, b, "another target, another id");
    cr_assert_not(gw_follow_up_id("", OL_TYPE_CANCEL, a));
}

Test(follow_up, message_and_status) {
    ol_buf out;
    ol_buf_init(&out);
    cr_assert(gw_follow_up_message(&out, OL_TYPE_CANCEL, "o\"1#cancel", "widget", "o\"1"));
    gw_order_input in;
    cr_assert(gw_order_input_read(out.data, out.len, NULL, &in));
    cr_assert_eq(in.status, 0, "%s", in.error);
    cr_assert_eq(in.order.type, OL_TYPE_CANCEL);
    cr_assert_str_eq(in.order.target, "o\"1");
    cr_assert_str_eq(in.order.item, "widget");
    gw_order_input_free(&in);
    ol_buf_free(&out);
    ol_result r = {.status = OL_STATUS_ACCEPTED};
    cr_assert_eq(gw_follow_up_status_of(&r), 200);
    r.status = OL_STATUS_REJECTED;
    r.reason = OL_REASON_ALREADY_CANCELLED;
    cr_assert_eq(gw_follow_up_status_of(&r), 409);
    r.reason = OL_REASON_INVALID;
    cr_assert_eq(gw_follow_up_status_of(&r), 422);
}

Test(gateway_counters, offsets_per_partition) {
    gw_counters c;
    cr_assert(gw_counters_init(&c, NULL, 0));
    ol_buf b;
    ol_buf_init(&b);
    cr_assert(gw_counters_render_partitions(&c, "orders", &b));
    cr_assert_null(strstr(b.data, "{"), "nothing seen, no series: %s", b.data);
    gw_counters_in_log(&c, 3, 41);
    gw_counters_in_log(&c, 3, 7); /* an older report does not move it back */
    gw_counters_in_log(&c, 0, 0);
    gw_counters_in_log(&c, 5, -1001); /* no offset named */
    gw_counters_in_log(&c, GW_MAX_PARTITIONS, 9);
    gw_counters_answered(&c, 3, 40);
    gw_counters_answered(&c, 3, 12);
    ol_buf_clear(&b);
    cr_assert(gw_counters_render_partitions(&c, "orders", &b));
    cr_assert(strstr(b.data, "orderline_gateway_orders_offset{topic=\"orders\",partition=\"3\"} 42\n"), "%s", b.data);
    cr_assert(strstr(b.data, "orderline_gateway_orders_offset{topic=\"orders\",partition=\"0\"} 1\n"));
    cr_assert(strstr(b.data, "orderline_gateway_answered_offset{topic=\"orders\",partition=\"3\"} 41\n"));
    cr_assert_null(strstr(b.data, "partition=\"5\""));
    cr_assert_null(strstr(b.data, "answered_offset{topic=\"orders\",partition=\"0\"}"));
    cr_assert(strstr(b.data, "# TYPE orderline_gateway_answered_offset gauge\n"));
    ol_buf_free(&b);
    gw_counters_free(&c);
}

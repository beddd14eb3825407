/* Unit tests for ol_cart_result: a cart's answer read back, and told apart
 * from an item's answer. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "ol_cart_result.h"

#define HELD                                                                                                           \
    "{\"order_id\":\"c1\",\"cart_id\":\"c1\",\"type\":\"cart\",\"status\":\"held\",\"reason\":null,\"state\":"         \
    "\"held\",\"hold_expires_at\":\"2026-12-03T23:00:00.000000Z\",\"lines\":[{\"item\":\"apple\",\"quantity\":2,"      \
    "\"status\":\"held\",\"reason\":null},{\"item\":\"pear\",\"quantity\":1,\"status\":\"held\",\"reason\":null}],"    \
    "\"duplicate\":false,\"topic\":\"carts\",\"partition\":3,\"offset\":17,\"processed_at\":"                          \
    "\"2026-12-03T22:50:00.123456Z\"}"
#define ITEM_ANSWER                                                                                                    \
    "{\"order_id\":\"o1\",\"item\":\"apple\",\"type\":\"order\",\"quantity\":1,\"status\":\"accepted\",\"reason\":"    \
    "null,\"remaining\":4,\"duplicate\":false,\"partition\":0,\"offset\":5,\"processed_at\":"                          \
    "\"2026-12-03T22:50:00.000000Z\"}"

static bool parse(const char *v, ol_cart_result *r, char *err, size_t errlen) {
    return ol_cart_result_from_json(v, strlen(v), r, err, errlen);
}

Test(cart_result, held_cart_read_back) {
    ol_cart_result r;
    char err[256] = "";
    cr_assert(ol_cart_result_maybe(HELD, strlen(HELD)));
    cr_assert(parse(HELD, &r, err, sizeof err), "%s", err);
    cr_assert_str_eq(r.order_id, "c1");
    cr_assert_str_eq(r.cart_id, "c1");
    cr_assert_eq(r.type, OL_CART_ANSWER_CART);
    cr_assert_eq(r.status, OL_STATUS_HELD);
    cr_assert_eq(r.reason, OL_REASON_NONE);
    cr_assert(r.has_state);
    cr_assert_eq(r.state, OL_CART_HELD);
    cr_assert_eq(r.hold_expires_at_us, 1796338800000000LL);
    cr_assert_eq(r.n_lines, 2);
    cr_assert_str_eq(r.lines[1].item, "pear");
    cr_assert_eq(r.lines[0].quantity, 2);
    cr_assert_str_eq(r.lines[0].status, "held");
    cr_assert_eq(r.partition, 3);
    cr_assert_eq(r.offset, 17);
    cr_assert_not(r.duplicate);
    ol_result o;
    ol_cart_result_as_result(&r, &o);
    cr_assert_str_eq(o.order_id, "c1");
    cr_assert_eq(o.status, OL_STATUS_HELD);
    cr_assert_not(o.has_order);
    cr_assert_eq(o.offset, 17);
}

Test(cart_result, rejected_lines_and_unknown_cart) {
    ol_cart_result r;
    char err[256] = "";
    const char *rej = "{\"order_id\":\"c2\",\"cart_id\":\"c2\",\"type\":\"cart\",\"status\":\"rejected\",\"reason\":"
                      "\"insufficient_stock\",\"state\":\"rejected\",\"hold_expires_at\":null,\"lines\":[{\"item\":"
                      "\"apple\",\"quantity\":1,\"status\":\"released\",\"reason\":null},{\"item\":\"pear\","
                      "\"quantity\":5,\"status\":\"rejected\",\"reason\":\"insufficient_stock\"}],\"duplicate\":true,"
                      "\"topic\":\"carts\",\"partition\":0,\"offset\":1,\"processed_at\":\"2026-12-03T22:50:00Z\"}";
    cr_assert(parse(rej, &r, err, sizeof err), "%s", err);
    cr_assert_eq(r.status, OL_STATUS_REJECTED);
    cr_assert_eq(r.reason, OL_REASON_INSUFFICIENT_STOCK);
    cr_assert_eq(r.lines[1].reason, OL_REASON_INSUFFICIENT_STOCK);
    cr_assert_eq(r.hold_expires_at_us, 0);
    cr_assert(r.duplicate);
    /* A confirm of a cart nobody knows: no state, no lines. */
    const char *unknown = "{\"order_id\":\"zz#confirm\",\"cart_id\":\"zz#confirm\",\"type\":\"cart_confirm\","
                          "\"status\":\"rejected\",\"reason\":\"not_held\",\"state\":null,\"hold_expires_at\":null,"
                          "\"lines\":[],\"duplicate\":false,\"topic\":\"carts\",\"partition\":1,\"offset\":2,"
                          "\"processed_at\":\"2026-12-03T22:50:00Z\"}";
    cr_assert(parse(unknown, &r, err, sizeof err), "%s", err);
    cr_assert_eq(r.type, OL_CART_ANSWER_CONFIRM);
    cr_assert_not(r.has_state);
    cr_assert_eq(r.n_lines, 0);
    cr_assert_eq(r.reason, OL_REASON_NOT_HELD);
}

Test(cart_result, item_answers_are_not_cart_answers) {
    ol_cart_result r;
    char err[256] = "";
    cr_assert_not(ol_cart_result_maybe(ITEM_ANSWER, strlen(ITEM_ANSWER)));
    cr_assert_not(parse(ITEM_ANSWER, &r, err, sizeof err));
    cr_assert(strstr(err, "topic"), "%s", err);
    /* And an item answer's parser refuses a cart's (no item). */
    ol_result o;
    cr_assert_not(ol_result_from_json(HELD, strlen(HELD), &o, err, sizeof err));
}

Test(cart_result, malformed_answers_name_the_field) {
    ol_cart_result r;
    char err[256] = "";
    cr_assert_not(parse("[]", &r, err, sizeof err));
    cr_assert_not(parse("{\"topic\":\"carts\",\"order_id\":\"c\",\"cart_id\":\"c\",\"type\":\"cart\",\"status\":"
                        "\"maybe\"}",
                        &r, err, sizeof err));
    cr_assert(strstr(err, "status"), "%s", err);
    char bad_line[2048];
    snprintf(bad_line, sizeof bad_line, "%s", HELD);
    char *q = strstr(bad_line, "\"quantity\":1");
    cr_assert(q);
    memcpy(q, "\"quantity\":0", 12);
    cr_assert_not(parse(bad_line, &r, err, sizeof err));
    cr_assert(strstr(err, "lines[1].quantity"), "%s", err);
    cr_assert_str_eq(ol_cart_answer_type_name(OL_CART_ANSWER_CANCEL), "cart_cancel");
}

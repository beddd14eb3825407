/* Unit tests for producer/input: orders, carts and cart follow-ups told
 * apart, each validated by its own rules. */
#include <criterion/criterion.h>
#include <string.h>

#include "input.h"

static bool line_read(const char *line, producer_line *out, char *why, size_t whylen) {
    return producer_line_read(line, strlen(line), out, why, whylen);
}

Test(producer_input, orders_carts_and_follow_ups) {
    producer_line l;
    char why[256] = "";
    cr_assert(line_read("{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":1}", &l, why, sizeof why), "%s", why);
    cr_assert_eq(l.kind, PRODUCER_LINE_ORDER);
    cr_assert_str_eq(l.key, "apple");
    cr_assert_str_eq(l.order_id, "o1");
    cr_assert(line_read("{\"cart_id\":\"c1\",\"lines\":[{\"item\":\"a\",\"quantity\":1}],\"hold_s\":60}", &l, why,
                        sizeof why),
              "%s", why);
    cr_assert_eq(l.kind, PRODUCER_LINE_CART);
    cr_assert_str_eq(l.key, "c1");
    cr_assert_str_eq(l.order_id, "c1");
    cr_assert(
        line_read("{\"type\":\"cart_cancel\",\"order_id\":\"c1#cancel\",\"cart_id\":\"c1\"}", &l, why, sizeof why),
        "%s", why);
    cr_assert_eq(l.kind, PRODUCER_LINE_CART_FOLLOW_UP);
    cr_assert_str_eq(l.key, "c1");
    cr_assert_str_eq(l.order_id, "c1#cancel");
}

Test(producer_input, invalid_lines_name_the_field) {
    producer_line l;
    char why[256] = "";
    cr_assert_not(line_read("{\"cart_id\":\"c1\",\"lines\":[{\"item\":\"a\",\"quantity\":0}]}", &l, why, sizeof why));
    cr_assert_eq(l.kind, PRODUCER_LINE_CART);
    cr_assert(strstr(why, "lines[0].quantity"), "%s", why);
    cr_assert_str_eq(l.order_id, "c1");
    cr_assert_not(line_read("{\"lines\":[]}", &l, why, sizeof why));
    cr_assert_str_eq(l.field, "cart_id", "%s", why);
    cr_assert_not(line_read("{\"type\":\"cart_confirm\",\"order_id\":\"x\"}", &l, why, sizeof why));
    cr_assert_eq(l.kind, PRODUCER_LINE_CART_FOLLOW_UP);
    cr_assert_str_eq(l.field, "cart_id");
    cr_assert_not(line_read("{\"order_id\":\"o\",\"item\":\"a\",\"quantity\":0}", &l, why, sizeof why));
    cr_assert_eq(l.kind, PRODUCER_LINE_ORDER);
    cr_assert_str_eq(l.field, "quantity");
    cr_assert_not(line_read("nonsense", &l, why, sizeof why));
    cr_assert_eq(l.kind, PRODUCER_LINE_ORDER);
}

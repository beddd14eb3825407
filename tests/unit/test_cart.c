/* Unit tests for ol_cart: the cart message, its merging and its errors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ol_cart.h"
#include "ol_str.h"

static bool parse(const char *v, ol_cart *c, char *err, size_t errlen, const char **field) {
    return ol_cart_parse(v, strlen(v), NULL, 0, c, err, errlen, field);
}

Test(cart, lines_merged_in_first_order) {
    ol_cart c;
    char err[OL_ERROR_MAX] = "";
    const char *field;
    cr_assert(parse("{\"cart_id\":\"k1\",\"lines\":[{\"item\":\"b\",\"quantity\":2},{\"item\":\"a\",\"quantity\":1},"
                    "{\"item\":\"b\",\"quantity\":3.0}],\"hold_s\":600}",
                    &c, err, sizeof err, &field),
              "%s", err);
    cr_assert_str_eq(c.cart_id, "k1");
    cr_assert_eq(c.hold_s, 600);
    cr_assert_eq(c.n_lines, 2);
    cr_assert_str_eq(c.lines[0].item, "b");
    cr_assert_eq(c.lines[0].quantity, 5);
    cr_assert_str_eq(c.lines[1].item, "a");
    cr_assert_eq(c.lines[1].quantity, 1);
    cr_assert(ol_cart_parse("{\"cart_id\":\"k1\",\"lines\":[{\"item\":\"a\",\"quantity\":1}]}", 52, "k1", 2, &c, err,
                            sizeof err, &field),
              "%s", err);
    cr_assert_eq(c.hold_s, 0);
}

Test(cart, hundred_lines_and_no_more) {
    ol_buf b;
    ol_buf_init(&b);
    for (int n = 100; n <= 101; n++) {
        ol_buf_clear(&b);
        cr_assert(ol_buf_appends(&b, "{\"cart_id\":\"big\",\"lines\":["));
        for (int i = 0; i < n; i++)
            cr_assert(ol_buf_appendf(&b, "%s{\"item\":\"i%d\",\"quantity\":1}", i ? "," : "", i));
        cr_assert(ol_buf_appends(&b, "]}"));
        ol_cart c;
        char err[OL_ERROR_MAX] = "";
        const char *field;
        bool ok = ol_cart_parse(b.data, b.len, NULL, 0, &c, err, sizeof err, &field);
        cr_assert_eq(ok, n == 100, "%d lines: %s", n, err);
        if (ok) cr_assert_eq(c.n_lines, 100);
        else cr_assert_str_eq(field, "lines");
    }
    ol_buf_free(&b);
}

Test(cart, errors_name_line_and_field) {
    static const struct {
        const char *value, *field, *err_has, *cart_id;
    } cases[] = {
        {"[]", NULL, "JSON object", ""},
        {"{\"lines\":[{\"item\":\"a\",\"quantity\":1}]}", "cart_id", "missing required field 'cart_id'", ""},
        {"{\"cart_id\":7,\"lines\":[]}", "cart_id", "must be a string", ""},
        {"{\"cart_id\":\"k\"}", "lines", "array of 1 to 100", "k"},
        {"{\"cart_id\":\"k\",\"lines\":[]}", "lines", "array of 1 to 100", "k"},
        {"{\"cart_id\":\"k\",\"lines\":[{\"item\":\"a\",\"quantity\":1},{\"item\":\"\",\"quantity\":1}]}", "lines",
         "lines[1].item", "k"},
        {"{\"cart_id\":\"k\",\"lines\":[{\"item\":\"a\",\"quantity\":0}]}", "lines", "lines[0].quantity", "k"},
        {"{\"cart_id\":\"k\",\"lines\":[{\"item\":\"a\",\"quantity\":1.5}]}", "lines", "lines[0].quantity", "k"},
        {"{\"cart_id\":\"k\",\"lines\":[7]}", "lines", "lines[0] must be an object", "k"},
        {"{\"cart_id\":\"k\",\"lines\":[{\"item\":\"a\",\"quantity\":600000},{\"item\":\"a\",\"quantity\":600000}]}",
         "lines", "merged with an earlier line", "k"},
        {"{\"cart_id\":\"k\",\"lines\":[{\"item\":\"a\",\"quantity\":1}],\"hold_s\":0}", "hold_s", "1 to 86400", "k"},
        {"{\"cart_id\":\"k\",\"lines\":[{\"item\":\"a\",\"quantity\":1}],\"hold_s\":\"5\"}", "hold_s", "integer", "k"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ol_cart c;
        char err[OL_ERROR_MAX] = "";
        const char *field = "unset";
        cr_expect_not(parse(cases[i].value, &c, err, sizeof err, &field), "accepted %s", cases[i].value);
        if (cases[i].field)
            cr_expect(field && strcmp(field, cases[i].field) == 0, "%s: field %s", cases[i].value, field);
        else cr_expect_null(field, "%s: field %s", cases[i].value, field);
        cr_expect(strstr(err, cases[i].err_has), "%s: '%s' lacks '%s'", cases[i].value, err, cases[i].err_has);
        cr_expect_str_eq(c.cart_id, cases[i].cart_id, "%s", cases[i].value);
    }
}

Test(cart, key_must_match) {
    ol_cart c;
    char err[OL_ERROR_MAX] = "";
    const char *field;
    const char *v = "{\"cart_id\":\"k1\",\"lines\":[{\"item\":\"a\",\"quantity\":1}]}";
    cr_assert_not(ol_cart_parse(v, strlen(v), "k2", 2, &c, err, sizeof err, &field));
    cr_assert_str_eq(field, "key");
    cr_assert_str_eq(c.cart_id, "k1", "still answerable");
}

Test(cart, cart_id_limit_and_line_ids) {
    char id[OL_CART_ID_MAX + 2];
    memset(id, 'k', sizeof id);
    id[OL_CART_ID_MAX] = '\0';
    char line_id[OL_ORDER_ID_MAX + 1];
    cr_assert(ol_cart_line_order_id(id, 99, "restore", line_id, sizeof line_id), "the longest step id fits");
    cr_assert(ol_cart_line_order_id("k1", 0, "hold", line_id, sizeof line_id));
    cr_assert_str_eq(line_id, "k1#0#hold");
    cr_assert_not(ol_cart_line_order_id("k1", 0, "hold", line_id, 5));
    char v[256];
    snprintf(v, sizeof v, "{\"cart_id\":\"%s\",\"lines\":[{\"item\":\"a\",\"quantity\":1}]}", id);
    ol_cart c;
    char err[OL_ERROR_MAX];
    const char *field;
    cr_assert(parse(v, &c, err, sizeof err, &field), "%s", err);
    id[OL_CART_ID_MAX] = 'k';
    id[OL_CART_ID_MAX + 1] = '\0';
    snprintf(v, sizeof v, "{\"cart_id\":\"%s\",\"lines\":[{\"item\":\"a\",\"quantity\":1}]}", id);
    cr_assert_not(parse(v, &c, err, sizeof err, &field));
    cr_assert_str_eq(field, "cart_id");
}

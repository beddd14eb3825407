/* Unit tests for audit/divergence: a finding's text line and JSON object,
 * and the descriptions findings quote. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>

#include "divergence.h"

Test(divergence, text_and_json) {
    divergence d = {DIV_RESULT_MISSING, "o\x1b[1m", "apple", 3, 42, "o: accepted", "", "no answer\n"};
    ol_buf buf;
    ol_buf_init(&buf);
    cr_assert(divergence_format(&d, &buf));
    cr_assert_str_eq(buf.data,
                     "result_missing order=o?[1m item=apple partition=3 offset=42: no answer? (expected: o: accepted;"
                     " found: -)\n");
    ol_buf_free(&buf);
    char *json = divergence_to_json(&d);
    cr_assert_not_null(json);
    json_error_t e;
    json_t *root = json_loads(json, 0, &e);
    cr_assert_not_null(root, "%s", e.text);
    cr_assert_str_eq(json_string_value(json_object_get(root, "kind")), "result_missing");
    cr_assert_str_eq(json_string_value(json_object_get(root, "order_id")), "o\x1b[1m", "JSON keeps data exact");
    cr_assert_eq(json_integer_value(json_object_get(root, "offset")), 42);
    cr_assert(json_is_null(json_object_get(root, "found")));
    json_decref(root);
    free(json);

    divergence s = {DIV_STOCK_DRIFT, NULL, "pear", -1, -1, "5", "12", "cut mid character \xC3"};
    json = divergence_to_json(&s);
    cr_assert_not_null(json, "invalid UTF-8 in a detail must not lose the report");
    root = json_loads(json, 0, &e);
    cr_assert_not_null(root);
    cr_assert(json_is_null(json_object_get(root, "order_id")));
    cr_assert(json_is_null(json_object_get(root, "partition")));
    cr_assert_str_eq(json_string_value(json_object_get(root, "detail")), "cut mid character ?");
    json_decref(root);
    free(json);
    cr_assert_str_eq(divergence_kind_name(DIV_STOCK_DRIFT), "stock_drift");
    cr_assert_str_eq(divergence_kind_name(DIV_HOLD_NOT_RELEASED), "hold_not_released");
    cr_assert_str_eq(divergence_kind_name(DIV_KIND_COUNT), "unknown");
}

Test(divergence, descriptions) {
    ol_result r = {.order_id = "o-1",
                   .has_order = true,
                   .item = "widget",
                   .type = OL_TYPE_ORDER,
                   .quantity = 3,
                   .status = OL_STATUS_ACCEPTED,
                   .has_remaining = true,
                   .remaining = 2};
    char text[320];
    divergence_describe_decision(text, sizeof text, &r);
    cr_assert_str_eq(text, "order of 3 widget: accepted, remaining 2");
    divergence_describe_answer(text, sizeof text, "o-1", OL_STATUS_REJECTED, OL_REASON_INSUFFICIENT_STOCK, true, 2,
                               true);
    cr_assert_str_eq(text, "o-1: rejected insufficient_stock, remaining 2, duplicate");
    divergence_describe_answer(text, sizeof text, "", OL_STATUS_REJECTED, OL_REASON_INVALID, false, 0, false);
    cr_assert_str_eq(text, "(no order_id): rejected invalid");
}

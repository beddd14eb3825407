/* Unit tests for results/view: the filters, the table and the summary of
 * order-results. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "view.h"

#define SEC 1000000LL

Test(format, explicit_and_automatic) {
    ol_output_format f;
    char err[128];
    cr_assert(ol_output_format_parse(NULL, true, &f, err, sizeof err));
    cr_assert_eq(f, OL_FORMAT_TABLE);
    cr_assert(ol_output_format_parse(NULL, false, &f, err, sizeof err));
    cr_assert_eq(f, OL_FORMAT_JSON);
    cr_assert(ol_output_format_parse("json", true, &f, err, sizeof err));
    cr_assert_eq(f, OL_FORMAT_JSON);
    cr_assert(ol_output_format_parse("table", false, &f, err, sizeof err));
    cr_assert_eq(f, OL_FORMAT_TABLE);
    cr_assert_not(ol_output_format_parse("csv", false, &f, err, sizeof err));
    cr_assert(strstr(err, "csv"));
}

static ol_result result(const char *order_id, const char *item, ol_status status, ol_reason reason, int32_t partition,
                        int64_t offset) {
    ol_result r;
    memset(&r, 0, sizeof r);
    strcpy(r.order_id, order_id);
    if (item) {
        r.has_order = true;
        strcpy(r.item, item);
        r.quantity = 2;
        r.has_remaining = reason != OL_REASON_UNKNOWN_ITEM;
        r.remaining = 5;
    }
    r.status = status;
    r.reason = reason;
    r.partition = partition;
    r.offset = offset;
    r.processed_at_us = 1795626000LL * SEC + offset;
    return r;
}

Test(filter, unset_matches_everything) {
    ol_results_filter f;
    char err[128];
    cr_assert(ol_results_filter_init(&f, NULL, NULL, NULL, NULL, err, sizeof err));
    ol_result r = result("o", "a", OL_STATUS_ACCEPTED, OL_REASON_NONE, 0, 0);
    cr_assert(ol_results_filter_match(&f, &r));
    ol_result bad = result("x", NULL, OL_STATUS_REJECTED, OL_REASON_INVALID, 0, 1);
    cr_assert(ol_results_filter_match(&f, &bad));
}

Test(filter, each_criterion) {
    ol_results_filter f;
    char err[128];
    ol_result acc = result("o1", "apple", OL_STATUS_ACCEPTED, OL_REASON_NONE, 0, 0);
    ol_result low = result("o2", "apple", OL_STATUS_REJECTED, OL_REASON_INSUFFICIENT_STOCK, 0, 1);
    ol_result other = result("o3", "pear", OL_STATUS_REJECTED, OL_REASON_UNKNOWN_ITEM, 0, 2);
    ol_result junk = result("o4", NULL, OL_STATUS_REJECTED, OL_REASON_INVALID, 0, 3);

    cr_assert(ol_results_filter_init(&f, "apple", NULL, NULL, NULL, err, sizeof err));
    cr_assert(ol_results_filter_match(&f, &acc) && ol_results_filter_match(&f, &low));
    cr_assert_not(ol_results_filter_match(&f, &other));
    cr_assert_not(ol_results_filter_match(&f, &junk), "a result without item never matches --item");

    cr_assert(ol_results_filter_init(&f, NULL, "rejected", NULL, NULL, err, sizeof err));
    cr_assert_not(ol_results_filter_match(&f, &acc));
    cr_assert(ol_results_filter_match(&f, &low) && ol_results_filter_match(&f, &junk));

    cr_assert(ol_results_filter_init(&f, NULL, NULL, "unknown_item", NULL, err, sizeof err));
    cr_assert(ol_results_filter_match(&f, &other));
    cr_assert_not(ol_results_filter_match(&f, &low));

    cr_assert(ol_results_filter_init(&f, NULL, NULL, "none", NULL, err, sizeof err));
    cr_assert(ol_results_filter_match(&f, &acc));
    cr_assert_not(ol_results_filter_match(&f, &low));

    cr_assert(ol_results_filter_init(&f, NULL, NULL, NULL, "o2", err, sizeof err));
    cr_assert(ol_results_filter_match(&f, &low));
    cr_assert_not(ol_results_filter_match(&f, &acc));

    /* Criteria combine with AND. */
    cr_assert(ol_results_filter_init(&f, "apple", "rejected", "insufficient_stock", NULL, err, sizeof err));
    cr_assert(ol_results_filter_match(&f, &low));
    cr_assert_not(ol_results_filter_match(&f, &acc));
}

Test(filter, rejects_unknown_values) {
    ol_results_filter f;
    char err[128];
    cr_assert_not(ol_results_filter_init(&f, NULL, "maybe", NULL, NULL, err, sizeof err));
    cr_assert(strstr(err, "maybe"));
    cr_assert_not(ol_results_filter_init(&f, NULL, NULL, "bad_luck", NULL, err, sizeof err));
    cr_assert(strstr(err, "bad_luck"));
}

/* Splits a table line into its display columns by the header's layout. */
static size_t display_width(const char *s, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) n++;
    return n;
}

Test(table, rows_align_with_the_header) {
    ol_buf buf;
    ol_buf_init(&buf);
    cr_assert(ol_results_table_header(&buf));
    ol_result a = result("o-1", "widget", OL_STATUS_ACCEPTED, OL_REASON_NONE, 3, 12345);
    ol_result b = result("an-order-id-much-longer-than-its-column", "gadget-with-a-long-name", OL_STATUS_REJECTED,
                         OL_REASON_INSUFFICIENT_STOCK, 0, 7);
    b.duplicate = true;
    cr_assert(ol_results_table_row(&buf, &a));
    cr_assert(ol_results_table_row(&buf, &b));
    /* Every line puts STATUS at the same display column. */
    const char *header = buf.data;
    const char *status_col = strstr(header, "STATUS");
    cr_assert_not_null(status_col);
    size_t want = display_width(header, (size_t)(status_col - header));
    const char *line = strchr(header, '\n') + 1;
    const char *l2 = strchr(line, '\n') + 1;
    const char *at = strstr(line, "accepted");
    cr_assert_eq(display_width(line, (size_t)(at - line)), want);
    at = strstr(l2, "rejected");
    cr_assert_eq(display_width(l2, (size_t)(at - l2)), want);
    cr_assert(strstr(l2, "\xE2\x80\xA6"), "long values are cut with an ellipsis");
    cr_assert(strstr(l2, "yes"));
    cr_assert(strstr(line, "3/12345"));
    cr_assert(strstr(line, "2026-11-25T17:00:00.012Z"), "milliseconds shown: %s", line);
    const char *end = strchr(line, '\n');
    cr_assert_neq(end[-1], ' ', "no trailing blanks when the last columns are empty");
    ol_buf_free(&buf);
}

Test(table, control_characters_never_reach_the_terminal) {
    ol_buf buf;
    ol_buf_init(&buf);
    ol_result r = result("x\x1b[2Jy", "it\tem", OL_STATUS_REJECTED, OL_REASON_INVALID, 0, 0);
    strcpy(r.error, "bad\nline \xC2\x9B"
                    "31m");
    cr_assert(ol_results_table_row(&buf, &r));
    cr_assert_null(strchr(buf.data, '\x1b'));
    cr_assert_null(strchr(buf.data, '\t'));
    cr_assert_null(strstr(buf.data, "\xC2\x9B"), "C1 CSI must not pass");
    cr_assert_eq(strchr(buf.data, '\n'), buf.data + buf.len - 1, "one line per result");
    cr_assert(strstr(buf.data, "x?[2Jy"));
    ol_buf_free(&buf);
}

Test(table, invalid_without_item_shows_dashes) {
    ol_buf buf;
    ol_buf_init(&buf);
    ol_result r = result("j-1", NULL, OL_STATUS_REJECTED, OL_REASON_INVALID, 1, 2);
    strcpy(r.error, "field 'quantity' must be an integer from 1 to 1000000, got 0");
    cr_assert(ol_results_table_row(&buf, &r));
    cr_assert(strstr(buf.data, "invalid"));
    cr_assert(strstr(buf.data, "got 0\n"), "error text is the last column, whole: %s", buf.data);
    ol_buf_free(&buf);
}

Test(summary, counts_decisions_duplicates_and_reasons) {
    ol_results_summary *s = ol_results_summary_new();
    cr_assert_not_null(s);
    ol_result rs[] = {
        result("1", "apple", OL_STATUS_ACCEPTED, OL_REASON_NONE, 0, 0),
        result("2", "apple", OL_STATUS_ACCEPTED, OL_REASON_NONE, 0, 1),
        result("3", "apple", OL_STATUS_REJECTED, OL_REASON_INSUFFICIENT_STOCK, 0, 2),
        result("4", "pear", OL_STATUS_REJECTED, OL_REASON_UNKNOWN_ITEM, 1, 0),
        result("5", NULL, OL_STATUS_REJECTED, OL_REASON_INVALID, 1, 1),
        result("1", "apple", OL_STATUS_ACCEPTED, OL_REASON_NONE, 0, 3),
    };
    rs[5].duplicate = true;
    for (size_t i = 0; i < sizeof rs / sizeof rs[0]; i++) cr_assert(ol_results_summary_add(s, &rs[i]));
    ol_results_counts t = ol_results_summary_total(s);
    cr_assert_eq(t.accepted, 2);
    cr_assert_eq(t.rejected, 3);
    cr_assert_eq(t.insufficient_stock, 1);
    cr_assert_eq(t.unknown_item, 1);
    cr_assert_eq(t.invalid, 1);
    cr_assert_eq(t.duplicates, 1, "a duplicate answer is not a second acceptance");
    double rate;
    cr_assert(ol_results_acceptance_rate(&t, &rate));
    cr_assert_float_eq(rate, 0.4, 1e-9);

    ol_results_counts c;
    cr_assert(ol_results_summary_item(s, "apple", &c));
    cr_assert_eq(c.accepted, 2);
    cr_assert_eq(c.insufficient_stock, 1);
    cr_assert_eq(c.duplicates, 1);
    cr_assert(ol_results_summary_item(s, NULL, &c));
    cr_assert_eq(c.invalid, 1);
    cr_assert_not(ol_results_summary_item(s, "kiwi", &c));
    cr_assert_eq(ol_results_summary_counted(s), 6);
    ol_results_summary_destroy(s);
}

Test(summary, republished_answers_count_once) {
    ol_results_summary *s = ol_results_summary_new();
    ol_result r = result("1", "apple", OL_STATUS_ACCEPTED, OL_REASON_NONE, 2, 40);
    cr_assert(ol_results_summary_add(s, &r));
    r.processed_at_us += 5; /* the same answer, published again after a crash */
    cr_assert(ol_results_summary_add(s, &r));
    ol_result other = result("2", "apple", OL_STATUS_ACCEPTED, OL_REASON_NONE, 3, 40);
    cr_assert(ol_results_summary_add(s, &other), "same offset, other partition: distinct");
    cr_assert_eq(ol_results_summary_total(s).accepted, 2);
    cr_assert_eq(ol_results_summary_repeats(s), 1);
    ol_results_summary_destroy(s);
}

Test(summary, many_positions) {
    ol_results_summary *s = ol_results_summary_new();
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 20000; i++) {
            ol_result r = result("x", "bulk", OL_STATUS_ACCEPTED, OL_REASON_NONE, i % 7, i);
            cr_assert(ol_results_summary_add(s, &r));
        }
    cr_assert_eq(ol_results_summary_total(s).accepted, 20000);
    cr_assert_eq(ol_results_summary_repeats(s), 20000);
    ol_results_summary_destroy(s);
}

Test(summary, empty_has_no_rate) {
    ol_results_summary *s = ol_results_summary_new();
    ol_results_counts t = ol_results_summary_total(s);
    double rate;
    cr_assert_not(ol_results_acceptance_rate(&t, &rate));
    char *json = ol_results_summary_json(s);
    cr_assert_not_null(json);
    json_error_t e;
    json_t *root = json_loads(json, 0, &e);
    cr_assert_not_null(root, "%s", e.text);
    cr_assert(json_is_null(json_object_get(json_object_get(root, "total"), "acceptance_rate")));
    cr_assert(json_is_null(json_object_get(root, "first_processed_at")));
    cr_assert_eq(json_array_size(json_object_get(root, "items")), 0);
    json_decref(root);
    free(json);
    ol_buf buf;
    ol_buf_init(&buf);
    cr_assert(ol_results_summary_table(s, &buf));
    cr_assert(strstr(buf.data, "TOTAL"));
    ol_buf_free(&buf);
    ol_results_summary_destroy(s);
}

Test(summary, json_and_table_agree) {
    ol_results_summary *s = ol_results_summary_new();
    ol_result a = result("1", "b-item", OL_STATUS_ACCEPTED, OL_REASON_NONE, 0, 0);
    ol_result b = result("2", "a-item", OL_STATUS_REJECTED, OL_REASON_INSUFFICIENT_STOCK, 0, 1);
    ol_result c = result("3", NULL, OL_STATUS_REJECTED, OL_REASON_INVALID, 0, 2);
    cr_assert(ol_results_summary_add(s, &a) && ol_results_summary_add(s, &b) && ol_results_summary_add(s, &c));
    ol_results_summary_add_undecodable(s);

    char *json = ol_results_summary_json(s);
    json_error_t e;
    json_t *root = json_loads(json, 0, &e);
    cr_assert_not_null(root, "%s", e.text);
    cr_assert_eq(json_integer_value(json_object_get(root, "results")), 3);
    cr_assert_eq(json_integer_value(json_object_get(root, "undecodable")), 1);
    json_t *total = json_object_get(root, "total");
    cr_assert_eq(json_integer_value(json_object_get(total, "accepted")), 1);
    cr_assert_eq(json_integer_value(json_object_get(total, "rejected")), 2);
    cr_assert_float_eq(json_real_value(json_object_get(total, "acceptance_rate")), 1.0 / 3, 1e-9);
    json_t *items = json_object_get(root, "items");
    cr_assert_eq(json_array_size(items), 3);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 0), "item")), "a-item");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 1), "item")), "b-item");
    cr_assert(json_is_null(json_object_get(json_array_get(items, 2), "item")), "no item sorts last");
    json_decref(root);
    free(json);

    ol_buf buf;
    ol_buf_init(&buf);
    cr_assert(ol_results_summary_table(s, &buf));
    const char *ai = strstr(buf.data, "a-item"), *bi = strstr(buf.data, "b-item");
    const char *none = strstr(buf.data, "(no item)"), *tot = strstr(buf.data, "TOTAL");
    cr_assert(ai && bi && none && tot && ai < bi && bi < none && none < tot, "%s", buf.data);
    cr_assert(strstr(tot, "33.3%"), "%s", tot);
    cr_assert(strstr(buf.data, "1 undecodable"));
    ol_buf_free(&buf);
    ol_results_summary_destroy(s);
}

Test(summary, counts_holds_apart_and_follow_up_refusals_as_rejected) {
    ol_results_summary *s = ol_results_summary_new();
    cr_assert_not_null(s);
    ol_result rs[] = {
        result("h1", "apple", OL_STATUS_HELD, OL_REASON_NONE, 0, 0),
        result("c1", "apple", OL_STATUS_ACCEPTED, OL_REASON_NONE, 0, 1),
        result("c2", "apple", OL_STATUS_REJECTED, OL_REASON_ALREADY_CONFIRMED, 0, 2),
    };
    for (size_t i = 0; i < sizeof rs / sizeof rs[0]; i++) cr_assert(ol_results_summary_add(s, &rs[i]));
    ol_results_counts t = ol_results_summary_total(s);
    cr_assert_eq(t.held, 1, "a hold is neither accepted nor rejected");
    cr_assert_eq(t.accepted, 1);
    cr_assert_eq(t.rejected, 1);
    cr_assert_eq(t.insufficient_stock + t.unknown_item + t.invalid, 0);
    double rate;
    cr_assert(ol_results_acceptance_rate(&t, &rate));
    cr_assert_float_eq(rate, 1.0 / 3, 1e-9);
    ol_buf out = {0};
    cr_assert(ol_results_summary_table(s, &out));
    cr_assert(strstr(out.data, "HELD"), "%s", out.data);
    ol_buf_free(&out);
    ol_results_filter f;
    char err[256];
    cr_assert(ol_results_filter_init(&f, NULL, "held", "already_confirmed", NULL, err, sizeof err), "%s", err);
    ol_results_summary_destroy(s);
}

Test(table, a_follow_up_names_its_target_and_a_hold_its_deadline) {
    ol_result f = result("h1#cancel", "apple", OL_STATUS_REJECTED, OL_REASON_ALREADY_CANCELLED, 0, 4);
    f.type = OL_TYPE_CANCEL;
    strcpy(f.target, "h1");
    ol_result h = result("h1", "apple", OL_STATUS_HELD, OL_REASON_NONE, 0, 3);
    h.hold_expires_at_us = 1796300000000000; /* 2026-12-03T... */
    ol_buf buf = {0};
    cr_assert(ol_results_table_header(&buf));
    cr_assert(strstr(buf.data, "DETAIL"), "%s", buf.data);
    cr_assert(ol_results_table_row(&buf, &f));
    cr_assert(ol_results_table_row(&buf, &h));
    cr_assert(strstr(buf.data, "already_cancelled"), "%s", buf.data);
    cr_assert(strstr(buf.data, "target h1\n"), "%s", buf.data);
    cr_assert(strstr(buf.data, "held until 2026-"), "%s", buf.data);
    ol_buf_free(&buf);
}

/* ---- cart answers ---------------------------------------------------------- */

static ol_cart_result cart_answer(const char *id, ol_status status, int32_t partition, int64_t offset, bool dup) {
    ol_cart_result c;
    memset(&c, 0, sizeof c);
    strcpy(c.order_id, id);
    strcpy(c.cart_id, id);
    c.type = OL_CART_ANSWER_CART;
    c.status = status;
    c.reason = status == OL_STATUS_REJECTED ? OL_REASON_INSUFFICIENT_STOCK : OL_REASON_NONE;
    c.has_state = true;
    c.state = status == OL_STATUS_REJECTED ? OL_CART_REJECTED
              : status == OL_STATUS_HELD   ? OL_CART_HELD
                                           : OL_CART_ACCEPTED;
    c.n_lines = 2;
    strcpy(c.lines[0].item, "apple");
    c.lines[0].quantity = 2;
    strcpy(c.lines[0].status, status == OL_STATUS_REJECTED ? "released" : "accepted");
    strcpy(c.lines[1].item, "pear");
    c.lines[1].quantity = 1;
    strcpy(c.lines[1].status, status == OL_STATUS_REJECTED ? "rejected" : "accepted");
    c.lines[1].reason = c.reason;
    c.partition = partition;
    c.offset = offset;
    c.duplicate = dup;
    c.processed_at_us = 1796338800000000LL;
    return c;
}

Test(view, cart_row_shows_state_and_lines) {
    ol_cart_result c = cart_answer("cart-9", OL_STATUS_REJECTED, 1, 4, false);
    ol_buf out;
    ol_buf_init(&out);
    cr_assert(ol_results_cart_row(&out, &c));
    cr_assert(strstr(out.data, "cart-9"), "%s", out.data);
    cr_assert(strstr(out.data, "rejected"), "%s", out.data);
    cr_assert(strstr(out.data, "state rejected: apple x2 released, pear x1 rejected insufficient_stock"), "%s",
              out.data);
    ol_buf_free(&out);
    ol_results_filter f;
    char err[256];
    cr_assert(ol_results_filter_init(&f, "pear", NULL, NULL, NULL, err, sizeof err));
    cr_assert(ol_results_filter_match_cart(&f, &c));
    cr_assert(ol_results_filter_init(&f, "plum", NULL, NULL, NULL, err, sizeof err));
    cr_assert_not(ol_results_filter_match_cart(&f, &c));
    cr_assert(ol_results_filter_init(&f, NULL, "accepted", NULL, NULL, err, sizeof err));
    cr_assert_not(ol_results_filter_match_cart(&f, &c));
}

Test(view, summary_counts_carts_apart) {
    ol_results_summary *s = ol_results_summary_new();
    cr_assert(s);
    ol_cart_result a = cart_answer("c1", OL_STATUS_ACCEPTED, 0, 0, false);
    ol_cart_result b = cart_answer("c2", OL_STATUS_REJECTED, 0, 3, false);
    ol_cart_result d = cart_answer("c1", OL_STATUS_ACCEPTED, 0, 5, true);
    cr_assert(ol_results_summary_add_cart(s, &a));
    cr_assert(ol_results_summary_add_cart(s, &b));
    cr_assert(ol_results_summary_add_cart(s, &b)); /* republished after a crash: once */
    cr_assert(ol_results_summary_add_cart(s, &d));
    /* An item answer at the same (partition, offset) on another topic counts too. */
    ol_result r;
    memset(&r, 0, sizeof r);
    strcpy(r.order_id, "o1");
    r.has_order = true;
    strcpy(r.item, "apple");
    r.partition = 0;
    r.offset = 0;
    cr_assert(ol_results_summary_add(s, &r));
    uint64_t counted, repeats;
    ol_results_counts c = ol_results_summary_carts(s, &counted, &repeats);
    cr_assert_eq(counted, 3);
    cr_assert_eq(repeats, 1);
    cr_assert_eq(c.accepted, 1);
    cr_assert_eq(c.rejected, 1);
    cr_assert_eq(c.insufficient_stock, 1);
    cr_assert_eq(c.duplicates, 1);
    cr_assert_eq(ol_results_summary_counted(s), 1);
    cr_assert_eq(ol_results_summary_total(s).accepted, 1);
    ol_buf out;
    ol_buf_init(&out);
    cr_assert(ol_results_summary_table(s, &out));
    cr_assert(strstr(out.data, "carts: 3 answers counted (1 repeated answers ignored)"), "%s", out.data);
    cr_assert(strstr(out.data, "CARTS"), "%s", out.data);
    ol_buf_free(&out);
    char *json = ol_results_summary_json(s);
    cr_assert(json && strstr(json, "\"carts\":{\"accepted\":1,\"rejected\":1"), "%s", json);
    free(json);
    ol_results_summary_destroy(s);
}

/* Unit tests for cart_msg: the carts topic's messages, and the items'
 * answers that order-carts forwards. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "cart_engine.h"
#include "cart_msg.h"

static cart_msg m;
static char err[256];

static bool parse(const char *value, const char *key) {
    return cart_msg_parse(value, strlen(value), key, key ? strlen(key) : 0, &m, err, sizeof err);
}

Test(cart_msg, cart_with_merged_lines) {
    cr_assert(parse("{\"cart_id\":\"c1\",\"lines\":[{\"item\":\"a\",\"quantity\":1},{\"item\":\"b\",\"quantity\":2},"
                    "{\"item\":\"a\",\"quantity\":3}],\"hold_s\":60}",
                    "c1"),
              "%s", err);
    cr_assert_eq(m.kind, CART_MSG_CART);
    cr_assert_str_eq(m.order_id, "c1");
    cr_assert_eq(m.cart.n_lines, 2);
    cr_assert_eq(m.cart.lines[0].quantity, 4);
    cr_assert_eq(m.cart.hold_s, 60);
}

Test(cart_msg, invalid_cart_is_answered_by_its_cart_id) {
    cr_assert(parse("{\"cart_id\":\"c1\",\"lines\":[{\"item\":\"a\",\"quantity\":0}]}", "c1"));
    cr_assert_eq(m.kind, CART_MSG_INVALID);
    cr_assert_str_eq(m.order_id, "c1");
    cr_assert(strstr(m.error, "lines[0].quantity"), "%s", m.error);
}

Test(cart_msg, nothing_to_answer) {
    cr_assert_not(parse("not json", NULL));
    cr_assert_not(parse("{\"lines\":[]}", NULL));
    cr_assert_not(parse("{\"type\":\"cart_confirm\",\"cart_id\":\"c1\"}", "c1"), "a confirm needs its order_id");
    cr_assert(strstr(err, "order_id"), "%s", err);
}

Test(cart_msg, follow_ups) {
    cr_assert(parse("{\"type\":\"cart_confirm\",\"order_id\":\"c1#confirm\",\"cart_id\":\"c1\"}", "c1"));
    cr_assert_eq(m.kind, CART_MSG_CONFIRM);
    cr_assert_str_eq(m.order_id, "c1#confirm");
    cr_assert(parse("{\"type\":\"cart_cancel\",\"order_id\":\"x\",\"cart_id\":\"c1\"}", "c1"));
    cr_assert_eq(m.kind, CART_MSG_CANCEL);
    cr_assert(parse("{\"type\":\"cart_expire\",\"order_id\":\"c1#expire\",\"cart_id\":\"c1\"}", NULL));
    cr_assert_eq(m.kind, CART_MSG_EXPIRE);
    cr_assert(parse("{\"type\":\"cart_cancel\",\"order_id\":\"x\",\"cart_id\":\"c1\"}", "c2"));
    cr_assert_eq(m.kind, CART_MSG_INVALID, "the key must be the cart_id");
    cr_assert(parse("{\"type\":\"cart_undo\",\"order_id\":\"x\",\"cart_id\":\"c1\"}", "c1"));
    cr_assert_eq(m.kind, CART_MSG_INVALID);
    cr_assert(strstr(m.error, "type"), "%s", m.error);
}

Test(cart_msg, line_result) {
    cr_assert(parse("{\"type\":\"line_result\",\"cart_id\":\"c#1\",\"line\":2,\"phase\":\"hold\",\"item\":\"a\","
                    "\"status\":\"rejected\",\"reason\":\"insufficient_stock\",\"partition\":3,\"offset\":40}",
                    "c#1"),
              "%s", err);
    cr_assert_eq(m.kind, CART_MSG_LINE_RESULT);
    cr_assert_str_eq(m.answer.cart_id, "c#1");
    cr_assert_eq(m.answer.line, 2);
    cr_assert_eq(m.answer.step, OL_STEP_HOLD);
    cr_assert_eq(m.answer.status, OL_STATUS_REJECTED);
    cr_assert_eq(m.answer.reason, OL_REASON_INSUFFICIENT_STOCK);
    cr_assert_eq(m.answer.offset, 40);
    cr_assert_not(parse("{\"type\":\"line_result\",\"cart_id\":\"c\",\"line\":100,\"phase\":\"hold\",\"item\":\"a\","
                        "\"status\":\"held\",\"reason\":null,\"partition\":0,\"offset\":1}",
                        "c"),
                  "line 100 does not exist");
}

Test(cart_msg, step_ids) {
    char id[128];
    size_t line;
    ol_step step;
    cr_assert(cart_step_id_parse("cart#7#commit", id, sizeof id, &line, &step));
    cr_assert_str_eq(id, "cart");
    cr_assert_eq(line, 7);
    cr_assert_eq(step, OL_STEP_COMMIT);
    cr_assert(cart_step_id_parse("a#b#99#restore", id, sizeof id, &line, &step));
    cr_assert_str_eq(id, "a#b");
    cr_assert_not(cart_step_id_parse("cart#07#hold", id, sizeof id, &line, &step), "no leading zeros");
    cr_assert_not(cart_step_id_parse("cart#100#hold", id, sizeof id, &line, &step));
    cr_assert_not(cart_step_id_parse("#1#hold", id, sizeof id, &line, &step));
    cr_assert_not(cart_step_id_parse("cart#1#confirm", id, sizeof id, &line, &step));
    cr_assert_not(cart_step_id_parse("order-17", id, sizeof id, &line, &step));
}

static const char *RESULT_HELD =
    "{\"order_id\":\"c1#0#hold\",\"item\":\"a\",\"type\":\"order\",\"quantity\":2,\"status\":\"held\",\"reason\":null,"
    "\"remaining\":3,\"duplicate\":false,\"partition\":1,\"offset\":9,\"processed_at\":\"2026-12-03T10:00:00Z\","
    "\"hold_expires_at\":\"2026-12-04T10:00:00Z\"}";

Test(cart_msg, item_answers_forwarded) {
    cart_line_answer a;
    cr_assert(cart_line_answer_from_result(RESULT_HELD, strlen(RESULT_HELD), &a));
    cr_assert_str_eq(a.cart_id, "c1");
    cr_assert_eq(a.step, OL_STEP_HOLD);
    cr_assert_eq(a.status, OL_STATUS_HELD);
    cr_assert_eq(a.partition, 1);
    cr_assert_eq(a.offset, 9);
    const char *plain = "{\"order_id\":\"o1\",\"item\":\"a\",\"type\":\"order\",\"quantity\":2,\"status\":\"accepted\","
                        "\"reason\":null,\"remaining\":3,\"duplicate\":false,\"partition\":1,\"offset\":9,"
                        "\"processed_at\":\"2026-12-03T10:00:00Z\"}";
    cr_assert_not(cart_line_answer_from_result(plain, strlen(plain), &a));
}

Test(cart_msg, item_answers_not_forwarded) {
    cart_line_answer a;
    char dup[1024];
    strcpy(dup, RESULT_HELD);
    memcpy(strstr(dup, "\"duplicate\":false"), "\"duplicate\":true ", 17);
    cr_assert_not(cart_line_answer_from_result(dup, strlen(dup), &a), "a repeat says nothing new");
    /* A customer's confirm named like a hold is not a line's hold. */
    const char *confirm =
        "{\"order_id\":\"c1#0#hold\",\"item\":\"a\",\"type\":\"confirm\",\"target\":\"x\",\"quantity\":0,"
        "\"status\":\"rejected\",\"reason\":\"not_held\",\"remaining\":3,\"duplicate\":false,"
        "\"partition\":1,\"offset\":9,\"processed_at\":\"2026-12-03T10:00:00Z\"}";
    cr_assert_not(cart_line_answer_from_result(confirm, strlen(confirm), &a));
}

/* ---- the fast path against the general one ---------------------------- */

/* When the fast path takes value, the general path must read it to the same
 * bytes of cart_msg. Returns whether it was taken. */
static bool check_paths_agree(const char *value) {
    static cart_msg flat, general;
    char gerr[256] = "";
    bool flat_ok = cart_msg_parse_flat(value, strlen(value), &flat);
    bool general_ok = cart_msg_parse_general(value, strlen(value), NULL, 0, &general, gerr, sizeof gerr);
    if (flat_ok) {
        cr_assert(general_ok, "the fast path took what the general path refuses (%s): %s", gerr, value);
        cr_assert(memcmp(&flat, &general, sizeof flat) == 0, "the two paths read differently: %s", value);
    }
    return flat_ok;
}

/* What the forwarder writes takes the fast path, whatever its answer. */
Test(cart_msg_fast_path, takes_what_the_forwarder_writes) {
    static const ol_status statuses[] = {OL_STATUS_ACCEPTED, OL_STATUS_REJECTED, OL_STATUS_HELD};
    static const ol_reason reasons[] = {OL_REASON_NONE, OL_REASON_INSUFFICIENT_STOCK, OL_REASON_ALREADY_CANCELLED};
    for (int step = OL_STEP_HOLD; step <= OL_STEP_RESTORE; step++) {
        for (size_t s = 0; s < 3; s++) {
            cart_line_answer a;
            memset(&a, 0, sizeof a); /* padding too: compared with memcmp below */
            a.line = (size_t)(step * 30 + 9);
            a.step = (ol_step)step;
            a.status = statuses[s];
            a.reason = reasons[s];
            a.partition = 7;
            a.offset = 123456789012345;
            strcpy(a.cart_id, "cart-1");
            strcpy(a.item, "item-00042");
            char *json = cart_line_result_json(&a);
            cr_assert_not_null(json);
            cr_assert(check_paths_agree(json), "declined: %s", json);
            cr_assert(parse(json, NULL));
            cr_assert_eq(m.kind, CART_MSG_LINE_RESULT);
            cr_assert(memcmp(&m.answer, &a, sizeof a) == 0, "read back differently: %s", json);
            free(json);
        }
    }
}

#define LR "{\"type\":\"line_result\",\"cart_id\":\"c\",\"item\":\"a\","

Test(cart_msg_fast_path, agrees_on_edges_or_declines) {
    static const struct {
        const char *value;
        bool taken;
    } cases[] = {
        {LR "\"line\":0,\"phase\":\"hold\",\"status\":\"held\",\"reason\":null,\"partition\":0,\"offset\":0}", true},
        {LR "\"line\":99,\"phase\":\"restore\",\"status\":\"accepted\",\"reason\":null,\"partition\":2147483647,"
            "\"offset\":1,\"x\":false}",
         true},
        {LR "\"line\":100,\"phase\":\"hold\",\"status\":\"held\",\"reason\":null,\"partition\":0,\"offset\":0}", false},
        {LR "\"line\":-1,\"phase\":\"hold\",\"status\":\"held\",\"reason\":null,\"partition\":0,\"offset\":0}", false},
        {LR "\"line\":1.5,\"phase\":\"hold\",\"status\":\"held\",\"reason\":null,\"partition\":0,\"offset\":0}", false},
        {LR "\"line\":1,\"phase\":\"hold\",\"status\":\"held\",\"reason\":null,\"partition\":2147483648,\"offset\":0}",
         false},
        {LR "\"line\":1,\"phase\":\"hold\",\"status\":\"held\",\"reason\":null,\"partition\":0,\"offset\":-5}", false},
        {LR "\"line\":1,\"phase\":\"bogus\",\"status\":\"held\",\"reason\":null,\"partition\":0,\"offset\":0}", false},
        {LR "\"line\":1,\"phase\":\"hold\",\"status\":\"bogus\",\"reason\":null,\"partition\":0,\"offset\":0}", false},
        {LR "\"line\":1,\"phase\":\"hold\",\"status\":\"held\",\"reason\":\"bogus\",\"partition\":0,\"offset\":0}",
         false},
        {LR "\"line\":1,\"phase\":\"hold\",\"status\":\"held\",\"partition\":0,\"offset\":0}", false}, /* no reason */
        {LR "\"line\":1,\"phase\":\"hold\",\"status\":\"held\",\"reason\":null,\"partition\":0}", false},
        {LR "\"line\":1,\"phase\":\"hold\",\"status\":\"held\",\"reason\":null,\"partition\":0,\"offset\":0,"
            "\"line\":2}",
         false},
        {"{\"type\":\"line_result\",\"cart_id\":\"\",\"item\":\"a\",\"line\":1,\"phase\":\"hold\",\"status\":"
         "\"held\",\"reason\":null,\"partition\":0,\"offset\":0}",
         false},
        {"{\"type\":\"line_result\",\"cart_id\":\"c\",\"item\":\"\\u00e9\",\"line\":1,\"phase\":\"hold\",\"status\":"
         "\"held\",\"reason\":null,\"partition\":0,\"offset\":0}",
         false},
        {"{\"type\":\"cart_cancel\",\"order_id\":\"x\",\"cart_id\":\"c\"}", false},
        {"{\"cart_id\":\"c\",\"line\":1,\"phase\":\"hold\",\"item\":\"a\",\"status\":\"held\",\"reason\":null,"
         "\"partition\":0,\"offset\":0}",
         false}, /* no type: a cart */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_assert_eq(check_paths_agree(cases[i].value), cases[i].taken, "case %zu: %s", i, cases[i].value);
}

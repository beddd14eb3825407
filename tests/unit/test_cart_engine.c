/* Unit tests for cart_engine: what order-carts decides per carts-topic
 * message, with the cart stored and read back between messages as the
 * ledger does, and the JSON it sends. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cart_engine.h"

#define TS 1800000000000LL

static cart_record rec;
static cart_effects fx;

/* Stores and reads back the record, as a new batch would find it. */
static void reload(void) {
    if (!rec.exists) return;
    char *lines = cart_record_lines_json(&rec);
    cr_assert(lines);
    cart_record back;
    char err[256];
    cr_assert(cart_record_from_columns(&back, rec.cart.cart_id, ol_cart_status_name(rec.flow.status),
                                       rec.flow.cancel_pending, rec.flow.hold_s, rec.created_ms, rec.partition,
                                       rec.offset, lines, err, sizeof err),
              "%s", err);
    free(lines);
    cr_assert_eq(memcmp(&back.flow, &rec.flow, sizeof rec.flow), 0, "the flow survives the ledger");
    cr_assert_eq(memcmp(back.reasons, rec.reasons, sizeof rec.reasons), 0);
    rec = back;
}

static void apply(const char *value, bool decided, int64_t ts) {
    cart_msg m;
    char err[256];
    cr_assert(cart_msg_parse(value, strlen(value), NULL, 0, &m, err, sizeof err), "%s", err);
    reload();
    cart_engine_apply(&rec, &m, decided, 0, 5, ts, &fx);
}

static void line(size_t l, const char *phase, const char *status, const char *reason) {
    char v[512];
    snprintf(v, sizeof v,
             "{\"type\":\"line_result\",\"cart_id\":\"c1\",\"line\":%zu,\"phase\":\"%s\",\"item\":\"%s\","
             "\"status\":\"%s\",\"reason\":%s,\"partition\":0,\"offset\":1}",
             l, phase, l == 0 ? "a" : "b", status, reason);
    apply(v, false, TS + 10);
}

static const char *CART2 =
    "{\"cart_id\":\"c1\",\"lines\":[{\"item\":\"a\",\"quantity\":1},{\"item\":\"b\",\"quantity\":2}]}";
static const char *CART2_HOLD =
    "{\"cart_id\":\"c1\",\"lines\":[{\"item\":\"a\",\"quantity\":1},{\"item\":\"b\",\"quantity\":2}],\"hold_s\":60}";

Test(cart_engine, accepted_cart_commits_every_line) {
    memset(&rec, 0, sizeof rec);
    apply(CART2, false, TS);
    cr_assert_eq(fx.kind, CART_EFFECT_DECIDED);
    cr_assert_eq(fx.actions.n_steps, 2);
    cr_assert_not(fx.has_answer, "no answer before the holds are answered");
    line(1, "hold", "held", "null");
    cr_assert_not(fx.has_answer);
    line(0, "hold", "held", "null");
    cr_assert(fx.has_answer);
    cr_assert_str_eq(fx.answer.order_id, "c1");
    cr_assert_eq(fx.answer.status, OL_STATUS_ACCEPTED);
    cr_assert_eq(fx.actions.n_steps, 2);
    cr_assert_eq(fx.actions.steps[0].step, OL_STEP_COMMIT);
    line(0, "hold", "held", "null");
    cr_assert_eq(fx.kind, CART_EFFECT_NONE, "a repeated answer changes nothing");
}

Test(cart_engine, rejected_cart_names_the_line_and_releases_the_rest) {
    memset(&rec, 0, sizeof rec);
    apply(CART2, false, TS);
    line(0, "hold", "held", "null");
    line(1, "hold", "rejected", "\"insufficient_stock\"");
    cr_assert(fx.has_answer);
    cr_assert_eq(fx.answer.status, OL_STATUS_REJECTED);
    cr_assert_eq(fx.answer.reason, OL_REASON_INSUFFICIENT_STOCK);
    cr_assert_eq(fx.actions.n_steps, 1, "only the held line is released");
    cr_assert_eq(fx.actions.steps[0].line, 0);
    cr_assert_eq(fx.actions.steps[0].step, OL_STEP_RELEASE);
    char *json = cart_answer_json(&fx.answer, &rec, 0, 5, TS * 1000, false);
    json_t *o = json_loads(json, 0, NULL);
    free(json);
    cr_assert(o);
    json_t *lines = json_object_get(o, "lines");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(lines, 0), "status")), "released");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(lines, 1), "status")), "rejected");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(lines, 1), "reason")), "insufficient_stock");
    cr_assert_str_eq(json_string_value(json_object_get(o, "topic")), "carts");
    cr_assert_str_eq(json_string_value(json_object_get(o, "state")), "rejected");
    json_decref(o);
}

Test(cart_engine, held_then_confirmed_then_cancelled) {
    memset(&rec, 0, sizeof rec);
    apply(CART2_HOLD, false, TS);
    line(0, "hold", "held", "null");
    line(1, "hold", "held", "null");
    cr_assert_eq(fx.answer.status, OL_STATUS_HELD);
    cr_assert_eq(cart_record_expires_ms(&rec), TS + 60000);
    apply("{\"type\":\"cart_confirm\",\"order_id\":\"c1#confirm\",\"cart_id\":\"c1\"}", false, TS + 1000);
    cr_assert_eq(fx.answer.status, OL_STATUS_ACCEPTED);
    cr_assert_eq(fx.answer.state, OL_CART_CONFIRMED);
    cr_assert_eq(fx.actions.n_steps, 2);
    apply("{\"type\":\"cart_expire\",\"order_id\":\"c1#expire\",\"cart_id\":\"c1\"}", false, TS + 70000);
    cr_assert_eq(fx.answer.status, OL_STATUS_REJECTED);
    cr_assert_eq(fx.answer.reason, OL_REASON_ALREADY_CONFIRMED);
    apply("{\"type\":\"cart_cancel\",\"order_id\":\"c1#cancel\",\"cart_id\":\"c1\"}", false, TS + 80000);
    cr_assert_eq(fx.answer.status, OL_STATUS_ACCEPTED);
    cr_assert_eq(fx.actions.steps[0].step, OL_STEP_RESTORE);
    apply("{\"type\":\"cart_cancel\",\"order_id\":\"c1#cancel\",\"cart_id\":\"c1\"}", true, TS + 90000);
    cr_assert_eq(fx.kind, CART_EFFECT_DUPLICATE, "the same cancel again is a repeat");
    apply("{\"type\":\"cart_cancel\",\"order_id\":\"other\",\"cart_id\":\"c1\"}", false, TS + 90000);
    cr_assert_eq(fx.answer.reason, OL_REASON_ALREADY_CANCELLED);
}

Test(cart_engine, expire_before_its_deadline_is_refused) {
    memset(&rec, 0, sizeof rec);
    apply(CART2_HOLD, false, TS);
    line(0, "hold", "held", "null");
    line(1, "hold", "held", "null");
    apply("{\"type\":\"cart_expire\",\"order_id\":\"c1#expire\",\"cart_id\":\"c1\"}", false, TS + 59999);
    cr_assert_eq(fx.answer.reason, OL_REASON_NOT_EXPIRED);
    apply("{\"type\":\"cart_expire\",\"order_id\":\"c1#expire2\",\"cart_id\":\"c1\"}", false, TS + 60000);
    cr_assert_eq(fx.answer.status, OL_STATUS_ACCEPTED);
    cr_assert_eq(rec.flow.status, OL_CART_EXPIRED);
    cr_assert_eq(fx.actions.n_steps, 2);
    cr_assert_eq(fx.actions.steps[1].step, OL_STEP_RELEASE);
}

Test(cart_engine, cancel_while_holding_and_unknown_carts) {
    memset(&rec, 0, sizeof rec);
    apply("{\"type\":\"cart_cancel\",\"order_id\":\"early\",\"cart_id\":\"c1\"}", false, TS);
    cr_assert_eq(fx.answer.reason, OL_REASON_NOT_CANCELLABLE, "a cancel before its cart");
    cr_assert_not(fx.answer.has_state);
    apply(CART2, false, TS);
    line(0, "hold", "held", "null");
    apply("{\"type\":\"cart_cancel\",\"order_id\":\"c1#cancel\",\"cart_id\":\"c1\"}", false, TS);
    cr_assert_eq(fx.answer.status, OL_STATUS_ACCEPTED);
    line(1, "hold", "held", "null");
    cr_assert_eq(fx.answer.status, OL_STATUS_REJECTED);
    cr_assert_eq(fx.answer.reason, OL_REASON_ALREADY_CANCELLED);
    cr_assert_eq(fx.actions.n_steps, 2, "both held lines go back");
    apply(CART2, false, TS);
    cr_assert_eq(fx.kind, CART_EFFECT_DUPLICATE, "the same cart_id again");
}

Test(cart_engine, invalid_cart_answered_once) {
    memset(&rec, 0, sizeof rec);
    apply("{\"cart_id\":\"c9\",\"lines\":[]}", false, TS);
    cr_assert(fx.has_answer);
    cr_assert_eq(fx.answer.reason, OL_REASON_INVALID);
    cr_assert(strstr(fx.answer.error, "lines"), "%s", fx.answer.error);
    cr_assert_not(rec.exists);
}

Test(cart_engine, step_messages) {
    memset(&rec, 0, sizeof rec);
    apply(CART2, false, TS);
    char *hold = cart_step_json(&rec, 1, OL_STEP_HOLD);
    char *release = cart_step_json(&rec, 1, OL_STEP_RELEASE);
    cr_assert_str_eq(hold, "{\"order_id\":\"c1#1#hold\",\"item\":\"b\",\"quantity\":2,\"hold_s\":86400}");
    cr_assert_str_eq(release,
                     "{\"type\":\"cancel\",\"order_id\":\"c1#1#release\",\"item\":\"b\",\"target\":\"c1#1#hold\"}");
    free(hold);
    free(release);
}

/* ---- a record's lines as PostgreSQL prints the jsonb ------------------- */

static bool from_columns(const char *lines, cart_record *out) {
    char err[256];
    return cart_record_from_columns(out, "c1", "holding", false, 0, TS, 3, 9, lines, err, sizeof err);
}

/* The fast path reads what psql printed for a jsonb of two lines; the same
 * lines with a member only jansson reads (an escape) read the same. */
Test(cart_record_lines, postgres_jsonb_text_reads_alike_on_both_paths) {
    static const struct {
        const char *plain, *forced;
    } cases[] = {
        {"[{\"held\": false, \"item\": \"a\", \"step\": \"hold\", \"reason\": \"insufficient_stock\", \"answered\": "
         "true, \"quantity\": 2}, {\"held\": true, \"item\": \"b}c\", \"step\": \"commit\", \"reason\": null, "
         "\"answered\": false, \"quantity\": 1}]",
         "[{\"held\": false, \"item\": \"a\", \"step\": \"hold\", \"reason\": \"insufficient_stock\", \"answered\": "
         "true, \"quantity\": 2, \"x\": \"\\u0041\"}, {\"held\": true, \"item\": \"b}c\", \"step\": \"commit\", "
         "\"reason\": null, \"answered\": false, \"quantity\": 1}]"},
        {"[{\"held\":true,\"item\":\"\",\"step\":\"restore\",\"reason\":null,\"answered\":true,\"quantity\":1000000}]",
         "[{\"held\":true,\"item\":\"\",\"step\":\"restore\",\"reason\":null,\"answered\":true,\"quantity\":1000000,"
         "\"x\":[]}]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cart_record plain, forced;
        cr_assert(from_columns(cases[i].plain, &plain), "case %zu", i);
        cr_assert(from_columns(cases[i].forced, &forced), "case %zu", i);
        cr_assert(memcmp(&plain, &forced, sizeof plain) == 0, "case %zu reads differently", i);
    }
    cart_record r;
    cr_assert(from_columns(cases[0].plain, &r));
    cr_assert_eq(r.cart.n_lines, 2);
    cr_assert_str_eq(r.cart.lines[1].item, "b}c");
    cr_assert_eq(r.cart.lines[0].quantity, 2);
    cr_assert_eq(r.flow.lines[0].step, OL_STEP_HOLD);
    cr_assert(r.flow.lines[0].answered);
    cr_assert_not(r.flow.lines[0].held);
    cr_assert_eq(r.reasons[0], OL_REASON_INSUFFICIENT_STOCK);
    cr_assert_eq(r.flow.lines[1].step, OL_STEP_COMMIT);
    cr_assert(r.flow.lines[1].held);
}

/* Whatever the path, what the general one refuses stays refused. */
Test(cart_record_lines, refused_on_either_path) {
    static const char *const refused[] = {
        "[]",
        "{}",
        "[{\"held\": true, \"item\": \"a\", \"step\": \"hold\", \"reason\": null, \"answered\": true}]",
        "[{\"held\": 1, \"item\": \"a\", \"step\": \"hold\", \"reason\": null, \"answered\": true, \"quantity\": 1}]",
        "[{\"held\": true, \"item\": \"a\", \"step\": \"wait\", \"reason\": null, \"answered\": true, \"quantity\": "
        "1}]",
        "[{\"held\": true, \"item\": \"a\", \"step\": \"hold\", \"reason\": \"no\", \"answered\": true, \"quantity\": "
        "1}]",
        "[{\"held\": true, \"item\": \"a\", \"step\": \"hold\", \"reason\": null, \"answered\": true, \"quantity\": "
        "0}]",
        "[{\"held\": true, \"item\": \"a\", \"step\": \"hold\", \"reason\": null, \"answered\": true, \"quantity\": 1} "
        "{\"held\": true, \"item\": \"b\", \"step\": \"hold\", \"reason\": null, \"answered\": true, \"quantity\": 1}]",
        "[{\"held\": true, \"item\": \"a\", \"step\": \"hold\", \"reason\": null, \"answered\": true, \"quantity\": "
        "1}] x",
    };
    cart_record r;
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        cr_assert_not(from_columns(refused[i], &r), "case %zu: %s", i, refused[i]);
}

/* OL_CART_LINES_MAX lines read; one more is refused. */
Test(cart_record_lines, at_most_the_line_limit) {
    static char lines[OL_CART_LINES_MAX * 128 + 256];
    const char *one = "{\"held\": true, \"item\": \"a\", \"step\": \"hold\", \"reason\": null, \"answered\": true, "
                      "\"quantity\": 1}";
    strcpy(lines, "[");
    for (int i = 0; i < OL_CART_LINES_MAX; i++) {
        if (i) strcat(lines, ", ");
        strcat(lines, one);
    }
    strcat(lines, "]");
    cart_record r;
    cr_assert(from_columns(lines, &r));
    cr_assert_eq(r.cart.n_lines, OL_CART_LINES_MAX);
    lines[strlen(lines) - 1] = '\0';
    strcat(lines, ", ");
    strcat(lines, one);
    strcat(lines, "]");
    cr_assert_not(from_columns(lines, &r));
}

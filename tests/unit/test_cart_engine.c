/* Unit tests for cart_engine: what order-carts decides per carts-topic
 * message, with the cart stored and read back between messages as the
 * ledger does, and the JSON it sends (byte for byte what jansson wrote). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cart_engine.h"
#include "ol_str.h"

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

/* ---- the writers against jansson --------------------------------------
 * The writers once built their JSON with jansson; these are those
 * constructions, kept as the reference: each writer must write exactly
 * their bytes, and fail (NULL) where they did. ("i" is given an int here,
 * which the originals passed as a json_int_t.) */

static json_t *ref_lines_array(const cart_record *r) {
    json_t *lines = json_array();
    for (size_t i = 0; lines && r && r->exists && i < r->flow.n_lines; i++) {
        ol_reason why = r->flow.lines[i].held ? OL_REASON_NONE : r->reasons[i];
        json_t *l = json_pack("{s:s, s:i, s:s, s:o}", "item", r->cart.lines[i].item, "quantity",
                              (int)r->cart.lines[i].quantity, "status", cart_line_status(r, i), "reason",
                              why == OL_REASON_NONE ? json_null() : json_string(ol_reason_name(why)));
        if (!l || json_array_append_new(lines, l) != 0) {
            json_decref(lines);
            return NULL;
        }
    }
    return lines;
}

static json_t *ref_time_or_null(int64_t ms) {
    if (ms <= 0) return json_null();
    char t[40];
    ol_format_rfc3339(t, sizeof t, ms * 1000);
    return json_string(t);
}

static char *ref_answer_json(const cart_answer *a, const cart_record *r, int32_t partition, int64_t offset,
                             int64_t processed_at_us, bool duplicate) {
    char processed[40];
    ol_format_rfc3339(processed, sizeof processed, processed_at_us);
    bool known = r && r->exists;
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:b, s:s, s:I, s:I, s:s}", "order_id", a->order_id,
                          "cart_id", known ? r->cart.cart_id : a->order_id, "type", a->type, "status",
                          ol_status_name(a->status), "reason",
                          a->reason == OL_REASON_NONE ? json_null() : json_string(ol_reason_name(a->reason)), "state",
                          a->has_state ? json_string(ol_cart_status_name(a->state)) : json_null(), "hold_expires_at",
                          ref_time_or_null(known ? cart_record_expires_ms(r) : 0), "lines",
                          ref_lines_array(known ? r : NULL), "duplicate", duplicate, "topic", "carts", "partition",
                          (json_int_t)partition, "offset", (json_int_t)offset, "processed_at", processed);
    if (o && a->error[0]) json_object_set_new(o, "error", json_string(a->error));
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

static char *ref_step_json(const cart_record *r, size_t l, ol_step step) {
    char id[OL_ORDER_ID_MAX + 1], target[OL_ORDER_ID_MAX + 1];
    const ol_cart_line *cl = &r->cart.lines[l];
    if (!ol_cart_line_order_id(r->cart.cart_id, l, ol_step_name(step), id, sizeof id) ||
        !ol_cart_line_order_id(r->cart.cart_id, l, "hold", target, sizeof target))
        return NULL;
    json_t *o = step == OL_STEP_HOLD
                    ? json_pack("{s:s, s:s, s:i, s:i}", "order_id", id, "item", cl->item, "quantity", (int)cl->quantity,
                                "hold_s", (int)OL_HOLD_MAX_S)
                    : json_pack("{s:s, s:s, s:s, s:s}", "type", step == OL_STEP_COMMIT ? "confirm" : "cancel",
                                "order_id", id, "item", cl->item, "target", target);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

static char *ref_line_result_json(const cart_line_answer *a) {
    json_t *o =
        json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:o, s:i, s:I}", "type", "line_result", "cart_id", a->cart_id, "line",
                  (int)a->line, "phase", ol_step_name(a->step), "item", a->item, "status", ol_status_name(a->status),
                  "reason", a->reason == OL_REASON_NONE ? json_null() : json_string(ol_reason_name(a->reason)),
                  "partition", (int)a->partition, "offset", (json_int_t)a->offset);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

static char *ref_record_lines_json(const cart_record *r) {
    json_t *lines = json_array();
    for (size_t i = 0; lines && i < r->flow.n_lines; i++) {
        const ol_cart_line_state *l = &r->flow.lines[i];
        json_t *o = json_pack(
            "{s:s, s:i, s:s, s:b, s:b, s:o}", "item", r->cart.lines[i].item, "quantity", (int)r->cart.lines[i].quantity,
            "step", ol_step_name(l->step), "answered", (int)l->answered, "held", (int)l->held, "reason",
            r->reasons[i] == OL_REASON_NONE ? json_null() : json_string(ol_reason_name(r->reasons[i])));
        if (!o || json_array_append_new(lines, o) != 0) {
            json_decref(lines);
            return NULL;
        }
    }
    char *s = lines ? json_dumps(lines, JSON_COMPACT) : NULL;
    json_decref(lines);
    return s;
}

/* got must be want to the byte; both are freed. */
static void same_bytes(char *got, char *want, const char *what, size_t k) {
    cr_assert_not_null(want, "%s %zu: the reference refused it", what, k);
    cr_assert_not_null(got, "%s %zu: NULL, want %s", what, k, want);
    cr_assert_eq(strlen(got), strlen(want), "%s %zu: %zu bytes, want %zu:\n%s\n%s", what, k, strlen(got), strlen(want),
                 got, want);
    cr_assert_str_eq(got, want, "%s %zu", what, k);
    free(got);
    free(want);
}

/* Items: plain, each escape, control characters, UTF-8 of 2, 3 and 4
 * bytes, '/' and DEL (kept as they are), and the longest an item may be. */
static const char *const ITEMS[] = {"apple",
                                    "sku-00042",
                                    "q\"uote",
                                    "back\\slash",
                                    "ctl\x01\x1f\b\f\n\r\t",
                                    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                                    "a/b\x7f",
                                    "\"\\\"\\",
                                    "0123456789012345678901234567890123456789012345678901234567890123",
                                    "\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\x01\x01\x01"
                                    "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
                                    "\x01\x01\x01\x01\x01\x01\x01\x01\x01"};
#define N_ITEMS (sizeof ITEMS / sizeof ITEMS[0])

/* n lines mixing every item, step, answered/held pair, reason and quantity. */
static void mixed_record(cart_record *r, const char *cart_id, size_t n) {
    memset(r, 0, sizeof *r);
    r->exists = true;
    ol_strlcpy(r->cart.cart_id, cart_id, sizeof r->cart.cart_id);
    r->cart.n_lines = r->flow.n_lines = n;
    r->cart.hold_s = 60;
    r->flow.status = OL_CART_HELD;
    r->flow.expires_at_ms = TS + 60000;
    for (size_t i = 0; i < n; i++) {
        ol_strlcpy(r->cart.lines[i].item, ITEMS[i % N_ITEMS], sizeof r->cart.lines[i].item);
        r->cart.lines[i].quantity = i % 3 == 0 ? OL_QUANTITY_MAX : (int32_t)i + 1;
        r->flow.lines[i].step = (ol_step)(i % 4);
        r->flow.lines[i].answered = (i / 4) % 2;
        r->flow.lines[i].held = (i / 8) % 2;
        r->reasons[i] = (ol_reason)(i % 10);
    }
}

Test(cart_writers, item_list_is_what_it_says) {
    cr_assert_eq(strlen(ITEMS[8]), OL_ITEM_MAX);
    cr_assert_eq(strlen(ITEMS[9]), OL_ITEM_MAX);
}

Test(cart_writers, record_lines_match_jansson) {
    cart_record r;
    for (size_t n = 0; n <= OL_CART_LINES_MAX; n++) {
        mixed_record(&r, "c1", n);
        same_bytes(cart_record_lines_json(&r), ref_record_lines_json(&r), "lines of a cart of", n);
    }
    /* Line 0 with every reason, null included, on both paths of its item. */
    for (size_t k = 0; k < 10 * N_ITEMS; k++) {
        mixed_record(&r, "c1", 1);
        r.reasons[0] = (ol_reason)(k % 10);
        ol_strlcpy(r.cart.lines[0].item, ITEMS[k / 10], sizeof r.cart.lines[0].item);
        same_bytes(cart_record_lines_json(&r), ref_record_lines_json(&r), "one line", k);
    }
}

Test(cart_writers, step_messages_match_jansson) {
    static const char *const ids[] = {"c1", "cart \"q\" \\ \xc3\xa9\t",
                                      "012345678901234567890123456789012345678901234567890123456789012345678901234567"
                                      "890123456789012345"};
    cart_record r;
    size_t k = 0;
    for (size_t c = 0; c < sizeof ids / sizeof ids[0]; c++) {
        mixed_record(&r, ids[c], OL_CART_LINES_MAX);
        for (size_t l = 0; l < OL_CART_LINES_MAX; l++)
            for (int s = OL_STEP_HOLD; s <= OL_STEP_RESTORE; s++, k++)
                same_bytes(cart_step_json(&r, l, (ol_step)s), ref_step_json(&r, l, (ol_step)s), "step", k);
    }
    cr_assert_eq(strlen(ids[2]), OL_CART_ID_MAX);
}

Test(cart_writers, line_results_match_jansson) {
    static const int32_t partitions[] = {0, 7, INT32_MAX, INT32_MIN};
    static const int64_t offsets[] = {0, 42, INT64_MAX, INT64_MIN, -1};
    size_t k = 0;
    for (size_t i = 0; i < N_ITEMS; i++)
        for (int s = OL_STEP_HOLD; s <= OL_STEP_RESTORE; s++)
            for (int st = OL_STATUS_ACCEPTED; st <= OL_STATUS_HELD; st++)
                for (int why = OL_REASON_NONE; why <= OL_REASON_ALREADY_CANCELLED; why++, k++) {
                    cart_line_answer a = {.line = k % OL_CART_LINES_MAX,
                                          .step = (ol_step)s,
                                          .status = (ol_status)st,
                                          .reason = (ol_reason)why,
                                          .partition = partitions[k % 4],
                                          .offset = offsets[k % 5]};
                    ol_strlcpy(a.cart_id, ITEMS[(i + 1) % N_ITEMS], sizeof a.cart_id);
                    ol_strlcpy(a.item, ITEMS[i], sizeof a.item);
                    same_bytes(cart_line_result_json(&a), ref_line_result_json(&a), "line result", k);
                }
}

/* Errors: none, plain, with escapes and UTF-8, '/' and DEL. */
static const char *const ERRORS[] = {"", "field 'lines' must be an array", "bad \"x\"\\ \x01\n \xc3\xa9",
                                     "\xe2\x82\xac/\x7f"};

/* An answer as k says: type, status, reason, state; and error. */
static void some_answer(cart_answer *a, size_t k, const char *order_id, const char *error) {
    static const char *const types[] = {"cart", "cart_confirm", "cart_cancel", "cart_expire"};
    memset(a, 0, sizeof *a);
    a->type = types[k % 4];
    ol_strlcpy(a->order_id, order_id, sizeof a->order_id);
    a->status = (ol_status)(k % 3);
    a->reason = (ol_reason)(k % 10);
    a->has_state = k % 8 != 7;
    a->state = (ol_cart_status)(k % 7);
    ol_strlcpy(a->error, error, sizeof a->error);
}

/* Every record state (its deadline or none), answers of every kind, with
 * and without an error, known carts and unknown ones. */
Test(cart_writers, answers_match_jansson) {
    static const int64_t processed[] = {TS * 1000 + 123456, 0, 1};
    cart_record r;
    cart_answer a;
    size_t k = 0;
    for (int st = OL_CART_HOLDING; st <= OL_CART_EXPIRED; st++)
        for (size_t n = 1; n <= 12; n++)
            for (size_t v = 0; v < 12; v++, k++) {
                mixed_record(&r, ITEMS[k % N_ITEMS], n);
                r.flow.status = (ol_cart_status)st;
                r.exists = v % 6 != 5;
                some_answer(&a, k, ITEMS[(k + 3) % N_ITEMS], ERRORS[(k / 3) % 4]);
                const cart_record *which = v % 6 == 4 ? NULL : &r;
                int32_t p = (int32_t)(k % 5) - 2;
                int64_t o = k % 7 == 0 ? INT64_MAX : (int64_t)k;
                same_bytes(cart_answer_json(&a, which, p, o, processed[k % 3], v % 2),
                           ref_answer_json(&a, which, p, o, processed[k % 3], v % 2), "answer", k);
            }
}

Test(cart_writers, answer_forms) {
    cart_record r;
    cart_answer a;
    mixed_record(&r, "c1", 2);
    some_answer(&a, 1, "c1#confirm", ERRORS[1]); /* error set: the last key, after processed_at */
    char *json = cart_answer_json(&a, &r, 0, 5, TS * 1000, false);
    cr_assert_not_null(json);
    cr_assert(strstr(json, "\"hold_expires_at\":\"2027-01-15T08:01:00.000000Z\""), "%s", json);
    cr_assert(strstr(json, "\"processed_at\":\"2027-01-15T08:00:00.000000Z\",\"error\":\"field 'lines' must be "
                           "an array\"}"),
              "%s", json);
    same_bytes(json, ref_answer_json(&a, &r, 0, 5, TS * 1000, false), "with error", 0);
    some_answer(&a, 0, "c1", ""); /* no error: no key */
    r.flow.status = OL_CART_ACCEPTED;
    json = cart_answer_json(&a, &r, 0, 5, TS * 1000, true);
    cr_assert_not_null(json);
    cr_assert_null(strstr(json, "error"), "%s", json);
    cr_assert(strstr(json, "\"hold_expires_at\":null"), "%s", json);
    same_bytes(json, ref_answer_json(&a, &r, 0, 5, TS * 1000, true), "without error", 0);
}

/* A follow-up for a cart never seen: no record at all, or none stored. */
Test(cart_writers, answer_for_an_unknown_cart) {
    cart_record r;
    memset(&r, 0, sizeof r);
    cart_answer a;
    some_answer(&a, 6, "early", ERRORS[2]);
    a.status = OL_STATUS_REJECTED;
    a.reason = OL_REASON_NOT_CANCELLABLE;
    a.has_state = false;
    for (int v = 0; v < 2; v++) {
        const cart_record *which = v ? &r : NULL;
        char *json = cart_answer_json(&a, which, 1, 9, TS * 1000, false);
        cr_assert_not_null(json);
        cr_assert_str_eq(json, "{\"order_id\":\"early\",\"cart_id\":\"early\",\"type\":\"cart_cancel\","
                               "\"status\":\"rejected\",\"reason\":\"not_cancellable\",\"state\":null,"
                               "\"hold_expires_at\":null,\"lines\":[],\"duplicate\":false,\"topic\":\"carts\","
                               "\"partition\":1,\"offset\":9,\"processed_at\":\"2027-01-15T08:00:00.000000Z\","
                               "\"error\":\"bad \\\"x\\\"\\\\ \\u0001\\n \xc3\xa9\"}");
        same_bytes(json, ref_answer_json(&a, which, 1, 9, TS * 1000, false), "unknown cart", (size_t)v);
    }
}

/* The largest cart: every line's longest item, the longest cart_id. */
Test(cart_writers, largest_cart_matches_jansson) {
    cart_record r;
    mixed_record(&r, "012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345",
                 OL_CART_LINES_MAX);
    for (size_t i = 0; i < OL_CART_LINES_MAX; i++)
        ol_strlcpy(r.cart.lines[i].item, ITEMS[8 + i % 2], sizeof r.cart.lines[i].item);
    cart_answer a;
    some_answer(&a, 2, r.cart.cart_id, ERRORS[2]);
    same_bytes(cart_record_lines_json(&r), ref_record_lines_json(&r), "largest lines", 0);
    same_bytes(cart_answer_json(&a, &r, INT32_MAX, INT64_MAX, TS * 1000, true),
               ref_answer_json(&a, &r, INT32_MAX, INT64_MAX, TS * 1000, true), "largest answer", 0);
    same_bytes(cart_step_json(&r, 99, OL_STEP_RELEASE), ref_step_json(&r, 99, OL_STEP_RELEASE), "largest step", 0);
}

/* Text jansson refused (not UTF-8) made no document: NULL, except an
 * answer's error, whose key json_object_set_new then left out. */
Test(cart_writers, text_that_is_not_utf8) {
    cart_record r;
    mixed_record(&r, "c1", 3);
    ol_strlcpy(r.cart.lines[1].item, "bad\xc3", sizeof r.cart.lines[1].item);
    cr_assert_null(ref_record_lines_json(&r));
    cr_assert_null(cart_record_lines_json(&r));
    cr_assert_null(ref_step_json(&r, 1, OL_STEP_HOLD));
    cr_assert_null(cart_step_json(&r, 1, OL_STEP_HOLD));
    cart_answer a;
    some_answer(&a, 0, "c1", "");
    cr_assert_null(ref_answer_json(&a, &r, 0, 5, TS * 1000, false));
    cr_assert_null(cart_answer_json(&a, &r, 0, 5, TS * 1000, false));
    cart_line_answer la = {.line = 1, .step = OL_STEP_HOLD, .status = OL_STATUS_HELD};
    strcpy(la.cart_id, "c1");
    strcpy(la.item, "\xed\xa0\x80");
    cr_assert_null(ref_line_result_json(&la));
    cr_assert_null(cart_line_result_json(&la));

    mixed_record(&r, "c1", 3);
    some_answer(&a, 1, "c1#confirm", ERRORS[1]);
    memcpy(a.error + 3, "\xe2\x82", 3); /* an error cut inside a character */
    char *json = cart_answer_json(&a, &r, 0, 5, TS * 1000, false);
    cr_assert_not_null(json);
    cr_assert_null(strstr(json, "\"error\""), "%s", json);
    same_bytes(json, ref_answer_json(&a, &r, 0, 5, TS * 1000, false), "error not UTF-8", 0);
}

/* Unit tests for ol_result: the result message codec, and agreement with
 * schemas/result.schema.json through tests/samples/result.
 *
 * tests/samples/result/valid/ holds exactly what ol_result_to_json writes
 * for the results built below (test result_samples.encoder_output_matches
 * checks it byte for byte); tests/schema/check_samples.py validates those
 * files against the schema. Together: every kind of result the encoder
 * writes validates. After a deliberate change to the encoder, regenerate
 * them with ORDERLINE_UPDATE_SAMPLES=1 build/test_result and re-run the
 * schema check. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ol_result.h"
#include "ol_str.h"

#define T0 (1795626000LL * 1000000 + 123456) /* 2026-11-25T17:00:00.123456Z */

static ol_result base_result(void) {
    ol_result r;
    memset(&r, 0, sizeof r);
    strcpy(r.order_id, "o-1001");
    r.has_order = true;
    strcpy(r.item, "apple");
    r.type = OL_TYPE_ORDER;
    r.quantity = 3;
    r.status = OL_STATUS_ACCEPTED;
    r.reason = OL_REASON_NONE;
    r.has_remaining = true;
    r.remaining = 7;
    r.partition = 1;
    r.offset = 42;
    r.processed_at_us = T0;
    return r;
}

typedef struct sample {
    const char *name;
    ol_result result;
} sample;

/* One of every kind of answer the consumer publishes. */
static size_t build_samples(sample *out, size_t cap) {
    size_t n = 0;
    ol_result r;

    r = base_result();
    out[n++] = (sample){"accepted-order", r};

    r = base_result();
    strcpy(r.order_id, "r-1");
    strcpy(r.item, "widget");
    r.type = OL_TYPE_RESTOCK;
    r.quantity = 40;
    r.remaining = 45;
    out[n++] = (sample){"accepted-restock", r};

    r = base_result();
    r.quantity = 5;
    r.remaining = 0;
    out[n++] = (sample){"accepted-empties-shelf", r};

    r = base_result();
    r.status = OL_STATUS_REJECTED;
    r.reason = OL_REASON_INSUFFICIENT_STOCK;
    r.remaining = 2;
    out[n++] = (sample){"rejected-insufficient-stock", r};

    r = base_result();
    strcpy(r.item, "ghost");
    r.status = OL_STATUS_REJECTED;
    r.reason = OL_REASON_UNKNOWN_ITEM;
    r.has_remaining = false;
    r.remaining = 0;
    out[n++] = (sample){"rejected-unknown-item", r};

    r = base_result();
    r.order_id[0] = '\0';
    r.has_order = false;
    r.item[0] = '\0';
    r.quantity = 0;
    r.status = OL_STATUS_REJECTED;
    r.reason = OL_REASON_INVALID;
    r.has_remaining = false;
    r.remaining = 0;
    r.offset = 43;
    strcpy(r.error, "not valid JSON: '[' or '{' expected near 'hello' (line 1, column 5)");
    out[n++] = (sample){"rejected-invalid-unreadable", r};

    r = base_result();
    strcpy(r.order_id, "o-77");
    r.has_order = false;
    r.item[0] = '\0';
    r.quantity = 0;
    r.status = OL_STATUS_REJECTED;
    r.reason = OL_REASON_INVALID;
    r.has_remaining = false;
    r.remaining = 0;
    strcpy(r.error, "field 'quantity' must be an integer from 1 to 1000000, got 0");
    out[n++] = (sample){"rejected-invalid-readable-order-id", r};

    r = base_result();
    strcpy(r.order_id, "r-big");
    r.type = OL_TYPE_RESTOCK;
    r.quantity = 10;
    r.status = OL_STATUS_REJECTED;
    r.reason = OL_REASON_INVALID;
    r.has_remaining = false;
    r.remaining = 0;
    strcpy(r.error, "restock of 10 would take stock past 2147483647");
    out[n++] = (sample){"rejected-invalid-restock-overflow", r};

    r = base_result();
    r.duplicate = true;
    r.partition = 3;
    r.offset = 9000000000LL;
    out[n++] = (sample){"duplicate", r};

    r = base_result();
    strcpy(r.order_id, "o \"quoted\" \\ back/slash \x01 tab\t caf\xc3\xa9");
    strcpy(r.item, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8d\x8e");
    out[n++] = (sample){"escaped-strings", r};

    r = base_result();
    memset(r.order_id, 'i', OL_ORDER_ID_MAX);
    r.order_id[OL_ORDER_ID_MAX] = '\0';
    memset(r.item, 't', OL_ITEM_MAX);
    r.item[OL_ITEM_MAX] = '\0';
    r.type = OL_TYPE_RESTOCK;
    r.quantity = 1000000;
    r.remaining = 2147483647;
    r.partition = 2147483647;
    r.offset = 9223372036854775807LL;
    out[n++] = (sample){"limits", r};

    r = base_result();
    r.processed_at_us = 0;
    r.partition = 0;
    r.offset = 0;
    out[n++] = (sample){"epoch-zero", r};

    r = base_result();
    strcpy(r.order_id, "h-1");
    r.quantity = 2;
    r.status = OL_STATUS_HELD;
    r.remaining = 5;
    r.hold_expires_at_us = T0 + 900LL * 1000000;
    out[n++] = (sample){"held", r};

    r = base_result();
    strcpy(r.order_id, "c-1");
    r.type = OL_TYPE_CONFIRM;
    strcpy(r.target, "h-1");
    r.quantity = 2;
    r.remaining = 5;
    out[n++] = (sample){"confirm-accepted", r};

    r = base_result();
    strcpy(r.order_id, "x-1");
    r.type = OL_TYPE_CANCEL;
    strcpy(r.target, "o-9");
    r.quantity = 0;
    r.status = OL_STATUS_REJECTED;
    r.reason = OL_REASON_NOT_CANCELLABLE;
    out[n++] = (sample){"cancel-not-cancellable", r};

    r = base_result();
    strcpy(r.order_id, "h-1#expire");
    r.type = OL_TYPE_EXPIRE;
    strcpy(r.target, "h-1");
    r.quantity = 2;
    r.status = OL_STATUS_REJECTED;
    r.reason = OL_REASON_ALREADY_CONFIRMED;
    out[n++] = (sample){"expire-already-confirmed", r};

    cr_assert_leq(n, cap);
    return n;
}

#define MAX_SAMPLES 32

static void assert_results_equal(const ol_result *a, const ol_result *b, const char *what) {
    cr_assert_str_eq(a->order_id, b->order_id, "%s: order_id", what);
    cr_assert_eq(a->has_order, b->has_order, "%s: has_order", what);
    if (a->has_order) {
        cr_assert_str_eq(a->item, b->item, "%s: item", what);
        cr_assert_eq(a->type, b->type, "%s: type", what);
        cr_assert_eq(a->quantity, b->quantity, "%s: quantity", what);
    }
    cr_assert_eq(a->status, b->status, "%s: status", what);
    cr_assert_eq(a->reason, b->reason, "%s: reason", what);
    cr_assert_eq(a->has_remaining, b->has_remaining, "%s: has_remaining", what);
    if (a->has_remaining) cr_assert_eq(a->remaining, b->remaining, "%s: remaining", what);
    cr_assert_eq(a->duplicate, b->duplicate, "%s: duplicate", what);
    cr_assert_eq(a->partition, b->partition, "%s: partition", what);
    cr_assert_eq(a->offset, b->offset, "%s: offset", what);
    cr_assert_eq(a->processed_at_us, b->processed_at_us, "%s: processed_at", what);
    cr_assert_str_eq(a->error, b->error, "%s: error", what);
    cr_assert_str_eq(a->target, b->target, "%s: target", what);
    cr_assert_eq(a->hold_expires_at_us, b->hold_expires_at_us, "%s: hold_expires_at", what);
}

/* ---- names ----------------------------------------------------------- */

Test(result_names, status_and_reason_round_trip) {
    cr_assert_str_eq(ol_status_name(OL_STATUS_ACCEPTED), "accepted");
    cr_assert_str_eq(ol_status_name(OL_STATUS_REJECTED), "rejected");
    cr_assert_str_eq(ol_status_name(OL_STATUS_HELD), "held");
    for (int r = OL_REASON_INSUFFICIENT_STOCK; r <= OL_REASON_ALREADY_CANCELLED; r++) {
        ol_reason back;
        cr_assert(ol_reason_parse(ol_reason_name((ol_reason)r), &back) && back == (ol_reason)r, "reason %d", r);
    }
    cr_assert_null(ol_reason_name(OL_REASON_NONE));
    cr_assert_str_eq(ol_reason_name(OL_REASON_INSUFFICIENT_STOCK), "insufficient_stock");
    cr_assert_str_eq(ol_reason_name(OL_REASON_UNKNOWN_ITEM), "unknown_item");
    cr_assert_str_eq(ol_reason_name(OL_REASON_INVALID), "invalid");

    ol_status s;
    cr_assert(ol_status_parse("accepted", &s));
    cr_assert_eq(s, OL_STATUS_ACCEPTED);
    cr_assert(ol_status_parse("rejected", &s));
    cr_assert_eq(s, OL_STATUS_REJECTED);
    cr_assert_not(ol_status_parse("Accepted", &s));
    cr_assert_not(ol_status_parse("", &s));
    cr_assert_not(ol_status_parse(NULL, &s));

    ol_reason r = OL_REASON_INVALID;
    cr_assert(ol_reason_parse(NULL, &r));
    cr_assert_eq(r, OL_REASON_NONE);
    static const ol_reason all[] = {OL_REASON_INSUFFICIENT_STOCK, OL_REASON_UNKNOWN_ITEM, OL_REASON_INVALID};
    for (size_t i = 0; i < 3; i++) {
        cr_assert(ol_reason_parse(ol_reason_name(all[i]), &r));
        cr_assert_eq(r, all[i]);
    }
    cr_assert_not(ol_reason_parse("none", &r));
    cr_assert_not(ol_reason_parse("", &r));
}

/* ---- encoding -------------------------------------------------------- */

Test(result_encode, accepted_exact_bytes) {
    ol_result r = base_result();
    char *json = ol_result_to_json(&r);
    cr_assert_not_null(json);
    cr_assert_str_eq(json, "{\"order_id\":\"o-1001\",\"item\":\"apple\",\"type\":\"order\",\"quantity\":3,"
                           "\"status\":\"accepted\",\"reason\":null,\"remaining\":7,\"duplicate\":false,"
                           "\"partition\":1,\"offset\":42,\"processed_at\":\"2026-11-25T17:00:00.123456Z\"}");
    free(json);
}

Test(result_encode, invalid_unreadable_has_nulls_and_error) {
    ol_result r;
    memset(&r, 0, sizeof r);
    r.status = OL_STATUS_REJECTED;
    r.reason = OL_REASON_INVALID;
    r.partition = 0;
    r.offset = 5;
    r.processed_at_us = T0;
    strcpy(r.error, "empty message: expected a JSON object");
    char *json = ol_result_to_json(&r);
    cr_assert_not_null(json);
    cr_assert_str_eq(json, "{\"order_id\":null,\"item\":null,\"type\":null,\"quantity\":null,"
                           "\"status\":\"rejected\",\"reason\":\"invalid\",\"remaining\":null,\"duplicate\":false,"
                           "\"partition\":0,\"offset\":5,\"processed_at\":\"2026-11-25T17:00:00.123456Z\","
                           "\"error\":\"empty message: expected a JSON object\"}");
    free(json);
}

Test(result_encode, rejected_reasons_and_duplicate) {
    ol_result r = base_result();
    r.status = OL_STATUS_REJECTED;
    r.reason = OL_REASON_UNKNOWN_ITEM;
    r.has_remaining = false;
    r.duplicate = true;
    r.type = OL_TYPE_RESTOCK;
    char *json = ol_result_to_json(&r);
    cr_assert_not_null(json);
    cr_assert(strstr(json, "\"reason\":\"unknown_item\""), "%s", json);
    cr_assert(strstr(json, "\"remaining\":null"), "%s", json);
    cr_assert(strstr(json, "\"duplicate\":true"), "%s", json);
    cr_assert(strstr(json, "\"type\":\"restock\""), "%s", json);
    cr_assert_null(strstr(json, "\"error\""), "no error field without an error: %s", json);
    free(json);
}

Test(result_encode, strings_are_escaped) {
    ol_result r = base_result();
    strcpy(r.order_id, "a\"b\\c\nd\x01");
    char *json = ol_result_to_json(&r);
    cr_assert_not_null(json);
    cr_assert(strstr(json, "\"order_id\":\"a\\\"b\\\\c\\nd\\u0001\""), "%s", json);
    free(json);
}

/* The encoder copies plain ASCII in one go and escapes everything else:
 * either way its string must be what jansson's compact dump writes. */
Test(result_encode, strings_match_jansson_on_both_paths) {
    static const char *const ids[] = {"plain-id_01", "with space", "del\x7f",     "caf\xc3\xa9", "\xe2\x82\xac-euro",
                                      "tab\there",   "q\"uote",    "back\\slash", "\x1f",        "~!@$%^&*()"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        ol_result r = base_result();
        strcpy(r.order_id, ids[i]);
        char *json = ol_result_to_json(&r);
        cr_assert_not_null(json);
        json_t *s = json_string(ids[i]);
        char *want = json_dumps(s, JSON_COMPACT | JSON_ENCODE_ANY);
        char key[160];
        snprintf(key, sizeof key, "{\"order_id\":%s,", want);
        cr_assert(strncmp(json, key, strlen(key)) == 0, "id %zu: %s, want %s", i, json, key);
        free(want);
        json_decref(s);
        free(json);
    }
}

Test(result_encode, round_trips_every_sample) {
    sample samples[MAX_SAMPLES];
    size_t n = build_samples(samples, MAX_SAMPLES);
    for (size_t i = 0; i < n; i++) {
        char *json = ol_result_to_json(&samples[i].result);
        cr_assert_not_null(json);
        ol_result back;
        char err[256] = "";
        cr_assert(ol_result_from_json(json, strlen(json), &back, err, sizeof err), "%s: %s (%s)", samples[i].name, err,
                  json);
        assert_results_equal(&samples[i].result, &back, samples[i].name);
        char *again = ol_result_to_json(&back);
        cr_assert_str_eq(again, json, "%s: re-encoding differs", samples[i].name);
        free(again);
        free(json);
    }
}

/* ---- decoding -------------------------------------------------------- */

#define GOOD_TAIL "\"remaining\":7,\"duplicate\":false,\"partition\":1,\"offset\":42"
#define GOOD_HEAD "{\"order_id\":\"o1\",\"item\":\"apple\",\"type\":\"order\",\"quantity\":3,"

static bool decode(const char *json, ol_result *out, char *err, size_t errlen) {
    return ol_result_from_json(json, strlen(json), out, err, errlen);
}

Test(result_decode, processed_at_forms) {
    static const struct {
        const char *stamp;
        int64_t us;
    } cases[] = {
        {"2026-11-25T17:00:00.123456Z", T0},
        {"2026-11-25T17:00:00Z", T0 - 123456},
        {"2026-11-25T17:00:00.5Z", T0 - 123456 + 500000},
        {"2026-11-25T17:00:00.123456789Z", T0},
        {"1970-01-01T00:00:00.000001Z", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char json[512];
        snprintf(json, sizeof json,
                 GOOD_HEAD "\"status\":\"accepted\",\"reason\":null," GOOD_TAIL ",\"processed_at\":\"%s\"}",
                 cases[i].stamp);
        ol_result r;
        char err[256] = "";
        cr_expect(decode(json, &r, err, sizeof err), "%s rejected: %s", cases[i].stamp, err);
        cr_expect_eq(r.processed_at_us, cases[i].us, "%s decoded as %lld", cases[i].stamp,
                     (long long)r.processed_at_us);
    }
}

/* Found by tests/fuzz/fuzz_result.c: the last day of 9999's leap second
 * normalized to 10000-01-01T00:00:00Z, which the encoder wrote with five
 * digits and the decoder then refused. The last instant four digits hold is
 * accepted and reads back; anything later is refused. */
Test(result_decode, processed_at_after_9999_refused) {
    static const char *const stamps[] = {"9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:60Z",
                                         "9999-12-31T23:59:60.999999Z", "9999-12-31T23:60:00Z"};
    for (size_t i = 0; i < sizeof stamps / sizeof stamps[0]; i++) {
        char json[512], err[256] = "";
        snprintf(json, sizeof json,
                 GOOD_HEAD "\"status\":\"accepted\",\"reason\":null," GOOD_TAIL ",\"processed_at\":\"%s\"}", stamps[i]);
        ol_result r, back;
        bool ok = decode(json, &r, err, sizeof err);
        cr_assert_eq(ok, i == 0, "%s: %s", stamps[i], ok ? "accepted" : err);
        if (!ok) continue;
        char *again = ol_result_to_json(&r);
        cr_assert(decode(again, &back, err, sizeof err), "%s does not read back: %s", again, err);
        cr_assert_eq(back.processed_at_us, r.processed_at_us);
        free(again);
    }
}

Test(result_decode, nulls_for_an_unreadable_message) {
    const char *json = "{\"order_id\":null,\"item\":null,\"type\":null,\"quantity\":null,"
                       "\"status\":\"rejected\",\"reason\":\"invalid\",\"remaining\":null,\"duplicate\":false,"
                       "\"partition\":2,\"offset\":8,\"processed_at\":\"2026-11-25T17:00:00.123456Z\","
                       "\"error\":\"bad\"}";
    ol_result r;
    char err[256] = "";
    cr_assert(decode(json, &r, err, sizeof err), "%s", err);
    cr_assert_str_eq(r.order_id, "");
    cr_assert_not(r.has_order);
    cr_assert_eq(r.status, OL_STATUS_REJECTED);
    cr_assert_eq(r.reason, OL_REASON_INVALID);
    cr_assert_not(r.has_remaining);
    cr_assert_not(r.duplicate);
    cr_assert_eq(r.partition, 2);
    cr_assert_eq(r.offset, 8);
    cr_assert_eq(r.processed_at_us, T0);
    cr_assert_str_eq(r.error, "bad");
}

Test(result_decode, rejects_broken_results) {
    static const char *cases[] = {
        "",
        "not json",
        "[]",
        "{}",
        GOOD_HEAD "\"reason\":null," GOOD_TAIL ",\"processed_at\":\"2026-11-25T17:00:00Z\"}", /* no status */
        GOOD_HEAD "\"status\":\"maybe\",\"reason\":null," GOOD_TAIL ",\"processed_at\":\"2026-11-25T17:00:00Z\"}",
        GOOD_HEAD "\"status\":\"rejected\",\"reason\":\"bogus\"," GOOD_TAIL
                  ",\"processed_at\":\"2026-11-25T17:00:00Z\"}",
        GOOD_HEAD "\"status\":\"accepted\",\"reason\":null,\"remaining\":7,\"duplicate\":\"no\",\"partition\":1,"
                  "\"offset\":42,\"processed_at\":\"2026-11-25T17:00:00Z\"}",
        GOOD_HEAD "\"status\":\"accepted\",\"reason\":null,\"remaining\":7,\"duplicate\":false,\"partition\":\"1\","
                  "\"offset\":42,\"processed_at\":\"2026-11-25T17:00:00Z\"}",
        GOOD_HEAD "\"status\":\"accepted\",\"reason\":null,\"remaining\":7,\"duplicate\":false,"
                  "\"offset\":42,\"processed_at\":\"2026-11-25T17:00:00Z\"}",
        GOOD_HEAD "\"status\":\"accepted\",\"reason\":null," GOOD_TAIL "}",
        GOOD_HEAD "\"status\":\"accepted\",\"reason\":null," GOOD_TAIL ",\"processed_at\":\"yesterday\"}",
        GOOD_HEAD "\"status\":\"accepted\",\"reason\":null," GOOD_TAIL
                  ",\"processed_at\":\"2026-11-25T17:00:00+01:00\"}",
        GOOD_HEAD "\"status\":\"accepted\",\"reason\":null," GOOD_TAIL ",\"processed_at\":\"2026-11-25T17:00:00.Z\"}",
        GOOD_HEAD "\"status\":\"accepted\",\"reason\":null," GOOD_TAIL ",\"processed_at\":\"2026-11-25T17:00:00\"}",
        GOOD_HEAD "\"status\":\"accepted\",\"reason\":null," GOOD_TAIL ",\"processed_at\":1795626000}",
        "{\"order_id\":5,\"item\":\"apple\",\"type\":\"order\",\"quantity\":3,\"status\":\"accepted\","
        "\"reason\":null," GOOD_TAIL ",\"processed_at\":\"2026-11-25T17:00:00Z\"}",
        "{\"order_id\":\"o1\",\"item\":[],\"type\":\"order\",\"quantity\":3,\"status\":\"accepted\","
        "\"reason\":null," GOOD_TAIL ",\"processed_at\":\"2026-11-25T17:00:00Z\"}",
        GOOD_HEAD "\"status\":\"rejected\",\"reason\":7," GOOD_TAIL ",\"processed_at\":\"2026-11-25T17:00:00Z\"}",
        GOOD_HEAD "\"status\":\"accepted\",\"reason\":null," GOOD_TAIL
                  ",\"processed_at\":\"2026-11-25T17:00:00Z\",\"error\":5}",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ol_result r;
        char err[256] = "";
        cr_expect_not(decode(cases[i], &r, err, sizeof err), "case %zu accepted: %s", i, cases[i]);
        cr_expect_neq(err[0], '\0', "case %zu rejected without an error", i);
    }
}

/* {"order_id":ID,"item":ITEM,...,"error":ERROR} with the strings given. */
static char *result_with(const char *order_id, const char *item, const char *error) {
    ol_buf b;
    ol_buf_init(&b);
    cr_assert(ol_buf_appendf(&b,
                             "{\"order_id\":\"%s\",\"item\":\"%s\",\"type\":\"order\",\"quantity\":3,"
                             "\"status\":\"rejected\",\"reason\":\"invalid\"," GOOD_TAIL
                             ",\"processed_at\":\"2026-11-25T17:00:00Z\",\"error\":\"%s\"}",
                             order_id, item, error));
    return b.data;
}

static char *repeat(const char *unit, size_t times) {
    ol_buf b;
    ol_buf_init(&b);
    for (size_t i = 0; i < times; i++) cr_assert(ol_buf_appends(&b, unit));
    return b.data;
}

/* Found by tests/fuzz/fuzz_result.c: an order_id or item longer than its
 * limit was cut at the limit, possibly inside a character; the cut text is
 * not UTF-8, the encoder wrote it as \xNN and it read back as another id
 * (and a cut id could match another order's waiter). Such a result is
 * refused; an error text is cut at a character boundary. */
Test(result_decode, overlong_strings_refused_and_error_cut_whole) {
    ol_result r, back;
    char err[256];
    char *a126 = repeat("a", OL_ORDER_ID_MAX - 2), *a127 = repeat("a", OL_ORDER_ID_MAX - 1);
    char *id_fits = NULL, *id_long = NULL, *item_long = repeat("i", OL_ITEM_MAX + 1), *errors = repeat("\xc3\xa9", 200);
    cr_assert(asprintf(&id_fits, "%s\xc3\xa9", a126) > 0 && asprintf(&id_long, "%s\xc3\xa9", a127) > 0);

    char *json = result_with(id_fits, "apple", "e");
    cr_assert(decode(json, &r, err, sizeof err), "128 bytes refused: %s", err);
    cr_assert_str_eq(r.order_id, id_fits);
    free(json);
    json = result_with(id_long, "apple", "e");
    cr_assert_not(decode(json, &r, err, sizeof err), "129 bytes accepted");
    cr_assert_str_eq(err, "result: field 'order_id' is longer than 128 bytes");
    free(json);
    json = result_with("o1", item_long, "e");
    cr_assert_not(decode(json, &r, err, sizeof err), "65 bytes of item accepted");
    free(json);

    json = result_with("o1", "apple", errors);
    cr_assert(decode(json, &r, err, sizeof err), "%s", err);
    cr_assert_eq(strlen(r.error), OL_ERROR_MAX - 2, "cut before the character that does not fit");
    cr_assert(ol_utf8_valid(r.error, strlen(r.error)));
    char *again = ol_result_to_json(&r);
    cr_assert(decode(again, &back, err, sizeof err), "%s", err);
    cr_assert_str_eq(back.error, r.error, "the error reads back as it was");
    free(again);
    free(json);
    char *owned[] = {a126, a127, id_fits, id_long, item_long, errors};
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) free(owned[i]);
}

/* ---- samples --------------------------------------------------------- */

static void sample_path(char *path, size_t len, const char *kind, const char *name) {
    snprintf(path, len, "%s/tests/samples/result/%s/%s.json", ORDERLINE_SOURCE_DIR, kind, name);
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    ol_buf buf;
    ol_buf_init(&buf);
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) cr_assert(ol_buf_append(&buf, chunk, got));
    fclose(f);
    if (!buf.data) cr_assert(ol_buf_append(&buf, "", 0));
    *len = buf.len;
    return buf.data;
}

Test(result_samples, encoder_output_matches) {
    sample samples[MAX_SAMPLES];
    size_t n = build_samples(samples, MAX_SAMPLES);
    bool update = getenv("ORDERLINE_UPDATE_SAMPLES") != NULL;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        sample_path(path, sizeof path, "valid", samples[i].name);
        char *json = ol_result_to_json(&samples[i].result);
        cr_assert_not_null(json);
        if (update) {
            FILE *f = fopen(path, "wb");
            cr_assert_not_null(f, "cannot write %s", path);
            fprintf(f, "%s\n", json);
            cr_assert_eq(fclose(f), 0);
        }
        size_t len;
        char *file = read_file(path, &len);
        cr_assert_not_null(file, "missing sample %s (ORDERLINE_UPDATE_SAMPLES=1 writes it)", path);
        if (len > 0 && file[len - 1] == '\n') file[--len] = '\0';
        cr_expect_str_eq(file, json, "result/valid/%s.json is not what the encoder writes now", samples[i].name);
        free(file);
        free(json);
    }
}

Test(result_samples, valid_samples_decode) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/samples/result/valid", ORDERLINE_SOURCE_DIR);
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot open %s", dir);
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t nlen = strlen(e->d_name);
        if (nlen < 6 || strcmp(e->d_name + nlen - 5, ".json") != 0) continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len;
        char *json = read_file(path, &len);
        cr_assert_not_null(json, "cannot read %s", path);
        ol_result r;
        char err[256] = "";
        cr_expect(ol_result_from_json(json, len, &r, err, sizeof err), "result/valid/%s rejected: %s", e->d_name, err);
        free(json);
        count++;
    }
    closedir(d);
    cr_assert_geq(count, 8, "only %zu result samples", count);
}

/* ---- the fast path against the general one ---------------------------- */

/* value read by both paths: when the fast one takes it, the general one
 * must too, to the same bytes of ol_result. Returns whether it was taken. */
static bool check_paths_agree(const char *value) {
    ol_result flat, general;
    char err[OL_ERROR_MAX] = "";
    bool flat_ok = ol_result_parse_flat(value, strlen(value), &flat);
    bool general_ok = ol_result_parse_general(value, strlen(value), &general, err, sizeof err);
    if (flat_ok) {
        cr_assert(general_ok, "the fast path took what the general path refuses (%s): %s", err, value);
        cr_assert(memcmp(&flat, &general, sizeof flat) == 0, "the two paths read differently: %s", value);
    }
    ol_result both;
    cr_assert_eq(ol_result_from_json(value, strlen(value), &both, err, sizeof err), general_ok, "%s", value);
    return flat_ok;
}

/* What the fast path is for: printable ASCII, no escape, no number longer
 * than OL_FLAT_MAX_DIGITS (offsets of 10^15 are not written). */
static bool plain_printable(const char *s) {
    size_t digits = 0;
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e || *s == '\\') return false;
        digits = *s >= '0' && *s <= '9' ? digits + 1 : 0;
        if (digits > 15) return false;
    }
    return true;
}

/* Every kind of answer the consumer writes, in plain ASCII, takes the fast
 * path (it exists for them) and reads as the general path reads it. */
Test(result_fast_path, takes_every_plain_answer_the_encoder_writes) {
    sample samples[32];
    size_t n = build_samples(samples, 32), taken = 0;
    for (size_t i = 0; i < n; i++) {
        char *json = ol_result_to_json(&samples[i].result);
        cr_assert_not_null(json);
        bool flat = check_paths_agree(json);
        if (plain_printable(json)) cr_assert(flat, "%s: declined %s", samples[i].name, json);
        taken += flat;
        free(json);
    }
    cr_assert_gt(taken, 5);
}

#define R_HEAD "{\"order_id\":\"o1\",\"item\":\"apple\",\"type\":\"order\",\"quantity\":3,"
#define R_TAIL "\"duplicate\":false,\"partition\":1,\"offset\":42,\"processed_at\":\"2026-11-25T17:00:00.123456Z\""

Test(result_fast_path, agrees_on_edges_or_declines) {
    static const char *const cases[] = {
        R_HEAD "\"status\":\"accepted\",\"reason\":null,\"remaining\":7," R_TAIL "}",
        R_HEAD "\"status\":\"accepted\",\"reason\":null,\"remaining\":7," R_TAIL ",\"extra\":[1,{}]}",
        R_HEAD "\"status\":\"accepted\",\"reason\":null,\"remaining\":7," R_TAIL ",\"extra\":true}",
        R_HEAD "\"status\":\"accepted\",\"reason\":null,\"remaining\":\"7\"," R_TAIL "}",
        R_HEAD "\"status\":\"bogus\",\"reason\":null,\"remaining\":7," R_TAIL "}",
        R_HEAD "\"status\":\"rejected\",\"reason\":\"bogus\",\"remaining\":7," R_TAIL "}",
        R_HEAD "\"status\":\"rejected\",\"reason\":7,\"remaining\":7," R_TAIL "}",
        R_HEAD "\"status\":null,\"reason\":null,\"remaining\":7," R_TAIL "}",
        R_HEAD "\"status\":\"accepted\",\"remaining\":7," R_TAIL "}", /* no reason */
        R_HEAD "\"status\":\"accepted\",\"reason\":null," R_TAIL "}", /* no remaining */
        R_HEAD "\"status\":\"held\",\"reason\":null,\"remaining\":7," R_TAIL
               ",\"hold_expires_at\":\"2026-11-25T17:01:00Z\"}",
        R_HEAD "\"status\":\"held\",\"reason\":null,\"remaining\":7," R_TAIL ",\"hold_expires_at\":null}",
        R_HEAD "\"status\":\"held\",\"reason\":null,\"remaining\":7," R_TAIL ",\"hold_expires_at\":\"soon\"}",
        R_HEAD "\"status\":\"accepted\",\"reason\":null,\"remaining\":7," R_TAIL ",\"target\":\"o0\"}",
        R_HEAD "\"status\":\"accepted\",\"reason\":null,\"remaining\":7," R_TAIL ",\"target\":null}",
        R_HEAD "\"status\":\"accepted\",\"reason\":null,\"remaining\":7," R_TAIL ",\"error\":\"why\"}",
        R_HEAD "\"status\":\"accepted\",\"reason\":null,\"remaining\":7," R_TAIL ",\"error\":null}",
        /* the order's fields: null, or not all there */
        "{\"order_id\":null,\"item\":null,\"type\":null,\"quantity\":null,\"status\":\"rejected\",\"reason\":"
        "\"invalid\",\"remaining\":null," R_TAIL "}",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"type\":\"bogus\",\"quantity\":null,\"status\":\"rejected\","
        "\"reason\":\"invalid\",\"remaining\":null," R_TAIL "}",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"type\":\"bogus\",\"quantity\":3,\"status\":\"rejected\","
        "\"reason\":\"invalid\",\"remaining\":null," R_TAIL "}",
        "{\"order_id\":\"o1\",\"item\":3,\"type\":\"order\",\"quantity\":3,\"status\":\"accepted\","
        "\"reason\":null,\"remaining\":1," R_TAIL "}",
        "{\"order_id\":\"\",\"item\":\"\",\"type\":\"order\",\"quantity\":3,\"status\":\"accepted\","
        "\"reason\":null,\"remaining\":1," R_TAIL "}",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"type\":\"order\",\"quantity\":3.5,\"status\":\"accepted\","
        "\"reason\":null,\"remaining\":1," R_TAIL "}",
        /* the position */
        R_HEAD "\"status\":\"accepted\",\"reason\":null,\"remaining\":7,\"duplicate\":true,\"partition\":-1,"
               "\"offset\":999999999999999,\"processed_at\":\"2026-11-25T17:00:00Z\"}",
        R_HEAD "\"status\":\"accepted\",\"reason\":null,\"remaining\":7,\"duplicate\":1,\"partition\":1,"
               "\"offset\":4,\"processed_at\":\"2026-11-25T17:00:00Z\"}",
        R_HEAD "\"status\":\"accepted\",\"reason\":null,\"remaining\":7,\"duplicate\":false,\"partition\":1.0,"
               "\"offset\":4,\"processed_at\":\"2026-11-25T17:00:00Z\"}",
        R_HEAD "\"status\":\"accepted\",\"reason\":null,\"remaining\":7,\"duplicate\":false,\"partition\":1,"
               "\"offset\":4,\"processed_at\":\"yesterday\"}",
        R_HEAD "\"status\":\"accepted\",\"reason\":null,\"remaining\":7,\"duplicate\":false,\"partition\":1,"
               "\"offset\":4}",
    };
    size_t taken = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) taken += check_paths_agree(cases[i]);
    cr_assert_eq(taken, 10, "taken: %zu", taken); /* the plain ones: 0, 2, 3, 10, 13, 15, 17, 18, 21, 23 */
}

/* Longest fields: at the limit the fast path reads them; one byte over, it
 * declines and the general path refuses (order_id) as before. */
Test(result_fast_path, field_limits) {
    char id[OL_ORDER_ID_MAX + 2], value[1024];
    memset(id, 'x', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    snprintf(value, sizeof value,
             "{\"order_id\":\"%s\",\"item\":\"apple\",\"type\":\"order\",\"quantity\":3,\"status\":\"accepted\","
             "\"reason\":null,\"remaining\":7," R_TAIL "}",
             id + 1);
    cr_assert(check_paths_agree(value));
    snprintf(value, sizeof value,
             "{\"order_id\":\"%s\",\"item\":\"apple\",\"type\":\"order\",\"quantity\":3,\"status\":\"accepted\","
             "\"reason\":null,\"remaining\":7," R_TAIL "}",
             id);
    cr_assert_not(check_paths_agree(value));
}

/* Unit tests for ol_order: validation of order messages, and agreement
 * with schemas/order.schema.json through tests/samples/order. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ol_order.h"
#include "ol_str.h"

#define BASE "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3}"

/* Parses a NUL-terminated value with no key. */
static bool parse(const char *value, ol_order *out, char *err, size_t errlen) {
    return ol_order_parse(value, strlen(value), NULL, 0, out, err, errlen);
}

static bool parse_key(const char *value, const char *key, size_t key_len, ol_order *out, char *err, size_t errlen) {
    return ol_order_parse(value, strlen(value), key, key_len, out, err, errlen);
}

/* {"order_id":"<order_id>","item":"<item>",<rest>} in a buffer the caller
 * frees with ol_buf_free. */
static ol_buf order_json(const char *order_id, const char *item, const char *rest) {
    ol_buf b;
    ol_buf_init(&b);
    cr_assert(ol_buf_appendf(&b, "{\"order_id\":\"%s\",\"item\":\"%s\",%s}", order_id, item, rest));
    return b;
}

static char *repeat(const char *unit, size_t times) {
    size_t n = strlen(unit);
    char *s = malloc(n * times + 1);
    cr_assert_not_null(s);
    for (size_t i = 0; i < times; i++) memcpy(s + i * n, unit, n);
    s[n * times] = '\0';
    return s;
}

/* ---- valid orders ---------------------------------------------------- */

Test(order_valid, minimal_defaults_to_order) {
    ol_order o;
    char err[OL_ERROR_MAX] = "untouched";
    cr_assert(parse(BASE, &o, err, sizeof err), "rejected: %s", err);
    cr_assert_str_eq(o.order_id, "o1");
    cr_assert_str_eq(o.item, "apple");
    cr_assert_eq(o.quantity, 3);
    cr_assert_eq(o.type, OL_TYPE_ORDER);
}

Test(order_valid, explicit_types) {
    ol_order o;
    char err[OL_ERROR_MAX];
    cr_assert(
        parse("{\"order_id\":\"r1\",\"item\":\"apple\",\"quantity\":40,\"type\":\"restock\"}", &o, err, sizeof err),
        "rejected: %s", err);
    cr_assert_eq(o.type, OL_TYPE_RESTOCK);
    cr_assert_eq(o.quantity, 40);
    cr_assert(parse("{\"type\":\"order\",\"quantity\":1,\"item\":\"x\",\"order_id\":\"o\"}", &o, err, sizeof err),
              "rejected: %s", err);
    cr_assert_eq(o.type, OL_TYPE_ORDER);
    cr_assert_str_eq(o.order_id, "o");
    cr_assert_str_eq(o.item, "x");
}

Test(order_valid, type_names) {
    cr_assert_str_eq(ol_order_type_name(OL_TYPE_ORDER), "order");
    cr_assert_str_eq(ol_order_type_name(OL_TYPE_RESTOCK), "restock");
}

Test(order_valid, quantity_forms_json_schema_calls_integer) {
    static const struct {
        const char *text;
        int32_t want;
    } cases[] = {
        {"1", 1},      {"1000000", 1000000}, {"3.0", 3}, {"10.00", 10},
        {"1e3", 1000}, {"1.0E6", 1000000},   {"2e0", 2}, {"7", 7},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rest[64];
        snprintf(rest, sizeof rest, "\"quantity\":%s", cases[i].text);
        ol_buf json = order_json("o1", "apple", rest);
        ol_order o;
        char err[OL_ERROR_MAX] = "";
        cr_expect(parse(json.data, &o, err, sizeof err), "quantity %s rejected: %s", cases[i].text, err);
        cr_expect_eq(o.quantity, cases[i].want, "quantity %s parsed as %d", cases[i].text, o.quantity);
        ol_buf_free(&json);
    }
}

Test(order_valid, extra_fields_ignored) {
    static const char *cases[] = {
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"note\":\"gift\"}",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"meta\":{\"a\":[1,2,{\"b\":null}]},\"x\":null}",
        "{\"Order_ID\":5,\"order_id\":\"o1\",\"ITEM\":[],\"item\":\"apple\",\"quantity\":3,\"Type\":\"bogus\"}",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"price\":2.5,\"ok\":true}",
        /* Bigger than int64 in a field nobody reads: still a valid order. */
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"ts_ns\":18446744073709551616}",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"client\":\"caf\xc3\xa9 \\u00e9\"}",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ol_order o;
        char err[OL_ERROR_MAX] = "";
        cr_expect(parse(cases[i], &o, err, sizeof err), "case %zu rejected: %s", i, err);
        cr_expect_str_eq(o.order_id, "o1", "case %zu", i);
        cr_expect_str_eq(o.item, "apple", "case %zu", i);
        cr_expect_eq(o.quantity, 3, "case %zu", i);
        cr_expect_eq(o.type, OL_TYPE_ORDER, "case %zu", i);
    }
}

Test(order_valid, whitespace_and_pretty_printing) {
    ol_order o;
    char err[OL_ERROR_MAX];
    cr_assert(parse("  \n\t" BASE "\r\n", &o, err, sizeof err), "rejected: %s", err);
    cr_assert(
        parse("{\n  \"order_id\" : \"o1\",\n  \"item\" : \"apple\",\n  \"quantity\" : 3\n}\n", &o, err, sizeof err),
        "rejected: %s", err);
    cr_assert_str_eq(o.item, "apple");
}

Test(order_valid, string_escapes_are_decoded) {
    ol_order o;
    char err[OL_ERROR_MAX];
    cr_assert(
        parse("{\"order_id\":\"a\\\"b\\\\c\\/d\\n\",\"item\":\"\\u00e9t\\u00e9\",\"quantity\":1}", &o, err, sizeof err),
        "rejected: %s", err);
    cr_assert_str_eq(o.order_id, "a\"b\\c/d\n");
    cr_assert_str_eq(o.item, "\xc3\xa9t\xc3\xa9");
    /* A surrogate pair escape becomes one 4-byte character. */
    cr_assert(parse("{\"order_id\":\"o\",\"item\":\"\\ud83c\\udf4e\",\"quantity\":1}", &o, err, sizeof err),
              "rejected: %s", err);
    cr_assert_str_eq(o.item, "\xf0\x9f\x8d\x8e");
}

Test(order_valid, value_len_is_respected) {
    /* Kafka values are not NUL-terminated: only value_len bytes count. */
    const char *buf = BASE "GARBAGE";
    ol_order o;
    char err[OL_ERROR_MAX];
    cr_assert(ol_order_parse(buf, strlen(BASE), NULL, 0, &o, err, sizeof err), "rejected: %s", err);
    cr_assert_str_eq(o.item, "apple");
}

Test(order_valid, out_is_fully_overwritten) {
    ol_order o;
    memset(&o, 'Z', sizeof o);
    o.type = OL_TYPE_RESTOCK;
    char err[OL_ERROR_MAX];
    cr_assert(parse(BASE, &o, err, sizeof err), "rejected: %s", err);
    cr_assert_str_eq(o.order_id, "o1");
    cr_assert_str_eq(o.item, "apple");
    cr_assert_eq(o.type, OL_TYPE_ORDER);
}

/* ---- length limits (bytes, not characters) --------------------------- */

Test(order_limits, ascii_exact_limits_pass_and_one_more_fails) {
    char *id128 = repeat("i", OL_ORDER_ID_MAX), *id129 = repeat("i", OL_ORDER_ID_MAX + 1);
    char *item64 = repeat("t", OL_ITEM_MAX), *item65 = repeat("t", OL_ITEM_MAX + 1);
    ol_order o;
    char err[OL_ERROR_MAX];

    ol_buf ok = order_json(id128, item64, "\"quantity\":1");
    cr_assert(parse(ok.data, &o, err, sizeof err), "128-byte order_id / 64-byte item rejected: %s", err);
    cr_assert_str_eq(o.order_id, id128);
    cr_assert_str_eq(o.item, item64);
    cr_assert(parse_key(ok.data, item64, strlen(item64), &o, err, sizeof err), "rejected with key: %s", err);

    ol_buf long_id = order_json(id129, "apple", "\"quantity\":1");
    cr_assert_not(parse(long_id.data, &o, err, sizeof err), "129-byte order_id accepted");
    cr_assert(strstr(err, "order_id"), "error does not name order_id: %s", err);
    cr_assert_str_eq(o.order_id, "", "an overlong order_id must not be kept (even truncated)");

    ol_buf long_item = order_json("o1", item65, "\"quantity\":1");
    cr_assert_not(parse(long_item.data, &o, err, sizeof err), "65-byte item accepted");
    cr_assert(strstr(err, "item"), "error does not name item: %s", err);
    cr_assert_str_eq(o.order_id, "o1");

    ol_buf_free(&ok);
    ol_buf_free(&long_id);
    ol_buf_free(&long_item);
    free(id128);
    free(id129);
    free(item64);
    free(item65);
}

Test(order_limits, multibyte_counts_bytes) {
    ol_order o;
    char err[OL_ERROR_MAX];
    static const struct {
        const char *unit; /* one character */
        size_t times;
        const char *suffix;
        bool item_ok; /* 64 bytes or fewer */
    } cases[] = {
        {"\xc3\xa9", 32, "", true},           /* 32 x 2 bytes = 64 */
        {"\xc3\xa9", 32, "a", false},         /* 65 bytes, 33 characters */
        {"\xc3\xa9", 33, "", false},          /* 66 */
        {"\xe2\x82\xac", 21, "a", true},      /* 63 + 1 = 64 */
        {"\xe2\x82\xac", 22, "", false},      /* 66 bytes, 22 characters */
        {"\xf0\x9f\x8d\x8e", 16, "", true},   /* 64 */
        {"\xf0\x9f\x8d\x8e", 16, "a", false}, /* 65 bytes, 17 characters */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *body = repeat(cases[i].unit, cases[i].times);
        ol_buf item;
        ol_buf_init(&item);
        cr_assert(ol_buf_appendf(&item, "%s%s", body, cases[i].suffix));
        ol_buf json = order_json("o1", item.data, "\"quantity\":1");
        bool ok = parse_key(json.data, item.data, item.len, &o, err, sizeof err);
        cr_expect_eq(ok, cases[i].item_ok, "item of %zu bytes: %s (%s)", item.len, ok ? "accepted" : "rejected", err);
        if (ok) cr_expect_str_eq(o.item, item.data);
        else cr_expect(strstr(err, "item"), "error does not name item: %s", err);
        ol_buf_free(&json);
        ol_buf_free(&item);
        free(body);
    }

    /* order_id: 64 x U+00E9 = 128 bytes passes, also when escaped; one
     * more character fails. */
    char *id = repeat("\xc3\xa9", 64);
    ol_buf json = order_json(id, "apple", "\"quantity\":1");
    cr_assert(parse(json.data, &o, err, sizeof err), "128-byte multi-byte order_id rejected: %s", err);
    cr_assert_str_eq(o.order_id, id);
    ol_buf_free(&json);
    char *escaped = repeat("\\u00e9", 64);
    json = order_json(escaped, "apple", "\"quantity\":1");
    cr_assert(parse(json.data, &o, err, sizeof err), "escaped 128-byte order_id rejected: %s", err);
    cr_assert_str_eq(o.order_id, id);
    ol_buf_free(&json);
    free(escaped);
    escaped = repeat("\\u00e9", 65);
    json = order_json(escaped, "apple", "\"quantity\":1");
    cr_assert_not(parse(json.data, &o, err, sizeof err), "130-byte order_id (65 characters) accepted");
    cr_assert(strstr(err, "order_id"), "error does not name order_id: %s", err);
    ol_buf_free(&json);
    free(escaped);
    char *euro = repeat("\xe2\x82\xac", 43); /* 129 bytes, 43 characters */
    json = order_json(euro, "apple", "\"quantity\":1");
    cr_assert_not(parse(json.data, &o, err, sizeof err), "129-byte order_id (43 characters) accepted");
    ol_buf_free(&json);
    free(euro);
    free(id);
}

/* ---- invalid orders -------------------------------------------------- */

typedef struct bad_case {
    const char *name;
    const char *value;
    size_t len;
    const char *err_has;  /* the error must contain this (NULL: any error) */
    const char *order_id; /* what out->order_id must hold afterwards */
} bad_case;

/* sizeof, not strlen: some values hold NUL bytes. */
#define BAD(name, lit, has, id)                                                                                        \
    { name, lit, sizeof(lit) - 1, has, id }

static void run_bad_cases(const bad_case *cases, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const bad_case *c = &cases[i];
        ol_order o;
        memset(&o, 'Z', sizeof o);
        char err[OL_ERROR_MAX] = "";
        bool ok = ol_order_parse(c->value, c->len, NULL, 0, &o, err, sizeof err);
        cr_expect_not(ok, "[%s] accepted", c->name);
        if (ok) continue;
        cr_expect_neq(err[0], '\0', "[%s] rejected without an error message", c->name);
        if (c->err_has)
            cr_expect(strstr(err, c->err_has) != NULL, "[%s] error does not mention '%s': %s", c->name, c->err_has,
                      err);
        cr_expect(memchr(o.order_id, '\0', sizeof o.order_id) != NULL, "[%s] order_id not terminated", c->name);
        cr_expect_str_eq(o.order_id, c->order_id, "[%s] order_id after failure is '%s', want '%s'", c->name, o.order_id,
                         c->order_id);
    }
}

#define RUN(cases) run_bad_cases(cases, sizeof cases / sizeof cases[0])

Test(order_invalid, not_an_object) {
    static const bad_case cases[] = {
        BAD("empty message", "", "empty", ""),
        BAD("space", " ", NULL, ""),
        BAD("whitespace only", " \t\r\n ", NULL, ""),
        BAD("newline", "\n", NULL, ""),
        BAD("empty array", "[]", "object", ""),
        BAD("array of order", "[" BASE "]", "object", ""),
        BAD("string", "\"order\"", NULL, ""),
        BAD("number", "42", NULL, ""),
        BAD("float", "3.5", NULL, ""),
        BAD("null", "null", NULL, ""),
        BAD("true", "true", NULL, ""),
        BAD("false", "false", NULL, ""),
        BAD("NUL byte", "\0", NULL, ""),
    };
    RUN(cases);
}

Test(order_invalid, not_json) {
    static const bad_case cases[] = {
        BAD("open brace", "{", "JSON", ""),
        BAD("truncated", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3", "JSON", ""),
        BAD("single quotes", "{'order_id':'o1','item':'apple','quantity':3}", "JSON", ""),
        BAD("unquoted keys", "{order_id:\"o1\",item:\"apple\",quantity:3}", "JSON", ""),
        BAD("trailing comma", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,}", "JSON", ""),
        BAD("trailing garbage", BASE "x", "JSON", ""),
        BAD("two objects", BASE BASE, "JSON", ""),
        BAD("two lines", BASE "\n" BASE, "JSON", ""),
        BAD("NUL after object", BASE "\0", NULL, ""),
        BAD("NaN", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":NaN}", "JSON", ""),
        BAD("Infinity", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":Infinity}", "JSON", ""),
        BAD("hex number", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":0x3}", "JSON", ""),
        BAD("leading plus", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":+3}", "JSON", ""),
        BAD("leading zero", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":03}", "JSON", ""),
        BAD("raw newline in string", "{\"order_id\":\"o\n1\",\"item\":\"apple\",\"quantity\":3}", "JSON", ""),
        BAD("bad escape", "{\"order_id\":\"o\\x41\",\"item\":\"apple\",\"quantity\":3}", "JSON", ""),
        BAD("comment", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3 /* x */}", "JSON", ""),
    };
    RUN(cases);
}

Test(order_invalid, missing_fields) {
    static const bad_case cases[] = {
        BAD("empty object", "{}", "order_id", ""),
        BAD("missing order_id", "{\"item\":\"apple\",\"quantity\":3}", "order_id", ""),
        BAD("missing item", "{\"order_id\":\"o1\",\"quantity\":3}", "item", "o1"),
        BAD("missing quantity", "{\"order_id\":\"o1\",\"item\":\"apple\"}", "quantity", "o1"),
        BAD("misspelled item", "{\"order_id\":\"o1\",\"Item\":\"apple\",\"quantity\":3}", "item", "o1"),
        BAD("misspelled quantity", "{\"order_id\":\"o1\",\"item\":\"apple\",\"qty\":3}", "quantity", "o1"),
        BAD("fields nested", "{\"order\":" BASE "}", "order_id", ""),
    };
    RUN(cases);
}

Test(order_invalid, order_id_wrong_type_or_empty) {
    static const bad_case cases[] = {
        BAD("integer", "{\"order_id\":1,\"item\":\"apple\",\"quantity\":3}", "order_id", ""),
        BAD("real", "{\"order_id\":1.5,\"item\":\"apple\",\"quantity\":3}", "order_id", ""),
        BAD("null", "{\"order_id\":null,\"item\":\"apple\",\"quantity\":3}", "order_id", ""),
        BAD("true", "{\"order_id\":true,\"item\":\"apple\",\"quantity\":3}", "order_id", ""),
        BAD("array", "{\"order_id\":[\"o1\"],\"item\":\"apple\",\"quantity\":3}", "order_id", ""),
        BAD("object", "{\"order_id\":{\"id\":\"o1\"},\"item\":\"apple\",\"quantity\":3}", "order_id", ""),
        BAD("empty string", "{\"order_id\":\"\",\"item\":\"apple\",\"quantity\":3}", "order_id", ""),
    };
    RUN(cases);
}

Test(order_invalid, item_wrong_type_or_empty) {
    static const bad_case cases[] = {
        BAD("integer", "{\"order_id\":\"o1\",\"item\":7,\"quantity\":3}", "item", "o1"),
        BAD("null", "{\"order_id\":\"o1\",\"item\":null,\"quantity\":3}", "item", "o1"),
        BAD("false", "{\"order_id\":\"o1\",\"item\":false,\"quantity\":3}", "item", "o1"),
        BAD("array", "{\"order_id\":\"o1\",\"item\":[],\"quantity\":3}", "item", "o1"),
        BAD("object", "{\"order_id\":\"o1\",\"item\":{\"name\":\"apple\"},\"quantity\":3}", "item", "o1"),
        BAD("empty string", "{\"order_id\":\"o1\",\"item\":\"\",\"quantity\":3}", "item", "o1"),
    };
    RUN(cases);
}

Test(order_invalid, quantity_wrong_type) {
    static const bad_case cases[] = {
        BAD("string 3", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":\"3\"}", "quantity", "o1"),
        BAD("string three", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":\"three\"}", "quantity", "o1"),
        BAD("null", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":null}", "quantity", "o1"),
        BAD("true", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":true}", "quantity", "o1"),
        BAD("array", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":[3]}", "quantity", "o1"),
        BAD("object", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":{}}", "quantity", "o1"),
    };
    RUN(cases);
}

Test(order_invalid, quantity_out_of_range_or_fractional) {
    static const bad_case cases[] = {
        BAD("zero", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":0}", "quantity", "o1"),
        BAD("minus zero", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":-0}", "quantity", "o1"),
        BAD("minus zero real", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":-0.0}", "quantity", "o1"),
        BAD("negative", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":-1}", "quantity", "o1"),
        BAD("negative 3.0", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":-3.0}", "quantity", "o1"),
        BAD("1000001", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":1000001}", "quantity", "o1"),
        BAD("1000001.0", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":1000001.0}", "quantity", "o1"),
        BAD("int32 max", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":2147483647}", "quantity", "o1"),
        BAD("int32 wrap", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":4294967299}", "quantity", "o1"),
        BAD("1e20", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":1e20}", "quantity", "o1"),
        BAD("-1e20", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":-1e20}", "quantity", "o1"),
        BAD("beyond int64", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":9999999999999999999999}", "quantity",
            "o1"),
        BAD("2.5", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":2.5}", "quantity", "o1"),
        BAD("0.5", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":0.5}", "quantity", "o1"),
        BAD("1e-3", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":1e-3}", "quantity", "o1"),
        BAD("999999.5", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":999999.5}", "quantity", "o1"),
        BAD("1.000001", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":1.000001}", "quantity", "o1"),
    };
    RUN(cases);
}

Test(order_invalid, quantity_error_shows_the_value) {
    ol_order o;
    char err[OL_ERROR_MAX];
    cr_assert_not(parse("{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":1000001}", &o, err, sizeof err));
    cr_assert(strstr(err, "1000001"), "error does not show the value: %s", err);
    cr_assert_not(parse("{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":2.5}", &o, err, sizeof err));
    cr_assert(strstr(err, "2.5"), "error does not show the value: %s", err);
}

Test(order_invalid, type_not_order_or_restock) {
    static const bad_case cases[] = {
        BAD("ORDER", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"type\":\"ORDER\"}", "type", "o1"),
        BAD("Restock", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"type\":\"Restock\"}", "type", "o1"),
        BAD("empty", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"type\":\"\"}", "type", "o1"),
        BAD("trailing space", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"type\":\"order \"}", "type",
            "o1"),
        BAD("sell", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"type\":\"sell\"}", "type", "o1"),
        BAD("null", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"type\":null}", "type", "o1"),
        BAD("number", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"type\":1}", "type", "o1"),
        BAD("true", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"type\":true}", "type", "o1"),
        BAD("array", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"type\":[\"order\"]}", "type", "o1"),
        BAD("object", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"type\":{}}", "type", "o1"),
        BAD("control char", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"type\":\"or\\u0001der\"}", "type",
            "o1"),
    };
    RUN(cases);
}

Test(order_invalid, type_error_shows_the_value_printably) {
    ol_order o;
    char err[OL_ERROR_MAX];
    cr_assert_not(
        parse("{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"type\":\"ORDER\"}", &o, err, sizeof err));
    cr_assert(strstr(err, "\"ORDER\""), "error does not show the value: %s", err);
    cr_assert_not(
        parse("{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"type\":\"a\\nb\"}", &o, err, sizeof err));
    cr_assert_null(strchr(err, '\n'), "raw newline in the error: %s", err);
    cr_assert(strstr(err, "a\\x0ab"), "error does not escape the value: %s", err);
}

Test(order_invalid, invalid_utf8_in_value) {
    static const bad_case cases[] = {
        BAD("0xff in order_id", "{\"order_id\":\"o\xff\",\"item\":\"apple\",\"quantity\":3}", NULL, ""),
        BAD("latin-1 item", "{\"order_id\":\"o1\",\"item\":\"caf\xe9\",\"quantity\":3}", NULL, ""),
        BAD("overlong slash", "{\"order_id\":\"o1\",\"item\":\"a\xc0\xaf\",\"quantity\":3}", NULL, ""),
        BAD("encoded surrogate", "{\"order_id\":\"o1\",\"item\":\"\xed\xa0\x80\",\"quantity\":3}", NULL, ""),
        BAD("truncated sequence", "{\"order_id\":\"o1\",\"item\":\"ab\xc3\",\"quantity\":3}", NULL, ""),
        BAD("above U+10FFFF", "{\"order_id\":\"o1\",\"item\":\"\xf4\x90\x80\x80\",\"quantity\":3}", NULL, ""),
        BAD("lone continuation", "{\"order_id\":\"o1\",\"item\":\"\x80\",\"quantity\":3}", NULL, ""),
        BAD("bad byte in extra field", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"n\":\"\xfe\"}", NULL,
            ""),
        BAD("bad byte in key name", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"\xff\":1}", NULL, ""),
        BAD("raw NUL in order_id", "{\"order_id\":\"o\0\",\"item\":\"apple\",\"quantity\":3}", NULL, ""),
    };
    RUN(cases);
}

Test(order_invalid, nul_and_lone_surrogate_escapes) {
    static const bad_case cases[] = {
        BAD("\\u0000 in order_id", "{\"order_id\":\"o\\u00001\",\"item\":\"apple\",\"quantity\":3}", NULL, ""),
        BAD("\\u0000 in item", "{\"order_id\":\"o1\",\"item\":\"app\\u0000le\",\"quantity\":3}", NULL, ""),
        BAD("only \\u0000 item", "{\"order_id\":\"o1\",\"item\":\"\\u0000\",\"quantity\":3}", NULL, ""),
        BAD("\\u0000 in type", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"type\":\"order\\u0000x\"}",
            NULL, ""),
        BAD("lone high surrogate", "{\"order_id\":\"o1\",\"item\":\"\\ud800\",\"quantity\":3}", NULL, ""),
        BAD("lone low surrogate", "{\"order_id\":\"o1\",\"item\":\"\\udc00x\",\"quantity\":3}", NULL, ""),
    };
    RUN(cases);
}

Test(order_invalid, duplicate_keys) {
    static const bad_case cases[] = {
        BAD("order_id twice", "{\"order_id\":\"o1\",\"order_id\":\"o2\",\"item\":\"apple\",\"quantity\":3}",
            "duplicate", ""),
        BAD("order_id twice same", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"order_id\":\"o1\"}",
            "duplicate", ""),
        BAD("item twice", "{\"order_id\":\"o1\",\"item\":\"apple\",\"item\":\"pear\",\"quantity\":3}", "duplicate", ""),
        BAD("quantity twice", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"quantity\":300}", "duplicate",
            ""),
        BAD("type twice",
            "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"type\":\"order\",\"type\":\"restock\"}",
            "duplicate", ""),
        BAD("extra field twice", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"n\":1,\"n\":2}", "duplicate",
            ""),
        BAD("escaped duplicate", "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"\\u0069tem\":\"pear\"}",
            "duplicate", ""),
    };
    RUN(cases);
}

/* ---- the message key ------------------------------------------------- */

Test(order_key, key_equal_to_item_passes) {
    ol_order o;
    char err[OL_ERROR_MAX];
    cr_assert(parse_key(BASE, "apple", 5, &o, err, sizeof err), "rejected: %s", err);
    /* Kafka keys are not NUL-terminated: only key_len bytes count. */
    cr_assert(parse_key(BASE, "appleXYZ", 5, &o, err, sizeof err), "rejected: %s", err);
    const char *utf = "{\"order_id\":\"o1\",\"item\":\"caf\\u00e9\",\"quantity\":3}";
    cr_assert(parse_key(utf, "caf\xc3\xa9", 5, &o, err, sizeof err), "rejected: %s", err);
}

typedef struct key_case {
    const char *name;
    const char *key;
    size_t key_len;
    const char *err_has;
} key_case;

#define KEY(name, lit, has)                                                                                            \
    { name, lit, sizeof(lit) - 1, has }

Test(order_key, key_mismatch_rejected_keeping_order_id) {
    static const key_case cases[] = {
        KEY("other item", "banana", "item"),
        KEY("prefix", "appl", "item"),
        KEY("longer", "apples", "item"),
        KEY("case", "APPLE", "item"),
        KEY("empty key", "", "key"),
        KEY("trailing NUL", "apple\0", "key"),
        KEY("embedded NUL", "app\0le", "key"),
        KEY("space", "apple ", "key"),
        KEY("invalid UTF-8 0xff", "\xff", "UTF-8"),
        KEY("invalid UTF-8 after item", "apple\xff", "UTF-8"),
        KEY("truncated UTF-8", "appl\xc3", "UTF-8"),
        KEY("latin-1", "caf\xe9", "UTF-8"),
        KEY("encoded surrogate", "\xed\xa0\x80", "UTF-8"),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const key_case *c = &cases[i];
        ol_order o;
        char err[OL_ERROR_MAX] = "";
        bool ok = parse_key(BASE, c->key, c->key_len, &o, err, sizeof err);
        cr_expect_not(ok, "[%s] accepted", c->name);
        if (ok) continue;
        cr_expect(strstr(err, "key") != NULL, "[%s] error does not mention the key: %s", c->name, err);
        cr_expect(strstr(err, c->err_has) != NULL, "[%s] error does not mention '%s': %s", c->name, c->err_has, err);
        cr_expect_str_eq(o.order_id, "o1", "[%s] order_id lost", c->name);
    }
}

Test(order_key, key_error_is_printable) {
    ol_order o;
    char err[OL_ERROR_MAX];
    cr_assert_not(parse_key(BASE, "pe\nar", 5, &o, err, sizeof err));
    cr_assert_null(strchr(err, '\n'), "raw newline in the error: %s", err);
    cr_assert(strstr(err, "pe\\x0aar"), "key not shown escaped: %s", err);
}

/* ---- failure bookkeeping --------------------------------------------- */

Test(order_failure, order_id_reset_between_calls) {
    ol_order o;
    char err[OL_ERROR_MAX];
    cr_assert(parse(BASE, &o, err, sizeof err));
    cr_assert_not(parse("[]", &o, err, sizeof err));
    cr_assert_str_eq(o.order_id, "");
    cr_assert(parse(BASE, &o, err, sizeof err));
    cr_assert_not(parse("{\"order_id\":7,\"item\":\"apple\",\"quantity\":3}", &o, err, sizeof err));
    cr_assert_str_eq(o.order_id, "");
}

Test(order_failure, null_or_tiny_error_buffer) {
    ol_order o;
    cr_assert_not(parse("{}", &o, NULL, 0));
    cr_assert_not(ol_order_parse(NULL, 0, NULL, 0, &o, NULL, 0));
    char err[12];
    memset(err, 'Q', sizeof err);
    cr_assert_not(parse("{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":0}", &o, err, 8));
    cr_assert_eq(strlen(err), 7);
    cr_assert_eq(err[8], 'Q', "error written past errlen");
}

Test(order_failure, error_message_fits_ol_error_max) {
    /* The error is stored in ol_result.error: a long key or value must be
     * cut, not overflow. */
    char *key = repeat("k", 5000);
    ol_order o;
    char err[OL_ERROR_MAX];
    cr_assert_not(parse_key(BASE, key, strlen(key), &o, err, sizeof err));
    cr_assert_lt(strlen(err), sizeof err);
    free(key);
}

/* ---- agreement with the JSON Schema (tests/samples/order) ------------- */

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Lists *.json in dir, sorted; returns the count. */
static size_t list_samples(const char *dir, char ***names_out) {
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot open %s", dir);
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0) continue;
        names = realloc(names, (n + 1) * sizeof *names);
        cr_assert_not_null(names);
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, name_cmp);
    *names_out = names;
    return n;
}

static void read_sample(const char *path, ol_buf *out) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    ol_buf_clear(out);
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) cr_assert(ol_buf_append(out, chunk, got));
    cr_assert_not(ferror(f));
    fclose(f);
}

static void check_order_samples(const char *kind, bool want_valid, size_t min_count) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/samples/order/%s", ORDERLINE_SOURCE_DIR, kind);
    char **names;
    size_t n = list_samples(dir, &names);
    cr_assert_geq(n, min_count, "only %zu samples in %s", n, dir);
    ol_buf content;
    ol_buf_init(&content);
    for (size_t i = 0; i < n; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        read_sample(path, &content);
        ol_order o;
        char err[OL_ERROR_MAX] = "";
        bool ok = ol_order_parse(content.data ? content.data : "", content.len, NULL, 0, &o, err, sizeof err);
        if (want_valid) cr_expect(ok, "order/valid/%s rejected: %s", names[i], err);
        else cr_expect_not(ok, "order/invalid/%s accepted", names[i]);
        free(names[i]);
    }
    free(names);
    ol_buf_free(&content);
}

Test(order_samples, valid_samples_accepted) { check_order_samples("valid", true, 10); }

Test(order_samples, invalid_samples_rejected) { check_order_samples("invalid", false, 10); }

Test(order_field, names_the_field_that_was_wrong) {
    struct {
        const char *json;
        const char *field;
    } cases[] = {
        {"{\"item\": \"w\", \"quantity\": 1}", "order_id"},
        {"{\"order_id\": \"o\", \"quantity\": 1}", "item"},
        {"{\"order_id\": \"o\", \"item\": \"w\", \"quantity\": 2.5}", "quantity"},
        {"{\"order_id\": \"o\", \"item\": \"w\", \"quantity\": 1, \"type\": 3}", "type"},
        {"[1]", NULL},
        {"{\"order_id\": ", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ol_order o;
        char err[256];
        const char *field = "unset";
        cr_assert_not(ol_order_parse_field(cases[i].json, strlen(cases[i].json), NULL, 0, &o, err, sizeof err, &field));
        if (cases[i].field) cr_assert_str_eq(field, cases[i].field, "%s", cases[i].json);
        else cr_assert_null(field, "%s: %s", cases[i].json, field);
    }
    ol_order o;
    char err[256];
    const char *field = "unset";
    const char *ok = "{\"order_id\": \"o\", \"item\": \"w\", \"quantity\": 1}";
    cr_assert_not(ol_order_parse_field(ok, strlen(ok), "x", 1, &o, err, sizeof err, &field));
    cr_assert_str_eq(field, "key");
    cr_assert(ol_order_parse_field(ok, strlen(ok), "w", 1, &o, err, sizeof err, &field));
    cr_assert_null(field);
}

/* ---- The fast path against the general path.
 * ol_order_parse_field reads the flat shape itself and hands every other
 * document to ol_order_parse_json (jansson). Whatever the input, both must
 * end the same: same verdict, same field, same order, same error text. */

static void check_agree(const char *value, size_t len, const char *key, size_t key_len) {
    ol_order fast, slow;
    char fast_err[OL_ERROR_MAX] = "", slow_err[OL_ERROR_MAX] = "";
    const char *fast_field, *slow_field;
    bool fast_ok = ol_order_parse_field(value, len, key, key_len, &fast, fast_err, sizeof fast_err, &fast_field);
    bool slow_ok = len > 0 && ol_order_parse_json(value, len, &slow, slow_err, sizeof slow_err, &slow_field);
    if (len == 0) {
        cr_assert(!fast_ok);
        return;
    }
    if (slow_ok && key) {
        /* The key check follows either path the same way. */
        bool match = key_len == strlen(slow.item) && memcmp(key, slow.item, key_len) == 0;
        if (!match) {
            cr_assert(!fast_ok, "accepted a key that does not match: %.*s", (int)len, value);
            cr_assert_str_eq(fast_field, "key");
            return;
        }
    }
    cr_assert_eq(fast_ok, slow_ok, "verdicts differ for %.*s: fast %d (%s), general %d (%s)", (int)len, value, fast_ok,
                 fast_err, slow_ok, slow_err);
    cr_assert_str_eq(fast.order_id, slow.order_id, "order_id differs for %.*s", (int)len, value);
    if (fast_ok) {
        cr_assert_str_eq(fast.item, slow.item);
        cr_assert_eq(fast.quantity, slow.quantity, "quantity differs for %.*s", (int)len, value);
        cr_assert_eq(fast.type, slow.type, "type differs for %.*s", (int)len, value);
    } else {
        cr_assert_str_eq(fast_err, slow_err, "errors differ for %.*s", (int)len, value);
        cr_assert_eq(fast_field == NULL, slow_field == NULL);
        if (fast_field) cr_assert_str_eq(fast_field, slow_field);
    }
}

static void check_agree_str(const char *value) { check_agree(value, strlen(value), NULL, 0); }

Test(order_fast_path, reads_what_the_general_path_reads) {
    static const char *const cases[] = {
        BASE,
        " {\"order_id\" : \"o1\" ,\n\t\"item\":\"apple\",\r\"quantity\":3 } ",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"type\":\"restock\"}",
        "{\"type\":\"order\",\"quantity\":1000000,\"item\":\"a\",\"order_id\":\"x\"}",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"note\":null,\"vip\":true,\"n\":-12,\"s\":\"\"}",
        /* Each of these is wrong or unusual: the general path answers. */
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"quantity\":4}",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3.0}",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":2.5}",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3e0}",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":03}",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":-0}",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":0}",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":1000001}",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":99999999999999999999}",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":\"3\"}",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"type\":null}",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"type\":\"Order\"}",
        "{\"order_id\":\"o\\u0031\",\"item\":\"apple\",\"quantity\":3}",
        "{\"order_id\":\"o1\",\"item\":\"caf\xc3\xa9\",\"quantity\":3}",
        "{\"order_id\":\"o1\",\"item\":\"bad\xc3\",\"quantity\":3}",
        "{\"order_id\":\"o1\",\"item\":\"tab\there\",\"quantity\":3}",
        "{\"order_id\":\"\",\"item\":\"apple\",\"quantity\":3}",
        "{\"order_id\":\"o1\",\"item\":\"apple\"}",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"x\":{\"y\":1}}",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"x\":[1,2]}",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,}",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3} x",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3}}",
        "{\"order_id\":\"o1\" \"item\":\"apple\",\"quantity\":3}",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":tru}",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"z\":nulls}",
        "{}",
        "[]",
        "\"just a string\"",
        "{\"order_id\":1,\"item\":\"apple\",\"quantity\":3}",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_agree_str(cases[i]);
    check_agree(BASE "\0", sizeof BASE, NULL, 0); /* a NUL byte after the object */
    check_agree(BASE, strlen(BASE), "apple", 5);
    check_agree(BASE, strlen(BASE), "pear", 4);
}

/* Mutates valid orders at random, byte by byte, with the characters that
 * matter to JSON: every mutant must get the same verdict from both paths. */
Test(order_fast_path, agrees_with_the_general_path_on_mutants) {
    static const char *const seeds[] = {
        "{\"order_id\":\"g1-17\",\"item\":\"item-00042\",\"quantity\":3,\"type\":\"order\"}",
        "{\"order_id\":\"r-9\",\"item\":\"widget\",\"quantity\":250,\"type\":\"restock\",\"source\":\"erp\",\"n\":7}",
        " { \"quantity\" : 1 , \"order_id\" : \"a\" , \"item\" : \"b\" } ",
    };
    static const char alphabet[] = "{}[]:,\"\\ \t\n0123456789-+.eEtrufalsn\x01\x7f\xc3\xa9xyz";
    unsigned seed = 20261202u;
    char buf[256];
    for (int round = 0; round < 200000; round++) {
        const char *base = seeds[round % 3];
        size_t len = strlen(base);
        memcpy(buf, base, len);
        int edits = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 3;
        for (int e = 0; e < edits; e++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % (len + 1);
            char ch = alphabet[(seed >> 20) % (sizeof alphabet - 1)];
            switch ((seed >> 28) % 3) {
            case 0:
                if (at < len) buf[at] = ch;
                break; /* replace */
            case 1:
                if (len + 1 < sizeof buf) {
                    memmove(buf + at + 1, buf + at, len - at);
                    buf[at] = ch;
                    len++;
                }
                break;
            default:
                if (at < len) {
                    memmove(buf + at, buf + at + 1, len - at - 1);
                    len--;
                }
                break;
            }
        }
        check_agree(buf, len, NULL, 0);
    }
}

/* Found by tests/fuzz/fuzz_order.c: the fast path multiplied every digit
 * into an int64 before counting them, so a long number overflowed (undefined
 * behaviour; UBSan aborts in the sanitizer build). It must decline such a
 * number, and the general path decide, without computing it. */
Test(order_fast_path, long_integers_are_declined_without_overflow) {
    static const char *const declined[] = {
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"x\":2666666666666666666666666666666666}",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"x\":-99999999999999999999}",
        "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":1000000000000000}", /* 16 digits */
    };
    ol_order o;
    for (size_t i = 0; i < sizeof declined / sizeof declined[0]; i++) {
        cr_assert_not(ol_order_parse_flat(declined[i], strlen(declined[i]), &o), "case %zu", i);
        check_agree_str(declined[i]);
    }
    const char *fifteen = "{\"order_id\":\"o1\",\"item\":\"apple\",\"quantity\":3,\"x\":999999999999999}";
    cr_assert(ol_order_parse_flat(fifteen, strlen(fifteen), &o));
    cr_assert_eq(o.quantity, 3);
}

/* ---- holds and follow-ups ---------------------------------------------- */

/* Both paths must read a valid message alike: the fast one (when it takes
 * it) and jansson's. */
static void expect_both_paths(const char *value, ol_order *out) {
    char err[OL_ERROR_MAX] = "";
    const char *field;
    cr_assert(ol_order_parse_json(value, strlen(value), out, err, sizeof err, &field), "%s: %s", value, err);
    ol_order flat;
    if (ol_order_parse_flat(value, strlen(value), &flat))
        cr_assert(memcmp(&flat, out, sizeof flat) == 0, "the two paths read %s differently", value);
    cr_assert(parse(value, &flat, err, sizeof err), "%s: %s", value, err);
}

Test(order_lifecycle, hold_and_followups) {
    ol_order o;
    expect_both_paths("{\"order_id\":\"h1\",\"item\":\"apple\",\"quantity\":2,\"hold_s\":600}", &o);
    cr_assert_eq(o.type, OL_TYPE_ORDER);
    cr_assert_eq(o.hold_s, 600);
    cr_assert_str_eq(o.target, "");
    expect_both_paths("{\"order_id\":\"c1\",\"item\":\"apple\",\"type\":\"confirm\",\"target\":\"h1\"}", &o);
    cr_assert_eq(o.type, OL_TYPE_CONFIRM);
    cr_assert_str_eq(o.target, "h1");
    cr_assert_eq(o.quantity, 0);
    expect_both_paths("{\"order_id\":\"x1\",\"item\":\"apple\",\"type\":\"cancel\",\"target\":\"o1\"}", &o);
    cr_assert_eq(o.type, OL_TYPE_CANCEL);
    expect_both_paths("{\"order_id\":\"h1#expire\",\"item\":\"apple\",\"type\":\"expire\",\"target\":\"h1\"}", &o);
    cr_assert_eq(o.type, OL_TYPE_EXPIRE);
    expect_both_paths("{\"order_id\":\"h1\",\"item\":\"apple\",\"quantity\":2,\"hold_s\":86400.0}", &o);
    cr_assert_eq(o.hold_s, 86400);
    cr_assert(ol_order_is_followup(OL_TYPE_CANCEL) && !ol_order_is_followup(OL_TYPE_RESTOCK));
    for (int t = OL_TYPE_ORDER; t <= OL_TYPE_EXPIRE; t++) {
        ol_order_type back;
        const char *name = ol_order_type_name((ol_order_type)t);
        cr_assert(ol_order_type_parse(name, strlen(name), &back) && back == (ol_order_type)t, "%s", name);
    }
}

Test(order_lifecycle, hold_id_leaves_room_for_expire) {
    char *id = repeat("h", OL_HOLD_ID_MAX);
    ol_buf ok = order_json(id, "apple", "\"quantity\":1,\"hold_s\":5");
    ol_order o;
    char err[OL_ERROR_MAX];
    cr_assert(parse(ok.data, &o, err, sizeof err), "%s", err);
    free(id);
    id = repeat("h", OL_HOLD_ID_MAX + 1);
    ol_buf bad = order_json(id, "apple", "\"quantity\":1,\"hold_s\":5");
    const char *field;
    cr_assert_not(ol_order_parse_field(bad.data, bad.len, NULL, 0, &o, err, sizeof err, &field));
    cr_assert_str_eq(field, "order_id");
    cr_assert(strstr(err, "#expire"), "%s", err);
    ol_buf plain = order_json(id, "apple", "\"quantity\":1");
    cr_assert(parse(plain.data, &o, err, sizeof err), "without a hold the full length is allowed: %s", err);
    free(id);
    ol_buf_free(&ok);
    ol_buf_free(&bad);
    ol_buf_free(&plain);
}

Test(order_lifecycle, invalid_combinations_name_their_field) {
    static const struct {
        const char *value, *field, *err_has;
    } cases[] = {
        {"{\"order_id\":\"c\",\"item\":\"a\",\"type\":\"cancel\"}", "target", "missing required field 'target'"},
        {"{\"order_id\":\"c\",\"item\":\"a\",\"type\":\"cancel\",\"target\":\"o\",\"quantity\":1}", "quantity",
         "not allowed on a cancel"},
        {"{\"order_id\":\"c\",\"item\":\"a\",\"type\":\"confirm\",\"target\":\"c\"}", "target", "this very message"},
        {"{\"order_id\":\"c\",\"item\":\"a\",\"type\":\"confirm\",\"target\":\"\"}", "target", "1 to 128 bytes"},
        {"{\"order_id\":\"c\",\"item\":\"a\",\"type\":\"confirm\",\"target\":7}", "target", "must be a string"},
        {"{\"order_id\":\"o\",\"item\":\"a\",\"quantity\":1,\"target\":\"x\"}", "target", "only for confirm"},
        {"{\"order_id\":\"r\",\"item\":\"a\",\"quantity\":1,\"type\":\"restock\",\"hold_s\":5}", "hold_s",
         "only for orders"},
        {"{\"order_id\":\"c\",\"item\":\"a\",\"type\":\"cancel\",\"target\":\"o\",\"hold_s\":5}", "hold_s",
         "only for orders"},
        {"{\"order_id\":\"o\",\"item\":\"a\",\"quantity\":1,\"hold_s\":0}", "hold_s", "from 1 to 86400"},
        {"{\"order_id\":\"o\",\"item\":\"a\",\"quantity\":1,\"hold_s\":86401}", "hold_s", "from 1 to 86400"},
        {"{\"order_id\":\"o\",\"item\":\"a\",\"quantity\":1,\"hold_s\":1.5}", "hold_s", "got 1.5"},
        {"{\"order_id\":\"o\",\"item\":\"a\",\"quantity\":1,\"hold_s\":\"60\"}", "hold_s", "got string"},
        {"{\"order_id\":\"o\",\"item\":\"a\",\"quantity\":1,\"hold_s\":null}", "hold_s", "got null"},
        {"{\"order_id\":\"h1-expire\",\"item\":\"a\",\"type\":\"expire\",\"target\":\"h1\"}", "order_id",
         "target's followed by"},
        {"{\"order_id\":\"h2#expire\",\"item\":\"a\",\"type\":\"expire\",\"target\":\"h1\"}", "order_id",
         "target's followed by"},
        {"{\"order_id\":\"o\",\"item\":\"a\",\"quantity\":1,\"type\":\"refund\"}", "type", "\"expire\", got string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ol_order o;
        char err[OL_ERROR_MAX] = "";
        const char *field = NULL;
        cr_expect_not(
            ol_order_parse_field(cases[i].value, strlen(cases[i].value), NULL, 0, &o, err, sizeof err, &field),
            "accepted %s", cases[i].value);
        cr_expect(field && strcmp(field, cases[i].field) == 0, "%s: field %s, want %s", cases[i].value,
                  field ? field : "NULL", cases[i].field);
        cr_expect(strstr(err, cases[i].err_has), "%s: error '%s' lacks '%s'", cases[i].value, err, cases[i].err_has);
        ol_order flat;
        cr_expect_not(ol_order_parse_flat(cases[i].value, strlen(cases[i].value), &flat), "fast path took %s",
                      cases[i].value);
    }
}

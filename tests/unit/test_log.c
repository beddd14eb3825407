/* Unit tests for ol_log: ol_log_escape, what a text line may carry of the text it is
 * given (control characters and bytes not UTF-8 escaped, cut on a
 * character boundary). */
#include <criterion/criterion.h>
#include <string.h>

#include "ol_log.h"

static const char *escaped(char *dst, size_t dstlen, const char *src, size_t len) {
    size_t n = ol_log_escape(dst, dstlen, src, len);
    cr_assert_eq(n, strlen(dst));
    return dst;
}

Test(log_escape, plain_text_and_utf8_unchanged) {
    char out[64];
    cr_assert_str_eq(escaped(out, sizeof out, "order 'k-1' at 3", 16), "order 'k-1' at 3");
    const char *utf8 = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
    cr_assert_str_eq(escaped(out, sizeof out, utf8, strlen(utf8)), utf8);
}

Test(log_escape, newline_and_escape_cannot_forge_a_line) {
    char out[64];
    const char *id = "a\nERROR forged\x1b[31m\r\t\x7f";
    cr_assert_str_eq(escaped(out, sizeof out, id, strlen(id)), "a\\x0aERROR forged\\x1b[31m\\x0d\\x09\\x7f");
}

Test(log_escape, invalid_utf8_bytes_escaped_one_by_one) {
    char out[64];
    cr_assert_str_eq(escaped(out, sizeof out, "\xff\xc3", 2), "\\xff\\xc3");          /* bad lead, cut short */
    cr_assert_str_eq(escaped(out, sizeof out, "\xc0\xaf", 2), "\\xc0\\xaf");          /* overlong */
    cr_assert_str_eq(escaped(out, sizeof out, "\xed\xa0\x80", 3), "\\xed\\xa0\\x80"); /* surrogate */
    cr_assert_str_eq(escaped(out, sizeof out, "\xc3x", 2), "\\xc3x");                 /* bad continuation */
}

Test(log_escape, embedded_nul_escaped) {
    char out[16];
    cr_assert_str_eq(escaped(out, sizeof out, "a\0b", 3), "a\\x00b");
}

Test(log_escape, cut_on_a_character_boundary) {
    char out[5];                                                         /* 4 bytes and the terminator */
    cr_assert_str_eq(escaped(out, sizeof out, "abc\xc3\xa9", 5), "abc"); /* not half of é */
    cr_assert_str_eq(escaped(out, sizeof out, "ab\xc3\xa9", 4), "ab\xc3\xa9");
    cr_assert_str_eq(escaped(out, sizeof out, "a\n", 2), "a"); /* not half of \x0a */
    cr_assert_str_eq(escaped(out, sizeof out, "\n", 1), "\\x0a");
    cr_assert_eq(ol_log_escape(out, 0, "abc", 3), 0);
    cr_assert_eq(ol_log_escape(out, 1, "abc", 3), 0);
    cr_assert_str_eq(out, "");
}

/* ---- ol_log_format_record: the text line as it has always been, and the
 * JSON line a shipper reads (parsed back with jansson). */

#include <jansson.h>
#include <stdlib.h>

#define STAMP_MS 1764782844123LL /* 2025-12-03T17:27:24.123Z */

static json_t *parsed(const char *line, size_t len) {
    cr_assert_gt(len, 1);
    cr_assert_eq(line[len - 1], '\n', "one line, newline-terminated");
    cr_assert_null(memchr(line, '\n', len - 1), "no newline inside the line");
    json_error_t e;
    json_t *j = json_loadb(line, len - 1, JSON_ALLOW_NUL, &e); /* \u0000 is JSON */
    cr_assert_not_null(j, "not JSON (%s): %s", e.text, line);
    cr_assert(json_is_object(j));
    return j;
}

static const char *str_of(json_t *j, const char *key) {
    json_t *v = json_object_get(j, key);
    cr_assert(json_is_string(v), "%s is not a string", key);
    return json_string_value(v);
}

Test(log_format, text_line_unchanged) {
    char line[512];
    ol_log_record r = {STAMP_MS, "order-x", OL_LOG_WARN, "partition 3: late", 17, NULL, 0, false};
    size_t n = ol_log_format_record(OL_LOG_TEXT, &r, line, sizeof line);
    cr_assert_str_eq(line, "2025-12-03T17:27:24.123Z order-x WARN: partition 3: late\n");
    cr_assert_eq(n, strlen(line));
    r.plain = true; /* a report: the message alone */
    ol_log_format_record(OL_LOG_TEXT, &r, line, sizeof line);
    cr_assert_str_eq(line, "partition 3: late\n");
}

Test(log_format, text_ignores_fields_and_escapes) {
    char line[512];
    ol_log_field f[] = {OL_LOG_INT("partition", 3)};
    ol_log_record r = {STAMP_MS, "t", OL_LOG_ERROR, "a\nb", 3, f, 1, false};
    ol_log_format_record(OL_LOG_TEXT, &r, line, sizeof line);
    cr_assert_str_eq(line, "2025-12-03T17:27:24.123Z t ERROR: a\\x0ab\n");
}

Test(log_format, json_has_the_four_keys_and_fields) {
    char line[1024];
    ol_log_field f[] = {OL_LOG_INT("partition", 3), OL_LOG_INT("offset", 9007199254740993LL),
                        OL_LOG_STR("order_id", "o-1"), OL_LOG_STR("reason", NULL)};
    ol_log_record r = {STAMP_MS, "order-consumer", OL_LOG_INFO, "decided", 7, f, 4, false};
    size_t n = ol_log_format_record(OL_LOG_JSON, &r, line, sizeof line);
    json_t *j = parsed(line, n);
    cr_assert_str_eq(str_of(j, "time"), "2025-12-03T17:27:24.123Z");
    cr_assert_str_eq(str_of(j, "level"), "info");
    cr_assert_str_eq(str_of(j, "tool"), "order-consumer");
    cr_assert_str_eq(str_of(j, "message"), "decided");
    cr_assert_eq(json_integer_value(json_object_get(j, "partition")), 3);
    cr_assert_eq(json_integer_value(json_object_get(j, "offset")), 9007199254740993LL);
    cr_assert_str_eq(str_of(j, "order_id"), "o-1");
    cr_assert(json_is_null(json_object_get(j, "reason")));
    cr_assert_eq(json_object_size(j), 8);
    json_decref(j);
}

Test(log_format, json_plain_is_a_whole_record) {
    char line[512];
    ol_log_field f[] = {OL_LOG_STR("source", "in.jsonl"), OL_LOG_INT("line", 2)};
    ol_log_record r = {STAMP_MS, "order-producer", OL_LOG_ERROR, "in.jsonl:2: bad", 15, f, 2, true};
    json_t *j = parsed(line, ol_log_format_record(OL_LOG_JSON, &r, line, sizeof line));
    cr_assert_str_eq(str_of(j, "level"), "error");
    cr_assert_str_eq(str_of(j, "message"), "in.jsonl:2: bad");
    cr_assert_eq(json_integer_value(json_object_get(j, "line")), 2);
    json_decref(j);
}

Test(log_format, json_escapes_quotes_controls_and_bad_utf8) {
    char line[1024];
    const char msg[] = "q\"b\\s\n\r\t\b\f\x01\x1b[31m\x7f\0z caf\xc3\xa9 \xff\xc3";
    size_t len = sizeof msg - 1;
    const char id[] = "id\"\n\xfe";
    ol_log_field f[] = {OL_LOG_STR("order_id", id), OL_LOG_STR("ke\"y\n", "v")};
    ol_log_record r = {STAMP_MS, "t\"x", OL_LOG_WARN, msg, len, f, 2, false};
    size_t n = ol_log_format_record(OL_LOG_JSON, &r, line, sizeof line);
    for (size_t i = 0; i < n - 1; i++)
        cr_assert((unsigned char)line[i] >= 0x20 && line[i] != 0x7f, "raw control at %zu", i);
    json_t *j = parsed(line, n);
    /* Decoded: every character as given; the bytes that are not UTF-8 as \xNN. */
    cr_assert_str_eq(str_of(j, "message"), "q\"b\\s\n\r\t\b\f\x01\x1b[31m\x7f");
    size_t mlen = json_string_length(json_object_get(j, "message"));
    const char want[] = "q\"b\\s\n\r\t\b\f\x01\x1b[31m\x7f\0z caf\xc3\xa9 \\xff\\xc3";
    cr_assert_eq(mlen, sizeof want - 1);
    cr_assert_eq(memcmp(json_string_value(json_object_get(j, "message")), want, mlen), 0);
    cr_assert_str_eq(str_of(j, "order_id"), "id\"\n\\xfe");
    cr_assert_str_eq(str_of(j, "ke\"y\n"), "v");
    cr_assert_str_eq(str_of(j, "tool"), "t\"x");
    json_decref(j);
}

Test(log_format, json_cut_messages_stay_valid_and_keep_fields) {
    char big[6000];
    memset(big, '"', sizeof big); /* each byte doubles when escaped */
    char line[1024];
    ol_log_field f[] = {OL_LOG_INT("partition", 7)};
    ol_log_record r = {STAMP_MS, "t", OL_LOG_INFO, big, sizeof big, f, 1, false};
    size_t n = ol_log_format_record(OL_LOG_JSON, &r, line, sizeof line);
    cr_assert_lt(n, sizeof line);
    json_t *j = parsed(line, n);
    cr_assert_gt(strlen(str_of(j, "message")), 300);
    cr_assert_eq(json_integer_value(json_object_get(j, "partition")), 7);
    json_decref(j);
    /* A character is never cut in half: é at the cut is left out whole. */
    char utf[2000];
    for (size_t i = 0; i + 1 < sizeof utf; i += 2) memcpy(utf + i, "\xc3\xa9", 2);
    r = (ol_log_record){STAMP_MS, "t", OL_LOG_INFO, utf, sizeof utf, NULL, 0, false};
    j = parsed(line, ol_log_format_record(OL_LOG_JSON, &r, line, sizeof line));
    cr_assert_eq(strlen(str_of(j, "message")) % 2, 0);
    json_decref(j);
}

Test(log_format, json_field_that_does_not_fit_is_left_out_whole) {
    char value[400];
    memset(value, 'v', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    ol_log_field f[] = {OL_LOG_STR("a", value), OL_LOG_INT("b", 1), OL_LOG_STR("message", "forged"),
                        OL_LOG_INT("level", 0)};
    char line[256];
    ol_log_record r = {STAMP_MS, "t", OL_LOG_INFO, "m", 1, f, 4, false};
    json_t *j = parsed(line, ol_log_format_record(OL_LOG_JSON, &r, line, sizeof line));
    cr_assert_null(json_object_get(j, "a"));
    cr_assert_eq(json_integer_value(json_object_get(j, "b")), 1);
    cr_assert_str_eq(str_of(j, "message"), "m"); /* the four keys cannot be overridden */
    cr_assert_str_eq(str_of(j, "level"), "info");
    json_decref(j);
}

Test(log_format, too_small_a_buffer_writes_nothing) {
    char line[100];
    ol_log_record r = {STAMP_MS, "t", OL_LOG_INFO, "m", 1, NULL, 0, false};
    cr_assert_eq(ol_log_format_record(OL_LOG_JSON, &r, line, sizeof line), 0);
    cr_assert_str_eq(line, "");
}

Test(log_format, names_and_the_environment) {
    ol_log_format f = OL_LOG_TEXT;
    cr_assert(ol_log_format_parse("json", &f) && f == OL_LOG_JSON);
    cr_assert(ol_log_format_parse("text", &f) && f == OL_LOG_TEXT);
    cr_assert_not(ol_log_format_parse("JSON", &f));
    cr_assert_not(ol_log_format_parse(NULL, &f));
    unsetenv("ORDERLINE_LOG_FORMAT");
    cr_assert_eq(ol_log_current_format(), OL_LOG_TEXT);
    cr_assert(ol_log_use_format("json"));
    cr_assert_eq(ol_log_current_format(), OL_LOG_JSON);
    cr_assert_not(ol_log_use_format("xml"));
    cr_assert_eq(ol_log_current_format(), OL_LOG_JSON);
    cr_assert(ol_log_use_format("text"));
    cr_assert_eq(ol_log_current_format(), OL_LOG_TEXT);
}

Test(log_escape_json, spelled_for_a_json_string) {
    char out[64];
    cr_assert_eq(ol_log_escape_json(out, sizeof out, "a\"\\\x01\x7f", 5), 17);
    cr_assert_str_eq(out, "a\\\"\\\\\\u0001\\u007f");
    ol_log_escape_json(out, sizeof out, "\xff", 1);
    cr_assert_str_eq(out, "\\\\xff");
    ol_log_escape_json(out, 3, "a\n", 2); /* not half of \n */
    cr_assert_str_eq(out, "a");
}

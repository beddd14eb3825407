/* Unit tests for ol_log_escape: what a log line may carry of the text it is
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

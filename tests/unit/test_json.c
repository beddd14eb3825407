/* Unit tests for ol_json: every string it writes must be what jansson's
 * compact dump writes for json_string of the same text, and text jansson
 * refuses must be refused (or, for the lenient writer, made printable). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ol_json.h"

/* jansson's compact dump of json_string(text), or NULL when it refuses. */
static char *jansson_string(const char *text) {
    json_t *s = json_string(text);
    char *dump = s ? json_dumps(s, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(s);
    return dump;
}

/* Writes text after a prefix, and checks the prefix is kept and the
 * string is exactly jansson's (or, when jansson refuses, that nothing was
 * written). */
static void check_string(const char *text, const char *what) {
    ol_buf b;
    ol_buf_init(&b);
    cr_assert(OL_JSON_LIT(&b, "[1,"));
    bool ok = ol_json_append_string(&b, text);
    char *want = jansson_string(text);
    if (!want) {
        cr_assert_not(ok, "%s: jansson refuses it, written as %s", what, b.data);
        cr_assert_eq(b.len, 3, "%s: refused, yet the buffer grew", what);
        cr_assert_str_eq(b.data, "[1,");
    } else {
        cr_assert(ok, "%s: refused, jansson writes %s", what, want);
        cr_assert_eq(b.len, 3 + strlen(want), "%s: %s, want %s", what, b.data, want);
        cr_assert_eq(memcmp(b.data, "[1,", 3), 0);
        cr_assert_str_eq(b.data + 3, want, "%s", what);
    }
    free(want);
    ol_buf_free(&b);
}

Test(json_string, samples_match_jansson) {
    static const char *const texts[] = {"",
                                        "plain-id_01",
                                        "with space",
                                        "slash/kept",
                                        "del\x7f",
                                        "caf\xc3\xa9",
                                        "\xe2\x82\xac-euro",
                                        "\xf0\x9f\x98\x80 face",
                                        "\xef\xbf\xbf\xf4\x8f\xbf\xbf",
                                        "tab\there",
                                        "q\"uote",
                                        "back\\slash",
                                        "\b\f\n\r\t",
                                        "\x01\x1f",
                                        "\"\\\"",
                                        "end\\",
                                        "\x1b[31mred",
                                        "\xc3",
                                        "\xed\xa0\x80",
                                        "\xc0\xaf",
                                        "\xe0\x80\xaf",
                                        "\xf4\x90\x80\x80",
                                        "\xff",
                                        "ok\x80"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char what[32];
        snprintf(what, sizeof what, "text %zu", i);
        check_string(texts[i], what);
    }
}

/* Every byte alone and every pair of bytes: all escapes, every lead byte
 * with every continuation, the refused ones included. */
Test(json_string, every_byte_and_pair_matches_jansson) {
    for (int a = 1; a < 256; a++) {
        char text[3] = {(char)a, 0, 0};
        check_string(text, "one byte");
        for (int b = 1; b < 256; b++) {
            text[1] = (char)b;
            char what[32];
            snprintf(what, sizeof what, "bytes %02x %02x", a, b);
            check_string(text, what);
        }
    }
}

/* Three-byte sequences (overlongs and surrogates at the edges) and the
 * four-byte leads around U+10FFFF, between ASCII that needs escaping. */
Test(json_string, longer_sequences_match_jansson) {
    for (int a = 0xe0; a <= 0xf5; a++)
        for (int b = 0x70; b <= 0xc0; b++)
            for (int c = 0x7f; c <= 0xc0; c++) {
                char text[] = {'"', (char)a, (char)b, (char)c, (char)0x80, '\n', 0};
                char what[32];
                snprintf(what, sizeof what, "bytes %02x %02x %02x", a, b, c);
                check_string(text, what);
            }
}

Test(json_string, null_refused) {
    ol_buf b;
    ol_buf_init(&b);
    cr_assert_not(ol_json_append_string(&b, NULL));
    cr_assert_eq(b.len, 0);
    ol_buf_free(&b);
}

/* Longer than the buffer's first allocation, either path. */
Test(json_string, long_text_matches_jansson) {
    char text[5001];
    for (size_t i = 0; i < 5000; i++) text[i] = "ab\"c\n\xc3\xa9"[i % 7];
    text[5000] = '\0';
    check_string(text, "5000 mixed bytes");
    memset(text, 'x', 5000);
    check_string(text, "5000 x");
}

/* ---- text or null ---------------------------------------------------- */

static char *text_or_null(const char *text) {
    ol_buf b;
    ol_buf_init(&b);
    cr_assert(ol_json_append_text_or_null(&b, text));
    return b.data;
}

Test(json_text, utf8_as_the_strict_writer) {
    static const char *const texts[] = {"", "plain", "caf\xc3\xa9 \"x\"\\\n\x01", "\xf0\x9f\x98\x80"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char *got = text_or_null(texts[i]);
        char *want = jansson_string(texts[i]);
        cr_assert_str_eq(got, want);
        free(got);
        free(want);
    }
}

Test(json_text, null_and_non_utf8) {
    char *got = text_or_null(NULL);
    cr_assert_str_eq(got, "null");
    free(got);
    /* \xNN's backslash is itself escaped; printable ASCII kept, '"' escaped. */
    got = text_or_null("a\"\xc3(\x01");
    cr_assert_str_eq(got, "\"a\\\"\\\\xc3(\\\\x01\"");
    free(got);
}

/* Past the 1,024 bytes kept on the stack: nothing is cut. */
Test(json_text, long_non_utf8_not_cut) {
    char text[2001];
    memset(text, 0xff, 2000);
    text[2000] = '\0';
    char *got = text_or_null(text);
    cr_assert_eq(strlen(got), 2 + 2000 * 5);
    cr_assert_eq(got[0], '"');
    cr_assert_eq(memcmp(got + 1, "\\\\xff", 5), 0);
    cr_assert_eq(memcmp(got + 1 + 1999 * 5, "\\\\xff\"", 6), 0);
    free(got);
}

/* Unit tests for ol_str: byte buffer, text for a terminal, UTF-8
 * validation, printable rendering, RFC 3339 formatting and integer parsing. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <time.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "ol_str.h"

/* ---- ol_buf ---------------------------------------------------------- */

Test(buf, init_is_empty) {
    ol_buf b;
    ol_buf_init(&b);
    cr_assert_null(b.data);
    cr_assert_eq(b.len, 0);
    cr_assert_eq(b.cap, 0);
    ol_buf_clear(&b); /* clearing a never-used buffer must not crash */
    cr_assert_eq(b.len, 0);
    ol_buf_free(&b);
    cr_assert_null(b.data);
}

Test(buf, append_and_terminate) {
    ol_buf b;
    ol_buf_init(&b);
    cr_assert(ol_buf_append(&b, "abc", 3));
    cr_assert(ol_buf_appends(&b, "def"));
    cr_assert(ol_buf_appendf(&b, "-%d-%s", 42, "x"));
    cr_assert_eq(b.len, 11);
    cr_assert_str_eq(b.data, "abcdef-42-x");
    cr_assert_eq(b.data[b.len], '\0');
    cr_assert_geq(b.cap, b.len + 1);
    ol_buf_free(&b);
    cr_assert_null(b.data);
    cr_assert_eq(b.len, 0);
}

Test(buf, append_zero_bytes_terminates) {
    ol_buf b;
    ol_buf_init(&b);
    cr_assert(ol_buf_append(&b, "", 0));
    cr_assert_not_null(b.data);
    cr_assert_str_eq(b.data, "");
    cr_assert(ol_buf_appendf(&b, "%s", ""));
    cr_assert_eq(b.len, 0);
    ol_buf_free(&b);
}

Test(buf, binary_data_with_nul) {
    ol_buf b;
    ol_buf_init(&b);
    cr_assert(ol_buf_append(&b, "a\0b", 3));
    cr_assert_eq(b.len, 3);
    cr_assert_eq(memcmp(b.data, "a\0b", 4), 0); /* includes the terminator */
    ol_buf_free(&b);
}

Test(buf, grows_past_initial_capacity) {
    ol_buf b;
    ol_buf_init(&b);
    char chunk[97];
    for (size_t i = 0; i < sizeof chunk; i++) chunk[i] = (char)('a' + i % 26);
    for (int i = 0; i < 1000; i++) cr_assert(ol_buf_append(&b, chunk, sizeof chunk));
    cr_assert_eq(b.len, 97000);
    cr_assert_eq(strlen(b.data), 97000);
    for (size_t i = 0; i < b.len; i++)
        if (b.data[i] != chunk[i % sizeof chunk]) cr_assert_fail("byte %zu corrupted after growth", i);
    ol_buf_free(&b);
}

Test(buf, appendf_longer_than_initial_capacity) {
    ol_buf b;
    ol_buf_init(&b);
    cr_assert(ol_buf_appends(&b, "<"));
    char big[1000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert(ol_buf_appendf(&b, "%s>%d", big, 7));
    cr_assert_eq(b.len, 1 + 999 + 2);
    cr_assert_eq(b.data[0], '<');
    cr_assert_eq(b.data[1000], '>');
    cr_assert_str_eq(b.data + 1001, "7");
    ol_buf_free(&b);
}

Test(buf, clear_keeps_capacity_and_empties) {
    ol_buf b;
    ol_buf_init(&b);
    cr_assert(ol_buf_appends(&b, "hello"));
    size_t cap = b.cap;
    char *data = b.data;
    ol_buf_clear(&b);
    cr_assert_eq(b.len, 0);
    cr_assert_str_eq(b.data, "");
    cr_assert_eq(b.cap, cap);
    cr_assert_eq(b.data, data);
    cr_assert(ol_buf_appends(&b, "x"));
    cr_assert_str_eq(b.data, "x");
    ol_buf_free(&b);
}

/* ---- ol_utf8_valid --------------------------------------------------- */

typedef struct utf8_case {
    const char *name;
    const char *bytes;
    size_t len;
    bool valid;
} utf8_case;

#define U8(name, lit, valid)                                                                                           \
    { name, lit, sizeof(lit) - 1, valid }

Test(utf8, table) {
    static const utf8_case cases[] = {
        U8("empty", "", true),
        U8("ascii", "hello, world ~", true),
        U8("2-byte e-acute", "caf\xc3\xa9", true),
        U8("3-byte euro", "\xe2\x82\xac", true),
        U8("4-byte emoji", "\xf0\x9f\x8d\x8e", true),
        U8("U+0080 lowest 2-byte", "\xc2\x80", true),
        U8("U+07FF highest 2-byte", "\xdf\xbf", true),
        U8("U+0800 lowest 3-byte", "\xe0\xa0\x80", true),
        U8("U+D7FF below surrogates", "\xed\x9f\xbf", true),
        U8("U+E000 above surrogates", "\xee\x80\x80", true),
        U8("U+FFFF", "\xef\xbf\xbf", true),
        U8("U+10000 lowest 4-byte", "\xf0\x90\x80\x80", true),
        U8("U+10FFFF highest", "\xf4\x8f\xbf\xbf", true),
        U8("DEL is allowed", "\x7f", true),
        U8("control chars are UTF-8", "\x01\x1f", true),
        U8("NUL byte", "a\0b", false),
        U8("only NUL", "\0", false),
        U8("lone continuation", "\x80", false),
        U8("continuation after ascii", "a\xbf", false),
        U8("overlong C0", "\xc0\xaf", false),
        U8("overlong C1", "\xc1\xbf", false),
        U8("overlong 3-byte", "\xe0\x80\xaf", false),
        U8("overlong 3-byte boundary", "\xe0\x9f\xbf", false),
        U8("overlong 4-byte", "\xf0\x80\x80\xaf", false),
        U8("overlong 4-byte boundary", "\xf0\x8f\xbf\xbf", false),
        U8("surrogate D800", "\xed\xa0\x80", false),
        U8("surrogate DFFF", "\xed\xbf\xbf", false),
        U8("above U+10FFFF", "\xf4\x90\x80\x80", false),
        U8("F5 lead", "\xf5\x80\x80\x80", false),
        U8("FE", "\xfe", false),
        U8("FF", "\xff", false),
        U8("truncated 2-byte", "\xc3", false),
        U8("truncated 3-byte", "\xe2\x82", false),
        U8("truncated 4-byte", "\xf0\x9f\x8d", false),
        U8("truncated at end after valid", "ok\xc3\xa9\xe2", false),
        U8("bad continuation in 3-byte", "\xe2\x28\xa1", false),
        U8("bad continuation in 4-byte", "\xf0\x9f\x28\x8e", false),
        U8("latin-1 e-acute", "caf\xe9", false),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const utf8_case *c = &cases[i];
        cr_expect_eq(ol_utf8_valid(c->bytes, c->len), c->valid, "utf8 case '%s': expected %s", c->name,
                     c->valid ? "valid" : "invalid");
    }
}

Test(utf8, respects_length) {
    /* A valid string cut inside a multi-byte character is invalid; the
     * bytes past len are never looked at. */
    cr_assert_not(ol_utf8_valid("\xc3\xa9", 1));
    cr_assert(ol_utf8_valid("ab\xff", 2));
    cr_assert(ol_utf8_valid("ab\0cd", 2));
}

/* ---- ol_strlcpy, ol_seterr ------------------------------------------- */

Test(strlcpy, copies_and_truncates) {
    char dst[6];
    memset(dst, 'X', sizeof dst);
    ol_strlcpy(dst, "abc", sizeof dst);
    cr_assert_str_eq(dst, "abc");
    ol_strlcpy(dst, "abcdefgh", sizeof dst);
    cr_assert_str_eq(dst, "abcde");
    ol_strlcpy(dst, "abcdef", 1);
    cr_assert_str_eq(dst, "");
    dst[0] = 'Q';
    ol_strlcpy(dst, "abc", 0); /* no room at all: untouched */
    cr_assert_eq(dst[0], 'Q');
}

Test(seterr, formats_truncates_and_accepts_null) {
    char err[8];
    ol_seterr(err, sizeof err, "field '%s'", "quantity");
    cr_assert_str_eq(err, "field '");
    ol_seterr(NULL, 0, "ignored %d", 1);
    ol_seterr(NULL, 100, "ignored %d", 1);
    err[0] = 'Q';
    ol_seterr(err, 0, "x");
    cr_assert_eq(err[0], 'Q');
}

/* ---- ol_buf_append_visible ------------------------------------------- */

static void check_visible(const char *in, size_t len, const char *want) {
    ol_buf b;
    ol_buf_init(&b);
    cr_assert(ol_buf_append_visible(&b, in, len));
    cr_assert_eq(b.len, strlen(want));
    cr_assert_str_eq(b.data, want);
    ol_buf_free(&b);
}

Test(visible, keeps_printable_text_and_utf8) {
    check_visible("plain text", 10, "plain text");
    check_visible("caf\xC3\xA9 \xE2\x80\xA6", 9, "caf\xC3\xA9 \xE2\x80\xA6");
    check_visible("\xC2\xA0nbsp", 6, "\xC2\xA0nbsp"); /* U+00A0 is no control */
    check_visible("", 0, "");
}

Test(visible, c0_and_del_become_question_marks) {
    check_visible("a\x1b[2Jb", 6, "a?[2Jb");
    check_visible("\r\n\t\x7f", 4, "????");
    check_visible("x\0y", 3, "x?y");
}

Test(visible, c1_is_one_question_mark_for_both_bytes) {
    check_visible("a\xC2\x9B"
                  "31mb",
                  7, "a?31mb"); /* CSI */
    check_visible("\xC2\x80\xC2\x9F", 4, "??");
}

Test(visible, respects_length) {
    /* A lead byte cut from its continuation is kept: it is no control. */
    check_visible("a\xC2\x9B", 2, "a\xC2");
    check_visible("abc\x01", 3, "abc");
}

Test(visible, appends_to_what_is_there) {
    ol_buf b;
    ol_buf_init(&b);
    cr_assert(ol_buf_appends(&b, "id="));
    cr_assert(ol_buf_append_visible(&b, "x\ny", 3));
    cr_assert_str_eq(b.data, "id=x?y");
    ol_buf_free(&b);
}

/* ---- ol_printable ---------------------------------------------------- */

Test(printable, escapes_non_printable_bytes) {
    char out[64];
    ol_printable(out, sizeof out, "abc", 3);
    cr_assert_str_eq(out, "abc");
    ol_printable(out, sizeof out, "a\x01\xff\n", 4);
    cr_assert_str_eq(out, "a\\x01\\xff\\x0a");
    ol_printable(out, sizeof out, "x\0y", 3);
    cr_assert_str_eq(out, "x\\x00y");
    ol_printable(out, sizeof out, "\x7f ~", 3);
    cr_assert_str_eq(out, "\\x7f ~");
    ol_printable(out, sizeof out, "", 0);
    cr_assert_str_eq(out, "");
}

Test(printable, never_writes_past_dst) {
    char out[16];
    /* Plain bytes: dstlen 4 leaves room for 3 characters. */
    memset(out, '#', sizeof out);
    ol_printable(out, 4, "abcdef", 6);
    cr_assert_str_eq(out, "abc");
    for (size_t i = 4; i < sizeof out; i++) cr_assert_eq(out[i], '#', "byte %zu written past dstlen", i);

    /* An escape needs 4 characters plus the terminator; it is dropped
     * whole rather than cut in half. */
    memset(out, '#', sizeof out);
    ol_printable(out, 5, "\x01", 1);
    cr_assert_str_eq(out, "\\x01");
    memset(out, '#', sizeof out);
    ol_printable(out, 4, "\x01", 1);
    cr_assert_str_eq(out, "");
    for (size_t i = 4; i < sizeof out; i++) cr_assert_eq(out[i], '#', "byte %zu written past dstlen", i);
    memset(out, '#', sizeof out);
    ol_printable(out, 7, "ab\x01", 3); /* exactly fits: 6 characters + NUL */
    cr_assert_str_eq(out, "ab\\x01");
    for (size_t i = 7; i < sizeof out; i++) cr_assert_eq(out[i], '#', "byte %zu written past dstlen", i);
    memset(out, '#', sizeof out);
    ol_printable(out, 6, "ab\x01", 3); /* one short: the escape is dropped */
    cr_assert_str_eq(out, "ab");
    for (size_t i = 6; i < sizeof out; i++) cr_assert_eq(out[i], '#', "byte %zu written past dstlen", i);

    memset(out, '#', sizeof out);
    ol_printable(out, 1, "abc", 3);
    cr_assert_str_eq(out, "");
    cr_assert_eq(out[1], '#');
    ol_printable(out, 0, "abc", 3); /* no room: nothing written */
    cr_assert_eq(out[0], '\0');
    cr_assert_eq(out[1], '#');
}

Test(buf, append_int_matches_printf) {
    const int64_t values[] = {0, 7, -1, 42, -42, 1000000, 2147483647LL, -2147483648LL, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        ol_buf b;
        ol_buf_init(&b);
        char want[32];
        snprintf(want, sizeof want, "%" PRId64, values[i]);
        cr_assert(ol_buf_appends(&b, "x"));
        cr_assert(ol_buf_append_int(&b, values[i]));
        cr_assert_str_eq(b.data + 1, want);
        cr_assert_eq(b.len, 1 + strlen(want));
        ol_buf_free(&b);
    }
}

/* ---- ol_format_rfc3339 ----------------------------------------------- */

/* The arithmetic formatter against gmtime_r + strftime, the obvious way,
 * at every day boundary over four centuries (leap rules for 1900, 2000,
 * 2100) and at pseudo-random instants up to year 9999. */
static void reference_rfc3339(char *out, size_t outlen, int64_t us) {
    int64_t whole = us / 1000000, frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        whole--;
    }
    time_t secs = (time_t)whole;
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, outlen, "%s.%06ldZ", base, (long)frac);
}

Test(rfc3339, agrees_with_gmtime_everywhere) {
    char got[40], want[40];
    for (int64_t day = -25567; day < 25567 + 36525 * 2; day++) { /* 1900 .. 2170 */
        int64_t us = (day * 86400 + (day % 86400 + 86400) % 86400) * 1000000 + (day & 0xfffff);
        ol_format_rfc3339(got, sizeof got, us);
        reference_rfc3339(want, sizeof want, us);
        cr_assert_str_eq(got, want, "at %" PRId64 " us", us);
    }
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;                                /* xorshift64 */
        int64_t us = (int64_t)(x % 253402300799000000ULL) - 2208988800000000LL; /* 1900 .. 9999 */
        ol_format_rfc3339(got, sizeof got, us);
        reference_rfc3339(want, sizeof want, us);
        cr_assert_str_eq(got, want, "at %" PRId64 " us", us);
    }
}

Test(rfc3339, formats_utc_with_microseconds) {
    char out[40];
    ol_format_rfc3339(out, sizeof out, 0);
    cr_assert_str_eq(out, "1970-01-01T00:00:00.000000Z");
    ol_format_rfc3339(out, sizeof out, 1795626000LL * 1000000 + 123456);
    cr_assert_str_eq(out, "2026-11-25T17:00:00.123456Z");
    ol_format_rfc3339(out, sizeof out, 951868799LL * 1000000 + 999999);
    cr_assert_str_eq(out, "2000-02-29T23:59:59.999999Z");
    ol_format_rfc3339(out, sizeof out, 2147483648LL * 1000000 + 1); /* past 2038 */
    cr_assert_str_eq(out, "2038-01-19T03:14:08.000001Z");
    ol_format_rfc3339(out, sizeof out, 7);
    cr_assert_str_eq(out, "1970-01-01T00:00:00.000007Z");
}

Test(rfc3339, fits_documented_28_bytes) {
    char out[28];
    ol_format_rfc3339(out, sizeof out, 1795626000LL * 1000000 + 654321);
    cr_assert_eq(strlen(out), 27);
    cr_assert_str_eq(out, "2026-11-25T17:00:00.654321Z");
}

Test(rfc3339, before_the_epoch) {
    /* Microseconds are never negative: the second is floored. */
    char out[40];
    ol_format_rfc3339(out, sizeof out, -1);
    cr_assert_str_eq(out, "1969-12-31T23:59:59.999999Z");
    ol_format_rfc3339(out, sizeof out, -1000000);
    cr_assert_str_eq(out, "1969-12-31T23:59:59.000000Z");
    ol_format_rfc3339(out, sizeof out, -1500000);
    cr_assert_str_eq(out, "1969-12-31T23:59:58.500000Z");
}

/* ---- clocks ---------------------------------------------------------- */

Test(clock, now_is_plausible_and_monotonic_does_not_go_back) {
    int64_t now = ol_now_us();
    cr_assert_gt(now, 1577836800LL * 1000000, "ol_now_us before 2020: %lld", (long long)now);
    int64_t a = ol_monotonic_ms();
    int64_t b = ol_monotonic_ms();
    cr_assert_geq(b, a);
}

/* ---- ol_parse_long --------------------------------------------------- */

Test(parse_long, accepts_in_range) {
    long v = -1;
    cr_assert(ol_parse_long("0", 0, 10, &v));
    cr_assert_eq(v, 0);
    cr_assert(ol_parse_long("10", 0, 10, &v));
    cr_assert_eq(v, 10);
    cr_assert(ol_parse_long("-5", -10, 10, &v));
    cr_assert_eq(v, -5);
    cr_assert(ol_parse_long("007", 0, 10, &v));
    cr_assert_eq(v, 7);
    char text[32];
    snprintf(text, sizeof text, "%ld", LONG_MAX);
    cr_assert(ol_parse_long(text, LONG_MIN, LONG_MAX, &v));
    cr_assert_eq(v, LONG_MAX);
    snprintf(text, sizeof text, "%ld", LONG_MIN);
    cr_assert(ol_parse_long(text, LONG_MIN, LONG_MAX, &v));
    cr_assert_eq(v, LONG_MIN);
}

Test(parse_long, rejects_junk_and_range_and_leaves_out_alone) {
    static const char *bad[] = {
        "", "x", "12x", "1.5", "1e3", "0x10", "5 ", "--5", "-", "99999999999999999999", "-99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long v = 1234;
        cr_expect_not(ol_parse_long(bad[i], LONG_MIN, LONG_MAX, &v), "'%s' should be rejected", bad[i]);
        cr_expect_eq(v, 1234, "'%s': out written on failure", bad[i]);
    }
    long v = 1234;
    cr_assert_not(ol_parse_long(NULL, 0, 10, &v));
    cr_assert_not(ol_parse_long("11", 0, 10, &v));
    cr_assert_not(ol_parse_long("-1", 0, 10, &v));
    cr_assert_not(ol_parse_long("0", 1, 10, &v));
    cr_assert_eq(v, 1234);
}

Test(grow_zeroed, grows_to_the_index_zeroing_only_new_elements) {
    int64_t *a = NULL;
    size_t n = 0;
    void *p = a;
    cr_assert(ol_grow_zeroed(&p, &n, 2, sizeof *a));
    a = p;
    cr_assert_eq(n, 3);
    for (size_t i = 0; i < n; i++) cr_assert_eq(a[i], 0);
    a[1] = 7;
    cr_assert(ol_grow_zeroed(&p, &n, 1, sizeof *a), "already there");
    cr_assert_eq(n, 3);
    cr_assert(ol_grow_zeroed(&p, &n, 9, sizeof *a));
    a = p;
    cr_assert_eq(n, 10);
    cr_assert_eq(a[1], 7, "old elements kept");
    cr_assert_eq(a[9], 0);
    cr_assert_not(ol_grow_zeroed(&p, &n, -1, sizeof *a), "a negative index");
    cr_assert_eq(n, 10);
    free(p);
}

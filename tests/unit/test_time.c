/* Unit tests for ol_time: the --since times of order-results and
 * order-audit. */
#include <criterion/criterion.h>

#include "ol_time.h"

#define SEC 1000000LL

static int64_t parse_ok(const char *text, int64_t now) {
    int64_t out = -1;
    char err[256] = "";
    cr_assert(ol_time_arg_parse(text, now, &out, err, sizeof err), "'%s' rejected: %s", text, err);
    return out;
}

static void parse_bad(const char *text) {
    int64_t out;
    char err[256] = "";
    cr_assert_not(ol_time_arg_parse(text, 0, &out, err, sizeof err), "'%s' accepted", text);
    cr_assert_neq(err[0], '\0', "no reason given for '%s'", text);
}

Test(time_arg, rfc3339_utc) {
    /* date -u -d 2026-11-25T17:00:00Z +%s */
    cr_assert_eq(parse_ok("2026-11-25T17:00:00Z", 0), 1795626000LL * SEC);
    cr_assert_eq(parse_ok("1970-01-01T00:00:00Z", 0), 0);
    cr_assert_eq(parse_ok("2026-11-25t17:00:00z", 0), 1795626000LL * SEC);
    cr_assert_eq(parse_ok("2026-11-25 17:00:00Z", 0), 1795626000LL * SEC);
}

Test(time_arg, rfc3339_fraction_and_offsets) {
    cr_assert_eq(parse_ok("2026-11-25T17:00:00.25Z", 0), 1795626000LL * SEC + 250000);
    cr_assert_eq(parse_ok("2026-11-25T17:00:00.123456789Z", 0), 1795626000LL * SEC + 123456);
    cr_assert_eq(parse_ok("2026-11-25T18:00:00+01:00", 0), 1795626000LL * SEC);
    cr_assert_eq(parse_ok("2026-11-25T12:30:00-04:30", 0), 1795626000LL * SEC);
}

Test(time_arg, date_alone_is_midnight_utc) { cr_assert_eq(parse_ok("2026-11-25", 0), 1795564800LL * SEC); }

Test(time_arg, leap_days) {
    cr_assert_eq(parse_ok("2024-02-29T00:00:00Z", 0), 1709164800LL * SEC);
    parse_bad("2023-02-29T00:00:00Z");
    parse_bad("2100-02-29T00:00:00Z");
    cr_assert_eq(parse_ok("2000-02-29T00:00:00Z", 0), 951782400LL * SEC);
}

Test(time_arg, relative) {
    int64_t now = 1795626000LL * SEC;
    cr_assert_eq(parse_ok("30s", now), now - 30 * SEC);
    cr_assert_eq(parse_ok("15m", now), now - 15 * 60 * SEC);
    cr_assert_eq(parse_ok("2h", now), now - 2 * 3600 * SEC);
    cr_assert_eq(parse_ok("1d", now), now - 86400 * SEC);
    cr_assert_eq(parse_ok("0s", now), now);
    cr_assert_eq(parse_ok("100000d", now), 0, "before the epoch clamps to it");
}

Test(time_arg, rejects_junk) {
    parse_bad("");
    parse_bad("m");
    parse_bad("15");
    parse_bad("15x");
    parse_bad("-15m");
    parse_bad("15 m");
    parse_bad("1.5h");
    parse_bad("99999999999999999999s");
    parse_bad("2026-11-25T17:00:00"); /* no zone: ambiguous */
    parse_bad("2026-13-01T00:00:00Z");
    parse_bad("2026-11-31T00:00:00Z");
    parse_bad("2026-11-25T24:00:00Z");
    parse_bad("2026-11-25T17:60:00Z");
    parse_bad("2026-11-25T17:00:00.Z");
    parse_bad("2026-11-25T17:00:00Zjunk");
    parse_bad("2026-11-25T17:00:00+1:00");
    parse_bad("yesterday");
}

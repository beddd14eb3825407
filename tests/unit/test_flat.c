/* Unit tests for ol_flat: the reader of flat JSON objects behind the
 * parsers' fast paths. What it reads, what it declines, and that a reader
 * stopped by a decline cannot be closed as if it had finished. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "ol_flat.h"

/* Reads value whole; the number of members, or -1 when declined. */
static int read_all(const char *value, ol_flat_value *members, size_t cap) {
    ol_flat_reader r;
    ol_flat_value v;
    size_t n = 0;
    if (!ol_flat_open(&r, value, strlen(value))) return -1;
    while (ol_flat_next(&r, &v))
        if (n < cap) members[n++] = v;
    return ol_flat_close(&r) ? (int)n : -1;
}

Test(flat, every_kind_of_value) {
    ol_flat_value m[8];
    cr_assert_eq(read_all(" {\"s\" : \"a b\", \"i\":-42,\"z\":0,\"t\":true,\"f\":false,\"n\":null}\n", m, 8), 6);
    cr_assert(OL_FLAT_IS(&m[0], "s"));
    cr_assert_eq(m[0].kind, OL_FLAT_STRING);
    cr_assert_eq(m[0].len, 3);
    cr_assert(memcmp(m[0].s, "a b", 3) == 0);
    cr_assert_eq(m[1].kind, OL_FLAT_INTEGER);
    cr_assert_eq(m[1].integer, -42);
    cr_assert_eq(m[2].integer, 0);
    cr_assert_eq(m[3].kind, OL_FLAT_TRUE);
    cr_assert_eq(m[4].kind, OL_FLAT_FALSE);
    cr_assert_eq(m[5].kind, OL_FLAT_NULL);
    cr_assert(OL_FLAT_IS(&m[5], "n"));
    cr_assert_not(OL_FLAT_IS(&m[5], "nn"));
}

Test(flat, the_value_length_is_respected) {
    const char *value = "{\"a\":1}garbage";
    ol_flat_reader r;
    ol_flat_value v;
    cr_assert(ol_flat_open(&r, value, 7));
    cr_assert(ol_flat_next(&r, &v));
    cr_assert_not(ol_flat_next(&r, &v));
    cr_assert(ol_flat_close(&r));
    cr_assert_eq(read_all(value, &v, 1), -1);
}

Test(flat, declines_what_jansson_would_read_differently_or_not_at_all) {
    static const char *const declined[] = {
        "",
        "[1]",
        "{}",
        "{\"a\":1,}",
        "{\"a\":1",
        "{\"a\":1} x",
        "{\"a\":1,\"a\":2}",        /* a member twice */
        "{\"a\":\"x\\ny\"}",        /* an escape */
        "{\"a\":\"\xc3\xa9\"}",     /* non-ASCII */
        "{\"a\":\"tab\tinside\"}",  /* a control character */
        "{\"a\\u0062\":1}",         /* an escaped name */
        "{\"a\":1.5}",              /* a fraction */
        "{\"a\":1e3}",              /* an exponent */
        "{\"a\":01}",               /* a leading zero */
        "{\"a\":-}",                /* no digits */
        "{\"a\":1000000000000000}", /* 16 digits */
        "{\"a\":{\"b\":1}}",        /* nesting */
        "{\"a\":[1]}",
        "{\"a\":nul}",
        "{\"a\":True}",
        "{a:1}",
    };
    ol_flat_value v;
    for (size_t i = 0; i < sizeof declined / sizeof declined[0]; i++)
        cr_assert_eq(read_all(declined[i], &v, 1), -1, "case %zu: %s", i, declined[i]);
    cr_assert_eq(read_all("{\"a\":999999999999999}", &v, 1), 1);
    cr_assert_eq(v.integer, 999999999999999);
}

Test(flat, at_most_sixteen_members) {
    char value[512] = "{";
    for (int i = 0; i < OL_FLAT_MAX_MEMBERS; i++)
        snprintf(value + strlen(value), sizeof value - strlen(value), "%s\"m%d\":%d", i ? "," : "", i, i);
    strcat(value, "}");
    ol_flat_value m[OL_FLAT_MAX_MEMBERS];
    cr_assert_eq(read_all(value, m, OL_FLAT_MAX_MEMBERS), OL_FLAT_MAX_MEMBERS);
    value[strlen(value) - 1] = '\0';
    strcat(value, ",\"one_more\":1}");
    cr_assert_eq(read_all(value, m, OL_FLAT_MAX_MEMBERS), -1);
}

/* A caller that stops at a member it refuses must not be able to close the
 * object as read. */
Test(flat, close_needs_every_member_read) {
    ol_flat_reader r;
    ol_flat_value v;
    const char *value = "{\"a\":1,\"b\":2}";
    cr_assert(ol_flat_open(&r, value, strlen(value)));
    cr_assert(ol_flat_next(&r, &v));
    cr_assert_not(ol_flat_close(&r));
}

Test(flat, copy_needs_a_string_of_1_to_max_bytes) {
    ol_flat_value m[3];
    char dst[8];
    cr_assert_eq(read_all("{\"a\":\"abc\",\"b\":\"\",\"c\":7}", m, 3), 3);
    cr_assert(ol_flat_copy(&m[0], 3, dst));
    cr_assert_str_eq(dst, "abc");
    cr_assert_not(ol_flat_copy(&m[0], 2, dst));
    cr_assert_not(ol_flat_copy(&m[1], 7, dst));
    cr_assert_not(ol_flat_copy(&m[2], 7, dst));
}

/* ---- arrays of flat objects ------------------------------------------- */

/* Reads an array whole: the members of each element, or -1 when declined. */
static int read_array(const char *value, int *members, int cap) {
    ol_flat_array a;
    ol_flat_reader r;
    ol_flat_value v;
    int n = 0;
    if (!ol_flat_array_open(&a, value, strlen(value))) return -1;
    while (ol_flat_array_next(&a, &r)) {
        int m = 0;
        while (ol_flat_next(&r, &v)) m++;
        if (!ol_flat_close(&r)) return -1;
        if (n < cap) members[n] = m;
        n++;
    }
    return ol_flat_array_close(&a) ? n : -1;
}

/* As psql prints a jsonb array of objects: spaces after ':' and ','. */
Test(flat_array, reads_what_postgres_prints) {
    int m[4];
    cr_assert_eq(read_array("[{\"held\": false, \"item\": \"a}b\", \"quantity\": 2}, {\"held\": true, \"reason\": "
                            "null}] ",
                            m, 4),
                 2);
    cr_assert_eq(m[0], 3);
    cr_assert_eq(m[1], 2);
    cr_assert_eq(read_array("[{\"a\":1}]", m, 4), 1);
}

Test(flat_array, declines_the_rest) {
    static const char *const declined[] = {
        "",           "[]",           "[1]",       "[{\"a\":1},]",  "[{\"a\":1} {\"b\":2}]",
        "[{\"a\":1}", "[{\"a\":1}]x", "{\"a\":1}", "[{\"a\":[1]}]", "[{\"a\":1},[]]",
    };
    int m[4];
    for (size_t i = 0; i < sizeof declined / sizeof declined[0]; i++)
        cr_assert_eq(read_array(declined[i], m, 4), -1, "case %zu: %s", i, declined[i]);
}

/* An element left unclosed (its caller stopped at a member it refused)
 * cannot be stepped over. */
Test(flat_array, an_unclosed_element_stops_the_array) {
    ol_flat_array a;
    ol_flat_reader r;
    const char *value = "[{\"a\":1},{\"b\":2}]";
    cr_assert(ol_flat_array_open(&a, value, strlen(value)));
    cr_assert(ol_flat_array_next(&a, &r));
    cr_assert_not(ol_flat_array_next(&a, &r));
    cr_assert_not(ol_flat_array_close(&a));
}

Test(flat, text_fits_or_is_refused_and_fields_are_found_by_name) {
    ol_flat_value m[3];
    char dst[4];
    cr_assert_eq(read_all("{\"a\":\"abc\",\"b\":\"\",\"c\":7}", m, 3), 3);
    cr_assert(ol_flat_text(&m[0], dst, sizeof dst));
    cr_assert_str_eq(dst, "abc");
    cr_assert_not(ol_flat_text(&m[0], dst, 3));
    cr_assert(ol_flat_text(&m[1], dst, sizeof dst));
    cr_assert_str_eq(dst, "");
    cr_assert_not(ol_flat_text(&m[2], dst, sizeof dst));
    static const char *const names[] = {"c", "b", "aa"};
    cr_assert_eq(ol_flat_field(&m[0], names, 3), -1);
    cr_assert_eq(ol_flat_field(&m[1], names, 3), 1);
    cr_assert_eq(ol_flat_field(&m[2], names, 3), 0);
}

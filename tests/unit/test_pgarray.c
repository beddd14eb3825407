/* Unit tests for pgarray: PostgreSQL array literals. Every text element
 * is double-quoted, so only " and \ need escaping; NULL is the unquoted
 * word and the string "NULL" stays quoted. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "pgarray.h"

Test(pgarray, empty_array) {
    pgarray a;
    pgarray_init(&a);
    cr_assert_str_eq(pgarray_text(&a), "{}");
    cr_assert_eq(a.count, 0);
    pgarray_free(&a);
}

Test(pgarray, text_elements) {
    pgarray a;
    pgarray_init(&a);
    cr_assert(pgarray_add_text(&a, "apple"));
    cr_assert(pgarray_add_text(&a, "item-00001"));
    cr_assert_str_eq(pgarray_text(&a), "{\"apple\",\"item-00001\"}");
    cr_assert_eq(a.count, 2);
    pgarray_free(&a);
}

Test(pgarray, escapes_quote_and_backslash) {
    pgarray a;
    pgarray_init(&a);
    cr_assert(pgarray_add_text(&a, "say \"hi\""));
    cr_assert(pgarray_add_text(&a, "C:\\dir\\"));
    cr_assert(pgarray_add_text(&a, "\\\""));
    cr_assert_str_eq(pgarray_text(&a), "{\"say \\\"hi\\\"\",\"C:\\\\dir\\\\\",\"\\\\\\\"\"}");
    pgarray_free(&a);
}

Test(pgarray, special_characters_need_no_escape_inside_quotes) {
    pgarray a;
    pgarray_init(&a);
    cr_assert(pgarray_add_text(&a, "a,b"));
    cr_assert(pgarray_add_text(&a, "{x}"));
    cr_assert(pgarray_add_text(&a, " spaced "));
    cr_assert(pgarray_add_text(&a, "caf\xc3\xa9"));
    cr_assert(pgarray_add_text(&a, "'single'"));
    cr_assert_str_eq(pgarray_text(&a), "{\"a,b\",\"{x}\",\" spaced \",\"caf\xc3\xa9\",\"'single'\"}");
    pgarray_free(&a);
}

Test(pgarray, null_versus_the_string_null_and_empty_string) {
    pgarray a;
    pgarray_init(&a);
    cr_assert(pgarray_add_null(&a));
    cr_assert(pgarray_add_text(&a, "NULL"));
    cr_assert(pgarray_add_text(&a, ""));
    cr_assert_str_eq(pgarray_text(&a), "{NULL,\"NULL\",\"\"}");
    pgarray_free(&a);
}

Test(pgarray, integers) {
    pgarray a;
    pgarray_init(&a);
    cr_assert(pgarray_add_int(&a, 0));
    cr_assert(pgarray_add_int(&a, -2));
    cr_assert(pgarray_add_int(&a, INT64_MAX));
    cr_assert(pgarray_add_int(&a, INT64_MIN));
    cr_assert(pgarray_add_null(&a));
    cr_assert_str_eq(pgarray_text(&a), "{0,-2,9223372036854775807,-9223372036854775808,NULL}");
    cr_assert_eq(a.count, 5);
    pgarray_free(&a);
}

Test(pgarray, text_between_adds_is_idempotent) {
    /* text() closes the literal; later adds must reopen it cleanly. */
    pgarray a;
    pgarray_init(&a);
    cr_assert(pgarray_add_int(&a, 1));
    cr_assert_str_eq(pgarray_text(&a), "{1}");
    cr_assert_str_eq(pgarray_text(&a), "{1}");
    cr_assert(pgarray_add_text(&a, "}"));
    cr_assert_str_eq(pgarray_text(&a), "{1,\"}\"}");
    cr_assert(pgarray_add_null(&a));
    cr_assert_str_eq(pgarray_text(&a), "{1,\"}\",NULL}");
    cr_assert(pgarray_add_text(&a, "x"));
    cr_assert_str_eq(pgarray_text(&a), "{1,\"}\",NULL,\"x\"}");
    pgarray_free(&a);
}

Test(pgarray, reset_reuses) {
    pgarray a;
    pgarray_init(&a);
    cr_assert(pgarray_add_text(&a, "old"));
    cr_assert_str_eq(pgarray_text(&a), "{\"old\"}");
    pgarray_reset(&a);
    cr_assert_eq(a.count, 0);
    cr_assert_str_eq(pgarray_text(&a), "{}");
    cr_assert(pgarray_add_int(&a, 7));
    cr_assert_str_eq(pgarray_text(&a), "{7}");
    pgarray_reset(&a);
    cr_assert(pgarray_add_text(&a, "new"));
    cr_assert_str_eq(pgarray_text(&a), "{\"new\"}");
    pgarray_free(&a);
}

Test(pgarray, large_batch) {
    pgarray a;
    pgarray_init(&a);
    for (int i = 0; i < 5000; i++) cr_assert(pgarray_add_text(&a, "o\"\\"));
    const char *t = pgarray_text(&a);
    /* "{" + 5000 * "\"o\\\"\\\\\"" (7 bytes) + 4999 commas + "}" */
    cr_assert_eq(strlen(t), 1 + 5000 * 7 + 4999 + 1);
    cr_assert_eq(t[0], '{');
    cr_assert_eq(t[strlen(t) - 1], '}');
    cr_assert_eq(strncmp(t, "{\"o\\\"\\\\\",", 9), 0);
    pgarray_free(&a);
}

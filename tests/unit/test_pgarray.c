/* Unit tests for ol_pgarray: PostgreSQL array literals. Every text element
 * is double-quoted, so only " and \ need escaping; NULL is the unquoted
 * word and the string "NULL" stays quoted. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "ol_pgarray.h"

Test(ol_pgarray, empty_array) {
    ol_pgarray a;
    ol_pgarray_init(&a);
    cr_assert_str_eq(ol_pgarray_text(&a), "{}");
    cr_assert_eq(a.count, 0);
    ol_pgarray_free(&a);
}

Test(ol_pgarray, text_elements) {
    ol_pgarray a;
    ol_pgarray_init(&a);
    cr_assert(ol_pgarray_add_text(&a, "apple"));
    cr_assert(ol_pgarray_add_text(&a, "item-00001"));
    cr_assert_str_eq(ol_pgarray_text(&a), "{\"apple\",\"item-00001\"}");
    cr_assert_eq(a.count, 2);
    ol_pgarray_free(&a);
}

Test(ol_pgarray, escapes_quote_and_backslash) {
    ol_pgarray a;
    ol_pgarray_init(&a);
    cr_assert(ol_pgarray_add_text(&a, "say \"hi\""));
    cr_assert(ol_pgarray_add_text(&a, "C:\\dir\\"));
    cr_assert(ol_pgarray_add_text(&a, "\\\""));
    cr_assert_str_eq(ol_pgarray_text(&a), "{\"say \\\"hi\\\"\",\"C:\\\\dir\\\\\",\"\\\\\\\"\"}");
    ol_pgarray_free(&a);
}

Test(ol_pgarray, special_characters_need_no_escape_inside_quotes) {
    ol_pgarray a;
    ol_pgarray_init(&a);
    cr_assert(ol_pgarray_add_text(&a, "a,b"));
    cr_assert(ol_pgarray_add_text(&a, "{x}"));
    cr_assert(ol_pgarray_add_text(&a, " spaced "));
    cr_assert(ol_pgarray_add_text(&a, "caf\xc3\xa9"));
    cr_assert(ol_pgarray_add_text(&a, "'single'"));
    cr_assert_str_eq(ol_pgarray_text(&a), "{\"a,b\",\"{x}\",\" spaced \",\"caf\xc3\xa9\",\"'single'\"}");
    ol_pgarray_free(&a);
}

Test(ol_pgarray, null_versus_the_string_null_and_empty_string) {
    ol_pgarray a;
    ol_pgarray_init(&a);
    cr_assert(ol_pgarray_add_null(&a));
    cr_assert(ol_pgarray_add_text(&a, "NULL"));
    cr_assert(ol_pgarray_add_text(&a, ""));
    cr_assert_str_eq(ol_pgarray_text(&a), "{NULL,\"NULL\",\"\"}");
    ol_pgarray_free(&a);
}

Test(ol_pgarray, integers) {
    ol_pgarray a;
    ol_pgarray_init(&a);
    cr_assert(ol_pgarray_add_int(&a, 0));
    cr_assert(ol_pgarray_add_int(&a, -2));
    cr_assert(ol_pgarray_add_int(&a, INT64_MAX));
    cr_assert(ol_pgarray_add_int(&a, INT64_MIN));
    cr_assert(ol_pgarray_add_null(&a));
    cr_assert_str_eq(ol_pgarray_text(&a), "{0,-2,9223372036854775807,-9223372036854775808,NULL}");
    cr_assert_eq(a.count, 5);
    ol_pgarray_free(&a);
}

Test(ol_pgarray, text_between_adds_is_idempotent) {
    /* text() closes the literal; later adds must reopen it cleanly. */
    ol_pgarray a;
    ol_pgarray_init(&a);
    cr_assert(ol_pgarray_add_int(&a, 1));
    cr_assert_str_eq(ol_pgarray_text(&a), "{1}");
    cr_assert_str_eq(ol_pgarray_text(&a), "{1}");
    cr_assert(ol_pgarray_add_text(&a, "}"));
    cr_assert_str_eq(ol_pgarray_text(&a), "{1,\"}\"}");
    cr_assert(ol_pgarray_add_null(&a));
    cr_assert_str_eq(ol_pgarray_text(&a), "{1,\"}\",NULL}");
    cr_assert(ol_pgarray_add_text(&a, "x"));
    cr_assert_str_eq(ol_pgarray_text(&a), "{1,\"}\",NULL,\"x\"}");
    ol_pgarray_free(&a);
}

Test(ol_pgarray, reset_reuses) {
    ol_pgarray a;
    ol_pgarray_init(&a);
    cr_assert(ol_pgarray_add_text(&a, "old"));
    cr_assert_str_eq(ol_pgarray_text(&a), "{\"old\"}");
    ol_pgarray_reset(&a);
    cr_assert_eq(a.count, 0);
    cr_assert_str_eq(ol_pgarray_text(&a), "{}");
    cr_assert(ol_pgarray_add_int(&a, 7));
    cr_assert_str_eq(ol_pgarray_text(&a), "{7}");
    ol_pgarray_reset(&a);
    cr_assert(ol_pgarray_add_text(&a, "new"));
    cr_assert_str_eq(ol_pgarray_text(&a), "{\"new\"}");
    ol_pgarray_free(&a);
}

Test(ol_pgarray, large_batch) {
    ol_pgarray a;
    ol_pgarray_init(&a);
    for (int i = 0; i < 5000; i++) cr_assert(ol_pgarray_add_text(&a, "o\"\\"));
    const char *t = ol_pgarray_text(&a);
    /* "{" + 5000 * "\"o\\\"\\\\\"" (7 bytes) + 4999 commas + "}" */
    cr_assert_eq(strlen(t), 1 + 5000 * 7 + 4999 + 1);
    cr_assert_eq(t[0], '{');
    cr_assert_eq(t[strlen(t) - 1], '}');
    cr_assert_eq(strncmp(t, "{\"o\\\"\\\\\",", 9), 0);
    ol_pgarray_free(&a);
}

/* Unit tests for ol_pg's pure parts: PostgreSQL error text on one line,
 * without the password. No database. */
#include <criterion/criterion.h>
#include <string.h>

#include "ol_pg.h"

Test(pg, messages_are_one_line_without_the_password) {
    char out[256];
    ol_pg_clean_message(out, sizeof out,
                        "FATAL:  password authentication failed for user \"u\" (s3cret)\nDETAIL:\tbad\n\n",
                        "host=db user=u password=s3cret");
    cr_assert_str_eq(out, "FATAL: password authentication failed for user \"u\" (***) DETAIL: bad");
    ol_pg_clean_message(out, sizeof out, "\n  \n", NULL);
    cr_assert_str_eq(out, "");
    ol_pg_clean_message(out, 8, "a long message cut short", "");
    cr_assert_str_eq(out, "a long");
}

Test(pg, error_names_what_failed) {
    char err[256];
    /* Without a result the connection's message is used (here: none). */
    ol_pg_error(err, sizeof err, "reading inventories", NULL, NULL, "password=x");
    cr_assert(strncmp(err, "reading inventories: ", 21) == 0, "%s", err);
    cr_assert_null(strchr(err, '\n'), "%s", err);
    ol_pg_error(err, sizeof err, NULL, NULL, NULL, NULL);
    cr_assert_neq(strncmp(err, ": ", 2), 0, "no prefix without what: %s", err);
}

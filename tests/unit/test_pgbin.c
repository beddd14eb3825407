/* Unit tests for consumer/pgbin: binary arrays in array_send's layout.
 * The expected bytes are what PostgreSQL 15 returns for
 * SELECT array_send(...) on the same values (checked by hand with psql:
 * SELECT encode(array_send(ARRAY[1,-2]::int[]), 'hex')). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "pgbin.h"

static void expect_hex(pgbin_array *a, const char *hex) {
    int len = -1;
    const unsigned char *data = (const unsigned char *)pgbin_data(a, &len);
    char got[1024] = "";
    cr_assert_lt((size_t)len * 2, sizeof got);
    for (int i = 0; i < len; i++) snprintf(got + 2 * i, 3, "%02x", data[i]);
    cr_assert_str_eq(got, hex);
}

Test(pgbin, int4_array) {
    pgbin_array a;
    pgbin_init(&a, PGBIN_INT4);
    cr_assert(pgbin_add_int4(&a, 1) && pgbin_add_int4(&a, -2));
    /* ndim 1, no nulls, oid 23, 2 elements from 1; then (len 4, value) each */
    expect_hex(&a, "0000000100000000000000170000000200000001"
                   "0000000400000001"
                   "00000004fffffffe");
    pgbin_free(&a);
}

Test(pgbin, int8_array) {
    pgbin_array a;
    pgbin_init(&a, PGBIN_INT8);
    cr_assert(pgbin_add_int8(&a, 0x0102030405060708LL));
    expect_hex(&a, "0000000100000000000000140000000100000001"
                   "000000080102030405060708");
    pgbin_free(&a);
}

Test(pgbin, text_with_null_sets_the_flag) {
    pgbin_array a;
    pgbin_init(&a, PGBIN_TEXT);
    cr_assert(pgbin_add_text(&a, "ab") && pgbin_add_null(&a) && pgbin_add_text(&a, ""));
    expect_hex(&a, "0000000100000001000000190000000300000001"
                   "000000026162"
                   "ffffffff"
                   "00000000");
    pgbin_free(&a);
}

Test(pgbin, timestamptz_counts_from_2000) {
    pgbin_array a;
    pgbin_init(&a, PGBIN_TIMESTAMPTZ);
    /* 2000-01-01T00:00:00.000001Z is 1 on the wire; 1970 is -946684800000000. */
    cr_assert(pgbin_add_timestamptz(&a, 946684800000001LL) && pgbin_add_timestamptz(&a, 0));
    expect_hex(&a, "0000000100000000000004a00000000200000001"
                   "000000080000000000000001"
                   "00000008fffca2fec4c82000");
    pgbin_free(&a);
}

Test(pgbin, empty_array_has_no_dimensions) {
    pgbin_array a;
    pgbin_init(&a, PGBIN_TEXT);
    expect_hex(&a, "000000000000000000000019");
    cr_assert(pgbin_add_text(&a, "x"));
    pgbin_reset(&a);
    expect_hex(&a, "000000000000000000000019");
    pgbin_free(&a);
}

Test(pgbin, reset_reuses_and_clears_the_null_flag) {
    pgbin_array a;
    pgbin_init(&a, PGBIN_INT4);
    cr_assert(pgbin_add_null(&a));
    pgbin_reset(&a);
    cr_assert(pgbin_add_int4(&a, 7));
    expect_hex(&a, "0000000100000000000000170000000100000001"
                   "0000000400000007");
    pgbin_free(&a);
}

/* pgbin: one-dimensional PostgreSQL arrays in the binary wire format
 * (array_send's layout), for sending a whole batch as one parameter to
 * unnest() without the server parsing array literals or element text.
 * Pure: no I/O.
 *
 * An array holds elements of one type, named at init by its element OID;
 * the parameter's declared type in the statement must be an array of that
 * element type, or the server refuses the value ("wrong element type"). */
#ifndef PGBIN_H
#define PGBIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ol_str.h"

/* Element type OIDs (pg_type.oid, fixed since PostgreSQL 7). */
#define PGBIN_INT4 23u
#define PGBIN_INT8 20u
#define PGBIN_TEXT 25u
#define PGBIN_TIMESTAMPTZ 1184u

typedef struct pgbin_array {
    ol_buf buf; /* header (filled by pgbin_data) then the elements */
    uint32_t elem_oid;
    size_t count;
    bool has_null;
    unsigned char empty[12]; /* the value of an empty array */
} pgbin_array;

void pgbin_init(pgbin_array *a, uint32_t elem_oid);
void pgbin_free(pgbin_array *a);
/* Empties the array for reuse, keeping its memory. */
void pgbin_reset(pgbin_array *a);
/* Each add returns false when memory ran out (the array is then unchanged
 * or must be reset). The type must match the element OID. */
bool pgbin_add_text(pgbin_array *a, const char *text);
bool pgbin_add_int4(pgbin_array *a, int32_t value);
bool pgbin_add_int8(pgbin_array *a, int64_t value);
/* Microseconds since the Unix epoch; the wire counts from 2000-01-01. */
bool pgbin_add_timestamptz(pgbin_array *a, int64_t unix_us);
bool pgbin_add_null(pgbin_array *a);
/* The value to send with format 1 (binary) and its length in *len. Valid
 * until the next add or reset. */
const char *pgbin_data(pgbin_array *a, int *len);

#endif

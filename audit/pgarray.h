/* audit/pgarray: builds PostgreSQL array literals ({"a","b"}) for sending a
 * whole batch as one parameter to unnest(). Pure. */
#ifndef AUDIT_PGARRAY_H
#define AUDIT_PGARRAY_H

#include <stdbool.h>
#include <stdint.h>

#include "ol_str.h"

typedef struct pgarray {
    ol_buf buf;
    size_t count;
} pgarray;

void pgarray_init(pgarray *a);
void pgarray_free(pgarray *a);
void pgarray_reset(pgarray *a);
/* Each add returns false when memory ran out. */
bool pgarray_add_text(pgarray *a, const char *text);
bool pgarray_add_int(pgarray *a, int64_t value);
bool pgarray_add_null(pgarray *a);
/* The literal so far, closed ("{}" when empty). Valid until the next add. */
const char *pgarray_text(pgarray *a);

#endif

/* ol_pgarray: builds PostgreSQL array literals ({"a","b"}) for sending a
 * whole batch as one parameter to unnest(). Pure. */
#ifndef OL_PGARRAY_H
#define OL_PGARRAY_H

#include <stdbool.h>
#include <stdint.h>

#include "ol_str.h"

typedef struct ol_pgarray {
    ol_buf buf;
    size_t count;
} ol_pgarray;

void ol_pgarray_init(ol_pgarray *a);
void ol_pgarray_free(ol_pgarray *a);
void ol_pgarray_reset(ol_pgarray *a);
/* Each add returns false when memory ran out. */
bool ol_pgarray_add_text(ol_pgarray *a, const char *text);
bool ol_pgarray_add_int(ol_pgarray *a, int64_t value);
bool ol_pgarray_add_null(ol_pgarray *a);
/* The literal so far, closed ("{}" when empty). Valid until the next add. */
const char *ol_pgarray_text(ol_pgarray *a);

#endif

#include "ol_pgarray.h"

#include <inttypes.h>
#include <stdio.h>

void ol_pgarray_init(ol_pgarray *a) {
    ol_buf_init(&a->buf);
    a->count = 0;
}

void ol_pgarray_free(ol_pgarray *a) { ol_buf_free(&a->buf); }

void ol_pgarray_reset(ol_pgarray *a) {
    ol_buf_clear(&a->buf);
    a->count = 0;
}

/* The buffer holds "{e1,e2" without the closing brace; text() adds it and
 * takes it off again on the next add. */
static bool open_element(ol_pgarray *a) {
    if (a->count == 0) {
        ol_buf_clear(&a->buf);
        if (!ol_buf_append(&a->buf, "{", 1)) return false;
    } else {
        if (a->buf.len && a->buf.data[a->buf.len - 1] == '}') a->buf.len--;
        if (!ol_buf_append(&a->buf, ",", 1)) return false;
    }
    a->count++;
    return true;
}

bool ol_pgarray_add_text(ol_pgarray *a, const char *text) {
    if (!open_element(a) || !ol_buf_append(&a->buf, "\"", 1)) return false;
    /* Inside double quotes only " and \ need escaping; the text between
     * them is copied in one go. */
    const char *run = text;
    for (const char *p = text; *p; p++) {
        if (*p != '"' && *p != '\\') continue;
        if (!ol_buf_append(&a->buf, run, (size_t)(p - run)) || !ol_buf_append(&a->buf, "\\", 1)) return false;
        run = p; /* the quote or backslash itself starts the next run */
    }
    return ol_buf_appends(&a->buf, run) && ol_buf_append(&a->buf, "\"", 1);
}

bool ol_pgarray_add_int(ol_pgarray *a, int64_t value) { return open_element(a) && ol_buf_append_int(&a->buf, value); }

bool ol_pgarray_add_null(ol_pgarray *a) { return open_element(a) && ol_buf_append(&a->buf, "NULL", 4); }

const char *ol_pgarray_text(ol_pgarray *a) {
    if (a->count == 0) return "{}";
    if (a->buf.data[a->buf.len - 1] != '}' && !ol_buf_append(&a->buf, "}", 1)) return NULL;
    return a->buf.data;
}

#include "pgbin.h"

#include <string.h>

/* ndim, flags (has nulls), element OID, then one dimension: size, lower bound. */
#define HEADER_BYTES 20
#define PG_EPOCH_UNIX_US 946684800000000LL /* 2000-01-01 00:00:00 UTC */

static void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static bool append_be32(ol_buf *b, uint32_t v) {
    unsigned char p[4];
    put_be32(p, v);
    return ol_buf_append(b, (const char *)p, 4);
}

void pgbin_init(pgbin_array *a, uint32_t elem_oid) {
    memset(a, 0, sizeof *a);
    ol_buf_init(&a->buf);
    a->elem_oid = elem_oid;
}

void pgbin_free(pgbin_array *a) { ol_buf_free(&a->buf); }

void pgbin_reset(pgbin_array *a) {
    a->buf.len = 0;
    a->count = 0;
    a->has_null = false;
}

/* Room for the header goes in before the first element. */
static bool begin_element(pgbin_array *a) {
    if (a->buf.len == 0) {
        static const char zeros[HEADER_BYTES] = {0};
        if (!ol_buf_append(&a->buf, zeros, HEADER_BYTES)) return false;
    }
    return true;
}

/* One element: its length word (0xFFFFFFFF for NULL), then n bytes. */
static bool add_element(pgbin_array *a, uint32_t length_word, const void *data, uint32_t n) {
    size_t before = a->buf.len;
    if (!begin_element(a) || !append_be32(&a->buf, length_word) || !ol_buf_append(&a->buf, data, n)) {
        a->buf.len = before;
        return false;
    }
    a->count++;
    return true;
}

static bool add_bytes(pgbin_array *a, const void *data, uint32_t n) { return add_element(a, n, data, n); }

bool pgbin_add_text(pgbin_array *a, const char *text) { return add_bytes(a, text, (uint32_t)strlen(text)); }

bool pgbin_add_int4(pgbin_array *a, int32_t value) {
    unsigned char p[4];
    put_be32(p, (uint32_t)value);
    return add_bytes(a, p, 4);
}

bool pgbin_add_int8(pgbin_array *a, int64_t value) {
    unsigned char p[8];
    put_be32(p, (uint32_t)((uint64_t)value >> 32));
    put_be32(p + 4, (uint32_t)value);
    return add_bytes(a, p, 8);
}

bool pgbin_add_timestamptz(pgbin_array *a, int64_t unix_us) { return pgbin_add_int8(a, unix_us - PG_EPOCH_UNIX_US); }

bool pgbin_add_null(pgbin_array *a) {
    if (!add_element(a, 0xFFFFFFFFu, "", 0)) return false;
    a->has_null = true;
    return true;
}

const char *pgbin_data(pgbin_array *a, int *len) {
    if (a->count == 0) {
        /* An empty array: no dimensions at all. Needs no allocation. */
        put_be32(a->empty, 0);
        put_be32(a->empty + 4, 0);
        put_be32(a->empty + 8, a->elem_oid);
        *len = (int)sizeof a->empty;
        return (const char *)a->empty;
    }
    unsigned char *h = (unsigned char *)a->buf.data;
    put_be32(h, 1);
    put_be32(h + 4, a->has_null ? 1u : 0u);
    put_be32(h + 8, a->elem_oid);
    put_be32(h + 12, (uint32_t)a->count);
    put_be32(h + 16, 1);
    *len = (int)a->buf.len;
    return a->buf.data;
}

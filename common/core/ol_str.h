/* ol_str: small string helpers shared by every module. */
#ifndef OL_STR_H
#define OL_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Growable byte buffer, always NUL-terminated. */
typedef struct ol_buf {
    char *data;
    size_t len;
    size_t cap;
} ol_buf;

void ol_buf_init(ol_buf *buf);
void ol_buf_free(ol_buf *buf);

/* Grows the array *items of *n elements of elem_size bytes to hold index
 * index, the new elements zeroed; on false (out of memory, or a negative
 * index) nothing changed. For tables indexed by partition. */
bool ol_grow_zeroed(void **items, size_t *n, int64_t index, size_t elem_size);
void ol_buf_clear(ol_buf *buf);
/* Makes room for extra more bytes and the NUL; false when memory ran out
 * (buffer unchanged). */
bool ol_buf_reserve(ol_buf *buf, size_t extra);
/* Append; return false when memory ran out (buffer unchanged). Inline: it
 * runs for every field of every answer and row on the consumer's hot path,
 * and a constant len lets the copy become a few stores. */
static inline bool ol_buf_append(ol_buf *buf, const char *data, size_t len) {
    if (buf->len + len + 1 > buf->cap && !ol_buf_reserve(buf, len)) return false;
    memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
    return true;
}
bool ol_buf_appends(ol_buf *buf, const char *str);
bool ol_buf_appendf(ol_buf *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends a decimal integer; what "%" PRId64 prints, without printf's cost
 * (it runs several times per order on the consumer's hot path). */
bool ol_buf_append_int(ol_buf *buf, int64_t value);

/* Appends [data, data+len) for a terminal: control characters (C0, DEL,
 * and C1 encoded as UTF-8, U+0080..U+009F) become '?', so untrusted text
 * cannot move the cursor or change the terminal's state; every other byte
 * is kept as it is. False when memory ran out. */
bool ol_buf_append_visible(ol_buf *buf, const char *data, size_t len);

/* True when [data, data+len) is well-formed UTF-8 (no overlongs, no
 * surrogates, nothing above U+10FFFF) and contains no NUL byte. */
bool ol_utf8_valid(const char *data, size_t len);

/* Copies src into dst (capacity dstlen), always terminating. */
void ol_strlcpy(char *dst, const char *src, size_t dstlen);

/* snprintf into an error buffer; a NULL buffer is allowed. */
void ol_seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Writes a printable, bounded rendering of arbitrary bytes (for error
 * messages about bad input): non-printable bytes become \xNN. */
void ol_printable(char *dst, size_t dstlen, const char *data, size_t len);

/* Formats microseconds since the epoch as RFC 3339 UTC with microseconds:
 * 2026-11-25T17:00:00.123456Z. dst needs 28 bytes. */
void ol_format_rfc3339(char *dst, size_t dstlen, int64_t epoch_us);
int64_t ol_now_us(void);
int64_t ol_monotonic_ms(void);
/* Sleeps ms milliseconds (less if a signal interrupts: callers re-check
 * their run flag). */
void ol_sleep_ms(int64_t ms);

/* Parses a decimal integer in [min, max]; false on junk or range errors. */
bool ol_parse_long(const char *text, long min, long max, long *out);

#endif

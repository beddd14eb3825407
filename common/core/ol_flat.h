#ifndef OL_FLAT_H
#define OL_FLAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A reader of flat JSON objects, for fast paths beside jansson.
 *
 * It reads a strict subset of what jansson accepts: one object of 1 to
 * OL_FLAT_MAX_MEMBERS members, no member twice, whose values are strings
 * of printable ASCII without escapes, integers of at most OL_FLAT_MAX_DIGITS
 * digits without fraction or exponent, true, false or null. For that subset
 * a value reads exactly as jansson reads it. Anything else (nesting,
 * escapes, non-ASCII, long numbers, trailing bytes) is declined, and the
 * caller parses the message with jansson, which owns every error message:
 * a fast path built on this either succeeds with what jansson would have
 * read, or hands over.
 *
 *   ol_flat_reader r;
 *   ol_flat_open(&r, value, len);
 *   while (ol_flat_next(&r, &v)) ... v.name, v.kind ...
 *   if (!ol_flat_close(&r)) -> declined
 *
 * The reader points into the caller's bytes; nothing is allocated. */

#define OL_FLAT_MAX_MEMBERS 16
#define OL_FLAT_MAX_DIGITS 15 /* exact as a double, as jansson's real decoding reads them */

typedef enum { OL_FLAT_STRING, OL_FLAT_INTEGER, OL_FLAT_TRUE, OL_FLAT_FALSE, OL_FLAT_NULL } ol_flat_kind;

typedef struct {
    const char *name; /* the member's name (not terminated) */
    size_t name_len;
    ol_flat_kind kind;
    const char *s; /* OL_FLAT_STRING: its bytes (not terminated) */
    size_t len;
    int64_t integer; /* OL_FLAT_INTEGER */
} ol_flat_value;

typedef struct ol_flat_array ol_flat_array;

typedef struct {
    const char *p, *end;
    const char *names[OL_FLAT_MAX_MEMBERS];
    size_t name_lens[OL_FLAT_MAX_MEMBERS];
    size_t n;
    bool failed, done;
    ol_flat_array *array; /* the array this object is an element of, or NULL */
} ol_flat_reader;

/* An array of 1 or more flat objects (as PostgreSQL prints a jsonb array of
 * them, with spaces after ':' and ','):
 *
 *   ol_flat_array a;
 *   ol_flat_reader r;
 *   ol_flat_array_open(&a, value, len);
 *   while (ol_flat_array_next(&a, &r)) {
 *       while (ol_flat_next(&r, &v)) ...
 *       if (!ol_flat_close(&r)) -> declined
 *   }
 *   if (!ol_flat_array_close(&a)) -> declined */
struct ol_flat_array {
    const char *p, *end;
    size_t n;
    bool failed, done, in_element;
};

/* Starts reading value[0..len): false (and declined) unless it opens an object. */
bool ol_flat_open(ol_flat_reader *r, const char *value, size_t len);

/* The next member into *v; false at the end of the members or when the
 * input leaves the subset (ol_flat_close tells which). */
bool ol_flat_next(ol_flat_reader *r, ol_flat_value *v);

/* True when every member was read and the object ended the input (or, for
 * an array's element, the object ended). */
bool ol_flat_close(ol_flat_reader *r);

/* Starts reading value[0..len) as an array: false unless it opens one. */
bool ol_flat_array_open(ol_flat_array *a, const char *value, size_t len);

/* Opens the next element in *r; false at the end of the array or when the
 * input leaves the subset (ol_flat_array_close tells which). The element
 * before must have been closed. */
bool ol_flat_array_next(ol_flat_array *a, ol_flat_reader *r);

/* True when every element was read and closed and the array ended the input. */
bool ol_flat_array_close(ol_flat_array *a);

/* name == the literal text (for member names), without strlen. */
#define OL_FLAT_IS(v, lit) ((v)->name_len == sizeof lit - 1 && memcmp((v)->name, lit, sizeof lit - 1) == 0)

/* The string value into dst (NUL-terminated) when it has 1..max bytes. */
bool ol_flat_copy(const ol_flat_value *v, size_t max, char *dst);

/* The string value as a C string in dst[0..cap), when it fits (0 bytes
 * allowed): for the names a parser then compares or parses. */
bool ol_flat_text(const ol_flat_value *v, char *dst, size_t cap);

/* The index of the member's name in names[0..n), or -1 for another name. */
int ol_flat_field(const ol_flat_value *v, const char *const *names, int n);

#endif

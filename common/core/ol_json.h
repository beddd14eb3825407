/* ol_json: JSON text written straight into an ol_buf, byte for byte what
 * jansson 2.14's json_dumps(..., JSON_COMPACT) writes for the same values,
 * without building jansson objects (a dozen allocations per document on the
 * consumer's and the cart coordinator's hot paths). Pure.
 *
 * Callers write keys and punctuation as literals (OL_JSON_LIT), integers
 * with ol_buf_append_int (what jansson prints for a json_integer), and
 * strings with the functions below. The buffer is the caller's: these only
 * append to it and keep nothing. */
#ifndef OL_JSON_H
#define OL_JSON_H

#include <stdbool.h>

#include "ol_str.h"

/* Appends a string literal's bytes without its NUL: a key with its comma
 * and colon, null, true, false. lit must be a literal ("" refuses others). */
#define OL_JSON_LIT(out, lit) ol_buf_append(out, "" lit, sizeof lit - 1)

/* Appends text as a JSON string: quoted; '"' and '\\' escaped; \b \f \n
 * \r \t as such; other control characters as \u00XX (upper-case hex);
 * '/', DEL and non-ASCII UTF-8 copied as they are. False, with out as it
 * was, when text is NULL or not well-formed UTF-8 (json_string refuses
 * both, so jansson would have had no document either) or memory ran out. */
bool ol_json_append_string(ol_buf *out, const char *text);

/* As ol_json_append_string, for text from outside that must be written
 * anyway: NULL is null, and text that is not UTF-8 is written as
 * ol_printable renders it (\xNN for each byte outside printable ASCII).
 * False, with out as it was, only when memory ran out. */
bool ol_json_append_text_or_null(ol_buf *out, const char *text);

#endif

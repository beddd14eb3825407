/* ol_log: diagnostics on stderr, one line each, prefixed with time, program
 * and level. Data never goes through here: stdout belongs to the tools' data.
 * Set ORDERLINE_DEBUG=1 to see debug lines. */
#ifndef OL_LOG_H
#define OL_LOG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { OL_LOG_ERROR, OL_LOG_WARN, OL_LOG_INFO, OL_LOG_DEBUG } ol_log_level;

/* Whether lines of this level are written (debug: ORDERLINE_DEBUG set, not
 * "0"); lets callers skip work that only feeds a debug line. */
bool ol_log_enabled(ol_log_level level);

/* Writes one log line's message: the text as given, except control
 * characters (C0, DEL) and bytes that are not UTF-8, which become \xNN, so
 * that what a client sent (an order id with a newline or an escape
 * sequence) can neither forge a line nor drive a terminal. Stops at a
 * character boundary when dst (capacity dstlen) is full; always
 * terminated. Returns the bytes written. */
size_t ol_log_escape(char *dst, size_t dstlen, const char *src, size_t len);

/* The message is formatted, then escaped by ol_log_escape. */
void ol_log(ol_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ol_error(...) ol_log(OL_LOG_ERROR, __VA_ARGS__)
#define ol_warn(...) ol_log(OL_LOG_WARN, __VA_ARGS__)
#define ol_info(...) ol_log(OL_LOG_INFO, __VA_ARGS__)
#define ol_debug(...) ol_log(OL_LOG_DEBUG, __VA_ARGS__)

#endif

/* ol_log: diagnostics on stderr, one line each. Data never goes through
 * here: stdout belongs to the tools' data.
 *
 * Two formats. text (the default): time, program and level, then the
 * message. json: one object per line for a log shipper, {"time", "level",
 * "tool", "message"} and the record's fields (partition, offset, order_id,
 * ...) as keys of their own. The format is $ORDERLINE_LOG_FORMAT's, which
 * --log-format sets (ol_cli): like ORDERLINE_DEBUG, the process's
 * environment carries it, so no logging state lives in this module.
 * Set ORDERLINE_DEBUG=1 to see debug lines. */
#ifndef OL_LOG_H
#define OL_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { OL_LOG_ERROR, OL_LOG_WARN, OL_LOG_INFO, OL_LOG_DEBUG } ol_log_level;

typedef enum { OL_LOG_TEXT, OL_LOG_JSON } ol_log_format;

/* "text" or "json"; false for anything else (NULL included). */
bool ol_log_format_parse(const char *name, ol_log_format *out);

/* Makes name ("text" or "json") the format of every later line of this
 * process, by setting $ORDERLINE_LOG_FORMAT. Only main's settings call it,
 * before any thread starts. False (and nothing changed) for another name. */
bool ol_log_use_format(const char *name);

/* The format lines are written in now: json when $ORDERLINE_LOG_FORMAT
 * says so, else text. */
ol_log_format ol_log_current_format(void);

/* A structured field: a key and an integer or a string (NULL strings are
 * written as null). Keys are plain names chosen by the caller; a key equal
 * to one of the four a line always has is left out. */
typedef enum { OL_LOG_FIELD_INT, OL_LOG_FIELD_STR } ol_log_field_type;
typedef struct ol_log_field {
    const char *key;
    ol_log_field_type type;
    long long i;
    const char *s;
} ol_log_field;

#define OL_LOG_INT(k, v) ((ol_log_field){(k), OL_LOG_FIELD_INT, (long long)(v), NULL})
#define OL_LOG_STR(k, v) ((ol_log_field){(k), OL_LOG_FIELD_STR, 0, (v)})
/* The fields argument pair of ol_log_kv and ol_log_plain: an array and its length. */
#define OL_LOG_FIELDS(...)                                                                                             \
    (const ol_log_field[]){__VA_ARGS__}, sizeof((const ol_log_field[]){__VA_ARGS__}) / sizeof(ol_log_field)

/* One line, as the formatter sees it. */
typedef struct ol_log_record {
    int64_t time_ms; /* since the epoch, UTC */
    const char *tool;
    ol_log_level level;
    const char *message; /* message_len bytes, any bytes */
    size_t message_len;
    const ol_log_field *fields;
    size_t n_fields;
    bool plain; /* text: the message alone (a report a person reads, "FILE:LINE: reason") */
} ol_log_record;

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

/* The same for the inside of a JSON string: '"' and '\' escaped, control
 * characters as \n, \t, ... or \u00XX (DEL too), and bytes that are not
 * UTF-8 as the six characters \\xNN (the text format's spelling), so the
 * line is valid JSON whatever the bytes. */
size_t ol_log_escape_json(char *dst, size_t dstlen, const char *src, size_t len);

/* Formats r as one line in format, '\n' included, into dst (dstlen at
 * least 256); a message too long is cut on a character boundary, and a
 * field that does not fit whole is left out, so a JSON line is always one
 * valid object. Terminated; returns its length. */
size_t ol_log_format_record(ol_log_format format, const ol_log_record *r, char *dst, size_t dstlen);

/* The message is formatted, then escaped. */
void ol_log(ol_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* With fields: keys of their own in json (text shows the message only, so
 * the message should still say what the fields say). */
void ol_log_kv(ol_log_level level, const ol_log_field *fields, size_t n_fields, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A report whose text form is the message alone, as tools have always
 * printed usage errors and bad input lines; json as any line. */
void ol_log_plain(ol_log_level level, const ol_log_field *fields, size_t n_fields, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void ol_logv(ol_log_level level, bool plain, const ol_log_field *fields, size_t n_fields, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

/* A progress line (ol_progress) on stderr: "\r" and the line, the rest of
 * a terminal's line cleared; final ends it with a newline. Only when the
 * tool's settings say progress (ol_cli); never on stdout. */
void ol_log_progress(const char *line, bool final);

/* A library's printf-style error logger (libmicrohttpd's MHD_LogCallback):
 * as text its line exactly as it printed it, as a warning in json. */
void ol_log_library(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#define ol_error(...) ol_log(OL_LOG_ERROR, __VA_ARGS__)
#define ol_warn(...) ol_log(OL_LOG_WARN, __VA_ARGS__)
#define ol_info(...) ol_log(OL_LOG_INFO, __VA_ARGS__)
#define ol_debug(...) ol_log(OL_LOG_DEBUG, __VA_ARGS__)

#endif

/* ol_time: points in time given on a command line (--since), shared by
 * order-results and order-audit. Pure. */
#ifndef OL_TIME_H
#define OL_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses a point in time given on the command line, into microseconds
 * since the epoch:
 *  - RFC 3339: 2026-11-25T17:00:00Z, with optional fraction
 *    (17:00:00.25Z) and a numeric offset instead of Z (+01:00); a date
 *    alone (2026-11-25) is midnight UTC;
 *  - relative to now_us: a positive integer and a unit s, m, h or d
 *    (30s, 15m, 2h, 1d), meaning that long ago.
 * On false, err says what was expected. */
bool ol_time_arg_parse(const char *text, int64_t now_us, int64_t *out_us, char *err, size_t errlen);

#endif

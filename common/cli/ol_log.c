#include "ol_log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>

static const char *level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

bool ol_log_enabled(ol_log_level level) {
    if (level != OL_LOG_DEBUG) return true;
    const char *debug = getenv("ORDERLINE_DEBUG");
    return debug && *debug && strcmp(debug, "0") != 0;
}

void ol_log(ol_log_level level, const char *fmt, ...) {
    if (!ol_log_enabled(level)) return;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

    /* Format into one buffer so concurrent writers do not interleave lines. */
    char line[2048];
    int n = snprintf(line, sizeof line, "%s.%03ldZ %s %s: ", stamp, now.tv_nsec / 1000000L,
                     program_invocation_short_name, level_names[level]);
    if (n < 0) return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m > 0 ? (size_t)m : 0);
    if (len > sizeof line - 2) len = sizeof line - 2;
    line[len++] = '\n';
    fwrite(line, 1, len, stderr);
}

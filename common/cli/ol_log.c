#include "ol_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

bool ol_log_enabled(ol_log_level level) {
    if (level != OL_LOG_DEBUG) return true;
    const char *debug = getenv("ORDERLINE_DEBUG");
    return debug && *debug && strcmp(debug, "0") != 0;
}

/* The length of the well-formed multibyte UTF-8 sequence at s (at most n
 * bytes), or 0: not one (bad lead or continuation, cut short, overlong,
 * surrogate, past U+10FFFF). */
static size_t utf8_sequence(const unsigned char *s, size_t n) {
    size_t need;
    uint32_t cp;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        need = 1;
        cp = s[0] & 0x1Fu;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        need = 2;
        cp = s[0] & 0x0Fu;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        need = 3;
        cp = s[0] & 0x07u;
    } else {
        return 0;
    }
    if (n < need + 1) return 0;
    for (size_t k = 1; k <= need; k++) {
        if ((s[k] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[k] & 0x3Fu);
    }
    if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000)) return 0;
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return 0;
    return need + 1;
}

size_t ol_log_escape(char *dst, size_t dstlen, const char *src, size_t len) {
    static const char hex[] = "0123456789abcdef";
    if (dstlen == 0) return 0;
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0, i = 0;
    while (i < len) {
        size_t take = 1;
        bool escape = s[i] < 0x20 || s[i] == 0x7F;
        if (s[i] >= 0x80) {
            take = utf8_sequence(s + i, len - i);
            escape = take == 0;
            if (escape) take = 1;
        }
        size_t out = escape ? 4 : take;
        if (o + out + 1 > dstlen) break; /* a whole character or nothing */
        if (escape) {
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[s[i] >> 4];
            dst[o++] = hex[s[i] & 15];
        } else {
            memcpy(dst + o, s + i, take);
            o += take;
        }
        i += take;
    }
    dst[o] = '\0';
    return o;
}

void ol_log(ol_log_level level, const char *fmt, ...) {
    if (!ol_log_enabled(level)) return;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (m < 0) return;
    size_t mlen = (size_t)m < sizeof msg ? (size_t)m : sizeof msg - 1;

    /* Format into one buffer so concurrent writers do not interleave lines. */
    char line[2048];
    int n = snprintf(line, sizeof line, "%s.%03ldZ %s %s: ", stamp, now.tv_nsec / 1000000L,
                     program_invocation_short_name, level_names[level]);
    if (n < 0 || (size_t)n >= sizeof line - 2) return;
    size_t len = (size_t)n + ol_log_escape(line + n, sizeof line - 1 - (size_t)n, msg, mlen);
    line[len++] = '\n';
    fwrite(line, 1, len, stderr);
}

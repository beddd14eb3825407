#include "ol_str.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void ol_buf_init(ol_buf *buf) {
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
}

bool ol_grow_zeroed(void **items, size_t *n, int64_t index, size_t elem_size) {
    if (index < 0 || (uint64_t)index >= SIZE_MAX / elem_size) return false;
    if ((size_t)index < *n) return true;
    size_t want = (size_t)index + 1;
    char *grown = realloc(*items, want * elem_size);
    if (!grown) return false;
    memset(grown + *n * elem_size, 0, (want - *n) * elem_size);
    *items = grown;
    *n = want;
    return true;
}

void ol_buf_free(ol_buf *buf) {
    free(buf->data);
    ol_buf_init(buf);
}

void ol_buf_clear(ol_buf *buf) {
    buf->len = 0;
    if (buf->data) buf->data[0] = '\0';
}

bool ol_buf_reserve(ol_buf *buf, size_t extra) {
    if (buf->len + extra + 1 <= buf->cap) return true;
    size_t cap = buf->cap ? buf->cap : 256;
    while (cap < buf->len + extra + 1) cap *= 2;
    char *data = realloc(buf->data, cap);
    if (!data) return false;
    buf->data = data;
    buf->cap = cap;
    return true;
}

bool ol_buf_appends(ol_buf *buf, const char *str) { return ol_buf_append(buf, str, strlen(str)); }

bool ol_buf_appendf(ol_buf *buf, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !ol_buf_reserve(buf, (size_t)n)) return false;
    va_start(ap, fmt);
    vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf->len += (size_t)n;
    return true;
}

bool ol_buf_append_int(ol_buf *buf, int64_t value) {
    char digits[24];
    size_t n = sizeof digits;
    /* Unsigned magnitude: -INT64_MIN does not fit an int64_t. */
    uint64_t mag = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
    do {
        digits[--n] = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag);
    if (value < 0) digits[--n] = '-';
    return ol_buf_append(buf, digits + n, sizeof digits - n);
}

bool ol_buf_append_visible(ol_buf *buf, const char *data, size_t len) {
    const unsigned char *s = (const unsigned char *)data;
    size_t run = 0; /* start of the bytes kept as they are */
    for (size_t i = 0; i < len; i++) {
        bool c1 = s[i] == 0xC2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9F;
        if (s[i] >= 0x20 && s[i] != 0x7F && !c1) continue;
        if (!ol_buf_append(buf, data + run, i - run) || !ol_buf_append(buf, "?", 1)) return false;
        if (c1) i++;
        run = i + 1;
    }
    return ol_buf_append(buf, data + run, len - run);
}

bool ol_utf8_valid(const char *data, size_t len) {
    const unsigned char *s = (const unsigned char *)data;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c == 0) return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i - 1 < need) return false; /* truncated sequence */
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000)) return false; /* overlong */
        if (cp >= 0xD800 && cp <= 0xDFFF) return false;                             /* surrogate */
        if (cp > 0x10FFFF) return false;
        i += need + 1;
    }
    return true;
}

void ol_strlcpy(char *dst, const char *src, size_t dstlen) {
    if (dstlen == 0) return;
    size_t n = strlen(src);
    if (n >= dstlen) n = dstlen - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

void ol_seterr(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void ol_printable(char *dst, size_t dstlen, const char *data, size_t len) {
    size_t o = 0;
    if (dstlen == 0) return;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)data[i];
        if (c >= 0x20 && c < 0x7F) {
            if (o + 2 > dstlen) break;
            dst[o++] = (char)c;
        } else {
            if (o + 5 > dstlen) break;
            snprintf(dst + o, 5, "\\x%02x", c);
            o += 4;
        }
    }
    dst[o] = '\0';
}

/* Writes v as exactly width digits (zero-padded) at dst. */
static void put_digits(char *dst, int width, long v) {
    for (int i = width - 1; i >= 0; i--, v /= 10) dst[i] = (char)('0' + v % 10);
}

/* Civil date from days since 1970-01-01 (proleptic Gregorian; Howard
 * Hinnant's days_from_civil inverse). Pure arithmetic: gmtime_r and
 * strftime cost a lock and a format parse each, twice per order. */
static void civil_from_days(int64_t days, int64_t *year, int *month, int *day) {
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;                                   /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = yoe + era * 400 + (*month <= 2);
}

void ol_format_rfc3339(char *dst, size_t dstlen, int64_t epoch_us) {
    /* Floor division: C truncates toward zero, which before 1970 would
     * give negative microseconds ("...00:00:00.-00001Z"). */
    int64_t whole = epoch_us / 1000000, frac = epoch_us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        whole--;
    }
    int64_t days = whole / 86400, secs = whole % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    int64_t year;
    int month, day;
    civil_from_days(days, &year, &month, &day);
    if (year < 0 || year > 9999) { /* not 4 digits: rare, let snprintf do it */
        snprintf(dst, dstlen, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d.%06ldZ", year, month, day, (int)(secs / 3600),
                 (int)(secs / 60 % 60), (int)(secs % 60), (long)frac);
        return;
    }
    char out[28] = "0000-00-00T00:00:00.000000Z";
    put_digits(out, 4, (long)year);
    put_digits(out + 5, 2, month);
    put_digits(out + 8, 2, day);
    put_digits(out + 11, 2, (long)(secs / 3600));
    put_digits(out + 14, 2, (long)(secs / 60 % 60));
    put_digits(out + 17, 2, (long)(secs % 60));
    put_digits(out + 20, 6, (long)frac);
    ol_strlcpy(dst, out, dstlen);
}

int64_t ol_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t ol_monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ol_sleep_ms(int64_t ms) {
    if (ms <= 0) return;
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

bool ol_parse_long(const char *text, long min, long max, long *out) {
    if (!text || !*text) return false;
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) return false;
    *out = v;
    return true;
}

#include "ol_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ol_str.h"

/* Reads exactly n decimal digits. */
static bool digits(const char **p, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool leap_year(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(int y, int m) {
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap_year(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil): no dependence on the process's time zone. */
static int64_t days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool parse_rfc3339(const char *text, int64_t *out_us) {
    const char *p = text;
    int year, month, day, hour = 0, minute = 0, second = 0;
    int64_t micros = 0, offset_s = 0;
    if (!digits(&p, 4, &year) || *p++ != '-' || !digits(&p, 2, &month) || *p++ != '-' || !digits(&p, 2, &day))
        return false;
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) return false;
    if (*p) {
        if (*p != 'T' && *p != 't' && *p != ' ') return false;
        p++;
        if (!digits(&p, 2, &hour) || *p++ != ':' || !digits(&p, 2, &minute) || *p++ != ':' || !digits(&p, 2, &second))
            return false;
        /* 60: a leap second, which counts as the next minute's first. */
        if (hour > 23 || minute > 59 || second > 60) return false;
        if (*p == '.') {
            int n = 0;
            for (p++; *p >= '0' && *p <= '9'; p++, n++)
                if (n < 6) micros = micros * 10 + (*p - '0');
            if (n == 0) return false;
            for (; n < 6; n++) micros *= 10;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om;
            if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om) || oh > 23 || om > 59) return false;
            offset_s = sign * (oh * 3600 + om * 60);
        } else {
            return false; /* a time without a zone is ambiguous */
        }
        if (*p) return false;
    }
    int64_t secs = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset_s;
    *out_us = secs * 1000000 + micros;
    return true;
}

bool ol_time_arg_parse(const char *text, int64_t now_us, int64_t *out_us, char *err, size_t errlen) {
    if (!text || !*text) {
        ol_seterr(err, errlen, "empty time");
        return false;
    }
    size_t len = strlen(text);
    char unit = text[len - 1];
    bool all_digits = len > 1;
    for (size_t i = 0; i + 1 < len; i++) all_digits &= text[i] >= '0' && text[i] <= '9';
    if (all_digits && (unit == 's' || unit == 'm' || unit == 'h' || unit == 'd')) {
        int64_t unit_us = unit == 's'   ? 1000000LL
                          : unit == 'm' ? 60000000LL
                          : unit == 'h' ? 3600000000LL
                                        : 86400000000LL;
        int64_t n = 0;
        for (size_t i = 0; i + 1 < len; i++) {
            n = n * 10 + (text[i] - '0');
            if (n > INT64_MAX / unit_us) {
                ol_seterr(err, errlen, "time '%.64s' is too far back", text);
                return false;
            }
        }
        int64_t back = n * unit_us;
        /* Before the epoch there is nothing in Kafka: clamp. */
        *out_us = back > now_us ? 0 : now_us - back;
        return true;
    }
    if (parse_rfc3339(text, out_us)) return true;
    ol_seterr(err, errlen,
              "bad time '%.64s': expected RFC 3339 (2026-11-25T17:00:00Z) or a duration ago (30s, 15m, 2h, 1d)", text);
    return false;
}

#include "ol_progress.h"

#include <inttypes.h>
#include <stdio.h>

void ol_progress_init(ol_progress *p, int64_t now_ms, int64_t interval_ms) {
    p->started_ms = now_ms;
    p->last_shown_ms = -1;
    p->interval_ms = interval_ms;
}

bool ol_progress_due(ol_progress *p, int64_t now_ms) {
    if (p->last_shown_ms >= 0 && now_ms - p->last_shown_ms < p->interval_ms) return false;
    p->last_shown_ms = now_ms;
    return true;
}

double ol_progress_rate(uint64_t done, int64_t elapsed_ms) {
    return elapsed_ms > 0 ? (double)done * 1000.0 / (double)elapsed_ms : 0.0;
}

int64_t ol_progress_eta_s(uint64_t done, uint64_t total, int64_t elapsed_ms) {
    if (total == 0) return -1;
    if (done >= total) return 0;
    double rate = ol_progress_rate(done, elapsed_ms);
    if (rate <= 0) return -1;
    double left = (double)(total - done) / rate;
    int64_t whole = (int64_t)left;
    return (double)whole < left ? whole + 1 : whole;
}

size_t ol_progress_duration(char *dst, size_t len, int64_t s) {
    int n;
    if (s < 0) s = 0;
    if (s < 60) n = snprintf(dst, len, "%" PRId64 "s", s);
    else if (s < 3600) n = snprintf(dst, len, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
    else n = snprintf(dst, len, "%" PRId64 "h%02" PRId64 "m", s / 3600, (s % 3600) / 60);
    if (n < 0) return 0;
    return (size_t)n < len ? (size_t)n : (len ? len - 1 : 0);
}

size_t ol_progress_format(char *dst, size_t len, const char *head, uint64_t done, uint64_t total, const char *unit,
                          int64_t elapsed_ms) {
    if (len == 0) return 0;
    char of[48] = "", share[16] = "", eta[40] = "";
    if (total > 0) {
        snprintf(of, sizeof of, " of %" PRIu64, total);
        uint64_t pct = done >= total ? 100 : done * 100 / total;
        snprintf(share, sizeof share, " (%" PRIu64 "%%)", pct);
        int64_t left = ol_progress_eta_s(done, total, elapsed_ms);
        char d[24] = "?";
        if (left >= 0) ol_progress_duration(d, sizeof d, left);
        snprintf(eta, sizeof eta, ", ETA %s", d);
    }
    int n = snprintf(dst, len, "%s%s%" PRIu64 "%s %s%s, %.0f/s%s", head ? head : "", head ? ": " : "", done, of, unit,
                     share, ol_progress_rate(done, elapsed_ms), eta);
    if (n < 0) {
        dst[0] = '\0';
        return 0;
    }
    return (size_t)n < len ? (size_t)n : len - 1;
}

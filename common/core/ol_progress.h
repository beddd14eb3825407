/* ol_progress: the pure part of the progress line long runs show on a
 * terminal (order-audit, order-producer, order-results --summary): how
 * often a line is due, the rate and the time left, and the line's text.
 * Writing it, and whether to at all, is ol_cli's (ol_cli_progress_*). */
#ifndef OL_PROGRESS_H
#define OL_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Four lines a second: fast enough to look live, rare enough to cost
 * nothing and not to flicker. */
#define OL_PROGRESS_INTERVAL_MS 250

typedef struct ol_progress {
    int64_t started_ms;    /* the rate counts from here */
    int64_t last_shown_ms; /* -1: no line yet */
    int64_t interval_ms;
} ol_progress;

void ol_progress_init(ol_progress *p, int64_t now_ms, int64_t interval_ms);

/* Whether a line is due at now_ms (the first one is due at once, the next
 * interval_ms after the last); a true answer counts as a line shown. */
bool ol_progress_due(ol_progress *p, int64_t now_ms);

/* done per second over elapsed_ms; 0 before any time has passed. */
double ol_progress_rate(uint64_t done, int64_t elapsed_ms);

/* Seconds left at the rate so far, rounded up; -1 when unknown (no total,
 * or nothing done yet). 0 once done reaches total. */
int64_t ol_progress_eta_s(uint64_t done, uint64_t total, int64_t elapsed_ms);

/* A duration as 42s, 3m05s or 2h03m. Returns its length. */
size_t ol_progress_duration(char *dst, size_t len, int64_t seconds);

/* The line, "HEAD: DONE[ of TOTAL] UNIT[ (P%)], R/s[, ETA T]": a total of 0
 * is unknown (no share, no ETA). head may be NULL. Always terminated;
 * returns its length. */
size_t ol_progress_format(char *dst, size_t len, const char *head, uint64_t done, uint64_t total, const char *unit,
                          int64_t elapsed_ms);

#endif

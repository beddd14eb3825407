/* Unit tests for ol_progress: when a progress line is due, the rate and
 * time left, and the line's text. */
#include <criterion/criterion.h>
#include <string.h>

#include "ol_progress.h"

Test(progress, first_line_at_once_then_at_most_one_per_interval) {
    ol_progress p;
    ol_progress_init(&p, 1000, 250);
    cr_assert(ol_progress_due(&p, 1000));
    cr_assert_not(ol_progress_due(&p, 1001));
    cr_assert_not(ol_progress_due(&p, 1249));
    cr_assert(ol_progress_due(&p, 1250));
    cr_assert_not(ol_progress_due(&p, 1400), "counted from the last line shown, not the start");
    cr_assert(ol_progress_due(&p, 1500));
}

Test(progress, throttled_to_four_lines_a_second) {
    ol_progress p;
    ol_progress_init(&p, 0, OL_PROGRESS_INTERVAL_MS);
    int shown = 0;
    for (int64_t ms = 0; ms < 10000; ms++) shown += ol_progress_due(&p, ms);
    cr_assert_eq(shown, 40);
}

Test(progress, rate_and_eta) {
    cr_assert_float_eq(ol_progress_rate(500, 2000), 250.0, 1e-9);
    cr_assert_float_eq(ol_progress_rate(500, 0), 0.0, 1e-9);
    cr_assert_eq(ol_progress_eta_s(250, 1000, 1000), 3);  /* 750 left at 250/s */
    cr_assert_eq(ol_progress_eta_s(300, 1000, 1000), 3);  /* 2.33 s: rounded up */
    cr_assert_eq(ol_progress_eta_s(1000, 1000, 1000), 0); /* done */
    cr_assert_eq(ol_progress_eta_s(1200, 1000, 1000), 0); /* past a stale total */
    cr_assert_eq(ol_progress_eta_s(0, 1000, 1000), -1);   /* no rate yet */
    cr_assert_eq(ol_progress_eta_s(100, 0, 1000), -1);    /* no total */
    cr_assert_eq(ol_progress_eta_s(100, 1000, 0), -1);    /* no time yet */
}

Test(progress, durations) {
    char d[16];
    ol_progress_duration(d, sizeof d, 0);
    cr_assert_str_eq(d, "0s");
    ol_progress_duration(d, sizeof d, 59);
    cr_assert_str_eq(d, "59s");
    ol_progress_duration(d, sizeof d, 185);
    cr_assert_str_eq(d, "3m05s");
    ol_progress_duration(d, sizeof d, 7380);
    cr_assert_str_eq(d, "2h03m");
    ol_progress_duration(d, sizeof d, -5);
    cr_assert_str_eq(d, "0s");
}

Test(progress, line_with_and_without_a_total) {
    char line[160];
    size_t n = ol_progress_format(line, sizeof line, "order-audit: partition 3 of 8", 250, 1000, "orders", 1000);
    cr_assert_str_eq(line, "order-audit: partition 3 of 8: 250 of 1000 orders (25%), 250/s, ETA 3s");
    cr_assert_eq(n, strlen(line));
    ol_progress_format(line, sizeof line, "order-producer", 1200, 0, "lines", 2000);
    cr_assert_str_eq(line, "order-producer: 1200 lines, 600/s");
    ol_progress_format(line, sizeof line, NULL, 0, 10, "results", 0);
    cr_assert_str_eq(line, "0 of 10 results (0%), 0/s, ETA ?");
}

Test(progress, line_cut_to_the_buffer) {
    char line[12];
    size_t n = ol_progress_format(line, sizeof line, "order-results", 5, 10, "results", 1000);
    cr_assert_eq(n, sizeof line - 1);
    cr_assert_str_eq(line, "order-resul");
}

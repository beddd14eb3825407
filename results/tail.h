/* results_tail: order-results' reading loop. Reads the results topic with
 * a plain assignment of every partition (no group, no commits) from a start
 * point (the end, the beginning, or a time), writes each matching result
 * (JSON line or table row) or counts it for a summary, and stops at the
 * high-water marks seen at start unless it follows the topic. */
#ifndef RESULTS_TAIL_H
#define RESULTS_TAIL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ol_options.h"
#include "view.h"

typedef enum { TAIL_FROM_END, TAIL_FROM_BEGINNING, TAIL_SINCE } tail_start;

typedef struct results_tail_options {
    tail_start start;
    int64_t since_us; /* TAIL_SINCE: microseconds since the epoch */
    bool follow;      /* keep reading past the start's high-water marks */
    bool summary;     /* count instead of printing each result */
    ol_output_format format;
    ol_results_filter filter;
} results_tail_options;

typedef struct results_tail results_tail;

/* Connects to Kafka (settings: brokers, -X, config, results_topic). The
 * options are copied; the filter's strings stay borrowed. *stop ends a
 * run at the next poll. */
results_tail *results_tail_new(const ol_settings *settings, const results_tail_options *options,
                               volatile sig_atomic_t *stop, char *err, size_t errlen);
/* NULL is accepted. */
void results_tail_destroy(results_tail *tail);

/* Reads the window and writes to stdout. A reader that went away (EPIPE,
 * e.g. `| head`) ends the run quietly and successfully. False on Kafka
 * errors and other write errors. */
bool results_tail_run(results_tail *tail, char *err, size_t errlen);

#endif

#include "tail.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ol_kafka.h"
#include "ol_log.h"
#include "ol_progress.h"
#include "ol_reader.h"
#include "ol_str.h"

#define POLL_BATCH 2000
#define POLL_TIMEOUT_MS 200
/* Undecodable messages are reported one by one up to this many. */
#define UNDECODABLE_SHOWN 5

struct results_tail {
    const ol_settings *settings;
    results_tail_options options;
    volatile sig_atomic_t *stop;
    ol_reader *reader;
    ol_results_summary *summary; /* with --summary */
    ol_buf out;                  /* one batch of output */
    rd_kafka_message_t **msgs;
    ol_cart_result *cart; /* a cart's answer being read */
    ol_window window;     /* the topic's partitions, from the start to the high-water marks seen then */
    uint64_t read, shown, undecodable;
    bool pipe_closed;
    /* --summary's progress line (on a terminal, or --progress). */
    bool show_progress;
    ol_progress progress;
    uint64_t window_total; /* offsets in the window */
};

results_tail *results_tail_new(const ol_settings *settings, const results_tail_options *options,
                               volatile sig_atomic_t *stop, char *err, size_t errlen) {
    results_tail *t = calloc(1, sizeof *t);
    if (!t) {
        ol_seterr(err, errlen, "out of memory");
        return NULL;
    }
    t->settings = settings;
    t->options = *options;
    t->stop = stop;
    t->show_progress = options->summary && settings->progress;
    ol_buf_init(&t->out);
    t->msgs = calloc(POLL_BATCH, sizeof *t->msgs);
    t->cart = malloc(sizeof *t->cart);
    if (!t->msgs || !t->cart || (options->summary && !(t->summary = ol_results_summary_new()))) {
        ol_seterr(err, errlen, "out of memory");
        goto fail;
    }
    if (!ol_kafka_check_access(settings, "order-results", OL_KAFKA_ACCESS_TIMEOUT_MS, err, errlen)) goto fail;
    t->reader = ol_reader_new(settings, "order-results", NULL, err, errlen);
    if (!t->reader) goto fail;
    return t;
fail:
    results_tail_destroy(t);
    return NULL;
}

void results_tail_destroy(results_tail *t) {
    if (!t) return;
    ol_reader_destroy(t->reader);
    ol_results_summary_destroy(t->summary);
    ol_buf_free(&t->out);
    free(t->msgs);
    free(t->cart);
    ol_window_free(&t->window);
    free(t);
}

/* Writes the pending output. A closed pipe is not an error: the reader of
 * our output has what it wanted. */
static bool flush_out(results_tail *t, char *err, size_t errlen) {
    if (t->out.len == 0 || t->pipe_closed) return true;
    bool ok = fwrite(t->out.data, 1, t->out.len, stdout) == t->out.len && fflush(stdout) == 0;
    ol_buf_clear(&t->out);
    if (ok) return true;
    if (errno == EPIPE) {
        t->pipe_closed = true;
        return true;
    }
    ol_seterr(err, errlen, "writing to stdout: %s", strerror(errno));
    return false;
}

/* Finds where each partition starts and which are already complete. */
static bool plan(results_tail *t, char *err, size_t errlen) {
    const char *topic = t->settings->results_topic;
    int n = ol_reader_partition_count(t->reader, topic, err, errlen);
    if (n < 0) return false;
    static const ol_reader_from from[] = {[TAIL_FROM_END] = OL_READER_FROM_END,
                                          [TAIL_FROM_BEGINNING] = OL_READER_FROM_BEGINNING,
                                          [TAIL_SINCE] = OL_READER_FROM_TIME};
    ol_window *w = &t->window;
    if (!ol_reader_plan_window(t->reader, topic, n, from[t->options.start], t->options.since_us / 1000, w, err, errlen))
        return false;
    t->window_total = 0;
    for (int32_t p = 0; p < n; p++)
        if (w->high[p] > w->start[p]) t->window_total += (uint64_t)(w->high[p] - w->start[p]);
    for (int32_t p = 0; p < n; p++)
        ol_debug("%s [%" PRId32 "]: from %" PRId64 " (watermarks %" PRId64 "..%" PRId64 ")", topic, p, w->start[p],
                 w->low[p], w->high[p]);
    return true;
}

/* The value as published. It decoded, so any raw line break is
 * whitespace between tokens: made a space to keep one per line. */
static bool append_value(results_tail *t, const rd_kafka_message_t *m) {
    size_t at = t->out.len;
    bool ok = ol_buf_append(&t->out, m->payload, m->len) && ol_buf_append(&t->out, "\n", 1);
    for (size_t i = at; ok && i + 1 < t->out.len; i++)
        if (t->out.data[i] == '\n' || t->out.data[i] == '\r') t->out.data[i] = ' ';
    return ok;
}

/* A cart's answer: shown or counted apart from the items'. */
static bool handle_cart(results_tail *t, const rd_kafka_message_t *m, char *err, size_t errlen) {
    if (!ol_results_filter_match_cart(&t->options.filter, t->cart)) return true;
    t->shown++;
    bool ok = t->summary                             ? ol_results_summary_add_cart(t->summary, t->cart)
              : t->options.format == OL_FORMAT_TABLE ? ol_results_cart_row(&t->out, t->cart)
                                                     : append_value(t, m);
    if (!ok) ol_seterr(err, errlen, "out of memory");
    return ok;
}

/* A message of the window: decode, filter, then print or count it. */
static bool handle(results_tail *t, const rd_kafka_message_t *m, char *err, size_t errlen) {
    ol_result r;
    char why[256] = "empty message";
    t->read++;
    bool cart = m->payload && ol_cart_result_maybe(m->payload, m->len);
    if (cart && ol_cart_result_from_json(m->payload, m->len, t->cart, why, sizeof why))
        return handle_cart(t, m, err, errlen);
    if (cart || !m->payload || !ol_result_from_json(m->payload, m->len, &r, why, sizeof why)) {
        t->undecodable++;
        if (t->summary) ol_results_summary_add_undecodable(t->summary);
        if (t->undecodable <= UNDECODABLE_SHOWN)
            ol_log_kv(OL_LOG_WARN,
                      OL_LOG_FIELDS(OL_LOG_INT("partition", m->partition), OL_LOG_INT("offset", m->offset)),
                      "[%" PRId32 "] offset %" PRId64 ": not a result, skipped: %s", m->partition, m->offset, why);
        return true;
    }
    if (!ol_results_filter_match(&t->options.filter, &r)) return true;
    t->shown++;
    bool ok;
    if (t->summary) {
        ok = ol_results_summary_add(t->summary, &r);
    } else if (t->options.format == OL_FORMAT_TABLE) {
        ok = ol_results_table_row(&t->out, &r);
    } else {
        ok = append_value(t, m);
    }
    if (!ok) ol_seterr(err, errlen, "out of memory");
    return ok;
}

static bool write_summary(results_tail *t, char *err, size_t errlen) {
    if (t->options.format == OL_FORMAT_TABLE) {
        if (!ol_results_summary_table(t->summary, &t->out)) goto oom;
    } else {
        char *json = ol_results_summary_json(t->summary);
        bool ok = json && ol_buf_appends(&t->out, json) && ol_buf_append(&t->out, "\n", 1);
        free(json);
        if (!ok) goto oom;
    }
    return flush_out(t, err, errlen);
oom:
    ol_seterr(err, errlen, "out of memory");
    return false;
}

/* Results read of the window's; final: the last line, kept. */
static void show_progress(results_tail *t, bool final) {
    if (!t->show_progress || (!ol_progress_due(&t->progress, ol_monotonic_ms()) && !final)) return;
    char line[256];
    ol_progress_format(line, sizeof line, "order-results", t->read, t->window_total, "results read",
                       ol_monotonic_ms() - t->progress.started_ms);
    ol_log_progress(line, final);
}

bool results_tail_run(results_tail *t, char *err, size_t errlen) {
    ol_window *w = &t->window;
    if (!plan(t, err, errlen) || !ol_reader_assign_window(t->reader, t->settings->results_topic, w, err, errlen))
        return false;
    if (!t->summary && t->options.format == OL_FORMAT_TABLE && !ol_results_table_header(&t->out)) {
        ol_seterr(err, errlen, "out of memory");
        return false;
    }
    bool ok = true;
    ol_progress_init(&t->progress, ol_monotonic_ms(), OL_PROGRESS_INTERVAL_MS);
    while (ok && !*t->stop && !t->pipe_closed && (t->options.follow || w->pending > 0)) {
        ssize_t n = ol_reader_poll(t->reader, t->msgs, POLL_BATCH, POLL_TIMEOUT_MS, err, errlen);
        if (n < 0) {
            ok = false;
            break;
        }
        for (ssize_t i = 0; i < n; i++) {
            rd_kafka_message_t *m = t->msgs[i];
            /* Without --follow the window ends at the high-water marks
             * seen at start; later messages are not ours. */
            bool in_window = t->options.follow || ol_window_contains(w, m->partition, m->offset);
            if (!m->err && in_window && ok) ok = handle(t, m, err, errlen);
            ol_window_note(w, m->partition, m->offset, m->err != 0);
            rd_kafka_message_destroy(m);
        }
        if (ok) ok = flush_out(t, err, errlen);
        show_progress(t, false);
    }
    show_progress(t, true); /* before the summary and any warning */
    if (ok && t->summary && *t->stop) ol_warn("interrupted before the end of the window: no summary");
    else if (ok && t->summary) ok = write_summary(t, err, errlen);
    else if (ok) ok = flush_out(t, err, errlen);
    ol_debug("read %" PRIu64 " results, %" PRIu64 " matched, %" PRIu64 " undecodable", t->read, t->shown,
             t->undecodable);
    if (t->undecodable > UNDECODABLE_SHOWN)
        ol_warn("%" PRIu64 " messages in all were not results and were skipped", t->undecodable);
    return ok;
}

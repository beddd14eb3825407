/* order-results: shows what the consumer answered. Tails the results topic
 * from the end, the beginning or a point in time, filtered by item, status,
 * reason or order_id, as JSON lines (piped) or a table (terminal), or sums
 * a window up with --summary.
 *
 * Exit codes: 0 done (or interrupted by SIGINT/SIGTERM); 2 bad usage;
 * 1 other errors (Kafka unreachable, unknown topic, write errors). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ol_cli.h"
#include "ol_log.h"
#include "ol_options.h"
#include "ol_time.h"
#include "view.h"
#include "ol_str.h"
#include "tail.h"

enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 2 };

static const ol_option options[] = {
    OL_OPT_COMMON,
    OL_OPT_RESULTS_TOPIC,
    {"from-beginning", 0, OL_OPT_FLAG, NULL, 0, 0, offsetof(ol_settings, from_beginning),
     "start at the oldest result (default: at the end)"},
    {"since", 0, OL_OPT_STRING, "TIME", 0, 0, offsetof(ol_settings, since),
     "start at results published since TIME: RFC 3339 (2026-11-25T17:00:00Z) or ago (30s, 15m, 2h, 1d)"},
    {"follow", 'f', OL_OPT_FLAG, NULL, 0, 0, offsetof(ol_settings, follow),
     "keep reading new results until interrupted (default: stop at the end seen at start)"},
    {"item", 0, OL_OPT_STRING, "NAME", 0, 0, offsetof(ol_settings, filter_item), "only results for this item"},
    {"status", 0, OL_OPT_STRING, "STATUS", 0, 0, offsetof(ol_settings, filter_status), "only accepted or rejected"},
    {"reason", 0, OL_OPT_STRING, "REASON", 0, 0, offsetof(ol_settings, filter_reason),
     "only insufficient_stock, unknown_item, invalid, or none (accepted)"},
    {"order-id", 0, OL_OPT_STRING, "ID", 0, 0, offsetof(ol_settings, filter_order_id), "only this order_id"},
    {"format", 0, OL_OPT_STRING, "FORMAT", 0, 0, offsetof(ol_settings, format),
     "json (one result per line) or table (default: table on a terminal, else json)"},
    {"summary", 0, OL_OPT_FLAG, NULL, 0, 0, offsetof(ol_settings, summary),
     "count the window by item, status and reason instead of listing it (default window: the whole topic)"},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

/* Turns the settings into the tail's options; false with err on bad usage. */
static bool tail_options(const ol_settings *s, results_tail_options *o, char *err, size_t errlen) {
    memset(o, 0, sizeof *o);
    if (s->from_beginning && s->since) {
        ol_seterr(err, errlen, "--from-beginning and --since are exclusive");
        return false;
    }
    if (s->summary && s->follow) {
        /* A summary is of a window, and a followed topic has no end. */
        ol_seterr(err, errlen, "--summary and --follow are exclusive: a summary covers up to the end seen at start");
        return false;
    }
    /* A summary of the empty window "from the end" would say nothing: it
     * covers the whole topic unless told otherwise. */
    o->start = s->from_beginning || s->summary ? TAIL_FROM_BEGINNING : TAIL_FROM_END;
    if (s->since) {
        o->start = TAIL_SINCE;
        char why[256];
        if (!ol_time_arg_parse(s->since, ol_now_us(), &o->since_us, why, sizeof why)) {
            ol_seterr(err, errlen, "--since: %s", why);
            return false;
        }
    }
    o->follow = s->follow;
    o->summary = s->summary;
    return ol_output_format_parse(s->format, isatty(STDOUT_FILENO) == 1, &o->format, err, errlen) &&
           ol_results_filter_init(&o->filter, s->filter_item, s->filter_status, s->filter_reason, s->filter_order_id,
                                  err, errlen);
}

int main(int argc, char **argv) {
    ol_settings s;
    char err[1024];
    switch (ol_cli_settings(&s, options, N_OPTIONS, argc, argv, "order-results", "order-results [OPTIONS]",
                            "Shows the answers on the results topic: from the end (default), the beginning or\n"
                            "--since TIME, up to the end seen at start (or on with --follow), filtered. JSON\n"
                            "lines when piped, a table on a terminal; --summary counts the window instead.",
                            false)) {
    case OL_CLI_RUN:
        break;
    case OL_CLI_HELP_SHOWN:
        return EXIT_OK;
    case OL_CLI_USAGE_ERROR:
        return EXIT_USAGE;
    case OL_CLI_FAILED:
        return EXIT_ERROR;
    }
    results_tail_options o;
    if (!tail_options(&s, &o, err, sizeof err)) {
        fprintf(stderr, "order-results: %s\n", err);
        ol_settings_destroy(&s);
        return EXIT_USAGE;
    }
    volatile sig_atomic_t *stop_requested = ol_cli_stop_on_signals();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    /* A closed pipe shows up as EPIPE on write, and the tail stops. */
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    int rc = EXIT_OK;
    results_tail *tail = results_tail_new(&s, &o, stop_requested, err, sizeof err);
    if (!tail || !results_tail_run(tail, err, sizeof err)) {
        ol_error("%s", err);
        rc = EXIT_ERROR;
    }
    results_tail_destroy(tail);
    ol_settings_destroy(&s);
    return rc;
}

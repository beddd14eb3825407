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

/* order-results' flags, after the ones every tool shares. */
typedef struct results_settings {
    ol_settings common; /* first: the option table's offsets count from here */
    bool from_beginning;
    char *since; /* RFC 3339 or relative (15m); NULL: not given */
    bool follow;
    char *filter_item;
    char *filter_status;
    char *filter_reason;
    char *filter_order_id;
    char *format; /* json or table; NULL: table on a terminal */
    bool summary;
} results_settings;
_Static_assert(offsetof(results_settings, common) == 0, "the shared settings come first");

#define FIELD(name) offsetof(results_settings, name)
static const ol_option options[] = {
    OL_OPT_COMMON,
    OL_OPT_PROGRESS,
    OL_OPT_RESULTS_TOPIC,
    OL_OPT_CARTS_TOPIC,
    {"from-beginning", 0, OL_OPT_FLAG, NULL, 0, 0, FIELD(from_beginning),
     "start at the oldest result (default: at the end)", NULL},
    {"since", 0, OL_OPT_STRING, "TIME", 0, 0, FIELD(since),
     "start at results published since TIME: RFC 3339 (2026-11-25T17:00:00Z) or ago (30s, 15m, 2h, 1d)", NULL},
    {"follow", 'f', OL_OPT_FLAG, NULL, 0, 0, FIELD(follow),
     "keep reading new results until interrupted (default: stop at the end seen at start)", NULL},
    {"item", 0, OL_OPT_STRING, "NAME", 0, 0, FIELD(filter_item), "only results for this item", NULL},
    {"status", 0, OL_OPT_STRING, "STATUS", 0, 0, FIELD(filter_status), "only accepted or rejected", NULL},
    {"reason", 0, OL_OPT_STRING, "REASON", 0, 0, FIELD(filter_reason),
     "only insufficient_stock, unknown_item, invalid, or none (accepted)", NULL},
    {"order-id", 0, OL_OPT_STRING, "ID", 0, 0, FIELD(filter_order_id), "only this order_id", NULL},
    {"format", 0, OL_OPT_STRING, "FORMAT", 0, 0, FIELD(format),
     "json (one result per line) or table (default: table on a terminal, else json)", NULL},
    {"summary", 0, OL_OPT_FLAG, NULL, 0, 0, FIELD(summary),
     "count the window by item, status and reason instead of listing it (default window: the whole topic)", NULL},
};
#undef FIELD

static const ol_cli_tool tool = {
    .program = "order-results",
    .usage = "order-results [OPTIONS]",
    .summary = "Shows the answers on the results topic: from the end (default), the beginning or\n"
               "--since TIME, up to the end seen at start (or on with --follow), filtered. JSON\n"
               "lines when piped, a table on a terminal; --summary counts the window instead.\n"
               "Cart answers (\"topic\":\"carts\") are shown too, their state and lines in DETAIL,\n"
               "and counted apart (CARTS) by --summary; --item matches a cart with that line.",
    .options = options,
    .n_options = sizeof options / sizeof options[0],
    .settings_size = sizeof(results_settings),
    .positional_ok = false,
    .exit_help = EXIT_OK,
    .exit_usage = EXIT_USAGE,
    .exit_failed = EXIT_ERROR,
};

/* Turns the settings into the tail's options; false with err on bad usage. */
static bool tail_options(const results_settings *s, results_tail_options *o, char *err, size_t errlen) {
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
    results_settings s;
    char err[1024];
    ol_cli_status status = ol_cli_settings(&tool, &s.common, argc, argv);
    if (status != OL_CLI_RUN) return ol_cli_exit_code(&tool, status);
    results_tail_options o;
    if (!tail_options(&s, &o, err, sizeof err)) {
        ol_cli_usage_error(tool.program, "%s", err);
        ol_settings_destroy(&s.common);
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
    results_tail *tail = results_tail_new(&s.common, &o, stop_requested, err, sizeof err);
    if (!tail || !results_tail_run(tail, err, sizeof err)) {
        ol_error("%s", err);
        rc = EXIT_ERROR;
    }
    results_tail_destroy(tail);
    ol_settings_destroy(&s.common);
    return rc;
}

/* order-consumer: decides orders strictly in sequence per item, exactly once,
 * and answers every one of them. See pipeline.h for the design.
 *
 * Exit codes: 0 clean stop (signal or --idle-exit); 2 bad usage; 1 error. */
#include <signal.h>

#include "ol_cli.h"
#include "ol_log.h"
#include "ol_options.h"
#include "pipeline.h"

static const ol_option options[] = {
    OL_OPT_COMMON,
    OL_OPT_DB,
    OL_OPT_RESULTS_TOPIC,
    {"dlq-topic", 0, OL_OPT_STRING, "NAME", 0, 0, offsetof(ol_settings, dlq_topic),
     "dead-letter topic for invalid messages (default: orders-dlq)"},
    {"partitions", 0, OL_OPT_LONG, "N", 1, 100000, offsetof(ol_settings, partitions),
     "partitions when creating missing topics (default 8)"},
    {"group", 'g', OL_OPT_STRING, "ID", 0, 0, offsetof(ol_settings, group), "consumer group (default: orderline)"},
    {"batch-max", 0, OL_OPT_LONG, "N", 1, 100000, offsetof(ol_settings, batch_max),
     "most messages per batch transaction (default 2000)"},
    {"batch-linger-ms", 0, OL_OPT_LONG, "MS", 0, 10000, offsetof(ol_settings, batch_linger_ms),
     "longest wait to fill a batch after its first message (default 10)"},
    {"db-connections", 0, OL_OPT_LONG, "N", 1, 8, offsetof(ol_settings, db_connections),
     "PostgreSQL connections deciding batches in parallel, each for its own share of the partitions"
     " (default 2)"},
    {"metrics-addr", 0, OL_OPT_STRING, "HOST:PORT", 0, 0, offsetof(ol_settings, metrics_addr),
     "serve Prometheus /metrics and /healthz there (e.g. 127.0.0.1:9464)"},
    {"stats-file", 0, OL_OPT_STRING, "FILE", 0, 0, offsetof(ol_settings, stats_file),
     "at exit, write the counters as /metrics shows them (Prometheus text) to FILE"},
    {"idle-exit", 0, OL_OPT_LONG, "SECONDS", 0, 86400 * 365L, offsetof(ol_settings, idle_exit_s),
     "exit 0 once everything is processed and nothing new came for SECONDS"},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

int main(int argc, char **argv) {
    ol_settings s;
    switch (ol_cli_settings(&s, options, N_OPTIONS, argc, argv, "order-consumer", "order-consumer [OPTIONS]",
                            "Reads orders, decides each one exactly once in log order per item, applies the\n"
                            "stock changes to PostgreSQL and publishes an answer for every order. Runs until\n"
                            "SIGTERM/SIGINT (finishing the batch in flight) or --idle-exit.",
                            false)) {
    case OL_CLI_RUN:
        break;
    case OL_CLI_HELP_SHOWN:
        return 0;
    case OL_CLI_USAGE_ERROR:
        return 2;
    case OL_CLI_FAILED:
        return 1;
    }
    volatile sig_atomic_t *stop_requested = ol_cli_stop_on_signals();

    char err[1024];
    int rc = 0;
    order_pipeline *pipeline = order_pipeline_new(&s, stop_requested, err, sizeof err);
    if (!pipeline) {
        ol_error("%s", err);
        rc = 1;
    } else {
        if (!order_pipeline_run(pipeline, err, sizeof err)) {
            ol_error("%s", err);
            rc = 1;
        }
        if (!order_pipeline_stop(pipeline, err, sizeof err)) {
            ol_error("%s", err);
            rc = 1;
        }
    }
    if (pipeline && s.stats_file && !order_pipeline_write_stats(pipeline, s.stats_file, err, sizeof err)) {
        ol_error("%s", err);
        rc = 1;
    }
    order_pipeline_destroy(pipeline);
    ol_settings_destroy(&s);
    if (rc == 0) ol_info("stopped cleanly");
    return rc;
}

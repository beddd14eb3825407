/* order-consumer: decides orders strictly in sequence per item, exactly once,
 * and answers every one of them. See pipeline.h for the design.
 *
 * Exit codes: 0 clean stop (signal or --idle-exit); 2 bad usage; 1 error. */
#include <signal.h>

#include "ol_cli.h"
#include "ol_log.h"
#include "pipeline.h"

#define FIELD(name) offsetof(consumer_settings, name)
static const ol_option options[] = {
    OL_OPT_COMMON,
    OL_OPT_DB,
    OL_OPT_RESULTS_TOPIC,
    OL_OPT_CARTS_TOPIC,
    OL_OPT_PARTITIONS("missing topics"),
    {"dlq-topic", 0, OL_OPT_STRING, "NAME", 0, 0, FIELD(dlq_topic), "dead-letter topic for invalid messages",
     "orders-dlq"},
    {"group", 'g', OL_OPT_STRING, "ID", 0, 0, FIELD(group), "consumer group", "orderline"},
    {"batch-max", 0, OL_OPT_LONG, "N", 1, 100000, FIELD(batch_max), "most messages per batch transaction", "4000"},
    {"batch-linger-ms", 0, OL_OPT_LONG, "MS", 0, 10000, FIELD(batch_linger_ms),
     "longest wait to fill a batch after its first message", "10"},
    {"db-connections", 0, OL_OPT_LONG, "N", 1, 8, FIELD(db_connections),
     "PostgreSQL connections deciding batches in parallel, each for its own share of the partitions", "2"},
    {"metrics-addr", 0, OL_OPT_STRING, "HOST:PORT", 0, 0, FIELD(metrics_addr),
     "serve Prometheus /metrics and /healthz there (e.g. 127.0.0.1:9464)", NULL},
    {"stats-file", 0, OL_OPT_STRING, "FILE", 0, 0, FIELD(stats_file),
     "at exit, write the counters as /metrics shows them (Prometheus text) to FILE", NULL},
    {"idle-exit", 0, OL_OPT_LONG, "SECONDS", 0, 86400 * 365L, FIELD(idle_exit_s),
     "exit 0 once everything is processed and nothing new came for SECONDS", NULL},
};
#undef FIELD

static const ol_cli_tool tool = {
    .program = "order-consumer",
    .usage = "order-consumer [OPTIONS]",
    .summary = "Reads orders, decides each one exactly once in log order per item, applies the\n"
               "stock changes to PostgreSQL and publishes an answer for every order. Runs until\n"
               "SIGTERM/SIGINT (finishing the batch in flight) or --idle-exit.",
    .options = options,
    .n_options = sizeof options / sizeof options[0],
    .settings_size = sizeof(consumer_settings),
    .positional_ok = false,
    .exit_help = 0,
    .exit_usage = 2,
    .exit_failed = 1,
};

int main(int argc, char **argv) {
    consumer_settings s;
    ol_cli_status status = ol_cli_settings(&tool, &s.common, argc, argv);
    if (status != OL_CLI_RUN) return ol_cli_exit_code(&tool, status);
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
    ol_settings_destroy(&s.common);
    if (rc == 0) ol_info("stopped cleanly");
    return rc;
}

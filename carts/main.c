/* order-carts: the cart coordinator. Decides every cart all or nothing
 * through holds on its items' partitions (carts/protocol.md), and answers
 * every cart, confirm, cancel and expire on the results topic.
 *
 * Exit codes: 0 clean stop (signal or --idle-exit); 2 bad usage; 1 error. */
#include <signal.h>

#include "coordinator.h"
#include "ol_cli.h"
#include "ol_log.h"

#define FIELD(name) offsetof(carts_settings, name)
static const ol_option options[] = {
    OL_OPT_COMMON,
    OL_OPT_DB,
    OL_OPT_RESULTS_TOPIC,
    OL_OPT_CARTS_TOPIC,
    OL_OPT_PARTITIONS("missing topics"),
    {"group", 'g', OL_OPT_STRING, "ID", 0, 0, FIELD(group),
     "consumer group on the carts topic (its line forwarder uses ID-lines on the results topic)", "orderline-carts"},
    {"batch-max", 0, OL_OPT_LONG, "N", 1, 1024, FIELD(batch_max), "most carts-topic messages per transaction", "512"},
    {"batch-linger-ms", 0, OL_OPT_LONG, "MS", 0, 1000, FIELD(batch_linger_ms),
     "longest wait to fill a batch after its first message", "10"},
    {"expire-interval-ms", 0, OL_OPT_LONG, "MS", 50, 60000, FIELD(expire_interval_ms),
     "how often held carts are checked for their deadline", "500"},
    {"stats-file", 0, OL_OPT_STRING, "FILE", 0, 0, FIELD(stats_file),
     "at exit, write the counters (Prometheus text, as /metrics) to FILE", NULL},
    {"metrics-addr", 0, OL_OPT_STRING, "HOST:PORT", 0, 0, FIELD(metrics_addr),
     "serve Prometheus /metrics and /healthz there (e.g. 127.0.0.1:9466)", NULL},
    {"idle-exit", 0, OL_OPT_LONG, "SECONDS", 0, 86400 * 365L, FIELD(idle_exit_s),
     "exit 0 once nothing is owed and nothing new came for SECONDS", NULL},
};
#undef FIELD

static const ol_cli_tool tool = {
    .program = "order-carts",
    .usage = "order-carts [OPTIONS]",
    .summary = "Decides carts all or nothing: holds each line on its item's partition of the\n"
               "orders topic, then commits or releases every line, and answers each cart,\n"
               "confirm, cancel and expire on the results topic. Runs until SIGTERM/SIGINT.",
    .options = options,
    .n_options = sizeof options / sizeof options[0],
    .settings_size = sizeof(carts_settings),
    .positional_ok = false,
    .exit_help = 0,
    .exit_usage = 2,
    .exit_failed = 1,
};

int main(int argc, char **argv) {
    carts_settings s;
    ol_cli_status status = ol_cli_settings(&tool, &s.common, argc, argv);
    if (status != OL_CLI_RUN) return ol_cli_exit_code(&tool, status);
    volatile sig_atomic_t *stop_requested = ol_cli_stop_on_signals();

    char err[1024];
    int rc = 0;
    cart_coordinator *c = cart_coordinator_new(&s, stop_requested, err, sizeof err);
    if (!c) {
        ol_error("%s", err);
        rc = 1;
    } else {
        if (!cart_coordinator_run(c, err, sizeof err)) {
            ol_error("%s", err);
            rc = 1;
        }
        if (!cart_coordinator_stop(c, err, sizeof err)) {
            ol_error("%s", err);
            rc = 1;
        }
        if (s.stats_file && !cart_coordinator_write_stats(c, s.stats_file, err, sizeof err)) {
            ol_error("%s", err);
            rc = 1;
        }
    }
    cart_coordinator_destroy(c);
    ol_settings_destroy(&s.common);
    if (rc == 0) ol_info("stopped cleanly");
    return rc;
}

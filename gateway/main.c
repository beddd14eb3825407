/* order-gateway: an HTTP front that publishes an order and answers the
 * request with its decision. See README, "order-gateway".
 *
 * Exit codes: 0 stopped by SIGTERM/SIGINT after answering the requests in
 * flight; 1 could not start or lost the results topic; 2 bad usage. */
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>

#include "http.h"
#include "ledger.h"
#include "ol_cli.h"
#include "ol_log.h"
#include "relay.h"

enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 2 };

#define POLL_MS 5            /* reading answers: how long one read waits */
#define STOP_PRODUCE_MS 5000 /* on a stop: how long orders in flight may take to be confirmed */
#define STOP_DRAIN_MS 3000   /* then: how long the answers may take to be sent */
#define LEDGER_CONNECTIONS 3 /* one per HTTP thread, one for /healthz and the metrics listener */

#define FIELD(name) offsetof(gateway_settings, name)
static const ol_option options[] = {
    OL_OPT_COMMON,
    OL_OPT_DB,
    OL_OPT_RESULTS_TOPIC,
    {"listen", 'l', OL_OPT_STRING, "ADDR:PORT", 0, 0, FIELD(listen), "serve the HTTP API here", "127.0.0.1:8080"},
    {"max-wait", 0, OL_OPT_LONG, "SECONDS", 0, 3600, FIELD(max_wait_s),
     "longest Prefer: wait=N honoured (a request without one waits 5)", "30"},
    {"metrics-addr", 0, OL_OPT_STRING, "HOST:PORT", 0, 0, FIELD(metrics_addr), "also serve /metrics and /healthz here",
     NULL},
    OL_OPT_PARTITIONS("missing topics"),
};
#undef FIELD

static const ol_cli_tool tool = {
    .program = "order-gateway",
    .usage = "order-gateway [OPTIONS]",
    .summary = "HTTP front for orders: POST /orders publishes an order and answers with its decision\n"
               "(201 accepted, 409 rejected, 202 not decided in time); GET /orders/{id}, GET\n"
               "/items/{name}, the order form at /, /metrics and /healthz.",
    .options = options,
    .n_options = sizeof options / sizeof options[0],
    .settings_size = sizeof(gateway_settings),
    .positional_ok = false,
    .exit_help = EXIT_OK,
    .exit_usage = EXIT_USAGE,
    .exit_failed = EXIT_ERROR,
};

/* Thousands of waiting requests are thousands of sockets. */
static void raise_fd_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) ol_warn("cannot raise the open-files limit");
    }
}

static int serve(gw_relay *relay, gw_http *http, volatile sig_atomic_t *stop) {
    char err[1024];
    int rc = EXIT_OK;
    while (!*stop) {
        if (!gw_relay_run_once(relay, POLL_MS, err, sizeof err)) {
            ol_error("%s", err);
            rc = EXIT_ERROR;
            break;
        }
    }
    ol_info("stopping: no new connections; answering the requests in flight");
    gw_http_quiesce(http);
    int unconfirmed = gw_relay_stop(relay, STOP_PRODUCE_MS);
    if (unconfirmed > 0)
        ol_warn("%d orders not confirmed in the log at the stop (their requests got 503)", unconfirmed);
    unsigned open = gw_http_drain(http, STOP_DRAIN_MS);
    if (open > 0) ol_warn("%u requests still unanswered at the stop", open);
    return rc;
}

static int run(const gateway_settings *s, volatile sig_atomic_t *stop) {
    char err[1024] = "";
    int rc = EXIT_ERROR;
    gw_relay *relay = NULL;
    gw_http *http = NULL;
    gw_ledger *ledger = gw_ledger_new(s->common.db, s->common.orders_topic, LEDGER_CONNECTIONS, err, sizeof err);
    if (!ledger) goto done;
    http = gw_http_new(s, ledger, err, sizeof err);
    if (!http) goto done;
    relay = gw_relay_new(&s->common, gw_http_on_complete, http, err, sizeof err);
    if (!relay) goto done;
    if (!gw_http_start(http, relay, err, sizeof err)) goto done;
    rc = serve(relay, http, stop);
    err[0] = '\0';
done:
    if (rc != EXIT_OK && err[0]) ol_error("%s", err);
    gw_http_destroy(http); /* first: no request may reach the relay after this */
    gw_relay_destroy(relay);
    gw_ledger_destroy(ledger);
    return rc;
}

int main(int argc, char **argv) {
    gateway_settings s;
    ol_cli_status status = ol_cli_settings(&tool, &s.common, argc, argv);
    if (status != OL_CLI_RUN) return ol_cli_exit_code(&tool, status);
    volatile sig_atomic_t *stop = ol_cli_stop_on_signals();
    raise_fd_limit();
    int rc = run(&s, stop);
    ol_settings_destroy(&s.common);
    return rc;
}

/* order-producer: publishes JSON-lines orders to the orders topic, or with
 * --generate writes synthetic orders to stdout.
 *
 * Exit codes: 0 every line valid and delivered; 2 bad usage; 3 some lines
 * were invalid (the valid ones were delivered); 4 some deliveries failed;
 * 1 any other error (cannot connect, cannot read a file); with --wait, 5
 * some orders were rejected, 6 some got no answer in time. When several
 * apply: 1, 4, 6, 5, 3. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ol_cli.h"
#include "generate.h"
#include "ol_log.h"
#include "producer.h"

enum {
    EXIT_OK = 0,
    EXIT_ERROR = 1,
    EXIT_USAGE = 2,
    EXIT_INVALID = 3,
    EXIT_UNDELIVERED = 4,
    EXIT_REJECTED = 5,  /* --wait: every order decided, some rejected */
    EXIT_UNANSWERED = 6 /* --wait: some orders got no answer in time */
};

#define FIELD(name) offsetof(producer_settings, name)
static const ol_option options[] = {
    OL_OPT_COMMON,
    OL_OPT_PROGRESS,
    OL_OPT_PARTITIONS("the orders topic"),
    {"rate", 0, OL_OPT_LONG, "N", 0, 10000000L, FIELD(rate),
     "publish at most N orders per second, evenly paced (default: unpaced)", NULL},
    OL_OPT_RESULTS_TOPIC,
    OL_OPT_CARTS_TOPIC,
    {"wait", 0, OL_OPT_OPTIONAL_LONG, "SECONDS", 1, 86400, FIELD(wait_s),
     "wait up to SECONDS (default 30) for each order's answer; print answers on stdout", NULL},
    {"acks-log", 0, OL_OPT_STRING, "FILE", 0, 0, FIELD(acks_log),
     "write one JSON line per delivery report (order_id, partition, offset, error) to FILE", NULL},
    {"generate", 0, OL_OPT_LONG, "N", 1, 1000000000L, FIELD(generate),
     "write N synthetic orders to stdout instead of publishing", NULL},
    {"items", 0, OL_OPT_LONG, "K", 1, 10000000L, FIELD(items), "--generate: distinct items, zipf-like popularity",
     "100"},
    {"seed", 0, OL_OPT_LONG, "S", 0, 0x7fffffffL, FIELD(seed), "--generate: random seed; same seed, same orders", "1"},
    {"restock-pct", 0, OL_OPT_LONG, "P", 0, 100, FIELD(restock_pct), "--generate: percent of lines that restock", "10"},
    {"duplicate-pct", 0, OL_OPT_LONG, "P", 0, 100, FIELD(duplicate_pct),
     "--generate: percent of lines repeating an earlier order_id", "1"},
};
#undef FIELD

static const ol_cli_tool tool = {
    .program = "order-producer",
    .usage = "order-producer [OPTIONS] [FILE...]",
    .summary = "Validates JSON-lines orders from FILEs (or stdin, '-') and publishes them to the\n"
               "orders topic keyed by item. A line with \"lines\" is a cart, one of type cart_confirm\n"
               "or cart_cancel a cart's follow-up: both go to --carts-topic keyed by cart_id, and\n"
               "--wait waits for their answers too. Exit: 0 all delivered, 3 invalid lines, 4 delivery\n"
               "failures, 2 usage, 1 other errors; with --wait, 5 some rejected, 6 some not\n"
               "answered in time. --generate N writes synthetic orders instead.",
    .options = options,
    .n_options = sizeof options / sizeof options[0],
    .settings_size = sizeof(producer_settings),
    .positional_ok = true,
    .exit_help = EXIT_OK,
    .exit_usage = EXIT_USAGE,
    .exit_failed = EXIT_ERROR,
};

static int run_generate(const producer_settings *s, volatile const sig_atomic_t *stop_requested) {
    ol_generator_params params = {s->items, (uint64_t)s->seed, s->restock_pct, s->duplicate_pct};
    ol_generator *gen = ol_generator_new(&params);
    if (!gen) {
        ol_error("cannot create the generator: out of memory");
        return EXIT_ERROR;
    }
    ol_buf line;
    ol_buf_init(&line);
    int rc = EXIT_OK;
    for (long i = 0; i < s->generate && !*stop_requested; i++) {
        if (!ol_generator_next(gen, &line)) {
            ol_error("out of memory");
            rc = EXIT_ERROR;
            break;
        }
        fputs(line.data, stdout);
        fputc('\n', stdout);
    }
    if (fflush(stdout) != 0) {
        ol_error("writing to stdout failed");
        rc = EXIT_ERROR;
    }
    ol_buf_free(&line);
    ol_generator_destroy(gen);
    return rc;
}

static int run_publish(const producer_settings *s, volatile const sig_atomic_t *stop_requested) {
    char err[1024];
    order_producer *p = order_producer_new(s, err, sizeof err);
    if (!p) {
        ol_error("%s", err);
        return EXIT_ERROR;
    }
    int rc = EXIT_OK;
    char *stdin_only[] = {"-"};
    char **inputs = s->common.nargs ? s->common.args : stdin_only;
    size_t n_inputs = s->common.nargs ? s->common.nargs : 1;
    for (size_t i = 0; i < n_inputs && !*stop_requested; i++) {
        if (!order_producer_publish_file(p, inputs[i], stop_requested, err, sizeof err)) {
            ol_error("%s", err);
            rc = EXIT_ERROR;
            break;
        }
    }
    /* Drain before destroy: every message handed over gets its report. */
    int left = order_producer_drain(p, 60000);
    order_producer_progress_end(p);
    if (left > 0) ol_error("%d messages still undelivered after 60 s", left);
    if (!order_producer_await_answers(p, stop_requested, err, sizeof err)) {
        ol_error("%s", err);
        rc = EXIT_ERROR;
    }
    if (!order_producer_close_acks_log(p, s->acks_log, err, sizeof err)) {
        ol_error("%s", err);
        rc = EXIT_ERROR;
    }
    order_producer_stats st = order_producer_get_stats(p);
    ol_info("%zu lines: %zu delivered, %zu invalid, %zu failed, %zu unconfirmed deliveries re-sent", st.lines,
            st.delivered, st.invalid, st.failed + (size_t)(left > 0 ? left : 0), st.unconfirmed);
    if (s->wait_s != 0)
        ol_info("answers: %zu decided (%zu rejected), %zu without an answer in time", st.decided, st.rejected,
                st.unanswered);
    if (*stop_requested) {
        ol_warn("interrupted: input not fully read");
        if (rc == EXIT_OK) rc = EXIT_ERROR;
    }
    if (rc == EXIT_ERROR) { /* stays */
    } else if (st.failed > 0 || left > 0) rc = EXIT_UNDELIVERED;
    else if (st.unanswered > 0) rc = EXIT_UNANSWERED;
    else if (st.rejected > 0) rc = EXIT_REJECTED;
    else if (st.invalid > 0) rc = EXIT_INVALID;
    order_producer_destroy(p);
    return rc;
}

int main(int argc, char **argv) {
    producer_settings s;
    ol_cli_status status = ol_cli_settings(&tool, &s.common, argc, argv);
    if (status != OL_CLI_RUN) return ol_cli_exit_code(&tool, status);
    volatile sig_atomic_t *stop_requested = ol_cli_stop_on_signals();
    int rc = s.generate > 0 ? run_generate(&s, stop_requested) : run_publish(&s, stop_requested);
    ol_settings_destroy(&s.common);
    return rc;
}

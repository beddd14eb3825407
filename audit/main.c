/* order-audit: replays the orders log with the consumer's own decision
 * code and compares the outcome with the ledger (orders), the results
 * topic and inventories. See auditor.h for how, and replay.h for what is
 * compared.
 *
 * Exit codes: 0 everything agrees; 1 divergences (each on stdout, and in
 * the --report JSON); 2 errors, bad usage included (nothing concluded). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "auditor.h"
#include "ol_cli.h"
#include "ol_log.h"
#include "ol_options.h"
#include "ol_time.h"
#include "ol_str.h"
#include "report.h"

enum { EXIT_AGREES = 0, EXIT_DIVERGES = 1, EXIT_ERROR = 2 };

/* order-audit's flags, after the ones every tool shares. */
typedef struct audit_settings {
    ol_settings common; /* first: the option table's offsets count from here */
    char *since;        /* RFC 3339 or relative (15m); NULL: the whole log */
    char *report_path;  /* NULL: no JSON report */
} audit_settings;
_Static_assert(offsetof(audit_settings, common) == 0, "the shared settings come first");

#define FIELD(name) offsetof(audit_settings, name)
static const ol_option options[] = {
    OL_OPT_COMMON,
    OL_OPT_PROGRESS,
    OL_OPT_DB,
    OL_OPT_RESULTS_TOPIC,
    OL_OPT_CARTS_TOPIC,
    {"since", 0, OL_OPT_STRING, "TIME", 0, 0, FIELD(since),
     "replay from orders published since TIME (RFC 3339 or 30s, 15m, 2h, 1d ago); the stock at that point is"
     " taken from the ledger (default: the whole log)",
     NULL},
    {"report", 'r', OL_OPT_STRING, "FILE", 0, 0, FIELD(report_path),
     "also write the findings as one JSON document to FILE", NULL},
};
#undef FIELD

static const ol_cli_tool tool = {
    .program = "order-audit",
    .usage = "order-audit [OPTIONS]",
    .summary = "Replays the orders topic up to what the consumer has decided, with the consumer's\n"
               "own rules, and compares with the orders ledger, the results topic and inventories.\n"
               "Safe while a consumer runs. Exit: 0 all agree, 1 divergences, 2 errors.",
    .options = options,
    .n_options = sizeof options / sizeof options[0],
    .settings_size = sizeof(audit_settings),
    .positional_ok = false,
    .exit_help = EXIT_AGREES,
    .exit_usage = EXIT_ERROR,
    .exit_failed = EXIT_ERROR,
};

int main(int argc, char **argv) {
    audit_settings s;
    char err[1024] = "";
    ol_cli_status status = ol_cli_settings(&tool, &s.common, argc, argv);
    if (status != OL_CLI_RUN) return ol_cli_exit_code(&tool, status);
    int64_t since_us = -1;
    char why[256];
    if (s.since && !ol_time_arg_parse(s.since, ol_now_us(), &since_us, why, sizeof why)) {
        ol_cli_usage_error(tool.program, "--since: %s", why);
        ol_settings_destroy(&s.common);
        return EXIT_ERROR;
    }
    volatile sig_atomic_t *stop_requested = ol_cli_stop_on_signals();

    int rc = EXIT_ERROR;
    order_auditor *auditor = NULL;
    audit_outcome outcome;
    memset(&outcome, 0, sizeof outcome);
    char why_not[1024] = "";
    bool ran = false;
    audit_report *report = audit_report_new(s.report_path, err, sizeof err);
    if (!report) {
        ol_error("%s", err);
        goto done;
    }
    auditor = order_auditor_new(&s.common, since_us, stop_requested, audit_report_divergence, report, err, sizeof err);
    ran = auditor && order_auditor_run(auditor, err, sizeof err);
    if (!ran) ol_error("%s", err);
    if (auditor) order_auditor_outcome(auditor, &outcome);
    /* The report says why nothing could be concluded. */
    if (!ran) ol_strlcpy(why_not, err, sizeof why_not);
    if (!audit_report_finish(report, &s.common, since_us, &outcome, ran ? NULL : why_not, err, sizeof err)) {
        ol_error("%s", err);
        goto done;
    }
    if (ran) rc = audit_report_count(report) == 0 ? EXIT_AGREES : EXIT_DIVERGES;
done:
    order_auditor_destroy(auditor);
    audit_report_destroy(report);
    ol_settings_destroy(&s.common);
    return rc;
}

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

static const ol_option options[] = {
    OL_OPT_COMMON,
    OL_OPT_DB,
    OL_OPT_RESULTS_TOPIC,
    {"since", 0, OL_OPT_STRING, "TIME", 0, 0, offsetof(ol_settings, since),
     "replay from orders published since TIME (RFC 3339 or 30s, 15m, 2h, 1d ago); the stock at that point is"
     " taken from the ledger (default: the whole log)"},
    {"report", 'r', OL_OPT_STRING, "FILE", 0, 0, offsetof(ol_settings, report_path),
     "also write the findings as one JSON document to FILE"},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

int main(int argc, char **argv) {
    ol_settings s;
    char err[1024] = "";
    switch (ol_cli_settings(&s, options, N_OPTIONS, argc, argv, "order-audit", "order-audit [OPTIONS]",
                            "Replays the orders topic up to what the consumer has decided, with the consumer's\n"
                            "own rules, and compares with the orders ledger, the results topic and inventories.\n"
                            "Safe while a consumer runs. Exit: 0 all agree, 1 divergences, 2 errors.",
                            false)) {
    case OL_CLI_RUN:
        break;
    case OL_CLI_HELP_SHOWN:
        return EXIT_AGREES;
    case OL_CLI_USAGE_ERROR:
    case OL_CLI_FAILED:
        return EXIT_ERROR;
    }
    int64_t since_us = -1;
    char why[256];
    if (s.since && !ol_time_arg_parse(s.since, ol_now_us(), &since_us, why, sizeof why)) {
        fprintf(stderr, "order-audit: --since: %s\n", why);
        ol_settings_destroy(&s);
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
    auditor = order_auditor_new(&s, since_us, stop_requested, audit_report_divergence, report, err, sizeof err);
    ran = auditor && order_auditor_run(auditor, err, sizeof err);
    if (!ran) ol_error("%s", err);
    if (auditor) order_auditor_outcome(auditor, &outcome);
    /* The report says why nothing could be concluded. */
    if (!ran) ol_strlcpy(why_not, err, sizeof why_not);
    if (!audit_report_finish(report, &s, since_us, &outcome, ran ? NULL : why_not, err, sizeof err)) {
        ol_error("%s", err);
        goto done;
    }
    if (ran) rc = audit_report_count(report) == 0 ? EXIT_AGREES : EXIT_DIVERGES;
done:
    order_auditor_destroy(auditor);
    audit_report_destroy(report);
    ol_settings_destroy(&s);
    return rc;
}

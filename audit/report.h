/* audit_report: what order-audit tells. Each divergence becomes one line
 * on stdout as it is found, then a verdict line; with --report FILE the
 * same as one JSON document, written to FILE.tmp as the audit goes and
 * renamed to FILE at the end, so FILE is never half written. */
#ifndef AUDIT_REPORT_H
#define AUDIT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auditor.h"
#include "replay.h"
#include "ol_options.h"

typedef struct audit_report audit_report;

/* json_path: the --report file, or NULL for none. */
audit_report *audit_report_new(const char *json_path, char *err, size_t errlen);
/* Removes FILE.tmp if the report was never finished. NULL is accepted. */
void audit_report_destroy(audit_report *report);

/* audit_report_fn: ctx is the audit_report. Write errors are kept and
 * returned by audit_report_finish. */
void audit_report_divergence(void *ctx, const divergence *d);

/* Writes the verdict (stdout) and completes the JSON report. error is the
 * reason the audit could not conclude, or NULL. since_us is -1 without
 * --since. False when writing failed. */
bool audit_report_finish(audit_report *report, const ol_settings *settings, int64_t since_us,
                         const audit_outcome *outcome, const char *error, char *err, size_t errlen);

/* Divergences reported so far. */
uint64_t audit_report_count(const audit_report *report);

#endif

/* audit/divergence: what order-audit reports, one finding at a time: the
 * kinds of divergence, a finding's text line and JSON object, and the short
 * descriptions of decisions and answers findings quote. Pure. */
#ifndef AUDIT_DIVERGENCE_H
#define AUDIT_DIVERGENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ol_decide.h"
#include "ol_result.h"
#include "ol_str.h"

typedef enum {
    DIV_DECISION_DIFFERS,     /* the ledger's decision is not the rules' */
    DIV_LEDGER_MISSING,       /* a decided order has no row in the ledger */
    DIV_ORIGINAL_DIFFERS,     /* the ledger's row sits at another message than the rules' original */
    DIV_NOT_IN_LOG,           /* a ledger row with no message carrying its order_id at its position */
    DIV_RESULT_MISSING,       /* an acknowledged answer is not on the results topic */
    DIV_RESULT_CONFLICTING,   /* an answer differs from the rules' answer, or from another copy */
    DIV_RESULT_UNEXPECTED,    /* an answer for a message that needs none */
    DIV_STOCK_DRIFT,          /* inventories differ from the recomputed stock */
    DIV_LOG_SHORT,            /* the log ends before the stored position */
    DIV_HOLD_NOT_RELEASED,    /* a hold still standing well past its deadline, or after its cart ended */
    DIV_CART_HALF_SOLD,       /* a settled cart whose lines' holds show some sold and some not */
    DIV_CART_ANSWER_MISMATCH, /* a cart answer differs from the carts topic's replay, or is missing */
    DIV_CANCEL_APPLIED_TWICE, /* a target whose units came back twice (two accepted cancels or expires) */
    DIV_KIND_COUNT
} divergence_kind;

typedef struct divergence {
    divergence_kind kind;
    const char *order_id; /* NULL when not about one order */
    const char *item;     /* NULL when unknown */
    int32_t partition;    /* -1 when not about one message */
    int64_t offset;       /* -1 likewise */
    const char *expected; /* what the replay says; "" when not applicable */
    const char *found;    /* what was recorded; "" likewise */
    const char *detail;   /* one sentence */
} divergence;

/* Snake-case name of a kind, as in reports ("stock_drift"). */
const char *divergence_kind_name(divergence_kind kind);
/* Appends one line (newline included): "KIND order=... item=...
 * partition=P offset=O: detail (expected ...; found ...)". Control
 * characters in data become '?'. False on OOM. */
bool divergence_format(const divergence *d, ol_buf *out);
/* One JSON object (compact), malloc'd for the caller; NULL on OOM. */
char *divergence_to_json(const divergence *d);

/* "order of 3 widget: accepted, remaining 2" (a ledger row or a decision). */
void divergence_describe_decision(char *dst, size_t len, const ol_result *r);
/* "o-1: rejected insufficient_stock, remaining 2, duplicate" (an answer). */
void divergence_describe_answer(char *dst, size_t len, const char *order_id, ol_status status, ol_reason reason,
                                bool has_remaining, int64_t remaining, bool duplicate);

#endif

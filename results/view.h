/* results/view: the pure half of order-results: filtering results,
 * rendering them as a table, and summarising a window of them. No I/O: the
 * tool reads the topic and writes what this returns. */
#ifndef RESULTS_VIEW_H
#define RESULTS_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ol_cart_result.h"
#include "ol_result.h"
#include "ol_str.h"

typedef enum { OL_FORMAT_JSON, OL_FORMAT_TABLE } ol_output_format;

/* Picks the output format: text "json" or "table", or NULL for automatic
 * (a table when stdout is a terminal, JSON lines when it is not). */
bool ol_output_format_parse(const char *text, bool stdout_is_tty, ol_output_format *out, char *err, size_t errlen);

/* Which results to show. Unset criteria match everything. Strings are
 * borrowed from the caller and must outlive the filter. */
typedef struct ol_results_filter {
    const char *item;     /* exact item name */
    const char *order_id; /* exact order_id */
    bool has_status;
    ol_status status;
    bool has_reason;
    ol_reason reason; /* OL_REASON_NONE matches accepted answers (reason null) */
} ol_results_filter;

/* Fills *f from the command-line texts (each may be NULL). status is
 * "accepted" or "rejected"; reason is a reason name or "none". On false,
 * err names the bad value and the accepted ones. */
bool ol_results_filter_init(ol_results_filter *f, const char *item, const char *status, const char *reason,
                            const char *order_id, char *err, size_t errlen);
bool ol_results_filter_match(const ol_results_filter *f, const ol_result *r);
/* The same for a cart's answer: --item matches a cart with a line of that
 * item. */
bool ol_results_filter_match_cart(const ol_results_filter *f, const ol_cart_result *c);

/* The table: a header line and one line per result, columns aligned to
 * fixed widths. Long values are cut with an ellipsis and control
 * characters are shown as '?', so no order_id can garble the terminal.
 * Each call appends one line, newline included. False on OOM. */
bool ol_results_table_header(ol_buf *out);
bool ol_results_table_row(ol_buf *out, const ol_result *r);
/* A cart's answer in the same columns: ITEM and QTY "-", TYPE the cart
 * message's, DETAIL the cart's state and each line (item x quantity,
 * status, reason), and a held cart's deadline. */
bool ol_results_cart_row(ol_buf *out, const ol_cart_result *c);

/* Counts for one item or for the whole window. accepted/rejected/held and
 * the reasons count decisions (duplicate=false answers); a duplicate answer
 * repeats an earlier decision and is counted in duplicates only, so that
 * accepted + rejected + held equals the ledger's rows plus the answered
 * invalid messages. A follow-up (confirm, cancel, expire) is a decision of
 * its own; its refusals count in rejected. */
typedef struct ol_results_counts {
    uint64_t accepted;
    uint64_t rejected;
    uint64_t held;
    uint64_t insufficient_stock;
    uint64_t unknown_item;
    uint64_t invalid;
    uint64_t duplicates;
} ol_results_counts;

typedef struct ol_results_summary ol_results_summary;

/* An empty summary; NULL on OOM. */
ol_results_summary *ol_results_summary_new(void);
/* NULL is accepted. */
void ol_results_summary_destroy(ol_results_summary *s);

/* Counts one result, unless a result for the same source position
 * (partition, offset) was counted before: the consumer publishes answers
 * again after a crash, and each message counts once. Remembers 16 bytes per
 * distinct position. False on OOM (nothing counted). */
bool ol_results_summary_add(ol_results_summary *s, const ol_result *r);
/* Counts a cart's answer apart from the items' (ol_results_summary_carts),
 * each (topic carts, partition, offset) once. False on OOM. */
bool ol_results_summary_add_cart(ol_results_summary *s, const ol_cart_result *c);
/* The carts' counts; *counted and *repeats as for the items'. */
ol_results_counts ol_results_summary_carts(const ol_results_summary *s, uint64_t *counted, uint64_t *repeats);
/* Notes a message on the results topic that is not a decodable result. */
void ol_results_summary_add_undecodable(ol_results_summary *s);

/* Totals over every result counted. */
ol_results_counts ol_results_summary_total(const ol_results_summary *s);
/* Counts for one item (NULL: results without an item, i.e. invalid
 * messages); false when the item has none. */
bool ol_results_summary_item(const ol_results_summary *s, const char *item, ol_results_counts *out);
/* Distinct answers counted, repeats ignored, undecodable messages seen. */
uint64_t ol_results_summary_counted(const ol_results_summary *s);
uint64_t ol_results_summary_repeats(const ol_results_summary *s);
uint64_t ol_results_summary_undecodable(const ol_results_summary *s);

/* accepted / (accepted + rejected + held); false when there is no decision. */
bool ol_results_acceptance_rate(const ol_results_counts *c, double *rate);

/* Renders the summary: a few lines of totals then one row per item (sorted
 * by name, results without an item last) and a TOTAL row; then, when any
 * cart answer was counted, a CARTS row of their own. The JSON has a
 * "carts" member then. False on OOM. */
bool ol_results_summary_table(const ol_results_summary *s, ol_buf *out);
/* The same as one JSON document (one line, no newline), malloc'd for the
 * caller to free; NULL on OOM. */
char *ol_results_summary_json(const ol_results_summary *s);

#endif

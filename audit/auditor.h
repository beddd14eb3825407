/* order_auditor: order-audit's I/O around the pure replay engine (replay.h).
 *
 * 1. Snapshot (audit_ledger): in one REPEATABLE READ transaction, the
 *    stored positions of the orders topic and inventories. Per partition,
 *    offsets below next_offset are decided; that is exactly what is
 *    replayed, so a consumer may keep working while the audit runs.
 * 2. Replay start per partition: the log's beginning, or with --since the
 *    first offset at or after that time (offsets_for_times). The stock at
 *    that point is the ledger's sum of accepted restocks minus accepted
 *    orders before it, which assumes nothing but the consumer ever changed
 *    stock before the window (no hand edits, no stock that existed before
 *    orderline). From the beginning, the stock starts empty: items come
 *    into being with their first accepted restock.
 * 3. The results topic's window, planned after the snapshot (from the
 *    beginning, or with --since from RESULTS_MARGIN before that time, up
 *    to its high-water marks): every answer acknowledged in the snapshot
 *    is in it.
 * 4. Partition by partition: results partition p into the engine's answer
 *    store, then the orders topic's partition p from its start to its
 *    stored position, in batches, merged with a cursor over the ledger
 *    rows in (partition, offset) order; order_ids the merge cannot place
 *    are looked up in bulk, one query per batch at most. Results are keyed
 *    like orders, so the store holds one partition's answers at a time and
 *    the engine one batch's decisions: memory follows a partition, not the
 *    log. Results partitions beyond the orders topic's come last.
 *    With cart positions in the snapshot (order-carts decided on
 *    --carts-topic), the carts topic's partition of the same number follows,
 *    up to its stored position, through cart_audit (the coordinator's own
 *    rules) against the cart answers read with the results, and the
 *    lines' holds as the ledger has them.
 * 5. The engine's final checks (stock against the snapshot's inventories).
 * Divergences go to the listener as they are found. */
#ifndef ORDER_AUDITOR_H
#define ORDER_AUDITOR_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cart_audit.h"
#include "replay.h"
#include "ol_options.h"

typedef struct audit_partition {
    int32_t partition;
    int64_t low, high;   /* orders topic watermarks at start */
    int64_t start;       /* first offset replayed */
    int64_t decided_end; /* next_offset in the snapshot (0: none stored) */
    int64_t results_end; /* results_offset in the snapshot */
    bool stored;         /* consumer_positions has a row */
} audit_partition;

typedef struct audit_outcome {
    const audit_stats *stats; /* NULL when the run failed before replaying */
    const audit_partition *parts;
    size_t n_parts;
    uint64_t undecodable_results;  /* messages on the results topic that are not results */
    uint64_t cart_answers;         /* cart answers on the results topic (not the items') */
    const cart_audit_stats *carts; /* NULL when no cart coordinator decided on the carts topic */
    double replay_seconds;         /* reading the results and replaying the orders topic */
    double total_seconds;
} audit_outcome;

typedef struct order_auditor order_auditor;

/* since_us: replay from that time, or -1 for the whole log. report gets
 * each divergence with ctx. *stop interrupts a run (it then fails). */
order_auditor *order_auditor_new(const ol_settings *settings, int64_t since_us, volatile sig_atomic_t *stop,
                                 audit_report_fn report, void *ctx, char *err, size_t errlen);
/* NULL is accepted. */
void order_auditor_destroy(order_auditor *auditor);

/* Runs the whole audit. False on errors (nothing can be concluded). */
bool order_auditor_run(order_auditor *auditor, char *err, size_t errlen);

/* What the run did, for the report; valid until destroy. */
void order_auditor_outcome(const order_auditor *auditor, audit_outcome *out);

#endif

/* audit/replay: recomputes the decisions of an orders log with the consumer's
 * own code (ol_order_parse, ol_decider in compact mode, hence ol_decide) and
 * compares them with what the consumer recorded: the orders ledger, the
 * results topic and inventories. Pure: order-audit reads Kafka and
 * PostgreSQL and feeds this module; divergences come back through a
 * callback as they are found.
 *
 * What is checked, for each partition p of the orders topic over the
 * replayed offsets [start, decided_end) (decided_end is p's next_offset in
 * consumer_positions: everything below it is decided):
 *  - every valid message is decided again, in offset order, with the
 *    consumer's duplicate rule (an order_id decided before is answered with
 *    the original decision and duplicate=true). The ledger row of an
 *    order_id must sit at the message the rules make its original and hold
 *    the same decision. After a decision that differs, the replay adopts
 *    the ledger's decision and remaining stock (what the consumer did), so
 *    that one anomaly is reported once rather than again in every later
 *    decision of the item, and the results topic is held to what the
 *    consumer decided.
 *  - every answerable message (valid, or invalid with a readable order_id)
 *    must have its answer on the results topic if its offset is below
 *    results_end (results_offset: answers acknowledged by Kafka). Answers
 *    for [results_end, decided_end) may not be published yet: checked when
 *    present, not missed when absent.
 *  - after the last batch, the recomputed stock must equal inventories. The
 *    ranges and inventories must come from one snapshot for this to hold.
 *
 * Partitions are replayed one after the other: an item lives in one
 * partition (the key is the item), so its decisions are in log order. An
 * order_id repeated in another partition is resolved by the ledger: when a
 * message's order_id has neither a ledger row at the message's own position
 * nor a decision earlier in the replay, the caller looks it up in the ledger
 * (audit_replay_prepare lists those order_ids) and passes the rows it finds
 * (audit_replay_add_prior). A row on another topic, in an earlier partition or
 * before a partition's start is an earlier decision, as the consumer would
 * have loaded it; a row in a later partition makes the message a duplicate
 * of a decision the replay has not reached yet (checked at the end); no row
 * at all is a divergence, since the message was decided.
 *
 * Feeding order:
 *  1. audit_replay_set_range for each partition of the orders topic;
 *     audit_replay_set_stock for the stock at the replay start (nothing when the
 *     replay starts at the beginning of the log); audit_replay_add_inventory for
 *     each row of inventories.
 *  2. Answers read from the results topic (audit_replay_add_result), at any
 *     point. order-audit reads them beside the batches, bounded: before
 *     partition p's first batch, audit_replay_begin_partition(p), then the
 *     results partition of the same number, read before each batch until
 *     audit_replay_answers_past says the batch's answers are in (or the
 *     results partition ends); an answer the window cannot hold yet
 *     (*later) is offered again after the batch. After p's last batch,
 *     audit_replay_end_partition(p) and the rest of that results partition.
 *     Answers fed with no partition begun are held whole (tests).
 *  3. Batches of messages, each batch from one partition in offset order,
 *     partitions in increasing order. Before a batch, every ledger row of
 *     the orders topic with an offset >= its partition's start, up to and
 *     including the batch's last position, must have been given to
 *     audit_replay_add_ledger_row, in (partition, offset) order. Then
 *     audit_replay_prepare, the caller's lookup and audit_replay_add_prior for each
 *     row found, then audit_replay_decide.
 *  4. The remaining ledger rows, then audit_replay_finish.
 * Functions returning bool fail only on OOM or on a call out of this order
 * (err says which). */
#ifndef AUDIT_REPLAY_H
#define AUDIT_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ol_decide.h"
#include "ol_result.h"
#include "ol_str.h"

#include "divergence.h"

typedef void (*audit_report_fn)(void *ctx, const divergence *d);

typedef struct audit_stats {
    uint64_t messages;           /* replayed: within the decided ranges */
    uint64_t invalid;            /* of which not valid orders */
    uint64_t decisions;          /* new decisions made by the replay */
    uint64_t duplicates;         /* answered as duplicates */
    uint64_t deferred;           /* of which originals in a later partition */
    uint64_t ledger_rows;        /* ledger rows compared (fed and priors) */
    uint64_t lookups;            /* order_ids looked up in the ledger */
    uint64_t results_read;       /* answers fed */
    uint64_t results_outside;    /* of which outside the replayed ranges (ignored) */
    uint64_t results_unverified; /* of which copies of answers compared and freed already (not comparable) */
    uint64_t results_checked;    /* answers compared with the replay */
    uint64_t items;              /* items whose stock was compared */
    uint64_t shared_items;       /* items seen in more than one partition */
    uint64_t divergences;
    uint64_t by_kind[DIV_KIND_COUNT];
} audit_stats;

/* One message of the orders topic, borrowed for the duration of the call. */
typedef struct audit_msg {
    int32_t partition;
    int64_t offset;
    const char *key; /* NULL: no key */
    size_t key_len;
    const char *value;
    size_t value_len;
    int64_t ts_ms; /* the log timestamp (holds' deadlines, expires); -1: none */
} audit_msg;

typedef struct audit_replay audit_replay;

/* Answers of the partition being replayed held ahead of it, at most (the
 * replay's batches must not be longer). */
#define AUDIT_REPLAY_WINDOW ((size_t)1 << 17)

/* report is called for each divergence, with ctx. NULL on OOM. */
audit_replay *audit_replay_new(audit_report_fn report, void *ctx);
/* With an answers window of another size (tests). */
audit_replay *audit_replay_new_window(audit_report_fn report, void *ctx, size_t window);
/* NULL is accepted. */
void audit_replay_destroy(audit_replay *audit);

/* Partition p replays [start, decided_end); answers below results_end must
 * be on the results topic. Partitions without a range are not replayed (a
 * ledger row there is reported). */
bool audit_replay_set_range(audit_replay *audit, int32_t partition, int64_t start, int64_t decided_end,
                            int64_t results_end, char *err, size_t errlen);
/* An item's stock at the replay start. */
bool audit_replay_set_stock(audit_replay *audit, const char *item, ol_stock stock, char *err, size_t errlen);
/* A row of inventories (the stock the consumer has written). */
bool audit_replay_add_inventory(audit_replay *audit, const char *item, int64_t count, char *err, size_t errlen);

/* The replay is about to start partition (its results partition is read
 * from here): earlier partitions are settled. */
bool audit_replay_begin_partition(audit_replay *audit, int32_t partition, char *err, size_t errlen);
/* Have the answers read so far gone beyond offset last of partition, so
 * that a batch up to last may be decided? */
bool audit_replay_answers_past(const audit_replay *audit, int32_t partition, int64_t last);
/* The replay is done with partition's messages: the rest of its answers
 * always fit. */
void audit_replay_end_partition(audit_replay *audit, int32_t partition);

/* An answer read from the results topic. Answers outside the replayed
 * ranges are ignored; two different answers for one message are reported.
 * *later: the answer is too far ahead of the replay to be held yet, and
 * nothing was done with it. */
bool audit_replay_add_result(audit_replay *audit, const ol_result *answer, bool *later, char *err, size_t errlen);

/* A ledger row of the orders topic (partition and offset of its message). */
bool audit_replay_add_ledger_row(audit_replay *audit, const ol_result *row, char *err, size_t errlen);

/* Parses a batch and lists the order_ids to look up in the ledger
 * (*ids, *n_ids: valid until audit_replay_decide). Messages outside the
 * partition's range are skipped. */
bool audit_replay_prepare(audit_replay *audit, const audit_msg *msgs, size_t n, const char *const **ids, size_t *n_ids,
                          char *err, size_t errlen);
/* A ledger row found for one of those order_ids. partition is -1 when the
 * row belongs to another orders topic. */
bool audit_replay_add_prior(audit_replay *audit, const ol_result *row, char *err, size_t errlen);
/* Decides the prepared batch and compares. */
bool audit_replay_decide(audit_replay *audit, char *err, size_t errlen);

/* A hold the ledger still has standing overdue_s seconds past its
 * deadline (row: its decision), reported as hold_not_released. */
void audit_replay_add_open_hold(audit_replay *audit, const ol_result *row, int64_t overdue_s);

/* Settles what only the end can tell: ledger rows never met, duplicates
 * of later partitions, answers never matched, partitions read short, and
 * the stock. */
bool audit_replay_finish(audit_replay *audit, char *err, size_t errlen);

/* A divergence found elsewhere (the carts' replay): counted with the
 * replay's own and passed to its listener. */
void audit_replay_report(audit_replay *audit, const divergence *d);

/* Counters so far; valid until destroy. */
const audit_stats *audit_replay_stats(const audit_replay *audit);

#endif

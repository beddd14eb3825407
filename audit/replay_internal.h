/* audit/replay_internal: what replay.c (setup, the ledger queue, batches,
 * decisions) and replay_checks.c (answers, rows never met, the end) share.
 * Private to the replay module: nothing outside audit/replay*.c includes it. */
#ifndef AUDIT_REPLAY_INTERNAL_H
#define AUDIT_REPLAY_INTERNAL_H

#include "answers.h"
#include "ol_decider.h"
#include "ol_map.h"
#include "ol_order.h"
#include "replay.h"

typedef struct part_range {
    bool set;
    int64_t start, end, results_end;
    int64_t next; /* first offset not replayed yet */
} part_range;

typedef struct batch_entry {
    int32_t partition;
    int64_t offset;
    int64_t ts_ms; /* the log timestamp, as the consumer decided with it */
    bool valid;
    ol_order order;
    char error[OL_ERROR_MAX];
} batch_entry;

/* A duplicate whose original is in a later partition: its answer is known
 * only once the replay has decided that original. */
typedef struct deferred_dup {
    int32_t partition;
    int64_t offset;
    ol_result ledger; /* the original's ledger row, in case the replay never meets it */
} deferred_dup;

typedef struct inventory_entry {
    int64_t count;
    bool seen;
} inventory_entry;

/* Value in item_partition for an item met in several partitions. */
#define SHARED_ITEM ((void *)UINTPTR_MAX)

struct audit_replay {
    audit_report_fn report;
    void *ctx;
    ol_decider *decider;
    part_range *ranges;
    size_t n_ranges;
    /* Ledger rows given and not met yet: a FIFO in (partition, offset) order. */
    ol_result *queue;
    size_t q_head, q_len, q_cap;
    bool any_fed;
    int32_t last_fed_partition;
    int64_t last_fed_offset;
    /* The prepared batch. */
    batch_entry *batch;
    size_t batch_len, batch_cap;
    const char **need;
    size_t n_need;
    ol_map *originals; /* order_ids with their ledger row at their own position (this batch) */
    ol_map *needed;    /* order_ids listed for lookup (this batch) */
    ol_map *priors;    /* order_id -> ol_result* found by lookup (owned; this batch) */
    bool prepared;
    int32_t partition; /* partition of the last batch; -1 before the first */
    deferred_dup *deferred;
    size_t n_deferred, deferred_cap;
    ol_map *inventories;    /* item -> inventory_entry* (owned) */
    ol_map *item_partition; /* item -> partition + 1, or SHARED_ITEM */
    ol_map *misplaced;      /* order_ids already reported as ORIGINAL_DIFFERS */
    ol_map *given_back;     /* targets whose units an accepted cancel or expire gave back (this partition) */
    int32_t given_back_partition;
    /* Decisions are looked up in the ledger once their batch is over; those
     * the replay made without a ledger row stay here (owned copies). */
    ol_map *kept;
    answer_store *answers;
    /* Answers expected and not stored when their message was replayed:
     * they may still come from another results partition. */
    ol_result *pending;
    size_t n_pending, pending_cap;
    bool finished;
    audit_stats stats;
};

static inline int replay_pos_cmp(int32_t p1, int64_t o1, int32_t p2, int64_t o2) {
    if (p1 != p2) return p1 < p2 ? -1 : 1;
    return o1 < o2 ? -1 : o1 > o2 ? 1 : 0;
}

void replay_emit(audit_replay *a, divergence_kind kind, const char *order_id, const char *item, int32_t partition,
                 int64_t offset, const char *expected, const char *found, const char *fmt, ...)
    __attribute__((format(printf, 9, 10)));
part_range *replay_range_of(const audit_replay *a, int32_t partition);
bool replay_oom(char *err, size_t errlen);
const ol_result *replay_queue_head(const audit_replay *a);
void replay_queue_pop(audit_replay *a);
/* A ledger row whose position the replay passed without meeting it. */
void replay_report_unmet_row(audit_replay *a, const ol_result *row);
/* An answer the replay expects: compared now if stored, else kept for the
 * end (it may be read later, from another results partition). False on OOM. */
bool replay_check_answer(audit_replay *a, const ol_result *want);
/* Settles every partition below partition not settled yet. False on OOM. */
bool replay_settle_before(audit_replay *a, int32_t partition);

#endif

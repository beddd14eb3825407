/* partition_table: what the consumer knows of each orders partition: whether
 * it is assigned, its stored position and acknowledgement, and where
 * fetching resumes. Pure: the pipeline updates it from rebalances and
 * committed batches. Indexed by partition; grows on demand. */
#ifndef CONSUMER_PARTITIONS_H
#define CONSUMER_PARTITIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef struct partition_state {
    bool assigned;
    bool stored;           /* consumer_positions has a row */
    int64_t decided;       /* its next_offset: orders below are decided */
    int64_t acked_saved;   /* its results_offset as last written or read */
    int64_t next_expected; /* lowest offset accepted from Kafka: where the fetch since the last seek stands */
    int64_t fenced_until;  /* given up after a fence until then (monotonic ms); 0: not */
    /* Scratch of batch_plan, for the batch being planned. */
    int64_t first_new; /* first offset >= decided in the batch, -1 none */
    int64_t last;      /* last offset in the batch */
} partition_state;

typedef struct partition_table {
    partition_state *parts;
    size_t n;
} partition_table;

/* Frees the table's array (the struct is the caller's). */
void partition_table_free(partition_table *t);
/* The state of partition p, growing the table (new ones zeroed); NULL when
 * p is negative or memory ran out. */
partition_state *partition_table_get(partition_table *t, int32_t p);

/* Takes a position read from PostgreSQL: decided and acknowledged up to its
 * offsets, and fetching accepted from its results_offset. */
bool partition_table_apply(partition_table *t, const store_position *pos);

/* A message fetched at offset of partition p: false when p is not assigned
 * or the offset is stale (below where the fetch since the last seek
 * stands). Otherwise *stream_prev is where that fetch stood before it: the
 * fetch shows that no message lies in [*stream_prev, offset) (control
 * records of transactions leave such gaps), and the plan may rely on it. */
bool partition_table_accept(partition_table *t, int32_t p, int64_t offset, int64_t *stream_prev);

/* Where a partition starts fetching: the oldest answer not acknowledged, so
 * that answers lost in a crash are published again before new decisions;
 * low_watermark when the partition has no stored row. */
int64_t partition_start_offset(const store_position *pos, int64_t low_watermark);

/* A committed batch's effect: its partitions are stored and decided up to
 * their new_next, and its acknowledgements are saved. */
void partition_table_commit(partition_table *t, const store_advance *adv, size_t n_adv, const store_ack *acks,
                            size_t n_acks);

/* Which acknowledgements to record. */
typedef struct ack_filter {
    size_t lane, n_lanes; /* only partitions p with p % n_lanes == lane; n_lanes 0: all */
    const int32_t *only;  /* only these partitions; NULL: all */
    size_t n_only;
} ack_filter;

/* Collects, for every assigned and stored partition passing the filter, an
 * acknowledgement to record: acked(ctx, p) (the sink's prefix), capped at
 * what is decided, when it is beyond what is saved. Returns how many it put
 * in out (at most cap). A lane records only its own partitions: two lanes
 * updating each other's position rows could deadlock. */
size_t partition_table_collect_acks(const partition_table *t, const ack_filter *filter,
                                    int64_t (*acked)(void *ctx, int32_t partition), void *ctx, store_ack *out,
                                    size_t cap);

/* Records acknowledgements as saved. */
void partition_table_saved(partition_table *t, const store_ack *acks, size_t n);

#endif

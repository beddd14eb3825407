/* ol_metrics: the consumer's counters, histograms and per-partition gauges,
 * and their rendering in the Prometheus text exposition format. Pure: the
 * HTTP side lives in consumer/metrics.c. */
#ifndef OL_METRICS_H
#define OL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ol_str.h"

#define OL_HISTOGRAM_MAX_BUCKETS 16
#define OL_METRICS_MAX_PARTITIONS 1024

typedef struct ol_histogram {
    double bounds[OL_HISTOGRAM_MAX_BUCKETS];   /* upper bounds, ascending; +Inf implied */
    uint64_t counts[OL_HISTOGRAM_MAX_BUCKETS]; /* not cumulative */
    size_t n;
    uint64_t count;
    double sum;
} ol_histogram;

void ol_histogram_init(ol_histogram *h, const double *bounds, size_t n);
void ol_histogram_observe(ol_histogram *h, double value);
/* Appends h in the Prometheus text format under name, with its HELP line. */
bool ol_histogram_render(ol_buf *out, const char *name, const char *help, const ol_histogram *h);

typedef struct ol_metrics_partition {
    int32_t partition;
    int64_t decided;        /* stored next_offset */
    int64_t acked;          /* stored results_offset */
    int64_t high_watermark; /* -1 unknown */
} ol_metrics_partition;

typedef struct ol_metrics {
    /* Answers, by outcome. */
    uint64_t accepted;
    uint64_t rejected_insufficient_stock;
    uint64_t rejected_unknown_item;
    uint64_t rejected_invalid;     /* invalid messages with an order_id, overflowing restocks */
    uint64_t held;                 /* orders answered held */
    uint64_t rejected_followup[6]; /* follow-ups refused, by reason: not_held .. already_cancelled */
    uint64_t expires_sent;         /* expires appended for holds past their deadline */
    int64_t holds_overdue;         /* open holds past their deadline + 5 s, at the last scan */
    uint64_t duplicates;
    uint64_t replayed; /* answers published again after a restart */
    uint64_t dlq;
    uint64_t misrouted;
    uint64_t fenced;
    uint64_t plan_gaps; /* batches refused: they would have skipped offsets */
    uint64_t retries;
    uint64_t postgres_errors;
    uint64_t kafka_errors;
    uint64_t kafka_unconfirmed;   /* delivery reports without an offset, re-sent */
    uint64_t partitions_assigned; /* partitions received in rebalances */
    uint64_t partitions_revoked;  /* handed over cleanly */
    uint64_t partitions_lost;     /* taken away without a handover */
    uint64_t postgres_reconnects; /* connections re-established after a loss */
    ol_histogram batch_size;
    ol_histogram batch_seconds;
    ol_metrics_partition partitions[OL_METRICS_MAX_PARTITIONS];
    size_t n_partitions;
    bool db_connected;
    bool consuming;
    bool group_member; /* the group coordinator knows this process now */
} ol_metrics;

/* Zeroes everything and sets the histogram buckets. */
void ol_metrics_init(ol_metrics *m);

/* Appends the Prometheus text exposition of m. False on OOM. */
bool ol_metrics_render(const ol_metrics *m, const char *topic, ol_buf *out);

#endif

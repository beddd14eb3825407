/* The pipeline's own state, shared by its two files only: pipeline.c (the
 * loop: collect, advance the lanes, publish, chores) and rebalance.c (what
 * assignment changes, fences and lost connections do to the partitions).
 * Nothing else includes this. */
#ifndef CONSUMER_PIPELINE_STATE_H
#define CONSUMER_PIPELINE_STATE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "batch.h"
#include "expiry.h"
#include "lanes.h"
#include "metrics.h"
#include "ol_decider.h"
#include "ol_map.h"
#include "ol_metrics.h"
#include "partitions.h"
#include "pipeline.h"
#include "probes.h"
#include "sink.h"
#include "source.h"
#include "store.h"

#define MAX_LANES ORDER_SOURCE_MAX_LANES

struct order_pipeline {
    const consumer_settings *settings;
    volatile sig_atomic_t *stop;
    order_store *admin; /* positions, idle acknowledgements, health pings: never in flight */
    lane lanes[MAX_LANES];
    size_t n_lanes;
    lane_env env; /* what the lanes share */
    result_sink *sink;
    order_source *source;
    ol_decider *decider;
    hold_expiry *expiry;      /* which open holds past their deadline get an expire */
    int64_t holds_scanned_ms; /* the last scan of the open holds */
    ol_map *dedup;            /* scratch: distinct items / order_ids of a batch */
    ol_map *overlap;          /* scratch: items of the lanes' batches in one round */
    partition_table parts;
    int32_t topic_partitions; /* for misrouting checks; 0 unknown */

    size_t batch_cap;             /* messages per batch, per lane (--batch-max) */
    rd_kafka_message_t **fetched; /* scratch for collect, batch_cap long */
    rd_kafka_message_t *stray;    /* from the consumer queue, its lane was full */
    int64_t stray_prev;           /* what partition_table_accept said of it */
    store_ack *acks;              /* scratch for save_acks */
    size_t acks_cap;
    ack_span **spans; /* scratch for publish(), per partition */
    int64_t *span_ends;
    size_t spans_cap;

    probes probes;
    ol_metrics *metrics;    /* working copy, published every METRICS_EVERY_MS */
    consumer_metrics *http; /* NULL without --metrics-addr */
    int64_t metrics_published_ms;
    int64_t db_checked_ms; /* last time PostgreSQL was used or pinged */

    bool ever_assigned; /* joined the group (for /healthz), perhaps with no partition */
    bool ever_owned;    /* has had a partition: --idle-exit may apply */
    bool resync_needed; /* positions in doubt after a lost connection */
    bool stopped;       /* order_pipeline_stop has run */
    /* A batch that failed inside a rebalance callback, which cannot return
     * an error: its lane's batch is FAILED and this says why; the loop
     * returns it as soon as the callback is over. */
    char callback_error[1024];
    int64_t started_ms;
    int64_t last_message_ms;
    int64_t last_report_ms;
};

/* pipeline.c */
/* True while some lane has a commit in flight. */
bool pipeline_any_in_flight(const order_pipeline *pl);
/* Settles a lane's batch in flight and publishes its answers. */
lane_result pipeline_finish_lane(order_pipeline *pl, lane *ln, char *err, size_t errlen);

/* rebalance.c */
void pipeline_on_assign(void *pl, rd_kafka_topic_partition_list_t *list);
void pipeline_on_revoke(void *pl, const rd_kafka_topic_partition_list_t *list, bool lost);
/* Drops collected messages of the given partitions (all when NULL) that no
 * transaction has started on; a begun batch is left to its own fence. */
void pipeline_drop_collected(order_pipeline *pl, const rd_kafka_topic_partition_list_t *only);
/* What a fence or a lost connection on one lane means for all of them. */
void pipeline_react(order_pipeline *pl, lane *ln, lane_result r, const char *why);
/* Re-reads every assigned partition's position and seeks to it. */
bool pipeline_resync(order_pipeline *pl);
/* Takes back partitions given up after a fence, once the backoff passed. */
void pipeline_reclaim_fenced(order_pipeline *pl);
/* Reconnects one connection with backoff until it works or stop is set. */
bool pipeline_reconnect(order_pipeline *pl, order_store *store);
/* Records acknowledged answers of the given partitions (all when NULL)
 * outside a batch; nothing while a batch is in flight (it carries them). */
void pipeline_save_acks(order_pipeline *pl, const rd_kafka_topic_partition_list_t *only);

#endif

/* lane: one PostgreSQL connection and the partitions p with
 * p % n_lanes == its index, so lanes never touch each other's position rows
 * and their transactions run on separate backends in parallel. A lane keeps
 * one batch collecting and one whose commit is in flight, drives them
 * through the store's round trips, and publishes a committed batch's
 * answers (publish.c). A conflict is retried through the loop, never by
 * sleeping in it: the rolled-back batch waits, PLANNED, until its retry
 * time, and goes first. A lane reports what the store said; rebalance.c
 * decides what a fence or a lost connection means for the other lanes, so
 * a lane never calls back up.
 *
 * Ownership: a lane owns its store and batches; the lane_env it is given is
 * borrowed and must outlive it. */
#ifndef CONSUMER_LANES_H
#define CONSUMER_LANES_H

#include <stdbool.h>
#include <stddef.h>

#include "batch.h"
#include "partitions.h"
#include "probes.h"
#include "publish.h"
#include "sink.h"
#include "store.h"

/* What the lanes share, owned by the pipeline. */
typedef struct lane_env {
    ol_decider *decider; /* scratch of one batch at a time */
    partition_table *parts;
    result_sink *sink; /* for the acknowledged prefixes */
    publisher *pub;
    ol_metrics *metrics;
    probes *probes;
    size_t n_lanes;
} lane_env;

typedef struct lane {
    size_t index;
    order_store *store;
    batch slots[2];
    batch *collecting; /* EMPTY, COLLECTING, PARSED or PLANNED */
    batch *flight;     /* COMMITTING while a commit is in flight; PLANNED while it waits to be retried */
    const lane_env *env;
} lane;

typedef enum {
    LANE_OK,
    LANE_FENCED, /* another process moved a position: the batch was rolled back and dropped */
    LANE_BROKEN, /* the connection was lost: the batch was dropped, its outcome unknown */
    LANE_FAILED  /* retries exhausted or out of memory: the process must stop */
} lane_result;

bool lane_init(lane *ln, size_t index, const char *db, const char *topic, size_t batch_cap, size_t acks_cap,
               const lane_env *env, char *err, size_t errlen);
/* Frees; a lane never initialised (zeroed) is accepted. */
void lane_free(lane *ln);

bool lane_in_flight(const lane *ln);
/* True when some lane of the n has a commit in flight. */
bool lanes_any_in_flight(const lane *lanes, size_t n);

/* The batch to plan and start this round: a rolled-back batch once its
 * retry time (monotonic ms) has come, else the collecting one when it holds
 * messages; NULL when there is none or the retry must wait. */
batch *lane_next(lane *ln, int64_t now_ms);
/* The earliest retry time of the lane's rolled-back batch; -1 when none. */
int64_t lane_retry_at(const lane *ln);
/* Drops the messages of the given partitions (all when only is NULL) from
 * both of the lane's batches where no round trip is out. */
void lane_drop(lane *ln, const int32_t *only, size_t n_only);

/* Sends round trip 1 of the planned batch b (this lane's collecting one);
 * from here until lane_start reads the answer nothing may drop it. The
 * outcome of the send is passed on to lane_start. */
store_status lane_send_begin(lane *ln, batch *b, char *why, size_t whylen);

/* Reads round trip 1 (sent with outcome sent), decides, and sends round trip
 * 2 without waiting. On LANE_OK b is the lane's batch in flight, or, after a
 * conflict, PLANNED again with its retry time set (lane_next returns it
 * when due); past the attempts' limit, LANE_FAILED. */
lane_result lane_start(lane *ln, batch *b, store_status sent, char *why, size_t whylen, char *err, size_t errlen);

/* Reads the outcome of the commit in flight. On LANE_OK with *committed,
 * the partitions have advanced and the batch (ln->flight) is COMMITTED, its
 * answers to be published (lane_publish); after a conflict it is PLANNED
 * again, to be retried. */
lane_result lane_settle(lane *ln, bool *committed, char *why, size_t whylen, char *err, size_t errlen);

/* Publishes the committed batch in flight; false (err) when it could not. */
bool lane_publish(lane *ln, char *err, size_t errlen);

/* Settles the commit in flight, if any, and publishes its answers. */
lane_result lane_finish(lane *ln, bool *committed, char *why, size_t whylen, char *err, size_t errlen);

#endif

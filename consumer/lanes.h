/* lane: one PostgreSQL connection and the partitions p with
 * p % n_lanes == its index, so lanes never touch each other's position rows
 * and their transactions run on separate backends in parallel. A lane keeps
 * one batch collecting and one whose commit is in flight, and drives them
 * through the store's round trips. It reports what the store said; the
 * pipeline decides what a fence or a lost connection means for the other
 * lanes, so a lane never calls back up.
 *
 * Ownership: a lane owns its store and batches; the lane_env it is given is
 * borrowed and must outlive it. */
#ifndef CONSUMER_LANES_H
#define CONSUMER_LANES_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "batch.h"
#include "partitions.h"
#include "probes.h"
#include "sink.h"
#include "store.h"

/* What the lanes share, owned by the pipeline. */
typedef struct lane_env {
    ol_decider *decider; /* scratch of one batch at a time */
    partition_table *parts;
    result_sink *sink; /* for the acknowledged prefixes */
    ol_metrics *metrics;
    probes *probes;
    size_t n_lanes;
} lane_env;

typedef struct lane {
    size_t index;
    order_store *store;
    batch slots[2];
    batch *collecting; /* EMPTY, COLLECTING, PARSED or PLANNED */
    batch *flight;     /* COMMITTING while a commit is in flight */
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

/* Sends round trip 1 of the planned batch b (this lane's collecting one);
 * from here until lane_start reads the answer nothing may drop it. The
 * outcome of the send is passed on to lane_start. */
store_status lane_send_begin(lane *ln, batch *b, char *why, size_t whylen);

/* Reads round trip 1 (sent with outcome sent), decides, and sends round trip
 * 2 without waiting; conflicts are retried from round trip 1 up to a limit.
 * On LANE_OK b is the lane's batch in flight. stop ends retrying (the batch
 * is dropped: LANE_OK with nothing in flight). */
lane_result lane_start(lane *ln, batch *b, store_status sent, char *why, size_t whylen, volatile sig_atomic_t *stop,
                       char *err, size_t errlen);

/* Reads the outcome of the commit in flight; a conflict is retried from
 * round trip 1. On LANE_OK with *committed, the partitions have advanced
 * and the batch (ln->flight) is COMMITTED, its answers to be published. */
lane_result lane_settle(lane *ln, bool *committed, char *why, size_t whylen, volatile sig_atomic_t *stop, char *err,
                        size_t errlen);

#endif

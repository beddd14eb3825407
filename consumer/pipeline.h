/* order_pipeline: the consumer's main loop. Joins the Kafka side
 * (order_source, result_sink) and the PostgreSQL side (order_store) through
 * the decider:
 *
 *   collect a batch (count or linger bound) -> parse and validate ->
 *   store round trip 1 (fence, lock, load) -> decide in memory ->
 *   store round trip 2 (write, commit) -> publish answers -> track acks.
 *
 * Answers are published only after their batch commits. Each partition's
 * stored results_offset advances only over answers Kafka acknowledged, so a
 * crash republishes exactly the unacknowledged suffix, unchanged.
 *
 * Partitions are split into lanes (--db-connections), each with its own
 * PostgreSQL connection and its own batch in flight, so that one lane's
 * commit runs on the server while the loop collects, parses, publishes and
 * starts the others. Lanes never share position rows; shared items (only
 * with misrouted producers) are locked in name order, so they cannot
 * deadlock. */
#ifndef ORDER_PIPELINE_H
#define ORDER_PIPELINE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "settings.h"

typedef struct order_pipeline order_pipeline;

/* Connects both sides, applies migrations, creates missing topics and joins
 * the group. stop is the process's run flag (set from a signal handler). */
order_pipeline *order_pipeline_new(const consumer_settings *settings, volatile sig_atomic_t *stop, char *err,
                                   size_t errlen);
/* Runs until *stop is set or, with --idle-exit, until nothing new arrived
 * for that long. True on a clean stop; false with err on a fatal error.
 * Either way, order_pipeline_stop follows. */
bool order_pipeline_run(order_pipeline *pipeline, char *err, size_t errlen);

/* Settles the batches in flight and publishes their answers, leaves the
 * group, flushes answers and records their acknowledgements. False with
 * err when a batch could not be settled or published (its answers are then
 * published again after a restart). Runs once; later calls return true. */
bool order_pipeline_stop(order_pipeline *pipeline, char *err, size_t errlen);

/* Only frees: call order_pipeline_stop first to leave cleanly. NULL is
 * accepted. */
void order_pipeline_destroy(order_pipeline *pipeline);

/* Writes the counters as /metrics shows them (Prometheus text) to path,
 * replacing it whole (written aside, then renamed): the machine-readable
 * account of a run, for tests and scripts. */
bool order_pipeline_write_stats(order_pipeline *pipeline, const char *path, char *err, size_t errlen);

#endif

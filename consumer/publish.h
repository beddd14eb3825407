/* publisher: sends a committed batch's answers (and its invalid messages'
 * DLQ copies) to the sink, in log order, each under its partition's
 * acknowledgement span, and counts them. Used by the lanes only; below
 * them it knows nothing but the batch, the sink and the metrics.
 *
 * Ownership: sink and metrics are borrowed and must outlive it. */
#ifndef CONSUMER_PUBLISH_H
#define CONSUMER_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>

#include "batch.h"
#include "ol_metrics.h"
#include "sink.h"

typedef struct publisher publisher;

/* NULL on OOM. */
publisher *publisher_new(result_sink *sink, ol_metrics *metrics);
/* NULL is accepted. */
void publisher_destroy(publisher *pub);

/* Publishes every answer of the COMMITTED batch b, whose partitions are all
 * below n_partitions, then releases it (EMPTY). Works from the batch alone:
 * the partitions' scratch fields may already describe the next batch. On
 * false (err says why) the batch is FAILED: its answers are published again
 * after the restart. */
bool publisher_publish(publisher *pub, batch *b, size_t n_partitions, char *err, size_t errlen);

#endif

/* rebalancer: what assignment changes, fences and lost connections do to
 * the partitions. It owns the partition table and the fence and resync
 * state; positions are read from PostgreSQL (never from Kafka's committed
 * offsets), commits in flight are settled before a partition is taken or let
 * go, and collected messages of partitions no longer ours are dropped.
 *
 * It sits between the loop (pipeline.c) and the lanes: the loop calls it,
 * it calls the lanes, the store, the sink and the source, never back up.
 * Inside librdkafka's rebalance callbacks it does only what cannot wait
 * (settle, read positions once, set start offsets, drop); what a fence or a
 * lost connection found there means is recorded, and acted on by
 * rebalance_after_poll once the callback has returned.
 *
 * Ownership: everything in rebalance_env is borrowed and must outlive it. */
#ifndef CONSUMER_REBALANCE_H
#define CONSUMER_REBALANCE_H

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lanes.h"
#include "ol_metrics.h"
#include "partitions.h"
#include "sink.h"
#include "source.h"
#include "store.h"

typedef struct rebalance_env {
    volatile sig_atomic_t *stop;
    lane *lanes;
    size_t n_lanes;
    order_store *admin; /* positions and acknowledgements outside batches: never in flight */
    result_sink *sink;
    ol_metrics *metrics;
} rebalance_env;

typedef struct rebalancer rebalancer;

/* NULL on OOM. */
rebalancer *rebalancer_new(const rebalance_env *env);
/* NULL is accepted. */
void rebalancer_destroy(rebalancer *rb);
/* The source it seeks, pauses and asks (created after, with the listener). */
void rebalancer_set_source(rebalancer *rb, order_source *source);
/* The listener the source is created with: its callbacks run in here. */
order_source_listener rebalancer_listener(rebalancer *rb);

/* The table the lanes plan and commit against (owned by rb). */
partition_table *rebalancer_table(rebalancer *rb);

/* A fetched message: false when its partition is not ours or it is stale;
 * else *stream_prev as partition_table_accept says. */
bool rebalancer_accept(rebalancer *rb, int32_t partition, int64_t offset, int64_t *stream_prev);
/* Changes every time fetch positions may have moved (a seek, an
 * assignment, a revoke, a drop): a message accepted under an older
 * generation and held outside the batches must be dropped. */
uint64_t rebalancer_generation(const rebalancer *rb);

/* What a lane's round trip said, for all lanes: a fence gives up every
 * partition for a while; a lost connection reconnects and re-reads every
 * position. Loop context only. */
void rebalancer_react(rebalancer *rb, lane *ln, lane_result r, const char *why);
/* After the source's poll: acts on what the callbacks recorded. False
 * (err) when one of them met an error the process cannot go on with. */
bool rebalancer_after_poll(rebalancer *rb, char *err, size_t errlen);
/* True (err) when a callback met an error the process cannot go on with;
 * each is reported once. Acts on nothing: usable after the group is left. */
bool rebalancer_failed(rebalancer *rb, char *err, size_t errlen);
/* A batch would have skipped offsets: re-read positions before the next. */
void rebalancer_request_resync(rebalancer *rb);
/* True while positions are in doubt: nothing may be planned. */
bool rebalancer_resync_pending(const rebalancer *rb);
/* Re-reads every assigned partition's position and seeks to it, when due
 * and nothing is in flight: one attempt, retried from the loop with backoff. */
void rebalancer_resync(rebalancer *rb);
/* Takes back partitions given up after a fence, once the backoff passed. */
void rebalancer_reclaim_fenced(rebalancer *rb);
/* Records acknowledged answers of the given partitions (all when NULL)
 * outside a batch; nothing while a batch is in flight (it carries them). */
void rebalancer_save_acks(rebalancer *rb, const rd_kafka_topic_partition_list_t *only);
/* Reconnects one connection with backoff until it works or stop is set. */
bool rebalancer_reconnect(rebalancer *rb, order_store *store);

/* The partitions owned now, at most cap of them, into out; how many. */
size_t rebalancer_owned(const rebalancer *rb, int32_t *out, size_t cap);
/* Joined the group (perhaps with no partition). */
bool rebalancer_ever_assigned(const rebalancer *rb);
/* Has had a partition: --idle-exit may apply. */
bool rebalancer_ever_owned(const rebalancer *rb);
/* When partitions last arrived (monotonic ms; 0 never): --idle-exit counts
 * from there too, as their messages have not arrived yet. */
int64_t rebalancer_assigned_ms(const rebalancer *rb);
/* At the stop, after the group was left and nothing is in flight: records
 * the acknowledgements of every stored partition, owned or not any more. */
void rebalancer_save_final_acks(rebalancer *rb);

#endif

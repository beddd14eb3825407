/* batch: one batch of order messages on its way through a transaction, with
 * an explicit state and one function that changes it. Pure: it parses,
 * plans, decides and classifies; lanes.c drives PostgreSQL and the pipeline
 * publishes, and both report what happened as events.
 *
 *   EMPTY --add--> COLLECTING --parse--> PARSED --plan--> PLANNED
 *   PLANNED --send_begin--> BEGUN --read_begin--> LOCKED
 *   LOCKED --send_commit--> COMMITTING --read_commit--> COMMITTED
 *   COMMITTED --published--> EMPTY
 *   BEGUN, LOCKED, COMMITTING --retry--> PLANNED (rolled back; the plan stands)
 *   any but COMMITTED, FAILED --abandon--> EMPTY (every message dropped)
 *   any --fail--> FAILED (the process must stop)
 *
 * Adding a message to a PARSED or PLANNED batch makes it COLLECTING again;
 * dropping messages (a rebalance) is allowed only before round trip 1 is
 * sent: a begun batch is left to finish, and its own fence decides whether
 * it may commit.
 *
 * Ownership: the batch owns its messages from batch_add until they are
 * handed to the release function given to batch_init. */
#ifndef CONSUMER_BATCH_H
#define CONSUMER_BATCH_H

#include <librdkafka/rdkafka.h> /* the message struct only: no calls */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ol_decider.h"
#include "ol_map.h"
#include "ol_metrics.h"
#include "ol_order.h"
#include "ol_result.h"
#include "ol_str.h"
#include "partitions.h"
#include "store.h"

typedef enum batch_state {
    BATCH_EMPTY,
    BATCH_COLLECTING, /* messages not all parsed */
    BATCH_PARSED,
    BATCH_PLANNED,    /* its transaction planned from the positions */
    BATCH_BEGUN,      /* round trip 1 sent, not read: must not be dropped */
    BATCH_LOCKED,     /* round trip 1 read: the transaction is open */
    BATCH_COMMITTING, /* round trip 2 sent: the commit is in flight */
    BATCH_COMMITTED,  /* committed: its answers are to be published */
    BATCH_FAILED,
    BATCH_STATE_COUNT
} batch_state;

typedef enum batch_event {
    BATCH_EV_ADD,
    BATCH_EV_PARSE,
    BATCH_EV_PLAN,
    BATCH_EV_SEND_BEGIN,
    BATCH_EV_READ_BEGIN,
    BATCH_EV_SEND_COMMIT,
    BATCH_EV_READ_COMMIT,
    BATCH_EV_PUBLISHED,
    BATCH_EV_RETRY,
    BATCH_EV_DROP, /* some or all messages dropped */
    BATCH_EV_ABANDON,
    BATCH_EV_FAIL,
    BATCH_EVENT_COUNT
} batch_event;

typedef struct batch_entry {
    rd_kafka_message_t *msg;
    int64_t stream_prev; /* the fetch shows no message in [stream_prev, offset) */
    bool valid;
    bool replay;     /* below the stored position: already decided */
    bool misrouted;  /* not in the partition murmur2 assigns its key */
    bool unrecorded; /* replay, yet no decision in the ledger: not answered */
    ol_order order;
    bool answered;    /* result holds the answer to publish */
    ol_result result; /* an invalid message's error is parsed into result.error: no second buffer per entry */
} batch_entry;

typedef void (*batch_release_fn)(rd_kafka_message_t *msg);
/* A message's log timestamp in ms (librdkafka's accessor, in the consumer),
 * or negative when it has none. */
typedef int64_t (*batch_timestamp_fn)(const rd_kafka_message_t *msg);

typedef struct batch {
    batch_state state;
    batch_entry *entries;
    size_t len, cap, n_parsed;
    batch_release_fn release;
    batch_timestamp_fn timestamp; /* NULL: every message counts as logged at the decision's time */
    /* The plan: what round trip 1 locks, looks up and advances. */
    const char **items;
    size_t n_items;
    const char **order_ids;
    size_t n_ids;
    store_advance *advances;
    size_t n_adv;
    store_ack *acks; /* recorded in its transaction */
    size_t n_acks, acks_cap;
    const ol_result **decisions; /* new decisions, into the ledger */
    size_t n_new;
    int attempts;                                 /* rolled back and retried */
    int64_t retry_at_ms;                          /* rolled back: not before then (monotonic ms) */
    int64_t t_start, t_locked, t_decided, t_sent; /* us, for the debug timing line */
} batch;

const char *batch_state_name(batch_state s);
/* The state ev leads to from s; BATCH_STATE_COUNT when ev is not allowed
 * there. after_len: how many messages the batch holds after the event
 * (a drop that leaves none empties it). */
batch_state batch_next_state(batch_state s, batch_event ev, size_t after_len);
/* The one place a batch changes state. False, state unchanged, when ev is
 * not allowed in its state: a bug in the caller. */
bool batch_transition(batch *b, batch_event ev);

/* Allocates room for cap messages and acks_cap acknowledgements. */
bool batch_init(batch *b, size_t cap, size_t acks_cap, batch_release_fn release);
/* Where holds' deadlines and expires' validity are counted from. */
void batch_set_timestamps(batch *b, batch_timestamp_fn timestamp);
/* Releases its messages and frees. */
void batch_free(batch *b);

bool batch_full(const batch *b);
/* Adds a message (the batch must have room and not be past PLANNED), with
 * what partition_table_accept said of it. */
bool batch_add(batch *b, rd_kafka_message_t *msg, int64_t stream_prev);
/* Drops the messages of the given partitions (all when only is NULL). False
 * when the batch's round trip 1 is sent: it must finish first. */
bool batch_drop(batch *b, const int32_t *only, size_t n_only);
/* Releases every message, back to EMPTY: the store rolled the batch back
 * for good. False, nothing released, for a COMMITTED batch (its answers are
 * due) or a FAILED one (the process stops; batch_free releases). */
bool batch_abandon(batch *b);

/* After its answers went to the sink: releases the messages; EMPTY. */
bool batch_published(batch *b);

/* Parses and validates the messages not yet parsed. */
bool batch_parse(batch *b);

typedef enum batch_plan_result {
    BATCH_PLAN_OK,
    BATCH_PLAN_OOM,
    /* A partition's first new message does not follow its stored position,
     * and the fetch does not show the offsets in between to be empty:
     * planning it would skip them. The batch is left as it was. */
    BATCH_PLAN_GAP
} batch_plan_result;

/* Where a refused plan would have skipped offsets. */
typedef struct batch_gap {
    int32_t partition;
    int64_t decided;     /* the stored position */
    int64_t first_new;   /* the batch's first offset at or past it */
    int64_t stream_prev; /* where the fetch vouches from: past decided */
} batch_gap;

/* Plans the transaction from the partitions' positions: which messages are
 * re-reads of decided ones, which items to lock, which order_ids to look
 * up, which positions to advance. topic_partitions > 0 marks entries whose
 * key murmur2 puts elsewhere (misrouted). dedup is scratch. On
 * BATCH_PLAN_GAP, gap (if not NULL) says where. */
batch_plan_result batch_plan(batch *b, partition_table *t, ol_map *dedup, int32_t topic_partitions, batch_gap *gap);

/* Decides every message in log order with the decider loaded by round trip
 * 1; collects the new decisions. False on OOM. */
bool batch_decide(batch *b, ol_decider *decider, int64_t now_us);

/* Counts one published entry in the metrics: its DLQ copy and its answer. */
void batch_count_answer(const batch_entry *e, ol_metrics *m);

/* The highest offset + 1 of each partition in the batch, into ends (indexed
 * by partition, n long, -1 where absent). */
void batch_span_ends(const batch *b, int64_t *ends, size_t n);

#endif

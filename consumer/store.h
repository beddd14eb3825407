/* order_store: the consumer's PostgreSQL side. It knows SQL and nothing of
 * Kafka; the pipeline hands it partitions, offsets, items and decisions.
 *
 * One batch is one transaction in two round trips (libpq pipeline mode):
 *   1. BEGIN; advance each partition's stored position, fenced on the value
 *      this process expects (a zombie's batch fails here); record result
 *      acknowledgements; lock the batch's items (sorted, FOR UPDATE); read
 *      earlier decisions for the batch's order_ids.
 *   2. insert the new decisions; write the new stock; create new items;
 *      COMMIT.
 * Between the two the pipeline decides in memory. */
#ifndef ORDER_STORE_H
#define ORDER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ol_decider.h"
#include "ol_result.h"

typedef enum {
    STORE_OK,
    STORE_FENCED, /* a stored position was not what we expected: rolled back */
    STORE_RETRY,  /* transient conflict (deadlock, unique race): rolled back */
    STORE_BROKEN, /* connection lost: reconnect, then re-read positions */
    STORE_FATAL   /* out of memory: nothing was committed; retrying would not help, stop */
} store_status;

typedef struct store_position {
    int32_t partition;
    bool stored; /* false: no row yet, start from the beginning */
    int64_t next_offset;
    int64_t results_offset;
} store_position;

typedef struct store_advance {
    int32_t partition;
    bool stored;          /* a row exists and holds expected */
    int64_t expected;     /* next_offset this process started the batch from */
    int64_t first_offset; /* first offset in the batch (new rows' results_offset) */
    int64_t new_next;     /* next_offset after this batch */
} store_advance;

typedef struct store_ack {
    int32_t partition;
    int64_t results_offset;
} store_ack;

typedef struct store_hold {
    char order_id[OL_ORDER_ID_MAX + 1];
    char item[OL_ITEM_MAX + 1];
    bool overdue; /* past its deadline by more than the slack asked for */
} store_hold;

typedef struct order_store order_store;

/* Connects, applies migrations. topic is the orders topic. */
order_store *order_store_new(const char *conninfo, const char *topic, char *err, size_t errlen);
void order_store_destroy(order_store *store);

/* Drops the connection and connects again. */
bool order_store_reconnect(order_store *store, char *err, size_t errlen);
bool order_store_connected(const order_store *store);

/* Reads stored positions for the given partitions into out[i]. */
store_status order_store_load_positions(order_store *store, const int32_t *partitions, size_t n, store_position *out,
                                        char *err, size_t errlen);

/* Round trip 1, first half: sends BEGIN, the fenced position advances,
 * result acknowledgements, the item locks and the decision lookups without
 * waiting. Nothing else may use the store until order_store_finish_begin.
 * Anything but OK has rolled back. */
store_status order_store_send_begin(order_store *store, const store_advance *advances, size_t n_advances,
                                    const store_ack *acks, size_t n_acks, const char *const *items, size_t n_items,
                                    const char *const *order_ids, size_t n_order_ids, char *err, size_t errlen);

/* Round trip 1, second half. On STORE_OK the transaction is open, the
 * decider holds the stock of every item (exists or not) and every earlier
 * decision for the order_ids; *fenced_partition is set on STORE_FENCED.
 * Anything but OK has already rolled back. */
store_status order_store_finish_begin(order_store *store, ol_decider *decider, int32_t *fenced_partition, char *err,
                                      size_t errlen);

/* Round trip 2, first half: sends the new decisions, the decider's changed
 * stock, new items and COMMIT without waiting, so the caller can work on
 * the next batch while PostgreSQL writes. Nothing else may use the store
 * until order_store_finish_commit. Anything but OK has rolled back. */
store_status order_store_send_commit(order_store *store, const ol_result *const *decisions, size_t n,
                                     const ol_decider *decider, char *err, size_t errlen);

/* Round trip 2, second half: waits for the outcome. Anything but OK has
 * rolled back (or lost the connection: the outcome is then unknown and the
 * caller must re-read positions). */
store_status order_store_finish_commit(order_store *store, char *err, size_t errlen);

/* Checks the connection with a trivial query (idle health check). */
store_status order_store_ping(order_store *store, char *err, size_t errlen);

/* The holds of these partitions still open at now_us (not confirmed,
 * cancelled or expired) whose deadline has passed, soonest first, at most
 * cap of them into out (*n_out). Outside a batch. */
store_status order_store_open_holds(order_store *store, const int32_t *partitions, size_t n, int64_t now_us,
                                    int64_t slack_us, store_hold *out, size_t cap, size_t *n_out, char *err,
                                    size_t errlen);

/* Records result acknowledgements outside a batch (idle time, shutdown). */
store_status order_store_save_acks(order_store *store, const store_ack *acks, size_t n, char *err, size_t errlen);

#endif

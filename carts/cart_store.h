/* cart_store: order-carts' ledger in PostgreSQL (migration 004): positions
 * on the carts topic, the carts, the decided messages with their answers,
 * and the outbox. One connection; the coordinator owns the store.
 *
 * A batch is one transaction in two round trips (libpq's pipeline mode):
 * cart_store_open_batch sends BEGIN, the fence of the partitions it
 * advances and its reads together; the batch is decided in memory; then
 * cart_store_write_commit sends its writes and COMMIT together. A fence that
 * finds another position means another coordinator took the partition: the
 * batch is rolled back and nothing of it counts. */
#ifndef CART_STORE_H
#define CART_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cart_engine.h"

typedef enum {
    CART_STORE_OK,
    CART_STORE_FENCED, /* the position was not the one expected */
    CART_STORE_RETRY,  /* the connection or the transaction failed; reconnect and re-read */
    CART_STORE_BROKEN  /* anything else: a fault to report */
} cart_store_status;

typedef struct cart_store cart_store;

/* Connects, applies the migrations and prepares the statements. topic is
 * the carts topic, as the positions and rows name it. NULL on error. */
cart_store *cart_store_new(const char *conninfo, const char *topic, char *err, size_t errlen);
void cart_store_destroy(cart_store *s);
/* Drops the connection and makes a new one (after CART_STORE_RETRY). */
cart_store_status cart_store_reconnect(cart_store *s, char *err, size_t errlen);

/* next[i] = the next offset to decide of partitions[i]; a partition never
 * seen gets a row at 0 (the topic's start). */
cart_store_status cart_store_positions(cart_store *s, const int32_t *partitions, size_t n, int64_t *next, char *err,
                                       size_t errlen);

/* Rolls back the transaction a batch left open, if any. */
void cart_store_rollback(cart_store *s);

typedef enum { CART_OUT_ORDERS, CART_OUT_RESULTS } cart_out_topic;

/* For each row found: on_cart(opaque, rec) with rec->exists; on_answer
 * (opaque, order_id, answer). False from a callback stops with BROKEN. */
typedef bool (*cart_store_cart_fn)(void *opaque, const cart_record *rec);
typedef bool (*cart_store_answer_fn)(void *opaque, const char *order_id, const char *answer);

/* A batch's first round trip: the fence moves each of n_fence partitions
 * from expected[i] to next[i]; the reads find every cart and every answer
 * the batch names. */
typedef struct cart_store_batch {
    const int32_t *partitions;
    const int64_t *expected, *next;
    size_t n_fence;
    const char *const *cart_ids;
    size_t n_carts;
    const char *const *order_ids;
    size_t n_orders;
    cart_store_cart_fn on_cart;
    cart_store_answer_fn on_answer;
    void *opaque;
} cart_store_batch;

/* BEGIN, the fence and the reads in one round trip. The fence is checked
 * before any row reaches a callback: CART_STORE_FENCED (err names a
 * partition that had moved on) calls none. On OK the transaction is open
 * for cart_store_write_commit; on anything else it is rolled back, and the
 * connection is usable again or the status is RETRY. */
cart_store_status cart_store_open_batch(cart_store *s, const cart_store_batch *b, char *err, size_t errlen);

/* Writes are staged, then go in three statements (carts, cart_messages,
 * cart_outbox) with COMMIT in one round trip. Each cart once per batch (the
 * batch's last state of it). */
bool cart_store_stage_cart(cart_store *s, const cart_record *rec);
bool cart_store_stage_answer(cart_store *s, const cart_answer *a, const char *cart_id, int32_t partition,
                             int64_t offset, const char *json);
bool cart_store_stage_outbox(cart_store *s, int32_t partition, cart_out_topic topic, const char *key,
                             const char *value);
/* On OK the batch is committed and its outbox rows carry their ids (see
 * cart_store_committed_outbox); otherwise it is rolled back as above. */
cart_store_status cart_store_write_commit(cart_store *s, char *err, size_t errlen);
/* Forgets what is staged, the committed batch's outbox rows included. */
void cart_store_unstage(cart_store *s);

typedef struct cart_outbox_row {
    int64_t id;
    int32_t partition; /* the carts partition that decided it */
    cart_out_topic topic;
    char *key;
    char *value;
} cart_outbox_row;

/* Up to cap rows of these partitions with id > after_id, in id order, into
 * rows (the caller frees each with cart_outbox_row_free). */
cart_store_status cart_store_outbox_read(cart_store *s, const int32_t *partitions, size_t n, int64_t after_id,
                                         cart_outbox_row *rows, size_t cap, size_t *n_rows, char *err, size_t errlen);
cart_store_status cart_store_outbox_delete(cart_store *s, const int64_t *ids, size_t n, char *err, size_t errlen);
void cart_outbox_row_free(cart_outbox_row *row);
/* The outbox rows of the batch just committed, in id order, until
 * cart_store_unstage: sent from here, they need no read of the table. */
const cart_outbox_row *cart_store_committed_outbox(const cart_store *s, size_t *n);

/* Held carts of these partitions whose deadline passed by now_ms: up to
 * cap cart_ids (each OL_CART_ID_MAX + 1 bytes) and their deadlines. */
cart_store_status cart_store_due(cart_store *s, const int32_t *partitions, size_t n, int64_t now_ms,
                                 char (*ids)[OL_CART_ID_MAX + 1], int64_t *deadline_ms, size_t cap, size_t *n_out,
                                 char *err, size_t errlen);

/* The gauges of the partitions given, in one statement: held carts, and
 * held carts whose deadline is before overdue_before_ms. With no
 * partition, both 0: the statement still shows the connection alive. */
typedef struct cart_store_gauge_values {
    int64_t held, overdue;
} cart_store_gauge_values;
cart_store_status cart_store_gauges(cart_store *s, const int32_t *partitions, size_t n, int64_t overdue_before_ms,
                                    cart_store_gauge_values *out, char *err, size_t errlen);
/* The outbox rows of the partitions given. The count visits every row
 * deleted since the last vacuum: for when the caller cannot know. */
cart_store_status cart_store_outbox_count(cart_store *s, const int32_t *partitions, size_t n, int64_t *count, char *err,
                                          size_t errlen);
/* The connection is up, as libpq last saw it. */
bool cart_store_connected(const cart_store *s);

#endif

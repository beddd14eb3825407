/* cart_store: order-carts' ledger in PostgreSQL (migration 004): positions
 * on the carts topic, the carts, the decided messages with their answers,
 * and the outbox. One connection; the coordinator owns the store.
 *
 * A batch is one transaction: cart_store_begin, cart_store_fence of the
 * partitions it advances, then loads and puts, then cart_store_commit. A
 * fence that finds another position means another coordinator took the
 * partition: the batch is rolled back and nothing of it counts. */
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

cart_store_status cart_store_begin(cart_store *s, char *err, size_t errlen);
cart_store_status cart_store_commit(cart_store *s, char *err, size_t errlen);
void cart_store_rollback(cart_store *s);
/* Moves each of the n partitions' positions from expected[i] to next[i]
 * in one statement, or CART_STORE_FENCED (err names a partition that had
 * moved on) when any had another. */
cart_store_status cart_store_fence(cart_store *s, const int32_t *partitions, const int64_t *expected,
                                   const int64_t *next, size_t n, char *err, size_t errlen);

typedef enum { CART_OUT_ORDERS, CART_OUT_RESULTS } cart_out_topic;

/* ---- a batch's reads and writes in a few statements ------------------
 * Reads: every cart and every answer the batch names, in one query each.
 * Writes are staged and go in three statements (carts, cart_messages,
 * cart_outbox) at cart_store_flush, inside the batch's transaction. */

/* For each row found: on_cart(opaque, rec) with rec->exists; on_answer
 * (opaque, order_id, answer). False from a callback stops with BROKEN. */
typedef bool (*cart_store_cart_fn)(void *opaque, const cart_record *rec);
typedef bool (*cart_store_answer_fn)(void *opaque, const char *order_id, const char *answer);
cart_store_status cart_store_load_many(cart_store *s, const char *const *cart_ids, size_t n, cart_store_cart_fn on_cart,
                                       void *opaque, char *err, size_t errlen);
cart_store_status cart_store_answers_many(cart_store *s, const char *const *order_ids, size_t n,
                                          cart_store_answer_fn on_answer, void *opaque, char *err, size_t errlen);
/* Each cart once per flush (the batch's last state of it). */
bool cart_store_stage_cart(cart_store *s, const cart_record *rec);
bool cart_store_stage_answer(cart_store *s, const cart_answer *a, const char *cart_id, int32_t partition,
                             int64_t offset, const char *json);
/* Outbox rows get their ids in the order staged. */
bool cart_store_stage_outbox(cart_store *s, int32_t partition, cart_out_topic topic, const char *key,
                             const char *value);
cart_store_status cart_store_flush(cart_store *s, char *err, size_t errlen);
/* Forgets what is staged (after a rollback). */
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

/* Held carts of these partitions whose deadline passed by now_ms: up to
 * cap cart_ids (each OL_CART_ID_MAX + 1 bytes) and their deadlines. */
cart_store_status cart_store_due(cart_store *s, const int32_t *partitions, size_t n, int64_t now_ms,
                                 char (*ids)[OL_CART_ID_MAX + 1], int64_t *deadline_ms, size_t cap, size_t *n_out,
                                 char *err, size_t errlen);

/* The gauges of the partitions given, in one statement: outbox rows, held
 * carts, and held carts whose deadline is before overdue_before_ms. With no
 * partition, all 0: the statement still shows the connection alive. */
typedef struct cart_store_gauge_values {
    int64_t outbox_pending, held, overdue;
} cart_store_gauge_values;
cart_store_status cart_store_gauges(cart_store *s, const int32_t *partitions, size_t n, int64_t overdue_before_ms,
                                    cart_store_gauge_values *out, char *err, size_t errlen);
/* The connection is up, as libpq last saw it. */
bool cart_store_connected(const cart_store *s);

#endif

/* cart_store: order-carts' ledger in PostgreSQL (migration 004): positions
 * on the carts topic, the carts, the decided messages with their answers,
 * and the outbox. One connection; the coordinator owns the store.
 *
 * A batch is one transaction: cart_store_begin, cart_store_fence for each
 * partition it advances, then loads and puts, then cart_store_commit. A
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
/* Moves partition's position from expected to next, or CART_STORE_FENCED. */
cart_store_status cart_store_fence(cart_store *s, int32_t partition, int64_t expected, int64_t next, char *err,
                                   size_t errlen);

/* *rec from table carts; rec->exists false when there is none. */
cart_store_status cart_store_load(cart_store *s, const char *cart_id, cart_record *rec, char *err, size_t errlen);
cart_store_status cart_store_put(cart_store *s, const cart_record *rec, char *err, size_t errlen);

/* The answer kept for order_id, or *answer NULL when it was never decided.
 * The caller frees *answer. */
cart_store_status cart_store_answer(cart_store *s, const char *order_id, char **answer, char *err, size_t errlen);
cart_store_status cart_store_put_answer(cart_store *s, const cart_answer *a, const char *cart_id, int32_t partition,
                                        int64_t offset, const char *json, char *err, size_t errlen);

typedef enum { CART_OUT_ORDERS, CART_OUT_RESULTS } cart_out_topic;

typedef struct cart_outbox_row {
    int64_t id;
    int32_t partition; /* the carts partition that decided it */
    cart_out_topic topic;
    char *key;
    char *value;
} cart_outbox_row;

cart_store_status cart_store_outbox_add(cart_store *s, int32_t partition, cart_out_topic topic, const char *key,
                                        const char *value, char *err, size_t errlen);
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

#endif

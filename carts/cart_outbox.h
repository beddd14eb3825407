/* cart_outbox: the order in which order-carts hands its outbox rows to
 * librdkafka. Pure.
 *
 * Rows reach librdkafka in id order per carts partition (a batch's rows get
 * their ids in the order staged) by one of two ways:
 *   - the table, read from `after`: at start, after a resync or a
 *     reconnect, after a produce or a delivery that failed;
 *   - a batch's own rows, handed over right after its COMMIT, without
 *     reading them back.
 * The second only while nothing is due from the table: every earlier row
 * of the owned partitions has then been handed over, so none of the batch's
 * rows can overtake an earlier unsent one. Otherwise the batch's rows are in
 * the table too, after the ones due, and the next read sends them. */
#ifndef CART_OUTBOX_H
#define CART_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cart_outbox_cursor {
    int64_t after; /* the highest id handed over since the last reread */
    bool due;      /* rows may be waiting in the table */
} cart_outbox_cursor;

/* Everything the table holds is owed again, from its first row. */
void cart_outbox_reread(cart_outbox_cursor *c);
/* A table read starts: due until the read fails or something is lost. */
void cart_outbox_read_start(cart_outbox_cursor *c);
/* A committed batch may hand its own rows over directly. */
bool cart_outbox_may_hand(const cart_outbox_cursor *c);
/* Row id went to librdkafka; ignored once a reread is owed (the read
 * starts from the beginning then). */
void cart_outbox_handed(cart_outbox_cursor *c, int64_t id);

/* The ids an INSERT ... RETURNING gave the n rows a batch staged, put in
 * staging order (ascending). False unless there are n of them, distinct. */
bool cart_outbox_ids_in_order(int64_t *ids, size_t n_ids, size_t n_staged);

#endif

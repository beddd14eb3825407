/* audit_ledger: order-audit's PostgreSQL side. Everything is read inside
 * one REPEATABLE READ, READ ONLY transaction opened by
 * audit_ledger_snapshot, so the stored positions, inventories, the ledger
 * rows and the stock before a --since start all come from one consistent
 * snapshot, even while a consumer keeps deciding. Nothing is written. */
#ifndef AUDIT_LEDGER_H
#define AUDIT_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cart_audit.h"
#include "ol_result.h"

typedef struct audit_position {
    int32_t partition;
    int64_t next_offset;    /* below: decided */
    int64_t results_offset; /* below: answers acknowledged by Kafka */
} audit_position;

typedef struct audit_ledger audit_ledger;

/* Connects (the conninfo's password never appears in err). topic is the
 * orders topic whose ledger rows are audited. */
audit_ledger *audit_ledger_new(const char *conninfo, const char *topic, char *err, size_t errlen);
/* Ends the snapshot if one is open. NULL is accepted. */
void audit_ledger_destroy(audit_ledger *ledger);

/* Opens the snapshot and reads the topic's stored positions: *out is a
 * malloc'd array of *n (the caller frees it), in partition order. */
bool audit_ledger_snapshot(audit_ledger *ledger, audit_position **out, size_t *n, char *err, size_t errlen);

/* Called per item; false stops the query and fails it with err. */
typedef bool (*audit_stock_fn)(void *ctx, const char *item, int64_t count, char *err, size_t errlen);
/* Every row of inventories. */
bool audit_ledger_inventories(audit_ledger *ledger, audit_stock_fn fn, void *ctx, char *err, size_t errlen);
/* Per item, accepted restocks minus accepted orders over the ledger rows
 * whose offset lies before starts[partition] (partitions 0..n-1): the stock
 * at the replay start, assuming only the consumer ever changed it. */
bool audit_ledger_stock_before(audit_ledger *ledger, const int64_t *starts, int32_t n, audit_stock_fn fn, void *ctx,
                               char *err, size_t errlen);

/* Opens a cursor over the topic's ledger rows at offsets >= starts[p]
 * (every row of partitions >= n), in (partition, offset) order. */
bool audit_ledger_open_rows(audit_ledger *ledger, const int64_t *starts, int32_t n, char *err, size_t errlen);
/* The cursor's next row; *has is false at the end. Rows are fetched in
 * blocks, one round trip per block. */
bool audit_ledger_next_row(audit_ledger *ledger, ol_result *row, bool *has, char *err, size_t errlen);

/* Called per row found; false stops and fails the lookup with err. */
typedef bool (*audit_row_fn)(void *ctx, const ol_result *row, char *err, size_t errlen);
/* The rows of these order_ids, on any topic (a row of another orders topic
 * comes with partition -1), in one query. */
bool audit_ledger_lookup(audit_ledger *ledger, const char *const *ids, size_t n, audit_row_fn fn, void *ctx, char *err,
                         size_t errlen);

/* Called per open hold past its deadline, with how long past (s). */
typedef bool (*audit_hold_fn)(void *ctx, const ol_result *row, int64_t overdue_s, char *err, size_t errlen);
/* The topic's holds still standing more than slack_s seconds past their
 * deadline, as of the snapshot. */
bool audit_ledger_overdue_holds(audit_ledger *ledger, int slack_s, audit_hold_fn fn, void *ctx, char *err,
                                size_t errlen);

/* Ends the snapshot (nothing was written: a plain COMMIT). */
/* The cart coordinator's stored positions on carts_topic (partition,
 * next_offset; none when it never ran on this database), and whether its
 * outbox is empty (every decided answer published). */
bool audit_ledger_cart_positions(audit_ledger *ledger, const char *carts_topic, audit_position **out, size_t *n,
                                 bool *outbox_empty, char *err, size_t errlen);

typedef bool (*audit_hold_state_fn)(void *ctx, const char *order_id, cart_hold_state state, char *err, size_t errlen);
/* The ledger's state of these holds (cart lines); ids not there are skipped. */
bool audit_ledger_hold_states(audit_ledger *ledger, const char *const *ids, size_t n, audit_hold_state_fn fn, void *ctx,
                              char *err, size_t errlen);

bool audit_ledger_close(audit_ledger *ledger, char *err, size_t errlen);

#endif

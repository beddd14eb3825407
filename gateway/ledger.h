/* gw_ledger: what the gateway reads from PostgreSQL: a decision from the
 * orders ledger, an item's count from inventories. A small pool of
 * connections, one per lookup worker (gw_lookups), never used on an HTTP
 * thread. Every call ends by its deadline: connecting and querying do not
 * block past it (a query past it drops its connection, reconnected at its
 * next use), and PostgreSQL bounds each statement too. Read only: the
 * consumer alone writes. */
#ifndef GW_LEDGER_H
#define GW_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cart_request.h"
#include "ol_result.h"

typedef struct gw_ledger gw_ledger;

/* PostgreSQL's statement_timeout on the gateway's connections. */
#define GW_LEDGER_STATEMENT_TIMEOUT_MS_TEXT "1000"

typedef enum { GW_LEDGER_FOUND, GW_LEDGER_NOT_FOUND, GW_LEDGER_ERROR } gw_ledger_status;

/* Connects size connections (fails if the first cannot connect). topic is
 * the orders topic, for decoding ledger rows. */
gw_ledger *gw_ledger_new(const char *conninfo, const char *topic, int size, char *err, size_t errlen);
void gw_ledger_destroy(gw_ledger *l);

/* The decision for order_id. A ledger that does not exist yet (no
 * consumer ever ran) has no decisions. */
gw_ledger_status gw_ledger_decision(gw_ledger *l, const char *order_id, int64_t deadline_ms, ol_result *out, char *err,
                                    size_t errlen);
gw_ledger_status gw_ledger_item(gw_ledger *l, const char *name, int64_t deadline_ms, int64_t *count, char *err,
                                size_t errlen);
/* The row of table carts for cart_id (order-carts writes it); row->lines
 * is malloc'd on FOUND. No table yet: NOT_FOUND. */
gw_ledger_status gw_ledger_cart(gw_ledger *l, const char *cart_id, int64_t deadline_ms, gw_cart_row *row, char *err,
                                size_t errlen);
/* The answer published for a decided carts message (table cart_messages),
 * as compact JSON in *answer (malloc'd) on FOUND. */
gw_ledger_status gw_ledger_cart_answer(gw_ledger *l, const char *order_id, int64_t deadline_ms, char **answer,
                                       char *err, size_t errlen);
/* A trivial query: whether PostgreSQL answers before deadline_ms. */
bool gw_ledger_ping(gw_ledger *l, int64_t deadline_ms, char *err, size_t errlen);

#endif

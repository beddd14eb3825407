/* gw_ledger: what the gateway reads from PostgreSQL: a decision from the
 * orders ledger, an item's count from inventories. A small pool of
 * connections, one per HTTP thread at most, so a slow query holds one
 * thread and no lock. Read only: the consumer alone writes. */
#ifndef GW_LEDGER_H
#define GW_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ol_result.h"

typedef struct gw_ledger gw_ledger;

typedef enum { GW_LEDGER_FOUND, GW_LEDGER_NOT_FOUND, GW_LEDGER_ERROR } gw_ledger_status;

/* Connects size connections (fails if the first cannot connect). topic is
 * the orders topic, for decoding ledger rows. */
gw_ledger *gw_ledger_new(const char *conninfo, const char *topic, int size, char *err, size_t errlen);
void gw_ledger_destroy(gw_ledger *l);

/* The decision for order_id. A ledger that does not exist yet (no
 * consumer ever ran) has no decisions. */
gw_ledger_status gw_ledger_decision(gw_ledger *l, const char *order_id, ol_result *out, char *err, size_t errlen);
gw_ledger_status gw_ledger_item(gw_ledger *l, const char *name, int64_t *count, char *err, size_t errlen);
/* SELECT 1 on an idle connection: whether PostgreSQL answers. */
bool gw_ledger_ping(gw_ledger *l, char *err, size_t errlen);

#endif

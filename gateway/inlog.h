/* gw_inlog: the orders this gateway saw put in the log and answered 202
 * (not decided in time), so that the same key again is answered with the
 * same 202 instead of being produced again. The waiter registry forgets an
 * order once its last wait has ended; this table remembers it, bounded in
 * entries (the oldest goes first) and in time (an entry expires ttl_ms
 * after it was put). Pure: no locks, no clock (callers pass the time);
 * unit-tested in tests/unit/test_gateway_inlog.c. */
#ifndef GW_INLOG_H
#define GW_INLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gw_inlog gw_inlog;

/* Where an order is in the log. */
typedef struct gw_in_log {
    int32_t partition;
    int64_t offset;
} gw_in_log;

/* NULL when memory ran out or capacity is 0. */
gw_inlog *gw_inlog_new(size_t capacity, int64_t ttl_ms);
void gw_inlog_destroy(gw_inlog *t);
/* Remembers order_id at where from now_ms on (again: the new place and
 * time). False when memory ran out or order_id is empty or too long. */
bool gw_inlog_put(gw_inlog *t, const char *order_id, gw_in_log where, int64_t now_ms);
/* Whether order_id is remembered and not expired at now_ms; fills *where. */
bool gw_inlog_get(gw_inlog *t, const char *order_id, int64_t now_ms, gw_in_log *where);
size_t gw_inlog_size(const gw_inlog *t); /* entries remembered, expired ones not yet dropped included */

#endif

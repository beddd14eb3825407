#include "inlog.h"

#include <stdlib.h>
#include <string.h>

#include "ol_map.h"
#include "ol_order.h"

typedef struct entry {
    char order_id[OL_ORDER_ID_MAX + 1];
    gw_in_log where;
    int64_t expires_ms;
} entry;

/* A ring in the order entries were put, which is also the order they
 * expire in (one ttl for all); the map finds them by order_id (borrowing
 * the key from the entry). */
struct gw_inlog {
    entry *ring;
    size_t capacity, head, count;
    int64_t ttl_ms;
    ol_map *by_id;
};

gw_inlog *gw_inlog_new(size_t capacity, int64_t ttl_ms) {
    if (capacity == 0) return NULL;
    gw_inlog *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->ring = calloc(capacity, sizeof *t->ring);
    t->by_id = ol_map_new_borrowing();
    if (!t->ring || !t->by_id) {
        gw_inlog_destroy(t);
        return NULL;
    }
    t->capacity = capacity;
    t->ttl_ms = ttl_ms;
    return t;
}

void gw_inlog_destroy(gw_inlog *t) {
    if (!t) return;
    ol_map_destroy(t->by_id);
    free(t->ring);
    free(t);
}

static void drop_oldest(gw_inlog *t) {
    entry *e = &t->ring[t->head];
    if (ol_map_get(t->by_id, e->order_id) == e) ol_map_remove(t->by_id, e->order_id);
    t->head = (t->head + 1) % t->capacity;
    t->count--;
}

static void drop_expired(gw_inlog *t, int64_t now_ms) {
    while (t->count > 0 && t->ring[t->head].expires_ms <= now_ms) drop_oldest(t);
}

bool gw_inlog_put(gw_inlog *t, const char *order_id, gw_in_log where, int64_t now_ms) {
    size_t len = strlen(order_id);
    if (len == 0 || len > OL_ORDER_ID_MAX) return false;
    drop_expired(t, now_ms);
    /* Put again: the old slot is left to age out (the map no longer
     * points at it), so that the ring stays in expiry order. */
    if (t->count == t->capacity) drop_oldest(t);
    entry *e = &t->ring[(t->head + t->count) % t->capacity];
    memcpy(e->order_id, order_id, len + 1);
    e->where = where;
    e->expires_ms = now_ms + t->ttl_ms;
    if (!ol_map_put(t->by_id, e->order_id, e)) return false;
    t->count++;
    return true;
}

bool gw_inlog_get(gw_inlog *t, const char *order_id, int64_t now_ms, gw_in_log *where) {
    drop_expired(t, now_ms);
    const entry *e = ol_map_get(t->by_id, order_id);
    if (!e) return false;
    *where = e->where;
    return true;
}

size_t gw_inlog_size(const gw_inlog *t) { return t->count; }

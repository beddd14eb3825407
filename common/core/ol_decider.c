#include "ol_decider.h"

#include <stdlib.h>
#include <string.h>

#include "ol_map.h"
#include "ol_str.h"

typedef struct stock_entry {
    ol_stock initial;
    ol_stock current;
} stock_entry;

/* Compact mode's record of one decision: the order_id is the map key, the
 * item points into the interned item names, and the error text (rare: only
 * an overflowing restock has one) is allocated only when present. */
enum { COMPACT_HAS_ORDER = 1, COMPACT_HAS_REMAINING = 2, COMPACT_DUPLICATE = 4 };
typedef struct compact_decision {
    const char *item; /* interned in ol_decider.items; NULL when !has_order */
    char *error;      /* NULL when none */
    char *target;     /* a follow-up's; NULL when none */
    int64_t hold_expires_at_us;
    int64_t remaining;
    int64_t offset;
    int64_t processed_at_us;
    int32_t partition;
    int32_t quantity;
    uint8_t type, status, reason, flags;
} compact_decision;

/* The full mode's decisions live in fixed chunks, reused from one clear to
 * the next: a batch's thousands of decisions cost no allocation each, and
 * the decisions map borrows its keys from them. */
#define POOL_CHUNK 1024

/* An order whose life a follow-up changed, or the ledger declared: the
 * others' lives follow from their decisions, and need no entry. */
typedef struct life_entry {
    ol_life life;
    bool changed; /* by a follow-up decided here: to write back */
    char item[OL_ITEM_MAX + 1];
} life_entry;

struct ol_decider {
    ol_map *stocks;    /* item -> stock_entry* (owned) */
    ol_map *lives;     /* order_id -> life_entry* (owned) */
    ol_map *decisions; /* order_id -> ol_result* in the pool, or compact_decision* (owned) in compact mode */
    bool compact;
    ol_result **chunks; /* full mode: the pool, POOL_CHUNK results each */
    size_t n_chunks;
    size_t used;        /* results of the pool in use */
    ol_map *items;      /* compact: item name -> its interned copy (owned) */
    ol_result *scratch; /* compact: what ol_decider_find returns */
};

static ol_decider *decider_new(bool compact) {
    ol_decider *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->compact = compact;
    d->stocks = ol_map_new();
    d->lives = ol_map_new();
    d->decisions = compact ? ol_map_new() : ol_map_new_borrowing();
    bool ok = d->stocks && d->lives && d->decisions;
    if (ok && compact) {
        d->items = ol_map_new();
        d->scratch = malloc(sizeof *d->scratch);
        ok = d->items && d->scratch;
    }
    if (!ok) {
        ol_decider_destroy(d);
        return NULL;
    }
    return d;
}

ol_decider *ol_decider_new(void) { return decider_new(false); }
ol_decider *ol_decider_new_compact(void) { return decider_new(true); }

static void free_values(ol_map *map) {
    size_t pos = 0;
    const char *key;
    void *value;
    while (ol_map_next(map, &pos, &key, &value)) free(value);
    ol_map_clear(map);
}

static void free_decisions(ol_decider *d) {
    if (!d->compact) {
        ol_map_clear(d->decisions);
        d->used = 0;
        return;
    }
    size_t pos = 0;
    const char *key;
    void *value;
    while (ol_map_next(d->decisions, &pos, &key, &value)) {
        compact_decision *c = value;
        free(c->error);
        free(c->target);
        free(c);
    }
    ol_map_clear(d->decisions);
    /* Items only after the decisions pointing into them. */
    free_values(d->items);
}

void ol_decider_clear(ol_decider *d) {
    if (!d) return;
    free_values(d->stocks);
    free_values(d->lives);
    free_decisions(d);
}

void ol_decider_forget_decisions(ol_decider *d) {
    if (d) free_decisions(d);
}

void ol_decider_destroy(ol_decider *d) {
    if (!d) return;
    if (d->stocks) free_values(d->stocks);
    if (d->lives) free_values(d->lives);
    if (d->decisions && (!d->compact || d->items)) free_decisions(d);
    ol_map_destroy(d->stocks);
    ol_map_destroy(d->lives);
    ol_map_destroy(d->decisions);
    ol_map_destroy(d->items);
    for (size_t i = 0; i < d->n_chunks; i++) free(d->chunks[i]);
    free(d->chunks);
    free(d->scratch);
    free(d);
}

static stock_entry *stock_get_or_add(ol_decider *d, const char *item) {
    stock_entry *e = ol_map_get(d->stocks, item);
    if (e) return e;
    e = calloc(1, sizeof *e);
    if (!e) return NULL;
    if (!ol_map_put(d->stocks, item, e)) {
        free(e);
        return NULL;
    }
    return e;
}

bool ol_decider_set_stock(ol_decider *d, const char *item, ol_stock stock) {
    stock_entry *e = stock_get_or_add(d, item);
    if (!e) return false;
    e->initial = stock;
    e->current = stock;
    return true;
}

/* The interned copy of an item name (compact mode), or NULL on OOM. */
static const char *intern_item(ol_decider *d, const char *item) {
    const char *known = ol_map_get(d->items, item);
    if (known) return known;
    char *copy = strdup(item);
    if (!copy) return NULL;
    if (!ol_map_put(d->items, item, copy)) {
        free(copy);
        return NULL;
    }
    return copy;
}

static bool compact_fill(ol_decider *d, compact_decision *c, const ol_result *r) {
    const char *item = NULL;
    if (r->has_order && !(item = intern_item(d, r->item))) return false;
    char *error = NULL, *target = NULL;
    if (r->error[0] && !(error = strdup(r->error))) return false;
    if (r->target[0] && !(target = strdup(r->target))) {
        free(error);
        return false;
    }
    free(c->error);
    free(c->target);
    c->item = item;
    c->error = error;
    c->target = target;
    c->hold_expires_at_us = r->hold_expires_at_us;
    c->remaining = r->remaining;
    c->offset = r->offset;
    c->processed_at_us = r->processed_at_us;
    c->partition = r->partition;
    c->quantity = r->quantity;
    c->type = (uint8_t)r->type;
    c->status = (uint8_t)r->status;
    c->reason = (uint8_t)r->reason;
    c->flags = (uint8_t)((r->has_order ? COMPACT_HAS_ORDER : 0) | (r->has_remaining ? COMPACT_HAS_REMAINING : 0) |
                         (r->duplicate ? COMPACT_DUPLICATE : 0));
    return true;
}

static void compact_expand(const compact_decision *c, const char *order_id, ol_result *out) {
    memset(out, 0, sizeof *out);
    ol_strlcpy(out->order_id, order_id, sizeof out->order_id);
    out->has_order = c->flags & COMPACT_HAS_ORDER;
    if (c->item) ol_strlcpy(out->item, c->item, sizeof out->item);
    out->type = (ol_order_type)c->type;
    out->quantity = c->quantity;
    out->status = (ol_status)c->status;
    out->reason = (ol_reason)c->reason;
    out->has_remaining = c->flags & COMPACT_HAS_REMAINING;
    out->remaining = c->remaining;
    out->duplicate = c->flags & COMPACT_DUPLICATE;
    out->partition = c->partition;
    out->offset = c->offset;
    out->processed_at_us = c->processed_at_us;
    if (c->error) ol_strlcpy(out->error, c->error, sizeof out->error);
    if (c->target) ol_strlcpy(out->target, c->target, sizeof out->target);
    out->hold_expires_at_us = c->hold_expires_at_us;
}

static bool remember_compact(ol_decider *d, const ol_result *decided) {
    compact_decision *c = ol_map_get(d->decisions, decided->order_id);
    if (c) return compact_fill(d, c, decided);
    c = calloc(1, sizeof *c);
    if (!c) return false;
    if (!compact_fill(d, c, decided) || !ol_map_put(d->decisions, decided->order_id, c)) {
        free(c->error);
        free(c->target);
        free(c);
        return false;
    }
    return true;
}

/* The next free result of the pool, growing it by a chunk when full. */
static ol_result *pool_take(ol_decider *d) {
    if (d->used == d->n_chunks * POOL_CHUNK) {
        ol_result **chunks = realloc(d->chunks, (d->n_chunks + 1) * sizeof *chunks);
        if (!chunks) return NULL;
        d->chunks = chunks;
        if (!(chunks[d->n_chunks] = malloc(POOL_CHUNK * sizeof **chunks))) return NULL;
        d->n_chunks++;
    }
    ol_result *r = &d->chunks[d->used / POOL_CHUNK][d->used % POOL_CHUNK];
    d->used++;
    return r;
}

static bool remember(ol_decider *d, const ol_result *decided) {
    if (d->compact) return remember_compact(d, decided);
    ol_result *copy = ol_map_get(d->decisions, decided->order_id);
    if (copy) {
        *copy = *decided; /* same order_id: the map's key is unchanged */
        return true;
    }
    if (!(copy = pool_take(d))) return false;
    *copy = *decided;
    if (!ol_map_put(d->decisions, copy->order_id, copy)) {
        d->used--; /* the last one taken: give it back */
        return false;
    }
    return true;
}

bool ol_decider_add_decision(ol_decider *d, const ol_result *decided) { return remember(d, decided); }

const ol_result *ol_decider_find(const ol_decider *d, const char *order_id) {
    void *value = ol_map_get(d->decisions, order_id);
    if (!value || !d->compact) return value;
    compact_expand(value, order_id, d->scratch);
    return d->scratch;
}

bool ol_decider_lookup(const ol_decider *d, const char *order_id, ol_result *out) {
    void *value = ol_map_get(d->decisions, order_id);
    if (!value) return false;
    if (d->compact) compact_expand(value, order_id, out);
    else *out = *(const ol_result *)value;
    return true;
}

size_t ol_decider_decision_count(const ol_decider *d) { return ol_map_size(d->decisions); }

/* ---- lives: what follow-ups see of their targets */

static ol_life life_from_decision(const ol_result *r) {
    ol_life life = {OL_LIFE_REJECTED, 0, 0};
    if (!r->has_order || r->type != OL_TYPE_ORDER || r->status == OL_STATUS_REJECTED) return life;
    life.quantity = r->quantity;
    life.state = r->status == OL_STATUS_HELD ? OL_LIFE_HELD : OL_LIFE_ACCEPTED;
    if (life.state == OL_LIFE_HELD) life.expires_at_ms = r->hold_expires_at_us / 1000;
    return life;
}

ol_life ol_decider_life(const ol_decider *d, const char *order_id, const char *item) {
    const ol_life unknown = {OL_LIFE_UNKNOWN, 0, 0};
    const life_entry *e = ol_map_get(d->lives, order_id);
    if (e) return strcmp(e->item, item) == 0 ? e->life : unknown;
    ol_result r;
    if (!ol_decider_lookup(d, order_id, &r) || !r.has_order || strcmp(r.item, item) != 0) return unknown;
    return life_from_decision(&r);
}

static bool life_put(ol_decider *d, const char *order_id, const char *item, ol_life life, bool changed) {
    life_entry *e = ol_map_get(d->lives, order_id);
    if (!e) {
        if (!(e = calloc(1, sizeof *e))) return false;
        if (!ol_map_put(d->lives, order_id, e)) {
            free(e);
            return false;
        }
    }
    e->life = life;
    e->changed = e->changed || changed;
    ol_strlcpy(e->item, item, sizeof e->item);
    return true;
}

bool ol_decider_set_life(ol_decider *d, const char *order_id, const char *item, ol_life life) {
    return life_put(d, order_id, item, life, false);
}

bool ol_decider_next_life(const ol_decider *d, size_t *pos, const char **order_id, ol_life *life) {
    void *value;
    while (ol_map_next(d->lives, pos, order_id, &value)) {
        const life_entry *e = value;
        if (!e->changed) continue;
        *life = e->life;
        return true;
    }
    return false;
}

static ol_reason reason_of(ol_life_verdict v) {
    switch (v) {
    case OL_LIFE_OK:
        return OL_REASON_NONE;
    case OL_LIFE_NOT_HELD:
        return OL_REASON_NOT_HELD;
    case OL_LIFE_NOT_CANCELLABLE:
        return OL_REASON_NOT_CANCELLABLE;
    case OL_LIFE_NOT_EXPIRED:
        return OL_REASON_NOT_EXPIRED;
    case OL_LIFE_EXPIRED_BEFORE:
        return OL_REASON_EXPIRED;
    case OL_LIFE_ALREADY_CONFIRMED:
        return OL_REASON_ALREADY_CONFIRMED;
    case OL_LIFE_ALREADY_CANCELLED:
        return OL_REASON_ALREADY_CANCELLED;
    }
    return OL_REASON_INVALID;
}

/* A confirm, cancel or expire against its target's life. */
static bool decide_followup(ol_decider *d, const ol_order *order, ol_stock *stock, int64_t log_ts_ms, ol_result *out) {
    static const ol_life_event events[] = {
        [OL_TYPE_CONFIRM] = OL_LIFE_CONFIRM, [OL_TYPE_CANCEL] = OL_LIFE_CANCEL, [OL_TYPE_EXPIRE] = OL_LIFE_EXPIRE};
    ol_life life = ol_decider_life(d, order->target, order->item);
    ol_life before = life;
    int32_t back;
    ol_life_verdict v = ol_life_apply(&life, events[order->type], log_ts_ms, &back);
    memcpy(out->target, order->target, sizeof out->target);
    out->quantity = before.quantity;
    out->has_remaining = stock->exists;
    out->remaining = stock->count;
    out->status = v == OL_LIFE_OK ? OL_STATUS_ACCEPTED : OL_STATUS_REJECTED;
    out->reason = reason_of(v);
    if (v != OL_LIFE_OK) return true;
    /* Units the stock column cannot hold stay out, and the target keeps
     * its state: never a negative or wrapped count. */
    if (stock->count + back > OL_STOCK_MAX) {
        out->status = OL_STATUS_REJECTED;
        out->reason = OL_REASON_INVALID;
        ol_seterr(out->error, sizeof out->error, "giving back %d units would take stock past %d", back, OL_STOCK_MAX);
        return true;
    }
    stock->count += back;
    out->remaining = stock->count;
    return life_put(d, order->target, order->item, life, true);
}

bool ol_decider_decide(ol_decider *d, const ol_order *order, int32_t partition, int64_t offset, int64_t now_us,
                       ol_result *out, ol_decided_kind *kind) {
    return ol_decider_decide_at(d, order, partition, offset, now_us / 1000, now_us, out, kind);
}

bool ol_decider_decide_at(ol_decider *d, const ol_order *order, int32_t partition, int64_t offset, int64_t log_ts_ms,
                          int64_t now_us, ol_result *out, ol_decided_kind *kind) {
    if (ol_decider_lookup(d, order->order_id, out)) {
        if (out->partition == partition && out->offset == offset) {
            *kind = OL_DECIDED_REPLAY;
        } else {
            *kind = OL_DECIDED_DUPLICATE;
            out->duplicate = true;
            out->partition = partition;
            out->offset = offset;
            out->processed_at_us = now_us;
        }
        return true;
    }
    stock_entry *e = stock_get_or_add(d, order->item);
    if (!e) return false;
    memset(out, 0, sizeof *out);
    memcpy(out->order_id, order->order_id, sizeof out->order_id);
    memcpy(out->item, order->item, sizeof out->item);
    out->has_order = true;
    out->type = order->type;
    out->quantity = order->quantity;
    out->partition = partition;
    out->offset = offset;
    out->processed_at_us = now_us;
    *kind = OL_DECIDED_NEW;
    if (ol_order_is_followup(order->type)) {
        if (!decide_followup(d, order, &e->current, log_ts_ms, out)) return false;
        return remember(d, out);
    }
    ol_decide(order->type, order->quantity, &e->current, out);
    if (order->hold_s > 0 && out->status == OL_STATUS_ACCEPTED) {
        out->status = OL_STATUS_HELD;
        out->hold_expires_at_us = (log_ts_ms + (int64_t)order->hold_s * 1000) * 1000;
    }
    return remember(d, out);
}

bool ol_decider_next_stock(const ol_decider *d, size_t *pos, const char **item, ol_stock *initial, ol_stock *current) {
    void *value;
    if (!ol_map_next(d->stocks, pos, item, &value)) return false;
    const stock_entry *e = value;
    *initial = e->initial;
    *current = e->current;
    return true;
}

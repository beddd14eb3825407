#include "ol_decider.h"

#include <stdlib.h>
#include <string.h>

#include "ol_map.h"

typedef struct stock_entry {
    ol_stock initial;
    ol_stock current;
} stock_entry;

struct ol_decider {
    ol_map *stocks;    /* item -> stock_entry* (owned) */
    ol_map *decisions; /* order_id -> ol_result* (owned) */
};

ol_decider *ol_decider_new(void) {
    ol_decider *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->stocks = ol_map_new();
    d->decisions = ol_map_new();
    if (!d->stocks || !d->decisions) {
        ol_decider_destroy(d);
        return NULL;
    }
    return d;
}

static void free_values(ol_map *map) {
    size_t pos = 0;
    const char *key;
    void *value;
    while (ol_map_next(map, &pos, &key, &value)) free(value);
    ol_map_clear(map);
}

void ol_decider_clear(ol_decider *d) {
    if (!d) return;
    free_values(d->stocks);
    free_values(d->decisions);
}

void ol_decider_destroy(ol_decider *d) {
    if (!d) return;
    if (d->stocks) free_values(d->stocks);
    if (d->decisions) free_values(d->decisions);
    ol_map_destroy(d->stocks);
    ol_map_destroy(d->decisions);
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

static bool remember(ol_decider *d, const ol_result *decided) {
    ol_result *copy = ol_map_get(d->decisions, decided->order_id);
    if (copy) {
        *copy = *decided;
        return true;
    }
    copy = malloc(sizeof *copy);
    if (!copy) return false;
    *copy = *decided;
    if (!ol_map_put(d->decisions, decided->order_id, copy)) {
        free(copy);
        return false;
    }
    return true;
}

bool ol_decider_add_decision(ol_decider *d, const ol_result *decided) { return remember(d, decided); }

const ol_result *ol_decider_find(const ol_decider *d, const char *order_id) {
    return ol_map_get(d->decisions, order_id);
}

bool ol_decider_decide(ol_decider *d, const ol_order *order, int32_t partition, int64_t offset, int64_t now_us,
                       ol_result *out, ol_decided_kind *kind) {
    const ol_result *prior = ol_map_get(d->decisions, order->order_id);
    if (prior) {
        *out = *prior;
        if (prior->partition == partition && prior->offset == offset) {
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
    ol_decide(order->type, order->quantity, &e->current, out);
    *kind = OL_DECIDED_NEW;
    return remember(d, out);
}

bool ol_decider_next_stock(const ol_decider *d, size_t *pos, const char **item, ol_stock *initial,
                           ol_stock *current) {
    void *value;
    if (!ol_map_next(d->stocks, pos, item, &value)) return false;
    const stock_entry *e = value;
    *initial = e->initial;
    *current = e->current;
    return true;
}

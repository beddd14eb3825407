#include "cart_outbox.h"

#include <stdlib.h>

void cart_outbox_reread(cart_outbox_cursor *c) {
    c->after = 0;
    c->due = true;
}

void cart_outbox_read_start(cart_outbox_cursor *c) { c->due = false; }

bool cart_outbox_may_hand(const cart_outbox_cursor *c) { return !c->due; }

void cart_outbox_handed(cart_outbox_cursor *c, int64_t id) {
    if (!c->due && id > c->after) c->after = id;
}

static int cmp_id(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The sequence gives a statement's rows ascending ids in the order they
 * are inserted; RETURNING's order is not promised, so sort. */
bool cart_outbox_ids_in_order(int64_t *ids, size_t n_ids, size_t n_staged) {
    if (n_ids != n_staged) return false;
    if (n_ids > 1) qsort(ids, n_ids, sizeof *ids, cmp_id);
    for (size_t i = 1; i < n_ids; i++)
        if (ids[i] == ids[i - 1]) return false;
    return true;
}

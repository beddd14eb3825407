#include "expiry.h"

#include <stdlib.h>

#include "ol_map.h"

struct hold_expiry {
    int64_t resend_ms;
    ol_map *sent; /* held_id -> int64_t* when its expire was last sent (owned) */
    ol_map *next; /* the scan in progress, the same; NULL between scans */
};

hold_expiry *hold_expiry_new(int64_t resend_ms) {
    hold_expiry *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    x->resend_ms = resend_ms;
    if (!(x->sent = ol_map_new())) {
        free(x);
        return NULL;
    }
    return x;
}

static void free_map(ol_map *m) {
    if (!m) return;
    size_t pos = 0;
    const char *key;
    void *value;
    while (ol_map_next(m, &pos, &key, &value)) free(value);
    ol_map_destroy(m);
}

void hold_expiry_destroy(hold_expiry *x) {
    if (!x) return;
    free_map(x->sent);
    free_map(x->next);
    free(x);
}

bool hold_expiry_begin_scan(hold_expiry *x) {
    free_map(x->next);
    x->next = ol_map_new();
    return x->next != NULL;
}

bool hold_expiry_due(hold_expiry *x, const char *held_id, int64_t now_ms, bool *due) {
    *due = false;
    if (!x->next) return false;
    const int64_t *before = ol_map_get(x->sent, held_id);
    int64_t *at = malloc(sizeof *at);
    if (!at) return false;
    *due = !before || now_ms - *before >= x->resend_ms;
    *at = *due ? now_ms : *before;
    if (!ol_map_put(x->next, held_id, at)) {
        free(at);
        *due = false;
        return false;
    }
    return true;
}

void hold_expiry_end_scan(hold_expiry *x) {
    if (!x->next) return;
    free_map(x->sent);
    x->sent = x->next;
    x->next = NULL;
}

size_t hold_expiry_tracked(const hold_expiry *x) { return ol_map_size(x->sent); }

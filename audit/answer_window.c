#include "answer_window.h"

#include <stdlib.h>
#include <string.h>

struct answer_window {
    window_slot *slots; /* offset o lives at o % cap */
    size_t cap, held;
    int64_t lo;   /* the window is [lo, lo + cap) */
    int64_t next; /* the replay's position: lo never passes it */
    int64_t seen; /* the highest offset offered; -1: none */
};

answer_window *answer_window_new(size_t cap) {
    if (cap == 0) return NULL;
    answer_window *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->slots = calloc(cap, sizeof *w->slots);
    if (!w->slots) {
        free(w);
        return NULL;
    }
    w->cap = cap;
    w->seen = -1;
    return w;
}

static window_slot *slot_of(const answer_window *w, int64_t offset) { return &w->slots[(size_t)offset % w->cap]; }

static void window_slot_clear(window_slot *s) {
    free(s->long_id);
    memset(s, 0, sizeof *s);
}

bool answer_window_store(answer_window *w, window_slot *s, const char *order_id, uint8_t status, uint8_t reason,
                         bool has_remaining, int64_t remaining, bool duplicate) {
    size_t len = strlen(order_id);
    if (len <= WINDOW_ID_INLINE) {
        memcpy(s->id, order_id, len + 1);
    } else if (!(s->long_id = strdup(order_id))) {
        return false;
    }
    s->status = status;
    s->reason = reason;
    s->remaining = remaining;
    s->flags = WSLOT_PRESENT | (has_remaining ? WSLOT_HAS_REMAINING : 0) | (duplicate ? WSLOT_DUPLICATE : 0);
    w->held++;
    return true;
}

void answer_window_remove(answer_window *w, window_slot *s) {
    if (!(s->flags & WSLOT_PRESENT)) return;
    window_slot_clear(s);
    w->held--;
}

const char *window_slot_id(const window_slot *s) { return s->long_id ? s->long_id : s->id; }

static void clear_all(answer_window *w) {
    for (size_t i = 0; i < w->cap && w->held > 0; i++) {
        if (!(w->slots[i].flags & WSLOT_PRESENT)) continue;
        window_slot_clear(&w->slots[i]);
        w->held--;
    }
    w->held = 0;
}

void answer_window_destroy(answer_window *w) {
    if (!w) return;
    clear_all(w);
    free(w->slots);
    free(w);
}

void answer_window_reset(answer_window *w, int64_t lo) {
    clear_all(w);
    w->lo = w->next = lo;
    w->seen = -1;
}

/* Moves lo up to new_lo, each present slot leaving through fn. */
static bool slide(answer_window *w, int64_t new_lo, window_leave_fn fn, void *ctx) {
    int64_t stop = new_lo - w->lo > (int64_t)w->cap ? w->lo + (int64_t)w->cap : new_lo;
    for (int64_t o = w->lo; o < stop && w->held > 0; o++) {
        window_slot *s = slot_of(w, o);
        if (!(s->flags & WSLOT_PRESENT)) continue;
        if (!fn(ctx, o, s)) return false;
        window_slot_clear(s);
        w->held--;
        w->lo = o + 1; /* what has left stays out, should fn fail later */
    }
    w->lo = new_lo;
    return true;
}

window_place answer_window_place(answer_window *w, int64_t offset, window_leave_fn fn, void *ctx, window_slot **slot) {
    if (offset > w->seen) w->seen = offset;
    if (offset < w->lo) return WINDOW_BEHIND;
    int64_t need = offset - (int64_t)w->cap + 1; /* the lowest lo that holds offset */
    if (need > w->next) return WINDOW_FULL;
    if (need > w->lo && !slide(w, need, fn, ctx)) return WINDOW_NO_MEMORY;
    *slot = slot_of(w, offset);
    return WINDOW_PLACED;
}

window_slot *answer_window_at(answer_window *w, int64_t offset) {
    if (offset < w->lo || offset - w->lo >= (int64_t)w->cap) return NULL;
    return slot_of(w, offset);
}

void answer_window_advance(answer_window *w, int64_t next) {
    if (next > w->next) w->next = next;
}

bool answer_window_past(const answer_window *w, int64_t last) { return w->seen > last; }

bool answer_window_empty(answer_window *w, window_leave_fn fn, void *ctx) {
    for (int64_t o = w->lo; o - w->lo < (int64_t)w->cap && w->held > 0; o++) {
        window_slot *s = slot_of(w, o);
        if (!(s->flags & WSLOT_PRESENT)) continue;
        if (!fn(ctx, o, s)) return false;
        window_slot_clear(s);
        w->held--;
    }
    return true;
}

size_t answer_window_held(const answer_window *w) { return w->held; }

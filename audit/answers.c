#include "answers.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer_window.h"
#include "ol_map.h"
#include "ol_str.h"

/* An answer kept apart from the window (owned order_id). */
typedef struct late_entry {
    int32_t partition;
    int64_t offset;
    int64_t remaining;
    uint8_t status, reason, flags; /* WSLOT_* */
    char *order_id;
} late_entry;

typedef struct part {
    bool set, settled;
    int64_t start, end;
    uint8_t *taken; /* one bit per offset: an answer was taken */
} part;

struct answer_store {
    part *parts;
    size_t n_parts;
    answer_window *window;
    int32_t window_partition; /* -1: none */
    ol_map *late;             /* "partition:offset" -> late_entry* (owned) */
    size_t late_held;
};

answer_store *answers_new(size_t window) {
    answer_store *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->window_partition = -1;
    s->late = ol_map_new();
    s->window = answer_window_new(window);
    if (!s->late || !s->window) {
        answers_destroy(s);
        return NULL;
    }
    return s;
}

static void free_late(answer_store *s) {
    size_t pos = 0;
    const char *key;
    void *value;
    while (ol_map_next(s->late, &pos, &key, &value)) {
        late_entry *e = value;
        free(e->order_id);
        free(e);
    }
    ol_map_clear(s->late);
    s->late_held = 0;
}

void answers_destroy(answer_store *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n_parts; i++) free(s->parts[i].taken);
    free(s->parts);
    if (s->late) free_late(s);
    ol_map_destroy(s->late);
    answer_window_destroy(s->window);
    free(s);
}

static part *part_of(const answer_store *s, int32_t partition) {
    if (partition < 0 || (size_t)partition >= s->n_parts || !s->parts[partition].set) return NULL;
    return &s->parts[partition];
}

bool answers_set_range(answer_store *s, int32_t partition, int64_t start, int64_t end) {
    void *parts = s->parts;
    if (end < start || !ol_grow_zeroed(&parts, &s->n_parts, partition, sizeof *s->parts)) return false;
    s->parts = parts;
    part *p = &s->parts[partition];
    if (p->set) return false;
    p->taken = calloc((size_t)(end - start) / 8 + 1, 1);
    if (!p->taken) return false;
    p->set = true;
    p->start = start;
    p->end = end;
    return true;
}

static void late_key(char *dst, size_t len, int32_t partition, int64_t offset) {
    snprintf(dst, len, "%" PRId32 ":%" PRId64, partition, offset);
}

static bool matches(const char *order_id, uint8_t status, uint8_t reason, uint8_t flags, int64_t remaining,
                    const ol_result *r) {
    return strcmp(order_id, r->order_id) == 0 && status == (uint8_t)r->status && reason == (uint8_t)r->reason &&
           ((flags & WSLOT_HAS_REMAINING) != 0) == r->has_remaining &&
           (!r->has_remaining || remaining == r->remaining) && ((flags & WSLOT_DUPLICATE) != 0) == r->duplicate;
}

static void view(const char *order_id, uint8_t status, uint8_t reason, uint8_t flags, int64_t remaining,
                 stored_answer *out) {
    *out = (stored_answer){order_id,          (ol_status)status,
                           (ol_reason)reason, (flags & WSLOT_HAS_REMAINING) != 0,
                           remaining,         (flags & WSLOT_DUPLICATE) != 0};
}

/* A copy of an answer already stored (its fields; *flags may gain CONFLICT). */
static answers_added again(const char *order_id, uint8_t status, uint8_t reason, uint8_t *flags, int64_t remaining,
                           const ol_result *r, stored_answer *first) {
    if ((*flags & WSLOT_CONFLICT) || matches(order_id, status, reason, *flags, remaining, r)) return ANSWERS_SAME_AGAIN;
    *flags |= WSLOT_CONFLICT;
    view(order_id, status, reason, *flags, remaining, first);
    return ANSWERS_CONFLICT;
}

static bool was_taken(const part *p, int64_t offset) {
    int64_t i = offset - p->start;
    return (p->taken[i / 8] >> (i % 8)) & 1;
}

static void mark_taken(part *p, int64_t offset) {
    int64_t i = offset - p->start;
    p->taken[i / 8] |= (uint8_t)(1u << (i % 8));
}

static bool put_late(answer_store *s, const late_entry *from) {
    char key[48];
    late_key(key, sizeof key, from->partition, from->offset);
    late_entry *e = malloc(sizeof *e);
    if (e) *e = *from;
    if (!e || !ol_map_put(s->late, key, e)) {
        free(e);
        return false;
    }
    s->late_held++;
    return true;
}

/* A window slot leaving it: an answer never taken is kept apart (compared
 * or reported later); a taken one leaves only its bit. */
static bool leave_window(void *ctx, int64_t offset, const window_slot *sl) {
    answer_store *s = ctx;
    if (sl->flags & WSLOT_TAKEN) return true;
    late_entry e = {s->window_partition,       offset, sl->remaining, sl->status, sl->reason, sl->flags,
                    strdup(window_slot_id(sl))};
    if (e.order_id && put_late(s, &e)) return true;
    free(e.order_id);
    return false;
}

static answers_added add_late(answer_store *s, part *p, const ol_result *r, stored_answer *first) {
    char key[48];
    late_key(key, sizeof key, r->partition, r->offset);
    late_entry *e = ol_map_get(s->late, key);
    if (e) return again(e->order_id, e->status, e->reason, &e->flags, e->remaining, r, first);
    if (was_taken(p, r->offset)) return ANSWERS_UNVERIFIED;
    late_entry n = {
        r->partition,
        r->offset,
        r->remaining,
        (uint8_t)r->status,
        (uint8_t)r->reason,
        (uint8_t)(WSLOT_PRESENT | (r->has_remaining ? WSLOT_HAS_REMAINING : 0) | (r->duplicate ? WSLOT_DUPLICATE : 0)),
        strdup(r->order_id)};
    if (n.order_id && put_late(s, &n)) return ANSWERS_ADDED;
    free(n.order_id);
    return ANSWERS_NO_MEMORY;
}

answers_added answers_add(answer_store *s, const ol_result *r, stored_answer *first) {
    part *p = part_of(s, r->partition);
    if (!p || r->offset < p->start || r->offset >= p->end) return ANSWERS_OUTSIDE;
    if (p->settled || r->partition != s->window_partition) return add_late(s, p, r, first);
    window_slot *sl = NULL;
    switch (answer_window_place(s->window, r->offset, leave_window, s, &sl)) {
    case WINDOW_FULL:
        return ANSWERS_LATER;
    case WINDOW_NO_MEMORY:
        return ANSWERS_NO_MEMORY;
    case WINDOW_BEHIND:
        return add_late(s, p, r, first);
    case WINDOW_PLACED:
        break;
    }
    if (sl->flags & WSLOT_PRESENT)
        return again(window_slot_id(sl), sl->status, sl->reason, &sl->flags, sl->remaining, r, first);
    /* Not in the window but in the table apart: moved there, or read late. */
    char key[48] = "";
    if (s->late_held) late_key(key, sizeof key, r->partition, r->offset);
    if (s->late_held && ol_map_get(s->late, key)) return add_late(s, p, r, first);
    if (was_taken(p, r->offset)) return ANSWERS_UNVERIFIED;
    if (!answer_window_store(s->window, sl, r->order_id, (uint8_t)r->status, (uint8_t)r->reason, r->has_remaining,
                             r->remaining, r->duplicate))
        return ANSWERS_NO_MEMORY;
    return ANSWERS_ADDED;
}

bool answers_take(answer_store *s, int32_t partition, int64_t offset, stored_answer *out) {
    part *p = part_of(s, partition);
    if (!p || offset < p->start || offset >= p->end) return false;
    window_slot *sl = partition == s->window_partition ? answer_window_at(s->window, offset) : NULL;
    if (sl && (sl->flags & WSLOT_PRESENT) && !(sl->flags & WSLOT_TAKEN)) {
        sl->flags |= WSLOT_TAKEN;
        mark_taken(p, offset);
        view(window_slot_id(sl), sl->status, sl->reason, sl->flags, sl->remaining, out);
        return true;
    }
    char key[48];
    late_key(key, sizeof key, partition, offset);
    late_entry *e = ol_map_get(s->late, key);
    if (!e || (e->flags & WSLOT_TAKEN)) return false;
    e->flags |= WSLOT_TAKEN;
    mark_taken(p, offset);
    view(e->order_id, e->status, e->reason, e->flags, e->remaining, out);
    return true;
}

bool answers_keep(answer_store *s, int32_t partition, int64_t offset) {
    if (partition != s->window_partition) return true; /* apart already, if stored */
    window_slot *sl = answer_window_at(s->window, offset);
    if (!sl || !(sl->flags & WSLOT_PRESENT) || (sl->flags & WSLOT_TAKEN)) return true;
    if (!leave_window(s, offset, sl)) return false;
    answer_window_remove(s->window, sl);
    return true;
}

typedef struct settling {
    answer_store *store;
    answers_fn fn;
    void *ctx;
} settling;

static bool report_never_taken(void *ctx, int64_t offset, const window_slot *sl) {
    const settling *st = ctx;
    if (sl->flags & WSLOT_TAKEN) return true;
    stored_answer a;
    view(window_slot_id(sl), sl->status, sl->reason, sl->flags, sl->remaining, &a);
    st->fn(st->ctx, st->store->window_partition, offset, &a);
    return true;
}

bool answers_begin(answer_store *s, int32_t partition) {
    const part *p = part_of(s, partition);
    if (!p) return false;
    if (s->window_partition >= 0 && !answer_window_empty(s->window, leave_window, s)) return false;
    answer_window_reset(s->window, p->start);
    s->window_partition = partition;
    return true;
}

void answers_advance(answer_store *s, int32_t partition, int64_t next) {
    if (partition == s->window_partition) answer_window_advance(s->window, next);
}

bool answers_past(const answer_store *s, int32_t partition, int64_t last) {
    return partition != s->window_partition || answer_window_past(s->window, last);
}

void answers_settle(answer_store *s, int32_t partition, answers_fn fn, void *ctx) {
    part *p = part_of(s, partition);
    if (!p || p->settled) return;
    p->settled = true;
    if (partition != s->window_partition) return;
    settling st = {s, fn, ctx};
    answer_window_empty(s->window, report_never_taken, &st); /* cannot fail: reporting allocates nothing */
    s->window_partition = -1;
}

bool answers_settled(const answer_store *s, int32_t partition) {
    const part *p = part_of(s, partition);
    return p && p->settled;
}

static int by_position(const void *x, const void *y) {
    const late_entry *a = *(late_entry *const *)x, *b = *(late_entry *const *)y;
    if (a->partition != b->partition) return a->partition < b->partition ? -1 : 1;
    return a->offset < b->offset ? -1 : a->offset > b->offset;
}

bool answers_drain(answer_store *s, answers_fn fn, void *ctx) {
    size_t n = ol_map_size(s->late), k = 0, pos = 0;
    late_entry **all = n ? malloc(n * sizeof *all) : NULL;
    if (n && !all) return false;
    const char *key;
    void *value;
    while (ol_map_next(s->late, &pos, &key, &value)) all[k++] = value;
    if (k > 1) qsort(all, k, sizeof *all, by_position);
    for (size_t i = 0; i < k; i++) {
        if (all[i]->flags & WSLOT_TAKEN) continue;
        stored_answer a;
        view(all[i]->order_id, all[i]->status, all[i]->reason, all[i]->flags, all[i]->remaining, &a);
        fn(ctx, all[i]->partition, all[i]->offset, &a);
    }
    free(all);
    free_late(s);
    return true;
}

size_t answers_held(const answer_store *s) { return s->late_held + answer_window_held(s->window); }

#include "answers.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ol_map.h"
#include "ol_str.h"

enum { SLOT_PRESENT = 1, SLOT_HAS_REMAINING = 2, SLOT_DUPLICATE = 4, SLOT_TAKEN = 8, SLOT_CONFLICT = 16 };
/* A partition's order_ids live in fixed chunks, filled one after the
 * other: a slot names its own by position (chunk and offset), which costs
 * no allocation per answer and no copy as they grow. */
#define CHUNK_BITS 20
#define CHUNK_SIZE ((size_t)1 << CHUNK_BITS)
#define MAX_CHUNKS ((size_t)1 << (32 - CHUNK_BITS))
typedef struct slot {
    int64_t remaining;
    uint32_t id; /* chunk << CHUNK_BITS | offset in it */
    uint8_t status, reason, flags;
} slot;

typedef struct late_entry {
    int32_t partition;
    int64_t offset;
    slot s;
    char *order_id;
} late_entry;

typedef struct part {
    bool set, settled;
    int64_t start, end;
    slot *slots;   /* end - start, with the first answer; NULL once settled */
    char **chunks; /* the slots' order_ids, each NUL-terminated */
    size_t n_chunks, chunks_cap, last_used;
    size_t held;    /* slots present */
    uint8_t *taken; /* one bit per offset: an answer was taken */
} part;

struct answer_store {
    part *parts;
    size_t n_parts;
    ol_map *late; /* "partition:offset" -> late_entry* (owned) */
    size_t late_held;
};

answer_store *answers_new(void) {
    answer_store *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->late = ol_map_new();
    if (!s->late) {
        free(s);
        return NULL;
    }
    return s;
}

static void free_slots(part *p) {
    free(p->slots);
    for (size_t i = 0; i < p->n_chunks; i++) free(p->chunks[i]);
    free(p->chunks);
    p->slots = NULL;
    p->chunks = NULL;
    p->n_chunks = p->chunks_cap = p->last_used = 0;
    p->held = 0;
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
    for (size_t i = 0; i < s->n_parts; i++) {
        free_slots(&s->parts[i]);
        free(s->parts[i].taken);
    }
    free(s->parts);
    free_late(s);
    ol_map_destroy(s->late);
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

static bool slot_matches(const slot *s, const char *order_id, const ol_result *r) {
    return strcmp(order_id, r->order_id) == 0 && s->status == (uint8_t)r->status && s->reason == (uint8_t)r->reason &&
           ((s->flags & SLOT_HAS_REMAINING) != 0) == r->has_remaining &&
           (!r->has_remaining || s->remaining == r->remaining) && ((s->flags & SLOT_DUPLICATE) != 0) == r->duplicate;
}

static void view(const slot *s, const char *order_id, stored_answer *out) {
    *out = (stored_answer){order_id,
                           (ol_status)s->status,
                           (ol_reason)s->reason,
                           (s->flags & SLOT_HAS_REMAINING) != 0,
                           s->remaining,
                           (s->flags & SLOT_DUPLICATE) != 0};
}

static void fill(slot *s, const ol_result *r) {
    s->status = (uint8_t)r->status;
    s->reason = (uint8_t)r->reason;
    s->remaining = r->remaining;
    s->flags = SLOT_PRESENT | (r->has_remaining ? SLOT_HAS_REMAINING : 0) | (r->duplicate ? SLOT_DUPLICATE : 0);
}

static const char *id_text(const part *p, uint32_t id) { return p->chunks[id >> CHUNK_BITS] + (id & (CHUNK_SIZE - 1)); }

/* Appends an order_id to p's chunks; false on OOM. */
static bool add_id(part *p, const char *order_id, uint32_t *pos) {
    size_t len = strlen(order_id) + 1;
    if (p->n_chunks == 0 || p->last_used + len > CHUNK_SIZE) {
        if (p->n_chunks == MAX_CHUNKS) return false;
        if (p->n_chunks == p->chunks_cap) {
            size_t cap = p->chunks_cap ? p->chunks_cap * 2 : 16;
            char **grown = realloc(p->chunks, cap * sizeof *grown);
            if (!grown) return false;
            p->chunks = grown;
            p->chunks_cap = cap;
        }
        if (!(p->chunks[p->n_chunks] = malloc(CHUNK_SIZE))) return false;
        p->n_chunks++;
        p->last_used = 0;
    }
    memcpy(p->chunks[p->n_chunks - 1] + p->last_used, order_id, len);
    *pos = (uint32_t)((p->n_chunks - 1) << CHUNK_BITS | p->last_used);
    p->last_used += len;
    return true;
}

/* A copy of an answer already stored in s. */
static answers_added again(slot *s, const char *order_id, const ol_result *r, stored_answer *first) {
    if ((s->flags & SLOT_CONFLICT) || slot_matches(s, order_id, r)) return ANSWERS_SAME_AGAIN;
    s->flags |= SLOT_CONFLICT;
    view(s, order_id, first);
    return ANSWERS_CONFLICT;
}

static bool was_taken(const part *p, int64_t offset) {
    int64_t i = offset - p->start;
    return (p->taken[i / 8] >> (i % 8)) & 1;
}

static answers_added add_late(answer_store *s, part *p, const ol_result *r, stored_answer *first) {
    char key[48];
    late_key(key, sizeof key, r->partition, r->offset);
    late_entry *e = ol_map_get(s->late, key);
    if (e) return again(&e->s, e->order_id, r, first);
    if (was_taken(p, r->offset)) return ANSWERS_UNVERIFIED;
    e = calloc(1, sizeof *e);
    if (e) e->order_id = strdup(r->order_id);
    if (!e || !e->order_id) {
        free(e);
        return ANSWERS_NO_MEMORY;
    }
    fill(&e->s, r);
    e->partition = r->partition;
    e->offset = r->offset;
    if (!ol_map_put(s->late, key, e)) {
        free(e->order_id);
        free(e);
        return ANSWERS_NO_MEMORY;
    }
    s->late_held++;
    return ANSWERS_ADDED;
}

answers_added answers_add(answer_store *s, const ol_result *r, stored_answer *first) {
    part *p = part_of(s, r->partition);
    if (!p || r->offset < p->start || r->offset >= p->end) return ANSWERS_OUTSIDE;
    if (p->settled) return add_late(s, p, r, first);
    if (!p->slots) {
        p->slots = calloc((size_t)(p->end - p->start), sizeof *p->slots);
        if (!p->slots) return ANSWERS_NO_MEMORY;
    }
    slot *sl = &p->slots[r->offset - p->start];
    if (sl->flags & SLOT_PRESENT) return again(sl, id_text(p, sl->id), r, first);
    if (was_taken(p, r->offset)) return ANSWERS_UNVERIFIED;
    if (!add_id(p, r->order_id, &sl->id)) return ANSWERS_NO_MEMORY;
    fill(sl, r);
    p->held++;
    return ANSWERS_ADDED;
}

static void mark_taken(part *p, int64_t offset) {
    int64_t i = offset - p->start;
    p->taken[i / 8] |= (uint8_t)(1u << (i % 8));
}

bool answers_take(answer_store *s, int32_t partition, int64_t offset, stored_answer *out) {
    part *p = part_of(s, partition);
    if (!p || offset < p->start || offset >= p->end) return false;
    slot *sl = p->slots ? &p->slots[offset - p->start] : NULL;
    if (sl && (sl->flags & SLOT_PRESENT) && !(sl->flags & SLOT_TAKEN)) {
        sl->flags |= SLOT_TAKEN;
        mark_taken(p, offset);
        view(sl, id_text(p, sl->id), out);
        return true;
    }
    char key[48];
    late_key(key, sizeof key, partition, offset);
    late_entry *e = ol_map_get(s->late, key);
    if (!e || (e->s.flags & SLOT_TAKEN)) return false;
    e->s.flags |= SLOT_TAKEN;
    mark_taken(p, offset);
    view(&e->s, e->order_id, out);
    return true;
}

bool answers_keep(answer_store *s, int32_t partition, int64_t offset) {
    part *p = part_of(s, partition);
    if (!p || offset < p->start || offset >= p->end || !p->slots) return true;
    slot *sl = &p->slots[offset - p->start];
    if (!(sl->flags & SLOT_PRESENT) || (sl->flags & SLOT_TAKEN)) return true;
    char key[48];
    late_key(key, sizeof key, partition, offset);
    late_entry *e = calloc(1, sizeof *e);
    if (e) *e = (late_entry){partition, offset, *sl, strdup(id_text(p, sl->id))};
    if (!e || !e->order_id || !ol_map_put(s->late, key, e)) {
        if (e) free(e->order_id);
        free(e);
        return false;
    }
    *sl = (slot){0};
    p->held--;
    s->late_held++;
    return true;
}

void answers_settle(answer_store *s, int32_t partition, answers_fn fn, void *ctx) {
    part *p = part_of(s, partition);
    if (!p || p->settled) return;
    p->settled = true;
    for (int64_t i = 0; p->slots && i < p->end - p->start; i++) {
        const slot *sl = &p->slots[i];
        if (!(sl->flags & SLOT_PRESENT) || (sl->flags & SLOT_TAKEN)) continue;
        stored_answer a;
        view(sl, id_text(p, sl->id), &a);
        fn(ctx, partition, p->start + i, &a);
    }
    free_slots(p);
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
        if (all[i]->s.flags & SLOT_TAKEN) continue;
        stored_answer a;
        view(&all[i]->s, all[i]->order_id, &a);
        fn(ctx, all[i]->partition, all[i]->offset, &a);
    }
    free(all);
    free_late(s);
    return true;
}

size_t answers_held(const answer_store *s) {
    size_t n = s->late_held;
    for (size_t i = 0; i < s->n_parts; i++) n += s->parts[i].held;
    return n;
}

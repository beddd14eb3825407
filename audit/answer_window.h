/* audit/answer_window: a bounded ring of answers over a sliding range of
 * one orders partition's offsets, read beside the replay. Pure.
 *
 * The results partition is read ahead of the replay, never further than
 * the window's capacity past the replay's position (next: every offset
 * below it is replayed). An answer ahead of that does not fit: the reader
 * waits until the replay moves on. Slots behind the replay stay until room
 * is needed, so that a copy published again soon after (a consumer
 * restart re-publishes its unacknowledged answers) still meets the first;
 * a slot leaving the window goes to the caller first.
 *
 * Pacing: the replay may compare the answers of offsets up to last once
 * the reader has offered an answer beyond last (answer_window_past), or
 * read the partition to its end. Answers come roughly in offset order;
 * those that come later than that are the caller's to keep apart. */
#ifndef AUDIT_ANSWER_WINDOW_H
#define AUDIT_ANSWER_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An order_id up to this long is kept in its slot; a longer one is
 * allocated (UUIDs and the generator's ids fit). */
#define WINDOW_ID_INLINE 40

enum { WSLOT_PRESENT = 1, WSLOT_HAS_REMAINING = 2, WSLOT_DUPLICATE = 4, WSLOT_TAKEN = 8, WSLOT_CONFLICT = 16 };

typedef struct window_slot {
    int64_t remaining;
    char *long_id; /* the order_id when longer than the inline room; owned */
    uint8_t status, reason, flags;
    char id[WINDOW_ID_INLINE + 1];
} window_slot;

typedef enum {
    WINDOW_PLACED, /* *slot is the offset's (present or not) */
    WINDOW_BEHIND, /* below the window: the caller keeps it apart */
    WINDOW_FULL,   /* too far ahead of the replay: offer it again after the replay moves on */
    WINDOW_NO_MEMORY
} window_place;

typedef struct answer_window answer_window;

/* A slot leaving the window (present only); false stops with OOM. */
typedef bool (*window_leave_fn)(void *ctx, int64_t offset, const window_slot *slot);

/* cap slots (at least 1); NULL on OOM. */
answer_window *answer_window_new(size_t cap);
/* NULL is accepted. */
void answer_window_destroy(answer_window *w);

/* Empties the window and starts it at offset lo, the replay's position. */
void answer_window_reset(answer_window *w, int64_t lo);

/* The slot for an answer at offset, making room by sliding the window
 * (never past the replay's position); the offset counts as offered
 * (answer_window_past) whatever the outcome. Leaving slots go to fn. */
window_place answer_window_place(answer_window *w, int64_t offset, window_leave_fn fn, void *ctx, window_slot **slot);

/* The slot of offset while it is in the window, else NULL. */
window_slot *answer_window_at(answer_window *w, int64_t offset);

/* The replay has passed every offset below next (it only grows). */
void answer_window_advance(answer_window *w, int64_t next);

/* Has an answer beyond last been offered? */
bool answer_window_past(const answer_window *w, int64_t last);

/* Every present slot, in offset order, to fn; then the window is empty
 * (its position kept). False when fn fails: the rest stays. */
bool answer_window_empty(answer_window *w, window_leave_fn fn, void *ctx);

/* Fills a placed slot that is not present; false on OOM (left empty). */
bool answer_window_store(answer_window *w, window_slot *slot, const char *order_id, uint8_t status, uint8_t reason,
                         bool has_remaining, int64_t remaining, bool duplicate);
/* Empties a present slot. */
void answer_window_remove(answer_window *w, window_slot *slot);
const char *window_slot_id(const window_slot *s);

/* Present slots (tests, memory). */
size_t answer_window_held(const answer_window *w);

#endif

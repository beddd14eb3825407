/* audit/answers: the answers read from the results topic, held for the
 * replay (replay.h) until it has compared them. Pure.
 *
 * Memory follows the replay's window, not the log. order-audit reads each
 * results partition beside the orders partition of the same number (with
 * the consumer's keying, results keyed by item like the orders, that is
 * where their answers are), no further ahead of the replay than the window
 * (answer_window.h): answers of the partition being replayed sit in its
 * ring until the replay has passed them and room is needed; after that a
 * partition keeps one bit per offset (was an answer taken). Answers that
 * fall outside the window (for another partition, or later than the
 * window's reach behind the replay) wait in a table apart, as do those the
 * replay keeps for the end. A copy of an answer already compared and gone
 * from the window is counted, not compared. */
#ifndef AUDIT_ANSWERS_H
#define AUDIT_ANSWERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ol_result.h"

/* A stored answer, borrowed: valid until the next call on the store. */
typedef struct stored_answer {
    const char *order_id;
    ol_status status;
    ol_reason reason;
    bool has_remaining;
    int64_t remaining;
    bool duplicate;
} stored_answer;

typedef enum {
    ANSWERS_ADDED,      /* the first copy */
    ANSWERS_SAME_AGAIN, /* a copy equal to the first */
    ANSWERS_CONFLICT,   /* a copy differing from the first (*first says how); reported once per message */
    ANSWERS_UNVERIFIED, /* a copy of an answer already compared and freed: not comparable */
    ANSWERS_OUTSIDE,    /* not in a replayed range: ignored */
    ANSWERS_LATER,      /* beyond the window's reach: offer it again once the replay has moved on */
    ANSWERS_NO_MEMORY
} answers_added;

typedef struct answer_store answer_store;

/* window: the ring's slots (at least the replay's largest batch). NULL on OOM. */
answer_store *answers_new(size_t window);
/* NULL is accepted. */
void answers_destroy(answer_store *store);

/* Partition p's replayed range [start, end); each partition once. False on
 * OOM or a partition given twice. */
bool answers_set_range(answer_store *store, int32_t partition, int64_t start, int64_t end);

/* The window follows partition from its range's start on (its results
 * are read from here); the previous partition's answers never taken are
 * kept apart. False on OOM or a partition without a range. */
bool answers_begin(answer_store *store, int32_t partition);
/* The replay has passed every offset of partition below next. */
void answers_advance(answer_store *store, int32_t partition, int64_t next);
/* May the replay compare partition's answers up to offset last: has an
 * answer beyond it been read? True for a partition the window does not
 * follow (nothing to wait for). */
bool answers_past(const answer_store *store, int32_t partition, int64_t last);

answers_added answers_add(answer_store *store, const ol_result *res, stored_answer *first);

/* Takes the answer for the message at (partition, offset): false when none
 * is stored. An answer is taken once. */
bool answers_take(answer_store *store, int32_t partition, int64_t offset, stored_answer *out);

/* Moves the answer at (partition, offset), if any, out of the window so
 * that it outlives answers_settle. False on OOM. */
bool answers_keep(answer_store *store, int32_t partition, int64_t offset);

typedef void (*answers_fn)(void *ctx, int32_t partition, int64_t offset, const stored_answer *a);

/* Settles a partition: every answer in the window for it and never taken
 * goes to fn (in offset order), then the window is freed for the next.
 * Answers of it kept apart, and later ones, wait for answers_drain.
 * Settling twice does nothing. */
void answers_settle(answer_store *store, int32_t partition, answers_fn fn, void *ctx);
bool answers_settled(const answer_store *store, int32_t partition);

/* Every answer kept apart and never taken, in (partition, offset) order,
 * to fn; then that table is emptied. False on OOM. */
bool answers_drain(answer_store *store, answers_fn fn, void *ctx);

/* Answers held now: the window's plus those kept apart (tests, memory). */
size_t answers_held(const answer_store *store);

#endif

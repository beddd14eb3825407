/* audit/answers: the answers read from the results topic, held for the
 * replay (replay.h) until it has compared them. Pure.
 *
 * Memory follows the replay, not the log. A partition's answers sit in one
 * slot per offset of its replayed range, allocated with its first answer,
 * until the replay settles the partition (it has moved past it): then the
 * slots are freed, and what remains of the partition is one bit per
 * offset (was an answer taken). order-audit reads each results partition
 * just before the orders partition of the same number, so with the
 * consumer's keying (results keyed by item, like the orders) only one
 * partition's answers are held at a time. An answer that comes for a
 * settled partition (published into another results partition) waits in a
 * small late table, as do the slots the replay keeps at settling (answers
 * it can compare only at the end). */
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
    ANSWERS_NO_MEMORY
} answers_added;

typedef struct answer_store answer_store;

/* NULL on OOM. */
answer_store *answers_new(void);
/* NULL is accepted. */
void answers_destroy(answer_store *store);

/* Partition p's replayed range [start, end); each partition once. False on
 * OOM or a partition given twice. */
bool answers_set_range(answer_store *store, int32_t partition, int64_t start, int64_t end);

answers_added answers_add(answer_store *store, const ol_result *res, stored_answer *first);

/* Takes the answer for the message at (partition, offset): false when none
 * is stored. An answer is taken once. */
bool answers_take(answer_store *store, int32_t partition, int64_t offset, stored_answer *out);

/* Moves the answer at (partition, offset), if any, to the late table so
 * that it outlives answers_settle. False on OOM. */
bool answers_keep(answer_store *store, int32_t partition, int64_t offset);

typedef void (*answers_fn)(void *ctx, int32_t partition, int64_t offset, const stored_answer *a);

/* Settles a partition: every answer stored for it and never taken goes to
 * fn (in offset order), then its slots are freed. Later answers for it go
 * to the late table. Settling twice does nothing. */
void answers_settle(answer_store *store, int32_t partition, answers_fn fn, void *ctx);
bool answers_settled(const answer_store *store, int32_t partition);

/* Every late answer never taken, in (partition, offset) order, to fn;
 * then the late table is emptied. False on OOM. */
bool answers_drain(answer_store *store, answers_fn fn, void *ctx);

/* Answers held now: slots in use plus the late table (tests, memory). */
size_t answers_held(const answer_store *store);

#endif

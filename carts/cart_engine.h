/* cart_engine: what order-carts decides for one carts-topic message, given
 * the cart as its ledger has it. Pure: the coordinator loads the cart,
 * calls cart_engine_apply, stores the record and sends the effects; the
 * same function over the same partition always decides the same.
 *
 * The outcome itself is ol_cart_flow's (the one transition function); this
 * adds what the flow leaves out: the cart's lines and the reasons its item
 * partitions gave, duplicates by order_id, and the answers. */
#ifndef CART_ENGINE_H
#define CART_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cart_msg.h"
#include "ol_cart_flow.h"

/* One cart as the coordinator's ledger keeps it (table carts). */
typedef struct cart_record {
    bool exists;
    ol_cart cart; /* cart_id, hold_s, merged lines */
    ol_cart_flow flow;
    ol_reason reasons[OL_CART_LINES_MAX]; /* a refused hold's reason */
    int32_t partition;                    /* where the cart was read */
    int64_t offset;
    int64_t created_ms; /* the cart's log timestamp */
} cart_record;

/* An answer to publish on the results topic (key = cart_id), and to keep
 * in cart_messages for repeats of its order_id. */
typedef struct cart_answer {
    cart_msg_kind kind; /* CART, CONFIRM, CANCEL or EXPIRE (INVALID: as its type said) */
    const char *type;   /* "cart", "cart_confirm", ... */
    char order_id[OL_ORDER_ID_MAX + 1];
    ol_status status;
    ol_reason reason;
    bool has_state; /* false: no such cart */
    ol_cart_status state;
    char error[OL_ERROR_MAX];
} cart_answer;

typedef enum {
    CART_EFFECT_NONE,      /* nothing changes: a stale answer, an unknown cart's answer */
    CART_EFFECT_DECIDED,   /* record changed and/or an answer is due */
    CART_EFFECT_DUPLICATE, /* the order_id was decided before: republish its answer */
} cart_effect_kind;

typedef struct cart_effects {
    cart_effect_kind kind;
    bool record_changed;
    ol_cart_actions actions; /* steps to send to the items' partitions */
    bool has_answer;
    cart_answer answer;
    char note[OL_ERROR_MAX]; /* why a message changed nothing, for the log */
} cart_effects;

/* Applies m, logged at ts_ms in (partition, offset), to *rec. decided says
 * whether m's order_id is already in cart_messages (a repeat). */
void cart_engine_apply(cart_record *rec, const cart_msg *m, bool decided, int32_t partition, int64_t offset,
                       int64_t ts_ms, cart_effects *out);

/* A line's status as the answers show it: holding, held, accepted,
 * rejected, released, restored. */
const char *cart_line_status(const cart_record *rec, size_t line);

/* The JSON writers below write, byte for byte, what jansson's compact dump
 * of the same values wrote (key order included). Each returns a string the
 * caller frees, or NULL when memory ran out or a string in it is not UTF-8.
 *
 * The answer's JSON (schemas/cart-result.schema.json); rec may be NULL or
 * not exist (no lines). An error that is not UTF-8 is left out. */
char *cart_answer_json(const cart_answer *a, const cart_record *rec, int32_t partition, int64_t offset,
                       int64_t processed_at_us, bool duplicate);

/* One step's message for the orders topic (carts/protocol.md); NULL also
 * when the step's order_id would be longer than OL_ORDER_ID_MAX. */
char *cart_step_json(const cart_record *rec, size_t line, ol_step step);

/* A line's forwarded answer for the carts topic. */
char *cart_line_result_json(const cart_line_answer *a);

/* The lines column (jsonb) of table carts, and back. */
char *cart_record_lines_json(const cart_record *rec);
bool cart_record_from_columns(cart_record *rec, const char *cart_id, const char *state, bool cancel_pending,
                              int32_t hold_s, int64_t created_ms, int32_t partition, int64_t offset,
                              const char *lines_json, char *err, size_t errlen);

/* The cart's deadline (0: none), and the status name for table carts. */
int64_t cart_record_expires_ms(const cart_record *rec);

#endif

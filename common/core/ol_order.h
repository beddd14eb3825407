/* ol_order: the order message on the orders topic, its limits, and its
 * validation. Pure: no I/O. Agrees with schemas/order.schema.json. */
#ifndef OL_ORDER_H
#define OL_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OL_ORDER_ID_MAX 128 /* bytes */
#define OL_ITEM_MAX 64      /* bytes */
#define OL_QUANTITY_MAX 1000000
#define OL_ERROR_MAX 256

#define OL_HOLD_MAX_S 86400

/* order takes stock (or holds it, with hold_s); restock adds it; confirm,
 * cancel and expire follow up an earlier order of the same item, named by
 * target (ol_lifecycle decides them). */
typedef enum { OL_TYPE_ORDER, OL_TYPE_RESTOCK, OL_TYPE_CONFIRM, OL_TYPE_CANCEL, OL_TYPE_EXPIRE } ol_order_type;

typedef struct ol_order {
    char order_id[OL_ORDER_ID_MAX + 1];
    char item[OL_ITEM_MAX + 1];
    ol_order_type type;
    int32_t quantity;                 /* order, restock; 0 for a follow-up */
    int32_t hold_s;                   /* order only: 1..OL_HOLD_MAX_S, or 0 for none */
    char target[OL_ORDER_ID_MAX + 1]; /* follow-ups: the order they follow up; else "" */
} ol_order;

/* Parses and validates one message value. key may be NULL (no key); when
 * present it must equal the item. Returns true and fills *out for a valid
 * order. On false, err says what was wrong and where (field names), and
 * out->order_id holds the order_id when one could still be read (else it is
 * the empty string), so the rejection can be answered. */
bool ol_order_parse(const char *value, size_t value_len, const char *key, size_t key_len, ol_order *out, char *err,
                    size_t errlen);

/* The same, also naming in *field the field that was wrong ("order_id",
 * "item", "quantity", "type", "hold_s", "target", or "key" for the message key); NULL when the
 * whole document was (not JSON, not an object) or nothing was wrong. */
bool ol_order_parse_field(const char *value, size_t value_len, const char *key, size_t key_len, ol_order *out,
                          char *err, size_t errlen, const char **field);

/* The general path alone: any JSON document, through jansson. The two
 * above read the common flat shape without building a tree and fall back to
 * this for anything else; exposed so that tests can show both agree. */
bool ol_order_parse_json(const char *value, size_t value_len, ol_order *out, char *err, size_t errlen,
                         const char **field);

/* The fast path alone: true only when it read a valid order of the flat
 * shape, and then *out is what ol_order_parse_json reads; false means it
 * declined (the general path decides). Exposed for the fuzzer's check that
 * the two agree (tests/fuzz/fuzz_order.c). */
bool ol_order_parse_flat(const char *value, size_t value_len, ol_order *out);

const char *ol_order_type_name(ol_order_type type);
/* Reads a type's name (len bytes, not terminated); false for any other. */
bool ol_order_type_parse(const char *name, size_t len, ol_order_type *out);
/* confirm, cancel and expire: they name a target and carry no quantity. */
bool ol_order_is_followup(ol_order_type type);

/* A hold's order_id leaves room for the suffix that makes its expire's
 * order_id (hold order_id + "#expire"), so a repeated expire is a
 * duplicate by order_id. */
#define OL_EXPIRE_SUFFIX "#expire"
#define OL_HOLD_ID_MAX (OL_ORDER_ID_MAX - (sizeof OL_EXPIRE_SUFFIX - 1))

#endif

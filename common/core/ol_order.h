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

typedef enum { OL_TYPE_ORDER, OL_TYPE_RESTOCK } ol_order_type;

typedef struct ol_order {
    char order_id[OL_ORDER_ID_MAX + 1];
    char item[OL_ITEM_MAX + 1];
    ol_order_type type;
    int32_t quantity;
} ol_order;

/* Parses and validates one message value. key may be NULL (no key); when
 * present it must equal the item. Returns true and fills *out for a valid
 * order. On false, err says what was wrong and where (field names), and
 * out->order_id holds the order_id when one could still be read (else it is
 * the empty string), so the rejection can be answered. */
bool ol_order_parse(const char *value, size_t value_len, const char *key, size_t key_len, ol_order *out, char *err,
                    size_t errlen);

/* The same, also naming in *field the field that was wrong ("order_id",
 * "item", "quantity", "type", or "key" for the message key); NULL when the
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

#endif

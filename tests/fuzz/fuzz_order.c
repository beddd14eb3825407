/* The order parser: the flat fast path against jansson's general path.
 *
 * The contract (common/core/ol_order.c): the fast path reads a strict
 * subset of JSON and succeeds only for a valid order, reading exactly what
 * the general path reads; for everything else it declines and the general
 * path decides, with its own message. So:
 *   - fast path true  => general path true, with the same four fields;
 *   - ol_order_parse_field (fast, then general) reaches the general path's
 *     verdict, fields, error text and field name, whatever the fast path did;
 *   - a valid order's fields are within the schema's limits;
 *   - the message key is checked against the item either way. */
#include "fuzz.h"

#include <string.h>

#include "ol_order.h"
#include "ol_str.h"

static void check_same(const ol_order *a, const ol_order *b, const char *what) {
    FUZZ_CHECK(strcmp(a->order_id, b->order_id) == 0, "%s: order_id '%s' vs '%s'", what, a->order_id, b->order_id);
    FUZZ_CHECK(strcmp(a->item, b->item) == 0, "%s: item '%s' vs '%s'", what, a->item, b->item);
    FUZZ_CHECK(a->type == b->type, "%s: type %d vs %d", what, (int)a->type, (int)b->type);
    FUZZ_CHECK(a->quantity == b->quantity, "%s: quantity %d vs %d", what, (int)a->quantity, (int)b->quantity);
}

static void check_valid(const ol_order *o) {
    size_t id = strlen(o->order_id), item = strlen(o->item);
    FUZZ_CHECK(id >= 1 && id <= OL_ORDER_ID_MAX && ol_utf8_valid(o->order_id, id), "order_id of %zu bytes", id);
    FUZZ_CHECK(item >= 1 && item <= OL_ITEM_MAX && ol_utf8_valid(o->item, item), "item of %zu bytes", item);
    FUZZ_CHECK(o->quantity >= 1 && o->quantity <= OL_QUANTITY_MAX, "quantity %d", (int)o->quantity);
    FUZZ_CHECK(o->type == OL_TYPE_ORDER || o->type == OL_TYPE_RESTOCK, "type %d", (int)o->type);
}

/* The key, as the consumer passes it: equal to the item passes, anything
 * else fails, and the order read stays the same. */
static void check_keys(const char *value, size_t len, const ol_order *general) {
    ol_order o;
    char err[OL_ERROR_MAX];
    const char *field;
    bool ok = ol_order_parse_field(value, len, general->item, strlen(general->item), &o, err, sizeof err, &field);
    FUZZ_CHECK(ok, "key equal to the item rejected: %s", err);
    check_same(&o, general, "with the item as key");
    /* The whole value as key: longer than the item it holds, so never equal. */
    ok = ol_order_parse_field(value, len, value, len, &o, err, sizeof err, &field);
    FUZZ_CHECK(!ok && field && strcmp(field, "key") == 0, "the value as its own key: ok %d", ok);
    FUZZ_CHECK(strcmp(o.order_id, general->order_id) == 0, "a key rejection lost the order_id");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *value = (const char *)data;
    ol_order flat, general, both;
    char gerr[OL_ERROR_MAX] = "", berr[OL_ERROR_MAX] = "";
    const char *gfield = NULL, *bfield = NULL;

    bool flat_ok = ol_order_parse_flat(value, size, &flat);
    bool general_ok = ol_order_parse_json(value, size, &general, gerr, sizeof gerr, &gfield);
    if (flat_ok) {
        FUZZ_CHECK(general_ok, "the fast path accepted what jansson rejects: %s", gerr);
        check_same(&flat, &general, "fast vs general");
    }
    if (general_ok) check_valid(&general);

    bool both_ok = ol_order_parse_field(value, size, NULL, 0, &both, berr, sizeof berr, &bfield);
    if (size == 0) {
        FUZZ_CHECK(!both_ok, "an empty message accepted");
        return 0;
    }
    FUZZ_CHECK(both_ok == general_ok, "parse_field says %d, jansson %d", both_ok, general_ok);
    if (both_ok) {
        check_same(&both, &general, "parse_field vs general");
        check_keys(value, size, &general);
    } else {
        FUZZ_CHECK(strcmp(berr, gerr) == 0, "messages differ: '%s' vs '%s'", berr, gerr);
        FUZZ_CHECK(bfield == gfield || (bfield && gfield && strcmp(bfield, gfield) == 0), "fields differ");
        FUZZ_CHECK(strcmp(both.order_id, general.order_id) == 0, "order_id on rejection differs");
    }
    return 0;
}

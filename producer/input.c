#include "input.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ol_str.h"

/* Which kind a line is, from its top level alone (NULL: not an object). */
static producer_line_kind kind_of(const json_t *root) {
    const json_t *type = json_object_get(root, "type");
    const char *t = json_is_string(type) ? json_string_value(type) : "";
    if (strcmp(t, "cart_confirm") == 0 || strcmp(t, "cart_cancel") == 0) return PRODUCER_LINE_CART_FOLLOW_UP;
    return json_object_get(root, "lines") ? PRODUCER_LINE_CART : PRODUCER_LINE_ORDER;
}

static bool id_field(const json_t *root, const char *name, size_t max, char *dst, size_t cap, char *why,
                     size_t whylen) {
    const json_t *v = json_object_get(root, name);
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max ||
        !ol_utf8_valid(json_string_value(v), json_string_length(v))) {
        ol_seterr(why, whylen, "field '%s' must be a string of 1 to %zu bytes", name, max);
        return false;
    }
    ol_strlcpy(dst, json_string_value(v), cap);
    return true;
}

static bool read_follow_up(const json_t *root, producer_line *out, char *why, size_t whylen) {
    ol_strlcpy(out->field, "order_id", sizeof out->field);
    if (!id_field(root, "order_id", OL_ORDER_ID_MAX, out->order_id, sizeof out->order_id, why, whylen)) return false;
    ol_strlcpy(out->field, "cart_id", sizeof out->field);
    if (!id_field(root, "cart_id", OL_CART_ID_MAX, out->key, sizeof out->key, why, whylen)) return false;
    out->field[0] = '\0';
    return true;
}

static bool read_cart(const char *line, size_t len, producer_line *out, char *why, size_t whylen) {
    ol_cart *cart = malloc(sizeof *cart);
    if (!cart) {
        ol_seterr(why, whylen, "out of memory");
        return false;
    }
    const char *field = NULL;
    bool ok = ol_cart_parse(line, len, NULL, 0, cart, why, whylen, &field);
    ol_strlcpy(out->order_id, cart->cart_id, sizeof out->order_id);
    ol_strlcpy(out->key, cart->cart_id, sizeof out->key);
    ol_strlcpy(out->field, field ? field : "", sizeof out->field);
    free(cart);
    return ok;
}

bool producer_line_read(const char *line, size_t len, producer_line *out, char *why, size_t whylen) {
    memset(out, 0, sizeof *out);
    json_t *root = json_loadb(line, len, 0, NULL);
    out->kind = json_is_object(root) ? kind_of(root) : PRODUCER_LINE_ORDER;
    bool ok = false;
    if (out->kind == PRODUCER_LINE_CART_FOLLOW_UP) ok = read_follow_up(root, out, why, whylen);
    json_decref(root);
    if (out->kind == PRODUCER_LINE_CART) return read_cart(line, len, out, why, whylen);
    if (out->kind == PRODUCER_LINE_CART_FOLLOW_UP) return ok;
    ol_order order;
    const char *field = NULL;
    ok = ol_order_parse_field(line, len, NULL, 0, &order, why, whylen, &field);
    ol_strlcpy(out->order_id, order.order_id, sizeof out->order_id);
    ol_strlcpy(out->key, order.item, sizeof out->key);
    ol_strlcpy(out->field, field ? field : "", sizeof out->field);
    return ok;
}

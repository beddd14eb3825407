#include "ol_cart.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ol_str.h"

static bool read_cart_id(const json_t *root, ol_cart *out, char *err, size_t errlen) {
    const json_t *v = json_object_get(root, "cart_id");
    if (!json_is_string(v)) {
        ol_seterr(err, errlen, v ? "field 'cart_id' must be a string" : "missing required field 'cart_id'");
        return false;
    }
    size_t len = json_string_length(v);
    if (len < 1 || len > OL_CART_ID_MAX) {
        ol_seterr(err, errlen, "field 'cart_id' must be 1 to %d bytes, got %zu", OL_CART_ID_MAX, len);
        return false;
    }
    memcpy(out->cart_id, json_string_value(v), len + 1);
    return true;
}

/* An integer from lo to hi, as JSON Schema counts integers (3.0 is one). */
static bool read_int(const json_t *v, const char *where, long lo, long hi, int32_t *out, char *err, size_t errlen) {
    double x = json_is_number(v) ? json_number_value(v) : 0;
    if (!json_is_number(v) || x != floor(x) || x < lo || x > hi) {
        ol_seterr(err, errlen, "%s must be an integer from %ld to %ld", where, lo, hi);
        return false;
    }
    *out = (int32_t)x;
    return true;
}

/* Adds one line, merged into an earlier one of the same item. */
static bool add_line(ol_cart *out, const char *item, int32_t quantity, size_t index, char *err, size_t errlen) {
    for (size_t i = 0; i < out->n_lines; i++) {
        if (strcmp(out->lines[i].item, item) != 0) continue;
        if ((int64_t)out->lines[i].quantity + quantity > OL_QUANTITY_MAX) {
            ol_seterr(err, errlen, "lines[%zu].quantity: merged with an earlier line of '%s' it passes %d", index, item,
                      OL_QUANTITY_MAX);
            return false;
        }
        out->lines[i].quantity += quantity;
        return true;
    }
    ol_cart_line *l = &out->lines[out->n_lines++];
    ol_strlcpy(l->item, item, sizeof l->item);
    l->quantity = quantity;
    return true;
}

static bool read_line(const json_t *line, size_t i, ol_cart *out, char *err, size_t errlen) {
    char where[48];
    if (!json_is_object(line)) {
        ol_seterr(err, errlen, "lines[%zu] must be an object with item and quantity", i);
        return false;
    }
    const json_t *item = json_object_get(line, "item");
    size_t len = json_is_string(item) ? json_string_length(item) : 0;
    if (len < 1 || len > OL_ITEM_MAX) {
        ol_seterr(err, errlen, "lines[%zu].item must be a string of 1 to %d bytes", i, OL_ITEM_MAX);
        return false;
    }
    int32_t quantity;
    snprintf(where, sizeof where, "lines[%zu].quantity", i);
    if (!read_int(json_object_get(line, "quantity"), where, 1, OL_QUANTITY_MAX, &quantity, err, errlen)) return false;
    return add_line(out, json_string_value(item), quantity, i, err, errlen);
}

static bool read_lines(const json_t *root, ol_cart *out, char *err, size_t errlen) {
    const json_t *lines = json_object_get(root, "lines");
    size_t n = json_is_array(lines) ? json_array_size(lines) : 0;
    if (n < 1 || n > OL_CART_LINES_MAX) {
        ol_seterr(err, errlen, "field 'lines' must be an array of 1 to %d lines", OL_CART_LINES_MAX);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        if (!read_line(json_array_get(lines, i), i, out, err, errlen)) return false;
    return true;
}

static bool parse_tree(const json_t *root, ol_cart *out, char *err, size_t errlen, const char **field) {
    *field = NULL;
    if (!json_is_object(root)) {
        ol_seterr(err, errlen, "message must be a JSON object");
        return false;
    }
    *field = "cart_id";
    if (!read_cart_id(root, out, err, errlen)) return false;
    *field = "lines";
    if (!read_lines(root, out, err, errlen)) return false;
    *field = "hold_s";
    const json_t *hold = json_object_get(root, "hold_s");
    if (hold && !read_int(hold, "field 'hold_s'", 1, OL_HOLD_MAX_S, &out->hold_s, err, errlen)) return false;
    *field = NULL;
    return true;
}

bool ol_cart_parse(const char *value, size_t value_len, const char *key, size_t key_len, ol_cart *out, char *err,
                   size_t errlen, const char **field) {
    memset(out, 0, sizeof *out);
    *field = NULL;
    json_error_t jerr;
    json_t *root = value && value_len
                       ? json_loadb(value, value_len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &jerr)
                       : NULL;
    if (!root) {
        ol_seterr(err, errlen, "not valid JSON: %s", value && value_len ? jerr.text : "empty message");
        return false;
    }
    bool ok = parse_tree(root, out, err, errlen, field);
    json_decref(root);
    if (ok && key && (key_len != strlen(out->cart_id) || memcmp(key, out->cart_id, key_len) != 0)) {
        *field = "key";
        ol_seterr(err, errlen, "message key does not match field 'cart_id'");
        ok = false;
    }
    return ok;
}

bool ol_cart_line_order_id(const char *cart_id, size_t line, const char *phase, char *out, size_t outlen) {
    int n = snprintf(out, outlen, "%s#%zu#%s", cart_id, line, phase);
    return n > 0 && (size_t)n < outlen && (size_t)n <= OL_ORDER_ID_MAX;
}

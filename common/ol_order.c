#include "ol_order.h"

#include <jansson.h>
#include <math.h>
#include <string.h>

#include "ol_str.h"

const char *ol_order_type_name(ol_order_type type) { return type == OL_TYPE_RESTOCK ? "restock" : "order"; }

static const char *json_type_name(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "unknown";
}

/* Reads a required string field of 1..max bytes into dst. */
static bool read_string(const json_t *obj, const char *field, size_t max, char *dst, char *err, size_t errlen) {
    const json_t *v = json_object_get(obj, field);
    if (!v) {
        ol_seterr(err, errlen, "missing required field '%s'", field);
        return false;
    }
    if (!json_is_string(v)) {
        ol_seterr(err, errlen, "field '%s' must be a string, got %s", field, json_type_name(v));
        return false;
    }
    size_t len = json_string_length(v);
    if (len < 1 || len > max) {
        ol_seterr(err, errlen, "field '%s' must be 1 to %zu bytes, got %zu", field, max, len);
        return false;
    }
    /* jansson rejects invalid UTF-8 and \u0000 at parse time, so the bytes
     * are safe to copy as a C string. */
    memcpy(dst, json_string_value(v), len);
    dst[len] = '\0';
    return true;
}

static bool read_quantity(const json_t *obj, int32_t *out, char *err, size_t errlen) {
    const json_t *v = json_object_get(obj, "quantity");
    if (!v) {
        ol_seterr(err, errlen, "missing required field 'quantity'");
        return false;
    }
    if (!json_is_number(v)) {
        ol_seterr(err, errlen, "field 'quantity' must be an integer, got %s", json_type_name(v));
        return false;
    }
    /* Numbers arrive as reals (JSON_DECODE_INT_AS_REAL below); every
     * integer up to 2^53 is exact, far beyond the limit. JSON Schema counts
     * 3.0 as an integer; so do we. 2.5 is not. */
    double q = json_number_value(v);
    if (q != floor(q)) {
        ol_seterr(err, errlen, "field 'quantity' must be an integer, got %.15g", q);
        return false;
    }
    if (q < 1 || q > OL_QUANTITY_MAX) {
        ol_seterr(err, errlen, "field 'quantity' must be an integer from 1 to %d, got %.15g", OL_QUANTITY_MAX, q);
        return false;
    }
    *out = (int32_t)q;
    return true;
}

bool ol_order_parse(const char *value, size_t value_len, const char *key, size_t key_len, ol_order *out,
                    char *err, size_t errlen) {
    const char *field;
    return ol_order_parse_field(value, value_len, key, key_len, out, err, errlen, &field);
}

bool ol_order_parse_field(const char *value, size_t value_len, const char *key, size_t key_len, ol_order *out,
                          char *err, size_t errlen, const char **field) {
    memset(out, 0, sizeof *out);
    *field = NULL;
    if (!value || value_len == 0) {
        ol_seterr(err, errlen, "empty message: expected a JSON object");
        return false;
    }
    json_error_t jerr;
    /* JSON_DECODE_INT_AS_REAL: jansson fails the whole document on an
     * integer beyond int64 ("too big integer"), even in a field we ignore,
     * which would reject a valid order and lose its order_id. As reals such
     * numbers parse, and a huge quantity is rejected as out of range. */
    json_t *root = json_loadb(value, value_len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &jerr);
    if (!root) {
        ol_seterr(err, errlen, "not valid JSON: %s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
        return false;
    }
    bool ok = false;
    if (!json_is_object(root)) {
        ol_seterr(err, errlen, "message must be a JSON object, got %s", json_type_name(root));
        goto done;
    }
    /* order_id first: once it is readable, every rejection can be answered. */
    *field = "order_id";
    if (!read_string(root, "order_id", OL_ORDER_ID_MAX, out->order_id, err, errlen)) {
        out->order_id[0] = '\0';
        goto done;
    }
    *field = "item";
    if (!read_string(root, "item", OL_ITEM_MAX, out->item, err, errlen)) goto done;
    *field = "quantity";
    if (!read_quantity(root, &out->quantity, err, errlen)) goto done;
    *field = "type";
    const json_t *type = json_object_get(root, "type");
    if (!type || (json_is_string(type) && strcmp(json_string_value(type), "order") == 0)) {
        out->type = OL_TYPE_ORDER;
    } else if (json_is_string(type) && strcmp(json_string_value(type), "restock") == 0) {
        out->type = OL_TYPE_RESTOCK;
    } else {
        char shown[64] = "";
        if (json_is_string(type)) ol_printable(shown, sizeof shown, json_string_value(type), json_string_length(type));
        ol_seterr(err, errlen, "field 'type' must be \"order\" or \"restock\", got %s%s%s%s",
                  json_type_name(type), *shown ? " \"" : "", shown, *shown ? "\"" : "");
        goto done;
    }
    *field = "key";
    if (key) {
        if (!ol_utf8_valid(key, key_len)) {
            ol_seterr(err, errlen, "message key is not valid UTF-8");
            goto done;
        }
        if (key_len != strlen(out->item) || memcmp(key, out->item, key_len) != 0) {
            char shown[96];
            ol_printable(shown, sizeof shown, key, key_len);
            ol_seterr(err, errlen, "message key '%s' does not match field 'item' '%s'", shown, out->item);
            goto done;
        }
    }
    ok = true;
    *field = NULL;
done:
    json_decref(root);
    return ok;
}

#include "ol_order.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "ol_flat.h"
#include "ol_str.h"

static const char *const TYPE_NAMES[] = {"order", "restock", "confirm", "cancel", "expire"};
#define TYPE_COUNT (sizeof TYPE_NAMES / sizeof TYPE_NAMES[0])

const char *ol_order_type_name(ol_order_type type) { return (unsigned)type < TYPE_COUNT ? TYPE_NAMES[type] : "order"; }

bool ol_order_type_parse(const char *name, size_t len, ol_order_type *out) {
    for (size_t i = 0; i < TYPE_COUNT; i++)
        if (strlen(TYPE_NAMES[i]) == len && memcmp(TYPE_NAMES[i], name, len) == 0) {
            *out = (ol_order_type)i;
            return true;
        }
    return false;
}

bool ol_order_is_followup(ol_order_type type) {
    return type == OL_TYPE_CONFIRM || type == OL_TYPE_CANCEL || type == OL_TYPE_EXPIRE;
}

/* Which optional members a message had, for the checks both paths share. */
enum { HAS_QUANTITY = 1u, HAS_HOLD = 2u, HAS_TARGET = 4u };

/* The rules across fields, once each field is well formed: what a type
 * needs and forbids, and the order_ids holds and expires must have. */
static bool check_shape(const ol_order *o, unsigned has, char *err, size_t errlen, const char **field) {
    const char *type = ol_order_type_name(o->type);
    bool followup = ol_order_is_followup(o->type);
    *field = followup ? "target" : "quantity";
    if (followup && !(has & HAS_TARGET))
        return ol_seterr(err, errlen, "missing required field 'target' (the order a %s follows up)", type), false;
    if (!followup && !(has & HAS_QUANTITY)) return ol_seterr(err, errlen, "missing required field 'quantity'"), false;
    *field = followup ? "quantity" : "target";
    if (followup && (has & HAS_QUANTITY))
        return ol_seterr(err, errlen, "field 'quantity' is not allowed on a %s: its target's units are meant", type),
               false;
    if (!followup && (has & HAS_TARGET))
        return ol_seterr(err, errlen, "field 'target' is only for confirm, cancel and expire, not %s", type), false;
    *field = "hold_s";
    if ((has & HAS_HOLD) && o->type != OL_TYPE_ORDER)
        return ol_seterr(err, errlen, "field 'hold_s' is only for orders, not %s", type), false;
    *field = "order_id";
    if (o->hold_s > 0 && strlen(o->order_id) > OL_HOLD_ID_MAX)
        return ol_seterr(err, errlen,
                         "field 'order_id' must be at most %zu bytes on a hold (its expire adds \"%s\"), got %zu",
                         (size_t)OL_HOLD_ID_MAX, OL_EXPIRE_SUFFIX, strlen(o->order_id)),
               false;
    *field = "target";
    if (followup && strcmp(o->target, o->order_id) == 0)
        return ol_seterr(err, errlen, "field 'target' names this very message"), false;
    *field = "order_id";
    size_t tn = strlen(o->target);
    if (o->type == OL_TYPE_EXPIRE &&
        (strlen(o->order_id) != tn + strlen(OL_EXPIRE_SUFFIX) || memcmp(o->order_id, o->target, tn) != 0 ||
         strcmp(o->order_id + tn, OL_EXPIRE_SUFFIX) != 0))
        return ol_seterr(err, errlen, "field 'order_id' of an expire must be its target's followed by \"%s\"",
                         OL_EXPIRE_SUFFIX),
               false;
    *field = NULL;
    return true;
}

static const char *json_type_name(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
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

static bool read_type(const json_t *obj, ol_order_type *out, char *err, size_t errlen) {
    const json_t *type = json_object_get(obj, "type");
    if (!type) {
        *out = OL_TYPE_ORDER;
        return true;
    }
    if (json_is_string(type) && ol_order_type_parse(json_string_value(type), json_string_length(type), out))
        return true;
    char shown[64] = "";
    if (json_is_string(type)) ol_printable(shown, sizeof shown, json_string_value(type), json_string_length(type));
    ol_seterr(err, errlen,
              "field 'type' must be \"order\", \"restock\", \"confirm\", \"cancel\" or \"expire\", got %s%s%s%s",
              json_type_name(type), *shown ? " \"" : "", shown, *shown ? "\"" : "");
    return false;
}

static bool read_hold(const json_t *obj, int32_t *out, char *err, size_t errlen) {
    const json_t *v = json_object_get(obj, "hold_s");
    double h = json_is_number(v) ? json_number_value(v) : 0;
    if (!json_is_number(v) || h != floor(h) || h < 1 || h > OL_HOLD_MAX_S) {
        char got[32];
        if (json_is_number(v)) snprintf(got, sizeof got, "%.15g", h);
        ol_seterr(err, errlen, "field 'hold_s' must be an integer from 1 to %d (seconds), got %s", OL_HOLD_MAX_S,
                  json_is_number(v) ? got : json_type_name(v));
        return false;
    }
    *out = (int32_t)h;
    return true;
}

/* Checks the message key, when there is one, against the item. */
static bool check_key(const char *key, size_t key_len, const char *item, char *err, size_t errlen) {
    if (!key) return true;
    if (!ol_utf8_valid(key, key_len)) {
        ol_seterr(err, errlen, "message key is not valid UTF-8");
        return false;
    }
    if (key_len != strlen(item) || memcmp(key, item, key_len) != 0) {
        char shown[96];
        ol_printable(shown, sizeof shown, key, key_len);
        ol_seterr(err, errlen, "message key '%s' does not match field 'item' '%s'", shown, item);
        return false;
    }
    return true;
}

/* ---- The fast path: the flat shape producers send (ol_flat.h). It
 * succeeds only for a valid order: every error, and every shape it does not
 * know, goes to the general path, which owns the messages. jansson's tree
 * was most of the consumer's parse time (bench/notes.md). */

/* Applies one member to *out; false when it makes the order invalid. */
static bool flat_member(const ol_flat_value *v, ol_order *out, unsigned *seen) {
    if (OL_FLAT_IS(v, "order_id")) {
        *seen |= 1u;
        return ol_flat_copy(v, OL_ORDER_ID_MAX, out->order_id);
    }
    if (OL_FLAT_IS(v, "item")) {
        *seen |= 2u;
        return ol_flat_copy(v, OL_ITEM_MAX, out->item);
    }
    if (OL_FLAT_IS(v, "quantity")) {
        *seen |= 4u;
        if (v->kind != OL_FLAT_INTEGER || v->integer < 1 || v->integer > OL_QUANTITY_MAX) return false;
        out->quantity = (int32_t)v->integer;
        return true;
    }
    if (OL_FLAT_IS(v, "type")) return v->kind == OL_FLAT_STRING && ol_order_type_parse(v->s, v->len, &out->type);
    if (OL_FLAT_IS(v, "hold_s")) {
        *seen |= 8u;
        if (v->kind != OL_FLAT_INTEGER || v->integer < 1 || v->integer > OL_HOLD_MAX_S) return false;
        out->hold_s = (int32_t)v->integer;
        return true;
    }
    if (OL_FLAT_IS(v, "target")) {
        *seen |= 16u;
        return ol_flat_copy(v, OL_ORDER_ID_MAX, out->target);
    }
    return true;
}

static bool parse_flat(const char *value, size_t value_len, ol_order *out) {
    ol_flat_reader r;
    ol_flat_value v;
    unsigned seen = 0;
    if (!ol_flat_open(&r, value, value_len)) return false;
    while (ol_flat_next(&r, &v))
        if (!flat_member(&v, out, &seen)) return false;
    if (!ol_flat_close(&r) || (seen & 3u) != 3u) return false;
    unsigned has = ((seen & 4u) ? HAS_QUANTITY : 0) | ((seen & 8u) ? HAS_HOLD : 0) | ((seen & 16u) ? HAS_TARGET : 0);
    char err[OL_ERROR_MAX];
    const char *field;
    return check_shape(out, has, err, sizeof err, &field);
}

bool ol_order_parse_flat(const char *value, size_t value_len, ol_order *out) {
    memset(out, 0, sizeof *out);
    return parse_flat(value, value_len, out);
}

/* ---- The general path: any JSON document, with a precise error. */
bool ol_order_parse_json(const char *value, size_t value_len, ol_order *out, char *err, size_t errlen,
                         const char **field) {
    memset(out, 0, sizeof *out);
    *field = NULL;
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
    *field = "type";
    if (!read_type(root, &out->type, err, errlen)) goto done;
    unsigned has = 0;
    *field = "quantity";
    if (json_object_get(root, "quantity")) {
        has |= HAS_QUANTITY;
        if (!read_quantity(root, &out->quantity, err, errlen)) goto done;
    }
    *field = "hold_s";
    if (json_object_get(root, "hold_s")) {
        has |= HAS_HOLD;
        if (!read_hold(root, &out->hold_s, err, errlen)) goto done;
    }
    *field = "target";
    if (json_object_get(root, "target")) {
        has |= HAS_TARGET;
        if (!read_string(root, "target", OL_ORDER_ID_MAX, out->target, err, errlen)) goto done;
    }
    if (!check_shape(out, has, err, errlen, field)) goto done;
    ok = true;
    *field = NULL;
done:
    json_decref(root);
    return ok;
}

bool ol_order_parse(const char *value, size_t value_len, const char *key, size_t key_len, ol_order *out, char *err,
                    size_t errlen) {
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
    if (!parse_flat(value, value_len, out) && !ol_order_parse_json(value, value_len, out, err, errlen, field))
        return false;
    *field = "key";
    if (!check_key(key, key_len, out->item, err, errlen)) return false;
    *field = NULL;
    return true;
}

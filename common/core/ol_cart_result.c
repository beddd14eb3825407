#include "ol_cart_result.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ol_str.h"
#include "ol_time.h"

static const char *const type_names[] = {"cart", "cart_confirm", "cart_cancel", "cart_expire"};
static const char *const line_statuses[] = {"holding", "held", "accepted", "rejected", "released", "restored"};

const char *ol_cart_answer_type_name(ol_cart_answer_type type) {
    return (unsigned)type < sizeof type_names / sizeof type_names[0] ? type_names[type] : "?";
}

bool ol_cart_result_maybe(const char *value, size_t len) {
    static const char needle[] = "\"topic\"";
    size_t n = sizeof needle - 1;
    for (size_t i = 0; i + n <= len; i++)
        if (value[i] == '"' && memcmp(value + i, needle, n) == 0) return true;
    return false;
}

/* A string member of at most cap - 1 bytes into dst. */
static bool copy_string(const json_t *v, const char *field, char *dst, size_t cap, char *err, size_t errlen) {
    if (!json_is_string(v) || json_string_length(v) >= cap || json_string_length(v) == 0) {
        ol_seterr(err, errlen, "cart answer: field '%s' must be a string of 1 to %zu bytes", field, cap - 1);
        return false;
    }
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return true;
}

/* A nullable string member that must be one of what parse accepts. */
static bool reason_of(const json_t *v, const char *field, ol_reason *out, char *err, size_t errlen) {
    if (json_is_null(v) || !v) {
        *out = OL_REASON_NONE;
        return true;
    }
    if (json_is_string(v) && ol_reason_parse(json_string_value(v), out) && *out != OL_REASON_NONE) return true;
    ol_seterr(err, errlen, "cart answer: field '%s' is not a reason", field);
    return false;
}

static bool state_of(const json_t *v, ol_cart_result *out, char *err, size_t errlen) {
    out->has_state = false;
    if (json_is_null(v)) return true;
    for (int s = OL_CART_HOLDING; json_is_string(v) && s <= OL_CART_EXPIRED; s++)
        if (strcmp(ol_cart_status_name((ol_cart_status)s), json_string_value(v)) == 0) {
            out->state = (ol_cart_status)s;
            out->has_state = true;
            return true;
        }
    ol_seterr(err, errlen, "cart answer: field 'state' is not a cart's state");
    return false;
}

static bool time_of(const json_t *v, const char *field, bool nullable, int64_t *out_us, char *err, size_t errlen) {
    *out_us = 0;
    if (nullable && json_is_null(v)) return true;
    char why[128];
    if (json_is_string(v) && ol_time_arg_parse(json_string_value(v), 0, out_us, why, sizeof why) &&
        strchr(json_string_value(v), 'T'))
        return true;
    ol_seterr(err, errlen, "cart answer: field '%s' is not RFC 3339 UTC", field);
    return false;
}

static bool line_of(const json_t *o, size_t i, ol_cart_result_line *l, char *err, size_t errlen) {
    const json_t *q = json_object_get(o, "quantity"), *st = json_object_get(o, "status");
    char where[48];
    snprintf(where, sizeof where, "lines[%zu].item", i);
    if (!json_is_object(o) || !copy_string(json_object_get(o, "item"), where, l->item, sizeof l->item, err, errlen))
        return false;
    if (!json_is_integer(q) || json_integer_value(q) < 1 || json_integer_value(q) > OL_QUANTITY_MAX) {
        ol_seterr(err, errlen, "cart answer: lines[%zu].quantity is not a quantity", i);
        return false;
    }
    l->quantity = (int32_t)json_integer_value(q);
    bool known = false;
    for (size_t k = 0; json_is_string(st) && k < sizeof line_statuses / sizeof line_statuses[0]; k++)
        known = known || strcmp(json_string_value(st), line_statuses[k]) == 0;
    if (!known) {
        ol_seterr(err, errlen, "cart answer: lines[%zu].status is not a line's status", i);
        return false;
    }
    ol_strlcpy(l->status, json_string_value(st), sizeof l->status);
    snprintf(where, sizeof where, "lines[%zu].reason", i);
    return reason_of(json_object_get(o, "reason"), where, &l->reason, err, errlen);
}

static bool lines_of(const json_t *v, ol_cart_result *out, char *err, size_t errlen) {
    if (!json_is_array(v) || json_array_size(v) > OL_CART_LINES_MAX) {
        ol_seterr(err, errlen, "cart answer: field 'lines' must be an array of at most %d lines", OL_CART_LINES_MAX);
        return false;
    }
    out->n_lines = json_array_size(v);
    for (size_t i = 0; i < out->n_lines; i++)
        if (!line_of(json_array_get(v, i), i, &out->lines[i], err, errlen)) return false;
    return true;
}

static bool type_of(const json_t *v, ol_cart_answer_type *out, char *err, size_t errlen) {
    for (size_t i = 0; json_is_string(v) && i < sizeof type_names / sizeof type_names[0]; i++)
        if (strcmp(json_string_value(v), type_names[i]) == 0) {
            *out = (ol_cart_answer_type)i;
            return true;
        }
    ol_seterr(err, errlen, "cart answer: field 'type' is not a cart message's type");
    return false;
}

static bool position_of(const json_t *root, ol_cart_result *out, char *err, size_t errlen) {
    const json_t *p = json_object_get(root, "partition"), *o = json_object_get(root, "offset");
    const json_t *d = json_object_get(root, "duplicate");
    if (!json_is_integer(p) || !json_is_integer(o) || json_integer_value(p) < 0 || json_integer_value(p) > INT32_MAX ||
        json_integer_value(o) < 0 || !json_is_boolean(d)) {
        ol_seterr(err, errlen, "cart answer: partition, offset and duplicate are required");
        return false;
    }
    out->partition = (int32_t)json_integer_value(p);
    out->offset = json_integer_value(o);
    out->duplicate = json_is_true(d);
    return true;
}

static bool from_tree(const json_t *root, ol_cart_result *out, char *err, size_t errlen) {
    const json_t *topic = json_object_get(root, "topic"), *status = json_object_get(root, "status");
    const json_t *error = json_object_get(root, "error");
    if (!json_is_string(topic) || strcmp(json_string_value(topic), "carts") != 0) {
        ol_seterr(err, errlen, "not a cart answer: no \"topic\":\"carts\"");
        return false;
    }
    if (!copy_string(json_object_get(root, "order_id"), "order_id", out->order_id, sizeof out->order_id, err, errlen) ||
        !copy_string(json_object_get(root, "cart_id"), "cart_id", out->cart_id, sizeof out->cart_id, err, errlen) ||
        !type_of(json_object_get(root, "type"), &out->type, err, errlen))
        return false;
    if (!json_is_string(status) || !ol_status_parse(json_string_value(status), &out->status)) {
        ol_seterr(err, errlen, "cart answer: field 'status' is not a status");
        return false;
    }
    if (json_is_string(error)) ol_strlcpy(out->error, json_string_value(error), sizeof out->error);
    return reason_of(json_object_get(root, "reason"), "reason", &out->reason, err, errlen) &&
           state_of(json_object_get(root, "state"), out, err, errlen) &&
           time_of(json_object_get(root, "hold_expires_at"), "hold_expires_at", true, &out->hold_expires_at_us, err,
                   errlen) &&
           time_of(json_object_get(root, "processed_at"), "processed_at", false, &out->processed_at_us, err, errlen) &&
           lines_of(json_object_get(root, "lines"), out, err, errlen) && position_of(root, out, err, errlen);
}

bool ol_cart_result_from_json(const char *value, size_t len, ol_cart_result *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *root = json_loadb(value, len, 0, &jerr);
    if (!root) {
        ol_seterr(err, errlen, "not valid JSON: %s", jerr.text);
        return false;
    }
    bool ok = json_is_object(root) && from_tree(root, out, err, errlen);
    if (!json_is_object(root)) ol_seterr(err, errlen, "a cart answer is a JSON object");
    json_decref(root);
    return ok;
}

void ol_cart_result_as_result(const ol_cart_result *c, ol_result *out) {
    memset(out, 0, sizeof *out);
    memcpy(out->order_id, c->order_id, sizeof out->order_id);
    out->status = c->status;
    out->reason = c->reason;
    out->duplicate = c->duplicate;
    out->partition = c->partition;
    out->offset = c->offset;
    out->processed_at_us = c->processed_at_us;
    out->hold_expires_at_us = c->hold_expires_at_us;
    ol_strlcpy(out->error, c->error, sizeof out->error);
}

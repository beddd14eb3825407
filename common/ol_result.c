#include "ol_result.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ol_str.h"

const char *ol_status_name(ol_status status) { return status == OL_STATUS_ACCEPTED ? "accepted" : "rejected"; }

const char *ol_reason_name(ol_reason reason) {
    switch (reason) {
    case OL_REASON_NONE: return NULL;
    case OL_REASON_INSUFFICIENT_STOCK: return "insufficient_stock";
    case OL_REASON_UNKNOWN_ITEM: return "unknown_item";
    case OL_REASON_INVALID: return "invalid";
    }
    return NULL;
}

bool ol_status_parse(const char *text, ol_status *out) {
    if (text && strcmp(text, "accepted") == 0) *out = OL_STATUS_ACCEPTED;
    else if (text && strcmp(text, "rejected") == 0) *out = OL_STATUS_REJECTED;
    else return false;
    return true;
}

bool ol_reason_parse(const char *text, ol_reason *out) {
    if (!text) *out = OL_REASON_NONE;
    else if (strcmp(text, "insufficient_stock") == 0) *out = OL_REASON_INSUFFICIENT_STOCK;
    else if (strcmp(text, "unknown_item") == 0) *out = OL_REASON_UNKNOWN_ITEM;
    else if (strcmp(text, "invalid") == 0) *out = OL_REASON_INVALID;
    else return false;
    return true;
}

char *ol_result_to_json(const ol_result *r) {
    char stamp[40];
    ol_format_rfc3339(stamp, sizeof stamp, r->processed_at_us);
    const char *reason = ol_reason_name(r->reason);
    json_t *obj = json_object();
    if (!obj) return NULL;
    int rc = 0;
    rc |= json_object_set_new(obj, "order_id", r->order_id[0] ? json_string(r->order_id) : json_null());
    rc |= json_object_set_new(obj, "item", r->has_order ? json_string(r->item) : json_null());
    rc |= json_object_set_new(obj, "type", r->has_order ? json_string(ol_order_type_name(r->type)) : json_null());
    rc |= json_object_set_new(obj, "quantity", r->has_order ? json_integer(r->quantity) : json_null());
    rc |= json_object_set_new(obj, "status", json_string(ol_status_name(r->status)));
    rc |= json_object_set_new(obj, "reason", reason ? json_string(reason) : json_null());
    rc |= json_object_set_new(obj, "remaining", r->has_remaining ? json_integer(r->remaining) : json_null());
    rc |= json_object_set_new(obj, "duplicate", json_boolean(r->duplicate));
    rc |= json_object_set_new(obj, "partition", json_integer(r->partition));
    rc |= json_object_set_new(obj, "offset", json_integer(r->offset));
    rc |= json_object_set_new(obj, "processed_at", json_string(stamp));
    if (r->error[0]) rc |= json_object_set_new(obj, "error", json_string(r->error));
    char *out = rc == 0 ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(obj);
    return out;
}

/* Parses "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" into microseconds. */
static bool parse_rfc3339(const char *text, int64_t *out) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *rest = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest) return false;
    int64_t micros = 0;
    if (*rest == '.') {
        int digits = 0;
        for (rest++; *rest >= '0' && *rest <= '9'; rest++, digits++)
            if (digits < 6) micros = micros * 10 + (*rest - '0');
        if (digits == 0) return false;
        for (; digits < 6; digits++) micros *= 10;
    }
    if (strcmp(rest, "Z") != 0) return false;
    *out = (int64_t)timegm(&tm) * 1000000 + micros;
    return true;
}

/* A field that is a string or null: *out is the string, or NULL. */
static bool nullable_string(const json_t *v, const char *field, const char **out, char *err, size_t errlen) {
    if (json_is_null(v)) {
        *out = NULL;
        return true;
    }
    if (!json_is_string(v)) {
        ol_seterr(err, errlen, "result: field '%s' must be a string or null", field);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

bool ol_result_from_json(const char *value, size_t len, ol_result *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *root = json_loadb(value, len, 0, &jerr);
    if (!root) {
        ol_seterr(err, errlen, "not valid JSON: %s", jerr.text);
        return false;
    }
    bool ok = false;
    const char *order_id = NULL, *item = NULL, *type = NULL, *status = NULL, *reason = NULL, *stamp = NULL,
               *error = NULL;
    json_t *order_id_v = NULL, *item_v = NULL, *type_v = NULL, *reason_v = NULL;
    json_t *quantity = NULL, *remaining = NULL, *duplicate = NULL;
    json_int_t partition = 0, offset = 0;
    /* jansson's unpack has no "string or null" value format ("s?" after a
     * value is read as the next key and fails every document), so the
     * nullable strings are unpacked as objects and checked below. */
    if (json_unpack_ex(root, &jerr, 0, "{s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:I, s:I, s:s, s?s}",
                       "order_id", &order_id_v, "item", &item_v, "type", &type_v, "quantity", &quantity, "status",
                       &status, "reason", &reason_v, "remaining", &remaining, "duplicate", &duplicate,
                       "partition", &partition, "offset", &offset, "processed_at", &stamp, "error", &error) != 0) {
        ol_seterr(err, errlen, "result: %s", jerr.text);
        goto done;
    }
    if (!nullable_string(order_id_v, "order_id", &order_id, err, errlen) ||
        !nullable_string(item_v, "item", &item, err, errlen) ||
        !nullable_string(type_v, "type", &type, err, errlen) ||
        !nullable_string(reason_v, "reason", &reason, err, errlen))
        goto done;
    if (order_id) ol_strlcpy(out->order_id, order_id, sizeof out->order_id);
    if (item && type && json_is_integer(quantity)) {
        out->has_order = true;
        ol_strlcpy(out->item, item, sizeof out->item);
        out->type = strcmp(type, "restock") == 0 ? OL_TYPE_RESTOCK : OL_TYPE_ORDER;
        out->quantity = (int32_t)json_integer_value(quantity);
    }
    if (!ol_status_parse(status, &out->status) || !ol_reason_parse(reason, &out->reason)) {
        ol_seterr(err, errlen, "result: unknown status or reason");
        goto done;
    }
    if (json_is_integer(remaining)) {
        out->has_remaining = true;
        out->remaining = json_integer_value(remaining);
    }
    if (!json_is_boolean(duplicate)) {
        ol_seterr(err, errlen, "result: field 'duplicate' must be a boolean");
        goto done;
    }
    out->duplicate = json_is_true(duplicate);
    out->partition = (int32_t)partition;
    out->offset = offset;
    if (!parse_rfc3339(stamp, &out->processed_at_us)) {
        ol_seterr(err, errlen, "result: field 'processed_at' is not RFC 3339 UTC");
        goto done;
    }
    if (error) ol_strlcpy(out->error, error, sizeof out->error);
    ok = true;
done:
    json_decref(root);
    return ok;
}

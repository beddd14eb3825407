#include "ol_result.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ol_flat.h"
#include "ol_json.h"
#include "ol_str.h"

static const char *const STATUS_NAMES[] = {"accepted", "rejected", "held"};
static const char *const REASON_NAMES[] = {
    NULL,      "insufficient_stock", "unknown_item",     "invalid", "not_held", "not_cancellable", "not_expired",
    "expired", "already_confirmed",  "already_cancelled"};
#define COUNT(a) (sizeof a / sizeof a[0])

const char *ol_status_name(ol_status status) {
    return (unsigned)status < COUNT(STATUS_NAMES) ? STATUS_NAMES[status] : "rejected";
}

const char *ol_reason_name(ol_reason reason) {
    return (unsigned)reason < COUNT(REASON_NAMES) ? REASON_NAMES[reason] : NULL;
}

bool ol_status_parse(const char *text, ol_status *out) {
    for (size_t i = 0; text && i < COUNT(STATUS_NAMES); i++)
        if (strcmp(text, STATUS_NAMES[i]) == 0) {
            *out = (ol_status)i;
            return true;
        }
    return false;
}

bool ol_reason_parse(const char *text, ol_reason *out) {
    if (!text) {
        *out = OL_REASON_NONE;
        return true;
    }
    for (size_t i = 1; i < COUNT(REASON_NAMES); i++)
        if (strcmp(text, REASON_NAMES[i]) == 0) {
            *out = (ol_reason)i;
            return true;
        }
    return false;
}

static bool append_string_or_null(ol_buf *out, const char *key, size_t key_len, const char *value) {
    return ol_buf_append(out, key, key_len) && ol_json_append_text_or_null(out, value);
}
#define STRING_OR_NULL(out, lit, value) append_string_or_null(out, lit, sizeof lit - 1, value)

/* Hand-written rather than built with jansson: this runs once per answer on
 * the consumer's hot path, and a jansson object costs a dozen allocations. */
char *ol_result_to_json(const ol_result *r) {
    char stamp[40], deadline[40] = "";
    ol_format_rfc3339(stamp, sizeof stamp, r->processed_at_us);
    if (r->hold_expires_at_us) ol_format_rfc3339(deadline, sizeof deadline, r->hold_expires_at_us);
    const char *reason = ol_reason_name(r->reason);
    ol_buf out;
    ol_buf_init(&out);
    bool ok = ol_buf_reserve(&out, 320) && OL_JSON_LIT(&out, "{\"order_id\":") &&
              ol_json_append_text_or_null(&out, r->order_id[0] ? r->order_id : NULL) &&
              STRING_OR_NULL(&out, ",\"item\":", r->has_order ? r->item : NULL) &&
              STRING_OR_NULL(&out, ",\"type\":", r->has_order ? ol_order_type_name(r->type) : NULL) &&
              OL_JSON_LIT(&out, ",\"quantity\":") &&
              (r->has_order ? ol_buf_append_int(&out, r->quantity) : OL_JSON_LIT(&out, "null")) &&
              (!r->target[0] || STRING_OR_NULL(&out, ",\"target\":", r->target)) &&
              STRING_OR_NULL(&out, ",\"status\":", ol_status_name(r->status)) &&
              STRING_OR_NULL(&out, ",\"reason\":", reason) && OL_JSON_LIT(&out, ",\"remaining\":") &&
              (r->has_remaining ? ol_buf_append_int(&out, r->remaining) : OL_JSON_LIT(&out, "null")) &&
              (r->duplicate ? OL_JSON_LIT(&out, ",\"duplicate\":true") : OL_JSON_LIT(&out, ",\"duplicate\":false")) &&
              OL_JSON_LIT(&out, ",\"partition\":") && ol_buf_append_int(&out, r->partition) &&
              OL_JSON_LIT(&out, ",\"offset\":") && ol_buf_append_int(&out, r->offset) &&
              STRING_OR_NULL(&out, ",\"processed_at\":", stamp) &&
              (!r->hold_expires_at_us || STRING_OR_NULL(&out, ",\"hold_expires_at\":", deadline)) &&
              (!r->error[0] || STRING_OR_NULL(&out, ",\"error\":", r->error)) && OL_JSON_LIT(&out, "}");
    if (!ok) {
        ol_buf_free(&out);
        return NULL;
    }
    return out.data;
}

#define RFC3339_LAST_SECOND 253402300799LL /* 9999-12-31T23:59:59Z */

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
    /* timegm normalizes (a leap second is the next minute's first): past
     * 9999-12-31T23:59:59Z that is a year of five digits, which RFC 3339
     * cannot write and the encoder could not write back. */
    int64_t secs = (int64_t)timegm(&tm);
    if (secs > RFC3339_LAST_SECOND) return false;
    *out = secs * 1000000 + micros;
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

/* A string that must fit whole: the consumer never writes a longer one,
 * and cut short it could name another order (the gateway matches answers
 * to waiters by order_id). */
static bool copy_whole(char *dst, size_t cap, const char *src, const char *field, char *err, size_t errlen) {
    size_t len = strlen(src);
    if (len >= cap) {
        ol_seterr(err, errlen, "result: field '%s' is longer than %zu bytes", field, cap - 1);
        return false;
    }
    memcpy(dst, src, len + 1);
    return true;
}

/* Text for people (the error): cut to fit, but never inside a character,
 * which would not be UTF-8 and would read back differently once encoded. */
static void copy_cut(char *dst, size_t cap, const char *src) {
    size_t n = strlen(src);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80) n--; /* src[n] continues a character */
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* ---- The fast path: a result as order-consumer writes it (ol_flat.h).
 * It succeeds only where the general path below succeeds, with the same
 * result; anything else (an escape, a field it would refuse) goes there.
 * order-carts' line forwarder reads every answer of the results topic. */

enum {
    R_ORDER_ID,
    R_ITEM,
    R_TYPE,
    R_QUANTITY,
    R_STATUS,
    R_REASON,
    R_REMAINING,
    R_DUPLICATE,
    R_PARTITION,
    R_OFFSET,
    R_PROCESSED_AT,
    R_ERROR,
    R_TARGET,
    R_HOLD_EXPIRES_AT,
    R_FIELDS
};
static const char *const RESULT_FIELDS[R_FIELDS] = {
    "order_id",  "item",      "type",   "quantity",     "status", "reason", "remaining",
    "duplicate", "partition", "offset", "processed_at", "error",  "target", "hold_expires_at"};
#define R_REQUIRED ((1u << R_ERROR) - 1) /* every field before error */

static bool nullable_text(const ol_flat_value *v, char *dst, size_t cap, bool *present) {
    *present = v->kind != OL_FLAT_NULL;
    return !*present || ol_flat_text(v, dst, cap);
}

static bool result_apply_flat(const ol_flat_value *f, ol_result *out) {
    char type[16], status[16], reason[32], stamp[40], deadline[40];
    bool has_id, has_item, has_type, has_reason;
    if (!nullable_text(&f[R_ORDER_ID], out->order_id, sizeof out->order_id, &has_id) ||
        !nullable_text(&f[R_ITEM], out->item, sizeof out->item, &has_item) ||
        !nullable_text(&f[R_TYPE], type, sizeof type, &has_type) ||
        !nullable_text(&f[R_REASON], reason, sizeof reason, &has_reason) ||
        !ol_flat_text(&f[R_STATUS], status, sizeof status) || !ol_flat_text(&f[R_PROCESSED_AT], stamp, sizeof stamp) ||
        f[R_PARTITION].kind != OL_FLAT_INTEGER || f[R_OFFSET].kind != OL_FLAT_INTEGER ||
        (f[R_DUPLICATE].kind != OL_FLAT_TRUE && f[R_DUPLICATE].kind != OL_FLAT_FALSE))
        return false;
    out->has_order = has_item && has_type && f[R_QUANTITY].kind == OL_FLAT_INTEGER;
    if (out->has_order) {
        if (!ol_order_type_parse(type, strlen(type), &out->type)) return false;
        out->quantity = (int32_t)f[R_QUANTITY].integer;
    } else {
        memset(out->item, 0, sizeof out->item); /* as the general path leaves it */
    }
    if (!ol_status_parse(status, &out->status) || !ol_reason_parse(has_reason ? reason : NULL, &out->reason) ||
        !parse_rfc3339(stamp, &out->processed_at_us))
        return false;
    out->has_remaining = f[R_REMAINING].kind == OL_FLAT_INTEGER;
    if (out->has_remaining) out->remaining = f[R_REMAINING].integer;
    out->duplicate = f[R_DUPLICATE].kind == OL_FLAT_TRUE;
    out->partition = (int32_t)f[R_PARTITION].integer;
    out->offset = f[R_OFFSET].integer;
    if (f[R_TARGET].name && !ol_flat_text(&f[R_TARGET], out->target, sizeof out->target)) return false;
    if (f[R_HOLD_EXPIRES_AT].name && (!ol_flat_text(&f[R_HOLD_EXPIRES_AT], deadline, sizeof deadline) ||
                                      !parse_rfc3339(deadline, &out->hold_expires_at_us)))
        return false;
    if (f[R_ERROR].name && !ol_flat_text(&f[R_ERROR], out->error, sizeof out->error)) return false;
    return true;
}

bool ol_result_parse_flat(const char *value, size_t len, ol_result *out) {
    memset(out, 0, sizeof *out);
    ol_flat_value fields[R_FIELDS] = {{0}}, v;
    unsigned seen = 0;
    ol_flat_reader r;
    if (!ol_flat_open(&r, value, len)) return false;
    while (ol_flat_next(&r, &v)) {
        int i = ol_flat_field(&v, RESULT_FIELDS, R_FIELDS);
        if (i < 0) continue;
        fields[i] = v;
        seen |= 1u << i;
    }
    return ol_flat_close(&r) && (seen & R_REQUIRED) == R_REQUIRED && result_apply_flat(fields, out);
}

bool ol_result_from_json(const char *value, size_t len, ol_result *out, char *err, size_t errlen) {
    return ol_result_parse_flat(value, len, out) || ol_result_parse_general(value, len, out, err, errlen);
}

bool ol_result_parse_general(const char *value, size_t len, ol_result *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *root = json_loadb(value, len, 0, &jerr);
    if (!root) {
        ol_seterr(err, errlen, "not valid JSON: %s", jerr.text);
        return false;
    }
    bool ok = false;
    const char *order_id = NULL, *item = NULL, *type = NULL, *status = NULL, *reason = NULL, *stamp = NULL,
               *error = NULL, *target = NULL, *deadline = NULL;
    json_t *order_id_v = NULL, *item_v = NULL, *type_v = NULL, *reason_v = NULL;
    json_t *quantity = NULL, *remaining = NULL, *duplicate = NULL;
    json_int_t partition = 0, offset = 0;
    /* jansson's unpack has no "string or null" value format ("s?" after a
     * value is read as the next key and fails every document), so the
     * nullable strings are unpacked as objects and checked below. */
    if (json_unpack_ex(root, &jerr, 0, "{s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:I, s:I, s:s, s?s, s?s, s?s}",
                       "order_id", &order_id_v, "item", &item_v, "type", &type_v, "quantity", &quantity, "status",
                       &status, "reason", &reason_v, "remaining", &remaining, "duplicate", &duplicate, "partition",
                       &partition, "offset", &offset, "processed_at", &stamp, "error", &error, "target", &target,
                       "hold_expires_at", &deadline) != 0) {
        ol_seterr(err, errlen, "result: %s", jerr.text);
        goto done;
    }
    if (!nullable_string(order_id_v, "order_id", &order_id, err, errlen) ||
        !nullable_string(item_v, "item", &item, err, errlen) || !nullable_string(type_v, "type", &type, err, errlen) ||
        !nullable_string(reason_v, "reason", &reason, err, errlen))
        goto done;
    if (order_id && !copy_whole(out->order_id, sizeof out->order_id, order_id, "order_id", err, errlen)) goto done;
    if (item && type && json_is_integer(quantity)) {
        out->has_order = true;
        if (!copy_whole(out->item, sizeof out->item, item, "item", err, errlen)) goto done;
        if (!ol_order_type_parse(type, strlen(type), &out->type)) {
            ol_seterr(err, errlen, "result: unknown type");
            goto done;
        }
        out->quantity = (int32_t)json_integer_value(quantity);
    }
    if (target && !copy_whole(out->target, sizeof out->target, target, "target", err, errlen)) goto done;
    if (deadline && !parse_rfc3339(deadline, &out->hold_expires_at_us)) {
        ol_seterr(err, errlen, "result: field 'hold_expires_at' is not RFC 3339 UTC");
        goto done;
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
    if (error) copy_cut(out->error, sizeof out->error, error);
    ok = true;
done:
    json_decref(root);
    return ok;
}

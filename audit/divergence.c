#include "divergence.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ol_order.h"

static const char *const kind_names[DIV_KIND_COUNT] = {
    "decision_differs",   "ledger_missing",       "original_differs",     "not_in_log", "result_missing",
    "result_conflicting", "result_unexpected",    "stock_drift",          "log_short",  "hold_not_released",
    "cart_half_sold",     "cart_answer_mismatch", "cancel_applied_twice",
};

const char *divergence_kind_name(divergence_kind kind) {
    return (unsigned)kind < DIV_KIND_COUNT ? kind_names[kind] : "unknown";
}

/* ---- reporting -------------------------------------------------------- */

/* Appends s with control characters shown as '?'. */
static bool append_visible(ol_buf *out, const char *s) { return ol_buf_append_visible(out, s, strlen(s)); }

bool divergence_format(const divergence *d, ol_buf *out) {
    bool ok = ol_buf_appends(out, divergence_kind_name(d->kind));
    if (ok && d->order_id) ok = ol_buf_appends(out, " order=") && append_visible(out, d->order_id);
    if (ok && d->item) ok = ol_buf_appends(out, " item=") && append_visible(out, d->item);
    if (ok && d->partition >= 0) ok = ol_buf_appendf(out, " partition=%" PRId32, d->partition);
    if (ok && d->offset >= 0) ok = ol_buf_appendf(out, " offset=%" PRId64, d->offset);
    ok = ok && ol_buf_appends(out, ": ") && append_visible(out, d->detail);
    if (ok && (d->expected[0] || d->found[0]))
        ok = ol_buf_appends(out, " (expected: ") && append_visible(out, d->expected[0] ? d->expected : "-") &&
             ol_buf_appends(out, "; found: ") && append_visible(out, d->found[0] ? d->found : "-") &&
             ol_buf_appends(out, ")");
    return ok && ol_buf_appends(out, "\n");
}

/* A JSON string of s; bytes that are not UTF-8 (a detail cut mid
 * character) become '?' rather than failing the whole report. */
static json_t *json_text(const char *s) {
    size_t len = strlen(s);
    if (ol_utf8_valid(s, len)) return json_string(s);
    char *copy = malloc(len + 1);
    if (!copy) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (i + n <= len && ol_utf8_valid(s + i, n)) {
            memcpy(copy + o, s + i, n);
            o += n;
            i += n;
        } else {
            copy[o++] = '?';
            i++;
        }
    }
    copy[o] = '\0';
    json_t *v = json_string(copy);
    free(copy);
    return v;
}

char *divergence_to_json(const divergence *d) {
    json_t *obj = json_object();
    if (!obj) return NULL;
    int rc = 0;
    rc |= json_object_set_new(obj, "kind", json_string(divergence_kind_name(d->kind)));
    rc |= json_object_set_new(obj, "order_id", d->order_id ? json_text(d->order_id) : json_null());
    rc |= json_object_set_new(obj, "item", d->item ? json_text(d->item) : json_null());
    rc |= json_object_set_new(obj, "partition", d->partition >= 0 ? json_integer(d->partition) : json_null());
    rc |= json_object_set_new(obj, "offset", d->offset >= 0 ? json_integer(d->offset) : json_null());
    rc |= json_object_set_new(obj, "expected", d->expected[0] ? json_text(d->expected) : json_null());
    rc |= json_object_set_new(obj, "found", d->found[0] ? json_text(d->found) : json_null());
    rc |= json_object_set_new(obj, "detail", json_text(d->detail));
    char *out = rc == 0 ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(obj);
    return out;
}

/* "order of 3 widget: accepted, remaining 2" */
void divergence_describe_decision(char *dst, size_t len, const ol_result *r) {
    char head[160] = "", tail[48] = "";
    if (r->has_order)
        snprintf(head, sizeof head, "%s of %" PRId32 " %s: ", ol_order_type_name(r->type), r->quantity, r->item);
    if (r->has_remaining) snprintf(tail, sizeof tail, ", remaining %" PRId64, r->remaining);
    const char *reason = ol_reason_name(r->reason);
    snprintf(dst, len, "%s%s%s%s%s", head, ol_status_name(r->status), reason ? " " : "", reason ? reason : "", tail);
}

/* "o-1: rejected insufficient_stock, remaining 2, duplicate" */
void divergence_describe_answer(char *dst, size_t len, const char *order_id, ol_status status, ol_reason reason,
                                bool has_remaining, int64_t remaining, bool duplicate) {
    char tail[48] = "";
    if (has_remaining) snprintf(tail, sizeof tail, ", remaining %" PRId64, remaining);
    const char *why = ol_reason_name(reason);
    snprintf(dst, len, "%s: %s%s%s%s%s", order_id[0] ? order_id : "(no order_id)", ol_status_name(status),
             why ? " " : "", why ? why : "", tail, duplicate ? ", duplicate" : "");
}

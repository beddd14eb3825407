#include "cart_request.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_error(gw_cart_input *in, const char *field, const char *msg) {
    in->status = 400;
    ol_strlcpy(in->field, field ? field : "", sizeof in->field);
    ol_strlcpy(in->error, msg, sizeof in->error);
}

/* ol_cart_parse's words start with the path of what was wrong
 * ("lines[3].quantity must ..."): that path is the field to name. */
static void field_from(const char *why, const char *top, char *field, size_t cap) {
    if (strncmp(why, "lines[", 6) != 0) {
        ol_strlcpy(field, top ? top : "", cap);
        return;
    }
    size_t n = strcspn(why, " :");
    if (n >= cap) n = cap - 1;
    memcpy(field, why, n);
    field[n] = '\0';
}

/* The cart_id: the body's, else the header's (added to the message). */
static bool settle_key(json_t *root, const char *header_key, gw_cart_input *in) {
    const json_t *id = json_object_get(root, "cart_id");
    if (!header_key && !id) {
        set_error(in, "cart_id", "a cart_id is required: field 'cart_id' or header Idempotency-Key");
        return false;
    }
    if (header_key && json_is_string(id) && strcmp(json_string_value(id), header_key) != 0) {
        char msg[sizeof in->error], shown[65];
        ol_printable(shown, sizeof shown, json_string_value(id), json_string_length(id));
        snprintf(msg, sizeof msg, "header Idempotency-Key '%.64s' and field 'cart_id' '%.64s' differ", header_key,
                 shown);
        set_error(in, "cart_id", msg);
        return false;
    }
    if (!id && json_object_set_new(root, "cart_id", json_string(header_key)) != 0) return false;
    return true;
}

bool gw_cart_input_read(const char *body, size_t len, const char *header_key, gw_cart_input *in) {
    memset(in, 0, sizeof *in);
    json_error_t jerr;
    /* Integers stay integers: the message is this tree dumped again. */
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        char msg[sizeof in->error];
        if (root) snprintf(msg, sizeof msg, "a cart is a JSON object: {\"lines\":[...],\"hold_s\"?}");
        else snprintf(msg, sizeof msg, "not valid JSON: %s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
        set_error(in, NULL, msg);
        in->line = root ? 0 : jerr.line;
        in->column = root ? 0 : jerr.column;
        json_decref(root);
        return true;
    }
    bool ok = true;
    if (!settle_key(root, header_key, in)) {
        ok = in->status != 0; /* else out of memory */
        goto done;
    }
    in->message = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!in->message) {
        ok = false;
        goto done;
    }
    in->message_len = strlen(in->message);
    const char *top = NULL;
    char why[OL_ERROR_MAX];
    if (!ol_cart_parse(in->message, in->message_len, NULL, 0, &in->cart, why, sizeof why, &top)) {
        set_error(in, NULL, why);
        field_from(why, top, in->field, sizeof in->field);
        gw_cart_input_free(in);
    }
done:
    json_decref(root);
    return ok;
}

void gw_cart_input_free(gw_cart_input *in) {
    free(in->message);
    in->message = NULL;
    in->message_len = 0;
}

bool gw_cart_follow_up_parse(const char *arg, char *cart_id, bool *cancel, char *err, size_t errlen) {
    static const char *const suffixes[] = {"/confirm", "/cancel"};
    size_t len = strlen(arg), n = 0;
    for (size_t i = 0; i < 2 && !n; i++) {
        size_t k = strlen(suffixes[i]);
        if (len > k && strcmp(arg + len - k, suffixes[i]) == 0) {
            n = k;
            *cancel = i == 1;
        }
    }
    if (!n) {
        ol_seterr(err, errlen, "expected /carts/{cart_id}/confirm or /carts/{cart_id}/cancel");
        return false;
    }
    len -= n;
    if (len > OL_CART_ID_MAX) {
        ol_seterr(err, errlen, "the cart_id in the path is %zu bytes long, at most %d are allowed", len,
                  OL_CART_ID_MAX);
        return false;
    }
    memcpy(cart_id, arg, len);
    cart_id[len] = '\0';
    if (!ol_utf8_valid(cart_id, len)) {
        ol_seterr(err, errlen, "the cart_id in the path is not valid UTF-8 (percent-decoded)");
        return false;
    }
    return true;
}

void gw_cart_follow_up_id(const char *cart_id, bool cancel, char *out) {
    snprintf(out, OL_ORDER_ID_MAX + 1, "%.*s#%s", OL_CART_ID_MAX, cart_id, cancel ? "cancel" : "confirm");
}

bool gw_cart_follow_up_message(ol_buf *out, bool cancel, const char *order_id, const char *cart_id) {
    json_t *o = json_pack("{s:s, s:s, s:s}", "type", cancel ? "cart_cancel" : "cart_confirm", "order_id", order_id,
                          "cart_id", cart_id);
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    bool ok = text && ol_buf_appends(out, text);
    free(text);
    return ok;
}

unsigned gw_cart_status_of(const ol_result *r, bool follow_up) {
    if (r->reason == OL_REASON_INVALID) return 422;
    if (r->status == OL_STATUS_REJECTED) return 409;
    return follow_up ? 200 : 201;
}

/* A line of the carts table's lines column, as an answer shows it: the
 * column keeps the last step and whether its hold was answered and held. */
static json_t *public_line(const json_t *l) {
    const char *step = json_string_value(json_object_get(l, "step"));
    const json_t *st = json_object_get(l, "status");
    const char *status = json_is_string(st) ? json_string_value(st) : "holding";
    bool held = json_is_true(json_object_get(l, "held"));
    if (!json_is_string(st) && step) {
        if (strcmp(step, "commit") == 0) status = "accepted";
        else if (strcmp(step, "release") == 0) status = "released";
        else if (strcmp(step, "restore") == 0) status = "restored";
        else if (json_is_true(json_object_get(l, "answered"))) status = held ? "held" : "rejected";
    }
    json_t *reason = json_object_get(l, "reason");
    return json_pack("{s:O?, s:O?, s:s, s:O}", "item", json_object_get(l, "item"), "quantity",
                     json_object_get(l, "quantity"), "status", status, "reason",
                     held || !json_is_string(reason) ? json_null() : reason);
}

static json_t *time_or_null(int64_t us) {
    if (us <= 0) return json_null();
    char text[40];
    ol_format_rfc3339(text, sizeof text, us);
    return json_string(text);
}

bool gw_cart_json(ol_buf *out, const char *cart_id, const gw_cart_row *row) {
    json_t *stored = row->lines ? json_loads(row->lines, 0, NULL) : NULL;
    json_t *lines = json_is_array(stored) ? json_array() : NULL;
    for (size_t i = 0; lines && i < json_array_size(stored); i++)
        if (json_array_append_new(lines, public_line(json_array_get(stored, i))) != 0) {
            json_decref(lines);
            lines = NULL;
        }
    json_decref(stored);
    if (!lines) return false;
    char updated[40];
    ol_format_rfc3339(updated, sizeof updated, row->updated_at_us);
    json_t *o = json_pack("{s:s, s:s, s:i, s:o, s:o, s:i, s:I, s:s}", "cart_id", cart_id, "state", row->state, "hold_s",
                          (int)row->hold_s, "hold_expires_at", time_or_null(row->hold_expires_at_us), "lines", lines,
                          "partition", (int)row->partition, "offset", (json_int_t)row->offset, "updated_at", updated);
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    bool ok = text && ol_buf_appends(out, text);
    free(text);
    return ok;
}

char *gw_json_compact(const char *text) {
    json_t *v = json_loads(text, 0, NULL);
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(v);
    return s;
}

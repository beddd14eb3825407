#include "cart_msg.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ol_flat.h"
#include "ol_str.h"

static const char *const STEP_NAMES[] = {"hold", "commit", "release", "restore"};

static bool step_parse(const char *name, size_t len, ol_step *out) {
    for (size_t i = 0; i < sizeof STEP_NAMES / sizeof STEP_NAMES[0]; i++) {
        if (strlen(STEP_NAMES[i]) == len && memcmp(STEP_NAMES[i], name, len) == 0) {
            *out = (ol_step)i;
            return true;
        }
    }
    return false;
}

bool cart_step_id_parse(const char *order_id, char *cart_id, size_t cart_id_len, size_t *line, ol_step *step) {
    const char *phase = strrchr(order_id, '#');
    if (!phase || phase == order_id || !step_parse(phase + 1, strlen(phase + 1), step)) return false;
    const char *digits = phase - 1;
    while (digits > order_id && digits[-1] != '#') digits--;
    if (digits == order_id || digits == phase || phase - digits > 3) return false; /* 0..99 */
    size_t n = 0;
    for (const char *c = digits; c < phase; c++) {
        if (*c < '0' || *c > '9') return false;
        n = n * 10 + (size_t)(*c - '0');
    }
    if (n >= OL_CART_LINES_MAX || (phase - digits > 1 && *digits == '0')) return false;
    size_t id_len = (size_t)(digits - 1 - order_id);
    if (id_len < 1 || id_len > OL_CART_ID_MAX || id_len >= cart_id_len) return false;
    memcpy(cart_id, order_id, id_len);
    cart_id[id_len] = '\0';
    *line = n;
    return true;
}

/* A string field of 1..max bytes into out; false (err set) otherwise. */
static bool read_string(const json_t *root, const char *name, size_t max, char *out, char *err, size_t errlen) {
    const json_t *v = json_object_get(root, name);
    size_t len = json_is_string(v) ? json_string_length(v) : 0;
    if (len < 1 || len > max) {
        ol_seterr(err, errlen, v ? "field '%s' must be a string of 1 to %zu bytes" : "missing required field '%s'",
                  name, max);
        return false;
    }
    memcpy(out, json_string_value(v), len + 1);
    return true;
}

static bool read_follow_up(const json_t *root, cart_msg *out, char *err, size_t errlen) {
    bool has_id = read_string(root, "order_id", OL_ORDER_ID_MAX, out->order_id, err, errlen);
    if (!has_id) return false; /* nothing to answer */
    if (!read_string(root, "cart_id", OL_CART_ID_MAX, out->cart_id, out->error, sizeof out->error))
        out->kind = CART_MSG_INVALID;
    return true;
}

static bool read_int64(const json_t *v, int64_t lo, int64_t hi, int64_t *out) {
    if (!json_is_number(v)) return false;
    double x = json_number_value(v);
    if (x != floor(x) || x < (double)lo || x > (double)hi) return false;
    *out = (int64_t)x;
    return true;
}

/* A forwarded answer: written by order-carts itself, so anything wrong in
 * it is a fault to report, not a customer's mistake to answer. */
static bool read_line_result(const json_t *root, cart_msg *out, char *err, size_t errlen) {
    cart_line_answer *a = &out->answer;
    const json_t *phase = json_object_get(root, "phase");
    const json_t *status = json_object_get(root, "status");
    const json_t *reason = json_object_get(root, "reason");
    int64_t line, partition, offset;
    if (!read_string(root, "cart_id", OL_CART_ID_MAX, a->cart_id, err, errlen) ||
        !read_string(root, "item", OL_ITEM_MAX, a->item, err, errlen))
        return false;
    if (!read_int64(json_object_get(root, "line"), 0, OL_CART_LINES_MAX - 1, &line) ||
        !read_int64(json_object_get(root, "partition"), 0, INT32_MAX, &partition) ||
        !read_int64(json_object_get(root, "offset"), 0, INT64_MAX / 2, &offset) || !json_is_string(phase) ||
        !step_parse(json_string_value(phase), json_string_length(phase), &a->step) || !json_is_string(status) ||
        !ol_status_parse(json_string_value(status), &a->status) ||
        (json_is_string(reason) ? !ol_reason_parse(json_string_value(reason), &a->reason) : !json_is_null(reason))) {
        ol_seterr(err, errlen, "line_result: line, phase, status, reason, partition or offset missing or invalid");
        return false;
    }
    if (!reason || json_is_null(reason)) a->reason = OL_REASON_NONE;
    a->line = (size_t)line;
    a->partition = (int32_t)partition;
    a->offset = offset;
    ol_strlcpy(out->cart_id, a->cart_id, sizeof out->cart_id);
    return true;
}

static bool read_cart(const char *value, size_t len, const char *key, size_t key_len, cart_msg *out) {
    const char *field = NULL;
    if (ol_cart_parse(value, len, key, key_len, &out->cart, out->error, sizeof out->error, &field)) {
        ol_strlcpy(out->cart_id, out->cart.cart_id, sizeof out->cart_id);
        ol_strlcpy(out->order_id, out->cart.cart_id, sizeof out->order_id);
        return true;
    }
    out->kind = CART_MSG_INVALID;
    ol_strlcpy(out->cart_id, out->cart.cart_id, sizeof out->cart_id);
    ol_strlcpy(out->order_id, out->cart.cart_id, sizeof out->order_id);
    return out->cart_id[0] != '\0';
}

static bool classify(const json_t *root, cart_msg *out, char *err, size_t errlen) {
    const json_t *type = json_object_get(root, "type");
    static const struct {
        const char *name;
        cart_msg_kind kind;
    } kinds[] = {{"cart", CART_MSG_CART},
                 {"cart_confirm", CART_MSG_CONFIRM},
                 {"cart_cancel", CART_MSG_CANCEL},
                 {"cart_expire", CART_MSG_EXPIRE},
                 {"line_result", CART_MSG_LINE_RESULT}};
    out->kind = CART_MSG_CART;
    if (!type) return true;
    for (size_t i = 0; json_is_string(type) && i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(json_string_value(type), kinds[i].name) == 0) {
            out->kind = kinds[i].kind;
            return true;
        }
    }
    /* Unknown type: answered invalid when it names an order_id. */
    out->kind = CART_MSG_INVALID;
    ol_seterr(out->error, sizeof out->error,
              "field 'type' must be one of cart, cart_confirm, cart_cancel, cart_expire, line_result");
    if (read_string(root, "order_id", OL_ORDER_ID_MAX, out->order_id, err, errlen)) {
        const json_t *cid = json_object_get(root, "cart_id");
        if (json_is_string(cid) && json_string_length(cid) <= OL_CART_ID_MAX)
            ol_strlcpy(out->cart_id, json_string_value(cid), sizeof out->cart_id);
        return true;
    }
    return false;
}

static bool key_matches(const cart_msg *out, const char *key, size_t key_len) {
    return !key || (key_len == strlen(out->cart_id) && memcmp(key, out->cart_id, key_len) == 0);
}

/* ---- The fast path: a line_result as order-carts' forwarder writes it
 * (ol_flat.h), six of every cart's seven messages here. It succeeds only
 * where the general path succeeds, with the same message; anything else
 * goes there. */

static bool flat_int(const ol_flat_value *v, int64_t lo, int64_t hi, int64_t *out) {
    if (v->kind != OL_FLAT_INTEGER || v->integer < lo || v->integer > hi) return false;
    *out = v->integer;
    return true;
}

/* One member into *a; false when the general path would refuse it. */
static bool line_result_member(const ol_flat_value *v, cart_line_answer *a, unsigned *seen, int64_t *ints) {
    static const char *const names[] = {"type",   "cart_id", "item",   "line",  "partition",
                                        "offset", "phase",   "status", "reason"};
    int i = ol_flat_field(v, names, (int)(sizeof names / sizeof names[0]));
    if (i < 0) return true; /* another field: the general path ignores it too */
    *seen |= 1u << i;
    char text[24];
    bool text_ok = ol_flat_text(v, text, sizeof text);
    switch (i) {
    case 0:
        return text_ok && strcmp(text, "line_result") == 0;
    case 1:
        return ol_flat_copy(v, OL_CART_ID_MAX, a->cart_id);
    case 2:
        return ol_flat_copy(v, OL_ITEM_MAX, a->item);
    case 3:
        return flat_int(v, 0, OL_CART_LINES_MAX - 1, &ints[0]);
    case 4:
        return flat_int(v, 0, INT32_MAX, &ints[1]);
    case 5:
        return flat_int(v, 0, INT64_MAX / 2, &ints[2]);
    case 6:
        return v->kind == OL_FLAT_STRING && step_parse(v->s, v->len, &a->step);
    case 7:
        return text_ok && ol_status_parse(text, &a->status);
    default: /* 8 */
        return v->kind == OL_FLAT_NULL || (text_ok && ol_reason_parse(text, &a->reason));
    }
}

bool cart_msg_parse_flat(const char *value, size_t len, cart_msg *out) {
    memset(out, 0, sizeof *out);
    cart_line_answer *a = &out->answer;
    ol_flat_reader r;
    ol_flat_value v;
    unsigned seen = 0;
    int64_t ints[3] = {0, 0, 0};
    if (!ol_flat_open(&r, value, len)) return false;
    while (ol_flat_next(&r, &v))
        if (!line_result_member(&v, a, &seen, ints)) return false;
    if (!ol_flat_close(&r) || (seen & 0x1ffu) != 0x1ffu) return false;
    out->kind = CART_MSG_LINE_RESULT;
    a->line = (size_t)ints[0];
    a->partition = (int32_t)ints[1];
    a->offset = ints[2];
    ol_strlcpy(out->cart_id, a->cart_id, sizeof out->cart_id);
    return true;
}

bool cart_msg_parse(const char *value, size_t len, const char *key, size_t key_len, cart_msg *out, char *err,
                    size_t errlen) {
    return cart_msg_parse_flat(value, len, out) || cart_msg_parse_general(value, len, key, key_len, out, err, errlen);
}

bool cart_msg_parse_general(const char *value, size_t len, const char *key, size_t key_len, cart_msg *out, char *err,
                            size_t errlen) {
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *root =
        value && len ? json_loadb(value, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &jerr) : NULL;
    if (!root || !json_is_object(root)) {
        ol_seterr(err, errlen, "not a JSON object: %s", root ? "another JSON value" : (len ? jerr.text : "empty"));
        json_decref(root);
        return false;
    }
    bool ok = classify(root, out, err, errlen);
    if (ok && out->kind == CART_MSG_CART) {
        ok = read_cart(value, len, key, key_len, out);
        if (!ok) ol_seterr(err, errlen, "%s", out->error);
    } else if (ok && out->kind == CART_MSG_LINE_RESULT) {
        ok = read_line_result(root, out, err, errlen);
    } else if (ok && out->kind != CART_MSG_INVALID) {
        ok = read_follow_up(root, out, err, errlen);
    }
    if (ok && out->kind != CART_MSG_INVALID && out->kind != CART_MSG_LINE_RESULT && !key_matches(out, key, key_len)) {
        out->kind = CART_MSG_INVALID;
        ol_seterr(out->error, sizeof out->error, "message key does not match field 'cart_id'");
    }
    json_decref(root);
    return ok;
}

bool cart_line_answer_maybe(const char *value, size_t len) {
    static const char *const marks[] = {"#hold\"", "#commit\"", "#release\"", "#restore\""};
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
        if (value && memmem(value, len, marks[i], strlen(marks[i]))) return true;
    return false;
}

bool cart_line_answer_from_result(const char *value, size_t len, cart_line_answer *out) {
    memset(out, 0, sizeof *out);
    if (!cart_line_answer_maybe(value, len)) return false;
    ol_result r;
    char err[OL_ERROR_MAX];
    if (!ol_result_from_json(value, len, &r, err, sizeof err) || r.duplicate || !r.has_order) return false;
    if (!cart_step_id_parse(r.order_id, out->cart_id, sizeof out->cart_id, &out->line, &out->step)) return false;
    /* A hold is an order; commit a confirm; release and restore cancels. */
    ol_order_type want = out->step == OL_STEP_HOLD     ? OL_TYPE_ORDER
                         : out->step == OL_STEP_COMMIT ? OL_TYPE_CONFIRM
                                                       : OL_TYPE_CANCEL;
    if (r.type != want) return false;
    ol_strlcpy(out->item, r.item, sizeof out->item);
    out->status = r.status;
    out->reason = r.reason;
    out->partition = r.partition;
    out->offset = r.offset;
    return true;
}

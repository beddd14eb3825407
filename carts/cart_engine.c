#include "cart_engine.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ol_flat.h"
#include "ol_json.h"
#include "ol_str.h"

static const char *type_name(cart_msg_kind kind) {
    switch (kind) {
    case CART_MSG_CONFIRM:
        return "cart_confirm";
    case CART_MSG_CANCEL:
        return "cart_cancel";
    case CART_MSG_EXPIRE:
        return "cart_expire";
    default:
        return "cart";
    }
}

static void answer_init(cart_answer *a, const cart_msg *m, cart_msg_kind kind) {
    memset(a, 0, sizeof *a);
    a->kind = kind;
    a->type = type_name(kind);
    ol_strlcpy(a->order_id, m->order_id, sizeof a->order_id);
}

static ol_reason verdict_reason(ol_life_verdict v) {
    ol_reason r = OL_REASON_NONE;
    const char *name = ol_life_verdict_reason(v);
    if (name && !ol_reason_parse(name, &r)) r = OL_REASON_INVALID;
    return r;
}

/* The cart's own answer, once every hold has been answered. */
static void cart_outcome(const cart_record *rec, cart_answer *a) {
    a->has_state = true;
    a->state = rec->flow.status;
    switch (rec->flow.status) {
    case OL_CART_HELD:
        a->status = OL_STATUS_HELD;
        break;
    case OL_CART_ACCEPTED:
        a->status = OL_STATUS_ACCEPTED;
        break;
    case OL_CART_CANCELLED:
        a->status = OL_STATUS_REJECTED;
        a->reason = OL_REASON_ALREADY_CANCELLED;
        break;
    default:
        a->status = OL_STATUS_REJECTED;
        a->reason = OL_REASON_INSUFFICIENT_STOCK;
        for (size_t i = 0; i < rec->flow.n_lines; i++) {
            if (rec->flow.lines[i].step == OL_STEP_HOLD && rec->flow.lines[i].held) continue;
            if (!rec->flow.lines[i].held && rec->reasons[i] != OL_REASON_NONE) {
                a->reason = rec->reasons[i];
                break;
            }
        }
    }
}

static void start_cart(cart_record *rec, const cart_msg *m, int32_t partition, int64_t offset, int64_t ts_ms,
                       cart_effects *out) {
    memset(rec, 0, sizeof *rec);
    rec->exists = true;
    rec->cart = m->cart;
    rec->partition = partition;
    rec->offset = offset;
    rec->created_ms = ts_ms;
    ol_cart_flow_start(&rec->flow, m->cart.n_lines, m->cart.hold_s, ts_ms, &out->actions);
    out->kind = CART_EFFECT_DECIDED;
    out->record_changed = true;
}

static void follow_up(cart_record *rec, const cart_msg *m, int64_t ts_ms, cart_effects *out) {
    static const ol_cart_event_kind events[] = {[CART_MSG_CONFIRM] = OL_CART_EV_CONFIRM,
                                                [CART_MSG_CANCEL] = OL_CART_EV_CANCEL,
                                                [CART_MSG_EXPIRE] = OL_CART_EV_EXPIRE};
    out->kind = CART_EFFECT_DECIDED;
    out->has_answer = true;
    answer_init(&out->answer, m, m->kind);
    cart_answer *a = &out->answer;
    if (!rec->exists) {
        a->status = OL_STATUS_REJECTED;
        a->reason = m->kind == CART_MSG_CANCEL ? OL_REASON_NOT_CANCELLABLE : OL_REASON_NOT_HELD;
        return;
    }
    ol_cart_event ev = {.kind = events[m->kind], .ts_ms = ts_ms};
    bool stale = false;
    ol_life_verdict v = ol_cart_flow_apply(&rec->flow, &ev, &out->actions, &stale);
    a->has_state = true;
    a->state = rec->flow.status;
    a->status = v == OL_LIFE_OK ? OL_STATUS_ACCEPTED : OL_STATUS_REJECTED;
    a->reason = verdict_reason(v);
    out->record_changed = v == OL_LIFE_OK;
}

static void line_answer(cart_record *rec, const cart_msg *m, cart_effects *out) {
    const cart_line_answer *la = &m->answer;
    if (!rec->exists || la->line >= rec->flow.n_lines || strcmp(rec->cart.lines[la->line].item, la->item) != 0) {
        snprintf(out->note, sizeof out->note, "an answer for line %zu (%s) of cart '%s', which has no such line",
                 la->line, la->item, la->cart_id);
        return;
    }
    ol_cart_event ev = {.kind = OL_CART_EV_ANSWER,
                        .line = la->line,
                        .step = la->step,
                        .held = la->status == OL_STATUS_HELD || la->status == OL_STATUS_ACCEPTED};
    bool stale = false;
    ol_cart_flow_apply(&rec->flow, &ev, &out->actions, &stale);
    if (stale) {
        snprintf(out->note, sizeof out->note, "a repeated answer to line %zu's %s", la->line, ol_step_name(la->step));
        return;
    }
    if (la->step == OL_STEP_HOLD && !ev.held) rec->reasons[la->line] = la->reason;
    out->kind = CART_EFFECT_DECIDED;
    out->record_changed = true;
    if (out->actions.answer) {
        out->has_answer = true;
        memset(&out->answer, 0, sizeof out->answer);
        out->answer.kind = CART_MSG_CART;
        out->answer.type = "cart";
        ol_strlcpy(out->answer.order_id, rec->cart.cart_id, sizeof out->answer.order_id);
        cart_outcome(rec, &out->answer);
    }
}

void cart_engine_apply(cart_record *rec, const cart_msg *m, bool decided, int32_t partition, int64_t offset,
                       int64_t ts_ms, cart_effects *out) {
    memset(out, 0, sizeof *out);
    bool repeat = decided || (m->order_id[0] && strcmp(m->order_id, m->cart_id) == 0 && rec->exists &&
                              (m->kind == CART_MSG_CART || m->kind == CART_MSG_INVALID));
    if (m->kind != CART_MSG_LINE_RESULT && repeat) {
        out->kind = CART_EFFECT_DUPLICATE;
        return;
    }
    switch (m->kind) {
    case CART_MSG_CART:
        start_cart(rec, m, partition, offset, ts_ms, out);
        break;
    case CART_MSG_INVALID:
        out->kind = CART_EFFECT_DECIDED;
        out->has_answer = true;
        answer_init(&out->answer, m, CART_MSG_CART);
        out->answer.status = OL_STATUS_REJECTED;
        out->answer.reason = OL_REASON_INVALID;
        ol_strlcpy(out->answer.error, m->error, sizeof out->answer.error);
        break;
    case CART_MSG_LINE_RESULT:
        line_answer(rec, m, out);
        break;
    default:
        follow_up(rec, m, ts_ms, out);
    }
}

const char *cart_line_status(const cart_record *rec, size_t line) {
    const ol_cart_line_state *l = &rec->flow.lines[line];
    switch (l->step) {
    case OL_STEP_HOLD:
        return !l->answered ? "holding" : l->held ? "held" : "rejected";
    case OL_STEP_COMMIT:
        return "accepted";
    case OL_STEP_RELEASE:
        return "released";
    default:
        return "restored";
    }
}

int64_t cart_record_expires_ms(const cart_record *rec) {
    return rec->flow.status == OL_CART_HELD || rec->flow.status == OL_CART_EXPIRED ? rec->flow.expires_at_ms : 0;
}

/* ---- JSON out -------------------------------------------------------
 * Written with ol_json rather than built with jansson: these run per cart
 * answer, per step, per forwarded line answer and per staged cart on
 * order-carts' hot path, where each jansson object cost a dozen
 * allocations. The bytes are what jansson's compact dump wrote
 * (tests/unit/test_cart_engine.c keeps that construction as the reference),
 * failures included: text that is not UTF-8 gives NULL, as json_pack did.
 * Each writer reserves what a cart of plain ASCII needs at most, so the
 * common case allocates once. */

#define ANSWER_BYTES 512      /* an answer's keys and values but its lines and error */
#define ANSWER_LINE_BYTES 160 /* one of its lines, with the longest plain item */
#define RECORD_LINE_BYTES 176 /* one line of table carts' column */
#define STEP_BYTES 400        /* a cancel step: two ids and an item */
#define LINE_RESULT_BYTES 384

/* null for none; a reason without a name fails, as json_string(NULL) made
 * json_pack fail. */
static bool append_reason(ol_buf *out, ol_reason reason) {
    return reason == OL_REASON_NONE ? OL_JSON_LIT(out, "null") : ol_json_append_string(out, ol_reason_name(reason));
}

static bool append_bool(ol_buf *out, bool value) {
    return value ? OL_JSON_LIT(out, "true") : OL_JSON_LIT(out, "false");
}

/* The caller's string when ok; else NULL, the buffer freed. */
static char *finish(ol_buf *out, bool ok) {
    if (ok) return out->data;
    ol_buf_free(out);
    return NULL;
}

/* The answer's lines as ,"lines":[...]; [] for an unknown cart (NULL). */
static bool append_answer_lines(ol_buf *out, const cart_record *rec) {
    if (!OL_JSON_LIT(out, ",\"lines\":[")) return false;
    for (size_t i = 0; rec && i < rec->flow.n_lines; i++) {
        ol_reason r = rec->flow.lines[i].held ? OL_REASON_NONE : rec->reasons[i];
        if (!((i == 0 || OL_JSON_LIT(out, ",")) && OL_JSON_LIT(out, "{\"item\":") &&
              ol_json_append_string(out, rec->cart.lines[i].item) && OL_JSON_LIT(out, ",\"quantity\":") &&
              ol_buf_append_int(out, rec->cart.lines[i].quantity) && OL_JSON_LIT(out, ",\"status\":") &&
              ol_json_append_string(out, cart_line_status(rec, i)) && OL_JSON_LIT(out, ",\"reason\":") &&
              append_reason(out, r) && OL_JSON_LIT(out, "}")))
            return false;
    }
    return OL_JSON_LIT(out, "]");
}

/* A deadline in milliseconds as RFC 3339, or null for none. */
static bool append_time_or_null(ol_buf *out, int64_t ms) {
    if (ms <= 0) return OL_JSON_LIT(out, "null");
    char t[40];
    ol_format_rfc3339(t, sizeof t, ms * 1000);
    return ol_json_append_string(out, t);
}

/* ,"error":... when there is one. jansson refused an error that is not
 * UTF-8 (cut inside a character) and json_object_set_new then left the key
 * out, the answer still sent: so it is still. */
static bool append_error(ol_buf *out, const char *error) {
    if (!error[0] || !ol_utf8_valid(error, strlen(error))) return true;
    return OL_JSON_LIT(out, ",\"error\":") && ol_json_append_string(out, error);
}

char *cart_answer_json(const cart_answer *a, const cart_record *rec, int32_t partition, int64_t offset,
                       int64_t processed_at_us, bool duplicate) {
    char processed[40];
    ol_format_rfc3339(processed, sizeof processed, processed_at_us);
    bool known = rec && rec->exists;
    const cart_record *lines = known ? rec : NULL;
    ol_buf out;
    ol_buf_init(&out);
    bool ok = ol_buf_reserve(&out, ANSWER_BYTES + (lines ? lines->flow.n_lines : 0) * ANSWER_LINE_BYTES) &&
              OL_JSON_LIT(&out, "{\"order_id\":") && ol_json_append_string(&out, a->order_id) &&
              OL_JSON_LIT(&out, ",\"cart_id\":") &&
              ol_json_append_string(&out, known ? rec->cart.cart_id : a->order_id) && OL_JSON_LIT(&out, ",\"type\":") &&
              ol_json_append_string(&out, a->type) && OL_JSON_LIT(&out, ",\"status\":") &&
              ol_json_append_string(&out, ol_status_name(a->status)) && OL_JSON_LIT(&out, ",\"reason\":") &&
              append_reason(&out, a->reason) && OL_JSON_LIT(&out, ",\"state\":") &&
              (a->has_state ? ol_json_append_string(&out, ol_cart_status_name(a->state)) : OL_JSON_LIT(&out, "null")) &&
              OL_JSON_LIT(&out, ",\"hold_expires_at\":") &&
              append_time_or_null(&out, known ? cart_record_expires_ms(rec) : 0) && append_answer_lines(&out, lines) &&
              OL_JSON_LIT(&out, ",\"duplicate\":") && append_bool(&out, duplicate) &&
              OL_JSON_LIT(&out, ",\"topic\":\"carts\",\"partition\":") && ol_buf_append_int(&out, partition) &&
              OL_JSON_LIT(&out, ",\"offset\":") && ol_buf_append_int(&out, offset) &&
              OL_JSON_LIT(&out, ",\"processed_at\":") && ol_json_append_string(&out, processed) &&
              append_error(&out, a->error) && OL_JSON_LIT(&out, "}");
    return finish(&out, ok);
}

char *cart_step_json(const cart_record *rec, size_t line, ol_step step) {
    char id[OL_ORDER_ID_MAX + 1], target[OL_ORDER_ID_MAX + 1];
    const ol_cart_line *l = &rec->cart.lines[line];
    if (!ol_cart_line_order_id(rec->cart.cart_id, line, ol_step_name(step), id, sizeof id) ||
        !ol_cart_line_order_id(rec->cart.cart_id, line, "hold", target, sizeof target))
        return NULL;
    ol_buf out;
    ol_buf_init(&out);
    bool ok = ol_buf_reserve(&out, STEP_BYTES);
    if (step == OL_STEP_HOLD)
        ok = ok && OL_JSON_LIT(&out, "{\"order_id\":") && ol_json_append_string(&out, id) &&
             OL_JSON_LIT(&out, ",\"item\":") && ol_json_append_string(&out, l->item) &&
             OL_JSON_LIT(&out, ",\"quantity\":") && ol_buf_append_int(&out, l->quantity) &&
             OL_JSON_LIT(&out, ",\"hold_s\":") && ol_buf_append_int(&out, OL_HOLD_MAX_S) && OL_JSON_LIT(&out, "}");
    else
        ok = ok &&
             (step == OL_STEP_COMMIT ? OL_JSON_LIT(&out, "{\"type\":\"confirm\"")
                                     : OL_JSON_LIT(&out, "{\"type\":\"cancel\"")) &&
             OL_JSON_LIT(&out, ",\"order_id\":") && ol_json_append_string(&out, id) &&
             OL_JSON_LIT(&out, ",\"item\":") && ol_json_append_string(&out, l->item) &&
             OL_JSON_LIT(&out, ",\"target\":") && ol_json_append_string(&out, target) && OL_JSON_LIT(&out, "}");
    return finish(&out, ok);
}

char *cart_line_result_json(const cart_line_answer *a) {
    ol_buf out;
    ol_buf_init(&out);
    bool ok = ol_buf_reserve(&out, LINE_RESULT_BYTES) && OL_JSON_LIT(&out, "{\"type\":\"line_result\",\"cart_id\":") &&
              ol_json_append_string(&out, a->cart_id) && OL_JSON_LIT(&out, ",\"line\":") &&
              ol_buf_append_int(&out, (int64_t)a->line) && OL_JSON_LIT(&out, ",\"phase\":") &&
              ol_json_append_string(&out, ol_step_name(a->step)) && OL_JSON_LIT(&out, ",\"item\":") &&
              ol_json_append_string(&out, a->item) && OL_JSON_LIT(&out, ",\"status\":") &&
              ol_json_append_string(&out, ol_status_name(a->status)) && OL_JSON_LIT(&out, ",\"reason\":") &&
              append_reason(&out, a->reason) && OL_JSON_LIT(&out, ",\"partition\":") &&
              ol_buf_append_int(&out, a->partition) && OL_JSON_LIT(&out, ",\"offset\":") &&
              ol_buf_append_int(&out, a->offset) && OL_JSON_LIT(&out, "}");
    return finish(&out, ok);
}

char *cart_record_lines_json(const cart_record *rec) {
    ol_buf out;
    ol_buf_init(&out);
    bool ok = ol_buf_reserve(&out, 2 + rec->flow.n_lines * RECORD_LINE_BYTES) && OL_JSON_LIT(&out, "[");
    for (size_t i = 0; ok && i < rec->flow.n_lines; i++) {
        const ol_cart_line_state *l = &rec->flow.lines[i];
        ok = (i == 0 || OL_JSON_LIT(&out, ",")) && OL_JSON_LIT(&out, "{\"item\":") &&
             ol_json_append_string(&out, rec->cart.lines[i].item) && OL_JSON_LIT(&out, ",\"quantity\":") &&
             ol_buf_append_int(&out, rec->cart.lines[i].quantity) && OL_JSON_LIT(&out, ",\"step\":") &&
             ol_json_append_string(&out, ol_step_name(l->step)) && OL_JSON_LIT(&out, ",\"answered\":") &&
             append_bool(&out, l->answered) && OL_JSON_LIT(&out, ",\"held\":") && append_bool(&out, l->held) &&
             OL_JSON_LIT(&out, ",\"reason\":") && append_reason(&out, rec->reasons[i]) && OL_JSON_LIT(&out, "}");
    }
    return finish(&out, ok && OL_JSON_LIT(&out, "]"));
}

static bool status_parse(const char *name, ol_cart_status *out) {
    for (int s = OL_CART_HOLDING; s <= OL_CART_EXPIRED; s++) {
        if (strcmp(ol_cart_status_name((ol_cart_status)s), name) == 0) {
            *out = (ol_cart_status)s;
            return true;
        }
    }
    return false;
}

static bool step_from_name(const char *name, ol_step *out) {
    for (int s = OL_STEP_HOLD; s <= OL_STEP_RESTORE; s++) {
        if (strcmp(ol_step_name((ol_step)s), name) == 0) {
            *out = (ol_step)s;
            return true;
        }
    }
    return false;
}

static bool line_from_json(cart_record *rec, size_t i, json_t *o) {
    const char *item = NULL, *step = NULL;
    json_int_t quantity = 0;
    int answered = 0, held = 0;
    json_t *reason = NULL;
    if (json_unpack(o, "{s:s, s:I, s:s, s:b, s:b, s:o}", "item", &item, "quantity", &quantity, "step", &step,
                    "answered", &answered, "held", &held, "reason", &reason) != 0 ||
        strlen(item) > OL_ITEM_MAX || quantity < 1 || quantity > OL_QUANTITY_MAX ||
        !step_from_name(step, &rec->flow.lines[i].step))
        return false;
    ol_strlcpy(rec->cart.lines[i].item, item, sizeof rec->cart.lines[i].item);
    rec->cart.lines[i].quantity = (int32_t)quantity;
    rec->flow.lines[i].answered = answered;
    rec->flow.lines[i].held = held;
    rec->reasons[i] = OL_REASON_NONE;
    return json_is_null(reason) ||
           (json_is_string(reason) && ol_reason_parse(json_string_value(reason), &rec->reasons[i]));
}

/* ---- A record's lines as PostgreSQL prints the jsonb: the fast path
 * (ol_flat.h) reads the plain ones, jansson (line_from_json) the rest. */

static bool line_member(const ol_flat_value *v, cart_record *rec, size_t i, unsigned *seen) {
    char text[24];
    bool text_ok = ol_flat_text(v, text, sizeof text);
    ol_cart_line *line = &rec->cart.lines[i];
    ol_cart_line_state *state = &rec->flow.lines[i];
    if (OL_FLAT_IS(v, "item")) {
        *seen |= 1u;
        return ol_flat_text(v, line->item, sizeof line->item);
    }
    if (OL_FLAT_IS(v, "quantity")) {
        *seen |= 2u;
        line->quantity = (int32_t)v->integer;
        return v->kind == OL_FLAT_INTEGER && v->integer >= 1 && v->integer <= OL_QUANTITY_MAX;
    }
    if (OL_FLAT_IS(v, "step")) {
        *seen |= 4u;
        return text_ok && step_from_name(text, &state->step);
    }
    if (OL_FLAT_IS(v, "answered") || OL_FLAT_IS(v, "held")) {
        bool *flag = v->name[0] == 'a' ? &state->answered : &state->held;
        *seen |= v->name[0] == 'a' ? 8u : 16u;
        *flag = v->kind == OL_FLAT_TRUE;
        return v->kind == OL_FLAT_TRUE || v->kind == OL_FLAT_FALSE;
    }
    if (OL_FLAT_IS(v, "reason")) {
        *seen |= 32u;
        return v->kind == OL_FLAT_NULL || (text_ok && ol_reason_parse(text, &rec->reasons[i]));
    }
    return true;
}

static bool lines_from_flat(cart_record *rec, const char *json, size_t *n) {
    ol_flat_array a;
    ol_flat_reader r;
    ol_flat_value v;
    if (!ol_flat_array_open(&a, json, strlen(json))) return false;
    for (*n = 0; ol_flat_array_next(&a, &r); (*n)++) {
        unsigned seen = 0;
        if (*n == OL_CART_LINES_MAX) return false;
        while (ol_flat_next(&r, &v))
            if (!line_member(&v, rec, *n, &seen)) return false;
        if (!ol_flat_close(&r) || seen != 63u) return false;
    }
    return ol_flat_array_close(&a);
}

static bool lines_from_jansson(cart_record *rec, const char *json, size_t *n) {
    json_error_t jerr;
    json_t *lines = json_loads(json, 0, &jerr);
    *n = json_is_array(lines) ? json_array_size(lines) : 0;
    bool ok = *n >= 1 && *n <= OL_CART_LINES_MAX;
    for (size_t i = 0; ok && i < *n; i++) ok = line_from_json(rec, i, json_array_get(lines, i));
    json_decref(lines);
    return ok;
}

bool cart_record_from_columns(cart_record *rec, const char *cart_id, const char *state, bool cancel_pending,
                              int32_t hold_s, int64_t created_ms, int32_t partition, int64_t offset,
                              const char *lines_json, char *err, size_t errlen) {
    memset(rec, 0, sizeof *rec);
    size_t n = 0;
    bool ok = lines_from_flat(rec, lines_json, &n);
    if (!ok) {
        memset(rec, 0, sizeof *rec);
        ok = lines_from_jansson(rec, lines_json, &n);
    }
    ok = ok && n >= 1 && n <= OL_CART_LINES_MAX && strlen(cart_id) <= OL_CART_ID_MAX &&
         status_parse(state, &rec->flow.status);
    if (!ok) {
        ol_seterr(err, errlen, "table carts, cart '%s': state or lines unreadable", cart_id);
        return false;
    }
    rec->exists = true;
    ol_strlcpy(rec->cart.cart_id, cart_id, sizeof rec->cart.cart_id);
    rec->cart.hold_s = hold_s;
    rec->cart.n_lines = n;
    rec->flow.n_lines = n;
    rec->flow.hold_s = hold_s;
    rec->flow.cancel_pending = cancel_pending;
    rec->flow.expires_at_ms = hold_s > 0 ? created_ms + (int64_t)hold_s * 1000 : 0;
    rec->partition = partition;
    rec->offset = offset;
    rec->created_ms = created_ms;
    return true;
}

#include "cart_audit.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cart_engine.h"
#include "cart_msg.h"
#include "ol_map.h"

/* One published answer position: its first copy, and a copy that differed. */
typedef struct published {
    char *first;
    char *other;
    bool original; /* a copy with duplicate false */
} published;

/* A cart as kept between its messages: a cart_record's fields without the
 * room for 100 lines it always has, unpacked to decide. */
typedef struct packed_line {
    ol_cart_line_state state;
    ol_reason reason;
    int32_t quantity;
    char item[OL_ITEM_MAX + 1];
} packed_line;

typedef struct packed_cart {
    char cart_id[OL_CART_ID_MAX + 1];
    int32_t partition, hold_s;
    int64_t offset, created_ms, expires_at_ms;
    ol_cart_status status;
    bool cancel_pending;
    size_t n_lines;
    packed_line lines[];
} packed_cart;

static packed_cart *pack(const cart_record *r) {
    packed_cart *p = malloc(sizeof *p + r->flow.n_lines * sizeof p->lines[0]);
    if (!p) return NULL;
    memcpy(p->cart_id, r->cart.cart_id, sizeof p->cart_id);
    p->partition = r->partition;
    p->hold_s = r->cart.hold_s;
    p->offset = r->offset;
    p->created_ms = r->created_ms;
    p->expires_at_ms = r->flow.expires_at_ms;
    p->status = r->flow.status;
    p->cancel_pending = r->flow.cancel_pending;
    p->n_lines = r->flow.n_lines;
    for (size_t i = 0; i < p->n_lines; i++) {
        p->lines[i].state = r->flow.lines[i];
        p->lines[i].reason = r->reasons[i];
        p->lines[i].quantity = r->cart.lines[i].quantity;
        memcpy(p->lines[i].item, r->cart.lines[i].item, sizeof p->lines[i].item);
    }
    return p;
}

static void unpack(const packed_cart *p, cart_record *r) {
    memset(r, 0, sizeof *r);
    r->exists = true;
    memcpy(r->cart.cart_id, p->cart_id, sizeof r->cart.cart_id);
    r->cart.hold_s = r->flow.hold_s = p->hold_s;
    r->cart.n_lines = r->flow.n_lines = p->n_lines;
    r->partition = p->partition;
    r->offset = p->offset;
    r->created_ms = p->created_ms;
    r->flow.expires_at_ms = p->expires_at_ms;
    r->flow.status = p->status;
    r->flow.cancel_pending = p->cancel_pending;
    for (size_t i = 0; i < p->n_lines; i++) {
        r->flow.lines[i] = p->lines[i].state;
        r->reasons[i] = p->lines[i].reason;
        r->cart.lines[i].quantity = p->lines[i].quantity;
        memcpy(r->cart.lines[i].item, p->lines[i].item, sizeof r->cart.lines[i].item);
    }
}

struct cart_audit {
    audit_report_fn report;
    void *ctx;
    cart_audit_stats stats;
    ol_map **answers; /* per carts partition: "offset" -> published* (owned) */
    bool *finished;
    size_t n_parts;
    int32_t partition;    /* being replayed; -1 before the first */
    ol_map *records;      /* cart_id -> packed_cart* (owned; this partition) */
    cart_record *scratch; /* the cart being decided or checked, unpacked */
    ol_map *decided;      /* order_ids answered (this partition): a repeat is a duplicate */
    ol_map *expected;     /* "offset" -> normalized answer (owned; this partition) */
    ol_map *holds;        /* hold order_id -> cart_hold_state + 1 */
    char **ids;
    size_t n_ids;
};

static bool oom(char *err, size_t errlen) {
    snprintf(err, errlen, "out of memory");
    return false;
}

static void emit(cart_audit *a, divergence_kind kind, const char *order_id, const char *item, int32_t partition,
                 int64_t offset, const char *expected, const char *found, const char *fmt, ...) {
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    divergence d = {kind,
                    order_id && order_id[0] ? order_id : NULL,
                    item && item[0] ? item : NULL,
                    partition,
                    offset,
                    expected ? expected : "",
                    found ? found : "",
                    detail};
    a->stats.divergences++;
    if (a->report) a->report(a->ctx, &d);
}

static void free_values(ol_map *map, void (*fn)(void *)) {
    size_t pos = 0;
    const char *key;
    void *value;
    while (map && ol_map_next(map, &pos, &key, &value)) fn(value);
    if (map) ol_map_clear(map);
}

static void published_free(void *v) {
    published *p = v;
    if (!p) return;
    free(p->first);
    free(p->other);
    free(p);
}

static void reset_partition(cart_audit *a) {
    free_values(a->records, free);
    free_values(a->expected, free);
    ol_map_clear(a->decided);
    ol_map_clear(a->holds);
    for (size_t i = 0; i < a->n_ids; i++) free(a->ids[i]);
    free(a->ids);
    a->ids = NULL;
    a->n_ids = 0;
}

cart_audit *cart_audit_new(audit_report_fn report, void *ctx) {
    cart_audit *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->report = report;
    a->ctx = ctx;
    a->partition = -1;
    a->records = ol_map_new();
    a->scratch = malloc(sizeof *a->scratch);
    a->decided = ol_map_new();
    a->expected = ol_map_new();
    a->holds = ol_map_new();
    if (!a->records || !a->scratch || !a->decided || !a->expected || !a->holds) {
        cart_audit_destroy(a);
        return NULL;
    }
    return a;
}

void cart_audit_destroy(cart_audit *a) {
    if (!a) return;
    reset_partition(a);
    for (size_t i = 0; i < a->n_parts; i++) {
        free_values(a->answers[i], published_free);
        ol_map_destroy(a->answers[i]);
    }
    free(a->answers);
    free(a->finished);
    ol_map_destroy(a->records);
    free(a->scratch);
    ol_map_destroy(a->decided);
    ol_map_destroy(a->expected);
    ol_map_destroy(a->holds);
    free(a);
}

const cart_audit_stats *cart_audit_stats_get(const cart_audit *a) { return &a->stats; }

bool cart_audit_is_answer(const char *value, size_t len) {
    static const char mark[] = "\"topic\":\"carts\"";
    return value && memmem(value, len, mark, sizeof mark - 1) != NULL;
}

/* An answer as compared: without processed_at and duplicate, keys sorted.
 * NULL on OOM or when not a JSON object. */
static char *normalize(json_t *o) {
    json_object_del(o, "processed_at");
    json_object_del(o, "duplicate");
    return json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
}

static bool grow_parts(cart_audit *a, size_t n) {
    if (n <= a->n_parts) return true;
    ol_map **answers = realloc(a->answers, n * sizeof *answers);
    if (!answers) return false;
    a->answers = answers;
    bool *finished = realloc(a->finished, n * sizeof *finished);
    if (!finished) return false;
    a->finished = finished;
    for (size_t i = a->n_parts; i < n; i++) {
        a->finished[i] = false;
        a->answers[i] = ol_map_new();
        if (!a->answers[i]) {
            a->n_parts = i;
            return false;
        }
    }
    a->n_parts = n;
    return true;
}

/* Keeps one copy of the answer at (partition, offset). */
static bool keep_answer(cart_audit *a, int64_t partition, int64_t offset, bool duplicate, char *norm) {
    if (!grow_parts(a, (size_t)partition + 1)) return false;
    char key[24];
    snprintf(key, sizeof key, "%" PRId64, offset);
    published *p = ol_map_get(a->answers[partition], key);
    if (!p) {
        p = calloc(1, sizeof *p);
        if (!p || !ol_map_put(a->answers[partition], key, p)) {
            free(p);
            return false;
        }
        p->first = norm;
    } else if (strcmp(p->first, norm) != 0 && !p->other) {
        p->other = norm;
    } else {
        free(norm);
    }
    p->original |= !duplicate;
    return true;
}

bool cart_audit_add_answer(cart_audit *a, const char *value, size_t len, char *err, size_t errlen) {
    a->stats.answers++;
    json_t *o = json_loadb(value, len, 0, NULL);
    const json_t *p = json_object_get(o, "partition"), *off = json_object_get(o, "offset");
    bool duplicate = json_is_true(json_object_get(o, "duplicate"));
    json_int_t pv = json_is_integer(p) ? json_integer_value(p) : -1;
    json_int_t ov = json_is_integer(off) ? json_integer_value(off) : -1;
    if (pv < 0 || pv > INT32_MAX || ov < 0) {
        emit(a, DIV_CART_ANSWER_MISMATCH, NULL, NULL, -1, -1, "", "",
             "a cart answer without its carts position: %.200s", value);
        json_decref(o);
        return true;
    }
    if ((size_t)pv < a->n_parts && a->finished[pv]) {
        a->stats.answers_unverified++;
        json_decref(o);
        return true;
    }
    char *norm = normalize(o);
    json_decref(o);
    if (!norm || !keep_answer(a, pv, ov, duplicate, norm)) return oom(err, errlen);
    return true;
}

bool cart_audit_begin_partition(cart_audit *a, int32_t partition, char *err, size_t errlen) {
    reset_partition(a);
    a->partition = partition;
    if (partition < 0 || !grow_parts(a, (size_t)partition + 1)) return oom(err, errlen);
    return true;
}

/* The replay's answer, as order-carts publishes it (a cart's own answer
 * names the cart's message; any other its own), kept for the comparison. */
static bool expect_answer(cart_audit *a, const cart_effects *fx, const cart_record *rec, const cart_msg *msg,
                          const audit_msg *m) {
    bool own = fx->answer.kind == CART_MSG_CART && rec->exists && msg->kind == CART_MSG_LINE_RESULT;
    int64_t offset = own ? rec->offset : m->offset;
    char *json = cart_answer_json(&fx->answer, rec, own ? rec->partition : m->partition, offset, 0, false);
    json_t *o = json ? json_loads(json, 0, NULL) : NULL;
    free(json);
    char *norm = o ? normalize(o) : NULL;
    json_decref(o);
    char key[24];
    snprintf(key, sizeof key, "%" PRId64, offset);
    free(ol_map_remove(a->expected, key));
    if (!norm || !ol_map_put(a->expected, key, norm)) {
        free(norm);
        return false;
    }
    return ol_map_put(a->decided, fx->answer.order_id, (void *)1);
}

/* One message through the coordinator's own decision (carts/coordinator.c
 * decide_one, less the I/O). */
static bool replay_msg(cart_audit *a, const cart_msg *msg, const audit_msg *m) {
    const char *cart_id = msg->cart_id[0] ? msg->cart_id : msg->order_id;
    packed_cart *packed = ol_map_get(a->records, cart_id);
    cart_record *rec = a->scratch;
    if (packed) unpack(packed, rec);
    else memset(rec, 0, sizeof *rec);
    bool decided = msg->kind != CART_MSG_LINE_RESULT && ol_map_get(a->decided, msg->order_id) != NULL;
    cart_effects fx;
    cart_engine_apply(rec, msg, decided, m->partition, m->offset, m->ts_ms, &fx);
    bool ok = true;
    if (fx.kind == CART_EFFECT_DECIDED && fx.has_answer) ok = expect_answer(a, &fx, rec, msg, m);
    if (!ok || !rec->exists || fx.kind != CART_EFFECT_DECIDED || (packed && !fx.record_changed)) return ok;
    packed_cart *now = pack(rec);
    if (!now || !ol_map_put(a->records, now->cart_id, now)) {
        free(now);
        return false;
    }
    a->stats.carts += packed == NULL;
    free(packed);
    return true;
}

bool cart_audit_add_msg(cart_audit *a, const audit_msg *m, char *err, size_t errlen) {
    a->stats.messages++;
    cart_msg *msg = malloc(sizeof *msg);
    if (!msg) return oom(err, errlen);
    char why[OL_ERROR_MAX];
    bool ok = true;
    if (!cart_msg_parse(m->value, m->value_len, m->key, m->key_len, msg, why, sizeof why)) a->stats.unreadable++;
    else ok = replay_msg(a, msg, m);
    free(msg);
    return ok || oom(err, errlen);
}

bool cart_audit_hold_ids(cart_audit *a, const char *const **ids, size_t *n, char *err, size_t errlen) {
    size_t pos = 0, want = 0;
    const char *key;
    void *value;
    while (ol_map_next(a->records, &pos, &key, &value))
        if (((packed_cart *)value)->status != OL_CART_HOLDING) want += ((packed_cart *)value)->n_lines;
    char **list = calloc(want + 1, sizeof *list);
    if (!list) return oom(err, errlen);
    for (size_t i = 0; i < a->n_ids; i++) free(a->ids[i]);
    free(a->ids);
    a->ids = list;
    a->n_ids = 0;
    pos = 0;
    while (ol_map_next(a->records, &pos, &key, &value)) {
        const packed_cart *p = value;
        for (size_t i = 0; p->status != OL_CART_HOLDING && i < p->n_lines; i++) {
            char id[OL_ORDER_ID_MAX + 1];
            if (!ol_cart_line_order_id(p->cart_id, i, "hold", id, sizeof id)) continue;
            if (!(list[a->n_ids] = strdup(id))) return oom(err, errlen);
            a->n_ids++;
        }
    }
    *ids = (const char *const *)a->ids;
    *n = a->n_ids;
    return true;
}

bool cart_audit_add_hold(cart_audit *a, const char *order_id, cart_hold_state state, char *err, size_t errlen) {
    return ol_map_put(a->holds, order_id, (void *)(uintptr_t)(state + 1)) || oom(err, errlen);
}

static cart_hold_state hold_state(const cart_audit *a, const cart_record *rec, size_t line) {
    char id[OL_ORDER_ID_MAX + 1];
    if (!ol_cart_line_order_id(rec->cart.cart_id, line, "hold", id, sizeof id)) return CART_HOLD_GONE;
    uintptr_t v = (uintptr_t)ol_map_get(a->holds, id);
    return v ? (cart_hold_state)(v - 1) : CART_HOLD_GONE;
}

/* All or nothing, from the items' ledger: no settled cart half-sold, no
 * line's hold standing after its cart gave it back (complete: every step
 * decided is in the log, so a release cannot still be on its way there). */
static void check_cart(cart_audit *a, const cart_record *rec, bool complete) {
    const ol_cart_flow *f = &rec->flow;
    if (f->status == OL_CART_HOLDING) return;
    bool settled = ol_cart_flow_settled(f);
    bool ended = f->status == OL_CART_REJECTED || f->status == OL_CART_CANCELLED || f->status == OL_CART_EXPIRED;
    a->stats.settled += settled;
    size_t sold = 0;
    for (size_t i = 0; i < f->n_lines; i++) {
        cart_hold_state s = hold_state(a, rec, i);
        sold += s == CART_HOLD_SOLD;
        if (!ended || !complete || s != CART_HOLD_STANDING) continue;
        char id[OL_ORDER_ID_MAX + 1];
        ol_cart_line_order_id(rec->cart.cart_id, i, "hold", id, sizeof id);
        emit(a, DIV_HOLD_NOT_RELEASED, id, rec->cart.lines[i].item, rec->partition, rec->offset, "given back",
             "still held", "cart '%s' is %s, but the hold of its line %zu still stands", rec->cart.cart_id,
             ol_cart_status_name(f->status), i);
    }
    if (settled && ((sold > 0 && sold < f->n_lines) || !ol_cart_flow_all_or_nothing(f))) {
        char found[64];
        snprintf(found, sizeof found, "%zu of %zu lines sold", sold, f->n_lines);
        emit(a, DIV_CART_HALF_SOLD, rec->cart.cart_id, NULL, rec->partition, rec->offset, "all lines or none", found,
             "cart '%s' (%s) is half-sold", rec->cart.cart_id, ol_cart_status_name(f->status));
    }
}

static void order_id_of(const char *json, char *out, size_t len) {
    json_t *o = json_loads(json, 0, NULL);
    const char *id = json_string_value(json_object_get(o, "order_id"));
    snprintf(out, len, "%s", id ? id : "");
    json_decref(o);
}

/* One expected answer against what the results topic has at its position. */
static void check_answer(cart_audit *a, const char *key, const char *want, const published *got, bool complete) {
    char id[OL_ORDER_ID_MAX + 1];
    order_id_of(want, id, sizeof id);
    int64_t offset = strtoll(key, NULL, 10);
    if (got) a->stats.answers_checked++;
    if (!got || !got->original) {
        if (complete)
            emit(a, DIV_CART_ANSWER_MISMATCH, id, NULL, a->partition, offset, want, got ? got->first : "",
                 got ? "only duplicates of this cart answer are published" : "this cart answer is not published");
        if (!got) return;
    }
    if (strcmp(got->first, want) != 0)
        emit(a, DIV_CART_ANSWER_MISMATCH, id, NULL, a->partition, offset, want, got->first,
             "the published cart answer differs from the replay's");
    if (got->other && strcmp(got->other, want) != 0)
        emit(a, DIV_CART_ANSWER_MISMATCH, id, NULL, a->partition, offset, want, got->other,
             "a copy of the published cart answer differs from the replay's");
}

bool cart_audit_finish_partition(cart_audit *a, bool answers_complete, char *err, size_t errlen) {
    if (a->partition < 0 || (size_t)a->partition >= a->n_parts) {
        snprintf(err, errlen, "cart_audit_finish_partition before cart_audit_begin_partition");
        return false;
    }
    ol_map *pub = a->answers[a->partition];
    size_t pos = 0;
    const char *key;
    void *value;
    while (ol_map_next(a->expected, &pos, &key, &value))
        check_answer(a, key, value, ol_map_get(pub, key), answers_complete);
    pos = 0;
    while (ol_map_next(pub, &pos, &key, &value)) {
        if (ol_map_get(a->expected, key)) continue;
        const published *p = value;
        char id[OL_ORDER_ID_MAX + 1];
        order_id_of(p->first, id, sizeof id);
        emit(a, DIV_CART_ANSWER_MISMATCH, id, NULL, a->partition, strtoll(key, NULL, 10), "", p->first,
             "a cart answer for a message the replay does not answer");
    }
    free_values(pub, published_free);
    a->finished[a->partition] = true;
    pos = 0;
    while (ol_map_next(a->records, &pos, &key, &value)) {
        unpack(value, a->scratch);
        check_cart(a, a->scratch, answers_complete);
    }
    reset_partition(a);
    return true;
}

#include "coordinator.h"

#include <inttypes.h>
#include <signal.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cart_engine.h"
#include "cart_metrics.h"
#include "cart_outbox.h"
#include "cart_store.h"
#include "forwarder.h"
#include "ol_kafka.h"
#include "ol_log.h"
#include "ol_map.h"
#include "ol_metrics_server.h"
#include "ol_str.h"
#include "ol_wake.h"

#define OUTBOX_READ_MAX 1000
#define EXPIRE_SCAN_MAX 500
#define EXPIRE_RESEND_MS 5000
#define STOP_FLUSH_MS 10000
#define ACKED_DELETE_MAX 512 /* delivered outbox rows deleted at once ... */
#define ACKED_DELETE_MS 20   /* ... or this long after the first of them */
#define IDLE_WAIT_MS 100     /* longest sleep with nothing due */
#define METRICS_EVERY_MS 250
#define OVERDUE_SLACK_MS 5000 /* issue 22: no hold outlives its deadline by more than 5 s */

/* What a delivery report is about. */
typedef enum { SENT_OUTBOX, SENT_EXPIRE } sent_kind;

typedef struct sent_ref {
    sent_kind kind;
    bool hold;  /* SENT_OUTBOX: a line's hold (for the failpoint) */
    int64_t id; /* SENT_OUTBOX: the row */
} sent_ref;

/* Failpoints, armed by ORDERLINE_FAILPOINT (the fault tests), die like
 * kill -9 at the moments the protocol must survive:
 *   carts-after-hold:N      once the Nth line hold is shown in the log, with
 *                           the cart's other holds maybe not yet sent;
 *   carts-before-commit:N   when every hold of a cart has been answered and
 *                           its commits are decided, before the transaction
 *                           that stores them commits;
 *   carts-freeze-before-commit:N  the same moment, but stopped (SIGSTOP) with
 *                           the batch's transaction open, as a stalled VM
 *                           would be: its row locks must not hold up the
 *                           coordinator that takes its partitions over. */
typedef enum { FP_AFTER_HOLD, FP_BEFORE_COMMIT, FP_FREEZE_BEFORE_COMMIT, FP_COUNT } failpoint;
typedef struct failpoints {
    uint64_t armed[FP_COUNT], passes[FP_COUNT];
} failpoints;

static void failpoints_init(failpoints *f, const char *spec) {
    static const char *const names[FP_COUNT] = {
        "carts-after-hold:", "carts-before-commit:", "carts-freeze-before-commit:"};
    memset(f, 0, sizeof *f);
    for (int i = 0; spec && i < FP_COUNT; i++) {
        if (strncmp(spec, names[i], strlen(names[i])) != 0) continue;
        f->armed[i] = strtoull(spec + strlen(names[i]), NULL, 10);
        ol_warn("failpoint armed: %s%" PRIu64, names[i], f->armed[i]);
    }
}

static void failpoint_pass(failpoints *f, failpoint id) {
    if (!f->armed[id] || ++f->passes[id] != f->armed[id]) return;
    if (id == FP_FREEZE_BEFORE_COMMIT) {
        ol_error("failpoint %d: stopping (SIGSTOP) at pass %" PRIu64, (int)id, f->armed[id]);
        raise(SIGSTOP);
        return;
    }
    ol_error("failpoint %d: dying like kill -9 at pass %" PRIu64, (int)id, f->armed[id]);
    raise(SIGKILL);
}

/* The loop's view of the carts assignment: set by the rebalance callback
 * (which also reads the positions), acted on by the loop. */
typedef enum { ASSIGN_STEADY, ASSIGN_CHANGED } assign_state;

struct cart_coordinator {
    const carts_settings *s;
    volatile sig_atomic_t *stop;
    cart_store *store;
    rd_kafka_t *producer, *carts_rk;
    cart_forwarder *fwd;
    rd_kafka_topic_t *orders_t, *results_t, *carts_t;

    int32_t *owned; /* carts partitions assigned, and their next offsets */
    int64_t *next;
    size_t n_owned, cap_owned;
    int32_t *fence_parts; /* one batch's fence: the partitions it advances, from, to */
    int64_t *fence_from, *fence_to;
    assign_state assign;

    cart_outbox_cursor out; /* how far the outbox is handed to librdkafka */
    int64_t *acked;         /* delivered rows, to delete */
    size_t n_acked, cap_acked;
    size_t outbox_in_flight;

    int64_t acked_since_ms; /* when the oldest undeleted delivered row was reported */

    /* One wake-up for every queue the loop serves: the carts consumer's and
     * the producer's delivery reports (the forwarder has a thread and a
     * pipe of its own). */
    int wake[2];
    rd_kafka_queue_t *queues[2];
    uint64_t delivery_failures; /* the coordinator's own producer's */

    ol_map *cache;                          /* cart_id -> cached_cart, for one batch */
    ol_map *answers;                        /* order_id -> its answer (JSON), for one batch */
    cart_msg *parsed;                       /* the batch's messages, parsed */
    const char **names;                     /* the cart_ids and order_ids they name */
    ol_map *expire_map;                     /* cart_id -> when its expire was last sent (int64_t *) */
    char (*expire_ids)[OL_CART_ID_MAX + 1]; /* scratch of one scan */
    int64_t *expire_deadlines;
    int64_t next_expire_scan_ms, last_work_ms;
    cart_metrics m;          /* the totals: /metrics and --stats-file */
    cart_batch_counts b;     /* the batch in hand's, added to m at its commit */
    ol_metrics_server *http; /* NULL without --metrics-addr */
    int64_t metrics_published_ms;
    failpoints fp;
};

/* ---- /metrics ----------------------------------------------------------- */

static bool in_group(rd_kafka_t *rk) {
    char *id = rk ? rd_kafka_memberid(rk) : NULL;
    bool member = id && *id;
    if (id) rd_kafka_mem_free(rk, id);
    return member;
}

/* The totals, with what the loop knows now. */
static void refresh_metrics(cart_coordinator *c) {
    cart_forwarder_counts f = c->fwd ? cart_forwarder_counts_get(c->fwd) : (cart_forwarder_counts){0, 0};
    c->m.forwarded = f.forwarded;
    c->m.delivery_failures = c->delivery_failures + f.delivery_failures;
    c->m.db_connected = cart_store_connected(c->store);
    c->m.partitions_owned = (uint32_t)c->n_owned;
    c->m.group_member = in_group(c->carts_rk);
}

static void publish_metrics(cart_coordinator *c) {
    if (!c->http) return;
    refresh_metrics(c);
    ol_metrics_server_publish(c->http, &c->m);
    c->metrics_published_ms = ol_monotonic_ms();
}

static bool render_metrics(const void *snapshot, const void *ctx, ol_buf *out) {
    return cart_metrics_render(snapshot, out);
}

static const char *health_metrics(const void *snapshot) { return cart_metrics_health(snapshot); }

/* ---- delivery reports ------------------------------------------------- */

static bool push_id(cart_coordinator *c, int64_t id) {
    if (c->n_acked == 0) c->acked_since_ms = ol_monotonic_ms();
    if (c->n_acked == c->cap_acked) {
        size_t cap = c->cap_acked ? c->cap_acked * 2 : 1024;
        int64_t *p = realloc(c->acked, cap * sizeof *p);
        if (!p) return false;
        c->acked = p;
        c->cap_acked = cap;
    }
    c->acked[c->n_acked++] = id;
    return true;
}

/* "Delivered" means in the log: only a report naming an offset counts. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
    (void)rk;
    cart_coordinator *c = opaque;
    sent_ref *ref = msg->_private;
    bool in_log = msg->err == RD_KAFKA_RESP_ERR_NO_ERROR && msg->offset >= 0;
    if (!in_log) {
        c->delivery_failures++;
        ol_warn("delivery to '%s' [%" PRId32 "] failed: %s", rd_kafka_topic_name(msg->rkt), msg->partition,
                rd_kafka_err2str(msg->err));
    }
    if (!ref) return;
    if (ref->kind == SENT_OUTBOX) {
        c->outbox_in_flight--;
        /* A row not shown in the log stays, and is read again. */
        if (!in_log || !push_id(c, ref->id)) cart_outbox_reread(&c->out);
        if (in_log && ref->hold) failpoint_pass(&c->fp, FP_AFTER_HOLD);
    }
    free(ref);
}

static rd_kafka_resp_err_t produce(cart_coordinator *c, rd_kafka_topic_t *t, const char *key, const char *value,
                                   sent_ref *ref) {
    ol_kafka_msg m = {.rkt = t,
                      .key = key,
                      .key_len = strlen(key),
                      .value = (void *)value,
                      .len = strlen(value),
                      .flags = RD_KAFKA_MSG_F_COPY,
                      .opaque = ref};
    return ol_kafka_produce(c->producer, &m, 100);
}

/* ---- the carts assignment --------------------------------------------- */

static bool grow(void **p, size_t n, size_t size) {
    void *q = realloc(*p, n * size);
    if (q) *p = q;
    return q != NULL;
}

/* The owned partitions' arrays, and the fence's scratch of as many. */
static bool owned_reserve(cart_coordinator *c, size_t n) {
    if (n <= c->cap_owned) return true;
    if (!grow((void **)&c->owned, n, sizeof *c->owned) || !grow((void **)&c->next, n, sizeof *c->next) ||
        !grow((void **)&c->fence_parts, n, sizeof *c->fence_parts) ||
        !grow((void **)&c->fence_from, n, sizeof *c->fence_from) ||
        !grow((void **)&c->fence_to, n, sizeof *c->fence_to))
        return false;
    c->cap_owned = n;
    return true;
}

/* Assigns the partitions from their stored positions. The positions are a
 * local PostgreSQL read: librdkafka must have the offsets before the
 * callback returns, and only the store knows them. */
static void assign_from_store(cart_coordinator *c, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts) {
    char err[512];
    size_t n = (size_t)parts->cnt;
    c->n_owned = 0;
    bool ok = owned_reserve(c, n ? n : 1);
    for (size_t i = 0; ok && i < n; i++) c->owned[i] = parts->elems[i].partition;
    cart_store_status st =
        ok ? cart_store_positions(c->store, c->owned, n, c->next, err, sizeof err) : CART_STORE_BROKEN;
    if (st != CART_STORE_OK) {
        /* Nothing is decided without positions: take none, and have the
         * loop reconnect; the group gives the partitions out again. */
        ol_error("carts topic: reading the positions of %zu assigned partitions: %s", n, ok ? err : "out of memory");
        rd_kafka_assign(rk, NULL);
        c->assign = ASSIGN_CHANGED;
        return;
    }
    for (size_t i = 0; i < n; i++) parts->elems[i].offset = c->next[i];
    c->n_owned = n;
    c->m.assigned = true; /* even with none: the group has given this process its share */
    rd_kafka_assign(rk, parts);
    c->assign = ASSIGN_CHANGED;
    ol_info("carts topic: %zu partitions assigned", n);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t *parts, void *opaque) {
    cart_coordinator *c = opaque;
    if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        assign_from_store(c, rk, parts);
        return;
    }
    /* Revoked: what was decided is stored; send what is in flight so the
     * next owner finds less to repeat. */
    rd_kafka_flush(c->producer, 2000);
    rd_kafka_assign(rk, NULL);
    c->n_owned = 0;
    c->assign = ASSIGN_CHANGED;
}

static int owned_index(const cart_coordinator *c, int32_t partition) {
    for (size_t i = 0; i < c->n_owned; i++)
        if (c->owned[i] == partition) return (int)i;
    return -1;
}

/* ---- deciding a batch ------------------------------------------------- */

static bool send_row(cart_coordinator *c, const cart_outbox_row *row, char *err, size_t errlen);

/* A cart as the batch has it, and whether the batch changed it. */
typedef struct cached_cart {
    cart_record rec;
    bool dirty;
} cached_cart;

static void map_clear_values(ol_map *m) {
    size_t pos = 0;
    const char *key;
    void *value;
    while (ol_map_next(m, &pos, &key, &value)) free(value);
    ol_map_clear(m);
}

static bool cache_put(void *opaque, const cart_record *rec) {
    cart_coordinator *c = opaque;
    cached_cart *e = malloc(sizeof *e);
    if (!e) return false;
    e->rec = *rec;
    e->dirty = false;
    if (ol_map_put(c->cache, rec->cart.cart_id, e)) return true;
    free(e);
    return false;
}

static bool answer_put(void *opaque, const char *order_id, const char *answer) {
    cart_coordinator *c = opaque;
    char *copy = strdup(answer);
    if (copy && ol_map_put(c->answers, order_id, copy)) return true;
    free(copy);
    return false;
}

/* A repeat: its first answer again, marked duplicate. */
static bool answer_again(cart_coordinator *c, const char *cart_id, int32_t partition, const char *stored) {
    c->b.duplicates++;
    if (!stored) return true; /* a cart still holding: its answer comes */
    json_t *o = json_loads(stored, 0, NULL);
    char *again = NULL;
    if (o && json_object_set_new(o, "duplicate", json_true()) == 0) again = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    bool ok = again && cart_store_stage_outbox(c->store, partition, CART_OUT_RESULTS, cart_id, again);
    free(again);
    return ok;
}

static bool send_steps(cart_coordinator *c, const cart_record *rec, const ol_cart_actions *actions) {
    for (size_t i = 0; i < actions->n_steps; i++) {
        size_t line = actions->steps[i].line;
        char *value = cart_step_json(rec, line, actions->steps[i].step);
        bool ok = value &&
                  cart_store_stage_outbox(c->store, rec->partition, CART_OUT_ORDERS, rec->cart.lines[line].item, value);
        free(value);
        if (!ok) return false;
    }
    return true;
}

/* The answer: kept for repeats, and sent. A cart's own answer names the
 * cart's message; a follow-up's its own. */
static bool publish_answer(cart_coordinator *c, const cart_effects *fx, const cart_record *rec, const cart_msg *m,
                           int32_t partition, int64_t offset) {
    bool own = fx->answer.kind == CART_MSG_CART && rec->exists && m->kind == CART_MSG_LINE_RESULT;
    int32_t p = own ? rec->partition : partition;
    int64_t o = own ? rec->offset : offset;
    char *json = cart_answer_json(&fx->answer, rec, p, o, ol_now_us(), false);
    const char *cart_id = rec->exists ? rec->cart.cart_id : m->cart_id;
    bool ok = json && cart_store_stage_answer(c->store, &fx->answer, cart_id, p, o, json) &&
              cart_store_stage_outbox(c->store, partition, CART_OUT_RESULTS, cart_id[0] ? cart_id : fx->answer.order_id,
                                      json) &&
              answer_put(c, fx->answer.order_id, json);
    free(json);
    cart_counts_answer(&c->b, fx->answer.type, fx->answer.status);
    return ok;
}

/* The cart a message names, from the batch's cache (every cart the batch
 * names was read at its start; one not found is new). */
static cached_cart *cart_of(cart_coordinator *c, const char *cart_id) {
    cached_cart *e = ol_map_get(c->cache, cart_id);
    if (e) return e;
    cart_record none;
    memset(&none, 0, sizeof none);
    ol_strlcpy(none.cart.cart_id, cart_id, sizeof none.cart.cart_id);
    return cache_put(c, &none) ? ol_map_get(c->cache, cart_id) : NULL;
}

static bool decide_one(cart_coordinator *c, const rd_kafka_message_t *msg, const cart_msg *m) {
    const char *cart_id = m->cart_id[0] ? m->cart_id : m->order_id;
    cached_cart *e = cart_of(c, cart_id);
    if (!e) return false;
    const char *stored = m->kind != CART_MSG_LINE_RESULT ? ol_map_get(c->answers, m->order_id) : NULL;
    cart_effects fx;
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(msg, &tstype);
    int before = e->rec.exists ? (int)e->rec.flow.status : CART_METRICS_STATE_NEW;
    cart_engine_apply(&e->rec, m, stored != NULL, msg->partition, msg->offset, ts, &fx);
    if (fx.kind == CART_EFFECT_DUPLICATE) return answer_again(c, cart_id, msg->partition, stored);
    if (fx.kind == CART_EFFECT_NONE) {
        c->b.stale++;
        ol_debug("carts topic [%" PRId32 "] offset %" PRId64 ": %s", msg->partition, msg->offset, fx.note);
        return true;
    }
    c->b.carts += m->kind == CART_MSG_CART;
    cart_counts_transition(&c->b, before, e->rec.exists ? (int)e->rec.flow.status : CART_METRICS_STATE_NEW);
    if (fx.actions.n_steps && fx.actions.steps[0].step == OL_STEP_COMMIT) {
        failpoint_pass(&c->fp, FP_BEFORE_COMMIT);
        failpoint_pass(&c->fp, FP_FREEZE_BEFORE_COMMIT);
    }
    e->dirty = e->dirty || fx.record_changed;
    return send_steps(c, &e->rec, &fx.actions) &&
           (!fx.has_answer || publish_answer(c, &fx, &e->rec, m, msg->partition, msg->offset));
}

/* Parses the batch's new messages into c->parsed (ok[k] false: unreadable,
 * logged), and names every cart and answer they need in b. */
static void parse_batch(cart_coordinator *c, rd_kafka_message_t **msgs, const bool *fresh, size_t n, bool *ok,
                        cart_store_batch *b) {
    const char **carts = c->names, **orders = c->names + n;
    size_t nc = 0, no = 0;
    for (size_t k = 0; k < n; k++) {
        char why[OL_ERROR_MAX];
        cart_msg *m = &c->parsed[k];
        ok[k] = fresh[k] &&
                cart_msg_parse(msgs[k]->payload, msgs[k]->len, msgs[k]->key, msgs[k]->key_len, m, why, sizeof why);
        if (fresh[k]) c->b.messages++;
        if (fresh[k] && !ok[k]) {
            c->b.unreadable++;
            ol_warn("carts topic [%" PRId32 "] offset %" PRId64 ": unreadable, no answer possible: %s",
                    msgs[k]->partition, msgs[k]->offset, why);
        }
        if (!ok[k]) continue;
        carts[nc++] = m->cart_id[0] ? m->cart_id : m->order_id;
        if (m->kind != CART_MSG_LINE_RESULT) orders[no++] = m->order_id;
    }
    b->cart_ids = carts;
    b->n_carts = nc;
    b->order_ids = orders;
    b->n_orders = no;
    b->on_cart = cache_put;
    b->on_answer = answer_put;
    b->opaque = c;
}

static bool stage_dirty(cart_coordinator *c) {
    size_t pos = 0;
    const char *key;
    void *value;
    while (ol_map_next(c->cache, &pos, &key, &value)) {
        cached_cart *e = value;
        if (e->dirty && !cart_store_stage_cart(c->store, &e->rec)) return false;
    }
    return true;
}

/* Reads the stored positions again and seeks there: after a fence, a
 * rollback or a reconnect, the store is the truth. */
static cart_store_status resync(cart_coordinator *c, char *err, size_t errlen) {
    if (c->n_owned == 0) return CART_STORE_OK;
    cart_store_status st = cart_store_positions(c->store, c->owned, c->n_owned, c->next, err, errlen);
    if (st != CART_STORE_OK) return st;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)c->n_owned);
    if (!l) {
        ol_seterr(err, errlen, "out of memory");
        return CART_STORE_BROKEN;
    }
    for (size_t i = 0; i < c->n_owned; i++)
        rd_kafka_topic_partition_list_add(l, c->s->common.carts_topic, c->owned[i])->offset = c->next[i];
    rd_kafka_error_t *e = rd_kafka_seek_partitions(c->carts_rk, l, 5000);
    if (e) {
        ol_warn("carts topic: seeking to the stored positions: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
    rd_kafka_topic_partition_list_destroy(l);
    cart_outbox_reread(&c->out); /* what the stored decisions owe is sent again */
    return CART_STORE_OK;
}

/* The fence of every partition the batch advances: from the position
 * expected to one past its last message. */
static void fence_batch(cart_coordinator *c, rd_kafka_message_t **msgs, size_t n, int64_t *ends, cart_store_batch *b) {
    for (size_t i = 0; i < c->n_owned; i++) ends[i] = -1;
    for (size_t k = 0; k < n; k++) {
        int i = owned_index(c, msgs[k]->partition);
        if (i >= 0 && msgs[k]->offset >= c->next[i]) ends[i] = msgs[k]->offset + 1;
    }
    size_t m = 0;
    for (size_t i = 0; i < c->n_owned; i++) {
        if (ends[i] < 0) continue;
        c->fence_parts[m] = c->owned[i];
        c->fence_from[m] = c->next[i];
        c->fence_to[m++] = ends[i];
    }
    b->partitions = c->fence_parts;
    b->expected = c->fence_from;
    b->next = c->fence_to;
    b->n_fence = m;
}

/* The batch's rows, just committed, straight to librdkafka when nothing
 * earlier is owed from the table (cart_outbox.h); else the next read of the
 * table sends them, after what it owes. */
static cart_store_status hand_over(cart_coordinator *c, char *err, size_t errlen) {
    size_t n = 0;
    const cart_outbox_row *rows = cart_store_committed_outbox(c->store, &n);
    for (size_t i = 0; i < n && cart_outbox_may_hand(&c->out); i++) {
        if (!send_row(c, &rows[i], err, errlen)) return CART_STORE_BROKEN;
        cart_outbox_handed(&c->out, rows[i].id);
    }
    return CART_STORE_OK;
}

/* One transaction for the batch in two round trips: BEGIN, the fence and
 * the batch's reads; each new message decided in order; then its writes
 * and COMMIT. */
static cart_store_status decide_batch(cart_coordinator *c, rd_kafka_message_t **msgs, size_t n, char *err,
                                      size_t errlen) {
    int64_t *ends = calloc(c->n_owned ? c->n_owned : 1, sizeof *ends);
    bool *fresh = calloc(n, 2 * sizeof *fresh);
    if (!ends || !fresh) {
        free(ends);
        free(fresh);
        ol_seterr(err, errlen, "out of memory");
        return CART_STORE_BROKEN;
    }
    bool *ok = fresh + n;
    memset(&c->b, 0, sizeof c->b);
    int64_t t0 = ol_now_us();
    for (size_t k = 0; k < n; k++) {
        int i = owned_index(c, msgs[k]->partition);
        fresh[k] = i >= 0 && msgs[k]->offset >= c->next[i]; /* ours, and not decided before */
    }
    cart_store_batch b;
    fence_batch(c, msgs, n, ends, &b);
    parse_batch(c, msgs, fresh, n, ok, &b);
    cart_store_status st = cart_store_open_batch(c->store, &b, err, errlen);
    for (size_t k = 0; st == CART_STORE_OK && k < n; k++) {
        if (ok[k] && !decide_one(c, msgs[k], &c->parsed[k])) {
            ol_seterr(err, errlen, "carts topic [%" PRId32 "] offset %" PRId64 ": out of memory deciding it",
                      msgs[k]->partition, msgs[k]->offset);
            st = CART_STORE_BROKEN;
        }
    }
    if (st == CART_STORE_OK && !stage_dirty(c)) {
        ol_seterr(err, errlen, "out of memory staging the batch's carts");
        st = CART_STORE_BROKEN;
    }
    if (st == CART_STORE_OK) st = cart_store_write_commit(c->store, err, errlen);
    if (st == CART_STORE_OK) {
        for (size_t i = 0; i < c->n_owned; i++)
            if (ends[i] >= 0) c->next[i] = ends[i];
        cart_metrics_add(&c->m, &c->b);
        ol_histogram_observe(&c->m.batch_size, (double)n);
        ol_histogram_observe(&c->m.batch_seconds, (double)(ol_now_us() - t0) / 1e6);
        st = hand_over(c, err, errlen);
    } else {
        cart_store_rollback(c->store);
    }
    cart_store_unstage(c->store);
    free(ends);
    free(fresh);
    map_clear_values(c->cache);
    map_clear_values(c->answers);
    return st;
}

/* Up to batch_max messages of the carts topic, waiting at most wait_ms for
 * the first and batch_linger_ms after it for the rest: a transaction per
 * message or two cost PostgreSQL more CPU than the wait costs a cart
 * (bench/notes.md). Errors of the consumer are logged; a partition's end
 * is not one. */
static size_t collect(cart_coordinator *c, rd_kafka_message_t **msgs, size_t cap, int wait_ms) {
    size_t n = 0;
    int64_t until = 0;
    while (n < cap) {
        int64_t left = n == 0 ? wait_ms : until - ol_monotonic_ms();
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->carts_rk, left > 0 ? (int)left : 0);
        if (!m) break;
        if (n == 0) until = ol_monotonic_ms() + c->s->batch_linger_ms;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) ol_warn("carts topic: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        msgs[n++] = m;
        if (c->assign == ASSIGN_CHANGED) break; /* what came before the change is dropped below */
    }
    return n;
}

/* A store failure that a new connection may mend, or a fence: the batch is
 * gone, the positions are read again. */
static bool recover(cart_coordinator *c, cart_store_status st, const char *why, char *err, size_t errlen) {
    if (st == CART_STORE_BROKEN) return false;
    if (st == CART_STORE_FENCED) {
        c->m.fenced++;
        ol_warn("%s; reading the positions again", why);
    } else {
        c->m.retries++;
        ol_warn("PostgreSQL: %s; reconnecting", why);
        publish_metrics(c); /* /healthz shows the outage while reconnecting */
        for (int attempt = 0; !*c->stop; attempt++) {
            st = cart_store_reconnect(c->store, err, errlen);
            if (st == CART_STORE_OK) break;
            if (st == CART_STORE_BROKEN) return false;
            ol_sleep_ms(attempt < 10 ? 100 * (attempt + 1) : 1000);
        }
        publish_metrics(c);
    }
    st = resync(c, err, errlen);
    return st == CART_STORE_OK || recover(c, st, err, err, errlen);
}

static bool step_carts(cart_coordinator *c, bool *worked, char *err, size_t errlen) {
    rd_kafka_message_t *msgs[1024];
    size_t cap = (size_t)c->s->batch_max < 1024 ? (size_t)c->s->batch_max : 1024;
    c->assign = ASSIGN_STEADY;
    size_t n = collect(c, msgs, cap, 0);
    if (n > 0 || c->assign == ASSIGN_CHANGED) *worked = true;
    cart_store_status st = CART_STORE_OK;
    if (c->assign == ASSIGN_CHANGED) {
        /* Fetched under the old assignment: read again from the positions. */
        st = resync(c, err, errlen);
    } else if (n > 0) {
        st = decide_batch(c, msgs, n, err, errlen);
        c->last_work_ms = ol_monotonic_ms();
    }
    for (size_t k = 0; k < n; k++) rd_kafka_message_destroy(msgs[k]);
    if (st == CART_STORE_OK) return true;
    char why[1024];
    ol_strlcpy(why, err, sizeof why);
    return recover(c, st, why, err, errlen);
}

/* ---- the outbox -------------------------------------------------------- */

static bool send_row(cart_coordinator *c, const cart_outbox_row *row, char *err, size_t errlen) {
    sent_ref *ref = calloc(1, sizeof *ref);
    if (!ref) {
        ol_seterr(err, errlen, "out of memory");
        return false;
    }
    ref->kind = SENT_OUTBOX;
    ref->id = row->id;
    ref->hold = row->topic == CART_OUT_ORDERS && strstr(row->value, "\"hold_s\"") != NULL;
    rd_kafka_topic_t *t = row->topic == CART_OUT_ORDERS ? c->orders_t : c->results_t;
    rd_kafka_resp_err_t e = produce(c, t, row->key, row->value, ref);
    if (e) {
        free(ref);
        cart_outbox_reread(&c->out); /* from the start: a later row may be out already */
        if (ol_kafka_delivery_refused(e)) {
            ol_seterr(err, errlen, "producing to '%s': %s", rd_kafka_topic_name(t), rd_kafka_err2str(e));
            return false;
        }
        return true;
    }
    c->outbox_in_flight++;
    row->topic == CART_OUT_ORDERS ? c->m.steps_sent++ : c->m.answers_sent++;
    return true;
}

/* Hands the table's rows of the owned partitions after the cursor to
 * librdkafka, when a read is owed (start, resync, reconnect, a loss). */
static cart_store_status send_outbox(cart_coordinator *c, char *err, size_t errlen) {
    if (cart_outbox_may_hand(&c->out) || c->n_owned == 0) return CART_STORE_OK;
    cart_outbox_row *rows = calloc(OUTBOX_READ_MAX, sizeof *rows);
    if (!rows) {
        ol_seterr(err, errlen, "out of memory");
        return CART_STORE_BROKEN;
    }
    cart_outbox_read_start(&c->out);
    cart_store_status st = CART_STORE_OK;
    size_t got = OUTBOX_READ_MAX;
    while (st == CART_STORE_OK && got == OUTBOX_READ_MAX && cart_outbox_may_hand(&c->out)) {
        st = cart_store_outbox_read(c->store, c->owned, c->n_owned, c->out.after, rows, OUTBOX_READ_MAX, &got, err,
                                    errlen);
        /* A row refused or lost on the way stops the read: nothing after it
         * may go first; the next read starts from the beginning. */
        for (size_t i = 0; st == CART_STORE_OK && i < got && cart_outbox_may_hand(&c->out); i++) {
            if (!send_row(c, &rows[i], err, errlen)) st = CART_STORE_BROKEN;
            cart_outbox_handed(&c->out, rows[i].id);
        }
        for (size_t i = 0; i < got; i++) cart_outbox_row_free(&rows[i]);
    }
    free(rows);
    return st;
}

/* Delivered rows go in batches: a DELETE per report would cost a round
 * trip between every two decisions; a row left behind by a crash is only
 * sent again (a duplicate). */
static cart_store_status delete_acked(cart_coordinator *c, bool all, char *err, size_t errlen) {
    if (c->n_acked == 0) return CART_STORE_OK;
    if (!all && c->n_acked < ACKED_DELETE_MAX && ol_monotonic_ms() - c->acked_since_ms < ACKED_DELETE_MS)
        return CART_STORE_OK;
    cart_store_status st = cart_store_outbox_delete(c->store, c->acked, c->n_acked, err, errlen);
    if (st == CART_STORE_OK) c->n_acked = 0;
    return st;
}

/* ---- expiry ------------------------------------------------------------ */

/* The expire goes to the cart's partition, stamped no earlier than the
 * deadline: the flow counts it only when its log time has passed it, and
 * a clock behind the cart's producer would otherwise make it too early. */
static void send_expire(cart_coordinator *c, const char *cart_id, int64_t deadline_ms, int64_t now_ms) {
    char value[512];
    json_t *o =
        json_pack("{s:s, s:s+, s:s}", "type", "cart_expire", "order_id", cart_id, "#expire", "cart_id", cart_id);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s) return;
    ol_strlcpy(value, s, sizeof value);
    free(s);
    rd_kafka_resp_err_t e =
        rd_kafka_producev(c->producer, RD_KAFKA_V_RKT(c->carts_t), RD_KAFKA_V_KEY(cart_id, strlen(cart_id)),
                          RD_KAFKA_V_VALUE(value, strlen(value)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_TIMESTAMP(deadline_ms > now_ms ? deadline_ms : now_ms), RD_KAFKA_V_END);
    if (e) {
        ol_warn("cart '%s': sending its expire: %s", cart_id, rd_kafka_err2str(e));
        return;
    }
    c->m.expires_sent++;
}

static bool recently_expired(cart_coordinator *c, const char *cart_id, int64_t now_ms) {
    int64_t *at = ol_map_get(c->expire_map, cart_id);
    if (at && now_ms - *at < EXPIRE_RESEND_MS) return true;
    if (!at && (at = malloc(sizeof *at)) && !ol_map_put(c->expire_map, cart_id, at)) {
        free(at);
        at = NULL;
    }
    if (at) *at = now_ms;
    return false;
}

static void expire_map_prune(cart_coordinator *c, int64_t now_ms) {
    if (ol_map_size(c->expire_map) < 4096) return;
    size_t pos = 0;
    const char *key;
    void *value;
    while (ol_map_next(c->expire_map, &pos, &key, &value)) free(value);
    ol_map_clear(c->expire_map);
    (void)now_ms;
}

/* Outbox rows of the owned partitions not yet in the log. While no table
 * read is owed, every such row has been handed to librdkafka and awaits its
 * report, so this process knows the figure; only otherwise is the table
 * counted, since a count visits every row deleted since the last vacuum,
 * on the loop every cart waits on. With no partition there is nothing to
 * count (and no read ever clears the owed one). */
static bool outbox_pending_known(const cart_coordinator *c, int64_t *pending) {
    if (c->n_owned == 0) {
        *pending = 0;
        return true;
    }
    if (!cart_outbox_may_hand(&c->out)) return false;
    *pending = (int64_t)c->outbox_in_flight;
    return true;
}

/* Every expire interval: the gauges (a ping of PostgreSQL too, when idle),
 * then an expire for each held cart of the owned partitions past its
 * deadline. A cart is overdue once its deadline is OVERDUE_SLACK_MS behind:
 * the gauge is read before this scan's expires go out, so a coordinator
 * that was frozen shows its overdue carts until the next scan. */
static cart_store_status step_expire(cart_coordinator *c, char *err, size_t errlen) {
    int64_t mono = ol_monotonic_ms();
    if (mono < c->next_expire_scan_ms) return CART_STORE_OK;
    c->next_expire_scan_ms = mono + c->s->expire_interval_ms;
    int64_t now_ms = ol_now_us() / 1000;
    cart_store_gauge_values g = {0, 0};
    int64_t pending = 0;
    cart_store_status st =
        cart_store_gauges(c->store, c->owned, c->n_owned, now_ms - OVERDUE_SLACK_MS, &g, err, errlen);
    if (st == CART_STORE_OK && !outbox_pending_known(c, &pending))
        st = cart_store_outbox_count(c->store, c->owned, c->n_owned, &pending, err, errlen);
    if (st != CART_STORE_OK) return st;
    c->m.outbox_pending = pending;
    c->m.carts_held = g.held;
    c->m.holds_overdue = g.overdue;
    if (c->n_owned == 0) return CART_STORE_OK;
    char(*ids)[OL_CART_ID_MAX + 1] = c->expire_ids;
    int64_t *deadlines = c->expire_deadlines;
    size_t n = 0;
    st = cart_store_due(c->store, c->owned, c->n_owned, now_ms, ids, deadlines, EXPIRE_SCAN_MAX, &n, err, errlen);
    expire_map_prune(c, now_ms);
    for (size_t i = 0; st == CART_STORE_OK && i < n; i++)
        if (!recently_expired(c, ids[i], now_ms)) send_expire(c, ids[i], deadlines[i], now_ms);
    return st;
}

/* ---- the loop ----------------------------------------------------------- */

static bool idle_done(cart_coordinator *c) {
    if (c->s->idle_exit_s <= 0) return false;
    bool quiet =
        cart_outbox_may_hand(&c->out) && c->outbox_in_flight == 0 && c->n_acked == 0 && cart_forwarder_idle(c->fwd);
    return quiet && ol_monotonic_ms() - c->last_work_ms >= c->s->idle_exit_s * 1000;
}

/* Sleeps until one of the queues has something, or the next chore is due:
 * no spinning while deliveries are out, no added wait when they come. */
static void wait_for_work(cart_coordinator *c) {
    int64_t now = ol_monotonic_ms();
    int64_t until = now + IDLE_WAIT_MS;
    if (c->n_owned > 0 && c->next_expire_scan_ms < until) until = c->next_expire_scan_ms;
    if (c->n_acked > 0 && c->acked_since_ms + ACKED_DELETE_MS < until) until = c->acked_since_ms + ACKED_DELETE_MS;
    int64_t publish_due = c->metrics_published_ms + METRICS_EVERY_MS; /* /metrics no staler than that */
    if (c->http && publish_due < until) until = publish_due;
    if (!cart_outbox_may_hand(&c->out)) until = now + 10; /* a refused produce: try again soon */
    ol_wake_wait(c->wake, (int)(until - now));
}

static bool store_step(cart_coordinator *c, cart_store_status st, char *err, size_t errlen) {
    if (st == CART_STORE_OK) return true;
    char why[1024];
    ol_strlcpy(why, err, sizeof why);
    return recover(c, st, why, err, errlen);
}

bool cart_coordinator_run(cart_coordinator *c, char *err, size_t errlen) {
    c->last_work_ms = ol_monotonic_ms();
    if (!cart_forwarder_start(c->fwd, err, errlen)) return false;
    while (!*c->stop) {
        bool worked = rd_kafka_poll(c->producer, 0) > 0;
        if (!step_carts(c, &worked, err, errlen)) return false;
        if (!store_step(c, send_outbox(c, err, errlen), err, errlen)) return false;
        worked |= rd_kafka_poll(c->producer, 0) > 0;
        if (!store_step(c, delete_acked(c, false, err, errlen), err, errlen)) return false;
        if (cart_forwarder_failed(c->fwd, err, errlen)) return false;
        if (!store_step(c, step_expire(c, err, errlen), err, errlen)) return false;
        if (ol_monotonic_ms() - c->metrics_published_ms >= METRICS_EVERY_MS) publish_metrics(c);
        if (idle_done(c)) {
            ol_info("idle for %ld s with nothing owed: exiting", c->s->idle_exit_s);
            break;
        }
        if (!worked) wait_for_work(c);
    }
    return true;
}

bool cart_coordinator_stop(cart_coordinator *c, char *err, size_t errlen) {
    if (!c) return true;
    int64_t until = ol_monotonic_ms() + STOP_FLUSH_MS;
    while (c->outbox_in_flight && ol_monotonic_ms() < until) rd_kafka_poll(c->producer, 50);
    char sub[512];
    bool ok = delete_acked(c, true, sub, sizeof sub) == CART_STORE_OK;
    if (!ok) ol_seterr(err, errlen, "deleting sent outbox rows: %s (they are sent again on the next start)", sub);
    int64_t left = until - ol_monotonic_ms();
    if (ok && !cart_forwarder_stop(c->fwd, left > 0 ? (int)left : 0, err, errlen)) ok = false;
    rd_kafka_consumer_close(c->carts_rk);
    if (ok && c->outbox_in_flight) {
        ol_seterr(err, errlen, "%zu outbox messages unconfirmed at stop (sent again on the next start)",
                  c->outbox_in_flight);
        ok = false;
    }
    return ok;
}

/* The same text as /metrics, at exit. */
bool cart_coordinator_write_stats(cart_coordinator *c, const char *path, char *err, size_t errlen) {
    refresh_metrics(c);
    ol_buf text;
    ol_buf_init(&text);
    if (!cart_metrics_render(&c->m, &text)) {
        ol_buf_free(&text);
        ol_seterr(err, errlen, "writing stats to '%s': out of memory", path);
        return false;
    }
    FILE *f = fopen(path, "w");
    bool ok = f && fwrite(text.data, 1, text.len, f) == text.len;
    if (f && fclose(f) != 0) ok = false;
    ol_buf_free(&text);
    if (!ok) ol_seterr(err, errlen, "writing stats to '%s' failed", path);
    return ok;
}

/* ---- making and freeing ------------------------------------------------- */

static bool clients_new(cart_coordinator *c, char *err, size_t errlen) {
    const ol_settings *s = &c->s->common;
    /* linger.ms 1: every message here is a step someone waits on; what
     * leaves together (a batch's steps) is in one request anyway. */
    static const char *const producer_defaults[] = {
        OL_KAFKA_PRODUCER_DEFAULTS, "linger.ms", "1", "client.id", "order-carts", NULL};
    c->producer = ol_kafka_producer_new(s, producer_defaults, "the carts producer", c, on_delivery, NULL, err, errlen);
    if (!c->producer) return false;
    const char *topics[] = {s->carts_topic, s->orders_topic, s->results_topic};
    if (!ol_kafka_ensure_topics(c->producer, topics, 3, (int)s->partitions, 15000, err, errlen)) return false;
    if (!(c->orders_t = ol_kafka_topic_new(c->producer, s->orders_topic, err, errlen)) ||
        !(c->results_t = ol_kafka_topic_new(c->producer, s->results_topic, err, errlen)) ||
        !(c->carts_t = ol_kafka_topic_new(c->producer, s->carts_topic, err, errlen)))
        return false;
    const char *const consumer_defaults[] = {OL_KAFKA_GROUP_DEFAULTS, "group.id", c->s->group, "client.id",
                                             "order-carts",           NULL};
    c->carts_rk = ol_kafka_subscriber_new(s, consumer_defaults, s->carts_topic, c, on_rebalance, err, errlen);
    return c->carts_rk != NULL;
}

/* The queues write a byte to one pipe when they go from empty to not: the
 * loop sleeps on it (wait_for_work). */
static bool wake_new(cart_coordinator *c, char *err, size_t errlen) {
    if (!ol_wake_open(c->wake, "the loop's wake-up pipe", err, errlen)) return false;
    c->queues[0] = rd_kafka_queue_get_consumer(c->carts_rk);
    c->queues[1] = rd_kafka_queue_get_main(c->producer);
    for (int i = 0; i < 2; i++) {
        if (!c->queues[i]) {
            ol_seterr(err, errlen, "getting the Kafka queues to wait on");
            return false;
        }
        rd_kafka_queue_io_event_enable(c->queues[i], c->wake[1], "w", 1);
    }
    char lines_group[512];
    snprintf(lines_group, sizeof lines_group, "%s-lines", c->s->group);
    c->fwd = cart_forwarder_new(&c->s->common, lines_group, err, errlen);
    return c->fwd != NULL;
}

cart_coordinator *cart_coordinator_new(const carts_settings *settings, volatile sig_atomic_t *stop, char *err,
                                       size_t errlen) {
    cart_coordinator *c = calloc(1, sizeof *c);
    size_t cap = (size_t)settings->batch_max < 1024 ? (size_t)settings->batch_max : 1024;
    if (c) c->wake[0] = c->wake[1] = -1;
    if (!c || !(c->cache = ol_map_new()) || !(c->answers = ol_map_new()) || !(c->expire_map = ol_map_new()) ||
        !(c->parsed = calloc(cap, sizeof *c->parsed)) || !(c->names = calloc(2 * cap, sizeof *c->names)) ||
        !(c->expire_ids = calloc(EXPIRE_SCAN_MAX, sizeof *c->expire_ids)) ||
        !(c->expire_deadlines = calloc(EXPIRE_SCAN_MAX, sizeof *c->expire_deadlines))) {
        ol_seterr(err, errlen, "out of memory");
        cart_coordinator_destroy(c);
        return NULL;
    }
    c->s = settings;
    c->stop = stop;
    cart_outbox_reread(&c->out);
    cart_metrics_init(&c->m);
    failpoints_init(&c->fp, getenv("ORDERLINE_FAILPOINT"));
    ol_metrics_server_def def = {sizeof(cart_metrics), render_metrics, health_metrics, NULL};
    if (settings->metrics_addr && !(c->http = ol_metrics_server_new(settings->metrics_addr, &def, err, errlen))) {
        cart_coordinator_destroy(c);
        return NULL;
    }
    c->store = cart_store_new(settings->common.db, settings->common.carts_topic, err, errlen);
    if (!c->store || !clients_new(c, err, errlen) || !wake_new(c, err, errlen)) {
        cart_coordinator_destroy(c);
        return NULL;
    }
    publish_metrics(c);
    return c;
}

static void map_free_values(ol_map *m) {
    size_t pos = 0;
    const char *key;
    void *value;
    while (m && ol_map_next(m, &pos, &key, &value)) free(value);
    ol_map_destroy(m);
}

void cart_coordinator_destroy(cart_coordinator *c) {
    if (!c) return;
    cart_forwarder_destroy(c->fwd);
    for (size_t i = 0; i < sizeof c->queues / sizeof c->queues[0]; i++) {
        if (!c->queues[i]) continue;
        rd_kafka_queue_io_event_enable(c->queues[i], -1, NULL, 0);
        rd_kafka_queue_destroy(c->queues[i]);
    }
    ol_wake_close(c->wake);
    ol_metrics_server_destroy(c->http);
    if (c->carts_rk) rd_kafka_destroy(c->carts_rk);
    if (c->orders_t) rd_kafka_topic_destroy(c->orders_t);
    if (c->results_t) rd_kafka_topic_destroy(c->results_t);
    if (c->carts_t) rd_kafka_topic_destroy(c->carts_t);
    if (c->producer) {
        rd_kafka_purge(c->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(c->producer, 0); /* purged messages report, and their refs are freed */
        rd_kafka_destroy(c->producer);
    }
    map_free_values(c->cache);
    map_free_values(c->answers);
    free(c->parsed);
    free(c->names);
    map_free_values(c->expire_map);
    cart_store_destroy(c->store);
    free(c->expire_ids);
    free(c->expire_deadlines);
    free(c->owned);
    free(c->next);
    free(c->fence_parts);
    free(c->fence_from);
    free(c->fence_to);
    free(c->acked);
    free(c);
}

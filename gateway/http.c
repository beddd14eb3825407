#include "http.h"

#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "access.h"
#include "cart_request.h"
#include "lookups.h"
#include "ol_cart_result.h"
#include "ol_log.h"
#include "ol_net.h"
#include "ol_str.h"
#include "request.h"

extern const char gw_form_html[];
extern const size_t gw_form_html_len;

#define THREADS 2 /* epoll loops; waiting requests hold none of them */
#define CONNECTION_LIMIT 20000
/* Per connection: the request line, headers and read buffer live in it;
 * headers that do not fit are refused by libmicrohttpd itself (431). */
#define CONNECTION_MEMORY (32 * 1024)
#define STALE_AFTER_MS 5000    /* relay loop not run for this long: unhealthy */
#define LOOKUP_TIMEOUT_MS 1000 /* a ledger lookup not answered by then: 503 */
#define JSON_TYPE "application/json"
#define REALM "Bearer realm=\"order-gateway\""

typedef enum { LISTEN_PUBLIC, LISTEN_ADMIN, LISTEN_METRICS } listen_kind;

typedef struct gw_listener {
    struct gw_http *http;
    listen_kind kind;
    const gw_tokens *tokens; /* the callers it lets in; NULL: anyone */
    size_t first_client;     /* the counted index of tokens' first client, or of anyone */
    struct MHD_Daemon *daemon;
} gw_listener;

struct gw_http {
    gw_listener api, admin, metrics;
    gw_relay *relay;
    gw_ledger *ledger;
    gw_lookups *lookups; /* the ledger's questions, off the HTTP threads */
    int lookup_threads;
    char *listen_addr, *admin_addr, *metrics_addr;
    long max_wait_s;
    unsigned per_ip, idle_timeout_s;
    const char *tls_cert, *tls_key, *tls_trust; /* borrowed PEM; NULL: plain, no client certificates */
    const char **client_names;                  /* tokens' clients, admin, anonymous */
    size_t n_clients;
    int in_flight; /* requests begun and not yet completed (atomic) */
    int quiescing; /* set once by gw_http_quiesce (atomic): new requests get 503 */
};

/* One request's life: its body arrives, then it may ask the ledger
 * (suspended until a lookup worker has the answer) and may wait
 * (suspended) for the relay, which completes it; a completed duplicate
 * asks the ledger for the original decision; then it is answered. */
typedef enum {
    CONN_RECEIVING,
    CONN_LOOKING_UP,
    CONN_LOOKED_UP,
    CONN_WAITING,
    CONN_COMPLETED,
    CONN_ANSWERED
} conn_phase;
#define CONN_PHASES 6

typedef struct gw_conn {
    conn_phase phase;
    gw_route route;
    struct MHD_Connection *conn;
    gw_http *http;
    bool admin;    /* came through the admin listener */
    size_t client; /* the caller's counted index; GW_NO_CLIENT until known */
    int64_t started_us;
    ol_buf body;
    bool too_large;
    char order_id[OL_ORDER_ID_MAX + 1];
    gw_order_input in;        /* POST: the order, kept while the ledger is asked */
    gw_lookup lookup;         /* CONN_LOOKED_UP: the ledger's answer */
    ol_completion done;       /* CONN_COMPLETED */
    bool completed;           /* done holds a completion (a duplicate being resolved) */
    int64_t wait_deadline_ms; /* POST: how long it may wait for its decision */
    /* A follow-up (POST /orders/{id}/confirm|cancel): its target, and which
     * decision the ledger is asked for: its own (a repeat), then the
     * target's (for the item to publish it under). */
    ol_order_type follow_type;
    char target[OL_ORDER_ID_MAX + 1];
    bool asking_target;
    /* The carts routes: the cart, and for /carts/{id}/confirm|cancel which. */
    gw_cart_input cart_in;
    char cart_id[OL_CART_ID_MAX + 1];
    bool cart_cancel;
} gw_conn;

static bool is_cart_route(gw_route route) {
    return route == GW_ROUTE_CARTS || route == GW_ROUTE_CART || route == GW_ROUTE_CART_FOLLOW_UP;
}

/* The one place a request changes phase. */
static void conn_set_phase(gw_conn *c, conn_phase next) {
    static const bool allowed[CONN_PHASES][CONN_PHASES] = {
        [CONN_RECEIVING] = {[CONN_LOOKING_UP] = true, [CONN_WAITING] = true, [CONN_ANSWERED] = true},
        [CONN_LOOKING_UP] = {[CONN_LOOKED_UP] = true},
        [CONN_LOOKED_UP] = {[CONN_LOOKING_UP] = true, [CONN_WAITING] = true, [CONN_ANSWERED] = true},
        [CONN_WAITING] = {[CONN_COMPLETED] = true},
        [CONN_COMPLETED] = {[CONN_LOOKING_UP] = true, [CONN_ANSWERED] = true},
    };
    if (!allowed[c->phase][next]) ol_error("request: phase %d -> %d is not a transition", c->phase, next);
    c->phase = next;
}

/* Queues a response; body (may be empty) is consumed. headers: NULL or
 * pairs ending in NULL. */
static enum MHD_Result reply(gw_conn *c, unsigned status, const char *type, ol_buf *body, const char *const *headers) {
    if (!body->data && !ol_buf_append(body, "", 0)) return MHD_NO;
    struct MHD_Response *resp = MHD_create_response_from_buffer(body->len, body->data, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        ol_buf_free(body);
        return MHD_NO;
    }
    body->data = NULL;
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    for (size_t i = 0; headers && headers[i]; i += 2) MHD_add_response_header(resp, headers[i], headers[i + 1]);
    enum MHD_Result r = MHD_queue_response(c->conn, status, resp);
    MHD_destroy_response(resp);
    if (c->phase == CONN_RECEIVING || c->phase == CONN_LOOKED_UP || c->phase == CONN_COMPLETED)
        conn_set_phase(c, CONN_ANSWERED);
    /* The wait histogram: requests that reached the relay or the ledger. */
    bool waited_for = (c->route == GW_ROUTE_ORDERS || c->route == GW_ROUTE_FOLLOW_UP) &&
                      (status == 200 || status == 201 || status == 202 || status == 409 || status == 503);
    double waited = waited_for ? (double)(ol_now_us() - c->started_us) / 1e6 : -1;
    gw_relay_count_request(c->http->relay, c->route, status, c->client, waited);
    return r;
}

static enum MHD_Result reply_error(gw_conn *c, unsigned status, const char *msg, const char *field,
                                   const char *const *headers) {
    ol_buf body;
    ol_buf_init(&body);
    if (!gw_error_json(&body, msg, field, 0, 0)) {
        ol_buf_free(&body);
        return MHD_NO;
    }
    return reply(c, status, JSON_TYPE, &body, headers);
}

/* The answer as body: 201/409/422 for POST, 200 for GET. */
static enum MHD_Result reply_decision(gw_conn *c, const ol_result *r, char *json) {
    ol_buf body = {json, strlen(json), strlen(json) + 1}, loc;
    ol_buf_init(&loc);
    if (!gw_location(&loc, r->order_id)) {
        ol_buf_free(&body);
        ol_buf_free(&loc);
        return MHD_NO;
    }
    const char *headers[] = {"Location", loc.data, NULL};
    unsigned status = c->route == GW_ROUTE_ORDER       ? 200
                      : c->route == GW_ROUTE_FOLLOW_UP ? gw_follow_up_status_of(r)
                                                       : gw_status_of(r);
    enum MHD_Result res = reply(c, status, JSON_TYPE, &body, headers);
    ol_buf_free(&loc);
    return res;
}

/* A lookup worker has the answer: the request goes on (after_lookup). */
static void lookup_done(gw_lookup *q) {
    gw_conn *c = (gw_conn *)((char *)q - offsetof(gw_conn, lookup));
    conn_set_phase(c, CONN_LOOKED_UP);
    MHD_resume_connection(c->conn);
}

/* Suspends the request and asks the ledger; on_request goes on in
 * after_lookup once a worker resumes it. */
static enum MHD_Result ask_ledger(gw_conn *c, gw_lookup_kind kind, const char *key) {
    gw_lookup *q = &c->lookup;
    gw_lookup_clear(q);
    q->kind = kind;
    ol_strlcpy(q->key, key ? key : "", sizeof q->key);
    q->deadline_ms = ol_monotonic_ms() + LOOKUP_TIMEOUT_MS;
    q->done = lookup_done;
    conn_set_phase(c, CONN_LOOKING_UP);
    MHD_suspend_connection(c->conn);
    if (!gw_lookups_submit(c->http->lookups, q)) {
        q->status = GW_LEDGER_ERROR;
        ol_seterr(q->err, sizeof q->err, "the gateway is stopping");
        lookup_done(q);
    }
    return MHD_YES;
}

/* The ledger's decision as the answer; MHD_NO when memory ran out. */
static enum MHD_Result reply_ledger_decision(gw_conn *c) {
    char *json = ol_result_to_json(&c->lookup.result);
    return json ? reply_decision(c, &c->lookup.result, json) : MHD_NO;
}

static void count_ledger_error(gw_conn *c) {
    gw_relay_count_ledger_error(c->http->relay);
    ol_warn("ledger lookup of '%s': %s", c->lookup.key, c->lookup.err);
}

static enum MHD_Result reply_pending(gw_conn *c, int32_t partition, int64_t offset) {
    ol_buf body, loc;
    ol_buf_init(&body);
    ol_buf_init(&loc);
    enum MHD_Result res = MHD_NO;
    bool located =
        is_cart_route(c->route) ? gw_location_under(&loc, "/carts/", c->cart_id) : gw_location(&loc, c->order_id);
    if (gw_pending_json(&body, c->order_id, partition, offset) && located) {
        const char *headers[] = {"Location", loc.data, "Retry-After", "1", NULL};
        res = reply(c, 202, JSON_TYPE, &body, headers);
    }
    ol_buf_free(&body);
    ol_buf_free(&loc);
    return res;
}

/* A cart answer (json, owned) as the body: its code by route, Location
 * the cart. */
static enum MHD_Result reply_cart_answer(gw_conn *c, const ol_result *r, char *json) {
    ol_buf body = {json, strlen(json), strlen(json) + 1}, loc;
    ol_buf_init(&loc);
    if (!gw_location_under(&loc, "/carts/", c->cart_id)) {
        ol_buf_free(&body);
        return MHD_NO;
    }
    const char *headers[] = {"Location", loc.data, NULL};
    enum MHD_Result res =
        reply(c, gw_cart_status_of(r, c->route == GW_ROUTE_CART_FOLLOW_UP), JSON_TYPE, &body, headers);
    ol_buf_free(&loc);
    return res;
}

/* The answer cart_messages keeps for a repeat: answered again as it was. */
static enum MHD_Result reply_stored_cart_answer(gw_conn *c) {
    ol_cart_result *cr = malloc(sizeof *cr);
    if (!cr) return MHD_NO;
    char err[256];
    char *json = c->lookup.answer;
    bool ok = ol_cart_result_from_json(json, strlen(json), cr, err, sizeof err);
    ol_result r;
    if (ok) ol_cart_result_as_result(cr, &r);
    free(cr);
    if (!ok) {
        ol_warn("the stored answer of '%s' is not a cart answer: %s", c->order_id, err);
        return reply_error(c, 500, "the stored answer is not a cart answer", NULL, NULL);
    }
    c->lookup.answer = NULL;
    return reply_cart_answer(c, &r, json);
}

/* A resumed request: its wait completed. */
static enum MHD_Result reply_completed(gw_conn *c) {
    ol_completion *d = &c->done;
    enum MHD_Result res = MHD_NO;
    if (d->outcome == OL_WAIT_DECIDED && is_cart_route(c->route)) {
        /* A cart's duplicate answer carries the first answer itself. */
        res = d->answer ? reply_cart_answer(c, &d->result, d->answer) : MHD_NO;
        d->answer = NULL;
        return res;
    }
    if (d->outcome == OL_WAIT_DECIDED) {
        /* A duplicate answer is the consumer's reply to the same key sent
         * again; the original decision, with its own position, is in the
         * ledger. */
        if (d->result.duplicate && !c->completed) {
            c->completed = true;
            return ask_ledger(c, GW_LOOKUP_DECISION, c->order_id);
        }
        res = d->answer ? reply_decision(c, &d->result, d->answer) : MHD_NO;
        d->answer = NULL;
        return res;
    }
    if (d->outcome == OL_WAIT_TIMED_OUT) return reply_pending(c, d->partition, d->offset);
    char msg[700];
    snprintf(msg, sizeof msg, "order '%.128s' is not in the log: %s; sending it again with the same key is safe",
             c->order_id, d->reason);
    const char *headers[] = {"Retry-After", "1", NULL};
    return reply_error(c, 503, msg, NULL, headers);
}

static void on_wait(void *token) {
    gw_conn *c = token;
    conn_set_phase(c, CONN_WAITING);
    MHD_suspend_connection(c->conn);
}

void gw_http_on_complete(void *token, ol_completion *done, void *opaque) {
    gw_conn *c = token;
    gw_http *h = opaque;
    if (done->outcome == OL_WAIT_TIMED_OUT && done->partition >= 0)
        gw_relay_remember_in_log(h->relay, c->order_id, (gw_in_log){done->partition, done->offset});
    c->done = *done;
    conn_set_phase(c, CONN_COMPLETED);
    MHD_resume_connection(c->conn);
}

/* From quiesce on: nothing is produced, and the connection is closed
 * after the answer, so a keep-alive client sends nothing more. */
static enum MHD_Result reply_stopping(gw_conn *c) {
    const char *headers[] = {"Retry-After", "1", "Connection", "close", NULL};
    return reply_error(c, 503, "the gateway is stopping; nothing was published: try again", NULL, headers);
}

static enum MHD_Result reply_busy(gw_conn *c, const char *why) {
    char msg[400];
    snprintf(msg, sizeof msg, "%s; nothing was published: try again later", why);
    const char *headers[] = {"Retry-After", "1", NULL};
    return reply_error(c, 503, msg, NULL, headers);
}

/* The order's caller, for its header: NULL where nobody was asked. */
static const char *client_of(const gw_conn *c) {
    if (c->client >= c->http->n_clients || c->client == c->http->n_clients - 1) return NULL; /* anonymous */
    return c->http->client_names[c->client];
}

static enum MHD_Result handle_post(gw_conn *c) {
    char key[OL_ORDER_ID_MAX + 1], err[256];
    const char *key_header = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, "Idempotency-Key");
    if (key_header && !gw_idempotency_key_parse(key_header, key, err, sizeof err))
        return reply_error(c, 400, err, "Idempotency-Key", NULL);
    gw_order_input *in = &c->in;
    if (!gw_order_input_read(c->body.data ? c->body.data : "", c->body.len, key_header ? key : NULL, in)) return MHD_NO;
    if (in->status) {
        ol_buf body;
        ol_buf_init(&body);
        if (!gw_error_json(&body, in->error, in->field, in->line, in->column)) return MHD_NO;
        return reply(c, in->status, JSON_TYPE, &body, NULL);
    }
    if (gw_id_reserved(in->order.order_id)) return reply_error(c, 422, GW_ID_RESERVED_MSG, "order_id", NULL);
    if (!gw_type_allowed(in->order.type, c->admin)) {
        snprintf(err, sizeof err,
                 "type '%s' is not taken here: only orders; a restock goes through order-producer or the admin "
                 "listener",
                 ol_order_type_name(in->order.type));
        return reply_error(c, 403, err, "type", NULL);
    }
    memcpy(c->order_id, in->order.order_id, sizeof c->order_id);
    gw_prefer prefer = gw_prefer_parse(MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, "Prefer"));
    c->wait_deadline_ms = ol_monotonic_ms() + gw_prefer_wait_ms(prefer, 5, c->http->max_wait_s);
    gw_attach_status at = gw_relay_attach(c->http->relay, c->order_id, c, c->wait_deadline_ms, on_wait);
    if (at == GW_ATTACH_WAITING) return MHD_YES; /* in flight here already */
    if (at == GW_ATTACH_STOPPING) return reply_stopping(c);
    if (at == GW_ATTACH_BUSY) return reply_busy(c, "too many requests are waiting (--max-waiters)");
    return ask_ledger(c, GW_LOOKUP_DECISION, c->order_id); /* decided before? */
}

/* POST /orders/{id}/confirm|cancel: answered again if decided before (its
 * own order_id is the same for every repeat), else published under the
 * target's item, which the ledger says. */
static enum MHD_Result handle_follow_up(gw_conn *c) {
    if (gw_id_reserved(c->target)) {
        char msg[400];
        snprintf(msg, sizeof msg,
                 "'%.128s' is orderline's own (a cart's line or a follow-up), not an order placed here; nothing was "
                 "published: a cart is confirmed or cancelled whole, at /carts/{cart_id}/confirm or /cancel",
                 c->target);
        return reply_error(c, 403, msg, "order_id", NULL);
    }
    if (!gw_follow_up_id(c->target, c->follow_type, c->order_id)) return MHD_NO;
    gw_prefer prefer = gw_prefer_parse(MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, "Prefer"));
    c->wait_deadline_ms = ol_monotonic_ms() + gw_prefer_wait_ms(prefer, 5, c->http->max_wait_s);
    gw_attach_status at = gw_relay_attach(c->http->relay, c->order_id, c, c->wait_deadline_ms, on_wait);
    if (at == GW_ATTACH_WAITING) return MHD_YES;
    if (at == GW_ATTACH_STOPPING) return reply_stopping(c);
    if (at == GW_ATTACH_BUSY) return reply_busy(c, "too many requests are waiting (--max-waiters)");
    return ask_ledger(c, GW_LOOKUP_DECISION, c->order_id);
}

static enum MHD_Result submit_cart(gw_conn *c);

/* Waits on the carts message c->order_id if in flight here; else asks
 * whether it was decided before (a repeat is answered as the first). */
static enum MHD_Result cart_wait_or_ask(gw_conn *c) {
    gw_prefer prefer = gw_prefer_parse(MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, "Prefer"));
    c->wait_deadline_ms = ol_monotonic_ms() + gw_prefer_wait_ms(prefer, 5, c->http->max_wait_s);
    gw_attach_status at = gw_relay_attach(c->http->relay, c->order_id, c, c->wait_deadline_ms, on_wait);
    if (at == GW_ATTACH_WAITING) return MHD_YES;
    if (at == GW_ATTACH_STOPPING) return reply_stopping(c);
    if (at == GW_ATTACH_BUSY) return reply_busy(c, "too many requests are waiting (--max-waiters)");
    return ask_ledger(c, GW_LOOKUP_CART_ANSWER, c->order_id);
}

/* POST /carts: the cart, its cart_id from the body or Idempotency-Key. */
static enum MHD_Result handle_post_cart(gw_conn *c) {
    char key[OL_ORDER_ID_MAX + 1], err[256];
    const char *key_header = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, "Idempotency-Key");
    if (key_header && !gw_idempotency_key_parse(key_header, key, err, sizeof err))
        return reply_error(c, 400, err, "Idempotency-Key", NULL);
    gw_cart_input *in = &c->cart_in;
    if (!gw_cart_input_read(c->body.data ? c->body.data : "", c->body.len, key_header ? key : NULL, in)) return MHD_NO;
    if (in->status) {
        ol_buf body;
        ol_buf_init(&body);
        if (!gw_error_json(&body, in->error, in->field[0] ? in->field : NULL, in->line, in->column)) return MHD_NO;
        return reply(c, in->status, JSON_TYPE, &body, NULL);
    }
    if (gw_id_reserved(in->cart.cart_id)) return reply_error(c, 422, GW_ID_RESERVED_MSG, "cart_id", NULL);
    ol_strlcpy(c->cart_id, in->cart.cart_id, sizeof c->cart_id);
    ol_strlcpy(c->order_id, in->cart.cart_id, sizeof c->order_id);
    return cart_wait_or_ask(c);
}

/* POST /carts/{id}/confirm|cancel: its order_id is the same for every
 * repeat, so a repeat is answered as the first. */
static enum MHD_Result handle_cart_follow_up(gw_conn *c) {
    gw_cart_follow_up_id(c->cart_id, c->cart_cancel, c->order_id);
    return cart_wait_or_ask(c);
}

/* The ledger on a carts route: the cart (GET), a carts message's answer
 * (a repeat), or for a confirm or cancel whether the cart is known. */
static enum MHD_Result after_cart_lookup(gw_conn *c) {
    const gw_lookup *q = &c->lookup;
    const char *retry[] = {"Retry-After", "1", NULL};
    char msg[400];
    bool error = q->status == GW_LEDGER_ERROR, found = q->status == GW_LEDGER_FOUND;
    if (error) count_ledger_error(c);
    if (q->kind == GW_LOOKUP_CART_ANSWER && found) return reply_stored_cart_answer(c);
    if (c->route == GW_ROUTE_CARTS) return submit_cart(c); /* an error costs a duplicate at most */
    if (error) {
        snprintf(msg, sizeof msg, "cannot read the carts ledger for '%.128s'%s", q->key,
                 c->route == GW_ROUTE_CART ? "" : "; nothing was published");
        return reply_error(c, 503, msg, NULL, retry);
    }
    if (c->route == GW_ROUTE_CART && found) {
        ol_buf body;
        ol_buf_init(&body);
        if (!gw_cart_json(&body, c->cart_id, &q->cart)) return MHD_NO;
        return reply(c, 200, JSON_TYPE, &body, NULL);
    }
    if (q->kind == GW_LOOKUP_CART_ANSWER) {
        if (gw_relay_knows(c->http->relay, c->cart_id)) return submit_cart(c); /* the cart is on its way */
        return ask_ledger(c, GW_LOOKUP_CART, c->cart_id);
    }
    if (found) return submit_cart(c);
    snprintf(msg, sizeof msg, "no cart '%.96s'%s", c->cart_id,
             c->route == GW_ROUTE_CART ? " (yet)" : " (yet); nothing was published");
    return reply_error(c, 404, msg, "cart_id", NULL);
}

/* The target's decision is known: the follow-up goes out as an order. */
static enum MHD_Result publish_follow_up(gw_conn *c);

static enum MHD_Result answer_submit(gw_conn *c, gw_submit_status st, gw_in_log where, const char *reason);

/* Not decided before (or the ledger could not say): produce it. */
static enum MHD_Result submit_post(gw_conn *c) {
    gw_http *h = c->http;
    char reason[256];
    gw_in_log where;
    gw_submit_status st =
        gw_relay_submit(h->relay, &c->in, client_of(c), c, c->wait_deadline_ms, on_wait, &where, reason, sizeof reason);
    return answer_submit(c, st, where, reason);
}

/* A carts message to the carts topic (key = cart_id): the cart itself, or
 * its confirm or cancel. */
static enum MHD_Result submit_cart(gw_conn *c) {
    ol_buf msg;
    ol_buf_init(&msg);
    gw_outgoing out = {c->order_id, c->cart_id, c->cart_in.message, c->cart_in.message_len, true};
    if (c->route == GW_ROUTE_CART_FOLLOW_UP) {
        if (!gw_cart_follow_up_message(&msg, c->cart_cancel, c->order_id, c->cart_id)) return MHD_NO;
        out.value = msg.data;
        out.len = msg.len;
    }
    char reason[256];
    gw_in_log where;
    gw_submit_status st = gw_relay_submit_to(c->http->relay, &out, client_of(c), c, c->wait_deadline_ms, on_wait,
                                             &where, reason, sizeof reason);
    ol_buf_free(&msg);
    return answer_submit(c, st, where, reason);
}

static enum MHD_Result answer_submit(gw_conn *c, gw_submit_status st, gw_in_log where, const char *reason) {
    if (st == GW_SUBMIT_WAITING) return MHD_YES;
    if (st == GW_SUBMIT_IN_LOG) return reply_pending(c, where.partition, where.offset);
    if (st == GW_SUBMIT_STOPPING) return reply_stopping(c);
    if (st == GW_SUBMIT_BUSY) return reply_busy(c, reason);
    char msg[700];
    snprintf(msg, sizeof msg, "order '%.128s' could not be published: %s; sending it again with the same key is safe",
             c->order_id, reason);
    const char *headers[] = {"Retry-After", "1", NULL};
    return reply_error(c, 503, msg, NULL, headers);
}

static enum MHD_Result handle_get(gw_conn *c, const char *arg) {
    gw_http *h = c->http;
    ol_buf body;
    ol_buf_init(&body);
    if (c->route == GW_ROUTE_FORM) {
        if (!ol_buf_append(&body, gw_form_html, gw_form_html_len)) return MHD_NO;
        return reply(c, 200, "text/html; charset=utf-8", &body, NULL);
    }
    if (c->route == GW_ROUTE_METRICS) {
        if (!gw_relay_render_metrics(h->relay, &body)) return MHD_NO;
        return reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", &body, NULL);
    }
    if (c->route == GW_ROUTE_HEALTHZ) {
        if (gw_relay_idle_ms(h->relay) > STALE_AFTER_MS)
            return reply_error(c, 503, "unhealthy: relay loop stalled", NULL, NULL);
        return ask_ledger(c, GW_LOOKUP_PING, NULL);
    }
    if (c->route == GW_ROUTE_CART) {
        ol_strlcpy(c->cart_id, arg, sizeof c->cart_id);
        return ask_ledger(c, GW_LOOKUP_CART, arg);
    }
    if (c->route == GW_ROUTE_ORDER) ol_strlcpy(c->order_id, arg, sizeof c->order_id);
    return ask_ledger(c, c->route == GW_ROUTE_ORDER ? GW_LOOKUP_DECISION : GW_LOOKUP_ITEM, arg);
}

/* The ledger on a follow-up: its own decision (a repeat), or its target's. */
static enum MHD_Result after_follow_up_lookup(gw_conn *c) {
    const gw_lookup *q = &c->lookup;
    const char *retry[] = {"Retry-After", "1", NULL};
    char msg[400];
    if (q->status == GW_LEDGER_ERROR) {
        count_ledger_error(c);
        snprintf(msg, sizeof msg, "cannot read the ledger for order '%.128s'; nothing was published", q->key);
        return reply_error(c, 503, msg, NULL, retry);
    }
    bool found = q->status == GW_LEDGER_FOUND;
    if (found && !c->asking_target) return reply_ledger_decision(c);
    if (c->completed) return reply_completed(c);
    if (!c->asking_target) {
        c->asking_target = true;
        return ask_ledger(c, GW_LOOKUP_DECISION, c->target);
    }
    if (!found) {
        snprintf(msg, sizeof msg, "no decision for order '%.128s' (yet); nothing was published", c->target);
        return reply_error(c, 404, msg, "order_id", retry);
    }
    return publish_follow_up(c);
}

static enum MHD_Result publish_follow_up(gw_conn *c) {
    ol_buf message;
    ol_buf_init(&message);
    if (!gw_follow_up_message(&message, c->follow_type, c->order_id, c->lookup.result.item, c->target) ||
        !gw_order_input_read(message.data, message.len, NULL, &c->in)) {
        ol_buf_free(&message);
        return MHD_NO;
    }
    ol_buf_free(&message);
    if (c->in.status) return reply_error(c, c->in.status, c->in.error, c->in.field, NULL);
    return submit_post(c);
}

/* The ledger answered (or could not): the request goes on. */
static enum MHD_Result after_lookup(gw_conn *c) {
    if (c->route == GW_ROUTE_FOLLOW_UP) return after_follow_up_lookup(c);
    if (is_cart_route(c->route)) return after_cart_lookup(c);
    const gw_lookup *q = &c->lookup;
    char msg[700];
    const char *retry[] = {"Retry-After", "1", NULL};
    bool error = q->status == GW_LEDGER_ERROR, found = q->status == GW_LEDGER_FOUND;
    if (c->route == GW_ROUTE_HEALTHZ) {
        if (error) {
            snprintf(msg, sizeof msg, "unhealthy: PostgreSQL: %s", q->err);
            return reply_error(c, 503, msg, NULL, NULL);
        }
        ol_buf body;
        ol_buf_init(&body);
        if (!ol_buf_appends(&body, "{\"status\":\"ok\"}")) return MHD_NO;
        return reply(c, 200, JSON_TYPE, &body, NULL);
    }
    if (error) count_ledger_error(c);
    if (c->route == GW_ROUTE_ORDERS) {
        if (found) return reply_ledger_decision(c);
        if (c->completed) return reply_completed(c); /* the duplicate's own answer, then */
        return submit_post(c);
    }
    if (found && c->route == GW_ROUTE_ORDER) return reply_ledger_decision(c);
    if (found) {
        ol_buf body;
        ol_buf_init(&body);
        if (!gw_item_json(&body, q->key, q->count)) return MHD_NO;
        return reply(c, 200, JSON_TYPE, &body, NULL);
    }
    bool order = c->route == GW_ROUTE_ORDER;
    if (order)
        snprintf(msg, sizeof msg, error ? "cannot read the ledger for order '%s'" : "no decision for order '%s' (yet)",
                 q->key);
    else snprintf(msg, sizeof msg, error ? "cannot read the stock of '%s'" : "unknown item '%s'", q->key);
    return reply_error(c, error ? 503 : 404, msg, NULL, error ? retry : NULL);
}

/* mTLS: the handshake let the caller in whatever its certificate; this
 * is where an absent or untrusted one is refused. */
static gw_peer_verdict peer_verdict(struct MHD_Connection *conn) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ci || !ci->tls_session) return GW_PEER_UNVERIFIED;
    gnutls_session_t session = ci->tls_session;
    unsigned status = 0, n = 0;
    int rc = gnutls_certificate_verify_peers2(session, &status);
    if (!gnutls_certificate_get_peers(session, &n)) n = 0;
    return gw_peer_judge(rc, status, n);
}

/* Who is calling: the client certificate (with --tls-client-ca), then the
 * bearer token (where the listener asks for one). False when refused:
 * the answer (403, 401) is queued in *res. */
static bool admit(gw_listener *l, gw_conn *c, enum MHD_Result *res) {
    if (l->kind == LISTEN_METRICS) return true;
    if (l->http->tls_trust) {
        gw_peer_verdict v = peer_verdict(c->conn);
        if (v != GW_PEER_OK) {
            *res = reply_error(c, 403, gw_peer_verdict_text(v), NULL, NULL);
            return false;
        }
    }
    if (!l->tokens) {
        c->client = l->first_client;
        return true;
    }
    size_t who;
    const char *auth = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    gw_auth_status st = gw_tokens_check(l->tokens, auth, &who);
    if (st == GW_AUTH_OK) {
        c->client = l->first_client + who;
        return true;
    }
    bool missing = st == GW_AUTH_MISSING;
    const char *headers[] = {"WWW-Authenticate", missing ? REALM : REALM ", error=\"invalid_token\"", NULL};
    *res = reply_error(
        c, 401, missing ? "a bearer token is required (Authorization: Bearer TOKEN)" : "the bearer token is not valid",
        NULL, headers);
    return false;
}

/* First call for a request: caller, route, method and headers; an error
 * is answered before any body is read. */
static enum MHD_Result start_request(gw_listener *l, gw_conn *c, const char *url, const char *method) {
    const char *arg;
    enum MHD_Result res;
    c->admin = l->kind == LISTEN_ADMIN;
    c->route = gw_route_match(url, &arg);
    if (!admit(l, c, &res)) return res;
    if (l->kind != LISTEN_METRICS && __atomic_load_n(&l->http->quiescing, __ATOMIC_SEQ_CST)) return reply_stopping(c);
    /* /metrics and /healthz are the metrics listener's, and only they. */
    bool ops = c->route == GW_ROUTE_METRICS || c->route == GW_ROUTE_HEALTHZ;
    if (ops != (l->kind == LISTEN_METRICS)) c->route = GW_ROUTE_NOT_FOUND;
    char msg[256];
    if (c->route == GW_ROUTE_NOT_FOUND) {
        snprintf(msg, sizeof msg, "no such resource: %.100s", url);
        return reply_error(c, 404, msg, NULL, NULL);
    }
    if (!gw_route_allows(c->route, method)) {
        snprintf(msg, sizeof msg, "method %.16s is not allowed here; use %s", method, gw_route_allow(c->route));
        const char *headers[] = {"Allow", gw_route_allow(c->route), NULL};
        return reply_error(c, 405, msg, NULL, headers);
    }
    const char *field;
    if (c->route == GW_ROUTE_FOLLOW_UP) {
        if (!gw_follow_up_parse(arg, c->target, &c->follow_type, msg, sizeof msg))
            return reply_error(c, 400, msg, "order_id", NULL);
        return MHD_YES; /* a body, if any, is read and ignored */
    }
    if (c->route == GW_ROUTE_CART_FOLLOW_UP) {
        if (!gw_cart_follow_up_parse(arg, c->cart_id, &c->cart_cancel, msg, sizeof msg))
            return reply_error(c, 400, msg, "cart_id", NULL);
        return MHD_YES;
    }
    if (arg && !gw_segment_check(c->route, arg, &field, msg, sizeof msg)) return reply_error(c, 400, msg, field, NULL);
    if (c->route != GW_ROUTE_ORDERS && c->route != GW_ROUTE_CARTS) return handle_get(c, arg);
    if (!gw_content_type_is_json(MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, "Content-Type")))
        return reply_error(c, 415, "Content-Type must be application/json", NULL, NULL);
    const char *length = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, "Content-Length");
    long n;
    if (length && ol_parse_long(length, 0, 0x7fffffffL, &n) && n > GW_BODY_MAX) c->too_large = true;
    return MHD_YES; /* the body follows */
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size, void **state) {
    gw_listener *l = cls;
    gw_conn *c = *state;
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c) return MHD_NO;
        c->conn = conn;
        c->http = l->http;
        c->client = GW_NO_CLIENT;
        c->started_us = ol_now_us();
        ol_buf_init(&c->body);
        __atomic_add_fetch(&l->http->in_flight, 1, __ATOMIC_SEQ_CST);
        *state = c;
        enum MHD_Result r = start_request(l, c, url, method);
        if (c->phase == CONN_RECEIVING && c->too_large) goto too_large;
        return r;
    }
    if (c->phase == CONN_COMPLETED) return reply_completed(c);
    if (c->phase == CONN_LOOKED_UP) return after_lookup(c);
    if (c->phase != CONN_RECEIVING) return MHD_YES;
    if (*upload_size > 0) {
        if (!c->too_large && c->body.len + *upload_size > GW_BODY_MAX) {
            c->too_large = true;
            ol_buf_free(&c->body);
        }
        if (!c->too_large && !ol_buf_append(&c->body, upload_data, *upload_size)) return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    if (!c->too_large) {
        if (c->route == GW_ROUTE_FOLLOW_UP) return handle_follow_up(c);
        if (c->route == GW_ROUTE_CARTS) return handle_post_cart(c);
        if (c->route == GW_ROUTE_CART_FOLLOW_UP) return handle_cart_follow_up(c);
        return handle_post(c);
    }
too_large : {
    char msg[128];
    snprintf(msg, sizeof msg, "body larger than %d bytes", GW_BODY_MAX);
    return reply_error(c, 413, msg, NULL, NULL);
}
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **state, enum MHD_RequestTerminationCode why) {
    gw_conn *c = *state;
    if (!c) return;
    __atomic_sub_fetch(&c->http->in_flight, 1, __ATOMIC_SEQ_CST);
    ol_buf_free(&c->body);
    gw_order_input_free(&c->in);
    gw_cart_input_free(&c->cart_in);
    gw_lookup_clear(&c->lookup);
    free(c->done.answer);
    free(c);
    *state = NULL;
}

/* Counted callers: the tokens file's clients, then admin, then anonymous. */
static bool client_names_new(gw_http *h, const gw_tokens *tokens) {
    size_t n = tokens ? gw_tokens_count(tokens) : 0;
    h->client_names = calloc(n + 2, sizeof *h->client_names);
    if (!h->client_names) return false;
    for (size_t i = 0; i < n; i++) h->client_names[i] = gw_tokens_name(tokens, i);
    h->client_names[n] = GW_CLIENT_ADMIN;
    h->client_names[n + 1] = GW_CLIENT_ANONYMOUS;
    h->n_clients = n + 2;
    return true;
}

static bool dup_or_null(char **out, const char *s) { return !s || (*out = strdup(s)) != NULL; }

gw_http *gw_http_new(const gw_http_config *cfg, gw_ledger *ledger, char *err, size_t errlen) {
    const gateway_settings *s = cfg->settings;
    gw_http *h = calloc(1, sizeof *h);
    if (!h || !dup_or_null(&h->listen_addr, s->listen) || !dup_or_null(&h->admin_addr, s->admin_listen) ||
        !dup_or_null(&h->metrics_addr, s->metrics_addr) || !client_names_new(h, cfg->tokens)) {
        ol_seterr(err, errlen, "out of memory");
        gw_http_destroy(h);
        return NULL;
    }
    h->ledger = ledger;
    h->lookup_threads = cfg->lookup_threads;
    h->max_wait_s = s->max_wait_s;
    h->per_ip = (unsigned)s->max_connections_per_ip;
    h->idle_timeout_s = (unsigned)s->idle_timeout_s;
    h->tls_cert = cfg->tls_cert;
    h->tls_key = cfg->tls_key;
    h->tls_trust = cfg->tls_trust;
    size_t admin = h->n_clients - 2, anonymous = h->n_clients - 1;
    h->api = (gw_listener){h, LISTEN_PUBLIC, cfg->tokens, cfg->tokens ? 0 : anonymous, NULL};
    h->admin = (gw_listener){h, LISTEN_ADMIN, cfg->admin_tokens, admin, NULL};
    h->metrics = (gw_listener){h, LISTEN_METRICS, NULL, GW_NO_CLIENT, NULL};
    return h;
}

const char *const *gw_http_client_names(const gw_http *h, size_t *n) {
    *n = h->n_clients;
    return h->client_names;
}

/* The options that depend on the listener, ending in MHD_OPTION_END: its
 * threads (one is no pool: libmicrohttpd warns at a pool of 1) and TLS
 * (none on the metrics listener). Returns the flags they need. */
static unsigned listener_options(const gw_listener *l, unsigned threads, struct MHD_OptionItem opts[5]) {
    const gw_http *h = l->http;
    size_t n = 0;
    unsigned flags = 0;
    if (threads > 1) opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, threads, NULL};
    if (l->kind != LISTEN_METRICS && h->tls_cert) {
        flags = MHD_USE_TLS;
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)h->tls_key};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)h->tls_cert};
        if (h->tls_trust) opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, (void *)h->tls_trust};
    }
    opts[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    return flags;
}

static bool listen_on(gw_listener *l, const char *flag, const char *addr, unsigned threads, char *err, size_t errlen) {
    const gw_http *h = l->http;
    struct addrinfo *ai = ol_net_resolve_listen(flag, addr, err, errlen);
    if (!ai) return false;
    struct MHD_OptionItem opts[5];
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    flags |= listener_options(l, threads, opts);
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    /* The logger first: libmicrohttpd uses its own for what it says about earlier options. */
    l->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, l, MHD_OPTION_EXTERNAL_LOGGER, ol_log_library, NULL,
                                 MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_ARRAY, opts, MHD_OPTION_CONNECTION_LIMIT,
                                 (unsigned)CONNECTION_LIMIT, MHD_OPTION_PER_IP_CONNECTION_LIMIT, h->per_ip,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
                                 MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096u, MHD_OPTION_CONNECTION_TIMEOUT,
                                 h->idle_timeout_s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, l, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!l->daemon) {
        ol_seterr(err, errlen, "%s %s: cannot listen (address in use or not local? a bad certificate or key?)", flag,
                  addr);
        return false;
    }
    static const char *const what[] = {"", " (admin: restocks and orders)", " (/metrics and /healthz)"};
    ol_info("serving %s on %s%s%s", flags & MHD_USE_TLS ? "HTTPS" : "HTTP", addr, what[l->kind],
            l->kind == LISTEN_METRICS || l->tokens ? "" : ", unauthenticated: no bearer token asked for");
    return true;
}

bool gw_http_start(gw_http *h, gw_relay *relay, char *err, size_t errlen) {
    h->relay = relay;
    h->lookups = gw_lookups_new(h->ledger, h->lookup_threads, err, errlen);
    if (!h->lookups) return false;
    if (!listen_on(&h->api, "--listen", h->listen_addr, THREADS, err, errlen)) return false;
    if (h->admin_addr && !listen_on(&h->admin, "--admin-listen", h->admin_addr, 1, err, errlen)) return false;
    return !h->metrics_addr || listen_on(&h->metrics, "--metrics-addr", h->metrics_addr, 1, err, errlen);
}

static void quiesce(gw_listener *l) {
    if (!l->daemon) return;
    MHD_socket fd = MHD_quiesce_daemon(l->daemon);
    if (fd != MHD_INVALID_SOCKET) close(fd);
}

void gw_http_quiesce(gw_http *h) {
    __atomic_store_n(&h->quiescing, 1, __ATOMIC_SEQ_CST);
    quiesce(&h->api);
    quiesce(&h->admin);
}

unsigned gw_http_drain(gw_http *h, int timeout_ms) {
    int64_t deadline = ol_monotonic_ms() + timeout_ms;
    int open;
    while ((open = __atomic_load_n(&h->in_flight, __ATOMIC_SEQ_CST)) > 0 && ol_monotonic_ms() < deadline) {
        ol_sleep_ms(10);
    }
    return open > 0 ? (unsigned)open : 0;
}

void gw_http_destroy(gw_http *h) {
    if (!h) return;
    /* First: a lookup still running resumes its request on a live daemon. */
    gw_lookups_stop(h->lookups);
    gw_lookups_destroy(h->lookups);
    if (h->api.daemon) MHD_stop_daemon(h->api.daemon);
    if (h->admin.daemon) MHD_stop_daemon(h->admin.daemon);
    if (h->metrics.daemon) MHD_stop_daemon(h->metrics.daemon);
    free(h->listen_addr);
    free(h->admin_addr);
    free(h->metrics_addr);
    free(h->client_names);
    free(h);
}

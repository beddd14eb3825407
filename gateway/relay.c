#include "relay.h"

#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ol_cart_result.h"
#include "ol_kafka.h"
#include "ol_log.h"
#include "ol_reader.h"
#include "ol_str.h"

/* Delivery reports without an offset one order may get before it fails:
 * each is answered by producing it again (safe: orders deduplicate by
 * order_id). */
#define MAX_UNCONFIRMED 3
#define READ_BATCH 512
#define CLIENT_HEADER "orderline.client"

/* One produced order, the delivery report's opaque: kept until the report
 * is final, so a re-send has the bytes. */
typedef struct gw_message {
    char order_id[OL_ORDER_ID_MAX + 1];
    char key[OL_CART_ID_MAX + 1];        /* the item, or a cart's cart_id */
    bool cart;                           /* to the carts topic */
    char client[GW_CLIENT_NAME_MAX + 1]; /* the caller, for the header; "" when unknown */
    char *value;
    size_t len;
} gw_message;

struct gw_relay {
    pthread_mutex_t lock;        /* guards waiters, in_log, stopping and last_run_ms */
    pthread_mutex_t hist_lock;   /* guards counters.wait_seconds (the counts are atomic) */
    ol_result *parsed;           /* READ_BATCH answers decoded outside the lock (main thread only) */
    ol_cart_result *cart_answer; /* a cart answer being decoded (main thread only) */
    bool *readable;
    ol_waiters *waiters;
    gw_inlog *in_log; /* orders whose waits all ended 202 */
    bool stopping;
    gw_counters counters;
    size_t max_waiters;
    int64_t last_run_ms;
    rd_kafka_t *producer;
    rd_kafka_topic_t *orders;
    rd_kafka_topic_t *carts;
    ol_reader *reader;
    char *results_topic;
    rd_kafka_resp_err_t refused; /* the brokers refused us the orders topic (main thread only) */
    gw_on_complete on_complete;
    void *opaque;
};

static void message_free(gw_message *m) {
    if (!m) return;
    free(m->value);
    free(m);
}

/* Hands m to librdkafka. False (reason set) when it would not take it. */
static bool produce(gw_relay *r, gw_message *m, char *reason, size_t reasonlen) {
    /* No waiting for room: a person waits (a full queue is a 503), and a
     * delivery report, which re-sends through here, must not poll. */
    ol_kafka_msg msg = {.rkt = m->cart ? r->carts : r->orders,
                        .key = m->key,
                        .key_len = strlen(m->key),
                        .value = m->value,
                        .len = m->len,
                        .opaque = m};
    if (m->client[0]) {
        msg.headers = rd_kafka_headers_new(1);
        if (!msg.headers || rd_kafka_header_add(msg.headers, CLIENT_HEADER, -1, m->client, -1)) {
            if (msg.headers) rd_kafka_headers_destroy(msg.headers);
            ol_seterr(reason, reasonlen, "out of memory");
            return false;
        }
    }
    rd_kafka_resp_err_t e = ol_kafka_produce(r->producer, &msg, 0);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) return true;
    if (msg.headers) rd_kafka_headers_destroy(msg.headers); /* librdkafka takes them only on success */
    ol_seterr(reason, reasonlen, "%s",
              e == RD_KAFKA_RESP_ERR__QUEUE_FULL ? "the producer's queue is full" : rd_kafka_err2str(e));
    return false;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
    gw_relay *r = opaque;
    gw_message *m = msg->_private;
    const char *why = msg->err ? rd_kafka_err2str(msg->err) : NULL;
    char reason[256] = "";
    pthread_mutex_lock(&r->lock);
    if (ol_kafka_delivery_refused(msg->err) && !r->refused) r->refused = msg->err;
    if (msg->err) r->counters.delivery_failures++;
    else if (msg->offset < 0) r->counters.unconfirmed++;
    else if (!m->cart) gw_counters_in_log(&r->counters, msg->partition, msg->offset);
    ol_delivery_action a =
        ol_waiters_delivery(r->waiters, m->order_id, why, msg->partition, msg->offset, ol_monotonic_ms());
    bool resent = false;
    if (a == OL_DELIVERY_RESEND) {
        r->counters.produced++;
        resent = produce(r, m, reason, sizeof reason);
        if (!resent) ol_waiters_delivery(r->waiters, m->order_id, reason, -1, -1, ol_monotonic_ms());
    }
    pthread_mutex_unlock(&r->lock);
    if (why)
        ol_log_kv(OL_LOG_WARN, OL_LOG_FIELDS(OL_LOG_STR("order_id", m->order_id), OL_LOG_STR("error", why)),
                  "order '%s' not in the log: %s", m->order_id, why);
    else if (msg->offset < 0)
        ol_log_kv(OL_LOG_WARN,
                  OL_LOG_FIELDS(OL_LOG_STR("order_id", m->order_id), OL_LOG_INT("partition", msg->partition)),
                  "order '%s': delivery report without an offset (not shown to be in the log); %s", m->order_id,
                  resent                     ? "producing it again"
                  : a == OL_DELIVERY_IGNORED ? "already answered"
                                             : "giving up");
    if (!resent) message_free(m); /* else librdkafka has it again */
}

static bool open_results(gw_relay *r, const ol_settings *s, char *err, size_t errlen) {
    r->reader = ol_reader_new(s, "order-gateway", NULL, err, errlen);
    if (!r->reader) return false;
    /* From the end as of now: answers to orders produced from here on. */
    int n = ol_reader_assign_from_end(r->reader, r->results_topic, err, errlen);
    if (n < 0) return false;
    ol_info("reading answers from '%s': %d partitions from their ends", r->results_topic, n);
    return true;
}

static bool open_producer(gw_relay *r, const ol_settings *s, char *err, size_t errlen) {
    /* linger.ms 1: one waiting person's order, not a batch job.
     * message.timeout.ms bounds how long a request waits to learn that the
     * order could not be put in the log (then 503). */
    static const char *const defaults[] = {OL_KAFKA_PRODUCER_DEFAULTS,
                                           "linger.ms",
                                           "1",
                                           "message.timeout.ms",
                                           "10000",
                                           "client.id",
                                           "order-gateway",
                                           NULL};
    r->producer = ol_kafka_producer_new(s, defaults, "producer", r, on_delivery, NULL, err, errlen);
    if (!r->producer) return false;
    /* The carts topic is order-carts' to create: the gateway may hold no
     * right to create topics (the secure stack's does not). */
    const char *topics[] = {s->orders_topic, s->results_topic};
    if (!ol_kafka_ensure_topics(r->producer, topics, 2, (int)s->partitions, 10000, err, errlen)) return false;
    r->orders = ol_kafka_topic_new(r->producer, s->orders_topic, err, errlen);
    r->carts = r->orders ? ol_kafka_topic_new(r->producer, s->carts_topic, err, errlen) : NULL;
    return r->carts != NULL;
}

gw_relay *gw_relay_new(const gw_relay_config *cfg, gw_on_complete on_complete, void *opaque, char *err, size_t errlen) {
    const ol_settings *s = cfg->settings;
    gw_relay *r = calloc(1, sizeof *r);
    if (!r) {
        ol_seterr(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&r->lock, NULL);
    pthread_mutex_init(&r->hist_lock, NULL);
    r->max_waiters = cfg->max_waiters;
    if (!gw_counters_init(&r->counters, cfg->client_names, cfg->n_clients)) {
        ol_seterr(err, errlen, "out of memory");
        goto fail;
    }
    r->on_complete = on_complete;
    r->opaque = opaque;
    r->last_run_ms = ol_monotonic_ms();
    r->waiters = ol_waiters_new(MAX_UNCONFIRMED);
    r->in_log = gw_inlog_new(GW_IN_LOG_MAX, GW_IN_LOG_TTL_MS);
    r->results_topic = strdup(s->results_topic);
    r->parsed = calloc(READ_BATCH, sizeof *r->parsed);
    r->readable = calloc(READ_BATCH, sizeof *r->readable);
    r->cart_answer = malloc(sizeof *r->cart_answer);
    if (!r->waiters || !r->in_log || !r->results_topic || !r->parsed || !r->readable || !r->cart_answer) {
        ol_seterr(err, errlen, "out of memory");
        goto fail;
    }
    if (!ol_kafka_check_access(s, "order-gateway", OL_KAFKA_ACCESS_TIMEOUT_MS, err, errlen) ||
        !open_producer(r, s, err, errlen) || !open_results(r, s, err, errlen))
        goto fail;
    return r;
fail:
    gw_relay_destroy(r);
    return NULL;
}

void gw_relay_destroy(gw_relay *r) {
    if (!r) return;
    ol_reader_destroy(r->reader);
    if (r->orders) rd_kafka_topic_destroy(r->orders);
    if (r->carts) rd_kafka_topic_destroy(r->carts);
    if (r->producer) {
        /* Reports still owed free their messages here (purged ones come
         * back at once with an error). */
        rd_kafka_purge(r->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_flush(r->producer, 2000);
        rd_kafka_destroy(r->producer);
    }
    ol_waiters_destroy(r->waiters);
    gw_inlog_destroy(r->in_log);
    gw_counters_free(&r->counters);
    pthread_mutex_destroy(&r->lock);
    pthread_mutex_destroy(&r->hist_lock);
    free(r->parsed);
    free(r->readable);
    free(r->cart_answer);
    free(r->results_topic);
    free(r);
}

/* Under the lock: --max-waiters requests wait already. Counted as refused. */
static bool full(gw_relay *r) {
    if (ol_waiters_waits(r->waiters) < r->max_waiters) return false;
    r->counters.waiters_refused++;
    return true;
}

gw_attach_status gw_relay_attach(gw_relay *r, const char *order_id, void *token, int64_t deadline_ms,
                                 gw_on_wait on_wait) {
    pthread_mutex_lock(&r->lock);
    gw_attach_status st = GW_ATTACH_NONE;
    ol_pending *p = ol_waiters_find(r->waiters, order_id);
    if (r->stopping) st = GW_ATTACH_STOPPING;
    else if (p && full(r)) st = GW_ATTACH_BUSY;
    else if (p && ol_waiters_wait(r->waiters, p, token, deadline_ms)) {
        on_wait(token);
        st = GW_ATTACH_WAITING;
    }
    r->counters.waiters = ol_waiters_waits(r->waiters);
    pthread_mutex_unlock(&r->lock);
    return st;
}

static gw_message *message_new(const gw_outgoing *out, const char *client) {
    gw_message *m = calloc(1, sizeof *m);
    if (!m || !(m->value = malloc(out->len ? out->len : 1))) {
        free(m);
        return NULL;
    }
    memcpy(m->value, out->value, out->len);
    m->len = out->len;
    ol_strlcpy(m->order_id, out->order_id, sizeof m->order_id);
    ol_strlcpy(m->key, out->key, sizeof m->key);
    m->cart = out->cart;
    if (client) ol_strlcpy(m->client, client, sizeof m->client);
    return m;
}

static gw_submit_status submit(gw_relay *r, gw_message *m, void *token, int64_t deadline_ms, gw_on_wait on_wait,
                               gw_in_log *where, char *reason, size_t reasonlen);

gw_submit_status gw_relay_submit(gw_relay *r, const gw_order_input *in, const char *client, void *token,
                                 int64_t deadline_ms, gw_on_wait on_wait, gw_in_log *where, char *reason,
                                 size_t reasonlen) {
    gw_outgoing out = {in->order.order_id, in->order.item, in->message, in->message_len, false};
    return gw_relay_submit_to(r, &out, client, token, deadline_ms, on_wait, where, reason, reasonlen);
}

gw_submit_status gw_relay_submit_to(gw_relay *r, const gw_outgoing *out, const char *client, void *token,
                                    int64_t deadline_ms, gw_on_wait on_wait, gw_in_log *where, char *reason,
                                    size_t reasonlen) {
    gw_message *m = message_new(out, client);
    if (!m) {
        ol_seterr(reason, reasonlen, "out of memory");
        return GW_SUBMIT_FAILED;
    }
    return submit(r, m, token, deadline_ms, on_wait, where, reason, reasonlen);
}

bool gw_relay_knows(gw_relay *r, const char *order_id) {
    gw_in_log where;
    pthread_mutex_lock(&r->lock);
    bool known = ol_waiters_find(r->waiters, order_id) || gw_inlog_get(r->in_log, order_id, ol_monotonic_ms(), &where);
    pthread_mutex_unlock(&r->lock);
    return known;
}

/* Produces m (owned) unless it is in flight or in the log already, and
 * hangs the wait on it. */
static gw_submit_status submit(gw_relay *r, gw_message *m, void *token, int64_t deadline_ms, gw_on_wait on_wait,
                               gw_in_log *where, char *reason, size_t reasonlen) {
    gw_submit_status st = GW_SUBMIT_FAILED;
    pthread_mutex_lock(&r->lock);
    ol_pending *p = ol_waiters_find(r->waiters, m->order_id);
    if (r->stopping) {
        ol_seterr(reason, reasonlen, "the gateway is stopping");
        st = GW_SUBMIT_STOPPING;
        goto done;
    }
    if (!p && gw_inlog_get(r->in_log, m->order_id, ol_monotonic_ms(), where)) {
        st = GW_SUBMIT_IN_LOG;
        goto done;
    }
    if (full(r)) {
        ol_seterr(reason, reasonlen, "%zu requests are waiting already (--max-waiters)", r->max_waiters);
        st = GW_SUBMIT_BUSY;
        goto done;
    }
    if (!p) {
        /* Registered before it is produced: its answer has a waiter to find. */
        p = ol_waiters_add(r->waiters, m->order_id);
        if (!p) {
            ol_seterr(reason, reasonlen, "out of memory");
            goto done;
        }
        if (!produce(r, m, reason, reasonlen)) {
            ol_waiters_delivery(r->waiters, m->order_id, reason, -1, -1, ol_monotonic_ms()); /* drops p */
            goto done;
        }
        r->counters.produced++;
        m = NULL;
    }
    if (!ol_waiters_wait(r->waiters, p, token, deadline_ms)) {
        ol_seterr(reason, reasonlen, "out of memory");
        goto done; /* the order, if produced, is still answered; a retry finds it */
    }
    on_wait(token);
    st = GW_SUBMIT_WAITING;
done:
    r->counters.waiters = ol_waiters_waits(r->waiters);
    pthread_mutex_unlock(&r->lock);
    message_free(m);
    return st;
}

/* Completions are handed over without the lock: the HTTP side resumes
 * requests, which takes MHD's locks. */
static void deliver_completions(gw_relay *r) {
    for (;;) {
        ol_completion c;
        pthread_mutex_lock(&r->lock);
        bool got = ol_waiters_next_completion(r->waiters, &c);
        r->counters.waiters = ol_waiters_waits(r->waiters);
        pthread_mutex_unlock(&r->lock);
        if (!got) return;
        r->on_complete(c.token, &c, r->opaque);
    }
}

/* Decodes outside the lock; inside it only matches by order_id, so a
 * batch of answers holds up the HTTP threads' attach and submit no longer
 * than the map lookups take. */
static void read_answers(gw_relay *r, rd_kafka_message_t **msgs, ssize_t n) {
    for (ssize_t i = 0; i < n; i++) {
        rd_kafka_message_t *m = msgs[i];
        r->readable[i] = false;
        if (m->err) continue; /* end of partition */
        r->counters.results_read++;
        char err[256];
        if (ol_cart_result_maybe(m->payload, m->len)) {
            /* A cart's answer: matched by order_id like an item's; its
             * position is on the carts topic, not counted per orders partition. */
            r->readable[i] = ol_cart_result_from_json(m->payload, m->len, r->cart_answer, err, sizeof err);
            if (r->readable[i]) ol_cart_result_as_result(r->cart_answer, &r->parsed[i]);
            if (r->readable[i]) continue;
        } else {
            r->readable[i] = ol_result_from_json(m->payload, m->len, &r->parsed[i], err, sizeof err);
        }
        if (r->readable[i]) gw_counters_answered(&r->counters, r->parsed[i].partition, r->parsed[i].offset);
        else {
            r->counters.results_unreadable++;
            ol_log_kv(OL_LOG_WARN,
                      OL_LOG_FIELDS(OL_LOG_STR("topic", r->results_topic), OL_LOG_INT("partition", m->partition),
                                    OL_LOG_INT("offset", m->offset)),
                      "'%s' [%" PRId32 "] at offset %" PRId64 ": not an answer: %s", r->results_topic, m->partition,
                      m->offset, err);
        }
    }
    uint64_t matched = 0;
    pthread_mutex_lock(&r->lock);
    for (ssize_t i = 0; i < n; i++)
        if (r->readable[i] &&
            ol_waiters_answer_parsed(r->waiters, &r->parsed[i], msgs[i]->payload, msgs[i]->len) == OL_ANSWER_MATCHED)
            matched++;
    pthread_mutex_unlock(&r->lock);
    r->counters.results_matched += matched;
    for (ssize_t i = 0; i < n; i++) rd_kafka_message_destroy(msgs[i]);
}

bool gw_relay_run_once(gw_relay *r, int timeout_ms, char *err, size_t errlen) {
    rd_kafka_poll(r->producer, 0);
    rd_kafka_message_t *msgs[READ_BATCH];
    ssize_t n = ol_reader_poll(r->reader, msgs, READ_BATCH, timeout_ms, err, errlen);
    if (n < 0) return false;
    read_answers(r, msgs, n);
    rd_kafka_poll(r->producer, 0);
    pthread_mutex_lock(&r->lock);
    int64_t now = ol_monotonic_ms();
    ol_waiters_expire(r->waiters, now);
    r->last_run_ms = now;
    bool healthy = ol_waiters_healthy(r->waiters);
    pthread_mutex_unlock(&r->lock);
    deliver_completions(r);
    if (!healthy) ol_seterr(err, errlen, "out of memory while answering a request");
    /* Every later order would be refused too: stop, and say why. */
    char fatal[512];
    bool is_fatal = rd_kafka_fatal_error(r->producer, fatal, sizeof fatal) != RD_KAFKA_RESP_ERR_NO_ERROR;
    if (r->refused)
        ol_seterr(err, errlen, "Kafka refuses this gateway's principal the orders topic '%s': %s",
                  rd_kafka_topic_name(r->orders), rd_kafka_err2str(r->refused));
    else if (is_fatal) ol_seterr(err, errlen, "the producer hit a fatal error: %s", fatal);
    return healthy && !r->refused && !is_fatal;
}

static size_t producing(gw_relay *r) { return (size_t)rd_kafka_outq_len(r->producer); }

int gw_relay_stop(gw_relay *r, int timeout_ms) {
    int64_t deadline = ol_monotonic_ms() + timeout_ms;
    char err[256];
    /* Under the lock, as attach and submit look: after this nobody waits
     * on a wait that finish_all below would not complete. */
    pthread_mutex_lock(&r->lock);
    r->stopping = true;
    pthread_mutex_unlock(&r->lock);
    /* Keep reading answers meanwhile: a waiting request may still get its
     * decision rather than a 202. */
    while (producing(r) > 0 && ol_monotonic_ms() < deadline)
        if (!gw_relay_run_once(r, 10, err, sizeof err)) break;
    int left = (int)producing(r);
    pthread_mutex_lock(&r->lock);
    ol_waiters_finish_all(r->waiters, "the gateway is stopping and the order was not confirmed in the log");
    pthread_mutex_unlock(&r->lock);
    deliver_completions(r);
    return left;
}

void gw_relay_count_request(gw_relay *r, gw_route route, unsigned status, size_t client, double wait_s) {
    gw_counters_request(&r->counters, route, status, client);
    if (route != GW_ROUTE_ORDERS || wait_s < 0) return;
    pthread_mutex_lock(&r->hist_lock);
    ol_histogram_observe(&r->counters.wait_seconds, wait_s);
    pthread_mutex_unlock(&r->hist_lock);
}

void gw_relay_remember_in_log(gw_relay *r, const char *order_id, gw_in_log where) {
    pthread_mutex_lock(&r->lock);
    /* Out of memory only costs a second copy on the topic, which the
     * consumer answers as a duplicate. */
    (void)gw_inlog_put(r->in_log, order_id, where, ol_monotonic_ms());
    pthread_mutex_unlock(&r->lock);
}

void gw_relay_count_ledger_error(gw_relay *r) { r->counters.ledger_errors++; }

bool gw_relay_render_metrics(gw_relay *r, ol_buf *out) {
    /* The counts are atomic; the histogram is read under its lock. */
    pthread_mutex_lock(&r->hist_lock);
    bool ok = gw_counters_render(&r->counters, out);
    pthread_mutex_unlock(&r->hist_lock);
    return ok && gw_counters_render_partitions(&r->counters, rd_kafka_topic_name(r->orders), out);
}

int64_t gw_relay_idle_ms(gw_relay *r) {
    pthread_mutex_lock(&r->lock);
    int64_t idle = ol_monotonic_ms() - r->last_run_ms;
    pthread_mutex_unlock(&r->lock);
    return idle;
}

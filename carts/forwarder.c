#include "forwarder.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cart_engine.h"
#include "cart_msg.h"
#include "ol_acks.h"
#include "ol_kafka.h"
#include "ol_log.h"
#include "ol_str.h"
#include "ol_wake.h"

#define READ_MAX 2000     /* results messages read per step */
#define PENDING_MAX 20000 /* forwards without a report: reading pauses */
#define COMMIT_EVERY_MS 50
#define RESEND_SOON_MS 10 /* a forward librdkafka refused (queue full) or the log did not take */
#define RESENDS_MAX 1000  /* reports without an offset before a forward counts as failed */
#define IDLE_WAIT_MS 100  /* the thread's longest sleep: it also checks for a halt */

/* One forward, from its results message (span) until the log shows it. */
typedef struct fwd_ref {
    ol_ack_span *span;
    char *key; /* the cart_id */
    char *value;
} fwd_ref;

struct cart_forwarder {
    const ol_settings *s;
    rd_kafka_t *consumer, *producer;
    rd_kafka_topic_t *carts_t;
    rd_kafka_queue_t *queues[2]; /* the consumer's and the producer's, writing to wake */
    int wake[2];                 /* non-blocking pipe: the queues and a halt write to [1] */

    ol_ack_tracker *acks;
    int64_t *committed; /* by results partition: the offset committed, -1 none */
    int32_t n_parts;
    int64_t next_commit_ms;

    size_t pending;  /* handed to librdkafka, no report yet */
    fwd_ref **retry; /* to send again */
    size_t n_retry, cap_retry;

    /* The thread, and what other threads may read while it runs. */
    pthread_t thread;
    bool running;
    atomic_bool halt, idle, failed;
    char failure[512]; /* written before failed is set */
    atomic_uint_fast64_t forwarded, delivery_failures;
};

static void ref_free(fwd_ref *r) {
    if (!r) return;
    free(r->key);
    free(r->value);
    free(r);
}

static bool push_retry(cart_forwarder *f, fwd_ref *r) {
    if (f->n_retry == f->cap_retry) {
        size_t cap = f->cap_retry ? f->cap_retry * 2 : 64;
        fwd_ref **p = realloc(f->retry, cap * sizeof *p);
        if (!p) return false;
        f->retry = p;
        f->cap_retry = cap;
    }
    f->retry[f->n_retry++] = r;
    return true;
}

/* "Delivered" means in the log: only a report naming an offset moves the
 * span. A forward is idempotent, so one not shown there is sent again. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
    (void)rk;
    cart_forwarder *f = opaque;
    fwd_ref *r = msg->_private;
    if (!r) return;
    f->pending--;
    ol_delivery_action a = msg->err ? OL_DELIVERY_RESEND : ol_ack_span_report(r->span, false, msg->offset, RESENDS_MAX);
    if (a != OL_DELIVERY_ACKED) {
        atomic_fetch_add(&f->delivery_failures, 1);
        ol_warn("forwarding a line answer for cart '%s' to '%s' [%" PRId32 "]: %s", r->key,
                rd_kafka_topic_name(msg->rkt), msg->partition,
                msg->err ? rd_kafka_err2str(msg->err) : "no offset in the report");
    }
    if (a == OL_DELIVERY_RESEND && push_retry(f, r)) return;
    if (a != OL_DELIVERY_ACKED)
        ol_error("a line answer for cart '%s' could not be put in the log (%s): the results offsets stay uncommitted "
                 "from there, and it is forwarded again on the next start",
                 r->key, msg->err ? rd_kafka_err2str(msg->err) : "no offset");
    ref_free(r);
}

static bool forward_send(cart_forwarder *f, fwd_ref *r) {
    ol_kafka_msg m = {.rkt = f->carts_t,
                      .key = r->key,
                      .key_len = strlen(r->key),
                      .value = r->value,
                      .len = strlen(r->value),
                      .flags = RD_KAFKA_MSG_F_COPY,
                      .opaque = r};
    if (ol_kafka_produce(f->producer, &m, 0) != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
    f->pending++;
    return true;
}

static bool send_retries(cart_forwarder *f) {
    size_t n = f->n_retry;
    f->n_retry = 0;
    for (size_t i = 0; i < n; i++)
        if (!forward_send(f, f->retry[i]) && !push_retry(f, f->retry[i])) return false;
    return true;
}

/* The results message's forward, if it answers a cart's line step. */
static bool forward_one(cart_forwarder *f, const rd_kafka_message_t *m, ol_ack_span *span) {
    cart_line_answer a;
    if (!cart_line_answer_from_result(m->payload, m->len, &a)) return true;
    fwd_ref *r = calloc(1, sizeof *r);
    if (!r || !(r->value = cart_line_result_json(&a)) || !(r->key = strdup(a.cart_id))) {
        ref_free(r);
        return false;
    }
    r->span = span;
    ol_ack_span_attach(span);
    atomic_fetch_add(&f->forwarded, 1);
    if (!forward_send(f, r) && !push_retry(f, r)) {
        ref_free(r);
        return false;
    }
    return true;
}

static bool parts_reserve(cart_forwarder *f, int32_t partition) {
    if (partition < f->n_parts) return true;
    int32_t n = partition + 1;
    int64_t *p = realloc(f->committed, (size_t)n * sizeof *p);
    if (!p) return false;
    for (int32_t i = f->n_parts; i < n; i++) p[i] = -1;
    f->committed = p;
    f->n_parts = n;
    return true;
}

/* Commits, per partition, the offset below which every forward is in the
 * log. After a reassignment a partition may be read again from lower down:
 * the commit never goes back, the repeats change nothing. */
static void commit_acked(cart_forwarder *f, bool sync) {
    int64_t now = ol_monotonic_ms();
    if (!sync && now < f->next_commit_ms) return;
    f->next_commit_ms = now + COMMIT_EVERY_MS;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(f->n_parts ? f->n_parts : 1);
    if (!l) return;
    for (int32_t p = 0; p < f->n_parts; p++) {
        int64_t acked = ol_ack_tracker_acked(f->acks, p);
        if (acked <= f->committed[p]) continue;
        rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_add(l, f->s->results_topic, p);
        if (!tp) break;
        tp->offset = acked;
        f->committed[p] = acked;
    }
    if (l->cnt) rd_kafka_commit(f->consumer, l, sync ? 0 : 1);
    rd_kafka_topic_partition_list_destroy(l);
}

/* Each results message is a span of its own: complete once whatever was
 * forwarded from it is in the log (at once, when nothing was). */
static bool read_one(cart_forwarder *f, rd_kafka_message_t *m, char *err, size_t errlen) {
    if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) ol_warn("results topic: %s", rd_kafka_message_errstr(m));
        return true;
    }
    ol_ack_span *span =
        parts_reserve(f, m->partition) ? ol_ack_tracker_open(f->acks, m->partition, m->offset + 1) : NULL;
    bool ok = span && forward_one(f, m, span);
    if (span) ol_ack_span_close(span);
    if (!ok)
        ol_seterr(err, errlen, "out of memory forwarding results partition %d offset %" PRId64, m->partition,
                  m->offset);
    return ok;
}

static bool step(cart_forwarder *f, bool *worked, char *err, size_t errlen) {
    if (rd_kafka_poll(f->producer, 0) > 0) *worked = true;
    if (f->n_retry && !send_retries(f)) {
        ol_seterr(err, errlen, "out of memory");
        return false;
    }
    commit_acked(f, false);
    for (size_t k = 0; k < READ_MAX && f->pending + f->n_retry < PENDING_MAX; k++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(f->consumer, 0);
        if (!m) break;
        *worked = true;
        bool ok = read_one(f, m, err, errlen);
        rd_kafka_message_destroy(m);
        if (!ok) return false;
    }
    return true;
}

/* True when some partition has an acknowledged prefix beyond its commit. */
static bool commit_owed(cart_forwarder *f) {
    for (int32_t p = 0; p < f->n_parts; p++)
        if (ol_ack_tracker_acked(f->acks, p) > f->committed[p]) return true;
    return false;
}

/* Monotonic ms by which the thread wants a step even with nothing new: a
 * commit or a re-send due; INT64_MAX when none. */
static int64_t due_ms(cart_forwarder *f) {
    if (f->n_retry) return ol_monotonic_ms() + RESEND_SOON_MS;
    /* Forwards still out wake the loop with their reports: only a commit
     * already owed needs a timer. */
    return commit_owed(f) ? f->next_commit_ms : INT64_MAX;
}

static bool idle_now(cart_forwarder *f) {
    return !f->pending && !f->n_retry && ol_ack_tracker_idle(f->acks) && !commit_owed(f);
}

/* ---- the thread ---------------------------------------------------------- */

/* Sleeps until a queue has something, a chore is due or a halt comes. */
static void wait_for_work(cart_forwarder *f) {
    int64_t now = ol_monotonic_ms();
    int64_t until = now + IDLE_WAIT_MS, due = due_ms(f);
    if (due < until) until = due;
    ol_wake_wait(f->wake, (int)(until - now));
}

static void *run(void *arg) {
    cart_forwarder *f = arg;
    while (!atomic_load(&f->halt)) {
        bool worked = false;
        if (!step(f, &worked, f->failure, sizeof f->failure)) {
            atomic_store(&f->failed, true);
            break;
        }
        atomic_store(&f->idle, idle_now(f));
        if (!worked) wait_for_work(f);
    }
    return NULL;
}

bool cart_forwarder_start(cart_forwarder *f, char *err, size_t errlen) {
    if (f->running) return true;
    /* SIGINT and SIGTERM go to the coordinator's thread, whose sleep they
     * end; the new thread inherits this mask. */
    sigset_t stop_signals, old;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, &old);
    int rc = pthread_create(&f->thread, NULL, run, f);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        ol_seterr(err, errlen, "starting the forwarder's thread: %s", strerror(rc));
        return false;
    }
    f->running = true;
    return true;
}

/* Ends the thread after its current step; the caller owns it all again. */
static void join(cart_forwarder *f) {
    if (!f->running) return;
    atomic_store(&f->halt, true);
    ol_wake_signal(f->wake);
    pthread_join(f->thread, NULL);
    f->running = false;
}

bool cart_forwarder_failed(cart_forwarder *f, char *err, size_t errlen) {
    if (!atomic_load(&f->failed)) return false;
    ol_seterr(err, errlen, "forwarding line answers: %s", f->failure);
    return true;
}

bool cart_forwarder_idle(cart_forwarder *f) { return atomic_load(&f->idle) && !atomic_load(&f->failed); }

cart_forwarder_counts cart_forwarder_counts_get(const cart_forwarder *f) {
    return (cart_forwarder_counts){atomic_load(&f->forwarded), atomic_load(&f->delivery_failures)};
}

bool cart_forwarder_stop(cart_forwarder *f, int timeout_ms, char *err, size_t errlen) {
    if (!f) return true;
    join(f);
    /* One more step for what came while the thread slept: with --idle-exit
     * there may be no next start to forward it. */
    bool worked = false;
    if (!atomic_load(&f->failed) && !step(f, &worked, f->failure, sizeof f->failure)) atomic_store(&f->failed, true);
    if (atomic_load(&f->failed)) {
        /* A results message whose forward failed has its span closed
         * already: committing now could pass over it. */
        rd_kafka_consumer_close(f->consumer);
        ol_seterr(err, errlen,
                  "forwarding line answers: %s (offsets left uncommitted: forwarded again on the next start)",
                  f->failure);
        return false;
    }
    int64_t until = ol_monotonic_ms() + timeout_ms;
    while ((f->pending || f->n_retry) && ol_monotonic_ms() < until) {
        if (f->n_retry && !send_retries(f)) break;
        rd_kafka_poll(f->producer, 50);
    }
    commit_acked(f, true);
    rd_kafka_consumer_close(f->consumer);
    if (f->pending || f->n_retry) {
        ol_seterr(err, errlen, "%zu line answers not shown in the log at stop (forwarded again on the next start)",
                  f->pending + f->n_retry);
        return false;
    }
    return true;
}

/* ---- making and freeing ------------------------------------------------- */

static bool consumer_open(cart_forwarder *f, const char *group, char *err, size_t errlen) {
    /* Offsets are committed by hand, over the acknowledged prefix only. */
    const char *const defaults[] = {OL_KAFKA_GROUP_DEFAULTS, "group.id", group, "client.id", "order-carts-lines", NULL};
    f->consumer = ol_kafka_subscriber_new(f->s, defaults, f->s->results_topic, NULL, NULL, err, errlen);
    return f->consumer != NULL;
}

static bool producer_open(cart_forwarder *f, char *err, size_t errlen) {
    /* linger.ms 1: a cart waits on every forward. */
    static const char *const defaults[] = {OL_KAFKA_PRODUCER_DEFAULTS, "linger.ms", "1", "client.id",
                                           "order-carts-lines",        NULL};
    f->producer =
        ol_kafka_producer_new(f->s, defaults, "the line answers' producer", f, on_delivery, NULL, err, errlen);
    return f->producer && (f->carts_t = ol_kafka_topic_new(f->producer, f->s->carts_topic, err, errlen));
}

cart_forwarder *cart_forwarder_new(const ol_settings *settings, const char *group, char *err, size_t errlen) {
    cart_forwarder *f = calloc(1, sizeof *f);
    if (f) f->wake[0] = f->wake[1] = -1;
    if (!f || !(f->acks = ol_ack_tracker_new())) {
        ol_seterr(err, errlen, "out of memory");
        cart_forwarder_destroy(f);
        return NULL;
    }
    f->s = settings;
    atomic_init(&f->idle, true);
    if (!ol_wake_open(f->wake, "the forwarder's wake-up pipe", err, errlen)) {
        cart_forwarder_destroy(f);
        return NULL;
    }
    if (!consumer_open(f, group, err, errlen) || !producer_open(f, err, errlen)) {
        cart_forwarder_destroy(f);
        return NULL;
    }
    f->queues[0] = rd_kafka_queue_get_consumer(f->consumer);
    f->queues[1] = rd_kafka_queue_get_main(f->producer);
    for (int i = 0; i < 2; i++) {
        if (!f->queues[i]) {
            ol_seterr(err, errlen, "getting the forwarder's Kafka queues");
            cart_forwarder_destroy(f);
            return NULL;
        }
        rd_kafka_queue_io_event_enable(f->queues[i], f->wake[1], "f", 1);
    }
    return f;
}

void cart_forwarder_destroy(cart_forwarder *f) {
    if (!f) return;
    join(f);
    for (int i = 0; i < 2; i++) {
        if (!f->queues[i]) continue;
        rd_kafka_queue_io_event_enable(f->queues[i], -1, NULL, 0);
        rd_kafka_queue_destroy(f->queues[i]);
    }
    if (f->consumer) rd_kafka_destroy(f->consumer);
    if (f->carts_t) rd_kafka_topic_destroy(f->carts_t);
    if (f->producer) {
        rd_kafka_purge(f->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(f->producer, 0); /* purged messages report, and their refs are freed */
        rd_kafka_destroy(f->producer);
    }
    for (size_t i = 0; i < f->n_retry; i++) ref_free(f->retry[i]);
    free(f->retry);
    ol_ack_tracker_destroy(f->acks);
    free(f->committed);
    ol_wake_close(f->wake);
    free(f);
}

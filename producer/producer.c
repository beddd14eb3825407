#include "producer.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ol_kafka.h"
#include "ol_log.h"
#include "ol_order.h"
#include "ol_str.h"

struct order_producer {
    rd_kafka_t *rk;
    rd_kafka_topic_t *topic;
    order_producer_stats stats;
    long rate;            /* orders/s, 0: unpaced */
    int64_t pace_start_us; /* when the first paced order was sent */
};

/* Where a message came from, carried as its opaque to the delivery report. */
typedef struct line_origin {
    const char *source; /* borrowed: argv or a literal */
    size_t line;
    char order_id[OL_ORDER_ID_MAX + 1];
} line_origin;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
    order_producer *p = opaque;
    line_origin *origin = msg->_private; /* ownership comes back to us here */
    if (msg->err) {
        p->stats.failed++;
        ol_error("%s:%zu: delivery of order '%s' failed: %s", origin->source, origin->line, origin->order_id,
                 rd_kafka_err2str(msg->err));
    } else {
        p->stats.delivered++;
    }
    free(origin);
}

order_producer *order_producer_new(const ol_settings *settings, char *err, size_t errlen) {
    static const char *const defaults[] = {
        OL_KAFKA_ORDER_PRODUCER_DEFAULTS, "linger.ms", "5", "compression.type", "lz4", "client.id", "order-producer", NULL};
    order_producer *p = calloc(1, sizeof *p);
    if (!p) {
        ol_seterr(err, errlen, "out of memory");
        return NULL;
    }
    p->rate = settings->rate;
    rd_kafka_conf_t *conf = ol_kafka_conf_new(settings, defaults, err, errlen);
    if (!conf) goto fail;
    rd_kafka_conf_set_opaque(conf, p);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    char kerr[512];
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, kerr, sizeof kerr);
    if (!p->rk) {
        rd_kafka_conf_destroy(conf); /* rd_kafka_new only takes it on success */
        ol_seterr(err, errlen, "creating producer: %s", kerr);
        goto fail;
    }
    const char *topics[] = {settings->orders_topic};
    if (!ol_kafka_ensure_topics(p->rk, topics, 1, (int)settings->partitions, 10000, err, errlen)) goto fail;
    p->topic = rd_kafka_topic_new(p->rk, settings->orders_topic, NULL);
    if (!p->topic) {
        ol_seterr(err, errlen, "topic '%s': %s", settings->orders_topic, rd_kafka_err2str(rd_kafka_last_error()));
        goto fail;
    }
    return p;
fail:
    order_producer_destroy(p);
    return NULL;
}

void order_producer_destroy(order_producer *p) {
    if (!p) return;
    if (p->topic) rd_kafka_topic_destroy(p->topic);
    if (p->rk) rd_kafka_destroy(p->rk);
    free(p);
}

/* Orders due within this long are sent at once: the rate holds at 1 ms
 * granularity. Sleeping for every order (18,000 sleeps a second at 18k/s)
 * cost the producer a third of a core in context switches, taken from the
 * system it was measuring. */
#define PACE_GRANULARITY_US 1000

/* With --rate, waits until the next order is due (serving delivery reports
 * meanwhile), so a load test offers a steady rate instead of bursts. */
static void pace(order_producer *p) {
    if (p->rate <= 0) return;
    int64_t now = ol_now_us();
    if (p->pace_start_us == 0) p->pace_start_us = now;
    int64_t due = p->pace_start_us + (int64_t)((double)p->stats.sent * 1e6 / (double)p->rate);
    if (due - now < PACE_GRANULARITY_US) return;
    while (now < due) {
        int wait_ms = (int)((due - now) / 1000);
        if (wait_ms > 0) rd_kafka_poll(p->rk, wait_ms);
        else {
            struct timespec ts = {0, (long)(due - now) * 1000L};
            nanosleep(&ts, NULL);
        }
        now = ol_now_us();
    }
}

/* Hands one valid order to librdkafka, waiting while its queue is full. */
static bool send_order(order_producer *p, const ol_order *order, const char *value, size_t len,
                       const char *source, size_t lineno, char *err, size_t errlen) {
    line_origin *origin = malloc(sizeof *origin);
    if (!origin) {
        ol_seterr(err, errlen, "out of memory");
        return false;
    }
    origin->source = source;
    origin->line = lineno;
    memcpy(origin->order_id, order->order_id, sizeof origin->order_id);
    for (;;) {
        /* RD_KAFKA_MSG_F_COPY: librdkafka copies the line; origin passes to
         * librdkafka until the delivery report returns it. */
        if (rd_kafka_produce(p->topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, (void *)value, len,
                             order->item, strlen(order->item), origin) == 0) {
            p->stats.sent++;
            return true;
        }
        rd_kafka_resp_err_t e = rd_kafka_last_error();
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            free(origin);
            ol_seterr(err, errlen, "%s:%zu: cannot produce: %s", source, lineno, rd_kafka_err2str(e));
            return false;
        }
        rd_kafka_poll(p->rk, 100);
    }
}

bool order_producer_publish_file(order_producer *p, const char *path, volatile const sig_atomic_t *stop, char *err,
                                 size_t errlen) {
    bool is_stdin = strcmp(path, "-") == 0;
    const char *source = is_stdin ? "<stdin>" : path;
    FILE *in = is_stdin ? stdin : fopen(path, "r");
    if (!in) {
        ol_seterr(err, errlen, "%s: %s", path, strerror(errno));
        return false;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    size_t lineno = 0;
    bool ok = true;
    while (!*stop && (got = getline(&line, &cap, in)) >= 0) {
        lineno++;
        size_t len = (size_t)got;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
        size_t blank = strspn(line, " \t");
        if (blank >= len) continue; /* blank lines separate nothing and mean nothing */
        p->stats.lines++;
        ol_order order;
        char why[OL_ERROR_MAX];
        if (!ol_order_parse(line, len, NULL, 0, &order, why, sizeof why)) {
            p->stats.invalid++;
            fprintf(stderr, "%s:%zu: invalid order%s%s%s: %s\n", source, lineno, order.order_id[0] ? " '" : "",
                    order.order_id, order.order_id[0] ? "'" : "", why);
            continue;
        }
        pace(p);
        if (!send_order(p, &order, line, len, source, lineno, err, errlen)) {
            ok = false;
            break;
        }
        rd_kafka_poll(p->rk, 0); /* serve delivery reports as we go */
    }
    if (ok && ferror(in)) {
        ol_seterr(err, errlen, "%s: read error after line %zu", source, lineno);
        ok = false;
    }
    free(line);
    if (!is_stdin) fclose(in);
    return ok;
}

int order_producer_drain(order_producer *p, int timeout_ms) {
    rd_kafka_flush(p->rk, timeout_ms);
    rd_kafka_poll(p->rk, 0);
    return rd_kafka_outq_len(p->rk);
}

order_producer_stats order_producer_get_stats(const order_producer *p) { return p->stats; }

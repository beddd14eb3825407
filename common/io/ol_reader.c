#include "ol_reader.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ol_kafka.h"
#include "ol_log.h"
#include "ol_str.h"

/* Metadata, watermark and offset look-ups: a broker that does not answer
 * in this time is reported rather than waited for. */
#define READER_TIMEOUT_MS 15000

struct ol_reader {
    rd_kafka_t *rk;
    rd_kafka_queue_t *queue;
};

#define READER_DEFAULTS_MAX 32

ol_reader *ol_reader_new(const ol_settings *s, const char *client_id, const char *const *tool_defaults, char *err,
                         size_t errlen) {
    /* auto.offset.reset=error: a start offset that retention removed in
     * the meantime is reported, never silently replaced by another one. */
    const char *const base[] = {"client.id",
                                client_id,
                                "group.id",
                                client_id,
                                "enable.auto.commit",
                                "false",
                                "enable.auto.offset.store",
                                "false",
                                "enable.partition.eof",
                                "true",
                                "auto.offset.reset",
                                "error"};
    const char *defaults[READER_DEFAULTS_MAX * 2 + 1];
    size_t n = 0;
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++) defaults[n++] = base[i];
    for (size_t i = 0; tool_defaults && tool_defaults[i] && n + 2 < sizeof defaults / sizeof defaults[0]; i++)
        defaults[n++] = tool_defaults[i];
    defaults[n] = NULL;
    ol_reader *r = calloc(1, sizeof *r);
    if (!r) {
        ol_seterr(err, errlen, "out of memory");
        return NULL;
    }
    rd_kafka_conf_t *conf = ol_kafka_conf_new(s, defaults, err, errlen);
    if (!conf) goto fail;
    char kerr[512];
    r->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, kerr, sizeof kerr);
    if (!r->rk) {
        rd_kafka_conf_destroy(conf);
        ol_seterr(err, errlen, "creating Kafka consumer: %s", kerr);
        goto fail;
    }
    rd_kafka_poll_set_consumer(r->rk);
    r->queue = rd_kafka_queue_get_consumer(r->rk);
    if (!r->queue) {
        ol_seterr(err, errlen, "creating Kafka consumer: no consumer queue");
        goto fail;
    }
    return r;
fail:
    ol_reader_destroy(r);
    return NULL;
}

void ol_reader_destroy(ol_reader *r) {
    if (!r) return;
    if (r->queue) rd_kafka_queue_destroy(r->queue);
    if (r->rk) {
        rd_kafka_consumer_close(r->rk);
        rd_kafka_destroy(r->rk);
    }
    free(r);
}

int ol_reader_partition_count(ol_reader *r, const char *topic, char *err, size_t errlen) {
    return ol_kafka_partition_count(r->rk, topic, READER_TIMEOUT_MS, err, errlen);
}

bool ol_reader_watermarks(ol_reader *r, const char *topic, int32_t n, int64_t *low, int64_t *high, char *err,
                          size_t errlen) {
    for (int32_t p = 0; p < n; p++) {
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(r->rk, topic, p, &low[p], &high[p], READER_TIMEOUT_MS);
        if (e) {
            ol_seterr(err, errlen, "watermarks of '%s' [%" PRId32 "]: %s", topic, p, rd_kafka_err2str(e));
            return false;
        }
    }
    return true;
}

bool ol_reader_offsets_for_time(ol_reader *r, const char *topic, int32_t n, int64_t ts_ms, const int64_t *high,
                                int64_t *out, char *err, size_t errlen) {
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(n > 0 ? n : 1);
    if (!list) {
        ol_seterr(err, errlen, "out of memory");
        return false;
    }
    bool ok = false;
    for (int32_t p = 0; p < n; p++) rd_kafka_topic_partition_list_add(list, topic, p)->offset = ts_ms;
    rd_kafka_resp_err_t e = n > 0 ? rd_kafka_offsets_for_times(r->rk, list, READER_TIMEOUT_MS) : 0;
    if (e) {
        ol_seterr(err, errlen, "offsets for time in '%s': %s", topic, rd_kafka_err2str(e));
        goto done;
    }
    for (int i = 0; i < list->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &list->elems[i];
        if (tp->err) {
            ol_seterr(err, errlen, "offsets for time in '%s' [%" PRId32 "]: %s", topic, tp->partition,
                      rd_kafka_err2str(tp->err));
            goto done;
        }
        /* -1 (OFFSET_END): no message that recent. */
        out[tp->partition] = tp->offset >= 0 ? tp->offset : high[tp->partition];
    }
    ok = true;
done:
    rd_kafka_topic_partition_list_destroy(list);
    return ok;
}

bool ol_reader_assign(ol_reader *r, const char *topic, const int32_t *partitions, const int64_t *offsets, size_t n,
                      char *err, size_t errlen) {
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(n > 0 ? (int)n : 1);
    if (!list) {
        ol_seterr(err, errlen, "out of memory");
        return false;
    }
    for (size_t i = 0; i < n; i++) rd_kafka_topic_partition_list_add(list, topic, partitions[i])->offset = offsets[i];
    rd_kafka_resp_err_t e = rd_kafka_assign(r->rk, n > 0 ? list : NULL);
    rd_kafka_topic_partition_list_destroy(list);
    if (e) {
        ol_seterr(err, errlen, "assigning partitions of '%s': %s", topic, rd_kafka_err2str(e));
        return false;
    }
    return true;
}

bool ol_reader_plan_window(ol_reader *r, const char *topic, int32_t n, ol_reader_from from, int64_t at_ms, ol_window *w,
                           char *err, size_t errlen) {
    if (!ol_window_init(w, n, err, errlen)) return false;
    if (!ol_reader_watermarks(r, topic, n, w->low, w->high, err, errlen)) return false;
    if (from == OL_READER_FROM_TIME) {
        if (!ol_reader_offsets_for_time(r, topic, n, at_ms, w->high, w->start, err, errlen)) return false;
    } else {
        memcpy(w->start, from == OL_READER_FROM_END ? w->high : w->low, (size_t)n * sizeof *w->start);
    }
    ol_window_begin(w);
    return true;
}

bool ol_reader_assign_window(ol_reader *r, const char *topic, const ol_window *w, char *err, size_t errlen) {
    int32_t *ids = calloc((size_t)w->n + 1, sizeof *ids);
    if (!ids) {
        ol_seterr(err, errlen, "out of memory");
        return false;
    }
    for (int32_t p = 0; p < w->n; p++) ids[p] = p;
    bool ok = ol_reader_assign(r, topic, ids, w->start, (size_t)w->n, err, errlen);
    free(ids);
    return ok;
}

static bool is_fatal(rd_kafka_resp_err_t e) {
    switch (e) {
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__SSL:
        return true;
    default:
        return false;
    }
}

ssize_t ol_reader_poll(ol_reader *r, rd_kafka_message_t **msgs, size_t max, int timeout_ms, char *err, size_t errlen) {
    /* consume_batch_queue waits for the whole timeout unless max messages
     * arrive, which would stall every partial batch (the end of a window,
     * a followed topic). So: take what is queued; if nothing, wait for one
     * message; then take what came with it. */
    ssize_t n = rd_kafka_consume_batch_queue(r->queue, 0, msgs, max);
    if (n == 0 && timeout_ms > 0) {
        n = rd_kafka_consume_batch_queue(r->queue, timeout_ms, msgs, 1);
        if (n == 1 && max > 1) {
            ssize_t more = rd_kafka_consume_batch_queue(r->queue, 0, msgs + 1, max - 1);
            if (more > 0) n += more;
        }
    }
    if (n < 0) {
        ol_seterr(err, errlen, "reading: %s", rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    ssize_t kept = 0;
    for (ssize_t i = 0; i < n; i++) {
        rd_kafka_message_t *m = msgs[i];
        if (!m->err || m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            msgs[kept++] = m;
            continue;
        }
        if (is_fatal(m->err)) {
            const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "?";
            ol_seterr(err, errlen, "reading '%s' [%" PRId32 "]: %s", topic, m->partition, rd_kafka_message_errstr(m));
            for (ssize_t j = i; j < n; j++) rd_kafka_message_destroy(msgs[j]);
            for (ssize_t j = 0; j < kept; j++) rd_kafka_message_destroy(msgs[j]);
            return -1;
        }
        ol_warn("reading: %s (retrying)", rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
    }
    return kept;
}

int ol_reader_assign_from_end(ol_reader *r, const char *topic, char *err, size_t errlen) {
    int n = ol_reader_partition_count(r, topic, err, errlen);
    if (n <= 0) return -1;
    ol_window w = {0};
    bool ok = ol_reader_plan_window(r, topic, n, OL_READER_FROM_END, 0, &w, err, errlen) &&
              ol_reader_assign_window(r, topic, &w, err, errlen);
    ol_window_free(&w);
    return ok ? n : -1;
}

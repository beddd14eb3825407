#include "source.h"

#include <stdlib.h>
#include <string.h>

#include "ol_kafka.h"
#include "ol_log.h"
#include "ol_str.h"
#include "ol_wake.h"

struct order_source {
    rd_kafka_t *rk;
    char *topic;
    order_source_listener listener;
    uint64_t errors;
    /* Partition p's messages arrive on lane_queues[p % n_lanes] rather than
     * on the consumer queue: librdkafka fills the consumer queue one
     * partition's fetch at a time (thousands of messages), so one queue
     * would feed one lane at a time and leave the others idle. */
    rd_kafka_queue_t *lane_queues[ORDER_SOURCE_MAX_LANES];
    size_t n_lanes;
    rd_kafka_queue_t *consumer_queue; /* rebalances and errors */
    int wake[2];                      /* pipe librdkafka writes to when a queue gets work */
    bool closed;                      /* has left the group */
};

/* Routes each partition's fetched messages to its lane's queue. Done before
 * the assignment so that no message takes the consumer queue meanwhile. */
static void route_partitions(order_source *src, const rd_kafka_topic_partition_list_t *partitions) {
    for (int i = 0; i < partitions->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &partitions->elems[i];
        rd_kafka_queue_t *pq = rd_kafka_queue_get_partition(src->rk, tp->topic, tp->partition);
        if (!pq) {
            /* Its messages then come through the consumer queue, which the
             * pipeline also reads: slower, still correct. */
            ol_log_kv(OL_LOG_WARN, OL_LOG_FIELDS(OL_LOG_INT("partition", tp->partition)),
                      "partition %d: no partition queue; reading it from the consumer queue", tp->partition);
            continue;
        }
        rd_kafka_queue_forward(pq, src->lane_queues[(size_t)tp->partition % src->n_lanes]);
        rd_kafka_queue_destroy(pq); /* the forward keeps its own reference */
    }
}

/* Partitions the listener starts at RD_KAFKA_OFFSET_BEGINNING get their
 * oldest offset, all in one request: a logical offset costs librdkafka a
 * lookup of its own per partition. */
#define OLDEST_TIMEOUT_MS 5000

static void resolve_oldest(order_source *src, rd_kafka_topic_partition_list_t *partitions) {
    size_t n = 0;
    for (int i = 0; i < partitions->cnt; i++) n += partitions->elems[i].offset == RD_KAFKA_OFFSET_BEGINNING;
    if (n == 0) return;
    int32_t *ids = calloc(n, sizeof *ids);
    int64_t *oldest = calloc(n, sizeof *oldest);
    if (ids && oldest) {
        size_t k = 0;
        for (int i = 0; i < partitions->cnt; i++)
            if (partitions->elems[i].offset == RD_KAFKA_OFFSET_BEGINNING) ids[k++] = partitions->elems[i].partition;
        order_source_oldest_offsets(src, ids, n, oldest, OLDEST_TIMEOUT_MS);
        k = 0;
        for (int i = 0; i < partitions->cnt; i++)
            if (partitions->elems[i].offset == RD_KAFKA_OFFSET_BEGINNING) partitions->elems[i].offset = oldest[k++];
    }
    free(ids);
    free(oldest);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *partitions,
                         void *opaque) {
    order_source *src = opaque;
    bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t ret = RD_KAFKA_RESP_ERR_NO_ERROR;

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        src->listener.on_assign(src->listener.ctx, partitions);
        resolve_oldest(src, partitions);
        route_partitions(src, partitions);
        if (cooperative) error = rd_kafka_incremental_assign(rk, partitions);
        else ret = rd_kafka_assign(rk, partitions);
        /* A partition given up after a fence may come back: fetch it again. */
        if (!error && !ret) rd_kafka_resume_partitions(rk, partitions);
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        bool lost = rd_kafka_assignment_lost(rk);
        src->listener.on_revoke(src->listener.ctx, partitions, lost);
        if (cooperative) error = rd_kafka_incremental_unassign(rk, partitions);
        else ret = rd_kafka_assign(rk, NULL);
    } else {
        ol_error("rebalance failed: %s", rd_kafka_err2str(err));
        src->listener.on_revoke(src->listener.ctx, partitions, true);
        ret = rd_kafka_assign(rk, NULL);
    }
    if (error) {
        ol_error("%s incremental %s failed: %s", rd_kafka_name(rk),
                 err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? "assign" : "unassign", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else if (ret) {
        ol_error("assign failed: %s", rd_kafka_err2str(ret));
    }
}

/* Offsets are never committed to or read from Kafka: PostgreSQL holds the
 * positions, in the same transaction as the decisions.
 *
 * Prefetch is per lane. librdkafka 2.0.2 compares queued.min.messages and
 * queued.max.messages.kbytes with the queue a partition forwards to (its
 * lane's), and once either is exceeded stops fetching until the broker
 * thread next wakes, which with nothing in flight is up to 1 s later (2.2.0
 * added fetch.queue.backoff.ms for it). A lane's queue must hold about a
 * second of its work or the lane starves in between.
 *
 * Both limits are checked before a fetch, so a queue overshoots them by one
 * whole response, and a response is sized in compressed bytes while each
 * message costs librdkafka an op plus its share of the buffer it was
 * decompressed into (for zstd without a recorded frame size, a guess well
 * above the decompressed size). Small fetches keep that overshoot small for
 * every codec (bench/notes.md). librdkafka requires fetch.max.bytes >=
 * message.max.bytes; a record batch larger than a fetch still comes whole.
 *
 * The metadata refresh is what keeps the broker thread from that 1 s
 * sleep: each refresh's request wakes the thread, which then decides the
 * fetches again, so a lane whose queue has drained below the limits is
 * fetched for within 25 ms instead of within a second. It costs a small
 * metadata request 40 times a second (one topic's), and on librdkafka
 * 2.2.0+ fetch.queue.backoff.ms would do the same directly.
 *
 * A member killed with -9 holds its partitions until its session expires:
 * librdkafka's 45 s left them undecided that long. 6 s is the brokers'
 * default minimum; heartbeats come from librdkafka's own thread, not the
 * batch loop, so a long batch cannot miss them. */
/* clang-format off */
static const char *const consumer_defaults[] = {
    "enable.auto.commit", "false",
    "enable.auto.offset.store", "false",
    "auto.offset.reset", "earliest",
    "partition.assignment.strategy", "cooperative-sticky",
    "queued.min.messages", "50000",
    "queued.max.messages.kbytes", "16384",
    "fetch.max.bytes", "262144",
    "topic.metadata.refresh.interval.ms", "25",
    "message.max.bytes", "262144",
    "session.timeout.ms", "6000",
    "heartbeat.interval.ms", "1000",
    "client.id", "order-consumer",
    NULL};
/* clang-format on */

/* The consumer handle, with the group and the rebalance callback. */
static bool create_consumer(order_source *src, const consumer_settings *settings, char *err, size_t errlen) {
    rd_kafka_conf_t *conf = ol_kafka_conf_new(&settings->common, consumer_defaults, err, errlen);
    if (!conf) return false;
    char kerr[512];
    if (rd_kafka_conf_set(conf, "group.id", settings->group, kerr, sizeof kerr) != RD_KAFKA_CONF_OK) {
        ol_seterr(err, errlen, "--group: %s", kerr);
        rd_kafka_conf_destroy(conf);
        return false;
    }
    rd_kafka_conf_set_opaque(conf, src);
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    src->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, kerr, sizeof kerr);
    if (!src->rk) {
        rd_kafka_conf_destroy(conf);
        ol_seterr(err, errlen, "creating consumer: %s", kerr);
        return false;
    }
    rd_kafka_poll_set_consumer(src->rk);
    return true;
}

/* librdkafka writes a byte to the pipe when one of these queues goes from
 * empty to non-empty: one poll() waits on all of them. */
static bool open_queues(order_source *src, char *err, size_t errlen) {
    if (!ol_wake_open(src->wake, "the wake-up pipe", err, errlen)) return false;
    src->consumer_queue = rd_kafka_queue_get_consumer(src->rk);
    if (!src->consumer_queue) {
        ol_seterr(err, errlen, "no consumer queue");
        return false;
    }
    rd_kafka_queue_io_event_enable(src->consumer_queue, src->wake[1], "c", 1);
    for (size_t i = 0; i < src->n_lanes; i++) {
        if (!(src->lane_queues[i] = rd_kafka_queue_new(src->rk))) {
            ol_seterr(err, errlen, "out of memory");
            return false;
        }
        rd_kafka_queue_io_event_enable(src->lane_queues[i], src->wake[1], "l", 1);
    }
    return true;
}

static bool subscribe(order_source *src, char *err, size_t errlen) {
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    if (!topics) {
        ol_seterr(err, errlen, "out of memory");
        return false;
    }
    rd_kafka_topic_partition_list_add(topics, src->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(src->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e) ol_seterr(err, errlen, "subscribing to '%s': %s", src->topic, rd_kafka_err2str(e));
    return !e;
}

order_source *order_source_new(const consumer_settings *settings, size_t n_lanes, const order_source_listener *listener,
                               char *err, size_t errlen) {
    if (n_lanes < 1 || n_lanes > ORDER_SOURCE_MAX_LANES) {
        ol_seterr(err, errlen, "lanes: %zu is out of range 1..%d", n_lanes, ORDER_SOURCE_MAX_LANES);
        return NULL;
    }
    order_source *src = calloc(1, sizeof *src);
    if (!src) {
        ol_seterr(err, errlen, "out of memory");
        return NULL;
    }
    src->wake[0] = src->wake[1] = -1;
    src->n_lanes = n_lanes;
    src->listener = *listener;
    if (!(src->topic = strdup(settings->common.orders_topic))) ol_seterr(err, errlen, "out of memory");
    else if (create_consumer(src, settings, err, errlen) && open_queues(src, err, errlen) &&
             subscribe(src, err, errlen))
        return src;
    order_source_destroy(src);
    return NULL;
}

/* Queue references must go before the close (librdkafka's rule);
 * partitions still forwarding to a lane queue hold their own. */
static void release_queues(order_source *src) {
    for (size_t i = 0; i < src->n_lanes; i++) {
        if (!src->lane_queues[i]) continue;
        rd_kafka_queue_io_event_enable(src->lane_queues[i], -1, NULL, 0);
        rd_kafka_queue_destroy(src->lane_queues[i]);
        src->lane_queues[i] = NULL;
    }
    if (src->consumer_queue) {
        rd_kafka_queue_io_event_enable(src->consumer_queue, -1, NULL, 0);
        rd_kafka_queue_destroy(src->consumer_queue);
        src->consumer_queue = NULL;
    }
}

bool order_source_close(order_source *src, char *err, size_t errlen) {
    if (!src->rk || src->closed) return true;
    release_queues(src);
    src->closed = true;
    rd_kafka_resp_err_t e = rd_kafka_consumer_close(src->rk); /* serves the final revoke */
    if (e) ol_seterr(err, errlen, "leaving the consumer group: %s", rd_kafka_err2str(e));
    return e == RD_KAFKA_RESP_ERR_NO_ERROR;
}

void order_source_destroy(order_source *src) {
    if (!src) return;
    if (src->rk) {
        release_queues(src);
        /* Only frees: leaving the group is order_source_close's, and must
         * not run callbacks into a listener that may be half torn down. */
        rd_kafka_destroy_flags(src->rk, src->closed ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    }
    ol_wake_close(src->wake);
    free(src->topic);
    free(src);
}

/* Passes a message through, or reports and frees an error event. */
static rd_kafka_message_t *screen(order_source *src, rd_kafka_message_t *msg, bool *fatal, char *err, size_t errlen) {
    if (!msg || !msg->err) return msg;
    if (msg->err == RD_KAFKA_RESP_ERR__FATAL) {
        char detail[512];
        rd_kafka_fatal_error(src->rk, detail, sizeof detail);
        ol_seterr(err, errlen, "consumer fatal error: %s", detail);
        *fatal = true;
    } else if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        src->errors++;
        ol_warn("consumer: %s%s%s", msg->rkt ? rd_kafka_topic_name(msg->rkt) : "", msg->rkt ? ": " : "",
                rd_kafka_message_errstr(msg));
    }
    rd_kafka_message_destroy(msg);
    return NULL;
}

rd_kafka_message_t *order_source_poll(order_source *src, bool *fatal, char *err, size_t errlen) {
    *fatal = false;
    return screen(src, rd_kafka_consumer_poll(src->rk, 0), fatal, err, errlen);
}

size_t order_source_take(order_source *src, size_t lane, rd_kafka_message_t **msgs, size_t max, bool *fatal, char *err,
                         size_t errlen) {
    *fatal = false;
    if (lane >= src->n_lanes || max == 0) return 0;
    ssize_t n = rd_kafka_consume_batch_queue(src->lane_queues[lane], 0, msgs, max);
    if (n <= 0) return 0;
    size_t kept = 0;
    for (ssize_t i = 0; i < n; i++) {
        rd_kafka_message_t *msg = screen(src, msgs[i], fatal, err, errlen);
        if (msg) msgs[kept++] = msg;
    }
    return kept;
}

void order_source_wait(order_source *src, int timeout_ms) { ol_wake_wait(src->wake, timeout_ms); }

static void pause_or_resume(order_source *src, int32_t partition, bool pause) {
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    if (!list) return;
    rd_kafka_topic_partition_list_add(list, src->topic, partition);
    rd_kafka_resp_err_t e =
        pause ? rd_kafka_pause_partitions(src->rk, list) : rd_kafka_resume_partitions(src->rk, list);
    if (e)
        ol_log_kv(OL_LOG_WARN, OL_LOG_FIELDS(OL_LOG_INT("partition", partition)), "%s partition %d: %s",
                  pause ? "pausing" : "resuming", partition, rd_kafka_err2str(e));
    rd_kafka_topic_partition_list_destroy(list);
}

void order_source_pause(order_source *src, int32_t partition) { pause_or_resume(src, partition, true); }
void order_source_resume(order_source *src, int32_t partition) { pause_or_resume(src, partition, false); }

bool order_source_owns(order_source *src, int32_t partition) {
    if (rd_kafka_assignment_lost(src->rk)) return false;
    rd_kafka_topic_partition_list_t *list = NULL;
    if (rd_kafka_assignment(src->rk, &list) != RD_KAFKA_RESP_ERR_NO_ERROR || !list) return false;
    bool owned = rd_kafka_topic_partition_list_find(list, src->topic, partition) != NULL;
    rd_kafka_topic_partition_list_destroy(list);
    return owned;
}

int64_t order_source_high_watermark(order_source *src, int32_t partition) {
    int64_t low = -1, high = -1;
    if (rd_kafka_get_watermark_offsets(src->rk, src->topic, partition, &low, &high)) return -1;
    return high;
}

uint64_t order_source_error_count(const order_source *src) { return src->errors; }

bool order_source_in_group(order_source *src) {
    char *id = rd_kafka_memberid(src->rk);
    bool member = id && *id;
    if (id) rd_kafka_mem_free(src->rk, id);
    return member;
}

void order_source_oldest_offsets(order_source *src, const int32_t *partitions, size_t n, int64_t *out, int timeout_ms) {
    for (size_t i = 0; i < n; i++) out[i] = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)n);
    if (!list) return;
    for (size_t i = 0; i < n; i++) rd_kafka_topic_partition_list_add(list, src->topic, partitions[i])->offset = 0;
    rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(src->rk, list, timeout_ms);
    if (e)
        ol_warn("cannot read the new partitions' oldest offsets (%s); starting from the beginning",
                rd_kafka_err2str(e));
    for (size_t i = 0; !e && i < n; i++) {
        const rd_kafka_topic_partition_t *elem = &list->elems[i];
        if (!elem->err && elem->offset >= 0) out[i] = elem->offset;
    }
    rd_kafka_topic_partition_list_destroy(list);
}

bool order_source_seek(order_source *src, const int32_t *partitions, const int64_t *offsets, size_t n, char *err,
                       size_t errlen) {
    if (n == 0) return true;
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)n);
    if (!list) {
        ol_seterr(err, errlen, "out of memory");
        return false;
    }
    for (size_t i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(list, src->topic, partitions[i])->offset = offsets[i];
    rd_kafka_error_t *error = rd_kafka_seek_partitions(src->rk, list, 5000);
    bool ok = !error;
    if (error) {
        ol_seterr(err, errlen, "seeking %zu partitions: %s", n, rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
    for (int i = 0; ok && i < list->cnt; i++)
        if (list->elems[i].err) {
            ol_seterr(err, errlen, "seek partition %d to %lld: %s", list->elems[i].partition,
                      (long long)list->elems[i].offset, rd_kafka_err2str(list->elems[i].err));
            ok = false;
        }
    rd_kafka_topic_partition_list_destroy(list);
    return ok;
}

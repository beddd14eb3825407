#include "source.h"

#include <stdlib.h>
#include <string.h>

#include "ol_kafka.h"
#include "ol_log.h"
#include "ol_str.h"

struct order_source {
    rd_kafka_t *rk;
    char *topic;
    order_source_listener listener;
    uint64_t errors;
};

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *partitions,
                         void *opaque) {
    order_source *src = opaque;
    bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t ret = RD_KAFKA_RESP_ERR_NO_ERROR;

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        src->listener.on_assign(src->listener.ctx, partitions);
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

order_source *order_source_new(const ol_settings *settings, const order_source_listener *listener, char *err,
                               size_t errlen) {
    /* Offsets are never committed to or read from Kafka: PostgreSQL holds
     * the positions, in the same transaction as the decisions. */
    static const char *const defaults[] = {"enable.auto.commit", "false",
                                           "enable.auto.offset.store", "false",
                                           "auto.offset.reset", "earliest",
                                           "partition.assignment.strategy", "cooperative-sticky",
                                           /* Prefetch: librdkafka's defaults keep 100,000
                                            * messages per partition and 50 MB fetches in
                                            * memory (~190 MB RSS measured over 8
                                            * partitions). Small fetches with a deeper
                                            * queue measured ~118 MB at ~10% more speed
                                            * than a shallow queue. */
                                           "queued.min.messages", "20000",
                                           "queued.max.messages.kbytes", "16384",
                                           "fetch.max.bytes", "4194304",
                                           "client.id", "order-consumer",
                                           NULL};
    order_source *src = calloc(1, sizeof *src);
    rd_kafka_topic_partition_list_t *topics = NULL;
    if (!src || !(src->topic = strdup(settings->orders_topic))) {
        ol_seterr(err, errlen, "out of memory");
        goto fail;
    }
    src->listener = *listener;
    rd_kafka_conf_t *conf = ol_kafka_conf_new(settings, defaults, err, errlen);
    if (!conf) goto fail;
    char kerr[512];
    if (rd_kafka_conf_set(conf, "group.id", settings->group, kerr, sizeof kerr) != RD_KAFKA_CONF_OK) {
        ol_seterr(err, errlen, "--group: %s", kerr);
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    rd_kafka_conf_set_opaque(conf, src);
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    src->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, kerr, sizeof kerr);
    if (!src->rk) {
        rd_kafka_conf_destroy(conf);
        ol_seterr(err, errlen, "creating consumer: %s", kerr);
        goto fail;
    }
    rd_kafka_poll_set_consumer(src->rk);
    topics = rd_kafka_topic_partition_list_new(1);
    if (!topics) {
        ol_seterr(err, errlen, "out of memory");
        goto fail;
    }
    rd_kafka_topic_partition_list_add(topics, settings->orders_topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(src->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e) {
        ol_seterr(err, errlen, "subscribing to '%s': %s", settings->orders_topic, rd_kafka_err2str(e));
        goto fail;
    }
    return src;
fail:
    order_source_destroy(src);
    return NULL;
}

void order_source_destroy(order_source *src) {
    if (!src) return;
    if (src->rk) {
        rd_kafka_consumer_close(src->rk); /* serves the final revoke */
        rd_kafka_destroy(src->rk);
    }
    free(src->topic);
    free(src);
}

rd_kafka_t *order_source_handle(order_source *src) { return src->rk; }

rd_kafka_message_t *order_source_poll(order_source *src, int timeout_ms, bool *fatal, char *err, size_t errlen) {
    *fatal = false;
    rd_kafka_message_t *msg = rd_kafka_consumer_poll(src->rk, timeout_ms);
    if (!msg || !msg->err) return msg;
    if (msg->err == RD_KAFKA_RESP_ERR__FATAL) {
        char detail[512];
        rd_kafka_fatal_error(src->rk, detail, sizeof detail);
        ol_seterr(err, errlen, "consumer fatal error: %s", detail);
        *fatal = true;
    } else if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        src->errors++;
        ol_warn("consumer: %s%s%s", msg->rkt ? rd_kafka_topic_name(msg->rkt) : "",
                msg->rkt ? ": " : "", rd_kafka_message_errstr(msg));
    }
    rd_kafka_message_destroy(msg);
    return NULL;
}

static void pause_or_resume(order_source *src, int32_t partition, bool pause) {
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    if (!list) return;
    rd_kafka_topic_partition_list_add(list, src->topic, partition);
    rd_kafka_resp_err_t e = pause ? rd_kafka_pause_partitions(src->rk, list) : rd_kafka_resume_partitions(src->rk, list);
    if (e) ol_warn("%s partition %d: %s", pause ? "pausing" : "resuming", partition, rd_kafka_err2str(e));
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

int64_t order_source_low_watermark(order_source *src, int32_t partition) {
    int64_t low = 0, high = 0;
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(src->rk, src->topic, partition, &low, &high, 5000);
    if (e) {
        ol_warn("partition %d: cannot read its oldest offset (%s); starting from the beginning", partition,
                rd_kafka_err2str(e));
        return RD_KAFKA_OFFSET_BEGINNING;
    }
    return low;
}

bool order_source_seek(order_source *src, int32_t partition, int64_t offset, char *err, size_t errlen) {
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    if (!list) {
        ol_seterr(err, errlen, "out of memory");
        return false;
    }
    rd_kafka_topic_partition_list_add(list, src->topic, partition)->offset = offset;
    rd_kafka_error_t *error = rd_kafka_seek_partitions(src->rk, list, 5000);
    bool ok = !error;
    if (error) {
        ol_seterr(err, errlen, "seek partition %d to %lld: %s", partition, (long long)offset,
                  rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else if (list->elems[0].err) {
        ol_seterr(err, errlen, "seek partition %d to %lld: %s", partition, (long long)offset,
                  rd_kafka_err2str(list->elems[0].err));
        ok = false;
    }
    rd_kafka_topic_partition_list_destroy(list);
    return ok;
}

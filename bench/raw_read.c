/* bench-raw-read: Baseline A of the benchmark. A plain librdkafka consumer
 * that reads a topic from the beginning to the high-water marks seen at
 * start, parses each value as JSON (jansson) and does nothing else: the
 * raw read limit orderline's consumer is compared with.
 *
 * Usage: bench-raw-read BROKERS TOPIC   -> prints {"messages":N,"seconds":S,"per_second":R} */
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s BROKERS TOPIC\n", argv[0]);
        return 2;
    }
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], err, sizeof err) ||
        rd_kafka_conf_set(conf, "group.id", "bench-raw-read", err, sizeof err) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof err) ||
        /* librdkafka 2.0.2 stops fetching for up to 1 s whenever the
         * prefetch queue is over these (README, Benchmark): a limit must
         * not wait on that, and memory does not matter here. */
        rd_kafka_conf_set(conf, "queued.min.messages", "10000000", err, sizeof err) ||
        rd_kafka_conf_set(conf, "queued.max.messages.kbytes", "2097151", err, sizeof err)) {
        fprintf(stderr, "config: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "consumer: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_poll_set_consumer(rk);
    int rc = 1;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, argv[2], NULL);
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "metadata for %s failed\n", argv[2]);
        goto done;
    }
    int n = md->topics[0].partition_cnt;
    parts = rd_kafka_topic_partition_list_new(n);
    long long expected = 0;
    for (int i = 0; i < n; i++) {
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(rk, argv[2], i, &lo, &hi, 10000)) goto done;
        expected += hi - lo;
        rd_kafka_topic_partition_list_add(parts, argv[2], i)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    if (rd_kafka_assign(rk, parts)) goto done;
    long long count = 0, parse_failures = 0;
    int eofs = 0;
    double start = 0;
    while (eofs < n) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
        if (!m) continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eofs++;
        } else if (!m->err) {
            if (count == 0) start = now_s(); /* from the first message: no join time */
            json_error_t jerr;
            json_t *doc = json_loadb(m->payload, m->len, JSON_REJECT_DUPLICATES, &jerr);
            if (doc) json_decref(doc);
            else parse_failures++;
            count++;
        }
        rd_kafka_message_destroy(m);
    }
    double secs = now_s() - start;
    printf("{\"messages\":%lld,\"expected\":%lld,\"parse_failures\":%lld,\"seconds\":%.3f,\"per_second\":%.0f}\n",
           count, expected, parse_failures, secs, secs > 0 ? (double)count / secs : 0.0);
    rc = count == expected ? 0 : 1;
done:
    if (parts) rd_kafka_topic_partition_list_destroy(parts);
    if (md) rd_kafka_metadata_destroy(md);
    if (rkt) rd_kafka_topic_destroy(rkt);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

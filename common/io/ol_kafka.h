/* ol_kafka: Kafka helpers shared by the tools: configuration layering and
 * explicit topic creation through the admin API (orderline never relies on
 * broker auto-creation). */
#ifndef OL_KAFKA_H
#define OL_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>

#include "ol_options.h"

/* What every producer in the project sets (order-producer, order-gateway,
 * the consumer's answers and DLQ): the idempotent producer with acks=all;
 * the Java client's partitioner, so an item lands in the partition other
 * languages' producers pick (the consumer's misrouting check assumes it);
 * and one request in flight per broker. With more, a request that fails
 * while a later one succeeds on a partition whose log was just created is
 * reported delivered without an offset though it is not in the log, and a
 * re-send lands out of order (tests/faults/implicit_ack.sh; README,
 * "Guarantees"). The delivery rule (ol_delivery_judge) still applies. */
#define OL_KAFKA_PRODUCER_DEFAULTS                                                                                     \
    "enable.idempotence", "true", "acks", "all", "partitioner", "murmur2_random",                                      \
        "max.in.flight.requests.per.connection", "1"

/* Builds a librdkafka configuration: the tool's defaults (a NULL-terminated
 * list of key, value pairs), then bootstrap.servers from the settings, then
 * the user's properties (config file and -X, in order) so the user wins.
 * Errors name the property and where it came from. Returns NULL on error;
 * the caller owns the result (until rd_kafka_new takes it). */
rd_kafka_conf_t *ol_kafka_conf_new(const ol_settings *settings, const char *const *defaults, char *err, size_t errlen);

/* Whether an error from librdkafka's error callback is the brokers
 * refusing this client, which no retry mends: SASL authentication failed,
 * the TLS handshake failed (an untrusted CA, a wrong host name), or a
 * plaintext client on a TLS listener (librdkafka's hint about
 * security.protocol). A broker that is down or restarting is not one. */
bool ol_kafka_is_refusal(int code, const char *reason);

/* Before a tool builds its own clients: connects to the brokers with the
 * settings' properties (client.id client_id) and waits until one answers
 * metadata. Fails at once, naming librdkafka's reason, when the brokers
 * refuse the client (ol_kafka_is_refusal), and after timeout_ms when none
 * answers, naming the last error seen. A refusal is a configuration
 * error: without this check every client would retry it for ever. */
/* Whether a delivery failed because the brokers' ACLs refuse this
 * principal the topic (or an idempotent producer at all): a configuration
 * error that every later message would meet too. */
bool ol_kafka_delivery_refused(rd_kafka_resp_err_t e);

#define OL_KAFKA_ACCESS_TIMEOUT_MS 15000 /* as long as a tool waited for its topics before */
bool ol_kafka_check_access(const ol_settings *settings, const char *client_id, int timeout_ms, char *err,
                           size_t errlen);

typedef void (*ol_kafka_delivery_fn)(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque);
typedef void (*ol_kafka_error_fn)(rd_kafka_t *rk, int err, const char *reason, void *opaque);

/* A consumer group member that commits by hand, only what its caller has
 * shown to be done, and starts a new group at the log's beginning. 6 s
 * session: a member killed with -9 holds its partitions that long
 * (librdkafka's default is 45 s); heartbeats come from librdkafka's own
 * thread, so a long step of the caller's loop cannot miss them. */
#define OL_KAFKA_GROUP_DEFAULTS                                                                                        \
    "enable.auto.commit", "false", "enable.auto.offset.store", "false", "auto.offset.reset", "earliest",               \
        "session.timeout.ms", "6000", "heartbeat.interval.ms", "1000"

/* Creates a consumer from the settings and the tool's defaults (as
 * ol_kafka_conf_new, which must name group.id), with opaque for its
 * callbacks and on_rebalance as its rebalance callback (NULL: librdkafka
 * assigns), its main queue forwarded to the consumer queue, subscribed to
 * topic. NULL on error, with err naming the topic. */
rd_kafka_t *ol_kafka_subscriber_new(const ol_settings *settings, const char *const *defaults, const char *topic,
                                    void *opaque,
                                    void (*on_rebalance)(rd_kafka_t *, rd_kafka_resp_err_t,
                                                         rd_kafka_topic_partition_list_t *, void *),
                                    char *err, size_t errlen);

/* Creates a producer from the settings and the tool's defaults (as
 * ol_kafka_conf_new), with opaque for its callbacks, on_delivery as the
 * delivery report callback and on_error as the error callback (either may
 * be NULL: librdkafka's own). name is what the error calls it: "creating
 * NAME: <librdkafka's reason>". NULL on error. */
rd_kafka_t *ol_kafka_producer_new(const ol_settings *settings, const char *const *defaults, const char *name,
                                  void *opaque, ol_kafka_delivery_fn on_delivery, ol_kafka_error_fn on_error, char *err,
                                  size_t errlen);

/* Creates each named topic that does not exist yet, with partitions
 * partitions and the broker's default replication factor. Existing topics
 * are left as they are. */
bool ol_kafka_ensure_topics(rd_kafka_t *rk, const char *const *topics, size_t count, int partitions, int timeout_ms,
                            char *err, size_t errlen);

/* rd_kafka_topic_new with librdkafka's error put into err, naming the
 * topic. The caller owns the handle (rd_kafka_topic_destroy). */
rd_kafka_topic_t *ol_kafka_topic_new(rd_kafka_t *rk, const char *topic, char *err, size_t errlen);

/* Partition count of a topic from broker metadata; -1 on error. */
int ol_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, char *err, size_t errlen);

/* One message for ol_kafka_produce. */
typedef struct ol_kafka_msg {
    rd_kafka_topic_t *rkt; /* the topic's handle; NULL: named by topic */
    const char *topic;
    const void *key;
    size_t key_len;
    void *value;
    size_t len;
    int flags;                   /* RD_KAFKA_MSG_F_COPY, _FREE, or 0: value stays the caller's until the report */
    rd_kafka_headers_t *headers; /* NULL: none; librdkafka's once taken */
    void *opaque;                /* the delivery report's _private */
} ol_kafka_msg;

/* Hands m to librdkafka (any partition: the partitioner's choice). While
 * its queue is full, serves delivery reports for full_poll_ms (each report
 * frees a place) and tries again, until m is taken or fails otherwise.
 * full_poll_ms 0 returns RD_KAFKA_RESP_ERR__QUEUE_FULL at once: inside a
 * delivery report, which must not poll, or where a full queue is itself
 * the answer. On an error, value and headers stay the caller's. */
rd_kafka_resp_err_t ol_kafka_produce(rd_kafka_t *rk, const ol_kafka_msg *m, int full_poll_ms);

/* librdkafka log callback that writes through ol_log. */
void ol_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

#endif

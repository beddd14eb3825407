/* consumer/murmur2: Kafka's Java partitioner hash, so the consumer can tell which
 * partition an item belongs to (librdkafka's murmur2_random uses the same). */
#ifndef CONSUMER_MURMUR2_H
#define CONSUMER_MURMUR2_H

#include <stddef.h>
#include <stdint.h>

/* org.apache.kafka.common.utils.Utils.murmur2, bit for bit. */
int32_t ol_murmur2(const void *data, size_t len);
/* The partition the Java default partitioner picks for a non-empty key. */
int32_t ol_murmur2_partition(const void *key, size_t len, int32_t partition_count);

#endif

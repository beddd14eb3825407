/* Unit tests for ol_murmur2: must match Kafka's Java Utils.murmur2 bit for
 * bit, or the consumer would disagree with the Java partitioner about which
 * partition an item lives on. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "murmur2.h"

typedef struct mm_case {
    const char *input;
    size_t len;
    int32_t hash;
} mm_case;

#define MM(lit, hash)                                                                                                  \
    { lit, sizeof(lit) - 1, hash }

/* Vectors from Kafka's UtilsTest.testMurmur2. */
Test(murmur2, kafka_utils_test_vectors) {
    static const mm_case cases[] = {
        MM("21", -973932308),
        MM("foobar", -790332482),
        MM("a-little-bit-long-string", -985981536),
        MM("a-little-bit-longer-string", -1486304829),
        MM("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
        MM("abc", 479470107),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(ol_murmur2(cases[i].input, cases[i].len), cases[i].hash, "murmur2(\"%s\") = %d, want %d",
                     cases[i].input, ol_murmur2(cases[i].input, cases[i].len), cases[i].hash);
}

/* Every tail length (0..3 bytes after the 4-byte blocks) and bytes >= 0x80,
 * where Java's signed bytes are masked with 0xff. Expected values were
 * computed with a Python transcription of Utils.murmur2. */
Test(murmur2, tails_and_high_bytes) {
    static const mm_case cases[] = {
        MM("", 275646681),
        MM("a", -1563381124),
        MM("ab", 316155434),
        MM("abcd", -1323649548),
        MM("item-00000", 331997194),
        MM("item-00042", -233385691),
        MM("\xff\x80\x00\xc3\xa9", -1033781791),
        MM("caf\xc3\xa9", -1358007374),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(ol_murmur2(cases[i].input, cases[i].len), cases[i].hash, "case %zu: murmur2 = %d, want %d", i,
                     ol_murmur2(cases[i].input, cases[i].len), cases[i].hash);
}

Test(murmur2, uses_len_not_nul) {
    cr_assert_eq(ol_murmur2("abcXYZ", 3), 479470107);
    cr_assert_neq(ol_murmur2("a\0b", 3), ol_murmur2("a", 1));
}

/* Java: Utils.toPositive(murmur2(key)) % numPartitions. */
Test(murmur2, partition_matches_java_default_partitioner) {
    cr_assert_eq(ol_murmur2_partition("21", 2, 8), 4);
    cr_assert_eq(ol_murmur2_partition("foobar", 6, 8), 6);
    cr_assert_eq(ol_murmur2_partition("a-little-bit-long-string", 24, 8), 0);
    cr_assert_eq(ol_murmur2_partition("abc", 3, 8), 3);
    cr_assert_eq(ol_murmur2_partition("item-00000", 10, 8), 2);
    cr_assert_eq(ol_murmur2_partition("item-00042", 10, 8), 5);
    cr_assert_eq(ol_murmur2_partition("a-little-bit-longer-string", 26, 3), 2);
    cr_assert_eq(ol_murmur2_partition("21", 2, 3), 0);
}

Test(murmur2, partition_is_in_range) {
    char key[32];
    static const int counts[] = {1, 2, 3, 7, 8, 12, 64, 1000};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        int n = counts[c];
        for (int i = 0; i < 1000; i++) {
            int len = snprintf(key, sizeof key, "item-%05d", i);
            int32_t p = ol_murmur2_partition(key, (size_t)len, n);
            cr_assert(p >= 0 && p < n, "key %s -> partition %d of %d", key, p, n);
        }
    }
    cr_assert_eq(ol_murmur2_partition("foobar", 6, 1), 0);
}

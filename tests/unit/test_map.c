/* Unit tests for ol_map: the string-keyed hash map. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ol_map.h"

Test(map, new_map_is_empty) {
    ol_map *m = ol_map_new();
    cr_assert_not_null(m);
    cr_assert_eq(ol_map_size(m), 0);
    cr_assert_null(ol_map_get(m, "anything"));
    cr_assert_null(ol_map_get(m, ""));
    size_t pos = 0;
    const char *key;
    void *value;
    cr_assert_not(ol_map_next(m, &pos, &key, &value));
    ol_map_destroy(m);
    ol_map_destroy(NULL);
}

Test(map, put_get_replace) {
    ol_map *m = ol_map_new();
    int a = 1, b = 2, c = 3;
    cr_assert(ol_map_put(m, "apple", &a));
    cr_assert(ol_map_put(m, "banana", &b));
    cr_assert_eq(ol_map_size(m), 2);
    cr_assert_eq(ol_map_get(m, "apple"), &a);
    cr_assert_eq(ol_map_get(m, "banana"), &b);
    cr_assert_null(ol_map_get(m, "cherry"));
    cr_assert_null(ol_map_get(m, "appl"));
    cr_assert_null(ol_map_get(m, "apples"));
    cr_assert(ol_map_put(m, "apple", &c)); /* replace: size unchanged */
    cr_assert_eq(ol_map_size(m), 2);
    cr_assert_eq(ol_map_get(m, "apple"), &c);
    ol_map_destroy(m);
}

Test(map, empty_and_non_ascii_keys) {
    ol_map *m = ol_map_new();
    int a = 1, b = 2;
    cr_assert(ol_map_put(m, "", &a));
    cr_assert(ol_map_put(m, "caf\xc3\xa9", &b));
    cr_assert_eq(ol_map_get(m, ""), &a);
    cr_assert_eq(ol_map_get(m, "caf\xc3\xa9"), &b);
    cr_assert_null(ol_map_get(m, "cafe"));
    cr_assert_eq(ol_map_size(m), 2);
    ol_map_destroy(m);
}

Test(map, keys_are_copied) {
    ol_map *m = ol_map_new();
    int a = 1;
    char key[16];
    strcpy(key, "item-1");
    cr_assert(ol_map_put(m, key, &a));
    strcpy(key, "item-2"); /* the caller's buffer changes: the map must not */
    cr_assert_eq(ol_map_get(m, "item-1"), &a);
    cr_assert_null(ol_map_get(m, "item-2"));
    size_t pos = 0;
    const char *k;
    void *v;
    cr_assert(ol_map_next(m, &pos, &k, &v));
    cr_assert_str_eq(k, "item-1");
    cr_assert_neq((const void *)k, (const void *)key);
    ol_map_destroy(m);
}

Test(map, many_keys_survive_growth) {
    enum { N = 20000 };
    ol_map *m = ol_map_new();
    long *values = malloc(N * sizeof *values);
    char key[32];
    for (long i = 0; i < N; i++) {
        values[i] = i;
        snprintf(key, sizeof key, "k%ld", i);
        cr_assert(ol_map_put(m, key, &values[i]));
        cr_assert_eq(ol_map_size(m), (size_t)i + 1);
    }
    for (long i = 0; i < N; i++) {
        snprintf(key, sizeof key, "k%ld", i);
        long *v = ol_map_get(m, key);
        cr_assert_not_null(v, "key %s lost after growth", key);
        cr_assert_eq(*v, i);
    }
    snprintf(key, sizeof key, "k%d", N);
    cr_assert_null(ol_map_get(m, key));
    free(values);
    ol_map_destroy(m);
}

Test(map, iteration_visits_each_entry_once) {
    enum { N = 500 };
    ol_map *m = ol_map_new();
    int seen[N] = {0};
    int values[N];
    char key[32];
    for (int i = 0; i < N; i++) {
        values[i] = i;
        snprintf(key, sizeof key, "item-%05d", i);
        cr_assert(ol_map_put(m, key, &values[i]));
    }
    size_t pos = 0, count = 0;
    const char *k;
    void *v;
    while (ol_map_next(m, &pos, &k, &v)) {
        int i = *(int *)v;
        cr_assert(i >= 0 && i < N);
        snprintf(key, sizeof key, "item-%05d", i);
        cr_assert_str_eq(k, key, "key and value disagree");
        seen[i]++;
        count++;
    }
    cr_assert_eq(count, N);
    for (int i = 0; i < N; i++) cr_assert_eq(seen[i], 1, "entry %d seen %d times", i, seen[i]);
    /* Exhausted iteration stays exhausted. */
    cr_assert_not(ol_map_next(m, &pos, &k, &v));
    ol_map_destroy(m);
}

Test(map, clear_forgets_everything_and_map_is_reusable) {
    ol_map *m = ol_map_new();
    int a = 1, b = 2;
    char key[32];
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "x%d", i);
        cr_assert(ol_map_put(m, key, &a));
    }
    ol_map_clear(m);
    cr_assert_eq(ol_map_size(m), 0);
    cr_assert_null(ol_map_get(m, "x0"));
    cr_assert_null(ol_map_get(m, "x199"));
    size_t pos = 0;
    const char *k;
    void *v;
    cr_assert_not(ol_map_next(m, &pos, &k, &v));
    cr_assert(ol_map_put(m, "x5", &b));
    cr_assert_eq(ol_map_get(m, "x5"), &b);
    cr_assert_eq(ol_map_size(m), 1);
    ol_map_clear(NULL);
    ol_map_destroy(m);
}

Test(map, remove_keeps_every_other_key_reachable) {
    ol_map *m = ol_map_new();
    enum { N = 5000 };
    static int vals[N];
    char key[32];
    for (int i = 0; i < N; i++) {
        vals[i] = i;
        snprintf(key, sizeof key, "k%d", i);
        cr_assert(ol_map_put(m, key, &vals[i]));
    }
    cr_assert_null(ol_map_remove(m, "absent"));
    /* Remove every third key, then check all of them, many times over the
     * probe runs that removal has to repair. */
    for (int i = 0; i < N; i += 3) {
        snprintf(key, sizeof key, "k%d", i);
        cr_assert_eq(ol_map_remove(m, key), &vals[i]);
        cr_assert_null(ol_map_remove(m, key));
    }
    cr_assert_eq(ol_map_size(m), N - (N + 2) / 3);
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "k%d", i);
        if (i % 3 == 0) cr_assert_null(ol_map_get(m, key), "%s should be gone", key);
        else cr_assert_eq(ol_map_get(m, key), &vals[i], "%s lost after removals", key);
    }
    for (int i = 0; i < N; i += 3) { /* and they can come back */
        snprintf(key, sizeof key, "k%d", i);
        cr_assert(ol_map_put(m, key, &vals[i]));
    }
    cr_assert_eq(ol_map_size(m), N);
    ol_map_destroy(m);
}

Test(map, a_borrowing_map_keeps_the_callers_keys) {
    ol_map *m = ol_map_new_borrowing();
    cr_assert_not_null(m);
    /* Keys on the stack: a map that freed them would abort here. */
    char k1[] = "order-1", k2[] = "order-2", k1_again[] = "order-1";
    int a = 1, b = 2, c = 3;
    cr_assert(ol_map_put(m, k1, &a));
    cr_assert(ol_map_put(m, k2, &b));
    cr_assert_eq(ol_map_get(m, "order-1"), &a);
    cr_assert(ol_map_put(m, k1_again, &c)); /* replace: the new key pointer is kept */
    cr_assert_eq(ol_map_size(m), 2);
    size_t pos = 0;
    const char *key;
    void *value;
    while (ol_map_next(m, &pos, &key, &value)) {
        if (value == &c) cr_expect_eq(key, k1_again, "the key is the caller's, not a copy");
        else cr_expect_eq(key, k2);
    }
    cr_assert_eq(ol_map_remove(m, "order-2"), &b);
    for (int i = 0; i < 200; i++) { /* growing keeps the pointers too */
        static char keys[200][16];
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        cr_assert(ol_map_put(m, keys[i], &a));
    }
    cr_assert_eq(ol_map_size(m), 201);
    ol_map_clear(m);
    cr_assert_eq(ol_map_size(m), 0);
    cr_assert_null(ol_map_get(m, "order-1"));
    ol_map_destroy(m);
}

static void fill(ol_map *m, int n) {
    char key[32];
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "order-%d", i);
        cr_assert(ol_map_put(m, key, (void *)(intptr_t)(i + 1)));
    }
}

/* The layout follows the hash key: a fixed key gives the same order every
 * time (for tests), another key another order. */
static bool same_order(ol_map *a, ol_map *b) {
    size_t pa = 0, pb = 0;
    const char *ka, *kb;
    void *va, *vb;
    while (ol_map_next(a, &pa, &ka, &va)) {
        if (!ol_map_next(b, &pb, &kb, &vb) || strcmp(ka, kb) != 0) return false;
    }
    return !ol_map_next(b, &pb, &kb, &vb);
}

Test(map, keyed_layouts) {
    uint8_t k1[OL_MAP_KEY_SIZE] = {1}, k2[OL_MAP_KEY_SIZE] = {2};
    ol_map *a = ol_map_new_keyed(k1, false), *b = ol_map_new_keyed(k1, false), *c = ol_map_new_keyed(k2, false);
    cr_assert(a && b && c);
    fill(a, 200);
    fill(b, 200);
    fill(c, 200);
    cr_assert(same_order(a, b));
    cr_assert_not(same_order(a, c));
    for (int i = 0; i < 200; i++) {
        char key[32];
        snprintf(key, sizeof key, "order-%d", i);
        cr_assert_eq(ol_map_get(c, key), (void *)(intptr_t)(i + 1));
    }
    ol_map_destroy(a);
    ol_map_destroy(b);
    ol_map_destroy(c);
}

/* Two maps made without a key draw their own random ones. */
Test(map, random_keys_differ) {
    ol_map *a = ol_map_new(), *b = ol_map_new();
    cr_assert(a && b);
    fill(a, 200);
    fill(b, 200);
    cr_assert_not(same_order(a, b)); /* equal only if the 128-bit keys collided, or nearly */
    ol_map_destroy(a);
    ol_map_destroy(b);
}

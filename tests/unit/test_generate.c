/* Unit tests for ol_generate: deterministic synthetic orders. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "generate.h"
#include "ol_map.h"
#include "ol_order.h"

static ol_generator *gen_new(long items, uint64_t seed, long restock_pct, long duplicate_pct) {
    ol_generator_params p = {items, seed, restock_pct, duplicate_pct};
    ol_generator *g = ol_generator_new(&p);
    cr_assert_not_null(g);
    return g;
}

/* Generates n lines into one malloc'd array of strings. */
static char **generate(ol_generator *g, size_t n) {
    char **lines = calloc(n, sizeof *lines);
    cr_assert_not_null(lines);
    ol_buf line;
    ol_buf_init(&line);
    for (size_t i = 0; i < n; i++) {
        cr_assert(ol_generator_next(g, &line));
        lines[i] = strdup(line.data);
        cr_assert_not_null(lines[i]);
    }
    ol_buf_free(&line);
    return lines;
}

static void free_lines(char **lines, size_t n) {
    for (size_t i = 0; i < n; i++) free(lines[i]);
    free(lines);
}

static ol_order parse_line(const char *line) {
    ol_order o;
    char err[OL_ERROR_MAX];
    bool ok = ol_order_parse(line, strlen(line), NULL, 0, &o, err, sizeof err);
    cr_assert(ok, "generated line rejected: %s: %s", err, line);
    return o;
}

Test(generate, rejects_no_items) {
    ol_generator_params p = {0, 1, 10, 1};
    cr_assert_null(ol_generator_new(&p));
    p.items = -5;
    cr_assert_null(ol_generator_new(&p));
    ol_generator_destroy(NULL);
}

Test(generate, same_seed_same_lines) {
    enum { N = 3000 };
    ol_generator *a = gen_new(100, 42, 10, 5);
    ol_generator *b = gen_new(100, 42, 10, 5);
    char **la = generate(a, N), **lb = generate(b, N);
    for (size_t i = 0; i < N; i++) cr_assert_str_eq(la[i], lb[i], "line %zu differs for the same seed", i);
    free_lines(la, N);
    free_lines(lb, N);
    ol_generator_destroy(a);
    ol_generator_destroy(b);
}

Test(generate, different_seed_different_lines) {
    enum { N = 200 };
    ol_generator *a = gen_new(100, 1, 10, 1);
    ol_generator *b = gen_new(100, 2, 10, 1);
    char **la = generate(a, N), **lb = generate(b, N);
    size_t same = 0;
    for (size_t i = 0; i < N; i++) {
        ol_order oa = parse_line(la[i]), ob = parse_line(lb[i]);
        cr_assert_str_neq(oa.order_id, ob.order_id, "order_ids collide across seeds");
        if (strcmp(oa.item, ob.item) == 0 && oa.quantity == ob.quantity && oa.type == ob.type) same++;
    }
    cr_assert_lt(same, N / 2, "seeds 1 and 2 produce mostly the same orders (%zu of %d)", same, N);
    free_lines(la, N);
    free_lines(lb, N);
    ol_generator_destroy(a);
    ol_generator_destroy(b);
}

Test(generate, every_line_is_a_valid_order_within_bounds) {
    enum { N = 20000, ITEMS = 250 };
    ol_generator *g = gen_new(ITEMS, 7, 20, 3);
    ol_buf line;
    ol_buf_init(&line);
    for (size_t i = 0; i < N; i++) {
        cr_assert(ol_generator_next(g, &line));
        cr_assert_eq(strlen(line.data), line.len);
        cr_assert_null(strchr(line.data, '\n'), "line %zu contains a newline", i);
        ol_order o;
        char err[OL_ERROR_MAX];
        bool ok = ol_order_parse(line.data, line.len, NULL, 0, &o, err, sizeof err);
        cr_assert(ok, "line %zu rejected: %s: %s", i, err, line.data);
        /* Keyed by item, as the producer sends it. */
        char key[OL_ITEM_MAX + 1];
        strcpy(key, o.item);
        cr_assert(ol_order_parse(line.data, line.len, key, strlen(key), &o, err, sizeof err),
                  "line %zu rejected with its key: %s", i, err);
        int idx = -1;
        cr_assert_eq(sscanf(o.item, "item-%d", &idx), 1, "unexpected item name %s", o.item);
        cr_assert(idx >= 0 && idx < ITEMS, "item %s outside 0..%d", o.item, ITEMS - 1);
        if (o.type == OL_TYPE_RESTOCK)
            cr_assert(o.quantity >= 10 && o.quantity <= 40, "restock quantity %d", o.quantity);
        else cr_assert(o.quantity >= 1 && o.quantity <= 5, "order quantity %d", o.quantity);
    }
    ol_buf_free(&line);
    ol_generator_destroy(g);
}

Test(generate, duplicates_repeat_identical_lines) {
    enum { N = 10000 };
    ol_generator *g = gen_new(50, 99, 10, 10);
    char **lines = generate(g, N);
    ol_map *seen = ol_map_new();
    size_t duplicates = 0;
    for (size_t i = 0; i < N; i++) {
        ol_order o = parse_line(lines[i]);
        const char *first = ol_map_get(seen, o.order_id);
        if (first) {
            cr_assert_str_eq(first, lines[i], "order_id %s repeated with different content", o.order_id);
            duplicates++;
        } else {
            cr_assert(ol_map_put(seen, o.order_id, lines[i]));
        }
    }
    /* 10% of lines, give or take. */
    cr_assert(duplicates >= 700 && duplicates <= 1300, "%zu duplicates in %d lines at 10%%", duplicates, N);
    ol_map_destroy(seen);
    free_lines(lines, N);
    ol_generator_destroy(g);
}

Test(generate, no_duplicates_when_zero_percent) {
    enum { N = 5000 };
    ol_generator *g = gen_new(10, 5, 10, 0);
    char **lines = generate(g, N);
    ol_map *seen = ol_map_new();
    for (size_t i = 0; i < N; i++) {
        ol_order o = parse_line(lines[i]);
        cr_assert_null(ol_map_get(seen, o.order_id), "order_id %s repeated at 0%% duplicates", o.order_id);
        cr_assert(ol_map_put(seen, o.order_id, lines[i]));
    }
    ol_map_destroy(seen);
    free_lines(lines, N);
    ol_generator_destroy(g);
}

Test(generate, all_duplicates_after_the_first) {
    enum { N = 100 };
    ol_generator *g = gen_new(10, 5, 10, 100);
    char **lines = generate(g, N);
    for (size_t i = 1; i < N; i++) cr_assert_str_eq(lines[i], lines[0], "line %zu is not a repeat", i);
    free_lines(lines, N);
    ol_generator_destroy(g);
}

static double restock_share(long restock_pct) {
    enum { N = 20000 };
    ol_generator *g = gen_new(100, 11, restock_pct, 0);
    ol_buf line;
    ol_buf_init(&line);
    size_t restocks = 0;
    for (size_t i = 0; i < N; i++) {
        cr_assert(ol_generator_next(g, &line));
        if (parse_line(line.data).type == OL_TYPE_RESTOCK) restocks++;
    }
    ol_buf_free(&line);
    ol_generator_destroy(g);
    return (double)restocks / N;
}

Test(generate, restock_share_roughly_as_configured) {
    double s0 = restock_share(0), s10 = restock_share(10), s50 = restock_share(50), s100 = restock_share(100);
    cr_assert_eq(s0, 0.0, "restocks at 0%%: %.3f", s0);
    cr_assert(s10 > 0.08 && s10 < 0.12, "restock share %.3f at 10%%", s10);
    cr_assert(s50 > 0.47 && s50 < 0.53, "restock share %.3f at 50%%", s50);
    cr_assert_eq(s100, 1.0, "restock share %.3f at 100%%", s100);
}

Test(generate, popularity_is_skewed_to_item_zero) {
    enum { N = 20000, ITEMS = 100 };
    ol_generator *g = gen_new(ITEMS, 3, 0, 0);
    ol_buf line;
    ol_buf_init(&line);
    int counts[ITEMS] = {0};
    for (size_t i = 0; i < N; i++) {
        cr_assert(ol_generator_next(g, &line));
        int idx;
        cr_assert_eq(sscanf(parse_line(line.data).item, "item-%d", &idx), 1);
        counts[idx]++;
    }
    for (int i = 1; i < ITEMS; i++)
        cr_assert_gt(counts[0], counts[i], "item-00000 (%d) not hotter than item %d (%d)", counts[0], i, counts[i]);
    cr_assert_gt(counts[0], N / 10, "item-00000 only %d of %d", counts[0], N);
    ol_buf_free(&line);
    ol_generator_destroy(g);
}

Test(generate, single_item) {
    ol_generator *g = gen_new(1, 8, 50, 0);
    ol_buf line;
    ol_buf_init(&line);
    for (int i = 0; i < 500; i++) {
        cr_assert(ol_generator_next(g, &line));
        cr_assert_str_eq(parse_line(line.data).item, "item-00000");
    }
    ol_buf_free(&line);
    ol_generator_destroy(g);
}

#include "generate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RECENT 1024 /* how far back a duplicate may reach */

typedef struct recent_order {
    long item;
    int32_t quantity;
    bool restock;
    uint64_t serial;
} recent_order;

struct ol_generator {
    ol_generator_params params;
    uint64_t rng;
    uint64_t serial;
    double *cdf; /* cumulative popularity, params.items entries */
    recent_order recent[RECENT];
    size_t recent_len;
};

static uint64_t next_u64(uint64_t *state) { /* splitmix64 */
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double next_unit(uint64_t *state) { return (double)(next_u64(state) >> 11) / 9007199254740992.0; }

ol_generator *ol_generator_new(const ol_generator_params *params) {
    if (params->items < 1) return NULL;
    ol_generator *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->params = *params;
    g->rng = params->seed;
    g->cdf = malloc((size_t)params->items * sizeof *g->cdf);
    if (!g->cdf) {
        free(g);
        return NULL;
    }
    double total = 0;
    for (long i = 0; i < params->items; i++) {
        total += 1.0 / pow((double)(i + 1), 1.1); /* zipf, s = 1.1 */
        g->cdf[i] = total;
    }
    for (long i = 0; i < params->items; i++) g->cdf[i] /= total;
    return g;
}

void ol_generator_destroy(ol_generator *g) {
    if (!g) return;
    free(g->cdf);
    free(g);
}

static long pick_item(ol_generator *g) {
    double u = next_unit(&g->rng);
    long lo = 0, hi = g->params.items - 1;
    while (lo < hi) {
        long mid = (lo + hi) / 2;
        if (g->cdf[mid] < u) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static bool format_order(ol_buf *line, const recent_order *o, uint64_t seed) {
    ol_buf_clear(line);
    return ol_buf_appendf(line, "{\"order_id\":\"g%llu-%llu\",\"item\":\"item-%05ld\",\"quantity\":%d,\"type\":\"%s\"}",
                          (unsigned long long)seed, (unsigned long long)o->serial, o->item, o->quantity,
                          o->restock ? "restock" : "order");
}

bool ol_generator_next(ol_generator *g, ol_buf *line) {
    if (g->recent_len > 0 && (long)(next_u64(&g->rng) % 100) < g->params.duplicate_pct) {
        const recent_order *o = &g->recent[next_u64(&g->rng) % g->recent_len];
        return format_order(line, o, g->params.seed);
    }
    recent_order o;
    o.serial = ++g->serial;
    o.item = pick_item(g);
    o.restock = (long)(next_u64(&g->rng) % 100) < g->params.restock_pct;
    /* Restocks bring in batches of 10..40; orders take 1..5. */
    o.quantity = o.restock ? (int32_t)(10 + next_u64(&g->rng) % 31) : (int32_t)(1 + next_u64(&g->rng) % 5);
    if (g->recent_len < RECENT) g->recent[g->recent_len++] = o;
    else g->recent[next_u64(&g->rng) % RECENT] = o;
    return format_order(line, &o, g->params.seed);
}

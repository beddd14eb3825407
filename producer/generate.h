/* producer/generate: deterministic synthetic orders for tests and benchmarks.
 * Item popularity is zipf-like (item-00000 is the hottest); a share of
 * lines restock an item, a share repeat an earlier order_id verbatim (a
 * client retry). Same seed, same lines. Pure. */
#ifndef PRODUCER_GENERATE_H
#define PRODUCER_GENERATE_H

#include <stdbool.h>
#include <stdint.h>

#include "ol_str.h"

typedef struct ol_generator ol_generator;

typedef struct ol_generator_params {
    long items; /* distinct items, >= 1 */
    uint64_t seed;
    long restock_pct;   /* 0..100 */
    long duplicate_pct; /* 0..100 */
} ol_generator_params;

ol_generator *ol_generator_new(const ol_generator_params *params);
void ol_generator_destroy(ol_generator *gen);
/* Replaces *line with the next JSON line (no newline). False on OOM. */
bool ol_generator_next(ol_generator *gen, ol_buf *line);

#endif

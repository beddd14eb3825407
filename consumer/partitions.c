#include "partitions.h"

#include <stdlib.h>
#include <string.h>

#include "ol_str.h"

void partition_table_free(partition_table *t) {
    free(t->parts);
    t->parts = NULL;
    t->n = 0;
}

partition_state *partition_table_get(partition_table *t, int32_t p) {
    void *parts = t->parts;
    if (!ol_grow_zeroed(&parts, &t->n, p, sizeof *t->parts)) return NULL;
    t->parts = parts;
    return &t->parts[p];
}

bool partition_table_apply(partition_table *t, const store_position *pos) {
    partition_state *ps = partition_table_get(t, pos->partition);
    if (!ps) return false;
    ps->stored = pos->stored;
    ps->decided = pos->stored ? pos->next_offset : 0;
    ps->acked_saved = pos->stored ? pos->results_offset : 0;
    ps->next_expected = pos->stored ? pos->results_offset : 0;
    return true;
}

bool partition_table_accept(partition_table *t, int32_t p, int64_t offset, int64_t *stream_prev) {
    if (p < 0 || (size_t)p >= t->n) return false;
    partition_state *ps = &t->parts[p];
    if (!ps->assigned || offset < ps->next_expected) return false;
    *stream_prev = ps->next_expected;
    ps->next_expected = offset + 1;
    return true;
}

int64_t partition_start_offset(const store_position *pos, int64_t low_watermark) {
    return pos->stored ? pos->results_offset : low_watermark;
}

void partition_table_commit(partition_table *t, const store_advance *adv, size_t n_adv, const store_ack *acks,
                            size_t n_acks) {
    for (size_t i = 0; i < n_adv; i++) {
        partition_state *ps = partition_table_get(t, adv[i].partition);
        if (!ps) continue; /* planned from this table: always there */
        ps->stored = true;
        ps->decided = adv[i].new_next;
    }
    partition_table_saved(t, acks, n_acks);
}

static bool passes(const ack_filter *f, size_t p) {
    if (f->n_lanes && p % f->n_lanes != f->lane) return false;
    if (!f->only) return true;
    for (size_t i = 0; i < f->n_only; i++)
        if (f->only[i] == (int32_t)p) return true;
    return false;
}

size_t partition_table_collect_acks(const partition_table *t, const ack_filter *filter,
                                    int64_t (*acked)(void *ctx, int32_t partition), void *ctx, store_ack *out,
                                    size_t cap) {
    size_t n = 0;
    for (size_t p = 0; p < t->n && n < cap; p++) {
        const partition_state *ps = &t->parts[p];
        if (!ps->assigned || !ps->stored || !passes(filter, p)) continue;
        int64_t a = acked(ctx, (int32_t)p);
        if (a > ps->decided) a = ps->decided; /* never beyond what is decided */
        if (a > ps->acked_saved) out[n++] = (store_ack){(int32_t)p, a};
    }
    return n;
}

void partition_table_saved(partition_table *t, const store_ack *acks, size_t n) {
    for (size_t i = 0; i < n; i++) {
        partition_state *ps = partition_table_get(t, acks[i].partition);
        if (ps) ps->acked_saved = acks[i].results_offset;
    }
}

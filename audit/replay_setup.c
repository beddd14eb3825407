/* The replay's setup (ranges, stock, inventories) and its ledger queue:
 * the rows given in (partition, offset) order, met by the batches
 * (replay.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay_internal.h"

/* ---- setup ------------------------------------------------------------ */

bool audit_replay_set_range(audit_replay *a, int32_t partition, int64_t start, int64_t decided_end, int64_t results_end,
                            char *err, size_t errlen) {
    if (partition < 0 || start < 0 || decided_end < start || results_end > decided_end) {
        ol_seterr(err, errlen,
                  "partition %" PRId32 ": bad range [%" PRId64 ", %" PRId64 ") with answers up to %" PRId64, partition,
                  start, decided_end, results_end);
        return false;
    }
    if ((size_t)partition >= a->n_ranges) {
        size_t n = (size_t)partition + 1;
        part_range *grown = realloc(a->ranges, n * sizeof *grown);
        if (!grown) return replay_oom(err, errlen);
        memset(grown + a->n_ranges, 0, (n - a->n_ranges) * sizeof *grown);
        a->ranges = grown;
        a->n_ranges = n;
    }
    part_range *r = &a->ranges[partition];
    if (r->set) {
        ol_seterr(err, errlen, "partition %" PRId32 ": range given twice", partition);
        return false;
    }
    if (!answers_set_range(a->answers, partition, start, decided_end)) return replay_oom(err, errlen);
    *r = (part_range){true, start, decided_end, results_end, start};
    return true;
}

bool audit_replay_set_stock(audit_replay *a, const char *item, ol_stock stock, char *err, size_t errlen) {
    return ol_decider_set_stock(a->decider, item, stock) || replay_oom(err, errlen);
}

bool audit_replay_add_inventory(audit_replay *a, const char *item, int64_t count, char *err, size_t errlen) {
    inventory_entry *e = ol_map_get(a->inventories, item);
    if (e) {
        e->count = count;
        return true;
    }
    e = calloc(1, sizeof *e);
    if (!e) return replay_oom(err, errlen);
    e->count = count;
    if (!ol_map_put(a->inventories, item, e)) {
        free(e);
        return replay_oom(err, errlen);
    }
    return true;
}

/* ---- the ledger queue -------------------------------------------------- */

/* The consumer's own account: a target whose units came back twice was
 * given back twice, whatever the replay decides. Rows come in partition
 * order and a target lives in its item's partition, so the set holds one
 * partition at a time. */
static bool note_given_back(audit_replay *a, const ol_result *row) {
    if (row->partition != a->given_back_partition) {
        ol_map_clear(a->given_back);
        a->given_back_partition = row->partition;
    }
    bool back = (row->type == OL_TYPE_CANCEL || row->type == OL_TYPE_EXPIRE) && row->status == OL_STATUS_ACCEPTED &&
                row->target[0];
    if (!back) return true;
    if (ol_map_get(a->given_back, row->target)) {
        replay_emit(a, DIV_CANCEL_APPLIED_TWICE, row->order_id, row->item, row->partition, row->offset,
                    "given back once", "given back again",
                    "the units of '%s' came back again (an accepted %s after an earlier one)", row->target,
                    ol_order_type_name(row->type));
        return true;
    }
    return ol_map_put(a->given_back, row->target, (void *)1);
}

bool audit_replay_add_ledger_row(audit_replay *a, const ol_result *row, char *err, size_t errlen) {
    if (a->any_fed && replay_pos_cmp(row->partition, row->offset, a->last_fed_partition, a->last_fed_offset) <= 0) {
        ol_seterr(err, errlen,
                  "ledger rows out of order: partition %" PRId32 " offset %" PRId64 " after partition %" PRId32
                  " offset %" PRId64,
                  row->partition, row->offset, a->last_fed_partition, a->last_fed_offset);
        return false;
    }
    if (a->partition >= 0 &&
        replay_pos_cmp(row->partition, row->offset, a->partition, a->ranges[a->partition].next) < 0) {
        ol_seterr(err, errlen, "ledger row at partition %" PRId32 " offset %" PRId64 " given after its batch",
                  row->partition, row->offset);
        return false;
    }
    a->any_fed = true;
    a->last_fed_partition = row->partition;
    a->last_fed_offset = row->offset;
    part_range *r = replay_range_of(a, row->partition);
    if (r && row->offset < r->start) return true; /* before the replay: not ours to check */
    a->stats.ledger_rows++;
    if (!note_given_back(a, row)) return replay_oom(err, errlen);
    if (a->q_head + a->q_len == a->q_cap) {
        if (a->q_head > 0) {
            memmove(a->queue, a->queue + a->q_head, a->q_len * sizeof *a->queue);
            a->q_head = 0;
        } else {
            size_t cap = a->q_cap ? a->q_cap * 2 : 1024;
            ol_result *grown = realloc(a->queue, cap * sizeof *grown);
            if (!grown) return replay_oom(err, errlen);
            a->queue = grown;
            a->q_cap = cap;
        }
    }
    a->queue[a->q_head + a->q_len++] = *row;
    return true;
}

const ol_result *replay_queue_head(const audit_replay *a) { return a->q_len ? &a->queue[a->q_head] : NULL; }

void replay_queue_pop(audit_replay *a) {
    a->q_head++;
    if (--a->q_len == 0) a->q_head = 0;
}

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay_internal.h"

/* ---- construction ----------------------------------------------------- */

audit_replay *audit_replay_new(audit_report_fn report, void *ctx) {
    return audit_replay_new_window(report, ctx, AUDIT_REPLAY_WINDOW);
}

audit_replay *audit_replay_new_window(audit_report_fn report, void *ctx, size_t window) {
    audit_replay *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->report = report;
    a->ctx = ctx;
    a->partition = -1;
    a->decider = ol_decider_new_compact();
    a->originals = ol_map_new();
    a->needed = ol_map_new();
    a->priors = ol_map_new();
    a->inventories = ol_map_new();
    a->item_partition = ol_map_new();
    a->misplaced = ol_map_new();
    a->kept = ol_map_new();
    a->given_back = ol_map_new();
    a->answers = answers_new(window);
    if (!a->decider || !a->originals || !a->needed || !a->priors || !a->inventories || !a->item_partition ||
        !a->misplaced || !a->kept || !a->given_back || !a->answers) {
        audit_replay_destroy(a);
        return NULL;
    }
    return a;
}

static void free_map_values(ol_map *map) {
    if (!map) return;
    size_t pos = 0;
    const char *key;
    void *value;
    while (ol_map_next(map, &pos, &key, &value)) free(value);
    ol_map_clear(map);
}

void audit_replay_destroy(audit_replay *a) {
    if (!a) return;
    ol_decider_destroy(a->decider);
    answers_destroy(a->answers);
    free(a->pending);
    free(a->ranges);
    free(a->queue);
    free(a->batch);
    free(a->need);
    free(a->deferred);
    free_map_values(a->priors);
    free_map_values(a->inventories);
    free_map_values(a->kept);
    ol_map_destroy(a->kept);
    ol_map_destroy(a->given_back);
    ol_map_destroy(a->originals);
    ol_map_destroy(a->needed);
    ol_map_destroy(a->priors);
    ol_map_destroy(a->inventories);
    ol_map_destroy(a->item_partition);
    ol_map_destroy(a->misplaced);
    free(a);
}

const audit_stats *audit_replay_stats(const audit_replay *a) { return &a->stats; }

part_range *replay_range_of(const audit_replay *a, int32_t partition) {
    if (partition < 0 || (size_t)partition >= a->n_ranges || !a->ranges[partition].set) return NULL;
    return &a->ranges[partition];
}

bool replay_oom(char *err, size_t errlen) {
    ol_seterr(err, errlen, "out of memory");
    return false;
}

static void pop_rows_before(audit_replay *a, int32_t partition, int64_t offset) {
    const ol_result *head;
    while ((head = replay_queue_head(a)) && replay_pos_cmp(head->partition, head->offset, partition, offset) < 0) {
        replay_report_unmet_row(a, head);
        replay_queue_pop(a);
    }
}

/* ---- batches ----------------------------------------------------------- */

static void clear_batch_maps(audit_replay *a) {
    ol_map_clear(a->originals);
    ol_map_clear(a->needed);
    free_map_values(a->priors);
}

bool audit_replay_prepare(audit_replay *a, const audit_msg *msgs, size_t n, const char *const **ids, size_t *n_ids,
                          char *err, size_t errlen) {
    if (a->prepared || a->finished) {
        ol_seterr(err, errlen, a->finished ? "batch after finish" : "batch prepared twice");
        return false;
    }
    if (n > a->batch_cap) {
        batch_entry *batch = realloc(a->batch, n * sizeof *batch);
        if (!batch) return replay_oom(err, errlen);
        a->batch = batch;
        const char **need = realloc(a->need, n * sizeof *need);
        if (!need) return replay_oom(err, errlen);
        a->need = need;
        a->batch_cap = n;
    }
    clear_batch_maps(a);
    a->batch_len = a->n_need = 0;
    size_t scan = 0; /* index into the ledger queue, advancing with the batch */
    int32_t partition = a->partition;
    int64_t last = -1;
    for (size_t i = 0; i < n; i++) {
        const audit_msg *m = &msgs[i];
        const part_range *r = replay_range_of(a, m->partition);
        if (!r || m->offset < r->start || m->offset >= r->end) continue;
        if (m->partition < partition || (m->partition == a->partition && m->offset < r->next) ||
            (m->partition == partition && m->offset <= last)) {
            ol_seterr(err, errlen, "message at partition %" PRId32 " offset %" PRId64 " out of order", m->partition,
                      m->offset);
            return false;
        }
        partition = m->partition;
        last = m->offset;
        batch_entry *e = &a->batch[a->batch_len++];
        e->partition = m->partition;
        e->offset = m->offset;
        e->ts_ms = m->ts_ms;
        e->valid = ol_order_parse(m->value, m->value_len, m->key, m->key_len, &e->order, e->error, sizeof e->error);
        if (!e->valid) continue;
        const char *id = e->order.order_id;
        while (scan < a->q_len) {
            const ol_result *row = &a->queue[a->q_head + scan];
            if (replay_pos_cmp(row->partition, row->offset, e->partition, e->offset) >= 0) break;
            scan++;
        }
        const ol_result *row = scan < a->q_len ? &a->queue[a->q_head + scan] : NULL;
        if (row && row->partition == e->partition && row->offset == e->offset && strcmp(row->order_id, id) == 0) {
            if (!ol_map_put(a->originals, id, e)) return replay_oom(err, errlen);
            continue;
        }
        if (ol_map_get(a->originals, id) || ol_map_get(a->needed, id) || ol_map_get(a->kept, id)) continue;
        if (!ol_map_put(a->needed, id, e)) return replay_oom(err, errlen);
        a->need[a->n_need++] = id;
    }
    a->stats.lookups += a->n_need;
    a->prepared = true;
    *ids = a->need;
    *n_ids = a->n_need;
    return true;
}

bool audit_replay_add_prior(audit_replay *a, const ol_result *row, char *err, size_t errlen) {
    if (!a->prepared) {
        ol_seterr(err, errlen, "ledger lookup result outside a batch");
        return false;
    }
    if (ol_map_get(a->priors, row->order_id)) return true;
    ol_result *copy = malloc(sizeof *copy);
    if (!copy) return replay_oom(err, errlen);
    *copy = *row;
    if (!ol_map_put(a->priors, row->order_id, copy)) {
        free(copy);
        return replay_oom(err, errlen);
    }
    return true;
}

static bool same_decision(const ol_result *x, const ol_result *y) {
    return strcmp(x->item, y->item) == 0 && x->type == y->type && x->quantity == y->quantity &&
           x->status == y->status && x->reason == y->reason && x->has_remaining == y->has_remaining &&
           (!x->has_remaining || x->remaining == y->remaining);
}

/* Remembers which partition an item was met in, counting items met in
 * several (misrouted: their interleaving is not in the log). */
static bool note_item_partition(audit_replay *a, const char *item, int32_t partition) {
    void *seen = ol_map_get(a->item_partition, item);
    void *mine = (void *)(uintptr_t)((uint32_t)partition + 1);
    if (seen == mine || seen == SHARED_ITEM) return true;
    if (seen) {
        a->stats.shared_items++;
        mine = SHARED_ITEM;
    }
    return ol_map_put(a->item_partition, item, mine);
}

/* After a decision that differs from the ledger's, adopt what the consumer
 * did: its decision (answered again to later duplicates, and what the
 * results topic must agree with) and its stock for the item, so that later
 * decisions are compared on their own merits. *answer becomes the ledger's
 * decision. */
static bool follow_ledger(audit_replay *a, const ol_result *row, const ol_order *order, ol_result *answer) {
    ol_result adopted = *row;
    adopted.duplicate = false;
    adopted.partition = answer->partition;
    adopted.offset = answer->offset;
    adopted.processed_at_us = answer->processed_at_us;
    *answer = adopted;
    if (!ol_decider_add_decision(a->decider, &adopted)) return false;
    if (strcmp(row->item, order->item) != 0) return true;
    if (row->has_remaining) return ol_decider_set_stock(a->decider, order->item, (ol_stock){true, row->remaining});
    if (row->reason == OL_REASON_UNKNOWN_ITEM)
        return ol_decider_set_stock(a->decider, order->item, (ol_stock){false, 0});
    return true;
}

static bool defer(audit_replay *a, const batch_entry *e, const ol_result *original) {
    if (a->n_deferred == a->deferred_cap) {
        size_t cap = a->deferred_cap ? a->deferred_cap * 2 : 64;
        deferred_dup *grown = realloc(a->deferred, cap * sizeof *grown);
        if (!grown) return false;
        a->deferred = grown;
        a->deferred_cap = cap;
    }
    a->deferred[a->n_deferred++] = (deferred_dup){e->partition, e->offset, *original};
    return true;
}

/* Is a ledger row found by lookup a decision made before this message, as
 * the consumer would have loaded it? */
static bool decided_before(const audit_replay *a, const ol_result *row, int32_t partition, int64_t offset) {
    if (row->partition < 0) return true; /* another topic */
    const part_range *r = replay_range_of(a, row->partition);
    if (!r || row->offset < r->start || row->offset >= r->end) return true; /* outside the replay */
    return replay_pos_cmp(row->partition, row->offset, partition, offset) < 0;
}

/* A decision the replay made without a ledger row: later batches cannot
 * look it up there. */
static bool keep(audit_replay *a, const ol_result *decided) {
    ol_result *copy = malloc(sizeof *copy);
    if (!copy) return false;
    *copy = *decided;
    ol_result *old = ol_map_get(a->kept, decided->order_id);
    if (!ol_map_put(a->kept, decided->order_id, copy)) {
        free(copy);
        return false;
    }
    free(old);
    return true;
}

static bool decide_valid(audit_replay *a, const batch_entry *e, const ol_result *row, ol_result *answer,
                         bool *answered) {
    const char *id = e->order.order_id;
    ol_decided_kind kind;
    ol_result prior;
    char expected[320], found[320];
    bool known = ol_decider_lookup(a->decider, id, &prior);
    const ol_result *kept = known ? NULL : ol_map_get(a->kept, id);
    if (kept) {
        if (!ol_decider_add_decision(a->decider, kept)) return false;
        prior = *kept;
        known = true;
    }
    *answered = true;
    if (row && known) {
        if (!ol_map_get(a->misplaced, id)) {
            replay_emit(a, DIV_ORIGINAL_DIFFERS, id, e->order.item, e->partition, e->offset, "", "",
                        "the ledger records this message as the original, but the order_id was decided before at "
                        "partition %" PRId32 " offset %" PRId64 ", which makes this one a duplicate",
                        prior.partition, prior.offset);
            if (!ol_map_put(a->misplaced, id, a)) return false;
        }
    } else if (!row && !known) {
        const ol_result *look = ol_map_get(a->priors, id);
        if (look && decided_before(a, look, e->partition, e->offset)) {
            a->stats.ledger_rows++;
            if (!ol_decider_add_decision(a->decider, look)) return false;
        } else if (look && look->partition > e->partition) {
            /* The original is in a partition replayed later. */
            a->stats.duplicates++;
            a->stats.deferred++;
            *answered = false;
            return defer(a, e, look);
        } else if (look) {
            replay_emit(a, DIV_ORIGINAL_DIFFERS, id, e->order.item, e->partition, e->offset, "", "",
                        "the order_id first appears here, but the ledger records its decision at offset %" PRId64
                        " of this partition",
                        look->offset);
            if (!ol_map_put(a->misplaced, id, a)) return false;
        } else {
            char want[320];
            ol_result tmp;
            if (!ol_decider_decide_at(a->decider, &e->order, e->partition, e->offset, e->ts_ms, 0, &tmp, &kind))
                return false;
            a->stats.decisions++;
            divergence_describe_decision(want, sizeof want, &tmp);
            replay_emit(
                a, DIV_LEDGER_MISSING, id, e->order.item, e->partition, e->offset, want, "",
                "the message is below the stored position (decided), but the ledger has no row for its order_id");
            *answer = tmp;
            return keep(a, &tmp);
        }
    }
    if (!ol_decider_decide_at(a->decider, &e->order, e->partition, e->offset, e->ts_ms, 0, answer, &kind)) return false;
    if (kind != OL_DECIDED_NEW) {
        a->stats.duplicates++;
        return true;
    }
    a->stats.decisions++;
    if (!row) return keep(a, answer);
    if (same_decision(row, answer)) return true;
    divergence_describe_decision(expected, sizeof expected, answer);
    divergence_describe_decision(found, sizeof found, row);
    replay_emit(a, DIV_DECISION_DIFFERS, id, e->order.item, e->partition, e->offset, expected, found,
                "the ledger's decision differs from the rules'");
    return follow_ledger(a, row, &e->order, answer);
}

bool audit_replay_decide(audit_replay *a, char *err, size_t errlen) {
    if (!a->prepared) {
        ol_seterr(err, errlen, "batch decided before it was prepared");
        return false;
    }
    if (a->batch_len > 0 && !replay_settle_before(a, a->batch[0].partition)) {
        a->prepared = false;
        return replay_oom(err, errlen);
    }
    size_t i;
    for (i = 0; i < a->batch_len; i++) {
        const batch_entry *e = &a->batch[i];
        part_range *r = replay_range_of(a, e->partition);
        a->partition = e->partition;
        r->next = e->offset + 1;
        a->stats.messages++;
        pop_rows_before(a, e->partition, e->offset);
        const ol_result *head = replay_queue_head(a);
        ol_result row;
        bool has_row = head && head->partition == e->partition && head->offset == e->offset;
        if (has_row) {
            row = *head;
            replay_queue_pop(a);
        }
        char found[320];
        if (has_row && (!e->valid || strcmp(row.order_id, e->order.order_id) != 0)) {
            divergence_describe_decision(found, sizeof found, &row);
            if (e->valid)
                replay_emit(a, DIV_NOT_IN_LOG, row.order_id, row.item, e->partition, e->offset, "", found,
                            "the ledger records this order here, but the message at this position is order '%s'",
                            e->order.order_id);
            else
                replay_emit(
                    a, DIV_NOT_IN_LOG, row.order_id, row.item, e->partition, e->offset, "", found,
                    "the ledger records this order here, but the message at this position is not a valid order (%s)",
                    e->error);
            has_row = false;
        }
        ol_result answer;
        if (!e->valid) {
            a->stats.invalid++;
            if (!e->order.order_id[0]) continue; /* no answer to give */
            ol_decide_invalid(e->order.order_id, e->partition, e->offset, 0, e->error, &answer);
            if (!replay_check_answer(a, &answer)) break;
            continue;
        }
        bool answered;
        if (!note_item_partition(a, e->order.item, e->partition) ||
            !decide_valid(a, e, has_row ? &row : NULL, &answer, &answered) ||
            (answered && !replay_check_answer(a, &answer)))
            break;
    }
    bool done = i == a->batch_len;
    /* The answers window may move on past what was replayed. */
    if (a->partition >= 0) answers_advance(a->answers, a->partition, a->ranges[a->partition].next);
    a->prepared = false;
    clear_batch_maps(a);
    /* The ledger holds every decision of this batch from here on (kept
     * holds the rest): the replay keeps no more than one batch's. */
    ol_decider_forget_decisions(a->decider);
    return done || replay_oom(err, errlen);
}
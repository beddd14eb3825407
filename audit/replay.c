#include "replay.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answers.h"
#include "ol_decide.h"
#include "ol_decider.h"
#include "ol_map.h"
#include "ol_order.h"

typedef struct part_range {
    bool set;
    int64_t start, end, results_end;
    int64_t next; /* first offset not replayed yet */
} part_range;

typedef struct batch_entry {
    int32_t partition;
    int64_t offset;
    bool valid;
    ol_order order;
    char error[OL_ERROR_MAX];
} batch_entry;

/* A duplicate whose original is in a later partition: its answer is known
 * only once the replay has decided that original. */
typedef struct deferred_dup {
    int32_t partition;
    int64_t offset;
    ol_result ledger; /* the original's ledger row, in case the replay never meets it */
} deferred_dup;

typedef struct inventory_entry {
    int64_t count;
    bool seen;
} inventory_entry;

/* Value in item_partition for an item met in several partitions. */
#define SHARED_ITEM ((void *)UINTPTR_MAX)

struct audit_replay {
    audit_report_fn report;
    void *ctx;
    ol_decider *decider;
    part_range *ranges;
    size_t n_ranges;
    /* Ledger rows given and not met yet: a FIFO in (partition, offset) order. */
    ol_result *queue;
    size_t q_head, q_len, q_cap;
    bool any_fed;
    int32_t last_fed_partition;
    int64_t last_fed_offset;
    /* The prepared batch. */
    batch_entry *batch;
    size_t batch_len, batch_cap;
    const char **need;
    size_t n_need;
    ol_map *originals; /* order_ids with their ledger row at their own position (this batch) */
    ol_map *needed;    /* order_ids listed for lookup (this batch) */
    ol_map *priors;    /* order_id -> ol_result* found by lookup (owned; this batch) */
    bool prepared;
    int32_t partition; /* partition of the last batch; -1 before the first */
    deferred_dup *deferred;
    size_t n_deferred, deferred_cap;
    ol_map *inventories;    /* item -> inventory_entry* (owned) */
    ol_map *item_partition; /* item -> partition + 1, or SHARED_ITEM */
    ol_map *misplaced;      /* order_ids already reported as ORIGINAL_DIFFERS */
    /* Decisions are looked up in the ledger once their batch is over; those
     * the replay made without a ledger row stay here (owned copies). */
    ol_map *kept;
    answer_store *answers;
    /* Answers expected and not stored when their message was replayed:
     * they may still come from another results partition. */
    ol_result *pending;
    size_t n_pending, pending_cap;
    bool finished;
    audit_stats stats;
};

static void emit(audit_replay *a, divergence_kind kind, const char *order_id, const char *item, int32_t partition,
                 int64_t offset, const char *expected, const char *found, const char *fmt, ...)
    __attribute__((format(printf, 9, 10)));

static void emit(audit_replay *a, divergence_kind kind, const char *order_id, const char *item, int32_t partition,
                 int64_t offset, const char *expected, const char *found, const char *fmt, ...) {
    char detail[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    divergence d = {kind,
                    order_id && order_id[0] ? order_id : NULL,
                    item && item[0] ? item : NULL,
                    partition,
                    offset,
                    expected ? expected : "",
                    found ? found : "",
                    detail};
    a->stats.divergences++;
    a->stats.by_kind[kind]++;
    if (a->report) a->report(a->ctx, &d);
}

/* ---- construction ----------------------------------------------------- */

audit_replay *audit_replay_new(audit_report_fn report, void *ctx) {
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
    a->answers = answers_new();
    if (!a->decider || !a->originals || !a->needed || !a->priors || !a->inventories || !a->item_partition ||
        !a->misplaced || !a->kept || !a->answers) {
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
    ol_map_destroy(a->originals);
    ol_map_destroy(a->needed);
    ol_map_destroy(a->priors);
    ol_map_destroy(a->inventories);
    ol_map_destroy(a->item_partition);
    ol_map_destroy(a->misplaced);
    free(a);
}

const audit_stats *audit_replay_stats(const audit_replay *a) { return &a->stats; }

static part_range *range_of(const audit_replay *a, int32_t partition) {
    if (partition < 0 || (size_t)partition >= a->n_ranges || !a->ranges[partition].set) return NULL;
    return &a->ranges[partition];
}

static int pos_cmp(int32_t p1, int64_t o1, int32_t p2, int64_t o2) {
    if (p1 != p2) return p1 < p2 ? -1 : 1;
    return o1 < o2 ? -1 : o1 > o2 ? 1 : 0;
}

static bool oom(char *err, size_t errlen) {
    ol_seterr(err, errlen, "out of memory");
    return false;
}

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
        if (!grown) return oom(err, errlen);
        memset(grown + a->n_ranges, 0, (n - a->n_ranges) * sizeof *grown);
        a->ranges = grown;
        a->n_ranges = n;
    }
    part_range *r = &a->ranges[partition];
    if (r->set) {
        ol_seterr(err, errlen, "partition %" PRId32 ": range given twice", partition);
        return false;
    }
    if (!answers_set_range(a->answers, partition, start, decided_end)) return oom(err, errlen);
    *r = (part_range){true, start, decided_end, results_end, start};
    return true;
}

bool audit_replay_set_stock(audit_replay *a, const char *item, ol_stock stock, char *err, size_t errlen) {
    return ol_decider_set_stock(a->decider, item, stock) || oom(err, errlen);
}

bool audit_replay_add_inventory(audit_replay *a, const char *item, int64_t count, char *err, size_t errlen) {
    inventory_entry *e = ol_map_get(a->inventories, item);
    if (e) {
        e->count = count;
        return true;
    }
    e = calloc(1, sizeof *e);
    if (!e) return oom(err, errlen);
    e->count = count;
    if (!ol_map_put(a->inventories, item, e)) {
        free(e);
        return oom(err, errlen);
    }
    return true;
}

static void describe_stored(char *dst, size_t len, const stored_answer *s) {
    divergence_describe_answer(dst, len, s->order_id, s->status, s->reason, s->has_remaining, s->remaining,
                               s->duplicate);
}

bool audit_replay_add_result(audit_replay *a, const ol_result *res, char *err, size_t errlen) {
    a->stats.results_read++;
    stored_answer first;
    char was[320], again[320];
    switch (answers_add(a->answers, res, &first)) {
    case ANSWERS_OUTSIDE:
        a->stats.results_outside++;
        return true;
    case ANSWERS_NO_MEMORY:
        return oom(err, errlen);
    case ANSWERS_UNVERIFIED:
        a->stats.results_unverified++;
        return true;
    case ANSWERS_CONFLICT:
        /* Published again (after a consumer restart): must be the same. */
        describe_stored(was, sizeof was, &first);
        divergence_describe_answer(again, sizeof again, res->order_id, res->status, res->reason, res->has_remaining,
                                   res->remaining, res->duplicate);
        emit(a, DIV_RESULT_CONFLICTING, res->order_id, res->has_order ? res->item : NULL, res->partition, res->offset,
             was, again, "two different answers were published for this message");
        return true;
    case ANSWERS_ADDED:
    case ANSWERS_SAME_AGAIN:
        return true;
    }
    return true;
}

/* ---- the ledger queue -------------------------------------------------- */

bool audit_replay_add_ledger_row(audit_replay *a, const ol_result *row, char *err, size_t errlen) {
    if (a->any_fed && pos_cmp(row->partition, row->offset, a->last_fed_partition, a->last_fed_offset) <= 0) {
        ol_seterr(err, errlen,
                  "ledger rows out of order: partition %" PRId32 " offset %" PRId64 " after partition %" PRId32
                  " offset %" PRId64,
                  row->partition, row->offset, a->last_fed_partition, a->last_fed_offset);
        return false;
    }
    if (a->partition >= 0 && pos_cmp(row->partition, row->offset, a->partition, a->ranges[a->partition].next) < 0) {
        ol_seterr(err, errlen, "ledger row at partition %" PRId32 " offset %" PRId64 " given after its batch",
                  row->partition, row->offset);
        return false;
    }
    a->any_fed = true;
    a->last_fed_partition = row->partition;
    a->last_fed_offset = row->offset;
    part_range *r = range_of(a, row->partition);
    if (r && row->offset < r->start) return true; /* before the replay: not ours to check */
    a->stats.ledger_rows++;
    if (a->q_head + a->q_len == a->q_cap) {
        if (a->q_head > 0) {
            memmove(a->queue, a->queue + a->q_head, a->q_len * sizeof *a->queue);
            a->q_head = 0;
        } else {
            size_t cap = a->q_cap ? a->q_cap * 2 : 1024;
            ol_result *grown = realloc(a->queue, cap * sizeof *grown);
            if (!grown) return oom(err, errlen);
            a->queue = grown;
            a->q_cap = cap;
        }
    }
    a->queue[a->q_head + a->q_len++] = *row;
    return true;
}

static const ol_result *queue_head(const audit_replay *a) { return a->q_len ? &a->queue[a->q_head] : NULL; }

static void queue_pop(audit_replay *a) {
    a->q_head++;
    if (--a->q_len == 0) a->q_head = 0;
}

/* A ledger row whose position the replay passed without meeting it. */
static void report_unmet_row(audit_replay *a, const ol_result *row) {
    char found[320];
    divergence_describe_decision(found, sizeof found, row);
    const part_range *r = range_of(a, row->partition);
    if (!r)
        emit(a, DIV_NOT_IN_LOG, row->order_id, row->item, row->partition, row->offset, "", found,
             "the ledger records a decision here, but the consumer has no stored position for partition %" PRId32
             " (nothing there is decided)",
             row->partition);
    else if (row->offset >= r->end)
        emit(a, DIV_NOT_IN_LOG, row->order_id, row->item, row->partition, row->offset, "", found,
             "the ledger records a decision at or beyond the stored position %" PRId64 " (nothing there is decided)",
             r->end);
    else
        emit(a, DIV_NOT_IN_LOG, row->order_id, row->item, row->partition, row->offset, "", found,
             "the ledger records a decision here, but the log has no message at this position");
}

static void pop_rows_before(audit_replay *a, int32_t partition, int64_t offset) {
    const ol_result *head;
    while ((head = queue_head(a)) && pos_cmp(head->partition, head->offset, partition, offset) < 0) {
        report_unmet_row(a, head);
        queue_pop(a);
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
        if (!batch) return oom(err, errlen);
        a->batch = batch;
        const char **need = realloc(a->need, n * sizeof *need);
        if (!need) return oom(err, errlen);
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
        const part_range *r = range_of(a, m->partition);
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
        e->valid = ol_order_parse(m->value, m->value_len, m->key, m->key_len, &e->order, e->error, sizeof e->error);
        if (!e->valid) continue;
        const char *id = e->order.order_id;
        while (scan < a->q_len) {
            const ol_result *row = &a->queue[a->q_head + scan];
            if (pos_cmp(row->partition, row->offset, e->partition, e->offset) >= 0) break;
            scan++;
        }
        const ol_result *row = scan < a->q_len ? &a->queue[a->q_head + scan] : NULL;
        if (row && row->partition == e->partition && row->offset == e->offset && strcmp(row->order_id, id) == 0) {
            if (!ol_map_put(a->originals, id, e)) return oom(err, errlen);
            continue;
        }
        if (ol_map_get(a->originals, id) || ol_map_get(a->needed, id) || ol_map_get(a->kept, id)) continue;
        if (!ol_map_put(a->needed, id, e)) return oom(err, errlen);
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
    if (!copy) return oom(err, errlen);
    *copy = *row;
    if (!ol_map_put(a->priors, row->order_id, copy)) {
        free(copy);
        return oom(err, errlen);
    }
    return true;
}

static bool answer_matches(const stored_answer *s, const ol_result *w) {
    return strcmp(s->order_id, w->order_id) == 0 && s->status == w->status && s->reason == w->reason &&
           s->has_remaining == w->has_remaining && (!w->has_remaining || s->remaining == w->remaining) &&
           s->duplicate == w->duplicate;
}

static void describe_want(char *dst, size_t len, const ol_result *w) {
    divergence_describe_answer(dst, len, w->order_id, w->status, w->reason, w->has_remaining, w->remaining,
                               w->duplicate);
}

/* Compares an answer the replay expects with the one stored, if any:
 * false when none is. */
static bool compare_stored(audit_replay *a, const ol_result *want) {
    stored_answer s;
    if (!answers_take(a->answers, want->partition, want->offset, &s)) return false;
    a->stats.results_checked++;
    if (answer_matches(&s, want)) return true;
    char expected[320], found[320];
    describe_want(expected, sizeof expected, want);
    describe_stored(found, sizeof found, &s);
    emit(a, DIV_RESULT_CONFLICTING, want->order_id, want->has_order ? want->item : NULL, want->partition, want->offset,
         expected, found, "the published answer differs from the rules' answer");
    return true;
}

static void report_missing(audit_replay *a, const ol_result *want) {
    const part_range *r = range_of(a, want->partition);
    if (!r || want->offset >= r->results_end) return; /* maybe not published yet */
    char expected[320];
    describe_want(expected, sizeof expected, want);
    emit(a, DIV_RESULT_MISSING, want->order_id, want->has_order ? want->item : NULL, want->partition, want->offset,
         expected, "",
         "no answer on the results topic, though answers are recorded as acknowledged up to offset %" PRId64,
         r->results_end);
}

/* An answer the replay expects: compared now if stored, else kept for the
 * end (it may be read later, from another results partition). False on OOM. */
static bool check_answer(audit_replay *a, const ol_result *want) {
    if (compare_stored(a, want)) return true;
    if (a->n_pending == a->pending_cap) {
        size_t cap = a->pending_cap ? a->pending_cap * 2 : 64;
        ol_result *grown = realloc(a->pending, cap * sizeof *grown);
        if (!grown) return false;
        a->pending = grown;
        a->pending_cap = cap;
    }
    a->pending[a->n_pending++] = *want;
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
    const part_range *r = range_of(a, row->partition);
    if (!r || row->offset < r->start || row->offset >= r->end) return true; /* outside the replay */
    return pos_cmp(row->partition, row->offset, partition, offset) < 0;
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
            emit(a, DIV_ORIGINAL_DIFFERS, id, e->order.item, e->partition, e->offset, "", "",
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
            emit(a, DIV_ORIGINAL_DIFFERS, id, e->order.item, e->partition, e->offset, "", "",
                 "the order_id first appears here, but the ledger records its decision at offset %" PRId64
                 " of this partition",
                 look->offset);
            if (!ol_map_put(a->misplaced, id, a)) return false;
        } else {
            char want[320];
            ol_result tmp;
            if (!ol_decider_decide(a->decider, &e->order, e->partition, e->offset, 0, &tmp, &kind)) return false;
            a->stats.decisions++;
            divergence_describe_decision(want, sizeof want, &tmp);
            emit(a, DIV_LEDGER_MISSING, id, e->order.item, e->partition, e->offset, want, "",
                 "the message is below the stored position (decided), but the ledger has no row for its order_id");
            *answer = tmp;
            return keep(a, &tmp);
        }
    }
    if (!ol_decider_decide(a->decider, &e->order, e->partition, e->offset, 0, answer, &kind)) return false;
    if (kind != OL_DECIDED_NEW) {
        a->stats.duplicates++;
        return true;
    }
    a->stats.decisions++;
    if (!row) return keep(a, answer);
    if (same_decision(row, answer)) return true;
    divergence_describe_decision(expected, sizeof expected, answer);
    divergence_describe_decision(found, sizeof found, row);
    emit(a, DIV_DECISION_DIFFERS, id, e->order.item, e->partition, e->offset, expected, found,
         "the ledger's decision differs from the rules'");
    return follow_ledger(a, row, &e->order, answer);
}

/* An answer stored and never compared: its message needs none, or the
 * replay did not reach it. */
static void report_unexpected(void *ctx, int32_t partition, int64_t offset, const stored_answer *s) {
    audit_replay *a = ctx;
    const part_range *r = range_of(a, partition);
    char found[320];
    describe_stored(found, sizeof found, s);
    emit(a, DIV_RESULT_UNEXPECTED, s->order_id, NULL, partition, offset, "", found,
         r && offset < r->next ? "an answer was published for a message that needs none"
                               : "an answer was published for a message the log does not have");
}

/* The replay is done with partition p: its answers are compared or
 * reported, bar those of duplicates deferred to the end. */
static bool settle(audit_replay *a, int32_t p) {
    for (size_t i = 0; i < a->n_deferred; i++)
        if (a->deferred[i].partition == p && !answers_keep(a->answers, p, a->deferred[i].offset)) return false;
    size_t kept = 0;
    for (size_t i = 0; i < a->n_pending; i++)
        if (a->pending[i].partition != p || !compare_stored(a, &a->pending[i])) a->pending[kept++] = a->pending[i];
    a->n_pending = kept;
    answers_settle(a->answers, p, report_unexpected, a);
    return true;
}

static bool settle_before(audit_replay *a, int32_t partition) {
    for (int32_t p = 0; p < partition && (size_t)p < a->n_ranges; p++)
        if (range_of(a, p) && !answers_settled(a->answers, p) && !settle(a, p)) return false;
    return true;
}

bool audit_replay_decide(audit_replay *a, char *err, size_t errlen) {
    if (!a->prepared) {
        ol_seterr(err, errlen, "batch decided before it was prepared");
        return false;
    }
    if (a->batch_len > 0 && !settle_before(a, a->batch[0].partition)) {
        a->prepared = false;
        return oom(err, errlen);
    }
    size_t i;
    for (i = 0; i < a->batch_len; i++) {
        const batch_entry *e = &a->batch[i];
        part_range *r = range_of(a, e->partition);
        a->partition = e->partition;
        r->next = e->offset + 1;
        a->stats.messages++;
        pop_rows_before(a, e->partition, e->offset);
        const ol_result *head = queue_head(a);
        ol_result row;
        bool has_row = head && head->partition == e->partition && head->offset == e->offset;
        if (has_row) {
            row = *head;
            queue_pop(a);
        }
        char found[320];
        if (has_row && (!e->valid || strcmp(row.order_id, e->order.order_id) != 0)) {
            divergence_describe_decision(found, sizeof found, &row);
            if (e->valid)
                emit(a, DIV_NOT_IN_LOG, row.order_id, row.item, e->partition, e->offset, "", found,
                     "the ledger records this order here, but the message at this position is order '%s'",
                     e->order.order_id);
            else
                emit(a, DIV_NOT_IN_LOG, row.order_id, row.item, e->partition, e->offset, "", found,
                     "the ledger records this order here, but the message at this position is not a valid order (%s)",
                     e->error);
            has_row = false;
        }
        ol_result answer;
        if (!e->valid) {
            a->stats.invalid++;
            if (!e->order.order_id[0]) continue; /* no answer to give */
            ol_decide_invalid(e->order.order_id, e->partition, e->offset, 0, e->error, &answer);
            if (!check_answer(a, &answer)) break;
            continue;
        }
        bool answered;
        if (!note_item_partition(a, e->order.item, e->partition) ||
            !decide_valid(a, e, has_row ? &row : NULL, &answer, &answered) || (answered && !check_answer(a, &answer)))
            break;
    }
    bool done = i == a->batch_len;
    a->prepared = false;
    clear_batch_maps(a);
    /* The ledger holds every decision of this batch from here on (kept
     * holds the rest): the replay keeps no more than one batch's. */
    ol_decider_forget_decisions(a->decider);
    return done || oom(err, errlen);
}

/* ---- the end ----------------------------------------------------------- */

static void check_stock(audit_replay *a) {
    size_t pos = 0;
    const char *item;
    ol_stock initial, current;
    char expected[48], found[48];
    while (ol_decider_next_stock(a->decider, &pos, &item, &initial, &current)) {
        inventory_entry *inv = ol_map_get(a->inventories, item);
        if (inv) inv->seen = true;
        if (!current.exists && !inv) continue;
        a->stats.items++;
        if (current.exists && inv && inv->count == current.count) continue;
        if (current.exists) snprintf(expected, sizeof expected, "%" PRId64, current.count);
        else snprintf(expected, sizeof expected, "no such item");
        if (inv) snprintf(found, sizeof found, "%" PRId64, inv->count);
        else snprintf(found, sizeof found, "no such item");
        if (current.exists && inv)
            emit(a, DIV_STOCK_DRIFT, NULL, item, -1, -1, expected, found,
                 "inventories has %" PRId64 ", the replay gives %" PRId64 " (%+" PRId64 ")", inv->count, current.count,
                 inv->count - current.count);
        else if (current.exists)
            emit(a, DIV_STOCK_DRIFT, NULL, item, -1, -1, expected, found,
                 "the replay gives %" PRId64 ", but inventories has no such item", current.count);
        else
            emit(a, DIV_STOCK_DRIFT, NULL, item, -1, -1, expected, found,
                 "inventories has %" PRId64 ", but no accepted restock in the replayed log created the item",
                 inv->count);
    }
    pos = 0;
    void *value;
    while (ol_map_next(a->inventories, &pos, &item, &value)) {
        inventory_entry *inv = value;
        if (inv->seen) continue;
        a->stats.items++;
        snprintf(found, sizeof found, "%" PRId64, inv->count);
        emit(a, DIV_STOCK_DRIFT, NULL, item, -1, -1, "no such item", found,
             "inventories has %" PRId64 ", but neither the replayed log nor the ledger before it created the item",
             inv->count);
    }
}

bool audit_replay_finish(audit_replay *a, char *err, size_t errlen) {
    if (a->prepared || a->finished) {
        ol_seterr(err, errlen, a->finished ? "finished twice" : "finish with a batch prepared");
        return false;
    }
    a->finished = true;
    const ol_result *head;
    while ((head = queue_head(a))) {
        report_unmet_row(a, head);
        queue_pop(a);
    }
    if (!settle_before(a, INT32_MAX)) return oom(err, errlen);
    for (size_t i = 0; i < a->n_deferred; i++) {
        deferred_dup *d = &a->deferred[i];
        /* The replay's decision when it met the original (kept when it
         * differs from the ledger's), else the ledger's. */
        const ol_result *kept = ol_map_get(a->kept, d->ledger.order_id);
        ol_result want = kept ? *kept : d->ledger;
        want.duplicate = true;
        want.partition = d->partition;
        want.offset = d->offset;
        if (!compare_stored(a, &want)) report_missing(a, &want);
    }
    for (size_t i = 0; i < a->n_pending; i++)
        if (!compare_stored(a, &a->pending[i])) report_missing(a, &a->pending[i]);
    a->n_pending = 0;
    if (!answers_drain(a->answers, report_unexpected, a)) return oom(err, errlen);
    for (size_t p = 0; p < a->n_ranges; p++) {
        part_range *r = &a->ranges[p];
        if (r->set && r->next < r->end)
            emit(a, DIV_LOG_SHORT, NULL, NULL, (int32_t)p, r->next, "", "",
                 "the consumer decided up to offset %" PRId64 ", but the log has no message from here on", r->end - 1);
    }
    check_stock(a);
    return true;
}

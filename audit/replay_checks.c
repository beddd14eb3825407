/* The replay's checks: answers against the replay's, ledger rows never
 * met, and what only the end can tell (replay.h). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay_internal.h"

void replay_emit(audit_replay *a, divergence_kind kind, const char *order_id, const char *item, int32_t partition,
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

void audit_replay_report(audit_replay *a, const divergence *d) {
    a->stats.divergences++;
    a->stats.by_kind[d->kind]++;
    if (a->report) a->report(a->ctx, d);
}

static void describe_stored(char *dst, size_t len, const stored_answer *s) {
    divergence_describe_answer(dst, len, s->order_id, s->status, s->reason, s->has_remaining, s->remaining,
                               s->duplicate);
}

bool audit_replay_begin_partition(audit_replay *a, int32_t partition, char *err, size_t errlen) {
    if (!replay_settle_before(a, partition)) return replay_oom(err, errlen);
    if (!replay_range_of(a, partition)) return true; /* its answers are outside */
    return answers_begin(a->answers, partition) || replay_oom(err, errlen);
}

bool audit_replay_answers_past(const audit_replay *a, int32_t partition, int64_t last) {
    return answers_past(a->answers, partition, last);
}

void audit_replay_end_partition(audit_replay *a, int32_t partition) {
    answers_advance(a->answers, partition, INT64_MAX);
}

bool audit_replay_add_result(audit_replay *a, const ol_result *res, bool *later, char *err, size_t errlen) {
    stored_answer first;
    char was[320], again[320];
    answers_added added = answers_add(a->answers, res, &first);
    *later = added == ANSWERS_LATER;
    if (*later) return true;
    a->stats.results_read++;
    switch (added) {
    case ANSWERS_LATER:
        return true;
    case ANSWERS_OUTSIDE:
        a->stats.results_outside++;
        return true;
    case ANSWERS_NO_MEMORY:
        return replay_oom(err, errlen);
    case ANSWERS_UNVERIFIED:
        a->stats.results_unverified++;
        return true;
    case ANSWERS_CONFLICT:
        /* Published again (after a consumer restart): must be the same. */
        describe_stored(was, sizeof was, &first);
        divergence_describe_answer(again, sizeof again, res->order_id, res->status, res->reason, res->has_remaining,
                                   res->remaining, res->duplicate);
        replay_emit(a, DIV_RESULT_CONFLICTING, res->order_id, res->has_order ? res->item : NULL, res->partition,
                    res->offset, was, again, "two different answers were published for this message");
        return true;
    case ANSWERS_ADDED:
    case ANSWERS_SAME_AGAIN:
        return true;
    }
    return true;
}

/* A ledger row whose position the replay passed without meeting it. */
void replay_report_unmet_row(audit_replay *a, const ol_result *row) {
    char found[320];
    divergence_describe_decision(found, sizeof found, row);
    const part_range *r = replay_range_of(a, row->partition);
    if (!r)
        replay_emit(a, DIV_NOT_IN_LOG, row->order_id, row->item, row->partition, row->offset, "", found,
                    "the ledger records a decision here, but the consumer has no stored position for partition %" PRId32
                    " (nothing there is decided)",
                    row->partition);
    else if (row->offset >= r->end)
        replay_emit(a, DIV_NOT_IN_LOG, row->order_id, row->item, row->partition, row->offset, "", found,
                    "the ledger records a decision at or beyond the stored position %" PRId64
                    " (nothing there is decided)",
                    r->end);
    else
        replay_emit(a, DIV_NOT_IN_LOG, row->order_id, row->item, row->partition, row->offset, "", found,
                    "the ledger records a decision here, but the log has no message at this position");
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
    replay_emit(a, DIV_RESULT_CONFLICTING, want->order_id, want->has_order ? want->item : NULL, want->partition,
                want->offset, expected, found, "the published answer differs from the rules' answer");
    return true;
}

static void report_missing(audit_replay *a, const ol_result *want) {
    const part_range *r = replay_range_of(a, want->partition);
    if (!r || want->offset >= r->results_end) return; /* maybe not published yet */
    char expected[320];
    describe_want(expected, sizeof expected, want);
    replay_emit(a, DIV_RESULT_MISSING, want->order_id, want->has_order ? want->item : NULL, want->partition,
                want->offset, expected, "",
                "no answer on the results topic, though answers are recorded as acknowledged up to offset %" PRId64,
                r->results_end);
}

/* An answer the replay expects: compared now if stored, else kept for the
 * end (it may be read later, from another results partition). False on OOM. */
bool replay_check_answer(audit_replay *a, const ol_result *want) {
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

/* An answer stored and never compared: its message needs none, or the
 * replay did not reach it. */
static void report_unexpected(void *ctx, int32_t partition, int64_t offset, const stored_answer *s) {
    audit_replay *a = ctx;
    const part_range *r = replay_range_of(a, partition);
    char found[320];
    describe_stored(found, sizeof found, s);
    replay_emit(a, DIV_RESULT_UNEXPECTED, s->order_id, NULL, partition, offset, "", found,
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

bool replay_settle_before(audit_replay *a, int32_t partition) {
    for (int32_t p = 0; p < partition && (size_t)p < a->n_ranges; p++)
        if (replay_range_of(a, p) && !answers_settled(a->answers, p) && !settle(a, p)) return false;
    return true;
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
            replay_emit(a, DIV_STOCK_DRIFT, NULL, item, -1, -1, expected, found,
                        "inventories has %" PRId64 ", the replay gives %" PRId64 " (%+" PRId64 ")", inv->count,
                        current.count, inv->count - current.count);
        else if (current.exists)
            replay_emit(a, DIV_STOCK_DRIFT, NULL, item, -1, -1, expected, found,
                        "the replay gives %" PRId64 ", but inventories has no such item", current.count);
        else
            replay_emit(a, DIV_STOCK_DRIFT, NULL, item, -1, -1, expected, found,
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
        replay_emit(a, DIV_STOCK_DRIFT, NULL, item, -1, -1, "no such item", found,
                    "inventories has %" PRId64
                    ", but neither the replayed log nor the ledger before it created the item",
                    inv->count);
    }
}

void audit_replay_add_open_hold(audit_replay *a, const ol_result *row, int64_t overdue_s) {
    char found[64];
    snprintf(found, sizeof found, "held %" PRId64 " s past its deadline", overdue_s);
    replay_emit(a, DIV_HOLD_NOT_RELEASED, row->order_id, row->item, row->partition, row->offset, "released", found,
                "a hold of %" PRId32 " units is still standing past its deadline: no expire, confirm or cancel was "
                "decided for it",
                row->quantity);
}

bool audit_replay_finish(audit_replay *a, char *err, size_t errlen) {
    if (a->prepared || a->finished) {
        ol_seterr(err, errlen, a->finished ? "finished twice" : "finish with a batch prepared");
        return false;
    }
    a->finished = true;
    const ol_result *head;
    while ((head = replay_queue_head(a))) {
        replay_report_unmet_row(a, head);
        replay_queue_pop(a);
    }
    if (!replay_settle_before(a, INT32_MAX)) return replay_oom(err, errlen);
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
    if (!answers_drain(a->answers, report_unexpected, a)) return replay_oom(err, errlen);
    for (size_t p = 0; p < a->n_ranges; p++) {
        part_range *r = &a->ranges[p];
        if (r->set && r->next < r->end)
            replay_emit(a, DIV_LOG_SHORT, NULL, NULL, (int32_t)p, r->next, "", "",
                        "the consumer decided up to offset %" PRId64 ", but the log has no message from here on",
                        r->end - 1);
    }
    check_stock(a);
    return true;
}

/* Unit tests for audit_replay: the replay engine of order-audit, fed by hand
 * with small logs, ledgers, answers and inventories. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

/* ---- a small world: messages, ledger, answers, stock -------------------- */

#define MAX_MSGS 32
#define MAX_DIVS 32

typedef struct seen_div {
    divergence_kind kind;
    char order_id[OL_ORDER_ID_MAX + 1];
    char item[OL_ITEM_MAX + 1];
    int32_t partition;
    int64_t offset;
    char detail[800];
    char expected[400];
    char found[400];
} seen_div;

typedef struct world {
    char values[MAX_MSGS][256];
    char keys[MAX_MSGS][80];
    audit_msg msgs[MAX_MSGS];
    size_t n_msgs;
    ol_result ledger[MAX_MSGS];
    size_t n_ledger;
    ol_result answers[MAX_MSGS];
    size_t n_answers;
    seen_div divs[MAX_DIVS];
    size_t n_divs;
    size_t batch_max;    /* messages per batch; 0: a partition at once */
    size_t late_answers; /* the last ones are fed after the batches (read from another results partition) */
    size_t window;       /* the answers window; 0: order-audit's */
} world;

static void collect(void *ctx, const divergence *d) {
    world *w = ctx;
    cr_assert_lt(w->n_divs, MAX_DIVS);
    seen_div *s = &w->divs[w->n_divs++];
    memset(s, 0, sizeof *s);
    s->kind = d->kind;
    if (d->order_id) strcpy(s->order_id, d->order_id);
    if (d->item) strcpy(s->item, d->item);
    s->partition = d->partition;
    s->offset = d->offset;
    snprintf(s->detail, sizeof s->detail, "%s", d->detail);
    snprintf(s->expected, sizeof s->expected, "%s", d->expected);
    snprintf(s->found, sizeof s->found, "%s", d->found);
}

/* A message; key NULL means the item (or no key for junk). */
static void msg(world *w, int32_t p, int64_t o, const char *key, const char *value) {
    size_t i = w->n_msgs++;
    snprintf(w->values[i], sizeof w->values[i], "%s", value);
    w->msgs[i] = (audit_msg){p, o, NULL, 0, w->values[i], strlen(w->values[i]), -1};
    if (key) {
        snprintf(w->keys[i], sizeof w->keys[i], "%s", key);
        w->msgs[i].key = w->keys[i];
        w->msgs[i].key_len = strlen(key);
    }
}

static void order_msg(world *w, int32_t p, int64_t o, const char *id, const char *item, const char *type, int q) {
    char v[256];
    snprintf(v, sizeof v, "{\"order_id\":\"%s\",\"item\":\"%s\",\"quantity\":%d,\"type\":\"%s\"}", id, item, q, type);
    msg(w, p, o, item, v);
}

static ol_result decision(const char *id, const char *item, ol_order_type type, int q, ol_status status,
                          ol_reason reason, int64_t remaining, int32_t p, int64_t o) {
    ol_result r;
    memset(&r, 0, sizeof r);
    strcpy(r.order_id, id);
    r.has_order = true;
    strcpy(r.item, item);
    r.type = type;
    r.quantity = q;
    r.status = status;
    r.reason = reason;
    r.has_remaining = remaining >= 0;
    r.remaining = remaining >= 0 ? remaining : 0;
    r.partition = p;
    r.offset = o;
    return r;
}

/* The ledger row and the published answer of one original decision. */
static void decided(world *w, const char *id, const char *item, ol_order_type type, int q, ol_status status,
                    ol_reason reason, int64_t remaining, int32_t p, int64_t o) {
    ol_result r = decision(id, item, type, q, status, reason, remaining, p, o);
    w->ledger[w->n_ledger++] = r;
    w->answers[w->n_answers++] = r;
}

static void answer_duplicate(world *w, const char *id, int32_t p, int64_t o) {
    for (size_t i = 0; i < w->n_ledger; i++) {
        if (strcmp(w->ledger[i].order_id, id) != 0) continue;
        ol_result r = w->ledger[i];
        r.duplicate = true;
        r.partition = p;
        r.offset = o;
        w->answers[w->n_answers++] = r;
        return;
    }
    cr_assert_fail("no decision for %s", id);
}

static void answer_invalid(world *w, const char *id, int32_t p, int64_t o) {
    ol_result r;
    memset(&r, 0, sizeof r);
    strcpy(r.order_id, id);
    r.status = OL_STATUS_REJECTED;
    r.reason = OL_REASON_INVALID;
    r.partition = p;
    r.offset = o;
    strcpy(r.error, "field 'quantity' must be an integer from 1 to 1000000, got 0");
    w->answers[w->n_answers++] = r;
}

static void remove_ledger_row(world *w, const char *id) {
    for (size_t i = 0; i < w->n_ledger; i++) {
        if (strcmp(w->ledger[i].order_id, id) != 0) continue;
        memmove(&w->ledger[i], &w->ledger[i + 1], (w->n_ledger - i - 1) * sizeof w->ledger[0]);
        w->n_ledger--;
        return;
    }
    cr_assert_fail("no row %s", id);
}

static int by_position(const void *x, const void *y) {
    const ol_result *a = x, *b = y;
    if (a->partition != b->partition) return a->partition < b->partition ? -1 : 1;
    return a->offset < b->offset ? -1 : a->offset > b->offset;
}

/* Offers an answer: false when the answers window cannot hold it yet. */
static bool offer(audit_replay *a, const ol_result *r) {
    char err[512] = "";
    bool later = true;
    cr_assert(audit_replay_add_result(a, r, &later, err, sizeof err), "%s", err);
    return !later;
}

/* Reads partition p's results partition (its early answers, in order)
 * from *cursor on: up to an answer beyond last, or all of it (last < 0),
 * stopping at an answer the window cannot hold yet. */
static void read_results(audit_replay *a, const world *w, int32_t p, size_t early, size_t *cursor, int64_t last) {
    for (; *cursor < early; ++*cursor) {
        if (last >= 0 && audit_replay_answers_past(a, p, last)) return;
        if (w->answers[*cursor].partition != p) continue;
        if (!offer(a, &w->answers[*cursor])) return;
    }
}

/* Runs the audit the way order-audit drives it: partition by partition,
 * its answers read beside its batches (ledger rows fed up to the batch
 * end, lookups answered from the whole ledger), then the rest of its
 * answers; then answers for partitions without messages, the rest of the
 * ledger, the late answers, finish. The ledger holds rows of this topic
 * only. */
static void run(audit_replay *a, world *w) {
    char err[512] = "";
    size_t early = w->n_answers - w->late_answers, cursor = 0;
    ol_result sorted[MAX_MSGS];
    memcpy(sorted, w->ledger, w->n_ledger * sizeof sorted[0]);
    qsort(sorted, w->n_ledger, sizeof sorted[0], by_position);
    size_t fed = 0;
    int32_t current = -1;
    bool begun[MAX_MSGS] = {false};
    for (size_t i = 0; i < w->n_msgs;) {
        size_t j = i;
        int32_t p = w->msgs[i].partition;
        if (p != current) {
            if (current >= 0) {
                audit_replay_end_partition(a, current);
                read_results(a, w, current, early, &cursor, -1);
                cr_assert_eq(cursor, early, "the rest always fits");
            }
            cr_assert(audit_replay_begin_partition(a, p, err, sizeof err), "%s", err);
            current = p;
            begun[p] = true;
            cursor = 0;
        }
        while (j < w->n_msgs && w->msgs[j].partition == p && (!w->batch_max || j - i < w->batch_max)) j++;
        const audit_msg *last = &w->msgs[j - 1];
        read_results(a, w, p, early, &cursor, last->offset);
        while (fed < w->n_ledger && (sorted[fed].partition < last->partition ||
                                     (sorted[fed].partition == last->partition && sorted[fed].offset <= last->offset)))
            cr_assert(audit_replay_add_ledger_row(a, &sorted[fed++], err, sizeof err), "%s", err);
        const char *const *ids;
        size_t n_ids;
        cr_assert(audit_replay_prepare(a, &w->msgs[i], j - i, &ids, &n_ids, err, sizeof err), "%s", err);
        for (size_t k = 0; k < n_ids; k++)
            for (size_t l = 0; l < w->n_ledger; l++)
                if (strcmp(w->ledger[l].order_id, ids[k]) == 0)
                    cr_assert(audit_replay_add_prior(a, &w->ledger[l], err, sizeof err), "%s", err);
        cr_assert(audit_replay_decide(a, err, sizeof err), "%s", err);
        i = j;
    }
    if (current >= 0) {
        audit_replay_end_partition(a, current);
        read_results(a, w, current, early, &cursor, -1);
    }
    for (size_t i = 0; i < early; i++)
        if (w->answers[i].partition < 0 || w->answers[i].partition >= MAX_MSGS || !begun[w->answers[i].partition])
            cr_assert(offer(a, &w->answers[i]));
    while (fed < w->n_ledger) cr_assert(audit_replay_add_ledger_row(a, &sorted[fed++], err, sizeof err), "%s", err);
    for (size_t i = early; i < w->n_answers; i++) cr_assert(offer(a, &w->answers[i]));
    cr_assert(audit_replay_finish(a, err, sizeof err), "%s", err);
}

static audit_replay *new_audit(world *w) {
    audit_replay *a = w->window ? audit_replay_new_window(collect, w, w->window) : audit_replay_new(collect, w);
    cr_assert_not_null(a);
    return a;
}

static void set_range(audit_replay *a, int32_t p, int64_t start, int64_t end, int64_t results_end) {
    char err[256];
    cr_assert(audit_replay_set_range(a, p, start, end, results_end, err, sizeof err), "%s", err);
}

static void inventory(audit_replay *a, const char *item, int64_t count) {
    char err[256];
    cr_assert(audit_replay_add_inventory(a, item, count, err, sizeof err), "%s", err);
}

static void dump(const world *w) {
    for (size_t i = 0; i < w->n_divs; i++)
        fprintf(stderr, "  %s order=%s item=%s p=%d o=%lld: %s (expected %s; found %s)\n",
                divergence_kind_name(w->divs[i].kind), w->divs[i].order_id, w->divs[i].item, w->divs[i].partition,
                (long long)w->divs[i].offset, w->divs[i].detail, w->divs[i].expected, w->divs[i].found);
}

static void expect_divs(const world *w, size_t n) {
    if (w->n_divs != n) dump(w);
    cr_assert_eq(w->n_divs, n, "expected %zu divergences, got %zu", n, w->n_divs);
}

/* The clean world: two partitions with restocks, orders, a duplicate, an
 * unknown item, an invalid message with an order_id and one without. */
static void clean_world(world *w) {
    memset(w, 0, sizeof *w);
    order_msg(w, 0, 0, "r-1", "apple", "restock", 10);
    decided(w, "r-1", "apple", OL_TYPE_RESTOCK, 10, OL_STATUS_ACCEPTED, OL_REASON_NONE, 10, 0, 0);
    order_msg(w, 0, 1, "o-1", "apple", "order", 3);
    decided(w, "o-1", "apple", OL_TYPE_ORDER, 3, OL_STATUS_ACCEPTED, OL_REASON_NONE, 7, 0, 1);
    order_msg(w, 0, 2, "o-1", "apple", "order", 3);
    answer_duplicate(w, "o-1", 0, 2);
    msg(w, 0, 3, "apple", "{\"order_id\":\"bad-1\",\"item\":\"apple\",\"quantity\":0}");
    answer_invalid(w, "bad-1", 0, 3);
    msg(w, 0, 4, "apple", "not json at all");
    order_msg(w, 0, 5, "o-2", "apple", "order", 8);
    decided(w, "o-2", "apple", OL_TYPE_ORDER, 8, OL_STATUS_REJECTED, OL_REASON_INSUFFICIENT_STOCK, 7, 0, 5);
    order_msg(w, 1, 0, "o-3", "pear", "order", 1);
    decided(w, "o-3", "pear", OL_TYPE_ORDER, 1, OL_STATUS_REJECTED, OL_REASON_UNKNOWN_ITEM, -1, 1, 0);
    order_msg(w, 1, 1, "r-2", "pear", "restock", 5);
    decided(w, "r-2", "pear", OL_TYPE_RESTOCK, 5, OL_STATUS_ACCEPTED, OL_REASON_NONE, 5, 1, 1);
}

static audit_replay *clean_audit(world *w) {
    audit_replay *a = new_audit(w);
    set_range(a, 0, 0, 6, 6);
    set_range(a, 1, 0, 2, 2);
    inventory(a, "apple", 7);
    inventory(a, "pear", 5);
    return a;
}

Test(audit, clean_log_agrees) {
    world w;
    clean_world(&w);
    audit_replay *a = clean_audit(&w);
    run(a, &w);
    expect_divs(&w, 0);
    const audit_stats *s = audit_replay_stats(a);
    cr_assert_eq(s->messages, 8);
    cr_assert_eq(s->invalid, 2);
    cr_assert_eq(s->decisions, 5);
    cr_assert_eq(s->duplicates, 1);
    cr_assert_eq(s->results_checked, 7);
    cr_assert_eq(s->items, 2);
    cr_assert_eq(s->lookups, 0, "no lookup when every row sits at its message");
    audit_replay_destroy(a);
}

Test(audit, hand_edited_stock_is_drift) {
    world w;
    clean_world(&w);
    audit_replay *a = new_audit(&w);
    set_range(a, 0, 0, 6, 6);
    set_range(a, 1, 0, 2, 2);
    inventory(a, "apple", 14); /* UPDATE inventories SET count = count + 7 */
    inventory(a, "pear", 5);
    run(a, &w);
    expect_divs(&w, 1);
    cr_assert_eq(w.divs[0].kind, DIV_STOCK_DRIFT);
    cr_assert_str_eq(w.divs[0].item, "apple");
    cr_assert_str_eq(w.divs[0].expected, "7");
    cr_assert_str_eq(w.divs[0].found, "14");
    cr_assert(strstr(w.divs[0].detail, "+7"), "%s", w.divs[0].detail);
    audit_replay_destroy(a);
}

Test(audit, items_only_in_inventories_or_only_in_the_replay) {
    world w;
    clean_world(&w);
    audit_replay *a = new_audit(&w);
    set_range(a, 0, 0, 6, 6);
    set_range(a, 1, 0, 2, 2);
    inventory(a, "apple", 7); /* pear missing */
    inventory(a, "ghost", 3); /* never created */
    run(a, &w);
    expect_divs(&w, 2);
    bool pear = false, ghost = false;
    for (size_t i = 0; i < w.n_divs; i++) {
        cr_assert_eq(w.divs[i].kind, DIV_STOCK_DRIFT);
        pear |= strcmp(w.divs[i].item, "pear") == 0;
        ghost |= strcmp(w.divs[i].item, "ghost") == 0;
    }
    cr_assert(pear && ghost);
    audit_replay_destroy(a);
}

Test(audit, one_message_per_batch_agrees) {
    world w;
    clean_world(&w);
    w.batch_max = 1;
    audit_replay *a = clean_audit(&w);
    run(a, &w);
    expect_divs(&w, 0);
    /* Decisions are not held past their batch: o-1's duplicate finds its
     * original in the ledger. */
    cr_assert_eq(audit_replay_stats(a)->lookups, 1);
    cr_assert_eq(audit_replay_stats(a)->duplicates, 1);
    audit_replay_destroy(a);
}

Test(audit, decision_without_a_row_outlives_its_batch) {
    world w;
    clean_world(&w);
    w.batch_max = 1;
    remove_ledger_row(&w, "o-1");
    audit_replay *a = clean_audit(&w);
    run(a, &w);
    /* Its duplicate in the next batch is a duplicate of the replay's own
     * decision, not a second missing row. */
    expect_divs(&w, 1);
    cr_assert_eq(w.divs[0].kind, DIV_LEDGER_MISSING);
    cr_assert_eq(w.divs[0].offset, 1);
    cr_assert_eq(audit_replay_stats(a)->duplicates, 1);
    audit_replay_destroy(a);
}

Test(audit, answers_read_after_their_partition_are_compared) {
    world w;
    clean_world(&w);
    /* The answers of o-1's duplicate (partition 0) and of o-3 (partition 1)
     * come last, as from another results partition read later. */
    ol_result moved[2];
    size_t k = 0;
    for (size_t i = 0; i < w.n_answers; i++) {
        const ol_result *r = &w.answers[i];
        if ((r->partition == 0 && r->offset == 2) || (r->partition == 1 && r->offset == 0)) moved[k++] = *r;
        else w.answers[i - k] = *r;
    }
    cr_assert_eq(k, 2);
    w.answers[w.n_answers - 2] = moved[0];
    w.answers[w.n_answers - 1] = moved[1];
    moved[1].duplicate = true; /* and a differing copy of o-3's */
    w.answers[w.n_answers++] = moved[1];
    w.late_answers = 3;
    audit_replay *a = clean_audit(&w);
    run(a, &w);
    expect_divs(&w, 1);
    cr_assert_eq(w.divs[0].kind, DIV_RESULT_CONFLICTING);
    cr_assert_str_eq(w.divs[0].order_id, "o-3");
    cr_assert_eq(audit_replay_stats(a)->results_checked, 7, "every answer, the late ones included");
    audit_replay_destroy(a);
}

Test(audit, deleted_ledger_row_names_the_order) {
    world w;
    clean_world(&w);
    remove_ledger_row(&w, "o-1"); /* DELETE FROM orders WHERE order_id = 'o-1' */
    audit_replay *a = clean_audit(&w);
    run(a, &w);
    expect_divs(&w, 1);
    cr_assert_eq(w.divs[0].kind, DIV_LEDGER_MISSING);
    cr_assert_str_eq(w.divs[0].order_id, "o-1");
    cr_assert_eq(w.divs[0].partition, 0);
    cr_assert_eq(w.divs[0].offset, 1);
    cr_assert_eq(audit_replay_stats(a)->lookups, 1);
    audit_replay_destroy(a);
}

Test(audit, differing_decision_is_reported_once) {
    /* A hand edit gave apple 7 more between o-1 and o-2: the consumer
     * accepted o-2 (remaining 6) and then o-4 (remaining 0); the rules
     * without the edit reject o-2. The replay then follows the ledger, so
     * o-4 agrees and so does the final stock. */
    world w;
    memset(&w, 0, sizeof w);
    order_msg(&w, 0, 0, "r-1", "apple", "restock", 10);
    decided(&w, "r-1", "apple", OL_TYPE_RESTOCK, 10, OL_STATUS_ACCEPTED, OL_REASON_NONE, 10, 0, 0);
    order_msg(&w, 0, 1, "o-1", "apple", "order", 3);
    decided(&w, "o-1", "apple", OL_TYPE_ORDER, 3, OL_STATUS_ACCEPTED, OL_REASON_NONE, 7, 0, 1);
    order_msg(&w, 0, 2, "o-2", "apple", "order", 8);
    decided(&w, "o-2", "apple", OL_TYPE_ORDER, 8, OL_STATUS_ACCEPTED, OL_REASON_NONE, 6, 0, 2);
    order_msg(&w, 0, 3, "o-4", "apple", "order", 6);
    decided(&w, "o-4", "apple", OL_TYPE_ORDER, 6, OL_STATUS_ACCEPTED, OL_REASON_NONE, 0, 0, 3);
    order_msg(&w, 0, 4, "o-2", "apple", "order", 8);
    answer_duplicate(&w, "o-2", 0, 4);
    audit_replay *a = new_audit(&w);
    set_range(a, 0, 0, 5, 5);
    inventory(a, "apple", 0);
    run(a, &w);
    expect_divs(&w, 1);
    cr_assert_eq(w.divs[0].kind, DIV_DECISION_DIFFERS);
    cr_assert_str_eq(w.divs[0].order_id, "o-2");
    cr_assert_eq(w.divs[0].offset, 2);
    cr_assert(strstr(w.divs[0].expected, "insufficient_stock"), "%s", w.divs[0].expected);
    cr_assert(strstr(w.divs[0].found, "accepted, remaining 6"), "%s", w.divs[0].found);
    audit_replay_destroy(a);
}

Test(audit, missing_and_unacknowledged_answers) {
    world w;
    clean_world(&w);
    /* Drop the answers of o-2 (p0 o5) and r-2 (p1 o1). */
    size_t kept = 0;
    for (size_t i = 0; i < w.n_answers; i++) {
        const ol_result *r = &w.answers[i];
        if ((r->partition == 0 && r->offset == 5) || (r->partition == 1 && r->offset == 1)) continue;
        w.answers[kept++] = *r;
    }
    w.n_answers = kept;
    audit_replay *a = new_audit(&w);
    set_range(a, 0, 0, 6, 6);
    set_range(a, 1, 0, 2, 1); /* p1 o1 is decided but its answer not acknowledged yet */
    inventory(a, "apple", 7);
    inventory(a, "pear", 5);
    run(a, &w);
    expect_divs(&w, 1);
    cr_assert_eq(w.divs[0].kind, DIV_RESULT_MISSING);
    cr_assert_str_eq(w.divs[0].order_id, "o-2");
    cr_assert_eq(w.divs[0].partition, 0);
    cr_assert_eq(w.divs[0].offset, 5);
    audit_replay_destroy(a);
}

Test(audit, conflicting_and_unexpected_answers) {
    world w;
    clean_world(&w);
    /* A wrong remaining for o-1's duplicate; a republished copy of r-1 that
     * differs; an answer for the junk message that has no order_id. */
    for (size_t i = 0; i < w.n_answers; i++)
        if (w.answers[i].partition == 0 && w.answers[i].offset == 2) w.answers[i].remaining = 99;
    ol_result copy = w.answers[0];
    copy.status = OL_STATUS_REJECTED;
    copy.reason = OL_REASON_INSUFFICIENT_STOCK;
    w.answers[w.n_answers++] = copy;
    ol_result junk;
    memset(&junk, 0, sizeof junk);
    strcpy(junk.order_id, "phantom");
    junk.status = OL_STATUS_REJECTED;
    junk.reason = OL_REASON_INVALID;
    junk.offset = 4;
    w.answers[w.n_answers++] = junk;
    audit_replay *a = clean_audit(&w);
    run(a, &w);
    expect_divs(&w, 3);
    cr_assert_eq(w.divs[0].kind, DIV_RESULT_CONFLICTING, "copies differ: reported while reading");
    cr_assert_eq(w.divs[0].offset, 0);
    cr_assert_eq(w.divs[1].kind, DIV_RESULT_CONFLICTING);
    cr_assert_eq(w.divs[1].offset, 2);
    cr_assert(strstr(w.divs[1].found, "remaining 99"), "%s", w.divs[1].found);
    cr_assert(strstr(w.divs[1].expected, "remaining 7, duplicate"), "%s", w.divs[1].expected);
    cr_assert_eq(w.divs[2].kind, DIV_RESULT_UNEXPECTED);
    cr_assert_str_eq(w.divs[2].order_id, "phantom");
    audit_replay_destroy(a);
}

/* conflicting_and_unexpected_answers' world, one message a batch, with
 * an answers window of the given size. */
static void conflicting_world(world *w, size_t window) {
    clean_world(w);
    w->batch_max = 1;
    w->window = window;
    for (size_t i = 0; i < w->n_answers; i++)
        if (w->answers[i].partition == 0 && w->answers[i].offset == 2) w->answers[i].remaining = 99;
    ol_result copy = w->answers[0];
    copy.status = OL_STATUS_REJECTED;
    w->answers[w->n_answers++] = copy; /* r-1 published again, differing, after o-2's answer */
    ol_result junk;
    memset(&junk, 0, sizeof junk);
    strcpy(junk.order_id, "phantom");
    junk.status = OL_STATUS_REJECTED;
    junk.reason = OL_REASON_INVALID;
    junk.offset = 4;
    w->answers[w->n_answers++] = junk;
}

Test(audit, a_small_window_finds_what_a_whole_partition_read_finds) {
    world whole, small;
    conflicting_world(&whole, 0);
    conflicting_world(&small, 8);
    audit_replay *a = clean_audit(&whole), *b = clean_audit(&small);
    run(a, &whole);
    run(b, &small);
    expect_divs(&whole, 3);
    expect_divs(&small, 3);
    for (size_t i = 0; i < 3; i++) {
        bool found = false;
        for (size_t j = 0; j < 3; j++)
            found |= small.divs[j].kind == whole.divs[i].kind && small.divs[j].offset == whole.divs[i].offset &&
                     strcmp(small.divs[j].found, whole.divs[i].found) == 0;
        cr_assert(found, "%s at %lld", divergence_kind_name(whole.divs[i].kind), (long long)whole.divs[i].offset);
    }
    cr_assert_eq(audit_replay_stats(b)->results_checked, audit_replay_stats(a)->results_checked);
    cr_assert_eq(audit_replay_stats(b)->results_unverified, 0);
    audit_replay_destroy(a);
    audit_replay_destroy(b);
}

Test(audit, a_copy_published_beyond_the_window_is_counted_not_compared) {
    world w;
    conflicting_world(&w, 1);
    audit_replay *a = clean_audit(&w);
    run(a, &w);
    expect_divs(&w, 2);
    cr_assert_eq(w.divs[0].kind, DIV_RESULT_CONFLICTING, "o-1's duplicate, against the rules");
    cr_assert_eq(w.divs[0].offset, 2);
    cr_assert_eq(w.divs[1].kind, DIV_RESULT_UNEXPECTED);
    cr_assert_str_eq(w.divs[1].order_id, "phantom");
    cr_assert_eq(audit_replay_stats(a)->results_unverified, 1, "r-1's copy came after its first had left");
    audit_replay_destroy(a);
}

Test(audit, ledger_rows_without_their_message) {
    world w;
    clean_world(&w);
    /* A row at the junk message's position, one beyond the stored
     * position, one in a partition the consumer never stored. */
    w.ledger[w.n_ledger++] = decision("x-1", "apple", OL_TYPE_ORDER, 1, OL_STATUS_ACCEPTED, OL_REASON_NONE, 1, 0, 4);
    w.ledger[w.n_ledger++] = decision("x-2", "apple", OL_TYPE_ORDER, 1, OL_STATUS_ACCEPTED, OL_REASON_NONE, 1, 0, 9);
    w.ledger[w.n_ledger++] = decision("x-3", "plum", OL_TYPE_ORDER, 1, OL_STATUS_ACCEPTED, OL_REASON_NONE, 1, 5, 0);
    audit_replay *a = clean_audit(&w);
    run(a, &w);
    expect_divs(&w, 3);
    const char *ids[3] = {"x-1", "x-2", "x-3"};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(w.divs[i].kind, DIV_NOT_IN_LOG);
        cr_assert_str_eq(w.divs[i].order_id, ids[i]);
    }
    cr_assert(strstr(w.divs[0].detail, "not a valid order"), "%s", w.divs[0].detail);
    cr_assert(strstr(w.divs[1].detail, "beyond the stored position"), "%s", w.divs[1].detail);
    cr_assert(strstr(w.divs[2].detail, "no stored position"), "%s", w.divs[2].detail);
    audit_replay_destroy(a);
}

Test(audit, row_for_another_order_at_a_position) {
    world w;
    clean_world(&w);
    /* The row of o-2 moved to o-1's message: o-1 lost its row. */
    for (size_t i = 0; i < w.n_ledger; i++)
        if (strcmp(w.ledger[i].order_id, "o-1") == 0) strcpy(w.ledger[i].order_id, "zz");
    audit_replay *a = clean_audit(&w);
    run(a, &w);
    expect_divs(&w, 2);
    cr_assert_eq(w.divs[0].kind, DIV_NOT_IN_LOG);
    cr_assert_str_eq(w.divs[0].order_id, "zz");
    cr_assert(strstr(w.divs[0].detail, "order 'o-1'"), "%s", w.divs[0].detail);
    cr_assert_eq(w.divs[1].kind, DIV_LEDGER_MISSING);
    cr_assert_str_eq(w.divs[1].order_id, "o-1");
    audit_replay_destroy(a);
}

Test(audit, duplicate_across_partitions_original_later) {
    /* The same order_id for two items: the consumer happened to decide the
     * message of partition 1 first; partition 0's copy is the duplicate. */
    world w;
    memset(&w, 0, sizeof w);
    order_msg(&w, 0, 0, "r-a", "apple", "restock", 5);
    decided(&w, "r-a", "apple", OL_TYPE_RESTOCK, 5, OL_STATUS_ACCEPTED, OL_REASON_NONE, 5, 0, 0);
    order_msg(&w, 1, 0, "r-p", "pear", "restock", 5);
    decided(&w, "r-p", "pear", OL_TYPE_RESTOCK, 5, OL_STATUS_ACCEPTED, OL_REASON_NONE, 5, 1, 0);
    order_msg(&w, 1, 1, "twin", "pear", "order", 2);
    decided(&w, "twin", "pear", OL_TYPE_ORDER, 2, OL_STATUS_ACCEPTED, OL_REASON_NONE, 3, 1, 1);
    order_msg(&w, 0, 1, "twin", "apple", "order", 4);
    answer_duplicate(&w, "twin", 0, 1);
    /* Messages in replay order: partition 0 first. */
    audit_msg sorted[MAX_MSGS];
    size_t n = 0;
    for (int p = 0; p < 2; p++)
        for (size_t i = 0; i < w.n_msgs; i++)
            if (w.msgs[i].partition == p) sorted[n++] = w.msgs[i];
    memcpy(w.msgs, sorted, n * sizeof sorted[0]);
    audit_replay *a = new_audit(&w);
    set_range(a, 0, 0, 2, 2);
    set_range(a, 1, 0, 2, 2);
    inventory(a, "apple", 5);
    inventory(a, "pear", 3);
    run(a, &w);
    expect_divs(&w, 0);
    const audit_stats *s = audit_replay_stats(a);
    cr_assert_eq(s->deferred, 1);
    cr_assert_eq(s->duplicates, 1);
    cr_assert_eq(s->results_checked, 4);
    audit_replay_destroy(a);
}

Test(audit, duplicate_across_partitions_with_wrong_answer) {
    world w;
    memset(&w, 0, sizeof w);
    order_msg(&w, 0, 0, "twin", "apple", "order", 4);
    order_msg(&w, 1, 0, "r-p", "pear", "restock", 5);
    decided(&w, "r-p", "pear", OL_TYPE_RESTOCK, 5, OL_STATUS_ACCEPTED, OL_REASON_NONE, 5, 1, 0);
    order_msg(&w, 1, 1, "twin", "pear", "order", 2);
    decided(&w, "twin", "pear", OL_TYPE_ORDER, 2, OL_STATUS_ACCEPTED, OL_REASON_NONE, 3, 1, 1);
    answer_duplicate(&w, "twin", 0, 0);
    w.answers[w.n_answers - 1].duplicate = false; /* answered as if original */
    audit_replay *a = new_audit(&w);
    set_range(a, 0, 0, 1, 1);
    set_range(a, 1, 0, 2, 2);
    inventory(a, "pear", 3);
    run(a, &w);
    expect_divs(&w, 1);
    cr_assert_eq(w.divs[0].kind, DIV_RESULT_CONFLICTING);
    cr_assert_eq(w.divs[0].partition, 0);
    audit_replay_destroy(a);
}

Test(audit, duplicate_across_partitions_original_earlier) {
    world w;
    memset(&w, 0, sizeof w);
    order_msg(&w, 0, 0, "r-a", "apple", "restock", 5);
    decided(&w, "r-a", "apple", OL_TYPE_RESTOCK, 5, OL_STATUS_ACCEPTED, OL_REASON_NONE, 5, 0, 0);
    order_msg(&w, 0, 1, "twin", "apple", "order", 4);
    decided(&w, "twin", "apple", OL_TYPE_ORDER, 4, OL_STATUS_ACCEPTED, OL_REASON_NONE, 1, 0, 1);
    order_msg(&w, 1, 0, "twin", "pear", "order", 2);
    answer_duplicate(&w, "twin", 1, 0);
    audit_replay *a = new_audit(&w);
    set_range(a, 0, 0, 2, 2);
    set_range(a, 1, 0, 1, 1);
    inventory(a, "apple", 1);
    run(a, &w);
    expect_divs(&w, 0);
    /* The replay holds one batch's decisions: the original, decided in an
     * earlier batch, is found in the ledger. */
    cr_assert_eq(audit_replay_stats(a)->lookups, 1);
    audit_replay_destroy(a);
}

Test(audit, since_starts_from_given_stock_and_earlier_decisions) {
    /* Replay from offset 3: stock at that point comes from the ledger
     * before it (the caller's job); an order_id decided before the start
     * and repeated after it is a duplicate. */
    world w;
    memset(&w, 0, sizeof w);
    ol_result early = decision("o-1", "apple", OL_TYPE_ORDER, 3, OL_STATUS_ACCEPTED, OL_REASON_NONE, 7, 0, 1);
    w.ledger[w.n_ledger++] = early; /* before the start: found by lookup, not fed */
    order_msg(&w, 0, 3, "o-1", "apple", "order", 3);
    answer_duplicate(&w, "o-1", 0, 3);
    order_msg(&w, 0, 4, "o-5", "apple", "order", 7);
    decided(&w, "o-5", "apple", OL_TYPE_ORDER, 7, OL_STATUS_ACCEPTED, OL_REASON_NONE, 0, 0, 4);
    audit_replay *a = new_audit(&w);
    char err[128];
    set_range(a, 0, 3, 5, 5);
    cr_assert(audit_replay_set_stock(a, "apple", (ol_stock){true, 7}, err, sizeof err));
    inventory(a, "apple", 0);
    run(a, &w);
    expect_divs(&w, 0);
    cr_assert_eq(audit_replay_stats(a)->lookups, 1);
    cr_assert_eq(audit_replay_stats(a)->duplicates, 1);
    audit_replay_destroy(a);
}

Test(audit, decision_on_another_topic_is_earlier) {
    world w;
    memset(&w, 0, sizeof w);
    ol_result other =
        decision("o-x", "apple", OL_TYPE_ORDER, 1, OL_STATUS_REJECTED, OL_REASON_UNKNOWN_ITEM, -1, -1, 77);
    order_msg(&w, 0, 0, "o-x", "apple", "order", 1);
    ol_result dup = other;
    dup.duplicate = true;
    dup.partition = 0;
    dup.offset = 0;
    w.answers[w.n_answers++] = dup;
    audit_replay *a = new_audit(&w);
    set_range(a, 0, 0, 1, 1);
    char err[128];
    cr_assert(offer(a, &w.answers[0]));
    w.n_answers = 0;
    const char *const *ids;
    size_t n;
    cr_assert(audit_replay_prepare(a, w.msgs, 1, &ids, &n, err, sizeof err));
    cr_assert_eq(n, 1);
    cr_assert_str_eq(ids[0], "o-x");
    cr_assert(audit_replay_add_prior(a, &other, err, sizeof err));
    cr_assert(audit_replay_decide(a, err, sizeof err));
    cr_assert(audit_replay_finish(a, err, sizeof err));
    expect_divs(&w, 0);
    audit_replay_destroy(a);
}

Test(audit, original_misplaced_in_the_ledger) {
    /* The consumer decided offset 1 and answered offset 2 as its
     * duplicate; then someone moved the ledger row to offset 2 by hand. */
    world w;
    memset(&w, 0, sizeof w);
    order_msg(&w, 0, 0, "r-1", "apple", "restock", 10);
    decided(&w, "r-1", "apple", OL_TYPE_RESTOCK, 10, OL_STATUS_ACCEPTED, OL_REASON_NONE, 10, 0, 0);
    order_msg(&w, 0, 1, "o-1", "apple", "order", 3);
    decided(&w, "o-1", "apple", OL_TYPE_ORDER, 3, OL_STATUS_ACCEPTED, OL_REASON_NONE, 7, 0, 1);
    order_msg(&w, 0, 2, "o-1", "apple", "order", 3);
    answer_duplicate(&w, "o-1", 0, 2);
    w.ledger[1].offset = 2;
    audit_replay *a = new_audit(&w);
    set_range(a, 0, 0, 3, 3);
    inventory(a, "apple", 7);
    run(a, &w);
    expect_divs(&w, 1);
    cr_assert_eq(w.divs[0].kind, DIV_ORIGINAL_DIFFERS);
    cr_assert_str_eq(w.divs[0].order_id, "o-1");
    cr_assert_eq(w.divs[0].offset, 1);
    audit_replay_destroy(a);
}

Test(audit, log_shorter_than_the_stored_position) {
    world w;
    clean_world(&w);
    audit_replay *a = new_audit(&w);
    set_range(a, 0, 0, 8, 6); /* the consumer claims offsets 6 and 7 too */
    set_range(a, 1, 0, 2, 2);
    inventory(a, "apple", 7);
    inventory(a, "pear", 5);
    run(a, &w);
    expect_divs(&w, 1);
    cr_assert_eq(w.divs[0].kind, DIV_LOG_SHORT);
    cr_assert_eq(w.divs[0].partition, 0);
    cr_assert_eq(w.divs[0].offset, 6);
    audit_replay_destroy(a);
}

Test(audit, messages_outside_the_ranges_are_ignored) {
    world w;
    clean_world(&w);
    order_msg(&w, 1, 2, "late", "pear", "order", 1); /* beyond the stored position: undecided */
    audit_replay *a = clean_audit(&w);
    run(a, &w);
    expect_divs(&w, 0);
    cr_assert_eq(audit_replay_stats(a)->messages, 8);
    audit_replay_destroy(a);
}

Test(audit, item_in_two_partitions_is_counted) {
    world w;
    memset(&w, 0, sizeof w);
    order_msg(&w, 0, 0, "a", "apple", "order", 1);
    decided(&w, "a", "apple", OL_TYPE_ORDER, 1, OL_STATUS_REJECTED, OL_REASON_UNKNOWN_ITEM, -1, 0, 0);
    order_msg(&w, 1, 0, "b", "apple", "order", 1);
    decided(&w, "b", "apple", OL_TYPE_ORDER, 1, OL_STATUS_REJECTED, OL_REASON_UNKNOWN_ITEM, -1, 1, 0);
    audit_replay *a = new_audit(&w);
    set_range(a, 0, 0, 1, 1);
    set_range(a, 1, 0, 1, 1);
    run(a, &w);
    expect_divs(&w, 0);
    cr_assert_eq(audit_replay_stats(a)->shared_items, 1);
    audit_replay_destroy(a);
}

Test(audit, misuse_is_an_error) {
    world w;
    memset(&w, 0, sizeof w);
    audit_replay *a = new_audit(&w);
    char err[256];
    cr_assert_not(audit_replay_set_range(a, 0, 5, 3, 3, err, sizeof err));
    set_range(a, 0, 0, 10, 10);
    cr_assert_not(audit_replay_set_range(a, 0, 0, 10, 10, err, sizeof err), "a range given twice");
    ol_result r1 = decision("a", "x", OL_TYPE_ORDER, 1, OL_STATUS_ACCEPTED, OL_REASON_NONE, 0, 0, 5);
    ol_result r2 = decision("b", "x", OL_TYPE_ORDER, 1, OL_STATUS_ACCEPTED, OL_REASON_NONE, 0, 0, 4);
    cr_assert(audit_replay_add_ledger_row(a, &r1, err, sizeof err));
    cr_assert_not(audit_replay_add_ledger_row(a, &r2, err, sizeof err));
    cr_assert(strstr(err, "out of order"));
    cr_assert_not(audit_replay_decide(a, err, sizeof err), "decide before prepare");
    order_msg(&w, 0, 1, "m", "x", "order", 1);
    order_msg(&w, 0, 0, "n", "x", "order", 1);
    const char *const *ids;
    size_t n;
    cr_assert_not(audit_replay_prepare(a, w.msgs, 2, &ids, &n, err, sizeof err), "offsets going back");
    audit_replay_destroy(a);
    audit_replay_destroy(NULL);
}

Test(replay, a_hold_standing_past_its_deadline_is_named) {
    static world w;
    memset(&w, 0, sizeof w);
    audit_replay *a = audit_replay_new(collect, &w);
    cr_assert_not_null(a);
    ol_result row = {.partition = 2, .offset = 41, .quantity = 3, .status = OL_STATUS_HELD};
    strcpy(row.order_id, "h-9");
    strcpy(row.item, "widget");
    audit_replay_add_open_hold(a, &row, 12);
    cr_assert_eq(w.n_divs, 1);
    cr_assert_eq(w.divs[0].kind, DIV_HOLD_NOT_RELEASED);
    cr_assert_str_eq(w.divs[0].order_id, "h-9");
    cr_assert_eq(w.divs[0].partition, 2);
    cr_assert_eq(w.divs[0].offset, 41);
    cr_assert(strstr(w.divs[0].found, "12 s"), "%s", w.divs[0].found);
    cr_assert_eq(audit_replay_stats(a)->divergences, 1);
    audit_replay_destroy(a);
}

Test(replay, units_given_back_twice_are_named) {
    static world w;
    memset(&w, 0, sizeof w);
    audit_replay *a = new_audit(&w);
    set_range(a, 0, 0, 10, 10);
    set_range(a, 1, 0, 10, 10);
    char err[256];
    ol_result c1 = decision("c-1", "x", OL_TYPE_CANCEL, 2, OL_STATUS_ACCEPTED, OL_REASON_NONE, 5, 0, 3);
    ol_result c2 = decision("c-2", "x", OL_TYPE_CANCEL, 2, OL_STATUS_ACCEPTED, OL_REASON_NONE, 7, 0, 4);
    ol_result e = decision("o-1#expire", "x", OL_TYPE_EXPIRE, 2, OL_STATUS_ACCEPTED, OL_REASON_NONE, 9, 0, 5);
    ol_result other = decision("c-3", "y", OL_TYPE_CANCEL, 1, OL_STATUS_ACCEPTED, OL_REASON_NONE, 1, 1, 0);
    ol_result refused =
        decision("c-4", "y", OL_TYPE_CANCEL, 1, OL_STATUS_REJECTED, OL_REASON_ALREADY_CANCELLED, 1, 1, 1);
    strcpy(c1.target, "o-1");
    strcpy(c2.target, "o-1");
    strcpy(e.target, "o-1");
    strcpy(other.target, "o-2");
    strcpy(refused.target, "o-2");
    cr_assert(audit_replay_add_ledger_row(a, &c1, err, sizeof err), "%s", err);
    cr_assert_eq(w.n_divs, 0, "a first cancel gives the units back once");
    cr_assert(audit_replay_add_ledger_row(a, &c2, err, sizeof err), "%s", err);
    cr_assert(audit_replay_add_ledger_row(a, &e, err, sizeof err), "%s", err);
    cr_assert(audit_replay_add_ledger_row(a, &other, err, sizeof err), "%s", err);
    cr_assert(audit_replay_add_ledger_row(a, &refused, err, sizeof err), "%s", err);
    dump(&w);
    cr_assert_eq(w.n_divs, 2);
    cr_assert_eq(w.divs[0].kind, DIV_CANCEL_APPLIED_TWICE);
    cr_assert_str_eq(w.divs[0].order_id, "c-2");
    cr_assert_eq(w.divs[1].kind, DIV_CANCEL_APPLIED_TWICE);
    cr_assert_str_eq(w.divs[1].order_id, "o-1#expire");
    cr_assert_eq(audit_replay_stats(a)->by_kind[DIV_CANCEL_APPLIED_TWICE], 2);
    audit_replay_destroy(a);
}

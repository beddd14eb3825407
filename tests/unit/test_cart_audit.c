/* Unit tests for cart_audit: the carts topic's replay in order-audit, fed by
 * hand with small carts logs, published answers and the lines' holds. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "cart_audit.h"

#define MAX_DIVS 16

typedef struct seen {
    divergence_kind kinds[MAX_DIVS];
    char order_ids[MAX_DIVS][OL_ORDER_ID_MAX + 1];
    char texts[MAX_DIVS][1200]; /* expected and found, for failure messages */
    size_t n;
} seen;

static void collect(void *ctx, const divergence *d) {
    seen *s = ctx;
    cr_assert_lt(s->n, MAX_DIVS);
    s->kinds[s->n] = d->kind;
    snprintf(s->order_ids[s->n], sizeof s->order_ids[s->n], "%s", d->order_id ? d->order_id : "");
    snprintf(s->texts[s->n], sizeof s->texts[s->n], "%s: expected %s, found %s", d->detail, d->expected, d->found);
    s->n++;
}

static seen found;
static cart_audit *audit;
static int64_t next_offset;

static void setup(void) {
    memset(&found, 0, sizeof found);
    audit = cart_audit_new(collect, &found);
    cr_assert_not_null(audit);
    next_offset = 0;
    char err[256];
    cr_assert(cart_audit_begin_partition(audit, 0, err, sizeof err), "%s", err);
}

static void teardown(void) { cart_audit_destroy(audit); }

/* The next message of partition 0, logged at ts_ms. */
static void msg(const char *key, const char *value, int64_t ts_ms) {
    audit_msg m = {0, next_offset++, key, key ? strlen(key) : 0, value, strlen(value), ts_ms};
    char err[256];
    cr_assert(cart_audit_add_msg(audit, &m, err, sizeof err), "%s", err);
}

static void line(const char *cart, int n, const char *phase, const char *item, const char *status, const char *reason) {
    char v[512];
    snprintf(v, sizeof v,
             "{\"type\":\"line_result\",\"cart_id\":\"%s\",\"line\":%d,\"phase\":\"%s\",\"item\":\"%s\","
             "\"status\":\"%s\",\"reason\":%s,\"partition\":1,\"offset\":%d}",
             cart, n, phase, item, status, reason, 100 + n);
    msg(cart, v, 2000);
}

static void answer(const char *json) {
    char err[256];
    cr_assert(cart_audit_is_answer(json, strlen(json)));
    cr_assert(cart_audit_add_answer(audit, json, strlen(json), err, sizeof err), "%s", err);
}

static void hold(const char *id, cart_hold_state state) {
    char err[256];
    cr_assert(cart_audit_add_hold(audit, id, state, err, sizeof err), "%s", err);
}

static void finish(bool complete) {
    char err[256];
    cr_assert(cart_audit_finish_partition(audit, complete, err, sizeof err), "%s", err);
}

#define ACCEPTED_C1                                                                                                    \
    "{\"order_id\":\"c1\",\"cart_id\":\"c1\",\"type\":\"cart\",\"status\":\"accepted\",\"reason\":null,"               \
    "\"state\":\"accepted\",\"hold_expires_at\":null,\"lines\":[{\"item\":\"a\",\"quantity\":1,\"status\":"            \
    "\"accepted\",\"reason\":null},{\"item\":\"b\",\"quantity\":2,\"status\":\"accepted\",\"reason\":null}],"          \
    "\"duplicate\":%s,\"topic\":\"carts\",\"partition\":0,\"offset\":0,\"processed_at\":\"2026-12-03T00:00:0%dZ\"}"

/* c1 of a and b, every hold granted and committed. */
static void accepted_cart(void) {
    msg("c1", "{\"cart_id\":\"c1\",\"lines\":[{\"item\":\"a\",\"quantity\":1},{\"item\":\"b\",\"quantity\":2}]}", 1000);
    line("c1", 0, "hold", "a", "held", "null");
    line("c1", 1, "hold", "b", "held", "null");
    line("c1", 0, "commit", "a", "accepted", "null");
    line("c1", 1, "commit", "b", "accepted", "null");
}

static void published(const char *dup, int second) {
    char a[1024];
    snprintf(a, sizeof a, ACCEPTED_C1, dup, second);
    answer(a);
}

TestSuite(cart_audit, .init = setup, .fini = teardown);

Test(cart_audit, a_clean_cart_agrees) {
    published("false", 1);
    published("true", 2); /* a repeat of c1, answered again as a duplicate */
    accepted_cart();
    msg("c1", "{\"cart_id\":\"c1\",\"lines\":[{\"item\":\"a\",\"quantity\":1},{\"item\":\"b\",\"quantity\":2}]}", 3000);
    const char *const *ids;
    size_t n;
    char err[256];
    cr_assert(cart_audit_hold_ids(audit, &ids, &n, err, sizeof err));
    cr_assert_eq(n, 2);
    cr_assert_str_eq(ids[0], "c1#0#hold");
    hold("c1#0#hold", CART_HOLD_SOLD);
    hold("c1#1#hold", CART_HOLD_SOLD);
    finish(true);
    cr_assert_eq(found.n, 0, "%zu divergences, the first: %s", found.n, found.texts[0]);
    const cart_audit_stats *s = cart_audit_stats_get(audit);
    cr_assert_eq(s->carts, 1);
    cr_assert_eq(s->settled, 1);
    cr_assert_eq(s->answers_checked, 1);
}

Test(cart_audit, a_half_sold_cart_is_named) {
    published("false", 1);
    accepted_cart();
    hold("c1#0#hold", CART_HOLD_SOLD);
    hold("c1#1#hold", CART_HOLD_GONE); /* its units came back by another way */
    finish(true);
    cr_assert_eq(found.n, 1);
    cr_assert_eq(found.kinds[0], DIV_CART_HALF_SOLD);
    cr_assert_str_eq(found.order_ids[0], "c1");
}

Test(cart_audit, a_mismatching_answer_is_named) {
    char a[1024];
    snprintf(a, sizeof a, ACCEPTED_C1, "false", 1);
    char *status = strstr(a, "\"accepted\"");
    memcpy(status, "\"rejected\"", 10);
    answer(a);
    accepted_cart();
    hold("c1#0#hold", CART_HOLD_SOLD);
    hold("c1#1#hold", CART_HOLD_SOLD);
    finish(true);
    cr_assert_eq(found.n, 1);
    cr_assert_eq(found.kinds[0], DIV_CART_ANSWER_MISMATCH);
    cr_assert_str_eq(found.order_ids[0], "c1");
}

Test(cart_audit, a_missing_answer_counts_only_when_all_are_published) {
    accepted_cart();
    hold("c1#0#hold", CART_HOLD_SOLD);
    hold("c1#1#hold", CART_HOLD_SOLD);
    finish(false);
    cr_assert_eq(found.n, 0);
    cr_assert(cart_audit_begin_partition(audit, 1, (char[64]){0}, 64));
    next_offset = 0;
    accepted_cart();
    finish(true);
    cr_assert_eq(found.n, 1);
    cr_assert_eq(found.kinds[0], DIV_CART_ANSWER_MISMATCH);
}

Test(cart_audit, a_duplicate_line_answer_changes_nothing) {
    published("false", 1);
    msg("c1", "{\"cart_id\":\"c1\",\"lines\":[{\"item\":\"a\",\"quantity\":1},{\"item\":\"b\",\"quantity\":2}]}", 1000);
    line("c1", 0, "hold", "a", "held", "null");
    line("c1", 0, "hold", "a", "rejected", "\"insufficient_stock\""); /* a repeat: not the outstanding step */
    line("c1", 1, "hold", "b", "held", "null");
    line("c1", 0, "commit", "a", "accepted", "null");
    line("c1", 1, "commit", "b", "accepted", "null");
    line("c1", 1, "commit", "b", "accepted", "null");
    hold("c1#0#hold", CART_HOLD_SOLD);
    hold("c1#1#hold", CART_HOLD_SOLD);
    finish(true);
    cr_assert_eq(found.n, 0);
}

#define C2_ANSWER(type, id, status, reason, state, until, line_status, offset)                                         \
    "{\"order_id\":\"" id "\",\"cart_id\":\"c2\",\"type\":\"" type "\",\"status\":\"" status "\",\"reason\":" reason   \
    ",\"state\":\"" state "\",\"hold_expires_at\":" until ",\"lines\":[{\"item\":\"a\","                               \
    "\"quantity\":1,\"status\":\"" line_status "\",\"reason\":null}],\"duplicate\":false,\"topic\":\"carts\","         \
    "\"partition\":0,\"offset\":" #offset ",\"processed_at\":\"2026-12-03T00:00:00Z\"}"

/* A deadline only while held (or expired): 1 s + 100 s. */
#define C2_UNTIL "\"1970-01-01T00:01:41.000000Z\""
/* c2, held for 100 s from t = 1 s, then cancelled twice under two ids. */
static void cancelled_twice(const char *second_answer) {
    answer(C2_ANSWER("cart", "c2", "held", "null", "held", C2_UNTIL, "held", 0));
    answer(C2_ANSWER("cart_cancel", "c2#cancel", "accepted", "null", "cancelled", "null", "released", 2));
    answer(second_answer);
    msg("c2", "{\"cart_id\":\"c2\",\"lines\":[{\"item\":\"a\",\"quantity\":1}],\"hold_s\":100}", 1000);
    line("c2", 0, "hold", "a", "held", "null");
    msg("c2", "{\"type\":\"cart_cancel\",\"order_id\":\"c2#cancel\",\"cart_id\":\"c2\"}", 3000);
    msg("c2", "{\"type\":\"cart_cancel\",\"order_id\":\"c2#cancel-2\",\"cart_id\":\"c2\"}", 4000);
    line("c2", 0, "release", "a", "accepted", "null");
}

Test(cart_audit, a_cancel_twice_is_refused_the_second_time) {
    cancelled_twice(C2_ANSWER("cart_cancel", "c2#cancel-2", "rejected", "\"already_cancelled\"", "cancelled", "null",
                              "released", 3));
    hold("c2#0#hold", CART_HOLD_GONE);
    finish(true);
    cr_assert_eq(found.n, 0, "%zu divergences, the first: %s", found.n, found.texts[0]);
}

Test(cart_audit, a_cancel_twice_answered_accepted_is_named) {
    cancelled_twice(C2_ANSWER("cart_cancel", "c2#cancel-2", "accepted", "null", "cancelled", "null", "released", 3));
    hold("c2#0#hold", CART_HOLD_GONE);
    finish(true);
    cr_assert_eq(found.n, 1);
    cr_assert_eq(found.kinds[0], DIV_CART_ANSWER_MISMATCH);
    cr_assert_str_eq(found.order_ids[0], "c2#cancel-2");
}

Test(cart_audit, a_hold_left_standing_after_its_cart_ended_is_named) {
    cancelled_twice(C2_ANSWER("cart_cancel", "c2#cancel-2", "rejected", "\"already_cancelled\"", "cancelled", "null",
                              "released", 3));
    hold("c2#0#hold", CART_HOLD_STANDING); /* the release never reached the item */
    finish(true);
    cr_assert_eq(found.n, 1);
    cr_assert_eq(found.kinds[0], DIV_HOLD_NOT_RELEASED);
    cr_assert_str_eq(found.order_ids[0], "c2#0#hold");
}

Test(cart_audit, an_answer_for_a_finished_partition_is_not_verified) {
    finish(true);
    published("false", 1);
    cr_assert_eq(cart_audit_stats_get(audit)->answers_unverified, 1);
    cr_assert_eq(found.n, 0);
}

Test(cart_audit, a_release_still_in_the_outbox_is_not_named) {
    cancelled_twice(C2_ANSWER("cart_cancel", "c2#cancel-2", "rejected", "\"already_cancelled\"", "cancelled", "null",
                              "released", 3));
    hold("c2#0#hold", CART_HOLD_STANDING);
    finish(false);
    cr_assert_eq(found.n, 0, "%zu divergences, the first: %s", found.n, found.texts[0]);
}

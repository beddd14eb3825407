#include "cart_metrics.h"

#include <inttypes.h>
#include <string.h>

static const char *const TYPES[CART_METRICS_TYPES] = {"cart", "cart_confirm", "cart_cancel", "cart_expire"};

/* The moves ol_cart_flow makes, each shown from the start (at 0) so that
 * rate() sees its first one; any other pair is shown once it happens. */
static const struct {
    int from, to;
} MOVES[] = {
    {CART_METRICS_STATE_NEW, OL_CART_HOLDING}, {OL_CART_HOLDING, OL_CART_HELD},
    {OL_CART_HOLDING, OL_CART_ACCEPTED},       {OL_CART_HOLDING, OL_CART_REJECTED},
    {OL_CART_HOLDING, OL_CART_CANCELLED},      {OL_CART_HELD, OL_CART_CONFIRMED},
    {OL_CART_HELD, OL_CART_CANCELLED},         {OL_CART_HELD, OL_CART_EXPIRED},
    {OL_CART_ACCEPTED, OL_CART_CANCELLED},     {OL_CART_CONFIRMED, OL_CART_CANCELLED},
};

void cart_metrics_init(cart_metrics *m) {
    static const double sizes[] = {1, 4, 16, 64, 128, 256, 512, 1024};
    static const double seconds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};
    memset(m, 0, sizeof *m);
    ol_histogram_init(&m->batch_size, sizes, sizeof sizes / sizeof sizes[0]);
    ol_histogram_init(&m->batch_seconds, seconds, sizeof seconds / sizeof seconds[0]);
}

void cart_counts_answer(cart_batch_counts *b, const char *type, ol_status status) {
    for (size_t t = 0; t < CART_METRICS_TYPES; t++)
        if (type && strcmp(type, TYPES[t]) == 0 && (unsigned)status < CART_METRICS_STATUSES) b->answers[t][status]++;
}

void cart_counts_transition(cart_batch_counts *b, int from, int to) {
    if (from == to || from < -1 || to < -1 || from + 1 >= CART_METRICS_STATES || to + 1 >= CART_METRICS_STATES) return;
    b->transitions[from + 1][to + 1]++;
}

void cart_metrics_add(cart_metrics *m, const cart_batch_counts *b) {
    cart_batch_counts *d = &m->decided;
    d->messages += b->messages;
    d->unreadable += b->unreadable;
    d->carts += b->carts;
    d->duplicates += b->duplicates;
    d->stale += b->stale;
    for (size_t t = 0; t < CART_METRICS_TYPES; t++)
        for (size_t s = 0; s < CART_METRICS_STATUSES; s++) d->answers[t][s] += b->answers[t][s];
    for (size_t f = 0; f < CART_METRICS_STATES; f++)
        for (size_t t = 0; t < CART_METRICS_STATES; t++) d->transitions[f][t] += b->transitions[f][t];
}

static bool head(ol_buf *out, const char *name, const char *type, const char *help) {
    return ol_buf_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static bool counter(ol_buf *out, const char *name, const char *help, uint64_t value) {
    return head(out, name, "counter", help) && ol_buf_appendf(out, "%s %" PRIu64 "\n", name, value);
}

static bool gauge(ol_buf *out, const char *name, const char *help, int64_t value) {
    return head(out, name, "gauge", help) && ol_buf_appendf(out, "%s %" PRId64 "\n", name, value);
}

static const char *state_name(int state) {
    return state == CART_METRICS_STATE_NEW ? "new" : ol_cart_status_name((ol_cart_status)state);
}

static bool is_move(int from, int to) {
    for (size_t i = 0; i < sizeof MOVES / sizeof MOVES[0]; i++)
        if (MOVES[i].from == from && MOVES[i].to == to) return true;
    return false;
}

static bool render_answers(const cart_batch_counts *d, ol_buf *out) {
    static const ol_status order[] = {OL_STATUS_ACCEPTED, OL_STATUS_HELD, OL_STATUS_REJECTED};
    bool ok = head(out, "orderline_carts_answers_total", "counter",
                   "Carts-topic messages decided and answered, by type and status (repeats excluded).");
    for (size_t t = 0; ok && t < CART_METRICS_TYPES; t++)
        for (size_t i = 0; ok && i < 3; i++)
            ok = ol_buf_appendf(out, "orderline_carts_answers_total{type=\"%s\",status=\"%s\"} %" PRIu64 "\n", TYPES[t],
                                ol_status_name(order[i]), d->answers[t][order[i]]);
    ok = ok && head(out, "orderline_carts_transitions_total", "counter", "Carts moved from one state to another.");
    for (int f = -1; ok && f + 1 < CART_METRICS_STATES; f++)
        for (int t = -1; ok && t + 1 < CART_METRICS_STATES; t++) {
            uint64_t n = d->transitions[f + 1][t + 1];
            if (n || is_move(f, t))
                ok = ol_buf_appendf(out, "orderline_carts_transitions_total{from=\"%s\",to=\"%s\"} %" PRIu64 "\n",
                                    state_name(f), state_name(t), n);
        }
    return ok;
}

static bool render_counters(const cart_metrics *m, ol_buf *out) {
    const cart_batch_counts *d = &m->decided;
    return counter(out, "orderline_carts_messages_total",
                   "Carts-topic messages read for a decision (carts, follow-ups, line answers).", d->messages) &&
           counter(out, "orderline_carts_unreadable_total", "Carts-topic messages too broken to answer.",
                   d->unreadable) &&
           counter(out, "orderline_carts_started_total", "New carts, their holds decided.", d->carts) &&
           counter(out, "orderline_carts_duplicates_total", "Repeated order_ids answered with the first answer.",
                   d->duplicates) &&
           counter(out, "orderline_carts_stale_answers_total", "Line answers that answered no outstanding step.",
                   d->stale) &&
           render_answers(d, out) &&
           counter(out, "orderline_carts_forwarded_total", "Items' answers forwarded as line answers.", m->forwarded) &&
           counter(out, "orderline_carts_steps_sent_total", "Line steps handed to the producer (sends again too).",
                   m->steps_sent) &&
           counter(out, "orderline_carts_answers_sent_total", "Cart answers handed to the producer (sends again too).",
                   m->answers_sent) &&
           counter(out, "orderline_carts_expires_sent_total", "Expires appended for held carts past their deadline.",
                   m->expires_sent) &&
           counter(out, "orderline_carts_fenced_total", "Batches refused by the fence: another owner's positions.",
                   m->fenced) &&
           counter(out, "orderline_carts_store_retries_total", "Batches lost to a PostgreSQL failure, retried.",
                   m->retries) &&
           counter(out, "orderline_carts_delivery_failures_total", "Delivery reports that named no offset.",
                   m->delivery_failures);
}

bool cart_metrics_render(const cart_metrics *m, ol_buf *out) {
    return render_counters(m, out) &&
           ol_histogram_render(out, "orderline_carts_batch_size", "Carts-topic messages per committed batch.",
                               &m->batch_size) &&
           ol_histogram_render(out, "orderline_carts_batch_duration_seconds",
                               "A committed batch's transaction, BEGIN to COMMIT.", &m->batch_seconds) &&
           gauge(out, "orderline_carts_outbox_pending", "Outbox rows of the partitions owned not yet in the log.",
                 m->outbox_pending) &&
           gauge(out, "orderline_carts_held", "Held carts of the partitions owned.", m->carts_held) &&
           gauge(out, "orderline_carts_holds_overdue",
                 "Held carts of the partitions owned more than 5 s past their deadline.", m->holds_overdue) &&
           gauge(out, "orderline_carts_partitions_owned", "Carts partitions assigned to this coordinator.",
                 m->partitions_owned) &&
           gauge(out, "orderline_carts_group_member", "1 while the carts group's coordinator knows this process.",
                 m->group_member) &&
           gauge(out, "orderline_carts_up", "1 when connected to PostgreSQL and given a share by the group.",
                 cart_metrics_health(m) == NULL);
}

const char *cart_metrics_health(const cart_metrics *m) {
    if (!m->db_connected) return "no PostgreSQL connection";
    if (!m->assigned) return "no assignment from the carts group yet";
    if (!m->group_member) return "not a member of the carts group";
    return NULL;
}

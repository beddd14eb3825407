#include "ol_metrics.h"

#include <inttypes.h>
#include <string.h>

void ol_histogram_init(ol_histogram *h, const double *bounds, size_t n) {
    memset(h, 0, sizeof *h);
    if (n > OL_HISTOGRAM_MAX_BUCKETS) n = OL_HISTOGRAM_MAX_BUCKETS;
    memcpy(h->bounds, bounds, n * sizeof *bounds);
    h->n = n;
}

void ol_histogram_observe(ol_histogram *h, double value) {
    h->count++;
    h->sum += value;
    for (size_t i = 0; i < h->n; i++)
        if (value <= h->bounds[i]) {
            h->counts[i]++;
            return;
        }
}

void ol_metrics_init(ol_metrics *m) {
    static const double sizes[] = {1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000};
    static const double seconds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};
    memset(m, 0, sizeof *m);
    ol_histogram_init(&m->batch_size, sizes, sizeof sizes / sizeof sizes[0]);
    ol_histogram_init(&m->batch_seconds, seconds, sizeof seconds / sizeof seconds[0]);
}

static bool counter(ol_buf *out, const char *name, const char *help, uint64_t value) {
    return ol_buf_appendf(out, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n", name, help, name, name, value);
}

bool ol_histogram_render(ol_buf *out, const char *name, const char *help, const ol_histogram *h) {
    bool ok = ol_buf_appendf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cumulative = 0;
    for (size_t i = 0; ok && i < h->n; i++) {
        cumulative += h->counts[i];
        ok = ol_buf_appendf(out, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name, h->bounds[i], cumulative);
    }
    return ok && ol_buf_appendf(out, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n%s_sum %.6f\n%s_count %" PRIu64 "\n", name,
                                h->count, name, h->sum, name, h->count);
}

/* Holds and follow-ups: the rest of orderline_orders_total, and the holds'
 * own gauges. */
static bool render_lifecycle(const ol_metrics *m, ol_buf *out) {
    static const char *const reasons[6] = {"not_held", "not_cancellable",   "not_expired",
                                           "expired",  "already_confirmed", "already_cancelled"};
    bool ok = ol_buf_appendf(out, "orderline_orders_total{status=\"held\",reason=\"\"} %" PRIu64 "\n", m->held);
    for (size_t i = 0; ok && i < 6; i++)
        ok = ol_buf_appendf(out, "orderline_orders_total{status=\"rejected\",reason=\"%s\"} %" PRIu64 "\n", reasons[i],
                            m->rejected_followup[i]);
    return ok &&
           counter(out, "orderline_expires_sent_total", "Expires appended for holds past their deadline.",
                   m->expires_sent) &&
           ol_buf_appendf(out,
                          "# HELP orderline_holds_overdue Open holds more than 5 s past their deadline.\n"
                          "# TYPE orderline_holds_overdue gauge\norderline_holds_overdue %" PRId64 "\n",
                          m->holds_overdue);
}

/* Topic names are [a-zA-Z0-9._-] in Kafka: safe inside a label value. */
bool ol_metrics_render(const ol_metrics *m, const char *topic, ol_buf *out) {
    bool ok =
        ol_buf_appends(out, "# HELP orderline_orders_total Orders answered, by decision (duplicates excluded).\n"
                            "# TYPE orderline_orders_total counter\n") &&
        ol_buf_appendf(out, "orderline_orders_total{status=\"accepted\",reason=\"\"} %" PRIu64 "\n", m->accepted) &&
        ol_buf_appendf(out, "orderline_orders_total{status=\"rejected\",reason=\"insufficient_stock\"} %" PRIu64 "\n",
                       m->rejected_insufficient_stock) &&
        ol_buf_appendf(out, "orderline_orders_total{status=\"rejected\",reason=\"unknown_item\"} %" PRIu64 "\n",
                       m->rejected_unknown_item) &&
        ol_buf_appendf(out, "orderline_orders_total{status=\"rejected\",reason=\"invalid\"} %" PRIu64 "\n",
                       m->rejected_invalid) &&
        render_lifecycle(m, out) &&
        counter(out, "orderline_duplicates_total", "Repeated order_ids answered with the original decision.",
                m->duplicates) &&
        counter(out, "orderline_republished_total", "Answers published again after a restart.", m->replayed) &&
        counter(out, "orderline_dlq_total", "Invalid messages copied to the dead-letter topic.", m->dlq) &&
        counter(out, "orderline_misrouted_total", "Orders read from a partition other than murmur2(item) assigns.",
                m->misrouted) &&
        counter(out, "orderline_fenced_batches_total",
                "Batches rolled back because another consumer had moved the position.", m->fenced) &&
        counter(out, "orderline_plan_gaps_total",
                "Batches refused because they would have skipped offsets; positions were re-read.", m->plan_gaps) &&
        counter(out, "orderline_batch_retries_total", "Batches rolled back and retried after a conflict.",
                m->retries) &&
        counter(out, "orderline_postgres_errors_total", "PostgreSQL errors (connection or statement).",
                m->postgres_errors) &&
        counter(out, "orderline_kafka_errors_total", "Kafka consumer and producer errors.", m->kafka_errors) &&
        counter(out, "orderline_kafka_unconfirmed_deliveries_total",
                "Delivery reports with no error that named no offset; re-sent, never counted as delivered.",
                m->kafka_unconfirmed) &&
        ol_buf_appends(out, "# HELP orderline_partition_changes_total Partitions assigned to this consumer,"
                            " revoked from it with a handover, or lost without one.\n"
                            "# TYPE orderline_partition_changes_total counter\n") &&
        ol_buf_appendf(out, "orderline_partition_changes_total{change=\"assigned\"} %" PRIu64 "\n",
                       m->partitions_assigned) &&
        ol_buf_appendf(out, "orderline_partition_changes_total{change=\"revoked\"} %" PRIu64 "\n",
                       m->partitions_revoked) &&
        ol_buf_appendf(out, "orderline_partition_changes_total{change=\"lost\"} %" PRIu64 "\n", m->partitions_lost) &&
        counter(out, "orderline_postgres_reconnects_total", "PostgreSQL connections re-established after a loss.",
                m->postgres_reconnects) &&
        ol_histogram_render(out, "orderline_batch_size", "Messages per batch transaction.", &m->batch_size) &&
        ol_histogram_render(out, "orderline_batch_duration_seconds", "From a batch's first statement to its commit.",
                            &m->batch_seconds);
    ok = ok && ol_buf_appends(out, "# HELP orderline_consumer_lag Messages after the stored position.\n"
                                   "# TYPE orderline_consumer_lag gauge\n");
    for (size_t i = 0; ok && i < m->n_partitions; i++) {
        const ol_metrics_partition *p = &m->partitions[i];
        if (p->high_watermark < 0) continue;
        int64_t lag = p->high_watermark - p->decided;
        ok = ol_buf_appendf(out, "orderline_consumer_lag{topic=\"%s\",partition=\"%d\"} %" PRId64 "\n", topic,
                            p->partition, lag > 0 ? lag : 0);
    }
    ok = ok && ol_buf_appends(out, "# HELP orderline_stored_position Next offset to decide, as stored in PostgreSQL.\n"
                                   "# TYPE orderline_stored_position gauge\n");
    for (size_t i = 0; ok && i < m->n_partitions; i++)
        ok = ol_buf_appendf(out, "orderline_stored_position{topic=\"%s\",partition=\"%d\"} %" PRId64 "\n", topic,
                            m->partitions[i].partition, m->partitions[i].decided);
    ok =
        ok && ol_buf_appends(out, "# HELP orderline_answers_acknowledged_position Offset below which every answer"
                                  " is acknowledged by Kafka.\n# TYPE orderline_answers_acknowledged_position gauge\n");
    for (size_t i = 0; ok && i < m->n_partitions; i++)
        ok = ol_buf_appendf(out, "orderline_answers_acknowledged_position{topic=\"%s\",partition=\"%d\"} %" PRId64 "\n",
                            topic, m->partitions[i].partition, m->partitions[i].acked);
    return ok &&
           ol_buf_appendf(out,
                          "# HELP orderline_group_member 1 while the consumer group's coordinator knows this process.\n"
                          "# TYPE orderline_group_member gauge\norderline_group_member %d\n",
                          m->group_member ? 1 : 0) &&
           ol_buf_appendf(out,
                          "# HELP orderline_up 1 when connected to PostgreSQL and consuming.\n"
                          "# TYPE orderline_up gauge\norderline_up %d\n",
                          m->db_connected && m->consuming ? 1 : 0);
}

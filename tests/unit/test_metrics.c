/* ol_metrics: histogram bucketing and the Prometheus text rendering. */
#include <criterion/criterion.h>
#include <string.h>

#include "ol_metrics.h"

static ol_metrics *fresh(void) {
    static ol_metrics m;
    ol_metrics_init(&m);
    return &m;
}

Test(histogram, buckets_are_upper_bounds_and_cumulative_when_rendered) {
    ol_metrics *m = fresh();
    ol_histogram_observe(&m->batch_size, 1);     /* le=1 */
    ol_histogram_observe(&m->batch_size, 10);    /* le=10 */
    ol_histogram_observe(&m->batch_size, 11);    /* le=50 */
    ol_histogram_observe(&m->batch_size, 99999); /* only +Inf */
    ol_buf out;
    ol_buf_init(&out);
    cr_assert(ol_metrics_render(m, "orders", &out));
    cr_assert_not_null(strstr(out.data, "orderline_batch_size_bucket{le=\"1\"} 1\n"));
    cr_assert_not_null(strstr(out.data, "orderline_batch_size_bucket{le=\"10\"} 2\n"));
    cr_assert_not_null(strstr(out.data, "orderline_batch_size_bucket{le=\"50\"} 3\n"));
    cr_assert_not_null(strstr(out.data, "orderline_batch_size_bucket{le=\"10000\"} 3\n"));
    cr_assert_not_null(strstr(out.data, "orderline_batch_size_bucket{le=\"+Inf\"} 4\n"));
    cr_assert_not_null(strstr(out.data, "orderline_batch_size_count 4\n"));
    cr_assert_not_null(strstr(out.data, "orderline_batch_size_sum 100021.000000\n"));
    ol_buf_free(&out);
}

Test(render, counters_partitions_and_up) {
    ol_metrics *m = fresh();
    m->accepted = 7;
    m->rejected_insufficient_stock = 3;
    m->dlq = 2;
    m->partitions_assigned = 4;
    m->partitions_revoked = 3;
    m->partitions_lost = 1;
    m->postgres_reconnects = 6;
    m->partitions[0] = (ol_metrics_partition){0, 100, 90, 130};
    m->partitions[1] = (ol_metrics_partition){5, 40, 40, -1}; /* end unknown: no lag series */
    m->n_partitions = 2;
    m->db_connected = true;
    m->consuming = true;
    m->group_member = true;
    ol_buf out;
    ol_buf_init(&out);
    cr_assert(ol_metrics_render(m, "orders", &out));
    const char *want[] = {
        "# TYPE orderline_orders_total counter\n",
        "orderline_orders_total{status=\"accepted\",reason=\"\"} 7\n",
        "orderline_orders_total{status=\"rejected\",reason=\"insufficient_stock\"} 3\n",
        "orderline_dlq_total 2\n",
        "orderline_partition_changes_total{change=\"assigned\"} 4\n",
        "orderline_partition_changes_total{change=\"revoked\"} 3\n",
        "orderline_partition_changes_total{change=\"lost\"} 1\n",
        "orderline_postgres_reconnects_total 6\n",
        "orderline_consumer_lag{topic=\"orders\",partition=\"0\"} 30\n",
        "orderline_stored_position{topic=\"orders\",partition=\"5\"} 40\n",
        "orderline_answers_acknowledged_position{topic=\"orders\",partition=\"0\"} 90\n",
        "orderline_group_member 1\n",
        "orderline_up 1\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_expect_not_null(strstr(out.data, want[i]), "missing: %s", want[i]);
    cr_assert_null(strstr(out.data, "orderline_consumer_lag{topic=\"orders\",partition=\"5\"}"));
    ol_buf_free(&out);
}

Test(render, down_without_database) {
    ol_metrics *m = fresh();
    m->consuming = true;
    ol_buf out;
    ol_buf_init(&out);
    cr_assert(ol_metrics_render(m, "orders", &out));
    cr_assert_not_null(strstr(out.data, "orderline_up 0\n"));
    cr_assert_not_null(strstr(out.data, "# TYPE orderline_group_member gauge\norderline_group_member 0\n"),
                       "not known to the group: 0, not left out");
    ol_buf_free(&out);
}

/* cart_metrics: a batch counts only once added, answers by type and status,
 * state transitions, the gauges, every line well-formed, and health. */
#include <criterion/criterion.h>
#include <string.h>

#include "cart_metrics.h"

static char *render(const cart_metrics *m) {
    static ol_buf out;
    ol_buf_free(&out);
    ol_buf_init(&out);
    cr_assert(cart_metrics_render(m, &out));
    return out.data;
}

static void has(const char *text, const char *line) {
    cr_assert_not_null(strstr(text, line), "missing %s in:\n%s", line, text);
}

Test(cart_metrics, a_batch_counts_once_added) {
    cart_metrics m;
    cart_metrics_init(&m);
    cart_batch_counts b;
    memset(&b, 0, sizeof b);
    b.messages = 3;
    b.carts = 1;
    cart_counts_answer(&b, "cart", OL_STATUS_HELD);
    cart_counts_transition(&b, CART_METRICS_STATE_NEW, OL_CART_HOLDING);
    has(render(&m), "orderline_carts_messages_total 0\n");
    has(render(&m), "orderline_carts_answers_total{type=\"cart\",status=\"held\"} 0\n");
    cart_metrics_add(&m, &b);
    cart_metrics_add(&m, &b);
    char *t = render(&m);
    has(t, "orderline_carts_messages_total 6\n");
    has(t, "orderline_carts_started_total 2\n");
    has(t, "orderline_carts_answers_total{type=\"cart\",status=\"held\"} 2\n");
    has(t, "orderline_carts_transitions_total{from=\"new\",to=\"holding\"} 2\n");
}

Test(cart_metrics, answers_by_type_and_status) {
    cart_metrics m;
    cart_metrics_init(&m);
    cart_batch_counts b;
    memset(&b, 0, sizeof b);
    cart_counts_answer(&b, "cart_confirm", OL_STATUS_ACCEPTED);
    cart_counts_answer(&b, "cart_expire", OL_STATUS_REJECTED);
    cart_counts_answer(&b, "cart_expire", OL_STATUS_REJECTED);
    cart_counts_answer(&b, "line_result", OL_STATUS_ACCEPTED); /* not an answer type: ignored */
    cart_counts_answer(&b, NULL, OL_STATUS_ACCEPTED);
    cart_metrics_add(&m, &b);
    char *t = render(&m);
    has(t, "orderline_carts_answers_total{type=\"cart_confirm\",status=\"accepted\"} 1\n");
    has(t, "orderline_carts_answers_total{type=\"cart_expire\",status=\"rejected\"} 2\n");
    has(t, "orderline_carts_answers_total{type=\"cart_cancel\",status=\"accepted\"} 0\n");
    cr_assert_null(strstr(t, "line_result"));
}

Test(cart_metrics, transitions_the_flow_makes_are_shown_at_zero_others_once_seen) {
    cart_metrics m;
    cart_metrics_init(&m);
    char *t = render(&m);
    has(t, "orderline_carts_transitions_total{from=\"held\",to=\"expired\"} 0\n");
    has(t, "orderline_carts_transitions_total{from=\"confirmed\",to=\"cancelled\"} 0\n");
    cr_assert_null(strstr(t, "from=\"expired\""));
    cart_batch_counts b;
    memset(&b, 0, sizeof b);
    cart_counts_transition(&b, OL_CART_HELD, OL_CART_EXPIRED);
    cart_counts_transition(&b, OL_CART_EXPIRED, OL_CART_HELD); /* not a move the flow makes, but counted */
    cart_counts_transition(&b, OL_CART_HELD, OL_CART_HELD);    /* no move */
    cart_counts_transition(&b, 99, OL_CART_HELD);              /* out of range */
    cart_metrics_add(&m, &b);
    t = render(&m);
    has(t, "orderline_carts_transitions_total{from=\"held\",to=\"expired\"} 1\n");
    has(t, "orderline_carts_transitions_total{from=\"expired\",to=\"held\"} 1\n");
    cr_assert_null(strstr(t, "from=\"held\",to=\"held\""));
}

Test(cart_metrics, gauges_histograms_and_up) {
    cart_metrics m;
    cart_metrics_init(&m);
    m.outbox_pending = 12;
    m.holds_overdue = 2;
    m.carts_held = 5;
    m.partitions_owned = 4;
    ol_histogram_observe(&m.batch_seconds, 0.003);
    ol_histogram_observe(&m.batch_size, 3);
    char *t = render(&m);
    has(t, "# TYPE orderline_carts_outbox_pending gauge\norderline_carts_outbox_pending 12\n");
    has(t, "# TYPE orderline_carts_holds_overdue gauge\norderline_carts_holds_overdue 2\n");
    has(t, "orderline_carts_held 5\n");
    has(t, "orderline_carts_partitions_owned 4\n");
    has(t, "orderline_carts_batch_duration_seconds_bucket{le=\"0.005\"} 1\n");
    has(t, "orderline_carts_batch_duration_seconds_count 1\n");
    has(t, "orderline_carts_batch_size_bucket{le=\"4\"} 1\n");
    has(t, "orderline_carts_up 0\n");
    m.db_connected = m.assigned = m.group_member = true;
    has(render(&m), "orderline_carts_up 1\n");
}

Test(cart_metrics, every_sample_line_is_a_name_and_a_number_under_its_family) {
    cart_metrics m;
    cart_metrics_init(&m);
    char *t = render(&m);
    char *save = NULL;
    for (char *line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') continue;
        cr_assert(strncmp(line, "orderline_carts_", 16) == 0, "%s", line);
        const char *sp = strrchr(line, ' ');
        cr_assert_not_null(sp, "%s", line);
        char *end;
        strtod(sp + 1, &end);
        cr_assert(*end == '\0' && end > sp + 1, "%s", line);
    }
}

Test(cart_metrics, health_needs_postgres_an_assignment_and_the_group) {
    cart_metrics m;
    cart_metrics_init(&m);
    cr_assert_not_null(cart_metrics_health(&m));
    m.db_connected = true;
    cr_assert_not_null(cart_metrics_health(&m));
    m.assigned = true;
    cr_assert_not_null(cart_metrics_health(&m));
    m.group_member = true;
    cr_assert_null(cart_metrics_health(&m));
    m.db_connected = false;
    cr_assert_str_eq(cart_metrics_health(&m), "no PostgreSQL connection");
}

/* Proves the embedded stack is real: a message goes through the Kafka broker
 * with librdkafka and comes back, and a row goes through PostgreSQL with
 * libpq. Reads $ORDERLINE_BROKERS and $ORDERLINE_DB like every tool. */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Without the stack's environment there is nothing to prove: the test is
 * skipped (ctest shows it as skipped: SKIP_REGULAR_EXPRESSION), not failed. */
/* Exit code of a skipped run (ctest: SKIP_RETURN_CODE, automake's convention). */
#define SKIPPED 77

/* main checked that it is set. */
static const char *env_or_skip(const char *name) { return getenv(name); }

static rd_kafka_t *make_client(rd_kafka_type_t type, const char *brokers, const char *group) {
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    cr_assert_eq(rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof err), RD_KAFKA_CONF_OK, "%s", err);
    if (group) {
        cr_assert_eq(rd_kafka_conf_set(conf, "group.id", group, err, sizeof err), RD_KAFKA_CONF_OK, "%s", err);
        cr_assert_eq(rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof err), RD_KAFKA_CONF_OK);
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    cr_assert_not_null(rk, "rd_kafka_new: %s", err);
    return rk;
}

Test(stack, kafka_round_trip, .timeout = 60) {
    const char *brokers = env_or_skip("ORDERLINE_BROKERS");
    char topic[64], payload[96];
    snprintf(topic, sizeof topic, "smoke.%d.%ld", (int)getpid(), (long)time(NULL));
    snprintf(payload, sizeof payload, "hello from %s", topic);

    rd_kafka_t *producer = make_client(RD_KAFKA_PRODUCER, brokers, NULL);
    /* Auto-creation is off on the embedded broker: create explicitly. */
    char err[512];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, 1, 1, err, sizeof err);
    cr_assert_not_null(nt, "%s", err);
    rd_kafka_queue_t *q = rd_kafka_queue_new(producer);
    rd_kafka_CreateTopics(producer, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 15000);
    cr_assert_not_null(ev, "no CreateTopics answer");
    size_t n;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    cr_assert_eq(n, 1);
    cr_assert_eq(rd_kafka_topic_result_error(res[0]), RD_KAFKA_RESP_ERR_NO_ERROR, "%s",
                 rd_kafka_topic_result_error_string(res[0]));
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);

    cr_assert_eq(rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY("k", 1),
                                   RD_KAFKA_V_VALUE(payload, strlen(payload)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                   RD_KAFKA_V_END),
                 RD_KAFKA_RESP_ERR_NO_ERROR);
    cr_assert_eq(rd_kafka_flush(producer, 15000), RD_KAFKA_RESP_ERR_NO_ERROR, "message not delivered");
    rd_kafka_destroy(producer);

    rd_kafka_t *consumer = make_client(RD_KAFKA_CONSUMER, brokers, topic);
    rd_kafka_poll_set_consumer(consumer);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
    cr_assert_eq(rd_kafka_subscribe(consumer, sub), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(sub);
    bool got = false;
    for (int i = 0; i < 300 && !got; i++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, 100);
        if (!m) continue;
        if (!m->err) {
            cr_assert_eq(m->len, strlen(payload));
            cr_assert(memcmp(m->payload, payload, m->len) == 0, "payload changed in transit");
            got = true;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    cr_assert(got, "message never came back from the broker");
}

Test(stack, postgres_round_trip, .timeout = 30) {
    const char *db = env_or_skip("ORDERLINE_DB");
    PGconn *conn = PQconnectdb(db);
    cr_assert_eq(PQstatus(conn), CONNECTION_OK, "%s", PQerrorMessage(conn));
    PGresult *r = PQexec(conn, "CREATE TEMP TABLE smoke (id int PRIMARY KEY, note text)");
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(conn));
    PQclear(r);
    const char *params[2] = {"7", "round trip \u00e9"};
    r = PQexecParams(conn, "INSERT INTO smoke VALUES ($1, $2)", 2, NULL, params, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(conn));
    PQclear(r);
    r = PQexec(conn,
               "SELECT note, current_setting('fsync'), current_setting('synchronous_commit') FROM smoke WHERE id = 7");
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQerrorMessage(conn));
    cr_assert_eq(PQntuples(r), 1);
    cr_assert_str_eq(PQgetvalue(r, 0, 0), "round trip \u00e9");
    /* The embedded server keeps durable defaults: benchmarks rely on it. */
    cr_assert_str_eq(PQgetvalue(r, 0, 1), "on");
    cr_assert_str_eq(PQgetvalue(r, 0, 2), "on");
    PQclear(r);
    PQfinish(conn);
}

/* Without the stack's environment there is nothing to prove: the run is
 * skipped (exit 77, which ctest shows as skipped), not failed. */
int main(int argc, char *argv[]) {
    const char *names[] = {"ORDERLINE_BROKERS", "ORDERLINE_DB"};
    for (size_t i = 0; i < 2; i++) {
        const char *v = getenv(names[i]);
        if (v && *v) continue;
        fprintf(stderr, "skipped: %s is not set: run under scripts/test or eval \"$(scripts/stack env)\"\n", names[i]);
        return SKIPPED;
    }
    struct criterion_test_set *tests = criterion_initialize();
    int result = 0;
    if (criterion_handle_args(argc, argv, true)) result = !criterion_run_all_tests(tests);
    criterion_finalize(tests);
    return result;
}

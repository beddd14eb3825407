/* ol_kafka's pure part: which errors are the brokers refusing the client
 * (fatal at a tool's start) and which are a broker being away (retried). */
#include <criterion/criterion.h>

#include "ol_kafka.h"

Test(kafka_refusal, authentication_and_tls_failures_are_refusals) {
    cr_assert(ol_kafka_is_refusal(RD_KAFKA_RESP_ERR__AUTHENTICATION,
                                  "sasl_ssl://127.0.0.1:19092/bootstrap: SASL authentication error: Authentication "
                                  "failed during authentication due to invalid credentials"));
    cr_assert(ol_kafka_is_refusal(RD_KAFKA_RESP_ERR__SSL,
                                  "SSL handshake failed: error:0A000086:SSL routines::certificate verify failed"));
    cr_assert(ol_kafka_is_refusal(RD_KAFKA_RESP_ERR__SSL, NULL));
}

Test(kafka_refusal, plaintext_client_on_a_tls_listener_is_a_refusal) {
    cr_assert(ol_kafka_is_refusal(RD_KAFKA_RESP_ERR__TRANSPORT,
                                  "127.0.0.1:19092/bootstrap: Disconnected while requesting ApiVersion: might be "
                                  "caused by incorrect security.protocol configuration (connecting to a SSL "
                                  "listener?) or broker version is < 0.10 (see api.version.request)"));
}

Test(kafka_refusal, a_broker_away_is_not_a_refusal) {
    cr_assert_not(ol_kafka_is_refusal(RD_KAFKA_RESP_ERR__TRANSPORT,
                                      "127.0.0.1:19092/bootstrap: Connect to ipv4#127.0.0.1:19092 failed: "
                                      "Connection refused (after 0ms in state CONNECT)"));
    cr_assert_not(ol_kafka_is_refusal(RD_KAFKA_RESP_ERR__TRANSPORT, NULL));
    cr_assert_not(ol_kafka_is_refusal(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, "1/1 brokers are down"));
    cr_assert_not(ol_kafka_is_refusal(RD_KAFKA_RESP_ERR__TIMED_OUT, "security.protocol"));
    cr_assert_not(ol_kafka_is_refusal(RD_KAFKA_RESP_ERR_NO_ERROR, ""));
}

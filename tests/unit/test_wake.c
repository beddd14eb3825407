/* Unit tests for ol_wake: the pipe a loop sleeps on. No broker. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "ol_str.h"
#include "ol_wake.h"

Test(wake, opens_both_ends_non_blocking, .timeout = 20) {
    int fds[2];
    char err[256] = "";
    cr_assert(ol_wake_open(fds, "the test pipe", err, sizeof err), "%s", err);
    for (int i = 0; i < 2; i++) cr_assert(fcntl(fds[i], F_GETFL) & O_NONBLOCK);
    ol_wake_close(fds);
    cr_assert_eq(fds[0], -1);
    cr_assert_eq(fds[1], -1);
    ol_wake_close(fds); /* closing again does nothing */
}

Test(wake, waits_for_its_timeout_when_nothing_comes, .timeout = 20) {
    int fds[2];
    char err[256];
    cr_assert(ol_wake_open(fds, "the test pipe", err, sizeof err));
    int64_t t0 = ol_monotonic_ms();
    ol_wake_wait(fds, 60);
    cr_assert_geq(ol_monotonic_ms() - t0, 50);
    ol_wake_close(fds);
}

Test(wake, a_signal_wakes_it_and_is_drained, .timeout = 20) {
    int fds[2];
    char err[256];
    cr_assert(ol_wake_open(fds, "the test pipe", err, sizeof err));
    for (int i = 0; i < 1000; i++) ol_wake_signal(fds); /* more than one read drains */
    int64_t t0 = ol_monotonic_ms();
    ol_wake_wait(fds, 5000);
    cr_assert_lt(ol_monotonic_ms() - t0, 1000);
    char c;
    cr_assert_eq(read(fds[0], &c, 1), -1, "every byte was drained");
    cr_assert_eq(errno, EAGAIN);
    t0 = ol_monotonic_ms();
    ol_wake_wait(fds, 60); /* drained: it sleeps again */
    cr_assert_geq(ol_monotonic_ms() - t0, 50);
    ol_wake_close(fds);
}

static void *signal_later(void *arg) {
    ol_sleep_ms(50);
    ol_wake_signal(arg);
    return NULL;
}

Test(wake, another_thread_wakes_it, .timeout = 20) {
    int fds[2];
    char err[256];
    cr_assert(ol_wake_open(fds, "the test pipe", err, sizeof err));
    pthread_t t;
    int64_t t0 = ol_monotonic_ms();
    cr_assert_eq(pthread_create(&t, NULL, signal_later, fds), 0);
    ol_wake_wait(fds, 10000);
    int64_t took = ol_monotonic_ms() - t0;
    pthread_join(t, NULL);
    cr_assert_geq(took, 40);
    cr_assert_lt(took, 5000);
    ol_wake_close(fds);
}

Test(wake, zero_or_negative_timeout_only_drains, .timeout = 20) {
    int fds[2];
    char err[256];
    cr_assert(ol_wake_open(fds, "the test pipe", err, sizeof err));
    ol_wake_signal(fds);
    ol_wake_wait(fds, 0);
    char c;
    cr_assert_eq(read(fds[0], &c, 1), -1);
    cr_assert_eq(errno, EAGAIN);
    int64_t t0 = ol_monotonic_ms();
    ol_wake_wait(fds, 0);
    ol_wake_wait(fds, -5); /* a deadline already past: no sleep either */
    cr_assert_lt(ol_monotonic_ms() - t0, 1000);
    ol_wake_close(fds);
}

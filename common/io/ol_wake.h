/* ol_wake: a non-blocking pipe that a loop sleeps on. librdkafka writes a
 * byte to its write end when a queue given it (rd_kafka_queue_io_event_enable)
 * goes from empty to non-empty, and any thread may write one to wake the
 * loop; the loop polls the read end and drains it. order-consumer's source
 * and order-carts' coordinator and forwarder each own one.
 *
 * fds[0] is the read end, fds[1] the write end; -1 when not open. */
#ifndef OL_WAKE_H
#define OL_WAKE_H

#include <stdbool.h>
#include <stddef.h>

/* Opens both ends non-blocking. False with err (and both -1) on failure;
 * what names the pipe in the message. */
bool ol_wake_open(int fds[2], const char *what, char *err, size_t errlen);
/* Sleeps up to timeout_ms (none when <= 0) until a byte arrives, then
 * reads every byte there. A failed poll other than a signal sleeps 1 ms,
 * so that a loop around it cannot spin. */
void ol_wake_wait(const int fds[2], int timeout_ms);
/* Writes one byte; a full pipe already wakes the reader. */
void ol_wake_signal(const int fds[2]);
/* Closes what is open and sets both to -1. */
void ol_wake_close(int fds[2]);

#endif

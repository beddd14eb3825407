/* ol_backoff: the delays of a retry loop, doubling from a first delay up
 * to a limit, so that an outage is retried soon at first and then without
 * hammering what is down. Pure: the caller sleeps. */
#ifndef OL_BACKOFF_H
#define OL_BACKOFF_H

#include <stdint.h>

typedef struct ol_backoff {
    int64_t first_ms, limit_ms;
    int64_t next_ms; /* what ol_backoff_next returns next */
} ol_backoff;

/* Starts at first_ms (at most limit_ms). */
void ol_backoff_init(ol_backoff *b, int64_t first_ms, int64_t limit_ms);

/* The delay to wait now; the one after is twice as long, at most the
 * limit. */
int64_t ol_backoff_next(ol_backoff *b);

/* After a success: the next delay is the first again. */
void ol_backoff_reset(ol_backoff *b);

#endif

#include "ol_backoff.h"

void ol_backoff_init(ol_backoff *b, int64_t first_ms, int64_t limit_ms) {
    b->first_ms = first_ms < limit_ms ? first_ms : limit_ms;
    b->limit_ms = limit_ms;
    b->next_ms = b->first_ms;
}

int64_t ol_backoff_next(ol_backoff *b) {
    int64_t now = b->next_ms;
    /* Compared before doubling: twice a large delay could overflow. */
    b->next_ms = now > b->limit_ms / 2 ? b->limit_ms : now * 2;
    return now;
}

void ol_backoff_reset(ol_backoff *b) { b->next_ms = b->first_ms; }

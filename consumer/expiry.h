/* hold_expiry: which of the open holds past their deadline get an expire
 * now. Pure. The consumer scans its partitions' open holds every few
 * seconds (order_store_open_holds); a hold gets its expire at once, and
 * again every resend_ms while it stays open: an expire lost on the way,
 * or logged before the deadline by a clock behind PostgreSQL's, is not the
 * end of it. A hold that left the scan (decided since) is forgotten. */
#ifndef HOLD_EXPIRY_H
#define HOLD_EXPIRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hold_expiry hold_expiry;

hold_expiry *hold_expiry_new(int64_t resend_ms);
void hold_expiry_destroy(hold_expiry *x);

/* A scan's holds go between begin and end. False only on out of memory
 * (the scan is then dropped; the next one starts over). */
bool hold_expiry_begin_scan(hold_expiry *x);
/* *due: held_id's expire should be sent now (and is then counted as sent
 * at now_ms). */
bool hold_expiry_due(hold_expiry *x, const char *held_id, int64_t now_ms, bool *due);
/* Forgets every hold this scan did not name. */
void hold_expiry_end_scan(hold_expiry *x);
/* Holds remembered (those of the last scan). */
size_t hold_expiry_tracked(const hold_expiry *x);

#endif

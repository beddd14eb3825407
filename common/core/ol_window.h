/* ol_window: a bounded read of a topic. Partitions 0..n-1 are each read
 * from a start offset up to the high-water mark seen when the read began
 * (its end); later messages are not part of the window. Tracks which
 * partitions reached their end, from the messages and end-of-partition
 * events read. Shared by order-results and order-audit. Pure. */
#ifndef OL_WINDOW_H
#define OL_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ol_window {
    int32_t n;           /* partitions 0..n-1 */
    int64_t *low, *high; /* watermarks when the read began; high is the end */
    int64_t *start;      /* first offset read */
    bool *done;          /* the partition reached its end */
    int32_t pending;     /* partitions not done */
} ol_window;

/* Sizes w for n partitions, every offset 0 and nothing done. On false
 * (out of memory) w is left empty. A zeroed ol_window may be freed. */
bool ol_window_init(ol_window *w, int32_t n, char *err, size_t errlen);
void ol_window_free(ol_window *w);

/* Once low, high and start are filled: raises each start to at least its
 * low-water mark and marks partitions with nothing to read (start at or
 * past the end) done. */
void ol_window_begin(ol_window *w);

/* True when offset of partition is inside the window: a known partition,
 * below its end. */
bool ol_window_contains(const ol_window *w, int32_t partition, int64_t offset);

/* Notes what was read: a message at offset, or (eof) an end-of-partition
 * event whose offset is where the log ends. A partition is done once a
 * message at its end - 1 or an end event at or past its end was seen.
 * Returns true when this call completed the partition; unknown partitions
 * are ignored. */
bool ol_window_note(ol_window *w, int32_t partition, int64_t offset, bool eof);

#endif

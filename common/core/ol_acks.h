/* ol_ack_tracker: which prefix of each partition read has every message
 * published for it shown to be in the log. Pure. Shared by order-consumer
 * (result_sink feeds it delivery reports; the pipeline stores the prefix as
 * results_offset, so after a crash only unacknowledged answers are
 * published again) and order-carts (its line forwarder commits the results
 * topic's offsets only over forwarded answers shown to be in the carts
 * topic).
 *
 * A span covers the messages of one partition in one batch: open it, attach
 * every message published for those orders, close it. A span is complete
 * once closed and every attached message delivered with an offset. The
 * acknowledged prefix only grows over consecutive complete spans, so a span
 * whose delivery failed holds back every later one of its partition.
 *
 * Ownership: the tracker owns its spans; a span pointer stays valid until
 * ol_ack_tracker_acked has moved the prefix over it, or the tracker is
 * destroyed. */
#ifndef OL_ACKS_H
#define OL_ACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ol_waiters.h"

typedef struct ol_ack_tracker ol_ack_tracker;
typedef struct ol_ack_span ol_ack_span;

ol_ack_tracker *ol_ack_tracker_new(void);
/* Frees every span. NULL is accepted. */
void ol_ack_tracker_destroy(ol_ack_tracker *t);

/* Opens the next span of partition, covering its batch's offsets up to
 * end_offset (exclusive). NULL when out of memory. After a fence or a lost
 * connection a partition is read again from its stored position, so a span
 * may end below an earlier one: the prefix then reports that lower end, and
 * the caller keeps what it stored (it only ever stores a higher one). */
ol_ack_span *ol_ack_tracker_open(ol_ack_tracker *t, int32_t partition, int64_t end_offset);
/* One more message was handed to the producer for the span. */
void ol_ack_span_attach(ol_ack_span *s);
/* No more messages will be attached. */
void ol_ack_span_close(ol_ack_span *s);
/* Judges a delivery report for one of the span's messages by the delivery
 * rule (ol_delivery_judge): only a report naming an offset counts. Up to
 * max_per_message reports without an offset per attached message are
 * answered by a re-send (RESEND); the span then stays open. FAILED: the span
 * never completes. */
ol_delivery_action ol_ack_span_report(ol_ack_span *s, bool error, int64_t offset, int max_per_message);

/* Offset below which every answer of partition is acknowledged; -1 when no
 * span of that partition has completed yet. Frees the spans it passes. */
int64_t ol_ack_tracker_acked(ol_ack_tracker *t, int32_t partition);
/* True when no span is open or waiting for a delivery. */
bool ol_ack_tracker_idle(const ol_ack_tracker *t);

#endif

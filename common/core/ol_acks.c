#include "ol_acks.h"

#include <stdlib.h>

struct ol_ack_span {
    int64_t end_offset;
    size_t outstanding; /* attached messages not yet shown to be in the log */
    size_t attached;    /* messages ever attached */
    int unconfirmed;    /* reports without an offset, each answered by a re-send */
    bool closed;
    bool failed; /* a delivery failed: never complete */
    ol_ack_span *next;
};

typedef struct span_queue {
    ol_ack_span *head, *tail;
    int64_t acked; /* -1: nothing acknowledged yet */
} span_queue;

struct ol_ack_tracker {
    span_queue *queues; /* indexed by orders partition */
    size_t n_queues;
};

ol_ack_tracker *ol_ack_tracker_new(void) { return calloc(1, sizeof(ol_ack_tracker)); }

void ol_ack_tracker_destroy(ol_ack_tracker *t) {
    if (!t) return;
    for (size_t i = 0; i < t->n_queues; i++) {
        ol_ack_span *s = t->queues[i].head;
        while (s) {
            ol_ack_span *next = s->next;
            free(s);
            s = next;
        }
    }
    free(t->queues);
    free(t);
}

static span_queue *queue_for(ol_ack_tracker *t, int32_t partition) {
    if (partition < 0) return NULL;
    if ((size_t)partition >= t->n_queues) {
        size_t n = (size_t)partition + 1;
        span_queue *q = realloc(t->queues, n * sizeof *q);
        if (!q) return NULL;
        for (size_t i = t->n_queues; i < n; i++) q[i] = (span_queue){NULL, NULL, -1};
        t->queues = q;
        t->n_queues = n;
    }
    return &t->queues[partition];
}

ol_ack_span *ol_ack_tracker_open(ol_ack_tracker *t, int32_t partition, int64_t end_offset) {
    span_queue *q = queue_for(t, partition);
    if (!q) return NULL;
    ol_ack_span *span = calloc(1, sizeof *span);
    if (!span) return NULL;
    span->end_offset = end_offset;
    if (q->tail) q->tail->next = span;
    else q->head = span;
    q->tail = span;
    return span;
}

void ol_ack_span_attach(ol_ack_span *s) {
    s->outstanding++;
    s->attached++;
}

void ol_ack_span_close(ol_ack_span *s) { s->closed = true; }

ol_delivery_action ol_ack_span_report(ol_ack_span *s, bool error, int64_t offset, int max_per_message) {
    ol_delivery_action a = ol_delivery_judge(error, offset, &s->unconfirmed, max_per_message * (int)s->attached);
    if (a == OL_DELIVERY_ACKED && s->outstanding > 0) s->outstanding--;
    else if (a != OL_DELIVERY_RESEND) s->failed = true;
    return a;
}

static bool complete(const ol_ack_span *s) { return s->closed && !s->failed && s->outstanding == 0; }

int64_t ol_ack_tracker_acked(ol_ack_tracker *t, int32_t partition) {
    span_queue *q = queue_for(t, partition);
    if (!q) return -1;
    while (q->head && complete(q->head)) {
        ol_ack_span *done = q->head;
        q->acked = done->end_offset;
        q->head = done->next;
        if (!q->head) q->tail = NULL;
        free(done);
    }
    return q->acked;
}

bool ol_ack_tracker_idle(const ol_ack_tracker *t) {
    for (size_t i = 0; i < t->n_queues; i++)
        for (const ol_ack_span *s = t->queues[i].head; s; s = s->next)
            if (!s->closed || s->outstanding > 0) return false;
    return true;
}

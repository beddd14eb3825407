#include "publish.h"

#include <stdlib.h>
#include <string.h>

#include "ol_str.h"

struct publisher {
    result_sink *sink;
    ol_metrics *metrics;
    ol_ack_span **spans; /* per partition, for one batch */
    int64_t *span_ends;
    size_t cap;
};

publisher *publisher_new(result_sink *sink, ol_metrics *metrics) {
    publisher *pub = calloc(1, sizeof *pub);
    if (!pub) return NULL;
    pub->sink = sink;
    pub->metrics = metrics;
    return pub;
}

void publisher_destroy(publisher *pub) {
    if (!pub) return;
    free(pub->spans);
    free(pub->span_ends);
    free(pub);
}

static bool grow(publisher *pub, size_t n) {
    if (pub->cap >= n) return true;
    ol_ack_span **spans = realloc(pub->spans, n * sizeof *spans);
    if (spans) pub->spans = spans;
    int64_t *ends = realloc(pub->span_ends, n * sizeof *ends);
    if (ends) pub->span_ends = ends;
    if (!spans || !ends) return false;
    pub->cap = n;
    return true;
}

/* One acknowledgement span per partition of the batch; every slot is set,
 * NULL where the batch has none or memory ran out, so closing is safe. */
static bool open_spans(publisher *pub, const batch *b, size_t n) {
    if (!grow(pub, n)) return false;
    batch_span_ends(b, pub->span_ends, n);
    bool ok = true;
    for (size_t p = 0; p < n; p++) {
        pub->spans[p] = NULL;
        if (ok && pub->span_ends[p] >= 0)
            ok = (pub->spans[p] = result_sink_open_span(pub->sink, (int32_t)p, pub->span_ends[p])) != NULL;
    }
    return ok;
}

static void close_spans(publisher *pub, size_t n) {
    for (size_t p = 0; p < n && p < pub->cap; p++)
        if (pub->spans[p]) {
            result_sink_close_span(pub->sink, pub->spans[p]);
            pub->spans[p] = NULL;
        }
}

static bool publish_entry(publisher *pub, const batch_entry *e, char *err, size_t errlen) {
    ol_ack_span *span = pub->spans[e->msg->partition];
    if (!e->valid && !result_sink_publish_dlq(pub->sink, span, e->msg, e->result.error, err, errlen)) return false;
    if (e->answered) {
        const void *key = e->result.has_order ? e->result.item : e->msg->key;
        size_t key_len = e->result.has_order ? strlen(e->result.item) : e->msg->key_len;
        if (!result_sink_publish_result(pub->sink, span, &e->result, key, key_len, err, errlen)) return false;
    }
    batch_count_answer(e, pub->metrics);
    return true;
}

bool publisher_publish(publisher *pub, batch *b, size_t n_partitions, char *err, size_t errlen) {
    bool ok = open_spans(pub, b, n_partitions);
    if (!ok) ol_seterr(err, errlen, "out of memory opening acknowledgement spans");
    for (size_t i = 0; ok && i < b->len; i++) ok = publish_entry(pub, &b->entries[i], err, errlen);
    close_spans(pub, n_partitions);
    if (ok) return batch_published(b);
    batch_transition(b, BATCH_EV_FAIL);
    return false;
}

#include "ol_waiters.h"

#include <stdlib.h>
#include <string.h>

#include "ol_map.h"
#include "ol_str.h"

/* A wait is allocated once and becomes its own completion, so completing
 * never needs memory (but for the answer's copy). */
typedef struct ol_wait {
    struct ol_wait *next; /* in its pending's list, then in the completion queue */
    struct ol_wait *prev;
    ol_pending *pending; /* NULL once completed */
    int64_t deadline_ms;
    size_t heap_index; /* NOT_IN_HEAP once its deadline passed or it completed */
    ol_completion done;
} ol_wait;

#define NOT_IN_HEAP ((size_t)-1)

struct ol_pending {
    char order_id[OL_ORDER_ID_MAX + 1];
    ol_pending_state state;
    int unconfirmed; /* delivery reports without an offset so far */
    int32_t partition;
    int64_t offset;
    ol_wait *waits; /* doubly linked */
    size_t n_waits;
};

struct ol_waiters {
    ol_map *by_id;  /* order_id -> ol_pending */
    ol_wait **heap; /* min-heap on deadline_ms */
    size_t heap_len, heap_cap;
    ol_wait *done_head, *done_tail;
    size_t n_waits;
    int max_unconfirmed;
    bool healthy;
};

ol_pending_state ol_pending_next(ol_pending_state from, ol_pending_event ev) {
    switch (from) {
    case OL_PENDING_PRODUCING:
        switch (ev) {
        case OL_PENDING_EV_DELIVERED:
            return OL_PENDING_IN_LOG;
        case OL_PENDING_EV_UNCONFIRMED:
            return OL_PENDING_PRODUCING;
        case OL_PENDING_EV_FAILED:
            return OL_PENDING_FAILED;
        case OL_PENDING_EV_ANSWERED:
            return OL_PENDING_ANSWERED;
        }
        break;
    case OL_PENDING_IN_LOG:
        /* A report for a re-sent copy changes nothing: the log has it. */
        return ev == OL_PENDING_EV_ANSWERED ? OL_PENDING_ANSWERED : OL_PENDING_IN_LOG;
    case OL_PENDING_ANSWERED:
    case OL_PENDING_FAILED:
        return from; /* final */
    }
    return from;
}

const char *ol_pending_state_name(ol_pending_state state) {
    switch (state) {
    case OL_PENDING_PRODUCING:
        return "producing";
    case OL_PENDING_IN_LOG:
        return "in_log";
    case OL_PENDING_ANSWERED:
        return "answered";
    case OL_PENDING_FAILED:
        return "failed";
    }
    return "unknown";
}

ol_waiters *ol_waiters_new(int max_unconfirmed) {
    ol_waiters *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->by_id = ol_map_new();
    if (!w->by_id) {
        free(w);
        return NULL;
    }
    w->max_unconfirmed = max_unconfirmed;
    w->healthy = true;
    return w;
}

static void free_wait_list(ol_wait *head) {
    while (head) {
        ol_wait *next = head->next;
        free(head->done.answer);
        free(head);
        head = next;
    }
}

void ol_waiters_destroy(ol_waiters *w) {
    if (!w) return;
    size_t pos = 0;
    const char *key;
    void *value;
    while (ol_map_next(w->by_id, &pos, &key, &value)) {
        ol_pending *p = value;
        free_wait_list(p->waits);
        free(p);
    }
    ol_map_destroy(w->by_id);
    free_wait_list(w->done_head);
    free(w->heap);
    free(w);
}

/* --- the deadline heap --- */

static void heap_swap(ol_waiters *w, size_t a, size_t b) {
    ol_wait *t = w->heap[a];
    w->heap[a] = w->heap[b];
    w->heap[b] = t;
    w->heap[a]->heap_index = a;
    w->heap[b]->heap_index = b;
}

static void heap_up(ol_waiters *w, size_t i) {
    while (i > 0 && w->heap[(i - 1) / 2]->deadline_ms > w->heap[i]->deadline_ms) {
        heap_swap(w, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void heap_down(ol_waiters *w, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < w->heap_len && w->heap[l]->deadline_ms < w->heap[m]->deadline_ms) m = l;
        if (r < w->heap_len && w->heap[r]->deadline_ms < w->heap[m]->deadline_ms) m = r;
        if (m == i) return;
        heap_swap(w, i, m);
        i = m;
    }
}

static bool heap_push(ol_waiters *w, ol_wait *x) {
    if (w->heap_len == w->heap_cap) {
        size_t cap = w->heap_cap ? w->heap_cap * 2 : 64;
        ol_wait **heap = realloc(w->heap, cap * sizeof *heap);
        if (!heap) return false;
        w->heap = heap;
        w->heap_cap = cap;
    }
    x->heap_index = w->heap_len;
    w->heap[w->heap_len++] = x;
    heap_up(w, x->heap_index);
    return true;
}

static void heap_remove(ol_waiters *w, ol_wait *x) {
    size_t i = x->heap_index;
    if (i == NOT_IN_HEAP) return;
    x->heap_index = NOT_IN_HEAP;
    w->heap_len--;
    if (i == w->heap_len) return;
    w->heap[i] = w->heap[w->heap_len];
    w->heap[i]->heap_index = i;
    heap_up(w, i);
    heap_down(w, w->heap[i]->heap_index);
}

/* --- pendings and waits --- */

ol_pending *ol_waiters_find(ol_waiters *w, const char *order_id) { return ol_map_get(w->by_id, order_id); }

ol_pending *ol_waiters_add(ol_waiters *w, const char *order_id) {
    size_t len = strlen(order_id);
    if (len == 0 || len > OL_ORDER_ID_MAX || ol_map_get(w->by_id, order_id)) return NULL;
    ol_pending *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    memcpy(p->order_id, order_id, len + 1);
    p->state = OL_PENDING_PRODUCING;
    p->partition = -1;
    p->offset = -1;
    if (!ol_map_put(w->by_id, p->order_id, p)) {
        free(p);
        return NULL;
    }
    return p;
}

ol_pending_state ol_pending_state_of(const ol_pending *p) { return p->state; }

bool ol_waiters_wait(ol_waiters *w, ol_pending *p, void *token, int64_t deadline_ms) {
    ol_wait *x = calloc(1, sizeof *x);
    if (!x) return false;
    x->pending = p;
    x->deadline_ms = deadline_ms;
    x->done.token = token;
    if (!heap_push(w, x)) {
        free(x);
        return false;
    }
    x->next = p->waits;
    if (p->waits) p->waits->prev = x;
    p->waits = x;
    p->n_waits++;
    w->n_waits++;
    return true;
}

/* Moves x from its pending to the completion queue with outcome. */
static void complete(ol_waiters *w, ol_wait *x, ol_wait_outcome outcome, const char *answer, size_t len,
                     const ol_result *result, const char *reason) {
    ol_pending *p = x->pending;
    heap_remove(w, x);
    if (x->prev) x->prev->next = x->next;
    else p->waits = x->next;
    if (x->next) x->next->prev = x->prev;
    p->n_waits--;
    w->n_waits--;
    x->pending = NULL;
    x->done.outcome = outcome;
    x->done.partition = p->partition;
    x->done.offset = p->offset;
    if (answer) {
        x->done.answer = malloc(len + 1);
        if (!x->done.answer) {
            w->healthy = false; /* the caller cannot be told the answer */
        } else {
            memcpy(x->done.answer, answer, len);
            x->done.answer[len] = '\0';
            x->done.answer_len = len;
        }
        x->done.result = *result;
    }
    if (reason) ol_strlcpy(x->done.reason, reason, sizeof x->done.reason);
    x->next = NULL;
    x->prev = w->done_tail;
    if (w->done_tail) w->done_tail->next = x;
    else w->done_head = x;
    w->done_tail = x;
}

/* Drops p from the registry once nothing can change for anyone here. */
static void release_if_done(ol_waiters *w, ol_pending *p) {
    bool final = p->state == OL_PENDING_ANSWERED || p->state == OL_PENDING_FAILED;
    if (!final && !(p->state == OL_PENDING_IN_LOG && p->n_waits == 0)) return;
    ol_map_remove(w->by_id, p->order_id);
    free(p);
}

static void fail_waits(ol_waiters *w, ol_pending *p, const char *reason) {
    while (p->waits) complete(w, p->waits, OL_WAIT_FAILED, NULL, 0, NULL, reason);
}

ol_delivery_action ol_delivery_judge(bool error, int64_t offset, int *unconfirmed, int max_unconfirmed) {
    if (error) return OL_DELIVERY_FAILED;
    if (offset >= 0) return OL_DELIVERY_ACKED;
    return ++*unconfirmed > max_unconfirmed ? OL_DELIVERY_FAILED : OL_DELIVERY_RESEND;
}

ol_delivery_action ol_waiters_delivery(ol_waiters *w, const char *order_id, const char *err_reason, int32_t partition,
                                       int64_t offset, int64_t now_ms) {
    ol_pending *p = ol_map_get(w->by_id, order_id);
    if (!p) return OL_DELIVERY_IGNORED;
    /* Once in the log, a report for a re-sent copy changes nothing. */
    if (p->state != OL_PENDING_PRODUCING) return OL_DELIVERY_ACKED;
    ol_delivery_action a = ol_delivery_judge(err_reason != NULL, offset, &p->unconfirmed, w->max_unconfirmed);
    if (a == OL_DELIVERY_RESEND) {
        p->state = ol_pending_next(p->state, OL_PENDING_EV_UNCONFIRMED);
        return a;
    }
    if (a == OL_DELIVERY_FAILED) {
        p->state = ol_pending_next(p->state, OL_PENDING_EV_FAILED);
        fail_waits(w, p, err_reason ? err_reason : OL_DELIVERY_UNCONFIRMED_REASON);
    } else {
        p->state = ol_pending_next(p->state, OL_PENDING_EV_DELIVERED);
        p->partition = partition;
        p->offset = offset;
        /* Waits whose deadline passed while producing end now. */
        for (ol_wait *x = p->waits, *next; x; x = next) {
            next = x->next;
            if (x->deadline_ms <= now_ms) complete(w, x, OL_WAIT_TIMED_OUT, NULL, 0, NULL, NULL);
        }
    }
    release_if_done(w, p);
    return a;
}

ol_answer_match ol_waiters_answer(ol_waiters *w, const char *value, size_t len, char *err, size_t errlen) {
    ol_result r;
    if (!ol_result_from_json(value, len, &r, err, errlen)) return OL_ANSWER_UNREADABLE;
    return ol_waiters_answer_parsed(w, &r, value, len);
}

ol_answer_match ol_waiters_answer_parsed(ol_waiters *w, const ol_result *r, const char *value, size_t len) {
    ol_pending *p = r->order_id[0] ? ol_map_get(w->by_id, r->order_id) : NULL;
    if (!p) return OL_ANSWER_IGNORED;
    p->state = ol_pending_next(p->state, OL_PENDING_EV_ANSWERED);
    if (p->partition < 0 && !r->duplicate) { /* its answer says where it was read */
        p->partition = r->partition;
        p->offset = r->offset;
    }
    while (p->waits) complete(w, p->waits, OL_WAIT_DECIDED, value, len, r, NULL);
    release_if_done(w, p);
    return OL_ANSWER_MATCHED;
}

void ol_waiters_expire(ol_waiters *w, int64_t now_ms) {
    while (w->heap_len > 0 && w->heap[0]->deadline_ms <= now_ms) {
        ol_wait *x = w->heap[0];
        ol_pending *p = x->pending;
        if (p->state == OL_PENDING_PRODUCING) {
            heap_remove(w, x); /* overdue: ends with the delivery report */
            continue;
        }
        complete(w, x, OL_WAIT_TIMED_OUT, NULL, 0, NULL, NULL);
        release_if_done(w, p);
    }
}

void ol_waiters_finish_all(ol_waiters *w, const char *reason) {
    size_t pos = 0;
    const char *key;
    void *value;
    /* Failing waits leaves the map as it is (a PRODUCING pending stays for
     * its report); releasing pendings would not, so that is left to expire. */
    while (ol_map_next(w->by_id, &pos, &key, &value)) {
        ol_pending *p = value;
        if (p->state == OL_PENDING_PRODUCING) fail_waits(w, p, reason);
    }
    ol_waiters_expire(w, INT64_MAX);
}

bool ol_waiters_next_completion(ol_waiters *w, ol_completion *out) {
    ol_wait *x = w->done_head;
    if (!x) return false;
    w->done_head = x->next;
    if (!w->done_head) w->done_tail = NULL;
    *out = x->done;
    free(x);
    return true;
}

bool ol_waiters_healthy(const ol_waiters *w) { return w->healthy; }
size_t ol_waiters_waits(const ol_waiters *w) { return w->n_waits; }
size_t ol_waiters_pendings(const ol_waiters *w) { return ol_map_size(w->by_id); }

int64_t ol_waiters_next_deadline(const ol_waiters *w) { return w->heap_len ? w->heap[0]->deadline_ms : INT64_MAX; }

#include "lookups.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ol_str.h"

#define THREADS_MAX 16

struct gw_lookups {
    gw_ledger *ledger;
    pthread_mutex_t lock;
    pthread_cond_t queued;
    gw_lookup *head, *tail; /* guarded by lock */
    bool stopping;          /* guarded by lock */
    pthread_t threads[THREADS_MAX];
    int n_threads;
};

static void answer(gw_ledger *ledger, gw_lookup *q) {
    q->err[0] = '\0';
    if (ol_monotonic_ms() >= q->deadline_ms) {
        q->status = GW_LEDGER_ERROR;
        ol_seterr(q->err, sizeof q->err, "PostgreSQL did not answer in time (every connection is busy)");
    } else if (q->kind == GW_LOOKUP_DECISION) {
        q->status = gw_ledger_decision(ledger, q->key, q->deadline_ms, &q->result, q->err, sizeof q->err);
    } else if (q->kind == GW_LOOKUP_ITEM) {
        q->status = gw_ledger_item(ledger, q->key, q->deadline_ms, &q->count, q->err, sizeof q->err);
    } else if (q->kind == GW_LOOKUP_CART) {
        q->status = gw_ledger_cart(ledger, q->key, q->deadline_ms, &q->cart, q->err, sizeof q->err);
    } else if (q->kind == GW_LOOKUP_CART_ANSWER) {
        q->status = gw_ledger_cart_answer(ledger, q->key, q->deadline_ms, &q->answer, q->err, sizeof q->err);
    } else {
        q->status = gw_ledger_ping(ledger, q->deadline_ms, q->err, sizeof q->err) ? GW_LEDGER_FOUND : GW_LEDGER_ERROR;
    }
}

void gw_lookup_clear(gw_lookup *q) {
    free(q->cart.lines);
    q->cart.lines = NULL;
    free(q->answer);
    q->answer = NULL;
}

/* Pops the oldest lookup; NULL once stopping and the queue is empty. */
static gw_lookup *next_lookup(gw_lookups *p) {
    pthread_mutex_lock(&p->lock);
    while (!p->head && !p->stopping) pthread_cond_wait(&p->queued, &p->lock);
    gw_lookup *q = p->head;
    if (q) {
        p->head = q->next;
        if (!p->head) p->tail = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    return q;
}

static void *worker(void *arg) {
    gw_lookups *p = arg;
    gw_lookup *q;
    while ((q = next_lookup(p))) {
        answer(p->ledger, q);
        q->done(q); /* q may be gone after this */
    }
    return NULL;
}

gw_lookups *gw_lookups_new(gw_ledger *ledger, int threads, char *err, size_t errlen) {
    gw_lookups *p = calloc(1, sizeof *p);
    if (!p) {
        ol_seterr(err, errlen, "out of memory");
        return NULL;
    }
    p->ledger = ledger;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->queued, NULL);
    if (threads > THREADS_MAX) threads = THREADS_MAX;
    for (; p->n_threads < threads; p->n_threads++) {
        if (pthread_create(&p->threads[p->n_threads], NULL, worker, p) != 0) {
            ol_seterr(err, errlen, "cannot start a ledger lookup thread");
            gw_lookups_stop(p);
            gw_lookups_destroy(p);
            return NULL;
        }
    }
    return p;
}

bool gw_lookups_submit(gw_lookups *p, gw_lookup *q) {
    q->next = NULL;
    pthread_mutex_lock(&p->lock);
    bool ok = !p->stopping;
    if (ok) {
        if (p->tail) p->tail->next = q;
        else p->head = q;
        p->tail = q;
        pthread_cond_signal(&p->queued);
    }
    pthread_mutex_unlock(&p->lock);
    return ok;
}

void gw_lookups_stop(gw_lookups *p) {
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->queued);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->n_threads; i++) pthread_join(p->threads[i], NULL);
    p->n_threads = 0;
}

void gw_lookups_destroy(gw_lookups *p) {
    if (!p) return;
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->queued);
    free(p);
}

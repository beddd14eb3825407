#include "ol_window.h"

#include <stdlib.h>
#include <string.h>

#include "ol_str.h"

bool ol_window_init(ol_window *w, int32_t n, char *err, size_t errlen) {
    memset(w, 0, sizeof *w);
    /* One more than n: calloc(0) may return NULL, which would read as OOM. */
    size_t cnt = (size_t)(n > 0 ? n : 0) + 1;
    w->low = calloc(cnt, sizeof *w->low);
    w->high = calloc(cnt, sizeof *w->high);
    w->start = calloc(cnt, sizeof *w->start);
    w->done = calloc(cnt, sizeof *w->done);
    if (!w->low || !w->high || !w->start || !w->done) {
        ol_window_free(w);
        ol_seterr(err, errlen, "out of memory");
        return false;
    }
    w->n = n > 0 ? n : 0;
    return true;
}

void ol_window_free(ol_window *w) {
    free(w->low);
    free(w->high);
    free(w->start);
    free(w->done);
    memset(w, 0, sizeof *w);
}

void ol_window_begin(ol_window *w) {
    w->pending = 0;
    for (int32_t p = 0; p < w->n; p++) {
        if (w->start[p] < w->low[p]) w->start[p] = w->low[p];
        w->done[p] = w->start[p] >= w->high[p];
        w->pending += !w->done[p];
    }
}

bool ol_window_contains(const ol_window *w, int32_t partition, int64_t offset) {
    return partition >= 0 && partition < w->n && offset < w->high[partition];
}

bool ol_window_note(ol_window *w, int32_t partition, int64_t offset, bool eof) {
    if (partition < 0 || partition >= w->n || w->done[partition]) return false;
    /* An end event's offset is the next one to be written; a message's is
     * its own, so the window's last message sits at end - 1. */
    int64_t end = w->high[partition];
    if (eof ? offset < end : offset + 1 < end) return false;
    w->done[partition] = true;
    w->pending--;
    return true;
}

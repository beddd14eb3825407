#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ol_str.h"

struct audit_report {
    char *path;     /* --report FILE, NULL: none */
    char *tmp_path; /* FILE.tmp while writing */
    FILE *json;
    bool finished;
    uint64_t count;
    int write_errno; /* first write error, 0: none */
    ol_buf line;
};

audit_report *audit_report_new(const char *json_path, char *err, size_t errlen) {
    audit_report *r = calloc(1, sizeof *r);
    if (!r) {
        ol_seterr(err, errlen, "out of memory");
        return NULL;
    }
    ol_buf_init(&r->line);
    if (!json_path) return r;
    r->path = strdup(json_path);
    size_t len = strlen(json_path) + sizeof ".tmp";
    r->tmp_path = malloc(len);
    if (!r->path || !r->tmp_path) {
        ol_seterr(err, errlen, "out of memory");
        goto fail;
    }
    snprintf(r->tmp_path, len, "%s.tmp", json_path);
    r->json = fopen(r->tmp_path, "w");
    if (!r->json) {
        ol_seterr(err, errlen, "--report: cannot write '%s': %s", r->tmp_path, strerror(errno));
        goto fail;
    }
    if (fputs("{\"divergences\":[", r->json) == EOF) r->write_errno = errno;
    return r;
fail:
    audit_report_destroy(r);
    return NULL;
}

void audit_report_destroy(audit_report *r) {
    if (!r) return;
    if (r->json) {
        fclose(r->json);
        if (r->tmp_path) unlink(r->tmp_path);
    }
    free(r->path);
    free(r->tmp_path);
    ol_buf_free(&r->line);
    free(r);
}

uint64_t audit_report_count(const audit_report *r) { return r->count; }

static void note_write(audit_report *r, bool ok) {
    if (!ok && !r->write_errno) r->write_errno = errno ? errno : EIO;
}

void audit_report_divergence(void *ctx, const divergence *d) {
    audit_report *r = ctx;
    r->count++;
    ol_buf_clear(&r->line);
    if (!divergence_format(d, &r->line)) {
        note_write(r, false);
        return;
    }
    note_write(r, fwrite(r->line.data, 1, r->line.len, stdout) == r->line.len);
    if (!r->json) return;
    char *json = divergence_to_json(d);
    note_write(r, json && fprintf(r->json, "%s%s", r->count > 1 ? ",\n" : "\n", json) >= 0);
    free(json);
}

static json_t *json_stats(const audit_stats *s, uint64_t undecodable, uint64_t cart_answers) {
    json_t *o = json_object();
    if (!o) return NULL;
    int rc = 0;
    rc |= json_object_set_new(o, "messages", json_integer((json_int_t)s->messages));
    rc |= json_object_set_new(o, "invalid", json_integer((json_int_t)s->invalid));
    rc |= json_object_set_new(o, "decisions", json_integer((json_int_t)s->decisions));
    rc |= json_object_set_new(o, "duplicates", json_integer((json_int_t)s->duplicates));
    rc |= json_object_set_new(o, "cross_partition_duplicates", json_integer((json_int_t)s->deferred));
    rc |= json_object_set_new(o, "ledger_rows", json_integer((json_int_t)s->ledger_rows));
    rc |= json_object_set_new(o, "ledger_lookups", json_integer((json_int_t)s->lookups));
    rc |= json_object_set_new(o, "results_read", json_integer((json_int_t)s->results_read));
    rc |= json_object_set_new(o, "results_outside_window", json_integer((json_int_t)s->results_outside));
    rc |= json_object_set_new(o, "results_checked", json_integer((json_int_t)s->results_checked));
    rc |= json_object_set_new(o, "results_unverified", json_integer((json_int_t)s->results_unverified));
    rc |= json_object_set_new(o, "results_undecodable", json_integer((json_int_t)undecodable));
    rc |= json_object_set_new(o, "results_cart_answers", json_integer((json_int_t)cart_answers));
    rc |= json_object_set_new(o, "items", json_integer((json_int_t)s->items));
    rc |= json_object_set_new(o, "items_in_several_partitions", json_integer((json_int_t)s->shared_items));
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *json_carts(const audit_outcome *o) {
    const cart_audit_stats *c = o->carts;
    if (!c) return json_null();
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "messages", (json_int_t)c->messages, "unreadable",
                     (json_int_t)c->unreadable, "carts", (json_int_t)c->carts, "settled", (json_int_t)c->settled,
                     "answers", (json_int_t)o->cart_answers, "answers_checked", (json_int_t)c->answers_checked,
                     "answers_unverified", (json_int_t)c->answers_unverified);
}

static json_t *json_partitions(const audit_outcome *o) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < o->n_parts; i++) {
        const audit_partition *p = &o->parts[i];
        json_t *e =
            json_pack("{s:i, s:I, s:I, s:I, s:I, s:o}", "partition", (int)p->partition, "start", (json_int_t)p->start,
                      "decided_end", (json_int_t)p->decided_end, "results_end", (json_int_t)p->results_end, "log_end",
                      (json_int_t)p->high, "stored", json_boolean(p->stored));
        if (!e || json_array_append_new(arr, e) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* The JSON report's fields after the divergences, as one object. */
static json_t *json_tail(const audit_report *r, const ol_settings *s, int64_t since_us, const audit_outcome *o,
                         const char *error) {
    json_t *root = json_object();
    if (!root) return NULL;
    const audit_stats *st = o->stats;
    char since[40] = "";
    if (since_us >= 0) ol_format_rfc3339(since, sizeof since, since_us);
    int rc = 0;
    rc |= json_object_set_new(root, "ok", json_boolean(!error && r->count == 0));
    rc |= json_object_set_new(root, "error", error ? json_string(error) : json_null());
    rc |= json_object_set_new(root, "divergence_count", json_integer((json_int_t)r->count));
    json_t *kinds = json_object();
    for (int k = 0; kinds && st && k < DIV_KIND_COUNT; k++)
        if (st->by_kind[k])
            rc |= json_object_set_new(kinds, divergence_kind_name((divergence_kind)k),
                                      json_integer((json_int_t)st->by_kind[k]));
    rc |= json_object_set_new(root, "divergences_by_kind", kinds);
    rc |= json_object_set_new(root, "orders_topic", json_string(s->orders_topic));
    rc |= json_object_set_new(root, "results_topic", json_string(s->results_topic));
    rc |= json_object_set_new(root, "since", since_us >= 0 ? json_string(since) : json_null());
    rc |= json_object_set_new(root, "replayed",
                              st ? json_stats(st, o->undecodable_results, o->cart_answers) : json_null());
    rc |= json_object_set_new(root, "partitions", json_partitions(o));
    rc |= json_object_set_new(root, "carts_topic", o->carts ? json_string(s->carts_topic) : json_null());
    rc |= json_object_set_new(root, "carts", json_carts(o));
    rc |= json_object_set_new(root, "replay_seconds", json_real(o->replay_seconds));
    rc |= json_object_set_new(root, "total_seconds", json_real(o->total_seconds));
    double rate = st && o->replay_seconds > 0 ? (double)st->messages / o->replay_seconds : 0;
    rc |= json_object_set_new(root, "messages_per_second", json_real(rate));
    if (rc) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static void print_verdict(audit_report *r, const audit_outcome *o, const char *error) {
    const audit_stats *s = o->stats;
    ol_buf *b = &r->line;
    ol_buf_clear(b);
    bool ok = true;
    if (error) ok = ol_buf_appendf(b, "audit: ERROR, nothing concluded: %s", error);
    else if (r->count == 0) ok = ol_buf_appends(b, "audit: OK, everything agrees");
    else {
        ok = ol_buf_appendf(b, "audit: %" PRIu64 " DIVERGENCES (", r->count);
        const char *sep = "";
        for (int k = 0; ok && s && k < DIV_KIND_COUNT; k++) {
            if (!s->by_kind[k]) continue;
            ok = ol_buf_appendf(b, "%s%" PRIu64 " %s", sep, s->by_kind[k], divergence_kind_name((divergence_kind)k));
            sep = ", ";
        }
        ok = ok && ol_buf_appends(b, ")");
    }
    if (ok && s)
        ok = ol_buf_appendf(b,
                            "; %" PRIu64 " messages replayed in %zu partitions (%" PRIu64 " decisions, %" PRIu64
                            " duplicates, %" PRIu64 " invalid), %" PRIu64 " ledger rows, %" PRIu64
                            " answers checked, %" PRIu64 " items",
                            s->messages, o->n_parts, s->decisions, s->duplicates, s->invalid, s->ledger_rows,
                            s->results_checked, s->items);
    ok = ok && ol_buf_appends(b, "\n");
    note_write(r, ok && fwrite(b->data, 1, b->len, stdout) == b->len);
}

bool audit_report_finish(audit_report *r, const ol_settings *s, int64_t since_us, const audit_outcome *o,
                         const char *error, char *err, size_t errlen) {
    print_verdict(r, o, error);
    note_write(r, fflush(stdout) == 0);
    if (r->json) {
        json_t *tail = json_tail(r, s, since_us, o, error);
        char *text = tail ? json_dumps(tail, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(tail);
        /* text is "{...}": its fields continue the open object. */
        note_write(r, text && fprintf(r->json, "\n],%s\n", text + 1) >= 0);
        free(text);
        int closed = fclose(r->json);
        r->json = NULL;
        note_write(r, closed == 0);
        if (!r->write_errno && rename(r->tmp_path, r->path) != 0) note_write(r, false);
        if (r->write_errno) unlink(r->tmp_path);
    }
    r->finished = true;
    if (r->write_errno) {
        ol_seterr(err, errlen, "writing the report: %s", strerror(r->write_errno));
        return false;
    }
    return true;
}

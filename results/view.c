#include "view.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ol_map.h"

bool ol_output_format_parse(const char *text, bool stdout_is_tty, ol_output_format *out, char *err, size_t errlen) {
    if (!text) *out = stdout_is_tty ? OL_FORMAT_TABLE : OL_FORMAT_JSON;
    else if (strcmp(text, "json") == 0) *out = OL_FORMAT_JSON;
    else if (strcmp(text, "table") == 0) *out = OL_FORMAT_TABLE;
    else {
        ol_seterr(err, errlen, "--format: expected json or table, got '%.64s'", text);
        return false;
    }
    return true;
}

/* ---- filters ---------------------------------------------------------- */

bool ol_results_filter_init(ol_results_filter *f, const char *item, const char *status, const char *reason,
                            const char *order_id, char *err, size_t errlen) {
    memset(f, 0, sizeof *f);
    f->item = item;
    f->order_id = order_id;
    if (status) {
        if (!ol_status_parse(status, &f->status)) {
            ol_seterr(err, errlen, "--status: expected accepted, rejected or held, got '%.64s'", status);
            return false;
        }
        f->has_status = true;
    }
    if (reason) {
        if (strcmp(reason, "none") == 0) f->reason = OL_REASON_NONE;
        else if (!ol_reason_parse(reason, &f->reason) || f->reason == OL_REASON_NONE) {
            ol_seterr(err, errlen,
                      "--reason: unknown reason '%.64s' (expected none, insufficient_stock, unknown_item, invalid, "
                      "not_held, not_cancellable, not_expired, expired, already_confirmed or already_cancelled)",
                      reason);
            return false;
        }
        f->has_reason = true;
    }
    return true;
}

bool ol_results_filter_match(const ol_results_filter *f, const ol_result *r) {
    if (f->item && (!r->has_order || strcmp(f->item, r->item) != 0)) return false;
    if (f->order_id && strcmp(f->order_id, r->order_id) != 0) return false;
    if (f->has_status && f->status != r->status) return false;
    if (f->has_reason && f->reason != r->reason) return false;
    return true;
}

bool ol_results_filter_match_cart(const ol_results_filter *f, const ol_cart_result *c) {
    bool has_item = !f->item;
    for (size_t i = 0; !has_item && i < c->n_lines; i++) has_item = strcmp(c->lines[i].item, f->item) == 0;
    if (!has_item) return false;
    if (f->order_id && strcmp(f->order_id, c->order_id) != 0) return false;
    if (f->has_status && f->status != c->status) return false;
    if (f->has_reason && f->reason != c->reason) return false;
    return true;
}

/* ---- table ------------------------------------------------------------ */

/* Appends text in a column of width display cells (code points), padded;
 * longer text is cut and ends in an ellipsis. C0 and C1 controls become
 * '?' so that data can never move the cursor. The last column is not
 * padded. */
static bool append_cell(ol_buf *out, const char *text, size_t width, bool right, bool last) {
    const unsigned char *s = (const unsigned char *)text;
    size_t cells = 0, len = strlen(text), cut = len;
    for (size_t i = 0; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) cells++;
    bool truncated = width > 0 && cells > width;
    if (truncated) {
        /* Keep width-1 code points, then the ellipsis. */
        size_t kept = 0;
        for (cut = 0; cut < len; cut++) {
            if ((s[cut] & 0xC0) != 0x80) {
                if (kept == width - 1) break;
                kept++;
            }
        }
        cells = width;
    }
    size_t pad = width > cells ? width - cells : 0;
    if (right)
        for (size_t i = 0; i < pad; i++)
            if (!ol_buf_append(out, " ", 1)) return false;
    if (!ol_buf_append_visible(out, text, cut)) return false;
    if (truncated && !ol_buf_appends(out, "\xE2\x80\xA6")) return false;
    if (!right && !last)
        for (size_t i = 0; i < pad; i++)
            if (!ol_buf_append(out, " ", 1)) return false;
    if (!last) return ol_buf_append(out, "  ", 2);
    /* No trailing blanks when the last columns are empty. */
    while (out->len > 0 && out->data[out->len - 1] == ' ') out->data[--out->len] = '\0';
    return ol_buf_append(out, "\n", 1);
}

typedef struct column {
    const char *title;
    size_t width;
    bool right;
} column;

enum {
    COL_TIME,
    COL_POS,
    COL_ID,
    COL_ITEM,
    COL_TYPE,
    COL_QTY,
    COL_STATUS,
    COL_REASON,
    COL_REMAINING,
    COL_DUP,
    COL_ERROR,
    COL_COUNT
};
static const column columns[COL_COUNT] = {
    {"PROCESSED_AT", 24, false}, {"PART/OFFSET", 12, false}, {"ORDER_ID", 24, false}, {"ITEM", 16, false},
    {"TYPE", 7, false},          {"QTY", 7, true},           {"STATUS", 8, false},    {"REASON", 18, false},
    {"REMAINING", 10, true},     {"DUP", 3, false},          {"DETAIL", 0, false},
};

bool ol_results_table_header(ol_buf *out) {
    for (int i = 0; i < COL_COUNT; i++)
        if (!append_cell(out, columns[i].title, columns[i].width, columns[i].right, i == COL_COUNT - 1)) return false;
    return true;
}

bool ol_results_table_row(ol_buf *out, const ol_result *r) {
    char stamp[40], pos[48], qty[16], remaining[24], detail[OL_ORDER_ID_MAX + 64];
    ol_format_rfc3339(stamp, sizeof stamp, r->processed_at_us);
    /* Milliseconds are plenty on a screen: ...:00.123456Z -> ...:00.123Z */
    size_t n = strlen(stamp);
    if (n > 4) memmove(stamp + n - 4, "Z", 2);
    snprintf(pos, sizeof pos, "%d/%lld", r->partition, (long long)r->offset);
    snprintf(qty, sizeof qty, "%d", r->quantity);
    snprintf(remaining, sizeof remaining, "%lld", (long long)r->remaining);
    const char *reason = ol_reason_name(r->reason);
    /* The error of an invalid message; a follow-up's target; a hold's deadline. */
    const char *last = r->error;
    if (!r->error[0] && r->target[0]) {
        snprintf(detail, sizeof detail, "target %s", r->target);
        last = detail;
    } else if (!r->error[0] && r->status == OL_STATUS_HELD) {
        char until[40];
        ol_format_rfc3339(until, sizeof until, r->hold_expires_at_us);
        snprintf(detail, sizeof detail, "held until %s", until);
        last = detail;
    }
    const char *cells[COL_COUNT] = {
        stamp,
        pos,
        r->order_id[0] ? r->order_id : "-",
        r->has_order ? r->item : "-",
        r->has_order ? ol_order_type_name(r->type) : "-",
        r->has_order ? qty : "-",
        ol_status_name(r->status),
        reason ? reason : "-",
        r->has_remaining ? remaining : "-",
        r->duplicate ? "yes" : "",
        last,
    };
    for (int i = 0; i < COL_COUNT; i++)
        if (!append_cell(out, cells[i], columns[i].width, columns[i].right, i == COL_COUNT - 1)) return false;
    return true;
}

/* DETAIL of a cart's answer: its state, then each line. */
static bool cart_detail(ol_buf *d, const ol_cart_result *c) {
    bool ok = ol_buf_appendf(d, "state %s", c->has_state ? ol_cart_status_name(c->state) : "(no cart)");
    if (ok && c->status == OL_STATUS_HELD && c->hold_expires_at_us) {
        char until[40];
        ol_format_rfc3339(until, sizeof until, c->hold_expires_at_us);
        ok = ol_buf_appendf(d, " until %s", until);
    }
    for (size_t i = 0; ok && i < c->n_lines; i++) {
        const ol_cart_result_line *l = &c->lines[i];
        const char *reason = ol_reason_name(l->reason);
        ok = ol_buf_appendf(d, "%s %s x%d %s%s%s", i ? "," : ":", l->item, (int)l->quantity, l->status,
                            reason ? " " : "", reason ? reason : "");
    }
    if (ok && c->error[0]) ok = ol_buf_appendf(d, "; %s", c->error);
    return ok;
}

bool ol_results_cart_row(ol_buf *out, const ol_cart_result *c) {
    char stamp[40], pos[48];
    ol_format_rfc3339(stamp, sizeof stamp, c->processed_at_us);
    size_t n = strlen(stamp);
    if (n > 4) memmove(stamp + n - 4, "Z", 2);
    snprintf(pos, sizeof pos, "%d/%lld", c->partition, (long long)c->offset);
    ol_buf detail;
    ol_buf_init(&detail);
    if (!cart_detail(&detail, c)) {
        ol_buf_free(&detail);
        return false;
    }
    const char *reason = ol_reason_name(c->reason);
    const char *cells[COL_COUNT] = {
        stamp,
        pos,
        c->order_id,
        "-",
        ol_cart_answer_type_name(c->type),
        "-",
        ol_status_name(c->status),
        reason ? reason : "-",
        "-",
        c->duplicate ? "yes" : "",
        detail.data,
    };
    bool ok = true;
    for (int i = 0; ok && i < COL_COUNT; i++)
        ok = append_cell(out, cells[i], columns[i].width, columns[i].right, i == COL_COUNT - 1);
    ol_buf_free(&detail);
    return ok;
}

/* ---- summary ---------------------------------------------------------- */

/* Source positions already counted: open addressing on (partition, offset). */
typedef struct position_slot {
    int64_t offset;
    int32_t partition;
    bool used;
} position_slot;

struct ol_results_summary {
    position_slot *seen;
    size_t seen_cap; /* power of two */
    size_t seen_len;
    ol_map *items; /* item -> ol_results_counts* (owned) */
    ol_results_counts no_item;
    bool any_no_item;
    ol_results_counts total;
    uint64_t counted, repeats, undecodable;
    /* Cart answers, apart: their positions are on the carts topic, kept in
     * seen as partition -1 - p (an item answer's partition is never negative). */
    ol_results_counts carts;
    uint64_t carts_counted, carts_repeats;
    int64_t first_us, last_us; /* processed_at range of counted results */
};

ol_results_summary *ol_results_summary_new(void) {
    ol_results_summary *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->seen_cap = 1024;
    s->seen = calloc(s->seen_cap, sizeof *s->seen);
    s->items = ol_map_new();
    if (!s->seen || !s->items) {
        ol_results_summary_destroy(s);
        return NULL;
    }
    return s;
}

void ol_results_summary_destroy(ol_results_summary *s) {
    if (!s) return;
    if (s->items) {
        size_t pos = 0;
        const char *key;
        void *value;
        while (ol_map_next(s->items, &pos, &key, &value)) free(value);
        ol_map_destroy(s->items);
    }
    free(s->seen);
    free(s);
}

static uint64_t position_hash(int32_t partition, int64_t offset) {
    /* splitmix64 finaliser over both fields */
    uint64_t x = (uint64_t)offset * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uint32_t)partition;
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

static position_slot *position_find(position_slot *slots, size_t cap, int32_t partition, int64_t offset) {
    size_t mask = cap - 1;
    for (size_t i = (size_t)position_hash(partition, offset) & mask;; i = (i + 1) & mask)
        if (!slots[i].used || (slots[i].partition == partition && slots[i].offset == offset)) return &slots[i];
}

static bool position_grow(ol_results_summary *s) {
    size_t cap = s->seen_cap * 2;
    position_slot *slots = calloc(cap, sizeof *slots);
    if (!slots) return false;
    for (size_t i = 0; i < s->seen_cap; i++)
        if (s->seen[i].used) *position_find(slots, cap, s->seen[i].partition, s->seen[i].offset) = s->seen[i];
    free(s->seen);
    s->seen = slots;
    s->seen_cap = cap;
    return true;
}

static void count_into(ol_results_counts *c, const ol_result *r) {
    if (r->duplicate) {
        c->duplicates++;
        return;
    }
    if (r->status == OL_STATUS_ACCEPTED) c->accepted++;
    else if (r->status == OL_STATUS_HELD) c->held++;
    else c->rejected++;
    if (r->reason == OL_REASON_INSUFFICIENT_STOCK) c->insufficient_stock++;
    else if (r->reason == OL_REASON_UNKNOWN_ITEM) c->unknown_item++;
    else if (r->reason == OL_REASON_INVALID) c->invalid++;
}

bool ol_results_summary_add(ol_results_summary *s, const ol_result *r) {
    /* Load factor under 1/2 keeps probes short. */
    if ((s->seen_len + 1) * 2 > s->seen_cap && !position_grow(s)) return false;
    position_slot *slot = position_find(s->seen, s->seen_cap, r->partition, r->offset);
    if (slot->used) {
        s->repeats++;
        return true;
    }
    ol_results_counts *c = &s->no_item;
    if (r->has_order) {
        c = ol_map_get(s->items, r->item);
        if (!c) {
            c = calloc(1, sizeof *c);
            if (!c) return false;
            if (!ol_map_put(s->items, r->item, c)) {
                free(c);
                return false;
            }
        }
    } else {
        s->any_no_item = true;
    }
    slot->used = true;
    slot->partition = r->partition;
    slot->offset = r->offset;
    s->seen_len++;
    count_into(c, r);
    count_into(&s->total, r);
    if (s->counted == 0 || r->processed_at_us < s->first_us) s->first_us = r->processed_at_us;
    if (s->counted == 0 || r->processed_at_us > s->last_us) s->last_us = r->processed_at_us;
    s->counted++;
    return true;
}

bool ol_results_summary_add_cart(ol_results_summary *s, const ol_cart_result *c) {
    if ((s->seen_len + 1) * 2 > s->seen_cap && !position_grow(s)) return false;
    int32_t key = -1 - c->partition;
    position_slot *slot = position_find(s->seen, s->seen_cap, key, c->offset);
    if (slot->used) {
        s->carts_repeats++;
        return true;
    }
    *slot = (position_slot){.offset = c->offset, .partition = key, .used = true};
    s->seen_len++;
    ol_result r;
    ol_cart_result_as_result(c, &r);
    count_into(&s->carts, &r);
    s->carts_counted++;
    return true;
}

ol_results_counts ol_results_summary_carts(const ol_results_summary *s, uint64_t *counted, uint64_t *repeats) {
    *counted = s->carts_counted;
    *repeats = s->carts_repeats;
    return s->carts;
}

void ol_results_summary_add_undecodable(ol_results_summary *s) { s->undecodable++; }

ol_results_counts ol_results_summary_total(const ol_results_summary *s) { return s->total; }

bool ol_results_summary_item(const ol_results_summary *s, const char *item, ol_results_counts *out) {
    if (!item) {
        if (!s->any_no_item) return false;
        *out = s->no_item;
        return true;
    }
    const ol_results_counts *c = ol_map_get(s->items, item);
    if (!c) return false;
    *out = *c;
    return true;
}

uint64_t ol_results_summary_counted(const ol_results_summary *s) { return s->counted; }
uint64_t ol_results_summary_repeats(const ol_results_summary *s) { return s->repeats; }
uint64_t ol_results_summary_undecodable(const ol_results_summary *s) { return s->undecodable; }

bool ol_results_acceptance_rate(const ol_results_counts *c, double *rate) {
    uint64_t decisions = c->accepted + c->rejected + c->held;
    if (decisions == 0) return false;
    *rate = (double)c->accepted / (double)decisions;
    return true;
}

typedef struct item_row {
    const char *item; /* NULL: results without an item */
    const ol_results_counts *counts;
} item_row;

static int compare_rows(const void *a, const void *b) {
    const item_row *x = a, *y = b;
    if (!x->item || !y->item) return !x->item - !y->item; /* no item last */
    return strcmp(x->item, y->item);
}

/* The rows to render, sorted; *n set. NULL on OOM. */
static item_row *sorted_rows(const ol_results_summary *s, size_t *n) {
    size_t count = ol_map_size(s->items) + (s->any_no_item ? 1 : 0);
    item_row *rows = calloc(count + 1, sizeof *rows);
    if (!rows) return NULL;
    size_t pos = 0, i = 0;
    const char *key;
    void *value;
    while (ol_map_next(s->items, &pos, &key, &value)) rows[i++] = (item_row){key, value};
    if (s->any_no_item) rows[i++] = (item_row){NULL, &s->no_item};
    qsort(rows, i, sizeof *rows, compare_rows);
    *n = i;
    return rows;
}

enum {
    SUM_ITEM,
    SUM_ACCEPTED,
    SUM_REJECTED,
    SUM_HELD,
    SUM_INSUFFICIENT,
    SUM_UNKNOWN,
    SUM_INVALID,
    SUM_DUPLICATES,
    SUM_RATE,
    SUM_COUNT
};
static const char *const summary_titles[SUM_COUNT] = {
    "ITEM", "ACCEPTED", "REJECTED", "HELD", "INSUFFICIENT_STOCK", "UNKNOWN_ITEM", "INVALID", "DUPLICATES", "ACCEPTED%"};
/* The item column's width is computed from the names. */
static const size_t summary_widths[SUM_COUNT] = {0, 10, 10, 10, 18, 12, 9, 10, 10};

static bool summary_row(ol_buf *out, const char *label, size_t item_width, const ol_results_counts *c) {
    char cells[SUM_COUNT][32];
    const uint64_t values[] = {c->accepted,     c->rejected, c->held,      c->insufficient_stock,
                               c->unknown_item, c->invalid,  c->duplicates};
    for (int i = SUM_ACCEPTED; i <= SUM_DUPLICATES; i++)
        snprintf(cells[i], sizeof cells[i], "%llu", (unsigned long long)values[i - SUM_ACCEPTED]);
    double rate;
    if (ol_results_acceptance_rate(c, &rate)) snprintf(cells[SUM_RATE], sizeof cells[SUM_RATE], "%.1f%%", rate * 100);
    else snprintf(cells[SUM_RATE], sizeof cells[SUM_RATE], "-");
    if (!append_cell(out, label, item_width, false, false)) return false;
    for (int i = SUM_ACCEPTED; i < SUM_COUNT; i++)
        if (!append_cell(out, cells[i], summary_widths[i], true, i == SUM_COUNT - 1)) return false;
    return true;
}

bool ol_results_summary_table(const ol_results_summary *s, ol_buf *out) {
    size_t n = 0;
    item_row *rows = sorted_rows(s, &n);
    if (!rows) return false;
    bool ok = true;
    char first[40] = "-", last[40] = "-";
    if (s->counted) {
        ol_format_rfc3339(first, sizeof first, s->first_us);
        ol_format_rfc3339(last, sizeof last, s->last_us);
    }
    ok = ol_buf_appendf(out,
                        "results: %llu counted (%llu repeated answers ignored, %llu undecodable)\n"
                        "processed: %s .. %s\n\n",
                        (unsigned long long)s->counted, (unsigned long long)s->repeats,
                        (unsigned long long)s->undecodable, first, last);
    size_t width = strlen("(no item)");
    for (size_t i = 0; i < n; i++) {
        size_t w = rows[i].item ? strlen(rows[i].item) : 0;
        if (w > width) width = w;
    }
    if (width > OL_ITEM_MAX) width = OL_ITEM_MAX;
    ok = ok && append_cell(out, summary_titles[SUM_ITEM], width, false, false);
    for (int i = SUM_ACCEPTED; ok && i < SUM_COUNT; i++)
        ok = append_cell(out, summary_titles[i], summary_widths[i], true, i == SUM_COUNT - 1);
    for (size_t i = 0; ok && i < n; i++)
        ok = summary_row(out, rows[i].item ? rows[i].item : "(no item)", width, rows[i].counts);
    ok = ok && summary_row(out, "TOTAL", width, &s->total);
    if (ok && s->carts_counted)
        ok = ol_buf_appendf(out, "\ncarts: %llu answers counted (%llu repeated answers ignored)\n",
                            (unsigned long long)s->carts_counted, (unsigned long long)s->carts_repeats) &&
             summary_row(out, "CARTS", width, &s->carts);
    free(rows);
    return ok;
}

/* Sets the counts of c as fields of obj; false on OOM. */
static bool counts_to_json(json_t *obj, const ol_results_counts *c) {
    int rc = 0;
    rc |= json_object_set_new(obj, "accepted", json_integer((json_int_t)c->accepted));
    rc |= json_object_set_new(obj, "rejected", json_integer((json_int_t)c->rejected));
    rc |= json_object_set_new(obj, "held", json_integer((json_int_t)c->held));
    rc |= json_object_set_new(obj, "insufficient_stock", json_integer((json_int_t)c->insufficient_stock));
    rc |= json_object_set_new(obj, "unknown_item", json_integer((json_int_t)c->unknown_item));
    rc |= json_object_set_new(obj, "invalid", json_integer((json_int_t)c->invalid));
    rc |= json_object_set_new(obj, "duplicates", json_integer((json_int_t)c->duplicates));
    double rate;
    bool has_rate = ol_results_acceptance_rate(c, &rate);
    rc |= json_object_set_new(obj, "acceptance_rate", has_rate ? json_real(rate) : json_null());
    return rc == 0;
}

char *ol_results_summary_json(const ol_results_summary *s) {
    size_t n = 0;
    item_row *rows = sorted_rows(s, &n);
    json_t *root = json_object(), *total = json_object(), *items = json_array();
    char *out = NULL;
    if (!rows || !root || !total || !items) {
        json_decref(total);
        json_decref(items);
        goto done;
    }
    char first[40], last[40];
    ol_format_rfc3339(first, sizeof first, s->first_us);
    ol_format_rfc3339(last, sizeof last, s->last_us);
    int rc = 0;
    rc |= json_object_set_new(root, "results", json_integer((json_int_t)s->counted));
    rc |= json_object_set_new(root, "repeats", json_integer((json_int_t)s->repeats));
    rc |= json_object_set_new(root, "undecodable", json_integer((json_int_t)s->undecodable));
    rc |= json_object_set_new(root, "first_processed_at", s->counted ? json_string(first) : json_null());
    rc |= json_object_set_new(root, "last_processed_at", s->counted ? json_string(last) : json_null());
    bool ok = counts_to_json(total, &s->total);
    rc |= json_object_set_new(root, "total", total);
    for (size_t i = 0; ok && rc == 0 && i < n; i++) {
        json_t *row = json_object();
        ok = row && json_object_set_new(row, "item", rows[i].item ? json_string(rows[i].item) : json_null()) == 0 &&
             counts_to_json(row, rows[i].counts);
        if (json_array_append_new(items, row) != 0) ok = false;
    }
    rc |= json_object_set_new(root, "items", items);
    json_t *carts = s->carts_counted ? json_object() : NULL;
    if (carts) {
        ok = ok && counts_to_json(carts, &s->carts);
        rc |= json_object_set_new(carts, "results", json_integer((json_int_t)s->carts_counted));
        rc |= json_object_set_new(carts, "repeats", json_integer((json_int_t)s->carts_repeats));
        rc |= json_object_set_new(root, "carts", carts);
    } else if (s->carts_counted) {
        ok = false;
    }
    if (ok && rc == 0) out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
done:
    json_decref(root);
    free(rows);
    return out;
}

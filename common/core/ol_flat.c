#include "ol_flat.h"

#include <string.h>

static void skip_ws(ol_flat_reader *r) {
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) r->p++;
}

static bool take(ol_flat_reader *r, char ch) {
    skip_ws(r);
    if (r->p >= r->end || *r->p != ch) return false;
    r->p++;
    return true;
}

static bool read_string(ol_flat_reader *r, const char **s, size_t *len) {
    if (r->p >= r->end || *r->p != '"') return false;
    const char *start = ++r->p;
    for (; r->p < r->end; r->p++) {
        unsigned char ch = (unsigned char)*r->p;
        if (ch == '"') {
            *s = start;
            *len = (size_t)(r->p++ - start);
            return true;
        }
        if (ch < 0x20 || ch > 0x7e || ch == '\\') return false;
    }
    return false;
}

static bool read_integer(ol_flat_reader *r, int64_t *out) {
    bool negative = r->p < r->end && *r->p == '-';
    if (negative) r->p++;
    const char *digits = r->p;
    int64_t v = 0;
    /* Digits past the limit are counted, not computed: they would overflow
     * int64, and the number is declined anyway. */
    for (; r->p < r->end && *r->p >= '0' && *r->p <= '9'; r->p++)
        if (r->p - digits < OL_FLAT_MAX_DIGITS) v = v * 10 + (*r->p - '0');
    size_t n = (size_t)(r->p - digits);
    if (n == 0 || n > OL_FLAT_MAX_DIGITS || (n > 1 && *digits == '0')) return false;
    if (r->p < r->end && (*r->p == '.' || *r->p == 'e' || *r->p == 'E')) return false;
    *out = negative ? -v : v;
    return true;
}

static bool read_literal(ol_flat_reader *r, ol_flat_kind *kind) {
    static const struct {
        const char *word;
        size_t len;
        ol_flat_kind kind;
    } words[] = {{"true", 4, OL_FLAT_TRUE}, {"false", 5, OL_FLAT_FALSE}, {"null", 4, OL_FLAT_NULL}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if ((size_t)(r->end - r->p) >= words[i].len && memcmp(r->p, words[i].word, words[i].len) == 0) {
            r->p += words[i].len;
            *kind = words[i].kind;
            return true;
        }
    }
    return false;
}

static bool read_value(ol_flat_reader *r, ol_flat_value *v) {
    skip_ws(r);
    if (r->p >= r->end) return false;
    if (*r->p == '"') {
        v->kind = OL_FLAT_STRING;
        return read_string(r, &v->s, &v->len);
    }
    if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9')) {
        v->kind = OL_FLAT_INTEGER;
        return read_integer(r, &v->integer);
    }
    return read_literal(r, &v->kind);
}

bool ol_flat_open(ol_flat_reader *r, const char *value, size_t len) {
    r->p = value;
    r->end = value + len;
    r->n = 0;
    r->done = false;
    r->array = NULL;
    r->failed = !value || !take(r, '{');
    return !r->failed;
}

static bool fail(ol_flat_reader *r) {
    r->failed = true;
    return false;
}

bool ol_flat_next(ol_flat_reader *r, ol_flat_value *v) {
    if (r->failed || r->done) return false;
    if (r->n > 0 && !take(r, ',')) {
        r->done = true;
        return false;
    }
    memset(v, 0, sizeof *v);
    skip_ws(r);
    if (r->n == OL_FLAT_MAX_MEMBERS || !read_string(r, &v->name, &v->name_len)) return fail(r);
    for (size_t i = 0; i < r->n; i++)
        if (r->name_lens[i] == v->name_len && memcmp(r->names[i], v->name, v->name_len) == 0) return fail(r);
    r->names[r->n] = v->name;
    r->name_lens[r->n++] = v->name_len;
    if (!take(r, ':') || !read_value(r, v)) return fail(r);
    return true;
}

bool ol_flat_close(ol_flat_reader *r) {
    if (r->failed || !r->done || !take(r, '}')) return false;
    if (r->array) { /* the array reads on from here */
        r->array->p = r->p;
        r->array->in_element = false;
        return true;
    }
    skip_ws(r);
    return r->p == r->end;
}

/* The array's cursor, borrowed by a reader for its whitespace and tokens. */
static bool array_take(ol_flat_array *a, char ch) {
    ol_flat_reader at = {.p = a->p, .end = a->end};
    if (!take(&at, ch)) return false;
    a->p = at.p;
    return true;
}

bool ol_flat_array_open(ol_flat_array *a, const char *value, size_t len) {
    a->p = value;
    a->end = value + len;
    a->n = 0;
    a->done = a->in_element = false;
    a->failed = !value || !array_take(a, '[');
    return !a->failed;
}

bool ol_flat_array_next(ol_flat_array *a, ol_flat_reader *r) {
    if (a->failed || a->done) return false;
    if (a->in_element) { /* the element before was not closed */
        a->failed = true;
        return false;
    }
    if (a->n > 0 && !array_take(a, ',')) {
        a->done = true;
        return false;
    }
    if (!ol_flat_open(r, a->p, (size_t)(a->end - a->p))) {
        a->failed = true;
        return false;
    }
    r->array = a;
    a->in_element = true;
    a->n++;
    return true;
}

bool ol_flat_array_close(ol_flat_array *a) {
    if (a->failed || !a->done || a->in_element || !array_take(a, ']')) return false;
    ol_flat_reader at = {.p = a->p, .end = a->end};
    skip_ws(&at);
    return at.p == at.end;
}

bool ol_flat_copy(const ol_flat_value *v, size_t max, char *dst) {
    return v->kind == OL_FLAT_STRING && v->len >= 1 && v->len <= max && ol_flat_text(v, dst, max + 1);
}

bool ol_flat_text(const ol_flat_value *v, char *dst, size_t cap) {
    if (v->kind != OL_FLAT_STRING || v->len >= cap) return false;
    memcpy(dst, v->s, v->len);
    dst[v->len] = '\0';
    return true;
}

int ol_flat_field(const ol_flat_value *v, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (strlen(names[i]) == v->name_len && memcmp(names[i], v->name, v->name_len) == 0) return i;
    return -1;
}

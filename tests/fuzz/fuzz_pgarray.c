/* The audit's array literals (audit/ol_pgarray.c): a sequence of adds, resets
 * and reads taken from the input, and every literal read back with a
 * reader of PostgreSQL's array syntax written here (array_in's rules for
 * one dimension: quoted elements with backslash escapes, unquoted NULL).
 * What PostgreSQL would read must be exactly what was added, in order.
 * Input: op bytes; 't' LEN BYTES adds text (up to a NUL), 'i' 8 bytes adds
 * an integer, 'n' adds NULL, 'r' resets, '?' reads the literal; other bytes
 * are skipped (a read per byte made long inputs quadratic). */
#include "fuzz.h"

#include <inttypes.h>
#include <string.h>

#include "ol_pgarray.h"

#define MAX_ELEMENTS 512

typedef struct {
    bool is_null;
    char text[256]; /* text elements, and integers as PostgreSQL reads them */
} element;

typedef struct {
    element items[MAX_ELEMENTS];
    size_t n;
} model;

/* Reads one element at *p; false on a syntax error. */
static bool read_element(const char **p, element *e) {
    const char *s = *p;
    size_t n = 0;
    bool quoted = *s == '"';
    if (quoted) s++;
    for (; *s && (quoted ? *s != '"' : (*s != ',' && *s != '}')); s++) {
        if (*s == '\\') s++;
        if (!*s || n + 1 >= sizeof e->text) return false;
        e->text[n++] = *s;
    }
    if (quoted && *s++ != '"') return false;
    e->text[n] = '\0';
    e->is_null = !quoted && strcmp(e->text, "NULL") == 0;
    *p = s;
    return true;
}

static void check_literal(const char *lit, const model *m) {
    FUZZ_CHECK(lit && lit[0] == '{', "literal '%s'", lit ? lit : "(null)");
    const char *p = lit + 1;
    size_t n = 0;
    if (*p == '}') p++;
    else
        for (;; p++) {
            element e;
            FUZZ_CHECK(n < m->n && read_element(&p, &e), "element %zu of '%s'", n, lit);
            FUZZ_CHECK(e.is_null == m->items[n].is_null && (e.is_null || strcmp(e.text, m->items[n].text) == 0),
                       "element %zu reads '%s', added '%s' (%s)", n, e.text, m->items[n].text, lit);
            n++;
            if (*p == '}') {
                p++;
                break;
            }
            FUZZ_CHECK(*p == ',', "after element %zu: '%s'", n, lit);
        }
    FUZZ_CHECK(*p == '\0' && n == m->n, "%zu of %zu elements, then '%s'", n, m->n, p);
}

static bool add(ol_pgarray *a, model *m, const uint8_t *data, size_t size, size_t *i) {
    element *e = &m->items[m->n];
    uint8_t op = data[(*i)++];
    e->is_null = op == 'n';
    if (op == 't' && *i < size) {
        size_t len = data[(*i)++];
        if (len > size - *i) len = size - *i;
        if (len >= sizeof e->text) len = sizeof e->text - 1;
        memcpy(e->text, data + *i, len);
        e->text[len] = '\0'; /* a C string: it ends at a NUL */
        *i += len;
        return ol_pgarray_add_text(a, e->text);
    }
    if (op == 'i' && size - *i >= 8) {
        int64_t v;
        memcpy(&v, data + *i, 8);
        *i += 8;
        snprintf(e->text, sizeof e->text, "%" PRId64, v);
        return ol_pgarray_add_int(a, v);
    }
    if (op == 'n') return ol_pgarray_add_null(a);
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static model m;
    ol_pgarray a;
    ol_pgarray_init(&a);
    m.n = 0;
    for (size_t i = 0; i < size;) {
        uint8_t op = data[i];
        if ((op == 't' || op == 'i' || op == 'n') && m.n < MAX_ELEMENTS) {
            if (add(&a, &m, data, size, &i)) m.n++;
            else break; /* a truncated op at the end of the input */
        } else if (op == 'r') {
            i++;
            ol_pgarray_reset(&a);
            m.n = 0;
        } else {
            i++;
            if (op == '?') check_literal(ol_pgarray_text(&a), &m);
        }
    }
    check_literal(ol_pgarray_text(&a), &m);
    ol_pgarray_free(&a);
    return 0;
}

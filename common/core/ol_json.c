#include "ol_json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* True when every byte is ASCII that JSON takes as it is: the common case
 * (ids, items, names), copied in one go without the UTF-8 check. */
static bool plain_ascii(const char *text, size_t len) {
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') return false;
    }
    return true;
}

/* inline: the common case, and for a short id the call cost more than the copy. */
static inline bool append_plain(ol_buf *out, const char *text, size_t len) {
    if (!ol_buf_reserve(out, len + 2)) return false;
    char *p = out->data + out->len;
    p[0] = '"';
    memcpy(p + 1, text, len);
    p[len + 1] = '"';
    out->len += len + 2;
    out->data[out->len] = '\0';
    return true;
}

/* One byte's escape as jansson's dump writes it (c is '"', '\\' or a
 * control character). */
static void escape_of(unsigned char c, char esc[8]) {
    switch (c) {
    case '"':
        memcpy(esc, "\\\"", 3);
        break;
    case '\\':
        memcpy(esc, "\\\\", 3);
        break;
    case '\b':
        memcpy(esc, "\\b", 3);
        break;
    case '\f':
        memcpy(esc, "\\f", 3);
        break;
    case '\n':
        memcpy(esc, "\\n", 3);
        break;
    case '\r':
        memcpy(esc, "\\r", 3);
        break;
    case '\t':
        memcpy(esc, "\\t", 3);
        break;
    default:
        snprintf(esc, 8, "\\u%04X", c);
    }
}

/* Quotes and escapes text, which is UTF-8 (checked by the caller). On
 * false (memory) out is cut back to where it was: no half string. */
static bool append_escaped(ol_buf *out, const char *text, size_t len) {
    size_t start = out->len;
    bool ok = ol_buf_append(out, "\"", 1);
    size_t run = 0; /* bytes copied verbatim in one go */
    for (size_t i = 0; ok && i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        char esc[8];
        escape_of(c, esc);
        ok = (i == run || ol_buf_append(out, text + run, i - run)) && ol_buf_appends(out, esc);
        run = i + 1;
    }
    ok = ok && (len == run || ol_buf_append(out, text + run, len - run)) && ol_buf_append(out, "\"", 1);
    if (!ok && out->data) {
        out->len = start;
        out->data[start] = '\0';
    }
    return ok;
}

bool ol_json_append_string(ol_buf *out, const char *text) {
    if (!text) return false;
    size_t len = strlen(text);
    if (plain_ascii(text, len)) return append_plain(out, text, len);
    return ol_utf8_valid(text, len) && append_escaped(out, text, len);
}

/* Text that is not UTF-8, made printable first: ol_printable writes at
 * most 4 bytes per input byte, so the rendering is never cut. */
static bool append_printable(ol_buf *out, const char *text, size_t len) {
    char small[1024];
    if (len > (SIZE_MAX - 1) / 4) return false;
    size_t need = len * 4 + 1;
    char *safe = need <= sizeof small ? small : malloc(need);
    if (!safe) return false;
    ol_printable(safe, need, text, len);
    bool ok = append_escaped(out, safe, strlen(safe));
    if (safe != small) free(safe);
    return ok;
}

bool ol_json_append_text_or_null(ol_buf *out, const char *text) {
    if (!text) return OL_JSON_LIT(out, "null");
    size_t len = strlen(text);
    if (plain_ascii(text, len)) return append_plain(out, text, len);
    return ol_utf8_valid(text, len) ? append_escaped(out, text, len) : append_printable(out, text, len);
}

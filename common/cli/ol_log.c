#include "ol_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FORMAT_ENV "ORDERLINE_LOG_FORMAT"

static const char *level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
static const char *json_level_names[] = {"error", "warn", "info", "debug"};

bool ol_log_format_parse(const char *name, ol_log_format *out) {
    if (name && strcmp(name, "text") == 0) *out = OL_LOG_TEXT;
    else if (name && strcmp(name, "json") == 0) *out = OL_LOG_JSON;
    else return false;
    return true;
}

bool ol_log_use_format(const char *name) {
    ol_log_format f;
    return ol_log_format_parse(name, &f) && setenv(FORMAT_ENV, name, 1) == 0;
}

ol_log_format ol_log_current_format(void) {
    ol_log_format f;
    return ol_log_format_parse(getenv(FORMAT_ENV), &f) ? f : OL_LOG_TEXT;
}

bool ol_log_enabled(ol_log_level level) {
    if (level != OL_LOG_DEBUG) return true;
    const char *debug = getenv("ORDERLINE_DEBUG");
    return debug && *debug && strcmp(debug, "0") != 0;
}

/* The length of the well-formed multibyte UTF-8 sequence at s (at most n
 * bytes), or 0: not one (bad lead or continuation, cut short, overlong,
 * surrogate, past U+10FFFF). */
static size_t utf8_sequence(const unsigned char *s, size_t n) {
    size_t need;
    uint32_t cp;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        need = 1;
        cp = s[0] & 0x1Fu;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        need = 2;
        cp = s[0] & 0x0Fu;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        need = 3;
        cp = s[0] & 0x07u;
    } else {
        return 0;
    }
    if (n < need + 1) return 0;
    for (size_t k = 1; k <= need; k++) {
        if ((s[k] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[k] & 0x3Fu);
    }
    if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000)) return 0;
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return 0;
    return need + 1;
}

/* The JSON spelling of an ASCII byte that needs one, or NULL. */
static const char *json_short_escape(unsigned char c) {
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    case '\b':
        return "\\b";
    case '\f':
        return "\\f";
    default:
        return NULL;
    }
}

/* How the character (or stray byte) at s is spelled: its bytes go to tok,
 * *take says how many of s it stands for. Returns tok's length. */
static size_t spell(bool json, const unsigned char *s, size_t n, size_t *take, char tok[8]) {
    static const char hex[] = "0123456789abcdef";
    size_t seq = s[0] >= 0x80 ? utf8_sequence(s, n) : 1;
    *take = seq ? seq : 1;
    bool control = s[0] < 0x20 || s[0] == 0x7F;
    const char *short_escape = json ? json_short_escape(s[0]) : NULL;
    if (seq > 1 || (seq == 1 && !control && !short_escape)) {
        memcpy(tok, s, *take);
        return *take;
    }
    if (short_escape) {
        memcpy(tok, short_escape, 2);
        return 2;
    }
    size_t k = 0;
    if (json && seq == 1) { /* a control character */
        memcpy(tok, "\\u00", 4);
        k = 4;
    } else { /* text's \xNN, for a byte that is not UTF-8 in JSON too (its backslash escaped) */
        tok[k++] = '\\';
        if (json) tok[k++] = '\\';
        tok[k++] = 'x';
    }
    tok[k++] = hex[s[0] >> 4];
    tok[k++] = hex[s[0] & 15];
    return k;
}

/* Escapes src into dst (capacity dstlen, terminated), a whole character or
 * nothing; *consumed says how much of src made it. */
static size_t escape_into(bool json, char *dst, size_t dstlen, const char *src, size_t len, size_t *consumed) {
    size_t o = 0, i = 0;
    if (dstlen == 0) {
        *consumed = 0;
        return 0;
    }
    const unsigned char *s = (const unsigned char *)src;
    while (i < len) {
        char tok[8];
        size_t take;
        size_t out = spell(json, s + i, len - i, &take, tok);
        if (o + out + 1 > dstlen) break;
        memcpy(dst + o, tok, out);
        o += out;
        i += take;
    }
    dst[o] = '\0';
    *consumed = i;
    return o;
}

size_t ol_log_escape(char *dst, size_t dstlen, const char *src, size_t len) {
    size_t consumed;
    return escape_into(false, dst, dstlen, src, len, &consumed);
}

size_t ol_log_escape_json(char *dst, size_t dstlen, const char *src, size_t len) {
    size_t consumed;
    return escape_into(true, dst, dstlen, src, len, &consumed);
}

/* A line being built: never past cap (the terminator included). */
typedef struct line_out {
    char *p;
    size_t cap, len;
} line_out;

static bool put(line_out *o, const char *s, size_t n) {
    if (o->len + n + 1 > o->cap) return false;
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
    return true;
}

static bool puts_(line_out *o, const char *s) { return put(o, s, strlen(s)); }

/* Appends src escaped for a JSON string, quotes included, keeping `keep`
 * bytes free; false (o unchanged) if cut and !may_cut. */
static bool put_json_string(line_out *o, const char *src, size_t len, size_t keep, bool may_cut) {
    size_t at = o->len;
    if (o->len + keep + 3 > o->cap || !put(o, "\"", 1)) return false;
    size_t consumed;
    o->len += escape_into(true, o->p + o->len, o->cap - keep - 1 - o->len, src, len, &consumed);
    if ((consumed < len && !may_cut) || !put(o, "\"", 1)) {
        o->len = at;
        o->p[at] = '\0';
        return false;
    }
    return true;
}

static bool reserved_key(const char *key) {
    return strcmp(key, "time") == 0 || strcmp(key, "level") == 0 || strcmp(key, "tool") == 0 ||
           strcmp(key, "message") == 0;
}

/* ,"key":value whole, keeping `keep` bytes free, or nothing. */
static void put_field(line_out *o, const ol_log_field *f, size_t keep) {
    if (!f->key || reserved_key(f->key)) return;
    size_t at = o->len;
    bool ok = put(o, ",", 1) && put_json_string(o, f->key, strlen(f->key), keep, false) && put(o, ":", 1);
    if (ok && f->type == OL_LOG_FIELD_INT) {
        char num[24];
        int n = snprintf(num, sizeof num, "%lld", f->i);
        ok = n > 0 && o->len + (size_t)n + keep + 1 <= o->cap && put(o, num, (size_t)n);
    } else if (ok && !f->s) {
        ok = o->len + 4 + keep + 1 <= o->cap && put(o, "null", 4);
    } else if (ok) {
        ok = put_json_string(o, f->s, strlen(f->s), keep, false);
    }
    if (!ok) {
        o->len = at;
        o->p[at] = '\0';
    }
}

/* 2026-12-03T17:27:24.123Z */
static void format_time(int64_t time_ms, char out[32]) {
    time_t secs = (time_t)(time_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(time_ms % 1000));
}

/* The room a JSON line keeps for its fields while its message is written. */
#define FIELDS_ROOM(cap) ((cap) / 4)

static size_t format_json(const ol_log_record *r, line_out *o) {
    char stamp[32];
    format_time(r->time_ms, stamp);
    const char *tool = r->tool ? r->tool : "";
    bool ok = puts_(o, "{\"time\":\"") && puts_(o, stamp) && puts_(o, "\",\"level\":\"") &&
              puts_(o, json_level_names[r->level]) && puts_(o, "\",\"tool\":") &&
              put_json_string(o, tool, strlen(tool), FIELDS_ROOM(o->cap), true) && puts_(o, ",\"message\":") &&
              put_json_string(o, r->message, r->message_len, FIELDS_ROOM(o->cap), true);
    if (!ok) return 0;
    for (size_t i = 0; i < r->n_fields; i++) put_field(o, &r->fields[i], 2);
    return put(o, "}\n", 2) ? o->len : 0;
}

static size_t format_text(const ol_log_record *r, line_out *o) {
    if (!r->plain) {
        char stamp[32];
        format_time(r->time_ms, stamp);
        char head[160];
        int n = snprintf(head, sizeof head, "%s %.64s %s: ", stamp, r->tool ? r->tool : "", level_names[r->level]);
        if (n < 0 || !put(o, head, (size_t)n)) return 0;
    }
    size_t consumed;
    o->len += escape_into(false, o->p + o->len, o->cap - 1 - o->len, r->message, r->message_len, &consumed);
    return put(o, "\n", 1) ? o->len : 0;
}

size_t ol_log_format_record(ol_log_format format, const ol_log_record *r, char *dst, size_t dstlen) {
    if (dstlen < 256) {
        if (dstlen) dst[0] = '\0';
        return 0;
    }
    line_out o = {dst, dstlen, 0};
    dst[0] = '\0';
    size_t len = format == OL_LOG_JSON ? format_json(r, &o) : format_text(r, &o);
    if (len == 0) dst[0] = '\0';
    return len;
}

void ol_logv(ol_log_level level, bool plain, const ol_log_field *fields, size_t n_fields, const char *fmt, va_list ap) {
    if (!ol_log_enabled(level)) return;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char msg[2048];
    int m = vsnprintf(msg, sizeof msg, fmt, ap);
    if (m < 0) return;
    ol_log_record r = {.time_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000L,
                       .tool = program_invocation_short_name,
                       .level = level,
                       .message = msg,
                       .message_len = (size_t)m < sizeof msg ? (size_t)m : sizeof msg - 1,
                       .fields = fields,
                       .n_fields = n_fields,
                       .plain = plain};
    /* One buffer and one write, so concurrent writers do not interleave
     * lines. On a terminal a text line first clears the one it starts on:
     * a progress line there gives way to it instead of running into it (at
     * the start of an empty line this shows nothing). A JSON line stays
     * exactly one object. */
    static const char clear[] = "\r\033[K";
    ol_log_format format = ol_log_current_format();
    char line[8192];
    size_t at = format == OL_LOG_TEXT && isatty(STDERR_FILENO) == 1 ? sizeof clear - 1 : 0;
    memcpy(line, clear, at);
    size_t len = ol_log_format_record(format, &r, line + at, sizeof line - at);
    if (len) fwrite(line, 1, at + len, stderr);
}

void ol_log_progress(const char *line, bool final) {
    fprintf(stderr, "\r%s%s%s", line, isatty(STDERR_FILENO) == 1 ? "\033[K" : "", final ? "\n" : "");
    fflush(stderr);
}

void ol_log_library(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char msg[2048];
    int m = vsnprintf(msg, sizeof msg, fmt, ap);
    if (m < 0) return;
    size_t len = (size_t)m < sizeof msg ? (size_t)m : sizeof msg - 1;
    while (len > 0 && msg[len - 1] == '\n') len--; /* its own line end */
    ol_log_plain(OL_LOG_WARN, NULL, 0, "%.*s", (int)len, msg);
}

void ol_log(ol_log_level level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    ol_logv(level, false, NULL, 0, fmt, ap);
    va_end(ap);
}

void ol_log_kv(ol_log_level level, const ol_log_field *fields, size_t n_fields, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    ol_logv(level, false, fields, n_fields, fmt, ap);
    va_end(ap);
}

void ol_log_plain(ol_log_level level, const ol_log_field *fields, size_t n_fields, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    ol_logv(level, true, fields, n_fields, fmt, ap);
    va_end(ap);
}

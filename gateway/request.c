#include "request.h"

#include "ol_cart.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

static const struct {
    const char *allow;
    const char *label;
} routes[GW_ROUTE_COUNT] = {
    [GW_ROUTE_FORM] = {"GET", "form"},
    [GW_ROUTE_ORDERS] = {"POST", "post_orders"},
    [GW_ROUTE_ORDER] = {"GET", "get_order"},
    [GW_ROUTE_ITEM] = {"GET", "get_item"},
    [GW_ROUTE_FOLLOW_UP] = {"POST", "post_follow_up"},
    [GW_ROUTE_CARTS] = {"POST", "post_carts"},
    [GW_ROUTE_CART] = {"GET", "get_cart"},
    [GW_ROUTE_CART_FOLLOW_UP] = {"POST", "post_cart_follow_up"},
    [GW_ROUTE_METRICS] = {"GET", "metrics"},
    [GW_ROUTE_HEALTHZ] = {"GET", "healthz"},
    [GW_ROUTE_NOT_FOUND] = {"", "not_found"},
};

/* The length of "/confirm" or "/cancel" ending s after a non-empty id; 0
 * when none. */
static size_t follow_up_suffix(const char *s) {
    static const char *const suffixes[] = {"/confirm", "/cancel"};
    size_t len = strlen(s);
    for (size_t i = 0; i < 2; i++) {
        size_t n = strlen(suffixes[i]);
        if (len > n && strcmp(s + len - n, suffixes[i]) == 0) return n;
    }
    return 0;
}

gw_route gw_route_match(const char *path, const char **arg) {
    *arg = NULL;
    if (strcmp(path, "/") == 0) return GW_ROUTE_FORM;
    if (strcmp(path, "/orders") == 0) return GW_ROUTE_ORDERS;
    if (strcmp(path, "/carts") == 0) return GW_ROUTE_CARTS;
    if (strcmp(path, "/metrics") == 0) return GW_ROUTE_METRICS;
    if (strcmp(path, "/healthz") == 0) return GW_ROUTE_HEALTHZ;
    /* One non-empty segment after the prefix; an order_id may hold '/'
     * only percent-encoded, which the server decodes before matching. */
    if (strncmp(path, "/orders/", 8) == 0 && path[8]) {
        *arg = path + 8;
        return follow_up_suffix(path + 8) ? GW_ROUTE_FOLLOW_UP : GW_ROUTE_ORDER;
    }
    if (strncmp(path, "/carts/", 7) == 0 && path[7]) {
        *arg = path + 7;
        return follow_up_suffix(path + 7) ? GW_ROUTE_CART_FOLLOW_UP : GW_ROUTE_CART;
    }
    if (strncmp(path, "/items/", 7) == 0 && path[7]) {
        *arg = path + 7;
        return GW_ROUTE_ITEM;
    }
    return GW_ROUTE_NOT_FOUND;
}

bool gw_segment_check(gw_route route, const char *arg, const char **field, char *err, size_t errlen) {
    bool order = route == GW_ROUTE_ORDER, cart = route == GW_ROUTE_CART;
    size_t max = order ? OL_ORDER_ID_MAX : cart ? OL_CART_ID_MAX : OL_ITEM_MAX, len = strlen(arg);
    *field = order ? "order_id" : cart ? "cart_id" : "item";
    if (!ol_utf8_valid(arg, len)) {
        ol_seterr(err, errlen, "the %s in the path is not valid UTF-8 (percent-decoded)", *field);
        return false;
    }
    if (len > max) {
        ol_seterr(err, errlen, "the %s in the path is %zu bytes long, at most %zu are allowed", *field, len, max);
        return false;
    }
    return true;
}

bool gw_follow_up_parse(const char *arg, char *target, ol_order_type *type, char *err, size_t errlen) {
    size_t n = follow_up_suffix(arg), len = strlen(arg);
    if (n == 0) {
        ol_seterr(err, errlen, "expected /orders/{order_id}/confirm or /orders/{order_id}/cancel");
        return false;
    }
    *type = strcmp(arg + len - n, "/confirm") == 0 ? OL_TYPE_CONFIRM : OL_TYPE_CANCEL;
    len -= n;
    if (len > OL_ORDER_ID_MAX) {
        ol_seterr(err, errlen, "the order_id in the path is %zu bytes long, at most %d are allowed", len,
                  OL_ORDER_ID_MAX);
        return false;
    }
    memcpy(target, arg, len);
    target[len] = '\0';
    if (!ol_utf8_valid(target, len)) {
        ol_seterr(err, errlen, "the order_id in the path is not valid UTF-8 (percent-decoded)");
        return false;
    }
    return true;
}

bool gw_id_reserved(const char *id) { return strchr(id, '#') != NULL; }

bool gw_follow_up_id(const char *target, ol_order_type type, char *out) {
    const char *name = type == OL_TYPE_CONFIRM ? "confirm" : "cancel";
    size_t len = strlen(target);
    if (len == 0) return false;
    size_t n_name = strlen(name);
    if (len + 1 + n_name <= OL_ORDER_ID_MAX) {
        memcpy(out, target, len);
        out[len] = '#';
        memcpy(out + len + 1, name, n_name + 1);
        return true;
    }
    unsigned char digest[32];
    if (gnutls_hash_fast(GNUTLS_DIG_SHA256, target, len, digest) != 0) return false;
    int n = snprintf(out, OL_ORDER_ID_MAX + 1, "#%s:", name);
    for (size_t i = 0; i < sizeof digest; i++)
        n += snprintf(out + n, OL_ORDER_ID_MAX + 1 - (size_t)n, "%02x", digest[i]);
    return true;
}

bool gw_follow_up_message(ol_buf *out, ol_order_type type, const char *order_id, const char *item, const char *target) {
    json_t *obj = json_pack("{s:s, s:s, s:s, s:s}", "type", ol_order_type_name(type), "order_id", order_id, "item",
                            item, "target", target);
    char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(obj);
    bool ok = text && ol_buf_appends(out, text);
    free(text);
    return ok;
}

unsigned gw_follow_up_status_of(const ol_result *r) {
    if (r->status == OL_STATUS_ACCEPTED) return 200;
    return r->reason == OL_REASON_INVALID ? 422 : 409;
}

const char *gw_route_allow(gw_route route) { return routes[route].allow; }
const char *gw_route_label(gw_route route) { return routes[route].label; }

bool gw_route_allows(gw_route route, const char *method) {
    if (route == GW_ROUTE_NOT_FOUND) return true; /* 404 first */
    const char *allow = routes[route].allow;
    if (strcmp(method, allow) == 0) return true;
    return strcmp(allow, "GET") == 0 && strcmp(method, "HEAD") == 0;
}

static bool is_token_char(unsigned char c) { return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~:/", c)); }

bool gw_idempotency_key_parse(const char *header, char *key, char *err, size_t errlen) {
    const char *s = header;
    while (*s == ' ' || *s == '\t') s++;
    size_t n = 0;
    if (*s == '"') { /* RFC 8941 sf-string: printable ASCII, \" and \\ escaped */
        for (s++; *s != '"'; s++) {
            unsigned char c = (unsigned char)*s;
            if (c == '\0') {
                ol_seterr(err, errlen, "Idempotency-Key: string not closed with '\"'");
                return false;
            }
            if (c == '\\') {
                c = (unsigned char)*++s;
                if (c != '"' && c != '\\') {
                    ol_seterr(err, errlen, "Idempotency-Key: only \\\" and \\\\ may be escaped in a string");
                    return false;
                }
            } else if (c < 0x20 || c > 0x7e) {
                ol_seterr(err, errlen, "Idempotency-Key: byte 0x%02x is not allowed in a string", c);
                return false;
            }
            if (n == OL_ORDER_ID_MAX) goto too_long;
            key[n++] = (char)c;
        }
        s++;
    } else {
        for (; *s && *s != ' ' && *s != '\t'; s++) {
            if (!is_token_char((unsigned char)*s)) {
                ol_seterr(err, errlen,
                          "Idempotency-Key: character 0x%02x is not allowed in a token (quote it as a string)",
                          (unsigned char)*s);
                return false;
            }
            if (n == OL_ORDER_ID_MAX) goto too_long;
            key[n++] = *s;
        }
    }
    while (*s == ' ' || *s == '\t') s++;
    if (*s) {
        ol_seterr(err, errlen, "Idempotency-Key: unexpected text after the key");
        return false;
    }
    if (n == 0) {
        ol_seterr(err, errlen, "Idempotency-Key: empty");
        return false;
    }
    key[n] = '\0';
    if (gw_id_reserved(key)) { /* the key becomes an order_id or a cart_id */
        ol_seterr(err, errlen, "Idempotency-Key: %s", GW_ID_RESERVED_MSG);
        return false;
    }
    return true;
too_long:
    ol_seterr(err, errlen, "Idempotency-Key: longer than %d bytes", OL_ORDER_ID_MAX);
    return false;
}

gw_prefer gw_prefer_parse(const char *header) {
    gw_prefer p = {false, -1};
    if (!header) return p;
    const char *s = header;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == ',') s++;
        const char *start = s;
        while (*s && *s != ',' && *s != ';') s++;
        size_t len = (size_t)(s - start);
        while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t')) len--;
        if (len == 13 && strncasecmp(start, "respond-async", 13) == 0) p.respond_async = true;
        if (len > 5 && strncasecmp(start, "wait=", 5) == 0) {
            char num[24];
            size_t nlen = len - 5 < sizeof num - 1 ? len - 5 : sizeof num - 1;
            memcpy(num, start + 5, nlen);
            num[nlen] = '\0';
            long v;
            if (ol_parse_long(num, 0, 86400L * 365, &v)) p.wait_s = v; /* else ignored */
        }
        while (*s && *s != ',') s++; /* parameters after ';' are not ours */
    }
    return p;
}

int64_t gw_prefer_wait_ms(gw_prefer prefer, long default_s, long max_s) {
    if (prefer.respond_async) return 0;
    long s = prefer.wait_s >= 0 ? prefer.wait_s : default_s;
    if (s > max_s) s = max_s;
    return (int64_t)s * 1000;
}

bool gw_content_type_is_json(const char *header) {
    if (!header) return false;
    while (*header == ' ') header++;
    if (strncasecmp(header, "application/json", 16) != 0) return false;
    char next = header[16];
    return next == '\0' || next == ';' || next == ' ' || next == '\t';
}

static bool set_error(gw_order_input *in, unsigned status, const char *field, const char *msg) {
    in->status = status;
    in->field = field;
    ol_strlcpy(in->error, msg, sizeof in->error);
    return true;
}

/* Fills in->message: the body itself, or the body with order_id added. */
static bool build_message(const char *body, size_t len, json_t *root, bool add_key, const char *key,
                          gw_order_input *in) {
    if (!add_key) {
        in->message = malloc(len + 1);
        if (!in->message) return false;
        memcpy(in->message, body, len);
        in->message[len] = '\0';
        in->message_len = len;
        return true;
    }
    json_t *k = json_string(key);
    if (!k || json_object_set_new(root, "order_id", k) != 0) return false;
    in->message = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!in->message) return false;
    in->message_len = strlen(in->message);
    return true;
}

bool gw_order_input_read(const char *body, size_t len, const char *header_key, gw_order_input *in) {
    memset(in, 0, sizeof *in);
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &jerr);
    if (!root) {
        char msg[sizeof in->error];
        snprintf(msg, sizeof msg, "not valid JSON: %s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
        set_error(in, 400, NULL, msg);
        in->line = jerr.line;
        in->column = jerr.column;
        return true;
    }
    bool ok = true;
    const json_t *id = json_is_object(root) ? json_object_get(root, "order_id") : NULL;
    if (!header_key && !id && json_is_object(root)) {
        set_error(in, 400, "order_id", "an idempotency key is required: field 'order_id' or header Idempotency-Key");
        goto done;
    }
    if (header_key && json_is_string(id) && strcmp(json_string_value(id), header_key) != 0) {
        char msg[sizeof in->error], shown[65];
        ol_printable(shown, sizeof shown, json_string_value(id), json_string_length(id));
        snprintf(msg, sizeof msg, "header Idempotency-Key '%.64s' and field 'order_id' '%.64s' differ", header_key,
                 shown);
        set_error(in, 422, "order_id", msg);
        goto done;
    }
    if (!build_message(body, len, root, header_key && !id && json_is_object(root), header_key, in)) {
        ok = false;
        goto done;
    }
    const char *field = NULL;
    char why[OL_ERROR_MAX];
    if (!ol_order_parse_field(in->message, in->message_len, NULL, 0, &in->order, why, sizeof why, &field)) {
        set_error(in, 422, field, why);
        free(in->message);
        in->message = NULL;
    }
done:
    json_decref(root);
    return ok;
}

void gw_order_input_free(gw_order_input *in) {
    free(in->message);
    in->message = NULL;
}

unsigned gw_status_of(const ol_result *r) {
    if (r->status == OL_STATUS_ACCEPTED || r->status == OL_STATUS_HELD) return 201;
    return r->reason == OL_REASON_INVALID ? 422 : 409;
}

bool gw_location(ol_buf *out, const char *order_id) { return gw_location_under(out, "/orders/", order_id); }

bool gw_location_under(ol_buf *out, const char *prefix, const char *id) {
    static const char hex[] = "0123456789ABCDEF";
    if (!ol_buf_appends(out, prefix)) return false;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
        if (isalnum(*p) || strchr("-._~", *p)) {
            if (!ol_buf_append(out, (const char *)p, 1)) return false;
        } else {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            if (!ol_buf_append(out, esc, 3)) return false;
        }
    }
    return true;
}

static bool append_json(ol_buf *out, json_t *obj) {
    if (!obj) return false;
    char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
    if (!text) return false;
    bool ok = ol_buf_appends(out, text);
    free(text);
    return ok;
}

bool gw_error_json(ol_buf *out, const char *msg, const char *field, int line, int column) {
    /* A message may quote what the client sent (a decoded path, a body),
     * cut at any byte; jansson refuses a string that is not UTF-8, and the
     * request would get no answer at all. Such a message is shown as \xNN. */
    char shown[4096];
    size_t len = strlen(msg);
    if (!ol_utf8_valid(msg, len)) {
        ol_printable(shown, sizeof shown, msg, len);
        msg = shown;
    }
    json_t *o = json_object();
    if (!o) return false;
    bool ok = json_object_set_new(o, "error", json_string(msg)) == 0;
    if (ok && field) ok = json_object_set_new(o, "field", json_string(field)) == 0;
    if (ok && line > 0)
        ok = json_object_set_new(o, "line", json_integer(line)) == 0 &&
             json_object_set_new(o, "column", json_integer(column)) == 0;
    if (!ok) {
        json_decref(o);
        return false;
    }
    return append_json(out, o);
}

bool gw_pending_json(ol_buf *out, const char *order_id, int32_t partition, int64_t offset) {
    return append_json(out, json_pack("{s:s, s:s, s:I, s:I}", "order_id", order_id, "status", "pending", "partition",
                                      (json_int_t)partition, "offset", (json_int_t)offset));
}

bool gw_item_json(ol_buf *out, const char *name, int64_t count) {
    return append_json(out, json_pack("{s:s, s:I}", "item", name, "count", (json_int_t)count));
}

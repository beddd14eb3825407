#include "access.h"

#include <ctype.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ol_str.h"

#define DIGEST_SIZE 32 /* SHA-256 */

typedef struct gw_token {
    char name[GW_CLIENT_NAME_MAX + 1];
    uint8_t digest[DIGEST_SIZE];
    int line;
} gw_token;

struct gw_tokens {
    gw_token *items;
    size_t len, cap;
};

static bool sha256(const char *data, size_t len, uint8_t out[DIGEST_SIZE]) {
    return gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, out) == 0;
}

/* Every byte compared, whatever the first difference. */
static bool digests_equal(const uint8_t *a, const uint8_t *b) {
    volatile uint8_t diff = 0;
    for (size_t i = 0; i < DIGEST_SIZE; i++) diff |= a[i] ^ b[i];
    return diff == 0;
}

/* RFC 6750's token68: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/",
 * then any number of "=". */
static bool is_token68(const char *s, size_t len) {
    size_t i = 0;
    while (i < len && (isalnum((unsigned char)s[i]) || (s[i] && strchr("-._~+/", s[i])))) i++;
    if (i == 0) return false;
    while (i < len && s[i] == '=') i++;
    return i == len;
}

static bool is_name(const char *s, size_t len) {
    if (len == 0 || len > GW_CLIENT_NAME_MAX) return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i])) return false;
    return true;
}

/* The digests are not the tokens, but wiping them costs nothing. */
static void wipe_free(void *p, size_t n) {
    if (p) explicit_bzero(p, n);
    free(p);
}

void gw_tokens_destroy(gw_tokens *t) {
    if (!t) return;
    wipe_free(t->items, t->cap * sizeof *t->items);
    free(t);
}

size_t gw_tokens_count(const gw_tokens *t) { return t->len; }
const char *gw_tokens_name(const gw_tokens *t, size_t i) { return t->items[i].name; }

/* Splits a line into at most 3 fields at blanks; returns how many. */
static int split(const char *line, size_t len, const char *field[3], size_t flen[3]) {
    int n = 0;
    size_t i = 0;
    while (n < 3) {
        while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
        if (i == len) break;
        field[n] = line + i;
        while (i < len && line[i] != ' ' && line[i] != '\t') i++;
        flen[n] = i - (size_t)(field[n] - line);
        n++;
    }
    return n;
}

/* Checks and adds one client; false with err set. */
static bool add_token(gw_tokens *t, const char *source, int line, const char *name, size_t nlen, const char *token,
                      size_t tlen, char *err, size_t errlen) {
    if (!is_name(name, nlen)) {
        char shown[GW_CLIENT_NAME_MAX + 1];
        ol_printable(shown, sizeof shown, name, nlen);
        ol_seterr(err, errlen, "%s:%d: client name '%s' must be 1-%d letters, digits, '.', '_' or '-'", source, line,
                  shown, GW_CLIENT_NAME_MAX);
        return false;
    }
    if (tlen < GW_TOKEN_MIN || tlen > GW_TOKEN_MAX || !is_token68(token, tlen)) {
        ol_seterr(err, errlen,
                  "%s:%d: the token of '%.*s' must be %d-%d characters of A-Z a-z 0-9 - . _ ~ + / (then =)", source,
                  line, (int)nlen, name, GW_TOKEN_MIN, GW_TOKEN_MAX);
        return false;
    }
    gw_token tok = {.line = line};
    memcpy(tok.name, name, nlen);
    if (!sha256(token, tlen, tok.digest)) {
        ol_seterr(err, errlen, "%s:%d: cannot hash the token (GnuTLS)", source, line);
        return false;
    }
    for (size_t i = 0; i < t->len; i++) {
        if (strcmp(t->items[i].name, tok.name) == 0) {
            ol_seterr(err, errlen, "%s:%d: client '%s' is named twice (first on line %d)", source, line, tok.name,
                      t->items[i].line);
            return false;
        }
        if (digests_equal(t->items[i].digest, tok.digest)) {
            ol_seterr(err, errlen, "%s:%d: client '%s' has the token of '%s' (line %d); each needs its own", source,
                      line, tok.name, t->items[i].name, t->items[i].line);
            return false;
        }
    }
    if (t->len == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        gw_token *items = calloc(cap, sizeof *items);
        if (!items) {
            ol_seterr(err, errlen, "out of memory");
            return false;
        }
        if (t->items) memcpy(items, t->items, t->len * sizeof *items);
        wipe_free(t->items, t->cap * sizeof *t->items);
        t->items = items;
        t->cap = cap;
    }
    t->items[t->len++] = tok;
    explicit_bzero(&tok, sizeof tok);
    return true;
}

static bool reserved(const char *name, size_t len) {
    return (len == strlen(GW_CLIENT_ADMIN) && memcmp(name, GW_CLIENT_ADMIN, len) == 0) ||
           (len == strlen(GW_CLIENT_ANONYMOUS) && memcmp(name, GW_CLIENT_ANONYMOUS, len) == 0);
}

/* Both files: single (the admin's) wants the token alone, for name. */
static gw_tokens *parse(const char *text, const char *source, const char *single, char *err, size_t errlen) {
    gw_tokens *t = calloc(1, sizeof *t);
    if (!t) {
        ol_seterr(err, errlen, "out of memory");
        return NULL;
    }
    int line = 0;
    for (const char *p = text; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        const char *start = p;
        p += len + (eol ? 1 : 0);
        line++;
        if (len > 0 && start[len - 1] == '\r') len--;
        const char *f[3];
        size_t fl[3];
        int n = split(start, len, f, fl);
        if (n == 0 || f[0][0] == '#') continue;
        bool ok;
        if (single) {
            ok = n == 1 && t->len == 0;
            if (!ok) ol_seterr(err, errlen, "%s:%d: expected the token alone, on one line", source, line);
            else ok = add_token(t, source, line, single, strlen(single), f[0], fl[0], err, errlen);
        } else {
            ok = n == 2 && !reserved(f[0], fl[0]);
            if (n != 2)
                ol_seterr(err, errlen, "%s:%d: expected 'NAME TOKEN' (two fields), got %d field%s", source, line, n,
                          n == 1 ? "" : "s or more");
            else if (!ok)
                ol_seterr(err, errlen, "%s:%d: client name '%.*s' is reserved (the gateway gives it itself)", source,
                          line, (int)fl[0], f[0]);
            else ok = add_token(t, source, line, f[0], fl[0], f[1], fl[1], err, errlen);
        }
        if (!ok) goto fail;
    }
    if (t->len == 0) {
        ol_seterr(err, errlen, "%s: no token in it (%s)", source,
                  single ? "expected the token" : "lines of NAME TOKEN");
        goto fail;
    }
    return t;
fail:
    gw_tokens_destroy(t);
    return NULL;
}

gw_tokens *gw_tokens_parse(const char *text, const char *source, char *err, size_t errlen) {
    return parse(text, source, NULL, err, errlen);
}

gw_tokens *gw_tokens_parse_single(const char *text, const char *source, const char *name, char *err, size_t errlen) {
    return parse(text, source, name, err, errlen);
}

gw_auth_status gw_tokens_check(const gw_tokens *t, const char *authorization, size_t *client) {
    if (!authorization) return GW_AUTH_MISSING;
    const char *s = authorization;
    while (*s == ' ' || *s == '\t') s++;
    /* The scheme is case-insensitive (RFC 9110, 11.1). */
    if (strncasecmp(s, "Bearer", 6) != 0 || (s[6] != ' ' && s[6] != '\t')) return GW_AUTH_MISSING;
    s += 6;
    while (*s == ' ' || *s == '\t') s++;
    size_t len = strcspn(s, " \t");
    const char *rest = s + len;
    while (*rest == ' ' || *rest == '\t') rest++;
    uint8_t digest[DIGEST_SIZE];
    if (*rest || !is_token68(s, len) || !sha256(s, len, digest)) return GW_AUTH_INVALID;
    size_t found = SIZE_MAX;
    for (size_t i = 0; i < t->len; i++)
        if (digests_equal(t->items[i].digest, digest)) found = i;
    explicit_bzero(digest, sizeof digest);
    if (found == SIZE_MAX) return GW_AUTH_INVALID;
    *client = found;
    return GW_AUTH_OK;
}

gw_peer_verdict gw_peer_judge(int verify_rc, unsigned status, unsigned n_certs) {
    if (n_certs == 0) return GW_PEER_NO_CERTIFICATE;
    if (verify_rc != 0) return GW_PEER_UNVERIFIED;
    if (status != 0) return GW_PEER_UNTRUSTED;
    return GW_PEER_OK;
}

const char *gw_peer_verdict_text(gw_peer_verdict verdict) {
    switch (verdict) {
    case GW_PEER_OK:
        return "client certificate verified";
    case GW_PEER_NO_CERTIFICATE:
        return "a client certificate is required";
    case GW_PEER_UNTRUSTED:
        return "the client certificate is not signed by a trusted CA, or not valid now";
    case GW_PEER_UNVERIFIED:
        return "the client certificate could not be verified";
    }
    return "client certificate refused";
}

bool gw_type_allowed(ol_order_type type, bool admin_listener) { return admin_listener || type == OL_TYPE_ORDER; }

bool gw_addr_is_loopback(const struct sockaddr *sa) {
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a)) return true;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return false;
}

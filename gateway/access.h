/* gw_access: who may do what at the gateway's door, decided without a
 * socket: bearer tokens (the tokens files, the Authorization header), the
 * client-certificate verdict of mTLS, which order types a listener takes,
 * and whether a listening address is loopback. Pure (SHA-256 is
 * GnuTLS's): unit-tested in tests/unit/test_gateway_access.c. */
#ifndef GW_ACCESS_H
#define GW_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "ol_order.h"

#define GW_CLIENT_NAME_MAX 64 /* a metrics label and a Kafka header value */
#define GW_TOKEN_MIN 16       /* shorter tokens are guessable */
#define GW_TOKEN_MAX 512
/* Names the gateway gives callers itself, reserved in a tokens file. */
#define GW_CLIENT_ADMIN "admin"         /* the admin listener's caller */
#define GW_CLIENT_ANONYMOUS "anonymous" /* a caller where no token is asked for */

typedef struct gw_tokens gw_tokens;

/* A --auth-tokens file's text: one "NAME TOKEN" per line (blank lines and
 * lines starting with '#' are skipped). Names are 1-64 letters, digits,
 * '.', '_' or '-', each once, not "admin" or "anonymous"; tokens are
 * 16-512 characters of RFC 6750's token68, each client its own. Errors say
 * "SOURCE:LINE: ..." and never show a token. Only their SHA-256 digests
 * are kept. */
gw_tokens *gw_tokens_parse(const char *text, const char *source, char *err, size_t errlen);
/* A --admin-token-file's text: the token alone on one line, for client
 * name. */
gw_tokens *gw_tokens_parse_single(const char *text, const char *source, const char *name, char *err, size_t errlen);
/* Frees. NULL is accepted. */
void gw_tokens_destroy(gw_tokens *t);
size_t gw_tokens_count(const gw_tokens *t);
const char *gw_tokens_name(const gw_tokens *t, size_t i);

typedef enum {
    GW_AUTH_OK,      /* *client is the caller's index */
    GW_AUTH_MISSING, /* no Authorization header, or not the Bearer scheme */
    GW_AUTH_INVALID  /* a bearer token that is no client's */
} gw_auth_status;
/* Checks an Authorization header value (NULL when absent): the SHA-256 of
 * the token presented is compared with every client's digest, each in full
 * and all of them whatever matched, so the time taken says nothing about
 * the tokens. */
gw_auth_status gw_tokens_check(const gw_tokens *t, const char *authorization, size_t *client);

/* mTLS: libmicrohttpd asks for a client certificate but lets the handshake
 * succeed without one, or with one no CA signed. A caller is let in only
 * when the verification of its certificates returned 0 (verify_rc), found
 * nothing wrong (status, GnuTLS's gnutls_certificate_status_t bits) and
 * there was at least one certificate (n_certs). */
typedef enum { GW_PEER_OK, GW_PEER_NO_CERTIFICATE, GW_PEER_UNTRUSTED, GW_PEER_UNVERIFIED } gw_peer_verdict;
gw_peer_verdict gw_peer_judge(int verify_rc, unsigned status, unsigned n_certs);
/* The reason a 403 gives for the verdict. */
const char *gw_peer_verdict_text(gw_peer_verdict verdict);

/* Orders of any type come through the admin listener; the public one
 * takes only orders (a restock adds stock: an operator's act). */
bool gw_type_allowed(ol_order_type type, bool admin_listener);

/* 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
bool gw_addr_is_loopback(const struct sockaddr *sa);

#endif

/* Unit tests for gw_access: the tokens files, the Authorization header,
 * the mTLS verdict, order types per listener and loopback addresses. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <string.h>

#include "access.h"

#define TOK_A "aaaaaaaaaaaaaaaaaaaa"
#define TOK_B "bbbbbbbbbbbbbbbbbbbb"

static gw_tokens *parse_ok(const char *text) {
    char err[256] = "";
    gw_tokens *t = gw_tokens_parse(text, "tokens", err, sizeof err);
    cr_assert_not_null(t, "%s", err);
    return t;
}

static void parse_fails(const char *text, const char *want) {
    char err[256] = "";
    gw_tokens *t = gw_tokens_parse(text, "tokens", err, sizeof err);
    cr_expect_null(t, "accepted: %s", text);
    gw_tokens_destroy(t);
    cr_expect(strstr(err, want), "error '%s' lacks '%s'", err, want);
    cr_expect_null(strstr(err, "aaaaaaaa"), "the error shows a token: %s", err);
}

Test(gateway_access, tokens_file) {
    gw_tokens *t = parse_ok("# clients\n\nshop " TOK_A "\r\n  web.v2\t" TOK_B "==\n");
    cr_assert_eq(gw_tokens_count(t), 2);
    cr_assert_str_eq(gw_tokens_name(t, 0), "shop");
    cr_assert_str_eq(gw_tokens_name(t, 1), "web.v2");
    size_t who = 99;
    cr_assert_eq(gw_tokens_check(t, "Bearer " TOK_A, &who), GW_AUTH_OK);
    cr_assert_eq(who, 0);
    cr_assert_eq(gw_tokens_check(t, "bearer  " TOK_B "== ", &who), GW_AUTH_OK);
    cr_assert_eq(who, 1);
    gw_tokens_destroy(t);
    gw_tokens_destroy(NULL);
}

Test(gateway_access, bad_tokens_files) {
    parse_fails("", "tokens: no token");
    parse_fails("# only a comment\n\n", "tokens: no token");
    parse_fails("shop\n", "tokens:1: expected 'NAME TOKEN'");
    parse_fails("shop " TOK_A "\nweb " TOK_B " extra\n", "tokens:2: expected 'NAME TOKEN'");
    parse_fails("shop " TOK_A "\nshop " TOK_B "\n", "tokens:2: client 'shop' is named twice (first on line 1)");
    parse_fails("shop " TOK_A "\n\nweb " TOK_A "\n", "tokens:3: client 'web' has the token of 'shop' (line 1)");
    parse_fails("sh/op " TOK_A "\n", "tokens:1: client name 'sh/op'");
    parse_fails("shop aaaaaaaa\n", "tokens:1: the token of 'shop' must be 16-512");
    parse_fails("shop aaaaaaaaaaaaaaaa\"aaaa\n", "tokens:1: the token of 'shop'");
    parse_fails("admin " TOK_A "\n", "tokens:1: client name 'admin' is reserved");
    parse_fails("anonymous " TOK_A "\n", "reserved");
}

Test(gateway_access, authorization_header) {
    gw_tokens *t = parse_ok("shop " TOK_A "\n");
    size_t who = 7;
    cr_assert_eq(gw_tokens_check(t, NULL, &who), GW_AUTH_MISSING);
    cr_assert_eq(gw_tokens_check(t, "Basic c2hvcDpwdw==", &who), GW_AUTH_MISSING);
    cr_assert_eq(gw_tokens_check(t, "Bearer", &who), GW_AUTH_MISSING);
    cr_assert_eq(gw_tokens_check(t, "Bearer ", &who), GW_AUTH_INVALID);
    cr_assert_eq(gw_tokens_check(t, "Bearer " TOK_B, &who), GW_AUTH_INVALID);
    cr_assert_eq(gw_tokens_check(t, "Bearer " TOK_A "a", &who), GW_AUTH_INVALID);
    cr_assert_eq(gw_tokens_check(t, "Bearer " TOK_A " " TOK_A, &who), GW_AUTH_INVALID);
    cr_assert_eq(gw_tokens_check(t, "Bearer aaaaaaaaaaaaaaaaaaa", &who), GW_AUTH_INVALID); /* a prefix */
    cr_assert_eq(who, 7);
    gw_tokens_destroy(t);
}

Test(gateway_access, admin_token_file) {
    char err[256] = "";
    gw_tokens *t =
        gw_tokens_parse_single("# the admin's\n" TOK_A "\n", "admin.token", GW_CLIENT_ADMIN, err, sizeof err);
    cr_assert_not_null(t, "%s", err);
    cr_assert_eq(gw_tokens_count(t), 1);
    cr_assert_str_eq(gw_tokens_name(t, 0), "admin");
    size_t who = 5;
    cr_assert_eq(gw_tokens_check(t, "Bearer " TOK_A, &who), GW_AUTH_OK);
    cr_assert_eq(who, 0);
    gw_tokens_destroy(t);
    cr_assert_null(gw_tokens_parse_single(TOK_A "\n" TOK_B "\n", "admin.token", "admin", err, sizeof err));
    cr_assert(strstr(err, "admin.token:2: expected the token alone"), "%s", err);
    cr_assert_null(gw_tokens_parse_single("admin " TOK_A "\n", "admin.token", "admin", err, sizeof err));
    cr_assert(strstr(err, "admin.token:1:"), "%s", err);
    cr_assert_null(gw_tokens_parse_single("\n", "admin.token", "admin", err, sizeof err));
    cr_assert(strstr(err, "admin.token: no token"), "%s", err);
}

/* libmicrohttpd lets a handshake succeed without a certificate, or with
 * one no CA signed: only all three facts together let a caller in. */
Test(gateway_access, peer_verdict) {
    cr_assert_eq(gw_peer_judge(0, 0, 1), GW_PEER_OK);
    cr_assert_eq(gw_peer_judge(0, 0, 2), GW_PEER_OK);
    cr_assert_eq(gw_peer_judge(GNUTLS_E_NO_CERTIFICATE_FOUND, 0, 0), GW_PEER_NO_CERTIFICATE);
    cr_assert_eq(gw_peer_judge(0, 0, 0), GW_PEER_NO_CERTIFICATE);
    cr_assert_eq(gw_peer_judge(0, GNUTLS_CERT_INVALID | GNUTLS_CERT_SIGNER_NOT_FOUND, 1), GW_PEER_UNTRUSTED);
    cr_assert_eq(gw_peer_judge(0, GNUTLS_CERT_EXPIRED, 1), GW_PEER_UNTRUSTED);
    cr_assert_eq(gw_peer_judge(GNUTLS_E_INTERNAL_ERROR, 0, 1), GW_PEER_UNVERIFIED);
    cr_assert_eq(gw_peer_judge(GNUTLS_E_INTERNAL_ERROR, GNUTLS_CERT_INVALID, 1), GW_PEER_UNVERIFIED);
    cr_assert_str_eq(gw_peer_verdict_text(GW_PEER_NO_CERTIFICATE), "a client certificate is required");
}

Test(gateway_access, order_types_per_listener) {
    cr_assert(gw_type_allowed(OL_TYPE_ORDER, false));
    cr_assert_not(gw_type_allowed(OL_TYPE_RESTOCK, false));
    cr_assert(gw_type_allowed(OL_TYPE_ORDER, true));
    cr_assert(gw_type_allowed(OL_TYPE_RESTOCK, true));
}

static bool loopback4(const char *ip) {
    struct sockaddr_in a = {.sin_family = AF_INET};
    cr_assert_eq(inet_pton(AF_INET, ip, &a.sin_addr), 1);
    return gw_addr_is_loopback((struct sockaddr *)&a);
}

static bool loopback6(const char *ip) {
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    cr_assert_eq(inet_pton(AF_INET6, ip, &a.sin6_addr), 1);
    return gw_addr_is_loopback((struct sockaddr *)&a);
}

Test(gateway_access, loopback) {
    cr_assert(loopback4("127.0.0.1"));
    cr_assert(loopback4("127.10.0.3"));
    cr_assert_not(loopback4("0.0.0.0"));
    cr_assert_not(loopback4("10.0.0.1"));
    cr_assert_not(loopback4("128.0.0.1"));
    cr_assert(loopback6("::1"));
    cr_assert(loopback6("::ffff:127.0.0.1"));
    cr_assert_not(loopback6("::"));
    cr_assert_not(loopback6("::ffff:10.0.0.1"));
    cr_assert_not(loopback6("fe80::1"));
}

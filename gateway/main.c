/* order-gateway: an HTTP front that publishes an order and answers the
 * request with its decision. See README, "order-gateway".
 *
 * Exit codes: 0 stopped by SIGTERM/SIGINT after answering the requests in
 * flight; 1 could not start or lost the results topic; 2 bad usage (flags
 * that do not go together, a non-loopback --listen without --auth-tokens
 * or --no-auth, an unreadable or malformed tokens or TLS file). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "access.h"
#include "http.h"
#include "ledger.h"
#include "ol_cli.h"
#include "ol_log.h"
#include "ol_net.h"
#include "ol_str.h"
#include "relay.h"

enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 2 };

#define POLL_MS 5            /* reading answers: how long one read waits */
#define STOP_PRODUCE_MS 5000 /* on a stop: how long orders in flight may take to be confirmed */
#define STOP_DRAIN_MS 3000   /* then: how long the answers may take to be sent */
#define LEDGER_CONNECTIONS 3 /* one per lookup worker */

#define FIELD(name) offsetof(gateway_settings, name)
static const ol_option options[] = {
    OL_OPT_COMMON,
    OL_OPT_DB,
    OL_OPT_RESULTS_TOPIC,
    OL_OPT_CARTS_TOPIC,
    {"listen", 'l', OL_OPT_STRING, "ADDR:PORT", 0, 0, FIELD(listen),
     "serve the HTTP API here (orders only; not loopback: needs --auth-tokens or --no-auth)", "127.0.0.1:8080"},
    {"max-wait", 0, OL_OPT_LONG, "SECONDS", 0, 3600, FIELD(max_wait_s),
     "longest Prefer: wait=N honoured (a request without one waits 5)", "30"},
    {"metrics-addr", 0, OL_OPT_STRING, "HOST:PORT", 0, 0, FIELD(metrics_addr),
     "serve /metrics and /healthz here (and nowhere else)", NULL},
    {"auth-tokens", 0, OL_OPT_STRING, "FILE", 0, 0, FIELD(auth_tokens),
     "lines of NAME TOKEN: --listen requires Authorization: Bearer TOKEN", NULL},
    {"no-auth", 0, OL_OPT_FLAG, NULL, 0, 0, FIELD(no_auth), "serve a non-loopback --listen without tokens", NULL},
    {"admin-listen", 0, OL_OPT_STRING, "ADDR:PORT", 0, 0, FIELD(admin_listen),
     "also serve restocks and orders here, with --admin-token-file's token", NULL},
    {"admin-token-file", 0, OL_OPT_STRING, "FILE", 0, 0, FIELD(admin_token_file), "the admin listener's bearer token",
     NULL},
    {"tls-cert", 0, OL_OPT_STRING, "FILE", 0, 0, FIELD(tls_cert), "HTTPS (with --tls-key): the certificate chain, PEM",
     NULL},
    {"tls-key", 0, OL_OPT_STRING, "FILE", 0, 0, FIELD(tls_key), "the private key of --tls-cert, PEM", NULL},
    {"tls-client-ca", 0, OL_OPT_STRING, "FILE", 0, 0, FIELD(tls_client_ca),
     "mTLS: require client certificates signed by these CAs, PEM", NULL},
    {"max-connections-per-ip", 0, OL_OPT_LONG, "N", 0, 1000000, FIELD(max_connections_per_ip),
     "open connections one address may hold (0: no limit)", "64"},
    {"max-waiters", 0, OL_OPT_LONG, "N", 1, 10000000, FIELD(max_waiters),
     "requests waiting for a decision at once; past it 503", "10000"},
    {"idle-timeout", 0, OL_OPT_LONG, "SECONDS", 1, 3600, FIELD(idle_timeout_s),
     "close a connection idle this long (a request waiting for its decision is not idle)", "30"},
    OL_OPT_PARTITIONS("missing topics"),
};
#undef FIELD

static const ol_cli_tool tool = {
    .program = "order-gateway",
    .usage = "order-gateway [OPTIONS]",
    .summary = "HTTP front for orders: POST /orders publishes an order and answers with its decision\n"
               "(201 accepted, 409 rejected, 202 not decided in time); GET /orders/{id}, GET\n"
               "/items/{name}, the order form at /; /metrics and /healthz on --metrics-addr.",
    .options = options,
    .n_options = sizeof options / sizeof options[0],
    .settings_size = sizeof(gateway_settings),
    .positional_ok = false,
    .exit_help = EXIT_OK,
    .exit_usage = EXIT_USAGE,
    .exit_failed = EXIT_ERROR,
};

/* Thousands of waiting requests are thousands of sockets. */
static void raise_fd_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) ol_warn("cannot raise the open-files limit");
    }
}

/* The door's material, read once at start: tokens (digests only) and the
 * TLS files' text, which libmicrohttpd borrows while it runs. */
typedef struct gw_door {
    gw_tokens *tokens, *admin_tokens;
    char *cert, *key, *trust;
    size_t key_len;
} gw_door;

static void door_free(gw_door *d) {
    gw_tokens_destroy(d->tokens);
    gw_tokens_destroy(d->admin_tokens);
    if (d->key) explicit_bzero(d->key, d->key_len);
    free(d->cert);
    free(d->key);
    free(d->trust);
}

/* A whole file; secret ones readable by others get a warning, as
 * --config does. */
static char *read_file(const char *flag, const char *path, bool secret, size_t *len, char *err, size_t errlen) {
    FILE *f = fopen(path, "r");
    if (!f) {
        ol_seterr(err, errlen, "%s %s: %s", flag, path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (secret && fstat(fileno(f), &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)))
        ol_warn("%s %s is readable by other users; it holds secrets (chmod 600 it)", flag, path);
    ol_buf buf;
    ol_buf_init(&buf);
    char chunk[4096];
    size_t got;
    bool ok = true;
    while (ok && (got = fread(chunk, 1, sizeof chunk, f)) > 0) ok = ol_buf_append(&buf, chunk, got);
    if (ok && !buf.data) ok = ol_buf_append(&buf, "", 0);
    if (!ok || ferror(f)) ol_seterr(err, errlen, "%s %s: %s", flag, path, ok ? "read error" : "out of memory");
    ok = ok && !ferror(f);
    explicit_bzero(chunk, sizeof chunk);
    fclose(f);
    if (!ok) {
        if (buf.data) explicit_bzero(buf.data, buf.len);
        ol_buf_free(&buf);
        return NULL;
    }
    *len = buf.len;
    return buf.data;
}

static gw_tokens *read_tokens(const char *flag, const char *path, bool admin, char *err, size_t errlen) {
    size_t len;
    char *text = read_file(flag, path, true, &len, err, errlen);
    if (!text) return NULL;
    gw_tokens *t = admin ? gw_tokens_parse_single(text, path, GW_CLIENT_ADMIN, err, errlen)
                         : gw_tokens_parse(text, path, err, errlen);
    explicit_bzero(text, len);
    free(text);
    return t;
}

static bool door_load(const gateway_settings *s, gw_door *d, char *err, size_t errlen) {
    size_t len;
    if (s->auth_tokens && !(d->tokens = read_tokens("--auth-tokens", s->auth_tokens, false, err, errlen))) return false;
    if (s->admin_token_file &&
        !(d->admin_tokens = read_tokens("--admin-token-file", s->admin_token_file, true, err, errlen)))
        return false;
    if (s->tls_cert && !(d->cert = read_file("--tls-cert", s->tls_cert, false, &len, err, errlen))) return false;
    if (s->tls_key && !(d->key = read_file("--tls-key", s->tls_key, true, &d->key_len, err, errlen))) return false;
    if (s->tls_client_ca && !(d->trust = read_file("--tls-client-ca", s->tls_client_ca, false, &len, err, errlen)))
        return false;
    return true;
}

/* Whether every address addr resolves to is loopback; -1 when it does not resolve. */
static int loopback_only(const char *flag, const char *addr, char *err, size_t errlen) {
    struct addrinfo *ai = ol_net_resolve_listen(flag, addr, err, errlen);
    if (!ai) return -1;
    int all = 1;
    for (struct addrinfo *a = ai; a; a = a->ai_next)
        if (!gw_addr_is_loopback(a->ai_addr)) all = 0;
    freeaddrinfo(ai);
    return all;
}

/* The flags that only make sense together, and the rule that a public
 * address is never served without tokens by accident. */
static bool usage_ok(const gateway_settings *s, char *err, size_t errlen) {
    const char *wrong = NULL;
    if (s->no_auth && s->auth_tokens) wrong = "--no-auth and --auth-tokens contradict each other";
    else if (!!s->admin_listen != !!s->admin_token_file)
        wrong = "--admin-listen and --admin-token-file go together (the admin listener takes restocks, only with "
                "that token)";
    else if (!!s->tls_cert != !!s->tls_key) wrong = "--tls-cert and --tls-key go together";
    else if (s->tls_client_ca && !s->tls_cert) wrong = "--tls-client-ca needs --tls-cert and --tls-key";
    if (wrong) {
        ol_seterr(err, errlen, "%s", wrong);
        return false;
    }
    if (s->auth_tokens) return true;
    int loopback = loopback_only("--listen", s->listen, err, errlen);
    if (loopback < 0) return false;
    if (!loopback && !s->no_auth) {
        ol_seterr(err, errlen,
                  "--listen %s is not a loopback address: give --auth-tokens FILE, or --no-auth to serve it "
                  "unauthenticated",
                  s->listen);
        return false;
    }
    ol_warn("--listen %s is unauthenticated%s: anyone who reaches it may order", s->listen,
            s->no_auth ? " (--no-auth)" : " (loopback, no --auth-tokens)");
    return true;
}

static int serve(gw_relay *relay, gw_http *http, volatile sig_atomic_t *stop) {
    char err[1024];
    int rc = EXIT_OK;
    while (!*stop) {
        if (!gw_relay_run_once(relay, POLL_MS, err, sizeof err)) {
            ol_error("%s", err);
            rc = EXIT_ERROR;
            break;
        }
    }
    ol_info("stopping: no new connections; answering the requests in flight");
    gw_http_quiesce(http);
    int unconfirmed = gw_relay_stop(relay, STOP_PRODUCE_MS);
    if (unconfirmed > 0)
        ol_warn("%d orders not confirmed in the log at the stop (their requests got 503)", unconfirmed);
    unsigned open = gw_http_drain(http, STOP_DRAIN_MS);
    if (open > 0) ol_warn("%u requests still unanswered at the stop", open);
    return rc;
}

static int run(const gateway_settings *s, const gw_door *door, volatile sig_atomic_t *stop) {
    char err[1024] = "";
    int rc = EXIT_ERROR;
    gw_relay *relay = NULL;
    gw_http *http = NULL;
    gw_ledger *ledger = gw_ledger_new(s->common.db, s->common.orders_topic, LEDGER_CONNECTIONS, err, sizeof err);
    if (!ledger) goto done;
    gw_http_config hc = {s, door->tokens, door->admin_tokens, door->cert, door->key, door->trust, LEDGER_CONNECTIONS};
    http = gw_http_new(&hc, ledger, err, sizeof err);
    if (!http) goto done;
    gw_relay_config rc_cfg = {.settings = &s->common, .max_waiters = (size_t)s->max_waiters};
    rc_cfg.client_names = gw_http_client_names(http, &rc_cfg.n_clients);
    relay = gw_relay_new(&rc_cfg, gw_http_on_complete, http, err, sizeof err);
    if (!relay) goto done;
    if (!gw_http_start(http, relay, err, sizeof err)) goto done;
    rc = serve(relay, http, stop);
    err[0] = '\0';
done:
    if (rc != EXIT_OK && err[0]) ol_error("%s", err);
    gw_http_destroy(http); /* first: no request may reach the relay after this */
    gw_relay_destroy(relay);
    gw_ledger_destroy(ledger);
    return rc;
}

int main(int argc, char **argv) {
    gateway_settings s;
    ol_cli_status status = ol_cli_settings(&tool, &s.common, argc, argv);
    if (status != OL_CLI_RUN) return ol_cli_exit_code(&tool, status);
    char err[1024] = "";
    gw_door door = {0};
    int rc = EXIT_USAGE;
    if (!usage_ok(&s, err, sizeof err)) goto done;
    if (!door_load(&s, &door, err, sizeof err)) goto done; /* a bad file is a usage error, as --config's are */
    volatile sig_atomic_t *stop = ol_cli_stop_on_signals();
    raise_fd_limit();
    rc = run(&s, &door, stop);
done:
    if (err[0]) ol_cli_usage_error(tool.program, "%s", err);
    door_free(&door);
    ol_settings_destroy(&s.common);
    return rc;
}

#!/usr/bin/env bash
# order-gateway's front door on the real stack: bearer tokens (401 with
# WWW-Authenticate and a JSON body without one or with a wrong one; the
# caller's name in the order's orderline.client header and in /metrics),
# restocks refused on the public listener (403, nothing produced) and taken
# on the admin listener with the admin token only, /metrics and /healthz on
# --metrics-addr only (404 on the API), and the start-up refusals (exit 2):
# a non-loopback --listen without --auth-tokens or --no-auth, the admin
# listener without its token file, bad tokens files (named with their line).
# Facts come from HTTP codes and bodies, the orders topic and /metrics.
source "$(dirname "$0")/lib.sh"
it_setup gateway_door
TOK_SHOP=shop-token-0123456789abcdef
TOK_WEB=web-token-0123456789abcdef
TOK_ADMIN=admin-token-0123456789abcdef
printf '# clients of the gateway\nshop %s\nweb %s\n' "$TOK_SHOP" "$TOK_WEB" >"$IT_LOGDIR/tokens"
printf '%s\n' "$TOK_ADMIN" >"$IT_LOGDIR/admin.token"
chmod 600 "$IT_LOGDIR/tokens" "$IT_LOGDIR/admin.token"

# req NAME URL [CURL_ARGS...]: status in NAME.code, body NAME.body, headers NAME.headers.
req() {
    local name=$1 url=$2; shift 2
    curl -s -o "$IT_LOGDIR/$name.body" -D "$IT_LOGDIR/$name.headers" -w '%{http_code}' "$@" "$url" \
        >"$IT_LOGDIR/$name.code" || true
}
post() { # NAME URL KEY BODY [CURL_ARGS...]
    local name=$1 url=$2 key=$3 body=$4; shift 4
    req "$name" "$url/orders" -X POST -H 'Content-Type: application/json' -H "Idempotency-Key: $key" \
        -H 'Prefer: wait=10' --data-binary "$body" "$@"
}
code() { cat "$IT_LOGDIR/$1.code"; }
body() { cat "$IT_LOGDIR/$1.body"; }
expect() { # NAME CODE: the status, and a JSON body with "error" for errors
    [ "$(code "$1")" = "$2" ] || die "$1: HTTP $(code "$1"), expected $2: $(body "$1")"
    [ "$2" -lt 400 ] && return 0
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["error"], d' "$IT_LOGDIR/$1.body" ||
        die "$1: the error body is not JSON with an error: $(body "$1")"
}
header() { grep -i "^$2:" "$IT_LOGDIR/$1.headers" | head -1 | cut -d: -f2- | tr -d '\r' | sed 's/^ //'; }
topic_has() { kcat -C -b "$ORDERLINE_BROKERS" -t "$IT_ORDERS" -e -q -f '%s\n' 2>/dev/null | grep -c "\"order_id\": *\"$1\"" || true; }
metric() { counter "$1" "${GATEWAY_METRICS[$2]}"; }

# --- 1. start-up refusals: exit 2, before anything listens.
refuse() { # NAME WANT_IN_STDERR ARGS...: order-gateway exits 2 and says WANT on stderr
    local name=$1 want=$2 rc=0; shift 2
    timeout 30 "$BUILD/order-gateway" --db "$IT_DB" --orders-topic "$IT_ORDERS" --results-topic "$IT_RESULTS" "$@" \
        >"$IT_LOGDIR/$name.out" 2>&1 || rc=$?
    [ $rc = 2 ] || die "$name: exit $rc, expected 2: $(cat "$IT_LOGDIR/$name.out")"
    grep -qF -- "$want" "$IT_LOGDIR/$name.out" || die "$name: stderr does not say '$want': $(cat "$IT_LOGDIR/$name.out")"
    if grep -qF -- "0123456789abcdef" "$IT_LOGDIR/$name.out"; then die "$name: a token is in the output"; fi
}
P=$(free_port); IT_PORTS+=("$P")
refuse public-no-auth "--listen 0.0.0.0:$P" --listen "0.0.0.0:$P"
refuse admin-no-token "--admin-token-file" --admin-listen "127.0.0.1:$P"
refuse no-auth-and-tokens "--no-auth" --no-auth --auth-tokens "$IT_LOGDIR/tokens"
printf 'shop %s\nweb\n' "$TOK_SHOP" >"$IT_LOGDIR/bad-fields"
refuse bad-fields "$IT_LOGDIR/bad-fields:2:" --auth-tokens "$IT_LOGDIR/bad-fields"
printf 'shop %s\n\nshop %s\n' "$TOK_SHOP" "$TOK_WEB" >"$IT_LOGDIR/bad-dup"
refuse bad-dup "$IT_LOGDIR/bad-dup:3:" --auth-tokens "$IT_LOGDIR/bad-dup"
printf '# nothing\n' >"$IT_LOGDIR/bad-empty"
refuse bad-empty "$IT_LOGDIR/bad-empty: no token" --auth-tokens "$IT_LOGDIR/bad-empty"
printf 'shop short\n' >"$IT_LOGDIR/bad-short"
refuse bad-short "$IT_LOGDIR/bad-short:1:" --auth-tokens "$IT_LOGDIR/bad-short"
refuse missing-file "$IT_LOGDIR/no-such-file" --auth-tokens "$IT_LOGDIR/no-such-file"
log "start-up refusals: exit 2 for a public --listen without tokens, the admin listener without its token, bad tokens files"

# A tokens file others may read: it runs, with a warning naming the file.
cp "$IT_LOGDIR/tokens" "$IT_LOGDIR/open-tokens"
chmod 644 "$IT_LOGDIR/open-tokens"
start_gateway_named open --listen "127.0.0.1:$P" --auth-tokens "$IT_LOGDIR/open-tokens"
grep -qF "$IT_LOGDIR/open-tokens" "$IT_LOGDIR/gateway-open.log" || die "no warning about the readable tokens file"
stop_gateway open
# --no-auth on a non-loopback address: it runs.
start_gateway_named noauth --listen "0.0.0.0:$P" --no-auth
req noauth-form "http://127.0.0.1:$P/"
expect noauth-form 200
stop_gateway noauth
log "a tokens file readable by others is named in a warning; --no-auth serves 0.0.0.0"

# --- 2. the gateway with tokens and an admin listener; a consumer behind it.
PORT=$(free_port); IT_PORTS+=("$PORT")
ADMIN_PORT=$(free_port); IT_PORTS+=("$ADMIN_PORT")
URL=http://127.0.0.1:$PORT
ADMIN=http://127.0.0.1:$ADMIN_PORT
start_consumer a
start_gateway_named gw --listen "127.0.0.1:$PORT" --auth-tokens "$IT_LOGDIR/tokens" \
    --admin-listen "127.0.0.1:$ADMIN_PORT" --admin-token-file "$IT_LOGDIR/admin.token"
M=${GATEWAY_METRICS[gw]}

# No token, another scheme, a wrong token: 401 with WWW-Authenticate: Bearer, nothing produced.
before=$(kcat -C -b "$ORDERLINE_BROKERS" -t "$IT_ORDERS" -e -q -f '%o\n' 2>/dev/null | wc -l)
post no-token "$URL" k-none '{"item": "widget", "quantity": 1}'
expect no-token 401
[[ $(header no-token WWW-Authenticate) == Bearer* ]] || die "401 without WWW-Authenticate: Bearer"
post basic "$URL" k-basic '{"item": "widget", "quantity": 1}' -H 'Authorization: Basic c2hvcDpzaG9w'
expect basic 401
post wrong-token "$URL" k-wrong '{"item": "widget", "quantity": 1}' -H "Authorization: Bearer ${TOK_SHOP}x"
expect wrong-token 401
[[ $(header wrong-token WWW-Authenticate) == Bearer* ]] || die "401 without WWW-Authenticate: Bearer"
req get-no-token "$URL/items/widget"
expect get-no-token 401
req form-no-token "$URL/"
expect form-no-token 401
post admin-token-public "$URL" k-admin-pub '{"item": "widget", "quantity": 1}' -H "Authorization: Bearer $TOK_ADMIN"
expect admin-token-public 401
log "without a valid token: 401 with WWW-Authenticate: Bearer (no token, Basic, a wrong one, the admin's)"

# Restocks: 403 on the public listener even with a good token; the admin listener takes them with its token only.
SHOP=(-H "Authorization: Bearer $TOK_SHOP")
post restock-public "$URL" r-public '{"item": "widget", "quantity": 5, "type": "restock"}' "${SHOP[@]}"
expect restock-public 403
post restock-admin-shop "$ADMIN" r-shop '{"item": "widget", "quantity": 5, "type": "restock"}' "${SHOP[@]}"
expect restock-admin-shop 401
post restock-admin-none "$ADMIN" r-none '{"item": "widget", "quantity": 5, "type": "restock"}'
expect restock-admin-none 401
post restock "$ADMIN" r-1 '{"item": "widget", "quantity": 5, "type": "restock"}' -H "Authorization: Bearer $TOK_ADMIN"
expect restock 201
[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["remaining"])' "$IT_LOGDIR/restock.body")" = 5 ] ||
    die "the restock says $(body restock)"
sleep 1
for k in k-none k-basic k-wrong k-admin-pub r-public r-shop r-none; do
    [ "$(topic_has "$k")" = 0 ] || die "$k reached the orders topic"
done
after=$(kcat -C -b "$ORDERLINE_BROKERS" -t "$IT_ORDERS" -e -q -f '%o\n' 2>/dev/null | wc -l)
[ "$after" = $((before + 1)) ] || die "the orders topic went from $before to $after messages; expected one (r-1)"
log "restock: 403 on the public listener, 401 on the admin one without its token, 201 with it; only r-1 produced"

# Orders with a token: decided; the caller's name travels in the header orderline.client.
post shop-1 "$URL" o-shop '{"item": "widget", "quantity": 2}' "${SHOP[@]}"
expect shop-1 201
post web-1 "$URL" o-web '{"item": "widget", "quantity": 1}' -H "authorization: bearer $TOK_WEB"
expect web-1 201
post admin-order "$ADMIN" o-admin '{"item": "widget", "quantity": 1}' -H "Authorization: Bearer $TOK_ADMIN"
expect admin-order 201
req item "$URL/items/widget" "${SHOP[@]}"
expect item 200
[ "$(body item)" = '{"item":"widget","count":1}' ] || die "stock: $(body item)"
orders_with_headers >"$IT_LOGDIR/topic.txt"
grep -q '^orderline.client=shop|.*"o-shop"' "$IT_LOGDIR/topic.txt" || die "o-shop without orderline.client=shop: $(cat "$IT_LOGDIR/topic.txt")"
grep -q '^orderline.client=web|.*"o-web"' "$IT_LOGDIR/topic.txt" || die "o-web without orderline.client=web"
grep -q '^orderline.client=admin|.*"r-1"' "$IT_LOGDIR/topic.txt" || die "r-1 without orderline.client=admin"
grep -q '^orderline.client=admin|.*"o-admin"' "$IT_LOGDIR/topic.txt" || die "o-admin without orderline.client=admin"
if grep -q "0123456789abcdef" "$IT_LOGDIR/topic.txt"; then die "a token is on the orders topic"; fi
log "orders with tokens: 201, each with orderline.client=<its caller> on the topic"

# /metrics per client; /metrics and /healthz only on --metrics-addr.
[ "$(metric 'orderline_gateway_client_requests_total{client="shop",code="201"}' gw)" = 1 ] || die "shop's 201 not counted"
[ "$(metric 'orderline_gateway_client_requests_total{client="shop",code="200"}' gw)" = 1 ] || die "shop's 200 not counted"
[ "$(metric 'orderline_gateway_client_requests_total{client="shop",code="403"}' gw)" = 1 ] || die "shop's 403 not counted"
[ "$(metric 'orderline_gateway_client_requests_total{client="web",code="201"}' gw)" = 1 ] || die "web's 201 not counted"
[ "$(metric 'orderline_gateway_client_requests_total{client="admin",code="201"}' gw)" = 2 ] || die "admin's 201s not counted"
[ "$(metric 'orderline_gateway_requests_total{code="401"}' gw)" -ge 7 ] || die "the 401s not counted"
for path in metrics healthz; do
    req "public-$path" "$URL/$path" "${SHOP[@]}"
    expect "public-$path" 404
    req "admin-$path" "$ADMIN/$path" -H "Authorization: Bearer $TOK_ADMIN"
    expect "admin-$path" 404
done
req metrics-orders "$M/orders" -X POST -H 'Content-Type: application/json' --data-binary '{}'
expect metrics-orders 404
if curl -s "$M/metrics" | grep -q "0123456789abcdef"; then die "a token is in /metrics"; fi
log "/metrics counts per client; /metrics and /healthz answer 404 on the API listeners, the API 404 on --metrics-addr"

if grep -q "0123456789abcdef" "$IT_LOGDIR"/gateway-*.log; then die "a token is in a gateway log"; fi
stop_gateway gw
stop_consumer a
log "ok"

#!/usr/bin/env bash
# order-gateway over HTTPS on the real stack, with certificates made here
# by openssl (EC P-256): --tls-cert/--tls-key serve the API and the admin
# listener over TLS (plain HTTP on that port gets no answer; /metrics stays
# plain HTTP on --metrics-addr), tokens still asked for inside TLS; then
# --tls-client-ca (mTLS): libmicrohttpd lets the handshake through without
# a client certificate and with an untrusted one, and the gateway answers
# both 403 with a JSON body (nothing produced); a certificate the CA signed
# gets in. Facts come from HTTP codes and bodies and the orders topic.
source "$(dirname "$0")/lib.sh"
it_setup gateway_tls
command -v openssl >/dev/null || die "openssl is missing"
D=$IT_LOGDIR
EC=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
ssl() { openssl "$@" >>"$D/openssl.log" 2>&1 || die "openssl $1 failed: $(tail -3 "$D/openssl.log")"; }
# ca NAME: a self-signed CA.
ca() { ssl req -x509 -new "${EC[@]}" -keyout "$D/$1.key" -out "$D/$1.pem" -days 2 -subj "/CN=orderline-it-$1"; }
# leaf NAME CA EXT: a key and a certificate CA signed, with extensions EXT.
leaf() {
    ssl req -new "${EC[@]}" -keyout "$D/$1.key" -out "$D/$1.csr" -subj "/CN=$1"
    printf '%s\n' "$3" >"$D/$1.ext"
    ssl x509 -req -in "$D/$1.csr" -CA "$D/$2.pem" -CAkey "$D/$2.key" -CAcreateserial -out "$D/$1.pem" -days 2 \
        -extfile "$D/$1.ext"
}
ca server-ca
leaf server server-ca $'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth'
ca client-ca
leaf client client-ca 'extendedKeyUsage=clientAuth'
ca other-ca
leaf stranger other-ca 'extendedKeyUsage=clientAuth'
# A self-signed client certificate (its own CA).
ssl req -x509 -new "${EC[@]}" -keyout "$D/selfsigned.key" -out "$D/selfsigned.pem" -days 2 -subj /CN=selfsigned
chmod 600 "$D"/*.key
TOKEN=tls-it-token-0123456789abcdef
ADMIN_TOKEN=tls-it-admin-0123456789abcdef
printf 'shop %s\n' "$TOKEN" >"$D/tokens"
printf '%s\n' "$ADMIN_TOKEN" >"$D/admin.token"
chmod 600 "$D/tokens" "$D/admin.token"

req() { # NAME URL [CURL_ARGS...]: status in NAME.code (000: no HTTP answer), body NAME.body
    local name=$1 url=$2; shift 2
    curl -s -m 10 -o "$D/$name.body" -w '%{http_code}' --cacert "$D/server-ca.pem" "$@" "$url" >"$D/$name.code" || true
}
post() { # NAME URL KEY BODY [CURL_ARGS...]
    local name=$1 url=$2 key=$3 body=$4; shift 4
    req "$name" "$url/orders" -X POST -H 'Content-Type: application/json' -H "Idempotency-Key: $key" \
        -H 'Prefer: wait=10' --data-binary "$body" "$@"
}
code() { cat "$D/$1.code"; }
expect() {
    [ "$(code "$1")" = "$2" ] || die "$1: HTTP $(code "$1"), expected $2: $(cat "$D/$1.body")"
    [ "$2" -lt 400 ] && return 0
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["error"], d' "$D/$1.body" ||
        die "$1: the error body is not JSON with an error: $(cat "$D/$1.body")"
}
topic_has() { kcat -C -b "$ORDERLINE_BROKERS" -t "$IT_ORDERS" -e -q -f '%s\n' 2>/dev/null | grep -c "\"order_id\": *\"$1\"" || true; }
AUTH=(-H "Authorization: Bearer $TOKEN")
ADMIN_AUTH=(-H "Authorization: Bearer $ADMIN_TOKEN")

start_consumer a
PORT=$(free_port); IT_PORTS+=("$PORT")
APORT=$(free_port); IT_PORTS+=("$APORT")
URL=https://127.0.0.1:$PORT
ADMIN=https://127.0.0.1:$APORT
TLS=(--tls-cert "$D/server.pem" --tls-key "$D/server.key")
DOOR=(--listen "127.0.0.1:$PORT" --auth-tokens "$D/tokens" --admin-listen "127.0.0.1:$APORT"
      --admin-token-file "$D/admin.token")

# --- 1. TLS: the API and the admin listener over HTTPS, tokens inside it.
refuse_rc=0
"$BUILD/order-gateway" --tls-cert "$D/server.pem" >"$D/no-key.out" 2>&1 || refuse_rc=$?
[ $refuse_rc = 2 ] || die "--tls-cert without --tls-key: exit $refuse_rc, expected 2"
refuse_rc=0
"$BUILD/order-gateway" --tls-client-ca "$D/client-ca.pem" >"$D/no-cert.out" 2>&1 || refuse_rc=$?
[ $refuse_rc = 2 ] || die "--tls-client-ca without --tls-cert: exit $refuse_rc, expected 2"
start_gateway_named tls "${DOOR[@]}" "${TLS[@]}"
post restock "$ADMIN" r-1 '{"item": "widget", "quantity": 10, "type": "restock"}' "${ADMIN_AUTH[@]}"
expect restock 201
post order-1 "$URL" o-1 '{"item": "widget", "quantity": 1}' "${AUTH[@]}"
expect order-1 201
post no-token "$URL" o-none '{"item": "widget", "quantity": 1}'
expect no-token 401
req plain "http://127.0.0.1:$PORT/items/widget" "${AUTH[@]}"
[ "$(code plain)" = 000 ] || die "plain HTTP on the TLS port got HTTP $(code plain)"
req unverified "$URL/items/widget" "${AUTH[@]}" --cacert "$D/other-ca.pem"
[ "$(code unverified)" = 000 ] || die "a client that does not trust the server's CA got HTTP $(code unverified)"
curl -sf -o /dev/null "${GATEWAY_METRICS[tls]}/metrics" || die "/metrics is not plain HTTP on --metrics-addr"
stop_gateway tls
log "TLS: restock (admin listener) and order over HTTPS 201, no token 401, plain HTTP on the port unanswered, /metrics plain"

# --- 2. mTLS: only a client certificate the CA signed gets in.
start_gateway_named mtls "${DOOR[@]}" "${TLS[@]}" --tls-client-ca "$D/client-ca.pem"
GOOD=(--cert "$D/client.pem" --key "$D/client.key")
post m-none "$URL" m-none '{"item": "widget", "quantity": 1}' "${AUTH[@]}"
expect m-none 403
post m-self "$URL" m-self '{"item": "widget", "quantity": 1}' "${AUTH[@]}" --cert "$D/selfsigned.pem" --key "$D/selfsigned.key"
expect m-self 403
post m-stranger "$URL" m-stranger '{"item": "widget", "quantity": 1}' "${AUTH[@]}" --cert "$D/stranger.pem" --key "$D/stranger.key"
expect m-stranger 403
post m-admin-none "$ADMIN" m-admin-none '{"item": "widget", "quantity": 1, "type": "restock"}' "${ADMIN_AUTH[@]}"
expect m-admin-none 403
post m-good "$URL" m-good '{"item": "widget", "quantity": 1}' "${AUTH[@]}" "${GOOD[@]}"
expect m-good 201
post m-good-no-token "$URL" m-good-nt '{"item": "widget", "quantity": 1}' "${GOOD[@]}"
expect m-good-no-token 401
post m-admin "$ADMIN" m-admin '{"item": "widget", "quantity": 2, "type": "restock"}' "${ADMIN_AUTH[@]}" "${GOOD[@]}"
expect m-admin 201
req m-item "$URL/items/widget" "${AUTH[@]}" "${GOOD[@]}"
expect m-item 200
[ "$(cat "$D/m-item.body")" = '{"item":"widget","count":10}' ] || die "stock: $(cat "$D/m-item.body")"
sleep 1
for k in m-none m-self m-stranger m-admin-none m-good-nt o-none; do
    [ "$(topic_has "$k")" = 0 ] || die "$k reached the orders topic"
done
[ "$(counter 'orderline_gateway_requests_total{code="403"}' "${GATEWAY_METRICS[mtls]}")" = 4 ] || die "the 403s not counted"
stop_gateway mtls
stop_consumer a
log "mTLS: no client certificate, a self-signed one and one of another CA: 403, nothing produced; the CA's: 201"
log "ok"

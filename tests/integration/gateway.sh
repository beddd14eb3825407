#!/usr/bin/env bash
# order-gateway on the real stack: the seed's race over HTTP, idempotent
# retries during and after the wait, 202 while no consumer runs and the
# answer from GET once one does, every bad input with its code and none of
# them on the topic, a gateway restart (answers from the ledger), SIGTERM
# with a request in flight (202, exit 0), and Kafka stopped (503, then
# nothing published twice once it is back). Restocks go through the admin
# listener (the public one answers them 403 and produces nothing). Facts
# come from HTTP status codes and bodies, the orders topic, the ledger and
# /metrics (on --metrics-addr).
#
# GATEWAY_IT_KEEP_KAFKA=1 leaves out part 7, which stops and starts the
# stack's Kafka: for a stack shared with others.
source "$(dirname "$0")/lib.sh"
it_setup gateway
PORT=$((20000 + RANDOM % 9990))
URL="http://127.0.0.1:$PORT"
MURL="http://127.0.0.1:$((PORT + 2))"  # gateway 1's /metrics and /healthz
MURL2="http://127.0.0.1:$((PORT + 3))" # gateway 2's
ADMIN="http://127.0.0.1:$((PORT + 4))"
ADMIN_TOKEN=gateway-it-admin-token-$RANDOM$RANDOM
printf '%s\n' "$ADMIN_TOKEN" >"$IT_LOGDIR/admin.token"
chmod 600 "$IT_LOGDIR/admin.token"
GW_ARGS=(--db "$IT_DB" --orders-topic "$IT_ORDERS" --results-topic "$IT_RESULTS" --partitions 4
         --listen "127.0.0.1:$PORT" -X message.timeout.ms=5000)

start_gateway() {
    "$BUILD/order-gateway" "${GW_ARGS[@]}" --metrics-addr "127.0.0.1:$((PORT + 2))" \
        --admin-listen "127.0.0.1:$((PORT + 4))" --admin-token-file "$IT_LOGDIR/admin.token" >>"$IT_LOGDIR/gateway.log" 2>&1 &
    GW_PID=$!
    wait_http "$MURL/healthz" "$GW_PID"
}

# post NAME KEY BODY [PREFER [CURL_ARGS...]]: status in $IT_LOGDIR/NAME.code, body in NAME.body.
post() {
    local name=$1 key=$2 body=$3 prefer=${4:-wait=10}
    shift $(($# < 4 ? $# : 4))
    curl -s -o "$IT_LOGDIR/$name.body" -D "$IT_LOGDIR/$name.headers" -w '%{http_code}' -X POST "$URL/orders" \
        -H 'Content-Type: application/json' ${key:+-H "Idempotency-Key: $key"} -H "Prefer: $prefer" \
        --data-binary "$body" "$@" >"$IT_LOGDIR/$name.code" || true
}
# post_admin NAME KEY BODY [PREFER]: the same through the admin listener, with its token.
post_admin() { URL=$ADMIN post "$1" "$2" "$3" "${4:-wait=10}" -H "Authorization: Bearer $ADMIN_TOKEN"; }
code() { cat "$IT_LOGDIR/$1.code"; }
body() { cat "$IT_LOGDIR/$1.body"; }
field() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print("null" if v is None else v)' "$IT_LOGDIR/$1.body" "$2"; }
expect_code() { [ "$(code "$1")" = "$2" ] || die "$1: HTTP $(code "$1"), expected $2: $(body "$1")"; }
topic_count() { # messages on the orders topic whose order_id is $1
    kcat -C -b "$ORDERLINE_BROKERS" -t "$IT_ORDERS" -e -q -f '%s\n' 2>/dev/null | grep -c "\"order_id\": *\"$1\"" || true
}
topic_total() {
    kcat -C -b "$ORDERLINE_BROKERS" -t "$IT_ORDERS" -e -q -f '%o\n' 2>/dev/null | wc -l
}
metric() { curl -s "$MURL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

# --- 1. the gateway first, no consumer: 202, then GET finds the decision.
# A restock on the public listener: 403 and nothing produced; through the
# admin listener, with its token, it is taken.
start_gateway
post restock-public r-public '{"item": "widget", "quantity": 5, "type": "restock"}' 'wait=1'
expect_code restock-public 403
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["error"]' "$IT_LOGDIR/restock-public.body" ||
    die "403 without a JSON error body: $(body restock-public)"
post_admin restock r-1 '{"item": "widget", "quantity": 5, "type": "restock"}' 'wait=1'
expect_code restock 202
[ "$(topic_count r-public)" = 0 ] || die "the restock refused with 403 is on the orders topic"
[ "$(topic_total)" = 1 ] || die "the orders topic holds $(topic_total) messages, expected 1 (r-1)"
grep -qi '^Location: /orders/r-1' "$IT_LOGDIR/restock.headers" || die "202 without Location"
grep -qi '^Retry-After: 1' "$IT_LOGDIR/restock.headers" || die "202 without Retry-After"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/orders/r-1")" = 404 ] || die "a decision before any consumer ran"
start_consumer a
CONSUMER=$CONSUMER_PID
for ((i = 0; i < 600; i++)); do
    got=$(curl -s -o "$IT_LOGDIR/get.body" -w '%{http_code}' "$URL/orders/r-1")
    [ "$got" = 404 ] || break
    sleep 0.1
done
[ "$got" = 200 ] || die "GET /orders/r-1 after the consumer started: HTTP $got"
grep -q '"status":"accepted"' "$IT_LOGDIR/get.body" || die "GET /orders/r-1 after the consumer started: $(cat "$IT_LOGDIR/get.body")"
log "202 without a consumer; GET answered once it ran"

# --- 2. the seed's race: 5 in stock, two orders of 3 at the same moment,
# through two gateways side by side: each reads every answer and answers
# only its own waiter.
PORT2=$((PORT + 1))
"$BUILD/order-gateway" "${GW_ARGS[@]}" --listen "127.0.0.1:$PORT2" --metrics-addr "127.0.0.1:$((PORT + 3))" \
    >>"$IT_LOGDIR/gateway2.log" 2>&1 &
GW2=$!
for ((i = 0; i < 300; i++)); do curl -sf -o /dev/null "$MURL2/healthz" && break; sleep 0.1; done
read1_before=$(metric orderline_gateway_results_read_total)
post race-a race-a '{"item": "widget", "quantity": 3}' & pa=$!
URL="http://127.0.0.1:$PORT2" post race-b race-b '{"item": "widget", "quantity": 3}' & pb=$!
wait $pa $pb
m2() { curl -s "$MURL2/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
[ "$(m2 orderline_gateway_results_matched_total)" = 1 ] || die "gateway 2 matched $(m2 orderline_gateway_results_matched_total) answers, expected 1"
[ "$(m2 orderline_gateway_results_read_total)" -ge 2 ] || die "gateway 2 did not read both answers"
[ "$(($(metric orderline_gateway_results_read_total) - read1_before))" -ge 2 ] || die "gateway 1 did not read both answers"
kill -TERM "$GW2"
wait "$GW2" || die "gateway 2 exit $?"
codes="$(code race-a) $(code race-b)"
case "$codes" in
    "201 409") won=race-a lost=race-b ;;
    "409 201") won=race-b lost=race-a ;;
    *) die "race: HTTP $codes, expected one 201 and one 409" ;;
esac
[ "$(field $won remaining)" = 2 ] || die "race: the winner says remaining $(field $won remaining)"
[ "$(field $lost reason)" = insufficient_stock ] || die "race: the loser's reason is $(field $lost reason)"
[ "$(curl -s "$URL/items/widget")" = '{"item":"widget","count":2}' ] || die "stock after the race: $(curl -s "$URL/items/widget")"
log "race through two gateways: $won 201 remaining 2, $lost 409 insufficient_stock; each read both answers"

# --- 3. the same key again, during the wait and after it.
kill -STOP "$CONSUMER"
post retry-1 k-retry '{"item": "widget", "quantity": 1}' & p1=$!
sleep 0.5
post retry-2 k-retry '{"item": "widget", "quantity": 1}' & p2=$!
sleep 0.5
kill -CONT "$CONSUMER"
wait $p1 $p2
expect_code retry-1 201
expect_code retry-2 201
cmp -s "$IT_LOGDIR/retry-1.body" "$IT_LOGDIR/retry-2.body" || die "retry during the wait got another body"
post retry-3 k-retry '{"item": "widget", "quantity": 1}'
expect_code retry-3 201
cmp -s "$IT_LOGDIR/retry-1.body" "$IT_LOGDIR/retry-3.body" || die "retry after the wait: $(body retry-3) vs $(body retry-1)"
post retry-4 '' "{\"order_id\": \"$lost\", \"item\": \"widget\", \"quantity\": 3}"
expect_code retry-4 409
cmp -s "$IT_LOGDIR/$lost.body" "$IT_LOGDIR/retry-4.body" || die "the 409 again, key in the body: $(body retry-4)"
[ "$(topic_count k-retry)" = 1 ] || die "k-retry is $(topic_count k-retry) times on the orders topic"
[ "$(sql "SELECT count(*) FROM orders WHERE order_id = 'k-retry'")" = 1 ] || die "k-retry decided twice"
log "retries during and after the wait: the same 201 and body, one message, one decision"

# --- 4. bad input: its code, a JSON body, and nothing on the topic.
before=$(topic_total)
bad() { # NAME EXPECTED_CODE CURL_ARGS...
    local name=$1 want=$2; shift 2
    local got
    got=$(curl -s -o "$IT_LOGDIR/$name.body" -D "$IT_LOGDIR/$name.headers" -w '%{http_code}' "$@")
    [ "$got" = "$want" ] || die "$name: HTTP $got, expected $want: $(body "$name")"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["error"], d' "$IT_LOGDIR/$name.body" ||
        die "$name: the error body is not JSON with an error: $(body "$name")"
}
J=(-H 'Content-Type: application/json')
bad not-json 400 -X POST "$URL/orders" "${J[@]}" -H 'Idempotency-Key: b1' --data-binary $'{"item": "widget",\n "quantity": }'
[ "$(field not-json line)" = 2 ] || die "not-json: line $(field not-json line)"
bad no-key 400 -X POST "$URL/orders" "${J[@]}" --data-binary '{"item": "widget", "quantity": 1}'
bad key-differs 422 -X POST "$URL/orders" "${J[@]}" -H 'Idempotency-Key: b2' \
    --data-binary '{"order_id": "b3", "item": "widget", "quantity": 1}'
bad bad-quantity 422 -X POST "$URL/orders" "${J[@]}" -H 'Idempotency-Key: b4' --data-binary '{"item": "widget", "quantity": 0}'
[ "$(field bad-quantity field)" = quantity ] || die "bad-quantity: field $(field bad-quantity field)"
[ "$(field bad-quantity error)" = "field 'quantity' must be an integer from 1 to 1000000, got 0" ] ||
    die "bad-quantity: not the DLQ's words: $(field bad-quantity error)"
bad no-item 422 -X POST "$URL/orders" "${J[@]}" -H 'Idempotency-Key: b5' --data-binary '{"quantity": 2}'
[ "$(field no-item field)" = item ] || die "no-item: field $(field no-item field)"
bad bad-header-key 400 -X POST "$URL/orders" "${J[@]}" -H 'Idempotency-Key: "open' --data-binary '{"item": "w", "quantity": 1}'
head -c 17000 /dev/zero | tr '\0' ' ' >"$IT_LOGDIR/big.json"
bad too-large 413 -X POST "$URL/orders" "${J[@]}" -H 'Idempotency-Key: b6' --data-binary @"$IT_LOGDIR/big.json"
bad form-type 415 -X POST "$URL/orders" -H 'Idempotency-Key: b7' -d 'item=widget&quantity=1'
bad wrong-method 405 -X PUT "$URL/orders" "${J[@]}" --data-binary '{}'
grep -qi '^Allow: POST' "$IT_LOGDIR/wrong-method.headers" || die "405 without Allow: POST"
bad unknown-path 404 "$URL/nowhere"
bad public-metrics 404 "$URL/metrics"
bad public-healthz 404 "$URL/healthz"
bad unknown-item 404 "$URL/items/gadget"
bad no-decision 404 "$URL/orders/never-sent"
sleep 1
after=$(topic_total)
[ "$after" = "$before" ] || die "bad input reached the orders topic: $before -> $after messages"
log "bad input: 400 400 422 422 422 400 413 415 405 404 404 404 404 404, orders topic unchanged at $after messages"

# --- 5. a gateway restart: the ledger answers GET and a repeated POST.
kill -TERM "$GW_PID"
wait "$GW_PID" || die "the gateway exited $? on SIGTERM"
start_gateway
[ "$(curl -s -o "$IT_LOGDIR/after-restart.body" -w '%{http_code}' "$URL/orders/$won")" = 200 ] || die "GET after a restart"
cmp -s "$IT_LOGDIR/after-restart.body" "$IT_LOGDIR/$won.body" || die "GET after a restart: another body"
post again "$won" '{"item": "widget", "quantity": 3}'
expect_code again 201
cmp -s "$IT_LOGDIR/again.body" "$IT_LOGDIR/$won.body" || die "POST after a restart: $(body again)"
[ "$(topic_count "$won")" = 1 ] || die "$won is $(topic_count "$won") times on the topic after a restart"
log "after a restart: GET and POST answered from the ledger, nothing produced"

# --- 6. SIGTERM with a request waiting: it gets 202, the gateway exits 0.
kill -STOP "$CONSUMER"
post in-flight k-term '{"item": "widget", "quantity": 1}' 'wait=30' & pf=$!
for ((i = 0; i < 50; i++)); do [ "$(metric orderline_gateway_waiters)" = 1 ] && break; sleep 0.1; done
[ "$(metric orderline_gateway_waiters)" = 1 ] || die "the request is not waiting"
t0=$(date +%s%N)
kill -TERM "$GW_PID"
wait "$GW_PID" || die "the gateway exited $? on SIGTERM with a request in flight"
ms=$((($(date +%s%N) - t0) / 1000000))
wait $pf
expect_code in-flight 202
[ "$ms" -lt 10000 ] || die "the gateway took $ms ms to stop"
kill -CONT "$CONSUMER"
log "SIGTERM: the waiting request got 202 and the gateway exited 0 in $ms ms"

# --- 7. Kafka stopped: 503 with Retry-After; once back, a retry is decided once.
start_gateway
if [ -n "${GATEWAY_IT_KEEP_KAFKA:-}" ]; then
    log "part 7 (Kafka stopped) left out: GATEWAY_IT_KEEP_KAFKA is set"
    kill -TERM "$GW_PID"
    wait "$GW_PID" || die "gateway exit $?"
    stop_consumer a
    check_invariants --expect-invalid 0
    log "ok"
    exit 0
fi
"$IT_ROOT/scripts/stack" down kafka >&2
post down k-down '{"item": "widget", "quantity": 1}' 'wait=20'
"$IT_ROOT/scripts/stack" up kafka >&2
expect_code down 503
grep -qi '^Retry-After:' "$IT_LOGDIR/down.headers" || die "503 without Retry-After"
log "Kafka down: 503 ($(field down error))"
for ((i = 0; i < 100; i++)); do
    post back k-down '{"item": "widget", "quantity": 1}' 'wait=10'
    [ "$(code back)" = 201 ] || [ "$(code back)" = 409 ] && break
    sleep 0.3
done
[ "$(code back)" = 201 ] || [ "$(code back)" = 409 ] || die "k-down after Kafka came back: HTTP $(code back)"
[ "$(topic_count k-down)" = 1 ] || die "k-down is $(topic_count k-down) times on the orders topic"
[ "$(sql "SELECT count(*) FROM orders WHERE order_id = 'k-down'")" = 1 ] || die "k-down decided twice"
kill -0 "$GW_PID" || die "the gateway died while Kafka was down"
log "Kafka back: the retry was decided once, one message on the topic"

kill -TERM "$GW_PID"
wait "$GW_PID" || die "gateway exit $?"
stop_consumer a
check_invariants --expect-invalid 0
log "ok"

#!/usr/bin/env bash
# orderline over the secure stack (run by tests/secure/run.sh, which swaps
# it in): every tool with its own role's credentials (scripts/stack
# credentials ROLE), then every refusal the roles exist for. Evidence from
# the server side: pg_stat_ssl and pg_authid for PostgreSQL, the broker's
# authorizer log and its failed authentications for Kafka, the database
# and the topics for what was (not) written.
#
# Each refusal must be a non-zero exit within 10 s: never a hang or a retry
# loop. The stack keeps its data between runs, so this test's items and
# order ids are its own and it asserts on them only.
source "$(dirname "$0")/../integration/lib.sh"
it_setup secure
# The tools run inside "as" subshells: at the exit, kill each job's whole
# tree, not only the subshell, before lib.sh's cleanup.
kill_tree() { local c; for c in $(pgrep -P "$1"); do kill_tree "$c"; done; kill -9 "$1" 2>/dev/null || true; }
secure_cleanup() {
    local rc=$? p
    for p in $(jobs -p); do kill_tree "$p"; done
    (exit $rc)
    it_cleanup
}
trap secure_cleanup EXIT
STACK=$IT_ROOT/scripts/stack
read -r NODES SECURE <"$IT_ROOT/.stack/layout"
[ "$SECURE" = 1 ] || die "the stack is not secure (tests/secure/run.sh swaps it in)"
KLOGS=("$IT_ROOT/.stack/kafka/secure$NODES"/node-*)
PGLOG=$IT_ROOT/.stack/pg-secure/server.log
TAG=s$$r$RANDOM
ITEM=sec-widget-$TAG
ADMIN_DB=$ORDERLINE_DB

# as ROLE CMD...: CMD with ROLE's exports only; role_sql ROLE SQL: psql as
# ROLE on its own ORDERLINE_DB.
as() {
    local role=$1; shift
    (
        unset ORDERLINE_CONFIG ORDERLINE_DB PGPASSFILE
        eval "$("$STACK" credentials "$role")"
        exec "$@"
    )
}
role_sql() { as "$1" bash -c 'psql "$ORDERLINE_DB" -X -A -t -v ON_ERROR_STOP=1 -c "$0"' "$2"; }
admin_sql() { psql "$ADMIN_DB" -X -A -t -v ON_ERROR_STOP=1 -c "$1"; }
# Every message of TOPIC (as admin) whose value holds STRING.
topic_has() { kcat -F "$ORDERLINE_CONFIG" -b "$ORDERLINE_BROKERS" -C -t "$1" -e -q -f '%s\n' | grep -c -- "$2" || true; }
authorizer_denials() { cat "${KLOGS[@]/%//authorizer.log}" 2>/dev/null | grep -c -- "$1" || true; }
broker_auth_failures() { cat "${KLOGS[@]/%//server.log}" 2>/dev/null | grep -c -- "Failed authentication with /127.0.0.1 (channelId=[^)]*) ($1" || true; }
pg_log_count() { grep -c -- "$1" "$PGLOG" || true; }

# refused NAME CMD...: CMD must exit non-zero within 10 s (it is killed at
# 20 s). Its output is in $IT_LOGDIR/NAME.log.
refused() {
    local name=$1 rc=0 t0 ms; shift
    t0=$(date +%s%N)
    # In the background with a watchdog: CMD may be a function (as, role_sql).
    "$@" >"$IT_LOGDIR/$name.log" 2>&1 </dev/null &
    local pid=$!
    (sleep 20 && kill_tree "$pid") >/dev/null 2>&1 &
    local watchdog=$!
    wait "$pid" || rc=$?
    kill_tree "$watchdog"
    ms=$((($(date +%s%N) - t0) / 1000000))
    [ $rc -ne 0 ] || die "$name: exit 0, expected a refusal"
    [ $ms -lt 20000 ] || die "$name: still running after 20 s (a hang or a retry loop)"
    [ $ms -le 10000 ] || die "$name: refused after $ms ms, more than 10 s"
    log "$name: exit $rc after $ms ms: $(grep -m1 -E 'ERROR|error' "$IT_LOGDIR/$name.log" | cut -c1-200)"
}

# --- 0. The server's own settings.
scram=$(admin_sql "SELECT count(*) FROM pg_authid WHERE rolname IN ('postgres','order-consumer','order-gateway','order-carts','order-reader') AND rolpassword LIKE 'SCRAM-SHA-256\$%'")
[ "$scram" = 5 ] || die "$scram of 5 database roles have a SCRAM-SHA-256 password"
[ "$(admin_sql "SHOW ssl")" = on ] || die "PostgreSQL runs without ssl"

# --- 1. The pipeline, each tool as its own role.
CPORT=$(free_port); IT_PORTS+=("$CPORT")
as order-consumer "$BUILD/order-consumer" --metrics-addr "127.0.0.1:$CPORT" --stats-file "$IT_LOGDIR/consumer.prom" \
    >"$IT_LOGDIR/consumer.log" 2>&1 &
CONSUMER=$!
wait_http "http://127.0.0.1:$CPORT/healthz" $CONSUMER

echo "{\"order_id\":\"$TAG-restock\",\"type\":\"restock\",\"item\":\"$ITEM\",\"quantity\":5}" |
    as order-producer "$BUILD/order-producer" --wait=30 >"$IT_LOGDIR/restock.out" 2>"$IT_LOGDIR/restock.log" ||
    die "restock through order-producer --wait: exit $?"
grep -q '"status":"accepted"' "$IT_LOGDIR/restock.out" || die "restock not accepted: $(cat "$IT_LOGDIR/restock.out")"

GPORT=$(free_port); IT_PORTS+=("$GPORT")
GMPORT=$(free_port); IT_PORTS+=("$GMPORT")
as order-gateway "$BUILD/order-gateway" --listen "127.0.0.1:$GPORT" --metrics-addr "127.0.0.1:$GMPORT" \
    >"$IT_LOGDIR/gateway.log" 2>&1 &
GATEWAY=$!
wait_http "http://127.0.0.1:$GMPORT/healthz" $GATEWAY
# The seed's race: two customers order 3 of the last 5 at once.
racers=()
for who in a b; do
    curl -s -o "$IT_LOGDIR/race-$who.body" -w '%{http_code}' -X POST "http://127.0.0.1:$GPORT/orders" \
        -H 'Content-Type: application/json' -H "Idempotency-Key: $TAG-race-$who" -H 'Prefer: wait=20' \
        -d "{\"item\":\"$ITEM\",\"quantity\":3}" >"$IT_LOGDIR/race-$who.code" &
    racers+=($!)
done
wait "${racers[@]}"
codes=$(for f in "$IT_LOGDIR"/race-*.code; do cat "$f"; echo; done | sort | tr '\n' ' ')
[ "$codes" = "201 409 " ] || die "the race over the secure stack answered $codes (want 201 and 409)"
log "race through order-gateway: $codes"

echo "{\"order_id\":\"$TAG-wait\",\"item\":\"$ITEM\",\"quantity\":1}" |
    as order-producer "$BUILD/order-producer" --wait=30 >"$IT_LOGDIR/wait.out" 2>"$IT_LOGDIR/wait.log" ||
    die "order-producer --wait: exit $?"
grep -q '"remaining":1' "$IT_LOGDIR/wait.out" || die "--wait answer: $(cat "$IT_LOGDIR/wait.out")"

# A hold nobody confirms: the consumer appends its expire to the orders
# topic with its own principal (the one write of orders it has).
echo "{\"order_id\":\"$TAG-hold\",\"item\":\"$ITEM\",\"quantity\":1,\"hold_s\":1}" |
    as order-producer "$BUILD/order-producer" --wait=30 >"$IT_LOGDIR/hold.out" 2>"$IT_LOGDIR/hold.log" ||
    die "a hold through order-producer --wait: exit $?"
grep -q '"status":"held"' "$IT_LOGDIR/hold.out" || die "hold answer: $(cat "$IT_LOGDIR/hold.out")"
for _ in $(seq 100); do
    [ "$(admin_sql "SELECT life FROM orders WHERE order_id = '$TAG-hold'")" = expired ] && break
    sleep 0.1
done
[ "$(admin_sql "SELECT status FROM orders WHERE order_id = '$TAG-hold#expire'")" = accepted ] ||
    die "the hold did not expire through the log within 10 s ($(tail -n 3 "$IT_LOGDIR/consumer.log"))"
[ "$(admin_sql "SELECT count FROM inventories WHERE name = '$ITEM'")" = 1 ] || die "the expired hold's unit did not come back"
log "a hold expired through the log, its expire written with the consumer's principal"

# Carts: placed by customers through the gateway's principal and
# order-producer's (both may write the carts topic), decided by order-carts
# with its own principal and database role: its line steps on the orders
# topic, line answers and expires on the carts topic, answers on the results
# topic; all or nothing over TLS PostgreSQL.
CA=sec-cart-a-$TAG CB=sec-cart-b-$TAG
printf '%s\n' "{\"order_id\":\"$TAG-ra\",\"type\":\"restock\",\"item\":\"$CA\",\"quantity\":3}" \
    "{\"order_id\":\"$TAG-rb\",\"type\":\"restock\",\"item\":\"$CB\",\"quantity\":1}" |
    as order-producer "$BUILD/order-producer" --wait=30 >"$IT_LOGDIR/cart-restock.out" 2>"$IT_LOGDIR/cart-restock.log" ||
    die "the carts' restocks: exit $?"
CMPORT=$(free_port); IT_PORTS+=("$CMPORT")
as order-carts "$BUILD/order-carts" --metrics-addr "127.0.0.1:$CMPORT" --stats-file "$IT_LOGDIR/carts.prom" \
    >"$IT_LOGDIR/carts.log" 2>&1 &
CARTS=$!
# 200 once the carts group has assigned it; a coordinator killed by an
# earlier failed run stays a member until its session ends.
wait_http "http://127.0.0.1:$CMPORT/healthz" $CARTS 60
ccode=$(curl -s -o "$IT_LOGDIR/cart-gw.body" -w '%{http_code}' -X POST "http://127.0.0.1:$GPORT/carts" \
    -H 'Content-Type: application/json' -H "Idempotency-Key: $TAG-cart-gw" -H 'Prefer: wait=20' \
    -d "{\"lines\":[{\"item\":\"$CA\",\"quantity\":2},{\"item\":\"$CB\",\"quantity\":1}]}")
[ "$ccode" = 201 ] && grep -q '"status":"accepted"' "$IT_LOGDIR/cart-gw.body" ||
    die "a cart through the gateway answered $ccode: $(cat "$IT_LOGDIR/cart-gw.body") ($(tail -n 3 "$IT_LOGDIR/carts.log"))"
# Short of CB now: rejected, and CA's unit given back (all or nothing).
prc=0
echo "{\"cart_id\":\"$TAG-cart-p\",\"lines\":[{\"item\":\"$CA\",\"quantity\":1},{\"item\":\"$CB\",\"quantity\":1}]}" |
    as order-producer "$BUILD/order-producer" --wait=30 >"$IT_LOGDIR/cart-p.out" 2>"$IT_LOGDIR/cart-p.log" || prc=$?
[ $prc = 5 ] && grep -q '"status":"rejected","reason":"insufficient_stock"' "$IT_LOGDIR/cart-p.out" ||
    die "a short cart through order-producer: exit $prc, $(cat "$IT_LOGDIR/cart-p.out")"
ccode=$(curl -s -o "$IT_LOGDIR/cart-cancel.body" -w '%{http_code}' -X POST \
    "http://127.0.0.1:$GPORT/carts/$TAG-cart-gw/cancel" -H 'Prefer: wait=20')
[ "$ccode" = 200 ] && grep -q '"state":"cancelled"' "$IT_LOGDIR/cart-cancel.body" ||
    die "cancelling the cart through the gateway answered $ccode: $(cat "$IT_LOGDIR/cart-cancel.body")"
for _ in $(seq 100); do
    [ "$(admin_sql "SELECT string_agg(count::text, ',' ORDER BY name) FROM inventories WHERE name IN ('$CA', '$CB')")" = 3,1 ] &&
        [ "$(admin_sql "SELECT count(*) FROM cart_outbox")" = 0 ] && break
    sleep 0.1
done
stock=$(admin_sql "SELECT string_agg(name || '=' || count, ' ' ORDER BY name) FROM inventories WHERE name IN ('$CA', '$CB')")
[ "$stock" = "$CA=3 $CB=1" ] || die "after the carts: $stock, want every unit back ($CA=3 $CB=1)"
[ "$(admin_sql "SELECT state FROM carts WHERE cart_id = '$TAG-cart-gw'")" = cancelled ] || die "the gateway's cart is not cancelled"
[ "$(admin_sql "SELECT state FROM carts WHERE cart_id = '$TAG-cart-p'")" = rejected ] || die "the producer's cart is not rejected"
[ "$(topic_has order-results "\"cart_id\":\"$TAG-cart-")" -ge 3 ] || die "the carts' answers are not on the results topic"
[ "$(topic_has carts "\"type\":\"line_result\",\"cart_id\":\"$TAG-cart-")" -ge 4 ] ||
    die "order-carts' line answers are not on the carts topic"
for c in 'type="cart",status="accepted"' 'type="cart",status="rejected"' 'type="cart_cancel",status="accepted"'; do
    [ "$(counter "orderline_carts_answers_total{$c}" "http://127.0.0.1:$CMPORT")" -ge 1 ] ||
        die "order-carts' /metrics has no answer $c"
done
log "carts: accepted through the gateway, rejected through order-producer, cancelled; decided by order-carts' principal"

# Every backend of the consumer and the gateway is on TLS, as the server
# sees it; and so is a reader's own session.
ssl_rows=$(admin_sql "SELECT a.usename || ':' || s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
                      WHERE a.usename IN ('order-consumer', 'order-gateway', 'order-carts') ORDER BY 1" | sort | uniq -c | tr -s ' ')
log "pg_stat_ssl: $(echo $ssl_rows)"
grep -q 'order-consumer:t' <<<"$ssl_rows" || die "no TLS backend of order-consumer in pg_stat_ssl"
grep -q 'order-gateway:t' <<<"$ssl_rows" || die "no TLS backend of order-gateway in pg_stat_ssl"
grep -q 'order-carts:t' <<<"$ssl_rows" || die "no TLS backend of order-carts in pg_stat_ssl"
! grep -q ':f' <<<"$ssl_rows" || die "a backend without TLS: $ssl_rows"
[ "$(role_sql order-reader 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')" = t ] ||
    die "order-reader's session is not on TLS"

as order-reader "$BUILD/order-results" --from-beginning --item "$ITEM" --format json >"$IT_LOGDIR/results.out" \
    2>"$IT_LOGDIR/results.log" || die "order-results as order-reader: exit $?"
[ "$(grep -c "\"item\":\"$ITEM\"" "$IT_LOGDIR/results.out")" = 6 ] ||
    die "order-results shows $(grep -c "$ITEM" "$IT_LOGDIR/results.out") answers for $ITEM, want 6"
as order-reader "$BUILD/order-audit" >"$IT_LOGDIR/audit.out" 2>"$IT_LOGDIR/audit.log" ||
    die "order-audit as order-reader: exit $? ($(tail -n 3 "$IT_LOGDIR/audit.out"))"
log "order-results and order-audit as order-reader: 6 answers, audit agrees"

# No password in any process's argv or environment, nor in a tool's log.
mapfile -t secrets < <(cat "$IT_ROOT"/.stack/secrets/*.password)
for pid in $CONSUMER $GATEWAY $CARTS $(pgrep -f 'kafka\.Kafka') $(pgrep -x postgres); do
    for s in "${secrets[@]}"; do
        ! tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qF -- "$s" || die "a password in the argv of pid $pid"
        ! tr '\0' '\n' <"/proc/$pid/environ" | grep -qF -- "$s" || die "a password in the environment of pid $pid"
    done
done
for s in "${secrets[@]}"; do
    ! grep -rqF -- "$s" "$IT_LOGDIR" || die "a password in a tool's output ($(grep -rlF -- "$s" "$IT_LOGDIR"))"
done
log "no password in argv, environments or logs (${#secrets[@]} secrets, consumer, gateway, carts, broker, postgres)"

# --- 2. Refusals: a clear error, a non-zero exit within 10 s.
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$IT_LOGDIR/other-ca.key" \
    -out "$IT_LOGDIR/other-ca.crt" -days 2 -subj "/CN=not the stack's CA" 2>/dev/null
base=$IT_ROOT/.stack/secrets/order-producer.properties
(umask 077 && sed 's/^sasl.password=.*/sasl.password=not-the-password/' "$base" >"$IT_LOGDIR/wrong-password.properties")
(umask 077 && sed "s#^ssl.ca.location=.*#ssl.ca.location=$IT_LOGDIR/other-ca.crt#" "$base" >"$IT_LOGDIR/other-ca.properties")
order() { echo "{\"order_id\":\"$TAG-$1\",\"item\":\"$ITEM\",\"quantity\":1}"; }

tls0=$(broker_auth_failures "SSL handshake failed")
order none >"$IT_LOGDIR/none.in"
refused no-credentials env -u ORDERLINE_CONFIG "$BUILD/order-producer" "$IT_LOGDIR/none.in"
sasl0=$(broker_auth_failures "Authentication failed during authentication due to invalid credentials")
order wrongpw >"$IT_LOGDIR/wrongpw.in"
refused wrong-password env ORDERLINE_CONFIG="$IT_LOGDIR/wrong-password.properties" \
    "$BUILD/order-producer" "$IT_LOGDIR/wrongpw.in"
order otherca >"$IT_LOGDIR/otherca.in"
refused untrusted-ca env ORDERLINE_CONFIG="$IT_LOGDIR/other-ca.properties" "$BUILD/order-producer" "$IT_LOGDIR/otherca.in"
sleep 1 # the broker logs a failed authentication when it closes the connection
[ "$(broker_auth_failures "SSL handshake failed")" -ge $((tls0 + 2)) ] ||
    die "the broker logged no failed TLS handshake for the plaintext client and the untrusted CA"
[ "$(broker_auth_failures "Authentication failed during authentication due to invalid credentials")" -gt "$sasl0" ] ||
    die "the broker logged no failed SASL authentication for the wrong password"

# Nobody but the consumer writes answers.
order to-results >"$IT_LOGDIR/to-results.in"
refused producer-writes-results as order-producer "$BUILD/order-producer" --orders-topic order-results \
    "$IT_LOGDIR/to-results.in"
GPORT2=$(free_port); IT_PORTS+=("$GPORT2")
GMPORT2=$(free_port); IT_PORTS+=("$GMPORT2")
as order-gateway "$BUILD/order-gateway" --listen "127.0.0.1:$GPORT2" --metrics-addr "127.0.0.1:$GMPORT2" \
    --orders-topic order-results >"$IT_LOGDIR/gateway-results.log" 2>&1 &
GW2=$!
wait_http "http://127.0.0.1:$GMPORT2/healthz" $GW2
t0=$(date +%s%N)
gcode=$(curl -s -o "$IT_LOGDIR/gw-results.body" -w '%{http_code}' -X POST "http://127.0.0.1:$GPORT2/orders" \
    -H 'Content-Type: application/json' -H "Idempotency-Key: $TAG-gw-results" -d "{\"item\":\"$ITEM\",\"quantity\":1}" ||
    true)
case $gcode in 5??) ;; *) die "the gateway writing the results topic answered $gcode: $(cat "$IT_LOGDIR/gw-results.body")" ;; esac
grc=0
for ((i = 0; i < 100; i++)); do kill -0 $GW2 2>/dev/null || break; sleep 0.1; done
kill -0 $GW2 2>/dev/null && die "the gateway kept running after Kafka refused it the orders topic"
wait $GW2 || grc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ $grc -ne 0 ] || die "the gateway refused the results topic exited 0"
[ $ms -le 10000 ] || die "the gateway took $ms ms to stop after the refusal"
log "gateway-writes-results: HTTP $gcode, exit $grc after $ms ms"
[ "$(authorizer_denials 'User:order-producer is Denied operation = WRITE from host = 127.0.0.1 on resource = Topic:LITERAL:order-results')" -ge 1 ] ||
    die "no denial of order-producer writing order-results in the authorizer log"
[ "$(authorizer_denials 'User:order-gateway is Denied operation = WRITE from host = 127.0.0.1 on resource = Topic:LITERAL:order-results')" -ge 1 ] ||
    die "no denial of order-gateway writing order-results in the authorizer log"

# A reader reads; it does not order.
order by-reader >"$IT_LOGDIR/by-reader.in"
refused reader-writes-orders as order-reader "$BUILD/order-producer" "$IT_LOGDIR/by-reader.in"
as order-reader kcat -F "$IT_ROOT/.stack/secrets/order-reader.properties" -b "$ORDERLINE_BROKERS" -P -t orders -k "$ITEM" \
    <"$IT_LOGDIR/by-reader.in" >"$IT_LOGDIR/reader-kcat.log" 2>&1 || true
# (The broker does not log its IdempotentWrite denial, a fallback check:
# kcat's plain producer shows the WRITE one.)
[ "$(authorizer_denials 'User:order-reader is Denied operation = WRITE from host = 127.0.0.1 on resource = Topic:LITERAL:orders')" -ge 1 ] ||
    die "no denial of order-reader writing orders in the authorizer log"

# The gateway's database role reads; it does not restock.
before=$(admin_sql "SELECT count FROM inventories WHERE name = '$ITEM'")
denied0=$(pg_log_count 'permission denied for table inventories')
refused gateway-updates-inventories role_sql order-gateway "UPDATE inventories SET count = count + 1000 WHERE name = '$ITEM'"
[ "$(admin_sql "SELECT count FROM inventories WHERE name = '$ITEM'")" = "$before" ] || die "the gateway's role changed the stock"
[ "$(pg_log_count 'permission denied for table inventories')" -gt "$denied0" ] ||
    die "PostgreSQL's log shows no denial of the gateway's UPDATE"

# order-carts' role has the carts tables only: not the stock, not the
# items' ledger; its principal writes no dead letters and reads no orders.
refused carts-updates-inventories role_sql order-carts "UPDATE inventories SET count = count + 1000 WHERE name = '$ITEM'"
refused carts-reads-orders-ledger role_sql order-carts "SELECT count(*) FROM orders"
[ "$(admin_sql "SELECT count FROM inventories WHERE name = '$ITEM'")" = "$before" ] || die "the carts' role changed the stock"
[ "$(pg_log_count 'permission denied for table inventories')" -gt "$((denied0 + 1))" ] ||
    die "PostgreSQL's log shows no denial of order-carts' UPDATE"
order by-carts >"$IT_LOGDIR/by-carts.in"
as order-carts kcat -F "$IT_ROOT/.stack/secrets/order-carts.properties" -b "$ORDERLINE_BROKERS" -P -t orders-dlq -k "$ITEM" \
    <"$IT_LOGDIR/by-carts.in" >"$IT_LOGDIR/carts-kcat-dlq.log" 2>&1 || true
as order-carts timeout 10 kcat -F "$IT_ROOT/.stack/secrets/order-carts.properties" -b "$ORDERLINE_BROKERS" -C -t orders \
    -e -q -c 1 >"$IT_LOGDIR/carts-kcat-orders.log" 2>&1 || true
# (No ACL at all on orders-dlq: the refusal comes at its metadata, DESCRIBE.)
[ "$(authorizer_denials 'User:order-carts is Denied operation = \(DESCRIBE\|WRITE\) from host = 127.0.0.1 on resource = Topic:LITERAL:orders-dlq ')" -ge 1 ] ||
    die "no denial of order-carts writing orders-dlq in the authorizer log"
[ "$(authorizer_denials 'User:order-carts is Denied operation = \(DESCRIBE\|READ\) from host = 127.0.0.1 on resource = Topic:LITERAL:orders ')" -ge 1 ] ||
    die "no denial of order-carts reading orders in the authorizer log"
! grep -q "$TAG-by-carts" "$IT_LOGDIR/carts-kcat-orders.log" || die "order-carts read the orders topic"
log "order-carts refused: inventories, the orders ledger, writing orders-dlq, reading orders"

# No connection without TLS, whatever the tool.
plain0=$(pg_log_count 'user "order-reader", database "orderline", no encryption')
refused sslmode-disable as order-reader env ORDERLINE_DB="host=127.0.0.1 port=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$ADMIN_DB") dbname=orderline user=order-reader sslmode=disable" \
    "$BUILD/order-audit"
[ "$(pg_log_count 'user "order-reader", database "orderline", no encryption')" -gt "$plain0" ] ||
    die "PostgreSQL's log shows no pg_hba rejection of the connection without TLS"
refused pg-untrusted-ca as order-gateway env ORDERLINE_DB="$(as order-gateway bash -c 'echo "$ORDERLINE_DB"') sslrootcert=$IT_LOGDIR/other-ca.crt" \
    "$BUILD/order-gateway" --listen "127.0.0.1:$(free_port)"

# Nothing a refused client sent is anywhere.
for id in none wrongpw otherca to-results by-reader by-carts; do
    [ "$(topic_has orders "$TAG-$id")" = 0 ] || die "$TAG-$id is on the orders topic"
    [ "$(topic_has order-results "$TAG-$id")" = 0 ] || die "$TAG-$id is on the results topic"
done
[ "$(topic_has order-results "\"item\":\"$ITEM\"")" = 6 ] || die "the results topic has $(topic_has order-results "$ITEM") answers for $ITEM, want 6 (with the hold and its expire)"

# stop_tool PID: SIGTERM to the tool an "as" job runs (its child), then
# its exit status.
stop_tool() { local child; child=$(pgrep -P "$1" | head -n 1); kill -TERM "${child:-$1}"; wait "$1"; }
stop_tool $CARTS || die "order-carts exit $?"
stop_tool $GATEWAY || die "gateway exit $?"
stop_tool $CONSUMER || die "consumer exit $?"
python3 "$IT_ROOT/tests/integration/check_invariants.py" --brokers "$ORDERLINE_BROKERS" --db "$ADMIN_DB" ||
    die "the invariants over the secure stack's topics and ledger"
log "ok"

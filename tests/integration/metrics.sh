#!/usr/bin/env bash
# order-consumer --metrics-addr: /metrics counts agree with PostgreSQL,
# lag and positions are exposed per partition, /healthz follows the
# PostgreSQL connection, and a password in the conninfo shows nowhere.
source "$(dirname "$0")/lib.sh"
it_setup metrics
SECRET=Sh0uldNeverAppear
fetch() { python3 -c 'import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=5); print(r.status); print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); print(e.read().decode())' "$1"; }
metric() { counter "$1" "$URL"; }

"$BUILD/order-producer" --generate 3000 --items 30 --seed 4 --duplicate-pct 3 >"$IT_LOGDIR/orders.jsonl"
produce "$IT_LOGDIR/orders.jsonl" 2>>"$IT_LOGDIR/producer.log"
printf 'item-00001|not json\nitem-00002|{"order_id":"bad-1","item":"item-00002","quantity":0}\n' | produce_raw
# trust auth ignores the password; it is there to be leaked, or not.
CONSUMER_ARGS[1]="$IT_DB password=$SECRET"
start_consumer a
a=$CONSUMER_PID
URL=${CONSUMER_URL[a]}
want=$(grep -o '"order_id":"[^"]*"' "$IT_LOGDIR/orders.jsonl" | sort -u | wc -l)
sleep 0.5
kill -0 "$a" 2>/dev/null || die "consumer did not start: $(tail -n 3 "$IT_LOGDIR/consumer-a.log")"
wait_decided "$want"
sleep 1.5

health=$(fetch "$URL/healthz")
[ "$(head -1 <<<"$health")" = 200 ] || die "/healthz: $health"
accepted=$(sql "SELECT count(*) FROM orders WHERE status = 'accepted'")
insufficient=$(sql "SELECT count(*) FROM orders WHERE reason = 'insufficient_stock'")
unknown=$(sql "SELECT count(*) FROM orders WHERE reason = 'unknown_item'")
[ "$(metric 'orderline_orders_total{status="accepted",reason=""}')" = "$accepted" ] || die "accepted differs from PostgreSQL ($accepted)"
[ "$(metric 'orderline_orders_total{status="rejected",reason="insufficient_stock"}')" = "$insufficient" ] || die "insufficient_stock differs ($insufficient)"
[ "$(metric 'orderline_orders_total{status="rejected",reason="unknown_item"}')" = "$unknown" ] || die "unknown_item differs ($unknown)"
[ "$(metric 'orderline_orders_total{status="rejected",reason="invalid"}')" = 1 ] || die "invalid answers != 1"
[ "$(metric orderline_dlq_total)" = 2 ] || die "dlq_total != 2"
[ "$(metric orderline_duplicates_total)" = $((3000 - want)) ] || die "duplicates_total != $((3000 - want))"
[ "$(metric orderline_batch_size_count)" -gt 0 ] || die "no batch histogram"
[ "$(metric orderline_up)" = 1 ] || die "orderline_up != 1"
lags=$(fetch "$URL/metrics" | grep -c '^orderline_consumer_lag{' || true)
[ "$lags" = "${IT_PARTITIONS:-4}" ] || die "expected a lag series per partition, got $lags"
fetch "$URL/metrics" | grep '^orderline_consumer_lag{' | awk '$2 != 0 {bad = 1} END {exit bad}' || die "lag not 0 at the end"
fetch "$URL/metrics" >"$IT_LOGDIR/scrape.txt"

log "stopping PostgreSQL: /healthz must turn 503"
"$IT_ROOT/scripts/stack" down postgres >&2
turned=0
for _ in $(seq 1 40); do
    if [ "$(fetch "$URL/healthz" | head -1)" = 503 ]; then turned=1; break; fi
    sleep 0.5
done
"$IT_ROOT/scripts/stack" up postgres >&2
[ $turned = 1 ] || die "/healthz stayed 200 without PostgreSQL"
for _ in $(seq 1 40); do
    [ "$(fetch "$URL/healthz" | head -1)" = 200 ] && break
    sleep 0.5
done
[ "$(fetch "$URL/healthz" | head -1)" = 200 ] || die "/healthz did not recover"
stop_consumer a
! grep -q "$SECRET" "$IT_LOGDIR"/*.log "$IT_LOGDIR/scrape.txt" "${CONSUMER_STATS[a]}" || die "the password leaked"
[ "$(fetch "$URL/healthz" 2>/dev/null | head -1)" != 200 ] || die "server still up after exit"
log "metrics agree with PostgreSQL; health follows the database; no secret leaked"

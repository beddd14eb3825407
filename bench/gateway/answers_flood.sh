#!/usr/bin/env bash
# The gateway reading a flood of answers: N well-formed answers nobody here
# waits for are written to a fresh results topic with kcat, followed by the
# answers of W requests waiting for them (no consumer runs). The gateway
# reads from the end as of its start, so it is started, its W requests
# registered, and then it is SIGSTOPped while kcat writes: on SIGCONT it
# reads the backlog as fast as it can. Reports how
# fast the gateway read them (results_read_total over time), its CPU
# seconds, when each waiting request was answered, and the latency of GET
# /items/widget sent meanwhile (each reply counts itself).
# Usage: bench/gateway/answers_flood.sh [BUILD_DIR] (N=1500000 W=8 env).
# Run under flock /tmp/orderline-stack.lock and /tmp/orderline-heavy.lock.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
N=${N:-1500000}
W=${W:-8}
eval "$("$ROOT/scripts/stack" env)"
tag=flood_$$_$RANDOM
ORDERS=bench.$tag.orders RESULTS=bench.$tag.results
DIR=$(mktemp -d /tmp/answers-flood.XXXXXX)
PORT=$((30000 + RANDOM % 2000))
"$BUILD/order-gateway" --orders-topic "$ORDERS" --results-topic "$RESULTS" --partitions 4 \
    --listen "127.0.0.1:$PORT" --metrics-addr "127.0.0.1:$((PORT + 1))" 2>"$DIR/gateway.log" &
GW=$!
trap 'kill -9 $GW 2>/dev/null || true; rm -rf "$DIR"' EXIT
for ((i = 0; i < 300; i++)); do curl -sf -o /dev/null "http://127.0.0.1:$((PORT + 1))/healthz" && break; sleep 0.1; done
python3 - "$N" "$W" "$DIR/flood.txt" <<'PY'
import sys
n, w, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
tmpl = ('{"order_id":"%s","item":"widget","type":"order","quantity":1,"status":"accepted","reason":null,'
        '"remaining":5,"duplicate":false,"partition":%d,"offset":%d,"processed_at":"2026-12-03T14:00:00.000000Z"}\n')
with open(out, "w") as f:
    for i in range(n):
        f.write(tmpl % (f"flood-{i}", i % 4, i))
    for i in range(w):
        f.write(tmpl % (f"wait-{i}", i % 4, n + i))
PY
WAITERS=()
for ((i = 0; i < W; i++)); do
    curl -s -o /dev/null -w "wait-$i %{http_code} %{time_total}\n" -X POST "http://127.0.0.1:$PORT/orders" \
        -H 'Content-Type: application/json' -H "Idempotency-Key: wait-$i" -H 'Prefer: wait=60' \
        --data-binary '{"item": "widget", "quantity": 1}' >>"$DIR/waiters.txt" &
    WAITERS+=($!)
done
for ((i = 0; i < 100; i++)); do
    got=$(curl -s "http://127.0.0.1:$((PORT + 1))/metrics" | awk '$1 == "orderline_gateway_waiters" {print $2}')
    [ "$got" = "$W" ] && break
    sleep 0.1
done
cpu() { awk '{print $14 + $15}' "/proc/$GW/stat"; }
read_total() { curl -s "http://127.0.0.1:$((PORT + 1))/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
kill -STOP $GW
kcat -P -b "$ORDERLINE_BROKERS" -t "$RESULTS" -X linger.ms=50 -X batch.num.messages=10000 -l "$DIR/flood.txt"
c0=$(cpu); t0=$(date +%s.%N)
kill -CONT $GW
python3 - "http://127.0.0.1:$PORT/items/widget" "$DIR/gets.txt" <<'PY' &
import sys, time, urllib.request, urllib.error
url, out = sys.argv[1], sys.argv[2]
lat, end = [], time.monotonic() + 15
while time.monotonic() < end:
    t = time.monotonic()
    try:
        urllib.request.urlopen(url, timeout=10).read()
    except urllib.error.HTTPError:
        pass
    lat.append(time.monotonic() - t)
    time.sleep(0.01)
lat.sort()
open(out, "w").write("GET /items/widget during the flood: %d requests, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n" % (
    len(lat), 1000 * lat[len(lat) // 2], 1000 * lat[int(len(lat) * 0.99)], 1000 * lat[-1]))
PY
GP=$!
prev=0
for ((s = 1; s <= 60; s++)); do
    sleep 1
    r=$(read_total orderline_gateway_results_read_total)
    echo "t=${s}s read=$r (+$((r - prev))/s) gateway CPU $(($(cpu) - c0)) ticks"
    prev=$r
    [ "$r" -ge $((N + W)) ] && break
done
t1=$(date +%s.%N); c1=$(cpu)
wait $GP || true
wait "${WAITERS[@]}" || true
echo "read $(read_total orderline_gateway_results_read_total) matched $(read_total orderline_gateway_results_matched_total) in $(echo "$t1 - $t0" | bc) s; gateway CPU $(( (c1 - c0) ))/$(getconf CLK_TCK) s"
sort "$DIR/waiters.txt"
cat "$DIR/gets.txt"

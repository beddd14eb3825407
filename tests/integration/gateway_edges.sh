#!/usr/bin/env bash
# order-gateway at its edges, on the real stack, no consumer running:
# - retry: an order answered 202, POSTed again 10 times before any
#   decision, is on the orders topic once, and every repeat gets the same
#   202 (partition and offset);
# - segments: path segments that are not UTF-8 or are too long get a JSON
#   400 naming the problem, never a dropped connection;
# - shutdown: 16 clients keep POSTing on keep-alive connections through a
#   SIGTERM: every request sent is answered, the gateway exits 0, the 503s
#   answered from the stop on say Connection: close and are not on the
#   topic.
# EDGES_PARTS picks parts (default: all). Facts come from HTTP codes,
# headers and bodies, the orders topic and the exit code.
source "$(dirname "$0")/lib.sh"
it_setup gateway_edges
PORT=$(free_port); IT_PORTS+=("$PORT")
URL=http://127.0.0.1:$PORT
orders_json() { kcat -C -b "$ORDERLINE_BROKERS" -t "$IT_ORDERS" -e -q -f '%s\n' 2>/dev/null; }
topic_has() { orders_json | grep -c "\"order_id\": *\"$1\"" || true; }

part_retry() {
    start_gateway_named r --listen "127.0.0.1:$PORT"
    python3 - "$URL" <<'PY' || die "retry after 202"
import json, sys, urllib.request
url = sys.argv[1]
def post(prefer):
    req = urllib.request.Request(url + "/orders", method="POST", data=b'{"item": "widget", "quantity": 1}',
                                 headers={"Content-Type": "application/json", "Idempotency-Key": "k-again",
                                          "Prefer": prefer})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, e.read()
first = post("wait=1")
assert first[0] == 202, first
for i in range(10):
    again = post("wait=1" if i % 2 else "respond-async")
    assert again == first, f"repeat {i}: {again} after {first}"
print("10 repeats after a 202: the same 202", first[1])
PY
    sleep 1
    local n
    n=$(topic_has k-again)
    [ "$n" = 1 ] || die "k-again is $n times on the orders topic after 10 repeats of a 202"
    stop_gateway r
    log "retry after 202: 10 repeats answered the same 202, one message on the topic"
}

part_segments() {
    start_gateway_named s --listen "127.0.0.1:$PORT"
    long=$(head -c 129 /dev/zero | tr '\0' a)
    longitem=$(head -c 65 /dev/zero | tr '\0' a)
    local path got
    for path in "/items/%FF%0Aforged" "/orders/%C3" "/orders/a%1B%5B31mred%C3" "/orders/$long" "/items/$longitem"; do
        got=$(curl -s -m 10 -o "$IT_LOGDIR/seg.body" -w '%{http_code}' "$URL$path" || true)
        [ "$got" = 400 ] || die "GET $path: HTTP $got, expected 400: $(cat "$IT_LOGDIR/seg.body")"
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["error"] and d["field"], d' \
            "$IT_LOGDIR/seg.body" || die "GET $path: not a JSON error naming its field: $(cat "$IT_LOGDIR/seg.body")"
    done
    got=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$URL/orders/%C3%A9t%C3%A9" || true)
    [ "$got" = 404 ] || die "GET /orders/été (valid UTF-8): HTTP $got, expected 404"
    stop_gateway s
    log "segments: invalid UTF-8 and too long got a JSON 400; valid UTF-8 got 404"
}

part_shutdown() {
    start_gateway_named d --listen "127.0.0.1:$PORT"
    local pid=${GATEWAY_PIDS[d]}
    python3 - "$PORT" "$pid" "$IT_LOGDIR/answers.txt" <<'PY' || die "requests around SIGTERM"
import http.client, os, signal, sys, threading, time
port, pid, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
answers, lost, lock = [], [], threading.Lock()
stop_at = time.monotonic() + 3
def client(n):
    conn, i = None, 0
    while time.monotonic() < stop_at:
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
            try:
                conn.connect()
            except OSError:
                return  # the listener is closed: no request sent
        key = f"s-{n}-{i}"
        i += 1
        try:
            conn.request("POST", "/orders", body=b'{"item": "widget", "quantity": 1}',
                         headers={"Content-Type": "application/json", "Idempotency-Key": key,
                                  "Prefer": "respond-async"})
        except OSError:
            conn = None  # closed before the request went out
            continue
        try:
            r = conn.getresponse()
            r.read()
        except (OSError, http.client.HTTPException) as e:
            with lock:
                lost.append(f"{key}: {e!r}")
            conn = None
            continue
        close = (r.getheader("Connection") or "").lower() == "close"
        with lock:
            answers.append((key, r.status, close))
        if r.will_close:
            conn.close()
            conn = None
threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
for t in threads:
    t.start()
time.sleep(1)
os.kill(pid, signal.SIGTERM)
for t in threads:
    t.join()
with open(out, "w") as f:
    for key, status, close in answers:
        f.write(f"{key} {status} {int(close)}\n")
assert not lost, f"{len(lost)} requests sent and never answered: {lost[:3]}"
codes = {}
for _, status, _ in answers:
    codes[status] = codes.get(status, 0) + 1
assert codes.get(503), f"no 503 after the SIGTERM: {codes}"
bad = [a for a in answers if a[1] == 503 and not a[2]]
assert not bad, f"503 without Connection: close: {bad[:3]}"
print("answers by status:", codes)
PY
    local rc=0
    wait "$pid" || rc=$?
    [ $rc -eq 0 ] || die "the gateway exited $rc with keep-alive clients posting through its SIGTERM"
    orders_json | python3 -c '
import json, sys
on_topic = {json.loads(l)["order_id"] for l in sys.stdin if l.strip()}
answered = [l.split() for l in open(sys.argv[1])]
wrong = [k for k, s, _ in answered if s == "503" and k in on_topic]
missing = [k for k, s, _ in answered if s in ("201", "202") and k not in on_topic]
assert not wrong, f"{len(wrong)} orders answered 503 are on the topic: {wrong[:3]}"
assert not missing, f"{len(missing)} orders answered 202 are not on the topic: {missing[:3]}"
' "$IT_LOGDIR/answers.txt" || die "the orders topic and the answers disagree"
    log "shutdown: every request answered, exit 0, the 503s (Connection: close) not on the topic"
}

for part in ${EDGES_PARTS:-retry segments shutdown}; do "part_$part"; done
log "ok"

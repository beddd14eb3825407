#!/usr/bin/env bash
# order-gateway's limits on the real stack: --max-waiters (past it 503 with
# Retry-After and a JSON body, nothing produced, the waiting requests still
# answered), --max-connections-per-ip (the connection past it is closed
# unanswered; another is served once one closes), headers past the
# per-connection memory (libmicrohttpd's own 431), and --idle-timeout (an
# idle connection is closed; a request waiting longer for its decision is
# not idle and gets its answer). No consumer runs: orders stay undecided.
# Facts come from HTTP codes and bodies, sockets, the orders topic and
# /metrics.
source "$(dirname "$0")/lib.sh"
it_setup gateway_limits
PORT=$(free_port); IT_PORTS+=("$PORT")
URL=http://127.0.0.1:$PORT
post() { # NAME KEY [PREFER]: status in NAME.code, body NAME.body, headers NAME.headers
    curl -s -m 30 -o "$IT_LOGDIR/$1.body" -D "$IT_LOGDIR/$1.headers" -w '%{http_code}' -X POST "$URL/orders" \
        -H 'Content-Type: application/json' -H "Idempotency-Key: $2" -H "Prefer: ${3:-wait=20}" \
        --data-binary '{"item": "widget", "quantity": 1}' >"$IT_LOGDIR/$1.code" || true
}
code() { cat "$IT_LOGDIR/$1.code"; }
expect() {
    [ "$(code "$1")" = "$2" ] || die "$1: HTTP $(code "$1"), expected $2: $(cat "$IT_LOGDIR/$1.body")"
}
json_error() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["error"], d' "$IT_LOGDIR/$1.body" ||
        die "$1: the body is not JSON with an error: $(cat "$IT_LOGDIR/$1.body")"
}
topic_has() { kcat -C -b "$ORDERLINE_BROKERS" -t "$IT_ORDERS" -e -q -f '%s\n' 2>/dev/null | grep -c "\"order_id\": *\"$1\"" || true; }
waiters() { counter orderline_gateway_waiters "${GATEWAY_METRICS[$1]}"; }

# --- 1. --max-waiters 2: the third request waiting at once gets 503.
start_gateway_named w --listen "127.0.0.1:$PORT" --max-waiters 2
post w-1 k-1 & p1=$!
post w-2 k-2 & p2=$!
for ((i = 0; i < 100; i++)); do [ "$(waiters w)" = 2 ] && break; sleep 0.1; done
[ "$(waiters w)" = 2 ] || die "2 requests are not waiting: $(waiters w)"
post w-3 k-3
expect w-3 503
json_error w-3
grep -qi '^Retry-After: ' "$IT_LOGDIR/w-3.headers" || die "503 without Retry-After"
post w-join k-1 # the same key as a waiting one would be one more waiter
expect w-join 503
sleep 1
[ "$(topic_has k-3)" = 0 ] || die "k-3 was produced though refused"
[ "$(topic_has k-1)" = 1 ] || die "k-1 is $(topic_has k-1) times on the topic"
[ "$(counter orderline_gateway_waiters_refused_total "${GATEWAY_METRICS[w]}")" = 2 ] || die "the refusals not counted"
stop_gateway w # the waiting ones are answered 202 at the stop
wait $p1 $p2
expect w-1 202
expect w-2 202
log "--max-waiters 2: the third request and a join got 503 with Retry-After, k-3 not produced; the two waiting got 202"

# --- 2. --max-connections-per-ip 3: the fourth connection is closed unanswered.
start_gateway_named c --listen "127.0.0.1:$PORT" --max-connections-per-ip 3
# libmicrohttpd 0.9.75 counts a connection against its address only until
# its first request is answered (measured; see README): the limit bounds
# connections that have not finished a request (slow or idle clients), so
# three are opened here and left without a request.
python3 - "$PORT" <<'PY' || die "per-IP connection limit"
import socket, sys, time
port = int(sys.argv[1])
req = b"GET /items/widget HTTP/1.1\r\nHost: x\r\n\r\n"
def answer(s):
    s.settimeout(5)
    try:
        s.sendall(req)
        return s.recv(65536)
    except (ConnectionResetError, BrokenPipeError):
        return b""
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
time.sleep(0.5)
extra = socket.create_connection(("127.0.0.1", port))
got = answer(extra)
assert got == b"", f"the 4th connection was answered: {got[:60]!r}"
for s in held:
    got = answer(s)
    assert got.startswith(b"HTTP/1.1 404"), got[:60]
for s in held:
    s.close()
time.sleep(0.5)
again = socket.create_connection(("127.0.0.1", port))
got = answer(again)
assert got.startswith(b"HTTP/1.1 404"), f"after they closed: {got[:60]!r}"
print("per-IP limit: 3 held, the 4th closed unanswered, the 3 then served, a new one after they closed")
PY
stop_gateway c
log "--max-connections-per-ip 3: with 3 connections open before their first request, the fourth closed unanswered"

# --- 3. headers past the connection's memory: libmicrohttpd answers 431 itself.
start_gateway_named h --listen "127.0.0.1:$PORT" --idle-timeout 2
big=$(head -c 40000 /dev/zero | tr '\0' a)
hcode=$(curl -s -o "$IT_LOGDIR/big.body" -w '%{http_code}' -H "X-Big: $big" "$URL/items/widget" || true)
[ "$hcode" = 431 ] || die "a 40 KB header: HTTP $hcode, expected 431"
small=$(head -c 8000 /dev/zero | tr '\0' a)
hcode=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $small" "$URL/items/widget" || true)
[ "$hcode" = 404 ] || die "an 8 KB header: HTTP $hcode, expected 404 (unknown item)"
log "headers: 8 KB served, 40 KB refused with 431 by libmicrohttpd"

# --- 4. --idle-timeout 2: an idle connection is closed; a waiting request is not idle.
post slow k-slow 'wait=5' & ps=$!
python3 - "$PORT" <<'PY' || die "idle timeout"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t0 = time.monotonic()
s.settimeout(20)
data = s.recv(1)
took = time.monotonic() - t0
assert data == b"", data
assert 1.5 <= took <= 6, f"closed after {took:.1f} s"
print(f"an idle connection was closed after {took:.1f} s")
PY
wait $ps
expect slow 202 # its full 5 s wait, past the 2 s idle timeout
[ "$(topic_has k-slow)" = 1 ] || die "k-slow is not on the topic once"
stop_gateway h
log "--idle-timeout 2: an idle connection closed after about 2 s; a request waiting 5 s got its 202"
log "ok"

#!/usr/bin/env bash
# Holds and their follow-ups over HTTP (order-gateway + order-consumer):
# POST /orders with hold_s answers 201 held; POST /orders/{id}/confirm and
# /cancel answer 200 with the new state, 409 with the reason, 404 for an
# order with no decision; a repeat answers the same and is on the orders
# topic once; the units come back exactly once. Facts: HTTP codes and
# bodies, the ledger, the stock and the orders topic.
source "$(dirname "$0")/lib.sh"
it_setup gateway_holds
ITEM=hold-shelf
start_consumer a
wait_http "${CONSUMER_URL[a]}/healthz" "$CONSUMER_PID"
PORT=$(free_port); IT_PORTS+=("$PORT")
start_gateway_named g --listen "127.0.0.1:$PORT"
echo "{\"order_id\":\"r1\",\"type\":\"restock\",\"item\":\"$ITEM\",\"quantity\":5}" >"$IT_LOGDIR/restock.jsonl"
produce --results-topic "$IT_RESULTS" --wait=30 "$IT_LOGDIR/restock.jsonl" >/dev/null 2>>"$IT_LOGDIR/producer.log" ||
    die "restock: exit $?"
stock() { sql "SELECT count FROM inventories WHERE name = '$ITEM'"; }

python3 - "http://127.0.0.1:$PORT" "$ITEM" <<'PY' || die "follow-ups over HTTP"
import json, sys, urllib.request
url, item = sys.argv[1:]
def call(path, body=None, key=None):
    headers = {"Prefer": "wait=20"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if key:
        headers["Idempotency-Key"] = key
    data = json.dumps(body).encode() if body is not None else b""
    req = urllib.request.Request(url + path, method="POST", data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")
def expect(got, code, **fields):
    assert got[0] == code, f"want {code} {fields}, got {got}"
    for k, v in fields.items():
        assert got[1].get(k) == v, f"{k}: want {v!r}, got {got}"
    return got[1]

held = expect(call("/orders", {"item": item, "quantity": 2, "hold_s": 600}, key="h1"), 201, status="held")
assert held["hold_expires_at"], held
expect(call("/orders", {"item": item, "quantity": 4}, key="o-too-many"), 409, reason="insufficient_stock")
first = expect(call("/orders/h1/confirm"), 200, status="accepted", type="confirm", target="h1")
again = expect(call("/orders/h1/confirm"), 200, status="accepted", type="confirm", target="h1")
assert again["order_id"] == first["order_id"] == "h1#confirm", (first, again)
assert again["offset"] == first["offset"], "a repeat answers the first decision"
expect(call("/orders/h1/cancel"), 200, status="accepted", type="cancel", remaining=5)
expect(call("/orders/h1/cancel"), 200, status="accepted", type="cancel", remaining=5)
# Refusals, each with its reason.
expect(call("/orders", {"item": item, "quantity": 1}, key="o-sold"), 201, status="accepted")
expect(call("/orders/o-sold/confirm"), 409, status="rejected", reason="not_held")
expect(call("/orders", {"item": item, "quantity": 9}, key="o-short"), 409, reason="insufficient_stock")
expect(call("/orders/o-short/cancel"), 409, status="rejected", reason="not_cancellable")
expect(call("/orders", {"item": item, "quantity": 1, "hold_s": 600}, key="h2"), 201, status="held")
expect(call("/orders/h2/cancel"), 200, status="accepted", remaining=4)
expect(call("/orders/h2/confirm"), 409, status="rejected", reason="already_cancelled")
missing = expect(call("/orders/never-sent/cancel"), 404)
assert "never-sent" in missing["error"], missing
bad = expect(call("/orders/%FF/cancel"), 400)
assert bad["field"] == "order_id", bad
# A body is not needed and, if sent, changes nothing.
expect(call("/orders/o-sold/cancel", {"item": "other", "quantity": 99}), 200, status="accepted", remaining=5)
print("follow-ups over HTTP: 200/409/404/400 as specified")
PY
[ "$(stock)" = 5 ] || die "stock $(stock) after every unit came back, want 5"
n=$(kcat -C -b "$ORDERLINE_BROKERS" -t "$IT_ORDERS" -e -q -f '%s\n' 2>/dev/null | grep -c '"order_id":"h1#cancel"' || true)
[ "$n" = 1 ] || die "h1#cancel is $n times on the orders topic after a repeat"
[ "$(sql "SELECT life FROM orders WHERE order_id = 'h1'")" = cancelled ] || die "h1's life is not cancelled"
[ "$(sql "SELECT count(*) FROM orders WHERE type = 'cancel' AND status = 'accepted'")" = 3 ] ||
    die "accepted cancels in the ledger: $(sql "SELECT count(*) FROM orders WHERE type = 'cancel' AND status = 'accepted'"), want 3"
stop_gateway g
log "passed: follow-ups over HTTP, repeats answered once, the stock back to 5"

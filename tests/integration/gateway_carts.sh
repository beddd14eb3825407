#!/usr/bin/env bash
# Carts over HTTP (order-gateway + order-carts + order-consumer): POST
# /carts answers 201 accepted or held, 409 naming each line, 400 naming the
# field or line; POST /carts/{id}/confirm and /cancel answer 200 with the
# new state, the same again on a repeat, 404 for an unknown cart; GET
# /carts/{id} 200 from table carts, 404 when unknown. A cart's line is not
# a caller's to confirm or cancel (403), and ids with '#' are orderline's. Facts: HTTP codes and
# bodies, the items' stock, the carts topic and /metrics. And order-producer
# publishing cart lines to the carts topic, --wait for their answers, and
# order-results showing and counting cart answers.
source "$(dirname "$0")/lib.sh"
it_setup gateway_carts
start_consumer a
wait_http "${CONSUMER_URL[a]}/healthz" "$CONSUMER_PID"
printf '%s\n' '{"order_id":"r-a","item":"gc-apple","quantity":5,"type":"restock"}' \
    '{"order_id":"r-b","item":"gc-pear","quantity":3,"type":"restock"}' >"$IT_LOGDIR/restock.jsonl"
produce --results-topic "$IT_RESULTS" --wait=30 "$IT_LOGDIR/restock.jsonl" >/dev/null 2>>"$IT_LOGDIR/producer.log" ||
    die "restock: exit $?"
start_carts a
PORT=$(free_port); IT_PORTS+=("$PORT")
start_gateway_named g --listen "127.0.0.1:$PORT" --carts-topic "$IT_CARTS"
stock() { sql "SELECT count FROM inventories WHERE name = 'gc-$1'"; }
check_stock() { # check_stock APPLE PEAR WHEN
    [ "$(stock apple) $(stock pear)" = "$1 $2" ] || die "$3: stock apple/pear $(stock apple)/$(stock pear), want $1/$2"
}

http() { # http STEP METHOD PATH [BODY [KEY]] > STEP.json: prints the code
    local args=(-s -o "$IT_LOGDIR/$1.json" -w '%{http_code}' -X "$2" -H 'Prefer: wait=20')
    [ -n "${4:-}" ] && args+=(-H 'Content-Type: application/json' --data "$4")
    [ -n "${5:-}" ] && args+=(-H "Idempotency-Key: $5")
    curl "${args[@]}" "http://127.0.0.1:$PORT$3"
}
expect() { # expect STEP CODE PYTHON_CONDITION_ON_r -- METHOD PATH [BODY [KEY]]
    local step=$1 want=$2 cond=$3 code; shift 4
    code=$(http "$step" "$@")
    [ "$code" = "$want" ] || die "$step: HTTP $code, want $want: $(cat "$IT_LOGDIR/$step.json")"
    python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); assert eval(sys.argv[2]), r' \
        "$IT_LOGDIR/$step.json" "$cond" || die "$step: not ($cond): $(cat "$IT_LOGDIR/$step.json")"
}
L='{"item":"gc-apple","quantity":2},{"item":"gc-pear","quantity":1}'

# Two lines in stock: accepted, every line sold, the counts dropped.
expect sold 201 'r["status"] == "accepted" and r["state"] == "accepted" and [l["status"] for l in r["lines"]] == ["accepted"] * 2' \
    -- POST /carts "{\"lines\":[$L]}" gc1
check_stock 3 2 "after an accepted cart"
# One line short: 409, each line named, no unit kept.
expect short 409 'r["status"] == "rejected" and [(l["item"], l["reason"]) for l in r["lines"]] == [("gc-apple", None), ("gc-pear", "insufficient_stock")]' \
    -- POST /carts '{"cart_id":"gc2","lines":[{"item":"gc-apple","quantity":1},{"item":"gc-pear","quantity":9}]}'
check_stock 3 2 "after a rejected cart"
# A bad line: 400 naming it, nothing published.
expect bad 400 'r["field"] == "lines[1].quantity"' -- POST /carts '{"lines":[{"item":"gc-apple","quantity":1},{"item":"gc-pear","quantity":0}]}' gc-bad
expect nokey 400 'r["field"] == "cart_id"' -- POST /carts '{"lines":[{"item":"gc-apple","quantity":1}]}'
# Held, then confirmed; the confirm again is the same answer.
expect held 201 'r["status"] == "held" and r["state"] == "held" and r["hold_expires_at"]' \
    -- POST /carts "{\"lines\":[$L],\"hold_s\":600}" gc3
check_stock 1 1 "while a cart is held"
# A caller may not act on a cart's line as its own order, nor take an id
# orderline derives ('#' is reserved): 403/422/400, nothing published.
expect line-cancel 403 'r["field"] == "order_id" and "gc3#0#hold" in r["error"]' -- POST /orders/gc3%230%23hold/cancel
expect line-confirm 403 'r["field"] == "order_id"' -- POST /orders/gc3%231%23hold/confirm
expect squat-id 422 'r["field"] == "order_id"' -- POST /orders '{"order_id":"gc3#0#commit","item":"gc-apple","quantity":1}'
expect squat-key 400 'r["field"] == "Idempotency-Key"' -- POST /orders '{"item":"gc-apple","quantity":1}' 'gc3#0#commit'
expect squat-cart 422 'r["field"] == "cart_id"' -- POST /carts '{"cart_id":"gc#9","lines":[{"item":"gc-apple","quantity":1}]}'
check_stock 1 1 "after a caller's cancel of a held cart's line"
kcat -C -b "$ORDERLINE_BROKERS" -t "$IT_ORDERS" -e -q -f '%s\n' 2>/dev/null | grep -q '"order_id":"gc3#[01]#hold#' &&
    die "a caller's follow-up of a cart's line was published"
expect get-held 200 'r["cart_id"] == "gc3" and r["state"] == "held" and [l["status"] for l in r["lines"]] == ["held"] * 2' -- GET /carts/gc3
expect confirm 200 'r["status"] == "accepted" and r["state"] == "confirmed" and r["order_id"] == "gc3#confirm"' \
    -- POST /carts/gc3/confirm
expect confirm-again 200 'r["status"] == "accepted" and r["state"] == "confirmed" and r["order_id"] == "gc3#confirm"' \
    -- POST /carts/gc3/confirm
python3 -c 'import json, sys; a, b = (json.load(open(f)) for f in sys.argv[1:]); assert (a["partition"], a["offset"]) == (b["partition"], b["offset"]), (a, b)' \
    "$IT_LOGDIR/confirm.json" "$IT_LOGDIR/confirm-again.json" || die "a repeated confirm is not the first answer"
check_stock 1 1 "after the confirm"
# Cancel of the confirmed cart: every line's units back, once.
expect cancel 200 'r["status"] == "accepted" and r["state"] == "cancelled"' -- POST /carts/gc3/cancel
expect cancel-again 200 'r["status"] == "accepted" and r["state"] == "cancelled"' -- POST /carts/gc3/cancel
for ((i = 0; i < 100; i++)); do [ "$(stock apple) $(stock pear)" = "3 2" ] && break; sleep 0.1; done
check_stock 3 2 "after the cancel of the confirmed cart"
# Refusals, with their reasons: a sold cart is not held; a rejected one not cancellable.
expect confirm-sold 409 'r["status"] == "rejected" and r["reason"] == "not_held"' -- POST /carts/gc1/confirm
expect cancel-rejected 409 'r["status"] == "rejected" and r["reason"] == "not_cancellable"' -- POST /carts/gc2/cancel
# Reads, and the unknown.
expect get-sold 200 'r["state"] == "accepted" and [(l["item"], l["quantity"]) for l in r["lines"]] == [("gc-apple", 2), ("gc-pear", 1)]' -- GET /carts/gc1
expect get-unknown 404 'r["field"] == "cart_id"' -- GET /carts/never-sent
expect confirm-unknown 404 '"never-sent" in r["error"]' -- POST /carts/never-sent/confirm
n=$(kcat -C -b "$ORDERLINE_BROKERS" -t "$IT_CARTS" -e -q -f '%k|%s\n' 2>/dev/null | grep -c '^gc3|{"type":"cart_confirm"' || true)
[ "$n" = 1 ] || die "gc3's confirm is $n times on the carts topic after a repeat, want 1"
kcat -C -b "$ORDERLINE_BROKERS" -t "$IT_CARTS" -e -q -f '%s\n' 2>/dev/null | grep -q 'never-sent' &&
    die "a confirm of an unknown cart was published"
m=$(curl -sf "${GATEWAY_METRICS[g]}/metrics")
grep -q 'orderline_gateway_requests_total{route="post_carts",code="201"} 2' <<<"$m" || die "post_carts 201 not counted: $m"
grep -q 'orderline_gateway_requests_total{route="post_cart_follow_up",code="200"} 4' <<<"$m" ||
    die "post_cart_follow_up 200 not counted"
grep -q 'orderline_gateway_requests_total{route="get_cart",code="404"} 1' <<<"$m" || die "get_cart 404 not counted"
# order-producer: a cart line goes to the carts topic and --wait prints its answer; a rejected one exits 5.
printf '%s\n' '{"cart_id":"gp1","lines":[{"item":"gc-apple","quantity":1}]}' >"$IT_LOGDIR/cart-ok.jsonl"
printf '%s\n' '{"cart_id":"gp2","lines":[{"item":"gc-pear","quantity":99}]}' >"$IT_LOGDIR/cart-short.jsonl"
produce --results-topic "$IT_RESULTS" --carts-topic "$IT_CARTS" --wait=20 "$IT_LOGDIR/cart-ok.jsonl" \
    >"$IT_LOGDIR/gp1.json" 2>>"$IT_LOGDIR/producer.log" || die "producer --wait on an accepted cart: exit $?"
python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); assert r["order_id"] == "gp1" and r["status"] == "accepted", r' \
    "$IT_LOGDIR/gp1.json" || die "producer --wait: not gp1's answer: $(cat "$IT_LOGDIR/gp1.json")"
rc=0
produce --results-topic "$IT_RESULTS" --carts-topic "$IT_CARTS" --wait=20 "$IT_LOGDIR/cart-short.jsonl" \
    >"$IT_LOGDIR/gp2.json" 2>>"$IT_LOGDIR/producer.log" || rc=$?
[ $rc = 5 ] || die "producer --wait on a rejected cart: exit $rc, want 5"
[ "$(kcat -C -b "$ORDERLINE_BROKERS" -t "$IT_CARTS" -e -q -f '%k|%s\n' 2>/dev/null | grep -c '^gp[12]|{"cart_id"')" = 2 ] ||
    die "the producer's carts are not on the carts topic keyed by cart_id"
check_stock 2 2 "after the producer's carts"
# order-results: the cart answers are counted apart, none undecodable; the table shows their lines.
"$BUILD/order-results" --results-topic "$IT_RESULTS" --summary --format json >"$IT_LOGDIR/summary.json" 2>>"$IT_LOGDIR/results.log" ||
    die "order-results --summary: exit $?"
python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); assert s["undecodable"] == 0 and s["carts"]["results"] >= 8 and s["carts"]["rejected"] >= 4, s' \
    "$IT_LOGDIR/summary.json" || die "order-results --summary: $(cat "$IT_LOGDIR/summary.json")"
"$BUILD/order-results" --results-topic "$IT_RESULTS" --from-beginning --format table --order-id gc2 \
    >"$IT_LOGDIR/gc2.txt" 2>>"$IT_LOGDIR/results.log" || die "order-results --format table: exit $?"
grep -q 'gc-pear x9 rejected insufficient_stock' "$IT_LOGDIR/gc2.txt" || die "gc2's lines not shown: $(cat "$IT_LOGDIR/gc2.txt")"
stop_gateway g
stop_carts a
log "passed: carts over HTTP (201/409/400, held/confirm/cancel and repeats, GET, 404s), the stock as the lines say"

#!/usr/bin/env bash
# Carts over Kafka, decided by order-carts and order-consumer together: all
# or nothing (a cart that cannot be filled keeps no line's units), lines of
# one item merged, holds that a single order cannot take, a held cart that
# expires by itself within 5 s of its deadline and gives its units back,
# confirm / cancel / repeats, a cancel before its cart, and two carts racing
# for the last units in opposite orders. Facts come from the answers on the
# results topic, the items' own ledger (orders, inventories) and the
# coordinator's tables.
source "$(dirname "$0")/lib.sh"
it_setup carts
W=(--results-topic "$IT_RESULTS" --partitions 4)

start_consumer a
wait_http "${CONSUMER_URL[a]}/healthz" "$CONSUMER_PID"
printf '%s\n' '{"order_id":"r-a","item":"apple","quantity":5,"type":"restock"}' \
    '{"order_id":"r-b","item":"pear","quantity":2,"type":"restock"}' \
    '{"order_id":"r-c","item":"cherry","quantity":1,"type":"restock"}' \
    '{"order_id":"r-x","item":"xylo","quantity":1,"type":"restock"}' \
    '{"order_id":"r-y","item":"yam","quantity":1,"type":"restock"}' >"$IT_LOGDIR/restock.jsonl"
produce "${W[@]}" --wait=30 "$IT_LOGDIR/restock.jsonl" >/dev/null 2>>"$IT_LOGDIR/producer.log"
start_carts a

stock() { sql "SELECT count FROM inventories WHERE name = '$1'"; }
# answer ORDER_ID: the first (non-duplicate) cart answer for it, waiting up to 30 s.
answer() {
    local i a
    for ((i = 0; i < 300; i++)); do
        a=$(cart_answers | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if r["order_id"] == sys.argv[1] and not r["duplicate"]:
        print(l.strip()); break' "$1")
        [ -n "$a" ] && { echo "$a"; return; }
        sleep 0.1
    done
    die "no answer for $1 within 30 s"
}
# expect ORDER_ID PYTHON_CONDITION_ON_r
expect() {
    local a
    a=$(answer "$1")
    python3 -c 'import json, sys; r = json.loads(sys.argv[1]); assert eval(sys.argv[2]), r' "$a" "$2" ||
        die "$1: not ($2): $a"
}
cart() { printf '%s|%s\n' "$1" "$2" | produce_carts; }

# All lines there: accepted, every line sold.
cart c1 '{"cart_id":"c1","lines":[{"item":"apple","quantity":2},{"item":"pear","quantity":1}]}'
expect c1 'r["status"] == "accepted" and r["state"] == "accepted" and [l["status"] for l in r["lines"]] == ["accepted"] * 2'
# One line short: rejected, that line named, the other line's units back.
cart c2 '{"cart_id":"c2","lines":[{"item":"apple","quantity":1},{"item":"pear","quantity":5}]}'
expect c2 'r["status"] == "rejected" and r["reason"] == "insufficient_stock" and [(l["item"], l["status"], l["reason"]) for l in r["lines"]] == [("apple", "released", None), ("pear", "rejected", "insufficient_stock")]'
# Lines of one item merge; an unknown item rejects the cart.
cart c3 '{"cart_id":"c3","lines":[{"item":"apple","quantity":1},{"item":"nosuch","quantity":1},{"item":"apple","quantity":1}]}'
expect c3 'r["status"] == "rejected" and r["reason"] == "unknown_item" and [(l["item"], l["quantity"]) for l in r["lines"]] == [("apple", 2), ("nosuch", 1)]'
# A malformed cart whose cart_id can be read: rejected invalid, naming the field.
cart c-bad '{"cart_id":"c-bad","lines":[{"item":"apple","quantity":0}]}'
expect c-bad 'r["status"] == "rejected" and r["reason"] == "invalid" and "lines[0].quantity" in r["error"]'
for _ in $(seq 100); do [ "$(sql "SELECT count(*) FROM cart_outbox")" = 0 ] && break; sleep 0.1; done
sleep 1 # the releases' own decisions
[ "$(stock apple)" = 3 ] || die "apple: $(stock apple) left, want 5 - 2 (c1) = 3"
[ "$(stock pear)" = 1 ] || die "pear: $(stock pear) left, want 2 - 1 (c1) = 1"

# A held cart: a single order cannot take its units; unconfirmed, it
# expires by itself within 5 s of its deadline and the units come back.
cart c4 '{"cart_id":"c4","lines":[{"item":"cherry","quantity":1}],"hold_s":2}'
expect c4 'r["status"] == "held" and r["hold_expires_at"]'
printf '%s\n' '{"order_id":"o-cherry-1","item":"cherry","quantity":1}' >"$IT_LOGDIR/o1.jsonl"
produce "${W[@]}" --wait=30 "$IT_LOGDIR/o1.jsonl" >"$IT_LOGDIR/o1.out" 2>>"$IT_LOGDIR/producer.log" || true
grep -q '"status":"rejected","reason":"insufficient_stock"' "$IT_LOGDIR/o1.out" ||
    die "an order took a held cart's units: $(cat "$IT_LOGDIR/o1.out")"
expect 'c4#expire' 'r["status"] == "accepted" and r["state"] == "expired"'
late=$(python3 -c '
import json, sys, datetime as d
r = json.loads(sys.argv[1]); p = lambda s: d.datetime.fromisoformat(s.replace("Z", "+00:00"))
print((p(r["processed_at"]) - p(r["hold_expires_at"])).total_seconds())' "$(answer 'c4#expire')")
python3 -c "import sys; sys.exit(0 if $late <= 5 else 1)" || die "c4 expired $late s after its deadline"
sleep 1
printf '%s\n' '{"order_id":"o-cherry-2","item":"cherry","quantity":1}' >"$IT_LOGDIR/o2.jsonl"
produce "${W[@]}" --wait=30 "$IT_LOGDIR/o2.jsonl" >"$IT_LOGDIR/o2.out" 2>>"$IT_LOGDIR/producer.log"
grep -q '"status":"accepted"' "$IT_LOGDIR/o2.out" || die "the expired cart's unit did not come back: $(cat "$IT_LOGDIR/o2.out")"

# Confirm, the same confirm again (a duplicate with the first answer), an
# expire that comes too late, then a cancel of the sold cart: units back once.
cart c5 '{"cart_id":"c5","lines":[{"item":"apple","quantity":3}],"hold_s":60}'
expect c5 'r["status"] == "held"'
cart c5 '{"type":"cart_confirm","order_id":"c5#confirm","cart_id":"c5"}'
expect 'c5#confirm' 'r["status"] == "accepted" and r["state"] == "confirmed"'
cart c5 '{"type":"cart_confirm","order_id":"c5#confirm","cart_id":"c5"}'
cart c5 '{"type":"cart_confirm","order_id":"c5#confirm-2","cart_id":"c5"}'
expect 'c5#confirm-2' 'r["status"] == "rejected" and r["reason"] == "already_confirmed"'
# dup_answers ORDER_ID: how many answers for it say duplicate.
dup_answers() {
    cart_answers | python3 -c '
import json, sys
print(sum(1 for l in sys.stdin if (r := json.loads(l))["order_id"] == sys.argv[1] and r["duplicate"]))' "$1"
}
for _ in $(seq 100); do [ "$(dup_answers 'c5#confirm')" -ge 1 ] && break; sleep 0.1; done
[ "$(dup_answers 'c5#confirm')" -ge 1 ] || die "no duplicate answer for c5#confirm"
sleep 1
[ "$(stock apple)" = 0 ] || die "apple: $(stock apple) left after c5, want 0"
cart c5 '{"type":"cart_cancel","order_id":"c5#cancel","cart_id":"c5"}'
expect 'c5#cancel' 'r["status"] == "accepted" and r["state"] == "cancelled"'
cart c5 '{"type":"cart_cancel","order_id":"c5#cancel-2","cart_id":"c5"}'
expect 'c5#cancel-2' 'r["status"] == "rejected" and r["reason"] == "already_cancelled"'
sleep 1.5
[ "$(stock apple)" = 3 ] || die "apple: $(stock apple) after c5's cancel, want its 3 back once"

# A cancel before its cart is refused; the cart then goes through.
cart c6 '{"type":"cart_cancel","order_id":"c6#cancel","cart_id":"c6"}'
expect 'c6#cancel' 'r["status"] == "rejected" and r["reason"] == "not_cancellable"'
cart c6 '{"cart_id":"c6","lines":[{"item":"pear","quantity":1}]}'
expect c6 'r["status"] == "accepted"'
# The same cart again: answered again as a duplicate; nothing taken twice.
cart c1 '{"cart_id":"c1","lines":[{"item":"apple","quantity":2},{"item":"pear","quantity":1}]}'

# Confirm against expiry, both log orders. c7: the coordinator is frozen
# across the wall-clock deadline, the confirm goes into the log meanwhile,
# so it stands before any expire and wins. c8: expired first, the confirm
# after it is refused.
cart c7 '{"cart_id":"c7","lines":[{"item":"apple","quantity":1}],"hold_s":4}'
expect c7 'r["status"] == "held"'
kill -STOP "${CARTS_PIDS[a]}"
kcat -C -b "$ORDERLINE_BROKERS" -t "$IT_CARTS" -e -q 2>/dev/null | grep -q '"c7#expire"' &&
    die "c7's expire was sent before the coordinator was frozen: the test proves nothing"
sleep 4.5
cart c7 '{"type":"cart_confirm","order_id":"c7#confirm","cart_id":"c7"}'
kill -CONT "${CARTS_PIDS[a]}"
expect 'c7#confirm' 'r["status"] == "accepted" and r["state"] == "confirmed"'
cart c8 '{"cart_id":"c8","lines":[{"item":"apple","quantity":1}],"hold_s":1}'
expect 'c8#expire' 'r["status"] == "accepted" and r["state"] == "expired"'
cart c8 '{"type":"cart_confirm","order_id":"c8#confirm","cart_id":"c8"}'
expect 'c8#confirm' 'r["status"] == "rejected" and r["reason"] == "expired"'
# A line's answer forwarded twice (as a forwarder restarted before its
# commit would): the second changes nothing.
kcat -C -b "$ORDERLINE_BROKERS" -t "$IT_CARTS" -e -q -K '|' -f '%k|%s\n' 2>/dev/null |
    grep '"cart_id":"c6".*"line_result"\|"type":"line_result".*"cart_id":"c6"' | head -1 >"$IT_LOGDIR/dup-line.txt"
[ -s "$IT_LOGDIR/dup-line.txt" ] || die "no line answer of c6 on the carts topic"
produce_carts <"$IT_LOGDIR/dup-line.txt"
pear=$(stock pear)

# {xylo, yam} and {yam, xylo} for the last unit of each: both may lose,
# neither may end half-sold.
printf '%s\n' 'r1|{"cart_id":"r1","lines":[{"item":"xylo","quantity":1},{"item":"yam","quantity":1}]}' \
    'r2|{"cart_id":"r2","lines":[{"item":"yam","quantity":1},{"item":"xylo","quantity":1}]}' | produce_carts
expect r1 'r["status"] in ("accepted", "rejected")'
expect r2 'r["status"] in ("accepted", "rejected")'
for _ in $(seq 100); do [ "$(sql "SELECT count(*) FROM cart_outbox")" = 0 ] && break; sleep 0.1; done
sleep 1.5
x=$(stock xylo) y=$(stock yam)
[ "$x" = "$y" ] || die "the race left xylo=$x yam=$y: a cart ended half-sold"
log "race: r1 $(answer r1 | grep -o '"status":"[a-z]*"' | head -1), r2 $(answer r2 | grep -o '"status":"[a-z]*"' | head -1), xylo=$x yam=$y"

# No cart half-sold, from the items' own ledger: a line is sold when its
# hold was confirmed (committed) and not cancelled since.
half=$(sql "
  SELECT c.cart_id FROM carts c
  JOIN LATERAL (SELECT count(*) FILTER (WHERE o.life = 'confirmed') AS sold, count(*) AS n
                FROM orders o WHERE o.order_id LIKE c.cart_id || '#%#hold') l ON true
  WHERE l.sold > 0 AND l.sold < jsonb_array_length(c.lines)")
[ -z "$half" ] || die "half-sold carts: $half"
[ "$(sql "SELECT count(*) FROM orders WHERE order_id = 'c1#0#hold'")" = 1 ] || die "c1's hold decided twice"
[ "$(sql "SELECT count(*) FROM carts WHERE state = 'accepted'")" -ge 2 ] || die "accepted carts: $(sql "SELECT cart_id, state FROM carts")"

stop_carts a
stop_consumer a
grep -q '^orderline_carts_duplicates_total [1-9]' "$IT_LOGDIR/carts-a.prom" || die "no duplicates counted: $(cat "$IT_LOGDIR/carts-a.prom")"
grep -q '^orderline_carts_stale_answers_total [1-9]' "$IT_LOGDIR/carts-a.prom" || die "the repeated line answer was not seen as one"
[ "$(stock pear)" = "$pear" ] || die "a repeated line answer changed pear: $pear -> $(stock pear)"
check_invariants
log "ok"

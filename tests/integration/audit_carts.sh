#!/usr/bin/env bash
# order-audit --carts-topic on carts decided for real by order-carts and
# order-consumer, then tampered with one fault at a time:
#  1. clean (accepted, rejected, confirmed, cancelled twice, a repeated
#     cart): exit 0, every cart replayed and settled, no cart answer taken
#     for an item's; check_invariants.py --carts-topic agrees;
#  2. a cart cancelled while no consumer applies its release: the line's
#     hold still stands, hold_not_released names it; once a consumer
#     applies the release, exit 0 again;
#  3. a forged cart answer on the results topic: cart_answer_mismatch,
#     and check_invariants.py --carts-topic fails too;
#  4. one line of an accepted cart cancelled behind the coordinator's
#     back: cart_half_sold;
#  5. the ledger edited so that a refused cancel of a line's hold reads
#     accepted: cancel_applied_twice.
# Facts come from the audit's --report JSON and exit status.
source "$(dirname "$0")/lib.sh"
it_setup audit_carts
AUDIT=("$BUILD/order-audit" --db "$IT_DB" --orders-topic "$IT_ORDERS" --results-topic "$IT_RESULTS"
       --carts-topic "$IT_CARTS")
W=(--results-topic "$IT_RESULTS" --partitions 4)

# audit_expect RC NAME: runs the audit, its JSON report in NAME.json.
audit_expect() {
    local want=$1 name=$2 rc=0
    "${AUDIT[@]}" --report "$IT_LOGDIR/$name.json" >"$IT_LOGDIR/$name.out" 2>"$IT_LOGDIR/$name.err" || rc=$?
    log "audit $name: exit $rc: $(tail -1 "$IT_LOGDIR/$name.out")"
    [ "$rc" = "$want" ] || die "audit $name: exit $rc, want $want: $(head -c 1500 "$IT_LOGDIR/$name.json")"
}
# kinds NAME: the divergence kinds of report NAME, sorted, comma-separated.
kinds() { jq -r '.divergences_by_kind | keys | join(",")' "$IT_LOGDIR/$1.json"; }
# answer ORDER_ID: the first (non-duplicate) cart answer for it, waiting up to 30 s.
answer() {
    local i a
    for ((i = 0; i < 300; i++)); do
        a=$(cart_answers | jq -c --arg id "$1" 'select(.order_id == $id and .duplicate == false)' | head -1)
        [ -n "$a" ] && { echo "$a"; return; }
        sleep 0.1
    done
    die "no answer for $1 within 30 s"
}
cart() { printf '%s|%s\n' "$1" "$2" | produce_carts; }
# settle: the coordinator's outbox empty, and the answers to its last steps forwarded.
settle() {
    for _ in $(seq 100); do [ "$(sql "SELECT count(*) FROM cart_outbox")" = 0 ] && break; sleep 0.1; done
    sleep 1.5
}

start_consumer a
wait_http "${CONSUMER_URL[a]}/healthz" "$CONSUMER_PID"
printf '%s\n' '{"order_id":"r-a","item":"apple","quantity":5,"type":"restock"}' \
    '{"order_id":"r-p","item":"pear","quantity":3,"type":"restock"}' \
    '{"order_id":"r-m","item":"plum","quantity":2,"type":"restock"}' >"$IT_LOGDIR/restock.jsonl"
produce "${W[@]}" --wait=30 "$IT_LOGDIR/restock.jsonl" >/dev/null 2>>"$IT_LOGDIR/producer.log"
start_carts a

cart c1 '{"cart_id":"c1","lines":[{"item":"apple","quantity":1},{"item":"pear","quantity":1}]}'
cart c2 '{"cart_id":"c2","lines":[{"item":"apple","quantity":1},{"item":"pear","quantity":9}]}'
cart c3 '{"cart_id":"c3","lines":[{"item":"plum","quantity":1}],"hold_s":60}'
cart c4 '{"cart_id":"c4","lines":[{"item":"plum","quantity":1}],"hold_s":60}'
[ "$(answer c1 | jq -r .status)" = accepted ] || die "c1: $(answer c1)"
[ "$(answer c2 | jq -r .status)" = rejected ] || die "c2: $(answer c2)"
answer c3 >/dev/null
answer c4 >/dev/null
cart c3 '{"type":"cart_confirm","order_id":"c3#confirm","cart_id":"c3"}'
cart c4 '{"type":"cart_cancel","order_id":"c4#cancel","cart_id":"c4"}'
cart c4 '{"type":"cart_cancel","order_id":"c4#cancel-2","cart_id":"c4"}'
cart c1 '{"cart_id":"c1","lines":[{"item":"apple","quantity":1},{"item":"pear","quantity":1}]}'
[ "$(answer 'c3#confirm' | jq -r .state)" = confirmed ] || die "c3#confirm: $(answer 'c3#confirm')"
[ "$(answer 'c4#cancel-2' | jq -r .reason)" = already_cancelled ] || die "c4#cancel-2: $(answer 'c4#cancel-2')"
settle

# ---- 1. clean
audit_expect 0 clean
jq -e '.carts.carts == 4 and .carts.settled == 4 and .carts.answers_checked >= 7 and .replayed.results_cart_answers >= 8 and
       .replayed.results_undecodable == 0' "$IT_LOGDIR/clean.json" >/dev/null ||
    die "clean: $(jq -c '{carts, replayed}' "$IT_LOGDIR/clean.json")"
check_invariants --carts-topic "$IT_CARTS" >"$IT_LOGDIR/inv-clean.out" || die "check_invariants: $(cat "$IT_LOGDIR/inv-clean.out")"

# ---- 2. a cart cancelled while no consumer applies its release
cart c5 '{"cart_id":"c5","lines":[{"item":"pear","quantity":1}],"hold_s":60}'
answer c5 >/dev/null
stop_consumer a
cart c5 '{"type":"cart_cancel","order_id":"c5#cancel","cart_id":"c5"}'
[ "$(answer 'c5#cancel' | jq -r .state)" = cancelled ] || die "c5#cancel: $(answer 'c5#cancel')"
settle
audit_expect 1 unreleased
[ "$(kinds unreleased)" = hold_not_released ] || die "unreleased: $(kinds unreleased)"
jq -e '[.divergences[].order_id] == ["c5#0#hold"]' "$IT_LOGDIR/unreleased.json" >/dev/null ||
    die "unreleased: $(jq -c .divergences "$IT_LOGDIR/unreleased.json")"
start_consumer b
wait_http "${CONSUMER_URL[b]}/healthz" "$CONSUMER_PID"
for _ in $(seq 100); do [ "$(sql "SELECT life FROM orders WHERE order_id = 'c5#0#hold'")" = cancelled ] && break; sleep 0.1; done
settle
audit_expect 0 released

# ---- 3. a forged cart answer
answer c1 | jq -c '.status = "rejected" | .reason = "insufficient_stock"' | sed 's/^/c1|/' |
    kcat -P -b "$ORDERLINE_BROKERS" -t "$IT_RESULTS" -K '|' -X partitioner=murmur2_random
audit_expect 1 forged
[ "$(kinds forged)" = cart_answer_mismatch ] || die "forged: $(kinds forged)"
jq -e '[.divergences[].order_id] == ["c1"]' "$IT_LOGDIR/forged.json" >/dev/null ||
    die "forged: $(jq -c .divergences "$IT_LOGDIR/forged.json")"
if check_invariants --carts-topic "$IT_CARTS" >"$IT_LOGDIR/inv-forged.out"; then
    die "check_invariants took the forged answer: $(cat "$IT_LOGDIR/inv-forged.out")"
fi

# ---- 4. one line of accepted c1 given back behind the coordinator
echo '{"type":"cancel","order_id":"x-cancel","item":"pear","target":"c1#1#hold"}' >"$IT_LOGDIR/x.jsonl"
produce "${W[@]}" --wait=30 "$IT_LOGDIR/x.jsonl" >/dev/null 2>>"$IT_LOGDIR/producer.log"
audit_expect 1 half
[ "$(kinds half)" = cart_answer_mismatch,cart_half_sold ] || die "half: $(kinds half)"

# ---- 5. a refused cancel of c4's released hold, made accepted in the ledger
echo '{"type":"cancel","order_id":"x-again","item":"plum","target":"c4#0#hold"}' >"$IT_LOGDIR/y.jsonl"
produce "${W[@]}" --wait=30 "$IT_LOGDIR/y.jsonl" >"$IT_LOGDIR/y.out" 2>>"$IT_LOGDIR/producer.log" || true # refused: exit 1
grep -q '"reason":"already_cancelled"' "$IT_LOGDIR/y.out" || die "x-again: $(cat "$IT_LOGDIR/y.out")"
sql "UPDATE orders SET status = 'accepted', reason = NULL WHERE order_id = 'x-again'" >/dev/null
audit_expect 1 twice
jq -e '.divergences_by_kind.cancel_applied_twice == 1' "$IT_LOGDIR/twice.json" >/dev/null || die "twice: $(kinds twice)"

stop_carts a
stop_consumer b
log "ok"

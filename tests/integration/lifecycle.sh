#!/usr/bin/env bash
# Holds and follow-ups through Kafka, decided by order-consumer: a hold
# takes the units (a later order cannot have them), a confirm logged after
# the wall-clock deadline but before any expire wins, an unconfirmed hold
# expires by itself (the consumer appends its expire) and gives its units
# back, cancels give units back exactly once, and each refusal has its
# reason. Facts come from the answers, the ledger and /metrics.
source "$(dirname "$0")/lib.sh"
it_setup lifecycle
W=(--results-topic "$IT_RESULTS" --partitions 4)
ITEM=shelf

start_consumer a
wait_http "${CONSUMER_URL[a]}/healthz" "$CONSUMER_PID"
# ask NAME LINES...: sends the lines, waits for their answers (JSON lines in NAME.out).
ask() {
    local name=$1
    shift
    printf '%s\n' "$@" >"$IT_LOGDIR/$name.jsonl"
    produce "${W[@]}" --wait=30 "$IT_LOGDIR/$name.jsonl" >"$IT_LOGDIR/$name.out" 2>>"$IT_LOGDIR/producer.log" || true
    [ "$(wc -l <"$IT_LOGDIR/$name.out")" -eq $# ] || die "$name: $(wc -l <"$IT_LOGDIR/$name.out") answers of $#"
}
# expect NAME ORDER_ID STATUS REASON REMAINING
expect() {
    python3 - "$IT_LOGDIR/$1.out" "$2" "$3" "$4" "$5" <<'PY' || die "$1: $2 is not $3/$4/$5: $(grep "\"$2\"" "$IT_LOGDIR/$1.out")"
import json, sys
path, oid, status, reason, remaining = sys.argv[1:]
rows = {r["order_id"]: r for r in map(json.loads, open(path))}
r = rows[oid]
assert r["status"] == status, r
assert (r["reason"] or "-") == reason, r
assert str(r["remaining"]) == remaining, r
if status == "held":
    assert r["hold_expires_at"], r
PY
}
stock() { sql "SELECT count FROM inventories WHERE name = '$ITEM'"; }

ask restock "{\"order_id\":\"r1\",\"item\":\"$ITEM\",\"quantity\":5,\"type\":\"restock\"}"
expect restock r1 accepted - 5

# A hold takes its units at once; the order after it cannot have them.
ask hold "{\"order_id\":\"h1\",\"item\":\"$ITEM\",\"quantity\":4,\"hold_s\":2}" \
    "{\"order_id\":\"o2\",\"item\":\"$ITEM\",\"quantity\":3}"
expect hold h1 held - 1
expect hold o2 rejected insufficient_stock 1
# Past the wall-clock deadline, but logged before any expire: the confirm
# wins. The consumer is frozen across the deadline so that its scan cannot
# append the expire first; the confirm goes into the log meanwhile.
kill -STOP "${CONSUMER_PIDS[a]}"
sleep 2.5
printf '%s\n' "{\"order_id\":\"c1\",\"item\":\"$ITEM\",\"type\":\"confirm\",\"target\":\"h1\"}" >"$IT_LOGDIR/confirm.jsonl"
produce "${W[@]}" --wait=30 "$IT_LOGDIR/confirm.jsonl" >"$IT_LOGDIR/confirm.out" 2>>"$IT_LOGDIR/producer.log" &
waiter=$!
for _ in $(seq 100); do
    kcat -C -b "$ORDERLINE_BROKERS" -t "$IT_ORDERS" -e -q 2>/dev/null | grep -q '"order_id":"c1"' && break
    sleep 0.1
done
kill -CONT "${CONSUMER_PIDS[a]}"
wait $waiter || die "confirm: order-producer exit $?"
expect confirm c1 accepted - 1
[ "$(stock)" = 1 ] || die "a confirmed hold's units came back: stock $(stock)"
[ "$(sql "SELECT life FROM orders WHERE order_id = 'h1'")" = confirmed ] || die "h1's life is not confirmed"
# The consumer's scan ran before it saw the confirm, or after: either way
# an expire of h1, if one was sent, lost.
for _ in $(seq 30); do
    [ "$(sql "SELECT count(*) FROM orders WHERE order_id = 'h1#expire' AND reason = 'already_confirmed'")" = 1 ] && break
    [ "$(sql "SELECT count(*) FROM orders WHERE order_id = 'h1#expire'")" = 0 ] && break
    sleep 0.1
done
[ "$(sql "SELECT count(*) FROM orders WHERE order_id = 'h1#expire' AND status = 'accepted'")" = 0 ] ||
    die "an expire of the confirmed h1 was accepted"

# An unconfirmed hold expires by itself: its expire appears in the log,
# its units come back, and a confirm after that is refused.
base=$(stock)
ask hold2 "{\"order_id\":\"h2\",\"item\":\"$ITEM\",\"quantity\":1,\"hold_s\":1}"
expect hold2 h2 held - $((base - 1))
for _ in $(seq 100); do [ "$(sql "SELECT life FROM orders WHERE order_id = 'h2'")" = expired ] && break; sleep 0.1; done
[ "$(sql "SELECT life FROM orders WHERE order_id = 'h2'")" = expired ] || die "h2 did not expire within 10 s of its deadline"
[ "$(stock)" = "$base" ] || die "h2's unit did not come back: stock $(stock), want $base"
[ "$(sql "SELECT status FROM orders WHERE order_id = 'h2#expire'")" = accepted ] || die "no accepted expire h2#expire in the ledger"
late=$(sql "SELECT extract(epoch FROM o.processed_at - h.hold_expires_at) FROM orders o, orders h WHERE o.order_id = 'h2#expire' AND h.order_id = 'h2'")
log "h2's expire was decided ${late}s after its deadline"
python3 -c "import sys; sys.exit(0 if 0 <= float('$late') <= 5 else 1)" || die "h2 outlived its deadline by ${late}s (bound 5 s)"
ask late "{\"order_id\":\"c2\",\"item\":\"$ITEM\",\"type\":\"confirm\",\"target\":\"h2\"}"
expect late c2 rejected expired "$base"

# Cancels: of a sale (units back once), again (already_cancelled), the same
# cancel repeated (a duplicate: nothing moves), of a rejected order, of an
# order not yet seen.
ask sale "{\"order_id\":\"o3\",\"item\":\"$ITEM\",\"quantity\":1}"
expect sale o3 accepted - $((base - 1))
ask cancels "{\"order_id\":\"x3\",\"item\":\"$ITEM\",\"type\":\"cancel\",\"target\":\"o3\"}" \
    "{\"order_id\":\"x4\",\"item\":\"$ITEM\",\"type\":\"cancel\",\"target\":\"o3\"}" \
    "{\"order_id\":\"x5\",\"item\":\"$ITEM\",\"type\":\"cancel\",\"target\":\"o2\"}" \
    "{\"order_id\":\"x6\",\"item\":\"$ITEM\",\"type\":\"cancel\",\"target\":\"o-later\"}"
expect cancels x3 accepted - "$base"
expect cancels x4 rejected already_cancelled "$base"
expect cancels x5 rejected not_cancellable "$base"
expect cancels x6 rejected not_cancellable "$base"
ask again "{\"order_id\":\"x3\",\"item\":\"$ITEM\",\"type\":\"cancel\",\"target\":\"o3\"}"
grep -q '"duplicate":true' "$IT_LOGDIR/again.out" || die "a repeated cancel is not a duplicate: $(cat "$IT_LOGDIR/again.out")"
[ "$(stock)" = "$base" ] || die "the repeated cancel moved stock: $(stock)"

# The books: stock = restocks - sold - held + given back, from the ledger.
books=$(sql "SELECT sum(CASE WHEN type = 'restock' AND status = 'accepted' THEN quantity
                              WHEN type = 'order' AND status IN ('accepted', 'held') THEN -quantity
                              WHEN type IN ('cancel', 'expire') AND status = 'accepted' THEN quantity ELSE 0 END)
             FROM orders WHERE item = '$ITEM'")
[ "$books" = "$(stock)" ] || die "the ledger's books say $books, the stock is $(stock)"
scrape "${CONSUMER_URL[a]}" >"$IT_LOGDIR/metrics.txt"
grep -q '^orderline_holds_overdue 0$' "$IT_LOGDIR/metrics.txt" || die "holds overdue: $(grep holds_overdue "$IT_LOGDIR/metrics.txt")"
grep -Eq '^orderline_expires_sent_total [1-9]' "$IT_LOGDIR/metrics.txt" || die "no expire counted as sent"
grep -q '^orderline_orders_total{status="held",reason=""} 2$' "$IT_LOGDIR/metrics.txt" || die "held count: $(grep 'status="held"' "$IT_LOGDIR/metrics.txt")"
# A hold nobody releases (the consumer frozen past its deadline + 5 s): the
# audit names it; once the consumer runs again, the hold expires and the
# audit agrees again (below).
ask stale "{\"order_id\":\"h-stale\",\"item\":\"$ITEM\",\"quantity\":1,\"hold_s\":1}"
expect stale h-stale held - $(($(stock)))
kill -STOP "${CONSUMER_PIDS[a]}"
sleep 6.5
rc=0
"$BUILD/order-audit" --db "$IT_DB" --orders-topic "$IT_ORDERS" --results-topic "$IT_RESULTS" \
    --report "$IT_LOGDIR/stale.json" >"$IT_LOGDIR/stale.out" 2>"$IT_LOGDIR/stale.log" || rc=$?
kill -CONT "${CONSUMER_PIDS[a]}"
[ $rc = 1 ] || die "order-audit with a hold past its deadline: exit $rc, want 1"
python3 - "$IT_LOGDIR/stale.json" <<'PY' || die "the audit did not name h-stale: $(cat "$IT_LOGDIR/stale.out")"
import json, sys
doc = json.load(open(sys.argv[1]))
found = [d for d in doc["divergences"] if d["kind"] == "hold_not_released"]
assert [d["order_id"] for d in found] == ["h-stale"], doc["divergences"]
PY
for _ in $(seq 100); do
    [ "$(sql "SELECT life FROM orders WHERE order_id = 'h-stale'")" = expired ] && break
    sleep 0.1
done
[ "$(sql "SELECT life FROM orders WHERE order_id = 'h-stale'")" = expired ] || die "h-stale did not expire after SIGCONT"
stop_consumer a
# The auditor replays the log, holds and follow-ups included, with the
# messages' own timestamps: it must find every decision as the consumer made it.
"$BUILD/order-audit" --db "$IT_DB" --orders-topic "$IT_ORDERS" --results-topic "$IT_RESULTS" \
    >"$IT_LOGDIR/audit.out" 2>"$IT_LOGDIR/audit.log" || die "order-audit: exit $? ($(tail -3 "$IT_LOGDIR/audit.out"))"
# The independent checker recomputes every decision and the books from the log.
check_invariants
log "ok: hold, confirm, expiry $late s after the deadline, cancels once each, books balance at $(stock)"

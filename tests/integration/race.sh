#!/usr/bin/env bash
# Guarantee 1, the seed's race: 5 in stock, two orders of 3 published at the
# same moment by two producers. Exactly one is accepted; stock ends at 2.
source "$(dirname "$0")/lib.sh"
it_setup race

# Create the schema, then stock the shelf by hand as the seed did.
consume_until_idle 1
sql "INSERT INTO inventories (name, count) VALUES ('widget', 5)" >/dev/null

echo '{"order_id":"alice-1","item":"widget","quantity":3}' >"$IT_LOGDIR/alice.jsonl"
echo '{"order_id":"bob-1","item":"widget","quantity":3}' >"$IT_LOGDIR/bob.jsonl"
produce "$IT_LOGDIR/alice.jsonl" 2>>"$IT_LOGDIR/producer.log" &
a=$!
produce "$IT_LOGDIR/bob.jsonl" 2>>"$IT_LOGDIR/producer.log" &
b=$!
wait $a || die "alice's producer failed"
wait $b || die "bob's producer failed"

consume_until_idle 2
accepted=$(sql "SELECT count(*) FROM orders WHERE status = 'accepted'")
rejected=$(sql "SELECT count(*) FROM orders WHERE status = 'rejected' AND reason = 'insufficient_stock'")
stock=$(sql "SELECT count FROM inventories WHERE name = 'widget'")
log "accepted=$accepted rejected=$rejected stock=$stock"
[ "$accepted" = 1 ] || die "expected exactly one accepted order, got $accepted"
[ "$rejected" = 1 ] || die "expected exactly one insufficient_stock rejection, got $rejected"
[ "$stock" = 2 ] || die "expected 2 left, got $stock"
n=$(results_json | grep -c '"item":"widget"')
[ "$n" = 2 ] || die "expected 2 results, got $n"
results_json | grep -q '"status":"accepted"' || die "no accepted result published"
results_json | grep -q '"reason":"insufficient_stock"' || die "no rejected result published"
check_invariants --initial-stock widget=5

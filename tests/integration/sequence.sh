#!/usr/bin/env bash
# Guarantee 2 and the rules at volume: 6000 generated orders over 25 items
# (hot items, restocks, duplicates) decided in log order per item; results
# appear per item in offset order; batches are many orders each.
source "$(dirname "$0")/lib.sh"
it_setup sequence

"$BUILD/order-producer" --generate 6000 --items 25 --seed 7 --restock-pct 15 --duplicate-pct 3 \
    >"$IT_LOGDIR/orders.jsonl"
produce "$IT_LOGDIR/orders.jsonl" 2>>"$IT_LOGDIR/producer.log" || die "producer failed"
consume_until_idle 2
batches=$(grep -o 'final: [0-9]* messages in [0-9]* batches' "$IT_LOGDIR/consumer.log" | tail -1)
log "$batches"
n_batches=$(echo "$batches" | awk '{print $5}')
[ "$n_batches" -lt 600 ] || die "expected batched transactions (many orders per batch), got $batches"
check_invariants --expect-invalid 0

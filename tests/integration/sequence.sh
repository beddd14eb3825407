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
n_batches=$(counter orderline_batch_size_count "$LAST_STATS")
n_messages=$(counter orderline_batch_size_sum "$LAST_STATS")
log "$n_messages messages in $n_batches batches"
[ "$n_messages" -eq 6000 ] || die "the consumer's batches held $n_messages messages, the log has 6000"
[ "$n_batches" -lt 600 ] || die "expected batched transactions (many orders per batch), got $n_batches batches"
check_invariants --expect-invalid 0

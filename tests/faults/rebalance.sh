#!/usr/bin/env bash
# Scale out and back: one consumer, then three in the same group, then one
# again, while orders keep arriving (a producer paced at RATE/s for about
# 12 s, with duplicates, plus junk). Partitions move on every change while
# work is in flight; no decision may be lost or repeated.
# STRATEGY picks the assignment protocol (default cooperative-sticky; "range"
# or "roundrobin" for the eager protocols).
source "$(dirname "$0")/../integration/lib.sh"
STRATEGY=${STRATEGY:-cooperative-sticky}
it_setup "rebalance-$STRATEGY"
IT_PARTITIONS=8
CONSUMER_ARGS+=(--partitions 8 -X partition.assignment.strategy="$STRATEGY")
TOTAL=${TOTAL:-60000}
RATE=${RATE:-5000}

"$BUILD/order-producer" --generate "$TOTAL" --items 400 --seed 21 --restock-pct 12 --duplicate-pct 2 \
    >"$IT_LOGDIR/orders.jsonl"
distinct=$(grep -o '"order_id":"[^"]*"' "$IT_LOGDIR/orders.jsonl" | sort -u | wc -l)
{
    for i in $(seq 1 40); do
        echo "item-0000$((i % 10))|{\"order_id\":\"junk-$i\",\"item\":\"item-0000$((i % 10))\",\"quantity\":0}"
        echo "item-0000$((i % 10))|not json $i"
    done
} >"$IT_LOGDIR/junk.txt"
produce "$IT_LOGDIR/orders.jsonl" --rate "$RATE" 2>>"$IT_LOGDIR/producer.log" &
producer=$!
sleep 0.5
produce_raw <"$IT_LOGDIR/junk.txt"

start_consumer a
wait_decided 2000
start_consumer b
start_consumer c
wait_assigned b
wait_assigned c
at=$(decided_count)
wait_decided $((at + 2 * RATE))
log "three consumers at $(decided_count) decided"
kill -0 "$producer" 2>/dev/null || die "the producer finished before scaling back: the test proves too little"
stop_consumer b c
log "back to one at $(decided_count) decided"
wait "$producer" || die "producer failed"
wait_decided "$distinct" 120
sleep 1
stop_consumer a
assigned=$(stat_sum 'orderline_partition_changes_total{change="assigned"}')
revoked=$(stat_sum 'orderline_partition_changes_total{change="revoked"}')
for n in b c; do
    [ "$(counter 'orderline_partition_changes_total{change="assigned"}' "${CONSUMER_STATS[$n]}")" -gt 0 ] ||
        die "consumer $n never got a partition"
    [ "$(counter orderline_orders_total "${CONSUMER_STATS[$n]}")" -gt 0 ] || die "consumer $n decided nothing"
done
duplicates=$(stat_sum orderline_duplicates_total)
fenced=$(stat_sum orderline_fenced_batches_total)
log "$assigned partition assignments, $revoked revocations"
check_invariants --expect-invalid 80
echo "SUMMARY rebalance($STRATEGY): orders=$TOTAL at ${RATE}/s junk=80 instances=1-3-1 assignments=$assigned" \
     "revocations=$revoked duplicates_answered=$duplicates fenced=$fenced"

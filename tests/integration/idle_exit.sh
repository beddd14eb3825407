#!/usr/bin/env bash
# --idle-exit counts from the last message or the last assignment, never
# from the start: consumer B joins a busy group, so its first assignment
# comes only after a rebalance that takes longer than its idle time (1 s);
# it must still work its partitions while orders keep coming, and leave only
# once they have been quiet for 1 s, that is after the producer is done.
source "$(dirname "$0")/lib.sh"
it_setup idle-exit
IT_PARTITIONS=8
CONSUMER_ARGS+=(--partitions 8)
TOTAL=${TOTAL:-20000}
RATE=${RATE:-2500}

"$BUILD/order-producer" --generate "$TOTAL" --items 200 --seed 5 --restock-pct 12 --duplicate-pct 2 \
    >"$IT_LOGDIR/orders.jsonl"
distinct=$(grep -o '"order_id":"[^"]*"' "$IT_LOGDIR/orders.jsonl" | sort -u | wc -l)
produce "$IT_LOGDIR/orders.jsonl" --rate "$RATE" 2>>"$IT_LOGDIR/producer.log" &
producer=$!

start_consumer a
a=$CONSUMER_PID
wait_assigned a
b_started=$(date +%s.%N)
start_consumer b --idle-exit 1
b=$CONSUMER_PID
# When B's first partitions came, from its live /metrics (published every
# 250 ms; B stays at least its idle time, 1 s, after an assignment).
first_assigned=
while running "$b"; do
    [ "$(assigned_count b)" -gt 0 ] && { first_assigned=$(date +%s.%N); break; }
    sleep 0.1
done
wait_consumer b
kill -0 "$producer" 2>/dev/null && die "B left while orders were still coming to its partitions"
[ "$(counter 'orderline_partition_changes_total{change="assigned"}' "${CONSUMER_STATS[b]}")" -gt 0 ] ||
    die "B never got a partition"
[ -n "$first_assigned" ] || die "B's /metrics never showed its assignment"
joined_after=$(awk -v t="$first_assigned" -v s="$b_started" 'BEGIN { printf "%.1f", t - s }')
b_decided=$(counter orderline_orders_total "${CONSUMER_STATS[b]}")
log "B got its first partitions ${joined_after} s after it started (idle exit: 1 s) and decided $b_decided"
[ "$b_decided" -gt 0 ] || die "B exited without deciding anything"
wait "$producer" || die "producer failed"
wait_decided "$distinct" 60
stop_consumer a
check_invariants
echo "SUMMARY idle_exit: orders=$TOTAL at ${RATE}/s b_joined_after_s=$joined_after b_decided=$b_decided"

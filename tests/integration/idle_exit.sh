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
wait "$b" || die "B exited $?"
kill -0 "$producer" 2>/dev/null && die "B left while orders were still coming to its partitions"
first_assigned=$(grep -m1 ' assigned ' "$IT_LOGDIR/consumer-b.log" | cut -d' ' -f1)
[ -n "$first_assigned" ] || die "B never got a partition"
joined_after=$(python3 -c 'import sys, datetime as d
t = d.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=d.timezone.utc).timestamp()
print("%.1f" % (t - float(sys.argv[2])))' "$first_assigned" "$b_started")
b_decided=$(grep 'final:' "$IT_LOGDIR/consumer-b.log" | awk '{print $5}')
log "B got its first partitions ${joined_after} s after it started (idle exit: 1 s) and decided ${b_decided:-0}"
[ "${b_decided:-0}" -gt 0 ] || die "B exited without deciding anything"
wait "$producer" || die "producer failed"
wait_decided "$distinct" 60
kill -TERM "$a"
wait "$a" || die "consumer a exited $? on SIGTERM"
check_invariants
echo "SUMMARY idle_exit: orders=$TOTAL at ${RATE}/s b_joined_after_s=$joined_after b_decided=$b_decided"

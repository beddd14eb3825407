#!/usr/bin/env bash
# Consumer failover, timed (issue 11). Orders stream in at a steady rate;
#   1. two consumers share the group; one is killed with -9. Measured: the
#      kill -> the first new decision on one of its partitions (by the
#      survivor, after the dead member's session expires). Target <= 10 s.
#   2. a consumer with static membership (group.instance.id) is killed with
#      -9 and started again at once with the same id: it gets its partitions
#      back without a rebalance. Measured: the kill -> its first new
#      decision. Target <= 3 s.
# Times come from the ledger (processed_at) and the kill's clock; both run
# on this machine. The invariant checker runs at the end.
source "$(dirname "$0")/../integration/lib.sh"
IT_PARTITIONS=8
it_setup failover
RATE=${RATE:-1000}
TOTAL=${TOTAL:-30000}
"$BUILD/order-producer" --generate "$TOTAL" --items 400 --seed 77 --restock-pct 20 --duplicate-pct 0 \
    >"$IT_LOGDIR/orders.jsonl"
produce --rate "$RATE" "$IT_LOGDIR/orders.jsonl" 2>>"$IT_LOGDIR/producer.log" &
producer=$!

now_ms() { date +%s%3N; }
# partitions NAME: the partitions consumer NAME holds now, comma-separated:
# its live /metrics has an orderline_stored_position series for each.
partitions_of() {
    { scrape "${CONSUMER_URL[$1]}" 2>/dev/null || true; } |
        sed -n -E 's/^orderline_stored_position\{.*partition="([0-9]+)".*/\1/p' | sort -n | paste -sd, -
}
# first_decision_after PARTS T_MS LIMIT_S: ms from T_MS to the first order
# decided after T_MS on one of PARTS (comma-separated); dies after LIMIT_S.
first_decision_after() {
    local parts=$1 t=$2 limit=$3 i got
    for ((i = 0; i < limit * 20; i++)); do
        got=$(sql "SELECT (extract(epoch FROM min(processed_at)) * 1000)::bigint FROM orders
                   WHERE kafka_partition IN ($parts) AND processed_at > to_timestamp($t / 1000.0)")
        if [ -n "$got" ]; then echo $((got - t)); return 0; fi
        sleep 0.05
    done
    die "no decision on partitions $parts within ${limit}s of the kill"
}
wait_partitions() { # NAME COUNT: until NAME holds COUNT partitions (assignment settled)
    local i
    for ((i = 0; i < 300; i++)); do
        local p; p=$(partitions_of "$1")
        [ -n "$p" ] && [ "$(tr ',' '\n' <<<"$p" | wc -l)" -eq "$2" ] && return 0
        sleep 0.1
    done
    die "consumer $1 does not hold $2 partitions (holds: $(partitions_of "$1"))"
}

# --- 1. two members, one killed.
start_consumer a
start_consumer b
b=$CONSUMER_PID
wait_partitions a 4
wait_partitions b 4
sleep 2
parts_b=$(partitions_of b)
t_kill=$(now_ms)
kill -9 "$b"
wait "$b" 2>/dev/null || true
failover_ms=$(first_decision_after "$parts_b" "$t_kill" 30)
log "kill -9 of b (partitions $parts_b): first new decision on them after $failover_ms ms"
[ "$failover_ms" -le 10000 ] || die "failover took $failover_ms ms (target <= 10000)"
stop_consumer a

# --- 2. static membership: killed and restarted with the same instance id.
STATIC=(-X group.instance.id=failover-c)
start_consumer c "${STATIC[@]}"
c=$CONSUMER_PID
wait_partitions c 8
sleep 2
t_kill=$(now_ms)
kill -9 "$c"
wait "$c" 2>/dev/null || true
start_consumer c2 "${STATIC[@]}"
static_ms=$(first_decision_after "0,1,2,3,4,5,6,7" "$t_kill" 30)
log "kill -9 of c and restart with the same group.instance.id: first new decision after $static_ms ms"
[ "$static_ms" -le 3000 ] || die "the static member's restart took $static_ms ms (target <= 3000)"

wait "$producer" || die "order-producer failed"
distinct=$(grep -o '"order_id":"[^"]*"' "$IT_LOGDIR/orders.jsonl" | sort -u | wc -l)
wait_decided "$distinct" 120
stop_consumer c2
check_invariants --expect-invalid 0
echo "SUMMARY failover: rate=$RATE failover_ms=$failover_ms static_restart_ms=$static_ms" \
     "session_timeout_ms=6000 decided=$(decided_count)"

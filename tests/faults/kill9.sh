#!/usr/bin/env bash
# Guarantees 3 and 4 under crashes: kill -9 the consumer repeatedly while it
# works through 40,000 orders with duplicates and junk mixed in; afterwards
# every order_id has exactly one row, stock = restocks - accepted per item,
# nothing is negative, every message is answered and every junk message is in
# the DLQ. KILLS (default 8) sets how many times.
source "$(dirname "$0")/../integration/lib.sh"
it_setup kill9
KILLS=${KILLS:-8}
TOTAL=${TOTAL:-40000}

publish_workload "$TOTAL" 300 42
junk=$WORKLOAD_JUNK
distinct=$WORKLOAD_DISTINCT

# Static membership: a restarted consumer takes its partitions back at once
# instead of waiting for the killed one's session to time out. Small batches
# keep it busy long enough to be killed mid-work many times.
STATIC=(-X group.instance.id=kill9 -X session.timeout.ms=6000)
kills=0
midwork=0
decided=0
while [ $kills -lt "$KILLS" ] || [ "$decided" -lt "$distinct" ]; do
    [ $kills -lt $((KILLS * 4)) ] || die "consumer made no progress through $kills restarts"
    run=run$((kills + 1))
    start_consumer "$run" --batch-max 50 "${STATIC[@]}"
    pid=$CONSUMER_PID
    # Kill at a random moment once it has its partitions (its live /metrics
    # says so) and has decided something: a fixed delay after the assignment
    # went stale as the consumer got faster (40,000 orders now take ~2 s).
    for _ in $(seq 1 100); do
        [ "$(assigned_count "$run")" -gt 0 ] && break
        sleep 0.1
    done
    for _ in $(seq 1 100); do
        [ "$(sql "SELECT count(*) FROM orders")" -gt "$decided" ] && break
        [ "$decided" -ge "$distinct" ] && break
        sleep 0.02
    done
    sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", (r % 10) / 100 }')"
    kill -9 $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    kills=$((kills + 1))
    before=$decided
    decided=$(sql "SELECT count(*) FROM orders")
    if [ "$decided" -gt "$before" ] && [ "$decided" -lt "$distinct" ]; then midwork=$((midwork + 1)); fi
    log "kill -9 #$kills: $decided of $distinct order_ids decided"
done
[ $midwork -ge 3 ] || die "only $midwork kills landed mid-work; the test proves too little"
consume_until_idle 3 "${STATIC[@]}"
decided=$(sql "SELECT count(*) FROM orders")
# Summed over the runs that exited: those killed with -9 wrote no stats
# file, so this is what the last, clean run published again.
replayed=$(stat_sum orderline_republished_total)
log "after $kills kills ($midwork mid-work): $decided orders decided; $replayed answers re-published"
echo "SUMMARY kill9: orders=$TOTAL junk=$junk kills=$kills midwork_kills=$midwork decided=$decided republished=$replayed"
[ "$(sql "SELECT count(*) FROM inventories WHERE count < 0")" = 0 ] || die "negative stock"
check_invariants --expect-invalid "$junk"

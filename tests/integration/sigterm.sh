#!/usr/bin/env bash
# SIGTERM mid-stream: the consumer finishes the batch in flight, flushes its
# answers and exits 0 within seconds; a restart carries on with nothing lost
# or applied twice.
source "$(dirname "$0")/lib.sh"
it_setup sigterm

"$BUILD/order-producer" --generate 30000 --items 100 --seed 11 >"$IT_LOGDIR/orders.jsonl"
produce "$IT_LOGDIR/orders.jsonl" 2>>"$IT_LOGDIR/producer.log" || die "producer failed"

start_consumer a --batch-max 50
# Wait until it is deciding, then ask it to stop.
for _ in $(seq 1 100); do
    [ "$(sql "SELECT count(*) FROM orders")" -gt 0 ] && break
    sleep 0.1
done
start=$(date +%s%N)
# A clean stop: exit status 0 within 10 s, and the stats file written.
STOP_TIMEOUT=10 stop_consumer a
ms=$((($(date +%s%N) - start) / 1000000))
decided=$(sql "SELECT count(*) FROM orders")
log "exit code 0 after SIGTERM, in $ms ms, with $decided orders decided"
# A clean stop leaves every answer acknowledged: nothing to republish.
lag=$(sql "SELECT coalesce(sum(next_offset - results_offset), 0) FROM consumer_positions")
[ "$lag" = 0 ] || die "$lag decided orders left without acknowledged answers after a clean stop"

consume_until_idle 2
check_invariants --expect-invalid 0

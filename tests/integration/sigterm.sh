#!/usr/bin/env bash
# SIGTERM mid-stream: the consumer finishes the batch in flight, flushes its
# answers and exits 0 within seconds; a restart carries on with nothing lost
# or applied twice.
source "$(dirname "$0")/lib.sh"
it_setup sigterm

"$BUILD/order-producer" --generate 30000 --items 100 --seed 11 >"$IT_LOGDIR/orders.jsonl"
produce "$IT_LOGDIR/orders.jsonl" 2>>"$IT_LOGDIR/producer.log" || die "producer failed"

"$BUILD/order-consumer" "${CONSUMER_ARGS[@]}" --batch-max 50 >>"$IT_LOGDIR/consumer.log" 2>&1 &
pid=$!
# Wait until it is deciding, then ask it to stop.
for _ in $(seq 1 100); do
    [ "$(sql "SELECT count(*) FROM orders")" -gt 0 ] && break
    sleep 0.1
done
start=$(date +%s%N)
kill -TERM $pid
set +e
wait $pid
rc=$?
set -e
ms=$((($(date +%s%N) - start) / 1000000))
decided=$(sql "SELECT count(*) FROM orders")
log "exit code $rc after SIGTERM, in $ms ms, with $decided orders decided"
[ $rc -eq 0 ] || die "consumer exited $rc on SIGTERM"
[ $ms -lt 10000 ] || die "consumer took $ms ms to stop"
grep -q 'stopped cleanly' "$IT_LOGDIR/consumer.log" || die "no clean stop logged"
# A clean stop leaves every answer acknowledged: nothing to republish.
lag=$(sql "SELECT coalesce(sum(next_offset - results_offset), 0) FROM consumer_positions")
[ "$lag" = 0 ] || die "$lag decided orders left without acknowledged answers after a clean stop"

consume_until_idle 2
check_invariants --expect-invalid 0

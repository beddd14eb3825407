#!/usr/bin/env bash
# Guarantee 4, aimed at the exact window: the consumer dies (SIGKILL) right
# after a batch commits and before any of its answers are published. After a
# restart, every decided order has its answer in the results topic.
source "$(dirname "$0")/lib.sh"
it_setup crash-after-commit

"$BUILD/order-producer" --generate 3000 --items 40 --seed 3 >"$IT_LOGDIR/orders.jsonl"
produce "$IT_LOGDIR/orders.jsonl" 2>>"$IT_LOGDIR/producer.log" || die "producer failed"

# Static membership: the restart takes the partitions back without waiting
# for the dead member's session to expire.
STATIC=(-X group.instance.id=crash -X session.timeout.ms=6000)
ORDERLINE_FAILPOINT=crash-after-commit:3 start_consumer crash --batch-max 500 "${STATIC[@]}"
rc=0
wait "$CONSUMER_PID" || rc=$?
[ $rc -eq 137 ] || die "consumer should have been killed by its failpoint (rc 137), got $rc"
[ ! -e "${CONSUMER_STATS[crash]}" ] || die "a consumer killed with -9 wrote a stats file"
decided=$(sql "SELECT count(*) FROM orders")
answered=$(results_json | wc -l)
log "crashed after commit: $decided decided, $answered answers published"
[ "$decided" -gt "$answered" ] || die "expected decided orders without answers after the crash"

consume_until_idle 2 "${STATIC[@]}"
replayed=$(counter orderline_republished_total "$LAST_STATS")
log "restart re-answered $replayed orders"
[ "$replayed" -gt 0 ] || die "restart re-answered nothing"
check_invariants --expect-invalid 0

#!/usr/bin/env bash
# Zombie fencing: consumer A is frozen with SIGSTOP past its session timeout
# while it works; B takes over its partitions and carries on; then A is
# resumed. A must not commit anything for partitions B now owns: the
# PostgreSQL fence (position must still be what A started from) rolls A's
# batch back. Afterwards every decision is exactly once.
source "$(dirname "$0")/../integration/lib.sh"
it_setup zombie
CONSUMER_ARGS+=(--batch-max 40 -X session.timeout.ms=6000 -X heartbeat.interval.ms=500)
TOTAL=${TOTAL:-50000}
publish_workload "$TOTAL" 300 33

start_consumer a
a=$CONSUMER_PID
wait_decided 3000
kill -STOP "$a"
frozen_at=$(decided_count)
log "A frozen at $frozen_at decided; starting B"
start_consumer b --idle-exit 6
b=$CONSUMER_PID
# B gets A's partitions once A's session (6 s) expires, and works.
wait_decided $((frozen_at + 3000)) 60
log "B took over: $(decided_count) decided; resuming A"
kill -CONT "$a"
sleep 8
kill -TERM "$a"
wait "$a" || die "A exited $? on SIGTERM"
wait "$b" || die "B failed"
consume_until_idle 3
fenced=$(grep -c 'batch abandoned, nothing applied' "$IT_LOGDIR/consumer-a.log" || true)
lost=$(grep -c ' lost ' "$IT_LOGDIR/consumer-a.log" || true)
log "A after resuming: $fenced fenced batches, $lost partitions reported lost"
[ $((fenced + lost)) -gt 0 ] || die "A never noticed it had lost its partitions"
check_invariants --expect-invalid "$WORKLOAD_JUNK"
echo "SUMMARY zombie: orders=$TOTAL junk=$WORKLOAD_JUNK frozen_at=$frozen_at zombie_fenced_batches=$fenced" \
     "zombie_lost_partitions=$lost duplicates_answered=$(stat_sum duplicates)"

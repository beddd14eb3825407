#!/usr/bin/env bash
# Zombie fencing: consumer A freezes itself (SIGSTOP, by its failpoint) in the
# middle of a batch, with its transaction open and its position and item rows
# locked, and stays frozen past its session timeout; B takes over its
# partitions and must carry on: PostgreSQL ends A's idle transaction, which
# releases the locks. Then A is resumed. A must not commit anything for
# partitions B now owns: its connection is gone and the PostgreSQL fence
# (position must still be what A started from) rolls A's retry back.
# Afterwards every decision is exactly once.
# FREEZE=in-transaction (default): A stops itself by its failpoint with its
# transaction open, the worst moment. FREEZE=external: the test sends
# SIGSTOP from outside at whatever moment A is in once ~3000 are decided.
source "$(dirname "$0")/../integration/lib.sh"
FREEZE=${FREEZE:-in-transaction}
it_setup "zombie-$FREEZE"
CONSUMER_ARGS+=(--batch-max 40 -X session.timeout.ms=6000 -X heartbeat.interval.ms=500)
TOTAL=${TOTAL:-50000}
publish_workload "$TOTAL" 300 33

if [ "$FREEZE" = external ]; then
    start_consumer a
    a=$CONSUMER_PID
    wait_decided 3000
    kill -STOP "$a"
else
    # Batches hold at most 40 orders: A freezes after roughly 3000 are decided.
    ORDERLINE_FAILPOINT=stop-in-transaction:80 start_consumer a
    a=$CONSUMER_PID
    for ((i = 0; i < 600; i++)); do
        [ "$(awk '{print $3}' "/proc/$a/stat" 2>/dev/null)" = T ] && break
        kill -0 "$a" 2>/dev/null || die "A exited before its failpoint"
        sleep 0.1
    done
    [ "$(awk '{print $3}' "/proc/$a/stat")" = T ] || die "A did not freeze within 60 s"
    grep -q 'failpoint: freezing inside the transaction' "$IT_LOGDIR/consumer-a.log" ||
        die "A stopped, but not by its failpoint"
fi
frozen_at=$(decided_count)
log "A frozen ($FREEZE) at $frozen_at decided; starting B"
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
reconnected=$(grep -c 'PostgreSQL connection lost' "$IT_LOGDIR/consumer-a.log" || true)
log "A after resuming: $fenced fenced batches, $lost partitions reported lost, $reconnected lost connections"
[ "$FREEZE" = external ] || [ "$reconnected" -gt 0 ] || die "A's idle transaction was not ended by PostgreSQL"
[ $((fenced + lost)) -gt 0 ] || die "A never noticed it had lost its partitions"
check_invariants --expect-invalid "$WORKLOAD_JUNK"
echo "SUMMARY zombie($FREEZE): orders=$TOTAL junk=$WORKLOAD_JUNK frozen_at=$frozen_at zombie_fenced_batches=$fenced" \
     "zombie_lost_partitions=$lost zombie_lost_connections=$reconnected duplicates_answered=$(stat_sum duplicates)"

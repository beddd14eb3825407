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
        [ "$(proc_state "$a")" = T ] && break
        running "$a" || die "A exited before its failpoint"
        sleep 0.1
    done
    # Nothing but its failpoint stops A here (state T: stopped by a signal).
    [ "$(proc_state "$a")" = T ] || die "A did not freeze within 60 s"
fi
frozen_at=$(decided_count)
log "A frozen ($FREEZE) at $frozen_at decided; starting B"
start_consumer b --idle-exit 6
# B gets A's partitions once A's session (6 s) expires, and works.
wait_decided $((frozen_at + 3000)) 60
log "B took over: $(decided_count) decided; resuming A"
kill -CONT "$a"
sleep 8
stop_consumer a
wait_consumer b
consume_until_idle 3
# A's own counters: batches its fence rolled back, partitions Kafka took
# without a handover, and PostgreSQL connections it had to open again
# (PostgreSQL ends a frozen transaction's session: the connection is lost).
fenced=$(counter orderline_fenced_batches_total "${CONSUMER_STATS[a]}")
lost=$(counter 'orderline_partition_changes_total{change="lost"}' "${CONSUMER_STATS[a]}")
reconnected=$(counter orderline_postgres_reconnects_total "${CONSUMER_STATS[a]}")
duplicates=$(stat_sum orderline_duplicates_total)
log "A after resuming: $fenced fenced batches, $lost partitions lost, $reconnected PostgreSQL reconnects"
[ "$FREEZE" = external ] || [ "$reconnected" -gt 0 ] || die "A's idle transaction was not ended by PostgreSQL"
[ $((fenced + lost)) -gt 0 ] || die "A never noticed it had lost its partitions"
check_invariants --expect-invalid "$WORKLOAD_JUNK"
echo "SUMMARY zombie($FREEZE): orders=$TOTAL junk=$WORKLOAD_JUNK frozen_at=$frozen_at zombie_fenced_batches=$fenced" \
     "zombie_lost_partitions=$lost zombie_postgres_reconnects=$reconnected duplicates_answered=$duplicates"

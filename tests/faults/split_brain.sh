#!/usr/bin/env bash
# The PostgreSQL fence on its own: two consumers in different consumer
# groups, so Kafka lets both own every partition at once (what a zombie
# that missed its revocation amounts to), work the same orders against the
# same database. Positions advance only from the value a batch started
# from, so whenever both try the same partition one batch is fenced and
# rolled back; every order must still be decided exactly once.
source "$(dirname "$0")/../integration/lib.sh"
it_setup split-brain
TOTAL=${TOTAL:-30000}
publish_workload "$TOTAL" 200 44

# Small batches keep both at work long enough to meet on every partition.
CONSUMER_ARGS+=(--batch-max 50)
start_consumer a --group "$IT_NAME-a-$$" --idle-exit 4
a=$CONSUMER_PID
start_consumer b --group "$IT_NAME-b-$$" --idle-exit 4
b=$CONSUMER_PID
wait "$a" || die "consumer a exited $?"
wait "$b" || die "consumer b exited $?"
fenced=$(cat "$IT_LOGDIR"/consumer-*.log | grep -c 'batch abandoned, nothing applied' || true)
log "$fenced batches fenced; decided by a: $(grep 'final:' "$IT_LOGDIR/consumer-a.log" | awk '{print $5}')," \
    "by b: $(grep 'final:' "$IT_LOGDIR/consumer-b.log" | awk '{print $5}')"
[ "$fenced" -gt 0 ] || die "two owners of the same partitions were never fenced: the test proved nothing"
check_invariants --expect-invalid "$WORKLOAD_JUNK"
echo "SUMMARY split_brain: orders=$TOTAL junk=$WORKLOAD_JUNK fenced_batches=$fenced"

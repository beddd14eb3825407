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
start_consumer b --group "$IT_NAME-b-$$" --idle-exit 4
wait_consumer a
wait_consumer b
fenced=$(stat_sum orderline_fenced_batches_total)
by_a=$(counter orderline_orders_total "${CONSUMER_STATS[a]}")
by_b=$(counter orderline_orders_total "${CONSUMER_STATS[b]}")
log "$fenced batches fenced; decided by a: $by_a, by b: $by_b"
[ "$fenced" -gt 0 ] || die "two owners of the same partitions were never fenced: the test proved nothing"
check_invariants --expect-invalid "$WORKLOAD_JUNK"
echo "SUMMARY split_brain: orders=$TOTAL junk=$WORKLOAD_JUNK fenced_batches=$fenced"

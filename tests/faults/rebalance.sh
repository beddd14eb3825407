#!/usr/bin/env bash
# Scale out and back: one consumer, then three in the same group, then one
# again, while 60,000 orders (duplicates, junk) are being decided. Partitions
# move on every change; no decision may be lost or repeated.
# STRATEGY picks the assignment protocol (default cooperative-sticky; "range"
# or "roundrobin" for the eager protocols).
source "$(dirname "$0")/../integration/lib.sh"
STRATEGY=${STRATEGY:-cooperative-sticky}
it_setup "rebalance-$STRATEGY"
IT_PARTITIONS=8
CONSUMER_ARGS+=(--partitions 8 --batch-max 40 -X partition.assignment.strategy="$STRATEGY")
TOTAL=${TOTAL:-60000}
publish_workload "$TOTAL" 400 21

start_consumer a
a=$CONSUMER_PID
wait_decided 2000
start_consumer b
b=$CONSUMER_PID
start_consumer c
c=$CONSUMER_PID
wait_assigned b
wait_assigned c
at=$(decided_count)
wait_decided $((at + 5000))
log "three consumers at $(decided_count) decided"
kill -TERM "$b" "$c"
wait "$b" || die "consumer b exited $? on SIGTERM"
wait "$c" || die "consumer c exited $? on SIGTERM"
log "back to one at $(decided_count) decided"
wait_decided "$WORKLOAD_DISTINCT" 120
sleep 1
kill -TERM "$a"
wait "$a" || die "consumer a exited $? on SIGTERM"
assigned=$(cat "$IT_LOGDIR"/consumer-*.log | grep -c ' assigned ')
revoked=$(cat "$IT_LOGDIR"/consumer-*.log | grep -c ' revoked ')
for n in b c; do
    [ "$(grep -c 'decided up to' "$IT_LOGDIR/consumer-$n.log")" -gt 0 ] || die "consumer $n never got a partition"
done
log "$assigned partition assignments, $revoked revocations"
check_invariants --expect-invalid "$WORKLOAD_JUNK"
echo "SUMMARY rebalance($STRATEGY): orders=$TOTAL junk=$WORKLOAD_JUNK instances=1-3-1 assignments=$assigned" \
     "revocations=$revoked duplicates_answered=$(stat_sum duplicates) fenced=$(stat_sum fenced)"

#!/usr/bin/env bash
# Broker restart mid-stream: the Kafka broker is stopped while producers
# publish and the consumer decides, then started again. The consumer keeps
# running; every order a producer reported delivered is decided exactly once.
source "$(dirname "$0")/../integration/lib.sh"
it_setup broker-restart
TOTAL=${TOTAL:-30000}
"$BUILD/order-producer" --generate "$TOTAL" --items 200 --seed 55 --duplicate-pct 2 >"$IT_LOGDIR/orders.jsonl"
split -l $((TOTAL / 6)) "$IT_LOGDIR/orders.jsonl" "$IT_LOGDIR/chunk."
chunks=("$IT_LOGDIR"/chunk.*)
produce "${chunks[0]}" 2>>"$IT_LOGDIR/producer.log" || die "first chunk failed"

start_consumer a --batch-max 50
a=$CONSUMER_PID
wait_decided 1000
# Producers keep publishing through the outage; their exit codes tell what
# they claim was delivered.
(
    for chunk in "${chunks[@]:1}"; do
        if produce "$chunk" 2>>"$IT_LOGDIR/producer.log"; then echo "$chunk" >>"$IT_LOGDIR/delivered"; fi
    done
) &
producers=$!
sleep 1
log "stopping the broker at $(decided_count) decided"
"$IT_ROOT/scripts/stack" down kafka >&2
sleep 5
log "starting the broker again"
"$IT_ROOT/scripts/stack" up kafka >&2
wait $producers
delivered_chunks=$(wc -l <"$IT_LOGDIR/delivered")
log "$delivered_chunks of $((${#chunks[@]} - 1)) chunks reported delivered after the outage"
[ "$delivered_chunks" -eq $((${#chunks[@]} - 1)) ] || die "a producer gave up during a 5 s outage"
# The consumer survives: it finishes everything without a restart.
want=$(grep -o '"order_id":"[^"]*"' "$IT_LOGDIR/orders.jsonl" | sort -u | wc -l)
wait_decided "$want" 120
running "$a" || die "the consumer died during the outage"
stop_consumer a
check_invariants --expect-invalid 0
echo "SUMMARY broker_restart: orders=$TOTAL outage_s=5 producer_chunks_delivered=$delivered_chunks" \
     "decided=$(decided_count) consumer_restarts=0"

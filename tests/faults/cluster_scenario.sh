#!/usr/bin/env bash
# One broker-fault scenario on the three-node cluster (run by cluster.sh,
# which starts the cluster): SCENARIO=leader_kill|pause|two_down|rolling.
source "$(dirname "$0")/../integration/lib.sh"
STACK=$IT_ROOT/scripts/stack
IT_PARTITIONS=6
it_setup "cluster-$SCENARIO"
TOTAL=${TOTAL:-24000}
CHUNKS=8
RATE=${RATE:-2000}

"$BUILD/order-producer" --generate "$TOTAL" --items 300 --seed 91 --restock-pct 15 --duplicate-pct 2 \
    >"$IT_LOGDIR/orders.jsonl"
split -d -l $((TOTAL / CHUNKS)) "$IT_LOGDIR/orders.jsonl" "$IT_LOGDIR/chunk."
chunks=("$IT_LOGDIR"/chunk.*)
produce --acks-log "$IT_LOGDIR/acks.first.jsonl" "${chunks[0]}" 2>>"$IT_LOGDIR/producer.log" ||
    die "the first chunk failed before any fault"
start_consumer a
a=$CONSUMER_PID
wait_decided 500

# The producers go on through the fault, chunk after chunk, each with its
# acknowledgements logged; the exit code of each is kept.
(
    for c in "${chunks[@]:1}"; do
        rc=0
        produce --rate "$RATE" --acks-log "$c.acks.jsonl" "$c" 2>>"$IT_LOGDIR/producer.log" || rc=$?
        echo "$(basename "$c") $rc" >>"$IT_LOGDIR/producer-exits"
    done
) &
producers=$!
sleep 1

# The node leading the partition with the most orders so far.
busiest_leader() {
    local p
    p=$(kcat -C -b "$ORDERLINE_BROKERS" -t "$IT_ORDERS" -e -q -f '%p\n' | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 }')
    kcat -L -b "$ORDERLINE_BROKERS" -t "$IT_ORDERS" | awk -v p="$p" '$1 == "partition" && $2 == p"," { print $4; exit }' | tr -d ,
}

outage_producer_acked=-
case $SCENARIO in
    leader_kill)
        n=$(busiest_leader)
        log "kill -9 node $n, the leader of the busiest partition, at $(decided_count) decided"
        "$STACK" node "$n" kill >&2
        sleep 5
        "$STACK" node "$n" start >&2
        ;;
    pause)
        n=$(busiest_leader)
        log "SIGSTOP node $n for 12 s (past broker.session.timeout.ms) at $(decided_count) decided"
        "$STACK" node "$n" pause >&2
        sleep 12
        "$STACK" node "$n" resume >&2
        ;;
    two_down)
        kill -STOP $producers 2>/dev/null || true # the chunk loop waits; its producer keeps retrying
        log "kill -9 nodes 2 and 3 at $(decided_count) decided"
        "$STACK" node 2 kill >&2
        "$STACK" node 3 kill >&2
        before=$(decided_count)
        head -n 200 "${chunks[1]}" | sed 's/"order_id":"/"order_id":"outage-/' >"$IT_LOGDIR/outage.jsonl"
        rc=0
        produce -X message.timeout.ms=8000 --acks-log "$IT_LOGDIR/outage.acks.jsonl" "$IT_LOGDIR/outage.jsonl" \
            2>>"$IT_LOGDIR/producer.log" || rc=$?
        outage_producer_acked=$(grep -c '"error":null' "$IT_LOGDIR/outage.acks.jsonl" || true)
        log "a producer with one node of three: exit $rc, $outage_producer_acked of 200 acknowledged"
        [ $rc -eq 4 ] || die "with two of three nodes down, order-producer exited $rc (want 4: delivery failures)"
        [ "$outage_producer_acked" -eq 0 ] || die "$outage_producer_acked orders acknowledged with two of three nodes down"
        sleep 2
        stalled=$(decided_count)
        log "the consumer decided $((stalled - before)) orders during the outage"
        running "$a" || die "the consumer died during the outage"
        "$STACK" node 2 start >&2
        "$STACK" node 3 start >&2
        kill -CONT $producers 2>/dev/null || true
        ;;
    rolling)
        for n in 1 2 3; do
            log "controlled restart of node $n at $(decided_count) decided"
            "$STACK" node "$n" stop >&2
            sleep 2
            "$STACK" node "$n" start >&2
            sleep 2
        done
        ;;
    *) die "unknown SCENARIO '$SCENARIO'" ;;
esac

wait $producers
# Two of three down is an outage: a producer in the middle of it may report
# failures (exit 4); its acknowledged orders are still accounted for below.
# Every other fault leaves two in-sync replicas: nothing may fail.
while read -r chunk rc; do
    [ "$rc" -eq 0 ] || { [ "$SCENARIO" = two_down ] && [ "$rc" -eq 4 ]; } ||
        die "the producer of $chunk exited $rc through the $SCENARIO fault"
done <"$IT_LOGDIR/producer-exits"

# Caught up: every message of the orders topic decided (stored positions
# equal the ends of the log).
log_end() { kcat -C -b "$ORDERLINE_BROKERS" -t "$IT_ORDERS" -e -q -f '%p %o\n' |
    awk '{ if ($2 + 1 > end[$1]) end[$1] = $2 + 1 } END { for (p in end) s += end[p]; print s + 0 }'; }
want=$(log_end)
for ((i = 0; i < 1200; i++)); do
    [ "$(sql "SELECT coalesce(sum(next_offset), 0) FROM consumer_positions" 2>/dev/null || echo 0)" -ge "$want" ] && break
    sleep 0.1
done
[ "$i" -lt 1200 ] || die "the consumer did not catch up within 120 s after the $SCENARIO fault"
running "$a" || die "the consumer died during the $SCENARIO fault"
stop_consumer a
acks=("$IT_LOGDIR"/*acks*.jsonl)
check_invariants --expect-invalid 0 "${acks[@]/#/--acks-log=}"
echo "SUMMARY cluster.$SCENARIO: orders=$TOTAL decided=$(decided_count) outage_acked=$outage_producer_acked" \
     "consumer_restarts=0"

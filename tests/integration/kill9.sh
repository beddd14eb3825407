#!/usr/bin/env bash
# Guarantees 3 and 4 under crashes: kill -9 the consumer repeatedly while it
# works through 40,000 orders with duplicates and junk mixed in; afterwards
# every order_id has exactly one row, stock = restocks - accepted per item,
# nothing is negative, every message is answered and every junk message is in
# the DLQ. KILLS (default 8) sets how many times.
source "$(dirname "$0")/lib.sh"
it_setup kill9
KILLS=${KILLS:-8}
TOTAL=${TOTAL:-40000}

"$BUILD/order-producer" --generate "$TOTAL" --items 300 --seed 42 --restock-pct 12 --duplicate-pct 2 \
    >"$IT_LOGDIR/orders.jsonl"
# Interleave junk between chunks of valid orders: every kind of poison.
junk=0
split -l $((TOTAL / 8)) "$IT_LOGDIR/orders.jsonl" "$IT_LOGDIR/chunk."
for chunk in "$IT_LOGDIR"/chunk.*; do
    produce "$chunk" 2>>"$IT_LOGDIR/producer.log" || die "producer failed"
    {
        for i in $(seq 1 10); do
            echo "item-0000$((i % 10))|{\"order_id\":\"junk-$chunk-$i\",\"item\":\"item-0000$((i % 10))\",\"quantity\":0}"
            echo "item-0000$((i % 10))|not json at all $i"
            echo "item-0000$((i % 10))|{\"order_id\":\"junk-key-$chunk-$i\",\"item\":\"other\",\"quantity\":1}"
        done
    } | produce_raw
    junk=$((junk + 30))
done
log "published $TOTAL orders and $junk junk messages"

# Static membership: a restarted consumer takes its partitions back at once
# instead of waiting for the killed one's session to time out. Small batches
# keep it busy long enough to be killed mid-work many times.
STATIC=(-X group.instance.id=kill9 -X session.timeout.ms=6000)
distinct=$(grep -o '"order_id":"[^"]*"' "$IT_LOGDIR/orders.jsonl" | sort -u | wc -l)
kills=0
midwork=0
decided=0
while [ $kills -lt "$KILLS" ] || [ "$decided" -lt "$distinct" ]; do
    [ $kills -lt $((KILLS * 4)) ] || die "consumer made no progress through $kills restarts"
    "$BUILD/order-consumer" "${CONSUMER_ARGS[@]}" --batch-max 50 "${STATIC[@]}" >>"$IT_LOGDIR/consumer.log" 2>&1 &
    pid=$!
    sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.2 + (r % 50) / 100 }')"
    kill -9 $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    kills=$((kills + 1))
    before=$decided
    decided=$(sql "SELECT count(*) FROM orders")
    if [ "$decided" -gt "$before" ] && [ "$decided" -lt "$distinct" ]; then midwork=$((midwork + 1)); fi
    log "kill -9 #$kills: $decided of $distinct order_ids decided"
done
[ $midwork -ge 3 ] || die "only $midwork kills landed mid-work; the test proves too little"
consume_until_idle 3 "${STATIC[@]}"
decided=$(sql "SELECT count(*) FROM orders")
replayed=$(grep -o '[0-9]* re-answered after restart' "$IT_LOGDIR/consumer.log" | awk '{s += $1} END {print s + 0}')
log "after $kills kills ($midwork mid-work): $decided orders decided; $replayed answers re-published"
[ "$(sql "SELECT count(*) FROM inventories WHERE count < 0")" = 0 ] || die "negative stock"
check_invariants --expect-invalid "$junk"

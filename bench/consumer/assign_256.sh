#!/usr/bin/env bash
# How long a consumer takes to own 256 partitions, cold (no stored
# position) and warm (every partition stored), from its start to
# /metrics counting all 256 assigned. Usage (stack up, under the stack lock):
#   bench/consumer/assign_256.sh [CONSUMER_BINARY...]
# Each binary is measured in turn on the same topic and database, three
# times per case; the first is the baseline. Prints one line per run.
source "$(dirname "$0")/../../tests/integration/lib.sh"
IT_PARTITIONS=256
it_setup assign256
BINARIES=("${@:-$BUILD/order-consumer}")
RUNS=${RUNS:-3}

assigned() {
    curl -s "http://127.0.0.1:$1/metrics" 2>/dev/null |
        awk '/^orderline_partition_changes_total\{change="assigned"\}/ {print $2}'
}

# once BINARY DB GROUP: ms from start to 256 assigned; stops it.
once() {
    local bin=$1 db=$2 group=$3 port t0 t1 n pid
    port=$(free_port)
    t0=$(date +%s%N)
    "$bin" --db "$db" --orders-topic "$IT_ORDERS" --results-topic "$IT_RESULTS" --dlq-topic "$IT_DLQ" \
        --group "$group" --partitions 256 --metrics-addr "127.0.0.1:$port" >>"$IT_LOGDIR/consumer.log" 2>&1 &
    pid=$!
    for _ in $(seq 1200); do
        n=$(assigned "$port")
        [ "${n:-0}" -ge 256 ] && break
        sleep 0.05
    done
    t1=$(date +%s%N)
    kill -TERM $pid
    wait $pid || true
    [ "${n:-0}" -ge 256 ] || die "$bin: only ${n:-0} of 256 partitions assigned after 60 s"
    echo $(((t1 - t0) / 1000000))
}

# The topic, with one order in every partition (kcat, keys spread by murmur2).
"$BUILD/order-consumer" "${CONSUMER_ARGS[@]}" --idle-exit 1 >"$IT_LOGDIR/create.log" 2>&1 || true
for i in $(seq 0 2047); do echo "k$i:{\"order_id\":\"r$i\",\"type\":\"restock\",\"item\":\"k$i\",\"quantity\":1}"; done |
    kcat -b "$ORDERLINE_BROKERS" -P -t "$IT_ORDERS" -K: -z none 2>>"$IT_LOGDIR/kcat.log"

for bin in "${BINARIES[@]}"; do
    cold=() warm=()
    for r in $(seq "$RUNS"); do
        db="$IT_DB"
        dbname="${IT_DBNAME}_c$r$RANDOM"
        psql "$ORDERLINE_DB" -X -q -c "CREATE DATABASE $dbname" >/dev/null
        cold+=("$(once "$bin" "$ORDERLINE_DB dbname=$dbname" "g.cold.$r.$RANDOM")")
        # Decide everything once, so every partition has a stored position.
        "$bin" --db "$ORDERLINE_DB dbname=$dbname" --orders-topic "$IT_ORDERS" --results-topic "$IT_RESULTS" \
            --dlq-topic "$IT_DLQ" --group "g.fill.$r.$RANDOM" --idle-exit 2 >>"$IT_LOGDIR/fill.log" 2>&1
        stored=$(psql "$ORDERLINE_DB dbname=$dbname" -X -A -t -c "SELECT count(*) FROM consumer_positions WHERE topic = '$IT_ORDERS'")
        [ "$stored" = 256 ] || die "$stored of 256 partitions stored after the fill"
        warm+=("$(once "$bin" "$ORDERLINE_DB dbname=$dbname" "g.warm.$r.$RANDOM")")
        psql "$ORDERLINE_DB" -X -q -c "DROP DATABASE $dbname" >/dev/null
    done
    printf '%s: cold %s ms, warm %s ms (start to 256 assigned; %d runs)\n' "$bin" "${cold[*]}" "${warm[*]}" "$RUNS"
done

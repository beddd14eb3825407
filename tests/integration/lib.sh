# Shared helpers for the integration tests. Each test gets its own database
# and its own topics on the embedded stack, so tests never see each other.
set -euo pipefail

IT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD_DIR:-$IT_ROOT/build}
: "${ORDERLINE_BROKERS:?run under scripts/test or eval \"\$(scripts/stack env)\" first}"
: "${ORDERLINE_DB:?run under scripts/test or eval \"\$(scripts/stack env)\" first}"

log() { printf '[%s %s] %s\n' "$(date +%H:%M:%S)" "$IT_NAME" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

# it_setup NAME: fresh database and topic names for this test.
it_setup() {
    IT_NAME=$1
    local tag="${1//-/_}_$$_$RANDOM"
    IT_DBNAME="it_$tag"
    psql "$ORDERLINE_DB" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $IT_DBNAME" >/dev/null
    # Later keywords win in a libpq conninfo.
    IT_DB="$ORDERLINE_DB dbname=$IT_DBNAME"
    IT_ORDERS="it.$tag.orders"
    IT_RESULTS="it.$tag.results"
    IT_DLQ="it.$tag.dlq"
    IT_GROUP="it.$tag"
    IT_LOGDIR=$(mktemp -d "/tmp/orderline-it-$1.XXXXXX")
    TOPIC_ARGS=(--orders-topic "$IT_ORDERS")
    CONSUMER_ARGS=(--db "$IT_DB" --orders-topic "$IT_ORDERS" --results-topic "$IT_RESULTS" --dlq-topic "$IT_DLQ"
                   --group "$IT_GROUP" --partitions "${IT_PARTITIONS:-4}")
    trap it_cleanup EXIT
    log "db $IT_DBNAME, topics it.$tag.*, logs $IT_LOGDIR"
}

it_cleanup() {
    local rc=$?
    jobs -p | xargs -r kill -9 2>/dev/null || true
    wait 2>/dev/null || true
    if [ $rc -eq 0 ] && [ -z "${KEEP_LOGS:-}" ]; then
        psql "$ORDERLINE_DB" -X -q -c "DROP DATABASE IF EXISTS $IT_DBNAME" >/dev/null 2>&1 || true
        rm -rf "$IT_LOGDIR"
    else
        log "kept database $IT_DBNAME and logs in $IT_LOGDIR"
        for f in "$IT_LOGDIR"/*.log; do
            [ -f "$f" ] || continue
            echo "---- last lines of $f" >&2
            tail -n 25 "$f" >&2
        done
    fi
    exit $rc
}

sql() { psql "$IT_DB" -X -A -t -v ON_ERROR_STOP=1 -c "$1"; }

# Publishes JSON lines from stdin through order-producer.
produce() { "$BUILD/order-producer" "${TOPIC_ARGS[@]}" --partitions "${IT_PARTITIONS:-4}" "$@"; }

# Publishes raw lines "key|value" (no validation) to the orders topic, for junk.
produce_raw() { kcat -P -b "$ORDERLINE_BROKERS" -t "$IT_ORDERS" -K '|' -X partitioner=murmur2_random; }

# Runs the consumer until it has been idle for $1 seconds.
consume_until_idle() {
    local idle=$1; shift
    "$BUILD/order-consumer" "${CONSUMER_ARGS[@]}" --idle-exit "$idle" "$@" >>"$IT_LOGDIR/consumer.log" 2>&1
}

check_invariants() {
    python3 "$IT_ROOT/tests/integration/check_invariants.py" --brokers "$ORDERLINE_BROKERS" --db "$IT_DB" \
        --orders-topic "$IT_ORDERS" --results-topic "$IT_RESULTS" --dlq-topic "$IT_DLQ" "$@"
}

# Prints the results topic as JSON values, one per line.
results_json() { kcat -C -b "$ORDERLINE_BROKERS" -t "$IT_RESULTS" -e -q -f '%s\n'; }

# publish_workload N ITEMS SEED: N generated orders (restocks, duplicates)
# in 8 chunks with 30 junk messages of three kinds after each chunk. Sets
# WORKLOAD_JUNK and WORKLOAD_DISTINCT (distinct order_ids).
publish_workload() {
    local total=$1 items=$2 seed=$3 chunk
    "$BUILD/order-producer" --generate "$total" --items "$items" --seed "$seed" --restock-pct 12 \
        --duplicate-pct 2 >"$IT_LOGDIR/orders.jsonl"
    WORKLOAD_DISTINCT=$(grep -o '"order_id":"[^"]*"' "$IT_LOGDIR/orders.jsonl" | sort -u | wc -l)
    WORKLOAD_JUNK=0
    split -l $(((total + 7) / 8)) "$IT_LOGDIR/orders.jsonl" "$IT_LOGDIR/chunk."
    for chunk in "$IT_LOGDIR"/chunk.*; do
        produce "$chunk" 2>>"$IT_LOGDIR/producer.log" || die "producer failed on $chunk"
        local c=${chunk##*.} i
        for i in $(seq 1 10); do
            echo "item-0000$((i % 10))|{\"order_id\":\"junk-$c-$i\",\"item\":\"item-0000$((i % 10))\",\"quantity\":0}"
            echo "item-0000$((i % 10))|not json at all $c $i"
            echo "item-0000$((i % 10))|{\"order_id\":\"junk-key-$c-$i\",\"item\":\"other\",\"quantity\":1}"
        done | produce_raw
        WORKLOAD_JUNK=$((WORKLOAD_JUNK + 30))
    done
    log "published $total orders ($WORKLOAD_DISTINCT distinct order_ids) and $WORKLOAD_JUNK junk messages"
}

# Starts a consumer in the background with a log of its own; its pid is
# left in CONSUMER_PID (not printed: a $(...) subshell would own the child).
start_consumer() {
    local name=$1; shift
    "$BUILD/order-consumer" "${CONSUMER_ARGS[@]}" "$@" >>"$IT_LOGDIR/consumer-$name.log" 2>&1 &
    CONSUMER_PID=$!
}

# Waits until consumer NAME has logged a partition assignment.
wait_assigned() {
    local name=$1 i
    for ((i = 0; i < 600; i++)); do
        grep -q ' assigned ' "$IT_LOGDIR/consumer-$name.log" 2>/dev/null && return 0
        sleep 0.1
    done
    die "consumer $name got no partition within 60 s"
}

# 0 until the consumer has created the schema.
decided_count() { sql "SELECT count(*) FROM orders" 2>/dev/null || echo 0; }

# Waits until at least $1 order_ids are decided (bounded by $2 seconds).
wait_decided() {
    local want=$1 limit=${2:-60} i
    for ((i = 0; i < limit * 10; i++)); do
        [ "$(decided_count)" -ge "$want" ] && return 0
        sleep 0.1
    done
    die "only $(decided_count) of $want order_ids decided after ${limit}s"
}

# Sums a counter from the consumers' final stats lines ("N <label>").
stat_sum() { cat "$IT_LOGDIR"/consumer*.log | grep "final:" | grep -o "[0-9]* $1" | awk '{s += $1} END {print s + 0}'; }

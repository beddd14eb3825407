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
    IT_CARTS="it.$tag.carts"
    IT_LOGDIR=$(mktemp -d "/tmp/orderline-it-$1.XXXXXX")
    TOPIC_ARGS=(--orders-topic "$IT_ORDERS")
    CONSUMER_ARGS=(--db "$IT_DB" --orders-topic "$IT_ORDERS" --results-topic "$IT_RESULTS" --dlq-topic "$IT_DLQ"
                   --group "$IT_GROUP" --partitions "${IT_PARTITIONS:-4}")
    CARTS_ARGS=(--db "$IT_DB" --orders-topic "$IT_ORDERS" --results-topic "$IT_RESULTS" --carts-topic "$IT_CARTS"
                --group "$IT_GROUP.carts" --partitions "${IT_PARTITIONS:-4}" --expire-interval-ms 200)
    trap it_cleanup EXIT
    log "db $IT_DBNAME, topics it.$tag.*, logs $IT_LOGDIR"
}

it_cleanup() {
    local rc=$?
    jobs -p | xargs -r kill -9 2>/dev/null || true
    wait 2>/dev/null || true
    if [ $rc -eq 0 ] && [ -z "${KEEP_LOGS:-}" ]; then
        psql "$ORDERLINE_DB" -X -q -c "DROP DATABASE IF EXISTS $IT_DBNAME" >/dev/null 2>&1 || true
        # A long-lived stack kept every test's topics (GBs of partitions).
        "$IT_ROOT/scripts/stack" delete-topics "${IT_GROUP//./\\.}\\..*" >/dev/null 2>&1 || true
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

# Runs a consumer in the foreground until it has been idle for $1 seconds;
# dies unless it stops cleanly. Its stats file is left in LAST_STATS.
IT_IDLE_RUNS=0
consume_until_idle() {
    local idle=$1; shift
    IT_IDLE_RUNS=$((IT_IDLE_RUNS + 1))
    start_consumer "idle$IT_IDLE_RUNS" --idle-exit "$idle" "$@"
    wait_consumer "idle$IT_IDLE_RUNS"
    LAST_STATS=${CONSUMER_STATS[idle$IT_IDLE_RUNS]}
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

# ---- consumers and their facts
# Scripts read what a consumer did from its counters, never from its log's
# sentences. Every consumer started here writes them at exit (--stats-file,
# Prometheus text, the same as /metrics) to CONSUMER_STATS[NAME], and serves
# them live at CONSUMER_URL[NAME] (--metrics-addr on a free loopback port).
# A consumer killed with -9 writes no stats file.
declare -A CONSUMER_PIDS=() CONSUMER_STATS=() CONSUMER_URL=()
IT_PORTS=()

# A free loopback port, below the ephemeral range (32768+) where client
# connections (Kafka, PostgreSQL) could take it between this check and the
# bind, and above the ports the gateway tests pick (20000-29999).
free_port() {
    python3 - "${IT_PORTS[@]}" <<'PY'
import random, socket, sys
taken = set(sys.argv[1:])
for _ in range(500):
    p = random.randint(30000, 32700)
    if str(p) in taken:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        print(p)
        sys.exit(0)
    except OSError:
        pass
    finally:
        s.close()
sys.exit(1)
PY
}

# wait_http URL PID [SECONDS]: until URL answers 2xx (at most SECONDS,
# default 30); dies if PID exits first.
wait_http() {
    local i limit=${3:-30}
    for ((i = 0; i < limit * 10; i++)); do
        curl -sf -o /dev/null "$1" && return 0
        kill -0 "$2" 2>/dev/null || die "$1: the process exited at start"
        sleep 0.1
    done
    die "$1 did not answer within $limit s"
}

# Starts consumer NAME in the background with a log, a stats file and a
# /metrics of its own (a --metrics-addr among ARGS is used instead of a free
# port); its pid is left in CONSUMER_PID and CONSUMER_PIDS[NAME] (not
# printed: a $(...) subshell would own the child).
start_consumer() {
    local name=$1 addr= prev= a; shift
    for a; do
        [ "$prev" = --metrics-addr ] && addr=$a
        case $a in --metrics-addr=*) addr=${a#*=} ;; esac
        prev=$a
    done
    local extra=(--stats-file "$IT_LOGDIR/stats-$name.prom")
    if [ -z "$addr" ]; then
        local port
        port=$(free_port) || die "no free port for consumer $name"
        IT_PORTS+=("$port")
        addr=127.0.0.1:$port
        extra+=(--metrics-addr "$addr")
    fi
    CONSUMER_STATS[$name]=$IT_LOGDIR/stats-$name.prom
    CONSUMER_URL[$name]=http://$addr
    rm -f "${CONSUMER_STATS[$name]}"
    "$BUILD/order-consumer" "${CONSUMER_ARGS[@]}" "${extra[@]}" "$@" >>"$IT_LOGDIR/consumer-$name.log" 2>&1 &
    CONSUMER_PID=$!
    CONSUMER_PIDS[$name]=$!
}

# proc_state PID: the process's state letter (R, S, T for stopped, Z for
# exited but not yet waited for), empty once it is gone.
proc_state() { sed -E 's/^[0-9]+ \(.*\) (.).*/\1/' "/proc/$1/stat" 2>/dev/null || true; }
# running PID: true while the process has not exited.
running() { local st; st=$(proc_state "$1"); [ -n "$st" ] && [ "$st" != Z ]; }

# wait_consumer NAME [LIMIT_S]: waits for consumer NAME to exit by itself
# (--idle-exit, or after stop_consumer's signal), at most LIMIT_S seconds
# (default 300, then it is killed); dies unless it stopped cleanly: exit
# status 0 and its stats file written.
wait_consumer() {
    local name=$1 limit=${2:-300} pid i rc=0
    pid=${CONSUMER_PIDS[$name]:?no consumer named $1}
    for ((i = 0; i < limit * 10; i++)); do
        running "$pid" || break
        sleep 0.1
    done
    if running "$pid"; then
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        die "consumer $name did not exit within ${limit}s"
    fi
    wait "$pid" || rc=$?
    [ $rc -eq 0 ] || die "consumer $name exited $rc"
    [ -s "${CONSUMER_STATS[$name]}" ] || die "consumer $name exited 0 but wrote no stats file"
}

# stop_consumer NAME...: SIGTERM to each, then waits for each (at most
# STOP_TIMEOUT seconds, default 30) and dies unless each stopped cleanly.
stop_consumer() {
    local name
    for name; do
        kill -TERM "${CONSUMER_PIDS[$name]:?no consumer named $name}" 2>/dev/null ||
            die "consumer $name was gone before its SIGTERM"
    done
    for name; do wait_consumer "$name" "${STOP_TIMEOUT:-30}"; done
}

# scrape SOURCE: the Prometheus text of a stats file, or of a consumer's
# /metrics given its base URL (http://HOST:PORT).
scrape() {
    case $1 in
        http://*) curl -sf -m 5 "$1/metrics" ;;
        *) cat "$1" ;;
    esac
}

# counter 'NAME[{LABEL="VALUE",...}]' SOURCE...: the sum of metric NAME over
# its label sets (only those with every label given) in every SOURCE (stats
# files or consumer URLs, see scrape). Fails, saying why on stderr, if a
# source cannot be read or has no such series: a renamed counter fails a
# check instead of reading as 0.
counter() {
    local spec=$1 name filter= src text= chunk; shift
    name=${spec%%\{*}
    if [[ $spec == *\{* ]]; then filter=${spec#*\{}; filter=${filter%\}}; fi
    [ $# -gt 0 ] || { log "FAIL: counter $spec: no source"; return 1; }
    for src; do
        chunk=$(scrape "$src") || { log "FAIL: counter $spec: cannot read $src"; return 1; }
        text+=$chunk$'\n# end of source\n'
    done
    awk -v name="$name" -v filter="$filter" '
        BEGIN { nwant = split(filter, want, ",") }
        /^# end of source$/ { if (!hit) missing = 1; hit = 0; next }
        /^#/ || NF < 2 { next }
        {
            base = $1; labels = ""
            if ((i = index($1, "{")) > 0) { base = substr($1, 1, i - 1); labels = "," substr($1, i + 1, length($1) - i - 1) "," }
            if (base != name) next
            for (k = 1; k <= nwant; k++) if (index(labels, "," want[k] ",") == 0) next
            hit = 1; sum += $2
        }
        END { if (missing) exit 1; if (sum == int(sum)) printf "%d\n", sum; else print sum }' <<<"$text" ||
        { log "FAIL: counter $spec: no such series in $*"; return 1; }
}

# The partitions consumer NAME has been assigned so far (live); 0 while its
# /metrics does not answer yet.
assigned_count() { counter 'orderline_partition_changes_total{change="assigned"}' "${CONSUMER_URL[$1]}" 2>/dev/null || echo 0; }

# Waits until consumer NAME has been assigned a partition.
wait_assigned() {
    local name=$1 i
    for ((i = 0; i < 600; i++)); do
        [ "$(assigned_count "$name")" -gt 0 ] && return 0
        running "${CONSUMER_PIDS[$name]}" || die "consumer $name exited before any partition was assigned"
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

# stat_sum NAME: counter NAME summed over the stats files of every consumer
# of this test that has exited (one killed with -9 wrote none).
stat_sum() { counter "$1" "$IT_LOGDIR"/stats-*.prom; }

# ---- gateways
# start_gateway_named NAME ARGS...: order-gateway on this test's database
# and topics, with /metrics and /healthz on a free loopback port of its own
# (GATEWAY_METRICS[NAME], http://HOST:PORT); waits until /healthz answers
# 200 and dies if it exits first. Its pid is left in GATEWAY_PID and
# GATEWAY_PIDS[NAME]; its log is gateway-NAME.log.
declare -A GATEWAY_PIDS=() GATEWAY_METRICS=()
start_gateway_named() {
    local name=$1 port i; shift
    port=$(free_port) || die "no free port for gateway $name"
    IT_PORTS+=("$port")
    GATEWAY_METRICS[$name]=http://127.0.0.1:$port
    "$BUILD/order-gateway" --db "$IT_DB" --orders-topic "$IT_ORDERS" --results-topic "$IT_RESULTS" \
        --partitions "${IT_PARTITIONS:-4}" --metrics-addr "127.0.0.1:$port" "$@" >>"$IT_LOGDIR/gateway-$name.log" 2>&1 &
    GATEWAY_PID=$!
    GATEWAY_PIDS[$name]=$!
    for ((i = 0; i < 300; i++)); do
        curl -sf -o /dev/null "${GATEWAY_METRICS[$name]}/healthz" && return 0
        running "$GATEWAY_PID" || die "gateway $name exited at start"
        sleep 0.1
    done
    die "gateway $name did not answer /healthz within 30 s"
}

# stop_gateway NAME: SIGTERM, and dies unless it exits 0.
stop_gateway() {
    local pid=${GATEWAY_PIDS[$1]:?no gateway named $1} rc=0
    kill -TERM "$pid" 2>/dev/null || die "gateway $1 was gone before its SIGTERM"
    wait "$pid" || rc=$?
    [ $rc -eq 0 ] || die "gateway $1 exited $rc"
}

# The orders topic as "HEADERS|VALUE" lines (kcat's %h: n=v CSV, empty when none).
orders_with_headers() { kcat -C -b "$ORDERLINE_BROKERS" -t "$IT_ORDERS" -e -q -f '%h|%s\n' 2>/dev/null; }

# Starts the cart coordinator NAME in the background (order-carts, with
# CARTS_ARGS and a stats file); its pid is in CARTS_PIDS[NAME].
declare -A CARTS_PIDS=()
start_carts() {
    local name=$1
    shift
    "$BUILD/order-carts" "${CARTS_ARGS[@]}" --stats-file "$IT_LOGDIR/carts-$name.prom" "$@" \
        >>"$IT_LOGDIR/carts-$name.log" 2>&1 &
    CARTS_PIDS[$name]=$!
}
# stop_carts NAME: SIGTERM, and dies unless it stops cleanly within 30 s.
stop_carts() {
    local pid=${CARTS_PIDS[$1]:?no coordinator named $1} i rc=0
    kill -TERM "$pid" 2>/dev/null || die "coordinator $1 was gone before its SIGTERM"
    for ((i = 0; i < 300; i++)); do running "$pid" || break; sleep 0.1; done
    running "$pid" && die "coordinator $1 did not stop within 30 s"
    wait "$pid" || rc=$?
    [ $rc -eq 0 ] || die "coordinator $1 exited $rc"
}
# produce_carts: raw lines "key|value" from stdin to the carts topic.
produce_carts() { kcat -P -b "$ORDERLINE_BROKERS" -t "$IT_CARTS" -K '|' -X partitioner=murmur2_random; }
# cart_answers: every answer on the results topic that names a cart (JSON lines).
cart_answers() { kcat -C -b "$ORDERLINE_BROKERS" -t "$IT_RESULTS" -e -q -f '%s\n' 2>/dev/null | grep '"topic":"carts"' || true; }

#!/usr/bin/env bash
# order-audit's peak RSS and time over one big decided log (not part of CI).
#
#   bench/audit/rss.sh [--orders N] [--items K] [--seed S] [--drop] BUILD_DIR [BUILD_DIR...]
#
# Prepares the log once, and reuses it when it is already there: N orders
# from order-producer --generate (K items, zipf-popular; 8% restocks, 1%
# duplicates, as bench/run), preloaded by kcat (an independent producer,
# murmur2 keyed by item) into bench.audit.orders.N.K.S, 8 partitions, then
# decided by the first BUILD_DIR's order-consumer into the database
# bench_audit_N_K_S, its answers on bench.audit.results.N.K.S. Then each
# BUILD_DIR's order-audit reads that same log and ledger under
# /usr/bin/time -v: the table shows its exit code, peak RSS and wall time.
# --drop deletes the topics and the database at the end. ORDERLINE_BROKERS
# and ORDERLINE_DB, when both set, are used instead of scripts/stack env's.
#
# Heavy (on the 2-vCPU VM a 10M log took 100 s to generate and preload and
# 100 s for order-consumer to decide; each audit 1.5 to 3 min): run it
# under flock /tmp/orderline-heavy.lock.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$ROOT"
ORDERS=10000000 ITEMS=10000 SEED=2026 DROP=0 BUILDS=()
while [ $# -gt 0 ]; do
    case $1 in
        --orders) ORDERS=$2; shift ;;
        --items) ITEMS=$2; shift ;;
        --seed) SEED=$2; shift ;;
        --drop) DROP=1 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        -*) echo "rss.sh: unknown option $1" >&2; exit 2 ;;
        *) BUILDS+=("$1") ;;
    esac
    shift
done
[ ${#BUILDS[@]} -gt 0 ] || { echo "rss.sh: name at least one build directory" >&2; exit 2; }
for b in "${BUILDS[@]}"; do
    [ -x "$b/order-audit" ] && [ -x "$b/order-consumer" ] || { echo "rss.sh: $b has no order-audit/order-consumer" >&2; exit 2; }
done
# The stack's settings, unless the caller gave its own.
[ -n "${ORDERLINE_BROKERS:-}" ] && [ -n "${ORDERLINE_DB:-}" ] || eval "$(scripts/stack env)"
say() { printf '[rss %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
TOPIC="bench.audit.orders.$ORDERS.$ITEMS.$SEED" RESULTS="bench.audit.results.$ORDERS.$ITEMS.$SEED"
DB="bench_audit_${ORDERS}_${ITEMS}_${SEED}"
WORK=$(mktemp -d /tmp/orderline-rss.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
pg() { PGOPTIONS=--client-min-messages=warning psql "$ORDERLINE_DB" -X -A -t -v ON_ERROR_STOP=1 -c "$1"; }
count_topic() {
    local total=0 part o
    for part in $(kcat -L -b "$ORDERLINE_BROKERS" -t "$1" 2>/dev/null | sed -n 's/.*partition \([0-9]*\),.*/\1/p'); do
        o=$(kcat -C -b "$ORDERLINE_BROKERS" -t "$1" -p "$part" -o -1 -e -q -f '%o\n' 2>/dev/null | tail -n 1)
        total=$((total + ${o:--1} + 1))
    done
    echo $total
}
# Offsets the consumer has decided, summed over the partitions (0 without the database).
decided() {
    psql "$ORDERLINE_DB dbname=$DB" -X -A -t -c \
        "SELECT coalesce(sum(next_offset), 0) FROM consumer_positions WHERE topic = '$TOPIC'" 2>/dev/null || echo 0
}

if [ "$(count_topic "$TOPIC")" -ne "$ORDERS" ]; then
    scripts/stack delete-topics "^${TOPIC//./\\.}\$" >/dev/null 2>&1 || true
    pg "DROP DATABASE IF EXISTS $DB" >/dev/null
    say "generating $ORDERS orders over $ITEMS items (seed $SEED), preloading $TOPIC with kcat"
    "${BUILDS[0]}/order-producer" --generate "$ORDERS" --items "$ITEMS" --seed "$SEED" --restock-pct 8 \
        --duplicate-pct 1 >"$WORK/orders.jsonl"
    scripts/stack topic "$TOPIC" 8 message.timestamp.type=LogAppendTime >/dev/null
    sed -E 's/^(.*"item":"([^"]*)".*)$/\2\t\1/' "$WORK/orders.jsonl" |
        kcat -P -l -b "$ORDERLINE_BROKERS" -t "$TOPIC" -K $'\t' -X partitioner=murmur2_random \
            -X enable.idempotence=true -X acks=all
    rm -f "$WORK/orders.jsonl"
    [ "$(count_topic "$TOPIC")" -eq "$ORDERS" ] || { echo "rss.sh: $TOPIC does not hold $ORDERS orders" >&2; exit 1; }
fi
if [ "$(decided)" -ne "$ORDERS" ]; then
    [ -n "$(pg "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ] || pg "CREATE DATABASE $DB" >/dev/null
    scripts/stack topic "$RESULTS" 8 message.timestamp.type=LogAppendTime >/dev/null
    say "order-consumer (${BUILDS[0]}) deciding $TOPIC into $DB"
    t0=$EPOCHREALTIME
    "${BUILDS[0]}/order-consumer" --db "$ORDERLINE_DB dbname=$DB" --orders-topic "$TOPIC" --results-topic "$RESULTS" \
        --dlq-topic "bench.audit.dlq.$ORDERS.$ITEMS.$SEED" --group "bench.audit.$ORDERS.$ITEMS.$SEED" --idle-exit 5 \
        >"$WORK/consumer.log" 2>&1 || { tail -n 20 "$WORK/consumer.log" >&2; exit 1; }
    say "decided in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f", b-a}') s"
    [ "$(decided)" -eq "$ORDERS" ] || { echo "rss.sh: the consumer decided $(decided) of $ORDERS" >&2; exit 1; }
fi
say "largest results partition: $(kcat -L -b "$ORDERLINE_BROKERS" -t "$RESULTS" >/dev/null 2>&1; for p in 0 1 2 3 4 5 6 7; do
    kcat -C -b "$ORDERLINE_BROKERS" -t "$RESULTS" -p $p -o -1 -e -q -f '%o\n' 2>/dev/null | tail -n 1; done | sort -n | tail -n 1) offsets"

printf '%-40s %5s %12s %10s  %s\n' build exit "peak RSS MB" "wall s" "order-audit's own line"
for b in "${BUILDS[@]}"; do
    rc=0
    /usr/bin/time -v "$b/order-audit" --db "$ORDERLINE_DB dbname=$DB" --orders-topic "$TOPIC" \
        --results-topic "$RESULTS" --no-progress >"$WORK/audit.out" 2>"$WORK/audit.err" || rc=$?
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$WORK/audit.err")
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$WORK/audit.err" |
        awk -F: '{s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.1f", s}')
    line=$(grep -o 'replayed [0-9]* messages.*' "$WORK/audit.err" | tail -n 1)
    printf '%-40s %5s %12.1f %10s  %s\n' "$b" "$rc" "$(awk -v k="$rss" 'BEGIN{print k/1024}')" "$wall" "$line"
    [ "$rc" -eq 0 ] || { head -n 5 "$WORK/audit.out"; grep -v 'replayed' "$WORK/audit.err" | head -n 5; } >&2
done

if [ $DROP -eq 1 ]; then
    scripts/stack delete-topics "^bench\\.audit\\..*\\.$ORDERS\\.$ITEMS\\.$SEED\$" >/dev/null 2>&1 || true
    pg "DROP DATABASE IF EXISTS $DB" >/dev/null
fi

#!/usr/bin/env bash
# --log-format json on every tool: each runs on the real stack in a way that
# logs several lines (warnings and errors included), and every line of its
# stderr must be one JSON object with time (RFC 3339, UTC, ms), level, tool
# and message; the fields that matter are keys of their own: the
# producer's bad lines name source, line and field, the readers' undecodable
# messages partition and offset. The config-file warning comes before the
# flags are applied and is JSON too, and so are usage errors.
source "$(dirname "$0")/lib.sh"
IT_PARTITIONS=2
it_setup json_logs
JSON=(--log-format json)

# check_json FILE TOOL MIN_LINES: every line of FILE is a JSON log line of
# TOOL, and there are at least MIN_LINES of them.
check_json() {
    python3 - "$@" <<'PY' || die "$1: not every line is a JSON log line of $2"
import json, re, sys
path, tool, least = sys.argv[1], sys.argv[2], int(sys.argv[3])
stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
lines = open(path, "rb").read().split(b"\n")
if lines and lines[-1] == b"":
    lines.pop()
else:
    sys.exit(f"{path}: the last line has no newline")
for n, raw in enumerate(lines, 1):
    try:
        rec = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        sys.exit(f"{path}:{n}: {e}: {raw[:200]!r}")
    if not isinstance(rec, dict):
        sys.exit(f"{path}:{n}: not an object")
    for key in ("time", "level", "tool", "message"):
        if not isinstance(rec.get(key), str):
            sys.exit(f"{path}:{n}: no string {key}: {rec}")
    if not stamp.match(rec["time"]) or rec["level"] not in ("error", "warn", "info", "debug"):
        sys.exit(f"{path}:{n}: bad time or level: {rec}")
    if rec["tool"] != tool:
        sys.exit(f"{path}:{n}: tool {rec['tool']!r}, want {tool!r}")
if len(lines) < least:
    sys.exit(f"{path}: {len(lines)} lines, want at least {least}")
print(f"{path}: {len(lines)} JSON lines", file=sys.stderr)
PY
}

# has_record FILE PYTHON-PREDICATE: some line's record r satisfies it.
has_record() {
    python3 -c "
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if any($2 for r in recs) else 1)" "$1" || die "$1: no record with $2"
}

# ---- order-producer: bad lines, and a config file others may read
"$BUILD/order-producer" --generate 300 --items 20 --seed 5 >"$IT_LOGDIR/orders.jsonl"
printf '%s\n' '{"order_id":"bad-1","item":"x","quantity":"three"}' 'not json' \
    '{"order_id":"bad-\u0007\"2","item":"x","quantity":-1}' >>"$IT_LOGDIR/orders.jsonl"
conf=$IT_LOGDIR/open.conf
echo "linger.ms=5" >"$conf"
chmod 644 "$conf"
rc=0
produce "${JSON[@]}" --config "$conf" "$IT_LOGDIR/orders.jsonl" >"$IT_LOGDIR/producer.out" 2>"$IT_LOGDIR/producer.err" || rc=$?
[ $rc = 3 ] || die "producer exited $rc, want 3 (invalid lines)"
check_json "$IT_LOGDIR/producer.err" order-producer 5
has_record "$IT_LOGDIR/producer.err" "r.get('line') == 301 and r.get('field') == 'quantity' and r.get('order_id') == 'bad-1' and r['level'] == 'error'"
has_record "$IT_LOGDIR/producer.err" "r.get('line') == 302 and r.get('source', '').endswith('orders.jsonl')"
has_record "$IT_LOGDIR/producer.err" "r.get('line') == 303 and r.get('order_id') == 'bad-\x07\"2'"
has_record "$IT_LOGDIR/producer.err" "r['level'] == 'warn' and 'open.conf' in r['message']"
[ ! -s "$IT_LOGDIR/producer.out" ] || die "the producer wrote to stdout"

# ---- order-consumer: decides them, and junk on the orders topic
{
    echo "x|not json at all"
    echo 'item-00001|{"order_id":"k-1","item":"other","quantity":1}'
} | produce_raw
"$BUILD/order-consumer" "${CONSUMER_ARGS[@]}" "${JSON[@]}" --idle-exit 2 >"$IT_LOGDIR/consumer.out" 2>"$IT_LOGDIR/consumer.err" ||
    die "consumer exited $?"
check_json "$IT_LOGDIR/consumer.err" order-consumer 3
has_record "$IT_LOGDIR/consumer.err" "r.get('partition') == 1 and isinstance(r.get('offset'), int)"
[ "$(sql "SELECT count(*) FROM orders")" -gt 0 ] || die "the consumer decided nothing"

# ---- order-results --summary over a topic with a message that is not a result
echo "not a result" | kcat -P -b "$ORDERLINE_BROKERS" -t "$IT_RESULTS" -p 0
"$BUILD/order-results" --results-topic "$IT_RESULTS" --summary "${JSON[@]}" --format json \
    >"$IT_LOGDIR/summary.json" 2>"$IT_LOGDIR/results.err" || die "order-results exited $?"
jq -e .total "$IT_LOGDIR/summary.json" >/dev/null || die "the summary on stdout is not JSON"
check_json "$IT_LOGDIR/results.err" order-results 1
has_record "$IT_LOGDIR/results.err" "r['level'] == 'warn' and r.get('partition') == 0 and isinstance(r.get('offset'), int)"

# ---- order-audit: the same message on the results topic, and its summary line
rc=0
"$BUILD/order-audit" --db "$IT_DB" --orders-topic "$IT_ORDERS" --results-topic "$IT_RESULTS" "${JSON[@]}" \
    >"$IT_LOGDIR/audit.out" 2>"$IT_LOGDIR/audit.err" || rc=$?
[ $rc = 0 ] || [ $rc = 1 ] || die "order-audit exited $rc"
check_json "$IT_LOGDIR/audit.err" order-audit 2
has_record "$IT_LOGDIR/audit.err" "r['level'] == 'warn' and r.get('partition') == 0 and isinstance(r.get('offset'), int)"

# ---- order-gateway: start, an order, a stop
port=$(free_port) || die "no free port for the gateway"
IT_PORTS+=("$port")
start_gateway_named gw "${JSON[@]}" --listen "127.0.0.1:$port"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/orders" -H 'Content-Type: application/json' \
    -H 'Prefer: wait=1' -d '{"order_id":"gw-1","item":"item-00001","quantity":1}')
[ "$code" = 202 ] || die "POST /orders answered $code without a consumer, want 202"
stop_gateway gw
check_json "$IT_LOGDIR/gateway-gw.log" order-gateway 3

# ---- usage errors, before and after the settings are read
for tool in consumer gateway producer results audit; do
    rc=0
    "$BUILD/order-$tool" "${JSON[@]}" --no-such-flag 2>"$IT_LOGDIR/usage-$tool.err" || rc=$?
    [ $rc = 2 ] || die "order-$tool --no-such-flag exited $rc"
    check_json "$IT_LOGDIR/usage-$tool.err" "order-$tool" 1
    has_record "$IT_LOGDIR/usage-$tool.err" "r['level'] == 'error'"
done
rc=0
ORDERLINE_LOG_FORMAT=json "$BUILD/order-audit" --since nonsense 2>"$IT_LOGDIR/env.err" || rc=$?
[ $rc = 2 ] || die "order-audit --since nonsense exited $rc"
check_json "$IT_LOGDIR/env.err" order-audit 1
log "every stderr line of every tool is a JSON log line"

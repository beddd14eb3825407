#!/usr/bin/env bash
# The tools' command-line contract: --help, clear errors for bad flags,
# exit codes, config layering, line-numbered validation errors, and no
# password in any error output.
source "$(dirname "$0")/lib.sh"
it_setup cli
P="$BUILD/order-producer"
C="$BUILD/order-consumer"

expect_rc() { # expect_rc CODE PATTERN CMD...: exit code and a stderr pattern
    local want=$1 pattern=$2; shift 2
    set +e
    "$@" >"$IT_LOGDIR/out" 2>"$IT_LOGDIR/err" </dev/null
    local rc=$?
    set -e
    [ $rc -eq "$want" ] || die "'$*' exited $rc, want $want: $(cat "$IT_LOGDIR/err")"
    grep -q -- "$pattern" "$IT_LOGDIR/err" "$IT_LOGDIR/out" || die "'$*' output lacks '$pattern': $(cat "$IT_LOGDIR/err")"
}

expect_rc 0 "--brokers" "$P" --help
expect_rc 0 "--idle-exit" "$C" --help
# Every tool that reads or writes carts takes --carts-topic (issue 22).
for tool in order-producer order-consumer order-gateway order-results order-audit; do
    expect_rc 0 "--carts-topic NAME" "$BUILD/$tool" --help
done
expect_rc 2 "unknown option '--bogus'" "$P" --bogus
expect_rc 2 "unknown option '--nope'" "$C" --nope
expect_rc 2 "\-\-partitions expects an integer from 1 to 100000, got 'many'" "$C" --partitions many
expect_rc 2 "\-\-group needs a value" "$C" --group
expect_rc 2 "\-X expects key=value" "$P" -X novalue
expect_rc 1 "-X: librdkafka property .no.such.property.: No such configuration property" "$P" -X no.such.property=1 "${TOPIC_ARGS[@]}" /dev/null
expect_rc 1 "nope.jsonl: No such file" "$P" "${TOPIC_ARGS[@]}" "$IT_LOGDIR/nope.jsonl"
(unset ORDERLINE_BROKERS; expect_rc 1 "no Kafka brokers" "$P" "${TOPIC_ARGS[@]}" /dev/null)

# Config layering: the file's bogus brokers lose to the flag; file errors
# name the line.
printf '# test config\nbrokers = 127.0.0.1:1\n\npartitions=2\n' >"$IT_LOGDIR/good.conf"
chmod 600 "$IT_LOGDIR/good.conf"
echo '{"order_id":"cfg-1","item":"widget","quantity":1}' >"$IT_LOGDIR/one.jsonl"
expect_rc 0 "1 delivered" "$P" --config "$IT_LOGDIR/good.conf" --brokers "$ORDERLINE_BROKERS" "${TOPIC_ARGS[@]}" \
    "$IT_LOGDIR/one.jsonl"
printf 'brokers=x\nthis line is wrong\n' >"$IT_LOGDIR/bad.conf"
expect_rc 2 "bad.conf:2: expected key=value" "$P" --config "$IT_LOGDIR/bad.conf"
chmod 644 "$IT_LOGDIR/good.conf"
expect_rc 0 "readable by other users" "$P" --config "$IT_LOGDIR/good.conf" --brokers "$ORDERLINE_BROKERS" \
    "${TOPIC_ARGS[@]}" "$IT_LOGDIR/one.jsonl"

# Invalid lines: reported with line numbers, not sent; valid ones delivered;
# exit 3.
printf '%s\n' '{"order_id":"v-1","item":"widget","quantity":1}' 'nonsense' '' \
    '{"order_id":"v-2","item":"widget","quantity":0}' '{"order_id":"v-3","item":"widget","quantity":2}' \
    >"$IT_LOGDIR/mixed.jsonl"
expect_rc 3 "mixed.jsonl:2: invalid order: not valid JSON" "$P" "${TOPIC_ARGS[@]}" "$IT_LOGDIR/mixed.jsonl"
grep -q "mixed.jsonl:4: invalid order 'v-2': field 'quantity' must be an integer from 1 to 1000000, got 0" \
    "$IT_LOGDIR/err" || die "line 4 not reported: $(cat "$IT_LOGDIR/err")"
grep -q "4 lines: 2 delivered, 2 invalid" "$IT_LOGDIR/err" || die "wrong tally: $(cat "$IT_LOGDIR/err")"
sent=$(kcat -C -b "$ORDERLINE_BROKERS" -t "$IT_ORDERS" -e -q -f '%s\n' | grep -c '"order_id":"v-')
[ "$sent" = 2 ] || die "expected exactly the 2 valid lines in the topic, found $sent"

# Keyed by item with the Java-compatible partitioner: same item, same partition.
parts=$(kcat -C -b "$ORDERLINE_BROKERS" -t "$IT_ORDERS" -e -q -f '%k %p\n' | sort -u | awk '{print $1}' | uniq -d)
[ -z "$parts" ] || die "one item landed in several partitions: $parts"

# Delivery failure: a message larger than the broker accepts fails for good.
big=$(head -c 1200000 /dev/zero | tr '\0' 'x')
echo "{\"order_id\":\"big\",\"item\":\"widget\",\"quantity\":1,\"pad\":\"$big\"}" >"$IT_LOGDIR/big.jsonl"
expect_rc 4 "delivery of order 'big' failed" "$P" "${TOPIC_ARGS[@]}" -X message.max.bytes=2000000 -X compression.type=none "$IT_LOGDIR/big.jsonl"

# --generate is deterministic.
a=$("$P" --generate 500 --items 10 --seed 5 | md5sum)
b=$("$P" --generate 500 --items 10 --seed 5 | md5sum)
[ "$a" = "$b" ] || die "--generate is not deterministic"

# A password in the conninfo never shows in errors.
expect_rc 1 "cannot connect to PostgreSQL" "$C" --db "host=127.0.0.1 port=1 user=x password=Sup3rS3cret" \
    "${CONSUMER_ARGS[@]:2}"
! grep -q Sup3rS3cret "$IT_LOGDIR/err" "$IT_LOGDIR/out" || die "password leaked: $(cat "$IT_LOGDIR/err")"
expect_rc 1 "invalid PostgreSQL connection string" "$C" --db "password=Sup3rS3cret bogus" "${CONSUMER_ARGS[@]:2}"
! grep -q Sup3rS3cret "$IT_LOGDIR/err" "$IT_LOGDIR/out" || die "password leaked: $(cat "$IT_LOGDIR/err")"
# --rate paces: 2,000 orders at 4,000/s take half a second, spread evenly
# (producer timestamps), not sent in one burst.
"$P" --generate 2000 --items 50 --seed 9 >"$IT_LOGDIR/paced.jsonl"
"$P" --orders-topic "$IT_ORDERS.paced" --rate 4000 "$IT_LOGDIR/paced.jsonl" 2>"$IT_LOGDIR/err" ||
    die "paced publish failed: $(cat "$IT_LOGDIR/err")"
kcat -C -b "$ORDERLINE_BROKERS" -t "$IT_ORDERS.paced" -e -q -f '%T\n' >"$IT_LOGDIR/stamps"
python3 - "$IT_LOGDIR/stamps" <<'PY' || die "--rate 4000 did not pace 2000 orders evenly"
import sys
ts = sorted(int(l) for l in open(sys.argv[1]) if l.strip())
span = ts[-1] - ts[0]
per_100ms = {}
for t in ts:
    per_100ms[(t - ts[0]) // 100] = per_100ms.get((t - ts[0]) // 100, 0) + 1
print(f"{len(ts)} orders over {span} ms, at most {max(per_100ms.values())} in a 100 ms window", file=sys.stderr)
# 4000/s is 400 per 100 ms; allow for timer slack, never a burst.
sys.exit(0 if len(ts) == 2000 and 480 <= span <= 3000 and max(per_100ms.values()) <= 600 else 1)
PY
log "all CLI checks passed"

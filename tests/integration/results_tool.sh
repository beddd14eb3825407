#!/usr/bin/env bash
# order-results on a real consumer run: the summary of the whole results
# topic counts exactly what PostgreSQL recorded (accepted, and rejected per
# reason); --item, --status, --reason and --order-id select the right
# answers (checked against kcat's raw copy of the topic); --since with a
# relative time and with an RFC 3339 time reads only the recent window;
# --follow shows answers as they come; bad usage exits 2.
source "$(dirname "$0")/lib.sh"
it_setup results_tool
RESULTS=("$BUILD/order-results" --results-topic "$IT_RESULTS")

publish_workload 4000 40 11
consume_until_idle 2
results_json >"$IT_LOGDIR/raw.jsonl"

# ---- the summary agrees with the ledger
"${RESULTS[@]}" --from-beginning --summary --format json >"$IT_LOGDIR/summary.json" 2>>"$IT_LOGDIR/results.log" ||
    die "order-results --summary failed"
jq -e . "$IT_LOGDIR/summary.json" >/dev/null || die "summary is not JSON"
total() { jq -r ".total.$1" "$IT_LOGDIR/summary.json"; }
read -r pg_accepted pg_short pg_unknown pg_invalid pg_rows <<<"$(sql "SELECT count(*) FILTER (WHERE status = 'accepted'),
    count(*) FILTER (WHERE reason = 'insufficient_stock'), count(*) FILTER (WHERE reason = 'unknown_item'),
    count(*) FILTER (WHERE reason = 'invalid'), count(*) FROM orders" | tr '|' ' ')"
# Junk with a readable order_id is answered 'invalid' without a ledger row:
# two of the three junk kinds (the third is not JSON at all).
junk_answered=$((WORKLOAD_JUNK * 2 / 3))
duplicates=$((4000 - WORKLOAD_DISTINCT))
log "PostgreSQL: $pg_accepted accepted, $pg_short insufficient_stock, $pg_unknown unknown_item, $pg_invalid invalid"
log "summary: $(jq -c .total "$IT_LOGDIR/summary.json")"
[ "$(total accepted)" = "$pg_accepted" ] || die "summary accepted $(total accepted), PostgreSQL $pg_accepted"
[ "$(total insufficient_stock)" = "$pg_short" ] || die "summary insufficient_stock $(total insufficient_stock), PostgreSQL $pg_short"
[ "$(total unknown_item)" = "$pg_unknown" ] || die "summary unknown_item $(total unknown_item), PostgreSQL $pg_unknown"
[ "$(total invalid)" = "$((pg_invalid + junk_answered))" ] || die "summary invalid $(total invalid), want $((pg_invalid + junk_answered))"
[ "$(total rejected)" = "$((pg_rows - pg_accepted + junk_answered))" ] || die "summary rejected $(total rejected)"
[ "$(total duplicates)" = "$duplicates" ] || die "summary duplicates $(total duplicates), want $duplicates"
[ "$(jq -r .results "$IT_LOGDIR/summary.json")" = "$((pg_rows + junk_answered + duplicates))" ] || die "summary results count"
[ "$(jq -r .repeats "$IT_LOGDIR/summary.json")" = 0 ] || die "repeats without a consumer restart"
item_pg=$(sql "SELECT count(*) FROM orders WHERE item = 'item-00000' AND status = 'accepted'")
item_sum=$(jq -r '.items[] | select(.item == "item-00000") | .accepted' "$IT_LOGDIR/summary.json")
[ "$item_sum" = "$item_pg" ] || die "item-00000: summary accepted $item_sum, PostgreSQL $item_pg"
"${RESULTS[@]}" --from-beginning --summary --format table >"$IT_LOGDIR/summary.txt" || die "table summary failed"
grep -Eq "^TOTAL +$pg_accepted " "$IT_LOGDIR/summary.txt" || die "table summary TOTAL row: $(grep TOTAL "$IT_LOGDIR/summary.txt")"

# ---- filters select what they say, nothing more, nothing less
check_filter() { # jq predicate, then order-results flags
    local pred=$1 want got; shift
    want=$(jq -c "select($pred)" "$IT_LOGDIR/raw.jsonl" | wc -l)
    "${RESULTS[@]}" --from-beginning "$@" >"$IT_LOGDIR/filtered.jsonl" || die "order-results $* failed"
    got=$(wc -l <"$IT_LOGDIR/filtered.jsonl")
    [ "$want" -gt 0 ] || die "filter $* selects nothing in this workload; the test proves nothing"
    [ "$got" = "$want" ] || die "order-results $*: $got lines, kcat says $want"
    jq -e "select(($pred) | not)" "$IT_LOGDIR/filtered.jsonl" >/dev/null && die "order-results $* let through others"
    log "filter $*: $got results"
}
check_filter '.item == "item-00001"' --item item-00001
check_filter '.status == "rejected"' --status rejected
short_item=$(jq -r 'select(.reason == "insufficient_stock") | .item' "$IT_LOGDIR/raw.jsonl" | head -1)
check_filter ".reason == \"insufficient_stock\" and .item == \"$short_item\"" --reason insufficient_stock --item "$short_item"
check_filter '.reason == null' --reason none
order_id=$(jq -r 'select(.duplicate) | .order_id' "$IT_LOGDIR/raw.jsonl" | head -1)
check_filter ".order_id == \"$order_id\"" --order-id "$order_id"
[ "$("${RESULTS[@]}" --from-beginning | sort | md5sum)" = "$(sort "$IT_LOGDIR/raw.jsonl" | md5sum)" ] ||
    die "unfiltered output is not the topic's values as published"
lines=$("${RESULTS[@]}" --from-beginning --format table --item item-00002 | wc -l)
want=$(jq -c 'select(.item == "item-00002")' "$IT_LOGDIR/raw.jsonl" | wc -l)
[ "$lines" = "$((want + 1))" ] || die "table: $lines lines for $want results (plus a header)"
[ -z "$("${RESULTS[@]}")" ] || die "from the end without --follow there is nothing to show"

# ---- --since: only the recent window
t0=$(date +%s)
t0_rfc=$(date -u -d "@$((t0 + 1))" +%Y-%m-%dT%H:%M:%SZ)
sleep 3
for i in $(seq 1 50); do echo "{\"order_id\":\"late-$i\",\"item\":\"item-00003\",\"quantity\":1}"; done |
    produce 2>>"$IT_LOGDIR/producer.log" || die "producer failed"
consume_until_idle 2
ago=$(($(date +%s) - t0 - 1))
"${RESULTS[@]}" --since "${ago}s" --summary --format json >"$IT_LOGDIR/since.json" || die "--since ${ago}s failed"
[ "$(jq -r .results "$IT_LOGDIR/since.json")" = 50 ] || die "--since ${ago}s counted $(jq -c . "$IT_LOGDIR/since.json")"
n=$("${RESULTS[@]}" --since "$t0_rfc" | jq -r .order_id | grep -c '^late-')
[ "$n" = 50 ] || die "--since $t0_rfc showed $n of the 50 late answers"
[ "$("${RESULTS[@]}" --since "$t0_rfc" | wc -l)" = 50 ] || die "--since $t0_rfc showed older answers too"
log "--since ${ago}s and --since $t0_rfc: the 50 recent answers only"

# ---- --follow: answers appear as they are published
"${RESULTS[@]}" --follow --format json >"$IT_LOGDIR/follow.jsonl" 2>>"$IT_LOGDIR/results.log" &
follow=$!
sleep 2
for i in $(seq 1 10); do echo "{\"order_id\":\"follow-$i\",\"item\":\"item-00004\",\"quantity\":1}"; done |
    produce 2>>"$IT_LOGDIR/producer.log" || die "producer failed"
consume_until_idle 1
for _ in $(seq 1 100); do
    [ "$(grep -c follow- "$IT_LOGDIR/follow.jsonl")" = 10 ] && break
    sleep 0.2
done
kill -INT $follow
wait $follow || die "order-results --follow did not exit 0 on SIGINT"
[ "$(grep -c follow- "$IT_LOGDIR/follow.jsonl")" = 10 ] || die "--follow showed $(wc -l <"$IT_LOGDIR/follow.jsonl") lines"
[ "$(wc -l <"$IT_LOGDIR/follow.jsonl")" = 10 ] || die "--follow showed answers from before it started"

# ---- usage
for bad in "--status maybe" "--reason bad_luck" "--since yesterday" "--format csv" "--summary --follow" \
    "--from-beginning --since 1h"; do
    set +e
    # shellcheck disable=SC2086
    "${RESULTS[@]}" $bad >/dev/null 2>&1
    rc=$?
    set -e
    [ $rc = 2 ] || die "order-results $bad: exit $rc, want 2"
done
set +e
"$BUILD/order-results" --results-topic "it.no.such.topic.$$" --from-beginning >/dev/null 2>&1
rc=$?
set -e
[ $rc = 1 ] || die "unknown topic: exit $rc, want 1"
echo "SUMMARY results_tool: accepted=$pg_accepted insufficient=$pg_short unknown=$pg_unknown invalid=$(total invalid) duplicates=$duplicates"

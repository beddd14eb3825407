#!/usr/bin/env bash
# order-audit on a real consumer run:
#  1. a clean run (restocks, duplicates, junk, an order_id repeated for
#     another item, hence across partitions) agrees: exit 0, and --report
#     writes valid JSON saying so;
#  2. while a consumer is deciding a second workload, the audit replays
#     exactly what is decided in its snapshot and agrees: exit 0;
#  3. --since replays the recent window from the ledger's stock: exit 0;
#  4. a hand-made UPDATE inventories: exit 1 naming the item;
#  5. a row deleted from the orders ledger: exit 1 naming the order, and
#     --report lists exactly that divergence;
#  6. a differing copy of an early answer at the end of its results
#     partition: named as result_conflicting, though the results are read
#     beside the replay.
source "$(dirname "$0")/lib.sh"
it_setup audit
AUDIT=("$BUILD/order-audit" --db "$IT_DB" --orders-topic "$IT_ORDERS" --results-topic "$IT_RESULTS")

# audit_expect RC NAME [ARGS...]: runs the audit, output in NAME.out.
audit_expect() {
    local want=$1 name=$2 rc; shift 2
    set +e
    "${AUDIT[@]}" "$@" >"$IT_LOGDIR/$name.out" 2>"$IT_LOGDIR/$name.err"
    rc=$?
    set -e
    log "audit $name: exit $rc: $(tail -1 "$IT_LOGDIR/$name.out")"
    if [ "$rc" != "$want" ]; then
        head -20 "$IT_LOGDIR/$name.out" "$IT_LOGDIR/$name.err" >&2
        die "audit $name: exit $rc, want $want"
    fi
}

publish_workload 20000 200 5
consume_until_idle 2
# An order_id repeated for another item lands in another partition, and
# the ledger says which copy was the original. Here the original is in the
# last partition and the repeat in the first, so the replay (partition by
# partition) meets the repeat first.
results_json >"$IT_LOGDIR/raw.jsonl"
item_last=$(jq -r 'select(.item != null) | "\(.partition) \(.item)"' "$IT_LOGDIR/raw.jsonl" | sort -n | awk 'END { print $2 }')
item_first=$(jq -r 'select(.item != null) | "\(.partition) \(.item)"' "$IT_LOGDIR/raw.jsonl" | sort -n | awk 'NR == 1 { print $2 }')
echo "{\"order_id\":\"twin-1\",\"item\":\"$item_last\",\"quantity\":1}" | produce 2>>"$IT_LOGDIR/producer.log" ||
    die "producer failed"
consume_until_idle 1
echo "{\"order_id\":\"twin-1\",\"item\":\"$item_first\",\"quantity\":2}" | produce 2>>"$IT_LOGDIR/producer.log" ||
    die "producer failed"
consume_until_idle 1
# And the first five order_ids again for one item, wherever it lands.
head -5 "$IT_LOGDIR/orders.jsonl" | sed -E 's/"item":"[^"]*"/"item":"item-00150"/' >"$IT_LOGDIR/twins.jsonl"
produce "$IT_LOGDIR/twins.jsonl" 2>>"$IT_LOGDIR/producer.log" || die "producer failed"
consume_until_idle 2

# ---- 1. clean
audit_expect 0 clean --report "$IT_LOGDIR/clean.json"
jq -e '.ok == true and .divergence_count == 0 and (.divergences | length) == 0' "$IT_LOGDIR/clean.json" >/dev/null ||
    die "clean report: $(head -c 600 "$IT_LOGDIR/clean.json")"
messages=$(jq -r .replayed.messages "$IT_LOGDIR/clean.json")
total=$((20000 + 2 + 5 + WORKLOAD_JUNK))
[ "$messages" = "$total" ] || die "replayed $messages messages, the log has $total"
[ "$(jq -r .replayed.duplicates "$IT_LOGDIR/clean.json")" -gt 5 ] || die "the workload has no duplicates"
[ "$(jq -r .replayed.cross_partition_duplicates "$IT_LOGDIR/clean.json")" -ge 1 ] ||
    die "twin-1 ($item_last, then $item_first) was not a duplicate across partitions met before its original"
[ "$(jq -r .replayed.invalid "$IT_LOGDIR/clean.json")" = "$WORKLOAD_JUNK" ] || die "junk not replayed as invalid"
[ ! -e "$IT_LOGDIR/clean.json.tmp" ] || die "report's temporary file left behind"
check_invariants --expect-invalid "$WORKLOAD_JUNK" >"$IT_LOGDIR/invariants.out" || die "the independent checker disagrees"
log "clean: $(jq -c .replayed "$IT_LOGDIR/clean.json")"

# ---- 2. mid-stream, while a consumer decides a second workload
since=$(($(date +%s) + 1))
sleep 2
"$BUILD/order-producer" --generate 40000 --items 200 --seed 6 --restock-pct 12 --duplicate-pct 2 |
    sed 's/"order_id":"/"order_id":"second-/' >"$IT_LOGDIR/second.jsonl"
produce "$IT_LOGDIR/second.jsonl" 2>>"$IT_LOGDIR/producer.log" || die "producer failed"
before=$(decided_count)
# Small batches keep the consumer busy for a while.
start_consumer live --batch-max 100 --idle-exit 2
wait_decided $((before + 2000)) 60
at_start=$(decided_count)
audit_expect 0 live --report "$IT_LOGDIR/live.json"
after=$(decided_count)
# The snapshot must have caught the consumer half way through the second
# workload, or nothing was proven about auditing a live consumer.
replayed=$(jq -r .replayed.messages "$IT_LOGDIR/live.json")
log "mid-stream: audit replayed $replayed messages; the ledger went from $at_start to $after rows meanwhile"
if [ "$replayed" -le "$total" ] || [ "$replayed" -ge $((total + 40000)) ]; then
    die "mid-stream replay covered $replayed messages: not between the two workloads"
fi
wait_consumer live
audit_expect 0 after-live

# ---- 3. --since: the second workload only, from the ledger's stock
audit_expect 0 since --since "$(date -u -d "@$since" +%Y-%m-%dT%H:%M:%SZ)" --report "$IT_LOGDIR/since.json"
since_messages=$(jq -r .replayed.messages "$IT_LOGDIR/since.json")
[ "$since_messages" = 40000 ] || die "--since replayed $since_messages messages, want the second workload's 40000"
ago=$(($(date +%s) - since))
audit_expect 0 since-relative --since "${ago}s"

# ---- 4. stock edited by hand
sql "UPDATE inventories SET count = count + 7 WHERE name = 'item-00007'" >/dev/null
audit_expect 1 drift --report "$IT_LOGDIR/drift.json"
grep -q '^stock_drift item=item-00007: .*(+7)' "$IT_LOGDIR/drift.out" || die "drift not named: $(head -3 "$IT_LOGDIR/drift.out")"
jq -e '.ok == false and .divergence_count == 1 and .divergences[0].kind == "stock_drift"
       and .divergences[0].item == "item-00007"' "$IT_LOGDIR/drift.json" >/dev/null ||
    die "drift report: $(jq -c .divergences "$IT_LOGDIR/drift.json")"
sql "UPDATE inventories SET count = count - 7 WHERE name = 'item-00007'" >/dev/null
audit_expect 0 drift-undone

# ---- 5. a decision deleted from the ledger
victim=$(sql "SELECT order_id FROM orders WHERE type = 'order' AND status = 'accepted' ORDER BY kafka_offset DESC LIMIT 1")
sql "DELETE FROM orders WHERE order_id = '$victim'" >/dev/null
audit_expect 1 deleted --report "$IT_LOGDIR/deleted.json"
grep -q "^ledger_missing order=$victim " "$IT_LOGDIR/deleted.out" || die "order $victim not named: $(head -3 "$IT_LOGDIR/deleted.out")"
jq -e --arg id "$victim" '.ok == false and .divergence_count == 1 and .divergences[0].kind == "ledger_missing"
       and .divergences[0].order_id == $id and (.divergences[0].partition | type) == "number"' \
    "$IT_LOGDIR/deleted.json" >/dev/null || die "deleted report: $(jq -c .divergences "$IT_LOGDIR/deleted.json")"

# ---- 6. a differing copy of an early answer, published after every other
# answer of its results partition (where a re-publication puts it): read
# beside the replay, it still meets the first copy (the ledger row of 5
# stays deleted)
kcat -C -b "$ORDERLINE_BROKERS" -t "$IT_RESULTS" -p 0 -o beginning -e -q -f '%k|%s\n' >"$IT_LOGDIR/results0.txt"
line=$(grep -m 1 '"status":"accepted"' "$IT_LOGDIR/results0.txt")
first=${line#*|}
copy_id=$(jq -r .order_id <<<"$first")
copy_offset=$(jq -r .offset <<<"$first")
printf '%s|%s\n' "${line%%|*}" "$(jq -c '.remaining += 1000' <<<"$first")" |
    kcat -P -b "$ORDERLINE_BROKERS" -t "$IT_RESULTS" -p 0 -K '|'
audit_expect 1 republished --report "$IT_LOGDIR/republished.json"
jq -e --arg id "$copy_id" --argjson o "$copy_offset" '.divergence_count == 2 and
       ([.divergences[] | select(.kind == "result_conflicting" and .order_id == $id and .offset == $o)] | length) == 1 and
       .replayed.results_unverified == 0' "$IT_LOGDIR/republished.json" >/dev/null ||
    die "republished report: $(jq -c '[.divergences, .replayed]' "$IT_LOGDIR/republished.json")"

# ---- usage and errors: exit 2
audit_expect 2 bad-since --since yesterday
audit_expect 2 bad-db --db "$ORDERLINE_DB dbname=it_no_such_db_$$" --report "$IT_LOGDIR/error.json"
jq -e '.ok == false and (.error | length) > 0' "$IT_LOGDIR/error.json" >/dev/null || die "error report"
echo "SUMMARY audit: messages=$messages live_replayed=$replayed since_replayed=$since_messages"

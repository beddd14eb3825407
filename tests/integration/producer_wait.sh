#!/usr/bin/env bash
# order-producer --wait: every order's answer as a JSON line on stdout,
# diagnostics on stderr; exit 0 all accepted, 5 some rejected, 6 some not
# answered in time (no consumer running).
source "$(dirname "$0")/lib.sh"
it_setup producer-wait
WAIT_ARGS=(--results-topic "$IT_RESULTS" --partitions 4)

# No consumer yet: in the log, but no answer within 2 s.
echo '{"order_id": "r-1", "item": "widget", "quantity": 5, "type": "restock"}' >"$IT_LOGDIR/restock.jsonl"
set +e
produce "${WAIT_ARGS[@]}" --wait=2 "$IT_LOGDIR/restock.jsonl" >"$IT_LOGDIR/unanswered.out" 2>>"$IT_LOGDIR/producer.log"
rc=$?
set -e
[ $rc -eq 6 ] || die "no consumer: exit $rc, expected 6"
[ ! -s "$IT_LOGDIR/unanswered.out" ] || die "an answer with no consumer: $(cat "$IT_LOGDIR/unanswered.out")"
grep -q 'restock.jsonl:1: order in the log' "$IT_LOGDIR/producer.log" || die "the unanswered line is not named on stderr"

start_consumer a
wait_decided 1 60
# The seed's race from a script: 3 and 3 of the 5.
printf '%s\n' '{"order_id": "a", "item": "widget", "quantity": 3}' '{"order_id": "b", "item": "widget", "quantity": 3}' \
    >"$IT_LOGDIR/race.jsonl"
set +e
produce "${WAIT_ARGS[@]}" --wait "$IT_LOGDIR/race.jsonl" >"$IT_LOGDIR/race.out" 2>>"$IT_LOGDIR/producer.log"
rc=$?
set -e
[ $rc -eq 5 ] || die "race: exit $rc, expected 5 (one rejected)"
[ "$(wc -l <"$IT_LOGDIR/race.out")" = 2 ] || die "race: $(wc -l <"$IT_LOGDIR/race.out") answers on stdout"
python3 - "$IT_LOGDIR/race.out" <<'PY' || die "race answers: $(cat "$IT_LOGDIR/race.out")"
import json, sys
rows = {r["order_id"]: r for r in map(json.loads, open(sys.argv[1]))}
assert rows["a"]["status"] == "accepted" and rows["a"]["remaining"] == 2, rows
assert rows["b"]["status"] == "rejected" and rows["b"]["reason"] == "insufficient_stock", rows
PY
echo '{"order_id": "c", "item": "widget", "quantity": 2}' | produce "${WAIT_ARGS[@]}" --wait=30 >"$IT_LOGDIR/ok.out" \
    2>>"$IT_LOGDIR/producer.log" || die "all accepted: exit $?"
grep -q '"order_id":"c".*"status":"accepted".*"remaining":0' "$IT_LOGDIR/ok.out" || die "c: $(cat "$IT_LOGDIR/ok.out")"
stop_consumer a
log "ok: exit 6 without a consumer, 5 for the race, 0 when all were accepted"

#!/usr/bin/env bash
# Carts under faults (issue 22). A stream of carts (2-4 lines over a few
# scarce items, some held: short holds that expire, long ones confirmed or
# cancelled, cancels of sold carts, repeats of carts and follow-ups, cancels
# before their carts) with single orders on the same items, while:
#   FAULT=coordinator  order-carts dies like kill -9 once a line's hold is in
#                      the log (the cart's other holds maybe not sent), then
#                      once every hold is answered and the commits are
#                      decided but not stored, then at random moments;
#   FAULT=consumer     the items' consumer is killed -9 repeatedly, between
#                      holds and commits;
#   FAULT=membership   a second coordinator joins mid-stream, the first
#                      leaves, and comes back;
#   FAULT=pg           every PostgreSQL connection to the database is
#                      terminated, eight times, mid-stream (a batch's
#                      pipeline cut between its round trips or inside one):
#                      the coordinator reconnects and carries on;
#   FAULT=freeze       the coordinator is stopped (SIGSTOP) with a batch's
#                      transaction open, the fence's row locks held; a
#                      second one takes its partitions over and must not
#                      wait behind those locks; the first is woken at the
#                      end and must find its batch gone.
# Then, with everything decided: every cart and follow-up answered; no cart
# half-sold, from the items' own ledger (a line is sold when its hold was
# committed and not given back); each cart's final state matches its lines;
# the books balance per item; the outbox is empty; and the independent
# checker recomputes every item decision.
source "$(dirname "$0")/../integration/lib.sh"
FAULT=${FAULT:-coordinator}
it_setup "carts-$FAULT"
CARTS=${CARTS:-400}

python3 - "$CARTS" "$IT_LOGDIR" <<'PY'
import json, random, sys
n, d = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(2207)
items = ["it-%02d" % i for i in range(10)]
dump = lambda o: json.dumps(o, separators=(",", ":"))
restocks = [dump({"order_id": "r-" + i, "item": i, "quantity": 250, "type": "restock"}) for i in items]
carts, singles, held = [], [], []
for k in range(n):
    cid = "cart-%d" % k
    lines = [{"item": rnd.choice(items), "quantity": rnd.randint(1, 3)} for _ in range(rnd.randint(2, 4))]
    doc = {"cart_id": cid, "lines": lines}
    roll = rnd.random()
    if roll < 0.15:
        doc["hold_s"] = 1
    elif roll < 0.45:
        doc["hold_s"] = 600
        held.append(cid)
    if rnd.random() < 0.05:  # a cancel before its cart
        carts.append(cid + "|" + dump({"type": "cart_cancel", "order_id": cid + "#early", "cart_id": cid}))
    carts.append(cid + "|" + dump(doc))
    if rnd.random() < 0.05:
        carts.append(cid + "|" + dump(doc))  # the same cart again
    if held and rnd.random() < 0.3:
        h = held.pop(rnd.randrange(len(held)))
        kind = rnd.choice(["cart_confirm", "cart_confirm", "cart_cancel"])
        carts.append(h + "|" + dump({"type": kind, "order_id": h + "#" + kind, "cart_id": h}))
        if rnd.random() < 0.2:
            carts.append(h + "|" + dump({"type": kind, "order_id": h + "#" + kind, "cart_id": h}))
    if rnd.random() < 0.05 and k > 10:  # cancel an earlier (maybe sold) cart
        e = "cart-%d" % rnd.randrange(k)
        carts.append(e + "|" + dump({"type": "cart_cancel", "order_id": e + "#late-cancel", "cart_id": e}))
    item = rnd.choice(items)
    singles.append(item + "|" + dump({"order_id": "s-%d" % k, "item": item, "quantity": rnd.randint(1, 2)}))
open(d + "/restocks.jsonl", "w").write("\n".join(restocks) + "\n")
open(d + "/carts.txt", "w").write("\n".join(carts) + "\n")
open(d + "/singles.txt", "w").write("\n".join(singles) + "\n")
PY
produce --results-topic "$IT_RESULTS" "$IT_LOGDIR/restocks.jsonl" 2>>"$IT_LOGDIR/producer.log" || die "restocks: exit $?"
STATIC=(-X group.instance.id=carts-items -X session.timeout.ms=6000)
start_consumer items "${STATIC[@]}"
wait_http "${CONSUMER_URL[items]}/healthz" "$CONSUMER_PID"

# coordinator_until_dead NAME: waits for coordinator NAME to die of its failpoint.
coordinator_until_dead() {
    local pid=${CARTS_PIDS[$1]} rc=0
    for _ in $(seq 600); do running "$pid" || break; sleep 0.1; done
    running "$pid" && die "coordinator $1 never reached its failpoint"
    wait "$pid" || rc=$?
    [ $rc -eq 137 ] || die "coordinator $1: exit $rc, want 137 (its failpoint)"
    log "coordinator $1 died at its failpoint ($(sql "SELECT count(*) FROM carts") carts known)"
}
CSTATIC=(-X session.timeout.ms=6000)

case $FAULT in
coordinator)
    ORDERLINE_FAILPOINT=carts-after-hold:7 start_carts f1 -X group.instance.id=carts-c "${CSTATIC[@]}"
    produce_carts <"$IT_LOGDIR/carts.txt" 2>>"$IT_LOGDIR/kcat.log"
    produce_raw <"$IT_LOGDIR/singles.txt" 2>>"$IT_LOGDIR/kcat.log"
    coordinator_until_dead f1
    ORDERLINE_FAILPOINT=carts-before-commit:5 start_carts f2 -X group.instance.id=carts-c "${CSTATIC[@]}"
    coordinator_until_dead f2
    for k in 1 2 3; do
        start_carts k$k -X group.instance.id=carts-c "${CSTATIC[@]}"
        sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.5 + (r % 100) / 100 }')"
        kill -9 "${CARTS_PIDS[k$k]}" 2>/dev/null || true
        wait "${CARTS_PIDS[k$k]}" 2>/dev/null || true
        log "kill -9 of coordinator k$k: $(sql "SELECT count(*) FROM carts") carts known"
    done
    start_carts last -X group.instance.id=carts-c "${CSTATIC[@]}"
    ;;
consumer)
    start_carts last "${CSTATIC[@]}"
    produce_carts <"$IT_LOGDIR/carts.txt" 2>>"$IT_LOGDIR/kcat.log"
    produce_raw <"$IT_LOGDIR/singles.txt" 2>>"$IT_LOGDIR/kcat.log"
    for k in 1 2 3 4; do
        sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.3 + (r % 80) / 100 }')"
        kill -9 "${CONSUMER_PIDS[items]}" 2>/dev/null || true
        wait "${CONSUMER_PIDS[items]}" 2>/dev/null || true
        log "kill -9 of the items' consumer #$k: $(decided_count) ledger rows"
        start_consumer items "${STATIC[@]}"
    done
    ;;
membership)
    start_carts a "${CSTATIC[@]}"
    head -n $(($(wc -l <"$IT_LOGDIR/carts.txt") / 3)) "$IT_LOGDIR/carts.txt" | produce_carts 2>>"$IT_LOGDIR/kcat.log"
    produce_raw <"$IT_LOGDIR/singles.txt" 2>>"$IT_LOGDIR/kcat.log"
    sleep 1
    start_carts b "${CSTATIC[@]}"
    tail -n +$(($(wc -l <"$IT_LOGDIR/carts.txt") / 3 + 1)) "$IT_LOGDIR/carts.txt" | produce_carts 2>>"$IT_LOGDIR/kcat.log"
    sleep 2
    stop_carts a
    log "coordinator a left: $(sql "SELECT count(*) FROM carts") carts known"
    sleep 1
    start_carts last "${CSTATIC[@]}"
    ;;
pg)
    # The carts in eight slices, the connections cut just after each, while
    # its batches are being decided.
    start_carts last "${CSTATIC[@]}"
    produce_raw <"$IT_LOGDIR/singles.txt" 2>>"$IT_LOGDIR/kcat.log"
    split -n l/8 "$IT_LOGDIR/carts.txt" "$IT_LOGDIR/slice."
    k=0
    for f in "$IT_LOGDIR"/slice.*; do
        produce_carts <"$f" 2>>"$IT_LOGDIR/kcat.log"
        sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", (r % 10) / 100 }')"
        cut=$(sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                   WHERE datname = current_database() AND pid <> pg_backend_pid()")
        log "PostgreSQL connections terminated #$((++k)): $cut, $(sql "SELECT count(*) FROM carts") carts known"
    done
    ;;
freeze)
    ORDERLINE_FAILPOINT=carts-freeze-before-commit:5 start_carts f1 "${CSTATIC[@]}"
    produce_carts <"$IT_LOGDIR/carts.txt" 2>>"$IT_LOGDIR/kcat.log"
    produce_raw <"$IT_LOGDIR/singles.txt" 2>>"$IT_LOGDIR/kcat.log"
    for _ in $(seq 600); do [ "$(awk '{print $3}' "/proc/${CARTS_PIDS[f1]}/stat" 2>/dev/null)" = T ] && break; sleep 0.1; done
    [ "$(awk '{print $3}' "/proc/${CARTS_PIDS[f1]}/stat" 2>/dev/null)" = T ] || die "coordinator f1 never reached its freeze"
    idle=$(sql "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'")
    log "coordinator f1 stopped with its batch open ($idle sessions idle in a transaction); starting the next"
    start_carts last "${CSTATIC[@]}"
    ;;
*) die "FAULT=$FAULT: coordinator, consumer, membership, pg or freeze" ;;
esac

# Everything decided: every cart settled (short holds expired), the outbox empty.
settled() {
    [ "$(sql "SELECT count(*) FROM cart_outbox")" = 0 ] &&
        [ "$(sql "SELECT count(*) FROM carts WHERE state = 'holding' OR (state = 'held' AND hold_s < 600)")" = 0 ] &&
        [ "$(sql "SELECT count(*) FROM carts WHERE lines @> '[{\"answered\": false}]'")" = 0 ]
}
for _ in $(seq 600); do settled && break; sleep 0.2; done
settled || die "not settled after 120 s: $(sql "SELECT state, count(*) FROM carts GROUP BY 1") outbox $(sql "SELECT count(*) FROM cart_outbox")"
sleep 1

# Every cart and follow-up with an order_id answered.
want=$(cut -d'|' -f2- "$IT_LOGDIR/carts.txt" | python3 -c '
import json, sys
print(len({(d.get("order_id") or d["cart_id"]) for d in map(json.loads, sys.stdin)}))')
got=$(cart_answers | python3 -c '
import json, sys
print(len({r["order_id"] for r in map(json.loads, sys.stdin) if not r["duplicate"] and r["type"] != "cart_expire"}))')
[ "$got" = "$want" ] || die "$got of $want carts and follow-ups answered"

# From the items' ledger: a line is sold when its hold was committed and
# not given back since (life confirmed), held while it stands, else nothing.
bad=$(sql "
  WITH l AS (SELECT c.cart_id, c.state, jsonb_array_length(c.lines) AS n,
                    count(*) FILTER (WHERE o.life = 'confirmed') AS sold,
                    count(*) FILTER (WHERE o.status = 'held' AND o.life IS NULL) AS held
             FROM carts c LEFT JOIN orders o ON o.order_id LIKE c.cart_id || '#%#hold' AND o.type = 'order'
             GROUP BY 1, 2, 3)
  SELECT cart_id || ':' || state || ':' || sold || '/' || held || '/' || n FROM l
  WHERE NOT ((state IN ('accepted', 'confirmed') AND sold = n AND held = 0) OR
             (state = 'held' AND held = n AND sold = 0) OR
             (state IN ('rejected', 'cancelled', 'expired') AND sold = 0 AND held = 0))")
[ -z "$bad" ] || die "carts whose lines do not match their state (cart:state:sold/held/lines): $bad"
books=$(sql "SELECT count(*) FROM inventories i WHERE count <> (SELECT coalesce(sum(CASE
                 WHEN o.type = 'restock' AND o.status = 'accepted' THEN o.quantity
                 WHEN o.type = 'order' AND o.status IN ('accepted', 'held') THEN -o.quantity
                 WHEN o.type IN ('cancel', 'expire') AND o.status = 'accepted' THEN o.quantity ELSE 0 END), 0)
             FROM orders o WHERE o.item = i.name)")
[ "$books" = 0 ] || die "$books items whose stock differs from the ledger's books"
summary=$(sql "SELECT string_agg(state || '=' || n, ' ') FROM (SELECT state, count(*) n FROM carts GROUP BY 1 ORDER BY 1) s")
log "settled: $summary"
echo "SUMMARY carts-$FAULT: carts=$CARTS messages=$(wc -l <"$IT_LOGDIR/carts.txt") $summary"
if [ "$FAULT" = pg ]; then
    cuts=$(grep -c 'reconnecting' "$IT_LOGDIR/carts-last.log") || die "order-carts never saw its connection cut"
    log "order-carts reconnected $cuts times: $(grep 'reconnecting' "$IT_LOGDIR/carts-last.log" | sed 's/.*PostgreSQL: //' |
        cut -c1-60 | sort | uniq -c | tr -s ' ' | paste -sd';')"
fi
if [ "$FAULT" = freeze ]; then
    # Woken after all that: its session was ended under it; it reconnects,
    # reads its positions again and decides nothing twice.
    kill -CONT "${CARTS_PIDS[f1]}"
    sleep 3
    running "${CARTS_PIDS[f1]}" || die "coordinator f1 exited when woken"
    grep -q 'reconnecting' "$IT_LOGDIR/carts-f1.log" || die "coordinator f1 never found its connection gone"
    stop_carts f1
fi
stop_carts last
stop_consumer items
check_invariants

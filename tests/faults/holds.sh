#!/usr/bin/env bash
# Holds and their follow-ups under crashes (issue 22): kill -9 the consumer
# repeatedly while it works through orders, holds (some expiring within a
# second or two, some standing), confirms, cancels (of holds, of sales, of
# orders not decided yet, twice with one id and with two ids) and
# duplicates. Afterwards the independent checker recomputes every
# decision, follow-ups and expiries included (deadlines from the log
# timestamps), and the books: stock = restocks - sold - held + cancelled +
# expired per item. No hold outlives its deadline unexpired. KILLS
# (default 6) sets how many times.
source "$(dirname "$0")/../integration/lib.sh"
it_setup holds
KILLS=${KILLS:-6}
TOTAL=${TOTAL:-6000}

python3 - "$TOTAL" >"$IT_LOGDIR/orders.txt" <<'PY'
import json, random, sys
total = int(sys.argv[1])
rnd = random.Random(22)
items = ["hold-%02d" % i for i in range(24)]
out, ids, holds = [], [], []
def emit(item, doc):
    out.append(item + "|" + json.dumps(doc, separators=(",", ":")))
for item in items:
    emit(item, {"order_id": "r-" + item, "item": item, "quantity": 40, "type": "restock"})
for n in range(total):
    item = rnd.choice(items)
    roll = rnd.random()
    if roll < 0.45 or not ids:
        doc = {"order_id": "o%d" % n, "item": item, "quantity": rnd.randint(1, 3)}
        if rnd.random() < 0.5:
            doc["hold_s"] = rnd.choice([1, 2, 600])
            holds.append((doc["order_id"], item))
        ids.append((doc["order_id"], item))
        emit(item, doc)
    elif roll < 0.65 and holds:
        target, item = rnd.choice(holds)
        emit(item, {"order_id": "c%d" % n, "item": item, "type": "confirm", "target": target})
    elif roll < 0.85:
        target, item = rnd.choice(ids)
        emit(item, {"order_id": "x%d" % n, "item": item, "type": "cancel", "target": target})
    elif roll < 0.90:
        # A cancel before its order (same item, so the same partition):
        # refused, and the order stands.
        emit(item, {"order_id": "early%d" % n, "item": item, "type": "cancel", "target": "late%d" % n})
        emit(item, {"order_id": "late%d" % n, "item": item, "quantity": 1})
        ids.append(("late%d" % n, item))
    else:
        out.append(rnd.choice(out[len(items):] or out))  # a duplicate, sent again later
for line in out:
    print(line)
PY
# The restocks through order-producer (it creates the topic), the rest
# through kcat with its own keys.
grep '"type":"restock"' "$IT_LOGDIR/orders.txt" | cut -d'|' -f2- >"$IT_LOGDIR/restocks.jsonl"
produce "$IT_LOGDIR/restocks.jsonl" 2>>"$IT_LOGDIR/producer.log" || die "restocks: exit $?"
grep -v '"type":"restock"' "$IT_LOGDIR/orders.txt" | produce_raw 2>>"$IT_LOGDIR/kcat.log"
distinct=$(cut -d'|' -f2- "$IT_LOGDIR/orders.txt" | grep -o '"order_id":"[^"]*"' | sort -u | wc -l)
log "published $(wc -l <"$IT_LOGDIR/orders.txt") messages, $distinct distinct order_ids"

STATIC=(-X group.instance.id=holds -X session.timeout.ms=6000)
kills=0 midwork=0 decided=0
while [ $kills -lt "$KILLS" ]; do
    run=run$((kills + 1))
    start_consumer "$run" --batch-max 40 "${STATIC[@]}"
    pid=$CONSUMER_PID
    for _ in $(seq 1 100); do
        [ "$(assigned_count "$run")" -gt 0 ] && break
        sleep 0.1
    done
    for _ in $(seq 1 100); do
        [ "$(decided_count)" -gt "$decided" ] && break
        sleep 0.02
    done
    sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", (r % 20) / 100 }')"
    kill -9 $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    kills=$((kills + 1))
    before=$decided
    decided=$(decided_count)
    [ "$decided" -gt "$before" ] && midwork=$((midwork + 1))
    log "kill -9 #$kills: $decided ledger rows"
done
[ $midwork -ge 3 ] || die "only $midwork kills landed mid-work; the test proves too little"
# Past every short hold's deadline, with the expiries' own messages decided.
consume_until_idle 4 "${STATIC[@]}"
open=$(sql "SELECT count(*) FROM orders WHERE status = 'held' AND life IS NULL AND hold_expires_at < now() - interval '5 s'")
[ "$open" = 0 ] || die "$open holds past their deadline were never released"
standing=$(sql "SELECT count(*) FROM orders WHERE status = 'held' AND life IS NULL")
expired=$(sql "SELECT count(*) FROM orders WHERE type = 'expire' AND status = 'accepted'")
books=$(sql "SELECT count(*) FROM inventories i WHERE count <> (SELECT coalesce(sum(CASE
                 WHEN o.type = 'restock' AND o.status = 'accepted' THEN o.quantity
                 WHEN o.type = 'order' AND o.status IN ('accepted', 'held') THEN -o.quantity
                 WHEN o.type IN ('cancel', 'expire') AND o.status = 'accepted' THEN o.quantity ELSE 0 END), 0)
             FROM orders o WHERE o.item = i.name)")
[ "$books" = 0 ] || die "$books items whose stock differs from the ledger's books"
log "after $kills kills ($midwork mid-work): $(decided_count) rows, $expired holds expired, $standing standing"
echo "SUMMARY holds: messages=$(wc -l <"$IT_LOGDIR/orders.txt") kills=$kills midwork_kills=$midwork expired=$expired standing=$standing"
check_invariants

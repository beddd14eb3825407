#!/usr/bin/env bash
# Every row the carts path reads or writes is reached by key, on a fresh
# database too. A prepared statement's plan is chosen once, when its table
# is still nearly empty and has no statistics: a scan of the whole table
# then looks cheapest, and each lookup of a batch's ids costs more as the
# table grows. Here 2,000 three-line carts are sent by kcat at once to a
# new database, and decided by order-carts and order-consumer; over that
# run, pg_stat_user_tables must count no sequential scan of the carts
# tables nor of the items' ledger. Nothing else reads them meanwhile: the
# test waits on the results topic, not on the tables.
# The outbox is a queue: each row is deleted once in the log, and a count
# of it visits every row deleted since the last vacuum. order-carts reads
# its gauges every --expire-interval-ms (50 here); it may count the outbox
# only when it cannot know the figure (at start, after a resync or a lost
# delivery), so the outbox's partition index is read a few times per run,
# not once per gauge.
source "$(dirname "$0")/lib.sh"
it_setup carts_plans
N=2000 ITEMS=40

python3 - "$ITEMS" "$N" "$IT_LOGDIR" <<'PY'
import json, random, sys
k, n, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rnd = random.Random(11)
with open(d + "/restock.jsonl", "w") as f:
    for i in range(k):
        f.write(json.dumps({"order_id": "r-%d" % i, "item": "item-%03d" % i, "quantity": 1000000, "type": "restock"}) + "\n")
with open(d + "/carts.txt", "w") as f:
    for c in range(n):
        lines = [{"item": "item-%03d" % rnd.randrange(k), "quantity": rnd.randint(1, 3)} for _ in range(3)]
        f.write("c%d|%s\n" % (c, json.dumps({"cart_id": "c%d" % c, "lines": lines}, separators=(",", ":"))))
PY
produce "$IT_LOGDIR/restock.jsonl" >/dev/null 2>>"$IT_LOGDIR/producer.log"
# A first consumer creates the tables (CREATE INDEX and a CHECK's
# validation count as scans) and restocks, then exits: a backend's counts
# reach the statistics at once only when it ends.
consume_until_idle 1
[ "$(sql "SELECT count(*) FROM inventories")" = $ITEMS ] || die "restocks not decided"
sleep 0.5

TABLES="'carts','cart_messages','cart_outbox','cart_positions','orders','inventories'"
# seq_scans: "table count" per line, the tables that exist so far.
seq_scans() { sql "SELECT relname || ' ' || seq_scan FROM pg_stat_user_tables WHERE relname IN ($TABLES) ORDER BY relname"; }
outbox_scans() { sql "SELECT coalesce(sum(idx_scan), 0) FROM pg_stat_user_indexes WHERE indexrelname = 'cart_outbox_partition'"; }
before=$(seq_scans)
start_consumer a
start_carts a --expire-interval-ms 50 # it creates the carts topic
for ((i = 0; i < 100; i++)); do
    kcat -L -b "$ORDERLINE_BROKERS" -t "$IT_CARTS" 2>/dev/null | grep -q ' 4 partitions' && break
    sleep 0.1
done
# Created by order-carts' migrations; the statistics start from here.
for ((i = 0; i < 100; i++)); do [ -n "$(sql "SELECT 1 FROM pg_stat_user_indexes WHERE indexrelname = 'cart_outbox_partition'")" ] && break; sleep 0.1; done
outbox_before=$(outbox_scans) t_start=$SECONDS
produce_carts <"$IT_LOGDIR/carts.txt"
# answered: the first answers of all N carts are on the results topic.
for ((i = 0; i < 600; i++)); do
    got=$(cart_answers | grep -c '"type":"cart",' || true)
    [ "$got" -ge $N ] && break
    running "${CARTS_PIDS[a]}" || die "order-carts exited; see carts-a.log"
    sleep 0.2
done
[ "$got" -ge $N ] || die "$got of $N carts answered within 120 s"
stop_carts a
stop_consumer a
sleep 1 # a backend's last counts reach the statistics as it exits
after=$(seq_scans)
outbox_after=$(outbox_scans) t_run=$((SECONDS - t_start))
log "sequential scans before: $(echo $before); after: $(echo $after)"
log "outbox partition index scans: $outbox_before -> $outbox_after over ${t_run} s (gauges every 50 ms)"
# Before order-carts knew its pending rows, every gauge counted the table:
# 20 scans a second here. A start, its first read and a resync or two are
# legitimate.
[ $((outbox_after - outbox_before)) -le 12 ] ||
    die "the outbox was counted $((outbox_after - outbox_before)) times in ${t_run} s: a gauge is scanning it"
python3 - "$before" "$after" <<'PY' || die "sequential scans while deciding carts (table: before -> after)"
import sys
parse = lambda s: {t: int(c) for t, c in (l.split() for l in s.splitlines() if l.strip())}
b, a = parse(sys.argv[1]), parse(sys.argv[2])
grew = {t: (b.get(t, 0), c) for t, c in a.items() if c > b.get(t, 0)}
for t, (x, y) in sorted(grew.items()):
    print("  %s: %d -> %d" % (t, x, y), file=sys.stderr)
sys.exit(1 if grew else 0)
PY
# The run was the real thing: every cart accepted (stock was plenty), the
# outbox empty, and all or nothing by the ledger.
[ "$(sql "SELECT count(*) FROM cart_messages WHERE type = 'cart' AND status = 'accepted'")" = $N ] ||
    die "not every cart accepted: $(sql "SELECT status, count(*) FROM cart_messages GROUP BY 1")"
[ "$(sql "SELECT count(*) FROM cart_outbox")" = 0 ] || die "outbox not empty"
log "ok: $N carts decided with no sequential scan"

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
# The outbox is a queue: each row is deleted once in the log, so a read
# that is not a lookup by id visits every row deleted since the last
# vacuum:
#   - order-carts reads its gauges every --expire-interval-ms (50 here); it
#     may count the outbox only when it cannot know the figure (at start,
#     after a resync or a lost delivery). Over the run the outbox's index
#     entries read stay within a few times its rows inserted;
#   - every index of the outbox leads with id, so no plan can serve the
#     delete of delivered rows ("id = ANY") by reading a whole index; and
#     that delete, planned as PostgreSQL plans it after this run (custom
#     plans for one and two ids, and the generic plan, under the session's
#     settings), is a lookup on the primary key.
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
# "index entries read, rows inserted" of the outbox (all its indexes)
outbox_reads() { sql "SELECT coalesce(sum(idx_tup_read), 0) || ' ' || (SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'cart_outbox') FROM pg_stat_user_indexes WHERE relname = 'cart_outbox'"; }
before=$(seq_scans)
start_consumer a
start_carts a --expire-interval-ms 50 # it creates the carts topic
for ((i = 0; i < 100; i++)); do
    kcat -L -b "$ORDERLINE_BROKERS" -t "$IT_CARTS" 2>/dev/null | grep -q ' 4 partitions' && break
    sleep 0.1
done
read -r outbox_read0 outbox_ins0 < <(outbox_reads)
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
read -r outbox_read1 outbox_ins1 < <(outbox_reads)
log "sequential scans before: $(echo $before); after: $(echo $after)"
read_n=$((outbox_read1 - outbox_read0)) ins_n=$((outbox_ins1 - outbox_ins0))
log "outbox: $read_n index entries read for $ins_n rows inserted (gauges every 50 ms)"
# Each row is read about once by its delete. Before order-carts knew its
# pending rows, each gauge read the whole index, many times the rows.
[ $ins_n -gt 0 ] && [ $read_n -le $((3 * ins_n)) ] ||
    die "the outbox's indexes were read $read_n times for $ins_n rows: something scans it"
other=$(sql "SELECT string_agg(i.indexrelid::regclass::text, ' ') FROM pg_index i LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] WHERE i.indrelid = 'cart_outbox'::regclass AND a.attname IS DISTINCT FROM 'id'")
[ -z "$other" ] || die "cart_outbox has an index not led by id: $other"
plans=$(psql "$IT_DB" -X -A -t -q -v ON_ERROR_STOP=1 -f - <<'SQL'
SET enable_seqscan = off;
SET plan_cache_mode = force_custom_plan;
PREPARE d(bigint[]) AS DELETE FROM cart_outbox WHERE id = ANY($1::bigint[]);
EXPLAIN (COSTS OFF) EXECUTE d('{1}');
EXPLAIN (COSTS OFF) EXECUTE d('{1,2}');
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE d('{1,2}');
SQL
)
log "the outbox delete's plans: $(echo $plans)"
used=$(grep -oE '(Index Scan|Index Only Scan|Bitmap Index Scan) (using|on) [a-z_]+' <<<"$plans" | awk '{print $NF}' | sort -u)
[ "$used" = cart_outbox_pkey ] && ! grep -q 'Seq Scan' <<<"$plans" ||
    die "the delete of delivered outbox rows is not a primary key lookup: $(echo $plans)"
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

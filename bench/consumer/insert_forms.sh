#!/usr/bin/env bash
# PostgreSQL's time per row for order-consumer's ledger insert, in isolation
# from Kafka and the consumer: the same batches (4,000 rows, as the consumer
# writes at the defaults) inserted by each statement form in turn, on a
# database migrated to the current schema. Usage (stack up, under the lock):
#   bench/consumer/insert_forms.sh [ROUNDS] [BATCHES]
# Forms:
#   current     SQL_INSERT_DECISIONS as consumer/store.c has it now
#   from_unnest the arrays unnested in FROM (a FunctionScan; before 26e37f2)
#   no_lifecycle the same without target and hold_expires_at (0851c4a's columns)
# Rounds go round the forms so that none is always first. Each form's rows
# are compared (md5) with the first form's, so a faster form that writes
# something else fails the run. Prints one line per form: median ms per
# round, µs per row, and every round.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
ROUNDS=${1:-6} BATCHES=${2:-100}
: "${ORDERLINE_DB:?eval \"\$(scripts/stack env)\" first}"
DB=bench_insert_forms_$$
pg() { psql "$ORDERLINE_DB" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
pgd() { psql "$ORDERLINE_DB dbname=$DB" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
trap 'pg -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true' EXIT
pg -c "CREATE DATABASE $DB"
for f in schemas/migrations/*.sql; do pgd -f "$f" >/dev/null; done

# The statement as the consumer sends it: its C string literals, joined.
current=$(python3 - consumer/store.c <<'PY'
import re, sys
src = open(sys.argv[1]).read()
body = src[src.index("SQL_INSERT_DECISIONS[] ="):]
body = body[:body.index(";")]
print("".join(re.findall(r'"((?:[^"\\]|\\.)*)"', body)))
PY
)
cols="order_id, item, type, quantity, status, reason, remaining, error, kafka_topic, kafka_partition,"
cols+=" kafka_offset, processed_at"
from_unnest="INSERT INTO orders ($cols, target, hold_expires_at) SELECT v.o, v.i, v.t, v.q, v.s, v.r, v.rem,"
from_unnest+=" v.e, \$1, v.p, v.off, v.ts, v.tg, v.hx FROM unnest(\$2::text[], \$3::text[], \$4::text[],"
from_unnest+=" \$5::int[], \$6::text[], \$7::text[], \$8::int[], \$9::text[], \$10::int[], \$11::bigint[],"
from_unnest+=" \$12::timestamptz[], \$13::text[], \$14::timestamptz[]) AS v(o, i, t, q, s, r, rem, e, p, off, ts, tg, hx)"
no_lifecycle="INSERT INTO orders ($cols) SELECT v.o, v.i, v.t, v.q, v.s, v.r, v.rem, v.e, \$1, v.p, v.off,"
no_lifecycle+=" v.ts FROM unnest(\$2::text[], \$3::text[], \$4::text[], \$5::int[], \$6::text[], \$7::text[],"
no_lifecycle+=" \$8::int[], \$9::text[], \$10::int[], \$11::bigint[], \$12::timestamptz[]) AS v(o, i, t, q, s, r,"
no_lifecycle+=" rem, e, p, off, ts) WHERE \$13::text[] IS NOT NULL AND \$14::timestamptz[] IS NOT NULL"

# Batches like the consumer's: distinct ids, 10,000 items, 30% rejected,
# one timestamp for all (so the md5 can include it).
pgd -v nb="$BATCHES" <<'SQL'
CREATE UNLOGGED TABLE bat AS
SELECT b, array_agg('g2026-' || (b * 4000 + g) ORDER BY g) AS o,
       array_agg('item-' || lpad((abs(hashint4(b * 4000 + g)) % 10000)::text, 5, '0') ORDER BY g) AS i,
       array_agg('order'::text ORDER BY g) AS t, array_agg(1 + g % 5 ORDER BY g) AS q,
       array_agg(CASE WHEN g % 10 < 3 THEN 'rejected' ELSE 'accepted' END ORDER BY g) AS s,
       array_agg(CASE WHEN g % 10 < 3 THEN 'insufficient_stock' END ORDER BY g) AS r,
       array_agg(CASE WHEN g % 10 < 3 THEN NULL ELSE 100 END ORDER BY g) AS rem,
       array_agg(NULL::text ORDER BY g) AS e, array_agg((b * 4000 + g) % 8 ORDER BY g) AS p,
       array_agg((b * 4000 + g)::bigint ORDER BY g) AS off,
       array_agg('2026-12-07 00:00:00+00'::timestamptz ORDER BY g) AS ts,
       array_agg(NULL::text ORDER BY g) AS tg, array_agg(NULL::timestamptz ORDER BY g) AS hx
FROM generate_series(0, :nb - 1) AS b, generate_series(1, 4000) AS g GROUP BY b;
SQL

# once SQL -> ms for all batches (one transaction), the table emptied first
once() {
    pgd -c "TRUNCATE orders" >/dev/null
    pgd -v stmt="$1" <<'SQL' | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
SELECT set_config('bench.stmt', :'stmt', false) \gset
\timing on
DO $$ DECLARE r record; BEGIN FOR r IN SELECT * FROM bat ORDER BY b LOOP
  EXECUTE current_setting('bench.stmt')
    USING 'bench.orders', r.o, r.i, r.t, r.q, r.s, r.r, r.rem, r.e, r.p, r.off, r.ts, r.tg, r.hx;
END LOOP; END $$;
SQL
}
rows_md5() { pgd -c "SELECT md5(string_agg(o::text, ',' ORDER BY order_id)) FROM orders o"; }

forms=(current from_unnest no_lifecycle)
declare -A times
ref=
for form in "${forms[@]}"; do
    once "${!form}" >/dev/null
    sum=$(rows_md5)
    [ -z "$ref" ] && ref=$sum
    [ "$sum" = "$ref" ] || { echo "insert_forms: $form wrote other rows than ${forms[0]}" >&2; exit 1; }
done
for ((k = 0; k < ROUNDS; k++)); do
    for form in "${forms[@]}"; do times[$form]+="$(once "${!form}") "; done
    forms=("${forms[@]:1}" "${forms[0]}")
done
for form in current from_unnest no_lifecycle; do
    python3 - "$form" "$((BATCHES * 4000))" ${times[$form]} <<'PY'
import statistics, sys
form, rows, ms = sys.argv[1], int(sys.argv[2]), [float(x) for x in sys.argv[3:]]
m = statistics.median(ms)
print(f"{form:13} median {m:8.0f} ms  {m * 1000 / rows:5.2f} us/row  rounds: " + " ".join(f"{x:.0f}" for x in ms))
PY
done

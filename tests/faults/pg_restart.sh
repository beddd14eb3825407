#!/usr/bin/env bash
# PostgreSQL restart mid-stream: the consumer loses its connection (maybe in
# the middle of a batch), reconnects with backoff, re-reads its positions and
# carries on; the batch in flight is either committed or redone, never half.
source "$(dirname "$0")/../integration/lib.sh"
it_setup pg-restart
TOTAL=${TOTAL:-40000}
publish_workload "$TOTAL" 300 77

start_consumer a --batch-max 40
a=$CONSUMER_PID
wait_decided 3000
log "stopping PostgreSQL at $(decided_count) decided"
"$IT_ROOT/scripts/stack" down postgres >&2
sleep 3
"$IT_ROOT/scripts/stack" up postgres >&2
log "PostgreSQL is back"
wait_decided "$WORKLOAD_DISTINCT" 120
sleep 2
running "$a" || die "the consumer died during the outage"
stop_consumer a
reconnects=$(counter orderline_postgres_reconnects_total "${CONSUMER_STATS[a]}")
[ "$reconnects" -ge 1 ] || die "the consumer never reconnected"
check_invariants --expect-invalid "$WORKLOAD_JUNK"
echo "SUMMARY pg_restart: orders=$TOTAL junk=$WORKLOAD_JUNK outage_s=3 reconnects=$reconnects" \
     "decided=$(decided_count) consumer_restarts=0"

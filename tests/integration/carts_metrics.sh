#!/usr/bin/env bash
# order-carts' /metrics and /healthz on the real stack, against the facts:
# carts accepted, rejected, held then expired, held then confirmed (and the
# confirm repeated), a cancel of no cart; then every orderline_carts_ value
# is compared with what the database (carts, cart_messages, cart_outbox,
# cart_positions) and the topics hold. Then the overdue gauge: a held cart
# whose coordinator is frozen (SIGSTOP) past its deadline + 5 s is shown
# overdue once it runs again, and 0 once its expire is decided. Last,
# /healthz says 503 while the coordinator has no PostgreSQL connection.
source "$(dirname "$0")/lib.sh"
it_setup carts_metrics
W=(--results-topic "$IT_RESULTS" --partitions 4)

start_consumer a
wait_http "${CONSUMER_URL[a]}/healthz" "$CONSUMER_PID"
printf '%s\n' '{"order_id":"r-a","item":"apple","quantity":5,"type":"restock"}' \
    '{"order_id":"r-b","item":"pear","quantity":2,"type":"restock"}' \
    '{"order_id":"r-c","item":"cherry","quantity":1,"type":"restock"}' \
    '{"order_id":"r-f","item":"fig","quantity":1,"type":"restock"}' >"$IT_LOGDIR/restock.jsonl"
produce "${W[@]}" --wait=30 "$IT_LOGDIR/restock.jsonl" >/dev/null 2>>"$IT_LOGDIR/producer.log"

# The gauges are read every expire interval: 1.5 s here, so that a frozen
# coordinator's overdue cart stays visible for a scrape or more.
port=$(free_port) || die "no free port"
IT_PORTS+=("$port")
URL=http://127.0.0.1:$port
"$BUILD/order-carts" --db "$IT_DB" --orders-topic "$IT_ORDERS" --results-topic "$IT_RESULTS" --carts-topic "$IT_CARTS" \
    --group "$IT_GROUP.carts" --partitions 4 --expire-interval-ms 1500 --metrics-addr "127.0.0.1:$port" \
    --stats-file "$IT_LOGDIR/carts.prom" >>"$IT_LOGDIR/carts.log" 2>&1 &
CARTS=$!
wait_http "$URL/healthz" $CARTS
[ "$(counter orderline_carts_partitions_owned "$URL")" = 4 ] || die "partitions owned: $(counter orderline_carts_partitions_owned "$URL")"
[ "$(counter orderline_carts_group_member "$URL")" = 1 ] || die "not a group member by its /metrics"
[ "$(counter orderline_carts_up "$URL")" = 1 ] || die "orderline_carts_up is not 1 with /healthz 200"

cart() { printf '%s|%s\n' "$1" "$2" | produce_carts; }
# answered ORDER_ID...: waits (30 s at most) until each has a first cart answer.
answered() {
    local i
    for ((i = 0; i < 300; i++)); do
        cart_answers | python3 -c '
import json, sys
seen = {r["order_id"] for r in map(json.loads, sys.stdin) if not r["duplicate"]}
sys.exit(0 if set(sys.argv[1:]) <= seen else 1)' "$@" && return 0
        sleep 0.1
    done
    die "not all of $* answered within 30 s"
}
# settled: the outbox empty in the database and in the gauge (read every 1.5 s).
settled() {
    local i
    for ((i = 0; i < 300; i++)); do
        [ "$(sql "SELECT count(*) FROM cart_outbox")" = 0 ] &&
            [ "$(counter orderline_carts_outbox_pending "$URL")" = 0 ] && return 0
        sleep 0.1
    done
    die "the outbox did not empty within 30 s: $(sql "SELECT count(*) FROM cart_outbox") rows"
}

cart c1 '{"cart_id":"c1","lines":[{"item":"apple","quantity":2},{"item":"pear","quantity":1}]}'
cart c2 '{"cart_id":"c2","lines":[{"item":"apple","quantity":1},{"item":"pear","quantity":5}]}'
cart c3 '{"cart_id":"c3","lines":[{"item":"cherry","quantity":1}],"hold_s":1}'
cart c4 '{"cart_id":"c4","lines":[{"item":"apple","quantity":1}],"hold_s":60}'
cart c5 '{"type":"cart_cancel","order_id":"c5#cancel","cart_id":"c5"}'
cart c6 '{"cart_id":"c6","lines":[{"item":"apple","quantity":1}],"hold_s":600}'
answered c1 c2 c3 c4 c5#cancel c6
cart c4 '{"type":"cart_confirm","order_id":"c4#confirm","cart_id":"c4"}'
answered c4#confirm c3#expire
cart c4 '{"type":"cart_confirm","order_id":"c4#confirm","cart_id":"c4"}' # a repeat: a duplicate
for _ in $(seq 100); do
    [ "$(counter orderline_carts_duplicates_total "$URL")" -ge 1 ] && break
    sleep 0.1
done
settled
sleep 2 # a scan after the last decision: the gauges are the settled state's

# --- the values against the facts
M=$IT_LOGDIR/metrics.txt
curl -sf "$URL/metrics" >"$M" || die "no /metrics"
eq() { # NAME_WITH_LABELS FACT WHAT
    local v
    v=$(counter "$1" "$M") || die "$1: no such series"
    [ "$v" = "$2" ] || die "$1 = $v, but $3 = $2"
}
for t in cart cart_confirm cart_cancel cart_expire; do
    for s in accepted held rejected; do
        eq "orderline_carts_answers_total{type=\"$t\",status=\"$s\"}" \
            "$(sql "SELECT count(*) FROM cart_messages WHERE type = '$t' AND status = '$s'")" "cart_messages $t/$s"
    done
done
# A state's carts = the transitions into it less those out of it (a final
# state has no series out of it).
for st in holding held accepted confirmed rejected cancelled expired; do
    into=$(counter "orderline_carts_transitions_total{to=\"$st\"}" "$M") || die "no transitions into $st"
    out=0
    if grep -q "^orderline_carts_transitions_total{from=\"$st\"" "$M"; then
        out=$(counter "orderline_carts_transitions_total{from=\"$st\"}" "$M")
    fi
    net=$((into - out))
    fact=$(sql "SELECT count(*) FROM carts WHERE state = '$st'")
    [ "$net" = "$fact" ] || die "transitions into $st less out of it = $net, carts in $st = $fact"
done
eq orderline_carts_started_total "$(sql "SELECT count(*) FROM carts")" "carts rows"
eq orderline_carts_held "$(sql "SELECT count(*) FROM carts WHERE state = 'held'")" "held carts"
eq orderline_carts_holds_overdue 0 "overdue carts"
eq orderline_carts_outbox_pending "$(sql "SELECT count(*) FROM cart_outbox")" "cart_outbox rows"
topic_count() { kcat -C -b "$ORDERLINE_BROKERS" -t "$1" -e -q -f '%s\n' 2>/dev/null | grep -c -- "$2" || true; }
eq orderline_carts_messages_total "$(sql "SELECT sum(next_offset) FROM cart_positions")" "cart_positions' offsets"
eq orderline_carts_messages_total "$(topic_count "$IT_CARTS" .)" "messages on the carts topic"
eq orderline_carts_forwarded_total "$(topic_count "$IT_CARTS" '"type":"line_result"')" "line answers on the carts topic"
eq orderline_carts_expires_sent_total "$(topic_count "$IT_CARTS" '"type":"cart_expire"')" "expires on the carts topic"
eq orderline_carts_steps_sent_total "$(topic_count "$IT_ORDERS" '"order_id":"c[0-9]*#[0-9]*#')" "line steps on the orders topic"
eq orderline_carts_answers_sent_total "$(topic_count "$IT_RESULTS" '"topic":"carts"')" "cart answers on the results topic"
eq orderline_carts_duplicates_total "$(cart_answers | grep -c '"duplicate":true')" "duplicate cart answers"
eq orderline_carts_batch_size_sum "$(counter orderline_carts_messages_total "$M")" "messages decided"
[ "$(counter orderline_carts_batch_duration_seconds_count "$M")" = "$(counter orderline_carts_batch_size_count "$M")" ] ||
    die "batch duration and batch size count different batches"
eq orderline_carts_fenced_total 0 "fences (one coordinator)"
log "metrics = facts: $(sql "SELECT count(*) FROM cart_messages") answers, $(counter orderline_carts_messages_total "$M") messages in $(counter orderline_carts_batch_size_count "$M") batches, $(counter orderline_carts_forwarded_total "$M") line answers, held $(counter orderline_carts_held "$M")"

# --- overdue: frozen past a held cart's deadline + 5 s
# hold_s 3: reading the answer back (the whole results topic, by kcat) can
# take over a second on a loaded machine, and the freeze must begin before
# the deadline.
cart c7 '{"cart_id":"c7","lines":[{"item":"fig","quantity":1}],"hold_s":3}'
answered c7
kill -STOP $CARTS
t_stop=$(date +%s%N)
for _ in $(seq 150); do
    [ "$(sql "SELECT count(*) FROM carts WHERE cart_id = 'c7' AND state = 'held' AND hold_expires_at < now() - interval '5 seconds'")" = 1 ] && break
    sleep 0.1
done
[ "$(sql "SELECT state FROM carts WHERE cart_id = 'c7'")" = held ] || die "c7 is $(sql "SELECT state FROM carts WHERE cart_id = 'c7'") while its coordinator is frozen"
[ "$(sql "SELECT count(*) FROM carts WHERE state = 'held' AND hold_expires_at < now() - interval '5 seconds'")" = 1 ] ||
    die "c7 is not 5 s past its deadline after 15 s"
kill -CONT $CARTS
log "frozen $((($(date +%s%N) - t_stop) / 1000000)) ms, c7 held 5 s past its deadline"
max=0 back=
for ((i = 0; i < 200; i++)); do
    v=$(counter orderline_carts_holds_overdue "$URL" 2>/dev/null || echo 0)
    ((v > max)) && max=$v && log "overdue gauge $v after $((($(date +%s%N) - t_stop) / 1000000)) ms"
    if ((max > 0 && v == 0)); then back=$i; break; fi
    sleep 0.05
done
[ "$max" = 1 ] || die "the overdue gauge never showed c7 (max $max)"
[ -n "$back" ] || die "the overdue gauge stayed up after c7's expire"
answered 'c7#expire'
[ "$(sql "SELECT state FROM carts WHERE cart_id = 'c7'")" = expired ] || die "c7 did not expire"
[ "$(counter orderline_carts_holds_overdue "$URL")" = 0 ] || die "overdue after the expire"
log "overdue gauge: 1 after the freeze, 0 again once c7 expired"

# --- /healthz without PostgreSQL: the test's own database refuses
# connections, the coordinator's is ended; 503 until it may connect again.
base=$ORDERLINE_DB # the stack's own database: not the one refused
psql "$base" -X -q -v ON_ERROR_STOP=1 -c "ALTER DATABASE $IT_DBNAME ALLOW_CONNECTIONS false" \
    -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$IT_DBNAME'" >/dev/null
code=
for _ in $(seq 100); do
    code=$(curl -s -o "$IT_LOGDIR/healthz.body" -w '%{http_code}' "$URL/healthz")
    [ "$code" = 503 ] && break
    sleep 0.1
done
psql "$base" -X -q -v ON_ERROR_STOP=1 -c "ALTER DATABASE $IT_DBNAME ALLOW_CONNECTIONS true" >/dev/null
[ "$code" = 503 ] || die "/healthz answered $code without PostgreSQL"
[ "$(counter orderline_carts_up "$URL")" = 0 ] || die "orderline_carts_up is not 0 without PostgreSQL"
for _ in $(seq 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")" = 200 ] && break
    sleep 0.1
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")" = 200 ] || die "/healthz not 200 after PostgreSQL came back"
log "/healthz: 503 without PostgreSQL, 200 again after"

# --- the fence: another owner moved the stored positions on while this
# coordinator was frozen; its next batch must find out, count it, decide
# nothing of it and read the positions again.
kill -STOP $CARTS
sql "UPDATE cart_positions SET next_offset = next_offset + 1000" >/dev/null
before=$(sql "SELECT count(*) FROM cart_messages")
cart c9 '{"cart_id":"c9","lines":[{"item":"apple","quantity":1}]}'
kill -CONT $CARTS
for _ in $(seq 100); do
    [ "$(counter orderline_carts_fenced_total "$URL")" = 1 ] && break
    sleep 0.1
done
[ "$(counter orderline_carts_fenced_total "$URL")" = 1 ] || die "no fence counted after the positions moved on"
sleep 1
[ "$(sql "SELECT count(*) FROM cart_messages")" = "$before" ] || die "a fenced coordinator decided c9"
log "fenced once after the positions moved on, and decided nothing"

# The stats file at exit is /metrics' text: the counters as last served.
curl -sf "$URL/metrics" >"$M"
kill -TERM $CARTS
rc=0
wait $CARTS || rc=$?
[ $rc = 0 ] || die "order-carts exited $rc"
for c in orderline_carts_messages_total orderline_carts_answers_total orderline_carts_forwarded_total \
    orderline_carts_store_retries_total orderline_carts_batch_size_count; do
    [ "$(counter $c "$M")" = "$(counter $c "$IT_LOGDIR/carts.prom")" ] ||
        die "$c: /metrics said $(counter $c "$M"), the stats file $(counter $c "$IT_LOGDIR/carts.prom")"
done
stop_consumer a
log "ok"

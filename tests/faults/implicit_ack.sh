#!/usr/bin/env bash
# The lost-acknowledgement race, provoked on purpose (issue 11).
#
# Each round publishes 300 orders for one item into a new 64-partition topic
# the moment the metadata names a leader (ORDERLINE_TEST_SKIP_TOPIC_READY=1
# skips the wait for the leader to answer), with one message per request,
# retry.backoff.ms=1 and five requests in flight (librdkafka's default; the
# project's producers default to one, which prevents the race), so five
# requests for the partition are in flight while the broker creates its log. The first ones fail (NOT_LEADER_OR_FOLLOWER); a
# later one lands first, the broker accepts its sequence (it has no state for
# the producer yet), and librdkafka reports the earlier messages delivered
# with no error and no offset ("implicitly acked"), though they are not in
# the log.
#
# The check is the producer's claim: exit 0 means every order is in the log,
# at the offset its acknowledgement named (tests/integration/check_invariants.py
# --acks-log --log-only). Rounds run until the race has happened in
# WANT_PROVOKED rounds (at most MAX_ROUNDS); a run that never provokes it
# fails, since it would have tested nothing.
#
# ORDER_PRODUCER=path runs another build (e.g. the old code, which counted
# those reports as delivered and fails here).
source "$(dirname "$0")/../integration/lib.sh"
it_setup implicit-ack
# Some 2,000 partitions: delete them whatever happens, or every later
# broker start loads them.
cleanup_topics() {
    local rc=$?
    "$IT_ROOT/scripts/stack" delete-topics "${IT_ORDERS//./\\.}\\..*" >/dev/null 2>&1 || true
    (exit $rc)
    it_cleanup
}
trap cleanup_topics EXIT
PRODUCER=${ORDER_PRODUCER:-$BUILD/order-producer}
MAX_ROUNDS=${MAX_ROUNDS:-60}
MIN_ROUNDS=${MIN_ROUNDS:-10}
WANT_PROVOKED=${WANT_PROVOKED:-3}
N=300
for ((i = 0; i < N; i++)); do
    printf '{"order_id":"ia-%d","item":"hot","quantity":1,"type":"order"}\n' "$i"
done >"$IT_LOGDIR/orders.jsonl"
acks_flag=1
"$PRODUCER" --help 2>&1 | grep -q -- '--acks-log' || acks_flag=0

provoked=0 implicit=0 rounds=0 claimed=0
for ((r = 1; r <= MAX_ROUNDS; r++)); do
    rounds=$r
    topic="$IT_ORDERS.r$r"
    extra=()
    [ $acks_flag -eq 1 ] && extra=(--acks-log "$IT_LOGDIR/acks-$r.jsonl")
    rc=0
    ORDERLINE_TEST_SKIP_TOPIC_READY=1 "$PRODUCER" --orders-topic "$topic" --partitions 64 \
        -X max.in.flight.requests.per.connection=5 -X linger.ms=0 -X batch.num.messages=1 -X retry.backoff.ms=1 -X compression.type=none \
        "${extra[@]}" "$IT_LOGDIR/orders.jsonl" 2>"$IT_LOGDIR/producer-$r.log" || rc=$?
    [ $rc -eq 0 ] || [ $rc -eq 4 ] || die "round $r: order-producer exited $rc"
    in_log=$(timeout 60 kcat -C -b "$ORDERLINE_BROKERS" -t "$topic" -e -q -f '%s\n' | grep -o '"order_id": *"[^"]*"' | sort -u | wc -l)
    n_implicit=0
    if [ $acks_flag -eq 1 ]; then
        n_implicit=$(grep -c '"offset":-1[0-9]*,"error":null' "$IT_LOGDIR/acks-$r.jsonl" || true)
    elif [ "$in_log" -lt $N ]; then
        n_implicit=$((N - in_log)) # the old build keeps no acks log: what is missing tells
    fi
    if [ "$n_implicit" -gt 0 ]; then
        provoked=$((provoked + 1))
        implicit=$((implicit + n_implicit))
    fi
    if [ $rc -eq 0 ]; then
        claimed=$((claimed + N))
        [ "$in_log" -eq $N ] || die "round $r: order-producer exited 0 (all $N delivered) but $((N - in_log)) orders are not in $topic"
    fi
    if [ $acks_flag -eq 1 ]; then
        python3 "$IT_ROOT/tests/integration/check_invariants.py" --brokers "$ORDERLINE_BROKERS" --db "$IT_DB" \
            --orders-topic "$topic" --acks-log "$IT_LOGDIR/acks-$r.jsonl" --log-only >"$IT_LOGDIR/check-$r.txt" ||
            { cat "$IT_LOGDIR/check-$r.txt"; die "round $r: acknowledged orders missing from the log"; }
    fi
    log "round $r: exit $rc, $in_log of $N in the log, $n_implicit reports without an offset"
    [ $r -ge "$MIN_ROUNDS" ] && [ $provoked -ge "$WANT_PROVOKED" ] && break
done
[ $provoked -gt 0 ] || die "the race never happened in $rounds rounds: this run tested nothing"

# The consumer's answers: it starts on orders already in the log and
# creates its results topic, 600 partitions so that the broker creates the
# answer partition's log late, and answers at once (the same switch).
# INFLIGHT=1 is the project's default: the race cannot happen and answers
# stay in order. INFLIGHT=5 (librdkafka's default) provokes it now and then:
# every unconfirmed answer is re-sent, none is missing, but the re-sent ones
# land after later answers.
CONSUMER=${ORDER_CONSUMER:-$BUILD/order-consumer}
{ echo '{"order_id":"ia-restock","item":"hot","quantity":100000,"type":"restock"}'; cat "$IT_LOGDIR/orders.jsonl"; } \
    >"$IT_LOGDIR/consumer-orders.jsonl"
consumer_round() { # NAME INFLIGHT: prints the unconfirmed count; checks the invariants
    local name=$1 inflight=$2 db="ia_$1_$$_$RANDOM" relax=()
    psql "$ORDERLINE_DB" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db" >/dev/null
    local t="$IT_ORDERS.$name"
    "$PRODUCER" --orders-topic "$t.o" --partitions 4 "$IT_LOGDIR/consumer-orders.jsonl" 2>>"$IT_LOGDIR/producer.log" ||
        die "$name: publishing the orders failed"
    ORDERLINE_TEST_SKIP_TOPIC_READY=1 "$CONSUMER" --db "$ORDERLINE_DB dbname=$db" --orders-topic "$t.o" \
        --results-topic "$t.r" --dlq-topic "$t.d" --group "$t" --partitions 600 -X linger.ms=0 \
        -X batch.num.messages=1 -X retry.backoff.ms=1 -X max.in.flight.requests.per.connection="$inflight" \
        --idle-exit 2 --stats-file "$IT_LOGDIR/stats-$name.txt" 2>>"$IT_LOGDIR/consumer-$name.log" ||
        die "$name: order-consumer failed"
    [ "$inflight" -gt 1 ] && relax=(--late-answers-ok)
    python3 "$IT_ROOT/tests/integration/check_invariants.py" --brokers "$ORDERLINE_BROKERS" \
        --db "$ORDERLINE_DB dbname=$db" --orders-topic "$t.o" --results-topic "$t.r" --dlq-topic "$t.d" \
        --expect-invalid 0 "${relax[@]}" >"$IT_LOGDIR/check-$name.txt" ||
        { cat "$IT_LOGDIR/check-$name.txt" >&2; die "$name: invariants violated"; }
    psql "$ORDERLINE_DB" -X -q -c "DROP DATABASE $db" >/dev/null 2>&1 || true
    counter orderline_kafka_unconfirmed_deliveries_total "$IT_LOGDIR/stats-$name.txt"
}
strict=$(consumer_round strict 1)
[[ $strict =~ ^[0-9]+$ ]] || die "no orderline_kafka_unconfirmed_deliveries_total in the consumer's --stats-file"
[ "$strict" = 0 ] || die "one request in flight, yet $strict answers were acknowledged without an offset"
relaxed=0 tries=0
while [ $tries -lt "${CONSUMER_TRIES:-3}" ] && [ "$relaxed" -eq 0 ]; do
    tries=$((tries + 1))
    relaxed=$(consumer_round "relaxed$tries" 5)
    [[ $relaxed =~ ^[0-9]+$ ]] || die "no orderline_kafka_unconfirmed_deliveries_total in the consumer's --stats-file"
    log "consumer with 5 in flight, try $tries: $relaxed answers acknowledged without an offset, all re-sent"
done
# The consumer's race is rarer than the producer's (about 1 run in 3 here);
# a run where it never came is reported, not failed: the producer rounds
# above already failed unless the race happened.
[ "$relaxed" -gt 0 ] || log "NOTE: the consumer's race did not happen in $tries tries; its re-send was not exercised"
echo "invariants: OK"
echo "SUMMARY implicit_ack: rounds=$rounds provoked=$provoked reports_without_offset=$implicit" \
     "orders_claimed_delivered=$claimed lost=0 answers_unconfirmed_inflight1=$strict" \
     "answers_unconfirmed_inflight5=$relaxed consumer_tries=$tries"

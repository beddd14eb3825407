#!/usr/bin/env bash
# A real Prometheus (Debian's) on the real stack: it scrapes an
# order-consumer and an order-gateway on loopback every second with the
# rules of deploy/prometheus/orderline.rules.yml, unchanged, while orders
# stream through the gateway at a steady pace.
# - every alert of the rules file is loaded, none fires while all is well;
# - every target of every panel of deploy/grafana/orderline.json returns
#   data (a finite value) from it;
# - SIGSTOP the consumer: OrderlineDecisionsStalled fires within its minute
#   plus a scrape and an evaluation (and OrderlineConsumerDown with it);
# - SIGCONT: both resolve.
# Facts come from Prometheus's HTTP API only.
source "$(dirname "$0")/lib.sh"
IT_PARTITIONS=4
it_setup prometheus
LIVE="$IT_ROOT/tests/prometheus/live.py"
RULES="$IT_ROOT/deploy/prometheus/orderline.rules.yml"
STALL_WINDOW=60 # the minute in OrderlineDecisionsStalled's expression
SLACK=${PROMETHEUS_IT_SLACK:-3}
ITEMS=40
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }
alert_is() { python3 "$LIVE" alert "$PROM" "$1" "$2"; }

# Stock first, so that the stream's orders are accepted.
for ((i = 0; i < ITEMS; i++)); do
    printf '{"order_id":"stock-%03d","type":"restock","item":"item-%03d","quantity":1000000}\n' "$i" "$i"
done | produce 2>>"$IT_LOGDIR/producer.log" || die "restocks not delivered"
start_consumer a
CONSUMER=$CONSUMER_PID
wait_assigned a
API_PORT=$(free_port); IT_PORTS+=("$API_PORT")
start_gateway_named g --listen "127.0.0.1:$API_PORT"

PROM_PORT=$(free_port); IT_PORTS+=("$PROM_PORT")
PROM=http://127.0.0.1:$PROM_PORT
cat >"$IT_LOGDIR/prometheus.yml" <<YML
global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
rule_files: ["$RULES"]
scrape_configs:
  - job_name: orderline-consumer
    static_configs: [{targets: ["${CONSUMER_URL[a]#http://}"]}]
  - job_name: orderline-gateway
    static_configs: [{targets: ["${GATEWAY_METRICS[g]#http://}"]}]
YML
prometheus --config.file="$IT_LOGDIR/prometheus.yml" --storage.tsdb.path="$IT_LOGDIR/tsdb" \
    --storage.tsdb.retention.time=10m --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn \
    >>"$IT_LOGDIR/prometheus.log" 2>&1 &
PROM_PID=$!
wait_http "$PROM/-/ready" "$PROM_PID"
python3 "$LIVE" rules "$PROM" "$RULES" >&2 || die "Prometheus did not load every alert"

python3 "$LIVE" stream "http://127.0.0.1:$API_PORT" "$ITEMS" 20 "$IT_LOGDIR/stream.json" &
STREAM=$!
# Both targets up and a few samples in every [1m] window.
for ((i = 0; i < 30; i++)); do
    ups=$(curl -sf "$PROM/api/v1/query" --data-urlencode 'query=sum(up{job=~"orderline-.*"})' |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')
    [ "$ups" = 2 ] && break
    sleep 0.5
done
[ "$ups" = 2 ] || die "Prometheus does not see both targets up ($ups)"
sleep 8
log "every dashboard panel against the live Prometheus"
python3 "$LIVE" panels "$PROM" "$IT_ROOT/deploy/grafana/orderline.json" >&2 || die "a dashboard panel has no data"
for a in OrderlineDecisionsStalled OrderlineConsumerDown; do
    alert_is "$a" none || die "$a is pending or firing while the consumer decides"
done

log "SIGSTOP the consumer"
kill -STOP "$CONSUMER"
stopped=$(now)
limit=$((STALL_WINDOW + 1 + 1 + SLACK)) # the window, a scrape, an evaluation
fired=
while [ "$(since "$stopped" | cut -d. -f1)" -lt "$limit" ]; do
    if alert_is OrderlineDecisionsStalled firing; then fired=$(since "$stopped"); break; fi
    sleep 0.25
done
[ -n "$fired" ] || { kill -CONT "$CONSUMER"; die "OrderlineDecisionsStalled not firing ${limit}s after SIGSTOP"; }
log "OrderlineDecisionsStalled firing ${fired}s after SIGSTOP"
down=
while [ "$(since "$stopped" | cut -d. -f1)" -lt "$limit" ]; do
    if alert_is OrderlineConsumerDown firing; then down=$(since "$stopped"); break; fi
    sleep 0.25
done
[ -n "$down" ] || { kill -CONT "$CONSUMER"; die "OrderlineConsumerDown not firing ${limit}s after SIGSTOP"; }
log "OrderlineConsumerDown firing ${down}s after SIGSTOP"

log "SIGCONT"
kill -CONT "$CONSUMER"
resumed=$(now)
resolved=
for ((i = 0; i < 120; i++)); do
    if alert_is OrderlineDecisionsStalled none; then resolved=$(since "$resumed"); break; fi
    sleep 0.25
done
[ -n "$resolved" ] || die "OrderlineDecisionsStalled still firing 30 s after SIGCONT"
log "OrderlineDecisionsStalled resolved ${resolved}s after SIGCONT"
for ((i = 0; i < 120; i++)); do
    alert_is OrderlineConsumerDown none && break
    sleep 0.25
done
alert_is OrderlineConsumerDown none || die "OrderlineConsumerDown still firing 30 s after SIGCONT"
log "OrderlineConsumerDown resolved $(since "$resumed")s after SIGCONT"

kill -TERM "$STREAM"
wait "$STREAM" || die "the order stream failed"
log "stream: $(cat "$IT_LOGDIR/stream.json")"
stop_gateway g
stop_consumer a
kill -TERM "$PROM_PID"
wait "$PROM_PID" || die "prometheus exited $?"
log "fired ${fired}s after SIGSTOP (window ${STALL_WINDOW}s), resolved ${resolved}s after SIGCONT; every panel had data"

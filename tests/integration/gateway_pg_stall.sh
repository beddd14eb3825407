#!/usr/bin/env bash
# order-gateway with PostgreSQL stopped dead (SIGSTOP to the stack's
# postmaster and its children, at most 5 s; SIGCONT in the exit trap, on
# failure too): the ledger is asked off the HTTP threads and every lookup
# ends by its deadline, so GET / (no database) answers at once, /healthz
# says 503 within 2 s, GET /orders/{id} gets 503 within 2 s, all three sent
# at once; once PostgreSQL runs again, /healthz says 200 again. Facts come
# from HTTP codes and their times.
source "$(dirname "$0")/lib.sh"
it_setup gateway_pg_stall
PGDATA_DIR=${ORDERLINE_PG_DATA:-$IT_ROOT/.stack/pg/data}
[ -r "$PGDATA_DIR/postmaster.pid" ] || die "no postmaster.pid in $PGDATA_DIR"
STOPPED=()
pg_cont() { [ ${#STOPPED[@]} -eq 0 ] || kill -CONT "${STOPPED[@]}" 2>/dev/null || true; STOPPED=(); }
# The gateway is killed here too: it must not outlive a failed run (and
# with it this test's hold on the stack lock).
trap 'rc=$?; pg_cont; [ -z "${GATEWAY_PIDS[g]:-}" ] || { kill -9 "${GATEWAY_PIDS[g]}" 2>/dev/null || true; }; (exit $rc); it_cleanup' EXIT
pg_stop() {
    local postmaster
    postmaster=$(head -n 1 "$PGDATA_DIR/postmaster.pid")
    STOPPED=("$postmaster" $(pgrep -P "$postmaster"))
    kill -STOP "${STOPPED[@]}"
}

PORT=$(free_port); IT_PORTS+=("$PORT")
URL=http://127.0.0.1:$PORT
start_gateway_named g --listen "127.0.0.1:$PORT"
MURL=${GATEWAY_METRICS[g]}
# A first lookup, so the gateway's connections are in use before the stop.
[ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$URL/orders/warm")" = 404 ] || die "GET /orders/warm before the stop"

get() { # NAME URL: "CODE SECONDS" in NAME.t
    curl -s -m 5 -o "$IT_LOGDIR/$1.body" -w '%{http_code} %{time_total}' "$2" >"$IT_LOGDIR/$1.t" || true
}
pg_stop
get form "$URL/" & p1=$!
get healthz "$MURL/healthz" & p2=$!
get order "$URL/orders/x" & p3=$!
wait $p1 $p2 $p3
pg_cont
check() { # NAME CODE MAX_SECONDS
    read -r code secs <"$IT_LOGDIR/$1.t" || true
    [ "$code" = "$2" ] || die "$1 with PostgreSQL stopped: HTTP ${code:-none} after ${secs:-?} s, expected $2"
    python3 -c 'import sys; sys.exit(float(sys.argv[1]) > float(sys.argv[2]))' "$secs" "$3" ||
        die "$1 with PostgreSQL stopped: HTTP $code after $secs s, expected within $3 s"
    log "$1: HTTP $code in $secs s"
}
check form 200 0.5
check healthz 503 2
check order 503 2
for ((i = 0; i < 100; i++)); do
    [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$MURL/healthz")" = 200 ] && break
    sleep 0.1
done
[ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$MURL/healthz")" = 200 ] || die "/healthz after PostgreSQL came back"
[ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$URL/orders/x")" = 404 ] || die "GET /orders/x after PostgreSQL came back"
stop_gateway g
log "ok"

#!/usr/bin/env bash
# The order form at / in headless Chromium (tests/browser/order_form.mjs):
# the seed's race from two pages, and a double click that orders once.
# Screenshots are kept in $BUILD/artifacts/browser/.
source "$(dirname "$0")/lib.sh"
it_setup browser
command -v node >/dev/null || die "node is missing (scripts/setup installs it)"
[ -d "$IT_ROOT/tests/browser/node_modules/playwright-core" ] || die "playwright-core is missing: run scripts/setup"
PORT=$((20000 + RANDOM % 10000))
ARTIFACTS="$BUILD/artifacts/browser"
mkdir -p "$ARTIFACTS"
rm -f "$ARTIFACTS"/*.png

start_consumer a
printf '%s\n' '{"order_id": "r-1", "item": "widget", "quantity": 5, "type": "restock"}' \
    '{"order_id": "r-2", "item": "gizmo", "quantity": 10, "type": "restock"}' |
    produce --results-topic "$IT_RESULTS" --wait=60 >/dev/null 2>>"$IT_LOGDIR/producer.log" || die "restock: exit $?"
"$BUILD/order-gateway" --db "$IT_DB" --orders-topic "$IT_ORDERS" --results-topic "$IT_RESULTS" \
    --listen "127.0.0.1:$PORT" >>"$IT_LOGDIR/gateway.log" 2>&1 &
gw=$!
for ((i = 0; i < 300; i++)); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
node "$IT_ROOT/tests/browser/order_form.mjs" "http://127.0.0.1:$PORT/" widget gizmo "$ARTIFACTS" 2>&1 |
    tee "$IT_LOGDIR/browser.log" >&2
[ "${PIPESTATUS[0]}" -eq 0 ] || die "the browser test failed"
for f in form-a form-b form-double-click; do [ -s "$ARTIFACTS/$f.png" ] || die "no screenshot $f.png"; done
[ "$(sql "SELECT count FROM inventories WHERE name = 'widget'")" = 2 ] || die "widget stock is not 2"
[ "$(sql "SELECT count(*) FROM orders WHERE item = 'gizmo' AND type = 'order'")" = 1 ] || die "the double click ordered twice"
kill -TERM "$gw"
wait "$gw" || die "gateway exit $?"
stop_consumer a
log "ok: screenshots in $ARTIFACTS"

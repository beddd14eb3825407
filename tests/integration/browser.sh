#!/usr/bin/env bash
# The order form at / in headless Chromium (tests/browser/order_form.mjs):
# the seed's race from two pages, a double click that orders once, and
# its "Cancel this order" clicked twice, which gives the unit back once.
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
start_gateway_named gw --listen "127.0.0.1:$PORT"
node "$IT_ROOT/tests/browser/order_form.mjs" "http://127.0.0.1:$PORT/" widget gizmo "$ARTIFACTS" 2>&1 |
    tee "$IT_LOGDIR/browser.log" >&2
[ "${PIPESTATUS[0]}" -eq 0 ] || die "the browser test failed"
for f in form-a form-b form-double-click form-cancelled; do [ -s "$ARTIFACTS/$f.png" ] || die "no screenshot $f.png"; done
[ "$(sql "SELECT count FROM inventories WHERE name = 'widget'")" = 2 ] || die "widget stock is not 2"
[ "$(sql "SELECT count(*) FROM orders WHERE item = 'gizmo' AND type = 'order'")" = 1 ] || die "the double click ordered twice"
[ "$(sql "SELECT count FROM inventories WHERE name = 'gizmo'")" = 10 ] || die "gizmo stock is not 10 after the cancel"
[ "$(sql "SELECT count(*) FROM orders WHERE item = 'gizmo' AND type = 'cancel' AND status = 'accepted'")" = 1 ] ||
    die "the cancel was not applied exactly once"
stop_gateway gw
stop_consumer a
log "ok: screenshots in $ARTIFACTS"

#!/usr/bin/env bash
# The binaries of a built image, run from the image's own root file system
# against the embedded stack: every binary's libraries resolve there and its
# --help exits 0; the image's order-producer publishes generated orders, its
# order-consumer decides them, its order-gateway answers a POST with the
# decision, its order-results reads every answer and its order-audit finds
# nothing to report. Facts: the ledger, the topics (check_invariants.py),
# the consumer's stats file, HTTP codes and exit statuses.
#
# Usage (as root, in a mount namespace of its own):
#   unshare --mount --propagation private bash tests/image/smoke.sh ROOTFS
# ROOTFS is a writable mount of a container made from the image (podman
# create + podman mount; scripts/image-check does that). podman run does not
# work on this kind of machine, so each binary runs under chroot, as the
# image's user orderline; the host's network (and so the stack) is shared.
source "$(dirname "$0")/../integration/lib.sh"
ROOTFS=${1:?usage: smoke.sh ROOTFS}
BINARIES=(order-producer order-consumer order-gateway order-results order-audit)
ORDERS=${IMAGE_SMOKE_ORDERS:-300}

[ "$(id -u)" -eq 0 ] || die "needs root (chroot)"
[ -x "$ROOTFS/usr/local/bin/order-consumer" ] || die "$ROOTFS holds no /usr/local/bin/order-consumer"
it_setup image-smoke

# The test's directory appears at the same path inside the image's root, so
# lib.sh's paths (stats files, logs) mean the same file on both sides.
chmod 777 "$IT_LOGDIR"
mkdir -p "$ROOTFS$IT_LOGDIR"
mount --bind "$IT_LOGDIR" "$ROOTFS$IT_LOGDIR"
smoke_cleanup() {
    local rc=$?
    jobs -p | xargs -r kill -9 2>/dev/null || true
    wait 2>/dev/null || true
    umount "$ROOTFS$IT_LOGDIR" 2>/dev/null || true
    set +e # it_cleanup reads the status from $?
    (exit $rc)
    it_cleanup
}
trap smoke_cleanup EXIT

# BUILD holds one wrapper per binary: lib.sh's helpers start the image's
# binaries instead of build/'s. chroot execs the binary, so a wrapper's pid
# is the binary's.
user=$(awk -F: '$1 == "orderline" { print $3 ":" $4 }' "$ROOTFS/etc/passwd")
[ -n "$user" ] || die "the image has no user orderline"
BUILD=$IT_LOGDIR/bin
mkdir "$BUILD"
for b in "${BINARIES[@]}"; do
    printf '#!/bin/sh\nexec chroot --userspec=%s %q /usr/local/bin/%s "$@"\n' "$user" "$ROOTFS" "$b" >"$BUILD/$b"
    chmod 755 "$BUILD/$b"
done

for b in "${BINARIES[@]}"; do
    [ -x "$ROOTFS/usr/local/bin/$b" ] || die "the image has no /usr/local/bin/$b"
    chroot "$ROOTFS" ldd "/usr/local/bin/$b" >"$IT_LOGDIR/ldd-$b.txt" || die "ldd $b failed in the image"
    ! grep -q 'not found' "$IT_LOGDIR/ldd-$b.txt" || die "$b: libraries missing in the image: $(grep 'not found' "$IT_LOGDIR/ldd-$b.txt")"
    "$BUILD/$b" --help >"$IT_LOGDIR/help-$b.txt" 2>&1 || die "$b --help exited $?"
done
log "all ${#BINARIES[@]} binaries load in the image and answer --help"

# A short real decide: the image's producer and consumer, fresh topics and database.
"$BUILD/order-producer" --generate "$ORDERS" --items 6 --seed 21 --restock-pct 20 --duplicate-pct 5 \
    >"$IT_LOGDIR/orders.jsonl" || die "order-producer --generate failed"
distinct=$(grep -o '"order_id":"[^"]*"' "$IT_LOGDIR/orders.jsonl" | sort -u | wc -l)
[ "$distinct" -gt 0 ] || die "order-producer --generate produced no orders"
start_consumer main
produce <"$IT_LOGDIR/orders.jsonl" 2>>"$IT_LOGDIR/producer.log" || die "order-producer failed to publish"
wait_decided "$distinct" 60

# The image's gateway: one order over HTTP, answered with its decision.
port=$(free_port) || die "no free port for the gateway"
IT_PORTS+=("$port")
start_gateway_named gw --listen "127.0.0.1:$port"
code=$(curl -s -o "$IT_LOGDIR/post.body" -w '%{http_code}' -X POST "http://127.0.0.1:$port/orders" \
    -H 'Content-Type: application/json' -H 'Prefer: wait=20' \
    --data-binary '{"order_id": "image-smoke-1", "item": "item-00001", "quantity": 1}') || true
case $code in
    201 | 409) ;;
    *) die "POST /orders through the image's gateway: HTTP $code, expected 201 or 409: $(cat "$IT_LOGDIR/post.body")" ;;
esac
[ "$(sql "SELECT count(*) FROM orders WHERE order_id = 'image-smoke-1'")" = 1 ] ||
    die "the gateway's order is not in the ledger once"
stop_gateway gw
stop_consumer main

# Every message once: the generated ones and the gateway's, duplicates apart.
decided=$(counter orderline_orders_total "${CONSUMER_STATS[main]}")
dups=$(counter orderline_duplicates_total "${CONSUMER_STATS[main]}")
[ "$decided" -eq $((distinct + 1)) ] && [ $((decided + dups)) -eq $((ORDERS + 1)) ] ||
    die "the consumer's stats count $decided decided and $dups duplicates, expected $((distinct + 1)) and $((ORDERS - distinct))"
[ "$(decided_count)" -eq $((distinct + 1)) ] || die "$(decided_count) order_ids in the ledger, expected $((distinct + 1))"
check_invariants
"$BUILD/order-results" --results-topic "$IT_RESULTS" --from-beginning --format json >"$IT_LOGDIR/results.jsonl" ||
    die "order-results exited $?"
shown=$(wc -l <"$IT_LOGDIR/results.jsonl")
on_topic=$(results_json | wc -l)
[ "$shown" -eq "$on_topic" ] && [ "$shown" -eq $((ORDERS + 1)) ] ||
    die "order-results showed $shown answers; the topic holds $on_topic, expected $((ORDERS + 1))"
"$BUILD/order-audit" --db "$IT_DB" --orders-topic "$IT_ORDERS" --results-topic "$IT_RESULTS" \
    >"$IT_LOGDIR/audit.txt" 2>&1 || die "order-audit exited $? (0: all agree)"
echo "SUMMARY image_smoke: binaries=${#BINARIES[@]} orders=$ORDERS distinct=$distinct decided=$decided gateway=$code answers=$shown"

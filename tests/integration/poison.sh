#!/usr/bin/env bash
# Poison messages never block a partition: every kind of bad message, on the
# same item (so the same partition) as good ones around it. Each bad message
# is copied unchanged to the DLQ with its error and origin; those with a
# readable order_id are answered "invalid" with an error field.
source "$(dirname "$0")/lib.sh"
it_setup poison

echo '{"order_id":"stock","item":"widget","quantity":100,"type":"restock"}' | produce 2>/dev/null
{
    echo 'widget|not json'
    echo 'widget|[1,2,3]'
    echo 'widget|"a string"'
    echo 'widget|{"order_id":"p-missing-qty","item":"widget"}'
    echo 'widget|{"order_id":"p-zero","item":"widget","quantity":0}'
    echo 'widget|{"order_id":"p-neg","item":"widget","quantity":-4}'
    echo 'widget|{"order_id":"p-huge","item":"widget","quantity":1000001}'
    echo 'widget|{"order_id":"p-frac","item":"widget","quantity":2.5}'
    echo 'widget|{"order_id":"p-str","item":"widget","quantity":"3"}'
    echo 'widget|{"order_id":"p-type","item":"widget","quantity":1,"type":"refund"}'
    echo 'widget|{"order_id":"p-key","item":"gadget","quantity":1}'
    echo 'widget|{"order_id":"p-dupkey","item":"widget","quantity":1,"quantity":2}'
    echo "widget|{\"order_id\":\"p-long\",\"item\":\"$(printf 'x%.0s' $(seq 1 65))\",\"quantity\":1}"
    echo "widget|{\"order_id\":\"$(printf 'y%.0s' $(seq 1 129))\",\"item\":\"widget\",\"quantity\":1}"
    printf 'widget|{"order_id":"p-utf8","item":"wid\xffget","quantity":1}\n'
} | produce_raw
printf '%s\n' '{"order_id":"good-1","item":"widget","quantity":1}' '{"order_id":"good-2","item":"widget","quantity":2}' \
    | produce 2>/dev/null
consume_until_idle 2

accepted=$(sql "SELECT string_agg(order_id, ',' ORDER BY order_id) FROM orders WHERE status = 'accepted'")
[ "$accepted" = "good-1,good-2,stock" ] || die "orders after the poison were not decided: $accepted"
[ "$(sql "SELECT count FROM inventories WHERE name = 'widget'")" = 97 ] || die "wrong stock"
invalid=$(results_json | grep -c '"reason":"invalid"')
[ "$invalid" = 9 ] || die "expected 9 invalid answers (those with a readable order_id), got $invalid"
results_json | grep '"order_id":"p-zero"' | grep -q '"error":"field '"'"'quantity'"'"' must be an integer from 1 to 1000000, got 0"' \
    || die "answer to p-zero lacks a clear error"
dlq=$(kcat -C -b "$ORDERLINE_BROKERS" -t "$IT_DLQ" -e -q -f '%h\n' | grep -c 'orderline.source.offset=')
[ "$dlq" = 15 ] || die "expected 15 DLQ copies with origin headers, got $dlq"
check_invariants --expect-invalid 15 || die "checker"

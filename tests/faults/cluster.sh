#!/usr/bin/env bash
# Broker faults on the three-node cluster (scripts/stack up --kafka-nodes 3:
# RF 3, min.insync.replicas 2, unclean election off), each with producers
# and a consumer running, each followed by the invariant checker and the
# account of every acknowledged write (order-producer --acks-log):
#   leader_kill  kill -9 the leader of the busiest orders partition
#                mid-stream, restart it 5 s later;
#   pause        SIGSTOP a broker past its session with the controller
#                (broker.session.timeout.ms, 9 s), resume it;
#   two_down     kill -9 two of three: a producer started then gets errors
#                and no acknowledgement, the consumer stalls; both come
#                back and everything is decided once;
#   rolling      a controlled restart of every node in turn under load.
# If the stack runs one node, this swaps in the cluster for the duration
# and puts the single node back afterwards.
#
#   tests/faults/cluster.sh [SCENARIO...]   (default: all four)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
STACK=$ROOT/scripts/stack
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(leader_kill pause two_down rolling)

restore=0
restore_stack() {
    local rc=$?
    if [ $restore -eq 1 ]; then
        "$STACK" down kafka >&2 || true
        "$STACK" up kafka --kafka-nodes 1 >&2 || rc=1
    fi
    exit $rc
}
# Set before the swap: a cluster that fails to start still gets the single
# node back, so later tests do not run against the wrong layout.
trap restore_stack EXIT
if [ "$("$STACK" env | grep -c ',')" -eq 0 ]; then
    restore=1
    "$STACK" down kafka >&2
fi
"$STACK" up kafka --kafka-nodes 3 >&2
eval "$("$STACK" env)"
export ORDERLINE_BROKERS ORDERLINE_DB

failed=0
for s in "${scenarios[@]}"; do
    out=$(mktemp)
    start=$(date +%s)
    if SCENARIO=$s bash "$HERE/cluster_scenario.sh" >"$out" 2>&1; then status=ok; else status=FAILED; failed=$((failed + 1)); cat "$out"; fi
    echo "$(grep '^SUMMARY' "$out" | tail -n 1) [$status in $(($(date +%s) - start)) s]"
    grep '^acks:' "$out" | tail -n 1
    rm -f "$out"
    # Every node back and in sync before the next scenario.
    for n in 1 2 3; do "$STACK" node $n start >/dev/null; done
done
echo "cluster: $((${#scenarios[@]} - failed)) passed, $failed failed"
[ $failed -eq 0 ]

#!/usr/bin/env bash
# The secure stack's tests (label "secure"): swaps in scripts/stack up
# --secure for their duration (same node count) and puts the plain stack
# back afterwards, then runs tests/secure/secure.sh with admin's
# credentials.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
STACK=$ROOT/scripts/stack
read -r nodes secure <"$ROOT/.stack/layout" 2>/dev/null || { nodes=1 secure=0; }

restore=0
restore_stack() {
    local rc=$?
    if [ $restore -eq 1 ]; then
        "$STACK" down >&2 || true
        "$STACK" up --kafka-nodes "$nodes" >&2 || rc=1
    fi
    exit $rc
}
# Set before the swap: a secure stack that fails to start still gets the
# plain one back, so later tests do not run against the wrong stack.
trap restore_stack EXIT
if [ "$secure" != 1 ]; then
    restore=1
    "$STACK" down >&2
fi
t0=$(date +%s%N)
"$STACK" up --secure --kafka-nodes "$nodes" >&2
echo "secure stack up in $((($(date +%s%N) - t0) / 1000000)) ms"
eval "$("$STACK" env)"
export ORDERLINE_BROKERS ORDERLINE_DB ORDERLINE_CONFIG PGPASSFILE
bash "$HERE/secure.sh"

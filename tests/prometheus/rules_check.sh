#!/usr/bin/env bash
# ctest rules.check (label unit): the alert rules as code. promtool (Debian's
# prometheus package) checks the rules and the sample configuration and runs
# the rules' unit tests; rules_lint.py checks annotations, runbook anchors,
# that every alert is tested firing and quiet, and the dashboard's targets.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$ROOT/deploy/prometheus"
promtool check rules orderline.rules.yml
promtool check config prometheus.yml
promtool test rules orderline.rules.test.yml
python3 "$ROOT/tests/prometheus/rules_lint.py" "$ROOT"

#!/usr/bin/env bash
# Fails, naming the files, when a C file drifts from .clang-format
# (scripts/format fixes them).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "format.check: clang-format missing (scripts/setup installs it)" >&2; exit 1; }
bad=()
while IFS= read -r -d '' f; do
    clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(git ls-files -z '*.c' '*.h')
if ((${#bad[@]})); then
    echo "format.check: not formatted by .clang-format (run scripts/format): ${bad[*]}" >&2
    exit 1
fi

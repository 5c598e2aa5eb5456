#!/usr/bin/env bash
# Fails when a tracked Rust source file is over 800 lines: a file that long
# holds more than one job (functions over 120 lines are clippy's
# too_many_lines, configured in clippy.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
limit=${1:-800}
over=$(git ls-files '*.rs' | xargs -r wc -l | awk -v l="$limit" '$2 != "total" && $1 > l {print "  " $2 ": " $1 " lines"}')
if [ -n "$over" ]; then
    echo "check-file-sizes: files over $limit lines (split them by job):" >&2
    echo "$over" >&2
    exit 1
fi

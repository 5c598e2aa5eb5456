#!/usr/bin/env bash
# Fails when a lab namespace (prefix "elb") survived the test run.
set -euo pipefail
left=$(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^elb[0-9]+x' || true)
if [ -n "$left" ]; then
    echo "lab namespaces left behind after the tests:" >&2
    echo "$left" >&2
    exit 1
fi

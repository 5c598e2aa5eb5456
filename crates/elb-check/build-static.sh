#!/usr/bin/env bash
# Builds the elb-check that users get (`make release`, `make install`, the
# .deb): statically linked glibc as a static PIE (no dynamic loader, no
# libc.so/libgcc_s.so pages, ASLR kept), fat LTO, abort on panic, optimised
# for size, stripped. keepalived forks elb-check every interval, and this
# build cuts its start-up memory and CPU time by about a third against the
# default `cargo build --release` (docs/benchmarks/elb-check.md).
#
# The flags reach this one build only: `--target` keeps RUSTFLAGS away from
# build scripts and proc-macros (which cannot be linked statically), and the
# profile settings are CARGO_PROFILE_RELEASE_* variables of this invocation,
# so the workspace's [profile.release] and the other binaries are untouched.
#
# Usage: crates/elb-check/build-static.sh          build; print the binary's path
#        crates/elb-check/build-static.sh --path   print the path only
#        crates/elb-check/build-static.sh deb [cargo-deb options]
#                                                  the same build, packaged by cargo deb
set -euo pipefail
cd "$(dirname "$0")/../.."

CARGO=${CARGO:-cargo}
host=$(${RUSTC:-rustc} -vV | sed -n 's/^host: //p')
[ -n "$host" ] || { echo "build-static: cannot tell the host triple from rustc -vV" >&2; exit 1; }
binary="${CARGO_TARGET_DIR:-target}/$host/release/elb-check"

export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C target-feature=+crt-static"
export CARGO_PROFILE_RELEASE_OPT_LEVEL=s
export CARGO_PROFILE_RELEASE_LTO=fat
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
export CARGO_PROFILE_RELEASE_PANIC=abort
export CARGO_PROFILE_RELEASE_DEBUG=0
export CARGO_PROFILE_RELEASE_STRIP=symbols

case "${1:-}" in
    --path)
        echo "$binary"
        ;;
    deb)
        shift
        # cargo-deb maps the asset target/release/elb-check to target/$host/release/.
        "$CARGO" deb -p elb-check --target "$host" "$@"
        ;;
    "")
        "$CARGO" build --release -p elb-check --bin elb-check --target "$host"
        echo "$binary"
        ;;
    *)
        echo "usage: $0 [--path | deb [cargo-deb options]]" >&2
        exit 2
        ;;
esac

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
# Profile-guided: an instrumented build probes a local server (the bench-server
# example) and LLVM lays the code a probe runs apart from the code it never
# runs (TLS, HTTP/2, JSON, errors), so the 64 KB fault-around reads of the
# kernel map fewer pages: peak RSS about 7 % lower (docs/benchmarks/elb-check.md).
# Needs llvm-profdata of rustc's LLVM major version (Debian's llvm-N, which
# `make release` installs); without it, or with ELB_CHECK_PGO=0, the build is
# the same minus the profile, and says so.
#
# Usage: crates/elb-check/build-static.sh          build; print the binary's path
#        crates/elb-check/build-static.sh --path   print the path only
#        crates/elb-check/build-static.sh --llvm-package
#                                                  the Debian package with the llvm-profdata
#                                                  this build needs (for `make release`)
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

# rustc's LLVM major version: llvm-profdata must be the same one.
llvm_major() {
    ${RUSTC:-rustc} -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p'
}

# The profile of a plain probe, or nothing (with the reason on stderr).
pgo_profile() {
    [ "${ELB_CHECK_PGO:-1}" != 0 ] || { echo "build-static: ELB_CHECK_PGO=0: no profile" >&2; return 0; }
    local major profdata dir gen server port
    major=$(llvm_major)
    profdata=$(command -v "llvm-profdata-$major" || true)
    [ -n "$profdata" ] || { echo "build-static: llvm-profdata-$major not found (Debian package llvm-$major): building without a profile" >&2; return 0; }
    dir="${CARGO_TARGET_DIR:-target}/pgo"
    RUSTFLAGS="$RUSTFLAGS -Cprofile-generate=$PWD/$dir/raw" \
        "$CARGO" build --release -p elb-check --bin elb-check --target "$host" \
        --target-dir "$dir/build" >&2
    gen="$dir/build/$host/release/elb-check"
    if [ ! -s "$dir/elb-check.profdata" ] || [ "$gen" -nt "$dir/elb-check.profdata" ]; then
        # The server is an ordinary build: only elb-check's own code is profiled.
        env -u RUSTFLAGS -u CARGO_PROFILE_RELEASE_OPT_LEVEL -u CARGO_PROFILE_RELEASE_LTO \
            -u CARGO_PROFILE_RELEASE_CODEGEN_UNITS -u CARGO_PROFILE_RELEASE_PANIC \
            -u CARGO_PROFILE_RELEASE_DEBUG -u CARGO_PROFILE_RELEASE_STRIP \
            "$CARGO" build --release --quiet -p elb-check --example bench-server >&2
        server="${CARGO_TARGET_DIR:-target}/release/examples/bench-server"
        rm -rf "$dir/raw"
        coproc SERVER { exec "$server"; }
        read -r -t 10 port <&"${SERVER[0]}" || { echo "build-static: the training server did not start" >&2; exit 1; }
        # What keepalived runs every interval: a plain probe, and its Nagios form.
        train() { LLVM_PROFILE_FILE="$PWD/$dir/raw/elb-check-%p.profraw" "$gen" "$@" "http://127.0.0.1:$port/services/EchoProxy" >/dev/null; }
        for _ in $(seq 20); do train; done
        train --format nagios
        exec {SERVER[1]}>&-
        wait "$SERVER_PID" || true
        "$profdata" merge -o "$dir/elb-check.profdata" "$dir"/raw/*.profraw
    fi
    RUSTFLAGS="$RUSTFLAGS -Cprofile-use=$PWD/$dir/elb-check.profdata -C link-arg=-Wl,-z,keep-text-section-prefix"
}

case "${1:-}" in
    --path)
        echo "$binary"
        ;;
    --llvm-package)
        major=$(llvm_major)
        [ -z "$major" ] || echo "llvm-$major"
        ;;
    deb)
        shift
        pgo_profile
        # cargo-deb maps the asset target/release/elb-check to target/$host/release/.
        "$CARGO" deb -p elb-check --target "$host" "$@"
        ;;
    "")
        pgo_profile
        "$CARGO" build --release -p elb-check --bin elb-check --target "$host"
        echo "$binary"
        ;;
    *)
        echo "usage: $0 [--path | deb [cargo-deb options]]" >&2
        exit 2
        ;;
esac

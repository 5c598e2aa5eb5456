#!/usr/bin/env bash
# make fuzz: run every cargo-fuzz target of the workspace for SECONDS each (default 60).
# Each crates/<crate>/fuzz is a stand-alone cargo-fuzz project; its committed corpus under
# fuzz/corpus/<target> is the seed, and new inputs go to a scratch copy so the repository's
# corpus stays small (minimise and commit interesting finds by hand). Crashes land in
# fuzz/artifacts/<target> and are copied to fuzz/regressions/<target>, which the stable
# tests replay; the script exits non-zero if any target found one.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
if ! command -v cargo-fuzz >/dev/null; then
    echo "fuzz: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked --quiet
fi
rustup toolchain list | grep -q nightly || { echo "fuzz: the nightly toolchain is required (rustup toolchain install nightly)" >&2; exit 1; }
failed=()
for dir in crates/*/fuzz; do
    for target_file in "$dir"/fuzz_targets/*.rs; do
        target=$(basename "$target_file" .rs)
        scratch=$(mktemp -d)
        [ -d "$dir/corpus/$target" ] && cp -r "$dir/corpus/$target/." "$scratch/"
        echo "== $dir $target for ${seconds}s"
        if ! (cd "$dir" && cargo +nightly fuzz run "$target" "$scratch" -- -max_total_time="$seconds" -print_final_stats=1 2>&1 | tail -12); then
            failed+=("$dir:$target")
        fi
        # Every crash input is kept for good: the crate's stable corpus-replay test runs
        # fuzz/regressions/<target>/ in make test (commit them with the fix).
        for crash in "$dir/artifacts/$target"/crash-*; do
            [ -f "$crash" ] || continue
            mkdir -p "$dir/regressions/$target"
            cp -n "$crash" "$dir/regressions/$target/"
        done
        rm -rf "$scratch"
    done
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: findings in ${failed[*]} (see fuzz/artifacts)" >&2
    exit 1
fi
echo "fuzz: every target ran ${seconds}s clean"

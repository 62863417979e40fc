#!/usr/bin/env bash
# Build the cargo-fuzz targets in fuzz/ and run each one for SECONDS (default 30), one after the
# other, on a temporary copy of its committed seed corpus (fuzz/corpus/<target>/ is not changed).
# Fails when any target crashes, hangs (an input over FUZZ_TIMEOUT s) or runs out of memory, and
# prints the path of the input that did it (under fuzz/artifacts/<target>/).
#
#   bash scripts/fuzz.sh [SECONDS]
#
# Environment: FUZZ_TARGETS (space-separated, default: all; without score_request the server crate
# is not built), FUZZ_SANITIZER (address, the default, or none), FUZZ_TIMEOUT (seconds per input,
# default 10), FUZZ_RSS_MB (default 2048), FUZZ_KEEP=DIR (keep the grown corpora and logs in DIR
# instead of deleting them). Runs are single-process; run the script under `nice` on a busy machine.
#
# The toolchain is stable (rust-toolchain.toml); cargo-fuzz passes nightly-only `-Z` flags to
# rustc (`-Zsanitizer=address`), so RUSTC_BOOTSTRAP=1 is set for the fuzz build only.
set -euo pipefail

seconds=${1:-30}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

export RUSTC_BOOTSTRAP=1
sanitizer=${FUZZ_SANITIZER:-address}
timeout=${FUZZ_TIMEOUT:-10}
rss_mb=${FUZZ_RSS_MB:-2048}
targets=${FUZZ_TARGETS:-events_csv score_request window_binning}
# -a: debug assertions, so integer overflow in our code panics instead of wrapping.
flags=(-a -s "$sanitizer")
# Only score_request needs the server crate, which is most of a clean build.
if [[ " $targets " != *" score_request "* ]]; then
    flags+=(--no-default-features)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

echo "fuzz: building targets (sanitizer: $sanitizer)"
build_start=$(date +%s)
cargo fuzz build "${flags[@]}"
echo "fuzz: build took $(($(date +%s) - build_start)) s"

if [[ -n ${FUZZ_KEEP:-} ]]; then
    work=$FUZZ_KEEP
    mkdir -p "$work"
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/telltale-fuzz.XXXXXX")
    trap 'rm -rf "$work"' EXIT
fi

failed=()
for target in $targets; do
    corpus=$work/$target/corpus
    log=$work/$target/fuzz.log
    mkdir -p "$corpus" "fuzz/artifacts/$target"
    if compgen -G "fuzz/corpus/$target/*" >/dev/null; then
        cp fuzz/corpus/"$target"/* "$corpus"/
    fi
    options=(-max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb="$rss_mb"
        -print_final_stats=1)
    if [[ -f fuzz/dicts/$target.dict ]]; then
        options+=(-dict="fuzz/dicts/$target.dict")
    fi
    echo "fuzz: $target for ${seconds} s"
    status=0
    cargo fuzz run "${flags[@]}" "$target" "$corpus" -- "${options[@]}" >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    files=$(find "$corpus" -type f | wc -l)
    echo "fuzz: $target: ${runs:-?} executions in ${secs:-?} s, corpus $files files, exit $status"
    if [[ $status -ne 0 ]]; then
        tail -n 40 "$log"
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        echo "fuzz: $target FAILED; input: ${artifact:-(none written; see the log above)}"
        failed+=("$target")
    fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz: failed targets: ${failed[*]}"
    exit 1
fi
echo "fuzz: all targets ran clean"

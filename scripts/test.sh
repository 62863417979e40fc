#!/usr/bin/env bash
# Telltale's whole test suite — the one command CI runs (.ci/run) and README.md names.
#
#   scripts/test.sh            format check, clippy, every test (Postgres and ONNX Runtime included)
#   scripts/test.sh -- ARGS    extra arguments for cargo nextest (e.g. a test name filter)
#
# After the tests: Swagger UI in headless Chromium, schemathesis against the running server, a soak
# of TELLTALE_SOAK_SECONDS (default 30) and each cargo-fuzz target for TELLTALE_FUZZ_SECONDS
# (default 20); the long forms are `scripts/soak.sh 180` and `scripts/fuzz.sh 600`.
#
# Installs what tests need when it is missing (Debian's postgresql package, the onnxruntime wheel in
# .venv), starts a throwaway Postgres cluster for the run and stops it at the end.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$TELLTALE_ROOT"

extra=()
if [ "${1:-}" = "--" ]; then shift; extra=("$@"); fi

# Disk: a clean CI build with line tables and incremental caches took 7.6 GB (5.8 GB in target/,
# 1.5 GB for the fuzz build), and a CI run once stopped at "No space left on device". In CI, where
# nothing is rebuilt and no debugger attaches, build without debug info (panic messages keep their
# file:line) and without incremental caches; local runs keep the profile's line tables.
if [ "${CI:-}" = true ]; then
  export CARGO_INCREMENTAL=0 CARGO_PROFILE_DEV_DEBUG=false
fi
disk_free() {
  log "disk: $(df -h --output=avail "${CARGO_TARGET_DIR:-target}" 2>/dev/null | tail -n1 | tr -d ' ') free for target/; target/ holds $(du -sh "${CARGO_TARGET_DIR:-target}" 2>/dev/null | cut -f1)"
}
mkdir -p "${CARGO_TARGET_DIR:-target}"
disk_free

ensure_postgres
ensure_venv

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "building"
cargo build --workspace --all-targets --locked

work=$(mktemp -d "${TMPDIR:-/tmp}/telltale-test.XXXXXX")
cleanup() { pg_stop "$work/pg"; rm -rf "$work"; }
trap cleanup EXIT
pg_start "$work/pg"

# A small real model, trained and exported by the project's own trainer, for the server's tests.
log "training a small model for the server tests"
trainer="${CARGO_TARGET_DIR:-target}/debug/telltale-trainer"
"$trainer" synth --sensors 120 --days 10 --features 2 --alert-rate 0.05 --seed 7 \
  --out "$work/events.csv" >/dev/null 2>&1
"$trainer" train --events "$work/events.csv" --out "$work/model" --epochs 2 --hidden 8 \
  --latent-dim 4 --batch-size 32 --seed 7 --quiet
export TELLTALE_TEST_MODEL="$work/model"
export TELLTALE_TEST_EVENTS="$work/events.csv"

log "running the tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast "${extra[@]}"
else
  cargo test --workspace --locked --no-fail-fast "${extra[@]}"
fi

log "Swagger UI in a real browser (headless Chromium)"
bash scripts/check-swagger-ui.sh "$TELLTALE_TEST_MODEL" "$DATABASE_URL"

log "contract fuzzing: schemathesis against the running server and openapi/openapi.json"
bash scripts/check-schemathesis.sh "$TELLTALE_TEST_MODEL" "$DATABASE_URL"

log "soak: ${TELLTALE_SOAK_SECONDS:-30} s of mixed traffic, server RSS sampled"
bash scripts/soak.sh "${TELLTALE_SOAK_SECONDS:-30}"

# Last, because its sanitizer build (fuzz/target, about 1.5 GB) comes on top of target/.
disk_free
log "parser fuzzing: each cargo-fuzz target for ${TELLTALE_FUZZ_SECONDS:-20} s"
bash scripts/fuzz.sh "${TELLTALE_FUZZ_SECONDS:-20}"
disk_free

#!/usr/bin/env bash
# Soak test: the server under steady mixed traffic (score, ingest, stored-window anomaly, score
# history) for SECONDS, its resident memory sampled throughout.
#
#   scripts/soak.sh [SECONDS]     default 180
#
# Starts a throwaway Postgres cluster and the server (model: $TELLTALE_TEST_MODEL, else a small
# one trained here), runs crates/server/examples/soak.rs against it, then stops the server with
# SIGTERM. Prints request counts by route and status, latencies and RSS (start, after warm-up,
# peak, end, growth). Fails when a request failed (5xx, 4xx other than 429, no answer), RSS grew
# by more than SOAK_MAX_GROWTH_PCT (default 50) percent after the warm-up, or the server did not
# exit cleanly. SOAK_RATE sets requests per second (default 50).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$TELLTALE_ROOT"

seconds="${1:-180}"
case "$seconds" in '' | *[!0-9]*) die "usage: $0 [SECONDS]" ;; esac

ensure_postgres
ensure_venv

log "building the server, the trainer and the soak driver"
# The whole workspace's binaries and examples: the same feature set as scripts/test.sh's build, so
# after it this is a no-op (building one package alone would re-resolve features and recompile).
cargo build -q --locked --workspace --bins --examples
target="${CARGO_TARGET_DIR:-target}/debug"

work=$(mktemp -d "${TMPDIR:-/tmp}/telltale-soak.XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  pg_stop "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT

model="${TELLTALE_TEST_MODEL:-}"
if [ -z "$model" ]; then
  log "training a small model"
  "$target/telltale-trainer" synth --sensors 120 --days 10 --features 2 --alert-rate 0.05 --seed 7 \
    --out "$work/events.csv" >/dev/null 2>&1
  "$target/telltale-trainer" train --events "$work/events.csv" --out "$work/model" --epochs 2 \
    --hidden 8 --latent-dim 4 --batch-size 32 --seed 7 --quiet
  model="$work/model"
fi

pg_start "$work/pg"
port=$(free_port)
"$target/telltale-server" --model "$model" --database-url "$DATABASE_URL" \
  --bind "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server_pid=$!

log "soak: ${seconds} s of mixed traffic against 127.0.0.1:$port (server pid $server_pid)"
status=0
"$target/examples/soak" --url "http://127.0.0.1:$port" --pid "$server_pid" --seconds "$seconds" \
  --rate "${SOAK_RATE:-50}" --max-growth-pct "${SOAK_MAX_GROWTH_PCT:-50}" || status=$?

if kill -0 "$server_pid" 2>/dev/null; then
  kill -TERM "$server_pid"
  exit_status=0
  wait "$server_pid" || exit_status=$?
  server_pid=""
  if [ "$exit_status" -ne 0 ]; then
    echo "soak: FAILED: the server exited with status $exit_status after SIGTERM" >&2
    status=1
  fi
else
  echo "soak: FAILED: the server died during the run" >&2
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "--- last lines of the server log ---" >&2
  tail -n 40 "$work/server.log" >&2
fi
exit "$status"

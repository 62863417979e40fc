#!/usr/bin/env bash
# Serving benchmark (issue 4): on one model directory and the same cores, measure
#   (a) the raw ONNX Runtime limit: encoder + latent decoder on batches of prepared windows in a
#       tight loop (and, for reference, every graph the server runs, through Scorer::score);
#   (b) telltale-server POST /score under wrk at concurrency 1 and 32 (windows/s, p50/p99);
#   (c) the same load against a Python FastAPI + uvicorn + onnxruntime server
#       (scripts/bench/serve/baseline.py) serving the same ONNX files with the same preprocessing.
# The last line is exactly `serve: vs_python=X.XX vs_raw_limit=Y.YY` (throughput ratios at
# concurrency 32).
#
#   scripts/bench/serve.sh [--model DIR] [--events CSV | --events-per-day N] [--duration SECS]
#                          [--out DIR]
#
# Without --model it trains a small model (trainer defaults, 1 epoch: weights do not change the
# cost) on synthetic seed-format data under .telltale/bench/. The request body is one sensor's
# 10-day window from --events (default: that synthetic data), or a generated window with N events
# a day (--events-per-day: smaller bodies show the cost of JSON apart from inference). ONNX Runtime
# uses one intra-op thread per session everywhere (the server's default); the baseline runs one
# uvicorn worker per core (TELLTALE_BENCH_PY_WORKERS). Extra server flags can be passed in
# TELLTALE_BENCH_SERVER_ARGS.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
cd "$TELLTALE_ROOT"

MODEL="" EVENTS="" PER_DAY="" DURATION=10 OUT=.telltale/bench/serve
while [ $# -gt 0 ]; do
  case "$1" in
    --model) MODEL="$2"; shift 2 ;;
    --events) EVENTS="$2"; shift 2 ;;
    --events-per-day) PER_DAY="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
HERE=scripts/bench/serve
CONCURRENCY=(1 32)
PY_WORKERS="${TELLTALE_BENCH_PY_WORKERS:-$(nproc)}"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

ensure_postgres
ensure_venv
if ! command -v wrk >/dev/null; then
  log "installing wrk (Debian)"
  as_root apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq wrk >&2
fi
PYVENV=.telltale/bench/pyvenv
if ! "$PYVENV/bin/python" -c 'import fastapi, uvicorn, onnxruntime, numpy' 2>/dev/null; then
  log "installing the Python baseline (fastapi, uvicorn, onnxruntime==$ORT_VERSION, numpy)"
  python3 -m venv "$PYVENV"
  "$PYVENV/bin/pip" install -q --disable-pip-version-check fastapi uvicorn \
    "onnxruntime==$ORT_VERSION" numpy >&2
fi

log "building telltale-server and the raw-limit example"
cargo build -q --locked -p telltale-server --bin telltale-server --example raw_limit
server=target/debug/telltale-server
raw=target/debug/examples/raw_limit

if [ -z "$MODEL" ] || [ -z "$EVENTS" ]; then
  mkdir -p .telltale/bench
  if [ ! -f .telltale/bench/events.csv ]; then
    cargo build -q --locked -p telltale-trainer
    log "synthesising seed-format events"
    target/debug/telltale-trainer synth --sensors 200 --days 10 --features 2 --alert-rate 0.05 \
      --seed 3 --out .telltale/bench/events.csv >/dev/null
  fi
  EVENTS="${EVENTS:-.telltale/bench/events.csv}"
fi
if [ -z "$MODEL" ]; then
  MODEL=.telltale/bench/model
  if [ ! -f "$MODEL/manifest.json" ]; then
    cargo build -q --locked -p telltale-trainer
    log "training a benchmark model (1 epoch)"
    target/debug/telltale-trainer train --events "$EVENTS" --out "$MODEL" --epochs 1 --seed 3 --quiet
  fi
fi
[ -f "$MODEL/manifest.json" ] || die "$MODEL/manifest.json not found (pass --model DIR)"
MODEL=$(cd "$MODEL" && pwd)

BODY="$OUT/body.json"
if [ -n "$PER_DAY" ]; then
  source_args=(--events-per-day "$PER_DAY")
else
  source_args=(--events "$EVENTS")
fi
n_events=$("$PYVENV/bin/python" "$HERE/make_body.py" --model "$MODEL" "${source_args[@]}" --out "$BODY")
log "request body: one window of $n_events events ($(wc -c <"$BODY") bytes)"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pg_stop "$OUT/pg"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_ready() { # URL PID LOG
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { tail -n 20 "$3" >&2; die "the server exited (log: $3)"; }
    sleep 0.1
  done
  die "no answer from $1"
}

# load NAME PORT CONCURRENCY → $OUT/NAME-cCONCURRENCY.json
load() {
  local name=$1 port=$2 c=$3 result="$OUT/$1-c$3.json"
  BENCH_BODY="$BODY" BENCH_RESULT="$OUT/warmup.json" \
    wrk -t1 -c"$c" -d2s --timeout 30s -s "$HERE/post.lua" "http://127.0.0.1:$port/score" >/dev/null
  BENCH_BODY="$BODY" BENCH_RESULT="$result" \
    wrk -t1 -c"$c" -d"${DURATION}s" --timeout 30s -s "$HERE/post.lua" \
    "http://127.0.0.1:$port/score" >"$OUT/$name-c$c.wrk.txt"
  python3 - "$result" "$name" "$c" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
rate = r["requests"] / (r["duration_us"] / 1e6)
r["windows_per_s"] = rate
json.dump(r, open(sys.argv[1], "w"))
print(f"  {sys.argv[2]:>7} c={sys.argv[3]:<3} {rate:8.1f} windows/s  p50 {r['p50_us']/1000:7.2f} ms  "
      f"p99 {r['p99_us']/1000:7.2f} ms  errors {r['socket_errors']} non-2xx {r['non_2xx']}",
      file=sys.stderr)
if r["socket_errors"] or r["non_2xx"]:
    sys.exit(f"{sys.argv[2]} answered errors under load; see {sys.argv[1]}")
PY
}

log "(a) raw ONNX Runtime limit (batch 32, ${DURATION}s per measurement)"
"$raw" --model "$MODEL" --body "$BODY" --batch 32 --seconds "$DURATION" --intra-threads 1 \
  >"$OUT/raw.json"
python3 - "$OUT/raw.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"  encoder+latent {r['encoder_latent']:.1f} windows/s, all graphs (Scorer::score) "
      f"{r['scorer']:.1f} windows/s, {r['steps']} steps", file=sys.stderr)
PY

log "(b) telltale-server"
pg_start "$OUT/pg"
port=$(free_port)
# shellcheck disable=SC2086 # extra flags are meant to split
"$server" --model "$MODEL" --database-url "$DATABASE_URL" --bind "127.0.0.1:$port" \
  ${TELLTALE_BENCH_SERVER_ARGS:-} >"$OUT/server.log" 2>&1 &
pids+=($!)
wait_ready "http://127.0.0.1:$port/ready" "${pids[-1]}" "$OUT/server.log"
curl -fsS -H 'content-type: application/json' --data-binary @"$BODY" \
  "http://127.0.0.1:$port/score" >"$OUT/server-answer.json"
for c in "${CONCURRENCY[@]}"; do load server "$port" "$c"; done
curl -fsS "http://127.0.0.1:$port/metrics" >"$OUT/server-metrics.txt"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

log "(c) Python baseline: FastAPI + uvicorn ($PY_WORKERS workers) + onnxruntime (1 thread each)"
port=$(free_port)
TELLTALE_MODEL="$MODEL" BASELINE_INTRA_THREADS=1 "$PYVENV/bin/uvicorn" baseline:app --app-dir "$HERE" --host 127.0.0.1 \
  --port "$port" --workers "$PY_WORKERS" --log-level warning >"$OUT/python.log" 2>&1 &
pids+=($!)
wait_ready "http://127.0.0.1:$port/docs" "${pids[-1]}" "$OUT/python.log"
curl -fsS -H 'content-type: application/json' --data-binary @"$BODY" \
  "http://127.0.0.1:$port/score" >"$OUT/python-answer.json"
python3 - "$OUT/server-answer.json" "$OUT/python-answer.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
keys = ["score", "latent_error", "sequence_error"]
diff = max(abs(a[k] - b[k]) / max(1.0, abs(a[k])) for k in keys)
same_window = a["window"]["steps"] == b["window"]["steps"] and \
    a["window"]["events_used"] == b["window"]["events_used"]
print(f"  same answer as the server: max relative difference {diff:.2e}, "
      f"window {'identical' if same_window else 'DIFFERENT'}", file=sys.stderr)
if diff > 1e-3 or not same_window:
    sys.exit("the Python baseline does not compute what the server computes")
PY
for c in "${CONCURRENCY[@]}"; do load python "$port" "$c"; done
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
load = lambda name: json.load(open(f"{out}/{name}.json"))
raw = load("raw")
s1, s32, p1, p32 = (load(n) for n in ["server-c1", "server-c32", "python-c1", "python-c32"])
vs_python = s32["windows_per_s"] / p32["windows_per_s"]
vs_raw = s32["windows_per_s"] / raw["encoder_latent"]
vs_scorer = s32["windows_per_s"] / raw["scorer"]
summary = {
    "raw_encoder_latent_windows_per_s": raw["encoder_latent"],
    "raw_scorer_windows_per_s": raw["scorer"],
    "server": {"c1": s1, "c32": s32},
    "python": {"c1": p1, "c32": p32},
    "vs_python": vs_python,
    "vs_raw_limit": vs_raw,
    "vs_raw_scorer": vs_scorer,
}
json.dump(summary, open(f"{out}/summary.json", "w"), indent=2)
print(f"server c=1: {s1['windows_per_s']:.1f}/s p50 {s1['p50_us']/1000:.2f} ms p99 {s1['p99_us']/1000:.2f} ms; "
      f"c=32: {s32['windows_per_s']:.1f}/s p50 {s32['p50_us']/1000:.2f} ms p99 {s32['p99_us']/1000:.2f} ms")
print(f"python c=1: {p1['windows_per_s']:.1f}/s p50 {p1['p50_us']/1000:.2f} ms p99 {p1['p99_us']/1000:.2f} ms; "
      f"c=32: {p32['windows_per_s']:.1f}/s p50 {p32['p50_us']/1000:.2f} ms p99 {p32['p99_us']/1000:.2f} ms")
print(f"raw limit (batch 32): encoder+latent {raw['encoder_latent']:.1f}/s, all graphs {raw['scorer']:.1f}/s; "
      f"server/all-graphs = {vs_scorer:.2f}")
print(f"serve: vs_python={vs_python:.2f} vs_raw_limit={vs_raw:.2f}")
PY

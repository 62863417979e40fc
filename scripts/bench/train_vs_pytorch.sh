#!/usr/bin/env bash
# Training speed: telltale's burn stage-1 training (encoder + sequence decoder) against the same
# architecture written in PyTorch (scripts/bench/train_vs_pytorch.py), same H, T, C, batch size,
# thread count and number of windows, CPU only. Each side trains a few epochs on the same kind of
# synthetic windows; the script prints both median epoch times and, as its last line exactly,
#   train: vs_pytorch=X.XX        (median epoch seconds, telltale / PyTorch; lower is better)
#
#   scripts/bench/train_vs_pytorch.sh [--windows N] [--steps T] [--channels C] [--hidden H]
#                                     [--layers L] [--batch-size B] [--epochs E] [--threads N]
#                                     [--rounds R]
#
# The two sides alternate R times (default 2) and the medians are taken over all epochs, so load
# from other processes on a shared machine hits both alike; on a busy machine the ratio still
# moves (PyTorch's OpenMP threads suffer more from oversubscription than rayon's).
#
# PyTorch goes into its own venv (.telltale/bench/torch-venv) from PyPI, the only index reachable.
# The PyPI wheel is a CUDA build: the script first tries it without its nvidia-* dependencies
# (enough on CPU where a wheel allows it), and installs them too when torch then fails to import,
# which is what torch 2.15.0 does (it preloads libcublasLt): about 5 GB in that venv.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
cd "$TELLTALE_ROOT"

WINDOWS=1600 STEPS=240 CHANNELS=4 HIDDEN=64 LAYERS=1 BATCH=64 EPOCHS=3 THREADS=2 ROUNDS=2
while [ $# -gt 0 ]; do
  case "$1" in
    --windows) WINDOWS="$2"; shift 2 ;;
    --steps) STEPS="$2"; shift 2 ;;
    --channels) CHANNELS="$2"; shift 2 ;;
    --hidden) HIDDEN="$2"; shift 2 ;;
    --layers) LAYERS="$2"; shift 2 ;;
    --batch-size) BATCH="$2"; shift 2 ;;
    --epochs) EPOCHS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

VENV=.telltale/bench/torch-venv
if ! "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
  log "installing PyTorch (CPU use) into $VENV"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps torch >&2
  "$VENV/bin/pip" install -q --disable-pip-version-check filelock typing-extensions sympy networkx jinja2 fsspec numpy >&2
  if ! "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
    log "torch without its CUDA packages does not import here; installing with all dependencies"
    "$VENV/bin/pip" install -q --disable-pip-version-check torch >&2
  fi
fi

log "building the telltale timing example"
cargo build -q -p telltale-trainer --example train_speed
COMMON=(--windows "$WINDOWS" --steps "$STEPS" --channels "$CHANNELS" --hidden "$HIDDEN"
        --layers "$LAYERS" --batch-size "$BATCH" --epochs "$EPOCHS" --threads "$THREADS")

# The machine may be shared: alternate the two sides ROUNDS times so both see the same load
# drift, and compare medians over every epoch of every round.
ALL_OURS="" ALL_THEIRS=""
for round in $(seq 1 "$ROUNDS"); do
  log "round $round/$ROUNDS: telltale (burn, flex CPU backend): ${COMMON[*]}"
  OUT=$(target/debug/examples/train_speed "${COMMON[@]}" --quiet)
  echo "$OUT" >&2
  ALL_OURS="$ALL_OURS $(echo "$OUT" | sed -n 's/.*"seconds": \([0-9.]*\).*/\1/p' | tr '\n' ' ')"
  log "round $round/$ROUNDS: PyTorch $("$VENV/bin/python" -c 'import torch; print(torch.__version__)'): ${COMMON[*]}"
  OUT=$(OMP_NUM_THREADS="$THREADS" "$VENV/bin/python" scripts/bench/train_vs_pytorch.py "${COMMON[@]}")
  echo "$OUT" >&2
  ALL_THEIRS="$ALL_THEIRS $(echo "$OUT" | sed -n 's/.*"seconds": \([0-9.]*\).*/\1/p' | tr '\n' ' ')"
done
python3 - "$ALL_OURS" "$ALL_THEIRS" "$WINDOWS" "$STEPS" "$CHANNELS" "$HIDDEN" "$BATCH" "$THREADS" <<'PY'
import statistics, sys
ours = [float(v) for v in sys.argv[1].split()]
theirs = [float(v) for v in sys.argv[2].split()]
if not ours or not theirs:
    sys.exit("error: a side printed no epoch times")
o, t = statistics.median(ours), statistics.median(theirs)
w, s, c, h, b, n = sys.argv[3:9]
print(f"median epoch seconds: telltale {o:.3f} ({len(ours)} epochs), pytorch {t:.3f} ({len(theirs)} epochs)"
      f" - {w} windows x {s} steps x {c} channels, H={h}, batch {b}, {n} threads")
print(f"train: vs_pytorch={o / t:.2f}")
PY

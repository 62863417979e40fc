#!/usr/bin/env bash
# Telltale end to end on this machine: synthesise sensor events, train a model, write the evaluation
# report, start the server on a local throwaway Postgres, ingest a few sensors, and print what to try.
# Ctrl-C stops everything it started. Re-running reuses the data, model and database under .telltale/.
#
#   scripts/demo.sh                 # defaults below
#   TELLTALE_DEMO_SENSORS=2000 TELLTALE_DEMO_EPOCHS=20 scripts/demo.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$TELLTALE_ROOT"

SENSORS="${TELLTALE_DEMO_SENSORS:-600}"
EPOCHS="${TELLTALE_DEMO_EPOCHS:-8}"
PORT="${TELLTALE_DEMO_PORT:-8080}"
STATE=.telltale
mkdir -p "$STATE"

ensure_postgres
ensure_venv

log "building (first time: a few minutes)"
cargo build --locked -p telltale-trainer -p telltale-server
trainer="${CARGO_TARGET_DIR:-target}/debug/telltale-trainer"
server="${CARGO_TARGET_DIR:-target}/debug/telltale-server"

if [ ! -f "$STATE/train.csv" ]; then
  log "synthesising $SENSORS training sensors and 400 evaluation sensors"
  "$trainer" synth --sensors "$SENSORS" --days 10 --features 2 --alert-rate 0.05 --seed 1 --out "$STATE/train.csv"
  "$trainer" synth --sensors 400 --days 10 --features 2 --alert-rate 0.05 --seed 2 --out "$STATE/eval.csv"
fi
if [ ! -f "$STATE/model/manifest.json" ]; then
  log "training ($EPOCHS epochs max, early stopping)"
  "$trainer" train --events "$STATE/train.csv" --out "$STATE/model" --epochs "$EPOCHS" --latent-joint --seed 1
fi
if [ ! -f "$STATE/report/report.md" ]; then
  log "evaluating on sensors the model never saw"
  "$trainer" evaluate --model "$STATE/model" --events "$STATE/eval.csv" --out "$STATE/report"
fi

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pg_stop "$STATE/pg"
  log "stopped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pg_stop "$STATE/pg"   # a cluster left behind by an interrupted run
pg_start "$STATE/pg"

log "starting telltale-server on 127.0.0.1:$PORT"
"$server" --model "$STATE/model" --database-url "$DATABASE_URL" --bind "127.0.0.1:$PORT" \
  >"$STATE/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || { tail -n 20 "$STATE/server.log" >&2; die "the server exited"; }
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$PORT/ready" >/dev/null || die "the server did not become ready (log: $STATE/server.log)"
log "ready"

# Ingest the first few evaluation sensors (seed CSV format) into Postgres through the API.
python3 - "$STATE/eval.csv" "$STATE" <<'PY'
import csv, sys, collections
rows = collections.OrderedDict()
with open(sys.argv[1]) as f:
    r = csv.reader(f); header = next(r)
    for row in r:
        rows.setdefault(row[0], []).append(row)
        if len(rows) > 5: break
for sid in list(rows)[:5]:
    with open(f"{sys.argv[2]}/sensor-{sid}.csv", "w") as out:
        out.write(",".join(header) + "\n")
        out.writelines(",".join(x) + "\n" for x in rows[sid])
# one window as a /score JSON body
import json
sid = list(rows)[0]
events = [{"timestamp": x[1], "features": {h: float(v) for h, v in zip(header[2:4], x[2:4])}} for x in rows[sid]]
json.dump({"sensor_id": sid, "events": events}, open(f"{sys.argv[2]}/score-body.json", "w"))
PY
for f in "$STATE"/sensor-*.csv; do
  sid=$(basename "$f" .csv); sid=${sid#sensor-}
  curl -fsS -X POST -H 'content-type: text/csv' --data-binary "@$f" \
    "http://127.0.0.1:$PORT/sensors/$sid/events" >/dev/null
done
first=$(basename "$(ls "$STATE"/sensor-*.csv | head -n1)" .csv); first=${first#sensor-}

cat <<MSG

Telltale is running.
  Swagger UI:  http://127.0.0.1:$PORT/docs
  Report:      $STATE/report/report.md
  Model:       $STATE/model/manifest.json

Try:
  curl -s -X POST -H 'content-type: application/json' --data @$STATE/score-body.json http://127.0.0.1:$PORT/score
  curl -s http://127.0.0.1:$PORT/sensors/$first/anomaly

Ctrl-C stops the server and Postgres.
MSG
wait "${pids[0]}"

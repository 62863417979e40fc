#!/usr/bin/env bash
# Real-browser check of the Swagger UI: starts telltale-server on a free port with the given model and
# database, loads /docs in headless Chromium (installed from Debian when missing), lets the page's
# JavaScript render, and checks that every path of openapi/openapi.json shows up as an operation.
#
#   scripts/check-swagger-ui.sh MODEL_DIR DATABASE_URL [SCREENSHOT.png]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$TELLTALE_ROOT"
model="$1"; db="$2"; shot="${3:-}"

if ! command -v chromium >/dev/null; then
  log "installing Debian's chromium for the Swagger UI check"
  as_root apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >&2
fi

server="${CARGO_TARGET_DIR:-target}/debug/telltale-server"
port=$(free_port)
work=$(mktemp -d)
"$server" --model "$model" --database-url "$db" --bind "127.0.0.1:$port" >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 150); do
  curl -fsS "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || { cat "$work/server.log" >&2; die "server exited"; }
  sleep 0.2
done

browser=(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --user-data-dir="$work/profile" --virtual-time-budget=8000)
"${browser[@]}" --dump-dom "http://127.0.0.1:$port/docs/" >"$work/dom.html" 2>"$work/chromium.log" || true
if [ -n "$shot" ]; then
  "${browser[@]}" --window-size=1280,1800 --screenshot="$shot" "http://127.0.0.1:$port/docs/" >/dev/null 2>&1 || true
fi

missing=0
for path in $(python3 -c 'import json; print(" ".join(json.load(open("openapi/openapi.json"))["paths"]))'); do
  if ! grep -qF "data-path=\"$path\"" "$work/dom.html"; then
    echo "Swagger UI does not show $path" >&2; missing=1
  fi
done
[ "$missing" -eq 0 ] || { head -c 2000 "$work/dom.html" >&2; die "Swagger UI check failed"; }
echo "Swagger UI check ok: every documented path is shown"

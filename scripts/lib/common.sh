#!/usr/bin/env bash
# Shared helpers for Telltale's scripts: install what is missing, start a throwaway Postgres.
# Source it; it defines functions and never changes the caller's options.

TELLTALE_ROOT="${TELLTALE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
ORT_VERSION="1.31.1"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root to run: $* (install it yourself or run as root)"
  fi
}

# Debian's PostgreSQL server binaries (initdb, pg_ctl); installs the package when missing.
pg_bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

ensure_postgres() {
  if ! pg_bindir >/dev/null; then
    log "installing the Debian postgresql package"
    as_root apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >&2
  fi
  pg_bindir >/dev/null || die "PostgreSQL server binaries not found after install"
}

# Project-local venv with the ONNX Runtime wheel (its shared library is what `ort` loads).
ensure_venv() {
  local venv="$TELLTALE_ROOT/.venv" lib
  lib="$venv/lib/python3.11/site-packages/onnxruntime/capi/libonnxruntime.so.$ORT_VERSION"
  if [ ! -f "$lib" ] || ! "$venv/bin/python" -c 'import onnx, numpy' 2>/dev/null; then
    log "installing onnxruntime==$ORT_VERSION, onnx and numpy into .venv"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "onnxruntime==$ORT_VERSION" onnx numpy >&2
  fi
  lib=$(ls "$venv"/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so."$ORT_VERSION" 2>/dev/null | head -n1)
  [ -f "$lib" ] || die "ONNX Runtime library not found in $venv"
  export ORT_DYLIB_PATH="$lib"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# pg_start DIR: a throwaway cluster with its data and socket in DIR, on a free loopback port.
# Exports DATABASE_URL and PG_DATA_DIR. Re-uses a cluster already initialised in DIR.
pg_start() {
  local dir="$1" bin port owner
  bin=$(pg_bindir) || die "PostgreSQL is not installed"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  owner="$(id -un)"
  run_pg() { "$@"; }
  if [ "$(id -u)" -eq 0 ]; then
    owner=postgres
    chown -R postgres:postgres "$dir"
    # postgres must be able to reach the folder through its parents
    local p="$dir"; while [ "$p" != "/" ]; do p=$(dirname "$p"); chmod o+x "$p" 2>/dev/null || true; done
    run_pg() { runuser -u postgres -- "$@"; }
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    run_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  fi
  port=$(free_port)
  run_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
    || { tail -n 20 "$dir/server.log" >&2; die "Postgres did not start (log: $dir/server.log)"; }
  export PG_DATA_DIR="$dir"
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  log "Postgres ($owner) on 127.0.0.1:$port, data in $dir"
}

pg_stop() {
  local dir="${1:-${PG_DATA_DIR:-}}" bin
  [ -n "$dir" ] && [ -f "$dir/data/postmaster.pid" ] || return 0
  bin=$(pg_bindir) || return 0
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
  else
    "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
  fi
}

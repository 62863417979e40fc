#!/usr/bin/env bash
# A throwaway Postgres cluster that can be stopped and started again on the same port (for tests
# that take the database away from a running server and bring it back).
#
#   scripts/lib/pg-cluster.sh start DIR [PORT]   start (initdb on first use); prints DATABASE_URL
#   scripts/lib/pg-cluster.sh stop DIR           fast shutdown (open connections are terminated)
#   scripts/lib/pg-cluster.sh restart DIR        stop, then start on the same port
#
# Data, socket and log live in DIR; the port is kept in DIR/port, so `start` after `stop` uses the
# same port unless PORT is given. Runs Postgres as the `postgres` user when called as root.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

run_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cluster_start() {
  local dir="$1" port="${2:-}" bin
  bin=$(pg_bindir) || die "PostgreSQL is not installed (scripts/test.sh installs it)"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres:postgres "$dir"
    # postgres must be able to reach the folder through its parents
    local p="$dir"; while [ "$p" != "/" ]; do p=$(dirname "$p"); chmod o+x "$p" 2>/dev/null || true; done
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    run_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  fi
  if [ -z "$port" ] && [ -f "$dir/port" ]; then port=$(cat "$dir/port"); fi
  [ -n "$port" ] || port=$(free_port)
  echo "$port" >"$dir/port"
  run_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
    || { tail -n 20 "$dir/server.log" >&2; die "Postgres did not start (log: $dir/server.log)"; }
  echo "postgres://postgres@127.0.0.1:$port/postgres"
}

cluster_stop() {
  local dir="$1" bin
  [ -f "$dir/data/postmaster.pid" ] || return 0
  bin=$(pg_bindir) || return 0
  run_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null
}

case "${1:-}" in
  start) [ $# -ge 2 ] || die "usage: $0 start DIR [PORT]"; cluster_start "$2" "${3:-}" ;;
  stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; cluster_stop "$2" ;;
  restart) [ $# -eq 2 ] || die "usage: $0 restart DIR"; cluster_stop "$2"; cluster_start "$2" ;;
  *) die "usage: $0 start DIR [PORT] | stop DIR | restart DIR" ;;
esac

#!/usr/bin/env bash
# Contract fuzzing of the HTTP API with Schemathesis: starts telltale-server on a free loopback port
# against a fresh database, generates requests from the OpenAPI document (valid and invalid ones,
# plus sequences that follow its links) and checks every answer against the document: never a 5xx,
# only documented status codes, content types, headers and response schemas, and invalid input
# rejected. Bounded: a fixed number of examples per operation, deterministic generation (the same
# requests every run) and a hard time limit. Exits non-zero, printing each failure with a curl line
# that reproduces it, when anything fails.
#
#   scripts/check-schemathesis.sh MODEL_DIR DATABASE_URL [OPENAPI_JSON]
#
# DATABASE_URL names a server where a scratch database can be created (it is dropped at the end);
# OPENAPI_JSON defaults to the committed openapi/openapi.json.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$TELLTALE_ROOT"
[ $# -ge 2 ] || die "usage: $0 MODEL_DIR DATABASE_URL [OPENAPI_JSON]"
model="$1"; db="$2"; spec="$(realpath "${3:-openapi/openapi.json}")"

SCHEMATHESIS_VERSION="4.32.5" # supports Python 3.9+, so the project's 3.11 venv
MAX_EXAMPLES=100              # per operation and phase
TIME_LIMIT=240                # seconds for the whole run (about 30-45 s on a 2-core machine)

ensure_venv
venv="$TELLTALE_ROOT/.venv"
if [ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
  log "installing schemathesis==$SCHEMATHESIS_VERSION into .venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
fi
command -v psql >/dev/null || die "psql not found (install Debian's postgresql-client)"

# A scratch database, so that stateful runs start from nothing and the caller's data is untouched.
scratch="telltale_schemathesis_$$"
base="${db%%\?*}"; query="${db#"$base"}"
url="${base%/*}/$scratch$query"
work=$(mktemp -d "${TMPDIR:-/tmp}/telltale-schemathesis.XXXXXX")
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  psql "$db" -qc "DROP DATABASE IF EXISTS $scratch WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
psql "$db" -qc "CREATE DATABASE $scratch" >/dev/null

server="${CARGO_TARGET_DIR:-target}/debug/telltale-server"
[ -x "$server" ] || die "$server not found; run cargo build -p telltale-server first"
# With an API key configured, so that the admin route and the key checks are exercised too.
key="tt_$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
printf '%s' "$key" | "$server" hash-api-key --name schemathesis >"$work/keys"
port=$(free_port)
"$server" --model "$model" --database-url "$url" --bind "127.0.0.1:$port" \
  --api-key-file "$work/keys" --log-format json >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 150); do
  curl -fsS "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/server.log" >&2; die "server exited"; }
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/ready" >/dev/null || { cat "$work/server.log" >&2; die "server not ready"; }

# Checks: every one Schemathesis has except positive_data_acceptance: schema-valid requests may
# still be refused with 422 (unknown feature names, unsorted timestamps, a sensor without events),
# as the document cannot express the loaded model's features or the window rules.
log "Schemathesis $SCHEMATHESIS_VERSION against $spec ($MAX_EXAMPLES examples per operation)"
started=$(date +%s)
status=0
(
  cd "$work" # Schemathesis keeps a cache folder in the working directory
  timeout --kill-after=10 "$TIME_LIMIT" "$venv/bin/schemathesis" run "$spec" \
    --url "http://127.0.0.1:$port" \
    --checks all --exclude-checks positive_data_acceptance \
    --header "Authorization: Bearer $key" \
    --max-examples "$MAX_EXAMPLES" --generation-deterministic \
    --workers 1 --request-timeout 30 --no-color \
    2>&1 | tee "$work/run.txt"
) || status=$?
elapsed=$(($(date +%s) - started))
cases=$(grep -oE "[0-9]+ generated" "$work/run.txt" | tail -n1 || true)

if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  die "Schemathesis did not finish within $TIME_LIMIT s"
fi
# A 5xx is already a failure above; this also catches errors the answers did not show.
if grep -q -E '"level":"ERROR"|panicked' "$work/server.log"; then
  echo "server errors during the run:" >&2
  grep -E '"level":"ERROR"|panicked' "$work/server.log" | head -n 20 >&2
  status=1
fi
[ "$status" -eq 0 ] || die "Schemathesis found failures (exit $status) after ${elapsed}s"
echo "Schemathesis check ok: ${cases:-?} test cases, no failures, ${elapsed}s"

#!/usr/bin/env bash
# Fuzz the live API with schemathesis from its own OpenAPI document: zero server errors allowed.
# Serves a throwaway SQLite database with the demo data on a free loopback port; each operation is
# called with the token of the demo account whose role it serves (scripts/fuzz_auth.py).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/khutwa-fuzz.XXXXXX)
export KHUTWA_VAR_DIR="$work"
export DATABASE_URL="sqlite:///$work/fuzz.sqlite3"
export KHUTWA_MANIFEST_STATIC=false
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
export KHUTWA_SITE_URL="http://127.0.0.1:$port"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
.venv/bin/khutwa migrate --noinput -v0
.venv/bin/khutwa demo >/dev/null
.venv/bin/gunicorn khutwa.config.wsgi:application --bind "127.0.0.1:$port" --workers 2 \
  --log-level warning >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
.venv/bin/python scripts/fuzz_auth.py "http://127.0.0.1:$port" "${KHUTWA_DEMO_PASSWORD:-khutwa-demo}" "$work/schemathesis.toml"
status=0
.venv/bin/schemathesis --config-file "$work/schemathesis.toml" run "http://127.0.0.1:$port/api/v1/openapi.json" \
  --checks not_a_server_error \
  --max-examples "${FUZZ_EXAMPLES:-15}" \
  --suppress-health-check all \
  --seed 20261127 || status=$?
if grep -q "Traceback" "$work/server.log"; then
  echo "fuzz: the server logged tracebacks:"; cat "$work/server.log"; status=1
fi
exit $status

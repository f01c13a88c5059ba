#!/usr/bin/env bash
# Install what Khutwa needs, only what is missing: Debian packages (as root; otherwise print
# the apt-get line and stop), uv and the locked Python packages in .venv, the npm assets,
# and the compiled translations. Usage: scripts/bootstrap.sh run|test
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}
PYTHON=${PYTHON:-python3}
UV_VERSION=0.13.9
export UV_PROJECT_ENVIRONMENT="$PWD/.venv"

# Debian packages: gettext compiles translations; pango/harfbuzz render PDFs.
packages=(gettext libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 nodejs npm)
if [ "$mode" = test ]; then
  # chromium drives the browser tests; poppler checks PDFs; PostgreSQL 15 for the second run;
  # Redis, PgBouncer and HAProxy for the shared-cache tests and the local cluster.
  packages+=(chromium poppler-utils redis-server pgbouncer haproxy)
  if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/15/bin/initdb >/dev/null 2>&1; then
    packages+=(postgresql-15)
  fi
fi
missing=()
for p in "${packages[@]}"; do
  if [ "$p" = nodejs ] || [ "$p" = npm ]; then
    command -v "${p/nodejs/node}" >/dev/null && continue
  fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: these Debian packages are missing. Run as root:"
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
    exit 1
  fi
fi

# Front-end assets from the npm registry (served by whitenoise, never a CDN), in the background
# while the Python packages are installed (waited for below).
npm_pid=""
if [ ! -f node_modules/.khutwa-installed ] || [ package-lock.json -nt node_modules/.khutwa-installed ]; then
  echo "bootstrap: installing front-end assets (npm ci), beside the Python packages"
  (npm ci --no-audit --no-fund --silent && touch node_modules/.khutwa-installed) &
  npm_pid=$!
fi

# Python: a venv with uv, then exactly the locked dependencies.
if [ ! -x .venv/bin/uv ]; then
  echo "bootstrap: creating .venv with uv $UV_VERSION"
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
fi
stamp=.venv/.khutwa-synced
if [ ! -f "$stamp" ] || [ uv.lock -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "bootstrap: installing Python dependencies from uv.lock"
  .venv/bin/uv sync --frozen --quiet
  touch "$stamp"
fi

# The front-end assets are installed beside the Python packages (both mostly unpack files);
# their step is waited for, and its failure stops the bootstrap, before anything goes on.
if [ -n "$npm_pid" ]; then
  wait "$npm_pid"
fi

# Translations.
po=src/khutwa/locale/ar/LC_MESSAGES/django.po
mo=${po%.po}.mo
if [ ! -f "$mo" ] || [ "$po" -nt "$mo" ]; then
  (cd src/khutwa && ../../.venv/bin/khutwa compilemessages -l ar >/dev/null)
fi

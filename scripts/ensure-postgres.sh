#!/usr/bin/env bash
# Prints the URL of a PostgreSQL server the tests may create databases on.
# Uses the one on 127.0.0.1:5432 when it answers (trust auth); otherwise installs
# Debian's postgresql if needed and starts a throwaway trust-auth cluster under var/.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${WASB_TEST_PG_URL:-}" ]; then echo "$WASB_TEST_PG_URL"; exit 0; fi

answers() { command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p "$1" -t 3; }

if answers 5432 && psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
  echo "postgresql://postgres@127.0.0.1:5432/postgres"; exit 0
fi

PORT=54329
if answers "$PORT"; then echo "postgresql://postgres@127.0.0.1:$PORT/postgres"; exit 0; fi

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "installing Debian's postgresql" >&2
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
BINDIR=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
DATA="$PWD/var/pgdata"
RUNAS=()
if [ "$(id -u)" = 0 ]; then RUNAS=(runuser -u postgres --); fi
mkdir -p "$DATA"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$PWD/var"
if [ ! -f "$DATA/PG_VERSION" ]; then
  "${RUNAS[@]}" "$BINDIR/initdb" -D "$DATA" -U postgres -A trust >&2
fi
"${RUNAS[@]}" "$BINDIR/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
  -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off" start >&2
echo "postgresql://postgres@127.0.0.1:$PORT/postgres"

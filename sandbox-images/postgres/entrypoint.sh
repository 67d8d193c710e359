#!/bin/bash
# Entrypoint of assay/postgres:15: initialises PGDATA on first start like the official image, then execs postgres.
#
# First start (no $PGDATA/PG_VERSION): initdb with POSTGRES_USER as superuser and
# POSTGRES_PASSWORD as its password (scram-sha-256 for every host connection, trust on the
# local socket only), test tuning appended to postgresql.conf, POSTGRES_DB created in
# single-user mode (no temporary server, so nothing listens on TCP before the real start).
# Every start: `exec postgres` as the postgres user, so it is PID 1 and gets the stop signal.
set -Eeuo pipefail

: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"

log() { echo "entrypoint: $*" >&2; }

# Anything other than the server (e.g. `bash`, `psql ...`) runs as given.
if [ "${1:-}" != "postgres" ]; then
  exec "$@"
fi

# Started as root: fix ownership, then re-run this script as postgres. This is the only path
# that needs capabilities (CHOWN, FOWNER, DAC_OVERRIDE, SETUID, SETGID).
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 0700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    log "POSTGRES_PASSWORD must be set on first start (the data directory is empty)"
    exit 1
  fi
  # An empty tmpfs or a fresh volume may come with the wrong mode; initdb insists on 0700/0750.
  chmod 0700 "$PGDATA" 2>/dev/null || true

  log "initialising $PGDATA"
  pwfile="$(mktemp)"
  trap 'rm -f "$pwfile"' EXIT
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb --pgdata="$PGDATA" --username="$POSTGRES_USER" --pwfile="$pwfile" \
         --encoding=UTF8 --locale=C.UTF-8 \
         --auth-local=trust --auth-host=scram-sha-256 \
         --no-sync >/dev/null
  rm -f "$pwfile"
  trap - EXIT

  # Every host may connect, always with a password.
  printf '%s\n' '# added by the assay entrypoint' 'host all all all scram-sha-256' >> "$PGDATA/pg_hba.conf"

  # Test tuning. A grading sidecar is disposable: it is thrown away after one run, so losing
  # data on a host crash is acceptable, and fsync/full_page_writes buy nothing but latency.
  cat >> "$PGDATA/postgresql.conf" <<'CONF'

# --- assay grading sidecar (disposable: durability traded for speed) ---
listen_addresses = '*'
port = 5432
max_connections = 100
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
password_encryption = 'scram-sha-256'
log_timezone = 'UTC'
timezone = 'UTC'
CONF

  if [ "$POSTGRES_DB" != "postgres" ]; then
    # Quote as an SQL identifier: double any embedded double quote.
    db_ident="\"${POSTGRES_DB//\"/\"\"}\""
    user_ident="\"${POSTGRES_USER//\"/\"\"}\""
    log "creating database $POSTGRES_DB"
    echo "CREATE DATABASE $db_ident OWNER $user_ident" \
      | postgres --single -D "$PGDATA" -j postgres >/dev/null
  fi
  log "initialisation done"
fi

# The socket directory may be a tmpfs that the postgres user cannot write to (root-owned,
# mode 0755): then put the socket in /tmp rather than fail. TCP is what clients use anyway.
if [ ! -w /var/run/postgresql ]; then
  log "/var/run/postgresql is not writable: unix socket goes to /tmp"
  set -- "$@" -c unix_socket_directories=/tmp
fi

exec "$@"

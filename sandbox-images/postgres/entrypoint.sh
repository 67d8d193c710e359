#!/bin/bash
# Entrypoint of assay/postgres:15: initialises PGDATA on first start with least-privilege roles, then execs postgres.
#
# First start (no $PGDATA/PG_VERSION), in single-user mode (nothing listens before the real start):
# - initdb with the bootstrap superuser `assay_admin`, which has no password and may log in only
#   on the local socket (inside this container): no client over TCP is ever a superuser;
# - POSTGRES_USER (the service's role) is created LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
#   NOREPLICATION NOBYPASSRLS with POSTGRES_PASSWORD, and owns POSTGRES_DB: it can create its
#   own schemas, tables and trusted extensions there, and nothing more (no `COPY ... PROGRAM`,
#   no server files, no other roles);
# - when ASSAY_CHECKS_USER and ASSAY_CHECKS_PASSWORD are set, the role assay's `database`
#   checks connect as: LOGIN BYPASSRLS, member of pg_read_all_data, pg_write_all_data (seeding)
#   and pg_read_all_stats, and nothing more. The grader draws its password per run and never
#   gives it to the service.
# scram-sha-256 for every host connection, trust on the local socket only; test tuning appended
# to postgresql.conf. Every start: `exec postgres` as the postgres user, so it is PID 1 and gets
# the stop signal.
set -Eeuo pipefail

: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${ASSAY_CHECKS_USER:=}"
: "${ASSAY_CHECKS_PASSWORD:=}"
# The bootstrap superuser: local socket only, never a client's role.
admin=assay_admin

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
  for role in "$POSTGRES_USER" "$ASSAY_CHECKS_USER"; do
    if [ "$role" = "$admin" ]; then
      log "the role name $admin is reserved for the bootstrap superuser"
      exit 1
    fi
  done
  if [ -n "$ASSAY_CHECKS_USER" ] && { [ "$ASSAY_CHECKS_USER" = "$POSTGRES_USER" ] || [ -z "$ASSAY_CHECKS_PASSWORD" ]; }; then
    log "ASSAY_CHECKS_USER must differ from POSTGRES_USER and come with ASSAY_CHECKS_PASSWORD"
    exit 1
  fi
  # An empty tmpfs or a fresh volume may come with the wrong mode; initdb insists on 0700/0750.
  chmod 0700 "$PGDATA" 2>/dev/null || true

  log "initialising $PGDATA"
  initdb --pgdata="$PGDATA" --username="$admin" \
         --encoding=UTF8 --locale=C.UTF-8 \
         --auth-local=trust --auth-host=scram-sha-256 \
         --no-sync >/dev/null

  # The superuser never over TCP (it has no password either); every other role from any host,
  # always with a password. First match wins, so the reject comes first.
  {
    echo '# added by the assay entrypoint'
    echo "host all $admin all reject"
    echo 'host all all all scram-sha-256'
  } >> "$PGDATA/pg_hba.conf"

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

  # Quoted as SQL identifiers and literals: double any embedded double or single quote.
  ident() { local v="${1//\"/\"\"}"; printf '"%s"' "$v"; }
  literal() { local v="${1//\'/\'\'}"; printf "'%s'" "$v"; }
  user_ident="$(ident "$POSTGRES_USER")"
  limited="NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION"
  log "creating the roles and database $POSTGRES_DB"
  # Single-user mode takes one statement per line and goes on after an error: its output is
  # read for errors. Nothing is written to disk but the catalog (passwords are stored hashed).
  answer="$(
    {
      echo "CREATE ROLE $user_ident LOGIN $limited NOBYPASSRLS PASSWORD $(literal "$POSTGRES_PASSWORD")"
      if [ "$POSTGRES_DB" = "postgres" ]; then
        echo "ALTER DATABASE postgres OWNER TO $user_ident"
      else
        echo "CREATE DATABASE $(ident "$POSTGRES_DB") OWNER $user_ident"
      fi
      if [ -n "$ASSAY_CHECKS_USER" ]; then
        checks_ident="$(ident "$ASSAY_CHECKS_USER")"
        echo "CREATE ROLE $checks_ident LOGIN $limited BYPASSRLS PASSWORD $(literal "$ASSAY_CHECKS_PASSWORD")"
        echo "GRANT pg_read_all_data, pg_write_all_data, pg_read_all_stats TO $checks_ident"
      fi
    } | postgres --single -D "$PGDATA" postgres 2>&1
  )"
  if grep -qE '(ERROR|FATAL|PANIC):' <<<"$answer"; then
    log "creating the roles failed:"
    grep -E '(ERROR|FATAL|PANIC):' <<<"$answer" >&2
    exit 1
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

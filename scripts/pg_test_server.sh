#!/usr/bin/env bash
# A throwaway PostgreSQL + PostGIS server for tests/postgis.rs.
#
#   scripts/pg_test_server.sh start   # prints the URL; also written to $STATE/url
#   scripts/pg_test_server.sh stop
#
# The data folder lives under /tmp (or $NEEDMAP_PG_STATE). PostgreSQL refuses to run as
# root, so as root the server runs as the `postgres` OS user. It listens on 127.0.0.1 only,
# on a free port, with password authentication (user needmap, password needmap).
set -euo pipefail
STATE=${NEEDMAP_PG_STATE:-/tmp/needmap-pg-test}
BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$BIN/initdb" ] || { echo "pg_test_server: PostgreSQL not installed (no initdb under /usr/lib/postgresql)" >&2; exit 2; }
# From /, which the postgres user can enter whatever folder the checkout is in.
as_pg() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }

case "${1:-}" in
start)
  if [ -f "$STATE/url" ] && as_pg "$BIN/pg_ctl" -D "$STATE/data" status >/dev/null 2>&1; then
    cat "$STATE/url"; exit 0
  fi
  rm -rf "$STATE"; mkdir -p "$STATE"
  [ "$(id -u)" = 0 ] && chown postgres "$STATE"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  echo needmap > "$STATE/pw"; [ "$(id -u)" = 0 ] && chown postgres "$STATE/pw"
  as_pg "$BIN/initdb" -D "$STATE/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C >"$STATE/initdb.log" 2>&1
  as_pg "$BIN/pg_ctl" -D "$STATE/data" -l "$STATE/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $STATE -c fsync=off" start >/dev/null
  as_pg "$BIN/psql" -h "$STATE" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q <<SQL
CREATE ROLE needmap LOGIN SUPERUSER PASSWORD 'needmap';
CREATE DATABASE needmap OWNER needmap;
\c needmap
CREATE EXTENSION postgis;
SQL
  url="postgresql://needmap:needmap@127.0.0.1:$port/needmap"
  echo "$url" > "$STATE/url"; chmod a+r "$STATE/url"
  echo "$url"
  ;;
stop)
  [ -d "$STATE/data" ] && as_pg "$BIN/pg_ctl" -D "$STATE/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$STATE"
  ;;
*) echo "usage: $0 start|stop" >&2; exit 64 ;;
esac

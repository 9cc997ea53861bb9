#!/usr/bin/env bash
# A throwaway PostgreSQL + PostGIS server for tests/postgis.rs.
#
#   scripts/pg_test_server.sh start   # prints the URL; also written to $STATE/url
#   scripts/pg_test_server.sh stop
#
# With openssl installed the server also speaks TLS, its certificate signed by a throwaway CA
# in $STATE/ca.crt (for sslmode=verify-full&sslrootcert=...).
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
  # TLS for the sslmode tests: a throwaway CA ($STATE/ca.crt, which verify-full is given as
  # sslrootcert) and a server certificate for 127.0.0.1 and localhost signed by it.
  ssl=""
  if command -v openssl >/dev/null; then
    (cd "$STATE" && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=needmap-test-ca \
        -keyout ca.key -out ca.crt \
      && openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr \
      && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > san.ext \
      && openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
        -extfile san.ext -out server.crt) >"$STATE/openssl.log" 2>&1
    chmod 600 "$STATE/server.key"; chmod a+r "$STATE/ca.crt"
    [ "$(id -u)" = 0 ] && chown postgres "$STATE/server.key" "$STATE/server.crt"
    ssl="-c ssl=on -c ssl_cert_file=$STATE/server.crt -c ssl_key_file=$STATE/server.key"
  fi
  as_pg "$BIN/pg_ctl" -D "$STATE/data" -l "$STATE/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $STATE -c fsync=off $ssl" start >/dev/null
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

#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests, from Debian's postgresql package (no Docker, no
# download): loopback only, fsync off (test data), trust authentication. PG_DURABLE=1 keeps
# fsync on (benchmarks: a commit costs what it costs in production).
#
#   scripts/pg-cluster.sh start DIR   creates and starts a cluster in DIR; prints its URL
#   scripts/pg-cluster.sh stop DIR    stops it and removes DIR
#
# The server also takes TLS, with a certificate for 127.0.0.1 and localhost signed by a CA made
# for the cluster (DIR/root.crt: what a client verifies against, `sslrootcert`).
#
# As root the server runs as the `postgres` user (initdb refuses root).
set -euo pipefail
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}
bin=$(pg_config --bindir 2>/dev/null || true)
if [ ! -x "$bin/initdb" ]; then
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
fi
[ -x "$bin/initdb" ] || {
  echo "PostgreSQL's server is not installed (Debian: apt-get install postgresql)" >&2
  exit 3
}
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case $cmd in
start)
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=otpd test CA" -keyout "$dir/root.key" -out "$dir/root.crt" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/root.crt" -CAkey "$dir/root.key" \
    -CAcreateserial -days 2 -out "$dir/server.crt" \
    -extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost') 2>/dev/null
  chmod 600 "$dir/server.key"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir/server.key" "$dir/server.crt"
  options="-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300"
  options="$options -c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key"
  [ "${PG_DURABLE:-}" = 1 ] || options="$options -c fsync=off -c full_page_writes=off"
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o "$options" start >/dev/null
  echo "postgres://postgres@127.0.0.1:$port/postgres"
  ;;
stop)
  if [ -d "$dir/data" ]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
  fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: $0 start|stop DIR" >&2
  exit 2
  ;;
esac

#!/usr/bin/env bash
# Starts a private MariaDB with TLS on 127.0.0.1:3407 (certificates for localhost and
# 127.0.0.1 from a throwaway CA), for test/sinks/mysql-tls.test.ts, and prints the
# environment that points those tests at it. The test runs this itself, with its own
# LLAMONITOR_TEST_MYSQL_TLS_DIR and LLAMONITOR_TEST_MYSQL_TLS_PORT, and stops it afterwards; by hand:
#   eval "$(test/support/mariadb-tls.sh)"      then   test/support/mariadb-tls.sh stop
set -euo pipefail
DIR=${LLAMONITOR_TEST_MYSQL_TLS_DIR:-/tmp/llamonitor-mariadb-tls}
PORT=${LLAMONITOR_TEST_MYSQL_TLS_PORT:-3407}
# Small enough to start in a fraction of a second; the tests write a few rows.
SIZES=(--innodb-buffer-pool-size=16M --innodb-log-file-size=4M)

ping_server() {
  mariadb-admin --no-defaults -S "$DIR/mysqld.sock" -uroot ping >/dev/null 2>&1
}

stop_server() {
  [[ -f "$DIR/mysqld.pid" ]] || return 0
  # No such process: a server that died left its pid file.
  kill "$(cat "$DIR/mysqld.pid")" 2>/dev/null || { rm -f "$DIR/mysqld.pid"; return 0; }
  # The server removes its pid file last; wait for it (bounded) so that the folder can go.
  for _ in $(seq 1 300); do [[ -f "$DIR/mysqld.pid" ]] || return 0; sleep 0.1; done
  echo "mariadb-tls.sh: the server in $DIR did not stop within 30 s" >&2
  return 1
}

if [[ "${1:-}" == stop ]]; then
  stop_server
  exit
fi

mkdir -p "$DIR/certs" "$DIR/data"
cd "$DIR/certs"
# Certificates last 7 days: made again when missing or within a day of their end.
if [[ ! -f server.pem ]] || ! openssl x509 -checkend 86400 -noout -in server.pem >/dev/null 2>&1; then
  # A server still running with the old certificates must start again with the new ones.
  if ping_server; then stop_server; fi
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 7 -subj "/CN=llamonitor test CA" 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -keyout other-key.pem -out other-ca.pem -days 7 -subj "/CN=unrelated CA" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr -subj "/CN=localhost" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > san.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out server.pem -days 7 -extfile san.ext 2>/dev/null
fi
if [[ ! -d "$DIR/data/mysql" ]]; then
  mariadb-install-db --no-defaults --datadir="$DIR/data" --user="$(id -un)" --auth-root-authentication-method=normal \
    --skip-test-db "${SIZES[@]}" >"$DIR/install.log" 2>&1 ||
    { echo "mariadb-tls.sh: mariadb-install-db failed:" >&2; tail -n 20 "$DIR/install.log" >&2; exit 1; }
fi
if ! ping_server; then
  # No stdin, stdout or stderr of ours: the caller's pipes close when this script ends.
  /usr/sbin/mariadbd --no-defaults --datadir="$DIR/data" --user="$(id -un)" --port="$PORT" --bind-address=127.0.0.1 \
    --socket="$DIR/mysqld.sock" --pid-file="$DIR/mysqld.pid" "${SIZES[@]}" --log-error="$DIR/error.log" \
    --ssl-ca="$DIR/certs/ca.pem" --ssl-cert="$DIR/certs/server.pem" --ssl-key="$DIR/certs/server-key.pem" \
    </dev/null >/dev/null 2>&1 &
  server=$!
  # Until it answers, for 30 s at most; a server that ended (port taken, bad option) is not waited for.
  for _ in $(seq 1 300); do ping_server && break; kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
  if ! ping_server; then
    echo "mariadb-tls.sh: the server on port $PORT did not start (or not within 30 s); its log:" >&2
    tail -n 20 "$DIR/error.log" >&2 || true
    exit 1
  fi
fi
mariadb --no-defaults -S "$DIR/mysqld.sock" -uroot -e "
  CREATE DATABASE IF NOT EXISTS test;
  CREATE USER IF NOT EXISTS 'tlsonly'@'%' IDENTIFIED BY 'Tls-only-pw1' REQUIRE SSL;
  GRANT ALL ON test.* TO 'tlsonly'@'%';"
echo "export LLAMONITOR_TEST_MYSQL_TLS_URL=mysql://tlsonly:Tls-only-pw1@localhost:$PORT/test"
echo "export LLAMONITOR_TEST_MYSQL_TLS_CA=$DIR/certs/ca.pem"
echo "export LLAMONITOR_TEST_MYSQL_TLS_OTHER_CA=$DIR/certs/other-ca.pem"

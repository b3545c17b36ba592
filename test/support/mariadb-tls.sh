#!/usr/bin/env bash
# Starts a private MariaDB with TLS on 127.0.0.1:3407 (certificates for localhost and
# 127.0.0.1 from a throwaway CA), for test/sinks/mysql-tls.test.ts, and prints the
# environment that enables those tests. `test/support/mariadb-tls.sh stop` stops it.
set -euo pipefail
DIR=${LLAMONITOR_TEST_TLS_DIR:-/tmp/llamonitor-mariadb-tls}
PORT=${LLAMONITOR_TEST_TLS_PORT:-3407}

if [[ "${1:-}" == stop ]]; then
  [[ -f "$DIR/mysqld.pid" ]] && kill "$(cat "$DIR/mysqld.pid")"
  exit 0
fi

mkdir -p "$DIR/certs" "$DIR/data"
cd "$DIR/certs"
if [[ ! -f server.pem ]]; then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 7 -subj "/CN=llamonitor test CA" 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -keyout other-key.pem -out other-ca.pem -days 7 -subj "/CN=unrelated CA" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr -subj "/CN=localhost" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > san.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out server.pem -days 7 -extfile san.ext 2>/dev/null
fi
if [[ ! -d "$DIR/data/mysql" ]]; then
  mariadb-install-db --no-defaults --datadir="$DIR/data" --user="$(id -un)" --auth-root-authentication-method=normal --skip-test-db >/dev/null
fi
/usr/sbin/mariadbd --no-defaults --datadir="$DIR/data" --user="$(id -un)" --port="$PORT" --bind-address=127.0.0.1 \
  --socket="$DIR/mysqld.sock" --pid-file="$DIR/mysqld.pid" --innodb-buffer-pool-size=32M --log-error="$DIR/error.log" \
  --ssl-ca="$DIR/certs/ca.pem" --ssl-cert="$DIR/certs/server.pem" --ssl-key="$DIR/certs/server-key.pem" &
for _ in $(seq 1 30); do mariadb-admin --no-defaults -S "$DIR/mysqld.sock" -uroot ping >/dev/null 2>&1 && break; sleep 1; done
mariadb --no-defaults -S "$DIR/mysqld.sock" -uroot -e "
  CREATE DATABASE IF NOT EXISTS test;
  CREATE USER IF NOT EXISTS 'tlsonly'@'%' IDENTIFIED BY 'Tls-only-pw1' REQUIRE SSL;
  GRANT ALL ON test.* TO 'tlsonly'@'%';"
echo "export LLAMONITOR_TEST_MYSQL_TLS_URL=mysql://tlsonly:Tls-only-pw1@localhost:$PORT/test"
echo "export LLAMONITOR_TEST_MYSQL_TLS_CA=$DIR/certs/ca.pem"
echo "export LLAMONITOR_TEST_MYSQL_TLS_OTHER_CA=$DIR/certs/other-ca.pem"

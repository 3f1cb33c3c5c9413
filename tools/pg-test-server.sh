#!/usr/bin/env bash
# A private, throw-away PostgreSQL server on 127.0.0.1 for the tests.
#
#   tools/pg-test-server.sh start DIR [PORT]   start (or reuse) the server
#   tools/pg-test-server.sh halt DIR           stop it, keep its data and port
#   tools/pg-test-server.sh stop DIR           stop it and delete DIR
#   tools/pg-test-server.sh url DIR            print its URL
#
# DIR holds everything: the data folder, the unix socket, the log, the
# password and `url`, the store.url of the server's `postgres` database as
# postgresql://puzzle:PASSWORD@127.0.0.1:PORT/postgres. PORT 0 or absent:
# a free port (after `halt`, `start` uses the same port again). `start`
# prints the URL and exits 0 once the server accepts connections.
#
# PostgreSQL refuses to run as root: as root the server runs as the user
# PUZZLE_PG_USER (default `postgres`, which the Debian package creates) and
# DIR is handed to that user. It listens on 127.0.0.1 only, with a random
# password (scram-sha-256), and trades durability for speed (fsync=off):
# never point it at data you want to keep.
#
# Environment: PUZZLE_PG_BIN, the folder of initdb and pg_ctl (default: the
# newest /usr/lib/postgresql/*/bin).
set -euo pipefail

die() {
  printf 'pg-test-server: error: %s\n' "$*" >&2
  exit 1
}

usage() {
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

[[ $# -ge 2 ]] || usage
readonly CMD="$1"
DIR="$2"
PORT="${3:-0}"

pg_bin() {
  if [[ -n "${PUZZLE_PG_BIN:-}" ]]; then
    printf '%s\n' "$PUZZLE_PG_BIN"
    return
  fi
  local found
  found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [[ -n "$found" && -x "$found/pg_ctl" ]] ||
    die "PostgreSQL server binaries not found (apt-get install postgresql, \
or set PUZZLE_PG_BIN to the folder of initdb and pg_ctl)"
  printf '%s\n' "$found"
}

# Runs a command as the server's user.
as_server_user() {
  if [[ "$(id -u)" -eq 0 ]]; then
    runuser -u "${PUZZLE_PG_USER:-postgres}" -- "$@"
  else
    "$@"
  fi
}

port_in_use() {
  ss -Htln "sport = :$1" 2>/dev/null | grep -q .
}

free_port() {
  local p tries
  for tries in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    if ! port_in_use "$p"; then
      printf '%s\n' "$p"
      return
    fi
  done
  die "no free port found"
}

running() {
  [[ -d "$DIR/data" ]] &&
    as_server_user "$BIN/pg_ctl" status -D "$DIR/data" >/dev/null 2>&1
}

print_url() {
  [[ -f "$DIR/url" ]] || die "no server in $DIR (run: $0 start $DIR)"
  cat "$DIR/url"
}

start() {
  mkdir -p "$DIR"
  DIR="$(cd "$DIR" && pwd)"
  if running; then
    print_url
    return
  fi
  if [[ "$(id -u)" -eq 0 ]]; then
    local user="${PUZZLE_PG_USER:-postgres}"
    id "$user" >/dev/null 2>&1 ||
      die "running as root needs the user '$user' to run the server \
(set PUZZLE_PG_USER)"
    chown "$user" "$DIR"
    as_server_user test -w "$DIR" ||
      die "user '$user' cannot write $DIR: choose a folder it can reach \
(e.g. under /tmp)"
  fi
  if [[ ! -d "$DIR/data" ]]; then
    local password
    password="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
    (umask 077 && printf '%s\n' "$password" >"$DIR/password")
    [[ "$(id -u)" -ne 0 ]] || chown "${PUZZLE_PG_USER:-postgres}" \
      "$DIR/password"
    as_server_user "$BIN/initdb" -D "$DIR/data" -U puzzle \
      --pwfile="$DIR/password" --auth=scram-sha-256 --encoding=UTF8 \
      --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 ||
      die "initdb failed: $(tail -n 5 "$DIR/initdb.log")"
  fi
  if [[ -f "$DIR/port" ]]; then
    PORT="$(cat "$DIR/port")"
  elif [[ "$PORT" -eq 0 ]]; then
    PORT="$(free_port)"
  fi
  port_in_use "$PORT" && die "port $PORT is in use"
  printf '%s\n' "$PORT" >"$DIR/port"
  as_server_user "$BIN/pg_ctl" start -w -t 60 -D "$DIR/data" \
    -l "$DIR/postgres.log" \
    -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off \
-c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    >/dev/null ||
    die "the server did not start: $(tail -n 5 "$DIR/postgres.log")"
  printf 'postgresql://puzzle:%s@127.0.0.1:%s/postgres\n' \
    "$(cat "$DIR/password")" "$PORT" >"$DIR/url"
  print_url
}

halt() {
  [[ -d "$DIR/data" ]] || return 0
  as_server_user "$BIN/pg_ctl" stop -w -m fast -D "$DIR/data" >/dev/null 2>&1 ||
    true
}

BIN="$(pg_bin)"
readonly BIN
case "$CMD" in
  start) start ;;
  halt) halt ;;
  stop)
    halt
    rm -rf "$DIR"
    ;;
  url) print_url ;;
  *) usage ;;
esac

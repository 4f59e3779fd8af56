#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the database tests.
#
# Installs PostgreSQL from the Debian packages when its server binaries are
# missing, initialises a cluster in a temporary directory, starts it on
# 127.0.0.1 on a free port (as the `postgres` user when run as root, since the
# server refuses to run as root), creates a database, and prints exactly one
# line on stdout:
#
#     export LUTE_TEST_PG_URL=postgresql://lute@127.0.0.1:PORT/lute_test
#
# Everything else goes to stderr. The server keeps running after the script
# exits; stop it with `pg_ctl -D DATA_DIR stop` (the directory is logged).
#
# Environment:
#   LUTE_PG_DATA        use this (empty or missing) directory for the cluster
#                       instead of a new temporary one
#   LUTE_PG_NO_INSTALL  when set, fail instead of installing missing packages
set -euo pipefail
exec 3>&1 1>&2  # keep stdout for the export line only

log() { printf 'setup-postgres: %s\n' "$*"; }

find_bindir() {
    local dir
    if command -v pg_config >/dev/null 2>&1; then
        dir=$(pg_config --bindir)
        [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
    fi
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
    done
    dir=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
    [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
    return 1
}

if ! bindir=$(find_bindir); then
    if [ -n "${LUTE_PG_NO_INSTALL:-}" ]; then
        log "no PostgreSQL server binaries found and LUTE_PG_NO_INSTALL is set"
        exit 1
    fi
    log "installing PostgreSQL from the Debian packages"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q postgresql
    bindir=$(find_bindir) || { log "PostgreSQL installed but initdb not found"; exit 1; }
fi
log "using PostgreSQL server binaries in $bindir ($("$bindir/postgres" --version))"

# The server refuses to run as root: run it as the unprivileged `postgres`
# user the Debian package creates.
as_server=()
if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        log "creating the system user postgres to run the server as"
        useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    fi
    as_server=(runuser -u postgres --)
fi

data="${LUTE_PG_DATA:-}"
if [ -z "$data" ]; then
    data=$(mktemp -d "${TMPDIR:-/tmp}/lute-pg.XXXXXX")
fi
mkdir -p "$data"
chmod 700 "$data"
[ ${#as_server[@]} -eq 0 ] || chown postgres: "$data"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

"${as_server[@]}" "$bindir/initdb" -D "$data/cluster" -U lute --auth=trust \
    --encoding=UTF8 --no-instructions >"$data/initdb.log" 2>&1 \
    || { cat "$data/initdb.log"; exit 1; }
"${as_server[@]}" "$bindir/pg_ctl" -D "$data/cluster" -l "$data/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $data -c fsync=off" start >/dev/null 3>&- \
    || { cat "$data/server.log"; exit 1; }

"${as_server[@]}" "$bindir/createdb" -h 127.0.0.1 -p "$port" -U lute lute_test
log "server running: data in $data/cluster, log in $data/server.log"
log "stop it with: ${as_server[*]} $bindir/pg_ctl -D $data/cluster stop"
echo "export LUTE_TEST_PG_URL=postgresql://lute@127.0.0.1:$port/lute_test" >&3

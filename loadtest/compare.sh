#!/usr/bin/env bash
# Settle throughput against pgbench's TPC-B, in one run on one fresh, durable PostgreSQL
# (fsync and synchronous_commit on), everything on this machine.
#
#   loadtest/compare.sh                      # 32 clients, 20 s each, 100 000 people
#   CLIENTS=8 SECONDS_EACH=10 PEOPLE=10000 loadtest/compare.sh
#
# Last line: settle_tps=<n> pgbench_tps=<n> ratio=<settle/pgbench>
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${CLIENTS:-32}
SECONDS_EACH=${SECONDS_EACH:-20}
PEOPLE=${PEOPLE:-100000}
POOL=${POOL:-16}
MSLP_PORT=${MSLP_PORT:-7499}

swift build -c release --product medsettle >&2
swift build -c release --product medsettle-load >&2
BIN=$(swift build -c release --show-bin-path)

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

dir=$(mktemp -d /tmp/medsettle-compare-XXXXXX)
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] && chown postgres "$dir"

pgport=$((20000 + RANDOM % 20000))
as_pg "$PGBIN/initdb" -D "$dir/data" -U medsettle -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
cat >> "$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
port = $pgport
unix_socket_directories = '$dir'
max_connections = 300
shared_buffers = 512MB
CONF
as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w start >/dev/null 2>&1 </dev/null
psql_() { psql -X -q -h "$dir" -p "$pgport" -U medsettle "$@"; }
psql_ -d postgres -c "CREATE DATABASE medsettle" -c "CREATE DATABASE bench"

export DATABASE_URL="host=$dir port=$pgport user=medsettle dbname=medsettle"
export MEDSETTLE_SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
"$BIN/medsettle" migrate --reference-data >&2
"$BIN/medsettle" seed --people "$PEOPLE" --terminals "$CLIENTS" >&2
psql_ -d medsettle -c "CHECKPOINT"

echo "pgbench TPC-B: $CLIENTS clients, $SECONDS_EACH s" >&2
"$PGBIN/pgbench" -i -q -s "$CLIENTS" -h "$dir" -p "$pgport" -U medsettle bench >/dev/null 2>&1
psql_ -d bench -c "CHECKPOINT"
pgbench_out=$("$PGBIN/pgbench" -M prepared -c "$CLIENTS" -j 2 -T "$SECONDS_EACH" -h "$dir" -p "$pgport" -U medsettle bench 2>&1)
echo "$pgbench_out" | grep -E "^(tps|latency)" >&2
pgbench_tps=$(echo "$pgbench_out" | sed -nE 's/^tps = ([0-9.]+).*/\1/p' | head -1)

echo "medsettle settle-only closed loop: $CLIENTS terminals, $SECONDS_EACH s" >&2
"$BIN/medsettle" serve --listen "127.0.0.1:$MSLP_PORT" --pool-size "$POOL" --log-level warning &
server_pid=$!
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$MSLP_PORT") 2>/dev/null && break; sleep 0.1; done
report="$dir/report"
"$BIN/medsettle-load" --port "$MSLP_PORT" --connections "$CLIENTS" --seconds "$SECONDS_EACH" --mix settle \
    --people "$PEOPLE" --report-dir "$report" >&2
cp "$report/report.json" "$report/report.svg" loadtest/ 2>/dev/null || true
settle_tps=$(sed -nE 's/.*"throughputPerSecond" : ([0-9.]+).*/\1/p' "$report/report.json" | head -1)

ratio=$(awk -v s="$settle_tps" -v p="$pgbench_tps" 'BEGIN { printf "%.2f", (p > 0 ? s / p : 0) }')
printf 'settle_tps=%.0f pgbench_tps=%.0f ratio=%s\n' "$settle_tps" "$pgbench_tps" "$ratio"

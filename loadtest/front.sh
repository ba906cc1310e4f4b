#!/usr/bin/env bash
# The front alone against Redis: PING over MSLP (signed in, closed loop, no database work) against
# `redis-benchmark -t ping_inline` on a throwaway redis-server, the same client count, everything
# on this machine. Installs nothing: needs redis-server, redis-benchmark and redis-cli on the PATH.
#
#   loadtest/front.sh                        # 50 clients (redis-benchmark's default), 20 s each
#   CLIENTS=32 SECONDS_EACH=10 PIPELINE=16 loadtest/front.sh
#
# PIPELINE (default 1) is the requests in flight per connection on both sides (redis-benchmark -P).
# Last line: ping_tps=<n> redis_ping_tps=<n> ratio=<ping/redis>
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${CLIENTS:-50}
SECONDS_EACH=${SECONDS_EACH:-20}
PIPELINE=${PIPELINE:-1}

for tool in redis-server redis-benchmark redis-cli; do
    if ! command -v "$tool" >/dev/null; then
        echo "$tool is missing; on Debian/Ubuntu: apt-get install -y redis-server (it brings redis-tools)" >&2
        exit 2
    fi
done

source loadtest/lib.sh
ms_build
ms_start_postgres
redis_pid=""
stop_redis() { [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null || true; redis_pid=""; }
trap 'stop_redis; ms_cleanup' EXIT
ms_migrate_and_seed 1 "$CLIENTS"

echo "redis-benchmark ping_inline: $CLIENTS clients, pipeline $PIPELINE, ~$SECONDS_EACH s" >&2
redis_port=$(ms_free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no --logfile "$dir/redis.log" &
redis_pid=$!
for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
# redis-benchmark counts requests, not seconds: a short calibration run sizes the real one.
rps_of() { tr '\r' '\n' | sed -nE 's/.*PING_INLINE: ([0-9.]+) requests per second.*/\1/p' | tail -1; }
calibration=$(redis-benchmark -p "$redis_port" -t ping_inline -c "$CLIENTS" -P "$PIPELINE" -n 100000 -q 2>&1 | rps_of)
requests=$(awk -v r="$calibration" -v s="$SECONDS_EACH" 'BEGIN { n = int(r * s); print (n < 100000 ? 100000 : n) }')
redis_cpu_before=$(ms_cpu_ms "$redis_pid")
redis_out=$(redis-benchmark -p "$redis_port" -t ping_inline -c "$CLIENTS" -P "$PIPELINE" -n "$requests" -q 2>&1)
redis_cpu=$(( $(ms_cpu_ms "$redis_pid") - redis_cpu_before ))
echo "$redis_out" | tr '\r' '\n' | grep PING_INLINE | tail -1 >&2
redis_tps=$(echo "$redis_out" | rps_of)
stop_redis

echo "medsettle PING: $CLIENTS signed-in connections, pipeline $PIPELINE, $SECONDS_EACH s" >&2
ms_start_server --pool-size 4
engine_cpu_before=$(ms_cpu_ms "$server_pid")
"$BIN/medsettle-load" --port "$MSLP_PORT" --connections "$CLIENTS" --seconds "$SECONDS_EACH" --mix ping \
    --pipeline "$PIPELINE" --report-dir "$dir/report" >&2
engine_cpu=$(( $(ms_cpu_ms "$server_pid") - engine_cpu_before ))
ping_tps=$(ms_report_field "$dir/report/report.json" throughputPerSecond)
ping_requests=$(sed -nE 's/^  "requests" : ([0-9]+).*/\1/p' "$dir/report/report.json" | head -1)

# On shared cores the throughput also depends on what each client costs; the servers' own CPU
# time per request says what each front spends.
awk -v e="$engine_cpu" -v n="$ping_requests" -v r="$redis_cpu" -v m="$requests" 'BEGIN {
    printf "server CPU per request: medsettle %.1f µs, redis-server %.1f µs\n", e * 1000 / n, r * 1000 / m }' >&2

ratio=$(awk -v p="$ping_tps" -v r="$redis_tps" 'BEGIN { printf "%.2f", (r > 0 ? p / r : 0) }')
printf 'ping_tps=%.0f redis_ping_tps=%.0f ratio=%s\n' "$ping_tps" "$redis_tps" "$ratio"

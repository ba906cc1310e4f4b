#!/usr/bin/env bash
# Many idle terminals: opens CONNECTIONS signed-in MSLP connections, holds them quiet, and reads the
# engine's resident memory (VmRSS, and its peak VmHWM, from /proc/<pid>/status) while they are held;
# at the end a sample of them must still answer PING.
#
#   loadtest/idle.sh                         # 10 000 connections held 20 s
#   CONNECTIONS=2000 HOLD_SECONDS=5 loadtest/idle.sh
#
# The connections sign in as TERMINALS generated terminals in turn (the engine lets several
# connections sign in as one terminal). The engine and the harness need a descriptor per
# connection each: the script raises `ulimit -n` to FD_LIMIT (as root it may raise the hard limit).
# Last line: idle_connections=<n> server_rss_mb=<n>
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS=${CONNECTIONS:-10000}
HOLD_SECONDS=${HOLD_SECONDS:-20}
TERMINALS=${TERMINALS:-100}
FD_LIMIT=${FD_LIMIT:-65536}

ulimit -n "$FD_LIMIT" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((CONNECTIONS + 1000)) ]; then
    echo "ulimit -n is $(ulimit -n), too low for $CONNECTIONS connections (raise the hard limit, or run as root)" >&2
    exit 2
fi

# A /proc/<pid>/status memory figure (VmRSS, VmHWM) in MB.
memory_mb() { awk -v key="$2:" '$1 == key { printf "%.0f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"; }

source loadtest/lib.sh
ms_build
ms_start_postgres
harness_pid=""
stop_harness() { [ -n "$harness_pid" ] && kill "$harness_pid" 2>/dev/null && wait "$harness_pid" 2>/dev/null || true; harness_pid=""; }
trap 'stop_harness; ms_cleanup' EXIT
ms_migrate_and_seed 1 "$TERMINALS"

ms_start_server --pool-size 4 --max-connections $((CONNECTIONS + 1000))
echo "engine started: VmRSS $(memory_mb "$server_pid" VmRSS) MB" >&2

echo "medsettle idle: $CONNECTIONS signed-in connections held $HOLD_SECONDS s" >&2
log="$dir/idle.log"
"$BIN/medsettle-load" --port "$MSLP_PORT" --connections "$CONNECTIONS" --terminals "$TERMINALS" \
    --seconds "$HOLD_SECONDS" --mix idle --report-dir "$dir/report" > "$log" 2>&1 &
harness_pid=$!
# The harness says "holding N connections" once all are open; memory is read a moment later.
until grep -q '^holding' "$log"; do
    if ! kill -0 "$harness_pid" 2>/dev/null; then
        cat "$log" >&2
        echo "the harness ended before holding its connections" >&2
        exit 1
    fi
    sleep 0.5
done
sleep 1
rss=$(memory_mb "$server_pid" VmRSS)
hwm=$(memory_mb "$server_pid" VmHWM)
threads=$(awk '$1 == "Threads:" { print $2 }' "/proc/$server_pid/status")
descriptors=$(ls "/proc/$server_pid/fd" | wc -l)
harness_rss=$(memory_mb "$harness_pid" VmRSS)
harness_status=0
wait "$harness_pid" || harness_status=$?
harness_pid=""
cat "$log" >&2
echo "while held: engine VmRSS $rss MB, VmHWM $hwm MB, $threads threads, $descriptors descriptors; harness VmRSS $harness_rss MB" >&2
[ "$harness_status" = 0 ] || echo "the harness failed (exit $harness_status): see above" >&2
held=$(sed -nE 's/^holding ([0-9]+) connections.*/\1/p' "$log" | head -1)
printf 'idle_connections=%d server_rss_mb=%d\n' "${held:-0}" "$rss"
exit "$harness_status"

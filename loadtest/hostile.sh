#!/usr/bin/env bash
# Hostile clients beside real terminals: on one fresh durable PostgreSQL and one engine with the
# production defaults for hostile clients (signin-timeout 10 s, max-connections-per-address 256,
# max-signin-failures 20 per 60 s, line-timeout 30 s, max-line 16 384), the harness's mixed load of
# CLIENTS terminals runs twice for SECONDS_EACH:
#   1. quiet: alone, for the reference p99;
#   2. hostile: beside HOSTILE connections (`medsettle-load --mix hostile`) that never sign in — a
#      quarter never read (PINGs pipelined into a full socket), a quarter send a SIGNIN a byte a
#      second, a quarter flood SIGNIN with wrong macs, a quarter pipeline malformed lines (some
#      over-long) — each reopened a second after the engine closes it. They come from SOURCES
#      loopback addresses 127.0.0.2… in turn (HOSTILE / SOURCES each, under the per-address cap,
#      so that the cap does not simply hide the test), the terminals from 127.0.0.1.
# The engine's VmRSS is read every second. Passes when the legitimate p99 of the hostile run is
# within 2× the quiet one, the engine's peak RSS in the hostile run stays under RSS_LIMIT_MB, every
# hostile connection was closed by the engine (none left open HOSTILE_DRAIN s after the run: the
# hostile harness exits 1 otherwise, and the engine reports 0 open connections), and both mixed runs'
# invariant checks and probes held.
#
#   loadtest/hostile.sh                                   # 32 terminals, 1 000 hostile, 60 s each
#   CLIENTS=16 HOSTILE=200 SECONDS_EACH=20 loadtest/hostile.sh
#
# Last line: hostile=<hostile connections closed by the engine> legit_p99_ratio=<x> rss_mb=<peak> invariants=<green|red>
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${CLIENTS:-32}
HOSTILE=${HOSTILE:-1000}
SOURCES=${SOURCES:-8}
SECONDS_EACH=${SECONDS_EACH:-60}
PEOPLE=${PEOPLE:-10000}
HOSTILE_DRAIN=${HOSTILE_DRAIN:-40}
RSS_LIMIT_MB=${RSS_LIMIT_MB:-256}
MAX_RATIO=${MAX_RATIO:-2}

# The engine and the hostile harness each hold over a thousand sockets.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

source loadtest/lib.sh
hostile_pid=""
sampler_pid=""
stop_helpers() {
    for pid in $hostile_pid $sampler_pid; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
    hostile_pid=""; sampler_pid=""
}

ms_build
ms_start_postgres
trap 'stop_helpers; ms_cleanup' EXIT # after ms_start_postgres, which sets its own
trap 'exit 1' INT TERM      # so that a signal runs the cleanup too
ms_migrate_and_seed "$PEOPLE" "$CLIENTS"
metrics_port=$(ms_free_port)
# Production limits per client address (lib.sh turns the connection cap off for its other runs).
MS_MAX_CONNECTIONS_PER_ADDRESS=256 ms_start_server --pool-size 8 --metrics "127.0.0.1:$metrics_port"

# sample_rss FILE: the engine's VmRSS in kB, one line a second, until killed.
sample_rss() {
    while kill -0 "$server_pid" 2>/dev/null; do
        awk '$1 == "VmRSS:" { print $2 }' "/proc/$server_pid/status" >> "$1" 2>/dev/null || true
        sleep 1
    done
}
peak_mb() { sort -n "$1" | tail -1 | awk '{ printf "%.0f", $1 / 1024 }'; }
p99_ms() { sed -nE 's/.*"p99" : ([0-9]+).*/\1/p' "$1/report.json" | head -1 | awk '{ printf "%.2f", $1 / 1000 }'; }
metric() { curl -s "127.0.0.1:$metrics_port/metrics" | awk -v name="$1" '$1 == name { printf "%.0f", $2 }'; }

# mixed_run NAME: the mixed load alone in the foreground; sets $status_NAME.
mixed_run() {
    echo "== $1: mixed load, $CLIENTS terminals, $SECONDS_EACH s" >&2
    local status=0
    "$BIN/medsettle-load" --port "$MSLP_PORT" --connections "$CLIENTS" --seconds "$SECONDS_EACH" --mix mixed \
        --people "$PEOPLE" --report-dir "$dir/$1" >&2 || status=$?
    eval "status_$1=$status"
}

sample_rss "$dir/rss-quiet" & sampler_pid=$!
mixed_run quiet
kill "$sampler_pid"; wait "$sampler_pid" 2>/dev/null || true; sampler_pid=""

sources=$(seq -s, -f '127.0.0.%g' 2 $((SOURCES + 1)))
echo "== hostile: $HOSTILE connections from $sources, $((SECONDS_EACH + 10)) s, then up to $HOSTILE_DRAIN s for the engine to close the rest" >&2
sample_rss "$dir/rss-hostile" & sampler_pid=$!
"$BIN/medsettle-load" --port "$MSLP_PORT" --mix hostile --connections "$HOSTILE" --seconds $((SECONDS_EACH + 10)) \
    --source-addresses "$sources" --hostile-drain "$HOSTILE_DRAIN" --report-dir "$dir/hostile" > "$dir/hostile.log" 2>&1 &
hostile_pid=$!
sleep 5 # the hostile connections open over the first second; let them settle into their habits
mixed_run legit
hostile_status=0
wait "$hostile_pid" || hostile_status=$?
hostile_pid=""
kill "$sampler_pid"; wait "$sampler_pid" 2>/dev/null || true; sampler_pid=""
cat "$dir/hostile.log" >&2

open_after=$(metric medsettle_connections_open)
echo "engine: open connections after the run ${open_after:-?}, sign-in deadlines $(metric medsettle_signin_timeouts_total)," \
     "refused per address $(metric medsettle_connections_refused_per_address_total), addresses blocked for failed sign-ins" \
     "$(metric medsettle_signin_blocks_total)" >&2

quiet_p99=$(p99_ms "$dir/quiet")
legit_p99=$(p99_ms "$dir/legit")
ratio=$(awk -v a="$legit_p99" -v b="$quiet_p99" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
quiet_rss=$(peak_mb "$dir/rss-quiet")
rss=$(peak_mb "$dir/rss-hostile")
closed=$(sed -nE 's/^hostile=([0-9]+) .*/\1/p' "$dir/hostile.log" | tail -1)
echo "legitimate p99: quiet $quiet_p99 ms, beside the hostile connections $legit_p99 ms (ratio $ratio, at most $MAX_RATIO)" >&2
echo "engine peak VmRSS: quiet $quiet_rss MB, hostile $rss MB (at most $RSS_LIMIT_MB)" >&2

verdict=green
[ "$status_quiet" = 0 ] && [ "$status_legit" = 0 ] || { echo "a mixed run's invariants or probes failed" >&2; verdict=red; }
passed=true
[ "$hostile_status" = 0 ] || { echo "hostile connections left open by the engine (or the hostile harness failed)" >&2; passed=false; }
[ "${open_after:-1}" = 0 ] || { echo "the engine still holds ${open_after:-?} connections" >&2; passed=false; }
legit_requests=$(sed -nE 's/^  "requests" : ([0-9]+).*/\1/p' "$dir/legit/report.json" | head -1)
[ "${legit_requests:-0}" -gt 0 ] || { echo "the terminals made no request beside the hostile connections" >&2; passed=false; }
awk -v r="$ratio" -v m="$MAX_RATIO" 'BEGIN { exit !(r > 0 && r <= m) }' || { echo "the legitimate p99 more than ${MAX_RATIO}× the quiet one" >&2; passed=false; }
[ "$rss" -le "$RSS_LIMIT_MB" ] || { echo "the engine's RSS over $RSS_LIMIT_MB MB" >&2; passed=false; }

echo "hostile=${closed:-0} legit_p99_ratio=$ratio rss_mb=$rss invariants=$verdict"
[ "$verdict" = green ] && $passed

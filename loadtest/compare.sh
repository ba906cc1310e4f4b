#!/usr/bin/env bash
# Settle throughput against pgbench's TPC-B, in one run on one fresh, durable PostgreSQL
# (fsync and synchronous_commit on), everything on this machine.
#
#   loadtest/compare.sh                      # 32 clients, 20 s each, 100 000 people
#   CLIENTS=8 SECONDS_EACH=10 PEOPLE=10000 loadtest/compare.sh
#   TRACED=1 loadtest/compare.sh            # every line a traced drug, a fresh code per package
#
# The engine logs as in production (lib.sh: the default level, a line per request, into a file);
# the line before the last says how many lines it wrote and dropped: log_lines=<n> log_dropped=<n>.
# The harness's report (report.json, report.svg, the .hgrm latency distributions) is kept in
# loadtest-report/compare/.
#
# Last line: settle_tps=<n> pgbench_tps=<n> ratio=<settle/pgbench>
set -euo pipefail
cd "$(dirname "$0")/.."
source loadtest/lib.sh

CLIENTS=${CLIENTS:-32}
SECONDS_EACH=${SECONDS_EACH:-20}
PEOPLE=${PEOPLE:-100000}
POOL=${POOL:-16}

ms_build
ms_start_postgres
ms_migrate_and_seed "$PEOPLE" "$CLIENTS"

echo "pgbench TPC-B: $CLIENTS clients, $SECONDS_EACH s" >&2
psql_ -d postgres -c "CREATE DATABASE bench"
"$PGBIN/pgbench" -i -q -s "$CLIENTS" -h "$dir" -p "$pgport" -U medsettle bench >/dev/null 2>&1
psql_ -d bench -c "CHECKPOINT"
pgbench_out=$("$PGBIN/pgbench" -M prepared -c "$CLIENTS" -j 2 -T "$SECONDS_EACH" -h "$dir" -p "$pgport" -U medsettle bench 2>&1)
echo "$pgbench_out" | grep -E "^(tps|latency)" >&2
pgbench_tps=$(echo "$pgbench_out" | sed -nE 's/^tps = ([0-9.]+).*/\1/p' | head -1)

echo "medsettle settle-only closed loop: $CLIENTS terminals, $SECONDS_EACH s" >&2
ms_start_server --pool-size "$POOL"
settle_tps=$(ms_settle_tps "$CLIENTS" "$SECONDS_EACH" "$PEOPLE" loadtest-report/compare)
ms_log_summary

ratio=$(awk -v s="$settle_tps" -v p="$pgbench_tps" 'BEGIN { printf "%.2f", (p > 0 ? s / p : 0) }')
printf 'settle_tps=%.0f pgbench_tps=%.0f ratio=%s\n' "$settle_tps" "$pgbench_tps" "$ratio"

#!/usr/bin/env bash
# Settle throughput on a grown database against a new one, on one fresh, durable PostgreSQL:
#   small: 10 000 people, no past settlements;
#   grown: 1 000 000 people and 5 000 000 past settlements (with their lines and traces).
#
#   loadtest/growth.sh                       # 32 clients, 20 s each
#   SMALL=10000 PEOPLE=1000000 HISTORY=5000000 CLIENTS=32 SECONDS_EACH=20 WARMUP=10 loadtest/growth.sh
#
# Last line: small_tps=<n> grown_tps=<n> ratio=<grown/small>   (target: ratio >= 0.8)
set -euo pipefail
cd "$(dirname "$0")/.."
source loadtest/lib.sh

CLIENTS=${CLIENTS:-32}
SECONDS_EACH=${SECONDS_EACH:-20}
SMALL=${SMALL:-10000}
PEOPLE=${PEOPLE:-1000000}
HISTORY=${HISTORY:-5000000}
POOL=${POOL:-16}
WARMUP=${WARMUP:-10}   # seconds of load before each measured run, not counted

# A warm-up run, then the measured one: the grown database must first bring its working set into
# memory, as one in service for months has.
measure() {
    ms_settle_tps "$CLIENTS" "$WARMUP" "$1" "$dir/$2-warmup" >/dev/null
    ms_settle_tps "$CLIENTS" "$SECONDS_EACH" "$1" "$dir/$2"
}

ms_build
ms_start_postgres

echo "small: $SMALL people, no history" >&2
ms_migrate_and_seed "$SMALL" "$CLIENTS"
ms_start_server --pool-size "$POOL"
small_tps=$(measure "$SMALL" small)
ms_stop_server

echo "grown: $PEOPLE people, $HISTORY past settlements (seeding takes a few minutes)" >&2
started=$(date +%s)
ms_migrate_and_seed "$PEOPLE" "$CLIENTS" "$HISTORY"
echo "seeded in $(( $(date +%s) - started )) s; $(psql_ -d medsettle -Atc "SELECT pg_size_pretty(pg_database_size('medsettle'))") on disk" >&2
ms_start_server --pool-size "$POOL"
grown_tps=$(measure "$PEOPLE" grown)

ratio=$(awk -v g="$grown_tps" -v s="$small_tps" 'BEGIN { printf "%.2f", (s > 0 ? g / s : 0) }')
printf 'small_tps=%.0f grown_tps=%.0f ratio=%s\n' "$small_tps" "$grown_tps" "$ratio"

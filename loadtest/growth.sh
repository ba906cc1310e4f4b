#!/usr/bin/env bash
# Settle throughput on a grown database against a new one, on one fresh, durable PostgreSQL:
#   small: 10 000 people, no past settlements;
#   grown: 1 000 000 people and 5 000 000 past settlements (with their lines and traces).
#
#   loadtest/growth.sh                       # 32 clients, 20 s each
#   SMALL=10000 PEOPLE=1000000 HISTORY=5000000 CLIENTS=32 SECONDS_EACH=20 loadtest/growth.sh
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

ms_build
ms_start_postgres

echo "small: $SMALL people, no history" >&2
ms_migrate_and_seed "$SMALL" "$CLIENTS"
ms_start_server --pool-size "$POOL"
small_tps=$(ms_settle_tps "$CLIENTS" "$SECONDS_EACH" "$SMALL" "$dir/small")
ms_stop_server

echo "grown: $PEOPLE people, $HISTORY past settlements (seeding takes a few minutes)" >&2
started=$(date +%s)
ms_migrate_and_seed "$PEOPLE" "$CLIENTS" "$HISTORY"
echo "seeded in $(( $(date +%s) - started )) s; $(psql_ -d medsettle -Atc "SELECT pg_size_pretty(pg_database_size('medsettle'))") on disk" >&2
ms_start_server --pool-size "$POOL"
grown_tps=$(ms_settle_tps "$CLIENTS" "$SECONDS_EACH" "$PEOPLE" "$dir/grown")

ratio=$(awk -v g="$grown_tps" -v s="$small_tps" 'BEGIN { printf "%.2f", (s > 0 ? g / s : 0) }')
printf 'small_tps=%.0f grown_tps=%.0f ratio=%s\n' "$small_tps" "$grown_tps" "$ratio"

#!/usr/bin/env bash
# PostgreSQL's work per settlement, in figures a busy machine does not move: WAL bytes, shared
# buffers read, statements (pg_stat_statements), over a short settle-only closed loop on a fresh
# PostgreSQL with full_page_writes off (so that WAL counts the settlements' own records, not page
# images after a checkpoint), with planning tracked (plan_ms_per: PostgreSQL's planning time per
# settlement). Throughput, time per statement and the CPU each process spent per settlement
# (engine_us_per, postgres_us_per: every PostgreSQL process; harness_us_per) are printed too; CPU
# per settlement moves less with the machine's other work than throughput does, but it moves.
#
#   loadtest/pgwork.sh                          # 8 terminals, 10 s, 20 000 people
#   CLIENTS=32 loadtest/pgwork.sh
#   BIN=/path/to/release/bin loadtest/pgwork.sh # an engine built elsewhere (an earlier commit)
#   STATEMENTS=1 loadtest/pgwork.sh            # and the statements reading the most buffers
#
# Last line: settlements=<n> wal_bytes_per=<n> buffers_per=<n> statements_per=<n> exec_ms_per=<n>
#   plan_ms_per=<n> engine_us_per=<n> postgres_us_per=<n> harness_us_per=<n> tps=<n>
set -euo pipefail
cd "$(dirname "$0")/.."
source loadtest/lib.sh

CLIENTS=${CLIENTS:-8}
SECONDS_EACH=${SECONDS_EACH:-10}
PEOPLE=${PEOPLE:-20000}

if [ -z "${BIN:-}" ]; then ms_build; fi
ms_start_postgres
printf "shared_preload_libraries = 'pg_stat_statements'\npg_stat_statements.track_planning = on\nfull_page_writes = off\n" | ms_reconfigure_postgres
ms_migrate_and_seed "$PEOPLE" "$CLIENTS"
psql_ -d medsettle -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
ms_start_server --pool-size 16
psql_ -d medsettle -c "CHECKPOINT"
psql_ -d medsettle -c "SELECT pg_stat_statements_reset()" >/dev/null
before=$(psql_ -d medsettle -Atc "SELECT count(*) FROM settlement")
lsn=$(psql_ -d medsettle -Atc "SELECT pg_current_wal_lsn()")
# CPU time in ms of the engine, of PostgreSQL (ms_postgres_cpu_ms), and of this shell's finished
# children (the harness, once it has ended: bash's `times`).
# (`times` into a file: in a pipe or a $(…) it would run in a subshell, which has no children.)
children_cpu_ms() {
    times > "$dir/times"
    awk 'NR == 2 { gsub(/[ms]/, " "); print int(($1 * 60 + $2 + $3 * 60 + $4) * 1000) }' "$dir/times"
}
children_cpu_ms > "$dir/harness0"
engine0=$(ms_cpu_ms "$server_pid"); postgres0=$(ms_postgres_cpu_ms)
tps=$(ms_settle_tps "$CLIENTS" "$SECONDS_EACH" "$PEOPLE" "$dir/report")
engine1=$(ms_cpu_ms "$server_pid"); postgres1=$(ms_postgres_cpu_ms)
children_cpu_ms > "$dir/harness1"
harness0=$(cat "$dir/harness0"); harness1=$(cat "$dir/harness1")
after=$(psql_ -d medsettle -Atc "SELECT count(*) FROM settlement")
n=$((after - before))
[ "$n" -gt 0 ] || { echo "no settlement was made" >&2; exit 1; }
# The harness's own invariant check at the end of its run is left out of the statements.
figures=$(psql_ -d medsettle -Atc "
    SELECT 'wal_bytes_per=' || (pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn') / $n)::bigint
        || ' buffers_per=' || round(sum(shared_blks_hit + shared_blks_read)::numeric / $n, 1)
        || ' statements_per=' || round(sum(calls)::numeric / $n, 2)
        || ' exec_ms_per=' || round((sum(total_exec_time) / $n)::numeric, 3)
        || ' plan_ms_per=' || round((sum(total_plan_time) / $n)::numeric, 3)
    FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%' AND query NOT LIKE '%codes_sold_twice%'")
if [ -n "${STATEMENTS:-}" ]; then
    psql_ -d medsettle -c "
        SELECT calls, round((shared_blks_hit + shared_blks_read)::numeric / nullif(calls, 0), 1) AS buffers_per_call,
               round(mean_exec_time::numeric, 3) AS mean_ms, left(regexp_replace(query, '\s+', ' ', 'g'), 120) AS statement
        FROM pg_stat_statements WHERE query NOT LIKE '%codes_sold_twice%'
        ORDER BY shared_blks_hit + shared_blks_read DESC LIMIT 8" >&2
fi
per() { echo $(( ($2 - $1) * 1000 / n )); }  # ms to µs per settlement
printf 'settlements=%s %s engine_us_per=%s postgres_us_per=%s harness_us_per=%s tps=%.0f\n' "$n" "$figures" \
    "$(per "$engine0" "$engine1")" "$(per "$postgres0" "$postgres1")" "$(per "$harness0" "$harness1")" "$tps"

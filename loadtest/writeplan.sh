#!/usr/bin/env bash
# Where a settlement round's write statement spends its time, by round size: PostgreSQL's
# auto_explain (ANALYZE, triggers, buffers) of a sample of the engine's statements during a short
# settle-only closed loop on a fresh PostgreSQL, then, for each number of settlements a write
# carried, the median time of the statement and of its parts (the settlement and trace inserts,
# the account debits, the foreign-key checks run after it). The timings carry auto_explain's own
# overhead (a clock read per row and node), so read them as shares, not as costs.
#
#   loadtest/writeplan.sh                         # 8 terminals, 6 s, 20 000 people, 2 % of statements
#   CLIENTS=32 SAMPLE=0.01 loadtest/writeplan.sh
#   BIN=/path/to/release/bin loadtest/writeplan.sh
#
# Prints: claims writes statement_ms settlement_ms trace_ms debits_ms keys_ms, a line per round size
# seen at least 5 times; the sampled plans stay in loadtest-report/writeplan/postgres.log.
set -euo pipefail
cd "$(dirname "$0")/.."
source loadtest/lib.sh

CLIENTS=${CLIENTS:-8}
SECONDS_EACH=${SECONDS_EACH:-6}
PEOPLE=${PEOPLE:-20000}
SAMPLE=${SAMPLE:-0.02}

if [ -z "${BIN:-}" ]; then ms_build; fi
ms_start_postgres
ms_reconfigure_postgres <<CONF
shared_preload_libraries = 'auto_explain'
auto_explain.log_min_duration = 0
auto_explain.log_analyze = on
auto_explain.log_triggers = on
auto_explain.log_buffers = on
auto_explain.sample_rate = $SAMPLE
CONF
ms_migrate_and_seed "$PEOPLE" "$CLIENTS"
ms_start_server --pool-size 16
"$BIN/medsettle-load" --port "$MSLP_PORT" --connections "$CLIENTS" --seconds "$SECONDS_EACH" --mix settle \
    --people "$PEOPLE" --report-dir "$dir/report" > "$dir/load.out" 2>&1 || { cat "$dir/load.out" >&2; exit 1; }
ms_stop_server
mkdir -p loadtest-report/writeplan
cp "$dir/postgres.log" loadtest-report/writeplan/postgres.log

# One line per sampled write: "<claims> <statement> <settlement> <trace> <debits> <keys>" (ms). A
# plan's entry starts at its "duration:" line; the claims are the rows of its first scan of `sx`.
awk '
    function flush() {
        if (write && claims != "") printf "%s %s %s %s %s %s\n", claims, duration, part["settlement"], part["trace"], part["person"], keys
        write = 0; claims = ""; keys = 0; delete part
    }
    function finish(line,   m) { match(line, /actual time=[0-9.]+\.\.[0-9.]+/); m = substr(line, RSTART, RLENGTH); sub(/.*\.\./, "", m); return m }
    /LOG:  duration: [0-9.]+ ms  plan:/ { flush(); d = $0; sub(/.*duration: /, "", d); sub(/ ms.*/, "", d); duration = d; next }
    /Insert on settlement/ { write = 1; part["settlement"] = finish($0) }
    /Insert on trace / { part["trace"] = finish($0) }
    /Update on person/ { part["person"] = finish($0) }
    /CTE Scan on sx / && claims == "" { r = $0; sub(/.*actual time=[^ ]* rows=/, "", r); sub(/ .*/, "", r); claims = r }
    /Trigger for constraint .* time=/ { t = $0; sub(/.* time=/, "", t); sub(/ .*/, "", t); keys += t }
    END { flush() }
' loadtest-report/writeplan/postgres.log > "$dir/writes"

echo "claims writes statement_ms settlement_ms trace_ms debits_ms keys_ms"
for claims in $(cut -d' ' -f1 "$dir/writes" | sort -n | uniq); do
    n=$(awk -v c="$claims" '$1 == c' "$dir/writes" | wc -l)
    [ "$n" -ge 5 ] || continue
    line="$claims $n"
    for column in 2 3 4 5 6; do
        line="$line $(awk -v c="$claims" -v k="$column" '$1 == c { print $k }' "$dir/writes" | ms_median)"
    done
    echo "$line"
done

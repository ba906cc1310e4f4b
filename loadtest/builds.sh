#!/usr/bin/env bash
# Two engine builds in turn on one PostgreSQL: the settle-only closed loop, run after run, each
# build's engine started afresh for its run, in A B B A order (on this machine whichever build ran
# second in a pair measured ~10 % faster even when both were the same binary, so the order
# alternates and each build runs as often first as second). For each run: throughput, the CPU the
# engine and PostgreSQL spent per settlement, settlements per round (the engine's
# medsettle_settle_batch_size histogram), p50 / p99 and the invariant check; at the end each
# build's medians.
#
#   A=/path/to/earlier/release/bin loadtest/builds.sh              # against this checkout's build
#   A=/path/one B=/path/other PAIRS=6 CLIENTS=16 loadtest/builds.sh
#   A=.build/release A_SQL=with.sql B_SQL=without.sql loadtest/builds.sh  # one build, two schemas
#   A=.build/release B_ARGS="--log-level warning" loadtest/builds.sh      # one build, two settings
#
# A and B are folders holding medsettle and medsettle-load (a release build's bin path, as for BIN);
# B defaults to this checkout's release build. PAIRS (default 4) A B or B A pairs, SECONDS_EACH
# (default 10) each after a 2 s warm-up, CLIENTS (default 8) terminals, PEOPLE (default 20 000).
# A_SQL and B_SQL: files of SQL run against the database before each of that side's runs (a schema
# change measured with one build: each file sets its side's schema, whichever ran before). Paths,
# these and A's and B's, are taken from the checkout's root. A_ARGS and B_ARGS: more `serve` flags
# for that side's engine (split on spaces).
#
# Last line: a_tps=<median> b_tps=<median> a_engine_us=… b_engine_us=… a_postgres_us=… b_postgres_us=…
#   (medians per settlement) tps_ratio=<b/a>
set -euo pipefail
cd "$(dirname "$0")/.."
source loadtest/lib.sh

PAIRS=${PAIRS:-4}
SECONDS_EACH=${SECONDS_EACH:-10}
CLIENTS=${CLIENTS:-8}
PEOPLE=${PEOPLE:-20000}
[ -n "${A:-}" ] || { echo "A=<folder of the other build's medsettle and medsettle-load> is required" >&2; exit 2; }
if [ -z "${B:-}" ]; then unset BIN; ms_build; B=$BIN; fi
for build in "$A" "$B"; do BIN=$build ms_build >/dev/null 2>&1 || { echo "$build lacks medsettle or medsettle-load" >&2; exit 2; }; done

# The schema of B, this checkout's build by default (the newer one, whose migrations A's code
# does not need).
BIN=$B
ms_start_postgres
ms_migrate_and_seed "$PEOPLE" "$CLIENTS"
# rounds: "<rounds> <settlements in them>" so far, from the engine's metrics endpoint.
rounds() {
    { curl -sf "http://127.0.0.1:$MS_METRICS_PORT/metrics" || true; } |
        awk '/^medsettle_settle_batch_size_count/ { c = $2 } /^medsettle_settle_batch_size_sum/ { s = $2 } END { printf "%d %d\n", c, s }'
}

# run NAME FOLDER SQL-FILE SERVE-FLAGS: one measured run of that build (after the SQL, when given,
# with the flags, when given); appends "name tps engine_us postgres_us" to $dir/runs.
run() {
    BIN=$2
    if [ -n "$3" ]; then psql_ -d medsettle -v ON_ERROR_STOP=1 -f "$3" >/dev/null; fi
    # shellcheck disable=SC2086 # the flags are split on spaces on purpose
    ms_start_server --pool-size 16 $4
    "$BIN/medsettle-load" --port "$MSLP_PORT" --connections "$CLIENTS" --seconds 2 --mix settle --people "$PEOPLE" \
        --report-dir "$dir/warmup" > "$dir/load.out" 2>&1 || { echo "$1: the warm-up failed" >&2; cat "$dir/load.out" >&2; exit 1; }
    psql_ -d medsettle -c "CHECKPOINT"
    local rounds0 engine0 postgres0 rounds1 engine1 postgres1 n
    rounds0=$(rounds); engine0=$(ms_cpu_ms "$server_pid"); postgres0=$(ms_postgres_cpu_ms)
    "$BIN/medsettle-load" --port "$MSLP_PORT" --connections "$CLIENTS" --seconds "$SECONDS_EACH" --mix settle \
        --people "$PEOPLE" --report-dir "$dir/report" > "$dir/load.out" 2>&1 || { echo "$1: the run failed" >&2; cat "$dir/load.out" >&2; exit 1; }
    engine1=$(ms_cpu_ms "$server_pid"); postgres1=$(ms_postgres_cpu_ms)
    rounds1=$(rounds)
    ms_stop_server
    n=$(ms_report_field "$dir/report/report.json" settlementsCreated)
    [ "${n:-0}" -gt 0 ] || { echo "$1: no settlement was made" >&2; cat "$dir/load.out" >&2; exit 1; }
    local tps engine_us postgres_us
    tps=$(ms_report_field "$dir/report/report.json" throughputPerSecond)
    engine_us=$(( (engine1 - engine0) * 1000 / n )); postgres_us=$(( (postgres1 - postgres0) * 1000 / n ))
    printf '%s tps=%.0f engine_us=%d postgres_us=%d per_round=%s p50=%s p99=%s invariants=%s\n' "$1" "$tps" \
        "$engine_us" "$postgres_us" "$(echo "$rounds0 $rounds1" | awk '{ if ($3 > $1) printf "%.2f", ($4 - $2) / ($3 - $1); else printf "n/a" }')" \
        "$(ms_report_latency_ms "$dir/report/report.json" p50)" "$(ms_report_latency_ms "$dir/report/report.json" p99)" \
        "$(sed -nE 's/^invariants .*status=([A-Za-z]+).*/\1/p' "$dir/load.out")"
    echo "$1 $tps $engine_us $postgres_us" >> "$dir/runs"
}

run_a() { run a "$A" "${A_SQL:-}" "${A_ARGS:-}"; }
run_b() { run b "$B" "${B_SQL:-}" "${B_ARGS:-}"; }
for pair in $(seq 1 "$PAIRS"); do
    if [ $((pair % 2)) = 1 ]; then run_a; run_b; else run_b; run_a; fi
done
median() { printf '%.0f' "$(awk -v name="$1" -v col="$2" '$1 == name { print $col }' "$dir/runs" | ms_median)"; }
printf 'a_tps=%s b_tps=%s a_engine_us=%s b_engine_us=%s a_postgres_us=%s b_postgres_us=%s tps_ratio=%s\n' \
    "$(median a 2)" "$(median b 2)" "$(median a 3)" "$(median b 3)" "$(median a 4)" "$(median b 4)" \
    "$(awk -v a="$(median a 2)" -v b="$(median b 2)" 'BEGIN { printf "%.2f", b / a }')"

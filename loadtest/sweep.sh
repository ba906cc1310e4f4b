#!/usr/bin/env bash
# pgbench's TPC-B and the settle-only closed loop side by side at several client counts, on one
# fresh, durable PostgreSQL (fsync and synchronous_commit on), everything on this machine; then
# the mixed load (every verb, probes and invariant check) at 32 clients.
#
#   loadtest/sweep.sh                                  # 1 4 8 16 32 64 clients, 20 s each, 100 000 people
#   CLIENT_LIST="8 32" SECONDS_EACH=10 loadtest/sweep.sh
#   REPEAT=3 loadtest/sweep.sh                         # each point three times, medians
#   BASELINE=loadtest-report/sweep-before loadtest/sweep.sh   # each run against the same run of an earlier sweep
#
# At each client count a CHECKPOINT, pgbench (-M prepared), a CHECKPOINT, the settle loop; with
# REPEAT=n that pair n times, pgbench first and settle first in turn, and each figure of the table
# the median of its n runs (the ratio too is of the medians): on a shared machine one pgbench run
# moves by up to 30 % from the next, so a single pair can neither meet nor miss a target. pgbench
# is initialised once, at a scale no smaller than the largest client count (TPC-B's branches are
# its hot rows: fewer branches than clients would measure lock waits); the engine runs once, with
# POOL database connections, logging as in production (lib.sh: the default level into a file).
#
# Writes OUT (default loadtest-report/sweep, which git ignores): sweep.md (the table and the run's
# conditions), sweep.svg (the two throughput curves), and each harness run's report.json, report.svg
# and .hgrm latency distributions in cN/ (cN-2/, cN-3/, … for the repeats) and mixedN/ — an
# earlier OUT, copied aside, is a BASELINE.
#
# Prints the table; then log_lines=<n> log_dropped=<n>, mixed_tps=<n> settle32_tps=<n>, and last
#   min_ratio=<lowest settle/pgbench ratio among the 8–64 client points> ratio32=<ratio at 32>
set -euo pipefail
cd "$(dirname "$0")/.."
source loadtest/lib.sh

CLIENT_LIST=${CLIENT_LIST:-1 4 8 16 32 64}
SECONDS_EACH=${SECONDS_EACH:-20}
PEOPLE=${PEOPLE:-100000}
POOL=${POOL:-16}
REPEAT=${REPEAT:-1}
MIXED_CLIENTS=${MIXED_CLIENTS:-32}
OUT=${OUT:-loadtest-report/sweep}
BASELINE=${BASELINE:-}

if [ -n "$BASELINE" ] && [ "$(realpath -m "$BASELINE")" = "$(realpath -m "$OUT")" ]; then
    echo "BASELINE is OUT, which this sweep overwrites: copy it aside first (cp -r $OUT $OUT-before)" >&2
    exit 2
fi
max_clients=$MIXED_CLIENTS
for clients in $CLIENT_LIST; do [ "$clients" -gt "$max_clients" ] && max_clients=$clients; done
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# The same run of the baseline sweep, if there is one.
baseline_flags() { [ -n "$BASELINE" ] && [ -f "$BASELINE/$1/report.json" ] && echo "--baseline $BASELINE/$1/report.json" || true; }

ms_build
load_before=$(loadavg)
ms_start_postgres
ms_migrate_and_seed "$PEOPLE" "$max_clients"

echo "pgbench -i at scale $max_clients" >&2
psql_ -d postgres -c "CREATE DATABASE bench"
"$PGBIN/pgbench" -i -q -s "$max_clients" -h "$dir" -p "$pgport" -U medsettle bench >/dev/null 2>&1

mkdir -p "$OUT"
rm -rf "$OUT"/c[0-9]* "$OUT"/mixed[0-9]* "$OUT"/sweep.md "$OUT"/sweep.svg "$OUT"/rows.tsv "$OUT"/engine-log.txt
ms_start_server --pool-size "$POOL"

rows="$OUT/rows.tsv" # clients, pgbench tps, settle tps, ratio, settle p50, settle p99, pgbench average latency
: > "$rows"
# pgbench_run CLIENTS: sets pgbench_tps and pgbench_latency.
pgbench_run() {
    echo "== $1 clients: pgbench TPC-B, $SECONDS_EACH s" >&2
    psql_ -d postgres -c "CHECKPOINT"
    local out
    out=$("$PGBIN/pgbench" -M prepared -c "$1" -j $(($1 < 2 ? $1 : 2)) -T "$SECONDS_EACH" -h "$dir" -p "$pgport" -U medsettle bench 2>&1)
    echo "$out" | grep -E "^(tps|latency)" >&2
    pgbench_tps=$(sed -nE 's/^tps = ([0-9.]+).*/\1/p' <<<"$out" | head -1)
    pgbench_latency=$(sed -nE 's/^latency average = ([0-9.]+) ms.*/\1/p' <<<"$out" | head -1)
}
# settle_run CLIENTS REPORT_DIR: sets settle_tps, p50 and p99.
settle_run() {
    echo "== $1 clients: settle-only closed loop, $SECONDS_EACH s" >&2
    psql_ -d postgres -c "CHECKPOINT"
    # shellcheck disable=SC2046 # the flags are two words or none
    settle_tps=$(ms_settle_tps "$1" "$SECONDS_EACH" "$PEOPLE" "$2" $(baseline_flags "c$1"))
    p50=$(ms_report_latency_ms "$2/report.json" p50)
    p99=$(ms_report_latency_ms "$2/report.json" p99)
}
for clients in $CLIENT_LIST; do
    runs="$OUT/c$clients-runs.tsv" # pgbench tps, settle tps, settle p50, settle p99, pgbench average latency
    : > "$runs"
    for k in $(seq 1 "$REPEAT"); do
        report="$OUT/c$clients"; [ "$k" -gt 1 ] && report="$report-$k"
        if [ $((k % 2)) = 1 ]; then pgbench_run "$clients"; settle_run "$clients" "$report"
        else settle_run "$clients" "$report"; pgbench_run "$clients"; fi
        printf '%s\t%s\t%s\t%s\t%s\n' "$pgbench_tps" "$settle_tps" "$p50" "$p99" "$pgbench_latency" >> "$runs"
    done
    median_of() { cut -f "$1" "$runs" | ms_median; }
    awk -v c="$clients" -v p="$(median_of 1)" -v s="$(median_of 2)" -v p50="$(median_of 3)" -v p99="$(median_of 4)" -v l="$(median_of 5)" \
        'BEGIN { printf "%d\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%.3f\n", c, p, s, (p > 0 ? s / p : 0), p50, p99, l }' >> "$rows"
    rm "$runs"
done

echo "== mixed load (every verb): $MIXED_CLIENTS terminals, $SECONDS_EACH s" >&2
# shellcheck disable=SC2046
"$BIN/medsettle-load" --port "$MSLP_PORT" --connections "$MIXED_CLIENTS" --seconds "$SECONDS_EACH" --mix mixed \
    --people "$PEOPLE" --report-dir "$OUT/mixed$MIXED_CLIENTS" $(baseline_flags "mixed$MIXED_CLIENTS") >&2
mixed_tps=$(ms_report_field "$OUT/mixed$MIXED_CLIENTS/report.json" throughputPerSecond)
# Not in a $(…) subshell: the engine must be waited for, so that its log is complete.
ms_log_summary > "$OUT/engine-log.txt"
load_after=$(loadavg)

table() {
    echo "| clients | pgbench TPC-B tps | settle tps | ratio | settle p50 / p99 ms | pgbench avg latency ms |"
    echo "|---|---|---|---|---|---|"
    awk -F'\t' '{ printf "| %d | %d | %d | %s | %s / %s | %s |\n", $1, $2, $3, $4, $5, $6, $7 }' "$rows"
}

# The chart: both throughputs against the client count (evenly spaced), the ratio under each point;
# at each point the higher figure is written above its dot, the lower below.
chart() {
    awk -F'\t' -v title="$1" '
        { n++; clients[n] = $1; pg[n] = $2; st[n] = $3; ratio[n] = $4; if ($2 > top) top = $2; if ($3 > top) top = $3 }
        # A figure written below its dot stays above the axis.
        function below(ly) { return ly > up + ph - 4 ? up + ph - 4 : ly }
        END {
            w = 760; h = 420; left = 70; right = 30; up = 50; down = 70; pw = w - left - right; ph = h - up - down
            step = 1; while (step * 5 < top) step *= (substr(step, 1, 1) == "2" ? 2.5 : 2)
            top = (int(top / step) + 1) * step
            printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n", w, h
            printf "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            printf "<text x=\"%d\" y=\"20\" font-size=\"14\">%s</text>\n", left, title
            printf "<text x=\"%d\" y=\"38\"><tspan fill=\"firebrick\">settle (medsettle)</tspan>  <tspan fill=\"steelblue\">pgbench TPC-B</tspan>  — transactions/s; settle/pgbench under each point</text>\n", left
            for (v = 0; v <= top; v += step) {
                gy = up + ph - ph * v / top
                printf "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", left, gy, w - right, gy
                printf "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%d</text>\n", left - 6, gy + 4, v
            }
            printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", left, up + ph, w - right, up + ph
            printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", left, up, left, up + ph
            for (i = 1; i <= n; i++) {
                x[i] = left + 30 + (n > 1 ? (pw - 60) * (i - 1) / (n - 1) : (pw - 60) / 2)
                printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d</text>\n", x[i], up + ph + 18, clients[i]
                printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\">%s</text>\n", x[i], up + ph + 34, ratio[i]
            }
            printf "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">clients</text>\n", left + pw / 2, h - 12
            split("steelblue firebrick", colour, " ")
            for (line = 1; line <= 2; line++) {
                points = ""
                for (i = 1; i <= n; i++) {
                    v = (line == 1 ? pg[i] : st[i]); y[i] = up + ph - ph * v / top
                    points = points sprintf("%.1f,%.1f ", x[i], y[i])
                }
                printf "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"%s\"/>\n", colour[line], points
                for (i = 1; i <= n; i++) {
                    v = (line == 1 ? pg[i] : st[i])
                    printf "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>", x[i], y[i], colour[line]
                    printf "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"%s\">%d</text>\n", x[i], below(y[i] + ((line == 1) == (pg[i] >= st[i]) ? -8 : 16)), colour[line], v
                }
            }
            print "</svg>"
        }' "$rows"
}

commit=$(git rev-parse --short HEAD 2>/dev/null || echo "?")
git diff --quiet HEAD 2>/dev/null || commit="$commit+changes"
conditions="$(date -u +%Y-%m-%d) at $commit, $(nproc) cores, $SECONDS_EACH s each$([ "$REPEAT" -gt 1 ] && echo ", medians of $REPEAT runs" || true), $PEOPLE people, pool $POOL; load average before $load_before, after $load_after"
chart "medsettle sweep, $(date -u +%Y-%m-%d) at $commit" > "$OUT/sweep.svg"
{
    table
    echo
    echo "$conditions"
} > "$OUT/sweep.md"

settle_at() { awk -F'\t' -v c="$1" '$1 == c { print $3; found = 1 } END { if (!found) print "n/a" }' "$rows"; }
ratio_at() { awk -F'\t' -v c="$1" '$1 == c { print $4; found = 1 } END { if (!found) print "n/a" }' "$rows"; }
min_ratio=$(awk -F'\t' '$1 >= 8 && $1 <= 64 && (m == "" || $4 < m) { m = $4 } END { print (m == "" ? "n/a" : m) }' "$rows")

table
echo
echo "$conditions"
echo "chart: $OUT/sweep.svg; table: $OUT/sweep.md; reports: $OUT/c*/, $OUT/mixed$MIXED_CLIENTS/"
cat "$OUT/engine-log.txt"
printf 'mixed_tps=%.0f settle%d_tps=%s\n' "$mixed_tps" "$MIXED_CLIENTS" "$(settle_at "$MIXED_CLIENTS")"
echo "min_ratio=$min_ratio ratio32=$(ratio_at 32)"

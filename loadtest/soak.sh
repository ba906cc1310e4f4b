#!/usr/bin/env bash
# Soak: the harness's mixed load with its probes (and `--reconnect`) against one engine and a fresh
# durable PostgreSQL for DURATION, as consecutive runs of one interval each — a minute, or 10 s when
# DURATION is under 5 minutes — so that every interval has its own exact figures (throughput and
# the p99 of its HDR histogram) and its own invariant check and probes. In the middle of every
# interval, under load, it reads the engine's RSS (VmRSS in /proc/PID/status) and its open file
# descriptors (/proc/PID/fd).
#
# Warm-up: the first 2 intervals (connections, caches and the allocator settling) are left out of
# the drift figures. Then
#   rss_drift  = RSS of the last interval vs the first after warm-up        (must stay < 10 %)
#   p99_drift  = median p99 of the last 3 intervals vs of the first 3 after warm-up (< 20 %):
#                one interval's p99 on a shared machine is too noisy to compare alone
#   fds        = descriptors in the first interval after warm-up -> the last (no growth)
# and every interval's invariants and probes green. The series go to loadtest-report/soak.tsv and
# a chart of the four (RSS, descriptors, p99, throughput) to loadtest-report/soak.svg.
#
#   loadtest/soak.sh            # 30 minutes
#   loadtest/soak.sh 5m         # DURATION: 90s, 5m, 30m, 2h (a bare number is seconds)
#   CLIENTS=32 loadtest/soak.sh 30m
#   BIN=/path/to/release/bin loadtest/soak.sh 90s   # prebuilt binaries, no build
#
# Last line: soak=<duration> rss_drift=<x>% p99_drift=<x>% fds=<first>-><last> invariants=<green|red>
set -euo pipefail
cd "$(dirname "$0")/.."
source loadtest/lib.sh

DURATION=${1:-30m}
CLIENTS=${CLIENTS:-16}
PEOPLE=${PEOPLE:-10000}
WARMUP_INTERVALS=2

case "$DURATION" in
    *h) total=$(( ${DURATION%h} * 3600 )) ;;
    *m) total=$(( ${DURATION%m} * 60 )) ;;
    *s) total=${DURATION%s} ;;
    *) total=$DURATION ;;
esac
[[ "$total" =~ ^[0-9]+$ ]] || { echo "DURATION is a number with s, m or h (90s, 5m, 30m), not '$DURATION'" >&2; exit 2; }
interval=$([ "$total" -lt 300 ] && echo 10 || echo 60)
intervals=$(( total / interval ))
SECONDS_EACH=$interval   # each interval is one run of lib.sh's mixed load
[ "$intervals" -ge $((WARMUP_INTERVALS + 1)) ] || { echo "DURATION must cover at least $((WARMUP_INTERVALS + 1)) intervals of $interval s" >&2; exit 2; }

ms_need_packages jq
ms_build
ms_start_postgres
ms_migrate_and_seed "$PEOPLE" "$CLIENTS"
ms_start_server --pool-size 8

mkdir -p loadtest-report
series=loadtest-report/soak.tsv
printf 'interval\tminute\trss_mb\tfds\tp99_ms\tthroughput\tverdict\n' > "$series"
echo "soak: $intervals intervals of $interval s, $CLIENTS terminals; series in $series" >&2

invariants=green
for i in $(seq 1 "$intervals"); do
    rm -f "$dir/report/report.json"   # a run that writes none must not show the last one's figures
    ms_mixed_load 2> "$dir/run-$i.log"
    sleep $((interval / 2))
    rss_mb=$(awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$server_pid/status")
    fds=$(ls "/proc/$server_pid/fd" | wc -l)
    ms_wait_load
    run_verdict=$verdict
    if [ "$run_verdict" = red ]; then
        invariants=red
        echo "interval $i went red; its summary:" >&2
        tail -8 "$dir/run-$i.log" >&2
        cp "$dir/run-$i.log" "loadtest-report/soak-run-$i.log"
    fi
    report="$dir/report/report.json"
    p99_ms=$(jq -r '.latencyMicros.p99 / 1000' "$report" 2>/dev/null || echo 0)
    throughput=$(jq -r '.throughputPerSecond | floor' "$report" 2>/dev/null || echo 0)
    minute=$(awk -v i="$i" -v s="$interval" 'BEGIN { printf "%.2f", i * s / 60 }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$i" "$minute" "$rss_mb" "$fds" "$p99_ms" "$throughput" "$run_verdict" >> "$series"
    echo "interval $i/$intervals: rss ${rss_mb} MB, fds $fds, p99 ${p99_ms} ms, $throughput req/s, $run_verdict" >&2
done

# Drifts over the intervals after warm-up (rows WARMUP+1 … last of the table).
read -r rss_drift p99_drift fds_first fds_last < <(awk -F'\t' -v warm="$WARMUP_INTERVALS" '
    function median3(a, from, to,    n, i, j, t, v) {
        n = 0
        for (i = from; i <= to; i++) v[++n] = a[i]
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    NR > 1 && $1 > warm { n++; rss[n] = $3; fds[n] = $4; p99[n] = $5 }
    END {
        k = n >= 6 ? 3 : int(n / 2); if (k < 1) k = 1
        first = median3(p99, 1, k); last = median3(p99, n - k + 1, n)
        p99drift = first > 0 ? (last - first) * 100 / first : 0
        printf "%.1f %.1f %d %d\n", (rss[n] - rss[1]) * 100 / rss[1], p99drift, fds[1], fds[n]
    }' "$series")

# The chart: four panels, one per series, over the minutes of the soak (warm-up shaded).
awk -F'\t' -v warm="$WARMUP_INTERVALS" -v title="medsettle soak, $DURATION, $CLIENTS terminals, intervals of $interval s" '
    NR > 1 { n++; x[n] = $2; v[1, n] = $3; v[2, n] = $4; v[3, n] = $5; v[4, n] = $6 }
    END {
        name[1] = "engine RSS (MB)"; name[2] = "open descriptors"; name[3] = "p99 latency (ms)"; name[4] = "throughput (req/s)"
        colour[1] = "#7b3294"; colour[2] = "#008837"; colour[3] = "#d7191c"; colour[4] = "#2c7bb6"
        W = 800; left = 70; right = 20; panelH = 130; gap = 40; top = 40
        H = top + 4 * (panelH + gap)
        printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H
        printf "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n<text x=\"%d\" y=\"20\" font-size=\"14\">%s</text>\n", left, title
        xmax = x[n] > 0 ? x[n] : 1
        for (s = 1; s <= 4; s++) {
            y0 = top + (s - 1) * (panelH + gap); ybase = y0 + panelH
            max = 0; for (i = 1; i <= n; i++) if (v[s, i] > max) max = v[s, i]
            if (max <= 0) max = 1
            max *= 1.1
            if (warm > 0 && n > warm)
                printf "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#eeeeee\"/><text x=\"%d\" y=\"%d\" fill=\"#888888\">warm-up</text>\n",
                       left, y0, (W - left - right) * x[warm] / xmax, panelH, left + 5, ybase - 5
            printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", left, ybase, W - right, ybase
            printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", left, y0, left, ybase
            printf "<text x=\"%d\" y=\"%d\" fill=\"%s\">%s</text>\n", left + 5, y0 - 5, colour[s], name[s]
            printf "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.0f</text>\n", left - 5, y0 + 10, max
            printf "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>\n", left - 5, ybase
            printf "<text x=\"%d\" y=\"%d\">0</text>\n", left, ybase + 15
            printf "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.1f min</text>\n", W - right, ybase + 15, xmax
            printf "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colour[s]
            for (i = 1; i <= n; i++)
                printf "%.1f,%.1f ", left + (W - left - right) * x[i] / xmax, ybase - panelH * v[s, i] / max
            printf "\"/>\n"
        }
        printf "</svg>\n"
    }' "$series" > loadtest-report/soak.svg

echo "chart: loadtest-report/soak.svg" >&2
column -t -s $'\t' "$series" >&2
echo "soak=$DURATION rss_drift=${rss_drift}% p99_drift=${p99_drift}% fds=${fds_first}->${fds_last} invariants=$invariants"
[ "$invariants" = green ] \
    && awk -v r="$rss_drift" -v p="$p99_drift" 'BEGIN { exit !(r < 10 && p < 20) }' \
    && [ "$fds_last" -le "$fds_first" ]

# Shared by the load scripts (sourced, not run): release builds, a throwaway durable PostgreSQL
# (fsync and synchronous_commit on, as in production), and the engine.
#
#   source "$(dirname "$0")/lib.sh"
#   ms_build; ms_start_postgres; ms_migrate_and_seed PEOPLE TERMINALS; ms_start_server [serve flags…]
#
# Everything lives in one temp dir that an EXIT trap removes, server and cluster stopped.

# A TCP port nobody listens on now, so that several scripts can run side by side.
ms_free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 20000))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
    done
}

MSLP_PORT=${MSLP_PORT:-$(ms_free_port)}
# The engine's Prometheus endpoint, for the figures a script reads off it (ms_log_summary).
MS_METRICS_PORT=${MS_METRICS_PORT:-$(ms_free_port)}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
server_pid=""
dir=""

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# BIN=/path/to/bin skips the build and uses the medsettle and medsettle-load found there
# (with their .resources bundles); without it the checkout is built.
ms_build() {
    if [ -n "${BIN:-}" ]; then
        [ -x "$BIN/medsettle" ] && [ -x "$BIN/medsettle-load" ] || { echo "BIN=$BIN lacks medsettle or medsettle-load" >&2; return 1; }
        echo "using the prebuilt binaries in $BIN" >&2
        return 0
    fi
    swift build -c release --product medsettle >&2
    swift build -c release --product medsettle-load >&2
    BIN=$(swift build -c release --show-bin-path)
}

ms_cleanup() {
    ms_stop_server
    if [ -n "$dir" ]; then
        as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
        rm -rf "$dir"
    fi
}

ms_start_postgres() {
    dir=$(mktemp -d /tmp/medsettle-loadtest-XXXXXX)
    trap ms_cleanup EXIT
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    pgport=$((20000 + RANDOM % 20000))
    as_pg "$PGBIN/initdb" -D "$dir/data" -U medsettle -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >> "$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
port = $pgport
unix_socket_directories = '$dir'
max_connections = 300
shared_buffers = 512MB
max_wal_size = 4GB
CONF
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w start >/dev/null 2>&1 </dev/null
    psql_ -d postgres -c "CREATE DATABASE medsettle"
    export DATABASE_URL="host=$dir port=$pgport user=medsettle dbname=medsettle"
    export MEDSETTLE_SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
}

psql_() { psql -X -q -h "$dir" -p "$pgport" -U medsettle "$@"; }

# ms_reconfigure_postgres: appends the settings on stdin to the cluster's postgresql.conf and
# restarts it (preloaded libraries, archiving and the like take effect only at a start).
ms_reconfigure_postgres() {
    cat >> "$dir/data/postgresql.conf"
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w restart -l "$dir/postgres.log" >/dev/null 2>&1 </dev/null
}

# ms_migrate_and_seed PEOPLE TERMINALS [HISTORY]
ms_migrate_and_seed() {
    "$BIN/medsettle" migrate >&2
    # seed loads the demo data set (institutions, the demo terminals, catalog, policy) itself
    "$BIN/medsettle" seed --people "$1" --terminals "$2" --history "${3:-0}" >&2
    # No database-wide ANALYZE here: statistics that call the empty settlement tables empty make
    # PostgreSQL plan the foreign-key checks against them as sequential scans, which slow down as
    # the run fills them, until autovacuum analyzes them again (see docs/PERFORMANCE.md). `seed`
    # analyzes the tables it fills.
    psql_ -d medsettle -c "CHECKPOINT"
}

# ms_start_server [serve flags…]: starts the engine on $MSLP_PORT and waits until it listens.
ms_start_server() {
    # --demo-database: the seeded terminals' keys are published (demo data set, load-test keys).
    # --max-connections-per-address 0: every connection of a run comes from 127.0.0.1 (a script
    # that tests the cap sets MS_MAX_CONNECTIONS_PER_ADDRESS).
    # Logging as in production: the default level (info, a line per request) into a file, and the
    # metrics endpoint. Given through the environment, so that a script's own flags win.
    MEDSETTLE_LOG_FILE=${MEDSETTLE_LOG_FILE:-$dir/engine.log} MEDSETTLE_METRICS=${MEDSETTLE_METRICS:-127.0.0.1:$MS_METRICS_PORT} \
    "$BIN/medsettle" serve --listen "127.0.0.1:$MSLP_PORT" --demo-database \
        --max-connections-per-address "${MS_MAX_CONNECTIONS_PER_ADDRESS:-0}" "$@" &
    server_pid=$!
    for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$MSLP_PORT") 2>/dev/null && return 0; sleep 0.1; done
    echo "the engine did not start listening on $MSLP_PORT" >&2
    return 1
}

ms_stop_server() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}

# ms_cpu_ms PID: the CPU time (user + system) a process has used, in ms; 0 once it is gone.
ms_cpu_ms() {
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f\n", ($14 + $15) * 1000 / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# ms_postgres_cpu_ms: the CPU time in ms of the cluster started by ms_start_postgres: the
# postmaster and its live children (the engine's pooled backends among them). Ended backends are
# left out: the harness's invariant check at the end of its run is one.
ms_postgres_cpu_ms() {
    local postmaster
    postmaster=$(head -1 "$dir/data/postmaster.pid")
    for pid in "$postmaster" $(pgrep -P "$postmaster"); do ms_cpu_ms "$pid"; done | awk '{ s += $1 } END { print s + 0 }'
}

# ms_median: the median of the numbers on standard input, one a line.
ms_median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# ms_log_summary: stops the engine (its stop writes out every line it logged), then prints
# `log_lines=<lines in the engine's log files> log_dropped=<medsettle_log_lines_dropped_total>`.
ms_log_summary() {
    local metrics dropped="?"
    if metrics=$(curl -sf "http://127.0.0.1:$MS_METRICS_PORT/metrics" 2>/dev/null); then
        dropped=$(awk '/^medsettle_log_lines_dropped_total/ { d = $2 } END { printf "%d", d }' <<<"$metrics")
    fi
    ms_stop_server
    printf 'log_lines=%d log_dropped=%s\n' "$(cat "$dir"/engine*.log 2>/dev/null | wc -l)" "$dropped"
}

# ms_report_field REPORT_JSON KEY: a top-level number of the harness's report.json (the per-verb
# figures nested in it have keys of the same names).
ms_report_field() {
    sed -nE "s/^  \"$2\" : ([0-9.]+),?\$/\\1/p" "$1"
}

# ms_report_latency_ms REPORT_JSON PERCENTILE: the whole run's p50, p99, … (latencyMicros), in ms.
ms_report_latency_ms() {
    awk -v key="\"$2\"" '/^  "latencyMicros" : \{/ { inside = 1; next }
        inside && /}/ { exit }
        inside && $1 == key { sub(",", "", $3); printf "%.2f", $3 / 1000 }' "$1"
}

# ms_settle_tps CONNECTIONS SECONDS PEOPLE REPORT_DIR [harness flags…]: a settle-only closed loop;
# prints its throughput. With TRACED=1 every line is a traced drug with a fresh traceability code
# per package.
ms_settle_tps() {
    "$BIN/medsettle-load" --port "$MSLP_PORT" --connections "$1" --seconds "$2" --mix settle \
        --people "$3" --report-dir "$4" $([ "${TRACED:-}" = 1 ] && echo --traced) "${@:5}" >&2
    ms_report_field "$4/report.json" throughputPerSecond
}

# ms_mixed_load: the harness's mixed load with --reconnect ($CLIENTS terminals, $SECONDS_EACH s,
# people 1…$PEOPLE) in the background, its pid in $harness; the fault scripts break things
# meanwhile. ms_wait_load waits for it and sets $verdict: green when its invariant check and
# probes held (exit 0), red otherwise.
ms_mixed_load() {
    echo "mixed load with reconnects: $CLIENTS terminals, $SECONDS_EACH s" >&2
    "$BIN/medsettle-load" --port "$MSLP_PORT" --connections "$CLIENTS" --seconds "$SECONDS_EACH" --mix mixed --reconnect \
        --people "$PEOPLE" --report-dir "$dir/report" >&2 &
    harness=$!
}

ms_wait_load() {
    verdict=green
    wait "$harness" || verdict=red
}

# ms_need_packages PACKAGE…: installs the Debian packages among these that are missing.
ms_need_packages() {
    local package missing=()
    for package in "$@"; do dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package"); done
    [ "${#missing[@]}" -eq 0 ] && return 0
    echo "installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
}

#!/usr/bin/env bash
# Several fronts behind HAProxy on one database: two `medsettle serve` processes, HAProxy in TCP
# mode with health checks (a front is healthy when it greets `* HELLO proto=MSLP/1`), and the
# harness's mixed load through HAProxy. Each terminal has three connections, which HAProxy spreads
# over the fronts: its own, the online terminal's that asks for QR codes, and a second one of its
# own for the probes (loadtest/README.md). So QR codes are asked on one front and paid on another,
# and the probes check across processes that a SETTLE sent again is a repeat of the same
# settlement, that a REVERSE of a trace not sent yet blocks the late original (REVERSED), that
# wrong PINs on one card count 5, 4, … and lock it whichever front they reach, and that a paid QR
# code offered again is QR_USED. Halfway through, one front is killed (SIGKILL): only the requests
# in flight on its own connections are cut; their terminals reconnect through HAProxy to the other
# front and QUERY them (`--reconnect`). Any probe answering otherwise fails the run, and so does
# the invariant check: every OK has its settlement and nothing else has one, money is conserved,
# no balance below 0, no wrong-PIN count above 6.
#
#   loadtest/fronts.sh                      # 16 terminals, 20 s
#   CLIENTS=8 SECONDS_EACH=10 loadtest/fronts.sh
#
# Needs haproxy (Debian: apt-get install -y haproxy). Last line: fronts=2 killed=1 ok=<n> invariants=<green|red>
set -euo pipefail
cd "$(dirname "$0")/.."
source loadtest/lib.sh

CLIENTS=${CLIENTS:-16}
SECONDS_EACH=${SECONDS_EACH:-20}
PEOPLE=${PEOPLE:-10000}
if ! command -v haproxy >/dev/null; then
    echo "haproxy is missing; on Debian/Ubuntu: apt-get install -y haproxy" >&2
    exit 2
fi

ms_build
ms_start_postgres
ms_migrate_and_seed "$PEOPLE" "$CLIENTS"

front_a=$(ms_free_port); front_b=$(ms_free_port); stats=$(ms_free_port)
pids=()
stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; ms_cleanup; }
trap stop_all EXIT
for port in "$front_a" "$front_b"; do
    # Behind HAProxy every client has HAProxy's address: no limits per address. Logging as in
    # production (lib.sh): the default level, each front into a file of its own.
    "$BIN/medsettle" serve --listen "127.0.0.1:$port" --pool-size 8 --log-file "$dir/engine-$port.log" --demo-database \
        --max-connections-per-address 0 --max-signin-failures 0 &
    pids+=($!)
done
front_a_pid=${pids[0]}

cat > "$dir/haproxy.cfg" <<CFG
global
    maxconn 4096
defaults
    mode tcp
    timeout connect 2s
    timeout client 1h
    timeout server 1h
frontend mslp
    bind 127.0.0.1:$MSLP_PORT
    default_backend fronts
backend fronts
    balance roundrobin
    option tcp-check
    tcp-check expect string "* HELLO proto=MSLP/1"
    default-server inter 500ms fall 2 rise 2
    server a 127.0.0.1:$front_a check
    server b 127.0.0.1:$front_b check
CFG
haproxy -f "$dir/haproxy.cfg" &
pids+=($!)
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$MSLP_PORT") 2>/dev/null && break; sleep 0.1; done
sleep 1.5 # health checks up

echo "through HAProxy; front A is killed at half time" >&2
ms_mixed_load
sleep $((SECONDS_EACH / 2))
kill -9 "$front_a_pid"
echo "killed front A (pid $front_a_pid)" >&2
ms_wait_load
ok=$(sed -nE 's/.*"OK" : ([0-9]+).*/\1/p' "$dir/report/report.json" | head -1)
echo "fronts=2 killed=1 ok=${ok:-0} invariants=$verdict"
[ "$verdict" = green ]

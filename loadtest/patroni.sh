#!/usr/bin/env bash
# Automatic failover under load: etcd and two PostgreSQL 15 nodes managed by Patroni, all on this
# machine's loopback (ports chosen free), in Patroni's synchronous mode; the engine reaches the
# primary through one libpq multi-host URL
#   host=127.0.0.1,127.0.0.1 port=NODE1,NODE2 … target_session_attrs=read-write
# (the pool reconnects by itself and keeps the host that accepts writes). Under the harness's mixed
# load with its probes and `--reconnect`, the primary's postmaster is killed with SIGKILL; nobody
# promotes anything: Patroni sees its PostgreSQL gone, gives up the leader key at once
# (primary_start_timeout 0: fail over rather than restart a crashed primary in place, since a
# synchronous standby is there) and the standby's Patroni takes the key and promotes it. The old
# primary's Patroni then brings it back as a standby of the new one (pg_rewind when it diverged).
#
# Synchronous mode: a commit is acknowledged only once the synchronous standby has it, and Patroni
# promotes only a node it recorded in etcd as synchronous, so no acknowledged commit can be lost
# — the harness's invariant check, run at its end against the new primary through the same URL,
# proves it: every OK has its settlement and nothing else has one, money is conserved, and the
# probes (repeats, lockout counts, used QR and traceability codes) answered as they must.
#
# Timing: Patroni runs with ttl 10 s, loop_wait 2 s, retry_timeout 4 s (Patroni's rule
# loop_wait + 2 × retry_timeout ≤ ttl holds). A crashed postmaster is noticed within one loop and
# its node gives up the leader key at once, so the standby promotes a loop or two later; the ttl
# bounds the case this script does not stage, a primary whose Patroni vanished too (the key
# expires after 10 s). promoted_in_s is measured from the kill until the new primary commits
# writes (`SELECT txid_current()`, three in a row).
#
#   loadtest/patroni.sh                          # 16 terminals, 60 s, the kill at 20 s
#   CLIENTS=8 SECONDS_EACH=40 loadtest/patroni.sh
#   STRICT=1 loadtest/patroni.sh                 # synchronous_mode_strict (see docs/DEPLOYMENT.md)
#   BIN=/path/to/release/bin loadtest/patroni.sh # prebuilt medsettle + medsettle-load, no build
#
# Needs the Debian packages patroni, python3-etcd, etcd-server, jq and curl (installed when missing).
# Everything (Patroni, PostgreSQL, etcd, the engine, the temp dir) is stopped and removed on exit.
#
# Last line: failover=automatic promoted_in_s=<n> unresolved=<n> invariants=<green|red> probes_failed=<n>
set -euo pipefail
cd "$(dirname "$0")/.."
source loadtest/lib.sh

CLIENTS=${CLIENTS:-16}
SECONDS_EACH=${SECONDS_EACH:-60}
PEOPLE=${PEOPLE:-10000}
STRICT=${STRICT:-0}
PROMOTION_DEADLINE=${PROMOTION_DEADLINE:-90}

ms_need_packages patroni python3-etcd etcd-server jq curl
PGVERSION_BIN=/usr/lib/postgresql/15/bin
[ -x "$PGVERSION_BIN/postgres" ] || { echo "PostgreSQL 15 is not installed ($PGVERSION_BIN)" >&2; exit 1; }

ms_build

dir=$(mktemp -d /tmp/medsettle-patroni-XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres "$dir"
etcd_pid=""
patroni_pids=()

# stop_pids SECONDS PID…: SIGTERM, up to SECONDS for them to end, then SIGKILL (they are not this
# shell's children, so `wait` cannot be used).
stop_pids() {
    local seconds=$1 pid alive; shift
    for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
    for _ in $(seq 1 $((seconds * 5))); do
        alive=0
        for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && return 0
        sleep 0.2
    done
    for pid in "$@"; do kill -9 "$pid" 2>/dev/null || true; done
}

# Patroni first (it stops its PostgreSQL), then whatever PostgreSQL is left, then etcd.
patroni_cleanup() {
    if [ -n "${harness:-}" ]; then kill "$harness" 2>/dev/null || true; fi
    ms_stop_server
    if [ "${#patroni_pids[@]}" -gt 0 ]; then stop_pids 30 "${patroni_pids[@]}"; fi
    local node
    for node in node1 node2; do
        if [ -f "$dir/$node/postmaster.pid" ]; then
            as_pg "$PGVERSION_BIN/pg_ctl" -D "$dir/$node" -m immediate -w stop >/dev/null 2>&1 || true
        fi
    done
    if [ -n "$etcd_pid" ]; then stop_pids 10 "$etcd_pid"; fi
    # Patroni's and PostgreSQL's logs outlive the run in loadtest-report/ (ignored by git).
    mkdir -p loadtest-report/patroni
    cp "$dir"/*.log loadtest-report/patroni/ 2>/dev/null || true
    rm -rf "$dir"
}
trap patroni_cleanup EXIT

# as_pg_bg PIDFILE LOG COMMAND…: starts COMMAND as postgres in the background; PIDFILE gets the
# command's own pid (not runuser's), so cleanup stops exactly it.
as_pg_bg() {
    local pidfile=$1 log=$2; shift 2
    as_pg bash -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "$@" >"$log" 2>&1 </dev/null &
    for _ in $(seq 1 50); do [ -s "$pidfile" ] && break; sleep 0.1; done
    cat "$pidfile"
}

# --- etcd: one member here (three in production, see docs/DEPLOYMENT.md)
etcd_port=$(ms_free_port)
etcd_peer_port=$(ms_free_port)
etcd_pid=$(as_pg_bg "$dir/etcd.pid" "$dir/etcd.log" etcd --name etcd1 --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster "etcd1=http://127.0.0.1:$etcd_peer_port" --initial-cluster-state new)
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$etcd_port/health" 2>/dev/null | grep -q '"health":"true"' && break
    sleep 0.2
done
curl -fsS "http://127.0.0.1:$etcd_port/health" | grep -q '"health":"true"' || { echo "etcd did not become healthy" >&2; exit 1; }
echo "etcd on 127.0.0.1:$etcd_port" >&2

# --- Patroni: one configuration per node; the bootstrap.dcs part is the cluster's (written to
# etcd by the first node), the rest is the node's own.
scope="medsettle-$(basename "$dir")"
declare -A pg_port rest_port
write_patroni_config() {
    local node=$1
    pg_port[$node]=$(ms_free_port)
    rest_port[$node]=$(ms_free_port)
    cat > "$dir/$node.yml" <<YAML
scope: $scope
namespace: /medsettle/
name: $node
log:
  level: INFO
restapi:
  listen: 127.0.0.1:${rest_port[$node]}
  connect_address: 127.0.0.1:${rest_port[$node]}
etcd3:
  hosts: 127.0.0.1:$etcd_port
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 2
    retry_timeout: 4
    primary_start_timeout: 0
    synchronous_mode: true
    synchronous_mode_strict: $([ "$STRICT" = 1 ] && echo true || echo false)
    postgresql:
      use_pg_rewind: true
      remove_data_directory_on_rewind_failure: true
      parameters:
        max_connections: 300
        shared_buffers: 256MB
        max_wal_size: 4GB
        wal_keep_size: 1GB
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
postgresql:
  listen: 127.0.0.1:${pg_port[$node]}
  connect_address: 127.0.0.1:${pg_port[$node]}
  data_dir: $dir/$node
  bin_dir: $PGVERSION_BIN
  use_unix_socket: true
  parameters:
    unix_socket_directories: '$dir'
  pg_hba:
    - local all all trust
    - local replication all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust
  authentication:
    superuser:
      username: medsettle
    replication:
      username: replicator
YAML
    [ "$(id -u)" = 0 ] && chown postgres "$dir/$node.yml"
    return 0
}

# rest NODE ENDPOINT: Patroni's REST health check, 200 when NODE is what ENDPOINT asks.
rest() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${rest_port[$1]}/$2" 2>/dev/null || true; }
wait_rest() {
    local node=$1 endpoint=$2 seconds=$3
    for _ in $(seq 1 $((seconds * 5))); do [ "$(rest "$node" "$endpoint")" = 200 ] && return 0; sleep 0.2; done
    echo "$node did not answer 200 on /$endpoint within $seconds s (logs in $dir/$node.patroni.log)" >&2
    tail -20 "$dir/$node.patroni.log" >&2
    return 1
}

for node in node1 node2; do write_patroni_config "$node"; done
patroni_pids+=("$(as_pg_bg "$dir/node1.patroni.pid" "$dir/node1.patroni.log" patroni "$dir/node1.yml")")
wait_rest node1 primary 120
patroni_pids+=("$(as_pg_bg "$dir/node2.patroni.pid" "$dir/node2.patroni.log" patroni "$dir/node2.yml")")
wait_rest node2 sync 180
echo "Patroni: node1 primary on ${pg_port[node1]}, node2 synchronous standby on ${pg_port[node2]}" >&2

# lib.sh's psql_ speaks to $dir:$pgport (the Unix sockets of both nodes are in $dir).
pgport=${pg_port[node1]}
psql_ -d postgres -c "CREATE DATABASE medsettle"
both_nodes="host=127.0.0.1,127.0.0.1 port=${pg_port[node1]},${pg_port[node2]} user=medsettle dbname=medsettle"
export DATABASE_URL="$both_nodes target_session_attrs=read-write"
export MEDSETTLE_SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
ms_migrate_and_seed "$PEOPLE" "$CLIENTS"
ms_start_server --pool-size 8

ms_mixed_load
sleep $((SECONDS_EACH / 3))

primary=node1 standby=node2
[ "$(rest node1 primary)" = 200 ] || { primary=node2 standby=node1; }
postmaster=$(head -1 "$dir/$primary/postmaster.pid")
echo "failover: SIGKILL to $primary's postmaster (pid $postmaster); no human step from here" >&2
killed_at=$(date +%s.%N)
kill -9 "$postmaster"

# The new primary accepts writes once transactions with a transaction id commit on it, steadily:
# three in a row, each within 2 s. In strict mode it must also have a synchronous standby again
# (the old primary, back as a standby): until then Patroni makes its commits wait — though the
# first commits right after the promotion may slip through before it has applied that setting.
# promoted_in_s runs from the kill to the first of the three.
writes_accepted() {
    local sync_standbys
    sync_standbys=$(timeout 2 psql -X -q -At -v ON_ERROR_STOP=1 \
        -c "SELECT txid_current()" -c "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'" \
        "host=127.0.0.1 port=${pg_port[$standby]} user=medsettle dbname=postgres connect_timeout=2" 2>/dev/null | tail -1) || return 1
    [ "$STRICT" != 1 ] || [ "${sync_standbys:-0}" -gt 0 ]
}
promoted_in_s=""
streak=0
deadline=$(( $(date +%s) + PROMOTION_DEADLINE ))
while [ "$(date +%s)" -lt "$deadline" ]; do
    if writes_accepted; then
        [ "$streak" = 0 ] && accepted_at=$(date +%s.%N)
        streak=$((streak + 1))
        if [ "$streak" -ge 3 ]; then
            promoted_in_s=$(awk -v from="$killed_at" -v to="$accepted_at" 'BEGIN { printf "%.1f", to - from }')
            break
        fi
    else
        streak=0
    fi
    sleep 0.2
done
if [ -n "$promoted_in_s" ]; then
    echo "$standby accepts writes ${promoted_in_s} s after the kill" >&2
else
    echo "$standby did not accept writes within $PROMOTION_DEADLINE s" >&2
fi

ms_wait_load
report="$dir/report/report.json"
unresolved=$(jq -r '.unresolvedRequests // "?"' "$report" 2>/dev/null || echo "?")
probes_failed=$(jq -r '.probes.failed // "?"' "$report" 2>/dev/null || echo "?")
# The old primary comes back as a standby by itself: tell whether it did (not part of the verdict).
if wait_rest "$primary" replica 30 2>/dev/null; then
    echo "$primary is back as a standby of $standby" >&2
fi
if [ -n "$promoted_in_s" ]; then
    echo "failover=automatic promoted_in_s=$promoted_in_s unresolved=$unresolved invariants=$verdict probes_failed=$probes_failed"
else
    echo "failover=none promoted_in_s=none unresolved=$unresolved invariants=$verdict probes_failed=$probes_failed"
fi
[ -n "$promoted_in_s" ] && [ "$verdict" = green ] && [ "$unresolved" = 0 ] && [ "$probes_failed" = 0 ]

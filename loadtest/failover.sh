#!/usr/bin/env bash
# Failover under load: a PostgreSQL primary with a synchronous streaming standby on this machine
# (both on Unix sockets in one temp dir), the engine given both in one multi-host URL
#   host=DIR,DIR port=PRIMARY,STANDBY … target_session_attrs=read-write
# and the harness's mixed load with `--reconnect`. Halfway through, the primary crashes (immediate
# stop) and the standby is promoted; the engine's pool finds the new primary by itself (libpq tries
# the hosts in order and keeps the one that accepts writes). The old primary is not started again:
# it would be a second primary.
#
# Because the standby is synchronous (synchronous_commit = on, synchronous_standby_names names it),
# every commit the engine answered OK to is on the standby before the reply goes out, so the
# invariant check afterwards — run against the new primary — must stay green: every OK has its
# settlement and nothing else has one, money is conserved, no balance below 0, no wrong-PIN count
# above 6 — and the probes of the mixed load (loadtest/README.md) answered as they must, before and
# after the promotion.
#
#   loadtest/failover.sh                        # 16 terminals, 30 s
#   CLIENTS=8 SECONDS_EACH=20 loadtest/failover.sh
#
# Last line: failover promoted=<standby port> invariants=<green|red>
set -euo pipefail
cd "$(dirname "$0")/.."
source loadtest/lib.sh

CLIENTS=${CLIENTS:-16}
SECONDS_EACH=${SECONDS_EACH:-30}
PEOPLE=${PEOPLE:-10000}

ms_build
ms_start_postgres
ms_migrate_and_seed "$PEOPLE" "$CLIENTS"

# The standby: a base backup of the primary streaming its WAL (-R writes primary_conninfo and
# standby.signal). cluster_name becomes its application_name on the primary, which
# synchronous_standby_names matches.
standby_port=$((pgport + 1))
stop_standby() { as_pg "$PGBIN/pg_ctl" -D "$dir/standby" -m fast -w stop >/dev/null 2>&1 || true; ms_cleanup; }
trap stop_standby EXIT
as_pg "$PGBIN/pg_basebackup" -h "$dir" -p "$pgport" -U medsettle -D "$dir/standby" -R -X stream -c fast >&2
cat >> "$dir/standby/postgresql.conf" <<CONF
port = $standby_port
cluster_name = 'standby'
CONF
as_pg "$PGBIN/pg_ctl" -D "$dir/standby" -l "$dir/standby.log" -w start >/dev/null 2>&1 </dev/null
psql_ -d postgres -c "ALTER SYSTEM SET synchronous_standby_names = 'standby'" -c "SELECT pg_reload_conf()" >/dev/null
for _ in $(seq 1 50); do
    state=$(psql_ -d postgres -Atc "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby'")
    [ "$state" = sync ] && break
    sleep 0.2
done
[ "$state" = sync ] || { echo "the standby did not become synchronous (state '$state')" >&2; exit 1; }
echo "standby on port $standby_port is synchronous" >&2

export DATABASE_URL="host=$dir,$dir port=$pgport,$standby_port user=medsettle dbname=medsettle target_session_attrs=read-write"
ms_start_server --pool-size 8

ms_mixed_load

sleep $((SECONDS_EACH / 2))
echo "failover: the primary crashes (immediate stop), the standby is promoted" >&2
as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
# The new primary has no synchronous_standby_names (the base backup was taken before the primary
# got it), so its commits wait for nobody: it runs alone until a new standby is built.
as_pg "$PGBIN/pg_ctl" -D "$dir/standby" -w promote >/dev/null

ms_wait_load
echo "failover promoted=$standby_port invariants=$verdict"
[ "$verdict" = green ]

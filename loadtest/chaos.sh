#!/usr/bin/env bash
# Crashes under load, then the truth: on one fresh durable PostgreSQL, the harness's mixed load
# (`--reconnect`: a terminal that loses its connection connects again and QUERYs the request it
# had in flight) runs while
#   1. the engine is killed with SIGKILL and started again, and
#   2. PostgreSQL is stopped in immediate mode (a crash) and started again.
# Afterwards the harness checks the database: every OK reply (and every in-flight request that
# QUERY found settled) has exactly its settlement row and nothing else has one, money is
# conserved, no balance is below 0, no wrong-PIN count above 6 — and the mixed load's probes
# (repeats, late originals of reversed traces, lockout counts, paid QR codes offered again) must
# have answered as they must whenever the database answered at all.
#
#   loadtest/chaos.sh                        # 16 terminals, 30 s
#   CLIENTS=8 SECONDS_EACH=20 loadtest/chaos.sh
#
# Last line: chaos scenarios=2 invariants=<green|red>
set -euo pipefail
cd "$(dirname "$0")/.."
source loadtest/lib.sh

CLIENTS=${CLIENTS:-16}
SECONDS_EACH=${SECONDS_EACH:-30}
PEOPLE=${PEOPLE:-10000}

ms_build
ms_start_postgres
ms_migrate_and_seed "$PEOPLE" "$CLIENTS"
ms_start_server --pool-size 8

ms_mixed_load

sleep $((SECONDS_EACH / 4))
echo "chaos 1: SIGKILL the engine, start it again" >&2
kill -9 "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
sleep 1
ms_start_server --pool-size 8

sleep $((SECONDS_EACH / 4))
echo "chaos 2: PostgreSQL stopped in immediate mode (a crash), started again" >&2
as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
sleep 2
as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w start >/dev/null </dev/null

ms_wait_load
echo "chaos scenarios=2 invariants=$verdict"
[ "$verdict" = green ]

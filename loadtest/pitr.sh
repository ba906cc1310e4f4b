#!/usr/bin/env bash
# The restore drill: point-in-time recovery of the engine's database to a moment in the middle of
# the mixed load, and the invariants on what came back.
#
#   1. A fresh durable PostgreSQL with WAL archiving on (archive_command copies each finished WAL
#      segment into DIR/archive) and track_commit_timestamp on; migrate and seed; a base backup
#      (pg_basebackup, plain format, with the WAL it needs).
#   2. The harness's mixed load (CLIENTS terminals, SECONDS_EACH s, with its probes and its own
#      invariant check afterwards). Halfway, the script reads the database's clock: the target T.
#   3. After the load: the WAL is switched and archived; from the original database, the run's
#      settlements whose creating transaction committed at or before T ("before") and after it
#      ("after") — a settlement's creating transaction is the one that wrote its `trace` row (never
#      updated; a REVERSE or CANCEL updates the settlement row itself), its commit time
#      pg_xact_commit_timestamp(xmin) — and the QR payments committed by T.
#   4. The original stops; the base backup is copied and started with restore_command reading the
#      archive, recovery_target_time = T, recovery_target_action = promote.
#   5. On the restored database: exactly the "before" settlements of the run, none of the "after"
#      ones, and the harness's invariant check (`medsettle-load --check-run`): money conserved, no
#      balance below 0, no wrong-PIN count above 6, the run's settlement rows and QR uses as many
#      as were committed by T, traceability codes and accumulators consistent.
#
#   loadtest/pitr.sh                         # 16 terminals, 30 s
#   CLIENTS=8 SECONDS_EACH=20 loadtest/pitr.sh
#
# Last line: pitr=<restored|failed> before=<n> after=<n> invariants=<green|red>
set -euo pipefail
cd "$(dirname "$0")/.."
source loadtest/lib.sh

CLIENTS=${CLIENTS:-16}
SECONDS_EACH=${SECONDS_EACH:-30}
PEOPLE=${PEOPLE:-10000}

restored_port=""
stop_restored() {
    [ -n "${harness:-}" ] && kill "$harness" 2>/dev/null && wait "$harness" 2>/dev/null || true
    [ -n "$dir" ] && [ -d "$dir/restored" ] && as_pg "$PGBIN/pg_ctl" -D "$dir/restored" -m fast -w stop >/dev/null 2>&1 || true
}

ms_build
ms_start_postgres
trap 'stop_restored; ms_cleanup' EXIT # after ms_start_postgres, which sets its own
trap 'exit 1' INT TERM      # so that a signal runs the cleanup too
# Archiving and commit timestamps need a restart.
as_pg mkdir "$dir/archive"
ms_reconfigure_postgres <<CONF
wal_level = replica
archive_mode = on
archive_command = 'test ! -f $dir/archive/%f && cp %p $dir/archive/%f'
track_commit_timestamp = on
CONF
ms_migrate_and_seed "$PEOPLE" "$CLIENTS"

echo "base backup" >&2
as_pg "$PGBIN/pg_basebackup" -h "$dir" -p "$pgport" -U medsettle -D "$dir/base" -X stream -c fast >&2

ms_start_server --pool-size 8
ms_mixed_load
sleep $((SECONDS_EACH / 2))
# T in UTC with microseconds, as recovery_target_time takes it.
target=$(psql_ -d medsettle -Atc "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
echo "restore target: $target" >&2
ms_wait_load
ms_stop_server
run=$(sed -nE 's/.*"runID" : "([^"]+)".*/\1/p' "$dir/report/report.json" | head -1)
[ -n "$run" ] || { echo "no run id in the harness's report" >&2; exit 1; }

# Every WAL segment up to now in the archive.
last=$(psql_ -d medsettle -Atc "SELECT pg_walfile_name(pg_switch_wal())")
for _ in $(seq 1 300); do
    archived=$(psql_ -d medsettle -Atc "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
    [[ "$archived" > "$last" || "$archived" == "$last" ]] && break
    sleep 0.1
done
[[ "$archived" > "$last" || "$archived" == "$last" ]] || { echo "WAL $last was not archived (last archived: $archived)" >&2; exit 1; }

# The run's settlements by the commit time of the transaction that created them.
created="SELECT s.id, pg_xact_commit_timestamp(t.xmin) AS committed FROM settlement s
         JOIN trace t ON t.terminal = s.terminal AND t.trace = s.trace WHERE s.trace LIKE '$run-%'"
psql_ -d medsettle -Atc "SELECT id FROM ($created) c WHERE committed <= '$target' ORDER BY id" > "$dir/before.txt"
after=$(psql_ -d medsettle -Atc "SELECT count(*) FROM ($created) c WHERE committed > '$target'")
untimed=$(psql_ -d medsettle -Atc "SELECT (SELECT count(*) FROM ($created) c WHERE committed IS NULL)
                                        + (SELECT count(*) FROM settlement WHERE trace LIKE '$run-%') - (SELECT count(*) FROM ($created) c)")
qr_before=$(psql_ -d medsettle -Atc "SELECT count(*) FROM card_event WHERE event = 'qr_paid' AND detail LIKE 'trace=$run-%'
                                     AND pg_xact_commit_timestamp(xmin) <= '$target'")
before=$(wc -l < "$dir/before.txt")
echo "run $run: $before settlements committed by the target, $after after it, $qr_before QR payments by it" >&2
as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null

echo "restoring the base backup to $target" >&2
as_pg cp -a "$dir/base" "$dir/restored"
restored_port=$((pgport + 1))
cat >> "$dir/restored/postgresql.conf" <<CONF
port = $restored_port
archive_mode = off
restore_command = 'cp $dir/archive/%f %p'
recovery_target_time = '$target'
recovery_target_action = 'promote'
CONF
as_pg touch "$dir/restored/recovery.signal"
as_pg "$PGBIN/pg_ctl" -D "$dir/restored" -l "$dir/restored.log" -w start >/dev/null 2>&1 </dev/null
restored_sql() { psql -X -q -h "$dir" -p "$restored_port" -U medsettle -d medsettle "$@"; }
for _ in $(seq 1 600); do
    [ "$(restored_sql -Atc "SELECT pg_is_in_recovery()" 2>/dev/null)" = f ] && break
    sleep 0.1
done
[ "$(restored_sql -Atc "SELECT pg_is_in_recovery()")" = f ] || { echo "the restored database did not finish recovery" >&2; exit 1; }
grep -E "recovery stopping|starting point-in-time recovery|archive recovery complete" "$dir/restored.log" >&2 || true

restored_sql -Atc "SELECT id FROM settlement WHERE trace LIKE '$run-%' ORDER BY id" > "$dir/restored.txt"
missing=$(comm -23 "$dir/before.txt" "$dir/restored.txt" | wc -l)
extra=$(comm -13 "$dir/before.txt" "$dir/restored.txt" | wc -l)
echo "restored: $(wc -l < "$dir/restored.txt") settlements of the run; missing of those before the target: $missing; present that are not: $extra" >&2

check=0
"$BIN/medsettle-load" --check-run "$run" --expect-settlements "$before" --expect-qr-settlements "$qr_before" \
    --database-url "host=$dir port=$restored_port user=medsettle dbname=medsettle" >&2 || check=$?

outcome=restored
[ "$missing" = 0 ] && [ "$extra" = 0 ] && [ "$untimed" = 0 ] && [ "$before" -gt 0 ] && [ "$after" -gt 0 ] || outcome=failed
[ "$untimed" = 0 ] || echo "$untimed settlements of the run without a commit time" >&2
invariants=green
[ "$verdict" = green ] && [ "$check" = 0 ] || invariants=red
echo "pitr=$outcome before=$before after=$after invariants=$invariants"
[ "$outcome" = restored ] && [ "$invariants" = green ]

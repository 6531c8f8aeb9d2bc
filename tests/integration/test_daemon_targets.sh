#!/usr/bin/env bash
# The daemon keeps targets independent: while a long purge runs on target
# "slow", target "fast" gets its cycle and "slow" keeps collecting
# statistics on its own connection. SIGTERM then stops the purge at its
# next boundary, and the interrupted run is recorded as stopped.
source "$(dirname "$0")/lib.sh"
servers_env
pg_fresh_db dbk_slow
pg_fresh_db dbk_fast
# 200 old rows, purged one per batch with a pause: a purge that outlasts
# the test unless stopped.
pg dbk_slow -c "CREATE TABLE app_log (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL)" \
	-c "INSERT INTO app_log (created_at) SELECT now() - interval '30 days' FROM generate_series(1, 200)"
pg dbk_fast -c "CREATE TABLE tmp_fast (id int)"

mkdir -p "$WORK/policies"
cat >"$WORK/policies/slow.conf" <<'CONF'
budget = { max_run_time = "10m"; };
log_tables = { dry_run = false; tables = ( { table = "app_log"; time_column = "created_at";
               retention = "1d"; batch_size = 1; pause = "500ms"; } ); };
statistics = { analyze = false; metrics_interval = "1s"; };
CONF
cat >"$WORK/policies/fast.conf" <<'CONF'
scratch_tables = { include = [ "tmp_*" ]; min_age = "1s"; dry_run = true; };
statistics = { analyze = false; metrics_interval = "1h"; };
CONF
cat >"$WORK/dbkeeper.conf" <<CONF
state_dir = "$WORK/state";
queue_dir = "$WORK/queue";
policy_dir = "$WORK/policies";
targets = (
  { name = "slow"; driver = "postgres"; policies = [ "slow" ];
    connection = { conninfo = "host=$DBK_PG_HOST port=$DBK_PG_PORT user=$DBK_PG_USER dbname=dbk_slow"; }; },
  { name = "fast"; driver = "postgres"; policies = [ "fast" ];
    connection = { conninfo = "host=$DBK_PG_HOST port=$DBK_PG_PORT user=$DBK_PG_USER dbname=dbk_fast"; }; }
);
CONF
q=$WORK/queue/reports/new
count() { # target kind
	grep -l "\"kind\":\"$2\"" "$q"/*.json 2>/dev/null | xargs -r grep -l "\"target\":\"$1\"" | wc -l
}
purging() { pg dbk_slow -Atc "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'dbkeeper' AND query LIKE 'DELETE FROM%'" | grep -qv '^0$'; }
fast_ran() { (($(count fast run) >= 1)); }
slow_metrics_twice() { (($(count slow metrics) >= 2)); }

root_flag=; [[ $(id -u) == 0 ]] && root_flag=--allow-root
"$DBK_BIN" -c "$WORK/dbkeeper.conf" $root_flag run 2>"$WORK/daemon.log" &
pid=$!
wait_for 60 purging && ok "slow target is purging" || fail "purge never started"
wait_for 60 fast_ran && ok "fast target ran its cycle while slow purges" || fail "fast target held up"
wait_for 60 slow_metrics_twice && ok "statistics on the slow target go on during its purge" ||
	fail "no metrics during the purge"
assert_eq 0 "$(count slow run)" "slow target's run is still in progress"
left=$(pg dbk_slow -Atc "SELECT count(*) FROM app_log")
((left > 0)) && ok "purge still had rows to go ($left)" || fail "purge finished too early to prove anything"

kill -TERM "$pid"
set +e; wait "$pid"; rc=$?; set -e
assert_eq 0 "$rc" "SIGTERM stops the daemon with exit 0"
rec=$(grep -l '"kind":"run"' "$q"/*.json | xargs grep -l '"target":"slow"' | head -1)
[[ -n $rec ]] && ok "the interrupted run was recorded" || fail "no run record for slow"
assert_contains "$(cat "$rec" 2>/dev/null)" '"status":"stopped"' "the run record says it stopped"
assert_contains "$(cat "$rec" 2>/dev/null)" '"finished":false' "and that it did not finish"
final=$(grep -l '"kind":"action"' "$q"/*.json | xargs grep -l '"target":"slow"' |
	xargs grep -l '"action_id"' | head -1)
assert_contains "$(cat "$final" 2>/dev/null)" '"outcome":"partial"' "the purge is recorded as partial"
start_id=$(grep -o '"action_id":"[^"]*"' "$final" | cut -d'"' -f4)
assert_contains "$(cat "$q/$start_id" 2>/dev/null)" '"outcome":"started"' \
	"its write-ahead record was written before it ran"
finish

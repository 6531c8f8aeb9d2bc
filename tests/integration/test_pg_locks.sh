#!/usr/bin/env bash
# PostgreSQL under contention (issue 3): the real dbkeeper binary against
# other sessions. A scratch table another session holds locked is skipped at
# once and reported, and application queries on it are never queued behind
# the agent; a second agent on the same database reports busy; a rebuild
# stopped by a lock timeout or cancelled midway leaves no invalid index; a
# connection terminated mid-purge gives a clear error and a failed run, and
# the next cycle succeeds.
source "$(dirname "$0")/lib.sh"
servers_env
PG_DB=pgtest_locks
CONF_FILE=$WORK/dbkeeper.conf
# The advisory lock key the driver takes for a cycle.
AGENT_LOCK_KEY=$(sed -n 's/^#define PGD_LOCK_KEY "\([0-9]*\)".*/\1/p' \
	"$DBK_SOURCE_DIR/drivers/postgres/pgd_conn.h")
[[ $AGENT_LOCK_KEY =~ ^[0-9]+$ ]] || { echo "PGD_LOCK_KEY not found in pgd_conn.h" >&2; exit 1; }
BG=()

q() { pg "$PG_DB" -At -c "$1"; }
# Ends every session of ours on the test database and our background jobs.
stop_all() {
	set +e
	pg postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = '$PG_DB' AND application_name LIKE 'pgtest_%'" >/dev/null 2>&1
	for p in "${BG[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	[[ ${KEEP_WORK:-} ]] || pg postgres -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1
	cleanup
}
trap stop_all EXIT

# hold NAME SQL: a background session named NAME runs SQL (which ends in a
# long pg_sleep) until release NAME terminates it.
hold() {
	PGAPPNAME=$1 pg "$PG_DB" -c "$2" >"$WORK/$1.log" 2>&1 &
	BG+=($!)
	eval "HOLD_$1=$!"
}
release() {
	local pid_var=HOLD_$1
	q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '$1'" >/dev/null
	wait "${!pid_var}" 2>/dev/null || true
}
session_in() { # NAME STATE-SQL: the session NAME is in the given state
	[[ $(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$1' AND $2") -ge 1 ]]
}
once_json() { # N: `once --json` into $WORK/onceN.json, exit status in RC
	set +e
	"$DBK_BIN" -c "$CONF_FILE" --json once >"$WORK/once$1.json" 2>"$WORK/once$1.err"
	RC=$?
	set -e
}
jqf() { jq -r "$2" "$WORK/$1"; }
has_table() { [[ $(q "SELECT count(*) FROM pg_tables WHERE schemaname = 'app' AND tablename = '$1'") == 1 ]]; }
invalid_indexes() { q "SELECT count(*) FROM pg_index WHERE NOT indisvalid"; }
policy() { # the test policy with the given budget line
	cat >"$WORK/policies/lk.conf" <<-CONF
		budget = { $1 max_replica_lag = "0"; };
		scratch_tables = { dry_run = false; schemas = [ "app" ]; include = [ "tmp_*" ];
		                   min_age = "1s"; require_idle = false; };
		indexes = { dry_run = false; min_size = "1MB"; min_bloat = 30; drop_invalid = true; };
		log_tables = { dry_run = false;
		               tables = ( { schema = "app"; table = "evt_log"; time_column = "created_at";
		                            retention = "90d"; batch_size = 20; pause = "50ms"; } ); };
		statistics = { analyze = false; metrics_interval = "1h"; };
	CONF
}

pg_fresh_db "$PG_DB"
pg "$PG_DB" <<'SQL'
CREATE SCHEMA app;
CREATE TABLE app.tmp_locked (id int);
INSERT INTO app.tmp_locked SELECT generate_series(1, 100);
CREATE TABLE app.tmp_free (id int);
-- The log table: nothing to purge until the connection scenario adds rows.
CREATE TABLE app.evt_log (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL);
INSERT INTO app.evt_log (created_at) SELECT now() - i * interval '1 hour' FROM generate_series(1, 500) i;
SQL
mkdir -p "$WORK/policies"
policy 'lock_timeout = "10s"; statement_timeout = "5m";'
write_main_config '"lk"'
dbk -c "$CONF_FILE" check-config
assert_eq 0 "$RC" "check-config accepts the test configuration: $OUT"

# ---- 1. a scratch table held locked by another session ----
# The first cycle only sees the tables: their age counts from now.
once_json 0
assert_eq 0 "$RC" "the first cycle exits 0: $(cat "$WORK/once0.err")"
plan_drops() { dbk -c "$CONF_FILE" plan; [[ $RC == 0 && $OUT == *"DROP TABLE"* ]]; }
wait_for 60 plan_drops || fail "plan never showed the scratch drop: $OUT"

hold pgtest_locker "BEGIN; LOCK TABLE app.tmp_locked IN ACCESS SHARE MODE; SELECT pg_sleep(120)"
locked() { session_in pgtest_locker "state = 'active' AND query LIKE '%pg_sleep%'"; }
wait_for 60 locked || fail "the locking session did not start"
# The application keeps reading the locked table, each read bounded at 5s.
# The policy's lock timeout is 10s: an agent that queued for its lock would
# hold every one of these reads past 5s.
reader() {
	while [[ ! -e $WORK/stop_reader ]]; do
		if PGAPPNAME=pgtest_reader pg "$PG_DB" -At -c "SET statement_timeout = '5s'" \
			-c "SELECT count(*) FROM app.tmp_locked" >/dev/null 2>>"$WORK/reader.err"; then
			echo ok >>"$WORK/reader.ok"
		else
			echo failed >>"$WORK/reader.failed"
		fi
	done
}
reads() { [[ -f $WORK/reader.ok ]] && wc -l <"$WORK/reader.ok" || echo 0; }
reader &
BG+=($!)
reader_pid=$!
reading() { (($(reads) >= 2)); }
wait_for 60 reading || fail "the application reader did not start"
once_json 1
reads_at_end=$(reads)
reads_after() { (($(reads) >= reads_at_end + 2)); }
wait_for 60 reads_after || fail "the reader stopped reading"
touch "$WORK/stop_reader"
wait "$reader_pid" || true
assert_eq 0 "$RC" "once exits 0 when a table is skipped for a lock: $(cat "$WORK/once1.err")"
assert_eq "" "$(cat "$WORK/reader.failed" "$WORK/reader.err" 2>/dev/null)" \
	"no application read failed or waited 5s while the agent ran"
has_table tmp_locked && ok "the locked table is still there" || fail "the locked table was dropped"
has_table tmp_free && fail "tmp_free was not dropped" || ok "the free scratch table was dropped"
drop=$(jqf once1.json '.[].actions[] | select(.action=="drop_tables")')
assert_eq "partial" "$(jq -r .outcome <<<"$drop")" "the drop is recorded as partial"
assert_eq "tmp_free:done tmp_locked:skipped_locked" \
	"$(jq -r '[.objects[] | "\(.name):\(.status)"] | sort | join(" ")' <<<"$drop")" \
	"the locked table's status is skipped_locked, the other's done"
assert_contains "$(jq -r .note <<<"$drop")" "locked: app.tmp_locked" "the record's note names the locked table"
(($(jq -r .duration_ms <<<"$drop") < 10000)) && ok "skipped within the lock timeout" ||
	fail "the drop took $(jq -r .duration_ms <<<"$drop") ms, more than the 10s lock timeout"
"$DBK_BIN" -c "$CONF_FILE" --json queue list >"$WORK/queue1.json"
assert_eq "partial tmp_locked:skipped_locked" \
	"$(jq -r '[.[] | select(.kind=="action" and .action=="drop_tables" and .outcome!="started")] | last | "\(.outcome) " + ([.objects[] | select(.name=="tmp_locked") | "\(.name):\(.status)"] | join(""))' "$WORK/queue1.json")" \
	"the queue record reports the skipped table"
release pgtest_locker
once_json 2
assert_eq 0 "$RC" "once exits 0 after the lock is released"
has_table tmp_locked && fail "the released table was not dropped" || ok "the released table is dropped next time"

# ---- 2. a second agent on the same database: busy ----
hold pgtest_agent2 "SELECT pg_advisory_lock($AGENT_LOCK_KEY); SELECT pg_sleep(120)"
agent2() {
	[[ $(q "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE a.application_name = 'pgtest_agent2' AND l.locktype = 'advisory' AND l.granted") == 1 ]]
}
wait_for 60 agent2 || fail "the other 'agent' did not take the lock"
actions_before=$("$DBK_BIN" -c "$CONF_FILE" --json queue list | jq '[.[] | select(.kind=="action")] | length')
dbk -c "$CONF_FILE" once
assert_eq 0 "$RC" "once exits 0 when another agent holds the database"
assert_contains "$OUT" "status: busy" "once reports busy"
"$DBK_BIN" -c "$CONF_FILE" --json queue list >"$WORK/queue2.json"
assert_eq "busy" "$(jq -r '[.[] | select(.kind=="run")] | last | .status' "$WORK/queue2.json")" \
	"the run record says busy"
assert_eq "$actions_before" "$(jq '[.[] | select(.kind=="action")] | length' "$WORK/queue2.json")" \
	"the busy cycle did nothing"
release pgtest_agent2

# ---- 3. a rebuild stopped by the lock timeout leaves no invalid index ----
# A transaction holding an old snapshot makes REINDEX CONCURRENTLY wait for
# it; the lock timeout (1s) ends that wait. The index: a B-tree with ~80%
# bloat, ~4 MB.
q "CREATE TABLE app.rb (id int, val int) WITH (autovacuum_enabled = false);
   INSERT INTO app.rb SELECT i, i FROM generate_series(1, 200000) i;
   CREATE INDEX rb_val_idx ON app.rb (val);
   DELETE FROM app.rb WHERE id % 5 <> 0;" >/dev/null
q "VACUUM ANALYZE app.rb" >/dev/null
policy 'lock_timeout = "1s"; statement_timeout = "5m";'
hold pgtest_snap "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM pg_class; SELECT pg_sleep(120)"
snap() { session_in pgtest_snap "backend_xmin IS NOT NULL AND query LIKE '%pg_sleep%'"; }
wait_for 60 snap || fail "the snapshot holder did not start"
once_json 3
rb=$(jqf once3.json '.[].actions[] | select(.action=="rebuild_index")')
assert_eq "skipped rb_val_idx:skipped_locked" "$(jq -r '"\(.outcome) \(.objects[0].name):\(.objects[0].status)"' <<<"$rb")" \
	"a rebuild that waits past the lock timeout is skipped"
assert_contains "$(jq -r .note <<<"$rb")" "dropped invalid leftover rb_val_idx_ccnew" "its leftover copy is dropped"
assert_eq 0 "$(invalid_indexes)" "no invalid index is left after the lock timeout"
assert_eq 0 "$RC" "a skipped rebuild is no failure: once exits 0"

# ---- 4. a rebuild cancelled midway leaves no invalid index ----
policy 'lock_timeout = "60s"; statement_timeout = "5m";'
"$DBK_BIN" -c "$CONF_FILE" --json once >"$WORK/once4.json" 2>"$WORK/once4.err" &
agent=$!
BG+=($agent)
reindex_waits() { session_in dbkeeper "datname = '$PG_DB' AND query LIKE 'REINDEX%' AND wait_event_type = 'Lock'"; }
wait_for 60 reindex_waits || fail "the agent's REINDEX never waited"
assert_eq 1 "$(q "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
	WHERE NOT i.indisvalid AND c.relname LIKE 'rb_val_idx_ccnew%'")" "midway, an invalid copy exists"
assert_eq t "$(q "SELECT bool_and(pg_cancel_backend(pid)) FROM pg_stat_activity
	WHERE application_name = 'dbkeeper' AND datname = '$PG_DB' AND query LIKE 'REINDEX%'")" \
	"the agent's REINDEX is cancelled from another session"
set +e
wait "$agent"
RC=$?
set -e
assert_eq 3 "$RC" "once exits 3 when the rebuild failed"
rb=$(jqf once4.json '.[].actions[] | select(.action=="rebuild_index")')
assert_eq failed "$(jq -r .outcome <<<"$rb")" "the cancelled rebuild is recorded as failed"
assert_contains "$(jq -r .error <<<"$rb")" "canceling statement due to user request" "the record says why"
assert_contains "$(jq -r .error <<<"$rb")" "dropped invalid leftover rb_val_idx_ccnew" "and that the leftover was dropped"
assert_eq 0 "$(invalid_indexes)" "no invalid index is left after the cancel"
assert_eq t "$(q "SELECT indisvalid FROM pg_index WHERE indexrelid = 'app.rb_val_idx'::regclass")" \
	"the original index is still there and valid"
release pgtest_snap

# ---- 5. the connection terminated mid-purge ----
# 3000 old rows in batches of 20 with 50 ms pauses: several seconds.
q "INSERT INTO app.evt_log (created_at)
   SELECT now() - interval '100 days' - i * interval '1 minute' FROM generate_series(1, 3000) i" >/dev/null
old_rows() { q "SELECT count(*) FROM app.evt_log WHERE created_at < now() - interval '90 days'"; }
policy 'lock_timeout = "1s"; statement_timeout = "5m";'
"$DBK_BIN" -c "$CONF_FILE" --json once >"$WORK/once5.json" 2>"$WORK/once5.err" &
agent=$!
BG+=($agent)
purging() { (($(old_rows) <= 2960)); }
wait_for 60 purging || fail "the purge did not start"
# A real second agent, while the first one works: busy, nothing done.
dbk -c "$CONF_FILE" once
assert_eq 0 "$RC" "a second dbkeeper on the same database exits 0"
assert_contains "$OUT" "status: busy" "a second dbkeeper on the same database reports busy"
assert_eq t "$(q "SELECT bool_and(pg_terminate_backend(pid)) FROM pg_stat_activity
	WHERE application_name = 'dbkeeper' AND datname = '$PG_DB'")" "the agent's backend is terminated"
set +e
wait "$agent"
RC=$?
set -e
left=$(old_rows)
((left > 0)) && ok "terminated midway: $left old rows left" || fail "the purge finished before the termination"
assert_eq 3 "$RC" "once exits 3 when the connection is lost"
assert_contains "$(cat "$WORK/once5.err")" "connection lost" "the error says the connection was lost"
assert_contains "$(cat "$WORK/once5.err")" "terminating connection due to administrator command" "and gives the server's reason"
purge=$(jqf once5.json '.[].actions[] | select(.action=="purge_rows")')
assert_eq failed "$(jq -r .outcome <<<"$purge")" "the purge is recorded as failed"
assert_contains "$(jq -r .error <<<"$purge")" "connection lost" "the purge record says the connection was lost"
"$DBK_BIN" -c "$CONF_FILE" --json queue list >"$WORK/queue5.json"
run=$(jq -c '[.[] | select(.kind=="run")] | last' "$WORK/queue5.json")
assert_eq "failed" "$(jq -r .status <<<"$run")" "the run record says the run failed"
assert_contains "$(jq -r '.error // ""' <<<"$run")" "connection lost" "the run record says why"

once_json 6
assert_eq 0 "$RC" "the next cycle succeeds: $(cat "$WORK/once6.err")"
assert_eq finished "$(jqf once6.json '.[0].status')" "the next cycle finishes"
assert_eq 0 "$(old_rows)" "the next cycle purges the rest"
assert_eq 500 "$(q "SELECT count(*) FROM app.evt_log WHERE created_at >= now() - interval '90 days'")" \
	"the recent rows are all kept"
assert_eq 0 "$(invalid_indexes)" "no invalid index at the end"
finish

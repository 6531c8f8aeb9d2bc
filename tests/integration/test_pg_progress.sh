#!/usr/bin/env bash
# PostgreSQL rebuild progress and the size-per-row baseline (issue 3): while
# REINDEX INDEX CONCURRENTLY runs, the driver reads its phase from
# pg_stat_progress_create_index on a second session and reports it (log and
# the action's note); after the rebuild the agent remembers the index's size
# per row. A writer's open transaction holds the rebuild in its "waiting for
# writers" phase until the agent has reported a phase, so a phase is always
# seen however fast the server is.
source "$(dirname "$0")/lib.sh"
servers_env
PG_DB=pggaps_progress
CONF_FILE=$WORK/dbkeeper.conf
BG=()

q() { pg "$PG_DB" -At -c "$1"; }
stop_all() {
	set +e
	pg postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = '$PG_DB' AND pid <> pg_backend_pid()" >/dev/null 2>&1
	for p in "${BG[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	[[ ${KEEP_WORK:-} ]] || pg postgres -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1
	cleanup
}
trap stop_all EXIT

pg_fresh_db "$PG_DB"
# A bloated B-tree as in seed_pg.sql, larger: 300k rows, 80% deleted.
pg "$PG_DB" <<'SQL'
CREATE SCHEMA app;
CREATE TABLE app.big (id int, val int) WITH (autovacuum_enabled = false);
INSERT INTO app.big SELECT i, i FROM generate_series(1, 300000) i;
CREATE INDEX big_val_idx ON app.big (val);
DELETE FROM app.big WHERE id % 5 <> 0;
VACUUM ANALYZE app.big;
CREATE TABLE public.release (x int);
SQL
mkdir -p "$WORK/policies"
cat >"$WORK/policies/pr.conf" <<'CONF'
budget = { max_run_time = "5m"; lock_timeout = "2m"; statement_timeout = "5m";
           max_replica_lag = "0"; };
indexes = { dry_run = false; min_size = "1MB"; min_bloat = 30; drop_invalid = true; };
statistics = { analyze = false; metrics_interval = "1h"; };
CONF
write_main_config '"pr"'

dbk -c "$CONF_FILE" plan
assert_contains "$OUT" 'REINDEX INDEX CONCURRENTLY "app"."big_val_idx"' "plan shows the rebuild"

# The writer: an open transaction that wrote to app.big, kept open (a new
# snapshot each loop, so it sees the release row) until told to go.
PGAPPNAME=pggaps_writer pg "$PG_DB" >"$WORK/writer.log" 2>&1 <<'SQL' &
BEGIN;
INSERT INTO app.big VALUES (0, 0);
DO $$ BEGIN
	WHILE NOT EXISTS (SELECT 1 FROM public.release) LOOP
		PERFORM pg_catalog.pg_sleep(0.05);
	END LOOP;
END $$;
COMMIT;
SQL
wpid=$!
BG+=("$wpid")
writer_in() { [[ $(q "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
	WHERE a.application_name = 'pggaps_writer' AND l.relation = 'app.big'::regclass") -ge 1 ]]; }
wait_for 60 writer_in || fail "the writer never took its lock"

set +e
"$DBK_BIN" -c "$CONF_FILE" -v --json once >"$WORK/once.json" 2>"$WORK/once.err" &
opid=$!
BG+=("$opid")
set -e
reported() { grep -q "rebuild progress: " "$WORK/once.err"; }
wait_for 120 reported || fail "no progress phase was reported: $(cat "$WORK/once.err")"
q "INSERT INTO public.release VALUES (1)" >/dev/null
set +e
wait "$opid"
RC=$?
wait "$wpid"
set -e
assert_eq 0 "$RC" "once exits 0: $(tail -5 "$WORK/once.err")"
assert_contains "$(cat "$WORK/once.err")" "rebuild progress: waiting for writers before build" \
	"the log names the phase the rebuild waited in"
assert_contains "$(grep 'rebuild progress: ' "$WORK/once.err" | head -1)" "tuples " \
	"a progress line gives blocks and tuples"
note=$(jq -r '.[].actions[] | select(.action=="rebuild_index") | .note' "$WORK/once.json")
assert_contains "$note" "phases seen: " "the action's note lists the phases seen: $note"
assert_contains "$note" "waiting for writers before build" "the note names the waiting phase"
assert_eq "done" "$(jq -r '.[].actions[] | select(.action=="rebuild_index") | .outcome' "$WORK/once.json")" \
	"the rebuild is done"
assert_eq "t" "$(q "SELECT indisvalid FROM pg_index WHERE indexrelid = 'app.big_val_idx'::regclass")" \
	"the rebuilt index is valid"
# A backend leaves pg_stat_activity shortly after its client closed the
# connection, so this waits for the condition rather than sampling once.
agent_sessions_gone() {
	[[ $(q "SELECT count(*) FROM pg_stat_activity WHERE datname = '$PG_DB'
		AND application_name = 'dbkeeper' AND pid <> pg_backend_pid()") == 0 ]]
}
wait_for 60 agent_sessions_gone && ok "no session of the agent is left" ||
	fail "sessions of the agent are left behind"

# The baseline: remembered after the clean rebuild, bound to the new index.
state=$(ls "$WORK"/state/*.json)
assert_eq 1 "$(jq '.index_baselines | length' "$state")" "one index baseline is remembered"
bpr=$(jq '[.index_baselines[]][0].bytes_per_row' "$state")
jq -e '[.index_baselines[]][0].bytes_per_row > 0' "$state" >/dev/null &&
	ok "bytes per row $bpr" || fail "bad bytes per row: $bpr"
dbk -c "$CONF_FILE" -v once
assert_eq 0 "$RC" "a second once exits 0"
assert_not_contains "$OUT" "REINDEX" "the compact index is not rebuilt again"
assert_eq "$(q "SELECT 'app.big_val_idx'::regclass::oid")" "$(jq '[.index_baselines[]][0].id' "$state")" \
	"the baseline took the rebuilt index's id"
finish

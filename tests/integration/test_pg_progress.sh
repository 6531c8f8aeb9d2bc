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
# tune --apply shows the same phases (issue 5): on a terminal in the
# progress bar, otherwise as one plain line per phase. The writer holds the
# rebuild in "waiting for writers" until the phase has been shown.
rebloat() {
	pg "$PG_DB" >/dev/null <<'SQL'
DELETE FROM public.release;
INSERT INTO app.big SELECT i, i FROM generate_series(300001, 600000) i;
DELETE FROM app.big WHERE id > 300000 OR id % 10 = 5;
VACUUM ANALYZE app.big;
SQL
}
hold_writer() {
	PGAPPNAME=pggaps_writer pg "$PG_DB" >>"$WORK/writer.log" 2>&1 <<'SQL' &
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
	wait_for 60 writer_in || fail "the writer never took its lock"
}
# tune_apply OUTFILE TTY(0|1): runs tune --apply --yes while the writer
# holds the rebuild; releases it once OUTFILE shows the waiting phase.
tune_apply() {
	local out=$1 tty=$2 tpid
	rebloat
	hold_writer
	set +e
	if ((tty)); then
		script -qec "$DBK_BIN -c $CONF_FILE tune pg --apply --yes" /dev/null >"$out" 2>&1 &
	else
		"$DBK_BIN" -c "$CONF_FILE" tune pg --apply --yes >"$out" 2>&1 &
	fi
	tpid=$!
	BG+=("$tpid")
	set -e
	shown() { grep -q "waiting for writers" "$out"; }
	wait_for 120 shown || fail "tune showed no rebuild phase: $(cat -v "$out" | tail -5)"
	q "INSERT INTO public.release VALUES (1)" >/dev/null
	set +e
	wait "$tpid"
	RC=$?
	wait "$wpid"
	set -e
}
tune_apply "$WORK/tune-tty.out" 1
tty_out=$(cat -v "$WORK/tune-tty.out")
assert_contains "$tty_out" '^M^[[K[' "on a terminal: the bar is redrawn in place"
assert_contains "$tty_out" '0/1 rebuild index app.big_val_idx - waiting for writers before build ' \
	"on a terminal: the bar shows the rebuild's phase"
grep -Eq '\] 1/1 rebuild index app\.big_val_idx [0-9]+s done' <<<"$tty_out" &&
	ok "and then the full bar with the outcome" || fail "no final bar: $tty_out"
assert_eq "t" "$(q "SELECT indisvalid FROM pg_index WHERE indexrelid = 'app.big_val_idx'::regclass")" \
	"the index rebuilt through tune is valid"
tune_apply "$WORK/tune-plain.out" 0
plain=$(cat "$WORK/tune-plain.out")
assert_eq 0 "$RC" "tune --apply off a terminal exits 0"
assert_contains "$plain" '[1/1] rebuild index app.big_val_idx ...' "off a terminal: a line when the action starts"
assert_contains "$plain" '[1/1]   waiting for writers before build' "a line for the phase"
assert_contains "$plain" '[1/1] rebuild index app.big_val_idx: done in' "a line when it ends"
if grep -q $'\r' <<<"$plain"; then fail "carriage returns off a terminal"; else ok "no bar off a terminal"; fi
finish

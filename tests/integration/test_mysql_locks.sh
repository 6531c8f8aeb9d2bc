#!/usr/bin/env bash
# The MySQL driver under contention, on the MariaDB tests/servers.sh started,
# through the real binary: a scratch table another session holds a metadata
# lock on is skipped within the lock timeout while an application query on
# it still completes; a second agent reports busy (exit 0, a busy run
# record); a connection KILLed in the middle of a purge gives a clear error,
# exit 3 and a failed-run record, and the next cycle finishes the job.
source "$(dirname "$0")/lib.sh"
servers_env
command -v jq >/dev/null || { echo "FAIL: jq is needed (tests/install-deps.sh)" >&2; exit 1; }

MY_DB=mytest_lk
my_fresh_db "$MY_DB"
q() { my "$MY_DB" -N -B -r -e "$1"; }
# The connections of this test's database other than the asker's: ended on
# exit, so a failed test leaves no session holding locks.
end_sessions() {
	local id
	for id in $(my mysql -N -B -e "SELECT ID FROM information_schema.PROCESSLIST
		WHERE DB = '$MY_DB' AND ID <> CONNECTION_ID()" 2>/dev/null); do
		my mysql -e "KILL $id" 2>/dev/null || true
	done
}
BG_PIDS=()
on_exit() {
	local p
	for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	end_sessions
	cleanup
}
trap on_exit EXIT

my "$MY_DB" <<'SQL'
CREATE TABLE seed_digits (d INT NOT NULL PRIMARY KEY);
INSERT INTO seed_digits VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9);
CREATE TABLE tmp_free_1 (id INT PRIMARY KEY);
CREATE TABLE tmp_free_2 (id INT PRIMARY KEY);
CREATE TABLE tmp_locked (id INT PRIMARY KEY);
INSERT INTO tmp_locked VALUES (1), (2), (3);
-- 20,000 rows past retention, then one recent row (the newest id)
CREATE TABLE big_log (id BIGINT AUTO_INCREMENT PRIMARY KEY, created_at DATETIME NOT NULL,
	msg VARCHAR(40) NOT NULL);
INSERT INTO big_log (created_at, msg) SELECT NOW() - INTERVAL 60 DAY, 'old'
	FROM seed_digits a, seed_digits b, seed_digits c, seed_digits e,
	(SELECT d FROM seed_digits WHERE d < 2) f;
INSERT INTO big_log (created_at, msg) VALUES (NOW(), 'new');
DROP TABLE seed_digits;
SQL

mkdir -p "$WORK/policies"
policy() { cat >"$WORK/policies/p.conf"; }
policy <<'CONF'
budget = { lock_timeout = "1s"; statement_timeout = "60s"; };
scratch_tables = { include = [ "tmp_*" ]; min_age = "1s"; require_idle = false; dry_run = false; };
CONF
write_main_config '"p"'
CONF_FILE=$WORK/dbkeeper.conf
records() { "$DBK_BIN" -c "$CONF_FILE" queue list --json; }
last_run() { records | jq -r "[.[] | select(.kind == \"run\")] | last | $1"; }
old_enough() { (($(q "SELECT MIN(UNIX_TIMESTAMP() - UNIX_TIMESTAMP(CREATE_TIME)) FROM information_schema.TABLES WHERE TABLE_SCHEMA='$MY_DB'") >= 2)); }
wait_for 30 old_enough || fail "tables never got older than min_age"

# ---- a metadata lock held by another session ----
# The holder reads tmp_locked in an open transaction: its shared metadata
# lock lasts until the transaction ends.
my "$MY_DB" -e "BEGIN; SELECT COUNT(*) FROM tmp_locked; DO SLEEP(59.125);" >/dev/null 2>&1 &
BG_PIDS+=($!)
session_of() { q "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '$MY_DB' AND INFO LIKE '$1'"; }
holding() { [[ -n $(session_of 'DO SLEEP(59.125)') ]]; }
wait_for 60 holding || fail "the lock holder did not start"

# The application: as soon as the agent's DROP waits for its lock, it reads
# the table, with a few seconds' statement limit of its own.
drop_waiting() {
	[[ -n $(q "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '$MY_DB'
		AND INFO LIKE 'DROP TABLE%tmp_locked%' AND STATE LIKE '%metadata lock%'") ]]
}
app_query() {
	if ! wait_for 60 drop_waiting; then echo "no DROP seen waiting"; return 1; fi
	q "SET SESSION lock_wait_timeout = 8; SET STATEMENT max_statement_time = 8 FOR SELECT COUNT(*) FROM tmp_locked"
}
app_query >"$WORK/app.out" 2>&1 &
app_pid=$!
BG_PIDS+=("$app_pid")

dbk -c "$CONF_FILE" once
assert_eq 0 "$RC" "once exits 0 when a locked table was skipped"
assert_contains "$OUT" "tmp_locked: metadata lock not granted in time" "the output says which table was locked"
set +e
wait "$app_pid"
app_rc=$?
set -e
assert_eq 0 "$app_rc" "the application query on the locked table succeeded"
assert_eq 3 "$(cat "$WORK/app.out")" "it read its 3 rows within its own 8 s limit, while the agent wanted the table"
drop='[.[] | select(.kind == "action" and .action == "drop_tables" and .outcome != "started")] | last'
assert_eq "partial" "$(records | jq -r "$drop | .outcome")" "the drop is partial"
assert_eq "tmp_free_1=done tmp_free_2=done tmp_locked=skipped_locked" \
	"$(records | jq -r "$drop | [.objects[] | \"\(.name)=\(.status)\"] | sort | join(\" \")")" \
	"the locked table is recorded skipped_locked, the others dropped"
assert_eq "tmp_locked" "$(q "SHOW TABLES LIKE 'tmp%'")" "only tmp_locked is left"
assert_eq "finished" "$(last_run .status)" "the run record says finished"
holder=$(session_of 'DO SLEEP(59.125)')
[[ -n $holder ]] && ok "the holder still held its lock throughout" || fail "the holder went away"
q "KILL $holder"

# ---- a second agent: busy ----
lock_name="dbkeeper:$MY_DB" # the driver's GET_LOCK name for the database
my "$MY_DB" -e "SELECT GET_LOCK('$lock_name', 0); DO SLEEP(58.125);" >/dev/null 2>&1 &
BG_PIDS+=($!)
lock_held() { [[ $(q "SELECT IS_USED_LOCK('$lock_name') IS NOT NULL") == 1 ]]; }
wait_for 60 lock_held || fail "the client did not take the agent lock"
dbk -c "$CONF_FILE" once
assert_eq 0 "$RC" "a busy agent exits 0"
assert_contains "$OUT" "status: busy" "it says busy"
assert_eq "busy" "$(last_run .status)" "and writes a busy run record"
assert_eq "tmp_locked" "$(q "SHOW TABLES LIKE 'tmp%'")" "a busy agent dropped nothing"
q "KILL $(session_of 'DO SLEEP(58.125)')"
lock_free() { [[ $(q "SELECT IS_FREE_LOCK('$lock_name')") == 1 ]]; }
wait_for 30 lock_free ||
	fail "the agent lock was not released"

# ---- a connection KILLed in the middle of a long purge ----
policy <<'CONF'
budget = { lock_timeout = "1s"; statement_timeout = "60s"; };
log_tables = { dry_run = false; tables = (
	{ table = "big_log"; time_column = "created_at"; retention = "30d"; batch_size = 100; pause = "200ms"; } ); };
CONF
"$DBK_BIN" -c "$CONF_FILE" once >"$WORK/agent1.out" 2>&1 &
agent1=$!
BG_PIDS+=("$agent1")
purging() { (($(q "SELECT COUNT(*) FROM big_log") < 20001)); }
wait_for 60 purging || fail "the purge did not start"
# While the first agent works, a second one is busy.
dbk -c "$CONF_FILE" once
assert_eq 0 "$RC" "a second agent during a purge exits 0"
assert_contains "$OUT" "status: busy" "and says busy"
assert_eq "busy" "$(last_run .status)" "with a busy run record"
# The first agent's session: the one program_name=dbkeeper connection to
# the database, once the busy agent's has gone.
one_agent() {
	agent_conn=$(my mysql -N -B -e "SELECT p.ID FROM information_schema.PROCESSLIST p
		JOIN performance_schema.session_connect_attrs a ON a.PROCESSLIST_ID = p.ID
		WHERE a.ATTR_NAME = 'program_name' AND a.ATTR_VALUE = 'dbkeeper' AND p.DB = '$MY_DB'")
	[[ $(wc -w <<<"$agent_conn") == 1 ]]
}
wait_for 30 one_agent && ok "found the agent's connection" || fail "agent connections: [$agent_conn]"
q "KILL $agent_conn"
set +e
wait "$agent1"
rc1=$?
set -e
out1=$(cat "$WORK/agent1.out")
assert_eq 3 "$rc1" "the killed agent exits 3"
assert_contains "$out1" "connection lost" "it says the connection was lost"
purge='[.[] | select(.kind == "action" and .action == "purge_rows" and .outcome != "started")] | last'
assert_eq "failed" "$(records | jq -r "$purge | .outcome")" "the purge is recorded failed"
assert_contains "$(records | jq -r "$purge | .error")" "connection lost" "with the error"
assert_eq "failed" "$(last_run .status)" "the run record says failed"
left=$(q "SELECT COUNT(*) FROM big_log")
((left < 20001 && left > 1)) && ok "the killed purge stopped part way ($left rows left)" || fail "rows left: $left"

# The next cycle, with bigger batches, finishes the job.
sed -i 's/batch_size = 100; pause = "200ms"/batch_size = 5000; pause = "10ms"/' "$WORK/policies/p.conf"
dbk -c "$CONF_FILE" once
assert_eq 0 "$RC" "the next cycle exits 0"
assert_contains "$OUT" "status: finished" "and finishes"
assert_eq "finished" "$(last_run .status)" "with a finished run record"
assert_eq "done $((left - 1))" "$(records | jq -r "$purge | \"\(.outcome) \(.rows)\"")" \
	"it deleted every old row that was left"
assert_eq "new" "$(q "SELECT GROUP_CONCAT(msg) FROM big_log")" "only the recent row remains"
finish

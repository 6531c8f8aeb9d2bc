#!/usr/bin/env bash
# Stale statistics and the server's log tables on the MariaDB
# tests/servers.sh started, through the real binary:
#  (a) InnoDB's modification counter drives ANALYZE: tables with
#      STATS_AUTO_RECALC=0 (so InnoDB does not recalculate by itself) and
#      many rows changed are analyzed, a filename-encoded name among them;
#      afterwards the counter is back at 0 and the plan shows no ANALYZE;
#      an untouched table is never analyzed.
#  (b) log_output=TABLE: mysql.slow_log (logging off at the time) and
#      mysql.general_log (logging on) are rotated: `plan` shows the exact
#      statements and changes nothing; `once` keeps exactly the entries
#      newer than the cutoff, removes the leftovers of an interrupted
#      rotation, leaves no work table, writes nothing to the binary log,
#      and logging goes on afterwards.
# The server's global log settings are restored at the end.
source "$(dirname "$0")/lib.sh"
servers_env
command -v jq >/dev/null || { echo "FAIL: jq is needed (tests/install-deps.sh)" >&2; exit 1; }

MY_DB=mytest_logtables
q() { my "$MY_DB" -N -B -r -e "$1"; }
mq() { my mysql -N -B -r -e "$1"; }
# Setup statements on the mysql schema stay out of the binary log: a
# replica another test runs must not replay them.
mq_nobinlog() { my mysql -N -B -r -e "SET SESSION sql_log_bin = 0; $1"; }
jqf() { jq -r "$2" "$WORK/$1"; }
once_json() { # N: `once --json` into $WORK/onceN.json, exit status in RC
	set +e
	"$DBK_BIN" -c "$CONF_FILE" --json once >"$WORK/once$1.json" 2>"$WORK/once$1.err"
	RC=$?
	set -e
}
plan_json() { # N: `plan --json` into $WORK/planN.json
	set +e
	"$DBK_BIN" -c "$CONF_FILE" --json plan >"$WORK/plan$1.json" 2>"$WORK/plan$1.err"
	RC=$?
	set -e
}

# ---- the server's global settings, restored whatever happens ----
read -r SAVED_OUTPUT SAVED_GENERAL SAVED_SLOW <<<"$(mq "SELECT @@global.log_output, @@global.general_log, @@global.slow_query_log")"
restore() {
	my mysql -e "SET GLOBAL log_output = '$SAVED_OUTPUT', GLOBAL general_log = $SAVED_GENERAL,
		GLOBAL slow_query_log = $SAVED_SLOW" >/dev/null 2>&1 || echo "could not restore the log settings" >&2
	cleanup
}
trap restore EXIT

my_fresh_db "$MY_DB"

# ---- (a) statistics ----
my "$MY_DB" <<'SQL'
SET NAMES utf8mb4;
CREATE TABLE stale_t (id INT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL) STATS_AUTO_RECALC=0;
INSERT INTO stale_t (v) SELECT seq FROM seq_1_to_20000;
CREATE TABLE `stale café-x` (id INT PRIMARY KEY, v INT NOT NULL) STATS_AUTO_RECALC=0;
INSERT INTO `stale café-x` SELECT seq, seq FROM seq_1_to_5000;
CREATE TABLE untouched_t (id INT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL) STATS_AUTO_RECALC=0;
INSERT INTO untouched_t (v) SELECT seq FROM seq_1_to_20000;
ANALYZE TABLE stale_t, `stale café-x`, untouched_t;
-- a quarter of stale_t, two fifths of the other one; untouched_t stays so
UPDATE stale_t SET v = v + 1 WHERE id <= 5000;
DELETE FROM `stale café-x` WHERE id <= 1000;
INSERT INTO `stale café-x` SELECT seq, seq FROM seq_10001_to_11000;
SQL
counter() { # table name as InnoDB spells it (filename-encoded)
	q "SELECT MODIFIED_COUNTER FROM information_schema.INNODB_SYS_TABLESTATS WHERE NAME = '$MY_DB/$1'"
}
assert_eq "5000 2000 0" "$(counter stale_t) $(counter 'stale@0020caf@0p@002dx') $(counter untouched_t)" \
	"InnoDB counts the modifications (no automatic recalculation)"
untouched_stats=$(q "SELECT last_update FROM mysql.innodb_table_stats WHERE database_name = '$MY_DB' AND table_name = 'untouched_t'")

# ---- (b) the log tables ----
# Fresh tables, so every old entry is one this test made. Entries 3 hours
# old against a retention of 1 hour: no other test's retention (a day or
# more) makes its agent rotate them while this test runs.
mq_nobinlog "SET GLOBAL log_output = 'TABLE', GLOBAL general_log = 1, GLOBAL slow_query_log = 1;
	TRUNCATE TABLE mysql.slow_log; TRUNCATE TABLE mysql.general_log"
OLD=$(($(mq "SELECT UNIX_TIMESTAMP()") - 3 * 3600))
# The slow log stamps an entry with the session's timestamp: "SET timestamp"
# and both SELECTs are old; "SET SESSION long_query_time" is not.
my "$MY_DB" -e "SET SESSION long_query_time = 0; SET timestamp = $OLD; SELECT 'dbk-old-slow-1'; SELECT 'dbk-old-slow-2'" >/dev/null
my "$MY_DB" -e "SET SESSION long_query_time = 0; SELECT 'dbk-new-slow'" >/dev/null
# The general log takes the real time, and log tables accept no INSERT:
# old entries come in by the rotation's own means, a table swapped in.
mq_nobinlog "DROP TABLE IF EXISTS mysql.general_log_seed, mysql.general_log_prev;
	CREATE TABLE mysql.general_log_seed LIKE mysql.general_log;
	INSERT INTO mysql.general_log_seed SELECT * FROM mysql.general_log;
	INSERT INTO mysql.general_log_seed VALUES
		(FROM_UNIXTIME($OLD), 'test[test] @ localhost []', 1, 1, 'Query', 'dbk-old-general-1'),
		(FROM_UNIXTIME($OLD + 1), 'test[test] @ localhost []', 1, 1, 'Query', 'dbk-old-general-2'),
		(FROM_UNIXTIME($OLD + 2), 'test[test] @ localhost []', 1, 1, 'Query', 'dbk-old-general-3');
	RENAME TABLE mysql.general_log TO mysql.general_log_prev, mysql.general_log_seed TO mysql.general_log;
	DROP TABLE mysql.general_log_prev"
my "$MY_DB" -e "SELECT 'dbk-new-general'" >/dev/null
# What an interrupted rotation leaves behind.
mq_nobinlog "CREATE TABLE mysql.slow_log_dbk_new LIKE mysql.slow_log;
	CREATE TABLE mysql.general_log_dbk_old LIKE mysql.general_log"
# The binary log's events since a "file<TAB>position" (other tests may
# rotate the binary log meanwhile: every later file is read too).
binlog_since() {
	local file pos f started=""
	read -r file pos <<<"$1"
	for f in $(mq "SHOW BINARY LOGS" | cut -f1); do
		[[ $f == "$file" ]] && started=1
		[[ $started ]] || continue
		if [[ $f == "$file" ]]; then
			mq "SHOW BINLOG EVENTS IN '$f' FROM $pos" || true
		else
			mq "SHOW BINLOG EVENTS IN '$f'" || true
		fi
	done
}
dbk_tables() { mq "SHOW TABLES FROM mysql LIKE '%\\_dbk\\_%'" | LC_ALL=C sort | tr '\n' ' '; }
assert_eq "general_log_dbk_old slow_log_dbk_new " "$(dbk_tables)" "the leftovers of an interrupted rotation are there"

old_slow() { mq "SELECT COUNT(*) FROM mysql.slow_log WHERE start_time < NOW() - INTERVAL 2 HOUR"; }
old_general() { mq "SELECT COUNT(*) FROM mysql.general_log WHERE event_time < NOW() - INTERVAL 2 HOUR"; }
assert_eq "3 3" "$(old_slow) $(old_general)" "each log table holds three old entries"
# Every entry up to the new markers: exactly these must survive.
slow_mark=$(mq "SELECT MAX(start_time) FROM mysql.slow_log WHERE sql_text = 'SELECT ''dbk-new-slow'''")
general_mark=$(mq "SELECT MAX(event_time) FROM mysql.general_log WHERE argument = 'SELECT ''dbk-new-general'''")
[[ -n $slow_mark && -n $general_mark ]] && ok "the new markers are logged" || fail "new markers missing: [$slow_mark] [$general_mark]"
slow_sig() { mq "SELECT CONCAT_WS(' ', COUNT(*), SUM(CRC32(CONCAT_WS(' ', start_time, thread_id, sql_text))))
	FROM mysql.slow_log WHERE start_time >= NOW() - INTERVAL 2 HOUR AND start_time <= '$slow_mark'"; }
general_sig() { mq "SELECT CONCAT_WS(' ', COUNT(*), SUM(CRC32(CONCAT_WS(' ', event_time, thread_id, argument))))
	FROM mysql.general_log WHERE event_time >= NOW() - INTERVAL 2 HOUR AND event_time <= '$general_mark'"; }
slow_before=$(slow_sig)
general_before=$(general_sig)

# ---- configuration ----
mkdir -p "$WORK/policies" "$WORK/state"
# keep: no binary log is ever purged here (other tests count on theirs).
cat >"$WORK/policies/p.conf" <<'CONF'
budget = { lock_timeout = "2s"; statement_timeout = "60s"; };
statistics = { dry_run = false; };
server_logs = { retention = "1h"; dry_run = false; keep = 100000; };
CONF
write_main_config '"p"'
CONF_FILE=$WORK/dbkeeper.conf
dbk -c "$CONF_FILE" check-config
assert_eq 0 "$RC" "check-config accepts the test configuration"

# ---- plan: the statements, and nothing changes ----
# The slow log is off while it is rotated; the general log stays on.
mq "SET GLOBAL slow_query_log = 0"
binlog_before=$(mq "SHOW MASTER STATUS" | cut -f1,2)
t0=$(mq "SELECT UNIX_TIMESTAMP()")
plan_json 1
t1=$(mq "SELECT UNIX_TIMESTAMP()")
assert_eq 0 "$RC" "plan exits 0"
rotation() { jqf "$1" ".[] | .actions[] | select(.action==\"rotate_log_table\" and .objects[0].name==\"$2\") | .statement"; }
expected_rotation() { # table time_column cutoff
	local t=$1 c=$2 cut=$3
	printf '%s' "SET SESSION sql_log_bin = 0; DROP TABLE IF EXISTS \`mysql\`.\`${t}_dbk_new\`, \`mysql\`.\`${t}_dbk_old\`; CREATE TABLE \`mysql\`.\`${t}_dbk_new\` LIKE \`mysql\`.\`${t}\`; INSERT INTO \`mysql\`.\`${t}_dbk_new\` SELECT * FROM \`mysql\`.\`${t}\` WHERE UNIX_TIMESTAMP(\`${c}\`) >= ${cut}; RENAME TABLE \`mysql\`.\`${t}\` TO \`mysql\`.\`${t}_dbk_old\`, \`mysql\`.\`${t}_dbk_new\` TO \`mysql\`.\`${t}\`; DROP TABLE \`mysql\`.\`${t}_dbk_old\`; SET SESSION sql_log_bin = 1"
}
for lt in "slow_log start_time" "general_log event_time"; do
	read -r t c <<<"$lt"
	stmt=$(rotation plan1.json "$t")
	cut=$(sed -n 's/.*UNIX_TIMESTAMP(`[a-z_]*`) >= \([0-9]*\);.*/\1/p' <<<"$stmt")
	if [[ -n $cut ]] && ((cut >= t0 - 3600 && cut <= t1 - 3600)); then
		ok "the $t rotation keeps the last hour (cutoff $cut)"
	else
		fail "$t: cutoff [$cut] not within [$((t0 - 3600)), $((t1 - 3600))]"
	fi
	assert_eq "$(expected_rotation "$t" "$c" "${cut:-0}")" "$stmt" "plan shows the exact $t rotation"
done
dbk -c "$CONF_FILE" plan
# (a later plan: its cutoff may be a second later)
assert_contains "$OUT" "$(rotation plan1.json slow_log | sed 's/ >= [0-9]*;.*//')" \
	"the text plan prints the rotation statements"
assert_eq "ANALYZE TABLE \`$MY_DB\`.\`stale_t\`, \`$MY_DB\`.\`stale café-x\`" \
	"$(jqf plan1.json '.[] | .actions[] | select(.action=="analyze") | .statement')" \
	"plan analyzes exactly the two stale tables, the most modified first"
assert_eq "3 3" "$(old_slow) $(old_general)" "plan removed no log entry"
assert_eq "general_log_dbk_old slow_log_dbk_new " "$(dbk_tables)" "plan dropped no table"
assert_eq "5000 2000" "$(counter stale_t) $(counter 'stale@0020caf@0p@002dx')" "plan analyzed nothing"

# ---- once: rotate both, analyze the stale tables ----
once_json 1
assert_eq 0 "$RC" "once exits 0"
rot_result() { jqf once1.json ".[] | .actions[] | select(.action==\"rotate_log_table\" and .objects[0].name==\"$1\") | \"\(.outcome) \(.rows)\""; }
assert_eq "done 3" "$(rot_result slow_log)" "the slow log rotation removed its 3 old entries"
read -r g_out g_rows <<<"$(rot_result general_log)"
# The general log also loses the RENAME's own entry (logged into the table
# it retires) and whatever other sessions log in that instant.
[[ $g_out == "done" ]] && ((g_rows >= 3)) && ok "the general log rotation is done ($g_rows entries removed)" ||
	fail "general log rotation: $g_out $g_rows"
assert_eq "0 0" "$(old_slow) $(old_general)" "no entry older than the cutoff is left"
assert_eq "$slow_before" "$(slow_sig)" "every slow log entry newer than the cutoff stayed, unchanged"
assert_eq "$general_before" "$(general_sig)" "every general log entry newer than the cutoff stayed, unchanged"
assert_eq "" "$(dbk_tables)" "no _dbk_ work table is left, the old leftovers neither"
assert_eq "" "$(binlog_since "$binlog_before" | grep -E 'general_log|slow_log' || true)" \
	"the rotations wrote nothing to the binary log"
assert_eq "CSV CSV" "$(mq "SELECT GROUP_CONCAT(ENGINE ORDER BY TABLE_NAME SEPARATOR ' ') FROM information_schema.TABLES
	WHERE TABLE_SCHEMA = 'mysql' AND TABLE_NAME IN ('general_log', 'slow_log')")" "both log tables are CSV tables as before"

analyzed='.[] | .actions[] | select(.action=="analyze")'
assert_eq "done" "$(jqf once1.json "$analyzed | .outcome")" "the ANALYZE is done"
assert_eq "0 0" "$(counter stale_t) $(counter 'stale@0020caf@0p@002dx')" "ANALYZE reset InnoDB's counters"
assert_eq "$untouched_stats" "$(q "SELECT last_update FROM mysql.innodb_table_stats WHERE database_name = '$MY_DB' AND table_name = 'untouched_t'")" \
	"the untouched table's statistics were never recalculated"

# ---- logging goes on ----
mq "SET GLOBAL slow_query_log = 1"
my "$MY_DB" -e "SELECT 'dbk-after-rotation'" >/dev/null
my "$MY_DB" -e "SET SESSION long_query_time = 0; SELECT 'dbk-after-rotation-slow'" >/dev/null
in_general() { [[ $(mq "SELECT COUNT(*) FROM mysql.general_log WHERE argument = 'SELECT ''dbk-after-rotation'''") == 1 ]]; }
in_slow() { [[ $(mq "SELECT COUNT(*) FROM mysql.slow_log WHERE sql_text = 'SELECT ''dbk-after-rotation-slow'''") == 1 ]]; }
wait_for 30 in_general && ok "the general log takes new entries" || fail "nothing logged to the general log after the rotation"
wait_for 30 in_slow && ok "the slow log takes new entries" || fail "nothing logged to the slow log after the rotation"

# ---- the next plan: nothing stale, nothing old ----
plan_json 2
assert_eq 0 "$RC" "the second plan exits 0"
assert_eq "" "$(jqf plan2.json '.[] | .actions[] | select(.action=="analyze" or .action=="rotate_log_table") | .statement')" \
	"the second plan neither analyzes nor rotates"
dbk -c "$CONF_FILE" plan
assert_contains "$OUT" "server_logs=due stats=due" "both tasks were assessed in the second plan"
finish

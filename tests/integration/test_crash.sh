#!/usr/bin/env bash
# Crash consistency (issue 8): real cycles on both scratch servers under a
# policy that acts for real (scratch drops, a log-table purge in small
# batches with pauses, an index rebuild, ANALYZE), the agent SIGKILLed at
# many points and restarted each time. Kill points: random delays from a
# seeded PRNG (DBK_CRASH_SEED) into `once` and `run`, and targeted kills
# once the server shows the agent's statement waiting: a DELETE held up by
# a row lock, a DROP TABLE held up by a slow event trigger (PostgreSQL) or
# a metadata lock (MariaDB), a REINDEX CONCURRENTLY waiting for an old
# snapshot or an ALTER TABLE waiting for a metadata lock, and a queue record
# caught in tmp/ by a slowed fsync (an LD_PRELOAD shim built here).
#
# After every kill (tests/integration/crash_audit.py round): the records of
# the round parse, every change the databases show (rows purged, tables
# dropped, index rebuilt, invalid index made or dropped) has a write-ahead
# "started" record of that round, rows within retention and the decoys
# are untouched, rows past retention never grow,
# the state files parse and none was set aside as corrupt. After a clean
# cycle: no row past retention and no invalid index is left, every queue
# record parses, every executed action has its started record and closes
# it once, nothing is recorded done twice (crash_audit.py final says how
# that is defined), and the purge records never report more rows than went.
# DBK_CRASH_ROUNDS sets the number of rounds (one kill each, when the agent
# does not end first; a random round then tries again, three times at most).
source "$(dirname "$0")/lib.sh"
servers_env
command -v jq >/dev/null || { echo "FAIL: jq is needed (tests/install-deps.sh)" >&2; exit 1; }
# The system python3 starts faster than a version manager's shim.
PY=$({ command -v /usr/bin/python3 python3 || true; } | head -n1)
[[ $PY ]] || { echo "FAIL: python3 is needed" >&2; exit 1; }

ROUNDS=${DBK_CRASH_ROUNDS:-64}
SEED=${DBK_CRASH_SEED:-20261123}
RANDOM=$SEED
# Names of this run only: two runs on the same servers must not meet.
run_id=$(basename "$WORK" | tr -dc 'A-Za-z0-9' | tail -c 6 | tr 'A-Z' 'a-z')
PG_DB=crash_pg_$run_id
MY_DB=crash_my_$run_id
OLD=3000 # rows past retention, per engine
NEW=300  # rows within retention, per engine
AUDIT=$DBK_SOURCE_DIR/tests/integration/crash_audit.py
Q=$WORK/queue/reports
EV=$WORK/ev
APID=
BLOCKER_PID=
mkdir -p "$EV" "$WORK/state"

pgq() { pg "$PG_DB" -At -c "$1"; }
myq() { my "$MY_DB" -N -B -r -e "$1"; }
stop_everything() {
	set +e
	[[ $APID ]] && kill -KILL "$APID" 2>/dev/null && wait "$APID" 2>/dev/null
	blocker_stop
	if [[ -z ${KEEP_WORK:-} ]]; then
		pg postgres -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1
		my mysql -e "DROP DATABASE IF EXISTS $MY_DB" >/dev/null 2>&1
	fi
	cleanup
}
trap stop_everything EXIT

# ---- the databases ----
pg_fresh_db "$PG_DB"
pg "$PG_DB" >/dev/null <<SQL
CREATE TABLE app_log (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL, tag text NOT NULL);
INSERT INTO app_log (created_at, tag)
	SELECT now() - interval '30 days' - i * interval '1 minute', 'old' FROM generate_series(1, $OLD) i;
INSERT INTO app_log (created_at, tag)
	SELECT now() - i * interval '1 minute', 'new' FROM generate_series(1, $NEW) i;
CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO users SELECT i, 'user ' || i FROM generate_series(1, 500) i;
CREATE TABLE tmp_keep (id int);
INSERT INTO tmp_keep VALUES (1);
CREATE TABLE bloat (id int, val int) WITH (autovacuum_enabled = false);
INSERT INTO bloat SELECT i, i FROM generate_series(1, 60000) i;
CREATE INDEX bloat_val_idx ON bloat (val);
DELETE FROM bloat WHERE id % 5 <> 0;
VACUUM ANALYZE bloat;
-- Targeted mid-drop kills: while crash_ctl.slow is set, every DROP TABLE
-- in this database sleeps at its end, inside the agent's transaction.
CREATE TABLE crash_ctl (slow boolean NOT NULL);
INSERT INTO crash_ctl VALUES (false);
CREATE FUNCTION crash_slow_drop() RETURNS event_trigger LANGUAGE plpgsql AS \$\$
BEGIN
	IF (SELECT slow FROM crash_ctl) THEN
		PERFORM pg_sleep(10);
	END IF;
END \$\$;
CREATE EVENT TRIGGER crash_slow_drop ON sql_drop WHEN TAG IN ('DROP TABLE')
	EXECUTE FUNCTION crash_slow_drop();
SQL
my_fresh_db "$MY_DB"
my "$MY_DB" <<SQL
CREATE TABLE app_log (id BIGINT AUTO_INCREMENT PRIMARY KEY, created_at DATETIME NOT NULL,
	tag VARCHAR(10) NOT NULL, KEY idx_created (created_at));
INSERT INTO app_log (created_at, tag)
	SELECT NOW() - INTERVAL 30 DAY - INTERVAL seq MINUTE, 'old' FROM seq_1_to_$OLD ORDER BY seq DESC;
INSERT INTO app_log (created_at, tag)
	SELECT NOW() - INTERVAL seq MINUTE, 'new' FROM seq_1_to_$NEW ORDER BY seq DESC;
CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL);
INSERT INTO users SELECT seq, CONCAT('user ', seq) FROM seq_1_to_500;
CREATE TABLE tmp_keep (id INT PRIMARY KEY);
INSERT INTO tmp_keep VALUES (1);
CREATE TABLE frag (id INT AUTO_INCREMENT PRIMARY KEY, pad CHAR(255) NOT NULL,
	pad2 CHAR(100) NOT NULL) ENGINE=InnoDB;
SQL

# Fragmentation the rebuild removes; redone after each rebuild. The times
# go to marks: crash_audit.py counts a MariaDB rebuild once per them.
pg_bloat() {
	pgq "INSERT INTO bloat SELECT i, i FROM generate_series(100001, 148000) i" >/dev/null
	pgq "DELETE FROM bloat WHERE id > 100000" >/dev/null
	pgq "VACUUM ANALYZE bloat" >/dev/null
	date +%s%3N >>"$WORK/marks"
}
my_frag() {
	myq "INSERT INTO frag (pad, pad2) SELECT 'f', 'g' FROM seq_1_to_40000;
		DELETE FROM frag WHERE id > (SELECT MIN(id) + 7999 FROM (SELECT id FROM frag) x);
		ANALYZE TABLE frag" >/dev/null
	date +%s%3N >>"$WORK/marks"
}
: >"$WORK/marks"
my_frag

# ---- configuration ----
mkdir -p "$WORK/policies"
policy() { # NAME MAX_RUN_TIME BATCH PAUSE
	cat >"$WORK/policies/$1.conf" <<CONF
budget = { max_run_time = "$2"; lock_timeout = "2s"; statement_timeout = "1m";
           max_replica_lag = "0"; };
scratch_tables = { dry_run = false; schemas = [ "public", "$MY_DB" ];
                   include = [ "tmp_r*" ]; min_age = "1s"; require_idle = false;
                   max_per_statement = 4; interval = "1s"; };
log_tables = { dry_run = false; interval = "1s";
               tables = ( { table = "app_log"; time_column = "created_at"; retention = "7d";
                            batch_size = $3; pause = "$4"; } ); };
indexes = { dry_run = false; min_size = "1MB"; min_bloat = 30; drop_invalid = true;
            interval = "1s"; };
statistics = { analyze = true; stale_min_rows = 100; interval = "1s"; metrics_interval = "1h"; };
CONF
}
policy crash 1s 20 30ms
policy finish 10m 1000 10ms
main_config() { # FILE POLICY
	cat >"$1" <<CONF
state_dir = "$WORK/state";
queue_dir = "$WORK/queue";
policy_dir = "$WORK/policies";
retry_backoff = "1s";
retry_backoff_max = "2s";
cycle_min_gap = "1s";
targets = (
  { name = "pg"; driver = "postgres"; policies = [ "$2" ];
    connection = { conninfo = "host=$DBK_PG_HOST port=$DBK_PG_PORT user=$DBK_PG_USER dbname=$PG_DB"; }; },
  { name = "my"; driver = "mysql"; policies = [ "$2" ];
    connection = { host = "$DBK_MY_HOST"; port = $DBK_MY_PORT; user = "$DBK_MY_USER"; database = "$MY_DB"; }; }
);
CONF
}
CONF=$WORK/dbkeeper.conf
main_config "$CONF" crash
main_config "$WORK/clean.conf" finish
dbk -c "$CONF" check-config
assert_eq 0 "$RC" "check-config accepts the crash configuration: $OUT"
root_flag=; [[ $(id -u) == 0 ]] && root_flag=--allow-root

# The fsync shim: a queue record (or state file) stays in tmp/ long enough
# to be killed there.
cat >"$WORK/slow_fsync.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>
int fsync(int fd)
{
	static int (*real)(int);
	const char *ms = getenv("CRASH_FSYNC_DELAY_MS");

	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	if (ms != NULL) {
		long v = atol(ms);
		struct timespec ts = { v / 1000, (v % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}
	return real(fd);
}
C
cc -shared -fPIC -o "$WORK/slow_fsync.so" "$WORK/slow_fsync.c" -ldl ||
	{ fail "cannot build the fsync shim"; finish; }

# ---- evidence: what the databases show, one JSON object per engine ----
EVQ_PG="SELECT json_build_object(
	'old', (SELECT count(*) FROM app_log WHERE created_at < now() - interval '7 days'),
	'new', (SELECT count(*) || ':' || coalesce(sum(id), 0) FROM app_log
	        WHERE created_at >= now() - interval '7 days'),
	'scratch', (SELECT coalesce(json_agg(relname::text ORDER BY relname), '[]')
	            FROM pg_class WHERE relnamespace = 'public'::regnamespace
	            AND relkind = 'r' AND relname LIKE 'tmp\\_r%'),
	'rebuild', (SELECT 'bloat_val_idx:' || oid FROM pg_class
	            WHERE relname = 'bloat_val_idx' AND relnamespace = 'public'::regnamespace),
	'invalid', (SELECT coalesce(json_agg(c.relname::text ORDER BY c.relname), '[]')
	            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE NOT i.indisvalid),
	'decoy', (SELECT count(*) || ':' || sum(id) FROM users)
	         || '/' || (SELECT count(*) FROM tmp_keep))"
EVQ_MY="SELECT JSON_OBJECT(
	'old', (SELECT COUNT(*) FROM app_log WHERE created_at < NOW() - INTERVAL 7 DAY),
	'new', (SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(id), 0)) FROM app_log
	        WHERE created_at >= NOW() - INTERVAL 7 DAY),
	'scratch', (SELECT COALESCE(JSON_ARRAYAGG(TABLE_NAME ORDER BY TABLE_NAME), JSON_ARRAY())
	            FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$MY_DB'
	            AND TABLE_NAME LIKE 'tmp\\_r%'),
	'rebuild', (SELECT CONCAT('frag:', TABLE_ID) FROM information_schema.INNODB_SYS_TABLES
	            WHERE NAME = '$MY_DB/frag'),
	'invalid', JSON_ARRAY(),
	'decoy', CONCAT((SELECT CONCAT(COUNT(*), ':', SUM(id)) FROM users), '/',
	                (SELECT COUNT(*) FROM tmp_keep)))"
evidence() { # WHEN: before/after/initial
	pgq "$EVQ_PG" >"$EV/$1.pg"
	myq "$EVQ_MY" >"$EV/$1.my"
}
ev() { jq -r ".$2" "$EV/$1"; } # FILE FIELD
# A round's scratch tables, then the evidence before it, in one session.
seed_pg() { # NAME
	pg "$PG_DB" -At -c "CREATE TABLE ${1}_a (id int); INSERT INTO ${1}_a VALUES (1);
		CREATE TABLE ${1}_b (id int)" -c "$EVQ_PG" >"$EV/before.pg"
}
seed_my() {
	myq "CREATE TABLE ${1}_a (id INT PRIMARY KEY); INSERT INTO ${1}_a VALUES (1);
		CREATE TABLE ${1}_b (id INT PRIMARY KEY); $EVQ_MY" >"$EV/before.my"
}

# The agent's sessions are gone (a killed agent's statement may run on for
# a moment on the server): only then is the evidence after a round taken.
AGENT_PG="SELECT count(*) FROM pg_stat_activity WHERE datname = '$PG_DB'
	AND application_name = 'dbkeeper'"
AGENT_MY="SELECT COUNT(*) FROM information_schema.PROCESSLIST
	WHERE DB = '$MY_DB' AND ID <> CONNECTION_ID()"
agent_gone_pg() { [[ $(pgq "$AGENT_PG") == 0 ]]; }
after_pg() {
	local out
	out=$(pgq "SELECT ($AGENT_PG) || ' ' || ($EVQ_PG)::text") && [[ $out == "0 "* ]] &&
		printf '%s\n' "${out#0 }" >"$EV/after.pg"
}
after_my() {
	local out
	out=$(myq "SELECT CONCAT(($AGENT_MY), ' ', ($EVQ_MY))") && [[ $out == "0 "* ]] &&
		printf '%s\n' "${out#0 }" >"$EV/after.my"
}

# ---- blockers: a session holding a lock or a snapshot while the agent waits ----
blocker_start() { # ENGINE SQL: runs SQL in an open transaction, waits until it holds
	local out=$WORK/blocker.out
	: >"$out"
	if [[ $1 == pg ]]; then
		exec {BLOCKER_FD}> >(pg "$PG_DB" -At >"$out" 2>&1)
	else
		exec {BLOCKER_FD}> >(my "$MY_DB" -N -B -n >"$out" 2>&1)
	fi
	BLOCKER_PID=$!
	printf '%s\nSELECT %s;\n' "$2" "'blocker ready'" >&"$BLOCKER_FD"
	wait_for 30 grep -q 'blocker ready' "$out" || fail "blocker never ready: $(cat "$out")"
}
blocker_stop() {
	[[ ${BLOCKER_PID:-} ]] || return 0
	printf 'ROLLBACK;\n' >&"$BLOCKER_FD" 2>/dev/null || true
	exec {BLOCKER_FD}>&-
	wait "$BLOCKER_PID" 2>/dev/null || true
	BLOCKER_PID=
}

# ---- running and killing the agent ----
start_agent() { # ARGS...
	"$DBK_BIN" -c "$CONF" "$@" >>"$WORK/agent.out" 2>>"$WORK/agent.err" &
	APID=$!
}
alive() { kill -0 "$APID" 2>/dev/null; }
# Sleeps MS milliseconds or until the agent exits, whichever is first.
sleep_alive() {
	local until=$((${EPOCHREALTIME/./} / 1000 + $1))
	while alive && ((${EPOCHREALTIME/./} / 1000 < until)); do sleep 0.01; done
}
kill_agent() { # sets KILLED (1 when SIGKILL ended it) and RC
	kill -KILL "$APID" 2>/dev/null || true
	set +e
	{ wait "$APID"; } 2>/dev/null # no "Killed" line from the shell
	RC=$?
	set -e
	APID=
	KILLED=0
	((RC == 137)) && KILLED=1
	return 0
}
# waits until COMMAND... holds or the agent has exited
agent_or() { ! alive || "$@"; }
until_agent() { # SECONDS COMMAND...
	local s=$1
	shift
	wait_for "$s" agent_or "$@" || true
}
planned() { # ENGINE ACTION: `plan` would run ACTION now
	"$DBK_BIN" -c "$CONF" --json plan "$1" 2>/dev/null |
		jq -e --arg a "$2" '[.[].actions[] | select(.action == $a)] | length > 0' >/dev/null
}
pg_waiting() { # LIKE-pattern: the agent's statement is waiting on the server
	[[ $(pgq "SELECT count(*) FROM pg_stat_activity WHERE datname = '$PG_DB'
		AND application_name = 'dbkeeper' AND state = 'active' AND query LIKE '$1'
		AND wait_event IS NOT NULL") != 0 ]]
}
my_waiting() {
	[[ $(myq "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = '$MY_DB'
		AND INFO LIKE '$1' AND ID <> CONNECTION_ID()") != 0 ]]
}

# One round: what it does to the agent, by kind. Each sets MODE to what it
# really did (a targeted kind falls back to a random kill when there is
# nothing of its kind to do).
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
# How long a cycle of each engine takes lately: a random kill lands at a
# random point of it. A cycle that ends before its kill says how long the
# next may take, and the round tries again within that (three tries).
declare -A CYCLE_MS=([pg]=1500 [my]=1500)
round_random() { # ENGINE
	local t0 dur try limit=$((CYCLE_MS[$1] * 11 / 10))
	MODE="random once $1"
	for ((try = 1; try <= 3; try++)); do
		t0=$(now_ms)
		start_agent once "$1"
		sleep_alive $((RANDOM % 1000 * limit / 1000))
		dur=$(($(now_ms) - t0))
		kill_agent
		((KILLED || try == 3)) && return 0
		((RC == 0)) || fail "round $r ($MODE): the agent ran to its end but exited $RC"
		COMPLETED=$((COMPLETED + 1))
		CYCLE_MS[$1]=$(((CYCLE_MS[$1] + dur) / 2))
		limit=$dur
	done
}
round_purge() {
	local eng=$1
	if ((OLD_NOW[$eng] == 0)); then round_random "$eng"; return; fi
	MODE="targeted mid-DELETE $eng"
	if [[ $eng == pg ]]; then
		blocker_start pg "BEGIN; SELECT count(*) FROM (SELECT id FROM app_log
			WHERE created_at < now() - interval '7 days' FOR UPDATE) x;"
		start_agent once pg
		until_agent 30 pg_waiting 'DELETE FROM%'
	else
		blocker_start my "BEGIN; SELECT COUNT(*) FROM app_log
			WHERE created_at < NOW() - INTERVAL 7 DAY FOR UPDATE;"
		start_agent once my
		until_agent 30 my_waiting 'DELETE FROM%'
	fi
	kill_agent
	# PostgreSQL cancels the statement of a client that is gone; let it, or
	# the statement would go on once the blocker lets go.
	[[ $eng == pg ]] && { wait_for 60 agent_gone_pg || true; }
	blocker_stop
}
round_drop() {
	local eng=$1 first=
	if ! planned "$eng" drop_tables; then round_random "$eng"; return; fi
	MODE="targeted mid-DROP $eng"
	if [[ $eng == pg ]]; then
		pgq "UPDATE crash_ctl SET slow = true" >/dev/null
		start_agent once pg
		until_agent 30 pg_waiting 'DROP TABLE%'
		kill_agent
		pgq "UPDATE crash_ctl SET slow = false" >/dev/null
	else
		first=$(myq "SELECT MIN(TABLE_NAME) FROM information_schema.TABLES
			WHERE TABLE_SCHEMA = '$MY_DB' AND TABLE_NAME LIKE 'tmp\\_r%'")
		blocker_start my "BEGIN; SELECT COUNT(*) FROM \`$first\`;"
		start_agent once my
		until_agent 30 my_waiting 'DROP TABLE%'
		kill_agent
		blocker_stop
	fi
}
round_rebuild() {
	local eng=$1
	if ((OLD_NOW[$eng] != 0)) || ! planned "$eng" rebuild_index; then
		round_random "$eng"
		return
	fi
	MODE="targeted mid-rebuild $eng"
	if [[ $eng == pg ]]; then
		# REINDEX CONCURRENTLY waits for this snapshot before it finishes.
		blocker_start pg "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM users;"
		start_agent once pg
		until_agent 30 pg_waiting 'REINDEX%'
	else
		blocker_start my "BEGIN; SELECT COUNT(*) FROM frag;"
		start_agent once my
		until_agent 30 my_waiting 'ALTER TABLE%'
	fi
	kill_agent
	[[ $eng == pg ]] && { wait_for 60 agent_gone_pg || true; }
	blocker_stop
}
round_qwrite() {
	local eng=$1 i
	MODE="targeted mid-queue-write $eng"
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
		LD_PRELOAD=$WORK/slow_fsync.so CRASH_FSYNC_DELAY_MS=400 \
		"$DBK_BIN" -c "$CONF" once "$eng" >>"$WORK/agent.out" 2>>"$WORK/agent.err" &
	APID=$!
	for ((i = 0; i < 1500; i++)); do
		alive || break
		[[ -n $(leftovers | grep -vxFf "$WORK/tmp.before" || true) ]] && break
		sleep 0.02
	done
	kill_agent
}
round_daemon() {
	MODE="random run"
	start_agent $root_flag run
	sleep_alive $((300 + RANDOM % 1700))
	kill_agent
}

leftovers() { # the write leftovers now: queue tmp/ files and state *.tmp
	{ find "$Q/tmp" "$WORK/state" -type f \( -path "$Q/tmp/*" -o -name '*.tmp' \) 2>/dev/null || true; } |
		LC_ALL=C sort
}
records() { { ls "$Q/new" 2>/dev/null || true; } | LC_ALL=C sort; }

# ---- the rounds ----
declare -A PHASES=()
TRIED=0 SURVIVED=0 COMPLETED=0
evidence initial
cp "$EV/initial.pg" "$EV/after.pg"
cp "$EV/initial.my" "$EV/after.my"
assert_eq "$OLD $OLD" "$(ev initial.pg old) $(ev initial.my old)" "both log tables start with $OLD old rows"
# What the last round left: rows past retention, the rebuild evidence.
declare -A OLD_NOW=([pg]=$OLD [my]=$OLD)
rb_pg=$(ev initial.pg rebuild) rb_my=$(ev initial.my rebuild)
last_pg_oid=$rb_pg last_my_tid=$rb_my
prev_old_pg=$OLD prev_old_my=$OLD
t0=$SECONDS
for ((r = 1; r <= ROUNDS; r++)); do
	rt0=${EPOCHREALTIME/./}
	# Fragment again what the agent has rebuilt, so there is always work.
	if [[ $rb_pg != "$last_pg_oid" ]]; then
		pg_bloat
		last_pg_oid=$rb_pg
	fi
	if [[ $rb_my != "$last_my_tid" ]]; then
		my_frag
		last_my_tid=$rb_my
	fi
	eng=pg
	(((r + r / 10) % 2)) && eng=my
	engines=$eng
	((r % 10 == 9)) && engines="pg my"
	# An engine the round does not run stays as it was.
	cp "$EV/after.pg" "$EV/before.pg"
	cp "$EV/after.my" "$EV/before.my"
	for e in $engines; do seed_$e "$(printf 'tmp_r%03d' "$r")"; done
	records >"$WORK/records.before"
	leftovers >"$WORK/tmp.before"
	# A PostgreSQL table's age counts from when a finished cycle first saw
	# it: for a targeted drop, let one cycle see this round's tables.
	if ((r % 10 == 3)) && [[ $eng == pg ]] && ! planned pg drop_tables; then
		"$DBK_BIN" -c "$CONF" once pg >>"$WORK/agent.out" 2>>"$WORK/agent.err" ||
			fail "round $r: the cycle before the targeted drop failed"
		wait_for 30 planned pg drop_tables || true
		pgq "$EVQ_PG" >"$EV/before.pg"
		records >"$WORK/records.before"
		leftovers >"$WORK/tmp.before"
	fi
	case $((r % 10)) in
	1 | 6) round_purge "$eng" ;;
	3) round_drop "$eng" ;;
	5) round_rebuild "$eng" ;;
	7) round_qwrite "$eng" ;;
	9) round_daemon ;;
	*) round_random "$eng" ;;
	esac
	cp "$EV/before.pg" "$EV/after.pg"
	cp "$EV/before.my" "$EV/after.my"
	for e in $engines; do
		wait_for 60 "after_$e" || fail "round $r: the killed agent's $e session lingers"
	done
	records >"$WORK/records.after"
	leftovers | { grep -vxFf "$WORK/tmp.before" || true; } >"$WORK/tmp.new"
	tmp_new=$(grep -c "^$Q/tmp/" "$WORK/tmp.new" || true)
	state_tmp_new=$(grep -c '\.tmp$' "$WORK/tmp.new" || true)
	if ((KILLED == 0)) && [[ $MODE == "random run" ]]; then
		fail "round $r: the daemon exited by itself with status $RC"
	elif ((KILLED == 0)) && ((RC != 0)); then
		fail "round $r ($MODE): the agent ran to its end but exited $RC"
		tail -n 20 "$WORK/agent.err" >&2
	fi
	set +e
	res=$("$PY" "$AUDIT" round --queue "$Q" --state "$WORK/state" --ev "$EV" \
		--before "$WORK/records.before" --after "$WORK/records.after" \
		--engines "${engines/ /,}" --killed "$KILLED" --tmp-new "$tmp_new" \
		--state-tmp-new "$state_tmp_new" 2>"$WORK/audit.err")
	arc=$?
	set -e
	read -r phase nrec old_pg old_my rb_pg rb_my <<<"$res" || true
	if ((arc != 0)); then
		fail "round $r ($MODE, $phase): $(cat "$WORK/audit.err")"
	fi
	if ((KILLED)); then
		TRIED=$((TRIED + 1))
		((arc == 0)) && SURVIVED=$((SURVIVED + 1))
		key="$MODE: $phase"
		[[ $MODE == "random once"* ]] && key="random once: $phase"
		PHASES[$key]=$((${PHASES[$key]:-0} + 1))
	else
		COMPLETED=$((COMPLETED + 1))
	fi
	# The purge resumes where it stopped: never more rows past retention.
	OLD_NOW=([pg]=$old_pg [my]=$old_my)
	((old_pg <= prev_old_pg && old_my <= prev_old_my)) ||
		fail "round $r: rows past retention grew ($prev_old_pg/$prev_old_my -> $old_pg/$old_my)"
	prev_old_pg=$old_pg prev_old_my=$old_my
	echo "round $r: $MODE -> $phase (old rows pg $old_pg, my $old_my;" \
		"$nrec records; $(((${EPOCHREALTIME/./} - rt0) / 1000)) ms)"
done
echo "rounds took $((SECONDS - t0)) s"
[[ $(ev initial.pg old) -gt $(ev after.pg old) && $(ev initial.my old) -gt $(ev after.my old) ]] &&
	ok "the purges made progress through the kills" || fail "a purge made no progress"

# ---- a clean cycle ----
"$DBK_BIN" -c "$WORK/clean.conf" --json once >"$WORK/clean.json" 2>"$WORK/clean.err"
assert_eq 0 "$?" "the clean cycle exits 0: $(tail -n 5 "$WORK/clean.err")"
evidence after
assert_eq "0 0" "$(ev after.pg old) $(ev after.my old)" "after one clean cycle no row past retention is left"
for e in pg my; do
	assert_eq "$(ev "initial.$e" new)" "$(ev "after.$e" new)" "$e: rows within retention never touched"
	assert_eq "$(ev "initial.$e" decoy)" "$(ev "after.$e" decoy)" "$e: the decoy tables keep their rows"
done
assert_eq 0 "$(pgq "SELECT count(*) FROM pg_index WHERE NOT indisvalid")" \
	"no invalid index is left after one clean cycle"
assert_eq "[]" "$(jq -c '[.[] | select(.status != "finished")]' "$WORK/clean.json")" "the clean cycle finished on both targets"
# A REINDEX CONCURRENTLY killed while it waited leaves its invalid copy;
# a later cycle's observation finds it and drops it.
ccnew=$({ grep -l '"name":"bloat_val_idx_ccnew[0-9]*"' "$Q"/new/*.json || true; } | xargs -r cat |
	jq -s '[.[] | select(.action == "drop_index" and .outcome == "done")] | length')
if ((${PHASES["targeted mid-rebuild pg: mid-rebuild_index"]:-0} > 0)); then
	((ccnew > 0)) && ok "$ccnew invalid *_ccnew copies of killed rebuilds were dropped by later cycles" ||
		fail "no later cycle dropped the invalid copy a killed REINDEX CONCURRENTLY left"
fi

# ---- the whole queue and state ----
total_pg=$(($(ev initial.pg old) - $(ev after.pg old)))
total_my=$(($(ev initial.my old) - $(ev after.my old)))
if "$PY" "$AUDIT" final --queue "$Q" --state "$WORK/state" --marks "$WORK/marks" \
	--deleted "pg=$total_pg,my=$total_my" >"$WORK/final.out" 2>&1; then
	ok "queue and state: every record parses, every action is in the audit trail once"
else
	fail "final audit: $(cat "$WORK/final.out")"
fi
cat "$WORK/final.out"
n_files=$(records | wc -l)
"$DBK_BIN" -c "$CONF" --json queue list >"$WORK/list.json" 2>"$WORK/list.err"
assert_eq 0 "$?" "queue list reads the queue after all the kills"
assert_eq "$n_files" "$(jq length "$WORK/list.json")" "queue list shows every record in new/"
# Leftovers of killed writes in tmp/ are never records; prune removes them
# once they are old.
n_tmp=$(find "$Q/tmp" -type f | wc -l)
echo "queue tmp/ leftovers of killed writes: $n_tmp"
find "$Q/tmp" -type f -exec touch -d '2 hours ago' {} +
dbk -c "$CONF" queue prune
assert_eq 0 "$RC" "queue prune runs: $OUT"
assert_eq 0 "$(find "$Q/tmp" -type f | wc -l)" "prune removed the tmp/ leftovers"
assert_eq "$n_files" "$(records | wc -l)" "and kept every record"

echo "kill points tried: $TRIED, survived: $SURVIVED (rounds $ROUNDS, ran to the end $COMPLETED, seed $SEED)"
for k in "${!PHASES[@]}"; do echo "  ${PHASES[$k]} x $k"; done | LC_ALL=C sort -k3
assert_eq "$TRIED" "$SURVIVED" "every kill point was survived"
((TRIED >= ROUNDS * 3 / 4)) && ok "$TRIED kills in $ROUNDS rounds" || fail "only $TRIED kills in $ROUNDS rounds"
finish

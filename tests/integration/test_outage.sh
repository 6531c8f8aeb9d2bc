#!/usr/bin/env bash
# Outages (issue 8), on a private server pair of this test's own (the
# shared servers are never stopped): `dbkeeper run` keeps going through
#  (a) PostgreSQL stopped in the middle of a purge and started again;
#  (b) a connection cut in the middle of a query by a loopback TCP relay
#      (tests/integration/tcp_relay.py), on both engines;
#  (c) targets that cannot be reached: a host name that does not resolve
#      and a loopback port nobody listens on, on both engines.
# Each failure logs one "cycle failed" error, writes one failed run record
# and is followed by a back-off (retry_backoff doubling up to
# retry_backoff_max, shortened here through those documented settings);
# connection attempts stay within what the back-off allows (never a busy
# loop), the agent never exits, and it recovers by itself when the
# database is back. Prints the number of scenarios passed.
source "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || { echo "FAIL: jq is needed (tests/install-deps.sh)" >&2; exit 1; }
PY=$({ command -v /usr/bin/python3 python3 || true; } | head -n1)
[[ $PY ]] || { echo "FAIL: python3 is needed" >&2; exit 1; }
SERVERS=$DBK_SOURCE_DIR/tests/servers.sh
RELAY=$DBK_SOURCE_DIR/tests/integration/tcp_relay.py
export DBK_SERVERS_DIR=$WORK/servers
APIDS=()
RPIDS=()
BLOCKER_PIDS=()
SCENARIOS=0 PASSED=0
NOT_PASSED=()
# sub_result NAME FAILS_BEFORE [SHARED_FAILS]: one scenario's verdict.
sub_result() {
	SCENARIOS=$((SCENARIOS + 1))
	if ((FAILS == $2 && ${3:-0} == 0)); then
		PASSED=$((PASSED + 1))
	else
		NOT_PASSED+=("$1")
	fi
}

stop_everything() {
	set +e
	local p
	for p in "${APIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for p in "${RPIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	wait 2>/dev/null
	for p in "${BLOCKER_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	bash "$SERVERS" stop >/dev/null 2>&1
	cleanup
}
trap stop_everything EXIT
bash "$SERVERS" start >"$WORK/servers.log" 2>&1 ||
	{ cat "$WORK/servers.log" >&2; echo "FAIL: private servers did not start" >&2; exit 1; }
servers_env
root_flag=; [[ $(id -u) == 0 ]] && root_flag=--allow-root

pg_bindir() {
	local d
	for d in "${DBK_PG_BINDIR:-}" /usr/lib/postgresql/15/bin /usr/pgsql-15/bin "$(pg_config --bindir 2>/dev/null)"; do
		[[ -n $d && -x $d/pg_ctl ]] && { echo "$d"; return; }
	done
	return 1
}
PG_CTL=$(pg_bindir)/pg_ctl
pg_ctl_as_owner() { # pg_ctl refuses root: run it as the cluster's owner
	if ((EUID == 0)); then
		runuser -u "$(stat -c %U "$DBK_PG_DATADIR")" -- "$PG_CTL" "$@"
	else
		"$PG_CTL" "$@"
	fi
}

# ---- configuration ----
mkdir -p "$WORK/policies"
# A purge that lasts: one row per batch and a pause, so a cycle is always
# in the middle of it.
cat >"$WORK/policies/slow.conf" <<'CONF'
budget = { max_run_time = "10m"; lock_timeout = "30s"; statement_timeout = "2m";
           max_replica_lag = "0"; };
log_tables = { dry_run = false; interval = "1s";
               tables = ( { table = "app_log"; time_column = "created_at"; retention = "1d";
                            batch_size = 5; pause = "200ms"; } ); };
statistics = { analyze = false; metrics_interval = "1h"; };
CONF
cat >"$WORK/policies/idle.conf" <<'CONF'
statistics = { analyze = true; interval = "1s"; metrics_interval = "1h"; };
CONF
main_config() { # FILE then target groups on stdin
	{
		cat <<-CONF
		state_dir = "$WORK/state";
		queue_dir = "$WORK/queue";
		policy_dir = "$WORK/policies";
		connect_timeout = "3s";
		retry_backoff = "1s";
		retry_backoff_max = "4s";
		cycle_min_gap = "1s";
		targets = (
		CONF
		sed '$!s/}; }$/}; },/' # a comma between targets, none after the last
		echo ");"
	} >"$1"
}
pg_target() { # NAME POLICY CONNINFO
	echo "  { name = \"$1\"; driver = \"postgres\"; policies = [ \"$2\" ];"
	echo "    connection = { conninfo = \"$3\"; }; }"
}
my_target() { # NAME POLICY HOST PORT DATABASE
	echo "  { name = \"$1\"; driver = \"mysql\"; policies = [ \"$2\" ];"
	echo "    connection = { host = \"$3\"; port = $4; user = \"$DBK_MY_USER\"; database = \"$5\"; }; }"
}
seed_pg() { # DB ROWS
	pg_fresh_db "$1" >/dev/null
	pg "$1" -c "CREATE TABLE app_log (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL)" \
		-c "INSERT INTO app_log (created_at) SELECT now() - interval '30 days' FROM generate_series(1, $2)"
}
seed_my() {
	my_fresh_db "$1"
	my "$1" -e "CREATE TABLE app_log (id BIGINT AUTO_INCREMENT PRIMARY KEY, created_at DATETIME NOT NULL,
		KEY (created_at)); INSERT INTO app_log (created_at) SELECT NOW() - INTERVAL 30 DAY FROM seq_1_to_$2;
		INSERT INTO app_log (created_at) VALUES (NOW())"
}

# The settings are checked like every other: a maximum below the minimum is refused.
main_config "$WORK/bad.conf" </dev/null
sed -i 's/retry_backoff_max = "4s"/retry_backoff_max = "500ms"/' "$WORK/bad.conf"
dbk -c "$WORK/bad.conf" check-config
assert_eq 2 "$RC" "check-config refuses retry_backoff_max = 500ms"
sed -i 's/retry_backoff_max = "500ms"/retry_backoff_max = "1s"; retry_backoff = "2s"/; /^retry_backoff = "1s";$/d' "$WORK/bad.conf"
dbk -c "$WORK/bad.conf" check-config
assert_eq 2 "$RC" "check-config refuses retry_backoff_max below retry_backoff"
assert_contains "$OUT" "retry_backoff_max must not be less than retry_backoff" "and says why"

# ---- reading what the agent said and wrote ----
all_records() { { find "$WORK/queue/reports/new" -name '*.json' -exec cat {} + 2>/dev/null || true; }; }
records_of() { # TARGET STATUS: run records of TARGET with STATUS
	all_records |
		jq -s --arg t "$1" --arg s "$2" '[.[] | select(.kind == "run" and .target == $t and .status == $s)] | length'
}
run_error_of() { # TARGET: the error of its failed run records, one a line
	all_records | jq -rs --arg t "$1" \
		'sort_by(.time_ms) | .[] | select(.kind == "run" and .target == $t and .status == "failed") | .error'
}
log_lines() { # LOG TARGET PATTERN
	{ grep -F -- "target=$2 " "$1" || true; } | { grep -cE -- "$3" || true; }
}
backoffs() { # LOG TARGET: the housekeeping waits in seconds, space-separated
	{ grep -F -- "target=$2 " "$1" || true; } |
		sed -n 's/.*housekeeping: retrying in \([0-9]*\)s.*/\1/p' | tr '\n' ' ' | sed 's/ $//'
}
# The back-off allows at most this many attempts in SECONDS: attempts come
# no closer than 1 s, 2 s, 4 s, 4 s ... after the first.
allowed_attempts() {
	local w=$1 n=1 t=0 b=1
	while ((t + b <= w)); do
		t=$((t + b))
		n=$((n + 1))
		((b < 4)) && b=$((b * 2))
	done
	echo "$n"
}
# wait_agent SECONDS COMMAND...: wait_for COMMAND while the agent lives;
# fails at once when it has exited (it never should).
dead_or() { ! kill -0 "$APID" 2>/dev/null || "$@"; }
wait_agent() {
	local s=$1
	shift
	wait_for "$s" dead_or "$@" && kill -0 "$APID" 2>/dev/null
}
start_daemon() { # CONF LOG
	"$DBK_BIN" -c "$1" $root_flag run 2>"$2" &
	APID=$!
	APIDS+=("$APID")
}
stop_daemon() { # says whether SIGTERM still finds it alive and it exits 0
	local rc
	if kill -0 "$APID" 2>/dev/null; then ok "$1: the agent never exited"; else fail "$1: the agent exited by itself"; fi
	kill -TERM "$APID" 2>/dev/null || true
	set +e
	wait "$APID"
	rc=$?
	set -e
	assert_eq 0 "$rc" "$1: SIGTERM stops the agent with exit 0"
}
# checks_after_failures LOG TARGET WHAT: one error and one failed run
# record per failure, backing off by doubling, attempts within the bound.
checks_after_failures() {
	local log=$1 t=$2 what=$3 failed lines seq window
	failed=$(records_of "$t" failed)
	lines=$(log_lines "$log" "$t" 'error: .*cycle failed: ')
	((failed >= 3)) && ok "$what: $failed failed run records" || fail "$what: only $failed failed run records"
	assert_eq "$failed" "$lines" "$what: one 'cycle failed' error line per failed run record"
	assert_eq 0 "$(log_lines "$log" "$t" 'error: .*(no connection to the server|connection pointer is NULL)')" \
		"$what: no cascade of errors on a dead connection"
	seq=$(backoffs "$log" "$t")
	[[ $seq == "1 2 4"* ]] && ok "$what: back-off doubles: $seq" || fail "$what: back-off is [$seq], not 1 2 4 ..."
	[[ $(tr ' ' '\n' <<<"$seq" | sort -un | tail -n1) == 4 ]] || fail "$what: back-off passed its maximum: $seq"
}

# ---- (a) PostgreSQL stopped in the middle of a cycle, then started ----
scenario_stop_start() {
	local log=$WORK/a.log before window attempts allowed t_down t_up f0=$FAILS
	seed_pg outage_a 3000
	pg_target pga slow "host=$DBK_PG_HOST port=$DBK_PG_PORT user=$DBK_PG_USER dbname=outage_a" |
		main_config "$WORK/a.conf"
	start_daemon "$WORK/a.conf" "$log"
	purging() { [[ $(pg outage_a -Atc "SELECT count(*) FROM pg_stat_activity WHERE
		application_name = 'dbkeeper' AND query LIKE 'DELETE FROM%'") != 0 ]]; }
	wait_agent 60 purging || fail "(a) the purge never started"
	before=$(pg outage_a -Atc "SELECT count(*) FROM app_log")
	t_down=$SECONDS
	pg_ctl_as_owner stop -D "$DBK_PG_DATADIR" -m fast -w >"$WORK/pg_ctl.log" 2>&1 ||
		{ fail "(a) pg_ctl stop failed"; cat "$WORK/pg_ctl.log" >&2; }
	# Down long enough for the back-off to reach its maximum twice.
	four_twice() { [[ $(backoffs "$log" pga) == *"4 4"* ]]; }
	wait_agent 120 four_twice || fail "(a) the back-off never reached 4 s twice: $(backoffs "$log" pga)"
	window=$((SECONDS - t_down + 1))
	attempts=$(log_lines "$log" pga 'cycle failed: ')
	allowed=$(allowed_attempts "$window")
	((attempts <= allowed)) && ok "(a) $attempts connection attempts in ${window}s of outage (back-off allows $allowed)" ||
		fail "(a) $attempts connection attempts in ${window}s (back-off allows $allowed): a busy loop"
	checks_after_failures "$log" pga "(a)"
	assert_contains "$(run_error_of pga | head -n1)" "connection lost" "(a) the first failure says the connection was lost mid-purge"
	assert_contains "$(run_error_of pga | tail -n1)" "cannot connect" "(a) later ones say the server cannot be reached"
	pg_ctl_as_owner start -D "$DBK_PG_DATADIR" -l "$DBK_SERVERS_DIR/pg/restart.log" -w \
		>"$WORK/pg_ctl.log" 2>&1 || { fail "(a) pg_ctl start failed"; cat "$WORK/pg_ctl.log" >&2; }
	t_up=$(date +%s%3N)
	purging_again() { [[ $(pg outage_a -Atc "SELECT count(*) FROM app_log") -lt $before ]] && purging; }
	wait_agent 60 purging_again && ok "(a) the agent came back by itself and purges on" ||
		fail "(a) no purge after the server returned"
	stop_daemon "(a)"
	rec=$(all_records | jq -s --argjson t "$t_up" \
		'[.[] | select(.kind == "run" and .target == "pga" and .time_ms > $t)] | sort_by(.time_ms) | .[-1].status')
	assert_eq '"stopped"' "$rec" "(a) the run after the restart is recorded (stopped by SIGTERM, not failed)"
	sub_result "PostgreSQL stopped mid-purge and started again" "$f0"
}

# ---- (b) a connection cut mid-query, both engines ----
relay_start() { # NAME UPSTREAM_PORT: starts the relay, sets RELAY_PORT_<NAME>
	"$PY" "$RELAY" "$2" "$WORK/relay.$1" &
	RPIDS+=($!)
	eval "RELAY_PID_$1=$!"
	wait_for 30 test -s "$WORK/relay.$1" || fail "relay $1 did not start"
	eval "RELAY_PORT_$1=$(sed 's/^port=\([0-9]*\).*/\1/' "$WORK/relay.$1")"
}
relay_stat() { sed -n "s/.* $2=\([0-9]*\).*/\1/p" "$WORK/relay.$1"; } # NAME FIELD
blocker_start() { # ENGINE DB SQL: holds SQL's locks in an open transaction
	local out=$WORK/blocker.$1
	: >"$out"
	if [[ $1 == pg ]]; then
		exec {fd}> >(pg "$2" -At >"$out" 2>&1)
	else
		exec {fd}> >(my "$2" -N -B -n >"$out" 2>&1)
	fi
	BLOCKER_PIDS+=($!)
	eval "BLOCKER_FD_$1=$fd"
	printf '%s\nSELECT %s;\n' "$3" "'blocker ready'" >&"$fd"
	wait_for 30 grep -q 'blocker ready' "$out" || fail "blocker $1: $(cat "$out")"
}
blocker_stop() { # ENGINE
	local fd
	eval "fd=\$BLOCKER_FD_$1"
	printf 'ROLLBACK;\n' >&"$fd" 2>/dev/null || true
	exec {fd}>&-
}
scenario_cut() {
	local log=$WORK/b.log t f0=$FAILS shared tb
	# Few rows: the cycle after the cut finishes the purge quickly.
	seed_pg outage_b 30
	seed_my outage_b 30
	relay_start pg "$DBK_PG_PORT"
	relay_start my "$DBK_MY_PORT"
	{
		pg_target pgr slow "host=127.0.0.1 port=$RELAY_PORT_pg user=$DBK_PG_USER dbname=outage_b"
		my_target myr slow 127.0.0.1 "$RELAY_PORT_my" outage_b
	} | main_config "$WORK/b.conf"
	# Old rows locked: the agent's DELETE waits in the server, mid-query.
	blocker_start pg outage_b "BEGIN; SELECT count(*) FROM (SELECT id FROM app_log WHERE
		created_at < now() - interval '1 day' FOR UPDATE) x;"
	blocker_start my outage_b "BEGIN; SELECT COUNT(*) FROM app_log WHERE
		created_at < NOW() - INTERVAL 1 DAY FOR UPDATE;"
	start_daemon "$WORK/b.conf" "$log"
	waiting_pg() { [[ $(pg outage_b -Atc "SELECT count(*) FROM pg_stat_activity WHERE application_name
		= 'dbkeeper' AND state = 'active' AND query LIKE 'DELETE FROM%' AND wait_event_type = 'Lock'") != 0 ]]; }
	waiting_my() { [[ $(my outage_b -N -B -e "SELECT COUNT(*) FROM information_schema.PROCESSLIST
		WHERE DB = 'outage_b' AND INFO LIKE 'DELETE FROM%'") != 0 ]]; }
	wait_agent 60 waiting_pg || fail "(b) the PostgreSQL DELETE never waited on the lock"
	wait_agent 60 waiting_my || fail "(b) the MariaDB DELETE never waited on the lock"
	kill -USR1 "$RELAY_PID_pg" "$RELAY_PID_my" || fail "(b) a relay is gone"
	failed_both() { (($(records_of pgr failed) >= 1 && $(records_of myr failed) >= 1)); }
	wait_agent 60 failed_both || fail "(b) no failed run record after the cut"
	blocker_stop pg
	blocker_stop my
	shared=$((FAILS - f0))
	for t in pgr myr; do
		tb=$FAILS
		finished() { (($(records_of "$t" finished) >= 1)); }
		wait_agent 90 finished && ok "(b) $t: the next cycle after the cut finished" ||
			fail "(b) $t: no finished cycle after the cut"
		assert_eq 1 "$(records_of "$t" failed)" "(b) $t: exactly one failed run record"
		assert_eq 1 "$(log_lines "$log" "$t" 'error: .*cycle failed: ')" "(b) $t: one 'cycle failed' error line"
		assert_contains "$(run_error_of "$t")" "connection lost" "(b) $t: the failed run record says the connection was lost"
		assert_eq 0 "$(log_lines "$log" "$t" 'error: .*(no connection to the server|connection pointer is NULL)')" \
			"(b) $t: no cascade of errors on the dead connection"
		assert_eq 1 "$(backoffs "$log" "$t" | wc -w)" "(b) $t: one back-off, then success"
		r=${t%r}
		(($(relay_stat "$r" accepted) >= 2)) && ok "(b) $t: the agent reconnected through the relay" ||
			fail "(b) $t: no new connection after the cut"
		assert_eq 1 "$(relay_stat "$r" cuts)" "(b) $t: the relay cut once"
		eval "tb_$t=\$((FAILS - tb))"
	done
	tb=$FAILS
	stop_daemon "(b)"
	shared=$((shared + FAILS - tb))
	sub_result "connection cut mid-query, PostgreSQL" "$FAILS" "$((shared + tb_pgr))"
	sub_result "connection cut mid-query, MariaDB" "$FAILS" "$((shared + tb_myr))"
}

# ---- (c) unreachable: no such host, nobody listening ----
scenario_unreachable() {
	local log=$WORK/c.log free t window attempts allowed t0 f0=$FAILS shared tb
	declare -A own=()
	free=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	{
		pg_target pgdns idle "host=nonexistent.invalid port=5432 user=x dbname=x"
		pg_target pgport idle "host=127.0.0.1 port=$free user=x dbname=x"
		my_target mydns idle nonexistent.invalid 3306 x
		my_target myport idle 127.0.0.1 "$free" x
	} | main_config "$WORK/c.conf"
	t0=$SECONDS
	start_daemon "$WORK/c.conf" "$log"
	all_backed_off() {
		local t
		for t in pgdns pgport mydns myport; do [[ $(backoffs "$log" "$t") == *"4 4"* ]] || return 1; done
	}
	wait_agent 120 all_backed_off || fail "(c) not every target backed off to 4 s twice"
	window=$((SECONDS - t0 + 1))
	allowed=$(allowed_attempts "$window")
	shared=$((FAILS - f0))
	for t in pgdns pgport mydns myport; do
		tb=$FAILS
		attempts=$(log_lines "$log" "$t" 'cycle failed: ')
		((attempts <= allowed)) && ok "(c) $t: $attempts attempts in ${window}s (back-off allows $allowed)" ||
			fail "(c) $t: $attempts attempts in ${window}s (back-off allows $allowed): a busy loop"
		checks_after_failures "$log" "$t" "(c) $t"
		case $t in
		*dns) assert_contains "$(run_error_of "$t" | head -n1)" "nonexistent.invalid" "(c) $t: the error names the host" ;;
		pgport) assert_contains "$(run_error_of "$t" | head -n1)" "Connection refused" "(c) $t: the error says refused" ;;
		myport) assert_contains "$(run_error_of "$t" | head -n1)" "Can't connect" "(c) $t: the error says it cannot connect" ;;
		esac
		own[$t]=$((FAILS - tb))
	done
	tb=$FAILS
	stop_daemon "(c)"
	shared=$((shared + FAILS - tb))
	sub_result "host does not resolve, PostgreSQL" "$FAILS" "$((shared + own[pgdns]))"
	sub_result "nobody listening, PostgreSQL" "$FAILS" "$((shared + own[pgport]))"
	sub_result "host does not resolve, MariaDB" "$FAILS" "$((shared + own[mydns]))"
	sub_result "nobody listening, MariaDB" "$FAILS" "$((shared + own[myport]))"
}

for s in scenario_stop_start scenario_cut scenario_unreachable; do
	t0=$SECONDS
	echo "---- $s"
	$s
	echo "---- $s took $((SECONDS - t0)) s"
done
echo "outage scenarios passed: $PASSED of $SCENARIOS"
for n in "${NOT_PASSED[@]}"; do echo "  not passed: $n"; done
finish

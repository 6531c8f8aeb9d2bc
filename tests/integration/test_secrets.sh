#!/usr/bin/env bash
# Secrets and privilege. The agent connects to PostgreSQL (over TLS,
# sslmode=verify-full against the test servers' own CA) and MariaDB as the
# least-privilege accounts of packaging/sql/, with known, distinctive
# passwords read from password files (mode 0600). Errors are provoked: a
# wrong database, a wrong password, a wrong CA, a failing action, and
# connections cut mid-purge under the daemon. Then neither password may
# appear anywhere: stdout and stderr of check-config, plan, once and queue
# (text and --json), the daemon's log, the queue records, the state
# directory. Password files readable or writable by others (0640, 0604) are
# refused by check-config and once with exit 2.
source "$(dirname "$0")/lib.sh"
servers_env

if [[ -z ${DBK_PG_SSLROOTCERT:-} ]] ||
	[[ $(pg postgres -Atc "SELECT count(*) FROM pg_roles WHERE rolname = 'dbk_password_users'") != 1 ]]; then
	echo "FAIL: the test servers predate TLS and password roles; restart them: tests/servers.sh stop; tests/servers.sh start" >&2
	exit 1
fi

RUN=$$
DB=fuzz_secrets_$RUN
PG_APP=fuzz_app_$RUN
PG_AGENT=fuzz_agent_$RUN
MY_AGENT=fuzz_agent_$RUN
# Distinctive: nothing else produces these strings by chance.
PW="Fz9sEcReT$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')Qx"
PW_WRONG="Fz9wRoNg$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')Qx"
OUTDIR=$WORK/out
mkdir -p "$OUTDIR"

drop_all() {
	set +e
	[[ -n ${daemon:-} ]] && kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
	pg postgres -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1
	pg postgres -c "DROP ROLE IF EXISTS \"$PG_AGENT\"" -c "DROP ROLE IF EXISTS \"$PG_APP\"" >/dev/null 2>&1
	my mysql -e "DROP USER IF EXISTS '$MY_AGENT'@'127.0.0.1'; DROP DATABASE IF EXISTS \`$DB\`" >/dev/null 2>&1
	cleanup
}
trap drop_all EXIT

# ---- Accounts and data ----
# Old rows: app_log is purged at once; slow_log one row per batch with a
# pause, so the daemon is still purging when its connections are cut;
# bad_log is named with a missing time column, so its purge fails to
# render; app.tmp_foreign is not the agent's to drop, so its drop fails.
pg_fresh_db "$DB"
pg postgres -c "DROP ROLE IF EXISTS \"$PG_APP\"" -c "CREATE ROLE \"$PG_APP\""
pg "$DB" >/dev/null <<SQL
CREATE SCHEMA app AUTHORIZATION "$PG_APP";
SET ROLE "$PG_APP";
CREATE TABLE app.tmp_secret_1 (id int);
CREATE TABLE app.app_log (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE TABLE app.bad_log (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE TABLE app.slow_log (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL);
INSERT INTO app.app_log (created_at) SELECT now() - interval '30 days' FROM generate_series(1, 50);
INSERT INTO app.bad_log (created_at) SELECT now() - interval '30 days' FROM generate_series(1, 50);
INSERT INTO app.slow_log (created_at) SELECT now() - interval '30 days' FROM generate_series(1, 500);
RESET ROLE;
-- Owned by a superuser: the agent's DROP of it fails when it runs.
CREATE TABLE app.tmp_foreign (id int);
SQL
pg "$DB" -v agent="$PG_AGENT" -v app_owner="$PG_APP" -f "$DBK_SOURCE_DIR/packaging/sql/postgres-role.sql" >/dev/null
pg postgres -c "ALTER ROLE \"$PG_AGENT\" PASSWORD '$PW'" -c "GRANT dbk_password_users TO \"$PG_AGENT\"" >/dev/null

my_fresh_db "$DB"
my "$DB" <<SQL
CREATE TABLE tmp_secret_1 (id int PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE app_log (id bigint AUTO_INCREMENT PRIMARY KEY, created_at datetime NOT NULL) ENGINE=InnoDB;
CREATE TABLE bad_log (id bigint AUTO_INCREMENT PRIMARY KEY, created_at datetime NOT NULL) ENGINE=InnoDB;
CREATE TABLE slow_log (id bigint AUTO_INCREMENT PRIMARY KEY, created_at datetime NOT NULL) ENGINE=InnoDB;
INSERT INTO app_log (created_at) SELECT NOW() - INTERVAL 30 DAY FROM seq_1_to_50;
INSERT INTO bad_log (created_at) SELECT NOW() - INTERVAL 30 DAY FROM seq_1_to_50;
INSERT INTO slow_log (created_at) SELECT NOW() - INTERVAL 30 DAY FROM seq_1_to_500;
SQL
for t in app_log bad_log slow_log; do
	my mysql --init-command="SET @app_schema='$DB', @agent_user='$MY_AGENT', @agent_host='127.0.0.1', @agent_password='$PW', @log_table='$t', @server_logs=0" \
		<"$DBK_SOURCE_DIR/packaging/sql/mysql-user.sql" >/dev/null
done

# ---- Password files and configuration ----
printf '%s\n' "$PW" >"$WORK/agent.pw"
printf '%s\n' "$PW_WRONG" >"$WORK/wrong.pw"
chmod 600 "$WORK/agent.pw" "$WORK/wrong.pw"
# A CA the server certificate does not come from.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj "/CN=not the test CA" -keyout "$WORK/wrong-ca.key" -out "$WORK/wrong-ca.crt" >/dev/null 2>&1

mkdir -p "$WORK/policies"
cat >"$WORK/policies/quick.conf" <<'CONF'
scratch_tables = { include = [ "tmp_*" ]; min_age = "1s"; require_idle = false; dry_run = false; };
log_tables = { dry_run = false; tables = (
	{ table = "app_log"; time_column = "created_at"; retention = "1d"; },
	{ table = "bad_log"; time_column = "no_such_column"; retention = "1d"; } ); };
statistics = { analyze = false; metrics_interval = "1h"; };
CONF
cat >"$WORK/policies/slow.conf" <<'CONF'
log_tables = { dry_run = false; tables = (
	{ table = "slow_log"; time_column = "created_at"; retention = "1d"; batch_size = 1; pause = "200ms"; } ); };
statistics = { analyze = false; metrics_interval = "1h"; };
CONF
pg_conninfo() { # dbname [extra]
	echo "host=localhost port=$DBK_PG_PORT user=$PG_AGENT dbname=$1 sslmode=verify-full sslrootcert=${2:-$DBK_PG_SSLROOTCERT}"
}
pg_target() { # name policy dbname password-file [sslrootcert]
	echo "{ name = \"$1\"; driver = \"postgres\"; policies = [ \"$2\" ]; password_file = \"$4\";
	    connection = { conninfo = \"$(pg_conninfo "$3" "${5:-}")\"; }; }"
}
my_target() { # name policy database password-file
	echo "{ name = \"$1\"; driver = \"mysql\"; policies = [ \"$2\" ]; password_file = \"$4\";
	    connection = { host = \"$DBK_MY_HOST\"; port = $DBK_MY_PORT; user = \"$MY_AGENT\"; database = \"$3\"; }; }"
}
write_config() { # file policy with-error-targets(yes/no)
	local targets=("$(pg_target pg "$2" "$DB" "$WORK/agent.pw")"
		"$(my_target my "$2" "$DB" "$WORK/agent.pw")")
	if [[ $3 == yes ]]; then
		targets+=("$(pg_target pg_baddb "$2" "nosuch_$RUN" "$WORK/agent.pw")"
			"$(pg_target pg_badpw "$2" "$DB" "$WORK/wrong.pw")"
			"$(pg_target pg_wrongca "$2" "$DB" "$WORK/agent.pw" "$WORK/wrong-ca.crt")"
			"$(my_target my_baddb "$2" "nosuch_$RUN" "$WORK/agent.pw")"
			"$(my_target my_badpw "$2" "$DB" "$WORK/wrong.pw")")
	fi
	{
		echo "state_dir = \"$WORK/state\";"
		echo "queue_dir = \"$WORK/queue\";"
		echo "policy_dir = \"$WORK/policies\";"
		echo "targets = ("
		local IFS=,
		echo "${targets[*]}"
		echo ");"
	} >"$1"
}
write_config "$WORK/dbkeeper.conf" quick yes
write_config "$WORK/daemon.conf" slow no
CONF=$WORK/dbkeeper.conf

# Runs dbkeeper with -v, keeping stdout and stderr in $OUTDIR/NAME.{out,err}.
n_runs=0
run() { # name args...
	local name=$1; shift
	set +e
	"$DBK_BIN" -v -c "$CONF" "$@" >"$OUTDIR/$name.out" 2>"$OUTDIR/$name.err"
	RC=$?
	set -e
	OUT=$(cat "$OUTDIR/$name.out" "$OUTDIR/$name.err")
	n_runs=$((n_runs + 1))
}

# ---- Every command, with the errors ----
run check-config check-config
assert_eq 0 "$RC" "check-config accepts 0600 password files"
run check-config-json --json check-config
run plan plan
assert_eq 2 "$(grep -c '^observed:' "$OUTDIR/plan.out")" "plan reached both servers (PostgreSQL over TLS)"
run plan-json --json plan
run once once
assert_eq 3 "$RC" "once with failing targets exits 3"
assert_contains "$OUT" "nosuch_$RUN" "wrong database reported"
assert_contains "$OUT" "password authentication failed" "wrong PostgreSQL password reported"
assert_contains "$OUT" "Access denied" "wrong MariaDB password or database reported"
assert_contains "$OUT" "certificate verify failed" "a wrong CA fails verify-full with a clear error"
assert_contains "$OUT" "no_such_column" "the failing action is reported"
# The drops need min_age (1s) since the first once saw the tables.
past() { (($(date +%s) > $1)); }
wait_for 10 past $(($(date +%s) + 1))
run once-json --json once
assert_contains "$OUT" "tmp_foreign: permission denied" "an action failing on the server is reported"
run once-pg once pg
run once-my once my
run plan-tls plan pg
assert_eq 0 "$RC" "verify-full with the test CA connects"
# The least-privilege accounts' granted actions succeed: the scratch
# table the app role owns is dropped and the log table purged (MySQL
# keeps the row with the highest AUTO_INCREMENT value, by design).
assert_eq t "$(pg "$DB" -Atc "SELECT to_regclass('app.tmp_secret_1') IS NULL")" \
	"PostgreSQL: the least-privilege role dropped the app's scratch table"
assert_eq 0 "$(pg "$DB" -Atc "SELECT count(*) FROM app.app_log")" \
	"PostgreSQL: the least-privilege role purged the log table"
assert_eq 0 "$(my "$DB" -N -e "SELECT COUNT(*) FROM information_schema.TABLES
	WHERE TABLE_SCHEMA = '$DB' AND TABLE_NAME = 'tmp_secret_1'")" \
	"MariaDB: the least-privilege user dropped the scratch table"
assert_eq 1 "$(my "$DB" -N -e "SELECT COUNT(*) FROM app_log")" \
	"MariaDB: the least-privilege user purged the log table"

# ---- The daemon, with its connections cut mid-purge ----
q=$WORK/queue/reports/new
root_flag=; [[ $(id -u) == 0 ]] && root_flag=--allow-root
"$DBK_BIN" -v -c "$WORK/daemon.conf" $root_flag run 2>"$OUTDIR/daemon.log" >"$OUTDIR/daemon.out" &
daemon=$!
pg_purging() { [[ $(pg "$DB" -Atc "SELECT count(*) FROM app.slow_log") -lt 495 ]]; }
my_purging() { [[ $(my "$DB" -N -B -e "SELECT COUNT(*) FROM slow_log") -lt 495 ]]; }
wait_for 120 pg_purging && ok "daemon purges on PostgreSQL" || fail "no purge on PostgreSQL"
wait_for 120 my_purging && ok "daemon purges on MariaDB" || fail "no purge on MariaDB"
ssl=$(pg postgres -Atc "SELECT string_agg(DISTINCT s.ssl::text, ',') FROM pg_stat_ssl s
	JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'dbkeeper' AND a.usename = '$PG_AGENT'")
assert_eq true "$ssl" "pg_stat_ssl: the agent's connections use TLS"
pg postgres -Atc "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '$PG_AGENT'" >/dev/null
for id in $(my mysql -N -B -e "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = '$MY_AGENT'"); do
	my mysql -e "KILL CONNECTION $id" 2>/dev/null || true
done
failed_purge() { # target
	grep -l '"outcome":"failed"' "$q"/*.json 2>/dev/null | xargs -r grep -l "\"target\":\"$1\"" |
		xargs -r grep -qF slow_log
}
wait_for 120 failed_purge pg && ok "lost PostgreSQL connection: failed action recorded" ||
	fail "no failed purge record for pg"
wait_for 120 failed_purge my && ok "lost MariaDB connection: failed action recorded" ||
	fail "no failed purge record for my"
kill -TERM "$daemon"
set +e; wait "$daemon"; rc=$?; set -e
daemon=
assert_eq 0 "$rc" "daemon stops cleanly"

run queue-list queue list
run queue-list-json --json queue list
ids=$(python3 -c 'import json,sys; print(" ".join(r["id"] for r in json.load(sys.stdin)))' \
	<"$OUTDIR/queue-list-json.out" || true)
if [[ -n $ids ]]; then
	# shellcheck disable=SC2086 # ids are plain file names
	run queue-show --json queue show $ids
fi

# ---- Loose password files are refused ----
for mode in 640 604; do
	chmod "$mode" "$WORK/agent.pw"
	run "check-config-$mode" check-config
	assert_eq 2 "$RC" "check-config refuses a password file of mode 0$mode"
	assert_contains "$OUT" "mode 0$mode" "and says which mode"
	run "once-$mode" once pg
	assert_eq 2 "$RC" "once refuses a password file of mode 0$mode"
	chmod 600 "$WORK/agent.pw"
done

# ---- Nothing anywhere holds a password ----
records=$(find "$WORK/queue" -type f | wc -l)
((records >= 20)) && ok "$records queue files to search" || fail "only $records queue files: the test proves little"
[[ -s $OUTDIR/daemon.log ]] && ok "daemon log to search" || fail "empty daemon log"
for secret in "$PW" "$PW_WRONG"; do
	hits=$(grep -rlaF --exclude=agent.pw --exclude=wrong.pw -- "$secret" "$WORK" || true)
	assert_eq "" "$hits" "no file holds the password (searched $n_runs outputs, the queue, the state, the daemon log)"
done
hits=$(grep -rlai -- 'password=' "$OUTDIR" "$WORK/queue" "$WORK/state" || true)
assert_eq "" "$hits" "no connection string with a password anywhere"
finish

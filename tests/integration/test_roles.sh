#!/usr/bin/env bash
# The least-privilege database accounts of packaging/sql/: each script runs
# (twice: it must be idempotent) on a fresh database of the test servers,
# refuses bad parameters, and the account it makes can do every operation
# the drivers perform, on the objects it was granted, and nothing outside
# its grants. Roles and users get per-run names (they are server-wide) and
# are dropped at the end.
source "$(dirname "$0")/lib.sh"
servers_env

SQL=$DBK_SOURCE_DIR/packaging/sql
RUN=$$
PG_DB=dbk_roles_$RUN
PG_AGENT=dbk_agent_$RUN     # the role the script makes
PG_APP=dbk_app_$RUN         # owns the application's tables
PG_OTHER=dbk_other_$RUN     # owns tables the agent must not touch
MY_DB=dbk_roles_$RUN
MY_OTHER_DB=dbk_roles_other_$RUN
MY_AGENT=dbk_agent_$RUN
MY_PW=pw-$RUN

drop_all() {
	set +e
	pg postgres -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1
	for r in "$PG_AGENT" "$PG_APP" "$PG_OTHER"; do
		pg postgres -c "DROP ROLE IF EXISTS \"$r\"" >/dev/null 2>&1
	done
	my mysql -e "DROP USER IF EXISTS '$MY_AGENT'@'127.0.0.1', '${MY_AGENT}_nolog'@'127.0.0.1';
		DROP DATABASE IF EXISTS \`$MY_DB\`; DROP DATABASE IF EXISTS \`$MY_OTHER_DB\`" >/dev/null 2>&1
	cleanup
}
trap drop_all EXIT

# Runs SQL as the agent's role; output in $OUT, status in $RC.
pg_agent() {
	set +e
	OUT=$(PGCONNECT_TIMEOUT=10 psql -X -q -At -v ON_ERROR_STOP=1 -h "$DBK_PG_HOST" \
		-p "$DBK_PG_PORT" -U "$PG_AGENT" -d "$PG_DB" -c "$1" 2>&1)
	RC=$?
	set -e
}
my_agent() { # [user] SQL
	local user=$MY_AGENT
	(($# == 2)) && { user=$1; shift; }
	set +e
	OUT=$(MYSQL_PWD=$MY_PW mariadb --protocol=TCP -h "$DBK_MY_HOST" -P "$DBK_MY_PORT" \
		-u "$user" --connect-timeout=10 -N -B -e "$1" 2>&1)
	RC=$?
	set -e
}
can() { # what RC-setter... : the operation must succeed
	local what=$1; shift
	"$@"
	if ((RC == 0)); then ok "can $what"; else fail "cannot $what: $OUT"; fi
}
cannot() { # what pattern RC-setter...: must fail with an error matching pattern
	local what=$1 pattern=$2; shift 2
	"$@"
	if ((RC != 0)) && grep -qiE -- "$pattern" <<<"$OUT"; then
		ok "cannot $what"
	else
		fail "$what: expected an error matching /$pattern/, got status $RC: $OUT"
	fi
}

# ---------------------------------------------------------------- PostgreSQL
echo "# PostgreSQL"
pg_fresh_db "$PG_DB"
pg postgres -c "CREATE ROLE \"$PG_APP\"" -c "CREATE ROLE \"$PG_OTHER\""
pg "$PG_DB" <<SQL
CREATE SCHEMA app AUTHORIZATION "$PG_APP";
CREATE SCHEMA logs AUTHORIZATION "$PG_OTHER";
CREATE SCHEMA other AUTHORIZATION "$PG_OTHER";
SET ROLE "$PG_APP";
CREATE TABLE app.tmp_import (id int);
CREATE TABLE app.orders (id int PRIMARY KEY, v int);
INSERT INTO app.orders SELECT g, g % 100 FROM generate_series(1, 2000) g;
CREATE INDEX orders_v ON app.orders (v);
CREATE INDEX orders_v_old ON app.orders (v, id);
RESET ROLE;
SET ROLE "$PG_OTHER";
CREATE TABLE logs.app_log (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL, msg text);
INSERT INTO logs.app_log (created_at, msg)
  SELECT now() - g * interval '1 day' + interval '1 hour', 'row ' || g
  FROM generate_series(0, 59) g;
CREATE TABLE logs.tmp_foreign (id int);
CREATE TABLE other.tmp_scratch (id int);
RESET ROLE;
SQL

apply_pg() { # psql -v args...
	set +e
	OUT=$(pg "$PG_DB" -v agent="$PG_AGENT" "$@" -f "$SQL/postgres-role.sql" 2>&1)
	RC=$?
	set -e
}
apply_pg -v app_owner="$PG_APP" -v log_tables=logs.app_log
assert_eq 0 "$RC" "postgres-role.sql runs: $OUT"
apply_pg -v app_owner="$PG_APP" -v log_tables=logs.app_log
assert_eq 0 "$RC" "postgres-role.sql runs again (idempotent): $OUT"
cannot "make the role a member of a superuser" "refusing" apply_pg -v app_owner="$DBK_PG_USER"
cannot "make the role a member of a missing role" "does not exist" apply_pg -v app_owner="nosuch_$RUN"
cannot "grant on a missing log table" "does not exist" apply_pg -v log_tables=logs.nosuch

attrs=$(pg postgres -At -c "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = '$PG_AGENT'")
assert_eq "t|f|f|f" "$attrs" "the role logs in and has no special attributes"

# Observation, as the drivers do it.
can "read pg_class" pg_agent "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'app'"
assert_eq 5 "$OUT" "sees the app schema's 2 tables and 3 indexes"
can "read pg_stat_user_tables" pg_agent "SELECT count(*) FROM pg_catalog.pg_stat_user_tables WHERE schemaname IN ('app', 'logs', 'other')"
assert_eq 5 "$OUT" "pg_stat_user_tables shows every table, its own or not"
can "take the advisory lock" pg_agent "SELECT pg_catalog.pg_try_advisory_lock(4242)"
assert_eq t "$OUT" "advisory lock granted"
can "list server logs (pg_ls_logdir)" pg_agent "SELECT count(*) >= 0 FROM pg_catalog.pg_ls_logdir()"
can "ask for the current log file" pg_agent "SELECT pg_catalog.pg_current_logfile('stderr') IS NOT NULL"
can "read log_directory and data_directory" pg_agent "SELECT pg_catalog.current_setting('log_directory') || pg_catalog.current_setting('data_directory')"
can "check its monitoring roles" pg_agent "SELECT pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE') AND pg_catalog.pg_has_role('pg_read_all_settings', 'USAGE') AND pg_catalog.pg_has_role('pg_stat_scan_tables', 'USAGE')"
assert_eq t "$OUT" "pg_read_all_stats, pg_read_all_settings, pg_stat_scan_tables through pg_monitor"
can "read replication lag" pg_agent "SELECT coalesce(max(extract(epoch FROM r.replay_lag)), 0) FROM pg_catalog.pg_stat_replication r"
can "read the database size" pg_agent "SELECT pg_catalog.pg_database_size(pg_catalog.current_database()) > 0"
nsp=$(pg "$PG_DB" -At -c "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pgstattuple'")
if [[ $nsp ]]; then
	can "estimate bloat (pgstatindex)" pg_agent "SELECT avg_leaf_density > 0 FROM \"$nsp\".pgstatindex('app.orders_v'::regclass)"
fi
nsp=$(pg "$PG_DB" -At -c "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'")
if [[ $nsp ]]; then
	can "read pg_stat_statements" pg_agent "SELECT count(*) >= 0 FROM \"$nsp\".pg_stat_statements"
fi

# Actions on the application's objects.
can "set lock and statement timeouts" pg_agent "SET lock_timeout = '5s'; SET statement_timeout = '10min'"
can "lock and DROP TABLE a scratch table of the app role" pg_agent "BEGIN; LOCK TABLE app.tmp_import IN ACCESS EXCLUSIVE MODE NOWAIT; DROP TABLE app.tmp_import; COMMIT"
gone=$(pg "$PG_DB" -At -c "SELECT to_regclass('app.tmp_import') IS NULL")
assert_eq t "$gone" "the scratch table is gone"
can "REINDEX INDEX CONCURRENTLY" pg_agent "REINDEX INDEX CONCURRENTLY app.orders_v"
can "DROP INDEX CONCURRENTLY" pg_agent "DROP INDEX CONCURRENTLY IF EXISTS app.orders_v_old"
can "ANALYZE an application table" pg_agent "ANALYZE app.orders"
analyzed=$(pg "$PG_DB" -At -c "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relid = 'app.orders'::regclass")
assert_eq t "$analyzed" "ANALYZE took effect"
can "DELETE old rows of a granted log table (ctid batches)" pg_agent "WITH d AS (DELETE FROM logs.app_log WHERE ctid = ANY (ARRAY(SELECT ctid FROM logs.app_log WHERE created_at < now() - interval '30 days' LIMIT 5000)) AND created_at < now() - interval '30 days' RETURNING 1) SELECT count(*) FROM d"
assert_eq 29 "$OUT" "29 rows older than 30 days deleted"

# And nothing outside its grants.
cannot "DROP a table owned by another role" "must be owner" pg_agent "DROP TABLE logs.tmp_foreign"
cannot "DROP a table in another role's schema" "must be owner|permission denied" pg_agent "DROP TABLE other.tmp_scratch"
cannot "INSERT into the log table" "permission denied" pg_agent "INSERT INTO logs.app_log (created_at, msg) VALUES (now(), 'x')"
cannot "TRUNCATE the log table" "permission denied" pg_agent "TRUNCATE logs.app_log"
cannot "create a database" "permission denied" pg_agent "CREATE DATABASE \"x_$RUN\""
pg_agent "ANALYZE logs.tmp_foreign"
assert_contains "$OUT" "only table or database owner can analyze" "ANALYZE of another role's table is skipped"
pg_agent "SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname = '$PG_OTHER' AND pg_catalog.pg_has_role('$PG_AGENT', oid, 'USAGE')"
assert_eq 0 "$OUT" "no rights of the other role"

# ---------------------------------------------------------- MySQL / MariaDB
echo "# MySQL/MariaDB"
my mysql -e "DROP DATABASE IF EXISTS \`$MY_DB\`; CREATE DATABASE \`$MY_DB\`;
	DROP DATABASE IF EXISTS \`$MY_OTHER_DB\`; CREATE DATABASE \`$MY_OTHER_DB\`"
orders_rows=$(seq 1 500 | awk '{ printf "%s(%d,%d)", (NR > 1 ? "," : ""), $1, $1 % 100 }')
log_rows=$(seq 0 59 | awk '{ printf "%s(NOW() - INTERVAL %d DAY + INTERVAL 1 HOUR, \"row %d\")",
	(NR > 1 ? "," : ""), $1, $1 }')
my "$MY_DB" <<SQL
CREATE TABLE tmp_import (id int PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE orders (id int PRIMARY KEY, v int, KEY orders_v (v), KEY orders_v_old (v, id)) ENGINE=InnoDB;
INSERT INTO orders VALUES $orders_rows;
CREATE TABLE app_log (id bigint AUTO_INCREMENT PRIMARY KEY, created_at datetime NOT NULL,
  msg varchar(100), KEY (created_at)) ENGINE=InnoDB;
INSERT INTO app_log (created_at, msg) VALUES $log_rows;
CREATE TABLE \`$MY_OTHER_DB\`.tmp_scratch (id int) ENGINE=InnoDB;
SQL

apply_my() { # init SQL
	set +e
	OUT=$(my mysql --init-command="$1" <"$SQL/mysql-user.sql" 2>&1)
	RC=$?
	set -e
}
# TCP from 127.0.0.1 with skip-name-resolve: the account's host is 127.0.0.1.
init="SET @app_schema='$MY_DB', @agent_user='$MY_AGENT', @agent_host='127.0.0.1', @agent_password='$MY_PW'"
apply_my "$init, @log_table='app_log'"
assert_eq 0 "$RC" "mysql-user.sql runs: $OUT"
apply_my "$init, @log_table='$MY_DB.app_log'"
assert_eq 0 "$RC" "mysql-user.sql runs again (idempotent): $OUT"
cannot "run without @app_schema" "set @app_schema" apply_my "SET @agent_user='$MY_AGENT'"
cannot "grant on a missing schema" "set @app_schema" apply_my "SET @app_schema='nosuch_$RUN'"

is_mariadb=$(my mysql -N -B -e "SELECT VERSION() LIKE '%MariaDB%'")
# Observation.
can "read information_schema" my_agent "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$MY_DB'"
assert_eq 3 "$OUT" "sees the schema's tables"
can "take the GET_LOCK" my_agent "SELECT GET_LOCK('dbkeeper.$MY_DB', 0)"
assert_eq 1 "$OUT" "GET_LOCK granted"
# Another session, as a schema-change tool would be: PROCESS shows it.
my mysql -e "SELECT SLEEP(120) AS dbk_roles_$RUN" >/dev/null 2>&1 &
sleeper=$!
other_session() {
	[[ $(my mysql -N -B -e "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%AS dbk_roles_$RUN'") == 1 ]]
}
wait_for 30 other_session || fail "the other session did not show up"
can "see other sessions (PROCESSLIST)" my_agent "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%AS dbk_roles_$RUN' AND USER <> '$MY_AGENT'"
assert_eq 1 "$OUT" "another user's session is visible"
sid=$(my mysql -N -B -e "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE '%AS dbk_roles_$RUN'")
[[ -z $sid ]] || my mysql -e "KILL $sid" >/dev/null 2>&1 || true
wait "$sleeper" 2>/dev/null || true
if ((is_mariadb)); then
	can "read InnoDB tablespaces" my_agent "SELECT COUNT(*) > 0 FROM information_schema.INNODB_SYS_TABLESPACES"
	can "check replication status" my_agent "SHOW ALL SLAVES STATUS"
else
	can "read InnoDB tablespaces" my_agent "SELECT COUNT(*) > 0 FROM information_schema.INNODB_TABLESPACES"
	can "check replication status" my_agent "SHOW REPLICA STATUS"
fi
can "read InnoDB metrics" my_agent "SELECT COUNT(*) > 0 FROM information_schema.INNODB_METRICS"
can "read performance_schema" my_agent "SELECT COUNT(*) >= 0 FROM performance_schema.table_io_waits_summary_by_table"
can "read statistics timestamps" my_agent "SELECT COUNT(*) >= 0 FROM mysql.innodb_table_stats WHERE database_name = '$MY_DB'"
can "read index sizes" my_agent "SELECT COUNT(*) >= 0 FROM mysql.innodb_index_stats WHERE database_name = '$MY_DB'"
can "read global status and variables" my_agent "SHOW GLOBAL STATUS LIKE 'Uptime'"
can "list replicas (SHOW SLAVE HOSTS)" my_agent "SHOW SLAVE HOSTS"
can "SHOW BINARY LOGS" my_agent "SHOW BINARY LOGS"
oldest=$(head -n1 <<<"$OUT" | cut -f1)

# Actions.
can "DROP TABLE a scratch table" my_agent "DROP TABLE \`$MY_DB\`.tmp_import"
can "rebuild online (ALTER TABLE ... FORCE, ALGORITHM=INPLACE, LOCK=NONE)" \
	my_agent "ALTER TABLE \`$MY_DB\`.orders FORCE, ALGORITHM=INPLACE, LOCK=NONE"
can "DROP INDEX" my_agent "DROP INDEX orders_v_old ON \`$MY_DB\`.orders"
can "ANALYZE TABLE" my_agent "ANALYZE TABLE \`$MY_DB\`.orders"
if grep -q "status.*OK" <<<"$OUT"; then ok "ANALYZE TABLE reports OK"; else fail "ANALYZE TABLE: $OUT"; fi
can "DELETE old rows of the log table" my_agent "DELETE FROM \`$MY_DB\`.app_log WHERE created_at < NOW() - INTERVAL 30 DAY ORDER BY id LIMIT 5000; SELECT ROW_COUNT()"
assert_eq 29 "$OUT" "29 rows older than 30 days deleted"
# Purging up to the oldest file removes nothing, yet needs the privilege.
[[ $oldest ]] || fail "no binary log listed"
can "PURGE BINARY LOGS" my_agent "PURGE BINARY LOGS TO '$oldest'"

# And nothing outside its grants.
cannot "DROP a table in another schema" "denied" my_agent "DROP TABLE \`$MY_OTHER_DB\`.tmp_scratch"
cannot "read another schema" "denied" my_agent "SELECT * FROM \`$MY_OTHER_DB\`.tmp_scratch"
cannot "DELETE from a table that is not a log table" "denied" my_agent "DELETE FROM \`$MY_DB\`.orders WHERE id = 1"
cannot "UPDATE application data" "denied" my_agent "UPDATE \`$MY_DB\`.orders SET v = 0 WHERE id = 1"
cannot "create users" "denied" my_agent "CREATE USER 'x_$RUN'@'localhost'"
cannot "read the mysql.user table" "denied" my_agent "SELECT COUNT(*) FROM mysql.user"
if ((is_mariadb)); then
	cannot "CREATE TABLE (MariaDB needs no CREATE for ALTER TABLE)" "denied" \
		my_agent "CREATE TABLE \`$MY_DB\`.evil (id int)"
fi

# @server_logs = 0: no binary log privileges.
apply_my "SET @app_schema='$MY_DB', @agent_user='${MY_AGENT}_nolog', @agent_host='127.0.0.1', @agent_password='$MY_PW', @server_logs=0"
assert_eq 0 "$RC" "mysql-user.sql with @server_logs=0 runs: $OUT"
cannot "SHOW BINARY LOGS without @server_logs" "denied" my_agent "${MY_AGENT}_nolog" "SHOW BINARY LOGS"
cannot "PURGE BINARY LOGS without @server_logs" "denied" my_agent "${MY_AGENT}_nolog" "PURGE BINARY LOGS TO '$oldest'"

finish

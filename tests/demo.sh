#!/usr/bin/env bash
# The README demo: scratch PostgreSQL and MariaDB servers, a small messy
# database on each, then `dbkeeper plan` (what would happen, and why) and
# `dbkeeper once` (doing it), the report queue, and what is left.
# Usage: tests/demo.sh BUILD_DIR   (DBK_DEMO_KEEP=1 leaves servers running)
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
bin=$build/dbkeeper
export DBKEEPER_DRIVER_DIR=$build/drivers
export DBK_SERVERS_DIR=${DBK_SERVERS_DIR:-${TMPDIR:-/tmp}/dbkeeper-demo-servers}
work=$(mktemp -d "${TMPDIR:-/tmp}/dbkeeper-demo.XXXXXX")
chmod 755 "$work"

finish() {
	if [[ -z ${DBK_DEMO_KEEP:-} ]]; then
		bash "$src/tests/servers.sh" stop >/dev/null 2>&1 || true
		rm -rf "$work"
	else
		echo "servers left running; demo files in $work"
	fi
}
trap finish EXIT
say() { printf '\n\033[1m### %s\033[0m\n' "$*"; }

say "starting scratch servers (PostgreSQL 15, MariaDB) on loopback"
bash "$src/tests/servers.sh" start >/dev/null
eval "$(bash "$src/tests/servers.sh" env)"

say "seeding a messy database 'shop' on each"
# The seeds' output goes to a log: one CREATE UNIQUE INDEX CONCURRENTLY in
# the PostgreSQL seed fails on purpose, leaving the invalid index to clean.
psql -X -q -h "$DBK_PG_HOST" -p "$DBK_PG_PORT" -U "$DBK_PG_USER" -d postgres \
	-c 'DROP DATABASE IF EXISTS shop WITH (FORCE)' -c 'CREATE DATABASE shop' >"$work/seed.log" 2>&1
psql -X -q -h "$DBK_PG_HOST" -p "$DBK_PG_PORT" -U "$DBK_PG_USER" -d shop \
	-f "$src/tests/integration/seed_pg.sql" >>"$work/seed.log" 2>&1
mariadb --protocol=TCP -h "$DBK_MY_HOST" -P "$DBK_MY_PORT" -u "$DBK_MY_USER" \
	-e 'DROP DATABASE IF EXISTS shop; CREATE DATABASE shop CHARACTER SET utf8mb4'
mariadb --protocol=TCP -h "$DBK_MY_HOST" -P "$DBK_MY_PORT" -u "$DBK_MY_USER" shop \
	<"$src/tests/integration/seed_my.sql" >>"$work/seed.log"
echo "scratch tables, decoys (temperature, template_pages, tmpl_pages), hostile names,"
echo "a log table with 180 days of rows, a bloated index, an invalid index, a duplicate index"

# The demo policy is the shipped one with its destructive parts switched on
# and a minimum age of two seconds instead of a week, so the demo shows the
# real safety rule at work: PostgreSQL cannot tell when a table was created,
# so its age counts from when dbkeeper first saw it, and a table must have
# seen no writes between two observations before it may be dropped.
mkdir -p "$work/policies"
cp "$src/policies/rules-postgres.conf" "$src/policies/rules-mysql.conf" "$work/policies/"
cat >"$work/policies/demo.conf" <<'CONF'
budget = { max_run_time = "10m"; lock_timeout = "2s"; statement_timeout = "5m"; };
scratch_tables = {
  dry_run = false;
  include = [ "tmp_*", "temp_*", "scratch_*", "*_bak_[0-9]*", "*_backup_[0-9]*", "*_old_[0-9]*" ];
  min_age = "2s"; require_idle = true; tool_leftovers = true;
};
log_tables = { dry_run = false;
  tables = ( { table = "app_log"; time_column = "created_at"; retention = "90d";
               batch_size = 10000; pause = "10ms"; } ); };
indexes = { dry_run = false; min_size = "1MB"; min_bloat = 30; drop_invalid = true; };
statistics = { analyze = true; stale_ratio = 0.1; stale_min_rows = 100; };
CONF
cat >"$work/dbkeeper.conf" <<CONF
state_dir = "$work/state";
policy_dir = "$work/policies";
targets = (
  { name = "shop-pg"; driver = "postgres"; policies = [ "demo", "rules-postgres" ];
    connection = { conninfo = "host=$DBK_PG_HOST port=$DBK_PG_PORT user=$DBK_PG_USER dbname=shop"; }; },
  { name = "shop-my"; driver = "mysql"; policies = [ "demo", "rules-mysql" ];
    connection = { host = "$DBK_MY_HOST"; port = $DBK_MY_PORT; user = "$DBK_MY_USER"; database = "shop"; }; }
);
CONF

say "dbkeeper check-config"
"$bin" -c "$work/dbkeeper.conf" check-config
say "dbkeeper plan   (first look: changes nothing, not even remembered state)"
"$bin" -c "$work/dbkeeper.conf" plan
say "dbkeeper once   (runs exactly what plan showed; remembers each table as first seen now)"
status=0
"$bin" -c "$work/dbkeeper.conf" once || status=$?
sleep 3 # the demo policy's min_age is 2s
say "dbkeeper plan   (second look: scratch tables are now old enough and idle)"
"$bin" -c "$work/dbkeeper.conf" plan
say "dbkeeper once"
"$bin" -c "$work/dbkeeper.conf" once || status=$?
say "dbkeeper tune shop-pg   (the engineer's tuning report: findings, evidence, remedies)"
"$bin" -c "$work/dbkeeper.conf" tune shop-pg || status=$?
say "dbkeeper queue list   (the report queue)"
"$bin" -c "$work/dbkeeper.conf" queue list
say "tables left in PostgreSQL (decoys and the real tables survive)"
psql -X -h "$DBK_PG_HOST" -p "$DBK_PG_PORT" -U "$DBK_PG_USER" -d shop -c \
	"SELECT schemaname AS schema, tablename AS table FROM pg_tables
	 WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
say "tables left in MariaDB"
mariadb --protocol=TCP -h "$DBK_MY_HOST" -P "$DBK_MY_PORT" -u "$DBK_MY_USER" shop -e 'SHOW TABLES'
exit "$status"

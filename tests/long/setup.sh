# tests/long/setup.sh: the scenario of the long runs, shared by
# tests/integration/test_long_run.sh and bench/rss_bench.sh. Sourced, not
# run; needs the servers' environment (tests/servers.sh env).
#
#   long_setup DIR DBNAME   databases DBNAME on both servers, DIR/dbkeeper.conf
#   long_teardown DBNAME    drops them
#
# Every task is on and in dry run (statistics too), so each cycle observes,
# plans, renders and reports the same actions and changes nothing.

long_pg() { # db psql-args...
	local db=$1; shift
	PGCONNECT_TIMEOUT=10 psql -X -q -v ON_ERROR_STOP=1 -h "$DBK_PG_HOST" -p "$DBK_PG_PORT" \
		-U "$DBK_PG_USER" -d "$db" "$@"
}
long_my() { # db mariadb-args...
	local db=$1; shift
	mariadb --protocol=TCP -h "$DBK_MY_HOST" -P "$DBK_MY_PORT" -u "$DBK_MY_USER" \
		--connect-timeout=10 "$db" "$@"
}

long_setup() {
	local dir=$1 db=$2
	LONG_DB=$db
	long_pg postgres -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" -c "CREATE DATABASE \"$db\"" >/dev/null
	long_pg "$db" >/dev/null <<-'SQL'
		CREATE TABLE tmp_long_1 (id int);
		CREATE TABLE tmp_long_2 (id int);
		CREATE TABLE "tmp_long_`; DROP TABLE x;--" (id int);
		CREATE TABLE app_log (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL);
		INSERT INTO app_log (created_at) SELECT now() - interval '30 days' FROM generate_series(1, 100);
		CREATE TABLE orders (id int PRIMARY KEY, v int);
		INSERT INTO orders SELECT g, g % 10 FROM generate_series(1, 5000) g;
		CREATE INDEX orders_v ON orders (v);
		ANALYZE;
		UPDATE orders SET v = v + 1 WHERE id <= 2000;
	SQL
	long_my mysql -e "DROP DATABASE IF EXISTS \`$db\`; CREATE DATABASE \`$db\` CHARACTER SET utf8mb4"
	long_my "$db" <<-'SQL'
		CREATE TABLE tmp_long_1 (id int PRIMARY KEY) ENGINE=InnoDB;
		CREATE TABLE tmp_long_2 (id int PRIMARY KEY) ENGINE=InnoDB;
		CREATE TABLE app_log (id bigint AUTO_INCREMENT PRIMARY KEY, created_at datetime NOT NULL) ENGINE=InnoDB;
		INSERT INTO app_log (created_at) SELECT NOW() - INTERVAL 30 DAY FROM seq_1_to_100;
		CREATE TABLE orders (id int PRIMARY KEY, v int, KEY orders_v (v)) ENGINE=InnoDB;
		INSERT INTO orders SELECT seq, seq % 10 FROM seq_1_to_5000;
	SQL
	mkdir -p "$dir/policies" "$dir/state"
	cat >"$dir/policies/long.conf" <<-'CONF'
		budget = { max_run_time = "10m"; };
		scratch_tables = { include = [ "tmp_*" ]; min_age = "1s"; require_idle = false; dry_run = true; };
		log_tables = { dry_run = true; tables = (
			{ table = "app_log"; time_column = "created_at"; retention = "1d"; } ); };
		server_logs = { dry_run = true; retention = "1s"; keep = 1; };
		indexes = { dry_run = true; min_size = "0"; min_bloat = 1; };
		statistics = { analyze = true; dry_run = true; stale_ratio = 0.01; stale_min_rows = 0;
		               metrics_interval = "1s"; };
	CONF
	cat >"$dir/dbkeeper.conf" <<-CONF
		state_dir = "$dir/state";
		queue_dir = "$dir/queue";
		policy_dir = "$dir/policies";
		targets = (
		  { name = "pg"; driver = "postgres"; policies = [ "long" ];
		    connection = { conninfo = "host=$DBK_PG_HOST port=$DBK_PG_PORT user=$DBK_PG_USER dbname=$db"; }; },
		  { name = "my"; driver = "mysql"; policies = [ "long" ];
		    connection = { host = "$DBK_MY_HOST"; port = $DBK_MY_PORT; user = "$DBK_MY_USER"; database = "$db"; }; }
		);
	CONF
}

long_teardown() {
	local db=$1
	long_pg postgres -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
	long_my mysql -e "DROP DATABASE IF EXISTS \`$db\`" >/dev/null 2>&1 || true
}

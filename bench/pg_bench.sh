#!/usr/bin/env bash
# bench/pg_bench.sh: issue 3's benchmark of the PostgreSQL driver, measured
# in one run against baselines taken in the same run, on a private scratch
# PostgreSQL (tests/servers.sh in its own directory, stopped at the end):
#
#   1. an observe-and-plan cycle (`dbkeeper plan`) on 5,000 tables and
#      12,000 indexes, against the driver's own observation SELECTs (taken
#      from drivers/postgres/pgd_observe.c by compiling it) run by psql
#      with the session settings the driver uses (jit = off);
#   2. a purge of 1,000,000 old rows by `dbkeeper once` (ctid batches),
#      against one plain DELETE, each with a concurrent writer inserting
#      into the same table and timing every INSERT + COMMIT on the server;
#   3. the agent's peak memory (maximum resident set, /usr/bin/time -v).
#
#   bench/pg_bench.sh [BUILD_DIR]
#
# BUILD_DIR holds dbkeeper and drivers/postgres.so; without it a Release
# build is made in $TMPDIR/dbk-pgbench-build. Not part of the test suite.
# Takes a few minutes; BENCH_TABLES, BENCH_ROWS and BENCH_RUNS scale it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
N_TABLES=${BENCH_TABLES:-5000}
N_ROWS=${BENCH_ROWS:-1000000}
RUNS=${BENCH_RUNS:-5}
DB=pgtest_bench

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
[[ -x /usr/bin/time ]] || die "/usr/bin/time is needed (apt-get install time)"

build=${1:-}
if [[ -z $build ]]; then
	build=${TMPDIR:-/tmp}/dbk-pgbench-build
	log "building Release in $build"
	cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DDBK_TESTS=OFF \
		-DDBK_DRIVER_MYSQL=OFF >/dev/null
	cmake --build "$build" -j"$(nproc)" --target dbkeeper dbk_driver_postgres >/dev/null
fi
DBK=$build/dbkeeper
export DBKEEPER_DRIVER_DIR=$build/drivers
[[ -x $DBK && -f $DBKEEPER_DRIVER_DIR/postgres.so ]] || die "no dbkeeper or postgres.so in $build"

# A private server: its statistics and timings are ours alone.
export DBK_SERVERS_DIR=${BENCH_SERVERS_DIR:-${TMPDIR:-/tmp}/dbk-pgbench-servers}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dbk-pgbench.XXXXXX")
chmod 755 "$WORK"
stop_all() {
	[[ ${wpid:-} ]] && kill "$wpid" 2>/dev/null
	bash "$src/tests/servers.sh" stop >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap stop_all EXIT
log "starting scratch servers in $DBK_SERVERS_DIR"
eval "$(bash "$src/tests/servers.sh" start 2>/dev/null)"
pg() { psql -X -q -v ON_ERROR_STOP=1 -h "$DBK_PG_HOST" -p "$DBK_PG_PORT" -U "$DBK_PG_USER" "$@"; }
q() { pg -d "$DB" -At -c "$1"; }
now_ms() { date +%s%3N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
maxrss() { sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$1"; }
cpu_ms() { # user + system CPU of the timed process, ms
	awk -F': ' '/(User|System) time \(seconds\)/ { s += $2 } END { printf "%d", s * 1000 }' "$1"
}

pg -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"

mkdir -p "$WORK/policies" "$WORK/state"
write_conf() { # policy text on stdin
	cat >"$WORK/policies/p.conf"
	cat >"$WORK/dbkeeper.conf" <<-CONF
		state_dir = "$WORK/state";
		queue_dir = "$WORK/queue";
		policy_dir = "$WORK/policies";
		targets = ( { name = "bench"; driver = "postgres"; policies = [ "p" ];
		  connection = { conninfo = "host=$DBK_PG_HOST port=$DBK_PG_PORT user=$DBK_PG_USER dbname=$DB"; }; } );
	CONF
}

# ---- 1. observe and plan on 5,000 tables and 12,000 indexes ----
# Every table has a primary key and an index on k; 2 in 5 also one on
# (k, v): 5,000 + 5,000 + 2,000 indexes. Every tenth table is a scratch
# table. Fifty tables per transaction keep within the server's lock table.
log "creating $N_TABLES tables and $((N_TABLES * 12 / 5)) indexes"
for ((i = 0; i < N_TABLES; i++)); do
	((i % 50 == 0)) && echo "BEGIN;"
	if ((i % 10 == 0)); then name=tmp_scratch_$i; else name=app_table_$i; fi
	echo "CREATE TABLE $name (id int PRIMARY KEY, k int NOT NULL, v text);"
	echo "CREATE INDEX ${name}_k ON $name (k);"
	((i % 5 < 2)) && echo "CREATE INDEX ${name}_kv ON $name (k, v);"
	((i % 50 == 49 || i == N_TABLES - 1)) && echo "COMMIT;"
done | pg -d "$DB"
q "VACUUM ANALYZE" >/dev/null
write_conf <<'CONF'
scratch_tables = { include = [ "tmp_*" ]; min_age = "1s"; require_idle = false; dry_run = true; };
indexes = { dry_run = true; min_size = "1MB"; };
server_logs = { dry_run = true; retention = "30d"; };
statistics = { analyze = true; dry_run = true; };
CONF
# The age of a table counts from the agent's first sight of it: a first
# cycle, then a second past min_age, so the plans carry real drops.
"$DBK" -c "$WORK/dbkeeper.conf" once >/dev/null
sleep 1.1

# The driver's observation SELECTs, compiled out of pgd_observe.c (the
# server-log listing is the one statement written inline there).
cat >"$WORK/observe_sql.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include "pgd_observe.c"
int main(int argc, char **argv)
{
	long v = argc > 1 ? atol(argv[1]) : 150000;

	printf("%s;\n%s;\n", v >= 160000 ? pgd_tables_sql_16 : pgd_tables_sql_13,
	       pgd_indexes_sql);
	printf("%s;\n", PGD_TAG "SELECT name, size, extract(epoch FROM modification)::bigint"
	       " FROM pg_catalog.pg_ls_logdir() ORDER BY name");
	return 0;
}
C
cc -std=c11 -D_GNU_SOURCE -O2 -I"$src/drivers" -I"$src/drivers/postgres" \
	-I"$(pg_config --includedir)" "$WORK/observe_sql.c" "$src/drivers/postgres/pgd_sql.c" \
	"$src/drivers/postgres/pgd_logfile.c" -lpq -o "$WORK/observe_sql"
version_num=$(q "SHOW server_version_num")
# With JIT off, as the driver's observation transactions have it; the same
# SELECTs with the server's defaults are timed too, for comparison.
{ echo 'SET jit = off;'; echo '\timing on'; "$WORK/observe_sql" "$version_num"; } >"$WORK/catalog.sql"
{ echo '\timing on'; "$WORK/observe_sql" "$version_num"; } >"$WORK/catalog_jit.sql"

"$DBK" -c "$WORK/dbkeeper.conf" plan >"$WORK/plan.txt"
n_actions=$(grep -c '^  [0-9]*\. ' "$WORK/plan.txt" || true)
log "plan: $(sed -n 's/^observed: //p' "$WORK/plan.txt"); $n_actions actions"

# Server time of everything sent to $DB, from pg_stat_statements.
server_ms() {
	pg -d postgres -At -c "SELECT round(coalesce(sum(total_exec_time), 0))::bigint
		FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '$DB')"
}
pgss_reset() { pg -d postgres -At -c "SELECT pg_stat_statements_reset()" >/dev/null; }
plan_ms=() raw_ms=() plan_srv=() raw_srv=() raw_q=() plan_cpu=() jit_q=()
for ((r = 0; r < RUNS; r++)); do
	pgss_reset
	t0=$(now_ms)
	/usr/bin/time -v -o "$WORK/plan.time" "$DBK" -c "$WORK/dbkeeper.conf" plan >/dev/null
	plan_ms+=($(($(now_ms) - t0)))
	plan_cpu+=($(cpu_ms "$WORK/plan.time"))
	plan_srv+=($(server_ms))
	pgss_reset
	t0=$(now_ms)
	pg -d "$DB" -At -f "$WORK/catalog.sql" >"$WORK/raw.out"
	raw_ms+=($(($(now_ms) - t0)))
	raw_srv+=($(server_ms))
	raw_q+=($(awk '/^Time: / { s += $2 } END { printf "%d", s }' "$WORK/raw.out"))
	pg -d "$DB" -At -f "$WORK/catalog_jit.sql" >"$WORK/raw.out"
	jit_q+=($(awk '/^Time: / { s += $2 } END { printf "%d", s }' "$WORK/raw.out"))
done
plan_med=$(printf '%s\n' "${plan_ms[@]}" | median)
raw_med=$(printf '%s\n' "${raw_ms[@]}" | median)
plan_srv_med=$(printf '%s\n' "${plan_srv[@]}" | median)
raw_srv_med=$(printf '%s\n' "${raw_srv[@]}" | median)
raw_q_med=$(printf '%s\n' "${raw_q[@]}" | median)
plan_cpu_med=$(printf '%s\n' "${plan_cpu[@]}" | median)
jit_q_med=$(printf '%s\n' "${jit_q[@]}" | median)
plan_rss=$(maxrss "$WORK/plan.time")

# ---- 2. purge one million old rows ----
make_log() {
	q "DROP TABLE IF EXISTS purge_log; CREATE TABLE purge_log (id bigserial PRIMARY KEY,
		created_at timestamptz NOT NULL, msg text NOT NULL)"
	q "INSERT INTO purge_log (created_at, msg)
		SELECT now() - interval '60 days' + n * interval '1 second', 'old event ' || n
		FROM generate_series(0, $N_ROWS - 1) n"
	q "INSERT INTO purge_log (created_at, msg) SELECT now(), 'recent' FROM generate_series(1, 10)"
	q "CREATE INDEX purge_log_created_at_idx ON purge_log (created_at)"
	q "VACUUM ANALYZE purge_log" >/dev/null
}
q "CREATE UNLOGGED TABLE bench_lat (phase text, t_ms bigint, lat_us bigint);
   CREATE TABLE bench_stop (x int)" >/dev/null
# The application keeps logging into the same table, one row every 10 ms,
# each INSERT + COMMIT timed by the server. Runs until bench_stop has a row.
writer() {
	q "DELETE FROM bench_stop" >/dev/null
	pg -d "$DB" >"$WORK/$1.err" 2>&1 <<-SQL
		DO \$\$
		DECLARE t0 timestamptz;
		BEGIN
			FOR i IN 1..1000000 LOOP
				EXIT WHEN EXISTS (SELECT 1 FROM bench_stop);
				t0 := clock_timestamp();
				INSERT INTO purge_log (created_at, msg) VALUES (clock_timestamp(), 'writer');
				COMMIT;
				INSERT INTO bench_lat VALUES ('$1', (extract(epoch FROM t0) * 1000)::bigint,
					(extract(epoch FROM clock_timestamp() - t0) * 1000000)::bigint);
				COMMIT;
				PERFORM pg_sleep(0.01);
			END LOOP;
		END
		\$\$;
	SQL
}
# The INSERTs that overlapped the operation [$2, $3] (ms): "count worst_ms".
writer_seen() {
	q "SELECT count(*) || ' ' || round(coalesce(max(lat_us), 0) / 1000.0, 1) FROM bench_lat
		WHERE phase = '$1' AND t_ms <= $3 AND t_ms + lat_us / 1000 >= $2"
}
# runs "$@" with the writer going; its window in ms goes to T0, T1
with_writer() {
	local name=$1
	shift
	writer "$name" &
	wpid=$!
	until [[ $(q "SELECT count(*) FROM bench_lat WHERE phase = '$name'") -ge 3 ]]; do sleep 0.05; done
	T0=$(now_ms)
	"$@"
	T1=$(now_ms)
	q "INSERT INTO bench_stop VALUES (1)" >/dev/null
	wait "$wpid"
	wpid=
}

log "generating $N_ROWS old rows (plain DELETE baseline)"
make_log
with_writer delete q "DELETE FROM purge_log WHERE created_at < now() - interval '30 days'"
delete_ms=$((T1 - T0))
read -r delete_n delete_worst < <(writer_seen delete "$T0" "$T1")
left_delete=$(q "SELECT count(*) FROM purge_log WHERE msg LIKE 'old%'")

log "generating $N_ROWS old rows (dbkeeper purge)"
make_log
write_conf <<'CONF'
log_tables = { dry_run = false; tables = (
	{ table = "purge_log"; time_column = "created_at"; retention = "30d"; } ); };
CONF
agent_purge() {
	/usr/bin/time -v -o "$WORK/purge.time" "$DBK" -c "$WORK/dbkeeper.conf" once >"$WORK/purge.txt" 2>&1
}
with_writer purge agent_purge
purge_ms=$((T1 - T0))
read -r purge_n purge_worst < <(writer_seen purge "$T0" "$T1")
purge_rss=$(maxrss "$WORK/purge.time")
left_purge=$(q "SELECT count(*) FROM purge_log WHERE msg LIKE 'old%'")
purge_line=$(grep -m1 '=> ' "$WORK/purge.txt" | sed 's/^ *//')
batches=$(sed -n 's/.* in \([0-9]*\) batches.*/\1/p' "$WORK/purge.txt" | head -1)
purge_cpu=$(cpu_ms "$WORK/purge.time")

errors() { grep -c ERROR "$WORK/$1.err" || true; }
cat <<EOF

== dbkeeper PostgreSQL driver benchmark ($(q "SHOW server_version"), $(nproc) CPUs, median of $RUNS runs)
1. observe + plan on $N_TABLES tables ($(sed -n 's/^observed: //p' "$WORK/plan.txt"); $n_actions actions planned)
                                        wall clock     server time (pg_stat_statements)
   dbkeeper plan                        ${plan_med} ms         ${plan_srv_med} ms
   its 3 observation SELECTs, psql      ${raw_med} ms         ${raw_srv_med} ms   (psql \\timing: ${raw_q_med} ms)
   ratio plan / raw queries             $(ratio "$plan_med" "$raw_med")            $(ratio "$plan_srv_med" "$raw_srv_med")
   best run                             $(printf '%s\n' "${plan_ms[@]}" | sort -n | head -1) ms         $(printf '%s\n' "${raw_ms[@]}" | sort -n | head -1) ms (wall, plan / raw)
   (runs, wall ms: plan ${plan_ms[*]}; raw ${raw_ms[*]})
   the agent's own CPU (user + system) per plan: ${plan_cpu_med} ms
   the same SELECTs with the server's default jit = on: ${jit_q_med} ms (psql \\timing)
2. purge of $N_ROWS old rows; a writer inserts into the same table every 10 ms
   one plain DELETE       ${delete_ms} ms   writer: worst INSERT ${delete_worst} ms of ${delete_n}, $(errors delete) errors; old rows left $left_delete
   dbkeeper once          ${purge_ms} ms   writer: worst INSERT ${purge_worst} ms of ${purge_n}, $(errors purge) errors; old rows left $left_purge
     (policy defaults: 5000 rows per batch, 100 ms pause; agent says: $purge_line)
     (of which pauses between batches: ${batches:-?} x 100 ms; agent CPU ${purge_cpu} ms)
   ratio time purge / DELETE                   $(ratio "$purge_ms" "$delete_ms")
   ratio worst writer latency purge / DELETE   $(ratio "$purge_worst" "$delete_worst")
3. agent peak memory (maximum resident set, /usr/bin/time -v)
   plan on $N_TABLES tables      ${plan_rss} kB
   purge of $N_ROWS rows   ${purge_rss} kB
EOF

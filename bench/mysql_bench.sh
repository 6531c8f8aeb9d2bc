#!/usr/bin/env bash
# bench/mysql_bench.sh: issue 4's benchmark of the MySQL driver, measured in
# one run against baselines taken in the same run, on a private scratch
# MariaDB (tests/servers.sh in its own directory, stopped at the end):
#
#   1. an observe-and-plan cycle (`dbkeeper plan`) on 5,000 tables, against
#      the same catalog SELECTs the driver sent, replayed by the mariadb client;
#   2. a purge of 1,000,000 old rows by `dbkeeper once` (primary-key batches),
#      against one plain DELETE, each with a concurrent writer inserting into
#      the same table and timing every INSERT on the server (NOW(6));
#   3. the agent's peak memory (maximum resident set, /usr/bin/time -v).
#
#   bench/mysql_bench.sh [BUILD_DIR]
#
# BUILD_DIR holds dbkeeper and drivers/mysql.so; without it a Release build
# is made in $TMPDIR/dbk-bench-build. Not part of the test suite. Takes a
# few minutes; BENCH_TABLES and BENCH_ROWS scale it down for a quick look.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
N_TABLES=${BENCH_TABLES:-5000}
N_ROWS=${BENCH_ROWS:-1000000}
RUNS=${BENCH_RUNS:-7}
DB=mytest_bench
LOG_DB=mytest_bench_log # the purge has a database of its own: observing it is cheap

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
[[ -x /usr/bin/time ]] || die "/usr/bin/time is needed (apt-get install time)"

build=${1:-}
if [[ -z $build ]]; then
	build=${TMPDIR:-/tmp}/dbk-bench-build
	log "building Release in $build"
	cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DDBK_TESTS=OFF \
		-DDBK_DRIVER_POSTGRES=OFF >/dev/null
	cmake --build "$build" -j"$(nproc)" --target dbkeeper dbk_driver_mysql >/dev/null
fi
DBK=$build/dbkeeper
export DBKEEPER_DRIVER_DIR=$build/drivers
[[ -x $DBK && -f $DBKEEPER_DRIVER_DIR/mysql.so ]] || die "no dbkeeper or mysql.so in $build"

# A private server: the general log and the timings are ours alone.
export DBK_SERVERS_DIR=${BENCH_SERVERS_DIR:-${TMPDIR:-/tmp}/dbk-bench-servers}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dbk-bench.XXXXXX")
stop_all() {
	bash "$src/tests/servers.sh" stop >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap stop_all EXIT
log "starting scratch servers in $DBK_SERVERS_DIR"
eval "$(bash "$src/tests/servers.sh" start 2>/dev/null)"
my() { mariadb --no-defaults --protocol=TCP -h "$DBK_MY_HOST" -P "$DBK_MY_PORT" -u "$DBK_MY_USER" "$@"; }
q() { my -N -B -r "$DB" -e "$1"; }
ql() { my -N -B -r "$LOG_DB" -e "$1"; }
now_ms() { date +%s%3N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
minimum() { sort -n | head -n1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
maxrss() { sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$1"; }

my -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB CHARACTER SET utf8mb4"
my -e "DROP DATABASE IF EXISTS $LOG_DB; CREATE DATABASE $LOG_DB CHARACTER SET utf8mb4"
ql "CREATE TABLE digits (d INT PRIMARY KEY); INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)"
q "CREATE TABLE digits (d INT PRIMARY KEY); INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)"

mkdir -p "$WORK/policies" "$WORK/state"
write_conf() { # database; policy text on stdin
	cat >"$WORK/policies/p.conf"
	cat >"$WORK/dbkeeper.conf" <<-CONF
		state_dir = "$WORK/state";
		queue_dir = "$WORK/queue";
		policy_dir = "$WORK/policies";
		targets = ( { name = "bench"; driver = "mysql"; policies = [ "p" ];
		  connection = { host = "$DBK_MY_HOST"; port = $DBK_MY_PORT; user = "$DBK_MY_USER"; database = "$1"; }; } );
	CONF
}

# ---- 1. observe and plan on 5,000 tables ----
log "creating $N_TABLES tables (every tenth a scratch table)"
for ((i = 0; i < N_TABLES; i++)); do
	if ((i % 10 == 0)); then name=tmp_scratch_$i; else name=app_table_$i; fi
	echo "CREATE TABLE $name (id INT AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL, v VARCHAR(40), KEY idx_k (k), KEY idx_k_v (k, v));"
done | my "$DB"
write_conf "$DB" <<'CONF'
scratch_tables = { include = [ "tmp_*" ]; min_age = "1s"; require_idle = false; dry_run = true; };
indexes = { dry_run = true; min_size = "1MB"; };
server_logs = { dry_run = true; retention = "30d"; };
statistics = { analyze = true; dry_run = true; };
CONF
sleep 1 # min_age is whole seconds: let the last table turn one second old

# The driver's own catalog statements, from the general log of one plan.
my -e "SET GLOBAL log_output = 'TABLE'; TRUNCATE mysql.general_log; SET GLOBAL general_log = ON"
"$DBK" -c "$WORK/dbkeeper.conf" plan >"$WORK/plan.txt"
my -e "SET GLOBAL general_log = OFF"
tid=$(my -N -B -e "SELECT thread_id FROM mysql.general_log WHERE command_type = 'Connect'
	AND argument LIKE '%$DB%' ORDER BY event_time LIMIT 1")
my -N -B -r -e "SELECT REPLACE(argument, '\n', ' ') FROM mysql.general_log WHERE thread_id = $tid
	AND command_type = 'Query' AND argument REGEXP 'information_schema|performance_schema|mysql[.]|^SHOW|FOR SHOW'
	ORDER BY event_time" | sed 's/$/;/' >"$WORK/catalog.sql"
n_sql=$(wc -l <"$WORK/catalog.sql")
n_actions=$(grep -c '^  [0-9]*\. ' "$WORK/plan.txt" || true)
log "plan: $(sed -n 's/^observed: //p' "$WORK/plan.txt"); $n_actions actions; $n_sql catalog statements"

# Each run also gets its session's span in the general log (first to last
# statement, server clock): the work itself, without process start-up.
span_of_last() { # microseconds of the newest session on $DB
	my -N -B -e "SELECT TIMESTAMPDIFF(MICROSECOND, MIN(event_time), MAX(event_time))
		FROM mysql.general_log WHERE thread_id = (SELECT thread_id FROM mysql.general_log
		WHERE command_type = 'Connect' AND argument LIKE '%$DB%' ORDER BY event_time DESC LIMIT 1)"
}
my -e "TRUNCATE mysql.general_log; SET GLOBAL general_log = ON"
plan_ms=() raw_ms=() plan_span=() raw_span=()
for ((r = 0; r < RUNS; r++)); do
	t0=$(now_ms)
	/usr/bin/time -v -o "$WORK/plan.time" "$DBK" -c "$WORK/dbkeeper.conf" plan >/dev/null
	plan_ms+=($(($(now_ms) - t0)))
	plan_span+=($(($(span_of_last) / 1000)))
	t0=$(now_ms)
	my "$DB" <"$WORK/catalog.sql" >/dev/null
	raw_ms+=($(($(now_ms) - t0)))
	raw_span+=($(($(span_of_last) / 1000)))
done
my -e "SET GLOBAL general_log = OFF"
plan_med=$(printf '%s\n' "${plan_ms[@]}" | median)
raw_med=$(printf '%s\n' "${raw_ms[@]}" | median)
plan_span_med=$(printf '%s\n' "${plan_span[@]}" | median)
plan_min=$(printf '%s\n' "${plan_ms[@]}" | minimum)
raw_min=$(printf '%s\n' "${raw_ms[@]}" | minimum)
raw_span_med=$(printf '%s\n' "${raw_span[@]}" | median)
plan_rss=$(maxrss "$WORK/plan.time")

# ---- 2. purge one million old rows ----
make_log() {
	ql "DROP TABLE IF EXISTS purge_log; CREATE TABLE purge_log (id BIGINT AUTO_INCREMENT PRIMARY KEY,
		created_at DATETIME NOT NULL, msg VARCHAR(60) NOT NULL, KEY idx_created_at (created_at))"
	ql "INSERT INTO purge_log (created_at, msg)
		SELECT NOW() - INTERVAL 60 DAY + INTERVAL n SECOND, CONCAT('old event ', n) FROM
		(SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d + 100000 * g.d AS n
		 FROM digits a, digits b, digits c, digits e, digits f, digits g) s
		WHERE n < $N_ROWS ORDER BY n"
	ql "INSERT INTO purge_log (created_at, msg) SELECT NOW(), 'recent' FROM digits"
	ql "ANALYZE TABLE purge_log" >/dev/null
}
# The application keeps logging into the same table, one INSERT every
# 10 ms; the server times each one. Runs until $WORK/stop exists.
writer() {
	rm -f "$WORK/stop"
	while [[ ! -e $WORK/stop ]]; do
		echo "SET @t = NOW(6); INSERT INTO purge_log (created_at, msg) VALUES (NOW(), 'writer');"
		echo "SELECT ROUND(UNIX_TIMESTAMP(@t) * 1000), TIMESTAMPDIFF(MICROSECOND, @t, NOW(6));"
		sleep 0.01
	done | my --force -n -N -B "$LOG_DB" >"$WORK/$1.lat" 2>"$WORK/$1.err"
}
# The INSERTs that overlapped the operation [$2, $3] (ms): "count worst_ms".
writer_seen() {
	awk -v a="$2" -v b="$3" '$1 <= b && $1 + $2 / 1000 >= a { n++; if ($2 > w) w = $2 }
		END { printf "%d %.1f\n", n, w / 1000 }' "$WORK/$1.lat"
}
# runs "$@" with the writer going; its window in ms goes to T0, T1
with_writer() {
	local name=$1 wpid
	shift
	writer "$name" &
	wpid=$!
	until [[ -s $WORK/$name.lat ]]; do sleep 0.05; done
	T0=$(now_ms)
	"$@"
	T1=$(now_ms)
	touch "$WORK/stop"
	wait "$wpid"
}

log "generating $N_ROWS old rows (plain DELETE baseline)"
make_log
with_writer delete ql "DELETE FROM purge_log WHERE created_at < NOW() - INTERVAL 30 DAY"
delete_ms=$((T1 - T0))
read -r delete_n delete_worst < <(writer_seen delete "$T0" "$T1")
left_delete=$(ql "SELECT COUNT(*) FROM purge_log WHERE msg LIKE 'old%'")

log "generating $N_ROWS old rows (dbkeeper purge)"
make_log
write_conf "$LOG_DB" <<'CONF'
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
left_purge=$(ql "SELECT COUNT(*) FROM purge_log WHERE msg LIKE 'old%'")
purge_line=$(grep -m1 '=> ' "$WORK/purge.txt" | sed 's/^ *//')

errors() { grep -c ERROR "$WORK/$1.err" || true; }
cat <<EOF

== dbkeeper MySQL driver benchmark ($(q "SELECT VERSION()"), $(nproc) CPUs, median of $RUNS runs)
1. observe + plan on $N_TABLES tables ($(sed -n 's/^observed: //p' "$WORK/plan.txt"); $n_actions actions planned)
                                        wall clock        session span (general log)
   dbkeeper plan                        ${plan_med} ms            ${plan_span_med} ms
   its $n_sql catalog statements, mariadb client
                                        ${raw_med} ms            ${raw_span_med} ms
   ratio plan / raw queries             $(ratio "$plan_med" "$raw_med")               $(ratio "$plan_span_med" "$raw_span_med")
   fastest run: plan ${plan_min} ms, raw ${raw_min} ms (ratio $(ratio "$plan_min" "$raw_min"))
   (runs, wall ms: plan ${plan_ms[*]}; raw ${raw_ms[*]})
2. purge of $N_ROWS old rows; a writer inserts into the same table every 10 ms
   one plain DELETE       ${delete_ms} ms   writer: worst INSERT ${delete_worst} ms of ${delete_n}, $(errors delete) errors; old rows left $left_delete
   dbkeeper once          ${purge_ms} ms   writer: worst INSERT ${purge_worst} ms of ${purge_n}, $(errors purge) errors; old rows left $left_purge
     (policy defaults: 5000 rows per batch, 100 ms pause; agent says: $purge_line)
   ratio time purge / DELETE                   $(ratio "$purge_ms" "$delete_ms")
   ratio worst writer latency purge / DELETE   $(ratio "$purge_worst" "$delete_worst")
3. agent peak memory (maximum resident set, /usr/bin/time -v)
   plan on $N_TABLES tables      ${plan_rss} kB
   purge of $N_ROWS rows   ${purge_rss} kB
EOF

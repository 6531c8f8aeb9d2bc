#!/usr/bin/env bash
# PostgreSQL housekeeping end to end (issue 3): the real dbkeeper binary on
# the messy seed database of tests/integration/seed_pg.sql. Targeted scratch
# tables go, decoys survive, hostile names are quoted exactly, a bloated
# index shrinks, an invalid one goes, a log table loses exactly its old rows
# while a writer keeps writing, only old server log files go, `plan` changes
# nothing, and the report queue holds every action and finding.
source "$(dirname "$0")/lib.sh"
servers_env
PG_DB=pgtest_housekeeping
CONF_FILE=$WORK/dbkeeper.conf
LOGDIR=$DBK_PG_LOGDIR
FAKE_LOGS=()

q() { pg "$PG_DB" -At -c "$1"; }
stop_all() {
	set +e
	[[ ${wpid:-} ]] && kill "$wpid" 2>/dev/null && wait "$wpid" 2>/dev/null
	pg postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = '$PG_DB' AND pid <> pg_backend_pid()" >/dev/null 2>&1
	for f in "${FAKE_LOGS[@]}"; do rm -f "$LOGDIR/$f"; done
	[[ ${KEEP_WORK:-} ]] || pg postgres -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1
	cleanup
}
trap stop_all EXIT

pg_fresh_db "$PG_DB"
pg "$PG_DB" -f "$DBK_SOURCE_DIR/tests/integration/seed_pg.sql" >"$WORK/seed.log" 2>&1 ||
	{ cat "$WORK/seed.log" >&2; exit 1; }
# Beyond the seed: a scratch table that will see writes between the two
# observations, one more non-ASCII name, and a log table whose rows are
# either over 100 days or under 70 days old, so a 90-day cutoff splits it
# exactly whenever the test runs.
pg "$PG_DB" <<'SQL'
CREATE TABLE app.tmp_busy (id int);
INSERT INTO app.tmp_busy SELECT generate_series(1, 10);
CREATE TABLE app."tmp_日本語 ü" (id int);
INSERT INTO app."tmp_日本語 ü" VALUES (1);
CREATE TABLE app.evt_log (
	id bigserial PRIMARY KEY,
	created_at timestamptz NOT NULL,
	src text NOT NULL DEFAULT 'seed'
);
INSERT INTO app.evt_log (created_at)
	SELECT now() - interval '100 days' - i * interval '4 minutes' FROM generate_series(0, 29999) i;
INSERT INTO app.evt_log (created_at)
	SELECT now() - i * interval '5 minutes' FROM generate_series(1, 20000) i;
CREATE INDEX evt_log_created_at_idx ON app.evt_log (created_at);
ANALYZE app.evt_log;
CREATE TABLE public.writer_stop (x int);
SQL
# Write counters reach the shared statistics when a session ends, a little
# after the client has gone: wait for them, or the first observation could
# see a count that changes before the second.
stats_in() {
	[[ $(q "SELECT sum(n_tup_ins) FROM pg_stat_user_tables WHERE schemaname = 'app'
		AND relname IN ('tmp_import_2023', 'tmp_busy', 'tmp_日本語 ü', 'evt_log')") == 55011 ]]
}
wait_for 60 stats_in || fail "write statistics of the seed never arrived"

# Fake server log files, as the postgres user would own them: two matching
# log_filename (a stderr and a csvlog one) and 40 days old go; a matching
# one 10 days old, an old one of another name and an old one with a suffix
# stay. The tag keeps concurrent runs apart.
tag=$(printf '%06d' $(((RANDOM * 32768 + RANDOM) % 1000000)))
OLD_LOGS=("postgresql-2001-01-01_$tag.log" "postgresql-2001-01-02_$tag.csv")
KEPT_LOGS=("postgresql-2001-01-03_$tag.log" "notes-2001-01-01_$tag.log" "postgresql-2001-01-04_$tag.log.bak")
FAKE_LOGS=("${OLD_LOGS[@]}" "${KEPT_LOGS[@]}")
owner=$(stat -c %U:%G "$LOGDIR")
for f in "${FAKE_LOGS[@]}"; do
	echo "fake log line" >"$LOGDIR/$f"
	chown "$owner" "$LOGDIR/$f"
	touch -d '40 days ago' "$LOGDIR/$f"
done
touch -d '10 days ago' "$LOGDIR/${KEPT_LOGS[0]}"
current_log=$(q "SELECT pg_current_logfile()")
current_log=${current_log##*/}
[[ -n $current_log && -f $LOGDIR/$current_log ]] || fail "no current server log file"

mkdir -p "$WORK/policies"
cat >"$WORK/policies/hk.conf" <<'CONF'
budget = { max_run_time = "5m"; lock_timeout = "1s"; statement_timeout = "2m";
           max_replica_lag = "0"; };
scratch_tables = { dry_run = false; schemas = [ "app" ];
                   include = [ "tmp_*", "*_bak_[0-9]*" ];
                   min_age = "1s"; require_idle = true; };
log_tables = { dry_run = false;
               tables = ( { schema = "app"; table = "evt_log"; time_column = "created_at";
                            retention = "90d"; batch_size = 1000; pause = "20ms"; } ); };
indexes = { dry_run = false; min_size = "1MB"; min_bloat = 30; drop_invalid = true; };
server_logs = { dry_run = false; retention = "30d"; keep = 1; };
statistics = { analyze = true; stale_ratio = 0.1; stale_min_rows = 100;
               metrics_interval = "1h"; };
CONF
write_main_config '"hk"'
dbk -c "$CONF_FILE" check-config
assert_eq 0 "$RC" "check-config accepts the test configuration: $OUT"

tables() { # every user table, schema-qualified, one a line, sorted
	q "SELECT schemaname || '.' || relname FROM pg_stat_user_tables
	   WHERE schemaname IN ('app', 'archive') ORDER BY 1" | LC_ALL=C sort
}
has_table() { [[ $(q "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = '$1' AND c.relname = \$t\$$2\$t\$") == 1 ]]; }
state_sig() { find "$WORK/state" -type f -printf '%p %s %T@\n' -exec sha256sum {} \; 2>/dev/null | LC_ALL=C sort; }
records() { find "$WORK/queue" -name '*.json' -path '*/new/*' 2>/dev/null | wc -l; }
once_json() { # N: `once --json` into $WORK/onceN.json, exit status in RC
	set +e
	"$DBK_BIN" -c "$CONF_FILE" --json once >"$WORK/once$1.json" 2>"$WORK/once$1.err"
	RC=$?
	set -e
}
jqf() { jq -r "$2" "$WORK/$1"; }
index_size() { q "SELECT pg_relation_size('app.bloat_demo_val_idx')"; }
invalid_indexes() { q "SELECT count(*) FROM pg_index WHERE NOT indisvalid"; }
evt() { q "SELECT count(*) FILTER (WHERE created_at < now() - interval '90 days') || ' ' ||
	count(*) FILTER (WHERE created_at >= now() - interval '90 days') FROM app.evt_log"; }

# ---- plan on a fresh state: shows the work, changes nothing ----
tables_before=$(tables)
size_before=$(index_size)
assert_eq "30000 20000" "$(evt)" "evt_log holds 30000 old and 20000 new rows"
assert_eq 1 "$(invalid_indexes)" "the seed left one invalid index"
dbk -c "$CONF_FILE" plan
assert_eq 0 "$RC" "plan exits 0"
assert_contains "$OUT" 'DELETE FROM "app"."evt_log" WHERE ctid = ANY' "plan shows the purge batch"
assert_contains "$OUT" 'REINDEX INDEX CONCURRENTLY "app"."bloat_demo_val_idx"' "plan shows the rebuild"
assert_contains "$OUT" 'DROP INDEX CONCURRENTLY IF EXISTS "app"."inv_demo_code_uidx"' "plan shows the invalid index drop"
assert_contains "$OUT" "-- unlink $LOGDIR/${OLD_LOGS[0]}" "plan shows the old log file removal"
assert_not_contains "$OUT" "DROP TABLE" "a table never seen before is not old enough to drop"
assert_eq "$tables_before" "$(tables)" "plan dropped nothing"
assert_eq "30000 20000" "$(evt)" "plan deleted no row"
assert_eq "$size_before" "$(index_size)" "plan rebuilt nothing"
assert_eq 1 "$(invalid_indexes)" "plan dropped no index"
for f in "${FAKE_LOGS[@]}"; do [[ -f $LOGDIR/$f ]] || fail "plan removed $f"; done
assert_eq "" "$(state_sig)" "plan wrote no state file"
assert_eq 0 "$(records)" "plan wrote no queue record"

# ---- once #1: purge under a concurrent writer, rebuild, drop invalid, logs ----
# The writer commits one row at a time until told to stop (at most 20000)
# and says how many it committed.
pg "$PG_DB" >"$WORK/writer.log" 2>&1 <<'SQL' &
DO $$
DECLARE n int := 0;
BEGIN
	FOR i IN 1..20000 LOOP
		EXIT WHEN EXISTS (SELECT 1 FROM public.writer_stop);
		INSERT INTO app.evt_log (created_at, src) VALUES (clock_timestamp(), 'writer');
		n := n + 1;
		COMMIT;
		PERFORM pg_sleep(0.005);
	END LOOP;
	RAISE NOTICE 'writer committed % rows', n;
END
$$;
SQL
wpid=$!
writing() { (($(q "SELECT count(*) FROM app.evt_log WHERE src = 'writer'") >= 3)); }
wait_for 60 writing || fail "the writer did not start"
once_json 1
kill -0 "$wpid" 2>/dev/null && ok "the writer was still writing when once finished" ||
	fail "the writer stopped before the agent finished"
q "INSERT INTO public.writer_stop VALUES (1)" >/dev/null
set +e
wait "$wpid"
wrc=$?
wpid=
set -e
assert_eq 0 "$wrc" "the concurrent writer saw no error"
written=$(sed -n 's/.*writer committed \([0-9]*\) rows.*/\1/p' "$WORK/writer.log")
[[ $written =~ ^[0-9]+$ ]] || { fail "writer count missing"; written=-1; }
assert_eq 0 "$RC" "once #1 exits 0: $(cat "$WORK/once1.err")"

# The log table: exactly the old rows went, every other row stayed.
assert_eq "0 $((20000 + written))" "$(evt)" "evt_log: old rows gone, 20000 seeded-new + $written written rows kept"
assert_eq "$written" "$(q "SELECT count(*) FROM app.evt_log WHERE src = 'writer'")" "every row the writer committed is there"
assert_eq "purge_rows done 30000 done" \
	"$(jqf once1.json '.[].actions[] | select(.action=="purge_rows") | "\(.action) \(.outcome) \(.rows) \(.objects[0].status)"')" \
	"the purge record says 30000 rows deleted"
cutoff=$(jqf once1.json '.[].actions[] | select(.action=="purge_rows") | .statement' |
	sed -n 's/.*to_timestamp(\([0-9]*\)).*/\1/p' | head -1)
drift=$(($(date +%s) - 90 * 86400 - ${cutoff:-0}))
((drift >= 0 && drift < 600)) && ok "the purge cutoff is now - 90d" || fail "purge cutoff $cutoff is ${drift}s off now - 90d"

# The bloated index: rebuilt, smaller, valid.
size_after=$(index_size)
((size_after * 2 < size_before)) && ok "bloat_demo_val_idx shrank: $size_before -> $size_after bytes" ||
	fail "bloat_demo_val_idx did not shrink: $size_before -> $size_after bytes"
assert_eq "t" "$(q "SELECT indisvalid FROM pg_index WHERE indexrelid = 'app.bloat_demo_val_idx'::regclass")" \
	"the rebuilt index is valid"
assert_eq "rebuild_index done $size_before $size_after" \
	"$(jqf once1.json '.[].actions[] | select(.action=="rebuild_index") | "\(.action) \(.outcome) \(.bytes_before) \(.bytes_after)"')" \
	"the rebuild record has the sizes before and after"

# The invalid index: gone, and nothing invalid is left anywhere.
assert_eq 0 "$(q "SELECT count(*) FROM pg_class WHERE relname = 'inv_demo_code_uidx'")" "the invalid index was dropped"
assert_eq 0 "$(invalid_indexes)" "no invalid index is left"
assert_eq "done" "$(jqf once1.json '.[].actions[] | select(.statement | test("inv_demo_code_uidx")) | .outcome')" \
	"the drop of the invalid index is recorded as done"

# Server log files: exactly the old matching ones went.
for f in "${OLD_LOGS[@]}"; do
	[[ ! -e $LOGDIR/$f ]] && ok "old log file $f removed" || fail "old log file $f still there"
done
for f in "${KEPT_LOGS[@]}"; do
	[[ -f $LOGDIR/$f ]] && ok "file $f kept" || fail "file $f was removed"
done
[[ -f $LOGDIR/$current_log ]] && ok "the current log file $current_log stays" || fail "the current log file was removed"
assert_eq "done ${OLD_LOGS[0]}:done ${OLD_LOGS[1]}:done" \
	"$(jqf once1.json '.[].actions[] | select(.action=="purge_server_logs") | "\(.outcome) " + ([.objects[] | "\(.name):\(.status)"] | sort | join(" "))')" \
	"the log file removal record names exactly the two old files"

assert_eq "$tables_before" "$(tables)" "once #1 dropped no table (none seen long enough)"

# ---- between the observations: a write to a scratch table ----
q "INSERT INTO app.tmp_busy VALUES (11), (12)" >/dev/null
busy_counted() { [[ $(q "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relid = 'app.tmp_busy'::regclass") == 12 ]]; }
wait_for 60 busy_counted || fail "the write to tmp_busy never reached the statistics"

# Once min_age (1s) has passed since the first observation, plan shows the
# drop; it still changes nothing.
state1=$(state_sig)
records1=$(records)
[[ -n $state1 ]] && ok "once #1 wrote the state file" || fail "once #1 wrote no state"
plan_drops() { dbk -c "$CONF_FILE" plan; [[ $RC == 0 && $OUT == *"DROP TABLE"* ]]; }
wait_for 60 plan_drops || fail "plan never showed the scratch table drop: $OUT"
plan_out=$OUT
assert_eq "$tables_before" "$(tables)" "plan showing drops dropped nothing"
assert_eq "$state1" "$(state_sig)" "plan left the state file alone"
assert_eq "$records1" "$(records)" "plan wrote no queue record"

# ---- once #2: the scratch tables ----
once_json 2
assert_eq 0 "$RC" "once #2 exits 0: $(cat "$WORK/once2.err")"
for t in tmp_import_2023 tmp_report_1 orders_bak_20240101 'tmp_x"; DROP TABLE users; --' 'tmp_café' 'tmp_日本語 ü'; do
	has_table app "$t" && fail "app.$t was not dropped" || ok "app.$t dropped"
done
for t in app.temperature app.template_pages app.tmpl_pages archive.tmp_archive_1 app.tmp_busy app.users app.app_log; do
	has_table "${t%%.*}" "${t#*.}" && ok "$t survives" || fail "$t was dropped"
done
assert_eq 1000 "$(q "SELECT count(*) FROM app.users")" "app.users keeps its 1000 rows"
assert_eq 2 "$(q "SELECT count(*) FROM pg_indexes WHERE schemaname = 'app' AND tablename = 'users' AND indexname LIKE 'users_name_idx%'")" \
	"app.users keeps its indexes"
drop_stmt=$(jqf once2.json '.[].actions[] | select(.action=="drop_tables") | .statement')
assert_contains "$drop_stmt" '"app"."tmp_x""; DROP TABLE users; --"' "the hostile name is quoted by doubling its quote"
assert_contains "$drop_stmt" '"app"."tmp_日本語 ü"' "the non-ASCII name is quoted byte-exact"
assert_contains "$plan_out" "sql: $drop_stmt" "once ran exactly the statement plan printed"
assert_eq "done" "$(jqf once2.json '[.[].actions[] | select(.action=="drop_tables") | .outcome] | unique | join(",")')" \
	"the drop is recorded as done"
assert_eq 'orders_bak_20240101:done tmp_café:done tmp_import_2023:done tmp_report_1:done tmp_x"; DROP TABLE users; --:done tmp_日本語 ü:done' \
	"$(jqf once2.json '[.[].actions[] | select(.action=="drop_tables") | .objects[] | "\(.name):\(.status)"] | sort | join(" ")')" \
	"the drop record lists exactly the six targeted tables, each done"
assert_not_contains "$drop_stmt" "tmp_busy" "the table written to between observations is not dropped"
assert_eq "$(($(wc -l <<<"$tables_before") - 6))" "$(tables | wc -l)" "exactly six tables are gone"

# ---- the report queue: every action and finding, with statement and outcome ----
"$DBK_BIN" -c "$CONF_FILE" --json queue list >"$WORK/queue.json" 2>"$WORK/queue.err"
assert_eq 0 "$?" "queue list --json exits 0"
# Each action has a write-ahead record ("started") and a final one that
# points at it through action_id.
jq -s '[.[][] | .actions[] | {action, statement, outcome}] | sort' "$WORK/once1.json" "$WORK/once2.json" >"$WORK/acts.once"
jq '[.[] | select(.kind=="action" and .outcome!="started") | {action, statement, outcome}] | sort' "$WORK/queue.json" >"$WORK/acts.queue"
assert_eq "$(cat "$WORK/acts.once")" "$(cat "$WORK/acts.queue")" "every action of both runs is in the queue with its statement and outcome"
n_acts=$(jq length "$WORK/acts.queue")
((n_acts >= 6)) && ok "$n_acts action records" || fail "only $n_acts action records"
assert_eq 0 "$(jq '[.[] | select(.kind=="action") | select((.statement // "") == "" or (.outcome // "") == "" or (.objects | length) == 0)] | length' "$WORK/queue.json")" \
	"no action record lacks a statement, an outcome or its objects"
assert_eq 0 "$(jq '(map(select(.kind=="action" and .outcome=="started") | {(.id): .statement}) | add // {}) as $s
	| [.[] | select(.kind=="action" and .outcome!="started") | select($s[.action_id // ""] != .statement)] | length' "$WORK/queue.json")" \
	"every final action record points at its write-ahead record of the same statement"
# A finding seen again may be recorded once, as a lasting one.
jq -s '[.[][] | .findings[] | {category, severity, object, title}] | unique' "$WORK/once1.json" "$WORK/once2.json" >"$WORK/finds.once"
jq '[.[] | select(.kind=="finding") | {category, severity, object, title}] | unique' "$WORK/queue.json" >"$WORK/finds.queue"
assert_eq "$(cat "$WORK/finds.once")" "$(cat "$WORK/finds.queue")" "every finding of both runs is in the queue"
assert_contains "$(cat "$WORK/finds.queue")" '"object": "app.users_name_idx2"' "the duplicate index is reported"
assert_eq "finished finished" "$(jq -r '[.[] | select(.kind=="run") | .status] | join(" ")' "$WORK/queue.json")" \
	"two run records, both finished"
finish

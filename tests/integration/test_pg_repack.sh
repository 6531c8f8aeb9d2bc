#!/usr/bin/env bash
# pg_repack leftovers on PostgreSQL (ABI 1.1): a crashed pg_repack leaves
# its trigger on the application table, copying every write into
# repack.log_<table OID>. Dropping that log table first would make every
# application write fail, so the trigger goes first, then the tool's
# tables; nothing of it is touched while pg_repack runs; and the driver
# itself refuses to drop a log table whose trigger is still there.
# The crashed state is built by hand as pg_repack 1.5 builds it (a type
# repack.pk_<oid>, repack.log_<oid>, repack.table_<oid>, the trigger
# repack_trigger calling repack.repack_trigger with the INSERT as its
# argument); the trigger function is plpgsql here, C in pg_repack.
source "$(dirname "$0")/lib.sh"
servers_env
PG_DB=pgtest_repack
CONF_FILE=$WORK/dbkeeper.conf
BG=()

q() { pg "$PG_DB" -At -c "$1"; }
stop_all() {
	set +e
	pg postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = '$PG_DB' AND pid <> pg_backend_pid()" >/dev/null 2>&1
	for p in "${BG[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	[[ ${KEEP_WORK:-} ]] || pg postgres -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1
	cleanup
}
trap stop_all EXIT

pg_fresh_db "$PG_DB"
pg "$PG_DB" >"$WORK/seed.log" 2>&1 <<'SQL' || { cat "$WORK/seed.log" >&2; exit 1; }
CREATE SCHEMA app;
CREATE TABLE app.orders (id int PRIMARY KEY, note text NOT NULL);
INSERT INTO app.orders SELECT g, 'order ' || g FROM generate_series(1, 1000) g;
CREATE TABLE app.items (id int PRIMARY KEY, qty int NOT NULL);
INSERT INTO app.items SELECT g, g % 7 FROM generate_series(1, 500) g;
CREATE SCHEMA repack;
-- pg_repack's C trigger runs its argument with $1 = the old row (NULL on
-- INSERT) and $2 = the new row (NULL on DELETE).
CREATE FUNCTION repack.repack_trigger() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
	EXECUTE TG_ARGV[0] USING OLD, NEW;
	RETURN NULL;
END
$f$;
-- What pg_repack had set up for a table when it crashed.
CREATE FUNCTION public.crash_repack(t regclass) RETURNS void LANGUAGE plpgsql AS $f$
DECLARE o oid := t::oid;
BEGIN
	EXECUTE format('CREATE TYPE repack.pk_%s AS (id integer)', o);
	EXECUTE format('CREATE TABLE repack.log_%s (id bigserial PRIMARY KEY,'
		' pk repack.pk_%s, row %s)', o, o, t);
	EXECUTE format('CREATE TRIGGER repack_trigger AFTER INSERT OR DELETE OR UPDATE'
		' ON %s FOR EACH ROW EXECUTE PROCEDURE repack.repack_trigger(%L)', t,
		format('INSERT INTO repack.log_%s(pk, row) VALUES( CASE WHEN $1 IS NULL'
		' THEN NULL ELSE (ROW($1.id)::repack.pk_%s) END, $2)', o, o));
	EXECUTE format('CREATE TABLE repack.table_%s AS SELECT * FROM ONLY %s', o, t);
END
$f$;
SELECT public.crash_repack('app.orders');
-- A decoy: the application's own trigger that only shares pg_repack's name.
CREATE TABLE app.audit (id int);
CREATE FUNCTION public.audit_fn() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN RETURN NULL; END
$f$;
CREATE TRIGGER repack_trigger AFTER INSERT ON app.audit FOR EACH ROW
	EXECUTE FUNCTION public.audit_fn();
-- Writes after the crash: the trigger logs them.
INSERT INTO app.orders VALUES (1001, 'after the crash');
UPDATE app.orders SET note = 'changed' WHERE id = 1;
DELETE FROM app.orders WHERE id = 2;
SQL
OID=$(q "SELECT 'app.orders'::regclass::oid")
LOG=log_$OID
assert_eq 3 "$(q "SELECT count(*) FROM repack.$LOG")" "the trigger logs application writes into repack.$LOG"
# The planner wants a table unchanged between two observations: wait for
# the writes above to reach the statistics before the first one.
stats_in() { [[ $(q "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relid = 'repack.$LOG'::regclass") == 3 ]]; }
wait_for 60 stats_in || fail "write statistics of repack.$LOG never arrived"

mkdir -p "$WORK/policies"
cat >"$WORK/policies/repack.conf" <<'CONF'
budget = { max_run_time = "5m"; lock_timeout = "1s"; statement_timeout = "2m";
           max_replica_lag = "0"; };
scratch_tables = { dry_run = false; schemas = [ "app", "repack" ];
                   include = [ "tmp_*" ]; tool_leftovers = true;
                   min_age = "1s"; require_idle = true; };
CONF
write_main_config '"repack"'
dbk -c "$CONF_FILE" check-config
assert_eq 0 "$RC" "check-config accepts the test configuration: $OUT"

has_rel() { [[ $(q "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = '$1' AND c.relname = '$2'") == 1 ]]; }
has_trigger() { [[ $(q "SELECT count(*) FROM pg_trigger WHERE tgrelid = '$1'::regclass
	AND tgname = 'repack_trigger'") == 1 ]]; }
# The agent takes any other session whose last query names repack for a
# running pg_repack, and this test's own psql sessions do; one that has
# just quit may still be listed for a moment. Wait until none is.
settle() {
	quiet() { [[ $(q "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()
		AND query ILIKE ('%re' || 'pack%')") == 0 ]]; }
	wait_for 60 quiet || fail "a session naming repack stayed"
}
once_json() { # N: `once --json` into $WORK/onceN.json, exit status in RC
	settle
	set +e
	"$DBK_BIN" -c "$CONF_FILE" --json once >"$WORK/once$1.json" 2>"$WORK/once$1.err"
	RC=$?
	set -e
}
jqf() { jq -r "$2" "$WORK/$1"; }
# A session that looks like a running pg_repack, idle; its pid in $REPACK_PID.
repack_start() {
	PGAPPNAME=pg_repack pg "$PG_DB" -c "SELECT pg_sleep(600)" >/dev/null 2>&1 &
	BG+=($!)
	repack_seen() { [[ $(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_repack'") -ge 1 ]]; }
	wait_for 60 repack_seen || fail "the pg_repack look-alike session never appeared"
}
repack_stop() {
	q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pg_repack'" >/dev/null
	repack_gone() { [[ $(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_repack'") == 0 ]]; }
	wait_for 60 repack_gone || fail "the pg_repack look-alike session did not end"
}

# ---- pg_repack running: nothing of it is planned or touched ----
repack_start
dbk -c "$CONF_FILE" plan
assert_eq 0 "$RC" "plan exits 0 while pg_repack runs"
assert_not_contains "$OUT" "DROP TRIGGER" "no trigger drop while pg_repack runs"
assert_not_contains "$OUT" '"repack"' "no drop of pg_repack's tables while it runs"
# This run is also the first observation the age and idle rules need.
once_json 1
assert_eq 0 "$RC" "once #1 exits 0: $(cat "$WORK/once1.err")"
assert_eq 0 "$(jqf once1.json '[.[].actions[] | select(.statement | test("repack"))] | length')" \
	"once #1 ran nothing on pg_repack's objects"
has_trigger app.orders && ok "the trigger stays while pg_repack runs" || fail "the trigger went while pg_repack runs"
has_rel repack "$LOG" && ok "repack.$LOG stays while pg_repack runs" || fail "repack.$LOG went while pg_repack runs"
repack_stop

# ---- pg_repack gone: the trigger goes first, then its tables ----
plan_ready() { dbk -c "$CONF_FILE" plan; [[ $RC == 0 && $OUT == *"DROP TABLE"*"$LOG"* ]]; }
wait_for 60 plan_ready || fail "plan never showed the drop of repack.$LOG: $OUT"
plan_out=$OUT
trig_line=$(grep -n "DROP TRIGGER \"repack_trigger\" ON \"app\".\"orders\"" <<<"$plan_out" | head -1 | cut -d: -f1)
log_line=$(grep -n "DROP TABLE.*\"repack\".\"$LOG\"" <<<"$plan_out" | head -1 | cut -d: -f1)
[[ $trig_line && $log_line ]] && ((trig_line < log_line)) &&
	ok "plan drops the trigger (line $trig_line) before repack.$LOG (line $log_line)" ||
	fail "plan does not drop the trigger before repack.$LOG: $plan_out"
has_trigger app.orders && ok "plan dropped no trigger" || fail "plan dropped the trigger"

once_json 2
assert_eq 0 "$RC" "once #2 exits 0: $(cat "$WORK/once2.err")"
assert_eq "drop_trigger done" \
	"$(jqf once2.json '.[].actions[] | select(.action=="drop_trigger") | "\(.action) \(.outcome)"')" \
	"the trigger drop is recorded as done"
assert_contains "$plan_out" "$(jqf once2.json '.[].actions[] | select(.action=="drop_trigger") | .statement')" \
	"once ran exactly the trigger drop plan printed"
order=$(jqf once2.json '[.[].actions[] | select(.statement | test("repack")) | .action] | join(" ")')
[[ $order == "drop_trigger drop_tables"* ]] && ok "once dropped the trigger, then the tables: $order" ||
	fail "once ran in the order: $order"
has_trigger app.orders && fail "the trigger is still there" || ok "the trigger is gone"
has_trigger app.audit && ok "the application's own trigger named repack_trigger stays" ||
	fail "the decoy trigger on app.audit was dropped"
assert_not_contains "$(cat "$WORK/once2.json")" "audit" "the decoy is neither planned nor reported"
for t in "$LOG" "table_$OID"; do
	has_rel repack "$t" && fail "repack.$t was not dropped" || ok "repack.$t dropped"
done
q "INSERT INTO app.orders VALUES (1002, 'after the cleanup')" >/dev/null &&
	ok "application inserts work after the cleanup" || fail "an application insert failed"
q "UPDATE app.orders SET note = 'again' WHERE id = 3" >/dev/null &&
	ok "application updates work after the cleanup" || fail "an application update failed"
assert_eq "1001 1 1" "$(q "SELECT count(*) || ' ' || count(*) FILTER (WHERE id = 1001)
	|| ' ' || count(*) FILTER (WHERE id = 1002) FROM app.orders")" "app.orders keeps every row (1000 seeded, one deleted, two added)"
assert_eq "changed" "$(q "SELECT note FROM app.orders WHERE id = 1")" "app.orders keeps its data"

# ---- the driver's own defense: the trigger cannot be dropped (its table
# is in use), so the log table it feeds must stay, whatever was planned ----
q "SELECT public.crash_repack('app.items')" >/dev/null
q "UPDATE app.items SET qty = qty + 1 WHERE id <= 4" >/dev/null
OID2=$(q "SELECT 'app.items'::regclass::oid")
LOG2=log_$OID2
stats2_in() { [[ $(q "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relid = 'repack.$LOG2'::regclass") == 4 ]]; }
wait_for 60 stats2_in || fail "write statistics of repack.$LOG2 never arrived"
# First observation of the new tables, pg_repack running: nothing done.
repack_start
once_json 3
assert_eq 0 "$RC" "once #3 exits 0: $(cat "$WORK/once3.err")"
assert_eq 0 "$(jqf once3.json '[.[].actions[] | select(.statement | test("repack"))] | length')" \
	"once #3 ran nothing on pg_repack's objects"
repack_stop
# An application transaction keeps app.items in use: the trigger drop
# cannot get its lock; the planned table drop then reaches the driver.
plan2_ready() { dbk -c "$CONF_FILE" plan; [[ $RC == 0 && $OUT == *"DROP TABLE"*"$LOG2"* ]]; }
wait_for 60 plan2_ready || fail "plan never showed the drop of repack.$LOG2: $OUT"
mkfifo "$WORK/hold"
pg "$PG_DB" -c "BEGIN" -c "SELECT count(*) FROM app.items" -c "\\! cat $WORK/hold >/dev/null" -c "COMMIT" \
	>"$WORK/hold.log" 2>&1 &
hpid=$!
BG+=($hpid)
holding() { [[ $(q "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
	WHERE l.relation = 'app.items'::regclass AND a.state = 'idle in transaction'") -ge 1 ]]; }
wait_for 60 holding || fail "the application transaction never held app.items"
once_json 4
echo >"$WORK/hold"
wait "$hpid" || fail "the application transaction failed: $(cat "$WORK/hold.log")"
assert_eq 0 "$RC" "once #4 exits 0: $(cat "$WORK/once4.err")"
assert_eq "skipped" "$(jqf once4.json '.[].actions[] | select(.action=="drop_trigger") | .outcome')" \
	"the trigger drop is skipped: its table is in use"
assert_contains "$(jqf once4.json '.[].actions[] | select(.action=="drop_trigger") | .note')" \
	"table locked by another session: not waited on" "it never queued behind the application's lock"
assert_eq "skipped_changed" \
	"$(jqf once4.json ".[].actions[] | select(.action==\"drop_tables\") | .objects[] | select(.name==\"$LOG2\") | .status")" \
	"the driver refuses repack.$LOG2 while its trigger remains"
assert_contains "$(jqf once4.json '.[].actions[] | select(.action=="drop_tables") | .note')" \
	"kept repack.$LOG2: trigger repack_trigger on app.items still writes into it" "the refusal is noted"
has_rel repack "$LOG2" && ok "repack.$LOG2 stays" || fail "repack.$LOG2 was dropped under its trigger"
q "INSERT INTO app.items VALUES (501, 1)" >/dev/null &&
	ok "application inserts into app.items still work" || fail "an insert into app.items failed"
# Once the table is free, the next run drops the trigger (the log table,
# written to through it just now, waits for a later run: not idle).
once_json 5
assert_eq 0 "$RC" "once #5 exits 0: $(cat "$WORK/once5.err")"
has_trigger app.items && fail "the app.items trigger is still there" || ok "the app.items trigger is gone"
q "INSERT INTO app.items VALUES (502, 1)" >/dev/null &&
	ok "application inserts into app.items work after the cleanup" || fail "an insert into app.items failed"
assert_eq 502 "$(q "SELECT count(*) FROM app.items")" "app.items keeps every row"
finish

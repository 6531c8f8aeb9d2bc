#!/usr/bin/env bash
# `dbkeeper run`: starts, runs a cycle on a real PostgreSQL, reloads on
# SIGHUP with a valid config, keeps the old one when the new is invalid, and
# stops cleanly (exit 0) on SIGTERM.
source "$(dirname "$0")/lib.sh"
servers_env
PG_DB=dbk_daemon
pg_fresh_db "$PG_DB"
pg "$PG_DB" -c "CREATE TABLE tmp_daemon_1 (id int)"

mkdir -p "$WORK/policies"
cat >"$WORK/policies/p.conf" <<'CONF'
scratch_tables = { include = [ "tmp_*" ]; min_age = "1s"; require_idle = false;
                   dry_run = true; interval = "1h"; };
statistics = { analyze = false; metrics_interval = "1h"; };
CONF
write_main_config '"p"'
log=$WORK/daemon.log
if [[ $(id -u) == 0 ]]; then
	dbk -c "$WORK/dbkeeper.conf" run
	assert_eq 2 "$RC" "run refuses root without --allow-root"
	assert_contains "$OUT" "refusing to run as root" "says why"
	root_flag=--allow-root
fi
"$DBK_BIN" -c "$WORK/dbkeeper.conf" ${root_flag:-} run 2>"$log" &
pid=$!

has_log() { grep -qF -- "$1" "$log"; }
run_records() { grep -l '"kind":"run"' "$WORK"/queue/reports/new/*.json 2>/dev/null | wc -l; }
has_run() { (($(run_records) >= 1)); }

wait_for 60 has_log "running: 1 targets" && ok "daemon started" || fail "daemon did not start"
wait_for 120 has_run && ok "daemon ran a cycle and wrote a run record" || fail "no run record"

# A valid new configuration: a second target name.
sed -i 's/name = "pg"/name = "pg2"/' "$WORK/dbkeeper.conf"
kill -HUP "$pid"
wait_for 60 has_log "configuration reloaded" && ok "SIGHUP reloads a valid config" || fail "no reload"

# An invalid one: the old configuration stays.
echo 'this is = not valid' >>"$WORK/dbkeeper.conf"
kill -HUP "$pid"
wait_for 60 has_log "reload failed, keeping the old configuration" &&
	ok "SIGHUP with an invalid config keeps the old one" || fail "invalid reload not reported"
grep -F "reload failed" "$log" | grep -qF "dbkeeper.conf:" &&
	ok "reload error names file:line" || fail "reload error without file:line"
kill -0 "$pid" && ok "still running after a bad reload" || fail "died on bad reload"

kill -TERM "$pid"
set +e
wait "$pid"
rc=$?
set -e
assert_eq 0 "$rc" "SIGTERM stops with exit 0"
has_log "stopped" && ok "logs that it stopped" || fail "no stop message"
finish

#!/usr/bin/env bash
# Binary log retention with a real replica of the MariaDB tests/servers.sh
# started (a second mariadbd, tests/integration/my_replica.sh):
#  (a) replica connected: old binary logs are purged, the current one (which
#      the replica reads) stays, and the state remembers the replica;
#  (b) replica shut down: nothing is purged and a lasting warning names it,
#      in the output and in the queue;
#  (c) replica back: it catches up through the files that were kept, the
#      finding resolves and purging goes on;
#  (d) an account that may not list replicas purges nothing and says why.
source "$(dirname "$0")/lib.sh"
servers_env
command -v jq >/dev/null || { echo "FAIL: jq is needed (tests/install-deps.sh)" >&2; exit 1; }

MY_DB=mytest_repl
RID=4201 # the replica's server_id
RDIR=$WORK/replica
AGENT_USER=dbk_repl_$$
rep() { bash "$DBK_SOURCE_DIR/tests/integration/my_replica.sh" "$@"; }
teardown() {
	rep stop "$RDIR" >/dev/null 2>&1 || true
	my mysql -e "DROP USER IF EXISTS '$AGENT_USER'@'127.0.0.1'" >/dev/null 2>&1 || true
	cleanup
}
trap teardown EXIT

q() { my "$MY_DB" -N -B -r -e "$1"; }
pq() { my mysql -N -B -r -e "$1"; }             # on the primary
rq() { rep sql "$RDIR" -N -B -r -e "$1"; }      # on the replica
binlogs() { pq "SHOW BINARY LOGS" | cut -f1; }
binlog_dir=$DBK_SERVERS_DIR/my/binlog
# Ages every binary log but the current one past the retention (the agent
# reads a file's age from its mtime, on the server's host).
age_old_binlogs() {
	local f
	for f in $(binlogs | head -n -1); do touch -d '30 days ago' "$binlog_dir/$f"; done
}
slave_field() { rep sql "$RDIR" -e "SHOW SLAVE STATUS\G" | sed -n "s/^ *$1: //p"; }
listed() { pq "SHOW SLAVE HOSTS" | cut -f1 | grep -qx "$RID"; }
not_listed() { ! listed; }
# A row written on the primary that the replica has applied: it is
# connected, reading and caught up to that point.
beat() { q "INSERT INTO beat (note) VALUES ('$1')"; }
has_beat() { [[ $(rq "SELECT COUNT(*) FROM $MY_DB.beat WHERE note = '$1'" 2>/dev/null) == 1 ]]; }
once_json() { # N [config]: `once --json` into $WORK/onceN.json, exit status in RC
	set +e
	"$DBK_BIN" -c "${2:-$CONF_FILE}" --json once >"$WORK/once$1.json" 2>"$WORK/once$1.err"
	RC=$?
	set -e
}
jqf() { jq -r "$2" "$WORK/$1"; }
purged_in() { jqf "$1" '[.[] | .actions[] | select(.action=="purge_server_logs") | .objects[]
	| select(.status=="done") | .name] | join(" ")'; }
replica_finding='.[] | .findings[] | select(.category=="server_logs" and .object=="replica '$RID'")'
queue_findings() { "$DBK_BIN" -c "$CONF_FILE" queue list --json --kind finding; }
started=$SECONDS

# ---- the primary and its replica ----
assert_eq "1" "$(pq "SELECT @@log_bin")" "the primary writes binary logs"
# A replica needs a primary with a server id of its own.
[[ $(pq "SELECT @@server_id") != 0 ]] || pq "SET GLOBAL server_id = 1"
[[ $(pq "SELECT @@server_id") != "$RID" ]] || { echo "FAIL: primary has the replica's server id" >&2; exit 1; }
read -r file pos < <(pq "SHOW MASTER STATUS" | cut -f1,2)
rep start "$RDIR" "$RID"
rep follow "$RDIR" "$file" "$pos"
# Created after the replica's start position: the replica creates it too.
my_fresh_db "$MY_DB"
q "CREATE TABLE beat (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(40) NOT NULL)"
beat start
wait_for 60 has_beat start && ok "the replica applies the primary's writes" ||
	fail "the replica never applied a write: $(slave_field Last_IO_Error) $(slave_field Last_SQL_Error)"
wait_for 60 listed && ok "SHOW SLAVE HOSTS lists replica $RID" || fail "replica $RID never listed"
rport=$(cat "$RDIR/port")
assert_eq "$RID 127.0.0.1 $rport" "$(pq "SHOW SLAVE HOSTS" | awk -v id="$RID" '$1 == id { print $1, $2, $3 }')" \
	"the primary reports the replica's id, host and port"

# ---- configuration ----
mkdir -p "$WORK/policies"
cat >"$WORK/policies/p.conf" <<'CONF'
budget = { lock_timeout = "1s"; statement_timeout = "60s"; };
server_logs = { dry_run = false; retention = "1d"; keep = 1; };
CONF
write_main_config '"p"'
CONF_FILE=$WORK/dbkeeper.conf
dbk -c "$CONF_FILE" check-config
assert_eq 0 "$RC" "check-config accepts the test configuration"
STATE=$WORK/state/my.state.json

# ---- (a) replica connected: old binary logs go, the current one stays ----
for _ in 1 2 3; do pq "FLUSH BINARY LOGS"; done
beat a
wait_for 60 has_beat a || fail "the replica did not follow the rotation"
mapfile -t logs_a < <(binlogs)
current_a=${logs_a[-1]}
((${#logs_a[@]} >= 4)) && ok "binary logs rotated" || fail "expected 4+ binary logs, got ${#logs_a[@]}"
age_old_binlogs
assert_eq "$current_a" "$(slave_field Master_Log_File)" "the replica reads the current binary log"

dbk -c "$CONF_FILE" plan
assert_eq 0 "$RC" "plan exits 0"
assert_contains "$OUT" "PURGE BINARY LOGS TO '$current_a'" "plan shows the purge up to the current log"
assert_not_contains "$OUT" "replica $RID" "plan: a connected replica is no finding"
assert_eq "$(printf '%s\n' "${logs_a[@]}")" "$(binlogs)" "plan purged nothing"
[[ ! -e $STATE ]] && ok "plan wrote no state" || fail "plan wrote $STATE"

once_json 1
assert_eq 0 "$RC" "once #1 exits 0"
assert_eq "$current_a" "$(binlogs)" "once #1 purged every old binary log and kept the current one"
assert_eq "$(printf '%s ' "${logs_a[@]:0:${#logs_a[@]}-1}" | sed 's/ $//')" "$(purged_in once1.json)" \
	"once #1 reports each purged log done"
assert_eq "" "$(jqf once1.json "$replica_finding | .object")" "once #1: no finding about the connected replica"
assert_eq "$RID 127.0.0.1 $rport" "$(jq -r --arg id "$RID" '.replicas[] | select(.id == $id) | "\(.id) \(.host) \(.port)"' "$STATE")" \
	"the state remembers the replica with its host and port"
beat a2
wait_for 60 has_beat a2 && ok "the replica still replicates after the purge" ||
	fail "replication broke after once #1: $(slave_field Last_IO_Error)"

# ---- (b) replica gone: nothing is purged, a warning names it ----
rep stop "$RDIR"
wait_for 60 not_listed && ok "the primary no longer lists the stopped replica" || fail "replica $RID still listed"
# The replica stopped in $current_a; what follows is what it will need.
beat away
for _ in 1 2; do pq "FLUSH BINARY LOGS"; done
beat away2
mapfile -t logs_b < <(binlogs)
assert_eq "$current_a" "${logs_b[0]}" "the file the replica stopped in is still there"
age_old_binlogs

once_json 2
assert_eq 0 "$RC" "once #2 exits 0"
assert_eq "$(printf '%s\n' "${logs_b[@]}")" "$(binlogs)" "once #2 purged no binary log while the replica is away"
assert_eq "" "$(purged_in once2.json)" "once #2 reports no purged log"
assert_eq "warning" "$(jqf once2.json "$replica_finding | .severity")" "once #2: a warning names replica $RID"
assert_contains "$(jqf once2.json "$replica_finding | .evidence")" "server id $RID" \
	"the finding's evidence names the server id"
assert_eq "open" "$(queue_findings | jq -r --arg o "replica $RID" '[.[] | select(.object == $o)] | last | .status')" \
	"the queue holds the open finding"
dbk -c "$CONF_FILE" plan
assert_contains "$OUT" "replica $RID" "plan's text output names the missing replica"
assert_not_contains "$OUT" "PURGE BINARY LOGS" "plan shows no purge while the replica is away"

# ---- (c) replica back: it catches up from the kept files, purging resumes ----
rep start "$RDIR" "$RID"
wait_for 60 has_beat away2 && ok "the replica caught up through the kept binary logs" ||
	fail "the replica did not catch up: $(slave_field Last_IO_Error)"
assert_eq 3 "$(rq "SELECT COUNT(*) FROM $MY_DB.beat WHERE note IN ('a2', 'away', 'away2')")" \
	"the replica has every row written while it was away"
wait_for 60 listed && ok "the restarted replica is listed again" || fail "replica $RID not listed after restart"
beat c
wait_for 60 has_beat c || fail "the replica does not follow after restart"
current_c=$(binlogs | tail -n1)
assert_eq "$current_c" "$(slave_field Master_Log_File)" "the replica reads the current binary log again"

once_json 3
assert_eq 0 "$RC" "once #3 exits 0"
assert_eq "$current_c" "$(binlogs)" "once #3 purged the logs held back, kept the current one"
assert_eq "" "$(jqf once3.json "$replica_finding | .object")" "once #3: no finding about the replica"
assert_eq "resolved" "$(queue_findings | jq -r --arg o "replica $RID" '[.[] | select(.object == $o)] | last | .status')" \
	"the queue records the finding resolved"
beat c2
wait_for 60 has_beat c2 && ok "the replica still replicates after once #3" || fail "replication broke after once #3"

# ---- (d) replicas not readable: no purge, and a finding says why ----
for _ in 1 2; do pq "FLUSH BINARY LOGS"; done
age_old_binlogs
mapfile -t logs_d < <(binlogs)
set +e
my mysql --init-command="SET @app_schema='$MY_DB', @agent_user='$AGENT_USER', @agent_host='127.0.0.1', @agent_password='pw_$$'" \
	<"$DBK_SOURCE_DIR/packaging/sql/mysql-user.sql" >"$WORK/grant.log" 2>&1
grc=$?
set -e
assert_eq 0 "$grc" "mysql-user.sql runs: $(cat "$WORK/grant.log")"
# The packaged grants let the account list replicas; without that one
# privilege it may do everything else.
my mysql -u"$AGENT_USER" -p"pw_$$" -e "SHOW SLAVE HOSTS" >/dev/null 2>&1 &&
	ok "mysql-user.sql grants what SHOW SLAVE HOSTS needs" || fail "the agent account cannot list replicas"
pq "REVOKE REPLICATION MASTER ADMIN ON *.* FROM '$AGENT_USER'@'127.0.0.1'"
umask 077
echo "pw_$$" >"$WORK/pw"
umask 022
sed -e "s/user = \"$DBK_MY_USER\";/user = \"$AGENT_USER\";/" \
	-e "s|name = \"my\"; driver = \"mysql\";|name = \"my\"; driver = \"mysql\"; password_file = \"$WORK/pw\";|" \
	-e "s|state_dir = .*|state_dir = \"$WORK/state_d\";|" "$CONF_FILE" >"$WORK/d.conf"
once_json 4 "$WORK/d.conf"
assert_eq 0 "$RC" "once #4 exits 0 ($(head -c 300 "$WORK/once4.err"))"
assert_eq "$(printf '%s\n' "${logs_d[@]}")" "$(binlogs)" "once #4 purged nothing without the replica list"
assert_eq "binary logs not purged (replicas not assessed)" \
	"$(jqf once4.json '.[] | .findings[] | select(.category=="server_logs") | .title')" \
	"once #4: a finding says the replicas were not assessed"
assert_contains "$(cat "$WORK/once4.err")" "REPLICATION MASTER ADMIN" "the log names the missing privilege"

echo "test took $((SECONDS - started)) s"
finish

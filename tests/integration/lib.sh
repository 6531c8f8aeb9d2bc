# tests/integration/lib.sh: shared helpers for the integration tests. Each
# test gets fresh databases on the servers tests/servers.sh started, a
# scratch directory for config, state and queue, and plain assertions.
# Sourced, not run. Needs DBK_BIN, DBK_DRIVER_DIR, DBK_SOURCE_DIR.
set -euo pipefail

: "${DBK_BIN:?run through ctest}" "${DBK_SOURCE_DIR:?}" "${DBK_DRIVER_DIR:?}"
export DBKEEPER_DRIVER_DIR=$DBK_DRIVER_DIR
TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dbk-${TEST_NAME}.XXXXXX")
chmod 755 "$WORK"
FAILS=0

cleanup() { [[ ${KEEP_WORK:-} ]] || rm -rf "$WORK"; }
trap cleanup EXIT

servers_env() {
	eval "$(bash "$DBK_SOURCE_DIR/tests/servers.sh" env)" ||
		{ echo "servers not running: use tests/run-tests.sh" >&2; exit 1; }
}

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }
assert_eq() { # expected actual message
	if [[ "$1" == "$2" ]]; then ok "$3"; else fail "$3: expected [$1], got [$2]"; fi
}
assert_contains() { # haystack needle message
	if grep -qF -- "$2" <<<"$1"; then ok "$3"; else fail "$3: [$2] not in output:"; echo "$1" | head -40 >&2; fi
}
assert_not_contains() {
	if grep -qF -- "$2" <<<"$1"; then fail "$3: [$2] found in output"; else ok "$3"; fi
}
finish() {
	if ((FAILS > 0)); then echo "$FAILS check(s) failed" >&2; exit 1; fi
	echo "all checks passed"
}

# Runs dbkeeper, capturing output in $OUT and exit status in $RC.
dbk() {
	set +e
	OUT=$("$DBK_BIN" "$@" 2>&1)
	RC=$?
	set -e
}

# psql on a database of the test server: pg DB [psql args...]
pg() {
	local db=$1; shift
	PGCONNECT_TIMEOUT=10 psql -X -q -v ON_ERROR_STOP=1 -h "$DBK_PG_HOST" -p "$DBK_PG_PORT" -U "$DBK_PG_USER" -d "$db" "$@"
}
pg_fresh_db() { # name
	pg postgres -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" -c "CREATE DATABASE \"$1\""
}
my() {
	local db=$1; shift
	mariadb --protocol=TCP -h "$DBK_MY_HOST" -P "$DBK_MY_PORT" -u "$DBK_MY_USER" --connect-timeout=10 "$db" "$@"
}
my_fresh_db() {
	my mysql -e "DROP DATABASE IF EXISTS \`$1\`; CREATE DATABASE \`$1\` CHARACTER SET utf8mb4"
}

# write_config FILE POLICY_NAMES... : a main file with the given targets
# (variables PG_DB / MY_DB select which engines) in $WORK.
write_main_config() {
	local policies=$1
	mkdir -p "$WORK/policies" "$WORK/state"
	{
		echo "state_dir = \"$WORK/state\";"
		echo "queue_dir = \"$WORK/queue\";"
		echo "policy_dir = \"$WORK/policies\";"
		echo "targets = ("
		local sep=""
		if [[ ${PG_DB:-} ]]; then
			echo "  { name = \"pg\"; driver = \"postgres\"; policies = [ $policies ];"
			echo "    connection = { conninfo = \"host=$DBK_PG_HOST port=$DBK_PG_PORT user=$DBK_PG_USER dbname=$PG_DB\"; }; }"
			sep=","
		fi
		if [[ ${MY_DB:-} ]]; then
			echo "  $sep{ name = \"my\"; driver = \"mysql\"; policies = [ $policies ];"
			echo "    connection = { host = \"$DBK_MY_HOST\"; port = $DBK_MY_PORT; user = \"$DBK_MY_USER\"; database = \"$MY_DB\"; }; }"
		fi
		echo ");"
	} >"$WORK/dbkeeper.conf"
}

# wait_for SECONDS COMMAND...: polls until COMMAND succeeds; a generous
# deadline, never a timed assertion.
wait_for() {
	local deadline=$((SECONDS + $1)); shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}

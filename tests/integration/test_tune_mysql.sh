#!/usr/bin/env bash
# Tuning on a real MariaDB (issue 5). Provokes a session idle in a
# transaction, an unused index (40 days of history faked in the state), a
# redundant index, a large table read by full scans with its statement
# digest, and the scratch server's small innodb_buffer_pool_size, and
# checks `dbkeeper tune` (terminal and --json) reports each with numbers
# and a remedy; that the primary key, a unique index and the index a
# foreign key needs are never proposed for dropping; that a persisting
# condition is one finding with a growing count and then a resolved
# record; --apply's progress lines and bar; and that a clean database
# raises no warning or critical finding.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tune_lib.sh"
servers_env
MY_DB=tune_my
CLEAN_DB=tune_my_clean
CONF=$WORK/dbkeeper.conf
QUEUE=$WORK/queue/reports
IDLE_SQL="BEGIN; UPDATE customers SET id = id WHERE id = 1;"

q() { my "$MY_DB" -N -B -e "$1"; }
traffic() {
	local i=0
	while [[ ! -e $WORK/traffic.stop ]]; do
		i=$((i + 1))
		echo "SELECT COUNT(*) FROM big_a WHERE customer_id = $((i % 500));"
		sleep 0.1
	done
}
traffic_stop() {
	if [[ ${TRAFFIC_PID:-} ]]; then
		touch "$WORK/traffic.stop"
		wait "$TRAFFIC_PID" 2>/dev/null || true
		TRAFFIC_PID=
	fi
}
stop_all() {
	set +e
	traffic_stop
	daemon_stop
	idle_stop
	[[ ${KEEP_WORK:-} ]] || my mysql -e "DROP DATABASE IF EXISTS \`$MY_DB\`;
		DROP DATABASE IF EXISTS \`$CLEAN_DB\`" >/dev/null 2>&1
	cleanup
}
trap stop_all EXIT

# ---- The database and its problems ----
my_fresh_db "$MY_DB"
my "$MY_DB" <<'SQL'
CREATE TABLE customers (id int PRIMARY KEY) ENGINE=InnoDB;
INSERT INTO customers SELECT seq FROM seq_1_to_1000;
CREATE TABLE orders (id int PRIMARY KEY, customer_id int, code varchar(20),
	note varchar(40), UNIQUE KEY uq_orders_code (code), KEY ix_orders_note (note),
	KEY ix_orders_cust (customer_id), KEY ix_orders_cust_dup (customer_id),
	CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id))
	ENGINE=InnoDB;
INSERT INTO orders SELECT seq, 1 + seq % 1000, CONCAT('c', seq), CONCAT('n', seq)
	FROM seq_1_to_20000;
CREATE TABLE big_a (id int PRIMARY KEY, customer_id int, flag int, payload char(40))
	ENGINE=InnoDB;
INSERT INTO big_a SELECT seq, seq % 20000, seq % 2, REPEAT('x', 40) FROM seq_1_to_200000;
CREATE TABLE tmp_scratch (id int);
ANALYZE TABLE customers, orders, big_a;
SQL
traffic | my "$MY_DB" >/dev/null 2>&1 4>&- &
TRAFFIC_PID=$!

mkdir -p "$WORK/policies"
cp "$DBK_SOURCE_DIR/policies/rules-mysql.conf" "$WORK/policies/"
cat >"$WORK/policies/t.conf" <<'CONF'
statistics = { analyze = false; metrics_interval = "1s"; };
reminder = "1s";
rules = (
	{ name = "idle_quick"; metric = "idle_in_transaction"; op = ">="; warning = 2;
	  title = "a session has been idle in a transaction for {value}";
	  recommendation = "end it: KILL the thread of information_schema.INNODB_TRX whose PROCESSLIST command is Sleep"; }
);
CONF
cat >"$WORK/policies/apply.conf" <<'CONF'
scratch_tables = { include = [ "tmp_*" ]; min_age = "1s"; require_idle = false; dry_run = false; };
CONF
write_main_config '"rules-mysql", "t"'
sed 's/"rules-mysql", "t"/"rules-mysql", "t", "apply"/' "$CONF" >"$WORK/apply.conf"
dbk -c "$CONF" check-config
assert_eq 0 "$RC" "the shipped MySQL rule pack passes check-config"

# ---- A finding that lasts ----
idle_start my "$MY_DB"
idle_seen() { [[ $(q "SELECT COUNT(*) FROM information_schema.INNODB_TRX t
	JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
	WHERE p.COMMAND = 'Sleep' AND p.TIME >= ${1:-0}") -ge 1 ]]; }
wait_for 30 idle_seen || fail "the idle session did not start"
daemon_start "$CONF" "$WORK/daemon.log"
still_open_3() { rec "$QUEUE" findings idle_quick | awk '$1 == "still_open" && $4 >= 3' | grep -q .; }
wait_for 60 still_open_3 && ok "the idle session is reported and counted" ||
	fail "no still_open record with count >= 3"
idle_stop
resolved() { rec "$QUEUE" findings idle_quick | grep -q '^resolved '; }
wait_for 30 resolved && ok "ending the transaction resolves the finding" || fail "no resolved record"
noted() { grep -q 'ix_orders_note' "$WORK/state/my@metrics.state.json" 2>/dev/null &&
          grep -q '"full_scans"' "$WORK/state/my@metrics.state.json"; }
wait_for 30 noted || fail "the statistics worker did not note the indexes and full scans"
daemon_stop
lines=$(rec "$QUEUE" findings idle_quick)
assert_eq 1 "$(grep -c '^open ' <<<"$lines")" "one open record for the persisting condition"
counts=$(awk '$1 == "still_open" { print $4 }' <<<"$lines" | tr '\n' ' ')
sorted=$(tr ' ' '\n' <<<"$counts" | grep . | sort -n | tr '\n' ' ')
[[ $counts == "$sorted" && $(wc -w <<<"$counts") -ge 2 ]] &&
	ok "still_open records count up: $counts" || fail "counts do not grow: $counts"

# ---- tune, with 40 days of index history and two hours of every condition ----
fake_history "$WORK/state/my@metrics.state.json"
idle_start my "$MY_DB"
wait_for 30 idle_seen 3 || fail "the idle session did not start again"
dbk -c "$CONF" tune my
TEXT=$OUT
assert_eq 0 "$RC" "tune exits 0"
assert_contains "$TEXT" "== tune my (mysql, mariadb" "terminal: header"
assert_contains "$TEXT" "WARNING (" "terminal: grouped by severity"
assert_contains "$TEXT" "a session has been idle in a transaction for" "idle in transaction"
assert_contains "$TEXT" "index $MY_DB.orders.ix_orders_note has not been used in 40.0 days" "unused index"
assert_contains "$TEXT" "remedy:   ALTER TABLE \`$MY_DB\`.\`orders\` DROP INDEX \`ix_orders_note\`;" \
	"unused index: remedy"
assert_not_contains "$TEXT" 'DROP INDEX `uq_orders_code`' "a unique index is never proposed for dropping"
assert_not_contains "$TEXT" 'DROP INDEX `PRIMARY`' "nor the primary key"
assert_not_contains "$TEXT" 'DROP INDEX `ix_orders_cust`;' "nor the index the foreign key needs"
assert_contains "$TEXT" "index $MY_DB.orders.ix_orders_cust_dup duplicates ix_orders_cust" "redundant index"
assert_contains "$TEXT" "$MY_DB.big_a (" "full scans of big_a"
assert_contains "$TEXT" 'SELECT COUNT ( * ) FROM `big_a` WHERE `customer_id` = ?' \
	"full scans: the statement digest is named"
assert_contains "$TEXT" "rows read by full scans and" "full scans: evidence with numbers"
assert_contains "$TEXT" "innodb_buffer_pool_size is 64M; suggested" "small buffer pool against host memory"
assert_contains "$TEXT" "under [mysqld] in my.cnf: 70% of the host's" "buffer pool: a configuration line and the reason"
assert_contains "$TEXT" "housekeeping plan (" "then the housekeeping plan"

dbk -c "$CONF" --json tune my
printf '%s' "$OUT" >"$WORK/tune.json"
json_check "$WORK/tune.json" \
	'j["server"]["flavour"] == "mariadb"' \
	'all(f["evidence"] and any(c.isdigit() for c in f["evidence"]) for f in F)' \
	'all(f["recommendation"] for f in F if f.get("source") == "rules")' \
	'any(f["rule"] == "idle_quick" and f["severity"] == "warning" for f in F)' \
	'any(f["rule"] == "full_scans" and f["object"] == "tune_my.big_a" and not f["pending"] for f in F)' \
	'any(f["rule"] == "unused_index" and f["object"] == "tune_my.orders.ix_orders_note" for f in F)' \
	'not any(f["rule"] == "unused_index" and f["object"].split(".")[-1] in ("PRIMARY", "uq_orders_code", "ix_orders_cust", "ix_orders_cust_dup") for f in F)' \
	'any(f["rule"] == "innodb_buffer_pool_size" and f["severity"] == "info" for f in F)' \
	'not any(f.get("rule") in ("dead_rows", "xid_wraparound", "shared_buffers") for f in F)' &&
	ok "--json: the same findings with numbers and remedies; no PostgreSQL rule misfires" ||
	{ fail "--json content"; cat "$WORK/tune.json" >&2; }
idle_stop
traffic_stop

# ---- --apply: progress lines off a terminal, a bar on one ----
dbk -c "$WORK/apply.conf" tune my --apply --yes
assert_contains "$OUT" "[1/1] drop tables $MY_DB.tmp_scratch ..." "not a terminal: plain progress lines"
assert_contains "$OUT" "[1/1]   dropping" "and a line for the driver's phase"
if grep -q $'\r' <<<"$OUT"; then fail "no carriage returns off a terminal"; else ok "no bar off a terminal"; fi
assert_eq "0" "$(q "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$MY_DB'
	AND TABLE_NAME = 'tmp_scratch'")" "the scratch table is gone"
q "CREATE TABLE tmp_scratch2 (id int)"
old_enough() { [[ $(q "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$MY_DB'
	AND TABLE_NAME = 'tmp_scratch2' AND CREATE_TIME < NOW() - INTERVAL 1 SECOND") == 1 ]]; }
wait_for 30 old_enough || fail "tmp_scratch2 never got older than min_age"
script -qec "$DBK_BIN -c $WORK/apply.conf tune my --apply --yes" /dev/null >"$WORK/tty.out" 2>&1 || true
assert_contains "$(cat -v "$WORK/tty.out")" '^M^[[K[##############################] 1/1 drop tables' \
	"on a terminal: a progress bar"
assert_contains "$(cat -v "$WORK/tty.out")" "drop tables $MY_DB.tmp_scratch2 - dropping " \
	"the bar shows the driver's phase"

# ---- A clean database raises no warning or critical finding ----
my_fresh_db "$CLEAN_DB"
my "$CLEAN_DB" <<'SQL'
CREATE TABLE items (id int PRIMARY KEY, name varchar(40) NOT NULL, KEY ix_name (name)) ENGINE=InnoDB;
INSERT INTO items SELECT seq, CONCAT('item ', seq) FROM seq_1_to_5000;
ANALYZE TABLE items;
SELECT COUNT(*) FROM items WHERE id = 42;
SELECT COUNT(*) FROM items WHERE name = 'item 7';
SQL
mkdir -p "$WORK/clean/policies"
cp "$DBK_SOURCE_DIR/policies/rules-mysql.conf" "$WORK/clean/policies/"
echo 'statistics = { analyze = false; metrics_interval = "1s"; };' >"$WORK/clean/policies/s.conf"
cat >"$WORK/clean/dbkeeper.conf" <<CONF
state_dir = "$WORK/clean/state";
queue_dir = "$WORK/clean/queue";
policy_dir = "$WORK/clean/policies";
targets = ( { name = "clean"; driver = "mysql"; policies = [ "rules-mysql", "s" ];
  connection = { host = "$DBK_MY_HOST"; port = $DBK_MY_PORT; user = "$DBK_MY_USER";
                 database = "$CLEAN_DB"; }; } );
CONF
daemon_start "$WORK/clean/dbkeeper.conf" "$WORK/clean.log"
three_samples() { (($(rec "$WORK/clean/queue/reports" kinds | grep -c '^metrics') >= 3)); }
wait_for 60 three_samples || fail "no statistics on the clean database"
daemon_stop
bad=$(rec "$WORK/clean/queue/reports" findings | awk '$3 == "warning" || $3 == "critical"')
assert_eq "" "$bad" "the daemon raises no warning or critical finding on a clean database"
dbk -c "$WORK/clean/dbkeeper.conf" --json tune clean
printf '%s' "$OUT" >"$WORK/clean.json"
json_check "$WORK/clean.json" 'j["counts"]["warning"] == 0 and j["counts"]["critical"] == 0' &&
	ok "tune raises no warning or critical finding on a clean database" ||
	{ fail "clean database"; cat "$WORK/clean.json" >&2; }
finish

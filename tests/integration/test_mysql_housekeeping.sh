#!/usr/bin/env bash
# The MySQL driver's housekeeping end to end, on the MariaDB tests/servers.sh
# started, through the real binary: `plan` changes nothing; `once` drops
# exactly the scratch tables (online-schema-change leftovers and hostile
# names included) and no decoy; purges exactly the log rows past retention
# (keeping the AUTO_INCREMENT high-water row); rebuilds a fragmented table
# online while a writer keeps inserting; purges old binary logs but the
# current one; refuses a locking rebuild (exit 3); and every action and
# finding lands in the report queue.
source "$(dirname "$0")/lib.sh"
servers_env
command -v jq >/dev/null || { echo "FAIL: jq is needed (tests/install-deps.sh)" >&2; exit 1; }

MY_DB=mytest_hk
OTHER_DB=mytest_hk_other
my_fresh_db "$MY_DB"
my_fresh_db "$OTHER_DB"
q() { my "$MY_DB" -N -B -r -e "$1"; } # one value or raw rows, no escaping

# ---- the database ----
my "$MY_DB" <<'SQL'
SET NAMES utf8mb4;
CREATE TABLE seed_digits (d INT NOT NULL PRIMARY KEY);
INSERT INTO seed_digits VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9);

-- decoys: near misses, excluded names, a view, a user table named like an orphan
CREATE TABLE users (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50));
INSERT INTO users (name) VALUES ('ann'), ('bob');
CREATE TABLE invoices (id INT AUTO_INCREMENT PRIMARY KEY, amount INT);
INSERT INTO invoices (amount) VALUES (10), (20);
CREATE TABLE temperature (id INT PRIMARY KEY);
CREATE TABLE template_pages (id INT PRIMARY KEY);
CREATE TABLE tmpl_pages (id INT PRIMARY KEY);
CREATE TABLE `TMP_upper` (id INT PRIMARY KEY);
CREATE TABLE `tmp` (id INT PRIMARY KEY);
CREATE TABLE my_tmp_table (id INT PRIMARY KEY);
CREATE TABLE tmp_keep_forever (id INT PRIMARY KEY);
CREATE TABLE `#sql-decoy` (id INT PRIMARY KEY);
CREATE VIEW tmp_view AS SELECT 1 AS x;
-- matches tmp_*, but is written to between the two observations
CREATE TABLE tmp_busy (id INT AUTO_INCREMENT PRIMARY KEY, v INT);
INSERT INTO tmp_busy (v) VALUES (1);
-- pt-online-schema-change is running on items: its _items_new must stay
CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, a INT NOT NULL, b INT NOT NULL,
	KEY idx_a (a), KEY idx_a_b (a, b));
INSERT INTO items (a, b) SELECT x.d, y.d FROM seed_digits x CROSS JOIN seed_digits y;
CREATE TABLE _items_new LIKE items;
CREATE TRIGGER pt_osc_mytest_hk_items_ins AFTER INSERT ON items FOR EACH ROW
	REPLACE INTO _items_new (id, a, b) VALUES (NEW.id, NEW.a, NEW.b);

-- scratch tables, hostile names among them
CREATE TABLE tmp_import_2023 (id INT PRIMARY KEY, payload VARCHAR(200));
INSERT INTO tmp_import_2023 SELECT a.d * 10 + b.d, REPEAT('x', 100)
	FROM seed_digits a CROSS JOIN seed_digits b;
CREATE TABLE orders_bak_20240101 LIKE invoices;
INSERT INTO orders_bak_20240101 SELECT * FROM invoices;
CREATE TABLE `tmp_x``; DROP TABLE users;--` (id INT PRIMARY KEY);
INSERT INTO `tmp_x``; DROP TABLE users;--` VALUES (1);
CREATE TABLE `tmp_'; DROP TABLE invoices; --` (id INT PRIMARY KEY);
CREATE TABLE `tmp_"dq"` (id INT PRIMARY KEY);
CREATE TABLE `tmp_back\slash` (id INT PRIMARY KEY);
CREATE TABLE `tmp_semi;colon` (id INT PRIMARY KEY);
CREATE TABLE `tmp_café` (id INT PRIMARY KEY, note VARCHAR(20));
INSERT INTO `tmp_café` VALUES (1, 'crème');
CREATE TABLE `tmp_日本語` (id INT PRIMARY KEY);
-- what pt-online-schema-change and gh-ost leave behind when they die
CREATE TABLE _invoices_old LIKE invoices;
INSERT INTO _invoices_old SELECT * FROM invoices;
CREATE TABLE _invoices_new LIKE invoices;
CREATE TABLE _invoices_gho LIKE invoices;
CREATE TABLE _invoices_ghc (id BIGINT PRIMARY KEY, hint VARCHAR(64), value VARCHAR(4096));
CREATE TABLE _invoices_del LIKE invoices;

-- log tables: app_log's ids 1..7000 are 40+ days old, 7001..10000 recent;
-- "audit`é; DROP TABLE users" (hostile names, a unix-seconds time column) is all old
CREATE TABLE app_log (id BIGINT AUTO_INCREMENT PRIMARY KEY, created_at DATETIME NOT NULL,
	msg VARCHAR(40) NOT NULL, KEY idx_created_at (created_at));
INSERT INTO app_log (created_at, msg)
	SELECT NOW() - INTERVAL 40 DAY - INTERVAL n MINUTE, CONCAT('old ', n) FROM
	(SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d AS n FROM seed_digits a, seed_digits b,
	 seed_digits c, seed_digits e WHERE e.d < 7) s ORDER BY n DESC;
INSERT INTO app_log (created_at, msg)
	SELECT NOW() - INTERVAL n MINUTE, CONCAT('new ', n) FROM
	(SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d AS n FROM seed_digits a, seed_digits b,
	 seed_digits c, seed_digits e WHERE e.d < 3) s ORDER BY n DESC;
CREATE TABLE `audit``é; DROP TABLE users` (id INT AUTO_INCREMENT PRIMARY KEY, `at``x` INT UNSIGNED NOT NULL,
	what VARCHAR(20) NOT NULL);
INSERT INTO `audit``é; DROP TABLE users` (`at``x`, what)
	SELECT UNIX_TIMESTAMP() - 40 * 86400 - (a.d + 10 * b.d + 100 * c.d), 'login'
	FROM seed_digits a, seed_digits b, seed_digits c, (SELECT d FROM seed_digits WHERE d < 2) e;

-- a log table without a primary key: purged by time; 500 old rows, 100 recent
CREATE TABLE plain_log (ts DATETIME NOT NULL, msg VARCHAR(20) NOT NULL);
INSERT INTO plain_log SELECT NOW() - INTERVAL 45 DAY + INTERVAL a.d + 10 * b.d + 100 * c.d MINUTE, 'old'
	FROM seed_digits a, seed_digits b, (SELECT d FROM seed_digits WHERE d < 5) c;
INSERT INTO plain_log SELECT NOW() - INTERVAL a.d + 10 * b.d MINUTE, 'new' FROM seed_digits a, seed_digits b;

-- a fragmented table: 60,000 rows, the upper half deleted
CREATE TABLE frag (id INT AUTO_INCREMENT PRIMARY KEY, pad CHAR(255) NOT NULL,
	pad2 CHAR(100) NOT NULL, note VARCHAR(20) NOT NULL DEFAULT 'seed',
	wrote_at DATETIME(6) NULL) ENGINE=InnoDB;
INSERT INTO frag (pad, pad2) SELECT 'f', 'g' FROM seed_digits a, seed_digits b, seed_digits c,
	seed_digits e, (SELECT d FROM seed_digits WHERE d < 6) f;
DELETE FROM frag WHERE id > 30000;
DROP TABLE seed_digits;
SQL
my "$OTHER_DB" -e "CREATE TABLE tmp_other_1 (id INT PRIMARY KEY); CREATE TABLE tmp_import_2023 (id INT PRIMARY KEY);"

# InnoDB's purge frees the deleted half in the background; the statistics
# must see it, as they would on a real server some time after the delete.
frag_freed() { (($(q "SELECT DATA_FREE FROM information_schema.TABLES WHERE TABLE_SCHEMA='$MY_DB' AND TABLE_NAME='frag'") >= 8388608)); }
wait_for 60 frag_freed || fail "frag's free space never showed in DATA_FREE"
q "ANALYZE TABLE frag" >/dev/null
frag_free_before=$(q "SELECT DATA_FREE FROM information_schema.TABLES WHERE TABLE_SCHEMA='$MY_DB' AND TABLE_NAME='frag'")

# Binary logs: the current one and a few old ones (their age is the file's
# mtime, as the agent reads it on the server's host).
for _ in 1 2 3; do q "FLUSH BINARY LOGS"; done
mapfile -t binlogs < <(q "SHOW BINARY LOGS" | cut -f1)
current=${binlogs[-1]}
old_binlogs=("${binlogs[@]:0:${#binlogs[@]}-1}")
((${#old_binlogs[@]} >= 3)) && ok "binary logs rotated" || fail "expected 3+ old binary logs"
for f in "${old_binlogs[@]}"; do touch -d '30 days ago' "$DBK_SERVERS_DIR/my/binlog/$f"; done

# ---- configuration ----
mkdir -p "$WORK/policies" "$WORK/state"
cat >"$WORK/policies/p.conf" <<'CONF'
budget = { lock_timeout = "1s"; statement_timeout = "60s"; };
scratch_tables = { include = [ "tmp_*", "*_bak_[0-9]*" ]; exclude = [ "tmp_keep_*" ];
                   schemas = [ "mytest_hk" ]; min_age = "1s"; require_idle = true;
                   tool_leftovers = true; max_per_statement = 8; dry_run = false; };
log_tables = { dry_run = false; tables = (
	{ table = "app_log"; time_column = "created_at"; retention = "30d"; batch_size = 700; pause = "10ms"; },
	{ table = "audit`é; DROP TABLE users"; time_column = "at`x"; retention = "30d"; batch_size = 300; pause = "10ms"; },
	{ table = "plain_log"; time_column = "ts"; retention = "30d"; batch_size = 150; pause = "10ms"; } ); };
indexes = { dry_run = false; min_size = "8MB"; min_bloat = 30; };
server_logs = { dry_run = false; retention = "7d"; keep = 1; };
CONF
# The other database's target may drop only in mytest_hk: nothing of its own.
cat >"$WORK/policies/p_other.conf" <<'CONF'
scratch_tables = { include = [ "tmp_*" ]; schemas = [ "mytest_hk" ]; min_age = "1s";
                   require_idle = false; dry_run = false; };
CONF
write_main_config '"p"'
sed -i '$d' "$WORK/dbkeeper.conf" # the closing ");" of targets
cat >>"$WORK/dbkeeper.conf" <<CONF
  ,{ name = "other"; driver = "mysql"; policies = [ "p_other" ];
    connection = { host = "$DBK_MY_HOST"; port = $DBK_MY_PORT; user = "$DBK_MY_USER"; database = "$OTHER_DB"; }; }
);
CONF
CONF_FILE=$WORK/dbkeeper.conf
dbk -c "$CONF_FILE" check-config
assert_eq 0 "$RC" "check-config accepts the test configuration"

tables() { my "$1" -N -B -r -e "SHOW TABLES" | LC_ALL=C sort; }
state_sig() { find "$WORK/state" -type f -printf '%p %s %T@\n' -exec sha256sum {} \; | LC_ALL=C sort; }
records() { find "$WORK/queue" -name '*.json' -path '*/new/*' 2>/dev/null | wc -l; }
# once_json N: `once --json` into $WORK/onceN.json, exit status in RC
once_json() {
	set +e
	"$DBK_BIN" -c "$CONF_FILE" --json once >"$WORK/once$1.json" 2>"$WORK/once$1.err"
	RC=$?
	set -e
}
jqf() { jq -r "$2" "$WORK/$1"; }

# ---- plan on a fresh state: prints, changes nothing ----
tables_before=$(tables "$MY_DB")
applog_before=$(q "SELECT COUNT(*) FROM app_log")
# What must survive the purges: app_log's recent rows (ids as InnoDB gave
# them), and the audit log's newest row.
AUDIT='`audit``é; DROP TABLE users`'
sig="SELECT CONCAT_WS(' ', COUNT(*), MIN(id), MAX(id), SUM(id)) FROM"
applog_recent=$(q "$sig app_log WHERE created_at > NOW() - INTERVAL 30 DAY")
applog_old=$(q "SELECT COUNT(*) FROM app_log WHERE created_at < NOW() - INTERVAL 30 DAY")
audit_top=$(q "SELECT CONCAT_WS(' ', 1, MAX(id)) FROM $AUDIT")
audit_n=$(q "SELECT COUNT(*) FROM $AUDIT")
assert_eq "7000 3000 2000" "$applog_old $(cut -d' ' -f1 <<<"$applog_recent") $audit_n" "the log tables hold the seeded rows"
dbk -c "$CONF_FILE" plan
assert_eq 0 "$RC" "plan exits 0"
assert_contains "$OUT" 'DELETE FROM `mytest_hk`.`app_log` WHERE `id` > @dbk_lo' "plan shows the purge batch"
assert_contains "$OUT" 'ALTER TABLE `mytest_hk`.`frag` FORCE, ALGORITHM=INPLACE, LOCK=NONE' "plan shows the online rebuild"
assert_contains "$OUT" "PURGE BINARY LOGS TO '$current'" "plan shows the binary log purge"
assert_eq "$tables_before" "$(tables "$MY_DB")" "plan dropped nothing"
assert_eq "$applog_before" "$(q "SELECT COUNT(*) FROM app_log")" "plan deleted no row"
assert_eq "${#binlogs[@]}" "$(q "SHOW BINARY LOGS" | wc -l)" "plan purged no binary log"
assert_eq "" "$(ls -A "$WORK/state")" "plan wrote no state file"
assert_eq 0 "$(records)" "plan wrote no queue record"

# ---- once #1: purge, rebuild under a concurrent writer, binary logs ----
# The writer appends to frag until told to stop (at most 3000 rows); the
# mariadb client stops at its first error and exits non-zero.
writer() {
	local i n=0
	for ((i = 0; i < 3000; i++)); do
		[[ -e $WORK/stop_writer ]] && break
		echo "INSERT INTO frag (pad, pad2, note, wrote_at) VALUES ('w', 'w', 'writer', NOW(6));"
		n=$((n + 1))
		sleep 0.02
	done
	echo "$n" >"$WORK/writer.sent"
}
(writer | my "$MY_DB") >"$WORK/writer.log" 2>&1 &
wpid=$!
writing() { (($(q "SELECT COUNT(*) FROM frag WHERE note = 'writer'") >= 3)); }
wait_for 60 writing || fail "the writer did not start"
once_json 1
during=$(q "SELECT COUNT(*) FROM frag WHERE note = 'writer'")
touch "$WORK/stop_writer"
set +e
wait "$wpid"
wrc=$?
set -e
assert_eq 0 "$RC" "once #1 exits 0"
assert_eq 0 "$wrc" "the concurrent writer saw no error"
assert_eq "" "$(cat "$WORK/writer.log")" "the writer printed nothing"
assert_eq "$(cat "$WORK/writer.sent")" "$(q "SELECT COUNT(*) FROM frag WHERE note = 'writer'")" \
	"every row the writer sent is in the table"
((during > 3)) && ok "the writer kept writing through the cycle" || fail "writer stalled: $during rows"

assert_eq "finished" "$(jqf once1.json '.[] | select(.target=="my") | .status')" "once #1: my finished"
assert_eq "finished" "$(jqf once1.json '.[] | select(.target=="other") | .status')" "once #1: other finished"
assert_eq "" "$(jqf once1.json '.[] | select(.target=="my") | .actions[] | select(.action=="drop_tables") | .statement')" \
	"once #1 drops nothing: idleness needs a second observation"
assert_eq "$tables_before" "$(tables "$MY_DB")" "every table is still there after once #1"

# The log tables: exactly the old rows went, the newest row of each stays.
assert_eq "$applog_recent" "$(q "$sig app_log")" "app_log kept exactly its 3000 recent rows"
assert_eq 0 "$(q "SELECT COUNT(*) FROM app_log WHERE created_at < NOW() - INTERVAL 30 DAY")" "no old app_log row left"
assert_eq "$audit_top" "$(q "SELECT CONCAT_WS(' ', COUNT(*), MAX(id)) FROM $AUDIT")" \
	"the audit log kept only the row holding the AUTO_INCREMENT high-water mark"
assert_eq "done 7000" "$(jqf once1.json '.[] | .actions[] | select(.action=="purge_rows" and .objects[0].name=="app_log") | "\(.outcome) \(.rows)"')" \
	"the app_log purge reports 7000 rows"
audit_purge='.[] | .actions[] | select(.action=="purge_rows" and .objects[0].name=="audit`é; DROP TABLE users")'
assert_eq "done 1999" "$(jqf once1.json "$audit_purge | \"\\(.outcome) \\(.rows)\"")" \
	"the audit log purge reports 1999 rows"
assert_contains "$(jqf once1.json "$audit_purge | .statement")" \
	'DELETE FROM `mytest_hk`.`audit``é; DROP TABLE users` WHERE `id` > @dbk_lo AND `id` <= @dbk_hi AND `id` < @dbk_keep AND `at``x` < ' \
	"the purge statement quotes the hostile table and column names"

assert_eq "new 100" "$(q "SELECT CONCAT_WS(' ', GROUP_CONCAT(DISTINCT msg), COUNT(*)) FROM plain_log")" \
	"plain_log (no primary key) kept exactly its 100 recent rows"
assert_eq "done 500" "$(jqf once1.json '.[] | .actions[] | select(.action=="purge_rows" and .objects[0].name=="plain_log") | "\(.outcome) \(.rows)"')" \
	"the plain_log purge reports 500 rows"

# The rebuild: online, done, DATA_FREE fell, the writer wrote during it.
rebuild='.[] | .actions[] | select(.action=="rebuild_index")'
assert_eq 'ALTER TABLE `mytest_hk`.`frag` FORCE, ALGORITHM=INPLACE, LOCK=NONE done' \
	"$(jqf once1.json "$rebuild | \"\(.statement) \(.outcome)\"")" "frag rebuilt online, and only frag"
frag_free_after=$(q "SELECT DATA_FREE FROM information_schema.TABLES WHERE TABLE_SCHEMA='$MY_DB' AND TABLE_NAME='frag'")
((frag_free_after < frag_free_before)) && ok "frag's DATA_FREE fell ($frag_free_before -> $frag_free_after)" ||
	fail "frag's DATA_FREE did not fall ($frag_free_before -> $frag_free_after)"
# The rebuild's window: from its write-ahead ("started") record to its
# final record, both written by the agent around the statement.
window=$("$DBK_BIN" -c "$CONF_FILE" queue list --json --kind action | jq -r '
	[.[] | select(.action == "rebuild_index")] as $r
	| ($r | map(select(.outcome != "started")) | last) as $final
	| ($r | map(select(.id == $final.action_id)) | first) as $start
	| "\($start.time_ms // ($final.time_ms - $final.duration_ms)) \($final.time_ms)"')
read -r t_start t_end <<<"$window"
inside=$(q "SELECT COUNT(*) FROM frag WHERE note = 'writer' AND UNIX_TIMESTAMP(wrote_at) * 1000 BETWEEN $t_start AND $t_end")
((inside > 0)) && ok "$inside writer rows were inserted while the rebuild ran" || fail "no writer row inside the rebuild"

# Binary logs: the old ones are gone, the current one stays.
after_logs=$(q "SHOW BINARY LOGS" | cut -f1)
for f in "${old_binlogs[@]}"; do
	assert_not_contains "$after_logs" "$f" "old binary log $f purged"
done
assert_eq "$current" "$(head -n1 <<<"$after_logs")" "the current binary log $current is kept"
assert_eq "PURGE BINARY LOGS TO '$current' done" \
	"$(jqf once1.json '.[] | .actions[] | select(.action=="purge_server_logs") | "\(.statement) \(.outcome)"')" \
	"the binary log purge is reported with its statement"
assert_eq "${#old_binlogs[@]}" "$(jqf once1.json '[.[] | .actions[] | select(.action=="purge_server_logs") | .objects[] | select(.status=="done")] | length')" \
	"each purged binary log is reported done"

# ---- plan with state: shows the drops, changes nothing ----
state1=$(state_sig)
[[ -n $state1 ]] && ok "once wrote the state" || fail "no state after once"
recs1=$(records)
dbk -c "$CONF_FILE" plan
assert_eq 0 "$RC" "second plan exits 0"
assert_contains "$OUT" 'DROP TABLE `mytest_hk`.' "second plan shows the drops"
assert_contains "$OUT" '`tmp_x``; DROP TABLE users;--`' "the hostile name is quoted with its backtick doubled"
assert_eq "$tables_before" "$(tables "$MY_DB")" "the second plan dropped nothing"
assert_eq "$state1" "$(state_sig)" "plan left the state file untouched"
assert_eq "$recs1" "$(records)" "plan wrote no queue record"

# ---- once #2: the scratch tables go, every decoy stays ----
q "INSERT INTO tmp_busy (v) VALUES (2)"
old_enough() { (($(q "SELECT MIN(UNIX_TIMESTAMP() - UNIX_TIMESTAMP(CREATE_TIME)) FROM information_schema.TABLES WHERE TABLE_SCHEMA='$MY_DB'") >= 2)); }
wait_for 30 old_enough || fail "tables never got older than min_age"
once_json 2
assert_eq 0 "$RC" "once #2 exits 0"
expect_dropped=$(LC_ALL=C sort <<'EOF'
_invoices_del
_invoices_ghc
_invoices_gho
_invoices_new
_invoices_old
orders_bak_20240101
tmp_"dq"
tmp_'; DROP TABLE invoices; --
tmp_back\slash
tmp_café
tmp_import_2023
tmp_semi;colon
tmp_x`; DROP TABLE users;--
tmp_日本語
EOF
)
expect_kept=$(LC_ALL=C comm -23 <(echo "$tables_before") <(echo "$expect_dropped"))
assert_eq "$expect_kept" "$(tables "$MY_DB")" "exactly the scratch tables were dropped; every decoy survives"
for t in users invoices tmp_busy _items_new tmp_keep_forever '#sql-decoy' tmp_view TMP_upper; do
	grep -qxF -- "$t" <<<"$(tables "$MY_DB")" && ok "decoy $t survives" || fail "decoy $t was dropped"
done
assert_eq "$(printf 'tmp_import_2023\ntmp_other_1')" "$(tables "$OTHER_DB")" \
	"tables outside the schema allow-list survive"
assert_eq "2 2" "$(q "SELECT CONCAT_WS(' ', (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM invoices))")" \
	"users and invoices still hold their rows"
dropped_json=$(jqf once2.json '.[] | .actions[] | select(.action=="drop_tables") | .objects[] | select(.status=="done") | .name' | LC_ALL=C sort)
assert_eq "$expect_dropped" "$dropped_json" "the report names every dropped table byte for byte"
assert_eq "" "$(jqf once2.json '.[] | .actions[] | select(.outcome!="done") | .statement')" "every action of once #2 is done"
assert_eq 0 "$(jqf once2.json '[.[] | select(.target=="other") | .actions[]] | length')" \
	"the other database's target planned nothing"

# ---- once #3: a table that cannot be rebuilt online fails, never locks ----
my "$MY_DB" <<'SQL'
CREATE TABLE seed_digits (d INT NOT NULL PRIMARY KEY);
INSERT INTO seed_digits VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9);
CREATE TABLE legacy (id INT AUTO_INCREMENT PRIMARY KEY, pad CHAR(255) NOT NULL) ENGINE=MyISAM;
INSERT INTO legacy (pad) SELECT 'x' FROM seed_digits a, seed_digits b, seed_digits c,
	seed_digits e, (SELECT d FROM seed_digits WHERE d < 2) f;
DELETE FROM legacy WHERE id % 3 <> 0;
DROP TABLE seed_digits;
SQL
legacy_free=$(q "SELECT DATA_FREE FROM information_schema.TABLES WHERE TABLE_SCHEMA='$MY_DB' AND TABLE_NAME='legacy'")
once_json 3
assert_eq 3 "$RC" "once exits 3 when an action failed"
assert_eq 'ALTER TABLE `mytest_hk`.`legacy` FORCE, ALGORITHM=INPLACE, LOCK=NONE failed' \
	"$(jqf once3.json "$rebuild | \"\(.statement) \(.outcome)\"")" "the MyISAM table's online rebuild failed"
assert_contains "$(jqf once3.json "$rebuild | .error")" "ALGORITHM=INPLACE is not supported" "the error says why"
assert_eq "$legacy_free" "$(q "SELECT DATA_FREE FROM information_schema.TABLES WHERE TABLE_SCHEMA='$MY_DB' AND TABLE_NAME='legacy'")" \
	"no locking rebuild was done instead"
assert_eq "tmp_busy" "$(jqf once3.json '.[] | .actions[] | select(.action=="drop_tables") | .objects[] | select(.status=="done") | .name')" \
	"tmp_busy, idle since once #2, is dropped now"

# ---- every action and finding is in the report queue ----
# Final action records (a write-ahead "started" record precedes each
# statement that runs) must match the cycles' own output exactly; every
# finding the cycles printed must be there too (a lasting finding may be
# recorded once, not every cycle).
"$DBK_BIN" -c "$CONF_FILE" queue list --json >"$WORK/queue.json"
jq -s '[.[][] | .target as $t | .actions[] | {t: $t, statement, outcome, rows,
	objects: [.objects[] | {name, status}]}] | sort' \
	"$WORK"/once{1,2,3}.json >"$WORK/want_actions.json"
jq '[.[] | select(.kind == "action" and .outcome != "started") | {t: .target, statement, outcome,
	rows, objects: [.objects[] | {name, status}]}] | sort' "$WORK/queue.json" >"$WORK/got_actions.json"
n_actions=$(jq length "$WORK/want_actions.json")
((n_actions >= 8)) && ok "$n_actions actions in three cycles" || fail "only $n_actions actions"
assert_eq "$(cat "$WORK/want_actions.json")" "$(cat "$WORK/got_actions.json")" \
	"every action is in the queue with its statement, outcome and object statuses"
assert_eq "" "$(jq -r '(map(select(.kind == "action" and .outcome == "started") | .id)) as $s
	| .[] | select(.kind == "action" and .outcome != "started" and .action_id != null)
	| select(.action_id as $a | $s | index($a) | not) | .id' "$WORK/queue.json")" \
	"every final action record names its write-ahead record"
n_started=$(jq '[.[] | select(.kind == "action" and .outcome == "started")] | length' "$WORK/queue.json")
assert_eq "$n_started" "$(jq '[.[] | select(.kind == "action" and .action_id != null)] | length' "$WORK/queue.json")" \
	"one write-ahead record per statement run ($n_started)"
jq -s '[.[][] | .target as $t | .findings[] | {t: $t, category, severity, object, title}] | unique' \
	"$WORK"/once{1,2,3}.json >"$WORK/want_findings.json"
jq '[.[] | select(.kind == "finding") | {t: .target, category, severity, object, title}] | unique' \
	"$WORK/queue.json" >"$WORK/got_findings.json"
assert_eq "[]" "$(jq -c --slurpfile got "$WORK/got_findings.json" '. - $got[0]' "$WORK/want_findings.json")" \
	"every finding is in the queue"
assert_contains "$(cat "$WORK/got_findings.json")" '"title": "duplicate index"' "the redundant idx_a is a finding"
assert_eq "finished finished finished finished finished finished" \
	"$(jq -r '[.[] | select(.kind == "run") | .status] | join(" ")' "$WORK/queue.json")" \
	"one run record per target and cycle"
finish

#!/usr/bin/env bash
# Hostile catalogs (issue 8), on both engines: table names with quotes,
# backticks, backslashes, semicolons, "DROP TABLE", newlines, tabs,
# multi-byte UTF-8, right-to-left text and a bidi override, emoji
# (PostgreSQL; MySQL allows only the Basic Multilingual Plane), glob
# characters, control characters and a terminal escape sequence, names of
# the maximum length (PostgreSQL 63 bytes, MySQL/MariaDB 64 characters, in
# ASCII and in two-byte characters), names differing only in case, a
# PostgreSQL schema with a hostile name, and near-miss decoys (case, a
# full-width underscore or letter, a leading space or percent sign,
# excluded names, a view, a schema outside the allow-list).
#
# `plan --json` must list exactly the expected tables, byte for byte,
# each quoted in the statement exactly as the engine quotes it; `plan`'s
# text escapes control characters; `once` drops exactly those tables and
# every other table survives with its row.
source "$(dirname "$0")/lib.sh"
servers_env
command -v jq >/dev/null || { echo "FAIL: jq is needed (tests/install-deps.sh)" >&2; exit 1; }
PG_DB=hostile_pg
MY_DB=hostile_my
CONF=$WORK/dbkeeper.conf
stop_all() {
	set +e
	if [[ -z ${KEEP_WORK:-} ]]; then
		pg postgres -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1
		my mysql -e "DROP DATABASE IF EXISTS $MY_DB" >/dev/null 2>&1
	fi
	cleanup
}
trap stop_all EXIT

# ---- the names ----
rep() { local s= i; for ((i = 0; i < $2; i++)); do s+=$1; done; printf '%s' "$s"; }
# Scratch tables on both engines: every one matches tmp_* and must go.
COMMON=(
	"tmp_'single'"
	'tmp_"double"'
	'tmp_`backtick`'
	'tmp_back\slash\\'
	'tmp_semi;colon'
	'tmp_x; DROP TABLE users; --'
	"tmp_x'); DROP TABLE users; --"
	'tmp_x`; DROP TABLE users; --'
	'tmp_x"; DROP TABLE users; --'
	$'tmp_new\nline'
	$'tmp_tab\there'
	$'tmp_cr\rhere'
	$'tmp_ctrl\x01\x1b[31mred\x7f'
	'tmp_café_ñ'
	'tmp_שלום_עולם'
	$'tmp_\u202ertl_override'
	'tmp_日本語'
	'tmp_Case'
	'tmp_case'
	'tmp_CASE'
	'tmp_ space'
	'tmp_%_*?[x]'
	'tmp_$$dollar$$'
	'tmp_/*c*/--'
	'tmp_@00e9'
)
# Decoys on both engines: near misses of the pattern, or excluded.
DECOYS=(
	users
	TMP_upper
	Tmp_case
	tmp
	tmpx_y
	'tmp＿fullwidth_underscore'
	'ｔmp_fullwidth_t'
	'temp_x; DROP TABLE users; --'
	tmp_keep_me
	$'tmp_keep\nme'
	"tmp_keep'; DROP TABLE users; --"
	'%tmp_percent_first'
)
PG_ONLY=(
	'tmp_🦀_emoji'
	"tmp_$(rep a 59)"           # 63 bytes, PostgreSQL's maximum
	"tmp_$(rep é 29)x"          # 63 bytes in two-byte characters
)
PG_ONLY_DECOYS=(' tmp_leading_space')
MY_ONLY=(
	"tmp_$(rep a 60)"           # 64 characters, MySQL's maximum
	"tmp_$(rep é 60)"           # 64 characters, 124 bytes
)
HOSTILE_SCHEMA=$'sch "q"; DROP SCHEMA public CASCADE; --\tü\\'
DECOY_SCHEMA=$'sch "q"; DROP SCHEMA public CASCADE; --\tu\\' # ü -> u: not allow-listed
IN_HOSTILE=("tmp_'in schema'" $'tmp_in\nschema' 'tmp_x; DROP TABLE users; --')
IN_HOSTILE_DECOYS=('keep; DROP TABLE users; --')
IN_DECOY_SCHEMA=('tmp_not_allow_listed')
for n in "${PG_ONLY[@]:1:2}"; do
	(($(printf '%s' "$n" | wc -c) == 63)) || fail "test bug: '$n' is not 63 bytes"
done
for n in "${MY_ONLY[@]}"; do
	(($(printf '%s' "$n" | wc -m) == 64)) || fail "test bug: '$n' is not 64 characters"
done

# ---- the databases ----
qpg() { local s=${1//\"/\"\"}; printf '"%s"' "$s"; }
qmy() { local s=${1//\`/\`\`}; printf '`%s`' "$s"; }
pg_fresh_db "$PG_DB" >/dev/null
{
	echo "SET client_min_messages = warning;"
	echo "CREATE SCHEMA $(qpg "$HOSTILE_SCHEMA"); CREATE SCHEMA $(qpg "$DECOY_SCHEMA");"
	for n in "${COMMON[@]}" "${DECOYS[@]}" "${PG_ONLY[@]}" "${PG_ONLY_DECOYS[@]}"; do
		echo "CREATE TABLE public.$(qpg "$n") (id int); INSERT INTO public.$(qpg "$n") VALUES (1);"
	done
	for n in "${IN_HOSTILE[@]}" "${IN_HOSTILE_DECOYS[@]}"; do
		echo "CREATE TABLE $(qpg "$HOSTILE_SCHEMA").$(qpg "$n") (id int);"
		echo "INSERT INTO $(qpg "$HOSTILE_SCHEMA").$(qpg "$n") VALUES (1);"
	done
	for n in "${IN_DECOY_SCHEMA[@]}"; do
		echo "CREATE TABLE $(qpg "$DECOY_SCHEMA").$(qpg "$n") (id int);"
		echo "INSERT INTO $(qpg "$DECOY_SCHEMA").$(qpg "$n") VALUES (1);"
	done
	echo "CREATE VIEW public.tmp_view AS SELECT 1 AS id;"
} >"$WORK/seed_pg.sql"
pg "$PG_DB" -f "$WORK/seed_pg.sql" >"$WORK/seed_pg.log" 2>&1 ||
	{ cat "$WORK/seed_pg.log" >&2; fail "seeding PostgreSQL failed"; finish; }
my_fresh_db "$MY_DB"
{
	echo "SET NAMES utf8mb4;"
	for n in "${COMMON[@]}" "${DECOYS[@]}" "${MY_ONLY[@]}"; do
		echo "CREATE TABLE $(qmy "$n") (id INT PRIMARY KEY); INSERT INTO $(qmy "$n") VALUES (1);"
	done
	echo "CREATE VIEW tmp_view AS SELECT 1 AS id;"
} >"$WORK/seed_my.sql"
my "$MY_DB" <"$WORK/seed_my.sql" >"$WORK/seed_my.log" 2>&1 ||
	{ cat "$WORK/seed_my.log" >&2; fail "seeding MariaDB failed"; finish; }

# ---- what must go, as sorted JSON [schema, name] pairs ----
pairs() { # SCHEMA NAME... -> JSON array of [SCHEMA, NAME]
	local s=$1
	shift
	jq -cn --arg s "$s" '[$ARGS.positional[] | [$s, .]]' --args "$@"
}
union() { jq -cs 'add | sort' ; }
want_pg=$({ pairs public "${COMMON[@]}" "${PG_ONLY[@]}"; pairs "$HOSTILE_SCHEMA" "${IN_HOSTILE[@]}"; } | union)
want_my=$(pairs "$MY_DB" "${COMMON[@]}" "${MY_ONLY[@]}" | union)
keep_pg=$({ pairs public "${DECOYS[@]}" "${PG_ONLY_DECOYS[@]}"; pairs "$HOSTILE_SCHEMA" "${IN_HOSTILE_DECOYS[@]}"
	pairs "$DECOY_SCHEMA" "${IN_DECOY_SCHEMA[@]}"; } | union)
keep_my=$(pairs "$MY_DB" "${DECOYS[@]}" | union)

# Every table of the database, as the server names it.
tables_pg() {
	pg "$PG_DB" -At -c "SELECT coalesce(json_agg(json_build_array(n.nspname, c.relname)), '[]')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		AND n.nspname NOT LIKE 'pg\\_%'" | jq -c sort
}
tables_my() {
	my "$MY_DB" -N -B -r -e "SELECT COALESCE(JSON_ARRAYAGG(JSON_ARRAY(TABLE_SCHEMA, TABLE_NAME)), '[]')
		FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$MY_DB' AND TABLE_TYPE = 'BASE TABLE'" | jq -c sort
}
all_pg=$(jq -cn --argjson a "$want_pg" --argjson b "$keep_pg" '$a + $b | sort')
all_my=$(jq -cn --argjson a "$want_my" --argjson b "$keep_my" '$a + $b | sort')
assert_eq "$all_pg" "$(tables_pg)" "PostgreSQL holds exactly the seeded tables, byte for byte"
assert_eq "$all_my" "$(tables_my)" "MariaDB holds exactly the seeded tables, byte for byte"
echo "PostgreSQL: $(jq length <<<"$want_pg") to drop, $(jq length <<<"$keep_pg") to keep;" \
	"MariaDB: $(jq length <<<"$want_my") to drop, $(jq length <<<"$keep_my") to keep"

# ---- configuration: the hostile schema is allow-listed by name ----
cfg_str() { # a libconfig string literal
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\t'/\\t}
	s=${s//$'\n'/\\n}
	printf '"%s"' "$s"
}
mkdir -p "$WORK/policies"
policy() { # NAME SCHEMAS...
	local name=$1 list= s
	shift
	for s in "$@"; do list+="${list:+, }$(cfg_str "$s")"; done
	cat >"$WORK/policies/$name.conf" <<-CONF
	scratch_tables = { dry_run = false; include = [ "tmp_*" ]; exclude = [ "tmp_keep*" ];
	                   schemas = [ $list ]; min_age = "1s"; require_idle = false;
	                   max_per_statement = 7; };
	statistics = { analyze = false; metrics_interval = "1h"; };
	CONF
}
policy hostile_pg public "$HOSTILE_SCHEMA"
policy hostile_my "$MY_DB"
cat >"$CONF" <<CONF
state_dir = "$WORK/state";
queue_dir = "$WORK/queue";
policy_dir = "$WORK/policies";
targets = (
  { name = "pg"; driver = "postgres"; policies = [ "hostile_pg" ];
    connection = { conninfo = "host=$DBK_PG_HOST port=$DBK_PG_PORT user=$DBK_PG_USER dbname=$PG_DB"; }; },
  { name = "my"; driver = "mysql"; policies = [ "hostile_my" ];
    connection = { host = "$DBK_MY_HOST"; port = $DBK_MY_PORT; user = "$DBK_MY_USER"; database = "$MY_DB"; }; }
);
CONF
dbk -c "$CONF" check-config
assert_eq 0 "$RC" "check-config accepts the hostile schema name: $OUT"

# ---- plan: exactly the expected objects, each quoted exactly ----
# PostgreSQL counts a table's age from a finished cycle's first sight;
# this first cycle drops nothing (nothing is a second old yet to it).
"$DBK_BIN" -c "$CONF" --json once pg >"$WORK/once0.json" 2>"$WORK/once0.err"
assert_eq 0 "$?" "the first cycle exits 0: $(cat "$WORK/once0.err")"
assert_eq "[]" "$(jq -c '[.[].actions[] | select(.action == "drop_tables")]' "$WORK/once0.json")" \
	"the first PostgreSQL cycle drops nothing"
drops() { # FILE TARGET: the [schema, name] of every table a drop action names
	jq -c --arg t "$2" '[.[] | select(.target == $t) | .actions[] | select(.action == "drop_tables")
		| .objects[] | [.schema, .name]] | sort' "$1"
}
plan_json() { "$DBK_BIN" -c "$CONF" --json plan >"$WORK/plan.json" 2>"$WORK/plan.err"; }
plan_ready() { plan_json && [[ $(drops "$WORK/plan.json" pg) == "$want_pg" && $(drops "$WORK/plan.json" my) == "$want_my" ]]; }
wait_for 30 plan_ready || true
assert_eq "$want_pg" "$(drops "$WORK/plan.json" pg)" "plan --json lists exactly the PostgreSQL tables to drop, byte for byte"
assert_eq "$want_my" "$(drops "$WORK/plan.json" my)" "plan --json lists exactly the MariaDB tables to drop, byte for byte"
assert_eq '["drop_tables"]' "$(jq -c '[.[].actions[].action] | unique' "$WORK/plan.json")" "plan has nothing but drops"
# Each object appears in its statement quoted as the engine quotes it.
unquoted() { # TARGET JQ-QUOTE-FUNCTION
	jq -r --arg t "$1" "def q: $2;"'
		.[] | select(.target == $t) | .actions[] | select(.action == "drop_tables") | .statement as $s
		| .objects[] | (.schema | q) + "." + (.name | q) as $o
		| select(($s | contains($o)) | not) | $o' "$WORK/plan.json"
}
assert_eq "" "$(unquoted pg '"\"" + gsub("\""; "\"\"") + "\""')" "PostgreSQL statements quote every name by doubling its quotes"
assert_eq "" "$(unquoted my '"`" + gsub("`"; "``") + "`"')" "MariaDB statements quote every name by doubling its backticks"
for t in pg my; do
	stmts=$(jq -r --arg t "$t" '[.[] | select(.target == $t) | .actions[] | .statement] | length' "$WORK/plan.json")
	n=$(jq -r --arg t "$t" '[.[] | select(.target == $t) | .actions[] | .objects | length] | add' "$WORK/plan.json")
	v=want_$t
	want=$(jq length <<<"${!v}")
	assert_eq "$want" "$n" "$t: the drop statements name $want tables in all"
	((stmts >= 2)) && ok "$t: $stmts statements of at most 7 tables" || fail "$t: only $stmts statements"
done
# The text form escapes control characters: no name can start a line.
dbk -c "$CONF" plan
assert_eq 0 "$RC" "plan exits 0"
assert_contains "$OUT" 'tmp_new\x0aline' "plan prints a newline in a name as \\x0a"
assert_contains "$OUT" 'tmp_tab\x09here' "and a tab as \\x09"
assert_contains "$OUT" 'tmp_cr\x0dhere' "and a carriage return as \\x0d"
assert_contains "$OUT" 'tmp_ctrl\x01\x1b[31mred\x7f' "and terminal escapes as \\x01, \\x1b, \\x7f"
assert_eq 0 "$(grep -c '^line\|^here\|^me\b\|^schema' <<<"$OUT" || true)" "no name breaks a line of plan's output"
assert_eq "$all_pg" "$(tables_pg)" "plan dropped nothing on PostgreSQL"
assert_eq "$all_my" "$(tables_my)" "plan dropped nothing on MariaDB"

# ---- once: drops exactly those ----
"$DBK_BIN" -c "$CONF" --json once >"$WORK/once.json" 2>"$WORK/once.err"
assert_eq 0 "$?" "once exits 0: $(cat "$WORK/once.err")"
done_objs() {
	jq -c --arg t "$1" '[.[] | select(.target == $t) | .actions[] | select(.action == "drop_tables")
		| .objects[] | select(.status == "done") | [.schema, .name]] | sort' "$WORK/once.json"
}
assert_eq "$want_pg" "$(done_objs pg)" "once reports exactly the PostgreSQL tables dropped"
assert_eq "$want_my" "$(done_objs my)" "once reports exactly the MariaDB tables dropped"
assert_eq "$keep_pg" "$(tables_pg)" "PostgreSQL: exactly the decoys survive"
assert_eq "$keep_my" "$(tables_my)" "MariaDB: exactly the decoys survive"
# Every survivor keeps its row.
rows_pg=$(jq -r '.[] | "SELECT count(*) FROM " + (map("\"" + gsub("\""; "\"\"") + "\"") | join(".")) + " UNION ALL"' \
	<<<"$keep_pg" | sed '$ s/ UNION ALL$//')
assert_eq "$(jq length <<<"$keep_pg")" "$(pg "$PG_DB" -At -c "SELECT sum(count) FROM ($rows_pg) x")" \
	"every PostgreSQL survivor keeps its row"
rows_my=$(jq -r '.[] | "SELECT COUNT(*) AS n FROM " + (map("`" + gsub("`"; "``") + "`") | join(".")) + " UNION ALL"' \
	<<<"$keep_my" | sed '$ s/ UNION ALL$//')
assert_eq "$(jq length <<<"$keep_my")" "$(my "$MY_DB" -N -B -e "SELECT SUM(n) FROM ($rows_my) x")" \
	"every MariaDB survivor keeps its row"
assert_eq 1 "$(pg "$PG_DB" -At -c "SELECT count(*) FROM public.tmp_view")" "the PostgreSQL view tmp_view survives"
assert_eq 1 "$(my "$MY_DB" -N -B -e "SELECT COUNT(*) FROM tmp_view")" "the MariaDB view tmp_view survives"
# The queue holds the same objects, byte for byte.
"$DBK_BIN" -c "$CONF" --json queue list --kind action >"$WORK/queue.json"
queue_done() {
	jq -c --arg t "$1" '[.[] | select(.target == $t and .action == "drop_tables" and .outcome == "done")
		| .objects[] | select(.status == "done") | [.schema, .name]] | sort' "$WORK/queue.json"
}
assert_eq "$want_pg" "$(queue_done pg)" "the queue records exactly the PostgreSQL drops"
assert_eq "$want_my" "$(queue_done my)" "the queue records exactly the MariaDB drops"
finish

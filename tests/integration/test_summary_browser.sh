#!/usr/bin/env bash
# The HTML operations summary in a real browser: a month of records for two
# targets (written straight into the queue's new/, in the exact record
# format of agent/report.c, hostile names included) is summarised with
# `dbkeeper summary --format html`, then headless Chromium loads the page.
# The test fails on any console message (script errors, CSP violations), on
# missing content, or if a hostile name turned into markup. It also writes
# a screenshot to $WORK/summary.png. Needs no database server.
#
# docs/summary-example.png is this page without the hostile record:
#   SUMMARY_EXAMPLE=1 KEEP_WORK=1 ctest -R integration_summary_browser
#   cp /tmp/dbk-test_summary_browser.*/summary.png docs/summary-example.png
source "$(dirname "$0")/lib.sh"

export TZ=UTC
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[[ $CHROMIUM ]] || { echo "FAIL: chromium not installed (run tests/install-deps.sh)" >&2; exit 1; }

Q=$WORK/queue/reports
mkdir -p "$Q/new" "$Q/cur" "$Q/tmp" "$Q/bad" "$WORK/state"
cat >"$WORK/dbkeeper.conf" <<CONF
state_dir = "$WORK/state";
queue_dir = "$WORK/queue";
targets = ( );
CONF

T0=1714521600000 # 2024-05-01 00:00 UTC
H=3600000
D=$((24 * H))
SEQ=0

# rec TIME_MS KIND TARGET POLICY FIELDS: one record file, as queue.c names
# and writes it ("<13-digit ms>.<pid>_<seq>.<host>.json").
rec() {
	local t=$1 kind=$2 target=$3 policy=$4 fields=$5 id iso
	SEQ=$((SEQ + 1))
	printf -v id '%013d.%d_%d.testhost.json' "$t" $$ "$SEQ"
	printf -v iso '%(%Y-%m-%dT%H:%M:%S)T.%03dZ' $((t / 1000)) $((t % 1000))
	printf '{"schema":1,"id":"%s","time":"%s","time_ms":%d,"host":"testhost","kind":"%s","target":"%s","policy":%s,%s}\n' \
		"$id" "$iso" "$t" "$kind" "$target" "$policy" "$fields" >"$Q/new/$id"
}

server() { # flavour version size_bytes
	printf '"server":{"flavour":"%s","version":"%s","db_size_bytes":%d}' "$1" "$2" "$3"
}

finding() { # t target category severity object title evidence recommendation
	rec "$1" finding "$2" '"housekeeping"' "$(printf '"category":"%s","severity":"%s","object":"%s","title":"%s","evidence":"%s","recommendation":"%s"' "$3" "$4" "$5" "$6" "$7" "$8")"
}

# action t target category action outcome duration_ms rows bytes_before
#        bytes_after objects-json [error]
action() {
	local err=""
	[[ ${11:-} ]] && err=",\"error\":\"${11}\""
	rec "$1" action "$2" '"housekeeping"' "$(printf '"title":"%s","severity":"%s","category":"%s","action":"%s","statement":"...","reason":"policy","dry_run":false,"carried":false,"bytes":%d,"objects":%s,"outcome":"%s","duration_ms":%d,"rows":%d,"bytes_before":%d,"bytes_after":%d%s' \
		"$4" "$([[ $5 == failed ]] && echo warning || echo info)" "$3" "$4" "$8" "${10}" "$5" "$6" "$7" "$8" "$9" "$err")"
}

run() { # t target status duration_ms tasks-json server-or-empty [error]
	local extra=""
	[[ $6 ]] && extra=",$6"
	[[ ${7:-} ]] && extra="$extra,\"error\":\"$7\""
	rec "$1" run "$2" null "$(printf '"mode":"daemon","status":"%s","finished":%s,"severity":"%s","title":"%s","duration_ms":%d,"counts":{"actions":3,"done":3,"dry_run":0,"partial":0,"skipped":0,"failed":0,"carried":0},"tasks":%s%s' \
		"$3" "$([[ $3 == finished ]] && echo true || echo false)" "$([[ $3 == failed ]] && echo warning || echo info)" "$3" "$4" "$5" "$extra")"
}

tasks() { # stats-state server_logs-state
	printf '{"housekeeping":{"scratch":"due","indexes":"due","logs":"due","server_logs":"%s","stats":"%s"}}' "$2" "$1"
}

MB=1048576
PG_CONN=(14 11 10 18 42 47 39 22)
PG_XACT=(90 60 55 240 820 910 700 260)
PG_LAG=(35 30 28 60 140 160 120 70)
MY_REQ=(4000 2500 2000 9000 26000 30000 22000 10000)
MY_Q=(350 200 180 900 2600 3100 2400 1100)
MY_THR=(9 7 6 14 31 36 28 15)

pg_size() { # day slot
	local mb=$((49152 + $1 * 180 + $2 * 7))
	(($1 >= 12)) && mb=$((mb - 2150))
	echo $((mb * MB))
}
my_size() { echo $(((12288 + $1 * 95 + $2 * 4) * MB)); }

metrics() { # day
	local d=$1 i t wk noise hit read lag xact req reads q
	wk=$(((d + 2) % 7 >= 5)) # 2024-05-01 is a Wednesday
	for i in 0 1 2 3 4 5 6 7; do
		t=$((T0 + d * D + i * 3 * H))
		noise=$(((d * 37 + i * 11) % 17 * 6))
		hit=$((9900 - noise)) read=$((100 + noise))
		((d == 18 && i >= 4 && i <= 6)) && read=$((read + 420))
		lag=${PG_LAG[i]}
		((d == 18 && i == 5)) && lag=4800
		xact=$((PG_XACT[i] / (wk + 1)))
		if ((d == 0 && i == 0)); then # the first snapshot has no rates yet
			rec "$t" metrics orders-db null "\"title\":\"metrics\",\"values\":[{\"name\":\"blks_hit\",\"labels\":\"db=orders\",\"value\":1,\"kind\":\"counter\"}],$(server postgresql 15.6 "$(pg_size "$d" "$i")")"
		else
			rec "$t" metrics orders-db null "\"title\":\"metrics\",\"values\":[{\"name\":\"blks_hit\",\"labels\":\"db=orders\",\"value\":1e9,\"kind\":\"counter\",\"rate_per_s\":$hit},{\"name\":\"blks_read\",\"labels\":\"db=orders\",\"value\":1e7,\"kind\":\"counter\",\"rate_per_s\":$read},{\"name\":\"xact_commit\",\"labels\":\"db=orders\",\"value\":1e8,\"kind\":\"counter\",\"rate_per_s\":$xact},{\"name\":\"connections_total\",\"value\":$((PG_CONN[i] - wk * 6)),\"kind\":\"gauge\"},{\"name\":\"replication_lag\",\"labels\":\"replica=standby1,10.0.0.12\",\"value\":$lag,\"kind\":\"gauge\",\"unit\":\"ms\"}],$(server postgresql 15.6 "$(pg_size "$d" "$i")")"
		fi
		req=$((MY_REQ[i] / (wk + 1))) q=$((MY_Q[i] / (wk + 1)))
		reads=$((req / 140 + noise / 3))
		rec "$t" metrics shop-db null "\"title\":\"metrics\",\"values\":[{\"name\":\"innodb_buffer_pool_read_requests\",\"value\":1e9,\"kind\":\"counter\",\"rate_per_s\":$req},{\"name\":\"innodb_buffer_pool_reads\",\"value\":1e6,\"kind\":\"counter\",\"rate_per_s\":$reads},{\"name\":\"questions\",\"value\":1e8,\"kind\":\"counter\",\"rate_per_s\":$q},{\"name\":\"connections\",\"value\":5e5,\"kind\":\"counter\",\"rate_per_s\":3},{\"name\":\"threads_connected\",\"value\":$((MY_THR[i] - wk * 4)),\"kind\":\"gauge\"}],$(server mariadb 10.11.6 "$(my_size "$d" "$i")")"
	done
}

pg_day() {
	local d=$1 t=$((T0 + $1 * D + 2 * H)) stats=not_due
	((d % 7 == 0)) && stats=due
	if ((d == 10)); then
		run $((t + 9000)) orders-db failed 9000 '{}' "" "could not connect to server: Connection refused"
		return
	fi
	if ((d == 20)); then
		run $((t + 400)) orders-db busy 400 '{}' ""
		return
	fi
	((d <= 2)) && finding $((t + 20000)) orders-db indexes warning public.order_items_pkey "index is 62% bloated" \
		"1.5 GB of 2.4 GB is dead space (estimate from pgstattuple_approx)" "rebuild it online (REINDEX CONCURRENTLY)"
	((d >= 21)) && finding $((t + 20001)) orders-db indexes critical public.orders_created_idx "invalid index" \
		"left behind by a failed CREATE INDEX CONCURRENTLY; every write maintains it, no query can use it" \
		"DROP INDEX CONCURRENTLY public.orders_created_idx, then create it again"
	((d % 7 == 0)) && finding $((t + 20002)) orders-db stats warning public.order_events "statistics are stale" \
		"38% of rows changed since the last ANALYZE" "lower autovacuum_analyze_scale_factor for this table"
	if ((d == 30)) && [[ -z ${SUMMARY_EXAMPLE:-} ]]; then
		finding $((t + 20003)) orders-db scratch info 'public.\"tmp_<script>alert(1)</script>\"' \
			'table `x` | y & \"z\" <b>bold</b>\nnext' "<img src=x onerror=alert(1)> & 'q'" "drop it | or *not*"
	fi
	if ((d % 7 == 0)); then
		action $((t + 60000)) orders-db scratch drop_tables done 2400 0 $(((310 + d * 9) * MB)) 0 \
			"[{\"schema\":\"public\",\"name\":\"tmp_import_$d\",\"status\":\"done\"},{\"schema\":\"public\",\"name\":\"orders_bak_$d\",\"status\":\"done\"},{\"schema\":\"public\",\"name\":\"tmp_report_$d\",\"status\":\"done\"}]"
	fi
	if ((d % 7 == 1)); then
		action $((t + 61000)) orders-db server_logs purge_server_logs done 300 0 $((7 * 256 * MB)) 0 \
			'[{"schema":null,"name":"postgresql-1.log","status":"done"},{"schema":null,"name":"postgresql-2.log","status":"done"},{"schema":null,"name":"postgresql-3.log","status":"done"},{"schema":null,"name":"postgresql-4.log","status":"done"},{"schema":null,"name":"postgresql-5.log","status":"done"},{"schema":null,"name":"postgresql-6.log","status":"done"},{"schema":null,"name":"postgresql-7.log","status":"done"}]'
	fi
	((d == 3)) && action $((t + 62000)) orders-db indexes rebuild_index done 184000 0 $((2458 * MB)) $((912 * MB)) \
		'[{"schema":"public","name":"order_items_pkey","status":"done"}]'
	((d == 17)) && action $((t + 62000)) orders-db indexes rebuild_index failed 5000 0 $((820 * MB)) 0 \
		'[{"schema":"public","name":"orders_customer_idx","status":"failed"}]' "canceling statement due to statement timeout"
	action $((t + 63000)) orders-db logs purge_rows done $((41000 + d * 300)) $((120000 + d * 1500)) 0 0 \
		'[{"schema":"public","name":"app_log","status":"done"}]'
	action $((t + 64000)) orders-db stats analyze done 6200 0 0 0 \
		'[{"schema":"public","name":"orders","status":"done"},{"schema":"public","name":"order_items","status":"done"},{"schema":"public","name":"order_events","status":"done"}]'
	run $((t + 240000 + d * 1000)) orders-db finished $((240000 + d * 1000)) "$(tasks $stats off)" "$(server postgresql 15.6 "$(pg_size "$d" 0)")"
}

my_day() {
	local d=$1 t=$((T0 + $1 * D + 2 * H + 30 * 60000)) status=finished sl=off
	if ((d == 5 || d == 6)); then
		run $((t + 2000)) shop-db failed 2000 '{}' "" "Access denied for user 'dbkeeper'@'localhost'"
		return
	fi
	((d == 15)) && status=stopped_budget sl=outside_window
	finding $((t + 20000)) shop-db logs warning app.audit_log "log table has no index on the time column" \
		"every purge batch scans the 9 GB table" "add an index on audit_log(created_at)"
	((d <= 29)) && finding $((t + 20001)) shop-db indexes info app.idx_cart_legacy "index never used" \
		"0 reads since the server started 41 days ago" "drop it after checking the reporting jobs"
	((d == 4)) && action $((t + 60000)) shop-db scratch drop_tables partial 900 0 $((96 * MB)) 0 \
		'[{"schema":"app","name":"tmp_cart_a","status":"done"},{"schema":"app","name":"tmp_cart_b","status":"skipped_locked"}]'
	((d == 9)) && action $((t + 61000)) shop-db indexes drop_index done 700 0 $((180 * MB)) 0 \
		'[{"schema":"app","name":"idx_orders_dup","status":"done"}]'
	action $((t + 62000)) shop-db logs purge_rows done 21000 45000 0 0 '[{"schema":"app","name":"audit_log","status":"done"}]'
	run $((t + 150000)) shop-db "$status" 150000 "$(tasks not_due $sl)" "$(server mariadb 10.11.6 "$(my_size "$d" 0)")"
}

for ((d = 0; d < 31; d++)); do
	metrics $d
	pg_day $d
	my_day $d
done
# One file that is not a record at all: set aside, never a crash.
printf '{"kind": "run", truncated' >"$Q/new/$(printf '%013d' $((T0 + 5 * H))).1_1.testhost.json"

dbk -c "$WORK/dbkeeper.conf" summary --from 2024-05-01 --to 2024-05-31 --format html -o "$WORK/summary.html"
assert_eq 0 "$RC" "summary --format html exits 0"
assert_contains "$OUT" "moved unreadable record" "the unparsable file is reported"
[[ -s $WORK/summary.html ]] || { fail "no HTML written"; finish; }

chrome() { # extra chromium arguments...
	local profile
	profile=$(mktemp -d "$WORK/chromium.XXXXXX")
	timeout 180 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic \
		--no-first-run --disable-background-networking --disable-component-update \
		--disable-sync --hide-scrollbars --user-data-dir="$profile" \
		--enable-logging=stderr --v=0 "$@"
}

set +e
chrome --dump-dom "file://$WORK/summary.html" >"$WORK/dom.html" 2>"$WORK/chromium.log"
rc=$?
set -e
assert_eq 0 "$rc" "chromium loads the page"
DOM=$(cat "$WORK/dom.html")
console=$(grep -E ':CONSOLE|Uncaught' "$WORK/chromium.log" || true)
assert_eq "" "$console" "no console messages (script errors, CSP violations)"
assert_contains "$DOM" "Action required" "the conclusion is rendered"
assert_contains "$DOM" "1 critical finding still open: invalid index (orders-db)" "the reason is given"
assert_contains "$DOM" "Remediation plan" "the remediation plan is rendered"
assert_contains "$DOM" "DROP INDEX CONCURRENTLY public.orders_created_idx" "recommendations are shown"
assert_contains "$DOM" "canceling statement due to statement timeout" "failures are shown"
assert_contains "$DOM" "postgresql 15.6" "the engine is shown"
assert_contains "$DOM" "1 queue file could not be read" "the unparsable file is noted"
svgs=$(grep -o '<svg' <<<"$DOM" | wc -l)
((svgs >= 9)) && ok "$svgs charts" || fail "expected at least 9 charts, found $svgs"
assert_contains "$DOM" "<polyline" "charts have lines"
assert_contains "$DOM" 'data-series="replication_lag_ms"' "replication lag is charted"
# Hostile strings stay text: no element came out of them.
if [[ -z ${SUMMARY_EXAMPLE:-} ]]; then
	assert_contains "$DOM" 'tmp_&lt;script&gt;alert(1)&lt;/script&gt;' "a hostile object name is text"
	assert_contains "$DOM" '&lt;img src=x onerror=alert(1)&gt;' "hostile evidence is text"
fi
assert_not_contains "$DOM" "<script" "no script element"
assert_not_contains "$DOM" "<img" "no img element"
assert_not_contains "$DOM" "<b>bold" "no markup from a title"

rm -f "$WORK/summary.png"
chrome --screenshot="$WORK/summary.png" --window-size=1200,1800 \
	"file://$WORK/summary.html" >/dev/null 2>&1 || true
size=$(stat -c %s "$WORK/summary.png" 2>/dev/null || echo 0)
((size > 20000)) && ok "screenshot written ($size bytes)" || fail "no screenshot"
finish

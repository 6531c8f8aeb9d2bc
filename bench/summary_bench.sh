#!/usr/bin/env bash
# bench/summary_bench.sh: how fast `dbkeeper summary` reads a large queue.
# Fills a fresh queue with N records (default 100,000) through the real
# queue code (bench/summary_gen), then times, in the same run and on the
# same files:
#   baseline: cat of every record file (the I/O floor),
#   baseline: dbkeeper queue list --json (the queue scan, printing),
#   dbkeeper summary --since 60d --format json, md and html,
# and prints seconds, records per second and the ratios to the baselines.
# Each figure is the best of REPEAT runs (default 3) on a warm page cache;
# as root, DROP_CACHES=1 also times one cold-cache summary. Not part of ctest.
#
# usage: bench/summary_bench.sh [N]
# env:   BUILD (default build-bench: a Release build made here), or DBK_BIN
#        and SUMMARY_GEN to use binaries built elsewhere; KEEP_WORK=1 keeps
#        the queue.
set -euo pipefail

N=${1:-100000}
REPEAT=${REPEAT:-3}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRC/build-bench}

if [[ -z ${DBK_BIN:-} || -z ${SUMMARY_GEN:-} ]]; then
	echo "building (Release) in $BUILD ..." >&2
	cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DDBK_TESTS=OFF >/dev/null
	cmake --build "$BUILD" -j"$(nproc)" --target dbkeeper summary_gen >/dev/null
	DBK_BIN=${DBK_BIN:-$BUILD/dbkeeper}
	SUMMARY_GEN=${SUMMARY_GEN:-$BUILD/bench/summary_gen}
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dbk-summary-bench.XXXXXX")
cleanup() { [[ ${KEEP_WORK:-} ]] || rm -rf "$WORK"; }
trap cleanup EXIT
Q=$WORK/queue/reports
mkdir -p "$WORK/state"
cat >"$WORK/dbkeeper.conf" <<CONF
state_dir = "$WORK/state";
queue_dir = "$WORK/queue";
targets = ( );
CONF

now() { echo "$EPOCHREALTIME"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

echo "generating $N records through the queue code ..." >&2
t0=$(now)
"$SUMMARY_GEN" "$WORK/queue" "$N" 59
t1=$(now)
gen=$(secs "$t0" "$t1")
files=$(find "$Q/new" -name '*.json' | wc -l)
size=$(du -sm "$Q/new" | cut -f1)
echo "generated $files records ($size MB on disk) in $gen s" >&2

# best SECONDS of REPEAT runs of a command (output discarded)
best() {
	local b="" s e d
	for ((i = 0; i < REPEAT; i++)); do
		s=$(now)
		"$@" >/dev/null
		e=$(now)
		d=$(secs "$s" "$e")
		if [[ -z $b ]] || awk -v d="$d" -v b="$b" 'BEGIN { exit !(d < b) }'; then
			b=$d
		fi
	done
	echo "$b"
}

cat_all() { find "$Q/new" -name '*.json' -exec cat {} + ; }
qlist() { "$DBK_BIN" -c "$WORK/dbkeeper.conf" queue list --json; }
summary() { "$DBK_BIN" -c "$WORK/dbkeeper.conf" summary --since 60d --format "$1"; }

# The summary must have read every record, or the figure means nothing.
summary json >"$WORK/summary.json"
read_n=$(grep -m1 '"read"' "$WORK/summary.json" | tr -dc 0-9)
[[ $read_n == "$files" ]] || { echo "summary read $read_n records, expected $files" >&2; exit 1; }

cold=""
if [[ ${DROP_CACHES:-} && $EUID -eq 0 ]]; then
	sync
	echo 3 >/proc/sys/vm/drop_caches
	s=$(now); summary json >/dev/null; e=$(now)
	cold=$(secs "$s" "$e")
fi

t_cat=$(best cat_all)
t_list=$(best qlist)
t_json=$(best summary json)
t_md=$(best summary md)
t_html=$(best summary html)

row() { # label seconds
	awk -v l="$1" -v t="$2" -v n="$files" -v c="$t_cat" -v q="$t_list" 'BEGIN {
		printf "%-34s %8.3f %12.0f %9.2f %9.2f\n", l, t, n / t, t / c, t / q }'
}

echo
echo "dbkeeper summary benchmark: $files records, $size MB, $(nproc) CPUs, best of $REPEAT (warm cache)"
printf "%-34s %8s %12s %9s %9s\n" "" "seconds" "records/s" "x cat" "x list"
row "cat of every record file" "$t_cat"
row "queue list --json" "$t_list"
row "summary --since 60d --format json" "$t_json"
row "summary --since 60d --format md" "$t_md"
row "summary --since 60d --format html" "$t_html"
[[ $cold ]] && row "summary json, cold page cache" "$cold"
echo "(generation through dbk_queue_put, fsync per record: $gen s)"

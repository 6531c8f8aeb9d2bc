#!/usr/bin/env bash
# Resident memory over a long run, and leaks under valgrind's memcheck.
#
#   bench/rss_bench.sh [BUILD_DIR] [CYCLES] [VALGRIND_CYCLES]
#
# Builds tests/long/long_cycles in BUILD_DIR (default build-bench; it is
# configured RelWithDebInfo without sanitizers when it has no cache yet),
# sets up the long-run scenario (tests/long/setup.sh: both servers, every
# task in dry run) and runs CYCLES rounds (default 2000; a round is one
# cycle and one statistics collection per target) in one process, printing
# the RSS course, RSS at start, after warm-up, at the end and the peak.
# Then, unless VALGRIND_CYCLES is 0 (default 200) or valgrind is missing,
# runs that many rounds under valgrind --leak-check=full and prints the leak
# summary; exits 1 if memcheck finds a definite or indirect leak or an
# error. Uses the test servers when they run; otherwise starts them and
# stops them at the end. Timing is not measured: only memory.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build-bench}
cycles=${2:-2000}
vg_cycles=${3:-200}
log() { printf 'rss_bench: %s\n' "$*" >&2; }

if [[ ! -f $build/CMakeCache.txt ]]; then
	log "configuring $build (RelWithDebInfo, no sanitizers)"
	cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build.configure.log" 2>&1 ||
		{ cat "$build.configure.log" >&2; exit 1; }
fi
if grep -q '^DBK_SANITIZE:BOOL=ON' "$build/CMakeCache.txt"; then
	log "$build is a sanitizer build: RSS and valgrind figures would mean little; use another"
	exit 2
fi
cmake --build "$build" --target long_cycles dbk_driver_postgres dbk_driver_mysql \
	-j "$(nproc 2>/dev/null || echo 2)" >&2
prog=$(find "$build" -name long_cycles -type f -perm -u+x | head -n1)
[[ -n $prog ]] || { log "long_cycles was not built (is tests/long in the build?)"; exit 1; }
export DBKEEPER_DRIVER_DIR=$build/drivers

started=
if ! bash "$src/tests/servers.sh" status >/dev/null 2>&1; then
	log "starting the test servers"
	bash "$src/tests/servers.sh" start >/dev/null
	started=1
fi
eval "$(bash "$src/tests/servers.sh" env)"

base=${TMPDIR:-/tmp}
[[ -d /dev/shm && -w /dev/shm ]] && base=/dev/shm # fsync cost is not the subject
work=$(mktemp -d "$base/dbk-rss-bench.XXXXXX")
db=dbk_rss_bench_$$
# shellcheck source=../tests/long/setup.sh
source "$src/tests/long/setup.sh"
finish() {
	long_teardown "$db"
	rm -rf "$work"
	if [[ -n $started ]]; then bash "$src/tests/servers.sh" stop >/dev/null 2>&1 || true; fi
}
trap finish EXIT
long_setup "$work" "$db"

echo "== $cycles rounds (2 targets: $((2 * cycles)) cycles, $((2 * cycles)) collections), no sanitizer"
every=$((cycles / 10 > 0 ? cycles / 10 : 1))
"$prog" -w $((cycles / 10 > 0 ? cycles / 10 : 1)) -s "$every" -g 4096 "$work/dbkeeper.conf" "$cycles"

status=0
if ((vg_cycles > 0)); then
	if ! command -v valgrind >/dev/null 2>&1; then
		log "valgrind not found: memcheck skipped"
	else
		echo "== $vg_cycles rounds under valgrind --leak-check=full"
		set +e
		valgrind --leak-check=full --show-leak-kinds=definite,indirect \
			--errors-for-leak-kinds=definite,indirect --error-exitcode=1 \
			--log-file="$work/valgrind.log" \
			"$prog" -w $((vg_cycles / 5 > 0 ? vg_cycles / 5 : 1)) -g 1048576 \
			"$work/dbkeeper.conf" "$vg_cycles"
		status=$?
		set -e
		grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable|in use at exit' \
			"$work/valgrind.log" | sed 's/^==[0-9]*== */valgrind: /'
		if ((status != 0)); then
			log "memcheck reported errors or leaks:"
			grep -A 25 -E 'are definitely lost|are indirectly lost|Invalid|uninitialised' \
				"$work/valgrind.log" | head -n 120 >&2 || true
		fi
	fi
fi
exit "$status"

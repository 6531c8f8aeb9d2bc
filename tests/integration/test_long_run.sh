#!/usr/bin/env bash
# Long run: many cycles in one process (tests/long/long_cycles) against both
# servers, every task on in dry run so the databases stay the same from
# cycle to cycle. It must finish every cycle and collection, keep its
# resident memory flat after the warm-up, and (in the sanitizer build)
# leak nothing: LeakSanitizer fails the program at exit if it does.
# DBK_LONG_ROUNDS (default 300) rounds of one cycle and one statistics
# collection per target: 600 cycles and 600 collections on the two servers.
# (bench/rss_bench.sh runs more, without sanitizers and under valgrind.)
source "$(dirname "$0")/lib.sh"
servers_env

: "${DBK_BUILD_DIR:?run through ctest}"
prog=$(find "$DBK_BUILD_DIR" -name long_cycles -type f -perm -u+x 2>/dev/null | head -n1)
[[ -n $prog ]] || { echo "FAIL: long_cycles not built in $DBK_BUILD_DIR" >&2; exit 1; }
ROUNDS=${DBK_LONG_ROUNDS:-300}

# State and queue on tmpfs when there is one: fsync cost is not the subject.
dir=$WORK
if [[ -d /dev/shm && -w /dev/shm ]]; then dir=$(mktemp -d /dev/shm/dbk-long.XXXXXX); fi
source "$DBK_SOURCE_DIR/tests/long/setup.sh"
trap 'long_teardown fuzz_long_$$; [[ $dir == "$WORK" ]] || rm -rf "$dir"; cleanup' EXIT
long_setup "$dir" fuzz_long_$$

# A generous bound: under ASan the allocator's own memory creeps up by
# about 10 kB a round (without sanitizers RSS stays flat to the kB, see
# bench/rss_bench.sh); leaks are LeakSanitizer's to find, at exit.
set +e
out=$(ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16 \
	"$prog" -w $((ROUNDS / 5)) -g 16384 "$dir/dbkeeper.conf" "$ROUNDS" 2>"$WORK/long.err")
rc=$?
set -e
echo "$out"
assert_eq 0 "$rc" "$ROUNDS rounds: no failure, no RSS growth, no leak"
((rc == 0)) || tail -n 40 "$WORK/long.err" >&2
assert_contains "$out" "$((2 * ROUNDS)) cycles finished, 0 not" "every cycle finished on both servers"
grep -q "LeakSanitizer" "$WORK/long.err" && fail "leaks reported" || ok "no leak reported"
# The databases stayed the same: dry runs only.
assert_eq 3 "$(pg "$LONG_DB" -Atc "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'tmp\_%'")" \
	"PostgreSQL scratch tables still there"
assert_eq 100 "$(pg "$LONG_DB" -Atc "SELECT count(*) FROM app_log")" "PostgreSQL log rows still there"
assert_eq 100 "$(my "$LONG_DB" -N -B -e "SELECT COUNT(*) FROM app_log")" "MariaDB log rows still there"
finish

#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang and runs each for a bounded time.
#
#   tests/fuzz/run-fuzzers.sh BUILD_DIR [SECONDS]
#
# BUILD_DIR is configured as a clang fuzz build (-DDBK_FUZZ=ON) if it is not
# one already. SECONDS (default: $DBK_FUZZ_SECONDS, else 20) is the time
# per harness. Each harness starts from a working copy of its seed corpus
# (tests/fuzz/corpus/<harness>/), so the committed corpus never changes.
# Prints the executions per harness; exits 1 on a crash, a leak, a broken
# invariant or a timeout, keeping the input in BUILD_DIR/fuzz-artifacts/.
# Exits 77 (skipped) when clang or its libFuzzer runtime is missing.
set -euo pipefail

build=${1:?usage: tests/fuzz/run-fuzzers.sh BUILD_DIR [SECONDS]}
secs=${2:-${DBK_FUZZ_SECONDS:-20}}
[[ $secs =~ ^[1-9][0-9]*$ ]] || { echo "run-fuzzers: SECONDS must be a positive integer, not '$secs'" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
harnesses=(fuzz_units fuzz_config fuzz_planner fuzz_queue)

log() { printf 'run-fuzzers: %s\n' "$*" >&2; }

command -v clang >/dev/null 2>&1 || { log "clang not found: skipped"; exit 77; }
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { (void)d; return (int)n * 0; }' |
	clang -x c -fsanitize=fuzzer,address,undefined -o /dev/null - >/dev/null 2>&1; then
	log "clang cannot build a libFuzzer program (libclang-rt missing?): skipped"
	exit 77
fi

# Configure once; a build directory made for another compiler is refused
# rather than silently reconfigured.
if [[ -f $build/CMakeCache.txt ]] && ! grep -q '^DBK_FUZZ:BOOL=ON' "$build/CMakeCache.txt"; then
	log "$build is not a fuzz build (DBK_FUZZ is not ON); use another directory"
	exit 2
fi
if [[ ! -f $build/CMakeCache.txt ]]; then
	log "configuring a clang fuzz build in $build"
	# -O1 -g: fast enough to fuzz, and readable stack traces. No tests or
	# drivers: only the agent library and the harnesses are needed.
	# Warnings are the gcc build's business (clang's -Wextra differs).
	CC=clang cmake -S "$src" -B "$build" -DDBK_FUZZ=ON -DCMAKE_C_COMPILER=clang \
		-DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS=-O1 -DDBK_TESTS=OFF -DDBK_WERROR=OFF \
		-DDBK_DRIVER_POSTGRES=OFF -DDBK_DRIVER_MYSQL=OFF >"$build.configure.log" 2>&1 ||
		{ cat "$build.configure.log" >&2; exit 1; }
fi
cmake --build "$build" --target "${harnesses[@]}" -j "$(nproc 2>/dev/null || echo 2)" >&2

# Scratch space on tmpfs when there is one: the queue harness writes and
# fsyncs files on every input.
base=${TMPDIR:-/tmp}
[[ -d /dev/shm && -w /dev/shm ]] && base=/dev/shm
work=$(mktemp -d "$base/dbk-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
artifacts=$build/fuzz-artifacts
mkdir -p "$artifacts"

export DBK_SOURCE_DIR=$src
# Fail on the first sanitizer report; leaks are reported by libFuzzer.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Known leaks of libconfig itself on syntax errors (see the file).
export LSAN_OPTIONS=suppressions=$here/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}

failed=0
total=0
for h in "${harnesses[@]}"; do
	exe=$(find "$build" -name "$h" -type f -perm -u+x | head -n1)
	[[ -n $exe ]] || { log "$h was not built"; failed=1; continue; }
	corpus=$work/corpus/$h
	mkdir -p "$corpus" "$work/tmp/$h"
	if [[ -d $here/corpus/$h ]]; then cp -R "$here/corpus/$h/." "$corpus/"; fi
	opts=(-max_total_time="$secs" -rss_limit_mb=2048 -timeout=30 -print_final_stats=1
		-artifact_prefix="$artifacts/$h-")
	[[ -f $here/$h.dict ]] && opts+=(-dict="$here/$h.dict")
	set +e
	TMPDIR=$work/tmp/$h "$exe" "${opts[@]}" "$corpus" >"$work/$h.log" 2>&1
	rc=$?
	set -e
	execs=$(sed -n 's/^stat::number_of_executed_units:[[:space:]]*//p' "$work/$h.log" | tail -n1)
	execs=${execs:-0}
	total=$((total + execs))
	files=$(find "$corpus" -type f | wc -l)
	if ((rc != 0)); then
		failed=1
		printf '%-14s FAILED (exit %d) after %s executions; input kept in %s\n' \
			"$h" "$rc" "$execs" "$artifacts/" >&2
		grep -E 'ERROR|runtime error|fuzz invariant|SUMMARY|Test unit written' "$work/$h.log" | head -n 20 >&2 || true
		tail -n 60 "$work/$h.log" >&2
	else
		printf '%-14s %10s executions in %ss, corpus %s files\n' "$h" "$execs" "$secs" "$files"
	fi
done
printf '%-14s %10s executions\n' total "$total"
if ((failed)); then
	echo "run-fuzzers: FAILED; reproduce with: <harness> $artifacts/<file>" >&2
	exit 1
fi

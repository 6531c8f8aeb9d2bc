#!/usr/bin/env bash
# Runs the whole test suite (ctest) of a build directory against scratch
# PostgreSQL and MariaDB servers started for this run and stopped after it.
# ctest's summary is the last thing printed.
set -euo pipefail
build=${1:?usage: tests/run-tests.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
export DBK_SERVERS_DIR=${DBK_SERVERS_DIR:-$(mktemp -u "${TMPDIR:-/tmp}/dbk-test-servers.XXXXXX")}

stop_servers() { bash "$here/servers.sh" stop >/dev/null 2>&1 || true; }
trap stop_servers EXIT
bash "$here/servers.sh" start >/dev/null
# ASan: report leaks, fail on the first error; UBSan: stack traces.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
set +e
(cd "$build" && ctest --output-on-failure --no-label-summary -j 2 --timeout 900) 2>&1 | tee "$build/ctest.log"
status=${PIPESTATUS[0]}
set -e
exit "$status" # the EXIT trap stops the servers silently

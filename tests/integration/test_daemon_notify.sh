#!/usr/bin/env bash
# `dbkeeper run` speaks the systemd notify protocol: READY=1 once loaded,
# WATCHDOG=1 pings when the watchdog is on, RELOADING=1 then READY=1 on
# SIGHUP, STOPPING=1 on SIGTERM. A small Python listener stands in for
# systemd's notify socket.
source "$(dirname "$0")/lib.sh"
servers_env
command -v python3 >/dev/null || { echo "python3 missing (tests/install-deps.sh installs it)" >&2; exit 1; }
PG_DB=dbk_notify
pg_fresh_db "$PG_DB"
mkdir -p "$WORK/policies"
cat >"$WORK/policies/p.conf" <<'CONF'
statistics = { analyze = false; metrics_interval = "1h"; };
CONF
write_main_config '"p"'

sock=$WORK/notify.sock
msgs=$WORK/notify.log
python3 - "$sock" "$msgs" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(120)
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        try:
            data = s.recv(4096).decode()
        except socket.timeout:
            break
        for line in data.split("\n"):
            out.write(line + "\n")
        if "STOPPING=1" in data:
            break
PY
listener=$!
wait_for 30 test -S "$sock" || fail "listener did not start"

root_flag=; [[ $(id -u) == 0 ]] && root_flag=--allow-root
# WATCHDOG_USEC/WATCHDOG_PID are how systemd tells a service its watchdog;
# the PID must be the daemon's own, so exec keeps it.
bash -c 'export WATCHDOG_PID=$$; exec "$@"' _ env NOTIFY_SOCKET="$sock" WATCHDOG_USEC=2000000 \
	"$DBK_BIN" -c "$WORK/dbkeeper.conf" $root_flag run 2>"$WORK/daemon.log" &
pid=$!
has() { grep -qxF -- "$1" "$msgs" 2>/dev/null; }
wait_for 60 has "READY=1" && ok "READY=1 once loaded" || fail "no READY=1"
wait_for 60 has "WATCHDOG=1" && ok "watchdog pings" || fail "no WATCHDOG=1"
kill -HUP "$pid"
wait_for 60 has "RELOADING=1" && ok "RELOADING=1 on SIGHUP" || fail "no RELOADING=1"
grep -q '^MONOTONIC_USEC=[0-9]\+$' "$msgs" && ok "RELOADING carries MONOTONIC_USEC" ||
	fail "no MONOTONIC_USEC"
ready_count() { (($(grep -cxF "READY=1" "$msgs") >= 2)); }
wait_for 60 ready_count && ok "READY=1 again after the reload" || fail "no READY after reload"
kill -TERM "$pid"
set +e; wait "$pid"; rc=$?; set -e
assert_eq 0 "$rc" "exit 0 on SIGTERM"
wait_for 30 has "STOPPING=1" && ok "STOPPING=1 on SIGTERM" || fail "no STOPPING=1"
wait "$listener" 2>/dev/null || true
finish

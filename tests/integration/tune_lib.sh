# tests/integration/tune_lib.sh: helpers the tune tests share (sourced after
# lib.sh): records of the report queue, faking history in a metrics state,
# a session left idle in a transaction, and a daemon started and stopped.

# rec QUEUE_DIR MODE [ARGS]: prints facts about the records, one per line.
#   findings [RULE]   "status rule severity count object" of finding records
#   kinds             the kind of every record
rec() {
	python3 - "$@" <<'PY'
import glob, json, sys
d, mode = sys.argv[1], sys.argv[2]
arg = sys.argv[3] if len(sys.argv) > 3 else None
for f in sorted(glob.glob(d + "/new/*.json")) + sorted(glob.glob(d + "/cur/*.json")):
    try:
        r = json.load(open(f))
    except Exception:
        continue
    if mode == "kinds":
        print(r.get("kind"), r.get("mode", ""), r.get("status", ""))
    elif mode == "findings" and r.get("kind") == "finding":
        if arg and r.get("rule") != arg:
            continue
        print(r.get("status"), r.get("rule"), r.get("severity"), r.get("count"),
              r.get("object"))
PY
}

# fake_history STATE_FILE: every index first seen 40 days ago and never
# used since, every pending condition holding for 2 hours, as if the agent
# had watched the database that long.
fake_history() {
	python3 - "$1" <<'PY'
import json, sys, time
p = sys.argv[1]
d = json.load(open(p))
now = int(time.time())
for v in d.get("indexes", {}).values():
    v["first_seen"] = now - 40 * 86400
    if v.get("scans", 0) == 0:
        v["last_used"] = 0
for f in d.get("findings", []):
    if not f.get("open"):
        f["since"] = now - 7200
json.dump(d, open(p, "w"))
PY
}

# idle_start CLIENT-COMMAND...: a session that runs $IDLE_SQL, then sits
# idle inside its transaction until idle_stop closes its input.
idle_start() {
	rm -f "$WORK/idle.fifo"
	mkfifo "$WORK/idle.fifo"
	"$@" <"$WORK/idle.fifo" >/dev/null 2>&1 &
	IDLE_PID=$!
	exec 4>"$WORK/idle.fifo"
	printf '%s\n' "$IDLE_SQL" >&4
}
idle_stop() {
	if [[ ${IDLE_PID:-} ]]; then
		exec 4>&-
		wait "$IDLE_PID" 2>/dev/null || true
		IDLE_PID=
		rm -f "$WORK/idle.fifo"
	fi
}

# daemon_start CONF LOG / daemon_stop: `dbkeeper run`, which must not
# inherit the idle session's pipe (it would keep the session open).
daemon_start() {
	local flag=
	[[ $(id -u) == 0 ]] && flag=--allow-root
	"$DBK_BIN" -c "$1" $flag run 2>"$2" 4>&- &
	DPID=$!
}
daemon_stop() {
	if [[ ${DPID:-} ]]; then
		kill -TERM "$DPID" 2>/dev/null || true
		wait "$DPID" 2>/dev/null || true
		DPID=
	fi
}

# json_check FILE PYTHON-EXPRESSIONS...: each expression (over `j`, the
# parsed document, and `F`, its findings) must be true; prints the failing
# ones.
json_check() {
	local file=$1
	shift
	python3 - "$file" "$@" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
F = j.get("findings", [])
bad = 0
for e in sys.argv[2:]:
    try:
        ok = eval(e)
    except Exception as x:
        ok = False
        print("error in", e, x)
    if not ok:
        print("false:", e)
        bad += 1
sys.exit(1 if bad else 0)
PY
}

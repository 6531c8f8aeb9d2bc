#!/usr/bin/env python3
"""tests/integration/crash_audit.py: the checks of test_crash.sh that read
the report queue, the state directory and the database evidence the test
collected. Two commands:

  round  after one kill: the records the round added parse, every change
         the databases the round ran show has a write-ahead ("started")
         record in this round, the state files parse; prints
         where the kill landed, the number of records the round added, the
         rows past retention (pg, my) and the rebuild evidence (pg, my).
  final  after the clean cycle: the whole queue and state directory.

Evidence is one JSON object per engine, as test_crash.sh's evidence
queries print it: old (rows past retention), new ("count:sum(id)" of the
rows within retention), scratch (sorted scratch table names), rebuild
("index:oid" on PostgreSQL, "frag:table_id" on MariaDB: it changes when
the object is rebuilt), invalid (names of invalid indexes), decoy (rows of
the table nobody may touch)."""
import argparse
import json
import os
import sys

FAILS = []


def fail(msg):
    FAILS.append(msg)


def load_record(path):
    try:
        with open(path, "rb") as f:
            rec = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError) as e:
        fail("record %s does not parse: %s" % (path, e))
        return None
    if not isinstance(rec, dict):
        fail("record %s is not a JSON object" % path)
        return None
    for k in ("schema", "id", "kind", "target", "time_ms"):
        if k not in rec:
            fail("record %s lacks %s" % (path, k))
            return None
    if rec["id"] != os.path.basename(path):
        fail("record %s carries id %s" % (path, rec["id"]))
    return rec


def load_dir(d):
    out = []
    if not os.path.isdir(d):
        return out
    for name in sorted(os.listdir(d)):
        if name.endswith(".json"):
            r = load_record(os.path.join(d, name))
            if r is not None:
                out.append(r)
    return out


def names(rec):
    return [o.get("name") for o in rec.get("objects") or []]


def is_started(r):
    return r.get("kind") == "action" and r.get("outcome") == "started"


def is_final(r):
    return r.get("kind") == "action" and r.get("outcome") != "started"


# ---- round ----

def started_for(started, action, name=None):
    return any(s.get("action") == action and (name is None or name in names(s))
               for s in started)


def audit_engine(target, b, a, recs):
    """Every difference between evidence b (before) and a (after) must be
    explained by a write-ahead record of target in recs."""
    started = [r for r in recs if is_started(r) and r.get("target") == target]
    if a["old"] > b["old"]:
        fail("%s: rows past retention grew %d -> %d" % (target, b["old"], a["old"]))
    if a["old"] < b["old"] and not started_for(started, "purge_rows", "app_log"):
        fail("%s: %d rows deleted without a started purge record"
             % (target, b["old"] - a["old"]))
    if a["new"] != b["new"]:
        fail("%s: rows within retention changed %s -> %s" % (target, b["new"], a["new"]))
    if a["decoy"] != b["decoy"]:
        fail("%s: the decoy table changed %s -> %s" % (target, b["decoy"], a["decoy"]))
    for t in sorted(set(b["scratch"]) - set(a["scratch"])):
        if not started_for(started, "drop_tables", t):
            fail("%s: table %s dropped without a started record naming it" % (target, t))
    for t in sorted(set(a["scratch"]) - set(b["scratch"])):
        fail("%s: table %s appeared during the round" % (target, t))
    if a["rebuild"] != b["rebuild"] and not started_for(started, "rebuild_index"):
        fail("%s: %s rebuilt (now %s) without a started record"
             % (target, b["rebuild"], a["rebuild"]))
    for i in sorted(set(b["invalid"]) - set(a["invalid"])):
        if not (started_for(started, "drop_index", i) or
                started_for(started, "rebuild_index")):
            fail("%s: invalid index %s dropped without a started record" % (target, i))
    for i in sorted(set(a["invalid"]) - set(b["invalid"])):
        if not started_for(started, "rebuild_index"):
            fail("%s: invalid index %s appeared without a started rebuild" % (target, i))


def kill_phase(recs, targets, killed, tmp_new, state_tmp_new):
    """Where the kill landed, from what the killed process left behind."""
    if not killed:
        return "completed"
    mine = [r for r in recs if r.get("target") in targets]
    done_ids = {r.get("action_id") for r in mine if is_final(r) and r.get("action_id")}
    open_ = [r for r in mine if is_started(r) and r["id"] not in done_ids]
    if open_:
        return "mid-" + open_[-1].get("action", "?")
    if tmp_new > 0:
        return "mid-queue-write"
    if state_tmp_new > 0:
        return "mid-state-write"
    if not mine:
        return "before-first-record"
    return "between-records"


def cmd_round(args):
    before = set(open(args.before).read().split())
    after = open(args.after).read().split()
    new = [f for f in after if f not in before]
    recs = [r for r in (load_record(os.path.join(args.queue, "new", f)) for f in new)
            if r is not None]
    ran = args.engines.split(",")
    for eng in ran:
        b = json.load(open(os.path.join(args.ev, "before." + eng)))
        a = json.load(open(os.path.join(args.ev, "after." + eng)))
        audit_engine(eng, b, a, recs)
    if os.path.isdir(os.path.join(args.queue, "bad")) and \
            os.listdir(os.path.join(args.queue, "bad")):
        fail("queue bad/ is not empty: %s" % os.listdir(os.path.join(args.queue, "bad")))
    check_state(args.state, allow_tmp=True)
    after = {e: json.load(open(os.path.join(args.ev, "after." + e))) for e in ("pg", "my")}
    print(kill_phase(recs, ran, args.killed == "1", args.tmp_new, args.state_tmp_new),
          len(recs), after["pg"]["old"], after["my"]["old"], after["pg"]["rebuild"],
          after["my"]["rebuild"])


# ---- state ----

def check_state(d, allow_tmp):
    if not os.path.isdir(d):
        return
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        if name.endswith(".corrupt") or ".corrupt" in name:
            fail("state file set aside as corrupt: %s" % name)
        elif name.startswith(".") and name.endswith(".tmp"):
            if not allow_tmp:
                fail("state write leftover %s after a clean cycle" % name)
        elif name.endswith(".state.json"):
            try:
                st = json.load(open(p, encoding="utf-8"))
            except ValueError as e:
                fail("state file %s does not parse: %s" % (name, e))
                continue
            for k in ("tables", "last_run", "carried", "metrics"):
                if k not in st:
                    fail("state file %s lacks %s" % (name, k))


# ---- final ----

def generation(t_ms, marks):
    return sum(1 for m in marks if m <= t_ms)


def cmd_final(args):
    recs = load_dir(os.path.join(args.queue, "new"))
    bad = os.path.join(args.queue, "bad")
    if os.path.isdir(bad) and os.listdir(bad):
        fail("queue bad/ is not empty: %s" % os.listdir(bad))
    check_state(args.state, allow_tmp=False)
    by_id = {r["id"]: r for r in recs}
    finals = [r for r in recs if is_final(r)]
    # 1. Every executed action has its write-ahead record, and each
    #    write-ahead record is closed at most once.
    closed = {}
    for f in finals:
        aid = f.get("action_id")
        executed = (not f.get("dry_run") and f.get("statement") and
                    f.get("outcome") in ("done", "partial", "skipped"))
        if aid is None:
            if executed:
                fail("final record %s (%s %s) has no write-ahead record"
                     % (f["id"], f.get("action"), f.get("outcome")))
            continue
        s = by_id.get(aid)
        if s is None or not is_started(s):
            fail("final record %s names %s, which is no started record" % (f["id"], aid))
            continue
        if s.get("target") != f.get("target") or s.get("statement") != f.get("statement") \
                or names(s) != names(f):
            fail("final record %s does not match its started record %s" % (f["id"], aid))
        if aid in closed:
            fail("started record %s closed twice: %s and %s" % (aid, closed[aid], f["id"]))
        closed[aid] = f["id"]
    # 2. Nothing recorded done twice: a scratch table (names are unique per
    #    round), an index (PostgreSQL: name and oid, which a rebuild
    #    changes; MariaDB: name and the test's fragmentation generation) is
    #    dropped or rebuilt by at most one final record with status done.
    marks = [int(x) for x in open(args.marks).read().split()] if args.marks else []
    seen = {}
    for f in finals:
        act = f.get("action")
        if act not in ("drop_tables", "drop_index", "rebuild_index"):
            continue
        objs = f.get("objects") or []
        if act != "drop_tables":
            objs = objs[:1]  # objects[1] of an index action is its table
        for o in objs:
            if o.get("status") != "done":
                continue
            key = (f["target"], act, o.get("schema"), o.get("name"),
                   o.get("id") or "gen%d" % generation(f["time_ms"], marks))
            if key in seen:
                fail("%s %s.%s recorded done twice: %s and %s"
                     % (act, o.get("schema"), o.get("name"), seen[key], f["id"]))
            seen[key] = f["id"]
    # 3. Purged rows are never counted twice: the rows the final records
    #    report are at most the rows that went.
    for kv in (args.deleted or "").split(","):
        if not kv:
            continue
        tgt, n = kv.split("=")
        reported = sum(f.get("rows") or 0 for f in finals
                       if f.get("target") == tgt and f.get("action") == "purge_rows")
        if reported > int(n):
            fail("%s: purge records report %d rows, only %d went" % (tgt, reported, int(n)))
        print("purge %s: %d rows went, %d reported by final records" % (tgt, int(n), reported))
    starts = sum(1 for r in recs if is_started(r))
    print("records %d, started %d, closed %d, open (killed) %d"
          % (len(recs), starts, len(closed), starts - len(closed)))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("round")
    r.add_argument("--queue", required=True)
    r.add_argument("--state", required=True)
    r.add_argument("--before", required=True)
    r.add_argument("--after", required=True)
    r.add_argument("--ev", required=True)
    r.add_argument("--engines", required=True)
    r.add_argument("--killed", default="1")
    r.add_argument("--tmp-new", type=int, default=0)
    r.add_argument("--state-tmp-new", type=int, default=0)
    f = sub.add_parser("final")
    f.add_argument("--queue", required=True)
    f.add_argument("--state", required=True)
    f.add_argument("--marks")
    f.add_argument("--deleted")
    args = ap.parse_args()
    (cmd_round if args.cmd == "round" else cmd_final)(args)
    for m in FAILS:
        print("FAIL: " + m, file=sys.stderr)
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# The command line: help, version, usage errors (exit 2), check-config on
# good and broken configurations (exit 2, file:line), queue commands on an
# empty queue. Needs no database server.
source "$(dirname "$0")/lib.sh"

dbk --help
assert_eq 0 "$RC" "--help exits 0"
for cmd in run once plan tune "queue list" summary check-config; do
	assert_contains "$OUT" "$cmd" "--help lists $cmd"
done

dbk --version
assert_eq 0 "$RC" "--version exits 0"
assert_contains "$OUT" "dbkeeper " "--version prints the name"

dbk frobnicate
assert_eq 2 "$RC" "unknown command exits 2"
assert_contains "$OUT" "unknown command 'frobnicate'" "unknown command is named"
dbk --frob plan
assert_eq 2 "$RC" "unknown option exits 2"
dbk
assert_eq 2 "$RC" "no command exits 2"
dbk -c "$WORK/none.conf" check-config
assert_eq 2 "$RC" "missing config exits 2"
assert_contains "$OUT" "none.conf" "missing config names the file"

# A valid config with one target on the postgres driver (no server needed
# for check-config) and one policy.
mkdir -p "$WORK/policies"
cp "$DBK_SOURCE_DIR/policies/housekeeping.conf" "$WORK/policies/"
cat >"$WORK/ok.conf" <<CONF
state_dir = "$WORK/state";
policy_dir = "$WORK/policies";
targets = ( { name = "app"; driver = "postgres";
              connection = { conninfo = "host=127.0.0.1 dbname=app"; };
              policies = [ "housekeeping" ]; } );
CONF
dbk -c "$WORK/ok.conf" check-config
assert_eq 0 "$RC" "check-config on a valid config exits 0"
assert_contains "$OUT" "target app: driver postgres" "check-config summarises targets"
dbk -c "$WORK/ok.conf" --json check-config
assert_contains "$OUT" '"valid": true' "check-config --json"

# Broken configurations: each exits 2 and names file and line.
broken() { # name line-expected phrase; config text on stdin
	cat >"$WORK/$1.conf"
	dbk -c "$WORK/$1.conf" check-config
	assert_eq 2 "$RC" "$1: exit 2"
	assert_contains "$OUT" "$1.conf:$2" "$1: names file:line"
	assert_contains "$OUT" "$3" "$1: says what is wrong"
}
broken syntax 2 "syntax" <<CONF
policy_dir = "$WORK/policies";
targets = ( { name = "app" driver = "postgres"; } );
CONF
broken unknown_driver 2 "driver 'nosuch' not found" <<CONF
policy_dir = "$WORK/policies";
targets = ( { name = "app"; driver = "nosuch"; connection = { }; policies = [ "housekeeping" ]; } );
CONF
broken unknown_option 3 "no connection option 'hots'" <<CONF
policy_dir = "$WORK/policies";
targets = ( { name = "app"; driver = "postgres";
   connection = { hots = "x"; }; policies = [ "housekeeping" ]; } );
CONF
broken missing_policy 3 "nosuchpolicy" <<CONF
policy_dir = "$WORK/policies";
targets = ( { name = "app"; driver = "postgres"; connection = { conninfo = "x"; };
   policies = [ "nosuchpolicy" ]; } );
CONF
printf 'secret\n' >"$WORK/pw"
chmod 644 "$WORK/pw"
broken loose_password 3 "readable by group or others" <<CONF
policy_dir = "$WORK/policies";
targets = ( { name = "app"; driver = "postgres"; connection = { conninfo = "x"; };
   password_file = "$WORK/pw"; policies = [ "housekeeping" ]; } );
CONF

dbk -c "$WORK/ok.conf" queue list
assert_eq 0 "$RC" "queue list on an empty queue exits 0"
dbk -c "$WORK/ok.conf" queue frob
assert_eq 2 "$RC" "unknown queue subcommand exits 2"
dbk -c "$WORK/ok.conf" plan nosuchtarget
assert_eq 2 "$RC" "plan on an unknown target exits 2"
finish

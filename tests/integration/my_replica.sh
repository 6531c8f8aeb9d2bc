#!/usr/bin/env bash
# A throwaway MariaDB replica of the test server tests/servers.sh started,
# for tests that need a real one (SHOW SLAVE HOSTS, binary logs a replica
# still needs). Everything lives in DIR; the server listens on 127.0.0.1
# and a socket in DIR. Needs the servers' environment (DBK_MY_*).
#
#   my_replica.sh start DIR SERVER_ID   # first call: mariadb-install-db; the
#                                       # port is kept in DIR/port across restarts
#   my_replica.sh follow DIR FILE POS   # CHANGE MASTER TO the test server at
#                                       # FILE:POS, START SLAVE
#   my_replica.sh sql DIR [mariadb args...]
#   my_replica.sh stop DIR              # clean shutdown (idempotent)
set -euo pipefail

PROG=${0##*/}
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}
: "${DBK_MY_PORT:?servers env missing (eval \"\$(tests/servers.sh env)\")}"

START_TIMEOUT=${DBK_REPLICA_START_TIMEOUT:-60}

find_bin() {
	local c
	for c in "$@"; do command -v "$c" 2>/dev/null && return 0; done
	return 1
}
MYSQLD=$(find_bin mariadbd /usr/sbin/mariadbd mysqld /usr/sbin/mysqld) || die "mariadbd not found"
INSTALL_DB=$(find_bin mariadb-install-db mysql_install_db) || die "mariadb-install-db not found"
ADMIN=$(find_bin mariadb-admin mysqladmin) || die "mariadb-admin not found"
CLIENT=$(find_bin mariadb mysql) || die "mariadb client not found"

# Zombies count as dead: containers often lack an init that reaps them.
alive() {
	local st
	st=$(sed -n "s/^State:[[:space:]]*\\([A-Z]\\).*/\\1/p" "/proc/$1/status" 2>/dev/null) || return 1
	[[ -n $st && $st != Z ]]
}

# The pid in DIR/mariadbd.pid, if it is a live mariadbd started on DIR
# (never signal a process that reused a stale pid).
our_pid() {
	local pid cmd
	pid=$(cat "$DIR/mariadbd.pid" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
	[[ $(cat "/proc/$pid/comm" 2>/dev/null) == mariadbd* || $(cat "/proc/$pid/comm" 2>/dev/null) == mysqld* ]] || return 1
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	[[ $cmd == *"--datadir=$DIR/data "* ]] || return 1
	printf '%s\n' "$pid"
}

port_in_use() {
	if command -v ss >/dev/null 2>&1 && [[ -n $(ss -Htln "sport = :$1" 2>/dev/null) ]]; then
		return 0
	fi
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
	local p
	for ((p = $1; p < 65535; p++)); do
		port_in_use "$p" || { printf '%s\n' "$p"; return 0; }
	done
	die "no free TCP port found"
}

sql() { "$CLIENT" --no-defaults --protocol=socket -S"$DIR/mysqld.sock" -uroot --connect-timeout=5 "$@"; }
up() { "$ADMIN" --no-defaults --protocol=socket -S"$DIR/mysqld.sock" -uroot --connect-timeout=2 ping >/dev/null 2>&1; }

# Starts mariadbd on $1 with server id $2 and waits until it answers.
# Returns 1 when the port was taken meanwhile; dies on any other failure.
launch() {
	local port=$1 server_id=$2 pid i deadline lines user_opt=()
	((EUID == 0)) && user_opt=(--user=root)
	lines=$(wc -l 2>/dev/null <"$DIR/error.log" || echo 0)
	rm -f "$DIR/mariadbd.pid"
	# Own session, so a terminal's ^C does not hit it; exec keeps the pid.
	# Replicates only mytest_repl% (the primary is shared with other tests);
	# report_host/port make SHOW SLAVE HOSTS name it; a short heartbeat
	# period (set in follow) makes the primary notice a stopped replica soon.
	# shellcheck disable=SC2016
	setsid -f sh -c 'echo $$ >"$0"; exec "$@"' "$DIR/mariadbd.pid" \
		"$MYSQLD" --no-defaults "${user_opt[@]}" --datadir="$DIR/data" \
		--bind-address=127.0.0.1 --port="$port" --socket="$DIR/mysqld.sock" \
		--pid-file="$DIR/mariadbd.pid" --server-id="$server_id" \
		--report-host=127.0.0.1 --report-port="$port" \
		--relay-log="$DIR/data/relay-bin" --replicate-wild-do-table='mytest_repl%.%' \
		--innodb-buffer-pool-size=32M --innodb-log-file-size=48M \
		--skip-name-resolve --performance-schema=OFF \
		--character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
		--log-error="$DIR/error.log" </dev/null >>"$DIR/stdout.log" 2>&1 9>&-
	for ((i = 0; i < 50; i++)); do
		pid=$(cat "$DIR/mariadbd.pid" 2>/dev/null) && [[ -n $pid ]] && break
		sleep 0.1
	done
	[[ -n ${pid:-} ]] || die "could not launch mariadbd"
	deadline=$((SECONDS + START_TIMEOUT))
	until up; do
		if ! alive "$pid" && tail -n +$((lines + 1)) "$DIR/error.log" 2>/dev/null |
			grep -q "Address already in use"; then
			return 1
		fi
		if ! alive "$pid" || ((SECONDS >= deadline)); then
			tail -n 30 "$DIR/error.log" >&2 || true
			alive "$pid" && kill -KILL "$pid" 2>/dev/null
			die "replica did not start (port $port)"
		fi
		sleep 0.2
	done
	log "replica $server_id up on 127.0.0.1:$port (pid $pid)"
}

cmd_start() {
	local server_id=$1 port pid attempt user_opt=()
	[[ $server_id =~ ^[0-9]+$ ]] || die "server id must be a number, not '$server_id'"
	if pid=$(our_pid) && up; then
		log "already running (pid $pid)"
		return 0
	fi
	((EUID == 0)) && user_opt=(--user=root)
	mkdir -p "$DIR"
	if [[ ! -d $DIR/data/mysql ]]; then
		"$INSTALL_DB" --no-defaults --datadir="$DIR/data" "${user_opt[@]}" \
			--auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
			--innodb-log-file-size=48M </dev/null >"$DIR/install.log" 2>&1 ||
			{ tail -n 30 "$DIR/install.log" >&2; die "mariadb-install-db failed"; }
	fi
	# The same port on every start: the primary reports it in SHOW SLAVE HOSTS.
	if port=$(cat "$DIR/port" 2>/dev/null); then
		launch "$port" "$server_id" || die "port $port of the replica is taken"
		return 0
	fi
	port=$((DBK_MY_PORT + 100))
	for attempt in 1 2 3 4 5; do
		port=$(free_port "$port")
		echo "$port" >"$DIR/port"
		launch "$port" "$server_id" && return 0
		log "port $port taken meanwhile; retrying (attempt $attempt)"
		port=$((port + 1))
	done
	rm -f "$DIR/port"
	die "no port for the replica"
}

cmd_follow() {
	local file=$1 pos=$2
	[[ $file =~ ^[A-Za-z0-9._-]+$ && $pos =~ ^[0-9]+$ ]] || die "bad binlog position '$file:$pos'"
	# root@127.0.0.1 of the test server (tests/servers.sh) has no password.
	sql -e "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$DBK_MY_PORT,
		MASTER_USER='root', MASTER_PASSWORD='', MASTER_LOG_FILE='$file',
		MASTER_LOG_POS=$pos, MASTER_USE_GTID=no, MASTER_CONNECT_RETRY=1,
		MASTER_HEARTBEAT_PERIOD=1; START SLAVE"
}

cmd_stop() {
	local pid i
	pid=$(our_pid) || return 0
	"$ADMIN" --no-defaults --protocol=socket -S"$DIR/mysqld.sock" -uroot \
		--connect-timeout=5 shutdown >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 600; i++)); do
		alive "$pid" || { log "replica stopped (pid $pid)"; return 0; }
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	log "warning: replica pid $pid needed SIGKILL"
}

main() {
	local cmd=${1:-} n
	DIR=${2:-}
	[[ $DIR == /* ]] || die "usage: $PROG start|follow|sql|stop /abs/dir ..."
	shift 2
	case $cmd in
	start) n=1 ;;
	follow) n=2 ;;
	stop) n=0 ;;
	sql) sql "$@"; return ;;
	*) die "unknown command '$cmd'" ;;
	esac
	(($# == n)) || die "$cmd takes $n argument(s) after DIR"
	"cmd_$cmd" "$@"
}

main "$@"

#!/usr/bin/env bash
# Throwaway PostgreSQL 15 + MariaDB servers for dbkeeper's integration tests.
#
#   tests/servers.sh start    # start both (idempotent); prints export lines
#   eval "$(tests/servers.sh env)"
#   tests/servers.sh status   # exit 0 if both answer
#   tests/servers.sh stop     # stop both and remove the state dir (idempotent)
#
# Both servers listen on 127.0.0.1 only (plus unix sockets inside the state
# dir), so they never clash with system services or expose anything.
#
# PostgreSQL also speaks TLS with a throwaway CA made at start (state dir
# tls/; DBK_PG_SSLROOTCERT names its certificate; the server certificate is
# for DNS:localhost and IP:127.0.0.1), and checks passwords (SCRAM) over
# TCP for members of the role dbk_password_users; everyone else is trusted.
set -euo pipefail

umask 022 # postgres must be able to traverse dirs we create as root

PROG=${0##*/}
MARKER=.dbkeeper-servers # only directories carrying it are ever rm -rf'd

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

DIR=${DBK_SERVERS_DIR:-${TMPDIR:-/tmp}/dbkeeper-servers-$(id -u)}
[[ $DIR == /* ]] || DIR=$PWD/$DIR
while [[ $DIR == */ && $DIR != / ]]; do DIR=${DIR%/}; done
# The path ends up unquoted-safe in postgresql.conf and in socket paths.
[[ $DIR =~ ^[A-Za-z0-9._/+@:-]+$ ]] || die "unsupported characters in state dir '$DIR'"
[[ $DIR != / ]] || die "refusing to use / as state dir"
# sun_path is 108 bytes; ".s.PGSQL.NNNNN" is the longest name we put there.
((${#DIR} + 20 < 104)) || die "state dir path too long for unix sockets: $DIR"

PG_SOCKDIR=$DIR/pg
PG_DATADIR=$DIR/pg/data
MY_SOCKET=$DIR/my/mysqld.sock
MY_PIDFILE=$DIR/my/mariadbd.pid
MY_ERRLOG=$DIR/my/error.log
STATE=$DIR/env.sh
PG_OS_USER=${DBK_PG_OS_USER:-postgres}
START_TIMEOUT=${DBK_SERVERS_START_TIMEOUT:-60}

ENV_VARS=(DBK_PG_HOST DBK_PG_PORT DBK_PG_USER DBK_PG_SOCKDIR DBK_PG_LOGDIR
	DBK_PG_DATADIR DBK_MY_HOST DBK_MY_PORT DBK_MY_USER DBK_MY_SOCKET
	DBK_SERVERS_DIR DBK_PG_SSLROOTCERT)

# Caller's client settings must not redirect our own admin connections.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE \
	PGOPTIONS PGDATA MYSQL_HOST MYSQL_TCP_PORT MYSQL_UNIX_PORT MYSQL_PWD

# Somewhere every user (incl. postgres) can stand; also avoids cwd warnings.
cd /

find_bin() {
	local c
	for c in "$@"; do
		if [[ $c == /* ]]; then
			[[ -x $c ]] && { printf '%s\n' "$c"; return 0; }
		elif command -v "$c" >/dev/null 2>&1; then
			command -v "$c"
			return 0
		fi
	done
	return 1
}

pg_bindir() {
	local d
	if [[ -n ${DBK_PG_BINDIR:-} ]]; then
		printf '%s\n' "$DBK_PG_BINDIR"
		return
	fi
	for d in /usr/lib/postgresql/15/bin /usr/pgsql-15/bin; do
		[[ -x $d/pg_ctl ]] && { printf '%s\n' "$d"; return; }
	done
	d=$(pg_config --bindir 2>/dev/null) && [[ -x $d/pg_ctl ]] && { printf '%s\n' "$d"; return; }
	die "PostgreSQL server binaries not found (set DBK_PG_BINDIR)"
}

my_bins() {
	MYSQLD=$(find_bin mariadbd /usr/sbin/mariadbd mysqld /usr/sbin/mysqld) ||
		die "mariadbd not found"
	MY_INSTALL_DB=$(find_bin mariadb-install-db mysql_install_db) ||
		die "mariadb-install-db not found"
	MY_ADMIN=$(find_bin mariadb-admin mysqladmin) || die "mariadb-admin not found"
	MY_CLIENT=$(find_bin mariadb mysql) || die "mariadb client not found"
}

# Run a PostgreSQL tool as the cluster owner; pg refuses to run as root.
run_pg() {
	if ((EUID != 0)); then
		"$@"
	elif command -v runuser >/dev/null 2>&1; then
		runuser -u "$PG_OS_USER" -- "$@"
	else
		su "$PG_OS_USER" -s /bin/bash -c "$(printf '%q ' "$@")"
	fi
}

# Zombies count as dead: containers often lack an init that reaps them.
alive() {
	local st
	st=$(sed -n "s/^State:[[:space:]]*\\([A-Z]\\).*/\\1/p" "/proc/$1/status" 2>/dev/null) || return 1
	[[ -n $st && $st != Z ]]
}

# True if $1 is a live process named $2 whose command line mentions our dir;
# guards against signalling an unrelated process that reused a stale pid.
pid_is_ours() {
	local pid=$1 name=$2 comm cmd
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
	[[ $comm == "$name"* ]] || return 1
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	[[ $cmd == *"$DIR/"* ]]
}

# Wait up to $3 seconds for process $1 (named $2) to vanish.
wait_gone() {
	local pid=$1 name=$2 secs=$3 i
	for ((i = 0; i < secs * 10; i++)); do
		pid_is_ours "$pid" "$name" || return 0
		sleep 0.1
	done
	return 1
}

port_in_use() {
	local p=$1
	# ss sees listeners on any address; /dev/tcp covers hosts without ss.
	if command -v ss >/dev/null 2>&1 && [[ -n $(ss -Htln "sport = :$p" 2>/dev/null) ]]; then
		return 0
	fi
	(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null
}

# First free port >= $1, skipping any listed in $2...
free_port() {
	local p=$1 skip
	shift
	for (( ; p < 65535; p++)); do
		for skip in "$@"; do [[ $p == "$skip" ]] && continue 2; done
		port_in_use "$p" || { printf '%s\n' "$p"; return 0; }
	done
	die "no free TCP port found"
}

pg_pid() {
	local pid
	pid=$(head -n1 "$PG_DATADIR/postmaster.pid" 2>/dev/null) || pid=${DBK_PG_PID:-}
	[[ -n $pid ]] && printf '%s\n' "$pid"
}

my_pid() {
	local pid
	pid=$(cat "$MY_PIDFILE" 2>/dev/null) || pid=${DBK_MY_PID:-}
	[[ -n $pid ]] && printf '%s\n' "$pid"
}

load_state() {
	[[ -f $STATE && -O $DIR && ! -L $DIR ]] || return 1
	# shellcheck disable=SC1090
	source "$STATE"
}

pg_up() {
	local pid
	pid=$(pg_pid) && pid_is_ours "$pid" postgres || return 1
	"$PG_BINDIR/pg_isready" -q -h 127.0.0.1 -p "$DBK_PG_PORT" -U postgres -d postgres -t 5
}

my_up() {
	local pid
	pid=$(my_pid) && pid_is_ours "$pid" mariadbd || return 1
	"$MY_ADMIN" --no-defaults --protocol=tcp -h127.0.0.1 -P"$DBK_MY_PORT" -uroot \
		--connect-timeout=5 ping >/dev/null 2>&1
}

is_up() {
	load_state && pg_up && my_up
}

print_env() {
	local v
	# ${!v-}: state written before a variable existed prints it empty.
	for v in "${ENV_VARS[@]}"; do printf 'export %s=%q\n' "$v" "${!v-}"; done
}

write_state() {
	local v
	{
		echo "# written by tests/servers.sh start; read by env/stop/status"
		for v in "${ENV_VARS[@]}" DBK_PG_PID DBK_MY_PID; do
			printf '%s=%q\n' "$v" "${!v-}"
		done
	} >"$STATE.tmp"
	mv -f "$STATE.tmp" "$STATE"
}

stop_pg() {
	local pid
	[[ -d $PG_DATADIR ]] || return 0
	pid=$(pg_pid) || return 0
	pid_is_ours "$pid" postgres || return 0
	if ((EUID == 0)); then PG_OS_USER=$(stat -c %U "$PG_DATADIR"); fi
	log "stopping PostgreSQL (pid $pid)"
	if run_pg "$PG_BINDIR/pg_ctl" stop -D "$PG_DATADIR" -m fast -w -t 60 >&2 9>&-; then
		wait_gone "$pid" postgres 10 && return 0
	fi
	# SIGQUIT is postgres' immediate shutdown; SIGKILL only as a last resort.
	kill -QUIT "$pid" 2>/dev/null || true
	wait_gone "$pid" postgres 15 && return 0
	kill -KILL "$pid" 2>/dev/null || true
	wait_gone "$pid" postgres 10 || log "warning: PostgreSQL pid $pid did not exit"
}

stop_my() {
	local pid
	pid=$(my_pid) || return 0
	pid_is_ours "$pid" mariadbd || return 0
	log "stopping MariaDB (pid $pid)"
	"$MY_ADMIN" --no-defaults --protocol=socket -S"$MY_SOCKET" -uroot \
		--connect-timeout=5 shutdown >/dev/null 2>&1 || true
	wait_gone "$pid" mariadbd 30 && return 0
	kill -TERM "$pid" 2>/dev/null || true
	wait_gone "$pid" mariadbd 30 && return 0
	kill -KILL "$pid" 2>/dev/null || true
	wait_gone "$pid" mariadbd 10 || log "warning: MariaDB pid $pid did not exit"
}

# Stop whatever is left in $DIR and delete it. Never touches foreign dirs.
teardown() {
	[[ -e $DIR || -L $DIR ]] || return 0
	[[ -d $DIR && ! -L $DIR && -O $DIR ]] || die "$DIR is not a directory owned by us; not touching it"
	if [[ ! -e $DIR/$MARKER ]]; then
		# Empty dir: harmless to reuse. Anything else may be someone's data.
		rmdir "$DIR" 2>/dev/null && return 0
		die "$DIR exists but was not created by $PROG; not touching it"
	fi
	load_state || true
	stop_pg
	stop_my
	rm -rf -- "$DIR"
}

show_tail() {
	local f=$1
	[[ -s $f ]] || return 0
	log "---- last lines of $f ----"
	tail -n 30 "$f" >&2 || true
}

# A throwaway CA and a server certificate for localhost/127.0.0.1 in
# $DIR/tls; the key and certificate PostgreSQL uses are copied into $DIR/pg
# (the server wants its key owned by itself, mode 0600). Sets
# DBK_PG_SSLROOTCERT, or leaves it empty (no TLS) without openssl.
make_tls() {
	local t=$DIR/tls
	DBK_PG_SSLROOTCERT=
	if ! command -v openssl >/dev/null 2>&1; then
		log "openssl not found: PostgreSQL runs without TLS"
		return 0
	fi
	mkdir -p "$t"
	{
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$t/ca.key" -out "$t/ca.crt" -days 3650 -subj "/CN=dbkeeper test CA" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" &&
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
				-keyout "$t/server.key" -out "$t/server.csr" -subj "/CN=localhost" &&
			printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" \
				"basicConstraints=CA:FALSE" "extendedKeyUsage=serverAuth" >"$t/server.ext" &&
			openssl x509 -req -in "$t/server.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" \
				-CAcreateserial -days 3650 -extfile "$t/server.ext" -out "$t/server.crt"
	} >"$t/openssl.log" 2>&1 || { show_tail "$t/openssl.log"; die "making the test CA failed"; }
	chmod 644 "$t/ca.crt"
	install -m 600 "$t/server.key" "$DIR/pg/server.key"
	install -m 644 "$t/server.crt" "$DIR/pg/server.crt"
	if ((EUID == 0)); then chown "$PG_OS_USER:" "$DIR/pg/server.key" "$DIR/pg/server.crt"; fi
	DBK_PG_SSLROOTCERT=$t/ca.crt
}

start_pg() {
	local attempt port pg_log=$DIR/pg/startup.log
	mkdir -p "$DIR/pg"
	if ((EUID == 0)); then
		getent passwd "$PG_OS_USER" >/dev/null || die "OS user '$PG_OS_USER' missing (set DBK_PG_OS_USER)"
		chown "$PG_OS_USER:" "$DIR/pg"
		run_pg test -w "$DIR/pg" ||
			die "user $PG_OS_USER cannot reach $DIR/pg; pick a DBK_SERVERS_DIR under a world-traversable path such as /tmp"
	fi

	log "initdb $PG_DATADIR"
	run_pg "$PG_BINDIR/initdb" -D "$PG_DATADIR" -U postgres --auth-local=trust \
		--auth-host=trust -E UTF8 --locale=C --no-sync >"$DIR/pg/initdb.log" 2>&1 ||
		{ show_tail "$DIR/pg/initdb.log"; die "initdb failed"; }

	cat >>"$PG_DATADIR/postgresql.conf" <<-EOF

		# --- dbkeeper test settings (tests/servers.sh) ---
		listen_addresses = '127.0.0.1'
		unix_socket_directories = '$PG_SOCKDIR'
		fsync = off
		full_page_writes = off
		shared_preload_libraries = 'pg_stat_statements'
		logging_collector = on
		log_directory = 'log'
		log_filename = 'postgresql-%Y-%m-%d_%H%M%S.log'
		max_connections = 50
	EOF
	make_tls
	if [[ -n $DBK_PG_SSLROOTCERT ]]; then
		cat >>"$PG_DATADIR/postgresql.conf" <<-EOF
			ssl = on
			ssl_cert_file = '$DIR/pg/server.crt'
			ssl_key_file = '$DIR/pg/server.key'
		EOF
	fi
	# First match wins: password-checking roles before initdb's trust lines.
	run_pg sed -i '1i host all +dbk_password_users 127.0.0.1/32 scram-sha-256' "$PG_DATADIR/pg_hba.conf"

	# Retry on a lost race for the port with another concurrent user.
	port=54319
	for attempt in 1 2 3 4 5; do
		port=$(free_port $((port + 1)))
		# Later lines win, so the port can be re-set on each attempt.
		echo "port = $port" >>"$PG_DATADIR/postgresql.conf"
		log "starting PostgreSQL on 127.0.0.1:$port"
		if run_pg "$PG_BINDIR/pg_ctl" start -D "$PG_DATADIR" -l "$pg_log" -w -t "$START_TIMEOUT" \
			-s </dev/null >&2 9>&-; then
			DBK_PG_PORT=$port
			break
		fi
		if grep -q 'Address already in use' "$pg_log" "$PG_DATADIR"/log/* 2>/dev/null && ((attempt < 5)); then
			log "port $port taken meanwhile; retrying"
			continue
		fi
		show_tail "$pg_log"
		shopt -s nullglob
		local f
		for f in "$PG_DATADIR"/log/*; do show_tail "$f"; done
		die "PostgreSQL failed to start"
	done
	[[ -n ${DBK_PG_PORT:-} ]] || die "PostgreSQL failed to start"
	DBK_PG_PID=$(pg_pid)

	# In template1 so every database the tests create has them; postgres was
	# copied from template1 before this, so it gets them explicitly.
	local db
	for db in template1 postgres; do
		"$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKDIR" -p "$DBK_PG_PORT" \
			-U postgres -d "$db" >&2 <<-'EOF' || die "creating extensions in $db failed"
			CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
			CREATE EXTENSION IF NOT EXISTS pgstattuple;
		EOF
	done
	"$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKDIR" -p "$DBK_PG_PORT" \
		-U postgres -d postgres -c 'CREATE ROLE dbk_password_users NOLOGIN' >&2 ||
		die "creating role dbk_password_users failed"
	"$PG_BINDIR/psql" -X -qAt -h 127.0.0.1 -p "$DBK_PG_PORT" -U postgres -d postgres \
		-c 'select 1' >/dev/null || die "TCP login to PostgreSQL failed"
}

my_sql_socket() {
	"$MY_CLIENT" --no-defaults --protocol=socket -S"$MY_SOCKET" -uroot --connect-timeout=5 "$@"
}

my_sql_tcp() {
	"$MY_CLIENT" --no-defaults --protocol=tcp -h127.0.0.1 -P"$DBK_MY_PORT" -uroot --connect-timeout=5 "$@"
}

start_my() {
	local attempt port pid i lines deadline user_opt=()
	mkdir -p "$DIR/my/binlog"
	# mariadbd refuses to run as root unless told to.
	((EUID == 0)) && user_opt=(--user=root)

	log "mariadb-install-db $DIR/my/data"
	# Same redo log size as the server, so its first start need not resize it.
	"$MY_INSTALL_DB" --no-defaults --datadir="$DIR/my/data" "${user_opt[@]}" \
		--auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
		--innodb-log-file-size=48M \
		</dev/null >"$DIR/my/install.log" 2>&1 ||
		{ show_tail "$DIR/my/install.log"; die "mariadb-install-db failed"; }

	port=33305
	for attempt in 1 2 3 4 5; do
		port=$(free_port $((port + 1)) "${DBK_PG_PORT:-}")
		lines=$(wc -l 2>/dev/null <"$MY_ERRLOG" || echo 0)
		pid=
		rm -f "$MY_PIDFILE"
		log "starting MariaDB on 127.0.0.1:$port"
		# New session so a terminal's ^C/hangup does not hit the server; the
		# shell records its own pid, which exec turns into mariadbd's.
		# shellcheck disable=SC2016 # $$ and $@ are for the inner sh
		setsid -f sh -c 'echo $$ >"$0"; exec "$@"' "$MY_PIDFILE" \
			"$MYSQLD" --no-defaults "${user_opt[@]}" \
			--datadir="$DIR/my/data" \
			--bind-address=127.0.0.1 --port="$port" \
			--socket="$MY_SOCKET" --pid-file="$MY_PIDFILE" \
			--log-bin="$DIR/my/binlog/mysql-bin" --server-id=1 \
			--innodb-buffer-pool-size=64M --innodb-log-file-size=48M \
			--skip-name-resolve --performance-schema=ON \
			--character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
			--log-error="$MY_ERRLOG" \
			</dev/null >>"$DIR/my/stdout.log" 2>&1 9>&-
		for ((i = 0; i < 50; i++)); do
			pid=$(cat "$MY_PIDFILE" 2>/dev/null) && [[ -n $pid ]] && break
			sleep 0.1
		done
		[[ -n ${pid:-} ]] || die "could not launch mariadbd"

		deadline=$((SECONDS + START_TIMEOUT))
		while ((SECONDS < deadline)); do
			if "$MY_ADMIN" --no-defaults --protocol=socket -S"$MY_SOCKET" -uroot \
				--connect-timeout=2 ping >/dev/null 2>&1; then
				DBK_MY_PORT=$port
				break 2
			fi
			alive "$pid" || break
			sleep 0.2
		done
		if ! alive "$pid" && ((attempt < 5)) &&
			grep -q "Address already in use" < <(tail -n +$((lines + 1)) "$MY_ERRLOG" 2>/dev/null); then
			log "port $port taken meanwhile; retrying"
			continue
		fi
		show_tail "$DIR/my/stdout.log"
		show_tail "$MY_ERRLOG"
		alive "$pid" || die "mariadbd exited during startup"
		kill -KILL "$pid" 2>/dev/null || true
		die "MariaDB did not become ready within ${START_TIMEOUT}s"
	done
	[[ -n ${DBK_MY_PORT:-} ]] || die "MariaDB failed to start"
	DBK_MY_PID=$pid

	# With skip-name-resolve a TCP client from 127.0.0.1 only matches
	# root@127.0.0.1, never root@localhost; make sure that account exists.
	if ! my_sql_tcp -e 'select 1' >/dev/null 2>&1; then
		log "adding root@127.0.0.1 for TCP logins"
		my_sql_socket -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
			GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;" >&2 ||
			die "could not create root@127.0.0.1"
	fi
	my_sql_tcp -e 'select 1' >/dev/null || die "TCP login as root to MariaDB failed"
}

cmd_start() {
	if is_up; then
		log "already running (pg 127.0.0.1:$DBK_PG_PORT, mariadb 127.0.0.1:$DBK_MY_PORT)"
		print_env
		return 0
	fi
	if [[ -e $DIR || -L $DIR ]]; then
		log "cleaning stale state in $DIR"
		teardown
	fi

	mkdir -p -- "${DIR%/*}"
	mkdir -m 755 -- "$DIR"
	: >"$DIR/$MARKER"
	# Half-started servers would otherwise linger after a failure.
	trap 'rc=$?; if ((rc)); then log "start failed; cleaning up"; teardown || true; fi' EXIT

	# shellcheck disable=SC2034 # read indirectly by print_env/write_state
	{
		DBK_SERVERS_DIR=$DIR
		DBK_PG_HOST=127.0.0.1 DBK_PG_USER=postgres DBK_PG_SOCKDIR=$PG_SOCKDIR
		DBK_PG_DATADIR=$PG_DATADIR DBK_PG_LOGDIR=$PG_DATADIR/log
		DBK_MY_HOST=127.0.0.1 DBK_MY_USER=root DBK_MY_SOCKET=$MY_SOCKET
		DBK_PG_PORT='' DBK_MY_PORT='' DBK_PG_PID='' DBK_MY_PID='' DBK_PG_SSLROOTCERT=''
	}

	start_pg
	start_my
	write_state
	trap - EXIT
	log "ready (pg 127.0.0.1:$DBK_PG_PORT, mariadb 127.0.0.1:$DBK_MY_PORT, state $DIR)"
	print_env
}

cmd_env() {
	is_up || die "servers are not running (state dir $DIR); run: tests/servers.sh start"
	print_env
}

cmd_status() {
	if ! load_state; then
		echo "not running (no state in $DIR)"
		return 1
	fi
	local rc=0
	if pg_up; then
		echo "postgresql: up on 127.0.0.1:$DBK_PG_PORT (pid $(pg_pid))"
	else
		echo "postgresql: down"
		rc=1
	fi
	if my_up; then
		echo "mariadb: up on 127.0.0.1:$DBK_MY_PORT (pid $(my_pid))"
	else
		echo "mariadb: down"
		rc=1
	fi
	return $rc
}

cmd_stop() {
	if [[ ! -e $DIR && ! -L $DIR ]]; then
		log "nothing to stop"
		return 0
	fi
	teardown
	log "stopped; removed $DIR"
}

main() {
	local cmd=${1:-}
	case $cmd in
	start | stop | env | status) ;;
	*)
		echo "usage: $PROG start|stop|env|status" >&2
		exit 2
		;;
	esac
	PG_BINDIR=$(pg_bindir)
	my_bins
	# Serialise concurrent invocations for the same state dir (e.g. parallel
	# CI steps); the servers get fd 9 closed so they never hold the lock.
	mkdir -p -- "${DIR%/*}"
	exec 9>>"$DIR.lock"
	flock -w 300 9 || die "timed out waiting for lock $DIR.lock"
	"cmd_$cmd"
}

main "$@"

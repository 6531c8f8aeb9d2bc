#!/usr/bin/env bash
# The Debian packages: builds them with packaging/build-debs.sh, installs
# all three with dpkg -i, checks the installed agent (version, the shipped
# configuration as the dbkeeper user, compiled-in paths, the system user
# and state directory, units, man pages), reinstalls (the upgrade path of
# the maintainer scripts), removes and purges, and checks nothing is left.
#
# It changes the machine, so it runs only as root with DBK_PACKAGE_TEST=1
# or CI=true, and exits 77 (skipped) otherwise. Whatever happens, it purges
# the packages again on exit.
source "$(dirname "$0")/lib.sh"

PKGS=(dbkeeper-postgres dbkeeper-mysql dbkeeper)
skip() { echo "skipped: $*"; exit 77; }

((EUID == 0)) || skip "installs packages system-wide: run as root with DBK_PACKAGE_TEST=1"
[[ ${DBK_PACKAGE_TEST:-} == 1 || ${CI:-} == true ]] ||
	skip "installs packages system-wide: set DBK_PACKAGE_TEST=1 (CI=true does too)"
command -v dpkg >/dev/null || skip "dpkg not found: not a Debian system"
# Never clobber or purge a real installation.
for p in "${PKGS[@]}"; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed; then
		skip "package $p is installed on this machine; not touching it"
	fi
done
for f in /usr/bin/dbkeeper /etc/dbkeeper /var/lib/dbkeeper; do
	[[ ! -e $f ]] || skip "$f exists and belongs to no package; not touching it"
done
if getent passwd dbkeeper >/dev/null; then skip "a user dbkeeper exists already; not touching it"; fi

# The installed binary must find its own drivers, not the build tree's.
unset DBKEEPER_DRIVER_DIR

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
known() { dpkg-query -W -f='${Status}' "$1" >/dev/null 2>&1 && [[ $(dpkg-query -W -f='${Status}' "$1") != *not-installed* ]]; }
purge_all() {
	local left=()
	for p in "${PKGS[@]}"; do known "$p" && left+=("$p"); done
	((${#left[@]} == 0)) || dpkg -P "${left[@]}" >/dev/null 2>&1 || true
}
on_exit() {
	purge_all
	cleanup
}
trap on_exit EXIT
# Runs a command; output in $OUT, status in $RC (like lib.sh's dbk).
run() {
	set +e
	OUT=$("$@" 2>&1)
	RC=$?
	set -e
}
as_agent() { run runuser -u dbkeeper -- "$@"; }
check() { # message test-args...: ok when [[ test ]] holds
	local msg=$1; shift
	if test "$@"; then ok "$msg"; else fail "$msg"; fi
}
has_user() { getent passwd dbkeeper >/dev/null; }
has_group() { getent group dbkeeper >/dev/null; }

# ---- Build ----
start=$SECONDS
bash "$DBK_SOURCE_DIR/packaging/build-debs.sh" "$WORK/debs" >"$WORK/debs.list" 2>"$WORK/build.log" ||
	{ tail -n 40 "$WORK/build.log" >&2; fail "packaging/build-debs.sh failed"; finish; }
mapfile -t debs <"$WORK/debs.list"
echo "built in $((SECONDS - start))s: ${debs[*]##*/}"
assert_eq 3 "${#debs[@]}" "three packages"
declare -A deb
for p in "${PKGS[@]}"; do
	deb[$p]=$(printf '%s\n' "${debs[@]}" | grep "/${p}_" || true)
	[[ ${deb[$p]} ]] || { fail "no package $p"; finish; }
done
version=$(dpkg-deb -f "${deb[dbkeeper]}" Version)
project=$(sed -n 's/^project(dbkeeper VERSION \([0-9.]*\).*/\1/p' "$DBK_SOURCE_DIR/CMakeLists.txt")
assert_eq "$project-1" "$version" "package version follows the project version"
assert_contains "$(dpkg-deb -f "${deb[dbkeeper-postgres]}" Depends)" "dbkeeper (= $version)" "dbkeeper-postgres depends on the same dbkeeper"
assert_contains "$(dpkg-deb -f "${deb[dbkeeper-postgres]}" Depends)" "libpq5" "dbkeeper-postgres depends on libpq5"
assert_not_contains "$(dpkg-deb -f "${deb[dbkeeper-postgres]}" Depends)" "libmariadb" "dbkeeper-postgres does not pull in the MySQL client"
assert_contains "$(dpkg-deb -f "${deb[dbkeeper-mysql]}" Depends)" "dbkeeper (= $version)" "dbkeeper-mysql depends on the same dbkeeper"
assert_contains "$(dpkg-deb -f "${deb[dbkeeper-mysql]}" Depends)" "libmariadb3" "dbkeeper-mysql depends on libmariadb3"
assert_not_contains "$(dpkg-deb -f "${deb[dbkeeper-mysql]}" Depends)" "libpq" "dbkeeper-mysql does not pull in libpq"
main_deps=$(dpkg-deb -f "${deb[dbkeeper]}" Depends)
for d in libconfig9 libjansson4 libsystemd0 adduser; do
	assert_contains "$main_deps" "$d" "dbkeeper depends on $d"
done

# Dependencies come from tests/install-deps.sh; dpkg -i must not half-fail.
missing=()
for d in "${debs[@]}"; do
	IFS=, read -ra deps <<<"$(dpkg-deb -f "$d" Depends)"
	for dep in "${deps[@]}"; do
		found=
		IFS='|' read -ra alts <<<"$dep"
		for alt in "${alts[@]}"; do
			name=$(awk '{ print $1 }' <<<"$alt")
			[[ $name == dbkeeper* ]] && found=1 && break
			installed "$name" && found=1 && break
		done
		[[ $found ]] || missing+=("$(xargs <<<"$dep")")
	done
done
if ((${#missing[@]} > 0)); then
	fail "dependencies not installed (add them to tests/install-deps.sh): ${missing[*]}"
	finish
fi

# ---- Install ----
run dpkg -i "${debs[@]}"
assert_eq 0 "$RC" "dpkg -i of all three packages: $OUT"
for p in "${PKGS[@]}"; do
	if installed "$p"; then ok "$p installed"; else fail "$p not installed"; fi
done
assert_contains "$(dpkg-query -W -f='${Conffiles}' dbkeeper)" "/etc/dbkeeper/dbkeeper.conf" "the sample configuration is a conffile"
assert_contains "$(dpkg-query -W -f='${Conffiles}' dbkeeper)" "/etc/dbkeeper/policies/housekeeping.conf" "the shipped policy is a conffile"

run dbkeeper --version
assert_eq 0 "$RC" "dbkeeper --version exits 0"
assert_eq "dbkeeper $project" "$OUT" "dbkeeper --version prints the version"
run dbkeeper --help
assert_contains "$OUT" "/etc/dbkeeper/dbkeeper.conf" "the compiled-in configuration is /etc/dbkeeper/dbkeeper.conf"

IFS=: read -r _ _ uid gid _ home shell < <(getent passwd dbkeeper) || true
[[ ${uid:-} ]] || fail "user dbkeeper was not created"
if [[ ${uid:-} ]] && ((uid < 1000)); then ok "dbkeeper is a system user (uid $uid)"; else fail "dbkeeper uid ${uid:-none}"; fi
assert_eq /var/lib/dbkeeper "${home:-}" "its home is the state directory"
assert_eq /usr/sbin/nologin "${shell:-}" "it cannot log in"
assert_eq "$(getent group dbkeeper | cut -d: -f3)" "${gid:-}" "its primary group is dbkeeper"
assert_eq "dbkeeper:dbkeeper 750" "$(stat -c '%U:%G %a' /var/lib/dbkeeper 2>&1)" "/var/lib/dbkeeper is the agent's, mode 0750"
drvdir=/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)/dbkeeper/drivers
for so in postgres mysql; do
	assert_eq "root 644" "$(stat -c '%U %a' "$drvdir/$so.so" 2>&1)" "$drvdir/$so.so installed, root's, not writable by others"
done

# The shipped configuration, as the service will run it: drivers load from
# the compiled-in driver directory, the default -c is the shipped file.
cd /
as_agent dbkeeper -c /etc/dbkeeper/dbkeeper.conf check-config
assert_eq 0 "$RC" "check-config of the shipped configuration as dbkeeper: $OUT"
assert_contains "$OUT" "target app: driver postgres" "the shipped postgres target loads its driver"
assert_contains "$OUT" "target shop: driver mysql" "the shipped mysql target loads its driver"
assert_contains "$OUT" "state /var/lib/dbkeeper" "the compiled-in state directory is /var/lib/dbkeeper"
as_agent dbkeeper check-config
assert_eq 0 "$RC" "check-config with the compiled-in default configuration: $OUT"
as_agent dbkeeper queue list
assert_eq 0 "$RC" "queue list as dbkeeper in the state directory: $OUT"
run dbkeeper -c /etc/dbkeeper/dbkeeper.conf run
assert_eq 2 "$RC" "run as root is refused"
assert_contains "$OUT" "refusing to run as root" "run says why"

# ---- Units ----
units=(/lib/systemd/system/dbkeeper.service /lib/systemd/system/dbkeeper-summary.service
	/lib/systemd/system/dbkeeper-summary.timer)
for u in "${units[@]}"; do
	check "$u installed" -f "$u"
done
check "dbkeeper.service is not enabled on install" \
	! -e /etc/systemd/system/multi-user.target.wants/dbkeeper.service
if command -v systemd-analyze >/dev/null; then
	run systemd-analyze verify "${units[@]}"
	assert_eq 0 "$RC" "systemd-analyze verify: $OUT"
	for u in dbkeeper.service dbkeeper-summary.service; do
		run systemd-analyze security --offline=true "/lib/systemd/system/$u"
		level=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$OUT")
		echo "exposure of $u: ${level:-?}"
		if [[ $level ]] && awk -v l="$level" 'BEGIN { exit !(l <= 2.5) }'; then
			ok "$u exposure $level <= 2.5"
		else
			fail "$u exposure '${level}' (want <= 2.5): $(tail -n 3 <<<"$OUT")"
		fi
	done
else
	echo "systemd-analyze not found (package systemd): unit checks skipped"
fi

# ---- Man pages ----
for page in man8/dbkeeper.8 man5/dbkeeper.conf.5 man5/dbkeeper-policy.5; do
	f=/usr/share/man/$page.gz
	[[ -f $f ]] || { fail "$f missing"; continue; }
	# Only stderr: warnings. The typeset output goes nowhere.
	set +e
	OUT=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$f" 2>&1 >/dev/null)
	RC=$?
	set -e
	if ((RC == 0)) && [[ -z $OUT ]]; then
		ok "man -l $page renders without warnings"
	else
		fail "man -l $page (status $RC): $(head -5 <<<"$OUT")"
	fi
done
run man -w dbkeeper-policy
assert_eq /usr/share/man/man5/dbkeeper-policy.5.gz "$OUT" "man finds dbkeeper-policy(5)"
for s in postgres-role.sql mysql-user.sql; do
	check "/usr/share/dbkeeper/sql/$s installed" -f "/usr/share/dbkeeper/sql/$s"
done

# ---- Reinstall: prerm upgrade, postinst configure with an old version ----
run dpkg -i "${debs[@]}"
assert_eq 0 "$RC" "reinstalling over the installed packages: $OUT"
assert_eq "dbkeeper:dbkeeper 750" "$(stat -c '%U:%G %a' /var/lib/dbkeeper 2>&1)" "state directory kept on reinstall"

# ---- Remove, then purge ----
run dpkg -r "${PKGS[@]}"
assert_eq 0 "$RC" "dpkg -r: $OUT"
check "remove deletes /usr/bin/dbkeeper" ! -e /usr/bin/dbkeeper
check "remove deletes $drvdir" ! -e "$drvdir"
check "remove deletes the units" ! -e /lib/systemd/system/dbkeeper.service
check "remove keeps the configuration" -f /etc/dbkeeper/dbkeeper.conf
if has_user; then ok "remove keeps the user"; else fail "remove deleted the user"; fi

run dpkg -P "${PKGS[@]}"
assert_eq 0 "$RC" "dpkg -P: $OUT"
for p in "${PKGS[@]}"; do
	if known "$p"; then fail "$p still known to dpkg"; else ok "$p purged"; fi
done
for f in /etc/dbkeeper /var/lib/dbkeeper /usr/bin/dbkeeper /usr/share/dbkeeper \
	"${drvdir%/drivers}" /usr/share/man/man8/dbkeeper.8.gz "${units[@]}"; do
	check "purge leaves no $f" ! -e "$f"
done
if has_user; then fail "user dbkeeper left after purge"; else ok "purge removes user dbkeeper"; fi
if has_group; then fail "group dbkeeper left after purge"; else ok "purge removes group dbkeeper"; fi
links=$(find /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled \
	/var/lib/systemd/deb-systemd-helper-masked -name '*dbkeeper*' 2>/dev/null || true)
assert_eq "" "$links" "no systemd links or deb-systemd-helper state left"

echo "took $((SECONDS - start))s"
finish

#!/usr/bin/env bash
# Install the Debian 12 packages needed to build and test dbkeeper.
# Does nothing (and needs no root/network) when everything is present, so it
# is cheap to call at the start of every CI job.
set -euo pipefail

PKGS=(
	# build
	build-essential cmake pkg-config clang libclang-rt-14-dev
	libconfig-dev libjansson-dev libcmocka-dev libpq-dev libmariadb-dev libsystemd-dev
	# test servers driven by tests/servers.sh
	postgresql-15 postgresql-contrib postgresql-15-hypopg mariadb-server mariadb-client
	# test tooling: valgrind, pgrep/ps, ss, systemd-analyze, runuser/setsid/flock
	valgrind procps iproute2 systemd util-linux chromium man-db groff-base dpkg-dev adduser
	python3 openssl jq
)

log() { printf 'install-deps: %s\n' "$*" >&2; }

command -v dpkg-query >/dev/null 2>&1 || {
	log "dpkg-query not found; this script supports Debian/Ubuntu only"
	exit 1
}

missing=()
for p in "${PKGS[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ $st == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
	log "all ${#PKGS[@]} packages already installed"
	exit 0
fi
log "missing: ${missing[*]}"

SUDO=()
if ((EUID != 0)); then
	command -v sudo >/dev/null 2>&1 || {
		log "not root and sudo is unavailable; install as root: ${missing[*]}"
		exit 1
	}
	SUDO=(sudo)
fi

# env(1) rather than sudo -E: the variable must survive sudo's env_reset.
apt=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -y
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

# Mirrors occasionally hiccup in CI; a couple of retries beats a red build.
for i in 1 2 3; do
	"${apt[@]}" update </dev/null && break
	((i < 3)) || exit 1
	log "apt-get update failed; retrying in $((i * 5))s"
	sleep $((i * 5))
done

# Services the packages may start (where policy-rc.d allows it) are left
# alone: tests/servers.sh runs private instances on their own ports.
"${apt[@]}" install --no-install-recommends "${missing[@]}" </dev/null

log "done"

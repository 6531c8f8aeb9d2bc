#!/usr/bin/env bash
# Builds the Debian packages (dbkeeper, dbkeeper-postgres, dbkeeper-mysql)
# from this source tree and prints their paths, one per line, on stdout.
#
#   packaging/build-debs.sh [OUTDIR]     (default: ./debs)
#
# Configures its own build directory OUTDIR/build for /usr (the binary's
# compiled-in paths must be the packages'), Release, no sanitizers, with
# Debian's hardening flags, so it never disturbs a development build.
# Needs cmake, a C compiler, the -dev libraries and dpkg-dev.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$PWD/debs}
mkdir -p "$out"
out=$(cd "$out" && pwd)
build=$out/build

log() { printf 'build-debs: %s\n' "$*" >&2; }
command -v dpkg-shlibdeps >/dev/null || { log "dpkg-shlibdeps missing: install dpkg-dev"; exit 1; }

# Debian's hardening (stack protector, fortify, relro/now, format checks).
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
CFLAGS=$(dpkg-buildflags --get CFLAGS) CPPFLAGS=$(dpkg-buildflags --get CPPFLAGS)
LDFLAGS=$(dpkg-buildflags --get LDFLAGS)
export CFLAGS="$CFLAGS $CPPFLAGS" LDFLAGS

log "configuring $build"
# SYSCONFDIR and LOCALSTATEDIR absolute: /etc and /var, not /usr/etc.
# Warnings do not fail a package build; the sanitizer build gates them.
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release \
	-DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_INSTALL_SYSCONFDIR=/etc \
	-DCMAKE_INSTALL_LOCALSTATEDIR=/var \
	-DDBK_SANITIZE=OFF -DDBK_WERROR=OFF -DDBK_TESTS=OFF >&2
log "building"
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" >&2
log "packaging"
rm -f "$out"/*.deb
(cd "$build" && cpack -G DEB -B "$out" >&2)
rm -rf "$out/_CPack_Packages"
shopt -s nullglob
debs=("$out"/*.deb)
((${#debs[@]} > 0)) || { log "cpack made no packages"; exit 1; }
printf '%s\n' "${debs[@]}"

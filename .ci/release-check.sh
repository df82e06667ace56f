#!/usr/bin/env bash
# Checks the release's binaries without publishing anything: builds them with
# the release's own script (.github/scripts/build-binaries.sh) into a
# temporary directory and verifies what it built: SHA256SUMS, the file format
# of each binary, the build settings Go recorded in it (no cgo, the target,
# -trimpath, the nethttpomithttp2 tag), the version in it (once the main
# package declares main.version), and that the Linux binary is static,
# stripped and runs.
#
#   release-check.sh          this machine's target and linux/arm64 (the
#                             image's other platform): quick with a warm cache
#   release-check.sh --all    all six targets, as the release builds them
#
# Quiet on success (one summary line); on failure it prints the log.
set -Eeuo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="v0.0.0-check"

WORK="$(mktemp -d)"
LOG="$WORK/log"
trap 'rm -rf "$WORK"' EXIT
failed=""
on_error() {
	[ -z "$failed" ] || return 0
	failed=1
	echo "release-check: failed; log follows:" >&2
	cat "$LOG" >&2
}
trap on_error ERR
fail() {
	echo "release-check: $*" >>"$LOG"
	on_error
	exit 1
}

case "${1:-}" in
--all) targets=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64) ;;
"") targets=("$(go env GOOS)/$(go env GOARCH)" linux/arm64) ;;
*) fail "usage: release-check.sh [--all]" ;;
esac
# Once each, in the order given.
mapfile -t targets < <(printf '%s\n' "${targets[@]}" | awk '!seen[$0]++')

start=$SECONDS
# -X of a variable that does not exist is silently ignored; check the version
# only where it can be there.
has_version=""
if (cd "$REPO_ROOT" && go doc -u . version) >/dev/null 2>&1; then
	has_version=1
fi
out="$WORK/dist"
bash "$REPO_ROOT/.github/scripts/build-binaries.sh" "$VERSION" "$out" "${targets[@]}" >>"$LOG" 2>&1

cd "$out"
sha256sum --check --strict SHA256SUMS >>"$LOG" 2>&1
[ "$(wc -l <SHA256SUMS)" -eq "${#targets[@]}" ] || fail "SHA256SUMS has $(wc -l <SHA256SUMS) lines for ${#targets[@]} binaries"

# magic FILE: the first four bytes, in hex.
magic() { od -An -tx1 -N4 "$1" | tr -d ' \n'; }

for target in "${targets[@]}"; do
	os="${target%/*}" arch="${target#*/}" ext=""
	[ "$os" != windows ] || ext=".exe"
	bin="sbdeploy-$os-$arch$ext"
	[ -f "$bin" ] || fail "$bin was not built"
	case "$os" in
	linux) [ "$(magic "$bin")" = 7f454c46 ] || fail "$bin is not an ELF file" ;;
	darwin) [ "$(magic "$bin")" = cffaedfe ] || fail "$bin is not a 64-bit Mach-O file" ;;
	windows) [ "$(magic "$bin" | cut -c1-4)" = 4d5a ] || fail "$bin is not a PE file" ;;
	esac
	info="$(go version -m "$bin")"
	# Go leaves -ldflags out of the record when -trimpath is set.
	for setting in "CGO_ENABLED=0" "GOOS=$os" "GOARCH=$arch" "-trimpath=true" "-tags=nethttpomithttp2"; do
		grep -qF -- "build	$setting" <<<"$info" || {
			echo "$info" >>"$LOG"
			fail "$bin was not built with $setting"
		}
	done
	if [ -n "$has_version" ] && ! grep -qaF "$VERSION" "$bin"; then
		fail "$bin does not carry the version $VERSION (-X main.version)"
	fi
done

# The Linux binary for this machine: static (no program interpreter),
# stripped (-s: no symbol table), and it runs.
host="sbdeploy-$(go env GOOS)-$(go env GOARCH)"
if [ -f "$host" ] && [ "$(go env GOOS)" = linux ]; then
	if LC_ALL=C readelf -l "$host" | grep -q INTERP; then
		fail "$host is dynamically linked"
	fi
	if LC_ALL=C readelf -S "$host" | grep -q '\.symtab'; then
		fail "$host has a symbol table: not built with -s"
	fi
	"./$host" --help >>"$LOG" 2>&1 || fail "$host --help failed"
fi

echo "release-check: ${#targets[@]} binaries (${targets[*]}) built by build-binaries.sh and verified, with SHA256SUMS ($((SECONDS - start)) s)"

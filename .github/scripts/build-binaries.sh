#!/usr/bin/env bash
# Builds the release's binaries, for CIs other than GitHub Actions: a static
# sbdeploy for linux, darwin and windows on amd64 and arm64, with the image's
# build flags, and SHA256SUMS beside them.
#
#   build-binaries.sh <version> [output directory [os/arch ...]]
#
# The version (the tag, v1.2.3) goes into main.version. Earlier
# binaries and SHA256SUMS in the output directory (default dist, relative to
# the current directory) are removed first. The targets are all six unless
# some are named. Files:
#   sbdeploy-linux-amd64  sbdeploy-linux-arm64  sbdeploy-darwin-amd64
#   sbdeploy-darwin-arm64 sbdeploy-windows-amd64.exe sbdeploy-windows-arm64.exe
#   SHA256SUMS            (sha256sum -c SHA256SUMS --ignore-missing checks one)
set -euo pipefail

die() {
	echo "build-binaries: $*" >&2
	exit 1
}

[ "$#" -ge 1 ] || die "usage: build-binaries.sh <version> [output directory [os/arch ...]]"
version="$1"
out="${2:-dist}"
shift $(($# < 2 ? $# : 2))
targets=("$@")
[ "${#targets[@]}" -gt 0 ] ||
	targets=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64)
# It goes into -ldflags: no spaces or quotes.
[[ "$version" =~ ^[0-9A-Za-z][0-9A-Za-z.+-]*$ ]] || die "version must be like v1.2.3 or v1.2.3-rc.1, got: $version"

mkdir -p "$out"
out="$(cd "$out" && pwd)"
rm -f "$out"/sbdeploy-* "$out/SHA256SUMS"
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

for target in "${targets[@]}"; do
	[[ "$target" =~ ^(linux|darwin|windows)/(amd64|arm64)$ ]] || die "unknown target: $target"
	os="${target%/*}" arch="${target#*/}" ext=""
	[ "$os" != windows ] || ext=".exe"
	# The Dockerfile's build: static, no build paths, no symbols, no HTTP/2.
	CGO_ENABLED=0 GOOS="$os" GOARCH="$arch" go build \
		-tags nethttpomithttp2 -trimpath -ldflags="-s -w -X main.version=$version" \
		-o "$out/sbdeploy-$os-$arch$ext" .
done

(cd "$out" && sha256sum sbdeploy-* >SHA256SUMS)

#!/usr/bin/env bash
# Turns the action into its released form: replaces `image: Dockerfile` under
# `runs:` in action.yml with `image: docker://<ref>`, so that workflows pull the
# prebuilt image instead of building it on every run.
#
#   pin-action-image.sh <image-ref-with-digest> [action.yml]
#
# The reference must carry its registry and be pinned by digest, such as
# ghcr.io/owner/repo@sha256:<64 hex>, so a release always names the same bytes.
# Only that one line changes. Anything unexpected fails loudly and leaves the
# file as it was: a reference without a digest, no `runs:` block, no `image:`
# line or more than one, or an `image:` line other than exactly
# `image: Dockerfile` (for instance one pinned already).
set -euo pipefail

die() {
	echo "pin-action-image: $*" >&2
	exit 1
}

{ [ "$#" -ge 1 ] && [ "$#" -le 2 ]; } || die "usage: pin-action-image.sh <registry/name@sha256:<64 hex>> [action.yml]"
ref="$1"
file="${2:-action.yml}"

# registry[:port]/path@sha256:<64 lower-case hex>; lower case, as registries
# require; no tag beside the digest, and no docker:// (added here).
component='[a-z0-9]+([._-]+[a-z0-9]+)*'
if ! [[ "$ref" =~ ^$component(:[0-9]+)?(/$component)+@sha256:[0-9a-f]{64}$ ]]; then
	die "image reference must be <registry>/<name>@sha256:<64 lower-case hex digits>, got: $ref"
fi
[ -f "$file" ] || die "$file: no such file"

tmp="$(mktemp "$file.XXXXXX")"
trap 'rm -f "$tmp"' EXIT

# In the top-level runs: block (it ends at the next line that starts in column
# one), the single image: line must read exactly "image: Dockerfile".
awk -v ref="$ref" -v file="$file" '
	function fail(msg) { print "pin-action-image: " file ": " msg > "/dev/stderr"; failed = 1; exit 1 }
	/^runs:[ \t]*$/ { runs++; inruns = 1; print; next }
	inruns && /^[^ \t#]/ { inruns = 0 }
	inruns && /^[ \t]+image:/ {
		images++
		if ($0 !~ /^[ \t]+image: Dockerfile$/) fail("the runs image line is not exactly \"image: Dockerfile\": " $0)
		indent = $0
		sub(/image:.*/, "", indent)
		print indent "image: docker://" ref
		next
	}
	{ print }
	END {
		if (failed) exit 1
		if (runs != 1) fail("expected one top-level \"runs:\" line, found " runs + 0)
		if (images != 1) fail("expected one image: line under runs:, found " images + 0)
	}
' "$file" >"$tmp"

# Keep the file's mode; replace it whole, so a failure never leaves half a file.
chmod --reference="$file" "$tmp"
mv "$tmp" "$file"
trap - EXIT
echo "$file: runs.image is docker://$ref"

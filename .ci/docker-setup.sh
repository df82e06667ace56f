#!/usr/bin/env bash
# Prepares everything the container-action checks need, without any
# container registry:
#   - a Docker engine (Debian's docker.io), started in the background if none
#     answers; its PID goes to $DOCKERD_STATE_DIR/dockerd.pid so that
#     .ci/docker-teardown.sh can stop it;
#   - local stand-ins for the images the project names:
#       golang:1.26           the builder stage of the Dockerfile: this
#                             machine's Go toolchain, a static busybox, CA
#                             certificates and the module cache of go.mod, so
#                             the build works with no network (GOPROXY=off);
#       sbdeploy-runner:local the job container for act (ubuntu-latest):
#                             busybox and CA certificates, enough for
#                             `shell: sh` steps;
#   - act (nektos/act) and actionlint, through the Go module proxy.
# Idempotent: a second run only checks. Quiet on success; on failure it prints
# the log of the failing step.
set -Eeuo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${DOCKERD_STATE_DIR:-${TMPDIR:-/tmp}/sbdeploy-dockerd}"
GOLANG_IMAGE="golang:1.26"
RUNNER_IMAGE="${SBDEPLOY_RUNNER_IMAGE:-sbdeploy-runner:local}"
ACT_VERSION="v0.2.89"
ACTIONLINT_VERSION="v1.7.12"
# Bump when the recipe of a stand-in image changes, so old ones are rebuilt.
RECIPE="1"
LABEL_KEY="dev.statebacked.sbdeploy.stand-in"

mkdir -p "$STATE_DIR"
LOG="$STATE_DIR/setup.log"
: >"$LOG"
WORK=""
cleanup() {
	if [ -n "$WORK" ] && [ -d "$WORK" ]; then
		# The module cache is read-only; make it removable first.
		chmod -R u+w "$WORK" 2>/dev/null || true
		rm -rf "$WORK"
	fi
}
on_error() {
	echo "docker-setup: failed; log follows ($LOG):" >&2
	tail -n 60 "$LOG" >&2 || true
}
trap cleanup EXIT
trap on_error ERR

run() { "$@" >>"$LOG" 2>&1; }

export DEBIAN_FRONTEND=noninteractive

# --- packages ---------------------------------------------------------------
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
[ -s /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
if [ "${#missing[@]}" -gt 0 ]; then
	# Wait for the dpkg lock rather than fail if another install is running.
	run apt-get -o DPkg::Lock::Timeout=300 update
	run apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}"
fi

# --- Docker engine ----------------------------------------------------------
# No bridge and no iptables: containers use the host's network only.
if ! docker info >/dev/null 2>&1; then
	nohup dockerd --bridge=none --iptables=false --storage-driver=vfs \
		>"$STATE_DIR/dockerd.log" 2>&1 </dev/null &
	echo "$!" >"$STATE_DIR/dockerd.pid"
	ok=""
	for _ in $(seq 60); do
		if docker info >/dev/null 2>&1; then ok=1; break; fi
		if ! kill -0 "$(cat "$STATE_DIR/dockerd.pid")" 2>/dev/null; then break; fi
		sleep 1
	done
	if [ -z "$ok" ]; then
		echo "docker-setup: dockerd did not answer within 60 s:" >&2
		tail -n 40 "$STATE_DIR/dockerd.log" >&2 || true
		exit 1
	fi
fi

# label IMAGE: the stand-in label of IMAGE, "none" if it has none, or "absent"
# if there is no such image.
label() {
	docker image inspect --format "{{ index .Config.Labels \"$LABEL_KEY\" }}" "$1" 2>/dev/null |
		sed 's/^<no value>$/none/;s/^$/none/' || echo absent
}

# Busybox with every applet linked, so that RUN lines and `shell: sh` steps
# have /bin/sh and the usual tools.
stage_busybox() {
	local root="$1" applet
	mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" \
		"$root/etc/ssl/certs" "$root/tmp" "$root/root"
	chmod 1777 "$root/tmp"
	cp /bin/busybox "$root/bin/busybox"
	for applet in $(/bin/busybox --list-full); do
		[ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
	done
	cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
	printf 'root:x:0:\n' >"$root/etc/group"
}

import_image() {
	local root="$1" image="$2"
	shift 2
	tar -C "$root" --numeric-owner --owner=0 --group=0 -cf - . |
		docker import "$@" - "$image" >>"$LOG" 2>&1
}

# --- golang:1.26 stand-in ---------------------------------------------------
# Its module cache follows go.mod and go.sum: a change there rebuilds it.
deps="$(cat "$REPO_ROOT/go.mod" "$REPO_ROOT/go.sum" 2>/dev/null | sha256sum | cut -c1-16)"
want="recipe-$RECIPE-deps-$deps"
have="$(label "$GOLANG_IMAGE")"
# An image without the label is a real upstream one: leave it alone.
if [ "$have" = absent ] || { [ "$have" != none ] && [ "$have" != "$want" ]; }; then
	WORK="$(mktemp -d)"
	root="$WORK/root"
	goroot="$(go env GOROOT)"
	stage_busybox "$root"
	mkdir -p "$root/usr/local/go" "$root/go/bin" "$root/go/pkg/mod"
	# The toolchain without what only its own tests and docs need.
	tar -C "$goroot" -cf - \
		--exclude=./test --exclude=./api --exclude=./doc --exclude=./misc \
		--exclude='testdata' --exclude='*_test.go' . |
		tar -C "$root/usr/local/go" -xf -
	# The modules of go.mod, taken from this machine's module cache where it
	# has them, else from the configured proxy.
	hostcache="$(go env GOMODCACHE)"
	proxy="$(go env GOPROXY)"
	(
		cd "$REPO_ROOT"
		env -u GOFLAGS GOMODCACHE="$root/go/pkg/mod" GOTOOLCHAIN=local \
			GOPROXY="file://$hostcache/cache/download,$proxy" \
			go mod download
	) >>"$LOG" 2>&1
	chmod -R u+w "$root/go/pkg/mod/cache/download" 2>/dev/null || true
	rm -rf "$root/go/pkg/mod/cache/download/sumdb" "$root/go/pkg/mod/cache/vcs"
	docker image rm -f "$GOLANG_IMAGE" >>"$LOG" 2>&1 || true
	import_image "$root" "$GOLANG_IMAGE" \
		--change "ENV PATH=/usr/local/go/bin:/go/bin:/bin:/usr/bin:/sbin:/usr/sbin" \
		--change "ENV GOPATH=/go" \
		--change "ENV HOME=/root" \
		--change "ENV GOTOOLCHAIN=local" \
		--change "ENV GOPROXY=off" \
		--change "ENV CGO_ENABLED=0" \
		--change "WORKDIR /go" \
		--change 'CMD ["/bin/sh"]' \
		--change "LABEL $LABEL_KEY=$want"
	cleanup
	WORK=""
fi

# --- act job container ------------------------------------------------------
# act copies the workspace in and runs `sh` steps with docker exec; the
# checkout of the workflow's own repository is a copy done by act itself, so
# no node is needed here.
want="recipe-$RECIPE"
if [ "$(label "$RUNNER_IMAGE")" != "$want" ]; then
	WORK="$(mktemp -d)"
	stage_busybox "$WORK/root"
	mkdir -p "$WORK/root/opt/hostedtoolcache"
	docker image rm -f "$RUNNER_IMAGE" >>"$LOG" 2>&1 || true
	import_image "$WORK/root" "$RUNNER_IMAGE" \
		--change "ENV PATH=/bin:/usr/bin:/sbin:/usr/sbin" \
		--change "ENV HOME=/root" \
		--change 'CMD ["/bin/sh"]' \
		--change "LABEL $LABEL_KEY=$want"
	cleanup
	WORK=""
fi

# --- act and actionlint -----------------------------------------------------
gobin="$(go env GOBIN)"
[ -n "$gobin" ] || gobin="$(go env GOPATH | cut -d: -f1)/bin"
if ! command -v act >/dev/null 2>&1 && [ ! -x "$gobin/act" ]; then
	run go install "github.com/nektos/act@$ACT_VERSION"
fi
if ! command -v actionlint >/dev/null 2>&1 && [ ! -x "$gobin/actionlint" ]; then
	run go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
fi

#!/usr/bin/env bash
# Proves the action in its released form, as release.yml makes it, on this
# machine:
#   1. a Docker engine, the base-image stand-ins and act (.ci/docker-setup.sh);
#   2. a real registry on 127.0.0.1: Debian's docker-registry, the reference
#      implementation of the registry API (CNCF Distribution), installed
#      from its package, storing on disk in a temporary directory;
#   3. the image built from the Dockerfile, pushed there, and its digest read
#      back from the registry;
#   4. a temporary copy of the repository whose action.yml names that digest,
#      made by the release's own script (.github/scripts/pin-action-image.sh);
#   5. the image removed locally, then testdata/workflows/prebuilt.yml run
#      under act in that copy against the API emulator: act must pull the
#      image by its digest, build nothing, and the step must write a
#      migration-id output.
# Everything it starts (the registry, the emulator) is stopped by its PID on
# exit, and the copy, the registry's storage and the images it made go with
# them; a leftover of an interrupted run is cleared first, so it can run
# again. Quiet on success (one summary line); on failure it prints the logs.
#
#   release-proof.sh                  the proof
#   release-proof.sh --cold-start N   then times both forms N times each,
#                                     alternately (BENCHMARKS.md, "Cold start")
set -Eeuo pipefail

cold_runs=0
case "${1:-}" in
"") ;;
--cold-start) cold_runs="${2:-5}" ;;
*)
	echo "usage: release-proof.sh [--cold-start N]" >&2
	exit 2
	;;
esac
[[ "$cold_runs" =~ ^[0-9]+$ ]] || { echo "release-proof: N must be a number" >&2; exit 2; }

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${SBDEPLOY_RELEASE_PROOF_DIR:-${TMPDIR:-/tmp}/sbdeploy-release-proof}"
RUNNER_IMAGE="sbdeploy-runner:local"
REPOSITORY="sbdeploy" # the image's name in the local registry

export DEBIAN_FRONTEND=noninteractive ACT_DISABLE_VERSION_CHECK=1
gobin="$(go env GOBIN)"
[ -n "$gobin" ] || gobin="$(go env GOPATH | cut -d: -f1)/bin"
export PATH="$PATH:$gobin"

# stop NAME: stops the process whose PID is in $STATE_DIR/NAME.pid, if it is
# still the program that was started (PIDs get reused), and waits for it.
stop() {
	local pidfile="$STATE_DIR/$1.pid" pid comm
	[ -f "$pidfile" ] || return 0
	read -r pid comm <"$pidfile" || true
	if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
}

# start NAME LOG COMMAND...: starts COMMAND in the background and records its
# PID and program name for stop.
start() {
	local name="$1" log="$2"
	shift 2
	"$@" >"$log" 2>&1 </dev/null &
	echo "$! $(basename "$1" | cut -c1-15)" >"$STATE_DIR/$name.pid"
}

PULLED=""
BUILT=""
failed=""
# cleanup: stops what this script started and removes what it made; the logs
# stay only after a failure.
cleanup() {
	stop emulator
	stop registry
	if [ -n "$PULLED" ]; then
		docker image rm --force "$PULLED" >/dev/null 2>&1 || true
	fi
	if [ -n "$BUILT" ]; then
		docker image rm --force "$BUILT" >/dev/null 2>&1 || true
	fi
	if [ -d "$STATE_DIR" ]; then
		chmod -R u+w "$STATE_DIR" 2>/dev/null || true
		if [ -n "$failed" ]; then
			find "$STATE_DIR" -mindepth 1 -maxdepth 1 ! -name '*.log' -exec rm -rf {} +
		else
			rm -rf "$STATE_DIR"
		fi
	fi
}

on_error() {
	[ -z "$failed" ] || return 0
	failed=1
	echo "release-proof: failed; logs follow" >&2
	for log in "$STATE_DIR"/*.log; do
		[ -s "$log" ] || continue
		echo "--- $log" >&2
		tail -n 80 "$log" >&2
	done
}
trap on_error ERR
trap cleanup EXIT

fail() {
	echo "release-proof: $*" >>"$STATE_DIR/proof.log"
	on_error
	exit 1
}

# A leftover of an interrupted run first: its processes, its files.
mkdir -p "$STATE_DIR"
cleanup
mkdir -p "$STATE_DIR"
LOG="$STATE_DIR/proof.log"
: >"$LOG"
run() { "$@" >>"$LOG" 2>&1; }
begin=$SECONDS

# --- 1. Docker engine, stand-ins, act -----------------------------------------
if ! bash "$REPO_ROOT/.ci/docker-setup.sh" </dev/null >>"$LOG" 2>&1; then
	fail "docker-setup.sh failed"
fi

# --- 2. the registry ------------------------------------------------------------
if ! command -v docker-registry >/dev/null 2>&1; then
	run apt-get -o DPkg::Lock::Timeout=300 update
	run apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends docker-registry
fi

free_port() {
	local port
	for _ in $(seq 100); do
		port=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# A port can be taken between the look and the bind: then try another.
registry=""
for _ in 1 2 3; do
	port="$(free_port)"
	mkdir -p "$STATE_DIR/registry"
	cat >"$STATE_DIR/registry.yml" <<-EOF
		version: 0.1
		log:
		  level: warn
		  accesslog:
		    disabled: true
		storage:
		  filesystem:
		    rootdirectory: $STATE_DIR/registry
		http:
		  addr: 127.0.0.1:$port
	EOF
	start registry "$STATE_DIR/registry.log" docker-registry serve "$STATE_DIR/registry.yml"
	for _ in $(seq 50); do
		if curl -fsS -o /dev/null "http://127.0.0.1:$port/v2/" 2>/dev/null; then
			registry="127.0.0.1:$port"
			break 2
		fi
		read -r pid _ <"$STATE_DIR/registry.pid"
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	stop registry
done
[ -n "$registry" ] || fail "the registry did not answer on 127.0.0.1"

# --- 3. the image, pushed, and its digest ---------------------------------------
# Docker pushes to and pulls from 127.0.0.0/8 over plain HTTP with no
# configuration: the engine treats loopback registries as insecure-allowed.
image="$registry/$REPOSITORY:proof"
run docker build --network host -t "$image" "$REPO_ROOT"
run docker push "$image"
# The digest the registry serves for the tag (the manifest's own digest).
digest="$(curl -fsS -o /dev/null -D - \
	-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
	-H 'Accept: application/vnd.oci.image.manifest.v1+json' \
	"http://$registry/v2/$REPOSITORY/manifests/proof" |
	tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p')"
[[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "the registry gave no digest for $image: '$digest'"
pinned="$registry/$REPOSITORY@$digest"
# Gone from this engine, so that act has to pull it.
run docker image rm "$image"
if docker image inspect "$pinned" >/dev/null 2>&1; then
	fail "$pinned is still present locally"
fi

# --- 4. the released form, in a copy ------------------------------------------
# copy_repo DIR: the repository's files as they are, with .git so that act
# finds the commit; nothing is run in the copy's git.
copy_repo() {
	mkdir -p "$1"
	tar -C "$REPO_ROOT" --exclude=./dist --exclude=node_modules -cf - . | tar -C "$1" -xf -
}
copy="$STATE_DIR/repo"
copy_repo "$copy"
run bash "$REPO_ROOT/.github/scripts/pin-action-image.sh" "$pinned" "$copy/action.yml"
grep -qx "  image: docker://$pinned" "$copy/action.yml" || fail "action.yml in the copy is not pinned to $pinned"

# --- 5. the workflow under act, against the emulator ---------------------------
run go -C "$REPO_ROOT" build -o "$STATE_DIR/sbdeploy" .
token="release-proof-$RANDOM$RANDOM"
STATEBACKED_TOKEN="$token" start emulator "$STATE_DIR/emulator.log" "$STATE_DIR/sbdeploy" emulator --listen 127.0.0.1:0
url=""
for _ in $(seq 100); do
	url="$(sed -n 's/.*listening on \(http:\/\/127\.0\.0\.1:[0-9]*\).*/\1/p' "$STATE_DIR/emulator.log")"
	[ -z "$url" ] || break
	sleep 0.1
done
[ -n "$url" ] || fail "the emulator did not start"

# act_run DIR LOG: runs prebuilt.yml under act in DIR, each line of its
# output stamped with the time it arrived (seconds, for the cold start).
act_run() {
	(cd "$1" && STATEBACKED_TOKEN="$token" act push -W testdata/workflows/prebuilt.yml \
		-P "ubuntu-latest=$RUNNER_IMAGE" --pull=false --network host \
		--no-cache-server --cache-server-addr 127.0.0.1 --artifact-server-addr 127.0.0.1 \
		--container-daemon-socket - \
		--env "SB_API_URL=$url" --secret STATEBACKED_TOKEN 2>&1) |
		perl -MTime::HiRes=time -ne 'BEGIN { $| = 1 } printf "%.3f %s", time, $_' >"$2"
	return "${PIPESTATUS[0]}"
}

PULLED="$pinned"
act_run "$copy" "$STATE_DIR/act.log" || fail "act failed"

grep -qF "docker pull image=$pinned" "$STATE_DIR/act.log" || fail "act did not pull $pinned"
if grep -qE 'docker build|Building image' "$STATE_DIR/act.log"; then
	fail "act built an image; the released action must only pull"
fi
docker image inspect "$pinned" >/dev/null 2>&1 || fail "$pinned is not in the engine after act's run"
# The action wrote the output (act shows it as ::set-output::), and the next
# step read the same value.
migration="$(sed -n 's/.*::set-output:: migration-id=\(mvm_[A-Za-z0-9_-]*\)$/\1/p' "$STATE_DIR/act.log")"
[ -n "$migration" ] || fail "the action wrote no migration-id output"
grep -qE "\| prebuilt migration-id=$migration\$" "$STATE_DIR/act.log" || fail "the next step did not read migration-id=$migration"
if grep -qF "$token" "$STATE_DIR/act.log"; then
	fail "the token appears in act's log"
fi

echo "release-proof: act pulled $pinned (nothing built) and deployed migration-id=$migration to the emulator ($((SECONDS - begin)) s)"
[ "$cold_runs" -gt 0 ] || exit 0

# --- cold start: built from the Dockerfile, against pulled --------------------
# From act starting the job (its first line about the job) to the action's
# first log line (the first line after act's "docker run" of the action).
startup() {
	awk '
		!start && index($0, "[prebuilt/deploy]") { start = $1 }
		ran && !first { first = $1 }
		/docker run image=/ && !/sbdeploy-runner/ { ran = 1 }
		END { if (start && first) printf "%.2f\n", first - start; else exit 1 }
	' "$1"
}
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# The form on main (image: Dockerfile), in a second copy: act builds the
# image. One untimed run first, so the module and dependency layers are
# cached as in a warm module cache; each timed run changes the source.
built="$STATE_DIR/built"
copy_repo "$built"
BUILT="act-dockeraction:latest" # act's name for the image of uses: ./
act_run "$built" "$STATE_DIR/cold-warm-up.log" || fail "act failed (built form, warm-up)"
built_times=() pulled_times=()
for i in $(seq "$cold_runs"); do
	printf '\n// cold start %s\n' "$i" >>"$built/main.go"
	act_run "$built" "$STATE_DIR/cold-built-$i.log" || fail "act failed (built form, run $i)"
	grep -qF "docker build -t $BUILT" "$STATE_DIR/cold-built-$i.log" || fail "act did not build the image (run $i)"
	built_times+=("$(startup "$STATE_DIR/cold-built-$i.log")") || fail "no start or first line in run $i (built)"

	docker image rm "$pinned" >>"$LOG" 2>&1 || fail "could not remove $pinned before run $i"
	act_run "$copy" "$STATE_DIR/cold-pulled-$i.log" || fail "act failed (pulled form, run $i)"
	pulled_times+=("$(startup "$STATE_DIR/cold-pulled-$i.log")") || fail "no start or first line in run $i (pulled)"
done
echo "release-proof: cold start, job start to the action's first line, median of $cold_runs: built $(median "${built_times[@]}") s (${built_times[*]}), pulled $(median "${pulled_times[@]}") s (${pulled_times[*]})"

#!/usr/bin/env bash
# Starts a real S3 server for the upload integration test (deploy/s3_test.go,
# build tag s3): versitygw, with its posix backend, on 127.0.0.1 only.
#
#   bash .ci/s3-setup.sh         install versitygw if needed, start it (or
#                                check the one already started), write the env file
#   . "$STATE_DIR/env"           export SBDEPLOY_S3_ENDPOINT (http://127.0.0.1:PORT),
#                                SBDEPLOY_S3_ACCESS_KEY and SBDEPLOY_S3_SECRET_KEY
#   go test -tags s3 -run TestS3 -count=1 ./deploy
#   bash .ci/s3-setup.sh stop    stop the server this script started; remove its data
#
# STATE_DIR is $SBDEPLOY_S3_STATE_DIR, by default ${TMPDIR:-/tmp}/sbdeploy-s3.
# It holds the PID file, the env file (mode 600), the log and the data.
# The access key and secret are random for each start. versitygw is installed
# with `go install` (about 2 minutes cold on 2 cores) into $(go env GOBIN), or
# $(go env GOPATH)/bin. Idempotent; quiet on success; on failure it prints the
# server's log.
set -euo pipefail

VERSITYGW_VERSION="v1.8.0"
STATE_DIR="${SBDEPLOY_S3_STATE_DIR:-${TMPDIR:-/tmp}/sbdeploy-s3}"
PID_FILE="$STATE_DIR/versitygw.pid"
ENV_FILE="$STATE_DIR/env"
LOG="$STATE_DIR/versitygw.log"
DATA="$STATE_DIR/data"
META="$STATE_DIR/meta"
HEALTH="/health"

# ours reports whether the PID file names a running versitygw (PIDs get
# reused), not a zombie that no one has reaped yet.
ours() {
	[ -f "$PID_FILE" ] || return 1
	local pid state
	pid="$(cat "$PID_FILE")"
	[ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = versitygw ] || return 1
	state="$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)"
	[ -n "$state" ] && [ "$state" != Z ]
}

# healthy reports whether the server at 127.0.0.1:$1 answers its health
# check. A subshell, so the connection is closed however it ends.
healthy() (
	exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
	printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\n\r\n' "$HEALTH" "$1" >&3
	IFS= read -r -t 5 status <&3 || exit 1
	[[ "$status" == "HTTP/1."?" 200"* ]]
) 2>/dev/null

stop() {
	if ours; then
		local pid
		pid="$(cat "$PID_FILE")"
		kill -TERM "$pid"
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "s3-setup: versitygw ($pid) still running after 10 s; killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -rf "$PID_FILE" "$ENV_FILE" "$DATA" "$META"
}

random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

case "${1:-start}" in
start) ;;
stop)
	stop
	exit 0
	;;
*)
	echo "usage: $0 [start|stop]" >&2
	exit 2
	;;
esac

mkdir -p "$STATE_DIR"
chmod 700 "$STATE_DIR"

# Already running: check that it answers, and leave it be.
if ours && [ -f "$ENV_FILE" ]; then
	port="$(sed -n 's|^export SBDEPLOY_S3_ENDPOINT=http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$ENV_FILE")"
	if [ -n "$port" ] && healthy "$port"; then
		exit 0
	fi
	echo "s3-setup: versitygw ($(cat "$PID_FILE")) does not answer; restarting it" >&2
fi
stop # whatever is left of an earlier start

# --- install ----------------------------------------------------------------
gobin="$(go env GOBIN)"
gobin="${gobin:-$(go env GOPATH)/bin}"
bin="$gobin/versitygw"
if ! go version -m "$bin" 2>/dev/null | grep -q "^[[:space:]]*mod[[:space:]]*github.com/versity/versitygw[[:space:]]*${VERSITYGW_VERSION}[[:space:]]"; then
	if ! go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" >"$STATE_DIR/install.log" 2>&1; then
		echo "s3-setup: go install versitygw@$VERSITYGW_VERSION failed:" >&2
		tail -n 40 "$STATE_DIR/install.log" >&2
		exit 1
	fi
fi

# --- start ------------------------------------------------------------------
# The secret goes by environment, not argument, so that ps does not show it.
access="$(random_hex 10 | tr a-f A-F)"
secret="$(random_hex 20)"
started=""
for _ in 1 2 3 4 5; do
	mkdir -p "$DATA" "$META"
	port="$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000))"
	# A port that already answers belongs to someone else.
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		continue
	fi
	ROOT_ACCESS_KEY_ID="$access" ROOT_SECRET_ACCESS_KEY="$secret" \
		nohup "$bin" --port "127.0.0.1:$port" --health "$HEALTH" --quiet \
		posix --sidecar "$META" "$DATA" >"$LOG" 2>&1 </dev/null &
	echo "$!" >"$PID_FILE"
	for _ in $(seq 100); do # 20 s
		if healthy "$port"; then
			started=1
			break 2
		fi
		kill -0 "$(cat "$PID_FILE")" 2>/dev/null || break # exited, e.g. the port was taken
		sleep 0.2
	done
	stop
done
if [ -z "$started" ]; then
	echo "s3-setup: versitygw did not answer on 127.0.0.1 within 20 s; its log:" >&2
	tail -n 40 "$LOG" >&2 || true
	stop
	exit 1
fi

(
	umask 077
	cat >"$ENV_FILE" <<EOF
export SBDEPLOY_S3_ENDPOINT=http://127.0.0.1:$port
export SBDEPLOY_S3_ACCESS_KEY=$access
export SBDEPLOY_S3_SECRET_KEY=$secret
EOF
)

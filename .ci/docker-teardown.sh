#!/usr/bin/env bash
# Stops the Docker engine that .ci/docker-setup.sh started, if it started one
# (an engine that was already running is left alone). Images stay, so the
# next setup is fast.
set -euo pipefail

STATE_DIR="${DOCKERD_STATE_DIR:-${TMPDIR:-/tmp}/sbdeploy-dockerd}"
PID_FILE="$STATE_DIR/dockerd.pid"

[ -f "$PID_FILE" ] || exit 0
pid="$(cat "$PID_FILE")"
# Only that process, and only if it is still a dockerd (PIDs get reused).
if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
	kill -TERM "$pid"
	for _ in $(seq 30); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "docker-teardown: dockerd ($pid) still running after 30 s; killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
fi
rm -f "$PID_FILE"

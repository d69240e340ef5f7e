#!/usr/bin/env bash
# Run a command (e.g. `make test`) with a Docker engine answering, for the docker-marked tests.
#
#   bash .ci/docker.sh make test
#
# Installs docker.io and debootstrap when missing, starts `dockerd --storage-driver=vfs
# --iptables=false` in the background when no engine answers, waits for `docker info`, runs the
# command, and stops the engine it started. It never fails CI by itself: when no engine can be
# had it says why and runs the command anyway (the docker tests then skip with that reason).
# The exit code is the command's.
set -uo pipefail

log() { echo "docker.sh: $*" >&2; }
started_pid=""

stop_engine() {
    [ -n "$started_pid" ] || return 0
    log "stopping the engine it started (pid $started_pid)"
    kill "$started_pid" 2>/dev/null
    for _ in $(seq 1 40); do kill -0 "$started_pid" 2>/dev/null || return 0; sleep 0.5; done
    kill -9 "$started_pid" 2>/dev/null
}
trap stop_engine EXIT

apt_install() {
    command -v apt-get >/dev/null 2>&1 || { log "no apt-get to install $*"; return 1; }
    log "installing $*"
    { timeout 300 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq "$@"; } \
        >>/tmp/nestlab-docker-install.log 2>&1 || { log "apt-get install $* failed (see /tmp/nestlab-docker-install.log)"; return 1; }
}

ensure_engine() {
    # debootstrap makes the base image (lab/image.py); without it only a cached base can be used
    command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap || true
    docker info >/dev/null 2>&1 && { log "an engine already answers"; return 0; }
    command -v dockerd >/dev/null 2>&1 || apt_install docker.io || return 1
    command -v dockerd >/dev/null 2>&1 || { log "no dockerd after install"; return 1; }
    log "starting dockerd --storage-driver=vfs --iptables=false"
    dockerd --storage-driver=vfs --iptables=false >/tmp/nestlab-dockerd.log 2>&1 &
    started_pid=$!
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && { log "engine answers"; return 0; }
        kill -0 "$started_pid" 2>/dev/null || { log "dockerd exited: $(tail -n 1 /tmp/nestlab-dockerd.log)"; started_pid=""; return 1; }
        sleep 1
    done
    log "dockerd did not answer within 60 s: $(tail -n 1 /tmp/nestlab-dockerd.log)"
    return 1
}

ensure_engine || log "no Docker engine: the docker tests will be skipped"
"$@"
exit $?

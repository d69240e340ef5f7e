#!/usr/bin/env bash
# Run a command (e.g. `make test`) with a Docker engine answering, for the docker-marked tests.
#
#   bash .ci/docker.sh make test
#
# Installs docker.io, debootstrap and iproute2 when missing, starts `dockerd --iptables=false` in
# the background when no engine answers (storage driver overlay2, or vfs where overlay2 does not
# start), waits for `docker info`, runs the command, and stops the engine it started. The swarm
# test (tests/test_swarm.py) starts a second dockerd of its own and never makes this one a swarm. It never fails CI by itself: when no engine can be
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
    # ip makes the bridge of the private dockerd the swarm test starts (tests/helpers_dockerd.py)
    command -v ip >/dev/null 2>&1 || apt_install iproute2 || true
    docker info >/dev/null 2>&1 && { log "an engine already answers"; return 0; }
    command -v dockerd >/dev/null 2>&1 || apt_install docker.io || return 1
    command -v dockerd >/dev/null 2>&1 || { log "no dockerd after install"; return 1; }
    # overlay2 first: on vfs every container create copies the whole image (docs/fleet.md)
    start_engine overlay2 || start_engine vfs
}

start_engine() {
    log "starting dockerd --storage-driver=$1 --iptables=false"
    dockerd --storage-driver="$1" --iptables=false >>/tmp/nestlab-dockerd.log 2>&1 &
    started_pid=$!
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && { log "engine answers ($1)"; return 0; }
        kill -0 "$started_pid" 2>/dev/null || { log "dockerd ($1) exited: $(tail -n 1 /tmp/nestlab-dockerd.log)"; started_pid=""; return 1; }
        sleep 1
    done
    log "dockerd ($1) did not answer within 60 s: $(tail -n 1 /tmp/nestlab-dockerd.log)"
    stop_engine
    started_pid=""
    return 1
}

ensure_engine || log "no Docker engine: the docker tests will be skipped"
"$@"
exit $?

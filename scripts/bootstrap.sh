#!/usr/bin/env bash
# Make a machine ready for pytest-lambda-container's end-to-end tests with no container registry
# at hand: everything comes from Debian's packages and the index pip is set up with.
# Usage: scripts/bootstrap.sh [all|engine|images|podman|ssh|stop-engine]
#   engine       make a Docker engine answer: the one reachable (DOCKER_HOST is honoured), else a
#                dockerd started here
#   images       stand-ins for python:3.11-slim and public.ecr.aws/lambda/python:3.11 unless those
#                tags hold real images: debootstrap makes the rootfs, scripts/standins.py the rest
#                (the project must be installed in $PYTHON)
#   podman       install podman (a second engine for the e2e tests) if missing
#   ssh          install sshd (openssh-server, not started: the e2e tests run one of their own on loopback, to
#                reach the engine over ssh://) if missing
#   stop-engine  stop dockerd, but only if `engine` started it
#   all          engine, then images (the default)
# Each step is idempotent. Environment: BOOTSTRAP_LOG_DIR, BOOTSTRAP_STATE_FILE (pid of the dockerd
# started here), BOOTSTRAP_ENGINE_WAIT (60 s), BOOTSTRAP_REBUILD=1 (rebuild up-to-date stand-ins),
# DEBIAN_MIRROR (default: apt's, if it names one), RIE_BINARY (the Lambda stand-in's emulator), PYTHON.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE_FILE=${BOOTSTRAP_STATE_FILE:-/tmp/pytest-lambda-container-dockerd.pid}
ENGINE_WAIT=${BOOTSTRAP_ENGINE_WAIT:-60}
DOCKERD_LOG=${BOOTSTRAP_LOG_DIR:-/var/log}/dockerd-bootstrap.log
PYTHON=${PYTHON:-$(command -v python || command -v python3 || echo python3)}
# The rootfs of the python:3.11-slim stand-in; standins.py counts them in its recipe.
DEBOOTSTRAP_ARGS=(--variant=minbase "--include=python3,python3-pip,python3-venv,ca-certificates" bookworm)

log() { printf 'bootstrap: %s\n' "$*"; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }
die_with_log() { printf -- '--- last lines of %s ---\n' "$1" >&2; tail -n 40 "$1" >&2 || true; die "$2"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
standins() { "$PYTHON" "$here/standins.py" "$@"; }
engine_answers() { timeout 20 docker info >/dev/null 2>&1; }
# True when PID runs (a killed dockerd its parent has not reaped yet is a zombie: not running).
running() { local stat; stat=$(cat "/proc/$1/stat" 2>/dev/null) && [[ ${stat##*) } != Z* ]]; }

# The pid in FILE when that process is running and is NAME, else nothing.
live_pid() {
    local pid
    pid=$(cat "$1" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] && running "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] && echo "$pid"
    return 0
}

# The rootfs' folder, removed on exit. A failed debootstrap can leave /proc or /sys mounted
# inside: unmount first, and never let rm cross into another filesystem.
WORK=""
cleanup() {
    [ -n "$WORK" ] || return 0
    awk -v d="$WORK/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r |
        while read -r mnt; do as_root umount -l "$mnt" || true; done
    as_root rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

# apt_install [--with-recommends] PACKAGE..., with no init script starting a dockerd we don't record.
apt_install() {
    local recommends=--no-install-recommends policy=/usr/sbin/policy-rc.d status=0
    if [ "$1" = --with-recommends ]; then recommends=--install-recommends && shift; fi
    log "installing $* with apt-get"
    as_root apt-get update -qq || die "apt-get update failed: is a Debian mirror reachable?"
    if [ -e "$policy" ]; then policy=""; else printf '#!/bin/sh\nexit 101\n' | as_root install /dev/stdin "$policy"; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$recommends" "$@" >/dev/null || status=$?
    if [ -n "$policy" ]; then as_root rm -f "$policy"; fi
    [ "$status" = 0 ] || die "apt-get install $* failed"
}

# A dockerd or containerd killed with an earlier session leaves its pid file; if the pid now
# names another process, dockerd refuses to start, or waits for a containerd that isn't there.
clean_stale_pid_files() {
    local entry
    for entry in /var/run/docker.pid:dockerd /var/run/docker/containerd/containerd.pid:containerd \
        "$STATE_FILE:dockerd"; do
        if [ -e "${entry%:*}" ] && [ -z "$(live_pid "${entry%:*}" "${entry##*:}")" ]; then
            log "removing stale ${entry%:*}"
            as_root rm -f "${entry%:*}"
        fi
    done
}

# In a session of its own, dockerd outlives this script and its CI step, until stop-engine.
start_dockerd() {
    as_root mkdir -p "${DOCKERD_LOG%/*}"
    log "starting dockerd (log: $DOCKERD_LOG)"
    # shellcheck disable=SC2016  # $1 is the inner sh's
    as_root sh -c 'exec setsid dockerd >>"$1" 2>&1 </dev/null' sh "$DOCKERD_LOG" &
}

cmd_engine() {
    local t0=$SECONDS pid started=0
    if engine_answers; then
        log "using the running engine (${DOCKER_HOST:-default socket}); engine ready in $((SECONDS - t0))s"
        return 0
    fi
    # A DOCKER_HOST elsewhere can't be helped by a local dockerd.
    [[ ${DOCKER_HOST:-unix:///run/docker.sock} =~ ^unix:///(var/)?run/docker.sock$ ]] ||
        die "DOCKER_HOST=$DOCKER_HOST is set, but no engine answers there"
    type dockerd docker >/dev/null 2>&1 || apt_install docker.io debootstrap debian-archive-keyring
    clean_stale_pid_files
    # One running but not answering may be starting: wait. It is ours to stop only if the state file says so.
    pid=$(live_pid /var/run/docker.pid dockerd)
    if [ -n "$pid" ]; then log "dockerd (pid $pid) is running but not answering yet; waiting for it"; fi
    until engine_answers; do
        if [ $((SECONDS - t0)) -ge "$ENGINE_WAIT" ]; then
            die_with_log "$DOCKERD_LOG" "no Docker engine answered within ${ENGINE_WAIT}s"
        elif [ -z "$pid" ] || ! running "$pid"; then # none yet, or the one we waited for is gone
            [ "$started" = 0 ] || die_with_log "$DOCKERD_LOG" "dockerd exited during start-up"
            clean_stale_pid_files
            start_dockerd
            pid=$! started=1
        fi
        sleep 1
    done
    if [ "$started" = 1 ]; then
        pid=$(live_pid /var/run/docker.pid dockerd)
        [ -n "$pid" ] || die "dockerd answers, but /var/run/docker.pid doesn't name it"
        echo "$pid" >"$STATE_FILE" # so stop-engine (and .ci/run's trap) stop only this one
        log "dockerd started (pid $pid, recorded in $STATE_FILE)"
    fi
    # Containers of sessions killed with an earlier engine: the plugin's own sweep (keep-aware) removes them.
    log "engine ready in $((SECONDS - t0))s"
}

cmd_stop_engine() {
    local pid cpid
    pid=$(live_pid "$STATE_FILE" dockerd)
    [ -n "$pid" ] || { log "no dockerd started by bootstrap runs: nothing to stop"; rm -f "$STATE_FILE"; return 0; }
    log "stopping dockerd (pid $pid)"
    as_root kill -TERM "$pid" || true
    # dockerd gives running containers 10s to stop, then shuts containerd down.
    for _ in {1..40}; do running "$pid" || break; sleep 1; done
    if running "$pid"; then # its containerd too, or it outlives dockerd
        log "dockerd did not stop in 40s; killing it"
        cpid=$(live_pid /var/run/docker/containerd/containerd.pid containerd)
        as_root kill -KILL "$pid" ${cpid:+"$cpid"} || true
        sleep 1
    fi
    rm -f "$STATE_FILE"
    clean_stale_pid_files
    log "dockerd stopped"
}

# python:3.11-slim: standins.py decides and imports, the rootfs is made here (as root).
build_base_image() {
    local t0=$SECONDS recipe=${DEBOOTSTRAP_ARGS[*]} status=0 mirror=${DEBIAN_MIRROR:-}
    standins plan-base --rootfs-recipe "$recipe" || status=$?
    case $status in 0) ;; 3) return 0 ;; *) die "scripts/standins.py plan-base failed" ;; esac
    command -v debootstrap >/dev/null || apt_install debootstrap debian-archive-keyring
    # shellcheck disable=SC2016  # apt's $(SITE): the Debian mirror apt uses, if any (else debootstrap's)
    [ -n "$mirror" ] || mirror=$(apt-get indextargets --format '$(SITE)' 'Created-By: Packages' \
        'Component: main' 'Origin: Debian' 2>/dev/null | grep -v -- -security || true)
    mirror=${mirror%%$'\n'*}
    WORK=$(mktemp -d /var/tmp/pytest-lambda-container-rootfs.XXXXXX)
    log "debootstrap $recipe, from ${mirror:-the default mirror of debootstrap}"
    as_root debootstrap "${DEBOOTSTRAP_ARGS[@]}" "$WORK/rootfs" ${mirror:+"$mirror"} >"$WORK/debootstrap.log" 2>&1 ||
        die_with_log "$WORK/debootstrap.log" "debootstrap failed"
    as_root tar --numeric-owner -C "$WORK/rootfs" -c . >"$WORK/rootfs.tar"
    log "debootstrap done in $((SECONDS - t0))s"
    standins import-base --rootfs-recipe "$recipe" "$WORK/rootfs.tar"
    log "python:3.11-slim stand-in built in $((SECONDS - t0))s"
}

cmd_images() {
    local t0=$SECONDS
    engine_answers || die "no Docker engine answers: run '$0 engine' first"
    build_base_image
    standins lambda
    log "images ready in $((SECONDS - t0))s"
}

# Podman serves the Docker API too; the e2e suite drives it as a second engine (and stops it mid-session).
cmd_podman() {
    local t0=$SECONDS
    command -v podman >/dev/null || apt_install --with-recommends podman
    log "podman $(podman --version | awk '{print $3}') ready in $((SECONDS - t0))s"
}

# sshd for the e2e test of an ssh:// engine, which starts its own on 127.0.0.1 (installed, never started here).
cmd_ssh() {
    local t0=$SECONDS
    [ -x /usr/sbin/sshd ] || command -v sshd >/dev/null || apt_install openssh-server
    log "sshd ready in $((SECONDS - t0))s"
}

case "${1:-all}" in
    engine) cmd_engine ;;
    images) cmd_images ;;
    stop-engine) cmd_stop_engine ;;
    podman) cmd_podman ;;
    ssh) cmd_ssh ;;
    all) cmd_engine; cmd_images; log "all done in ${SECONDS}s" ;;
    -h | --help | help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
    *) die "unknown step '$1' (expected all, engine, images, podman, ssh or stop-engine)" ;;
esac

#!/usr/bin/env bash
# Make a machine ready for pytest-lambda-container's end-to-end tests, with no
# container registry at hand: everything comes from Debian's packages and the
# package index pip is configured with.
#
# Usage: scripts/bootstrap.sh [all|engine|images|podman|stop-engine]
#   engine       make a Docker engine answer `docker info`: the one already
#                reachable (DOCKER_HOST is honoured), else a dockerd started here
#   images       stand-ins for python:3.11-slim (a debootstrap rootfs) and
#                public.ecr.aws/lambda/python:3.11, unless those tags hold real
#                images; scripts/standins.py makes them, with the docker SDK (the
#                project must be installed in $PYTHON: pip install -e .)
#   podman       install podman (a second engine for the e2e tests) if missing
#   stop-engine  stop dockerd, but only if `engine` started it
#   all          engine, then images (the default)
# Each step is idempotent: run it again and it only checks.
#
# Settings (environment): BOOTSTRAP_LOG_DIR (where dockerd's log goes: /var/log),
# BOOTSTRAP_STATE_FILE (pid of the dockerd started here), BOOTSTRAP_ENGINE_WAIT
# (seconds to wait for it: 60), BOOTSTRAP_REBUILD=1 (rebuild up-to-date
# stand-ins), DEBIAN_MIRROR (for debootstrap; default: the one apt uses, else
# debootstrap's own), RIE_BINARY (the aws-lambda-rie for the Lambda stand-in),
# PYTHON (the interpreter the project is installed in).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOG_DIR=${BOOTSTRAP_LOG_DIR:-/var/log}
STATE_FILE=${BOOTSTRAP_STATE_FILE:-/tmp/pytest-lambda-container-dockerd.pid}
ENGINE_WAIT=${BOOTSTRAP_ENGINE_WAIT:-60}
DOCKERD_LOG=$LOG_DIR/dockerd-bootstrap.log
PYTHON=${PYTHON:-$(command -v python || command -v python3 || echo python3)}
# The rootfs of the python:3.11-slim stand-in; standins.py counts these in its recipe.
DEBOOTSTRAP_ARGS=(--variant=minbase --include=python3,python3-pip,python3-venv,ca-certificates bookworm)
# dockerd's own pid files, and the process each must name to be still valid.
PID_FILES=(/var/run/docker.pid:dockerd /var/run/docker/containerd/containerd.pid:containerd)

log() { printf 'bootstrap: %s\n' "$*"; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }
now() { date +%s; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
standins() { "$PYTHON" "$here/standins.py" "$@"; }
engine_answers() { timeout 20 docker info >/dev/null 2>&1; }
show_log_tail() { printf -- '--- last lines of %s ---\n' "$1" >&2; tail -n 40 "$1" >&2 || true; }

# Temporary directories, removed on exit whatever happens. A failed debootstrap can
# leave /proc or /sys mounted inside: unmount first, and never let rm cross filesystems.
TEMP_DIRS=()
cleanup() {
    local dir
    for dir in "${TEMP_DIRS[@]}"; do
        [ -d "$dir" ] || continue
        awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r |
            while read -r mnt; do as_root umount -l "$mnt" || true; done
        as_root rm -rf --one-file-system "$dir"
    done
}
trap cleanup EXIT

# True when PID runs (a killed dockerd its parent has not reaped yet is a zombie: not running).
running() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    [[ ${stat##*) } != Z* ]]
}

# The pid in FILE when that process is running and is NAME, else nothing.
live_pid() {
    local pid
    pid=$(cat "$1" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    if running "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = "$2" ]; then echo "$pid"; fi
}

# A dockerd or containerd killed with an earlier session leaves its pid file; if the pid now
# names another process, dockerd refuses to start, or waits for a containerd that isn't there.
clean_stale_pid_files() {
    local entry
    for entry in "${PID_FILES[@]}" "$STATE_FILE:dockerd"; do
        if [ -e "${entry%%:*}" ] && [ -z "$(live_pid "${entry%%:*}" "${entry##*:}")" ]; then
            log "removing stale ${entry%%:*}"
            as_root rm -f "${entry%%:*}"
        fi
    done
}

# apt_install [--with-recommends] PACKAGE...: without letting a package's init script start
# a dockerd of its own (the one this script starts is recorded, to be stopped).
apt_install() {
    local recommends=--no-install-recommends policy=/usr/sbin/policy-rc.d added=0 status=0
    if [ "$1" = --with-recommends ]; then recommends=--install-recommends; shift; fi
    log "installing $* with apt-get"
    as_root apt-get update -qq || die "apt-get update failed: is a Debian mirror reachable?"
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null && as_root chmod 755 "$policy" && added=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$recommends" "$@" >/dev/null || status=$?
    if [ "$added" = 1 ]; then as_root rm -f "$policy"; fi
    [ "$status" = 0 ] || die "apt-get install $* failed"
}

start_dockerd() {
    as_root mkdir -p "$LOG_DIR"
    log "starting dockerd (log: $DOCKERD_LOG)"
    # setsid: dockerd outlives this script (and the CI step that ran it) until stop-engine.
    # shellcheck disable=SC2016  # $1 is expanded by the inner sh
    as_root sh -c 'exec setsid dockerd >>"$1" 2>&1 </dev/null' sh "$DOCKERD_LOG" &
}

cmd_engine() {
    local t0 pid started=0 deadline
    t0=$(now)
    if engine_answers; then
        log "using the running engine (${DOCKER_HOST:-default socket}); engine ready in $(($(now) - t0))s"
        return 0
    fi
    case "${DOCKER_HOST:-}" in # a DOCKER_HOST elsewhere can't be helped by a local dockerd
        "" | unix:///var/run/docker.sock | unix:///run/docker.sock) ;;
        *) die "DOCKER_HOST=$DOCKER_HOST is set, but no engine answers there" ;;
    esac
    if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
        apt_install docker.io debootstrap debian-archive-keyring
    fi
    clean_stale_pid_files
    pid=$(live_pid /var/run/docker.pid dockerd)
    if [ -n "$pid" ]; then
        # Starting, maybe: wait for it. It is ours to stop only if the state file already says so.
        log "dockerd (pid $pid) is running but not answering yet; waiting for it"
    else
        start_dockerd
        started=1
    fi
    deadline=$(($(now) + ENGINE_WAIT))
    until engine_answers; do
        if [ "$(now)" -ge "$deadline" ]; then
            show_log_tail "$DOCKERD_LOG"
            die "no Docker engine answered within ${ENGINE_WAIT}s"
        elif [ "$started" = 1 ] && ! jobs -r | grep -q .; then
            show_log_tail "$DOCKERD_LOG"
            die "dockerd exited during start-up"
        elif [ "$started" = 0 ] && ! running "$pid"; then
            clean_stale_pid_files # the dockerd we waited for is gone: start our own
            start_dockerd
            started=1
        fi
        sleep 1
    done
    if [ "$started" = 1 ]; then
        pid=$(live_pid /var/run/docker.pid dockerd)
        [ -n "$pid" ] || die "dockerd answers, but /var/run/docker.pid doesn't name it"
        echo "$pid" >"$STATE_FILE" # so stop-engine (and .ci/run's trap) stop only this one
        log "dockerd started (pid $pid, recorded in $STATE_FILE)"
    fi
    # Stopped containers of sessions killed with an earlier engine: the plugin's own sweep
    # removes them at the start of every session (and spares the ones kept on purpose).
    log "engine ready in $(($(now) - t0))s"
}

cmd_stop_engine() {
    local pid i
    pid=$(live_pid "$STATE_FILE" dockerd)
    if [ -z "$pid" ]; then
        log "no dockerd started by bootstrap is running; nothing to stop"
        rm -f "$STATE_FILE"
        return 0
    fi
    log "stopping dockerd (pid $pid)"
    as_root kill -TERM "$pid" || true
    # dockerd gives running containers 10s to stop, then shuts containerd down.
    for ((i = 0; i < 40; i++)); do
        running "$pid" || break
        sleep 1
    done
    if running "$pid"; then
        log "dockerd did not stop in 40s; killing it"
        as_root kill -KILL "$pid" || true
        pid=$(live_pid /var/run/docker/containerd/containerd.pid containerd)
        if [ -n "$pid" ]; then as_root kill -KILL "$pid" || true; fi
        sleep 1
    fi
    rm -f "$STATE_FILE"
    clean_stale_pid_files
    log "dockerd stopped"
}

# The Debian mirror apt uses here, if it knows one (else nothing: debootstrap's default).
debian_mirror() {
    local site=${DEBIAN_MIRROR:-}
    if [ -z "$site" ] && command -v apt-get >/dev/null; then
        # shellcheck disable=SC2016  # $(SITE) is apt's placeholder
        site=$(apt-get indextargets --format '$(SITE)' 'Created-By: Packages' 'Component: main' \
            'Codename: bookworm' 2>/dev/null || true)
        # shellcheck disable=SC2016
        [ -n "$site" ] || site=$(apt-get indextargets --format '$(SITE)' 'Created-By: Packages' \
            'Component: main' 'Origin: Debian' 2>/dev/null | grep -v -- -security || true)
    fi
    echo "${site%%$'\n'*}"
}

# The python:3.11-slim stand-in: debootstrap's rootfs here, as root; standins.py does the rest.
build_base_image() {
    local t0 recipe=${DEBOOTSTRAP_ARGS[*]} status=0 mirror work
    t0=$(now)
    standins plan-base --rootfs-recipe "$recipe" || status=$?
    case $status in 0) ;; 3) return 0 ;; *) die "scripts/standins.py plan-base failed" ;; esac
    command -v debootstrap >/dev/null || apt_install debootstrap debian-archive-keyring
    mirror=$(debian_mirror)
    work=$(mktemp -d /var/tmp/pytest-lambda-container-rootfs.XXXXXX)
    TEMP_DIRS+=("$work")
    log "debootstrap $recipe (from ${mirror:-debootstrap's default mirror})"
    as_root debootstrap "${DEBOOTSTRAP_ARGS[@]}" "$work/rootfs" ${mirror:+"$mirror"} >"$work/debootstrap.log" 2>&1 ||
        { show_log_tail "$work/debootstrap.log"; die "debootstrap failed"; }
    as_root tar --numeric-owner -C "$work/rootfs" -c . >"$work/rootfs.tar"
    log "debootstrap done in $(($(now) - t0))s"
    standins import-base --rootfs-recipe "$recipe" "$work/rootfs.tar"
    log "python:3.11-slim stand-in built in $(($(now) - t0))s"
}

cmd_images() {
    local t0
    t0=$(now)
    engine_answers || die "no Docker engine answers: run '$0 engine' first"
    build_base_image
    standins lambda
    log "images ready in $(($(now) - t0))s"
}

# Podman serves the Docker API too; the e2e suite drives it as a second engine (and stops it mid-session).
cmd_podman() {
    local t0
    t0=$(now)
    command -v podman >/dev/null || apt_install --with-recommends podman
    log "podman $(podman --version | awk '{print $3}') ready in $(($(now) - t0))s"
}

main() {
    local t0
    t0=$(now)
    case "${1:-all}" in
        engine) cmd_engine ;;
        images) cmd_images ;;
        stop-engine) cmd_stop_engine ;;
        podman) cmd_podman ;;
        all) cmd_engine; cmd_images; log "all done in $(($(now) - t0))s" ;;
        -h | --help | help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
        *) die "unknown step '$1' (expected all, engine, images, podman or stop-engine)" ;;
    esac
}

main "$@"

#!/usr/bin/env bash
# Make a machine ready for pytest-lambda-container's end-to-end tests, with no
# container registry at hand: everything comes from Debian's packages and PyPI.
#
# Usage: scripts/bootstrap.sh [all|engine|images|stop-engine]
#   engine       make a Docker engine answer `docker info`: the one already
#                reachable (DOCKER_HOST is honoured), else a dockerd started here
#   images       create stand-ins for python:3.11-slim and
#                public.ecr.aws/lambda/python:3.11 where those tags are missing
#                (needs the project installed, for `python -m pytest_lambda_container
#                rie`, or RIE_BINARY=/path/to/aws-lambda-rie)
#   podman       install podman (a second engine for the e2e tests) if missing
#   stop-engine  stop dockerd, but only if `engine` started it
#   all          engine, then images (the default)
# Each step is idempotent: run it again and it only checks.
#
# Settings (environment):
#   BOOTSTRAP_LOG_DIR      where dockerd's log goes (/var/log)
#   BOOTSTRAP_STATE_FILE   pid of the dockerd started here
#                          (/tmp/pytest-lambda-container-dockerd.pid)
#   BOOTSTRAP_ENGINE_WAIT  seconds to wait for a new dockerd (60)
#   BOOTSTRAP_REBUILD=1    rebuild the stand-ins even when up to date
#   DEBIAN_MIRROR          mirror for debootstrap (default: the one apt uses)
#   RIE_BINARY             aws-lambda-rie to put in the Lambda stand-in
#   PYTHON                 interpreter the project is installed in (python)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOG_DIR=${BOOTSTRAP_LOG_DIR:-/var/log}
STATE_FILE=${BOOTSTRAP_STATE_FILE:-/tmp/pytest-lambda-container-dockerd.pid}
ENGINE_WAIT=${BOOTSTRAP_ENGINE_WAIT:-60}
DOCKERD_LOG=$LOG_DIR/dockerd-bootstrap.log
REBUILD=${BOOTSTRAP_REBUILD:-0}
PYTHON=${PYTHON:-$(command -v python || command -v python3 || echo python3)}

BASE_REF=python:3.11-slim
LAMBDA_REF=public.ecr.aws/lambda/python:3.11
LAMBDA_CONTEXT=$here/stand-ins/lambda-python
# Our stand-ins carry this label (value: a hash of their recipe). An image with
# the tag but without the label is a real one, pulled or loaded: never replaced.
STANDIN_LABEL=org.pytest-lambda-container.stand-in
# The plugin labels its containers with this; leftovers of a killed session are ours to remove.
PLUGIN_LABEL=pytest-lambda-container
# dockerd's own pid files, and the process each must name to be still valid.
PID_FILES=(/var/run/docker.pid:dockerd /var/run/docker/containerd/containerd.pid:containerd)

log() { printf 'bootstrap: %s\n' "$*"; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }
now() { date +%s; }
# Run as root: directly when we are root, else through sudo.
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Temporary directories removed on exit, whatever happens.
TEMP_DIRS=()
cleanup() {
    local dir
    for dir in "${TEMP_DIRS[@]}"; do
        [ -d "$dir" ] || continue
        # A failed debootstrap can leave /proc or /sys mounted inside its root:
        # unmount first, and never let rm cross into another filesystem.
        awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r |
            while read -r mnt; do as_root umount -l "$mnt" || true; done
        as_root rm -rf --one-file-system "$dir"
    done
}
trap cleanup EXIT

engine_answers() { timeout 20 docker info >/dev/null 2>&1; }

# True when PID is a running process (a zombie is not: a killed dockerd whose
# parent has not reaped it yet still has its /proc entry).
running() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    [[ ${stat##*) } != Z* ]]
}

# The pid in FILE when that process is running and is NAME, else nothing.
live_pid() {
    local file=$1 name=$2 pid
    pid=$(cat "$file" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    if running "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = "$name" ]; then echo "$pid"; fi
}

# A dockerd or containerd killed with an earlier session leaves its pid file;
# if the pid now belongs to another process, dockerd refuses to start, or waits
# for a containerd that isn't there. Drop pid files whose process is gone.
clean_stale_pid_files() {
    local entry file name
    for entry in "${PID_FILES[@]}"; do
        file=${entry%%:*} name=${entry##*:}
        if [ -e "$file" ] && [ -z "$(live_pid "$file" "$name")" ]; then
            log "removing stale $file"
            as_root rm -f "$file"
        fi
    done
    if [ -e "$STATE_FILE" ] && [ -z "$(live_pid "$STATE_FILE" dockerd)" ]; then
        rm -f "$STATE_FILE"
    fi
}

apt_install() {
    log "installing $* with apt-get"
    as_root apt-get update -qq || die "apt-get update failed: is a Debian mirror reachable?"
    # Keep the package's init script from starting a dockerd of its own: this
    # script starts the one it uses, and records it so it can stop it.
    local policy=/usr/sbin/policy-rc.d added=0 status=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
        as_root chmod 755 "$policy"
        added=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" || status=$?
    if [ "$added" = 1 ]; then as_root rm -f "$policy"; fi
    [ "$status" = 0 ] || die "apt-get install $* failed"
}

show_log_tail() {
    printf -- '--- last lines of %s ---\n' "$1" >&2
    tail -n 40 "$1" >&2 || true
}

# Remove the plugin's stopped containers (left by sessions killed with an earlier
# engine); count the others.
tidy_containers() {
    local ids others
    ids=$(docker ps -aq --filter "label=$PLUGIN_LABEL" --filter status=exited --filter status=created --filter status=dead)
    if [ -n "$ids" ]; then
        log "removing $(wc -w <<<"$ids") stopped container(s) left by earlier test sessions"
        # shellcheck disable=SC2086  # one id per word
        docker rm -f $ids >/dev/null
    fi
    others=$(docker ps -aq | wc -l)
    if [ "$others" -gt 0 ]; then log "note: the engine holds $others other container(s)"; fi
}

# Start dockerd in the background, its output appended to $DOCKERD_LOG.
start_dockerd() {
    as_root mkdir -p "$LOG_DIR"
    log "starting dockerd (log: $DOCKERD_LOG)"
    # setsid: dockerd gets its own session, so it outlives this script (and
    # the CI step or terminal that ran it) until stop-engine stops it.
    if [ "$(id -u)" -eq 0 ]; then
        setsid dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
    else
        # shellcheck disable=SC2016  # $1 is expanded by that inner sh
        sudo sh -c 'exec setsid dockerd >>"$1" 2>&1 </dev/null' sh "$DOCKERD_LOG" &
    fi
}

cmd_engine() {
    local t0 pid started=0 deadline
    t0=$(now)
    if engine_answers; then
        # Not tidied: a test session may be using its stopped containers right now.
        log "using the running engine (${DOCKER_HOST:-default socket}); engine ready in $(($(now) - t0))s"
        return 0
    fi
    # A DOCKER_HOST elsewhere can't be helped by starting a local dockerd.
    case "${DOCKER_HOST:-}" in
        "" | unix:///var/run/docker.sock | unix:///run/docker.sock) ;;
        *) die "DOCKER_HOST=$DOCKER_HOST is set, but no engine answers there" ;;
    esac
    if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
        apt_install docker.io debootstrap debian-archive-keyring
    fi
    clean_stale_pid_files

    pid=$(live_pid /var/run/docker.pid dockerd)
    if [ -n "$pid" ]; then
        # A dockerd runs but doesn't answer yet: it may be starting. Wait for
        # it; it is ours to stop only if the state file already says so.
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
        fi
        if [ "$started" = 1 ] && ! jobs -r | grep -q .; then
            # Fail fast when the dockerd we started has died.
            show_log_tail "$DOCKERD_LOG"
            die "dockerd exited during start-up"
        elif [ "$started" = 0 ] && ! running "$pid"; then
            # The dockerd we were waiting for is gone: start our own.
            clean_stale_pid_files
            start_dockerd
            started=1
        fi
        sleep 1
    done
    if [ "$started" = 1 ]; then
        pid=$(live_pid /var/run/docker.pid dockerd)
        [ -n "$pid" ] || die "dockerd answers, but /var/run/docker.pid doesn't name it"
        # Record that we started it, so stop-engine (and .ci/run's trap) stop only this one.
        echo "$pid" >"$STATE_FILE"
        log "dockerd started (pid $pid, recorded in $STATE_FILE)"
    fi
    log "engine ready in $(($(now) - t0))s"
    # An engine that just came up serves no test session yet: what the plugin
    # left stopped belongs to sessions that died with the previous engine.
    if [ "$started" = 1 ]; then tidy_containers; fi
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

# ---------------------------------------------------------------- images

# The label of an image: "none" when the tag doesn't exist, "" when the image has no such label.
standin_label() {
    local value
    value=$(docker image inspect --format "{{ index .Config.Labels \"$STANDIN_LABEL\" }}" "$1" 2>/dev/null) ||
        { echo none; return 0; }
    [ "$value" = "<no value>" ] && value=""
    echo "$value"
}

# True when REF must be (re)built to match recipe hash WANT.
needs_build() {
    local ref=$1 want=$2 have
    have=$(standin_label "$ref")
    case "$have" in
        none) return 0 ;;
        "") log "$ref exists and is not a stand-in: using it as it is"; return 1 ;;
        "$want") if [ "$REBUILD" = 1 ]; then return 0; fi
                 log "$ref stand-in is up to date"; return 1 ;;
        *) log "$ref stand-in is out of date: rebuilding"; return 0 ;;
    esac
}

# The Debian mirror apt uses on this machine (debootstrap should fetch from the same place).
debian_mirror() {
    local site=${DEBIAN_MIRROR:-}
    if [ -z "$site" ] && command -v apt-get >/dev/null; then
        # shellcheck disable=SC2016  # $(SITE) is apt's placeholder, not ours
        site=$(apt-get indextargets --format '$(SITE)' 'Created-By: Packages' 'Codename: bookworm' \
                   'Component: main' 2>/dev/null | head -n 1)
        # shellcheck disable=SC2016
        [ -n "$site" ] || site=$(apt-get indextargets --format '$(SITE)' 'Created-By: Packages' \
                                     'Origin: Debian' 'Component: main' 2>/dev/null | grep -v -- -security | head -n 1)
    fi
    echo "${site:-http://deb.debian.org/debian}"
}

# pip settings for inside the images: the host's effective index settings (from
# its pip.conf files and PIP_* variables), minus what only exists on the host
# (file:// indexes, find-links, constraint files), with the CA bundle copied in.
# Builds run with --network host, so they reach the index the way the host does.
image_pip_conf() {
    "$PYTHON" - <<'EOF'
import os

def effective():
    try:  # pip's own view, with every config file and PIP_* variable applied
        from pip._internal.commands import create_command
        opts, _ = create_command("install").parse_args([])
        return (opts.index_url, list(opts.extra_index_urls or []), list(opts.trusted_hosts or []),
                opts.timeout, opts.proxy)
    except Exception:
        env = os.environ.get
        return (env("PIP_INDEX_URL"), (env("PIP_EXTRA_INDEX_URL") or "").split(),
                (env("PIP_TRUSTED_HOST") or "").split(), env("PIP_DEFAULT_TIMEOUT") or env("PIP_TIMEOUT"),
                env("PIP_PROXY"))

def remote(url):
    return bool(url) and url.split(":", 1)[0].lower() in ("http", "https")

index, extra, trusted, timeout, proxy = effective()
proxy = proxy or os.environ.get("https_proxy") or os.environ.get("HTTPS_PROXY")
print("# Written by pytest-lambda-container's scripts/bootstrap.sh from the host's pip settings.")
print("[global]")
print("cert = /etc/ssl/certs/ca-certificates.crt")
if remote(index) and index.rstrip("/") != "https://pypi.org/simple":
    print(f"index-url = {index}")
extra = [u for u in extra if remote(u)]
if extra:
    print("extra-index-url = " + " ".join(extra))
if trusted:
    print("trusted-host = " + " ".join(trusted))
if timeout and float(timeout) != 15:
    print(f"timeout = {int(float(timeout))}")
if proxy:
    print(f"proxy = {proxy}")
EOF
}

host_ca_bundle=/etc/ssl/certs/ca-certificates.crt

build_base_image() {
    local t0 pip_conf want mirror rootfs link
    t0=$(now)
    pip_conf=$(image_pip_conf) || die "could not read the host's pip settings with $PYTHON"
    # The recipe (this function), the pip settings and the CA bundle make the image.
    want=$( { declare -f build_base_image; echo "$pip_conf"; cat "$host_ca_bundle" 2>/dev/null; } |
            sha256sum | cut -c1-16)
    needs_build "$BASE_REF" "$want" || return 0

    command -v debootstrap >/dev/null || apt_install debootstrap debian-archive-keyring
    mirror=$(debian_mirror)
    rootfs=$(mktemp -d /var/tmp/pytest-lambda-container-rootfs.XXXXXX)
    TEMP_DIRS+=("$rootfs")
    log "building a $BASE_REF stand-in: debootstrap bookworm from $mirror"
    as_root debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,ca-certificates \
        bookworm "$rootfs" "$mirror" >"$rootfs.debootstrap.log" 2>&1 ||
        { show_log_tail "$rootfs.debootstrap.log"; rm -f "$rootfs.debootstrap.log"; die "debootstrap failed"; }
    rm -f "$rootfs.debootstrap.log"
    log "debootstrap done in $(($(now) - t0))s"

    # Where the official image has them: python and pip in /usr/local/bin.
    for link in python:python3 python3:python3 pip:pip3 pip3:pip3; do
        as_root ln -sf "/usr/bin/${link#*:}" "$rootfs/usr/local/bin/${link%%:*}"
    done
    # The official image's pip installs system-wide as root; Debian's refuses (PEP 668).
    as_root rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
    # The host's CA bundle, so TLS through the same (possibly intercepting) proxy
    # works; its extra CAs too, so update-ca-certificates inside keeps them.
    if [ -f "$host_ca_bundle" ]; then as_root cp "$host_ca_bundle" "$rootfs/etc/ssl/certs/ca-certificates.crt"; fi
    if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
        as_root cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
    fi
    echo "$pip_conf" | as_root tee "$rootfs/etc/pip.conf" >/dev/null
    # Like the slim image: no package lists or downloaded debs.
    as_root rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb

    as_root tar --numeric-owner -C "$rootfs" -c . |
        docker import \
            --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'ENV LANG=C.UTF-8' \
            --change "LABEL $STANDIN_LABEL=$want" \
            --change 'CMD ["python3"]' \
            - "$BASE_REF" >/dev/null
    log "$BASE_REF stand-in built in $(($(now) - t0))s"
}

# The architecture of the engine, in aws-lambda-rie's spelling.
rie_arch() {
    case "$(docker info --format '{{.Architecture}}')" in
        aarch64 | arm64) echo arm64 ;;
        *) echo x86_64 ;;
    esac
}

# The path of aws-lambda-rie for ARCH: $RIE_BINARY, else the plugin's cached,
# verified copy (provisioned from the aws-sam-cli wheel on PyPI if needed).
# Never run it here: it is a server that doesn't exit, even for --help.
rie_binary() {
    local arch=$1 path machine
    if [ -n "${RIE_BINARY:-}" ]; then
        path=$RIE_BINARY
    else
        path=$("$PYTHON" -m pytest_lambda_container rie --arch "$arch") ||
            die "could not get aws-lambda-rie: install the project first (pip install -e .) or set RIE_BINARY"
    fi
    [ -f "$path" ] || die "aws-lambda-rie: $path: no such file"
    # ELF e_machine: 62 is x86-64, 183 is aarch64.
    machine=$(od -An -tu2 -j18 -N2 "$path" | tr -d ' ')
    case "$arch:$machine" in
        x86_64:62 | arm64:183) echo "$path" ;;
        *) die "$path is not an aws-lambda-rie build for $arch" ;;
    esac
}

build_lambda_image() {
    local t0 arch rie ctx want base_id
    t0=$(now)
    arch=$(rie_arch)
    rie=$(rie_binary "$arch")
    ctx=$(mktemp -d /tmp/pytest-lambda-container-ctx.XXXXXX)
    TEMP_DIRS+=("$ctx")
    cp "$LAMBDA_CONTEXT/Dockerfile" "$LAMBDA_CONTEXT/lambda-entrypoint.sh" "$LAMBDA_CONTEXT/runtime-bootstrap" "$ctx/"
    cp "$rie" "$ctx/aws-lambda-rie"
    # The classic builder's COPY keeps modes from the context.
    chmod 755 "$ctx/aws-lambda-rie" "$ctx/lambda-entrypoint.sh" "$ctx/runtime-bootstrap"
    base_id=$(docker image inspect --format '{{.Id}}' "$BASE_REF" 2>/dev/null) || die "$BASE_REF is missing"
    want=$( { echo "$base_id"; cat "$ctx"/*; } | sha256sum | cut -c1-16)
    needs_build "$LAMBDA_REF" "$want" || return 0

    log "building a $LAMBDA_REF stand-in ($arch) from $LAMBDA_CONTEXT"
    # The classic builder, as the plugin (docker SDK) uses; host network so pip
    # reaches the index as the host does.
    DOCKER_BUILDKIT=0 docker build --network host --label "$STANDIN_LABEL=$want" \
        -t "$LAMBDA_REF" "$ctx" >"$ctx.build.log" 2>&1 ||
        { show_log_tail "$ctx.build.log"; rm -f "$ctx.build.log"; die "docker build of the Lambda stand-in failed"; }
    rm -f "$ctx.build.log"
    log "$LAMBDA_REF stand-in built in $(($(now) - t0))s"
}

cmd_images() {
    local t0
    t0=$(now)
    engine_answers || die "no Docker engine answers: run '$0 engine' first"
    build_base_image
    build_lambda_image
    log "images ready in $(($(now) - t0))s"
}

# Podman serves the Docker API too; the e2e suite drives it as a second engine (and stops it mid-session).
cmd_podman() {
    local t0
    t0=$(now)
    if ! command -v podman >/dev/null; then
        log "installing podman with apt-get"
        as_root apt-get update -qq || die "apt-get update failed: is a Debian mirror reachable?"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman >/dev/null || die "apt-get install podman failed"
    fi
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

"""The Docker engine: a client that fails in seconds when nothing answers, and what kind of engine it is."""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from typing import Any

import docker
import requests
from docker.errors import DockerException

from .errors import EngineUnavailable

#: How long to wait for the engine to answer a ping before saying it is not there.
CONNECT_TIMEOUT = 5.0
#: Builds and long invocations stream for minutes; reads then wait this long for the next chunk.
STREAM_TIMEOUT = 900.0

DEFAULT_SOCKET = "unix:///var/run/docker.sock"
#: What a docker SDK call raises when the engine fails or is gone: the SDK lets requests' errors through.
ENGINE_ERRORS = (DockerException, requests.exceptions.RequestException)


def engine_address() -> str:
    """Where the docker SDK will look for the engine: DOCKER_HOST, or the default socket."""
    return os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET


@dataclass
class Engine:
    """A connected Docker (or Podman) engine."""

    client: docker.DockerClient
    address: str
    is_podman: bool
    arch: str

    def run_options(self) -> dict[str, Any]:
        """Extra `containers.create` options this engine needs."""
        if not self.is_podman:
            return {}
        # Podman raises nofile/nproc above the host's hard limits unless told, and runc then refuses to start
        # the container ("error setting rlimit"): ask for limits the host can grant.
        nofile = min(16384, _hard_limit(resource.RLIMIT_NOFILE))
        nproc = min(4096, _hard_limit(resource.RLIMIT_NPROC))
        return {
            "ulimits": [
                docker.types.Ulimit(name="nofile", soft=nofile, hard=nofile),
                docker.types.Ulimit(name="nproc", soft=nproc, hard=nproc),
            ]
        }

    def close(self) -> None:
        self.client.close()


def _hard_limit(which: int) -> int:
    hard = resource.getrlimit(which)[1]
    return hard if hard != resource.RLIM_INFINITY else 1 << 20


def connect(timeout: float = CONNECT_TIMEOUT) -> Engine:
    """Connect to the engine at DOCKER_HOST (or the default socket), or raise `EngineUnavailable` within `timeout`."""
    address = engine_address()
    origin = "from DOCKER_HOST" if os.environ.get("DOCKER_HOST") else "the default socket; DOCKER_HOST is not set"
    client = None
    try:
        client = docker.from_env(timeout=int(max(1, timeout)))
        client.ping()
        version = client.version()
    except ENGINE_ERRORS as exc:
        if client is not None:
            client.close()
        raise EngineUnavailable(
            f"no Docker engine answers at {address} "
            f"({origin}): "
            f"{short_error(exc)}. Start the engine (e.g. `sudo systemctl start docker`, or `dockerd &`), or point "
            "DOCKER_HOST at a running one (Podman: `podman system service --time=0 unix:///PATH` and "
            "DOCKER_HOST=unix:///PATH)."
        ) from None
    client.api.timeout = int(STREAM_TIMEOUT)
    components = " ".join(c.get("Name", "") for c in version.get("Components") or [])
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(version.get("Arch", ""), version.get("Arch", "amd64"))
    return Engine(client=client, address=address, is_podman="podman" in components.lower(), arch=arch)


def short_error(exc: BaseException) -> str:
    """The first line of an error's message (its type's name if it has none), at most 300 characters."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]

"""The Docker engine: a client that fails in seconds when nothing answers, and what kind of engine it is."""

from __future__ import annotations

import contextlib
import resource
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import docker
import requests
from docker.errors import APIError, DockerException

from ..build import platforms
from ..errors import EngineRefused, EngineUnavailable
from . import endpoint, reach
from .endpoint import DEFAULT_SOCKET
from .reach import LOCAL, Reach

#: How long to wait for the engine to answer a ping before saying it is not there.
CONNECT_TIMEOUT = 5.0
#: Builds and long invocations stream for minutes; reads then wait this long for the next chunk.
STREAM_TIMEOUT = 900.0

#: What a docker SDK call raises when the engine fails or is gone: the SDK lets requests' errors through.
ENGINE_ERRORS = (DockerException, requests.exceptions.RequestException)


@contextlib.contextmanager
def engine_errors(address: str, doing: str) -> Iterator[None]:
    """The one mapping of the docker SDK's failures to ours; every engine call runs inside it.

    ========================================================  =====================
    raised by the docker SDK                                   becomes
    ========================================================  =====================
    `APIError` (the engine answered with an error status)      `EngineRefused`
    any other `DockerException`, or a `requests` error         `EngineUnavailable`
    (no socket, connection dropped, timed out)
    ========================================================  =====================

    `doing` names what was asked of the engine ("the start of container X"), for "refused ..." and
    "stopped answering during ...". Where an engine's answer is an outcome rather
    than a failure (`NotFound` when asking whether an image exists), the caller catches it inside the block.
    """
    try:
        yield
    except APIError as exc:
        reason = short_error(exc.explanation or exc)
        raise EngineRefused(
            f"the Docker engine at {address} refused {doing}: {reason}", status_code=exc.status_code, reason=reason
        ) from None
    except ENGINE_ERRORS as exc:
        reason = short_error(exc)
        raise EngineUnavailable(
            f"the Docker engine at {address} stopped answering during {doing}: {reason}", reason=reason
        ) from None


def engine_address() -> str:
    """Where the engine is, as the docker CLI finds it (engine/endpoint.py); the default socket if that fails."""
    try:
        return endpoint.resolve().address
    except EngineUnavailable:
        return DEFAULT_SOCKET


@dataclass
class Engine:
    """A connected Docker (or Podman) engine."""

    client: docker.DockerClient
    address: str
    is_podman: bool
    arch: str
    #: How the tests reach the engine's containers (engine/reach.py).
    reach: Reach = LOCAL
    #: Where the address came from, and what the docker CLI needs to use the same engine.
    endpoint: endpoint.Endpoint | None = None

    def errors(self, doing: str) -> contextlib.AbstractContextManager[None]:
        """`engine_errors` for this engine."""
        return engine_errors(self.address, doing)

    def run_options(self) -> dict[str, Any]:
        """Extra `containers.create` options this engine needs."""
        if not self.is_podman:
            return {}
        # Podman raises nofile/nproc above the host's hard limits unless told, and runc then refuses to start
        # the container ("error setting rlimit"): ask for limits the host can grant. Under the sandbox, Lambda's
        # own limits go over these (container/sandbox.py: nofile 1,024, and a pids limit rather than nproc).
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
    """Connect to the engine the docker CLI would use (DOCKER_HOST, DOCKER_CONTEXT, the CLI's current context, the
    default socket: engine/endpoint.py), or raise `EngineUnavailable` within `timeout` (`ConfigError` when its
    endpoint cannot be used as set: a malformed address, TLS material missing or refused)."""
    found = endpoint.resolve()
    address, origin = found.address, found.origin
    # An address that cannot even be used (a malformed DOCKER_HOST, TLS files missing) raises here: nothing was asked
    # of an engine.
    probe = endpoint.client(found, timeout=int(max(1, timeout)))
    try:
        # The version's answer is the ping, and the only request of the connection: the clients are made at a given
        # API version, so they ask nothing themselves (issue 17: round trips on every run's critical path).
        with engine_errors(address, "a ping"):
            version = probe.version()
    except (EngineUnavailable, EngineRefused) as exc:
        trouble = endpoint.tls_trouble(found, probe)
        if trouble is not None:
            raise trouble from None
        over_ssh = endpoint.ssh_trouble(found)
        if over_ssh is not None:
            raise EngineUnavailable(f"no Docker engine answers at {address} ({origin}): {over_ssh}") from None
        raise EngineUnavailable(
            f"no Docker engine answers at {address} ({origin}): {exc.reason}. "
            "Start the engine (e.g. `sudo systemctl start docker`, or `dockerd &`), or point DOCKER_HOST (or "
            "DOCKER_CONTEXT) at a running one (Podman: `podman system service --time=0 unix:///PATH` and "
            "DOCKER_HOST=unix:///PATH)."
        ) from None
    finally:
        probe.close()
    # At the engine's own API version, as the SDK's "auto" would pick it.
    client = endpoint.client(found, timeout=int(max(1, timeout)), version=str(version.get("ApiVersion") or ""))
    client.api.timeout = int(STREAM_TIMEOUT)
    components = " ".join(c.get("Name", "") for c in version.get("Components") or [])
    arch = platforms.docker_arch(version.get("Arch") or "amd64")
    how = reach.decide(
        endpoint.reach_address(found), override=reach.override(), tests_container=reach.tests_container(client)
    )
    podman = "podman" in components.lower()
    return Engine(client=client, address=address, is_podman=podman, arch=arch, reach=how, endpoint=found)


def short_error(exc: object) -> str:
    """The first line of an error's message (its type's name if it has none), at most 300 characters."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]

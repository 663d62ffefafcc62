"""Where the tests reach the function's container: one decision, pure, from where the engine is and where the tests
run; and the one look at this process's surroundings it needs (`tests_container`).

The emulator listens on port 8080 in its container. How the tests get there depends on where they run:

=================================================  ============================================================
the tests run                                      they reach the function at
=================================================  ============================================================
on the engine's host (a local socket)              127.0.0.1 and the published port, published on loopback only
in a container of the same engine (the host's      the function's address on the tests container's network:
socket mounted: devcontainers, Jenkins, `act`)     the function joins that network, nothing is published
elsewhere (`tcp://`, `ssh://`, a Docker context:   the engine host's name from the endpoint and the published port,
`docker:dind`, a remote engine)                    published on all the engine host's interfaces (loopback only
                                                   when the endpoint is a loopback address); an ssh://
                                                   host as ssh resolves it (endpoint.reach_address)
anywhere, with PYTEST_LAMBDA_CONTAINER_HOST=H      H and the published port
=================================================  ============================================================

testcontainers-python takes the same turns (TESTCONTAINERS_HOST_OVERRIDE, its in-container detection through
/.dockerenv and the gateway, DOCKER_HOST's host); joining the tests' network spares the publish altogether.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

#: Overrides the address the tests reach the function at (the port is still the published one).
HOST_VARIABLE = "PYTEST_LAMBDA_CONTAINER_HOST"
LOOPBACK = "127.0.0.1"
#: Where the emulator listens in its container.
EMULATOR_PORT = 8080
_LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1", "0:0:0:0:0:0:0:1"}
#: A container id in /proc/self/mountinfo (Docker: /var/lib/docker/containers/ID/hostname; Podman:
#: .../overlay-containers/ID/userdata/hostname) or /proc/self/cgroup (v1: /docker/ID; v2 systemd: docker-ID.scope).
_CONTAINER_ID = re.compile(r"(?:containers/|docker[/-]|libpod[/-])([0-9a-f]{64})")
#: The files an engine mounts into each of its containers: a mountinfo line mounting one of them names this
#: process's own container. (Only these: an engine's host lists every container's shm mount, under
#: /var/lib/docker/containers/ID/mounts/shm, in its own mountinfo.)
_OWN_MOUNTS = ("/etc/hostname", "/etc/hosts", "/etc/resolv.conf")


@dataclass(frozen=True)
class TestsContainer:
    """The container the tests run in, as the engine knows it."""

    __test__ = False  # not a pytest test class, whatever its name

    id: str
    name: str
    #: Its networks (the engine's names), and its network mode ("host", "default", a network's name, ...).
    networks: tuple[str, ...]
    network_mode: str = "default"


@dataclass(frozen=True)
class Reach:
    """How the tests reach the function's container."""

    #: The address to connect to; None: the container's own address on `network` (its port 8080).
    host: str | None
    #: The engine host's address the emulator's port is published on; None: not published.
    publish_on: str | None
    #: The network the container joins (the tests container's); None: the engine's default.
    network: str | None
    #: Why, in words, for the report.
    why: str
    #: Whether the tests run on the engine's host itself, seeing its files and processes (the cgroup reads).
    same_host: bool = False
    #: The id of the container the tests run in, when the engine runs it (the orphan sweep asks about it).
    parent: str = ""

    def describe(self) -> str:
        """Where, then why: for the log line and the header."""
        if self.host is None:
            where = f"its address on network {self.network}, port {EMULATOR_PORT} (nothing published)"
        else:
            where = f"{self.host} (published on {self.publish_on})"
        return f"function reached at {where}: {self.why}"


#: Before anything is known: the engine on this machine.
LOCAL = Reach(LOOPBACK, LOOPBACK, None, "the engine runs on this machine: loopback only", same_host=True)


def decide(engine_address: str, *, override: str | None, tests_container: TestsContainer | None) -> Reach:
    """How the tests reach the function, given the engine's endpoint (DOCKER_HOST's form), the override (the
    PYTEST_LAMBDA_CONTAINER_HOST value) and the container the tests run in, if the engine knows it."""
    if override:
        return Reach(override, _publish_for(override), None, f"{HOST_VARIABLE}={override}")
    if tests_container is not None:
        if tests_container.network_mode == "host":
            why = f"the tests run in container {tests_container.name} on the engine host's network"
            return Reach(LOOPBACK, LOOPBACK, None, why, parent=tests_container.id)
        # Its network mode first: the network it was started on (docker run --network NAME).
        mode = tests_container.network_mode
        ordered = sorted(tests_container.networks, key=lambda n: (n != mode, n != "bridge", n))
        joinable = [n for n in ordered if n not in ("host", "none")]
        if joinable:
            network = joinable[0]
            why = f"the tests run in container {tests_container.name} of the same engine, on network {network}"
            return Reach(None, None, network, why, parent=tests_container.id)
    scheme, host = _endpoint(engine_address)
    if scheme in ("tcp", "ssh", "http", "https") and host:
        publish = _publish_for(host)
        wide = (
            "loopback only" if publish == LOOPBACK else "all the engine host's interfaces, as the tests are elsewhere"
        )
        why = f"the engine is at {engine_address}: its host's address, the port published on {wide}"
        return Reach(host, publish, None, why)
    return Reach(
        LOOPBACK, LOOPBACK, None, f"the engine ({engine_address}) runs on this machine: loopback only", same_host=True
    )


def _publish_for(host: str) -> str:
    return LOOPBACK if host.strip("[]").lower() in _LOOPBACK_NAMES else "0.0.0.0"


def _endpoint(address: str) -> tuple[str, str]:
    """(scheme, host name) of an engine endpoint: tcp://docker:2376 → (tcp, docker)."""
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    return parts.scheme, parts.hostname or ""


def url(reach: Reach, *, published_port: int, container_address: str) -> str:
    """The emulator's base URL: the reach's host and the published port, or the container's own address."""
    if reach.host is None:
        return f"http://{_bracket(container_address)}:{EMULATOR_PORT}"
    return f"http://{_bracket(reach.host)}:{published_port}"


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def container_ids(mountinfo: str, cgroup: str, hostname: str) -> list[str]:
    """Ids this process's container may have: from /proc/self/mountinfo (the source of its /etc/hostname, hosts,
    resolv.conf), /proc/self/cgroup, then the host name (Docker's default host name is the id's first 12 digits)."""
    own = [
        line.split()[3] for line in mountinfo.splitlines() if len(line.split()) > 4 and line.split()[4] in _OWN_MOUNTS
    ]
    found: list[str] = []
    for text in ("\n".join(own), cgroup):
        for match in _CONTAINER_ID.finditer(text):
            if match.group(1) not in found:
                found.append(match.group(1))
    if re.fullmatch(r"[0-9a-f]{12,64}", hostname) and not any(f.startswith(hostname) for f in found):
        found.append(hostname)
    return found


def tests_container(client: Any) -> TestsContainer | None:
    """The container this process runs in, if the engine `client` (a docker SDK client) runs it; else None.

    Files alone do not tell (this process may run in a container of another engine, or in a VM with /.dockerenv):
    a candidate id counts only when the engine runs a container of that id whose host name is this process's.
    """
    from .client import ENGINE_ERRORS  # the docker SDK, only where an engine is asked

    mountinfo, cgroup = (_read(name) for name in ("/proc/self/mountinfo", "/proc/self/cgroup"))
    hostname = socket.gethostname()
    for candidate in container_ids(mountinfo, cgroup, hostname):
        try:
            found = client.containers.get(candidate)
        except ENGINE_ERRORS:  # not found, or not ours to read: not this process's container
            continue
        attrs = found.attrs or {}
        if not str(attrs.get("Id", "")).startswith(candidate) or not (attrs.get("State") or {}).get("Running"):
            continue
        if (attrs.get("Config") or {}).get("Hostname") not in (None, hostname):
            continue  # another container: this one's host name would be its
        networks = tuple(((attrs.get("NetworkSettings") or {}).get("Networks") or {}).keys())
        mode = str((attrs.get("HostConfig") or {}).get("NetworkMode") or "default")
        return TestsContainer(str(attrs["Id"]), str(attrs.get("Name", "")).lstrip("/"), networks, mode)
    return None


def _read(name: str) -> str:
    try:
        return Path(name).read_text(errors="replace")
    except OSError:
        return ""


def override() -> str | None:
    """PYTEST_LAMBDA_CONTAINER_HOST, if set."""
    return os.environ.get(HOST_VARIABLE) or None


def header() -> str:
    """The report header's line: the engine, where it came from, and where the function will be reached. Read
    before the engine is asked anything (the header is written first): a container the tests may run in is
    confirmed, or not, by the engine at its first use, when the exact address is said."""
    from ..errors import EngineUnavailable
    from .endpoint import reach_address, resolve

    try:
        found = resolve()
    except EngineUnavailable as exc:
        return f"lambda-container: engine: {exc}"
    engine = f"lambda-container: engine {found.address} ({found.origin})"
    first = decide(reach_address(found), override=override(), tests_container=None)
    maybe_in_container = container_ids(_read("/proc/self/mountinfo"), _read("/proc/self/cgroup"), socket.gethostname())
    if first.same_host and maybe_in_container:
        return f"{engine}; function reached on this container's network if the engine runs it, else at 127.0.0.1"
    return f"{engine}; {first.describe()}"
